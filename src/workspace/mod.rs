//! The workspace: a repository's config and the encrypted files it governs, as every
//! front-end needs them (the CLI today; a merge driver, `check`, key services later).
//! `cli/` keeps argument parsing, printing and exit codes; what a command *does* to the
//! repository lives here, below it.
//!
//! - [`load_config`], [`lock_config`]: the config for a directory, locked by the commands
//!   that change it or rewrite files by it.
//! - [`batch`]: one operation (re-wrap or rotate) over many files: plan → apply → outcome.
//! - [`offboard`]: taking readers away (`member remove`, `env revoke`): plan → apply →
//!   outcome, rotating every file before the config is saved.
//! - [`rekey`]: a member's new public key (`member rekey`): files re-wrapped (or rotated)
//!   for it before the config names it.
//! - [`envs`]: changing environments (`env remove`, `env rename`, `env set`): which files
//!   change environment, re-wrapped or rotated for their new readers.
//! - [`gate`]: the schema check `exec` and `export` run on the values a program would get.
//! - [`ignored`]: the team's files that git ignores, and why.
//! - [`values`]: an environment's values for the policy checks (decrypted where possible).
//! - [`gitsetup`], [`gitdiff`], [`gitmerge`]: git that understands encrypted files (the
//!   attributes and config, the textconv, the merge driver and `resolve`).
//!
//! Nothing here prints, reads the process environment, or exits.

pub mod batch;
pub mod envs;
pub mod gate;
pub mod gitdiff;
pub mod gitmerge;
pub mod gitsetup;
pub mod ignored;
pub mod offboard;
pub mod rekey;
pub mod values;

use std::path::Path;

use crate::config::{Config, ConfigError};
use crate::engine::FileError;
use crate::fsutil::lock::Lock;
use crate::keys::wrap::WrapError;

/// The config for `start` (a directory or a file below the config's directory); a missing
/// config is an error.
pub fn load_config(start: &Path) -> Result<Config, ConfigError> {
    Config::require(start)
}

/// As [`load_config`], holding the config's lock (see [`crate::fsutil::lock`]). Commands
/// that change the config (member and env commands) or rewrite files by it (updatekeys,
/// rotate, member remove, env revoke) take it before reading the config and hold it to
/// their end, so they take turns; each file is then locked on its own while it is
/// rewritten.
pub fn lock_config(start: &Path) -> Result<(Lock, Config), ConfigError> {
    let path = crate::config::find_config(start).ok_or_else(|| ConfigError::NotFound {
        start: start.to_path_buf(),
    })?;
    let lock = Lock::acquire(&path)?;
    let config = Config::load(&path)?;
    Ok((lock, config))
}

/// `err` with each recipient it lists (none of the user's identities opens the file, or
/// too few of its key groups) shown as the member whose key it is, `alice (age1abc…wxyz)`,
/// from the config above the file when there is one; keys no member has, and every other
/// error, are left as they are.
pub fn name_recipients(err: FileError) -> FileError {
    let FileError::Key { path, error } = err else {
        return err;
    };
    if !matches!(
        error,
        WrapError::NoMatchingIdentity { .. } | WrapError::KeyGroups { .. }
    ) {
        return FileError::Key { path, error };
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let error = match Config::discover_typed(dir).ok().flatten() {
        Some(cfg) => named_in(error, &cfg),
        None => error,
    };
    FileError::Key { path, error }
}

fn named_in(error: WrapError, cfg: &Config) -> WrapError {
    match error {
        WrapError::NoMatchingIdentity {
            recipients,
            tried,
            services,
        } => WrapError::NoMatchingIdentity {
            recipients: recipients
                .into_iter()
                .map(|r| match cfg.member_for_key(&r) {
                    Some(m) => format!("{} ({})", m.name, crate::config::abbreviate(&r)),
                    None => r,
                })
                .collect(),
            tried,
            services,
        },
        WrapError::KeyGroups {
            groups,
            need,
            opened,
            failures,
        } => WrapError::KeyGroups {
            groups,
            need,
            opened,
            failures: failures
                .into_iter()
                .map(|(i, e)| (i, named_in(e, cfg)))
                .collect(),
        },
        other => other,
    }
}
