//! `secrets updatekeys [FILE…] [--rotate] [--dry-run]`: re-wrap each file's data key for
//! the recipients the config names for its environment. Values are not touched (their
//! ciphertext stays byte for byte); only the `sops.age` list changes (and `sops.hc_vault`
//! and `sops.kms` gain the transit and KMS keys the environment lists). A file that would
//! lose a recipient is refused (they may have kept the data key) unless `--rotate` rotates
//! it. Each file is reported; one that fails is left as it was and the others proceed; the
//! exit code is then that of the first failure. The work is [`crate::workspace::batch`].

use std::path::PathBuf;
use std::process::ExitCode;

use super::output::{self, config_start};
use super::{batch, Global};
use crate::workspace::{self, batch::Op, offboard};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files to update, or directories (their encrypted files); default: every encrypted
    /// file in an environment under the config's root.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Rotate (new data key, every value re-encrypted) the files that would lose a
    /// recipient, instead of refusing them.
    #[arg(long)]
    rotate: bool,
    /// Show what would change; write nothing.
    #[arg(long, short = 'n')]
    dry_run: bool,
    #[command(flatten)]
    pub ids: super::IdentityArg,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    let (_lock, cfg) = workspace::lock_config(&config_start(&args.files)?)?;
    let ids = output::identities(g)?;
    let op = Op::Update {
        rotate_on_drop: args.rotate,
    };
    // While a revocation is unfinished, the recipients are those of the config after it.
    let proposed = offboard::proposed_config(&cfg)?;
    batch::note_unfinished(&cfg, g);
    let mut plan = workspace::batch::plan(proposed.as_ref().unwrap_or(&cfg), &args.files, op)?;
    plan.config = Some(&cfg);
    batch::note_skipped(&plan.skipped, g);
    let outcome = workspace::batch::apply(plan, &ids, args.dry_run);
    Ok(batch::finish(&outcome, op, args.dry_run, Some(&cfg), g))
}
