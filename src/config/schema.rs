//! The `schema:` section of `.secrets.yaml`: what each secret's value must be, per key.
//! Read and checked with the rest of the config (a bad rule is a config error with its line,
//! exit 5, for every command); applied by [`crate::policy`] (`secrets check`, and `exec` and
//! `export` before a program starts).
//!
//! ```yaml
//! schema:
//!   SECRET_KEY:                  # the variable exec exports, or a key path (database.password)
//!     required: true
//!     min_length: 50
//!     forbid: ["django-insecure-*", changeme]
//!     generate: django
//!     max_age: 90d
//!   JWT_SIGNING_KEY: {required: true, min_length: 32, max_age: 30d, grace: 24h}
//!   STRIPE_SECRET_KEY: {pattern: "^sk_live_", envs: [prod]}
//! ```

use foldhash::{HashMap, HashSet};
use std::fmt;

use super::raw::{self, RawError, Spanned, Value};

/// Every rule of the section, in file order.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    pub rules: Vec<KeyRule>,
}

impl Schema {
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules that apply in environment `env`, in file order.
    pub fn for_env<'a>(&'a self, env: &'a str) -> impl Iterator<Item = &'a KeyRule> + 'a {
        self.rules.iter().filter(move |r| r.applies_to(env))
    }

    /// Every rule for a variable name or key path in `env` (in no environment: the rules
    /// not limited to some). A key may be named twice (`DATABASE_PASSWORD` and
    /// `database.password`): every one applies, as `check` applies them, so a caller takes
    /// the strictest of each setting.
    pub fn rules_for<'a>(
        &'a self,
        env: Option<&'a str>,
        name: &'a str,
        key: &'a str,
    ) -> impl Iterator<Item = &'a KeyRule> + 'a {
        self.rules.iter().filter(move |r| {
            match env {
                Some(e) => r.applies_to(e),
                None => r.envs.is_none(),
            }
        } && r.names(name, key))
    }
}

/// The rules for one key.
#[derive(Clone, Debug)]
pub struct KeyRule {
    /// A variable name as `exec` exports it (`DATABASE_PASSWORD`) or a key path inside a
    /// file (`database.password`).
    pub key: String,
    pub line: usize,
    pub required: bool,
    pub min_length: Option<usize>,
    pub pattern: Option<Pattern>,
    pub forbid: Vec<Forbidden>,
    /// Must differ from this environment's value of the same key.
    pub distinct_from: Option<String>,
    pub max_age: Option<Span>,
    /// How long a previous value kept by `rotate-value --keep-previous` stays valid.
    pub grace: Option<Span>,
    pub generate: Option<GenSpec>,
    /// Only in these environments (all when `None`).
    pub envs: Option<Vec<String>>,
}

impl KeyRule {
    /// A rule for `key` (written at `line`) that requires nothing yet.
    pub fn new(key: &str, line: usize) -> KeyRule {
        KeyRule {
            key: key.to_string(),
            line,
            required: false,
            min_length: None,
            pattern: None,
            forbid: Vec::new(),
            distinct_from: None,
            max_age: None,
            grace: None,
            generate: None,
            envs: None,
        }
    }

    pub fn applies_to(&self, env: &str) -> bool {
        self.envs
            .as_ref()
            .is_none_or(|envs| envs.iter().any(|e| e == env))
    }

    /// Whether the rule is about the variable `name` (key path `key`).
    pub fn names(&self, name: &str, key: &str) -> bool {
        self.key == name || self.key == key
    }
}

/// A regular expression a value must match (anywhere, unless anchored). Rules with the
/// same text share one compiled regex (and its match cache): `exec` reads the config on
/// every start, and a compile costs more than decrypting a file.
#[derive(Clone, Debug)]
pub struct Pattern {
    pub text: String,
    pub regex: std::sync::Arc<SchemaRegex>,
}

/// A compiled pattern: the regex crate's engine and syntax, built with a fixed cache pool
/// ([`regex::Regex`] sizes its pool by asking the OS for the CPU count, 26 µs of every
/// `exec` start).
#[derive(Debug)]
pub struct SchemaRegex(regex_automata::meta::Regex);

