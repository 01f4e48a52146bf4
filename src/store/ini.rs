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
//! comment is written back before its section or key as go-ini writes it (`; ` before the
//! first line, each later line's marker followed by one space, lines trimmed: what `sops
//! decrypt` prints; see [`write_comment`]). Comments at the end
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

use crate::model::tree::Leaf;
use crate::model::{Branch, Item, Node, Scalar, SecretText};
use crate::store::StoreError;
use std::collections::HashMap;

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
        comment: SecretText::new(),
        sections: vec![Section::new(DEFAULT_SECTION.to_string(), None)],
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
    if sections[0].head.is_none() && sections[0].keys.is_empty() {
        sections.remove(0);
    }
    Ok(Branch {
        items: sections.into_iter().map(Section::into_item).collect(),
    })
}

/// Emits a branch of sections as an INI file, straight into a [`SecretText`] (values and
/// comments are copied once, into it; the quoting candidates tried for a value are built
/// and parsed in zeroizing memory).
pub fn emit<L: Leaf>(branch: &Branch<L>) -> Result<SecretText, StoreError> {
    let mut out = SecretText::new();
    let mut written = 0;
    for (name, node) in branch.entries() {
        let Node::Map(section) = node else {
            return Err(StoreError::Unsupported(format!(
                "INI files hold only sections at the top level; key {name:?} is not a section"
            )));
        };
        if write_section(&mut out, name, section, written)? {
            written += 1;
        }
    }
    Ok(out)
}

/// One section as it is read: the comment before its header, and its keys in order, each
/// with the comment that follows it, plus where each key is (a repeated key replaces the
/// first; a search per key was quadratic in the keys of a section).
struct Section<L> {
    name: String,
    head: Option<Item<L>>,
    keys: Vec<(String, Node<L>, Option<Item<L>>)>,
    index: HashMap<String, usize>,
}

impl<L> Section<L> {
    fn new(name: String, head: Option<Item<L>>) -> Self {
        Section {
            name,
            head,
            keys: Vec::new(),
            index: HashMap::new(),
        }
    }

    fn into_item(self) -> Item<L> {
        let mut items = Vec::with_capacity(1 + 2 * self.keys.len());
        items.extend(self.head);
        for (key, value, comment) in self.keys {
            items.push(Item::Entry { key, value });
            items.extend(comment);
        }
        Item::Entry {
            key: self.name,
            value: Node::Map(Branch { items }),
        }
    }
}

/// Line-by-line state: pending comment lines and the sections read so far.
struct Parser<'a, L> {
    /// Refuse what sops's INI format would lose (see [`parse_plain`]).
    strict: bool,
    /// The line where the pending comment starts.
    comment_line: usize,
    lines: Vec<&'a str>,
    next: usize,
    /// Comment lines (plaintext, for a file to encrypt) in zeroizing memory.
    comment: SecretText,
    sections: Vec<Section<L>>,
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
                let head = self.take_comment();
                self.sections.push(Section::new(name.to_string(), head));
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
        let section = self.sections.last().expect("DEFAULT always exists");
        section.index.contains_key(key)
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
        let section = self.sections.last_mut().expect("DEFAULT always exists");
        let leaf = Node::Leaf(L::from_scalar(Scalar::Str(value)));
        match section.index.get(&key) {
            Some(&at) => section.keys[at] = (key, leaf, comment),
            None => {
                section.index.insert(key.clone(), section.keys.len());
                section.keys.push((key, leaf, comment));
            }
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

    /// A quoted value whose closing quote is on a later line (gathered in zeroizing
    /// memory, then copied once, sized, into the value).
    fn read_multiline(&mut self, first: &str, quote: &str) -> Result<String, &'static str> {
        let mut value = SecretText::new();
        value.push_str(first);
        value.push('\n');
        while let Some(next) = self.next_line() {
            if let Some(end) = next.rfind(quote) {
                value.push_str(&next[..end]);
                if let Some(i) = next[end..].find(['#', ';']) {
                    self.comment.push_str(next[end + i..].trim());
                }
                return Ok(value.to_string());
            }
            value.push_str(next);
            value.push('\n');
        }
        Err("quoted value is not closed before the end of the file")
    }

    /// Lines continued with a trailing backslash (gathered as in `read_multiline`).
    fn read_continuation(&mut self, head: &str) -> String {
        let mut value = SecretText::new();
        value.push_str(head);
        while let Some(next) = self.next_line() {
            let next = next.trim();
            if next.is_empty() {
                break;
            }
            value.push_str(next);
            match value.strip_suffix('\\') {
                Some(v) => value.truncate_to(v.len()),
                None => break,
            }
        }
        value.to_string()
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

/// Writes one section (after a blank line when `written` sections came before); returns
/// false when there was nothing to write (empty leading `DEFAULT`, which go-ini skips).
fn write_section<L: Leaf>(
    out: &mut SecretText,
    name: &str,
    section: &Branch<L>,
    written: usize,
) -> Result<bool, StoreError> {
    let lead: Vec<&L> = section
        .items
        .iter()
        .take_while(|i| !matches!(i, Item::Entry { .. }))
        .filter_map(comment_leaf)
        .collect();
    // A first key starting with U+FEFF would begin the file and be read as a byte order
    // mark: such a DEFAULT section gets its header.
    let bom_key = section
        .entries()
        .next()
        .is_some_and(|(k, _)| k.starts_with('\u{feff}'));
    let headerless = written == 0 && name == DEFAULT_SECTION && lead.is_empty() && !bom_key;
    if headerless && section.entries().next().is_none() {
        return Ok(false);
    }
    if name.is_empty() || name.contains(['\n', '\r']) {
        return Err(StoreError::Unsupported(format!(
            "INI section name {name:?} cannot be written"
        )));
    }
    let lines = key_lines(name, section)?;
    if written > 0 {
        out.push('\n');
    }
    for c in &lead {
        write_comment(out, *c, true);
    }
    if !headerless {
        out.push('[');
        out.push_str(name);
        out.push_str("]\n");
    }
    let width = lines.iter().map(|l| l.key.len()).max().unwrap_or(0);
    for line in lines {
        for c in &line.comments {
            write_comment(out, *c, false);
        }
        out.push_str(&line.key);
        out.push_repeated(' ', width - line.key.len());
        out.push_str(" = ");
        out.push_str(&line.value);
        out.push('\n');
    }
    Ok(true)
}

/// One `key = value` line of a section, quoted for output, with the comments that follow
/// it in the tree.
struct KeyLine<'a, L> {
    key: String,
    value: SecretText,
    comments: Vec<&'a L>,
}

