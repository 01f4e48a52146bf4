//! Helpers over many encrypted files: finding them under the config's root, the
//! recipients the config wants for each, how a file's recipients differ from those, the
//! key paths a reader could see, and a parallel map (results in input order). The
//! operations built on them (re-wrap, rotate, offboarding) are [`crate::workspace`].
//! Nothing here writes or prints.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::config::{Config, ConfigError};
use crate::engine::{EncryptedFile, FileError};
use crate::keys::recipient::same_key;
use crate::keys::{Identities, Recipient};
use crate::metadata::MetadataError;
use crate::model::path::{KeyPath, PathSegment};
use crate::model::{Branch, Item, ListItem, Node, Sealed};
use crate::store::Format;

/// How a file's recipients change: keys added and removed (as written in files).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// The difference between a file's recipients and the wanted ones (order ignored). Keys
/// are compared without their comments (`ssh-ed25519 AAAA… alice`): a stanza for the same
/// key is kept as it is, so neither `sops updatekeys` nor ours undoes the other's text.
pub fn diff(current: &[&str], wanted: &[Recipient]) -> Diff {
    let wanted: Vec<String> = wanted.iter().map(Recipient::to_string).collect();
    let mut d = Diff::default();
    for w in &wanted {
        if !current.iter().any(|c| same_key(c, w)) && !d.added.iter().any(|a| same_key(a, w)) {
            d.added.push(w.clone());
        }
    }
    for c in current {
        if !wanted.iter().any(|w| same_key(w, c)) && !d.removed.iter().any(|r| r == c) {
            d.removed.push(c.to_string());
        }
    }
    d
}

/// Files larger than this are read whole only when their last [`TAIL`] bytes hold the
/// marker: sops writes the metadata (and its encrypted MAC) last, so a large encrypted file
/// is still found, while a large file of anything else costs one small read.
const READ_WHOLE: u64 = 64 << 20;
const TAIL: u64 = 64 << 10;
const MARKER: &[u8] = b"ENC[AES256_GCM";

/// Loads `path` if it is a sops-encrypted file (cheap test on the bytes first); `None`
/// also when it looks encrypted but cannot be read (see [`probe`] for that error).
pub fn load_if_encrypted(path: &Path) -> Option<EncryptedFile> {
    probe(path).ok().flatten()
}

/// Loads `path` if it is a sops-encrypted file: `Ok(None)` when it is not one (no
/// `ENC[AES256_GCM` in it, no sops metadata, or unreadable), an error when it holds that
/// marker but cannot be parsed as an encrypted file of its format (a syntax error, or a
/// limit of [`crate::store::limits`]: a hostile or damaged file, which the batch commands
/// report instead of skipping). A file over 64 MiB is considered when its end holds the
/// marker; before, it was skipped, and with it a large file's rotation on `member remove`.
pub fn probe(path: &Path) -> Result<Option<EncryptedFile>, FileError> {
    probe_as(path, &[])
}

/// [`probe`] trying `formats` in order (none: the format [`Format::of_encrypted`] reads
/// the file in): the first that reads the file as encrypted wins; when none does, the
/// first one's error (or `Ok(None)` when each found no metadata).
fn probe_as(path: &Path, formats: &[Format]) -> Result<Option<EncryptedFile>, FileError> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(None);
    };
    if !meta.is_file() || (meta.len() > READ_WHOLE && !tail_has_marker(path, meta.len())) {
        return Ok(None);
    }
    let bytes = match EncryptedFile::read_encrypted(path) {
        Ok(bytes) => bytes,
        // Too large for an encrypted file, with the marker at its end: say so.
        Err(e) if meta.len() > READ_WHOLE => return Err(e),
        Err(_) => return Ok(None),
    };
    if memchr::memmem::find(&bytes, MARKER).is_none() {
        return Ok(None);
    }
    let mut first_error = None;
    // (the content is looked at only when no formats are given)
    let own;
    let formats = if formats.is_empty() {
        own = [Format::of_encrypted(path, &bytes)];
        &own[..]
    } else {
        formats
    };
    for &format in formats {
        match EncryptedFile::parse(path, format, &bytes) {
            Ok(file) => return Ok(Some(file)),
            Err(FileError::NotEncrypted { .. }) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    first_error.map_or(Ok(None), Err)
}

/// As [`load_if_encrypted`], and for a name that gives no format (`secrets.conf`,
/// `prod.env.enc`, `app.sops`: sops reads them as binary unless told `--input-type`),
/// the format the content parses as: YAML, dotenv or INI after the binary envelope sops
/// would read. What a file holds, not its name, makes it one of ours for the known-value
/// check; the file is read once whichever format it turns out to be.
pub fn load_by_content(path: &Path) -> Option<EncryptedFile> {
    let format = Format::from_path(path);
    let formats: &[Format] = if format == Format::Binary {
        &[Format::Binary, Format::Yaml, Format::Dotenv, Format::Ini]
    } else {
        &[format]
    };
    probe_as(path, formats).ok().flatten()
}

fn tail_has_marker(path: &Path, len: u64) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut tail = Vec::new();
    f.seek(SeekFrom::Start(len.saturating_sub(TAIL)))
        .and_then(|_| f.take(TAIL).read_to_end(&mut tail))
        .is_ok_and(|_| memchr::memmem::find(&tail, MARKER).is_some())
}

