//! Command-line interface: argument parsing (clap derive), one file per command, and the
//! exit-code table. Only this module prints, reads argv or the environment for options,
//! and picks exit codes.

mod batch;
pub mod exit;
mod output;
mod progress;

mod audit;
mod check;
mod completions;
mod decrypt;
mod edit;
mod encrypt;
mod env;
mod exec;
mod export;
mod generate;
mod get;
mod git;
mod hook;
mod import;
mod init;
mod keygen;
mod log;
mod man;
mod member;
mod resolve;
mod rotate;
mod rotate_value;
mod scan;
mod set;
mod status;
mod unset;
mod updatekeys;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::store::Format;

/// Keep a team's secrets in git, encrypted (sops-compatible, age keys).
#[derive(Parser, Debug)]
#[command(name = "secrets", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub top: TopLevel,
    #[command(subcommand)]
    pub command: Command,
}

/// Options given before the subcommand. `-q` applies to every command. `-I`,
/// `--input-type` and `--output-type` are shown by the commands they apply to (the
/// structs below, flattened there); before the subcommand they are still accepted, hidden,
/// as every earlier version took them (`secrets --input-type json decrypt f`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TopLevel {
    /// Print only errors.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    #[arg(long, short = 'I', value_name = "FILE", hide = true)]
    pub identity: Vec<PathBuf>,
    #[arg(long, value_enum, value_name = "FORMAT", hide = true)]
    pub input_type: Option<Format>,
    #[arg(long, value_enum, value_name = "FORMAT", hide = true)]
    pub output_type: Option<Format>,
}

// The option groups below are described in plain comments: clap's derive would make a
// doc comment on a flattened struct the description of every command that flattens it
// (`secrets decrypt --help` began with "`-I FILE`, for the commands that decrypt").

// `-I FILE`, for the commands that decrypt.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct IdentityArg {
    /// Age or ssh identity file to decrypt with (repeatable); tried before the defaults.
    #[arg(long, short = 'I', value_name = "FILE")]
    pub identity: Vec<PathBuf>,
}

// `--input-type`, for the commands that read a data file.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct InputTypeArg {
    /// Format of the input file, overriding the extension.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub input_type: Option<Format>,
}

// `--output-type`, for the commands that print or write a document.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct OutputTypeArg {
    /// Format of the output, overriding the extension.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub output_type: Option<Format>,
}

/// The options every command's code sees: the top-level ones merged with the command's
/// own (the command's format wins; identities from both are tried, top-level first).
#[derive(Debug, Clone, Default)]
pub struct Global {
    pub identity: Vec<PathBuf>,
    pub input_type: Option<Format>,
    pub output_type: Option<Format>,
    pub quiet: bool,
}

impl Global {
    fn resolve(top: &TopLevel, cmd: &Command) -> Global {
        let none: &[PathBuf] = &[];
        let (ids, input, output): (&[PathBuf], Option<Format>, Option<Format>) = match cmd {
            Command::Init(a) => (&a.ids.identity, None, None),
            Command::Encrypt(a) => (none, a.itype.input_type, a.otype.output_type),
            Command::Decrypt(a) => (&a.ids.identity, a.itype.input_type, a.otype.output_type),
            Command::Edit(a) => (&a.ids.identity, a.itype.input_type, None),
            Command::Get(a) => (&a.ids.identity, a.itype.input_type, a.otype.output_type),
            Command::Set(a) => (&a.ids.identity, a.itype.input_type, None),
            Command::Generate(a) => (&a.ids.identity, a.itype.input_type, None),
            Command::Unset(a) => (&a.ids.identity, a.itype.input_type, None),
            Command::Member(c) => (c.identity(), None, None),
            Command::Env(c) => (c.identity(), None, None),
            Command::Updatekeys(a) => (&a.ids.identity, None, None),
            Command::Rotate(a) => (&a.ids.identity, None, None),
            Command::RotateValue(a) => (&a.ids.identity, a.itype.input_type, None),
            Command::Status(a) => (&a.ids.identity, None, None),
            Command::Check(a) => (&a.ids.identity, None, None),
            Command::Audit(a) => (&a.ids.identity, None, None),
            Command::Log(a) => (&a.ids.identity, a.itype.input_type, None),
            Command::Exec(a) => (
                &a.selection.ids.identity,
                a.selection.itype.input_type,
                None,
            ),
            Command::Export(a) => (
                &a.selection.ids.identity,
                a.selection.itype.input_type,
                None,
            ),
            Command::Scan(a) => (&a.ids.identity, None, None),
            Command::Import(a) => (&a.ids.identity, a.itype.input_type, None),
            Command::Git(c) => (
                c.identity(),
                match c {
                    git::Command::Textconv(a) => a.itype.input_type,
                    _ => None,
                },
                None,
            ),
            Command::Resolve(a) => (&a.ids.identity, None, None),
            Command::Keygen(_) | Command::Hook(_) | Command::Completions(_) | Command::Man(_) => {
                (none, None, None)
            }
        };
        Global {
            identity: top.identity.iter().chain(ids).cloned().collect(),
            input_type: input.or(top.input_type),
            output_type: output.or(top.output_type),
            quiet: top.quiet,
        }
    }
}

