//! go-yaml v3 scalar rules (what sops uses): how a plain scalar resolves (`0x1F`, `1_000`,
//! `0755` are ints; `2024-01-01` is a timestamp; `!!binary` is decoded), how a float and a
//! timestamp print, and in which style (plain, 'single', "double", literal `|`) a string is
//! written, exactly as go-yaml's encoder and emitter choose it, so that a file sops wrote
//! comes back byte for byte.

use saphyr_parser::ScalarStyle;
use std::borrow::Cow;

use crate::model::{Scalar, SecretText};

/// Resolves a scalar like go-yaml v3 decoding into `interface{}`.
pub fn resolve(value: &str, style: ScalarStyle, tag: Option<&str>) -> Scalar {
    resolve_cow(Cow::Borrowed(value), style, tag)
}

/// [`resolve`], keeping an owned string without copying it.
pub(super) fn resolve_cow(value: Cow<'_, str>, style: ScalarStyle, tag: Option<&str>) -> Scalar {
    match tag {
        Some("str") => return Scalar::Str(owned(value)),
        Some("binary") => return binary(&value).unwrap_or_else(|| Scalar::Str(owned(value))),
        Some("timestamp") => {
            return match go_timestamp(&value) {
                Some(t) => Scalar::Time(t.rfc3339()),
                None => Scalar::Str(owned(value)),
            }
        }
        Some("int") => {
            return match parse_int(&value) {
                Some(i) => Scalar::Int(i),
                None => Scalar::Str(owned(value)),
            }
        }
        Some("float") => {
            return match parse_float(&value) {
                Some(f) => Scalar::Float(f),
                None => Scalar::Str(owned(value)),
            }
        }
        Some("bool") => {
            return match parse_bool(&value) {
                Some(b) => Scalar::Bool(b),
                None => Scalar::Str(owned(value)),
            }
        }
        Some("null") => return Scalar::Null,
        Some(_) => return Scalar::Str(owned(value)),
        None => {}
    }
    if style != ScalarStyle::Plain {
        return Scalar::Str(owned(value));
    }
    plain_non_string(&value).unwrap_or_else(|| Scalar::Str(owned(value)))
}

/// Why sops refuses a scalar that parses as YAML, if it does: `!!binary` text that is not
/// base64 and `!!timestamp` text that is not a timestamp (go-yaml fails), a timestamp whose
/// zone offset is 24 hours or more (Go reads it but cannot write it back: sops stops with
/// "timezone hour outside of range").
pub(super) fn refusal(value: &str, style: ScalarStyle, tag: Option<&str>) -> Option<&'static str> {
    match tag {
        Some("binary") if binary(value).is_none() => Some("!!binary value is not valid base64"),
        Some("timestamp") if go_timestamp(value).is_none() => {
            Some("!!timestamp value is not a timestamp go-yaml reads")
        }
        Some("timestamp") | None
            if (tag.is_some() || style == ScalarStyle::Plain)
                && go_timestamp(value).is_some_and(|t| !t.encodable()) =>
        {
            Some("timestamp with a zone offset of 24 hours or more (sops cannot store it); quote it to keep it as text")
        }
        _ => None,
    }
}

/// A `!!binary` scalar's bytes, as go-yaml decodes it (Go's standard base64, padding
/// required, line breaks ignored): a string when they are UTF-8, else raw bytes that sops
/// stores as `str` and go-yaml writes back as `!!binary`.
fn binary(text: &str) -> Option<Scalar> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::Engine;
    const GO_STD: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
    );
    let compact: String = text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
    let bytes = GO_STD.decode(compact).ok()?;
    Some(match String::from_utf8(bytes) {
        Ok(s) => Scalar::Str(s),
        Err(e) => Scalar::RawStr(e.into_bytes()),
    })
}

/// The parser's string, without the spare capacity it grew while reading it.
pub(super) fn owned(value: Cow<'_, str>) -> String {
    let mut s = value.into_owned();
    s.shrink_to_fit();
    s
}

/// What a plain scalar resolves to when that is not a string (null, bool, int, float).
pub(super) fn plain_non_string(value: &str) -> Option<Scalar> {
    if matches!(value, "" | "~" | "null" | "Null" | "NULL") {
        return Some(Scalar::Null);
    }
    if let Some(b) = parse_bool(value) {
        return Some(Scalar::Bool(b));
    }
    // go-yaml tries numbers and timestamps only for text starting with a digit, a sign or
    // a dot: `_1` is a string, though `1_0` is 10.
    if !value.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.')) {
        return None;
    }
    // After a dot go-yaml calls strconv.ParseFloat on the text as written, which takes an
    // underscore only between two digits (`.5_0`, not `._5`).
    if value.starts_with('.') && !underscores_between_digits(value) {
        return None;
    }
    if let Some(i) = parse_int(value) {
        return Some(Scalar::Int(i));
    }
    // A timestamp too: sops stores it as type:time (and refuses it as a key).
    if let Some(t) = go_timestamp(value) {
        return Some(Scalar::Time(t.rfc3339()));
    }
    parse_float(value).map(Scalar::Float)
}

