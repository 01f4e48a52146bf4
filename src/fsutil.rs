//! File-system helpers: atomic writes (temp file in the same directory, fsync, rename),
//! directory swaps, private temporary directories, and the permission check for key files.

use std::io::Write;
use std::path::{Path, PathBuf};

pub mod lock;

/// Writes `bytes` to `path` atomically: readers see the old file or the new one, never a
/// mix, and a failure leaves the old file untouched. The file keeps its permissions.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    atomic_write_mode(path, bytes, None)
}

/// As [`atomic_write`], setting `mode` on a new file (e.g. 0o600 for key files).
/// Errors carry no temp-file path: callers name `path`, the file the user asked for.
pub fn atomic_write_mode(path: &Path, bytes: &[u8], mode: Option<u32>) -> std::io::Result<()> {
    write_via_temp(path, bytes, mode, false)
}

/// As [`atomic_write`], always mode 0600, also when replacing a more open file: for
/// plaintext and keys (the temp file is private before any byte is written).
pub fn atomic_write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_via_temp(path, bytes, Some(0o600), true)
}

/// As [`atomic_write`], always mode `mode`, also when replacing a file with another mode
/// (an executable hook).
pub fn atomic_write_exact_mode(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    write_via_temp(path, bytes, Some(mode), true)
}

/// Writes a new private (0600) file at `path`, whole or not at all, and never over an
/// existing one: the complete temp file takes the name by a rename that does not replace
/// ([`crate::tempfiles::TempFile::link_as`]), which fails with `AlreadyExists` if the name
/// exists, also when another process created it meanwhile (`keygen -o`: a check, then a
/// rename, let two runs each print a key, one of them lost).
pub fn create_new_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = parent_dir(path);
    let mut tmp =
        crate::tempfiles::TempFile::create_in(&dir).map_err(|e| unwritable_dir(&dir, e))?;
    tmp.file().write_all(bytes)?;
    tmp.file().sync_all()?;
    tmp.link_as(path)?;
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates `dir` and its missing parents, private (0700) as a key directory must be.
pub fn create_private_dirs(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// As [`atomic_write`] (or [`atomic_write_private`] when `private`), calling `before_rename`
/// with the complete temp file just before it takes the name: a lock holder locks the new
/// inode there, so that no waiter can take the name between the rename and its next lock.
/// With [`Replace::Nothing`] (a file that did not exist when it was read) the name is taken
/// by a rename that does not replace, which fails with `AlreadyExists` if another process
/// created the file meanwhile (a plain rename would silently replace its file).
pub fn atomic_write_then(
    path: &Path,
    bytes: &[u8],
    private: bool,
    replace: Replace,
    before_rename: &mut dyn FnMut(&std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mode = private.then_some(0o600);
    write_via_temp_then(path, bytes, mode, private, replace, before_rename)
}

/// Whether a write may replace a file at its name.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    Any,
    Nothing,
}

fn write_via_temp(
    path: &Path,
    bytes: &[u8],
    mode: Option<u32>,
    force_mode: bool,
) -> std::io::Result<()> {
    write_via_temp_then(path, bytes, mode, force_mode, Replace::Any, &mut |_| Ok(()))
}

fn write_via_temp_then(
    path: &Path,
    bytes: &[u8],
    mode: Option<u32>,
    force_mode: bool,
    replace: Replace,
    before_rename: &mut dyn FnMut(&std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let target = write_target(path)?;
    let path = target.as_path();
    if path.is_dir() {
        // (renaming a file over a directory fails with EISDIR, or EBUSY for `.`)
        return Err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a directory; give a file path",
        ));
    }
    let dir = parent_dir(path);
    // The temp file (crate::tempfiles) stays 0600 until it has taken the name, so what a
    // SIGKILL leaves is private at every moment; a catchable signal removes it. It takes
    // the target's mode only after the rename: a kill between the two leaves the file more
    // private than it was, never a wider copy beside it.
    let mut tmp =
        crate::tempfiles::TempFile::create_in(&dir).map_err(|e| unwritable_dir(&dir, e))?;
    tmp.file().write_all(bytes)?;
    tmp.file().sync_all()?;
    let perms = final_permissions(path, mode, force_mode);
    before_rename(tmp.file())?;
    match replace {
        Replace::Any => tmp.persist(path)?,
        Replace::Nothing => tmp.link_as(path)?,
    }
    if let Some(perms) = perms {
        tmp.file().set_permissions(perms)?;
    }
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The mode a write to `path` leaves: `mode` when forced, else the file's own, else `mode`
/// or the umask's default for a new file. None where there are no Unix modes.
fn final_permissions(
    path: &Path,
    mode: Option<u32>,
    force_mode: bool,
) -> Option<std::fs::Permissions> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(match (std::fs::metadata(path), mode) {
            (_, Some(mode)) if force_mode => std::fs::Permissions::from_mode(mode),
            (Ok(m), _) => m.permissions(),
            (Err(_), Some(mode)) => std::fs::Permissions::from_mode(mode),
            (Err(_), None) => std::fs::Permissions::from_mode(0o644 & !umask()),
        })
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode, force_mode);
        None
    }
}

