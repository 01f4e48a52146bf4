//! Whole encrypted files: load, unwrap the data key, open (decrypt + verify the MAC),
//! seal (encrypt + MAC), re-wrap, rotate, and write atomically. This is the library API
//! the CLI and other programs use.
//!
//! ```no_run
//! use secrets::engine::EncryptedFile;
//! use secrets::keys::Identities;
//! let ids = Identities::discover(&[]).unwrap();
//! let file = EncryptedFile::load("config/secrets.yaml".as_ref(), None).unwrap();
//! let opened = file.open(&file.data_key(&ids).unwrap()).unwrap();
//! println!("{} documents", opened.branches.len());
//! ```

use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

use crate::crypto::{self, CompiledRules, CryptoError, DataKey, IvStash};
use crate::fsutil::lock::{Lock, LockError, Seen};
use crate::keys::wrap::{self, WrapError};
use crate::keys::{self, Identities, MasterKeys, Recipient, ServiceKeys, Services};
use crate::metadata::{AgeStanza, KeyGroup, Metadata, MetadataError, Rules, SOPS_COMPAT_VERSION};
use crate::model::{tree, Branch, Plain, Sealed, SecretText};
use crate::store::{self, Format, Layout, StoreError};

/// Everything that can go wrong with one file. Messages name the file and key path,
/// never a value.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {}", parse_message(format, error))]
    Parse {
        path: PathBuf,
        format: &'static str,
        error: StoreError,
    },
    #[error("{path}: not encrypted (no sops metadata found)")]
    NotEncrypted { path: PathBuf },
    #[error("{path}: already encrypted")]
    AlreadyEncrypted { path: PathBuf },
    #[error("{path}: {error}")]
    Metadata { path: PathBuf, error: MetadataError },
    #[error("{path}: {error}")]
    Crypto { path: PathBuf, error: CryptoError },
    #[error("{path}: {error}")]
    Key { path: PathBuf, error: WrapError },
    #[error("{path}: has no values to encrypt (the file is empty or holds only comments)")]
    NoValues { path: PathBuf },
    #[error("{path}: no recipients to encrypt for (pass --age, or add the file to an environment in .secrets.yaml)")]
    NoRecipients { path: PathBuf },
    #[error("{path}: {error}")]
    Emit { path: PathBuf, error: StoreError },
    /// The file's lock could not be taken in time, the file changed since it was read,
    /// or it cannot be written in place (see [`crate::fsutil::lock`]).
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("{path}: key {key:?}: an integer kept in clear that sops before 3.13.2 would read rounded (as a 64-bit float, failing its MAC); encrypt it (encrypted, it is exact) or quote it")]
    RoundedInClear { path: PathBuf, key: String },
}

/// A store error as the second half of [`FileError::Parse`]'s line.
fn parse_message(format: &str, error: &StoreError) -> String {
    match error {
        StoreError::Syntax { .. } => format!("{format} syntax error at {error}"),
        StoreError::Unsupported(_) | StoreError::Refused(_) => error.to_string(),
    }
}

impl FileError {
    /// The same error about another path (e.g. when parsing bytes read elsewhere).
    pub fn with_path(self, p: &Path) -> FileError {
        let path = p.to_path_buf();
        match self {
            FileError::Read { error, .. } => FileError::Read { path, error },
            FileError::Write { error, .. } => FileError::Write { path, error },
            FileError::Parse { format, error, .. } => FileError::Parse {
                path,
                format,
                error,
            },
            FileError::NotEncrypted { .. } => FileError::NotEncrypted { path },
            FileError::AlreadyEncrypted { .. } => FileError::AlreadyEncrypted { path },
            FileError::Metadata { error, .. } => FileError::Metadata { path, error },
            FileError::Crypto { error, .. } => FileError::Crypto { path, error },
            FileError::Key { error, .. } => FileError::Key { path, error },
            FileError::NoRecipients { .. } => FileError::NoRecipients { path },
            FileError::NoValues { .. } => FileError::NoValues { path },
            FileError::Emit { error, .. } => FileError::Emit { path, error },
            FileError::RoundedInClear { key, .. } => FileError::RoundedInClear { path, key },
            FileError::Lock(e) => FileError::Lock(e),
        }
    }
}

