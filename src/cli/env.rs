//! `secrets env add ENV --files GLOB… | grant ENV MEMBER… | revoke ENV MEMBER… | list`:
//! environments in `.secrets.yaml`, the files that belong to each, and who may read them.
//!
//! `grant` changes the config only: someone who can decrypt then runs `secrets updatekeys`
//! (so a pull request can add access without holding any key). `revoke` also rotates the
//! environment's files at once, as `member remove` does, and lists the key paths the
//! revoked members could read.

use std::process::ExitCode;

use super::output::{self, config_start, shown};
use super::status::ListFormat;
use super::{batch, Global};
use crate::config::edit::ConfigDoc;
use crate::config::ConfigError;
use crate::team;
use crate::workspace::{self, offboard, offboard::Revocation};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Add an environment: the files that belong to it (globs relative to the config's
    /// directory; `**` crosses directories) and, optionally, its first members.
    #[command(
        override_usage = "secrets env add <ENV> --files <GLOB>... [--member <MEMBER>]... [--default]",
        after_help = "\
ENV may also come last, after the globs (`--files .env.staging staging`) when it is a plain
name (letters, digits, '_', '-'): --files takes every value up to the next option."
    )]
    Add {
        /// The environment's name (e.g. dev, staging, prod).
        env: Option<String>,
        /// Globs of the environment's files, e.g. 'config/prod/**' .env.prod
        #[arg(long, required = true, num_args = 1.., value_name = "GLOB")]
        files: Vec<String>,
        /// Members who may read it (repeatable; more later with `env grant`).
        #[arg(long = "member", short = 'm', value_name = "MEMBER")]
        members: Vec<String>,
        /// Make it the default environment (for `exec`/`export --env`).
        #[arg(long)]
        default: bool,
    },
    /// Let members read an environment (then run `secrets updatekeys`).
    Grant {
        /// The environment (see `secrets env list`).
        env: String,
        /// Members to add to it (see `secrets member list`).
        #[arg(required = true, value_name = "MEMBER")]
        members: Vec<String>,
    },
    /// Stop members reading an environment: its files are rotated (new data key) and the
    /// key paths they could read are listed.
    Revoke {
        /// The environment (see `secrets env list`).
        env: String,
        /// Members to remove from it.
        #[arg(required = true, value_name = "MEMBER")]
        members: Vec<String>,
        /// Show what would happen; write nothing.
        #[arg(long, short = 'n')]
        dry_run: bool,
        #[command(flatten)]
        ids: super::IdentityArg,
    },
    /// List environments, their members and file globs.
    #[command(visible_alias = "ls")]
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Human)]
        format: ListFormat,
    },
}

impl Command {
    /// The `-I` files given to this subcommand.
    pub fn identity(&self) -> &[std::path::PathBuf] {
        match self {
            Command::Revoke { ids, .. } => &ids.identity,
            _ => &[],
        }
    }
}

pub fn run(cmd: Command, g: &Global) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Add {
            env,
            mut files,
            members,
            default,
        } => {
            let env = env_then_globs(env, &mut files)?;
            add(&env, &files, &members, default, g)
        }
        Command::Grant { env, members } => grant(&env, &members, g),
        Command::Revoke {
            env,
            members,
            dry_run,
            ..
        } => revoke(&env, &members, dry_run, g),
        Command::List { format } => list(format),
    }
}

