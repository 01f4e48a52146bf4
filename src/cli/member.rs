//! `secrets member add NAME KEY | rekey NAME KEY | remove NAME | list`: the people (and machines) in
//! `.secrets.yaml`.
//!
//! `add` only records the public key: access comes with `secrets env grant` and
//! `secrets updatekeys`. `remove` is offboarding: the member leaves every environment, each
//! file they could read gets a new data key (all values re-encrypted, so the old data key
//! they may have kept opens nothing new), and the key paths they could read are listed so
//! the team knows which credentials to change at their source. `rekey` replaces a member's
//! key: the files they read are re-wrapped for the new one (`--rotate`: new data keys, for
//! a leaked key) before the config names it ([`crate::workspace::rekey`]). Values are never
//! printed.

use std::path::Path;
use std::process::ExitCode;
use std::str::FromStr;

use super::output::{self, config_start, shown};
use super::status::ListFormat;
use super::{batch, Global};
use crate::config::edit::ConfigDoc;
use crate::config::ConfigError;
use crate::keys::recipient::{is_private_key, BadRecipient};
use crate::keys::Recipient;
use crate::workspace::{self, offboard, offboard::Revocation, rekey};

#[derive(clap::Subcommand, Debug)]
#[command(defer = true)]
pub enum Command {
    /// Add a member with their public key (age1…, ssh-ed25519 or ssh-rsa, or a .pub file).
    Add {
        /// Member name (letters, digits, '.', '_', '@', '-').
        name: String,
        /// Public key, or the path of a file holding one (e.g. ~/.ssh/id_ed25519.pub).
        /// (Hyphen values accepted: a pasted `-----BEGIN … PRIVATE KEY` block is refused by
        /// us without being echoed, instead of quoted whole by the argument parser.)
        #[arg(allow_hyphen_values = true)]
        key: String,
    },
    /// Remove a member: leave every environment, rotate every file they could read, and
    /// list the key paths they could read.
    #[command(visible_aliases = ["rm", "delete"])]
    Remove {
        /// The member's name (see `secrets member list`).
        name: String,
        /// Show what would happen; write nothing.
        #[arg(long, short = 'n')]
        dry_run: bool,
        #[command(flatten)]
        ids: super::IdentityArg,
    },
    /// Replace a member's public key(s) with KEY: re-wrap every file they read for it
    /// (--rotate: new data keys, for a leaked key), then save the config.
    Rekey {
        /// The member's name (see `secrets member list`).
        name: String,
        /// The new public key, or the path of a file holding one.
        #[arg(allow_hyphen_values = true)]
        key: String,
        /// Also rotate those files' data keys (the old key leaked: its holder may have kept
        /// them).
        #[arg(long)]
        rotate: bool,
        /// Show what would happen; write nothing.
        #[arg(long, short = 'n')]
        dry_run: bool,
        #[command(flatten)]
        ids: super::IdentityArg,
    },
    /// List members, their environments and keys.
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
            Command::Remove { ids, .. } | Command::Rekey { ids, .. } => &ids.identity,
            _ => &[],
        }
    }
}

pub fn run(cmd: Command, g: &Global) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Add { name, key } => add(&name, &key, g),
        Command::Remove { name, dry_run, .. } => remove(&name, dry_run, g),
        Command::Rekey {
            name,
            key,
            rotate,
            dry_run,
            ..
        } => rekey(&name, &key, rotate, dry_run, g),
        Command::List { format } => list(format),
    }
}

/// A key given on the command line, or read from a file (the first key line of it). A
/// private key, given or in the file, is refused without quoting any of it.
fn read_key(arg: &str) -> anyhow::Result<Recipient> {
    let path = Path::new(arg);
    let named_file = !arg.starts_with("age1")
        && !arg.starts_with("ssh-")
        && !is_private_key(arg)
        && path.is_file();
    if !named_file {
        return Ok(Recipient::from_str(arg)?);
    }
    // A public key file is one line; read no more than a page of any file.
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| {
            std::io::Read::read_to_string(&mut std::io::Read::take(f, 64 << 10), &mut text)
        })
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if is_private_key(&text) {
        anyhow::bail!("{}: {}", path.display(), BadRecipient::PrivateKey);
    }
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("age1") || l.starts_with("ssh-"))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{}: no public key in it (a line starting with age1 or ssh-)",
                path.display()
            )
        })?;
    Ok(Recipient::from_str(line)?)
}