/// An encrypted file as it is on disk.
#[derive(Clone, Debug)]
pub struct EncryptedFile {
    pub path: PathBuf,
    pub format: Format,
    pub layout: Layout,
    pub branches: Vec<Branch<Sealed>>,
    pub metadata: Metadata,
}

/// A decrypted file: plaintext branches plus the IVs that keep unchanged values stable.
pub struct Opened {
    pub branches: Vec<Branch<Plain>>,
    pub stash: IvStash,
}

/// Reads a plaintext file (to encrypt), naming it in the error; at most
/// [`store::limits::MAX_PLAIN_SIZE`] bytes are read.
pub fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>, FileError> {
    read_at_most(path, store::limits::MAX_PLAIN_SIZE, "plaintext files")
}

/// Reads the file `lock` holds (a plaintext file to encrypt in place), as [`read`].
pub fn read_locked(lock: &Lock) -> Result<(Zeroizing<Vec<u8>>, Seen), FileError> {
    let max = store::limits::MAX_PLAIN_SIZE;
    lock.read_at_most(max)?
        .ok_or_else(|| too_large(lock.path(), max, "plaintext files"))
}

fn read_at_most(path: &Path, max: u64, what: &str) -> Result<Zeroizing<Vec<u8>>, FileError> {
    crate::fsutil::read_file_at_most(path, max)
        .map_err(|error| FileError::Read {
            path: path.to_path_buf(),
            error,
        })?
        .ok_or_else(|| too_large(path, max, what))
}

/// A file that is larger than the limit for `what`: stopped while reading (a symlink to
/// `/dev/zero` stops there too).
fn too_large(path: &Path, max: u64, what: &str) -> FileError {
    FileError::Read {
        path: path.to_path_buf(),
        error: std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!(
                "larger than {} (the limit for {what})",
                store::limits::size_text(max)
            ),
        ),
    }
}

/// Parses plaintext in a format (for encryption or `edit`).
pub fn parse_plain(
    path: &Path,
    format: Format,
    bytes: &[u8],
) -> Result<(Vec<Branch<Plain>>, Layout), FileError> {
    store::parse_bytes::<Plain>(format, bytes).map_err(|error| FileError::Parse {
        path: path.to_path_buf(),
        format: format.name(),
        error,
    })
}

/// Parses plaintext to encrypt: `AlreadyEncrypted` when the bytes parse as an encrypted
/// file in this format, else as [`parse_plain`]. YAML, JSON and INI are parsed once (the
/// plaintext and encrypted forms share a parser), dotenv and binary twice.
pub fn parse_for_encryption(
    path: &Path,
    format: Format,
    bytes: &[u8],
) -> Result<(Vec<Branch<Plain>>, Layout), FileError> {
    let already = || FileError::AlreadyEncrypted {
        path: path.to_path_buf(),
    };
    // Data under a key the metadata uses would make the encrypted file unreadable.
    let reserved = |branches: &[Branch<Plain>]| match store::reserved_key(format, branches) {
        Some(key) => Err(FileError::Parse {
            path: path.to_path_buf(),
            format: format.name(),
            error: store::reserved_key_error(format, key),
        }),
        None => Ok(()),
    };
    if !matches!(format, Format::Yaml | Format::Json | Format::Ini) {
        if EncryptedFile::parse(path, format, bytes).is_ok() {
            return Err(already());
        }
        let (branches, layout) = parse_plain(path, format, bytes)?;
        if format != Format::Binary {
            reserved(&branches)?;
        }
        return Ok((branches, layout));
    }
    let (branches, layout) = parse_plain(path, format, bytes)?;
    // What take_metadata would find: the first `sops` entry of the first document.
    let md = match branches.first().and_then(|b| b.get(store::SOPS_KEY)) {
        Some(crate::model::Node::Map(md)) => tree::convert::<Plain, Sealed>(md),
        _ => {
            reserved(&branches)?;
            return Ok((branches, layout));
        }
    };
    let md = if format == Format::Ini {
        // Metadata that cannot be rebuilt is not metadata: the file is plaintext to encrypt.
        match crate::metadata::flat::unflatten(&md, true, store::limits::FLAT) {
            Ok(md) => md,
            Err(_) => return Ok((branches, layout)),
        }
    } else {
        md
    };
    if Metadata::from_tree(&md).is_ok() {
        return Err(already());
    }
    reserved(&branches)?;
    Ok((branches, layout))
}