/// `env add --files A B staging`: clap gives every value to `--files`, so a plain name
/// (letters, digits, `_`, `-`; no glob or path character, no dot) left last is the
/// environment when none came first. Anything else is an error naming what to write.
fn env_then_globs(env: Option<String>, files: &mut Vec<String>) -> anyhow::Result<String> {
    if let Some(env) = env {
        return Ok(env);
    }
    let plain = |s: &str| {
        crate::config::valid_name(s)
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    match files.last() {
        Some(last) if files.len() > 1 && plain(last) => Ok(files.pop().unwrap_or_default()),
        _ => Err(super::exit::CliError::new(
            super::exit::INPUT,
            "env add: no environment name given",
        )
        .hint("put it first: secrets env add ENV --files GLOB…")
        .into()),
    }
}

fn add(
    env: &str,
    files: &[String],
    members: &[String],
    default: bool,
    g: &Global,
) -> anyhow::Result<ExitCode> {
    let (lock, cfg) = workspace::lock_config(&config_start(&[])?)?;
    if !crate::config::valid_name(env) {
        return Err(ConfigError::command(
            cfg.path(),
            format!("invalid environment name {env:?} (use letters, digits, '.', '_', '@', '-')"),
        )
        .into());
    }
    let mut doc = ConfigDoc::load(cfg.path())?;
    doc.add_env(env, files, &[])?;
    doc.grant(env, members)?;
    if default {
        doc.set_default(env);
    }
    let cfg = doc.save(&lock)?;
    let existing = team::encrypted_files(&cfg)?
        .into_iter()
        .filter(|p| {
            cfg.relative(p)
                .and_then(|r| cfg.environment_for(&r).map(|e| e == env))
                == Some(true)
        })
        .count();
    output::note(
        g,
        format!(
            "added environment {env} to {}{}",
            shown(cfg.path()).display(),
            if existing > 0 {
                format!("; {existing} encrypted file(s) already match: run secrets updatekeys")
            } else {
                String::new()
            }
        ),
    );
    Ok(ExitCode::SUCCESS)
}

fn grant(env: &str, members: &[String], g: &Global) -> anyhow::Result<ExitCode> {
    let (lock, cfg) = workspace::lock_config(&config_start(&[])?)?;
    let mut doc = ConfigDoc::load(cfg.path())?;
    let added = doc.grant(env, members)?;
    if added.is_empty() {
        output::note(g, format!("{} already in {env}", members.join(", ")));
        return Ok(ExitCode::SUCCESS);
    }
    doc.save(&lock)?;
    output::note(
        g,
        format!(
            "granted {} access to {env}\nnext: secrets updatekeys (by a member who can decrypt {env}'s files)",
            added.join(", ")
        ),
    );
    Ok(ExitCode::SUCCESS)
}

fn revoke(env: &str, members: &[String], dry_run: bool, g: &Global) -> anyhow::Result<ExitCode> {
    // Held to the end: the config, then each file while it is rotated.
    let (lock, cfg) = workspace::lock_config(&config_start(&[])?)?;
    let revocation = Revocation::Env {
        env: env.to_string(),
        members: members.to_vec(),
    };
    let plan = offboard::plan(&cfg, revocation)?;
    let ids = output::identities(g)?;
    batch::offboard(plan, &lock, &ids, dry_run, &cfg, g)
}

fn list(format: ListFormat) -> anyhow::Result<ExitCode> {
    let cfg = workspace::load_config(&config_start(&[])?)?;
    let default = cfg.default_env();
    match format {
        ListFormat::Json => {
            let list: Vec<serde_json::Value> = cfg
                .environments()
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "name": e.name,
                        "default": default == Some(e.name.as_str()),
                        "files": e.globs,
                        "path_regex": e.path_regex.as_ref().map(|r| r.as_str()),
                        "members": e.members,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
        ListFormat::Human => {
            let rows: Vec<[String; 3]> = cfg
                .environments()
                .iter()
                .map(|e| {
                    let mut name = e.name.clone();
                    if default == Some(e.name.as_str()) {
                        name.push_str(" (default)");
                    }
                    let mut files = e.globs.join(" ");
                    if let Some(r) = &e.path_regex {
                        files = format!("{files} regex:{}", r.as_str()).trim().to_string();
                    }
                    [
                        name,
                        if e.members.is_empty() {
                            "-".into()
                        } else {
                            e.members.join(",")
                        },
                        files,
                    ]
                })
                .collect();
            super::status::print_table(&["ENV", "MEMBERS", "FILES"], &rows);
        }
    }
    Ok(ExitCode::SUCCESS)
}
