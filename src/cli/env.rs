//! `secrets env add ENV --files GLOB… | grant ENV MEMBER… | revoke ENV MEMBER… | remove ENV
//! | rename OLD NEW | set ENV [--files GLOB…] [--default] | list`: environments in
//! `.secrets.yaml`, the files that belong to each, and who may read them.
//!
//! `grant` changes the config only: someone who can decrypt then runs `secrets updatekeys`
//! (so a pull request can add access without holding any key). `revoke` also rotates the
//! environment's files at once, as `member remove` does, and lists the key paths the
//! revoked members could read. `remove`, `rename` and `set` are
//! [`crate::workspace::envs`]: which files change environment, re-wrapped or rotated for
//! their new readers; files left in no environment are refused unless `--keep-files`.

use std::process::ExitCode;

use super::output::{self, config_start, shown};
use super::status::ListFormat;
use super::{batch, exit, Global};
use crate::config::edit::ConfigDoc;
use crate::config::raw::RawKms;
use crate::config::ConfigError;
use crate::team;
use crate::workspace::batch::Op;
use crate::workspace::envs::{self, Change, ChangeError, DefaultEnv, Move, Rekey};
use crate::workspace::{self, offboard, offboard::Revocation};

#[derive(clap::Subcommand, Debug)]
#[command(defer = true)]
pub enum Command {
    /// Add an environment: the files that belong to it (globs relative to the config's
    /// directory; `**` crosses directories) and, optionally, its first members.
    #[command(
        override_usage = "secrets env add <ENV> --files <GLOB>... [--member <MEMBER>]... [--vault-transit <URL>]... [--kms <ARN>]... [--encryption-context <K:V,…>] [--aws-profile <PROFILE>] [--pgp <FINGERPRINT>]... [--default]",
        after_help = "\
ENV may also come last, after the globs (`--files .env.staging staging`) when it is a plain
name (letters, digits, '_', '-'): --files takes every value up to the next option."
    )]
    Add {
        /// The environment's name (e.g. dev, staging, prod): required, before or after
        /// the globs.
        env: Option<String>,
        /// Globs of the environment's files, e.g. 'config/prod/**' .env.prod
        #[arg(long, required = true, num_args = 1.., value_name = "GLOB")]
        files: Vec<String>,
        /// Members who may read it (repeatable; more later with `env grant`).
        #[arg(long = "member", short = 'm', value_name = "MEMBER")]
        members: Vec<String>,
        /// A Vault / OpenBao transit key every file is also wrapped with, so a server or
        /// CI with a Vault token decrypts without an age key (repeatable):
        /// $VAULT_ADDR/v1/ENGINE/keys/KEY.
        #[arg(long = "vault-transit", value_name = "URL")]
        vault_transit: Vec<String>,
        /// An AWS KMS key every file is also wrapped with, so a server or CI with an AWS
        /// role decrypts without an age key (repeatable): ARN, or ARN+ROLE_ARN.
        #[arg(long = "kms", value_name = "ARN")]
        kms: Vec<String>,
        /// The encryption context of the --kms keys, as `encrypt` takes it: KEY:VALUE,…
        /// (written in each kms entry; decrypting needs the same pairs).
        #[arg(long, value_name = "K:V,…")]
        encryption_context: Option<String>,
        /// The shared-files AWS profile the --kms keys are used with (written in each kms
        /// entry, as sops writes it in a file).
        #[arg(long, value_name = "PROFILE")]
        aws_profile: Option<String>,
        /// A PGP key every file is also wrapped with, decrypted through the user's gpg
        /// (repeatable): its fingerprint.
        #[arg(long = "pgp", value_name = "FINGERPRINT")]
        pgp: Vec<String>,
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
    /// Remove an environment from the config. Its encrypted files would stay encrypted for
    /// its members with no environment naming them: refused while there are any, unless
    /// --keep-files.
    #[command(visible_aliases = ["rm", "delete"])]
    Remove {
        /// The environment to remove.
        env: String,
        /// Remove it although encrypted files belong to it: they are left as they are,
        /// encrypted for their readers, in no environment (delete them with git rm).
        #[arg(long)]
        keep_files: bool,
        /// Show what would happen; write nothing.
        #[arg(long, short = 'n')]
        dry_run: bool,
    },
    /// Rename an environment: its files, members and rules stay; `default:` follows.
    #[command(visible_alias = "mv")]
    Rename {
        /// The environment to rename.
        from: String,
        /// Its new name.
        to: String,
    },
    /// Change an environment: replace its file globs and/or make it the default. Files
    /// that join it are re-wrapped for its members, or rotated when a reader of theirs is
    /// not one (a re-wrap cannot take back a data key).
    #[command(group(
        clap::ArgGroup::new("change")
            .required(true)
            .multiple(true)
            .args(["files", "default"])
    ))]
    Set {
        /// The environment to change.
        env: Option<String>,
        /// Its new globs, replacing the old ones, e.g. 'config/dev/**' .env
        #[arg(long, num_args = 1.., value_name = "GLOB")]
        files: Option<Vec<String>>,
        /// Make it the default environment (for `exec`/`export --env`).
        #[arg(long)]
        default: bool,
        /// Change the globs although encrypted files would then be in no environment: they
        /// are left as they are, encrypted for their readers.
        #[arg(long)]
        keep_files: bool,
        /// Show which files change environment and what each needs; write nothing.
        #[arg(long, short = 'n')]
        dry_run: bool,
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
            vault_transit,
            kms,
            encryption_context,
            aws_profile,
            pgp,
            default,
        } => {
            let env = env_then_globs("env add", env, &mut files)?;
            // Each flag takes a comma-separated list, as `encrypt`'s do.
            let split = super::encrypt::comma_separated;
            let keys = ServiceEntries {
                vault_transit: split(&vault_transit),
                kms: kms_entries(&split(&kms), encryption_context.as_deref(), aws_profile)?,
                pgp: split(&pgp),
            };
            add(&env, &files, &members, &keys, default, g)
        }
        Command::Grant { env, members } => grant(&env, &members, g),
        Command::Revoke {
            env,
            members,
            dry_run,
            ..
        } => revoke(&env, &members, dry_run, g),
        Command::Remove {
            env,
            keep_files,
            dry_run,
        } => change(Change::Remove { env }, keep_files, dry_run, g),
        Command::Rename { from, to } => change(Change::Rename { from, to }, false, false, g),
        Command::Set {
            env,
            mut files,
            default,
            keep_files,
            dry_run,
        } => {
            let env = match files.as_mut() {
                Some(globs) => env_then_globs("env set", env, globs)?,
                None => env_then_globs("env set", env, &mut Vec::new())?,
            };
            let change_set = Change::Set {
                env,
                files,
                default,
            };
            change(change_set, keep_files, dry_run, g)
        }
        Command::List { format } => list(format),
    }
}

