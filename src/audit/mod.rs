//! `secrets audit`: who can read what, now and in history, as one report. Facts are
//! gathered once into a [`Report`] (plain data, serialisable), then rendered by one module
//! per format: [`markdown`], [`html`], and JSON through serde.
//!
//! The report holds:
//! - the access matrix: for each encrypted file, each member the config grants its
//!   environment and each recipient actually in its sops metadata, with drift both ways
//!   (`missing`: granted, not in the file; `not_granted`: in the file, not granted);
//! - the same for key-service keys (Vault transit, AWS KMS, PGP): those the environment
//!   lists and those the file's metadata is wrapped with, named as `status` and
//!   `updatekeys` name them ([`ServiceKeys::diff`]);
//! - for each key `.secrets.yaml` named once and names no more (a member removed, or a key
//!   replaced), the files whose history was wrapped for it and whether each got a new data
//!   key after their stanza went ([`history`] says how a rotation is recognised);
//! - each file's data-key age (its last rotation or creation);
//! - the values past their schema `max_age` ([`crate::policy::check::check_ages`]);
//! - the last change of every value ([`crate::policy::staleness`]).
//!
//! Never a value, a ciphertext or key material: names, key paths, public keys
//! (abbreviated), commits, authors and dates.

pub mod history;
pub mod html;
pub mod markdown;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{abbreviate, rel_string, Config, ConfigError};
use crate::engine::EncryptedFile;
use crate::keys::recipient::{key_part, same_key};
use crate::keys::{Identities, ServiceKeys};
use crate::policy::check::{self, EnvValues, RuleName, Subject};
use crate::policy::staleness::{self, Change, Freshness, StaleError};
use crate::store::Format;
use history::{Access, Origin};

/// What stops an audit. Messages name files, never values.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Stale(#[from] StaleError),
    #[error("{path}: reading git history: {error}")]
    Git { path: PathBuf, error: git2::Error },
}

/// A commit (or the working tree) as the report shows it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct When {
    /// Full hex id; `None`: not committed yet.
    pub commit: Option<String>,
    pub author: Option<String>,
    /// The change's time (the earlier of author and committer times), RFC 3339 (UTC),
    /// and unix seconds.
    pub date: Option<String>,
    pub time: Option<i64>,
    pub summary: Option<String>,
    /// Whole days between the change and the report.
    pub age_days: Option<i64>,
}

impl When {
    fn of(origin: &Origin, now: i64) -> When {
        match origin {
            Origin::Commit(c) => When::change(c, now),
            Origin::Uncommitted => When {
                commit: None,
                author: None,
                date: None,
                time: None,
                summary: Some("not committed yet".into()),
                age_days: None,
            },
        }
    }

    fn change(c: &Change, now: i64) -> When {
        When {
            commit: Some(c.commit.clone()),
            author: Some(c.author.clone()),
            date: crate::config::format_time(c.time),
            time: Some(c.time),
            summary: Some(c.summary.clone()),
            age_days: Some(now.saturating_sub(c.time).max(0) / 86_400),
        }
    }

    /// `2026-01-02 by alice (abc1234)`, or `not committed yet`.
    pub fn short(&self) -> String {
        match (&self.commit, &self.date, &self.author) {
            (Some(c), Some(d), Some(a)) => {
                format!(
                    "{} by {a} ({})",
                    &d[..10.min(d.len())],
                    &c[..7.min(c.len())]
                )
            }
            _ => "not committed yet".into(),
        }
    }
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    /// When it was made (RFC 3339).
    pub generated_at: String,
    /// The commit HEAD pointed at; `None` outside git or before the first commit.
    pub head: Option<String>,
    /// The current members, in config order.
    pub members: Vec<String>,
    pub environments: Vec<EnvAccess>,
    pub files: Vec<FileAccess>,
    pub removed: Vec<Removed>,
    pub max_age: Vec<Overdue>,
    pub values: Vec<ValueChange>,
    /// What the report could not look at, and why.
    pub notes: Vec<String>,
}

