//! Merging three versions of one encrypted file, as git's merge driver (`secrets git
//! merge-driver %O %A %B %P`) and `secrets resolve` need it: decrypt base, ours and
//! theirs, merge the trees ([`crate::merge`]), and seal the result.
//!
//! - **Data key:** ours's, unless a side rotated (its data key is not the base's): then
//!   a fresh one. A rotation takes a reader away; keeping the other side's older key
//!   would hand the merged values back to them.
//! - **Recipients:** (`recipients`, below): under ours's kept key, both sides' and the
//!   config's; under a fresh key, those both sides have (the work tree's config is ours's
//!   while git merges, so it cannot say whom theirs removed, and in a cherry-pick the
//!   base does not say which side rotated).
//! - **Ciphertext:** values keep their `ENC[…]` text where they are unchanged: ours's
//!   IVs, and theirs's too when both sides share the data key (same key, same IV, same
//!   plaintext: the same ciphertext, never an IV reused for another plaintext).
//! - **Conflicts** keep ours's value and are recorded in `.git/secrets-merge/` by key path
//!   and the three blob ids: no value, so nothing there needs protecting. `resolve`
//!   reads the three versions from git's index (the conflict stages) or from those ids.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::crypto::{DataKey, IvStash};
use crate::engine::{EncryptedFile, FileError};
use crate::keys::{Identities, MasterKeys, Recipient, ServiceKeys, Services};
use crate::merge::{self, Conflict};
use crate::model::path::KeyPath;
use crate::model::{Branch, Plain};
use crate::store::Format;

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{path}: cannot merge: none of your identities opens {side}'s version ({}); git leaves the file conflicted", key_reason(error))]
    Undecryptable {
        path: PathBuf,
        side: &'static str,
        error: Box<FileError>,
    },
    #[error("{path}: {side}'s version is not encrypted while another is; git leaves the file conflicted")]
    Mixed { path: PathBuf, side: &'static str },
    #[error("{path}: {error}")]
    Config {
        path: PathBuf,
        error: Box<crate::config::ConfigError>,
    },
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {error}")]
    Git { path: PathBuf, error: git2::Error },
    #[error("{path}: no merge conflict recorded for it (git shows no conflict in the index, and no merge driver recorded one)")]
    NoConflict { path: PathBuf },
    /// Both sides rotated the data key and split it across different key groups: which
    /// layout removes whom cannot be told apart here.
    #[error("{path}: both sides rotated the data key with different key groups; git leaves the file conflicted (merge by hand, then secrets rotate)")]
    GroupsDiffer { path: PathBuf },
}

/// Why a version's data key did not unwrap, without the path the message already names.
fn key_reason(e: &FileError) -> String {
    match e {
        FileError::Key { error, .. } => error.to_string(),
        other => other.to_string(),
    }
}

/// The three versions parsed: `None` for a missing base (both sides added the file).
pub struct Parsed {
    pub base: Option<EncryptedFile>,
    pub ours: EncryptedFile,
    pub theirs: EncryptedFile,
}

