//! Generic secrets: a value assigned to a name like `password`, `secret`, `token` or
//! `api_key`, in code, YAML, JSON, dotenv, INI or properties files, and the base64 values of a
//! Kubernetes `Secret`. No regex: a keyword hit is parsed by hand (key, operator, value), and
//! the value is judged by its shape and entropy, so `password: changeme` in a fixture,
//! `${DB_PASSWORD}` and `os.environ['X']` stay quiet while `DB_PASSWORD=q8Zr…` fires.

use super::entropy;
use super::rule::Candidate;

pub const ID: &str = "generic-secret";
pub const K8S_ID: &str = "kubernetes-secret-data";

/// Keywords that start a generic check (matched case-insensitively inside a key).
pub const KEYWORDS: &[&str] = &[
    "pass",
    "pwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "api-key",
    "access_key",
    "accesskey",
    "auth_key",
    "private_key",
    "private-key",
    "privatekey",
    "credential",
    "creds",
    // Key names gitleaks also treats as secrets (not `primary_key`, `sort_key`, `key_id`).
    "encryption_key",
    "encryptionkey",
    "signing_key",
    "signingkey",
    "master_key",
    "masterkey",
    "app_key",
    "jwt_key",
];

/// A name whose last word is `key` (`key`, `HEX_KEY`, `stripeKey`) but holds none of the
/// [`KEYWORDS`]: a key of some kind, often not a secret one (`sort_key`, `cache_key`), so its
/// value counts only when it looks generated ([`looks_generated_key`]). Not in [`KEYWORDS`]:
/// `import` does not take every `*_KEY` for a secret.
pub const BARE_KEY: &str = "key";

/// Key names containing these are about a secret, not the secret itself.
const KEY_STOPWORDS: &[&str] = &[
    "file",
    "path",
    "name",
    "url",
    "uri",
    "endpoint",
    "type",
    "length",
    "len",
    "size",
    "count",
    "min",
    "max",
    "policy",
    "prompt",
    "label",
    "hint",
    "field",
    "header",
    "env",
    "regex",
    "pattern",
    "format",
    "expir",
    "ttl",
    "timeout",
    "ref",
    "hash",
    "mode",
    "enable",
    "require",
    "rotat",
    "store",
    "manager",
    "provider",
    "kind",
    "class",
    "dir",
    "reset",
    "confirm",
    "placeholder",
    "descr",
    "input",
    "tokeniz",
    "passthrough",
    "bypass",
    "compass",
    "passive",
    "passage",
    "passenger",
    "_id",
    "-id",
    "version",
    "public",
    "secretary",
    "arn",
    "mount",
    "template",
    "select",
    "valid",
    "check",
    "error",
    "message",
    "schema",
    "usage",
    // Anti-forgery tokens are handed to every browser: not credentials.
    "csrf",
    "xsrf",
];

/// Providers whose tokens have a documented format that a provider rule checks
/// (`telegram-bot-token`, `cisco-meraki`, `npmrc-auth`): under a key naming them, a value not in that
/// format is an id or a test value, and the generic rule leaves the key to those rules.
/// `.npmrc`'s `_authToken` belongs to the npm rules, which know the file's line shapes.
const FORMAT_OWNED_KEYS: &[&str] = &["telegram", "meraki", "_authtoken"];

/// Prefixes of provider tokens whose rules check the whole format (GitHub, GitLab, Slack,
/// Stripe, npm, SettleMint…): a value starting with one is that provider's token or a
/// near miss of it (cut short, a placeholder), judged by the provider rule alone.
const OWNED_PREFIXES: &[&[u8]] = &[
    b"ghp_",
    b"gho_",
    b"ghu_",
    b"ghs_",
    b"ghr_",
    b"glpat-",
    b"xoxb-",
    b"xoxp-",
    b"xoxa-",
    b"xoxo-",
    b"xoxs-",
    b"xoxr-",
    b"xoxe-",
    b"sk_live_",
    b"sk_test_",
    b"rk_live_",
    b"rk_test_",
    b"npm_",
    b"sm_pat_",
    b"sm_aat_",
    b"sm_sat_",
    b"AIza",
    b"cfut_",
    b"cfat_",
    b"cfk_",
];

/// One automaton over [`KEY_STOPWORDS`]: a key is checked in one pass, not once per word
/// (this ran at every keyword hit, and was a sixth of a scan of dense JSON).
fn stopwords() -> &'static aho_corasick::AhoCorasick {
    static AC: std::sync::OnceLock<aho_corasick::AhoCorasick> = std::sync::OnceLock::new();
    AC.get_or_init(|| {
        aho_corasick::AhoCorasick::new(KEY_STOPWORDS).expect("stopwords are plain strings")
    })
}

/// A key name holding one of [`KEY_STOPWORDS`]. A stopword of three letters (`min`, `url`,
/// `len`) counts only where a word of the name starts with it: `admin_password`,
/// `security_token` and `silent_pwd` name secrets, `min_password_length` and `tokenUrl` do
/// not.
fn has_stopword(key: &[u8]) -> bool {
    let lower = key.to_ascii_lowercase();
    stopwords().find_overlapping_iter(&lower).any(|m| {
        let s = m.start();
        m.len() > 3
            || s == 0
            || !lower[s].is_ascii_alphabetic()
            || !key[s - 1].is_ascii_alphabetic()
            || (key[s].is_ascii_uppercase() && key[s - 1].is_ascii_lowercase())
    })
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

/// The keyword that makes a key name a secret's (`DB_PASSWORD`: `pass`, `api_key`:
/// `api_key`), judged as the assignment check judges the keys it finds: none when a
/// stopword says the name is about a secret rather than one (`PASSWORD_RESET_TIMEOUT`,
/// `TOKEN_URL`, `SECRET_FILE`). `secrets import` classifies a file's keys with it.
pub fn secret_name_keyword(key: &str) -> Option<&'static str> {
    if has_stopword(key.as_bytes()) {
        return None;
    }
    keyword_in(&key.as_bytes().to_ascii_lowercase())
}

/// The first of the [`KEYWORDS`] a lower-case key name holds.
fn keyword_in(lower_name: &[u8]) -> Option<&'static str> {
    KEYWORDS
        .iter()
        .copied()
        .find(|k| entropy::contains(lower_name, k.as_bytes()))
}

/// Parses the assignment around a keyword at `ks..ke`. Returns `None` when this is not a
/// key at all, else the end of the key (so other keywords in it are skipped) and maybe a
/// candidate.
pub fn at(
    hay: &[u8],
    ks: usize,
    ke: usize,
    code: bool,
    char_quotes: bool,
) -> Option<(Option<Candidate>, usize)> {
    let mut kstart = ks;
    while kstart > 0 && is_key_byte(hay[kstart - 1]) && ks - kstart < 64 {
        kstart -= 1;
    }
    let mut kend = ke;
    while kend < hay.len() && is_key_byte(hay[kend]) && kend - ke < 64 {
        kend += 1;
    }
    let key = hay[kstart..kend].to_ascii_lowercase();
    if has_stopword(&hay[kstart..kend])
        || is_path_or_code_key(hay, kstart, &key)
        || names_an_id(&hay[kstart..kend])
        || FORMAT_OWNED_KEYS
            .iter()
            .any(|k| entropy::contains(&key, k.as_bytes()))
    {
        return Some((None, kend));
    }
    let bare_key = keyword_in(&key).is_none();
    if bare_key
        && (!last_word_is_key(&hay[kstart..kend])
            || has_data_key_word(&key)
            || names_a_provider(&key))
    {
        return Some((None, kend));
    }
    let password_key = key.windows(4).any(|w| w == b"pass") || entropy::contains(&key, b"pwd");
    let token_key = password_key
        || [&b"token"[..], b"secret", b"api_key", b"apikey", b"api-key"]
            .iter()
            .any(|k| entropy::contains(&key, k));
    let ctx = KeyContext {
        code,
        line_start: at_line_start(hay, kstart),
        password_key,
        token_key,
        char_quotes,
        bare_key,
    };
    // `group:artifact-1.2.3`: a colon right after the group, as a coordinate has it (an
    // assignment to a dotted name has `=` or `: `).
    let coordinate = |c: &Candidate| {
        hay.get(kend) == Some(&b':')
            && c.start == kend + 1
            && is_maven_group(&hay[kstart..kend])
            && is_versioned_name(&hay[c.start..c.end])
    };
    let cand = value_after_key(hay, kend, ctx)
        .or_else(|| literal_compared_before(hay, kstart, char_quotes))
        .filter(|c| !repeats_name(&key, &hay[c.start..c.end]))
        .filter(|c| !coordinate(c));
    Some((cand, kend))
}

/// A value that spells its own key's name (letters and digits alike, case aside), alone or
/// with a file extension: a make target's object file (`git-credential-osxkeychain:
/// git-credential-osxkeychain.o`), a table's label beside its id (`'crc-16-buypass',
/// 'Crc16Buypass'`). Names, not secrets; a secret that starts with its name
/// (`API_TOKEN=api_token_q8Zr`) has more after it.
fn repeats_name(key: &[u8], value: &[u8]) -> bool {
    let norm = |s: &[u8]| -> Vec<u8> {
        s.iter()
            .filter(|b| b.is_ascii_alphanumeric())
            .map(u8::to_ascii_lowercase)
            .collect()
    };
    let key = norm(key);
    let stem = match value.iter().rposition(|&b| b == b'.') {
        Some(dot) if value.len() - dot <= 5 => &value[..dot],
        _ => value,
    };
    key.len() >= 6 && (norm(value) == key || norm(stem) == key)
}

/// A camel-case name ending in `Id`/`ID` (`credentialId`, `tokenID`): an identifier's name.
fn names_an_id(key: &[u8]) -> bool {
    key.len() > 2 && (key.ends_with(b"Id") || key.ends_with(b"ID")) && {
        let before = key[key.len() - 3];
        before.is_ascii_lowercase() || (key.ends_with(b"Id") && before.is_ascii_uppercase())
    }
}

