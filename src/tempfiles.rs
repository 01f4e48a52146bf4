//! Temporary files and directories that may hold plaintext: named after the process that
//! made them, removed on every exit path that can be caught, and swept once their creator
//! is dead.
//!
//! `decrypt -o`, `decrypt -i`, `export -o` and `encrypt -i` write through a temp file next
//! to the output (so the rename is atomic); `edit` and `exec --file-env` use a private
//! directory, `export --format docker-secrets-dir` one next to the output. `Drop` removes
//! them on errors and panics, but a signal whose default action ends the process skips
//! `Drop`. So:
//!
//! - **Names carry the creator**: `PREFIX<pid>-<start>-<random>`, where `start` is the
//!   process's start time (clock ticks since boot, field 22 of `/proc/<pid>/stat`; 0 where
//!   there is no `/proc`), so a recycled pid is not taken for the creator.
//! - **A signal handler removes them.** Every live temp path sits in a fixed table of
//!   atomic pointers. The handler, installed with the first temp path for the signals
//!   whose default action ends the process (`handled()`, except any that was ignored when we
//!   started, e.g. under `nohup`), removes every registered path using only
//!   async-signal-safe calls (`unlink`, `open`, `getdents64`, `unlinkat`, `rmdir`,
//!   `close`), restores the default action and raises the signal again, so the exit status
//!   is still "killed by N". Registering happens before the file is created and
//!   unregistering after it is renamed or removed, so no moment is uncovered; a path freed
//!   while the handler runs is leaked instead (the process is ending).
//!   Why a handler and not `signal-hook` with a cleanup thread: `edit` and `exec
//!   --file-env` block the terminating signals in their only thread and take them with
//!   `sigwaitinfo` to forward them to the child ([`crate::exec::run`]); a thread that
//!   does not block them would receive them instead. There, those signals never reach
//!   the handler: the command waits for the child and cleans up itself; the handler
//!   covers the others (SIGABRT, SIGALRM, …), and passes them on to the child first
//!   ([`ChildWatch`]) so that it does not run on without the files.
//! - **The terminal, too.** While `set` prompts for a value with echo off, the handler
//!   also puts the terminal's settings back ([`restore_terminal_on_signal`]): Ctrl-C at the
//!   prompt does not leave the shell without echo.
//! - **SIGKILL cannot be caught.** The leftover is private (0600 until it has the name), the
//!   scanner reports it as `decrypted-copy` ([`is_temp_path`]), and [`sweep`] removes it
//!   at the next command run in its directory, once its creator is dead.

use std::ffi::CString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, Ordering::SeqCst};

/// A temp file next to a file being written.
pub const FILE_PREFIX: &str = ".secrets-tmp-";
/// The fresh directory of `export --format docker-secrets-dir`, next to its output.
pub const EXPORT_PREFIX: &str = ".secrets-export-";
/// `edit`'s private directory (on tmpfs when available).
pub const EDIT_PREFIX: &str = "secrets-edit-";
/// `exec --file-env`'s private directory (on tmpfs when available).
pub const EXEC_PREFIX: &str = "secrets-exec-";

const PREFIXES: [&str; 4] = [FILE_PREFIX, EXPORT_PREFIX, EDIT_PREFIX, EXEC_PREFIX];

/// Whether a `/`-separated path names one of our temp files, or a file inside one of our
/// temp directories, in a repository (the dot-prefixed kinds; any name that starts like
/// them, also those written before names carried a pid).
pub fn is_temp_path(path: &str) -> bool {
    path.split('/').any(is_repo_temp_name)
}

/// Whether one file or directory name is one of our temp objects in a repository, named
/// as this version names them (`PREFIX<pid>-<start>-<random>`: a user's own
/// `.secrets-tmp-notes.env` is not one). The team commands' walks skip them: a leftover
/// of a killed run holds a whole encrypted file, and rotating it would race with the
/// sweep that removes it.
pub fn is_temp_name(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .is_some_and(|n| is_repo_temp_name(n) && creator(n).is_some())
}

fn is_repo_temp_name(name: &str) -> bool {
    name.starts_with(FILE_PREFIX) || name.starts_with(EXPORT_PREFIX)
}

