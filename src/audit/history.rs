//! What git history says about access: every version of each encrypted file along the
//! first-parent line (who it was wrapped for, and whether its data key changed from the
//! version before), and the keys that left `.secrets.yaml` (when, and whose they were).
//!
//! **How a rotation is recognised.** A rotation (`rotate`, `member remove`, `env revoke`,
//! `sops rotate`) gives a file a new data key; a re-wrap (`updatekeys`) or an edit keeps it.
//! Between two versions of a file:
//! - when one of the user's identities unwraps the data key of both, the keys are compared
//!   (exact; only a SHA-256 of each is kept, and never shown): method `key`;
//! - otherwise, from the ciphertext alone (method `ciphertext`): rotated when no value's
//!   `ENC[…]` text survives (a new key re-encrypts every value; an edit keeps the unchanged
//!   ones byte for byte) **and** no age stanza of a recipient in both versions survives (a
//!   new key is wrapped anew for everyone; an edit keeps the stanzas). A file without
//!   encrypted values is judged by its stanzas alone. An edit that changed every value and
//!   re-wrapped every stanza without a new key would be taken for a rotation: neither our
//!   commands nor sops do that.
//! - the version that creates a file has a new data key (method `created`);
//! - a version whose older version held the same file unencrypted (committed before it was
//!   encrypted, or a decrypted copy committed over it) has a new data key (method
//!   `encrypted`), and that older version is marked `plaintext`: its values are in history
//!   for anyone with a clone.
//!
//! A version that cannot be parsed makes the comparisons on either side of it unknown,
//! never "rotated". Only the first-parent line from HEAD is walked (a merge's changes date
//! from the merge), renames are not followed (a renamed file's history starts at the
//! rename), and a shallow clone's boundary is "unknown", not a creation. The working tree
//! counts as the newest version when it differs from HEAD ("uncommitted").
//!
//! Cost: one revwalk; per commit and file, a tree lookup; a blob is parsed only when it
//! differs from the newer one. Nothing here prints, writes, or shows a value.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use git2::{Commit, ObjectType, Oid, Repository, Sort};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::crypto::value;
use crate::engine::EncryptedFile;
use crate::keys::recipient::key_part;
use crate::keys::Identities;
use crate::model::{Node, Scalar, Sealed};
use crate::policy::staleness;
use crate::policy::staleness::Change;
use crate::store::Format;

/// Which commit introduced a version: a commit, or the working tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Commit(Change),
    Uncommitted,
}

/// How a version's data key relates to the version before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyChange {
    /// A new data key; `by` says how that was established.
    Rotated(Method),
    /// The same data key (an edit or a re-wrap).
    Same(Method),
    /// Cannot tell: a version could not be read, or the history ends at a shallow boundary.
    Unknown,
}

/// How a rotation (or its absence) was established.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// The file first appears here: its first data key.
    Created,
    /// The version before held the file unencrypted: its first data key since.
    Encrypted,
    /// Both data keys were unwrapped with the user's identities and compared.
    Key,
    /// From the ciphertext (values and stanzas) alone.
    Ciphertext,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Created => "created",
            Method::Encrypted => "encrypted",
            Method::Key => "key",
            Method::Ciphertext => "ciphertext",
        }
    }
}

/// One version of a file on the first-parent line, newest first.
#[derive(Clone, Debug)]
pub struct Version {
    pub origin: Origin,
    /// The recipients it is wrapped for (key part: `ssh-ed25519 AAAA…` without comment).
    /// Empty when it could not be parsed.
    pub recipients: Vec<String>,
    /// Its data key against the next older version's.
    pub key_change: KeyChange,
    /// Which data key it has: versions with the same number share one (a revert to an
    /// older version brings that version's key back, and its number); `None` when the
    /// version could not be read.
    pub key: Option<usize>,
    /// The file was committed here unencrypted (no sops metadata): its values are in
    /// history in clear.
    pub plaintext: bool,
}

