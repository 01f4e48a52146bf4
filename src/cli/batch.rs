//! Printing a batch's outcome (`updatekeys`, `rotate`, and the rotations of `member
//! remove` and `env revoke`): one line per file on stdout (failures on stderr), a summary,
//! and the exit code of the first failure.

use std::path::Path;

use super::output::{self, shown};
use super::{exit, Global};
use crate::config::Config;
use crate::workspace::batch::{describe, Done, Op, Outcome};
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

/// Prints each file's result and the summary; returns the exit code of the first failure
/// (in plan order), `None` when every file succeeded.
pub fn report(
    outcome: &Outcome,
    op: Op,
    dry_run: bool,
    cfg: Option<&Config>,
    g: &Global,
) -> Option<u8> {
    let (mut changed, mut same, mut failed) = (0, 0, 0);
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
                changed += 1;
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
    let (what, verb) = match (op, dry_run) {
        (Op::Update { .. }, false) => ("updatekeys", "updated"),
        (Op::Update { .. }, true) => ("updatekeys", "would update"),
        (Op::Rotate, false) => ("rotate", "rotated"),
        (Op::Rotate, true) => ("rotate", "would rotate"),
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
    match report(outcome, op, dry_run, cfg, g) {
        Some(code) => {
            if !g.quiet {
                eprintln!("hint: failed files were left untouched; a member who can decrypt them can re-run this, or restore a tampered file from git");
            }
            std::process::ExitCode::from(code)
        }
        None => std::process::ExitCode::SUCCESS,
    }
}

/// `member remove` and `env revoke`: prints what they could read, runs the plan, prints
/// each file's rotation.
pub fn offboard(
    plan: offboard::Plan,
    lock: &crate::fsutil::lock::Lock,
    ids: &crate::keys::Identities,
    dry_run: bool,
    cfg: &Config,
    g: &Global,
) -> anyhow::Result<std::process::ExitCode> {
    print_exposure(&plan.revocation.who(), &plan.exposure, g);
    let done = match &plan.revocation {
        Revocation::Member(name) => format!(
            "{} member {name} from {}{}",
            if dry_run { "would remove" } else { "removed" },
            shown(cfg.path()).display(),
            if plan.environments.is_empty() {
                String::new()
            } else {
                format!(" (environments: {})", plan.environments.join(", "))
            }
        ),
        Revocation::Env { env, members } => format!(
            "{} {} from {env}",
            if dry_run { "would revoke" } else { "revoked" },
            members.join(", ")
        ),
    };
    let outcome = offboard::apply(plan, lock, ids, dry_run)?;
    output::note(g, done);
    Ok(finish(&outcome.files, Op::Rotate, dry_run, Some(cfg), g))
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
