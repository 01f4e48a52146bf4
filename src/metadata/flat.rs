//! The flattened metadata layout of dotenv and INI files: `age__list_0__map_enc`.

use crate::model::{Branch, Item, ListItem, Node, Scalar, Sealed};
use indexmap::IndexMap;
use std::collections::BTreeMap;

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
            // By name, as sops writes flattened metadata (3.11 sorts the flattened keys of a
            // dotenv file; 3.13 sorts every map): a stanza's `enc` before its `recipient`.
            let mut entries: Vec<_> = b.entries().collect();
            entries.sort_by_key(|(k, _)| *k);
            for (k, v) in entries {
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

/// A flattened metadata key that cannot be rebuilt into a tree: names the key (shortened)
/// and which entry of the flattened branch it is, never a value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("sops metadata key {key:?}: {problem}")]
pub struct FlatError {
    pub key: String,
    pub problem: String,
    /// The position of the offending entry among the branch's entries.
    pub entry: usize,
}

impl FlatError {
    fn new(entry: usize, key: &str, problem: impl Into<String>) -> Self {
        FlatError {
            key: shorten(key),
            problem: problem.into(),
            entry,
        }
    }
}

/// A key as shown in an error: at most 80 characters (a hostile key may be megabytes).
fn shorten(key: &str) -> String {
    match key.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &key[..cut]),
        None => key.to_string(),
    }
}

/// The bounds [`unflatten`] enforces; the numbers live with the other parser limits in
/// `store::limits` (the store calls this, and `metadata` imports nothing above `model`).
#[derive(Clone, Copy, Debug)]
pub struct FlatLimits {
    /// The largest list index a key may name.
    pub max_index: usize,
    /// The most segments (`__map_`, `__list_` parts) in one key.
    pub max_depth: usize,
}

enum Token<'a> {
    Key(&'a str),
    Index(usize),
}

/// Splits a flattened key into its segments: an index is decimal digits up to
/// `max_index`, and a key has at most `max_depth` segments. The problem, if any.
fn tokenize(path: &str, limits: FlatLimits) -> Result<Vec<Token<'_>>, String> {
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
            Token::Index(index(part, limits.max_index)?)
        } else {
            Token::Key(part)
        });
        if tokens.len() > limits.max_depth {
            return Err(format!("nested deeper than {} levels", limits.max_depth));
        }
        match next_is_index {
            Some(idx) => {
                rest = &rest[end + if idx { LIST_SEP.len() } else { MAP_SEP.len() }..];
                is_index = idx;
            }
            None => return Ok(tokens),
        }
    }
}

fn index(part: &str, max: usize) -> Result<usize, String> {
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("list index {:?} is not a number", shorten(part)));
    }
    match part.parse::<usize>() {
        Ok(i) if i <= max => Ok(i),
        _ => Err(format!(
            "list index {} is larger than {max} (the limit for metadata lists)",
            shorten(part)
        )),
    }
}

/// The tree while it is rebuilt. Lists are keyed by index, so that entries may come in
/// any order (sops sorts the keys as text: `list_10` before `list_2`) and no slot exists
/// before an entry names it; each list item remembers the entry that created it.
enum Partial {
    /// Just created, not yet a value, map or list.
    Empty,
    Leaf(Node<Sealed>),
    Map(IndexMap<String, Partial>),
    List(BTreeMap<usize, (usize, Partial)>),
}

