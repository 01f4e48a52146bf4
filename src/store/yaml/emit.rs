//! The emitter: go-yaml v3's layout (what sops writes), so that a file sops wrote changes
//! only in the lines of the values that changed.

use super::super::{Layout, StoreError};
use super::scalar::{literal_block, push_scalar, push_string};
use crate::model::tree::Leaf;
use crate::model::{Branch, Item, ListItem, Node, Scalar, SecretText};

// ───────────────────────────── emitting ─────────────────────────────

/// Emits branches as YAML documents separated by `---`, into a [`SecretText`] (the text is
/// plaintext for a decrypted tree; values and comments are written straight into it, and
/// it is sized first).
pub fn emit<L: Leaf>(branches: &[Branch<L>], layout: Layout) -> Result<SecretText, StoreError> {
    emit_with_entry(branches, layout, None)
}

/// [`emit`], with `extra` written as a last entry of every document, as if each branch
/// ended with it (how the `sops` metadata is added without copying the branches).
pub fn emit_with_entry<L: Leaf>(
    branches: &[Branch<L>],
    layout: Layout,
    extra: Option<(&str, &Node<L>)>,
) -> Result<SecretText, StoreError> {
    let indent = layout.indent.max(2);
    // Reserving the output's size up front spares large files the copies of a growing buffer.
    let extra_len = extra.map_or(0, |(k, v)| k.len() + node_len(v, indent, indent));
    let estimate: usize = branches
        .iter()
        .map(|b| branch_len(b, 0, indent) + extra_len + 4)
        .sum();
    let mut out = SecretText::with_capacity(estimate + estimate / 16);
    for (i, branch) in branches.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        emit_map_items(&mut out, &branch.items, 0, indent, None, extra);
        // A map without entries is `{}` (after its comments, if any), as go-yaml writes it.
        if extra.is_none() && branch.entries().next().is_none() {
            out.push_str("{}\n");
        }
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

fn pad(out: &mut SecretText, n: usize) {
    out.push_repeated(' ', n);
}

/// A comment on its own line at column `col`.
fn comment_line<L: Leaf>(out: &mut SecretText, col: usize, text: &L) {
    pad(out, col);
    out.push('#');
    push_comment(out, text);
    out.push('\n');
}

/// The comments of `inline` after a value on its line: ` #a #b`.
fn push_suffix<L: Leaf>(out: &mut SecretText, inline: &[&L]) {
    for text in inline {
        out.push_str(" #");
        push_comment(out, *text);
    }
}

fn emit_map<L: Leaf>(out: &mut SecretText, branch: &Branch<L>, col: usize, indent: usize) {
    emit_map_items(out, &branch.items, col, indent, None, None);
}

/// Writes a map's items at column `col`; `first_prefix` replaces the indentation of the
/// first line (used for `- key: value` in lists); `extra` is written as a last entry.
fn emit_map_items<'a, L: Leaf>(
    out: &mut SecretText,
    items: &'a [Item<L>],
    col: usize,
    indent: usize,
    mut first_prefix: Option<&str>,
    extra: Option<(&str, &'a Node<L>)>,
) {
    let mut inline: Vec<&'a L> = Vec::new();
    let start_line = |out: &mut SecretText, first: &mut Option<&str>| match first.take() {
        Some(p) => out.push_str(p),
        None => pad(out, col),
    };
    for item in items {
        match item {
            Item::Blank => {}
            Item::Comment { text, inline: true } => inline.push(text),
            Item::Comment { text, .. } => {
                start_line(out, &mut first_prefix);
                out.push('#');
                push_comment(out, text);
                out.push('\n');
            }
            Item::Entry { key, value } if needs_explicit_key(key) => {
                start_line(out, &mut first_prefix);
                out.push('?');
                let key = Node::Leaf(L::from_scalar(Scalar::Str(key.clone())));
                emit_value(out, &key, col, indent, Vec::new(), true);
                emit_explicit_value(out, value, col, indent, std::mem::take(&mut inline));
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
        comment_line(out, col, text);
    }
    if let Some(p) = first_prefix {
        // A list item holding an empty map.
        out.push_str(p.trim_end());
        out.push_str(" {}\n");
    }
}

/// go-yaml writes a key that cannot be a simple key (over 128 bytes, or holding a line
/// break) as `? key` on its own, then `: value`.
fn needs_explicit_key(key: &str) -> bool {
    key.len() > 128 || key.contains('\n')
}

/// The `: value` part after an explicit `? key`: a block starts on the colon's line, at
/// the column it would have under a simple key (`:   c: 1`), as go-yaml writes it.
fn emit_explicit_value<L: Leaf>(
    out: &mut SecretText,
    value: &Node<L>,
    col: usize,
    indent: usize,
    inline: Vec<&L>,
) {
    let mut prefix = " ".repeat(col);
    prefix.push(':');
    // At least one space after the colon (a small indent in a list item leaves none).
    let inner = deeper(col, indent).max(col + 2);
    match value {
        Node::Map(b)
            if matches!(b.items.first(), Some(Item::Entry { .. })) && inline.is_empty() =>
        {
            prefix.push_str(&" ".repeat(inner - col - 1));
            emit_map_items(out, &b.items, inner, indent, Some(&prefix), None);
        }
        Node::List(items)
            if matches!(items.first(), Some(ListItem::Value(_))) && inline.is_empty() =>
        {
            prefix.push_str(&" ".repeat(inner - col - 1));
            emit_list(out, items, inner, indent, Some(&prefix));
        }
        _ => {
            out.push_str(&prefix);
            emit_value(out, value, col, indent, inline, true);
        }
    }
}

/// Appends a comment's text (a line break in it as a space), written straight from the
/// value.
fn push_comment<L: Leaf>(out: &mut SecretText, l: &L) {
    match l.scalar() {
        Scalar::Comment(c) | Scalar::Str(c) => {
            for (i, part) in c.split('\n').enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(part);
            }
        }
        other => other.write_text(out),
    }
}

/// Writes what follows `key:` or `-`; `in_map` says whether a nested list is indented.
fn emit_value<L: Leaf>(
    out: &mut SecretText,
    value: &Node<L>,
    col: usize,
    indent: usize,
    inline: Vec<&L>,
    in_map: bool,
) {
    match value {
        Node::Leaf(l) => {
            let s = l.scalar();
            // go-yaml indents a block under a key one step, under `- ` two columns.
            let body_col = if in_map { deeper(col, indent) } else { col + 2 };
            if let Some((header, body)) = literal_block(s, body_col - col) {
                out.push(' ');
                out.push_str(&header);
                push_suffix(out, &inline);
                out.push('\n');
                body.write(out, body_col);
            } else {
                out.push(' ');
                push_scalar(out, s);
                push_suffix(out, &inline);
                out.push('\n');
            }
        }
        // Empty, or holding comments only (`{# c\n}`): written `{}` with the comments on
        // the lines after it, where they read back as the parent's; as a block, the
        // comments alone would read back as null.
        Node::Map(b) if b.entries().next().is_none() => {
            out.push_str(" {}");
            push_suffix(out, &inline);
            out.push('\n');
            for item in &b.items {
                if let Item::Comment { text, .. } = item {
                    comment_line(out, col, text);
                }
            }
        }
        Node::List(items) if !has_values(items) => {
            out.push_str(" []");
            push_suffix(out, &inline);
            out.push('\n');
            for item in items {
                if let ListItem::Comment { text, .. } = item {
                    comment_line(out, col, text);
                }
            }
        }
        Node::Map(b) => {
            push_suffix(out, &inline);
            out.push('\n');
            emit_map(out, b, deeper(col, indent), indent);
        }
        Node::List(items) => {
            push_suffix(out, &inline);
            out.push('\n');
            let item_col = if in_map { deeper(col, indent) } else { col };
            emit_list(out, items, item_col, indent, None);
        }
    }
}

fn has_values<L>(items: &[ListItem<L>]) -> bool {
    items.iter().any(|i| matches!(i, ListItem::Value(_)))
}

/// Whether a list inside a list item is written as a block below its dash (`-` then the
/// items one step in) rather than compactly (`- - a`): when, after the comments that open
/// it (written above), an inline comment comes first.
fn opens_below<L>(inner: &[ListItem<L>]) -> bool {
    let mut rest = inner
        .iter()
        .skip_while(|i| matches!(i, ListItem::Comment { inline: false, .. }));
    !matches!(rest.next(), Some(ListItem::Value(_)))
}

/// A list alone as a YAML document (`- a\n- b\n`, `[]` without values): an extracted
/// list, as sops prints it.
pub fn emit_list_document<L: Leaf>(items: &[ListItem<L>], layout: Layout) -> SecretText {
    let mut out = SecretText::new();
    if items.is_empty() {
        out.push_str("[]\n");
        return out;
    }
    emit_list(&mut out, items, 0, layout.indent.max(2), None);
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

/// Writes a list's items at column `col`; `first_prefix` replaces the indentation of the
/// first line (a list inside a list is written compactly, `- - a`, as go-yaml does).
fn emit_list<L: Leaf>(
    out: &mut SecretText,
    items: &[ListItem<L>],
    col: usize,
    indent: usize,
    mut first_prefix: Option<&str>,
) {
    let item_prefix = |first: &mut Option<&str>| {
        let mut prefix = match first.take() {
            Some(p) => p.to_string(),
            None => " ".repeat(col),
        };
        prefix.push_str("- ");
        prefix
    };
    // Comments after the last item: at the dash when that item is a scalar (as sops writes
    // them), else at the item's column: at the dash they would read back as the parent's.
    let last_value = items
        .iter()
        .rposition(|item| matches!(item, ListItem::Value(_)));
    // Readers place the list at its first item's text: `- a` at col + 2, and a list whose
    // items go below (`-` then `    - a`, an inline comment first) one step in. Comments
    // written left of that would read back as the parent's, one level up per write.
    let first_text_col = match items.iter().find(|i| matches!(i, ListItem::Value(_))) {
        Some(ListItem::Value(Node::List(inner))) if opens_below(inner) => col + indent,
        _ => col + 2,
    };
    let trailing_col = match last_value.map(|i| &items[i]) {
        Some(ListItem::Value(Node::Map(b))) if b.entries().next().is_some() => first_text_col,
        Some(ListItem::Value(Node::List(l))) if has_values(l) => first_text_col,
        _ => col,
    };
    let mut inline = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let comment_col = if last_value.is_some_and(|last| i > last) {
            trailing_col
        } else {
            col
        };
        match item {
            ListItem::Comment { text, inline: true } => inline.push(text),
            ListItem::Comment { text, .. } => comment_line(out, comment_col, text),
            ListItem::Value(Node::Map(b)) if b.entries().next().is_some() => {
                for text in std::mem::take(&mut inline) {
                    comment_line(out, line_col(first_prefix, col), text);
                }
                let lead = b
                    .items
                    .iter()
                    .take_while(|i| matches!(i, Item::Comment { inline: false, .. } | Item::Blank))
                    .count();
                for item in &b.items[..lead] {
                    if let Item::Comment { text, .. } = item {
                        comment_line(out, line_col(first_prefix, col), text);
                    }
                }
                let prefix = item_prefix(&mut first_prefix);
                emit_map_items(out, &b.items[lead..], col + 2, indent, Some(&prefix), None);
            }
            ListItem::Value(Node::List(inner)) if has_values(inner) => {
                for text in std::mem::take(&mut inline) {
                    comment_line(out, line_col(first_prefix, col), text);
                }
                let lead = inner
                    .iter()
                    .take_while(|i| matches!(i, ListItem::Comment { inline: false, .. }))
                    .count();
                for c in &inner[..lead] {
                    if let ListItem::Comment { text, .. } = c {
                        comment_line(out, line_col(first_prefix, col), text);
                    }
                }
                let rest = &inner[lead..];
                if !opens_below(inner) {
                    let prefix = item_prefix(&mut first_prefix);
                    emit_list(out, rest, col + 2, indent, Some(&prefix));
                } else {
                    // An inline comment first: the items go below, as a block of their own.
                    let prefix = item_prefix(&mut first_prefix);
                    out.push_str(prefix.trim_end());
                    out.push('\n');
                    emit_list(out, rest, col + indent, indent, None);
                }
            }
            ListItem::Value(v) => {
                match first_prefix.take() {
                    Some(p) => out.push_str(p),
                    None => pad(out, col),
                }
                out.push('-');
                emit_value(out, v, col, indent, std::mem::take(&mut inline), false);
            }
        }
    }
    for text in inline {
        comment_line(out, col, text);
    }
}

/// The column where the line of a list item starts: its own, or that of the compact chain
/// (`- - - a`) it ends. Comments that open an item's map or list are written above that line:
/// readers give them to the outermost list of the chain, which writes them back there; after
/// the `- ` they would move up one list level with every write.
fn line_col(first_prefix: Option<&str>, col: usize) -> usize {
    first_prefix.map_or(col, |p| p.len() - p.trim_start_matches(' ').len())
}

/// Appends a map key as go-yaml writes it.
fn push_text(out: &mut SecretText, key: &str) {
    push_string(out, key, true);
}
