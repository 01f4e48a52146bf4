//! The plan of an import and its execution in memory: which keys (units: a map entry
//! holding a value or a list) go where, as secret or plain; the tree to write, merged into
//! the destination's existing values when it exists; the file's rules with the plain names
//! added to `unencrypted_regex`; the sealed text; and its verification, which decrypts that
//! text with the data key and compares every imported value, checks that each secret is
//! encrypted and each plain key is not, and that every other value of an existing file
//! kept its ciphertext byte for byte.
//!
//! A name kept in clear is in clear wherever it occurs in the file (sops's
//! `unencrypted_regex` matches any key of a value's path), so a plain name that a secret
//! also uses, or that lies on the path of an encrypted value already in the file, is made
//! secret instead.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::classify::{Class, Classifier, Judgement};
use super::{show_path, ImportError, Source};
use crate::crypto::DataKey;
use crate::engine::{EncryptedFile, Opened};
use crate::metadata::Rules;
use crate::model::{Branch, Item, ListItem, Node, Plain, Scalar, Sealed};
use crate::store::{dotenv, Format, Layout};

/// The user's choices.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Every key is a secret.
    pub encrypt_all: bool,
    /// Names kept in clear whatever the classifier says.
    pub keep_clear: Vec<String>,
    /// Replace values that differ in the destination instead of refusing.
    pub overwrite: bool,
}

/// What happens to one key in the destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Not there yet.
    Add,
    /// There with the same value: nothing changes.
    Same,
    /// There with another value, replaced (`--overwrite`).
    Replace,
    /// There with another value: refused.
    Conflict,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Add => "add",
            Action::Same => "unchanged",
            Action::Replace => "replace",
            Action::Conflict => "CONFLICT",
        }
    }
}

/// One key of the plan.
#[derive(Clone, Debug)]
pub struct Unit {
    pub path: Vec<String>,
    pub judgement: Judgement,
    pub action: Action,
}

/// An existing destination, opened.
pub struct Existing {
    pub file: EncryptedFile,
    pub opened: Opened,
    pub key: DataKey,
}

/// What will be written.
pub struct Plan {
    pub dest: PathBuf,
    pub format: Format,
    pub units: Vec<Unit>,
    /// The whole plaintext of the destination after the import.
    tree: Vec<Branch<Plain>>,
    /// The value each unit must decrypt to.
    expected: Vec<Node<Plain>>,
    layout: Layout,
    rules: Rules,
}

/// The sealed destination, verified in memory, and the data key that opens it.
pub struct SealedFile {
    pub bytes: Vec<u8>,
    pub key: DataKey,
}

