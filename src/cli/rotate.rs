//! `secrets rotate [FILE…] [--dry-run]`: a new data key for each file, every value
//! re-encrypted under it (fresh IVs, new MAC), wrapped for the recipients the config names
//! (a file in no environment, or named when there is no config, keeps its own recipients).
//! Without files: every encrypted file under the config's root; a directory: the encrypted
//! files under it (with a config). Failures are reported per file and leave the file as
//! it was; a missing path is exit 2.

use std::path::PathBuf;
use std::process::ExitCode;

use super::updatekeys::{lock_config, not_a_file, plan, run_jobs, Job, Op};
use super::{output, Global};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files to rotate (default: every encrypted file under the config's root).
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Show what would be rotated (each file is still decrypted to check it); write nothing.
    #[arg(long, short = 'n')]
    dry_run: bool,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    // Named files can be rotated without a config: they keep their recipients.
    // The config's lock, held to the end (see updatekeys::lock_config).
    let (_lock, cfg) = if args.files.is_empty() {
        let (lock, cfg) = lock_config(&args.files)?;
        (Some(lock), Some(cfg))
    } else {
        let cwd = std::env::current_dir()?;
        match crate::config::find_config(&cwd.join(&args.files[0])) {
            Some(_) => {
                let (lock, cfg) = lock_config(&args.files)?;
                (Some(lock), Some(cfg))
            }
            None => (None, None),
        }
    };
    let ids = output::identities(g)?;
    let jobs = match &cfg {
        Some(cfg) => plan(cfg, &args.files, &Op::Rotate, g)?,
        None => args
            .files
            .iter()
            .map(|p| Job {
                path: p.clone(),
                // Without a config there is no root to walk: a directory is refused.
                recipients: not_a_file(p).map_or(Ok(None), Err),
            })
            .collect(),
    };
    run_jobs(cfg.as_ref(), jobs, Op::Rotate, args.dry_run, &ids, g)
}
