//! YAML: ordered maps, lists, typed scalars, comments and multi-document files.
//!
//! Parsing uses `saphyr-parser` (the maintained successor of yaml-rust, YAML 1.2 test-suite
//! compliant, with exact spans). Event parsers do not report comments, so they are recovered
//! from the source between scalar spans and attached the way sops does: a comment line is an
//! item before the entry that follows it; an end-of-line comment is an inline item before the
//! entry it ends. Scalars resolve like go-yaml v3 (what sops uses): `0x1F`, `1_000`, `0755`
//! are ints, timestamps stay strings. Aliases are expanded, as in sops.

use saphyr_parser::{Event, Parser, ScalarStyle, Span, StrInput};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;

use super::{Layout, StoreError};
use crate::model::tree::Leaf;
use crate::model::{Branch, Item, ListItem, Node, Scalar};

// ───────────────────────────── parsing ─────────────────────────────
//
// The document is parsed in one streaming pass: events go to the builder as the parser
// produces them, and comments are found lazily, as far into the text as the builder asks.
// Whether a `#` starts a comment depends on whether it lies inside a scalar, which is known
// once the parser has produced the scalars up to it; the parser is then read ahead into a
// small buffer. When the next comment is far ahead (more than `READ_AHEAD` events), a second
// parser over the same text supplies the scalar positions instead, so memory stays bounded.

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
        /// Hashes of the keys so far: duplicates are refused (sops/go-yaml refuse them)
        /// without a quadratic scan of big maps.
        seen: HashSet<u64>,
        col: Option<usize>,
        anchor: usize,
    },
    List {
        items: Vec<ListItem<L>>,
        col: Option<usize>,
        anchor: usize,
    },
}

/// Events the main parser may buffer while looking for scalar positions ahead.
const READ_AHEAD: usize = 1024;

type Spanned<'t> = (Event<'t>, Span);

/// The parser events, plus the positions of scalars (in characters, in document order) for
/// the comment scanner, possibly ahead of the events handed out.
struct Source<'t> {
    text: &'t str,
    main: Parser<'t, StrInput<'t>>,
    main_done: bool,
    /// The first syntax error; parsing stops there.
    failed: Option<saphyr_parser::ScanError>,
    ahead: VecDeque<Spanned<'t>>,
    /// Scalars seen by the main parser so far.
    main_scalars: usize,
    /// The second parser, only for scalar positions; `None` until needed.
    scout: Option<Parser<'t, StrInput<'t>>>,
    scout_done: bool,
    scout_scalars: usize,
    /// Scalar spans not yet passed by the comment scanner.
    spans: VecDeque<(usize, usize)>,
    /// Scalars ever pushed to `spans`; every scalar up to here is known.
    spans_total: usize,
    /// All scalars are known.
    spans_complete: bool,
}

fn syntax_error(e: &saphyr_parser::ScanError) -> StoreError {
    StoreError::syntax(
        e.marker().line(),
        e.marker().col() + 1,
        e.info().to_string(),
    )
}

impl<'t> Source<'t> {
    fn new(text: &'t str) -> Self {
        Source {
            text,
            main: Parser::new_from_str(text),
            main_done: false,
            failed: None,
            ahead: VecDeque::new(),
            main_scalars: 0,
            scout: None,
            scout_done: false,
            scout_scalars: 0,
            spans: VecDeque::new(),
            spans_total: 0,
            spans_complete: false,
        }
    }

    /// Records the `n`-th scalar (0-based) of the document, whichever parser saw it first.
    fn saw_scalar(&mut self, n: usize, span: &Span) {
        if n == self.spans_total {
            self.spans.push_back((span.start.index(), span.end.index()));
            self.spans_total += 1;
        }
    }

