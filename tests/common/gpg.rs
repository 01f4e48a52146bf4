//! A real gpg keyring for the PGP key-service tests: a private temporary GNUPGHOME with
//! keys made by the real `gpg` (ed25519 signing, cv25519 encryption, no passphrase), its
//! agent stopped on drop. A missing gpg fails the test (`.ci/run` installs gnupg).

use std::path::Path;
use std::process::Command;

pub struct Keyring {
    pub home: tempfile::TempDir,
}

impl Keyring {
    pub fn new() -> Keyring {
        let home = tempfile::Builder::new().prefix("gpg").tempdir().unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        Keyring { home }
    }

    /// Makes a key for `uid`: its fingerprint.
    pub fn add_key(&self, uid: &str) -> String {
        self.gpg(&[
            "--passphrase",
            "",
            "--quick-gen-key",
            uid,
            "future-default",
            "default",
            "never",
        ]);
        let listing = self.gpg(&["--with-colons", "--list-keys", uid]);
        listing
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .map(|rest| rest.trim_matches(':').to_string())
            .expect("gpg listed a fingerprint")
    }

    /// Another keyring's public key, imported here (to encrypt to it, not to decrypt).
    pub fn import_public(&self, from: &Keyring, fingerprint: &str) {
        let armored = from.gpg(&["--armor", "--export", fingerprint]);
        let file = self.home.path().join("import.asc");
        std::fs::write(&file, armored).unwrap();
        self.gpg(&["--import", file.to_str().unwrap()]);
    }

    pub fn path(&self) -> &Path {
        self.home.path()
    }

    pub fn gpg(&self, args: &[&str]) -> String {
        let out = Command::new("gpg")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--batch", "--quiet"])
            .args(args)
            .output()
            .expect(
                "gpg not found: the PGP tests need it as an oracle; `bash .ci/run` installs gnupg",
            );
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--kill", "gpg-agent"])
            .status();
    }
}
