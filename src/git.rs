//! Git access through git2 only (no `git` subprocess, no OpenSSL): repository discovery,
//! the blobs staged in the index, the added lines of every commit in a range
//! ([`history`], with `treediff` and `added`), and hook installation. The scanner reads
//! staged blobs, not working files, so a secret that is staged and then edited out of the
//! working copy still blocks the commit.
//! [`ignored`]: why git ignores a path (file, line, pattern) and the exception that undoes it.

mod added;
pub mod history;
pub mod ignored;
mod treediff;

use git2::{Delta, DiffOptions, Index, Repository};
use std::path::{Path, PathBuf};

/// Bytes looked at to decide a file is binary (git's probe).
const BINARY_PROBE: usize = 8000;

/// A NUL byte near the start marks a binary file, as git (and ripgrep) decide it: the tree
/// scan, the staged blobs and the history's diffs all ask this one test.
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(BINARY_PROBE)].contains(&0)
}

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("not inside a git repository ({0})")]
    NoRepo(PathBuf),
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{0}: a hook is already kept there; merge it into the pre-commit hook by hand")]
    HookExists(PathBuf),
}

/// The repository containing `start`.
pub fn discover(start: &Path) -> Result<Repository, GitError> {
    Repository::discover(start).map_err(|_| GitError::NoRepo(start.to_path_buf()))
}

/// The repository git itself would use from `cwd`: the one `$GIT_DIR` names (with
/// `$GIT_WORK_TREE`, as a dotfiles repository kept with `git --git-dir` is, or as git
/// sets for a hook in a linked worktree) when set, else the one containing `cwd`.
pub fn discover_from_env(cwd: &Path) -> Result<Repository, GitError> {
    if std::env::var_os("GIT_DIR").is_some_and(|d| !d.is_empty()) {
        let repo = Repository::open_from_env().map_err(|_| GitError::NoRepo(cwd.to_path_buf()))?;
        // libgit2 leaves a bare repository without a work tree even when
        // `$GIT_WORK_TREE` names one; git uses it (the dotfiles setup).
        if repo.workdir().is_none() {
            if let Some(tree) = std::env::var_os("GIT_WORK_TREE").filter(|t| !t.is_empty()) {
                repo.set_workdir(&cwd.join(tree), false)?;
            }
        }
        return Ok(repo);
    }
    discover(cwd)
}

/// `user.name` as git resolves it for `start`: the repository's own config (including
/// worktree and `include`s) over the global and system ones; the global config alone
/// outside a repository.
pub fn user_name(start: &Path) -> Option<String> {
    let config = match Repository::discover(start) {
        Ok(repo) => repo.config(),
        Err(_) => git2::Config::open_default(),
    };
    config.and_then(|c| c.get_string("user.name")).ok()
}

/// A staged file: its path in the repository and the blob content in the index.
pub struct Staged {
    pub path: String,
    pub content: Vec<u8>,
}

/// The index a commit will be made from: `index_file` when given (git names a temporary
/// index in `GIT_INDEX_FILE` for `commit -a`, `commit <path>`, `commit -i`), else the
/// repository's own.
pub fn commit_index(repo: &Repository, index_file: Option<&Path>) -> Result<Index, GitError> {
    match index_file {
        Some(path) => Index::open(path).map_err(|e| GitError::Io {
            path: path.to_path_buf(),
            error: std::io::Error::other(e.message().to_string()),
        }),
        None => Ok(repo.index()?),
    }
}

/// The files whose blob in `index` differs from HEAD (added, modified, renamed, copied),
/// with the staged content. Deletions have nothing to scan.
pub fn staged(repo: &Repository, index: &Index) -> Result<Vec<Staged>, GitError> {
    let head_tree = match repo.head() {
        Ok(h) => Some(h.peel_to_tree()?),
        Err(_) => None, // unborn branch: everything in the index is new
    };
    let mut opts = DiffOptions::new();
    opts.include_typechange(true);
    let diff = repo.diff_tree_to_index(head_tree.as_ref(), Some(index), Some(&mut opts))?;
    let mut out = Vec::new();
    for d in diff.deltas() {
        if !matches!(
            d.status(),
            Delta::Added | Delta::Modified | Delta::Renamed | Delta::Copied | Delta::Typechange
        ) {
            continue;
        }
        let f = d.new_file();
        if f.id().is_zero()
            || f.mode() == git2::FileMode::Link
            || f.mode() == git2::FileMode::Commit
        {
            continue;
        }
        let Some(path) = f.path() else { continue };
        let blob = repo.find_blob(f.id())?;
        out.push(Staged {
            path: path.to_string_lossy().replace('\\', "/"),
            content: blob.content().to_vec(),
        });
    }
    Ok(out)
}

/// What `install_hook` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Installed {
    Fresh(PathBuf),
    Updated(PathBuf),
    /// An existing hook was moved to `pre-commit.local`, which ours runs first.
    Chained {
        hook: PathBuf,
        kept: PathBuf,
    },
}

