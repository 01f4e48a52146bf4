#!/usr/bin/env bash
# Recall and precision on the peer corpus (labeled fixtures of gitleaks, secretlint,
# detect-secrets and ripsecrets, in ../shared/scan-peer-corpus), for secrets and gitleaks
# 8.30.1 in the same invocation, side by side, by the corpus's own scorer. The corpus is
# read where it lies (the scorer copies it to a temp dir outside any repository); nothing
# of it is copied into this project.
#
#   benches/scan/setup.sh      # once: gitleaks under /tmp/scanbench, our release build
#   benches/scan/peers.sh      # the table; MISSES=N lists N misses per tool
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bench=${BENCH_DIR:-/tmp/scanbench}
corpus=${PEER_CORPUS:-$root/../shared/scan-peer-corpus}
secrets=${SECRETS_BIN:-$root/target/release/secrets}
[ -f "$corpus/score.py" ] || { echo "no peer corpus at $corpus" >&2; exit 2; }
[ -x "$bench/bin/gitleaks" ] || { echo "run benches/scan/setup.sh first (no $bench/bin/gitleaks)" >&2; exit 2; }
echo "secrets $("$secrets" --version | cut -d' ' -f2), gitleaks $("$bench/bin/gitleaks" version)"
python3 "$corpus/score.py" "$secrets" "$bench/bin/gitleaks" --misses "${MISSES:-0}"
