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
use std::collections::HashMap;
use std::hash::BuildHasher;

use super::super::{limits, Layout, StoreError};
use super::comments::CommentScanner;
use super::scalar::{inexact_int, owned, plain_non_string, refusal, resolve, resolve_cow};
use super::source::Source;
use crate::model::tree::Leaf;
use crate::model::{Branch, Item, ListItem, Node, Scalar};

enum Frame<L> {
    Map {
        branch: Branch<L>,
        key: Option<String>,
        /// Hashes of the keys so far: duplicates are refused (sops/go-yaml refuse them)
        /// without a quadratic scan of big maps.
        seen: foldhash::HashSet<u64>,
        col: Option<usize>,
        anchor: usize,
    },
    List {
        items: Vec<ListItem<L>>,
        /// Where its first item's text starts (comments are placed by it).
        col: Option<usize>,
        /// The column of its first dash: the list's own indentation.
        dash: usize,
        anchor: usize,
    },
}

/// A node's size (values and containers) and height (levels below it).
#[derive(Clone, Copy)]
struct Shape {
    size: usize,
    height: usize,
    /// Bytes of the keys and values inside: what an alias of it copies into memory.
    bytes: usize,
}

struct Builder<'t, L> {
    scanner: CommentScanner,
    next_comment: usize,
    stack: Vec<Frame<L>>,
    /// Anchored nodes with their size and height, so an alias is checked before copying.
    anchors: HashMap<usize, (Node<L>, Shape)>,
    /// The size and height of each open container (parallel to `stack`).
    shapes: Vec<Shape>,
    /// Values written in the text, and values added by aliases.
    written: usize,
    aliased: usize,
    aliased_bytes: usize,
    docs: Vec<Branch<L>>,
    text: &'t str,
    src: Source<'t>,
    key_hasher: foldhash::fast::RandomState,
    /// The current document started with `---`.
    explicit_doc: bool,
    /// An empty document was pushed and its comments are still to come.
    empty_doc_open: bool,
    /// Documents with a map or an explicit null at their top.
    written_docs: usize,
    /// Where the last block container ended, while only block ends have followed it.
    block_end_at: Option<usize>,
    /// The column of the first nested block collection: the file's indentation step.
    first_nested_col: Option<usize>,
}

pub fn parse<L: Leaf>(text: &str) -> Result<(Vec<Branch<L>>, Layout), StoreError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = &*lone_cr_as_lf(text);
    let mut b = Builder {
        scanner: CommentScanner::new(),
        next_comment: 0,
        stack: Vec::new(),
        anchors: HashMap::new(),
        shapes: Vec::new(),
        written: 0,
        aliased: 0,
        aliased_bytes: 0,
        docs: Vec::new(),
        text,
        src: Source::new(text),
        key_hasher: foldhash::fast::RandomState::default(),
        block_end_at: None,
        first_nested_col: None,
        written_docs: 0,
        empty_doc_open: false,
        explicit_doc: false,
    };
    while let Some((ev, span)) = b.src.next()? {
        if let Err(e) = b.event(ev, span) {
            return Err(b.src.first_syntax_error().unwrap_or(e));
        }
    }
    if b.written_docs == 0 {
        // No text but comments: no document at all, which sops refuses to encrypt ("cannot
        // be completely empty"); `{}`, `~` and `---` are documents.
        b.docs.clear();
    }
    // The indentation step: where the first nested block map or list starts (2 for old
    // sops files, 4 for new ones, and go-yaml's 4 without one). Not the first indented
    // line, which may be a block scalar's text: that made the step change with each write.
    let indent = b.first_nested_col.map_or(4, |n| n.clamp(2, 8));
    Ok((b.docs, Layout { indent }))
}

