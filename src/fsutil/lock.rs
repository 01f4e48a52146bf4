//! The one lock every read-modify-write command takes: an advisory `flock(2)` on the file
//! itself, held from before the command reads the file until after the atomic rename
//! that replaces it (`scan --write-baseline` too, on the baseline it merges into).
//! Commands that only read (decrypt to stdout or `-o`, get, exec, export, status, scan)
//! take no lock: writes are atomic renames, so a reader sees the old file or the new one.
//! `decrypt -i` rewrites its file, so it locks it like `set`.
//!
//! **Why the file itself and not a lock file beside it.** A lock file would need a name
//! git never commits (an ignore rule someone can delete, or a place under `.git/`, which
//! files outside a repository lack), and cleaning up after a crash. Locking the target
//! leaves nothing behind, and two names of one file lock the same thing: a symbolic link
//! locks its target, a hard link the shared inode. The catch is the rename: the writer
//! replaces the inode the waiters are queued on, so a waiter that gets the lock checks
//! that the path still names the inode it locked, and if not, locks the new one. A file
//! that does not exist yet (`edit` of a new file, `init`) has nothing to lock; writing it
//! then fails if it appeared meanwhile (a rename that does not replace, `RENAME_NOREPLACE`).
//!
//! **Order.** A command holds at most the config's lock and then one file's lock at a
//! time (`updatekeys`, `rotate`, `member remove`, `env revoke`), or several files' locks
//! taken in one order, by resolved path ([`acquire_all`], for `encrypt -i A B`, which
//! holds the config's lock first, as `edit` of a new file does from the editor's close to
//! the save: a file encrypted by the config must not be written for a member a revocation
//! running meanwhile takes out), so no two commands can each hold what the other waits for.
//!
//! **Waiting.** Up to [`wait`] (10 s unless the CLI sets it from `$SECRETS_LOCK_TIMEOUT`),
//! polling with a growing, jittered pause; then [`LockError::Busy`] and nothing is
//! written.
//!
//! **Programs that do not lock** (sops, an editor, `git checkout`) can still change the
//! file between our read and our write. [`Seen`] records what was read (a SHA-256 of the
//! bytes), and [`Lock::replace`] refuses to write when the file on disk is no longer that
//! ([`LockError::Changed`]); `edit` uses the same check across the time the editor is open,
//! during which it holds no lock.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::{atomic_write_then, Replace};

/// How long to wait for a lock before giving up, in milliseconds (default 10 s).
static WAIT_MS: AtomicU64 = AtomicU64::new(10_000);

/// Sets how long [`Lock::acquire`] waits for a busy lock (the CLI sets it once, from
/// `$SECRETS_LOCK_TIMEOUT`).
pub fn set_wait(wait: Duration) {
    WAIT_MS.store(
        wait.as_millis().min(u64::MAX as u128) as u64,
        Ordering::Relaxed,
    );
}

/// How long [`Lock::acquire`] waits for a busy lock.
pub fn wait() -> Duration {
    Duration::from_millis(WAIT_MS.load(Ordering::Relaxed))
}

/// Why a file could not be locked, read or written. Messages name the file, never its
/// content.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another command held the lock for the whole wait.
    #[error("{}: busy: another command is changing it (waited {:.1} s for its lock); nothing was written, retry", path.display(), waited.as_secs_f64())]
    Busy { path: PathBuf, waited: Duration },
    /// The file on disk is not what the command read: a program that takes no lock
    /// changed it meanwhile.
    #[error("{}: changed by another program since this command read it; nothing was written, run the command again", path.display())]
    Changed { path: PathBuf },
    #[error("{}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: {error}", path.display())]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// What a command read: the SHA-256 of the bytes, or that the file did not exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen(Option<[u8; 32]>);

impl Seen {
    /// The file did not exist (a command creating it).
    pub fn missing() -> Seen {
        Seen(None)
    }

    /// These bytes were read.
    pub fn of(bytes: &[u8]) -> Seen {
        Seen(Some(Sha256::digest(bytes).into()))
    }

