//! The dotenv store: `KEY=VALUE` lines, `#` comments and blank lines, in order.
//!
//! **What is stored is the text sops stores**, so a file means the same to both tools
//! whichever one encrypted it: sops reads a dotenv file line by line, a line starting with
//! `#` is a comment, any other non-empty line must hold `=`, the key is everything before
//! the first `=` (kept exactly: the key is part of each value's additional data) and the
//! stored text everything after it, verbatim (quotes, escapes, inline comments, the `\r` of
//! a CRLF line), except that the two characters `\n` become a newline; on output newlines
//! become `\n` again. [`parse`], [`parse_sops`] and [`emit`] do exactly that, so `decrypt`
//! prints the lines that were encrypted, and they source as the original did.
//!
//! **What a value means** is separate: [`value_of`] reads a stored text the way dotenv
//! loaders (python-dotenv, docker compose) do, for the commands that hand out values (`get`,
//! `exec`, `export`): `"double quoted"` with `\n \t \r \" \\` escapes (other backslashes
//! kept), `'single quoted'` literally, or bare (trimmed, an inline ` #…` comment dropped, and,
//! as sops reads it, `\n` a newline). [`text_for`] is the inverse that `set` stores: bare
//! when that is safe for a shell too, else quoted.
//!
//! Differences from sops, all on reading: blank and whitespace-only lines are kept as
//! `Item::Blank` (sops drops empty lines and refuses whitespace-only ones); a comment line
//! indented with whitespace is a comment (sops refuses it, or takes it as a key when it holds
//! `=`; in an encrypted file we do the latter too, since the MAC covers it); an encrypted
//! file whose every line ends in `\r\n` (a checkout that converted line endings) is read
//! as if it had `\n`. A plaintext file is also checked on reading: a value that no dotenv
//! loader reads (an unclosed quote, text after the closing quote) is an error naming its
//! line and column, never its content.

use crate::model::tree::Leaf;
use crate::model::{Branch, Item, Node, Scalar, SecretText};
use crate::store::StoreError;
use zeroize::Zeroizing;

/// Parses a plaintext dotenv file: as sops does (see the module note), refusing values that
/// have no dotenv meaning.
pub fn parse<L: Leaf>(text: &str) -> Result<Branch<L>, StoreError> {
    parse_with(text, Mode::Plain)
}

/// Parses an encrypted dotenv file exactly as sops does (values are never checked).
pub fn parse_sops<L: Leaf>(text: &str) -> Result<Branch<L>, StoreError> {
    // A checkout with CRLF conversion turns every line of an encrypted file into `…\r\n`,
    // which sops itself never writes (its metadata lines end in `\n`): undo it.
    let converted = text.ends_with("\r\n")
        && text
            .split_terminator('\n')
            .all(|l| l.is_empty() || l.ends_with('\r'));
    if converted {
        return parse_with(&text.replace("\r\n", "\n"), Mode::Sops);
    }
    parse_with(text, Mode::Sops)
}

/// Emits a plaintext dotenv file: each value's stored text as sops writes it. Blank lines
/// are written with `\r\n` when the lines around them keep a `\r` (a CRLF file).
pub fn emit<L: Leaf>(branch: &Branch<L>) -> Result<SecretText, StoreError> {
    emit_with(branch, if is_crlf(branch) { "\r\n" } else { "\n" })
}

/// Emits an encrypted dotenv file exactly as sops does (`KEY=value`, newlines as `\n`);
/// fails for a value that sops could not read back unchanged (one holding a literal `\n`).
pub fn emit_sops<L: Leaf>(branch: &Branch<L>) -> Result<SecretText, StoreError> {
    emit_with(branch, "\n")
}

/// The variable name of a key: without an `export ` prefix and surrounding whitespace.
pub fn env_name(key: &str) -> &str {
    let key = key.trim();
    match key.strip_prefix("export") {
        Some(rest) if rest.starts_with([' ', '\t']) => rest.trim_start(),
        _ => key,
    }
}

/// Whether a key is a comment to dotenv loaders (`  # note=x`, which sops stores as a key
/// because it does not start with `#`): such a key is no variable.
pub fn is_comment_key(key: &str) -> bool {
    key.trim_start().starts_with('#')
}

