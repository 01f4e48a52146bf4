//! `secrets man [COMMAND…]` prints a man page (roff); `secrets man --dir DIR` writes all
//! of them ([`crate::shellfiles`]).

use clap::CommandFactory;
use std::path::PathBuf;
use std::process::ExitCode;

use super::exit::{CliError, INPUT, OUTPUT};
use super::{output, Global};
use crate::shellfiles;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The command whose page to print (`scan`, `member add`); none: the main page.
    #[arg(value_name = "COMMAND")]
    command: Vec<String>,
    /// Write every page (secrets.1, secrets-scan.1, …) into DIR instead of printing one.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    dir: Option<PathBuf>,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    let cmd = super::Cli::command();
    if let Some(dir) = &args.dir {
        let n = shellfiles::write_man_pages(&cmd, dir)
            .map_err(|e| CliError::new(OUTPUT, e.to_string()))?;
        output::note(
            g,
            format!("secrets: wrote {n} man pages in {}", dir.display()),
        );
        return Ok(ExitCode::SUCCESS);
    }
    let page = shellfiles::man_page(&cmd, &args.command).map_err(|e| {
        CliError::new(INPUT, e.to_string()).hint("secrets --help lists the commands")
    })?;
    output::write_output(None, &page, false)?;
    Ok(ExitCode::SUCCESS)
}
