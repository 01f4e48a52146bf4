#!/usr/bin/env bash
# Long lines (issue 10, cases 5 and 6): time of `secrets scan` and gitleaks in the same run
# on one-line files, and of 1,000 path globs in .secrets-scan.
#
#   benches/scan/setup.sh          # once: gitleaks under /tmp/scanbench, our release build
#   benches/scan/longlines.sh
#
# The files are generated here (in a temp dir, never committed), one line each: a JSON
# object of key/value pairs of 0.1, 0.3, 1, 3 and 10 MB, where one value in 8 is a random
# 32-character token under an `api_token_N` key and one in 64 a random AWS key ID, the rest
# plain settings; plus the real 5.9 MB one-line test-vector file of hpke 0.12
# (`test-vectors-5f503c5.json`; hpke is a dependency of age, so the file is in cargo's
# registry once this project is built). Each tool gets $RUNS runs per file (default 3);
# the table shows the best wall time and the best CPU time (user + sys, from getrusage: on
# a loaded machine wall time mostly measures the wait for a core).
#
# Targets: linear (the 10 MB file within 10x the 1 MB file's time) and at least gitleaks's
# speed on every file. BEFORE=/path/to/an/older/secrets adds its wall time as a column (one
# run, stopped after $LIMIT s, default 120), for before/after figures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bench=${BENCH_DIR:-/tmp/scanbench}
secrets=${SECRETS_BIN:-$root/target/release/secrets}
gitleaks=$bench/bin/gitleaks
[ -x "$gitleaks" ] || { echo "no $gitleaks: run benches/scan/setup.sh first" >&2; exit 2; }
[ -x "$secrets" ] || { echo "no $secrets: cargo build --release" >&2; exit 2; }
hpke=$(cd "$root" && cargo metadata --format-version 1 2>/dev/null | python3 -c '
import json, sys, os
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "hpke" and p["version"].startswith("0.12."):
        print(os.path.join(os.path.dirname(p["manifest_path"]), "test-vectors-5f503c5.json"))
        break' || true)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

SECRETS=$secrets GITLEAKS=$gitleaks HPKE=$hpke WORK=$work BEFORE=${BEFORE:-} \
    RUNS=${RUNS:-3} LIMIT=${LIMIT:-120} python3 - <<'EOF'
import json, os, random, resource, shutil, subprocess, sys, time
env = os.environ
work, runs, limit = env["WORK"], int(env["RUNS"]), float(env["LIMIT"])
B62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

files = []
for mb in ("0.1", "0.3", "1", "3", "10"):
    rnd = random.Random(int(float(mb) * 10))
    parts, n, i = [], 1, 0
    while n < float(mb) * 1e6:
        if i % 64 == 1:
            p = '"aws_key_%d": "AKIA%s"' % (i, "".join(rnd.choice(B32) for _ in range(16)))
        elif i % 8 == 0:
            p = '"api_token_%d": "%s"' % (i, "".join(rnd.choice(B62) for _ in range(32)))
        else:
            p = '"setting_%d": "value %d"' % (i, i)
        parts.append(p)
        n += len(p) + 2
        i += 1
    name = f"kv-{mb}MB.json"
    with open(f"{work}/{name}", "w") as f:
        f.write("{" + ", ".join(parts) + "}\n")
    files.append(name)
if env["HPKE"] and os.path.isfile(env["HPKE"]):
    shutil.copy(env["HPKE"], f"{work}/hpke-test-vectors.json")
    files.append("hpke-test-vectors.json")
for f in files:
    open(f"{work}/{f}", "rb").read()  # page cache warm

def run(cmd, cwd=work):
    """(wall s, cpu s) of one run, or None when stopped after LIMIT s."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=cwd, stdout=open(f"{work}/out", "wb"),
                           stderr=subprocess.PIPE, timeout=limit)
    except subprocess.TimeoutExpired:
        return None
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode > 1:
        sys.exit(f"{cmd} failed (exit {p.returncode}): {p.stderr.decode()[-300:]}")
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)

def best(cmd, n=runs):
    got = [run(cmd) for _ in range(n)]
    if None in got:
        return None
    return min(g[0] for g in got), min(g[1] for g in got)

def count(path):
    with open(path) as f:
        return len(json.load(f))

gl = env["GITLEAKS"]
version = subprocess.run([gl, "version"], capture_output=True, text=True).stdout.strip()
print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; gitleaks {version}; "
      f"best of {runs} runs; {time.strftime('%Y-%m-%d')}\n")
cols = "| file | MB | secrets wall s | CPU s | MB/s (wall) | findings | gitleaks wall s | CPU s | findings | secrets faster (wall) |"
sep = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
if env["BEFORE"]:
    cols += " before: wall s |"
    sep += "---:|"
print(cols)
print(sep)
ours = {}
for f in files:
    mb = os.path.getsize(f"{work}/{f}") / 1e6
    s_wall, s_cpu = best([env["SECRETS"], "scan", "--no-known", "--format", "json", f])
    s_n = count(f"{work}/out")
    g = best([gl, "dir", "--no-banner", "--log-level", "error", "--redact", "-f", "json",
              "-r", f"{work}/gitleaks.json", f])
    g_n = count(f"{work}/gitleaks.json") if g else "-"
    ours[f] = (s_wall, s_cpu)
    g_txt = f"{g[0]:.2f} | {g[1]:.2f}" if g else f"> {limit:.0f} | -"
    faster = f"{g[0] / s_wall:.1f}x" if g else "-"
    row = (f"| {f} | {mb:.2f} | {s_wall:.2f} | {s_cpu:.2f} | {mb / s_wall:.0f} | {s_n} | "
           f"{g_txt} | {g_n} | {faster} |")
    if env["BEFORE"]:
        b = best([env["BEFORE"], "scan", "--no-known", "--format", "json", f], n=1)
        row += f" {b[0]:.2f} |" if b else f" > {limit:.0f} |"
    print(row, flush=True)
w = ours["kv-10MB.json"][0] / ours["kv-1MB.json"][0]
c = ours["kv-10MB.json"][1] / ours["kv-1MB.json"][1]
print(f"\n10 MB / 1 MB: {w:.1f}x wall, {c:.1f}x CPU, for 10x the bytes (linear: <= 10x)")

# 1,000 path globs in .secrets-scan over 100 small files.
d = f"{work}/globs"
os.mkdir(d)
with open(f"{d}/.secrets-scan", "w") as f:
    f.writelines(f"path: vendor/dir{i}/**/*.snap\n" for i in range(1000))
for i in range(100):
    with open(f"{d}/file{i}.txt", "w") as f:
        f.write(f"setting_{i} = value {i}\n")
print("\n| 1,000 path globs in .secrets-scan, 100 files | wall s | CPU s |\n|---|---:|---:|")
for name, exe, n in [("secrets", env["SECRETS"], runs), ("before", env["BEFORE"], 1)]:
    if not exe:
        continue
    got = [run([exe, "scan", "--no-known"], cwd=d) for _ in range(n)]
    if None in got:
        print(f"| {name} | > {limit:.0f} | - |")
    else:
        print(f"| {name} | {min(g[0] for g in got):.2f} | {min(g[1] for g in got):.2f} |")
EOF
