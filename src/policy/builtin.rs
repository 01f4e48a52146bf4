//! The values no production environment should hold: framework defaults, placeholders from
//! templates and tutorials, and payment providers' test keys. Applied to every value of an
//! environment marked `production: true`, whatever its key. Compared without regard to case;
//! `*` stands for any text; besides the list, a value made of one placeholder character
//! repeated (`xxxx`, `****`) is weak. Values a real setting may hold (`false`, `admin`,
//! `postgres`, `default`, `testing`) are left out on purpose: this list must not cry wolf
//! (nor may a random value that happens to start with `xxx`).

use crate::config::schema::{fold, Glob};
use std::sync::OnceLock;

/// The list as documented in `docs/schema.md`.
pub const WEAK_VALUES: &[&str] = &[
    // Framework and tutorial defaults.
    "django-insecure-*",
    "changeme",
    "change-me",
    "change_me",
    "changeit",
    "change-this*",
    "replace-me",
    "replace_me",
    "replaceme",
    "secret",
    "secret123",
    "mysecret",
    "supersecret",
    "super-secret",
    "topsecret",
    "notasecret",
    "password",
    "password1",
    "password123",
    "passw0rd",
    "p@ssw0rd",
    "123456",
    "12345678",
    "qwerty",
    "letmein",
    "insecure",
    // Placeholders left from a template.
    "example",
    "test",
    "dummy",
    "placeholder",
    "todo",
    "fixme",
    "your-*-here",
    "your_*_here",
    "<*>",
    "${*}",
    // Payment providers' test keys.
    "sk_test_*",
    "pk_test_*",
    "rk_test_*",
    "whsec_test_*",
];

/// The list split once: the exact entries and the few globs. The entries are written in
/// lower case (a test checks it), so both are the list's own `&'static str`s: nothing is
/// copied at each `exec`.
struct Compiled {
    exact: Vec<&'static str>,
    globs: Vec<Glob<&'static str>>,
}

fn compiled() -> &'static Compiled {
    static LIST: OnceLock<Compiled> = OnceLock::new();
    LIST.get_or_init(|| {
        let (globs, exact): (Vec<&str>, Vec<&str>) =
            WEAK_VALUES.iter().partition(|w| w.contains('*'));
        Compiled {
            exact,
            globs: globs.into_iter().map(Glob::new).collect(),
        }
    })
}

/// How to name the entry `value` matches, without showing the value: a glob as written
/// (`sk_test_*`), an exact entry only as "built-in list".
pub fn weak_match(value: &str) -> Option<String> {
    // Spaces around a value hide nothing (`changeme ` is as weak as `changeme`).
    let value = value.trim();
    if placeholder(value) {
        return Some("built-in: a placeholder (xxx…)".to_string());
    }
    let folded = fold(value);
    let list = compiled();
    // A scan, not a binary search: with thirty short entries most differ in length, and
    // sorting them cost more than every lookup of a start.
    if list.exact.iter().any(|w| *w == folded.as_str()) {
        return Some("built-in list".to_string());
    }
    let hit = list.globs.iter().find(|g| g.matches(&folded))?;
    Some(format!("built-in {:?}", hit.text()))
}

/// A value masked or left to be filled in: only `x`, `X` or `*` (at least three) and
/// separators (`xxx`, `********`, `xxx-xxx-xxx`), or holding a run of eight of one of them
/// (`sk_live_XXXXXXXXXXXXXXXX`), which no random value has.
fn placeholder(value: &str) -> bool {
    let is_mark = |c: char| matches!(c, 'x' | 'X' | '*');
    let marks = value.chars().filter(|&c| is_mark(c)).count();
    if marks >= 3
        && value
            .chars()
            .all(|c| is_mark(c) || matches!(c, '-' | '_' | '.' | ' '))
    {
        return true;
    }
    let mut run = 0;
    let mut prev = None;
    for c in value.chars() {
        run = match prev {
            Some(p) if is_mark(c) && c.eq_ignore_ascii_case(&p) => run + 1,
            _ if is_mark(c) => 1,
            _ => 0,
        };
        if run >= 8 {
            return true;
        }
        prev = Some(c);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_written_in_lower_case() {
        // weak_match compares them with lower-cased values as they are.
        for w in WEAK_VALUES {
            assert_eq!(*w, w.to_lowercase(), "{w}");
        }
    }

    #[test]
    fn every_entry_matches_in_any_case() {
        for w in WEAK_VALUES {
            let value = w.replace('*', "Abc1");
            assert!(weak_match(&value).is_some(), "{value}");
            assert!(weak_match(&value.to_uppercase()).is_some(), "{value}");
            assert!(
                weak_match(&format!("{value}-not")).is_none() || w.ends_with('*'),
                "{value}"
            );
        }
    }

    #[test]
    fn weak_values_match_and_real_ones_do_not() {
        for weak in [
            "django-insecure-k2j3h4",
            "CHANGEME",
            "sk_test_51Habc",
            "your-api-key-here",
            "xxxxxxxx",
            "XXX",
            "********",
            "<your token>",
            "changeme ",
            "REPLACE_ME",
            "xxx-xxx-xxx",
            "sk_live_XXXXXXXXXXXXXXXX",
            "AKIAxxxxxxxxxxxxxxxx",
        ] {
            assert!(weak_match(weak).is_some(), "{weak}");
        }
        for fine in [
            "false",
            "admin",
            "postgres",
            "sk_live_51Habc",
            "smtp.example.com",
            "k8Jz!q2mW-9vT",
            "XxXq7Lk2mZ9vR4tW8yB3nC6fH1jD5gS0",
            "default",
            "Testing",
            "xx",
            "x-y-z",
            "Xx7XxxXq-XXXX-2k",
            "maxxx_connections",
        ] {
            assert!(weak_match(fine).is_none(), "{fine}");
        }
        assert_eq!(weak_match("changeme").unwrap(), "built-in list");
    }
}