/// Emits a plaintext tree (decrypt output, the editor buffer, exports).
pub fn emit_plain(
    path: &Path,
    format: Format,
    branches: &[Branch<Plain>],
    layout: Layout,
) -> Result<Zeroizing<Vec<u8>>, FileError> {
    if format == Format::Binary {
        let bytes = branches
            .first()
            .and_then(store::binary::plain_bytes)
            .unwrap_or_default();
        return Ok(Zeroizing::new(bytes));
    }
    store::emit(format, branches, layout)
        .map(SecretText::into_zeroizing_bytes)
        .map_err(|error| FileError::Emit {
            path: path.to_path_buf(),
            error,
        })
}

/// The store that parses the encrypted form of a format (binary files are JSON envelopes).
fn encrypted_store(format: Format) -> Format {
    if format == Format::Binary {
        Format::Json
    } else {
        format
    }
}

/// Does this text carry sops metadata in this format?
pub fn is_encrypted_bytes(format: Format, bytes: &[u8]) -> bool {
    EncryptedFile::parse(Path::new(""), format, bytes).is_ok()
}

/// `error` with a line for each stanza the file has that this tool cannot use (GCP KMS,
/// Azure Key Vault…), so a user who holds only such a key learns which one would open it.
fn with_unsupported(error: WrapError, unsupported: &[String]) -> WrapError {
    if unsupported.is_empty() {
        return error;
    }
    let lines = unsupported
        .iter()
        .map(|k| format!("{k}: not supported by this tool (sops can use it)"));
    match error {
        WrapError::NoMatchingIdentity {
            recipients,
            tried,
            mut services,
        } => {
            services.extend(lines);
            WrapError::NoMatchingIdentity {
                recipients,
                tried,
                services,
            }
        }
        WrapError::NoRecipients => WrapError::NoMatchingIdentity {
            recipients: Vec::new(),
            tried: String::new(),
            services: lines.collect(),
        },
        other => other,
    }
}

impl EncryptedFile {
    /// Loads and parses an encrypted file; the format comes from the name unless given.
    pub fn load(path: &Path, format: Option<Format>) -> Result<EncryptedFile, FileError> {
        let bytes = Self::read_encrypted(path)?;
        Self::parse(
            path,
            format.unwrap_or_else(|| Format::of_encrypted(path, &bytes)),
            &bytes,
        )
    }

    /// Reads an encrypted file's bytes, at most [`store::limits::MAX_ENCRYPTED_SIZE`].
    pub fn read_encrypted(path: &Path) -> Result<Zeroizing<Vec<u8>>, FileError> {
        read_at_most(path, store::limits::MAX_ENCRYPTED_SIZE, "encrypted files")
    }

    /// Loads the file its lock holds (read through the lock), and what was read, for
    /// [`EncryptedFile::save_locked`]. Errors name the file as the command was given it.
    pub fn load_locked(
        lock: &Lock,
        format: Option<Format>,
    ) -> Result<(EncryptedFile, Seen), FileError> {
        let max = store::limits::MAX_ENCRYPTED_SIZE;
        let (bytes, seen) = lock
            .read_at_most(max)?
            .ok_or_else(|| too_large(lock.path(), max, "encrypted files"))?;
        let path = lock.path();
        let file = Self::parse(
            path,
            format.unwrap_or_else(|| Format::of_encrypted(path, &bytes)),
            &bytes,
        )?;
        Ok((file, seen))
    }

