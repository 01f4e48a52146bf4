//! Secret or plain config: the scanner's own judgement, applied to one key and its value.
//!
//! Nothing is decided here that the leak scanner does not already decide: a provider rule
//! or the generic assignment check firing on the line `NAME=value` (a Stripe key, a URL
//! with a password, `PASSWORD=q8Zr…`), a name the generic check treats as a secret's
//! (`*PASSWORD*`, `*_SECRET*`, `*_TOKEN*`, `api_key`, …, with its stopwords:
//! `PASSWORD_RESET_TIMEOUT` is config), and a random-looking value under any name
//! (`generic::looks_secret` plus an entropy floor). Three policies are import's own, all on
//! the cautious side: a name ending in `_KEY` is a secret (`STRIPE_KEY`, `FERNET_KEY`), as
//! is one ending in the word `password` or `passphrase` whatever the stopwords say
//! (`KEYSTORE_PASSWORD`), and so is a name that another key of the file holds as a secret (a name kept clear is
//! clear wherever it occurs, see `plan`). Encrypting a plain value costs readability; leaving
//! a secret in clear costs a leak.

use crate::scan::{self, entropy, generic, RuleSet};

/// What a key is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Secret,
    Plain,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::Secret => "secret",
            Class::Plain => "plain",
        }
    }
}

/// A class and why, in words for the plan table (never the value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    pub class: Class,
    pub reason: String,
}

/// The entropy floor (bits per byte) and length for a value to be a secret by its looks
/// alone, under a name that says nothing: a 20-character random token has over 4 bits per
/// character; `Europe/Paris`, `noreply@example.com` and version strings stay below, or
/// fail [`generic::looks_secret`].
const ENTROPY_FLOOR: f64 = 4.0;
const ENTROPY_MIN_LEN: usize = 20;

/// The scanner's rules, compiled once per import.
pub struct Classifier {
    rules: RuleSet,
}

impl Default for Classifier {
    fn default() -> Self {
        Classifier {
            rules: RuleSet::builtin(),
        }
    }
}

impl Classifier {
    /// Judges one key (`name`, the last key of its path) holding `values` (one, or the
    /// items of a list): secret when any of them is.
    pub fn judge(&self, name: &str, values: &[&str]) -> Judgement {
        for v in values {
            if let Some(rule) = self.rule_on(name, v) {
                return Judgement {
                    class: Class::Secret,
                    reason: format!("value: {} ({rule})", scan::describe(rule)),
                };
            }
        }
        for v in values {
            if let Some(what) = import_value_rule(v) {
                return Judgement {
                    class: Class::Secret,
                    reason: format!("value: {what}"),
                };
            }
        }
        if let Some(word) = generic::secret_name_keyword(name) {
            return Judgement {
                class: Class::Secret,
                reason: format!("name contains `{word}`"),
            };
        }
        if let Some(word) = secret_name_word(name) {
            return Judgement {
                class: Class::Secret,
                reason: format!("name contains `{word}`"),
            };
        }
        let lower = name.to_ascii_lowercase();
        if lower == "key" || lower.ends_with("_key") || lower.ends_with("-key") {
            return Judgement {
                class: Class::Secret,
                reason: "name ends in _KEY".into(),
            };
        }
        for v in values {
            if long_hex(v) {
                return Judgement {
                    class: Class::Secret,
                    reason: format!("value: {} hex digits", v.trim().len()),
                };
            }
            if random_looking(v.as_bytes()) {
                return Judgement {
                    class: Class::Secret,
                    reason: format!(
                        "value: high entropy ({:.1} bits/char)",
                        entropy::shannon(v.as_bytes())
                    ),
                };
            }
        }
        Judgement {
            class: Class::Plain,
            reason: "no secret name or value".into(),
        }
    }

    /// The scanner rule that fires on `NAME=value` inside the value, if any.
    fn rule_on(&self, name: &str, value: &str) -> Option<&'static str> {
        if value.is_empty() || value.contains('\n') {
            // A multi-line value (a PEM key) is looked at as it is.
            return self
                .rules
                .find(value.as_bytes(), false)
                .first()
                .map(|c| c.rule);
        }
        // The line holds the value: a buffer wiped on drop.
        let line = zeroize::Zeroizing::new(format!("{name}={value}"));
        let start = name.len() + 1;
        let found = self.rules.find(line.as_bytes(), false);
        found.iter().find(|c| c.end > start).map(|c| c.rule)
    }
}