/// The versions of one file, newest first (the working tree's or HEAD's first).
#[derive(Clone, Debug, Default)]
pub struct FileHistory {
    pub versions: Vec<Version>,
}

impl FileHistory {
    /// The versions that held the file unencrypted, newest first.
    pub fn plaintext_versions(&self) -> impl Iterator<Item = &Version> {
        self.versions.iter().filter(|v| v.plaintext)
    }

    /// The version that brought the current data key: the oldest version with that key
    /// (a key brought back by a revert dates from when it first appeared, not from the
    /// revert); `None` when that version's comparison with the one before is unknown.
    pub fn key_since(&self) -> Option<(&Version, Method)> {
        let current = self.versions.first()?.key?;
        let first = self
            .versions
            .iter()
            .rev()
            .find(|v| v.key == Some(current))?;
        match first.key_change {
            KeyChange::Rotated(m) => Some((first, m)),
            KeyChange::Same(_) | KeyChange::Unknown => None,
        }
    }

    /// What became of `key`'s access to this file: `None` when no version was wrapped for
    /// it.
    pub fn access_of(&self, key: &str) -> Option<Access> {
        let last = self
            .versions
            .iter()
            .position(|v| v.recipients.iter().any(|r| r == key))?;
        if last == 0 {
            return Some(Access::StillRecipient);
        }
        let dropped_by = self.versions[last - 1].origin.clone();
        // The current data key is one they could unwrap (a revert brought it back).
        let held = |k: Option<usize>| {
            k.is_some()
                && self.versions[last..]
                    .iter()
                    .any(|v| v.key == k && v.recipients.iter().any(|r| r == key))
        };
        if held(self.versions[0].key) {
            return Some(Access::NotRotated { dropped_by });
        }
        // The rotations newer than the last version they could open; the oldest of them
        // is the one that shut them out.
        let mut unknown = false;
        for v in self.versions[..last].iter().rev() {
            match v.key_change {
                KeyChange::Rotated(m) => {
                    return Some(Access::Rotated {
                        dropped_by,
                        rotated_by: v.origin.clone(),
                        method: m,
                    })
                }
                KeyChange::Unknown => unknown = true,
                KeyChange::Same(_) => {}
            }
        }
        Some(if unknown {
            Access::Unknown { dropped_by }
        } else {
            Access::NotRotated { dropped_by }
        })
    }
}

/// A former reader's standing with one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// The current version is still wrapped for them.
    StillRecipient,
    /// Their stanza went (`dropped_by`) and a later (or the same) version has a new data key.
    Rotated {
        dropped_by: Origin,
        rotated_by: Origin,
        method: Method,
    },
    /// Their stanza went, and the data key they could unwrap is still the file's.
    NotRotated { dropped_by: Origin },
    /// Their stanza went, and a version after it could not be compared.
    Unknown { dropped_by: Origin },
}

/// A key that `.secrets.yaml` named once and names no more.
#[derive(Clone, Debug)]
pub struct RemovedKey {
    /// The key part of the public key.
    pub key: String,
    pub member: String,
    /// The member is still in the config with another key (`member rekey`).
    pub replaced: bool,
    /// The version of the config that no longer names it.
    pub removed_by: Origin,
}

/// The history of the config and of `files` (absolute paths) in the repository holding
/// the config; `None` outside a repository or with no commit.
pub struct History {
    pub files: BTreeMap<PathBuf, FileHistory>,
    pub removed: Vec<RemovedKey>,
    /// Config versions that could not be read (commit ids): removals there may be missed.
    pub unreadable_configs: Vec<String>,
}