/// A fresh name `PREFIX<pid>-<start>-<random>`.
pub fn temp_name(prefix: &str) -> String {
    use rand::Rng;
    let random: String = rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(10)
        .map(char::from)
        .collect();
    format!("{prefix}{}-{}-{random}", std::process::id(), own_start())
}

/// Our own start time (0 where it cannot be read), read once.
fn own_start() -> u64 {
    static START: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *START.get_or_init(|| start_time(std::process::id()).unwrap_or(0))
}

/// The pid and start time a temp name records (`None`: not one of our names, or one from
/// before names carried them).
fn creator(name: &str) -> Option<(u32, u64)> {
    let rest = PREFIXES.iter().find_map(|p| name.strip_prefix(p))?;
    let mut parts = rest.splitn(3, '-');
    let pid: u32 = parts.next()?.parse().ok()?;
    let start: u64 = parts.next()?.parse().ok()?;
    let random = parts.next()?;
    let ok = (1..=i32::MAX as u32).contains(&pid) && !random.is_empty();
    ok.then_some((pid, start))
}

/// A process's start time in clock ticks since boot (`/proc/<pid>/stat` field 22).
#[cfg(target_os = "linux")]
fn start_time(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 2, the command name, is in parentheses and may hold spaces or ')'.
    let after = &text[text.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(not(target_os = "linux"))]
fn start_time(_pid: u32) -> Option<u64> {
    None
}

/// Whether the process that made a temp name may still be running (when in doubt, yes).
fn creator_alive(pid: u32, start: u64) -> bool {
    #[cfg(unix)]
    {
        // SAFETY: signal 0 only checks that the pid exists; pid is in 1..=i32::MAX.
        let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
        if rc != 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH) {
            return false;
        }
        // The pid exists: the same process only if it started when the name says.
        match start_time(pid) {
            Some(now) if start != 0 => now == start,
            _ => true,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (pid, start);
        true
    }
}

/// Removes from `dir` (not below it) our temp files and directories whose creator is dead
/// and that belong to our user; returns what was removed. Names without a pid (from older
/// versions) are left: nothing says their writer has ended (the scanner reports them).
pub fn sweep(dir: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return removed;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some((pid, start)) = name.to_str().and_then(creator) else {
            continue;
        };
        if creator_alive(pid, start) {
            continue;
        }
        let path = e.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            // SAFETY: geteuid has no preconditions.
            if meta.uid() != unsafe { libc::geteuid() } {
                continue;
            }
        }
        let gone = if meta.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        if gone.is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// [`sweep`]s `dir` the first time this process writes there: one directory listing per
/// directory, however many files a command writes into it.
pub fn sweep_once(dir: &Path) {
    static SWEPT: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    let mut swept = SWEPT.lock().unwrap_or_else(|e| e.into_inner());
    if swept.iter().any(|d| d == dir) {
        return;
    }
    swept.push(dir.to_path_buf());
    drop(swept);
    sweep(dir);
}

// ---- The registry and the signal handler -------------------------------------------

/// Live temp paths at once; a command has one or two, a team command one per worker.
const SLOTS: usize = 128;

/// Each slot: NULL, or a `CString` of the kind byte (`KIND_FILE`, `KIND_DIR`) then the
/// absolute path.
static TABLE: [AtomicPtr<libc::c_char>; SLOTS] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];
/// Set by the handler before it reads the table: from then on, slots are not freed.
static HANDLING: AtomicBool = AtomicBool::new(false);

const KIND_FILE: u8 = b'f';
const KIND_DIR: u8 = b'd';

/// The signals whose default action ends the process and that can be caught, but
/// SIGSEGV and SIGBUS: Rust's runtime handles those to report a stack overflow (on an
/// alternate stack that a handler of ours would not have).
#[cfg(unix)]
const HANDLED: [libc::c_int; 13] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGPIPE,
    libc::SIGQUIT,
    libc::SIGTERM,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGABRT,
    libc::SIGALRM,
    libc::SIGXCPU,
    libc::SIGXFSZ,
    libc::SIGVTALRM,
    libc::SIGPROF,
];

