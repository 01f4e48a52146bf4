#!/usr/bin/env bash
# Staleness benchmark: `secrets status --stale` over a repository of FILES encrypted files
# × KEYS values and COMMITS commits, each commit a real `secrets set` of one value (real
# encryption, back-dated author times one hour apart), against its peers in the same run:
# `git log --format=%H%x09%an%x09%at -- <files>` (which commits touched the files) and
# `git blame --line-porcelain` over every file (line ages). Not a test: prints a markdown
# table, median of RUNS runs, first with the loose objects `git commit` leaves, then after
# `git gc` (a cloned repository is packed).
#
#   benches/stale/run.sh                       # FILES=20 KEYS=20 COMMITS=2000 RUNS=7
#   FILES=5 KEYS=5 COMMITS=200 benches/stale/run.sh
#
# Target (issue 12): status --stale < 1 s on 2,000 commits.
set -euo pipefail
cd "$(dirname "$0")/../.."
FILES=${FILES:-20}
KEYS=${KEYS:-20}
COMMITS=${COMMITS:-2000}
RUNS=${RUNS:-7}
cargo build --release --quiet
BIN="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release/secrets"

work=$(mktemp -d "${TMPDIR:-/tmp}/secrets-stale-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" GIT_CONFIG_NOSYSTEM=1
unset SOPS_AGE_KEY SECRETS_AGE_KEY_FILE SOPS_AGE_RECIPIENTS SOPS_AGE_SSH_PRIVATE_KEY_FILE GIT_DIR || true
mkdir -p "$HOME" "$work/repo"
cd "$work/repo"
git init -q -b main .
git config user.name bench
git config user.email bench@example.com
git config gc.auto 0
"$BIN" keygen -q -o "$work/key.txt"
export SOPS_AGE_KEY_FILE="$work/key.txt"
"$BIN" -q init --name bench
"$BIN" -q env add prod --files 'config/**' -m bench

mkdir -p config
for f in $(seq 1 "$FILES"); do
  {
    echo "# service $f"
    for k in $(seq 1 "$KEYS"); do echo "key$k: v-$f-$k-$RANDOM$RANDOM"; done
  } > "config/svc$f.yaml"
done
"$BIN" -q encrypt -i config/*.yaml

start=$(( $(date +%s) - COMMITS * 3600 - 86400 ))
commit() { # message, time
  GIT_AUTHOR_DATE="@$2 +0000" GIT_COMMITTER_DATE="@$2 +0000" git commit -q -m "$1"
}
git add -A
commit "add $FILES files" "$start"
echo "generating $COMMITS commits ($FILES files × $KEYS keys, one secrets set each)…" >&2
for i in $(seq 2 "$COMMITS"); do
  f=$(( RANDOM % FILES + 1 ))
  k=$(( RANDOM % KEYS + 1 ))
  "$BIN" -q set "config/svc$f.yaml" "key$k" "v-$i-$RANDOM$RANDOM"
  git add "config/svc$f.yaml"
  commit "set svc$f key$k" $(( start + i * 3600 ))
done
[ "$(git rev-list --count HEAD)" = "$COMMITS" ]
files=(config/*.yaml)

now() { date +%s%N; }
# median_ms CMD...: runs CMD RUNS times (output discarded), prints the median wall time (ms).
median_ms() {
  local t=() a b
  for _ in $(seq 1 "$RUNS"); do
    a=$(now); "$@" >/dev/null; b=$(now)
    t+=($(( (b - a) / 1000 )))
  done
  printf '%s\n' "${t[@]}" | sort -n | awk '{v[NR]=$1} END {printf "%.1f", v[int((NR+1)/2)]/1000}'
}
blame_all() { for f in "${files[@]}"; do git blame --line-porcelain -- "$f"; done; }

# Sanity: every value listed, none unknown.
rows=$("$BIN" status --stale --format json | grep -c '"state": "changed"')
[ "$rows" = $(( FILES * KEYS )) ] || { echo "expected $(( FILES * KEYS )) changed values, got $rows" >&2; exit 1; }

echo
echo "$COMMITS commits, $FILES files × $KEYS values, $(nproc) cores, median of $RUNS runs (ms)"
echo
echo "| objects | secrets status --stale | secrets status --stale --format json | git log -- files | git blame --line-porcelain (every file) |"
echo "|---|---:|---:|---:|---:|"
for state in loose packed; do
  if [ "$state" = packed ]; then git gc -q; fi
  s=$(median_ms "$BIN" status --stale)
  j=$(median_ms "$BIN" status --stale --format json)
  l=$(median_ms git log --format=%H%x09%an%x09%at -- "${files[@]}")
  b=$(median_ms blame_all)
  echo "| $state | $s | $j | $l | $b |"
done
