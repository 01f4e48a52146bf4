//! Sealing and opening whole trees: which values are encrypted (the sops rules), the key
//! path as additional data, the IV stash that keeps unchanged values byte-identical, and
//! the MAC.

pub mod datakey;
pub mod mac;
pub mod value;

pub use datakey::DataKey;

use crate::metadata::Rules;
use crate::model::{Branch, Item, ListItem, Node, Plain, Scalar, Sealed};
use regex::Regex;
use sha2::{Digest, Sha512};
use std::collections::HashMap;
use value::IV_LEN;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("value at {path} failed to decrypt: {reason}")]
    Value {
        path: String,
        reason: value::ValueError,
    },
    #[error("value at {path} should be encrypted but is stored in clear")]
    NotEncryptedValue { path: String },
    #[error(
        "MAC mismatch: the file was modified outside sops/secrets, or values were tampered with"
    )]
    MacMismatch,
    #[error("the file has no MAC")]
    MacMissing,
    #[error("the MAC could not be decrypted: {0}")]
    MacUndecryptable(value::ValueError),
    #[error("invalid encryption rule regex {0:?}")]
    BadRegex(String),
}

/// Compiled encryption rules (sops's `shouldBeEncrypted`).
pub struct CompiledRules {
    rules: Rules,
    unencrypted_regex: Option<Regex>,
    encrypted_regex: Option<Regex>,
    unencrypted_comment_regex: Option<Regex>,
    encrypted_comment_regex: Option<Regex>,
}

impl CompiledRules {
    pub fn new(rules: &Rules) -> Result<Self, CryptoError> {
        let compile = |r: &Option<String>| {
            r.as_deref()
                .map(|s| Regex::new(s).map_err(|_| CryptoError::BadRegex(s.to_string())))
                .transpose()
        };
        Ok(CompiledRules {
            unencrypted_regex: compile(&rules.unencrypted_regex)?,
            encrypted_regex: compile(&rules.encrypted_regex)?,
            unencrypted_comment_regex: compile(&rules.unencrypted_comment_regex)?,
            encrypted_comment_regex: compile(&rules.encrypted_comment_regex)?,
            rules: rules.clone(),
        })
    }

    fn should_encrypt(&self, path: &[&str], comments: &[Vec<String>], is_comment: bool) -> bool {
        let mut encrypted = true;
        if let Some(suffix) = &self.rules.unencrypted_suffix {
            if path.iter().any(|k| k.ends_with(suffix.as_str())) {
                encrypted = false;
            }
        }
        if let Some(suffix) = &self.rules.encrypted_suffix {
            encrypted = path.iter().any(|k| k.ends_with(suffix.as_str()));
        }
        if let Some(re) = &self.unencrypted_regex {
            if path.iter().any(|k| re.is_match(k)) {
                encrypted = false;
            }
        }
        if let Some(re) = &self.encrypted_regex {
            encrypted = path.iter().any(|k| re.is_match(k));
        }
        if let Some(re) = &self.unencrypted_comment_regex {
            if comments.iter().flatten().any(|c| re.is_match(c)) {
                encrypted = false;
            }
        }
        if let Some(re) = &self.encrypted_comment_regex {
            // The matching comment line itself stays in clear; only what follows it is encrypted.
            let last = comments.len().saturating_sub(1);
            let last_len = comments.last().map_or(0, Vec::len);
            encrypted = comments.iter().enumerate().any(|(i, cs)| {
                cs.iter()
                    .enumerate()
                    .any(|(j, c)| !(is_comment && i == last && j + 1 == last_len) && re.is_match(c))
            });
        }
        encrypted
    }
}

