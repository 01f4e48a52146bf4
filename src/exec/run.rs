//! Starting the child program with its environment.
//!
//! Why it is written against libc rather than `std::process::Command`: `Command` copies the
//! environment into buffers we cannot wipe, cannot replace our process, and leaves signal
//! forwarding to the caller. Here:
//!
//! - the program is looked up on `PATH` first, like a shell does, so a missing command
//!   (127) or a file that is not executable (126) is reported before anything is decrypted
//!   and before anything starts;
//! - the environment is built as zeroizing `NAME=value` buffers ([`ChildEnv`]), wiped when
//!   dropped — right after `posix_spawn` returns, or never needed again after `execve`;
//! - when nothing needs cleaning up afterwards we `execve` (Unix): the program takes over
//!   our pid, so signals, job control and exit codes are exactly as without us;
//! - otherwise (`--file-env`) we `posix_spawn` with the forwarded signals blocked in us and
//!   reset to their defaults in the child, then loop on `sigwait`: SIGINT, SIGTERM, SIGHUP,
//!   SIGQUIT, SIGUSR1 and SIGUSR2 are passed on to the child, and SIGCHLD ends the wait.
//!   Signals the terminal sent to the whole foreground process group (Ctrl-C) already
//!   reached the child, so on Linux those are not sent a second time. A signal that was
//!   ignored when we started (`nohup`, `trap "" HUP`) is neither forwarded nor reset: it
//!   stays ignored in us and in the child, as with plain `execve`. Any other signal that
//!   ends us is passed on to the child by the temp-file handler
//!   ([`crate::tempfiles::ChildWatch`]) before it removes the child's files.
//!
//! Nothing is ever run through `sh -c`: argv is passed as given.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The signals passed on to the child.
#[cfg(unix)]
pub const FORWARDED: [libc::c_int; 6] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// The forwarded signals whose default action ends a process.
#[cfg(unix)]
pub const TERMINATING: [libc::c_int; 4] =
    [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// Why the program could not be run. Messages name the program and variables, never values.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{program}: command not found")]
    NotFound { program: String },
    #[error("{program}: is a directory")]
    IsDirectory { program: String },
    #[error("{program}: cannot execute: {error}")]
    NotExecutable {
        program: String,
        error: std::io::Error,
    },
    #[error("{origin}: the value cannot be put in the environment (it contains a NUL byte)")]
    NulInValue { origin: String },
    #[error("{origin}: variable {name} is {len} bytes, over the {} the kernel allows one environment variable (NAME=value)", kib(*max))]
    VarTooLong {
        origin: String,
        name: String,
        len: usize,
        max: usize,
    },
    #[error("cannot start {program}: its arguments and environment together are over the kernel's limit (Argument list too long)")]
    TooBig { program: String },
    #[error("cannot start {program}: {error}")]
    Spawn {
        program: String,
        error: std::io::Error,
    },
    #[error("waiting for the command: {0}")]
    Wait(std::io::Error),
    #[error("interrupted by signal {0} before the command started")]
    Interrupted(i32),
}

/// How the child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Exited(i32),
    Signaled(i32),
}

impl Status {
    /// The exit code a shell would report: the child's code, or 128+N for signal N.
    pub fn shell_code(self) -> u8 {
        match self {
            Status::Exited(c) => (c & 0xff) as u8,
            Status::Signaled(n) => (128 + (n & 0x7f)) as u8,
        }
    }
}

/// Finds the program like a shell: a name with a `/` is used as is, anything else is
/// searched in `path` (`$PATH`; an empty entry is the current directory).
pub fn resolve(program: &OsStr, path: Option<&OsStr>) -> Result<PathBuf, RunError> {
    let shown = || program.to_string_lossy().into_owned();
    if program.is_empty() {
        return Err(RunError::NotFound { program: shown() });
    }
    if has_slash(program) {
        let p = PathBuf::from(program);
        // Named directly, a directory is found but cannot run: 126, as in a shell.
        if p.is_dir() {
            return Err(RunError::IsDirectory { program: shown() });
        }
        return match check_executable(&p) {
            Ok(()) => Ok(p),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(RunError::NotFound { program: shown() })
            }
            Err(error) => Err(RunError::NotExecutable {
                program: shown(),
                error,
            }),
        };
    }
    let default_path = OsString::from("/usr/local/bin:/usr/bin:/bin");
    let path = path.unwrap_or(&default_path);
    let mut denied = None;
    for dir in std::env::split_paths(path) {
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let candidate = dir.join(program);
        match check_executable(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                denied.get_or_insert(e);
            }
        }
    }
    match denied {
        Some(error) => Err(RunError::NotExecutable {
            program: shown(),
            error,
        }),
        None => Err(RunError::NotFound { program: shown() }),
    }
}

