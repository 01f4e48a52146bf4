//! Offboarding: taking readers away from files (`member remove NAME`, `env revoke ENV
//! NAME…`). A reader who was ever a recipient may have kept a file's data key, so every
//! file they could read is **rotated** (new data key, every value re-encrypted) for the
//! recipients the config will name once they are gone.
//!
//! plan → apply → outcome: [`plan`] checks the request against the config, computes the
//! proposed config in memory, the files the readers could read (by the files' own
//! recipients, plus every file of the environments they leave), the key paths they could
//! read there, and a rotation per file; [`apply`] runs it; [`Outcome`] gives each file's
//! result and whether the config was saved.

use std::path::PathBuf;

use super::batch::{self, Job, Op};
use crate::config::edit::ConfigDoc;
use crate::config::{Config, ConfigError};
use crate::engine::EncryptedFile;
use crate::fsutil::lock::Lock;
use crate::keys::recipient::same_key;
use crate::keys::Identities;
use crate::team;

/// Who loses access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// `member remove NAME`: the member leaves the config and every environment.
    Member(String),
    /// `env revoke ENV NAME…`: the members leave one environment and stay members.
    Env { env: String, members: Vec<String> },
}

impl Revocation {
    /// The command that performs it, as typed (`member remove bob`).
    pub fn command(&self) -> String {
        match self {
            Revocation::Member(name) => format!("member remove {name}"),
            Revocation::Env { env, members } => format!("env revoke {env} {}", members.join(" ")),
        }
    }

    /// Who loses access, for messages (`bob`, `bob, carol`).
    pub fn who(&self) -> String {
        match self {
            Revocation::Member(name) => name.clone(),
            Revocation::Env { members, .. } => members.join(", "),
        }
    }
}

/// A file they could read and the key paths of its encrypted values (never a value).
#[derive(Clone, Debug)]
pub struct Exposure {
    pub path: PathBuf,
    pub key_paths: Vec<String>,
}

/// What [`apply`] will do.
#[derive(Debug)]
pub struct Plan<'c> {
    pub revocation: Revocation,
    /// The keys that lose access, as the config writes them.
    pub keys: Vec<String>,
    /// The environments they leave.
    pub environments: Vec<String>,
    /// The files they could read, in path order, with what they could read there.
    pub exposure: Vec<Exposure>,
    /// The config once they are gone: the recipients every rotation uses.
    pub proposed: Config,
    /// One rotation per exposed file.
    pub rotations: batch::Plan<'c>,
    /// The config document with the revocation applied, saved by [`apply`].
    doc: ConfigDoc,
}

/// What [`apply`] did.
#[derive(Debug)]
pub struct Outcome {
    pub files: batch::Outcome,
    /// Whether the config without them was written.
    pub config_saved: bool,
}

/// Plans a revocation against `cfg` (read under its lock). Errors: an unknown member or
/// environment, a member not in the environment, a `.sops.yaml` config (read-only), or a
/// proposed config that would be invalid.
pub fn plan(cfg: &Config, revocation: Revocation) -> Result<Plan<'_>, ConfigError> {
    let mut doc = ConfigDoc::load(cfg.path())?;
    let (keys, environments, files) = match &revocation {
        Revocation::Member(name) => {
            let member = cfg.member(name).ok_or_else(|| {
                ConfigError::command(
                    cfg.path(),
                    format!("unknown member {name:?} (see secrets member list)"),
                )
            })?;
            let keys: Vec<String> = member.recipients.iter().map(|r| r.to_string()).collect();
            let envs: Vec<String> = cfg
                .environments()
                .iter()
                .filter(|e| e.members.iter().any(|m| m == name))
                .map(|e| e.name.clone())
                .collect();
            let files = readable_by(cfg, &keys, &envs)?;
            doc.remove_member(name)?;
            (keys, envs, files)
        }
        Revocation::Env { env, members } => {
            let e = cfg.environment(env).ok_or_else(|| {
                ConfigError::command(
                    cfg.path(),
                    format!("unknown environment {env:?} (see secrets env list)"),
                )
            })?;
            let mut keys = Vec::new();
            for m in members {
                let member = cfg.member(m).ok_or_else(|| {
                    ConfigError::command(cfg.path(), format!("unknown member {m:?}"))
                })?;
                if !e.members.contains(m) {
                    return Err(ConfigError::command(
                        cfg.path(),
                        format!("{m} is not a member of {env}"),
                    ));
                }
                keys.extend(member.recipients.iter().map(|r| r.to_string()));
            }
            // The environment's files, and only those: they keep their other environments.
            let files = readable_by(cfg, &[], std::slice::from_ref(env))?;
            doc.revoke(env, members)?;
            (keys, vec![env.clone()], files)
        }
    };
    let proposed = doc.validate()?;
    let exposure = files
        .iter()
        .map(|(path, file)| Exposure {
            path: path.clone(),
            key_paths: team::secret_paths(file),
        })
        .collect();
    let jobs = rotation_jobs(&proposed, &files, &keys);
    Ok(Plan {
        revocation,
        keys,
        environments,
        exposure,
        proposed,
        rotations: batch::Plan {
            op: Op::Rotate,
            jobs,
            skipped: Vec::new(),
            config: Some(cfg),
        },
        doc,
    })
}

/// Runs the plan. `lock` is the config's lock, held since `cfg` was read. With `dry_run`
/// every file is still decrypted (to show which would fail) and nothing is written.
pub fn apply(
    plan: Plan,
    lock: &Lock,
    ids: &Identities,
    dry_run: bool,
) -> Result<Outcome, ConfigError> {
    if !dry_run {
        plan.doc.save(lock)?;
    }
    let files = batch::apply(plan.rotations, ids, dry_run);
    Ok(Outcome {
        files,
        config_saved: !dry_run,
    })
}

/// The encrypted files that any of `keys` can open (by the file's own recipients), or that
/// belong to one of `envs`; with the file loaded.
fn readable_by(
    cfg: &Config,
    keys: &[String],
    envs: &[String],
) -> Result<Vec<(PathBuf, EncryptedFile)>, ConfigError> {
    let files = cfg.walk_files()?;
    let loaded = team::parallel_map(&files, |p| team::load_if_encrypted(p));
    let mut out = Vec::new();
    for (path, file) in files.into_iter().zip(loaded) {
        let Some(file) = file else { continue };
        let has_key = file
            .recipients()
            .iter()
            .any(|r| keys.iter().any(|k| same_key(k, r)));
        let in_env = match cfg.relative(&path) {
            Some(rel) => cfg.classify(&rel)?.is_some_and(|e| envs.contains(&e.name)),
            None => false,
        };
        if has_key || in_env {
            out.push((path, file));
        }
    }
    Ok(out)
}

/// A rotation per file: the recipients `proposed` names for files in an environment, else
/// the file's own minus the removed keys.
fn rotation_jobs(
    proposed: &Config,
    files: &[(PathBuf, EncryptedFile)],
    removed: &[String],
) -> Vec<Job> {
    files
        .iter()
        .map(|(path, file)| {
            let recipients = match team::wanted(proposed, path) {
                Ok(Some(w)) => Ok(Some(w.recipients)),
                Ok(None) => team::current_recipients(file)
                    .map(|rs| {
                        Some(
                            rs.into_iter()
                                .filter(|r| !removed.iter().any(|k| same_key(k, &r.to_string())))
                                .collect(),
                        )
                    })
                    .map_err(Into::into),
                Err(e) => Err(e.into()),
            };
            Job {
                path: path.clone(),
                recipients,
            }
        })
        .collect()
}

