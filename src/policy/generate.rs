//! Generating a secret value (`secrets generate`, `secrets set --generate`): a password,
//! random bytes as hex or base64, a UUID, a Django secret key or a passphrase, from the
//! operating system's CSPRNG only ([`OsRng`]: `getrandom(2)`), each character or word
//! chosen uniformly (rejection sampling, no modulo bias). The format and size come from
//! the command line over the key's `generate:` rule in the schema; the value is drawn
//! again (up to [`TRIES`] times) until it meets the rule's `pattern` and `forbid`, and is
//! made long enough for its `min_length` in the first place.
//!
//! The value is built in zeroizing memory ([`SecretText`], random bytes in `Zeroizing`
//! buffers, the random pool wiped as it is used); a rejected draw is wiped when dropped.
//! Errors name the key and the rule, never a value.

use rand::rngs::OsRng;
use rand::RngCore;
use zeroize::{Zeroize, Zeroizing};

use crate::config::schema::{GenFormat, GenSpec, KeyRule};
use crate::model::SecretText;

/// Password characters, by class; the look-alikes `0O1lI|` are left out, and so are the
/// characters that need escaping in a shell's double quotes or a dotenv line (quotes,
/// backslash, `$`, backtick) and space.
pub const UPPER: &str = "ABCDEFGHJKLMNPQRSTUVWXYZ";
pub const LOWER: &str = "abcdefghijkmnopqrstuvwxyz";
pub const DIGITS: &str = "23456789";
pub const SYMBOLS: &str = "!#%*+-.:=?@^_~";
/// Never in a password.
pub const LOOK_ALIKES: &str = "0O1lI|";
/// The alphabet of Django's `get_random_secret_key()`.
pub const DJANGO: &str = "abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*(-_=+)";
/// Between the words of a passphrase.
pub const SEPARATOR: char = '-';

pub const DEFAULT_PASSWORD: usize = 32;
/// Random bytes for hex, base64 and base64url.
pub const DEFAULT_BYTES: usize = 32;
pub const DEFAULT_DJANGO: usize = 50;
pub const DEFAULT_WORDS: usize = 6;
/// The most characters, bytes or words one may ask for (the schema's own limit).
pub const MAX_SIZE: usize = 1 << 20;
/// How many values are drawn at most for a rule's `pattern` and `forbid`.
pub const TRIES: usize = 1_000;

/// Why no value was generated. Names the key and the rule, never a value.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("{key}: {message}")]
    Size { key: String, message: String },
    /// A size the format does not take (`--words` for hex, `--length` for a uuid). The
    /// schema's own `generate:` is checked when the config is read, so this comes from the
    /// command line: conflicting options.
    #[error("{key}: {message}")]
    Conflict { key: String, message: String },
    #[error("{key}: none of {tries} {format} values drawn met the schema's {rule} (line {line})")]
    NoMatch {
        key: String,
        format: &'static str,
        tries: usize,
        rule: String,
        line: usize,
    },
    #[error("the operating system's random number generator failed: {0}")]
    Rng(String),
}

/// What to generate for a key: the command line's `format`, `length` and `words` over the
/// schema's `generate:` (whose length and words go with its format only: they are not
/// used when the command line asks for another format), else a password.
pub fn resolve(
    schema: Option<GenSpec>,
    format: Option<GenFormat>,
    length: Option<usize>,
    words: Option<usize>,
) -> GenSpec {
    let base = match (schema, format) {
        (Some(s), None) => s,
        (Some(s), Some(f)) if s.format == f => s,
        (_, Some(f)) => GenSpec::new(f),
        (None, None) => GenSpec::new(GenFormat::Password),
    };
    GenSpec {
        format: base.format,
        length: length.or(base.length),
        words: words.or(base.words),
    }
}

/// How much to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Size {
    Chars(usize),
    Bytes(usize),
    /// Words, then more until the passphrase has `min` characters.
    Words {
        words: usize,
        min: usize,
    },
    Fixed,
}