    /// The next event of the main parser, read from the parser itself.
    fn pull_main(&mut self) -> Result<Option<Spanned<'t>>, StoreError> {
        if let Some(e) = &self.failed {
            return Err(syntax_error(e));
        }
        if self.main_done {
            return Ok(None);
        }
        match self.main.next_event() {
            None => {
                self.main_done = true;
                self.spans_complete = true;
                Ok(None)
            }
            Some(Err(e)) => {
                let err = syntax_error(&e);
                self.failed = Some(e);
                Err(err)
            }
            Some(Ok((ev, span))) => {
                if matches!(ev, Event::Scalar(..)) {
                    self.saw_scalar(self.main_scalars, &span);
                    self.main_scalars += 1;
                }
                Ok(Some((ev, span)))
            }
        }
    }

    /// The next event for the builder.
    fn next(&mut self) -> Result<Option<Spanned<'t>>, StoreError> {
        match self.ahead.pop_front() {
            Some(ev) => Ok(Some(ev)),
            None => self.pull_main(),
        }
    }

    /// Learns the position of one more scalar (or that there are none): from the main parser
    /// while its read-ahead is small, else from the scout.
    fn learn_span(&mut self) -> Result<(), StoreError> {
        if self.spans_complete {
            return Ok(());
        }
        let use_scout = self.ahead.len() >= READ_AHEAD && !self.scout_done;
        if !use_scout {
            if let Some(ev) = self.pull_main()? {
                self.ahead.push_back(ev);
            }
            return Ok(());
        }
        let text = self.text;
        let scout = self.scout.get_or_insert_with(|| Parser::new_from_str(text));
        match scout.next_event() {
            // A syntax error: the main parser reports it when it gets there.
            None | Some(Err(_)) => {
                self.scout_done = true;
                self.scout = None;
            }
            Some(Ok((ev, span))) => {
                if matches!(ev, Event::Scalar(..)) {
                    self.saw_scalar(self.scout_scalars, &span);
                    self.scout_scalars += 1;
                }
                if matches!(ev, Event::StreamEnd) {
                    self.spans_complete = true;
                    self.scout = None;
                    self.scout_done = true;
                }
            }
        }
        Ok(())
    }

    /// Is character `i` inside a scalar? Spans ending at or before `i` are dropped, so `i`
    /// must not decrease between calls.
    fn in_scalar(&mut self, i: usize) -> Result<bool, StoreError> {
        loop {
            while self.spans.front().is_some_and(|s| s.1 <= i) {
                self.spans.pop_front();
            }
            if let Some(&(start, _)) = self.spans.front() {
                return Ok(start <= i);
            }
            if self.spans_complete {
                return Ok(false);
            }
            self.learn_span()?;
        }
    }

    /// After the builder failed: a syntax error anywhere in the text wins, as when the
    /// whole text was parsed first.
    fn first_syntax_error(&mut self) -> Option<StoreError> {
        self.ahead.clear();
        loop {
            match self.pull_main() {
                Err(e) => return Some(e),
                Ok(None) => return None,
                Ok(Some(_)) => {}
            }
        }
    }
}

/// Finds `#` comments outside scalars, at a line start or after white space, in order and
/// only as far as asked.
struct CommentScanner {
    /// Byte and character position of the next unscanned character.
    byte: usize,
    chr: usize,
    line: usize,
    col: usize,
    line_has_content: bool,
    done: bool,
    found: Vec<Comment>,
}

impl CommentScanner {
    fn new() -> Self {
        CommentScanner {
            byte: 0,
            chr: 0,
            line: 1,
            col: 0,
            line_has_content: false,
            done: false,
            found: Vec::new(),
        }
    }

    /// Moves over `seg` (no comment starts in it), keeping line, column and content state.
    fn skip(&mut self, seg: &str) {
        let n = seg.chars().count();
        self.chr += n;
        self.byte += seg.len();
        match seg.rfind('\n') {
            Some(p) => {
                self.line += seg.bytes().filter(|&b| b == b'\n').count();
                let tail = &seg[p + 1..];
                self.col = tail.chars().count();
                self.line_has_content = tail.chars().any(|c| !c.is_whitespace());
            }
            None => {
                self.col += n;
                self.line_has_content =
                    self.line_has_content || seg.chars().any(|c| !c.is_whitespace());
            }
        }
    }

    /// Scans until more than `want` comments are found, the scan reaches character
    /// `limit`, or the text ends.
    fn scan(
        &mut self,
        text: &str,
        src: &mut Source<'_>,
        want: usize,
        limit: usize,
    ) -> Result<(), StoreError> {
        let bytes = text.as_bytes();
        while !self.done && self.found.len() <= want && self.chr < limit {
            let Some(off) = text[self.byte..].find('#') else {
                self.skip(&text[self.byte..]);
                self.done = true;
                break;
            };
            let hash = self.byte + off;
            self.skip(&text[self.byte..hash]);
            if self.chr >= limit {
                break;
            }
            let after_space = hash == 0 || matches!(bytes[hash - 1], b' ' | b'\t' | b'\n' | b'\r');
            if after_space && !src.in_scalar(self.chr)? {
                let end = text[hash..]
                    .find(['\n', '\r'])
                    .map_or(text.len(), |e| hash + e);
                let body = &text[hash + 1..end];
                self.found.push(Comment {
                    start: self.chr,
                    line: self.line,
                    col: self.col,
                    text: body.to_string(),
                    inline: self.line_has_content,
                    used: false,
                });
                // The comment's own characters count for neither the column nor content.
                self.chr += 1 + body.chars().count();
                self.byte = end;
            } else {
                self.chr += 1;
                self.byte = hash + 1;
                self.col += 1;
                self.line_has_content = true;
            }
        }
        Ok(())
    }
}

