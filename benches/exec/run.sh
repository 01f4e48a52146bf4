#!/usr/bin/env bash
# Overhead of `secrets exec -f F -- true` over plain `true`, F holding 50 values; the same
# through `exec --env` with a 30-rule schema checked first (issue 12); and the same 50 values
# through `dotenvx run -- true` (npm @dotenvx/dotenvx) in the same run.
#
# Each secrets command runs twice: with the default dynamic release build and with the static
# PIE that `cargo build-static` makes (see .cargo/config.toml; skipped where that target is
# not the host).
#
# The same run also measures the release binary of BASELINE_REV (default b3dbbee, the code
# issues 10 and 12 measured at "1.9 ms" on their machine), built once into
# target/bench-baseline/: the absolute figure depends on the machine (that binary takes
# 2.5-2.7 ms here), the comparison in one run does not.
#
# The fast commands run in ROUNDS rounds (each round runs every command RUNS/ROUNDS times,
# one after the other), and each command's median is over all its runs: load that comes
# and goes (a build, a neighbour VM) then weighs on every command alike instead of on
# whichever ran during it.
#
# Usage: benches/exec/run.sh            (from the repository root)
# Env:   SECRETS_BIN  use this binary instead of building target/release/secrets
#        SECRETS_STATIC_BIN  use this static build instead of running `cargo build-static`
#        DOTENVX      use this dotenvx instead of installing it under /tmp/dotenvx
#        RUNS         runs of `true` and `secrets exec` (default 300)
#        ROUNDS       rounds the RUNS are spread over (default 10)
#        BASELINE_REV commit whose binary is measured alongside (default b3dbbee; "none" skips)
#        DX_RUNS      runs of each dotenvx command (default 30; it takes 0.6-2.5 s a run)
# Needs: hyperfine (apt-get install -y hyperfine) or falls back to a timing loop; node+npm
#        for dotenvx (skipped with a notice when absent); python3 for the summary.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
runs=${RUNS:-300}
rounds=${ROUNDS:-10}
dx_runs=${DX_RUNS:-30}
baseline_rev=${BASELINE_REV:-b3dbbee}

if [[ -z "${SECRETS_BIN:-}" ]]; then
  (cd "$root" && cargo build --release --quiet --bin secrets)
  SECRETS_BIN="${CARGO_TARGET_DIR:-$root/target}/release/secrets"
fi
if [[ -z "${SECRETS_STATIC_BIN:-}" && "$(rustc -vV | sed -n 's/^host: //p')" == x86_64-unknown-linux-gnu ]]; then
  (cd "$root" && cargo build-static --quiet)
  SECRETS_STATIC_BIN="${CARGO_TARGET_DIR:-$root/target}/x86_64-unknown-linux-gnu/release/secrets"
fi

# Given paths may be relative to where the script was started; it runs in a temp dir.
SECRETS_BIN=$(realpath "$SECRETS_BIN")
[[ -n "${SECRETS_STATIC_BIN:-}" ]] && SECRETS_STATIC_BIN=$(realpath "$SECRETS_STATIC_BIN")

baseline_bin=
if [[ "$baseline_rev" != none ]]; then
  if commit=$(cd "$root" && git rev-parse --verify --quiet "$baseline_rev^{commit}"); then
    bdir="${CARGO_TARGET_DIR:-$root/target}/bench-baseline/$commit"
    if [[ ! -x "$bdir/secrets" ]]; then
      rm -rf "$bdir/src" && mkdir -p "$bdir"
      (cd "$root" && git worktree add --quiet --detach "$bdir/src" "$commit")
      (cd "$bdir/src" && CARGO_TARGET_DIR="$bdir/target" cargo build --release --quiet --bin secrets)
      cp "$bdir/target/release/secrets" "$bdir/secrets"
      (cd "$root" && git worktree remove --force "$bdir/src") && rm -rf "$bdir/target"
    fi
    baseline_bin="$bdir/secrets"
  else
    echo "note: commit $baseline_rev not in this clone (shallow?): baseline not measured" >&2
  fi
fi