/// The rest of them on Linux: a `kill -PWR`, `-IO`, `-TRAP`, `-SYS`, a real-time signal
/// (each ends a process that does not handle it) must not leave plaintext behind either.
#[cfg(target_os = "linux")]
fn handled() -> Vec<libc::c_int> {
    let mut all = HANDLED.to_vec();
    all.extend([
        libc::SIGTRAP,
        libc::SIGSYS,
        libc::SIGIO,
        libc::SIGPWR,
        libc::SIGSTKFLT,
        libc::SIGFPE,
        libc::SIGILL,
    ]);
    all.extend(libc::SIGRTMIN()..=libc::SIGRTMAX());
    all
}

#[cfg(all(unix, not(target_os = "linux")))]
fn handled() -> Vec<libc::c_int> {
    HANDLED.to_vec()
}

/// A path in the table, removed from it when dropped.
struct Registration {
    slot: Option<usize>,
}

impl Registration {
    fn new(path: &Path, kind: u8) -> Registration {
        #[cfg(unix)]
        {
            ensure_handler();
            use std::os::unix::ffi::OsStrExt;
            let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
            let mut bytes = vec![kind];
            bytes.extend_from_slice(path.as_os_str().as_bytes());
            let Ok(c) = CString::new(bytes) else {
                return Registration { slot: None };
            };
            let raw = c.into_raw();
            for (i, slot) in TABLE.iter().enumerate() {
                if slot
                    .compare_exchange(std::ptr::null_mut(), raw, SeqCst, SeqCst)
                    .is_ok()
                {
                    return Registration { slot: Some(i) };
                }
            }
            // Table full: the path is still removed on drop, only not by the handler.
            // SAFETY: `raw` came from `into_raw` above and was not published.
            drop(unsafe { CString::from_raw(raw) });
        }
        let _ = (path, kind);
        Registration { slot: None }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            let p = TABLE[i].swap(std::ptr::null_mut(), SeqCst);
            // If the handler started before the swap, it may be reading `p`: leak it.
            if !p.is_null() && !HANDLING.load(SeqCst) {
                // SAFETY: `p` came from `CString::into_raw` and is no longer in the table.
                drop(unsafe { CString::from_raw(p) });
            }
        }
    }
}

/// Installs the handler once per process.
#[cfg(unix)]
fn ensure_handler() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(install_handler);
}

/// The process reading our temp files while we wait for it (`exec --file-env`'s program,
/// `edit`'s editor), 0 when there is none. A signal we do not forward to it (SIGALRM,
/// SIGPWR, …) ends us and removes its files, so the handler passes that signal on: the
/// child must not run on without them, orphaned.
#[cfg(unix)]
static CHILD: AtomicI32 = AtomicI32::new(0);

/// While it lives (or until [`ChildWatch::release`]), a signal that ends us is passed on
/// to the child first.
#[cfg(unix)]
pub struct ChildWatch(());

#[cfg(unix)]
impl ChildWatch {
    pub fn new(pid: libc::pid_t) -> ChildWatch {
        ensure_handler();
        CHILD.store(pid, SeqCst);
        ChildWatch(())
    }

    /// Forgets the child: call it once the child has ended and before it is reaped, so
    /// that its pid, free for reuse from then on, is never signalled.
    pub fn release(&self) {
        CHILD.store(0, SeqCst);
    }
}

#[cfg(unix)]
impl Drop for ChildWatch {
    fn drop(&mut self) {
        self.release();
    }
}

/// Terminal settings to put back on fd 0 if a signal ends the process: NULL, or a leaked
/// `termios` (a hidden prompt turned echo off, and Ctrl-C must not leave it off).
#[cfg(unix)]
static TERMINAL: AtomicPtr<libc::termios> = AtomicPtr::new(std::ptr::null_mut());

/// While it lives, a signal that ends the process restores the terminal settings it was
/// made with before dying; see [`restore_terminal_on_signal`].
#[cfg(unix)]
pub struct TerminalGuard(());

/// Until the guard is dropped, a handled signal (SIGINT from Ctrl-C, SIGTERM, SIGHUP…)
/// first puts `saved` back on fd 0 (`tcsetattr` is async-signal-safe).
#[cfg(unix)]
pub fn restore_terminal_on_signal(saved: &libc::termios) -> TerminalGuard {
    ensure_handler();
    let old = TERMINAL.swap(Box::into_raw(Box::new(*saved)), SeqCst);
    free_terminal(old);
    TerminalGuard(())
}

