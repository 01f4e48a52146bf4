//! Key paths as users type them: sops-style `["a"]["b"][0]` or dotted `a.b.0`.

use super::tree::{Branch, ListItem, Node};
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPath(pub Vec<PathSegment>);

/// Errors name the path with what follows an `=` in a key cut off (`TOK=…`): a dotenv
/// `KEY=VALUE` typed as the key path must not show its value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PathError {
    #[error("invalid key path {:?}: {}", redact(.0), .1)]
    Syntax(String, &'static str),
    #[error("key path {} not found", .0.redacted())]
    NotFound(KeyPath),
    #[error("key path {} is not a value but a {}", .0.redacted(), .1)]
    NotALeaf(KeyPath, &'static str),
    #[error("cannot set {}: a parent is not a map or list", .0.redacted())]
    BadParent(KeyPath),
}

/// `text` up to its first `=`, then `=…`.
fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    match text.split_once('=') {
        Some((name, _)) => format!("{name}=…").into(),
        None => text.into(),
    }
}

impl KeyPath {
    /// Parses `["a"][0]`, `['a']`, or dotted `a.b.0` (a segment of digits is a list index
    /// where the tree has a list, and a key otherwise).
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(PathError::Syntax(text.into(), "empty path"));
        }
        if t.starts_with('[') {
            Self::parse_bracketed(t).map_err(|why| PathError::Syntax(text.into(), why))
        } else {
            // `a..b`, `.a`, `a.` would name an empty key: a typo far more often than not,
            // and it created one. An empty key is written `["a"][""]`.
            if t.split('.').any(str::is_empty) {
                return Err(PathError::Syntax(
                    text.into(),
                    "empty segment between dots, or a leading or trailing dot \
                     (to name an empty key, write [\"a\"][\"\"])",
                ));
            }
            Ok(KeyPath(
                t.split('.')
                    .map(|s| match s.parse::<usize>() {
                        // `01` stays a key (`api.01.token`), which a list still
                        // reads as an index.
                        Ok(i) if s == "0" || !(s.starts_with('+') || s.starts_with('0')) => {
                            PathSegment::Index(i)
                        }
                        _ => PathSegment::Key(s.to_string()),
                    })
                    .collect(),
            ))
        }
    }

    fn parse_bracketed(t: &str) -> Result<Self, &'static str> {
        let mut segs = Vec::new();
        let mut rest = t;
        while !rest.is_empty() {
            rest = rest.strip_prefix('[').ok_or("expected '['")?;
            let quote = rest.chars().next().ok_or("unterminated '['")?;
            if quote == '"' || quote == '\'' {
                let mut key = String::new();
                let mut chars = rest[1..].char_indices();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    if c == '\\' {
                        if let Some((_, n)) = chars.next() {
                            key.push(n);
                        }
                    } else if c == quote {
                        end = Some(i + 2);
                        break;
                    } else {
                        key.push(c);
                    }
                }
                let end = end.ok_or("unterminated quote")?;
                rest = rest[end..]
                    .strip_prefix(']')
                    .ok_or("expected ']' after key")?;
                segs.push(PathSegment::Key(key));
            } else {
                let close = rest.find(']').ok_or("unterminated '['")?;
                let idx = rest[..close]
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| "index must be a number")?;
                segs.push(PathSegment::Index(idx));
                rest = &rest[close + 1..];
            }
        }
        Ok(KeyPath(segs))
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for seg in &self.0 {
            match seg {
                PathSegment::Key(k) => write!(f, "[{k:?}]")?,
                PathSegment::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

fn list_values<L>(items: &[ListItem<L>]) -> impl Iterator<Item = &Node<L>> {
    items.iter().filter_map(|i| match i {
        ListItem::Value(v) => Some(v),
        _ => None,
    })
}

fn nth_value_mut<L>(items: &mut [ListItem<L>], n: usize) -> Option<&mut Node<L>> {
    items
        .iter_mut()
        .filter_map(|i| match i {
            ListItem::Value(v) => Some(v),
            _ => None,
        })
        .nth(n)
}

/// What [`Branch::match_dotted`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DottedMatch {
    /// The node the whole path names.
    Found(KeyPath),
    /// No node: the deepest map or list on the way, and the rest of the path under it.
    Under(KeyPath),
    Nothing,
}

/// [`Branch::match_dotted`] from `segs[i]` on, in `map`: the found segments pushed on
/// `out`; `deepest` keeps the most segments a map or list on the way used, and its path.
/// `dead` holds the (map, index) pairs already known to lead nowhere.
fn dotted_from<L>(
    map: &Branch<L>,
    segs: &[PathSegment],
    i: usize,
    out: &mut Vec<PathSegment>,
    dead: &mut std::collections::HashSet<(usize, usize)>,
    deepest: &mut (usize, Vec<PathSegment>),
) -> bool {
    if !dead.insert((std::ptr::from_ref(map) as usize, i)) {
        return false;
    }
    if i > deepest.0 {
        *deepest = (i, out.clone());
    }
    let mut key = String::new();
    for end in i + 1..=segs.len() {
        if end > i + 1 {
            key.push('.');
        }
        key.push_str(&first_key(&segs[end - 1]));
        let Some(mut node) = map.get(&key) else {
            continue;
        };
        let depth = out.len();
        out.push(PathSegment::Key(key.clone()));
        // List items on the way are stepped through by index.
        let mut next = end;
        while let (Node::List(_), Some(seg)) = (node, segs.get(next)) {
            match step(node, seg) {
                Some(n) => node = n,
                None => break,
            }
            out.push(seg.clone());
            next += 1;
        }
        let found = match node {
            _ if next == segs.len() => true,
            Node::Map(b) => dotted_from(b, segs, next, out, dead, deepest),
            // A list, or a value with segments left (`leaf.x.y` under a flat `leaf.x:
            // value`): the deepest node too, so that a new key there is refused (a value
            // has no children) rather than added as a nested copy beside it.
            _ => {
                if next > deepest.0 {
                    *deepest = (next, out.clone());
                }
                false
            }
        };
        if found {
            return true;
        }
        out.truncate(depth);
    }
    false
}

fn step<'a, L>(node: &'a Node<L>, seg: &PathSegment) -> Option<&'a Node<L>> {
    match (node, seg) {
        (Node::Map(b), PathSegment::Key(k)) => b.get(k),
        (Node::Map(b), PathSegment::Index(i)) => b.get(&i.to_string()),
        (Node::List(items), seg) => list_values(items).nth(list_index(seg)?),
        _ => None,
    }
}

