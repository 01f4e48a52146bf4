//! Printing a batch's outcome (`updatekeys`, `rotate`, and the rotations of `member
//! remove` and `env revoke`): one line per file on stdout (failures on stderr), a summary,
//! and the exit code of the first failure.

use std::path::Path;

use super::output::{self, shown};
use super::{exit, Global};
use crate::config::Config;
use crate::workspace::batch::{describe, BatchError, Done, Op, Outcome};
use crate::workspace::offboard::{self, Revocation};

/// Notes the files a plan skipped (found by walking, in no environment).
pub fn note_skipped(skipped: &[std::path::PathBuf], g: &Global) {
    for p in skipped {
        output::note(
            g,
            format!("skipped    {} (in no environment)", shown(p).display()),
        );
    }
}

fn names(cfg: Option<&Config>, keys: &[String], sign: char) -> String {
    keys.iter()
        .map(|k| format!("{sign}{}", describe(cfg, k)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Prints each file's result and the summary, which starts with `label` (the command);
/// returns the exit code of the first failure (in plan order), `None` when every file
/// succeeded.
pub fn report(
    outcome: &Outcome,
    op: Op,
    label: &str,
    dry_run: bool,
    cfg: Option<&Config>,
    g: &Global,
) -> Option<u8> {
    let (mut changed, mut rotated, mut same, mut failed) = (0, 0, 0, 0);
    let mut first_code: Option<u8> = None;
    for f in &outcome.files {
        let path = shown(&f.path);
        let path = path.display();
        match &f.result {
            Ok((done, d)) => {
                let detail = format!(
                    "{} {}",
                    names(cfg, &d.added, '+'),
                    names(cfg, &d.removed, '-')
                );
                let detail = detail.trim();
                let verb = match (done, dry_run) {
                    (Done::Unchanged, _) => {
                        same += 1;
                        if !g.quiet {
                            println!("unchanged  {path}");
                        }
                        continue;
                    }
                    (Done::Updated, false) => "updated   ",
                    (Done::Updated, true) => "would update",
                    (Done::Rotated, false) => "rotated   ",
                    (Done::Rotated, true) => "would rotate",
                };
                match (done, op) {
                    // Re-wrapping that had to rotate (a reader dropped) says so apart.
                    (Done::Rotated, Op::Update { .. }) => rotated += 1,
                    _ => changed += 1,
                }
                if !g.quiet {
                    println!(
                        "{verb} {path}{}{detail}",
                        if detail.is_empty() { "" } else { "  " }
                    );
                }
            }
            Err(e) => {
                failed += 1;
                first_code.get_or_insert(exit::batch_code(e));
                eprintln!("failed     {path}: {}", strip_path(&chain(e), &f.path));
            }
        }
    }
    let verb = match (op, dry_run) {
        (Op::Update { .. } | Op::Rewrap, false) => "updated",
        (Op::Update { .. } | Op::Rewrap, true) => "would update",
        (Op::Rotate, false) => "rotated",
        (Op::Rotate, true) => "would rotate",
    };
    let rotated = match (rotated, dry_run) {
        (0, _) => String::new(),
        (n, false) => format!(", {n} rotated"),
        (n, true) => format!(", {n} would rotate"),
    };
    output::note(
        g,
        format!(
            "{label}: {changed} {verb}{rotated}, {same} unchanged, {failed} failed{}",
            if dry_run {
                " (dry run: nothing written)"
            } else {
                ""
            }
        ),
    );
    first_code
}

/// An error and its causes on one line (as `{:#}` prints an `anyhow::Error`).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// Engine errors start with the file's path; the report line already shows it.
fn strip_path(msg: &str, path: &Path) -> String {
    let p = format!("{}: ", path.display());
    msg.strip_prefix(&p).unwrap_or(msg).to_string()
}

/// [`report`], then the exit code: the first failure's, with a hint line.
pub fn finish(
    outcome: &Outcome,
    op: Op,
    dry_run: bool,
    cfg: Option<&Config>,
    g: &Global,
) -> std::process::ExitCode {
    let label = match op {
        Op::Update { .. } => "updatekeys",
        Op::Rotate => "rotate",
        Op::Rewrap => "member rekey",
    };
    match report(outcome, op, label, dry_run, cfg, g) {
        Some(code) => {
            let dropped = outcome
                .failures()
                .filter(|(_, e)| matches!(e, BatchError::WouldDrop { .. }))
                .count();
            if !g.quiet {
                if dropped > 0 {
                    eprintln!("hint: re-wrapping cannot take a reader away (they may have kept the data key): rotate those files with secrets updatekeys --rotate (or secrets rotate FILE); to take a member away, secrets member remove NAME or secrets env revoke ENV NAME");
                }
                // (a missing file needs no one to decrypt it: its error says what it is)
                let missing = outcome
                    .failures()
                    .filter(|(_, e)| matches!(e, BatchError::NotAFile { .. }))
                    .count();
                if dropped + missing < outcome.failures().count() {
                    eprintln!("hint: failed files were left untouched; a member who can decrypt them can re-run this, or restore a tampered file from git");
                }
            }
            std::process::ExitCode::from(code)
        }
        None => std::process::ExitCode::SUCCESS,
    }
}

/// For `updatekeys` and `rotate` while a revocation is unfinished: says that the files get
/// the recipients of the config after it.
pub fn note_unfinished(cfg: &Config, g: &Global) {
    if let Some(r) = cfg.revoking() {
        output::note(
            g,
            format!(
                "secrets: warning: {}:{}: an unfinished revocation is recorded: files get the recipients the config will have after it; finish it: secrets {}",
                shown(cfg.path()).display(),
                r.line,
                r.command()
            ),
        );
    }
}

/// `member remove` and `env revoke`: prints what they could read, runs the plan (every
/// file rotated before the config is saved), prints each file's rotation, then the config
/// change; when a file failed, an error naming the command that finishes the revocation.
pub fn offboard(
    plan: offboard::Plan,
    lock: &crate::fsutil::lock::Lock,
    ids: &crate::keys::Identities,
    dry_run: bool,
    cfg: &Config,
    g: &Global,
) -> anyhow::Result<std::process::ExitCode> {
    print_exposure(&plan.revocation.who(), &plan.exposure, g);
    let revocation = plan.revocation.clone();
    let config = shown(cfg.path());
    let config = config.display();
    let environments = plan.environments.clone();
    let outcome = offboard::apply(plan, lock, ids, dry_run)?;
    let label = match &revocation {
        offboard::Revocation::Member(_) => "member remove",
        offboard::Revocation::Env { .. } => "env revoke",
    };
    let code = report(&outcome.files, Op::Rotate, label, dry_run, Some(cfg), g);
    if let Some(code) = code.filter(|_| !dry_run && !outcome.recorded) {
        return Err(exit::CliError::new(
            code,
            format!(
                "{}: nothing done: the config after it leaves some files without recipients (failed lines above)",
                revocation.command()
            ),
        )
        .hint("every environment keeps at least one member (secrets env grant ENV MEMBER); fix the config, then run it again")
        .into());
    }
    if let Some(code) = code.filter(|_| !dry_run) {
        let failed = outcome.files.failures().count();
        let total = outcome.files.files.len();
        let (who, still) = match &revocation {
            Revocation::Member(name) => (name.clone(), format!("{config} still names {name}")),
            Revocation::Env { env, members } => (
                members.join(", "),
                format!("{config} still lists {} in {env}", members.join(", ")),
            ),
        };
        let command = revocation.command();
        return Err(exit::CliError::new(
            code,
            format!(
                "{command}: {failed} of {total} file(s) could not be rotated; {still}, with the revocation recorded as unfinished"
            ),
        )
        .hint(format!(
            "files already rotated stay rotated ({who} can no longer open them, the remaining members can); fix the failed files (restore a tampered one from git; one you cannot open: a member who can runs secrets rotate FILE), then run secrets {command} again to finish"
        ))
        .into());
    }
    let done = match &revocation {
        Revocation::Member(name) => format!(
            "{} member {name} from {config}{}",
            if dry_run { "would remove" } else { "removed" },
            if environments.is_empty() {
                String::new()
            } else {
                format!(" (environments: {})", environments.join(", "))
            }
        ),
        Revocation::Env { env, members } => format!(
            "{} {} from {env}",
            if dry_run { "would revoke" } else { "revoked" },
            members.join(", ")
        ),
    };
    output::note(g, done);
    Ok(match code {
        Some(code) => std::process::ExitCode::from(code),
        None => std::process::ExitCode::SUCCESS,
    })
}

/// Prints, per file, the key paths of the encrypted values `who` could read.
fn print_exposure(who: &str, files: &[offboard::Exposure], g: &Global) {
    if files.is_empty() {
        output::note(g, format!("{who} could read no encrypted file"));
        return;
    }
    println!(
        "{who} could read these values ({} file(s)); change them at their source:",
        files.len()
    );
    for f in files {
        println!("  {}", shown(&f.path).display());
        for key in &f.key_paths {
            println!("    {key}");
        }
    }
}