impl Plan {
    /// Classifies the source's keys and lays them into the destination (`existing`, or a
    /// new file in `format` with `base_rules`, the environment's).
    pub fn build(
        source: &Source,
        dest: &Path,
        format: Format,
        existing: Option<&Existing>,
        base_rules: Option<&Rules>,
        opts: &Options,
    ) -> Result<Plan, ImportError> {
        let empty = Branch::new();
        let root = source.root().unwrap_or(&empty);
        let converted = convert_tree(source, root, format, dest)?;
        let classifier = Classifier::default();
        let mut units = Vec::new();
        collect_units(&converted, &mut Vec::new(), &mut |path, node| {
            let values = leaf_texts(node, format);
            let values: Vec<&str> = values.iter().map(|v| v.as_str()).collect();
            let name = unit_name(path, format);
            let judgement = if opts.encrypt_all {
                Judgement {
                    class: Class::Secret,
                    reason: "--encrypt-all".into(),
                }
            } else if opts.keep_clear.iter().any(|k| k == name) {
                Judgement {
                    class: Class::Plain,
                    reason: "--keep-clear".into(),
                }
            } else {
                classifier.judge(name, &values)
            };
            units.push((path.to_vec(), judgement, node.clone()));
        });
        // Names that must stay encrypted: every key on the path of a secret, and of an
        // encrypted value already in the destination.
        let mut secret_names: HashSet<String> = HashSet::new();
        for (path, j, _) in &units {
            if j.class == Class::Secret {
                secret_names.extend(path.iter().cloned());
            }
        }
        if let Some(e) = existing {
            for b in &e.file.branches {
                encrypted_path_keys(b, &mut secret_names);
            }
        }
        let mut out_units = Vec::with_capacity(units.len());
        let mut tree = match existing {
            Some(e) => e.opened.branches.clone(),
            None => vec![converted.clone()],
        };
        if tree.is_empty() {
            tree.push(Branch::new());
        }
        let mut expected = Vec::with_capacity(units.len());
        // Keys are looked up through maps, not by scanning a branch per key: an import of
        // n keys stays linear in n.
        let before = existing.map(|e| index(&e.opened.branches[0]));
        let mut top = top_positions(&tree[0]);
        // A dotenv destination's keys by the variable they set: a line written
        // `export API_TOKEN=` there is the source's `API_TOKEN`, not a second one.
        let written: HashMap<String, String> = match (existing, format) {
            (Some(e), Format::Dotenv) => e.opened.branches[0]
                .entries()
                .map(|(k, _)| (dotenv::env_name(k).to_string(), k.to_string()))
                .collect(),
            _ => HashMap::new(),
        };
        for (mut path, mut judgement, node) in units {
            if let [only] = path.as_mut_slice() {
                if let Some(k) = written.get(dotenv::env_name(only)) {
                    only.clone_from(k);
                }
            }
            let name = unit_name(&path, format).to_string();
            if judgement.class == Class::Plain
                && (secret_names.contains(&name)
                    || path[..path.len() - 1]
                        .iter()
                        .any(|k| secret_names.contains(k)))
            {
                judgement = Judgement {
                    class: Class::Secret,
                    reason: format!("plain, but `{name}` also names a secret in the file"),
                };
            }
            let action = match &before {
                None => Action::Add,
                Some(before) => match before.get(&path).copied() {
                    None => Action::Add,
                    Some(old) if *old == node => Action::Same,
                    Some(_) if opts.overwrite => Action::Replace,
                    Some(_) => Action::Conflict,
                },
            };
            // A parent on the way that is a value, not a map, is a conflict too.
            let placed = existing.is_none()
                || !matches!(action, Action::Add | Action::Replace)
                || insert(&mut tree[0], &mut top, &path, node.clone());
            out_units.push(Unit {
                path,
                judgement,
                action: if placed { action } else { Action::Conflict },
            });
            expected.push(node);
        }
        let mut plain_names: Vec<String> = out_units
            .iter()
            .filter(|u| u.judgement.class == Class::Plain)
            .map(|u| unit_name(&u.path, format).to_string())
            .collect();
        plain_names.sort();
        plain_names.dedup();
        let (base, layout) = match existing {
            Some(e) => (e.file.metadata.rules.clone(), e.file.layout),
            None => (
                base_rules
                    .filter(|r| **r != Rules::default())
                    .cloned()
                    .unwrap_or_else(|| Rules {
                        unencrypted_suffix: Some("_unencrypted".into()),
                        ..Rules::default()
                    }),
                if format == source.format {
                    source.layout
                } else {
                    Layout::default_for(format)
                },
            ),
        };
        // Names that this import makes secret leave the plain set (a key once plain can
        // become secret); the plan says so.
        let now_secret: Vec<String> = out_units
            .iter()
            .filter(|u| u.judgement.class == Class::Secret)
            .map(|u| unit_name(&u.path, format).to_string())
            .collect();
        let (_, was_plain) = split_plain_names(base.unencrypted_regex.as_deref().unwrap_or(""));
        for u in out_units.iter_mut() {
            if u.judgement.class == Class::Secret
                && was_plain.iter().any(|n| n == unit_name(&u.path, format))
            {
                u.judgement
                    .reason
                    .push_str("; was kept in clear, now encrypted");
            }
        }
        let rules = with_plain_names(&base, &plain_names, &now_secret, dest)?;
        Ok(Plan {
            dest: dest.to_path_buf(),
            format,
            units: out_units,
            tree,
            expected,
            layout,
            rules,
        })
    }

