//! The INI store: sections of `key = value` pairs, read and written the way sops does with
//! go-ini (`gopkg.in/ini.v1`, default options plus non-unique sections).
//!
//! The tree has one entry per section, in file order (a section may repeat), whose value is
//! the map of its keys. Keys before any `[section]` header belong to the implicit `DEFAULT`
//! section, which is written back without a header when it comes first (as go-ini does);
//! unlike sops we leave an empty `DEFAULT` out of the tree.
//!
//! Comments follow sops's placement, which matters because comments are encrypted with their
//! section as additional data: consecutive comment lines (`;` or `#`) form one comment, with
//! its first marker stripped and later lines kept as written. A comment before a section
//! header is the first item of that section's map; a comment before a key, and an inline
//! comment after a value, is a comment item placed right *after* that key. On output each
//! comment is written back before its section or key so that it reads back as the same text
//! (`; ` before the first line, later lines as written; go-ini, and so `sops decrypt`, puts
//! one space after each later line's marker and trims it; see [`write_comment`]). Comments
//! at the end
//! of the file belong to nothing: sops drops them, and so does [`parse`] (encrypted files),
//! while [`parse_plain`] refuses them, as it refuses a key repeated in a section (go-ini keeps
//! the last value): a file to encrypt must not lose anything silently. Blank lines are not
//! kept (one blank line is written between sections).
//!
//! Values are trimmed; a value is cut at the first `#` or `;` (the rest is an inline
//! comment), surrounding `'` or `"` quotes are removed, backquoted and `"""` triple-quoted
//! values (which may span lines) are taken literally, and a trailing `\` continues the value
//! on the next line, all as in go-ini. On output a value is quoted only when its bare form
//! would not read back the same; `=` signs are aligned within a section like go-ini. One
//! small difference: a key named `-` is kept as `-` (go-ini renames it `#1`, `#2`, ...).

use crate::model::tree::{format_go_float, Leaf};
use crate::model::{Branch, Item, Node, Scalar};
use crate::store::StoreError;

/// The name of the section holding keys that precede every header.
pub const DEFAULT_SECTION: &str = "DEFAULT";

/// Parses an INI file into a branch of sections, as sops does (for encrypted files).
pub fn parse<L: Leaf>(text: &str) -> Result<Branch<L>, StoreError> {
    parse_with(text, false)
}

/// Parses a plaintext INI file to encrypt: as [`parse`], but what sops's INI format would
/// silently lose is an error naming its line: a comment after the last key of the file, and
/// a key repeated in one section (go-ini keeps only the last value, and its comment).
pub fn parse_plain<L: Leaf>(text: &str) -> Result<Branch<L>, StoreError> {
    parse_with(text, true)
}

fn parse_with<L: Leaf>(text: &str, strict: bool) -> Result<Branch<L>, StoreError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut p = Parser::<L> {
        strict,
        comment_line: 0,
        lines: text
            .split_terminator('\n')
            // Every trailing CR: a lone `\r` kept in a comment could not be written back.
            .map(|l| l.trim_end_matches('\r'))
            .collect(),
        next: 0,
        comment: String::new(),
        sections: vec![(DEFAULT_SECTION.to_string(), Vec::new())],
    };
    p.run()?;
    if strict && !p.comment.trim().is_empty() {
        return Err(StoreError::syntax(
            p.comment_line,
            1,
            "a comment after the last key is not kept (sops's INI format drops it); \
             move it above a key or a section header",
        ));
    }
    let mut sections = p.sections;
    if sections[0].1.is_empty() {
        sections.remove(0);
    }
    Ok(Branch {
        items: sections
            .into_iter()
            .map(|(key, items)| Item::Entry {
                key,
                value: Node::Map(Branch { items }),
            })
            .collect(),
    })
}

/// Emits a branch of sections as an INI file.
pub fn emit<L: Leaf>(branch: &Branch<L>) -> Result<String, StoreError> {
    let mut out = String::new();
    let mut written = 0;
    for (name, node) in branch.entries() {
        let Node::Map(section) = node else {
            return Err(StoreError::Unsupported(format!(
                "INI files hold only sections at the top level; key {name:?} is not a section"
            )));
        };
        let mut text = String::new();
        if write_section(&mut text, name, section, written == 0)? {
            if written > 0 {
                out.push('\n');
            }
            out.push_str(&text);
            written += 1;
        }
    }
    Ok(out)
}