/// The error of creating a file in `dir`: a directory the user cannot write (permissions,
/// a read-only mount) is named, since the caller names only the file it meant to write
/// (which may not exist yet, or be writable itself).
pub fn unwritable_dir(dir: &Path, e: std::io::Error) -> std::io::Error {
    #[cfg(unix)]
    let read_only = e.raw_os_error() == Some(libc::EROFS);
    #[cfg(not(unix))]
    let read_only = false;
    if e.kind() != std::io::ErrorKind::PermissionDenied && !read_only {
        return e;
    }
    let name = if dir == Path::new(".") {
        "the current directory".to_string()
    } else {
        format!("directory {}", dir.display())
    };
    std::io::Error::new(e.kind(), format!("{name} is not writable ({e})"))
}

/// Where a write to `path` goes: through symbolic links to their final target (as a
/// shell's `>` and sops do: replacing the link with a regular file would leave the target
/// as it was, plaintext included), never splitting hard links: a file with several names
/// is refused, since the new file would have only this name and the others would keep the
/// old content. (Writing into the shared inode instead would give up atomicity: a crash
/// or a reader in the middle would see a torn file.) A missing file is written at `path`.
pub fn write_target(path: &Path) -> std::io::Result<PathBuf> {
    let target = resolve_links(path)?;
    match std::fs::symlink_metadata(&target) {
        Ok(m) => refuse_hard_links(&target, &m)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    Ok(target)
}

/// `path` with symbolic links followed to the final target (which may be missing).
pub fn resolve_links(path: &Path) -> std::io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    // Linux's limit on links followed in one path lookup.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = std::fs::read_link(&p)?;
                // A relative target is relative to the link's directory.
                p = parent_dir(&p).join(to);
            }
            Ok(_) => return Ok(p),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(p),
            Err(e) => return Err(e),
        }
    }
    #[cfg(unix)]
    return Err(std::io::Error::from_raw_os_error(libc::ELOOP));
    #[cfg(not(unix))]
    Err(std::io::Error::other("too many levels of symbolic links"))
}

