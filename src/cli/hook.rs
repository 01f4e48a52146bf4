//! `secrets hook install`: writes the bundled pre-commit hook (`hooks/pre-commit`) into the
//! repository's hooks directory, pointing it at this binary, and keeps an existing hook as
//! `pre-commit.local`, which the new hook runs first (chaining, never overwriting).

use super::Global;
use std::process::ExitCode;

use crate::git::{self, Installed};

/// The hook script shipped in the repository.
pub const PRE_COMMIT: &str = include_str!("../../hooks/pre-commit");

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Install the pre-commit hook that runs `secrets scan --staged`.
    Install,
}

pub fn run(cmd: Command, g: &Global) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Install => install(g),
    }
}

fn install(g: &Global) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir()?;
    let repo = git::discover(&cwd)?;
    let script = script_for_this_binary();
    let outcome = git::install_hook(&repo, &script)?;
    if !g.quiet {
        match outcome {
            Installed::Fresh(p) => eprintln!("secrets: installed {}", p.display()),
            Installed::Updated(p) => eprintln!("secrets: updated {}", p.display()),
            Installed::Chained { hook, kept } => eprintln!(
                "secrets: installed {}; the previous hook is kept as {} and runs first",
                hook.display(),
                kept.display()
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The bundled script with this binary as the default `SECRETS_BIN`, so the hook works
/// even when `secrets` is not on the PATH git hooks see.
fn script_for_this_binary() -> String {
    let Some(exe) = std::env::current_exe()
        .ok()
        .and_then(|p| p.to_str().map(str::to_string))
    else {
        return PRE_COMMIT.to_string();
    };
    if exe.contains('\'') {
        return PRE_COMMIT.to_string();
    }
    PRE_COMMIT.replace(
        "SECRETS_BIN=${SECRETS_BIN:-secrets}",
        &format!("SECRETS_BIN=${{SECRETS_BIN:-'{exe}'}}"),
    )
}
