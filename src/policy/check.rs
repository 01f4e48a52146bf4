//! Checking an environment's values against the schema. Every finding names the
//! environment, file, key and rule, never the value: not even its length when that would
//! tell how short a secret is ("shorter than 50 characters"), nor an exact forbidden entry
//! it equals.
//!
//! The rules come in three groups by what they need: the values of one environment
//! ([`check_values`]: required, min_length, pattern, forbid, the production list), another
//! environment's values ([`check_distinct`]), and git history ([`check_ages`]). `exec` and
//! `export` run the first group only: a deploy must not need git or another environment's key.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Deref;

use zeroize::Zeroizing;

use super::builtin;
use super::staleness::Freshness;
use crate::config::schema::{KeyRule, Schema};
use crate::config::Config;

/// One value of an environment: where it is, and the plaintext when it could be decrypted.
/// Borrowed where the caller keeps them anyway (`exec`'s variables: no copy of each name
/// and value per start), owned where they are read for the check alone.
pub struct Subject<'a> {
    /// The file, as shown (relative to the config's directory).
    pub file: Cow<'a, str>,
    /// The variable name `exec` gives it.
    pub name: Cow<'a, str>,
    /// Its key path in the file (`database.password`).
    pub key: Cow<'a, str>,
    /// `None` when none of the user's identities opens the file.
    pub value: Option<Plaintext<'a>>,
}

/// A decrypted value: borrowed from its owner, or owned and wiped on drop.
pub enum Plaintext<'a> {
    Borrowed(&'a [u8]),
    Owned(Zeroizing<Vec<u8>>),
}

impl Deref for Plaintext<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Plaintext::Borrowed(v) => v,
            Plaintext::Owned(v) => v,
        }
    }
}

impl Subject<'_> {
    /// The value as the rules read it; `None` when it could not be decrypted.
    fn read(&self) -> Option<Read<'_>> {
        let bytes = self.value.as_deref()?;
        Some(match std::str::from_utf8(bytes) {
            Ok(text) => Read::Text(text),
            Err(_) => Read::Binary {
                len: bytes.len(),
                lossy: lossy(bytes),
            },
        })
    }
}

/// A decrypted value: text, or bytes that are not UTF-8 (a binary file's `data`, a DER
/// key). Never taken for empty: its length is its bytes, and rules on text skip it.
enum Read<'v> {
    Text(&'v str),
    Binary {
        len: usize,
        /// The bytes with each invalid sequence as U+FFFD, for `forbid` and the production
        /// list: no entry holds U+FFFD, so only real text around it can match. Wiped.
        lossy: Zeroizing<String>,
    },
}

impl Read<'_> {
    /// The text `forbid` and the production list compare.
    fn for_lists(&self) -> &str {
        match self {
            Read::Text(t) => t,
            Read::Binary { lossy, .. } => lossy,
        }
    }
}

/// `bytes` as text, each invalid sequence replaced by U+FFFD, in a buffer sized first so
/// no growth leaves a copy of the secret behind.
fn lossy(bytes: &[u8]) -> Zeroizing<String> {
    let bad = char::REPLACEMENT_CHARACTER;
    let size: usize = bytes
        .utf8_chunks()
        .map(|c| {
            c.valid().len()
                + if c.invalid().is_empty() {
                    0
                } else {
                    bad.len_utf8()
                }
        })
        .sum();
    let mut out = Zeroizing::new(String::with_capacity(size));
    for c in bytes.utf8_chunks() {
        out.push_str(c.valid());
        if !c.invalid().is_empty() {
            out.push(bad);
        }
    }
    out
}

const NOT_TEXT: &str =
    "the value is not UTF-8 text (binary): a pattern is matched against text only";

/// An environment's values, and whether it is a production one.
pub struct EnvValues<'a> {
    pub name: &'a str,
    pub production: bool,
    pub subjects: &'a [Subject<'a>],
}

impl EnvValues<'_> {
    fn matching<'s>(&'s self, rule: &'s KeyRule) -> impl Iterator<Item = &'s Subject<'s>> + 's {
        self.subjects
            .iter()
            .filter(move |s| rule.names(&s.name, &s.key))
    }
}

/// Which rule a finding is about (its name as written in the schema).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RuleName {
    Required,
    MinLength,
    Pattern,
    Forbid,
    Production,
    DistinctFrom,
    MaxAge,
    Grace,
}

impl RuleName {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleName::Required => "required",
            RuleName::MinLength => "min_length",
            RuleName::Pattern => "pattern",
            RuleName::Forbid => "forbid",
            RuleName::Production => "production",
            RuleName::DistinctFrom => "distinct_from",
            RuleName::MaxAge => "max_age",
            RuleName::Grace => "grace",
        }
    }
}