/// Reads the history. `current` holds each file's working version, already loaded.
pub fn read(
    config: &Config,
    current: &BTreeMap<PathBuf, EncryptedFile>,
    ids: &Identities,
) -> Result<Option<History>, git2::Error> {
    let Ok(repo) = Repository::discover(config.root()) else {
        return Ok(None);
    };
    let Some(workdir) = repo.workdir().and_then(|w| std::fs::canonicalize(w).ok()) else {
        return Ok(None);
    };
    let head = match repo.head().and_then(|h| h.peel_to_commit()) {
        Ok(c) => c,
        Err(_) => return Ok(None),
    };
    let rel = |p: &Path| -> Option<PathBuf> {
        let dir = std::fs::canonicalize(p.parent()?).ok()?;
        Some(dir.strip_prefix(&workdir).ok()?.join(p.file_name()?))
    };
    // The working version of every file, then one walk for all of them and the config.
    let mut tracks: Vec<Track> = Vec::new();
    for (path, file) in current {
        let Some(rel) = rel(path) else { continue };
        let bytes = std::fs::read(path).unwrap_or_default();
        let id = Oid::hash_object(ObjectType::Blob, &bytes)?;
        tracks.push(Track {
            given: path.clone(),
            rel,
            blob: Some(id),
            newest: Some(summarize(file, ids)),
            newest_plaintext: false,
            origin: None,
            done: Vec::new(),
            prints: Vec::new(),
        });
    }
    let config_rel = rel(config.path());
    let mut cfg = ConfigTrack::new(config, config_rel);
    let shallow = staleness::shallow_boundaries(&repo);
    let mut walk = repo.revwalk()?;
    walk.set_sorting(Sort::NONE)?;
    walk.simplify_first_parent()?;
    walk.push(head.id())?;
    let mut last: Option<Commit<'_>> = None;
    // Each directory's tree in the newer commit: a directory whose tree did not change
    // holds the same blobs, so its files need no lookup (and no tree is parsed twice).
    let mut newer_dirs: HashMap<PathBuf, Option<Oid>> = HashMap::new();
    for oid in walk {
        let commit = repo.find_commit(oid?)?;
        let tree = commit.tree()?;
        let mut dirs: HashMap<PathBuf, Option<Oid>> = HashMap::new();
        let mut dir_trees: HashMap<Oid, git2::Tree<'_>> = HashMap::new();
        for t in tracks.iter_mut().filter(|t| t.blob.is_some()) {
            let dir = t.rel.parent().map(Path::to_path_buf).unwrap_or_default();
            let dir_id = match dirs.get(&dir) {
                Some(d) => *d,
                None => {
                    let d = dir_at(&tree, &dir);
                    dirs.insert(dir.clone(), d);
                    d
                }
            };
            if dir_id.is_some() && newer_dirs.get(&dir) == Some(&dir_id) {
                t.origin = Some(commit.id());
                continue;
            }
            let here = match dir_id {
                None => None,
                Some(d) => {
                    if let std::collections::hash_map::Entry::Vacant(v) = dir_trees.entry(d) {
                        v.insert(repo.find_tree(d)?);
                    }
                    let name = Path::new(t.rel.file_name().unwrap_or_default());
                    crate::git::blob_at(&dir_trees[&d], name)
                }
            };
            t.step(&repo, here, commit.id(), ids)?;
        }
        newer_dirs = dirs;
        cfg.step(&repo, &tree, config, &commit)?;
        last = Some(commit);
    }
    // What the oldest commit still holds was created there, unless history was cut.
    let end = last.as_ref().map(|c| {
        if shallow.contains(&c.id()) {
            KeyChange::Unknown
        } else {
            KeyChange::Rotated(Method::Created)
        }
    });
    let mut files = BTreeMap::new();
    for mut t in tracks {
        if t.blob.is_some() {
            if let (Some(end), Some(c)) = (end, &last) {
                t.origin = Some(c.id());
                t.close(&repo, end)?;
            }
        }
        number_keys(&mut t.done, &t.prints);
        files.insert(t.given, FileHistory { versions: t.done });
    }
    Ok(Some(History {
        files,
        removed: cfg.removed,
        unreadable_configs: cfg.unreadable,
    }))
}

/// A version in clear has something to leak: a key at least (not an empty file, comments
/// alone or `{}`). Parsed as plaintext is (zeroized leaves), never printed.
fn holds_values(path: &Path, bytes: &[u8]) -> bool {
    if bytes.trim_ascii().is_empty() {
        return false;
    }
    crate::store::parse_bytes::<crate::model::Plain>(Format::from_path(path), bytes)
        .map_or(true, |(branches, _)| {
            branches.iter().any(|b| b.entries().next().is_some())
        })
}

