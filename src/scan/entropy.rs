//! Entropy and shape tests for candidate secrets.
//!
//! Regexes find things shaped like credentials; these functions decide whether the text is
//! random enough to be one, and reject the shapes that look random but are not secrets
//! (UUIDs, placeholders such as `xxxx` or `your-api-key-here`, env references, ciphertext).

/// Shannon entropy in bits per byte.
pub fn shannon(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * libm::log2(p)
        })
        .sum()
}

/// How many of the classes lower, upper, digit, other are present.
pub fn char_classes(s: &[u8]) -> usize {
    let mut m = [false; 4];
    for &b in s {
        let i = match b {
            b'a'..=b'z' => 0,
            b'A'..=b'Z' => 1,
            b'0'..=b'9' => 2,
            _ => 3,
        };
        m[i] = true;
    }
    m.iter().filter(|x| **x).count()
}

/// `8-4-4-4-12` hex.
pub fn is_uuid(s: &[u8]) -> bool {
    s.len() == 36
        && s.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Words that mark a placeholder in any candidate, provider token or not.
const PLACEHOLDER_WORDS: &[&str] = &[
    "example",
    "changeme",
    "change_me",
    "change-me",
    "placeholder",
    "xxxx",
    "****",
    "....",
    "…",
    "redacted",
    "dummy",
    "your-",
    "your_",
    "notasecret",
    "not-a-secret",
];

/// Words that mark a placeholder in a free-form value (a password someone typed); too short
/// or common to test on random tokens, where they turn up by chance.
const WEAK_PLACEHOLDER_WORDS: &[&str] = &[
    "secret", "password", "passwd", "your", "sample", "replace", "insert", "todo", "fixme", "fake",
    "mock", "1234567", "abcdef", "qwerty", "letmein", "000000", "hunter2", "test", "foobar",
];

/// Words and patterns people put where a token will go (`xxxx`, `your-…`, `EXAMPLE`).
pub fn is_placeholder(s: &[u8]) -> bool {
    if has_placeholder_word(s) {
        return true;
    }
    if has_sequence(s, 8) {
        return true;
    }
    // Long runs of one character (`aaaaaaaa`, `00000000`).
    let mut run = 1;
    for w in s.windows(2) {
        if w[0] == w[1] {
            run += 1;
            if run >= 6 {
                return true;
            }
        } else {
            run = 1;
        }
    }
    false
}

/// Holds one of the [`PLACEHOLDER_WORDS`] (`xxxx`, `example`, `your-`).
pub fn has_placeholder_word(s: &[u8]) -> bool {
    let lower = s.to_ascii_lowercase();
    let text = String::from_utf8_lossy(&lower);
    PLACEHOLDER_WORDS.iter().any(|w| text.contains(w))
}

/// A run of `n` consecutive characters (`abcdefgh`, `01234567`): typed, not random (a
/// random token holds one with odds of about 62^-(n-1)).
pub fn has_sequence(s: &[u8], n: usize) -> bool {
    let mut run = 1;
    for w in s.windows(2) {
        run = if w[1] == w[0].wrapping_add(1) {
            run + 1
        } else {
            1
        };
        if run >= n {
            return true;
        }
    }
    false
}

/// [`is_placeholder`] plus the words people use for throwaway passwords in fixtures.
pub fn is_weak_placeholder(s: &[u8]) -> bool {
    let lower = s.to_ascii_lowercase();
    let text = String::from_utf8_lossy(&lower);
    is_placeholder(s) || WEAK_PLACEHOLDER_WORDS.iter().any(|w| text.contains(w))
}

/// A reference to a value kept elsewhere: `${X}`, `$X`, `{{ x }}`, `%(x)s`, `<x>`, `#{x}`,
/// `@x@`, ERB, ansible/sops tags.
pub fn is_reference(s: &[u8]) -> bool {
    let t = trim(s);
    if t.is_empty() {
        return true;
    }
    let starts = |p: &[u8]| t.starts_with(p);
    if starts(b"$")
        || starts(b"%")
        || starts(b"{{")
        || starts(b"<")
        || starts(b"#{")
        || starts(b"!")
        || starts(b"@")
        || starts(b"ENC[")
        || starts(b"&")
        || starts(b"*")
    {
        return true;
    }
    contains(t, b"${") || contains(t, b"{{") || contains(t, b"ENC[AES256_GCM")
}

/// Is this (after trimming quotes) ciphertext we must not flag?
pub fn is_encrypted_value(s: &[u8]) -> bool {
    let t = trim(s);
    t.starts_with(b"ENC[")
        || t.starts_with(b"$ANSIBLE_VAULT")
        || t.starts_with(b"age1")
        || is_cirrus_encrypted(t)
}

/// Cirrus CI's encrypted variables: `ENCRYPTED[<hex>]`, opaque without the repository's key.
fn is_cirrus_encrypted(t: &[u8]) -> bool {
    t.strip_prefix(b"ENCRYPTED[")
        .and_then(|r| r.strip_suffix(b"]"))
        .is_some_and(|h| h.len() >= 32 && h.iter().all(u8::is_ascii_hexdigit))
}

pub fn trim(s: &[u8]) -> &[u8] {
    let mut a = 0;
    let mut b = s.len();
    while a < b && (s[a].is_ascii_whitespace() || matches!(s[a], b'"' | b'\'' | b'`')) {
        a += 1;
    }
    while b > a && (s[b - 1].is_ascii_whitespace() || matches!(s[b - 1], b'"' | b'\'' | b'`')) {
        b -= 1;
    }
    &s[a..b]
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Replaces a secret with a preview of fixed width that does not tell its length: 12
/// stars between at most 4 + 4 characters of a secret of 32 or more (`ghp_************8rES`),
/// 2 + 2 of one of 16 to 31 (`AK************PF`), none of a shorter one (`************`):
/// CI logs keep previews, and a few characters of a short secret are a large part of it.
pub fn redact(s: &[u8]) -> String {
    let text = String::from_utf8_lossy(s);
    let chars: Vec<char> = text.chars().filter(|c| !c.is_control()).collect();
    let n = chars.len();
    let keep = match n {
        32.. => 4,
        16..=31 => 2,
        _ => 0,
    };
    let head: String = chars[..keep].iter().collect();
    let tail: String = chars[n - keep..].iter().collect();
    format!("{head}{PREVIEW_STARS}{tail}")
}

const PREVIEW_STARS: &str = "************";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_orders_random_above_words() {
        assert!(shannon(b"q8ZrT2vLx9Pw4Kd7") > 3.5);
        assert!(shannon(b"aaaaaaaa") < 0.1);
        assert_eq!(shannon(b""), 0.0);
    }

    #[test]
    fn shapes() {
        assert!(is_uuid(b"123e4567-e89b-12d3-a456-426614174000"));
        assert!(!is_uuid(b"123e4567e89b12d3a456426614174000"));
        assert!(is_placeholder(b"your-api-key-here"));
        assert!(is_placeholder(b"xxxxxxxxxxxx"));
        assert!(!is_placeholder(b"q8ZrT2vLx9Pw4Kd7"));
        assert!(is_placeholder(b"ghp_abcdefghijklmnopqrstuvwxyz0123456789"));
        assert!(is_placeholder(b"sk_live_0123456789ABCDEFGHIJklmn"));
        assert!(!is_placeholder(b"ghp_hGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8rES"));
        assert!(is_reference(b"${DB_PASSWORD}"));
        assert!(is_reference(b"\"{{ token }}\""));
        assert!(!is_reference(b"q8Zr$T2vL"));
    }

    #[test]
    fn redaction_keeps_at_most_eight_chars() {
        assert_eq!(redact(b"AKIAIOSFODNN7EXAMPLE"), "AK************LE");
        assert_eq!(
            redact(b"ghp_hGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8rES"),
            "ghp_************8rES"
        );
        assert_eq!(redact(b"hunter2"), "************");
        assert_eq!(redact(b"q8ZrT2vLx9Pw4Kd7"), "q8************d7");
        assert_eq!(redact(b"q8ZrT2vLx9Pw4Kd"), "************");
        // The width does not tell the length.
        assert_eq!(
            redact(b"q8ZrT2vLx9Pw4Kd7").len(),
            redact(b"q8ZrT2vLx9Pw4Kd7q8ZrT2vLx9Pw4Kd").len()
        );
        assert_eq!(redact(b""), "************");
        assert_eq!(redact("é".repeat(40).as_bytes()).chars().count(), 20);
    }
}
