//! `secrets import`: adopt a team's existing secrets. A plaintext dotenv, YAML or JSON file
//! (or a Vault/OpenBao KV tree, `vault`) becomes one encrypted file of an environment, its
//! keys judged secret or plain by the leak scanner's rules (`classify`), the plain ones kept
//! readable through the file's own sops rule (`unencrypted_regex`) so that nothing needs a
//! second file. `plan` builds what will be written (merged into an existing encrypted file
//! without touching its other values), seals it and verifies it by decrypting it again;
//! `dest` picks the destination from the environment's globs; `aftercare` is what follows a
//! verified write: a private backup of the source, `.gitignore`, the hook and `git rm
//! --cached` hints, the source's removal.
//!
//! Hand-written migration scripts get these steps wrong in the same few ways (everything
//! encrypted, or a secret left in clear; the source deleted before anything was checked; a
//! plaintext copy left behind): here the order is fixed. Nothing is changed before the
//! encrypted text has been decrypted and compared value by value with the source; the
//! destination is replaced atomically under its lock; the source is touched last.

pub mod aftercare;
pub mod classify;
pub mod dest;
mod multiline;
pub mod plan;
pub mod vault;

use std::path::{Path, PathBuf};

use crate::engine::{self, FileError};
use crate::model::{Branch, Plain};
use crate::store::{Format, Layout};

pub use classify::{Class, Classifier, Judgement};
pub use plan::{Action, Options, Plan, Unit};

/// Errors of an import; each names the file (or Vault path) and key, never a value.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{count} key(s) already hold a different value in {dest}: {keys}")]
    Conflict {
        dest: PathBuf,
        count: usize,
        keys: String,
    },
    #[error("{dest}: verification failed at {key}: {what}; nothing was changed")]
    Verify {
        dest: PathBuf,
        key: String,
        what: &'static str,
    },
    #[error("{source_name}: {what}")]
    Source { source_name: String, what: String },
    #[error("{dest}: {what}")]
    Destination { dest: PathBuf, what: String },
    /// `--to` a file of no environment, or of another than `--env`: options that conflict.
    #[error("{dest}: {what}")]
    Mismatch { dest: PathBuf, what: String },
    #[error("{dest}: its rules encrypt only what {rule} names; import keeps plain keys readable with unencrypted_regex")]
    Rules { dest: PathBuf, rule: &'static str },
    #[error(transparent)]
    Vault(#[from] vault::VaultError),
}

/// What is imported: a tree of plaintext values and where it came from.
pub struct Source {
    /// The file, or `vault:PATH`, as shown to the user.
    pub name: String,
    /// The file read (`None` for a Vault source: nothing on disk to back up or remove).
    pub file: Option<PathBuf>,
    pub format: Format,
    pub branches: Vec<Branch<Plain>>,
    pub layout: Layout,
}

impl Source {
    /// Reads a plaintext dotenv, YAML or JSON file (the format from its name unless given).
    /// An encrypted file is refused (it is already imported), as is a file of several YAML
    /// documents or another format.
    pub fn read_file(path: &Path, format: Option<Format>) -> Result<Source, ImportError> {
        let format = format.unwrap_or_else(|| Format::from_path(path));
        let name = path.display().to_string();
        // A mistyped name is "no such file", not a format it would have had.
        let bytes = engine::read(path)?;
        if !matches!(format, Format::Dotenv | Format::Yaml | Format::Json) {
            return Err(ImportError::Source {
                source_name: name,
                what: format!(
                    "import reads dotenv, YAML or JSON files, not {} (name the format with --input-type)",
                    format.name()
                ),
            });
        }
        Self::parse(path, Some(path.to_path_buf()), name, format, &bytes)
    }

    /// A plaintext read from stdin (`-`): its format named with `--input-type`; no file to
    /// back up, ignore or remove.
    pub fn read_bytes(format: Format, bytes: &[u8]) -> Result<Source, ImportError> {
        let name = "<stdin>".to_string();
        Self::parse(Path::new(&name), None, name.clone(), format, bytes)
    }

    fn parse(
        path: &Path,
        file: Option<PathBuf>,
        name: String,
        format: Format,
        bytes: &[u8],
    ) -> Result<Source, ImportError> {
        if !matches!(format, Format::Dotenv | Format::Yaml | Format::Json) {
            return Err(ImportError::Source {
                source_name: name,
                what: format!("import reads dotenv, YAML or JSON, not {}", format.name()),
            });
        }
        // (a dotenv value in quotes may span lines, as loaders read it)
        let joined = match (format, std::str::from_utf8(bytes)) {
            (Format::Dotenv, Ok(text)) => multiline::join_quoted_lines(text),
            _ => None,
        };
        let bytes = joined.as_ref().map_or(bytes, |t| t.as_bytes());
        let (branches, layout) = engine::parse_for_encryption(path, format, bytes)?;
        if let Some(key) = branches.iter().find_map(|b| repeated_key(b, format)) {
            return Err(ImportError::Source {
                source_name: name,
                what: format!("`{key}` is set twice; keep one of them"),
            });
        }
        if branches.len() > 1 {
            return Err(ImportError::Source {
                source_name: name,
                what: format!(
                    "{} YAML documents; import takes a file of one",
                    branches.len()
                ),
            });
        }
        Ok(Source {
            name,
            file,
            format,
            branches,
            layout,
        })
    }

    /// Whether the source holds no value at all (an empty file, a Vault path with nothing
    /// under it).
    pub fn is_empty(&self) -> bool {
        self.root().is_none_or(|b| b.entries().next().is_none())
    }

    /// The first (only) document.
    pub fn root(&self) -> Option<&Branch<Plain>> {
        self.branches.first()
    }
}

/// The first key a map of `b` holds twice (as the variable it sets, in dotenv: `export A`
/// and `A`), by its path: loaders disagree on which one wins, and no destination format
/// can hold both.
fn repeated_key(b: &Branch<Plain>, format: Format) -> Option<String> {
    let mut todo: Vec<(Vec<String>, &Branch<Plain>)> = vec![(Vec::new(), b)];
    while let Some((path, b)) = todo.pop() {
        let mut seen = std::collections::HashSet::new();
        for (k, v) in b.entries() {
            let name = match format {
                Format::Dotenv => crate::store::dotenv::env_name(k),
                _ => k,
            };
            let mut p = path.clone();
            p.push(name.to_string());
            if !seen.insert(name) {
                return Some(show_path(&p));
            }
            if let crate::model::Node::Map(m) = v {
                todo.push((p, m));
            }
        }
    }
    None
}

/// A key path as shown in the plan and in errors: dotted (`database.password`) unless a
/// key holds a dot or is empty, then bracketed (`["a.b"]`).
pub fn show_path(path: &[String]) -> String {
    if path
        .iter()
        .all(|k| !k.is_empty() && !k.contains(['.', '[', ']', '"']))
    {
        path.join(".")
    } else {
        path.iter().map(|k| format!("[{k:?}]")).collect()
    }
}
