//! Flattening decrypted trees into environment variables.
//!
//! Why a module of its own: `exec` and every `export` format must agree on the names, and
//! the rules are a small contract users write code against:
//!
//! - nested keys join with `_`: `database: {host: x}` → `DATABASE_HOST`;
//! - list items are numbered: `servers: [a, b]` → `SERVERS_0`, `SERVERS_1`;
//! - names are upper-cased, and every character that is not an ASCII letter or digit
//!   becomes `_`: `api-key.v2` → `API_KEY_V2`;
//! - dotenv keys stay exactly as written (they already are variable names), less a leading
//!   `export `, and a dotenv value is what its stored text means to dotenv loaders
//!   ([`crate::store::dotenv::value_of`]: `"p@ss word"` is `p@ss word`); a key that dotenv
//!   loaders read as a comment (`  # note=x`, a key to sops) is no variable;
//! - two keys of one file that end up with the same name are an error naming both keys;
//!   across files, later files override earlier ones.
//!
//! Values stay in zeroizing memory and no `Debug` output shows them; errors name files and
//! key paths only.

use foldhash::{HashMap, HashMapExt};
use std::fmt;
use zeroize::Zeroizing;

use crate::model::tree::Leaf;
use crate::model::{Branch, ListItem, Node, Plain, Scalar};

/// One variable: its name, where it came from and its value (raw bytes: on Unix an
/// environment value is bytes, and binary values pass through unchanged).
pub struct Var {
    pub name: String,
    /// The key path inside its file, dotted (`database.host`, `servers.0`).
    pub key: String,
    /// The file it came from, for messages.
    pub file: String,
    value: Zeroizing<Vec<u8>>,
}

impl Var {
    pub fn new(name: String, key: String, file: String, value: Zeroizing<Vec<u8>>) -> Var {
        Var {
            name,
            key,
            file,
            value,
        }
    }

    /// The plaintext value. Only exec and export call this.
    pub fn value(&self) -> &[u8] {
        &self.value
    }

    /// The plaintext value, taken.
    pub fn into_value(self) -> Zeroizing<Vec<u8>> {
        self.value
    }

    /// The value as text, when it is UTF-8.
    pub fn value_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.value).ok()
    }

    /// `file: key` for messages (never the value).
    pub fn origin(&self) -> String {
        format!("{}: {}", self.file, self.key)
    }
}

impl fmt::Debug for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Var({} from {}, <redacted>)", self.name, self.origin())
    }
}

/// Why a set of values cannot become an environment.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("{file}: keys `{first}` and `{second}` both become the variable {name}; rename one")]
    Collision {
        file: String,
        name: String,
        first: String,
        second: String,
    },
    #[error("{file}: key `{key}` cannot be a variable name ({reason})")]
    BadName {
        file: String,
        key: String,
        reason: &'static str,
    },
    #[error("{file}: key `{key}` has no dotenv value ({reason}); `secrets decrypt --extract` prints it as stored")]
    BadValue {
        file: String,
        key: String,
        reason: &'static str,
    },
    #[error("--only {0}: no such variable or key in the selected files")]
    UnknownOnly(String),
}

/// Flattens the documents of one decrypted file into variables, in file order.
/// `dotenv`: the file is a dotenv file, whose keys are kept as written.
pub fn flatten(branches: &[Branch<Plain>], dotenv: bool, file: &str) -> Result<Vec<Var>, EnvError> {
    flatten_selected(branches, dotenv, file, &[])
}

/// As [`flatten`], keeping only the variables `only` names (all when empty; see
/// [`EnvSet::select`] for what an entry matches). The selection comes before the name
/// and collision checks, so `--only` can leave out one of two colliding keys.
pub fn flatten_selected(
    branches: &[Branch<Plain>],
    dotenv: bool,
    file: &str,
    only: &[String],
) -> Result<Vec<Var>, EnvError> {
    let mut out = collect(branches, dotenv, file);
    if !only.is_empty() {
        out.retain(|v| only.iter().any(|o| only_matches(o, v)));
    }
    if dotenv {
        for var in &mut out {
            dotenv_value(var)?;
        }
    }
    let mut seen: HashMap<&str, &str> = HashMap::with_capacity(out.len());
    for var in &out {
        check_name(var)?;
        if let Some(first) = seen.insert(&var.name, &var.key) {
            return Err(EnvError::Collision {
                file: file.to_string(),
                name: var.name.clone(),
                first: first.to_string(),
                second: var.key.clone(),
            });
        }
    }
    Ok(out)
}

