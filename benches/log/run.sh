#!/usr/bin/env bash
# `secrets log FILE KEY` over COMMITS commits (issue 13's target: < 1 s on 5,000), against
# its peers in the same run: `git log -L` on the key's line and `git log -p | grep`, which
# find the same commits; and `--rev` against `git show REV:FILE | sops decrypt`.
#
# The history is made fast and real: VERSIONS versions of a 20-key file are written by
# real `secrets set` runs (real encryption, stable IVs for the values not set), then
# `git fast-import` commits them cycled, one per commit, back-dated an hour apart. Every
# commit changes the file; key0 changes in one commit of 20.
#
#   benches/log/run.sh                          # COMMITS=5000 VERSIONS=100 RUNS=5
#   COMMITS=500 benches/log/run.sh
# Env: SECRETS_BIN (else target/release/secrets is built), SOPS (default: on PATH).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
COMMITS=${COMMITS:-5000}
VERSIONS=${VERSIONS:-100}
RUNS=${RUNS:-5}
if [[ -z "${SECRETS_BIN:-}" ]]; then
  (cd "$root" && cargo build --release --quiet)
  SECRETS_BIN="$(cd "${CARGO_TARGET_DIR:-$root/target}" && pwd)/release/secrets"
fi
SOPS=${SOPS:-$(command -v sops || true)}

work=$(mktemp -d "${TMPDIR:-/tmp}/secrets-log-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" GIT_CONFIG_NOSYSTEM=1
unset SOPS_AGE_KEY SECRETS_AGE_KEY_FILE SOPS_AGE_RECIPIENTS GIT_DIR || true
mkdir -p "$HOME" "$work/repo" "$work/versions"
cd "$work/repo"
git init -q -b main .
git config user.name bench
git config user.email bench@example.com
git config gc.auto 0
"$SECRETS_BIN" keygen -q -o "$work/key.txt"
export SOPS_AGE_KEY_FILE="$work/key.txt"
"$SECRETS_BIN" -q init --name bench
"$SECRETS_BIN" -q env add prod --files 'config/**' -m bench

mkdir -p config
for k in $(seq 0 19); do echo "key$k: v-$k-$RANDOM$RANDOM"; done > config/app.yaml
"$SECRETS_BIN" -q encrypt -i config/app.yaml
echo "writing $VERSIONS versions with secrets set…" >&2
for j in $(seq 0 $(( VERSIONS - 1 ))); do
  "$SECRETS_BIN" -q set config/app.yaml "key$(( j % 20 ))" "v-$j-$RANDOM$RANDOM"
  cp config/app.yaml "$work/versions/$j.yaml"
done

echo "committing $COMMITS commits with git fast-import…" >&2
start=$(( $(date +%s) - COMMITS * 3600 - 86400 ))
python3 - "$work/versions" "$VERSIONS" "$COMMITS" "$start" <<'PY' | git fast-import --quiet
import sys, os
vdir, versions, commits, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
out = sys.stdout.buffer
def data(b):
    out.write(b"data %d\n" % len(b)); out.write(b); out.write(b"\n")
cfg = open(".secrets.yaml", "rb").read()
out.write(b"blob\nmark :1\n"); data(cfg)
for j in range(versions):
    out.write(b"blob\nmark :%d\n" % (j + 2)); data(open(os.path.join(vdir, f"{j}.yaml"), "rb").read())
for i in range(commits):
    t = start + i * 3600
    out.write(b"commit refs/heads/main\nmark :%d\n" % (versions + 2 + i))
    out.write(b"author bench <bench@example.com> %d +0000\n" % t)
    out.write(b"committer bench <bench@example.com> %d +0000\n" % t)
    data(b"change %d: key%d" % (i, i % versions % 20))
    if i:
        out.write(b"from :%d\n" % (versions + 1 + i))
    else:
        out.write(b"M 100644 :1 .secrets.yaml\n")
    out.write(b"M 100644 :%d config/app.yaml\n" % (i % versions + 2))
    out.write(b"\n")
PY
git reset -q --hard main
[ "$(git rev-list --count HEAD)" = "$COMMITS" ]

# The same commits, three ways.
ours=$("$SECRETS_BIN" log config/app.yaml key0 --format json | grep -c '"change"')
peer=$(git log -p --format='@%H' -- config/app.yaml | grep -c '^+key0:')
[ "$ours" = "$peer" ] || { echo "secrets log found $ours changes, git log -p $peer" >&2; exit 1; }

now() { date +%s%N; }
median_ms() {
  local t=() a b
  for _ in $(seq 1 "$RUNS"); do
    a=$(now); "$@" >/dev/null 2>&1; b=$(now)
    t+=($(( (b - a) / 1000 )))
  done
  printf '%s\n' "${t[@]}" | sort -n | awk '{v[NR]=$1} END {printf "%.0f", v[int((NR+1)/2)]/1000}'
}
git_log_p() { git log -p --format='%H %an %at %s' -- config/app.yaml | grep -E '^[0-9a-f]{40} |^\+key0:'; }
git_log_l() { git log --format='%H %an %at %s' -s -L '/^key0:/,+1:config/app.yaml'; }
mid=$(( COMMITS / 2 ))
sops_rev() { git show "HEAD~$mid:config/app.yaml" | "$SOPS" decrypt --input-type yaml --output-type yaml --extract '["key0"]' /dev/stdin; }

echo
echo "| command ($COMMITS commits, every one changing the file; key0 changed in $ours) | median of $RUNS |"
echo "|---|---:|"
echo "| \`secrets log FILE key0\` | $(median_ms "$SECRETS_BIN" log config/app.yaml key0) ms |"
echo "| \`secrets log FILE key0 --show\` (decrypts $ours versions) | $(median_ms "$SECRETS_BIN" log config/app.yaml key0 --show) ms |"
echo "| \`secrets log FILE\` (each of 20 keys' last change) | $(median_ms "$SECRETS_BIN" log config/app.yaml) ms |"
echo "| \`git log -p -- FILE \| grep '^+key0:'\` (peer) | $(median_ms git_log_p) ms |"
echo "| \`git log -L '/^key0:/,+1:FILE'\` (peer) | $(median_ms git_log_l) ms |"
echo "| \`secrets get FILE key0 --rev HEAD~$mid\` | $(median_ms "$SECRETS_BIN" get config/app.yaml key0 --rev "HEAD~$mid") ms |"
if [[ -n "$SOPS" ]]; then
  echo "| \`git show HEAD~$mid:FILE \| sops decrypt --extract\` (peer) | $(median_ms sops_rev) ms |"
else
  echo "note: sops not found; the --rev peer row is missing" >&2
fi
