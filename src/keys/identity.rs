//! Finding the identities to decrypt with, in this order (all that exist are used):
//! `--identity FILE`…, `$SECRETS_AGE_KEY_FILE`, `$SOPS_AGE_KEY_FILE`, `$SOPS_AGE_KEY`
//! (inline), `$XDG_CONFIG_HOME/secrets/keys.txt` and `~/.config/secrets/keys.txt`, the
//! sops default key file (`$XDG_CONFIG_HOME/sops/age/keys.txt`), then `~/.ssh/id_ed25519` and `~/.ssh/id_rsa`.
//!
//! Like ssh, a key file that other users can read is refused when it was named (`-I`, the
//! `*_KEY_FILE` variables), and skipped with a warning when it was only found at a default
//! path, so one careless default file does not block the identity the user asked for.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

pub struct Identities {
    entries: Vec<Entry>,
    /// The key files read (resolved paths), each once.
    files: Vec<PathBuf>,
    /// Non-fatal notes, e.g. an ssh key of a type age does not support, skipped.
    pub warnings: Vec<String>,
    /// The key services a file's other stanzas are unwrapped through (a Vault token…):
    /// what we decrypt with besides age identities. None configured unless discovered.
    pub services: super::service::Services,
}

struct Entry {
    source: String,
    identity: Held,
    /// The public key, when known: an ssh key's from its `.pub` file at load; an age
    /// key's derived on first use (a scalar multiplication, wasted on a file with one
    /// recipient, and `exec` runs it on every start).
    public: std::sync::OnceLock<Option<String>>,
}

enum Held {
    X25519(age::x25519::Identity),
    /// Asks for its passphrase when a file needs it ([`super::locked_ssh`]).
    LockedSsh(Box<super::locked_ssh::LockedSshKey>),
    Other(Box<dyn age::Identity + Send + Sync>),
}

impl Entry {
    fn identity(&self) -> &dyn age::Identity {
        match &self.identity {
            Held::X25519(id) => id,
            Held::LockedSsh(id) => id.as_ref(),
            Held::Other(id) => id.as_ref(),
        }
    }

    fn is_locked(&self) -> bool {
        matches!(self.identity, Held::LockedSsh(_))
    }

    /// The source as error messages name it: a locked key that could not be used says why.
    fn described(&self) -> String {
        match &self.identity {
            Held::LockedSsh(k) => match k.failure() {
                Some(why) => format!("{} ({why})", self.source),
                None => self.source.clone(),
            },
            _ => self.source.clone(),
        }
    }

    fn public(&self) -> Option<&String> {
        self.public
            .get_or_init(|| match &self.identity {
                Held::X25519(id) => Some(id.to_public().to_string()),
                Held::LockedSsh(k) => k.public.clone(),
                Held::Other(_) => None,
            })
            .as_ref()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(
        "identity file {path} is readable by other users (mode {mode:04o}); run: chmod 600 {path}"
    )]
    TooOpen { path: String, mode: u32 },
    #[error("identity file {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{0} holds no valid age identity")]
    Invalid(String),
    #[error("{0} holds a public key, not an identity: give the private key's file (age: the one keygen wrote; ssh: the one without .pub)")]
    PublicKey(String),
}

/// Where identities are looked for; tests and embedders can build one explicitly.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// Files that must exist (from `--identity` and the `*_KEY_FILE` variables).
    pub required_files: Vec<PathBuf>,
    /// Files named by `$SECRETS_AGE_KEY_FILE` / `$SOPS_AGE_KEY_FILE` (the variable, the
    /// path): as required as `-I` when they exist (a file others can read is refused), and
    /// skipped with a warning when they do not, as sops skips them: a server that decrypts
    /// through a key service must not fail on a variable its image inherited.
    pub env_files: Vec<(&'static str, PathBuf)>,
    /// Inline identity text (`$SOPS_AGE_KEY`): secret, so held in zeroizing memory that
    /// `Debug` does not show.
    pub inline: Option<SecretString>,
    /// Files used when they exist.
    pub optional_files: Vec<PathBuf>,
}

