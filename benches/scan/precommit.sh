#!/usr/bin/env bash
# Pre-commit latency with 20 staged files, measured with hyperfine in one run:
#   - `secrets scan --staged` (what the hook runs),
#   - the installed hook itself (`secrets hook install`, then .git/hooks/pre-commit),
#   - gitleaks's staged scan, `gitleaks git --pre-commit --staged` (`protect --staged` in
#     older releases), on the same index.
# The 20 files are this repository's first 20 tracked src/**/*.rs files outside src/scan
# (a few hundred lines each), copied into a fresh temporary repository and staged.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bench=${BENCH_DIR:-/tmp/scanbench}
secrets=${SECRETS_BIN:-$root/target/release/secrets}
repo=$(mktemp -d)
trap 'rm -rf "$repo"' EXIT
git -C "$repo" init -q
i=0
for f in $(cd "$root" && git ls-files 'src/*.rs' | grep -v '^src/scan/' | head -20); do
    mkdir -p "$repo/$(dirname "$f")"
    cp "$root/$f" "$repo/$f"
    i=$((i + 1))
done
git -C "$repo" add -A
cd "$repo"
echo "$i staged files, $(git diff --cached --numstat | awk '{s+=$1} END {print s}') lines," \
    "$(git ls-files -s | awk '{print $2}' | xargs -n1 git cat-file -s | awk '{s+=$1} END {print s}') bytes;" \
    "$(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$secrets" -q hook install
# The hook runs the `secrets` on PATH first: make it run the binary under test.
export SECRETS_BIN=$secrets
# The exit codes must say "clean" for all three, or the timings would compare failures.
"$secrets" scan --staged -q >/dev/null
.git/hooks/pre-commit >/dev/null 2>&1
"$bench/bin/gitleaks" git --pre-commit --staged --no-banner --log-level error . >/dev/null
echo
hyperfine -N --warmup 5 --min-runs 50 --export-markdown "$repo/out.md" \
    -n "secrets scan --staged" "$secrets scan --staged" \
    -n "hook (.git/hooks/pre-commit)" ".git/hooks/pre-commit" \
    -n "gitleaks $("$bench/bin/gitleaks" version) git --pre-commit --staged" \
    "$bench/bin/gitleaks git --pre-commit --staged --no-banner --log-level error ." > "$repo/log" 2>&1 ||
    { cat "$repo/log" >&2; exit 2; }
cat "$repo/out.md"
