//! The parser front: saphyr events become a `Branch` tree, one per document, with the
//! recovered comments attached the way sops does: a comment line is an item before the
//! entry that follows it; an end-of-line comment is an inline item before the entry it ends.
//
// The document is parsed in one streaming pass: events go to the builder as the parser
// produces them, and comments are found lazily, as far into the text as the builder asks.
// Whether a `#` starts a comment depends on whether it lies inside a scalar, which is known
// once the parser has produced the scalars up to it; the parser is then read ahead into a
// small buffer. When the next comment is far ahead (more than `READ_AHEAD` events), a second
// parser over the same text supplies the scalar positions instead, so memory stays bounded.

use saphyr_parser::{Event, ScalarStyle, Span};
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;

use super::super::{Layout, StoreError};
use super::comments::CommentScanner;
use super::scalar::{inexact_int, owned, refusal, resolve, resolve_cow};
use super::source::{CharMap, Source};
use crate::model::tree::Leaf;
use crate::model::{Branch, Item, ListItem, Node, Scalar};

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
                let tag = tag.as_deref().map(|t| t.suffix.as_str());
                if let Some(why) = refusal(&value, style, tag) {
                    let key = match self.stack.last() {
                        Some(Frame::Map { key: Some(k), .. }) => format!("{k:?}: "),
                        _ => String::new(),
                    };
                    return Err(err(&format!("{key}{why}")));
                }
                let scalar = resolve_cow(value, style, tag);
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
