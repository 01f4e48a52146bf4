//! What `git diff` and `git log -p` show of an encrypted file (`secrets git textconv`, git's
//! `diff.secrets.textconv`): the decrypted document under one summary line of its
//! metadata, so a key holder reviews values instead of `ENC[…]` lines.
//!
//! Never an error: git stops the whole diff when a textconv fails, so a file this user
//! cannot decrypt (or that is not encrypted, or is damaged) is shown as it is, under a
//! one-line `# secrets:` note saying why.
//!
//! The summary line replaces the `sops` block, whose `lastmodified` and `mac` change on
//! every edit: `# sops: data key 1a2b3c4d, 2 recipients: alice, bob`. The data key is
//! named by the first 4 bytes of SHA-256 over a fixed label and the key: it changes
//! exactly when the key does (a rotation shows in the diff), and it can be computed only
//! by someone who holds the key. 32 bits of a one-way function of a random 256-bit key
//! narrow no search for it; the key itself, and the MAC, are never printed.
//!
//! One data-key unwrap per file, and no other work: `git log -p` runs this per blob.

use std::path::Path;

use sha2::Digest;
use zeroize::Zeroizing;

use crate::config::Config;
use crate::crypto::{CryptoError, DataKey};
use crate::engine::{self, EncryptedFile, FileError};
use crate::keys::Identities;
use crate::model::SecretBuf;
use crate::store::Format;

/// The label hashed with the data key for its short name.
const KEY_ID_LABEL: &[u8] = b"secrets textconv: data key id v1\0";

/// A short name of a data key, for telling two keys apart in a diff.
pub fn key_id(key: &DataKey) -> String {
    let mut h = sha2::Sha256::new();
    h.update(KEY_ID_LABEL);
    h.update(key.bytes());
    h.finalize()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The text git diffs for the file `path` (a temporary copy git made, named
/// `XXXXXX_<name>`, or the work-tree file): decrypted when `ids` opens it, else the bytes
/// as they are under a note. `format` overrides the one the name gives.
pub fn textconv(
    path: &Path,
    bytes: &[u8],
    format: Option<Format>,
    ids: Result<&Identities, String>,
    config: Option<&Config>,
) -> Zeroizing<Vec<u8>> {
    let format = format.unwrap_or_else(|| format_of(path, bytes));
    match decrypted(path, bytes, format, ids, config) {
        Ok(text) => text,
        Err(why) => {
            let mut out = SecretBuf::with_capacity(bytes.len() + why.len() + 16);
            out.extend_from_slice(b"# secrets: ");
            out.extend_from_slice(why.as_bytes());
            out.extend_from_slice(b"\n");
            out.extend_from_slice(bytes);
            out.into_zeroizing()
        }
    }
}

/// The format of the file git names: git's copy of a blob is `XXXXXX_<name>` (six
/// letters or digits), which hides `.env.prod`'s leading dot; the name without that
/// prefix decides when the whole name says nothing (binary), and the content when neither
/// does (`app.conf` holding a dotenv file, [`Format::of_encrypted`]).
fn format_of(path: &Path, bytes: &[u8]) -> Format {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let b = name.as_bytes();
    let git_copy = b.len() > 7 && b[6] == b'_' && b[..6].iter().all(u8::is_ascii_alphanumeric);
    let named = if Format::from_path(path) == Format::Binary && git_copy {
        Path::new(&name[7..])
    } else {
        path
    };
    Format::of_encrypted(named, bytes)
}

fn decrypted(
    path: &Path,
    bytes: &[u8],
    format: Format,
    ids: Result<&Identities, String>,
    config: Option<&Config>,
) -> Result<Zeroizing<Vec<u8>>, String> {
    let file = EncryptedFile::parse(path, format, bytes).map_err(|e| reason(&e, format))?;
    let ids = ids.map_err(|e| format!("shown encrypted: {e}"))?;
    let key = file.data_key(ids).map_err(|e| reason(&e, format))?;
    let opened = file.read(&key).map_err(|e| reason(&e, format))?;
    let plain = engine::emit_plain(path, format, &opened.branches, file.layout)
        .map_err(|e| reason(&e, format))?;
    let summary = summary(&file, &key, config);
    let mut out = SecretBuf::with_capacity(summary.len() + plain.len() + 1);
    out.extend_from_slice(summary.as_bytes());
    out.extend_from_slice(&plain);
    Ok(out.into_zeroizing())
}

/// `# sops: data key 1a2b3c4d, 2 recipients: alice, bob` (members named by the config).
fn summary(file: &EncryptedFile, key: &DataKey, config: Option<&Config>) -> String {
    let names: Vec<String> = file
        .recipients()
        .iter()
        .map(|r| match config {
            Some(c) => c.describe_key(r),
            None => crate::config::abbreviate(r),
        })
        .collect();
    let n = names.len();
    format!(
        "# sops: data key {}, {n} recipient{}: {}\n",
        key_id(key),
        if n == 1 { "" } else { "s" },
        names.join(", ")
    )
}

/// Why a file is shown as it is, in a few words (no path: git's temp name means nothing).
fn reason(e: &FileError, format: Format) -> String {
    match e {
        FileError::NotEncrypted { .. } => "not encrypted".into(),
        FileError::Key { .. } => {
            "shown encrypted: none of your identities opens its data key".into()
        }
        FileError::Crypto {
            error: CryptoError::MacMismatch | CryptoError::MacUndecryptable(_),
            ..
        } => "shown encrypted: MAC mismatch (the file was altered)".into(),
        FileError::Crypto { .. } => "shown encrypted: a value does not decrypt".into(),
        FileError::Parse { .. } | FileError::Metadata { .. } => {
            format!(
                "shown as it is: not a valid encrypted {} file",
                format.name()
            )
        }
        _ => "shown encrypted: it cannot be decrypted".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_is_short_stable_and_not_the_key() {
        let k = DataKey::generate();
        let id = key_id(&k);
        assert_eq!(id.len(), 8);
        assert_eq!(id, key_id(&k));
        assert_ne!(id, key_id(&DataKey::generate()));
        let hex: String = k.bytes()[..4].iter().map(|b| format!("{b:02x}")).collect();
        assert_ne!(id, hex);
    }

    #[test]
    fn git_s_temporary_copies_keep_their_format() {
        assert_eq!(
            format_of(Path::new("/tmp/aB3xY9_.env.prod"), b""),
            Format::Dotenv
        );
        assert_eq!(
            format_of(Path::new("/tmp/aB3xY9_app.yaml"), b""),
            Format::Yaml
        );
        assert_eq!(
            format_of(Path::new("config/.env.prod"), b""),
            Format::Dotenv
        );
        assert_eq!(
            format_of(Path::new("/tmp/aB3xY9_blob.bin"), b""),
            Format::Binary
        );
    }

    #[test]
    fn what_cannot_be_decrypted_is_shown_as_it_is_with_a_note() {
        let out = textconv(
            Path::new("/tmp/abc_app.yaml"),
            b"a: 1\n",
            None,
            Err("no identity".into()),
            None,
        );
        assert_eq!(&out[..], b"# secrets: not encrypted\na: 1\n");
    }
}
