//! The flattened metadata layout of dotenv and INI files: `age__list_0__map_enc`.

use crate::model::{Branch, Item, ListItem, Node, Scalar, Sealed};

const MAP_SEP: &str = "__map_";
const LIST_SEP: &str = "__list_";

/// Flattens nested metadata into `key__list_N__map_sub` entries; with `escape_newlines`
/// newlines in values become the two characters `\n` (INI).
pub fn flatten(md: &Branch<Sealed>, escape_newlines: bool) -> Branch<Sealed> {
    let mut out = Branch::new();
    for (key, value) in md.entries() {
        flatten_node(key.to_string(), value, escape_newlines, &mut out);
    }
    out
}

fn flatten_node(prefix: String, node: &Node<Sealed>, escape: bool, out: &mut Branch<Sealed>) {
    match node {
        Node::Map(b) => {
            for (k, v) in b.entries() {
                flatten_node(format!("{prefix}{MAP_SEP}{k}"), v, escape, out);
            }
        }
        Node::List(items) => {
            let values = items.iter().filter_map(|i| match i {
                ListItem::Value(v) => Some(v),
                ListItem::Comment { .. } => None,
            });
            for (i, v) in values.enumerate() {
                flatten_node(format!("{prefix}{LIST_SEP}{i}"), v, escape, out);
            }
        }
        Node::Leaf(Sealed(Scalar::Str(s))) if escape => out.items.push(Item::Entry {
            key: prefix,
            value: Node::Leaf(Sealed(Scalar::Str(s.replace('\n', "\\n")))),
        }),
        Node::Leaf(l) => out.items.push(Item::Entry {
            key: prefix,
            value: Node::Leaf(l.clone()),
        }),
    }
}

enum Token<'a> {
    Key(&'a str),
    Index(usize),
}

fn tokenize(path: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut rest = path;
    let mut is_index = false;
    loop {
        let next = [
            rest.find(MAP_SEP).map(|p| (p, false)),
            rest.find(LIST_SEP).map(|p| (p, true)),
        ]
        .into_iter()
        .flatten()
        .min_by_key(|(p, _)| *p);
        let (end, next_is_index) = match next {
            Some((p, idx)) => (p, Some(idx)),
            None => (rest.len(), None),
        };
        let part = &rest[..end];
        tokens.push(if is_index {
            Token::Index(part.parse().unwrap_or(0))
        } else {
            Token::Key(part)
        });
        match next_is_index {
            Some(idx) => {
                rest = &rest[end + if idx { LIST_SEP.len() } else { MAP_SEP.len() }..];
                is_index = idx;
            }
            None => return tokens,
        }
    }
}

/// Rebuilds nested metadata from flattened entries (the inverse of [`flatten`]).
pub fn unflatten(flat: &Branch<Sealed>, unescape_newlines: bool) -> Branch<Sealed> {
    let mut root = Branch::new();
    for (key, value) in flat.entries() {
        let value = match value {
            Node::Leaf(Sealed(Scalar::Str(s))) if unescape_newlines => {
                Node::Leaf(Sealed(Scalar::Str(s.replace("\\n", "\n"))))
            }
            other => other.clone(),
        };
        place(&mut root, &tokenize(key), value);
    }
    root
}

fn place(root: &mut Branch<Sealed>, tokens: &[Token<'_>], value: Node<Sealed>) {
    let Some((Token::Key(first), rest)) = tokens.split_first() else {
        return;
    };
    if rest.is_empty() {
        root.insert(first.to_string(), value);
        return;
    }
    let child_is_list = matches!(rest[0], Token::Index(_));
    if root.get(first).is_none() {
        let empty = if child_is_list {
            Node::List(Vec::new())
        } else {
            Node::Map(Branch::new())
        };
        root.insert(first.to_string(), empty);
    }
    place_in(root.get_mut(first).expect("inserted"), rest, value);
}

fn place_in(node: &mut Node<Sealed>, tokens: &[Token<'_>], value: Node<Sealed>) {
    let Some((tok, rest)) = tokens.split_first() else {
        *node = value;
        return;
    };
    let child_is_list = matches!(rest.first(), Some(Token::Index(_)));
    let fresh = || {
        if child_is_list {
            Node::List(Vec::new())
        } else {
            Node::Map(Branch::new())
        }
    };
    match (node, tok) {
        (Node::Map(b), Token::Key(k)) => {
            if b.get(k).is_none() {
                b.insert(
                    k.to_string(),
                    if rest.is_empty() {
                        value.clone()
                    } else {
                        fresh()
                    },
                );
            }
            if !rest.is_empty() {
                place_in(b.get_mut(k).expect("inserted"), rest, value);
            } else {
                b.insert(k.to_string(), value);
            }
        }
        (Node::List(items), Token::Index(i)) => {
            while items.len() <= *i {
                items.push(ListItem::Value(fresh()));
            }
            if let ListItem::Value(slot) = &mut items[*i] {
                place_in(slot, rest, value);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(s: &str) -> Node<Sealed> {
        Node::Leaf(Sealed(Scalar::Str(s.into())))
    }

    #[test]
    fn round_trip() {
        let mut stanza = Branch::new();
        stanza.insert("recipient".into(), leaf("age1x"));
        stanza.insert("enc".into(), leaf("line1\nline2\n"));
        let mut md = Branch::new();
        md.insert(
            "age".into(),
            Node::List(vec![ListItem::Value(Node::Map(stanza))]),
        );
        md.insert("mac".into(), leaf("ENC[x]"));
        let flat = flatten(&md, true);
        let keys: Vec<_> = flat.entries().map(|(k, _)| k.to_string()).collect();
        assert_eq!(
            keys,
            ["age__list_0__map_recipient", "age__list_0__map_enc", "mac"]
        );
        assert_eq!(
            flat.get("age__list_0__map_enc"),
            Some(&leaf("line1\\nline2\\n"))
        );
        assert_eq!(unflatten(&flat, true), md);
    }
}