if [[ -z "${DOTENVX:-}" ]]; then
  if command -v npm >/dev/null; then
    if [[ ! -x /tmp/dotenvx/node_modules/.bin/dotenvx ]]; then
      mkdir -p /tmp/dotenvx
      (cd /tmp/dotenvx && npm install --silent --no-audit --no-fund @dotenvx/dotenvx >/dev/null)
    fi
    DOTENVX=/tmp/dotenvx/node_modules/.bin/dotenvx
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# Every binary runs from a copy written now. How long a file has sat in the page cache
# changes how many page faults its start takes: on this VM the same bytes started
# 0.3-0.5 ms faster from a fresh copy than from one written an hour earlier, which had
# favoured whichever binary was built last.
mkdir bin
cp "$SECRETS_BIN" bin/secrets && SECRETS_BIN="$work/bin/secrets"
if [[ -n "${SECRETS_STATIC_BIN:-}" ]]; then
  cp "$SECRETS_STATIC_BIN" bin/secrets-static && SECRETS_STATIC_BIN="$work/bin/secrets-static"
fi
if [[ -n "$baseline_bin" ]]; then
  cp "$baseline_bin" bin/secrets-baseline && baseline_bin="$work/bin/secrets-baseline"
fi
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config"
mkdir -p "$XDG_CONFIG_HOME"
unset SOPS_AGE_KEY SOPS_AGE_KEY_FILE SECRETS_AGE_KEY_FILE

"$SECRETS_BIN" keygen -o key.txt 2>/dev/null
export SOPS_AGE_KEY_FILE="$work/key.txt"
public=$(sed -n 's/^# public key: //p' key.txt)

# 50 values: 40 top-level keys and 2 nested maps of 5, as YAML (for secrets) and the same
# flattened names and values as .env (for dotenvx).
: > values.yaml; : > .env
for i in $(seq 1 40); do
  v="value-$i-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  echo "key_$i: $v" >> values.yaml
  echo "KEY_$i=$v" >> .env
done
for m in database cache; do
  echo "$m:" >> values.yaml
  for f in host port user password name; do
    v="$m-$f-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    echo "  $f: $v" >> values.yaml
    echo "${m^^}_${f^^}=$v" >> .env
  done
done
"$SECRETS_BIN" encrypt --age "$public" values.yaml > secrets.yaml
count=$("$SECRETS_BIN" exec -f secrets.yaml -- env | grep -c -E '^(KEY_|DATABASE_|CACHE_)')
[[ "$count" == 50 ]] || { echo "expected 50 variables, got $count" >&2; exit 1; }

# A team config (in team/, so the first variant has none) whose production environment is
# a copy of that file, with a 30-rule schema: 20 rules on the file's keys (required,
# min_length, pattern, forbid), 10 on keys it lacks, and the built-in production list.
mkdir team
cp secrets.yaml team/
{
  echo "members:"
  echo "  bench: $public"
  echo "environments:"
  echo "  prod:"
  echo "    production: true"
  echo "    files: [secrets.yaml]"
  echo "    members: [bench]"
  echo "schema:"
  for i in $(seq 1 20); do
    echo "  KEY_$i: {required: true, min_length: 8, pattern: '^value-', forbid: ['changeme', 'django-insecure-*']}"
  done
  for i in $(seq 1 10); do
    echo "  OPTIONAL_$i: {min_length: 32, max_age: 90d}"
  done
} > team/.secrets.yaml
"$SECRETS_BIN" exec -f team/secrets.yaml -- "$(command -v true)"

# The team's directory is also a git repository with both files committed, as a team's
# would be: `exec --env` there checks that git does not ignore the environment's files.
# Everything runs from inside it (hyperfine cannot change directory per command); the
# plain file is ../secrets.yaml, above the config.
in_repo=
if command -v git >/dev/null; then
  (cd team && git init -q && git add -A &&
     git -c user.name=bench -c user.email=bench@localhost commit -q -m bench) && in_repo=1
else
  echo "note: git not found; exec --env in a repository not measured" >&2
fi
cp .env team/.env.dotenvx
cd team