/// Every encrypted file under the config's root (absolute paths, sorted), and every file
/// that looks encrypted but cannot be read (see [`probe`]): the commands that work on
/// them fail on it, naming it, rather than leave it out silently.
pub fn encrypted_files(config: &Config) -> Result<Vec<PathBuf>, ConfigError> {
    Ok(keep_encrypted(config.walk_files()?))
}

/// Every encrypted file under `root`, found by its content (sops metadata, whatever the
/// name or format), with or without a team config: a repository kept with a `.sops.yaml`
/// alone, or files made by `encrypt --age` without `init`, have them too. With a config,
/// its walk (which adds the files it names that git ignores); else the tree as git sees
/// it (ignore files respected, dotfiles included, `.git` skipped).
pub fn sops_files(root: &Path, config: Option<&Config>) -> Vec<(PathBuf, EncryptedFile)> {
    let files = match config.map(Config::walk_files) {
        Some(Ok(files)) => files,
        _ => ignore::WalkBuilder::new(root)
            .hidden(false)
            .filter_entry(crate::config::not_git_or_temp)
            .build()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
            .map(ignore::DirEntry::into_path)
            .collect(),
    };
    let loaded = parallel_map(&files, |p| load_by_content(p));
    files
        .into_iter()
        .zip(loaded)
        .filter_map(|(p, f)| Some((p, f?)))
        .collect()
}

/// The encrypted files of one environment (absolute paths) in the order its `files`
/// globs are listed: the files of the first glob first, sorted within a glob. Readers
/// that merge them (exec, export) let a later file win, so a later glob overrides an
/// earlier one, as a later `-f` does.
pub fn env_files(config: &Config, env: &str) -> Result<Vec<PathBuf>, ConfigError> {
    Ok(keep_encrypted(env_candidates(config, env)?))
}

/// The files [`probe`] does not rule out (encrypted, or looking so but unreadable), in
/// their order, probed in parallel.
fn keep_encrypted(files: Vec<PathBuf>) -> Vec<PathBuf> {
    let found = parallel_map(&files, |p| !matches!(probe(p), Ok(None)));
    files
        .into_iter()
        .zip(found)
        .filter_map(|(p, enc)| enc.then_some(p))
        .collect()
}

/// As [`env_files`], each with the file [`probe`] parsed to find it (`None` when it looks
/// encrypted but does not parse: reading it again reports why), so that a command reading
/// them all at once (`exec --env`) does not read and parse each twice.
pub fn env_files_parsed(
    config: &Config,
    env: &str,
) -> Result<Vec<(PathBuf, Option<EncryptedFile>)>, ConfigError> {
    let files = env_candidates(config, env)?;
    let probed = parallel_map(&files, |p| probe(p));
    Ok(files
        .into_iter()
        .zip(probed)
        .filter_map(|(p, found)| match found {
            Ok(None) => None,
            Ok(Some(file)) => Some((p, Some(file))),
            Err(_) => Some((p, None)),
        })
        .collect())
}

