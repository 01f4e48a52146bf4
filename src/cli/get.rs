//! `secrets get FILE PATH`: print one decrypted value.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{output, Global};
use crate::model::KeyPath;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Key path: `["a"]["b"][0]` or `a.b.0`.
    #[arg(value_name = "PATH")]
    path: String,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    let kp = KeyPath::parse(&args.path).map_err(output::path_error(&args.file))?;
    let (file, _key, opened) = output::open_file(&args.file, g)?;
    let node = output::lookup_first(&args.file, file.format, &opened.branches, kp)?;
    output::print_node(
        node,
        g.output_type.unwrap_or(file.format),
        file.layout,
        false,
    )?;
    Ok(ExitCode::SUCCESS)
}
