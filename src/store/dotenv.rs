//! The dotenv store: `KEY=VALUE` lines, `#` comments and blank lines, in order.
//!
//! sops reads a dotenv file line by line: a line starting with `#` is a comment, any other
//! non-empty line must hold `=`, the key is everything before the first `=` (kept exactly,
//! which matters because the key is part of each value's additional data), the value
//! everything after it, with the two characters `\n` turned into a newline; on output
//! newlines become `\n` again. [`parse_sops`] and [`emit_sops`] do exactly that and are meant
//! for encrypted files, whose values sops must read back unchanged.
//!
//! [`parse`] and [`emit`] are for plaintext files and add what dotenv users expect on top:
//! `"double quoted"` values with `\n \t \r \" \\` escapes, `'single quoted'` literal values,
//! and quoting on output whenever a bare value would not read back the same (surrounding
//! whitespace, a leading quote, a literal `\n`, a carriage return, ` #`). An `export ` prefix
//! stays part of the key, so sops round-trips it; [`env_name`] strips it.
//!
//! Both modes keep blank lines as `Item::Blank` (sops drops them), accept comment lines
//! indented with whitespace, and strip a `\r` before each line break so CRLF files work.
//! Errors name the line, never its content.

use crate::model::tree::{format_go_float, Leaf};
use crate::model::{Branch, Item, Node, Scalar};
use crate::store::StoreError;

/// Parses a plaintext dotenv file (quoted values understood).
pub fn parse<L: Leaf>(text: &str) -> Result<Branch<L>, StoreError> {
    parse_with(text, parse_value)
}

/// Parses a dotenv file exactly as sops does (values are never unquoted).
pub fn parse_sops<L: Leaf>(text: &str) -> Result<Branch<L>, StoreError> {
    parse_with(text, |raw| Ok(unescape_newlines(raw)))
}

/// Emits a plaintext dotenv file, quoting values only where needed.
pub fn emit<L: Leaf>(branch: &Branch<L>) -> Result<String, StoreError> {
    emit_with(branch, |v| Some(format_value(v)))
}

/// Emits a dotenv file exactly as sops does (`KEY=value`, newlines as `\n`); fails for a
/// value that sops could not read back unchanged (one holding a literal `\n`).
pub fn emit_sops<L: Leaf>(branch: &Branch<L>) -> Result<String, StoreError> {
    emit_with(branch, |v| {
        let out = v.replace('\n', "\\n");
        (unescape_newlines(&out) == v && !v.contains('\r')).then_some(out)
    })
}

