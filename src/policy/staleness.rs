//! When each encrypted value last changed, from git history.
//!
//! A value that does not change keeps its ciphertext (`ENC[AES256_GCM,data:…,iv:…,…]`) byte
//! for byte: the IV stash gives an unchanged value under an unchanged path and data key its
//! old IV, and every change gets a fresh one. So the last change of a value is the oldest
//! commit of the unbroken chain of commits, walking back from HEAD along first parents,
//! whose version of the file still contains that exact `ENC[…]` text. Unlike line blame,
//! moving a key within its map, re-indenting the file or changing another value on the same
//! line is not a change of the value.
//!
//! How (linear in commits × changed blobs):
//! - only the working file is parsed ([`EncryptedFile::load`]), for each leaf's key path and
//!   `ENC[…]` text; old versions are searched with `memchr::memmem`, never parsed;
//! - one first-parent revwalk from HEAD per repository, shared by all its files, stopped
//!   as soon as every value is placed;
//! - per commit and file, the blob id in the parent is compared with the child's: a blob is
//!   loaded only when it differs;
//! - a path missing from the parent is looked up in a rename-detecting diff of that one
//!   commit (`git mv` keeps the history); no rename found: the commit created the file;
//! - the root commit is the change of whatever it still holds; a shallow boundary, a
//!   missing parent or a version a partial clone did not fetch leaves those values
//!   [`Freshness::Unknown`], never fresh.
//!
//! What it does not know:
//! - A rotation (`updatekeys --rotate`, `member remove`, `env revoke`) re-encrypts every
//!   value under a new data key: without the key, its commit is a change of every value,
//!   though the plaintext may be the same.
//! - A change made on a merged branch dates from the merge commit (when it reached the
//!   first-parent line), by the merge's author.
//! - Values the file holds in clear (the rules' `unencrypted_suffix` etc.) have no
//!   ciphertext to follow: their text is compared per key in each version of the file
//!   that differs (one parse per changed blob, as the walk reads them anyway). Empty
//!   values are [`Freshness::Unknown`] with [`UnknownReason::Empty`] (a line blame would
//!   date the line, not the value). [`UnknownReason::InClear`] is no longer produced.
//!
//! Nothing here decrypts, prints, or spawns `git`; errors name files, never values.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use git2::{Commit, DiffFindOptions, ErrorCode, ObjectType, Oid, Repository, Sort};
use memchr::memmem;

use crate::crypto::value;
use crate::crypto::DataKey;
use crate::engine::{EncryptedFile, FileError};
use crate::keys::Identities;
use crate::model::{Branch, ListItem, Node, Scalar, Sealed, SecretText};
use crate::store::Format;
use sha2::{Digest, Sha256};

/// The commit that last changed a value: what a report needs to say who and when, without
/// keeping the repository open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Full hex id, so a report can link to it unambiguously.
    pub commit: String,
    pub author: String,
    pub email: String,
    /// The earlier of the author and committer times, unix seconds: when the change was
    /// written, not when it was rebased or merged (author), and never later than when it
    /// was committed (a forged `GIT_AUTHOR_DATE` in the future does not make it younger).
    pub time: i64,
    /// First line of the message, to recognise the change in a list.
    pub summary: String,
}

/// How fresh one value is. Three cases because "no known change" must never read as fresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// The oldest commit of the unbroken chain from HEAD that holds this exact ciphertext.
    Changed(Change),
    /// The working file's value is not in HEAD: changed (or added) and not committed yet.
    Uncommitted,
    /// History cannot tell; the reason says why (shallow clone, not in git, …).
    Unknown(UnknownReason),
}

/// Why a value's last change is not known. Each is a situation a user can act on, so a
/// report says which.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnknownReason {
    /// The file is not inside a git repository (or the repository has no working tree).
    NotInRepository,
    /// HEAD has no commit yet.
    NoCommits,
    /// The file is not in HEAD: never committed (or ignored), or renamed and not committed.
    NotCommitted,
    /// The history ends at a shallow boundary (`git clone --depth`) with the value still
    /// present: it changed at or before that commit (full hex id), whose time (as
    /// [`Change::time`]) is `time`.
    Shallow { boundary: String, time: i64 },
    /// A commit's parent is missing from the object store (partial or damaged clone).
    MissingParent { commit: String },
    /// A version of the file (at the commit, full hex id) is not in the object store: a
    /// partial clone (`git clone --filter=blob:none`) fetches older blobs on demand, and
    /// libgit2 cannot fetch them.
    PartialClone { commit: String },
    /// The commit (full hex id) that changed the value has author and committer times both
    /// later than now (a wrong clock, or a forged date): it dates nothing, and the value
    /// must not look fresh until then.
    FutureDate { commit: String },
    /// The value is stored in clear (the file's encryption rules leave it so): no
    /// ciphertext to follow. Kept for the JSON `reason` codes; clear values are now
    /// followed by their text.
    InClear,
    /// An empty value (`""`, null) is stored in clear by sops: no ciphertext to follow.
    Empty,
    /// The ciphertext is not found verbatim in the file's own text (an escaped form), so
    /// searching older versions would prove nothing.
    NotVerbatim,
    /// The commit (full hex id) re-encrypted the file under a new data key (`rotate`,
    /// `member remove`, `member rekey --rotate`), and no identity at hand opens both
    /// versions to tell whether the value itself changed there: it changed there or before.
    ReEncrypted { commit: String },
    /// The commit (full hex id) encrypted the file, which the version before held with no
    /// sops metadata (committed in clear): the value dates from there or before, and may
    /// be in history unencrypted.
    EncryptedFromClear { commit: String },
}