fn underscores_between_digits(v: &str) -> bool {
    let b = v.as_bytes();
    (0..b.len())
        .filter(|&i| b[i] == b'_')
        .all(|i| i > 0 && b[i - 1].is_ascii_digit() && b.get(i + 1).is_some_and(u8::is_ascii_digit))
}

/// The text without `_` (go-yaml ignores them in numbers), borrowed when there are none.
fn without_underscores(v: &str) -> Cow<'_, str> {
    if v.contains('_') {
        Cow::Owned(v.chars().filter(|c| *c != '_').collect())
    } else {
        Cow::Borrowed(v)
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)` after removing `_`, as go-yaml v3 does.
fn parse_int(v: &str) -> Option<i64> {
    // Every character of an int is one of these (a quick no for most strings).
    if !v.bytes().all(|b| {
        b.is_ascii_hexdigit() || matches!(b, b'_' | b'+' | b'-' | b'x' | b'X' | b'o' | b'O')
    }) {
        return None;
    }
    let plain = without_underscores(v);
    let (neg, digits) = match plain.as_bytes().first()? {
        b'-' => (true, &plain[1..]),
        b'+' => (false, &plain[1..]),
        _ => (false, &plain[..]),
    };
    if digits.is_empty() || !digits.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    let (radix, body) = if let Some(r) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (16, r)
    } else if let Some(r) = digits
        .strip_prefix("0b")
        .or_else(|| digits.strip_prefix("0B"))
    {
        (2, r)
    } else if let Some(r) = digits
        .strip_prefix("0o")
        .or_else(|| digits.strip_prefix("0O"))
    {
        (8, r)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i128::from_str_radix(body, radix).ok()?;
    i64::try_from(if neg { -magnitude } else { magnitude }).ok()
}

/// A plain decimal integer outside i64 that a float64 (what go-yaml, and so sops, turns it
/// into) cannot hold exactly: encrypting it would silently change the value.
pub(super) fn inexact_int(v: &str) -> bool {
    let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
    if digits.len() < 19 || !digits.bytes().all(|b| b.is_ascii_digit()) || parse_int(v).is_some() {
        return false;
    }
    let digits = digits.trim_start_matches('0');
    match digits.parse::<f64>() {
        Ok(f) => crate::model::tree::format_go_float(f) != digits,
        Err(_) => true,
    }
}

fn parse_float(v: &str) -> Option<f64> {
    match v {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    // Every character of a float is one of these (a quick no for most strings).
    if !v
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'_' | b'+' | b'-' | b'.' | b'e' | b'E'))
    {
        return None;
    }
    let plain = without_underscores(v);
    let b = plain.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac;
    }
    if digits == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        let exp = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    // Go's strconv.ParseFloat fails with ErrRange where the nearest float64 is infinite
    // (`1e400`), and go-yaml then keeps the scalar a string: so does sops, MAC included.
    // Underflow (`1e-400`) is no error: it is the float 0.
    plain.parse::<f64>().ok().filter(|f| f.is_finite())
}

// ───────────────────────────── timestamps ─────────────────────────────

/// A timestamp as go-yaml reads a plain scalar (Go's `time.Parse` with go-yaml's four
/// layouts): `2024-01-01`, `2024-1-1 10:00:00.5` (UTC), `2001-12-14t21:59:43.10-05:00`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct GoTime {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    nanos: u32,
    /// Minutes east of UTC.
    offset: i32,
}

impl GoTime {
    /// Go's `Format(time.RFC3339Nano)`: what sops encrypts (`MarshalText`), feeds to the MAC
    /// and prints after decrypting: `2024-01-01T00:00:00Z`, `…:00.5+02:00`.
    pub(super) fn rfc3339(&self) -> String {
        let mut s = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.min, self.sec
        );
        if self.nanos > 0 {
            let frac = format!("{:09}", self.nanos);
            s.push('.');
            s.push_str(frac.trim_end_matches('0'));
        }
        if self.offset == 0 {
            s.push('Z');
        } else {
            let sign = if self.offset < 0 { '-' } else { '+' };
            let m = self.offset.unsigned_abs();
            s.push_str(&format!("{sign}{:02}:{:02}", m / 60, m % 60));
        }
        s
    }

    /// Go's `MarshalText` refuses zone offsets of 24 hours or more.
    fn encodable(&self) -> bool {
        self.offset.unsigned_abs() < 24 * 60
    }
}

/// Reads `text` as go-yaml reads a plain scalar as a timestamp, if it does.
pub(super) fn go_timestamp(text: &str) -> Option<GoTime> {
    let b = text.as_bytes();
    // go-yaml's quick check: exactly four digits, then '-'.
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let year = text[..4].parse().ok()?;
    let mut at = 5;
    // Go's non-padded fields ("1", "2", "15", "4", "5"): one or two digits.
    let num = |at: &mut usize| -> Option<u32> {
        let d = |i: usize| {
            b.get(i)
                .filter(|c| c.is_ascii_digit())
                .map(|c| u32::from(c - b'0'))
        };
        let first = d(*at)?;
        *at += 1;
        Some(match d(*at) {
            Some(second) => {
                *at += 1;
                first * 10 + second
            }
            None => first,
        })
    };
    let lit = |at: &mut usize, c: u8| -> Option<()> { (b.get(*at) == Some(&c)).then(|| *at += 1) };
    let month = num(&mut at).filter(|m| (1..=12).contains(m))?;
    lit(&mut at, b'-')?;
    let day = num(&mut at)?;
    let mut t = GoTime {
        year,
        month,
        day,
        hour: 0,
        min: 0,
        sec: 0,
        nanos: 0,
        offset: 0,
    };
    if at < b.len() {
        // "T…Z07:00", "t…Z07:00", or " …" (one or more spaces) without a zone.
        let zoned = match b[at] {
            b'T' | b't' => {
                at += 1;
                true
            }
            b' ' => {
                while b.get(at) == Some(&b' ') {
                    at += 1;
                }
                false
            }
            _ => return None,
        };
        t.hour = num(&mut at).filter(|h| *h < 24)?;
        lit(&mut at, b':')?;
        t.min = num(&mut at).filter(|m| *m < 60)?;
        lit(&mut at, b':')?;
        t.sec = num(&mut at).filter(|s| *s < 60)?;
        // An optional fraction after '.' or ',': every digit is read, nine are kept.
        if matches!(b.get(at), Some(b'.' | b',')) && b.get(at + 1).is_some_and(u8::is_ascii_digit) {
            at += 1;
            let start = at;
            while b.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            let digits = &text[start..at.min(start + 9)];
            t.nanos = digits.parse::<u32>().ok()? * 10u32.pow(9 - digits.len() as u32);
        }
        if zoned {
            if b.get(at) == Some(&b'Z') {
                at += 1;
            } else {
                let z = b.get(at..at + 6)?;
                let two = |s: &[u8]| {
                    s.iter()
                        .all(u8::is_ascii_digit)
                        .then(|| u32::from(s[0] - b'0') * 10 + u32::from(s[1] - b'0'))
                };
                let (h, m) = (two(&z[1..3])?, two(&z[4..6])?);
                if z[3] != b':' || h > 24 || m > 60 {
                    return None;
                }
                let minutes = (h * 60 + m) as i32;
                t.offset = match z[0] {
                    b'+' => minutes,
                    b'-' => -minutes,
                    _ => return None,
                };
                at += 6;
            }
        }
        if at != b.len() {
            return None;
        }
    }
    (day >= 1 && day <= days_in(month, year)).then_some(t)
}

fn days_in(month: u32, year: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// ───────────────────── go-yaml's reading of plain text ─────────────────────
//
// Whether a string may be written plain is decided by go-yaml's own resolver
// (`resolve("", s)`), mirrored here exactly rather than through this store's readers, so
// that the quoting matches sops's even where the two readers differ (`0b-1`, integers
// above 2^63, `1e400`).

/// Does go-yaml v3 read `s`, written plain, as anything but a string?
fn go_resolves_non_str(s: &str) -> bool {
    if matches!(
        s,
        "" | "~"
            | "null"
            | "Null"
            | "NULL"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | ".nan"
            | ".NaN"
            | ".NAN"
            | ".inf"
            | ".Inf"
            | ".INF"
            | "+.inf"
            | "+.Inf"
            | "+.INF"
            | "-.inf"
            | "-.Inf"
            | "-.INF"
            | "<<"
    ) {
        return true;
    }
    match s.as_bytes()[0] {
        b'.' => {
            let b = s.as_bytes();
            let digits = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            digits > 0 && go_exponent(&b[1 + digits..]) && go_finite(s)
        }
        b'0'..=b'9' | b'+' | b'-' => {
            if go_timestamp(s).is_some() {
                return true;
            }
            let plain = without_underscores(s);
            let p = plain.as_ref();
            go_parse_int(p, 0, true)
                || go_parse_int(p, 0, false)
                || (yaml_style_float(p) && go_finite(p))
                || p.strip_prefix("0b")
                    .is_some_and(|r| go_parse_int(r, 2, true))
                || p.strip_prefix("0b")
                    .is_some_and(|r| go_parse_int(r, 2, false))
                || p.strip_prefix("-0b")
                    .is_some_and(|r| go_parse_int(&format!("-{r}"), 2, true))
                || p.strip_prefix("0o")
                    .is_some_and(|r| go_parse_int(r, 8, true))
                || p.strip_prefix("0o")
                    .is_some_and(|r| go_parse_int(r, 8, false))
                || p.strip_prefix("-0o")
                    .is_some_and(|r| go_parse_int(&format!("-{r}"), 8, true))
        }
        _ => false,
    }
}

/// Go's `strconv.ParseInt(s, base, 64)` (`signed`) or `ParseUint(s, base, 64)` succeeds;
/// base 0 reads the `0x`/`0o`/`0b`/`0` prefixes.
fn go_parse_int(s: &str, base: u32, signed: bool) -> bool {
    let (neg, s) = match s.as_bytes().first() {
        Some(b'+') if signed => (false, &s[1..]),
        Some(b'-') if signed => (true, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = match (base, s.as_bytes()) {
        (_, []) => return false,
        (0, [b'0', b'b' | b'B', _, ..]) => (2, &s[2..]),
        (0, [b'0', b'o' | b'O', _, ..]) => (8, &s[2..]),
        (0, [b'0', b'x' | b'X', _, ..]) => (16, &s[2..]),
        (0, [b'0', ..]) => (8, &s[1..]),
        (0, _) => (10, s),
        (b, _) => (b, s),
    };
    let mut v: u128 = 0;
    for c in digits.chars() {
        let Some(d) = c.to_digit(radix) else {
            return false;
        };
        v = v * u128::from(radix) + u128::from(d);
        if v > u128::from(u64::MAX) {
            return false;
        }
    }
    match (signed, neg) {
        (false, _) => true,
        (true, true) => v <= 1 << 63,
        (true, false) => v < 1 << 63,
    }
}

/// go-yaml's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let int = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    i += int;
    if b.get(i) == Some(&b'.') {
        let frac = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if int == 0 && frac == 0 {
            return false;
        }
        i += 1 + frac;
    } else if int == 0 {
        return false;
    }
    go_exponent(&b[i..])
}

/// Nothing, or `[eE][-+]?[0-9]+` and nothing after.
fn go_exponent(b: &[u8]) -> bool {
    match b.first() {
        None => true,
        Some(b'e' | b'E') => {
            let rest = b[1..]
                .strip_prefix(b"-")
                .or_else(|| b[1..].strip_prefix(b"+"));
            let rest = rest.unwrap_or(&b[1..]);
            !rest.is_empty() && rest.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

/// Go's `ParseFloat` of decimal text succeeds: it fails only when the value overflows.
fn go_finite(s: &str) -> bool {
    s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// YAML 1.1 sexagesimal numbers (`190:20:30`, `22:22`), which go-yaml quotes for YAML 1.1
/// readers: `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    if !b.get(i).is_some_and(u8::is_ascii_digit) || !s.contains(':') {
        return false;
    }
    i += 1;
    while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        let ok = match digits {
            1 => true,
            2 => b[i + 1] <= b'5',
            _ => false,
        };
        if !ok {
            return false;
        }
        i += 1 + digits;
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// YAML 1.1 booleans that YAML 1.2 reads as strings; go-yaml quotes them.
fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    )
}

