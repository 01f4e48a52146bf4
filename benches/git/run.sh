#!/usr/bin/env bash
# Issue 14's figures, with their peers in the same run:
#
# 1. The merge driver on a 1,000-value YAML file, one value changed on each side
#    (target < 50 ms), against the manual sops way: `sops -d` of the three versions,
#    `git merge-file` on the plaintexts, `sops -e` of the result.
# 2. `git log -p` over COMMITS commits of one encrypted file with our textconv (target
#    < 5 s for 500), against `git log -p` without textconv (ENC[…] lines) and with
#    `sops -d` as the textconv.
#
#   benches/git/run.sh                    # COMMITS=500 RUNS=10
# Env: SECRETS_BIN (else target/release/secrets is built), SOPS (default: on PATH),
#      hyperfine on PATH.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
COMMITS=${COMMITS:-500}
RUNS=${RUNS:-10}
if [[ -z "${SECRETS_BIN:-}" ]]; then
  (cd "$root" && cargo build --release --quiet)
  SECRETS_BIN="$(cd "${CARGO_TARGET_DIR:-$root/target}" && pwd)/release/secrets"
fi
SOPS=${SOPS:-$(command -v sops || true)}
[[ -x "$SOPS" ]] || { echo "sops not found (set SOPS)" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "hyperfine not found" >&2; exit 1; }
export SOPS_DISABLE_VERSION_CHECK=1

