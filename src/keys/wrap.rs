//! Wrapping the data key: one armored age file per recipient (sops's age master keys).

use std::io::{Read, Write};

use super::recipient::same_key;
use super::{Identities, Recipient};
use crate::crypto::DataKey;
use crate::metadata::AgeStanza;

#[derive(Debug, thiserror::Error)]
pub enum WrapError {
    /// `recipients` as written in the file; a front-end that knows the team may replace
    /// each with a label (`alice (age1abc…wxyz)`, see `workspace::name_recipients`).
    #[error("{}", no_match(recipients, tried, services))]
    NoMatchingIdentity {
        recipients: Vec<String>,
        tried: String,
        /// Each key-service stanza's failure (`hc_vault URL: why`), in file order.
        services: Vec<String>,
    },
    #[error("no age recipients in the file")]
    NoRecipients,
    #[error("wrapping the data key failed: {0}")]
    Encrypt(String),
    /// Fewer key groups opened than the file's Shamir threshold needs.
    #[error("{}", key_groups(*groups, *need, *opened, failures))]
    KeyGroups {
        groups: usize,
        need: usize,
        opened: usize,
        /// Each group that did not open (numbered from 1) and why.
        failures: Vec<(usize, WrapError)>,
    },
    /// A key group left with no key: its share would open for nobody.
    #[error("key group {0} has no key left (nobody could open its share): give it a key or remove the group and lower shamir_threshold")]
    EmptyGroup(usize),
    /// The shares did not combine (a damaged file).
    #[error("the key groups' shares do not give the data key back: {0}")]
    Shamir(String),
    /// A key service could not wrap it (the service and key named, never a credential).
    #[error("wrapping the data key failed: {0}")]
    Service(String),
}

fn key_groups(
    groups: usize,
    need: usize,
    opened: usize,
    failures: &[(usize, WrapError)],
) -> String {
    let mut s = format!(
        "the data key is split across {groups} key groups (Shamir) and {need} are needed; {opened} opened"
    );
    for (group, why) in failures {
        s.push_str(&format!("; key group {group}: {why}"));
    }
    s
}

fn no_match(recipients: &[String], tried: &str, services: &[String]) -> String {
    let mut s = if recipients.is_empty() {
        "no age recipient in the file".to_string()
    } else {
        format!(
            "none of your identities can decrypt the data key (file recipients: {}); tried: {tried}",
            recipients.join(", ")
        )
    };
    for f in services {
        s.push_str("; ");
        s.push_str(f);
    }
    s
}

/// Wraps `secret` (a data key, or a key group's Shamir share) for one recipient as an
/// armored age file.
pub fn wrap_secret(secret: &[u8], recipient: &Recipient) -> Result<AgeStanza, WrapError> {
    let enc = age::Encryptor::with_recipients(std::iter::once(recipient.as_age()))
        .map_err(|e| WrapError::Encrypt(e.to_string()))?;
    let mut out = Vec::new();
    let armor = age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor)
        .map_err(|e| WrapError::Encrypt(e.to_string()))?;
    let mut w = enc
        .wrap_output(armor)
        .map_err(|e| WrapError::Encrypt(e.to_string()))?;
    w.write_all(secret)
        .map_err(|e| WrapError::Encrypt(e.to_string()))?;
    w.finish()
        .and_then(|armor| armor.finish())
        .map_err(|e| WrapError::Encrypt(e.to_string()))?;
    let mut enc = String::from_utf8(out).map_err(|e| WrapError::Encrypt(e.to_string()))?;
    if !enc.ends_with('\n') {
        enc.push('\n');
    }
    Ok(AgeStanza {
        recipient: recipient.to_string(),
        enc,
    })
}

/// Wraps `secret` (the data key, or a key group's share) for every recipient once,
/// reusing the existing stanza of a recipient that keeps access so an unchanged recipient
/// set rewrites nothing. A kept stanza keeps its recipient text too: the same key with
/// another comment is the same recipient.
pub fn wrap_all(
    secret: &[u8],
    recipients: &[Recipient],
    keep: &[AgeStanza],
) -> Result<Vec<AgeStanza>, WrapError> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for r in recipients {
        if !seen.insert(r.to_key_string()) {
            continue;
        }
        let name = r.to_string();
        match keep.iter().find(|s| same_key(&s.recipient, &name)) {
            Some(stanza) => out.push(stanza.clone()),
            None => out.push(wrap_secret(secret, r)?),
        }
    }
    Ok(out)
}

/// Unwraps the data key with the first identity that opens any stanza. Stanzas whose
/// recipient matches one of our public keys are tried first.
pub fn unwrap(stanzas: &[AgeStanza], ids: &Identities) -> Result<DataKey, WrapError> {
    let secret = unwrap_secret(stanzas, ids, 32)?;
    Ok(DataKey::from_slice(&secret).expect("32 bytes"))
}

/// The `len`-byte secret (the data key, or a key group's Shamir share) the first stanza an
/// identity opens holds; a stanza holding another length is passed over.
pub fn unwrap_secret(
    stanzas: &[AgeStanza],
    ids: &Identities,
    len: usize,
) -> Result<zeroize::Zeroizing<Vec<u8>>, WrapError> {
    if stanzas.is_empty() {
        return Err(WrapError::NoRecipients);
    }
    // With one stanza there is nothing to order (and deriving our public keys costs a
    // scalar multiplication per identity).
    let ours = if stanzas.len() > 1 {
        ids.public_keys()
    } else {
        Vec::new()
    };
    // Ours first, in the order of `ours` (a key that asks for a passphrase last), then
    // the rest in file order.
    let rank = |s: &&AgeStanza| {
        ours.iter()
            .position(|k| same_key(k, &s.recipient))
            .unwrap_or(usize::MAX)
    };
    let mut order: Vec<&AgeStanza> = stanzas.iter().collect();
    order.sort_by_key(rank);
    for stanza in order {
        if let Some(secret) = try_unwrap(stanza, ids, len) {
            return Ok(secret);
        }
    }
    Err(WrapError::NoMatchingIdentity {
        recipients: stanzas.iter().map(|s| s.recipient.clone()).collect(),
        tried: ids.describe(),
        services: Vec::new(),
    })
}

fn try_unwrap(
    stanza: &AgeStanza,
    ids: &Identities,
    len: usize,
) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    let reader = age::armor::ArmoredReader::new(stanza.enc.as_bytes());
    // `new_buffered` parses the header once per line; `new` re-parses it from the start
    // after every byte it reads (about 0.7 M instructions for one stanza, a fifth of exec).
    let dec = age::Decryptor::new_buffered(reader).ok()?;
    let r = dec.decrypt(ids.iter()).ok()?;
    let mut buf = zeroize::Zeroizing::new(Vec::with_capacity(len + 1));
    // One byte more than wanted tells a longer payload apart without reading all of it.
    r.take(len as u64 + 1).read_to_end(&mut buf).ok()?;
    (buf.len() == len).then_some(buf)
}