/// `env remove`, `env rename`, `env set`: prints each file that changes environment and
/// what it needs, runs the plan, prints the re-keyed files and the config change.
fn change(change: Change, keep_files: bool, dry_run: bool, g: &Global) -> anyhow::Result<ExitCode> {
    // Held to the end: the config, then each file while it is re-keyed.
    let (lock, cfg) = workspace::lock_config(&config_start(&[])?)?;
    let plan = envs::plan(&cfg, change)?;
    let change = plan.change.clone();
    if !g.quiet {
        match &change {
            Change::Rename { to, .. } if !plan.moves.is_empty() => {
                println!(
                    "{} encrypted file(s) now in {to}; none changes",
                    plan.moves.len()
                )
            }
            Change::Rename { .. } => {}
            _ => plan
                .moves
                .iter()
                .for_each(|m| println!("{}", describe_move(m, &cfg))),
        }
    }
    // Only files that join an environment need a key.
    let ids = if plan.rekey.jobs.is_empty() {
        crate::keys::Identities::load(&Default::default())?
    } else {
        output::identities(g)?
    };
    let default = plan.default;
    let proposed = plan.proposed.clone();
    let outcome = match envs::apply(plan, &lock, &ids, dry_run, keep_files) {
        Ok(o) => o,
        Err(ChangeError::Config(e)) => return Err(e.into()),
        Err(e @ ChangeError::WouldOrphan { .. }) => {
            return Err(exit::CliError::new(exit::GENERIC, e.to_string())
                .hint("move them to an environment first (secrets env set ENV --files GLOB…), delete them (git rm FILE), or leave them as they are with --keep-files")
                .into())
        }
    };
    let op = Op::Update {
        rotate_on_drop: true,
    };
    let code = (!outcome.files.files.is_empty())
        .then(|| batch::report(&outcome.files, op, "env set", dry_run, Some(&cfg), g))
        .flatten();
    let done = summary(&change, default, &cfg);
    output::note(
        g,
        if dry_run {
            format!("dry run, nothing written: {done}")
        } else {
            done
        },
    );
    if let (Some(code), Some(left)) = (code, outcome.unfinished()) {
        let files: Vec<String> = left
            .files
            .iter()
            .map(|p| shown(p).display().to_string())
            .collect();
        return Err(exit::CliError::new(
            code,
            format!(
                "{}: {} saved; {} of {} file(s) could not be re-keyed for their new environment (failed lines above)",
                change.command(),
                shown(cfg.path()).display(),
                files.len(),
                outcome.files.files.len()
            ),
        )
        .hint(format!(
            "a member who can decrypt them runs: secrets updatekeys{} {}",
            if left.rotate { " --rotate" } else { "" },
            files.join(" ")
        ))
        .into());
    }
    if let (
        Change::Set {
            env,
            files: Some(_),
            ..
        },
        false,
    ) = (&change, dry_run)
    {
        output::warn_ignored(g, &workspace::ignored::env_ignored(&proposed, env)?);
    }
    Ok(code.map_or(ExitCode::SUCCESS, ExitCode::from))
}