/// Parses the three versions of `name` (the path in the repository, which gives the
/// format), as git hands them over: base, ours, theirs (empty bytes: no such version).
/// `Ok(None)`: none is encrypted (a plaintext file that matched the pattern; the caller
/// merges it as text).
pub fn parse(name: &Path, [base, ours, theirs]: [&[u8]; 3]) -> Result<Option<Parsed>, MergeError> {
    let one = |bytes: &[u8]| -> Result<Option<EncryptedFile>, FileError> {
        if bytes.is_empty() {
            return Ok(None);
        }
        // (a name that gives no format, `app.conf`: read by its content, as elsewhere)
        match EncryptedFile::parse(name, Format::of_encrypted(name, bytes), bytes) {
            Ok(f) => Ok(Some(f)),
            Err(FileError::NotEncrypted { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    };
    let (b, o, t) = (one(base)?, one(ours)?, one(theirs)?);
    let none_encrypted = b.is_none() && o.is_none() && t.is_none();
    if none_encrypted {
        return Ok(None);
    }
    let mixed = |side| MergeError::Mixed {
        path: name.to_path_buf(),
        side,
    };
    if b.is_none() && !base.is_empty() {
        return Err(mixed("the base"));
    }
    let ours_file = o.ok_or_else(|| mixed("ours"))?;
    let theirs_file = t.ok_or_else(|| mixed("theirs"))?;
    Ok(Some(Parsed {
        base: b,
        ours: ours_file,
        theirs: theirs_file,
    }))
}

/// The three versions decrypted and merged, ready to seal.
pub struct Plan {
    pub name: PathBuf,
    pub format: Format,
    pub base: Vec<Branch<Plain>>,
    pub ours: Vec<Branch<Plain>>,
    pub theirs: Vec<Branch<Plain>>,
    /// The merged documents: ours's value where they conflict.
    pub merged: Vec<Branch<Plain>>,
    pub conflicts: Vec<Conflict>,
    /// A side's data key differs from the base's: the result gets a fresh one.
    pub rotated: bool,
    template: EncryptedFile,
    key: DataKey,
    stash: IvStash,
    recipients: Vec<Recipient>,
    /// The key-service keys of either side, and the services that wrap for them.
    service_keys: ServiceKeys,
    services: Services,
    /// A side has sops key groups: what the merged file's stanzas are.
    groups: Option<GroupPlan>,
}

/// The stanzas of a merged file with sops key groups.
enum GroupPlan {
    /// Ours's, under ours's kept data key.
    Ours,
    /// Theirs's (the same data key, regrouped on their side).
    Theirs(Box<crate::metadata::Metadata>),
    /// A fresh data key split across these groups (the rotating side's).
    Wrap(MasterKeys),
}

/// Decrypts the three versions and merges them. `config`: the config the work tree has
/// now (its recipients for the file), if any.
pub fn plan(p: Parsed, ids: &Identities, config: Option<&Config>) -> Result<Plan, MergeError> {
    let name = p.ours.path.clone();
    let key_of = |f: &EncryptedFile, side| {
        f.data_key(ids).map_err(|error| MergeError::Undecryptable {
            path: name.clone(),
            side,
            error: Box::new(crate::workspace::name_recipients(error)),
        })
    };
    // Ours's key first, and only ours's when it fails: a key service that does not answer
    // is waited for once. The other versions are tried with the keys already in hand
    // (their MAC says whether one is theirs) before their own stanzas: no key service is
    // asked again in a merge without a rotation, and a member who joined by `updatekeys`
    // (the same key re-wrapped, so held only through the versions made since) opens the
    // versions from before.
    let ko = key_of(&p.ours, "ours")?;
    let kt = match key_under(&p.theirs, &[&ko]) {
        Some(k) => k,
        None => key_of(&p.theirs, "theirs")?,
    };
    let kb = match &p.base {
        Some(b) => Some(match key_under(b, &[&ko, &kt]) {
            Some(k) => k,
            None => key_of(b, "the base")?,
        }),
        None => None,
    };
    let sides = sides_rotated(kb.as_ref(), &ko, &kt);
    let rotated = sides.0 || sides.1;

    let mut stash = IvStash::default();
    let ours = p.ours.open_into(&ko, &mut stash)?;
    let theirs = if !rotated && same(&ko, &kt) {
        p.theirs.open_into(&kt, &mut stash)?
    } else {
        p.theirs.open(&kt)?.branches
    };
    let base = match (&p.base, &kb) {
        (Some(b), Some(k)) => b.open(k)?.branches,
        _ => Vec::new(),
    };
    let merged = merge::merge(&base, &ours, &theirs);

    let wanted = match config {
        Some(c) => crate::team::wanted(c, &crate::config::absolute(&name)).map_err(|error| {
            MergeError::Config {
                path: name.clone(),
                error: Box::new(error),
            }
        })?,
        None => None,
    };
    let groups = groups(&p, sides)?;
    let recipients = recipients(&p, sides, wanted.map(|w| w.recipients))?;
    let services = merged_services(&p, sides);
    let (key, stash) = if rotated {
        (DataKey::generate(), IvStash::default())
    } else {
        (ko, stash)
    };
    Ok(Plan {
        format: p.ours.format,
        name,
        base,
        ours,
        theirs,
        merged: merged.branches,
        conflicts: merged.conflicts,
        rotated,
        template: p.ours,
        key,
        stash,
        recipients,
        service_keys: services,
        services: ids.services.clone(),
        groups,
    })
}

/// The first of `keys` under which `file` decrypts and its MAC verifies: its data key.
fn key_under(file: &EncryptedFile, keys: &[&DataKey]) -> Option<DataKey> {
    keys.iter()
        .find(|k| file.read(k).is_ok())
        .and_then(|k| DataKey::from_slice(k.bytes()))
}

/// Whether two data keys are the same (compared in constant time).
fn same(a: &DataKey, b: &DataKey) -> bool {
    bool::from(subtle::ConstantTimeEq::ct_eq(
        &a.bytes()[..],
        &b.bytes()[..],
    ))
}

/// Whether each side (ours, theirs) has another data key than the base: a rotation. With
/// no base (both sides added the file), two different keys count as two rotations: who
/// either side removed is unknown, so only what both sides share is kept.
fn sides_rotated(kb: Option<&DataKey>, ko: &DataKey, kt: &DataKey) -> (bool, bool) {
    let same = |a: &DataKey, b: &DataKey| -> bool {
        bool::from(subtle::ConstantTimeEq::ct_eq(
            &a.bytes()[..],
            &b.bytes()[..],
        ))
    };
    match kb {
        Some(kb) => (!same(kb, ko), !same(kb, kt)),
        None if same(ko, kt) => (false, false),
        None => (true, true),
    }
}

/// The key-service keys of the merge, as [`recipients`] chooses age keys: both sides'
/// under ours's kept key; after a rotation, those both sides have, so a key service one
/// side removed does not get the fresh key back.
fn merged_services(p: &Parsed, sides: (bool, bool)) -> ServiceKeys {
    let (ours, theirs) = (p.ours.service_keys(), p.theirs.service_keys());
    match sides {
        (true, _) | (_, true) => ServiceKeys {
            hc_vault: ours
                .hc_vault
                .into_iter()
                .filter(|k| theirs.hc_vault.contains(k))
                .collect(),
            kms: ours
                .kms
                .into_iter()
                .filter(|k| theirs.kms.contains(k))
                .collect(),
            pgp: ours
                .pgp
                .into_iter()
                .filter(|k| theirs.pgp.contains(k))
                .collect(),
        },
        (false, false) => {
            let mut both = ours;
            both.union(&theirs);
            both
        }
    }
}

/// For a file with sops key groups on either side (`None` otherwise): under ours's kept
/// data key, ours's stanzas as they are; under a fresh key, the groups of the side that
/// rotated (a rotation removes readers, and the merge must not hand them the new key), or
/// of both when they rotated alike.
fn groups(p: &Parsed, sides: (bool, bool)) -> Result<Option<GroupPlan>, MergeError> {
    if !p.ours.is_grouped() && !p.theirs.is_grouped() {
        return Ok(None);
    }
    let keys = match sides {
        (false, false) => {
            // One data key throughout: every stanza holds it. A side that regrouped it
            // (`member rekey`, `updatekeys`) while the other kept the base's groups wins.
            let layout = |f: &EncryptedFile| f.master_keys().ok().map(|k| super::batch::layout(&k));
            let theirs_changed = p
                .base
                .as_ref()
                .is_some_and(|b| layout(&p.ours) == layout(b) && layout(&p.theirs) != layout(b));
            return Ok(Some(if theirs_changed {
                GroupPlan::Theirs(Box::new(p.theirs.metadata.clone()))
            } else {
                GroupPlan::Ours
            }));
        }
        (true, false) => p.ours.master_keys()?,
        (false, true) => p.theirs.master_keys()?,
        (true, true) => {
            let (o, t) = (p.ours.master_keys()?, p.theirs.master_keys()?);
            if super::batch::layout(&o) != super::batch::layout(&t) {
                return Err(MergeError::GroupsDiffer {
                    path: p.ours.path.clone(),
                });
            }
            o
        }
    };
    Ok(Some(GroupPlan::Wrap(keys)))
}

/// Who the merged file is wrapped for. While git merges, the work tree's config is still
/// ours's (theirs's config is merged in memory alongside), so it cannot say who a side
/// removed or added:
/// - under ours's kept data key (no side rotated), everyone either side wraps it for,
///   and whom the config wants: they all hold this key already, or may;
/// - under a fresh key, only who both sides wrap for: a rotation removes readers, and
///   the merge must not hand them the values again. Which side rotated is a guess from
///   the base ([`sides_rotated`]), and a wrong one when the base is not an ancestor of
///   ours: a cherry-pick onto an older branch (base: the picked commit's parent, after an
///   offboarding) makes ours look like the rotating side, and ours's recipients would
///   include the member removed. A member either side added is then missing until
///   `updatekeys` (`status` shows it).
fn recipients(
    p: &Parsed,
    sides: (bool, bool),
    wanted: Option<Vec<Recipient>>,
) -> Result<Vec<Recipient>, FileError> {
    let ours = crate::team::current_recipients(&p.ours)?;
    let theirs = crate::team::current_recipients(&p.theirs)?;
    let has = |set: &[Recipient], r: &Recipient| {
        set.iter().any(|x| x.to_key_string() == r.to_key_string())
    };
    let mut out: Vec<Recipient> = Vec::new();
    match sides {
        (false, false) => {
            for r in wanted.into_iter().flatten().chain(ours).chain(theirs) {
                if !has(&out, &r) {
                    out.push(r);
                }
            }
        }
        _ => out = ours.into_iter().filter(|r| has(&theirs, r)).collect(),
    }
    Ok(out)
}

impl Plan {
    /// The merged file, encrypted: under ours's data key, or a fresh one when a side rotated.
    pub fn seal(&self) -> Result<EncryptedFile, FileError> {
        let mut file = self.template.clone();
        if let Some(groups) = &self.groups {
            match groups {
                GroupPlan::Ours => {}
                GroupPlan::Theirs(md) => {
                    file.metadata.keys = md.keys.clone();
                    file.metadata.key_groups = md.key_groups.clone();
                    file.metadata.shamir_threshold = md.shamir_threshold;
                }
                GroupPlan::Wrap(keys) => {
                    file.wrap_for(&self.key, keys, &self.services)?;
                    file.metadata.mac = String::new();
                }
            }
            file.reseal(&self.merged, &self.key, &self.stash)?;
            return Ok(file);
        }
        if self.rotated {
            // Every stanza held the old data key.
            file.metadata.keys = Default::default();
            file.metadata.mac = String::new();
        }
        file.add_service_keys(&self.key, &self.service_keys, &self.services)?;
        file.rewrap(&self.key, &self.recipients)?;
        file.reseal(&self.merged, &self.key, &self.stash)?;
        Ok(file)
    }

    /// Puts `value` (`None`: no such key) at a conflicting key of the merged documents.
    pub fn choose(
        &mut self,
        c: &Conflict,
        value: Option<crate::model::Node<Plain>>,
    ) -> Result<(), crate::model::path::PathError> {
        if c.path.0.is_empty() {
            // The whole file: `resolve` takes a side as a whole.
            return Ok(());
        }
        let doc = &mut self.merged[c.document];
        match value {
            Some(v) => doc.set_path(&c.path, v),
            None => match doc.unset_path(&c.path) {
                Err(crate::model::path::PathError::NotFound(_)) => Ok(()),
                other => other.map(|_| ()),
            },
        }
    }

    /// Takes one side's documents as they are (a conflict over the whole file).
    pub fn take_whole(&mut self, theirs: bool) {
        self.merged = if theirs {
            self.theirs.clone()
        } else {
            self.ours.clone()
        };
    }

    /// The node at a conflict's path in one version (`None`: the key is not there).
    pub fn node<'a>(
        docs: &'a [Branch<Plain>],
        c: &Conflict,
    ) -> Option<&'a crate::model::Node<Plain>> {
        docs.get(c.document)?.lookup(&c.path).ok()
    }
}

// ---- the conflict record ---------------------------------------------------------------

/// What the merge driver records about a conflicted file, under `.git/secrets-merge/`:
/// key paths and blob ids, never a value.
#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Record {
    pub path: String,
    pub base: Option<String>,
    pub ours: String,
    pub theirs: String,
    pub conflicts: Vec<RecordedConflict>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct RecordedConflict {
    pub document: usize,
    /// The key path as `resolve` and `get` take it (empty: the whole file).
    pub key: String,
}

impl Record {
    pub fn new(path: &str, versions: [&[u8]; 3], conflicts: &[Conflict]) -> Record {
        let id = |b: &[u8]| {
            git2::Oid::hash_object(git2::ObjectType::Blob, b)
                .map(|o| o.to_string())
                .unwrap_or_default()
        };
        Record {
            path: path.to_string(),
            base: (!versions[0].is_empty()).then(|| id(versions[0])),
            ours: id(versions[1]),
            theirs: id(versions[2]),
            conflicts: conflicts
                .iter()
                .map(|c| RecordedConflict {
                    document: c.document,
                    key: if c.path.0.is_empty() {
                        String::new()
                    } else {
                        c.path.to_string()
                    },
                })
                .collect(),
        }
    }
}

/// The directory of conflict records in a git dir (per worktree: `repo.path()`).
pub fn records_dir(git_dir: &Path) -> PathBuf {
    git_dir.join("secrets-merge")
}

/// The record file for a path in the repository.
pub fn record_path(git_dir: &Path, rel: &str) -> PathBuf {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(rel.as_bytes());
    let hex: String = digest[..10].iter().map(|b| format!("{b:02x}")).collect();
    records_dir(git_dir).join(format!("{hex}.json"))
}

pub fn write_record(git_dir: &Path, record: &Record) -> Result<PathBuf, MergeError> {
    let path = record_path(git_dir, &record.path);
    let io = |error| MergeError::Io {
        path: path.clone(),
        error,
    };
    std::fs::create_dir_all(records_dir(git_dir)).map_err(io)?;
    let text = serde_json::to_vec_pretty(record).map_err(|e| io(std::io::Error::other(e)))?;
    crate::fsutil::atomic_write(&path, &text).map_err(io)?;
    Ok(path)
}

pub fn read_record(git_dir: &Path, rel: &str) -> Option<Record> {
    let bytes = crate::fsutil::read_regular_at_most(&record_path(git_dir, rel), 1 << 20)
        .ok()
        .flatten()?;
    serde_json::from_slice(&bytes).ok()
}

pub fn remove_record(git_dir: &Path, rel: &str) {
    let _ = std::fs::remove_file(record_path(git_dir, rel));
}

/// The three versions of a conflicted file (base empty when there is none): from git's
/// index (the conflict stages), else from the blob ids the merge driver recorded.
pub fn conflicted_versions(repo: &git2::Repository, rel: &str) -> Result<[Vec<u8>; 3], MergeError> {
    let git = |error| MergeError::Git {
        path: PathBuf::from(rel),
        error,
    };
    let blob = |id: git2::Oid| -> Result<Vec<u8>, MergeError> {
        Ok(repo.find_blob(id).map_err(git)?.content().to_vec())
    };
    let index = repo.index().map_err(git)?;
    if let Ok(c) = index.conflict_get(Path::new(rel)) {
        if let (Some(o), Some(t)) = (&c.our, &c.their) {
            let base = match &c.ancestor {
                Some(a) => blob(a.id)?,
                None => Vec::new(),
            };
            return Ok([base, blob(o.id)?, blob(t.id)?]);
        }
    }
    // A record outlives an aborted merge: only trusted while one is under way (the file
    // was `git add`ed before `resolve`), never to rewrite a file long after.
    if repo.state() == git2::RepositoryState::Clean {
        return Err(MergeError::NoConflict {
            path: PathBuf::from(rel),
        });
    }
    let git_dir = repo.path();
    let record = read_record(git_dir, rel).ok_or_else(|| MergeError::NoConflict {
        path: PathBuf::from(rel),
    })?;
    // And only when it is this merge's record: ours is HEAD's version of the file and
    // theirs the version of the commit being merged or picked. One left by an aborted
    // merge would otherwise bring back a branch's values that were never merged.
    let blob_at = |rev: &str| {
        repo.revparse_single(&format!("{rev}:{rel}"))
            .ok()
            .map(|o| o.id().to_string())
    };
    let theirs_now = [
        "MERGE_HEAD",
        "CHERRY_PICK_HEAD",
        "REBASE_HEAD",
        "REVERT_HEAD",
    ]
    .iter()
    .find_map(|r| blob_at(r));
    if blob_at("HEAD").as_deref() != Some(record.ours.as_str())
        || theirs_now.as_deref() != Some(record.theirs.as_str())
    {
        return Err(MergeError::NoConflict {
            path: PathBuf::from(rel),
        });
    }
    let parse = |s: &str| git2::Oid::from_str(s).map_err(git);
    let base = match &record.base {
        Some(b) => blob(parse(b)?)?,
        None => Vec::new(),
    };
    Ok([
        base,
        blob(parse(&record.ours)?)?,
        blob(parse(&record.theirs)?)?,
    ])
}

/// Marks `rel` resolved in git's index (as `git add` does), dropping its conflict stages.
pub fn stage(repo: &git2::Repository, rel: &str) -> Result<(), MergeError> {
    let git = |error| MergeError::Git {
        path: PathBuf::from(rel),
        error,
    };
    let mut index = repo.index().map_err(git)?;
    index.add_path(Path::new(rel)).map_err(git)?;
    index.write().map_err(git)
}

/// The key path of a conflict as users type it.
pub fn shown(c: &Conflict) -> String {
    if c.path.0.is_empty() {
        return "(the whole file)".into();
    }
    let p = c.path.typed();
    if c.document > 0 {
        format!("document {}: {p}", c.document + 1)
    } else {
        p
    }
}

/// The config for the work tree at `dir`, if there is a valid one.
pub fn config_at(dir: &Path) -> Option<Config> {
    Config::discover_typed(dir).ok().flatten()
}

/// A key path a user typed, as the conflict it names.
pub fn find_conflict<'a>(conflicts: &'a [Conflict], typed: &str) -> Option<&'a Conflict> {
    let want = KeyPath::parse(typed).ok()?;
    conflicts
        .iter()
        .find(|c| c.path == want || c.path.typed() == typed)
}