/// Each key of a section, quoted for output, with the comments that follow it in the tree.
fn key_lines<'a, L: Leaf>(
    name: &str,
    section: &'a Branch<L>,
) -> Result<Vec<KeyLine<'a, L>>, StoreError> {
    let mut lines: Vec<KeyLine<'a, L>> = Vec::new();
    for item in &section.items {
        match item {
            Item::Entry { key, value } => {
                let mut scratch = SecretText::new();
                let text = value_text(name, key, value, &mut scratch)?;
                let (key, value) = quote_entry(name, key, text)?;
                lines.push(KeyLine {
                    key,
                    value,
                    comments: Vec::new(),
                });
            }
            Item::Comment { .. } => {
                if let (Some(last), Some(c)) = (lines.last_mut(), comment_leaf(item)) {
                    last.comments.push(c);
                }
            }
            Item::Blank => {}
        }
    }
    Ok(lines)
}

fn comment_leaf<L: Leaf>(item: &Item<L>) -> Option<&L> {
    match item {
        Item::Comment { text, .. } => Some(text),
        _ => None,
    }
}

/// Writes a comment before the section (`section`) or key it belongs to, line by line as
/// go-ini writes it, so that `decrypt` prints what sops prints: a line starting with `#` or
/// `;` as that marker, one space and the rest trimmed; any other line after `; `, trimmed
/// (a key's comment) or as it is (a section's). One exception, where go-ini would lose
/// text: a first line that itself starts with a marker (`; #x` is stored `#x`) is written
/// after the other marker, so that stripping it on reading gives back the same text.
fn write_comment<L: Leaf>(out: &mut SecretText, comment: &L, section: bool) {
    let mut scratch = SecretText::new();
    let text: &str = match comment.scalar() {
        Scalar::Comment(s) | Scalar::Str(s) => s,
        other => {
            other.write_text(&mut scratch);
            &scratch
        }
    };
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

/// How a value may be quoted (go-ini's readers).
#[derive(Clone, Copy)]
enum Quote {
    Bare,
    Double,
    Single,
    Back,
    Triple,
}

impl Quote {
    fn marks(self) -> &'static str {
        match self {
            Quote::Bare => "",
            Quote::Double => "\"",
            Quote::Single => "'",
            Quote::Back => "`",
            Quote::Triple => "\"\"\"",
        }
    }

    /// `text` in these quotes, in a zeroizing buffer of exactly its size.
    fn around(self, text: &str) -> SecretText {
        let q = self.marks();
        let mut out = SecretText::with_capacity(text.len() + 2 * q.len());
        out.push_str(q);
        out.push_str(text);
        out.push_str(q);
        out
    }
}