/// Remembers the IV of every value decrypted, keyed by a hash of (key path, type,
/// plaintext), so re-encrypting an unchanged value gives the same ciphertext. sops's key
/// path leaves out list indices, so equal values in one list share a key: their IVs are
/// kept in document order and handed out in the same order.
///
/// An IV is reused only for the very plaintext it encrypted (AES-GCM with one IV and two
/// plaintexts gives both away): every field of the stash key is length-prefixed (keys and
/// values may hold NUL, so a separator byte let `a: "x:\0str\0y"` and
/// `a: {"\0str\0x": y}` share a key), and each IV is stored with the other half of the
/// digest, checked on recall.
#[derive(Default)]
pub struct IvStash(HashMap<[u8; 32], StashedIvs>);

/// An IV and the check digest of the (path, type, plaintext) it encrypted.
type StashedIv = ([u8; IV_LEN], [u8; 32]);

/// The IVs of one stash key, in document order (almost always exactly one).
enum StashedIvs {
    One(StashedIv),
    Many(Vec<StashedIv>),
}

/// How many IVs of each stash key one `seal` has used.
type StashCursor = HashMap<[u8; 32], usize>;

impl IvStash {
    /// The stash key and the check digest of (path, type, plaintext): the two halves of
    /// one SHA-512 over the length-prefixed fields (a collision of the key alone is not
    /// one of the check: the recall compares all 512 bits).
    fn key(aad: &str, value: &Scalar) -> ([u8; 32], [u8; 32]) {
        let bytes = value::value_bytes(value);
        let mut h = Sha512::new();
        for field in [aad.as_bytes(), value.type_name().as_bytes(), &bytes[..]] {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field);
        }
        let digest = h.finalize();
        let (mut key, mut check) = ([0u8; 32], [0u8; 32]);
        key.copy_from_slice(&digest[..32]);
        check.copy_from_slice(&digest[32..]);
        (key, check)
    }

    fn remember(&mut self, aad: &str, value: &Scalar, iv: [u8; IV_LEN]) {
        use std::collections::hash_map::Entry;
        let (key, check) = Self::key(aad, value);
        match self.0.entry(key) {
            Entry::Vacant(e) => {
                e.insert(StashedIvs::One((iv, check)));
            }
            Entry::Occupied(mut e) => {
                let ivs = e.get_mut();
                match ivs {
                    StashedIvs::One(first) => *ivs = StashedIvs::Many(vec![*first, (iv, check)]),
                    StashedIvs::Many(v) => v.push((iv, check)),
                }
            }
        }
    }

    /// sops prints a float with data `7` as `7`, which reads back as an int: for an int
    /// whose text equals a stashed float's data at this path, that float and its IV, so
    /// the value keeps its type and ciphertext (the MAC is over the same bytes).
    fn recall_as_float(
        &self,
        aad: &str,
        value: &Scalar,
        cursor: &mut StashCursor,
    ) -> Option<(Scalar, [u8; IV_LEN])> {
        let Scalar::Int(i) = value else {
            return None;
        };
        let float = Scalar::Float(*i as f64);
        if *float.to_bytes() != *value.to_bytes() {
            return None;
        }
        let iv = self.recall(aad, &float, cursor)?;
        Some((float, iv))
    }

    /// The next stashed IV for this (path, value), if any is left and it was stashed for
    /// exactly this (path, type, plaintext).
    fn recall(&self, aad: &str, value: &Scalar, cursor: &mut StashCursor) -> Option<[u8; IV_LEN]> {
        if self.0.is_empty() {
            return None;
        }
        let (key, check) = Self::key(aad, value);
        let ivs = self.0.get(&key)?;
        let used = cursor.entry(key).or_default();
        let stashed = match ivs {
            StashedIvs::One(one) => (*used == 0).then_some(one),
            StashedIvs::Many(v) => v.get(*used),
        };
        *used += 1;
        let (iv, stashed_check) = stashed?;
        // Never a stashed IV for a different plaintext, even if the keys ever collided.
        bool::from(subtle::ConstantTimeEq::ct_eq(
            &stashed_check[..],
            &check[..],
        ))
        .then_some(*iv)
    }

    /// The number of IVs stashed (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.0
            .values()
            .map(|v| match v {
                StashedIvs::One(_) => 1,
                StashedIvs::Many(v) => v.len(),
            })
            .sum()
    }
}

