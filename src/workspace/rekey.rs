//! A member's new public key (`member rekey NAME KEY [--rotate]`): a new laptop, a lost
//! identity, or a leaked one. Every file the member reads (the files of their environments,
//! and any file wrapped for one of their keys) is re-wrapped for the config with the new
//! key in place of the old ones; with `--rotate` (a leaked key: whoever holds it may have
//! kept the data keys) each gets a new data key instead.
//!
//! plan → apply → outcome, as [`super::offboard`]: the files are changed for the
//! **proposed** config first and the config is saved last, only when every file succeeded.
//! Interrupted or failed, the config still names the old key, with nothing recorded: the
//! files already done are wrapped for the new key (the member reads them with it; `status`
//! shows them as drifted, and `updatekeys` refuses to drop the new key), and running the
//! same command again finishes the work (done files are unchanged).

use super::batch::{self, Job, Op};
use crate::config::edit::ConfigDoc;
use crate::config::{Config, ConfigError};
use crate::fsutil::lock::Lock;
use crate::keys::recipient::same_key;
use crate::keys::{Identities, Recipient};
use crate::team;

/// What [`apply`] will do.
#[derive(Debug)]
pub struct Plan<'c> {
    pub member: String,
    /// The keys the member had, as the config writes them.
    pub old_keys: Vec<String>,
    pub new_key: String,
    /// The config with the new key: the recipients every file gets.
    pub proposed: Config,
    /// One re-wrap (or rotation) per file the member reads.
    pub files: batch::Plan<'c>,
    /// The config document with the new key, saved by [`apply`] last.
    doc: ConfigDoc,
}

/// What [`apply`] did.
#[derive(Debug)]
pub struct Outcome {
    pub files: batch::Outcome,
    pub config_saved: bool,
    /// Whether any file was written (not when one was refused: all are then only checked).
    pub written: bool,
}

/// Plans replacing `name`'s keys with `key` (the config read under its lock). Errors: an
/// unknown member, the key they already have, another member's key (the proposed config is
/// invalid), a `.sops.yaml` config, an unfinished revocation.
pub fn plan<'c>(
    cfg: &'c Config,
    name: &str,
    key: &Recipient,
    rotate: bool,
) -> Result<Plan<'c>, ConfigError> {
    if let Some(r) = cfg.revoking() {
        return Err(ConfigError::invalid(
            cfg.path(),
            r.line,
            format!(
                "an unfinished revocation is recorded; finish it first: secrets {}",
                r.command()
            ),
        ));
    }
    let member = cfg.member_or_error(name)?;
    let old_keys: Vec<String> = member.recipients.iter().map(|r| r.to_string()).collect();
    let new_key = key.to_string();
    if old_keys.len() == 1 && same_key(&old_keys[0], &new_key) {
        return Err(ConfigError::command(
            cfg.path(),
            format!("member {name:?} already has that key"),
        ));
    }
    let mut doc = ConfigDoc::load(cfg.path())?;
    doc.set_member_key(name, &new_key)?;
    let proposed = doc.validate()?;
    let envs: Vec<String> = cfg
        .environments()
        .iter()
        .filter(|e| e.members.iter().any(|m| m == name))
        .map(|e| e.name.clone())
        .collect();
    let files = super::offboard::readable_by(cfg, &old_keys, &envs)?;
    let jobs = files
        .iter()
        .map(|(path, file)| Job {
            path: path.clone(),
            recipients: recipients_for(&proposed, path, file, &old_keys, key),
            services: None,
            grouping: batch::Grouping::wanted(&proposed, path),
        })
        .collect();
    Ok(Plan {
        member: name.to_string(),
        old_keys: old_keys.clone(),
        new_key,
        proposed,
        files: batch::Plan {
            op: if rotate { Op::Rotate } else { Op::Rewrap },
            jobs,
            skipped: Vec::new(),
            config: Some(cfg),
            swap: Some(batch::Swap {
                old: old_keys,
                new: key.clone(),
            }),
        },
        doc,
    })
}

/// The recipients `proposed` names for a file in an environment; for one in none, its own
/// with the old keys replaced by the new one.
fn recipients_for(
    proposed: &Config,
    path: &std::path::Path,
    file: &crate::engine::EncryptedFile,
    old: &[String],
    new: &Recipient,
) -> Result<Option<Vec<Recipient>>, batch::BatchError> {
    match team::wanted(proposed, path) {
        Ok(Some(w)) => Ok(Some(w.recipients)),
        Ok(None) => {
            let own = team::current_recipients(file)?;
            let mut kept: Vec<Recipient> = own
                .into_iter()
                .filter(|r| !old.iter().any(|k| same_key(k, &r.to_string())))
                .collect();
            if !kept
                .iter()
                .any(|r| same_key(&r.to_string(), &new.to_string()))
            {
                kept.push(new.clone());
            }
            Ok(Some(kept))
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs the plan: every file re-wrapped (or rotated) for the proposed config, then the
/// config saved with the new key, only when every file succeeded. With `dry_run`, or when a
/// file cannot be planned, every file is still checked (keys unwrapped, MACs verified) and
/// nothing is written. `lock` is the config's lock, held since `cfg` was read.
pub fn apply(
    plan: Plan,
    lock: &Lock,
    ids: &Identities,
    dry_run: bool,
) -> Result<Outcome, ConfigError> {
    let Plan { files, mut doc, .. } = plan;
    let unplannable = files.jobs.iter().any(|j| j.recipients.is_err());
    // Every file checked first: one refused leaves all as they were, not some re-wrapped
    // for a key the config does not name yet.
    let write = !dry_run && !unplannable && batch::would_succeed(&files, ids);
    let files = batch::apply(files, ids, !write);
    if !write || !files.all_succeeded() {
        return Ok(Outcome {
            files,
            config_saved: false,
            written: write,
        });
    }
    doc.save(lock)?;
    Ok(Outcome {
        files,
        config_saved: true,
        written: true,
    })
}