impl UnknownReason {
    /// A time the value already held its current text (unix seconds), when history
    /// proves one: its age is at least `now` minus this, so a value whose bound alone is
    /// past its max_age is overdue though its exact age is unknown.
    pub fn held_since(&self) -> Option<i64> {
        match self {
            UnknownReason::Shallow { time, .. } => Some(*time),
            _ => None,
        }
    }

    /// A stable short name for machine output (`status --stale --format json`).
    pub fn code(&self) -> &'static str {
        match self {
            UnknownReason::NotInRepository => "not_in_repository",
            UnknownReason::NoCommits => "no_commits",
            UnknownReason::NotCommitted => "not_committed",
            UnknownReason::Shallow { .. } => "shallow",
            UnknownReason::MissingParent { .. } => "missing_parent",
            UnknownReason::PartialClone { .. } => "partial_clone",
            UnknownReason::FutureDate { .. } => "future_date",
            UnknownReason::InClear => "in_clear",
            UnknownReason::Empty => "empty",
            UnknownReason::NotVerbatim => "not_verbatim",
            UnknownReason::ReEncrypted { .. } => "reencrypted",
            UnknownReason::EncryptedFromClear { .. } => "encrypted_from_clear",
        }
    }
}

impl fmt::Display for UnknownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = |id: &str| id.chars().take(7).collect::<String>();
        match self {
            UnknownReason::NotInRepository => write!(f, "not in a git repository"),
            UnknownReason::NoCommits => write!(f, "the repository has no commits"),
            UnknownReason::NotCommitted => write!(f, "the file is not committed"),
            UnknownReason::Shallow { boundary, .. } => write!(
                f,
                "shallow clone: history ends at {} (git fetch --unshallow)",
                short(boundary)
            ),
            UnknownReason::MissingParent { commit } => {
                write!(f, "the parent of {} is missing", short(commit))
            }
            UnknownReason::PartialClone { commit } => write!(
                f,
                "partial clone: blob not fetched at {} (a clone without --filter has it)",
                short(commit)
            ),
            UnknownReason::FutureDate { commit } => write!(
                f,
                "the change at {} is dated in the future (author and committer times)",
                short(commit)
            ),
            UnknownReason::InClear => write!(f, "stored in clear"),
            UnknownReason::Empty => write!(f, "empty value"),
            UnknownReason::NotVerbatim => write!(f, "ciphertext not verbatim in the file"),
            UnknownReason::ReEncrypted { commit } => write!(
                f,
                "re-encrypted under a new data key at {}: a key that opens the file tells whether it changed there",
                short(commit)
            ),
            UnknownReason::EncryptedFromClear { commit } => write!(
                f,
                "the file was committed unencrypted before {} encrypted it: the value dates from there or before, and may be in history in clear",
                short(commit)
            ),
        }
    }
}