    pub fn parse(path: &Path, format: Format, bytes: &[u8]) -> Result<EncryptedFile, FileError> {
        let p = || path.to_path_buf();
        let store_format = encrypted_store(format);
        let (mut branches, layout) = match store::parse_encrypted::<Sealed>(store_format, bytes) {
            Ok(v) => v,
            // A binary file that is not a JSON envelope is simply not encrypted.
            Err(_) if format == Format::Binary => {
                return Err(FileError::NotEncrypted { path: p() })
            }
            Err(error) => {
                return Err(FileError::Parse {
                    path: p(),
                    format: store_format.name(),
                    error,
                })
            }
        };
        let md = store::take_metadata(store_format, &mut branches)
            .map_err(|error| FileError::Parse {
                path: p(),
                format: store_format.name(),
                error,
            })?
            .ok_or_else(|| FileError::NotEncrypted { path: p() })?;
        // A second metadata block (two INI [sops] sections): which one is the file's?
        if let Some(key) = store::reserved_key(store_format, &branches) {
            return Err(FileError::Parse {
                path: p(),
                format: store_format.name(),
                error: store::reserved_key_error(store_format, key),
            });
        }
        let metadata =
            Metadata::from_tree(&md).map_err(|error| FileError::Metadata { path: p(), error })?;
        Ok(EncryptedFile {
            path: p(),
            format,
            layout,
            branches,
            metadata,
        })
    }

    /// Unwraps the data key with the first identity that can: age identities first, then
    /// the key services (see [`keys::unwrap`]).
    pub fn data_key(&self, ids: &Identities) -> Result<DataKey, FileError> {
        let md = &self.metadata;
        match md.key_groups.as_slice() {
            [] => keys::unwrap(&md.keys, ids),
            // One group holds the whole data key, as sops reads it.
            [one] => keys::unwrap(one, ids),
            groups => keys::unwrap_groups(groups, md.shamir_threshold, ids),
        }
        .map_err(|error| self.key_err(with_unsupported(error, &md.unsupported_keys())))
    }

    /// Refuses to re-wrap a file whose data key is split across sops key groups: a new
    /// wrapping would have to split it again (not done yet).
    fn refuse_key_groups(&self) -> Result<(), FileError> {
        if self.metadata.key_groups.is_empty() {
            return Ok(());
        }
        Err(FileError::Metadata {
            path: self.path.clone(),
            error: crate::metadata::MetadataError::KeyGroups,
        })
    }

    fn crypto_err(&self, error: CryptoError) -> FileError {
        FileError::Crypto {
            path: self.path.clone(),
            error,
        }
    }

    /// Decrypts every value and verifies the MAC, remembering each value's IV so that a
    /// reseal keeps unchanged values byte for byte.
    pub fn open(&self, key: &DataKey) -> Result<Opened, FileError> {
        let mut stash = IvStash::default();
        let branches = self.open_into(key, &mut stash)?;
        Ok(Opened { branches, stash })
    }

    /// [`EncryptedFile::open`], adding the IVs to `stash`: the merge driver opens two
    /// versions under one data key into one stash, so the values it takes from either
    /// keep their ciphertext.
    pub fn open_into(
        &self,
        key: &DataKey,
        stash: &mut IvStash,
    ) -> Result<Vec<Branch<Plain>>, FileError> {
        self.decrypt_values(key, Some(stash))
    }

    /// As [`Self::open`] for a reader that never writes the file back (`exec`, `get`,
    /// `decrypt`): no IV stash, whose hash per value is a tenth of opening a file.
    pub fn read(&self, key: &DataKey) -> Result<Opened, FileError> {
        let branches = self.decrypt_values(key, None)?;
        Ok(Opened {
            branches,
            stash: IvStash::default(),
        })
    }