/// A checked request: the format and how much to draw, raised to the rule's `min_length`.
#[derive(Clone, Debug)]
pub struct Plan {
    pub format: GenFormat,
    size: Size,
    key: String,
}

impl Plan {
    /// Checks `spec` for the key `key` (named in errors) against its schema rules (every
    /// rule naming the key: the largest `min_length` counts).
    pub fn new(spec: &GenSpec, rules: &[KeyRule], key: &str) -> Result<Plan, GenError> {
        let min = rules.iter().filter_map(|r| r.min_length).max().unwrap_or(0);
        let name = spec.format.name();
        let bad = |message: String| GenError::Size {
            key: key.to_string(),
            message,
        };
        let in_range = |n: usize, what: &str| {
            if n == 0 || n > MAX_SIZE {
                Err(bad(format!(
                    "{what} must be 1 to {MAX_SIZE} for a {name}, not {n}"
                )))
            } else {
                Ok(n)
            }
        };
        let conflict = |message: String| GenError::Conflict {
            key: key.to_string(),
            message,
        };
        if spec.words.is_some() && spec.format != GenFormat::Passphrase {
            return Err(conflict(format!(
                "words are for a passphrase; a {name} has a length"
            )));
        }
        let size = match spec.format {
            GenFormat::Password => {
                // Raised to min_length first: a short --length under a long rule is fine.
                let n = in_range(spec.length.unwrap_or(DEFAULT_PASSWORD), "the length")?.max(min);
                if n < 4 {
                    return Err(bad(format!(
                        "a password has at least 4 characters (one of each class), not {n}"
                    )));
                }
                Size::Chars(n)
            }
            GenFormat::Django => {
                let n = in_range(spec.length.unwrap_or(DEFAULT_DJANGO), "the length")?;
                Size::Chars(n.max(min))
            }
            GenFormat::Hex => {
                let n = in_range(spec.length.unwrap_or(DEFAULT_BYTES), "the length (bytes)")?;
                Size::Bytes(n.max(min.div_ceil(2)))
            }
            GenFormat::Base64 | GenFormat::Base64Url => {
                let n = in_range(spec.length.unwrap_or(DEFAULT_BYTES), "the length (bytes)")?;
                // 4 characters per 3 bytes: this many bytes give at least `min` characters.
                Size::Bytes(n.max((3 * min).div_ceil(4)))
            }
            GenFormat::Uuid => {
                if spec.length.is_some() {
                    return Err(conflict(
                        "a uuid has no length to choose (36 characters)".into(),
                    ));
                }
                if min > 36 {
                    return Err(bad(format!(
                        "the schema's min_length {min} is more than a uuid's 36 characters"
                    )));
                }
                Size::Fixed
            }
            GenFormat::Passphrase => {
                if spec.length.is_some() {
                    return Err(conflict(
                        "a passphrase is sized in words (words, --words), not length".into(),
                    ));
                }
                let words = in_range(spec.words.unwrap_or(DEFAULT_WORDS), "the words")?;
                Size::Words { words, min }
            }
        };
        Ok(Plan {
            format: spec.format,
            size,
            key: key.to_string(),
        })
    }

    /// The randomness of a value drawn by this plan, in bits (a passphrase lengthened to a
    /// `min_length` has more; a password's one-of-each-class rule costs a fraction of a bit
    /// at the default size, about one bit at 10 characters).
    pub fn bits(&self) -> f64 {
        let per = |alphabet: usize| (alphabet as f64).log2();
        match (self.format, self.size) {
            (GenFormat::Password, Size::Chars(n)) => n as f64 * per(password_alphabet().len()),
            (_, Size::Chars(n)) => n as f64 * per(DJANGO.len()),
            (_, Size::Bytes(n)) => n as f64 * 8.0,
            (_, Size::Words { words, .. }) => words as f64 * per(WORD_ENDS.len()),
            (_, Size::Fixed) => 122.0,
        }
    }