/// What the value parser needs to know about the key it follows.
#[derive(Clone, Copy)]
struct KeyContext {
    /// Program source: a value must be a quoted literal.
    code: bool,
    /// Only blanks (or a YAML list dash) stand between the line's start and the key.
    line_start: bool,
    /// The key names a password (`pass`, `pwd`), where a word-made value is a password
    /// chosen from a dictionary rather than an identifier.
    password_key: bool,
    /// The key names a token, a secret, an API key or a password, whose value may be a
    /// UUID (Heroku, Snyk and npm's legacy tokens are UUIDs).
    token_key: bool,
    /// `'…'` holds a character in this language, not a string.
    char_quotes: bool,
    /// The name only says "key" ([`BARE_KEY`]).
    bare_key: bool,
}

/// `key`, `HEX_KEY`, `dict-key`, `app.key`, `stripeKey`: the name's last word is `key`.
fn last_word_is_key(name: &[u8]) -> bool {
    let n = name.len();
    if n < 3 || !name[n - 3..].eq_ignore_ascii_case(b"key") {
        return false;
    }
    n == 3
        || !name[n - 4].is_ascii_alphanumeric()
        || (name[n - 3] == b'K' && name[n - 4].is_ascii_lowercase())
}

/// Words of a key name for a key into data, not a key to anything: a database's
/// (`primaryKey`, `sort_key`), a cache's, a storage object's, a translation's, a keyboard's.
const DATA_KEY_WORDS: &[&str] = &[
    "primary",
    "foreign",
    "sort",
    "partition",
    "range",
    "unique",
    "composite",
    "cache",
    "idempot",
    "lookup",
    "index",
    "column",
    "object",
    "bucket",
    "s3",
    "route",
    "i18n",
    "transl",
    "message",
    "group",
    "parent",
    "order",
    "hotkey",
    "shortcut",
];

fn has_data_key_word(lower_name: &[u8]) -> bool {
    DATA_KEY_WORDS
        .iter()
        .any(|w| entropy::contains(lower_name, w.as_bytes()))
}

/// A name holding the keyword of a provider rule (`DISCORD_KEY`, `cohere_key`): that rule
/// knows the provider's format and judges the value alone, as for [`FORMAT_OWNED_KEYS`].
fn names_a_provider(lower_name: &[u8]) -> bool {
    static AC: std::sync::OnceLock<aho_corasick::AhoCorasick> = std::sync::OnceLock::new();
    AC.get_or_init(|| {
        let words = super::rules::all()
            .flat_map(|r| r.keywords.iter())
            .filter(|k| {
                k.len() >= 3
                    && !k.contains("key")
                    && k.bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'-')
            });
        aho_corasick::AhoCorasick::new(words).expect("keywords are plain strings")
    })
    .is_match(lower_name)
}

/// A value under a bare key name that is a generated secret, not an id, a digest or a list
/// (`Key=Name,Value=web`): one token of base64 or base64url characters, at least 20 of
/// them, holding upper case, lower case and digits with 4 bits of entropy per character;
/// or at least 32 hex digits of a length no common digest has (MD5, SHA-1, SHA-256,
/// SHA-512).
fn looks_generated_key(v: &[u8]) -> bool {
    let token = v
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'_' | b'-'));
    if v.len() < 20 || !token || !looks_secret(v) {
        return false;
    }
    if v.iter().all(u8::is_ascii_hexdigit) {
        return v.len() >= 32 && ![32, 40, 64, 128].contains(&v.len());
    }
    [
        u8::is_ascii_uppercase,
        u8::is_ascii_lowercase,
        u8::is_ascii_digit,
    ]
    .iter()
    .all(|class| v.iter().any(class))
        && entropy::shannon(v) >= 4.0
}

fn at_line_start(hay: &[u8], kstart: usize) -> bool {
    let mut i = kstart;
    while i > 0 && matches!(hay[i - 1], b' ' | b'\t' | b'-') && kstart - i < 64 {
        i -= 1;
    }
    i == 0 || hay[i - 1] == b'\n'
}

/// The comparison operators a hard-coded credential check uses: `==`, `===`, `!=`, `!==`.
fn comparison_len(hay: &[u8], p: usize) -> usize {
    let rest = &hay[p.min(hay.len())..];
    for op in [&b"==="[..], b"!==", b"==", b"!="] {
        if rest.starts_with(op) {
            return op.len();
        }
    }
    0
}

/// A quoted literal compared with the key from its left: `if ("…" == password)`,
/// `"…" !== secret`.
fn literal_compared_before(hay: &[u8], kstart: usize, char_quotes: bool) -> Option<Candidate> {
    let mut p = kstart;
    while p > 0 && matches!(hay[p - 1], b' ' | b'\t') {
        p -= 1;
    }
    // The operator ends at p.
    let op = [3usize, 2]
        .into_iter()
        .find(|&n| p >= n && comparison_len(hay, p - n) == n)?;
    let mut q = p - op;
    while q > 0 && matches!(hay[q - 1], b' ' | b'\t') {
        q -= 1;
    }
    let quote = *hay.get(q.checked_sub(1)?)?;
    if !matches!(quote, b'"' | b'\'' | b'`') || (char_quotes && quote == b'\'') {
        return None;
    }
    let ve = q - 1;
    let from = ve.saturating_sub(512);
    let open = hay[from..ve]
        .iter()
        .rposition(|&b| b == quote || b == b'\n')?
        + from;
    if hay[open] != quote || (open > 0 && hay[open - 1] == b'\\') {
        return None;
    }
    let value = &hay[open + 1..ve];
    judge(value, open + 1, ve, None)
}

/// File extensions that mark a key as a file name (`"src/token.rs": "<sha256>"` in a
/// `.cargo-checksum.json`), not a variable.
const FILE_EXTENSIONS: &[&[u8]] = &[
    b"rs", b"json", b"toml", b"md", b"txt", b"yml", b"yaml", b"js", b"ts", b"py", b"go", b"c",
    b"h", b"cc", b"cpp", b"hpp", b"html", b"snap", b"lock", b"proto", b"wgsl", b"java", b"rb",
];

/// A key that is part of a file path (`dir/secret_key.rs`) or a code path
/// (`Kind::Credentials => "…"`, `cpuid::InitToken`) names no secret.
fn is_path_or_code_key(hay: &[u8], kstart: usize, key: &[u8]) -> bool {
    let before = &hay[..kstart];
    if matches!(before.last(), Some(b'/' | b'\\')) || before.ends_with(b"::") || in_arn(before) {
        return true;
    }
    key.rsplit(|&b| b == b'.')
        .next()
        .is_some_and(|ext| key.contains(&b'.') && FILE_EXTENSIONS.contains(&ext))
}

/// Is the text just before a key the start of an ARN (`arn:aws:secretsmanager:…:secret:`)?
/// Its `secret:` is a resource type, not an assignment. Only the last [`ARN_PREFIX_MAX`]
/// bytes are looked at (a long run without a delimiter, minified code, would otherwise be
/// read back to its start at every keyword).
fn in_arn(before: &[u8]) -> bool {
    let from = before.len().saturating_sub(ARN_PREFIX_MAX);
    let tail = &before[from..];
    super::work::add(tail.len());
    let Some(p) = tail
        .iter()
        .rposition(|b| b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'=' | b'`'))
    else {
        // No delimiter in reach: at the start of the text, or not an ARN of usual length.
        return from == 0 && before.starts_with(b"arn:");
    };
    tail[p + 1..].starts_with(b"arn:")
}

/// The longest ARN prefix before a `secret` keyword looked at (`arn:aws-us-gov:`, a service,
/// a region, a 12-digit account: under 100 bytes in practice).
const ARN_PREFIX_MAX: usize = 256;

fn value_after_key(hay: &[u8], kend: usize, ctx: KeyContext) -> Option<Candidate> {
    let n = hay.len();
    let mut p = kend;
    // An array declarator: C's `char secret[25] = "…"`, `secret[] = "…"`.
    if hay.get(p) == Some(&b'[') {
        let digits = hay[p + 1..]
            .iter()
            .take(6)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if hay.get(p + 1 + digits) == Some(&b']') {
            p += digits + 2;
        }
    }
    // Closing quote or bracket of the key: "password": / ['password'] =
    let mut quoted = false;
    while p < n && matches!(hay[p], b'"' | b'\'' | b'`' | b']') && p - kend < 3 {
        quoted |= hay[p] != b']';
        p += 1;
    }
    let blank_from = p;
    while p < n && matches!(hay[p], b' ' | b'\t') {
        p += 1;
    }
    if p >= n {
        return None;
    }
    // A quoted name and the next argument of a call: `getenv("api_token", "dafa…")`.
    if quoted && hay[p] == b',' {
        let mut q = p + 1;
        while q < n && matches!(hay[q], b' ' | b'\t') {
            q += 1;
        }
        return match hay.get(q) {
            Some(b'"' | b'\'' | b'`') => value_at(hay, q, ctx),
            _ => None,
        };
    }
    // A statement of a configuration DSL, the name and its quoted value alone on their line:
    // `password "…";` (Chef, nginx-like files).
    if !quoted && p > blank_from && ctx.line_start && matches!(hay[p], b'"' | b'\'') {
        let c = value_at(hay, p, KeyContext { code: true, ..ctx })?;
        let mut e = c.end + 1;
        while e < n && matches!(hay[e], b';' | b',' | b' ' | b'\t' | b'\r') {
            e += 1;
        }
        return (e >= n || hay[e] == b'\n').then_some(c);
    }
    // A comparison with a literal: `if (api_key == "…")`, `password !== '…'`.
    let cmp = comparison_len(hay, p);
    if cmp > 0 {
        let mut q = p + cmp;
        while q < n && matches!(hay[q], b' ' | b'\t') {
            q += 1;
        }
        return match hay.get(q) {
            Some(b'"' | b'\'' | b'`') => value_at(hay, q, KeyContext { code: true, ..ctx }),
            _ => None,
        };
    }
    // A declared type between the name and `=`: Go's `var token string = "…"`.
    p = skip_type(hay, p);
    // The operator.
    // GNU make's POSIX immediate assignments (`::=`, `:::=`) before `::`, a Rust/C++ path.
    let op_len = if hay[p..].starts_with(b":::=") {
        4
    } else if hay[p..].starts_with(b"::=") {
        3
    } else if hay[p..].starts_with(b":=") || hay[p..].starts_with(b"=>") {
        2
    } else if hay[p] == b'=' || hay[p] == b':' {
        if hay.get(p + 1) == Some(&b'=') {
            return None; // == comparison
        }
        if hay[p] == b':' && hay.get(p + 1) == Some(&b':') {
            return None; // Rust/C++ path
        }
        1
    } else {
        return None;
    };
    let colon = op_len == 1 && hay[p] == b':';
    p += op_len;
    while p < n && matches!(hay[p], b' ' | b'\t') {
        p += 1;
    }
    // A type annotation: `val token: String = "…"`, `token: str = "…"`.
    if colon && p < n {
        let q = skip_type(hay, p);
        if q != p {
            p = q + 1;
            while p < n && matches!(hay[p], b' ' | b'\t') {
                p += 1;
            }
        }
    }
    // A YAML block scalar: `password: >-` with the value on the next, deeper line.
    if colon && !ctx.code {
        if let Some(c) = block_scalar_value(hay, p, ctx) {
            return Some(c);
        }
    }
    value_at(hay, p, ctx)
}

