#!/usr/bin/env bash
# Decrypting a 1,000-value YAML file through a key service, process start included (issue
# 15): through OpenBao transit (`hc_vault` stanza) and through AWS KMS (moto's server,
# `kms` stanza), `secrets decrypt` beside `sops decrypt` of the same files in the same run.
# The files are written by sops, so both tools unwrap the same stanza over the same
# loopback connection; each run pays one key-service request. A third file has sops key
# groups (an age group AND a transit group, both needed: one age unwrap, one transit
# request and a Shamir combination per run), read with the same age key by both tools.
#
# The script starts its own `bao server -dev` and `moto_server` on free loopback ports and
# stops them on exit (also on failure or ^C).
#
# Usage: benches/keyservice/run.sh            (from anywhere)
# Env:   SECRETS_BIN  use this binary instead of building target/release/secrets
#        SOPS         sops to compare with (default: sops on PATH, else .tools/bin/sops)
#        BAO, MOTO_SERVER  the servers (default: on PATH, else under .tools/bin)
#        RUNS         runs of each command (default 50)
#        VALUES       values in the file (default 1000)
# Needs: hyperfine (apt-get install -y hyperfine) or falls back to a timing loop with the
#        median; curl; python3 for free ports and the summary.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
runs=${RUNS:-50}
values=${VALUES:-1000}
export PATH="$PATH:$root/.tools/bin"

if [[ -z "${SECRETS_BIN:-}" ]]; then
  (cd "$root" && cargo build --release --quiet --bin secrets)
  SECRETS_BIN="${CARGO_TARGET_DIR:-$root/target}/release/secrets"
fi
SECRETS_BIN=$(realpath "$SECRETS_BIN")
SOPS=$(command -v "${SOPS:-sops}")
BAO=$(command -v "${BAO:-bao}")
MOTO_SERVER=$(command -v "${MOTO_SERVER:-moto_server}")

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() { # URL: until it answers (30 s)
  for _ in $(seq 300); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "no answer from $1" >&2
  return 1
}

# No identity, config or credentials of the caller's: only what is set below.
unset SOPS_AGE_KEY_FILE SOPS_AGE_KEY SOPS_AGE_RECIPIENTS VAULT_TOKEN VAULT_ADDR \
  AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_KMS AWS_ENDPOINT_URL_STS
export HOME="$work/home" SOPS_DISABLE_VERSION_CHECK=1
mkdir -p "$HOME"

# OpenBao, transit enabled, key `bench`.
bao_port=$(free_port)
export VAULT_ADDR="http://127.0.0.1:$bao_port" VAULT_TOKEN=bench-root-token
"$BAO" server -dev -dev-root-token-id="$VAULT_TOKEN" -dev-listen-address="127.0.0.1:$bao_port" \
  >"$work/bao.log" 2>&1 &
pids+=($!)
wait_for "$VAULT_ADDR/v1/sys/health"
"$BAO" secrets enable transit >/dev/null
"$BAO" write -f transit/keys/bench >/dev/null

# moto (accepts any credentials), one symmetric key.
moto_port=$(free_port)
export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port" AWS_ACCESS_KEY_ID=AKIABENCH0000000000 \
  AWS_SECRET_ACCESS_KEY=bench-secret-not-checked AWS_REGION=eu-west-1
"$MOTO_SERVER" -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
pids+=($!)
wait_for "$AWS_ENDPOINT_URL/moto-api/data.json"
arn=$(curl -fsS "$AWS_ENDPOINT_URL/" -H 'Content-Type: application/x-amz-json-1.1' \
  -H 'X-Amz-Target: TrentService.CreateKey' \
  -H "Authorization: AWS4-HMAC-SHA256 Credential=$AWS_ACCESS_KEY_ID/20260101/eu-west-1/kms/aws4_request, SignedHeaders=host, Signature=0" \
  -d '{}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["KeyMetadata"]["Arn"])')

cd "$work"
python3 -c "
for i in range($values):
    print(f'key_{i:04d}: value-{i:04d}-' + 'x' * 24)
