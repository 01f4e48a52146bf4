//! Public keys a data key can be wrapped for: age X25519 (`age1…`), `ssh-ed25519` and
//! `ssh-rsa`.
//!
//! An ssh key keeps the text it was given as, comment included (`ssh-ed25519 AAAA… alice`):
//! that is what files store, as sops stores it, so that `sops updatekeys` and ours agree
//! on the file. Whether two recipients are the same compares the keys only
//! ([`Recipient::to_key_string`], [`same_key`]): a comment never makes a recipient new.

use std::fmt;
use std::str::FromStr;

#[derive(Clone)]
pub enum Recipient {
    X25519(age::x25519::Recipient),
    /// The key, and its text as given (trimmed; the comment kept).
    Ssh(age::ssh::Recipient, String),
}

/// Text that is not a public key. A private key is never quoted, not even in part.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BadRecipient {
    /// Quotes at most the first 24 characters of what was given.
    #[error("{0:?} is not an age (age1…) or ssh-ed25519/ssh-rsa public key")]
    NotAKey(String),
    #[error("this is a private key; give the public key (age1…, or an ssh-ed25519/ssh-rsa line such as a .pub file's)")]
    PrivateKey,
}

/// Whether text is (or holds) private key material: an age identity (`AGE-SECRET-KEY-1…`,
/// any case), an age plugin identity, or a PEM/OpenSSH private key block, anywhere in it (a
/// pasted key with a stray quote before it was quoted back, 7 secret characters with it).
pub fn is_private_key(text: &str) -> bool {
    let upper = zeroize::Zeroizing::new(text.to_ascii_uppercase());
    upper.contains("AGE-SECRET-KEY-")
        || upper.contains("AGE-PLUGIN-")
        || text.contains("PRIVATE KEY-----")
}

impl Recipient {
    pub fn as_age(&self) -> &dyn age::Recipient {
        match self {
            Recipient::X25519(r) => r,
            Recipient::Ssh(r, _) => r,
        }
    }

    /// The key alone, to compare recipients (for ssh: type and base64, no comment).
    pub fn to_key_string(&self) -> String {
        match self {
            Recipient::X25519(r) => r.to_string(),
            Recipient::Ssh(r, _) => r.to_string(),
        }
    }
}

/// The key part of a recipient as written in a file or config: for ssh, the type and
/// base64 fields without the comment.
pub fn key_part(s: &str) -> std::borrow::Cow<'_, str> {
    let t = s.trim();
    if t.starts_with("ssh-") {
        let mut parts = t.split_whitespace();
        if let (Some(kind), Some(b64)) = (parts.next(), parts.next()) {
            return format!("{kind} {b64}").into();
        }
    }
    t.into()
}

/// Whether two recipients as written (in files, configs) are the same key, whatever
/// their comments.
pub fn same_key(a: &str, b: &str) -> bool {
    a == b || key_part(a) == key_part(b)
}

impl FromStr for Recipient {
    type Err = BadRecipient;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if is_private_key(s) {
            return Err(BadRecipient::PrivateKey);
        }
        let t = s.trim();
        if t.starts_with("age1") {
            return age::x25519::Recipient::from_str(t)
                .map(Recipient::X25519)
                .map_err(|_| BadRecipient::NotAKey(short(t)));
        }
        if t.starts_with("ssh-") {
            // age parses "type base64"; the text, comment included, is what sops stores.
            let mut parts = t.split_whitespace();
            let key = match (parts.next(), parts.next()) {
                (Some(kind), Some(b64)) => format!("{kind} {b64}"),
                _ => return Err(BadRecipient::NotAKey(short(t))),
            };
            return age::ssh::Recipient::from_str(&key)
                .map(|r| Recipient::Ssh(r, t.to_string()))
                .map_err(|_| BadRecipient::NotAKey(short(t)));
        }
        Err(BadRecipient::NotAKey(short(t)))
    }
}

/// Errors quote at most the start of what was given: enough to recognise it.
fn short(s: &str) -> String {
    let mut out: String = s.chars().take(24).collect();
    if s.chars().count() > 24 {
        out.push('…');
    }
    out
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipient::X25519(r) => write!(f, "{r}"),
            Recipient::Ssh(_, text) => f.write_str(text),
        }
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({self})")
    }
}

/// The same key, whatever the comments.
impl PartialEq for Recipient {
    fn eq(&self, other: &Self) -> bool {
        self.to_key_string() == other.to_key_string()
    }
}

/// Parses a comma-separated list such as `--age age1…,age1…`.
pub fn parse_list(list: &str) -> Result<Vec<Recipient>, BadRecipient> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(Recipient::from_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let id = age::x25519::Identity::generate();
        let pk = id.to_public().to_string();
        assert_eq!(Recipient::from_str(&pk).unwrap().to_string(), pk);
        assert!(Recipient::from_str("age1notakey").is_err());
        assert!(Recipient::from_str("hello").is_err());
        let err = Recipient::from_str("age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq").unwrap_err();
        assert!(err.to_string().len() < 120);
        // A private key is refused without quoting any of it.
        let secret = age::x25519::Identity::generate();
        let secret = secrecy::ExposeSecret::expose_secret(&secret.to_string()).to_string();
        for given in [
            secret.clone(),
            secret.to_lowercase(),
            format!("  {secret}\n"),
        ] {
            let err = Recipient::from_str(&given).unwrap_err();
            assert_eq!(err, BadRecipient::PrivateKey);
            assert!(!err.to_string().contains(&secret[16..22]));
        }
        let pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
        assert_eq!(Recipient::from_str(pem), Err(BadRecipient::PrivateKey));
    }

    #[test]
    fn ssh_keys_keep_their_comment_and_compare_without_it() {
        let key =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN";
        let with = Recipient::from_str(&format!("  {key}  alice@laptop \n")).unwrap();
        let without = Recipient::from_str(key).unwrap();
        assert_eq!(with.to_string(), format!("{key}  alice@laptop"));
        assert_eq!(without.to_string(), key);
        assert_eq!(with.to_key_string(), key);
        assert!(with == without);
        assert!(same_key(&with.to_string(), key));
        assert!(same_key(&format!("{key} a"), &format!("{key} b")));
        assert!(!same_key(key, "ssh-ed25519 AAAAother"));
        let age = age::x25519::Identity::generate().to_public().to_string();
        assert!(same_key(&age, &format!(" {age}")) && !same_key(&age, key));
    }
}
