#!/usr/bin/env bash
# Recall and precision on the labeled synthetic corpus (testdata/scan/corpus) for
# secrets, gitleaks, ripsecrets and detect-secrets, in the same run.
#
#   benches/scan/setup.sh            # once: installs the other tools under /tmp/scanbench
#   benches/scan/corpus.sh           # prints the markdown table
#
# The corpus is copied outside the repository first, because the repository allowlists it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bench=${BENCH_DIR:-/tmp/scanbench}
secrets=${SECRETS_BIN:-$root/target/release/secrets}
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT; echo "work: $work" >&2
cp -r "$root/testdata/scan/corpus" "$work/corpus"
rm "$work/corpus/labels.tsv"
cd "$work/corpus"

"$secrets" scan --no-known --format json . > "$work/secrets.json" || true
python3 - "$work/secrets.json" > "$work/secrets.tsv" <<'PY'
import json, sys
for f in json.load(open(sys.argv[1])):
    print(f"{f['path']}\t{f['line']}")
PY

"$bench/bin/gitleaks" dir --no-banner --redact -f json -r "$work/gitleaks.json" . >/dev/null 2>&1 || true
python3 - "$work/gitleaks.json" > "$work/gitleaks.tsv" <<'PY'
import json, sys
for f in json.load(open(sys.argv[1])):
    print(f"{f['File']}\t{f['StartLine']}\t{f['EndLine']}")
PY

"$bench/bin/ripsecrets" . > "$work/ripsecrets.txt" 2>/dev/null || true
python3 - "$work/ripsecrets.txt" > "$work/ripsecrets.tsv" <<'PY'
import re, sys
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"^(.*?):(\d+):", line)
    if m:
        print(f"{m.group(1)}\t{m.group(2)}")
PY

"$bench/venv/bin/detect-secrets" scan --all-files . > "$work/ds.json" 2>/dev/null || true
python3 - "$work/ds.json" > "$work/ds.tsv" <<'PY'
import json, sys
for path, items in json.load(open(sys.argv[1]))["results"].items():
    for it in items:
        print(f"{path}\t{it['line_number']}")
PY

python3 "$here/score.py" "$root/testdata/scan/corpus/labels.tsv" \
    "secrets=$work/secrets.tsv" "gitleaks $("$bench/bin/gitleaks" version)=$work/gitleaks.tsv" \
    "ripsecrets=$work/ripsecrets.tsv" "detect-secrets=$work/ds.tsv"