// ───────────────────────────── writing ─────────────────────────────

/// A scalar as YAML text on one line, as go-yaml writes it (a multi-line string, which
/// go-yaml writes as a literal block, is double-quoted here; see [`literal_block`]).
pub fn scalar_text(s: &Scalar) -> SecretText {
    let mut out = SecretText::with_capacity(s.text_len() + 12);
    push_scalar(&mut out, s);
    out
}

/// Appends [`scalar_text`].
pub(super) fn push_scalar(out: &mut SecretText, s: &Scalar) {
    match s {
        Scalar::Null => out.push_str("null"),
        Scalar::Bool(_) | Scalar::Int(_) => s.write_text(out),
        Scalar::Float(f) if f.is_nan() => out.push_str(".nan"),
        Scalar::Float(f) if f.is_infinite() => {
            out.push_str(if *f > 0.0 { ".inf" } else { "-.inf" })
        }
        Scalar::Float(f) => write_go_yaml_float(out, *f),
        // (a long one is a literal block, written by the emitter: see literal_block)
        Scalar::RawStr(b) | Scalar::Bytes(b) => {
            out.push_str("!!binary ");
            push_base64(out, b, None);
        }
        // go-yaml writes a time.Time plain, in RFC 3339 (always read back as a timestamp).
        Scalar::Time(t) => out.push_str(t),
        Scalar::Str(t) | Scalar::Comment(t) => push_string(out, t, false),
    }
}

