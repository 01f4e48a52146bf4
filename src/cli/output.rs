//! Helpers shared by the file commands: identities, reading stdin, writing output.

use std::io::Write;
use std::path::Path;

use super::exit::{CliError, INPUT, OUTPUT};
use super::Global;
use crate::keys::Identities;
use crate::model::{SecretBuf, SecretText};

/// The identities for decryption, with any warnings printed once.
pub fn identities(g: &Global) -> anyhow::Result<Identities> {
    let ids = Identities::discover(&g.identity)?;
    if !g.quiet {
        for w in &ids.warnings {
            eprintln!("secrets: warning: {w}");
        }
    }
    Ok(ids)
}

/// Writes bytes to stdout, or atomically to `out` (plaintext: always mode 0600, also over an
/// existing, more open file).
pub fn write_output(out: Option<&Path>, bytes: &[u8], private: bool) -> anyhow::Result<()> {
    match out {
        Some(p) if !is_regular_target(p) => write_through(p, bytes)
            .map_err(|e| CliError::new(OUTPUT, format!("{}: {e}", p.display())).into()),
        Some(p) => if private {
            crate::fsutil::atomic_write_private(p, bytes)
        } else {
            crate::fsutil::atomic_write(p, bytes)
        }
        .map_err(|e| CliError::new(OUTPUT, format!("{}: {e}", p.display())).into()),
        None => match write_stdout(bytes) {
            Ok(()) => Ok(()),
            // A closed pipe (e.g. `| head`) is not an error worth reporting.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(CliError::new(OUTPUT, format!("stdout: {e}")).into()),
        },
    }
}

/// Whether `-o PATH` names a file to replace atomically (a temp file renamed over it):
/// not a descriptor of ours (`/dev/stdout`, `/dev/fd/N`, `/proc/self/fd/N`: renaming over
/// what it points to would replace the shell's redirection target, `> log`, losing what it
/// held), nor an existing device, FIFO or socket (`/dev/null`, `>(kubectl apply -f -)`),
/// which the rename would replace with a plaintext file.
fn is_regular_target(p: &Path) -> bool {
    if fd_of(p).is_some() {
        return false;
    }
    // (a directory is left to the atomic writer, which says what to do)
    std::fs::metadata(p).map_or(true, |m| m.is_file() || m.is_dir())
}

/// The descriptor a `/dev/stdout`-like path names.
fn fd_of(p: &Path) -> Option<i32> {
    let s = p.to_str()?;
    match s {
        "/dev/stdin" => Some(0),
        "/dev/stdout" => Some(1),
        "/dev/stderr" => Some(2),
        _ => s
            .strip_prefix("/dev/fd/")
            .or_else(|| s.strip_prefix("/proc/self/fd/"))
            .and_then(|n| n.parse().ok()),
    }
}

/// Writes to a descriptor we hold, or into an existing device or FIFO as it is.
fn write_through(p: &Path, bytes: &[u8]) -> std::io::Result<()> {
    #[cfg(unix)]
    if let Some(fd) = fd_of(p) {
        use std::os::fd::FromRawFd;
        if fd == 1 {
            return write_stdout(bytes);
        }
        // SAFETY: fcntl takes plain integers; a descriptor that is not open fails (EBADF).
        let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
        if dup < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `dup` is a new descriptor that nothing else owns.
        let file = unsafe { std::fs::File::from_raw_fd(dup) };
        return (&file).write_all(bytes);
    }
    std::fs::OpenOptions::new()
        .write(true)
        .open(p)?
        .write_all(bytes)
}

/// Writes to the standard output's descriptor directly, not through `std::io::Stdout`'s
/// buffer: that buffer lives as long as the process and would keep the tail of what was
/// written (plaintext) after the command wiped its own copy. Anything already buffered
/// goes first; the lock keeps other writers out meanwhile.
fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    use std::os::fd::AsFd;
    let mut stdout = std::io::stdout().lock();
    stdout.flush()?;
    match stdout.as_fd().try_clone_to_owned() {
        Ok(fd) => std::fs::File::from(fd).write_all(bytes),
        Err(_) => stdout.write_all(bytes).and_then(|_| stdout.flush()),
    }
}