/// What the config grants: an environment's members, key-service keys and files.
#[derive(Debug, Serialize)]
pub struct EnvAccess {
    pub name: String,
    pub members: Vec<String>,
    /// Its Vault transit, AWS KMS and PGP keys: `hc_vault URL`, `kms ARN`, `pgp FP`.
    pub services: Vec<String>,
    pub files: Vec<String>,
}

/// One encrypted file: who can read it, and since when its data key is what it is.
#[derive(Debug, Serialize)]
pub struct FileAccess {
    /// Relative to the config's directory, `/`-separated.
    pub file: String,
    pub environment: Option<String>,
    pub access: Vec<Holder>,
    /// The key-service keys its environment lists and those its data key is wrapped with.
    pub services: Vec<ServiceAccess>,
    pub data_key: DataKeyAge,
    /// The commits that hold the file unencrypted (committed before it was encrypted, or a
    /// decrypted copy over it), newest first: its values there are in history in clear.
    pub plaintext_in: Vec<When>,
    /// Why the file could not be read (it is then in no other section).
    pub error: Option<String>,
}

/// A member, or a key that is no member's, and their access to one file.
#[derive(Clone, Debug, Serialize)]
pub struct Holder {
    /// A member's name; a removed member's name with ` (removed)`; else the key abbreviated.
    pub who: String,
    /// Abbreviated public keys.
    pub recipients: Vec<String>,
    /// The config grants them the file's environment.
    pub granted: bool,
    /// The file is wrapped for them (for every key of theirs, when granted).
    pub in_file: bool,
    /// `missing` (granted, not in the file) or `not_granted` (in the file, not granted);
    /// never set for a file in no environment (nothing is granted there).
    pub drift: Option<&'static str>,
}

/// A key-service key (Vault transit, AWS KMS, PGP) and one file: whoever may use the key
/// (a Vault token's or an IAM policy's holder, a gpg keyring) reads the file.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceAccess {
    /// As [`ServiceKeys::diff`] names it: `hc_vault URL`, `kms ARN`, `pgp FINGERPRINT`
    /// (a KMS key's context and profile included: another context is another key).
    pub key: String,
    /// The file's environment lists it.
    pub granted: bool,
    /// The file's sops metadata has a stanza of it.
    pub in_file: bool,
    /// `missing` or `not_granted`, as for [`Holder`]; never set for a file in no
    /// environment.
    pub drift: Option<&'static str>,
}

/// When a file's data key was last replaced.
#[derive(Debug, Serialize)]
pub struct DataKeyAge {
    /// `rotated`, `created` (the file's first key, also when it was in clear before:
    /// method `encrypted`), `uncommitted` (rotated, not committed) or `unknown`.
    pub state: &'static str,
    /// `key` (compared unwrapped keys), `ciphertext`, `created`, `encrypted` (the version
    /// before held the file in clear); `None` when unknown.
    pub method: Option<&'static str>,
    pub since: Option<When>,
    pub reason: Option<String>,
}

/// A key the config no longer names, and the files its holder could read.
#[derive(Debug, Serialize)]
pub struct Removed {
    pub member: String,
    pub recipient: String,
    /// `removed` (the member left) or `replaced` (the member's key changed).
    pub how: &'static str,
    pub removed_in: When,
    pub files: Vec<RemovedFile>,
}

/// One file a former reader could open, and whether its data key changed since.
#[derive(Debug, Serialize)]
pub struct RemovedFile {
    pub file: String,
    /// `rotated`, `not_rotated`, `still_recipient` or `unknown`.
    pub state: &'static str,
    /// The version that no longer had their stanza.
    pub dropped_in: Option<When>,
    /// The version with the first new data key after it.
    pub rotated_in: Option<When>,
    pub method: Option<&'static str>,
}

/// A value past (or not checkable against) its schema `max_age`.
#[derive(Debug, Serialize)]
pub struct Overdue {
    pub environment: String,
    pub file: String,
    /// The variable name the rule names.
    pub name: String,
    /// `overdue`, or `unknown` when its age cannot be told.
    pub state: &'static str,
    pub detail: String,
}

