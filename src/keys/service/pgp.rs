//! PGP as a key service, through the user's own `gpg` as sops does (`pgp` stanzas): the
//! data key's 32 bytes are encrypted to a key's fingerprint and the ASCII-armored message is
//! the stanza's `enc`; `gpg --decrypt` gives them back, with the user's keyring and agent
//! (so a passphrase is asked by the agent's pinentry, never by us).
//!
//! The program is `$SOPS_GPG_EXEC` or `gpg`; the keyring `$GNUPGHOME` or gpg's default. A
//! run is bounded by [`DEFAULT_GPG_TIMEOUT`] (long enough to type a passphrase), or by
//! `$SECRETS_KEYSERVICE_TIMEOUT` when that is set. Errors name the fingerprint and gpg's
//! own first line of complaint; gpg never sees the data key on its command line.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::{KeyService, ServiceError};
use crate::metadata::PgpStanza;

/// The variable sops reads for the gpg program.
pub const GPG_EXEC_VAR: &str = "SOPS_GPG_EXEC";

/// How long one gpg run may take when `$SECRETS_KEYSERVICE_TIMEOUT` is not set: gpg is
/// local and fast, but decrypting may wait for the user at a pinentry.
pub const DEFAULT_GPG_TIMEOUT: Duration = Duration::from_secs(120);

/// A PGP key as sops names it: the hex fingerprint (or a 16-digit key ID), spaces removed,
/// possibly ending in `!` (gpg's "this exact subkey"). Kept as written; two are the same
/// key when they are in [`PgpKey::canonical`] form, or one is the other's 16-digit key ID
/// (`--pgp 52c9…` in the config and sops's `fp: 52C9…` in a file are one reader, not a
/// drift to `updatekeys`).
#[derive(Clone, Debug)]
pub struct PgpKey {
    pub fingerprint: String,
}

impl PgpKey {
    /// Upper-case hex, without `0x` or the `!` suffix.
    fn canonical(&self) -> String {
        let hex = self
            .fingerprint
            .strip_suffix('!')
            .unwrap_or(&self.fingerprint);
        let hex = hex.strip_prefix("0x").unwrap_or(hex);
        hex.to_ascii_uppercase()
    }
}

impl PartialEq for PgpKey {
    fn eq(&self, other: &PgpKey) -> bool {
        let (a, b) = (self.canonical(), other.canonical());
        a == b || (a.len() == 16 && b.ends_with(&a)) || (b.len() == 16 && a.ends_with(&b))
    }
}

impl Eq for PgpKey {}

impl std::hash::Hash for PgpKey {
    /// The key ID (the last 16 digits): equal keys hash alike, a key ID and its
    /// fingerprint included.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        last_16(&self.canonical()).hash(state);
    }
}

/// A `--pgp` value that is not a fingerprint.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a PGP fingerprint (40 or 64 hex digits, or a 16-digit key ID)")]
pub struct BadFingerprint(pub String);

impl PgpKey {
    pub fn parse(text: &str) -> Result<PgpKey, BadFingerprint> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let hex = compact.strip_suffix('!').unwrap_or(&compact);
        let hex = hex.strip_prefix("0x").unwrap_or(hex);
        if matches!(hex.len(), 16 | 40 | 64) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(PgpKey {
                fingerprint: compact,
            })
        } else {
            Err(BadFingerprint(text.to_string()))
        }
    }

    /// The last 16 digits: the key ID sops hands to `--trusted-key` (and `status` shows).
    pub fn key_id(&self) -> &str {
        last_16(self.fingerprint.trim_end_matches('!'))
    }
}

/// The last 16 characters of a fingerprint: its key ID. (By characters: a file's `fp:` is
/// not checked to be hex.)
fn last_16(fp: &str) -> &str {
    let from = fp.char_indices().rev().nth(15).map_or(0, |(i, _)| i);
    &fp[from..]
}

impl std::fmt::Display for PgpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.fingerprint)
    }
}

/// The user's gpg.
#[derive(Clone, Debug)]
pub struct Gpg {
    pub program: OsString,
    /// `--homedir` (from `$GNUPGHOME`, as sops passes it); `None`: gpg's default.
    pub home: Option<std::path::PathBuf>,
    /// Per run; an error when `$SECRETS_KEYSERVICE_TIMEOUT` is not a duration (said when
    /// gpg would run, so a file without pgp stanzas does not fail on it).
    pub timeout: Result<Duration, String>,
}