    /// The keys refused because the destination holds another value there.
    pub fn conflicts(&self) -> Vec<&Unit> {
        self.units
            .iter()
            .filter(|u| u.action == Action::Conflict)
            .collect()
    }

    /// Does the import change the destination at all?
    pub fn changes(&self) -> bool {
        self.units
            .iter()
            .any(|u| matches!(u.action, Action::Add | Action::Replace))
    }

    /// The rules the destination will carry.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Encrypts the destination (a new file for `keys`, wrapped through `services`, or the
    /// existing one under its own data key and recipients) and verifies the text in memory.
    pub fn seal(
        &self,
        existing: Option<&Existing>,
        keys: &crate::keys::MasterKeys,
        services: &crate::keys::Services,
    ) -> Result<SealedFile, ImportError> {
        if !self.conflicts().is_empty() {
            return Err(self.conflict_error());
        }
        let (file, key) = match existing {
            Some(e) => {
                let mut file = e.file.clone();
                file.metadata.rules = self.rules.clone();
                let key = DataKey::from_slice(e.key.bytes()).expect("a data key");
                file.reseal(&self.tree, &key, &e.opened.stash)?;
                (file, key)
            }
            None => {
                let key = DataKey::generate();
                let file = EncryptedFile::create_with_key(
                    &self.dest,
                    self.format,
                    self.layout,
                    &self.tree,
                    keys,
                    self.rules.clone(),
                    &key,
                    services,
                )?;
                (file, key)
            }
        };
        let bytes = file.to_bytes()?;
        self.verify(&bytes, &key, existing.map(|e| &e.file))?;
        Ok(SealedFile { bytes, key })
    }

    /// A key path as the commands name it: on a dotenv destination the variable name
    /// (`PASSWORD` for a line written `export PASSWORD=`), as exec, get and check name it.
    pub fn shown(&self, path: &[String]) -> String {
        match path {
            [key] if self.format == Format::Dotenv => {
                crate::store::shown_key(self.format, key).to_string()
            }
            _ => show_path(path),
        }
    }

    pub fn conflict_error(&self) -> ImportError {
        let keys: Vec<String> = self
            .conflicts()
            .iter()
            .map(|u| self.shown(&u.path))
            .collect();
        ImportError::Conflict {
            dest: self.dest.clone(),
            count: keys.len(),
            keys: keys.join(", "),
        }
    }

    /// Decrypts `bytes` (the destination's text) with `key` and checks every imported
    /// value, the class of each, and that every other value of `before` kept its ciphertext.
    pub fn verify(
        &self,
        bytes: &[u8],
        key: &DataKey,
        before: Option<&EncryptedFile>,
    ) -> Result<(), ImportError> {
        let fail = |path: &[String], what: &'static str| ImportError::Verify {
            dest: self.dest.clone(),
            key: self.shown(path),
            what,
        };
        let file = EncryptedFile::parse(&self.dest, self.format, bytes)?;
        let opened = file.open(key)?;
        let plain = index(
            opened
                .branches
                .first()
                .ok_or_else(|| fail(&[], "no values"))?,
        );
        let sealed = index(
            file.branches
                .first()
                .ok_or_else(|| fail(&[], "no values"))?,
        );
        for (unit, want) in self.units.iter().zip(&self.expected) {
            if unit.action == Action::Conflict {
                continue;
            }
            match plain.get(&unit.path).copied() {
                Some(got) if got == want => {}
                Some(_) => return Err(fail(&unit.path, "the value decrypts differently")),
                None => return Err(fail(&unit.path, "the key is missing")),
            }
            let node = sealed
                .get(&unit.path)
                .copied()
                .ok_or_else(|| fail(&unit.path, "missing"))?;
            let mut leaves = Vec::new();
            sealed_leaves(node, &mut leaves);
            for leaf in leaves {
                let enc = matches!(&leaf.0, Scalar::Str(s) if s.starts_with("ENC["));
                let empty = leaf.0.is_empty_value();
                match unit.judgement.class {
                    Class::Secret if !enc && !empty => {
                        return Err(fail(&unit.path, "a secret would be stored in clear"))
                    }
                    Class::Plain if enc => {
                        return Err(fail(&unit.path, "a plain value would be encrypted"))
                    }
                    _ => {}
                }
            }
        }
        if let Some(before) = before {
            let replaced: Vec<&[String]> = self
                .units
                .iter()
                .filter(|u| u.action == Action::Replace)
                .map(|u| u.path.as_slice())
                .collect();
            let old = leaf_map(&before.branches);
            let new = leaf_map(&file.branches);
            for (path, values) in &old {
                if replaced.iter().any(|r| path.starts_with(r)) {
                    continue;
                }
                if new.get(path) != Some(values) {
                    return Err(fail(path, "another value of the file would change"));
                }
            }
        }
        Ok(())
    }
}

