#!/usr/bin/env bash
# `secrets check --all` over 200 encrypted files × 20 keys with a 30-rule schema (every
# value-rule, plus max_age read from git history for 4,000 values), against what the peer
# takes to do no more than decrypt the same files: the real `sops decrypt`, one process per
# file as a CI script would run it. Issue 12's target: check < 200 ms.
#
# Usage: benches/check/run.sh            (from anywhere)
# Env:   SECRETS_BIN  use this binary instead of building target/release/secrets
#        SOPS         the sops binary (default: `sops` on PATH; skipped when absent)
#        RUNS         timed runs of each command (default 10; the median is shown)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
runs=${RUNS:-10}
if [[ -z "${SECRETS_BIN:-}" ]]; then
  (cd "$root" && cargo build --release --quiet)
  SECRETS_BIN="${CARGO_TARGET_DIR:-$root/target}/release/secrets"
fi
SOPS=${SOPS:-$(command -v sops || true)}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" GIT_CONFIG_NOSYSTEM=1
mkdir -p "$XDG_CONFIG_HOME"
unset SOPS_AGE_KEY SECRETS_AGE_KEY_FILE
"$SECRETS_BIN" keygen -o "$HOME/key.txt" 2>/dev/null
export SOPS_AGE_KEY_FILE="$HOME/key.txt"
public=$(sed -n 's/^# public key: //p' "$HOME/key.txt")

git init -q -b main .
git config user.name bench
git config user.email bench@example.com
{
  echo "members:"
  echo "  bench: $public"
  echo "environments:"
  echo "  prod:"
  echo "    production: true"
  echo "    files: [config/prod/**]"
  echo "    members: [bench]"
  echo "schema:"
  for i in $(seq 1 20); do
    echo "  KEY_$i: {required: true, min_length: 16, pattern: '^v', forbid: [changeme, 'django-insecure-*'], max_age: 90d}"
  done
  for i in $(seq 1 10); do
    echo "  ABSENT_$i: {min_length: 32, max_age: 30d}"
  done
} > .secrets.yaml
mkdir -p config/prod
for f in $(seq 1 200); do
  for k in $(seq 1 20); do
    echo "key_$k: v$f-$k-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  done > "config/prod/f$f.yaml"
  "$SECRETS_BIN" encrypt -i "config/prod/f$f.yaml"
done
# History: ten commits, each changing one value in 20 files.
git add -A && GIT_AUTHOR_DATE="@$(( $(date +%s) - 200 * 86400 )) +0000" git commit -qm init
for c in $(seq 1 10); do
  for f in $(seq "$c" 10 200); do
    "$SECRETS_BIN" set "config/prod/f$f.yaml" "key_$c" "v-new-$c-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')" 2>/dev/null
  done
  git add -A && GIT_AUTHOR_DATE="@$(( $(date +%s) - (100 - c * 9) * 86400 )) +0000" git commit -qm "change $c"
done
git gc -q

"$SECRETS_BIN" check --all -q >/dev/null && status=0 || status=$?
[[ $status == 1 ]] || { echo "expected violations (max_age) from check, got exit $status" >&2; exit 1; }

median() {
  python3 - "$runs" "$@" <<'PY'
import subprocess, sys, time, statistics
runs, cmd = int(sys.argv[1]), sys.argv[2:]
ts = []
for _ in range(runs):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ts.append(time.perf_counter() - t)
print(f"{statistics.median(ts) * 1000:.0f}")
PY
}

echo "| command (200 files × 20 keys, 30-rule schema, 11 commits) | median of $runs |"
echo "|---|---:|"
echo "| \`secrets check --all\` (every rule, max_age from git) | $(median "$SECRETS_BIN" check --all) ms |"
echo "| \`secrets check --all\` without max_age rules | $(sed -i 's/, max_age: [0-9]*d//' .secrets.yaml; median "$SECRETS_BIN" check --all) ms |"
if [[ -n "$SOPS" ]]; then
  printf '%s\n' config/prod/*.yaml > files.txt
  echo "| \`sops decrypt\` of each file, no checks (peer) | $(median sh -c "while read -r f; do '$SOPS' decrypt \"\$f\"; done < files.txt") ms |"
else
  echo "note: sops not found; the peer row is missing" >&2
fi
