//! What git history says about encrypted files, read through git2 (no `git` process):
//! a file as it was at any revision ([`Snapshot`], for `--rev`), and the commits in which
//! one value was added, changed or removed ([`value_log`], for `secrets log`).
//!
//! **A past version** is the blob of the path in the revision's tree, read into memory and
//! parsed there: nothing is checked out, no temp file is written, and what it decrypts to
//! stays in the command's zeroizing buffers as for a working file. For an environment
//! (`exec --env E --rev R`), the file list comes from the config *as it was at R* and the
//! files in R's tree, since files move and globs change; the identities are the user's
//! current ones (a key removed since, or one the file was never encrypted for, cannot open
//! it, and the error says so).
//!
//! **A value's log** compares ciphertexts, as [`crate::policy::staleness`] does: the IV
//! stash keeps an unchanged value's `ENC[…]` text byte for byte, so a version whose
//! ciphertext for the key differs from the next one's is a change, and re-indenting the
//! file, moving the key or changing a neighbour is not. One first-parent walk from HEAD:
//! per commit, the file's blob id is compared with the child's (a blob is read only when it
//! differs); a read blob that still holds the child's ciphertext verbatim is the same value
//! without being parsed; otherwise it is parsed for the key. A path missing from the parent
//! is looked up in a rename-detecting diff of that commit (`git mv` is followed). Linear in
//! commits + changed blobs.
//!
//! What it does not know: a rotation (`rotate`, `member remove`) re-encrypts every value,
//! so without decrypting it is a change of each; [`ValueChange::whole_file`] marks a
//! commit where every encrypted value of the file changed at once, and `log --show` tells
//! a re-encryption from a new value. A change made on a merged branch dates from the merge
//! (first-parent walk). Nothing here decrypts or prints; errors name files and revisions,
//! never a value.

use std::path::{Path, PathBuf};

use git2::{
    Commit, ErrorCode, ObjectType, Oid, Repository, Sort, Tree, TreeWalkMode, TreeWalkResult,
};
use memchr::memmem;

use crate::config::Config;
use crate::crypto::value;
use crate::engine::{EncryptedFile, FileError};
use crate::model::{KeyPath, ListItem, Node, Scalar, Sealed};
use crate::policy::staleness::{self, Change, UnknownReason};
use crate::store::{self, Format};

/// What stops reading a file from history. Messages name the file and the revision.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("{path}: not inside a git repository")]
    NotInRepository { path: PathBuf },
    #[error("{rev}: no such revision in this repository (a commit, branch, tag or HEAD~N)")]
    BadRev { rev: String },
    #[error("{path}: not in {rev} ({commit}) as a file")]
    NotAtRev {
        path: String,
        rev: String,
        commit: String,
    },
    #[error("{path}: larger than {limit} in {rev} (the limit for encrypted files)")]
    TooLarge {
        path: String,
        rev: String,
        limit: String,
    },
    /// The version read from git is not a readable encrypted file (named by its
    /// working-tree path; the CLI says which revision).
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{path}: reading git history: {error}")]
    Git { path: PathBuf, error: git2::Error },
}

/// `path` made absolute, as its nearest existing directory (resolved as git sees it:
/// symlinks, `..`) and the names below it, which need not exist (a file since removed).
fn split(path: &Path) -> Option<(PathBuf, Vec<std::ffi::OsString>)> {
    let abs = crate::config::absolute(path);
    let mut tail = vec![abs.file_name()?.to_os_string()];
    let mut dir = abs.parent()?;
    loop {
        match std::fs::canonicalize(dir) {
            Ok(c) if c.is_dir() => {
                tail.reverse();
                return Some((c, tail));
            }
            _ => {
                tail.push(dir.file_name()?.to_os_string());
                dir = dir.parent()?;
            }
        }
    }
}

/// `path`'s place below `workdir` (canonical), `/`-separated.
fn below(workdir: &Path, path: &Path) -> Option<PathBuf> {
    let (dir, tail) = split(path)?;
    let mut rel = dir.strip_prefix(workdir).ok()?.to_path_buf();
    rel.extend(tail);
    Some(rel)
}

/// The repository holding `path` (which need not exist any more) and its canonical
/// working tree.
fn repository(path: &Path) -> Result<(Repository, PathBuf), HistoryError> {
    let none = || HistoryError::NotInRepository {
        path: path.to_path_buf(),
    };
    let start = match std::fs::canonicalize(path) {
        Ok(p) if p.is_dir() => p,
        _ => split(path).ok_or_else(none)?.0,
    };
    let repo = Repository::discover(&start).map_err(|_| none())?;
    let workdir = repo
        .workdir()
        .and_then(|w| std::fs::canonicalize(w).ok())
        .ok_or_else(none)?;
    Ok((repo, workdir))
}

