//! Three-way merge of trees, key by key: what a git merge driver needs to merge two
//! versions of an encrypted file without a text merge of their `ENC[…]` lines (which
//! always conflicts: both sides rewrite `lastmodified` and `mac`).
//!
//! The rules, per key of a map (recursively):
//! - the same on both sides (unchanged, or the same change) → that;
//! - changed on one side only → that side's;
//! - added on one side → added; removed on one side and unchanged on the other → removed;
//! - anything else (two different changes, a change against a removal, a map against a
//!   value) → a [`Conflict`] at that key, and *ours* is kept there.
//!
//! Lists are values: two different changes to one list conflict as a whole (an index is
//! not an identity; merging items by position would pair the wrong ones). Comment and
//! blank lines are ours's, but for the lines right above a key that only theirs changed
//! (theirs's then), and a key theirs adds brings the comment lines right above it that
//! ours does not already have. The order is ours's, with theirs's new keys after the
//! key that precedes them in theirs.
//!
//! Generic over the leaf, no crypto and no I/O: the caller decrypts the three versions
//! (`Branch<Plain>`), merges, and seals the result.

use crate::model::path::{KeyPath, PathSegment};
use crate::model::{Branch, Item, Node};

/// A key the two sides changed in different ways; `path` empty means the whole document
/// (the versions have different numbers of YAML documents).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The document (YAML files may hold several; 0 for every other format).
    pub document: usize,
    pub path: KeyPath,
}

/// The merged documents (ours where they conflict) and the conflicts.
pub struct Merged<L> {
    pub branches: Vec<Branch<L>>,
    pub conflicts: Vec<Conflict>,
}

/// Merges `ours` and `theirs`, both descended from `base` (empty: no common version,
/// both sides added the file).
pub fn merge<L: Clone + PartialEq>(
    base: &[Branch<L>],
    ours: &[Branch<L>],
    theirs: &[Branch<L>],
) -> Merged<L> {
    let mut conflicts = Vec::new();
    if ours == theirs {
        return Merged {
            branches: ours.to_vec(),
            conflicts,
        };
    }
    if base == ours {
        return Merged {
            branches: theirs.to_vec(),
            conflicts,
        };
    }
    if base == theirs {
        return Merged {
            branches: ours.to_vec(),
            conflicts,
        };
    }
    if ours.len() != theirs.len() || (!base.is_empty() && base.len() != ours.len()) {
        conflicts.push(Conflict {
            document: 0,
            path: KeyPath(Vec::new()),
        });
        return Merged {
            branches: ours.to_vec(),
            conflicts,
        };
    }
    let empty = Branch::new();
    let branches = ours
        .iter()
        .zip(theirs)
        .enumerate()
        .map(|(document, (o, t))| {
            let mut m = Merger {
                document,
                path: Vec::new(),
                conflicts: &mut conflicts,
            };
            m.map(Some(base.get(document).unwrap_or(&empty)), o, t)
        })
        .collect();
    Merged {
        branches,
        conflicts,
    }
}

struct Merger<'c> {
    document: usize,
    path: Vec<PathSegment>,
    conflicts: &'c mut Vec<Conflict>,
}