/// What a comparison between two versions needs, without their values' plaintext.
struct Summary {
    recipients: Vec<String>,
    /// Stanza text by recipient (key part).
    stanzas: HashMap<String, String>,
    /// Every value's `ENC[…]` text.
    values: HashSet<String>,
    /// SHA-256 of the data key, when the user's identities unwrap it.
    key: Option<[u8; 32]>,
}

fn summarize(file: &EncryptedFile, ids: &Identities) -> Summary {
    let mut values = HashSet::new();
    fn node(n: &Node<Sealed>, out: &mut HashSet<String>) {
        match n {
            Node::Leaf(Sealed(Scalar::Str(s))) if value::is_encrypted(s) => {
                out.insert(s.clone());
            }
            Node::Leaf(_) => {}
            Node::Map(b) => b.entries().for_each(|(_, c)| node(c, out)),
            Node::List(items) => items.iter().for_each(|i| {
                if let crate::model::ListItem::Value(v) = i {
                    node(v, out)
                }
            }),
        }
    }
    for b in &file.branches {
        b.entries().for_each(|(_, n)| node(n, &mut values));
    }
    let stanzas: HashMap<String, String> = file
        .stanzas()
        .iter()
        .map(|s| (key_part(&s.recipient).into_owned(), s.enc.clone()))
        .collect();
    Summary {
        recipients: file
            .recipients()
            .iter()
            .map(|r| key_part(r).into_owned())
            .collect(),
        stanzas,
        values,
        key: file
            .data_key(ids)
            .ok()
            .map(|k| Sha256::digest(k.bytes()).into()),
    }
}

/// How `newer`'s data key relates to `older`'s (see the module doc).
fn compare(older: Option<&Summary>, newer: Option<&Summary>) -> KeyChange {
    let (Some(o), Some(n)) = (older, newer) else {
        return KeyChange::Unknown;
    };
    if let (Some(a), Some(b)) = (o.key, n.key) {
        return if a == b {
            KeyChange::Same(Method::Key)
        } else {
            KeyChange::Rotated(Method::Key)
        };
    }
    let values_kept = n.values.iter().any(|v| o.values.contains(v));
    let stanza_kept = n
        .stanzas
        .iter()
        .any(|(r, enc)| o.stanzas.get(r) == Some(enc));
    let values_renewed = !n.values.is_empty() && !o.values.is_empty() && !values_kept;
    let values_silent = n.values.is_empty() || o.values.is_empty();
    if !stanza_kept && (values_renewed || values_silent) {
        KeyChange::Rotated(Method::Ciphertext)
    } else {
        KeyChange::Same(Method::Ciphertext)
    }
}

/// One file followed back through the walk.
struct Track {
    given: PathBuf,
    rel: PathBuf,
    /// The blob of the version being followed; `None` once the file's creation is found.
    blob: Option<Oid>,
    /// That version, parsed (`None`: unparseable).
    newest: Option<Summary>,
    /// That version held the file unencrypted.
    newest_plaintext: bool,
    /// The oldest commit seen holding that version so far (its origin when the next older
    /// one differs); `None`: the working tree.
    origin: Option<Oid>,
    done: Vec<Version>,
    /// What tells each of `done`'s data keys apart (`None`: unreadable).
    prints: Vec<Option<Print>>,
}

/// What identifies a version's data key: its hash when unwrapped, else any stanza or
/// value ciphertext another version shares (the same text cannot come from another key).
struct Print {
    key: Option<[u8; 32]>,
    texts: Vec<String>,
}