    fn decrypt_values(
        &self,
        key: &DataKey,
        stash: Option<&mut IvStash>,
    ) -> Result<Vec<Branch<Plain>>, FileError> {
        let rules = CompiledRules::new(&self.metadata.rules).map_err(|e| self.crypto_err(e))?;
        let (branches, mac) =
            crypto::open(&self.branches, key, &rules, stash).map_err(|e| self.crypto_err(e))?;
        crypto::verify_mac(&self.metadata.mac, &mac, key, &self.metadata.last_modified)
            .map_err(|e| self.crypto_err(e))?;
        Ok(branches)
    }

    /// Decrypts with the given identities (unwrap + open).
    pub fn decrypt(&self, ids: &Identities) -> Result<Opened, FileError> {
        self.open(&self.data_key(ids)?)
    }

    /// Encrypts a plaintext tree as a new file for `recipients`.
    pub fn create(
        path: &Path,
        format: Format,
        layout: Layout,
        plain: &[Branch<Plain>],
        recipients: &[Recipient],
        rules: Rules,
    ) -> Result<EncryptedFile, FileError> {
        let keys = MasterKeys::age(recipients);
        Self::create_for(
            path,
            format,
            layout,
            plain,
            &keys,
            rules,
            &Services::default(),
        )
    }

    /// [`EncryptedFile::create`] for age recipients and key-service keys (wrapped through
    /// `services`).
    pub fn create_for(
        path: &Path,
        format: Format,
        layout: Layout,
        plain: &[Branch<Plain>],
        keys: &MasterKeys,
        rules: Rules,
        services: &Services,
    ) -> Result<EncryptedFile, FileError> {
        if keys.is_empty() {
            return Err(FileError::NoRecipients {
                path: path.to_path_buf(),
            });
        }
        // Without one key there is nowhere to put the `sops` block (an empty YAML stream
        // would be written as an empty, unencrypted file; sops refuses such input too).
        // A JSON file is always an object: `{}` takes the `sops` key, as sops writes it.
        // A YAML `{}` or `~` is a document, as for sops; text with no document is not.
        let no_values = match format {
            Format::Binary | Format::Json => false,
            Format::Yaml => plain.is_empty(),
            Format::Dotenv | Format::Ini => plain.iter().all(|b| b.entries().next().is_none()),
        };
        if no_values {
            return Err(FileError::NoValues {
                path: path.to_path_buf(),
            });
        }
        let key = DataKey::generate();
        Self::create_with_key(path, format, layout, plain, keys, rules, &key, services)
    }

    /// [`EncryptedFile::create_for`] under a data key the caller holds (`import` opens
    /// what it wrote with it to verify every value, whoever the recipients are).
    #[allow(clippy::too_many_arguments)]
    pub fn create_with_key(
        path: &Path,
        format: Format,
        layout: Layout,
        plain: &[Branch<Plain>],
        keys: &MasterKeys,
        rules: Rules,
        key: &DataKey,
        services: &Services,
    ) -> Result<EncryptedFile, FileError> {
        if keys.is_empty() {
            return Err(FileError::NoRecipients {
                path: path.to_path_buf(),
            });
        }
        let metadata = Metadata {
            keys: KeyGroup::default(),
            key_groups: Vec::new(),
            shamir_threshold: 0,
            last_modified: String::new(),
            mac: String::new(),
            rules,
            version: SOPS_COMPAT_VERSION.to_string(),
            foreign: Branch::new(),
        };
        let mut file = EncryptedFile {
            path: path.to_path_buf(),
            format,
            layout,
            branches: Vec::new(),
            metadata,
        };
        file.wrap_for(key, keys, services)?;
        file.reseal(plain, key, &IvStash::default())?;
        Ok(file)
    }

