//! One operation over many encrypted files: re-wrap each file's data key for the
//! recipients the config names (`updatekeys`), or rotate it (`rotate`, and the rotations of
//! [`super::offboard`]). Shaped as plan → apply → outcome:
//!
//! - [`plan`] says which files a command means (the named ones, a directory's encrypted
//!   files, or every encrypted file under the config's root) and, for each, the recipients
//!   it must end with, or why it cannot be processed (missing, a directory with nothing
//!   encrypted, in no environment, a config error). Nothing is read but the config and the
//!   directory listing.
//! - [`apply`] runs the plan on a few threads. Each file is locked, read, changed and
//!   written atomically on its own (see [`crate::fsutil::lock`]), so a file that fails is
//!   left byte for byte as it was while the others proceed.
//! - [`Outcome`] lists what happened to each file, in plan order.
//!
//! Re-wrapping keeps the data key, so it can only **add** readers: a recipient that loses
//! its stanza may have kept the data key, which still opens every value. A re-wrap that
//! would drop a recipient is therefore refused ([`BatchError::WouldDrop`]) unless the plan
//! says to rotate such files ([`Op::Update`] `rotate_on_drop`).
//!
//! Nothing here prints; paths are kept as given (named files) or absolute (found ones).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::config::{Config, ConfigError};
use crate::engine::{EncryptedFile, FileError};
use crate::fsutil::lock::Lock;
use crate::keys::recipient::same_key;
use crate::keys::{Identities, MasterKeys, Recipient, ServiceKeys, Shamir};
use crate::team::{self, Diff};

/// What a batch does to each file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Re-wrap the data key for the wanted recipients (values untouched). A file that would
    /// lose a recipient is refused, or rotated when `rotate_on_drop`.
    Update { rotate_on_drop: bool },
    /// A new data key, every value re-encrypted, wrapped for the wanted recipients.
    Rotate,
    /// Re-wrap for exactly the wanted recipients, dropping the stanzas of the others: only
    /// for keys whose holder keeps reading the file under a new key (`member rekey`, see
    /// [`super::rekey`]), never to take a reader away.
    Rewrap,
}

/// Why one file of a batch was not processed. Messages name the file, never a value.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// A named path that is missing, or a directory where a file is needed.
    #[error("{}: {why}", path.display())]
    NotAFile { path: PathBuf, why: &'static str },
    /// A named directory with no encrypted file under it.
    #[error("{}: a directory with no encrypted file under it", path.display())]
    NoEncryptedFile { path: PathBuf },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    File(#[from] FileError),
    /// Re-wrapping would take recipients out of the file while they may keep its data key.
    #[error("{}: would remove {} without rotating (a re-wrap keeps the data key, which they may have kept)", path.display(), who.join(", "))]
    WouldDrop {
        path: PathBuf,
        /// Member names, or abbreviated keys for keys no member has.
        who: Vec<String>,
    },
}

/// One file of a plan: the recipients it must end with (`None`: keep its own), or why it
/// cannot be processed.
#[derive(Debug)]
pub struct Job {
    pub path: PathBuf,
    pub recipients: Result<Option<Vec<Recipient>>, BatchError>,
    /// The Vault transit keys it must end with; `None`: keep its own (the commands about
    /// members leave the key services as they are).
    pub services: Option<ServiceKeys>,
    /// Whether it ends with sops key groups.
    pub grouping: Grouping,
}

/// The key groups a file must end with.
#[derive(Clone, Debug, Default)]
pub enum Grouping {
    /// Its own: the same groups (or none), with the job's recipients (a file in no
    /// environment).
    #[default]
    Own,
    /// One group: the job's recipients and key-service keys.
    Flat,
    /// The data key split across these groups (an environment with `key_groups`).
    Split(Shamir),
}

impl Grouping {
    /// The grouping `cfg` wants for `path`: its environment's, or the file's own when it is
    /// in none.
    pub fn wanted(cfg: &Config, path: &Path) -> Grouping {
        match team::wanted(cfg, &crate::config::absolute(path)) {
            Ok(Some(w)) => Grouping::of(&w),
            _ => Grouping::Own,
        }
    }

    pub fn of(w: &team::Wanted) -> Grouping {
        match &w.shamir {
            Some(s) => Grouping::Split(s.clone()),
            None => Grouping::Flat,
        }
    }
}

/// What a batch will do.
#[derive(Debug)]
pub struct Plan<'c> {
    pub op: Op,
    pub jobs: Vec<Job>,
    /// Files found by walking that are in no environment (left alone by `updatekeys`).
    pub skipped: Vec<PathBuf>,
    /// The config keys are described with (member names); `None` without a config.
    pub config: Option<&'c Config>,
    /// What an [`Op::Rewrap`] swaps (a rekeyed member's old keys for the new one): the
    /// old keys may leave a file or group only where the new key takes their place; any
    /// other reader leaving needs a rotation.
    pub swap: Option<Swap>,
}