/// What stops the report for a file. Messages name the file; never a value or ciphertext.
#[derive(Debug, thiserror::Error)]
pub enum StaleError {
    /// The working file cannot be read or parsed as an encrypted file.
    #[error(transparent)]
    Load(#[from] FileError),
    /// Reading the history for this file failed (other than the cases reported as
    /// [`Freshness::Unknown`]).
    #[error("{path}: reading git history: {error}")]
    Git { path: PathBuf, error: git2::Error },
}

/// Per file (path as given), per value: its key path as `exec::env::Var.key` spells it
/// (dotted: `database.password`, `servers.0`) → Freshness. Values in document order.
pub fn last_changes(
    files: &[PathBuf],
) -> Result<BTreeMap<PathBuf, Vec<(String, Freshness)>>, StaleError> {
    last_changes_with(files, None)
}

/// As [`last_changes`]; with `ids`, a commit that re-encrypted a value the identities
/// open in both versions with the same plaintext (a rotation, `member remove`) is not its
/// change: the walk goes on with the older ciphertext. Only a SHA-256 of each plaintext is
/// kept (in memory, for the comparison), the plaintexts in wiped buffers.
pub fn last_changes_with(
    files: &[PathBuf],
    ids: Option<&Identities>,
) -> Result<BTreeMap<PathBuf, Vec<(String, Freshness)>>, StaleError> {
    let mut out = BTreeMap::new();
    // Files grouped by repository (its git dir), each group walked once.
    let mut groups: Vec<(Repository, Vec<Tracked>)> = Vec::new();
    let mut group_of: HashMap<PathBuf, usize> = HashMap::new();
    // Canonical directory → its group and path in the working tree (`None`: no repository).
    let mut dir_group: HashMap<PathBuf, Option<(usize, PathBuf)>> = HashMap::new();
    for path in files {
        let bytes = EncryptedFile::read_encrypted(path)?;
        let file = EncryptedFile::parse(path, Format::from_path(path), &bytes)?;
        let mut values = leaves(&file);
        // Leaves whose ciphertext is not in the text as is cannot be searched for.
        for v in &mut values {
            if let Pending::Search(needle) = &v.state {
                if memmem::find(&bytes, needle).is_none() {
                    v.state = Pending::Done(Freshness::Unknown(UnknownReason::NotVerbatim));
                }
            }
        }
        // One discovery per directory (200 files in one directory: one repository open).
        let Some((dir, name)) = split_dir(path) else {
            out.insert(
                path.clone(),
                finish(values, &UnknownReason::NotInRepository),
            );
            continue;
        };
        if !dir_group.contains_key(&dir) {
            let found = locate(&dir).map(|(repo, rel_dir)| {
                let idx = *group_of
                    .entry(repo.path().to_path_buf())
                    .or_insert_with(|| {
                        groups.push((repo, Vec::new()));
                        groups.len() - 1
                    });
                (idx, rel_dir)
            });
            dir_group.insert(dir.clone(), found);
        }
        let Some((idx, rel_dir)) = &dir_group[&dir] else {
            out.insert(
                path.clone(),
                finish(values, &UnknownReason::NotInRepository),
            );
            continue;
        };
        let opened = ids.and_then(|ids| Plain::of(&file, ids, None));
        let (plain, key) = match opened {
            Some((p, k)) => (Some(p), k),
            None => (None, None),
        };
        groups[*idx].1.push(Tracked {
            given: path.clone(),
            rel: rel_dir.join(name),
            blob: None,
            plain,
            key,
            values,
            wraps: None,
        });
    }
    for (repo, mut tracked) in groups {
        walk(&repo, &mut tracked, None, ids)?;
        for t in tracked {
            out.insert(t.given, finish(t.values, &UnknownReason::NotCommitted));
        }
    }
    Ok(out)
}

/// As [`last_changes`], for files as they were at the commit `start` of `repo` (`check
/// --rev`): each given as (its name in the result, its path in the repository, its text
/// at `start`). The walk starts at `start`, so nothing is `Uncommitted`.
pub fn last_changes_at(
    repo: &Repository,
    start: Oid,
    files: Vec<(PathBuf, PathBuf, Vec<u8>)>,
) -> Result<BTreeMap<PathBuf, Vec<(String, Freshness)>>, StaleError> {
    let mut tracked = Vec::new();
    for (given, rel, bytes) in files {
        let file = EncryptedFile::parse(&given, Format::from_path(&given), &bytes)?;
        let mut values = leaves(&file);
        for v in &mut values {
            if let Pending::Search(needle) = &v.state {
                if memmem::find(&bytes, needle).is_none() {
                    v.state = Pending::Done(Freshness::Unknown(UnknownReason::NotVerbatim));
                }
            }
        }
        tracked.push(Tracked {
            given,
            rel,
            blob: None,
            plain: None,
            key: None,
            values,
            wraps: None,
        });
    }
    walk(repo, &mut tracked, Some(start), None)?;
    Ok(tracked
        .into_iter()
        .map(|t| (t.given, finish(t.values, &UnknownReason::NotCommitted)))
        .collect())
}

/// One value being followed back through history.
struct Value {
    key: String,
    state: Pending,
}

enum Pending {
    /// Still present in every commit seen so far: this is its ciphertext.
    Search(Vec<u8>),
    /// A value stored in clear (the file's unencrypted rules): its text, compared per key
    /// in each version that differs.
    Clear(String),
    Done(Freshness),
}

/// One file in a repository's walk.
struct Tracked {
    /// The path as the caller gave it (the key of the result).
    given: PathBuf,
    /// Its path in the commit being looked at (changes at renames), `/`-separated.
    rel: PathBuf,
    /// Its blob in the child commit; `None` before HEAD is read or once it is done.
    blob: Option<Oid>,
    values: Vec<Value>,
    /// The plaintext hashes of the child version, when the identities opened it.
    plain: Option<Plain>,
    /// The data key last unwrapped for this file (for `plain.stanzas`).
    key: Option<DataKey>,
    /// The wrapped data keys of one version (its blob): each stanza's text, of every key
    /// type. Versions sharing one hold the same data key. Read only when a value's
    /// ciphertext is gone and no identity could compare the plaintexts.
    wraps: Option<(Oid, HashSet<String>)>,
}

/// One version's values as far as a comparison needs them: per key, a SHA-256 of the
/// plaintext and the ciphertext text.
struct Plain {
    hashes: HashMap<String, [u8; 32]>,
    sealed: HashMap<String, Vec<u8>>,
    /// The version's stanzas (public text), to reuse a data key unwrapped for them.
    stanzas: String,
}

impl Plain {
    /// `file` opened with `ids` (a data key for the same stanzas is taken from `cache`);
    /// `None` when it cannot be opened.
    fn of(
        file: &EncryptedFile,
        ids: &Identities,
        cache: Option<(&String, &DataKey)>,
    ) -> Option<(Plain, Option<DataKey>)> {
        let stanzas: String = file.stanzas().iter().map(|s| s.enc.as_str()).collect();
        let fresh = match cache {
            Some((s, _)) if *s == stanzas => None,
            _ => Some(file.data_key(ids).ok()?),
        };
        let key = fresh.as_ref().or(cache.map(|c| c.1))?;
        let opened = file.read(key).ok()?;
        let dotenv = file.format == Format::Dotenv;
        let mut hashes = HashMap::new();
        for branch in &opened.branches {
            for (k, n) in branch.entries() {
                if dotenv && crate::store::dotenv::is_comment_key(k) {
                    continue;
                }
                plain_node(n, k.to_string(), &mut hashes);
            }
        }
        let sealed = leaves(file)
            .into_iter()
            .filter_map(|v| match v.state {
                Pending::Search(t) => Some((v.key, t)),
                _ => None,
            })
            .collect();
        Some((
            Plain {
                hashes,
                sealed,
                stanzas,
            },
            fresh,
        ))
    }
}

fn plain_node(n: &Node<crate::model::Plain>, key: String, out: &mut HashMap<String, [u8; 32]>) {
    match n {
        Node::Leaf(leaf) => {
            let s = leaf.scalar();
            let mut t = SecretText::with_capacity(s.text_len());
            s.write_text(&mut t);
            out.insert(key, Sha256::digest(t.as_str().as_bytes()).into());
        }
        Node::Map(b) => {
            for (k, child) in b.entries() {
                plain_node(child, format!("{key}.{k}"), out);
            }
        }
        Node::List(items) => {
            let values = items.iter().filter_map(|i| match i {
                ListItem::Value(v) => Some(v),
                ListItem::Comment { .. } => None,
            });
            for (idx, child) in values.enumerate() {
                plain_node(child, format!("{key}.{idx}"), out);
            }
        }
    }
}

impl Tracked {
    /// Before [`Tracked::keep_present`] with the parent version `bytes`: a value whose
    /// ciphertext is gone from it but whose plaintext the identities find unchanged (a
    /// re-encryption) is followed on with the parent's ciphertext. Returns whether the
    /// plaintexts were compared (the identities opened both versions).
    fn carry_reencrypted(&mut self, bytes: &[u8], ids: &Identities) -> bool {
        // The parent holds every value followed as is: the child's hashes still hold.
        if !self.loses_a_ciphertext(bytes) {
            return true;
        }
        let parsed = EncryptedFile::parse(&self.rel, Format::from_path(&self.rel), bytes).ok();
        let cache = match (&self.plain, &self.key) {
            (Some(p), Some(k)) => Some((&p.stanzas, k)),
            _ => None,
        };
        let Some((parent, fresh)) = parsed.and_then(|f| Plain::of(&f, ids, cache)) else {
            self.plain = None;
            return false;
        };
        let compared = self.plain.is_some();
        if let Some(child) = &self.plain {
            for v in &mut self.values {
                let Pending::Search(n) = &v.state else {
                    continue;
                };
                if memmem::find(bytes, n).is_some() {
                    continue;
                }
                let (Some(a), Some(b), Some(old)) = (
                    child.hashes.get(&v.key),
                    parent.hashes.get(&v.key),
                    parent.sealed.get(&v.key),
                ) else {
                    continue;
                };
                if a == b && memmem::find(bytes, old).is_some() {
                    v.state = Pending::Search(old.clone());
                }
            }
        }
        if fresh.is_some() {
            self.key = fresh;
        }
        self.plain = Some(parent);
        compared
    }