/// sops's additional data: the map keys joined with `:` plus a trailing `:`.
fn aad(path: &[&str]) -> String {
    let mut s = path.join(":");
    s.push(':');
    s
}

fn display_path(path: &[&str]) -> String {
    if path.is_empty() {
        "(top level)".into()
    } else {
        path.join(".")
    }
}

/// A leaf visited in document order with everything the rules need.
struct Visit<'p, 'a> {
    path: &'p [&'a str],
    comments: &'p [Vec<String>],
    is_comment: bool,
}

/// Walks a tree exactly as sops's `walkBranch`/`walkSlice` do, rebuilding it with `f`.
/// `comment_text` extracts a comment's text for the comment-regex rules.
fn walk<'a, A, B, E>(
    branch: &'a Branch<A>,
    comment_text: &impl Fn(&A) -> Option<String>,
    f: &mut impl FnMut(&A, Visit<'_, 'a>) -> Result<B, E>,
) -> Result<Branch<B>, E> {
    let mut path = Vec::new();
    let mut stack = Vec::new();
    walk_branch(branch, &mut path, &mut stack, comment_text, f)
}

fn walk_branch<'a, A, B, E>(
    branch: &'a Branch<A>,
    path: &mut Vec<&'a str>,
    stack: &mut Vec<Vec<String>>,
    ct: &impl Fn(&A) -> Option<String>,
    f: &mut impl FnMut(&A, Visit<'_, 'a>) -> Result<B, E>,
) -> Result<Branch<B>, E> {
    stack.push(Vec::new());
    let mut items = Vec::with_capacity(branch.items.len());
    for item in &branch.items {
        items.push(match item {
            Item::Comment { text, inline } => {
                if let Some(t) = ct(text) {
                    stack.last_mut().expect("pushed").push(t);
                }
                let text = f(
                    text,
                    Visit {
                        path,
                        comments: stack,
                        is_comment: true,
                    },
                )?;
                Item::Comment {
                    text,
                    inline: *inline,
                }
            }
            Item::Blank => Item::Blank,
            Item::Entry { key, value } => {
                path.push(key.as_str());
                let value = walk_node(value, path, stack, ct, f);
                path.pop();
                stack.last_mut().expect("pushed").clear();
                Item::Entry {
                    key: key.clone(),
                    value: value?,
                }
            }
        });
    }
    stack.pop();
    Ok(Branch { items })
}

fn walk_node<'a, A, B, E>(
    node: &'a Node<A>,
    path: &mut Vec<&'a str>,
    stack: &mut Vec<Vec<String>>,
    ct: &impl Fn(&A) -> Option<String>,
    f: &mut impl FnMut(&A, Visit<'_, 'a>) -> Result<B, E>,
) -> Result<Node<B>, E> {
    Ok(match node {
        Node::Map(b) => Node::Map(walk_branch(b, path, stack, ct, f)?),
        Node::Leaf(l) => Node::Leaf(f(
            l,
            Visit {
                path,
                comments: stack,
                is_comment: false,
            },
        )?),
        Node::List(list) => {
            stack.push(Vec::new());
            let mut out = Vec::with_capacity(list.len());
            for item in list {
                out.push(match item {
                    ListItem::Comment { text, inline } => {
                        if let Some(t) = ct(text) {
                            stack.last_mut().expect("pushed").push(t);
                        }
                        let text = f(
                            text,
                            Visit {
                                path,
                                comments: stack,
                                is_comment: true,
                            },
                        )?;
                        ListItem::Comment {
                            text,
                            inline: *inline,
                        }
                    }
                    ListItem::Value(v) => {
                        let v = walk_node(v, path, stack, ct, f)?;
                        stack.last_mut().expect("pushed").clear();
                        ListItem::Value(v)
                    }
                });
            }
            stack.pop();
            Node::List(out)
        }
    })
}