/// The repository holding the file `path` and the file's path inside its working tree.
fn locate(path: &Path) -> Result<(Repository, PathBuf), HistoryError> {
    let (repo, workdir) = repository(path)?;
    let rel = below(&workdir, path).ok_or_else(|| HistoryError::NotInRepository {
        path: path.to_path_buf(),
    })?;
    Ok((repo, rel))
}

/// A revision of the repository, to read files as they were there (`--rev`).
pub struct Snapshot {
    repo: Repository,
    /// The working tree, canonical: paths given to [`Snapshot::read`] are taken below it.
    workdir: PathBuf,
    tree: Oid,
    /// The revision as the user wrote it.
    pub rev: String,
    /// The commit it names.
    pub commit: Change,
}

impl Snapshot {
    /// The revision `rev` (anything `git rev-parse` takes that names a commit) of the
    /// repository holding `start`.
    pub fn open(start: &Path, rev: &str) -> Result<Snapshot, HistoryError> {
        let (repo, workdir) = repository(start)?;
        let bad = || HistoryError::BadRev {
            rev: rev.to_string(),
        };
        let commit = repo
            .revparse_single(rev)
            .and_then(|o| o.peel_to_commit())
            .map_err(|_| bad())?;
        let tree = commit.tree_id();
        let change = staleness::change(&commit);
        drop(commit);
        Ok(Snapshot {
            repo,
            workdir,
            tree,
            rev: rev.to_string(),
            commit: change,
        })
    }

    /// `v1.2 (1a2b3c4)`: the revision and the commit it named, for messages.
    pub fn label(&self) -> String {
        let short: String = self.commit.commit.chars().take(7).collect();
        if self.rev.starts_with(&short) {
            short
        } else {
            format!("{} ({short})", self.rev)
        }
    }