/// The error for a regular file with more than one hard link (see [`write_target`]); `path`
/// is the file itself (links resolved), so that the hint does not replace a symbolic link.
pub fn refuse_hard_links(path: &Path, meta: &std::fs::Metadata) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.is_file() && meta.nlink() > 1 {
            let name = path.display();
            return Err(std::io::Error::other(format!(
                "has {} hard links: replacing it would leave the other names with the old content, so nothing was written (to break the links: cp {name} {name}.new && mv {name}.new {name})",
                meta.nlink()
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, meta);
    Ok(())
}

/// Puts the directory `fresh` in the place of `target` (which may be missing, or an
/// existing directory), then removes what was there. On Linux the two are exchanged in
/// one step (`renameat2(RENAME_EXCHANGE)`), so `target` always exists and holds the old
/// or the new content, never a mix; elsewhere (or on a file system without exchange)
/// there is a short moment without `target`. Both must be on the same file system.
pub fn replace_dir(fresh: &Path, target: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(target).is_err() {
        return std::fs::rename(fresh, target);
    }
    #[cfg(target_os = "linux")]
    if exchange(fresh, target).is_ok() {
        // `fresh` now names the old content.
        return std::fs::remove_dir_all(fresh);
    }
    let old = fresh.with_extension("old");
    std::fs::rename(target, &old)?;
    if let Err(e) = std::fs::rename(fresh, target) {
        // Put the old directory back rather than leave nothing.
        let _ = std::fs::rename(&old, target);
        return Err(e);
    }
    std::fs::remove_dir_all(&old)
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
    };
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: two valid NUL-terminated paths; the syscall only reads them.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The process's umask, read without changing it (`umask(2)` can only read it by setting
/// it, a race with every thread creating files): the `Umask:` line of /proc/self/status
/// (Linux 4.7+). Where that is missing, 0o077, so a new file is never more open than the
/// user's umask would make it.
#[cfg(unix)]
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o077)
}

/// Reads all of `r`, at most `max` bytes, into a zeroizing buffer reserved once for
/// `size_hint` bytes (the file's size, when known: no reallocation leaves a copy of
/// plaintext behind). `Ok(None)` when there is more than `max`: a file that grew, a
/// device such as `/dev/zero` behind a symbolic link, an endless pipe.
pub fn read_at_most(
    r: impl std::io::Read,
    size_hint: u64,
    max: u64,
) -> std::io::Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
    use std::io::Read;
    let mut bytes = zeroize::Zeroizing::new(Vec::new());
    if size_hint > max {
        return Ok(None);
    }
    bytes.reserve_exact(size_hint.saturating_add(1) as usize);
    r.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= max).then_some(bytes))
}

/// [`read_at_most`] on the file at `path`, symbolic links followed: a regular file, or a
/// pipe (`<(…)`, `/dev/stdin`) or a terminal, read as far as `max`. A directory or another
/// device (a committed link to `/dev/zero` or `/dev/urandom`) is an `InvalidInput` error
/// saying what it is.
pub fn read_file_at_most(
    path: &Path,
    max: u64,
) -> std::io::Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    let t = meta.file_type();
    #[cfg(unix)]
    let readable = {
        use std::os::unix::fs::FileTypeExt;
        use std::os::unix::io::AsRawFd;
        // SAFETY: isatty only reads the descriptor's state.
        let tty = t.is_char_device() && unsafe { libc::isatty(file.as_raw_fd()) } == 1;
        t.is_file() || t.is_fifo() || t.is_socket() || tty
    };
    #[cfg(not(unix))]
    let readable = t.is_file();
    if !readable {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("not a regular file (a {})", file_kind(&t)),
        ));
    }
    let size = if t.is_file() { meta.len() } else { 0 };
    read_at_most(file, size, max)
}

/// Reads a file that must be a regular file of at most `max` bytes (a config that comes
/// with the repository): a symbolic link is followed to its target, which must be a
/// regular file too. A FIFO is opened without blocking and refused, as is a device or a
/// directory: an error of kind `InvalidInput` saying what it is. `Ok(None)`: larger than
/// `max`.
pub fn read_regular_at_most(path: &Path, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut open = std::fs::OpenOptions::new();
    open.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Opening a FIFO for reading would wait for a writer.
        open.custom_flags(libc::O_NONBLOCK);
    }
    let file = open.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "not a regular file (a {}); only a regular file is read",
                file_kind(&meta.file_type())
            ),
        ));
    }
    Ok(read_at_most(file, meta.len(), max)?.map(|mut b| std::mem::take(&mut *b)))
}