/// The config change, in one line.
fn summary(change: &Change, default: DefaultEnv, cfg: &crate::config::Config) -> String {
    let config = shown(cfg.path());
    let config = config.display();
    match change {
        Change::Remove { env } => format!(
            "removed environment {env} from {config}{}",
            if default == DefaultEnv::Removed {
                "; it was the default: exec and export now need --env (or secrets env set ENV --default)"
            } else {
                ""
            }
        ),
        Change::Rename { from, to } => format!(
            "renamed environment {from} to {to} in {config}{}; scripts that pass --env {from} need --env {to}",
            if default == DefaultEnv::Renamed {
                " (the default)"
            } else {
                ""
            }
        ),
        Change::Set { env, files, .. } => {
            let mut parts = Vec::new();
            if let Some(globs) = files {
                parts.push(format!("files of {env}: {}", globs.join(" ")));
            }
            if default == DefaultEnv::Set {
                parts.push(format!("{env} is the default environment"));
            }
            if parts.is_empty() {
                format!("{env}: nothing changed")
            } else {
                format!("{} ({config})", parts.join("; "))
            }
        }
    }
}

/// One file's change of environment, for the listing.
fn describe_move(m: &Move, cfg: &crate::config::Config) -> String {
    let env = |e: &Option<String>| e.clone().unwrap_or_else(|| "no environment".into());
    let names = |keys: &[String]| {
        keys.iter()
            .map(|k| cfg.describe_key(k))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let what = match &m.rekey {
        Rekey::Left => format!("stays encrypted for {}", names(&m.recipients)),
        Rekey::Same => "already encrypted for its members".into(),
        Rekey::Rewrap(d) => format!("re-wrap for {}", names(&d.added)),
        Rekey::Rotate(d) => {
            let lose = if d.removed.len() == 1 {
                "loses"
            } else {
                "lose"
            };
            let mut w = format!("rotate: {} {lose} access", names(&d.removed));
            if !d.added.is_empty() {
                w.push_str(&format!(", {} gain(s) it", names(&d.added)));
            }
            w
        }
    };
    format!(
        "{}: {} → {}; {what}",
        shown(&m.path).display(),
        env(&m.from),
        env(&m.to)
    )
}

/// `env add --files A B staging` (or `env set`): clap gives every value to `--files`, so a plain name
/// (letters, digits, `_`, `-`; no glob or path character, no dot) left last is the
/// environment when none came first. Anything else is an error naming what to write.
fn env_then_globs(
    command: &str,
    env: Option<String>,
    files: &mut Vec<String>,
) -> anyhow::Result<String> {
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
            format!("{command}: no environment name given"),
        )
        .hint(format!("put it first: secrets {command} ENV --files GLOB…"))
        .into()),
    }
}

/// The key-service keys `env add` writes, as the config's entries take them.
struct ServiceEntries {
    vault_transit: Vec<String>,
    kms: Vec<RawKms>,
    pgp: Vec<String>,
}

/// `env add --kms ARN… [--encryption-context K:V,…] [--aws-profile NAME]`: each key as
/// the config's `kms:` entry takes it, the context and profile applied to every one (the
/// map form when either is set). Both need a key, as for `encrypt`.
fn kms_entries(
    keys: &[String],
    context: Option<&str>,
    profile: Option<String>,
) -> anyhow::Result<Vec<RawKms>> {
    if keys.is_empty() && (context.is_some() || profile.is_some()) {
        return Err(exit::CliError::new(
            exit::CONFLICT,
            "env add: --encryption-context and --aws-profile apply to --kms keys: pass --kms ARN",
        )
        .into());
    }
    let context: Vec<(String, String)> = match context {
        Some(text) => super::encrypt::encryption_context(text)?
            .into_iter()
            .collect(),
        None => Vec::new(),
    };
    let aws_profile = profile.filter(|p| !p.is_empty());
    Ok(keys
        .iter()
        .map(|key| RawKms {
            key: key.clone(),
            context: context.clone(),
            aws_profile: aws_profile.clone(),
        })
        .collect())
}

fn add(
    env: &str,
    files: &[String],
    members: &[String],
    keys: &ServiceEntries,
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
    // Written as given (sops's forms); the saved config is parsed, which checks each.
    doc.set_service_keys(env, "vault_transit", &keys.vault_transit)?;
    doc.set_kms(env, &keys.kms)?;
    doc.set_service_keys(env, "pgp", &keys.pgp)?;
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
    output::warn_ignored(g, &workspace::ignored::env_ignored(&cfg, env)?);
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
