//! `secrets git setup`: what git needs to diff and merge encrypted files through us.
//!
//! - `.gitattributes` (next to the config; committed, so every clone has it): one line
//!   `<pattern> diff=secrets merge=secrets` per file pattern of the config. A glob of
//!   `.secrets.yaml` becomes an anchored pattern (`/config/prod/*.yaml`; a directory glob
//!   also `/<dir>/**`; braces expanded, which gitattributes lacks). A `.sops.yaml`
//!   `path_regex` has no gitattributes form: the files it matches today are listed, and
//!   `--check` names any file added later that no line covers. Harmless without the
//!   tool: git falls back to its plain diff and merge for a driver it does not know.
//! - git config (`.git/config`, or `~/.gitconfig` with `--global`), written with git2
//!   (git's own lock-file protocol, no `git` process to find): `diff.secrets.textconv`,
//!   `merge.secrets.name`, `merge.secrets.driver`, `merge.secrets.recursive = binary` (the
//!   inner merge of a criss-cross's bases). `diff.secrets.cachetextconv` is never
//!   set, and removed where setup writes: git would store the decrypted text in
//!   `refs/notes/textconv/secrets`, in `.git`, and push it with notes.
//!
//! The commands name the binary by absolute path: git runs drivers through `sh` with the
//! PATH of whatever started it (a GUI client's may lack `~/.cargo/bin`), and a driver
//! that is not found turns every merge of an encrypted file into a conflict. The path is
//! the `secrets` found on PATH when that is this very binary (a symlink such as
//! `/usr/local/bin/secrets` survives upgrades), else this binary's own path (a build in
//! `target/`, as the tests use). Rerun setup after moving the binary; `--check` says
//! when the configured one is gone.

use std::path::{Path, PathBuf};

use git2::{AttrCheckFlags, ConfigLevel, Repository};

use crate::config::{Config, ConfigError};

/// The attribute value and config section name.
pub const NAME: &str = "secrets";

/// The comment above the lines setup adds to `.gitattributes`.
pub const MARKER: &str =
    "# encrypted files: readable diffs and key-by-key merges (secrets git setup)";

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("git config: {0}")]
    Git(#[from] git2::Error),
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{0}: the config is not inside a git repository")]
    NoRepo(PathBuf),
}

/// The `.gitattributes` lines for a config.
pub struct Lines {
    pub lines: Vec<String>,
}

/// The attribute lines the config's environments call for, and those of encrypted files
/// no environment's glob names.
pub fn attribute_lines(config: &Config) -> Result<Lines, ConfigError> {
    attribute_lines_for(config, &crate::team::encrypted_files(config)?)
}

/// [`attribute_lines`] with the encrypted files already found (absolute paths): `status`
/// and `--check` have walked the tree once for them.
fn attribute_lines_for(config: &Config, files: &[PathBuf]) -> Result<Lines, ConfigError> {
    // (a set: a path_regex environment lists every file it matches)
    let mut patterns = indexmap::IndexSet::new();
    for env in config.environments() {
        for glob in &env.globs {
            for g in expand_braces(&crate::config::glob::normalize(glob)) {
                patterns.insert(format!("/{g}"));
                if names_a_directory(config.root(), &g) {
                    patterns.insert(format!("/{g}/**"));
                }
            }
        }
    }
    // Each encrypted file no glob names, by its own path: those of a path_regex
    // environment, and those in no environment (`encrypt --age` outside them), which
    // `--check` asks to be marked too.
    for file in files {
        let Some(rel) = config.relative(file) else {
            continue;
        };
        if config
            .classify(&rel)?
            .is_some_and(|e| e.path_regex.is_none())
        {
            continue;
        }
        let rel = crate::config::rel_string(&rel);
        patterns.insert(format!("/{}", crate::git::literal_pattern(&rel)));
    }
    Ok(Lines {
        lines: patterns
            .into_iter()
            .map(|p| format!("{} diff={NAME} merge={NAME}", quoted(&p)))
            .collect(),
    })
}

/// A pattern as a gitattributes line can hold it: white space, which would end the
/// pattern, as `[[:space:]]`. (git also reads a C-quoted `"/my secrets/**"`, but libgit2,
/// which `--check` and `status` ask, does not.)
///
/// Read in escape pairs: a space [`crate::git::literal_pattern`] escaped (`\ `, a trailing
/// one) becomes the class too, not `\[`, which would make the class's `[` literal.
fn quoted(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) if n.is_whitespace() => out.push_str("[[:space:]]"),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            },
            c if c.is_whitespace() => out.push_str("[[:space:]]"),
            c => out.push(c),
        }
    }
    out
}