/// The files of the walk that `env`'s globs (or path_regex) claim, in [`env_files`]'s
/// order, encrypted or not. Which environment a file is in does not depend on its
/// content, so only these are probed (each probe parses the whole file).
fn env_candidates(config: &Config, env: &str) -> Result<Vec<PathBuf>, ConfigError> {
    let environment = config.environment(env);
    let walked = match config.literal_env_files(env) {
        Some(files) => files,
        None => config.walk_files()?,
    };
    let mut ranked: Vec<(usize, PathBuf)> = walked
        .into_iter()
        .filter_map(|p| {
            let rel = config.relative(&p)?;
            if config.environment_for(&rel) != Some(env) {
                return None;
            }
            let rank = environment.and_then(|e| e.glob_index(&rel)).unwrap_or(0);
            Some((rank, p))
        })
        .collect();
    // Stable: the walk's sorted order is kept within a glob.
    ranked.sort_by_key(|(rank, _)| *rank);
    Ok(ranked.into_iter().map(|(_, p)| p).collect())
}

/// Where a file stands in the config: its environment and the recipients it should have.
#[derive(Clone, Debug)]
pub struct Wanted {
    pub environment: String,
    pub recipients: Vec<Recipient>,
    /// The environment's key-service keys (Vault transit, AWS KMS).
    pub services: crate::keys::ServiceKeys,
    /// The environment's key groups (`None`: one group, the two lists above, which
    /// otherwise hold every group's keys together).
    pub shamir: Option<crate::keys::Shamir>,
}

impl Wanted {
    /// What the file must be wrapped for: the key groups, or the recipients and keys.
    pub fn keys(&self) -> crate::keys::MasterKeys {
        match &self.shamir {
            Some(s) => crate::keys::MasterKeys {
                shamir: Some(s.clone()),
                ..Default::default()
            },
            None => crate::keys::MasterKeys {
                age: self.recipients.clone(),
                services: self.services.clone(),
                shamir: None,
            },
        }
    }
}

/// The environment and recipients the config wants for `path`; `None` when the file is in
/// no environment; an error when it is in two, or its environment has no members.
pub fn wanted(config: &Config, path: &Path) -> Result<Option<Wanted>, ConfigError> {
    let Some(rel) = config.relative(path) else {
        return Ok(None);
    };
    let Some(env) = config.classify(&rel)? else {
        return Ok(None);
    };
    let recipients = config.env_recipients(&env.name);
    if recipients.is_empty() && env.services.is_empty() && env.key_groups.is_empty() {
        // A rule of GCP or Azure keys alone: say so rather than "no members".
        config.check_wrappable(env)?;
        return Err(ConfigError::command(
            config.path(),
            format!(
                "{}: environment {:?} has no members (secrets env grant {} MEMBER)",
                crate::config::rel_string(&rel),
                env.name,
                env.name
            ),
        ));
    }
    Ok(Some(Wanted {
        environment: env.name.clone(),
        recipients,
        services: env.services.clone(),
        shamir: config.env_keys(env).shamir,
    }))
}

/// How a file's key-service keys differ from the wanted ones, as [`diff`] shows them
/// (`hc_vault URL`, `kms ARN`).
pub fn services_diff(
    current: &crate::keys::ServiceKeys,
    wanted: &crate::keys::ServiceKeys,
) -> Diff {
    let (added, removed) = current.diff(wanted);
    Diff { added, removed }
}

/// The file's own recipients, parsed (to rotate a file that is in no environment).
pub fn current_recipients(file: &EncryptedFile) -> Result<Vec<Recipient>, FileError> {
    file.recipients()
        .iter()
        .map(|r| Recipient::from_str(r))
        .collect::<Result<_, _>>()
        .map_err(|_| FileError::Metadata {
            path: file.path.clone(),
            error: MetadataError::Malformed("age.recipient".into()),
        })
}

/// Whether one of `ids` unwraps the file's data key (no value is decrypted).
pub fn can_unwrap(file: &EncryptedFile, ids: &Identities) -> bool {
    // A passphrase-protected key of the file's counts without its passphrase being asked.
    let locked = !file.is_grouped() && file.recipients().iter().any(|r| ids.holds_locked(r));
    locked || file.data_key(ids).is_ok()
}