    /// What is at `path` now (hashed in chunks through a zeroized buffer: it may be
    /// plaintext, for `encrypt -i`).
    fn now(path: &Path) -> std::io::Result<Seen> {
        let mut f = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Seen(None)),
            Err(e) => return Err(e),
        };
        let mut hasher = Sha256::new();
        let mut buf = zeroize::Zeroizing::new([0u8; 64 * 1024]);
        loop {
            match f.read(&mut buf[..]) {
                Ok(0) => break,
                Ok(n) => hasher.update(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Seen(Some(hasher.finalize().into())))
    }
}

/// What [`Lock::read`] gives: the file's bytes and what was read (for [`Lock::replace`]).
pub type Contents = (zeroize::Zeroizing<Vec<u8>>, Seen);

/// An exclusive lock on one file, released when dropped (after the write).
#[derive(Debug)]
pub struct Lock {
    /// The name the command was given (for messages).
    path: PathBuf,
    /// That name with symbolic links resolved: where the file is read and written.
    target: PathBuf,
    /// The locked file; `None` when it did not exist. A write replaces it by the new
    /// inode, locked before the rename ([`Lock::replace`]), so the lock is never let go.
    file: std::sync::Mutex<Option<File>>,
    /// The thread that took it and the file's identity, in [`HELD`] while the lock lives.
    held: std::sync::Mutex<Option<(std::thread::ThreadId, FileId)>>,
}

/// The files each thread of this process holds locked. A thread asking again for a lock
/// it holds (a file named twice, or a batch naming the config whose lock it holds) would
/// wait for itself until the timeout; it gets an error at once instead. Other threads
/// wait as other processes do.
static HELD: std::sync::Mutex<Vec<(std::thread::ThreadId, FileId)>> =
    std::sync::Mutex::new(Vec::new());

fn held() -> std::sync::MutexGuard<'static, Vec<(std::thread::ThreadId, FileId)>> {
    HELD.lock().unwrap_or_else(|e| e.into_inner())
}

impl Drop for Lock {
    fn drop(&mut self) {
        let entry = *self.held.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entry {
            let mut h = held();
            if let Some(i) = h.iter().position(|&x| x == entry) {
                h.swap_remove(i);
            }
        }
    }
}

impl Lock {
    /// Locks the file at `path` (through symbolic links), waiting up to [`wait`].
    pub fn acquire(path: &Path) -> Result<Lock, LockError> {
        Self::acquire_within(path, wait())
    }

    /// As [`Lock::acquire`], waiting up to `wait`.
    pub fn acquire_within(path: &Path, wait: Duration) -> Result<Lock, LockError> {
        let read_err = |error| LockError::Read {
            path: path.to_path_buf(),
            error,
        };
        let target = super::resolve_links(path).map_err(read_err)?;
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        // Read-only unless the file system needs more (NFS emulates flock with POSIX
        // locks, which want a descriptor open for writing: EBADF).
        let mut write = false;
        loop {
            let Some((file, id)) = open(path, &target, write)? else {
                return Ok(Lock {
                    path: path.to_path_buf(),
                    target,
                    file: std::sync::Mutex::new(None),
                    held: std::sync::Mutex::new(None),
                });
            };
            let me = std::thread::current().id();
            if held().contains(&(me, id)) {
                return Err(read_err(std::io::Error::other(
                    "this command already holds its lock (the file is named twice, or is the config the command works by)",
                )));
            }
            let locked = loop {
                match try_lock(&file) {
                    Ok(true) => break true,
                    Ok(false) => {}
                    #[cfg(unix)]
                    Err(e) if e.raw_os_error() == Some(libc::EBADF) && !write => break false,
                    Err(e) => return Err(read_err(e)),
                }
                let waited = start.elapsed();
                if waited >= wait {
                    return Err(LockError::Busy {
                        path: path.to_path_buf(),
                        waited,
                    });
                }
                // Jittered, so that many waiters do not retry in step.
                let jitter = Duration::from_micros(rand::random::<u64>() % 1000);
                std::thread::sleep((pause + jitter).min(wait - waited));
                pause = (pause * 2).min(Duration::from_millis(20));
            };
            if !locked {
                write = true;
                continue;
            }
            // The holder may have renamed a new file over the one we waited on: lock that
            // one instead (dropping `file` releases the stale lock).
            if file_id(&std::fs::metadata(&target).ok()) == Some(id) {
                held().push((me, id));
                return Ok(Lock {
                    path: path.to_path_buf(),
                    target,
                    file: std::sync::Mutex::new(Some(file)),
                    held: std::sync::Mutex::new(Some((me, id))),
                });
            }
        }
    }

