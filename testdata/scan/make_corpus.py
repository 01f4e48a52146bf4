#!/usr/bin/env python3
"""Writes the labeled leak-scanner corpus under testdata/scan/corpus/.

Every "secret" here is synthetic: random characters of the right shape from a fixed seed,
never a real credential. Re-running the script rewrites the same files byte for byte.

  corpus/secrets/*   files that hold secrets; each secret's line is listed in labels.tsv
  corpus/traps/*     files where no line may fire (UUIDs, hashes, placeholders, ciphertext…)
  corpus/labels.tsv  path<TAB>line<TAB>kind, one row per secret (PEM blocks: the BEGIN line)
"""
import base64
import os
import random
import string
import textwrap

R = random.Random(20240605)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")
AZ = string.ascii_uppercase
az = string.ascii_lowercase
D = string.digits
AN = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64 = AN + "+/"
URLSAFE = AN + "-_"


# Cases added after the first corpus draw from their own generator, so adding one does not
# reshuffle every file that came before.
R2 = random.Random(20261201)
R3 = random.Random(20261207)


def rs(alphabet, n):
    return "".join(R.choice(alphabet) for _ in range(n))


def rs2(alphabet, n):
    return "".join(R2.choice(alphabet) for _ in range(n))


def rs3(alphabet, n):
    return "".join(R3.choice(alphabet) for _ in range(n))


def pem_body(lines=8):
    return "\n".join(rs(B64, 64) for _ in range(lines)) + "\n" + rs(B64, 40) + "=="


def jwt():
    head = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
    body = base64.urlsafe_b64encode(
        ('{"sub":"%s","name":"%s","iat":%d}' % (rs(D, 10), rs(az, 8), R.randint(10**9, 2 * 10**9))).encode()
    ).decode().rstrip("=")
    return f"{head}.{body}.{rs(URLSAFE, 43)}"


def pw():
    # A password a person might pick: letters, digits and a symbol, 12-20 chars.
    return rs(AN, R.randint(8, 14)) + R.choice("!@#%^&*-_") + rs(AN, R.randint(3, 6))