/// A rule a value breaks, or could not be checked against (`skipped`, with the reason).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub env: String,
    /// `None` for a required key no file has.
    pub file: Option<String>,
    /// The variable name (as the schema and `exec` spell it).
    pub key: String,
    /// The value's key path in its file (`django.secret_key`), when it is not `key`: what
    /// `generate`, `set` and `get` take.
    pub path: Option<String>,
    pub rule: RuleName,
    /// What is wrong, or why it could not be checked; never the value.
    pub detail: String,
    pub skipped: bool,
}

impl Finding {
    fn new(env: &str, s: &Subject, rule: RuleName, detail: impl Into<String>) -> Finding {
        Finding {
            env: env.to_string(),
            file: Some(s.file.to_string()),
            key: s.name.to_string(),
            // A dotenv `export NAME=` line's key is NAME to every command.
            path: (s.key != s.name && crate::store::dotenv::env_name(&s.key) != s.name)
                .then(|| s.key.to_string()),
            rule,
            detail: detail.into(),
            skipped: false,
        }
    }

    fn skipped(env: &str, s: &Subject, rule: RuleName, why: impl Into<String>) -> Finding {
        Finding {
            skipped: true,
            ..Finding::new(env, s, rule, why)
        }
    }

    /// The key as a message names it: `django.secret_key (DJANGO_SECRET_KEY)` when the
    /// file's key path differs from the variable name, else the name.
    pub fn shown_key(&self) -> String {
        match &self.path {
            Some(p) => format!("{p} ({})", self.key),
            None => self.key.clone(),
        }
    }
}

const NO_KEY: &str = "none of your identities can decrypt the file";

/// The rules that need only this environment's values. `complete`: the subjects are all of
/// the environment's files (so a key no file has is missing); `false` for a partial view
/// (`exec -f FILE`), where `required` cannot be judged.
pub fn check_values(schema: &Schema, env: &EnvValues, complete: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in schema.for_env(env.name) {
        let mut found = false;
        for s in env.matching(rule) {
            found = true;
            check_one(rule, env.name, s, &mut out);
        }
        if rule.required && complete && !found {
            out.push(Finding {
                env: env.name.to_string(),
                file: None,
                key: rule.key.clone(),
                path: None,
                rule: RuleName::Required,
                detail: "required, and no file of the environment has it".into(),
                skipped: false,
            });
        }
    }
    if env.production {
        // A file nobody here can open is one skipped line, not one per value.
        let mut unopened: Vec<&str> = Vec::new();
        for s in env.subjects {
            match s.read() {
                Some(v) => {
                    if let Some(entry) = builtin::weak_match(v.for_lists()) {
                        out.push(Finding::new(
                            env.name,
                            s,
                            RuleName::Production,
                            format!("a well-known default or test value ({entry}), in a production environment"),
                        ));
                    }
                }
                None if !unopened.contains(&s.file.as_ref()) => {
                    unopened.push(&s.file);
                    out.push(Finding {
                        key: "*".into(),
                        path: None,
                        ..Finding::skipped(env.name, s, RuleName::Production, NO_KEY)
                    });
                }
                None => {}
            }
        }
    }
    out
}

fn check_one(rule: &KeyRule, env: &str, s: &Subject, out: &mut Vec<Finding>) {
    let Some(value) = s.read() else {
        // Every rule that needed the value is listed as skipped, so none is taken as passed.
        let needed = [
            (rule.min_length.is_some(), RuleName::MinLength),
            (rule.pattern.is_some(), RuleName::Pattern),
            (!rule.forbid.is_empty(), RuleName::Forbid),
        ];
        for (_, name) in needed.iter().filter(|(needed, _)| *needed) {
            out.push(Finding::skipped(env, s, *name, NO_KEY));
        }
        return;
    };
    // Characters for text, bytes for a value that is not UTF-8.
    let (len, unit) = match &value {
        Read::Text(t) => (t.chars().count(), "characters"),
        Read::Binary { len, .. } => (*len, "bytes"),
    };
    if rule.required && len == 0 {
        out.push(Finding::new(
            env,
            s,
            RuleName::Required,
            "required, and empty",
        ));
    }
    if let Some(min) = rule.min_length {
        if len < min {
            out.push(Finding::new(
                env,
                s,
                RuleName::MinLength,
                format!("shorter than {min} {unit}"),
            ));
        }
    }
    if let Some(p) = &rule.pattern {
        match &value {
            Read::Text(t) if !p.regex.is_match(t) => out.push(Finding::new(
                env,
                s,
                RuleName::Pattern,
                format!("does not match {:?}", p.text),
            )),
            Read::Text(_) => {}
            Read::Binary { .. } => out.push(Finding::skipped(env, s, RuleName::Pattern, NOT_TEXT)),
        }
    }
    let folded = crate::config::schema::fold(value.for_lists());
    for (i, f) in rule.forbid.iter().enumerate() {
        if f.matches_folded(&folded) {
            let detail = if f.is_exact() {
                format!("a forbidden value (forbid entry {} of the schema)", i + 1)
            } else {
                format!("matches forbidden {:?}", f.text)
            };
            out.push(Finding::new(env, s, RuleName::Forbid, detail));
            break;
        }
    }
}