/// Reads all of stdin (for `set --value-stdin`) into a buffer that wipes every block
/// it outgrows ([`SecretBuf`]), in reads of 64 KiB that bypass `Stdin`'s own buffer, so no
/// copy of the value stays behind in either.
pub fn read_stdin() -> anyhow::Result<zeroize::Zeroizing<Vec<u8>>> {
    let mut buf = SecretBuf::new();
    buf.read_to_end_from(&mut std::io::stdin().lock())
        .map_err(|e| CliError::new(INPUT, format!("stdin: {e}")))?;
    Ok(buf.into_zeroizing())
}

/// Reads one line from the terminal on stdin without echoing it, after printing `prompt`
/// on stderr (`set FILE KEY` with no value), as [`crate::terminal::read_hidden`] does.
#[cfg(unix)]
pub fn read_hidden_line(prompt: &str) -> anyhow::Result<zeroize::Zeroizing<String>> {
    let fail = |e: std::io::Error| CliError::new(INPUT, format!("terminal: {e}"));
    let mut stdin = std::io::stdin().lock();
    let mut bytes = crate::terminal::read_hidden(0, &mut stdin, &mut std::io::stderr(), prompt)
        .map_err(fail)?;
    // Moved, not copied: the Vec's block becomes the String's (or is wiped in the error).
    match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(text) => Ok(zeroize::Zeroizing::new(text)),
        Err(e) => {
            drop(zeroize::Zeroizing::new(e.into_bytes()));
            Err(CliError::new(INPUT, "the value typed is not UTF-8").into())
        }
    }
}

#[cfg(not(unix))]
pub fn read_hidden_line(_prompt: &str) -> anyhow::Result<zeroize::Zeroizing<String>> {
    Err(CliError::new(INPUT, "no value given")
        .hint("pipe it in with --value-stdin")
        .into())
}

pub use crate::store::stored_path;

/// The node at `kp` in the first document of `file` (get, decrypt --extract), found as
/// [`stored_path`] does; errors name the file.
pub fn lookup_first<'a>(
    file: &Path,
    format: crate::store::Format,
    branches: &'a [crate::model::Branch<crate::model::Plain>],
    kp: crate::model::KeyPath,
) -> anyhow::Result<&'a crate::model::Node<crate::model::Plain>> {
    let Some(first) = branches.first() else {
        return Err(path_error(file)(crate::model::path::PathError::NotFound(
            kp,
        )));
    };
    let kp = stored_path(format, first, kp);
    first
        .lookup(&kp)
        .map_err(|e| not_found_hint(file, format, first, e))
}

/// A key-path error about `file`; when the path is not found, with a `hint:` naming the
/// keys close to it (wrong case, a typo). Names only, never a value.
pub fn not_found_hint<L>(
    file: &Path,
    format: crate::store::Format,
    doc: &crate::model::Branch<L>,
    e: crate::model::path::PathError,
) -> anyhow::Error {
    if let crate::model::path::PathError::NotFound(kp) = &e {
        let name: &dyn Fn(&str) -> &str = match format {
            crate::store::Format::Dotenv => &crate::store::dotenv::env_name,
            _ => &|k| k,
        };
        let close = doc.close_matches(kp, name);
        let near: Vec<String> = close.iter().map(|p| p.typed()).collect();
        // "case-sensitive" only when the case is what differs.
        let case_only = close
            .iter()
            .any(|p| name(&p.dotted()).eq_ignore_ascii_case(name(&kp.dotted())));
        let hint = match doc.where_it_stops(kp) {
            Some(why) => Some(why),
            None if near.is_empty() => None,
            None if case_only => Some(format!(
                "key names are case-sensitive; did you mean {}?",
                near.join(", ")
            )),
            None => Some(format!("did you mean {}?", near.join(", "))),
        };
        if let Some(hint) = hint {
            return CliError::new(super::exit::BAD_PATH, format!("{}: {e}", file.display()))
                .hint(hint)
                .into();
        }
    }
    path_error(file)(e)
}