/// Line-by-line state: pending comment lines and the sections read so far.
struct Parser<'a, L> {
    /// Refuse what sops's INI format would lose (see [`parse_plain`]).
    strict: bool,
    /// The line where the pending comment starts.
    comment_line: usize,
    lines: Vec<&'a str>,
    next: usize,
    comment: String,
    sections: Vec<(String, Vec<Item<L>>)>,
}

impl<'a, L: Leaf> Parser<'a, L> {
    fn next_line(&mut self) -> Option<&'a str> {
        let line = self.lines.get(self.next).copied();
        self.next += 1;
        line
    }

    fn run(&mut self) -> Result<(), StoreError> {
        while let Some(raw) = self.next_line() {
            let lineno = self.next;
            let line = raw.trim_start();
            if line.is_empty() {
                continue;
            }
            let column = raw.len() - line.len() + 1;
            let err = |msg: &str| StoreError::syntax(lineno, column, msg);
            if line.starts_with(['#', ';']) {
                if self.comment.is_empty() {
                    self.comment_line = lineno;
                }
                self.comment.push_str(line);
                self.comment.push('\n');
            } else if line.starts_with('[') {
                let close = line
                    .rfind(']')
                    .ok_or_else(|| err("section header has no closing ']'"))?;
                let name = &line[1..close];
                if name.is_empty() {
                    return Err(err("empty section name"));
                }
                if let Some(i) = line[close + 1..].find(['#', ';']) {
                    self.comment.push_str(&line[close + 1 + i..]);
                }
                let mut items = Vec::new();
                if let Some(c) = self.take_comment() {
                    items.push(c);
                }
                self.sections.push((name.to_string(), items));
            } else {
                let (key, offset) = read_key(line).map_err(err)?;
                if self.strict && self.has_key(&key) {
                    return Err(err(
                        "this key repeats an earlier key of its section; sops's INI format \
                         keeps only the last value: remove one",
                    ));
                }
                let value = self.read_value(&line[offset..]).map_err(err)?;
                self.add_key(key, value);
            }
        }
        Ok(())
    }

    /// Whether the current section already has `key`.
    fn has_key(&self, key: &str) -> bool {
        let items = &self.sections.last().expect("DEFAULT always exists").1;
        items
            .iter()
            .any(|i| matches!(i, Item::Entry { key: k, .. } if k == key))
    }

    /// The pending comment as sops stores it, if there is one.
    fn take_comment(&mut self) -> Option<Item<L>> {
        let text = self.comment.trim();
        let item = (!text.is_empty()).then(|| Item::Comment {
            text: L::from_scalar(Scalar::Comment(strip_comment_char(text).to_string())),
            inline: false,
        });
        self.comment.clear();
        item
    }

    /// Adds a key to the current section; a repeated key takes the new value (and comment)
    /// in its first position, as go-ini does.
    fn add_key(&mut self, key: String, value: String) {
        let comment = self.take_comment();
        let items = &mut self.sections.last_mut().expect("DEFAULT always exists").1;
        let leaf = Node::Leaf(L::from_scalar(Scalar::Str(value)));
        let existing = items
            .iter()
            .position(|i| matches!(i, Item::Entry { key: k, .. } if *k == key));
        let at = match existing {
            Some(at) => {
                items[at] = Item::Entry { key, value: leaf };
                if matches!(items.get(at + 1), Some(Item::Comment { .. })) {
                    items.remove(at + 1);
                }
                at
            }
            None => {
                items.push(Item::Entry { key, value: leaf });
                items.len() - 1
            }
        };
        if let Some(c) = comment {
            items.insert(at + 1, c);
        }
    }

    /// go-ini's `readValue`: `rest` is the text after the delimiter.
    fn read_value(&mut self, rest: &str) -> Result<String, &'static str> {
        let line = rest.trim_start();
        if line.is_empty() {
            return Ok(String::new());
        }
        let quote = if line.len() >= 3 && line.starts_with("\"\"\"") {
            "\"\"\""
        } else if line.starts_with('`') {
            "`"
        } else {
            ""
        };
        if !quote.is_empty() {
            let body = &line[quote.len()..];
            return match body.rfind(quote) {
                Some(end) => Ok(body[..end].to_string()),
                None => self.read_multiline(body, quote),
            };
        }
        let mut line = line.trim_end();
        if let Some(head) = line.strip_suffix('\\') {
            return Ok(self.read_continuation(head));
        }
        if let Some(i) = line.find(['#', ';']) {
            self.comment.push_str(&line[i..]);
            line = line[..i].trim();
        }
        for q in ['\'', '"'] {
            if line.len() >= 2
                && line.starts_with(q)
                && line.ends_with(q)
                && !line[1..line.len() - 1].contains(q)
            {
                line = &line[1..line.len() - 1];
            }
        }
        Ok(line.to_string())
    }

    /// A quoted value whose closing quote is on a later line.
    fn read_multiline(&mut self, first: &str, quote: &str) -> Result<String, &'static str> {
        let mut value = format!("{first}\n");
        while let Some(next) = self.next_line() {
            if let Some(end) = next.rfind(quote) {
                value.push_str(&next[..end]);
                if let Some(i) = next[end..].find(['#', ';']) {
                    self.comment.push_str(next[end + i..].trim());
                }
                return Ok(value);
            }
            value.push_str(next);
            value.push('\n');
        }
        Err("quoted value is not closed before the end of the file")
    }

    /// Lines continued with a trailing backslash.
    fn read_continuation(&mut self, head: &str) -> String {
        let mut value = head.to_string();
        while let Some(next) = self.next_line() {
            let next = next.trim();
            if next.is_empty() {
                break;
            }
            value.push_str(next);
            match value.strip_suffix('\\') {
                Some(v) => value.truncate(v.len()),
                None => break,
            }
        }
        value
    }
}