/// The one-line value of a YAML block scalar (`key: >-`, `key: |`) that starts at `p`.
fn block_scalar_value(hay: &[u8], p: usize, ctx: KeyContext) -> Option<Candidate> {
    let n = hay.len();
    let mut q = p;
    if !matches!(hay.get(q), Some(b'|' | b'>')) {
        return None;
    }
    q += 1;
    if matches!(hay.get(q), Some(b'-' | b'+')) {
        q += 1;
    }
    while q < n && matches!(hay[q], b' ' | b'\t' | b'\r') {
        q += 1;
    }
    if hay.get(q) != Some(&b'\n') {
        return None;
    }
    let ls = q + 1;
    let indent = hay[ls..]
        .iter()
        .take(256)
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    if indent == 0 {
        return None;
    }
    let vs = ls + indent;
    let reach = (vs + 513).min(n);
    let ve = memchr::memchr(b'\n', &hay[vs..reach]).map_or(reach, |e| vs + e);
    if ve - vs > 512 {
        return None;
    }
    let mut ve2 = ve;
    while ve2 > vs && matches!(hay[ve2 - 1], b' ' | b'\t' | b'\r') {
        ve2 -= 1;
    }
    // A block of several lines is a file (a key, a certificate), judged by other rules.
    let next = hay.get(ve + 1..).unwrap_or(&[]);
    let next_indent = next
        .iter()
        .take(256)
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    if next_indent >= indent && next.get(next_indent).is_some_and(|&b| b != b'\n') {
        return None;
    }
    judge(&hay[vs..ve2], vs, ve2, Some(ctx))
}

/// Where the `=` is after a string type name and blanks at `p` (`string = "…"`, `String =`);
/// `p` itself when no type name is there.
fn skip_type(hay: &[u8], p: usize) -> usize {
    const TYPES: &[&[u8]] = &[b"string", b"String", b"str", b"&str", b"&'static str"];
    for t in TYPES {
        if hay[p..].starts_with(t) {
            let mut q = p + t.len();
            while q < hay.len() && matches!(hay[q], b' ' | b'\t') {
                q += 1;
            }
            if hay.get(q) == Some(&b'=') && hay.get(q + 1) != Some(&b'=') {
                return q;
            }
        }
    }
    p
}

/// The value starting at `p`: a quoted literal (Objective-C's `@"…"` too), or (outside
/// code) a bare word; a bare value of several words is read to the end of its line when the
/// key starts the line (`password: correct horse battery staple` in YAML or INI).
fn value_at(hay: &[u8], p: usize, ctx: KeyContext) -> Option<Candidate> {
    let n = hay.len();
    if p >= n {
        return None;
    }
    let p = if ctx.code && hay[p] == b'@' && matches!(hay.get(p + 1), Some(b'"' | b'\'')) {
        p + 1
    } else {
        p
    };
    let (vs, ve) = match hay[p] {
        q @ (b'"' | b'\'' | b'`') => {
            let s = p + 1;
            let mut e = s;
            while e < n && hay[e] != q && hay[e] != b'\n' && e - s < 512 {
                if hay[e] == b'\\' {
                    e += 1;
                }
                e += 1;
            }
            if e >= n || hay[e] != q || (q == b'\'' && ctx.char_quotes) {
                return None;
            }
            (s, e)
        }
        _ => {
            // An expression in code; nothing (`password = ,…`) before a comma.
            if ctx.code || hay[p] == b',' {
                return None;
            }
            let s = p;
            let mut e = s;
            while e < n && e - s < 512 {
                match hay[e] {
                    b' ' | b'\t' | b'\r' | b'\n' | b';' | b'"' | b'\'' => break,
                    // A comma ends a value only before a blank or the line's end (`a: x, b: y`);
                    // inside a value it is one more symbol (`A,.:-@*?!`).
                    b',' if hay
                        .get(e + 1)
                        .is_none_or(|b| b.is_ascii_whitespace() || matches!(b, b'"' | b'\'')) =>
                    {
                        break
                    }
                    _ => e += 1,
                }
            }
            if ctx.line_start && e < n && matches!(hay[e], b' ' | b'\t') {
                if let Some(c) = bare_phrase(hay, s, ctx) {
                    return Some(c);
                }
            }
            (s, e)
        }
    };
    if vs >= ve || ve > n {
        return None;
    }
    judge(&hay[vs..ve], vs, ve, Some(ctx))
}

/// A bare value of several words running to the end of its line (before a ` #` comment and
/// a trailing `,`/`;`), judged as a passphrase.
fn bare_phrase(hay: &[u8], s: usize, ctx: KeyContext) -> Option<Candidate> {
    // Looked for within 201 bytes: on a minified line each keyword then costs the same.
    let reach = (s + 201).min(hay.len());
    let end = memchr::memchr(b'\n', &hay[s..reach]).map_or(reach, |e| s + e);
    if end - s > 200 {
        return None;
    }
    let line = &hay[s..end];
    let cut = memchr::memmem::find(line, b" #").unwrap_or(line.len());
    let mut e = s + cut;
    while e > s && matches!(hay[e - 1], b' ' | b'\t' | b'\r' | b',' | b';') {
        e -= 1;
    }
    let v = &hay[s..e];
    (looks_passphrase(v) && !ctx.code).then_some(Candidate {
        rule: ID,
        start: s,
        end: e,
        known: None,
    })
}

/// A candidate for the value at `vs..ve` when it looks like a secret or a passphrase.
fn judge(value: &[u8], vs: usize, ve: usize, ctx: Option<KeyContext>) -> Option<Candidate> {
    let password_key = ctx.is_some_and(|c| c.password_key);
    let token_key = ctx.is_some_and(|c| c.token_key);
    let ok = if ctx.is_some_and(|c| c.bare_key) {
        looks_generated_key(value)
    } else if value.contains(&b' ') {
        looks_passphrase(value)
    } else {
        looks_secret(value)
            || (password_key && (is_dictionary_password(value) || is_chosen_password(value)))
            || (token_key && entropy::is_uuid(value) && !entropy::is_placeholder(value))
    };
    ok.then_some(Candidate {
        rule: ID,
        start: vs,
        end: ve,
        known: None,
    })
}

/// Words that make a phrase a message, a prompt or a description rather than a passphrase:
/// auxiliary verbs, UI verbs, and the names of what a passphrase is.
const MESSAGE_WORDS: &[&str] = &[
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "has",
    "have",
    "had",
    "must",
    "should",
    "will",
    "would",
    "can",
    "could",
    "cannot",
    "can't",
    "not",
    "no",
    "never",
    "dont",
    "don't",
    "doesnt",
    "doesn't",
    "isnt",
    "isn't",
    "wont",
    "won't",
    "please",
    "enter",
    "type",
    "provide",
    "invalid",
    "incorrect",
    "wrong",
    "required",
    "missing",
    "failed",
    "expired",
    "found",
    "forgot",
    "forgotten",
    "reset",
    "confirm",
    "here",
    "click",
    "your",
    "this",
    "that",
    "these",
    "for",
    "from",
    "to",
    "of",
    "in",
    "on",
    "at",
    "if",
    "when",
    "use",
    "using",
    "see",
    "set",
    "get",
    "characters",
    "chars",
    "length",
    "minimum",
    "maximum",
    "least",
    "most",
    "password",
    "passwords",
    "passphrase",
    "passwd",
    "pwd",
    "token",
    "tokens",
    "secret",
    "secrets",
    "key",
    "keys",
    "api",
    "credential",
    "credentials",
    "login",
    "user",
    "username",
    "todo",
    "tbd",
    "none",
    "null",
    "example",
    "sample",
    "placeholder",
    "dummy",
    "fake",
    "test",
    "changeme",
    "redacted",
    "hidden",
    "masked",
    "unknown",
    "default",
    "empty",
];