    /// The name the command was given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the file is: the name with symbolic links resolved.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Reads the locked file, and what was read (for [`Lock::replace`]).
    pub fn read(&self) -> Result<Contents, LockError> {
        let read = self.read_at_most(u64::MAX)?;
        Ok(read.expect("no file is larger than u64::MAX bytes"))
    }

    /// [`Lock::read`], at most `max` bytes: `Ok(None)` when the file is larger.
    pub fn read_at_most(&self, max: u64) -> Result<Option<Contents>, LockError> {
        let file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let bytes = match &*file {
            // Through the locked descriptor: the bytes are those of the locked inode.
            Some(f) => {
                let f: &File = f;
                let len = f.metadata().map_or(0, |m| m.len());
                super::read_at_most(f, len, max)
            }
            #[cfg(unix)]
            None => Err(std::io::Error::from_raw_os_error(libc::ENOENT)),
            #[cfg(not(unix))]
            None => Err(std::io::Error::from(std::io::ErrorKind::NotFound)),
        }
        .map_err(|error| LockError::Read {
            path: self.path.clone(),
            error,
        })?;
        Ok(bytes.map(|bytes| {
            let seen = Seen::of(&bytes);
            (bytes, seen)
        }))
    }

    /// Writes `bytes` in place of the file (atomically, through symbolic links), unless
    /// the file on disk is no longer what `seen` says was read.
    /// The lock stays held, on the new file.
    pub fn replace(&self, seen: &Seen, bytes: &[u8]) -> Result<(), LockError> {
        self.replace_with(seen, bytes, false)
    }

    /// [`Lock::replace`] for plaintext (`decrypt -i`): the file is written 0600.
    pub fn replace_private(&self, seen: &Seen, bytes: &[u8]) -> Result<(), LockError> {
        self.replace_with(seen, bytes, true)
    }

    fn replace_with(&self, seen: &Seen, bytes: &[u8], private: bool) -> Result<(), LockError> {
        let now = Seen::now(&self.target).map_err(|error| LockError::Read {
            path: self.path.clone(),
            error,
        })?;
        if now != *seen {
            return Err(LockError::Changed {
                path: self.path.clone(),
            });
        }
        let write_err = |error| LockError::Write {
            path: self.path.clone(),
            error,
        };
        // The new inode is locked before it takes the name, and the old one is released
        // only then: a waiter woken by the release finds the name on the new inode, held.
        // (A config command writes its file more than once under one lock.)
        let mut new_file: Option<(File, FileId)> = None;
        // A file read as missing must still be missing when it is written: created by
        // another process meanwhile (two `init`s, two `edit`s of a new file), it is theirs.
        let replace = if seen.0.is_none() {
            Replace::Nothing
        } else {
            Replace::Any
        };
        atomic_write_then(&self.target, bytes, private, replace, &mut |tmp| {
            let mut file = tmp.try_clone()?;
            // Read from the start later (the clone shares the written file's offset).
            std::io::Seek::rewind(&mut file)?;
            if !try_lock(&file)? {
                return Err(std::io::Error::other("the new file is locked by another"));
            }
            let id = file_id(&file.metadata().ok()).unwrap_or_default();
            new_file = Some((file, id));
            Ok(())
        })
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::AlreadyExists => LockError::Changed {
                path: self.path.clone(),
            },
            _ => write_err(error),
        })?;
        if let Some((file, id)) = new_file {
            let mut mine = self.held.lock().unwrap_or_else(|e| e.into_inner());
            let mut all = held();
            if let Some(old) = *mine {
                if let Some(i) = all.iter().position(|&x| x == old) {
                    all[i] = (old.0, id);
                }
                *mine = Some((old.0, id));
            }
            drop(all);
            *self.file.lock().unwrap_or_else(|e| e.into_inner()) = Some(file);
        }
        Ok(())
    }
}