impl Sources {
    /// The documented discovery order, from the process environment.
    pub fn from_env(explicit: &[PathBuf]) -> Sources {
        let var = |n: &str| std::env::var_os(n).filter(|v| !v.is_empty());
        let mut s = Sources {
            required_files: explicit.to_vec(),
            ..Default::default()
        };
        for name in ["SECRETS_AGE_KEY_FILE", "SOPS_AGE_KEY_FILE"] {
            if let Some(p) = var(name) {
                s.env_files.push((name, PathBuf::from(p)));
            }
        }
        // (The process environment keeps its own copy, which we cannot wipe.)
        s.inline = std::env::var("SOPS_AGE_KEY")
            .ok()
            .map(|v| SecretString::from(zeroize::Zeroizing::new(v).as_str()))
            .filter(|v| !v.expose_secret().trim().is_empty());
        let home = var("HOME").map(PathBuf::from);
        let home_config = home.as_ref().map(|h| h.join(".config"));
        let config = var("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or(home_config.clone());
        // Ours in both places: a key made under ~/.config stays found when
        // $XDG_CONFIG_HOME is set later (or only in some shells).
        for c in config.iter().chain(home_config.iter()) {
            let p = c.join("secrets/keys.txt");
            if !s.optional_files.contains(&p) {
                s.optional_files.push(p);
            }
        }
        if let Some(c) = &config {
            s.optional_files.push(c.join("sops/age/keys.txt"));
        }
        if let Some(h) = &home {
            if cfg!(target_os = "macos") {
                s.optional_files
                    .push(h.join("Library/Application Support/sops/age/keys.txt"));
            }
            if let Some(p) = var("SOPS_AGE_SSH_PRIVATE_KEY_FILE") {
                s.required_files.push(PathBuf::from(p));
            }
            s.optional_files.push(h.join(".ssh/id_ed25519"));
            s.optional_files.push(h.join(".ssh/id_rsa"));
        }
        s
    }
}

impl Identities {
    /// Discovers identities from `--identity` files and the environment.
    /// The key services' settings come from the environment too (nothing is contacted).
    pub fn discover(explicit: &[PathBuf]) -> Result<Identities, IdentityError> {
        let mut ids = Self::load(&Sources::from_env(explicit))?;
        ids.services = super::service::Services::from_env();
        Ok(ids)
    }

    pub fn load(sources: &Sources) -> Result<Identities, IdentityError> {
        let mut ids = Identities {
            entries: Vec::new(),
            files: Vec::new(),
            warnings: Vec::new(),
            services: Default::default(),
        };
        for path in &sources.required_files {
            ids.load_file(path)?;
        }
        for (var, path) in &sources.env_files {
            if std::fs::symlink_metadata(path).is_err() {
                ids.warnings.push(format!(
                    "${var} names {}, which does not exist: skipped",
                    path.display()
                ));
                continue;
            }
            ids.load_file(path)?;
        }
        if let Some(text) = &sources.inline {
            ids.load_age_text(text.expose_secret(), "$SOPS_AGE_KEY")?;
        }
        let mut skipped = None;
        for path in &sources.optional_files {
            if !path.exists() {
                continue;
            }
            match ids.load_file(path) {
                Err(e @ IdentityError::TooOpen { .. }) => {
                    ids.warnings.push(format!("skipped {e}"));
                    skipped.get_or_insert(e);
                }
                other => other?,
            }
        }
        match skipped {
            Some(e) if ids.entries.is_empty() => Err(e),
            _ => Ok(ids),
        }
    }