    /// Draws values until one meets every rule's `min_length`, `pattern` and `forbid`
    /// (at most [`TRIES`]).
    pub fn draw(&self, rules: &[KeyRule]) -> Result<Zeroizing<String>, GenError> {
        let mut rng = Source::new();
        let mut broken = None;
        for _ in 0..TRIES {
            let value = self.draw_one(&mut rng)?;
            match rules
                .iter()
                .find_map(|r| meets(r, &value).err().map(|what| (r, what)))
            {
                None => return Ok(value),
                Some(hit) => broken = Some(hit),
            }
        }
        let (rule, broken) = broken.expect("only a rule rejects a value");
        let what = match broken {
            "pattern" => format!(
                "pattern {:?}",
                rule.pattern.as_ref().map_or("", |p| p.text.as_str())
            ),
            other => other.to_string(),
        };
        Err(GenError::NoMatch {
            key: self.key.clone(),
            format: self.format.name(),
            tries: TRIES,
            rule: what,
            line: rule.line,
        })
    }

    fn draw_one(&self, rng: &mut Source) -> Result<Zeroizing<String>, GenError> {
        Ok(match (self.format, self.size) {
            (GenFormat::Password, Size::Chars(n)) => password(rng, n, &self.key)?,
            (GenFormat::Django, Size::Chars(n)) => chars(rng, DJANGO.as_bytes(), n)?,
            (GenFormat::Hex, Size::Bytes(n)) => hex(&rng.bytes(n)?),
            (GenFormat::Base64, Size::Bytes(n)) => {
                base64(&rng.bytes(n)?, &base64::engine::general_purpose::STANDARD)
            }
            (GenFormat::Base64Url, Size::Bytes(n)) => base64(
                &rng.bytes(n)?,
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ),
            (GenFormat::Uuid, _) => uuid(rng)?,
            (GenFormat::Passphrase, Size::Words { words, min }) => passphrase(rng, words, min)?,
            (format, size) => unreachable!("{format:?} planned as {size:?}"),
        })
    }
}

/// The first rule of `rule` that `value` breaks, by name.
fn meets(rule: &KeyRule, value: &str) -> Result<(), &'static str> {
    if rule.min_length.is_some_and(|m| value.chars().count() < m) {
        return Err("min_length");
    }
    if rule
        .pattern
        .as_ref()
        .is_some_and(|p| !p.regex.is_match(value))
    {
        return Err("pattern");
    }
    let folded = crate::config::schema::fold(value);
    if rule.forbid.iter().any(|f| f.matches_folded(&folded)) {
        return Err("forbid");
    }
    Ok(())
}

/// Random bytes from the OS, through a small pool wiped as it is used.
struct Source {
    pool: Zeroizing<[u8; 256]>,
    used: usize,
}

impl Source {
    fn new() -> Source {
        Source {
            pool: Zeroizing::new([0; 256]),
            used: 256,
        }
    }

    fn fill(out: &mut [u8]) -> Result<(), GenError> {
        OsRng
            .try_fill_bytes(out)
            .map_err(|e| GenError::Rng(e.to_string()))
    }

    /// `n` fresh random bytes.
    fn bytes(&mut self, n: usize) -> Result<Zeroizing<Vec<u8>>, GenError> {
        let mut out = Zeroizing::new(vec![0u8; n]);
        Self::fill(&mut out)?;
        Ok(out)
    }

    fn next_u32(&mut self) -> Result<u32, GenError> {
        if self.used + 4 > self.pool.len() {
            Self::fill(&mut *self.pool)?;
            self.used = 0;
        }
        let word = &mut self.pool[self.used..self.used + 4];
        let x = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        word.zeroize();
        self.used += 4;
        Ok(x)
    }