#[cfg(unix)]
impl Drop for TerminalGuard {
    fn drop(&mut self) {
        free_terminal(TERMINAL.swap(std::ptr::null_mut(), SeqCst));
    }
}

#[cfg(unix)]
fn free_terminal(p: *mut libc::termios) {
    // If the handler started, it may be reading `p`: leak it (the process is ending).
    if !p.is_null() && !HANDLING.load(SeqCst) {
        // SAFETY: `p` came from `Box::into_raw` and is no longer published.
        drop(unsafe { Box::from_raw(p) });
    }
}

#[cfg(unix)]
fn install_handler() {
    let handled = handled();
    for &sig in &handled {
        // SAFETY: sigaction on local structs; the handler only makes async-signal-safe
        // calls. A signal that is ignored or already has a handler is left as it is.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) != 0
                || old.sa_sigaction != libc::SIG_DFL
            {
                continue;
            }
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut act.sa_mask);
            // No other handled signal interrupts the cleanup.
            for &s in &handled {
                libc::sigaddset(&mut act.sa_mask, s);
            }
            act.sa_flags = 0;
            libc::sigaction(sig, &act, std::ptr::null_mut());
        }
    }
}

/// Passes `sig` on to the child we wait for, if any, removes every registered path, then
/// dies of `sig` as if there were no handler.
#[cfg(unix)]
extern "C" fn on_signal(sig: libc::c_int) {
    HANDLING.store(true, SeqCst);
    let child = CHILD.load(SeqCst);
    if child > 0 {
        // SAFETY: kill is async-signal-safe and takes plain integers.
        unsafe { libc::kill(child, sig) };
    }
    for slot in &TABLE {
        let p = slot.load(SeqCst);
        if !p.is_null() {
            // SAFETY: a registered CString, never freed once HANDLING is set.
            unsafe { remove_raw(p) };
        }
    }
    let terminal = TERMINAL.load(SeqCst);
    if !terminal.is_null() {
        // SAFETY: a published termios, never freed once HANDLING is set.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, terminal) };
    }
    // SAFETY: sigaction, pthread_sigmask, raise and _exit are async-signal-safe.
    unsafe {
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut dfl.sa_mask);
        libc::sigaction(sig, &dfl, std::ptr::null_mut());
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(sig);
        libc::_exit(128 + sig);
    }
}

/// Removes one registered path: a file, or a directory with what is directly in it.
///
/// # Safety
/// `p` points to a NUL-terminated kind byte + path.
#[cfg(unix)]
unsafe fn remove_raw(p: *const libc::c_char) {
    let path = p.add(1);
    if *p as u8 == KIND_DIR {
        clear_dir(path);
        libc::rmdir(path);
    } else {
        libc::unlink(path);
    }
}

/// Unlinks the entries of a directory (and empty subdirectories) with raw system calls:
/// `readdir` may allocate, which a signal handler must not.
#[cfg(target_os = "linux")]
unsafe fn clear_dir(path: *const libc::c_char) {
    let fd = libc::open(
        path,
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
    );
    if fd < 0 {
        return;
    }
    let mut buf = [0u64; 512];
    // Unlinking while reading may skip entries: read again until a pass removes nothing.
    for _ in 0..8 {
        libc::lseek(fd, 0, libc::SEEK_SET);
        let mut removed = false;
        loop {
            let n = libc::syscall(
                libc::SYS_getdents64,
                fd,
                buf.as_mut_ptr(),
                std::mem::size_of_val(&buf),
            );
            if n <= 0 {
                break;
            }
            let base = buf.as_ptr().cast::<u8>();
            let mut off = 0usize;
            while off < n as usize {
                // struct linux_dirent64 { u64 d_ino; i64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
                let reclen = std::ptr::read_unaligned(base.add(off + 16).cast::<u16>()) as usize;
                let name = base.add(off + 19).cast::<libc::c_char>();
                let dot = *name == b'.' as libc::c_char
                    && (*name.add(1) == 0
                        || (*name.add(1) == b'.' as libc::c_char && *name.add(2) == 0));
                if !dot
                    && (libc::unlinkat(fd, name, 0) == 0
                        || libc::unlinkat(fd, name, libc::AT_REMOVEDIR) == 0)
                {
                    removed = true;
                }
                if reclen == 0 {
                    break;
                }
                off += reclen;
            }
        }
        if !removed {
            break;
        }
    }
    libc::close(fd);
}

