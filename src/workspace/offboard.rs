//! Offboarding: taking readers away from files (`member remove NAME`, `env revoke ENV
//! NAME…`). A reader who was ever a recipient may have kept a file's data key, so every
//! file they could read is **rotated** (new data key, every value re-encrypted) for the
//! recipients the config will name once they are gone.
//!
//! plan → apply → outcome: [`plan`] checks the request against the config, computes the
//! proposed config in memory, the files the readers could read (by the files' own
//! recipients, plus every file of the environments they leave), the key paths they could
//! read there, and a rotation per file; [`apply`] runs it; [`Outcome`] gives each file's
//! result and whether the config was saved.
//!
//! **Rotate first, save the config last.** Were the config saved first, a rotation that
//! fails or is interrupted (a bad MAC, a file you cannot open, Ctrl-C, SIGKILL) would leave
//! files wrapped for the removed key while the config no longer names it; `status` would
//! then only suggest `updatekeys`, which re-wraps, and the revocation would silently never
//! happen. So [`apply`]:
//!
//! 1. records the revocation in the config (`revoking:`, see [`crate::config::Revoking`]),
//!    which otherwise stays as it was: whoever pulls the config sees that it is unfinished
//!    (`status` reports it), and [`proposed_config`] lets `updatekeys`/`rotate` work against
//!    the config as it will be, so they cannot wrap a new data key for the removed key;
//! 2. rotates every file for the proposed recipients (each locked and written atomically;
//!    a file that fails is left as it was);
//! 3. only when every file succeeded, saves the config without the members and without
//!    the record, in one atomic write.
//!
//! Killed anywhere, the config either still names the members (the record says what to
//! run again) or every file was rotated. Files already rotated stay rotated: the removed
//! keys no longer open them and the remaining members' keys do, so running the same command
//! again (the only revocation allowed while one is recorded) only finishes the work.

use std::path::PathBuf;

use super::batch::{self, Job, Op};
use crate::config::edit::ConfigDoc;
use crate::config::{Config, ConfigError, Revoking};
use crate::engine::EncryptedFile;
use crate::fsutil::lock::Lock;
use crate::keys::recipient::same_key;
use crate::keys::Identities;
use crate::team;

/// Who loses access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// `member remove NAME`: the member leaves the config and every environment.
    Member(String),
    /// `env revoke ENV NAME…`: the members leave one environment and stay members.
    Env { env: String, members: Vec<String> },
}

impl Revocation {
    /// The command that performs it, as typed (`member remove bob`).
    pub fn command(&self) -> String {
        match self {
            Revocation::Member(name) => format!("member remove {name}"),
            Revocation::Env { env, members } => format!("env revoke {env} {}", members.join(" ")),
        }
    }

    /// The request a recorded, unfinished revocation stands for.
    pub fn recorded(r: &Revoking) -> Revocation {
        match &r.env {
            None => Revocation::Member(r.members.join(" ")),
            Some(env) => Revocation::Env {
                env: env.clone(),
                members: r.members.clone(),
            },
        }
    }

    /// Whether two requests do the same (members in any order).
    fn same(&self, other: &Revocation) -> bool {
        match (self, other) {
            (Revocation::Member(a), Revocation::Member(b)) => a == b,
            (
                Revocation::Env { env, members },
                Revocation::Env {
                    env: env2,
                    members: members2,
                },
            ) => {
                let (mut a, mut b) = (members.clone(), members2.clone());
                a.sort();
                a.dedup();
                b.sort();
                b.dedup();
                env == env2 && a == b
            }
            _ => false,
        }
    }

    /// Applies it to a config document: the members leave (the config or the environment)
    /// and the record goes.
    fn apply_to(&self, doc: &mut ConfigDoc) -> Result<(), ConfigError> {
        match self {
            Revocation::Member(name) => {
                doc.remove_member(name)?;
            }
            Revocation::Env { env, members } => {
                doc.revoke(env, members)?;
            }
        }
        doc.clear_revoking();
        Ok(())
    }