/// A member's old keys and the key that replaces them (`member rekey`).
#[derive(Clone, Debug)]
pub struct Swap {
    pub old: Vec<String>,
    pub new: Recipient,
}

impl Swap {
    /// `keys` with each old key replaced by the new one (once per group).
    fn apply(&self, keys: &MasterKeys) -> MasterKeys {
        let swap_group = |g: &MasterKeys| {
            let mut age: Vec<Recipient> = Vec::new();
            for r in &g.age {
                let r = if self.old.iter().any(|o| same_key(o, &r.to_string())) {
                    self.new.clone()
                } else {
                    r.clone()
                };
                if !age.iter().any(|a| a.to_key_string() == r.to_key_string()) {
                    age.push(r);
                }
            }
            MasterKeys {
                age,
                services: g.services.clone(),
                shamir: None,
            }
        };
        match &keys.shamir {
            None => swap_group(keys),
            Some(s) => MasterKeys {
                shamir: Some(Shamir {
                    groups: s.groups.iter().map(swap_group).collect(),
                    threshold: s.threshold,
                }),
                ..MasterKeys::default()
            },
        }
    }
}

/// What became of one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Done {
    /// Already had the wanted recipients: not written.
    Unchanged,
    /// Data key re-wrapped, values untouched.
    Updated,
    /// New data key, every value re-encrypted.
    Rotated,
}

/// One file's result: what was done and how its recipients changed, or why it failed.
#[derive(Debug)]
pub struct FileOutcome {
    pub path: PathBuf,
    pub result: Result<(Done, Diff), BatchError>,
}

/// The result of [`apply`]: one entry per job, in plan order.
#[derive(Debug, Default)]
pub struct Outcome {
    pub files: Vec<FileOutcome>,
}

impl Outcome {
    /// The failed files.
    pub fn failures(&self) -> impl Iterator<Item = (&Path, &BatchError)> {
        self.files
            .iter()
            .filter_map(|f| f.result.as_ref().err().map(|e| (f.path.as_path(), e)))
    }

    pub fn all_succeeded(&self) -> bool {
        self.failures().next().is_none()
    }
}

/// Why a named path is not a file: missing, or a directory. `None` for a file.
pub fn not_a_file(path: &Path) -> Option<BatchError> {
    let why = match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => "is a directory",
        Ok(_) => return None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "no such file",
        Err(_) => "cannot be read",
    };
    Some(BatchError::NotAFile {
        path: path.to_path_buf(),
        why,
    })
}

/// A path to process; `named` when the user gave it (a named file must be in an
/// environment for `updatekeys`; files found by walking are skipped when not), or why it
/// cannot be processed.
struct Target {
    path: PathBuf,
    named: Result<bool, BatchError>,
}

