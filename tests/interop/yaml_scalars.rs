//! go-yaml's scalar rules, measured against the real sops 3.11 in both directions (issue 9,
//! cases 6, 7 and the `!!binary` part of 9): which style prints each string (plain,
//! 'single', "double", literal block) as a value and as a key; plain timestamps stored as
//! `type:time` and printed as Go prints them; `set` on a sops file leaving every other line
//! byte-identical, clear values included; `!!binary` decoded.

use super::*;

/// Tricky strings and the style sops 3.11 prints each in after decrypting, as a value and
/// (single-line ones) as a key: `P` plain, `S` 'single', `D` "double", `L` literal block.
/// Made by having sops encrypt a file holding each as a double-quoted string and decrypt it.
/// The strings sops itself loses or changes are in `where_sops_loses_a_string_we_keep_it`.
#[rustfmt::skip]
const STRINGS: &[(&str, char)] = &[
    ("y", 'D'),
    ("Y", 'D'),
    ("yes", 'D'),
    ("Yes", 'D'),
    ("YES", 'D'),
    ("yEs", 'P'),
    ("n", 'D'),
    ("N", 'D'),
    ("no", 'D'),
    ("No", 'D'),
    ("NO", 'D'),
    ("nO", 'P'),
    ("on", 'D'),
    ("On", 'D'),
    ("ON", 'D'),
    ("oN", 'P'),
    ("off", 'D'),
    ("Off", 'D'),
    ("OFF", 'D'),
    ("oFF", 'P'),
    ("true", 'D'),
    ("True", 'D'),
    ("TRUE", 'D'),
    ("tRUE", 'P'),
    ("false", 'D'),
    ("False", 'D'),
    ("FALSE", 'D'),
    ("fALSE", 'P'),
    ("t", 'P'),
    ("f", 'P'),
    ("T", 'P'),
    ("F", 'P'),
    ("~", 'D'),
    ("null", 'D'),
    ("Null", 'D'),
    ("NULL", 'D'),
    ("nULL", 'P'),
    ("nul", 'P'),
    ("none", 'P'),
    ("None", 'P'),
    ("", 'D'),
    ("~a", 'P'),
    ("a~", 'P'),
    (".inf", 'D'),
    (".Inf", 'D'),
    (".INF", 'D'),
    (".iNF", 'P'),
    ("+.inf", 'D'),
    ("+.Inf", 'D'),
    ("+.INF", 'D'),
    ("-.inf", 'D'),
    ("-.Inf", 'D'),
    ("-.INF", 'D'),
    (".nan", 'D'),
    (".NaN", 'D'),
    (".NAN", 'D'),
    (".Nan", 'P'),
    ("+.nan", 'P'),
    ("-.nan", 'P'),
    ("inf", 'P'),
    ("Inf", 'P'),
    ("-inf", 'P'),
    ("+inf", 'P'),
    ("infinity", 'P'),
    ("Infinity", 'P'),
    ("nan", 'P'),
    ("NaN", 'P'),
    (".infinity", 'P'),
    ("1.5", 'D'),
    (".5", 'D'),
    ("5.", 'D'),
    ("+1", 'D'),
    ("-1", 'D'),
    ("+.5", 'D'),
    ("-.5", 'D'),
    ("+5.", 'D'),
    ("1e3", 'D'),
    ("1E3", 'D'),
    ("1e+3", 'D'),
    ("1e-3", 'D'),
    ("1.5e3", 'D'),
    ("1.5E-3", 'D'),
    (".5e3", 'D'),
    ("5.e3", 'D'),
    ("1e", 'P'),
    ("e3", 'P'),
    ("1e3.5", 'P'),
    ("1.2.3", 'P'),
    ("1_000", 'D'),
    ("1_0.5", 'D'),
    ("1e400", 'P'),
    ("-1e400", 'P'),
    ("1e-400", 'D'),
    ("0.1e1_0", 'D'),
    ("1__0", 'D'),
    ("_1", 'P'),
    ("1_", 'D'),
    ("_", 'P'),
    ("1.0e+10", 'D'),
    ("0.", 'D'),
    ("0.0", 'D'),
    ("-0", 'D'),
    ("+0", 'D'),
    ("-0.0", 'D'),
    ("00", 'D'),
    ("000", 'D'),
    ("1e0", 'D'),
    ("12e", 'P'),
    ("0e0", 'D'),
    ("0x1p-2", 'P'),
    ("0x1.8p1", 'P'),
    ("1,000", 'P'),
    ("1 000", 'P'),
    ("1.", 'D'),
    ("+", 'P'),
    ("-", 'S'),
    ("+-1", 'P'),
    ("1-2", 'P'),
    ("--1", 'P'),
    ("++1", 'P'),
    ("1+", 'P'),
    ("0.1.", 'P'),
    ("1e3e3", 'P'),
    ("0", 'D'),
    ("7", 'D'),
    ("007", 'D'),
    ("0755", 'D'),
    ("08", 'D'),
    ("09", 'D'),
    ("0019", 'D'),
    ("0x1F", 'D'),
    ("0X1F", 'D'),
    ("0x1f", 'D'),
    ("0xG", 'P'),
    ("0x", 'P'),
    ("0x_1F", 'D'),
    ("0o17", 'D'),
    ("0O17", 'D'),
    ("0o8", 'P'),
    ("0o", 'P'),
    ("0b101", 'D'),
    ("0B101", 'D'),
    ("0b2", 'P'),
    ("0b", 'P'),
    ("-0b1", 'D'),
    ("-0o7", 'D'),
    ("+0o7", 'D'),
    ("-0x1F", 'D'),
    ("+0x1F", 'D'),
    ("0_7", 'D'),
    ("1_000_000", 'D'),
    ("9223372036854775807", 'D'),
    ("9223372036854775808", 'D'),
    ("-9223372036854775808", 'D'),
    ("-9223372036854775809", 'D'),
    ("18446744073709551615", 'D'),
    ("18446744073709551616", 'D'),
    ("99999999999999999999", 'D'),
    ("0xFFFFFFFFFFFFFFFF", 'D'),
    ("0x10000000000000000", 'P'),
    ("0b1111111111111111111111111111111111111111111111111111111111111111", 'D'),
    ("12345678901234567890123", 'D'),
    ("190:20:30", 'D'),
    ("22:22", 'D'),
    ("10:30", 'D'),
    ("1:2", 'D'),
    ("12:60", 'P'),
    ("12:59", 'D'),
    ("1:30.5", 'D'),
    ("-1:30", 'D'),
    ("+1:30", 'D'),
    ("1_0:30", 'D'),
    ("1:2:3:4", 'D'),
    ("0:0", 'D'),
    ("22:22:22.22", 'D'),
    ("12:5", 'D'),
    ("12:5a", 'P'),
    ("a:1", 'P'),
    ("1::2", 'P'),
    ("1:", 'S'),
    ("1:2.", 'D'),
    ("1:2._", 'D'),
    ("1:2:", 'S'),
    ("190:20:30.15", 'D'),
    ("1:_2", 'P'),
    ("1:2_0", 'P'),
    ("12:345", 'P'),
    ("06:30", 'D'),
    ("24:00", 'D'),
    ("1:2 ", 'S'),
    ("1 :2", 'P'),
    ("-:1", 'P'),
    ("+1:2:3", 'D'),
    ("1:60", 'P'),
    ("1:59.5.5", 'P'),
    ("00:00:00", 'D'),
    ("2024-01-01", 'D'),
    ("2024-1-1", 'D'),
    ("2024-01-01T00:00:00Z", 'D'),
    ("2024-01-01t00:00:00Z", 'D'),
    ("2024-01-01 10:00:00", 'D'),
    ("2024-01-01T10:00:00", 'P'),
    ("2024-13-01", 'P'),
    ("2024-02-30", 'P'),
    ("2024-02-29", 'D'),
    ("2023-02-29", 'P'),
    ("2024-01-01T25:00:00Z", 'P'),
    ("2001-12-14 21:59:43.10 -5", 'P'),
    ("20240-01-01", 'P'),
    ("2024-01-01x", 'P'),
    ("2024-01-01T00:00:00+02:00", 'D'),
    ("2024-01-01T00:00:00-00:00", 'D'),
    ("2024-01-01T00:00:00,5Z", 'D'),
    ("2024-01-01T00:00:00.123456789Z", 'D'),
    ("2024-01-01T00:00:00.1234567891Z", 'D'),
    ("2024-01-01  10:00:00", 'D'),
    ("2024-01-01 1:2:3", 'D'),
    ("2024-01-01T1:2:3Z", 'D'),
    ("2024-01-01T10:00Z", 'P'),
    ("2024-01-01T10:00:00z", 'P'),
    ("2024-001-01", 'P'),
    ("2024-01-001", 'P'),
    ("202-01-01", 'P'),
    ("2024-01", 'P'),
    ("2024-", 'P'),
    ("2024-01-01 ", 'S'),
    ("2024-1-1 10:00:00.5", 'D'),
    ("0000-01-01", 'D'),
    ("9999-12-31", 'D'),
    ("2024-01-01T10:00:00+0200", 'P'),
    ("2024-01-01T10:00:00+02", 'P'),
    ("2024-01-01T10:00:00 +02:00", 'P'),
    ("2024-01-01T10:00:00.Z", 'P'),
    ("2024-01-01T24:00:00Z", 'P'),
    ("2024-01-01T23:60:00Z", 'P'),
    ("2024-01-01T23:59:60Z", 'P'),
    ("2024-06-31", 'P'),
    ("-a", 'P'),
    ("- a", 'S'),
    ("a-", 'P'),
    ("a-b", 'P'),
    ("a - b", 'P'),
    ("a -b", 'P'),
    ("a- b", 'P'),
    ("?", 'S'),
    ("?a", 'P'),
    ("? a", 'S'),
    ("a?", 'P'),
    ("a?b", 'P'),
    ("a ? b", 'P'),
    ("a ?b", 'P'),
    ("a? b", 'P'),
    (":", 'S'),
    (":a", 'P'),
    (": a", 'S'),
    ("a:", 'S'),
    ("a:b", 'P'),
    ("a : b", 'S'),
    ("a :b", 'P'),
    ("a: b", 'S'),
    (",", 'S'),
    (",a", 'S'),
    (", a", 'S'),
    ("a,", 'P'),
    ("a,b", 'P'),
    ("a , b", 'P'),
    ("a ,b", 'P'),
    ("a, b", 'P'),
    ("[", 'S'),
    ("[a", 'S'),
    ("[ a", 'S'),
    ("a[", 'P'),
    ("a[b", 'P'),
    ("a [ b", 'P'),
    ("a [b", 'P'),
    ("a[ b", 'P'),
    ("]", 'S'),
    ("]a", 'S'),
    ("] a", 'S'),
    ("a]", 'P'),
    ("a]b", 'P'),
    ("a ] b", 'P'),
    ("a ]b", 'P'),
    ("a] b", 'P'),
    ("{", 'S'),
    ("{a", 'S'),
    ("{ a", 'S'),
    ("a{", 'P'),
    ("a{b", 'P'),
    ("a { b", 'P'),
    ("a {b", 'P'),
    ("a{ b", 'P'),
    ("}", 'S'),
    ("}a", 'S'),
    ("} a", 'S'),
    ("a}", 'P'),
    ("a}b", 'P'),
    ("a } b", 'P'),
    ("a }b", 'P'),
    ("a} b", 'P'),
    ("#", 'S'),
    ("#a", 'S'),
    ("# a", 'S'),
    ("a#", 'P'),
    ("a#b", 'P'),
    ("a # b", 'S'),
    ("a #b", 'S'),
    ("a# b", 'P'),
    ("&", 'S'),
    ("&a", 'S'),
    ("& a", 'S'),
    ("a&", 'P'),
    ("a&b", 'P'),
    ("a & b", 'P'),
    ("a &b", 'P'),
    ("a& b", 'P'),
    ("*", 'S'),
    ("*a", 'S'),
    ("* a", 'S'),
    ("a*", 'P'),
    ("a*b", 'P'),
    ("a * b", 'P'),
    ("a *b", 'P'),
    ("a* b", 'P'),
    ("!", 'S'),
    ("!a", 'S'),
    ("! a", 'S'),
    ("a!", 'P'),
    ("a!b", 'P'),
    ("a ! b", 'P'),
    ("a !b", 'P'),
    ("a! b", 'P'),
    ("|", 'S'),
    ("|a", 'S'),
    ("| a", 'S'),
    ("a|", 'P'),
    ("a|b", 'P'),
    ("a | b", 'P'),
    ("a |b", 'P'),
    ("a| b", 'P'),
    (">", 'S'),
    (">a", 'S'),
    ("> a", 'S'),
    ("a>", 'P'),
    ("a>b", 'P'),
    ("a > b", 'P'),
    ("a >b", 'P'),
    ("a> b", 'P'),
    ("'", 'S'),
    ("'a", 'S'),
    ("' a", 'S'),
    ("a'", 'P'),
    ("a'b", 'P'),
    ("a ' b", 'P'),
    ("a 'b", 'P'),
    ("a' b", 'P'),
    ("\"", 'S'),
    ("\"a", 'S'),
    ("\" a", 'S'),
    ("a\"", 'P'),
    ("a\"b", 'P'),
    ("a \" b", 'P'),
    ("a \"b", 'P'),
    ("a\" b", 'P'),
    ("%", 'S'),
    ("%a", 'S'),
    ("% a", 'S'),
    ("a%", 'P'),
    ("a%b", 'P'),
    ("a % b", 'P'),
    ("a %b", 'P'),
    ("a% b", 'P'),
    ("@", 'S'),
    ("@a", 'S'),
    ("@ a", 'S'),
    ("a@", 'P'),
    ("a@b", 'P'),
    ("a @ b", 'P'),
    ("a @b", 'P'),
    ("a@ b", 'P'),
    ("`", 'S'),
    ("`a", 'S'),
    ("` a", 'S'),
    ("a`", 'P'),
    ("a`b", 'P'),
    ("a ` b", 'P'),
    ("a `b", 'P'),
    ("a` b", 'P'),
    ("--", 'P'),
    ("---", 'S'),
    ("--- a", 'S'),
    ("---a", 'S'),
    ("...", 'S'),
    ("..", 'P'),
    ("....", 'S'),
    ("... a", 'S'),
    ("a:  b", 'S'),
    ("a\t#b", 'D'),
    ("<<a", 'P'),
    ("a<<", 'P'),
    ("=", 'P'),
    ("==", 'P'),
    ("a=b", 'P'),
    ("!!str", 'S'),
    ("!!binary", 'S'),
    ("!tag a", 'S'),
    ("&anchor", 'S'),
    ("*alias", 'S'),
    ("? ", 'S'),
    ("- ", 'S'),
    ("-\ta", 'D'),
    ("?\ta", 'D'),
    (":\ta", 'D'),
    ("a:\tb", 'D'),
    ("http://x.y/z?a=b#c", 'P'),
    ("key: value # c", 'S'),
    ("[a, b]", 'S'),
    ("{a: b}", 'S'),
    ("-1-", 'P'),
    ("- - a", 'S'),
    ("a -", 'P'),
    ("x- y", 'P'),
    (" a", 'S'),
    ("a ", 'S'),
    (" ", 'S'),
    ("  ", 'S'),
    ("a  b", 'P'),
    ("a\tb", 'D'),
    ("\ta", 'D'),
    ("a\t", 'D'),
    ("\t", 'D'),
    (" \t", 'D'),
    ("a \t", 'D'),
    ("\t a", 'D'),
    ("a\nb", 'L'),
    ("a\n", 'L'),
    ("\na", 'L'),
    ("a\n\n", 'L'),
    ("a \nb", 'D'),
    ("a\n b", 'L'),
    ("\n", 'L'),
    ("\n\n", 'L'),
    ("a\r\nb", 'D'),
    ("a\rb", 'D'),
    ("a\u{85}b", 'D'),
    ("a\n\nb", 'L'),
    ("a\nb\n", 'L'),
    ("a\nb\n\n", 'L'),
    (" a\nb", 'L'),
    ("a\t\nb", 'L'),
    ("a\n\tb", 'L'),
    ("a\nb ", 'D'),
    ("a\nb\t", 'L'),
    ("a\n\nb\n", 'L'),
    ("a\n#b", 'L'),
    ("a\n- b", 'L'),
    ("a\n---\nb", 'L'),
    ("a\n...\nb", 'L'),
    ("#a\nb", 'L'),
    ("\u{0}", 'D'),
    ("\u{7}", 'D'),
    ("a\u{1b}b", 'D'),
    ("\u{7f}", 'D'),
    ("\u{a0}", 'P'),
    ("a\u{a0}b", 'P'),
    ("\u{feff}", 'D'),
    ("a\u{feff}b", 'D'),
    ("\u{e9}", 'P'),
    ("\u{65e5}\u{672c}", 'P'),
    ("\u{1f511}", 'D'),
    ("a\u{1f511}b", 'D'),
    ("\u{e000}", 'P'),
    ("\u{fffd}", 'P'),
    ("\u{ff}", 'P'),
    ("\u{1}", 'D'),
    ("\u{8}", 'D'),
    ("\u{b}", 'D'),
    ("\u{c}", 'D'),
    ("\u{1f}", 'D'),
    ("\u{80}", 'D'),
    ("\u{9f}", 'D'),
    ("\u{100}", 'P'),
    ("\u{2027}", 'P'),
    ("\u{d7ff}", 'P'),
    ("z", 'P'),
    ("true1", 'P'),
    ("nulls", 'P'),
    ("yes!", 'P'),
    ("Yes please", 'P'),
    ("no way", 'P'),
    ("ON/OFF", 'P'),
    ("y2k", 'P'),
    ("0.5.6", 'P'),
    ("1_2_3", 'D'),
    (".", 'P'),
    ("..5", 'P'),
    ("._5", 'P'),
    ("+.", 'P'),
    ("-.", 'P'),
    ("0b1_0", 'D'),
    ("0x_", 'P'),
    ("0o_7", 'D'),
    ("1e_3", 'D'),
    ("1_e3", 'D'),
    ("1._5", 'D'),
    ("1_.5", 'D'),
    ("_.5", 'P'),
    ("1:2:3.4_5", 'D'),
    ("kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", 'P'),
];