/// Locks several files that one command writes together (all or nothing), in one order
/// whatever the order given: by resolved path, so two commands naming the same files
/// cannot each hold one and wait for the other. Returns the locks in the order of
/// `paths`; a file named twice (also through a link) is locked once, `None` at its later
/// places.
pub fn acquire_all(paths: &[&Path]) -> Result<Vec<Option<Lock>>, LockError> {
    let key = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let mut order: Vec<(PathBuf, usize)> =
        paths.iter().enumerate().map(|(i, p)| (key(p), i)).collect();
    order.sort();
    let mut locks: Vec<Option<Lock>> = paths.iter().map(|_| None).collect();
    let mut previous: Option<&PathBuf> = None;
    for (k, i) in &order {
        if previous != Some(k) {
            locks[*i] = Some(Lock::acquire(paths[*i])?);
        }
        previous = Some(k);
    }
    Ok(locks)
}

type FileId = (u64, u64);

#[cfg(unix)]
fn file_id(meta: &Option<std::fs::Metadata>) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    meta.as_ref().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(meta: &Option<std::fs::Metadata>) -> Option<FileId> {
    meta.as_ref().map(|_| (0, 0))
}

/// Opens the file to lock: `None` when it does not exist. A FIFO or device is refused
/// (opening one could block, and it cannot be replaced atomically); a file with several
/// hard links is refused before it is locked (see [`super::write_target`]).
fn open(path: &Path, target: &Path, write: bool) -> Result<Option<(File, FileId)>, LockError> {
    let read_err = |error| LockError::Read {
        path: path.to_path_buf(),
        error,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true).write(write);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let file = match opts.open(target) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_err(e)),
    };
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() && !meta.is_dir() {
        return Err(read_err(std::io::Error::other("not a regular file")));
    }
    super::refuse_hard_links(target, &meta).map_err(|error| LockError::Write {
        path: path.to_path_buf(),
        error,
    })?;
    let id = file_id(&Some(meta)).unwrap_or_default();
    Ok(Some((file, id)))
}

/// Takes the lock without waiting: whether it was free.
#[cfg(unix)]
fn try_lock(file: &File) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    loop {
        // SAFETY: flock on a descriptor `file` owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EWOULDBLOCK) => return Ok(false),
            Some(libc::EINTR) => continue,
            _ => return Err(e),
        }
    }
}