/// A glob whose last part has no wildcard and no dot (`secrets`), or that is a directory
/// now: the config takes it to cover everything below it, so the attributes do too.
fn names_a_directory(root: &Path, glob: &str) -> bool {
    let last = glob.rsplit('/').next().unwrap_or(glob);
    if last == "**" {
        return false;
    }
    let wild = last.contains(['*', '?', '[']);
    root.join(glob).is_dir() || (!wild && !last.contains('.'))
}

/// gitattributes has no `{a,b}`: each alternative becomes its own pattern.
fn expand_braces(glob: &str) -> Vec<String> {
    let (Some(open), Some(close)) = (glob.find('{'), glob.find('}')) else {
        return vec![glob.to_string()];
    };
    if close < open {
        return vec![glob.to_string()];
    }
    let (head, alts, tail) = (&glob[..open], &glob[open + 1..close], &glob[close + 1..]);
    alts.split(',')
        .flat_map(|a| expand_braces(&format!("{head}{a}{tail}")))
        .collect()
}

/// Adds the missing `lines` to the `.gitattributes` at `path` under [`MARKER`], keeping
/// every other line; returns the lines added.
pub fn write_attributes(path: &Path, lines: &[String]) -> Result<Vec<String>, SetupError> {
    let io = |error| SetupError::Io {
        path: path.to_path_buf(),
        error,
    };
    let old = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(e)),
    };
    let have: Vec<&str> = old.lines().map(str::trim).collect();
    let missing: Vec<String> = lines
        .iter()
        .filter(|l| !have.contains(&l.as_str()))
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(missing);
    }
    let mut text = old.clone();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    if !have.contains(&MARKER) {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(MARKER);
        text.push('\n');
    }
    for l in &missing {
        text.push_str(l);
        text.push('\n');
    }
    crate::fsutil::atomic_write(path, text.as_bytes()).map_err(io)?;
    Ok(missing)
}