/// Numbers the data keys of `versions` (newest first; `prints` alongside), oldest first:
/// a version with the same key as the one before it keeps its number; a rotation gets a
/// new number unless its key (by hash, else by a shared stanza or value ciphertext) was
/// already seen in an older version, whose number it takes. Linear in the texts.
fn number_keys(versions: &mut [Version], prints: &[Option<Print>]) {
    let mut by_hash: HashMap<[u8; 32], usize> = HashMap::new();
    let mut by_text: HashMap<&str, usize> = HashMap::new();
    let mut next = 0usize;
    let mut older: Option<usize> = None;
    for i in (0..versions.len()).rev() {
        let Some(p) = prints.get(i).and_then(Option::as_ref) else {
            versions[i].key = None;
            older = None;
            continue;
        };
        let seen = p.key.and_then(|h| by_hash.get(&h).copied()).or_else(|| {
            p.texts
                .iter()
                .find_map(|t| by_text.get(t.as_str()).copied())
        });
        let n = match (versions[i].key_change, older) {
            (KeyChange::Same(_), Some(o)) => o,
            _ => seen.unwrap_or_else(|| {
                next += 1;
                next - 1
            }),
        };
        if let Some(h) = p.key {
            by_hash.entry(h).or_insert(n);
        }
        for t in &p.texts {
            by_text.entry(t.as_str()).or_insert(n);
        }
        versions[i].key = Some(n);
        older = Some(n);
    }
}

impl Track {
    /// The file is `here` in commit `id` (the parent of the last commit seen).
    fn step(
        &mut self,
        repo: &Repository,
        here: Option<Oid>,
        id: Oid,
        ids: &Identities,
    ) -> Result<(), git2::Error> {
        if here == self.blob {
            self.origin = Some(id);
            return Ok(());
        }
        let Some(blob_id) = here else {
            // Not in this commit: the version we follow created the file.
            return self.close(repo, KeyChange::Rotated(Method::Created));
        };
        let blob = crate::git::read_blob(repo, blob_id)?;
        let path = PathBuf::from(&self.rel);
        let parsed = EncryptedFile::parse(&path, Format::from_path(&path), blob.content());
        let in_clear = matches!(parsed, Err(crate::engine::FileError::NotEncrypted { .. }));
        let older = parsed.ok().map(|f| summarize(&f, ids));
        let change = match &self.newest {
            // Encrypting a file in clear always makes a new data key.
            Some(_) if in_clear => KeyChange::Rotated(Method::Encrypted),
            newest => compare(older.as_ref(), newest.as_ref()),
        };
        self.push(repo, change)?;
        self.newest = older;
        self.newest_plaintext = in_clear && holds_values(&path, blob.content());
        self.blob = Some(blob_id);
        self.origin = Some(id);
        Ok(())
    }

    /// Records the followed version, introduced by `self.origin`.
    fn push(&mut self, repo: &Repository, key_change: KeyChange) -> Result<(), git2::Error> {
        let recipients = self
            .newest
            .as_ref()
            .map(|s| s.recipients.clone())
            .unwrap_or_default();
        let origin = match self.origin {
            Some(id) => Origin::Commit(staleness::change(&repo.find_commit(id)?)),
            None => Origin::Uncommitted,
        };
        self.done.push(Version {
            origin,
            recipients,
            key_change,
            key: None,
            plaintext: self.newest_plaintext,
        });
        self.prints.push(self.newest.as_ref().map(|s| Print {
            key: s.key,
            texts: s.stanzas.values().chain(s.values.iter()).cloned().collect(),
        }));
        Ok(())
    }

    /// The followed version is the oldest.
    fn close(&mut self, repo: &Repository, key_change: KeyChange) -> Result<(), git2::Error> {
        self.push(repo, key_change)?;
        self.blob = None;
        self.newest = None;
        self.newest_plaintext = false;
        Ok(())
    }
}

/// The config followed back: the keys it names in each version.
struct ConfigTrack {
    rel: Option<PathBuf>,
    blob: Option<Oid>,
    /// Keys of the version being followed → member; and its members.
    keys: HashMap<String, String>,
    members: HashSet<String>,
    origin: Origin,
    /// Keys of the working config: a key named there was not removed.
    now: HashSet<String>,
    removed: Vec<RemovedKey>,
    seen: HashSet<String>,
    unreadable: Vec<String>,
}

