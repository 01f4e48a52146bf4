//! The team's files that git ignores. An encrypted file that git never commits is a file
//! the team never gets, whatever the config says: `env add`, `encrypt`, `status` and `exec`
//! name the rule and the exception that undoes it ([`crate::git::ignored`]). The walk
//! itself still finds such files where an environment's glob names them
//! ([`crate::config::Config::walk_files`]).

use std::path::{Path, PathBuf};

use crate::config::{glob, Config, ConfigError};
use crate::git::ignored::{IgnoreCheck, Ignored};
use crate::team;

/// Of `files` (all in the repository holding `start`), those git ignores, with the rule;
/// empty outside a repository.
pub fn ignored(start: &Path, files: &[PathBuf]) -> Vec<(PathBuf, Ignored)> {
    if files.is_empty() {
        return Vec::new();
    }
    let Some(mut check) = IgnoreCheck::open(start) else {
        return Vec::new();
    };
    files
        .iter()
        .filter_map(|f| check.check(f).map(|i| (f.clone(), i)))
        .collect()
}

/// The paths of environment `env` that git ignores: the files its globs without wildcards
/// name, existing or not (`.env`, about to be encrypted), and its encrypted files.
pub fn env_ignored(cfg: &Config, env: &str) -> Result<Vec<(PathBuf, Ignored)>, ConfigError> {
    let Some(e) = cfg.environment(env) else {
        return Ok(Vec::new());
    };
    let root = crate::config::absolute(cfg.root());
    let mut paths: Vec<PathBuf> = e
        .globs
        .iter()
        .filter(|g| glob::literal_base(g) == **g)
        .map(|g| root.join(g))
        .filter(|p| !p.is_dir())
        .collect();
    paths.extend(team::env_files(cfg, env)?);
    paths.sort();
    paths.dedup();
    Ok(ignored(&root, &paths))
}