impl Default for Gpg {
    fn default() -> Self {
        Gpg {
            program: "gpg".into(),
            home: None,
            timeout: Ok(DEFAULT_GPG_TIMEOUT),
        }
    }
}

impl Gpg {
    /// From `$SOPS_GPG_EXEC`; `timeout` is `$SECRETS_KEYSERVICE_TIMEOUT` when set.
    pub fn from_env(timeout: Option<Result<Duration, String>>) -> Gpg {
        Gpg {
            program: std::env::var_os(GPG_EXEC_VAR)
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "gpg".into()),
            home: std::env::var_os("GNUPGHOME")
                .filter(|h| !h.is_empty())
                .map(Into::into),
            timeout: timeout.unwrap_or(Ok(DEFAULT_GPG_TIMEOUT)),
        }
    }

    /// Runs gpg with `args`, `input` on its standard input: its standard output, or its
    /// first line of complaint.
    fn run(&self, args: &[&str], input: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
        let timeout = self.timeout.clone()?;
        let shown = self.program.to_string_lossy().into_owned();
        let mut command = Command::new(&self.program);
        if let Some(home) = &self.home {
            command.arg("--homedir").arg(home);
        }
        let mut child = command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {shown:?} (set {GPG_EXEC_VAR} to gpg's path): {e}"))?;
        let (out, err, status) = std::thread::scope(|s| {
            let mut stdin = child.stdin.take().expect("piped");
            let mut stdout = child.stdout.take().expect("piped");
            let mut stderr = child.stderr.take().expect("piped");
            // gpg may answer before reading all of its input (a bad key): a failed
            // write is then not the error to report, its exit status is.
            s.spawn(move || stdin.write_all(input));
            let out = s.spawn(move || {
                let mut buf = Zeroizing::new(Vec::new());
                stdout.read_to_end(&mut buf).map(|_| buf)
            });
            let err = s.spawn(move || {
                let mut buf = Vec::new();
                stderr.read_to_end(&mut buf).map(|_| buf)
            });
            let status = wait_within(&mut child, timeout);
            (out.join(), err.join(), status)
        });
        let status = status.map_err(|e| format!("{shown}: {e}"))?;
        let out = out
            .ok()
            .and_then(Result::ok)
            .ok_or_else(|| format!("{shown}: its output could not be read"))?;
        if status.success() {
            return Ok(out);
        }
        let err = err.ok().and_then(Result::ok).unwrap_or_default();
        let first = String::from_utf8_lossy(&err)
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| format!("{shown} exited with {status}"));
        Err(first)
    }
}

/// Waits for `child`, killing it once `timeout` has passed.
fn wait_within(child: &mut Child, timeout: Duration) -> Result<std::process::ExitStatus, String> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "no answer within {:.1} s (SECRETS_KEYSERVICE_TIMEOUT)",
                    timeout.as_secs_f64()
                ));
            }
            Ok(None) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

impl KeyService for Gpg {
    type Key = PgpKey;
    type Stanza = PgpStanza;
    const KIND: &'static str = "pgp";

    fn key_of(stanza: &PgpStanza) -> PgpKey {
        PgpKey {
            fingerprint: stanza.fp.clone(),
        }
    }

    /// As sops: `--encrypt -a -r FP --trusted-key ID --no-encrypt-to`, so a key the keyring
    /// has not certified is still used (the fingerprint was named on purpose) and no
    /// default recipient from gpg.conf gets a copy.
    fn wrap(&self, key: &PgpKey, secret: &[u8]) -> Result<PgpStanza, ServiceError> {
        let args = [
            "--batch",
            "--no-tty",
            "--quiet",
            "--no-default-recipient",
            "--yes",
            "--encrypt",
            "-a",
            "-r",
            &key.fingerprint,
            "--trusted-key",
            key.key_id(),
            "--no-encrypt-to",
        ];
        let armored = self
            .run(&args, secret)
            .map_err(|what| service_error(key, what))?;
        let enc = String::from_utf8(armored.to_vec())
            .map_err(|_| service_error(key, "gpg's output is not text".into()))?;
        Ok(PgpStanza {
            created_at: crate::crypto::mac::now_rfc3339(),
            enc: enc.trim().to_string(),
            fp: key.fingerprint.clone(),
        })
    }