fn keys_of(config: &Config) -> (HashMap<String, String>, HashSet<String>) {
    let mut keys = HashMap::new();
    for m in config.members() {
        for r in &m.recipients {
            keys.insert(key_part(&r.to_string()).into_owned(), m.name.clone());
        }
    }
    let members = config.members().iter().map(|m| m.name.clone()).collect();
    (keys, members)
}

impl ConfigTrack {
    fn new(config: &Config, rel: Option<PathBuf>) -> ConfigTrack {
        let (keys, members) = keys_of(config);
        let bytes = std::fs::read(config.path()).unwrap_or_default();
        ConfigTrack {
            rel,
            blob: Oid::hash_object(ObjectType::Blob, &bytes).ok(),
            now: keys.keys().cloned().collect(),
            keys,
            members,
            origin: Origin::Uncommitted,
            removed: Vec::new(),
            seen: HashSet::new(),
            unreadable: Vec::new(),
        }
    }

    fn step(
        &mut self,
        repo: &Repository,
        tree: &git2::Tree<'_>,
        config: &Config,
        commit: &Commit<'_>,
    ) -> Result<(), git2::Error> {
        let Some(rel) = &self.rel else { return Ok(()) };
        let here = crate::git::blob_at(tree, rel);
        let origin = Origin::Commit(staleness::change(commit));
        if here == self.blob {
            self.origin = origin;
            return Ok(());
        }
        let child = std::mem::replace(&mut self.origin, origin);
        self.blob = here;
        let Some(id) = here else {
            self.keys.clear();
            self.members.clear();
            return Ok(());
        };
        let blob = crate::git::read_blob(repo, id)?;
        let text = String::from_utf8_lossy(blob.content());
        // The limit `config::read_text` puts on the working file.
        let readable = blob.size() <= 1 << 20;
        let parsed = readable.then(|| Config::parse_named(config.path(), &text).ok());
        let Some(Some(older)) = parsed else {
            // Keep comparing against the newer version: a removal is found at the next
            // readable one, dated from the newer side.
            self.unreadable.push(commit.id().to_string());
            self.origin = child;
            return Ok(());
        };
        let (keys, members) = keys_of(&older);
        for (key, member) in &keys {
            if self.keys.contains_key(key)
                || self.now.contains(key)
                || !self.seen.insert(key.clone())
            {
                continue;
            }
            self.removed.push(RemovedKey {
                key: key.clone(),
                member: member.clone(),
                // `.sops.yaml` has no member names (`sops-1`… are numbered by key).
                replaced: config.source() == crate::config::Source::Secrets
                    && self.members.contains(member),
                removed_by: child.clone(),
            });
        }
        self.keys = keys;
        self.members = members;
        Ok(())
    }
}