#[derive(Subcommand, Debug)]
// Each subcommand is built only when it is the one run: building all of them took a
// third of the start-up of `secrets exec` (clap's `defer`).
#[command(defer = true)]
pub enum Command {
    /// Generate an age identity (age-keygen format) and print its public key.
    Keygen(keygen::Args),
    /// Create the team config (.secrets.yaml) and add yourself as a member.
    Init(init::Args),
    /// Encrypt files (in place with -i, else to stdout).
    Encrypt(encrypt::Args),
    /// Decrypt a file to stdout or to -o OUT.
    Decrypt(decrypt::Args),
    /// Edit an encrypted file in $SOPS_EDITOR/$EDITOR; only changed values are re-encrypted.
    Edit(edit::Args),
    /// Print one decrypted value.
    Get(get::Args),
    /// Set one value (from the argument or --value-stdin).
    Set(set::Args),
    /// Generate a random value (password, hex, base64, uuid, django, passphrase) and set it.
    Generate(generate::Args),
    /// Remove one key.
    Unset(unset::Args),
    /// Manage team members.
    #[command(subcommand)]
    Member(member::Command),
    /// Manage environments.
    #[command(subcommand)]
    Env(env::Command),
    /// Re-wrap data keys for the recipients the config names.
    Updatekeys(updatekeys::Args),
    /// Generate new data keys and re-encrypt every value.
    Rotate(rotate::Args),
    /// Replace one value, optionally keeping the old one for a grace period.
    RotateValue(rotate_value::Args),
    /// Show every encrypted file, its environment, recipients and drift.
    #[command(visible_alias = "who")]
    Status(status::Args),
    /// Check every environment's values against the schema in .secrets.yaml (for CI).
    Check(check::Args),
    /// Report who can read what, now and in history (markdown, json or html).
    Audit(audit::Args),
    /// The history of a value from git: when it was added, changed or removed, and by whom.
    Log(log::Args),
    /// Run a command with decrypted values in its environment.
    Exec(exec::Args),
    /// Export decrypted values (dotenv, json, yaml, shell, k8s, docker-secrets-dir).
    Export(export::Args),
    /// Scan for plaintext secrets (working tree, --staged, --history, or - for stdin).
    Scan(scan::Args),
    /// Import a .env/YAML/JSON file or a Vault KV path (secrets encrypted, config clear).
    Import(import::Args),
    /// Git hook management.
    #[command(subcommand)]
    Hook(hook::Command),
    /// Git that understands encrypted files: readable diffs, key-by-key merges (setup).
    #[command(subcommand)]
    Git(git::Command),
    /// Finish a merge of an encrypted file that conflicts: the conflicting keys in $EDITOR.
    Resolve(resolve::Args),
    /// Print shell completions, or install them and the man pages (--install).
    Completions(completions::Args),
    /// Print the man page (roff), or write all pages into a directory (--dir).
    Man(man::Args),
}

/// Parses argv, runs the command, prints any error as one line plus a hint, and maps it
/// to the documented exit code.
pub fn main() -> ExitCode {
    // Before anything is decrypted: no core file can hold plaintext (crate::hardening).
    crate::hardening::no_core_dumps();
    crate::hardening::die_quietly_on_a_closed_pipe();
    // The definition lives until the command is done: `exec` replaces the process, so
    // it is never dropped there (dropping it was 40 K instructions of each start).
    let mut definition = Cli::command();
    let cli = match parse(&mut definition) {
        Ok(cli) => cli,
        Err(e) => without_destructive_suggestions(e).exit(),
    };
    match lock_wait().and_then(|()| run(cli)) {
        Ok(code) => code,
        Err(err) => {
            exit::report(&err);
            ExitCode::from(exit::code_for(&err))
        }
    }
}

/// `Cli::try_parse`, on a definition the caller keeps.
fn parse(definition: &mut clap::Command) -> Result<Cli, clap::Error> {
    let mut matches = definition.try_get_matches_from_mut(std::env::args_os())?;
    // As clap's derive does: an error here is rendered against a fresh definition.
    Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut Cli::command()))
}

/// Subcommand names (and aliases) that take access away or delete something: revoke and
/// remove rotate files or drop an environment, unset deletes a key.
const DESTRUCTIVE: &[&str] = &["revoke", "remove", "rm", "delete", "unset"];