/// A passphrase: four to twelve words of letters and digits separated by single spaces,
/// at least 16 characters, with no message word ([`MESSAGE_WORDS`]), no placeholder, and no
/// sentence punctuation at its end (`"value with quotes and spaces"`,
/// `correct horse battery staple`; not `"Enter your password"`, `"Token has expired."`).
pub fn looks_passphrase(v: &[u8]) -> bool {
    if v.len() < 16 || v.len() > 200 || entropy::is_weak_placeholder(v) {
        return false;
    }
    let words: Vec<&[u8]> = v.split(|&b| b == b' ').collect();
    if !(4..=12).contains(&words.len()) {
        return false;
    }
    words.iter().all(|w| {
        !w.is_empty()
            && w.len() <= 24
            && w.iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'\''))
            && w[0].is_ascii_alphanumeric()
            && !MESSAGE_WORDS
                .iter()
                .any(|m| m.as_bytes().eq_ignore_ascii_case(w))
    }) && words.iter().any(|w| w.iter().any(u8::is_ascii_lowercase))
}

/// A password made of dictionary words run together in camel case
/// (`CorrectHorseBatteryStaple`): under a password's name only, where an identifier made of
/// words would be unusual. At least three words and 12 characters, mixed case, no `_`.
fn is_dictionary_password(v: &[u8]) -> bool {
    v.len() >= 12
        && v.len() <= 64
        && v.iter().all(u8::is_ascii_alphanumeric)
        && v[0].is_ascii_uppercase()
        && v.iter().any(u8::is_ascii_lowercase)
        && !entropy::is_weak_placeholder(v)
        && camel_humps(v).len() >= 3
        && camel_humps(v).iter().all(|h| h.len() >= 3 && is_word(h))
}

/// Does this free-form value look like a real secret rather than a placeholder, reference,
/// identifier, path, URL, hash of something public, or ciphertext?
pub fn looks_secret(v: &[u8]) -> bool {
    if !could_be_secret(v) {
        return false;
    }
    let e = entropy::shannon(v);
    let classes = entropy::char_classes(v);
    if v.iter().all(u8::is_ascii_hexdigit) {
        return v.len() >= 16 && e >= 3.0;
    }
    (classes >= 3 && e >= 3.0)
        || (classes >= 2 && e >= 3.5 && v.len() >= 16)
        || (classes >= 2 && e >= 3.0 && password_symbols(v) >= 4)
}

/// A password a person chose (`thisIsDog11`, `qgsnai0xokrw4j1`): letters with digits or
/// symbols, 8 to 64 characters, less random than [`looks_secret`] asks of a value of
/// unknown kind. Only where the context says "password" (a password's name, `curl -u`,
/// `mysql -p`): there, a weak password is still the password, and the weak ones are the
/// ones that get guessed.
pub fn is_chosen_password(v: &[u8]) -> bool {
    // Words run together in camel case are a password here (`thisIsDog11`); joined by `_`
    // or `.` they are the name of one, an algorithm or a version (`db_password_2`,
    // `pbkdf2_sha256`, `tls1.2`).
    v.len() <= 64
        && has_secret_form(v)
        && !v.iter().any(|b| matches!(b, b'_' | b'.'))
        && v.iter().any(u8::is_ascii_alphabetic)
        // A digit or an ASCII symbol; `-` joins words (`shorter-version`), and a label ends
        // with `:` or `*` (`Passwort:`, `Kennwort*`: a locale file's field names).
        && v.iter().any(|b| b.is_ascii_digit() || (b.is_ascii_punctuation() && !matches!(b, b'-' | b':' | b'*')))
        && !matches!(v.last(), Some(b':' | b'*'))
        && !v.iter().all(u8::is_ascii_hexdigit)
        // Percent-escapes (`pass%5B%7F`): a URL parser's test data, not a typed password.
        && !v
            .windows(3)
            .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
        && entropy::shannon(v) >= 2.5
}

/// The checks on a free-form value's form (not its randomness): 8 to 512 characters, and
/// not a placeholder, reference, template, identifier, path, URL, code, number or
/// ciphertext.
fn could_be_secret(v: &[u8]) -> bool {
    has_secret_form(v) && !is_word_identifier(v)
}

/// [`could_be_secret`] without its test for identifiers made of words (`thisIsDog11` is
/// one: a chosen password may be).
fn has_secret_form(v: &[u8]) -> bool {
    if v.len() < 8 || v.len() > 512 {
        return false;
    }
    if is_template(v)
        || entropy::is_encrypted_value(v)
        || entropy::is_weak_placeholder(v)
        || entropy::is_uuid(v)
    {
        return false;
    }
    if v.iter()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return false;
    }
    let lower = v.to_ascii_lowercase();
    for p in [
        &b"arn:"[..],
        b"http",
        b"/",
        b"./",
        b"~/",
        b"ssh-",
        b"sha256:",
        b"sha512-",
        b"sha1-",
        b"true",
        b"false",
        b"null",
        b"none",
        b"undefined",
        b"nil",
    ] {
        if lower.starts_with(p) {
            return false;
        }
    }
    if entropy::contains(v, b"://")
        || is_call_or_subscript(v)
        || OWNED_PREFIXES.iter().any(|p| v.starts_with(p))
    {
        return false;
    }
    // Punctuation alone is a separator or a mask (`,.:-*?!`, `-----`), not a password.
    if !v.iter().any(u8::is_ascii_alphanumeric) {
        return false;
    }
    if v.iter().all(u8::is_ascii_digit) {
        return false;
    }
    if is_code_expression(v) || is_windows_path(v) || v.ends_with(b"/aws4_request") {
        return false;
    }
    // Dotted identifiers: config.password, settings.SECRET_KEY.
    if v.contains(&b'.')
        && v.split(|&b| b == b'.')
            .all(|p| !p.is_empty() && p.iter().all(|b| b.is_ascii_alphabetic() || *b == b'_'))
    {
        return false;
    }
    true
}

/// Distinct symbols of the kind passwords are made strong with (not the `._-/:` of names,
/// paths and versions); bytes past ASCII count as symbols too.
fn password_symbols(v: &[u8]) -> usize {
    let mut seen = [false; 256];
    v.iter()
        .filter(|&&b| !b.is_ascii_alphanumeric() && !matches!(b, b'.' | b'_' | b'-' | b'/' | b':'))
        .filter(|&&b| !std::mem::replace(&mut seen[usize::from(b)], true))
        .count()
}

/// A reference to a value kept elsewhere, told by a *well-formed* template or expression,
/// not by a brace anywhere: the whole value `$NAME`, `$(cmd)`, `%(name)s`, `%NAME%`,
/// `<placeholder>`, `<%= … %>`, `!Tag …`, `&anchor`/`*alias`, `@NAME@`; or a value holding
/// `${NAME}`, `${NAME:-default}`, `${{ expr }}`, `{{ expr }}`, `#{expr}` or a `{name}`
/// format field whose inside is sane (no braces of its own). `m{{h}o)p${e]…}}` is none of
/// these: a password full of symbols.
pub fn is_template(v: &[u8]) -> bool {
    let t = entropy::trim(v);
    let Some(&first) = t.first() else {
        return true;
    };
    let second = t.get(1).copied().unwrap_or(0);
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let whole_ident = |r: &[u8]| !r.is_empty() && r.iter().all(|&b| ident(b) || b == b'-');
    match first {
        b'$' if second.is_ascii_alphabetic() || second == b'_' || second == b'(' => return true,
        b'%' if second == b'(' || second == b'{' => return true,
        b'%' if t.len() > 2 && t.ends_with(b"%") && whole_ident(&t[1..t.len() - 1]) => return true,
        b'<' if second == b'%' || angle_slot(t) => return true,
        b'!' if second.is_ascii_alphabetic() => return true,
        b'&' | b'*' if whole_ident(&t[1..]) => return true,
        b'@' if t.len() > 2 && t.ends_with(b"@") && whole_ident(&t[1..t.len() - 1]) => return true,
        _ => {}
    }
    if entropy::contains(t, b"ENC[AES256_GCM") || is_fluent_placeable(t) {
        return true;
    }
    let mut i = 0;
    while i < t.len() {
        let rest = &t[i..];
        let found = if rest.starts_with(b"${{") || rest.starts_with(b"{{") {
            let open = if rest[0] == b'$' { 3 } else { 2 };
            double_brace_field(&rest[open..])
        } else if rest.starts_with(b"${") {
            shell_expansion(&rest[2..])
        } else if rest.starts_with(b"#{") {
            single_brace_field(&rest[2..], |b| b != b'{')
        } else if rest[0] == b'{' && (i == 0 || !matches!(t[i - 1], b'{' | b'$' | b'#')) {
            single_brace_field(&rest[1..], |b| ident(b) || b == b'.')
                && !rest[1..].starts_with(b"}}")
        } else {
            false
        };
        if found {
            return true;
        }
        i += 1;
    }
    false
}

/// `<your-password>`, and in prose or a signature `<string>]}`: a slot in angle brackets,
/// closing punctuation after it.
fn angle_slot(t: &[u8]) -> bool {
    let end = t
        .iter()
        .rposition(|b| !matches!(b, b']' | b'}' | b')' | b',' | b';' | b'.' | b'`'))
        .map_or(0, |p| p + 1);
    let t = &t[..end];
    t.len() > 2 && t.ends_with(b">") && !t[1..t.len() - 1].contains(&b'<')
}

/// A whole value that is one Fluent placeable, `{-term}` or `{ $var }`: a message's
/// reference to another message or a variable (`{-scrypt-recipient} can't be used…` in a
/// `.ftl`). Inside a longer value (`Xk7#mQ{-pL}w9`) such braces are a password's symbols.
fn is_fluent_placeable(t: &[u8]) -> bool {
    let Some(inner) = t.strip_prefix(b"{").and_then(|r| r.strip_suffix(b"}")) else {
        return false;
    };
    let inner = inner.trim_ascii();
    inner
        .strip_prefix(b"-")
        .or_else(|| inner.strip_prefix(b"$"))
        .is_some_and(|name| {
            !name.is_empty()
                && name.len() <= 64
                && name
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        })
}