    fn git(&self, path: &Path) -> impl Fn(git2::Error) -> HistoryError + '_ {
        let path = path.to_path_buf();
        move |error| HistoryError::Git {
            path: path.clone(),
            error,
        }
    }

    /// `path` (as given: relative to the current directory, or absolute) inside the
    /// working tree, `/`-separated.
    fn rel(&self, path: &Path) -> Result<PathBuf, HistoryError> {
        below(&self.workdir, path).ok_or_else(|| HistoryError::NotInRepository {
            path: path.to_path_buf(),
        })
    }

    /// The bytes of `path` at this revision (at most the encrypted-file limit).
    pub fn read(&self, path: &Path) -> Result<Vec<u8>, HistoryError> {
        let rel = self.rel(path)?;
        let shown = crate::config::rel_string(&rel);
        let tree = self.repo.find_tree(self.tree).map_err(self.git(path))?;
        let entry = tree
            .get_path(&rel)
            .ok()
            .filter(|e| e.kind() == Some(ObjectType::Blob));
        let Some(entry) = entry else {
            return Err(HistoryError::NotAtRev {
                path: shown,
                rev: self.rev.clone(),
                commit: self.commit.commit.chars().take(7).collect(),
            });
        };
        let blob = crate::git::read_blob(&self.repo, entry.id()).map_err(self.git(path))?;
        let max = store::limits::MAX_ENCRYPTED_SIZE;
        if blob.size() as u64 > max {
            return Err(HistoryError::TooLarge {
                path: shown,
                rev: self.rev.clone(),
                limit: store::limits::size_text(max),
            });
        }
        Ok(blob.content().to_vec())
    }

    /// `path` at this revision, parsed as an encrypted file (format from `format`, else
    /// the name). The file keeps its working-tree path (the config and the messages use
    /// it); the caller says which revision it was.
    pub fn load(&self, path: &Path, format: Option<Format>) -> Result<EncryptedFile, HistoryError> {
        let bytes = self.read(path)?;
        let format = format.unwrap_or_else(|| Format::from_path(path));
        Ok(EncryptedFile::parse(path, format, &bytes)?)
    }

    /// The config at this revision: the file at the path `now` has today (the config
    /// found above the current directory), or `.secrets.yaml` at the repository's top.
    pub fn config(&self, now: Option<&Path>) -> Result<Config, anyhow::Error> {
        let path = match now {
            Some(p) => p.to_path_buf(),
            None => self.workdir.join(crate::config::FILE_NAME),
        };
        let bytes = self.read(&path)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("{}: not UTF-8 at {}", path.display(), self.label()))?;
        Ok(Config::parse_named(&path, &text)?)
    }

    /// The encrypted files of environment `env` at this revision, by `config` (the
    /// config at this revision): every file of the revision's tree under the config's root
    /// that its globs put in `env` and that is an encrypted file, in the order
    /// [`crate::team::env_files`] gives (by glob, then by path). Working-tree paths.
    pub fn env_files(&self, config: &Config, env: &str) -> Result<Vec<PathBuf>, HistoryError> {
        let root =
            std::fs::canonicalize(config.root()).unwrap_or_else(|_| config.root().to_path_buf());
        let under = root
            .strip_prefix(&self.workdir)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let tree = self.repo.find_tree(self.tree).map_err(self.git(&root))?;
        let mut blobs: Vec<(PathBuf, Oid)> = Vec::new();
        tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() == Some(ObjectType::Blob) {
                if let Some(name) = entry.name() {
                    let rel = Path::new(dir).join(name);
                    // As the working-tree walk: our temp files are no files of the team.
                    if rel.starts_with(&under) && !rel.iter().any(crate::tempfiles::is_temp_name) {
                        blobs.push((rel, entry.id()));
                    }
                }
            }
            TreeWalkResult::Ok
        })
        .map_err(self.git(&root))?;
        let environment = config.environment(env);
        let mut ranked: Vec<(usize, PathBuf)> = Vec::new();
        for (rel, id) in blobs {
            let Ok(in_root) = rel.strip_prefix(&under) else {
                continue;
            };
            let in_root = in_root.to_path_buf();
            // The working-tree path, spelled as the config's root is.
            let abs = config.root().join(&in_root);
            if config.environment_for(&in_root) != Some(env) {
                continue;
            }
            let blob = crate::git::read_blob(&self.repo, id).map_err(self.git(&abs))?;
            if blob.size() as u64 > store::limits::MAX_ENCRYPTED_SIZE
                || memmem::find(blob.content(), b"sops").is_none()
            {
                continue;
            }
            match EncryptedFile::parse(&abs, Format::from_path(&abs), blob.content()) {
                Ok(_) => {}
                Err(FileError::NotEncrypted { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
            let rank = environment
                .and_then(|e| e.glob_index(&in_root))
                .unwrap_or(0);
            ranked.push((rank, abs));
        }
        ranked.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        Ok(ranked.into_iter().map(|(_, p)| p).collect())
    }
}

impl Snapshot {
    /// When each value of `files` (working-tree paths) last changed, as of this revision:
    /// [`staleness::last_changes_at`] over their texts here (`check --rev`'s max_age).
    pub fn last_changes(
        &self,
        files: &[PathBuf],
    ) -> Result<
        std::collections::BTreeMap<PathBuf, Vec<(String, staleness::Freshness)>>,
        HistoryError,
    > {
        let mut texts = Vec::with_capacity(files.len());
        for f in files {
            let rel = self.rel(f)?;
            texts.push((f.clone(), rel, self.read(f)?));
        }
        let start = Oid::from_str(&self.commit.commit).map_err(self.git(&self.workdir))?;
        staleness::last_changes_at(&self.repo, start, texts).map_err(|e| match e {
            staleness::StaleError::Load(f) => HistoryError::File(f),
            staleness::StaleError::Git { path, error } => HistoryError::Git { path, error },
        })
    }
}

/// How one commit changed a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Changed,
    Removed,
    /// The file went from unencrypted (no sops metadata) to encrypted, holding the value:
    /// it may have been in history in clear before (see `secrets audit`).
    Encrypted,
    /// The file was committed unencrypted over an encrypted version holding the value: the
    /// value is in history in clear from here.
    Decrypted,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Changed => "changed",
            ChangeKind::Removed => "removed",
            ChangeKind::Encrypted => "encrypted",
            ChangeKind::Decrypted => "decrypted",
        }
    }
}

/// One entry of a value's log.
#[derive(Clone, Debug)]
pub struct ValueChange {
    /// The commit; `None` for the working file, changed and not committed.
    pub commit: Option<Change>,
    pub kind: ChangeKind,
    /// The file's path in the repository after the change (before it, for a removal):
    /// a rename shows here.
    pub path: String,
    /// Every encrypted value of the file (two at least) got a new ciphertext in this
    /// commit: a rotation or a whole re-encryption, maybe with the same plaintext.
    pub whole_file: bool,
    /// The file's text after the change (none for a removal), when asked for (`--show`).
    pub text: Option<Vec<u8>>,
}