/// Encrypts a plain tree. Values the rules leave in clear are copied; unchanged values
/// reuse their stashed IV. Returns the sealed tree and the MAC (not yet encrypted).
pub fn seal(
    branches: &[Branch<Plain>],
    key: &DataKey,
    rules: &CompiledRules,
    stash: &IvStash,
) -> Result<(Vec<Branch<Sealed>>, zeroize::Zeroizing<String>), CryptoError> {
    let mut hasher = mac::MacHasher::new(rules.rules.mac_only_encrypted);
    let cipher = value::ValueCipher::new(key);
    let mut cursor = StashCursor::new();
    let comment_text = |p: &Plain| match p.scalar() {
        Scalar::Comment(c) => Some(c.clone()),
        _ => None,
    };
    let mut out = Vec::with_capacity(branches.len());
    for branch in branches {
        out.push(walk(
            branch,
            &comment_text,
            &mut |leaf: &Plain, v: Visit<'_, '_>| {
                let value = leaf.scalar();
                if matches!(value, Scalar::Null) {
                    return Ok(Sealed(Scalar::Null));
                }
                let encrypt = rules.should_encrypt(v.path, v.comments, v.is_comment);
                if (!rules.rules.mac_only_encrypted || encrypt) && !v.is_comment {
                    hasher.update(&value::value_bytes(value));
                }
                if !encrypt || value.is_empty_value() {
                    return Ok(Sealed(value.clone()));
                }
                let aad = aad(v.path);
                let substitute;
                let (value, iv) = match stash.recall(&aad, value, &mut cursor) {
                    Some(iv) => (value, iv),
                    None => match stash.recall_as_float(&aad, value, &mut cursor) {
                        Some((float, iv)) => {
                            substitute = float;
                            (&substitute, iv)
                        }
                        None => (value, value::random_iv()),
                    },
                };
                let enc = cipher.encrypt(value, &aad, &iv);
                Ok::<_, CryptoError>(Sealed(if v.is_comment {
                    Scalar::Comment(enc)
                } else {
                    Scalar::Str(enc)
                }))
            },
        )?);
    }
    out.iter_mut().for_each(sink_list_comments);
    Ok((out, hasher.finish()))
}

/// Decrypts a sealed tree, filling `stash` when given (a reader that never writes back,
/// such as `exec`, skips its hash per value), and returns it with the computed MAC.
pub fn open(
    branches: &[Branch<Sealed>],
    key: &DataKey,
    rules: &CompiledRules,
    mut stash: Option<&mut IvStash>,
) -> Result<(Vec<Branch<Plain>>, zeroize::Zeroizing<String>), CryptoError> {
    let mut hasher = mac::MacHasher::new(rules.rules.mac_only_encrypted);
    let cipher = value::ValueCipher::new(key);
    let mut out = Vec::with_capacity(branches.len());
    for branch in branches {
        out.push(walk(branch, &sealed_comment_text, &mut |leaf: &Sealed,
                                                          v: Visit<
            '_,
            '_,
        >| {
            let stored = &leaf.0;
            if matches!(stored, Scalar::Null) {
                return Ok(Plain::new(Scalar::Null));
            }
            let encrypted = rules.should_encrypt(v.path, v.comments, v.is_comment);
            let plain = if !encrypted {
                stored.clone()
            } else if v.is_comment {
                // sops keeps comments that do not decrypt (written by old versions) as they are.
                let Scalar::Comment(text) = stored else {
                    return Ok(Plain::new(stored.clone()));
                };
                match decrypt_comment(&cipher, text, v.path) {
                    Some((c, iv, aad)) => {
                        let c = Scalar::Comment(c);
                        if let Some(stash) = stash.as_deref_mut() {
                            stash.remember(&aad, &c, iv);
                        }
                        c
                    }
                    None => stored.clone(),
                }
            } else {
                match stored {
                    Scalar::Str(s) if s.is_empty() => Scalar::Str(String::new()),
                    Scalar::Str(s) => {
                        let aad = aad(v.path);
                        let (plain, iv) = cipher.decrypt(s, &aad).map_err(|reason| {
                            if reason == value::ValueError::NotEncrypted {
                                CryptoError::NotEncryptedValue {
                                    path: display_path(v.path),
                                }
                            } else {
                                CryptoError::Value {
                                    path: display_path(v.path),
                                    reason,
                                }
                            }
                        })?;
                        if let Some(stash) = stash.as_deref_mut() {
                            stash.remember(&aad, &plain, iv);
                        }
                        plain
                    }
                    _ => {
                        return Err(CryptoError::NotEncryptedValue {
                            path: display_path(v.path),
                        })
                    }
                }
            };
            // sops writes a comment inside a list as a `type:comment` list value; like
            // every comment it is outside the MAC.
            let is_comment = v.is_comment || matches!(plain, Scalar::Comment(_));
            if (!rules.rules.mac_only_encrypted || encrypted) && !is_comment {
                hasher.update(&value::value_bytes(&plain));
            }
            Ok(Plain::new(plain))
        })?);
    }
    out.iter_mut().for_each(lift_list_comments);
    Ok((out, hasher.finish()))
}