/// A dotenv key written on several lines is refused for `set` and `unset`: dotenv loaders
/// take the last line, `sops decrypt --extract` and `get` the first, so changing either
/// one leaves the other taking effect somewhere (and `exec` refuses the file). Counted as
/// stored: `export A` beside `A` is two keys a path can name apart (`["export A"]`).
pub fn refuse_repeated_dotenv_key<L>(
    file: &Path,
    format: crate::store::Format,
    doc: &crate::model::Branch<L>,
    kp: &crate::model::KeyPath,
) -> anyhow::Result<()> {
    use crate::store::dotenv::env_name;
    let [crate::model::path::PathSegment::Key(key)] = kp.0.as_slice() else {
        return Ok(());
    };
    if format != crate::store::Format::Dotenv {
        return Ok(());
    }
    let times = doc.entries().filter(|(k, _)| *k == key).count();
    if times < 2 {
        return Ok(());
    }
    Err(CliError::new(
        super::exit::BAD_PATH,
        format!(
            "{}: key {} is written {times} times (dotenv loaders take the last, get and sops the first)",
            file.display(),
            env_name(key)
        ),
    )
    .hint(format!("keep one of them: secrets edit {}", file.display()))
    .into())
}

/// A key-path error about `file`, so the one-line message names the file (exit code 91
/// comes from the [`PathError`](crate::model::path::PathError) below the context).
pub fn path_error(file: &Path) -> impl Fn(crate::model::path::PathError) -> anyhow::Error + '_ {
    move |e| anyhow::Error::from(e).context(file.display().to_string())
}

/// A schema finding as `exec` and `set` print it: environment, file, key, rule and what
/// is wrong, never the value.
pub fn finding_line(f: &crate::policy::check::Finding) -> String {
    format!(
        "{} {} {}: {}: {}",
        f.env,
        f.file.as_deref().unwrap_or("-"),
        f.shown_key(),
        f.rule.as_str(),
        f.detail
    )
}

/// Warns (unless `--quiet`) that a value just written breaks its environment's schema
/// ([`crate::workspace::values::key_findings`]).
pub fn warn_schema(g: &Global, findings: &[crate::policy::check::Finding]) {
    for f in findings.iter().filter(|_| !g.quiet) {
        eprintln!(
            "secrets: warning: {} (exec and check refuse it)",
            finding_line(f)
        );
    }
}

/// Prints a status line to stderr unless `--quiet`.
pub fn note(g: &Global, msg: impl std::fmt::Display) {
    if !g.quiet {
        eprintln!("{msg}");
    }
}

/// The name stdin is given in messages when a command reads `-`.
pub const STDIN_NAME: &str = "<stdin>";

/// Is this path argument `-` (read stdin)?
pub fn is_stdin(path: &Path) -> bool {
    path == Path::new("-")
}

/// An encrypted file from where the command was told to read it: the working tree, stdin
/// (`-`, which needs `--input-type`: there is no name to tell the format), or git at a
/// revision (`--rev`: the blob, in memory, never checked out).
pub fn load_encrypted(
    path: &Path,
    g: &Global,
    rev: Option<&crate::history::Snapshot>,
) -> anyhow::Result<crate::engine::EncryptedFile> {
    use crate::engine::EncryptedFile;
    if is_stdin(path) {
        if rev.is_some() {
            return Err(CliError::new(
                super::exit::CONFLICT,
                "--rev reads a file from git; `-` reads stdin: give one of them",
            )
            .into());
        }
        let (format, buf) = read_stdin_file(
            g,
            crate::store::limits::MAX_ENCRYPTED_SIZE,
            "encrypted files",
        )?;
        return Ok(EncryptedFile::parse(Path::new(STDIN_NAME), format, &buf)?);
    }
    match rev {
        None => Ok(EncryptedFile::load(path, g.input_type)?),
        Some(snap) => snap.load(path, g.input_type).map_err(|e| at_rev(e, snap)),
    }
}