/// The source's tree in the destination's format: dotenv texts become the values they
/// mean (and values become dotenv texts); comments go when the format changes.
fn convert_tree(
    source: &Source,
    root: &Branch<Plain>,
    format: Format,
    dest: &Path,
) -> Result<Branch<Plain>, ImportError> {
    if format == source.format {
        return Ok(root.clone());
    }
    let mut node = Node::Map(root.clone());
    node.strip_comments();
    let Node::Map(mut b) = node else {
        unreachable!()
    };
    if format == Format::Dotenv {
        for item in &mut b.items {
            if let Item::Entry { key, value } = item {
                let Node::Leaf(leaf) = value else {
                    return Err(ImportError::Destination {
                        dest: dest.to_path_buf(),
                        what: format!(
                            "a dotenv file holds one value per key, and `{key}` holds a {}; import into a YAML or JSON file (--to FILE.yaml)",
                            if matches!(value, Node::Map(_)) { "map" } else { "list" }
                        ),
                    });
                };
                let text = dotenv::text_for(&leaf.scalar().to_text());
                *leaf = Plain::new(Scalar::Str(text.to_string()));
            }
        }
    } else if source.format == Format::Dotenv {
        // The variable a line sets is its key: `export DB_PASSWORD` and `API_TOKEN ` are
        // DB_PASSWORD and API_TOKEN to loaders, and so to a YAML or JSON file.
        // (a variable set twice was refused when the source was read)
        for item in &mut b.items {
            if let Item::Entry { key, value } = item {
                *key = dotenv::env_name(key).to_string();
                if let Node::Leaf(leaf) = value {
                    if let Scalar::Str(stored) = leaf.scalar() {
                        if let Ok(v) = dotenv::value_of(stored) {
                            *leaf = Plain::new(Scalar::Str(v.to_string()));
                        }
                    }
                }
            }
        }
    }
    Ok(b)
}

/// Calls `f` for each unit: a map entry holding a value or a list (maps are walked into).
fn collect_units(
    b: &Branch<Plain>,
    path: &mut Vec<String>,
    f: &mut impl FnMut(&[String], &Node<Plain>),
) {
    for (key, node) in b.entries() {
        path.push(key.to_string());
        match node {
            Node::Map(inner) if inner.entries().next().is_some() => collect_units(inner, path, f),
            _ => f(path, node),
        }
        path.pop();
    }
}

/// The name a unit is judged and kept clear by: its last key (a dotenv `export NAME` is
/// `NAME` to the classifier; the regex sees the key as stored).
pub fn unit_name(path: &[String], format: Format) -> &str {
    let last = path.last().map(String::as_str).unwrap_or("");
    if format == Format::Dotenv {
        dotenv::env_name(last)
    } else {
        last
    }
}