/// The key paths of the encrypted values of a file (dotted, `a.b.0`, or sops-style
/// `["a.b"]` when a key holds a dot): what a reader of the file has seen. No value is
/// decrypted.
pub fn secret_paths(file: &EncryptedFile) -> Vec<String> {
    let mut out = Vec::new();
    let many = file.branches.len() > 1;
    for (i, b) in file.branches.iter().enumerate() {
        let mut path = Vec::new();
        let before = out.len();
        walk_branch(b, &mut path, &mut out);
        if many {
            for p in &mut out[before..] {
                *p = format!("document {}: {p}", i + 1);
            }
        }
    }
    out
}

fn is_enc(node: &Node<Sealed>) -> bool {
    matches!(node, Node::Leaf(Sealed(crate::model::Scalar::Str(s))) if s.starts_with("ENC["))
}

fn show(path: &[PathSegment]) -> String {
    let dotted_ok = path.iter().all(|s| match s {
        PathSegment::Key(k) => {
            !k.is_empty() && !k.contains(['.', '[', ']', '"']) && k.parse::<usize>().is_err()
        }
        PathSegment::Index(_) => true,
    });
    if dotted_ok {
        path.iter()
            .map(|s| match s {
                PathSegment::Key(k) => k.clone(),
                PathSegment::Index(i) => i.to_string(),
            })
            .collect::<Vec<_>>()
            .join(".")
    } else {
        KeyPath(path.to_vec()).to_string()
    }
}

fn walk_branch(b: &Branch<Sealed>, path: &mut Vec<PathSegment>, out: &mut Vec<String>) {
    for item in &b.items {
        if let Item::Entry { key, value } = item {
            path.push(PathSegment::Key(key.clone()));
            walk_node(value, path, out);
            path.pop();
        }
    }
}

fn walk_node(node: &Node<Sealed>, path: &mut Vec<PathSegment>, out: &mut Vec<String>) {
    match node {
        Node::Map(b) => walk_branch(b, path, out),
        Node::List(items) => {
            let mut i = 0;
            for item in items {
                if let ListItem::Value(v) = item {
                    path.push(PathSegment::Index(i));
                    walk_node(v, path, out);
                    path.pop();
                    i += 1;
                }
            }
        }
        leaf if is_enc(leaf) => out.push(show(path)),
        Node::Leaf(_) => {}
    }
}

/// Maps `f` over `items` on up to 8 threads; results in input order.
pub fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    // One item (`exec --env` of one file) needs no count of the cores, which reads the
    // cgroup's CPU quota from /proc and /sys.
    let threads = match items.len() {
        0 | 1 => 1,
        n => std::thread::available_parallelism()
            .map_or(1, |c| c.get())
            .min(8)
            .min(n),
    };
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut parts: Vec<(usize, R)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        mine.push((i, f(item)));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    parts.sort_by_key(|(i, _)| *i);
    parts.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_ignores_order() {
        let a = age::x25519::Identity::generate().to_public();
        let b = age::x25519::Identity::generate().to_public();
        let (sa, sb) = (a.to_string(), b.to_string());
        let wanted = vec![Recipient::X25519(b.clone()), Recipient::X25519(a.clone())];
        assert!(diff(&[&sa, &sb], &wanted).is_empty());
        let d = diff(&[&sa], &[Recipient::X25519(b)]);
        assert_eq!(d.added, vec![sb]);
        assert_eq!(d.removed, vec![sa]);
    }

    #[test]
    fn diff_compares_ssh_keys_without_their_comments() {
        let key =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN";
        let commented = format!("{key} alice@laptop");
        let wanted: Recipient = commented.parse().unwrap();
        assert!(diff(&[key], std::slice::from_ref(&wanted)).is_empty());
        assert!(diff(&[&format!("{key} old")], std::slice::from_ref(&wanted)).is_empty());
        // Added as configured, comment included.
        let d = diff(&[], &[wanted]);
        assert_eq!(d.added, vec![commented]);
    }

    #[test]
    fn parallel_map_keeps_order() {
        let v: Vec<usize> = (0..100).collect();
        assert_eq!(
            parallel_map(&v, |x| x * 2),
            v.iter().map(|x| x * 2).collect::<Vec<_>>()
        );
    }

    #[test]
    fn paths_are_readable() {
        assert_eq!(
            show(&[PathSegment::Key("db".into()), PathSegment::Index(0)]),
            "db.0"
        );
        assert_eq!(show(&[PathSegment::Key("a.b".into())]), "[\"a.b\"]");
    }
}
