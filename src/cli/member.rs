//! `secrets member add NAME KEY | remove NAME | list`: the people (and machines) in
//! `.secrets.yaml`.
//!
//! `add` only records the public key: access comes with `secrets env grant` and
//! `secrets updatekeys`. `remove` is offboarding: the member leaves every environment, each
//! file they could read gets a new data key (all values re-encrypted, so the old data key
//! they may have kept opens nothing new), and the key paths they could read are listed so
//! the team knows which credentials to change at their source. Values are never printed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;

use super::status::ListFormat;
use super::updatekeys::{load_config, lock_config, run_jobs, shown, Job, Op};
use super::{output, Global};
use crate::config::edit::ConfigDoc;
use crate::config::{Config, ConfigError};
use crate::engine::EncryptedFile;
use crate::keys::Recipient;
use crate::team;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Add a member with their public key (age1…, ssh-ed25519 or ssh-rsa, or a .pub file).
    Add {
        /// Member name (letters, digits, '.', '_', '@', '-').
        name: String,
        /// Public key, or the path of a file holding one (e.g. ~/.ssh/id_ed25519.pub).
        key: String,
    },
    /// Remove a member: leave every environment, rotate every file they could read, and
    /// list the key paths they could read.
    #[command(visible_alias = "rm")]
    Remove {
        name: String,
        /// Show what would happen; write nothing.
        #[arg(long, short = 'n')]
        dry_run: bool,
    },
    /// List members, their environments and keys.
    #[command(visible_alias = "ls")]
    List {
        #[arg(long, value_enum, default_value_t = ListFormat::Human)]
        format: ListFormat,
    },
}

pub fn run(cmd: Command, g: &Global) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Add { name, key } => add(&name, &key, g),
        Command::Remove { name, dry_run } => remove(&name, dry_run, g),
        Command::List { format } => list(format),
    }
}

/// A key given on the command line, or read from a file (the first key line of it).
fn read_key(arg: &str) -> anyhow::Result<Recipient> {
    let path = Path::new(arg);
    let text = if !arg.starts_with("age1") && !arg.starts_with("ssh-") && path.is_file() {
        std::fs::read_to_string(path)?
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("age1") || l.starts_with("ssh-"))
            .unwrap_or_default()
            .to_string()
    } else {
        arg.to_string()
    };
    Ok(Recipient::from_str(&text)?)
}

fn add(name: &str, key: &str, g: &Global) -> anyhow::Result<ExitCode> {
    let (lock, cfg) = lock_config(&[])?;
    if !crate::config::valid_name(name) {
        return Err(ConfigError::command(
            cfg.path(),
            format!("invalid member name {name:?} (use letters, digits, '.', '_', '@', '-')"),
        )
        .into());
    }
    // A bad key would make the config invalid: a config error (5), naming the file.
    let recipient = read_key(key)
        .map_err(|e| ConfigError::command(cfg.path(), format!("member {name:?}: {e:#}")))?;
    let mut doc = ConfigDoc::load(cfg.path())?;
    doc.add_member(name, &recipient.to_string())?;
    doc.save(&lock)?;
    output::note(
        g,
        format!(
            "added member {name} ({}) to {}\nnext: secrets env grant ENV {name}, then secrets updatekeys",
            crate::config::abbreviate(&recipient.to_string()),
            shown(cfg.path()).display()
        ),
    );
    Ok(ExitCode::SUCCESS)
}