/// The last change of one value.
#[derive(Debug, Serialize)]
pub struct ValueChange {
    pub file: String,
    /// Key path, dotted.
    pub key: String,
    /// `changed`, `uncommitted` or `unknown`.
    pub state: &'static str,
    pub last_change: Option<When>,
    pub reason: Option<String>,
}

/// Gathers the report for the repository of `config`, with `ids` to unwrap data keys
/// where they can (only to compare them), at `now` (unix seconds).
pub fn gather(config: &Config, ids: &Identities, now: i64) -> Result<Report, AuditError> {
    let mut notes = Vec::new();
    // libgit2 re-hashes (SHA-1, collision-detecting) every object it reads, and the walks
    // below read each directory's tree once per commit: that was two thirds of an audit's
    // time. git itself does not re-hash on read (`git fsck` does); neither do we here.
    git2::opts::strict_hash_verification(false);
    let paths = crate::team::encrypted_files(config)?;
    let shown = |p: &Path| {
        config
            .relative(p)
            .map(|r| rel_string(&r))
            .unwrap_or_else(|| p.display().to_string())
    };
    let mut loaded: BTreeMap<PathBuf, EncryptedFile> = BTreeMap::new();
    let mut errors: HashMap<PathBuf, String> = HashMap::new();
    let results = crate::team::parallel_map(&paths, |p| EncryptedFile::load(p, None));
    for (p, r) in paths.iter().zip(results) {
        match r {
            Ok(f) => {
                loaded.insert(p.clone(), f);
            }
            Err(e) => {
                errors.insert(p.clone(), e.to_string());
            }
        }
    }
    let hist = history::read(config, &loaded, ids).map_err(|error| AuditError::Git {
        path: config.root().to_path_buf(),
        error,
    })?;
    if hist.is_none() {
        notes.push(
            "not in a git repository with commits: history (removed members, data-key age, last changes) is unknown".into(),
        );
    }
    if let Some(h) = &hist {
        for c in &h.unreadable_configs {
            notes.push(format!(
                "the config at commit {} could not be read: a removal there may be missed",
                &c[..7]
            ));
        }
    }
    let head = git2::Repository::discover(config.root())
        .ok()
        .and_then(|r| r.head().ok()?.target())
        .map(|o| o.to_string());

    // Names for keys that are no current member's: removed members' names from history.
    let removed_name: HashMap<String, String> = hist
        .iter()
        .flat_map(|h| &h.removed)
        .map(|r| (r.key.clone(), format!("{} (removed)", r.member)))
        .collect();

    let members: Vec<String> = config.members().iter().map(|m| m.name.clone()).collect();
    let mut env_files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut files = Vec::new();
    for p in &paths {
        let rel = config.relative(p).unwrap_or_default();
        let environment = config.environment_for(&rel).map(str::to_string);
        let file_history = hist.as_ref().and_then(|h| h.files.get(p));
        let data_key = data_key_age(file_history, now);
        let plaintext_in: Vec<When> = file_history
            .map(|h| {
                h.plaintext_versions()
                    .map(|v| When::of(&v.origin, now))
                    .collect()
            })
            .unwrap_or_default();
        let Some(file) = loaded.get(p) else {
            files.push(FileAccess {
                file: shown(p),
                environment,
                access: Vec::new(),
                services: Vec::new(),
                data_key,
                plaintext_in,
                error: errors.get(p).cloned(),
            });
            continue;
        };
        if let Some(env) = &environment {
            env_files.entry(env.clone()).or_default().push(shown(p));
        }
        files.push(FileAccess {
            file: shown(p),
            access: holders(config, environment.as_deref(), file, &removed_name),
            services: service_access(
                environment
                    .as_deref()
                    .and_then(|e| config.environment(e))
                    .map(|e| &e.services),
                &file.service_keys(),
            ),
            environment,
            data_key,
            plaintext_in,
            error: None,
        });
    }
    let environments = config
        .environments()
        .iter()
        .map(|e| EnvAccess {
            name: e.name.clone(),
            members: e.members.clone(),
            services: key_names(&e.services),
            files: env_files.remove(&e.name).unwrap_or_default(),
        })
        .collect();

    let removed = match &hist {
        Some(h) => removed_section(h, &shown, now),
        None => Vec::new(),
    };

    // Last change of every value, and max_age from it.
    let readable: Vec<PathBuf> = loaded.keys().cloned().collect();
    let changes = staleness::last_changes_with(&readable, Some(ids))?;
    let mut values = Vec::new();
    let mut ages: HashMap<(String, String), Freshness> = HashMap::new();
    for (p, list) in &changes {
        let file = shown(p);
        let mut names =
            crate::store::shown_keys(crate::store::Format::from_path(p), list).into_iter();
        for (key, fresh) in list {
            let (state, last_change, reason) = match fresh {
                Freshness::Changed(c) => ("changed", Some(When::change(c, now)), None),
                Freshness::Uncommitted => (
                    "uncommitted",
                    Some(When::of(&Origin::Uncommitted, now)),
                    None,
                ),
                Freshness::Unknown(why) => ("unknown", None, Some(why.to_string())),
            };
            values.push(ValueChange {
                file: file.clone(),
                key: names.next().unwrap_or_else(|| key.clone()),
                state,
                last_change,
                reason,
            });
            ages.insert((file.clone(), key.clone()), fresh.clone());
        }
    }
    let max_age = overdue(config, &loaded, &shown, &ages, now);

    Ok(Report {
        generated_at: crate::config::format_time(now).unwrap_or_default(),
        head,
        members,
        environments,
        files,
        removed,
        max_age,
        values,
        notes,
    })
}