/// A whole file from stdin (`-`): its format must be given (`--input-type`: there is no
/// name to tell it), and at most `max` bytes are read (the limit for `what`), into a
/// buffer that wipes what it outgrows.
pub fn read_stdin_file(
    g: &Global,
    max: u64,
    what: &str,
) -> anyhow::Result<(crate::store::Format, zeroize::Zeroizing<Vec<u8>>)> {
    use std::io::Read;
    let format = g.input_type.ok_or_else(|| {
        CliError::new(
            INPUT,
            "-: reading stdin needs --input-type (yaml, json, dotenv, ini or binary)",
        )
        .hint("e.g. git show REV:FILE | secrets decrypt --input-type yaml -")
    })?;
    let mut buf = SecretBuf::new();
    buf.read_to_end_from(&mut std::io::stdin().lock().take(max + 1))
        .map_err(|e| CliError::new(INPUT, format!("stdin: {e}")))?;
    if buf.len() as u64 > max {
        return Err(CliError::new(
            INPUT,
            format!(
                "stdin: larger than {} (the limit for {what})",
                crate::store::limits::size_text(max)
            ),
        )
        .into());
    }
    Ok((format, buf.into_zeroizing()))
}

/// An error reading from a revision, with the revision said: a file error keeps its own
/// type (so its exit code and hint), under `at REV (commit)`.
pub fn at_rev(e: crate::history::HistoryError, snap: &crate::history::Snapshot) -> anyhow::Error {
    use crate::history::HistoryError;
    match e {
        HistoryError::File(f) => anyhow::Error::from(f).context(format!("at {}", snap.label())),
        other => history_error(other),
    }
}

/// A history error as a CLI error: a bad revision or a file missing there is a usage
/// error (exit 2); a file error keeps its own code.
pub fn history_error(e: crate::history::HistoryError) -> anyhow::Error {
    use crate::history::HistoryError;
    match e {
        HistoryError::File(f) => f.into(),
        HistoryError::BadRev { .. } => CliError::new(INPUT, e.to_string())
            .hint("list them with git log --oneline, git tag, git branch")
            .into(),
        HistoryError::NotAtRev { .. } => CliError::new(INPUT, e.to_string())
            .hint("see where it was: git log --stat --follow -- FILE")
            .into(),
        HistoryError::NotInRepository { .. } | HistoryError::TooLarge { .. } => {
            CliError::new(INPUT, e.to_string()).into()
        }
        HistoryError::Git { .. } => CliError::new(super::exit::GENERIC, e.to_string()).into(),
    }
}

/// `--rev REV` opened against the repository holding `start` (a file or directory).
pub fn snapshot(
    start: &Path,
    rev: Option<&str>,
) -> anyhow::Result<Option<crate::history::Snapshot>> {
    match rev {
        None => Ok(None),
        Some(r) => crate::history::Snapshot::open(start, r)
            .map(Some)
            .map_err(history_error),
    }
}

/// An encrypted file opened for reading: the file, its data key, and its values.
pub type OpenFile = (
    crate::engine::EncryptedFile,
    crate::crypto::DataKey,
    crate::engine::Opened,
);

/// Loads an encrypted file from where [`load_encrypted`] reads it (format from
/// `--input-type` or the name), unwraps its data key and decrypts it.
pub fn open_source(
    path: &Path,
    g: &Global,
    rev: Option<&crate::history::Snapshot>,
) -> anyhow::Result<OpenFile> {
    let ids = identities(g)?;
    open_with(path, g, rev, &ids)
}

