//! `secrets unset FILE PATH`: remove one key.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{output, Global};
use crate::model::KeyPath;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The encrypted file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Key path: `["a"]["b"]` or `a.b`.
    #[arg(value_name = "PATH")]
    path: String,
    #[command(flatten)]
    pub itype: super::InputTypeArg,
    #[command(flatten)]
    pub ids: super::IdentityArg,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    let kp = KeyPath::parse(&args.path).map_err(output::path_error(&args.file))?;
    // Held until the file is written (see set).
    let mut update = output::open_for_update(&args.file, g)?;
    let output::Update {
        file, key, opened, ..
    } = &mut update;
    let doc = opened
        .branches
        .first_mut()
        .ok_or_else(|| crate::model::path::PathError::NotFound(kp.clone()))
        .map_err(output::path_error(&args.file))?;
    // Named as the user named it: on dotenv `NAME` may be stored as `export NAME`.
    let asked = kp.typed();
    let kp = output::stored_path(file.format, doc, kp);
    output::refuse_repeated_dotenv_key(&args.file, file.format, doc, &kp)?;
    if let Err(e) = doc.unset_path(&kp) {
        return Err(output::not_found_hint(&args.file, file.format, doc, e));
    }
    file.reseal(&opened.branches, key, &opened.stash)?;
    update.save()?;
    output::note(g, format!("removed {asked} from {}", args.file.display()));
    Ok(ExitCode::SUCCESS)
}
