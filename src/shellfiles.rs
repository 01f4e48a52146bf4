//! Man pages and shell completion scripts, rendered from the command-line definition (so
//! they cannot disagree with `--help`), and the places in a user's home where `man` and
//! the shells find them without root.
//!
//! The caller hands in the `clap::Command` (nothing here imports the CLI) and the
//! environment's directories ([`Dirs`]); every file is written atomically, so a shell
//! starting meanwhile reads the old completion script or the new one, never half of one.

use std::path::{Path, PathBuf};

pub use clap_complete::Shell;

#[derive(Debug, thiserror::Error)]
pub enum ShellFilesError {
    #[error("no home directory: $HOME is not set")]
    NoHome,
    #[error("{0}: there is no standard directory for its completions")]
    NoPlace(Shell),
    #[error("no command `{0}`")]
    NoCommand(String),
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },
}

/// The user's directories, from `$HOME` and the XDG variables (a relative XDG value is
/// ignored, as the XDG spec says).
#[derive(Debug, Clone)]
pub struct Dirs {
    /// `$XDG_DATA_HOME`, else `~/.local/share`.
    pub data: PathBuf,
    /// `$XDG_CONFIG_HOME`, else `~/.config`.
    pub config: PathBuf,
    /// `$BASH_COMPLETION_USER_DIR`, which bash-completion reads before the data dir.
    pub bash_user: Option<PathBuf>,
}

impl Dirs {
    pub fn new(
        home: Option<PathBuf>,
        xdg_data: Option<PathBuf>,
        xdg_config: Option<PathBuf>,
        bash_completion_user_dir: Option<PathBuf>,
    ) -> Result<Dirs, ShellFilesError> {
        let absolute = |p: Option<PathBuf>| p.filter(|p| p.is_absolute());
        let home = absolute(home);
        let or_home = |xdg: Option<PathBuf>, rel: &str| {
            absolute(xdg)
                .or_else(|| home.as_ref().map(|h| h.join(rel)))
                .ok_or(ShellFilesError::NoHome)
        };
        Ok(Dirs {
            data: or_home(xdg_data, ".local/share")?,
            config: or_home(xdg_config, ".config")?,
            bash_user: absolute(bash_completion_user_dir),
        })
    }

    /// The manual directory: `$XDG_DATA_HOME/man`, usually `~/.local/share/man`.
    pub fn man_root(&self) -> PathBuf {
        self.data.join("man")
    }

    /// Where section-1 pages go.
    pub fn man1(&self) -> PathBuf {
        self.man_root().join("man1")
    }

    /// Where `shell` loads the completion script of `secrets` from.
    ///
    /// - bash: bash-completion 2.x loads `…/bash-completion/completions/secrets` on first
    ///   Tab (`$BASH_COMPLETION_USER_DIR/completions` first when set);
    /// - zsh: `…/zsh/site-functions/_secrets`, a directory the user adds to `fpath`
    ///   (zsh has no per-user default);
    /// - fish: `$XDG_CONFIG_HOME/fish/completions/secrets.fish`, loaded on demand.
    pub fn completion(&self, shell: Shell) -> Result<PathBuf, ShellFilesError> {
        Ok(match shell {
            Shell::Bash => match &self.bash_user {
                Some(d) => d.join("completions/secrets"),
                None => self.data.join("bash-completion/completions/secrets"),
            },
            Shell::Zsh => self.data.join("zsh/site-functions/_secrets"),
            Shell::Fish => self.config.join("fish/completions/secrets.fish"),
            other => return Err(ShellFilesError::NoPlace(other)),
        })
    }
}

/// Whether `man` (man-db) will look in `man_root` ([`Dirs::man_root`]): it is in
/// `$MANPATH`, or `$MANPATH` is unset or has an empty element (meaning the defaults) and a
/// directory `X/bin` on `$PATH` maps to `X/share/man` or `X/man` (man-db's rule: with
/// `~/.local/bin` on PATH, `~/.local/share/man` is read).
pub fn man_reachable(
    man_root: &Path,
    path: Option<&std::ffi::OsStr>,
    manpath: Option<&std::ffi::OsStr>,
) -> bool {
    let mut defaults = true;
    if let Some(mp) = manpath.filter(|m| !m.is_empty()) {
        let parts: Vec<PathBuf> = std::env::split_paths(mp).collect();
        if parts.iter().any(|p| p == man_root) {
            return true;
        }
        defaults = parts.iter().any(|p| p.as_os_str().is_empty());
    }
    defaults
        && path.is_some_and(|p| {
            std::env::split_paths(p).any(|d| {
                d.parent()
                    .is_some_and(|x| x.join("share/man") == man_root || x.join("man") == man_root)
            })
        })
}

