//! `secrets rotate [FILE…] [--dry-run]`: a new data key for each file, every value
//! re-encrypted under it (fresh IVs, new MAC), wrapped for the recipients the config names
//! (a file in no environment, or named when there is no config, keeps its own recipients).
//! Without files: every encrypted file under the config's root; a directory: the encrypted
//! files under it (with a config). Failures are reported per file and leave the file as
//! it was; a missing path is exit 2. The work is [`crate::workspace::batch`].

use std::path::PathBuf;
use std::process::ExitCode;

use super::output::{self, config_start};
use super::{batch, Global};
use crate::workspace::{self, batch::Op, offboard};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files to rotate (default: every encrypted file under the config's root).
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Show what would be rotated (each file is still decrypted to check it); write nothing.
    #[arg(long, short = 'n')]
    dry_run: bool,
    #[command(flatten)]
    pub ids: super::IdentityArg,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    // Named files can be rotated without a config: they keep their recipients. The
    // config's lock, when there is one, is held to the end.
    let start = config_start(&args.files)?;
    let locked = if args.files.is_empty() || crate::config::find_config(&start).is_some() {
        Some(workspace::lock_config(&start)?)
    } else {
        None
    };
    let cfg = locked.as_ref().map(|(_, cfg)| cfg);
    let ids = output::identities(g)?;
    // While a revocation is unfinished, the recipients are those of the config after it.
    let proposed = match cfg {
        Some(cfg) => {
            batch::note_unfinished(cfg, g);
            offboard::proposed_config(cfg)?
        }
        None => None,
    };
    let mut plan = match proposed.as_ref().or(cfg) {
        Some(wanted) => workspace::batch::plan(wanted, &args.files, Op::Rotate)?,
        None => workspace::batch::plan_files(&args.files),
    };
    plan.config = cfg;
    let outcome = workspace::batch::apply(plan, &ids, args.dry_run);
    Ok(batch::finish(&outcome, Op::Rotate, args.dry_run, cfg, g))
}
