//! `--file-env`: values as files, for programs that read `NAME_FILE` (the Docker secrets
//! convention: `POSTGRES_PASSWORD_FILE=/run/secrets/...`).
//!
//! Why a private directory on tmpfs: the values must not reach a disk, and no other user
//! may read them. The directory is created with mode 0700 under `/dev/shm` (RAM-backed on
//! Linux), else `$XDG_RUNTIME_DIR` (a per-user tmpfs under systemd), else the temporary
//! directory (then [`SecretDir::in_ram`] is false and the CLI warns). Each file is 0600.
//!
//! Why not memfd: a memfd is reachable only through an inherited descriptor
//! (`/proc/self/fd/N`), which breaks as soon as the program closes its descriptors or
//! hands the path to a helper process — common in the entrypoint scripts that read
//! `*_FILE`. A path in a private tmpfs directory works everywhere.
//!
//! Removal: [`SecretDir::remove`] (and `Drop`) overwrite each file with zeros, unlink it
//! and remove the directory. The CLI keeps the forwarded signals blocked while the
//! directory exists, so a SIGTERM or SIGINT to us reaches the child and we still clean
//! up after it ends; the other terminating signals (SIGABRT, SIGALRM, …) reach the
//! handler of [`crate::tempfiles`], which removes the directory. Only SIGKILL to
//! `secrets` itself can leave the directory behind (in RAM, private, gone at reboot, and
//! removed by the next `exec --file-env` or `edit` once our pid is gone).

use std::io::Write;
use std::path::{Path, PathBuf};

/// A private directory of value files, removed when dropped.
pub struct SecretDir {
    dir: Option<crate::tempfiles::TempDir>,
    files: Vec<PathBuf>,
    in_ram: bool,
}

impl std::fmt::Debug for SecretDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretDir({})", self.path().display())
    }
}

impl SecretDir {
    /// Creates the directory in the first RAM-backed place that works.
    pub fn create() -> std::io::Result<SecretDir> {
        let dir = crate::fsutil::private_tempdir(crate::tempfiles::EXEC_PREFIX)?;
        let in_ram = dir.in_ram();
        Ok(SecretDir {
            dir: Some(dir),
            files: Vec::new(),
            in_ram,
        })
    }

    pub fn path(&self) -> &Path {
        self.dir.as_ref().map(|d| d.path()).unwrap_or(Path::new(""))
    }

    /// Whether the directory is on tmpfs/ramfs (always false off Linux: not checked).
    pub fn in_ram(&self) -> bool {
        self.in_ram
    }

    /// Writes one value as a 0600 file named after the variable (or `var-N` when the name
    /// is not a plain file name) and returns its path.
    pub fn write(&mut self, name: &str, value: &[u8]) -> std::io::Result<PathBuf> {
        let file_name = if safe_file_name(name) {
            name.to_string()
        } else {
            format!("var-{}", self.files.len())
        };
        let path = self.path().join(file_name);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&path)?;
        self.files.push(path.clone());
        f.write_all(value)?;
        Ok(path)
    }

    /// Wipes and removes every file, then the directory.
    pub fn remove(mut self) -> std::io::Result<()> {
        self.cleanup()
    }

    fn cleanup(&mut self) -> std::io::Result<()> {
        for f in self.files.drain(..) {
            wipe(&f);
        }
        match self.dir.take() {
            Some(d) => d.close(),
            None => Ok(()),
        }
    }
}

impl Drop for SecretDir {
    fn drop(&mut self) {
        let _ = self.cleanup();
    }
}

fn safe_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Overwrites a file's bytes with zeros before unlinking it (best effort: on tmpfs the
/// pages are freed on unlink anyway; this also covers a disk-backed fallback).
fn wipe(path: &Path) {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.is_file() {
            if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(path) {
                let zeros = vec![0u8; meta.len().min(1 << 20) as usize];
                let mut left = meta.len();
                while left > 0 {
                    let n = left.min(zeros.len() as u64) as usize;
                    if f.write_all(&zeros[..n]).is_err() {
                        break;
                    }
                    left -= n as u64;
                }
                let _ = f.sync_data();
            }
        }
    }
    let _ = std::fs::remove_file(path);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_files_removed() {
        let mut d = SecretDir::create().unwrap();
        let dir = d.path().to_path_buf();
        let a = d.write("DB_PASSWORD", b"hunter2").unwrap();
        let b = d.write("../evil", b"x").unwrap();
        assert_eq!(b.parent(), Some(dir.as_path()));
        assert_eq!(std::fs::read(&a).unwrap(), b"hunter2");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir), 0o700);
            assert_eq!(mode(&a), 0o600);
        }
        d.remove().unwrap();
        assert!(!dir.exists());
    }
}