/// The texts of a unit's values (a dotenv text is judged by what it means).
fn leaf_texts(node: &Node<Plain>, format: Format) -> Vec<zeroize::Zeroizing<String>> {
    let mut out = Vec::new();
    let mut todo = vec![node];
    while let Some(n) = todo.pop() {
        match n {
            Node::Leaf(l) => {
                let s = l.scalar();
                if s.is_comment() {
                    continue;
                }
                let text = s.to_text();
                if format == Format::Dotenv {
                    if let Ok(v) = dotenv::value_of(&text) {
                        out.push(v);
                        continue;
                    }
                }
                out.push(text);
            }
            Node::Map(b) => todo.extend(b.entries().map(|(_, v)| v)),
            Node::List(items) => todo.extend(items.iter().filter_map(|i| match i {
                ListItem::Value(v) => Some(v),
                ListItem::Comment { .. } => None,
            })),
        }
    }
    out
}

/// Every map entry of a tree by its key path (lists are not entered: a unit holds a
/// whole list).
fn index<L>(b: &Branch<L>) -> HashMap<Vec<String>, &Node<L>> {
    let mut out = HashMap::new();
    let mut todo: Vec<(Vec<String>, &Branch<L>)> = vec![(Vec::new(), b)];
    while let Some((path, b)) = todo.pop() {
        for (k, v) in b.entries() {
            let mut p = path.clone();
            p.push(k.to_string());
            if let Node::Map(m) = v {
                todo.push((p.clone(), m));
            }
            out.insert(p, v);
        }
    }
    out
}

/// The position of each top-level entry in `b.items`.
fn top_positions<L>(b: &Branch<L>) -> HashMap<String, usize> {
    b.items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| match item {
            Item::Entry { key, .. } => Some((key.clone(), i)),
            _ => None,
        })
        .collect()
}

/// Sets `path` to `value`, creating maps on the way; false when a parent is not a map.
/// A top-level key (every key of a dotenv file) is found through `top`.
fn insert(
    b: &mut Branch<Plain>,
    top: &mut HashMap<String, usize>,
    path: &[String],
    value: Node<Plain>,
) -> bool {
    let (first, rest) = path.split_first().expect("a unit has a key");
    let slot = match top.get(first) {
        Some(&i) => match &mut b.items[i] {
            Item::Entry { value, .. } => value,
            _ => unreachable!("positions of entries"),
        },
        None => {
            let fresh = if rest.is_empty() {
                value.clone()
            } else {
                Node::Map(Branch::new())
            };
            top.insert(first.clone(), b.items.len());
            b.items.push(Item::Entry {
                key: first.clone(),
                value: fresh,
            });
            match b.items.last_mut() {
                Some(Item::Entry { value, .. }) => value,
                _ => unreachable!("just pushed"),
            }
        }
    };
    let Some((last, parents)) = rest.split_last() else {
        *slot = value;
        return true;
    };
    let Node::Map(cur) = slot else {
        return false;
    };
    let mut cur = cur;
    for k in parents {
        if cur.get(k).is_none() {
            cur.insert(k.clone(), Node::Map(Branch::new()));
        }
        match cur.get_mut(k) {
            Some(Node::Map(m)) => cur = m,
            _ => return false,
        }
    }
    cur.insert(last.clone(), value);
    true
}

fn sealed_leaves<'a>(node: &'a Node<Sealed>, out: &mut Vec<&'a Sealed>) {
    match node {
        Node::Leaf(l) if !l.0.is_comment() => out.push(l),
        Node::Leaf(_) => {}
        Node::Map(b) => {
            for (_, v) in b.entries() {
                sealed_leaves(v, out);
            }
        }
        Node::List(items) => {
            for i in items {
                if let ListItem::Value(v) = i {
                    sealed_leaves(v, out);
                }
            }
        }
    }
}

/// Every key on the path of an encrypted value.
fn encrypted_path_keys(b: &Branch<Sealed>, out: &mut HashSet<String>) {
    let _ = b.try_map::<(), std::convert::Infallible>(&mut |leaf, path| {
        if matches!(&leaf.0, Scalar::Str(s) if s.starts_with("ENC[")) {
            out.extend(path.iter().map(|k| k.to_string()));
        }
        Ok(())
    });
}