/// The key as written for the variable `name`: a line `export NAME=…` is kept under the key
/// "export NAME" (as sops keeps it, so the additional data matches), while users address
/// it as NAME. An exact key wins; `name` itself when nothing matches.
pub fn key_as_written<'a, L>(branch: &'a Branch<L>, name: &'a str) -> &'a str {
    if branch.get(name).is_some() {
        return name;
    }
    branch
        .entries()
        .map(|(k, _)| k)
        .find(|k| env_name(k) == name)
        .unwrap_or(name)
}

/// The value a stored text means to dotenv loaders (see the module note); the error says
/// why there is none, without the text.
pub fn value_of(stored: &str) -> Result<Zeroizing<String>, &'static str> {
    line_value(&line_text(stored)).map_err(|(_, msg)| msg)
}

/// The stored text that means `value` (the inverse of [`value_of`]): bare when every
/// character is safe unquoted for a shell too, `'single quoted'` when the value holds no
/// `'`, `\`, or line break, else `"double quoted"` with `\\ \" \n \r` escapes. Written
/// into zeroizing buffers sized first (it is a value).
pub fn text_for(value: &str) -> Zeroizing<String> {
    let escaped = |c: char| matches!(c, '\\' | '"' | '\n' | '\r');
    let mut line = SecretText::with_capacity(value.len() + value.matches(escaped).count() + 2);
    if value.chars().all(bare_safe) {
        line.push_str(value);
    } else if !value.contains(['\'', '\\', '\n', '\r']) {
        line.push('\'');
        line.push_str(value);
        line.push('\'');
    } else {
        line.push('"');
        for c in value.chars() {
            match c {
                '\\' => line.push_str("\\\\"),
                '"' => line.push_str("\\\""),
                '\n' => line.push_str("\\n"),
                '\r' => line.push_str("\\r"),
                c => line.push(c),
            }
        }
        line.push('"');
    }
    Zeroizing::new(stored_text(&line))
}

/// Characters a value may hold unquoted: the same set for sh, python-dotenv and compose.
/// Beyond ASCII every character is a word character to sh, except the Unicode spaces and
/// controls, which python-dotenv and compose trim or split on (`\u{a0}`, `\u{3000}`, `\u{85}`).
fn bare_safe(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '_' | '-' | '.' | '/' | ':' | '@' | '%' | '+' | ',')
        || !(c.is_ascii() || c.is_whitespace() || c.is_control())
}

/// The text after `=` on a line as sops stores it: `\n` becomes a newline. (Sized first:
/// a plaintext value is parsed into a leaf that wipes it, and no reallocation leaves a
/// copy behind.)
fn stored_text(line: &str) -> String {
    replace_sized(line, "\\n", "\n")
}

/// The text after `=` on the line a stored text is written as (the inverse of
/// [`stored_text`]: a line holds no newline, and the pattern `\n` cannot overlap itself).
fn line_text(stored: &str) -> Zeroizing<String> {
    Zeroizing::new(replace_sized(stored, "\n", "\\n"))
}

/// Appends [`line_text`] to `out` without an intermediate copy.
fn push_line_text(out: &mut SecretText, stored: &str) {
    for (i, part) in stored.split('\n').enumerate() {
        if i > 0 {
            out.push_str("\\n");
        }
        out.push_str(part);
    }
}