# kind -> (file name, template lines); "{S}" marks the line with the secret; each template
# gets fresh secrets from its generator for every {S}.
def secret_files():
    f = {}
    f["aws-access-key-id"] = ("aws_config.ini", ["[default]", "aws_access_key_id = {S}", "region = eu-west-1"],
                              lambda: "AKIA" + rs(AZ + "234567", 16))
    f["aws-secret-access-key"] = ("aws_credentials", ["[prod]", "aws_secret_access_key = {S}", "output = json"],
                                  lambda: rs(AN + "/+", 40))
    f["github-pat"] = ("deploy.sh", ["#!/bin/sh", 'export GH_TOKEN="{S}"', 'gh release create "$TAG"'],
                       lambda: "ghp_" + rs(AN, 36))
    f["github-oauth"] = ("gh_hosts.yml", ["github.com:", "    oauth_token: {S}", "    user: octo"],
                         lambda: "gho_" + rs(AN, 36))
    f["github-fine-grained-pat"] = ("ci.env", ["CI=true", "GITHUB_PAT={S}"],
                                    lambda: "github_pat_" + rs(AN, 22) + "_" + rs(AN, 59))
    f["gitlab-pat"] = ("gitlab.py", ["import gitlab", 'gl = gitlab.Gitlab("https://gitlab.example.org", private_token="{S}")'],
                       lambda: "glpat-" + rs(URLSAFE, 20))
    f["slack-bot-token"] = ("slack.js", ["const { App } = require('@slack/bolt');", "const app = new App({ token: '{S}' });"],
                            lambda: "xoxb-" + rs(D, 12) + "-" + rs(D, 13) + "-" + rs(AN, 24))
    f["slack-webhook"] = ("notify.py", ["import requests", 'HOOK = "{S}"', "requests.post(HOOK, json={'text': 'hi'})"],
                          lambda: "https://hooks.slack.com/services/T" + rs(AZ + D, 8) + "/B" + rs(AZ + D, 10) + "/" + rs(AN, 24))
    f["stripe-secret-key"] = ("billing.rb", ["require 'stripe'", "Stripe.api_key = '{S}'"],
                              lambda: "sk_live_" + rs(AN, 24))
    f["google-api-key"] = ("maps.html", ['<script src="https://maps.googleapis.com/maps/api/js?key={S}"></script>'],
                           lambda: "AIza" + rs(URLSAFE, 35))
    f["gcp-service-account"] = ("sa.json", ["{", '  "type": "service_account",', '  "project_id": "demo-123",',
                                            '  "private_key": "-----BEGIN PRIVATE KEY-----\\n{S}\\n-----END PRIVATE KEY-----\\n",',
                                            '  "client_email": "demo@demo-123.iam.gserviceaccount.com"', "}"],
                                lambda: "\\n".join(rs(B64, 64) for _ in range(4)))
    f["azure-storage-key"] = ("appsettings.json", ["{", '  "Storage": "DefaultEndpointsProtocol=https;AccountName=demo;AccountKey={S};EndpointSuffix=core.windows.net"', "}"],
                              lambda: rs(B64, 86) + "==")
    f["azure-ad-client-secret"] = ("azure.tf", ['resource "x" "y" {', '  client_secret = "{S}"', "}"],
                                   lambda: rs(AN, 3) + R.choice(D) + "Q~" + rs(AN + "_~.-", 34))
    f["openai-api-key"] = ("llm.py", ["import openai", 'openai.api_key = "{S}"'],
                           lambda: "sk-proj-" + rs(URLSAFE, 40) + "T3BlbkFJ" + rs(URLSAFE, 40))
    f["anthropic-api-key"] = ("claude.ts", ["import Anthropic from '@anthropic-ai/sdk';", "const client = new Anthropic({ apiKey: '{S}' });"],
                              lambda: "sk-ant-api03-" + rs(URLSAFE, 93) + "AA")
    f["npm-token"] = (".npmrc", ["registry=https://registry.npmjs.org/", "//registry.npmjs.org/:_authToken={S}"],
                      lambda: "npm_" + rs(AN, 36))
    f["pypi-token"] = (".pypirc", ["[pypi]", "username = __token__", "password = {S}"],
                       lambda: "pypi-AgEIcHlwaS5vcmc" + rs(URLSAFE, 60))
    f["twilio-api-key"] = ("twilio.go", ["package main", 'const twilioKey = "{S}"'],
                           lambda: "SK" + rs(HEX, 32))
    f["sendgrid-api-key"] = ("mail.php", ["<?php", "$sg = new \\SendGrid('{S}');"],
                             lambda: "SG." + rs(URLSAFE, 22) + "." + rs(URLSAFE, 43))
    f["private-key-rsa"] = ("id_rsa", ["-----BEGIN RSA PRIVATE KEY-----{S}", "-----END RSA PRIVATE KEY-----"],
                            lambda: "\n" + pem_body())
    f["private-key-openssh"] = ("id_ed25519", ["-----BEGIN OPENSSH PRIVATE KEY-----{S}", "-----END OPENSSH PRIVATE KEY-----"],
                                lambda: "\n" + pem_body(5))
    f["private-key-ec"] = ("server.key", ["-----BEGIN EC PRIVATE KEY-----{S}", "-----END EC PRIVATE KEY-----"],
                           lambda: "\n" + pem_body(3))
    f["pgp-private-key"] = ("secring.asc", ["-----BEGIN PGP PRIVATE KEY BLOCK-----{S}", "-----END PGP PRIVATE KEY BLOCK-----"],
                            lambda: "\n\n" + pem_body(6))
    f["jwt"] = ("session.http", ["GET /api/me HTTP/1.1", "Host: api.internal", "Cookie: session={S}"],
                jwt)
    f["url-password-postgres"] = ("database.yml", ["production:", "  url: {S}", "  pool: 5"],
                                  lambda: f"postgres://app:{pw()}@db.internal:5432/app")
    f["url-password-mongodb"] = ("mongo.env", ["MONGO_URL={S}"],
                                 lambda: f"mongodb+srv://admin:{rs(AN, 16)}@cluster0.mongodb.net/prod")
    f["url-password-redis"] = ("cache.conf", ["cache_url = {S}"],
                               lambda: f"redis://:{rs(AN, 20)}@redis.internal:6379/0")
    f["url-password-mysql"] = ("settings.py", ['DATABASE_URL = "{S}"'],
                               lambda: f"mysql://root:{pw()}@127.0.0.1:3306/shop")
    f["url-password-amqp"] = ("worker.properties", ["broker.url={S}"],
                              lambda: f"amqp://guest2:{rs(AN, 14)}@mq.internal:5672/vhost")
    f["url-password-https"] = ("fetch.sh", ["curl -s {S}"],
                               lambda: f"https://deploy:{rs(AN, 18)}@artifacts.internal/repo.tar.gz")
    f["dotenv-password"] = (".env", ["APP_ENV=production", "DB_HOST=db.internal", "DB_PASSWORD={S}", "DB_USER=app"],
                            pw)
    f["yaml-password"] = ("values.yaml", ["postgresql:", "  auth:", "    username: app", "    password: {S}"],
                          pw)
    f["json-secret"] = ("config.json", ["{", '  "client_id": "web",', '  "client_secret": "{S}"', "}"],
                        lambda: rs(AN, 32))
    f["ini-password"] = ("my.cnf", ["[client]", "user = backup", "password = {S}"],
                         pw)
    f["properties-password"] = ("application.properties", ["spring.datasource.username=app", "spring.datasource.password={S}"],
                                pw)
    f["code-api-key"] = ("client.go", ["package client", "", 'const apiKey = "{S}"'],
                         lambda: rs(HEX, 40))
    f["docker-auths"] = ("docker_config.json", ["{", '  "auths": {', '    "registry.internal": {', '      "auth": "{S}"', "    }", "  }", "}"],
                         lambda: base64.b64encode(f"ci:{rs(AN, 20)}".encode()).decode())
    f["netrc"] = (".netrc", ["machine api.internal login deploy password {S}"],
                  lambda: rs(AN, 20))
    f["k8s-secret-data"] = ("secret.yaml", ["apiVersion: v1", "kind: Secret", "metadata:", "  name: db", "type: Opaque", "data:",
                                            "  DB_PASSWORD: {S}"],
                            lambda: base64.b64encode(pw().encode()).decode())
    f["age-secret-key"] = ("keys.txt", ["# created: 2024-06-01T10:00:00Z", "# public key: age1" + rs("qpzry9x8gf2tvdw0s3jn54khce6mua7l", 58), "{S}"],
                           lambda: "AGE-SECRET-KEY-1" + rs("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58))
    f["shopify-token"] = ("shop.rb", ["ShopifyAPI::Context.setup(api_key: 'k', access_token: '{S}')"],
                          lambda: "shpat_" + rs(HEX, 32))
    f["digitalocean-token"] = ("do.tf", ['provider "digitalocean" {', '  token = "{S}"', "}"],
                               lambda: "dop_v1_" + rs(HEX, 64))
    f["vault-token"] = ("vault.env", ["VAULT_ADDR=https://vault.internal", "VAULT_TOKEN={S}"],
                        lambda: "hvs." + rs(URLSAFE, 91))
    f["telegram-bot-token"] = ("bot.py", ['bot = Bot(token="{S}")'],
                               lambda: rs(D, 10) + ":AA" + rs(URLSAFE, 33))
    f["discord-webhook"] = ("hooks.txt", ["{S}"],
                            lambda: "https://discord.com/api/webhooks/" + rs(D, 19) + "/" + rs(URLSAFE, 68))
    f["huggingface-token"] = ("hf.sh", ["huggingface-cli login --token {S}"],
                              lambda: "hf_" + rs(string.ascii_letters, 34))
    f["mailgun-key"] = ("mailgun.py", ['MAILGUN_API_KEY = "{S}"'],
                        lambda: "key-" + rs(HEX, 32))
    f["databricks-token"] = ("databricks.cfg", ["[DEFAULT]", "host = https://x.cloud.databricks.com", "token = {S}"],
                             lambda: "dapi" + rs(HEX, 32))
    f["bearer-token"] = ("request.http", ["POST /v1/jobs HTTP/1.1", "Authorization: Bearer {S}"],
                         lambda: rs(URLSAFE, 40))
    f["grafana-service-account"] = ("grafana.env", ["GF_TOKEN={S}"],
                                    lambda: "glsa_" + rs(AN, 32) + "_" + rs(HEX, 8))
    f.update(audit_secret_files())
    return f


# Gaps an audit found (see the scanner's git history for each fix).
def audit_secret_files():
    f = {}
    f["url-password-host-prefix"] = ("compose.env", ["DATABASE_URL={S}"],
                                     lambda: f"postgres://app:{rs2(AN, 12)}@hostdb01.corp:5432/app")
    f["url-password-dollar"] = ("worker.env", ["BROKER_URL={S}"],
                                lambda: f"amqp://svc:{rs2(AN, 8)}${rs2(AN, 6)}@host.docker.internal:5672/")
    f["generic-encryption-key"] = ("app.env", ["APP_ENV=prod", "ENCRYPTION_KEY={S}"], lambda: rs2(AN, 32))
    f["generic-signing-key"] = ("jwt.env", ["SIGNING_KEY={S}"], lambda: rs2(AN, 24))
    f["auth-assignment"] = ("proxy.env", ["AUTH={S}"], lambda: rs2(AN, 20))
    f["azure-storage-key-by-name"] = ("azure.env", ["AZURE_STORAGE_KEY={S}"], lambda: rs2(B64, 86) + "==")
    f["maven-settings-password"] = ("settings.xml", ["<server>", "  <id>internal</id>", "  <username>deploy</username>",
                                                     "  <password>{S}</password>", "</server>"], lambda: pw2())
    f["web-config-password"] = ("web.config", ["<appSettings>", '  <add key="DbPassword" value="{S}"/>', "</appSettings>"],
                                lambda: pw2())
    f["gitlab-pat-routable"] = ("gitlab.env", ["GITLAB_TOKEN={S}"],
                                lambda: "glpat-" + rs2(URLSAFE, 27) + ".01." + rs2(HEX, 9))
    f["basic-auth-header"] = ("request2.http", ["GET /api HTTP/1.1", "Authorization: Basic {S}"],
                              lambda: base64.b64encode(f"deploy:{rs2(AN, 16)}".encode()).decode())
    f["curl-user-password"] = ("fetch2.sh", ["curl -u admin:{S} https://ci.internal/api/json"], lambda: rs2(AN, 16))
    f["mysql-password-flag"] = ("backup.sh", ["mysqldump -h db.internal -u root -p{S} shop > shop.sql"], lambda: rs2(AN, 16))
    f["discord-bot-token"] = ("bot.js", ["const { Client } = require('discord.js');", "client.login('{S}');"],
                              discord_token)
    return f


def discord_token():
    # base64 of an 18- or 19-digit user id, base64url of a 4-byte timestamp, the HMAC.
    user_id = base64.b64encode(str(R3.randint(10**17, 2 * 10**18)).encode()).decode().rstrip("=")
    return f"{user_id}.{rs3(URLSAFE, 6)}.{rs3(URLSAFE, 38)}"


def pw2():
    return rs2(AN, R2.randint(8, 14)) + R2.choice("!@#%^&*-_") + rs2(AN, R2.randint(3, 6))


def audit_traps():
    return [
        "DATABASE_URL=mysql://app:${DB_PASS}@hostdb01.corp/app",
        "BROKER_URL=amqp://svc:{password}@host.docker.internal:5672/",
        "REDIS_URL=redis://:$REDIS_PASSWORD@hostdb01.corp:6379",
        # Lower case: a password of three kinds of character counts as chosen even at a
        # documentation host.
        f"API=https://user:{rs2(AN, 12).lower()}@api.example.org/",
        'CREDENTIALS = "GOOGLE_APPLICATION_CREDENTIALS"',
        '{"subject_token": "subject_token_0"}',
        "token_key = 'access_token_for_reauth'",
        "client = Client(credentials=target_credentials)",
        "def parse(tokens: ParseResults):",
        '"output_token": "LastEvaluatedTableName",',
        'secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/api_token-x9Yz2Q"',
        "GH_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "PRIMARY_KEY=customer_id",
        "SORT_KEY=created_at",
        "key_id = 7f3e2a1b",
        "<password>${env.MAVEN_PASSWORD}</password>",
        '<add key="PasswordMinLength" value="12"/>',
        "Authorization: Basic dXNlcjpwYXNzd29yZA==",
        "curl -u admin:$ADMIN_PASSWORD https://ci.internal/api",
        "mysql -u root -p shop",
        "oauth=required",
        # Three dotted parts of a Discord token's lengths, the first not base64 of digits.
        f"cache_entry = '{rs3(AN, 24)}.{rs3(URLSAFE, 6)}.{rs3(URLSAFE, 27)}'",
    ]


TRAPS = {
    "ids.txt": lambda: [
        *(f"request_id: {'%08x-%04x-4%03x-%04x-%012x' % (R.getrandbits(32), R.getrandbits(16), R.getrandbits(12), R.getrandbits(16) | 0x8000 & 0xbfff, R.getrandbits(48))}" for _ in range(8)),
        *(f"commit {rs(HEX, 40)}" for _ in range(6)),
        *(f"Merge: {rs(HEX, 7)} {rs(HEX, 7)}" for _ in range(2)),
        *(f"sha256: {rs(HEX, 64)}" for _ in range(4)),
        f"user_id = \"{rs(D, 18)}\"",
        f"trace_id={rs(HEX, 32)}",
    ],
    "package-lock.json": lambda: [
        "{",
        *(f'  "node_modules/pkg{i}": {{ "version": "1.{i}.0", "resolved": "https://registry.npmjs.org/pkg{i}/-/pkg{i}-1.{i}.0.tgz", "integrity": "sha512-{rs(B64, 86)}==" }},' for i in range(8)),
        "}",
    ],
    "Cargo.lock": lambda: [
        *(x for i in range(5) for x in ("[[package]]", f'name = "crate{i}"', f'version = "0.{i}.1"',
                                          'source = "registry+https://github.com/rust-lang/crates.io-index"',
                                          f'checksum = "{rs(HEX, 64)}"', "")),
    ],
    "yarn.lock": lambda: [
        *(f'  integrity sha1-{rs(B64, 27)}=' for _ in range(3)),
        *(f'  resolved "https://registry.yarnpkg.com/a/-/a-1.0.{i}.tgz#{rs(HEX, 40)}"' for i in range(3)),
    ],
    "images.css": lambda: [
        *(f".icon{i} {{ background: url(data:image/png;base64,{rs(B64, 300)}=); }}" for i in range(4)),
        f'<img src="data:image/jpeg;base64,{rs(B64, 400)}" alt="logo">',
    ],
    "app.min.js": lambda: [
        "!function(e,t){var n=function(e){return e.token?e.token.value:null},r={apiKey:e.apiKey,password:t.password,secret:n(e)};"
        "function o(e){var t=e.headers.authorization;return t&&t.split(' ')[1]}var i=o;e.exports={get:n,auth:i,cfg:r}}"
        "(module,{password:void 0});var a=\"" + rs(B64, 120) + "\";",
        "const token=localStorage.getItem('token'),password=form.password.value,secret=process.env.SECRET;",
        "if(password===confirmPassword&&token!==undefined){login(username,password)}",
    ],
    "placeholders.env": lambda: [
        "API_KEY=your-api-key-here",
        "SECRET_KEY=changeme",
        "DB_PASSWORD=",
        "DB_PASSWORD=${DB_PASSWORD}",
        "REDIS_PASSWORD=$REDIS_PASSWORD",
        "STRIPE_KEY=<your-stripe-key>",
        "TOKEN=<token>",
        "GITHUB_TOKEN=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "AWS_SECRET_ACCESS_KEY=XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "PASSWORD=password",
        "PASSWORD=********",
        "API_TOKEN=REPLACE_ME",
        "SLACK_TOKEN=xoxb-your-token",
        "CLIENT_SECRET={{ client_secret }}",
        "SECRET=%(secret)s",
        "AUTH_TOKEN=TODO",
        "password=example",
        "api_key=dummy-key-for-tests",
        "PRIVATE_KEY_PATH=/etc/ssl/private/server.key",
        "TOKEN_URL=https://auth.example.com/oauth/token",
        "PASSWORD_MIN_LENGTH=12",
        "SECRET_NAME=prod-db-credentials",
    ],
    "fixtures.yaml": lambda: [
        "users:",
        "  - name: alice",
        "    password: changeme",
        "  - name: bob",
        "    password: password123",
        "  - name: carol",
        "    password: test",
        "database:",
        "  password: ${DB_PASSWORD}",
        "  password_file: /run/secrets/db_password",
        "  token: \"{{ .Values.token }}\"",
        "  secret: !vault |",
        "  api_key: null",
        "  secretKeyRef:",
        "    name: db-secret",
        "    key: password",
        "  passwordSecretName: db-password",
    ],
    "code.py": lambda: [
        "password = os.environ['DB_PASSWORD']",
        "token = request.headers.get('Authorization')",
        "secret = settings.SECRET_KEY",
        "api_key = get_api_key(user)",
        "if password == confirm_password:",
        "def check_password(password, hashed):",
        "self.token = token",
        "password = getpass.getpass('Password: ')",
        "TOKEN_RE = re.compile(r'^[A-Za-z0-9]{32}$')",
        "secret_len = len(secret)",
        "tokenizer = Tokenizer(vocab)",
        "print(f'token expires at {expiry}')",
        "raise ValueError('invalid password')",
        "password_hash = bcrypt.hashpw(password, salt)",
        "auth_token = None",
        "api_key: str = Field(..., env='API_KEY')",
    ],
    "code.rs": lambda: [
        "let password = std::env::var(\"DB_PASSWORD\")?;",
        "let token = Token::new(TokenKind::Ident, span);",
        "fn secret(&self) -> &SecretString { &self.secret }",
        "pub const TOKEN_LEN: usize = 32;",
        "let api_key = config.api_key.clone();",
        "match token { Token::Eof => break, _ => {} }",
        "assert_eq!(secret.expose_secret(), \"hunter2\");",
        "const PASSWORD_PROMPT: &str = \"Enter password: \";",
    ],
    "docs.md": lambda: [
        "Set `API_KEY` to the key from your dashboard (e.g. `sk_live_...`).",
        "Use a connection string like `postgres://user:password@localhost/db`.",
        "Run `export GITHUB_TOKEN=<your token>` before publishing.",
        "The header looks like `Authorization: Bearer <token>`.",
        "Clone with https://github.com/org/repo.git or git@github.com:org/repo.git.",
        "See https://user@example.com/path and http://localhost:8080/?token=",
        "mongodb://username:password@host:27017",
        "redis://:password@localhost:6379",
        "amqp://guest:guest@localhost:5672/",
        "https://user:pass@example.com/",
        "The secret key must be at least 32 bytes long.",
        "Tokens expire after one hour; rotate your password every 90 days.",
    ],
    "sops.yaml": lambda: [
        "database:",
        *(f"    password: ENC[AES256_GCM,data:{rs(B64, 24)}=,iv:{rs(B64, 43)}=,tag:{rs(B64, 22)}==,type:str]" for _ in range(3)),
        f"    api_key: ENC[AES256_GCM,data:{rs(B64, 44)},iv:{rs(B64, 43)}=,tag:{rs(B64, 22)}==,type:str]",
        "sops:",
        "    age:",
        "        - recipient: age1" + rs("qpzry9x8gf2tvdw0s3jn54khce6mua7l", 58),
        "          enc: |",
        "            -----BEGIN AGE ENCRYPTED FILE-----",
        *("            " + rs(B64, 64) for _ in range(4)),
        "            " + rs(B64, 20) + "==",
        "            -----END AGE ENCRYPTED FILE-----",
        "    lastmodified: \"2024-06-01T10:00:00Z\"",
        f"    mac: ENC[AES256_GCM,data:{rs(B64, 88)}==,iv:{rs(B64, 43)}=,tag:{rs(B64, 22)}==,type:str]",
        "    unencrypted_suffix: _unencrypted",
        "    version: 3.9.0",
    ],
    "sops.env": lambda: [
        f"DB_PASSWORD=ENC[AES256_GCM,data:{rs(B64, 20)},iv:{rs(B64, 43)}=,tag:{rs(B64, 22)}==,type:str]",
        f"API_TOKEN=ENC[AES256_GCM,data:{rs(B64, 40)},iv:{rs(B64, 43)}=,tag:{rs(B64, 22)}==,type:str]",
        f"sops_mac=ENC[AES256_GCM,data:{rs(B64, 88)}==,iv:{rs(B64, 43)}=,tag:{rs(B64, 22)}==,type:str]",
    ],
    "recipients.txt": lambda: [
        *(f"age1{rs('qpzry9x8gf2tvdw0s3jn54khce6mua7l', 58)}" for _ in range(4)),
        f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{rs(B64, 43)} dev@laptop",
        f"public_key: age1{rs('qpzry9x8gf2tvdw0s3jn54khce6mua7l', 58)}",
    ],
    "message.age": lambda: [
        "-----BEGIN AGE ENCRYPTED FILE-----",
        *(rs(B64, 64) for _ in range(6)),
        rs(B64, 30) + "=",
        "-----END AGE ENCRYPTED FILE-----",
    ],
    "pgp.asc": lambda: [
        "-----BEGIN PGP MESSAGE-----",
        "",
        *(rs(B64, 64) for _ in range(5)),
        "=" + rs(B64, 4),
        "-----END PGP MESSAGE-----",
        "-----BEGIN PGP PUBLIC KEY BLOCK-----",
        "",
        *(rs(B64, 64) for _ in range(4)),
        "-----END PGP PUBLIC KEY BLOCK-----",
    ],
    "vault.yml": lambda: [
        "db_password: !vault |",
        "          $ANSIBLE_VAULT;1.1;AES256",
        *("          " + rs(HEX, 80) for _ in range(5)),
        "$ANSIBLE_VAULT;1.1;AES256",
        *(rs(HEX, 80) for _ in range(4)),
    ],
    "certs.pem": lambda: [
        "-----BEGIN CERTIFICATE-----",
        *(rs(B64, 64) for _ in range(5)),
        "-----END CERTIFICATE-----",
        "-----BEGIN PUBLIC KEY-----",
        *(rs(B64, 64) for _ in range(3)),
        "-----END PUBLIC KEY-----",
        'const PEM_HEADER = "-----BEGIN RSA PRIVATE KEY-----";',
        "if line.starts_with(\"-----BEGIN PRIVATE KEY-----\") {",
    ],
    "misc.txt": lambda: [
        f"version = \"{R.randint(1, 9)}.{R.randint(0, 30)}.{R.randint(0, 99)}\"",
        "color: #a3f5c2",
        "font-family: -apple-system, BlinkMacSystemFont, sans-serif",
        f"nonce: {rs(D, 12)}",
        "SK-1234 Ticket about keys",
        "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        "AKIAXXXXXXXXXXXXXXXX",
        "ghp_************************************",
        "eyJhbGciOiJIUzI1NiJ9 (a JWT header alone)",
        "sk_test_" + "x" * 24,
        "password: \"\"",
        "password: '*****'",
        "token: ~",
        "secret: true",
        "secret_key_base: <%= ENV['SECRET_KEY_BASE'] %>",
        f"etag: \"{rs(HEX, 32)}\"",
        f"md5sum {rs(HEX, 32)}  file.tar.gz",
        "passwd: files systemd",
        "password_policy: strong",
        "Authorization: Basic ${BASIC_AUTH}",
        "api_key = os.getenv(\"API_KEY\", \"\")",
        f"image: registry.internal/app@sha256:{rs(HEX, 64)}",
    ],
    "audit.txt": lambda: audit_traps(),
    # A Secret whose data is plain config, judged decoded like any value.
    "k8s-config.yaml": lambda: ["apiVersion: v1", "kind: Secret", "metadata:", "  name: db-config", "data:",
                                "  DB_OPTIONS: " + base64.b64encode(b"sslmode=disable").decode(),
                                "  DB_HOST: " + base64.b64encode(b"db.internal.corp").decode(),
                                "  LOG_LEVEL: " + base64.b64encode(b"info,sqlx=warn").decode()],
}


def main():
    import shutil
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(os.path.join(OUT, "secrets"))
    os.makedirs(os.path.join(OUT, "traps"))
    labels = []
    for kind, (name, template, gen) in secret_files().items():
        d = os.path.join(OUT, "secrets", kind)
        os.makedirs(d)
        path = os.path.join(d, name)
        rel = os.path.relpath(path, OUT)
        lines = []
        # Two copies of the template, each with a fresh secret.
        for copy in range(2):
            for t in template:
                if "{S}" in t:
                    s = gen()
                    labels.append((rel, len(lines) + 1, kind))
                    lines.extend(t.replace("{S}", s).split("\n"))
                else:
                    lines.append(t)
            if copy == 0:
                lines.append("")
        with open(path, "w") as fh:
            fh.write("\n".join(lines) + "\n")
    ntrap = 0
    for name, gen in TRAPS.items():
        lines = gen()
        ntrap += sum(1 for l in lines if l.strip())
        with open(os.path.join(OUT, "traps", name), "w") as fh:
            fh.write("\n".join(lines) + "\n")
    with open(os.path.join(OUT, "labels.tsv"), "w") as fh:
        fh.write("path\tline\tkind\n")
        for rel, line, kind in labels:
            fh.write(f"{rel}\t{line}\t{kind}\n")
    print(f"{len(labels)} secrets of {len(secret_files())} kinds, {ntrap} trap lines")


if __name__ == "__main__":
    main()