/// Character index → byte offset, for saphyr markers (which count characters): the
/// identity for ASCII text, else a checkpoint every `STEP` characters.
struct CharMap {
    ascii: bool,
    checkpoints: Vec<usize>,
}

impl CharMap {
    const STEP: usize = 64;

    fn new(text: &str) -> Self {
        if text.is_ascii() {
            return CharMap {
                ascii: true,
                checkpoints: Vec::new(),
            };
        }
        let checkpoints = text
            .char_indices()
            .step_by(Self::STEP)
            .map(|(b, _)| b)
            .collect();
        CharMap {
            ascii: false,
            checkpoints,
        }
    }

    /// The byte offset of character `i` (the text length past the end).
    fn byte(&self, text: &str, i: usize) -> usize {
        if self.ascii {
            return i.min(text.len());
        }
        let Some(&base) = self.checkpoints.get(i / Self::STEP) else {
            return text.len();
        };
        text[base..]
            .char_indices()
            .nth(i % Self::STEP)
            .map_or(text.len(), |(o, _)| base + o)
    }
}

struct Builder<'t, L> {
    scanner: CommentScanner,
    next_comment: usize,
    stack: Vec<Frame<L>>,
    anchors: HashMap<usize, Node<L>>,
    docs: Vec<Branch<L>>,
    chars: CharMap,
    text: &'t str,
    src: Source<'t>,
    key_hasher: std::hash::RandomState,
}