    /// `--decrypt` without `--batch`, so gpg-agent may ask for a passphrase.
    fn unwrap(&self, stanza: &PgpStanza) -> Result<Zeroizing<Vec<u8>>, ServiceError> {
        let key = Self::key_of(stanza);
        let bytes = self
            .run(&["--no-tty", "--quiet", "--decrypt"], stanza.enc.as_bytes())
            .map_err(|what| service_error(&key, what))?;
        // An old gpg drops packets it cannot read and says nothing (sops #896).
        if bytes.is_empty() {
            return Err(service_error(
                &key,
                "gpg gave back nothing (an older gpg than the one that encrypted?)".into(),
            ));
        }
        Ok(bytes)
    }
}

fn service_error(key: &PgpKey, what: String) -> ServiceError {
    ServiceError {
        service: format!("pgp {key}"),
        what,
    }
}

#[cfg(test)]
mod tests {
    /// The same key written two ways is one reader (a lower-case `--pgp` against sops's
    /// upper-case `fp:` was reported as drift, and `updatekeys` refused it as a removal).
    #[test]
    fn one_key_written_two_ways_is_the_same_key() {
        let upper = PgpKey::parse("52C9D4E0E92B3137AC81062249C5E5340C280718").unwrap();
        for same in [
            "52c9d4e0e92b3137ac81062249c5e5340c280718",
            "0x52C9D4E0E92B3137AC81062249C5E5340C280718",
            "52C9 D4E0 E92B 3137 AC81  0622 49C5 E534 0C28 0718",
            "49C5E5340C280718",
            "52C9D4E0E92B3137AC81062249C5E5340C280718!",
        ] {
            let k = PgpKey::parse(same).unwrap();
            assert_eq!(k, upper, "{same}");
            let set: std::collections::HashSet<PgpKey> = [upper.clone()].into_iter().collect();
            assert!(set.contains(&k), "{same}");
        }
        assert_ne!(PgpKey::parse("49C5E5340C280719").unwrap(), upper);
        // Written as given.
        assert_eq!(
            PgpKey::parse("0x52c9d4e0e92b3137ac81062249c5e5340c280718")
                .unwrap()
                .fingerprint,
            "0x52c9d4e0e92b3137ac81062249c5e5340c280718"
        );
    }

    use super::*;

    #[test]
    fn fingerprints_as_sops_takes_them() {
        let fp = "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4";
        assert_eq!(PgpKey::parse(fp).unwrap().key_id(), "3D16CEE4A27381B4");
        let spaced = "FBC7 B9E2 A4F9 289A C0C1  D484 3D16 CEE4 A273 81B4";
        assert_eq!(PgpKey::parse(spaced).unwrap().fingerprint, fp);
        assert_eq!(
            PgpKey::parse(&format!("{fp}!")).unwrap().key_id(),
            "3D16CEE4A27381B4"
        );
        assert!(PgpKey::parse("3D16CEE4A27381B4").is_ok());
        for bad in ["", "alice@example.com", "FBC7B9E2", &format!("{fp}00")] {
            assert!(PgpKey::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_missing_or_hanging_gpg_fails_with_its_name_within_the_timeout() {
        let missing = Gpg {
            program: "/nonexistent/gpg".into(),
            ..Gpg::default()
        };
        let key = PgpKey::parse("FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4").unwrap();
        let err = missing
            .wrap(&key, crate::crypto::DataKey::generate().bytes())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/nonexistent/gpg") && err.contains(GPG_EXEC_VAR),
            "{err}"
        );

        let dir = tempfile::tempdir().unwrap();
        let hang = dir.path().join("gpg");
        let pid_file = dir.path().join("pid");
        std::fs::write(
            &hang,
            format!(
                "#!/bin/sh\necho $$ > '{}'\nexec sleep 30\n",
                pid_file.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hang, std::fs::Permissions::from_mode(0o700)).unwrap();
        let slow = Gpg {
            program: hang.into(),
            home: None,
            timeout: Ok(Duration::from_millis(300)),
        };
        let err = slow
            .wrap(&key, crate::crypto::DataKey::generate().bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("no answer within 0.3 s"), "{err}");
        // Killed and reaped, not left running (its pid no longer exists).
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        assert!(
            !std::path::Path::new(&format!("/proc/{}", pid.trim())).exists(),
            "the hung gpg was not killed"
        );
    }
}
