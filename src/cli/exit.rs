//! The exit-code table. sops's numbers are kept where sops has one, so scripts written
//! for sops keep working.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | other error; for `scan`: findings; for `git merge-driver`: keys conflict (recorded for `resolve`); for `git setup --check`: something is missing |
//! | 2 | usage error; the input file cannot be read or parsed, or has no values to encrypt; a revision (`--rev`) git does not know, or a file not in it; stdin (`-`) without `--input-type`; for `scan`: error |
//! | 3 | the output file cannot be written |
//! | 5 | the config (.secrets.yaml / .sops.yaml) is invalid, missing where a command needs one, or already there (init) |
//! | 7 | invalid value for `set`; `generate` cannot make a value that meets the schema |
//! | 8 | conflicting options |
//! | 12 | `import`: a key already holds a different value in the destination; nothing was written (`--overwrite` replaces) |
//! | 25 | a value fails to decrypt (tampered, or stored in clear where it must be encrypted) |
//! | 51 | MAC mismatch (the file was altered) |
//! | 52 | the file has no MAC |
//! | 65 | `exec`, `export`: the values break the environment's schema (`.secrets.yaml`); nothing was started or written (`--no-check` goes on with a warning) |
//! | 69 | `import --from-vault`: the Vault/OpenBao server cannot be reached or refuses the request |
//! | 70 | `import`: the written file does not decrypt to the source's values; the source is untouched |
//! | 75 | busy: another command held the file's lock for the whole wait, or the file changed since it was read; nothing was written, retry |
//! | 91 | a key path is invalid or not found, or names a key the file's format cannot hold (a dotenv key with `=`: `set f.env KEY VALUE`, not `KEY=VALUE`) |
//! | 100 | no file given |
//! | 111 | no recipients to encrypt for |
//! | 113 | an identity file is readable by other users, unreadable or invalid |
//! | 128 | none of your identities can decrypt the data key (`git merge-driver`, `resolve`: of one of the three versions) |
//! | 200 | `edit` made no change; `resolve`: the text was saved unchanged |
//! | 201 | no editor found, or the editor failed (exited non-zero, or was killed): nothing was saved |
//! | 203 | the file is already encrypted |
//! | 204 | the file is not encrypted |
//! | 126 | `exec`: the command is not executable, or is a directory |
//! | 127 | `exec`: the command is not found |
//! | 128+N | `exec`: the child was killed by signal N (otherwise the child's own exit code); `edit`: interrupted by signal N |

use crate::config::ConfigError;
use crate::crypto::CryptoError;
use crate::engine::FileError;
use crate::fsutil::lock::LockError;
use crate::keys::identity::IdentityError;
use crate::metadata::MetadataError;
use crate::model::path::PathError;
use crate::workspace::batch::BatchError;

pub const GENERIC: u8 = 1;
pub const INPUT: u8 = 2;
pub const OUTPUT: u8 = 3;
pub const CONFIG: u8 = 5;
pub const INVALID_SET: u8 = 7;
pub const CONFLICT: u8 = 8;
pub const DECRYPT_VALUE: u8 = 25;
pub const MAC_MISMATCH: u8 = 51;
pub const MAC_MISSING: u8 = 52;
/// sysexits's EX_DATAERR: the values are there, and wrong.
pub const SCHEMA: u8 = 65;
/// sysexits's EX_TEMPFAIL: a temporary failure, retrying may succeed.
pub const BUSY: u8 = 75;
pub const BAD_PATH: u8 = 91;
pub const NO_FILE: u8 = 100;
pub const NO_RECIPIENTS: u8 = 111;
pub const IDENTITY: u8 = 113;
pub const NO_DATA_KEY: u8 = 128;
pub const NOT_MODIFIED: u8 = 200;
pub const NO_EDITOR: u8 = 201;
pub const ALREADY_ENCRYPTED: u8 = 203;
pub const NOT_ENCRYPTED: u8 = 204;
/// `import`: a key already holds another value in the destination (`--overwrite`).
pub const IMPORT_CONFLICT: u8 = 12;
/// `import`: the Vault/OpenBao server cannot be reached, or refuses the request.
pub const VAULT: u8 = 69;
/// `import`: what was written does not decrypt to the source's values (sysexits's
/// EX_SOFTWARE); the source is untouched.
pub const VERIFY_FAILED: u8 = 70;

/// An error the CLI raises itself, with its exit code and an optional hint.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
    pub hint: Option<String>,
}