" >plain.yaml
cp plain.yaml transit.yaml
cp plain.yaml kms.yaml
"$SOPS" encrypt -i --hc-vault-transit "$VAULT_ADDR/v1/transit/keys/bench" transit.yaml
"$SOPS" encrypt -i --kms "$arn" kms.yaml
# Key groups: the rule lives in groups/ so it does not touch the files above.
mkdir groups
"$SECRETS_BIN" keygen -o groups/age.key 2>/dev/null
age_public=$(sed -n 's/^# public key: //p' groups/age.key)
printf 'creation_rules:\n  - key_groups:\n      - age: [%s]\n      - hc_vault: [%s]\n' \
  "$age_public" "$VAULT_ADDR/v1/transit/keys/bench" >groups/.sops.yaml
cp plain.yaml groups/groups.yaml
(cd groups && "$SOPS" encrypt -i groups.yaml)
grep -q '^    key_groups:' groups/groups.yaml || { echo "sops wrote no key_groups" >&2; exit 1; }
with_age="env SOPS_AGE_KEY_FILE=$work/groups/age.key"
cmp -s <($with_age "$SECRETS_BIN" decrypt groups/groups.yaml) <($with_age "$SOPS" decrypt groups/groups.yaml) || {
  echo "secrets and sops disagree on groups/groups.yaml" >&2
  exit 1
}
for f in transit.yaml kms.yaml; do
  cmp -s <("$SECRETS_BIN" decrypt "$f") <("$SOPS" decrypt "$f") || {
    echo "secrets and sops disagree on $f" >&2
    exit 1
  }
done

names=("secrets decrypt transit.yaml" "sops decrypt transit.yaml" "secrets decrypt kms.yaml" "sops decrypt kms.yaml"
  "secrets decrypt groups.yaml" "sops decrypt groups.yaml")
cmds=("$SECRETS_BIN decrypt transit.yaml" "$SOPS decrypt transit.yaml" "$SECRETS_BIN decrypt kms.yaml" "$SOPS decrypt kms.yaml"
  "$with_age $SECRETS_BIN decrypt groups/groups.yaml" "$with_age $SOPS decrypt groups/groups.yaml")

echo "# $values values; $runs runs each; $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# secrets: $SECRETS_BIN"
echo "# sops:    $("$SOPS" --version --disable-version-check 2>/dev/null | head -1)"
if command -v hyperfine >/dev/null; then
  args=()
  for i in "${!cmds[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
  hyperfine -N --warmup 3 --runs "$runs" --export-json times.json --style basic "${args[@]}" >/dev/null
  python3 - times.json <<'PY'
import json, sys
rs = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
print("| key service | secrets decrypt (median) | sops decrypt (median) | sops / secrets |")
print("|---|---|---|---|")
for svc, f in (("OpenBao transit", "transit.yaml"), ("AWS KMS (moto)", "kms.yaml"),
               ("key groups: age AND transit (2 of 2)", "groups.yaml")):
    a, b = rs[f"secrets decrypt {f}"]["median"], rs[f"sops decrypt {f}"]["median"]
    print(f"| {svc} | {a*1000:.1f} ms | {b*1000:.1f} ms | {b/a:.1f}x |")
PY
else
  median() { # COMMAND…: the median wall time of $runs runs, in ms
    local t=()
    for _ in $(seq "$runs"); do
      local s e
      s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N)
      t+=($(((e - s) / 1000)))
    done
    printf '%s\n' "${t[@]}" | sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1000}'
  }
  echo "| key service | secrets decrypt (median) | sops decrypt (median) |"
  echo "|---|---|---|"
  for f in transit kms; do
    a=$(median "$SECRETS_BIN" decrypt "$f.yaml")
    b=$(median "$SOPS" decrypt "$f.yaml")
    echo "| $f | $a ms | $b ms |"
  done
  a=$(median $with_age "$SECRETS_BIN" decrypt groups/groups.yaml)
  b=$(median $with_age "$SOPS" decrypt groups/groups.yaml)
  echo "| key groups | $a ms | $b ms |"
fi