    /// Wraps `key` for exactly `keys`, every stanza new: the flat layout, or sops key
    /// groups with a fresh Shamir split of the key (as sops splits it again on every
    /// updatekeys). Every wrap is made before the file changes: a service that fails
    /// leaves it as it was.
    pub fn wrap_for(
        &mut self,
        key: &DataKey,
        keys: &MasterKeys,
        services: &Services,
    ) -> Result<(), FileError> {
        if keys.is_empty() {
            return Err(FileError::NoRecipients {
                path: self.path.clone(),
            });
        }
        // A GCP or Azure key in a key group holds a share of this split: splitting again
        // would leave it holding a share of nothing.
        let grouped_foreign = self.metadata.key_groups.iter().map(|g| &g.foreign);
        if let Some((kind, _)) = grouped_foreign.flat_map(|f| f.entries()).next() {
            return Err(FileError::Metadata {
                path: self.path.clone(),
                error: crate::metadata::MetadataError::CannotRotate(kind.to_string()),
            });
        }
        let (flat, groups, threshold) = match &keys.shamir {
            Some(shamir) => (
                KeyGroup::default(),
                keys::wrap_groups(key, shamir, services).map_err(|e| self.key_err(e))?,
                shamir.threshold,
            ),
            None => {
                let age = KeyGroup {
                    age: wrap::wrap_all(key.bytes(), &keys.age, &[])
                        .map_err(|e| self.key_err(e))?,
                    ..KeyGroup::default()
                };
                let group = keys::wrap_services(key.bytes(), &keys.services, &age, services)
                    .map_err(|e| self.key_err(e))?;
                (group, Vec::new(), 0)
            }
        };
        self.metadata.keys = flat;
        self.metadata.key_groups = groups;
        self.metadata.shamir_threshold = threshold;
        Ok(())
    }

    /// Replaces the values with `plain`, re-encrypting under `key`: values whose IV is in
    /// `stash` (unchanged since decryption) keep their ciphertext; `lastmodified` and the
    /// MAC change only when the values did.
    pub fn reseal(
        &mut self,
        plain: &[Branch<Plain>],
        key: &DataKey,
        stash: &IvStash,
    ) -> Result<(), FileError> {
        let rules = CompiledRules::new(&self.metadata.rules).map_err(|e| self.crypto_err(e))?;
        let (branches, mac) =
            crypto::seal(plain, key, &rules, stash).map_err(|e| self.crypto_err(e))?;
        if encrypted_store(self.format) == Format::Json {
            if let Some(key) = store::json::rounded_by_sops(&branches) {
                return Err(FileError::RoundedInClear {
                    path: self.path.clone(),
                    key,
                });
            }
        }
        let changed = branches != self.branches || self.metadata.mac.is_empty();
        if changed {
            self.metadata.last_modified = crypto::mac::now_rfc3339();
            self.metadata.mac = crypto::encrypt_mac(&mac, key, &self.metadata.last_modified, None);
            self.branches = branches;
        }
        Ok(())
    }

    /// Wraps the existing data key for exactly `recipients` (values untouched). The
    /// key-service stanzas stay: they hold the same data key.
    pub fn rewrap(&mut self, key: &DataKey, recipients: &[Recipient]) -> Result<(), FileError> {
        self.refuse_key_groups()?;
        if recipients.is_empty() && !self.metadata.keys.has_service_stanzas() {
            return Err(FileError::NoRecipients {
                path: self.path.clone(),
            });
        }
        self.metadata.keys.age = wrap::wrap_all(key.bytes(), recipients, &self.metadata.keys.age)
            .map_err(|error| self.key_err(error))?;
        Ok(())
    }

    /// Adds a stanza for each key-service key in `wanted` the file lacks (Vault transit,
    /// AWS KMS), wrapping the existing data key through `services`; the others are kept.
    pub fn add_service_keys(
        &mut self,
        key: &DataKey,
        wanted: &ServiceKeys,
        services: &Services,
    ) -> Result<(), FileError> {
        self.refuse_key_groups()?;
        self.metadata.keys =
            keys::wrap_services(key.bytes(), wanted, &self.metadata.keys, services)
                .map_err(|error| self.key_err(error))?;
        Ok(())
    }

    fn key_err(&self, error: WrapError) -> FileError {
        FileError::Key {
            path: self.path.clone(),
            error,
        }
    }

    /// Generates a new data key, re-encrypts every value with fresh IVs and wraps the new
    /// key for `recipients` and again for every key-service key the file names (through
    /// the services of `ids`): a stanza left under the old data key would open nothing.
    pub fn rotate(&mut self, ids: &Identities, recipients: &[Recipient]) -> Result<(), FileError> {
        self.rotate_for(ids, recipients, None)
    }

