#!/usr/bin/env bash
# Engine benchmark (issue 2): `secrets encrypt/decrypt` on YAML files, with the release
# binary, next to sops, age, rage and the npm sops-age decoder on the same files. Not a test:
# prints a markdown table (median wall time of hyperfine runs, process start included; max
# RSS of one run from /usr/bin/time -f %M) and whether each target is met.
#
#   benches/engine/run.sh     # RUNS=10 (small file: SMALL_RUNS=50, peers on the big file:
#                             # SLOW_RUNS=3), WARMUP=2
#   RUNS=5 RESULTS=/tmp/bench benches/engine/run.sh   # keep hyperfine's exports in /tmp/bench
#
# Inputs (generated, deterministic): a 1,000-value YAML file and a ~10 MB YAML file with
# 100,000 values (groups of 10 under service_NNNNNN; one header comment: comments inside
# maps are not placed back where they were by the YAML store yet, and the script checks that
# decrypt gives back the input byte for byte).
# Peers, each optional ("not installed" when missing): sops (SOPS, else .tools/bin/sops, else
# PATH), age (AGE or PATH), rage (RAGE or PATH; e.g. `cargo install rage --root /tmp/rage`
# then RAGE=/tmp/rage/bin/rage), node + sops-age (SOPS_AGE_JS, else
# .tools/node_modules/sops-age). age and rage decrypt only the file's armored data-key stanza.
#
# Targets: decrypt of the 1,000-value file < 20 ms; encrypt and decrypt of the 10 MB file
# < 1 s each with max RSS < 10x the file size (10x the plaintext size).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
RUNS=${RUNS:-10}
SMALL_RUNS=${SMALL_RUNS:-50}
SLOW_RUNS=${SLOW_RUNS:-3}
WARMUP=${WARMUP:-2}

cargo build --release --quiet
BIN="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release/secrets"

