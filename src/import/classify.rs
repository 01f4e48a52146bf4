//! Secret or plain config: the scanner's own judgement, applied to one key and its value.
//!
//! Nothing is decided here that the leak scanner does not already decide: a provider rule
//! or the generic assignment check firing on the line `NAME=value` (a Stripe key, a URL
//! with a password, `PASSWORD=q8Zr…`), a name the generic check treats as a secret's
//! (`*PASSWORD*`, `*_SECRET*`, `*_TOKEN*`, `api_key`, …, with its stopwords:
//! `PASSWORD_RESET_TIMEOUT` is config), and a random-looking value under any name
//! (`generic::looks_secret` plus an entropy floor). Two policies are import's own, both on
//! the cautious side: a name ending in `_KEY` is a secret (`STRIPE_KEY`, `FERNET_KEY`),
//! and so is a name that another key of the file holds as a secret (a name kept clear is
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
        if let Some(word) = generic::secret_name_keyword(name) {
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
            ("REDIS_URL", "redis://redis:6379/0", Plain),
            ("GIT_SHA", "3e872f9addccdfb28e0a74bda3b1405d877d36a9", Plain),
            ("REQUEST_ID", "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b", Plain),
        ] {
            assert_eq!(class(n, v), want, "{n}={v}");
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