/// The program git should run: see the module doc.
pub fn program(exe: &Path, path_var: Option<&std::ffi::OsStr>) -> PathBuf {
    if let Some(found) = crate::hook::on_path(path_var) {
        let same = match (found.canonicalize(), exe.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same {
            return found;
        }
    }
    exe.to_path_buf()
}

/// A path as one word for `sh`: bare when it is plain, else single-quoted.
fn sh_word(p: &Path) -> String {
    let s = p.to_string_lossy();
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%".contains(c))
    {
        return s.into_owned();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The git config entries setup writes, for `program`.
pub fn entries(program: &Path) -> Vec<(&'static str, String)> {
    let p = sh_word(program);
    vec![
        ("diff.secrets.textconv", format!("{p} git textconv")),
        (
            "merge.secrets.name",
            "secrets: key-by-key merge of encrypted files".to_string(),
        ),
        (
            "merge.secrets.driver",
            format!("{p} git merge-driver %O %A %B %P"),
        ),
        // In a criss-cross merge git first merges the merge bases into a virtual one; a
        // conflict there must not be settled by keeping one side's value (the outer merge
        // would then take it silently), so that inner merge is git's binary one.
        ("merge.secrets.recursive", "binary".to_string()),
    ]
}

/// Which config setup writes.
pub enum Scope<'a> {
    Repo(&'a Repository),
    /// The user's (`~/.gitconfig`), under `home`.
    Global {
        home: &'a Path,
    },
}

/// Writes the entries; returns the names that changed, and whether a textconv cache
/// setting was removed.
pub fn configure(
    scope: Scope<'_>,
    entries: &[(&'static str, String)],
) -> Result<(Vec<&'static str>, bool), SetupError> {
    let mut cfg = match scope {
        Scope::Repo(repo) => repo.config()?.open_level(ConfigLevel::Local)?,
        Scope::Global { home } => {
            let path = git2::Config::find_global().unwrap_or_else(|_| home.join(".gitconfig"));
            git2::Config::open(&path)?
        }
    };
    let mut changed = Vec::new();
    for (name, value) in entries {
        if cfg.get_string(name).ok().as_deref() != Some(value.as_str()) {
            cfg.set_str(name, value)?;
            changed.push(*name);
        }
    }
    let cache = cfg.get_entry("diff.secrets.cachetextconv").is_ok();
    if cache {
        cfg.remove("diff.secrets.cachetextconv")?;
    }
    Ok((changed, cache))
}

/// What `--check` (and `status`) finds missing.
pub fn check(repo: &Repository, config: &Config) -> Result<Vec<String>, SetupError> {
    let files = crate::team::encrypted_files(config)?;
    check_files(repo, config, &files)
}

/// [`check`] over encrypted files already found (absolute paths).
pub fn check_files(
    repo: &Repository,
    config: &Config,
    files: &[PathBuf],
) -> Result<Vec<String>, SetupError> {
    let mut missing = Vec::new();
    let cfg = {
        let mut c = repo.config()?;
        c.snapshot()?
    };
    if cfg.get_string("merge.secrets.recursive").is_err() {
        missing.push("git config merge.secrets.recursive is not set".into());
    }
    for name in ["diff.secrets.textconv", "merge.secrets.driver"] {
        match cfg.get_string(name) {
            Err(_) => missing.push(format!("git config {name} is not set")),
            Ok(cmd) => {
                if let Some(prog) = first_word(&cmd).filter(|p| p.is_absolute() && !p.exists()) {
                    missing.push(format!(
                        "git config {name} runs {}, which does not exist",
                        prog.display()
                    ));
                }
            }
        }
    }
    if cfg.get_bool("diff.secrets.cachetextconv").unwrap_or(false) {
        missing.push(
            "git config diff.secrets.cachetextconv is on: git would store decrypted text in .git (refs/notes/textconv/secrets); unset it".into(),
        );
    }
    let attrs = config.root().join(".gitattributes");
    let have = std::fs::read_to_string(&attrs).unwrap_or_default();
    let have: Vec<&str> = have.lines().map(str::trim).collect();
    for line in attribute_lines_for(config, files)?.lines {
        if !have.contains(&line.as_str()) {
            missing.push(format!("{}: no line {line:?}", attrs.display()));
        }
    }
    let workdir = repo
        .workdir()
        .map(crate::config::absolute)
        .unwrap_or_default();
    for file in files {
        let Ok(rel) = crate::config::absolute(file)
            .strip_prefix(&workdir)
            .map(Path::to_path_buf)
        else {
            continue;
        };
        let attr = |name| {
            repo.get_attr(&rel, name, AttrCheckFlags::FILE_THEN_INDEX)
                .ok()
                .flatten()
                == Some(NAME)
        };
        if !attr("diff") || !attr("merge") {
            missing.push(format!(
                "{}: not marked diff={NAME} merge={NAME} in .gitattributes",
                crate::config::rel_string(&rel)
            ));
        }
    }
    Ok(missing)
}

/// The program a configured command runs (its first shell word).
fn first_word(cmd: &str) -> Option<PathBuf> {
    let cmd = cmd.trim_start();
    if let Some(rest) = cmd.strip_prefix('\'') {
        return rest.split('\'').next().map(PathBuf::from);
    }
    cmd.split_whitespace().next().map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_expand_and_paths_escape() {
        assert_eq!(
            expand_braces("config/{dev,prod}/*.{yaml,env}"),
            [
                "config/dev/*.yaml",
                "config/dev/*.env",
                "config/prod/*.yaml",
                "config/prod/*.env"
            ]
        );
        assert_eq!(crate::git::literal_pattern("a[1]*.yaml"), r"a\[1]\*.yaml");
        // White space as a class, a trailing (escaped) space too; other escapes kept.
        assert_eq!(
            quoted(&crate::git::literal_pattern("my dir/a[1] ")),
            r"my[[:space:]]dir/a\[1][[:space:]]"
        );
    }

    #[test]
    fn program_words_are_quoted_for_sh() {
        assert_eq!(sh_word(Path::new("/usr/bin/secrets")), "/usr/bin/secrets");
        assert_eq!(sh_word(Path::new("/my dir/secrets")), "'/my dir/secrets'");
        assert_eq!(sh_word(Path::new("/o'k/secrets")), r"'/o'\''k/secrets'");
        assert_eq!(
            first_word("'/my dir/secrets' git textconv"),
            Some(PathBuf::from("/my dir/secrets"))
        );
    }

    #[test]
    fn attributes_are_added_once_and_other_lines_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".gitattributes");
        std::fs::write(&p, "*.png binary").unwrap();
        let lines = vec!["/a.yaml diff=secrets merge=secrets".to_string()];
        assert_eq!(write_attributes(&p, &lines).unwrap(), lines);
        assert!(write_attributes(&p, &lines).unwrap().is_empty());
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            text,
            format!("*.png binary\n\n{MARKER}\n/a.yaml diff=secrets merge=secrets\n")
        );
    }
}