/// Decrypts a comment sealed for the container at `path`, or for one of its ancestors:
/// after a nested block, YAML readers (go-yaml, so sops, and ours) give the first comment
/// run to the innermost block, while the writer may have sealed it for an outer one (sops
/// does this to its own files). The authenticated path tells which one it was. Returns the
/// text, its IV and the additional data that opened it.
fn decrypt_comment(
    cipher: &value::ValueCipher,
    text: &str,
    path: &[&str],
) -> Option<(String, [u8; IV_LEN], String)> {
    (0..=path.len()).rev().find_map(|len| {
        let aad = aad(&path[..len]);
        match cipher.decrypt(text, &aad) {
            Ok((Scalar::Comment(c), iv)) => Some((c, iv, aad)),
            _ => None,
        }
    })
}

/// A sealed comment's stored text, for the comment-regex rules.
fn sealed_comment_text(s: &Sealed) -> Option<String> {
    match &s.0 {
        Scalar::Comment(c) => Some(c.clone()),
        _ => None,
    }
}

/// The key paths (dotted) of values stored in clear where the file's rules say they must be
/// encrypted: what `open` would refuse with `NotEncryptedValue`, found without a data key
/// (the scanner's check that no value of a file was committed in clear).
pub fn clear_values(branches: &[Branch<Sealed>], rules: &CompiledRules) -> Vec<String> {
    paths_where(branches, |leaf, v| {
        let clear = match &leaf.0 {
            Scalar::Null | Scalar::Comment(_) => false,
            Scalar::Str(s) => !s.is_empty() && !value::is_encrypted(s),
            _ => true,
        };
        clear && !v.is_comment && rules.should_encrypt(v.path, v.comments, false)
    })
}

/// The key paths (dotted) of empty values (`""`, null) in an encrypted tree. sops stores
/// an empty value in clear and it adds nothing to the MAC (neither does a value's `type`),
/// so nothing shows whether it was there when the file was encrypted: someone who can
/// write to the repository can add `PATH: ""` to any file. `status` warns about each.
pub fn empty_values(branches: &[Branch<Sealed>]) -> Vec<String> {
    paths_where(branches, |leaf, v| {
        !v.is_comment && !leaf.0.is_comment() && leaf.0.is_empty_value()
    })
}

/// The key paths (dotted) of the leaves of an encrypted tree for which `keep` holds.
fn paths_where(
    branches: &[Branch<Sealed>],
    keep: impl Fn(&Sealed, &Visit<'_, '_>) -> bool,
) -> Vec<String> {
    let mut found = Vec::new();
    for branch in branches {
        let _ = walk::<_, (), std::convert::Infallible>(
            branch,
            &sealed_comment_text,
            &mut |leaf: &Sealed, v: Visit<'_, '_>| {
                if keep(leaf, &v) {
                    found.push(display_path(v.path));
                }
                Ok(())
            },
        );
    }
    found
}