// ---- the text `resolve` opens in the editor ----------------------------------------------

/// The YAML document `resolve` opens: one entry per conflicting key, with its `base`,
/// `ours` and `theirs` values (a side without the key leaves its line out) and a
/// `result` that starts as ours's. Whole-file conflicts are not in it.
pub fn resolution_doc(plan: &Plan) -> Branch<Plain> {
    use crate::model::{Item, Node, Scalar};
    let comment = |s: &str| Item::Comment {
        text: Plain::new(Scalar::Comment(format!(" {s}"))),
        inline: false,
    };
    let mut doc = Branch::new();
    for line in [
        &format!(
            "secrets resolve {}: {} key(s) changed differently on both sides.",
            plan.name.display(),
            plan.conflicts.len()
        )[..],
        "Edit each `result` to the value to keep (it starts as ours's); delete a `result`",
        "line to remove that key. base/ours/theirs are for reference; a side without the",
        "key has no line. Save and quit to write the encrypted file; quit without a",
        "change to write nothing. This text lives in a private temporary directory only.",
    ] {
        doc.items.push(comment(line));
    }
    for c in plan.conflicts.iter().filter(|c| !c.path.0.is_empty()) {
        let mut entry = Branch::new();
        for (label, docs) in [
            ("base", &plan.base),
            ("ours", &plan.ours),
            ("theirs", &plan.theirs),
        ] {
            if let Some(n) = Plan::node(docs, c) {
                entry.insert(label.to_string(), shown_value(plan.format, n));
            }
        }
        if let Some(n) = Plan::node(&plan.ours, c) {
            entry.insert("result".to_string(), shown_value(plan.format, n));
        }
        doc.insert(shown(c), Node::Map(entry));
    }
    doc
}