/// The variable name of a key: without an `export ` prefix and surrounding whitespace.
pub fn env_name(key: &str) -> &str {
    let key = key.trim();
    match key.strip_prefix("export") {
        Some(rest) if rest.starts_with([' ', '\t']) => rest.trim_start(),
        _ => key,
    }
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

/// A value parse failure: a column offset within the value text and a message.
type ValueError = (usize, &'static str);

fn parse_with<L: Leaf>(
    text: &str,
    value: impl Fn(&str) -> Result<String, ValueError>,
) -> Result<Branch<L>, StoreError> {
    let mut branch = Branch::new();
    for (idx, line) in text.split_terminator('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let lineno = idx + 1;
        if line.trim().is_empty() {
            branch.items.push(Item::Blank);
        } else if let Some(comment) = line.trim_start().strip_prefix('#') {
            let text = L::from_scalar(Scalar::Comment(comment.to_string()));
            branch.items.push(Item::Comment {
                text,
                inline: false,
            });
        } else {
            let Some(eq) = line.find('=') else {
                return Err(StoreError::syntax(
                    lineno,
                    1,
                    "expected KEY=VALUE, found no '='",
                ));
            };
            let raw = &line[eq + 1..];
            let v = value(raw).map_err(|(col, msg)| {
                let column = line[..eq + 1 + col].chars().count() + 1;
                StoreError::syntax(lineno, column, msg)
            })?;
            let leaf = Node::Leaf(L::from_scalar(Scalar::Str(v)));
            branch.items.push(Item::Entry {
                key: line[..eq].to_string(),
                value: leaf,
            });
        }
    }
    Ok(branch)
}

fn unescape_newlines(raw: &str) -> String {
    raw.replace("\\n", "\n")
}

/// A value after `=`: double quoted with escapes, single quoted literally, or bare.
fn parse_value(raw: &str) -> Result<String, ValueError> {
    let (value, rest_at) = if let Some(body) = raw.strip_prefix('"') {
        parse_double_quoted(body)?
    } else if let Some(body) = raw.strip_prefix('\'') {
        match body.find('\'') {
            Some(end) => (body[..end].to_string(), 1 + end + 1),
            None => return Err((0, "single quote is not closed on this line")),
        }
    } else {
        return Ok(unescape_newlines(raw));
    };
    let rest = &raw[rest_at..];
    let trimmed = rest.trim_start();
    if trimmed.is_empty() {
        Ok(value)
    } else if trimmed.starts_with('#') {
        let col = rest_at + rest.len() - trimmed.len();
        Err((
            col,
            "comments after a quoted value are not supported; put the comment on its own line",
        ))
    } else {
        Err((rest_at, "unexpected text after the closing quote"))
    }
}

/// The body of a double-quoted value (after the opening quote): its value and the byte
/// offset, within the whole raw value, just past the closing quote.
fn parse_double_quoted(body: &str) -> Result<(String, usize), ValueError> {
    let mut out = String::new();
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
    Err((0, "double quote is not closed on this line"))
}

/// A value as sops writes it when that reads back the same, else double quoted.
fn format_value(v: &str) -> String {
    let bare = v.replace('\n', "\\n");
    let risky = bare.starts_with(char::is_whitespace)
        || bare.ends_with(char::is_whitespace)
        || v.starts_with(['"', '\''])
        || v.contains("\\n")
        || v.contains('\r')
        || v.contains(" #");
    if !risky && parse_value(&bare).as_deref() == Ok(v) {
        return bare;
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn emit_with<L: Leaf>(
    branch: &Branch<L>,
    format: impl Fn(&str) -> Option<String>,
) -> Result<String, StoreError> {
    let mut out = String::new();
    for item in &branch.items {
        match item {
            Item::Blank => out.push('\n'),
            Item::Comment { text, .. } => {
                for line in text.scalar().to_text().split('\n') {
                    out.push('#');
                    out.push_str(line);
                    out.push('\n');
                }
            }
            Item::Entry { key, value } => {
                check_key(key)?;
                let text = value_text(key, value)?;
                let written = format(&text).ok_or_else(|| {
                    StoreError::Unsupported(format!(
                        "the value of dotenv key {key:?} cannot be written without changing it \
                         (it holds a literal \\n or a carriage return)"
                    ))
                })?;
                out.push_str(key);
                out.push('=');
                out.push_str(&written);
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// Refuses keys that would not read back as the same key.
fn check_key(key: &str) -> Result<(), StoreError> {
    let problem = if key.contains('=') {
        "contains '='"
    } else if key.contains(['\n', '\r']) {
        "contains a line break"
    } else if key.trim_start().starts_with('#') {
        "starts with '#'"
    } else if !key.is_empty() && key.trim().is_empty() {
        "is only whitespace"
    } else {
        return Ok(());
    };
    Err(StoreError::Unsupported(format!(
        "dotenv key {key:?} {problem}"
    )))
}

/// The text of a leaf; nested values have no dotenv form.
fn value_text<L: Leaf>(key: &str, value: &Node<L>) -> Result<String, StoreError> {
    let scalar = match value {
        Node::Leaf(l) => l.scalar(),
        Node::Map(_) | Node::List(_) => {
            return Err(StoreError::Unsupported(format!(
                "dotenv files hold only flat KEY=VALUE pairs; key {key:?} has a nested value"
            )))
        }
    };
    Ok(match scalar {
        Scalar::Str(s) | Scalar::Time(s) | Scalar::Comment(s) => s.clone(),
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => format_go_float(*f),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Null => String::new(),
        Scalar::Bytes(b) | Scalar::RawStr(b) => String::from_utf8(b.clone()).map_err(|_| {
            StoreError::Unsupported(format!("dotenv key {key:?} holds bytes that are not UTF-8"))
        })?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Sealed;
    use proptest::prelude::*;

    type Tree = Branch<Sealed>;

    fn str_of<'a>(t: &'a Tree, key: &str) -> &'a str {
        match t.get(key) {
            Some(Node::Leaf(Sealed(Scalar::Str(s)))) => s,
            other => panic!("{key}: {other:?}"),
        }
    }

    #[test]
    fn sops_dotenv_fixture() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/sops-fixtures/secret.enc.env"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("skipping: sops fixture {path} not found");
            return;
        };
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
            assert_eq!(emit_sops(&t).unwrap(), text);
            assert_eq!(emit(&t).unwrap(), text);
            assert_eq!(parse::<Sealed>(&emit(&t).unwrap()).unwrap(), t);
        }
    }

    #[test]
    fn comments_blanks_export_and_quotes() {
        let text = "# top\n\nexport A=1\nB=\"two words\\n\\t\\\"q\\\" \\\\\"\nC='lit \\n $x'\n  # indented\nD= spaced \nE=a\\nb\r\n";
        let t: Tree = parse(text).unwrap();
        assert!(
            matches!(&t.items[0], Item::Comment { text: Sealed(Scalar::Comment(c)), inline: false } if c == " top")
        );
        assert!(matches!(t.items[1], Item::Blank));
        assert_eq!(str_of(&t, "export A"), "1");
        assert_eq!(env_name("export A"), "A");
        assert_eq!(env_name("B"), "B");
        assert_eq!(env_name("exportX"), "exportX");
        assert_eq!(key_as_written(&t, "A"), "export A");
        assert_eq!(key_as_written(&t, "export A"), "export A");
        assert_eq!(key_as_written(&t, "Z"), "Z");
        assert_eq!(str_of(&t, "B"), "two words\n\t\"q\" \\");
        assert_eq!(str_of(&t, "C"), "lit \\n $x");
        assert_eq!(str_of(&t, "D"), " spaced ");
        assert_eq!(str_of(&t, "E"), "a\nb");
        let out = emit(&t).unwrap();
        assert!(
            out.contains("export A=1\n") && out.contains("E=a\\nb\n"),
            "{out}"
        );
        assert_eq!(parse::<Sealed>(&out).unwrap(), t);
        // sops mode keeps quotes as part of the value.
        let s: Tree = parse_sops("K=\"x\"\n").unwrap();
        assert_eq!(str_of(&s, "K"), "\"x\"");
        assert_eq!(emit_sops(&s).unwrap(), "K=\"x\"\n");
    }

    #[test]
    fn non_strings_and_errors() {
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
        assert!(emit_sops(&t).is_err());
        assert_eq!(emit(&t).unwrap(), "K=\"a\\\\nb\"\n");
        for (text, line) in [
            ("A=1\nsecret-value\n", 2),
            ("A=\"secret-value\n", 1),
            ("\n\nA='secret-value\n", 3),
            ("A=\"secret\" trailing\n", 1),
            ("A=\"secret\" # note\n", 1),
        ] {
            let e = parse::<Sealed>(text).unwrap_err();
            assert!(
                matches!(e, StoreError::Syntax { line: l, .. } if l == line),
                "{text:?}: {e}"
            );
            assert!(!e.to_string().contains("secret"), "{e}");
        }
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
                    value: Node::Leaf(Sealed(Scalar::Str(v))),
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
        }

        #[test]
        fn parsers_never_panic_on_envish(text in "[A-Z=\"'\\\\n# \t\r\n]{0,40}") {
            let _ = parse::<Sealed>(&text);
            let _ = parse_sops::<Sealed>(&text);
        }

        #[test]
        fn emit_then_parse_round_trips(t in arb_tree()) {
            let out = emit(&t).unwrap();
            prop_assert_eq!(parse::<Sealed>(&out).unwrap(), t.clone());
            if let Ok(out) = emit_sops(&t) {
                prop_assert_eq!(parse_sops::<Sealed>(&out).unwrap(), t);
            }
        }
    }
}
