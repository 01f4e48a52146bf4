//! YAML: ordered maps, lists, typed scalars, comments and multi-document files.
//!
//! Parsing uses `saphyr-parser` (the maintained successor of yaml-rust, YAML 1.2 test-suite
//! compliant, with exact spans). Event parsers do not report comments, so they are recovered
//! from the source between scalar spans and attached the way sops does: a comment line is an
//! item before the entry that follows it; an end-of-line comment is an inline item before the
//! entry it ends. Scalars resolve like go-yaml v3 (what sops uses): `0x1F`, `1_000`, `0755`
//! are ints, timestamps stay strings. Aliases are expanded, as in sops.

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;

use super::{Layout, StoreError};
use crate::model::tree::Leaf;
use crate::model::{Branch, Item, ListItem, Node, Scalar};

// ───────────────────────────── parsing ─────────────────────────────

struct Comment {
    start: usize,
    line: usize,
    col: usize,
    text: String,
    inline: bool,
    used: bool,
}

enum Frame<L> {
    Map {
        branch: Branch<L>,
        key: Option<String>,
        col: Option<usize>,
        anchor: usize,
    },
    List {
        items: Vec<ListItem<L>>,
        col: Option<usize>,
        anchor: usize,
    },
}

struct Builder<'t, L> {
    comments: Vec<Comment>,
    next_comment: usize,
    stack: Vec<Frame<L>>,
    anchors: HashMap<usize, Node<L>>,
    docs: Vec<Branch<L>>,
    chars: Vec<(usize, char)>,
    text: &'t str,
}

/// Char index → byte offset, for saphyr markers (which count characters).
fn char_table(text: &str) -> Vec<(usize, char)> {
    text.char_indices().collect()
}

pub fn parse<L: Leaf>(text: &str) -> Result<(Vec<Branch<L>>, Layout), StoreError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut events: Vec<(Event<'_>, Span)> = Vec::new();
    let mut parser = Parser::new_from_str(text);
    while let Some(ev) = parser.next_event() {
        let (ev, span) = ev.map_err(|e| {
            StoreError::syntax(
                e.marker().line(),
                e.marker().col() + 1,
                e.info().to_string(),
            )
        })?;
        events.push((ev, span));
    }
    let chars = char_table(text);
    let scalar_spans: Vec<(usize, usize)> = events
        .iter()
        .filter(|(e, _)| matches!(e, Event::Scalar(..)))
        .map(|(_, s)| (s.start.index(), s.end.index()))
        .collect();
    let comments = find_comments(&chars, &scalar_spans);
    let mut b = Builder {
        comments,
        next_comment: 0,
        stack: Vec::new(),
        anchors: HashMap::new(),
        docs: Vec::new(),
        chars,
        text,
    };
    for (ev, span) in events {
        b.event(ev, span)?;
    }
    let indent = detect_indent(text);
    Ok((b.docs, Layout { indent }))
}

/// Finds `#` comments outside scalars: at a line start or after white space.
fn find_comments(chars: &[(usize, char)], scalars: &[(usize, usize)]) -> Vec<Comment> {
    let mut out = Vec::new();
    let mut s = 0; // index into scalars, which are in document order
    let (mut line, mut col) = (1usize, 0usize);
    let mut line_has_content = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i].1;
        while s < scalars.len() && scalars[s].1 <= i {
            s += 1;
        }
        let in_scalar = s < scalars.len() && scalars[s].0 <= i && i < scalars[s].1;
        if c == '#' && !in_scalar && (i == 0 || matches!(chars[i - 1].1, ' ' | '\t' | '\n' | '\r'))
        {
            let start = i;
            let start_col = col;
            let mut text = String::new();
            i += 1;
            while i < chars.len() && chars[i].1 != '\n' && chars[i].1 != '\r' {
                text.push(chars[i].1);
                i += 1;
            }
            out.push(Comment {
                start,
                line,
                col: start_col,
                text,
                inline: line_has_content,
                used: false,
            });
            continue;
        }
        if c == '\n' {
            line += 1;
            col = 0;
            line_has_content = false;
        } else {
            col += 1;
            if !c.is_whitespace() {
                line_has_content = true;
            }
        }
        i += 1;
    }
    out
}

/// The indentation step of the first indented line (2 for old sops files, 4 for new ones).
fn detect_indent(text: &str) -> usize {
    text.lines()
        .map(|l| l.len() - l.trim_start_matches(' ').len())
        .find(|&n| n > 0)
        .map(|n| n.clamp(2, 8))
        .unwrap_or(4)
}