    /// The same identities, but a passphrase-protected key is never asked for: for the
    /// commands that read without the user asking for a value (`scan` and the pre-commit
    /// hook, `status`, git's textconv), which must not stop at a prompt.
    pub fn without_prompts(self) -> Identities {
        for e in &self.entries {
            if let Held::LockedSsh(k) = &e.identity {
                k.never_ask();
            }
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.entries.iter().map(Entry::identity)
    }

    /// The public keys of the identities we know them for; those that open a file without
    /// asking for a passphrase first, so a file for both is opened without a prompt.
    pub fn public_keys(&self) -> Vec<String> {
        let (ready, locked): (Vec<&Entry>, Vec<&Entry>) =
            self.entries.iter().partition(|e| !e.is_locked());
        ready
            .into_iter()
            .chain(locked)
            .filter_map(|e| e.public().cloned())
            .collect()
    }

    /// Whether `recipient` is the public key of a passphrase-protected key held here: a
    /// file for it opens once its passphrase is typed.
    pub fn holds_locked(&self, recipient: &str) -> bool {
        self.entries.iter().filter(|e| e.is_locked()).any(|e| {
            e.public()
                .is_some_and(|k| super::recipient::same_key(k, recipient))
        })
    }

    /// The public keys of the identities that open a file without asking for anything.
    pub fn ready_public_keys(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter(|e| !e.is_locked())
            .filter_map(|e| e.public().cloned())
            .collect()
    }

    /// "where each identity came from", for error messages.
    pub fn describe(&self) -> String {
        if self.entries.is_empty() {
            return "no identities found (use --identity, $SOPS_AGE_KEY_FILE or ~/.config/secrets/keys.txt)".into();
        }
        let mut sources: Vec<String> = self.entries.iter().map(Entry::described).collect();
        sources.dedup();
        sources.join(", ")
    }

    fn load_file(&mut self, path: &Path) -> Result<(), IdentityError> {
        let shown = path.display().to_string();
        // One file named twice (`-I ~/.ssh/id_ed25519` and the default path) is one
        // identity: a passphrase-protected key would be asked for twice.
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if self.files.contains(&canonical) {
            return Ok(());
        }
        self.files.push(canonical);
        // A public key (`-I key.pub`) is said to be one, before its mode is complained of.
        if holds_public_keys_only(path) {
            return Err(IdentityError::PublicKey(shown));
        }
        crate::fsutil::check_private(path).map_err(|e| match e {
            crate::fsutil::PrivacyError::TooOpen(mode) => IdentityError::TooOpen {
                path: shown.clone(),
                mode,
            },
            crate::fsutil::PrivacyError::Io(reason) => IdentityError::Unreadable {
                path: shown.clone(),
                reason,
            },
        })?;
        let bytes = zeroize::Zeroizing::new(std::fs::read(path).map_err(|e| {
            IdentityError::Unreadable {
                path: shown.clone(),
                reason: e.to_string(),
            }
        })?);
        let text =
            std::str::from_utf8(&bytes).map_err(|_| IdentityError::Invalid(shown.clone()))?;
        if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----")
            || text.contains("-----BEGIN RSA PRIVATE KEY-----")
        {
            self.load_ssh(path, text)
        } else {
            self.load_age_text(text, &shown)
        }
    }

    fn load_age_text(&mut self, text: &str, source: &str) -> Result<(), IdentityError> {
        let before = self.entries.len();
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("AGE-SECRET-KEY-"))
        {
            let id: age::x25519::Identity = line
                .parse()
                .map_err(|_| IdentityError::Invalid(source.to_string()))?;
            self.entries.push(Entry {
                source: source.to_string(),
                identity: Held::X25519(id),
                public: std::sync::OnceLock::new(),
            });
        }
        if self.entries.len() == before {
            return Err(IdentityError::Invalid(source.to_string()));
        }
        Ok(())
    }

    fn load_ssh(&mut self, path: &Path, text: &str) -> Result<(), IdentityError> {
        let shown = path.display().to_string();
        let id =
            age::ssh::Identity::from_buffer(BufReader::new(text.as_bytes()), Some(shown.clone()))
                .map_err(|e| IdentityError::Unreadable {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
        match id {
            age::ssh::Identity::Unencrypted(_) => {
                let public = std::fs::read_to_string(format!("{shown}.pub"))
                    .ok()
                    .and_then(|p| p.parse::<super::Recipient>().ok())
                    .map(|r| r.to_key_string());
                self.entries.push(Entry {
                    source: shown,
                    identity: Held::Other(Box::new(id)),
                    public: std::sync::OnceLock::from(public),
                });
            }
            age::ssh::Identity::Encrypted(enc) => {
                let key = super::locked_ssh::LockedSshKey::new(enc, shown.clone(), text);
                self.entries.push(Entry {
                    source: shown,
                    public: std::sync::OnceLock::from(key.public.clone()),
                    identity: Held::LockedSsh(Box::new(key)),
                });
            }
            age::ssh::Identity::Unsupported(_) => self.warnings.push(format!(
                "skipped ssh key {shown}: key type not supported by age"
            )),
        }
        Ok(())
    }
}

/// Whether `path` is a small text file whose every line (comments and blanks aside) is an
/// age or ssh public key.
fn holds_public_keys_only(path: &Path) -> bool {
    let Ok(Some(bytes)) = crate::fsutil::read_regular_at_most(path, 64 * 1024) else {
        return false;
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return false;
    };
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .peekable();
    lines.peek().is_some()
        && lines.all(|l| {
            l.starts_with("age1") || l.starts_with("ssh-ed25519 ") || l.starts_with("ssh-rsa ")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Sources` is `Debug` and `Clone` (tests and embedders build it): neither may show the
    /// inline identity; loading from it still works.
    #[test]
    fn debug_never_shows_the_inline_identity() {
        let id = age::x25519::Identity::generate();
        let secret = id.to_string().expose_secret().to_string();
        let sources = Sources {
            inline: Some(format!("# a key\n{secret}\n").into()),
            ..Sources::default()
        };
        let shown = format!("{sources:?} {:?}", sources.clone());
        assert!(!shown.contains("AGE-SECRET-KEY"), "{shown}");
        let ids = Identities::load(&sources).unwrap();
        assert_eq!(ids.public_keys(), [id.to_public().to_string()]);
    }
}