impl Merger<'_> {
    fn conflict(&mut self) {
        self.conflicts.push(Conflict {
            document: self.document,
            path: KeyPath(self.path.clone()),
        });
    }

    fn node<L: Clone + PartialEq>(
        &mut self,
        base: Option<&Node<L>>,
        ours: &Node<L>,
        theirs: &Node<L>,
    ) -> Node<L> {
        if ours == theirs || base == Some(theirs) {
            return ours.clone();
        }
        if base == Some(ours) {
            return theirs.clone();
        }
        match (ours, theirs) {
            (Node::Map(o), Node::Map(t)) => {
                let b = match base {
                    Some(Node::Map(b)) => Some(b),
                    _ => None,
                };
                Node::Map(self.map(b, o, t))
            }
            _ => {
                self.conflict();
                ours.clone()
            }
        }
    }

    fn map<L: Clone + PartialEq>(
        &mut self,
        base: Option<&Branch<L>>,
        ours: &Branch<L>,
        theirs: &Branch<L>,
    ) -> Branch<L> {
        let empty = Branch::new();
        let base = base.unwrap_or(&empty);
        let mut out: Vec<Item<L>> = Vec::with_capacity(ours.items.len());
        for item in &ours.items {
            let Item::Entry { key, value: o } = item else {
                out.push(item.clone());
                continue;
            };
            // The comment lines above the key: theirs's when only theirs changed them.
            let (cb, co, ct) = (
                comments_above(base, key),
                comments_above(ours, key),
                comments_above(theirs, key),
            );
            let ours_comments_unchanged = co == cb && out.len() >= co.len();
            if ours_comments_unchanged && ct != cb && theirs.get(key).is_some() {
                out.truncate(out.len() - co.len());
                out.extend(ct.into_iter().cloned());
            }
            self.path.push(PathSegment::Key(key.clone()));
            let b = base.get(key);
            match (b, theirs.get(key)) {
                (_, Some(t)) => {
                    let value = self.node(b, o, t);
                    out.push(Item::Entry {
                        key: key.clone(),
                        value,
                    });
                }
                // Added by ours.
                (None, None) => out.push(item.clone()),
                // Removed by theirs: gone if ours left it alone.
                (Some(b), None) => {
                    if b != o {
                        self.conflict();
                        out.push(item.clone());
                    } else if ours_comments_unchanged {
                        // Its comment lines go with it.
                        out.truncate(out.len() - co.len());
                    }
                }
            }
            self.path.pop();
        }
        // Keys only theirs has: added there, or removed by ours.
        for (i, item) in theirs.items.iter().enumerate() {
            let Item::Entry { key, value: t } = item else {
                continue;
            };
            if ours.get(key).is_some() {
                continue;
            }
            self.path.push(PathSegment::Key(key.clone()));
            match base.get(key) {
                // Removed by ours and changed by theirs.
                Some(b) if b != t => self.conflict(),
                Some(_) => {}
                None => {
                    let at = insert_at(&out, &theirs.items[..i]);
                    let mut new = leading_comments(&theirs.items[..i], ours);
                    new.push(item.clone());
                    out.splice(at..at, new);
                }
            }
            self.path.pop();
        }
        Branch { items: out }
    }
}

/// Where a key theirs added goes in `out`: after the nearest key before it in theirs
/// that `out` has (and any comment lines theirs added with the keys after that), else
/// before `out`'s first key and the comments above it.
fn insert_at<L>(out: &[Item<L>], before: &[Item<L>]) -> usize {
    let key_of = |i: &Item<L>| match i {
        Item::Entry { key, .. } => Some(key.clone()),
        _ => None,
    };
    for prev in before.iter().rev().filter_map(key_of) {
        if let Some(pos) = out.iter().position(|i| key_of(i).as_ref() == Some(&prev)) {
            return pos + 1;
        }
    }
    let first = out
        .iter()
        .position(|i| matches!(i, Item::Entry { .. }))
        .unwrap_or(out.len());
    let mut at = first;
    while at > 0 && matches!(out[at - 1], Item::Comment { inline: false, .. }) {
        at -= 1;
    }
    at
}

/// The comment and blank lines right above `key`'s entry (empty when there is none).
fn comments_above<'a, L>(branch: &'a Branch<L>, key: &str) -> Vec<&'a Item<L>> {
    let Some(at) = branch
        .items
        .iter()
        .position(|i| matches!(i, Item::Entry { key: k, .. } if k == key))
    else {
        return Vec::new();
    };
    let start = branch.items[..at]
        .iter()
        .rposition(|i| matches!(i, Item::Entry { .. }))
        .map_or(0, |p| p + 1);
    branch.items[start..at].iter().collect()
}