/// The access of every member granted the environment, and of every key in the file.
fn holders(
    config: &Config,
    env: Option<&str>,
    file: &EncryptedFile,
    removed_name: &HashMap<String, String>,
) -> Vec<Holder> {
    let in_file = file.recipients();
    let granted: Vec<&str> = env
        .and_then(|e| config.environment(e))
        .map(|e| e.members.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for m in config.members() {
        let keys: Vec<String> = m.recipients.iter().map(|r| r.to_string()).collect();
        let present = keys
            .iter()
            .filter(|k| in_file.iter().any(|f| same_key(f, k)))
            .count();
        let is_granted = granted.contains(&m.name.as_str());
        if !is_granted && present == 0 {
            continue;
        }
        let all = present == keys.len();
        let drift = match (env.is_some(), is_granted) {
            (false, _) => None,
            (true, true) if !all => Some("missing"),
            (true, false) => Some("not_granted"),
            _ => None,
        };
        out.push(Holder {
            who: m.name.clone(),
            recipients: keys.iter().map(|k| abbreviate(&key_part(k))).collect(),
            granted: is_granted,
            in_file: if is_granted { all } else { present > 0 },
            drift,
        });
    }
    for r in &in_file {
        if config.member_for_key(r).is_some() {
            continue;
        }
        let key = key_part(r).into_owned();
        out.push(Holder {
            who: removed_name
                .get(&key)
                .cloned()
                .unwrap_or_else(|| abbreviate(&key)),
            recipients: vec![abbreviate(&key)],
            granted: false,
            in_file: true,
            drift: env.is_some().then_some("not_granted"),
        });
    }
    out
}

/// Every key of `keys`, named as [`ServiceKeys::diff`] names them (what is added to
/// nothing is every key), so the audit, `status` and `updatekeys` agree on each name.
fn key_names(keys: &ServiceKeys) -> Vec<String> {
    ServiceKeys::default().diff(keys).0
}

/// The key-service keys `granted` by a file's environment (`None`: the file is in none)
/// and those `in_file`: the granted ones first, in config order, then the others.
fn service_access(granted: Option<&ServiceKeys>, in_file: &ServiceKeys) -> Vec<ServiceAccess> {
    let none = ServiceKeys::default();
    let (missing, extra) = in_file.diff(granted.unwrap_or(&none));
    let mut out: Vec<ServiceAccess> = granted
        .map(key_names)
        .unwrap_or_default()
        .into_iter()
        .map(|key| {
            let present = !missing.contains(&key);
            ServiceAccess {
                drift: (!present).then_some("missing"),
                key,
                granted: true,
                in_file: present,
            }
        })
        .collect();
    out.extend(extra.into_iter().map(|key| ServiceAccess {
        key,
        granted: false,
        in_file: true,
        drift: granted.is_some().then_some("not_granted"),
    }));
    out
}

fn data_key_age(h: Option<&history::FileHistory>, now: i64) -> DataKeyAge {
    let unknown = |reason: &str| DataKeyAge {
        state: "unknown",
        method: None,
        since: None,
        reason: Some(reason.to_string()),
    };
    let Some(h) = h else {
        return unknown("no git history for the file");
    };
    match h.key_since() {
        Some((v, m)) => DataKeyAge {
            state: match (&v.origin, m) {
                (Origin::Uncommitted, _) => "uncommitted",
                (_, history::Method::Created | history::Method::Encrypted) => "created",
                _ => "rotated",
            },
            method: Some(m.as_str()),
            since: Some(When::of(&v.origin, now)),
            reason: None,
        },
        None => unknown("a version of the file could not be read, or the clone is shallow"),
    }
}

fn removed_section(
    h: &history::History,
    shown: &dyn Fn(&Path) -> String,
    now: i64,
) -> Vec<Removed> {
    let mut out = Vec::new();
    for r in &h.removed {
        let mut files = Vec::new();
        for (p, fh) in &h.files {
            let Some(access) = fh.access_of(&r.key) else {
                continue;
            };
            let (state, dropped_in, rotated_in, method) = match &access {
                Access::StillRecipient => ("still_recipient", None, None, None),
                Access::Rotated {
                    dropped_by,
                    rotated_by,
                    method,
                } => (
                    "rotated",
                    Some(When::of(dropped_by, now)),
                    Some(When::of(rotated_by, now)),
                    Some(method.as_str()),
                ),
                Access::NotRotated { dropped_by } => {
                    ("not_rotated", Some(When::of(dropped_by, now)), None, None)
                }
                Access::Unknown { dropped_by } => {
                    ("unknown", Some(When::of(dropped_by, now)), None, None)
                }
            };
            files.push(RemovedFile {
                file: shown(p),
                state,
                dropped_in,
                rotated_in,
                method,
            });
        }
        out.push(Removed {
            member: r.member.clone(),
            recipient: abbreviate(&r.key),
            how: if r.replaced { "replaced" } else { "removed" },
            removed_in: When::of(&r.removed_by, now),
            files,
        });
    }
    out
}

/// `max_age` over every environment's values, by name and key path (nothing decrypted).
fn overdue(
    config: &Config,
    loaded: &BTreeMap<PathBuf, EncryptedFile>,
    shown: &dyn Fn(&Path) -> String,
    ages: &HashMap<(String, String), Freshness>,
    now: i64,
) -> Vec<Overdue> {
    let schema = config.schema();
    if !schema.rules.iter().any(|r| r.max_age.is_some()) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for env in config.environments() {
        let mut subjects = Vec::new();
        for (p, f) in loaded {
            let rel = config.relative(p).unwrap_or_default();
            if config.environment_for(&rel) != Some(env.name.as_str()) {
                continue;
            }
            let file = shown(p);
            let dotenv = f.format == Format::Dotenv;
            for (name, key) in crate::exec::env::names(&f.branches, dotenv) {
                subjects.push(Subject {
                    file: file.clone().into(),
                    name: name.into(),
                    key: key.into(),
                    value: None,
                });
            }
        }
        let view = EnvValues {
            name: &env.name,
            production: env.production,
            subjects: &subjects,
        };
        let age_of = |s: &Subject| ages.get(&(s.file.to_string(), s.key.to_string())).cloned();
        for f in check::check_ages(schema, &view, &age_of, now) {
            if f.rule != RuleName::MaxAge {
                continue;
            }
            out.push(Overdue {
                environment: f.env,
                file: f.file.unwrap_or_default(),
                name: f.key,
                state: if f.skipped { "unknown" } else { "overdue" },
                detail: f.detail,
            });
        }
    }
    out
}

/// The report as pretty JSON.
pub fn to_json(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("a report is JSON of strings and numbers")
}

/// The matrix's columns: the current members, then every other holder in first-seen order.
pub fn columns(report: &Report) -> Vec<String> {
    let mut out = report.members.clone();
    for f in &report.files {
        for h in &f.access {
            if !out.contains(&h.who) {
                out.push(h.who.clone());
            }
        }
    }
    out
}

/// The key-service matrix's columns: every environment's keys in config order, then every
/// other key a file is wrapped with, in first-seen order. Empty when no environment and no
/// file has one (the matrix is then left out).
pub fn service_columns(report: &Report) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let named = report.environments.iter().flat_map(|e| &e.services).chain(
        report
            .files
            .iter()
            .flat_map(|f| f.services.iter().map(|s| &s.key)),
    );
    for key in named {
        if !out.contains(key) {
            out.push(key.clone());
        }
    }
    out
}

