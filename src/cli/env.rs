//! `secrets env` (not implemented yet).

use super::Global;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Not implemented yet.
    List,
}

pub fn run(_cmd: Command, _g: &Global) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`secrets env` is not implemented yet")
}