    /// A uniform index below `n` (1 ≤ n ≤ 2³²).
    fn below(&mut self, n: usize) -> Result<usize, GenError> {
        let n = u32::try_from(n).expect("alphabets and word lists are small");
        loop {
            if let Some(i) = accept(self.next_u32()?, n) {
                return Ok(i as usize);
            }
        }
    }
}

/// `x mod n` when `x` is below the largest multiple of `n` that 32 bits hold, else `None`
/// (draw again): each residue then has exactly as many `x` as any other, so the choice is
/// uniform. At most one draw in two is rejected (for n just above 2³¹); for our alphabets
/// fewer than one in 10⁷.
fn accept(x: u32, n: u32) -> Option<u32> {
    let zone = (1u64 << 32) - (1u64 << 32) % u64::from(n);
    (u64::from(x) < zone).then_some(x % n)
}

/// `n` characters, each uniform over `alphabet` (ASCII).
fn chars(rng: &mut Source, alphabet: &[u8], n: usize) -> Result<Zeroizing<String>, GenError> {
    let mut out = SecretText::with_capacity(n);
    for _ in 0..n {
        out.push(char::from(alphabet[rng.below(alphabet.len())?]));
    }
    Ok(out.into_zeroizing_string())
}

/// The password alphabet: every class, in one string.
fn password_alphabet() -> String {
    [UPPER, LOWER, DIGITS, SYMBOLS].concat()
}

/// `n` characters uniform over the password alphabet, drawn again until every class is in
/// (so the result is uniform over the passwords that have one of each).
fn password(rng: &mut Source, n: usize, key: &str) -> Result<Zeroizing<String>, GenError> {
    let alphabet = password_alphabet();
    // For 4 characters about one draw in 16 has every class; 10,000 misses cannot happen.
    for _ in 0..10_000 {
        let value = chars(rng, alphabet.as_bytes(), n)?;
        if [UPPER, LOWER, DIGITS, SYMBOLS]
            .iter()
            .all(|class| value.contains(|c| class.contains(c)))
        {
            return Ok(value);
        }
    }
    Err(GenError::Size {
        key: key.to_string(),
        message: format!("no password of {n} characters with one of each class was drawn"),
    })
}

fn hex(bytes: &[u8]) -> Zeroizing<String> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = SecretText::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out.into_zeroizing_string()
}

fn base64(bytes: &[u8], engine: &impl base64::Engine) -> Zeroizing<String> {
    use base64::engine::Config;
    let padded = engine.config().encode_padding();
    let len = base64::encoded_len(bytes.len(), padded).expect("at most 1 MiB");
    let mut out = Zeroizing::new(vec![0u8; len]);
    let written = engine
        .encode_slice(bytes, &mut out)
        .expect("sized by encoded_len");
    debug_assert_eq!(written, len);
    // Moved, not copied: the Vec's block becomes the String's.
    match String::from_utf8(std::mem::take(&mut *out)) {
        Ok(text) => Zeroizing::new(text),
        Err(_) => unreachable!("base64 is ASCII"),
    }
}

/// A version 4 (random) UUID: 122 random bits.
fn uuid(rng: &mut Source) -> Result<Zeroizing<String>, GenError> {
    let mut b = rng.bytes(16)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let digits = hex(&b);
    let mut out = SecretText::with_capacity(36);
    for (i, range) in [0..8, 8..12, 12..16, 16..20, 20..32]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            out.push('-');
        }
        out.push_str(&digits[range]);
    }
    Ok(out.into_zeroizing_string())
}

// The passphrase word list: the EFF large list (`diceware_wordlists`, laid out by
// build.rs as one string and end offsets, which the loader need not relocate) without
// its four words that hold a hyphen (`drop-down`, `felt-tip`, `t-shirt`, `yo-yo`), so
// that a passphrase splits back into its words at each `-`: 7,772 words, 12.92 bits each.
include!(concat!(env!("OUT_DIR"), "/words.rs"));

