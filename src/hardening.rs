//! No core dumps and no debugger attach while we hold plaintext.
//!
//! A core dump of `secrets` holds whatever was in memory: decrypted values, the data key,
//! identities. With `ulimit -c unlimited`, a SIGABRT during `edit` wrote `./core` with
//! three copies of the plaintext. So every command starts with [`no_core_dumps`]:
//!
//! - `RLIMIT_CORE`'s soft limit goes to 0 (the hard limit is kept, so we can give a child
//!   its limit back);
//! - on Linux, `PR_SET_DUMPABLE` 0: no core even if another process raises our limit
//!   (`prlimit`), and other processes of the same user cannot `ptrace` us or read our
//!   memory through `/proc/<pid>/mem` (root still can).
//!
//! The program `secrets exec` starts gets its own defaults back: dumpable is reset by
//! `execve` (for a program that does not change credentials), and the core limit is
//! restored around `execve` / `posix_spawn` ([`with_core_limit_restored`]). The editor of
//! `edit` keeps a core limit of 0: it holds the same plaintext.

#[cfg(unix)]
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};

#[cfg(unix)]
static SAVED: AtomicBool = AtomicBool::new(false);
#[cfg(unix)]
static SOFT: AtomicU64 = AtomicU64::new(0);

/// Turns core dumps off for this process (see the module doc). Called first in `main`.
pub fn no_core_dumps() {
    #[cfg(unix)]
    // SAFETY: getrlimit/setrlimit on a local struct.
    unsafe {
        let mut r: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_CORE, &mut r) == 0 {
            if !SAVED.swap(true, SeqCst) {
                SOFT.store(r.rlim_cur as u64, SeqCst);
            }
            r.rlim_cur = 0;
            libc::setrlimit(libc::RLIMIT_CORE, &r);
        }
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// Runs `f`, which starts a program (`execve`, `posix_spawn`), with the core limit this
/// process started with, then sets it back to 0. Meanwhile we stay undumpable.
pub fn with_core_limit_restored<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(unix)]
    if SAVED.load(SeqCst) {
        // SAFETY: getrlimit/setrlimit on a local struct; raising the soft limit back up
        // to what it was never passes the hard limit, which we did not change.
        unsafe {
            let mut r: libc::rlimit = std::mem::zeroed();
            if libc::getrlimit(libc::RLIMIT_CORE, &mut r) == 0 {
                let mut started = r;
                started.rlim_cur = SOFT.load(SeqCst) as libc::rlim_t;
                libc::setrlimit(libc::RLIMIT_CORE, &started);
                let out = f();
                libc::setrlimit(libc::RLIMIT_CORE, &r);
                return out;
            }
        }
    }
    f()
}

/// The soft core limit now (tests).
#[cfg(all(test, unix))]
fn core_limit() -> u64 {
    // SAFETY: getrlimit on a local struct.
    unsafe {
        let mut r: libc::rlimit = std::mem::zeroed();
        libc::getrlimit(libc::RLIMIT_CORE, &mut r);
        r.rlim_cur as u64
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn core_limit_off_then_given_back_to_a_child() {
        let before = core_limit();
        no_core_dumps();
        assert_eq!(core_limit(), 0);
        let during = with_core_limit_restored(core_limit);
        assert_eq!(during, before);
        assert_eq!(core_limit(), 0);
    }
}

/// A closed stdout or stderr (`secrets status | head -1`) ends the command as it ends other
/// Unix tools, by SIGPIPE, instead of a panic (exit 101) from a print: Rust ignores SIGPIPE
/// by default. Set before any temp file exists, so the cleanup handler of
/// [`crate::tempfiles`] takes SIGPIPE too (it removes what is registered, then dies of it).
pub fn die_quietly_on_a_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default; no handler is involved.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
