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
];

/// One automaton over [`KEY_STOPWORDS`]: a key is checked in one pass, not once per word
/// (this ran at every keyword hit, and was a sixth of a scan of dense JSON).
fn stopwords() -> &'static aho_corasick::AhoCorasick {
    static AC: std::sync::OnceLock<aho_corasick::AhoCorasick> = std::sync::OnceLock::new();
    AC.get_or_init(|| {
        aho_corasick::AhoCorasick::new(KEY_STOPWORDS).expect("stopwords are plain strings")
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
    let lower = key.to_ascii_lowercase();
    if stopwords().is_match(lower.as_bytes()) {
        return None;
    }
    KEYWORDS.iter().copied().find(|k| lower.contains(k))
}

/// Parses the assignment around a keyword at `ks..ke`. Returns `None` when this is not a
/// key at all, else the end of the key (so other keywords in it are skipped) and maybe a
/// candidate.
pub fn at(hay: &[u8], ks: usize, ke: usize, code: bool) -> Option<(Option<Candidate>, usize)> {
    let mut kstart = ks;
    while kstart > 0 && is_key_byte(hay[kstart - 1]) && ks - kstart < 64 {
        kstart -= 1;
    }
    let mut kend = ke;
    while kend < hay.len() && is_key_byte(hay[kend]) && kend - ke < 64 {
        kend += 1;
    }
    let key = hay[kstart..kend].to_ascii_lowercase();
    if stopwords().is_match(&key) || is_path_or_code_key(hay, kstart, &key) {
        return Some((None, kend));
    }
    Some((value_after_key(hay, kend, code), kend))
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

fn value_after_key(hay: &[u8], kend: usize, code: bool) -> Option<Candidate> {
    let n = hay.len();
    let mut p = kend;
    // Closing quote or bracket of the key: "password": / ['password'] =
    let mut quoted = false;
    while p < n && matches!(hay[p], b'"' | b'\'' | b'`' | b']') && p - kend < 3 {
        quoted |= hay[p] != b']';
        p += 1;
    }
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
            Some(b'"' | b'\'' | b'`') => value_at(hay, q, code),
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
    value_at(hay, p, code)
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

/// The value starting at `p`: a quoted literal, or (outside code) a bare word.
fn value_at(hay: &[u8], p: usize, code: bool) -> Option<Candidate> {
    let n = hay.len();
    if p >= n {
        return None;
    }
    // YAML tags and flags: `!vault |`, `|`, `>`.
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
            if e >= n || hay[e] != q {
                return None;
            }
            (s, e)
        }
        _ => {
            if code {
                return None; // an expression, not a literal
            }
            let s = p;
            let mut e = s;
            while e < n
                && !matches!(
                    hay[e],
                    b' ' | b'\t' | b'\r' | b'\n' | b',' | b';' | b'"' | b'\''
                )
                && e - s < 512
            {
                e += 1;
            }
            (s, e)
        }
    };
    if vs >= ve || ve > n {
        return None;
    }
    let value = &hay[vs..ve];
    if looks_secret(value) {
        Some(Candidate {
            rule: ID,
            start: vs,
            end: ve,
            known: None,
        })
    } else {
        None
    }
}

/// Does this free-form value look like a real secret rather than a placeholder, reference,
/// identifier, path, URL, hash of something public, or ciphertext?
pub fn looks_secret(v: &[u8]) -> bool {
    if v.len() < 8 || v.len() > 512 {
        return false;
    }
    if entropy::is_reference(v)
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
    if is_word_identifier(v) {
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
    if entropy::contains(v, b"://") || v.contains(&b'(') || v.contains(&b'{') {
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
    let e = entropy::shannon(v);
    let classes = entropy::char_classes(v);
    if v.iter().all(u8::is_ascii_hexdigit) {
        return v.len() >= 16 && e >= 3.0;
    }
    (classes >= 3 && e >= 3.0) || (classes >= 2 && e >= 3.5 && v.len() >= 16)
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

/// `C:\\Users\\me\\.aws\\credentials`: a Windows path, escaped or not.
fn is_windows_path(v: &[u8]) -> bool {
    v.len() > 3 && v[0].is_ascii_alphabetic() && v[1] == b':' && v[2] == b'\\'
}

/// Values under `data:` (base64) and `stringData:` of a Kubernetes `kind: Secret`, in
/// whatever order the keys come (`data:` before `kind:` in `kubectl get -o yaml`), indented
/// with spaces or tabs, `kind` in any case or quoted, and a value on the next lines after
/// `|` or `>`.
pub fn k8s_secret(hay: &[u8], out: &mut Vec<Candidate>) {
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
                Ok(d) => decoded_looks_secret(&key, &d),
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
        && !stopwords().is_match(key.as_bytes())
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
            "creds = sqUJ3GZf464DpFuRymESA7cIFmBdVQ",
            "private-key: U-NcFzBenVF2NmGabzOpH1R49n4fS9zqQ",
        ] {
            assert!(fires(l, false), "{l}");
        }
        // Declared types and call arguments in code.
        for l in [
            "var genericToken string = \"Zf3D0LXCM3EIMbgJpUNnkRtOfOueHznB\"",
            "val apiToken: String = \"Zf3D0LXCM3EIMbgJpUNnkRtOfOueHznB\"",
            "API_TOKEN: str = \"Zf3D0LXCM3EIMbgJpUNnkRtOfOueHznB\"",
            "env_or(\"api_token\", \"Zf3D0LXCM3EIMbgJpUNnkRtOfOueHznB\")",
        ] {
            assert!(fires(l, true), "{l}");
        }
        for l in [
            "names = [\"api_token\", \"refresh_token\"]",
            "var token string",
            "token: String,",
            "getenv(\"API_TOKEN\", \"\")",
            "if token string == \"Zf3D0LXCM3EIMbgJpUNnkRtOfOueHznB\" {",
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
        k8s_secret(y.as_bytes(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(&y[out[0].start..out[0].end], "cUI1SUdLeTRPbzhEIWlJTVc=");
        // Non-secret config under data: is judged decoded (sslmode=disable, a host name).
        let cfg = "kind: Secret\ndata:\n  DB_OPTIONS: c3NsbW9kZT1kaXNhYmxl\n  DB_HOST: ZGIuaW50ZXJuYWwuY29ycA==\n";
        out.clear();
        k8s_secret(cfg.as_bytes(), &mut out);
        assert!(out.is_empty(), "{out:?}");
        let cm = y.replace("kind: Secret", "kind: ConfigMap");
        out.clear();
        k8s_secret(cm.as_bytes(), &mut out);
        assert!(out.is_empty());
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
            k8s_secret(y.as_bytes(), &mut out);
            assert_eq!(out.len(), 1, "{y:?}: {out:?}");
        }
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
        ] {
            let _ = fires(s, false);
            let _ = fires(s, true);
        }
    }
}
