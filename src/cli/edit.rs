//! `secrets edit FILE`: decrypt into a private temporary directory, open the editor,
//! re-encrypt only the values that changed. Unchanged values keep their ciphertext, so the
//! git diff shows only the edited keys; no change leaves the file byte-for-byte as it was.
//! A new file opens on a template in its format; saved unchanged, no file is created.

use std::ffi::{OsStr, OsString};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::exit::{CliError, INPUT, NOT_MODIFIED, NO_EDITOR};
use super::{output, Global};
use crate::engine::{self, EncryptedFile};
use crate::exec::run::{self, ChildEnv, RunError, Signals, Status};
use crate::fsutil::lock::{Lock, LockError, Seen};
use crate::store::template::Template;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The encrypted file (a missing file is created and encrypted for the config's recipients).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    #[command(flatten)]
    target: super::encrypt::Target,
    #[command(flatten)]
    pub itype: super::InputTypeArg,
    #[command(flatten)]
    pub ids: super::IdentityArg,
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
pub(super) fn run_editor(path: &Path, signals: &Signals) -> anyhow::Result<()> {
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
pub(super) fn ask_to_reopen(err: &anyhow::Error, signals: &Signals) -> anyhow::Result<bool> {
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
    let (existing, seen) = open_existing(path, g)?;
    // A new file starts from a template in its format (store::template).
    let template = Template::for_format(format);
    let (plain_text, layout) = match &existing {
        Some((file, _, opened)) => (
            engine::emit_plain(path, format, &opened.branches, file.layout)?,
            file.layout,
        ),
        None => (
            zeroize::Zeroizing::new(template.text().into_bytes()),
            crate::store::Layout::default_for(format),
        ),
    };

    // A new file's keys and rules are settled before the editor opens, as sops does: a
    // conflict of flags and config is said before anything is typed.
    if existing.is_none() {
        args.target.resolve(path)?;
    }

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
    // A new file is encrypted by the config as it is when the editor closes, under the
    // config's lock until it is saved (as `encrypt -i`): not for a member an `env revoke`
    // running meanwhile takes out.
    let mut config_lock = None;
    let file = loop {
        run_editor(&tmp, &signals)?;
        let bytes = zeroize::Zeroizing::new(std::fs::read(&tmp)?);
        if existing.is_none() && template.unchanged(&bytes) {
            return Err(CliError::new(
                NOT_MODIFIED,
                format!(
                    "{}: the new file's template was saved unchanged (or emptied); no file created",
                    path.display()
                ),
            )
            .into());
        }
        if bytes.as_slice() == plain_text.as_slice() {
            return Err(CliError::new(
                NOT_MODIFIED,
                format!("{}: file has not been modified", path.display()),
            )
            .into());
        }
        let text = match existing {
            Some(_) => bytes.as_slice(),
            None => template.strip(&bytes),
        };
        let sealed = match engine::parse_plain(path, format, text) {
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
                    // Settled again as the config is now; a failure keeps the edits.
                    let settled = (|| {
                        if let Some(config) = crate::config::find_config(path) {
                            config_lock = Some(Lock::acquire(&config)?);
                        }
                        args.target.resolve(path)
                    })();
                    let (keys, rules) = match settled {
                        Ok(settled) => settled,
                        Err(e) => return Err(failed_keeping_edits(e, path, &tmp)),
                    };
                    let services = crate::keys::Services::from_env();
                    EncryptedFile::create_for(
                        path, format, layout, &edited, &keys, rules, &services,
                    )
                }
            },
        };
        match sealed {
            Ok(file) => break file,
            Err(
                e @ (engine::FileError::Parse { .. } | engine::FileError::RoundedInClear { .. }),
            ) => {
                let e = anyhow::Error::from(e);
                config_lock = None;
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
    save(&file, path, &seen, &tmp)?;
    drop(config_lock);
    drop(dir);
    output::note(g, format!("saved {}", path.display()));
    Ok(ExitCode::SUCCESS)
}

type Existing = (EncryptedFile, crate::crypto::DataKey, engine::Opened);

/// The file to edit, decrypted, and what it was (`Seen::missing` for a new file). It is
/// read under its lock (a command writing it finishes first), but the lock is not held
/// while the editor is open: [`save`] checks instead that nothing changed meanwhile.
fn open_existing(path: &Path, g: &Global) -> anyhow::Result<(Option<Existing>, Seen)> {
    if !path.exists() {
        return Ok((None, Seen::missing()));
    }
    let (file, seen) = EncryptedFile::load_locked(&Lock::acquire(path)?, g.input_type)?;
    let ids = output::identities(g)?;
    let key = file
        .data_key(&ids)
        .map_err(crate::workspace::name_recipients)?;
    let opened = file.open(&key)?;
    Ok((Some((file, key, opened)), seen))
}

/// Writes the edited file under its lock, and only if the file on disk is still the one
/// the editor was opened on: a `set`, `updatekeys` or teammate's `git pull` meanwhile is
/// never overwritten. When the file cannot be written, the edited text is kept in a new
/// private directory beside the editor's (0700, in RAM when `/dev/shm` is used) and the
/// error says where, so no edit is lost.
fn save(file: &EncryptedFile, path: &Path, seen: &Seen, edited: &Path) -> anyhow::Result<()> {
    let saved = Lock::acquire(path)
        .map_err(engine::FileError::from)
        .and_then(|lock| file.save_locked(&lock, seen));
    let Err(e) = saved else {
        return Ok(());
    };
    Err(failed_keeping_edits(anyhow::Error::from(e), path, edited))
}

/// The error of a save that failed after the editor closed, with the edited text kept in
/// a private directory that outlives the command (and where it is said).
fn failed_keeping_edits(e: anyhow::Error, path: &Path, edited: &Path) -> anyhow::Error {
    let what = match e.downcast_ref::<engine::FileError>() {
        Some(engine::FileError::Lock(LockError::Changed { .. })) => format!(
            "{}: changed while the editor was open (another command or program wrote it); nothing was written",
            path.display()
        ),
        _ => format!("{e:#}"),
    };
    let kept = match keep_edits(edited) {
        Ok(k) => format!(
            "; your edited text is kept in {} (readable only by you): run secrets edit {} again, copy your changes over, then delete that directory",
            k.display(),
            path.display()
        ),
        Err(k) => format!("; your edited text could not be kept ({k})"),
    };
    CliError::new(super::exit::code_for(&e), format!("{what}{kept}")).into()
}

/// Moves the edited file into a new private directory next to the editor's, which is
/// not removed: its path.
fn keep_edits(edited: &Path) -> std::io::Result<PathBuf> {
    let base = edited
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| std::io::Error::other("no directory for it"))?;
    let dir = crate::fsutil::private_tempdir_in(base, "secrets-kept-")?.keep();
    let kept = dir.join(edited.file_name().unwrap_or(OsStr::new("edited")));
    std::fs::rename(edited, &kept)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(kept)
}
