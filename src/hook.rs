//! The pre-commit hook script that `secrets hook install` writes, and which `secrets` it
//! will run.
//!
//! The hook runs `secrets` from the PATH git gives it, so a rebuild, a moved checkout or a
//! teammate's clone keeps working; the binary that installed it is written in as a
//! fallback for when no `secrets` is on that PATH (GUI git clients often run hooks with a
//! minimal PATH). With neither, the hook blocks the commit and says how to get past once
//! (`git commit --no-verify`): a leak scanner that cannot run must not pass silently.

use std::path::{Path, PathBuf};

use crate::git::{self, GitError, Installed};

/// The hook script shipped in the repository (`hooks/pre-commit`), with no fallback.
pub const PRE_COMMIT: &str = include_str!("../hooks/pre-commit");

/// The line of [`PRE_COMMIT`] that `install` fills in.
const FALLBACK_LINE: &str = "SECRETS_FALLBACK=''";

/// The script with `fallback` as the binary to run when `secrets` is not on PATH. A path
/// that cannot be written inside single quotes on one line (a quote, a newline, not
/// UTF-8) is left out: the hook then needs `secrets` on PATH.
pub fn script(fallback: Option<&Path>) -> String {
    let Some(exe) = fallback.and_then(Path::to_str) else {
        return PRE_COMMIT.to_string();
    };
    if exe.contains(['\'', '\n', '\r']) {
        return PRE_COMMIT.to_string();
    }
    PRE_COMMIT.replace(FALLBACK_LINE, &format!("SECRETS_FALLBACK='{exe}'"))
}

/// The first executable `secrets` on `path` (a `$PATH` value): what the hook will run
/// when git gives it the same PATH.
pub fn on_path(path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path?)
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.join("secrets"))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && executable(&m)))
}

#[cfg(unix)]
fn executable(m: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    m.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn executable(_: &std::fs::Metadata) -> bool {
    true
}

/// What `install` did, and which binary the hook runs from this shell.
#[derive(Debug)]
pub struct Report {
    pub installed: Installed,
    /// `secrets` on the installing process's PATH, which the hook prefers.
    pub on_path: Option<PathBuf>,
    /// The fallback written into the hook (`None`: the path cannot be written in).
    pub fallback: Option<PathBuf>,
}

/// Writes the hook into `repo` (atomically; an existing foreign hook is kept and chained,
/// see [`git::install_hook`]) with `exe` as its fallback.
pub fn install(
    repo: &git2::Repository,
    exe: Option<&Path>,
    path: Option<&std::ffi::OsStr>,
) -> Result<Report, GitError> {
    let text = script(exe);
    let fallback = if text == PRE_COMMIT {
        None
    } else {
        exe.map(Path::to_path_buf)
    };
    let installed = git::install_hook(repo, &text)?;
    Ok(Report {
        installed,
        on_path: on_path(path),
        fallback,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_is_written_in_only_when_it_quotes_safely() {
        let s = script(Some(Path::new("/opt/secrets/bin/secrets")));
        assert!(s.contains("SECRETS_FALLBACK='/opt/secrets/bin/secrets'\n"));
        assert_eq!(s.matches("SECRETS_FALLBACK='").count(), 1);
        for bad in ["/o'neil/secrets", "/a\nb/secrets"] {
            assert_eq!(script(Some(Path::new(bad))), PRE_COMMIT);
        }
        assert_eq!(script(None), PRE_COMMIT);
        assert!(PRE_COMMIT.contains(git::HOOK_MARKER));
    }
}
