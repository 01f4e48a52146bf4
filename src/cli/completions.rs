//! `secrets completions SHELL` prints a completion script; `secrets completions --install
//! [SHELL]` writes it and the man pages into the user's directories
//! ([`crate::shellfiles`]).

use clap::CommandFactory;
use std::process::ExitCode;

use super::exit::{CliError, INPUT, OUTPUT};
use super::{output, Global};
use crate::shellfiles::{self, Dirs, Shell, ShellFilesError};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The shell (with --install: default from $SHELL).
    #[arg(value_enum, required_unless_present = "install")]
    shell: Option<Shell>,
    /// Install the completions for SHELL and the man pages into your home (bash-completion,
    /// zsh site-functions, fish completions, ~/.local/share/man) instead of printing.
    #[arg(long)]
    install: bool,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    let cmd = super::Cli::command();
    if !args.install {
        let shell = args.shell.expect("clap requires SHELL without --install");
        output::write_output(None, &shellfiles::completion(shell, &cmd), false)?;
        return Ok(ExitCode::SUCCESS);
    }
    let shell = match args.shell {
        Some(s) => s,
        None => login_shell()?,
    };
    let var = |name| std::env::var_os(name).map(std::path::PathBuf::from);
    let dirs = Dirs::new(
        var("HOME"),
        var("XDG_DATA_HOME"),
        var("XDG_CONFIG_HOME"),
        var("BASH_COMPLETION_USER_DIR"),
    )
    .map_err(|e| CliError::new(INPUT, e.to_string()))?;
    let done = shellfiles::install(&cmd, shell, &dirs).map_err(|e| match e {
        ShellFilesError::NoPlace(_) => CliError::new(INPUT, e.to_string()).hint(format!(
            "print the script and load it from your shell's startup file: secrets completions {shell}"
        )),
        e => CliError::new(OUTPUT, e.to_string()),
    })?;
    output::note(
        g,
        format!(
            "secrets: wrote {} ({shell} completions) and {} man pages in {}",
            done.completion.display(),
            done.pages,
            done.man_dir.display()
        ),
    );
    let next = match shell {
        Shell::Bash => {
            "new bash shells complete `secrets` (bash-completion 2.x loads it on first Tab)"
                .to_string()
        }
        Shell::Zsh => format!(
            "add this line before `compinit` in ~/.zshrc, once: fpath=({} $fpath)",
            done.completion
                .parent()
                .unwrap_or(&done.completion)
                .display()
        ),
        _ => "new fish shells complete `secrets`".to_string(),
    };
    output::note(g, format!("secrets: {next}"));
    let root = dirs.man_root();
    let path = std::env::var_os("PATH");
    if shellfiles::man_reachable(
        &root,
        path.as_deref(),
        std::env::var_os("MANPATH").as_deref(),
    ) {
        output::note(g, "secrets: `man secrets` opens the manual");
    } else {
        output::note(
            g,
            format!(
                "secrets: man does not look in {} from this shell (its ../bin is not on PATH); add to your shell's startup file: export MANPATH=\"{}:$MANPATH\"",
                root.display(),
                root.display()
            ),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The shell named by `$SHELL` (its file name: `/usr/bin/zsh` is zsh).
fn login_shell() -> anyhow::Result<Shell> {
    let shell = std::env::var_os("SHELL").unwrap_or_default();
    let name = std::path::Path::new(&shell)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    <Shell as clap::ValueEnum>::from_str(name, false).map_err(|_| {
        CliError::new(
            INPUT,
            format!("cannot tell your shell from $SHELL ({:?})", shell),
        )
        .hint("name it: secrets completions --install bash (or zsh, fish)")
        .into()
    })
}