/// One cell of the matrix: its text and its kind (`ok`, `drift`, `none`).
pub fn cell(file: &FileAccess, who: &str) -> (&'static str, &'static str) {
    match file.access.iter().find(|h| h.who == who) {
        None => ("", "none"),
        Some(h) => cell_text(h.drift, h.in_file),
    }
}

/// One cell of the key-service matrix, as [`cell`] says it.
pub fn service_cell(file: &FileAccess, key: &str) -> (&'static str, &'static str) {
    match file.services.iter().find(|s| s.key == key) {
        None => ("", "none"),
        Some(s) => cell_text(s.drift, s.in_file),
    }
}

fn cell_text(drift: Option<&str>, in_file: bool) -> (&'static str, &'static str) {
    match drift {
        Some("missing") => ("MISSING (granted, not in file)", "drift"),
        Some(_) => ("EXTRA (in file, not granted)", "drift"),
        None if in_file => ("reads", "ok"),
        None => ("", "none"),
    }
}

/// What the "Committed in plaintext" section says above its table (markdown and HTML).
pub const PLAINTEXT_INTRO: &str = "These files were committed unencrypted in the commits listed (before they were encrypted, or a decrypted copy over them): anyone with a clone reads the values those versions hold. Encrypting the file later does not take them back: give those values new ones (`secrets rotate-value FILE KEY`), and rewrite the history if the repository is shared (`git filter-repo`).";