/// The key and value as written, the first quoting (go-ini's choice first) that reads back
/// unchanged. The value's candidates are built one at a time in zeroizing buffers.
fn quote_entry(section: &str, key: &str, value: &str) -> Result<(String, SecretText), StoreError> {
    let keys = [
        key.to_string(),
        format!("`{key}`"),
        format!("\"\"\"{key}\"\"\""),
        format!("\"{key}\""),
    ];
    let preferred = if value.contains(['\n', '`']) {
        Quote::Triple
    } else if value.contains(['#', ';']) {
        Quote::Back
    } else if value.trim() != value {
        Quote::Double
    } else {
        Quote::Bare
    };
    let k = keys
        .into_iter()
        .find(|k| reads_back(k, "x", key, "x"))
        .ok_or_else(|| {
            StoreError::Unsupported(format!("INI key {section}.{key:?} cannot be written"))
        })?;
    let order = [
        preferred,
        Quote::Bare,
        Quote::Double,
        Quote::Single,
        Quote::Back,
        Quote::Triple,
    ];
    for quote in order {
        let v = quote.around(value);
        if reads_back(&k, &v, key, value) {
            return Ok((k, v));
        }
    }
    Err(StoreError::Unsupported(format!(
        "the value of INI key {section}.{key:?} cannot be written without changing it"
    )))
}

/// Whether `k = v` in a section reads back as exactly `key` = `value` with no comment.
/// The line and what it parses to are plaintext: a zeroizing buffer and a `Plain` tree.
fn reads_back(k: &str, v: &str, key: &str, value: &str) -> bool {
    let mut doc = SecretText::with_capacity(k.len() + v.len() + 8);
    for part in ["[s]\n", k, " = ", v, "\n"] {
        doc.push_str(part);
    }
    let Ok(b) = parse::<crate::model::Plain>(&doc) else {
        return false;
    };
    let Some(Node::Map(s)) = b.get("s") else {
        return false;
    };
    matches!(s.items.as_slice(), [Item::Entry { key: k2, value: Node::Leaf(l) }]
        if k2 == key && matches!(l.scalar(), Scalar::Str(s) if s == value))
}

/// The text of a value (numbers written into `scratch`); sections hold only flat values.
fn value_text<'a, L: Leaf>(
    section: &str,
    key: &str,
    value: &'a Node<L>,
    scratch: &'a mut SecretText,
) -> Result<&'a str, StoreError> {
    let Node::Leaf(l) = value else {
        return Err(StoreError::Unsupported(format!(
            "INI sections hold only flat values; key {section}.{key} has a nested value"
        )));
    };
    Ok(match l.scalar() {
        Scalar::Str(s) | Scalar::Time(s) | Scalar::Comment(s) => s,
        Scalar::Bytes(b) | Scalar::RawStr(b) => std::str::from_utf8(b).map_err(|_| {
            StoreError::Unsupported(format!(
                "INI key {section}.{key} holds bytes that are not UTF-8"
            ))
        })?,
        other => {
            other.write_text(scratch);
            scratch
        }
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
    fn sops_3_11_ini_fixture_round_trips() {
        let text = include_str!("../../testdata/sops-fixtures/secret.enc.ini");
        let t: Tree = parse(text).unwrap();
        let keys: Vec<_> = section(&t, "db").entries().map(|(k, _)| k).collect();
        assert_eq!(keys, ["user", "password", "empty"]);
        let sops = section(&t, "sops");
        for k in [
            "version",
            "age__list_2__map_recipient",
            "age__list_2__map_enc",
            "mac",
        ] {
            assert!(sops.get(k).is_some(), "sops.{k}");
        }
        let out = emit(&t).unwrap().to_string();
        assert_eq!(out, text);
        assert_eq!(parse::<Sealed>(&out).unwrap(), t);
    }

    #[test]
    #[ignore = "needs ../shared/sops-fixtures (files of sops 3.7-3.9); .ci/run runs it when present"]
    fn sops_ini_fixture() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/sops-fixtures/example.ini"
        );
        let text =
            std::fs::read_to_string(path).expect("../shared/sops-fixtures (older sops files)");
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
        let out = emit(&t).unwrap().to_string();
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
        let out = emit(&t).unwrap().to_string();
        assert!(
            out.starts_with("top = 1\n\n; about s\n# more\n; inline head\n[s]\n"),
            "{out}"
        );
        assert_eq!(parse::<Sealed>(&out).unwrap(), t);
    }

    #[test]
    fn comments_are_written_as_go_ini_writes_them() {
        for (text, section, written) in [
            ("a  \n#tight  \n;semi\t", false, "; a\n# tight\n; semi\n"),
            ("\tlead\n#  b", false, "; lead\n# b\n"),
            ("\tlead  \n# two  ", true, "; \tlead  \n# two\n"),
            // go-ini would write `; x` and `# x`, which read back as `x`
            (";x", false, "# ;x\n"),
            ("#x", true, "; #x\n"),
            ("", false, ";\n"),
            ("a\n\nb", false, "; a\n; \n; b\n"),
            ("a\n;b\r", false, "; a\n; b\n"),
        ] {
            let mut out = SecretText::new();
            write_comment(&mut out, &Sealed(Scalar::Comment(text.into())), section);
            assert_eq!(out.as_str(), written, "{text:?}");
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
        let out = emit(&t).unwrap().to_string();
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
                    prop_assert_eq!(emit(&back).unwrap().to_string(), out.to_string());
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
                prop_assert_eq!(emit(&back).unwrap().to_string(), out.to_string());
            }
        }
    }
}