/// A value's history, newest first.
#[derive(Clone, Debug, Default)]
pub struct ValueLog {
    pub changes: Vec<ValueChange>,
    /// The history ends (shallow clone, missing parent) with the value present: it was
    /// added there or earlier, which history here cannot tell.
    pub end: Option<UnknownReason>,
    /// The key was found in at least one version (the working file or a commit).
    pub found: bool,
}

/// A value in one version of the file, as compared between versions (never printed).
#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// No such key, no such file, or a version that cannot be read.
    Absent,
    /// The file with no sops metadata: committed unencrypted.
    InClear,
    /// The key's ciphertext (for a subtree: every leaf's key and text).
    Present(Vec<u8>),
}

impl State {
    fn present(&self) -> bool {
        matches!(self, State::Present(_))
    }

    /// A single encrypted leaf's `ENC[…]`: an older version holding it verbatim holds
    /// the same value, without being parsed.
    fn needle(&self) -> Option<&[u8]> {
        match self {
            State::Present(fp) if fp.starts_with(b"ENC[") && !fp.contains(&0) => Some(fp),
            _ => None,
        }
    }
}

/// The state of `key` in the file `bytes` (parsed as `format`).
fn state_of(bytes: &[u8], format: Format, key: &KeyPath) -> State {
    let file = match EncryptedFile::parse(Path::new(""), format, bytes) {
        Ok(file) => file,
        Err(FileError::NotEncrypted { .. }) => return State::InClear,
        Err(_) => return State::Absent,
    };
    let Some(doc) = file.branches.first() else {
        return State::Absent;
    };
    let key = store::stored_path(format, doc, key.clone());
    match doc.lookup(&key) {
        Ok(Node::Leaf(Sealed(s))) => State::Present(scalar_bytes(s)),
        Ok(node) => {
            let mut fp = Vec::new();
            fingerprint(node, &mut fp);
            State::Present(fp)
        }
        Err(_) => State::Absent,
    }
}

fn scalar_bytes(s: &Scalar) -> Vec<u8> {
    match s {
        Scalar::Str(t) => t.as_bytes().to_vec(),
        other => {
            let mut v = other.type_name().as_bytes().to_vec();
            v.push(b':');
            v.extend_from_slice(&other.to_bytes());
            v
        }
    }
}

/// Every leaf of a subtree with its place, NUL-separated.
fn fingerprint(node: &Node<Sealed>, out: &mut Vec<u8>) {
    match node {
        Node::Leaf(Sealed(s)) => {
            out.extend_from_slice(&scalar_bytes(s));
            out.push(0);
        }
        Node::Map(b) => {
            for (k, child) in b.entries() {
                out.extend_from_slice(k.as_bytes());
                out.push(0);
                fingerprint(child, out);
            }
        }
        Node::List(items) => {
            for item in items {
                if let ListItem::Value(v) = item {
                    out.push(b'-');
                    fingerprint(v, out);
                }
            }
        }
    }
}

/// The `ENC[…]` text of every encrypted value of a file.
fn ciphertexts(file: &EncryptedFile) -> Vec<&str> {
    fn walk<'a>(n: &'a Node<Sealed>, out: &mut Vec<&'a str>) {
        match n {
            Node::Leaf(Sealed(Scalar::Str(s))) if value::is_encrypted(s) => out.push(s),
            Node::Leaf(_) => {}
            Node::Map(b) => b.entries().for_each(|(_, c)| walk(c, out)),
            Node::List(items) => items.iter().for_each(|i| {
                if let ListItem::Value(v) = i {
                    walk(v, out)
                }
            }),
        }
    }
    let mut out = Vec::new();
    for b in &file.branches {
        for (_, n) in b.entries() {
            walk(n, &mut out);
        }
    }
    out
}

/// Did every encrypted value of `new` (two or more) change from `old`?
fn whole_file(new: &[u8], old: &[u8], format: Format) -> bool {
    let Ok(file) = EncryptedFile::parse(Path::new(""), format, new) else {
        return false;
    };
    let all = ciphertexts(&file);
    all.len() >= 2
        && all
            .iter()
            .all(|c| memmem::find(old, c.as_bytes()).is_none())
}

