//! `secrets decrypt FILE [-o OUT] [--extract PATH] [--rev REV]`: print the plaintext.
//! `--rev REV` reads the file as it was at a git revision (from git, in memory); `-` reads
//! it from stdin (with `--input-type`), so `git show REV:F | secrets decrypt --input-type
//! yaml -` works.

use std::path::PathBuf;
use std::process::ExitCode;

use super::exit::{CliError, CONFLICT};
use super::{output, Global};
use crate::model::KeyPath;
use crate::store::Format;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The encrypted file (`-`: stdin, with --input-type).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Read the file as it was at this git revision (a commit, tag, branch, HEAD~3).
    #[arg(long, value_name = "REV", conflicts_with = "in_place")]
    rev: Option<String>,
    /// Write the plaintext to OUT (mode 0600, also when OUT exists) instead of stdout.
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// Decrypt in place (replaces the encrypted file with plaintext).
    #[arg(short = 'i', long, conflicts_with = "output")]
    in_place: bool,
    /// Print only the value at this key path (`["a"]["b"][0]` or `a.b.0`).
    #[arg(long, value_name = "PATH")]
    extract: Option<String>,
    #[command(flatten)]
    pub itype: super::InputTypeArg,
    #[command(flatten)]
    pub otype: super::OutputTypeArg,
    #[command(flatten)]
    pub ids: super::IdentityArg,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    if args.in_place {
        // A read-modify-write: under the file's lock, as `set` (a `set` meanwhile would
        // otherwise be lost).
        if args.extract.is_some() {
            return Err(CliError::new(CONFLICT, "--extract cannot be combined with -i").into());
        }
        if output::is_stdin(&args.file) {
            return Err(CliError::new(CONFLICT, "-i cannot replace stdin (-)").into());
        }
        let update = output::open_for_update(&args.file, g)?;
        let bytes = plaintext(&args.file, &update.file, &update.opened, g)?;
        update
            .lock
            .replace_private(&update.seen, &bytes)
            .map_err(crate::engine::FileError::from)?;
        return Ok(ExitCode::SUCCESS);
    }
    let snap = output::snapshot(&args.file, args.rev.as_deref())?;
    let (file, _key, opened) = output::open_source(&args.file, g, snap.as_ref())?;
    if let Some(path) = &args.extract {
        if args.in_place {
            return Err(CliError::new(CONFLICT, "--extract cannot be combined with -i").into());
        }
        let kp = KeyPath::parse(path).map_err(output::path_error(&args.file))?;
        let node = output::lookup_first(&args.file, file.format, &opened.branches, kp)?;
        return output::print_node(
            node,
            g.output_type.unwrap_or(file.format),
            file.layout,
            true,
        )
        .map(|_| ExitCode::SUCCESS);
    }
    let bytes = plaintext(&args.file, &file, &opened, g)?;
    output::write_output(args.output.as_deref(), &bytes, true)?;
    Ok(ExitCode::SUCCESS)
}

/// The file's plaintext in the output format (its own layout when the format is its own).
fn plaintext(
    path: &std::path::Path,
    file: &crate::engine::EncryptedFile,
    opened: &crate::engine::Opened,
    g: &Global,
) -> anyhow::Result<zeroize::Zeroizing<Vec<u8>>> {
    let out_format: Format = g.output_type.unwrap_or(file.format);
    let layout = if out_format == file.format {
        file.layout
    } else {
        crate::store::Layout::default_for(out_format)
    };
    Ok(crate::engine::emit_plain(
        path,
        out_format,
        &opened.branches,
        layout,
    )?)
}
