//! An environment's values as the policy checks see them: every file of the environment,
//! decrypted where one of the user's identities opens it, else its variable names and key
//! paths alone (they are in clear), so presence and age can still be checked.

use std::path::PathBuf;

use crate::config::Config;
use crate::engine::{EncryptedFile, FileError};
use crate::exec::env;
use crate::keys::Identities;
use crate::model::{Branch, KeyPath, Plain};
use crate::policy::check::{check_values, EnvValues, Finding, Plaintext, Subject};
use crate::store::Format;
use zeroize::Zeroizing;

/// One environment's files and values.
pub struct EnvFiles {
    pub files: Vec<PathBuf>,
    pub subjects: Vec<Subject<'static>>,
}

/// Reads every file of `env`. A file that cannot be parsed is an error (as for every
/// command); one nobody here can decrypt gives subjects without values.
pub fn load_env(config: &Config, env: &str, ids: &Identities) -> anyhow::Result<EnvFiles> {
    let files = crate::team::env_files(config, env)?;
    load_files(config, files, ids, |p| Ok(EncryptedFile::load(p, None)?))
}

/// As [`load_env`], with the files of `env` and their contents as they were at a git
/// revision (`check --rev`); `config` is the config at that revision.
pub fn load_env_at(
    config: &Config,
    env: &str,
    ids: &Identities,
    snap: &crate::history::Snapshot,
) -> anyhow::Result<EnvFiles> {
    let files = snap.env_files(config, env)?;
    load_files(config, files, ids, |p| Ok(snap.load(p, None)?))
}

fn load_files(
    config: &Config,
    files: Vec<PathBuf>,
    ids: &Identities,
    load: impl Fn(&std::path::Path) -> anyhow::Result<EncryptedFile>,
) -> anyhow::Result<EnvFiles> {
    let mut loaded = Vec::with_capacity(files.len());
    for path in &files {
        let shown = config
            .relative(path)
            .map(|rel| crate::config::rel_string(&rel))
            .unwrap_or_else(|| path.display().to_string());
        loaded.push((load(path)?, shown));
    }
    // Decrypted in parallel (a revision's reader holds a repository, which is not Sync: the
    // files are read first); the first error in file order wins.
    let per_file =
        crate::team::parallel_map(&loaded, |(file, shown)| file_subjects(file, shown, ids));
    let mut subjects = Vec::new();
    for found in per_file {
        subjects.extend(found?);
    }
    Ok(EnvFiles { files, subjects })
}

fn file_subjects(
    file: &EncryptedFile,
    shown: &str,
    ids: &Identities,
) -> Result<Vec<Subject<'static>>, FileError> {
    let dotenv = file.format == Format::Dotenv;
    let key = match file.data_key(ids) {
        Ok(key) => key,
        Err(FileError::Key { .. }) => {
            // An empty value is stored in clear: its rules are judged without the key.
            return Ok(env::names_marking_empty(&file.branches, dotenv)
                .into_iter()
                .map(|(name, key, empty)| Subject {
                    file: shown.to_string().into(),
                    name: name.into(),
                    key: key.into(),
                    value: empty.then(|| Plaintext::Owned(Zeroizing::new(Vec::new()))),
                })
                .collect());
        }
        Err(e) => return Err(e),
    };
    let opened = file.read(&key)?;
    // Names that collide or cannot be variables are exec's business; here every value is
    // checked under the name it would have.
    Ok(env::flatten_lenient(&opened.branches, dotenv, shown)
        .into_iter()
        .map(|var| subject(var, shown))
        .collect())
}

/// What the schema says of the value at `key` in the file at `path`, whose documents are
/// `branches` as about to be written (`set`, `rotate-value`): the findings of its
/// environment's rules on values (`min_length`, `pattern`, `forbid`, the production list),
/// which `exec` and `check` would then refuse. Not `required`, `distinct_from` or `max_age`
/// (they concern other values or files). None outside an environment or without a config.
pub fn key_findings(
    path: &std::path::Path,
    format: Format,
    branches: &[Branch<Plain>],
    key: &KeyPath,
) -> Vec<Finding> {
    let start = crate::fsutil::parent_dir(path);
    let Ok(Some(config)) = Config::discover_to_read(&start) else {
        return Vec::new();
    };
    let Some(rel) = config.relative(path) else {
        return Vec::new();
    };
    let Some(env) = config.environment_for(&rel).map(str::to_string) else {
        return Vec::new();
    };
    let production = config.environment(&env).is_some_and(|e| e.production);
    let dotted = key.dotted();
    let shown = crate::config::rel_string(&rel);
    let subjects: Vec<Subject> = env::flatten_lenient(branches, format == Format::Dotenv, &shown)
        .into_iter()
        .filter(|var| var.key == dotted)
        .map(|var| subject(var, &shown))
        .collect();
    let values = EnvValues {
        name: &env,
        production,
        subjects: &subjects,
    };
    check_values(config.schema(), &values, false)
}

/// A decrypted variable as the policy checks see it.
fn subject(var: env::Var, shown: &str) -> Subject<'static> {
    Subject {
        file: shown.to_string().into(),
        name: var.name.clone().into(),
        key: var.key.clone().into(),
        value: Some(Plaintext::Owned(var.into_value())),
    }
}
