//! What follows a verified import, on the source's side: a private backup copy (0600, in a
//! 0700 directory outside the repository or ignored by git, never in a place `git add .`
//! would pick up), the source's line in `.gitignore`, whether it was committed (then its
//! values are in history and must be rotated; the `git rm --cached` to run is printed),
//! whether the leak-scanning hook is installed (a hint, never a silent install), and the
//! source's removal. Each step is one function the CLI calls in order after the
//! destination is written and verified.

use std::path::{Path, PathBuf};

use git2::Repository;

use crate::fsutil;

/// A failure of one step, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum AftercareError {
    #[error("backup {path}: {error}")]
    Backup {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("backup directory {path} is inside the repository and git does not ignore it: a plaintext copy there could be committed")]
    BackupInRepo { path: PathBuf },
    #[error("{path}: {error}")]
    Gitignore {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("remove {path}: {error}")]
    Remove {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// The repository holding `path` and `path` relative to its working directory.
fn repo_of(path: &Path) -> Option<(Repository, PathBuf)> {
    let abs = crate::config::absolute(path);
    let dir = abs.parent()?;
    let repo = Repository::discover(dir).ok()?;
    let work = repo.workdir()?.canonicalize().ok()?;
    let dir = dir.canonicalize().ok()?;
    let rel = dir.strip_prefix(&work).ok()?.join(abs.file_name()?);
    Some((repo, rel))
}

fn slashed(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Copies `bytes` (the source as read) to a new private file in `dir`, named after the
/// source, the time and our pid. `dir` is created 0700; inside a repository it must be
/// ignored by git.
pub fn backup(
    source: &Path,
    bytes: &[u8],
    dir: &Path,
    stamp: &str,
) -> Result<PathBuf, AftercareError> {
    let err = |error| AftercareError::Backup {
        path: dir.to_path_buf(),
        error,
    };
    fsutil::create_private_dirs(dir).map_err(err)?;
    let probe = dir.join(".probe");
    if let Some((repo, rel)) = repo_of(&probe) {
        let rel = rel.parent().map(Path::to_path_buf).unwrap_or_default();
        if !rel.as_os_str().is_empty() && !repo.is_path_ignored(&rel).unwrap_or(false) {
            return Err(AftercareError::BackupInRepo {
                path: dir.to_path_buf(),
            });
        }
    }
    let name = source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "source".into());
    let path = dir.join(format!("{name}.{stamp}-{}.bak", std::process::id()));
    fsutil::create_new_private(&path, bytes).map_err(|error| AftercareError::Backup {
        path: path.clone(),
        error,
    })?;
    Ok(path)
}

/// The line added to a `.gitignore` for the source.
#[derive(Debug, PartialEq, Eq)]
pub struct IgnoreLine {
    pub file: PathBuf,
    pub line: String,
    /// Git still does not ignore the source after the line was added (a deeper
    /// `.gitignore` or `.git/info/exclude` negates it: `!.env.staging`); checked again
    /// with a freshly opened repository.
    pub still_seen: bool,
}

/// Adds `/REL` for `source` to the repository's root `.gitignore` unless git already
/// ignores it; `None` when there was nothing to do (ignored already, or no repository).
pub fn ignore_source(source: &Path) -> Result<Option<IgnoreLine>, AftercareError> {
    let Some((repo, rel)) = repo_of(source) else {
        return Ok(None);
    };
    let Some(work) = repo.workdir() else {
        return Ok(None);
    };
    if git_ignores(work, &rel)
        .or_else(|| repo.is_path_ignored(&rel).ok())
        .unwrap_or(false)
    {
        return Ok(None);
    }
    let file = work.join(".gitignore");
    let err = |error| AftercareError::Gitignore {
        path: file.clone(),
        error,
    };
    let mut text = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(err(e)),
    };
    let line = format!("/{}", crate::git::literal_pattern(&slashed(&rel)));
    if !text.is_empty() && !text.ends_with(b"\n") {
        text.push(b'\n');
    }
    text.extend_from_slice(line.as_bytes());
    text.push(b'\n');
    fsutil::atomic_write(&file, &text).map_err(err)?;
    let still_seen = !git_ignores(work, &rel)
        .or_else(|| repo_of(source).and_then(|(r, rel)| r.is_path_ignored(&rel).ok()))
        .unwrap_or(false);
    Ok(Some(IgnoreLine {
        file,
        line,
        still_seen,
    }))
}

/// Whether git ignores `rel` in the working tree `work`, as `git check-ignore` says
/// (libgit2 lets the root `.gitignore`'s new line win over a deeper `!name`; git does
/// not); `None` when git cannot be run.
fn git_ignores(work: &Path, rel: &Path) -> Option<bool> {
    let status = std::process::Command::new("git")
        .arg("-C")
        .arg(work)
        .args(["check-ignore", "-q", "--no-index", "--"])
        .arg(rel)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    match status.code() {
        Some(0) => Some(true),
        Some(1) => Some(false),
        _ => None,
    }
}

/// The source's path in the repository when it is in the index or in `HEAD`: its values
/// are (or will be) in git history.
pub fn committed(source: &Path) -> Option<String> {
    let (repo, rel) = repo_of(source)?;
    let in_index = repo
        .index()
        .ok()
        .is_some_and(|i| i.get_path(&rel, 0).is_some());
    let in_head = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_tree().ok())
        .is_some_and(|t| t.get_path(&rel).is_ok());
    (in_index || in_head).then(|| slashed(&rel))
}

/// Whether our pre-commit hook guards the repository holding `path` (written by `secrets
/// hook install`, or `secrets-scan` in a pre-commit framework config); `None` outside one.
pub fn hook_installed(path: &Path) -> Option<bool> {
    let (repo, _) = repo_of(path)?;
    let hook = crate::git::hooks_dir(&repo).join("pre-commit");
    let ours = std::fs::read(hook)
        .is_ok_and(|b| String::from_utf8_lossy(&b).contains(crate::git::HOOK_MARKER));
    let framework = repo.workdir().is_some_and(|w| {
        std::fs::read(w.join(".pre-commit-config.yaml"))
            .is_ok_and(|b| String::from_utf8_lossy(&b).contains("secrets-scan"))
    });
    Some(ours || framework)
}

/// The file a source that is a symbolic link points to (its plaintext), if it is one.
pub fn link_target(source: &Path) -> Option<PathBuf> {
    source
        .is_symlink()
        .then(|| std::fs::canonicalize(source).ok())
        .flatten()
}

/// Removes the source (after the destination was verified).
pub fn remove_source(source: &Path) -> Result<(), AftercareError> {
    std::fs::remove_file(source).map_err(|error| AftercareError::Remove {
        path: source.to_path_buf(),
        error,
    })
}
