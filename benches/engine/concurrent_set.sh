#!/usr/bin/env bash
# Lost updates (issue 10, case 1): N `secrets set` processes started at once on one
# encrypted file, each setting its own key. Prints, per round, how many updates the file
# kept, how many processes failed, and the wall time from the first start to the last exit;
# then the median wall time. With the lock every update is kept and every process exits 0.
#
#   benches/engine/concurrent_set.sh                 # N=100 ROUNDS=5, release build
#   SECRETS_BIN=/path/to/secrets N=100 ROUNDS=5 benches/engine/concurrent_set.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
N=${N:-100}
ROUNDS=${ROUNDS:-5}
if [[ -z "${SECRETS_BIN:-}" ]]; then
  (cd "$root" && cargo build --release --quiet)
  SECRETS_BIN="${CARGO_TARGET_DIR:-$root/target}/release/secrets"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/secrets-set-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config"
unset SOPS_AGE_KEY SOPS_AGE_KEY_CMD SECRETS_AGE_KEY_FILE SOPS_AGE_RECIPIENTS \
  SOPS_AGE_SSH_PRIVATE_KEY_FILE SECRETS_LOCK_TIMEOUT || true
mkdir -p "$HOME"
"$SECRETS_BIN" keygen -q -o key.txt
R=$("$SECRETS_BIN" keygen -y key.txt)
export SOPS_AGE_KEY_FILE="$work/key.txt"

echo "| round | updates kept | failed processes | wall s |"
echo "|---:|---:|---:|---:|"
walls=()
for round in $(seq 1 "$ROUNDS"); do
  printf 'first: value\n' > s.yaml
  "$SECRETS_BIN" -q encrypt -i --age "$R" s.yaml
  rm -f rc.*
  start=$(date +%s.%N)
  for i in $(seq 1 "$N"); do
    ( "$SECRETS_BIN" -q set s.yaml "k$i" "v$i" 2>"err.$i"; echo $? > "rc.$i" ) &
  done
  wait
  end=$(date +%s.%N)
  failed=$(cat rc.* | grep -vc '^0$' || true)
  kept=$("$SECRETS_BIN" decrypt s.yaml | grep -c '^k[0-9]*: v[0-9]*$' || true)
  wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
  walls+=("$wall")
  echo "| $round | $kept / $N | $failed | $wall |"
  if [[ "$failed" != 0 ]]; then sort -u err.* | head -3 >&2; fi
done
printf '%s\n' "${walls[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "median wall time: %s s\n", a[int((NR + 1) / 2)] }'