/// go-yaml's float text (`strconv.FormatFloat(f, 'g', -1, 64)`), what sops prints: `7`,
/// `1000`, `0.0001`, `1e+06`, `1.2345678901234567e+19`. An integral float reads back as
/// an int; an edit then keeps the stored float's ciphertext (crypto::seal), and its MAC
/// bytes are the same (`7` either way). Not so for negative zero: go-yaml's `-0` reads
/// back as the int 0, whose MAC bytes are `0`, not the float's `-0` (sops then fails its
/// own MAC on a clear `-0.0`), so it is written `-0.0`, which reads back as itself.
fn write_go_yaml_float(out: &mut SecretText, f: f64) {
    if f == 0.0 && f.is_sign_negative() {
        out.push_str("-0.0");
        return;
    }
    // The exponent decides the notation (at most 24 characters: the scratch buffer is
    // sized, never moves, and is wiped when dropped).
    let mut sci = SecretText::with_capacity(32);
    let exp = crate::model::tree::write_go_float_exponent(&mut sci, f);
    if f != 0.0 && !(-4..6).contains(&exp) {
        out.push_str(&sci);
    } else {
        crate::model::tree::write_go_float(out, f);
    }
}

/// The length of `n` bytes in base64 with padding.
fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Appends `bytes` in base64, in lines of `line` characters each ending in a line break
/// when `line` is given (go-yaml's `encodeBase64` body), else on one line. Encoded in
/// chunks through a zeroized stack buffer: no heap copy of the bytes or of their text.
pub(super) fn push_base64(out: &mut SecretText, bytes: &[u8], line: Option<(usize, usize)>) {
    use base64::Engine;
    use zeroize::Zeroize;
    // 210 bytes are 280 characters, 4 lines of 70: chunks end on line ends.
    const CHUNK: usize = 210;
    let mut buf = [0u8; CHUNK / 3 * 4];
    out.reserve(base64_len(bytes.len()) * 2);
    let mut col = 0;
    for chunk in bytes.chunks(CHUNK) {
        let n = base64::engine::general_purpose::STANDARD
            .encode_slice(chunk, &mut buf)
            .unwrap_or(0);
        let text = std::str::from_utf8(&buf[..n]).unwrap_or_default();
        match line {
            None => out.push_str(text),
            Some((width, indent)) => {
                for c in text.chars() {
                    if col == 0 {
                        out.push_repeated(' ', indent);
                    }
                    out.push(c);
                    col += 1;
                    if col == width {
                        out.push('\n');
                        col = 0;
                    }
                }
            }
        }
    }
    if col > 0 {
        out.push('\n');
    }
    buf.zeroize();
}