/// As [`flatten`], refusing nothing: names that collide or hold `=`, and dotenv values
/// that do not decode (kept as stored), are all there. For the checks that report on every
/// value under the name it would have.
pub fn flatten_lenient(branches: &[Branch<Plain>], dotenv: bool, file: &str) -> Vec<Var> {
    let mut out = collect(branches, dotenv, file);
    if dotenv {
        for var in &mut out {
            let _ = dotenv_value(var);
        }
    }
    out
}

/// Every value of the documents as a variable, in file order (no checks).
fn collect(branches: &[Branch<Plain>], dotenv: bool, file: &str) -> Vec<Var> {
    let mut out = Vec::new();
    for branch in branches {
        for (key, node) in branch.entries() {
            if dotenv {
                if crate::store::dotenv::is_comment_key(key) {
                    continue;
                }
                let name = crate::store::dotenv::env_name(key).to_string();
                walk(node, name, key.to_string(), file, &mut out);
            } else {
                walk(node, segment(key), key.to_string(), file, &mut out);
            }
        }
    }
    out
}

/// A key as part of a variable name: upper case, non-alphanumerics as `_`.
pub fn segment(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn walk(node: &Node<Plain>, name: String, key: String, file: &str, out: &mut Vec<Var>) {
    walk_leaves(node, name, key, &mut |name, key, leaf| {
        out.push(Var::new(name, key, file.to_string(), leaf_bytes(leaf)))
    });
}

/// Calls `f(name, key path, leaf)` for every leaf under `node`, in order.
fn walk_leaves<L: Leaf>(
    node: &Node<L>,
    name: String,
    key: String,
    f: &mut impl FnMut(String, String, &L),
) {
    match node {
        Node::Leaf(l) => f(name, key, l),
        Node::Map(b) => {
            for (k, child) in b.entries() {
                walk_leaves(
                    child,
                    format!("{name}_{}", segment(k)),
                    format!("{key}.{k}"),
                    f,
                );
            }
        }
        Node::List(items) => {
            let values = items.iter().filter_map(|i| match i {
                ListItem::Value(v) => Some(v),
                ListItem::Comment { .. } => None,
            });
            for (idx, child) in values.enumerate() {
                walk_leaves(child, format!("{name}_{idx}"), format!("{key}.{idx}"), f);
            }
        }
    }
}

/// The variable name and key path of every value of a file, decrypted or not (names and
/// keys are in clear): what `check` can say about a file it cannot open.
pub fn names<L: Leaf>(branches: &[Branch<L>], dotenv: bool) -> Vec<(String, String)> {
    names_marking_empty(branches, dotenv)
        .into_iter()
        .map(|(name, key, _)| (name, key))
        .collect()
}

/// As [`names`], each with whether its value is empty (`""`, null). An encrypted file
/// keeps empty values in clear (as sops does), so this is known without the key: a
/// `required` value left empty fails `check` for everyone, not only for those who can
/// decrypt the file.
pub fn names_marking_empty<L: Leaf>(
    branches: &[Branch<L>],
    dotenv: bool,
) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    for branch in branches {
        for (key, node) in branch.entries() {
            let name = if dotenv {
                if crate::store::dotenv::is_comment_key(key) {
                    continue;
                }
                crate::store::dotenv::env_name(key).to_string()
            } else {
                segment(key)
            };
            walk_leaves(node, name, key.to_string(), &mut |n, k, leaf: &L| {
                out.push((n, k, leaf.scalar().is_empty_value()))
            });
        }
    }
    out
}

/// The bytes of a value as a program should see them: strings and bytes unchanged,
/// integers and booleans as YAML writes them (`true`, `42`), floats as sops exec-env
/// writes them, null as empty.
fn leaf_bytes(l: &Plain) -> Zeroizing<Vec<u8>> {
    match l.scalar() {
        Scalar::Str(s) | Scalar::Time(s) | Scalar::Comment(s) => {
            Zeroizing::new(s.as_bytes().to_vec())
        }
        Scalar::Bytes(b) | Scalar::RawStr(b) => Zeroizing::new(b.clone()),
        // As sops exec-env hands it out (a float `1.5E-07`, `1E+20`, `2.0`).
        other => {
            let mut text = crate::model::SecretText::with_capacity(other.text_len());
            other.write_sops_text(&mut text);
            Zeroizing::new(text.as_bytes().to_vec())
        }
    }
}