pub fn parse<L: Leaf>(text: &str) -> Result<(Vec<Branch<L>>, Layout), StoreError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut b = Builder {
        scanner: CommentScanner::new(),
        next_comment: 0,
        stack: Vec::new(),
        anchors: HashMap::new(),
        docs: Vec::new(),
        chars: CharMap::new(text),
        text,
        src: Source::new(text),
        key_hasher: std::hash::RandomState::new(),
    };
    while let Some((ev, span)) = b.src.next()? {
        if let Err(e) = b.event(ev, span) {
            return Err(b.src.first_syntax_error().unwrap_or(e));
        }
    }
    let indent = detect_indent(text);
    Ok((b.docs, Layout { indent }))
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
                    seen: HashSet::new(),
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
                // A flow collection ends at its `}`/`]`; a block one at the next token.
                let byte = self.chars.byte(self.text, at);
                let flow = matches!(self.text.as_bytes().get(byte), Some(b'}' | b']'));
                self.flush_trailing(at, flow)?;
                let frame = self
                    .stack
                    .pop()
                    .ok_or_else(|| err("unbalanced YAML structure"))?;
                let (node, anchor) = match frame {
                    Frame::Map {
                        mut branch, anchor, ..
                    } => {
                        branch.items.shrink_to_fit();
                        (Node::Map(branch), anchor)
                    }
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
                    self.add_value(node, span.end.index())?;
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
                    if let Some(Frame::Map {
                        key, branch, seen, ..
                    }) = self.stack.last_mut()
                    {
                        let k = owned(value);
                        let hash = self.key_hasher.hash_one(&k);
                        if !seen.insert(hash) && branch.get(&k).is_some() {
                            return Err(err(&format!("mapping key {k:?} already defined")));
                        }
                        *key = Some(k);
                    }
                    return Ok(());
                }
                self.before_item(at, span.start.col())?;
                if style == ScalarStyle::Plain && tag.is_none() && inexact_int(&value) {
                    let key = match self.stack.last() {
                        Some(Frame::Map { key: Some(k), .. }) => format!("{k:?}: "),
                        _ => String::new(),
                    };
                    return Err(err(&format!(
                        "{key}integer too large for 64 bits (sops would store it rounded, or refuse it); quote it to keep it as text"
                    )));
                }
                let scalar = resolve_cow(value, style, tag.as_deref().map(|t| t.suffix.as_str()));
                let node = Node::Leaf(L::from_scalar(scalar));
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.add_value(node, span.end.index())?;
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
                self.add_value(node, span.end.index())?;
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
        while self.has_comment(self.next_comment, at)? {
            let c = &mut self.scanner.found[self.next_comment];
            if c.start >= at {
                break;
            }
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
    /// Comments after the last item of a container that belong to it. Indented at least as
    /// far as its items: always. A dedented comment before the closing bracket of a flow
    /// collection: also. After a nested block collection, like go-yaml (and so sops), a
    /// comment indented deeper than the next token is a foot comment of this, the
    /// innermost, block; otherwise it precedes the next key.
    fn flush_trailing(&mut self, end: usize, flow: bool) -> Result<(), StoreError> {
        let col_of = |f: &Frame<L>| match f {
            Frame::Map { col, .. } | Frame::List { col, .. } => col.unwrap_or(0),
        };
        let Some(col) = self.stack.last().map(col_of) else {
            return Ok(());
        };
        let has_parent = self.stack.len() >= 2;
        let next_col = self.column_of(end);
        while self.has_comment(self.next_comment, usize::MAX)? {
            let c = &mut self.scanner.found[self.next_comment];
            if c.start >= end && c.col < col {
                break;
            }
            let foot = !flow && has_parent && c.start < end && c.col > next_col;
            if flow && c.col < col && c.line > 0 && c.start < end {
                // Dedented comment before the end of a flow collection: still ours.
            } else if c.col < col && !foot {
                break;
            }
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

    /// The column of character `at` (0 past the end of the text).
    fn column_of(&self, at: usize) -> usize {
        let byte = self.chars.byte(self.text, at);
        if byte >= self.text.len() {
            return 0;
        }
        let line_start = self.text[..byte].rfind('\n').map_or(0, |i| i + 1);
        self.text[line_start..byte].chars().count()
    }

    /// Is there a comment with this index? Scans for it no further than character `limit`.
    fn has_comment(&mut self, index: usize, limit: usize) -> Result<bool, StoreError> {
        if index >= self.scanner.found.len() {
            self.scanner.scan(self.text, &mut self.src, index, limit)?;
        }
        Ok(index < self.scanner.found.len())
    }

    /// Adds a finished value to the innermost container and attaches an end-of-line comment
    /// on the same line as an inline comment before the entry, as sops does.
    fn add_value(&mut self, node: Node<L>, end: usize) -> Result<(), StoreError> {
        let inline = self.inline_comment_after(end)?;
        let Some(frame) = self.stack.last_mut() else {
            return Ok(());
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
        Ok(())
    }

    fn inline_comment_after(&mut self, end: usize) -> Result<Option<String>, StoreError> {
        // Only for scalars/flow values: the rest of their line is white space then '#'.
        let bytes = self.text.as_bytes();
        let from = self.chars.byte(self.text, end);
        let mut b = from;
        while b < bytes.len() && matches!(bytes[b], b' ' | b'\t') {
            b += 1;
        }
        if b >= bytes.len() || bytes[b] != b'#' {
            return Ok(None);
        }
        // Spaces and tabs are one byte each.
        let i = end + (b - from);
        self.scanner
            .scan(self.text, &mut self.src, usize::MAX, i + 1)?;
        let from = self.next_comment.min(self.scanner.found.len());
        let Some(c) = self.scanner.found[from..].iter_mut().find(|c| c.start == i) else {
            return Ok(None);
        };
        if c.used || !c.inline {
            return Ok(None);
        }
        c.used = true;
        Ok(Some(std::mem::take(&mut c.text)))
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
    resolve_cow(Cow::Borrowed(value), style, tag)
}

/// [`resolve`], keeping an owned string without copying it.
fn resolve_cow(value: Cow<'_, str>, style: ScalarStyle, tag: Option<&str>) -> Scalar {
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
fn owned(value: Cow<'_, str>) -> String {
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
fn inexact_int(v: &str) -> bool {
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
    plain.parse().ok()
}

// ───────────────────────────── emitting ─────────────────────────────

/// Emits branches as YAML documents separated by `---`.
pub fn emit<L: Leaf>(branches: &[Branch<L>], layout: Layout) -> Result<String, StoreError> {
    emit_with_entry(branches, layout, None)
}

/// [`emit`], with `extra` written as a last entry of every document, as if each branch
/// ended with it (how the `sops` metadata is added without copying the branches).
pub fn emit_with_entry<L: Leaf>(
    branches: &[Branch<L>],
    layout: Layout,
    extra: Option<(&str, &Node<L>)>,
) -> Result<String, StoreError> {
    let indent = layout.indent.max(2);
    // Reserving the output's size up front spares large files the copies of a growing buffer.
    let extra_len = extra.map_or(0, |(k, v)| k.len() + node_len(v, indent, indent));
    let estimate: usize = branches
        .iter()
        .map(|b| branch_len(b, 0, indent) + extra_len + 4)
        .sum();
    let mut out = String::with_capacity(estimate + estimate / 16);
    for (i, branch) in branches.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        if extra.is_none()
            && branch
                .items
                .iter()
                .all(|it| !matches!(it, Item::Entry { .. }))
            && branch.items.is_empty()
        {
            out.push_str("{}\n");
            continue;
        }
        emit_map_items(&mut out, branch, 0, indent, None, extra);
    }
    Ok(out)
}

/// Roughly the length of a map's YAML text at column `col` (for reserving the output).
fn branch_len<L: Leaf>(branch: &Branch<L>, col: usize, indent: usize) -> usize {
    branch
        .items
        .iter()
        .map(|item| match item {
            Item::Entry { key, value } => {
                col + key.len() + 2 + node_len(value, col + indent, indent)
            }
            Item::Comment { text, .. } => col + scalar_len(text.scalar()) + 2,
            Item::Blank => 0,
        })
        .sum()
}

fn node_len<L: Leaf>(node: &Node<L>, col: usize, indent: usize) -> usize {
    match node {
        Node::Leaf(l) => scalar_len(l.scalar()) + 2,
        Node::Map(b) => branch_len(b, col, indent) + 4,
        Node::List(items) => {
            items
                .iter()
                .map(|item| match item {
                    ListItem::Value(v) => col + 2 + node_len(v, col + indent, indent),
                    ListItem::Comment { text, .. } => col + scalar_len(text.scalar()) + 2,
                })
                .sum::<usize>()
                + 4
        }
    }
}

fn scalar_len(s: &Scalar) -> usize {
    match s {
        Scalar::Str(t) | Scalar::Time(t) | Scalar::Comment(t) => t.len() + 2,
        Scalar::Bytes(b) | Scalar::RawStr(b) => b.len() * 2 + 12,
        _ => 24,
    }
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
    emit_map_items(out, branch, col, indent, None, None);
}

/// Writes a map's items at column `col`; `first_prefix` replaces the indentation of the
/// first line (used for `- key: value` in lists); `extra` is written as a last entry.
fn emit_map_items<L: Leaf>(
    out: &mut String,
    branch: &Branch<L>,
    col: usize,
    indent: usize,
    mut first_prefix: Option<&str>,
    extra: Option<(&str, &Node<L>)>,
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
                push_text(out, key);
                out.push(':');
                emit_value(out, value, col, indent, std::mem::take(&mut inline), true);
            }
        }
    }
    if let Some((key, value)) = extra {
        start_line(out, &mut first_prefix);
        push_text(out, key);
        out.push(':');
        emit_value(out, value, col, indent, std::mem::take(&mut inline), true);
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
                        pad(out, deeper(col, indent));
                        out.push_str(line);
                    }
                    out.push('\n');
                }
            } else {
                out.push(' ');
                push_scalar(out, s);
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
            emit_map(out, b, deeper(col, indent), indent);
        }
        Node::List(items) => {
            out.push_str(&suffix);
            out.push('\n');
            let item_col = if in_map { deeper(col, indent) } else { col };
            emit_list(out, items, item_col, indent);
        }
    }
}