/// As [`open_source`], with identities already loaded (a command reading many files).
pub fn open_with(
    path: &Path,
    g: &Global,
    rev: Option<&crate::history::Snapshot>,
    ids: &Identities,
) -> anyhow::Result<OpenFile> {
    open_loaded(load_encrypted(path, g, rev)?, rev, ids)
}

/// As [`open_with`], for a file already read and parsed (by the walk that found it).
pub fn open_loaded(
    file: crate::engine::EncryptedFile,
    rev: Option<&crate::history::Snapshot>,
    ids: &Identities,
) -> anyhow::Result<OpenFile> {
    let in_rev = |e: anyhow::Error| match rev {
        Some(s) => e.context(format!("at {}", s.label())),
        None => e,
    };
    let key = file
        .data_key(ids)
        .map_err(crate::workspace::name_recipients)
        .map_err(|e| in_rev(e.into()))?;
    // Read only: nothing here writes the file back, so no IV stash.
    let opened = file.read(&key).map_err(|e| in_rev(e.into()))?;
    Ok((file, key, opened))
}

/// An encrypted file opened to be changed and written back, holding its lock.
pub struct Update {
    pub lock: crate::fsutil::lock::Lock,
    pub seen: crate::fsutil::lock::Seen,
    pub file: crate::engine::EncryptedFile,
    pub key: crate::crypto::DataKey,
    pub opened: crate::engine::Opened,
}

impl Update {
    /// Writes the file back under its lock (refused if it changed since it was read).
    pub fn save(&self) -> Result<(), crate::engine::FileError> {
        self.file.save_locked(&self.lock, &self.seen)
    }
}

/// As [`open_source`] (the working file only), for a command that writes the file back (set, unset): the file's lock
/// is taken before it is read and held until the returned value is dropped. Identities
/// are loaded first, so that no passphrase prompt holds the lock.
pub fn open_for_update(path: &Path, g: &Global) -> anyhow::Result<Update> {
    let ids = identities(g)?;
    let lock = crate::fsutil::lock::Lock::acquire(path)?;
    let (file, seen) = crate::engine::EncryptedFile::load_locked(&lock, g.input_type)?;
    let key = file
        .data_key(&ids)
        .map_err(crate::workspace::name_recipients)?;
    let opened = file.open(&key)?;
    Ok(Update {
        lock,
        seen,
        file,
        key,
        opened,
    })
}

/// Prints one value: its text (no trailing newline unless stdout is a terminal, so
/// `$(secrets get …)` and pipes get the exact value), or a subtree in `format`. A number,
/// bool or null prints as sops's `--extract` prints it, in the output format's notation
/// (YAML `1e+06`, JSON `1000000`); with `extract`, a YAML one also ends with a newline, as
/// sops prints it as a YAML document (a string never does).
pub fn print_node(
    node: &crate::model::Node<crate::model::Plain>,
    format: crate::store::Format,
    layout: crate::store::Layout,
    extract: bool,
) -> anyhow::Result<()> {
    use crate::model::{Node, Scalar};
    use crate::store::Format;
    use std::io::IsTerminal;
    match node {
        Node::Leaf(l) => {
            let s = l.scalar();
            let typed = matches!(
                s,
                Scalar::Int(_) | Scalar::Float(_) | Scalar::Bool(_) | Scalar::Null
            );
            let sops_text = match format {
                Format::Json => crate::store::json::scalar_text(s),
                Format::Yaml if typed => Some(crate::store::yaml::scalar_text(s)),
                _ => None,
            };
            // Written once into a zeroizing buffer with room for the newline.
            let mut text = match (s, sops_text) {
                // (bytes that are not UTF-8 are printed as they are, as sops prints them)
                (Scalar::Bytes(b) | Scalar::RawStr(b), _) => {
                    let mut t = SecretBuf::with_capacity(b.len() + 1);
                    t.extend_from_slice(b);
                    t
                }
                (_, Some(t)) => t.into_bytes(),
                (s, None) => {
                    let mut t = SecretText::with_capacity(s.text_len() + 1);
                    s.write_text(&mut t);
                    t.into_bytes()
                }
            };
            if (extract && typed && format == Format::Yaml) || std::io::stdout().is_terminal() {
                text.push(b'\n');
            }
            write_output(None, &text, false)
        }
        Node::Map(b) => {
            let bytes = crate::engine::emit_plain(
                Path::new("-"),
                tree_format(format),
                std::slice::from_ref(b),
                layout,
            )?;
            write_output(None, &bytes, false)
        }
        Node::List(items) => {
            let text =
                crate::store::emit_list(tree_format(format), items, layout).map_err(|error| {
                    crate::engine::FileError::Emit {
                        path: "-".into(),
                        error,
                    }
                })?;
            write_output(None, text.as_bytes(), false)
        }
    }
}