/// The encrypted files that any of `keys` can open (by the file's own recipients), or that
/// belong to one of `envs`; with the file loaded.
pub(super) fn readable_by(
    cfg: &Config,
    keys: &[String],
    envs: &[String],
) -> anyhow::Result<Vec<(PathBuf, EncryptedFile)>> {
    let files = cfg.walk_files()?;
    let loaded = team::parallel_map(&files, |p| team::load_if_encrypted(p));
    let mut out = Vec::new();
    for (path, file) in files.into_iter().zip(loaded) {
        let Some(file) = file else { continue };
        let has_key = file
            .recipients()
            .iter()
            .any(|r| keys.iter().any(|k| crate::keys::recipient::same_key(k, r)));
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

/// Prints, per file, the key paths of the encrypted values `who` could read.
pub(super) fn print_exposure(who: &str, files: &[(PathBuf, EncryptedFile)], g: &Global) {
    if files.is_empty() {
        output::note(g, format!("{who} could read no encrypted file"));
        return;
    }
    println!(
        "{who} could read these values ({} file(s)); change them at their source:",
        files.len()
    );
    for (path, file) in files {
        println!("  {}", shown(path).display());
        for key in team::secret_paths(file) {
            println!("    {key}");
        }
    }
}

/// Rotation jobs for files after `removed` keys lost access: recipients from `new_cfg`
/// for files in an environment, else the file's own minus the removed keys.
pub(super) fn rotation_jobs(
    new_cfg: &Config,
    files: &[(PathBuf, EncryptedFile)],
    removed: &[String],
) -> Vec<Job> {
    files
        .iter()
        .map(|(path, file)| {
            let recipients = match team::wanted(new_cfg, path) {
                Ok(Some(w)) => Ok(Some(w.recipients)),
                Ok(None) => team::current_recipients(file)
                    .map(|rs| {
                        Some(
                            rs.into_iter()
                                .filter(|r| !removed.contains(&r.to_string()))
                                .collect(),
                        )
                    })
                    .map_err(anyhow::Error::from),
                Err(e) => Err(e.into()),
            };
            Job {
                path: shown(path),
                recipients,
            }
        })
        .collect()
}

fn remove(name: &str, dry_run: bool, g: &Global) -> anyhow::Result<ExitCode> {
    // Held to the end: the config, then each file while it is rotated.
    let (lock, cfg) = lock_config(&[])?;
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
    // Identities first: a missing key should stop us before the config changes.
    let ids = output::identities(g)?;
    let files = readable_by(&cfg, &keys, &envs)?;
    print_exposure(name, &files, g);
    let mut doc = ConfigDoc::load(cfg.path())?;
    doc.remove_member(name)?;
    let new_cfg = if dry_run {
        doc.validate()?
    } else {
        doc.save(&lock)?
    };
    output::note(
        g,
        format!(
            "{} member {name} from {}{}",
            if dry_run { "would remove" } else { "removed" },
            shown(cfg.path()).display(),
            if envs.is_empty() {
                String::new()
            } else {
                format!(" (environments: {})", envs.join(", "))
            }
        ),
    );
    let jobs = rotation_jobs(&new_cfg, &files, &keys);
    run_jobs(Some(&cfg), jobs, Op::Rotate, dry_run, &ids, g)
}

fn list(format: ListFormat) -> anyhow::Result<ExitCode> {
    let cfg = load_config(&[])?;
    let envs_of = |name: &str| -> Vec<&str> {
        cfg.environments()
            .iter()
            .filter(|e| e.members.iter().any(|m| m == name))
            .map(|e| e.name.as_str())
            .collect()
    };
    match format {
        ListFormat::Json => {
            let list: Vec<serde_json::Value> = cfg
                .members()
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "name": m.name,
                        "keys": m.recipients.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                        "environments": envs_of(&m.name),
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
        ListFormat::Human => {
            let rows: Vec<[String; 3]> = cfg
                .members()
                .iter()
                .map(|m| {
                    let envs = envs_of(&m.name);
                    [
                        m.name.clone(),
                        if envs.is_empty() {
                            "-".into()
                        } else {
                            envs.join(",")
                        },
                        m.recipients
                            .iter()
                            .map(|r| r.to_string())
                            .collect::<Vec<_>>()
                            .join(" , "),
                    ]
                })
                .collect();
            super::status::print_table(&["NAME", "ENVIRONMENTS", "KEY"], &rows);
        }
    }
    Ok(ExitCode::SUCCESS)
}
