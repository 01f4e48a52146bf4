//! `secrets get FILE PATH`: print one decrypted value. On a dotenv file that is the value
//! the stored text means (`"p@ss word"` prints `p@ss word`); `decrypt --extract` prints the
//! stored text, as `sops decrypt --extract` does. `--rev REV` reads the file as it was at a
//! git revision; `-` reads it from stdin (with `--input-type`).

use std::path::PathBuf;
use std::process::ExitCode;

use super::exit::{CliError, INPUT};
use super::{output, Global};
use crate::model::{KeyPath, Node, Plain, Scalar};
use crate::store::Format;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The encrypted file (`-`: stdin, with --input-type).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Key path: `["a"]["b"][0]` or `a.b.0`.
    #[arg(value_name = "PATH")]
    path: String,
    /// Read the file as it was at this git revision (a commit, tag, branch, HEAD~3).
    #[arg(long, value_name = "REV")]
    rev: Option<String>,
    #[command(flatten)]
    pub itype: super::InputTypeArg,
    #[command(flatten)]
    pub otype: super::OutputTypeArg,
    #[command(flatten)]
    pub ids: super::IdentityArg,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    let kp = KeyPath::parse(&args.path).map_err(output::path_error(&args.file))?;
    let snap = output::snapshot(&args.file, args.rev.as_deref())?;
    let (file, _key, opened) = output::open_source(&args.file, g, snap.as_ref())?;
    let node = output::lookup_first(&args.file, file.format, &opened.branches, kp.clone())?;
    if file.format == Format::Dotenv {
        if let Node::Leaf(leaf) = node {
            if let Scalar::Str(stored) = leaf.scalar() {
                let value = crate::store::dotenv::value_of(stored).map_err(|reason| {
                    CliError::new(
                        INPUT,
                        format!(
                            "{}: key `{kp}` has no dotenv value ({reason}); \
                             `secrets decrypt --extract` prints it as stored",
                            args.file.display()
                        ),
                    )
                })?;
                let node = Node::Leaf(Plain::new(Scalar::Str(value.to_string())));
                output::print_node(&node, file.format, file.layout, false)?;
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    output::print_node(
        node,
        g.output_type.unwrap_or(file.format),
        file.layout,
        false,
    )?;
    Ok(ExitCode::SUCCESS)
}