/// go-ini's `readKeyName`: the key and the offset just past its delimiter (`=` or `:`).
fn read_key(line: &str) -> Result<(String, usize), &'static str> {
    let quote = if line.len() >= 6 && line.starts_with("\"\"\"") {
        "\"\"\""
    } else if line.starts_with('"') {
        "\""
    } else if line.starts_with('`') {
        "`"
    } else {
        ""
    };
    if !quote.is_empty() {
        let start = quote.len();
        let end = start + line[start..].find(quote).ok_or("key quote is not closed")?;
        let delim = line[end + start..]
            .find(['=', ':'])
            .ok_or("expected key = value")?;
        return Ok((line[start..end].trim().to_string(), end + start + delim + 1));
    }
    match line.find(['=', ':']) {
        None => Err("expected key = value"),
        Some(0) => Err("empty key name"),
        Some(i) => Ok((line[..i].trim().to_string(), i + 1)),
    }
}

/// sops's `stripCommentChar`: drops the leading marker (and spaces) of the first line.
fn strip_comment_char(comment: &str) -> &str {
    if comment.starts_with(';') {
        comment.trim_start_matches([';', ' '])
    } else if comment.starts_with('#') {
        comment.trim_start_matches(['#', ' '])
    } else {
        comment
    }
}

/// Writes one section; returns false when there was nothing to write (empty leading
/// `DEFAULT`, which go-ini skips).
fn write_section<L: Leaf>(
    out: &mut String,
    name: &str,
    section: &Branch<L>,
    first: bool,
) -> Result<bool, StoreError> {
    let lead = section
        .items
        .iter()
        .take_while(|i| !matches!(i, Item::Entry { .. }));
    let lead: Vec<String> = lead.filter_map(comment_text).collect();
    // A first key starting with U+FEFF would begin the file and be read as a byte order
    // mark: such a DEFAULT section gets its header.
    let bom_key = section
        .entries()
        .next()
        .is_some_and(|(k, _)| k.starts_with('\u{feff}'));
    let headerless = first && name == DEFAULT_SECTION && lead.is_empty() && !bom_key;
    if headerless && section.entries().next().is_none() {
        return Ok(false);
    }
    if name.is_empty() || name.contains(['\n', '\r']) {
        return Err(StoreError::Unsupported(format!(
            "INI section name {name:?} cannot be written"
        )));
    }
    for c in &lead {
        write_comment(out, c, true);
    }
    if !headerless {
        out.push('[');
        out.push_str(name);
        out.push_str("]\n");
    }
    let lines = key_lines(name, section)?;
    let width = lines.iter().map(|(k, ..)| k.len()).max().unwrap_or(0);
    for (key, value, comments) in lines {
        for c in &comments {
            write_comment(out, c, false);
        }
        out.push_str(&key);
        out.push_str(&" ".repeat(width - key.len()));
        out.push_str(" = ");
        out.push_str(&value);
        out.push('\n');
    }
    Ok(true)
}