/// `s.replace(from, to)` into a `String` of exactly the right size (counted first), so it
/// never reallocates.
fn replace_sized(s: &str, from: &str, to: &str) -> String {
    let n = s.matches(from).count();
    let mut out = String::with_capacity(s.len() - n * from.len() + n * to.len());
    let mut rest = s;
    while let Some(at) = rest.find(from) {
        out.push_str(&rest[..at]);
        out.push_str(to);
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

/// A value parse failure: a byte offset within the line text and a message.
type ValueError = (usize, &'static str);

const BLANK: [char; 2] = [' ', '\t'];

/// The value of the text after `=` on a line: double quoted with escapes, single quoted
/// literally, or bare (trimmed, inline comment dropped, `\n` a newline as sops reads it).
fn line_value(line: &str) -> Result<Zeroizing<String>, ValueError> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let body = line.trim_start_matches(BLANK);
    let start = line.len() - body.len();
    let (value, end) = if let Some(inner) = body.strip_prefix('"') {
        let (v, len) = parse_double_quoted(inner).map_err(|(c, m)| (start + c, m))?;
        (v, start + len)
    } else if let Some(inner) = body.strip_prefix('\'') {
        match inner.find('\'') {
            Some(close) => (
                Zeroizing::new(inner[..close].to_string()),
                start + 1 + close + 1,
            ),
            None => return Err((start, "single quote is not closed")),
        }
    } else {
        return Ok(Zeroizing::new(unquoted(body).replace("\\n", "\n")));
    };
    let rest = line[end..].trim_start_matches(BLANK);
    if rest.is_empty() || rest.starts_with('#') {
        Ok(value)
    } else {
        Err((end, "unexpected text after the closing quote"))
    }
}

/// A bare value without its inline comment (` #…`, `\t#…`) and trailing blanks.
fn unquoted(body: &str) -> &str {
    let bytes = body.as_bytes();
    let cut = (1..bytes.len())
        .find(|&i| bytes[i] == b'#' && matches!(bytes[i - 1], b' ' | b'\t'))
        .unwrap_or(bytes.len());
    body[..cut].trim_end_matches(BLANK)
}

/// The body of a double-quoted value (after the opening quote): its value and the byte
/// offset, within the text from the opening quote, just past the closing quote.
fn parse_double_quoted(body: &str) -> Result<(Zeroizing<String>, usize), ValueError> {
    let mut out = Zeroizing::new(String::new());
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, 1 + i + 1)),
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, other)) => {
                    out.push('\\');
                    out.push(other);
                }
                None => break,
            },
            c => out.push(c),
        }
    }
    Err((0, "double quote is not closed"))
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// A plaintext file: indented `#` lines are comments, values must have a meaning.
    Plain,
    /// An encrypted file: a line holding `=` is an entry unless it starts with `#`.
    Sops,
}

fn parse_with<L: Leaf>(text: &str, mode: Mode) -> Result<Branch<L>, StoreError> {
    let mut branch = Branch::new();
    for (idx, line) in text.split_terminator('\n').enumerate() {
        let lineno = idx + 1;
        let eq = line.find('=');
        let trimmed = line.trim_start();
        let comment = match mode {
            Mode::Plain => trimmed.strip_prefix('#'),
            Mode::Sops => line
                .strip_prefix('#')
                .or_else(|| trimmed.strip_prefix('#').filter(|_| eq.is_none())),
        };
        if line.trim().is_empty() {
            branch.items.push(Item::Blank);
        } else if let Some(comment) = comment {
            let text = L::from_scalar(Scalar::Comment(comment.to_string()));
            branch.items.push(Item::Comment {
                text,
                inline: false,
            });
        } else {
            let Some(eq) = eq else {
                return Err(StoreError::syntax(
                    lineno,
                    1,
                    "expected KEY=VALUE, found no '='",
                ));
            };
            let raw = &line[eq + 1..];
            if mode == Mode::Plain {
                line_value(raw).map_err(|(col, msg)| {
                    let column = line[..eq + 1 + col].chars().count() + 1;
                    let hint = if msg.ends_with("not closed") {
                        " on this line (a value cannot span lines: write \\n inside double quotes)"
                    } else {
                        ""
                    };
                    StoreError::syntax(lineno, column, format!("{msg}{hint}"))
                })?;
            }
            let leaf = Node::Leaf(L::from_scalar(Scalar::Str(stored_text(raw))));
            branch.items.push(Item::Entry {
                key: line[..eq].to_string(),
                value: leaf,
            });
        }
    }
    Ok(branch)
}

/// Whether a plaintext tree came from a CRLF file: an entry or comment keeps its `\r`.
fn is_crlf<L: Leaf>(branch: &Branch<L>) -> bool {
    branch.items.iter().any(|item| {
        let scalar = match item {
            Item::Comment { text, .. } => text.scalar(),
            Item::Entry {
                value: Node::Leaf(l),
                ..
            } => l.scalar(),
            _ => return false,
        };
        matches!(scalar, Scalar::Str(s) | Scalar::Comment(s) if s.ends_with('\r'))
    })
}

