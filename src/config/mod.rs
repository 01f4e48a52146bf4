//! The team config: `.secrets.yaml` at the repository root (public keys only, committed)
//! names the members and their keys, and the environments: which files belong to each
//! (globs) and which members may read them. When there is no `.secrets.yaml`, sops's
//! `.sops.yaml` `creation_rules` are read as an equivalent config.
//!
//! The text is parsed as written ([`raw`]) and validated once here into compiled globs and
//! parsed recipients, so every error names its line. Changes made by commands go through
//! [`edit`], which keeps the order and the comments of the file and writes it atomically.
//!
//! A file belongs to at most one environment: two environments whose globs claim the same
//! file are an error (found when loading for globs that visibly overlap, and when a file is
//! matched). Environments imported from sops use `path_regex` instead, and like sops the
//! first matching one wins (only when no glob matches).

pub mod edit;
pub mod error;
pub mod glob;
pub mod raw;
pub mod schema;
pub mod sops;
mod splice;

pub use error::ConfigError;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::keys::Recipient;
use crate::metadata::Rules;

/// The file name of the team config.
pub const FILE_NAME: &str = ".secrets.yaml";
/// The file name of sops's config.
pub const SOPS_FILE_NAME: &str = ".sops.yaml";

/// What the config says a new file is encrypted for.
pub struct CreationRule {
    /// The environment's members' keys and key-service keys (`vault_transit:`, `kms:`,
    /// `pgp:`; `.sops.yaml`'s `age`, `hc_vault_transit_uri`, `kms`, `pgp`), or its key
    /// groups.
    pub keys: crate::keys::MasterKeys,
    pub rules: Rules,
    /// The environment the rule comes from.
    pub environment: String,
}

/// Where a config came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `.secrets.yaml`
    Secrets,
    /// `.sops.yaml` creation rules, read as environments named `rule-1`, `rule-2`, …
    Sops,
}

/// A team member: a name and the public keys their files are wrapped for.
#[derive(Clone, Debug)]
pub struct Member {
    pub name: String,
    pub recipients: Vec<Recipient>,
    pub line: usize,
}

/// An environment: its files and who may read them.
#[derive(Clone, Debug)]
pub struct Environment {
    pub name: String,
    pub globs: Vec<String>,
    pub path_regex: Option<regex::Regex>,
    pub members: Vec<String>,
    /// Key-service keys every file of the environment is also wrapped with: Vault /
    /// OpenBao transit (`vault_transit: [URL]`) and AWS KMS (`kms: [ARN]`), so servers
    /// and CI decrypt with a Vault token or their AWS role.
    pub services: crate::keys::ServiceKeys,
    /// `key_groups:` (at least two): the data key is split across them and
    /// `shamir_threshold` of them give it back. Empty: one group, `members` and
    /// `services`. When set, `members` and `services` are every group's, together (who
    /// holds a share, for the commands about members).
    pub key_groups: Vec<GroupSpec>,
    pub shamir_threshold: usize,
    /// Key types a `.sops.yaml` rule names that this tool cannot wrap for (`gcp_kms`…),
    /// with their lines: files of the rule are read, never created or re-wrapped here.
    pub unsupported: Vec<(String, usize)>,
    pub rules: Rules,
    /// `production: true`: the built-in list of defaults and test values is forbidden.
    pub production: bool,
    pub line: usize,
    glob_lines: Vec<usize>,
    /// Compiled on first use: most commands ask the config-wide set in `Index` instead,
    /// and compiling a set costs about 0.15 M instructions (a tenth of `exec`'s start).
    matcher: std::sync::OnceLock<glob::Matcher>,
}

/// One key group of an environment: any one of its keys opens the group's share.
#[derive(Clone, Debug, Default)]
pub struct GroupSpec {
    pub members: Vec<String>,
    pub services: crate::keys::ServiceKeys,
    pub line: usize,
}

impl Environment {
    /// The position in `files` of the first glob matching `rel` (a file relative to the
    /// root); `None` when no glob matches (or the environment uses `path_regex`).
    pub fn glob_index(&self, rel_path: &Path) -> Option<usize> {
        let rel = rel_string(rel_path);
        // Each glob compiles to two patterns (itself and `glob/**`).
        self.matcher
            .get_or_init(|| {
                // The globs were checked when the config was loaded.
                glob::compile(&self.globs).unwrap_or_default()
            })
            .matches(rel.as_str())
            .into_iter()
            .min()
            .map(|hit| hit / 2)
    }
}

/// A validated config.
#[derive(Clone, Debug)]
pub struct Config {
    path: PathBuf,
    root: PathBuf,
    source: Source,
    members: Vec<Member>,
    envs: Vec<Environment>,
    default: Option<String>,
    revoking: Option<Revoking>,
    retiring: Vec<Retiring>,
    schema: schema::Schema,
    index: Index,
}

/// A previous value that `rotate-value --keep-previous` kept beside its successor for a
/// grace period (`retiring:` in `.secrets.yaml`): the expiry is committed with the config,
/// so `check` and `status` can say when it is due for removal on every clone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retiring {
    /// The file, relative to the config's directory, `/`-separated.
    pub file: String,
    /// The key path of the previous value in it, as typed (`jwt.signing_key_previous`).
    pub key: String,
    /// When the grace period ends (Unix seconds), and as written (RFC 3339).
    pub until: i64,
    pub until_text: String,
    /// The line of the entry.
    pub line: usize,
}

impl Retiring {
    /// Whether the grace period is over at `now` (Unix seconds).
    pub fn expired(&self, now: i64) -> bool {
        now >= self.until
    }
}

/// An RFC 3339 time (`2026-12-07T10:00:00Z`) as Unix seconds.
pub fn parse_time(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// Unix seconds as RFC 3339 in UTC, to the second (`2026-12-07T10:00:00Z`).
pub fn format_time(unix: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).ok()?;
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.format(&f).ok()
}

/// A revocation that was started and not finished (`revoking:` in `.secrets.yaml`):
/// `member remove` or `env revoke` records it before rotating the first file and removes it
/// with the same write that takes the members out, so an interruption or a file that could
/// not be rotated leaves it for everyone who pulls the config to see (`secrets status`).
/// Until it is finished, the members it names may still open the files not yet rotated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revoking {
    /// The environment they leave (`env revoke`); `None`: they leave the config (`member
    /// remove`).
    pub env: Option<String>,
    pub members: Vec<String>,
    /// The line of `revoking:`.
    pub line: usize,
}

impl Revoking {
    /// The command that finishes it (`member remove bob`, `env revoke dev bob carol`).
    pub fn command(&self) -> String {
        match &self.env {
            None => format!("member remove {}", self.members.join(" ")),
            Some(env) => format!("env revoke {env} {}", self.members.join(" ")),
        }
    }
}

