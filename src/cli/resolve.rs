//! `secrets resolve FILE`: finishes a merge the merge driver left conflicted. The three
//! versions come from git's index (or the driver's record); the conflicting keys open in
//! the editor with their base, ours and theirs values, in a private temporary directory
//! as `edit` uses (never the work tree); the result is sealed, written, and staged.
//! `--ours` / `--theirs` take one side for every conflicting key without an editor. Text
//! saved unchanged writes nothing (exit 200, as `edit`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::exit::{CliError, INPUT, NOT_ENCRYPTED, NOT_MODIFIED};
use super::{output, Global};
use crate::engine;
use crate::exec::run::Signals;
use crate::fsutil::lock::Lock;
use crate::store::{Format, Layout};
use crate::workspace::gitmerge::{self, Plan};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The conflicted encrypted file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Keep ours's value for every conflicting key (no editor).
    #[arg(long, conflicts_with = "theirs")]
    ours: bool,
    /// Take theirs's value for every conflicting key (no editor).
    #[arg(long)]
    theirs: bool,
    /// Write the file but leave it unstaged (default: `git add` it, ending the conflict).
    #[arg(long)]
    no_add: bool,
    #[command(flatten)]
    pub ids: super::IdentityArg,
}

pub fn run(a: Args, g: &Global) -> anyhow::Result<ExitCode> {
    let abs = crate::config::absolute(&a.file);
    let repo = crate::git::discover(abs.parent().unwrap_or(Path::new(".")))?;
    let workdir = repo
        .workdir()
        .map(crate::config::absolute)
        .ok_or_else(|| CliError::new(INPUT, "a bare repository has no files to resolve"))?;
    let rel = abs
        .strip_prefix(&workdir)
        .map(crate::config::rel_string)
        .map_err(|_| {
            CliError::new(
                INPUT,
                format!("{}: not in the repository", a.file.display()),
            )
        })?;
    let [base, ours, theirs] = gitmerge::conflicted_versions(&repo, &rel)?;
    let parsed = gitmerge::parse(&a.file, [&base, &ours, &theirs])?.ok_or_else(|| {
        CliError::new(
            NOT_ENCRYPTED,
            format!(
                "{}: not encrypted; resolve it as a text file",
                a.file.display()
            ),
        )
    })?;
    let ids = output::identities(g)?;
    let config = gitmerge::config_at(abs.parent().unwrap_or(&workdir));
    let mut plan = gitmerge::plan(parsed, &ids, config.as_ref())?;
    let n = plan.conflicts.len();
    if a.ours || a.theirs {
        take_side(&mut plan, a.theirs);
    } else if n > 0 {
        edit(&mut plan, g)?;
    }
    let sealed = plan.seal()?;
    let lock = Lock::acquire(&a.file)?;
    let seen = match lock.read_at_most(crate::store::limits::MAX_ENCRYPTED_SIZE)? {
        Some((_, seen)) => seen,
        None => crate::fsutil::lock::Seen::missing(),
    };
    sealed.save_locked(&lock, &seen)?;
    drop(lock);
    if !a.no_add {
        gitmerge::stage(&repo, &rel)?;
    }
    gitmerge::remove_record(repo.path(), &rel);
    let how = match (a.ours, a.theirs, n) {
        (_, _, 0) => "merged (no key conflicts)".to_string(),
        (true, _, _) => format!("{n} key(s) resolved with ours's values"),
        (_, true, _) => format!("{n} key(s) resolved with theirs's values"),
        _ => format!("{n} key(s) resolved"),
    };
    let staged = if a.no_add { "" } else { "; staged" };
    output::note(g, format!("secrets: {}: {how}{staged}", a.file.display()));
    Ok(ExitCode::SUCCESS)
}

fn take_side(plan: &mut Plan, theirs: bool) {
    for c in plan.conflicts.clone() {
        if c.path.0.is_empty() {
            plan.take_whole(theirs);
            continue;
        }
        let value = Plan::node(if theirs { &plan.theirs } else { &plan.ours }, &c).cloned();
        // The path exists in the merged tree's parents (ours's shape): cannot fail.
        let _ = plan.choose(&c, value);
    }
}

/// Opens the conflicting keys in the editor (private temp dir, removed on every exit
/// path) and applies what comes back; invalid text offers to reopen the editor.
fn edit(plan: &mut Plan, g: &Global) -> anyhow::Result<()> {
    if plan.conflicts.iter().any(|c| c.path.0.is_empty()) || plan.format == Format::Binary {
        return Err(CliError::new(
            INPUT,
            format!(
                "{}: the whole file conflicts (a binary file, or a different number of documents); take one side with --ours or --theirs",
                plan.name.display()
            ),
        )
        .into());
    }
    let doc = gitmerge::resolution_doc(plan);
    let text_path = Path::new("resolve.yaml");
    let text = engine::emit_plain(
        text_path,
        Format::Yaml,
        &[doc],
        Layout::default_for(Format::Yaml),
    )?;
    let signals = Signals::block();
    let dir = crate::fsutil::private_tempdir(crate::tempfiles::EDIT_PREFIX)?;
    if cfg!(target_os = "linux") && !dir.in_ram() {
        output::note(
            g,
            format!(
                "secrets: warning: {} is not on tmpfs; the plaintext is written to disk while the editor runs",
                dir.path().display()
            ),
        );
    }
    let tmp = dir.path().join("resolve.yaml");
    crate::fsutil::atomic_write_mode(&tmp, &text, Some(0o600))?;
    loop {
        super::edit::run_editor(&tmp, &signals)?;
        let bytes = zeroize::Zeroizing::new(std::fs::read(&tmp)?);
        // Saved unchanged (or not saved): no decision was made, as `edit` takes it.
        if bytes.as_slice() == text.as_slice() {
            return Err(CliError::new(
                NOT_MODIFIED,
                format!(
                    "{}: the resolve text was not changed; nothing written",
                    plan.name.display()
                ),
            )
            .hint("edit the `result` lines, or keep ours's values with secrets resolve --ours FILE")
            .into());
        }
        let parsed = engine::parse_plain(text_path, Format::Yaml, &bytes)
            .map_err(anyhow::Error::from)
            .and_then(|(docs, _)| {
                let doc = docs.into_iter().next().unwrap_or_default();
                gitmerge::apply_resolution(plan, &doc)
                    .map_err(|e| anyhow::Error::from(CliError::new(INPUT, e)))
            });
        match parsed {
            Ok(()) => return Ok(()),
            Err(e) => {
                if super::edit::ask_to_reopen(&e, &signals)? {
                    continue;
                }
                return Err(e.context(CliError::new(
                    INPUT,
                    "the resolved text is invalid; nothing was written",
                )));
            }
        }
    }
}
