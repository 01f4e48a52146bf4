//! go-yaml v3 scalar rules (what sops uses): how a plain scalar resolves (`0x1F`, `1_000`,
//! `0755` are ints; timestamps stay strings), how a float prints, and when a string must be
//! quoted so that it reads back as the same string.

use saphyr_parser::ScalarStyle;
use std::borrow::Cow;

use crate::model::Scalar;

/// Resolves a scalar like go-yaml v3 decoding into `interface{}`.
pub fn resolve(value: &str, style: ScalarStyle, tag: Option<&str>) -> Scalar {
    resolve_cow(Cow::Borrowed(value), style, tag)
}

/// [`resolve`], keeping an owned string without copying it.
pub(super) fn resolve_cow(value: Cow<'_, str>, style: ScalarStyle, tag: Option<&str>) -> Scalar {
    match tag {
        Some("str") | Some("binary") => return Scalar::Str(owned(value)),
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

/// The parser's string, without the spare capacity it grew while reading it.
pub(super) fn owned(value: Cow<'_, str>) -> String {
    let mut s = value.into_owned();
    s.shrink_to_fit();
    s
}

/// What a plain scalar resolves to when that is not a string (null, bool, int, float).
fn plain_non_string(value: &str) -> Option<Scalar> {
    if matches!(value, "" | "~" | "null" | "Null" | "NULL") {
        return Some(Scalar::Null);
    }
    if let Some(b) = parse_bool(value) {
        return Some(Scalar::Bool(b));
    }
    if let Some(i) = parse_int(value) {
        return Some(Scalar::Int(i));
    }
    parse_float(value).map(Scalar::Float)
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

/// A scalar as YAML text, quoted when plain style would read back differently.
pub fn scalar_text(s: &Scalar) -> String {
    match s {
        Scalar::Null => "null".into(),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) if f.is_nan() => ".nan".into(),
        Scalar::Float(f) if f.is_infinite() => if *f > 0.0 { ".inf" } else { "-.inf" }.into(),
        Scalar::Float(f) => go_yaml_float(*f),
        Scalar::RawStr(b) => double_quoted(&String::from_utf8_lossy(b)),
        Scalar::Bytes(b) => {
            use base64::Engine;
            format!(
                "!!binary {}",
                base64::engine::general_purpose::STANDARD.encode(b)
            )
        }
        Scalar::Str(t) | Scalar::Time(t) | Scalar::Comment(t) => {
            if plain_safe(t) {
                t.clone()
            } else {
                double_quoted(t)
            }
        }
    }
}

/// go-yaml's float text (`strconv.FormatFloat(f, 'g', -1, 64)`), what sops prints: `7`,
/// `1000`, `0.0001`, `1e+06`, `1.2345678901234567e+19`. An integral float reads back as
/// an int; an edit then keeps the stored float's ciphertext (crypto::seal), and its MAC
/// bytes are the same (`7` either way). Not so for negative zero: go-yaml's `-0` reads
/// back as the int 0, whose MAC bytes are `0`, not the float's `-0` (sops then fails its
/// own MAC on a clear `-0.0`), so it is written `-0.0`, which reads back as itself.
fn go_yaml_float(f: f64) -> String {
    if f == 0.0 && f.is_sign_negative() {
        return "-0.0".into();
    }
    let (text, exp) = crate::model::tree::go_float_exponent(f);
    if f != 0.0 && !(-4..6).contains(&exp) {
        text
    } else {
        crate::model::tree::format_go_float(f)
    }
}

pub(super) fn plain_safe(t: &str) -> bool {
    let Some(first) = t.chars().next() else {
        return false;
    };
    // A leading indicator forces quoting, except a dash that starts a word like `-x`.
    let dash_word = first == '-' && t.len() > 1 && !t.starts_with("- ") && !t.starts_with("---");
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) && !dash_word {
        return false;
    }
    if first.is_whitespace() || t.ends_with(char::is_whitespace) || t.ends_with(':') {
        return false;
    }
    if t.contains(": ")
        || t.contains(" #")
        || t.contains('\t')
        || t.chars().any(|c| c.is_control() || c == '\u{feff}')
    {
        return false;
    }
    if plain_non_string(t).is_some() {
        return false;
    }
    // YAML 1.1 readers take these as booleans; timestamps as dates (go-yaml quotes both).
    let yaml11_bool = ["y", "n", "yes", "no", "on", "off"]
        .iter()
        .any(|w| t.eq_ignore_ascii_case(w));
    if yaml11_bool || looks_like_timestamp(t) {
        return false;
    }
    true
}

fn looks_like_timestamp(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

pub(super) fn double_quoted(t: &str) -> String {
    let mut out = String::with_capacity(t.len() + 2);
    out.push('"');
    for c in t.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02X}", c as u32))
            }
            '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{85}' => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