fn step_mut<'a, L>(node: &'a mut Node<L>, seg: &PathSegment) -> Option<&'a mut Node<L>> {
    match (node, seg) {
        (Node::Map(b), PathSegment::Key(k)) => b.get_mut(k),
        (Node::Map(b), PathSegment::Index(i)) => b.get_mut(&i.to_string()),
        (Node::List(items), seg) => nth_value_mut(items, list_index(seg)?),
        _ => None,
    }
}

/// A segment as a list index: a number, or a key of digits (`01`).
fn list_index(seg: &PathSegment) -> Option<usize> {
    match seg {
        PathSegment::Index(i) => Some(*i),
        PathSegment::Key(k) if k.bytes().all(|b| b.is_ascii_digit()) => k.parse().ok(),
        PathSegment::Key(_) => None,
    }
}

fn first_key(seg: &PathSegment) -> String {
    match seg {
        PathSegment::Key(k) => k.clone(),
        PathSegment::Index(i) => i.to_string(),
    }
}

/// Levenshtein distance over chars, for "did you mean" hints on key names (short strings).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The paths under `map` near `rest` (see [`Branch::close_matches`]), with their total
/// distance; an exact key is followed, a near one only while the total stays within 2.
fn near<L>(
    map: &Branch<L>,
    rest: &[PathSegment],
    name: &dyn Fn(&str) -> &str,
    prefix: Vec<PathSegment>,
    spent: usize,
    found: &mut Vec<(usize, Vec<PathSegment>)>,
) {
    let Some((PathSegment::Key(want), tail)) = rest.split_first() else {
        return;
    };
    let lower = want.to_lowercase();
    let limit = if want.chars().count() <= 4 { 1 } else { 2 };
    for (k, node) in map.entries() {
        let shown = name(k).to_lowercase();
        let d = if shown == lower {
            usize::from(name(k) != want.as_str())
        } else {
            edit_distance(&shown, &lower).max(1)
        };
        if d > limit || spent + d > 2 {
            continue;
        }
        let mut p = prefix.clone();
        p.push(PathSegment::Key(name(k).to_string()));
        match (tail.is_empty(), node) {
            (true, _) if spent + d > 0 => found.push((spent + d, p)),
            (false, Node::Map(inner)) => near(inner, tail, name, p, spent + d, found),
            _ => {}
        }
        if found.len() > 50 {
            return;
        }
    }
}