impl CliError {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
            hint: None,
        }
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

fn file_code(e: &FileError) -> u8 {
    match e {
        FileError::Read { .. } | FileError::Parse { .. } => INPUT,
        FileError::Write { .. } | FileError::Emit { .. } => OUTPUT,
        FileError::NotEncrypted { .. } => NOT_ENCRYPTED,
        FileError::AlreadyEncrypted { .. } => ALREADY_ENCRYPTED,
        // The MAC line deleted: the file can no longer prove it is unaltered.
        FileError::Metadata {
            error: MetadataError::Missing("mac"),
            ..
        } => MAC_MISSING,
        FileError::Metadata { .. } => INPUT,
        FileError::Crypto { error, .. } => match error {
            CryptoError::MacMismatch | CryptoError::MacUndecryptable(_) => MAC_MISMATCH,
            CryptoError::MacMissing => MAC_MISSING,
            CryptoError::Value { .. } | CryptoError::NotEncryptedValue { .. } => DECRYPT_VALUE,
            CryptoError::BadRegex(_) => INPUT,
        },
        FileError::Key { .. } => NO_DATA_KEY,
        FileError::NoRecipients { .. } => NO_RECIPIENTS,
        FileError::NoValues { .. } | FileError::RoundedInClear { .. } => INPUT,
        FileError::Lock(e) => lock_code(e),
    }
}

fn import_code(e: &crate::import::ImportError) -> u8 {
    use crate::import::ImportError as E;
    match e {
        E::File(e) => file_code(e),
        E::Conflict { .. } => IMPORT_CONFLICT,
        E::Verify { .. } => VERIFY_FAILED,
        E::Source { .. } => INPUT,
        E::Destination { .. } => CONFIG,
        E::Mismatch { .. } => CONFLICT,
        E::Rules { .. } => CONFLICT,
        E::Vault(_) => VAULT,
    }
}

/// The exit code of one file of a batch: its own error's code; a re-wrap refused because
/// it would drop a recipient is 1.
pub fn batch_code(e: &BatchError) -> u8 {
    match e {
        BatchError::NotAFile { .. } | BatchError::NoEncryptedFile { .. } => INPUT,
        BatchError::Config(ConfigError::Lock(e)) => lock_code(e),
        BatchError::Config(_) => CONFIG,
        BatchError::File(e) => file_code(e),
        BatchError::WouldDrop { .. } => GENERIC,
    }
}

fn lock_code(e: &LockError) -> u8 {
    match e {
        LockError::Busy { .. } | LockError::Changed { .. } => BUSY,
        LockError::Read { .. } => INPUT,
        LockError::Write { .. } => OUTPUT,
    }
}

/// The exit code for an error: the first cause in the chain that has one.
pub fn code_for(err: &anyhow::Error) -> u8 {
    if let Some(e) = err.downcast_ref::<CliError>() {
        return e.code;
    }
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<CliError>() {
            return e.code;
        }
        if let Some(e) = cause.downcast_ref::<FileError>() {
            return file_code(e);
        }
        if let Some(e) = cause.downcast_ref::<BatchError>() {
            return batch_code(e);
        }
        if let Some(e) = cause.downcast_ref::<LockError>() {
            return lock_code(e);
        }
        if let Some(ConfigError::Lock(e)) = cause.downcast_ref::<ConfigError>() {
            return lock_code(e);
        }
        if cause.downcast_ref::<IdentityError>().is_some() {
            return IDENTITY;
        }
        if cause.downcast_ref::<PathError>().is_some() {
            return BAD_PATH;
        }
        if cause
            .downcast_ref::<crate::keys::recipient::BadRecipient>()
            .is_some()
        {
            return NO_RECIPIENTS;
        }
        if cause
            .downcast_ref::<crate::import::vault::VaultError>()
            .is_some()
        {
            return VAULT;
        }
        if let Some(e) = cause.downcast_ref::<crate::import::ImportError>() {
            return import_code(e);
        }
        if let Some(e) = cause.downcast_ref::<crate::import::aftercare::AftercareError>() {
            return match e {
                crate::import::aftercare::AftercareError::BackupInRepo { .. } => CONFLICT,
                _ => OUTPUT,
            };
        }
        if let Some(e) = cause.downcast_ref::<crate::workspace::gitmerge::MergeError>() {
            return merge_code(e);
        }
        if let Some(e) = cause.downcast_ref::<crate::workspace::gitsetup::SetupError>() {
            use crate::workspace::gitsetup::SetupError as E;
            return match e {
                E::Config(_) => CONFIG,
                E::Io { .. } => OUTPUT,
                E::Git(_) | E::NoRepo(_) => GENERIC,
            };
        }
        if let Some(code) = crate::config::exit_code(cause) {
            return code;
        }
    }
    GENERIC
}

