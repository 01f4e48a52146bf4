#!/usr/bin/env bash
# The README quickstart, end to end on the demo data in this directory:
# decrypt, get, set (through stdin), exec, export, status, a fresh encrypt, a round trip
# through the real sops when it is installed, a schema catching a weak prod value and
# `generate` fixing it, and the leak scanner catching a planted token and a plaintext copy
# of an encrypted value.
#
#   cargo build && testdata/demo/run.sh
#
# The debug build: it shares every compiled dependency with `cargo test`, so the README's two
# commands build the dependencies once (SECRETS_BIN picks another binary, e.g. a release one).
#
# Works on a copy in a temp dir: the committed files are never changed. The key used is
# testdata/demo/demo-key.txt, a DEMO key published in this repository.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secrets=${SECRETS_BIN:-$root/target/debug/secrets}
[ -x "$secrets" ] || { echo "build first: cargo build" >&2; exit 2; }

work=$(mktemp -d)
keys=$(mktemp -d)
trap 'rm -rf "$work" "$keys"' EXIT
cp -R "$here/." "$work/"
rm -f "$work/run.sh" "$work/README.md" "$work/demo-key.txt"
# git does not keep file modes: the identity must be private or secrets refuses it.
install -m 600 "$here/demo-key.txt" "$keys/demo-key.txt"
export SECRETS_AGE_KEY_FILE="$keys/demo-key.txt"
unset SOPS_AGE_KEY SOPS_AGE_KEY_FILE
cd "$work"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "status: every encrypted file, its environment, who can read it"
"$secrets" status

step "decrypt config/dev/app.yaml (keys and comments as written)"
"$secrets" decrypt config/dev/app.yaml

step "get one value, sops-style and dotted paths"
"$secrets" get config/prod/app.yaml '["database"]["host"]'
echo
"$secrets" get config/prod/app.yaml database.port
echo

step "set a value through stdin (never argv): only that line changes"
cp config/dev/app.yaml before.yaml
printf 'demo-dev-%s' "$(date +%s)" | "$secrets" set config/dev/app.yaml database.password --value-stdin
changed=$({ diff before.yaml config/dev/app.yaml || true; } | grep -c '^>')
echo "lines changed: $changed (the value, lastmodified and mac)"
{ diff before.yaml config/dev/app.yaml || true; } | grep '^>' | cut -c1-60 | sed 's/$/…/'
rm before.yaml

step "exec: the values as environment variables of a child, nothing on disk"
"$secrets" exec --env dev -- sh -c \
  'echo "DATABASE_HOST=$DATABASE_HOST DJANGO_DEBUG=$DJANGO_DEBUG REDIS_URL=$REDIS_URL (password: ${#DATABASE_PASSWORD} chars)"'

step "export the prod environment as a Kubernetes Secret"
"$secrets" export --env prod --format k8s --name app --namespace web | sed -E 's/(: )"?[A-Za-z0-9+\/=]{16,}"?$/\1<base64…>/'

step "encrypt a new file for the dev environment (recipients from .secrets.yaml)"
printf 'api_token: demo-token-%s\n' "$RANDOM$RANDOM" > config/dev/extra.yaml
"$secrets" encrypt -i config/dev/extra.yaml
grep -c 'ENC\[AES256_GCM' config/dev/extra.yaml | sed 's/^/encrypted values and comments: /'
"$secrets" decrypt config/dev/extra.yaml --extract '["api_token"]' >/dev/null && echo "decrypts again: yes"

if command -v sops >/dev/null; then
  step "the real sops decrypts what we wrote"
  SOPS_AGE_KEY_FILE="$keys/demo-key.txt" SOPS_DISABLE_VERSION_CHECK=1 sops decrypt config/dev/app.yaml | sed -n 1,4p
else
  step "sops not installed: skipping the sops round trip"
fi

step "schema: check catches a weak prod value, exec refuses to start, generate fixes it"
cat >> .secrets.yaml <<'EOF'
schema:
  DJANGO_SECRET_KEY: {required: true, min_length: 50, generate: django}
EOF
set +e
"$secrets" check --env prod
code=$?
# Captured whole, not piped to head: head leaving early would end us by SIGPIPE (141).
refused=$("$secrets" exec --env prod -- sh -c 'echo "this never runs"' 2>&1)
started=$?
set -e
printf '%s\n' "$refused" | sed -n 1p
echo "check exit code: $code (1 = violations); exec exit code: $started (65 = not started)"
[ "$code" = 1 ] && [ "$started" = 65 ]
"$secrets" generate config/prod/app.yaml django.secret_key
"$secrets" check --env prod && echo "check exit code: 0"

step "scan: a planted token and a plaintext copy of an encrypted value are caught (redacted)"
git init -q .
printf 'GITHUB_TOKEN=ghp_%s\n' "$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 36)" > .env.local
printf 'prod db password: %s\n' "$("$secrets" get config/prod/app.yaml database.password)" > notes.txt
set +e
"$secrets" scan
code=$?
set -e
echo "scan exit code: $code (1 = findings)"
[ "$code" = 1 ]

step "demo finished: every step worked"