/// Every stored leaf (values and comments), by key path, in document order.
fn leaf_map(branches: &[Branch<Sealed>]) -> HashMap<Vec<String>, Vec<Scalar>> {
    let mut out: HashMap<Vec<String>, Vec<Scalar>> = HashMap::new();
    for b in branches {
        let _ = b.try_map::<(), std::convert::Infallible>(&mut |leaf, path| {
            out.entry(path.iter().map(|k| k.to_string()).collect())
                .or_default()
                .push(leaf.0.clone());
            Ok(())
        });
    }
    out
}

/// `base` with `names` kept in clear: the names join `unencrypted_regex` (anchored, each
/// escaped); an `unencrypted_suffix` becomes the equivalent `SUFFIX$` alternative, since
/// sops takes one of the two. A file that encrypts only what a rule names cannot say
/// "these in clear" and is refused.
pub fn with_plain_names(
    base: &Rules,
    names: &[String],
    now_secret: &[String],
    dest: &Path,
) -> Result<Rules, ImportError> {
    let (other, old) = split_plain_names(base.unencrypted_regex.as_deref().unwrap_or(""));
    let dropped = old.iter().any(|n| now_secret.contains(n));
    if names.is_empty() && !dropped {
        return Ok(base.clone());
    }
    if base.encrypted_suffix.is_some() {
        return Err(ImportError::Rules {
            dest: dest.to_path_buf(),
            rule: "encrypted_suffix",
        });
    }
    if base.encrypted_regex.is_some() {
        return Err(ImportError::Rules {
            dest: dest.to_path_buf(),
            rule: "encrypted_regex",
        });
    }
    let mut parts = Vec::new();
    if let Some(s) = &base.unencrypted_suffix {
        parts.push(format!("{}$", regex::escape(s)));
    }
    if let Some(o) = other {
        parts.push(o);
    }
    // One set: the names kept in clear before, and the new ones, less the now secret.
    let mut set: Vec<String> = old
        .into_iter()
        .chain(names.iter().cloned())
        .filter(|n| !now_secret.contains(n))
        .collect();
    set.sort();
    set.dedup();
    if !set.is_empty() {
        let alts: Vec<String> = set.iter().map(|n| regex::escape(n)).collect();
        parts.push(format!("^(?:{})$", alts.join("|")));
    }
    Ok(Rules {
        unencrypted_suffix: None,
        unencrypted_regex: (!parts.is_empty()).then(|| parts.join("|")),
        ..base.clone()
    })
}

/// Splits an `unencrypted_regex` into the rest (a suffix rule, the user's own regex, as
/// written before) and the plain names import added (`^(?:A|B\.C)$` at its end); older
/// imports nested the previous regex as `(?:old)|^(?:…)$` each time, and those layers are
/// unwrapped too.
pub fn split_plain_names(r: &str) -> (Option<String>, Vec<String>) {
    let mut names = Vec::new();
    let mut rest = r.to_string();
    while let Some(body) = rest.strip_suffix(")$") {
        let Some(i) = body.rfind("^(?:") else {
            break;
        };
        let inner = &body[i + 4..];
        if !(i == 0 || body[..i].ends_with('|')) || has_unescaped(inner, &['(', ')']) {
            break;
        }
        names.extend(split_unescaped(inner).into_iter().map(|n| unescape(&n)));
        let before = body[..i].strip_suffix('|').unwrap_or("").to_string();
        // An older import's `(?:old)` layer.
        rest = match before.strip_prefix("(?:").and_then(|b| b.strip_suffix(')')) {
            Some(old) if regex::Regex::new(old).is_ok() => old.to_string(),
            _ => before,
        };
    }
    let rest = (!rest.is_empty()).then(|| {
        if names.is_empty() {
            format!("(?:{rest})")
        } else {
            rest
        }
    });
    (rest, names)
}

