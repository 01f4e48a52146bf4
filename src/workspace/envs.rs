//! Changing environments: `env remove`, `env rename`, `env set` (its globs, the default).
//! plan → apply → outcome, as the other batches.
//!
//! What a change means for encrypted files, file by file (a [`Move`]), comparing the
//! environment each file is in before and after:
//!
//! - **into an environment** (new globs name it): the file must end wrapped for that
//!   environment's members. Adding readers is a re-wrap (values untouched); a reader the
//!   file has and the environment does not loses access, and a re-wrap cannot take away a
//!   data key they may have kept, so such a file is **rotated** (batch op
//!   `Update { rotate_on_drop: true }`). Someone who cannot open a file gets its failure
//!   line and the exact `updatekeys` command that finishes (the config is saved: `status`
//!   shows the file's drift until then).
//! - **out of every environment** (`env remove`, or globs that no longer name it): the
//!   file stays encrypted for its readers, and no config says who they should be
//!   (`updatekeys` skips it). That is never done silently: the change is **refused** with
//!   the files and their readers listed ([`ChangeError::WouldOrphan`]), unless asked to
//!   keep them (`--keep-files`). A mistyped glob (`config/dve/**`) is caught the same way.
//!   Nothing is deleted or re-encrypted for nobody.
//! - **renamed**: files keep their readers; nothing to re-key.
//!
//! Every change is refused while a revocation is unfinished (it names an environment and
//! its files; see [`super::offboard`]), except making an environment the default. The
//! config is written once, under its lock, before any file is re-keyed.
//!
//! Nothing here prints.

use std::path::PathBuf;

use super::batch::{self, Job, Op};
use crate::config::edit::ConfigDoc;
use crate::config::{Config, ConfigError};
use crate::fsutil::lock::Lock;
use crate::keys::Identities;
use crate::team::{self, Diff};

/// A change to one environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Remove {
        env: String,
    },
    Rename {
        from: String,
        to: String,
    },
    /// New globs (replacing the old ones), and/or make it the default.
    Set {
        env: String,
        files: Option<Vec<String>>,
        default: bool,
    },
}

impl Change {
    /// The command, as typed (`env set dev --files 'config/**'`).
    pub fn command(&self) -> String {
        match self {
            Change::Remove { env } => format!("env remove {env}"),
            Change::Rename { from, to } => format!("env rename {from} {to}"),
            Change::Set {
                env,
                files,
                default,
            } => {
                let mut c = format!("env set {env}");
                if let Some(globs) = files {
                    c.push_str(" --files");
                    for g in globs {
                        c.push(' ');
                        c.push_str(g);
                    }
                }
                if *default {
                    c.push_str(" --default");
                }
                c
            }
        }
    }

    /// The environment it changes.
    pub fn env(&self) -> &str {
        match self {
            Change::Remove { env } | Change::Set { env, .. } => env,
            Change::Rename { from, .. } => from,
        }
    }

    /// Whether files may change environment (all but `set --default` alone).
    fn moves_files(&self) -> bool {
        !matches!(self, Change::Set { files: None, .. })
    }

    /// Applies it to a config document; returns what happened to `default:`.
    fn apply_to(&self, doc: &mut ConfigDoc) -> Result<DefaultEnv, ConfigError> {
        Ok(match self {
            Change::Remove { env } => {
                if doc.remove_env(env)? {
                    DefaultEnv::Removed
                } else {
                    DefaultEnv::Kept
                }
            }
            Change::Rename { from, to } => {
                if doc.rename_env(from, to)? {
                    DefaultEnv::Renamed
                } else {
                    DefaultEnv::Kept
                }
            }
            Change::Set {
                env,
                files,
                default,
            } => {
                if let Some(globs) = files {
                    doc.set_env_files(env, globs)?;
                }
                if *default && doc.default_env().as_deref() != Some(env) {
                    doc.set_default(env);
                    DefaultEnv::Set
                } else {
                    DefaultEnv::Kept
                }
            }
        })
    }
}

