#!/usr/bin/env bash
# `secrets import` (issue 13): a 200-variable `.env` into a new encrypted file (classified,
# sealed, decrypted again and compared, backed up, .gitignore'd), against peers doing less
# on the same file in the same run: `sops encrypt` (encrypts, no classification or check)
# and `dotenvx encrypt` (npm @dotenvx/dotenvx). Then 500 secrets under one path of a real
# OpenBao dev server: `import --from-vault` against the `bao kv get` loop a migration
# script would run (one process per secret) and `sops encrypt` of the exported JSON.
# Issue 13's targets: < 100 ms and < 3 s.
#
# Usage: benches/import/run.sh            (from anywhere)
# Env:   SECRETS_BIN  use this binary instead of building target/release/secrets
#        SOPS, BAO    the sops and bao binaries (default: on PATH, then .tools/bin)
#        DOTENVX      use this dotenvx instead of installing it under /tmp/dotenvx
#        RUNS         timed runs of each command (default 10; the median is shown)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
runs=${RUNS:-10}
if [[ -z "${SECRETS_BIN:-}" ]]; then
  (cd "$root" && cargo build --release --quiet)
  SECRETS_BIN="${CARGO_TARGET_DIR:-$root/target}/release/secrets"
fi
SOPS=${SOPS:-$(command -v sops || echo "$root/.tools/bin/sops")}
BAO=${BAO:-$(command -v bao || echo "$root/.tools/bin/bao")}
if [[ -z "${DOTENVX:-}" ]] && command -v npm >/dev/null; then
  if [[ ! -x /tmp/dotenvx/node_modules/.bin/dotenvx ]]; then
    mkdir -p /tmp/dotenvx
    (cd /tmp/dotenvx && npm install --silent --no-audit --no-fund @dotenvx/dotenvx >/dev/null)
  fi
  DOTENVX=/tmp/dotenvx/node_modules/.bin/dotenvx
fi

work=$(mktemp -d)
bao_pid=
trap '[[ -n "$bao_pid" ]] && kill "$bao_pid" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" GIT_CONFIG_NOSYSTEM=1
mkdir -p "$XDG_CONFIG_HOME"
unset SOPS_AGE_KEY SECRETS_AGE_KEY_FILE VAULT_ADDR VAULT_TOKEN
"$SECRETS_BIN" keygen -o "$HOME/key.txt" 2>/dev/null
export SOPS_AGE_KEY_FILE="$HOME/key.txt"
public=$(sed -n 's/^# public key: //p' "$HOME/key.txt")

git init -q -b main repo && cd repo
printf 'members:\n  bench: %s\nenvironments:\n  prod:\n    files: [config/prod/**, .env.prod]\n    members: [bench]\n' "$public" > .secrets.yaml
# 200 variables: half secrets (tokens, passwords, URLs with passwords), half plain config.
for i in $(seq 1 50); do
  echo "SERVICE_${i}_TOKEN=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
  echo "DB_${i}_URL=postgres://app:$(head -c 12 /dev/urandom | base64 | tr -d '/+=')@db$i.internal:5432/app"
  echo "FEATURE_${i}_ENABLED=true"
  echo "WORKER_${i}_CONCURRENCY=$i"
done > ../source.env
[[ $(wc -l < ../source.env) == 200 ]]

median() {
  python3 - "$runs" "$@" <<'PY'
import subprocess, sys, time, statistics
runs, cmd = int(sys.argv[1]), sys.argv[2:]
ts = []
for _ in range(runs):
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ts.append(time.perf_counter() - t)
    if r.returncode != 0:
        sys.exit(f"failed: {cmd}")
print(f"{statistics.median(ts) * 1000:.0f}")
PY
}