    /// Records it in a config document (`revoking:`).
    fn record_in(&self, doc: &mut ConfigDoc) {
        match self {
            Revocation::Member(name) => doc.set_revoking(None, std::slice::from_ref(name)),
            Revocation::Env { env, members } => doc.set_revoking(Some(env), members),
        }
    }

    /// Who loses access, for messages (`bob`, `bob, carol`).
    pub fn who(&self) -> String {
        match self {
            Revocation::Member(name) => name.clone(),
            Revocation::Env { members, .. } => members.join(", "),
        }
    }
}

/// A file they could read and the key paths of its encrypted values (never a value).
#[derive(Clone, Debug)]
pub struct Exposure {
    pub path: PathBuf,
    pub key_paths: Vec<String>,
}

/// What [`apply`] will do.
#[derive(Debug)]
pub struct Plan<'c> {
    pub revocation: Revocation,
    /// The keys that lose access, as the config writes them.
    pub keys: Vec<String>,
    /// The environments they leave.
    pub environments: Vec<String>,
    /// The files they could read, in path order, with what they could read there.
    pub exposure: Vec<Exposure>,
    /// The config once they are gone: the recipients every rotation uses.
    pub proposed: Config,
    /// One rotation per exposed file.
    pub rotations: batch::Plan<'c>,
    /// The config document as read; [`apply`] records the revocation in it, then applies it.
    doc: ConfigDoc,
}

/// What [`apply`] did.
#[derive(Debug)]
pub struct Outcome {
    pub files: batch::Outcome,
    /// Whether the revocation was recorded in the config (and so files were rotated).
    pub recorded: bool,
    /// Whether the config without them was written.
    pub config_saved: bool,
}

/// Plans a revocation against `cfg` (read under its lock). Errors: an unknown member or
/// environment, a member not in the environment, a `.sops.yaml` config (read-only), a
/// proposed config that would be invalid, or another revocation recorded as unfinished.
pub fn plan(cfg: &Config, revocation: Revocation) -> Result<Plan<'_>, ConfigError> {
    if let Some(r) = cfg.revoking() {
        if !Revocation::recorded(r).same(&revocation) {
            return Err(ConfigError::invalid(
                cfg.path(),
                r.line,
                format!(
                    "an unfinished revocation is recorded; finish it first: secrets {}",
                    r.command()
                ),
            ));
        }
    }
    let doc = ConfigDoc::load(cfg.path())?;
    let (keys, environments, files) = match &revocation {
        Revocation::Member(name) => {
            let member = cfg.member_or_error(name)?;
            let keys: Vec<String> = member.recipients.iter().map(|r| r.to_string()).collect();
            let envs: Vec<String> = cfg
                .environments()
                .iter()
                .filter(|e| e.members.iter().any(|m| m == name))
                .map(|e| e.name.clone())
                .collect();
            let files = readable_by(cfg, &keys, &envs)?;
            (keys, envs, files)
        }
        Revocation::Env { env, members } => {
            let e = cfg.environment(env).ok_or_else(|| {
                ConfigError::command(
                    cfg.path(),
                    format!("unknown environment {env:?} (see secrets env list)"),
                )
            })?;
            let mut keys = Vec::new();
            for m in members {
                let member = cfg.member(m).ok_or_else(|| {
                    ConfigError::command(cfg.path(), format!("unknown member {m:?}"))
                })?;
                if !e.members.contains(m) {
                    return Err(ConfigError::command(
                        cfg.path(),
                        format!("{m} is not a member of {env}"),
                    ));
                }
                keys.extend(member.recipients.iter().map(|r| r.to_string()));
            }
            // The environment's files, and only those: they keep their other environments.
            let files = readable_by(cfg, &[], std::slice::from_ref(env))?;
            (keys, vec![env.clone()], files)
        }
    };
    let mut after = doc.clone();
    revocation.apply_to(&mut after)?;
    let proposed = after.validate()?;
    let exposure = files
        .iter()
        .map(|(path, file)| Exposure {
            path: path.clone(),
            key_paths: team::secret_paths(file),
        })
        .collect();
    let jobs = rotation_jobs(&proposed, &files, &keys);
    Ok(Plan {
        revocation,
        keys,
        environments,
        exposure,
        proposed,
        rotations: batch::Plan {
            op: Op::Rotate,
            jobs,
            skipped: Vec::new(),
            config: Some(cfg),
            swap: None,
        },
        doc,
    })
}

