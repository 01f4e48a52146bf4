//! `secrets updatekeys [FILE…] [--dry-run]`: re-wrap each file's data key for the
//! recipients the config names for its environment. Values are not touched (their
//! ciphertext stays byte for byte); only the `sops.age` list changes. Each file is reported;
//! one that fails (no identity of yours unwraps it, its MAC does not verify) is left as it
//! was and the others proceed; the exit code is then that of the first failure.
//!
//! Also home of the batch runner that `rotate`, `member remove` and `env revoke` share.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{exit, output, Global};
use crate::config::{Config, ConfigError};
use crate::fsutil::lock::Lock;
use crate::keys::{Identities, Recipient};
use crate::team;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files to update, or directories (their encrypted files); default: every encrypted
    /// file in an environment under the config's root.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Show what would change; write nothing.
    #[arg(long, short = 'n')]
    dry_run: bool,
}

/// The config for the current directory (or the first file given); a missing config is
/// an error (exit 5).
pub(super) fn load_config(files: &[PathBuf]) -> anyhow::Result<Config> {
    let cwd = std::env::current_dir()?;
    let start = files.first().map(|f| cwd.join(f)).unwrap_or(cwd);
    Ok(Config::require(&start)?)
}

/// As [`load_config`], holding the config's lock (see [`crate::fsutil::lock`]). Commands
/// that change the config (member and env commands) or rewrite files by it (updatekeys,
/// rotate, member remove, env revoke) take it before reading the config and hold it to
/// their end, so they take turns; each file is then locked on its own while it is
/// rewritten, one at a time.
pub(super) fn lock_config(files: &[PathBuf]) -> anyhow::Result<(Lock, Config)> {
    let cwd = std::env::current_dir()?;
    let start = files.first().map(|f| cwd.join(f)).unwrap_or(cwd);
    let path = crate::config::find_config(&start).ok_or(ConfigError::NotFound { start })?;
    let lock = Lock::acquire(&path)?;
    Ok((lock, Config::load(&path)?))
}

/// A path for messages: relative to the current directory when it is below it.
pub(super) fn shown(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    match path.strip_prefix(&cwd) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_path_buf(),
        _ => path.to_path_buf(),
    }
}

/// What to do with one file.
pub(super) enum Op {
    Update,
    Rotate,
}

/// One file of a batch: the recipients it should end with (`None`: keep its own), or
/// why it cannot be processed.
pub(super) struct Job {
    pub path: PathBuf,
    pub recipients: Result<Option<Vec<Recipient>>, anyhow::Error>,
}

/// A named path that is not a file: missing (exit 2), or a directory (exit 2, when it is
/// not expanded). `None` for a file.
pub(super) fn not_a_file(path: &Path) -> Option<anyhow::Error> {
    let why = match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => "is a directory",
        Ok(_) => return None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "no such file",
        Err(_) => "cannot be read",
    };
    Some(exit::CliError::new(exit::INPUT, format!("{}: {why}", path.display())).into())
}

/// A path to process; `named` when the user gave it (a file named explicitly must be in
/// an environment for `updatekeys`; files found by walking are skipped when not), or why
/// it cannot be processed.
struct Target {
    path: PathBuf,
    named: Result<bool, anyhow::Error>,
}

/// The files to work on: the named ones, a named directory expanded to the encrypted
/// files under it (as without arguments, `.gitignore` respected), or every encrypted file
/// under the root.
fn targets(cfg: &Config, files: &[PathBuf]) -> anyhow::Result<Vec<Target>> {
    // The root is walked at most once, however many directories are named.
    let mut encrypted: Option<Vec<PathBuf>> = None;
    let mut walked = |under: Option<&Path>| -> anyhow::Result<Vec<Target>> {
        let all = match &mut encrypted {
            Some(all) => all,
            none => none.insert(team::encrypted_files(cfg)?),
        };
        let under = under.map(crate::config::absolute);
        Ok(all
            .iter()
            .filter(|p| under.as_ref().is_none_or(|d| p.starts_with(d)))
            .map(|p| Target {
                path: shown(p),
                named: Ok(false),
            })
            .collect())
    };
    if files.is_empty() {
        return walked(None);
    }
    let mut out = Vec::new();
    for f in files {
        if !f.is_dir() {
            out.push(Target {
                path: f.clone(),
                named: not_a_file(f).map_or(Ok(true), Err),
            });
            continue;
        }
        let found = walked(Some(f))?;
        if found.is_empty() {
            let why = format!(
                "{}: a directory with no encrypted file under it",
                f.display()
            );
            out.push(Target {
                path: f.clone(),
                named: Err(exit::CliError::new(exit::INPUT, why).into()),
            });
        }
        out.extend(found);
    }
    Ok(out)
}