work=$(mktemp -d "${TMPDIR:-/tmp}/secrets-engine-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
RESULTS=${RESULTS:-$work/results}
mkdir -p "$RESULTS"
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config"
unset SOPS_AGE_KEY SOPS_AGE_KEY_CMD SECRETS_AGE_KEY_FILE SOPS_AGE_RECIPIENTS \
  SOPS_AGE_SSH_PRIVATE_KEY_FILE || true
mkdir -p "$HOME"
cd "$work"

# ── inputs ──────────────────────────────────────────────────────────────────────────
cat > gen.py <<'EOF'
import random, sys
values, width = int(sys.argv[1]), int(sys.argv[2])
r = random.Random(20260422)
alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
out = [f"# {values} generated values (benches/engine/run.sh)"]
for g in range((values + 9) // 10):
    out.append(f"service_{g:06d}:")
    for j in range(min(10, values - g * 10)):
        kind = j % 5
        if kind == 3:
            v = str(r.randrange(1, 10**9))
        elif kind == 4:
            v = "true" if r.random() < 0.5 else "false"
        else:
            v = "".join(r.choice(alpha) for _ in range(width))
        out.append(f"    key_{j:02d}: {v}")
sys.stdout.write("\n".join(out) + "\n")
EOF
python3 gen.py 1000 24 > small.yaml
python3 gen.py 100000 140 > big.yaml

"$BIN" keygen -q -o key.txt
R=$("$BIN" keygen -y key.txt)
export SOPS_AGE_KEY_FILE="$work/key.txt" SOPS_DISABLE_VERSION_CHECK=1
"$BIN" -q encrypt --age "$R" small.yaml > small.enc.yaml
"$BIN" -q encrypt --age "$R" big.yaml > big.enc.yaml
for f in small big; do
  "$BIN" -q decrypt "$f.enc.yaml" | cmp -s - "$f.yaml" || { echo "round trip of $f.yaml differs" >&2; exit 1; }
done
# The data key's age stanza, as age/rage read it: the armored block of the first recipient.
awk '/-----BEGIN AGE ENCRYPTED FILE-----/{on=1} on{sub(/^ +/, ""); print} /-----END AGE ENCRYPTED FILE-----/{exit}' \
  big.enc.yaml > stanza.age

size_mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f", b / 1e6 }'; }
SMALL_KB=$(awk -v b="$(stat -c %s small.yaml)" 'BEGIN { printf "%.0f", b / 1e3 }')
SMALL_ENC_KB=$(awk -v b="$(stat -c %s small.enc.yaml)" 'BEGIN { printf "%.0f", b / 1e3 }')
BIG_MB=$(size_mb big.yaml)
BIG_ENC_MB=$(size_mb big.enc.yaml)

# ── measuring ───────────────────────────────────────────────────────────────────────
rows=()
declare -A MEDIAN RSS
# bench ID TOOL TASK RUNS CMD…: median wall ms (hyperfine) and max RSS MB (one run).
bench() {
  local id=$1 tool=$2 task=$3 runs=$4
  shift 4
  if ! "$@" > /dev/null 2> "$work/$id.err"; then
    rows+=("| $tool | $task | failed: $(head -c 120 "$work/$id.err" | tr '\n|' '  ') | |")
    return
  fi
  local cmd
  cmd=$(printf '%q ' "$@")
  local warmup=$WARMUP
  [ "$runs" -le 3 ] && warmup=1
  hyperfine --shell=none --warmup "$warmup" --runs "$runs" --style none \
    --export-json "$RESULTS/$id.json" --export-markdown "$RESULTS/$id.md" \
    --output=null "$cmd" > "$RESULTS/$id.log" 2>&1
  local med rss
  med=$(python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1000))' "$RESULTS/$id.json")
  /usr/bin/time -f %M -o "$RESULTS/$id.rss" "$@" > /dev/null 2>&1
  rss=$(awk -v k="$(tail -1 "$RESULTS/$id.rss")" 'BEGIN { printf "%.1f", k / 1024 }')
  MEDIAN[$id]=$med
  RSS[$id]=$rss
  rows+=("| $tool | $task | $med | $rss |")
}
missing() { rows+=("| $1 | $2 | not installed | |"); }

bench s-dec-small secrets "decrypt 1k values ($SMALL_ENC_KB KB encrypted)" "$SMALL_RUNS" "$BIN" decrypt small.enc.yaml
bench s-enc-big secrets "encrypt 100k values ($BIG_MB MB)" "$RUNS" "$BIN" encrypt --age "$R" big.yaml
bench s-dec-big secrets "decrypt 100k values ($BIG_ENC_MB MB encrypted)" "$RUNS" "$BIN" decrypt big.enc.yaml

SOPS=${SOPS:-}
[ -z "$SOPS" ] && [ -x "$ROOT/.tools/bin/sops" ] && SOPS="$ROOT/.tools/bin/sops"
[ -z "$SOPS" ] && SOPS=$(command -v sops || true)
if [ -n "$SOPS" ]; then
  v=$("$SOPS" --version 2> /dev/null | awk 'NR==1 { print $2 }')
  bench sops-dec-small "sops $v" "decrypt 1k values" "$SMALL_RUNS" "$SOPS" decrypt small.enc.yaml
  bench sops-enc-big "sops $v" "encrypt 100k values" "$SLOW_RUNS" "$SOPS" encrypt --age "$R" big.yaml
  bench sops-dec-big "sops $v" "decrypt 100k values" "$SLOW_RUNS" "$SOPS" decrypt big.enc.yaml
else
  missing sops "decrypt"
fi

AGE=${AGE:-$(command -v age || true)}
if [ -n "$AGE" ]; then
  bench age "age $("$AGE" --version 2> /dev/null)" "decrypt the data-key stanza" "$SMALL_RUNS" "$AGE" -d -i key.txt stanza.age
else
  missing age "decrypt the data-key stanza"
fi
RAGE=${RAGE:-$(command -v rage || true)}
if [ -n "$RAGE" ]; then
  bench rage "$("$RAGE" --version 2> /dev/null)" "decrypt the data-key stanza" "$SMALL_RUNS" "$RAGE" -d -i key.txt stanza.age
else
  missing rage "decrypt the data-key stanza"
fi

SOPS_AGE_JS=${SOPS_AGE_JS:-$ROOT/.tools/node_modules/sops-age}
if command -v node > /dev/null && [ -f "$SOPS_AGE_JS/dist/index.js" ]; then
  cat > decrypt.mjs <<EOF
import { readFileSync } from "node:fs";
import { decryptSops } from "$SOPS_AGE_JS/dist/index.js";
const secretKey = readFileSync(process.env.SOPS_AGE_KEY_FILE, "utf8")
  .split("\n").find((l) => l.startsWith("AGE-SECRET-KEY-"));
const value = await decryptSops({ path: process.argv[2], secretKey });
process.stdout.write(JSON.stringify(value));
EOF
  v=$(node -p "require('$SOPS_AGE_JS/package.json').version")
  bench js-dec-small "sops-age $v (node $(node --version))" "decrypt 1k values" "$RUNS" node decrypt.mjs small.enc.yaml
  bench js-dec-big "sops-age $v (node $(node --version))" "decrypt 100k values" "$SLOW_RUNS" node decrypt.mjs big.enc.yaml
else
  missing "sops-age (node)" "decrypt"
fi

# ── report ──────────────────────────────────────────────────────────────────────────
echo
echo "Engine benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m); plaintext $SMALL_KB KB (1,000 values) and $BIG_MB MB (100,000 values)."
echo
echo "| tool | task | median ms | max RSS MB |"
echo "|---|---|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
verdict() { if awk "BEGIN { exit !($2) }"; then echo "- $1: met"; else echo "- $1: NOT met"; fi; }
limit=$(awk -v m="$BIG_MB" 'BEGIN { print m * 10 }')
verdict "decrypt 1,000 values < 20 ms (${MEDIAN[s-dec-small]} ms)" "${MEDIAN[s-dec-small]} < 20"
verdict "encrypt 10 MB < 1 s (${MEDIAN[s-enc-big]} ms)" "${MEDIAN[s-enc-big]} < 1000"
verdict "decrypt 10 MB < 1 s (${MEDIAN[s-dec-big]} ms)" "${MEDIAN[s-dec-big]} < 1000"
verdict "encrypt 10 MB max RSS < ${limit} MB (${RSS[s-enc-big]} MB)" "${RSS[s-enc-big]} < $limit"
verdict "decrypt 10 MB max RSS < ${limit} MB (${RSS[s-dec-big]} MB)" "${RSS[s-dec-big]} < $limit"