impl<L: Leaf> Builder<'_, L> {
    /// Notes the indentation of the line where the first block map or list nested in
    /// another starts (the dash's column for a list: its event starts at the item's text;
    /// a flow one, `{` or `[`, says nothing about indentation).
    fn note_nested_col(&mut self, at: usize) {
        if self.first_nested_col.is_some() || self.stack.is_empty() {
            return;
        }
        let byte = self.src.chars.byte(self.text, at);
        if self.text[byte..].starts_with(['{', '[']) {
            return;
        }
        let line_start = self.text[..byte].rfind('\n').map_or(0, |n| n + 1);
        // Only a collection that starts its own line shows the step: after `- ` or an
        // explicit key's `: ` its column says nothing about it.
        let line = &self.text[line_start..byte];
        if line.is_empty() || !line.trim_start_matches(' ').is_empty() {
            return;
        }
        // The step is the distance from the parent's column, not from the margin: under an
        // explicit key (`: ne:` then `    - a`) the parent is already 2 columns in.
        let parent = match self.stack.last() {
            Some(Frame::Map { col, .. }) => col.unwrap_or(0),
            Some(Frame::List { dash, .. }) => *dash,
            None => 0,
        };
        let step = line.len().saturating_sub(parent);
        if step > 0 {
            self.first_nested_col = Some(step);
        }
    }

    fn event(&mut self, ev: Event<'_>, span: Span) -> Result<(), StoreError> {
        let at = span.start.index();
        // Block ends at one position close nested blocks, innermost first.
        let cascade = self.block_end_at.take();
        let value_end = self.src.value_end(&ev, &span);
        let err = |msg: &str| StoreError::syntax(span.start.line(), span.start.col() + 1, msg);
        match ev {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            Event::DocumentEnd => {
                if std::mem::take(&mut self.empty_doc_open) {
                    self.flush_empty_document(at)?;
                }
            }
            Event::DocumentStart(explicit) => self.explicit_doc = explicit,
            Event::MappingStart(anchor, _) => {
                self.note_nested_col(at);
                self.refuse_collection_key(&err)?;
                self.open_container(&err)?;
                self.key_line_comment(at)?;
                self.before_item(at, span.start.col())?;
                self.stack.push(Frame::Map {
                    branch: Branch::new(),
                    key: None,
                    seen: foldhash::HashSet::default(),
                    col: None,
                    anchor,
                });
            }
            Event::SequenceStart(anchor, _) => {
                if self.stack.is_empty() {
                    return Err(err("YAML documents that are sequences are not supported; the top level must be a map"));
                }
                self.note_nested_col(at);
                self.refuse_collection_key(&err)?;
                self.open_container(&err)?;
                self.key_line_comment(at)?;
                self.before_item(at, span.start.col())?;
                self.stack.push(Frame::List {
                    items: Vec::new(),
                    col: None,
                    dash: span.start.col(),
                    anchor,
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                // A flow collection ends at its `}`/`]`; a block one at the next token.
                let byte = self.src.chars.byte(self.text, at);
                let flow = matches!(self.text.as_bytes().get(byte), Some(b'}' | b']'));
                let innermost = !flow && cascade != Some(at);
                self.flush_trailing(at, flow, innermost)?;
                if !flow {
                    self.block_end_at = Some(at);
                }
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
                let shape = self.shapes.pop().unwrap_or(Shape {
                    size: 1,
                    height: 0,
                    bytes: 0,
                });
                if anchor > 0 {
                    self.anchors.insert(anchor, (node.clone(), shape));
                }
                if self.stack.is_empty() {
                    match node {
                        Node::Map(b) => {
                            self.written_docs += 1;
                            self.docs.push(b);
                        }
                        _ => return Err(err("the top level of a YAML document must be a map")),
                    }
                } else {
                    // saphyr's span of a closing bracket runs on over a trailing comment.
                    let value_end = if flow { at + 1 } else { span.end.index() };
                    self.grow(shape);
                    self.add_value(node, value_end)?;
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                if self.stack.is_empty() {
                    // An empty document (or one holding only `null`) is an empty map.
                    let scalar = resolve(&value, style, tag.as_deref().map(|t| t.suffix.as_str()));
                    if scalar == Scalar::Null {
                        // `---`, `~` or `null` written out is a document, as for sops;
                        // text of comments only is none.
                        let written = self.explicit_doc || !value.is_empty() || tag.is_some();
                        self.written_docs += usize::from(written);
                        self.docs.push(Branch::new());
                        self.empty_doc_open = true;
                        return Ok(());
                    }
                    return Err(err(
                        "the top level of a YAML document must be a map, not a value",
                    ));
                }
                let is_key = matches!(self.stack.last(), Some(Frame::Map { key: None, .. }));
                if is_key {
                    // Resolved without copying the key: most keys are plain strings.
                    let resolved = match (&tag, style) {
                        (None, ScalarStyle::Plain) => plain_non_string(&value),
                        (None, _) => None,
                        (Some(t), _) => Some(resolve(&value, style, Some(t.suffix.as_str()))),
                    };
                    if let Some(kind) = resolved.as_ref().and_then(non_string_kind) {
                        return Err(err(&format!(
                            "map key {:?} is {kind}, not a string: sops accepts only string keys; quote it",
                            &*value
                        )));
                    }
                    self.before_item(at, span.start.col())?;
                    if let Some(shape) = self.shapes.last_mut() {
                        shape.bytes = shape.bytes.saturating_add(value.len());
                    }
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
                // `- - # c`: saphyr puts the empty item after the comment on its line, which
                // would open the inner list with the comment, a place the emitter cannot
                // write (`- - null` is one line); go-yaml, and so sops, gives it to the list
                // after the item.
                let empty_item_comment = if value.is_empty()
                    && style == ScalarStyle::Plain
                    && matches!(self.stack.last(), Some(Frame::List { .. }))
                {
                    self.take_comment_on_line_before(at)?
                } else {
                    None
                };
                // A block scalar starts at its header (`- |`), the line before its text.
                let (item_at, item_col) = match value_end {
                    Some(_) => (at, span.start.col()),
                    None => self.src.block_header(at),
                };
                self.before_item(item_at, item_col)?;
                // An empty value (`k: # c`): the comment is on its key's line, after the
                // place saphyr gives the empty scalar.
                let empty_value_comment = if value.is_empty() && style == ScalarStyle::Plain {
                    let line_end = self.line_end(at);
                    self.take_key_line_comment(line_end)?
                } else {
                    None
                };
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
                let leaf = Shape {
                    size: 1,
                    height: 0,
                    bytes: value.len(),
                };
                let scalar = resolve_cow(value, style, tag);
                let node = Node::Leaf(L::from_scalar(scalar));
                if anchor > 0 {
                    self.anchors.insert(anchor, (node.clone(), leaf));
                }
                self.written += 1;
                self.grow(leaf);
                match value_end {
                    _ if empty_value_comment.is_some() => {
                        self.add_value_with(node, empty_value_comment)?
                    }
                    Some(end) => self.add_value(node, end)?,
                    None => self.add_block_scalar(node, at)?,
                }
                if let Some(text) = empty_item_comment {
                    let text = L::from_scalar(Scalar::Comment(text));
                    push_comment(self.stack.last_mut().expect("in a list"), text, false);
                }
            }
            Event::Alias(id) => {
                let is_key = matches!(self.stack.last(), Some(Frame::Map { key: None, .. }));
                if is_key {
                    return Err(err("aliases used as map keys are not supported"));
                }
                let shape = self
                    .anchors
                    .get(&id)
                    .map(|(_, shape)| *shape)
                    .ok_or_else(|| err("alias to an unknown anchor"))?;
                // Checked before the copy: a billion-laughs file never gets expanded.
                self.aliased = self.aliased.saturating_add(shape.size);
                if self.aliased > limits::alias_budget(self.written) {
                    return Err(err(&format!(
                        "aliases expand to more than {} values (excessive aliasing, as go-yaml says)",
                        limits::alias_budget(self.written)
                    )));
                }
                // And in bytes: one long value aliased thousands of times is few values.
                self.aliased_bytes = self.aliased_bytes.saturating_add(shape.bytes);
                let byte_budget = limits::alias_byte_budget(self.text.len());
                if self.aliased_bytes > byte_budget {
                    return Err(err(&format!(
                        "aliases expand to more than {} MiB of text (excessive aliasing)",
                        byte_budget >> 20
                    )));
                }
                if self.stack.len() + shape.height >= limits::MAX_DEPTH {
                    return Err(err(&format!(
                        "this alias nests values deeper than {} levels",
                        limits::MAX_DEPTH
                    )));
                }
                let node = self.anchors[&id].0.clone();
                self.before_item(at, span.start.col())?;
                self.grow(shape);
                self.add_value(node, span.end.index())?;
            }
        }
        Ok(())
    }

    /// The comments of a document with no map (`---` then `# …`) are its own, as in sops
    /// (printed above `{}`), not the next document's.
    fn flush_empty_document(&mut self, end: usize) -> Result<(), StoreError> {
        let mut comments = Vec::new();
        while let Some(text) = self.next_comment_before(end)? {
            comments.push(Item::Comment {
                text: L::from_scalar(Scalar::Comment(text)),
                inline: false,
            });
        }
        if let Some(doc) = self.docs.last_mut() {
            doc.items.extend(comments);
        }
        Ok(())
    }

    /// A map or list starts: refused past the depth limit (deeper trees would exhaust the
    /// stack of every recursive walk after parsing).
    fn open_container(&mut self, err: &impl Fn(&str) -> StoreError) -> Result<(), StoreError> {
        if self.stack.len() >= limits::MAX_DEPTH {
            return Err(err(&format!(
                "maps and lists nested deeper than {} levels",
                limits::MAX_DEPTH
            )));
        }
        self.written += 1;
        self.shapes.push(Shape {
            size: 1,
            height: 0,
            bytes: 0,
        });
        Ok(())
    }

    /// A comment on the line of a key whose value is a block below it (`db: # c`), or empty,
    /// belongs to that entry, in the outer map, as for sops (which keeps it out of the block: clear or
    /// encrypted by the outer map's rules); the emitter writes it back on the key's line.
    fn key_line_comment(&mut self, at: usize) -> Result<(), StoreError> {
        if let Some(text) = self.take_key_line_comment(at)? {
            let text = L::from_scalar(Scalar::Comment(text));
            match &mut self.stack[..] {
                // A list item's first entry (`- k: # c`): a line above the item, as for
                // `- k: v # c` (sops loses the list's other comments when it stays inline).
                [.., Frame::List { items, .. }, Frame::Map { branch, .. }]
                    if branch.entries().next().is_none() =>
                {
                    items.push(ListItem::Comment {
                        text,
                        inline: false,
                    })
                }
                [.., Frame::Map { branch, .. }] => {
                    branch.items.push(Item::Comment { text, inline: true })
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The first end-of-line comment not yet placed that starts on the line of character
    /// `at`, before it, taken.
    fn take_comment_on_line_before(&mut self, at: usize) -> Result<Option<String>, StoreError> {
        let byte = self.src.chars.byte(self.text, at);
        let line_byte = self.text[..byte].rfind('\n').map_or(0, |n| n + 1);
        let line_start = at - self.text[line_byte..byte].chars().count();
        let mut i = self.next_comment;
        while self.has_comment(i, at)? {
            let c = &mut self.scanner.found[i];
            if c.start >= at {
                break;
            }
            if c.start >= line_start && c.inline && !c.used {
                c.used = true;
                return Ok(Some(std::mem::take(&mut c.text)));
            }
            i += 1;
        }
        Ok(None)
    }

    /// The end-of-line comment after a key whose value is not on the line, before `limit`.
    fn take_key_line_comment(&mut self, limit: usize) -> Result<Option<String>, StoreError> {
        if !matches!(self.stack.last(), Some(Frame::Map { key: Some(_), .. })) {
            return Ok(None);
        }
        if !self.has_comment(self.next_comment, limit)? {
            return Ok(None);
        }
        let c = &mut self.scanner.found[self.next_comment];
        if c.start >= limit || !c.inline || c.used {
            return Ok(None);
        }
        c.used = true;
        self.next_comment += 1;
        Ok(Some(std::mem::take(&mut c.text)))
    }

    /// Counts a finished child into the innermost open container.
    fn grow(&mut self, child: Shape) {
        if let Some(parent) = self.shapes.last_mut() {
            parent.size = parent.size.saturating_add(child.size);
            parent.height = parent.height.max(child.height + 1);
            parent.bytes = parent.bytes.saturating_add(child.bytes);
        }
    }

    /// A list or map where a map key belongs (`[a, b]: v`, `? {k: 1}`): sops refuses
    /// those files, and our tree has string keys only, so we refuse them too.
    fn refuse_collection_key(&self, err: &impl Fn(&str) -> StoreError) -> Result<(), StoreError> {
        if matches!(self.stack.last(), Some(Frame::Map { key: None, .. })) {
            return Err(err(
                "a list or map used as a map key: sops accepts only string keys",
            ));
        }
        Ok(())
    }

    /// Called when an item starts in the innermost container: attach the comments that
    /// precede it there.
    fn before_item(&mut self, at: usize, col: usize) -> Result<(), StoreError> {
        let opens_map = matches!(
            self.stack.last(),
            Some(Frame::Map {
                key: None,
                col: None,
                ..
            })
        );
        let explicit = if opens_map {
            self.explicit_key_col(at)
        } else {
            None
        };
        let starting_entry = match self.stack.last_mut() {
            Some(Frame::Map {
                key: None, col: c, ..
            }) => {
                c.get_or_insert(explicit.unwrap_or(col));
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
        while let Some(text) = self.next_comment_before(at)? {
            let text = L::from_scalar(Scalar::Comment(text));
            push_comment(self.stack.last_mut().expect("checked"), text, false);
        }
        Ok(())
    }

    /// The column of the `?` when the key at character `at` is an explicit one (`? key`
    /// with only spaces before the `?`): the map is indented there, not at the key's text.
    fn explicit_key_col(&self, at: usize) -> Option<usize> {
        let byte = self.src.chars.byte(self.text, at);
        let line_start = self.text[..byte].rfind('\n').map_or(0, |n| n + 1);
        let before = &self.text[line_start..byte];
        let rest = before.trim_start_matches(' ');
        let mark = rest.strip_prefix('?')?;
        (!mark.is_empty() && mark.trim_start_matches([' ', '\t']).is_empty())
            .then(|| before.len() - rest.len())
    }

    /// The next comment not yet placed that starts before character `limit`, taken.
    fn next_comment_before(&mut self, limit: usize) -> Result<Option<String>, StoreError> {
        while self.has_comment(self.next_comment, limit)? {
            let c = &mut self.scanner.found[self.next_comment];
            if c.start >= limit {
                break;
            }
            self.next_comment += 1;
            if !std::mem::replace(&mut c.used, true) {
                return Ok(Some(std::mem::take(&mut c.text)));
            }
        }
        Ok(None)
    }

    /// Places the comments between the last item of the container that is ending and `end`
    /// (where the next token starts), as go-yaml (and so sops) does: a flow collection and a
    /// document's root take them all; a block takes those indented at least as far as its
    /// items, and the innermost block that ends here also takes the first run of comment
    /// lines at one column, however far it is dedented (even left of the next token),
    /// unless it stands at the column of the next token (then it is that token's head
    /// comment). Comments after `end` belong
    /// to what follows, never to a container that ended before them.
    fn flush_trailing(
        &mut self,
        end: usize,
        flow: bool,
        innermost: bool,
    ) -> Result<(), StoreError> {
        let col_of = |f: &Frame<L>| match f {
            Frame::Map { col, .. } | Frame::List { col, .. } => col.unwrap_or(0),
        };
        let Some(col) = self.stack.last().map(col_of) else {
            return Ok(());
        };
        let take_all = flow || self.stack.len() < 2;
        let next_col = self.column_of(end);
        let mut first_run: Option<usize> = None;
        let mut in_first_run = innermost;
        while self.has_comment(self.next_comment, end)? {
            let c = &mut self.scanner.found[self.next_comment];
            if c.start >= end {
                break;
            }
            if !c.used {
                if in_first_run && first_run.is_some_and(|run| run != c.col) {
                    in_first_run = false;
                }
                let first = in_first_run && c.col != next_col;
                if !(take_all || first || c.col >= col) {
                    break;
                }
                first_run.get_or_insert(c.col);
                c.used = true;
                let text = L::from_scalar(Scalar::Comment(std::mem::take(&mut c.text)));
                push_comment(self.stack.last_mut().expect("checked"), text, false);
            }
            self.next_comment += 1;
        }
        Ok(())
    }

    /// The character index of the end of the line holding character `at`.
    fn line_end(&self, at: usize) -> usize {
        let byte = self.src.chars.byte(self.text, at);
        let rest = &self.text[byte.min(self.text.len())..];
        at + rest
            .find('\n')
            .map_or(rest.chars().count(), |n| rest[..n].chars().count())
    }

    /// The column of character `at` (0 past the end of the text).
    fn column_of(&self, at: usize) -> usize {
        let byte = self.src.chars.byte(self.text, at);
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
        self.add_value_with(node, inline)
    }

    /// [`Self::add_value`] with the end-of-line comment already found.
    fn add_value_with(
        &mut self,
        mut node: Node<L>,
        mut inline: Option<String>,
    ) -> Result<(), StoreError> {
        // The end-of-line comment of a list item's first entry (`- k: v # c`) is a line
        // above the item, in the list, where sops puts it (it loses one left inline there).
        let collection = has_values(&node);
        if let [.., Frame::List { items, .. }, Frame::Map { branch, .. }] = &mut self.stack[..] {
            // (After a flow collection the comment goes into it, as below.)
            if branch.entries().next().is_none() && !collection {
                if let Some(text) = inline.take() {
                    items.push(ListItem::Comment {
                        text: L::from_scalar(Scalar::Comment(text)),
                        inline: false,
                    });
                }
            }
        }
        // After a flow collection that the emitter writes as a block (`d: [1, 2] # c`), the
        // comment becomes its first item, as go-yaml reads `d: # c` above block items (in a
        // list, it goes above the item instead, where sops puts it).
        let in_list = matches!(self.stack.last(), Some(Frame::List { .. }));
        if let Some(text) = inline.take_if(|_| has_values(&node) && !in_list) {
            let text = L::from_scalar(Scalar::Comment(text));
            match &mut node {
                Node::List(items) => items.insert(
                    0,
                    ListItem::Comment {
                        text,
                        inline: false,
                    },
                ),
                Node::Map(b) => b.items.insert(
                    0,
                    Item::Comment {
                        text,
                        inline: false,
                    },
                ),
                Node::Leaf(_) => unreachable!("has_values is false for leaves"),
            }
        }
        // After an empty one (`a: [] # c`) it becomes a line after the entry, where sops
        // puts it: go-yaml attaches `a: [] # c` to the empty node, whose comment sops moves.
        let after = inline.take_if(|_| !has_values(&node) && !matches!(node, Node::Leaf(_)));
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
                if let Some(text) = after {
                    branch.items.push(Item::Comment {
                        text: L::from_scalar(Scalar::Comment(text)),
                        inline: false,
                    });
                }
            }
            Frame::List { items, .. } => {
                if let Some(text) = inline {
                    // After a collection item (`- [1, 2] # c`) it is a line above the item.
                    let inline = matches!(node, Node::Leaf(_));
                    items.push(ListItem::Comment {
                        text: L::from_scalar(Scalar::Comment(text)),
                        inline,
                    });
                }
                items.push(ListItem::Value(node));
                if let Some(text) = after {
                    items.push(ListItem::Comment {
                        text: L::from_scalar(Scalar::Comment(text)),
                        inline: false,
                    });
                }
            }
        }
        Ok(())
    }

    /// Adds a block scalar (`k: |- # c` then its text from `text_start`), with the comment
    /// of its header line as the entry's inline comment, where the emitter writes it back.
    fn add_block_scalar(&mut self, node: Node<L>, text_start: usize) -> Result<(), StoreError> {
        let header_start = self.src.previous_line_start(text_start);
        let mut header_comment = None;
        let mut i = self.next_comment;
        while self.has_comment(i, text_start)? {
            let c = &mut self.scanner.found[i];
            if c.start >= text_start {
                break;
            }
            if c.start >= header_start && c.inline && !c.used {
                c.used = true;
                header_comment = Some(std::mem::take(&mut c.text));
                break;
            }
            i += 1;
        }
        self.add_value_with(node, header_comment)
    }

    fn inline_comment_after(&mut self, end: usize) -> Result<Option<String>, StoreError> {
        // Only for scalars/flow values: the rest of their line is white space then '#'.
        let bytes = self.text.as_bytes();
        let from = self.src.chars.byte(self.text, end);
        let mut b = from;
        while b < bytes.len() && matches!(bytes[b], b' ' | b'\t') {
            b += 1;
        }
        // In a flow collection the comment follows the item's comma: `[1, # c`.
        if bytes.get(b) == Some(&b',') {
            b += 1;
            while b < bytes.len() && matches!(bytes[b], b' ' | b'\t') {
                b += 1;
            }
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

/// What a key that is not a string resolves to, for the error (go-yaml decodes `123:`,
/// `true:`, `~:` and `1.5:` to non-string keys, which sops refuses).
fn non_string_kind(key: &Scalar) -> Option<&'static str> {
    match key {
        Scalar::Str(_) => None,
        Scalar::Int(_) => Some("an integer"),
        Scalar::Float(_) => Some("a float"),
        Scalar::Bool(_) => Some("a boolean"),
        Scalar::Null => Some("null"),
        Scalar::Time(_) => Some("a timestamp"),
        _ => Some("not a string"),
    }
}

/// The text with every lone `\r` (one not followed by `\n`) turned into `\n`. YAML (and
/// go-yaml) reads a lone `\r` as a line break, like `\n`, while the comment recovery and
/// the block scalar header lookups count lines by `\n`; one byte replaces another, so every
/// position stays where it was.
fn lone_cr_as_lf(text: &str) -> std::borrow::Cow<'_, str> {
    let bytes = text.as_bytes();
    let lone = |i: usize| bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n');
    if !memchr::memchr_iter(b'\r', bytes).any(lone) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = bytes.to_vec();
    for i in memchr::memchr_iter(b'\r', bytes).filter(|&i| lone(i)) {
        out[i] = b'\n';
    }
    std::borrow::Cow::Owned(String::from_utf8(out).expect("ASCII replaced by ASCII"))
}

/// A collection holding at least one value (emitted as a block, not `[]`/`{}`).
fn has_values<L>(node: &Node<L>) -> bool {
    match node {
        Node::List(items) => items.iter().any(|i| matches!(i, ListItem::Value(_))),
        Node::Map(b) => b.entries().next().is_some(),
        Node::Leaf(_) => false,
    }
}

fn push_comment<L>(frame: &mut Frame<L>, text: L, inline: bool) {
    match frame {
        Frame::Map { branch, .. } => branch.items.push(Item::Comment { text, inline }),
        Frame::List { items, .. } => items.push(ListItem::Comment { text, inline }),
    }
}