/// Lookups that keep every per-file question (which environment, which recipients, whose
/// key) independent of the number of environments and members: with thousands of them,
/// a search per file made `status` quadratic (issue 10, case 8).
#[derive(Clone, Debug, Default)]
struct Index {
    /// Environment and member positions by name.
    envs: HashMap<String, usize>,
    members: HashMap<String, usize>,
    /// The member holding each key (as [`crate::keys::recipient::key_part`] gives it).
    keys: HashMap<String, usize>,
    /// The globs of every environment in one set, and the environment each pattern is
    /// of with the glob's position in its `files`.
    globs: glob::Matcher,
    glob_env: Vec<(usize, usize)>,
    /// The `path_regex` of the environments that have one (`None` when none has: even an
    /// empty set costs a compile), and their positions.
    regexes: Option<regex::RegexSet>,
    regex_env: Vec<usize>,
}

/// How many environment candidates the per-file lookups and the overlap check examined,
/// counted in unit tests to show the work is linear in the number of environments;
/// nothing in a release build.
#[cfg(test)]
pub(crate) mod work {
    use std::cell::Cell;
    thread_local!(static N: Cell<u64> = const { Cell::new(0) });
    pub fn add(n: usize) {
        N.with(|c| c.set(c.get() + n as u64));
    }
    pub fn take() -> u64 {
        N.with(|c| c.replace(0))
    }
}
#[cfg(not(test))]
pub(crate) mod work {
    #[inline(always)]
    pub fn add(_: usize) {}
}

/// Reads a config file (`.secrets.yaml`, `.sops.yaml`): it comes with the repository, so
/// only a regular file (a symbolic link to one is followed) of at most
/// [`crate::store::limits::MAX_CONFIG_SIZE`] bytes of UTF-8 is read. A FIFO would hang
/// every command, a link to `/dev/zero` or a huge file exhaust memory.
pub fn read_text(path: &Path) -> Result<String, ConfigError> {
    let max = crate::store::limits::MAX_CONFIG_SIZE;
    let fail = |error| ConfigError::Read {
        path: path.to_path_buf(),
        error,
    };
    let bytes = crate::fsutil::read_regular_at_most(path, max)
        .map_err(fail)?
        .ok_or_else(|| {
            fail(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                format!(
                    "larger than {} (the limit for a config file)",
                    crate::store::limits::size_text(max)
                ),
            ))
        })?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1;
        ConfigError::invalid(path, line, "not UTF-8 text")
    })
}

/// Member and environment names: a letter or digit, then letters, digits, `.`, `_`, `@`, `-`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'))
}