work=$(mktemp -d "${TMPDIR:-/tmp}/secrets-git-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" GIT_CONFIG_NOSYSTEM=1
unset SOPS_AGE_KEY SECRETS_AGE_KEY_FILE SOPS_AGE_RECIPIENTS GIT_DIR || true
mkdir -p "$HOME" "$work/repo" "$work/m"
cd "$work/repo"
git init -q -b main .
git config user.name bench
git config user.email bench@example.com
git config gc.auto 0
"$SECRETS_BIN" keygen -q -o "$work/key.txt"
export SOPS_AGE_KEY_FILE="$work/key.txt"
pub=$(sed -n 's/^# public key: //p' "$work/key.txt")
"$SECRETS_BIN" -q init --name bench
"$SECRETS_BIN" -q env add prod --files 'config/**' -m bench
"$SECRETS_BIN" -q git setup

# Median wall time and mean CPU time (user + system, the children git waits for included)
# of each command, in ms: on a loaded machine the CPU time says what a quiet one would see.
median() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(" ".join("%.1f" % (x["median"]*1000) for x in r))' "$1"; }
cpu() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(" ".join("%.1f" % ((x["user"]+x["system"])*1000) for x in r))' "$1"; }

# --- 1. merge driver -------------------------------------------------------------------
mkdir -p config
for k in $(seq -w 0 999); do echo "key$k: value-$k-$RANDOM$RANDOM"; done > config/big.yaml
"$SECRETS_BIN" -q encrypt -i config/big.yaml
cp config/big.yaml "$work/m/base.yaml"
"$SECRETS_BIN" -q set config/big.yaml key001 ours-change
cp config/big.yaml "$work/m/ours.yaml"
cp "$work/m/base.yaml" config/big.yaml
"$SECRETS_BIN" -q set config/big.yaml key998 theirs-change
cp config/big.yaml "$work/m/theirs.yaml"
m=$work/m
# One check that both give the merged values.
cp "$m/ours.yaml" "$m/A.yaml"
"$SECRETS_BIN" git merge-driver "$m/base.yaml" "$m/A.yaml" "$m/theirs.yaml" config/big.yaml
cp "$m/A.yaml" config/big.yaml
[ "$("$SECRETS_BIN" get config/big.yaml key001)" = ours-change ]
[ "$("$SECRETS_BIN" get config/big.yaml key998)" = theirs-change ]
cat > "$work/manual.sh" <<SH
set -e
cd "$m"
"$SOPS" -d base.yaml > b.plain.yaml
"$SOPS" -d ours.yaml > o.plain.yaml
"$SOPS" -d theirs.yaml > t.plain.yaml
git merge-file o.plain.yaml b.plain.yaml t.plain.yaml
"$SOPS" -e --age $pub o.plain.yaml > merged.yaml
rm -f b.plain.yaml o.plain.yaml t.plain.yaml
SH
hyperfine -N --style none --warmup 3 --runs "$RUNS" --export-json "$work/merge.json" \
  --prepare "cp $m/ours.yaml $m/A.yaml" \
  "$SECRETS_BIN git merge-driver $m/base.yaml $m/A.yaml $m/theirs.yaml config/big.yaml" \
  "bash $work/manual.sh" >/dev/null
read -r ours_merge manual_merge < <(median "$work/merge.json")
read -r ours_merge_cpu manual_merge_cpu < <(cpu "$work/merge.json")

# --- 2. git log -p over COMMITS commits ---------------------------------------------------
for k in $(seq 0 19); do echo "key$k: v-$k-$RANDOM$RANDOM"; done > config/app.yaml
"$SECRETS_BIN" -q encrypt -i config/app.yaml
mkdir -p "$work/versions"
VERSIONS=50
for j in $(seq 0 $(( VERSIONS - 1 ))); do
  "$SECRETS_BIN" -q set config/app.yaml "key$(( j % 20 ))" "v-$j-$RANDOM$RANDOM"
  cp config/app.yaml "$work/versions/$j.yaml"
done
start=$(( $(date +%s) - COMMITS * 3600 - 86400 ))
python3 - "$work/versions" "$VERSIONS" "$COMMITS" "$start" <<'PY' | git fast-import --quiet
import sys, os
vdir, versions, commits, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
out = sys.stdout.buffer
def data(b):
    out.write(b"data %d\n" % len(b)); out.write(b); out.write(b"\n")
for name, mark in ((".secrets.yaml", 1), (".gitattributes", 2)):
    out.write(b"blob\nmark :%d\n" % mark); data(open(name, "rb").read())
for j in range(versions):
    out.write(b"blob\nmark :%d\n" % (j + 3)); data(open(os.path.join(vdir, f"{j}.yaml"), "rb").read())
for i in range(commits):
    t = start + i * 3600
    out.write(b"commit refs/heads/main\nmark :%d\n" % (versions + 3 + i))
    out.write(b"author bench <bench@example.com> %d +0000\n" % t)
    out.write(b"committer bench <bench@example.com> %d +0000\n" % t)
    data(b"change %d" % i)
    if i:
        out.write(b"from :%d\n" % (versions + 2 + i))
    else:
        out.write(b"M 100644 :1 .secrets.yaml\nM 100644 :2 .gitattributes\n")
    out.write(b"M 100644 :%d config/app.yaml\n" % (i % versions + 3))
    out.write(b"\n")
PY
git reset -q --hard main
[ "$(git rev-list --count HEAD)" = "$COMMITS" ]
[ "$(git log -p -3 config/app.yaml | grep -c '^+key')" -gt 0 ] || { echo "textconv shows no values" >&2; exit 1; }
hyperfine -N --style none --warmup 1 --runs 3 --export-json "$work/log.json" \
  "git log -p config/app.yaml" \
  "git log -p --no-textconv config/app.yaml" \
  "git -c diff.secrets.textconv='$SOPS -d' log -p config/app.yaml" >/dev/null
read -r ours_log plain_log sops_log < <(median "$work/log.json")
read -r ours_log_cpu plain_log_cpu sops_log_cpu < <(cpu "$work/log.json")

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
cat <<TABLE
| task | secrets: wall (CPU) | peer in the same run: wall (CPU) | target |
|---|---:|---|---|
| merge driver, 1,000-value YAML, one change per side (median of $RUNS) | **$ours_merge ms** ($ours_merge_cpu ms) | manual: \`sops -d\` ×3 + \`git merge-file\` + \`sops -e\`: $manual_merge ms ($manual_merge_cpu ms) | < 50 ms |
| \`git log -p\` over $COMMITS commits of one 20-key file, textconv (median of 3) | **$ours_log ms** ($ours_log_cpu ms) | no textconv (ENC lines): $plain_log ms ($plain_log_cpu ms); \`sops -d\` as textconv: $sops_log ms ($sops_log_cpu ms) | < 5,000 ms |
TABLE