/// The completion script for `shell`.
pub fn completion(shell: Shell, cmd: &clap::Command) -> Vec<u8> {
    let mut cmd = cmd.clone();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "secrets", &mut out);
    out
}

/// Every man page: `secrets.1`, and one per command and subcommand (`secrets-scan.1`,
/// `secrets-member-add.1`, …), which `secrets.1` names in its SUBCOMMANDS section.
pub fn man_pages(cmd: &clap::Command) -> Vec<(String, Vec<u8>)> {
    fn walk(cmd: &clap::Command, source: &str, out: &mut Vec<(String, Vec<u8>)>) {
        let man = clap_mangen::Man::new(cmd.clone())
            .source(source)
            .manual("secrets manual");
        let mut page = Vec::new();
        man.render(&mut page).expect("writing to a Vec cannot fail");
        out.push((man.get_filename(), page));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, source, out);
        }
    }
    let mut cmd = cmd.clone().disable_help_subcommand(true);
    cmd.build();
    // Every page names the program and its version (clap_mangen would give `add 0.1.0`).
    let source = format!("secrets {}", cmd.get_version().unwrap_or_default());
    let mut out = Vec::new();
    walk(&cmd, &source, &mut out);
    out
}

/// The man page of the command `path` names (`[]`: `secrets` itself; `["member", "add"]`).
pub fn man_page(cmd: &clap::Command, path: &[String]) -> Result<Vec<u8>, ShellFilesError> {
    let name = std::iter::once("secrets")
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("-");
    man_pages(cmd)
        .into_iter()
        .find(|(file, _)| file.strip_suffix(".1") == Some(name.as_str()))
        .map(|(_, page)| page)
        .ok_or_else(|| ShellFilesError::NoCommand(path.join(" ")))
}

/// Writes every man page into `dir` (created if missing); the number written.
pub fn write_man_pages(cmd: &clap::Command, dir: &Path) -> Result<usize, ShellFilesError> {
    let pages = man_pages(cmd);
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    for (name, page) in &pages {
        let path = dir.join(name);
        crate::fsutil::atomic_write(&path, page).map_err(io(&path))?;
    }
    Ok(pages.len())
}

/// What [`install`] wrote.
#[derive(Debug)]
pub struct Installed {
    pub completion: PathBuf,
    pub man_dir: PathBuf,
    pub pages: usize,
}

/// Writes the completion script for `shell` and every man page into the user's
/// directories ([`Dirs`]), replacing earlier versions.
pub fn install(
    cmd: &clap::Command,
    shell: Shell,
    dirs: &Dirs,
) -> Result<Installed, ShellFilesError> {
    let target = dirs.completion(shell)?;
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    crate::fsutil::atomic_write(&target, &completion(shell, cmd)).map_err(io(&target))?;
    let man_dir = dirs.man1();
    let pages = write_man_pages(cmd, &man_dir)?;
    Ok(Installed {
        completion: target,
        man_dir,
        pages,
    })
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ShellFilesError {
    let path = path.to_path_buf();
    move |error| ShellFilesError::Io { path, error }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn dirs_follow_xdg_and_ignore_relative_values() {
        let d = Dirs::new(
            Some("/h".into()),
            Some("rel".into()),
            Some("/cfg".into()),
            None,
        )
        .unwrap();
        assert_eq!(d.man1(), Path::new("/h/.local/share/man/man1"));
        assert_eq!(
            d.completion(Shell::Bash).unwrap(),
            Path::new("/h/.local/share/bash-completion/completions/secrets")
        );
        assert_eq!(
            d.completion(Shell::Fish).unwrap(),
            Path::new("/cfg/fish/completions/secrets.fish")
        );
        assert!(matches!(
            d.completion(Shell::Elvish),
            Err(ShellFilesError::NoPlace(_))
        ));
        assert!(matches!(
            Dirs::new(None, None, None, None),
            Err(ShellFilesError::NoHome)
        ));
    }

    #[test]
    fn man_reachable_follows_man_db() {
        let root = Path::new("/h/.local/share/man");
        let path = OsStr::new("/usr/bin:/h/.local/bin");
        assert!(man_reachable(root, Some(path), None));
        assert!(!man_reachable(root, Some(OsStr::new("/usr/bin")), None));
        // An explicit MANPATH without an empty element replaces the PATH mapping.
        assert!(!man_reachable(
            root,
            Some(path),
            Some(OsStr::new("/usr/share/man"))
        ));
        assert!(man_reachable(
            root,
            Some(path),
            Some(OsStr::new("/usr/share/man:"))
        ));
        assert!(man_reachable(
            root,
            None,
            Some(OsStr::new("/h/.local/share/man:"))
        ));
    }
}