fn add(name: &str, key: &str, g: &Global) -> anyhow::Result<ExitCode> {
    let (lock, cfg) = workspace::lock_config(&config_start(&[])?)?;
    if !crate::config::valid_name(name) {
        return Err(ConfigError::command(
            cfg.path(),
            format!("invalid member name {name:?} (use letters, digits, '.', '_', '@', '-')"),
        )
        .into());
    }
    // A bad key is the argument's fault, not the config's: a usage error (2) naming it.
    let recipient = read_key(key).map_err(|e| {
        super::exit::CliError::new(super::exit::INPUT, format!("member add {name}: KEY: {e:#}"))
            .hint("give a public key: the age1… line `secrets keygen` printed, an ssh-ed25519/ssh-rsa public key, or a .pub file")
    })?;
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

fn rekey(
    name: &str,
    key: &str,
    rotate: bool,
    dry_run: bool,
    g: &Global,
) -> anyhow::Result<ExitCode> {
    // Held to the end: the config, then each file while it is re-wrapped.
    let (lock, cfg) = workspace::lock_config(&config_start(&[])?)?;
    let recipient = read_key(key).map_err(|e| {
        super::exit::CliError::new(super::exit::INPUT, format!("member rekey {name}: KEY: {e:#}"))
            .hint("give a public key: the age1… line `secrets keygen` printed, an ssh-ed25519/ssh-rsa public key, or a .pub file")
    })?;
    let plan = rekey::plan(&cfg, name, &recipient, rotate)?;
    let op = plan.files.op;
    let old = plan
        .old_keys
        .iter()
        .map(|k| crate::config::abbreviate(k))
        .collect::<Vec<_>>()
        .join(", ");
    let new = crate::config::abbreviate(&plan.new_key);
    let ids = output::identities(g)?;
    let outcome = rekey::apply(plan, &lock, &ids, dry_run)?;
    let label = "member rekey";
    // A refused file means every file was only checked: report them as "would".
    let checked_only = dry_run || !outcome.written;
    let code = batch::report(&outcome.files, op, label, checked_only, Some(&cfg), g);
    let config = shown(cfg.path());
    if let Some(code) = code.filter(|_| !dry_run) {
        let failed = outcome.files.failures().count();
        let total = outcome.files.files.len();
        return Err(super::exit::CliError::new(
            code,
            format!(
                "member rekey {name}: {failed} of {total} file(s) could not be {}; {} still names the old key of {name} ({old})",
                if rotate { "rotated" } else { "re-wrapped" },
                config.display()
            ),
        )
        .hint(if outcome.written {
            format!("files already done are wrapped for the new key ({new}) and no longer for the old one; fix the failed files (restore a tampered one from git; one you cannot open: a member who can runs this command), then run secrets member rekey {name} KEY again to finish")
        } else {
            format!("no file was written; a file that would lose another reader needs a new data key: secrets member rekey {name} KEY --rotate (or restore the config, or run secrets updatekeys --rotate FILE first)")
        })
        .into());
    }
    output::note(
        g,
        format!(
            "{} the key of member {name} in {}: {old} -> {new}",
            if dry_run { "would replace" } else { "replaced" },
            config.display()
        ),
    );
    Ok(match code {
        Some(code) => ExitCode::from(code),
        None => ExitCode::SUCCESS,
    })
}

fn remove(name: &str, dry_run: bool, g: &Global) -> anyhow::Result<ExitCode> {
    // Held to the end: the config, then each file while it is rotated.
    let (lock, cfg) = workspace::lock_config(&config_start(&[])?)?;
    let plan = offboard::plan(&cfg, Revocation::Member(name.to_string()))?;
    let ids = output::identities(g)?;
    batch::offboard(plan, &lock, &ids, dry_run, &cfg, g)
}

fn list(format: ListFormat) -> anyhow::Result<ExitCode> {
    let cfg = workspace::load_config(&config_start(&[])?)?;
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