/// `distinct_from`: each value must differ from the other environment's value of the same
/// key. `others` holds the environments the rules name (absent: its files could not be
/// read at all).
pub fn check_distinct(
    schema: &Schema,
    env: &EnvValues,
    others: &HashMap<String, EnvValues>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in schema.for_env(env.name) {
        let Some(other_name) = &rule.distinct_from else {
            continue;
        };
        if other_name == env.name {
            continue;
        }
        for s in env.matching(rule) {
            let other = others
                .get(other_name)
                .and_then(|o| o.matching(rule).find(|t| t.name == s.name));
            let Some(other) = other else {
                continue; // nothing to be equal to
            };
            match (&s.value, &other.value) {
                (Some(a), Some(b)) => {
                    if **a == **b {
                        out.push(Finding::new(
                            env.name,
                            s,
                            RuleName::DistinctFrom,
                            format!("the same value as in {other_name} ({})", other.file),
                        ));
                    }
                }
                _ => out.push(Finding::skipped(
                    env.name,
                    s,
                    RuleName::DistinctFrom,
                    format!("cannot decrypt both this file and {}", other.file),
                )),
            }
        }
    }
    out
}

/// `max_age`: when each value last changed, from git (`ages` by file, then key path).
/// A value whose age git cannot tell is skipped with the reason, never taken as fresh.
pub fn check_ages(
    schema: &Schema,
    env: &EnvValues,
    ages: &dyn Fn(&Subject<'_>) -> Option<Freshness>,
    now: i64,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in schema.for_env(env.name) {
        let Some(max) = &rule.max_age else {
            continue;
        };
        for s in env.matching(rule) {
            match ages(s) {
                Some(Freshness::Changed(c)) => {
                    let age = now.saturating_sub(c.time).max(0) as u64;
                    if age > max.seconds {
                        let short: String = c.commit.chars().take(7).collect();
                        out.push(Finding::new(
                            env.name,
                            s,
                            RuleName::MaxAge,
                            format!(
                                "last changed {} days ago (max_age {}), by {} in {short}",
                                age / 86_400,
                                max.text,
                                c.author
                            ),
                        ));
                    }
                }
                Some(Freshness::Uncommitted) => out.push(Finding::skipped(
                    env.name,
                    s,
                    RuleName::MaxAge,
                    "changed but not committed yet: its age is unknown",
                )),
                Some(Freshness::Unknown(why)) => {
                    // Changed at a known time or before (a shallow clone's boundary):
                    // that bound alone may prove it overdue.
                    let at_least = why
                        .held_since()
                        .map(|t| now.saturating_sub(t).max(0) as u64);
                    out.push(match at_least {
                        Some(age) if age > max.seconds => Finding::new(
                            env.name,
                            s,
                            RuleName::MaxAge,
                            format!(
                                "last changed at least {} days ago (max_age {}): {why}",
                                age / 86_400,
                                max.text
                            ),
                        ),
                        _ => Finding::skipped(
                            env.name,
                            s,
                            RuleName::MaxAge,
                            format!("age unknown: {why}"),
                        ),
                    })
                }
                None => out.push(Finding::skipped(
                    env.name,
                    s,
                    RuleName::MaxAge,
                    "age unknown: not in git",
                )),
            }
        }
    }
    out
}

/// `grace`: the previous values `rotate-value --keep-previous` kept (`retiring:` in the
/// config) whose grace period is over at `now` (Unix seconds), each due for removal; only
/// those of environment `env` when given (a file in no environment is under `-`). Before
/// its `until`, a previous value is not a finding. Reads nothing but the config.
pub fn check_retiring(config: &Config, env: Option<&str>, now: i64) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in config.retiring() {
        let file_env = config
            .environment_for(std::path::Path::new(&r.file))
            .unwrap_or("-");
        if env.is_some_and(|e| e != file_env) {
            continue;
        }
        // A file renamed (`git mv`) or deleted since: `--remove-expired` on the new path
        // would not find the record, and on the old one there is no file.
        let detail = if !config.root().join(&r.file).exists() {
            format!(
                "the previous value's record ({}:{}) names a file that no longer exists: if it was renamed, change the record's file: to the new path; if it was deleted, remove the record",
                crate::config::FILE_NAME,
                r.line,
            )
        } else if r.expired(now) {
            format!(
                "previous value past its grace period (until {}, {}:{}); remove it: secrets rotate-value {} --remove-expired",
                r.until_text,
                crate::config::FILE_NAME,
                r.line,
                r.file
            )
        } else {
            continue;
        };
        out.push(Finding {
            env: file_env.to_string(),
            file: Some(r.file.clone()),
            key: r.key.clone(),
            path: None,
            rule: RuleName::Grace,
            detail,
            skipped: false,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw;
    use crate::config::schema;

    fn schema(text: &str) -> Schema {
        let doc = raw::parse_yaml(text).unwrap();
        let raw::Value::Map(entries) = &doc.value else {
            panic!()
        };
        schema::parse(&entries[0].1, &["dev", "prod"]).unwrap()
    }

    fn subject(name: &str, value: Option<&str>) -> Subject<'static> {
        Subject {
            file: "config/prod.yaml".into(),
            name: name.to_string().into(),
            key: name.to_lowercase().into(),
            value: value.map(|v| Plaintext::Owned(Zeroizing::new(v.as_bytes().to_vec()))),
        }
    }

    fn rules(findings: &[Finding]) -> Vec<(&str, &str, bool)> {
        findings
            .iter()
            .map(|f| (f.key.as_str(), f.rule.as_str(), f.skipped))
            .collect()
    }

    #[test]
    fn value_rules_name_the_rule_and_never_the_value() {
        let s = schema(
            "schema:\n  SECRET_KEY: {required: true, min_length: 50, forbid: [\"django-insecure-*\", changeme]}\n  STRIPE_KEY: {pattern: \"^sk_live_\", envs: [prod]}\n  JWT: {required: true}\n",
        );
        let subjects = [
            subject("SECRET_KEY", Some("django-insecure-abc")),
            subject("STRIPE_KEY", Some("sk_test_123")),
        ];
        let env = EnvValues {
            name: "prod",
            production: false,
            subjects: &subjects,
        };
        let found = check_values(&s, &env, true);
        assert_eq!(
            rules(&found),
            [
                ("SECRET_KEY", "min_length", false),
                ("SECRET_KEY", "forbid", false),
                ("STRIPE_KEY", "pattern", false),
                ("JWT", "required", false),
            ]
        );
        for f in &found {
            assert!(
                !f.detail.contains("abc") && !f.detail.contains("123"),
                "{f:?}"
            );
        }
        // A partial view cannot say a key is missing.
        assert!(check_values(&s, &env, false)
            .iter()
            .all(|f| f.rule != RuleName::Required));
        // STRIPE_KEY's rule is for prod only.
        let dev = EnvValues { name: "dev", ..env };
        assert!(!rules(&check_values(&s, &dev, true)).contains(&("STRIPE_KEY", "pattern", false)));
    }

    #[test]
    fn a_value_that_is_not_utf8_is_read_by_its_bytes() {
        let s = schema("schema:\n  A: {required: true, min_length: 10, pattern: \"^a\", forbid: [\"changeme*\"]}\n");
        let value = |bytes: &[u8]| Subject {
            value: Some(Plaintext::Owned(Zeroizing::new(bytes.to_vec()))),
            ..subject("A", None)
        };
        let env = |subjects| EnvValues {
            name: "prod",
            production: true,
            subjects,
        };
        // Ten bytes, three of them invalid: long enough, not empty, pattern skipped.
        let binary = [value(b"abc\xff\xfe\x80defg")];
        assert_eq!(
            rules(&check_values(&s, &env(&binary), true)),
            [("A", "pattern", true)]
        );
        // Nine bytes are too short in bytes; text around an invalid byte still matches.
        let short = [value(b"ChangeMe\xff")];
        let found = check_values(&s, &env(&short), true);
        assert_eq!(
            rules(&found),
            [
                ("A", "min_length", false),
                ("A", "pattern", true),
                ("A", "forbid", false)
            ]
        );
        assert_eq!(found[0].detail, "shorter than 10 bytes");
        assert_eq!(&*lossy(b"a\xffb\xe2\x82"), "a\u{FFFD}b\u{FFFD}");
    }

    #[test]
    fn exact_forbidden_entries_are_not_echoed() {
        let s = schema("schema:\n  A: {forbid: [hunter2]}\n");
        let subjects = [subject("A", Some("Hunter2"))];
        let env = EnvValues {
            name: "dev",
            production: false,
            subjects: &subjects,
        };
        let found = check_values(&s, &env, true);
        assert_eq!(found.len(), 1);
        assert!(!found[0].detail.to_lowercase().contains("hunter2"));
    }

    #[test]
    fn production_list_and_undecryptable_files() {
        let s = schema("schema:\n  A: {min_length: 10}\n");
        let subjects = [
            subject("A", None),
            subject("STRIPE", Some("sk_test_abc")),
            subject("DEBUG", Some("false")),
        ];
        let env = EnvValues {
            name: "prod",
            production: true,
            subjects: &subjects,
        };
        assert_eq!(
            rules(&check_values(&s, &env, true)),
            [
                ("A", "min_length", true),
                ("*", "production", true),
                ("STRIPE", "production", false),
            ]
        );
    }

    #[test]
    fn distinct_from_compares_the_same_variable() {
        let s = schema("schema:\n  DB: {distinct_from: dev}\n");
        let prod = [subject("DB", Some("same"))];
        let dev = [subject("DB", Some("same"))];
        let env = EnvValues {
            name: "prod",
            production: false,
            subjects: &prod,
        };
        let mut others = HashMap::new();
        others.insert(
            "dev".to_string(),
            EnvValues {
                name: "dev",
                production: false,
                subjects: &dev,
            },
        );
        assert_eq!(
            rules(&check_distinct(&s, &env, &others)),
            [("DB", "distinct_from", false)]
        );
        let dev = [subject("DB", Some("other"))];
        others.get_mut("dev").unwrap().subjects = &dev;
        assert!(check_distinct(&s, &env, &others).is_empty());
    }

    #[test]
    fn retiring_values_are_due_only_after_their_until() {
        let dir = tempfile::tempdir().unwrap();
        for f in [".env.prod", "other.yaml"] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        let config = Config::from_text(
            &dir.path().join(".secrets.yaml"),
            "environments:\n  prod:\n    files: [.env.prod]\nretiring:\n  - file: .env.prod\n    key: JWT_PREVIOUS\n    until: 2026-12-07T10:00:00Z\n  - file: other.yaml\n    key: a.b\n    until: 2020-01-01T00:00:00Z\n",
        )
        .unwrap();
        let until = crate::config::parse_time("2026-12-07T10:00:00Z").unwrap();
        let keys = |now, env| -> Vec<(String, String)> {
            check_retiring(&config, env, now)
                .into_iter()
                .map(|f| {
                    assert_eq!(f.rule, RuleName::Grace);
                    (f.env, f.key)
                })
                .collect()
        };
        assert_eq!(keys(until - 1, None), [("-".into(), "a.b".into())]);
        assert_eq!(
            keys(until, None),
            [
                ("prod".to_string(), "JWT_PREVIOUS".to_string()),
                ("-".into(), "a.b".into())
            ]
        );
        assert_eq!(keys(until, Some("prod")).len(), 1);
        assert!(keys(until, Some("dev")).is_empty());
    }

    /// A record whose file was renamed or deleted is a finding before and after its
    /// `until`, saying what to do (`--remove-expired` cannot find it either way).
    #[test]
    fn a_retiring_record_of_a_file_gone_since_is_a_finding() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env.prod"), "A=1\n").unwrap();
        let config = Config::from_text(
            &dir.path().join(".secrets.yaml"),
            "environments:\n  prod:\n    files: [.env.*]\nretiring:\n  - file: .env.prod\n    key: JWT_PREVIOUS\n    until: 2026-12-07T10:00:00Z\n  - file: .env.old\n    key: JWT_PREVIOUS\n    until: 2026-12-07T10:00:00Z\n",
        )
        .unwrap();
        let until = crate::config::parse_time("2026-12-07T10:00:00Z").unwrap();
        for now in [until - 1, until] {
            let gone: Vec<Finding> = check_retiring(&config, Some("prod"), now)
                .into_iter()
                .filter(|f| f.file.as_deref() == Some(".env.old"))
                .collect();
            assert_eq!(gone.len(), 1, "at {now}");
            assert_eq!(gone[0].rule, RuleName::Grace);
            assert!(
                gone[0]
                    .detail
                    .contains("(.secrets.yaml:8) names a file that no longer exists"),
                "{}",
                gone[0].detail
            );
        }
        // The file that exists keeps its usual rule: nothing before its until.
        assert_eq!(check_retiring(&config, Some("prod"), until - 1).len(), 1);
        assert_eq!(check_retiring(&config, Some("prod"), until).len(), 2);
    }
}