/// go-yaml's scalar styles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// The style go-yaml writes a string in, as a value or (`key`) as a map key.
///
/// sops builds each node with `Node.Encode` (go-yaml's encoder picks plain when the text
/// reads back as the same string, even under YAML 1.1, else double quotes; a literal block
/// for text with `\n`), whose emitter then falls back to single, then double quotes, where
/// the text's characters do not allow a style; the document emitter checks again, as a key
/// in a simple-key context. Where go-yaml's choice does not read back as the same string,
/// double quotes are used instead (the value is lost or changed by sops there): a literal
/// block starting with a tab (go-yaml cannot read it: sops prints `null`), and U+2028/U+2029
/// (line breaks to go-yaml, plain characters to YAML 1.2 readers).
pub(super) fn string_style(t: &str, key: bool) -> Style {
    // The common case (every ENC[...] value): a word of visible ASCII starting with a letter
    // and holding no `#` and no final `:` has no indicator; it is plain unless a resolver
    // word (`true`, `null`, `yes`…).
    let b = t.as_bytes();
    if b.first().is_some_and(u8::is_ascii_alphabetic)
        && b.last() != Some(&b':')
        && b.iter().all(|&c| (b'!'..=b'~').contains(&c) && c != b'#')
    {
        return if go_resolves_non_str(t) || is_old_bool(t) {
            Style::Double
        } else {
            Style::Plain
        };
    }
    let a = Analysis::of(t);
    let requested = if t.contains('\n') {
        Style::Literal
    } else if !go_resolves_non_str(t) && !is_base60_float(t) && !is_old_bool(t) {
        Style::Plain
    } else {
        Style::Double
    };
    let mut style = a.select(requested, false);
    if key {
        style = a.select(style, true);
    }
    match style {
        Style::Literal if t.starts_with('\t') => Style::Double,
        Style::Plain | Style::Single | Style::Literal if a.unicode_breaks => Style::Double,
        s => s,
    }
}

/// Appends a string as go-yaml writes it as a value or a key (a literal block as double
/// quotes: blocks are written by the emitter, see [`literal_block`]).
pub(super) fn push_string(out: &mut SecretText, t: &str, key: bool) {
    match string_style(t, key) {
        Style::Plain => out.push_str(t),
        Style::Single => {
            out.push('\'');
            for (i, part) in t.split('\'').enumerate() {
                if i > 0 {
                    out.push_str("''");
                }
                out.push_str(part);
            }
            out.push('\'');
        }
        Style::Double | Style::Literal => push_double_quoted(out, t),
    }
}