/// The files to work on: the named ones, a named directory expanded to the encrypted
/// files under it (as without arguments, `.gitignore` respected), or every encrypted file
/// under the root. The root is walked at most once, however many directories are named.
fn targets(cfg: &Config, files: &[PathBuf]) -> Result<Vec<Target>, ConfigError> {
    let mut encrypted: Option<Vec<PathBuf>> = None;
    let mut walked = |under: Option<&Path>| -> Result<Vec<Target>, ConfigError> {
        let all = match &mut encrypted {
            Some(all) => all,
            none => none.insert(team::encrypted_files(cfg)?),
        };
        let under = under.map(crate::config::absolute);
        Ok(all
            .iter()
            .filter(|p| under.as_ref().is_none_or(|d| p.starts_with(d)))
            .map(|p| Target {
                path: p.clone(),
                named: Ok(false),
            })
            .collect())
    };
    if files.is_empty() {
        return walked(None);
    }
    let mut out = Vec::new();
    for f in files {
        if !f.is_dir() {
            out.push(Target {
                path: f.clone(),
                named: not_a_file(f).map_or(Ok(true), Err),
            });
            continue;
        }
        let found = walked(Some(f))?;
        if found.is_empty() {
            out.push(Target {
                path: f.clone(),
                named: Err(BatchError::NoEncryptedFile { path: f.clone() }),
            });
        }
        out.extend(found);
    }
    Ok(out)
}

/// Plans `op` over `files` (see [`targets`]) with the recipients `cfg` wants for each.
/// A file in no environment keeps its own recipients when rotated; for `updatekeys` it is
/// an error when named and skipped when found by walking.
pub fn plan<'c>(cfg: &'c Config, files: &[PathBuf], op: Op) -> Result<Plan<'c>, ConfigError> {
    let mut plan = Plan {
        op,
        jobs: Vec::new(),
        skipped: Vec::new(),
        config: Some(cfg),
        swap: None,
    };
    for Target { path, named } in targets(cfg, files)? {
        let explicit = match named {
            Ok(n) => n,
            Err(e) => {
                plan.jobs.push(Job {
                    path,
                    recipients: Err(e),
                    services: None,
                    grouping: Grouping::Own,
                });
                continue;
            }
        };
        let mut services = None;
        let mut grouping = Grouping::Own;
        let recipients = match team::wanted(cfg, &crate::config::absolute(&path)) {
            Ok(Some(w)) => {
                grouping = Grouping::of(&w);
                services = Some(w.services);
                Ok(Some(w.recipients))
            }
            Ok(None) => match op {
                Op::Rotate => Ok(None),
                Op::Update { .. } | Op::Rewrap if explicit => Err(ConfigError::command(
                    cfg.path(),
                    format!(
                        "{}: in no environment (add one: secrets env add ENV --files GLOB)",
                        path.display()
                    ),
                )
                .into()),
                Op::Update { .. } | Op::Rewrap => {
                    plan.skipped.push(path);
                    continue;
                }
            },
            Err(e) => Err(e.into()),
        };
        plan.jobs.push(Job {
            path,
            recipients,
            services,
            grouping,
        });
    }
    Ok(plan)
}

/// Plans a rotation of named files without a config: each keeps its own recipients (there
/// is no root to walk, so a directory is refused).
pub fn plan_files(files: &[PathBuf]) -> Plan<'static> {
    Plan {
        op: Op::Rotate,
        jobs: files
            .iter()
            .map(|p| Job {
                path: p.clone(),
                recipients: not_a_file(p).map_or(Ok(None), Err),
                services: None,
                grouping: Grouping::Own,
            })
            .collect(),
        skipped: Vec::new(),
        config: None,
        swap: None,
    }
}

/// Runs the plan: every job on up to 8 threads, each file locked, changed and written
/// atomically on its own. With `dry_run` every check is made (keys unwrapped, MACs
/// verified) and nothing is written.
pub fn apply(plan: Plan, ids: &Identities, dry_run: bool) -> Outcome {
    let results = team::parallel_map(&plan.jobs, |job| run_job(&plan, job, ids, dry_run));
    let files = plan
        .jobs
        .into_iter()
        .zip(results)
        .map(|(job, result)| FileOutcome {
            path: job.path,
            result: match (job.recipients, result) {
                (Err(e), _) => Err(e),
                (Ok(_), Some(r)) => r,
                (Ok(_), None) => Ok((Done::Unchanged, Diff::default())),
            },
        })
        .collect();
    Outcome { files }
}