/// Elsewhere only an empty directory is removed by the handler (`Drop` removes the rest).
#[cfg(all(unix, not(target_os = "linux")))]
unsafe fn clear_dir(_path: *const libc::c_char) {}

// ---- The two kinds of temp objects -------------------------------------------------

/// A temp file (mode 0600) in a directory, registered for the signal handler, removed
/// when dropped unless [`TempFile::persist`]ed.
pub struct TempFile {
    file: std::fs::File,
    path: PathBuf,
    /// None once the file has its final name: neither the handler nor `Drop` removes it.
    reg: Option<Registration>,
}

impl TempFile {
    /// Creates `dir/.secrets-tmp-<pid>-<start>-<random>`, 0600, after sweeping `dir`'s stale
    /// temp files (once per directory and process).
    pub fn create_in(dir: &Path) -> io::Result<TempFile> {
        sweep_once(dir);
        loop {
            let path = dir.join(temp_name(FILE_PREFIX));
            // Registered before it exists: a signal from here on removes it.
            let reg = Registration::new(&path, KIND_FILE);
            let mut opts = std::fs::OpenOptions::new();
            opts.read(true).write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600).custom_flags(libc::O_CLOEXEC);
            }
            match opts.open(&path) {
                Ok(file) => {
                    return Ok(TempFile {
                        file,
                        path,
                        reg: Some(reg),
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    pub fn file(&mut self) -> &mut std::fs::File {
        &mut self.file
    }

    /// Gives the file the name `to` (same file system) unless `to` exists (`AlreadyExists`):
    /// a rename that does not replace. The file stays open and is no longer removed on drop.
    pub fn link_as(&mut self, to: &Path) -> io::Result<()> {
        name_unless_taken(&self.path, to, rename_no_replace, |from, to| {
            std::fs::hard_link(from, to)
        })?;
        self.reg = None;
        Ok(())
    }

    /// Renames the file to `to` (same file system), replacing it. The file stays open
    /// ([`TempFile::file`]) and is no longer removed on drop.
    pub fn persist(&mut self, to: &Path) -> io::Result<()> {
        std::fs::rename(&self.path, to)?;
        self.reg = None;
        Ok(())
    }
}

/// Renames `from` to `to` unless `to` exists (`AlreadyExists`), with the best way the file
/// system has: `rename_no_replace`; else a hard link, then the temp name goes (a reader may
/// see two links meanwhile); else (vfat, some SMB/FUSE mounts: neither) a look, then a
/// rename. Our own writers hold the path's lock around this, so in that last case only a
/// program that takes no lock could slip in between the look and the rename.
fn name_unless_taken(
    from: &Path,
    to: &Path,
    rename_no_replace: impl Fn(&Path, &Path) -> io::Result<()>,
    hard_link: impl Fn(&Path, &Path) -> io::Result<()>,
) -> io::Result<()> {
    let unsupported =
        |e: &io::Error, codes: &[i32]| e.raw_os_error().is_some_and(|c| codes.contains(&c));
    match rename_no_replace(from, to) {
        Err(e) if unsupported(&e, &[libc::EINVAL, libc::ENOSYS]) => {}
        done => return done,
    }
    match hard_link(from, to) {
        Ok(()) => {
            let _ = std::fs::remove_file(from);
            return Ok(());
        }
        Err(e)
            if !unsupported(
                &e,
                &[
                    libc::EPERM,
                    libc::ENOTSUP,
                    libc::EOPNOTSUPP,
                    libc::ENOSYS,
                    libc::EMLINK,
                ],
            ) =>
        {
            return Err(e)
        }
        Err(_) => {}
    }
    if to.symlink_metadata().is_ok() {
        return Err(io::Error::from(io::ErrorKind::AlreadyExists));
    }
    std::fs::rename(from, to)
}

/// `rename(2)` that fails with `EEXIST` instead of replacing `to` (Linux's
/// `RENAME_NOREPLACE`); `EINVAL` where the file system or the platform lacks it.
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let cstr = |p: &Path| {
            CString::new(p.as_os_str().as_bytes())
                .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
        };
        let (from, to) = (cstr(from)?, cstr(to)?);
        // SAFETY: two NUL-terminated paths that outlive the call.
        let r = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                from.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if r == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (from, to);
        Err(io::Error::from_raw_os_error(libc::EINVAL))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.reg.is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A private (0700) temp directory, registered for the signal handler, removed with its
/// content when dropped unless kept.
pub struct TempDir {
    path: PathBuf,
    keep: bool,
    _reg: Registration,
}

impl std::fmt::Debug for TempDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TempDir({})", self.path.display())
    }
}

impl TempDir {
    /// Creates `base/PREFIX<pid>-<start>-<random>` with mode exactly 0700, after sweeping
    /// `base`'s stale ones (once per directory and process).
    pub fn create_in(base: &Path, prefix: &str) -> io::Result<TempDir> {
        sweep_once(base);
        loop {
            let path = base.join(temp_name(prefix));
            let reg = Registration::new(&path, KIND_DIR);
            let mut b = std::fs::DirBuilder::new();
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                b.mode(0o700);
            }
            match b.create(&path) {
                Ok(()) => {
                    let dir = TempDir {
                        path,
                        keep: false,
                        _reg: reg,
                    };
                    #[cfg(unix)]
                    {
                        // The umask may have taken bits away, never added: make it exactly 0700.
                        use std::os::unix::fs::PermissionsExt;
                        std::fs::set_permissions(
                            &dir.path,
                            std::fs::Permissions::from_mode(0o700),
                        )?;
                    }
                    return Ok(dir);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the directory is on tmpfs or ramfs (always false off Linux: not checked).
    pub fn in_ram(&self) -> bool {
        is_ram_backed(&self.path)
    }

    /// Leaves the directory in place (it took another's place) and returns its path.
    pub fn keep(mut self) -> PathBuf {
        self.keep = true;
        std::mem::take(&mut self.path)
    }

    /// Removes the directory and its content, reporting an error.
    pub fn close(mut self) -> io::Result<()> {
        self.keep = true;
        std::fs::remove_dir_all(&self.path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(target_os = "linux")]
fn is_ram_backed(p: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    const RAMFS_MAGIC: i64 = 0x8584_58f6;
    let Ok(c) = CString::new(p.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: statfs fills a local struct for a valid NUL-terminated path.
    unsafe {
        let mut s: libc::statfs = std::mem::zeroed();
        if libc::statfs(c.as_ptr(), &mut s) != 0 {
            return false;
        }
        let t = s.f_type as i64;
        t == TMPFS_MAGIC || t == RAMFS_MAGIC
    }
}

#[cfg(not(target_os = "linux"))]
fn is_ram_backed(_p: &Path) -> bool {
    false
}

/// The registered paths (tests).
#[cfg(all(test, unix))]
fn registered() -> Vec<std::ffi::OsString> {
    use std::os::unix::ffi::OsStringExt;
    TABLE
        .iter()
        .filter_map(|s| {
            let p = s.load(SeqCst);
            // SAFETY: a registered CString; tests do not race with their own drops here.
            (!p.is_null()).then(|| unsafe { std::ffi::CStr::from_ptr(p.add(1)) })
        })
        .map(|c| std::ffi::OsString::from_vec(c.to_bytes().to_vec()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_record_the_creator() {
        let n = temp_name(FILE_PREFIX);
        let (pid, start) = creator(&n).unwrap();
        assert_eq!(pid, std::process::id());
        assert_eq!(start, start_time(pid).unwrap_or(0));
        assert!(creator_alive(pid, start));
        assert_eq!(creator(".secrets-tmp-Xy12Ab"), None);
        assert_eq!(creator(".secrets-tmp-0-1-x"), None);
        assert_eq!(creator(".secrets-tmp-99999999999-1-x"), None);
        assert_eq!(creator("secrets-edit-12-34-ab"), Some((12, 34)));
        // A recycled pid: alive, but it started at another time.
        if start != 0 {
            assert!(!creator_alive(pid, start + 1));
        }
    }

    #[test]
    fn temp_paths_in_a_repository() {
        assert!(is_temp_path(".secrets-tmp-123-4-abc"));
        assert!(is_temp_path("config/.secrets-tmp-Xy12Ab"));
        assert!(is_temp_path("out/.secrets-export-1-2-x/DB_PASSWORD"));
        assert!(!is_temp_path("out/.secrets-export"));
        assert!(!is_temp_path("docs/secrets-edit-guide.md"));
        // The team walks skip only names as this version makes them.
        let name = |n: &str| is_temp_name(std::ffi::OsStr::new(n));
        assert!(name(".secrets-tmp-123-4-abc") && name(".secrets-export-1-2-x"));
        assert!(!name(".secrets-tmp-notes.env") && !name("secrets-edit-1-2-x"));
    }

    #[test]
    fn sweep_removes_only_what_dead_processes_left() {
        let d = tempfile::tempdir().unwrap();
        // Made first: creating a temp file sweeps its directory once.
        let ours = TempFile::create_in(d.path()).unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale_file = d.path().join(format!("{FILE_PREFIX}{dead}-0-abc"));
        let stale_dir = d.path().join(format!("{EXPORT_PREFIX}{dead}-0-abc"));
        std::fs::write(&stale_file, "x").unwrap();
        std::fs::create_dir(&stale_dir).unwrap();
        std::fs::write(stale_dir.join("V"), "x").unwrap();
        let old = d.path().join(".secrets-tmp-Xy12Ab");
        std::fs::write(&old, "x").unwrap();
        let mut removed = sweep(d.path());
        removed.sort();
        assert_eq!(removed, vec![stale_dir, stale_file]);
        assert!(ours.path.exists() && old.exists());
        drop(ours);
        assert!(old.exists());
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    #[cfg(unix)]
    fn registered_while_alive_then_removed() {
        let d = tempfile::tempdir().unwrap();
        let mut f = TempFile::create_in(d.path()).unwrap();
        let path = std::path::absolute(&f.path).unwrap();
        assert!(registered().contains(&path.clone().into_os_string()));
        use std::io::Write;
        f.file().write_all(b"x").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        f.persist(&d.path().join("out")).unwrap();
        assert!(!registered().contains(&path.into_os_string()));
        assert_eq!(std::fs::read(d.path().join("out")).unwrap(), b"x");

        let t = TempDir::create_in(d.path(), EXPORT_PREFIX).unwrap();
        let p = t.path().to_path_buf();
        std::fs::write(p.join("a"), "x").unwrap();
        drop(t);
        assert!(!p.exists());
    }

    /// On a file system with neither RENAME_NOREPLACE nor hard links, a new file still gets
    /// its name, and an existing one is still not replaced.
    #[test]
    fn naming_without_noreplace_or_hard_links_still_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("tmp"), dir.path().join("new"));
        let no_rename = |_: &Path, _: &Path| Err(io::Error::from_raw_os_error(libc::EINVAL));
        let no_link = |_: &Path, _: &Path| Err(io::Error::from_raw_os_error(libc::EPERM));
        std::fs::write(&from, "new").unwrap();
        name_unless_taken(&from, &to, no_rename, no_link).unwrap();
        assert_eq!(std::fs::read_to_string(&to).unwrap(), "new");
        assert!(!from.exists());
        std::fs::write(&from, "other").unwrap();
        let err = name_unless_taken(&from, &to, no_rename, no_link).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&to).unwrap(), "new");
        // Any other failure of the link is the caller's to report.
        let full = |_: &Path, _: &Path| Err(io::Error::from_raw_os_error(libc::ENOSPC));
        let err = name_unless_taken(&from, &dir.path().join("x"), no_rename, full).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));
    }

    /// The handler's raw directory removal, called directly (not from a signal).
    #[test]
    #[cfg(target_os = "linux")]
    fn raw_removal_empties_and_removes_a_directory() {
        use std::os::unix::ffi::OsStrExt;
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("x");
        std::fs::create_dir(&dir).unwrap();
        for i in 0..300 {
            std::fs::write(dir.join(format!("file-{i:04}-{}", "n".repeat(40))), "v").unwrap();
        }
        std::fs::create_dir(dir.join("empty")).unwrap();
        let mut bytes = vec![KIND_DIR];
        bytes.extend_from_slice(dir.as_os_str().as_bytes());
        let c = CString::new(bytes).unwrap();
        // SAFETY: a NUL-terminated kind byte + path.
        unsafe { remove_raw(c.as_ptr()) };
        assert!(!dir.exists());
    }
}