/// The compiled size a pattern may reach: the regex crate's default (10 MiB). Unicode
/// `\w` is a large class, so `^\w{32,}$` is over 1 MiB (the limit this had before) and
/// `\w{200}` still fits; compiling stops when the limit is reached, so a hostile pattern
/// (`\w{1000}{1000}`) fails in tens of milliseconds.
const SIZE_LIMIT: usize = 10 << 20;

impl SchemaRegex {
    /// As `regex::Regex::new(text)` (its size limit included); the error as the syntax
    /// error's text, and for a pattern too big, how to make it smaller.
    pub fn new(text: &str) -> Result<SchemaRegex, String> {
        let config = regex_automata::meta::Config::new()
            .nfa_size_limit(Some(SIZE_LIMIT))
            .onepass_size_limit(Some(1 << 20))
            .pool_capacity(4);
        regex_automata::meta::Builder::new()
            .configure(config)
            .build(text)
            .map(SchemaRegex)
            .map_err(|e| match (e.syntax_error(), e.size_limit()) {
                (Some(syntax), _) => syntax.to_string(),
                (None, Some(limit)) => format!(
                    "compiled regex exceeds size limit of {limit} bytes (Unicode classes such as \\w are large when repeated: (?-u:\\w) or [A-Za-z0-9_] matches ASCII only and is small)"
                ),
                (None, None) => e.to_string(),
            })
    }

    /// Whether the pattern matches anywhere in `value`.
    pub fn is_match(&self, value: &str) -> bool {
        self.0.is_match(value)
    }
}

/// A value a key must not have: exact, or a glob where `*` stands for any text. Compared
/// in lower case (`ChangeMe` is as weak as `changeme`). Matched without a regex: a config
/// read per `exec` must not compile one per entry.
#[derive(Clone, Debug)]
pub struct Forbidden {
    pub text: String,
    /// The text in lower case.
    glob: Glob<String>,
}

/// A value in lower case, for [`Forbidden::matches_folded`]; wiped on drop, as it is a copy
/// of a secret.
pub fn fold(value: &str) -> zeroize::Zeroizing<String> {
    zeroize::Zeroizing::new(value.to_lowercase())
}

impl Forbidden {
    pub fn new(text: &str) -> Forbidden {
        Forbidden {
            text: text.to_string(),
            glob: Glob::new(text.to_lowercase()),
        }
    }

    pub fn matches(&self, value: &str) -> bool {
        self.matches_folded(&fold(value))
    }

    /// As [`Forbidden::matches`], `folded` already lower-cased by [`fold`].
    pub fn matches_folded(&self, folded: &str) -> bool {
        self.glob.matches(folded)
    }

    /// Whether naming this entry in a message would show the value it caught: an exact
    /// entry is the value itself; a glob shows only what every match shares.
    pub fn is_exact(&self) -> bool {
        self.glob.stars.is_none()
    }
}

/// A lower-case glob (`*` stands for any text) with its first and last `*` found once:
/// matching allocates nothing and scans no pattern, as the built-in list is matched
/// against every value of a production environment at each `exec`.
#[derive(Clone, Debug)]
pub struct Glob<S> {
    text: S,
    /// The byte positions of the first and last `*` (the same when there is one).
    stars: Option<(usize, usize)>,
}

impl<S: AsRef<str>> Glob<S> {
    pub fn new(text: S) -> Glob<S> {
        let bytes = text.as_ref().as_bytes();
        let stars = bytes.iter().position(|&b| b == b'*').map(|first| {
            let last = bytes.iter().rposition(|&b| b == b'*').unwrap_or(first);
            (first, last)
        });
        Glob { text, stars }
    }

    pub fn text(&self) -> &str {
        self.text.as_ref()
    }

