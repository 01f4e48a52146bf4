//! The rule engine: one Aho-Corasick automaton over every rule's keywords finds the few
//! places worth a closer look, and only there do the rule's byte regexes run (compiled on
//! first use, so a scan of a few staged files compiles only the rules its text mentions).
//! One giant alternation of all rules would be slower and would compile everything up front.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::bytes::Regex;
use std::sync::OnceLock;

use super::{entropy, generic, shapes};

/// Extra validation a rule's match must pass beyond the regex and entropy floor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    None,
    /// The password part of a URL: not a placeholder, reference or the user name again.
    UrlPassword,
    /// Base64 of `user:password` with a real password: a docker `auths` entry, a Basic
    /// header, a value under an `…auth` name.
    UserPassBase64,
    /// A free-form value judged like a generic assignment.
    Value,
    /// A value the context calls a password (`curl -u`, `.netrc`, `<password>`): judged
    /// like a generic assignment, or as a password a person chose.
    Password,
    /// A provider value found by the provider's name: the entropy floor and placeholder
    /// words, not the typed-run checks (the name already says what it is).
    Named,
    /// A JSON Web Token: its header (and the claims of one without a signature) must decode
    /// to a JSON object.
    Jwt,
    /// Base64 of a JSON Web Token, judged as [`Check::Jwt`] once decoded.
    Base64Jwt,
    /// A key block: judged by its body's entropy alone. Real key bodies hold runs of `A`
    /// (zero bytes: OpenSSH's length fields), which the placeholder check rejects.
    Key,
}

/// One detection rule, as data.
#[derive(Debug)]
pub struct Rule {
    pub id: &'static str,
    pub description: &'static str,
    /// Lower-case keywords; the regex runs only near one of them.
    pub keywords: &'static [&'static str],
    /// A `regex::bytes` pattern; group `s` (or the whole match) is the secret.
    pub regex: &'static str,
    /// Minimum Shannon entropy (bits per byte) of the secret.
    pub entropy: Option<f64>,
    pub check: Check,
    /// The match may span lines (PEM blocks, .netrc).
    pub multiline: bool,
    /// Lines that must fire, and lines that must not (checked by a unit test).
    pub trues: &'static [&'static str],
    pub falses: &'static [&'static str],
}

impl Rule {
    /// How far past the keyword's line the regex looks: nothing for single-line rules,
    /// [`WINDOW`] for blocks, a few lines for a value under its XML element's name.
    fn reach(&self) -> Option<usize> {
        match (self.multiline, self.check) {
            (false, _) => None,
            (true, Check::Named) => Some(NAMED_REACH),
            (true, _) => Some(WINDOW),
        }
    }
}

/// How far past its line a named rule looks: `<apiKey>` and the value on the next line.
const NAMED_REACH: usize = 160;

/// A candidate secret: which rule, and where the secret lies in the scanned bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub rule: &'static str,
    pub start: usize,
    pub end: usize,
    /// For a known value: which one ([`super::KnownValues::fingerprint`]).
    pub known: Option<usize>,
}

/// What a keyword stands for.
#[derive(Clone, Copy, Debug)]
enum Target {
    Rule(usize),
    Generic,
    K8s,
    Block(Block),
}

/// Regions whose content is encrypted or encoded and must never fire.
#[derive(Clone, Copy, Debug)]
enum Block {
    Armor(&'static str),
    AnsibleVault,
    DataUri,
}

const ARMOR: &[(&str, &str)] = &[
    (
        "-----begin age encrypted file-----",
        "-----END AGE ENCRYPTED FILE-----",
    ),
    ("-----begin pgp message-----", "-----END PGP MESSAGE-----"),
    (
        "-----begin pgp public key block-----",
        "-----END PGP PUBLIC KEY BLOCK-----",
    ),
    (
        "-----begin pgp signature-----",
        "-----END PGP SIGNATURE-----",
    ),
];

/// How far around a keyword a single-line rule looks when the line is very long
/// (minified code); multi-line rules look this far past the keyword's line.
const WINDOW: usize = 2048;

/// The longest match a rule may make (a `curl` command line runs to some 600 bytes before
/// its `-u` value). A window is cut where its text may go on, so a keyword this close to
/// the end of the last window gets a window of its own: a match that starts there may run
/// past that end. Windows reach [`WINDOW`] bytes past their keyword, so each regex run
/// still moves on by at least this much.
const MAX_MATCH: usize = 1024;

/// The compiled rule set.
pub struct RuleSet {
    rules: Vec<&'static Rule>,
    regexes: Vec<OnceLock<Option<Regex>>>,
    ac: AhoCorasick,
    targets: Vec<Vec<Target>>,
}

impl RuleSet {
    pub fn builtin() -> RuleSet {
        Self::new(super::rules::all().collect())
    }