fn merge_code(e: &crate::workspace::gitmerge::MergeError) -> u8 {
    use crate::workspace::gitmerge::MergeError as E;
    match e {
        E::File(e) => file_code(e),
        E::Undecryptable { .. } => NO_DATA_KEY,
        E::Mixed { .. } => NOT_ENCRYPTED,
        E::Config { .. } => CONFIG,
        E::Io { .. } => OUTPUT,
        E::Git { .. } => GENERIC,
        E::NoConflict { .. } | E::GroupsDiffer { .. } => INPUT,
    }
}

pub(super) fn hint_for(err: &anyhow::Error) -> Option<String> {
    // A CliError given as context (over the cause it explains) is found by anyhow's own
    // downcast, not in the chain of causes.
    if let Some(e) = err.downcast_ref::<CliError>() {
        return e.hint.clone();
    }
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<CliError>() {
            return e.hint.clone();
        }
        let lock = match (
            cause.downcast_ref::<FileError>(),
            cause.downcast_ref::<ConfigError>(),
        ) {
            (Some(FileError::Lock(e)), _) | (_, Some(ConfigError::Lock(e))) => Some(e),
            _ => cause.downcast_ref::<LockError>(),
        };
        if let Some(ConfigError::NotFound { .. }) = cause.downcast_ref::<ConfigError>() {
            return Some("start one at the repository's root: secrets init".into());
        }
        if let Some(LockError::Busy { .. }) = lock {
            return Some("another command holds its lock (a secrets command writing it, a batch such as updatekeys or env revoke, which holds the config's lock until it ends, or a script under flock); retry, or wait longer: SECRETS_LOCK_TIMEOUT=SECONDS".into());
        }
        if let Some(e) = cause.downcast_ref::<FileError>() {
            return match e {
                FileError::Key {
                    error: crate::keys::wrap::WrapError::NoMatchingIdentity { services, .. },
                    ..
                } if !services.is_empty() => Some("a Vault transit stanza needs a token that may use its key ($VAULT_TOKEN or ~/.vault-token), a kms stanza AWS credentials allowed to decrypt with its key (docs/aws-kms.md), a pgp stanza its secret key in your gpg keyring ($GNUPGHOME), and the service reachable (SECRETS_KEYSERVICE_TIMEOUT: seconds per request); or pass --identity FILE for an age stanza".into()),
                FileError::Key {
                    error: crate::keys::wrap::WrapError::Service(_),
                    ..
                } => Some("check the key (a Vault transit URL: $VAULT_TOKEN or ~/.vault-token and a policy that allows transit encrypt; a KMS ARN: AWS credentials allowed kms:Encrypt, docs/aws-kms.md; a PGP fingerprint: the public key in your gpg keyring)".into()),
                FileError::Key {
                    error: crate::keys::wrap::WrapError::NoMatchingIdentity { tried, .. },
                    ..
                } if tried.contains(crate::keys::locked_ssh::LOCKED) => Some("your ssh key is passphrase-protected: run the command where it can ask on a terminal, or pass --identity FILE with a key that has no passphrase".into()),
                FileError::Key { .. } => Some("ask a member who can decrypt to add your public key (secrets member add / env grant, then secrets updatekeys), or pass --identity FILE".into()),
                FileError::Crypto { error: CryptoError::MacMismatch, .. } => Some("restore the file from git (git checkout -- FILE); it was changed without its MAC".into()),
                FileError::Metadata { error: MetadataError::Missing("mac"), .. } => Some("restore the file from git (git checkout -- FILE); its MAC was removed".into()),
                FileError::NotEncrypted { .. } => Some("encrypt it first: secrets encrypt -i FILE".into()),
                FileError::AlreadyEncrypted { .. } => Some("use secrets edit FILE, or secrets decrypt FILE".into()),
                _ => None,
            };
        }
    }
    None
}

/// Prints the error as one line (its causes joined), plus a hint line when there is one.
pub fn report(err: &anyhow::Error) {
    eprintln!("secrets: error: {err:#}");
    if let Some(h) = hint_for(err) {
        eprintln!("hint: {h}");
    }
}