impl Partial {
    fn kind(&self) -> &'static str {
        match self {
            Partial::Empty | Partial::Leaf(_) => "a value",
            Partial::Map(_) => "a map",
            Partial::List(_) => "a list",
        }
    }

    /// The slot at `tok` (created empty, as a leaf to be filled, when missing), or the
    /// kind of node found instead of a map or list.
    fn slot(&mut self, tok: &Token<'_>, entry: usize) -> Result<&mut Partial, String> {
        match (self, tok) {
            (Partial::Map(m), Token::Key(k)) => {
                Ok(m.entry(k.to_string()).or_insert(Partial::Empty))
            }
            (Partial::List(l), Token::Index(i)) => {
                Ok(&mut l.entry(*i).or_insert((entry, Partial::Empty)).1)
            }
            (other, tok) => Err(format!(
                "treats {} as a {} (other keys disagree)",
                other.kind(),
                if matches!(tok, Token::Index(_)) {
                    "list"
                } else {
                    "map"
                }
            )),
        }
    }

    /// The finished node; `key` is its flattened key so far (a buffer, restored on return).
    fn into_node(self, key: &mut String) -> Result<Node<Sealed>, FlatError> {
        Ok(match self {
            Partial::Leaf(v) => v,
            Partial::Empty => unreachable!("every slot is filled by the entry that made it"),
            Partial::Map(m) => Node::Map(into_branch(m, key)?),
            Partial::List(l) => {
                let mut items = Vec::with_capacity(l.len());
                let len = key.len();
                for (expected, (i, (entry, child))) in l.into_iter().enumerate() {
                    key.truncate(len);
                    key.push_str(LIST_SEP);
                    key.push_str(&i.to_string());
                    if i != expected {
                        return Err(FlatError::new(
                            entry,
                            key,
                            format!(
                                "the list has no entry at index {expected} \
                                 (indexes run 0, 1, 2… without gaps)"
                            ),
                        ));
                    }
                    items.push(ListItem::Value(child.into_node(key)?));
                }
                key.truncate(len);
                Node::List(items)
            }
        })
    }
}

fn into_branch(
    m: IndexMap<String, Partial>,
    key: &mut String,
) -> Result<Branch<Sealed>, FlatError> {
    let mut out = Branch::new();
    let len = key.len();
    for (k, child) in m {
        key.truncate(len);
        if len > 0 {
            key.push_str(MAP_SEP);
        }
        key.push_str(&k);
        let value = child.into_node(key)?;
        out.items.push(Item::Entry { key: k, value });
    }
    key.truncate(len);
    Ok(out)
}