impl<L: Leaf> Builder<'_, L> {
    fn event(&mut self, ev: Event<'_>, span: Span) -> Result<(), StoreError> {
        let at = span.start.index();
        let err = |msg: &str| StoreError::syntax(span.start.line(), span.start.col() + 1, msg);
        match ev {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => {}
            Event::DocumentStart(_) => {}
            Event::MappingStart(anchor, _) => {
                self.before_item(at, span.start.col())?;
                self.stack.push(Frame::Map {
                    branch: Branch::new(),
                    key: None,
                    col: None,
                    anchor,
                });
            }
            Event::SequenceStart(anchor, _) => {
                if self.stack.is_empty() {
                    return Err(err("YAML documents that are sequences are not supported; the top level must be a map"));
                }
                self.before_item(at, span.start.col())?;
                self.stack.push(Frame::List {
                    items: Vec::new(),
                    col: None,
                    anchor,
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.flush_trailing(at);
                let frame = self
                    .stack
                    .pop()
                    .ok_or_else(|| err("unbalanced YAML structure"))?;
                let (node, anchor) = match frame {
                    Frame::Map { branch, anchor, .. } => (Node::Map(branch), anchor),
                    Frame::List { items, anchor, .. } => (Node::List(items), anchor),
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                if self.stack.is_empty() {
                    match node {
                        Node::Map(b) => self.docs.push(b),
                        _ => return Err(err("the top level of a YAML document must be a map")),
                    }
                } else {
                    self.add_value(node, span.end.index());
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                if self.stack.is_empty() {
                    // An empty document (or one holding only `null`) is an empty map.
                    let scalar = resolve(&value, style, tag.as_deref().map(|t| t.suffix.as_str()));
                    if scalar == Scalar::Null {
                        self.docs.push(Branch::new());
                        return Ok(());
                    }
                    return Err(err(
                        "the top level of a YAML document must be a map, not a value",
                    ));
                }
                let is_key = matches!(self.stack.last(), Some(Frame::Map { key: None, .. }));
                if is_key {
                    self.before_item(at, span.start.col())?;
                    if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                        *key = Some(value.into_owned());
                    }
                    return Ok(());
                }
                self.before_item(at, span.start.col())?;
                let scalar = resolve(&value, style, tag.as_deref().map(|t| t.suffix.as_str()));
                let node = Node::Leaf(L::from_scalar(scalar));
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.add_value(node, span.end.index());
            }
            Event::Alias(id) => {
                let node = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| err("alias to an unknown anchor"))?;
                let is_key = matches!(self.stack.last(), Some(Frame::Map { key: None, .. }));
                if is_key {
                    return Err(err("aliases used as map keys are not supported"));
                }
                self.before_item(at, span.start.col())?;
                self.add_value(node, span.end.index());
            }
        }
        Ok(())
    }

    /// Called when an item starts in the innermost container: attach the comments that
    /// precede it there.
    fn before_item(&mut self, at: usize, col: usize) -> Result<(), StoreError> {
        let starting_entry = match self.stack.last_mut() {
            Some(Frame::Map {
                key: None, col: c, ..
            }) => {
                c.get_or_insert(col);
                true
            }
            Some(Frame::List { col: c, .. }) => {
                c.get_or_insert(col);
                true
            }
            _ => false,
        };
        if !starting_entry {
            return Ok(());
        }
        while self.next_comment < self.comments.len() && self.comments[self.next_comment].start < at
        {
            let c = &mut self.comments[self.next_comment];
            self.next_comment += 1;
            if c.used {
                continue;
            }
            c.used = true;
            let text = L::from_scalar(Scalar::Comment(std::mem::take(&mut c.text)));
            push_comment(self.stack.last_mut().expect("checked"), text, false);
        }
        Ok(())
    }

    /// Comments after the last item of a block container that are indented at least as far
    /// as its items belong to it; the rest go to the outer container.
    fn flush_trailing(&mut self, end: usize) {
        let Some(frame) = self.stack.last_mut() else {
            return;
        };
        let col = match frame {
            Frame::Map { col, .. } | Frame::List { col, .. } => col.unwrap_or(0),
        };
        while self.next_comment < self.comments.len() {
            let c = &mut self.comments[self.next_comment];
            if c.start >= end && c.col < col {
                break;
            }
            if c.col < col && c.line > 0 && c.start < end {
                // Dedented comment before the end of a flow collection: still ours.
            } else if c.col < col {
                break;
            }
            self.next_comment += 1;
            if c.used {
                continue;
            }
            c.used = true;
            let text = L::from_scalar(Scalar::Comment(std::mem::take(&mut c.text)));
            push_comment(frame, text, false);
        }
    }

    /// Adds a finished value to the innermost container and attaches an end-of-line comment
    /// on the same line as an inline comment before the entry, as sops does.
    fn add_value(&mut self, node: Node<L>, end: usize) {
        let inline = self.inline_comment_after(end);
        let Some(frame) = self.stack.last_mut() else {
            return;
        };
        match frame {
            Frame::Map { branch, key, .. } => {
                let k = key.take().unwrap_or_default();
                if let Some(text) = inline {
                    branch.items.push(Item::Comment {
                        text: L::from_scalar(Scalar::Comment(text)),
                        inline: true,
                    });
                }
                branch.items.push(Item::Entry {
                    key: k,
                    value: node,
                });
            }
            Frame::List { items, .. } => {
                if let Some(text) = inline {
                    items.push(ListItem::Comment {
                        text: L::from_scalar(Scalar::Comment(text)),
                        inline: true,
                    });
                }
                items.push(ListItem::Value(node));
            }
        }
    }

    fn inline_comment_after(&mut self, end: usize) -> Option<String> {
        // Only for scalars/flow values: the rest of their line is white space then '#'.
        let mut i = end;
        while i < self.chars.len() && matches!(self.chars[i].1, ' ' | '\t') {
            i += 1;
        }
        if i >= self.chars.len() || self.chars[i].1 != '#' {
            return None;
        }
        let c = self.comments[self.next_comment..]
            .iter_mut()
            .find(|c| c.start == i)?;
        if c.used || !c.inline {
            return None;
        }
        c.used = true;
        let _ = self.text;
        Some(std::mem::take(&mut c.text))
    }
}

fn push_comment<L>(frame: &mut Frame<L>, text: L, inline: bool) {
    match frame {
        Frame::Map { branch, .. } => branch.items.push(Item::Comment { text, inline }),
        Frame::List { items, .. } => items.push(ListItem::Comment { text, inline }),
    }
}

/// Resolves a scalar like go-yaml v3 decoding into `interface{}`.
pub fn resolve(value: &str, style: ScalarStyle, tag: Option<&str>) -> Scalar {
    match tag {
        Some("str") | Some("binary") => return Scalar::Str(value.to_string()),
        Some("int") => {
            return parse_int(value)
                .map(Scalar::Int)
                .unwrap_or_else(|| Scalar::Str(value.into()))
        }
        Some("float") => {
            return parse_float(value)
                .map(Scalar::Float)
                .unwrap_or_else(|| Scalar::Str(value.into()))
        }
        Some("bool") => {
            return parse_bool(value)
                .map(Scalar::Bool)
                .unwrap_or_else(|| Scalar::Str(value.into()))
        }
        Some("null") => return Scalar::Null,
        Some(_) => return Scalar::Str(value.to_string()),
        None => {}
    }
    if style != ScalarStyle::Plain {
        return Scalar::Str(value.to_string());
    }
    resolve_plain(value)
}

fn resolve_plain(value: &str) -> Scalar {
    if matches!(value, "" | "~" | "null" | "Null" | "NULL") {
        return Scalar::Null;
    }
    if let Some(b) = parse_bool(value) {
        return Scalar::Bool(b);
    }
    if let Some(i) = parse_int(value) {
        return Scalar::Int(i);
    }
    if let Some(f) = parse_float(value) {
        return Scalar::Float(f);
    }
    Scalar::Str(value.to_string())
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
    let plain: String = v.chars().filter(|c| *c != '_').collect();
    let (neg, digits) = match plain.as_bytes().first()? {
        b'-' => (true, &plain[1..]),
        b'+' => (false, &plain[1..]),
        _ => (false, plain.as_str()),
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

fn parse_float(v: &str) -> Option<f64> {
    match v {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let plain: String = v.chars().filter(|c| *c != '_').collect();
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
    plain.parse().ok()
}

// ───────────────────────────── emitting ─────────────────────────────

/// Emits branches as YAML documents separated by `---`.
pub fn emit<L: Leaf>(branches: &[Branch<L>], layout: Layout) -> Result<String, StoreError> {
    let mut out = String::new();
    let indent = layout.indent.max(2);
    for (i, branch) in branches.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        if branch
            .items
            .iter()
            .all(|it| !matches!(it, Item::Entry { .. }))
            && branch.items.is_empty()
        {
            out.push_str("{}\n");
            continue;
        }
        emit_map(&mut out, branch, 0, indent);
    }
    Ok(out)
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn comment_line(out: &mut String, col: usize, text: &str) {
    pad(out, col);
    out.push('#');
    out.push_str(text);
    out.push('\n');
}

fn emit_map<L: Leaf>(out: &mut String, branch: &Branch<L>, col: usize, indent: usize) {
    emit_map_items(out, branch, col, indent, None);
}

/// Writes a map's items at column `col`; `first_prefix` replaces the indentation of the
/// first line (used for `- key: value` in lists).
fn emit_map_items<L: Leaf>(
    out: &mut String,
    branch: &Branch<L>,
    col: usize,
    indent: usize,
    mut first_prefix: Option<&str>,
) {
    let mut inline: Vec<String> = Vec::new();
    let start_line = |out: &mut String, first: &mut Option<&str>| match first.take() {
        Some(p) => out.push_str(p),
        None => pad(out, col),
    };
    for item in &branch.items {
        match item {
            Item::Blank => {}
            Item::Comment { text, inline: true } => inline.push(comment_text(text)),
            Item::Comment { text, .. } => {
                start_line(out, &mut first_prefix);
                out.push('#');
                out.push_str(&comment_text(text));
                out.push('\n');
            }
            Item::Entry { key, value } => {
                start_line(out, &mut first_prefix);
                out.push_str(&scalar_text(&Scalar::Str(key.clone())));
                out.push(':');
                emit_value(out, value, col, indent, std::mem::take(&mut inline), true);
            }
        }
    }
    for text in inline {
        comment_line(out, col, &text);
    }
    if let Some(p) = first_prefix {
        // A list item holding an empty map.
        out.push_str(p.trim_end());
        out.push_str(" {}\n");
    }
}

fn comment_text<L: Leaf>(l: &L) -> String {
    match l.scalar() {
        Scalar::Comment(c) | Scalar::Str(c) => c.replace('\n', " "),
        other => other.to_text().to_string(),
    }
}

/// Writes what follows `key:` or `-`; `in_map` says whether a nested list is indented.
fn emit_value<L: Leaf>(
    out: &mut String,
    value: &Node<L>,
    col: usize,
    indent: usize,
    inline: Vec<String>,
    in_map: bool,
) {
    let suffix: String = inline.iter().map(|c| format!(" #{c}")).collect();
    match value {
        Node::Leaf(l) => {
            let s = l.scalar();
            if let Some(block) = literal_block(s) {
                out.push_str(" |");
                out.push_str(block.0);
                out.push_str(&suffix);
                out.push('\n');
                for line in block.1 {
                    if !line.is_empty() {
                        pad(out, col + indent);
                        out.push_str(line);
                    }
                    out.push('\n');
                }
            } else {
                out.push(' ');
                out.push_str(&scalar_text(s));
                out.push_str(&suffix);
                out.push('\n');
            }
        }
        Node::Map(b) if b.items.is_empty() => {
            out.push_str(" {}");
            out.push_str(&suffix);
            out.push('\n');
        }
        Node::List(items) if items.is_empty() => {
            out.push_str(" []");
            out.push_str(&suffix);
            out.push('\n');
        }
        Node::Map(b) => {
            out.push_str(&suffix);
            out.push('\n');
            emit_map(out, b, col + indent, indent);
        }
        Node::List(items) => {
            out.push_str(&suffix);
            out.push('\n');
            let item_col = if in_map { col + indent } else { col };
            emit_list(out, items, item_col, indent);
        }
    }
}

fn emit_list<L: Leaf>(out: &mut String, items: &[ListItem<L>], col: usize, indent: usize) {
    let mut inline = Vec::new();
    for item in items {
        match item {
            ListItem::Comment { text, inline: true } => inline.push(comment_text(text)),
            ListItem::Comment { text, .. } => comment_line(out, col, &comment_text(text)),
            ListItem::Value(Node::Map(b)) if !b.items.is_empty() => {
                for text in std::mem::take(&mut inline) {
                    comment_line(out, col, &text);
                }
                let mut prefix = String::new();
                pad(&mut prefix, col);
                prefix.push_str("- ");
                emit_map_items(out, b, col + 2, indent, Some(&prefix));
            }
            ListItem::Value(Node::List(inner)) if !inner.is_empty() => {
                for text in std::mem::take(&mut inline) {
                    comment_line(out, col, &text);
                }
                pad(out, col);
                out.push_str("-\n");
                emit_list(out, inner, col + indent, indent);
            }
            ListItem::Value(v) => {
                pad(out, col);
                out.push('-');
                emit_value(out, v, col, indent, std::mem::take(&mut inline), false);
            }
        }
    }
    for text in inline {
        comment_line(out, col, &text);
    }
}

/// A multi-line string as a literal block: (chomping indicator, lines).
fn literal_block(s: &Scalar) -> Option<(&'static str, Vec<&str>)> {
    let Scalar::Str(text) = s else { return None };
    if !text.contains('\n') || text.starts_with([' ', '\t', '\n']) {
        return None;
    }
    if text
        .chars()
        .any(|c| (c.is_control() && c != '\n' && c != '\t') || c == '\u{feff}')
    {
        return None;
    }
    let body = text.trim_end_matches('\n');
    let trailing = text.len() - body.len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    if body.lines().any(|l| l.ends_with([' ', '\t'])) {
        return None;
    }
    let mut lines: Vec<&str> = body.split('\n').collect();
    if trailing > 1 {
        lines.extend(std::iter::repeat_n("", trailing - 1));
    }
    Some((chomp, lines))
}

/// A scalar as YAML text, quoted when plain style would read back differently.
pub fn scalar_text(s: &Scalar) -> String {
    match s {
        Scalar::Null => "null".into(),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) if f.is_nan() => ".nan".into(),
        Scalar::Float(f) if f.is_infinite() => if *f > 0.0 { ".inf" } else { "-.inf" }.into(),
        Scalar::Float(f) => format!("{f:?}"),
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

fn plain_safe(t: &str) -> bool {
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
    if resolve_plain(t) != Scalar::Str(t.to_string()) {
        return false;
    }
    // YAML 1.1 readers take these as booleans; timestamps as dates (go-yaml quotes both).
    let lower = t.to_ascii_lowercase();
    if matches!(lower.as_str(), "y" | "n" | "yes" | "no" | "on" | "off") || looks_like_timestamp(t)
    {
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

fn double_quoted(t: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Sealed;

    fn round(text: &str) -> String {
        let (b, layout) = parse::<Sealed>(text).unwrap();
        emit(&b, layout).unwrap()
    }

    #[test]
    fn keeps_order_types_and_comments() {
        let src = "# head\nb: 1\na: text # trailing\nc:\n  # inner\n  d: true\n  e: [1, 2.5, null]\nf: \"007\"\n";
        let (b, _) = parse::<Sealed>(src).unwrap();
        let keys: Vec<_> = b[0].entries().map(|(k, _)| k).collect();
        assert_eq!(keys, ["b", "a", "c", "f"]);
        assert_eq!(b[0].get("b"), Some(&Node::Leaf(Sealed(Scalar::Int(1)))));
        assert_eq!(
            b[0].get("f"),
            Some(&Node::Leaf(Sealed(Scalar::Str("007".into()))))
        );
        let out = round(src);
        assert!(out.contains("# head\n"), "{out}");
        assert!(out.contains("a: text # trailing\n"), "{out}");
        assert!(out.contains("  # inner\n  d: true\n"), "{out}");
        assert_eq!(round(&out), out, "emit is a fixed point");
    }

    #[test]
    fn go_yaml_scalar_resolution() {
        for (t, want) in [
            ("0x1F", Scalar::Int(31)),
            ("1_000", Scalar::Int(1000)),
            ("0755", Scalar::Int(493)),
            ("2.5", Scalar::Float(2.5)),
            ("1e3", Scalar::Float(1000.0)),
            ("yes", Scalar::Str("yes".into())),
            ("2024-01-01", Scalar::Str("2024-01-01".into())),
            ("~", Scalar::Null),
        ] {
            assert_eq!(resolve(t, ScalarStyle::Plain, None), want, "{t}");
        }
    }

    #[test]
    fn strings_that_need_quotes_round_trip() {
        for s in [
            "true",
            "123",
            "",
            " lead",
            "a: b",
            "x #y",
            "yes",
            "2024-01-01T00:00:00Z",
            "line1\nline2\n",
            "tab\there",
            "-",
            "- x",
            "ends:",
            "q\"uote",
            "multi\n\n",
        ] {
            let mut b = Branch::<Sealed>::new();
            b.insert("k".into(), Node::Leaf(Sealed(Scalar::Str(s.into()))));
            let text = emit(&[b.clone()], Layout { indent: 4 }).unwrap();
            let (back, _) = parse::<Sealed>(&text).unwrap();
            assert_eq!(back[0], b, "{s:?} → {text}");
        }
    }

    #[test]
    fn multi_document_and_anchors() {
        let (b, _) = parse::<Sealed>("a: &x {k: 1}\nb: *x\n---\nc: 2\n").unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].get("a"), b[0].get("b"));
        assert!(parse::<Sealed>("- 1\n- 2\n").is_err());
        assert!(parse::<Sealed>("a: [1\n").is_err());
    }
}