/// The comment (and blank) lines right above an entry in theirs, without those ours
/// already has: the ones that came with a key theirs added.
fn leading_comments<L: Clone + PartialEq>(before: &[Item<L>], ours: &Branch<L>) -> Vec<Item<L>> {
    let start = before
        .iter()
        .rposition(|i| matches!(i, Item::Entry { .. }))
        .map_or(0, |p| p + 1);
    before[start..]
        .iter()
        .filter(|i| match i {
            Item::Comment { .. } => !ours.items.contains(i),
            Item::Blank => true,
            Item::Entry { .. } => false,
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Plain, Scalar};

    fn leaf(s: &str) -> Node<Plain> {
        Node::Leaf(Plain::new(Scalar::Str(s.into())))
    }

    fn map(entries: &[(&str, Node<Plain>)]) -> Branch<Plain> {
        let mut b = Branch::new();
        for (k, v) in entries {
            b.insert(k.to_string(), v.clone());
        }
        b
    }

    /// A comment line of its own.
    fn comment(s: &str) -> Item<Plain> {
        Item::Comment {
            text: Plain::new(Scalar::Comment(s.into())),
            inline: false,
        }
    }

    fn entry(k: &str, v: &str) -> Item<Plain> {
        Item::Entry {
            key: k.into(),
            value: leaf(v),
        }
    }

    fn keys(b: &Branch<Plain>) -> Vec<&str> {
        b.entries().map(|(k, _)| k).collect()
    }

    fn paths(m: &Merged<Plain>) -> Vec<String> {
        m.conflicts.iter().map(|c| c.path.typed()).collect()
    }

    #[test]
    fn different_keys_merge_cleanly() {
        let base = map(&[("a", leaf("1")), ("b", leaf("2")), ("c", leaf("3"))]);
        let ours = map(&[("a", leaf("A")), ("b", leaf("2")), ("c", leaf("3"))]);
        let theirs = map(&[("a", leaf("1")), ("b", leaf("B")), ("c", leaf("3"))]);
        let m = merge(&[base], &[ours], &[theirs]);
        assert!(m.conflicts.is_empty());
        let want = map(&[("a", leaf("A")), ("b", leaf("B")), ("c", leaf("3"))]);
        assert_eq!(m.branches, vec![want]);
    }

    #[test]
    fn adds_and_removes_apply_and_same_change_is_fine() {
        let base = map(&[("a", leaf("1")), ("gone", leaf("x")), ("same", leaf("s"))]);
        let ours = map(&[("a", leaf("1")), ("same", leaf("S")), ("new_o", leaf("o"))]);
        let theirs = map(&[
            ("a", leaf("1")),
            ("gone", leaf("x")),
            ("same", leaf("S")),
            ("new_t", leaf("t")),
        ]);
        let m = merge(&[base], &[ours], &[theirs]);
        assert!(m.conflicts.is_empty());
        assert_eq!(keys(&m.branches[0]), ["a", "same", "new_t", "new_o"]);
        // A key theirs removes takes its comment lines along.
        let comment = Item::Comment {
            text: Plain::new(Scalar::Comment("about b".into())),
            inline: false,
        };
        let mut base = map(&[("a", leaf("1")), ("b", leaf("2"))]);
        base.items.insert(1, comment.clone());
        let mut ours = map(&[("a", leaf("A")), ("b", leaf("2"))]);
        ours.items.insert(1, comment);
        let m = merge(&[base], &[ours], &[map(&[("a", leaf("1"))])]);
        assert_eq!(m.branches, vec![map(&[("a", leaf("A"))])]);
    }

    #[test]
    fn clashes_conflict_and_keep_ours() {
        let base = map(&[
            ("a", leaf("1")),
            ("del", leaf("d")),
            ("m", Node::Map(map(&[("x", leaf("1"))]))),
        ]);
        let ours = map(&[
            ("a", leaf("ours")),
            ("del", leaf("changed")),
            ("m", leaf("flat")),
        ]);
        let theirs = map(&[
            ("a", leaf("theirs")),
            ("m", Node::Map(map(&[("x", leaf("2"))]))),
        ]);
        let m = merge(&[base], std::slice::from_ref(&ours), &[theirs]);
        assert_eq!(paths(&m), ["a", "del", "m"]);
        assert_eq!(m.branches, vec![ours]);
    }

    #[test]
    fn nested_maps_merge_key_by_key() {
        let inner = |a: &str, b: &str| Node::Map(map(&[("a", leaf(a)), ("b", leaf(b))]));
        let base = map(&[("db", inner("1", "2"))]);
        let m = merge(
            &[base],
            &[map(&[("db", inner("A", "2"))])],
            &[map(&[("db", inner("1", "B"))])],
        );
        assert!(m.conflicts.is_empty());
        assert_eq!(m.branches, vec![map(&[("db", inner("A", "B"))])]);
    }

    #[test]
    fn both_added_differently_conflicts_and_removal_against_change_too() {
        let base = map(&[("k", leaf("1"))]);
        let ours = map(&[("new", leaf("o"))]);
        let theirs = map(&[("k", leaf("2")), ("new", leaf("t"))]);
        let m = merge(&[base], &[ours], &[theirs]);
        assert_eq!(paths(&m), ["new", "k"]);
    }

    #[test]
    fn a_key_theirs_adds_brings_its_comment_and_keeps_its_place() {
        let base = Branch {
            items: vec![comment("head"), entry("a", "1"), entry("c", "3")],
        };
        let ours = Branch {
            items: vec![comment("head"), entry("a", "A"), entry("c", "3")],
        };
        let theirs = Branch {
            items: vec![
                comment("head"),
                entry("a", "1"),
                comment("about b"),
                entry("b", "2"),
                entry("c", "3"),
            ],
        };
        let m = merge(&[base], &[ours], &[theirs]);
        assert!(m.conflicts.is_empty());
        let want = Branch {
            items: vec![
                comment("head"),
                entry("a", "A"),
                comment("about b"),
                entry("b", "2"),
                entry("c", "3"),
            ],
        };
        assert_eq!(m.branches, vec![want]);
    }

    #[test]
    fn a_comment_only_theirs_changed_is_taken_and_ours_wins_otherwise() {
        let base = Branch {
            items: vec![comment("a"), entry("a", "1"), comment("b"), entry("b", "2")],
        };
        let ours = Branch {
            items: vec![
                comment("a"),
                entry("a", "A"),
                comment("b ours"),
                entry("b", "2"),
            ],
        };
        let theirs = Branch {
            items: vec![
                comment("a theirs"),
                entry("a", "1"),
                comment("b theirs"),
                entry("b", "B"),
            ],
        };
        let m = merge(&[base], &[ours], &[theirs]);
        assert!(m.conflicts.is_empty());
        let want = Branch {
            items: vec![
                comment("a theirs"),
                entry("a", "A"),
                comment("b ours"),
                entry("b", "B"),
            ],
        };
        assert_eq!(m.branches, vec![want]);
    }

    #[test]
    fn no_base_merges_disjoint_additions() {
        let m = merge(
            &[],
            &[map(&[("a", leaf("1"))])],
            &[map(&[("b", leaf("2"))])],
        );
        assert!(m.conflicts.is_empty());
        assert_eq!(keys(&m.branches[0]), ["b", "a"]);
    }

    use proptest::prelude::*;

    /// What each side does to one key of the base: keep it, change it (to a value that
    /// is the same when both sides pick the same number), or remove it.
    #[derive(Clone, Copy, Debug)]
    enum Edit {
        Keep,
        Change(u8),
        Remove,
    }

    fn edit_strategy() -> impl Strategy<Value = Edit> {
        prop_oneof![
            2 => Just(Edit::Keep),
            2 => (0u8..3).prop_map(Edit::Change),
            1 => Just(Edit::Remove),
        ]
    }

    fn apply(base: &Branch<Plain>, edits: &[Edit]) -> Branch<Plain> {
        let mut out = Branch::new();
        for ((k, v), e) in base.entries().zip(edits) {
            match e {
                Edit::Keep => out.insert(k.to_string(), v.clone()),
                Edit::Change(n) => out.insert(k.to_string(), leaf(&format!("new-{n}"))),
                Edit::Remove => {}
            }
        }
        out
    }

    proptest! {
        /// Per key: the merge is what one side did when the other kept it, either when
        /// both did the same, and a conflict (ours kept) exactly when they differ.
        #[test]
        fn each_key_follows_the_three_way_rule(
            edits in proptest::collection::vec((edit_strategy(), edit_strategy()), 1..12)
        ) {
            let base = map(
                &(0..edits.len())
                    .map(|i| (format!("k{i}"), leaf(&format!("base-{i}"))))
                    .collect::<Vec<_>>()
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.clone()))
                    .collect::<Vec<_>>(),
            );
            let ours_edits: Vec<Edit> = edits.iter().map(|e| e.0).collect();
            let theirs_edits: Vec<Edit> = edits.iter().map(|e| e.1).collect();
            let ours = apply(&base, &ours_edits);
            let theirs = apply(&base, &theirs_edits);
            let m = merge(
                std::slice::from_ref(&base),
                std::slice::from_ref(&ours),
                std::slice::from_ref(&theirs),
            );
            let mut want_conflicts = Vec::new();
            for (i, (o, t)) in edits.iter().enumerate() {
                let key = format!("k{i}");
                let (want, conflict) = match (o, t) {
                    (Edit::Keep, _) => (theirs.get(&key), false),
                    (_, Edit::Keep) => (ours.get(&key), false),
                    (Edit::Remove, Edit::Remove) => (None, false),
                    (Edit::Change(a), Edit::Change(b)) if a == b => (ours.get(&key), false),
                    _ => (ours.get(&key), true),
                };
                prop_assert_eq!(m.branches[0].get(&key), want, "{}", key);
                if conflict {
                    want_conflicts.push(key);
                }
            }
            let mut got = paths(&m);
            got.sort();
            want_conflicts.sort();
            prop_assert_eq!(got, want_conflicts);
        }
    }

    #[test]
    fn different_document_counts_conflict_as_a_whole() {
        let a = map(&[("a", leaf("1"))]);
        let m = merge(
            std::slice::from_ref(&a),
            &[a.clone(), a.clone()],
            &[map(&[])],
        );
        assert_eq!(m.conflicts.len(), 1);
        assert!(m.conflicts[0].path.0.is_empty());
    }
}