impl KeyPath {
    /// The path as a user would type it: dotted (`database.password`) when every key
    /// allows it, else sops-style (`["a.b"]["c"]`).
    pub fn typed(&self) -> String {
        let dotted = self.0.iter().all(|s| match s {
            PathSegment::Key(k) => {
                !k.is_empty()
                    && (k.parse::<usize>().is_err() || (k.len() > 1 && k.starts_with('0')))
                    && !k.contains(['.', '[', ']', '"', '\'', ' '])
            }
            PathSegment::Index(_) => true,
        });
        if !dotted {
            return self.to_string();
        }
        self.dotted()
    }

    /// The path as it displays (`["a"]["b"]`), each key cut after an `=` (`TOK=…`): for
    /// errors, where a dotenv `KEY=VALUE` typed as a path must not show its value.
    pub fn redacted(&self) -> String {
        let cut = KeyPath(
            self.0
                .iter()
                .map(|s| match s {
                    PathSegment::Key(k) => PathSegment::Key(redact(k).into_owned()),
                    index => index.clone(),
                })
                .collect(),
        );
        cut.to_string()
    }

    /// The segments joined by `.` whatever they hold (`database.password`, `servers.0`):
    /// how flattened values name their key path.
    pub fn dotted(&self) -> String {
        let parts: Vec<String> = self.0.iter().map(first_key).collect();
        parts.join(".")
    }
}

impl<L> Branch<L> {
    /// Key paths close to `path`, which is not found: at each map on the way, the keys
    /// equal to the wanted one but for case, or within a small edit distance (1 for names
    /// up to 4 characters, else 2), compared as `name` gives them (dotenv: without
    /// `export `); closest first, at most 5. Names only: nothing here reads a value.
    pub fn close_matches(&self, path: &KeyPath, name: &dyn Fn(&str) -> &str) -> Vec<KeyPath> {
        let mut found = Vec::new();
        near(self, &path.0, name, Vec::new(), 0, &mut found);
        found.sort_by_key(|(d, _)| *d);
        found.into_iter().take(5).map(|(_, p)| KeyPath(p)).collect()
    }

    /// Why `path`, not found, stops where it does, when that is more than a missing key:
    /// a segment under a value, a name or an index out of range in a list. Names and
    /// counts only, never a value.
    pub fn where_it_stops(&self, path: &KeyPath) -> Option<String> {
        let (first, rest) = path.0.split_first()?;
        let mut node = self.get(&first_key(first))?;
        for (i, seg) in rest.iter().enumerate() {
            let at = || KeyPath(path.0[..=i].to_vec()).typed();
            match (node, step(node, seg)) {
                (_, Some(next)) => node = next,
                (Node::Leaf(_), None) => return Some(format!("{} is a value, not a map", at())),
                (Node::List(items), None) => {
                    let n = list_values(items).count();
                    return Some(match list_index(seg) {
                        None => format!("{} is a list: its items are numbered from 0", at()),
                        Some(_) => {
                            let items = if n == 1 { "item" } else { "items" };
                            format!("{} is a list of {n} {items}, numbered from 0", at())
                        }
                    });
                }
                (Node::Map(_), None) => return None,
            }
        }
        None
    }

    /// The node at `path`.
    pub fn lookup(&self, path: &KeyPath) -> Result<&Node<L>, PathError> {
        let (first, rest) = path
            .0
            .split_first()
            .ok_or_else(|| PathError::NotFound(path.clone()))?;
        let mut node = self
            .get(&first_key(first))
            .ok_or_else(|| PathError::NotFound(path.clone()))?;
        for seg in rest {
            node = step(node, seg).ok_or_else(|| PathError::NotFound(path.clone()))?;
        }
        Ok(node)
    }

    /// A path that names no node may name keys that hold dots (`spring.datasource.password:`
    /// written flat, as Spring reads it): `Found` with the path's consecutive segments
    /// joined by `.` where a map holds the joined key. At each map the segment alone is
    /// tried first (nested keys, as before), then longer joins; a (map, segment) pair that
    /// led nowhere is not tried again, so the work stays quadratic in the path's length at
    /// most. When nothing is found, `Under`: the deepest node the path's first segments
    /// name (keys with dots or not) with the rest of the path under it, where a new key
    /// goes (under a value, nowhere: setting it fails). One walk for both.
    pub fn match_dotted(&self, path: &KeyPath) -> DottedMatch {
        let mut out = Vec::with_capacity(path.0.len());
        let mut dead = std::collections::HashSet::new();
        let mut deepest = (0, Vec::new());
        if dotted_from(self, &path.0, 0, &mut out, &mut dead, &mut deepest) {
            return DottedMatch::Found(KeyPath(out));
        }
        let (used, mut segs) = deepest;
        if used == 0 {
            return DottedMatch::Nothing;
        }
        segs.extend_from_slice(&path.0[used..]);
        DottedMatch::Under(KeyPath(segs))
    }