#[cfg(not(unix))]
fn try_lock(_file: &File) -> std::io::Result<bool> {
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Locks `p` on another thread (as another process would).
    fn elsewhere(p: &Path, wait: Duration) -> Result<(), LockError> {
        let p = p.to_path_buf();
        std::thread::spawn(move || Lock::acquire_within(&p, wait).map(drop))
            .join()
            .unwrap()
    }

    #[test]
    fn a_second_holder_waits_then_gets_busy_and_the_first_can_write() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.yaml");
        std::fs::write(&p, "a: 1\n").unwrap();
        let first = Lock::acquire(&p).unwrap();
        let (bytes, seen) = first.read().unwrap();
        assert_eq!(&bytes[..], b"a: 1\n");
        match elsewhere(&p, Duration::from_millis(30)) {
            Err(LockError::Busy { path, .. }) => assert_eq!(path, p),
            other => panic!("{other:?}"),
        }
        // The holder asking again gets an error at once, not a wait for itself.
        let start = Instant::now();
        match Lock::acquire_within(&p, Duration::from_secs(20)) {
            Err(LockError::Read { error, .. }) => {
                assert!(error.to_string().contains("already holds"), "{error}")
            }
            other => panic!("{other:?}"),
        }
        assert!(start.elapsed() < Duration::from_secs(20));
        first.replace(&seen, b"a: 2\n").unwrap();
        drop(first);
        // The waiter's inode was replaced: it locks the new file and reads it.
        let second = Lock::acquire_within(&p, Duration::ZERO).unwrap();
        assert_eq!(&second.read().unwrap().0[..], b"a: 2\n");
    }

    #[test]
    fn the_lock_stays_held_across_writes() {
        // Found by the audit of issue 10: `member remove` writes the config twice under one
        // lock; after the first rename the lock was on the old inode, and a `member add`
        // ran in between.
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(".secrets.yaml");
        std::fs::write(&p, "a: 1\n").unwrap();
        let lock = Lock::acquire(&p).unwrap();
        let (_, seen) = lock.read().unwrap();
        lock.replace(&seen, b"a: 2\n").unwrap();
        match elsewhere(&p, Duration::from_millis(30)) {
            Err(LockError::Busy { .. }) => {}
            other => panic!("another command got the lock after a write: {other:?}"),
        }
        // It reads and writes the new file, and still holds it after a second write.
        let (bytes, seen) = lock.read().unwrap();
        assert_eq!(&bytes[..], b"a: 2\n");
        lock.replace(&seen, b"a: 3\n").unwrap();
        assert!(elsewhere(&p, Duration::from_millis(30)).is_err());
        drop(lock);
        elsewhere(&p, Duration::ZERO).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"a: 3\n");
    }

    #[test]
    fn a_waiter_on_a_replaced_file_locks_the_new_one() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.yaml");
        std::fs::write(&p, "a: 1\n").unwrap();
        let first = Lock::acquire(&p).unwrap();
        let (_, seen) = first.read().unwrap();
        let p2 = p.clone();
        let waiter = std::thread::spawn(move || {
            let l = Lock::acquire_within(&p2, Duration::from_secs(20)).unwrap();
            let text = l.read().unwrap().0.to_vec();
            (l, text)
        });
        std::thread::sleep(Duration::from_millis(50));
        first.replace(&seen, b"a: 2\n").unwrap();
        drop(first);
        let (second, text) = waiter.join().unwrap();
        assert_eq!(text, b"a: 2\n");
        // The new file is really locked: a third holder cannot get it.
        assert!(matches!(
            elsewhere(&p, Duration::ZERO),
            Err(LockError::Busy { .. })
        ));
        drop(second);
        elsewhere(&p, Duration::ZERO).unwrap();
    }

    #[test]
    fn a_file_changed_by_a_program_that_does_not_lock_is_not_overwritten() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.yaml");
        std::fs::write(&p, "a: 1\n").unwrap();
        let lock = Lock::acquire(&p).unwrap();
        let (_, seen) = lock.read().unwrap();
        std::fs::write(&p, "a: 3\n").unwrap();
        assert!(matches!(
            lock.replace(&seen, b"a: 2\n"),
            Err(LockError::Changed { .. })
        ));
        assert_eq!(std::fs::read(&p).unwrap(), b"a: 3\n");
        // A new file: written only while it is still missing.
        let n = d.path().join("new.yaml");
        let lock = Lock::acquire(&n).unwrap();
        std::fs::write(&n, "b: 1\n").unwrap();
        assert!(matches!(
            lock.replace(&Seen::missing(), b"b: 2\n"),
            Err(LockError::Changed { .. })
        ));
    }

    #[test]
    fn all_files_are_locked_once_whatever_the_order() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        std::fs::write(&a, "1").unwrap();
        std::fs::write(&b, "2").unwrap();
        let link = d.path().join("link");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&a, &link).unwrap();
        let locks = acquire_all(&[&b, &a, &link]).unwrap();
        assert!(locks[0].is_some() && locks[1].is_some() && locks[2].is_none());
        assert_eq!(locks[1].as_ref().unwrap().target(), a.as_path());
    }
}
