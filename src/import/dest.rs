//! Where an import writes: `--to FILE`, else the environment's own file, found from its
//! globs in `.secrets.yaml`. A glob without wildcards (`.env.prod`, `config/prod/app.yaml`)
//! in a format that can hold the source is the file; failing that, the source's file name
//! (or `NAME.yaml` for a Vault path) in the fixed directory of a wildcard glob
//! (`config/prod/**`), when that glob matches it. More than one candidate is ambiguous and
//! refused: the user names it with `--to`. Either way the file must belong to the
//! environment, since its recipients come from there.

use std::path::{Path, PathBuf};

use super::ImportError;
use crate::config::{absolute, glob, Config};
use crate::store::Format;

/// What the destination must be able to hold.
pub struct Want<'a> {
    /// The source's format: preferred for the destination.
    pub format: Format,
    /// The source has nested maps or lists (a dotenv file cannot hold them).
    pub nested: bool,
    /// The file name to use inside an environment's directory.
    pub name: &'a str,
}

/// The destination of an import into `env` (absolute).
pub fn for_env(cfg: &Config, env: &str, want: &Want) -> Result<PathBuf, ImportError> {
    let root = absolute(cfg.root());
    let globs = cfg.env_globs(env).ok_or_else(|| ImportError::Destination {
        dest: cfg.path().to_path_buf(),
        what: format!("no environment {env:?} (secrets env add {env} --files GLOB)"),
    })?;
    let fits = |f: Format| match f {
        Format::Dotenv => !want.nested,
        Format::Yaml | Format::Json => true,
        _ => false,
    };
    let literal: Vec<&String> = globs
        .iter()
        .filter(|g| glob::literal_base(g) == **g && fits(Format::from_path(Path::new(g.as_str()))))
        .collect();
    let same: Vec<&&String> = literal
        .iter()
        .filter(|g| Format::from_path(Path::new(g.as_str())) == want.format)
        .collect();
    let chosen: Vec<String> = if !same.is_empty() {
        same.iter().map(|g| g.to_string()).collect()
    } else if !literal.is_empty() {
        literal.iter().map(|g| g.to_string()).collect()
    } else {
        globs
            .iter()
            .filter(|g| glob::literal_base(g) != **g)
            .map(|g| {
                let base = glob::literal_base(g);
                if base.is_empty() {
                    want.name.to_string()
                } else {
                    format!("{base}/{}", want.name)
                }
            })
            .filter(|rel| cfg.environment_for(Path::new(rel)) == Some(env))
            .collect()
    };
    match chosen.as_slice() {
        [one] => Ok(root.join(one)),
        [] => Err(ImportError::Destination {
            dest: cfg.path().to_path_buf(),
            what: format!(
                "no file of environment {env:?} fits {} (its globs: {}); name one with --to FILE",
                want.name,
                globs.join(", ")
            ),
        }),
        many => Err(ImportError::Destination {
            dest: cfg.path().to_path_buf(),
            what: format!(
                "environment {env:?} has several files that fit: {}; name one with --to FILE",
                many.join(", ")
            ),
        }),
    }
}

/// Checks that `dest` (given with `--to`) belongs to `env` when one is named, and to some
/// environment in any case; returns that environment.
pub fn check_to(cfg: &Config, dest: &Path, env: Option<&str>) -> Result<String, ImportError> {
    let rel = cfg.relative(dest).ok_or_else(|| ImportError::Destination {
        dest: dest.to_path_buf(),
        what: format!("outside the repository of {}", cfg.path().display()),
    })?;
    let found = cfg
        .classify(&rel)
        .map_err(|e| ImportError::Destination {
            dest: dest.to_path_buf(),
            what: e.to_string(),
        })?
        .map(|e| e.name.clone());
    match (found, env) {
        (Some(f), Some(e)) if f != e => Err(ImportError::Mismatch {
            dest: dest.to_path_buf(),
            what: format!("belongs to environment {f:?}, not {e:?}"),
        }),
        (Some(f), _) => Ok(f),
        (None, _) => Err(ImportError::Mismatch {
            dest: dest.to_path_buf(),
            what: format!(
                "in no environment, so nobody to encrypt for (secrets env set ENV --files … {})",
                crate::config::rel_string(&rel)
            ),
        }),
    }
}
