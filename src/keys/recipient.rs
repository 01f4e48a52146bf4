//! Public keys a data key can be wrapped for: age X25519 (`age1…`), `ssh-ed25519` and
//! `ssh-rsa`.

use std::fmt;
use std::str::FromStr;

#[derive(Clone)]
pub enum Recipient {
    X25519(age::x25519::Recipient),
    Ssh(age::ssh::Recipient),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not an age (age1…) or ssh-ed25519/ssh-rsa public key")]
pub struct BadRecipient(pub String);

impl Recipient {
    pub fn as_age(&self) -> &dyn age::Recipient {
        match self {
            Recipient::X25519(r) => r,
            Recipient::Ssh(r) => r,
        }
    }

    /// The key as written in files and configs (for ssh: type and base64, no comment).
    pub fn to_key_string(&self) -> String {
        self.to_string()
    }
}

impl FromStr for Recipient {
    type Err = BadRecipient;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.starts_with("age1") {
            return age::x25519::Recipient::from_str(t)
                .map(Recipient::X25519)
                .map_err(|_| BadRecipient(short(t)));
        }
        if t.starts_with("ssh-") {
            // Drop the comment: the recipient string sops stores is "type base64".
            let mut parts = t.split_whitespace();
            let key = match (parts.next(), parts.next()) {
                (Some(kind), Some(b64)) => format!("{kind} {b64}"),
                _ => return Err(BadRecipient(short(t))),
            };
            return age::ssh::Recipient::from_str(&key)
                .map(Recipient::Ssh)
                .map_err(|_| BadRecipient(short(t)));
        }
        Err(BadRecipient(short(t)))
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
            Recipient::Ssh(r) => write!(f, "{r}"),
        }
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({self})")
    }
}

impl PartialEq for Recipient {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
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
    }
}