/// Plans a job per file: explicit files must exist, be encrypted and (for `updatekeys`)
/// be in an environment; a directory stands for the encrypted files under it; without
/// files, every encrypted file under the root.
pub(super) fn plan(
    cfg: &Config,
    files: &[PathBuf],
    op: &Op,
    g: &Global,
) -> anyhow::Result<Vec<Job>> {
    let mut jobs = Vec::new();
    for Target { path, named } in targets(cfg, files)? {
        let explicit = match named {
            Ok(n) => n,
            Err(e) => {
                jobs.push(Job {
                    path,
                    recipients: Err(e),
                });
                continue;
            }
        };
        let recipients = match team::wanted(cfg, &crate::config::absolute(&path)) {
            Ok(Some(w)) => Ok(Some(w.recipients)),
            Ok(None) => match op {
                Op::Rotate => Ok(None),
                Op::Update if explicit => Err(ConfigError::command(
                    cfg.path(),
                    format!(
                        "{}: in no environment (add one: secrets env add ENV --files GLOB)",
                        path.display()
                    ),
                )
                .into()),
                Op::Update => {
                    output::note(
                        g,
                        format!("skipped    {} (in no environment)", path.display()),
                    );
                    continue;
                }
            },
            Err(e) => Err(e.into()),
        };
        jobs.push(Job { path, recipients });
    }
    Ok(jobs)
}

fn names(cfg: Option<&Config>, keys: &[String], sign: char) -> String {
    keys.iter()
        .map(|k| {
            let name = match cfg {
                Some(c) => c.describe_key(k),
                None => crate::config::abbreviate(k),
            };
            format!("{sign}{name}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs a batch, one line per file on stdout (failures on stderr), and a summary.
pub(super) fn run_jobs(
    cfg: Option<&Config>,
    jobs: Vec<Job>,
    op: Op,
    dry_run: bool,
    ids: &Identities,
    g: &Global,
) -> anyhow::Result<ExitCode> {
    let results = team::parallel_map(&jobs, |job| {
        let recipients = job.recipients.as_ref().ok()?;
        Some(match op {
            Op::Update => team::updatekeys(
                &job.path,
                ids,
                recipients.as_deref().unwrap_or(&[]),
                dry_run,
            ),
            Op::Rotate => team::rotate(&job.path, ids, recipients.as_deref(), dry_run),
        })
    });
    let (mut changed, mut same, mut failed) = (0, 0, 0);
    let mut first_code: Option<u8> = None;
    for (job, result) in jobs.iter().zip(results) {
        let path = job.path.display();
        let result: Result<team::Diff, (u8, String)> = match (&job.recipients, result) {
            (Err(e), _) => Err(describe(e)),
            (_, Some(Ok(d))) => Ok(d),
            (_, Some(Err(e))) => Err(describe(&anyhow::Error::from(e))),
            (_, None) => continue,
        };
        match result {
            Ok(d) => {
                let detail = format!(
                    "{} {}",
                    names(cfg, &d.added, '+'),
                    names(cfg, &d.removed, '-')
                );
                let detail = detail.trim();
                let verb = match (&op, dry_run, d.is_empty()) {
                    (Op::Update, _, true) => {
                        same += 1;
                        if !g.quiet {
                            println!("unchanged  {path}");
                        }
                        continue;
                    }
                    (Op::Update, false, false) => "updated   ",
                    (Op::Update, true, false) => "would update",
                    (Op::Rotate, false, _) => "rotated   ",
                    (Op::Rotate, true, _) => "would rotate",
                };
                changed += 1;
                if !g.quiet {
                    println!(
                        "{verb} {path}{}{detail}",
                        if detail.is_empty() { "" } else { "  " }
                    );
                }
            }
            Err((code, msg)) => {
                failed += 1;
                first_code.get_or_insert(code);
                eprintln!("failed     {path}: {}", strip_path(&msg, &job.path));
            }
        }
    }
    let what = match op {
        Op::Update => "updatekeys",
        Op::Rotate => "rotate",
    };
    let verb = match (op, dry_run) {
        (Op::Update, false) => "updated",
        (Op::Update, true) => "would update",
        (Op::Rotate, false) => "rotated",
        (Op::Rotate, true) => "would rotate",
    };
    output::note(
        g,
        format!(
            "{what}: {changed} {verb}, {same} unchanged, {failed} failed{}",
            if dry_run {
                " (dry run: nothing written)"
            } else {
                ""
            }
        ),
    );
    match first_code {
        Some(code) => {
            if !g.quiet {
                eprintln!("hint: failed files were left untouched; a member who can decrypt them can re-run this, or restore a tampered file from git");
            }
            Ok(ExitCode::from(code))
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

/// The exit code of a failure (the error's own code, e.g. 51 for a MAC mismatch) and its
/// message.
fn describe(e: &anyhow::Error) -> (u8, String) {
    (exit::code_for(e), format!("{e:#}"))
}

/// Engine errors start with the file's path; the report line already shows it.
fn strip_path(msg: &str, path: &Path) -> String {
    let p = format!("{}: ", path.display());
    msg.strip_prefix(&p).unwrap_or(msg).to_string()
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    let (_lock, cfg) = lock_config(&args.files)?;
    let ids = output::identities(g)?;
    let jobs = plan(&cfg, &args.files, &Op::Update, g)?;
    run_jobs(Some(&cfg), jobs, Op::Update, args.dry_run, &ids, g)
}