    /// Whether `folded` (in lower case) matches. Linear: the part before the first `*` is
    /// a prefix, the part after the last a suffix, and each part between is found
    /// leftmost after the one before (leftmost is always right for `*`-only globs).
    pub fn matches(&self, folded: &str) -> bool {
        let glob = self.text.as_ref();
        let Some((first_star, last_star)) = self.stars else {
            return folded == glob;
        };
        // `*` is ASCII: both positions are char boundaries.
        let (first, last) = (&glob[..first_star], &glob[last_star + 1..]);
        if folded.len() < first.len() + last.len()
            || !folded.starts_with(first)
            || !folded.ends_with(last)
        {
            return false;
        }
        let mut middle = &folded[first.len()..folded.len() - last.len()];
        if last_star > first_star {
            for part in glob[first_star + 1..last_star].split('*') {
                match middle.find(part) {
                    Some(at) => middle = &middle[at + part.len()..],
                    None => return false,
                }
            }
        }
        true
    }
}

/// A duration as written (`90d`), and in seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    pub seconds: u64,
}

impl Span {
    /// `30d`, `12w`, `24h`, `45m`, `90s`, `1y` (365 days); several parts add up (`1d12h`).
    pub fn parse(text: &str) -> Option<Span> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        let mut seconds: u64 = 0;
        let mut digits = String::new();
        for c in t.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit: u64 = match c {
                's' => 1,
                'm' => 60,
                'h' => 3_600,
                'd' => 86_400,
                'w' => 7 * 86_400,
                'y' => 365 * 86_400,
                _ => return None,
            };
            let n: u64 = std::mem::take(&mut digits).parse().ok()?;
            seconds = seconds.checked_add(n.checked_mul(unit)?)?;
        }
        if !digits.is_empty() {
            return None;
        }
        Some(Span {
            text: t.to_string(),
            seconds,
        })
    }
}

/// What `secrets generate` makes for a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenFormat {
    /// Letters, digits and symbols, without look-alikes (`0O1lI|`).
    Password,
    Hex,
    Base64,
    Base64Url,
    Uuid,
    /// Django's `get_random_secret_key()`: 50 characters of its alphabet.
    Django,
    /// Words from a built-in list, joined by `-`.
    Passphrase,
}

impl GenFormat {
    pub const NAMES: [&'static str; 7] = [
        "password",
        "hex",
        "base64",
        "base64url",
        "uuid",
        "django",
        "passphrase",
    ];

    pub fn parse(name: &str) -> Option<GenFormat> {
        Some(match name {
            "password" => GenFormat::Password,
            "hex" => GenFormat::Hex,
            "base64" => GenFormat::Base64,
            "base64url" => GenFormat::Base64Url,
            "uuid" => GenFormat::Uuid,
            "django" => GenFormat::Django,
            "passphrase" => GenFormat::Passphrase,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            GenFormat::Password => "password",
            GenFormat::Hex => "hex",
            GenFormat::Base64 => "base64",
            GenFormat::Base64Url => "base64url",
            GenFormat::Uuid => "uuid",
            GenFormat::Django => "django",
            GenFormat::Passphrase => "passphrase",
        }
    }
}

/// `generate: django`, or `generate: {format: password, length: 40}` (`length`: characters,
/// or bytes for hex and base64; `words` for a passphrase).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenSpec {
    pub format: GenFormat,
    pub length: Option<usize>,
    pub words: Option<usize>,
}

impl GenSpec {
    pub fn new(format: GenFormat) -> GenSpec {
        GenSpec {
            format,
            length: None,
            words: None,
        }
    }
}

const RULE_FIELDS: &str =
    "required, min_length, pattern, forbid, distinct_from, max_age, grace, generate or envs";

/// Reads the section; `envs` are the config's environment names (rules may only name
/// those).
pub fn parse(section: &Spanned<Value>, envs: &[&str]) -> Result<Schema, RawError> {
    let mut schema = Schema::default();
    let mut seen: HashSet<&str> = HashSet::default();
    let mut compiled = Compiled::default();
    for (key, body) in raw::map(section, "schema")? {
        if key.value.trim().is_empty() {
            return Err(RawError::new(key.line, "schema: a key cannot be empty"));
        }
        // The same key twice is a YAML error already; this catches nothing else, but keeps
        // `rule_for` unambiguous should the reader change.
        if !seen.insert(&key.value) {
            return Err(RawError::new(
                key.line,
                format!("schema: {:?} appears twice", key.value),
            ));
        }
        schema
            .rules
            .push(parse_rule(key, body, envs, &mut compiled)?);
    }
    Ok(schema)
}