/// Word `i` of the list (`i < WORD_ENDS.len()`).
fn word(i: usize) -> &'static str {
    let start = if i == 0 { 0 } else { WORD_ENDS[i - 1] as usize };
    &WORD_TEXT[start..WORD_ENDS[i] as usize]
}

/// `words` words joined by [`SEPARATOR`], then more until it has `min` characters.
fn passphrase(rng: &mut Source, words: usize, min: usize) -> Result<Zeroizing<String>, GenError> {
    let mut out = SecretText::with_capacity(words * 10);
    let mut count = 0;
    while count < words || out.as_str().len() < min {
        let w = word(rng.below(WORD_ENDS.len())?);
        if count > 0 {
            out.push(SEPARATOR);
        }
        out.push_str(w);
        count += 1;
    }
    Ok(out.into_zeroizing_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::schema::{Forbidden, Pattern};

    fn rule() -> KeyRule {
        KeyRule::new("K", 7)
    }

    fn pattern(text: &str) -> Option<Pattern> {
        Some(Pattern {
            text: text.into(),
            regex: std::sync::Arc::new(crate::config::schema::SchemaRegex::new(text).unwrap()),
        })
    }

    fn gen(format: GenFormat, length: Option<usize>, rule: Option<&KeyRule>) -> String {
        let spec = GenSpec {
            format,
            length,
            words: None,
        };
        let rules: Vec<KeyRule> = rule.into_iter().cloned().collect();
        let plan = Plan::new(&spec, &rules, "K").unwrap();
        plan.draw(&rules).unwrap().to_string()
    }

    #[test]
    fn password_classes_and_no_look_alikes() {
        let alphabet = password_alphabet();
        assert_eq!(alphabet.len(), 71);
        for c in LOOK_ALIKES.chars() {
            assert!(!alphabet.contains(c), "{c} is a look-alike");
        }
        for c in ['"', '\'', '\\', '$', '`', ' '] {
            assert!(!alphabet.contains(c), "{c:?}");
        }
        let mut seen = std::collections::HashSet::new();
        for _ in 0..300 {
            let p = gen(GenFormat::Password, None, None);
            assert_eq!(p.chars().count(), DEFAULT_PASSWORD);
            for class in [UPPER, LOWER, DIGITS, SYMBOLS] {
                assert!(p.chars().any(|c| class.contains(c)), "{p}: no {class}");
            }
            assert!(p.chars().all(|c| alphabet.contains(c)), "{p}");
            seen.extend(p.chars());
        }
        // 9,600 characters over 71: every one of them turns up.
        assert_eq!(seen.len(), 71);
        // The shortest password still has every class.
        for _ in 0..200 {
            let p = gen(GenFormat::Password, Some(4), None);
            for class in [UPPER, LOWER, DIGITS, SYMBOLS] {
                assert!(p.chars().any(|c| class.contains(c)), "{p}");
            }
        }
    }

    #[test]
    fn uniform_choice_rejects_the_biased_tail() {
        // 2³² = 3 · 1431655765 + 1: the one value left over is drawn again.
        assert_eq!(accept(u32::MAX, 3), None);
        assert_eq!(accept(u32::MAX - 1, 3), Some((u32::MAX - 1) % 3));
        // A power of two divides 2³²: nothing is rejected.
        assert_eq!(accept(u32::MAX, 64), Some(63));
        // For 71 the rejected zone is 2³² mod 71 values at the top.
        let tail = ((1u64 << 32) % 71) as u32;
        assert_eq!(accept(u32::MAX - tail + 1, 71), None);
        assert!(accept(u32::MAX - tail, 71).is_some());
    }

    #[test]
    fn shapes() {
        let h = gen(GenFormat::Hex, None, None);
        assert!(
            h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()),
            "{h}"
        );
        assert_eq!(gen(GenFormat::Hex, Some(5), None).len(), 10);
        let b = gen(GenFormat::Base64, None, None);
        assert_eq!(b.len(), 44);
        assert!(b.ends_with('='));
        let u = gen(GenFormat::Base64Url, None, None);
        assert_eq!(u.len(), 43);
        assert!(u
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        let id = gen(GenFormat::Uuid, None, None);
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'), "{id}");
        assert!("89ab".contains(&parts[3][..1]), "{id}");
        let d = gen(GenFormat::Django, None, None);
        assert_eq!(d.len(), 50);
        assert!(d.chars().all(|c| DJANGO.contains(c)));
        let p = gen(GenFormat::Passphrase, None, None);
        let w: Vec<&str> = p.split(SEPARATOR).collect();
        assert_eq!(w.len(), DEFAULT_WORDS, "{p}");
        assert!(
            w.iter()
                .all(|w| (0..WORD_ENDS.len()).any(|i| word(i) == *w)),
            "{p}"
        );
    }

    #[test]
    fn the_word_list_is_the_eff_list_without_its_hyphenated_words() {
        let ours: Vec<&str> = (0..WORD_ENDS.len()).map(word).collect();
        let eff: Vec<&str> = diceware_wordlists::EFF_LONG_WORDLIST
            .iter()
            .copied()
            .filter(|w| !w.contains(SEPARATOR))
            .collect();
        assert_eq!(diceware_wordlists::EFF_LONG_WORDLIST.len(), 7776);
        assert_eq!(ours.len(), 7772);
        assert_eq!(ours, eff);
        let unique: std::collections::HashSet<_> = ours.iter().collect();
        assert_eq!(unique.len(), 7772);
        assert!(ours
            .iter()
            .all(|w| w.bytes().all(|b| b.is_ascii_lowercase())));
    }

    #[test]
    fn min_length_raises_the_size() {
        let mut r = rule();
        r.min_length = Some(60);
        assert_eq!(gen(GenFormat::Password, None, Some(&r)).len(), 60);
        assert_eq!(gen(GenFormat::Password, Some(70), Some(&r)).len(), 70);
        assert_eq!(gen(GenFormat::Django, None, Some(&r)).len(), 60);
        assert_eq!(gen(GenFormat::Hex, Some(8), Some(&r)).len(), 60);
        r.min_length = Some(61);
        assert_eq!(gen(GenFormat::Hex, Some(8), Some(&r)).len(), 62);
        for min in [1, 43, 44, 45, 59, 60, 61, 100] {
            r.min_length = Some(min);
            for f in [GenFormat::Base64, GenFormat::Base64Url] {
                let v = gen(f, Some(1), Some(&r));
                assert!(
                    v.len() >= min && v.len() <= min + 4,
                    "{f:?} {min}: {}",
                    v.len()
                );
            }
        }
        r.min_length = Some(200);
        let spec = GenSpec {
            format: GenFormat::Passphrase,
            length: None,
            words: Some(3),
        };
        let p = Plan::new(&spec, std::slice::from_ref(&r), "K")
            .unwrap()
            .draw(std::slice::from_ref(&r))
            .unwrap();
        assert!(p.len() >= 200);
        r.min_length = Some(37);
        let e = Plan::new(
            &GenSpec::new(GenFormat::Uuid),
            std::slice::from_ref(&r),
            "db.id",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("db.id: "), "{e}");
    }

    #[test]
    fn pattern_and_forbid_are_met_or_named() {
        let mut r = rule();
        r.pattern = pattern("^[a-f]");
        for _ in 0..20 {
            assert!(
                gen(GenFormat::Hex, None, Some(&r)).starts_with(|c: char| c.is_ascii_lowercase())
            );
        }
        r.pattern = pattern("^[0-9]+$");
        let plan = Plan::new(
            &GenSpec::new(GenFormat::Password),
            std::slice::from_ref(&r),
            "API_TOKEN",
        )
        .unwrap();
        let e = plan.draw(std::slice::from_ref(&r)).unwrap_err().to_string();
        assert_eq!(
            e,
            "API_TOKEN: none of 1000 password values drawn met the schema's pattern \"^[0-9]+$\" (line 7)"
        );
        let mut r = rule();
        r.forbid = vec![Forbidden::new("*")];
        let plan = Plan::new(
            &GenSpec::new(GenFormat::Uuid),
            std::slice::from_ref(&r),
            "ID",
        )
        .unwrap();
        let e = plan.draw(std::slice::from_ref(&r)).unwrap_err().to_string();
        assert!(e.contains("schema's forbid"), "{e}");
    }

    #[test]
    fn bad_sizes_name_the_key() {
        let spec = |format, length, words| GenSpec {
            format,
            length,
            words,
        };
        for (s, needle) in [
            (spec(GenFormat::Password, Some(3), None), "at least 4"),
            (spec(GenFormat::Hex, Some(0), None), "must be 1 to"),
            (
                spec(GenFormat::Django, Some(MAX_SIZE + 1), None),
                "must be 1 to",
            ),
            (
                spec(GenFormat::Hex, None, Some(4)),
                "words are for a passphrase",
            ),
            (spec(GenFormat::Uuid, Some(10), None), "no length"),
            (
                spec(GenFormat::Passphrase, Some(10), None),
                "sized in words",
            ),
            (spec(GenFormat::Passphrase, None, Some(0)), "must be 1 to"),
        ] {
            let e = Plan::new(&s, &[], "db.password").unwrap_err().to_string();
            assert!(e.starts_with("db.password: ") && e.contains(needle), "{e}");
        }
    }

    #[test]
    fn flags_override_the_schema() {
        let schema = GenSpec {
            format: GenFormat::Base64,
            length: Some(48),
            words: None,
        };
        assert_eq!(
            resolve(None, None, None, None),
            GenSpec::new(GenFormat::Password)
        );
        assert_eq!(resolve(Some(schema), None, None, None), schema);
        assert_eq!(resolve(Some(schema), None, Some(10), None).length, Some(10));
        // The schema's length is for its own format.
        assert_eq!(
            resolve(Some(schema), Some(GenFormat::Hex), None, None),
            GenSpec::new(GenFormat::Hex)
        );
        assert_eq!(
            resolve(Some(schema), Some(GenFormat::Base64), None, None),
            schema
        );
    }

    #[test]
    fn bits_follow_format_and_size() {
        let bits = |f: GenFormat, length: Option<usize>, words: Option<usize>| {
            let spec = GenSpec {
                format: f,
                length,
                words,
            };
            Plan::new(&spec, &[], "K").unwrap().bits()
        };
        assert_eq!(bits(GenFormat::Hex, Some(8), None), 64.0);
        assert_eq!(bits(GenFormat::Uuid, None, None), 122.0);
        let six_words = bits(GenFormat::Passphrase, None, None);
        assert!((77.0..78.0).contains(&six_words), "{six_words}");
        let django = bits(GenFormat::Django, None, None);
        assert!((280.0..285.0).contains(&django), "{django}");
        let password = bits(GenFormat::Password, None, None);
        assert!((196.0..197.0).contains(&password), "{password}");
        assert!(bits(GenFormat::Password, Some(10), None) < 64.0);
        assert!(bits(GenFormat::Django, Some(10), None) < 64.0);
        assert!(bits(GenFormat::Passphrase, None, Some(4)) < 64.0);
        assert!(bits(GenFormat::Passphrase, None, Some(5)) > 64.0);
    }

    #[test]
    fn two_draws_differ() {
        for f in GenFormat::NAMES {
            let f = GenFormat::parse(f).unwrap();
            assert_ne!(gen(f, None, None), gen(f, None, None), "{f:?}");
        }
    }
}