/// Writes every line straight into a [`SecretText`]: values are copied once, into it.
fn emit_with<L: Leaf>(branch: &Branch<L>, blank: &str) -> Result<SecretText, StoreError> {
    let mut out = SecretText::new();
    for item in &branch.items {
        match item {
            Item::Blank => out.push_str(blank),
            Item::Comment { text, .. } => {
                let mut owned = SecretText::new();
                let comment: &str = match text.scalar() {
                    Scalar::Comment(s) | Scalar::Str(s) => s,
                    other => {
                        other.write_text(&mut owned);
                        &owned
                    }
                };
                for line in comment.split('\n') {
                    out.push('#');
                    out.push_str(line);
                    out.push('\n');
                }
            }
            Item::Entry { key, value } => {
                check_key(key)?;
                let scalar = leaf_scalar(key, value)?;
                out.push_str(key);
                out.push('=');
                match scalar {
                    Scalar::Str(s) | Scalar::Time(s) | Scalar::Comment(s) => {
                        push_value(&mut out, key, s)?
                    }
                    Scalar::Bytes(b) | Scalar::RawStr(b) => {
                        let s = std::str::from_utf8(b).map_err(|_| {
                            StoreError::Unsupported(format!(
                                "dotenv key {key:?} holds bytes that are not UTF-8"
                            ))
                        })?;
                        push_value(&mut out, key, s)?
                    }
                    // Numbers, bools and null, as sops's dotenv output writes them (a
                    // float `1E+20`, `2.0`): no line break and no `\n` in their text.
                    other => other.write_sops_text(&mut out),
                }
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// Appends a value's line text; refuses one that would not read back as itself: a literal
/// `\n` (backslash, n), which sops reads as a newline ([`stored_text`] of [`line_text`] is
/// the value exactly when it holds none).
fn push_value(out: &mut SecretText, key: &str, value: &str) -> Result<(), StoreError> {
    if value.contains("\\n") {
        return Err(StoreError::Unsupported(format!(
            "the value of dotenv key {key:?} cannot be written without changing it \
             (it holds a literal \\n, which sops reads as a newline)"
        )));
    }
    push_line_text(out, value);
    Ok(())
}

/// Refuses keys that would not read back as the same key.
fn check_key(key: &str) -> Result<(), StoreError> {
    match key_problem(key) {
        None => Ok(()),
        Some(problem) => Err(StoreError::Unsupported(format!(
            "dotenv key {key:?} {problem}"
        ))),
    }
}

/// Why `key` cannot be a dotenv key (it would not read back as the same key), if it cannot.
pub fn key_problem(key: &str) -> Option<&'static str> {
    Some(if key.contains('=') {
        "contains '='"
    } else if key.contains(['\n', '\r']) {
        "contains a line break"
    } else if key.starts_with('#') {
        "starts with '#'"
    } else if !key.is_empty() && key.trim().is_empty() {
        "is only whitespace"
    } else {
        return None;
    })
}

/// The scalar of a leaf; nested values have no dotenv form.
fn leaf_scalar<'a, L: Leaf>(key: &str, value: &'a Node<L>) -> Result<&'a Scalar, StoreError> {
    match value {
        Node::Leaf(l) => Ok(l.scalar()),
        Node::Map(_) | Node::List(_) => Err(StoreError::Unsupported(format!(
            "dotenv files hold only flat KEY=VALUE pairs; key {key:?} has a nested value"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Sealed;
    use proptest::prelude::*;

    type Tree = Branch<Sealed>;

    fn val(stored: &str) -> Result<String, &'static str> {
        value_of(stored).map(|v| v.to_string())
    }

    fn str_of<'a>(t: &'a Tree, key: &str) -> &'a str {
        match t.get(key) {
            Some(Node::Leaf(Sealed(Scalar::Str(s)))) => s,
            other => panic!("{key}: {other:?}"),
        }
    }

    #[test]
    fn sops_3_11_dotenv_fixture_round_trips() {
        let text = include_str!("../../testdata/sops-fixtures/secret.enc.env");
        let t = parse_sops::<Sealed>(text).unwrap();
        assert!(str_of(&t, "DB_PASS").starts_with("ENC[AES256_GCM,"));
        assert_eq!(str_of(&t, "EMPTY"), "");
        assert!(str_of(&t, "sops_age__list_2__map_recipient").starts_with("ssh-ed25519 "));
        assert_eq!(emit_sops(&t).unwrap().as_str(), text);
        assert_eq!(
            emit(&parse::<Sealed>(text).unwrap()).unwrap().as_str(),
            text
        );
    }

    #[test]
    #[ignore = "needs ../shared/sops-fixtures (files of sops 3.7-3.9); .ci/run runs it when present"]
    fn sops_dotenv_fixture() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/sops-fixtures/secret.enc.env"
        );
        let text =
            std::fs::read_to_string(path).expect("../shared/sops-fixtures (older sops files)");
        for t in [
            parse::<Sealed>(&text).unwrap(),
            parse_sops::<Sealed>(&text).unwrap(),
        ] {
            let keys: Vec<_> = t.entries().map(|(k, _)| k).collect();
            assert_eq!(
                keys[..3],
                ["secret", "another_secret", "sops_age__list_0__map_enc"]
            );
            assert!(keys.contains(&"sops_mac") && keys.contains(&"sops_version"));
            let enc = str_of(&t, "sops_age__list_0__map_enc");
            assert!(enc.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
            assert!(enc.ends_with("-----END AGE ENCRYPTED FILE-----\n"));
            assert!(str_of(&t, "secret").starts_with("ENC[AES256_GCM,"));
            assert_eq!(emit_sops(&t).unwrap().as_str(), text);
            assert_eq!(emit(&t).unwrap().as_str(), text);
        }
    }

    /// What sops 3.11 stores for each line (checked with `sops decrypt --extract`), and
    /// what the value means (checked with python-dotenv 1.2.2, `interpolate=False`).
    const LINES: &[(&str, &str, &str)] = &[
        ("A=\"p@ss word\"", "\"p@ss word\"", "p@ss word"),
        ("A=abc # note", "abc # note", "abc"),
        ("A=abc#no-note", "abc#no-note", "abc#no-note"),
        ("A=a\t#c", "a\t#c", "a"),
        ("A= #x", " #x", "#x"),
        ("A='lit $x \\n y'", "'lit $x \n y'", "lit $x \\n y"),
        (
            "A=\"a\\nb \\\"q\\\" \\\\ end\"",
            "\"a\nb \\\"q\\\" \\\\ end\"",
            "a\nb \"q\" \\ end",
        ),
        ("A=\"a\\\\nb\"", "\"a\\\nb\"", "a\\nb"),
        ("A=\"x\" # c", "\"x\" # c", "x"),
        ("A=  spaced  ", "  spaced  ", "spaced"),
        ("A= \"x\" ", " \"x\" ", "x"),
        ("A=\"\\r\\t\\$\"", "\"\\r\\t\\$\"", "\r\t\\$"),
        ("A=plain\r", "plain\r", "plain"),
        ("A=\"x\"\r", "\"x\"\r", "x"),
        ("A='q'\r", "'q'\r", "q"),
        ("A=", "", ""),
        ("A=\"\"", "\"\"", ""),
        ("A=''", "''", ""),
        ("A=a\"b", "a\"b", "a\"b"),
        ("A=a=b=c", "a=b=c", "a=b=c"),
        ("A=#", "#", "#"),
        // Where we follow sops, not python-dotenv (which keeps `\n` literally here).
        ("A=a\\nb", "a\nb", "a\nb"),
    ];

    #[test]
    fn stored_text_is_sops_and_value_is_dotenv() {
        for (line, stored, value) in LINES {
            for t in [
                parse::<Sealed>(line).unwrap(),
                parse_sops::<Sealed>(line).unwrap(),
            ] {
                assert_eq!(str_of(&t, "A"), *stored, "{line:?}");
                assert_eq!(emit(&t).unwrap().as_str(), format!("{line}\n"), "{line:?}");
            }
            assert_eq!(val(stored), Ok(value.to_string()), "{line:?}");
            assert_eq!(val(&text_for(value)), Ok(value.to_string()));
        }
    }

    #[test]
    fn comments_blanks_export_and_crlf_are_kept() {
        let text = "# top\n\nexport A=1\n  # indented\n   \nSP = spaced \n#last";
        let t: Tree = parse(text).unwrap();
        assert!(
            matches!(&t.items[0], Item::Comment { text: Sealed(Scalar::Comment(c)), inline: false } if c == " top")
        );
        assert!(matches!(t.items[1], Item::Blank));
        assert!(matches!(t.items[4], Item::Blank));
        assert_eq!(str_of(&t, "export A"), "1");
        assert_eq!(str_of(&t, "SP "), " spaced ");
        assert_eq!(env_name("export A"), "A");
        assert_eq!(env_name(" SP "), "SP");
        assert_eq!(env_name("exportX"), "exportX");
        assert_eq!(key_as_written(&t, "A"), "export A");
        assert_eq!(key_as_written(&t, "export A"), "export A");
        assert_eq!(key_as_written(&t, "Z"), "Z");
        assert_eq!(
            emit(&t).unwrap(),
            "# top\n\nexport A=1\n# indented\n\nSP = spaced \n#last\n"
        );
        // CRLF: every `\r` is part of the stored text, as in sops; blank lines follow suit.
        let crlf = "# c\r\nA=\"x y\"\r\n\r\nB=plain\r\n";
        let t: Tree = parse(crlf).unwrap();
        assert_eq!(str_of(&t, "A"), "\"x y\"\r");
        assert_eq!(val(str_of(&t, "A")).unwrap(), "x y");
        assert_eq!(emit(&t).unwrap(), crlf);
        assert_eq!(emit_sops(&t).unwrap(), "# c\r\nA=\"x y\"\r\n\nB=plain\r\n");
    }

    #[test]
    fn encrypted_files_read_exactly_as_sops_reads_them() {
        // An indented comment holding '=' is a key to sops (and in its MAC).
        let t: Tree = parse_sops("  # a=ENC[x]\n  # plain note\n#c=1\n").unwrap();
        assert_eq!(str_of(&t, "  # a"), "ENC[x]");
        assert!(is_comment_key("  # a") && !is_comment_key("A"));
        assert!(matches!(&t.items[1], Item::Comment { .. }));
        assert!(matches!(&t.items[2], Item::Comment { .. }));
        assert_eq!(emit_sops(&t).unwrap(), "  # a=ENC[x]\n# plain note\n#c=1\n");
        // A file whose line endings a checkout converted to CRLF reads as written.
        let t: Tree = parse_sops("A=ENC[x]\r\nsops_version=3.11.0\r\n").unwrap();
        assert_eq!(str_of(&t, "A"), "ENC[x]");
        assert_eq!(str_of(&t, "sops_version"), "3.11.0");
        // One CRLF line among LF lines is a value's own `\r`.
        let t: Tree = parse_sops("A_unencrypted=x\r\nsops_version=3.11.0\n").unwrap();
        assert_eq!(str_of(&t, "A_unencrypted"), "x\r");
    }

    #[test]
    fn values_written_by_earlier_versions_keep_their_meaning() {
        // Earlier versions stored the unquoted, unescaped value.
        for v in [
            "p@ss word",
            "a\nb",
            "q\"x",
            "a\\b",
            "tab\there",
            "x=y",
            "$HOME",
            "",
        ] {
            assert_eq!(val(v), Ok(v.to_string()), "{v:?}");
        }
        // The documented exceptions.
        assert_eq!(val(" spaced ").unwrap(), "spaced");
        assert_eq!(val("abc # not a comment").unwrap(), "abc");
        assert_eq!(val("'quoted'").unwrap(), "quoted");
        assert_eq!(val("a\\nb").unwrap(), "a\nb");
    }

    #[test]
    fn text_for_quotes_only_when_needed() {
        for (value, text) in [
            ("plain-value_1.2:3@x/y%z+w,v", "plain-value_1.2:3@x/y%z+w,v"),
            ("", ""),
            ("p@ss word", "'p@ss word'"),
            ("$HOME ${X} `cmd` \"q\" # c", "'$HOME ${X} `cmd` \"q\" # c'"),
            ("it's", "\"it's\""),
            ("a\\nb", "\"a\\\nb\""),
            ("line1\nline2\r", "\"line1\nline2\\r\""),
            ("s3t-välue 日本語", "'s3t-välue 日本語'"),
            ("s3t-välue🔑", "s3t-välue🔑"),
            ("a\u{a0}b", "'a\u{a0}b'"),
            ("\u{2028}", "'\u{2028}'"),
            ("x\u{85}", "'x\u{85}'"),
        ] {
            assert_eq!(text_for(value).as_str(), text, "{value:?}");
        }
    }

    #[test]
    fn errors_name_the_line_never_the_value() {
        let mut t = Tree::new();
        t.insert("I".into(), Node::Leaf(Sealed(Scalar::Int(7))));
        t.insert("F".into(), Node::Leaf(Sealed(Scalar::Float(3.5))));
        t.insert("B".into(), Node::Leaf(Sealed(Scalar::Bool(true))));
        assert_eq!(emit(&t).unwrap(), "I=7\nF=3.5\nB=true\n");
        t.insert("nested".into(), Node::Map(Branch::new()));
        let e = emit(&t).unwrap_err().to_string();
        assert!(e.contains("\"nested\""), "{e}");
        let mut t = Tree::new();
        t.insert("K".into(), Node::Leaf(Sealed(Scalar::Str("a\\nb".into()))));
        assert!(emit_sops(&t).is_err() && emit(&t).is_err());
        for (text, line, column) in [
            ("A=1\nsecret-value\n", 2, 1),
            ("A=\"secret-value\n", 1, 3),
            ("\n\nA='secret-value\n", 3, 3),
            ("A=\"secret\" trailing\n", 1, 11),
            ("A=\"secret\ncontinued\"\n", 1, 3),
        ] {
            let e = parse::<Sealed>(text).unwrap_err();
            assert!(
                matches!(e, StoreError::Syntax { line: l, column: c, .. } if l == line && c == column),
                "{text:?}: {e}"
            );
            assert!(!e.to_string().contains("secret"), "{e}");
        }
        assert_eq!(val("\"secret").unwrap_err(), "double quote is not closed");
        let e = parse::<Sealed>("A='x\n").unwrap_err().to_string();
        assert!(e.ends_with("single quote is not closed on this line (a value cannot span lines: write \\n inside double quotes)"), "{e}");
    }

    fn arb_tree() -> impl Strategy<Value = Tree> {
        let item = prop_oneof![
            Just(Item::Blank),
            "[^\n\r]*".prop_map(|c| Item::Comment {
                text: Sealed(Scalar::Comment(c)),
                inline: false
            }),
            ("(export )?[A-Za-z_][A-Za-z0-9_]{0,8}", any::<String>()).prop_map(|(key, v)| {
                Item::Entry {
                    key,
                    value: Node::Leaf(Sealed(Scalar::Str(text_for(&v).to_string()))),
                }
            }),
        ];
        prop::collection::vec(item, 0..8).prop_map(|items| Branch { items })
    }

    proptest! {
        #[test]
        fn parsers_never_panic(text in any::<String>()) {
            let _ = parse::<Sealed>(&text);
            let _ = parse_sops::<Sealed>(&text);
            let _ = val(&text);
        }

        #[test]
        fn parsers_never_panic_on_envish(text in "[A-Z=\"'\\\\n# \t\r\n]{0,40}") {
            let _ = parse::<Sealed>(&text);
            let _ = parse_sops::<Sealed>(&text);
            let _ = val(&text);
        }

        #[test]
        fn text_for_means_the_value(v in any::<String>()) {
            prop_assert_eq!(val(&text_for(&v)), Ok(v));
        }

        #[test]
        fn emit_then_parse_round_trips(t in arb_tree()) {
            let out = emit(&t).unwrap();
            prop_assert_eq!(parse::<Sealed>(&out).unwrap(), t.clone());
            let out = emit_sops(&t).unwrap();
            prop_assert_eq!(parse_sops::<Sealed>(&out).unwrap(), t);
        }
    }
}