    /// [`EncryptedFile::rotate`] for exactly the key-service keys in `services` (`None`:
    /// the file's own).
    pub fn rotate_for(
        &mut self,
        ids: &Identities,
        recipients: &[Recipient],
        services: Option<&ServiceKeys>,
    ) -> Result<(), FileError> {
        let keys = MasterKeys {
            age: recipients.to_vec(),
            services: services.cloned().unwrap_or_else(|| self.service_keys()),
            shamir: None,
        };
        self.rotate_to(ids, &keys)
    }

    /// A new data key, every value re-encrypted with fresh IVs, wrapped for exactly
    /// `keys` (flat, or split across key groups) through the services of `ids`.
    pub fn rotate_to(&mut self, ids: &Identities, keys: &MasterKeys) -> Result<(), FileError> {
        // A GCP KMS or Azure stanza kept as written would go on holding the old data key.
        if let Some(kept) = self.metadata.unsupported_keys().into_iter().next() {
            return Err(FileError::Metadata {
                path: self.path.clone(),
                error: crate::metadata::MetadataError::CannotRotate(kept),
            });
        }
        let opened = self.decrypt(ids)?;
        let key = DataKey::generate();
        self.wrap_for(&key, keys, &ids.services)?;
        self.metadata.mac = String::new();
        self.reseal(&opened.branches, &key, &IvStash::default())
    }

    /// The master keys the file names, as [`MasterKeys`] (its key groups kept as groups).
    pub fn master_keys(&self) -> Result<MasterKeys, FileError> {
        MasterKeys::of_metadata(&self.metadata).map_err(|_| FileError::Metadata {
            path: self.path.clone(),
            error: crate::metadata::MetadataError::Malformed("age.recipient".into()),
        })
    }

    /// Whether the data key is split across sops key groups.
    pub fn is_grouped(&self) -> bool {
        !self.metadata.key_groups.is_empty()
    }

    /// The age recipients named in the file.
    pub fn recipients(&self) -> Vec<&str> {
        self.metadata.recipients()
    }

    pub fn stanzas(&self) -> &[AgeStanza] {
        &self.metadata.keys.age
    }

    /// The key-service keys (Vault transit, AWS KMS, PGP) the data key (or a key group's
    /// share of it) is wrapped with, in file order.
    pub fn service_keys(&self) -> ServiceKeys {
        let mut all = ServiceKeys::of(&self.metadata.keys);
        for group in &self.metadata.key_groups {
            all.union(&ServiceKeys::of(group));
        }
        all
    }

    /// The file's text (or bytes) as it goes to disk.
    pub fn to_bytes(&self) -> Result<Vec<u8>, FileError> {
        let store_format = encrypted_store(self.format);
        store::emit_encrypted_with_metadata(
            store_format,
            &self.branches,
            &self.metadata.to_tree(),
            self.layout,
        )
        // Ciphertext and metadata: nothing to wipe.
        .map(|text| text.into_public_string().into_bytes())
        .map_err(|error| FileError::Emit {
            path: self.path.clone(),
            error,
        })
    }

    /// Writes the file atomically to its path.
    pub fn save(&self) -> Result<(), FileError> {
        self.save_to(&self.path)
    }

    /// Writes the file in place of the one `lock` holds (through symbolic links), unless
    /// it is no longer what `seen` says was read: read-modify-write commands load with
    /// [`EncryptedFile::load_locked`] and save with this, holding the lock in between.
    pub fn save_locked(&self, lock: &Lock, seen: &Seen) -> Result<(), FileError> {
        let bytes = self.to_bytes()?;
        Ok(lock.replace(seen, &bytes)?)
    }

    pub fn save_to(&self, path: &Path) -> Result<(), FileError> {
        let bytes = self.to_bytes()?;
        crate::fsutil::atomic_write(path, &bytes).map_err(|error| FileError::Write {
            path: path.to_path_buf(),
            error,
        })
    }
}
