//! `secrets edit FILE`: decrypt into a private temporary directory, open the editor,
//! re-encrypt only the values that changed. Unchanged values keep their ciphertext, so the
//! git diff shows only the edited keys; no change leaves the file byte-for-byte as it was.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::exit::{CliError, INPUT, NOT_MODIFIED, NO_EDITOR};
use super::{output, Global};
use crate::engine::{self, EncryptedFile};

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

/// Runs the editor on `path` and waits; Ctrl-C goes to the editor, not to us, so the
/// temporary directory is always removed.
fn run_editor(path: &Path) -> anyhow::Result<()> {
    let cmd = editor_command();
    let (prog, rest) = cmd.split_first().expect("never empty");
    let mut child = std::process::Command::new(prog);
    child.args(rest).arg(path);
    #[cfg(unix)]
    let old = unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
    let status = child.status();
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGINT, old);
    }
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(CliError::new(
            NO_EDITOR,
            format!("editor {prog:?} exited with {s}; file left unchanged"),
        )
        .into()),
        Err(e) => Err(
            CliError::new(NO_EDITOR, format!("cannot run editor {prog:?}: {e}"))
                .hint("set $EDITOR (or $SOPS_EDITOR) to your editor command")
                .into(),
        ),
    }
}

fn ask_to_reopen(err: &anyhow::Error) -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    eprintln!("secrets: {err:#}");
    eprint!("Press Enter to reopen the editor, or Ctrl-D to abort without changes: ");
    let mut line = String::new();
    matches!(std::io::stdin().read_line(&mut line), Ok(n) if n > 0)
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

    let dir = crate::fsutil::private_tempdir("secrets-edit-")?;
    let name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "secrets".into());
    let tmp = dir.path().join(name);
    crate::fsutil::atomic_write_mode(&tmp, &plain_text, Some(0o600))?;

    let edited = loop {
        run_editor(&tmp)?;
        let bytes = zeroize::Zeroizing::new(std::fs::read(&tmp)?);
        if bytes.as_slice() == plain_text.as_slice() {
            return Err(CliError::new(
                NOT_MODIFIED,
                format!("{}: file has not been modified", path.display()),
            )
            .into());
        }
        match engine::parse_plain(path, format, &bytes) {
            Ok((branches, _)) => break branches,
            Err(e) => {
                let e = anyhow::Error::from(e);
                if ask_to_reopen(&e) {
                    continue;
                }
                return Err(e.context(CliError::new(
                    INPUT,
                    "edited text is invalid; file left unchanged",
                )));
            }
        }
    };
    drop(dir);

    match existing {
        Some((mut file, key, opened)) => {
            if edited == opened.branches {
                return Err(CliError::new(
                    NOT_MODIFIED,
                    format!("{}: no value changed", path.display()),
                )
                .into());
            }
            file.reseal(&edited, &key, &opened.stash)?;
            file.save()?;
        }
        None => {
            let (recipients, rules) = args.target.resolve(path)?;
            EncryptedFile::create(path, format, layout, &edited, &recipients, rules)?.save()?;
        }
    }
    output::note(g, format!("saved {}", path.display()));
    Ok(ExitCode::SUCCESS)
}