/// Words of a name that make it a secret's, beyond the scanner's keywords (which are
/// substrings with stopwords): matched as whole words of the name (`TWILIO_AUTH`,
/// `GITHUB_PAT`, `sentryDsn`), so `AUTHOR` or `PATH` are not caught.
const SECRET_WORDS: &[&str] = &[
    "auth",
    "salt",
    "pat",
    "dsn",
    "signing",
    "credential",
    "credentials",
    "private",
    "passwd",
    "pwd",
    "pass",
    "secret",
    "token",
    "apikey",
];

/// The first word of `name` that names a secret ([`SECRET_WORDS`]), or its last word
/// when that is `password` or `passphrase`: the scanner's stopwords are substrings
/// (`min`, `store`, `hash`, `env`), and they made `MINIO_ROOT_PASSWORD`,
/// `KEYSTORE_PASSWORD` and `ENV_PASSWORD` config, where a name ending in the word is a
/// password whatever qualifies it (`PASSWORD_RESET_TIMEOUT`, `min_password_length`
/// end in another word).
fn secret_name_word(name: &str) -> Option<&'static str> {
    let words = words(name);
    if let Some(last) = words.iter().rev().find(|w| !w.is_empty()) {
        if let Some(w) = ["password", "passphrase"].into_iter().find(|w| w == last) {
            return Some(w);
        }
    }
    words
        .iter()
        .find_map(|w| SECRET_WORDS.iter().copied().find(|s| s == w))
}

/// The words of a name, lower case: split at `_`, `-`, `.`, spaces and lower-to-upper
/// case changes.
fn words(name: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            words.push(std::mem::take(&mut cur));
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_lowercase());
    }
    words.push(cur);
    words
}

/// Token prefixes of providers: a value starting with one of them (and long enough) is a
/// secret whether or not its checksum holds (the scanner drops bad checksums as noise;
/// in an import every value is real).
const TOKEN_PREFIXES: &[&str] = &[
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "glrt-",
    "npm_",
    "SG.",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "rk_test_",
    "whsec_",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "xoxr-",
    "xoxs-",
    "xapp-",
    "AKIA",
    "ASIA",
    "AIza",
    "sk-",
    "hf_",
    "pypi-",
    "dop_v1_",
    "shpat_",
    "shpss_",
    "shpca_",
    "sq0atp-",
    "sq0csp-",
    "ya29.",
];

/// Import's own value checks, where the scanner filters noise that an import must not
/// (weak or example passwords, example hosts, bad checksums): a URL with a password (or a
/// long user part, as in a Sentry DSN), a connection string's `Password=`/`Pwd=`, an HTTP
/// `Basic`/`Bearer` credential, a provider-prefixed token. Returns the words of the reason.
fn import_value_rule(v: &str) -> Option<&'static str> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    // URLs: every `scheme://userinfo@` in the value.
    let mut rest = v;
    while let Some(i) = rest.find("://") {
        let after = &rest[i + 3..];
        let end = after
            .find(|c: char| c.is_whitespace() || c == ',' || c == ';')
            .unwrap_or(after.len());
        let url = &after[..end];
        if let Some(at) = url.rfind('@') {
            let userinfo = &url[..at];
            // `@` in a path (`https://h/x@y`) is no userinfo.
            let host_path = userinfo.find('/').map(|p| &userinfo[..p]);
            if host_path.is_none_or(|h| h.contains(':') || h.contains('@')) {
                match userinfo.split_once(':') {
                    Some((_, pass)) if !pass.is_empty() => return Some("URL with a password"),
                    None if userinfo.len() >= 16 => return Some("URL with a key in it"),
                    _ => {}
                }
            }
        }
        rest = &after[end.min(after.len())..];
    }
    // Connection strings: `Password=…;` or `Pwd=…;`, any case.
    let lower = v.to_ascii_lowercase();
    for key in ["password", "pwd"] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(key) {
            let start = from + i;
            from = start + key.len();
            let boundary = start == 0
                || matches!(
                    lower.as_bytes()[start - 1],
                    b';' | b' ' | b'\t' | b'"' | b'\''
                );
            let tail = lower[from..].trim_start();
            if boundary && tail.starts_with('=') {
                let value = tail[1..].trim_start();
                let value = value.split(';').next().unwrap_or("");
                if !value.trim().trim_matches(['"', '\'', '{', '}']).is_empty() {
                    return Some("connection string with a password");
                }
            }
        }
    }
    // `Basic dXNlcjpwYXNz`, `Bearer eyJ…`.
    for scheme in ["basic ", "bearer ", "token ", "digest "] {
        if lower.starts_with(scheme) && v[scheme.len()..].trim().len() >= 8 {
            return Some("an HTTP credential");
        }
    }
    // Provider-prefixed tokens, whatever their checksum.
    for p in TOKEN_PREFIXES {
        if let Some(tail) = v.strip_prefix(p) {
            let tokenish = tail.len() >= 16
                && !tail.contains(char::is_whitespace)
                && tail.bytes().any(|b| b.is_ascii_digit())
                && tail.bytes().any(|b| b.is_ascii_alphabetic());
            if tokenish {
                return Some("provider token prefix");
            }
        }
    }
    None
}