/// What the section says when no version of an encrypted file was committed in clear.
pub const PLAINTEXT_NONE: &str = "No version of the files encrypted now was committed unencrypted since each was created at its path (first-parent line from HEAD; renames, deleted files, files unencrypted now and a shallow clone's cut-off history are not looked at: `secrets scan --history` finds secrets in any commit).";

impl Report {
    /// The files with versions committed in plaintext: the rows of that section.
    pub fn committed_in_plaintext(&self) -> Vec<&FileAccess> {
        self.files
            .iter()
            .filter(|f| !f.plaintext_in.is_empty())
            .collect()
    }
}

/// The commits of one file's plaintext versions, as the report's cell shows them.
pub fn plaintext_text(f: &FileAccess) -> String {
    f.plaintext_in
        .iter()
        .map(When::short)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A data key's age as one phrase: `rotated 2026-01-02 by alice (abc1234), 12 days ago`.
pub fn key_age_text(k: &DataKeyAge) -> String {
    match &k.since {
        Some(w) => {
            let days = w
                .age_days
                .map(|d| format!(", {d} days ago"))
                .unwrap_or_default();
            let how = k.method.map(|m| format!(" [{m}]")).unwrap_or_default();
            format!("{} {}{days}{how}", k.state, w.short())
        }
        None => format!("unknown: {}", k.reason.as_deref().unwrap_or("no history")),
    }
}