/// A value go-yaml writes as a literal block: the header after `key: ` (`|`, `|-`, `|+`, with
/// an indentation indicator `hint` when the text starts with a space or a line break, and
/// `!!binary |` for long non-UTF-8 strings), and the lines of its body.
///
/// `hint` is the body's indentation relative to its parent node. go-yaml writes its indent
/// setting there, which is that under a map key but not inside a list (where go-yaml's own
/// reader then misreads the block); this writes the true relative indentation.
pub(super) fn literal_block(s: &Scalar, hint: usize) -> Option<(String, Literal<'_>)> {
    let text = match s {
        // go-yaml writes base64 over one line of 70 as a block of such lines.
        Scalar::RawStr(b) if base64_len(b.len()) >= BASE64_LINE => {
            return Some(("!!binary |".into(), Literal::Base64(b)));
        }
        Scalar::Str(t) if string_style(t, false) == Style::Literal => t,
        _ => return None,
    };
    let mut header = String::from("|");
    if text.starts_with([' ', '\n']) {
        header.push_str(&hint.clamp(1, 9).to_string());
    }
    let mut rev = text.chars().rev();
    match (rev.next(), rev.next()) {
        (Some(c), _) if c != '\n' => header.push('-'),
        (Some(_), None) | (Some(_), Some('\n')) => header.push('+'),
        _ => {}
    }
    let body = text.strip_suffix('\n').unwrap_or(text);
    Some((header, Literal::Lines(body)))
}

/// go-yaml's base64 line length.
const BASE64_LINE: usize = 70;

/// The body of a literal block, borrowed from the value (no copy of it is made).
pub(super) enum Literal<'a> {
    /// Text whose lines (split at `\n`) are the block's lines.
    Lines(&'a str),
    /// Bytes written as base64 lines of 70 characters.
    Base64(&'a [u8]),
}

impl Literal<'_> {
    /// Appends the block's lines at column `col` (an empty line without indentation).
    pub(super) fn write(&self, out: &mut SecretText, col: usize) {
        match self {
            Literal::Lines(body) => {
                for line in body.split('\n') {
                    if !line.is_empty() {
                        out.push_repeated(' ', col);
                        out.push_str(line);
                    }
                    out.push('\n');
                }
            }
            Literal::Base64(b) => push_base64(out, b, Some((BASE64_LINE, col))),
        }
    }
}

/// go-yaml's `yaml_emitter_analyze_scalar`: which styles the characters allow (block
/// context; sops writes no flow collections with values in them).
struct Analysis {
    empty: bool,
    multiline: bool,
    plain: bool,
    single: bool,
    block: bool,
    unicode_breaks: bool,
}