    /// What a value whose ciphertext `bytes` (the parent version, blob `parent`) no longer
    /// holds learns from the child commit: `changed` there, unless the plaintexts were not
    /// `compared` (no identity opened both versions: a removed member's key opens only the
    /// older one) and the two versions share no wrapped data key. Then the commit
    /// re-encrypted the file, and the value may be unchanged: its age is unknown, never
    /// fresh. (Our writes keep an unchanged value's ciphertext under the same data key.)
    fn verdict(
        &mut self,
        repo: &Repository,
        bytes: &[u8],
        parent: Oid,
        changed: &Freshness,
        compared: bool,
        commit: &Commit<'_>,
    ) -> Freshness {
        let Some(child) = self
            .blob
            .filter(|_| !compared && self.loses_a_ciphertext(bytes))
        else {
            return changed.clone();
        };
        // The child's wraps: from the one-slot cache when the last verdict read them.
        let child_wraps = match self.wraps.take() {
            Some((id, w)) if id == child => Some(w),
            _ => repo
                .find_blob(child)
                .ok()
                .and_then(|b| wraps(&self.rel, b.content())),
        };
        let Some(child_wraps) = child_wraps else {
            return changed.clone();
        };
        let parent_wraps = match parsed_wraps(&self.rel, bytes) {
            Err(FileError::NotEncrypted { .. }) => {
                return Freshness::Unknown(UnknownReason::EncryptedFromClear {
                    commit: commit.id().to_string(),
                })
            }
            parsed => parsed.ok(),
        };
        let shared = parent_wraps
            .as_ref()
            .is_some_and(|p| !p.is_disjoint(&child_wraps));
        self.wraps = parent_wraps.map(|p| (parent, p));
        if shared {
            changed.clone()
        } else {
            Freshness::Unknown(UnknownReason::ReEncrypted {
                commit: commit.id().to_string(),
            })
        }
    }