/// What a file that is not a regular file is, for errors.
pub fn file_kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "FIFO";
        }
        if t.is_char_device() || t.is_block_device() {
            return "device";
        }
        if t.is_socket() {
            return "socket";
        }
    }
    if t.is_dir() {
        "directory"
    } else {
        "special file"
    }
}

/// The directory holding `path`: its parent, or `.` for a bare file name.
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A private (0700) temporary directory in the first RAM-backed place that works:
/// `/dev/shm`, else `$XDG_RUNTIME_DIR` (a per-user tmpfs under systemd), else the temporary
/// directory ([`crate::tempfiles::TempDir::in_ram`] says which it got). Removed when
/// dropped, and by the signal handler of [`crate::tempfiles`].
pub fn private_tempdir(prefix: &str) -> std::io::Result<crate::tempfiles::TempDir> {
    let mut bases = vec![PathBuf::from("/dev/shm")];
    if let Some(x) = std::env::var_os("XDG_RUNTIME_DIR").filter(|x| !x.is_empty()) {
        bases.push(PathBuf::from(x));
    }
    for base in &bases {
        if base.is_dir() {
            if let Ok(d) = private_tempdir_in(base, prefix) {
                return Ok(d);
            }
        }
    }
    private_tempdir_in(&std::env::temp_dir(), prefix)
}

/// A private (0700) temporary directory under `base`, removed when dropped.
pub fn private_tempdir_in(base: &Path, prefix: &str) -> std::io::Result<crate::tempfiles::TempDir> {
    crate::tempfiles::TempDir::create_in(base, prefix)
}

#[derive(Debug)]
pub enum PrivacyError {
    TooOpen(u32),
    Io(String),
}

/// Refuses a key file that group or others may access (ssh's rule for private keys).
pub fn check_private(path: &Path) -> Result<(), PrivacyError> {
    let meta = std::fs::metadata(path).map_err(|e| PrivacyError::Io(e.to_string()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(PrivacyError::TooOpen(mode));
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Reading the umask must not change it, not even for a moment: another thread
    /// creating a file meanwhile would get the wrong mode (0o644 instead of 0o640 here).
    #[test]
    fn reading_the_umask_leaves_it_alone_for_other_threads() {
        let d = tempfile::tempdir().unwrap();
        // SAFETY: umask only sets the process's file creation mask (restored below).
        let saved = unsafe { libc::umask(0o027) };
        let done = AtomicBool::new(false);
        let wrong = std::thread::scope(|s| {
            s.spawn(|| {
                while !done.load(Ordering::SeqCst) {
                    assert_eq!(umask(), 0o027);
                }
            });
            let mut wrong = 0;
            let p = d.path().join("f");
            for _ in 0..2_000 {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o666)
                    .open(&p)
                    .unwrap();
                if f.metadata().unwrap().permissions().mode() & 0o777 != 0o640 {
                    wrong += 1;
                }
                std::fs::remove_file(&p).unwrap();
            }
            done.store(true, Ordering::SeqCst);
            wrong
        });
        // SAFETY: as above.
        unsafe { libc::umask(saved) };
        assert_eq!(
            wrong, 0,
            "{wrong} of 2000 files created with the wrong mode"
        );
    }

    fn mode_of(m: std::fs::Metadata) -> u32 {
        m.permissions().mode() & 0o777
    }

    /// A SIGKILL can land between any two steps: until the new file has the name, the
    /// temp file must stay private, even when the file it replaces is world-readable.
    #[test]
    fn the_temp_file_is_private_until_it_has_the_name() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("f.yaml");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut seen = None;
        atomic_write_then(&path, b"new", false, Replace::Any, &mut |f| {
            seen = Some(mode_of(f.metadata()?));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, Some(0o600), "the temp file just before the rename");
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(mode_of(std::fs::metadata(&path).unwrap()), 0o644);
    }
}
