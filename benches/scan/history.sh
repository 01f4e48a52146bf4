#!/usr/bin/env bash
# History scan: `secrets scan --history` against `gitleaks git` on the same clone, in one
# run, with `git log -p -U0` (printing every patch) as the floor: commits each reads, best
# wall time, CPU time and peak RSS (/usr/bin/time -v), findings. Once over HEAD, once
# over every ref (`secrets scan --all`, gitleaks's default `git log --all`).
#
#   benches/scan/setup.sh                    # once: gitleaks under /tmp/scanbench, our release build
#   benches/scan/history.sh REPO             # or HISTORY_REPO=REPO; RUNS=3 by default
#
# REPO is a clone with a few thousand commits. The README's figures use trufflehog's
# (4,546 commits on HEAD): in this workspace the `fetch` tool with
# `github:trufflesecurity/trufflehog` leaves a bare copy under /work/.mirror, and
#   git clone -q /work/.mirror/trufflesecurity+trufflehog/repo /tmp/scanbench/trufflehog
# makes the clone (elsewhere: git clone https://github.com/trufflesecurity/trufflehog).
# Every ref's history must be readable for the --all rows: that snapshot lacks one blob of
# the `tika` branch (`git log --all -p` stops there), so drop that ref from the clone:
#   git -C /tmp/scanbench/trufflehog update-ref -d refs/remotes/origin/tika
# The script checks this and says which refs cannot be read.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bench=${BENCH_DIR:-/tmp/scanbench}
secrets=${SECRETS_BIN:-$root/target/release/secrets}
gitleaks=$bench/bin/gitleaks
repo=${1:-${HISTORY_REPO:-}}
runs=${RUNS:-3}
[ -n "$repo" ] && [ -d "$repo" ] || { echo "usage: $0 REPO (a git clone; see the header)" >&2; exit 2; }
[ -x "$gitleaks" ] || { echo "run benches/scan/setup.sh first (no $gitleaks)" >&2; exit 2; }
[ -x "$secrets" ] || { echo "no $secrets: cargo build --release --bin secrets" >&2; exit 2; }
repo=$(cd "$repo" && pwd)
if ! git -C "$repo" rev-list --objects --all > /dev/null 2>&1; then
    echo "$repo: some ref's history cannot be read (a missing object); refs affected:" >&2
    git -C "$repo" for-each-ref --format='%(refname)' | while read -r ref; do
        git -C "$repo" rev-list --objects "$ref" > /dev/null 2>&1 || echo "  $ref" >&2
    done
    echo "delete them from the clone (git update-ref -d REF) and run again" >&2
    exit 2
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Warm the page cache: every tool reads the pack from memory.
cat "$repo"/.git/objects/pack/* > /dev/null 2>&1 || true
cd "$repo"
echo "$(basename "$repo") at $(git rev-parse --short HEAD): $(git rev-list --count HEAD) commits" \
    "on HEAD, $(git rev-list --count --all) in all $(git for-each-ref | wc -l) refs;" \
    "$(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg); secrets $("$secrets" --version |
    cut -d' ' -f2), gitleaks $("$gitleaks" version), $(git --version | cut -d' ' -f3);" \
    "best wall time of $runs runs"
echo

# Each tool: NAME, a command printing the commits it read, one printing its findings (both
# from its last run's output in $out/N.*), and the command. Rounds run every tool once in
# turn, so a change in the machine's load falls on all of them; per tool the best wall
# time, its CPU time (user + sys) and the largest peak RSS of the rounds are kept.
names=() commits=() counters=() cmds=()
tool() { names+=("$1"); commits+=("$2"); counters+=("$3"); cmds+=("$4"); }
json_count() { python3 -c "import json, sys; print(len(json.load(open(sys.argv[1]))))" "$1"; }
secrets_found() { json_count "$out/$1.stdout"; }
gitleaks_found() { json_count "$out/$1.json"; }
none() { echo "–"; }
# gitleaks counts the commits that gave it at least one added line ("N commits scanned.").
gitleaks_commits() { grep -o '[0-9]* commits scanned' "$out/$1.stderr" | cut -d' ' -f1; }
head_commits() { git rev-list --count HEAD; }
all_commits() { git rev-list --count --all; }
gl="$gitleaks git --no-banner --redact --log-level info -f json"

tool "secrets scan --history" head_commits secrets_found \
    "$secrets scan --history --no-known --format json"
tool "gitleaks git, HEAD (--log-opts='--full-history --diff-filter=tuxdb HEAD')" \
    gitleaks_commits gitleaks_found \
    "$gl -r \$out/\$i.json --log-opts='--full-history --diff-filter=tuxdb HEAD' ."
tool "git log -p -U0 HEAD > /dev/null (floor)" head_commits none \
    "git log -p -U0 HEAD > /dev/null"
tool "secrets scan --all" all_commits secrets_found \
    "$secrets scan --all --no-known --format json"
tool "gitleaks git (default: git log --all)" gitleaks_commits gitleaks_found \
    "$gl -r \$out/\$i.json ."
tool "git log -p -U0 --all > /dev/null (floor)" all_commits none \
    "git log -p -U0 --all > /dev/null"

declare -A best cpu rss
for ((r = 0; r < runs; r++)); do
    for i in "${!names[@]}"; do
        rc=0
        out=$out i=$i /usr/bin/time -v -o "$out/time" sh -c "${cmds[$i]}" \
            > "$out/$i.stdout" 2> "$out/$i.stderr" || rc=$?
        # 0 clean, 1 findings; anything else is a failed run, not a measurement.
        if [ "$rc" -gt 1 ]; then
            echo "${names[$i]} failed (exit $rc):" >&2; tail -5 "$out/$i.stderr" >&2; exit 2
        fi
        read -r wall user sys kb < <(awk -F': ' '
            /Elapsed \(wall clock\)/ { n = split($2, t, ":"); w = 0
                                        for (k = 1; k <= n; k++) w = w * 60 + t[k] }
            /User time/ { u = $2 } /System time/ { s = $2 }
            /Maximum resident set size/ { m = $2 }
            END { print w, u, s, m }' "$out/time")
        if [ -z "${best[$i]:-}" ] || python3 -c "import sys; sys.exit(not $wall < ${best[$i]})"; then
            best[$i]=$wall
            cpu[$i]=$(python3 -c "print($user + $sys)")
        fi
        rss[$i]=$((kb > ${rss[$i]:-0} ? kb : ${rss[$i]:-0}))
    done
done

# Commits: ours and git's are the commits walked (merges included); gitleaks's, those that
# gave it at least one added line (its "N commits scanned").
echo "| tool | commits | wall s | CPU s | peak RSS MB | findings |"
echo "|---|---:|---:|---:|---:|---:|"
for i in "${!names[@]}"; do
    python3 -c 'import sys; n, c, w, u, k, f = sys.argv[1:]
print(f"| {n} | {int(c):,} | {float(w):.1f} | {float(u):.1f} | {int(k) / 1024:.0f} | {f} |")' \
        "${names[$i]}" "$(${commits[$i]} "$i")" "${best[$i]}" "${cpu[$i]}" "${rss[$i]}" \
        "$(${counters[$i]} "$i")"
done