/// What a change does to `default:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultEnv {
    Kept,
    /// It named the removed environment, and went with it.
    Removed,
    /// It follows the renamed environment.
    Renamed,
    /// It now names the environment.
    Set,
}

/// What a file whose environment changes needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rekey {
    /// In no environment after the change: left as it is, encrypted for its readers.
    Left,
    /// Already wrapped for the members of its new environment.
    Same,
    /// Re-wrapped for added readers; values untouched.
    Rewrap(Diff),
    /// Rotated: readers lose access (and readers may be added).
    Rotate(Diff),
}

/// One encrypted file whose environment changes.
#[derive(Clone, Debug)]
pub struct Move {
    pub path: PathBuf,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Its recipients, as written in the file.
    pub recipients: Vec<String>,
    pub rekey: Rekey,
}

/// What [`apply`] will do.
#[derive(Debug)]
pub struct Plan<'c> {
    pub change: Change,
    /// The encrypted files whose environment changes, in path order.
    pub moves: Vec<Move>,
    pub default: DefaultEnv,
    /// The config after the change.
    pub proposed: Config,
    /// A re-wrap (or rotation) per file that needs one, for the proposed config.
    pub rekey: batch::Plan<'c>,
    /// The config document after the change, written by [`apply`].
    doc: ConfigDoc,
}

impl Plan<'_> {
    /// The files that leave every environment.
    pub fn orphans(&self) -> impl Iterator<Item = &Move> {
        self.moves.iter().filter(|m| m.to.is_none())
    }
}

/// Why a change was not made.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Files would be left in no environment, encrypted for readers no config names for
    /// them, and `keep_files` was not given.
    #[error("{command}: {} encrypted file(s) would be in no environment, still encrypted for their readers: {}", files.len(), list(files))]
    WouldOrphan {
        command: String,
        files: Vec<PathBuf>,
    },
}

fn list(files: &[PathBuf]) -> String {
    let mut names: Vec<String> = files
        .iter()
        .take(3)
        .map(|p| p.display().to_string())
        .collect();
    if files.len() > 3 {
        names.push(format!("and {} more", files.len() - 3));
    }
    names.join(", ")
}

/// What [`apply`] did.
#[derive(Debug)]
pub struct Outcome {
    /// The re-wrapped or rotated files.
    pub files: batch::Outcome,
    pub config_saved: bool,
    /// The files that were to be rotated (a reader of theirs is not a member).
    rotations: Vec<PathBuf>,
}

/// The files a saved change could not re-key, and whether finishing needs a rotation
/// (`secrets updatekeys [--rotate] FILE…`, by someone who can open them).
#[derive(Debug, PartialEq, Eq)]
pub struct Unfinished {
    pub files: Vec<PathBuf>,
    pub rotate: bool,
}

impl Outcome {
    /// What is left to do after a saved change; `None` when every file was re-keyed.
    pub fn unfinished(&self) -> Option<Unfinished> {
        let files: Vec<PathBuf> = self
            .files
            .failures()
            .map(|(p, _)| p.to_path_buf())
            .collect();
        if files.is_empty() || !self.config_saved {
            return None;
        }
        let rotate = files.iter().any(|f| self.rotations.contains(f));
        Some(Unfinished { files, rotate })
    }
}