fn has_unescaped(s: &str, chars: &[char]) -> bool {
    let mut esc = false;
    for c in s.chars() {
        if esc {
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else if chars.contains(&c) {
            return true;
        }
    }
    false
}

fn split_unescaped(s: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut esc = false;
    for c in s.chars() {
        if esc {
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else if c == '|' {
            out.push(String::new());
            continue;
        }
        out.last_mut().unwrap().push(c);
    }
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut esc = false;
    for c in s.chars() {
        if !esc && c == '\\' {
            esc = true;
            continue;
        }
        esc = false;
        out.push(c);
    }
    out
}

/// Reads an existing destination's data key and opens it.
pub fn open_existing(
    file: EncryptedFile,
    ids: &crate::keys::Identities,
) -> Result<Existing, ImportError> {
    let key = file.data_key(ids)?;
    let opened = file.open(&key)?;
    Ok(Existing { file, opened, key })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_join_the_rules() {
        let suffix = Rules {
            unencrypted_suffix: Some("_unencrypted".into()),
            ..Rules::default()
        };
        let r = with_plain_names(
            &suffix,
            &["DEBUG".into(), "A.B".into()],
            &[],
            Path::new("f"),
        )
        .unwrap();
        assert_eq!(r.unencrypted_suffix, None);
        assert_eq!(
            r.unencrypted_regex.as_deref(),
            Some(r"_unencrypted$|^(?:A\.B|DEBUG)$")
        );
        let re = regex::Regex::new(r.unencrypted_regex.as_deref().unwrap()).unwrap();
        assert!(re.is_match("DEBUG") && re.is_match("x_unencrypted") && re.is_match("A.B"));
        assert!(!re.is_match("DEBUGX") && !re.is_match("AxB"));
        let enc = Rules {
            encrypted_regex: Some("^data$".into()),
            ..Rules::default()
        };
        assert!(with_plain_names(&enc, &["X".into()], &[], Path::new("f")).is_err());
        assert_eq!(
            with_plain_names(&enc, &[], &[], Path::new("f")).unwrap(),
            enc
        );
    }

    /// Review of issue 13: re-imports rebuild one set (no `(?:old)|…` nesting), and a
    /// name that is now secret leaves it; an older nested regex is flattened.
    #[test]
    fn plain_names_are_one_set_and_a_now_secret_name_leaves_it() {
        let f = Path::new("f");
        let suffix = Rules {
            unencrypted_suffix: Some("_unencrypted".into()),
            ..Rules::default()
        };
        let r1 = with_plain_names(&suffix, &["DEBUG".into()], &[], f).unwrap();
        let r2 = with_plain_names(&r1, &["PORT".into(), "DEBUG".into()], &[], f).unwrap();
        assert_eq!(
            r2.unencrypted_regex.as_deref(),
            Some(r"_unencrypted$|^(?:DEBUG|PORT)$")
        );
        let r3 = with_plain_names(&r2, &["PORT".into()], &["DEBUG".into()], f).unwrap();
        assert_eq!(
            r3.unencrypted_regex.as_deref(),
            Some(r"_unencrypted$|^(?:PORT)$")
        );
        let nested = Rules {
            unencrypted_regex: Some(
                r"(?:(?:_unencrypted$|^(?:A\.B)$)|^(?:DEBUG)$)|^(?:PORT)$".into(),
            ),
            ..Rules::default()
        };
        let r4 = with_plain_names(&nested, &["X".into()], &["PORT".into()], f).unwrap();
        assert_eq!(
            r4.unencrypted_regex.as_deref(),
            Some(r"_unencrypted$|^(?:A\.B|DEBUG|X)$")
        );
        let user = Rules {
            unencrypted_regex: Some("^public_.*$".into()),
            ..Rules::default()
        };
        let u1 = with_plain_names(&user, &["X".into()], &[], f).unwrap();
        let u2 = with_plain_names(&u1, &["Y".into()], &[], f).unwrap();
        assert_eq!(
            u2.unencrypted_regex.as_deref(),
            Some(r"^public_.*$|^(?:X|Y)$")
        );
    }
}