/// A value as `resolve` shows it: in a dotenv file, what its stored text means (`'a b'`
/// is `a b`), as `get` prints it and `set` takes it.
fn shown_value(format: Format, node: &crate::model::Node<Plain>) -> crate::model::Node<Plain> {
    use crate::model::{Node, Scalar};
    match node {
        Node::Leaf(l) if format == Format::Dotenv => match l.scalar() {
            Scalar::Str(stored) => match crate::store::dotenv::value_of(stored) {
                Ok(v) => Node::Leaf(Plain::new(Scalar::Str(v.to_string()))),
                Err(_) => node.clone(),
            },
            _ => node.clone(),
        },
        _ => node.clone(),
    }
}

/// The stored dotenv text for a typed `result`: a side's own text when it means that
/// value (its quoting kept), else the text `set` would write.
fn dotenv_text_for(plan: &Plan, c: &Conflict, typed: &str) -> String {
    use crate::model::{Node, Scalar};
    for docs in [&plan.ours, &plan.theirs, &plan.base] {
        if let Some(Node::Leaf(l)) = Plan::node(docs, c) {
            if let Scalar::Str(stored) = l.scalar() {
                if crate::store::dotenv::value_of(stored).is_ok_and(|v| *v == *typed) {
                    return stored.clone();
                }
            }
        }
    }
    std::mem::take(&mut *crate::store::dotenv::text_for(typed))
}