/// Plans `change` against `cfg` (read under its lock). Errors: an unknown environment, an
/// invalid result (a name taken, globs overlapping another environment's, a file two
/// environments claim, files moving into an environment without members), a `.sops.yaml`
/// config (read-only), an unfinished revocation.
pub fn plan(cfg: &Config, change: Change) -> Result<Plan<'_>, ConfigError> {
    if cfg.environment(change.env()).is_none() {
        return Err(ConfigError::command(
            cfg.path(),
            format!(
                "unknown environment {:?} (see secrets env list)",
                change.env()
            ),
        ));
    }
    if let Some(r) = cfg.revoking().filter(|_| change.moves_files()) {
        return Err(ConfigError::invalid(
            cfg.path(),
            r.line,
            format!(
                "an unfinished revocation is recorded; finish it first: secrets {}",
                r.command()
            ),
        ));
    }
    let mut doc = ConfigDoc::load(cfg.path())?;
    let default = change.apply_to(&mut doc)?;
    let proposed = doc.validate()?;
    let mut moves = Vec::new();
    let mut jobs = Vec::new();
    if change.moves_files() {
        // Both walks: the globs decide which ignored files are found.
        let mut paths = cfg.walk_files()?;
        paths.extend(proposed.walk_files()?);
        paths.sort();
        paths.dedup();
        let loaded = team::parallel_map(&paths, |p| team::load_if_encrypted(p));
        for (path, file) in paths.into_iter().zip(loaded) {
            let Some(file) = file else { continue };
            let Some(rel) = cfg.relative(&path) else {
                continue;
            };
            let from = cfg.environment_for(&rel).map(str::to_string);
            let to = proposed.classify(&rel)?.map(|e| e.name.clone());
            if from == to {
                continue;
            }
            let recipients: Vec<String> = file.recipients().iter().map(|r| r.to_string()).collect();
            let rekey = match team::wanted(&proposed, &path)? {
                None => Rekey::Left,
                Some(w) => {
                    let mut d = team::diff(&file.recipients(), &w.recipients);
                    // The new environment's key services replace the old one's.
                    let v = team::services_diff(&file.service_keys(), &w.services);
                    d.added.extend(v.added);
                    d.removed.extend(v.removed);
                    // Another grouping of the same keys takes from someone who may have
                    // kept the data key (a flat file moved into key groups): rotated.
                    let rekey = if batch::grouping_differs(&file, &w) {
                        Rekey::Rotate(d)
                    } else if d.is_empty() {
                        Rekey::Same
                    } else if d.removed.is_empty() {
                        Rekey::Rewrap(d)
                    } else {
                        Rekey::Rotate(d)
                    };
                    if rekey != Rekey::Same {
                        jobs.push(Job {
                            path: path.clone(),
                            grouping: batch::Grouping::of(&w),
                            recipients: Ok(Some(w.recipients)),
                            services: Some(w.services),
                        });
                    }
                    rekey
                }
            };
            moves.push(Move {
                path,
                from,
                to,
                recipients,
                rekey,
            });
        }
    }
    Ok(Plan {
        change,
        moves,
        default,
        proposed,
        rekey: batch::Plan {
            op: Op::Update {
                rotate_on_drop: true,
            },
            jobs,
            skipped: Vec::new(),
            config: Some(cfg),
            swap: None,
        },
        doc,
    })
}

/// Runs the plan: refuses when files would leave every environment and `keep_files` is not
/// set; otherwise saves the config (`lock` is its lock, held since `cfg` was read), then
/// re-wraps or rotates each file that joined an environment (each locked and written
/// atomically; one that fails is left as it was, and shows as drift). With `dry_run`
/// every check is made (keys unwrapped, MACs verified) and nothing is written.
pub fn apply(
    plan: Plan,
    lock: &Lock,
    ids: &Identities,
    dry_run: bool,
    keep_files: bool,
) -> Result<Outcome, ChangeError> {
    // Named relative to the config's directory.
    let orphans: Vec<PathBuf> = plan
        .orphans()
        .map(|m| plan.proposed.relative(&m.path).unwrap_or(m.path.clone()))
        .collect();
    if !orphans.is_empty() && !keep_files {
        return Err(ChangeError::WouldOrphan {
            command: plan.change.command(),
            files: orphans,
        });
    }
    let rotations = plan
        .moves
        .iter()
        .filter(|m| matches!(m.rekey, Rekey::Rotate(_)))
        .map(|m| m.path.clone())
        .collect();
    let Plan { rekey, mut doc, .. } = plan;
    if !dry_run {
        doc.save(lock)?;
    }
    Ok(Outcome {
        files: batch::apply(rekey, ids, dry_run),
        config_saved: !dry_run,
        rotations,
    })
}