/// A blob's bytes: from the object store, or, in a partial clone (`git clone
/// --filter=blob:none`, a common CI checkout) where it was not fetched yet, through `git
/// cat-file`, which fetches it from the promisor remote as git itself does (libgit2
/// cannot). Encrypted files are what is read this way: no plaintext crosses the pipe.
pub enum BlobBytes<'r> {
    Stored(git2::Blob<'r>),
    Fetched(Vec<u8>),
}

impl BlobBytes<'_> {
    pub fn content(&self) -> &[u8] {
        match self {
            BlobBytes::Stored(b) => b.content(),
            BlobBytes::Fetched(v) => v,
        }
    }

    pub fn size(&self) -> usize {
        self.content().len()
    }

    /// The bytes, owned (a fetched blob's without a copy).
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            BlobBytes::Stored(b) => b.content().to_vec(),
            BlobBytes::Fetched(v) => v,
        }
    }
}

/// [`BlobBytes`] of `id`; the object store's error when it is missing and cannot be
/// fetched (not a partial clone, no `git`, no network).
pub fn read_blob(repo: &Repository, id: git2::Oid) -> Result<BlobBytes<'_>, git2::Error> {
    match repo.find_blob(id) {
        Ok(b) => Ok(BlobBytes::Stored(b)),
        Err(e) if e.code() == git2::ErrorCode::NotFound && is_partial_clone(repo) => {
            fetch_blob(repo, id).map(BlobBytes::Fetched).ok_or(e)
        }
        Err(e) => Err(e),
    }
}

/// Whether the repository was cloned with a filter (a remote is a promisor of objects).
fn is_partial_clone(repo: &Repository) -> bool {
    let Ok(cfg) = repo.config() else {
        return false;
    };
    if cfg.get_string("extensions.partialclone").is_ok() {
        return true;
    }
    let Ok(mut entries) = cfg.entries(Some("remote\\..*\\.promisor")) else {
        return false;
    };
    let mut promisor = false;
    while let Some(Ok(e)) = entries.next() {
        promisor |= e.value() == Some("true");
    }
    promisor
}

fn fetch_blob(repo: &Repository, id: git2::Oid) -> Option<Vec<u8>> {
    let out = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(repo.path())
        .args(["cat-file", "blob", &id.to_string()])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status.success().then_some(out.stdout)
}

/// A literal path as a gitignore / gitattributes pattern: its wildcard characters
/// escaped (`prod[1].env` is otherwise a character class, `prod*.env` a wildcard), and
/// trailing spaces, which git strips from a pattern.
pub fn literal_pattern(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let kept = path.trim_end_matches(' ').len();
    for (i, c) in path.char_indices() {
        if matches!(c, '*' | '?' | '[' | '\\' | '!' | '#') || (c == ' ' && i >= kept) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Marks our hook so a re-install updates it instead of chaining to itself.
pub const HOOK_MARKER: &str = "secrets pre-commit hook";

/// The blob at `rel` in `tree`, if it is a file there (not a directory or submodule).
pub fn blob_at(tree: &git2::Tree<'_>, rel: &Path) -> Option<git2::Oid> {
    let entry = tree.get_path(rel).ok()?;
    (entry.kind() == Some(git2::ObjectType::Blob)).then(|| entry.id())
}

/// The hooks directory git runs hooks from: `core.hooksPath` when set (relative to the
/// worktree top, as git takes it), else `hooks` in the common dir, which a linked worktree
/// shares with the main one (git never looks in `.git/worktrees/<name>/hooks`).
pub fn hooks_dir(repo: &Repository) -> PathBuf {
    if let Ok(cfg) = repo.config() {
        if let Ok(p) = cfg.get_path("core.hooksPath") {
            return if p.is_absolute() {
                p
            } else {
                repo.workdir().unwrap_or_else(|| repo.path()).join(p)
            };
        }
    }
    repo.commondir().join("hooks")
}

/// Writes `script` as the pre-commit hook, keeping an existing foreign hook as
/// `pre-commit.local` (the script runs it first).
pub fn install_hook(repo: &Repository, script: &str) -> Result<Installed, GitError> {
    let dir = hooks_dir(repo);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| GitError::Io { path, error }
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let hook = dir.join("pre-commit");
    let kept = dir.join("pre-commit.local");
    let outcome = match std::fs::read(&hook) {
        Ok(old) if String::from_utf8_lossy(&old).contains(HOOK_MARKER) => {
            Installed::Updated(hook.clone())
        }
        Ok(_) => {
            if kept.exists() {
                return Err(GitError::HookExists(kept));
            }
            std::fs::rename(&hook, &kept).map_err(io(&hook))?;
            Installed::Chained {
                hook: hook.clone(),
                kept,
            }
        }
        Err(_) => Installed::Fresh(hook.clone()),
    };
    // Replaced in one rename, executable from the start: a commit running the hook
    // meanwhile reads the old script or the new one, never a truncated one.
    if let Err(e) = crate::fsutil::atomic_write_exact_mode(&hook, script.as_bytes(), 0o755) {
        if let Installed::Chained { kept, .. } = &outcome {
            // Put the user's hook back where it was.
            let _ = std::fs::rename(kept, &hook);
        }
        return Err(io(&hook)(e));
    }
    Ok(outcome)
}