/// `expr }}` after `{{`: text with a letter and no brace of its own, then `}}`.
fn double_brace_field(r: &[u8]) -> bool {
    let Some(end) = memchr::memmem::find(r, b"}}") else {
        return false;
    };
    let inner = &r[..end];
    !inner.iter().any(|&b| matches!(b, b'{' | b'}' | b'\n'))
        && inner.iter().any(u8::is_ascii_alphabetic)
}

/// `NAME}` or `NAME:-default}` (and `:=`, `:?`, `:+`, `-`, `=`, `?`, `+`, `#`, `%`, `/`
/// operators) after `${`: a shell or compose expansion.
fn shell_expansion(r: &[u8]) -> bool {
    let name = r
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.'))
        .count();
    if name == 0 {
        return false;
    }
    match r.get(name) {
        Some(b'}') => true,
        Some(b':' | b'-' | b'=' | b'?' | b'+' | b'#' | b'%' | b'/') => r[name..]
            .iter()
            .position(|&b| b == b'}')
            .is_some_and(|e| !r[name..name + e].iter().any(|&b| matches!(b, b'{' | b'\n'))),
        _ => false,
    }
}

/// `name}` after `{` or `#{`: bytes `ok` accepts (at most 64), then `}`. An empty field
/// (`{}`) counts when `ok` is the identifier test (a format string's `{}`).
fn single_brace_field(r: &[u8], ok: impl Fn(u8) -> bool) -> bool {
    let len = r
        .iter()
        .take(64)
        .take_while(|&&b| b != b'}' && ok(b))
        .count();
    r.get(len) == Some(&b'}') && !r[..len].contains(&b'\n')
}

/// A call or a subscript: the value starts with a (dotted) identifier and `(` or `[`
/// (`os.environ['X']`, `getenv("X")`, `Foo(bar)`, `ENV[`).
fn is_call_or_subscript(v: &[u8]) -> bool {
    let head = v
        .iter()
        .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':'))
        .count();
    head > 0 && v[0].is_ascii_alphabetic() && matches!(v.get(head), Some(b'(' | b'['))
}

/// An identifier made of words: `GOOGLE_APPLICATION_CREDENTIALS`, `subject_token_0`,
/// `access_token_for_reauth`, `LastEvaluatedTableName`, `target_credentials)` (the end of a
/// call in prose). Names, not values: random strings rarely split into vowelled words.
fn is_word_identifier(v: &[u8]) -> bool {
    let v = trim_closing(v);
    let body = strip_short_number(v);
    if body.is_empty() || !body.iter().all(|b| b.is_ascii_alphabetic() || *b == b'_') {
        return false;
    }
    let parts = body.split(|&b| b == b'_').filter(|p| !p.is_empty());
    parts.flat_map(camel_humps).all(is_word)
}

/// Without trailing `)`, `]`, `,`, `:` (an identifier at the end of a call, list or signature).
fn trim_closing(v: &[u8]) -> &[u8] {
    let end = v.len()
        - v.iter()
            .rev()
            .take_while(|b| matches!(b, b')' | b']' | b',' | b':'))
            .count();
    &v[..end]
}

/// Without a numeric suffix of up to 3 digits (`token_0`, `Name12`).
fn strip_short_number(v: &[u8]) -> &[u8] {
    let digits = v.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    if digits > 3 {
        return b"";
    }
    let v = &v[..v.len() - digits];
    v.strip_suffix(b"_").unwrap_or(v)
}

/// `LastEvaluated` → `Last`, `Evaluated`; `HTTPServer` → `HTTP`, `Server`; `UPPER` → `UPPER`.
fn camel_humps(part: &[u8]) -> Vec<&[u8]> {
    let mut humps = Vec::new();
    let mut start = 0;
    for i in 1..part.len() {
        let (prev, cur) = (part[i - 1], part[i]);
        let next_lower = part.get(i + 1).is_some_and(u8::is_ascii_lowercase);
        let boundary = (prev.is_ascii_lowercase() && cur.is_ascii_uppercase())
            || (prev.is_ascii_uppercase() && cur.is_ascii_uppercase() && next_lower);
        if boundary {
            humps.push(&part[start..i]);
            start = i;
        }
    }
    humps.push(&part[start..]);
    humps
}

/// A word or an acronym: two letters or more with a vowel (`for`, `Name`), or a short
/// all-caps acronym (`HTTP`).
fn is_word(hump: &[u8]) -> bool {
    let vowel = hump.iter().any(|b| {
        matches!(
            b.to_ascii_lowercase(),
            b'a' | b'e' | b'i' | b'o' | b'u' | b'y'
        )
    });
    let acronym = hump.len() <= 4 && hump.iter().all(u8::is_ascii_uppercase);
    hump.len() >= 2 && (vowel || acronym)
}

/// A type or path expression: `ValueType<0`, `array<atomic<u32>>`,
/// `diesel::query_builder::AstPass<'_`, `cpuid_aes_sha::InitToken`.
fn is_code_expression(v: &[u8]) -> bool {
    let ident = v
        .iter()
        .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':'))
        .count();
    if ident == 0 || v[0].is_ascii_digit() {
        return false;
    }
    let head = &v[..ident];
    let rest = &v[ident..];
    // `Name<…`: a generic type.
    if rest.first() == Some(&b'<') && head.iter().any(u8::is_ascii_alphabetic) {
        return true;
    }
    // `a::b::C`: a path made only of identifiers.
    rest.is_empty()
        && entropy::contains(head, b"::")
        && head
            .split(|&b| b == b':')
            .all(|p| p.is_empty() || p[0].is_ascii_alphabetic() || p[0] == b'_')
}