/// A string as a YAML double-quoted scalar, escaping everything but printable ASCII.
fn dq(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            ' '..='~' => o.push(c),
            c if (c as u32) <= 0xff => o.push_str(&format!("\\x{:02X}", c as u32)),
            c if (c as u32) <= 0xffff => o.push_str(&format!("\\u{:04X}", c as u32)),
            c => o.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    o.push('"');
    o
}

fn run_ok(mut c: Command, what: &str) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The four decrypted texts of `plain` (sops → sops, sops → ours, ours → sops,
/// ours → ours), after each tool encrypted it as theirs.yaml / ours.yaml.
struct Trip {
    texts: Vec<(&'static str, String)>,
}

impl Trip {
    fn new(sb: &Sandbox, key: &Key, plain: &str) -> Option<Trip> {
        sops(sb, key)?;
        sb.write("plain.yaml", plain);
        let mut enc = sops(sb, key).unwrap();
        enc.args(["encrypt", "--age", &key.public, "plain.yaml"]);
        sb.write("theirs.yaml", &run_ok(enc, "sops encrypt"));
        let mut enc = sb.std_cmd();
        enc.args(["encrypt", "--age", &key.public, "plain.yaml"]);
        sb.write("ours.yaml", &run_ok(enc, "our encrypt"));
        let mut texts = Vec::new();
        for (file, by_sops, by_us) in [
            ("theirs.yaml", "sops → sops", "sops → ours"),
            ("ours.yaml", "ours → sops", "ours → ours"),
        ] {
            let mut dec = sops(sb, key).unwrap();
            dec.args(["decrypt", file]);
            texts.push((by_sops, run_ok(dec, by_sops)));
            let ours = String::from_utf8(ours_decrypt(sb, key, file, &[])).unwrap();
            texts.push((by_us, ours));
        }
        Some(Trip { texts })
    }

    /// Every direction printed the same text as sops → sops; returns it.
    fn same_text(&self) -> &str {
        let (_, want) = &self.texts[0];
        for (dir, text) in &self.texts[1..] {
            if text != want {
                let diff: Vec<_> = want
                    .lines()
                    .zip(text.lines())
                    .filter(|(a, b)| a != b)
                    .take(8)
                    .map(|(a, b)| format!("  sops: {a:?}\n  {dir}: {b:?}"))
                    .collect();
                panic!("{dir} differs from sops → sops:\n{}", diff.join("\n"));
            }
        }
        want
    }
}

/// The style of a printed scalar from its first character.
fn style_of(text: &str) -> char {
    match text.chars().next() {
        Some('\'') => 'S',
        Some('"') => 'D',
        Some('|') => 'L',
        _ => 'P',
    }
}

/// sops decrypts our file to the same values, parsed (checks the MAC too).
fn sops_reads_ours_as(sb: &Sandbox, key: &Key, want: &Value) {
    let mut dec = sops(sb, key).unwrap();
    dec.args(["decrypt", "--output-type", "json", "ours.yaml"]);
    let got: Value = serde_json::from_str(&run_ok(dec, "sops decrypt --output-type json")).unwrap();
    assert_eq!(&got, want);
}

#[test]
fn string_styles_match_sops_as_values() {
    let sb = Sandbox::new();
    let key = sb.key("alice");
    let plain: String = STRINGS
        .iter()
        .enumerate()
        .map(|(i, (s, _))| format!("v{i}: {}\n", dq(s)))
        .collect();
    let Some(trip) = Trip::new(&sb, &key, &plain) else {
        return;
    };
    let text = trip.same_text();
    // Each value's style, from the first line of its entry.
    let mut seen = 0;
    for line in text.lines() {
        let Some((k, v)) = line.split_once(": ").filter(|(k, _)| k.starts_with('v')) else {
            continue;
        };
        let Ok(i) = k[1..].parse::<usize>() else {
            continue;
        };
        let (s, want) = STRINGS[i];
        assert_eq!(style_of(v), want, "{s:?} printed as {v}");
        seen += 1;
    }
    assert_eq!(seen, STRINGS.len());
    let want: serde_json::Map<_, _> = STRINGS
        .iter()
        .enumerate()
        .map(|(i, (s, _))| (format!("v{i}"), Value::from(*s)))
        .collect();
    sops_reads_ours_as(&sb, &key, &Value::Object(want));
}

#[test]
fn string_styles_match_sops_as_keys() {
    let sb = Sandbox::new();
    let key = sb.key("bob");
    // Keys with line breaks are written `? |-` by sops (a layout we do not copy: ours are
    // double-quoted, which reads back the same).
    let keys: Vec<_> = STRINGS
        .iter()
        .filter(|(s, _)| !s.contains(['\n', '\r', '\u{85}']))
        .collect();
    let plain: String = keys
        .iter()
        .enumerate()
        .map(|(i, (s, _))| format!("{}: v{i}\n", dq(s)))
        .collect();
    let Some(trip) = Trip::new(&sb, &key, &plain) else {
        return;
    };
    let text = trip.same_text();
    let printed: Vec<_> = text
        .lines()
        .map(|l| l.rsplit_once(": v").expect("one entry per line").0)
        .collect();
    assert_eq!(printed.len(), keys.len());
    for (k, (s, want)) in printed.iter().zip(&keys) {
        assert_eq!(style_of(k), *want, "key {s:?} printed as {k}");
    }
    let want: serde_json::Map<_, _> = keys
        .iter()
        .enumerate()
        .map(|(i, (s, _))| (s.to_string(), Value::from(format!("v{i}"))))
        .collect();
    sops_reads_ours_as(&sb, &key, &Value::Object(want));
}

/// Strings sops prints in a form that does not read back as the same string: there we
/// print double quotes, which every reader reads back the same (sops included).
#[test]
fn where_sops_loses_a_string_we_keep_it() {
    let sb = Sandbox::new();
    let key = sb.key("carol");
    let cases = [
        // go-yaml tags it; PyYAML cannot load `!!merge` on a value.
        ("<<", "!!merge <<", "\"<<\""),
        // Line breaks to go-yaml (it indents after them), characters to YAML 1.2.
        ("a\u{2028}b", "'a\u{2028}    b'", "\"a\\Lb\""),
        ("a\u{2029}b", "'a\u{2029}    b'", "\"a\\Pb\""),
        // go-yaml cannot read the literal block it writes: sops prints null.
        ("\ta\nb", "null", "\"\\ta\\nb\""),
    ];
    let plain: String = cases
        .iter()
        .enumerate()
        .map(|(i, (s, _, _))| format!("v{i}: {}\n", dq(s)))
        .collect();
    let Some(trip) = Trip::new(&sb, &key, &plain) else {
        return;
    };
    let sops_text: String = cases
        .iter()
        .enumerate()
        .map(|(i, (_, theirs, _))| format!("v{i}: {theirs}\n"))
        .collect();
    let our_text: String = cases
        .iter()
        .enumerate()
        .map(|(i, (_, _, ours))| format!("v{i}: {ours}\n"))
        .collect();
    for (dir, text) in &trip.texts {
        let want = if dir.ends_with("sops") {
            &sops_text
        } else {
            &our_text
        };
        assert_eq!(text, want, "{dir}");
    }
    let want: serde_json::Map<_, _> = cases
        .iter()
        .enumerate()
        .map(|(i, (s, _, _))| (format!("v{i}"), Value::from(*s)))
        .collect();
    sops_reads_ours_as(&sb, &key, &Value::Object(want));
}

/// Plain timestamps, and the `type:time` text sops stores and prints for each (None: not a
/// timestamp to go-yaml, stored as `str`).
const TIMES: &[(&str, Option<&str>)] = &[
    ("2024-01-01", Some("2024-01-01T00:00:00Z")),
    ("2024-1-1", Some("2024-01-01T00:00:00Z")),
    ("2024-01-01T00:00:00Z", Some("2024-01-01T00:00:00Z")),
    ("2024-01-01t00:00:00Z", Some("2024-01-01T00:00:00Z")),
    ("2024-01-01 10:00:00", Some("2024-01-01T10:00:00Z")),
    ("2024-01-01  10:00:00", Some("2024-01-01T10:00:00Z")),
    ("2024-01-01T10:00:00", None),
    ("2024-02-29", Some("2024-02-29T00:00:00Z")),
    ("2023-02-29", None),
    (
        "2024-01-01T00:00:00+02:00",
        Some("2024-01-01T00:00:00+02:00"),
    ),
    ("2024-01-01T00:00:00-00:00", Some("2024-01-01T00:00:00Z")),
    ("2024-01-01T00:00:00,5Z", Some("2024-01-01T00:00:00.5Z")),
    (
        "2024-01-01T00:00:00.1234567891Z",
        Some("2024-01-01T00:00:00.123456789Z"),
    ),
    ("2024-01-01T00:00:00.100Z", Some("2024-01-01T00:00:00.1Z")),
    ("2024-01-01 1:2:3", Some("2024-01-01T01:02:03Z")),
    ("2024-1-1 10:00:00.5", Some("2024-01-01T10:00:00.5Z")),
    ("0000-01-01", Some("0000-01-01T00:00:00Z")),
    (
        "2024-01-01T10:00:00+23:59",
        Some("2024-01-01T10:00:00+23:59"),
    ),
    (
        "2024-12-31T23:59:59.999999999-12:00",
        Some("2024-12-31T23:59:59.999999999-12:00"),
    ),
    (
        "2001-12-14t21:59:43.10-05:00",
        Some("2001-12-14T21:59:43.1-05:00"),
    ),
    ("2024-01-01T24:00:00Z", None),
    ("2024-01-01 10:00", None),
    ("2024-01-01T00:00:00.Z", None),
    ("2001-12-14 21:59:43.10 -5", None),
    ("1900-02-29", None),
    ("2024-04-31", None),
];

#[test]
fn timestamps_are_type_time_as_sops_stores_them() {
    let sb = Sandbox::new();
    let key = sb.key("dave");
    let mut plain: String = TIMES
        .iter()
        .enumerate()
        .map(|(i, (t, _))| format!("t{i}: {t}\n"))
        .collect();
    plain.push_str(
        "quoted: \"2024-01-01\"\ntagged: !!timestamp 2024-01-01\nlist:\n    - 2024-01-01\n",
    );
    let Some(trip) = Trip::new(&sb, &key, &plain) else {
        return;
    };
    let text = trip.same_text();
    for (i, (t, want)) in TIMES.iter().enumerate() {
        let line = format!("t{i}: {}", want.unwrap_or(t));
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
    assert!(text.contains("quoted: \"2024-01-01\"\ntagged: 2024-01-01T00:00:00Z\nlist:\n    - 2024-01-01T00:00:00Z\n"), "{text}");
    // Both store the same types (what is encrypted and what the MAC covers: sops verified
    // our MAC above by decrypting).
    let types = |file: &str| -> Vec<String> {
        sb.read(file)
            .lines()
            .take_while(|l| !l.starts_with("sops:"))
            .filter_map(|l| l.rsplit_once("type:").map(|(_, t)| t.to_string()))
            .collect()
    };
    let theirs = types("theirs.yaml");
    assert_eq!(types("ours.yaml"), theirs);
    let want: Vec<_> = TIMES
        .iter()
        .map(|(_, t)| if t.is_some() { "time]" } else { "str]" })
        .chain(["str]", "time]", "time]"])
        .collect();
    assert_eq!(theirs, want);
}

#[test]
fn timestamps_go_cannot_write_back_are_refused_like_sops() {
    let sb = Sandbox::new();
    let key = sb.key("erin");
    let Some(_) = sops(&sb, &key) else { return };
    sb.write("t.yaml", "ok: 1\nt: 2024-01-01T10:00:00+24:00\n");
    let theirs = sops(&sb, &key)
        .unwrap()
        .args(["encrypt", "--age", &key.public, "t.yaml"])
        .output()
        .unwrap();
    assert!(!theirs.status.success());
    let ours = sb
        .std_cmd()
        .args(["encrypt", "--age", &key.public, "t.yaml"])
        .output()
        .unwrap();
    assert!(!ours.status.success());
    let err = String::from_utf8_lossy(&ours.stderr);
    assert!(
        err.contains("t.yaml") && err.contains("line 2") && err.contains("\"t\""),
        "{err}"
    );
    assert!(!err.contains("10:00"), "the value is not printed: {err}");
}

/// Values the rules leave in clear, in every style go-yaml writes, and timestamps stored
/// as `type:time`.
const CLEAR_AND_TIMES: &str = r#"expires: 2024-01-01T00:00:00Z
emoji: "\U0001F511"
date: 2024-01-01
when: 2001-12-14t21:59:43.10-05:00
single: 'a: b'
hhmm: "22:22"
word: "yes"
block: |
    line one
    line two
kept: |+
    x

float: 1e+06
flag: true
ts_str: "2024-01-01"
esc: "tab\there\e"
list:
    - 2024-01-01
    - "10:30"
    - |-
      p
      q
password: hunter2
token: "10:30"
"#;

/// Our `set` on a file sops wrote changes the value set (and `lastmodified`, `mac`) and no
/// other line: clear values keep their text, timestamps their type and ciphertext.
#[test]
fn set_on_a_sops_file_leaves_every_other_line_alone() {
    let sb = Sandbox::new();
    let key = sb.key("frank");
    let Some(_) = sops(&sb, &key) else { return };
    for (name, rule) in [
        ("clear.yaml", Some("^(password|token)$")),
        ("all.yaml", None),
    ] {
        sb.write(name, CLEAR_AND_TIMES);
        let mut enc = sops(&sb, &key).unwrap();
        enc.args(["encrypt", "-i", "--age", &key.public]);
        if let Some(re) = rule {
            enc.args(["--encrypted-regex", re]);
        }
        enc.arg(name);
        run_ok(enc, "sops encrypt");
        let before = sb.read(name);
        let mut dec = sops(&sb, &key).unwrap();
        dec.args(["decrypt", name]);
        let plain_before = run_ok(dec, "sops decrypt");
        assert_eq!(
            String::from_utf8(ours_decrypt(&sb, &key, name, &[])).unwrap(),
            plain_before,
            "{name}: our decrypt of sops's file"
        );
        sb.cmd()
            .args(["set", "-I"])
            .arg(&key.file)
            .args([name, "password", "changed"])
            .assert()
            .success();
        let after = sb.read(name);
        // The values' lines (the `sops` block's own layout is another matter).
        let values = |t: &str| -> Vec<String> {
            t.lines()
                .take_while(|l| !l.starts_with("sops:"))
                .map(str::to_string)
                .collect()
        };
        let (b, a) = (values(&before), values(&after));
        assert_eq!(a.len(), b.len(), "{name}:\n{after}");
        let changed: Vec<_> = b
            .iter()
            .zip(&a)
            .filter(|(x, y)| x != y)
            .map(|(x, y)| format!("{x}\n    → {y}"))
            .collect();
        assert_eq!(changed.len(), 1, "{name}: {changed:#?}");
        assert!(changed[0].starts_with("password:"), "{name}: {changed:#?}");
        let mut dec = sops(&sb, &key).unwrap();
        dec.args(["decrypt", name]);
        let plain_after = run_ok(dec, "sops decrypt after our set");
        assert_eq!(
            plain_after,
            plain_before.replace("password: hunter2", "password: changed"),
            "{name}"
        );
    }
}

/// The issue's example: an unrelated clear line keeps its text through our `set`.
#[test]
fn set_keeps_a_clear_date_and_an_escaped_emoji() {
    let sb = Sandbox::new();
    let key = sb.key("grace");
    let Some(_) = sops(&sb, &key) else { return };
    sb.write(
        "s.yaml",
        "expires_unencrypted: 2024-01-01T00:00:00Z\nemoji_unencrypted: \"\\U0001F511\"\npassword: x\n",
    );
    let mut enc = sops(&sb, &key).unwrap();
    enc.args(["encrypt", "-i", "--age", &key.public, "s.yaml"]);
    run_ok(enc, "sops encrypt");
    sb.cmd()
        .args(["set", "-I"])
        .arg(&key.file)
        .args(["s.yaml", "password", "y"])
        .assert()
        .success();
    let text = sb.read("s.yaml");
    assert!(
        text.starts_with(
            "expires_unencrypted: 2024-01-01T00:00:00Z\nemoji_unencrypted: \"\\U0001F511\"\npassword: ENC["
        ),
        "{text}"
    );
}

#[test]
fn binary_values_are_decoded_like_sops() {
    let sb = Sandbox::new();
    let key = sb.key("heidi");
    // 60 bytes that are not UTF-8: 80 characters of base64, written back over two lines.
    let raw: Vec<u8> = (0..60u8).map(|i| i.wrapping_mul(37) | 0x80).collect();
    use base64::Engine;
    let long = base64::engine::general_purpose::STANDARD.encode(&raw);
    let plain = format!(
        "a: !!binary aGVsbG8=\nb: !!binary /w==\nc: !!binary {long}\nd: !!binary |\n    aGVs\n    bG8=\ne: !!binary \"aGVsbG8gd29ybGQ=\"\nlist:\n    - !!binary /w==\n    - !!binary {long}\n"
    );
    let Some(trip) = Trip::new(&sb, &key, &plain) else {
        return;
    };
    let text = trip.same_text();
    assert!(
        text.starts_with("a: hello\nb: !!binary /w==\nc: !!binary |\n    "),
        "{text}"
    );
    assert!(text.contains("d: hello\ne: hello world\n"), "{text}");
    for file in ["theirs.yaml", "ours.yaml"] {
        let enc = sb.read(file);
        let values = &enc[..enc.find("\nsops:").unwrap()];
        let n = values.matches("type:str]").count();
        assert_eq!(n, 7, "{file}: every value is a str\n{enc}");
    }
    // Text that is not base64 is refused by both.
    sb.write("bad.yaml", "x: !!binary \"!!!\"\n");
    let theirs = sops(&sb, &key)
        .unwrap()
        .args(["encrypt", "--age", &key.public, "bad.yaml"])
        .output()
        .unwrap();
    assert!(!theirs.status.success());
    let ours = sb
        .std_cmd()
        .args(["encrypt", "--age", &key.public, "bad.yaml"])
        .output()
        .unwrap();
    assert!(!ours.status.success());
    let err = String::from_utf8_lossy(&ours.stderr);
    assert!(err.contains("line 1") && err.contains("base64"), "{err}");
}

/// Multi-line strings in lists: go-yaml indents the block two columns past the `-`.
#[test]
fn literal_blocks_in_lists_match_sops() {
    let sb = Sandbox::new();
    let key = sb.key("ivan");
    let plain =
        "l:\n    - \"x\\ny\"\n    - k: \"a\\nb\\n\"\n      m:\n          - \"t\\nu\\n\\n\"\n";
    let Some(trip) = Trip::new(&sb, &key, plain) else {
        return;
    };
    trip.same_text();
}