fn has_slash(s: &OsStr) -> bool {
    s.to_string_lossy().contains('/') || (cfg!(windows) && s.to_string_lossy().contains('\\'))
}

/// Ok when `p` is a regular file we may execute; NotFound when it does not exist (or is a
/// directory, as a shell's `PATH` search skips those).
fn check_executable(p: &Path) -> std::io::Result<()> {
    let meta = std::fs::metadata(p)?;
    if meta.is_dir() {
        return Err(std::io::ErrorKind::NotFound.into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
        // SAFETY: `c` is a valid NUL-terminated path.
        if unsafe { libc::access(c.as_ptr(), libc::X_OK) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Refuses values that no environment can hold: a NUL byte ends a C string, and Linux caps
/// one `NAME=value` string at [`max_var_len`] bytes (`execve` fails with E2BIG, "Argument
/// list too long", which names neither the variable nor the cap).
pub fn check_values<'a>(
    vars: impl IntoIterator<Item = &'a crate::exec::env::Var>,
) -> Result<(), RunError> {
    let max = max_var_len();
    for v in vars {
        if v.value().contains(&0) {
            return Err(RunError::NulInValue { origin: v.origin() });
        }
        // `NAME=value` and its terminating NUL.
        let len = v.name.len() + 1 + v.value().len() + 1;
        if max.is_some_and(|max| len > max) {
            return Err(RunError::VarTooLong {
                origin: v.origin(),
                name: v.name.clone(),
                len,
                max: max.unwrap_or_default(),
            });
        }
    }
    Ok(())
}

/// The longest `NAME=value` string (terminating NUL included) Linux passes to a program:
/// `MAX_ARG_STRLEN`, 32 pages (128 KiB with 4 KiB pages). `None` where there is no such
/// per-string cap.
pub fn max_var_len() -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        Some(
            32 * usize::try_from(page)
                .ok()
                .filter(|p| *p > 0)
                .unwrap_or(4096),
        )
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// `131072` as `128 KiB`.
fn kib(n: usize) -> String {
    if n % 1024 == 0 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

/// The child's environment as `NAME=value\0` buffers, wiped when dropped.
pub struct ChildEnv {
    entries: Vec<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for ChildEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChildEnv({} entries, <redacted>)", self.entries.len())
    }
}

impl ChildEnv {
    /// `base` (normally our own environment) with `vars` applied. `override_existing`:
    /// a variable from the files replaces one already in `base`; otherwise `base` wins.
    /// Names and values must hold no NUL byte (see [`check_values`]).
    pub fn build<'a>(
        base: impl IntoIterator<Item = (OsString, OsString)>,
        vars: impl IntoIterator<Item = (&'a str, &'a [u8])>,
        override_existing: bool,
    ) -> ChildEnv {
        let mut entries: Vec<Zeroizing<Vec<u8>>> = Vec::new();
        let mut index = foldhash::HashMap::default();
        for (k, v) in base {
            let k = os_bytes(k);
            let v = os_bytes(v);
            if k.contains(&0) || v.contains(&0) {
                continue;
            }
            let entry = entry(&k, &v);
            match index.get(&k) {
                Some(&i) => entries[i] = entry,
                None => {
                    index.insert(k, entries.len());
                    entries.push(entry);
                }
            }
        }
        for (name, value) in vars {
            let k = name.as_bytes().to_vec();
            match index.get(&k) {
                Some(&i) if override_existing => entries[i] = entry(&k, value),
                Some(_) => {}
                None => {
                    entries.push(entry(&k, value));
                    index.insert(k, entries.len() - 1);
                }
            }
        }
        ChildEnv { entries }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value a name has in this environment (tests, diagnostics).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.entries.iter().find_map(|e| {
            let body = &e[..e.len() - 1];
            let rest = body.strip_prefix(name.as_bytes())?;
            rest.strip_prefix(b"=")
        })
    }
}

fn entry(k: &[u8], v: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut e = Zeroizing::new(Vec::with_capacity(k.len() + v.len() + 2));
    e.extend_from_slice(k);
    e.push(b'=');
    e.extend_from_slice(v);
    e.push(0);
    e
}

/// The bytes of a variable of our environment, taken without a copy where the OS allows.
#[cfg(unix)]
fn os_bytes(s: OsString) -> Vec<u8> {
    use std::os::unix::ffi::OsStringExt;
    s.into_vec()
}

#[cfg(not(unix))]
fn os_bytes(s: OsString) -> Vec<u8> {
    s.to_string_lossy().into_owned().into_bytes()
}

// `Signals` and what takes it are crate-private: blocking signals is only correct in a
// single-threaded process (see `Signals`), which only the CLI's commands can promise.
#[cfg(unix)]
pub use unix::replace_or_run;
#[cfg(unix)]
pub(crate) use unix::{spawn_and_wait, Signals};

#[cfg(not(unix))]
pub use fallback::replace_or_run;
#[cfg(not(unix))]
pub(crate) use fallback::{spawn_and_wait, Signals};

#[cfg(unix)]
mod unix {
    use super::{ChildEnv, RunError, Status, FORWARDED, TERMINATING};
    use std::ffi::{CString, OsString};
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    fn name(program: &Path) -> String {
        program.display().to_string()
    }

    fn c_args(program: &Path, argv: &[OsString]) -> Result<(CString, Vec<CString>), RunError> {
        let bad = || RunError::Spawn {
            program: name(program),
            error: std::io::ErrorKind::InvalidInput.into(),
        };
        let prog = CString::new(program.as_os_str().as_bytes()).map_err(|_| bad())?;
        let args = argv
            .iter()
            .map(|a| CString::new(a.as_bytes()).map_err(|_| bad()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((prog, args))
    }

    fn spawn_error(program: &Path, code: i32) -> RunError {
        let error = std::io::Error::from_raw_os_error(code);
        match code {
            libc::ENOENT => RunError::NotFound {
                program: name(program),
            },
            libc::EISDIR => RunError::IsDirectory {
                program: name(program),
            },
            libc::E2BIG => RunError::TooBig {
                program: name(program),
            },
            libc::EACCES | libc::ENOEXEC | libc::EPERM | libc::ETXTBSY => RunError::NotExecutable {
                program: name(program),
                error,
            },
            _ => RunError::Spawn {
                program: name(program),
                error,
            },
        }
    }

    /// Replaces this process with the program (`execve`). Returns only on failure.
    pub fn replace_or_run(
        program: &Path,
        argv: &[OsString],
        env: ChildEnv,
    ) -> Result<Status, RunError> {
        let (prog, args) = c_args(program, argv)?;
        let mut argp: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
        argp.push(std::ptr::null());
        let mut envp: Vec<*const libc::c_char> =
            env.entries.iter().map(|e| e.as_ptr().cast()).collect();
        envp.push(std::ptr::null());
        // SAFETY: every pointer refers to a NUL-terminated buffer that outlives the call,
        // and both arrays end with NULL. Rust ignores SIGPIPE; the program must not inherit
        // that, so it is reset first (and restored if execve fails).
        // The program gets the core limit we started with (we run with 0, see
        // crate::hardening); execve resets the dumpable flag by itself.
        let code = crate::hardening::with_core_limit_restored(|| unsafe {
            let old = libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            libc::execve(prog.as_ptr(), argp.as_ptr(), envp.as_ptr());
            let code = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            libc::signal(libc::SIGPIPE, old);
            code
        });
        drop(envp);
        drop(env);
        Err(spawn_error(program, code))
    }

    /// The forwarded signals (and SIGCHLD) blocked in this process, so that they queue up
    /// for [`spawn_and_wait`] instead of killing us before we clean up. They stay blocked
    /// until the process exits.
    ///
    /// A signal our caller set to ignored (`nohup`, `trap "" INT`) is left out: blocking
    /// it would queue it (Linux never discards a blocked signal) and we would forward it
    /// to a child that no longer ignores it. It stays ignored here and in the child.
    ///
    /// **Single-threaded processes only.** `pthread_sigmask` blocks signals in the calling
    /// thread; a signal sent to the process goes to any thread that does not block it,
    /// where it would run its handler (or end us) instead of queueing for `sigwaitinfo`.
    /// So this is crate-private, [`Signals::block`] asserts that no other thread exists
    /// (Linux), and the CLI must create it before starting any (the scanner and the team
    /// commands start threads; `edit` and `exec` do not).
    pub struct Signals {
        set: libc::sigset_t,
        old: libc::sigset_t,
        ignored: Vec<libc::c_int>,
        /// The first terminating signal that arrived while we waited (callers that must
        /// not carry on after one, like `edit`, check it).
        received: std::cell::Cell<Option<i32>>,
    }

    /// Whether `sig` is ignored (SIG_IGN) in this process right now.
    fn is_ignored(sig: libc::c_int) -> bool {
        // SAFETY: sigaction with a NULL new action only reads the current one.
        unsafe {
            let mut current: libc::sigaction = std::mem::zeroed();
            libc::sigaction(sig, std::ptr::null(), &mut current) == 0
                && current.sa_sigaction == libc::SIG_IGN
        }
    }

    /// The number of threads in this process (`None` where it cannot be read).
    fn threads() -> Option<usize> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))?
            .trim()
            .parse()
            .ok()
    }

    /// Panics unless this is the only thread. A thread that was just joined may still be
    /// counted for a moment, so the count is read again a few times first.
    fn assert_single_threaded() {
        for _ in 0..100 {
            match threads() {
                None | Some(1) => return,
                Some(_) => std::thread::sleep(std::time::Duration::from_millis(1)),
            }
        }
        panic!(
            "exec::run::Signals::block needs a single-threaded process: another thread would \
             receive the signals blocked here"
        );
    }

    impl Signals {
        pub fn block() -> Signals {
            assert_single_threaded();
            let ignored: Vec<libc::c_int> =
                FORWARDED.into_iter().filter(|&s| is_ignored(s)).collect();
            // SAFETY: plain sigset manipulation on local values.
            unsafe {
                let mut set: libc::sigset_t = std::mem::zeroed();
                let mut old: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                for s in FORWARDED.into_iter().filter(|s| !ignored.contains(s)) {
                    libc::sigaddset(&mut set, s);
                }
                libc::sigaddset(&mut set, libc::SIGCHLD);
                libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
                Signals {
                    set,
                    old,
                    ignored,
                    received: std::cell::Cell::new(None),
                }
            }
        }

        /// The first of SIGINT, SIGTERM, SIGHUP, SIGQUIT received while waiting for a child.
        pub fn received(&self) -> Option<i32> {
            self.received.get()
        }

        /// A terminating signal that arrived while blocked (and before the child exists).
        pub fn pending_termination(&self) -> Option<i32> {
            // SAFETY: sigpending fills a local set.
            unsafe {
                let mut pending: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut pending);
                if libc::sigpending(&mut pending) != 0 {
                    return None;
                }
                TERMINATING
                    .into_iter()
                    .find(|&s| libc::sigismember(&pending, s) == 1)
            }
        }

        /// Waits for one of the blocked signals: its number, and whether the kernel sent it
        /// to our whole process group (terminal Ctrl-C, hangup) rather than a process to us.
        fn wait(&self) -> std::io::Result<(i32, bool)> {
            loop {
                #[cfg(any(target_os = "linux", target_os = "android"))]
                {
                    // SAFETY: sigwaitinfo fills a local siginfo_t.
                    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
                    let sig = unsafe { libc::sigwaitinfo(&self.set, &mut info) };
                    if sig < 0 {
                        let e = std::io::Error::last_os_error();
                        if e.kind() == std::io::ErrorKind::Interrupted {
                            continue;
                        }
                        return Err(e);
                    }
                    const SI_KERNEL: i32 = 0x80;
                    return Ok((sig, info.si_code == SI_KERNEL));
                }
                #[cfg(not(any(target_os = "linux", target_os = "android")))]
                {
                    let mut sig: libc::c_int = 0;
                    // SAFETY: sigwait fills a local int.
                    let rc = unsafe { libc::sigwait(&self.set, &mut sig) };
                    if rc == libc::EINTR {
                        continue;
                    }
                    if rc != 0 {
                        return Err(std::io::Error::from_raw_os_error(rc));
                    }
                    return Ok((sig, false));
                }
            }
        }
    }

    struct SpawnAttr(libc::posix_spawnattr_t);

    impl Drop for SpawnAttr {
        fn drop(&mut self) {
            // SAFETY: initialised in `spawn`.
            unsafe {
                libc::posix_spawnattr_destroy(&mut self.0);
            }
        }
    }

    /// Starts the program as a child with `env` (wiped as soon as the child has it),
    /// forwards signals to it, and waits for it to end. `core_limit_restored`: the child
    /// gets the core limit we started with (`exec`), else our 0 (the editor of `edit`,
    /// which holds the plaintext too).
    pub fn spawn_and_wait(
        program: &Path,
        argv: &[OsString],
        env: ChildEnv,
        signals: &Signals,
        core_limit_restored: bool,
    ) -> Result<Status, RunError> {
        if let Some(sig) = signals.pending_termination() {
            return Err(RunError::Interrupted(sig));
        }
        let (prog, args) = c_args(program, argv)?;
        let mut argp: Vec<*mut libc::c_char> = args.iter().map(|a| a.as_ptr().cast_mut()).collect();
        argp.push(std::ptr::null_mut());
        let mut envp: Vec<*mut libc::c_char> = env
            .entries
            .iter()
            .map(|e| e.as_ptr().cast::<libc::c_char>().cast_mut())
            .collect();
        envp.push(std::ptr::null_mut());

        let mut pid: libc::pid_t = 0;
        // SAFETY: the attribute object is initialised before use and destroyed by its
        // guard; argv/envp are NULL-terminated arrays of NUL-terminated buffers that
        // outlive the call. posix_spawn does not write through the pointers.
        let rc = unsafe {
            let mut raw: libc::posix_spawnattr_t = std::mem::zeroed();
            let rc = libc::posix_spawnattr_init(&mut raw);
            if rc != 0 {
                return Err(spawn_error(program, rc));
            }
            let mut attr = SpawnAttr(raw);
            let mut defaults: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut defaults);
            // Ignored signals are inherited as ignored (not reset), as a shell would.
            for s in FORWARDED
                .into_iter()
                .filter(|s| !signals.ignored.contains(s))
            {
                libc::sigaddset(&mut defaults, s);
            }
            libc::sigaddset(&mut defaults, libc::SIGPIPE);
            libc::sigaddset(&mut defaults, libc::SIGCHLD);
            libc::posix_spawnattr_setsigdefault(&mut attr.0, &defaults);
            libc::posix_spawnattr_setsigmask(&mut attr.0, &signals.old);
            libc::posix_spawnattr_setflags(
                &mut attr.0,
                (libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF) as _,
            );
            let mut spawn = || {
                libc::posix_spawn(
                    &mut pid,
                    prog.as_ptr(),
                    std::ptr::null(),
                    &attr.0,
                    argp.as_ptr(),
                    envp.as_ptr(),
                )
            };
            if core_limit_restored {
                crate::hardening::with_core_limit_restored(spawn)
            } else {
                spawn()
            }
        };
        // The child has its copy (or none): wipe ours now.
        drop(envp);
        drop(env);
        if rc != 0 {
            return Err(spawn_error(program, rc));
        }
        wait_forwarding(pid, signals)
    }

    fn wait_forwarding(pid: libc::pid_t, signals: &Signals) -> Result<Status, RunError> {
        let child = crate::tempfiles::ChildWatch::new(pid);
        loop {
            if let Some(status) = reap(pid, &child)? {
                return Ok(status);
            }
            let (sig, from_kernel) = signals.wait().map_err(RunError::Wait)?;
            if sig == libc::SIGCHLD {
                continue;
            }
            if TERMINATING.contains(&sig) && signals.received.get().is_none() {
                signals.received.set(Some(sig));
            }
            // A terminal's Ctrl-C or hangup went to the whole foreground process group,
            // the child included, unless the child moved to a group of its own.
            // SAFETY: getpgid/getpgrp/kill take plain integers.
            let same_group = unsafe { libc::getpgid(pid) == libc::getpgrp() };
            if from_kernel && same_group {
                continue;
            }
            unsafe {
                libc::kill(pid, sig);
            }
        }
    }

    /// The child's status once it has ended, `None` while it runs. The ended child is
    /// released from `child` before it is reaped, while its pid cannot yet be reused.
    fn reap(
        pid: libc::pid_t,
        child: &crate::tempfiles::ChildWatch,
    ) -> Result<Option<Status>, RunError> {
        if !has_ended(pid)? {
            return Ok(None);
        }
        child.release();
        let mut status: libc::c_int = 0;
        loop {
            // SAFETY: waitpid fills a local int.
            let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if r == 0 {
                return Ok(None);
            }
            if r < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(RunError::Wait(e));
            }
            if libc::WIFEXITED(status) {
                return Ok(Some(Status::Exited(libc::WEXITSTATUS(status))));
            }
            if libc::WIFSIGNALED(status) {
                return Ok(Some(Status::Signaled(libc::WTERMSIG(status))));
            }
            // Stopped or continued: keep waiting.
            return Ok(None);
        }
    }

    /// Whether the child has ended, without reaping it (`WNOWAIT`).
    fn has_ended(pid: libc::pid_t) -> Result<bool, RunError> {
        loop {
            // SAFETY: waitid fills a zeroed local siginfo_t; si_pid stays 0 while the
            // child runs (WNOHANG).
            let (r, ended) = unsafe {
                let mut info: libc::siginfo_t = std::mem::zeroed();
                let r = libc::waitid(
                    libc::P_PID,
                    pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
                );
                (r, info.si_pid() != 0)
            };
            if r == 0 {
                return Ok(ended);
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(RunError::Wait(e));
            }
        }
    }
}