/// A path relative to the root as the globs see it (`/`-separated).
pub fn rel_string(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// A key shortened for display: `age1qyqs…x7k2`.
pub fn abbreviate(key: &str) -> String {
    let (kind, body) = match key.split_once(' ') {
        Some((k, b)) => (format!("{k} "), b),
        None => (String::new(), key),
    };
    let chars: Vec<char> = body.chars().collect();
    if chars.len() <= 16 {
        return key.to_string();
    }
    let head: String = chars[..8].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{kind}{head}…{tail}")
}

impl Config {
    /// Finds `.secrets.yaml` walking up from `start` (a directory or a file), stopping at
    /// the git root (a directory holding `.git`) or the filesystem root; when there is
    /// none, reads the nearest `.sops.yaml` the same way.
    pub fn discover(start: &Path) -> anyhow::Result<Option<Config>> {
        Ok(Self::discover_typed(start)?)
    }

    /// As [`Config::discover`], with the error type kept.
    pub fn discover_typed(start: &Path) -> Result<Option<Config>, ConfigError> {
        match find_config(start) {
            Some(path) => Self::load(&path).map(Some),
            None => Ok(None),
        }
    }

    /// As [`Config::discover`] for a command that only reads the config on every start of
    /// a program (`exec`, `export`): the same validation, less the check that the commands
    /// which edit the file could write back every scalar as it is written (a second parse,
    /// through the YAML store, a quarter of `exec`'s start). Those commands, `check` and
    /// `status` still refuse such a file, with its line; no meaning is lost.
    pub fn discover_to_read(start: &Path) -> anyhow::Result<Option<Config>> {
        let Some(path) = find_config(start) else {
            return Ok(None);
        };
        let text = read_text(&path)?;
        if path.file_name().is_some_and(|n| n == SOPS_FILE_NAME) {
            return Ok(Some(Self::parse_named(&path, &text)?));
        }
        Ok(Some(Self::from_text_checked(&path, &text, false)?))
    }

    /// Like [`Config::discover`], but a missing config is an error.
    pub fn require(start: &Path) -> Result<Config, ConfigError> {
        Self::discover_typed(start)?.ok_or_else(|| ConfigError::NotFound {
            start: start.to_path_buf(),
        })
    }

    /// Loads a config file; `.sops.yaml` is read as sops creation rules.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = read_text(path)?;
        Self::parse_named(path, &text)
    }

    /// Parses config text read elsewhere (a past revision, `--rev`) as [`Config::load`]
    /// reads the file `path`: `.sops.yaml` as sops creation rules, else `.secrets.yaml`.
    pub fn parse_named(path: &Path, text: &str) -> Result<Config, ConfigError> {
        if path.file_name().is_some_and(|n| n == SOPS_FILE_NAME) {
            let raw =
                sops::to_raw(text).map_err(|e| ConfigError::invalid(path, e.line, e.message))?;
            Self::validate(path, raw, Source::Sops)
        } else {
            Self::from_text(path, text)
        }
    }

    /// Parses and validates `.secrets.yaml` text; `path` names the file in errors and its
    /// directory is the root.
    pub fn from_text(path: &Path, text: &str) -> Result<Config, ConfigError> {
        Self::from_text_checked(path, text, true)
    }

    fn from_text_checked(path: &Path, text: &str, editable: bool) -> Result<Config, ConfigError> {
        let tree =
            raw::parse_yaml(text).map_err(|e| ConfigError::invalid(path, e.line, e.message))?;
        let to_raw = |tree| {
            raw::RawConfig::from_tree(tree)
                .map_err(|e| ConfigError::invalid(path, e.line, e.message))
        };
        if !editable {
            return Self::validate(path, to_raw(tree)?, Source::Secrets);
        }
        let raw = to_raw(tree.clone())?;
        // The member and env commands edit the file through the YAML store: what it
        // refuses (a key that is not a string, `9:`; an integer beyond 64 bits) is refused
        // here too, with its line, rather than by the first command that edits the file.
        let docs = match crate::store::yaml::parse::<crate::model::Sealed>(text) {
            Ok((docs, _)) => docs,
            Err(e) => {
                let (line, message) = match e {
                    crate::store::StoreError::Syntax { line, message, .. } => (line, message),
                    crate::store::StoreError::Unsupported(message)
                    | crate::store::StoreError::Refused(message) => (1, message),
                };
                return Err(ConfigError::invalid(path, line, message));
            }
        };
        // Those commands write back what the store read: text it reads as a number
        // (`00_1.`, `0x1F`, `1e3`) would come back as another text.
        if let Some(doc) = docs.first() {
            raw::same_scalars(&tree, &crate::model::Node::Map(doc.clone()))
                .map_err(|e| ConfigError::invalid(path, e.line, e.message))?;
        }
        Self::validate(path, raw, Source::Secrets)
    }

    fn validate(path: &Path, raw: raw::RawConfig, source: Source) -> Result<Config, ConfigError> {
        let bad = |line: usize, msg: String| ConfigError::invalid(path, line, msg);
        let mut members: Vec<Member> = Vec::new();
        let mut index = Index::default();
        // Each key's owner and line, by the key without its comment.
        let mut key_owner: HashMap<String, (usize, usize)> = HashMap::new();
        for m in &raw.members {
            let name = &m.name.value;
            if !valid_name(name) {
                return Err(bad(
                    m.name.line,
                    format!(
                        "invalid member name {name:?} (use letters, digits, '.', '_', '@', '-')"
                    ),
                ));
            }
            if m.keys.is_empty() {
                return Err(bad(
                    m.name.line,
                    format!("member {name:?} has no public key"),
                ));
            }
            let mut recipients = Vec::new();
            for k in &m.keys {
                let r = Recipient::from_str(&k.value)
                    .map_err(|e| bad(k.line, format!("member {name:?}: {e}")))?;
                // The same key under two comments is the same key.
                let s = r.to_key_string();
                if let Some((owner, line)) = key_owner.get(&s) {
                    let owner = &raw.members[*owner].name.value;
                    return Err(bad(
                        k.line,
                        format!(
                            "member {name:?} has the same key as member {owner:?} (line {line})"
                        ),
                    ));
                }
                key_owner.insert(s, (members.len(), k.line));
                let written = crate::keys::recipient::key_part(&r.to_string()).into_owned();
                index.keys.entry(written).or_insert(members.len());
                recipients.push(r);
            }
            index.members.insert(name.clone(), members.len());
            members.push(Member {
                name: name.clone(),
                recipients,
                line: m.name.line,
            });
        }
        let mut envs: Vec<Environment> = Vec::new();
        for e in &raw.environments {
            let name = &e.name.value;
            if !valid_name(name) {
                return Err(bad(e.name.line, format!("invalid environment name {name:?} (use letters, digits, '.', '_', '@', '-')")));
            }
            for g in &e.files {
                glob::check_inside(&g.value).map_err(|msg| {
                    bad(
                        g.line,
                        format!("environment {name:?}: glob {:?} {msg}", g.value),
                    )
                })?;
            }
            let globs: Vec<String> = e.files.iter().map(|g| glob::normalize(&g.value)).collect();
            let glob_lines: Vec<usize> = e.files.iter().map(|g| g.line).collect();
            glob::check(&globs).map_err(|(i, msg)| {
                let line = glob_lines.get(i).copied().unwrap_or(e.name.line);
                let shown = e.files.get(i).map(|g| g.value.as_str()).unwrap_or("");
                bad(
                    line,
                    format!("environment {name:?}: invalid glob {shown:?}: {msg}"),
                )
            })?;
            let path_regex = match &e.path_regex {
                Some(r) => Some(regex::Regex::new(&r.value).map_err(|err| {
                    bad(
                        r.line,
                        format!(
                            "environment {name:?}: invalid path_regex: {}",
                            first_line(&err.to_string())
                        ),
                    )
                })?),
                None => None,
            };
            let env_members = member_list(&e.members, &index, name, &bad)?;
            let rules = rules_of(&e.rules, name).map_err(|(line, msg)| bad(line, msg))?;
            let services = service_keys(&e.vault_transit, &e.pgp, &e.kms, name, &bad)?;
            let (key_groups, shamir_threshold) = key_groups_of(e, &index, &bad)?;
            let (env_members, services) = if key_groups.is_empty() {
                (env_members, services)
            } else {
                // Every group's members and keys: who holds a share.
                let mut members: Vec<String> = Vec::new();
                let mut all = crate::keys::ServiceKeys::default();
                for g in &key_groups {
                    for m in &g.members {
                        if !members.contains(m) {
                            members.push(m.clone());
                        }
                    }
                    all.union(&g.services);
                }
                (members, all)
            };
            index.envs.insert(name.clone(), envs.len());
            envs.push(Environment {
                name: name.clone(),
                globs,
                path_regex,
                members: env_members,
                services,
                key_groups,
                shamir_threshold,
                unsupported: e
                    .unsupported
                    .iter()
                    .map(|u| (u.value.clone(), u.line))
                    .collect(),
                rules,
                production: e.production.as_ref().is_some_and(|p| p.value),
                line: e.name.line,
                glob_lines,
                matcher: std::sync::OnceLock::new(),
            });
        }
        // Every environment's globs in one set (and its path_regex in one regex set):
        // a file is matched once, not once per environment.
        let all: Vec<String> = envs.iter().flat_map(|e| e.globs.iter().cloned()).collect();
        index.globs = glob::compile(&all).map_err(|(_, msg)| bad(1, msg))?;
        for (i, e) in envs.iter().enumerate() {
            // Each glob compiles to two patterns (see glob::compile).
            index
                .glob_env
                .extend((0..2 * e.globs.len()).map(|p| (i, p / 2)));
        }
        let regexes: Vec<(usize, &regex::Regex)> = envs
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.path_regex.as_ref().map(|r| (i, r)))
            .collect();
        if !regexes.is_empty() {
            let set =
                regex::RegexSet::new(regexes.iter().map(|(_, r)| r.as_str())).map_err(|e| {
                    bad(
                        1,
                        format!("the path_regex patterns cannot be compiled together: {e}"),
                    )
                })?;
            index.regexes = Some(set);
        }
        index.regex_env = regexes.iter().map(|(i, _)| *i).collect();
        // Two environments must not claim the same files: each example path of each glob
        // is matched once against all the globs.
        for (i, a) in envs.iter().enumerate() {
            for (g, line) in a.globs.iter().zip(&a.glob_lines) {
                for s in glob::samples(g) {
                    let hits = index.globs.matches(s.as_str());
                    work::add(1 + hits.len());
                    // The first pattern (in config order) of another environment.
                    let Some((j, other)) = hits
                        .into_iter()
                        .map(|h| index.glob_env[h])
                        .find(|&(j, _)| j != i)
                    else {
                        continue;
                    };
                    let b = &envs[j];
                    return Err(bad(
                        *line,
                        format!(
                            "glob {g:?} of environment {:?} overlaps glob {:?} of environment {:?} (line {}): a file such as {s} would be in both",
                            a.name, b.globs[other], b.name, b.glob_lines[other]
                        ),
                    ));
                }
            }
        }
        let default = match &raw.default {
            Some(d) => {
                if !index.envs.contains_key(&d.value) {
                    return Err(bad(
                        d.line,
                        format!("default environment {:?} is not defined", d.value),
                    ));
                }
                Some(d.value.clone())
            }
            None => None,
        };
        let revoking = match &raw.revoking {
            Some(r) => {
                if r.members.is_empty() {
                    return Err(bad(r.line, "revoking: no members".into()));
                }
                for m in &r.members {
                    if !members.iter().any(|x| x.name == m.value) {
                        return Err(bad(
                            m.line,
                            format!("revoking: unknown member {:?}", m.value),
                        ));
                    }
                }
                if let Some(e) = &r.env {
                    if !envs.iter().any(|x| x.name == e.value) {
                        return Err(bad(
                            e.line,
                            format!("revoking: unknown environment {:?}", e.value),
                        ));
                    }
                }
                if r.env.is_none() && r.members.len() > 1 {
                    return Err(bad(
                        r.line,
                        "revoking: a member removal names one member".into(),
                    ));
                }
                Some(Revoking {
                    env: r.env.as_ref().map(|e| e.value.clone()),
                    members: r.members.iter().map(|m| m.value.clone()).collect(),
                    line: r.line,
                })
            }
            None => None,
        };
        let retiring = validate_retiring(&raw, &bad)?;
        let schema = match &raw.schema {
            Some(section) => {
                let names: Vec<&str> = envs.iter().map(|e| e.name.as_str()).collect();
                schema::parse(section, &names).map_err(|e| bad(e.line, e.message))?
            }
            None => schema::Schema::default(),
        };
        let root = crate::fsutil::parent_dir(path);
        Ok(Config {
            path: path.to_path_buf(),
            root,
            source,
            members,
            envs,
            default,
            revoking,
            retiring,
            schema,
            index,
        })
    }

    /// The directory holding the config: environment globs are relative to it.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The config file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn source(&self) -> Source {
        self.source
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    pub fn member(&self, name: &str) -> Option<&Member> {
        self.index.members.get(name).map(|&i| &self.members[i])
    }

    /// [`Config::member`], or the error naming the member the commands give.
    pub fn member_or_error(&self, name: &str) -> Result<&Member, ConfigError> {
        self.member(name).ok_or_else(|| {
            ConfigError::command(
                self.path(),
                format!("unknown member {name:?} (see secrets member list)"),
            )
        })
    }

    pub fn environments(&self) -> &[Environment] {
        &self.envs
    }

    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.index.envs.get(name).map(|&i| &self.envs[i])
    }

    pub fn env_names(&self) -> Vec<&str> {
        self.envs.iter().map(|e| e.name.as_str()).collect()
    }

    /// The unfinished revocation the config records, if any.
    pub fn revoking(&self) -> Option<&Revoking> {
        self.revoking.as_ref()
    }

    /// The previous values kept for a grace period (`retiring:`), in file order.
    pub fn retiring(&self) -> &[Retiring] {
        &self.retiring
    }

    /// The rules on values (`schema:`); empty when the config has none.
    pub fn schema(&self) -> &schema::Schema {
        &self.schema
    }

    /// The `default:` environment, else the only one, else one named `dev`.
    pub fn default_env(&self) -> Option<&str> {
        if let Some(d) = &self.default {
            return Some(d);
        }
        match self.envs.as_slice() {
            [only] => Some(&only.name),
            _ => self.environment("dev").map(|e| e.name.as_str()),
        }
    }

    pub fn env_globs(&self, env: &str) -> Option<&[String]> {
        self.environment(env).map(|e| e.globs.as_slice())
    }

    /// The environment a file (relative to the root) belongs to; an error when the globs
    /// of two environments match it.
    pub fn classify(&self, rel_path: &Path) -> Result<Option<&Environment>, ConfigError> {
        let rel = rel_string(rel_path);
        // Environments in config order: the matched patterns are in that order.
        let hits = self.index.globs.matches(rel.as_str());
        work::add(1 + hits.len());
        let mut matched = hits.into_iter().map(|h| self.index.glob_env[h].0);
        if let Some(first) = matched.next() {
            if let Some(second) = matched.find(|&e| e != first) {
                let (first, second) = (&self.envs[first], &self.envs[second]);
                return Err(ConfigError::Ambiguous {
                    path: self.path.clone(),
                    file: rel,
                    first: first.name.clone(),
                    first_line: first.line,
                    second: second.name.clone(),
                    second_line: second.line,
                });
            }
            return Ok(Some(&self.envs[first]));
        }
        // As sops does: the first environment whose path_regex matches.
        let hit = self
            .index
            .regexes
            .as_ref()
            .and_then(|set| set.matches(&rel).iter().next());
        Ok(hit.map(|h| &self.envs[self.index.regex_env[h]]))
    }

    /// Which environment a file (relative to the root) belongs to; `None` also when two
    /// environments claim it (see [`Config::classify`] for the error).
    pub fn environment_for(&self, rel_path: &Path) -> Option<&str> {
        self.classify(rel_path)
            .ok()
            .flatten()
            .map(|e| e.name.as_str())
    }

    /// The recipients of an environment: its members' keys, in member order, without
    /// duplicates.
    pub fn env_recipients(&self, env: &str) -> Vec<Recipient> {
        match self.environment(env) {
            Some(e) => self.recipients_of(&e.members),
            None => Vec::new(),
        }
    }

    /// The keys of the named members, each once.
    fn recipients_of(&self, members: &[String]) -> Vec<Recipient> {
        let mut out: Vec<Recipient> = Vec::new();
        let mut seen = HashSet::new();
        for name in members {
            if let Some(m) = self.member(name) {
                for r in &m.recipients {
                    if seen.insert(r.to_key_string()) {
                        out.push(r.clone());
                    }
                }
            }
        }
        out
    }

    /// Refuses to wrap for an environment whose `.sops.yaml` rule names a key type this
    /// tool cannot use: the file would silently lack that key.
    pub fn check_wrappable(&self, env: &Environment) -> Result<(), ConfigError> {
        match env.unsupported.first() {
            None => Ok(()),
            Some((kind, line)) => Err(ConfigError::invalid(
                &self.path,
                *line,
                format!("{}: {kind} keys are not supported by this tool, so a file it wrapped would lack them (use sops for the files of this rule)", env.name),
            )),
        }
    }

    /// What an environment's files are wrapped for: its members' keys and its key-service
    /// keys, or its key groups (each group's members' keys and key-service keys).
    pub fn env_keys(&self, env: &Environment) -> crate::keys::MasterKeys {
        if env.key_groups.is_empty() {
            return crate::keys::MasterKeys {
                age: self.env_recipients(&env.name),
                services: env.services.clone(),
                shamir: None,
            };
        }
        let groups = env
            .key_groups
            .iter()
            .map(|g| crate::keys::MasterKeys {
                age: self.recipients_of(&g.members),
                services: g.services.clone(),
                shamir: None,
            })
            .collect();
        crate::keys::MasterKeys::grouped(groups, env.shamir_threshold)
    }

    /// The member a public key (as written in files, comment or not) belongs to.
    pub fn member_for_key(&self, key: &str) -> Option<&Member> {
        let key = crate::keys::recipient::key_part(key);
        self.index.keys.get(key.as_ref()).map(|&i| &self.members[i])
    }

    /// A key as a member name, or abbreviated when no member has it.
    pub fn describe_key(&self, key: &str) -> String {
        match self.member_for_key(key) {
            Some(m) => m.name.clone(),
            None => abbreviate(key),
        }
    }

    /// The path of `abs` relative to the root, if it is under it.
    pub fn relative(&self, abs: &Path) -> Option<PathBuf> {
        let abs = absolute(abs);
        let root = absolute(&self.root);
        abs.strip_prefix(&root).ok().map(Path::to_path_buf)
    }

    /// The files of `env` when every one of its globs is a plain path naming a file (or
    /// nothing): the commonest config (`files: [.env.prod]`) then needs no walk, which
    /// costs a fifth of `exec`'s start (the `ignore` crate reads git's config to find
    /// `core.excludesFile` and compiles a regex to do it). The same files as the walk in
    /// [`Config::walk_files`] would give for those globs, each once, in glob order, before
    /// any check of which environment claims them. `None` when a glob has a wildcard,
    /// names a directory or something inside `.git`, or the environment uses
    /// `path_regex`: the caller walks.
    pub fn literal_env_files(&self, env: &str) -> Option<Vec<PathBuf>> {
        let environment = self.environment(env)?;
        if environment.path_regex.is_some() {
            return None;
        }
        let root = absolute(&self.root);
        let mut out: Vec<PathBuf> = Vec::new();
        for g in &environment.globs {
            if glob::literal_base(g) != *g
                || g.split('/')
                    .any(|c| c.is_empty() || c == "." || c == ".git")
            {
                return None;
            }
            let path = root.join(g);
            match std::fs::symlink_metadata(&path) {
                Ok(m) if m.is_file() => {
                    if !out.contains(&path) {
                        out.push(path);
                    }
                }
                // A directory covers everything below it; a symlink is what the walk
                // would not follow: both are the walk's to decide.
                Ok(_) => return None,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(_) => return None,
            }
        }
        Some(out)
    }

    /// Every file under the root that the commands look at: what git sees (`.git` and what
    /// the ignore files exclude are skipped; hidden files such as `.env.prod` are included),
    /// plus the files git ignores that an environment's glob names. Absolute paths, sorted.
    ///
    /// A file git ignores is still a file of its environment: `.env` is in Python's usual
    /// `.gitignore`, and a command that skipped it would show an empty status, fail `exec`,
    /// and leave it unrotated by `member remove`. Walking without the ignore rules would
    /// enter `node_modules/`, `target/`, `.venv/` (often most of a tree), so the walk keeps
    /// them and adds the ignored files the globs name in two cheap ways:
    ///
    /// 1. the entries of each directory the walk entered that it did not yield are the
    ///    ignored ones there; each such *file* is matched against the globs (one
    ///    `read_dir` per walked directory, no file read, no ignored directory entered):
    ///    `.env`, `config/*.local.yaml`;
    /// 2. a glob's fixed leading path (all of `.env`, `secrets` of `secrets/**`) that the walk
    ///    did not reach lies in an ignored directory: it is looked at directly, and a
    ///    directory is walked from there without the ignore rules (the user named it).
    ///
    /// So a wildcard never reaches *into* an ignored directory: `**/.env` finds `app/.env`
    /// beside tracked files but not `node_modules/pkg/.env`.
    pub fn walk_files(&self) -> Result<Vec<PathBuf>, ConfigError> {
        let root = absolute(&self.root);
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        let walker = ignore::WalkBuilder::new(&root)
            .hidden(false)
            .parents(false)
            .filter_entry(not_git_or_temp)
            .build();
        for entry in walker {
            let entry = entry.map_err(|e| ConfigError::Read {
                path: root.clone(),
                error: std::io::Error::other(e.to_string()),
            })?;
            match entry.file_type() {
                Some(t) if t.is_file() => files.push(entry.into_path()),
                Some(t) if t.is_dir() => dirs.push(entry.into_path()),
                _ => {}
            }
        }
        if self.envs.iter().any(|e| !e.globs.is_empty()) {
            let ignored = self.ignored_named_files(&root, &files, &dirs);
            files.extend(ignored);
            files.sort();
            files.dedup();
        } else {
            files.sort();
        }
        Ok(files)
    }

    /// The files the walk skipped that a glob names (see [`Config::walk_files`]).
    fn ignored_named_files(
        &self,
        root: &Path,
        files: &[PathBuf],
        dirs: &[PathBuf],
    ) -> Vec<PathBuf> {
        let seen: std::collections::HashSet<&Path> =
            files.iter().chain(dirs).map(PathBuf::as_path).collect();
        let named = |p: &Path| {
            p.strip_prefix(root).is_ok_and(|rel| {
                let rel = rel_string(rel);
                self.index.globs.is_match(rel.as_str())
            })
        };
        let mut out = Vec::new();
        // 1. Ignored files beside walked ones.
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for e in entries.flatten() {
                let path = e.path();
                if e.file_type().is_ok_and(|t| t.is_file())
                    && !is_git_or_temp(&e.file_name())
                    && !seen.contains(path.as_path())
                    && named(&path)
                {
                    out.push(path);
                }
            }
        }
        // 2. Named paths inside ignored directories.
        for g in self.envs.iter().flat_map(|e| &e.globs) {
            let base = glob::literal_base(g);
            if base.is_empty() {
                continue;
            }
            let start = root.join(&base);
            if seen.contains(start.as_path()) {
                continue;
            }
            match std::fs::symlink_metadata(&start) {
                Ok(m) if m.is_file() && named(&start) => out.push(start),
                Ok(m) if m.is_dir() => {
                    let walker = ignore::WalkBuilder::new(&start)
                        .standard_filters(false)
                        .filter_entry(not_git_or_temp)
                        .build();
                    for entry in walker.flatten() {
                        if entry.file_type().is_some_and(|t| t.is_file()) && named(entry.path()) {
                            out.push(entry.into_path());
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Existing files under the root that belong to `env` (absolute paths, sorted); an
    /// error when a file matches two environments.
    pub fn env_files(&self, env: &str) -> anyhow::Result<Vec<PathBuf>> {
        if self.environment(env).is_none() {
            return Err(
                ConfigError::command(&self.path, format!("unknown environment {env:?}")).into(),
            );
        }
        let mut out = Vec::new();
        for file in self.walk_files()? {
            let Some(rel) = self.relative(&file) else {
                continue;
            };
            if self.classify(&rel)?.is_some_and(|e| e.name == env) {
                out.push(file);
            }
        }
        Ok(out)
    }

    /// The recipients and rules for encrypting `abs` under this config.
    pub fn creation_rule(&self, path: &Path) -> Result<Option<CreationRule>, ConfigError> {
        let Some(rel) = self.relative(path) else {
            return Ok(None);
        };
        let Some(env) = self.classify(&rel)? else {
            return Ok(None);
        };
        self.check_wrappable(env)?;
        let keys = self.env_keys(env);
        if keys.is_empty() {
            return Err(ConfigError::command(
                &self.path,
                format!(
                    "environment {:?} has no members (add one: secrets env grant {} MEMBER)",
                    env.name, env.name
                ),
            ));
        }
        Ok(Some(CreationRule {
            keys,
            rules: env.rules.clone(),
            environment: env.name.clone(),
        }))
    }
}

/// An environment's (or key group's) `members:`, each a known member, listed once.
fn member_list(
    members: &[raw::Spanned<String>],
    index: &Index,
    env: &str,
    bad: &dyn Fn(usize, String) -> ConfigError,
) -> Result<Vec<String>, ConfigError> {
    let mut out: Vec<String> = Vec::new();
    for m in members {
        if !index.members.contains_key(&m.value) {
            return Err(bad(
                m.line,
                format!("environment {env:?}: unknown member {:?} (members are listed under `members:`)", m.value),
            ));
        }
        if out.contains(&m.value) {
            return Err(bad(
                m.line,
                format!("environment {env:?}: member {:?} is listed twice", m.value),
            ));
        }
        out.push(m.value.clone());
    }
    Ok(out)
}

/// An environment's (or key group's) key-service keys, each parsed and listed once.
fn service_keys(
    vault_transit: &[raw::Spanned<String>],
    pgp: &[raw::Spanned<String>],
    kms: &[raw::Spanned<raw::RawKms>],
    env: &str,
    bad: &dyn Fn(usize, String) -> ConfigError,
) -> Result<crate::keys::ServiceKeys, ConfigError> {
    let mut services = crate::keys::ServiceKeys::default();
    for u in vault_transit {
        let k = crate::keys::TransitKey::parse(&u.value)
            .map_err(|err| bad(u.line, format!("environment {env:?}: {err}")))?;
        if !services.hc_vault.contains(&k) {
            services.hc_vault.push(k);
        }
    }
    for u in pgp {
        let k = crate::keys::PgpKey::parse(&u.value)
            .map_err(|err| bad(u.line, format!("environment {env:?}: {err}")))?;
        if !services.pgp.contains(&k) {
            services.pgp.push(k);
        }
    }
    for u in kms {
        let mut k = crate::keys::KmsKey::parse(&u.value.key)
            .map_err(|err| bad(u.line, format!("environment {env:?}: {err}")))?;
        k.context = u.value.context.iter().cloned().collect();
        k.aws_profile = u.value.aws_profile.clone();
        if !services.kms.contains(&k) {
            services.kms.push(k);
        }
    }
    Ok(services)
}

/// An environment's `key_groups` and `shamir_threshold` (absent: every group). One group
/// is the same as its keys written in the environment itself. Keys go either in the
/// environment or in its groups, not both; every group holds a key; the threshold is
/// 2 to the number of groups (sops's Shamir split needs two).
fn key_groups_of(
    e: &raw::RawEnv,
    index: &Index,
    bad: &dyn Fn(usize, String) -> ConfigError,
) -> Result<(Vec<GroupSpec>, usize), ConfigError> {
    let name = &e.name.value;
    if e.key_groups.is_empty() {
        if let Some(t) = &e.shamir_threshold {
            return Err(bad(
                t.line,
                format!("environment {name:?}: shamir_threshold needs key_groups"),
            ));
        }
        return Ok((Vec::new(), 0));
    }
    if !e.members.is_empty()
        || !e.vault_transit.is_empty()
        || !e.kms.is_empty()
        || !e.pgp.is_empty()
    {
        return Err(bad(
            e.name.line,
            format!("environment {name:?}: with key_groups, members and key-service keys go inside the groups"),
        ));
    }
    let mut groups = Vec::new();
    for g in &e.key_groups {
        let group = GroupSpec {
            members: member_list(&g.members, index, name, bad)?,
            services: service_keys(&g.vault_transit, &g.pgp, &g.kms, name, bad)?,
            line: g.line,
        };
        if group.members.is_empty() && group.services.is_empty() {
            return Err(bad(
                g.line,
                format!("environment {name:?}: a key group with no members or keys (when removing its last member emptied it: delete the group and lower shamir_threshold)"),
            ));
        }
        groups.push(group);
    }
    let n = groups.len();
    let threshold = match &e.shamir_threshold {
        None => n,
        Some(t) => match t.value.trim().parse::<usize>() {
            // 0 is "every group", as sops reads it.
            Ok(0) => n,
            Ok(v) if n == 1 || (2..=n).contains(&v) => v,
            _ => {
                return Err(bad(
                    t.line,
                    format!("environment {name:?}: shamir_threshold must be a number from 2 to {n} (the key groups)"),
                ))
            }
        },
    };
    Ok((groups, threshold))
}

/// `retiring:` entries: each names a file under the root, a key and an RFC 3339 time; a
/// file and key appear once.
fn validate_retiring(
    raw: &raw::RawConfig,
    bad: &dyn Fn(usize, String) -> ConfigError,
) -> Result<Vec<Retiring>, ConfigError> {
    let Some((_, entries)) = &raw.retiring else {
        return Ok(Vec::new());
    };
    let mut out: Vec<Retiring> = Vec::new();
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for e in entries {
        let field = |f: &Option<raw::Spanned<String>>, name: &str| {
            f.clone()
                .filter(|s| !s.value.trim().is_empty())
                .ok_or_else(|| bad(e.line, format!("retiring: an entry without {name}")))
        };
        let (file, key, until) = (
            field(&e.file, "file")?,
            field(&e.key, "key")?,
            field(&e.until, "until")?,
        );
        glob::check_inside(&file.value).map_err(|msg| {
            bad(
                file.line,
                format!(
                    "retiring: file {:?} {}",
                    file.value,
                    msg.replace("globs", "paths")
                ),
            )
        })?;
        let file_rel = glob::normalize(&file.value);
        crate::model::KeyPath::parse(&key.value)
            .map_err(|err| bad(key.line, format!("retiring: {err}")))?;
        let unix = parse_time(&until.value).ok_or_else(|| {
            bad(
                until.line,
                format!(
                    "retiring: until {:?} is not an RFC 3339 time (such as 2026-12-07T10:00:00Z)",
                    until.value
                ),
            )
        })?;
        if let Some(first) = seen.insert((file_rel.clone(), key.value.clone()), e.line) {
            return Err(bad(
                e.line,
                format!(
                    "retiring: {} {} is listed twice (first on line {first})",
                    file_rel, key.value
                ),
            ));
        }
        out.push(Retiring {
            file: file_rel,
            key: key.value,
            until: unix,
            until_text: until.value,
            line: e.line,
        });
    }
    Ok(out)
}

fn first_line(s: &str) -> String {
    s.lines().last().unwrap_or(s).trim().to_string()
}

fn rules_of(r: &raw::RawRules, env: &str) -> Result<Rules, (usize, String)> {
    let selectors = [
        &r.unencrypted_suffix,
        &r.encrypted_suffix,
        &r.unencrypted_regex,
        &r.encrypted_regex,
    ];
    let set: Vec<&raw::Spanned<String>> = selectors.iter().filter_map(|s| s.as_ref()).collect();
    if set.len() > 1 {
        return Err((
            set[1].line,
            format!("environment {env:?}: use only one of unencrypted_suffix, encrypted_suffix, unencrypted_regex, encrypted_regex"),
        ));
    }
    for re in [
        &r.unencrypted_regex,
        &r.encrypted_regex,
        &r.unencrypted_comment_regex,
        &r.encrypted_comment_regex,
    ]
    .into_iter()
    .flatten()
    {
        if let Err(e) = regex::Regex::new(&re.value) {
            return Err((
                re.line,
                format!(
                    "environment {env:?}: invalid regex: {}",
                    first_line(&e.to_string())
                ),
            ));
        }
    }
    let v = |s: &Option<raw::Spanned<String>>| s.as_ref().map(|s| s.value.clone());
    Ok(Rules {
        unencrypted_suffix: v(&r.unencrypted_suffix),
        encrypted_suffix: v(&r.encrypted_suffix),
        unencrypted_regex: v(&r.unencrypted_regex),
        encrypted_regex: v(&r.encrypted_regex),
        unencrypted_comment_regex: v(&r.unencrypted_comment_regex),
        encrypted_comment_regex: v(&r.encrypted_comment_regex),
        mac_only_encrypted: r.mac_only_encrypted.as_ref().is_some_and(|b| b.value),
    })
}

/// The walks' entry filter: not `.git`, and not one of our temp files or directories
/// ([`crate::tempfiles::is_temp_name`]).
pub fn not_git_or_temp(e: &ignore::DirEntry) -> bool {
    !is_git_or_temp(e.file_name())
}

fn is_git_or_temp(name: &std::ffi::OsStr) -> bool {
    name == ".git" || crate::tempfiles::is_temp_name(name)
}

/// An absolute form of a path without touching the file system (no symlink resolution,
/// except that the current directory is canonical).
pub fn absolute(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    // Drop `.` and resolve `..` lexically so prefixes compare.
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The directory to start looking from: the path itself if it is a directory, else its
/// parent.
fn start_dir(start: &Path) -> PathBuf {
    let abs = absolute(start);
    if abs.is_dir() {
        abs
    } else {
        abs.parent().map(Path::to_path_buf).unwrap_or(abs)
    }
}

/// The nearest `.secrets.yaml` up to the git root, else the nearest `.sops.yaml`.
pub fn find_config(start: &Path) -> Option<PathBuf> {
    let dir = start_dir(start);
    for name in [FILE_NAME, SOPS_FILE_NAME] {
        for d in dir.ancestors() {
            let candidate = d.join(name);
            // Whatever it is (a FIFO, a link to a device): loading it says what is wrong,
            // rather than a parent's config or none being used in its place.
            if candidate
                .symlink_metadata()
                .is_ok_and(|m| !m.file_type().is_dir())
            {
                return Some(candidate);
            }
            if d.join(".git").exists() {
                break;
            }
        }
    }
    None
}

/// The repository root above `start` (a directory holding `.git`), if any.
pub fn git_root(start: &Path) -> Option<PathBuf> {
    start_dir(start)
        .ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// The recipients and rules for encrypting `path`, from the config found from the file's
/// directory; `None` when there is no config or the file is in no environment.
pub fn creation_rule_for(path: &Path) -> anyhow::Result<Option<CreationRule>> {
    let Some(config) = Config::discover_typed(&start_dir(path))? else {
        return Ok(None);
    };
    Ok(config.creation_rule(path)?)
}

/// The exit code for config errors found in an error chain (5).
pub fn exit_code(cause: &(dyn std::error::Error + 'static)) -> Option<u8> {
    cause.downcast_ref::<ConfigError>().map(|_| 5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> String {
        age::x25519::Identity::generate().to_public().to_string()
    }

    fn cfg(text: &str) -> Result<Config, ConfigError> {
        Config::from_text(Path::new("/repo/.secrets.yaml"), text)
    }

    /// The walk-free path of `exec --env` gives what the walk gives: a git-ignored file,
    /// a missing one, each file once; a directory, a symlink or a wildcard leave it to
    /// the walk.
    #[test]
    fn literal_env_files_are_the_walks_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::create_dir_all(root.join("config/prod")).unwrap();
        std::fs::write(root.join(".gitignore"), ".env.prod\n").unwrap();
        for f in [
            ".env.prod",
            "config/app.yaml",
            "config/prod/a.yaml",
            "other.yaml",
        ] {
            std::fs::write(root.join(f), "A: b\n").unwrap();
        }
        std::os::unix::fs::symlink("other.yaml", root.join("link.yaml")).unwrap();
        let config_for = |files: &str| {
            let text = format!(
                "members:\n  a: {}\nenvironments:\n  prod:\n    files: {files}\n    members: [a]\n",
                key()
            );
            Config::from_text(&root.join(".secrets.yaml"), &text).unwrap()
        };
        let walked = |c: &Config| -> Vec<PathBuf> {
            let mut v: Vec<PathBuf> = c
                .walk_files()
                .unwrap()
                .into_iter()
                .filter(|p| {
                    c.relative(p)
                        .and_then(|r| c.environment("prod")?.glob_index(&r))
                        .is_some()
                })
                .collect();
            v.sort();
            v
        };
        let c = config_for("[.env.prod, config/app.yaml, missing.yaml, .env.prod]");
        let mut fast = c
            .literal_env_files("prod")
            .expect("plain paths need no walk");
        assert_eq!(
            fast,
            vec![root.join(".env.prod"), root.join("config/app.yaml")]
        );
        fast.sort();
        assert_eq!(fast, walked(&c));
        for files in [
            "[config/prod]",
            "[link.yaml]",
            "[\"config/*.yaml\"]",
            "[.git/config]",
        ] {
            assert!(
                config_for(files).literal_env_files("prod").is_none(),
                "{files}"
            );
        }
    }

    /// Issue 10, case 8: `status` took 5 s with 800 environments and over 60 s with 3,000
    /// (each file matched against each environment, each pair of environments compared).
    /// The environments examined per file, and by the overlap check, no longer grow with
    /// their number: ten times the environments, ten times the work.
    #[test]
    fn key_groups_are_read_and_checked_with_their_lines() {
        let (a, b) = (key(), key());
        let head = format!("members:\n  alice: {a}\n  bob: {b}\nenvironments:\n  prod:\n    files: [\"prod/**\"]\n");
        let c = cfg(&format!(
            "{head}    key_groups:\n      - members: [alice, bob]\n      - vault_transit: [https://v:8200/v1/transit/keys/prod]\n"
        ))
        .unwrap();
        let env = c.environment("prod").unwrap();
        let keys = c.env_keys(env);
        let shamir = keys.shamir.as_ref().unwrap();
        assert_eq!(shamir.threshold, 2, "absent: every group");
        assert_eq!(shamir.groups[0].age.len(), 2);
        assert_eq!(shamir.groups[1].services.hc_vault.len(), 1);
        assert_eq!(env.members, ["alice", "bob"]);
        // One group is the flat layout.
        let one = cfg(&format!(
            "{head}    key_groups:\n      - members: [alice]\n"
        ))
        .unwrap();
        assert!(one
            .env_keys(one.environment("prod").unwrap())
            .shamir
            .is_none());
        for (extra, line, says) in [
            ("    members: [alice]\n    key_groups:\n      - members: [bob]\n      - members: [alice]\n", 5, "go inside the groups"),
            ("    key_groups:\n      - members: [carol]\n      - members: [alice]\n", 8, "unknown member \"carol\""),
            ("    key_groups:\n      - members: []\n      - members: [alice]\n", 8, "a key group with no members"),
            ("    shamir_threshold: 3\n    key_groups:\n      - members: [bob]\n      - members: [alice]\n", 7, "from 2 to 2"),
            ("    shamir_threshold: 2\n", 7, "needs key_groups"),
            ("    key_groups:\n      - members: [bob]\n        age: [x]\n", 9, "unknown field \"age\" in a key group"),
        ] {
            let err = cfg(&format!("{head}{extra}")).unwrap_err().to_string();
            assert!(err.contains(&format!(":{line}:")) && err.contains(says), "{extra}: {err}");
        }
    }

    #[test]
    fn loading_and_classifying_is_linear_in_the_environments() {
        let (a, b) = (key(), key());
        let work_for = |n: usize| {
            let mut text = format!("members:\n  alice: {a}\n  bob: {b}\nenvironments:\n");
            for i in 0..n {
                text.push_str(&format!(
                    "  env{i}:\n    files: [\"svc{i}/**\", \"conf/{i}.*.yaml\"]\n    members: [alice, bob]\n"
                ));
            }
            work::take();
            let c = cfg(&text).unwrap();
            for i in 0..n {
                let rel = format!("svc{i}/s.yaml");
                let env = c.classify(Path::new(&rel)).unwrap().unwrap();
                assert_eq!(env.name, format!("env{i}"));
                let conf = format!("conf/{i}.db.yaml");
                assert!(c.classify(Path::new(&conf)).unwrap().is_some());
                assert_eq!(c.env_recipients(&env.name).len(), 2);
                assert_eq!(c.describe_key(&b), "bob");
            }
            work::take()
        };
        let (small, large) = (work_for(100), work_for(1000));
        assert!(small > 0);
        assert!(
            large <= 11 * small,
            "100 environments: {small}, 1000: {large} (quadratic would be 100×)"
        );
    }

    /// Fuzzing (parse_config, 6.68 M executions): a glob the YAML store reads as a number
    /// (`00_…_0.`) came back as `0` when a command wrote the config; such text is refused
    /// with its line, and quoted it works.
    #[test]
    fn text_yaml_reads_as_a_number_is_refused_until_quoted() {
        let a = key();
        let text = |glob: &str| {
            format!("members:\n  alice: {a}\nenvironments:\n  dev:\n    files: [x, {glob}]\n    members: [alice]\n")
        };
        for glob in ["0x1F", "1_000", "00_0."] {
            let e = cfg(&text(glob)).unwrap_err();
            assert_eq!(e.line(), Some(5), "{glob}: {e}");
            assert!(e.to_string().contains("put it in quotes"), "{e}");
            cfg(&text(&format!("{glob:?}"))).unwrap();
        }
        cfg(&text("2024")).unwrap();
    }

    #[test]
    fn valid_config_classifies_files() {
        let (a, b) = (key(), key());
        let c = cfg(&format!(
            "members:\n  alice: {a}\n  bob: [{b}]\nenvironments:\n  dev:\n    files: [\"config/dev/**\", .env.dev]\n    members: [alice, bob]\n  prod:\n    files: config/prod\n    members: [alice]\n    unencrypted_suffix: _clear\n"
        ))
        .unwrap();
        assert_eq!(
            c.environment_for(Path::new("config/dev/x.yaml")),
            Some("dev")
        );
        assert_eq!(c.environment_for(Path::new(".env.dev")), Some("dev"));
        assert_eq!(
            c.environment_for(Path::new("config/prod/db.yaml")),
            Some("prod")
        );
        assert_eq!(c.environment_for(Path::new("other.yaml")), None);
        assert_eq!(c.env_recipients("dev").len(), 2);
        assert_eq!(
            c.environment("prod")
                .unwrap()
                .rules
                .unencrypted_suffix
                .as_deref(),
            Some("_clear")
        );
        assert_eq!(c.default_env(), Some("dev"));
        assert_eq!(c.describe_key(&b), "bob");
    }

    #[test]
    fn errors_name_the_line() {
        let a = key();
        let unknown = cfg(&format!(
            "members:\n  alice: {a}\nenvironments:\n  dev:\n    files: [a/**]\n    members: [alice, bbo]\n"
        ))
        .unwrap_err();
        assert_eq!(unknown.line(), Some(6), "{unknown}");
        assert!(unknown.to_string().contains("bbo"));
        let malformed = cfg("members:\n  alice: age1nope\n").unwrap_err();
        assert_eq!(malformed.line(), Some(2));
        let overlap = cfg(&format!(
            "members:\n  alice: {a}\nenvironments:\n  dev:\n    files: [\"config/**\"]\n  prod:\n    files:\n      - config/prod/**\n"
        ))
        .unwrap_err();
        assert_eq!(overlap.line(), Some(8), "{overlap}");
        assert!(overlap.to_string().contains("(line 5)"), "{overlap}");
        let dup_key = cfg(&format!("members:\n  alice: {a}\n  bob: {a}\n")).unwrap_err();
        assert_eq!(dup_key.line(), Some(3));
        let default = cfg("default: prod\n").unwrap_err();
        assert_eq!(default.line(), Some(1));
        let bad_name = cfg(&format!("members:\n  \"al ice\": {a}\n")).unwrap_err();
        assert_eq!(bad_name.line(), Some(2));
    }

    #[test]
    fn runtime_ambiguity_is_an_error() {
        // Globs whose overlap the static check cannot see.
        let c =
            cfg("environments:\n  a:\n    files: [\"x/*.yaml\"]\n  b:\n    files: [\"x/db.*\"]\n")
                .unwrap();
        assert!(matches!(
            c.classify(Path::new("x/db.yaml")),
            Err(ConfigError::Ambiguous { .. })
        ));
        assert_eq!(c.environment_for(Path::new("x/db.yaml")), None);
    }

    #[test]
    fn abbreviations() {
        assert_eq!(
            abbreviate("age1qyqszqgpqyqszqgpqyqszqgpqyqszqgp"),
            "age1qyqs…zqgp"
        );
        assert_eq!(
            abbreviate("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA"),
            "ssh-ed25519 AAAAC3Nz…AAAA"
        );
    }
}