    pub fn new(rules: Vec<&'static Rule>) -> RuleSet {
        let mut words: Vec<String> = Vec::new();
        let mut targets: Vec<Vec<Target>> = Vec::new();
        let mut add = |w: &str, t: Target| {
            let w = w.to_ascii_lowercase();
            match words.iter().position(|x| *x == w) {
                Some(i) => targets[i].push(t),
                None => {
                    words.push(w);
                    targets.push(vec![t]);
                }
            }
        };
        for (i, r) in rules.iter().enumerate() {
            for k in r.keywords {
                add(k, Target::Rule(i));
            }
        }
        for k in generic::KEYWORDS.iter().chain([&generic::BARE_KEY]) {
            add(k, Target::Generic);
        }
        add("kind:", Target::K8s);
        for (begin, end) in ARMOR {
            add(begin, Target::Block(Block::Armor(end)));
        }
        add("$ansible_vault;", Target::Block(Block::AnsibleVault));
        add(";base64,", Target::Block(Block::DataUri));
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&words)
            .expect("keywords are plain strings");
        RuleSet {
            regexes: rules.iter().map(|_| OnceLock::new()).collect(),
            rules,
            ac,
            targets,
        }
    }

    pub fn rules(&self) -> &[&'static Rule] {
        &self.rules
    }

    fn regex(&self, i: usize) -> Option<&Regex> {
        self.regexes[i]
            .get_or_init(|| {
                // ASCII classes: `\w`, `\b` and `(?i)` over Unicode tables cost milliseconds
                // to compile per rule and slow the search; every token format is ASCII.
                regex::bytes::RegexBuilder::new(self.rules[i].regex)
                    .unicode(false)
                    .size_limit(1 << 22)
                    .build()
                    .ok()
            })
            .as_ref()
    }

    /// Whether a keyword or a keyword-free token shape ([`shapes`]) occurs in `hay`:
    /// without one, `find` finds nothing. Neither holds a newline (a test checks the
    /// keywords), so one in some of `hay`'s lines joined is in `hay`.
    pub fn may_match(&self, hay: &[u8]) -> bool {
        self.ac.is_match(hay) || shapes::may_occur(hay)
    }

    /// Every candidate in `hay`, deduplicated, with encrypted blocks removed. `code` says
    /// the text is program source, where generic values must be quoted literals.
    pub fn find(&self, hay: &[u8], code: bool) -> Vec<Candidate> {
        self.find_in(hay, code, false)
    }