/// Hex of 32 digits or more (a 128-bit key or longer) counts as random, under any name:
/// `TWILIO_AUTH`, `APP_SIGNING`. (A commit id under `GIT_SHA` is encrypted too: when in
/// doubt, secret; `--keep-clear` keeps it readable.)
fn long_hex(v: &str) -> bool {
    let v = v.trim();
    v.len() >= 32 && v.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A value random enough to be a key or token whatever its name.
fn random_looking(v: &[u8]) -> bool {
    v.len() >= ENTROPY_MIN_LEN
        && entropy::char_classes(v) >= 3
        && entropy::shannon(v) >= ENTROPY_FLOOR
        && generic::looks_secret(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(name: &str, value: &str) -> Class {
        Classifier::default().judge(name, &[value]).class
    }

    #[test]
    fn names_and_values_of_the_issue() {
        use Class::*;
        for (n, v, want) in [
            (
                "DATABASE_URL",
                "postgres://app:qB5IGky4Oo8D!iIMW@db.internal:5432/app",
                Secret,
            ),
            ("STRIPE_KEY", "abc", Secret),
            ("DJANGO_SECRET", "x", Secret),
            ("GITHUB_TOKEN", "x", Secret),
            ("EMAIL_HOST_PASSWORD", "", Secret),
            ("DB_PASSWORD", "changeme", Secret),
            (
                "SENTRY_RELEASE",
                "hGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8rES",
                Secret,
            ),
            ("LOG_LEVEL", "INFO", Plain),
            ("DEBUG", "False", Plain),
            ("PORT", "8000", Plain),
            ("ALLOWED_HOSTS", "example.com,www.example.com", Plain),
            ("TIME_ZONE", "Europe/Paris", Plain),
            (
                "DEFAULT_FROM_EMAIL",
                "noreply@mycompany-production.com",
                Plain,
            ),
            ("PASSWORD_RESET_TIMEOUT", "259200", Plain),
            ("AUTHOR", "Jane Doe", Plain),
            ("PATH", "/usr/bin:/bin", Plain),
            ("HOMEPAGE", "https://mysite.com/", Plain),
            ("API_URL", "https://api.example.com/v1/users/@me", Plain),
            ("REDIS_URL", "redis://redis:6379/0", Plain),
            (
                "GIT_SHA",
                "3e872f9addccdfb28e0a74bda3b1405d877d36a9",
                Secret,
            ),
            ("REQUEST_ID", "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b", Plain),
        ] {
            assert_eq!(class(n, v), want, "{n}={v}");
        }
    }

    /// Found by an outside audit: the scanner's stopwords (`min`, `store`, `hash`, `env`)
    /// made these config, and their dictionary-word values stayed in clear.
    #[test]
    fn a_name_ending_in_password_is_a_secret_whatever_qualifies_it() {
        for n in [
            "MINIO_ROOT_PASSWORD",
            "KEYSTORE_PASSWORD",
            "TRUSTSTORE_PASSWORD",
            "HASH_PASSWORD",
            "ENV_PASSWORD",
            "datastorePassword",
            "GPG_PASSPHRASE",
        ] {
            assert_eq!(class(n, "Summer2024"), Class::Secret, "{n}");
        }
        for n in [
            "PASSWORD_RESET_TIMEOUT",
            "min_password_length",
            "PASSWORD_HASHER",
        ] {
            assert_eq!(class(n, "12"), Class::Plain, "{n}");
        }
    }

    #[test]
    fn reasons_name_the_rule_never_the_value() {
        let j = Classifier::default().judge(
            "DATABASE_URL",
            &["postgres://app:qB5IGky4Oo8D!iIMW@db.internal:5432/app"],
        );
        assert!(j.reason.contains("url-password"), "{}", j.reason);
        assert!(!j.reason.contains("qB5IGky4Oo8D"));
    }
}