/// Whether every plannable job would succeed: each file read, checked and changed in
/// memory, nothing written (a command that must change all files or none asks first).
pub fn would_succeed(plan: &Plan, ids: &Identities) -> bool {
    team::parallel_map(&plan.jobs, |job| run_job(plan, job, ids, true))
        .into_iter()
        .all(|r| r.is_none_or(|r| r.is_ok()))
}

/// One job of `plan`; `None` for a job that could not be planned (its error is the job's).
fn run_job(
    plan: &Plan,
    job: &Job,
    ids: &Identities,
    dry_run: bool,
) -> Option<Result<(Done, Diff), BatchError>> {
    let recipients = job.recipients.as_ref().ok()?;
    Some(one(
        plan,
        &job.path,
        recipients.as_deref(),
        job.services.as_ref(),
        &job.grouping,
        ids,
        dry_run,
    ))
}

/// One file: locked from read to write.
fn one(
    plan: &Plan,
    path: &Path,
    recipients: Option<&[Recipient]>,
    services: Option<&ServiceKeys>,
    grouping: &Grouping,
    ids: &Identities,
    dry_run: bool,
) -> Result<(Done, Diff), BatchError> {
    let lock = Lock::acquire(path).map_err(FileError::from)?;
    let (mut file, seen) = EncryptedFile::load_locked(&lock, None)?;
    let recipients = match recipients {
        Some(r) => r.to_vec(),
        None => team::current_recipients(&file)?,
    };
    if file.is_grouped() || matches!(grouping, Grouping::Split(_)) {
        let wanted = grouped_keys(&file, &recipients, services, grouping)?;
        let done = one_grouped(plan, path, &mut file, &wanted, ids)?;
        if !dry_run && done.0 != Done::Unchanged {
            file.save_locked(&lock, &seen)?;
        }
        return Ok(done);
    }
    let mut d = team::diff(&file.recipients(), &recipients);
    if let Some(services) = services {
        let v = team::services_diff(&file.service_keys(), services);
        d.added.extend(v.added);
        d.removed.extend(v.removed);
    }
    let done = match plan.op {
        Op::Update { .. } if d.is_empty() => return Ok((Done::Unchanged, d)),
        Op::Update { rotate_on_drop } => {
            // The key is unwrapped and the MAC verified first: a tampered file is never
            // re-wrapped, and reports that rather than the refusal below.
            let key = file.data_key(ids)?;
            file.open(&key)?;
            if d.removed.is_empty() {
                file.rewrap(&key, &recipients)?;
                if let Some(services) = services {
                    file.add_service_keys(&key, services, &ids.services)?;
                }
                Done::Updated
            } else if rotate_on_drop {
                file.rotate_for(ids, &recipients, services)?;
                Done::Rotated
            } else {
                return Err(BatchError::WouldDrop {
                    path: path.to_path_buf(),
                    who: d.removed.iter().map(|k| describe(plan.config, k)).collect(),
                });
            }
        }
        Op::Rotate => {
            file.rotate_for(ids, &recipients, services)?;
            Done::Rotated
        }
        Op::Rewrap if d.is_empty() => return Ok((Done::Unchanged, d)),
        Op::Rewrap => {
            let others = rewrap_takes(plan, &file.master_keys()?, &MasterKeys::age(&recipients));
            if !others.is_empty() {
                return Err(BatchError::WouldDrop {
                    path: path.to_path_buf(),
                    who: others,
                });
            }
            // As for Update: the key unwrapped and the MAC verified before any change.
            let key = file.data_key(ids)?;
            file.open(&key)?;
            file.rewrap(&key, &recipients)?;
            Done::Updated
        }
    };
    if !dry_run {
        file.save_locked(&lock, &seen)?;
    }
    Ok((done, d))
}