/// The tree of directory `dir` (relative, `""`: the root) in `tree`, if there is one.
fn dir_at(tree: &git2::Tree<'_>, dir: &Path) -> Option<Oid> {
    if dir.as_os_str().is_empty() {
        return Some(tree.id());
    }
    let entry = tree.get_path(dir).ok()?;
    (entry.kind() == Some(ObjectType::Tree)).then(|| entry.id())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(values: &[&str], stanzas: &[(&str, &str)]) -> Summary {
        Summary {
            recipients: stanzas.iter().map(|(r, _)| r.to_string()).collect(),
            stanzas: stanzas
                .iter()
                .map(|(r, e)| (r.to_string(), e.to_string()))
                .collect(),
            values: values.iter().map(|v| v.to_string()).collect(),
            key: None,
        }
    }

    #[test]
    fn a_rotation_renews_every_value_and_every_kept_stanza() {
        let old = summary(&["v1", "v2"], &[("alice", "a1"), ("bob", "b1")]);
        // member remove: new values, alice re-wrapped, bob gone.
        let rotated = summary(&["v3", "v4"], &[("alice", "a2")]);
        assert_eq!(
            compare(Some(&old), Some(&rotated)),
            KeyChange::Rotated(Method::Ciphertext)
        );
        // An edit of every value keeps the stanzas.
        let edited = summary(&["v3", "v4"], &[("alice", "a1"), ("bob", "b1")]);
        assert_eq!(
            compare(Some(&old), Some(&edited)),
            KeyChange::Same(Method::Ciphertext)
        );
        // sops updatekeys re-wraps every stanza (and drops bob) but keeps the values.
        let rewrapped = summary(&["v1", "v2"], &[("alice", "a3")]);
        assert_eq!(
            compare(Some(&old), Some(&rewrapped)),
            KeyChange::Same(Method::Ciphertext)
        );
        // An unreadable version: unknown, never rotated.
        assert_eq!(compare(None, Some(&rotated)), KeyChange::Unknown);
        // With both keys unwrapped, the keys decide.
        let mut a = summary(&["v1"], &[("alice", "a1")]);
        let mut b = summary(&["v1"], &[("alice", "a1")]);
        a.key = Some([1; 32]);
        b.key = Some([2; 32]);
        assert_eq!(compare(Some(&a), Some(&b)), KeyChange::Rotated(Method::Key));
        b.key = Some([1; 32]);
        assert_eq!(compare(Some(&a), Some(&b)), KeyChange::Same(Method::Key));
    }

    fn version(n: usize, recipients: &[&str], key_change: KeyChange) -> Version {
        Version {
            origin: Origin::Commit(Change {
                commit: format!("{n:040}"),
                author: "a".into(),
                email: "a@x".into(),
                time: n as i64,
                summary: String::new(),
            }),
            recipients: recipients.iter().map(|r| r.to_string()).collect(),
            key_change,
            key: None,
            plaintext: false,
        }
    }

    /// A history of `versions`, their data keys numbered from their key changes alone.
    fn hist(mut versions: Vec<Version>) -> FileHistory {
        let prints: Vec<Option<Print>> = versions
            .iter()
            .map(|_| {
                Some(Print {
                    key: None,
                    texts: Vec::new(),
                })
            })
            .collect();
        number_keys(&mut versions, &prints);
        FileHistory { versions }
    }

    #[test]
    fn a_former_reader_is_shut_out_only_by_a_rotation_after_their_last_version() {
        let same = KeyChange::Same(Method::Ciphertext);
        let rotated = KeyChange::Rotated(Method::Ciphertext);
        let created = KeyChange::Rotated(Method::Created);
        // Newest first: bob's stanza dropped in 3 (no new key), rotation in 2.
        let h = hist(vec![
            version(1, &["alice"], same),
            version(2, &["alice"], rotated),
            version(3, &["alice"], same),
            version(4, &["alice", "bob"], created),
        ]);
        match h.access_of("bob") {
            Some(Access::Rotated {
                dropped_by: Origin::Commit(d),
                rotated_by: Origin::Commit(r),
                ..
            }) => assert_eq!((d.time, r.time), (3, 2)),
            other => panic!("{other:?}"),
        }
        assert_eq!(h.key_since().map(|(v, _)| v.recipients.len()), Some(1));
        // Without the rotation: not rotated. Still in the newest: still a recipient.
        let h = hist(vec![
            version(3, &["alice"], same),
            version(4, &["bob"], created),
        ]);
        assert!(matches!(
            h.access_of("bob"),
            Some(Access::NotRotated { .. })
        ));
        assert_eq!(h.access_of("carol"), None);
        let h = hist(vec![version(4, &["bob"], created)]);
        assert_eq!(h.access_of("bob"), Some(Access::StillRecipient));
        // An unreadable version between: unknown.
        let h = hist(vec![
            version(2, &["alice"], KeyChange::Unknown),
            version(3, &["alice"], same),
            version(4, &["bob"], created),
        ]);
        assert!(matches!(h.access_of("bob"), Some(Access::Unknown { .. })));
        assert!(h.key_since().is_none());
    }
}