/// Rebuilds nested metadata from flattened entries (the inverse of [`flatten`]). The file
/// is untrusted: an index above `limits.max_index`, a list with a gap, a key nested
/// deeper than `limits.max_depth`, or a key that is both a value and a map or list is an
/// error naming the key. Time and memory are linear in the entries (times the log of a
/// list's length): nothing is allocated by an index before entries fill it.
pub fn unflatten(
    flat: &Branch<Sealed>,
    unescape_newlines: bool,
    limits: FlatLimits,
) -> Result<Branch<Sealed>, FlatError> {
    let mut root = Partial::Map(IndexMap::new());
    for (entry, (key, value)) in flat.entries().enumerate() {
        let fail = |problem: String| FlatError::new(entry, key, problem);
        let value = match value {
            Node::Leaf(Sealed(Scalar::Str(s))) if unescape_newlines => {
                Node::Leaf(Sealed(Scalar::Str(s.replace("\\n", "\n"))))
            }
            other => other.clone(),
        };
        let tokens = tokenize(key, limits).map_err(fail)?;
        let mut node = &mut root;
        for (i, tok) in tokens.iter().enumerate() {
            node = node.slot(tok, entry).map_err(fail)?;
            let next = tokens.get(i + 1);
            let fresh = match next {
                None => break,
                Some(Token::Key(_)) => Partial::Map(IndexMap::new()),
                Some(Token::Index(_)) => Partial::List(BTreeMap::new()),
            };
            if matches!(node, Partial::Empty) {
                *node = fresh;
            }
        }
        match node {
            // A repeated key: the last value wins, as in a map.
            Partial::Empty | Partial::Leaf(_) => *node = Partial::Leaf(value),
            other => {
                return Err(fail(format!(
                    "is a value, and also {} (other keys continue it)",
                    other.kind()
                )))
            }
        }
    }
    match root {
        Partial::Map(m) => into_branch(m, &mut String::new()),
        _ => unreachable!("the root is a map"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(s: &str) -> Node<Sealed> {
        Node::Leaf(Sealed(Scalar::Str(s.into())))
    }

    fn metadata(fields: &[(&str, &str)]) -> Branch<Sealed> {
        let mut stanza = Branch::new();
        for (k, v) in fields {
            stanza.insert(k.to_string(), leaf(v));
        }
        let mut md = Branch::new();
        md.insert(
            "age".into(),
            Node::List(vec![ListItem::Value(Node::Map(stanza))]),
        );
        md.insert("mac".into(), leaf("ENC[x]"));
        md
    }

    #[test]
    fn round_trip() {
        let md = metadata(&[("recipient", "age1x"), ("enc", "line1\nline2\n")]);
        let flat = flatten(&md, true);
        let keys: Vec<_> = flat.entries().map(|(k, _)| k.to_string()).collect();
        // A map's fields by name, as sops writes them.
        assert_eq!(
            keys,
            ["age__list_0__map_enc", "age__list_0__map_recipient", "mac"]
        );
        assert_eq!(
            flat.get("age__list_0__map_enc"),
            Some(&leaf("line1\\nline2\\n"))
        );
        let by_name = metadata(&[("enc", "line1\nline2\n"), ("recipient", "age1x")]);
        assert_eq!(unflatten(&flat, true, LIMITS), Ok(by_name));
    }

    const LIMITS: FlatLimits = FlatLimits {
        max_index: 10_000,
        max_depth: 128,
    };

    fn flat(keys: &[&str]) -> Branch<Sealed> {
        let mut b = Branch::new();
        for k in keys {
            b.items.push(Item::Entry {
                key: k.to_string(),
                value: leaf("v"),
            });
        }
        b
    }

    fn problem(keys: &[&str]) -> FlatError {
        unflatten(&flat(keys), false, LIMITS).unwrap_err()
    }

    #[test]
    fn indexes_in_text_order_rebuild_the_list_in_number_order() {
        // sops sorts the flattened keys as text: list_10 comes before list_2.
        let mut keys: Vec<String> = (0..12).map(|i| format!("age__list_{i}__map_enc")).collect();
        keys.sort();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let md = unflatten(&flat(&keys), false, LIMITS).unwrap();
        let Some(Node::List(items)) = md.get("age") else {
            panic!("no list")
        };
        assert_eq!(items.len(), 12);
        let back = flatten(&md, false);
        assert_eq!(back.entries().nth(2).unwrap().0, "age__list_2__map_enc");
    }

    #[test]
    fn an_index_from_the_file_never_sizes_an_allocation() {
        // The 90-byte dotenv file of issue 10 (case 9) aborted on this key.
        let e = problem(&["age__list_4000000000__map_enc"]);
        assert_eq!(e.key, "age__list_4000000000__map_enc");
        assert!(e.problem.contains("larger than 10000"), "{e}");
        let e = problem(&["age__list_99999999999999999999999__map_enc"]);
        assert!(e.problem.contains("larger than 10000"), "{e}");
        assert!(problem(&["age__list_10001"]).problem.contains("larger"));
        assert!(unflatten(&flat(&["age__list_0"]), false, LIMITS).is_ok());
        // Sparse: an index within the limit that leaves a gap is refused after reading,
        // without the gap ever being allocated.
        let e = problem(&["age__list_0__map_enc", "age__list_9999__map_enc"]);
        assert_eq!((e.key.as_str(), e.entry), ("age__list_9999", 1));
        assert!(e.problem.contains("no entry at index 1"), "{e}");
        for bad in [
            "age__list___map_enc",
            "age__list_-1",
            "age__list_+1",
            "age__list_1x",
        ] {
            assert!(problem(&[bad]).problem.contains("not a number"), "{bad}");
        }
    }

    #[test]
    fn deep_or_contradictory_keys_are_refused_with_their_entry() {
        let deep = format!("a{}", "__map_b".repeat(200));
        let e = problem(&["mac", &deep]);
        assert!(e.problem.contains("deeper than 128"), "{e}");
        assert_eq!(e.entry, 1);
        assert!(e.key.chars().count() <= 81, "shortened: {}", e.key);
        let e = problem(&["age", "age__list_0__map_enc"]);
        assert!(e.problem.contains("treats a value as a list"), "{e}");
        let e = problem(&["age__list_0__map_enc", "age__map_x"]);
        assert!(e.problem.contains("treats a list as a map"), "{e}");
        let e = problem(&["age__list_0__map_enc", "age__list_0"]);
        assert!(e.problem.contains("is a value, and also a map"), "{e}");
        // A repeated key: the last value wins, as before.
        assert!(unflatten(&flat(&["mac", "mac"]), false, LIMITS).is_ok());
    }
}
