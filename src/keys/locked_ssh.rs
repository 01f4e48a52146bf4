//! An OpenSSH private key under a passphrase, as `ssh-keygen` writes one when asked for a
//! passphrase (most developers' `~/.ssh/id_ed25519`). As sops and ssh do, the passphrase
//! is asked for on the terminal, and only when a file holds a stanza for this very key
//! (its tag, from the key file's public half, matches): a file for another of the user's
//! identities never prompts. Asked once per process, three tries; the unlocked key is
//! kept for the other files of the same command.

use age::secrecy::SecretString;
use base64::Engine;
use sha2::Digest;
use std::sync::OnceLock;

const TRIES: usize = 3;

/// How an error's list of identities tried names a key of this kind that was not unlocked
/// (the front-end's hint looks for it).
pub const LOCKED: &str = "passphrase-protected";

const NO_TERMINAL: &str = "passphrase-protected, and no terminal to ask for it";
const NOT_ASKED: &str = "passphrase-protected, and this command does not ask for it";
const WRONG: &str = "passphrase-protected, and the passphrase typed was wrong";

pub struct LockedSshKey {
    key: age::ssh::EncryptedKey,
    path: String,
    /// The stanza tag of this key (the first 4 bytes of SHA-256 of its public key in wire
    /// form, unpadded base64), when the file's public half could be read.
    tag: Option<String>,
    /// The public key as a recipient string (`ssh-ed25519 AAAA…`), when known.
    pub public: Option<String>,
    unlocked: OnceLock<Result<age::ssh::Identity, &'static str>>,
    /// Off for the commands that read without the user asking for a value (`scan` and the
    /// hook, `status`, git's textconv): they must not stop for a passphrase.
    ask: std::sync::atomic::AtomicBool,
}

impl LockedSshKey {
    /// `key` is the parsed key, `text` the key file's text.
    pub fn new(key: age::ssh::EncryptedKey, path: String, text: &str) -> LockedSshKey {
        let wire = public_wire(text);
        let tag = wire.as_ref().map(|w| {
            let digest = sha2::Sha256::digest(w);
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(&digest[..4])
        });
        let public = wire.as_ref().and_then(|w| {
            let kind = ssh_string(w, 0)?.0;
            let line = format!(
                "{} {}",
                std::str::from_utf8(kind).ok()?,
                base64::engine::general_purpose::STANDARD.encode(w)
            );
            line.parse::<super::Recipient>()
                .ok()
                .map(|r| r.to_key_string())
        });
        LockedSshKey {
            key,
            path,
            tag,
            public,
            unlocked: OnceLock::new(),
            ask: std::sync::atomic::AtomicBool::new(true),
        }
    }

    /// From now on the key is not asked for: files only it opens stay closed.
    pub fn never_ask(&self) {
        self.ask.store(false, std::sync::atomic::Ordering::Relaxed);
    }

    /// Why the key was not used, once it was needed and could not be unlocked.
    pub fn failure(&self) -> Option<&'static str> {
        self.unlocked.get().and_then(|r| r.as_ref().err().copied())
    }

    fn unlock(&self) -> Result<age::ssh::Identity, &'static str> {
        if !self.ask.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(NOT_ASKED);
        }
        let prompt = format!("Enter passphrase for {}: ", self.path);
        for _ in 0..TRIES {
            let typed = crate::terminal::ask_on_tty(&prompt).map_err(|_| NO_TERMINAL)?;
            let Ok(text) = std::str::from_utf8(&typed) else {
                continue;
            };
            if let Ok(key) = self.key.decrypt(SecretString::from(text.to_string())) {
                return Ok(age::ssh::Identity::Unencrypted(key));
            }
            let _ = crate::terminal::say_on_tty("wrong passphrase\n");
        }
        Err(WRONG)
    }
}

impl age::Identity for LockedSshKey {
    fn unwrap_stanza(
        &self,
        stanza: &age_core::format::Stanza,
    ) -> Option<Result<age_core::format::FileKey, age::DecryptError>> {
        if stanza.tag != "ssh-ed25519" && stanza.tag != "ssh-rsa" {
            return None;
        }
        if let Some(tag) = &self.tag {
            if stanza.args.first() != Some(tag) {
                return None;
            }
        }
        match self.unlocked.get_or_init(|| self.unlock()) {
            Ok(key) => key.unwrap_stanza(stanza),
            Err(_) => None,
        }
    }
}

/// The public key, in SSH wire form, from an `openssh-key-v1` private key file's
/// unencrypted header (magic, cipher, KDF, KDF options, key count, first public key).
fn public_wire(text: &str) -> Option<Vec<u8>> {
    let body: String = text
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .map(str::trim)
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    let rest = bytes.strip_prefix(b"openssh-key-v1\0")?;
    let mut at = 0;
    for _ in 0..3 {
        at = ssh_string(rest, at)?.1;
    }
    let count = rest.get(at..at + 4)?;
    if u32::from_be_bytes(count.try_into().ok()?) < 1 {
        return None;
    }
    ssh_string(rest, at + 4).map(|(s, _)| s.to_vec())
}

/// The length-prefixed string at `at` in `bytes` and the offset after it.
fn ssh_string(bytes: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let len = u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize;
    let end = (at + 4).checked_add(len)?;
    Some((bytes.get(at + 4..end)?, end))
}
