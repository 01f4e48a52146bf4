//! Changing `.secrets.yaml` the way a person would: the document is read with the
//! project's YAML store (which keeps key order and comments), one entry is added or removed,
//! and the result is validated as a whole before it is written atomically. New entries go
//! at the end of their map; lists are written in block style; top-level sections the edit
//! leaves alike keep the text as written ([`super::splice`]).

use std::path::{Path, PathBuf};

use super::{Config, ConfigError, FILE_NAME, SOPS_FILE_NAME};
use crate::fsutil::lock::{Lock, Seen};
use crate::model::{Branch, Item, ListItem, Node, Scalar, Sealed};
use crate::store::Layout;

/// The config document being edited.
#[derive(Clone)]
pub struct ConfigDoc {
    path: PathBuf,
    doc: Branch<Sealed>,
    layout: Layout,
    /// The text it was read from, so [`ConfigDoc::save`] never overwrites a change made
    /// since by a program that does not take the config's lock.
    seen: Seen,
    /// That text and the store's emission of it as read: sections an edit leaves alike are
    /// written back as the person wrote them ([`super::splice`]).
    original: Option<(String, String)>,
}

impl std::fmt::Debug for ConfigDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigDoc")
            .field("path", &self.path)
            .finish()
    }
}

/// The start of the comment line above `revoking:`.
const REVOKING_NOTE: &str = " Unfinished revocation: ";

const HEADER: &[&str] = &[
    " Team config for `secrets`: who may read which encrypted files. Public keys only;",
    " commit it. Change it with `secrets member …` and `secrets env …`, then run",
    " `secrets updatekeys` (see docs/team.md).",
];

fn leaf(s: &str) -> Node<Sealed> {
    Node::Leaf(Sealed(Scalar::Str(s.to_string())))
}

fn list(items: &[String]) -> Node<Sealed> {
    Node::List(items.iter().map(|s| ListItem::Value(leaf(s))).collect())
}

fn text_of(node: &Node<Sealed>) -> Option<String> {
    match node {
        Node::Leaf(Sealed(Scalar::Null)) => None,
        Node::Leaf(Sealed(s)) => Some(s.to_text().to_string()),
        _ => None,
    }
}

/// The strings of a `x` or `[x, y]` node.
fn strings_of(node: &Node<Sealed>) -> Vec<String> {
    match node {
        Node::List(items) => items
            .iter()
            .filter_map(|i| match i {
                ListItem::Value(v) => text_of(v),
                ListItem::Comment { .. } => None,
            })
            .collect(),
        other => text_of(other).into_iter().collect(),
    }
}

/// Removes an entry together with an end-of-line comment that belongs to it.
fn remove_entry(branch: &mut Branch<Sealed>, key: &str) -> bool {
    let Some(idx) = branch
        .items
        .iter()
        .position(|i| matches!(i, Item::Entry { key: k, .. } if k == key))
    else {
        return false;
    };
    branch.items.remove(idx);
    if idx > 0 && matches!(branch.items[idx - 1], Item::Comment { inline: true, .. }) {
        branch.items.remove(idx - 1);
    }
    true
}

/// The map under `key`, created (or a null value replaced) when missing.
fn map_mut<'a>(branch: &'a mut Branch<Sealed>, key: &str) -> &'a mut Branch<Sealed> {
    if !matches!(branch.get(key), Some(Node::Map(_))) {
        branch.insert(key.to_string(), Node::Map(Branch::new()));
    }
    match branch.get_mut(key) {
        Some(Node::Map(b)) => b,
        _ => unreachable!("inserted a map above"),
    }
}

/// Comment lines at the end of a nested map or list usually introduce the next entry of
/// the enclosing map (`# Who reads what.` above `environments:`): the YAML store keeps them
/// inside the nested value, so move them out, after it, where new entries cannot get
/// between the comment and what it describes.
fn hoist_trailing_comments(branch: &mut Branch<Sealed>) {
    let mut i = 0;
    while i < branch.items.len() {
        let mut moved: Vec<Item<Sealed>> = Vec::new();
        if let Item::Entry { value, .. } = &mut branch.items[i] {
            match value {
                Node::Map(inner) => {
                    hoist_trailing_comments(inner);
                    while matches!(
                        inner.items.last(),
                        Some(Item::Comment { inline: false, .. } | Item::Blank)
                    ) {
                        moved.extend(inner.items.pop());
                    }
                }
                Node::List(items) => {
                    while let Some(ListItem::Comment { inline: false, .. }) = items.last() {
                        if let Some(ListItem::Comment { text, inline }) = items.pop() {
                            moved.push(Item::Comment { text, inline });
                        }
                    }
                }
                Node::Leaf(_) => {}
            }
        }
        moved.reverse();
        let n = moved.len();
        for (k, item) in moved.into_iter().enumerate() {
            branch.items.insert(i + 1 + k, item);
        }
        i += 1 + n;
    }
}