/// clap answers an unknown subcommand with the similar ones ("a similar subcommand exists:
/// 'revoke'" for `env remvoe`). A typo must not be steered toward a command that takes
/// access away or deletes: those suggestions are dropped (the others stay, unless the one
/// dropped was the best guess), and the error
/// is rebuilt from the rest of clap's own context, so it reads as clap's.
fn without_destructive_suggestions(e: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() != ErrorKind::InvalidSubcommand {
        return e;
    }
    let Some(ContextValue::Strings(suggested)) = e.get(ContextKind::SuggestedSubcommand) else {
        return e;
    };
    if !suggested.iter().any(|s| DESTRUCTIVE.contains(&s.as_str())) {
        return e;
    }
    // clap lists them best last: when the best is the one dropped, the rest are worse
    // guesses (`env remvoe` would get 'rename'), so none is offered.
    let best_dropped = suggested
        .last()
        .is_some_and(|s| DESTRUCTIVE.contains(&s.as_str()));
    let kept: Vec<String> = suggested
        .iter()
        .filter(|s| !best_dropped && !DESTRUCTIVE.contains(&s.as_str()))
        .cloned()
        .collect();
    let mut out = clap::Error::new(ErrorKind::InvalidSubcommand).with_cmd(&Cli::command());
    for (kind, value) in e.context() {
        if kind != ContextKind::SuggestedSubcommand {
            out.insert(kind, value.clone());
        } else if !kept.is_empty() {
            out.insert(kind, ContextValue::Strings(kept.clone()));
        }
    }
    out
}

/// `$SECRETS_LOCK_TIMEOUT`: how many seconds a command that changes a file waits for
/// another one to finish with it (default 10).
fn lock_wait() -> anyhow::Result<()> {
    let Some(text) = std::env::var_os("SECRETS_LOCK_TIMEOUT") else {
        return Ok(());
    };
    let secs = text
        .to_str()
        .and_then(|t| t.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && (0.0..=86_400.0).contains(s))
        .ok_or_else(|| {
            exit::CliError::new(
                exit::INPUT,
                format!("SECRETS_LOCK_TIMEOUT={text:?}: not a number of seconds (0 to 86400)"),
            )
        })?;
    crate::fsutil::lock::set_wait(std::time::Duration::from_secs_f64(secs));
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let g = &Global::resolve(&cli.top, &cli.command);
    // Temp files that a killed command of ours left here (they may hold plaintext) go as
    // soon as their creator is gone; `scan` leaves them, to report them.
    if !matches!(
        cli.command,
        Command::Scan(_) | Command::Completions(_) | Command::Man(_) | Command::Git(_)
    ) {
        remove_stale_temp_files(g);
    }
    match cli.command {
        Command::Keygen(a) => keygen::run(a, g),
        Command::Init(a) => init::run(a, g),
        Command::Encrypt(a) => encrypt::run(a, g),
        Command::Decrypt(a) => decrypt::run(a, g),
        Command::Edit(a) => edit::run(a, g),
        Command::Get(a) => get::run(a, g),
        Command::Set(a) => set::run(a, g),
        Command::Generate(a) => generate::run(a, g),
        Command::Unset(a) => unset::run(a, g),
        Command::Member(c) => member::run(c, g),
        Command::Env(c) => env::run(c, g),
        Command::Updatekeys(a) => updatekeys::run(a, g),
        Command::Rotate(a) => rotate::run(a, g),
        Command::RotateValue(a) => rotate_value::run(a, g),
        Command::Status(a) => status::run(a, g),
        Command::Check(a) => check::run(a, g),
        Command::Audit(a) => audit::run(a, g),
        Command::Log(a) => log::run(a, g),
        Command::Exec(a) => exec::run(a, g),
        Command::Import(a) => import::run(a, g),
        Command::Export(a) => export::run(a, g),
        Command::Scan(a) => scan::run(a, g),
        Command::Hook(c) => hook::run(c, g),
        Command::Git(c) => git::run(c, g),
        Command::Resolve(a) => resolve::run(a, g),
        Command::Completions(a) => completions::run(a, g),
        Command::Man(a) => man::run(a, g),
    }
}

/// Sweeps the working directory ([`crate::tempfiles::sweep`]) and says what went.
fn remove_stale_temp_files(g: &Global) {
    let here = std::path::Path::new(".");
    for p in crate::tempfiles::sweep(here) {
        let shown = p.strip_prefix(here).unwrap_or(&p);
        output::note(
            g,
            format!(
                "secrets: removed {}, left by an interrupted secrets command",
                shown.display()
            ),
        );
    }
}