/// The patterns compiled so far, by their text.
type Compiled = HashMap<String, std::sync::Arc<SchemaRegex>>;

/// The pattern `text`, written at `line`.
fn compile<W: fmt::Display + ?Sized>(
    text: &str,
    line: usize,
    what: &W,
    done: &mut Compiled,
) -> Result<Pattern, RawError> {
    if let Some(regex) = done.get(text) {
        return Ok(Pattern {
            text: text.to_string(),
            regex: regex.clone(),
        });
    }
    let regex = SchemaRegex::new(text).map_err(|e| {
        let first = e.lines().last().unwrap_or("").trim().to_string();
        RawError::new(line, format!("{what}: {first}"))
    })?;
    let regex = std::sync::Arc::new(regex);
    done.insert(text.to_string(), regex.clone());
    Ok(Pattern {
        text: text.to_string(),
        regex,
    })
}

/// `schema "KEY": field`, the subject of an error message about one field of a rule.
struct Field<'a> {
    key: &'a str,
    field: &'static str,
}

impl fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "schema {:?}: {}", self.key, self.field)
    }
}

fn parse_rule(
    key: &Spanned<String>,
    body: &Spanned<Value>,
    envs: &[&str],
    compiled: &mut Compiled,
) -> Result<KeyRule, RawError> {
    let mut rule = KeyRule::new(&key.value, key.line);
    // Built only for an error message: most configs have none, and formatting each
    // field's name up front was a tenth of the schema's cost at every `exec`.
    let what = |field: &'static str| Field {
        key: &key.value,
        field,
    };
    let known_env = |e: &Spanned<String>, field: &'static str| -> Result<String, RawError> {
        if envs.contains(&e.value.as_str()) {
            Ok(e.value.clone())
        } else {
            Err(RawError::new(
                e.line,
                format!(
                    "{}: no environment {:?} (known: {})",
                    what(field),
                    e.value,
                    envs.join(", ")
                ),
            ))
        }
    };
    for (field, value) in raw::map(body, &format_args!("schema {:?}", key.value))? {
        match field.value.as_str() {
            "required" => rule.required = raw::boolean(value, &what("required"))?.value,
            "min_length" => rule.min_length = Some(count(value, &what("min_length"))?),
            "pattern" => {
                let text = raw::str_ref(value, &what("pattern"))?;
                rule.pattern = Some(compile(text, value.line, &what("pattern"), compiled)?);
            }
            "forbid" => {
                rule.forbid = raw::str_refs(value, &what("forbid"))?
                    .into_iter()
                    .map(Forbidden::new)
                    .collect();
            }
            "distinct_from" => {
                let env = raw::string(value, &what("distinct_from"))?;
                rule.distinct_from = Some(known_env(&env, "distinct_from")?);
            }
            "max_age" => rule.max_age = Some(positive_span(value, &what("max_age"))?),
            "grace" => rule.grace = Some(positive_span(value, &what("grace"))?),
            "generate" => rule.generate = Some(gen_spec(value, &what("generate"))?),
            "envs" => {
                let list = raw::strings(value, &what("envs"))?;
                if list.is_empty() {
                    return Err(RawError::new(
                        value.line,
                        format!(
                            "{}: lists no environment, so the rule would apply nowhere (leave envs out to apply it everywhere)",
                            what("envs")
                        ),
                    ));
                }
                rule.envs = Some(
                    list.iter()
                        .map(|e| known_env(e, "envs"))
                        .collect::<Result<_, _>>()?,
                );
            }
            other => {
                return Err(RawError::new(
                    field.line,
                    format!(
                        "schema {:?}: unknown rule {other:?} (expected {RULE_FIELDS})",
                        key.value
                    ),
                ))
            }
        }
    }
    if let (Some(d), Some(envs)) = (&rule.distinct_from, &rule.envs) {
        if envs.len() == 1 && envs[0] == *d {
            return Err(RawError::new(
                key.line,
                format!(
                    "schema {:?}: distinct_from {d:?} in the only environment it applies to",
                    key.value
                ),
            ));
        }
    }
    Ok(rule)
}