/// Each key of a section, quoted for output, with the comments that follow it in the tree.
fn key_lines<L: Leaf>(
    name: &str,
    section: &Branch<L>,
) -> Result<Vec<(String, String, Vec<String>)>, StoreError> {
    let mut lines: Vec<(String, String, Vec<String>)> = Vec::new();
    for item in &section.items {
        match item {
            Item::Entry { key, value } => {
                let (k, v) = quote_entry(name, key, &value_text(name, key, value)?)?;
                lines.push((k, v, Vec::new()));
            }
            Item::Comment { .. } => {
                if let (Some(last), Some(c)) = (lines.last_mut(), comment_text(item)) {
                    last.2.push(c);
                }
            }
            Item::Blank => {}
        }
    }
    Ok(lines)
}

fn comment_text<L: Leaf>(item: &Item<L>) -> Option<String> {
    match item {
        Item::Comment { text, .. } => Some(text.scalar().to_text().to_string()),
        _ => None,
    }
}

/// Writes a comment before the section (`section`) or key it belongs to so that it reads
/// back as the same text: the first line after `; ` (after `# ` when it starts with `;`),
/// every later line as it is (the parser keeps later lines as written). go-ini, and so
/// `sops decrypt`, writes later lines with one space after their marker and trims them;
/// we do not, since that would change the comment (and its ciphertext on the next edit).
/// Only a comment that no INI text reads back as (one from elsewhere: a later line without
/// a marker, a line ending in `\r`, trailing whitespace) is written as go-ini writes it.
fn write_comment(out: &mut String, text: &str, section: bool) {
    if comment_reads_back(text) {
        let first = text.split('\n').next().unwrap_or("");
        out.push_str(match first.chars().next() {
            None => ";",
            Some(';') => "# ",
            Some(_) => "; ",
        });
        out.push_str(text);
        out.push('\n');
        return;
    }
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if i > 0 && line.starts_with(['#', ';']) {
            out.push_str(&line[..1]);
            out.push(' ');
            out.push_str(line[1..].trim());
        } else if i > 0 && line.trim().is_empty() {
            // (go-ini fails on an empty line; as `;` read back, it is written `; `)
            out.push_str("; ");
        } else {
            let line = if section { line } else { line.trim() };
            if line.is_empty() {
                out.push(';');
            } else if i == 0 && line.starts_with(';') {
                out.push_str("# ");
            } else {
                out.push_str("; ");
            }
            out.push_str(line);
        }
        out.push('\n');
    }
}

/// Whether a comment's text, written after one marker, reads back as itself: what
/// [`Parser::take_comment`] can produce. The first line does not start with a space (the
/// marker's spaces are stripped), later lines start with a marker (else they are not
/// comment lines), no line ends in `\r`, and the text does not end in whitespace.
fn comment_reads_back(text: &str) -> bool {
    let mut lines = text.split('\n');
    let first = lines.next().unwrap_or("");
    !first.starts_with(' ')
        && text.trim_end() == text
        && !text.split('\n').any(|l| l.ends_with('\r'))
        && lines.all(|l| l.starts_with(['#', ';']))
}

