#!/usr/bin/env bash
# Throughput on a large text tree: MB/s, peak memory (/usr/bin/time -v) and finding counts,
# for secrets, gitleaks and ripsecrets in the same run, on the same tree, page cache warm.
#
#   benches/scan/setup.sh                # once: the other tools, under /tmp/scanbench
#   benches/scan/throughput.sh [TREE]
#
# Without TREE it builds $BENCH_DIR/tree (default /tmp/scanbench/tree, reused by later runs,
# never committed): `cargo vendor` of benches/scan/tree/vend.toml pinned by vend.lock (about
# 760 crates: windows, web-sys, aws-sdk-*, bevy, tokio, sqlx, image…) plus a copy of
# /usr/include. Ignore files are removed from the tree so every tool reads the same files.
# detect-secrets is left out here: at its speed the tree would take well over half an hour.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bench=${BENCH_DIR:-/tmp/scanbench}
secrets=${SECRETS_BIN:-$root/target/release/secrets}
tree=${1:-$bench/tree}
runs=${RUNS:-3}

if [ ! -d "$tree" ]; then
    rm -rf "$bench/vend" "$tree.tmp"
    mkdir -p "$bench/vend/src" "$tree.tmp"
    cp "$here/tree/vend.toml" "$bench/vend/Cargo.toml"
    cp "$here/tree/vend.lock" "$bench/vend/Cargo.lock"
    touch "$bench/vend/src/lib.rs"
    (cd "$bench/vend" && cargo vendor -q --locked "$tree.tmp/vendor" >/dev/null)
    cp -r /usr/include "$tree.tmp/include"
    # No .gitignore, .ignore or .git inside the tree may hide files from one tool only.
    find "$tree.tmp" \( -name .gitignore -o -name .ignore -o -name .git \) -prune -exec rm -rf {} +
    mv "$tree.tmp" "$tree"
fi
bytes=$(du -sb --apparent-size "$tree" | cut -f1)
files=$(find "$tree" -type f | wc -l)
echo "tree: $tree, $files files, $(python3 -c "print(round($bytes/1e6))") MB;" \
    "$(nproc) cores; best wall time of $runs runs each (ripsecrets: 1)"
echo
# Warm the page cache so every tool reads from memory.
find "$tree" -type f -print0 | xargs -0 cat > /dev/null

out=$(mktemp -d)
cd "$tree"
trap 'rm -rf "$out"' EXIT
# measure NAME COUNTER COMMAND...: runs COMMAND $runs times, keeps the fastest run's wall
# time and the largest peak RSS; COUNTER reads the findings of the last run from $out/stdout.
# A run longer than $limit seconds (default 600, LIMIT=) is stopped and reported as such.
limit=${LIMIT:-600}
measure() {
    local name=$1 counter=$2; shift 2
    local best="" rss=0 i
    for ((i = 0; i < runs; i++)); do
        local rc=0
        /usr/bin/time -f '%e %M' -o "$out/time" timeout "$limit" "$@" \
            > "$out/stdout" 2> "$out/stderr" || rc=$?
        if [ "$rc" -eq 124 ]; then
            echo "| $name | < $(python3 -c "print(f'{$bytes/1e6/$limit:.1f}')") | did not finish in $limit s (stopped) | | |"
            return
        fi
        # 0 clean, 1 findings; anything else is a failed run, not a measurement.
        if [ "$rc" -gt 1 ]; then
            echo "$name failed (exit $rc):" >&2; tail -5 "$out/stderr" >&2; exit 2
        fi
        read -r wall kb < <(tail -1 "$out/time")
        best=$(python3 -c "print(min(x for x in [$wall, ${best:-$wall}]))")
        rss=$((kb > rss ? kb : rss))
    done
    local n; n=$($counter)
    python3 -c "print(f'| $name | {$bytes/1e6/$best:.0f} | {$best:.1f} | {$rss/1024:.0f} | $n |')"
}
count_secrets() { python3 -c "import json; print(len(json.load(open('$out/stdout'))))"; }
count_gitleaks() { python3 -c "import json; print(len(json.load(open('$out/gitleaks.json'))))"; }
count_lines() { grep -c . "$out/stdout" || true; }

echo "| tool | MB/s | wall s | peak RSS MB | findings |"
echo "|---|---|---|---|---|"
measure "secrets" count_secrets "$secrets" scan --no-known --format json "$tree"
measure "gitleaks $("$bench/bin/gitleaks" version)" count_gitleaks \
    "$bench/bin/gitleaks" dir --no-banner --log-level error --redact -f json -r "$out/gitleaks.json" "$tree"
# ripsecrets gets one run: it is far slower on this tree.
runs=1 measure "$("$bench/bin/ripsecrets" --version)" count_lines "$bench/bin/ripsecrets" "$tree"