# Each run imports a fresh copy into a fresh destination.
cat > ../import-once.sh <<EOF
#!/usr/bin/env bash
set -e
cp ../source.env .env.production; rm -f .env.prod
"$SECRETS_BIN" import -q .env.production --env prod > /dev/null
EOF
chmod +x ../import-once.sh
secrets_ms=$(median ../import-once.sh)
copy_ms=$(median sh -c 'cp ../source.env .env.production; rm -f .env.prod')
"$SECRETS_BIN" import -q .env.production --env prod --no-backup >/dev/null
secret_n=$(grep -v '^sops_' .env.prod | grep -c '=ENC\[')

echo "| task (200-variable .env) | median of $runs |"
echo "|---|---:|"
echo "| \`secrets import .env.production --env prod\` (classify, encrypt, verify, backup, .gitignore; $secret_n secrets, $((200 - secret_n)) plain) | $((secrets_ms - copy_ms)) ms |"
if [[ -x "$SOPS" ]]; then
  echo "| \`sops encrypt\` of the same file (everything encrypted, nothing checked) | $(median "$SOPS" encrypt --age "$public" ../source.env) ms |"
fi
if [[ -n "${DOTENVX:-}" && -x "$DOTENVX" ]]; then
  echo "| \`dotenvx encrypt\` of the same file (npm @dotenvx/dotenvx $("$DOTENVX" --version)) | $(median sh -c "cp ../source.env dx.env && '$DOTENVX' encrypt -f dx.env") ms |"
fi

if [[ ! -x "$BAO" ]]; then
  echo "note: bao not found (bash .ci/run installs it); the OpenBao rows are missing" >&2
  exit 0
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export VAULT_ADDR="http://127.0.0.1:$port" VAULT_TOKEN="bench-root-$RANDOM$RANDOM"
"$BAO" server -dev -dev-no-store-token -dev-listen-address="127.0.0.1:$port" -dev-root-token-id="$VAULT_TOKEN" >/dev/null 2>&1 &
bao_pid=$!
for _ in $(seq 1 300); do "$BAO" status >/dev/null 2>&1 && break; sleep 0.1; done
# 500 secrets under one path: 100 services × 5 keys, 20 services in each of 5 folders.
for s in $(seq 1 100); do
  "$BAO" kv put -mount=secret "app/prod/team$((s % 5))/svc$s" \
    token="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')" password="p$(head -c 12 /dev/urandom | base64 | tr -d '/+=')" \
    url="https://svc$s.internal" port="$((8000 + s))" log_level=info >/dev/null
done
runs_v=$(( runs < 5 ? runs : 5 ))
vault_ms=$(RUNS=$runs_v median sh -c "rm -f config/prod/app.yaml; '$SECRETS_BIN' import -q --from-vault secret/app/prod --to config/prod/app.yaml > /dev/null")
"$BAO" kv list -format=json secret/app/prod >/dev/null
cat > ../bao-loop.sh <<EOF
#!/usr/bin/env bash
set -e
for t in \$("$BAO" kv list -format=json secret/app/prod | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)))'); do
  for s in \$("$BAO" kv list -format=json "secret/app/prod/\$t" | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)))'); do
    "$BAO" kv get -format=json "secret/app/prod/\$t\$s" > /dev/null
  done
done
EOF
chmod +x ../bao-loop.sh
loop_ms=$(RUNS=$runs_v median ../bao-loop.sh)
echo
echo "| task (500 secrets: 100 paths × 5 keys under one path, OpenBao $("$BAO" version | cut -d' ' -f2) dev server) | median of $runs_v |"
echo "|---|---:|"
echo "| \`secrets import --from-vault secret/app/prod\` (read recursively, classify, encrypt, verify) | $vault_ms ms |"
echo "| \`bao kv list\` + \`bao kv get\` loop over the same paths (read only, one process per path) | $loop_ms ms |"
if [[ -x "$SOPS" ]]; then
  ../bao-loop.sh >/dev/null
  "$SECRETS_BIN" decrypt --output-type json config/prod/app.yaml > ../export.json
  echo "| \`sops encrypt\` of the exported JSON (encrypt only) | $(median "$SOPS" encrypt --age "$public" ../export.json) ms |"
fi