    /// [`Self::find`] for a language where `'…'` is a character constant, not a string
    /// (C, C++, Objective-C: `char_quotes`), so a single-quoted run of several characters
    /// is no generic value.
    pub fn find_in(&self, hay: &[u8], code: bool, char_quotes: bool) -> Vec<Candidate> {
        let mut out: Vec<Candidate> = Vec::new();
        let mut blocks: Vec<(usize, usize)> = Vec::new();
        let mut ends: Vec<(&'static str, Option<usize>)> = Vec::new();
        let mut done_until = vec![0usize; self.rules.len()];
        let mut generic_until = 0usize;
        let mut k8s_done = false;
        for m in self.ac.find_overlapping_iter(hay) {
            for t in &self.targets[m.pattern().as_usize()] {
                match *t {
                    Target::Rule(i) => {
                        if m.start() < done_until[i] {
                            continue;
                        }
                        let rule = self.rules[i];
                        let (ws, we) = window(hay, m.start(), m.end(), rule.reach());
                        done_until[i] = if rule.multiline || we - m.end() >= WINDOW {
                            we.saturating_sub(MAX_MATCH).max(m.end())
                        } else {
                            we
                        };
                        super::work::add(we - ws);
                        if let Some(re) = self.regex(i) {
                            for c in re.captures_iter(&hay[ws..we]) {
                                let g = c.name("s").or_else(|| c.get(0));
                                if let Some(g) = g {
                                    let (s, e) = (ws + g.start(), ws + g.end());
                                    if accept(rule, &hay[s..e], &c) {
                                        out.push(Candidate {
                                            rule: rule.id,
                                            start: s,
                                            end: e,
                                            known: None,
                                        });
                                    }
                                }
                            }
                        }
                    }
                    Target::Generic => {
                        if m.start() < generic_until {
                            continue;
                        }
                        if let Some((c, key_end)) =
                            generic::at(hay, m.start(), m.end(), code, char_quotes)
                        {
                            generic_until = key_end;
                            if let Some(c) = c {
                                out.push(c);
                            }
                        }
                    }
                    Target::K8s => {
                        if !k8s_done {
                            k8s_done = true;
                            generic::k8s_secret(hay, &mut out, &|decoded| {
                                !self.find_in(decoded, false, false).is_empty()
                            });
                        }
                    }
                    Target::Block(b) => {
                        // A block's marker inside the previous block is part of it: a file of
                        // repeated BEGIN lines with no END is one block, not one search each.
                        if blocks.last().is_none_or(|&(_, e)| m.start() >= e) {
                            blocks.push(block_range(hay, m.start(), m.end(), b, &mut ends));
                        }
                    }
                }
            }
        }
        shapes::find(hay, &mut out);
        out.sort_by_key(|c| (c.start, priority(c.rule)));
        if !blocks.is_empty() {
            // Both sorted by start and the blocks disjoint: one pass over each.
            let mut b = blocks.iter().peekable();
            out.retain(|c| {
                while b.next_if(|&&(_, e)| e <= c.start).is_some() {}
                b.peek().is_none_or(|&&(s, _)| c.start < s)
            });
        }
        dedupe(out)
    }
}

/// The text a rule's regex sees around a keyword at `s..e`: its line, cut to [`WINDOW`]
/// bytes on each side; a multi-line rule sees the rest of the line (up to [`WINDOW`] bytes)
/// and `reach` bytes past it. Only the bytes of the window are looked at, so on a long
/// line each keyword costs the same.
fn window(hay: &[u8], s: usize, e: usize, reach: Option<usize>) -> (usize, usize) {
    let from = s.saturating_sub(WINDOW);
    let ws = memchr::memrchr(b'\n', &hay[from..s]).map_or(from, |p| from + p + 1);
    let we = if let Some(past_line) = reach {
        // The line's end is looked for only [`WINDOW`] bytes ahead: on a minified line
        // each keyword then costs the same, not the rest of the line.
        let to = (e + WINDOW).min(hay.len());
        let line_end = memchr::memchr(b'\n', &hay[e..to]).map_or(to, |p| e + p);
        (line_end + past_line).min(hay.len())
    } else {
        let to = (e + WINDOW).min(hay.len());
        memchr::memchr(b'\n', &hay[e..to]).map_or(to, |p| e + p)
    };
    super::work::add(s - ws + we - e);
    (ws, we)
}

fn accept(rule: &Rule, secret: &[u8], caps: &regex::bytes::Captures) -> bool {
    if super::published::is_published_example(secret) {
        return false;
    }
    if let Some(min) = rule.entropy {
        if entropy::shannon(secret) < min {
            return false;
        }
    }
    let placeholder = match rule.check {
        Check::Key => false,
        Check::Named => entropy::has_placeholder_word(secret),
        Check::None => match without_id_segments(secret) {
            std::borrow::Cow::Borrowed(token) => entropy::is_placeholder(token),
            // The random part alone: held to the free-form value's words too
            // (`YourSlackBotTokenHere`), and to typed runs in either case (`AbCdEfGh…`).
            std::borrow::Cow::Owned(tail) => {
                entropy::is_weak_placeholder(&tail)
                    || entropy::has_sequence(&tail.to_ascii_lowercase(), 8)
            }
        },
        _ => entropy::is_placeholder(secret),
    };
    if placeholder {
        return false;
    }
    match rule.check {
        Check::Named => true,
        Check::Key => key_body_ok(secret),
        Check::None => true,
        Check::Value => generic::looks_secret(secret),
        Check::Password => generic::looks_secret(secret) || generic::is_chosen_password(secret),
        Check::UrlPassword => {
            let user = caps.name("u").map_or(&b""[..], |u| u.as_bytes());
            url_password_ok(user, secret, caps.get(0).map_or(&b""[..], |m| m.as_bytes()))
        }
        Check::UserPassBase64 => user_pass_base64_ok(secret),
        Check::Jwt => jwt_ok(secret),
        Check::Base64Jwt => base64_jwt_ok(secret),
    }
}

/// A token without its all-digit `-` segments: those are account, team or user IDs
/// (`xoxb-123456789012-…`, `xoxa-2-511111111-…`), which people shorten to `1111…` in real
/// tokens too; the placeholder test belongs to the random part.
fn without_id_segments(token: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let is_id = |seg: &&[u8]| !seg.is_empty() && seg.iter().all(u8::is_ascii_digit);
    if !token.split(|&b| b == b'-').any(|seg| is_id(&seg)) {
        return std::borrow::Cow::Borrowed(token);
    }
    let kept = token
        .split(|&b| b == b'-')
        .filter(|seg| !is_id(seg))
        .collect::<Vec<_>>()
        .join(&b'-');
    // Too little left to judge (`0000-0000-…`): the digits are the token.
    if kept.len() < 12 {
        return std::borrow::Cow::Borrowed(token);
    }
    std::borrow::Cow::Owned(kept)
}

/// Header and claims of a JWT (`header.claims[.signature]`, or the five parts of an
/// encrypted one): the header is a base64url JSON object (told by its braces: a header with a damaged byte inside is still a token's), and
/// so are the claims when the signature is missing.
fn jwt_ok(token: &[u8]) -> bool {
    let parts: Vec<&[u8]> = token.split(|&b| b == b'.').collect();
    let is_object = |part: &[u8]| {
        use base64::Engine;
        lenient_base64(&base64::alphabet::URL_SAFE)
            .decode(part)
            .is_ok_and(|d| {
                let t = d.trim_ascii();
                t.starts_with(b"{") && t.ends_with(b"}")
            })
    };
    match parts.as_slice() {
        [header, _, _] | [header, _, _, _, _] => is_object(header),
        [header, claims] => is_object(header) && is_object(claims),
        _ => false,
    }
}

fn base64_jwt_ok(b64: &[u8]) -> bool {
    use base64::Engine;
    lenient_base64(&base64::alphabet::STANDARD)
        .decode(b64)
        .is_ok_and(|jwt| jwt_ok(jwt.trim_ascii()))
}

/// A decoder that takes base64 as tokens carry it: padded or not, spare bits allowed.
fn lenient_base64(alphabet: &base64::alphabet::Alphabet) -> base64::engine::GeneralPurpose {
    base64::engine::GeneralPurpose::new(
        alphabet,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    )
}

/// The base64 of a key block after its `-----BEGIN …-----` line: random enough for key
/// material (a real body scores above 5 bits per character; `xxxx…`, `AAAA…` or a typed
/// run do not).
fn key_body_ok(block: &[u8]) -> bool {
    let after_header = memchr::memmem::find_iter(block, b"-----")
        .nth(1)
        .map_or(block, |p| &block[p + 5..]);
    let body: Vec<u8> = after_header
        .iter()
        .copied()
        .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/'))
        .collect();
    body.len() >= 40 && entropy::shannon(&body) >= 4.5 && !entropy::has_sequence(&body, 8)
}

fn url_password_ok(user: &[u8], pass: &[u8], whole: &[u8]) -> bool {
    // A password holding a placeholder word (`mypassword`, `REPLACE_WITH_PASSWORD`) is one,
    // unless it mixes three kinds of character, as a chosen password does (`MySecretPass93`).
    let wordy = entropy::is_weak_placeholder(pass) && entropy::char_classes(pass) < 3;
    if pass == user || is_templated(pass) || wordy || entropy::is_placeholder(pass) {
        return false;
    }
    // CVS's `cvs://:pserver:anoncvs@host`: an access method and a user, no password.
    if user.is_empty() && (pass.starts_with(b"pserver:") || pass.starts_with(b"ext:")) {
        return false;
    }
    // A documentation host (`db.example.com`) marks an example, unless the password is a
    // chosen one: people redact the host of a real URL more often than its password.
    let host = url_host(whole);
    let example = is_example_domain(&host) && entropy::char_classes(pass) < 3;
    !is_placeholder_host(&host) && !example && pass.len() >= 4 && entropy::shannon(pass) >= 2.0
}

/// A password that is a template slot, not a value: `${VAR}`, `$VAR`, `{{ x }}`, `{pw}`,
/// `%(pw)s`, `%s`. A `$` or `{` inside a real password (`q8$Zr{T2`) does not count.
fn is_templated(pass: &[u8]) -> bool {
    let ident =
        |s: &[u8]| !s.is_empty() && s.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_');
    let whole_var = pass
        .strip_prefix(b"$")
        .is_some_and(|rest| ident(rest) && !rest[0].is_ascii_digit());
    let braced = pass
        .strip_prefix(b"{")
        .and_then(|r| r.strip_suffix(b"}"))
        .is_some_and(ident);
    let printf = pass.len() <= 3 && pass.starts_with(b"%");
    whole_var
        || braced
        || printf
        || entropy::contains(pass, b"${")
        || entropy::contains(pass, b"{{")
        || entropy::contains(pass, b"%(")
}

/// The host of `scheme://user:pass@host:port/…`, lower-cased.
fn url_host(whole: &[u8]) -> Vec<u8> {
    let after_at = whole
        .iter()
        .rposition(|&b| b == b'@')
        .map_or(whole, |p| &whole[p + 1..]);
    let end = after_at
        .iter()
        .position(|b| matches!(b, b':' | b'/' | b'?' | b'#'))
        .unwrap_or(after_at.len());
    after_at[..end].to_ascii_lowercase()
}

/// A host that stands for "your host here": `host`, `hostname`.
fn is_placeholder_host(host: &[u8]) -> bool {
    matches!(host, b"host" | b"hostname" | b"your-host" | b"yourhost")
}

/// A domain reserved for documentation (RFC 2606): `example.com`, `db.example.org`.
fn is_example_domain(host: &[u8]) -> bool {
    host.starts_with(b"example.")
        || entropy::contains(host, b".example.")
        || host.ends_with(b".example")
}

fn user_pass_base64_ok(b64: &[u8]) -> bool {
    use base64::Engine;
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(b64) else {
        return false;
    };
    match decoded.iter().position(|&b| b == b':') {
        Some(p) => {
            let pass = &decoded[p + 1..];
            pass.len() >= 6 && !entropy::is_weak_placeholder(pass) && !entropy::is_reference(pass)
        }
        None => false,
    }
}

/// One candidate per span: a specific rule wins over the generic one when both match the
/// same secret. `v` is sorted by (start, priority).
fn dedupe(v: Vec<Candidate>) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::with_capacity(v.len());
    for c in v {
        if let Some(last) = out.last() {
            if c.start < last.end {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Lower wins when two rules find the same secret: provider formats, then context rules,
/// then the generic assignment check.
fn priority(rule: &str) -> u8 {
    match rule {
        generic::ID | generic::K8S_ID => 2,
        "npmrc-auth" | "bearer-token" | "netrc-password" | "url-password" | "docker-auths"
        | "auth-assignment" | "xml-password" | "config-add-secret" | "basic-auth"
        | "cli-password" | "curl-header" => 1,
        _ => 0,
    }
}

fn block_range(
    hay: &[u8],
    s: usize,
    e: usize,
    b: Block,
    ends: &mut Vec<(&'static str, Option<usize>)>,
) -> (usize, usize) {
    match b {
        Block::Armor(end) => {
            // The BEGIN marker matched in any case, so END is looked for in any case too.
            // Where each END is (or that there is none) is remembered: later markers would
            // each search to it again, quadratic in a file of BEGIN lines.
            let cached = ends.iter().find(|(x, _)| *x == end).map(|&(_, at)| at);
            let found = match cached {
                Some(at) if at.is_none_or(|at| at >= e) => at,
                _ => {
                    let at = memfind_ignore_case(&hay[e..], end.as_bytes()).map(|p| e + p);
                    ends.retain(|(x, _)| *x != end);
                    ends.push((end, at));
                    at
                }
            };
            // Only a body of armor hides what it holds: a BEGIN and an END line in comments
            // around `AWS_KEY = "AKIA…"` or a private key are no encrypted block. Without
            // one, only the marker itself is skipped, never the rest of its line (a whole
            // minified file) or of the file.
            let stop = found
                .filter(|&at| is_armor_body(&hay[e..at]))
                .map_or(e, |at| at + end.len());
            (s, stop)
        }
        Block::AnsibleVault => {
            // The header line, then lines of hex digits.
            let mut pos = hay[e..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(hay.len(), |p| e + p + 1);
            while pos < hay.len() {
                let end = hay[pos..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(hay.len(), |p| pos + p);
                let line = entropy::trim(&hay[pos..end]);
                if line.is_empty() || !line.iter().all(u8::is_ascii_hexdigit) {
                    break;
                }
                pos = (end + 1).min(hay.len());
            }
            (s, pos)
        }
        Block::DataUri => {
            let run = hay[e..]
                .iter()
                .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')))
                .map_or(hay.len(), |p| e + p);
            (s, run)
        }
    }
}

/// The text between an armor's BEGIN and END lines is armor: every line (lines split at
/// newlines or `\n` escapes, a comment marker (`#`, `//`, SQL's `--`), a diff's `-`/`+`,
/// quotes and string punctuation around them taken off) is blank, base64, a `=` checksum,
/// or one of the headers the armor formats define (`Version:`, `Comment:`, `Hash:`…).
fn is_armor_body(body: &[u8]) -> bool {
    const HEADERS: &[&[u8]] = &[
        b"version:",
        b"comment:",
        b"hash:",
        b"charset:",
        b"messageid:",
    ];
    let is_edge = |b: &u8| b" \t\r#/*;>'\",+\\-".contains(b);
    body.split(|&b| b == b'\n').all(|line| {
        line_pieces(line).all(|piece| {
            let start = piece
                .iter()
                .position(|b| !is_edge(b))
                .unwrap_or(piece.len());
            let end = piece
                .iter()
                .rposition(|b| !is_edge(b))
                .map_or(start, |p| p + 1);
            let t = &piece[start..end.max(start)];
            is_base64_line(t)
                || HEADERS
                    .iter()
                    .any(|h| t.len() >= h.len() && t[..h.len()].eq_ignore_ascii_case(h))
        })
    })
}

/// A line cut at its `\n` escapes (an armor inside a JSON or code string), a `\r` escape
/// before one taken off with it.
fn line_pieces(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(line);
    std::iter::from_fn(move || {
        let r = rest?;
        let piece = match memchr::memmem::find(r, b"\\n") {
            Some(p) => {
                rest = Some(&r[p + 2..]);
                &r[..p]
            }
            None => {
                rest = None;
                r
            }
        };
        Some(piece.strip_suffix(b"\\r").unwrap_or(piece))
    })
}

/// A line of armor once its edges are off: base64 (`=` only as its padding), the `=XXXX`
/// checksum, or blank.
fn is_base64_line(t: &[u8]) -> bool {
    let body = match t.strip_prefix(b"=") {
        Some(checksum) => checksum,
        None => {
            let pad = t.iter().rev().take_while(|&&b| b == b'=').count();
            if pad > 2 {
                return false;
            }
            &t[..t.len() - pad]
        }
    };
    body.iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/'))
}

/// Where `needle` (upper-case ASCII) first occurs in `hay`, in any case: one pass over
/// `hay` for its first byte in either case, then a comparison there.
fn memfind_ignore_case(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    memchr::memchr2_iter(first, first.to_ascii_lowercase(), hay).find(|&p| {
        hay[p..].len() >= needle.len() && hay[p..p + needle.len()].eq_ignore_ascii_case(needle)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `may_match` (and so the history scan's skipping of files) is sound only while no
    /// keyword spans lines.
    #[test]
    fn no_keyword_holds_a_newline() {
        let set = RuleSet::builtin();
        let words = set.rules().iter().flat_map(|r| r.keywords.iter());
        for w in words.chain(generic::KEYWORDS).chain(&["kind:"]) {
            assert!(!w.contains('\n') && !w.contains('\r'), "{w:?}");
        }
        assert!(!set.may_match(b"nothing to see here\n"));
        assert!(set.may_match(b"x\nAWS_SECRET_ACCESS_KEY=1\n"));
    }

    /// Every rule's own examples: each true example fires that rule, no false example fires
    /// anything.
    #[test]
    fn rule_examples() {
        let set = RuleSet::builtin();
        let mut failures = Vec::new();
        for r in set.rules() {
            assert!(!r.trues.is_empty(), "{} has no true example", r.id);
            assert!(!r.keywords.is_empty(), "{} has no keyword", r.id);
            for t in r.trues {
                let found = set.find(t.as_bytes(), false);
                if !found.iter().any(|c| c.rule == r.id) {
                    failures.push(format!("{}: missed {:?} (got {:?})", r.id, t, found));
                }
            }
            for f in r.falses {
                let found = set.find(f.as_bytes(), false);
                if !found.is_empty() {
                    failures.push(format!("{}: fired on {:?}: {:?}", r.id, f, found));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// A long match that starts near the end of an earlier keyword's window is still
    /// found: the next keyword gets a window of its own from [`MAX_MATCH`] bytes before
    /// the last window's end (256 bytes were too few for a long `curl` line).
    #[test]
    fn a_long_match_near_the_end_of_a_window_is_found() {
        let set = RuleSet::builtin();
        // `first`, then lines of nothing to about `at` bytes, then `last`.
        let text = |first: &str, at: usize, last: String| {
            let mut text = format!("{first}\n");
            while text.len() < at {
                text.push_str("echo nothing here\n");
            }
            text + &last
        };
        let key = "4f7kzFwt7tcWWvhYxoTa0aOUv5U5acXQU6KuapaUO1g3PH4HeZ5+jwBA+Woma7aFK2xyzWk6rcDkQRZjG7KsIg==";
        let azure = text(
            "azure storage account list",
            1_757,
            format!(
                "azure storage blob upload -a demo --container {} --file a.txt -k {key}\n",
                "c".repeat(200)
            ),
        );
        let found = set.find(azure.as_bytes(), false);
        assert!(
            found
                .iter()
                .any(|c| c.rule == "azure-storage-key-classic-cli"),
            "{found:?}"
        );
        // A curl command with a long header before its `-u`, wherever the filler ends.
        for filler in (1_690..1_830).step_by(7) {
            let curl = text(
                "curl https://example.com/health",
                filler,
                format!(
                    "curl -H 'X-Trace: {}' -u admin:Kx9mQ2vLp7Rt42 https://ci.internal/\n",
                    "a".repeat(330)
                ),
            );
            let found = set.find(curl.as_bytes(), false);
            assert!(
                found.iter().any(|c| c.rule == "cli-password"),
                "filler {filler}: {found:?}"
            );
        }
    }

    /// Shapes beyond each rule's one or two examples, taken from the providers' formats:
    /// each fires the named rule.
    #[test]
    fn more_token_shapes() {
        let set = RuleSet::builtin();
        for (rule, line) in [
            ("stripe-key", "STRIPE_KEY=rk_prod_fggO7bsqSTxybYaQoNCe9CLrOfk1IXMYszggds2RqP678LoUDPQORGCOeaEtwFv29DKZ5oKSoQ77yTsezRO6H6nhFZrNOAxXpl1"),
            ("slack-legacy-token", "token: xoxp-523981-204716-339058-cc082bae7941774b07"),
            ("gitlab-token-more", "CI_JOB_TOKEN=glcbt-NF8xjCiF34kmsRTT2jzy"),
            ("gitlab-token-more", "agent: glagent-3NkHRt_-xc1bTVELlBprB8trrT2oR7TkUTDn1wScUgntLVVcO53QhuTcAZHO"),
            // Ids shortened to runs of one digit or typed in order: the random tail decides.
            ("slack-legacy-token", "\"access_token\": \"xoxa-2-511111111-31111111111-3111111111111-c84b0bcc49765032f1\""),
            ("slack-token", "bot: xoxb-123456789012-Qw8ZrT2vLx9Pw4Kd7mHf"),
            ("trello-token", "TRELLO_TOKEN=ATTAad59793613e307cffdb83057c1790e089b615d3867ebad6dbd2736118b54c7c8FF4C0F77"),
            ("npm-token-legacy", "//registry.npmjs.org/:_authToken=\"77dc50b4-895f-4e64-bd6c-a8cf3fe86db1\""),
        ] {
            let found = set.find(line.as_bytes(), false);
            assert!(found.iter().any(|c| c.rule == rule), "{rule}: {line} ({found:?})");
        }
        // Ids alone leave too little to judge: still a placeholder.
        assert!(without_id_segments(b"00000000-0000-0000-0000-000000000000").len() == 36);
        assert!(set
            .find(
                b"xoxb-123456789012-1111111111111-xxxxxxxxxxxxxxxxxxxxxxxx",
                false
            )
            .is_empty());
        // A provider's name followed by other words labels something else (an id, a hash).
        for line in [
            "Join us! Discord server ID: 823456789012345678",
            "sentry-cli 2.20.0 sha256: 0f9e2c4b7a1d3e5f6a8b0c2d4e6f8a1b3c5d7e9f0f9e2c4b7a1d3e5f6a8b0c2d",
        ] {
            assert!(set.find(line.as_bytes(), false).is_empty(), "{line}");
        }
        // Nor does a documented placeholder after ids typed in order.
        for tail in ["AbCdEfGhIjKlMnOpQrStUvWx", "YourSlackBotTokenHere123"] {
            let line = format!("SLACK_BOT_TOKEN=xoxb-123456789012-1234567890123-{tail}");
            assert!(set.find(line.as_bytes(), false).is_empty(), "{line}");
        }
        // Numbers too short for a Slack id, and a typed sequence.
        assert!(set
            .find(
                b"xoxp-1234-1234-1234-74acfb9f6b9864bb8ebbcf339ca5946d",
                false
            )
            .is_empty());
    }

    #[test]
    fn unique_ids_and_valid_regexes() {
        let set = RuleSet::builtin();
        let mut ids: Vec<_> = set.rules().iter().map(|r| r.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), set.rules().len());
        for i in 0..set.rules().len() {
            assert!(
                set.regex(i).is_some(),
                "{} does not compile",
                set.rules()[i].id
            );
        }
    }

    #[test]
    fn encrypted_blocks_never_fire() {
        let set = RuleSet::builtin();
        let text = "-----BEGIN AGE ENCRYPTED FILE-----\nAKIAUJZDEGXDNCF32EPF\n-----END AGE ENCRYPTED FILE-----\n";
        assert!(set.find(text.as_bytes(), false).is_empty());
        let text = "AKIAUJZDEGXDNCF32EPF\n";
        assert_eq!(set.find(text.as_bytes(), false).len(), 1);
    }

    /// Issue 11: an armor header with no END line (BEGIN matched in any case, END only in
    /// upper case) hid the rest of the file.
    #[test]
    fn an_armor_header_without_end_hides_only_its_line() {
        let set = RuleSet::builtin();
        for text in [
            "# -----BEGIN PGP SIGNATURE-----\nKEY=AKIAUJZDEGXDNCF32EPF\n",
            "# -----begin pgp signature-----\nKEY=AKIAUJZDEGXDNCF32EPF\n",
            "-----BEGIN AGE ENCRYPTED FILE----- KEY=x\n-----BEGIN AGE ENCRYPTED FILE-----\nAKIAUJZDEGXDNCF32EPF\n",
        ] {
            let found = set.find(text.as_bytes(), false);
            assert_eq!(found.len(), 1, "{text:?}: {found:?}");
        }
        // A lower-case block with its lower-case END is still a block.
        let text = "-----begin pgp message-----\nAKIAUJZDEGXDNCF32EPF\n-----end pgp message-----\n";
        assert!(set.find(text.as_bytes(), false).is_empty());
    }

    /// Audit of issue 11: a BEGIN and an END line in comments around code hid the code.
    /// Only a body of armor (base64 lines, a checksum, the armor headers) is skipped, in a
    /// file, a comment or a string with `\n` escapes.
    #[test]
    fn only_an_armor_body_is_skipped() {
        let set = RuleSet::builtin();
        let token = format!("ghp_{}", "hGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8rES");
        for text in [
            format!("# -----BEGIN PGP MESSAGE-----\nGH = \"{token}\"\n# -----END PGP MESSAGE-----\n"),
            format!("// -----BEGIN PGP SIGNATURE-----\n// -----END CERTIFICATE-----\n{token}\n// -----END PGP SIGNATURE-----\n"),
            // Lines with `=` inside are no base64; a pair with no armor between hides only
            // its markers, not the rest of a minified line.
            format!("# -----BEGIN PGP MESSAGE-----\nGHTOKEN={token}\n# -----END PGP MESSAGE-----\n"),
            format!("{{\"readme\":\"-----BEGIN PGP SIGNATURE-----\\nsee the docs\\n-----END PGP SIGNATURE-----\",\"t\":\"{token}\"}}"),
        ] {
            let found = set.find(text.as_bytes(), false);
            assert_eq!(found.len(), 1, "{text:?}: {found:?}");
        }
        // A line of armor that would fire on its own (base64 has the characters of an AWS id).
        let key_id = "AKIAUJZDEGXDNCF32EPF";
        let body: String = (0..64)
            .map(|i| (b'A' + (i * 11 % 26) as u8) as char)
            .collect();
        for text in [
            format!("-----BEGIN PGP MESSAGE-----\nVersion: GnuPG v2\n\nhQEMA{body}\n{key_id}\n=pXkQ\n-----END PGP MESSAGE-----\n"),
            format!("# -----BEGIN PGP SIGNATURE-----\n#\n# iQEz{body}\n# {key_id}\n# -----END PGP SIGNATURE-----\n"),
            format!("-- -----BEGIN PGP SIGNATURE-----\n--\n-- iQEz{body}\n-- {key_id}\n-- -----END PGP SIGNATURE-----\n"),
            format!("------BEGIN PGP SIGNATURE-----\n-\n-iQEz{body}\n-{key_id}\n------END PGP SIGNATURE-----\n"),
            format!("{{\"sig\": \"-----BEGIN PGP SIGNATURE-----\\n\\niQEz{body}\\n{key_id}\\n-----END PGP SIGNATURE-----\\n\"}}\n"),
            format!("{{\"sig\": \"-----BEGIN PGP SIGNATURE-----\\r\\n\\r\\niQEz{body}\\r\\n{key_id}\\r\\n=pXkQ\\r\\n-----END PGP SIGNATURE-----\\r\\n\"}}\n"),
        ] {
            assert!(set.find(text.as_bytes(), false).is_empty(), "{text:?}");
        }
    }
}
