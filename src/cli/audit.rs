//! `secrets audit [--format markdown|json|html] [-o FILE]`: who can read what, now and in
//! history (the report is [`crate::audit`]). Identities are used only to unwrap data keys,
//! so rotations are compared exactly where the user can; nothing is decrypted or printed
//! but names, key paths, public keys, commits and dates. Exit 0 once written.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{output, Global};
use crate::audit;

/// Output format of the report.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReportFormat {
    #[default]
    Markdown,
    Json,
    Html,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
    format: ReportFormat,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    pub ids: super::IdentityArg,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir()?;
    let cfg = crate::workspace::load_config(&cwd)?;
    let ids = output::identities(g)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let report = audit::gather(&cfg, &ids, now)?;
    let text = match args.format {
        ReportFormat::Markdown => audit::markdown::render(&report),
        ReportFormat::Json => audit::to_json(&report) + "\n",
        ReportFormat::Html => audit::html::render(&report),
    };
    output::write_output(args.output.as_deref(), text.as_bytes(), false)?;
    Ok(ExitCode::SUCCESS)
}