/// Runs the plan: records the revocation in the config, rotates every file, and saves the
/// config without the members only when every file was rotated (see the module doc). When
/// a file has no recipients in the proposed config, nothing is written at all.
/// `lock` is the config's lock, held since `cfg` was read. With `dry_run` every file is
/// still decrypted (to show which would fail) and nothing is written. An error is the
/// config's (it could not be written); a file's failure is in the outcome.
pub fn apply(
    plan: Plan,
    lock: &Lock,
    ids: &Identities,
    dry_run: bool,
) -> Result<Outcome, ConfigError> {
    let Plan {
        revocation,
        rotations,
        mut doc,
        ..
    } = plan;
    // A file the proposed config gives no recipients (its environment would have no
    // members, or it is in two) cannot be rotated however often this runs: nothing is
    // started; the dry run shows every file that would fail.
    let unplannable = rotations.jobs.iter().any(|j| j.recipients.is_err());
    if dry_run || unplannable {
        let files = batch::apply(rotations, ids, true);
        return Ok(Outcome {
            files,
            recorded: false,
            config_saved: false,
        });
    }
    revocation.record_in(&mut doc);
    doc.save(lock)?;
    let files = batch::apply(rotations, ids, false);
    if !files.all_succeeded() {
        return Ok(Outcome {
            files,
            recorded: true,
            config_saved: false,
        });
    }
    revocation.apply_to(&mut doc)?;
    doc.save(lock)?;
    Ok(Outcome {
        files,
        recorded: true,
        config_saved: true,
    })
}

/// The config as it will be once the unfinished revocation it records is done (`None`
/// when none is recorded). `updatekeys` and `rotate` work against it, so that while a
/// revocation is unfinished they neither wrap a new data key for a key being removed nor
/// expect it in files already rotated.
pub fn proposed_config(cfg: &Config) -> Result<Option<Config>, ConfigError> {
    let Some(r) = cfg.revoking() else {
        return Ok(None);
    };
    let mut doc = ConfigDoc::load(cfg.path())?;
    Revocation::recorded(r).apply_to(&mut doc)?;
    doc.validate().map(Some)
}

/// An unfinished revocation, for `status`: the command that finishes it and the keys it
/// takes away.
#[derive(Clone, Debug)]
pub struct Unfinished {
    pub revoking: Revoking,
    pub keys: Vec<String>,
}

impl Unfinished {
    /// The revocation `cfg` records as unfinished, if any.
    pub fn of(cfg: &Config) -> Option<Unfinished> {
        let revoking = cfg.revoking()?.clone();
        let keys = revoking
            .members
            .iter()
            .filter_map(|m| cfg.member(m))
            .flat_map(|m| m.recipients.iter().map(|r| r.to_string()))
            .collect();
        Some(Unfinished { revoking, keys })
    }

    /// Whether a file (at `path`, with these recipients) is still to be rotated: it is
    /// still wrapped for a key being removed, and (for `env revoke`) in that environment.
    pub fn still_open(&self, cfg: &Config, path: &std::path::Path, recipients: &[&str]) -> bool {
        let has_key = recipients
            .iter()
            .any(|r| self.keys.iter().any(|k| same_key(k, r)));
        has_key
            && match &self.revoking.env {
                None => true,
                Some(env) => {
                    cfg.relative(path)
                        .and_then(|rel| cfg.environment_for(&rel).map(str::to_string))
                        .as_deref()
                        == Some(env.as_str())
                }
            }
    }
}