/// Applies the edited [`resolution_doc`] to the plan: each key's `result` (none: the key
/// is removed). Errors name the key, never a value.
pub fn apply_resolution(plan: &mut Plan, edited: &Branch<Plain>) -> Result<(), String> {
    use crate::model::Node;
    let conflicts: Vec<Conflict> = plan
        .conflicts
        .iter()
        .filter(|c| !c.path.0.is_empty())
        .cloned()
        .collect();
    let flat = matches!(plan.format, Format::Dotenv | Format::Ini);
    for c in &conflicts {
        let key = shown(c);
        let Some(Node::Map(entry)) = edited.get(&key) else {
            return Err(format!(
                "{key}: missing from the edited text (or not a map)"
            ));
        };
        let value = match entry.get("result") {
            None => None,
            Some(Node::Leaf(l)) if plan.format == Format::Dotenv => {
                let typed = l.scalar().to_text();
                Some(Node::Leaf(Plain::new(crate::model::Scalar::Str(
                    dotenv_text_for(plan, c, &typed),
                ))))
            }
            Some(Node::Leaf(l)) if flat => Some(Node::Leaf(Plain::new(match l.scalar() {
                crate::model::Scalar::Str(_) => l.scalar().clone(),
                other => crate::model::Scalar::Str(std::mem::take(&mut *other.to_text())),
            }))),
            Some(_) if flat => {
                return Err(format!(
                    "{key}: result must be one value in a {} file",
                    plan.format.name()
                ))
            }
            Some(n) => Some(n.clone()),
        };
        plan.choose(c, value).map_err(|e| format!("{key}: {e}"))?;
    }
    Ok(())
}