/// Calls `f` on every list item of the tree, in document order; a value item is visited
/// before what it contains (so `f` may replace it and the walk goes on in the new item).
fn for_each_list_item<L>(branch: &mut Branch<L>, f: &mut impl FnMut(&mut ListItem<L>)) {
    fn node<L>(n: &mut Node<L>, f: &mut impl FnMut(&mut ListItem<L>)) {
        match n {
            Node::Map(b) => for_each_list_item(b, f),
            Node::Leaf(_) => {}
            Node::List(items) => {
                for item in items.iter_mut() {
                    f(item);
                    if let ListItem::Value(v) = item {
                        node(v, f);
                    }
                }
            }
        }
    }
    for item in &mut branch.items {
        if let Item::Entry { value, .. } = item {
            node(value, f);
        }
    }
}

/// The reverse of [`lift_list_comments`] for writing: an encrypted comment line inside a
/// list becomes a `type:comment` list value, as sops writes it (so a sops file keeps its
/// form through set/edit, and our files match sops's byte for byte).
fn sink_list_comments(branch: &mut Branch<Sealed>) {
    for_each_list_item(branch, &mut |item| {
        if let ListItem::Comment {
            text: Sealed(Scalar::Comment(enc)),
            inline: false,
        } = item
        {
            if value::is_encrypted(enc) {
                let enc = std::mem::take(enc);
                *item = ListItem::Value(Node::Leaf(Sealed(Scalar::Str(enc))));
            }
        }
    });
}

/// Turns list values that decrypted to comments (sops's way of storing a comment inside a
/// list) back into comment items, so they print as `# …` lines.
fn lift_list_comments(branch: &mut Branch<Plain>) {
    for_each_list_item(branch, &mut |item| {
        if let ListItem::Value(Node::Leaf(p)) = item {
            if p.scalar().is_comment() {
                *item = ListItem::Comment {
                    text: p.clone(),
                    inline: false,
                };
            }
        }
    });
}

/// Encrypts the MAC with `lastmodified` as additional data, keeping the old ciphertext when
/// neither changed (so a no-op rewrite is byte-identical).
pub fn encrypt_mac(
    mac: &str,
    key: &DataKey,
    last_modified: &str,
    previous: Option<&str>,
) -> String {
    let aad = mac::mac_aad(last_modified);
    if let Some(prev) = previous {
        if let Ok((Scalar::Str(old), _)) = value::decrypt(prev, key, &aad) {
            if mac::mac_equal(&old, mac) {
                return prev.to_string();
            }
        }
    }
    value::encrypt(
        &Scalar::Str(mac.to_string()),
        key,
        &aad,
        &value::random_iv(),
    )
}