/// The encrypted files that any of `keys` can open (by the file's own recipients), or that
/// belong to one of `envs`; with the file loaded.
pub(super) fn readable_by(
    cfg: &Config,
    keys: &[String],
    envs: &[String],
) -> Result<Vec<(PathBuf, EncryptedFile)>, ConfigError> {
    let files = cfg.walk_files()?;
    let loaded = team::parallel_map(&files, |p| team::load_if_encrypted(p));
    let mut out = Vec::new();
    for (path, file) in files.into_iter().zip(loaded) {
        let Some(file) = file else { continue };
        let has_key = file
            .recipients()
            .iter()
            .any(|r| keys.iter().any(|k| same_key(k, r)));
        let in_env = match cfg.relative(&path) {
            Some(rel) => cfg.classify(&rel)?.is_some_and(|e| envs.contains(&e.name)),
            None => false,
        };
        if has_key || in_env {
            out.push((path, file));
        }
    }
    Ok(out)
}

/// A rotation per file: the recipients `proposed` names for files in an environment, else
/// the file's own minus the removed keys.
fn rotation_jobs(
    proposed: &Config,
    files: &[(PathBuf, EncryptedFile)],
    removed: &[String],
) -> Vec<Job> {
    files
        .iter()
        .map(|(path, file)| {
            let recipients = match team::wanted(proposed, path) {
                Ok(Some(w)) => Ok(Some(w.recipients)),
                Ok(None) => team::current_recipients(file)
                    .map(|rs| {
                        Some(
                            rs.into_iter()
                                .filter(|r| !removed.iter().any(|k| same_key(k, &r.to_string())))
                                .collect(),
                        )
                    })
                    .map_err(Into::into),
                Err(e) => Err(e.into()),
            };
            Job {
                path: path.clone(),
                recipients,
                services: None,
                grouping: batch::Grouping::wanted(proposed, path),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::identity::Sources;
    use crate::keys::Recipient;
    use crate::store::Format;
    use secrecy::ExposeSecret;
    use std::path::Path;

    /// A repository: alice, bob, carol; prod = config/** read by alice and bob; `n`
    /// encrypted files in it.
    struct Repo {
        dir: tempfile::TempDir,
        keys: Vec<(&'static str, PathBuf, Recipient)>,
        files: Vec<PathBuf>,
    }

    impl Repo {
        fn new(n: usize) -> Repo {
            let dir = tempfile::tempdir().unwrap();
            let mut keys = Vec::new();
            for who in ["alice", "bob", "carol"] {
                let id = age::x25519::Identity::generate();
                let file = dir.path().join(format!("{who}.key"));
                crate::fsutil::atomic_write_private(
                    &file,
                    format!("{}\n", id.to_string().expose_secret()).as_bytes(),
                )
                .unwrap();
                keys.push((who, file, Recipient::X25519(id.to_public())));
            }
            let repo = dir.path().join("repo");
            std::fs::create_dir_all(repo.join("config")).unwrap();
            std::fs::write(
                repo.join(".secrets.yaml"),
                format!(
                    "members:\n  alice: {}\n  bob: {}\n  carol: {}\nenvironments:\n  prod:\n    files: [\"config/**\"]\n    members: [alice, bob]\n",
                    keys[0].2, keys[1].2, keys[2].2
                ),
            )
            .unwrap();
            let mut r = Repo {
                dir,
                keys,
                files: Vec::new(),
            };
            for i in 0..n {
                let path = r.path(&format!("config/s{i:02}.yaml"));
                let text = format!("token: v{i}\n");
                let (plain, layout) =
                    crate::engine::parse_plain(&path, Format::Yaml, text.as_bytes()).unwrap();
                let recipients = vec![r.key("alice").clone(), r.key("bob").clone()];
                EncryptedFile::create(
                    &path,
                    Format::Yaml,
                    layout,
                    &plain,
                    &recipients,
                    Default::default(),
                )
                .unwrap()
                .save()
                .unwrap();
                r.files.push(path);
            }
            r
        }

        fn path(&self, rel: &str) -> PathBuf {
            self.dir.path().join("repo").join(rel)
        }

        fn config_path(&self) -> PathBuf {
            self.path(".secrets.yaml")
        }

        fn key(&self, who: &str) -> &Recipient {
            &self.keys.iter().find(|k| k.0 == who).unwrap().2
        }

        fn ids(&self, who: &str) -> Identities {
            Identities::load(&Sources {
                required_files: vec![self.keys.iter().find(|k| k.0 == who).unwrap().1.clone()],
                ..Default::default()
            })
            .unwrap()
        }

        fn opens(&self, who: &str, file: &Path) -> bool {
            EncryptedFile::load(file, None)
                .unwrap()
                .decrypt(&self.ids(who))
                .is_ok()
        }

        fn config(&self) -> String {
            std::fs::read_to_string(self.config_path()).unwrap()
        }

        /// Runs a revocation as the CLI does: the config locked, planned, applied.
        fn revoke(&self, revocation: Revocation) -> Result<Outcome, ConfigError> {
            let (lock, cfg) = crate::workspace::lock_config(&self.path("")).unwrap();
            let plan = plan(&cfg, revocation)?;
            apply(plan, &lock, &self.ids("alice"), false)
        }
    }

    /// Changes a file's `lastmodified`: its MAC no longer verifies. Returns the text.
    fn tamper(path: &Path) -> String {
        let text = std::fs::read_to_string(path).unwrap();
        let line = text.lines().find(|l| l.contains("lastmodified")).unwrap();
        let at = line.find("lastmodified").unwrap();
        let bad = format!("{}lastmodified: \"2001-01-01T00:00:00Z\"", &line[..at]);
        std::fs::write(path, text.replace(line, &bad)).unwrap();
        text
    }

    #[test]
    fn a_plan_names_each_file_its_new_recipients_and_writes_nothing() {
        let r = Repo::new(3);
        let before = r.config();
        let bytes: Vec<Vec<u8>> = r.files.iter().map(|f| std::fs::read(f).unwrap()).collect();
        let cfg = Config::load(&r.config_path()).unwrap();
        let p = plan(&cfg, Revocation::Member("bob".into())).unwrap();
        assert_eq!(p.keys, vec![r.key("bob").to_string()]);
        assert_eq!(p.environments, vec!["prod"]);
        assert!(p.proposed.member("bob").is_none());
        assert_eq!(p.rotations.op, Op::Rotate);
        let paths: Vec<&PathBuf> = p.rotations.jobs.iter().map(|j| &j.path).collect();
        assert_eq!(paths, r.files.iter().collect::<Vec<_>>());
        for job in &p.rotations.jobs {
            let wanted = job.recipients.as_ref().unwrap().as_ref().unwrap();
            assert_eq!(wanted, &vec![r.key("alice").clone()]);
        }
        assert_eq!(p.exposure[0].key_paths, vec!["token"]);
        // env revoke: bob stays a member, prod loses him.
        let p = plan(
            &cfg,
            Revocation::Env {
                env: "prod".into(),
                members: vec!["bob".into()],
            },
        )
        .unwrap();
        assert!(p.proposed.member("bob").is_some());
        assert_eq!(p.proposed.environment("prod").unwrap().members, ["alice"]);
        assert_eq!(r.config(), before);
        for (f, b) in r.files.iter().zip(&bytes) {
            assert_eq!(&std::fs::read(f).unwrap(), b);
        }
        // Unknown names are config errors.
        assert!(plan(&cfg, Revocation::Member("dave".into())).is_err());
        let not_in = Revocation::Env {
            env: "prod".into(),
            members: vec!["carol".into()],
        };
        assert!(plan(&cfg, not_in).is_err());
    }

    #[test]
    fn apply_rotates_every_file_and_then_saves_the_config() {
        let r = Repo::new(4);
        let outcome = r.revoke(Revocation::Member("bob".into())).unwrap();
        assert!(outcome.files.all_succeeded());
        assert!(outcome.config_saved);
        assert_eq!(outcome.files.files.len(), 4);
        for (f, path) in outcome.files.files.iter().zip(&r.files) {
            assert_eq!(&f.path, path);
            assert!(matches!(f.result, Ok((batch::Done::Rotated, _))));
            assert!(!r.opens("bob", path));
            assert!(r.opens("alice", path));
        }
        let cfg = Config::load(&r.config_path()).unwrap();
        assert!(cfg.member("bob").is_none());
        assert!(!r.config().contains("revoking"));
    }

    #[test]
    fn a_file_that_fails_leaves_the_config_naming_the_member() {
        let r = Repo::new(4);
        let before = r.config();
        let good = tamper(&r.files[2]);
        let outcome = r.revoke(Revocation::Member("bob".into())).unwrap();
        assert!(!outcome.config_saved);
        let failed: Vec<&Path> = outcome.files.failures().map(|(p, _)| p).collect();
        assert_eq!(failed, vec![r.files[2].as_path()]);
        // The config still names bob; the revocation is recorded as unfinished.
        let cfg = Config::load(&r.config_path()).unwrap();
        assert!(cfg.member("bob").is_some());
        assert_eq!(cfg.environment("prod").unwrap().members, ["alice", "bob"]);
        assert_ne!(r.config(), before);
        // The others were rotated: bob's key no longer opens them, alice's does.
        for (i, f) in r.files.iter().enumerate().filter(|(i, _)| *i != 2) {
            assert!(!r.opens("bob", f), "{i}");
            assert!(r.opens("alice", f), "{i}");
        }
        // Restored, the same revocation finishes.
        std::fs::write(&r.files[2], good).unwrap();
        let outcome = r.revoke(Revocation::Member("bob".into())).unwrap();
        assert!(outcome.config_saved);
        for f in &r.files {
            assert!(!r.opens("bob", f));
        }
        assert!(Config::load(&r.config_path())
            .unwrap()
            .member("bob")
            .is_none());
    }

    #[test]
    fn while_one_is_recorded_no_other_revocation_starts_and_batches_use_the_proposed_config() {
        let r = Repo::new(3);
        let good = tamper(&r.files[0]);
        let outcome = r.revoke(Revocation::Member("bob".into())).unwrap();
        assert!(!outcome.config_saved);
        let cfg = Config::load(&r.config_path()).unwrap();
        let recorded = cfg.revoking().unwrap();
        assert_eq!(recorded.command(), "member remove bob");
        let other = Revocation::Env {
            env: "prod".into(),
            members: vec!["alice".into()],
        };
        let err = plan(&cfg, other).unwrap_err().to_string();
        assert!(
            err.contains("finish it first: secrets member remove bob"),
            "{err}"
        );
        // updatekeys/rotate plans: prod is alice alone, as it will be.
        let proposed = proposed_config(&cfg).unwrap().unwrap();
        let p = batch::plan(
            &proposed,
            &[],
            Op::Update {
                rotate_on_drop: false,
            },
        )
        .unwrap();
        for job in &p.jobs {
            let wanted = job.recipients.as_ref().unwrap().as_ref().unwrap();
            assert_eq!(wanted, &vec![r.key("alice").clone()]);
        }
        // So a re-wrap of a file not yet rotated is refused, not done.
        std::fs::write(&r.files[0], &good).unwrap();
        let out = batch::apply(p, &r.ids("alice"), false);
        assert!(matches!(
            out.files[0].result,
            Err(batch::BatchError::WouldDrop { .. })
        ));
        assert!(r.opens("bob", &r.files[0]));
        let unfinished = Unfinished::of(&cfg).unwrap();
        let open: Vec<bool> = r
            .files
            .iter()
            .map(|f| {
                let file = EncryptedFile::load(f, None).unwrap();
                unfinished.still_open(&cfg, f, &file.recipients())
            })
            .collect();
        assert_eq!(open, [true, false, false]);
        assert!(proposed_config(&proposed).unwrap().is_none());
    }
}
