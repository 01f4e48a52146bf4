//! `secrets hook install`: writes the bundled pre-commit hook (`hooks/pre-commit`, see
//! [`crate::hook`]) into the repository's hooks directory and says which `secrets` it will
//! run; an existing hook is kept as `pre-commit.local`, which the new hook runs first.

use super::{output, Global};
use std::process::ExitCode;

use crate::git::{self, Installed};

#[derive(clap::Subcommand, Debug)]
#[command(defer = true)]
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
    let repo = git::discover_from_env(&cwd)?;
    let exe = std::env::current_exe().ok();
    let path = std::env::var_os("PATH");
    let r = crate::hook::install(&repo, exe.as_deref(), path.as_deref())?;
    let done = match &r.installed {
        Installed::Fresh(p) => format!("secrets: installed {}", p.display()),
        Installed::Updated(p) => format!("secrets: updated {}", p.display()),
        Installed::Chained { hook, kept } => format!(
            "secrets: installed {}; the previous hook is kept as {} and runs first",
            hook.display(),
            kept.display()
        ),
    };
    output::note(g, done);
    let fallback = r.fallback.as_ref().map(|f| f.display().to_string());
    match (&r.on_path, fallback) {
        (Some(p), _) => output::note(
            g,
            format!(
                "secrets: the hook runs `secrets` from the PATH git gives it (here: {})",
                p.display()
            ),
        ),
        // Said even with -q: the hook works now, but only as long as this build exists.
        (None, Some(f)) => eprintln!(
            "secrets: warning: `secrets` is not on your PATH; the hook falls back to {f}, \
             and blocks commits if that file goes\n\
             hint: put secrets on your PATH: cargo install --locked --path <your clone of secrets>"
        ),
        (None, None) => eprintln!(
            "secrets: warning: `secrets` is not on your PATH, and this binary's path cannot be \
             written into the hook; the hook blocks commits until secrets is on PATH\n\
             hint: cargo install --locked --path <your clone of secrets>"
        ),
    }
    Ok(ExitCode::SUCCESS)
}