fn count<W: fmt::Display + ?Sized>(v: &Spanned<Value>, what: &W) -> Result<usize, RawError> {
    let s = raw::str_ref(v, what)?;
    s.parse::<usize>()
        .ok()
        .filter(|n| *n <= 1 << 20)
        .ok_or_else(|| {
            RawError::new(
                v.line,
                format!("{what} must be a whole number (0 to 1048576), not {s:?}"),
            )
        })
}

fn span<W: fmt::Display + ?Sized>(v: &Spanned<Value>, what: &W) -> Result<Span, RawError> {
    let s = raw::str_ref(v, what)?;
    Span::parse(s).ok_or_else(|| {
        RawError::new(
            v.line,
            format!("{what} must be a duration such as 90d, 12w, 24h, 30m or 1y, not {s:?}"),
        )
    })
}

/// A duration of more than nothing: `max_age: 0d` would make every value overdue at once,
/// `grace: 0s` drop the previous value as it is kept.
fn positive_span<W: fmt::Display + ?Sized>(v: &Spanned<Value>, what: &W) -> Result<Span, RawError> {
    let span = span(v, what)?;
    if span.seconds == 0 {
        return Err(RawError::new(
            v.line,
            format!("{what} must be longer than 0, not {:?}", span.text),
        ));
    }
    Ok(span)
}

fn gen_format<W: fmt::Display + ?Sized>(
    s: &Spanned<String>,
    what: &W,
) -> Result<GenFormat, RawError> {
    GenFormat::parse(&s.value).ok_or_else(|| {
        RawError::new(
            s.line,
            format!(
                "{what}: unknown format {:?} (expected {})",
                s.value,
                GenFormat::NAMES.join(", ")
            ),
        )
    })
}

