#!/usr/bin/env bash
# Many environments: `status` (and every command, since each loads the config) must take
# time linear in the number of environments. Issue 10 (case 8) measured 5 s with 800
# environments and over 60 s with 3,000: every file was matched against every
# environment, and the overlap check compared every pair of environments.
#
# For each N: a `.secrets.yaml` with N environments (`envI: files: ["svcI/**"]`, two
# members each, of 10 members), one encrypted file in each environment's directory (the
# same small file, encrypted once and copied: status reads the recipients and unwraps the
# data key, it does not decrypt values), then the median of RUNS runs of `status`, with the
# identity (every data key unwrapped) and without (config and files only).
#
#   benches/team/envs.sh                       # N in 300 1000 3000, RUNS=3
#   NS="1000 3000" RUNS=5 benches/team/envs.sh
#   BIN=/path/to/secrets benches/team/envs.sh  # another binary (e.g. an older one)
set -euo pipefail
cd "$(dirname "$0")/../.."
NS=${NS:-"300 1000 3000"}
RUNS=${RUNS:-3}
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release/secrets"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/secrets-envs-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config"
unset SOPS_AGE_KEY SOPS_AGE_KEY_FILE SECRETS_AGE_KEY_FILE SOPS_AGE_RECIPIENTS || true
mkdir -p "$HOME" "$work/keys"
for m in $(seq 1 10); do "$BIN" keygen -q -o "$work/keys/m$m.key"; done
pub() { "$BIN" keygen -y "$work/keys/m$1.key"; }

# One encrypted file for members 1 and 2 (every environment's recipients).
mkdir -p "$work/one"
echo "token: t-$RANDOM$RANDOM" > "$work/one/s.yaml"
"$BIN" -q encrypt -i --age "$(pub 1),$(pub 2)" "$work/one/s.yaml"

now() { date +%s.%N; }
# median CMD…: the median wall time (s) of RUNS runs of CMD.
median() {
  local times=() t0 t1
  for _ in $(seq 1 "$RUNS"); do
    t0=$(now)
    "$@" >/dev/null
    t1=$(now)
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'
}

rows=()
for n in $NS; do
  repo="$work/r$n"
  mkdir -p "$repo"
  git -C "$repo" init -q .
  {
    echo "members:"
    for m in $(seq 1 10); do echo "  m$m: $(pub "$m")"; done
    echo "environments:"
    for i in $(seq 1 "$n"); do
      echo "  env$i:"
      echo "    files: [\"svc$i/**\"]"
      echo "    members: [m1, m2]"
    done
  } > "$repo/.secrets.yaml"
  for i in $(seq 1 "$n"); do
    mkdir -p "$repo/svc$i"
    cp "$work/one/s.yaml" "$repo/svc$i/s.yaml"
  done
  cd "$repo"
  rows+=("$n|$(SOPS_AGE_KEY_FILE="$work/keys/m1.key" median "$BIN" -q status)|$(median "$BIN" -q status)|$(median "$BIN" -q env list)")
  cd - >/dev/null
done

cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
echo
echo "N environments, one encrypted file each (2 recipients), 10 members; median of $RUNS runs, $cpus CPUs:"
echo
echo "| environments | \`status\` (data keys unwrapped) | \`status\` (no identity) | \`env list\` (config only) |"
echo "|---:|---:|---:|---:|"
for r in "${rows[@]}"; do
  IFS='|' read -r n a b c <<<"$r"
  echo "| $n | $a s | $b s | $c s |"
done
