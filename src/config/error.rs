//! Config errors. Each names the config file and, when it comes from the text, the line:
//! `.secrets.yaml:7: unknown member "bbo" in environment "prod"`. Exit code 5.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Something wrong in the text, at a line.
    #[error("{}:{line}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A file matches the globs of two environments.
    #[error("{file}: matches environment {first:?} ({}:{first_line}) and environment {second:?} ({}:{second_line}); a file must belong to one environment", path.display(), path.display())]
    Ambiguous {
        path: PathBuf,
        file: String,
        first: String,
        first_line: usize,
        second: String,
        second_line: usize,
    },
    #[error("{}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: {error}", path.display())]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    /// No `.secrets.yaml` or `.sops.yaml` between a directory and the repository root.
    #[error("no .secrets.yaml (or .sops.yaml) found in {} or its parents", start.display())]
    NotFound { start: PathBuf },
    /// A command refers to something the config does not have, or already has.
    #[error("{}: {message}", path.display())]
    Command { path: PathBuf, message: String },
    /// The config's lock could not be taken in time, or the config changed since it was
    /// read (see [`crate::fsutil::lock`]).
    #[error(transparent)]
    Lock(#[from] crate::fsutil::lock::LockError),
    /// A command that changes the config was run on a `.sops.yaml`.
    #[error("{}: this is a sops config; convert it first with `secrets init --from-sops`", path.display())]
    ReadOnly { path: PathBuf },
}

impl ConfigError {
    pub fn invalid(path: impl Into<PathBuf>, line: usize, message: impl fmt::Display) -> Self {
        ConfigError::Invalid {
            path: path.into(),
            line,
            message: message.to_string(),
        }
    }

    pub fn command(path: impl Into<PathBuf>, message: impl fmt::Display) -> Self {
        ConfigError::Command {
            path: path.into(),
            message: message.to_string(),
        }
    }

    /// The line the error points at, if any (for tests and editors).
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Invalid { line, .. } => Some(*line),
            ConfigError::Ambiguous { first_line, .. } => Some(*first_line),
            _ => None,
        }
    }
}