fn gen_spec<W: fmt::Display + ?Sized>(v: &Spanned<Value>, what: &W) -> Result<GenSpec, RawError> {
    if let Value::Str(_) = v.value {
        return Ok(GenSpec::new(gen_format(&raw::string(v, what)?, what)?));
    }
    let mut format = None;
    let mut spec = GenSpec::new(GenFormat::Password);
    for (field, value) in raw::map(v, what)? {
        match field.value.as_str() {
            "format" => format = Some(gen_format(&raw::string(value, what)?, what)?),
            "length" => spec.length = Some(count(value, &format!("{what} length"))?),
            "words" => spec.words = Some(count(value, &format!("{what} words"))?),
            other => {
                return Err(RawError::new(
                    field.line,
                    format!("{what}: unknown field {other:?} (expected format, length or words)"),
                ))
            }
        }
    }
    spec.format = format.ok_or_else(|| RawError::new(v.line, format!("{what}: no format")))?;
    // Sizes the format has no use for are mistakes now, not when a value is generated.
    let name = spec.format.name();
    match spec.format {
        GenFormat::Uuid if spec.length.is_some() => Err(format!(
            "{what}: a uuid has no length to choose (36 characters)"
        )),
        GenFormat::Passphrase if spec.length.is_some() => Err(format!(
            "{what}: a passphrase is sized in words, not length"
        )),
        f if f != GenFormat::Passphrase && spec.words.is_some() => Err(format!(
            "{what}: words are for a passphrase; a {name} has a length"
        )),
        _ if spec.length == Some(0) || spec.words == Some(0) => {
            Err(format!("{what}: a size of 0 makes no value"))
        }
        _ => Ok(spec),
    }
    .map_err(|message| RawError::new(v.line, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(text: &str) -> Result<Schema, RawError> {
        let doc = raw::parse_yaml(text).unwrap();
        let raw::Value::Map(entries) = &doc.value else {
            panic!()
        };
        parse(&entries[0].1, &["dev", "prod"])
    }

    #[test]
    fn every_rule_reads() {
        let s = schema(
            "schema:\n  SECRET_KEY:\n    required: true\n    min_length: 50\n    forbid: [\"django-insecure-*\", changeme]\n    generate: django\n    max_age: 90d\n  JWT: {min_length: 32, grace: 24h, generate: {format: base64url, length: 48}}\n  STRIPE: {pattern: \"^sk_live_\", envs: [prod], distinct_from: dev}\n",
        )
        .unwrap();
        let k = &s.rules[0];
        assert!(k.required);
        assert_eq!(k.min_length, Some(50));
        assert!(k.forbid[0].matches("Django-Insecure-abc"));
        assert!(k.forbid[1].matches("CHANGEME"));
        assert!(!k.forbid[1].matches("changeme2"));
        assert_eq!(k.max_age.as_ref().unwrap().seconds, 90 * 86_400);
        assert_eq!(k.generate, Some(GenSpec::new(GenFormat::Django)));
        assert_eq!(s.rules[1].grace.as_ref().unwrap().seconds, 86_400);
        assert_eq!(s.rules[1].generate.unwrap().length, Some(48));
        assert!(s.rules[2].applies_to("prod") && !s.rules[2].applies_to("dev"));
        assert_eq!(s.rules_for(Some("prod"), "STRIPE", "stripe").count(), 1);
        assert_eq!(s.rules_for(Some("dev"), "STRIPE", "stripe").count(), 0);
        assert_eq!(s.rules_for(None, "STRIPE", "stripe").count(), 0);
    }

    #[test]
    fn forbid_globs_match_as_written() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "", true),
            ("*", "anything", true),
            ("a*", "A", true),
            ("*z", "xyZ", true),
            ("a*a", "a", false),
            ("a*a", "aa", true),
            ("a*b*c", "a-c-b-c", true),
            ("a*b*c", "a-c-c", false),
            ("your-*-here", "your-key-here", true),
            ("your-*-here", "your-here", false),
            ("ÄÖ*", "äö-x", true),
            ("sk_test_*", "xsk_test_1", false),
            ("exact", "exact!", false),
        ];
        for (glob, value, want) in cases {
            assert_eq!(
                Forbidden::new(glob).matches(value),
                *want,
                "{glob} ~ {value}"
            );
        }
    }

    #[test]
    fn mistakes_name_their_line() {
        for (text, line, needle) in [
            (
                "schema:\n  A:\n    min_lenght: 3\n",
                3,
                "unknown rule \"min_lenght\"",
            ),
            ("schema:\n  A: {min_length: -3}\n", 2, "whole number"),
            (
                "schema:\n  A:\n    pattern: \"(\"\n",
                3,
                "pattern: error: unclosed group",
            ),
            (
                "schema:\n  A:\n    pattern: \"\\\\w{1000}{1000}\"\n",
                3,
                "pattern: compiled regex exceeds size limit of 10485760 bytes (Unicode classes such as \\w are large when repeated: (?-u:\\w) or [A-Za-z0-9_]",
            ),
            ("schema:\n  A:\n    max_age: 3 months\n", 3, "duration"),
            (
                "schema:\n  A:\n    envs: [prod, stage]\n",
                3,
                "no environment \"stage\"",
            ),
            ("schema:\n  A:\n    generate: rot13\n", 3, "unknown format"),
            ("schema:\n  A:\n    required: yes\n", 3, "true or false"),
            ("schema: [A]\n", 1, "must be a map"),
            ("schema:\n  A:\n    max_age: 0d\n", 3, "longer than 0"),
            ("schema:\n  A:\n    envs: []\n", 3, "no environment"),
            (
                "schema:\n  A:\n    generate: {format: uuid, length: 5}\n",
                3,
                "uuid has no length",
            ),
            (
                "schema:\n  A:\n    generate: {format: hex, words: 3}\n",
                3,
                "words are for a passphrase",
            ),
        ] {
            let e = schema(text).unwrap_err();
            assert_eq!(e.line, line, "{text}: {e:?}");
            assert!(e.message.contains(needle), "{text}: {}", e.message);
        }
    }

    #[test]
    fn spans() {
        assert_eq!(Span::parse("1d12h").unwrap().seconds, 36 * 3_600);
        assert_eq!(Span::parse("12w").unwrap().seconds, 84 * 86_400);
        for bad in ["", "d", "12", "1x", "99999999999999999999d"] {
            assert!(Span::parse(bad).is_none(), "{bad}");
        }
    }
}
