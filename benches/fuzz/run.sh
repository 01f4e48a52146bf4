#!/usr/bin/env bash
# Fuzzes every target of fuzz/ for RUNS executions each (10 million by default), from the
# committed corpus and regression inputs, JOBS targets side by side, and prints the table of
# docs/fuzzing.md: executions, wall time, executions per second, corpus entries grown, result.
# Needs a nightly toolchain and cargo-fuzz (cargo +nightly install cargo-fuzz --locked).
#
#   benches/fuzz/run.sh                      # all targets, 10 M runs each
#   RUNS=100000 JOBS=1 benches/fuzz/run.sh parse_ini
#
# A failing input is left in fuzz/artifacts/<target>/ (see docs/fuzzing.md, triage).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
runs=${RUNS:-10000000}
jobs=${JOBS:-2}

cargo +nightly fuzz build --sanitizer none >&2
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin="$root/fuzz/target/$triple/release"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

one() {
  local target=$1 work start end status=ok
  work="$out/$target.corpus"
  mkdir -p "$work" "$root/fuzz/artifacts/$target"
  local seeds=("$root/fuzz/corpus/$target")
  [ -d "$root/fuzz/regressions/$target" ] && seeds+=("$root/fuzz/regressions/$target")
  start=$(date +%s.%N)
  "$bin/$target" -runs="$runs" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$root/fuzz/artifacts/$target/" "$work" "${seeds[@]}" \
    >"$out/$target.log" 2>&1 || status="FAILED (fuzz/artifacts/$target/)"
  end=$(date +%s.%N)
  local done_runs grown
  done_runs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$out/$target.log" | grep -o '[0-9]*$' || echo 0)
  grown=$(find "$work" -type f | wc -l)
  awk -v t="$target" -v r="$done_runs" -v s="$start" -v e="$end" -v g="$grown" -v st="$status" \
    'BEGIN { d = e - s; printf "| `%s` | %\047d | %.0f s | %\047d/s | %d | %s |\n", t, r, d, r / d, g, st }' \
    >"$out/$target.row"
  [ "$status" = ok ] || tail -n 30 "$out/$target.log" >&2
}
export -f one
export root bin runs out

printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'one "$@"' _ {}

echo "| target | executions | wall time | per second | new corpus entries | result |"
echo "|---|---:|---:|---:|---:|---|"
failed=0
for t in "${targets[@]}"; do
  cat "$out/$t.row"
  grep -q '| ok |$' "$out/$t.row" || failed=1
done
exit $failed