/// Who a re-wrap from `current` to `wanted` would take something from, as people know
/// them: with the plan's swap made first (the old key where it was, the new one in its
/// place), any key leaving the file or a group, or a tighter layout. Empty: the re-wrap
/// only swaps keys.
fn rewrap_takes(plan: &Plan, current: &MasterKeys, wanted: &MasterKeys) -> Vec<String> {
    let swapped = match &plan.swap {
        Some(swap) => swap.apply(current),
        None => current.clone(),
    };
    let names = |k: &MasterKeys| -> Vec<String> {
        k.all_recipients().iter().map(|r| r.to_string()).collect()
    };
    let have = names(&swapped);
    let have: Vec<&str> = have.iter().map(String::as_str).collect();
    let d = team::diff(&have, &wanted.all_recipients());
    // The new key is not in the config the plan describes keys with: name it by the old.
    let shown = |k: &String| match &plan.swap {
        Some(swap) if same_key(&swap.new.to_string(), k) && !swap.old.is_empty() => {
            describe(plan.config, &swap.old[0])
        }
        _ => describe(plan.config, k),
    };
    let mut who: Vec<String> = d.removed.iter().map(shown).collect();
    if tightens(&swapped, wanted) {
        who.push("a key from its key group (or the groups were tightened)".into());
    }
    who
}

/// What a file that has or gets key groups must end with: the wanted groups, one flat
/// group, or its own groups holding only `recipients` (a key no group holds takes the
/// place of those a group lost: `member rekey` of a file in no environment).
fn grouped_keys(
    file: &EncryptedFile,
    recipients: &[Recipient],
    services: Option<&ServiceKeys>,
    grouping: &Grouping,
) -> Result<MasterKeys, FileError> {
    if let Grouping::Split(s) = grouping {
        return Ok(MasterKeys {
            shamir: Some(s.clone()),
            ..MasterKeys::default()
        });
    }
    let own = file.master_keys()?;
    // Flat wanted, or a file with a single `key_groups` entry (a flat file): the job's
    // readers.
    let Some(mut shamir) = own
        .shamir
        .clone()
        .filter(|_| matches!(grouping, Grouping::Own))
    else {
        return Ok(MasterKeys {
            age: recipients.to_vec(),
            services: services.cloned().unwrap_or_else(|| own.all_services()),
            shamir: None,
        });
    };
    let key = |r: &Recipient| r.to_key_string();
    let wanted: HashSet<String> = recipients.iter().map(key).collect();
    let held: HashSet<String> = own.all_recipients().iter().map(key).collect();
    let newcomers: Vec<&Recipient> = recipients
        .iter()
        .filter(|r| !held.contains(&key(r)))
        .collect();
    for g in &mut shamir.groups {
        let before = g.age.len();
        g.age.retain(|r| wanted.contains(&key(r)));
        if g.age.len() < before {
            g.age.extend(newcomers.iter().map(|r| (*r).clone()));
        }
    }
    Ok(MasterKeys {
        shamir: Some(shamir),
        ..MasterKeys::default()
    })
}

/// The keys of each group (age keys and key-service keys, sorted) and the threshold: two
/// files wrapped for the same layout have the same.
pub fn layout(keys: &MasterKeys) -> (Vec<Vec<String>>, usize) {
    match &keys.shamir {
        Some(s) => (s.groups.iter().map(group_keys).collect(), s.threshold),
        None => (vec![group_keys(keys)], 0),
    }
}

/// Whether `file` is split otherwise than `wanted` says (other groups, another threshold,
/// flat where groups are wanted or the reverse); a plain file wanted plain never is.
pub fn grouping_differs(file: &EncryptedFile, wanted: &team::Wanted) -> bool {
    (file.is_grouped() || wanted.shamir.is_some())
        && file.master_keys().ok().map(|k| layout(&k)) != Some(layout(&wanted.keys()))
}

/// One group's keys, sorted: age keys and key-service keys as [`ServiceKeys::diff`] names them.
fn group_keys(g: &MasterKeys) -> Vec<String> {
    let mut names: Vec<String> = g.age.iter().map(|r| r.to_key_string()).collect();
    names.extend(ServiceKeys::default().diff(&g.services).0);
    names.sort();
    names
}