/// Checks the stored MAC against the one computed while opening.
pub fn verify_mac(
    stored: &str,
    computed: &str,
    key: &DataKey,
    last_modified: &str,
) -> Result<(), CryptoError> {
    if stored.is_empty() {
        return Err(CryptoError::MacMissing);
    }
    let (plain, _) = value::decrypt(stored, key, &mac::mac_aad(last_modified))
        .map_err(CryptoError::MacUndecryptable)?;
    match plain {
        Scalar::Str(m) if mac::mac_equal(&m, computed) => Ok(()),
        _ => Err(CryptoError::MacMismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::Rules;

    fn str_leaf(s: &str) -> Node<Plain> {
        Node::Leaf(Plain::new(Scalar::Str(s.into())))
    }

    /// The one encrypted value of a one-path tree, and its IV.
    fn sealed_iv(branch: &Branch<Sealed>, path: &[&str]) -> Vec<u8> {
        let mut node = branch.get(path[0]).expect("first key");
        for k in &path[1..] {
            let Node::Map(m) = node else {
                panic!("not a map")
            };
            node = m.get(k).expect("key");
        }
        let Node::Leaf(Sealed(Scalar::Str(enc))) = node else {
            panic!("not an encrypted value")
        };
        value::parse(enc).expect("ENC value").iv
    }

    /// Issue 10, case 9: the stash key was SHA-512(aad ‖ 0 ‖ type ‖ 0 ‖ plaintext), and
    /// keys and values may hold NUL: `a: "x:\0str\0y"` edited into `a: {"\0str\0x": y}`
    /// gave both the same key, so the new plaintext was encrypted with the old IV.
    #[test]
    fn a_different_value_never_gets_a_stashed_iv_even_when_the_fields_run_together() {
        let key = DataKey::generate();
        let rules = CompiledRules::new(&Rules::default()).unwrap();
        let mut before = Branch::new();
        before.insert("a".into(), str_leaf("x:\0str\0y"));
        let (sealed, _) = seal(&[before.clone()], &key, &rules, &IvStash::default()).unwrap();
        let old_iv = sealed_iv(&sealed[0], &["a"]);

        let mut stash = IvStash::default();
        open(&sealed, &key, &rules, Some(&mut stash)).unwrap();
        assert_eq!(stash.len(), 1);
        // Unchanged: the same IV, the same bytes.
        let (again, _) = seal(&[before], &key, &rules, &stash).unwrap();
        assert_eq!(again, sealed);

        let mut inner = Branch::new();
        inner.insert("\0str\0x".into(), str_leaf("y"));
        let mut after = Branch::new();
        after.insert("a".into(), Node::Map(inner));
        let (resealed, _) = seal(&[after], &key, &rules, &stash).unwrap();
        let new_iv = sealed_iv(&resealed[0], &["a", "\0str\0x"]);
        assert_ne!(new_iv, old_iv, "an IV was reused for a different plaintext");
    }

    #[test]
    fn empty_values_are_listed_because_the_mac_does_not_cover_them() {
        let key = DataKey::generate();
        let rules = CompiledRules::new(&Rules::default()).unwrap();
        let mut plain = Branch::new();
        plain.insert("token".into(), str_leaf("t"));
        let mut db = Branch::new();
        db.insert("host".into(), str_leaf("h"));
        db.insert("password".into(), str_leaf(""));
        plain.insert("db".into(), Node::Map(db));
        let (mut sealed, mac) = seal(&[plain], &key, &rules, &IvStash::default()).unwrap();
        assert_eq!(empty_values(&sealed), ["db.password"]);
        // Injected after encryption: same MAC, so only this listing can show it.
        sealed[0].insert(
            "PATH".into(),
            Node::Leaf(Sealed(Scalar::Str(String::new()))),
        );
        sealed[0].insert("LD_PRELOAD".into(), Node::Leaf(Sealed(Scalar::Null)));
        let (_, mac2) = open(&sealed, &key, &rules, None).unwrap();
        assert_eq!(*mac, *mac2);
        assert_eq!(empty_values(&sealed), ["db.password", "PATH", "LD_PRELOAD"]);
    }

    #[test]
    fn the_stash_key_length_prefixes_every_field() {
        let (k1, c1) = IvStash::key("a:", &Scalar::Str("x:\0str\0y".into()));
        let (k2, c2) = IvStash::key("a:\0str\0x:", &Scalar::Str("y".into()));
        assert_ne!(k1, k2);
        assert_ne!(c1, c2);
        assert_ne!(k1, c1, "the check digest is not the key");
        // A recall whose check does not match the stashed one gives no IV.
        let mut stash = IvStash::default();
        stash.0.insert(k1, StashedIvs::One(([7; IV_LEN], [0; 32])));
        let mut cursor = StashCursor::new();
        assert_eq!(
            stash.recall("a:", &Scalar::Str("x:\0str\0y".into()), &mut cursor),
            None
        );
    }
}