true_bin=$(command -v true)
cmds=("$true_bin" "$SECRETS_BIN exec -f ../secrets.yaml -- $true_bin" "$SECRETS_BIN exec -f secrets.yaml -- $true_bin")
names=("true" "secrets exec" "secrets exec, 30-rule schema checked")
if [[ -n "$in_repo" ]]; then
  cmds+=("$SECRETS_BIN exec --env prod -- $true_bin")
  names+=("secrets exec --env prod, schema, in the git repository")
fi
if [[ -n "$baseline_bin" ]]; then
  cmds+=("$baseline_bin exec -f ../secrets.yaml -- $true_bin")
  names+=("secrets exec at $baseline_rev (the issues' baseline)")
fi
if [[ -n "${SECRETS_STATIC_BIN:-}" ]]; then
  cmds+=("$SECRETS_STATIC_BIN exec -f ../secrets.yaml -- $true_bin" "$SECRETS_STATIC_BIN exec -f secrets.yaml -- $true_bin")
  names+=("secrets exec (static PIE)" "secrets exec, schema (static PIE)")
  if [[ -n "$in_repo" ]]; then
    cmds+=("$SECRETS_STATIC_BIN exec --env prod -- $true_bin")
    names+=("secrets exec --env prod, schema, in the git repository (static PIE)")
  fi
fi
fast=${#cmds[@]}
if [[ -n "${DOTENVX:-}" ]]; then
  cp .env.dotenvx plain.env
  cmds+=("$DOTENVX run -q -f plain.env -- $true_bin")
  names+=("dotenvx run")
  # dotenvx's own encryption, the closer equivalent of an encrypted file.
  cp .env.dotenvx enc.env
  "$DOTENVX" encrypt -f enc.env >/dev/null 2>&1 && {
    cmds+=("$DOTENVX run -q -f enc.env -- $true_bin")
    names+=("dotenvx run (encrypted .env)")
  }
else
  echo "note: npm not found; dotenvx not measured" >&2
fi

if command -v hyperfine >/dev/null; then
  files=()
  for round in $(seq 1 "$rounds"); do
    hyperfine -N --warmup 10 --runs "$(( (runs + rounds - 1) / rounds ))" \
      --export-json "fast-$round.json" "${cmds[@]:0:fast}" > /dev/null
    files+=("fast-$round.json")
  done
  if (( ${#cmds[@]} > fast )); then
    hyperfine -N --warmup 2 --runs "$dx_runs" --export-json slow.json "${cmds[@]:fast}" >&2
    files+=(slow.json)
  fi
  python3 - "${files[@]}" -- "${names[@]}" <<'PY'
import json, sys
sep = sys.argv.index("--")
files, names = sys.argv[1:sep], sys.argv[sep + 1:]
import statistics
# The rounds of the fast commands: each command's runs from every round, pooled.
pooled = {}
for f in files:
    for r in json.load(open(f))["results"]:
        pooled.setdefault(r["command"], []).extend(r["times"])
times = list(pooled.values())
med = [statistics.median(t) * 1000 for t in times]
runs = [len(t) for t in times]
base = med[0]
sec = med[1] - base
# The issues' figures are relative to the baseline's overhead, measured in the same run.
bl = next((m - base for n, m in zip(names, med) if "baseline" in n), None)
print("| command | runs | median | overhead over `true` | overhead / secrets exec's | overhead / baseline's |")
print("|---|---|---|---|---|---|")
for n, k, m in zip(names, runs, med):
    over = m - base
    ratio = "" if n == "true" else "1x" if n == "secrets exec" else f"{over / sec:.1f}x"
    to_bl = "" if n == "true" or bl is None else f"{over / bl:.2f}"
    print(f"| `{n}` | {k} | {m:.2f} ms | {over:.2f} ms | {ratio} | {to_bl} |")
PY
else
  echo "hyperfine not found: timing loop (${runs} runs each)" >&2
  for idx in "${!cmds[@]}"; do
    r=$runs; (( idx >= fast )) && r=$dx_runs
    python3 - "${names[$idx]}" "$r" ${cmds[$idx]} <<'PY'
import subprocess, sys, time, statistics
name, runs, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
ts = []
for _ in range(runs):
    t = time.perf_counter(); subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); ts.append(time.perf_counter() - t)
print(f"| `{name}` | {statistics.median(ts)*1000:.2f} ms median |")
PY
  done
fi