/// Whether a `retiring:` list item is the entry for `file` and `key`.
/// Takes `members` out of the `members:` list of `body` (an environment or a key group),
/// adding those found to `removed`.
fn remove_members(body: &mut Branch<Sealed>, members: &[String], removed: &mut Vec<String>) {
    let mut take = |s: String| {
        if !removed.contains(&s) {
            removed.push(s);
        }
    };
    match body.get_mut("members") {
        Some(Node::List(items)) => items.retain(|i| match i {
            ListItem::Value(v) => match text_of(v) {
                Some(s) if members.contains(&s) => {
                    take(s);
                    false
                }
                _ => true,
            },
            ListItem::Comment { .. } => true,
        }),
        Some(node) => {
            if let Some(s) = text_of(node).filter(|s| members.contains(s)) {
                take(s);
                *node = Node::List(Vec::new());
            }
        }
        None => {}
    }
}

fn is_retiring(item: &ListItem<Sealed>, file: &str, key: &str) -> bool {
    let ListItem::Value(Node::Map(b)) = item else {
        return false;
    };
    let field = |k: &str| b.get(k).and_then(text_of);
    field("file").is_some_and(|f| super::glob::normalize(&f) == file)
        && field("key").as_deref() == Some(key)
}

/// The schema's references to environment `from` (`envs: [from]`, `envs: from`,
/// `distinct_from: from`) renamed to `to`, so the rules follow the environment.
fn rename_in_schema(doc: &mut Branch<Sealed>, from: &str, to: &str) {
    let Some(Node::Map(schema)) = doc.get_mut("schema") else {
        return;
    };
    let rename = |n: &mut Node<Sealed>| {
        if text_of(n).as_deref() == Some(from) {
            *n = leaf(to);
        }
    };
    for item in &mut schema.items {
        let Item::Entry {
            value: Node::Map(rule),
            ..
        } = item
        else {
            continue;
        };
        if let Some(d) = rule.get_mut("distinct_from") {
            rename(d);
        }
        match rule.get_mut("envs") {
            Some(Node::List(items)) => {
                for i in items {
                    if let ListItem::Value(v) = i {
                        rename(v);
                    }
                }
            }
            Some(n) => rename(n),
            None => {}
        }
    }
}

impl ConfigDoc {
    /// Reads a `.secrets.yaml` for editing (a `.sops.yaml` is read-only).
    pub fn load(path: &Path) -> Result<ConfigDoc, ConfigError> {
        if path.file_name().is_some_and(|n| n == SOPS_FILE_NAME) {
            return Err(ConfigError::ReadOnly {
                path: path.to_path_buf(),
            });
        }
        let text = super::read_text(path)?;
        // Validate first so that a broken config is reported with its line.
        Config::from_text(path, &text)?;
        let (docs, layout) = crate::store::yaml::parse::<Sealed>(&text)
            .map_err(|e| ConfigError::invalid(path, 1, e))?;
        let mut doc = docs.into_iter().next().unwrap_or_default();
        hoist_trailing_comments(&mut doc);
        let mut loaded = ConfigDoc {
            path: path.to_path_buf(),
            doc,
            layout,
            seen: Seen::of(text.as_bytes()),
            original: None,
        };
        loaded.original = loaded.emitted().ok().map(|canonical| (text, canonical));
        Ok(loaded)
    }