#[cfg(not(unix))]
mod fallback {
    use super::{ChildEnv, RunError, Status};
    use std::ffi::OsString;
    use std::path::Path;

    /// Nothing to block where there are no Unix signals.
    pub struct Signals;

    impl Signals {
        pub fn block() -> Signals {
            Signals
        }
        pub fn pending_termination(&self) -> Option<i32> {
            None
        }
        pub fn received(&self) -> Option<i32> {
            None
        }
    }

    pub fn replace_or_run(
        program: &Path,
        argv: &[OsString],
        env: ChildEnv,
    ) -> Result<Status, RunError> {
        spawn_and_wait(program, argv, env, &Signals, true)
    }

    pub fn spawn_and_wait(
        program: &Path,
        argv: &[OsString],
        env: ChildEnv,
        _signals: &Signals,
        _core_limit_restored: bool,
    ) -> Result<Status, RunError> {
        let mut cmd = std::process::Command::new(program);
        cmd.args(argv.iter().skip(1)).env_clear();
        for e in &env.entries {
            let text = String::from_utf8_lossy(&e[..e.len() - 1]);
            if let Some((k, v)) = text.split_once('=') {
                cmd.env(k, v);
            }
        }
        drop(env);
        let status = cmd.status().map_err(|error| RunError::Spawn {
            program: program.display().to_string(),
            error,
        })?;
        Ok(Status::Exited(status.code().unwrap_or(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_override_rules() {
        let base = vec![
            (OsString::from("A"), OsString::from("old")),
            (OsString::from("B"), OsString::from("keep")),
        ];
        let vars: Vec<(&str, &[u8])> = vec![("A", b"new"), ("C", b"c")];
        let e = ChildEnv::build(base.clone(), vars.clone(), true);
        assert_eq!(e.get("A"), Some(&b"new"[..]));
        assert_eq!(e.get("B"), Some(&b"keep"[..]));
        assert_eq!(e.get("C"), Some(&b"c"[..]));
        let e = ChildEnv::build(base, vars, false);
        assert_eq!(e.get("A"), Some(&b"old"[..]));
        assert_eq!(e.len(), 3);
        assert!(!format!("{e:?}").contains("new"));
    }

    #[test]
    fn resolve_like_a_shell() {
        let path = std::env::var_os("PATH");
        assert!(resolve(OsStr::new("sh"), path.as_deref()).is_ok());
        assert!(matches!(
            resolve(OsStr::new("no-such-command-xyz"), path.as_deref()),
            Err(RunError::NotFound { .. })
        ));
        assert!(matches!(
            resolve(OsStr::new("./no/such"), path.as_deref()),
            Err(RunError::NotFound { .. })
        ));
    }

    /// The test harness runs tests on threads: blocking signals here must be refused.
    #[test]
    #[cfg(target_os = "linux")]
    #[should_panic(expected = "single-threaded")]
    fn blocking_signals_with_other_threads_is_refused() {
        let _ = Signals::block();
    }

    #[test]
    fn shell_codes() {
        assert_eq!(Status::Exited(3).shell_code(), 3);
        assert_eq!(Status::Signaled(15).shell_code(), 143);
    }
}