    /// Whether a ciphertext still followed is gone from the version `bytes`.
    fn loses_a_ciphertext(&self, bytes: &[u8]) -> bool {
        self.values.iter().any(|v| match &v.state {
            Pending::Search(n) => memmem::find(bytes, n).is_none(),
            _ => false,
        })
    }

    fn alive(&self) -> bool {
        self.values
            .iter()
            .any(|v| matches!(v.state, Pending::Search(_) | Pending::Clear(_)))
    }

    /// Every value still searched for gets `f`.
    fn settle(&mut self, f: &Freshness) {
        for v in &mut self.values {
            if matches!(v.state, Pending::Search(_) | Pending::Clear(_)) {
                v.state = Pending::Done(f.clone());
            }
        }
        self.blob = None;
    }

    /// Values whose ciphertext `bytes` no longer holds changed in `child` (or get
    /// `lost`: see [`Tracked::verdict`]); values in clear that differ changed in `child`.
    fn keep_present(&mut self, bytes: &[u8], child: &Freshness, lost: &Freshness) {
        // Values in clear: compared with the same key's clear text in this version.
        if self
            .values
            .iter()
            .any(|v| matches!(v.state, Pending::Clear(_)))
        {
            let older: HashMap<String, String> =
                EncryptedFile::parse(&self.rel, Format::from_path(&self.rel), bytes)
                    .map(|f| {
                        leaves(&f)
                            .into_iter()
                            .filter_map(|v| match v.state {
                                Pending::Clear(t) => Some((v.key, t)),
                                _ => None,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
            for v in &mut self.values {
                if let Pending::Clear(t) = &v.state {
                    if older.get(&v.key) != Some(t) {
                        v.state = Pending::Done(child.clone());
                    }
                }
            }
        }
        for v in &mut self.values {
            if let Pending::Search(needle) = &v.state {
                if memmem::find(bytes, needle).is_none() {
                    v.state = Pending::Done(lost.clone());
                }
            }
        }
    }
}

/// Every wrapped data key of one version of a file (age, Vault, KMS and PGP stanzas, key
/// groups included); `None` when the version does not parse.
fn wraps(rel: &Path, bytes: &[u8]) -> Option<HashSet<String>> {
    parsed_wraps(rel, bytes).ok()
}

/// [`wraps`], with why a version has none: `FileError::NotEncrypted` is a version with no
/// sops metadata (committed unencrypted).
fn parsed_wraps(rel: &Path, bytes: &[u8]) -> Result<HashSet<String>, FileError> {
    let file = EncryptedFile::parse(rel, Format::from_path(rel), bytes)?;
    let m = &file.metadata;
    let mut out = HashSet::new();
    for g in std::iter::once(&m.keys).chain(&m.key_groups) {
        out.extend(g.age.iter().map(|s| s.enc.clone()));
        out.extend(g.hc_vault.iter().map(|s| s.enc.clone()));
        out.extend(g.kms.iter().map(|s| s.enc.clone()));
        out.extend(g.pgp.iter().map(|s| s.enc.clone()));
    }
    Ok(out)
}

/// The results, with `rest` for values never settled (the walk never reached them).
fn finish(values: Vec<Value>, rest: &UnknownReason) -> Vec<(String, Freshness)> {
    values
        .into_iter()
        .map(|v| {
            let f = match v.state {
                Pending::Done(f) => f,
                Pending::Search(_) | Pending::Clear(_) => Freshness::Unknown(rest.clone()),
            };
            (v.key, f)
        })
        .collect()
}

/// The directory of `path`, resolved (symlinks, `..`) the way git sees it, and its file
/// name, kept as given.
fn split_dir(path: &Path) -> Option<(PathBuf, std::ffi::OsString)> {
    let name = path.file_name()?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Some((std::fs::canonicalize(dir).ok()?, name.to_os_string()))
}

/// The repository holding the (canonical) directory `dir` and its path inside the working
/// tree; `None` outside one.
fn locate(dir: &Path) -> Option<(Repository, PathBuf)> {
    let repo = Repository::discover(dir).ok()?;
    let workdir = std::fs::canonicalize(repo.workdir()?).ok()?;
    let rel = dir.strip_prefix(&workdir).ok()?.to_path_buf();
    Some((repo, rel))
}

/// The key path and ciphertext of every value of the working file, in document order and
/// spelled as `exec::env` spells keys: map keys joined with `.`, list items numbered among
/// the list's values (comments not counted), every document's keys at the top level,
/// dotenv keys as written (comment keys skipped).
fn leaves(file: &EncryptedFile) -> Vec<Value> {
    fn node(n: &Node<Sealed>, key: String, out: &mut Vec<Value>) {
        match n {
            Node::Leaf(leaf) => out.push(Value {
                key,
                state: match &leaf.0 {
                    Scalar::Str(s) if value::is_encrypted(s) => {
                        Pending::Search(s.as_bytes().to_vec())
                    }
                    s if s.is_empty_value() => {
                        Pending::Done(Freshness::Unknown(UnknownReason::Empty))
                    }
                    s => {
                        let mut t = SecretText::with_capacity(s.text_len());
                        s.write_text(&mut t);
                        Pending::Clear(t.as_str().to_string())
                    }
                },
            }),
            Node::Map(b) => {
                for (k, child) in b.entries() {
                    node(child, format!("{key}.{k}"), out);
                }
            }
            Node::List(items) => {
                let values = items.iter().filter_map(|i| match i {
                    ListItem::Value(v) => Some(v),
                    ListItem::Comment { .. } => None,
                });
                for (idx, child) in values.enumerate() {
                    node(child, format!("{key}.{idx}"), out);
                }
            }
        }
    }
    let dotenv = file.format == Format::Dotenv;
    let mut out = Vec::new();
    for branch in &file.branches {
        top(branch, dotenv, &mut |k, n| node(n, k.to_string(), &mut out));
    }
    out
}

fn top(branch: &Branch<Sealed>, dotenv: bool, f: &mut impl FnMut(&str, &Node<Sealed>)) {
    for (k, n) in branch.entries() {
        if dotenv && crate::store::dotenv::is_comment_key(k) {
            continue;
        }
        f(k, n);
    }
}

/// The commits `git clone --depth` cut the history at (`shallow` in the common git dir):
/// libgit2 shows them without parents, as if they were root commits, so they must be told
/// apart. A missing file means a complete clone.
pub(crate) fn shallow_boundaries(repo: &Repository) -> HashSet<Oid> {
    if !repo.is_shallow() {
        return HashSet::new();
    }
    let text = std::fs::read_to_string(repo.commondir().join("shallow")).unwrap_or_default();
    text.lines()
        .filter_map(|l| Oid::from_str(l.trim()).ok())
        .collect()
}

/// How far ahead of our clock a commit's time may be and still count (as age 0): a
/// committer's clock a little fast, not a date years ahead.
const CLOCK_SKEW: i64 = 86_400;

/// `commit` as a value's change, at `now` (unix seconds): a commit dated later than now
/// (beyond [`CLOCK_SKEW`]) would make the value fresh until then, so it dates nothing.
fn change_of(commit: &Commit<'_>, now: i64) -> Freshness {
    let c = change(commit);
    if c.time > now.saturating_add(CLOCK_SKEW) {
        return Freshness::Unknown(UnknownReason::FutureDate { commit: c.commit });
    }
    Freshness::Changed(c)
}

/// Who made `commit`, when, and its subject. The time is the earlier of the author and
/// committer times: the author time survives a rebase, the committer time bounds a forged
/// author time (git sets it when the commit is made).
pub(crate) fn change(commit: &Commit<'_>) -> Change {
    let author = commit.author();
    Change {
        commit: commit.id().to_string(),
        author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
        email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
        time: author
            .when()
            .seconds()
            .min(commit.committer().when().seconds()),
        summary: commit
            .summary_bytes()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_default(),
    }
}

/// The directory trees of one commit, each read once however many files sit in it (a
/// commit's tree is re-read from the object store per lookup otherwise: 200 files in one
/// directory cost 200 reads of it).
struct Dirs<'r> {
    root: git2::Tree<'r>,
    trees: HashMap<PathBuf, Option<git2::Tree<'r>>>,
}

impl<'r> Dirs<'r> {
    fn new(root: git2::Tree<'r>) -> Dirs<'r> {
        Dirs {
            root,
            trees: HashMap::new(),
        }
    }

    /// The tree at `dir` (`""`: the root), if it is a directory in this commit; an error
    /// when a tree it names is not in the object store (a partial clone).
    fn tree(
        &mut self,
        repo: &'r Repository,
        dir: &Path,
    ) -> Result<Option<git2::Tree<'r>>, git2::Error> {
        if dir.as_os_str().is_empty() {
            return Ok(Some(self.root.clone()));
        }
        if let Some(t) = self.trees.get(dir) {
            return Ok(t.clone());
        }
        let Some(parent) = self.tree(repo, dir.parent().unwrap_or(Path::new("")))? else {
            return Ok(None);
        };
        let found = match dir
            .file_name()
            .and_then(|n| parent.get_name_bytes(n.as_encoded_bytes()))
            .filter(|e| e.kind() == Some(ObjectType::Tree))
        {
            Some(e) => Some(repo.find_tree(e.id())?),
            None => None,
        };
        self.trees.insert(dir.to_path_buf(), found.clone());
        Ok(found)
    }

    /// The blob at `rel`, if it is a file in this commit.
    fn blob(&mut self, repo: &'r Repository, rel: &Path) -> Result<Option<Oid>, git2::Error> {
        let Some(dir) = self.tree(repo, rel.parent().unwrap_or(Path::new("")))? else {
            return Ok(None);
        };
        let Some(name) = rel.file_name() else {
            return Ok(None);
        };
        Ok(dir
            .get_name_bytes(name.as_encoded_bytes())
            .filter(|e| e.kind() == Some(ObjectType::Blob))
            .map(|e| e.id()))
    }
}

/// An object the walk needs is not in the object store: a partial clone (`--filter`)
/// left it on the server, and libgit2 does not fetch it. The value's age is then unknown;
/// other errors stop the report.
fn not_fetched(e: &git2::Error) -> bool {
    e.code() == ErrorCode::NotFound
}

/// The old name of `rel` when `child` renamed it from `parent`, by a rename-detecting diff
/// of that commit only (git's default similarity threshold, 50%).
pub(crate) fn renamed_from(
    repo: &Repository,
    parent: &git2::Tree<'_>,
    child: &git2::Tree<'_>,
    rel: &Path,
) -> Result<Option<PathBuf>, git2::Error> {
    let mut diff = repo.diff_tree_to_tree(Some(parent), Some(child), None)?;
    diff.find_similar(Some(DiffFindOptions::new().renames(true)))?;
    Ok(diff.deltas().find_map(|d| {
        (d.status() == git2::Delta::Renamed && d.new_file().path() == Some(rel))
            .then(|| d.old_file().path().map(Path::to_path_buf))
            .flatten()
    }))
}

/// One file from the child commit `c` (its trees `cd`) to its first parent (trees
/// `dirs`): values whose ciphertext the parent's version lost changed in `c`.
fn step<'r>(
    repo: &'r Repository,
    t: &mut Tracked,
    dirs: &mut Dirs<'r>,
    cd: &mut Dirs<'r>,
    c: &Commit<'_>,
    changed_here: &Freshness,
    ids: Option<&Identities>,
) -> Result<(), git2::Error> {
    // The file's directory unchanged: so is the file (the common case when a commit
    // touches other directories).
    let dir = t.rel.parent().unwrap_or(Path::new("")).to_path_buf();
    let parent_dir = dirs.tree(repo, &dir)?.map(|d| d.id());
    if parent_dir.is_some() && parent_dir == cd.tree(repo, &dir)?.map(|d| d.id()) {
        return Ok(());
    }
    let mut id = dirs.blob(repo, &t.rel)?;
    if id.is_none() {
        if let Some(old) = renamed_from(repo, &dirs.root, &cd.root, &t.rel)? {
            id = dirs.blob(repo, &old)?;
            t.rel = old;
        }
    }
    match id {
        // Created by the child commit.
        None => t.settle(changed_here),
        Some(id) if Some(id) == t.blob => {}
        Some(id) => {
            let blob = repo.find_blob(id)?;
            let compared = ids.is_some_and(|ids| t.carry_reencrypted(blob.content(), ids));
            let lost = t.verdict(repo, blob.content(), id, changed_here, compared, c);
            t.keep_present(blob.content(), changed_here, &lost);
            t.blob = Some(id);
        }
    }
    Ok(())
}

/// Walks the first-parent history of HEAD (or of `start`) once for all `files` of `repo`.
fn walk(
    repo: &Repository,
    files: &mut [Tracked],
    start: Option<Oid>,
    ids: Option<&Identities>,
) -> Result<(), StaleError> {
    let git = |files: &[Tracked]| {
        let path = files.first().map(|t| t.given.clone()).unwrap_or_default();
        move |error| StaleError::Git { path, error }
    };
    let head = match start.map(|id| repo.find_commit(id)) {
        Some(found) => found.map_err(git(files))?,
        None => match repo.head() {
            Ok(h) => h.peel_to_commit().map_err(git(files))?,
            Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => {
                for t in files.iter_mut() {
                    t.settle(&Freshness::Unknown(UnknownReason::NoCommits));
                }
                return Ok(());
            }
            Err(e) => return Err(git(files)(e)),
        },
    };
    // HEAD: a value not in it is uncommitted; the others start their chain here.
    let head_missing = |files: &mut [Tracked]| {
        let why = Freshness::Unknown(UnknownReason::PartialClone {
            commit: head.id().to_string(),
        });
        for t in files.iter_mut() {
            t.settle(&why);
        }
    };
    let mut head_dirs = match head.tree() {
        Ok(tree) => Dirs::new(tree),
        Err(e) if not_fetched(&e) => {
            head_missing(files);
            return Ok(());
        }
        Err(e) => return Err(git(files)(e)),
    };
    for t in files.iter_mut() {
        let found = head_dirs
            .blob(repo, &t.rel)
            .and_then(|id| id.map(|id| repo.find_blob(id)).transpose());
        match found {
            Ok(None) => t.settle(&Freshness::Unknown(UnknownReason::NotCommitted)),
            Ok(Some(blob)) => {
                if let Some(ids) = ids {
                    t.carry_reencrypted(blob.content(), ids);
                }
                t.keep_present(
                    blob.content(),
                    &Freshness::Uncommitted,
                    &Freshness::Uncommitted,
                );
                t.blob = Some(blob.id());
            }
            Err(e) if not_fetched(&e) => head_missing(std::slice::from_mut(t)),
            Err(e) => return Err(git(std::slice::from_ref(t))(e)),
        }
    }
    let shallow = shallow_boundaries(repo);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut walk = repo.revwalk().map_err(git(files))?;
    walk.set_sorting(Sort::NONE).map_err(git(files))?;
    walk.simplify_first_parent().map_err(git(files))?;
    walk.push(head.id()).map_err(git(files))?;
    // The walk yields HEAD first, then each first parent: `child` is the previous commit.
    let mut child: Option<Commit<'_>> = None;
    let mut child_dirs: Option<Dirs<'_>> = None;
    for oid in walk.by_ref() {
        if !files.iter().any(Tracked::alive) {
            return Ok(());
        }
        let oid = match oid {
            Ok(oid) => oid,
            Err(e) if e.code() == ErrorCode::NotFound => break,
            Err(e) => return Err(git(files)(e)),
        };
        let commit = repo.find_commit(oid).map_err(git(files))?;
        let not_here = Freshness::Unknown(UnknownReason::PartialClone {
            commit: oid.to_string(),
        });
        let mut dirs = match commit.tree() {
            Ok(tree) => Dirs::new(tree),
            Err(e) if not_fetched(&e) => {
                for t in files.iter_mut().filter(|t| t.alive()) {
                    t.settle(&not_here);
                }
                return Ok(());
            }
            Err(e) => return Err(git(files)(e)),
        };
        if let (Some(c), Some(cd)) = (&child, &mut child_dirs) {
            // `commit` is the first parent of `c`.
            let changed_here = change_of(c, now);
            let same_tree = dirs.root.id() == cd.root.id();
            for t in files.iter_mut().filter(|t| t.alive()) {
                if same_tree {
                    continue;
                }
                match step(repo, t, &mut dirs, cd, c, &changed_here, ids) {
                    Ok(()) => {}
                    // This version of the file is not here: what it held is unknown.
                    Err(e) if not_fetched(&e) => t.settle(&not_here),
                    Err(e) => return Err(git(std::slice::from_ref(t))(e)),
                }
            }
        }
        child = Some(commit);
        child_dirs = Some(dirs);
    }
    // The walk ended at `child`: a root commit holds what is still alive, a shallow
    // boundary or a missing parent cannot tell.
    let Some(last) = child else { return Ok(()) };
    let end = if shallow.contains(&last.id()) {
        Freshness::Unknown(UnknownReason::Shallow {
            boundary: last.id().to_string(),
            time: change(&last).time,
        })
    } else if last.parent_count() > 0 {
        Freshness::Unknown(UnknownReason::MissingParent {
            commit: last.id().to_string(),
        })
    } else {
        change_of(&last, now)
    };
    for t in files.iter_mut().filter(|t| t.alive()) {
        t.settle(&end);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(f: &Freshness) -> &'static str {
        match f {
            Freshness::Unknown(r) => r.code(),
            Freshness::Uncommitted => "uncommitted",
            Freshness::Changed(_) => "changed",
        }
    }

    #[test]
    fn a_file_outside_any_repository_is_unknown_and_keys_are_spelled_as_exec_spells_them() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.yaml");
        let enc = "ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]";
        let text = format!(
            "db:\n    password: {enc}\n    user_unencrypted: app\nlist:\n    # a comment\n    - {enc}\nempty: \"\"\nsops:\n    age:\n        - recipient: age1qqq\n          enc: x\n    lastmodified: \"2024-01-01T00:00:00Z\"\n    mac: {enc}\n    unencrypted_suffix: _unencrypted\n    version: 3.9.0\n"
        );
        std::fs::write(&p, text).unwrap();
        // Outside a repository only when the temp dir is not inside one.
        if Repository::discover(dir.path()).is_ok() {
            return;
        }
        let got = last_changes(std::slice::from_ref(&p)).unwrap();
        let rows: Vec<(&str, &str)> = got[&p]
            .iter()
            .map(|(k, f)| (k.as_str(), reason(f)))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("db.password", "not_in_repository"),
                ("db.user_unencrypted", "not_in_repository"),
                ("list.0", "not_in_repository"),
                ("empty", "empty"),
            ]
        );
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plain.yaml");
        std::fs::write(&p, "a: 1\n").unwrap();
        let e = last_changes(std::slice::from_ref(&p))
            .unwrap_err()
            .to_string();
        assert!(e.contains("plain.yaml"), "{e}");
    }
}
