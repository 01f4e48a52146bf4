//! `secrets edit FILE`: decrypt into a private temporary directory, open the editor,
//! re-encrypt only the values that changed. Unchanged values keep their ciphertext, so the
//! git diff shows only the edited keys; no change leaves the file byte-for-byte as it was.

use std::ffi::{OsStr, OsString};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::exit::{CliError, INPUT, NOT_MODIFIED, NO_EDITOR};
use super::{output, Global};
use crate::engine::{self, EncryptedFile};
use crate::exec::run::{self, ChildEnv, RunError, Signals, Status};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The encrypted file (a missing file is created and encrypted for the config's recipients).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    #[command(flatten)]
    target: super::encrypt::Target,
}

/// `$SOPS_EDITOR`, `$EDITOR`, else `vi`; split on white space so `code --wait` works.
fn editor_command() -> Vec<String> {
    let raw = ["SOPS_EDITOR", "EDITOR"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
        .unwrap_or_else(|| "vi".to_string());
    raw.split_whitespace().map(str::to_string).collect()
}

/// Runs the editor on `path` and waits. The terminating signals are blocked in us (see
/// [`Signals`]) and forwarded to the editor, so a kill or hangup cannot end us while the
/// plaintext exists: we wait for the editor, the caller removes the directory.
///
/// The editor decides whether the edit is finished: one that handles the signal itself
/// (saves on Ctrl-C or SIGTERM) and exits 0 has its edit kept. One that fails or dies
/// while a signal was being delivered ends the command with 128+N, file unchanged.
fn run_editor(path: &Path, signals: &Signals) -> anyhow::Result<()> {
    let cmd = editor_command();
    let prog = cmd.first().map(String::as_str).unwrap_or("vi");
    let cannot_run = |e: RunError| {
        CliError::new(NO_EDITOR, format!("cannot run editor {prog:?}: {e}"))
            .hint("set $EDITOR (or $SOPS_EDITOR) to your editor command")
    };
    let program =
        run::resolve(OsStr::new(prog), std::env::var_os("PATH").as_deref()).map_err(cannot_run)?;
    let mut argv: Vec<OsString> = cmd.iter().map(OsString::from).collect();
    argv.push(path.as_os_str().to_os_string());
    let env = ChildEnv::build(std::env::vars_os(), std::iter::empty(), false);
    // The editor keeps our core limit of 0: it holds the plaintext too.
    let status = run::spawn_and_wait(&program, &argv, env, signals, false);
    match status {
        Err(RunError::Interrupted(sig)) => return Err(interrupted(sig)),
        Ok(Status::Exited(0)) => return Ok(()),
        _ => {}
    }
    if let Some(sig) = signals.received() {
        return Err(interrupted(sig));
    }
    match status.map_err(cannot_run)? {
        Status::Exited(0) => Ok(()),
        s => Err(CliError::new(
            NO_EDITOR,
            format!(
                "editor {prog:?} exited with code {}; file left unchanged",
                s.shell_code()
            ),
        )
        .into()),
    }
}

fn interrupted(sig: i32) -> anyhow::Error {
    CliError::new(
        (128 + sig) as u8,
        format!("interrupted by signal {sig}; file left unchanged"),
    )
    .into()
}

/// Asks on a terminal whether to reopen the editor. The terminating signals are still
/// blocked, so the wait polls for one (Ctrl-C here aborts like Ctrl-D, after cleanup).
fn ask_to_reopen(err: &anyhow::Error, signals: &Signals) -> anyhow::Result<bool> {
    // A signal that reached us while the editor ran: the user wants out, not another round.
    if let Some(sig) = signals.received() {
        return Err(interrupted(sig));
    }
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    eprintln!("secrets: {err:#}");
    eprint!("Press Enter to reopen the editor, or Ctrl-D to abort without changes: ");
    loop {
        if let Some(sig) = signals.pending_termination() {
            return Err(interrupted(sig));
        }
        if stdin_ready(200) {
            break;
        }
    }
    let mut line = String::new();
    Ok(matches!(std::io::stdin().read_line(&mut line), Ok(n) if n > 0))
}

/// Whether stdin has a line (or end of file) within `ms` milliseconds.
#[cfg(unix)]
fn stdin_ready(ms: i32) -> bool {
    let mut fd = libc::pollfd {
        fd: 0,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll on one local pollfd.
    unsafe { libc::poll(&mut fd, 1, ms) != 0 }
}

#[cfg(not(unix))]
fn stdin_ready(_ms: i32) -> bool {
    true
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    let path = &args.file;
    let format = g
        .input_type
        .unwrap_or_else(|| crate::store::Format::from_path(path));
    let existing = if path.exists() {
        Some(output::open_file(path, g)?)
    } else {
        None
    };
    let (plain_text, layout) = match &existing {
        Some((file, _, opened)) => (
            engine::emit_plain(path, format, &opened.branches, file.layout)?,
            file.layout,
        ),
        None => (
            zeroize::Zeroizing::new(Vec::new()),
            crate::store::Layout::default_for(format),
        ),
    };

    // Blocked before the plaintext exists, so no signal can end us while it does.
    let signals = Signals::block();
    // Removed on every exit path, and by the signal handler for the signals not blocked
    // here (SIGABRT, …; crate::tempfiles).
    let dir = crate::fsutil::private_tempdir(crate::tempfiles::EDIT_PREFIX)?;
    if cfg!(target_os = "linux") && !dir.in_ram() {
        output::note(
            g,
            format!(
                "secrets: warning: {} is not on tmpfs (/dev/shm is unusable); the plaintext is written to disk while the editor runs",
                dir.path().display()
            ),
        );
    }
    let name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "secrets".into());
    let tmp = dir.path().join(name);
    crate::fsutil::atomic_write_mode(&tmp, &plain_text, Some(0o600))?;

    // The edited text, parsed and sealed; invalid text (or a value that cannot be written,
    // such as a JSON integer sops would round in clear) offers to reopen the editor.
    let file = loop {
        run_editor(&tmp, &signals)?;
        let bytes = zeroize::Zeroizing::new(std::fs::read(&tmp)?);
        if bytes.as_slice() == plain_text.as_slice() {
            return Err(CliError::new(
                NOT_MODIFIED,
                format!("{}: file has not been modified", path.display()),
            )
            .into());
        }
        let sealed = match engine::parse_plain(path, format, &bytes) {
            Err(e) => Err(e),
            Ok((edited, _)) => match &existing {
                Some((file, key, opened)) => {
                    if edited == opened.branches {
                        return Err(CliError::new(
                            NOT_MODIFIED,
                            format!("{}: no value changed", path.display()),
                        )
                        .into());
                    }
                    let mut file = file.clone();
                    file.reseal(&edited, key, &opened.stash).map(|()| file)
                }
                None => {
                    let (recipients, rules) = args.target.resolve(path)?;
                    EncryptedFile::create(path, format, layout, &edited, &recipients, rules)
                }
            },
        };
        match sealed {
            Ok(file) => break file,
            Err(
                e @ (engine::FileError::Parse { .. } | engine::FileError::RoundedInClear { .. }),
            ) => {
                let e = anyhow::Error::from(e);
                if ask_to_reopen(&e, &signals)? {
                    continue;
                }
                return Err(e.context(CliError::new(
                    INPUT,
                    "edited text is invalid; file left unchanged",
                )));
            }
            Err(e) => return Err(e.into()),
        }
    };
    drop(dir);
    file.save()?;
    output::note(g, format!("saved {}", path.display()));
    Ok(ExitCode::SUCCESS)
}