/// A list alone as a YAML document (`- a\n- b\n`, `[]` without values): an extracted
/// list, as sops prints it.
pub fn emit_list_document<L: Leaf>(items: &[ListItem<L>], layout: Layout) -> String {
    if items.is_empty() {
        return "[]\n".into();
    }
    let mut out = String::new();
    emit_list(&mut out, items, 0, layout.indent.max(2));
    out
}

/// The column of a block nested under one at `col`: go-yaml aligns it to the next multiple
/// of the indent (a map inside `- ` starts 2 columns in, so with 4 spaces `enc: |` at
/// column 10 has its lines at 12, as sops writes them, not 14).
fn deeper(col: usize, indent: usize) -> usize {
    match indent {
        0 => col,
        n => n * ((col + n) / n),
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
                emit_map_items(out, b, col + 2, indent, Some(&prefix), None);
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

/// Appends a scalar as [`scalar_text`] writes it.
fn push_scalar(out: &mut String, s: &Scalar) {
    match s {
        Scalar::Str(t) | Scalar::Time(t) | Scalar::Comment(t) => push_text(out, t),
        other => out.push_str(&scalar_text(other)),
    }
}

/// Appends a string, plain when that reads back as the same string, else double-quoted.
fn push_text(out: &mut String, t: &str) {
    if plain_safe(t) {
        out.push_str(t);
    } else {
        out.push_str(&double_quoted(t));
    }
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
/// an int; an edit then keeps the stored float's ciphertext (crypto::seal).
fn go_yaml_float(f: f64) -> String {
    let (text, exp) = crate::model::tree::go_float_exponent(f);
    if f != 0.0 && !(-4..6).contains(&exp) {
        text
    } else {
        crate::model::tree::format_go_float(f)
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
    fn comments_far_apart_in_a_long_file() {
        // More events between comments than the parser reads ahead: the scout parser finds
        // the scalar positions, and `#` inside quoted scalars stays text.
        let mut src = String::from("# head\n");
        for i in 0..3000 {
            src.push_str(&format!("s{i}:\n    a: v{i}\n    n:\n        deep: {i}\n"));
            if i == 1500 {
                src.push_str("    q: 'x #not a comment'\n");
            }
        }
        src.push_str("# tail\nlast: 1 # inline\n");
        let (b, _) = parse::<Sealed>(&src).unwrap();
        fn comments(b: &Branch<Sealed>, out: &mut Vec<String>) {
            for item in &b.items {
                match item {
                    Item::Comment { text, .. } => out.push(text.0.to_text().to_string()),
                    Item::Entry {
                        value: Node::Map(m),
                        ..
                    } => comments(m, out),
                    _ => {}
                }
            }
        }
        let mut found = Vec::new();
        comments(&b[0], &mut found);
        assert_eq!(found, [" head", " tail", " inline"]);
        assert!(
            matches!(&b[0].items[0], Item::Comment { text, inline: false } if text.0.to_text().as_str() == " head")
        );
        let Some(Node::Map(s1500)) = b[0].get("s1500") else {
            panic!("s1500 is a map")
        };
        assert_eq!(
            s1500.get("q"),
            Some(&Node::Leaf(Sealed(Scalar::Str("x #not a comment".into()))))
        );
    }

    #[test]
    fn char_positions_with_multibyte_text() {
        let src = "é: ü # ñ\n# 日本\nk: 'ä #b' # ok\nz: 日本語 #tail\n";
        // The same output as before comments were found lazily (character positions are
        // mapped to bytes without a table per character).
        assert_eq!(
            round(src),
            "é: ü # ñ\n# 日本\nk: \"ä #b\"\nz: 日本語 #tail\n"
        );
    }

    #[test]
    fn duplicate_keys_are_refused_with_their_line() {
        let e = parse::<Sealed>("a: 1\nb:\n  c: 1\n  c: 2\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 4, column 3: mapping key \"c\" already defined"
        );
        let e = parse::<Sealed>("a: 1\na: 2\n").unwrap_err();
        assert!(e.to_string().starts_with("line 2, column 1:"), "{e}");
        // The same key in different maps and documents is fine.
        assert!(parse::<Sealed>("a: {k: 1}\nb: {k: 1}\n---\na: 2\n").is_ok());
    }

    #[test]
    fn numbers_print_like_go_yaml_and_big_ints_are_not_rounded() {
        let t = parse::<Sealed>("a: 7.0\nb: 1e3\nc: 1e6\nd: 0.0001\ne: 1e20\nf: 2.5\n")
            .unwrap()
            .0;
        let out = emit(&t, Layout { indent: 4 }).unwrap();
        assert_eq!(
            out,
            "a: 7\nb: 1000\nc: 1e+06\nd: 0.0001\ne: 1e+20\nf: 2.5\n"
        );
        let e = parse::<Sealed>("x: 1\nbig: 12345678901234567890\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("line 2, column 6: \"big\": integer too large"),
            "{e}"
        );
        assert!(!e.to_string().contains("1234567890"), "{e}");
        assert!(parse::<Sealed>("big: \"12345678901234567890\"\n").is_ok());
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