    /// Sets the node at `path`, creating missing maps on the way (as `sops set` does).
    pub fn set_path(&mut self, path: &KeyPath, value: Node<L>) -> Result<(), PathError> {
        let (first, rest) = path
            .0
            .split_first()
            .ok_or_else(|| PathError::NotFound(path.clone()))?;
        let key = first_key(first);
        if rest.is_empty() {
            self.insert(key, value);
            return Ok(());
        }
        if self.get(&key).is_none() {
            self.insert(key.clone(), Node::Map(Branch::new()));
        }
        let mut node = self.get_mut(&key).expect("just inserted");
        for (i, seg) in rest.iter().enumerate() {
            let last = i + 1 == rest.len();
            if last {
                return match (node, seg) {
                    (Node::Map(b), seg) => {
                        b.insert(first_key(seg), value);
                        Ok(())
                    }
                    (Node::List(items), seg) => {
                        let Some(n) = list_index(seg) else {
                            return Err(PathError::BadParent(path.clone()));
                        };
                        let len = list_values(items).count();
                        if n < len {
                            *nth_value_mut(items, n).expect("in range") = value;
                        } else if n == len {
                            items.push(ListItem::Value(value));
                        } else {
                            return Err(PathError::NotFound(path.clone()));
                        }
                        Ok(())
                    }
                    _ => Err(PathError::BadParent(path.clone())),
                };
            }
            if let (Node::Map(b), seg) = (&mut *node, seg) {
                if b.get(&first_key(seg)).is_none() {
                    b.insert(first_key(seg), Node::Map(Branch::new()));
                }
            }
            node = step_mut(node, seg).ok_or_else(|| PathError::BadParent(path.clone()))?;
        }
        unreachable!("loop returns on the last segment")
    }