/// The version of the file being compared with its parent commit's.
struct Version {
    rel: PathBuf,
    blob: Option<Oid>,
    bytes: Option<Vec<u8>>,
    state: State,
}

/// The commits (newest first) in which the value at `key` of the file `path` was added,
/// changed or removed, walking HEAD's first parents; first, when the working file's value
/// differs from HEAD's, an entry without a commit. `format`: the files' format (else from
/// each version's name). `keep_text`: keep each version's text, for decrypting it.
pub fn value_log(
    path: &Path,
    key: &KeyPath,
    format: Option<Format>,
    keep_text: bool,
) -> Result<ValueLog, HistoryError> {
    // Reading thousands of blobs, libgit2 spends a third of its time re-hashing each
    // object it inflates (SHA-1, collision-detecting). That check guards against a
    // corrupted object store, not against a writer (who can write consistent objects);
    // what a version decrypts to is still checked by its MAC. Off for this process.
    git2::opts::strict_hash_verification(false);
    let (repo, rel) = locate(path)?;
    let git = |error| HistoryError::Git {
        path: path.to_path_buf(),
        error,
    };
    let format_of = |rel: &Path| format.unwrap_or_else(|| Format::from_path(rel));
    let mut log = ValueLog::default();
    let text = |bytes: &Option<Vec<u8>>| if keep_text { bytes.clone() } else { None };
    let entry = |commit: Option<Change>, old: &Version, new: &Version| -> Option<ValueChange> {
        let kind = match (&old.state, &new.state) {
            (State::InClear, State::Present(_)) => ChangeKind::Encrypted,
            (State::Present(_), State::InClear) => ChangeKind::Decrypted,
            (o, n) => match (o.present(), n.present()) {
                (false, true) => ChangeKind::Added,
                (true, true) if o != n => ChangeKind::Changed,
                (true, false) => ChangeKind::Removed,
                _ => return None,
            },
        };
        let whole = kind == ChangeKind::Changed
            && match (&new.bytes, &old.bytes) {
                (Some(n), Some(o)) => whole_file(n, o, format_of(&new.rel)),
                _ => false,
            };
        let shown = if kind == ChangeKind::Removed {
            &old.rel
        } else {
            &new.rel
        };
        Some(ValueChange {
            commit,
            kind,
            path: crate::config::rel_string(shown),
            whole_file: whole,
            // No encrypted text after a removal, nor after the file went unencrypted.
            text: if matches!(kind, ChangeKind::Removed | ChangeKind::Decrypted) {
                None
            } else {
                text(&new.bytes)
            },
        })
    };

    // The working file (absent: removed, or never there).
    let working = match std::fs::symlink_metadata(path) {
        Ok(_) => {
            let bytes = EncryptedFile::read_encrypted(path)?.to_vec();
            let f = format_of(path);
            // A broken working file is the user's to fix, and says so.
            EncryptedFile::parse(path, f, &bytes)?;
            let state = state_of(&bytes, f, key);
            Version {
                rel: rel.clone(),
                blob: None,
                bytes: Some(bytes),
                state,
            }
        }
        Err(_) => Version {
            rel: rel.clone(),
            blob: None,
            bytes: None,
            state: State::Absent,
        },
    };
    log.found |= working.state.present();

    let head = match repo.head() {
        Ok(h) => h.peel_to_commit().map_err(git)?,
        Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => {
            let empty = Version {
                rel: rel.clone(),
                blob: None,
                bytes: None,
                state: State::Absent,
            };
            log.changes.extend(entry(None, &empty, &working));
            return Ok(log);
        }
        Err(e) => return Err(git(e)),
    };
    let read = |id: Option<Oid>| -> Result<Option<Vec<u8>>, HistoryError> {
        match id {
            None => Ok(None),
            Some(id) => Ok(Some(
                crate::git::read_blob(&repo, id).map_err(git)?.into_vec(),
            )),
        }
    };
    let head_tree = head.tree().map_err(git)?;
    let blob = crate::git::blob_at(&head_tree, &rel);
    let bytes = read(blob)?;
    let state = match &bytes {
        Some(b) => state_of(b, format_of(&rel), key),
        None => State::Absent,
    };
    let mut child = Version {
        rel: rel.clone(),
        blob,
        bytes,
        state,
    };
    log.found |= child.state.present();
    log.changes.extend(entry(None, &child, &working));

    let shallow = staleness::shallow_boundaries(&repo);
    let mut walk = repo.revwalk().map_err(git)?;
    walk.set_sorting(Sort::NONE).map_err(git)?;
    walk.simplify_first_parent().map_err(git)?;
    walk.push(head.id()).map_err(git)?;
    // The walk yields HEAD first, then each first parent; `prev` is the child commit.
    let mut prev: Option<(Commit<'_>, Tree<'_>)> = None;
    let mut missing_parent = false;
    for oid in walk.by_ref() {
        let oid = match oid {
            Ok(oid) => oid,
            Err(e) if e.code() == ErrorCode::NotFound => {
                missing_parent = true;
                break;
            }
            Err(e) => return Err(git(e)),
        };
        let commit = repo.find_commit(oid).map_err(git)?;
        let tree = commit.tree().map_err(git)?;
        if let Some((c, ct)) = &prev {
            if tree.id() != ct.id() {
                let mut rel_here = child.rel.clone();
                let mut id = crate::git::blob_at(&tree, &rel_here);
                if id.is_none() && child.blob.is_some() {
                    if let Some(old) =
                        staleness::renamed_from(&repo, &tree, ct, &child.rel).map_err(git)?
                    {
                        id = crate::git::blob_at(&tree, &old);
                        rel_here = old;
                    }
                }
                if id != child.blob {
                    let bytes = read(id)?;
                    let state = match (&bytes, child.state.needle()) {
                        (None, _) => State::Absent,
                        (Some(b), Some(needle)) if memmem::find(b, needle).is_some() => {
                            child.state.clone()
                        }
                        (Some(b), _) => state_of(b, format_of(&rel_here), key),
                    };
                    let parent = Version {
                        rel: rel_here,
                        blob: id,
                        bytes,
                        state,
                    };
                    log.found |= parent.state.present();
                    log.changes
                        .extend(entry(Some(staleness::change(c)), &parent, &child));
                    child = parent;
                } else {
                    child.rel = rel_here;
                }
            }
        }
        prev = Some((commit, tree));
    }
    // The walk ended at `prev`: a root commit added what it holds; a shallow boundary or
    // a missing parent cannot tell.
    if let Some((last, _)) = prev {
        if child.state.present() {
            if shallow.contains(&last.id()) {
                log.end = Some(UnknownReason::Shallow {
                    boundary: last.id().to_string(),
                    time: staleness::change(&last).time,
                });
            } else if missing_parent || last.parent_count() > 0 {
                log.end = Some(UnknownReason::MissingParent {
                    commit: last.id().to_string(),
                });
            } else {
                let none = Version {
                    rel: child.rel.clone(),
                    blob: None,
                    bytes: None,
                    state: State::Absent,
                };
                log.changes
                    .extend(entry(Some(staleness::change(&last)), &none, &child));
            }
        }
    }
    Ok(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_outside_any_repository_is_named() {
        let dir = tempfile::tempdir().unwrap();
        if Repository::discover(dir.path()).is_ok() {
            return;
        }
        let p = dir.path().join("gone/s.yaml");
        let e = Snapshot::open(&p, "HEAD").err().unwrap().to_string();
        assert!(
            e.contains("s.yaml") && e.contains("not inside a git repository"),
            "{e}"
        );
    }

    #[test]
    fn the_state_of_a_key_is_its_ciphertext_and_a_subtree_all_of_its_leaves() {
        let enc = "ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]";
        let text = format!(
            "db:\n    password: {enc}\n    user_unencrypted: app\nsops:\n    age:\n        - recipient: age1qqq\n          enc: x\n    lastmodified: \"2024-01-01T00:00:00Z\"\n    mac: {enc}\n    unencrypted_suffix: _unencrypted\n    version: 3.9.0\n"
        );
        let kp = |s: &str| KeyPath::parse(s).unwrap();
        let pw = state_of(text.as_bytes(), Format::Yaml, &kp("db.password"));
        assert_eq!(pw, State::Present(enc.as_bytes().to_vec()));
        assert!(pw.needle().is_some());
        let db = state_of(text.as_bytes(), Format::Yaml, &kp("db"));
        assert!(db.present() && db.needle().is_none());
        assert_eq!(
            state_of(text.as_bytes(), Format::Yaml, &kp("db.nope")),
            State::Absent
        );
        // A file with no sops metadata is in clear; one that does not parse, absent.
        assert_eq!(state_of(b"a: 1\n", Format::Yaml, &kp("a")), State::InClear);
        assert_eq!(state_of(b"a: [\n", Format::Yaml, &kp("a")), State::Absent);
    }
}
