#!/usr/bin/env bash
# Team benchmark: `updatekeys` and `rotate` over many encrypted files (default 200, each
# with 12 values) wrapped for 5 recipients, with the release binary. Not a test: prints a
# markdown table (median of RUNS runs, each on a fresh copy of the same repository).
#
#   benches/team/run.sh                 # N=200 files, RUNS=5
#   N=1000 RUNS=3 benches/team/run.sh
#   BEFORE=/path/to/older/secrets benches/team/run.sh   # adds its times, runs interleaved
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
# time_once EXE: a fresh copy, the prepare step ("$@" of median_of), then TIMED run with EXE
# in place of the binary; prints the wall time (s).
time_once() {
  local exe=$1; shift
  rm -rf "$work/repo"
  cp -a "$work/pristine" "$work/repo"
  cd "$work/repo"
  "$@" >/dev/null 2>&1 || true   # prepare steps below run before timing
  local t0 t1
  t0=$(now)
  "$exe" "${TIMED[@]:1}" >/dev/null
  t1=$(now)
  cd "$work"
  echo "$t1 - $t0" | bc -l
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'; }
# median_of PREPARE…: the median wall time of TIMED over RUNS fresh copies; with BEFORE, the
# older binary's median too, its runs interleaved with ours (same load), after a space.
median_of() {
  local times=() before=()
  for _ in $(seq 1 "$RUNS"); do
    times+=("$(time_once "$BIN" "$@")")
    if [ -n "$BEFORE" ]; then before+=("$(time_once "$BEFORE" "$@")"); fi
  done
  median "${times[@]}"
  if [ -n "$BEFORE" ]; then printf ' '; median "${before[@]}"; fi
}
BEFORE=${BEFORE:-}
# col "NEW OLD": the cell(s) of one row.
col() { set -- $1; if [ -n "$BEFORE" ]; then echo "$1 s | $2 s"; else echo "$1 s"; fi; }

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
if [ -n "$BEFORE" ]; then
  echo "| operation | files | wall time | BEFORE ($BEFORE) | target |"
  echo "|---|---|---|---|---|"
else
  echo "| operation | files | wall time | target |"
  echo "|---|---|---|---|"
fi
echo "| \`updatekeys\` (each file +1 recipient, 4 → 5) | $N | $(col "$t_update") | < 1 s |"
echo "| \`updatekeys --dry-run\` (same, nothing written) | $N | $(col "$t_dry") | |"
echo "| \`updatekeys\` (nothing to change) | $N | $(col "$t_noop") | |"
echo "| \`rotate\` (new data key, all values re-encrypted, 5 recipients) | $N | $(col "$t_rotate") | < 2 s |"
echo "| \`member remove\` (rotate every file, 5 → 4 recipients) | $N | $(col "$t_remove") | |"
echo "| \`status\` | $N | $(col "$t_status") | |"