/// The key and value as written, the first quoting (go-ini's choice first) that reads back
/// unchanged.
fn quote_entry(section: &str, key: &str, value: &str) -> Result<(String, String), StoreError> {
    let keys = [
        key.to_string(),
        format!("`{key}`"),
        format!("\"\"\"{key}\"\"\""),
        format!("\"{key}\""),
    ];
    let preferred = if value.contains(['\n', '`']) {
        format!("\"\"\"{value}\"\"\"")
    } else if value.contains(['#', ';']) {
        format!("`{value}`")
    } else if value.trim() != value {
        format!("\"{value}\"")
    } else {
        value.to_string()
    };
    let values = [
        preferred,
        value.to_string(),
        format!("\"{value}\""),
        format!("'{value}'"),
        format!("`{value}`"),
        format!("\"\"\"{value}\"\"\""),
    ];
    let k = keys
        .into_iter()
        .find(|k| reads_back(k, "x", key, "x"))
        .ok_or_else(|| {
            StoreError::Unsupported(format!("INI key {section}.{key:?} cannot be written"))
        })?;
    let v = values
        .into_iter()
        .find(|v| reads_back(&k, v, key, value))
        .ok_or_else(|| {
            StoreError::Unsupported(format!(
                "the value of INI key {section}.{key:?} cannot be written without changing it"
            ))
        })?;
    Ok((k, v))
}

/// Whether `k = v` in a section reads back as exactly `key` = `value` with no comment.
fn reads_back(k: &str, v: &str, key: &str, value: &str) -> bool {
    let Ok(b) = parse::<crate::model::Sealed>(&format!("[s]\n{k} = {v}\n")) else {
        return false;
    };
    let Some(Node::Map(s)) = b.get("s") else {
        return false;
    };
    matches!(s.items.as_slice(), [Item::Entry { key: k2, value: Node::Leaf(l) }]
        if k2 == key && matches!(&l.0, Scalar::Str(s) if s == value))
}