    /// A new, empty config in `dir` (with a header comment).
    pub fn new(dir: &Path) -> ConfigDoc {
        let mut doc = Branch::new();
        for line in HEADER {
            doc.items.push(Item::Comment {
                text: Sealed(Scalar::Comment(line.to_string())),
                inline: false,
            });
        }
        doc.insert("members".into(), Node::Map(Branch::new()));
        doc.insert("environments".into(), Node::Map(Branch::new()));
        ConfigDoc {
            path: dir.join(FILE_NAME),
            doc,
            layout: Layout { indent: 2 },
            seen: Seen::missing(),
            original: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, msg: impl std::fmt::Display) -> ConfigError {
        ConfigError::command(&self.path, msg)
    }

    fn members(&mut self) -> &mut Branch<Sealed> {
        map_mut(&mut self.doc, "members")
    }

    fn envs(&mut self) -> &mut Branch<Sealed> {
        map_mut(&mut self.doc, "environments")
    }

    fn env_mut(&mut self, env: &str) -> Result<&mut Branch<Sealed>, ConfigError> {
        let path = self.path.clone();
        match self.envs().get_mut(env) {
            Some(Node::Map(b)) => Ok(b),
            Some(other) => {
                *other = Node::Map(Branch::new());
                match other {
                    Node::Map(b) => Ok(b),
                    _ => unreachable!(),
                }
            }
            None => Err(ConfigError::command(
                path,
                format!("unknown environment {env:?} (see secrets env list)"),
            )),
        }
    }

    /// Adds a member with one public key.
    pub fn add_member(&mut self, name: &str, key: &str) -> Result<(), ConfigError> {
        if self.members().get(name).is_some() {
            return Err(self.err(format!("member {name:?} already exists")));
        }
        self.members().insert(name.to_string(), leaf(key));
        Ok(())
    }

    /// Replaces a member's public keys with one key, where the entry stands (its comments
    /// kept).
    pub fn set_member_key(&mut self, name: &str, key: &str) -> Result<(), ConfigError> {
        match self.members().get_mut(name) {
            Some(node) => {
                *node = leaf(key);
                Ok(())
            }
            None => Err(self.err(format!("unknown member {name:?} (see secrets member list)"))),
        }
    }

    /// Removes a member and takes them out of every environment; returns those
    /// environments.
    pub fn remove_member(&mut self, name: &str) -> Result<Vec<String>, ConfigError> {
        if !remove_entry(self.members(), name) {
            return Err(self.err(format!("unknown member {name:?}")));
        }
        let names: Vec<String> = self.envs().entries().map(|(k, _)| k.to_string()).collect();
        let mut from = Vec::new();
        for env in names {
            if !self.revoke(&env, &[name.to_string()])?.is_empty() {
                from.push(env);
            }
        }
        Ok(from)
    }

    /// Adds an environment.
    pub fn add_env(
        &mut self,
        name: &str,
        globs: &[String],
        members: &[String],
    ) -> Result<(), ConfigError> {
        if self.envs().get(name).is_some() {
            return Err(self.err(format!("environment {name:?} already exists")));
        }
        let mut body = Branch::new();
        body.insert("files".into(), list(globs));
        body.insert("members".into(), list(members));
        self.envs().insert(name.to_string(), Node::Map(body));
        Ok(())
    }

    /// Removes an environment with the comment lines right above it, and `default:` when
    /// it names it; returns whether the default went.
    pub fn remove_env(&mut self, name: &str) -> Result<bool, ConfigError> {
        let path = self.path.clone();
        let envs = self.envs();
        let Some(idx) = envs
            .items
            .iter()
            .position(|i| matches!(i, Item::Entry { key, .. } if key == name))
        else {
            return Err(ConfigError::command(
                path,
                format!("unknown environment {name:?} (see secrets env list)"),
            ));
        };
        envs.items.remove(idx);
        // Its key line's comment, and the comment lines that introduce it.
        let mut at = idx;
        while at > 0 && matches!(envs.items[at - 1], Item::Comment { .. }) {
            envs.items.remove(at - 1);
            at -= 1;
        }
        let default_went = self.default_env().as_deref() == Some(name);
        if default_went {
            remove_entry(&mut self.doc, "default");
        }
        Ok(default_went)
    }

    /// Renames an environment where it stands (its comments and fields kept), and
    /// `default:` with it; returns whether the default was renamed.
    pub fn rename_env(&mut self, from: &str, to: &str) -> Result<bool, ConfigError> {
        if !super::valid_name(to) {
            return Err(self.err(format!(
                "invalid environment name {to:?} (use letters, digits, '.', '_', '@', '-')"
            )));
        }
        if self.envs().get(to).is_some() {
            return Err(self.err(format!("environment {to:?} already exists")));
        }
        let path = self.path.clone();
        let entry = self.envs().items.iter_mut().find_map(|i| match i {
            Item::Entry { key, .. } if key == from => Some(key),
            _ => None,
        });
        let Some(key) = entry else {
            return Err(ConfigError::command(
                path,
                format!("unknown environment {from:?} (see secrets env list)"),
            ));
        };
        *key = to.to_string();
        rename_in_schema(&mut self.doc, from, to);
        let was_default = self.default_env().as_deref() == Some(from);
        if was_default {
            self.set_default(to);
        }
        Ok(was_default)
    }

    /// Replaces an environment's `files` globs (where the list stands).
    pub fn set_env_files(&mut self, env: &str, globs: &[String]) -> Result<(), ConfigError> {
        self.env_mut(env)?.insert("files".into(), list(globs));
        Ok(())
    }

    /// The top-level `default:` environment, as written.
    pub fn default_env(&self) -> Option<String> {
        self.doc.get("default").and_then(text_of)
    }

    /// Sets a plain field of an environment (a sops rule, `path_regex`).
    pub fn set_env_field(
        &mut self,
        env: &str,
        key: &str,
        value: Node<Sealed>,
    ) -> Result<(), ConfigError> {
        self.env_mut(env)?.insert(key.to_string(), value);
        Ok(())
    }

    /// Adds members to an environment; returns those that were not in it yet.
    pub fn grant(&mut self, env: &str, members: &[String]) -> Result<Vec<String>, ConfigError> {
        for m in members {
            if self.members().get(m).is_none() {
                return Err(self.err(format!(
                    "unknown member {m:?} (add them first: secrets member add {m} KEY)"
                )));
            }
        }
        let path = self.path.clone();
        let body = self.env_mut(env)?;
        if body.get("key_groups").is_some() {
            return Err(ConfigError::command(
                path,
                format!("environment {env:?} has key_groups: add the member to one of its groups in .secrets.yaml"),
            ));
        }
        let mut current = body.get("members").map(strings_of).unwrap_or_default();
        let mut added = Vec::new();
        for m in members {
            if !current.contains(m) {
                current.push(m.clone());
                added.push(m.clone());
            }
        }
        if !added.is_empty() {
            match body.get_mut("members") {
                // Keep the comments of an existing block list.
                Some(Node::List(items)) => {
                    items.extend(added.iter().map(|m| ListItem::Value(leaf(m))))
                }
                _ => body.insert("members".into(), list(&current)),
            }
        }
        Ok(added)
    }

    /// Sets an environment's key-service keys: `field` is `vault_transit` (URLs), `kms`
    /// (ARNs) or `pgp` (fingerprints); none: left out.
    pub fn set_service_keys(
        &mut self,
        env: &str,
        field: &str,
        keys: &[String],
    ) -> Result<(), ConfigError> {
        if keys.is_empty() {
            return Ok(());
        }
        let body = self.env_mut(env)?;
        body.insert(field.into(), list(keys));
        Ok(())
    }

    /// Sets an environment's AWS KMS keys (`kms:`): each an `ARN[+ROLE]` string, or a map
    /// when it has a context or profile; none: left out.
    pub fn set_kms(&mut self, env: &str, keys: &[super::raw::RawKms]) -> Result<(), ConfigError> {
        if keys.is_empty() {
            return Ok(());
        }
        let items = keys
            .iter()
            .map(|k| {
                if k.context.is_empty() && k.aws_profile.is_none() {
                    return ListItem::Value(leaf(&k.key));
                }
                let mut b = Branch::new();
                let (arn, role) = k.key.split_once('+').unwrap_or((&k.key, ""));
                b.insert("arn".into(), leaf(arn));
                if !role.is_empty() {
                    b.insert("role".into(), leaf(role));
                }
                if !k.context.is_empty() {
                    let mut c = Branch::new();
                    for (ck, cv) in &k.context {
                        c.insert(ck.clone(), leaf(cv));
                    }
                    b.insert("context".into(), Node::Map(c));
                }
                if let Some(p) = &k.aws_profile {
                    b.insert("aws_profile".into(), leaf(p));
                }
                ListItem::Value(Node::Map(b))
            })
            .collect();
        self.env_mut(env)?.insert("kms".into(), Node::List(items));
        Ok(())
    }

    /// Removes members from an environment (and from each of its key groups); returns
    /// those that were in it.
    pub fn revoke(&mut self, env: &str, members: &[String]) -> Result<Vec<String>, ConfigError> {
        let body = self.env_mut(env)?;
        let mut removed = Vec::new();
        remove_members(body, members, &mut removed);
        if let Some(Node::List(groups)) = body.get_mut("key_groups") {
            for g in groups {
                if let ListItem::Value(Node::Map(group)) = g {
                    remove_members(group, members, &mut removed);
                }
            }
        }
        Ok(removed)
    }

    /// Records an unfinished revocation (`revoking:`, with a comment line saying what it
    /// is), replacing any recorded one.
    pub fn set_revoking(&mut self, env: Option<&str>, members: &[String]) {
        self.clear_revoking();
        let mut body = Branch::new();
        if let Some(env) = env {
            body.insert("env".into(), leaf(env));
        }
        body.insert("members".into(), list(members));
        let command = match env {
            None => format!("member remove {}", members.join(" ")),
            Some(env) => format!("env revoke {env} {}", members.join(" ")),
        };
        self.doc.items.push(Item::Comment {
            text: Sealed(Scalar::Comment(format!(
                "{REVOKING_NOTE}run `secrets {command}` again to finish it."
            ))),
            inline: false,
        });
        self.doc.insert("revoking".into(), Node::Map(body));
    }

    /// Removes the record of an unfinished revocation and its comment line.
    pub fn clear_revoking(&mut self) {
        let items = &mut self.doc.items;
        let Some(idx) = items
            .iter()
            .position(|i| matches!(i, Item::Entry { key, .. } if key == "revoking"))
        else {
            return;
        };
        items.remove(idx);
        let note = |i: &Item<Sealed>| {
            matches!(i, Item::Comment { text: Sealed(Scalar::Comment(c)), inline: false }
                if c.starts_with(REVOKING_NOTE))
        };
        if idx > 0 && note(&items[idx - 1]) {
            items.remove(idx - 1);
        }
    }

    /// Records a previous value kept until `until` (RFC 3339) in `retiring:`, replacing
    /// the entry for the same file and key; `retiring:` is created at the end when missing.
    pub fn add_retiring(&mut self, file: &str, key: &str, until: &str) {
        let mut body = Branch::new();
        body.insert("file".into(), leaf(file));
        body.insert("key".into(), leaf(key));
        body.insert("until".into(), leaf(until));
        let entry = Node::Map(body);
        if !matches!(self.doc.get("retiring"), Some(Node::List(_))) {
            self.doc.insert("retiring".into(), Node::List(Vec::new()));
        }
        let Some(Node::List(items)) = self.doc.get_mut("retiring") else {
            unreachable!("inserted a list above")
        };
        match items.iter_mut().find(|i| is_retiring(i, file, key)) {
            Some(ListItem::Value(v)) => *v = entry,
            _ => items.push(ListItem::Value(entry)),
        }
    }

    /// Removes the `retiring:` entry for a file and key (and `retiring:` itself when it is
    /// left empty); returns whether there was one.
    pub fn remove_retiring(&mut self, file: &str, key: &str) -> bool {
        let Some(Node::List(items)) = self.doc.get_mut("retiring") else {
            return false;
        };
        let before = items.len();
        items.retain(|i| !is_retiring(i, file, key));
        let removed = items.len() != before;
        if !items.iter().any(|i| matches!(i, ListItem::Value(_))) {
            remove_entry(&mut self.doc, "retiring");
        }
        removed
    }

    /// Sets the top-level `default:` environment.
    pub fn set_default(&mut self, env: &str) {
        self.doc.insert("default".into(), leaf(env));
    }

    /// The YAML text: the store's emission, with the top-level sections the edit left
    /// alike as they were written, when that text reads back as the same document.
    /// A file written with CRLF line ends keeps them; a byte-order mark, the lines up to a
    /// `---` start marker and from a `...` end marker are kept as written (the store
    /// writes `\n`, no markers, directives or mark).
    pub fn to_text(&self) -> Result<String, ConfigError> {
        let emitted = self.emitted()?;
        let Some((original, canonical)) = &self.original else {
            return Ok(emitted);
        };
        if *canonical == emitted {
            return Ok(original.clone());
        }
        // A byte-order mark (Windows editors write one) is not part of the first key.
        let (bom, original) = match original.strip_prefix('\u{feff}') {
            Some(rest) => ("\u{feff}", rest),
            None => ("", original.as_str()),
        };
        let crlf = original.contains("\r\n")
            && original.matches("\r\n").count() == original.matches('\n').count();
        let lf = if crlf {
            std::borrow::Cow::Owned(original.replace("\r\n", "\n"))
        } else {
            std::borrow::Cow::Borrowed(original)
        };
        let (prelude, body, epilogue) = super::splice::frame(&lf);
        // The reader gives the prelude's comments to the document, and the store writes
        // them first: the body is spliced without them, as the prelude keeps them.
        let comments = super::splice::comments_of(prelude);
        let framed = |body: &str| format!("{prelude}{body}{epilogue}");
        let candidates = match (
            canonical.strip_prefix(comments.as_str()),
            emitted.strip_prefix(comments.as_str()),
        ) {
            (Some(canonical), Some(edited)) => super::splice::splice(body, canonical, edited)
                .into_iter()
                .chain([edited.to_string()])
                .map(|body| framed(&body))
                .collect(),
            _ => Vec::new(),
        };
        let mut text = candidates
            .into_iter()
            .find(|text| self.reads_back_as(text, &emitted))
            .unwrap_or(emitted);
        if crlf {
            text = text.replace('\n', "\r\n");
        }
        text.insert_str(0, bom);
        Ok(text)
    }

    /// The store's emission of the document.
    fn emitted(&self) -> Result<String, ConfigError> {
        crate::store::yaml::emit(std::slice::from_ref(&self.doc), self.layout)
            .map(crate::model::SecretText::into_public_string)
            .map_err(|e| self.err(format!("cannot write the config: {e}")))
    }

    /// Whether `text` is read (as [`ConfigDoc::load`] reads it) into the document whose
    /// emission is `emitted`.
    fn reads_back_as(&self, text: &str, emitted: &str) -> bool {
        let Ok((docs, _)) = crate::store::yaml::parse::<Sealed>(text) else {
            return false;
        };
        let mut doc = docs.into_iter().next().unwrap_or_default();
        hoist_trailing_comments(&mut doc);
        crate::store::yaml::emit(std::slice::from_ref(&doc), self.layout)
            .is_ok_and(|t| t.into_public_string() == emitted)
    }

    /// Validates the edited document as a whole.
    pub fn validate(&self) -> Result<Config, ConfigError> {
        Config::from_text(&self.path, &self.to_text()?).map_err(refused_edit)
    }

    /// Validates, then writes atomically; returns the new config. `lock` is the config's
    /// lock, taken before the config was read (see [`crate::fsutil::lock`]); the file is
    /// not written if it changed since [`ConfigDoc::load`] read it (or since the last save:
    /// the document can be edited and saved again).
    pub fn save(&mut self, lock: &Lock) -> Result<Config, ConfigError> {
        let text = self.to_text()?;
        let config = Config::from_text(&self.path, &text).map_err(refused_edit)?;
        lock.replace(&self.seen, text.as_bytes())?;
        self.seen = Seen::of(text.as_bytes());
        self.original = self.emitted().ok().map(|canonical| (text, canonical));
        Ok(config)
    }
}

/// An error in the text a command would write: its line numbers are of that text, not of
/// the file on disk, which is left as it was; the message says so.
fn refused_edit(e: ConfigError) -> ConfigError {
    match e {
        ConfigError::Invalid {
            path,
            line,
            message,
        } => ConfigError::Command {
            path,
            message: format!(
                "refused, nothing was written: the config as this change would write it is invalid at its line {line}: {message}"
            ),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kms_keys_are_written_as_strings_or_maps_and_read_back() {
        let a = age::x25519::Identity::generate().to_public().to_string();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(
            &path,
            format!("members:\n  alice: {a}\nenvironments:\n  prod:\n    files: [p/**]\n    members: [alice]\n"),
        )
        .unwrap();
        let arn = "arn:aws:kms:eu-west-1:111122223333:key/k";
        let role = "arn:aws:iam::111122223333:role/r";
        let keys = [
            super::super::raw::RawKms {
                key: format!("{arn}+{role}"),
                ..Default::default()
            },
            super::super::raw::RawKms {
                key: arn.into(),
                context: vec![("app".into(), "web".into())],
                aws_profile: Some("ci".into()),
            },
        ];
        let mut doc = ConfigDoc::load(&path).unwrap();
        doc.set_kms("prod", &keys).unwrap();
        let lock = Lock::acquire(&path).unwrap();
        let cfg = doc.save(&lock).unwrap();
        let kms = &cfg.environment("prod").unwrap().services.kms;
        assert_eq!(kms[0].role.as_deref(), Some(role));
        assert_eq!(kms[1].role, None);
        assert_eq!(kms[1].aws_profile.as_deref(), Some("ci"));
        assert_eq!(kms[1].context.get("app").map(String::as_str), Some("web"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(&format!("- {arn}+{role}\n")), "{text}");
        assert!(text.contains(&format!("- arn: {arn}\n")), "{text}");
    }

    #[test]
    fn edits_keep_comments_and_order() {
        let a = age::x25519::Identity::generate().to_public().to_string();
        let b = age::x25519::Identity::generate().to_public().to_string();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(
            &path,
            format!("# our team\nmembers:\n  alice: {a} # laptop\nenvironments:\n  # production\n  prod:\n    files: [\"config/prod/**\", \"*.env\"]\n    members: [alice]\n"),
        )
        .unwrap();
        let mut doc = ConfigDoc::load(&path).unwrap();
        doc.add_member("bob", &b).unwrap();
        assert!(doc.add_member("bob", &b).is_err());
        assert_eq!(doc.grant("prod", &["bob".into()]).unwrap(), vec!["bob"]);
        assert!(doc.grant("prod", &["carol".into()]).is_err());
        doc.add_env("dev", &["config/dev/**".into()], &["bob".into()])
            .unwrap();
        let lock = Lock::acquire(&path).unwrap();
        let cfg = doc.save(&lock).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# our team\n"), "{text}");
        assert!(text.contains("# laptop"), "{text}");
        assert!(text.contains("# production"), "{text}");
        assert_eq!(cfg.env_names(), vec!["prod", "dev"]);
        assert_eq!(
            cfg.environment("prod").unwrap().members,
            vec!["alice", "bob"]
        );
        assert_eq!(cfg.environment("prod").unwrap().globs[1], "*.env");

        // The lock is kept across the write (on the new file) until dropped.
        drop(lock);
        let mut doc = ConfigDoc::load(&path).unwrap();
        assert_eq!(doc.remove_member("bob").unwrap(), vec!["prod", "dev"]);
        // Changed behind the doc's back: not overwritten.
        let lock = Lock::acquire(&path).unwrap();
        let current = std::fs::read(&path).unwrap();
        std::fs::write(&path, [&current[..], b"# added\n"].concat()).unwrap();
        assert!(matches!(
            doc.save(&lock),
            Err(ConfigError::Lock(
                crate::fsutil::lock::LockError::Changed { .. }
            ))
        ));
        std::fs::write(&path, &current).unwrap();
        let cfg = doc.save(&lock).unwrap();
        assert!(cfg.member("bob").is_none());
        assert_eq!(cfg.environment("prod").unwrap().members, vec!["alice"]);
    }

    #[test]
    fn environments_are_removed_renamed_and_given_new_globs_in_place() {
        let a = age::x25519::Identity::generate().to_public().to_string();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(
            &path,
            format!("members:\n  alice: {a}\nenvironments:\n  # development\n  dev:\n    files: [d/**]\n    members: [alice]\n  # production\n  prod: # live\n    files: [p/**]\n    unencrypted_suffix: _clear\n  qa:\n    files: [q/**]\ndefault: prod # used by exec\n"),
        )
        .unwrap();
        let lock = Lock::acquire(&path).unwrap();
        let mut doc = ConfigDoc::load(&path).unwrap();
        assert!(doc.rename_env("dev", "prod").is_err());
        assert!(doc.rename_env("dev", "a b").is_err());
        assert!(doc.rename_env("nope", "x").is_err());
        assert!(!doc.rename_env("dev", "development").unwrap());
        doc.set_env_files("development", &["src/**".into(), ".env".into()])
            .unwrap();
        let cfg = doc.save(&lock).unwrap();
        assert_eq!(
            cfg.environment("development").unwrap().globs,
            vec!["src/**", ".env"]
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("  # development\n  development:\n    files:\n      - src/**\n      - .env\n    members:\n      - alice\n"),
            "{text}"
        );
        // Removing the default takes `default:` and the comments above the entry with it.
        assert!(doc.rename_env("prod", "live").unwrap());
        assert_eq!(doc.default_env().as_deref(), Some("live"));
        assert!(doc.remove_env("live").unwrap());
        assert!(!doc.remove_env("qa").unwrap());
        assert!(doc.remove_env("qa").is_err());
        let cfg = doc.save(&lock).unwrap();
        assert_eq!(cfg.env_names(), vec!["development"]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("production") && !text.contains("live"),
            "{text}"
        );
        assert!(!text.contains("default"), "{text}");
        assert!(text.contains("# development"), "{text}");
    }

    #[test]
    fn an_invalid_edit_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut doc = ConfigDoc::new(dir.path());
        doc.add_env("a", &["x/**".into()], &[]).unwrap();
        doc.add_env("b", &["x/y/**".into()], &[]).unwrap();
        let lock = Lock::acquire(&dir.path().join(FILE_NAME)).unwrap();
        assert!(doc.save(&lock).is_err());
        assert!(!dir.path().join(FILE_NAME).exists());
    }

    #[test]
    fn a_recorded_revocation_is_written_read_and_removed() {
        let a = age::x25519::Identity::generate().to_public().to_string();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let text = format!("# team\nmembers:\n  alice: {a}\n  bob: {a}x\nenvironments:\n  dev:\n    files:\n      - d/**\n    members:\n      - alice\n# the end\n");
        let text = text.replace(
            &format!("{a}x"),
            &age::x25519::Identity::generate().to_public().to_string(),
        );
        std::fs::write(&path, &text).unwrap();
        let lock = Lock::acquire(&path).unwrap();
        let mut doc = ConfigDoc::load(&path).unwrap();
        doc.set_revoking(Some("dev"), &["alice".into()]);
        let cfg = doc.save(&lock).unwrap();
        let r = cfg.revoking().unwrap();
        assert_eq!(
            (r.env.as_deref(), r.command().as_str()),
            (Some("dev"), "env revoke dev alice")
        );
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(
            written.ends_with("# Unfinished revocation: run `secrets env revoke dev alice` again to finish it.\nrevoking:\n  env: dev\n  members:\n    - alice\n"),
            "{written}"
        );
        // Saved twice from one document: the second save knows the first.
        doc.set_revoking(None, &["bob".into()]);
        assert_eq!(
            doc.save(&lock).unwrap().revoking().unwrap().command(),
            "member remove bob"
        );
        let mut doc = ConfigDoc::load(&path).unwrap();
        doc.clear_revoking();
        assert!(doc.save(&lock).unwrap().revoking().is_none());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        // A record naming someone unknown is an error at its line.
        std::fs::write(&path, format!("{text}revoking:\n  members: [carol]\n")).unwrap();
        let err = Config::load(&path).unwrap_err();
        assert_eq!(err.line(), Some(13), "{err}");
    }

    #[test]
    fn retiring_entries_and_member_keys_are_edited_in_place() {
        let a = age::x25519::Identity::generate().to_public().to_string();
        let b = age::x25519::Identity::generate().to_public().to_string();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let text = format!("# team\nmembers:\n  alice: {a} # laptop\nenvironments:\n  prod:\n    files:\n      - .env.prod\n    members:\n      - alice\n# the end\n");
        std::fs::write(&path, &text).unwrap();
        let lock = Lock::acquire(&path).unwrap();
        let mut doc = ConfigDoc::load(&path).unwrap();
        doc.add_retiring(".env.prod", "JWT_PREVIOUS", "2026-12-07T10:00:00Z");
        doc.add_retiring(".env.prod", "OTHER", "2026-12-08T10:00:00Z");
        // The same file and key again: replaced, not added.
        doc.add_retiring(".env.prod", "JWT_PREVIOUS", "2026-12-09T10:00:00Z");
        doc.set_member_key("alice", &b).unwrap();
        assert!(doc.set_member_key("bob", &b).is_err());
        let cfg = doc.save(&lock).unwrap();
        let r = cfg.retiring();
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].key.as_str(), r[0].until_text.as_str(), r[0].line),
            ("JWT_PREVIOUS", "2026-12-09T10:00:00Z", 12)
        );
        assert_eq!(
            cfg.member("alice").unwrap().recipients[0].to_string(),
            b.to_string()
        );
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(
            written.contains("# laptop") && written.contains("# the end"),
            "{written}"
        );
        assert!(!written.contains(&a), "{written}");
        assert!(doc.remove_retiring(".env.prod", "JWT_PREVIOUS"));
        assert!(!doc.remove_retiring(".env.prod", "JWT_PREVIOUS"));
        assert!(doc.remove_retiring(".env.prod", "OTHER"));
        doc.set_member_key("alice", &a).unwrap();
        assert!(doc.save(&lock).unwrap().retiring().is_empty());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn bad_retiring_entries_name_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        for (text, line) in [
            ("retiring:\n  - file: a.env\n    key: K\n    until: tomorrow\n", 4),
            ("retiring:\n  - file: a.env\n    until: 2026-12-07T10:00:00Z\n", 2),
            ("retiring:\n  - file: ../a.env\n    key: K\n    until: 2026-12-07T10:00:00Z\n", 2),
            ("retiring:\n  - {file: a.env, key: K, until: 2026-12-07T10:00:00Z}\n  - {file: ./a.env, key: K, until: 2026-12-07T10:00:00Z}\n", 3),
            ("retiring:\n  - file: a.env\n    key: K\n    until: 2026-12-07T10:00:00Z\n    note: x\n", 5),
            ("retiring: {file: a.env}\n", 1),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = Config::load(&path).unwrap_err();
            assert_eq!(err.line(), Some(line), "{text}: {err}");
        }
    }
}
