//! File-system helpers: atomic writes (temp file in the same directory, fsync, rename),
//! private temporary directories, and the permission check for key files.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically: readers see the old file or the new one, never a
/// mix, and a failure leaves the old file untouched. The file keeps its permissions.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    atomic_write_mode(path, bytes, None)
}

/// As [`atomic_write`], setting `mode` on a new file (e.g. 0o600 for key files).
pub fn atomic_write_mode(path: &Path, bytes: &[u8], mode: Option<u32>) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".secrets-tmp-")
        .tempfile_in(&dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let perms = match (std::fs::metadata(path), mode) {
            (Ok(m), _) => Some(m.permissions()),
            (Err(_), Some(mode)) => Some(std::fs::Permissions::from_mode(mode)),
            (Err(_), None) => Some(std::fs::Permissions::from_mode(0o644 & !umask())),
        };
        if let Some(p) = perms {
            tmp.as_file().set_permissions(p)?;
        }
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(unix)]
fn umask() -> u32 {
    // Reading the umask requires setting it; restore it at once.
    unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m as u32
    }
}

/// A private (0700) temporary directory, in RAM (`/dev/shm`) when the system has it, removed
/// when dropped.
pub fn private_tempdir(prefix: &str) -> std::io::Result<tempfile::TempDir> {
    let shm = Path::new("/dev/shm");
    let builder = {
        let mut b = tempfile::Builder::new();
        b.prefix(prefix);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            b.permissions(std::fs::Permissions::from_mode(0o700));
        }
        b
    };
    if shm.is_dir() {
        if let Ok(d) = builder.tempdir_in(shm) {
            return Ok(d);
        }
    }
    builder.tempdir()
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