/// Characters go-yaml writes as they are (`is_printable`); the rest are escaped.
fn printable(c: char) -> bool {
    matches!(c, '\n' | ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        && c != '\u{FEFF}'
}

/// go-yaml's (YAML 1.1) line breaks.
fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

impl Analysis {
    fn of(t: &str) -> Analysis {
        if t.is_empty() {
            return Analysis {
                empty: true,
                multiline: false,
                plain: true,
                single: true,
                block: false,
                unicode_breaks: false,
            };
        }
        let mut indicators = t.starts_with("---") || t.starts_with("...");
        let (mut tabs, mut special, mut breaks, mut unicode_breaks) = (false, false, false, false);
        let (mut leading, mut trailing_space, mut trailing_break) = (false, false, false);
        let (mut break_space, mut space_break) = (false, false);
        let (mut prev_space, mut prev_break, mut preceded_by_ws) = (false, false, true);
        let mut chars = t.chars().peekable();
        let mut first = true;
        while let Some(c) = chars.next() {
            let next = chars.peek().copied();
            let followed_by_ws = matches!(next, None | Some(' ' | '\t'));
            if first {
                match c {
                    '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\''
                    | '"' | '%' | '@' | '`' => indicators = true,
                    '?' | ':' | '-' if followed_by_ws => indicators = true,
                    _ => {}
                }
                leading = c == ' ' || is_break(c);
            } else {
                match c {
                    ':' if followed_by_ws => indicators = true,
                    '#' if preceded_by_ws => indicators = true,
                    _ => {}
                }
            }
            if c == '\t' {
                tabs = true;
            } else if !printable(c) {
                special = true;
            }
            if c == ' ' {
                trailing_space = next.is_none();
                break_space |= prev_break;
                (prev_space, prev_break) = (true, false);
            } else if is_break(c) {
                breaks = true;
                unicode_breaks |= matches!(c, '\u{2028}' | '\u{2029}');
                trailing_break = next.is_none();
                space_break |= prev_space;
                (prev_space, prev_break) = (false, true);
            } else {
                (prev_space, prev_break) = (false, false);
            }
            preceded_by_ws = matches!(c, ' ' | '\t' | '\0') || is_break(c);
            first = false;
        }
        let mut a = Analysis {
            empty: false,
            multiline: breaks,
            plain: true,
            single: true,
            block: true,
            unicode_breaks,
        };
        if leading || trailing_space || trailing_break || breaks || indicators {
            a.plain = false;
        }
        if trailing_space || space_break || special {
            a.block = false;
        }
        if break_space || space_break || tabs || special {
            a.plain = false;
            a.single = false;
        }
        a
    }

    /// go-yaml's `yaml_emitter_select_scalar_style` (block context).
    fn select(&self, requested: Style, simple_key: bool) -> Style {
        let mut style = requested;
        if simple_key && self.multiline {
            style = Style::Double;
        }
        if style == Style::Plain && (!self.plain || self.empty && simple_key) {
            style = Style::Single;
        }
        if style == Style::Single && !self.single {
            style = Style::Double;
        }
        if style == Style::Literal && (!self.block || simple_key) {
            style = Style::Double;
        }
        style
    }
}

/// Appends a double-quoted string with go-yaml's escapes (`\t`, `\e`, `\N`, `\x80`,
/// `\U0001F511`): every character outside go-yaml's printable set, line breaks, `"`, `\`.
fn push_double_quoted(out: &mut SecretText, t: &str) {
    use std::fmt::Write;
    out.push('"');
    for c in t.chars() {
        if printable(c) && !is_break(c) && c != '"' && c != '\\' {
            out.push(c);
            continue;
        }
        out.push('\\');
        match c {
            '\0' => out.push('0'),
            '\u{7}' => out.push('a'),
            '\u{8}' => out.push('b'),
            '\t' => out.push('t'),
            '\n' => out.push('n'),
            '\u{b}' => out.push('v'),
            '\u{c}' => out.push('f'),
            '\r' => out.push('r'),
            '\u{1b}' => out.push('e'),
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            '\u{85}' => out.push('N'),
            '\u{2028}' => out.push('L'),
            '\u{2029}' => out.push('P'),
            c if (c as u32) <= 0xFF => {
                let _ = write!(out, "x{:02X}", c as u32);
            }
            c if (c as u32) <= 0xFFFF => {
                let _ = write!(out, "u{:04X}", c as u32);
            }
            c => {
                let _ = write!(out, "U{:08X}", c as u32);
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_resolve_and_print_as_go_yaml_does() {
        // Measured with sops 3.11: the plain scalar, then its type:time text (None: a str).
        for (text, want) in [
            ("2024-01-01", Some("2024-01-01T00:00:00Z")),
            ("2024-1-1", Some("2024-01-01T00:00:00Z")),
            ("2024-01-01t00:00:00Z", Some("2024-01-01T00:00:00Z")),
            ("2024-01-01  10:00:00", Some("2024-01-01T10:00:00Z")),
            ("2024-01-01T10:00:00", None),
            ("2024-02-29", Some("2024-02-29T00:00:00Z")),
            ("2023-02-29", None),
            ("1900-02-29", None),
            ("2000-02-29", Some("2000-02-29T00:00:00Z")),
            ("2024-04-31", None),
            ("2024-01-01T00:00:00-00:00", Some("2024-01-01T00:00:00Z")),
            ("2024-01-01T00:00:00,5Z", Some("2024-01-01T00:00:00.5Z")),
            (
                "2024-01-01T00:00:00.1234567891Z",
                Some("2024-01-01T00:00:00.123456789Z"),
            ),
            ("2024-01-01T00:00:00.000Z", Some("2024-01-01T00:00:00Z")),
            ("2024-01-01T1:2:3Z", Some("2024-01-01T01:02:03Z")),
            ("0000-01-01", Some("0000-01-01T00:00:00Z")),
            (
                "2024-12-31T23:59:59.999999999-12:00",
                Some("2024-12-31T23:59:59.999999999-12:00"),
            ),
            (
                "2024-01-01T10:00:00+05:30",
                Some("2024-01-01T10:00:00+05:30"),
            ),
            ("2024-01-01T24:00:00Z", None),
            ("2024-01-01 10:00", None),
            ("2024-01-01T00:00:00.Z", None),
            ("2024-01-01T00:00:00.5", None),
            ("2024-01-01T10:00:00z", None),
            ("2001-12-14 21:59:43.10 -5", None),
            ("20240-01-01", None),
            ("2024-001-01", None),
        ] {
            assert_eq!(
                go_timestamp(text).map(|t| t.rfc3339()).as_deref(),
                want,
                "{text}"
            );
            let got = resolve(text, ScalarStyle::Plain, None);
            match want {
                Some(t) => assert_eq!(got, Scalar::Time(t.into()), "{text}"),
                None => assert_eq!(got, Scalar::Str(text.into()), "{text}"),
            }
        }
        let quoted = resolve("2024-01-01", ScalarStyle::DoubleQuoted, None);
        assert_eq!(quoted, Scalar::Str("2024-01-01".into()));
        let tagged = resolve("2024-01-01", ScalarStyle::DoubleQuoted, Some("timestamp"));
        assert_eq!(tagged, Scalar::Time("2024-01-01T00:00:00Z".into()));
        // Go reads a 24-hour offset but cannot write it: sops refuses the file.
        for t in ["2024-01-01T10:00:00+24:00", "2024-01-01T10:00:00-23:60"] {
            assert!(refusal(t, ScalarStyle::Plain, None).is_some(), "{t}");
            assert!(refusal(t, ScalarStyle::SingleQuoted, None).is_none(), "{t}");
        }
        assert!(refusal("2024-01-01T10:00:00+23:59", ScalarStyle::Plain, None).is_none());
    }

    #[test]
    fn binary_is_decoded() {
        let b = |t| resolve(t, ScalarStyle::Plain, Some("binary"));
        assert_eq!(b("aGVsbG8="), Scalar::Str("hello".into()));
        assert_eq!(b("aGVs\nbG8=\n"), Scalar::Str("hello".into()));
        assert_eq!(b("/w=="), Scalar::RawStr(vec![0xff]));
        assert_eq!(b(""), Scalar::Str(String::new()));
        for bad in ["!!!", "aGVsbG8", "aGVs bG8="] {
            assert!(
                refusal(bad, ScalarStyle::Plain, Some("binary")).is_some(),
                "{bad}"
            );
        }
        assert_eq!(scalar_text(&Scalar::RawStr(vec![0xff])), "!!binary /w==");
        let long = Scalar::RawStr(vec![0xff; 60]);
        let (header, body) = literal_block(&long, 4).unwrap();
        assert_eq!(header, "!!binary |");
        let mut out = SecretText::new();
        body.write(&mut out, 2);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.iter().map(|l| l.len()).collect::<Vec<_>>(), [72, 12]);
        assert!(lines.iter().all(|l| l.starts_with("  /")), "{lines:?}");
        // 51 bytes are 68 characters: one line, no block.
        assert!(literal_block(&Scalar::RawStr(vec![0xff; 51]), 4).is_none());
        assert!(literal_block(&Scalar::RawStr(vec![0xff; 52]), 4).is_some());
        // Across the 210-byte chunks the lines stay whole: the text of one encoding.
        use base64::Engine;
        let bytes: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let mut out = SecretText::new();
        push_base64(&mut out, &bytes, Some((70, 0)));
        let want = base64::engine::general_purpose::STANDARD.encode(&bytes);
        assert_eq!(out.replace('\n', ""), want);
        assert!(out
            .lines()
            .all(|l| l.len() == 70 || l.len() == want.len() % 70));
    }

    #[test]
    fn go_yaml_resolution_decides_quoting() {
        for s in [
            "0xFFFFFFFFFFFFFFFF",
            "18446744073709551615",
            "-9223372036854775809",
            "0b-1",
            "0o+7",
            "-0b101",
            ".5",
            "1_000",
            "1e-400",
            "0",
            "<<",
            "2024-1-1",
            "08", // not octal, but a float to go-yaml
        ] {
            assert!(go_resolves_non_str(s), "{s}");
        }
        for s in [
            "1e400", ".5e400", "0x", "0b", "_1", "0x1p-2", "1e", ".", "+", "1_0:30x", "yes",
        ] {
            assert!(!go_resolves_non_str(s), "{s}");
        }
        for s in [
            "190:20:30",
            "22:22",
            "1:2",
            "-1:30",
            "1_0:30",
            "1:30.5",
            "1:2._",
        ] {
            assert!(is_base60_float(s), "{s}");
        }
        for s in ["12:60", "1:", "a:1", "1::2", "12:345", "1:2 "] {
            assert!(!is_base60_float(s), "{s}");
        }
    }

    #[test]
    fn styles_and_escapes_are_go_yaml_s() {
        use Style::*;
        for (s, value, key) in [
            ("plain", Plain, Plain),
            ("22:22", Double, Double),
            ("yes", Double, Double),
            ("yEs", Plain, Plain),
            ("", Double, Double),
            ("a: b", Single, Single),
            ("- a", Single, Single),
            ("-a", Plain, Plain),
            (" a", Single, Single),
            ("it's: x", Single, Single),
            ("a\tb", Double, Double),
            ("a\nb", Literal, Double),
            ("a \nb", Double, Double),
            ("\ta\nb", Double, Double),
            ("a\u{2028}b", Double, Double),
            ("\u{a0}", Plain, Plain),
            ("🔑", Double, Double),
        ] {
            assert_eq!(string_style(s, false), value, "{s:?}");
            assert_eq!(string_style(s, true), key, "{s:?} as a key");
        }
        let mut out = SecretText::new();
        push_string(&mut out, "it's: x", false);
        push_string(
            &mut out,
            "\0\u{7}\u{1b}\u{85}\u{a0}\u{feff}\u{2029}🔑\"\\é",
            false,
        );
        assert_eq!(
            out,
            "'it''s: x'\"\\0\\a\\e\\N\u{a0}\\uFEFF\\P\\U0001F511\\\"\\\\é\""
        );
        let lit = |t: &str| literal_block(&Scalar::Str(t.into()), 4).map(|b| b.0);
        assert_eq!(lit("a\nb").as_deref(), Some("|-"));
        assert_eq!(lit("a\n").as_deref(), Some("|"));
        assert_eq!(lit("a\n\n").as_deref(), Some("|+"));
        assert_eq!(lit("\n").as_deref(), Some("|4+"));
        assert_eq!(lit(" a\nb").as_deref(), Some("|4-"));
        assert_eq!(lit("a\nb ").as_deref(), None);
    }
}