    /// Removes the node at `path`.
    pub fn unset_path(&mut self, path: &KeyPath) -> Result<Node<L>, PathError> {
        let not_found = || PathError::NotFound(path.clone());
        let (last, parents) = path.0.split_last().ok_or_else(not_found)?;
        if parents.is_empty() {
            return self.remove(&first_key(last)).ok_or_else(not_found);
        }
        let mut node = self
            .get_mut(&first_key(&parents[0]))
            .ok_or_else(not_found)?;
        for seg in &parents[1..] {
            node = step_mut(node, seg).ok_or_else(not_found)?;
        }
        match (node, last) {
            (Node::Map(b), seg) => b.remove(&first_key(seg)).ok_or_else(not_found),
            (Node::List(items), seg) => {
                let n = list_index(seg).ok_or_else(not_found)?;
                let pos = items
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| matches!(i, ListItem::Value(_)))
                    .nth(n)
                    .map(|(pos, _)| pos)
                    .ok_or_else(not_found)?;
                match items.remove(pos) {
                    ListItem::Value(v) => Ok(v),
                    ListItem::Comment { .. } => Err(not_found()),
                }
            }
            _ => Err(not_found()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Scalar;

    #[test]
    fn a_path_not_found_says_where_it_stops() {
        let leaf = || Node::Leaf(Scalar::Str("x".into()));
        let mut doc: Branch<Scalar> = Branch::new();
        doc.insert("token".into(), leaf());
        doc.insert("hosts".into(), Node::List(vec![ListItem::Value(leaf())]));
        let why = |p: &str| doc.where_it_stops(&KeyPath::parse(p).unwrap());
        assert_eq!(
            why("token.x").as_deref(),
            Some("token is a value, not a map")
        );
        assert_eq!(
            why("hosts.3").as_deref(),
            Some("hosts is a list of 1 item, numbered from 0")
        );
        assert_eq!(
            why("hosts.first").as_deref(),
            Some("hosts is a list: its items are numbered from 0")
        );
        assert_eq!(
            why("hosts.0.x").as_deref(),
            Some("hosts.0 is a value, not a map")
        );
        // A missing key is said by the error itself (and the near names' hint).
        assert_eq!(why("nope.x"), None);
        assert_eq!(why("token"), None);
    }

    #[test]
    fn a_dotted_path_finds_a_key_that_holds_dots() {
        let leaf = || Node::Leaf(Scalar::Str("x".into()));
        let mut inner = Branch::new();
        inner.insert("datasource.password".into(), leaf());
        let mut doc: Branch<Scalar> = Branch::new();
        doc.insert("spring.datasource.url".into(), leaf());
        doc.insert("api.01.token".into(), leaf());
        doc.insert("spring".into(), Node::Map(inner));
        doc.insert(
            "hosts.list".into(),
            Node::List(vec![ListItem::Value(leaf()), ListItem::Value(leaf())]),
        );
        let found = |p: &str| match doc.match_dotted(&KeyPath::parse(p).unwrap()) {
            DottedMatch::Found(k) => Some(k.to_string()),
            _ => None,
        };
        assert_eq!(
            found("spring.datasource.url").as_deref(),
            Some(r#"["spring.datasource.url"]"#)
        );
        // A nested map first, then a key with a dot inside it.
        assert_eq!(
            found("spring.datasource.password").as_deref(),
            Some(r#"["spring"]["datasource.password"]"#)
        );
        assert_eq!(
            found("hosts.list.1").as_deref(),
            Some(r#"["hosts.list"][1]"#)
        );
        assert_eq!(found("spring.datasource.user"), None);
        assert_eq!(found("hosts.list.1.x"), None);
        // Where a new key goes: under the deepest map or list the path names.
        let under = |p: &str| match doc.match_dotted(&KeyPath::parse(p).unwrap()) {
            DottedMatch::Under(k) => Some(k.to_string()),
            _ => None,
        };
        assert_eq!(
            under("spring.datasource.user").as_deref(),
            Some(r#"["spring"]["datasource"]["user"]"#)
        );
        assert_eq!(
            under("hosts.list.2").as_deref(),
            Some(r#"["hosts.list"][2]"#)
        );
        assert_eq!(
            under("spring.mail.x").as_deref(),
            Some(r#"["spring"]["mail"]["x"]"#)
        );
        assert_eq!(under("nothing.here"), None);
        assert_eq!(
            under("spring.datasource.url.x").as_deref(),
            Some(r#"["spring.datasource.url"]["x"]"#)
        );
        assert_eq!(found("nothing"), None);
        // A value typed after `=` never reaches an error.
        for text in ["TOK=s3c..ret", "TOK=secret.", "a.TOK=s3cret"] {
            let e = KeyPath::parse(text)
                .and_then(|k| doc.lookup(&k).map(|_| ()))
                .unwrap_err();
            assert!(
                !e.to_string().contains("s3c") && !e.to_string().contains("secret"),
                "{e}"
            );
        }
        // A zero-padded number is a key (`api.01.token`), and still an index into a list.
        assert_eq!(
            found("api.01.token").as_deref(),
            Some(r#"["api.01.token"]"#)
        );
        assert_eq!(
            KeyPath::parse("api.01.token").unwrap().typed(),
            "api.01.token"
        );
        let mut list = Branch::new();
        list.insert(
            "l".into(),
            Node::List(vec![ListItem::Value(leaf()), ListItem::Value(leaf())]),
        );
        assert!(list.lookup(&KeyPath::parse("l.01").unwrap()).is_ok());
        assert!(list
            .set_path(&KeyPath::parse("l.02").unwrap(), leaf())
            .is_ok());
        assert!(list.unset_path(&KeyPath::parse("l.00").unwrap()).is_ok());
    }

    #[test]
    fn parses_both_styles() {
        let want = KeyPath(vec![
            PathSegment::Key("a".into()),
            PathSegment::Key("b".into()),
            PathSegment::Index(0),
        ]);
        assert_eq!(KeyPath::parse(r#"["a"]["b"][0]"#).unwrap(), want);
        assert_eq!(KeyPath::parse("a.b.0").unwrap(), want);
        assert_eq!(KeyPath::parse("['a']['b'][0]").unwrap(), want);
        assert!(KeyPath::parse(r#"["a"#).is_err());
        assert!(KeyPath::parse("").is_err());
    }

    #[test]
    fn empty_dotted_segments_are_refused() {
        // Issue 10, case 8: `a..b` created a key named "".
        for bad in ["a..b", ".a", "a.", ".", "a...b", "a.b."] {
            let e = KeyPath::parse(bad).unwrap_err().to_string();
            assert!(e.contains("empty segment"), "{bad}: {e}");
        }
        assert_eq!(
            KeyPath::parse(r#"["a"][""]"#).unwrap(),
            KeyPath(vec![
                PathSegment::Key("a".into()),
                PathSegment::Key(String::new())
            ])
        );
    }
}