/// A Maven group id (`io.jsonwebtoken`, `org.springframework.security`): lower-case
/// words joined by dots, the first a top-level domain, as Java packages are named. A
/// secret's name in it is part of a package's name, and `group:artifact-1.2.3` after it
/// a dependency.
fn is_maven_group(key: &[u8]) -> bool {
    const TOP_LEVEL: &[&[u8]] = &[b"com", b"org", b"net", b"io", b"dev", b"edu", b"me", b"co"];
    let mut parts = key.split(|&b| b == b'.');
    parts.next().is_some_and(|first| TOP_LEVEL.contains(&first))
        && key.contains(&b'.')
        && parts.all(|p| {
            !p.is_empty()
                && p.iter()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// An artifact and its version (`jjwt-jackson-0.11.2`, `jjwt-api:0.12.6`): lower-case words
/// joined by `-` or `_`, then `-` or `:` and two to four dotted numbers. Only right after a
/// [`is_maven_group`] name and a colon: a password may well end in a version
/// (`Summer-2024.1`, `welcome-1.2`).
fn is_versioned_name(v: &[u8]) -> bool {
    let Some(dash) = v.iter().rposition(|&b| b == b'-' || b == b':') else {
        return false;
    };
    let version = &v[dash + 1..];
    let version = version.strip_prefix(b"v").unwrap_or(version);
    let numbers = version.split(|&b| b == b'.');
    let dotted = (2..=4).contains(&numbers.clone().count())
        && numbers
            .into_iter()
            .all(|n| !n.is_empty() && n.iter().all(u8::is_ascii_digit));
    let words = v[..dash].split(|&b| b == b'-' || b == b'_');
    dotted
        && words.into_iter().all(|w| {
            w.first().is_some_and(u8::is_ascii_lowercase)
                && w.iter()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// `C:\\Users\\me\\.aws\\credentials`: a Windows path, escaped or not.
fn is_windows_path(v: &[u8]) -> bool {
    v.len() > 3 && v[0].is_ascii_alphabetic() && v[1] == b':' && v[2] == b'\\'
}

/// Values under `data:` (base64) and `stringData:` of a Kubernetes `kind: Secret`, in
/// whatever order the keys come (`data:` before `kind:` in `kubectl get -o yaml`), indented
/// with spaces or tabs, `kind` in any case or quoted, and a value on the next lines after
/// `|` or `>`.
/// `finds_inside` runs the whole rule set on a decoded value: a URL with a password or a
/// GitHub token under `DATABASE_URL:` or `settings:` is a leak whatever the key's name.
pub fn k8s_secret(hay: &[u8], out: &mut Vec<Candidate>, finds_inside: &dyn Fn(&[u8]) -> bool) {
    use base64::Engine;
    let mut is_secret = false;
    let mut section: Option<(bool, usize)> = None; // (base64?, indent of the section key)
    let mut pos = 0;
    // (base64?, key, value start, value end); a block scalar's value is on later lines.
    let mut entries: Vec<(bool, Vec<u8>, usize, usize)> = Vec::new();
    let mut pending: Option<(bool, Vec<u8>, usize)> = None; // a `key: |` awaiting its line
    for line in hay.split(|&b| b == b'\n') {
        let start = pos;
        pos += line.len() + 1;
        let indent = line
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        let body = entropy::trim(&line[indent..]);
        if is_kind_secret(body) {
            is_secret = true;
        }
        if line.starts_with(b"---") {
            section = None;
            pending = None;
            continue;
        }
        if let Some((b64, key, key_indent)) = pending.take() {
            if !body.is_empty() && indent > key_indent {
                let vstart = start + indent;
                entries.push((b64, key, vstart, vstart + body.len()));
                continue;
            }
        }
        if body == b"data:" || body == b"stringData:" {
            section = Some((body == b"data:", indent));
            continue;
        }
        if let Some((b64, sec_indent)) = section {
            if body.is_empty() || body.starts_with(b"#") {
                continue;
            }
            if indent <= sec_indent {
                section = None;
                continue;
            }
            if let Some(colon) = body.iter().position(|&b| b == b':') {
                let key = body[..colon].to_ascii_lowercase();
                let raw = &body[colon + 1..];
                let lead = raw.iter().take_while(|b| b.is_ascii_whitespace()).count();
                let v = entropy::trim(raw);
                if v.is_empty() {
                    continue;
                }
                if matches!(v, b"|" | b">" | b"|-" | b">-" | b"|+" | b">+") {
                    pending = Some((b64, key, indent));
                    continue;
                }
                // Offsets of v in hay.
                let vstart = start + indent + colon + 1 + lead;
                let vstart = vstart + usize::from(matches!(hay.get(vstart), Some(b'"' | b'\'')));
                entries.push((b64, key, vstart, vstart + v.len()));
            }
        }
    }
    if !is_secret {
        return;
    }
    for (b64, key, s, e) in entries {
        let Some(v) = hay.get(s..e) else { continue };
        let ok = if b64 {
            match base64::engine::general_purpose::STANDARD.decode(v) {
                Ok(d) => decoded_looks_secret(&key, &d) || finds_inside(&d),
                Err(_) => false,
            }
        } else {
            looks_secret(v)
        };
        if ok {
            out.push(Candidate {
                rule: K8S_ID,
                start: s,
                end: e,
                known: None,
            });
        }
    }
}

/// `kind: Secret`, `kind: secret`, `kind: "Secret"`.
fn is_kind_secret(body: &[u8]) -> bool {
    body.strip_prefix(b"kind:")
        .map(entropy::trim)
        .is_some_and(|k| k.eq_ignore_ascii_case(b"secret"))
}

/// Key names under a Secret's `data:` that say the value is a credential, whatever it
/// looks like: `password: <base64 of admin>` is a leak even when the password is weak.
const CREDENTIAL_KEYS: &[&str] = &[
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "cred",
    "auth",
    "dockercfg",
    "dockerconfig",
];

/// A decoded `data:` value. Under a credential's name (`password`, `api-key`, `.dockercfg`),
/// any value of 4 bytes or more that is not a reference; a `user:password` pair anywhere;
/// else one line of text is judged like any value (so `sslmode=disable` and a host name
/// stay quiet), and binary bytes or a multi-line file (a PEM key) by their entropy.
fn decoded_looks_secret(key: &[u8], d: &[u8]) -> bool {
    let t = d.strip_suffix(b"\n").unwrap_or(d);
    let key = String::from_utf8_lossy(key);
    if t.len() >= 4
        && !entropy::is_reference(t)
        && CREDENTIAL_KEYS.iter().any(|k| key.contains(k))
        && !has_stopword(key.as_bytes())
    {
        return true;
    }
    if t.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        return looks_secret(t) || is_user_password_pair(t);
    }
    d.len() >= 6
        && !entropy::is_weak_placeholder(d)
        && !entropy::is_reference(d)
        && entropy::shannon(d) >= 2.5
}

/// `admin:password`: a user and a password, as `htpasswd`-less basic auth keeps them.
fn is_user_password_pair(t: &[u8]) -> bool {
    let Some(p) = t.iter().position(|&b| b == b':') else {
        return false;
    };
    let (user, pass) = (&t[..p], &t[p + 1..]);
    !user.is_empty()
        && pass.len() >= 4
        && user
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'@'))
        && !pass.contains(&b'/')
        && !entropy::is_reference(pass)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fires(line: &str, code: bool) -> bool {
        let set = super::super::rule::RuleSet::builtin();
        !set.find(line.as_bytes(), code).is_empty()
    }

    #[test]
    fn assignments_fire() {
        for l in [
            "DB_PASSWORD=q8ZrT2vLx9Pw4Kd7!",
            "    password: qB5IGky4Oo8D!iIMW",
            "  \"client_secret\": \"mHFwUbbYrEqmSM9wCZ7Uw9xfQ3h8Tz1K\"",
            "password = Xk7#mQ2pLw9vRt",
            "spring.datasource.password=Xk7#mQ2pLw9vRt",
            "Server=db;User Id=app;Password=Xk7mQ2pLw9vRt8;",
            "DB_PASSWORD ::= Xk7#mQ2pLw9vRt",
            "DB_PASSWORD :::= \"Xk7#mQ2pLw9vRt\"",
            "creds = gL3kh0SSvaV2JfrHtpXVdJz0abLBic",
            "private-key: U-NcFzBenVF2NmGabzOpH1R49n4fS9zqQ",
        ] {
            assert!(fires(l, false), "{l}");
        }
        // Declared types and call arguments in code.
        for l in [
            "var genericToken string = \"TXY856yFrGRJkzbfJnZvfvi2EaqcgcBg\"",
            "val apiToken: String = \"TXY856yFrGRJkzbfJnZvfvi2EaqcgcBg\"",
            "API_TOKEN: str = \"TXY856yFrGRJkzbfJnZvfvi2EaqcgcBg\"",
            "env_or(\"api_token\", \"TXY856yFrGRJkzbfJnZvfvi2EaqcgcBg\")",
        ] {
            assert!(fires(l, true), "{l}");
        }
        for l in [
            "names = [\"api_token\", \"refresh_token\"]",
            "var token string",
            "token: String,",
            "getenv(\"API_TOKEN\", \"\")",
            "if token string == \"TXY856yFrGRJkzbfJnZvfvi2EaqcgcBg\" {",
        ] {
            assert!(!fires(l, true), "{l}");
        }
        assert!(fires(
            "const apiKey = \"874ae7689447ab57a683536c4499d863386ce10c\"",
            true
        ));
    }

    #[test]
    fn references_and_placeholders_do_not() {
        for l in [
            "password: changeme",
            "DB_PASSWORD=${DB_PASSWORD}",
            "password: \"{{ .Values.password }}\"",
            "password: ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:str]",
            "API_KEY=your-api-key-here",
            "TOKEN=<token>",
            "password_file: /run/secrets/db",
            "if password == other_password:",
            "password = os.environ['DB_PASSWORD']",
            "secret = settings.SECRET_KEY",
            "tokenizer: bert-base-uncased",
            "password: test",
        ] {
            assert!(!fires(l, false), "{l}");
        }
        // Identifiers made of words, and ARNs, name a secret; they are not one.
        for l in [
            "CREDENTIALS = \"GOOGLE_APPLICATION_CREDENTIALS\"",
            r#"{"subject_token": "subject_token_0"}"#,
            "token = 'access_token_for_reauth'",
            "client = Client(credentials=target_credentials)",
            "def parse(tokens: ParseResults):",
            r#""output_token": "LastEvaluatedTableName","#,
            r#"secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/api_token-x9Yz2Q""#,
            "  SecretId: arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbC123",
        ] {
            assert!(!fires(l, false), "{l}");
            assert!(!fires(l, true), "{l}");
        }
        // Random strings with underscores or capitals are still secrets.
        for l in [
            "token = 'qBzK_hGAkWvj_FAcQeW'",
            "API_TOKEN=hGAkWvjFAcQeWJKYuvSw",
            "password: Xk7mQ2pLw9vRtZ",
            "ENCRYPTION_KEY=hGAkWvj7FAc9QeWJKY40uvSw",
            "SIGNING_KEY: q8ZrT2vLx9Pw4Kd7mQ2p",
            "MASTER_KEY=Xk7mQ2pLw9vRt8hGAkWv",
            "APP_KEY=base64:hGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8rES",
            "JWT_KEY='q8ZrT2vLx9Pw4Kd7mQ2p'",
        ] {
            assert!(fires(l, false), "{l}");
        }
        for l in [
            "PRIMARY_KEY=hGAkWvj7FAc9QeWJKY40uvSw",
            "SORT_KEY=q8ZrT2vLx9Pw4Kd7mQ2p",
            "master_key_id=hGAkWvj7FAc9QeWJKY40uvSw",
        ] {
            assert!(!fires(l, false), "{l}");
        }
        assert!(!fires("password = db_password_from_vault", true));
    }

    #[test]
    fn bare_key_names_need_a_generated_value() {
        for l in [
            r#"{"key": "q8ZrT2vLx9Pw4Kd7mHfBhGAkWv"}"#,
            r#"HEX_KEY = "9f2c4e8a1b7d3f6e0a5c9b2d8e4f1a7c3b6d0e9f2a5c8b1d4e7f0a3c6b9d2e5f8a1b4c7d""#,
            "stripeKey: q8ZrT2vLx9Pw4Kd7mHfBhGAkWv",
            r#"config['dict_key'] = "q8ZrT2vLx9Pw4Kd7mHfBhGAkWv""#,
        ] {
            assert!(fires(l, false), "{l}");
        }
        for l in [
            // Tags, lists, ids, digests and words under a key name.
            "--tags Key=Organization,Value=Retail Key=Division,Value=Mountain",
            r#""key": "fs.s3.enableServerSideEncryption""#,
            r#""key": "d41d8cd98f00b204e9800998ecf8427e""#,
            r#""key": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855""#,
            r#"{"key": "q8ZrT2vLx9Pw4Kd7"}"#,
            r#"{"key": "settings.general.title"}"#,
            // Keys into data, and names that only contain "key".
            "primaryKey=q8ZrT2vLx9Pw4Kd7mHfBhGAkWv",
            "sort_key: q8ZrT2vLx9Pw4Kd7mHfBhGAkWv",
            "monkey: q8ZrT2vLx9Pw4Kd7mHfBhGAkWv",
            "keyboard: q8ZrT2vLx9Pw4Kd7mHfBhGAkWv",
            "key_name: q8ZrT2vLx9Pw4Kd7mHfBhGAkWv",
        ] {
            assert!(!fires(l, false), "{l}");
        }
    }

    #[test]
    fn short_stopwords_only_start_a_word() {
        // `min`, `uri`, `len`, `url` inside a word are no stopword.
        for l in [
            r#"admin_password = "Xk7mQ2pLw9vRtq""#,
            r#"administrator_login_password = "Xk7mQ2pLw9vRtq""#,
            "SECURITY_TOKEN=hGAkWvj7FAc9QeWJKY40uvSw",
            "silent_pwd: q8ZrT2vLx9Pw4Kd7",
        ] {
            assert!(fires(l, false), "{l}");
        }
        for l in [
            "min_password_length: q8ZrT2vLx9Pw4Kd7",
            "passwordMinLength: q8ZrT2vLx9Pw4Kd7",
            "TOKEN_URL=q8ZrT2vLx9Pw4Kd7",
            "tokenUri: q8ZrT2vLx9Pw4Kd7",
        ] {
            assert!(!fires(l, false), "{l}");
        }
    }

    #[test]
    fn file_names_code_paths_and_types_do_not() {
        for l in [
            // .cargo-checksum.json: file names mapped to their SHA-256.
            r#"{"files":{"src/types/_access_key.rs":"c63c70ca136b06e5199c329fb28a8d92a0db1b68df84f8c0155e8b4bfa880157"}}"#,
            r#""secret_key.rs":"3e872f9addccdfb28e0a74bda3b1405d877d36a92894fffc2c5dc8f1bee5c1dd""#,
            // Rust match arms and paths.
            r#"    Kind::Credentials => "AWS_SHARED_CREDENTIALS_FILE","#,
            "    let token: cpuid_aes_sha::InitToken = cpuid_aes_sha::init();",
            "    pass: diesel::query_builder::AstPass<'_, 'b, Self>,",
            "def token      : ValueType<0, 248>;",
            "  using _Token = __use_future_ct<decay_t<_Func>, _ProtoAllocator>;",
            r#"  "credentialsLocation": "C:\users\user\.aws\credentials""#,
            "Authorization: AWS4-HMAC-SHA256 Credential=ANOTREAL/20090213/us-east-1/s3/aws4_request",
            "CODECOV_TOKEN: ENCRYPTED[cfd48b16731c254067ef7b39a7083384127a594c6ad52e51cc32982da2eb8cc67c0a54f69736c29559a28664c615ab99]",
        ] {
            assert!(!fires(l, false), "{l}");
        }
        // The same secrets under plain keys still fire.
        for l in [
            r#""secret_key":"3e872f9addccdfb28e0a74bda3b1405d877d36a92894fffc2c5dc8f1bee5c1dd""#,
            "token: cpuid_aes_sha_InitToken_9f8Xk2",
            "DB_PASSWORD=Xk7#mQ2p<Lw9vRt",
            "password: q8Zr::T2vLx9Pw4Kd7!",
        ] {
            assert!(fires(l, false), "{l}");
        }
        // Unquoted identifiers in C++ template code are expressions.
        assert!(!fires("_M_token = _S_token_subexpr_no_group_begin;", true));
        assert!(super::super::is_code_path("bits/regex_scanner.tcc"));
    }

    #[test]
    fn kubernetes_secret_data() {
        let y = "apiVersion: v1\nkind: Secret\ndata:\n  DB_PASSWORD: cUI1SUdLeTRPbzhEIWlJTVc=\n  user: YWRtaW4=\n";
        let mut out = Vec::new();
        k8s_secret(y.as_bytes(), &mut out, &|_| false);
        assert_eq!(out.len(), 1);
        assert_eq!(&y[out[0].start..out[0].end], "cUI1SUdLeTRPbzhEIWlJTVc=");
        // Non-secret config under data: is judged decoded (sslmode=disable, a host name).
        let cfg = "kind: Secret\ndata:\n  DB_OPTIONS: c3NsbW9kZT1kaXNhYmxl\n  DB_HOST: ZGIuaW50ZXJuYWwuY29ycA==\n";
        out.clear();
        k8s_secret(cfg.as_bytes(), &mut out, &|_| false);
        assert!(out.is_empty(), "{out:?}");
        let cm = y.replace("kind: Secret", "kind: ConfigMap");
        out.clear();
        k8s_secret(cm.as_bytes(), &mut out, &|_| false);
        assert!(out.is_empty());
    }

    /// Audit of issue 11: names and slots found on a tree of vendored code and docs.
    #[test]
    fn names_and_slots_in_vendored_text_do_not_fire() {
        for (l, code) in [
            // A Fluent message referring to another (age's i18n).
            (
                "err-mixed-recipient-passphrase = {-scrypt-recipient} can't be used.",
                false,
            ),
            ("hint-passphrase = { $kind } passphrase for {-age}", false),
            // A make target and its object file; a table's id and label.
            (
                "git-credential-osxkeychain: git-credential-osxkeychain.o",
                false,
            ),
            (
                "    [   'crc-16-buypass',   'Crc16Buypass',     0x18005,   ],",
                true,
            ),
            // A Maven coordinate in a note: `token` inside a package name.
            (
                "notes = \"Maven - io.jsonwebtoken:jjwt-jackson-0.11.2\"",
                false,
            ),
            (
                "implementation \"io.jsonwebtoken:jjwt-jackson:0.11.2\"",
                false,
            ),
            ("jjwt-api = \"io.jsonwebtoken:jjwt-api:0.12.6\"", false),
            // A type in a signature, closed by brackets.
            (
                "    `{pem: <string|buffer>[, passphrase: <string>]}`. The object form",
                false,
            ),
        ] {
            assert!(!fires(l, code), "{l}");
        }
        // The same shapes holding secrets still fire.
        for (l, code) in [
            ("getenv(\"api_token\", \"q8ZrT2vLx9Pw4Kd7mHfB\")", true),
            ("passphrase = Qz8r{-T2v!Lx9}Pw4", false),
            ("deploy_token: q8ZrT2vLx9Pw4Kd7mHfB", false),
            ("deploy_token: q8ZrT2vLx9Pw-4Kd7.mHfB", false),
            // Passwords that end in a version-like number are still passwords.
            ("DB_PASSWORD=Summer-2024.1", false),
            ("DB_PASSWORD2=\"Kx9mQ2vLp7Rt-4.2\"", false),
            ("password: Tr0ub4dor-3.14", false),
            ("ADMIN_PASSWORD=welcome-1.2", false),
            ("AUTH_TOKEN=Zx81Qw_Lm27Pk-v2.0", false),
            ("curl -u admin:Kx9mQ2vLp7Rt-4.2 https://ci.internal/", false),
            ("<password>Kx9mQ2vLp7Rt-4.2</password>", false),
            ("com.acme.db.password=summer-2024.1", false),
            ("com.example.password: hunter-two-1.2.3", false),
            ("api_key: api_key_4f8aQ2vLx9Pw4Kd7mHfB", false),
            ("API_TOKEN=api_token_q8Zr", false),
            ("password: \"Xk7#mQ{-pL}w9vRt8\"", false),
            ("token: \"Xk7#mQ{$pL}w9vRt8\"", false),
            (
                "config.set(\"auth\", \"password\", \"q8ZrT2vLx9Pw4Kd7mHfB\")",
                true,
            ),
        ] {
            assert!(fires(l, code), "{l}");
        }
    }

    /// Audit of issue 11: a decoded value is scanned by every rule, so a URL with a
    /// password, a provider token or a config file under a plain name is found.
    #[test]
    fn kubernetes_secret_data_scanned_by_every_rule() {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let pw: String = (0..18).map(|i| (b'a' + (i * 7 + 3) % 26) as char).collect();
        let pw = format!("{pw}Q7x");
        let set = super::super::rule::RuleSet::builtin();
        for inner in [
            format!("postgres://app:{pw}@db.prod.internal:5432/app"),
            format!("[default]\naws_secret_access_key = {pw}Kd9wN8vLq2Zr4\n"),
            format!("DB_PASSWORD={pw}\n"),
        ] {
            let y = format!("kind: Secret\ndata:\n  settings: {}\n", b64(&inner));
            let found = set.find(y.as_bytes(), false);
            assert!(found.iter().any(|c| c.rule == K8S_ID), "{inner}: {found:?}");
        }
        // A plain value under a plain name stays quiet.
        let y = format!(
            "kind: Secret\ndata:\n  settings: {}\n",
            b64("log_level=debug")
        );
        assert!(set.find(y.as_bytes(), false).is_empty());
    }

    /// Issue 11: shapes `kubectl get -o yaml` and hand-written manifests take: `data:`
    /// before `kind:`, tab indents, `kind: secret`, quoted values, block scalars, and weak
    /// but real values (`admin:password`, a short password under `password`).
    #[test]
    fn kubernetes_secret_shapes() {
        let cases = [
            "apiVersion: v1\ndata:\n\tpassword: UyFCXCpkJHpEc2I9\n\tusername: YWRtaW4=\nkind: Secret\n",
            "apiVersion: v1\n data:\n \textra: YWRtaW46cGFzc3dvcmQ=\n kind: secret\n",
            "apiVersion: 'v1'\ndata:\n\textra: 'YWRtaW46cGFzc3dvcmQ='\nkind: 'Secret'\n",
            "apiVersion: v1\ndata:\n  .dockercfg: |\n    eyJhdXRocyI6eyJodHRwczovL3JlZy5pbnRlcm5hbC92MS8iOnsiYXV0aCI6IlpHVndiRzk1T25FNFduSlVNblpNZURsUWR6UkxaRGM9In19fQo=\nkind: Secret\n",
            "kind: Secret\ndata:\n  # base64 of the password\n  key: bXlwYXNzd29yZA==\n",
        ];
        for y in cases {
            let mut out = Vec::new();
            k8s_secret(y.as_bytes(), &mut out, &|_| false);
            assert_eq!(out.len(), 1, "{y:?}: {out:?}");
        }
    }

    /// Issue 11: passwords full of symbols are judged by their shape, not rejected for a
    /// brace; only a well-formed template or expression is a reference.
    #[test]
    fn symbol_passwords_and_precise_templates() {
        // Built at test time: a symbol-heavy password holding braces, `$` and brackets.
        let soup = ["q{{Z}r)T", "${v]Lx9(P", "w[4Kd>-_$#", "mQ2p}}"].concat();
        for l in [
            format!("api_key = {soup}"),
            format!("db_pass: {soup},"),
            format!("password: \"{soup}\""),
            "password = \"K,.:-@*?!x\"".to_string(),
            "secret = K,.:-@*?!x".to_string(),
        ] {
            assert!(fires(&l, false), "{l}");
        }
        for l in [
            "password: ${DB_PASSWORD}",
            "password: ${DB_PASSWORD:-local}",
            "password: \"prefix-${DB_PASSWORD}\"",
            "token: \"${{ secrets.DEPLOY_TOKEN }}\"",
            "password: \"{{ .Values.db.password | b64enc }}\"",
            "password: \"#{db_password}\"",
            "password: \"%(db_password)s\"",
            "password: %DB_PASSWORD%",
            "password: <your-password>",
            "password: \"<%= ENV['DB_PASSWORD'] %>\"",
            "password: !vault |",
            "password: *db_password",
            "api_key = \"{api_key_from_config}\"",
            "password = os.environ['DB_PASSWORD']",
            "password: getenv(\"DB_PASSWORD\")",
            "password = \",.:-@*?!\"",
            "password: ''",
        ] {
            assert!(!fires(l, false), "{l}");
        }
        // A keyword inside sops ciphertext, before base64 padding, is no key: what follows
        // the `=` is the next field of the ENC[…] value.
        let enc = "DB_PASSWORD: ENC[AES256_GCM,data:q8ZrTPASS=,iv:Zq8rT2vLx9Pw4Kd7mHfB+q8ZrT2vLx9Pw4Kd7mHfBq=,tag:Zq8rT2vLx9Pw4Kd7mHfBqw==,type:str]";
        assert!(!fires(enc, false), "{enc}");
        assert!(!fires("password = ,K.:-@*?!x", false));
        assert!(is_template(b"${DB_PASSWORD}"));
        assert!(!is_template(soup.as_bytes()));
        // In source code an unquoted value is an expression, even one no language parses:
        // detect-secrets's fixtures count the same line as a secret in Go and as none in C,
        // Python or JavaScript.
        assert!(!fires(&format!("db_pass := {soup}"), true));
    }

    /// Issue 11: comparisons with a literal in either order, Go's `:=`, Objective-C's `@"…"`,
    /// C arrays, a DSL statement and YAML block scalars.
    #[test]
    fn more_assignment_shapes() {
        let v = "TXY856yFrGRJkzbfJnZvfvi2EaqcgcBg";
        for l in [
            format!("if (api_key == \"{v}\") {{"),
            format!("if (db_pass !== '{v}') {{"),
            format!("if (\"{v}\" == password) {{"),
            format!("if (\"{v}\" !== my_secret) {{"),
            format!("apikey := \"{v}\""),
            format!("password = @\"{v}\";"),
            format!("char secret[33] = \"{v}\";"),
            format!("secret[] = \"{v}\";"),
            format!("password \"{v}\";"),
        ] {
            assert!(fires(&l, true), "{l}");
        }
        for l in [
            "if (password == other_password) {".to_string(),
            "if (token != null) {".to_string(),
            format!("log(\"the password \"{v}\" is wrong\")"),
            format!("if (\"{v}\" == username) {{"),
        ] {
            assert!(!fires(&l, true), "{l}");
        }
        assert!(fires(&format!("password: >-\n  {v}\nuser: app\n"), false));
        assert!(fires(&format!("password: |\n    {v}\n"), false));
        // A block of several lines is a file, left to the key and certificate rules.
        assert!(!fires(
            "token: |\n  line one of a file\n  line two of a file\n",
            false
        ));
    }

    /// Issue 11: passphrases of words, and dictionary passwords under a password's name; not
    /// prompts, messages or identifiers.
    #[test]
    fn passphrases_and_dictionary_passwords() {
        for (l, code) in [
            ("password = \"correct horse battery staple\"", true),
            ("api_key: 'value with quotes and spaces'", false),
            ("aws_secret_access_key: tumble orbit velvet canyon", false),
            (
                "  password: correct horse battery staple # rotated yearly",
                false,
            ),
            ("password: CorrectHorseBatteryStaple", false),
            ("DB_PASSWORD=PurpleMonkeyDishwasher", false),
        ] {
            assert!(fires(l, code), "{l}");
        }
        for (l, code) in [
            ("password = \"Enter your password\"", true),
            (
                "token_hint = \"Paste the token from the settings page\"",
                true,
            ),
            ("secret = \"Token has expired, log in again\"", true),
            ("password = \"doesnt start right\"", true),
            ("password = \"too short phrase\"", true),
            ("error = \"Invalid password for user admin\"", true),
            ("Password: the one from the vault", false),
            ("token: see the wiki for how to get one", false),
            ("SECRET = \"several words, then a sentence.\"", true),
            ("token = 'GoogleApplicationCredentials'", false),
            ("password: GOOGLE_APPLICATION_CREDENTIALS", false),
        ] {
            assert!(!fires(l, code), "{l}");
        }
    }

    /// Issue 11: a password a person chose (letters with digits or symbols, less random
    /// than a generated value) counts under a password's name, and only there.
    #[test]
    fn chosen_passwords_under_a_password_name() {
        for (l, code) in [
            ("administrator_login_password = \"thisIsDog11\"", false),
            ("DB_PASSWORD=summer2019!", false),
            ("db_pass = \"hunter42x\"", true),
        ] {
            assert!(fires(l, code), "{l}");
        }
        for (l, code) in [
            // Not a password's name: the same value is not random enough to count.
            ("api_key = \"thisIsDog11\"", false),
            ("display_name = \"thisIsDog11\"", false),
            // Under a password's name, still not: references, identifiers, letters alone.
            ("password = \"${DB_PASSWORD}\"", false),
            ("password: db_password_2", false),
            ("password = \"rootpasswd\"", false),
            ("password = \"password123\"", false),
            ("password = \"changeme1\"", false),
            ("password = \"12345678\"", false),
            ("ibm-cloud-pwd = shorter-version", false),
            ("\"password\": \"pass%5B%7F\"", false),
            // A locale file's labels, an algorithm, a version.
            ("  password: \"Passwort:\"", false),
            ("  password: Kennwort*", false),
            ("  password: \"Wachtwoord:\"", false),
            ("password: tls1.2", false),
        ] {
            assert!(!fires(l, code), "{l}");
        }
    }

    /// Issue 11: keys that name an id, an anti-forgery token or a provider whose format a
    /// provider rule checks; values carrying a provider's prefix.
    #[test]
    fn keys_and_values_left_to_other_rules() {
        for l in [
            "\"credentialId\": \"Bq8ZrT2vLx9Pw4Kd7mQ2p\"",
            "csrf-token=Mq8ZrT2vLx9Pw4Kd7mQ2pHfB+hGAkWvj7FAc9QeWJ==",
            "telegram_api_token = \"1234:Aq8ZrT2vLx9Pw4Kd7mQ2pHfBhGAk\"",
            "meraki_api_key: Aq8ZrT2vLx9Pw4Kd7mQ2pHfBhGAk",
            "\"token\": \"xoxp-1234-1234-1234-q8ZrT2vLx9Pw4Kd7mQ2pHfB\"",
            "token = \"sm_pat_q8ZrT2vLx9\"",
        ] {
            assert!(!fires(l, false), "{l}");
        }
        assert!(fires("\"credential\": \"Bq8ZrT2vLx9Pw4Kd7mQ2p\"", false));
    }

    /// Issue 11: a UUID under a token's, secret's or password's name is a token (Heroku,
    /// Snyk, npm legacy tokens); under other names it is an id.
    #[test]
    fn uuid_tokens() {
        let u = "4c1a9b7e-2f3d-4e8a-9b6c-7d2e1f0a3b5c";
        for l in [
            format!("api_token: {u}"),
            format!("getenv(\"api_token\", \"{u}\")"),
            format!("HEROKU_API_KEY={u}"),
        ] {
            assert!(fires(&l, false), "{l}");
        }
        for l in [
            format!("request_id: {u}"),
            format!("credentials: {u}"),
            "api_token: 00000000-0000-0000-0000-000000000000".to_string(),
        ] {
            assert!(!fires(&l, false), "{l}");
        }
    }

    /// In C, C++ and Objective-C `'…'` is a character constant: a single-quoted run is no
    /// string value.
    #[test]
    fn char_quoted_runs_in_c_family_source() {
        let set = super::super::rule::RuleSet::builtin();
        let v = "TXY856yFrGRJkzbfJnZvfvi2EaqcgcBg";
        let single = format!("api_key = '{v}';");
        let double = format!("api_key = \"{v}\";");
        assert!(set.find_in(single.as_bytes(), true, true).is_empty());
        assert!(!set.find_in(double.as_bytes(), true, true).is_empty());
        assert!(!set.find_in(single.as_bytes(), true, false).is_empty());
        assert!(super::super::has_char_quotes("src/main.c"));
        assert!(!super::super::has_char_quotes("app.py"));
        assert!(!super::super::has_char_quotes("main.go"));
        // HCL: an unquoted value is an expression.
        assert!(super::super::is_code_path("infra/main.tf"));
        assert!(!fires(&format!("password = {v}"), true));
    }

    #[test]
    fn odd_input_does_not_panic() {
        for s in [
            "password",
            "password=",
            "password:\"",
            "pass=\"\\",
            "token: '",
            ":=",
            "\u{0}pass\u{ff}=",
            "password: >-",
            "password: >-\n",
            "== pass",
            "\"\" == pass",
            "pass[",
            "pass[12",
            "password \"",
            "@\"",
        ] {
            let _ = fires(s, false);
            let _ = fires(s, true);
        }
    }
}
