#!/usr/bin/env bash
# Team benchmark: `updatekeys` and `rotate` over many encrypted files (default 200, each
# with 12 values) wrapped for 5 recipients, with the release binary. Not a test: prints a
# markdown table (median of RUNS runs, each on a fresh copy of the same repository).
#
#   benches/team/run.sh                 # N=200 files, RUNS=5
#   N=1000 RUNS=3 benches/team/run.sh
#
# Targets (issue 3): updatekeys over 200 files with 5 recipients < 1 s; rotation < 2 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-200}
RUNS=${RUNS:-5}
cargo build --release --quiet
BIN="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release/secrets"

work=$(mktemp -d "${TMPDIR:-/tmp}/secrets-team-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config"
unset SOPS_AGE_KEY SECRETS_AGE_KEY_FILE SOPS_AGE_RECIPIENTS SOPS_AGE_SSH_PRIVATE_KEY_FILE || true
mkdir -p "$HOME" "$work/keys" "$work/pristine"
cd "$work/pristine"
git init -q .

for m in m1 m2 m3 m4 m5; do
  "$BIN" keygen -q -o "$work/keys/$m.key"
done
pub() { "$BIN" keygen -y "$work/keys/$1.key"; }
export SOPS_AGE_KEY_FILE="$work/keys/m1.key"
"$BIN" -q init --name m1
for m in m2 m3 m4 m5; do "$BIN" -q member add "$m" "$(pub $m)"; done
"$BIN" -q env add prod --files 'config/**' -m m1 -m m2 -m m3 -m m4

mkdir -p config
for i in $(seq 1 "$N"); do
  {
    echo "# service $i"
    echo "db:"
    echo "    host: db$i.internal"
    echo "    user: svc$i"
    echo "    password: pw-$i-$RANDOM$RANDOM"
    echo "    port: 5432"
    echo "api:"
    echo "    token: tok-$i-$RANDOM$RANDOM$RANDOM"
    echo "    endpoints:"
    echo "        - https://a$i.example"
    echo "        - https://b$i.example"
    echo "smtp_password: mail-$i-$RANDOM"
    echo "feature_flag: true"
    echo "timeout: 30"
  } > "config/svc$i.yaml"
done
"$BIN" -q encrypt -i config/*.yaml
# Onboarding: m5 joins prod; every file needs one more recipient.
"$BIN" -q env grant prod m5

now() { date +%s.%N; }
# median_of CMD…: runs CMD on a fresh copy RUNS times, prints the median wall time (s).
median_of() {
  local times=()
  for _ in $(seq 1 "$RUNS"); do
    rm -rf "$work/repo"
    cp -a "$work/pristine" "$work/repo"
    cd "$work/repo"
    "$@" >/dev/null 2>&1 || true   # prepare steps below run before timing
    local t0 t1
    t0=$(now)
    "${TIMED[@]}" >/dev/null
    t1=$(now)
    times+=("$(echo "$t1 - $t0" | bc -l)")
    cd "$work"
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'
}

TIMED=("$BIN" -q updatekeys); t_update=$(median_of true)
TIMED=("$BIN" -q updatekeys); t_noop=$(median_of "$BIN" -q updatekeys)
TIMED=("$BIN" -q updatekeys --dry-run); t_dry=$(median_of true)
TIMED=("$BIN" -q rotate); t_rotate=$(median_of "$BIN" -q updatekeys)
TIMED=("$BIN" -q member remove m4); t_remove=$(median_of "$BIN" -q updatekeys)
TIMED=("$BIN" -q status); t_status=$(median_of "$BIN" -q updatekeys)

fs=$(df -T "$work" | awk 'NR==2 {print $2}')
cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
echo
echo "$N files × 12 values, 5 recipients (age X25519), median of $RUNS runs, $cpus CPUs, $fs:"
echo
echo "| operation | files | wall time | target |"
echo "|---|---|---|---|"
echo "| \`updatekeys\` (each file +1 recipient, 4 → 5) | $N | ${t_update} s | < 1 s |"
echo "| \`updatekeys --dry-run\` (same, nothing written) | $N | ${t_dry} s | |"
echo "| \`updatekeys\` (nothing to change) | $N | ${t_noop} s | |"
echo "| \`rotate\` (new data key, all values re-encrypted, 5 recipients) | $N | ${t_rotate} s | < 2 s |"
echo "| \`member remove\` (rotate every file, 5 → 4 recipients) | $N | ${t_remove} s | |"
echo "| \`status\` | $N | ${t_status} s | |"