/// Subtrees print as YAML or JSON (dotenv, INI and binary cannot hold them).
fn tree_format(f: crate::store::Format) -> crate::store::Format {
    match f {
        crate::store::Format::Json => crate::store::Format::Json,
        _ => crate::store::Format::Yaml,
    }
}

/// A path for messages: relative to the current directory when it is below it.
pub fn shown(path: &Path) -> std::path::PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    match path.strip_prefix(&cwd) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_path_buf(),
        _ => path.to_path_buf(),
    }
}

/// Where to look for the config: the first file named, else the current directory.
pub fn config_start(files: &[std::path::PathBuf]) -> anyhow::Result<std::path::PathBuf> {
    let cwd = std::env::current_dir()?;
    Ok(files.first().map(|f| cwd.join(f)).unwrap_or(cwd))
}

/// Why git ignores a file, for messages: `ignored by git (.gitignore:3: .env)`, or
/// `(.gitignore:4: secrets/, which ignores its directory secrets)`.
pub fn ignored_reason(ig: &crate::git::ignored::Ignored) -> String {
    match &ig.rule {
        None => "ignored by git".into(),
        Some(r) if r.matched == ig.path => {
            format!("ignored by git ({}:{}: {})", r.file, r.line, r.pattern)
        }
        Some(r) => format!(
            "ignored by git ({}:{}: {}, which ignores its directory {})",
            r.file,
            r.line,
            r.pattern,
            crate::config::rel_string(&r.matched)
        ),
    }
}

/// What makes git see it: the exception lines and where they go.
pub fn ignored_fix(ig: &crate::git::ignored::Ignored) -> String {
    let Some(e) = ig.exception() else {
        return format!(
            "see which rule: git check-ignore -v {}",
            crate::config::rel_string(&ig.path)
        );
    };
    let lines = e
        .lines
        .iter()
        .map(|l| format!("'{l}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let (what, order) = if e.lines.len() == 1 {
        ("the line", "")
    } else {
        ("the lines", ", in this order")
    };
    let dir = if e.lines.len() > 1 {
        "git cannot re-include a file inside an ignored directory; "
    } else {
        ""
    };
    match (e.below, &ig.rule) {
        (Some(line), _) => format!(
            "{dir}to share it, add {what} {lines} to {} below line {line}{order} (an exception must come after the rule it undoes)",
            e.file
        ),
        (None, Some(r)) => format!(
            "{dir}to share it, add {what} {lines} to {}{order} (it overrides {})",
            e.file, r.file
        ),
        (None, None) => format!("{dir}to share it, add {what} {lines} to {}{order}", e.file),
    }
}

/// Warns (unless `--quiet`) that git ignores these files: a warning line naming the rule
/// and a hint with the exception, per file.
pub fn warn_ignored(g: &Global, ignored: &[(std::path::PathBuf, crate::git::ignored::Ignored)]) {
    for (path, ig) in ignored {
        note(
            g,
            format!(
                "secrets: warning: {} is {}: git will not commit it, so teammates will not get it\nhint: {}",
                shown(path).display(),
                ignored_reason(ig),
                ignored_fix(ig)
            ),
        );
    }
}