/// Replaces a dotenv value's stored text by its meaning (text that is not UTF-8 stays).
fn dotenv_value(var: &mut Var) -> Result<(), EnvError> {
    let Ok(stored) = std::str::from_utf8(&var.value) else {
        return Ok(());
    };
    let value = crate::store::dotenv::value_of(stored).map_err(|reason| EnvError::BadValue {
        file: var.file.clone(),
        key: var.key.clone(),
        reason,
    })?;
    var.value = Zeroizing::new(value.as_bytes().to_vec());
    Ok(())
}

fn check_name(var: &Var) -> Result<(), EnvError> {
    let reason = if var.name.is_empty() {
        "the name is empty"
    } else if var.name.contains('=') {
        "it contains '='"
    } else if var.name.contains('\0') {
        "it contains a NUL byte"
    } else {
        return Ok(());
    };
    Err(EnvError::BadName {
        file: var.file.clone(),
        key: var.key.clone(),
        reason,
    })
}

/// Whether an `--only` entry names `v`: its variable name, its key path, or a parent key.
fn only_matches(o: &str, v: &Var) -> bool {
    v.name == o
        || v.key == o
        || v.key
            .strip_prefix(o)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// The variables of several files merged in order: a later file's variable replaces an
/// earlier one of the same name (and takes its place in the order).
#[derive(Debug, Default)]
pub struct EnvSet {
    vars: Vec<Var>,
    /// Name → index in `vars`, so merging stays linear in the number of variables.
    index: HashMap<String, usize>,
}

impl EnvSet {
    pub fn merge(&mut self, vars: Vec<Var>) {
        for var in vars {
            match self.index.get(&var.name) {
                Some(&pos) => self.vars[pos] = var,
                None => {
                    self.index.insert(var.name.clone(), self.vars.len());
                    self.vars.push(var);
                }
            }
        }
    }

    /// The merged variables, in order.
    pub fn vars(&self) -> &[Var] {
        &self.vars
    }

    /// Keeps the variables `only` names (all when empty) and adds `prefix` to every name.
    /// An `--only` entry matches a variable name (`DATABASE_HOST`), a key path
    /// (`database.host`) or a parent key (`database`, meaning all of it).
    /// With a prefix, the name the program sees (`APP_DATABASE_HOST`) names it too.
    pub fn select(self, only: &[String], prefix: &str) -> Result<Vec<Var>, EnvError> {
        let mut vars = self.vars;
        if !only.is_empty() {
            let names = |o: &str, v: &Var| {
                only_matches(o, v)
                    || (!prefix.is_empty() && o.strip_prefix(prefix) == Some(v.name.as_str()))
            };
            if let Some(missing) = only.iter().find(|o| !vars.iter().any(|v| names(o, v))) {
                return Err(EnvError::UnknownOnly(missing.clone()));
            }
            vars.retain(|v| only.iter().any(|o| names(o, v)));
        }
        if !prefix.is_empty() {
            for v in &mut vars {
                v.name.insert_str(0, prefix);
            }
        }
        Ok(vars)
    }

    pub fn into_vars(self) -> Vec<Var> {
        self.vars
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Item;

    fn leaf(s: &str) -> Node<Plain> {
        Node::Leaf(Plain::new(Scalar::Str(s.into())))
    }

    fn map(entries: Vec<(&str, Node<Plain>)>) -> Branch<Plain> {
        Branch {
            items: entries
                .into_iter()
                .map(|(k, v)| Item::Entry {
                    key: k.into(),
                    value: v,
                })
                .collect(),
        }
    }

    fn names(vars: &[Var]) -> Vec<(&str, &str)> {
        vars.iter()
            .map(|v| (v.name.as_str(), v.value_str().unwrap()))
            .collect()
    }

    #[test]
    fn nested_lists_and_names() {
        let b = map(vec![
            (
                "database",
                Node::Map(map(vec![
                    ("host", leaf("h")),
                    ("port", Node::Leaf(Plain::new(Scalar::Int(5432)))),
                ])),
            ),
            (
                "servers",
                Node::List(vec![ListItem::Value(leaf("a")), ListItem::Value(leaf("b"))]),
            ),
            ("api-key.v2", leaf("k")),
            ("debug", Node::Leaf(Plain::new(Scalar::Bool(true)))),
            ("empty", Node::Leaf(Plain::new(Scalar::Null))),
        ]);
        let vars = flatten(&[b], false, "f.yaml").unwrap();
        assert_eq!(
            names(&vars),
            vec![
                ("DATABASE_HOST", "h"),
                ("DATABASE_PORT", "5432"),
                ("SERVERS_0", "a"),
                ("SERVERS_1", "b"),
                ("API_KEY_V2", "k"),
                ("DEBUG", "true"),
                ("EMPTY", ""),
            ]
        );
        assert_eq!(vars[2].key, "servers.0");
    }

    #[test]
    fn dotenv_keys_stay_as_written() {
        let b = map(vec![("export lower_Case", leaf("1")), ("A.B", leaf("2"))]);
        let vars = flatten(&[b], true, ".env").unwrap();
        assert_eq!(names(&vars), vec![("lower_Case", "1"), ("A.B", "2")]);
    }

    #[test]
    fn collision_names_both_keys_not_values() {
        let b = map(vec![
            (
                "database",
                Node::Map(map(vec![("host", leaf("secret-one"))])),
            ),
            ("database_host", leaf("secret-two")),
        ]);
        let b = [b];
        let err = flatten(&b, false, "f.yaml").unwrap_err().to_string();
        assert!(
            err.contains("database.host") && err.contains("database_host"),
            "{err}"
        );
        assert!(err.contains("DATABASE_HOST"));
        assert!(!err.contains("secret-"));
        // Selecting one of the two keys resolves it; selecting the shared name does not.
        let vars = flatten_selected(&b, false, "f.yaml", &["database_host".into()]).unwrap();
        assert_eq!(names(&vars), vec![("DATABASE_HOST", "secret-two")]);
        assert!(flatten_selected(&b, false, "f.yaml", &["DATABASE_HOST".into()]).is_err());
    }

    #[test]
    fn bad_names() {
        let b = map(vec![("", leaf("x"))]);
        assert!(matches!(
            flatten(&[b], false, "f").unwrap_err(),
            EnvError::BadName { .. }
        ));
        let b = map(vec![("A=B", leaf("x"))]);
        assert!(flatten(&[b], true, "f").is_err());
    }

    #[test]
    fn merge_only_prefix() {
        let a = flatten(
            &[map(vec![
                ("a", leaf("1")),
                (
                    "db",
                    Node::Map(map(vec![("host", leaf("h")), ("user", leaf("u"))])),
                ),
            ])],
            false,
            "a",
        )
        .unwrap();
        let b = flatten(&[map(vec![("A", leaf("2"))])], true, "b").unwrap();
        let mut set = EnvSet::default();
        set.merge(a);
        set.merge(b);
        let mut all = EnvSet::default();
        all.merge(
            set.vars()
                .iter()
                .map(|v| {
                    Var::new(
                        v.name.clone(),
                        v.key.clone(),
                        v.file.clone(),
                        Zeroizing::new(v.value().to_vec()),
                    )
                })
                .collect(),
        );
        assert_eq!(
            names(&all.vars),
            vec![("A", "2"), ("DB_HOST", "h"), ("DB_USER", "u")]
        );
        let sel = set.select(&["db".into(), "A".into()], "APP_").unwrap();
        assert_eq!(
            names(&sel),
            vec![("APP_A", "2"), ("APP_DB_HOST", "h"), ("APP_DB_USER", "u")]
        );
        // The prefixed name, as the program sees it, names it too.
        let sel = all.select(&["db.user".into()], "").unwrap();
        assert_eq!(names(&sel), vec![("DB_USER", "u")]);
        // The prefixed name, as the program sees it, names it too.
        let mut p = EnvSet::default();
        p.merge(
            flatten(
                &[map(vec![("db_host", leaf("h")), ("x", leaf("1"))])],
                false,
                "a",
            )
            .unwrap(),
        );
        let sel = p.select(&["APP_DB_HOST".into()], "APP_").unwrap();
        assert_eq!(names(&sel), vec![("APP_DB_HOST", "h")]);
        let mut s = EnvSet::default();
        s.merge(flatten(&[map(vec![("a", leaf("1"))])], false, "a").unwrap());
        assert!(matches!(
            s.select(&["nope".into()], ""),
            Err(EnvError::UnknownOnly(_))
        ));
    }
}