/// The text of a value; sections hold only flat values.
fn value_text<L: Leaf>(section: &str, key: &str, value: &Node<L>) -> Result<String, StoreError> {
    let Node::Leaf(l) = value else {
        return Err(StoreError::Unsupported(format!(
            "INI sections hold only flat values; key {section}.{key} has a nested value"
        )));
    };
    Ok(match l.scalar() {
        Scalar::Str(s) | Scalar::Time(s) | Scalar::Comment(s) => s.clone(),
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => format_go_float(*f),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Null => String::new(),
        Scalar::Bytes(b) | Scalar::RawStr(b) => String::from_utf8(b.clone()).map_err(|_| {
            StoreError::Unsupported(format!(
                "INI key {section}.{key} holds bytes that are not UTF-8"
            ))
        })?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Sealed;
    use proptest::prelude::*;

    type Tree = Branch<Sealed>;

    fn section<'a>(t: &'a Tree, name: &str) -> &'a Tree {
        match t.get(name) {
            Some(Node::Map(m)) => m,
            other => panic!("{name}: {other:?}"),
        }
    }

    /// The tree with every comment's whitespace removed: what go-ini's writing keeps.
    fn squeezed(b: &Tree) -> Tree {
        let items = b.items.iter().map(|i| match i {
            Item::Comment { text, inline } => Item::Comment {
                text: Sealed(Scalar::Comment(
                    text.0.to_text().split_whitespace().collect(),
                )),
                inline: *inline,
            },
            Item::Entry {
                key,
                value: Node::Map(m),
            } => Item::Entry {
                key: key.clone(),
                value: Node::Map(squeezed(m)),
            },
            other => other.clone(),
        });
        Branch {
            items: items.collect(),
        }
    }

    fn shape(b: &Tree) -> Vec<String> {
        b.items
            .iter()
            .map(|i| match i {
                Item::Entry {
                    key,
                    value: Node::Leaf(Sealed(Scalar::Str(v))),
                } => format!("{key}={v}"),
                Item::Entry { key, .. } => format!("[{key}]"),
                Item::Comment {
                    text: Sealed(s), ..
                } => format!("#{}", s.to_text().as_str()),
                Item::Blank => "blank".into(),
            })
            .collect()
    }

    #[test]
    fn sops_ini_fixture() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/sops-fixtures/example.ini"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("skipping: sops fixture {path} not found");
            return;
        };
        let t: Tree = parse(&text).unwrap();
        assert_eq!(
            shape(&t),
            [
                "[name]",
                "[address]",
                "[phoneNumbers]",
                "[not private]",
                "[sops]"
            ]
        );
        let name = section(&t, "name");
        assert!(
            matches!(&name.items[0], Item::Comment { text: Sealed(Scalar::Comment(c)), .. } if c.starts_with("ENC[AES256_GCM,"))
        );
        let keys: Vec<_> = name.entries().map(|(k, _)| k).collect();
        assert_eq!(keys, ["firstName", "lastName", "age"]);
        assert_eq!(
            shape(section(&t, "not private")),
            ["notsecret_unencrypted=hi there!"]
        );
        let sops = section(&t, "sops");
        for k in [
            "version",
            "age__list_0__map_recipient",
            "age__list_0__map_enc",
            "lastmodified",
            "mac",
        ] {
            assert!(sops.get(k).is_some(), "sops.{k}");
        }
        let out = emit(&t).unwrap();
        // sops 3.7's go-ini also wrote a blank line after the last section.
        assert_eq!(out, text.trim_end().to_string() + "\n");
        assert_eq!(parse::<Sealed>(&out).unwrap(), t);
    }

    #[test]
    fn go_ini_semantics() {
        let text = "top = 1\n; about s\n# more\n[s] ; inline head\nk1 = v # note\n\n  ; before k2\nk2: 'quoted'\nk3 = `a;b`\nk4 = \"\"\"multi\nline\"\"\"\nk5 = con\\\n  tinued\nk1 = again\n; dangling\n";
        let t: Tree = parse(text).unwrap();
        assert_eq!(shape(&t), ["[DEFAULT]", "[s]"]);
        assert_eq!(shape(section(&t, "DEFAULT")), ["top=1"]);
        assert_eq!(
            shape(section(&t, "s")),
            [
                "#about s\n# more\n; inline head",
                "k1=again",
                "k2=quoted",
                "#before k2",
                "k3=a;b",
                "k4=multi\nline",
                "k5=continued"
            ]
        );
        let out = emit(&t).unwrap();
        assert!(
            out.starts_with("top = 1\n\n; about s\n# more\n; inline head\n[s]\n"),
            "{out}"
        );
        assert_eq!(parse::<Sealed>(&out).unwrap(), t);
    }

    #[test]
    fn comments_are_written_to_read_back() {
        for (text, section, written) in [
            // What the parser produces is written as it is, to read back the same.
            ("a  \n#tight  \n;semi", false, "; a  \n#tight  \n;semi\n"),
            ("\tlead\n#  b", false, "; \tlead\n#  b\n"),
            // Anything else (trailing whitespace, a later line without a marker) as go-ini.
            ("a  \n#tight  \n;semi\t", false, "; a\n# tight\n; semi\n"),
            ("\tlead  \n# two  ", true, "; \tlead  \n# two\n"),
            // go-ini would write `; x` and `# x`, which read back as `x`
            (";x", false, "# ;x\n"),
            ("#x", true, "; #x\n"),
            ("", false, ";\n"),
            ("a\n\nb", false, "; a\n; \n; b\n"),
            ("a\n;b\r", false, "; a\n; b\n"),
        ] {
            let mut out = String::new();
            write_comment(&mut out, text, section);
            assert_eq!(out, written, "{text:?}");
        }
    }

    #[test]
    fn default_section_and_quoting() {
        let mut s = Tree::new();
        for (k, v) in [
            ("a", " padded "),
            ("b", "'q'"),
            ("c", "x#y"),
            ("d", "ends\\"),
            ("e", "a`\"\"\"\nb"),
        ] {
            s.insert(k.into(), Node::Leaf(Sealed(Scalar::Str(v.into()))));
        }
        let mut t = Tree::new();
        t.insert("DEFAULT".into(), Node::Map(Tree::new()));
        t.insert("s".into(), Node::Map(s.clone()));
        let e = emit(&t).unwrap_err().to_string();
        assert!(e.contains("s.\"e\"") && !e.contains("ends"), "{e}");
        s.remove("e");
        t.insert("s".into(), Node::Map(s));
        let out = emit(&t).unwrap();
        assert!(out.starts_with("[s]\n"), "{out}");
        let back: Tree = parse(&out).unwrap();
        assert_eq!(back.get("s"), t.get("s"));
        let mut bad = Tree::new();
        bad.insert("flat".into(), Node::Leaf(Sealed(Scalar::Str("x".into()))));
        assert!(emit(&bad).unwrap_err().to_string().contains("\"flat\""));
    }

    #[test]
    fn plaintext_refuses_what_sops_would_lose() {
        for (text, line) in [
            ("[s]\nk = v\n; secret note\n# more\n", 3),
            ("[s]\nk = v\n[t]\n\n;secret\n", 5),
            ("k = 1\n[s]\nk = 2\n; c\nk = secret\n", 5),
        ] {
            let e = parse_plain::<Sealed>(text).unwrap_err();
            assert!(
                matches!(e, StoreError::Syntax { line: l, .. } if l == line),
                "{text:?}: {e}"
            );
            assert!(!e.to_string().contains("secret"), "{e}");
            assert!(parse::<Sealed>(text).is_ok());
        }
        // The same key in two sections, or in a repeated section, is fine.
        let t: Tree = parse_plain("k = 1\n[s]\nk = 2\n[s]\nk = 3\n; kept\nj = 4\n").unwrap();
        assert_eq!(t.entries().count(), 3);
    }

    #[test]
    fn errors_name_the_line_only() {
        for (text, line) in [
            ("[s]\nsecret-value\n", 2),
            ("[unclosed\n", 1),
            ("[s]\nk = \"\"\"secret\n", 2),
            ("= secret\n", 1),
        ] {
            let e = parse::<Sealed>(text).unwrap_err();
            assert!(
                matches!(e, StoreError::Syntax { line: l, .. } if l == line),
                "{text:?}: {e}"
            );
            assert!(!e.to_string().contains("secret"), "{e}");
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in any::<String>()) {
            let _ = parse::<Sealed>(&text);
        }

        #[test]
        fn parse_never_panics_on_iniish(text in "[\\[\\]a-z=:;#`'\"\\\\ \t\r\n]{0,60}") {
            if let Ok(t) = parse::<Sealed>(&text) {
                // Whatever the parser produces must survive emit and parse (comments up to
                // the spaces go-ini's writing trims), and emit it again to the same text.
                if let Ok(out) = emit(&t) {
                    let back = parse::<Sealed>(&out).unwrap();
                    prop_assert_eq!(squeezed(&back), squeezed(&t));
                    prop_assert_eq!(emit(&back).unwrap(), out);
                }
            }
        }

        #[test]
        fn emit_then_parse_round_trips(
            sections in prop::collection::vec(
                ("[a-z][a-z ]{0,5}", prop::collection::vec(("[A-Za-z_][A-Za-z0-9_.]{0,6}", any::<String>(), prop::option::of("[^\n\r]{0,8}")), 0..4)),
                0..4),
        ) {
            let mut t = Tree::new();
            for (name, keys) in sections {
                let mut s = Tree::new();
                for (k, v, c) in keys {
                    if s.get(&k).is_some() { continue; }
                    s.items.push(Item::Entry { key: k, value: Node::Leaf(Sealed(Scalar::Str(v))) });
                    if let Some(c) = c.map(|c| strip_comment_char(c.trim()).to_string()) {
                        s.items.push(Item::Comment { text: Sealed(Scalar::Comment(c)), inline: false });
                    }
                }
                t.items.push(Item::Entry { key: name, value: Node::Map(s) });
            }
            if let Ok(out) = emit(&t) {
                let back = parse::<Sealed>(&out).unwrap();
                prop_assert_eq!(squeezed(&back), squeezed(&t));
                prop_assert_eq!(emit(&back).unwrap(), out);
            }
        }
    }
}
