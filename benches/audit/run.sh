#!/usr/bin/env bash
# Audit benchmark: `secrets audit` over a repository of FILES encrypted files × KEYS values
# and MEMBERS members, with a history that matters to it: the files added, a member added
# then removed (`member remove`: every file rotated), and COMMITS commits each a real
# `secrets set` of one value. Peers in the same run: the real sops binary reading each
# file's metadata (`sops filestatus`, one process per file, as a script over the files
# would), and `git log --format=%H%x09%an%x09%at -- <files>` (the commits that touched
# them). Not a test: prints a markdown table, median of RUNS runs (ms), repository packed.
#
#   benches/audit/run.sh                      # FILES=200 KEYS=10 MEMBERS=5 COMMITS=100 RUNS=7
#   FILES=20 COMMITS=10 benches/audit/run.sh
#
# Target (issue 13): audit of 200 files < 1 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
FILES=${FILES:-200}
KEYS=${KEYS:-10}
MEMBERS=${MEMBERS:-5}
COMMITS=${COMMITS:-100}
RUNS=${RUNS:-7}
cargo build --release --quiet
BIN="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release/secrets"
SOPS=$(command -v sops || echo "$PWD/.tools/bin/sops")
[ -x "$SOPS" ] || { echo "sops not found: bash .ci/run installs it" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/secrets-audit-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" GIT_CONFIG_NOSYSTEM=1 SOPS_DISABLE_VERSION_CHECK=1
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
members=(bench)
for m in $(seq 2 "$MEMBERS"); do
  "$BIN" keygen -q -o "$work/m$m.txt"
  "$BIN" -q member add "m$m" "$(sed -n 's/^# public key: //p' "$work/m$m.txt")"
  members+=("m$m")
done
grant=()
for m in "${members[@]}"; do grant+=(-m "$m"); done
"$BIN" -q env add prod --files 'config/**' "${grant[@]}"

mkdir -p config
for f in $(seq 1 "$FILES"); do
  for k in $(seq 1 "$KEYS"); do echo "key$k: v-$f-$k-$RANDOM$RANDOM"; done > "config/svc$f.yaml"
done
"$BIN" -q encrypt -i config/*.yaml

start=$(( $(date +%s) - (COMMITS + 10) * 3600 ))
commit() { # message, time
  git add -A
  GIT_AUTHOR_DATE="@$2 +0000" GIT_COMMITTER_DATE="@$2 +0000" git commit -q -m "$1"
}
commit "add $FILES files" "$start"
"$BIN" keygen -q -o "$work/leaver.txt"
"$BIN" -q member add leaver "$(sed -n 's/^# public key: //p' "$work/leaver.txt")"
"$BIN" -q env grant prod leaver
"$BIN" -q updatekeys
commit "onboard leaver" $(( start + 3600 ))
"$BIN" -q member remove leaver
commit "offboard leaver" $(( start + 7200 ))
echo "generating $COMMITS commits (one secrets set each)…" >&2
for i in $(seq 1 "$COMMITS"); do
  f=$(( RANDOM % FILES + 1 ))
  "$BIN" -q set "config/svc$f.yaml" "key$(( RANDOM % KEYS + 1 ))" "v-$i-$RANDOM$RANDOM"
  commit "set svc$f" $(( start + (i + 2) * 3600 ))
done
git gc -q
files=(config/*.yaml)

# Sanity: every file listed as rotated for the member who left.
rotated=$("$BIN" audit --format json | grep -c '"state": "rotated"' || true)
[ "$rotated" -ge "$FILES" ] || { echo "expected $FILES rotated files, got $rotated" >&2; exit 1; }

now() { date +%s%N; }
median_ms() {
  local t=() a b
  for _ in $(seq 1 "$RUNS"); do
    a=$(now); "$@" >/dev/null; b=$(now)
    t+=($(( (b - a) / 1000 )))
  done
  printf '%s\n' "${t[@]}" | sort -n | awk '{v[NR]=$1} END {printf "%.1f", v[int((NR+1)/2)]/1000}'
}
sops_all() { for f in "${files[@]}"; do "$SOPS" filestatus "$f"; done; }

echo
echo "$FILES files × $KEYS values, $MEMBERS members (+1 removed), $(( COMMITS + 3 )) commits, $(nproc) cores, median of $RUNS runs (ms)"
echo
echo "| secrets audit (markdown) | secrets audit --format json | secrets audit --format html | secrets audit, no identity | sops filestatus (each file) | git log -- files |"
echo "|---:|---:|---:|---:|---:|---:|"
a=$(median_ms "$BIN" audit)
j=$(median_ms "$BIN" audit --format json)
h=$(median_ms "$BIN" audit --format html)
n=$(median_ms env -u SOPS_AGE_KEY_FILE "$BIN" -q audit)
s=$(median_ms sops_all)
l=$(median_ms git log --format=%H%x09%an%x09%at -- "${files[@]}")
echo "| $a | $j | $h | $n | $s | $l |"