/// Whether going from `current` to `wanted` takes anything from anyone: a key leaving a
/// group it was in (even one it stays in another of), a group more or fewer, a higher
/// threshold, or a flat file split into groups. Whoever could read the file before may
/// have kept its data key, so such a change needs a new one. Only adding keys to groups,
/// lowering the threshold or joining the groups into one flat file does not.
fn tightens(current: &MasterKeys, wanted: &MasterKeys) -> bool {
    match (&current.shamir, &wanted.shamir) {
        (None, None) | (Some(_), None) => false,
        (None, Some(_)) => true,
        (Some(c), Some(w)) => {
            c.groups.len() != w.groups.len()
                || w.threshold > c.threshold
                || c.groups.iter().zip(&w.groups).any(|(have, want)| {
                    let want = group_keys(want);
                    group_keys(have).iter().any(|k| !want.contains(k))
                })
        }
    }
}

/// A file that has or gets key groups. Every wrap of a grouped file splits the data key
/// again and wraps every share anew (as sops does), so there is no stanza to keep. The
/// data key is kept (the shares split again) only when nothing is taken from anyone;
/// a key leaving (the whole file or one group) or a tighter layout ([`tightens`]) needs a
/// rotation: refused by `updatekeys` without `--rotate`, as for flat files.
fn one_grouped(
    plan: &Plan,
    path: &Path,
    file: &mut EncryptedFile,
    wanted: &MasterKeys,
    ids: &Identities,
) -> Result<(Done, Diff), BatchError> {
    let current = file.master_keys()?;
    let mut d = team::diff(&file.recipients(), &wanted.all_recipients());
    let v = team::services_diff(&current.all_services(), &wanted.all_services());
    d.added.extend(v.added);
    d.removed.extend(v.removed);
    let same = d.is_empty() && layout(&current) == layout(wanted);
    let tighter = tightens(&current, wanted);
    let takes = !d.removed.is_empty() || tighter;
    // A re-wrap (`member rekey`) may only swap the member's old key for the new one.
    let rewrap_takes = rewrap_takes(plan, &current, wanted);
    let rewrap = |file: &mut EncryptedFile| -> Result<(), BatchError> {
        // Unwrapped and the MAC verified first: a tampered file is never re-wrapped.
        let key = file.data_key(ids)?;
        file.open(&key)?;
        file.wrap_for(&key, wanted, &ids.services)?;
        Ok(())
    };
    let done = match plan.op {
        Op::Update { .. } | Op::Rewrap if same => Done::Unchanged,
        Op::Rotate
        | Op::Update {
            rotate_on_drop: true,
        } if plan.op == Op::Rotate || takes => {
            file.rotate_to(ids, wanted)?;
            Done::Rotated
        }
        Op::Update {
            rotate_on_drop: false,
        } if takes => {
            let mut who: Vec<String> = d.removed.iter().map(|k| describe(plan.config, k)).collect();
            if tighter {
                who.push("a key from its key group (or the groups were tightened)".into());
            }
            return Err(BatchError::WouldDrop {
                path: path.to_path_buf(),
                who,
            });
        }
        Op::Rewrap if !rewrap_takes.is_empty() => {
            return Err(BatchError::WouldDrop {
                path: path.to_path_buf(),
                who: rewrap_takes,
            })
        }
        Op::Update { .. } | Op::Rewrap | Op::Rotate => {
            rewrap(file)?;
            Done::Updated
        }
    };
    Ok((done, d))
}

/// A key as people know it: the member's name, or the key abbreviated; a key-service key
/// (`hc_vault URL`, `kms ARN`) in full.
pub fn describe(cfg: Option<&Config>, key: &str) -> String {
    if crate::keys::is_service_key(key) {
        return key.to_string();
    }
    match cfg {
        Some(c) => c.describe_key(key),
        None => crate::config::abbreviate(key),
    }
}
