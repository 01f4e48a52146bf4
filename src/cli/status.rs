//! `secrets status` (alias `who`): every encrypted file under the config's root with its
//! environment, its recipients as member names (unknown keys abbreviated), drift (the
//! file's recipients differ from what the config says: run `secrets updatekeys`), whether
//! you can decrypt it (only the data key is unwrapped, no value is decrypted), and its
//! `lastmodified`; a file git ignores (found because an environment's glob names it) is
//! listed with the rule, since the team never gets it. An unfinished revocation recorded in the config (`member remove` or
//! `env revoke` that failed or was interrupted) is an error line naming the command that
//! finishes it. `--format json` for scripts; `--check` exits 1 on drift or an unfinished
//! revocation (for CI). `--stale` lists every value instead, with when it last changed
//! (see [`stale`]).
//! File paths are relative to the config's directory (the repository root) wherever it
//! runs, so the output is the same from any subdirectory.

use std::process::ExitCode;

use super::output::shown;
use super::{output, Global};
use crate::config::Config;
use crate::team;
use crate::workspace::batch;
use crate::workspace::offboard::Unfinished;

/// Output format of the listing commands.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ListFormat {
    #[default]
    Human,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    format: ListFormat,
    /// Exit with 1 when any file's recipients differ from the config (drift), or a
    /// revocation is unfinished.
    #[arg(long)]
    check: bool,
    /// List every value with when it last changed (from git history: the commits that
    /// still hold its ciphertext), oldest first, instead of the files.
    #[arg(long, conflicts_with = "check")]
    stale: bool,
    /// As --stale, listing only the values past their schema max_age; exit 1 when there
    /// is one (for CI and cron jobs).
    #[arg(long, conflicts_with = "check")]
    overdue: bool,
    #[command(flatten)]
    pub ids: super::IdentityArg,
}

/// Prints rows under a header, columns padded to their widest cell.
pub(super) fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    let mut width = [0usize; N];
    for (i, h) in header.iter().enumerate() {
        width[i] = h.chars().count();
    }
    for row in rows {
        for (i, c) in row.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == N {
                out.push_str(c);
            } else {
                out.push_str(c);
                out.extend(std::iter::repeat_n(' ', width[i] - c.chars().count() + 2));
            }
        }
        println!("{}", out.trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

struct Row {
    file: String,
    env: Option<String>,
    recipients: Vec<(String, String)>,
    /// sops key groups: how many are needed of how many.
    groups: Option<(usize, usize)>,
    missing: Vec<String>,
    extra: Vec<String>,
    error: Option<String>,
    can_decrypt: bool,
    last_modified: String,
    /// Key paths of empty values: in clear and outside the MAC (see
    /// [`crate::crypto::empty_values`]).
    empty: Vec<String>,
    /// Why git ignores it (it is then never committed).
    ignored: Option<crate::git::ignored::Ignored>,
}

/// The RECIPIENTS cell: each reader's name once (a member with two keys, or a key in two
/// groups, is one reader here; JSON lists every key), and the key groups.
fn readers(r: &Row) -> String {
    let mut seen = std::collections::HashSet::new();
    let names: Vec<&str> = r
        .recipients
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| seen.insert(*n))
        .collect();
    let mut cell = names.join(",");
    if let Some((need, of)) = r.groups {
        cell.push_str(&format!(" ({need} of {of} key groups)"));
    }
    cell
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir()?;
    let cfg = Config::require(&cwd)?;
    if args.stale || args.overdue {
        // With an identity, a re-encryption (same plaintext) is not a change.
        let ids = output::identities(g)
            .ok()
            .map(crate::keys::Identities::without_prompts);
        return stale::run(&cfg, args.format, args.overdue, ids.as_ref());
    }
    // (a listing: the "can decrypt" column does not stop for a passphrase)
    let ids = output::identities(g)?.without_prompts();
    let files = cfg.walk_files()?;
    let loaded = team::parallel_map(&files, |p| {
        team::probe(p).map(|found| {
            found.map(|f| {
                let ok = team::can_unwrap(&f, &ids);
                (f, ok)
            })
        })
    });
    let unfinished = Unfinished::of(&cfg);
    // Drift is measured against the config as it will be once a recorded revocation is
    // done: a file already rotated is not missing the key being removed; one not yet
    // rotated still has it (extra).
    let proposed = crate::workspace::offboard::proposed_config(&cfg)?;
    let wanted_cfg = proposed.as_ref().unwrap_or(&cfg);
    let encrypted: Vec<std::path::PathBuf> = files
        .iter()
        .zip(&loaded)
        .filter(|(_, f)| matches!(f, Ok(Some(_))))
        .map(|(p, _)| p.clone())
        .collect();
    let mut ignored: std::collections::HashMap<_, _> =
        crate::workspace::ignored::ignored(cfg.root(), &encrypted)
            .into_iter()
            .collect();
    let mut still_open = 0usize;
    let mut rows = Vec::new();
    let mut unreadable = Vec::new();
    for (path, found) in files.iter().zip(loaded) {
        let (file, can_decrypt) = match found {
            Ok(Some(found)) => found,
            Ok(None) => continue,
            // Looks encrypted but cannot be read: hostile or damaged, reported below.
            Err(e) => {
                unreadable.push(match cfg.relative(path) {
                    Some(rel) => e.with_path(&rel),
                    None => e,
                });
                continue;
            }
        };
        let mut current = file.recipients();
        // A key in two key groups is one reader.
        let mut seen = std::collections::HashSet::new();
        current.retain(|k| seen.insert(crate::keys::recipient::key_part(k).into_owned()));
        let services = file.service_keys();
        if let Some(u) = &unfinished {
            still_open += usize::from(u.still_open(&cfg, path, &current));
        }
        let mut row = Row {
            // Relative to the root wherever we run, so rows compare across directories.
            file: cfg
                .relative(path)
                .map(|rel| crate::config::rel_string(&rel))
                .unwrap_or_else(|| path.display().to_string()),
            env: None,
            recipients: current
                .iter()
                .map(|k| (cfg.describe_key(k), k.to_string()))
                .chain(
                    services
                        .hc_vault
                        .iter()
                        .map(|k| (format!("vault:{}", k.key_name), k.to_string()))
                        .chain(services.kms.iter().map(|k| {
                            // `kms:key/ID` or `kms:alias/NAME`, the ARN's last part.
                            let short = k.arn.rsplit(':').next().unwrap_or(&k.arn);
                            (format!("kms:{short}"), k.to_string())
                        }))
                        .chain(services.pgp.iter().map(|k| {
                            // `pgp:` and the key ID, as gpg shows keys.
                            (format!("pgp:{}", k.key_id()), k.to_string())
                        })),
                )
                .collect(),
            groups: file.is_grouped().then(|| {
                let md = &file.metadata;
                let n = md.key_groups.len();
                (
                    if md.shamir_threshold == 0 {
                        n
                    } else {
                        md.shamir_threshold
                    },
                    n,
                )
            }),
            missing: Vec::new(),
            extra: Vec::new(),
            error: None,
            can_decrypt,
            last_modified: file.metadata.last_modified.clone(),
            empty: crate::crypto::empty_values(&file.branches),
            ignored: ignored.remove(path),
        };
        match team::wanted(wanted_cfg, path) {
            Ok(Some(w)) => {
                row.env = Some(w.environment.clone());
                let d = team::diff(&current, &w.recipients);
                row.missing = d.added.iter().map(|k| cfg.describe_key(k)).collect();
                row.extra = d.removed.iter().map(|k| cfg.describe_key(k)).collect();
                // Key-service keys by their URL or ARN (`updatekeys` adds the missing ones).
                let v = team::services_diff(&services, &w.services);
                row.missing.extend(v.added);
                row.extra.extend(v.removed);
                // Key groups: the same keys split otherwise (regrouped, another threshold).
                if batch::grouping_differs(&file, &w) {
                    row.missing.push("the config's key groups".into());
                }
            }
            Ok(None) => {}
            Err(e) => row.error = Some(e.to_string()),
        }
        rows.push(row);
    }
    let drift = rows
        .iter()
        .any(|r| !r.missing.is_empty() || !r.extra.is_empty() || r.error.is_some());
    if let Some(u) = &unfinished {
        let r = &u.revoking;
        eprintln!(
            "secrets: error: {}:{}: unfinished revocation: {still_open} file(s) still wrapped for the key of {}; finish it: secrets {}",
            shown(cfg.path()).display(),
            r.line,
            r.members.join(", "),
            r.command()
        );
    }
    match args.format {
        ListFormat::Json => {
            let list: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "file": r.file,
                        "environment": r.env,
                        "recipients": r.recipients.iter().map(|(name, key)| serde_json::json!({
                            "name": name, "key": key,
                            "member": cfg.member_for_key(key).is_some(),
                        })).collect::<Vec<_>>(),
                        "key_groups": r.groups.map(|(need, of)| serde_json::json!({"threshold": need, "groups": of})),
                        "drift": !r.missing.is_empty() || !r.extra.is_empty(),
                        "missing": r.missing,
                        "extra": r.extra,
                        "error": r.error,
                        "can_decrypt": r.can_decrypt,
                        "lastmodified": r.last_modified,
                        "empty_values": r.empty,
                        "ignored": r.ignored.as_ref().map(|i| {
                            let rule = i.rule.as_ref();
                            serde_json::json!({
                                "file": rule.map(|r| &r.file),
                                "line": rule.map(|r| r.line),
                                "pattern": rule.map(|r| &r.pattern),
                                "matched": rule.map(|r| crate::config::rel_string(&r.matched)),
                                "exception": i.exception().map(|e| e.lines),
                            })
                        }),
                    })
                })
                .collect();
            let you: Vec<String> = ids
                .public_keys()
                .iter()
                .map(|k| cfg.describe_key(k))
                .collect();
            let root = crate::config::absolute(cfg.root());
            let doc = serde_json::json!({
                "root": root,
                "config": cfg.relative(cfg.path()).map(|rel| crate::config::rel_string(&rel)),
                "you": you,
                "files": list,
                "unfinished_revocation": unfinished.as_ref().map(|u| serde_json::json!({
                    "command": format!("secrets {}", u.revoking.command()),
                    "environment": u.revoking.env,
                    "members": u.revoking.members,
                    "line": u.revoking.line,
                    "files_still_open": still_open,
                })),
            });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        ListFormat::Human => {
            let you: Vec<String> = ids
                .public_keys()
                .iter()
                .map(|k| cfg.describe_key(k))
                .collect();
            if !g.quiet {
                println!(
                    "config: {}   you: {}",
                    shown(cfg.path()).display(),
                    if you.is_empty() {
                        "(no identity found)".into()
                    } else {
                        you.join(", ")
                    }
                );
            }
            let table: Vec<[String; 6]> = rows
                .iter()
                .map(|r| {
                    let mut drift = Vec::new();
                    if !r.missing.is_empty() {
                        drift.push(format!("missing {}", r.missing.join(",")));
                    }
                    if !r.extra.is_empty() {
                        drift.push(format!("extra {}", r.extra.join(",")));
                    }
                    if r.error.is_some() {
                        drift.push("config error".into());
                    }
                    [
                        r.file.clone(),
                        r.env.clone().unwrap_or_else(|| "-".into()),
                        readers(r),
                        if drift.is_empty() {
                            if r.env.is_some() {
                                "ok".into()
                            } else {
                                "-".into()
                            }
                        } else {
                            drift.join("; ")
                        },
                        if r.can_decrypt {
                            "yes".into()
                        } else {
                            "no".into()
                        },
                        r.last_modified.clone(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "FILE",
                    "ENV",
                    "RECIPIENTS",
                    "DRIFT",
                    "YOU CAN DECRYPT",
                    "LAST MODIFIED",
                ],
                &table,
            );
            for r in &rows {
                if let Some(i) = &r.ignored {
                    println!(
                        "{}: {} — teammates will not get it",
                        r.file,
                        output::ignored_reason(i)
                    );
                    output::note(g, format!("hint: {}: {}", r.file, output::ignored_fix(i)));
                }
            }
            for r in rows.iter().filter_map(|r| r.error.as_ref()) {
                eprintln!("secrets: warning: {r}");
            }
            for r in &rows {
                for key in &r.empty {
                    eprintln!(
                        "secrets: warning: {}: {key} is empty, stored in clear and outside the \
                         MAC: nothing shows it was there when the file was encrypted",
                        r.file
                    );
                }
            }
            if drift && unfinished.is_none() && !g.quiet {
                eprintln!("hint: run secrets updatekeys to re-wrap drifted files for the config's recipients (secrets updatekeys --rotate where a recipient must go: they may have kept the data key)");
            }
        }
    }
    git_setup_note(&cfg, &encrypted, g);
    // Previous values kept by rotate-value past their grace period.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for f in crate::policy::check::check_retiring(&cfg, None, now) {
        let file = f.file.as_deref().unwrap_or("-");
        eprintln!("secrets: warning: {file}: {}: {}", f.key, f.detail);
    }
    // Files that look encrypted but cannot be read: after the table, one line each, and
    // the exit code of an unreadable input (a hostile file must not pass as fine).
    for e in &unreadable {
        eprintln!("secrets: error: {e}");
    }
    Ok(if !unreadable.is_empty() {
        ExitCode::from(super::exit::INPUT)
    } else if args.check && (drift || unfinished.is_some()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `status --stale`: one row per value of every encrypted file under the root, with when it
/// last changed according to git ([`crate::policy::staleness`]): the oldest commit of the
/// unbroken first-parent chain from HEAD that still holds its ciphertext. No value is
/// decrypted or printed, and no identity is needed.
///
/// Order: values whose change is unknown first (they may be the oldest), then the changed
/// ones oldest first, then the uncommitted ones; ties keep the files' order and each
/// file's document order.
///
/// Human: `FILE  KEY  AGE  AUTHOR  COMMIT  DATE` (age in whole days, `Nd`; the date in UTC;
/// `-` and `uncommitted` or `unknown: <why>` where there is no commit).
///
/// `--overdue` keeps only the values past their schema `max_age` and exits 1 when there
/// is one; the human form ends with the count on stderr either way (for `--stale`, when a
/// value has a max_age).
///
/// JSON (stable field names): `{"root", "now", "values": [{"file", "key", "state",
/// "age_days", "min_age_days", "time", "date", "commit", "author", "email", "summary", "reason",
/// "detail", "max_age", "overdue"}]}`. `state` is `changed`, `uncommitted` or `unknown`; `now` and `time` are
/// unix seconds (`time`: the earlier of the commit's author and committer times), `date` its RFC 3339 UTC text,
/// `commit` the full id; `reason` is a stable code for an unknown state (`shallow`,
/// `not_committed`, `not_in_repository`, `no_commits`, `missing_parent`,
/// `partial_clone`, `in_clear`, `empty`, `not_verbatim`) and `detail` its text; `max_age` is the schema's text (`90d`)
/// and `overdue` true past it (null when the age is unknown or there is no max_age). Fields
/// that do not apply are null.
pub(super) mod stale {
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;

    use super::{print_table, ListFormat};
    use crate::config::schema::Span;
    use crate::config::Config;
    use crate::keys::identity::Identities;
    use crate::policy::staleness::{self, Change, Freshness};
    use crate::store::Format;
    use crate::team;

    /// One value's row. A struct so columns can be added (a schema's `max_age`) without
    /// touching the others.
    pub(crate) struct StaleRow {
        /// Relative to the config's root, `/`-separated.
        pub file: String,
        /// Dotted key path, as `exec` spells it.
        pub key: String,
        pub freshness: Freshness,
        /// The schema's `max_age` for this value in its file's environment, if any.
        pub max_age: Option<Span>,
    }

    impl StaleRow {
        fn change(&self) -> Option<&Change> {
            match &self.freshness {
                Freshness::Changed(c) => Some(c),
                _ => None,
            }
        }

        /// Whole days since the change (never negative: a clock behind a commit gives 0).
        pub fn age_days(&self, now: i64) -> Option<i64> {
            self.change().map(|c| (now - c.time).max(0) / 86_400)
        }

        fn state(&self) -> &'static str {
            match self.freshness {
                Freshness::Changed(_) => "changed",
                Freshness::Uncommitted => "uncommitted",
                Freshness::Unknown(_) => "unknown",
            }
        }

        /// Whole days the value is at least as old, when history proves only that (it
        /// was already there at a shallow clone's boundary).
        pub fn min_age_days(&self, now: i64) -> Option<i64> {
            match &self.freshness {
                Freshness::Unknown(why) => why.held_since().map(|t| (now - t).max(0) / 86_400),
                _ => None,
            }
        }

        /// Past its `max_age`: `Some(true)`; within it: `Some(false)`; no rule, or an age
        /// git cannot tell: `None`. An age known only to be at least some time is past
        /// its `max_age` when that bound is; under it, the age is still unknown.
        pub fn overdue(&self, now: i64) -> Option<bool> {
            let max = self.max_age.as_ref()?;
            let past = |t: i64| (now - t).max(0) as u64 > max.seconds;
            match &self.freshness {
                Freshness::Changed(c) => Some(past(c.time)),
                Freshness::Unknown(why) => why.held_since().filter(|t| past(*t)).map(|_| true),
                Freshness::Uncommitted => None,
            }
        }

        /// Unknown first, then changed oldest first, then uncommitted.
        fn order(&self) -> (u8, i64) {
            match &self.freshness {
                Freshness::Unknown(_) => (0, 0),
                Freshness::Changed(c) => (1, c.time),
                Freshness::Uncommitted => (2, 0),
            }
        }
    }

    pub(in crate::cli) fn date(time: i64, with_time: bool) -> String {
        let Ok(t) = time::OffsetDateTime::from_unix_timestamp(time) else {
            return time.to_string();
        };
        let format = if with_time {
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z")
        } else {
            time::macros::format_description!("[year]-[month]-[day]")
        };
        t.format(&format).unwrap_or_else(|_| time.to_string())
    }

    /// The `max_age` of the schema rule naming this value (by key path, or by the variable
    /// name `exec` gives it) in its file's environment.
    fn max_age(cfg: &Config, path: &Path, key: &str) -> Option<Span> {
        if cfg.schema().is_empty() {
            return None;
        }
        let env = cfg
            .relative(path)
            .and_then(|rel| cfg.environment_for(&rel))?;
        let name = if Format::from_path(path) == Format::Dotenv {
            crate::store::dotenv::env_name(key).to_string()
        } else {
            key.split('.')
                .map(crate::exec::env::segment)
                .collect::<Vec<_>>()
                .join("_")
        };
        // Every rule naming the key applies: the shortest max_age.
        cfg.schema()
            .rules_for(Some(env), &name, key)
            .filter_map(|r| r.max_age.clone())
            .min_by_key(|m| m.seconds)
    }

    pub fn run(
        cfg: &Config,
        format: ListFormat,
        overdue_only: bool,
        ids: Option<&Identities>,
    ) -> anyhow::Result<ExitCode> {
        let files = cfg.walk_files()?;
        let probed = team::parallel_map(&files, |p| team::probe(p).map(|f| f.is_some()));
        let mut unreadable = Vec::new();
        let mut encrypted: Vec<PathBuf> = Vec::new();
        for (path, found) in files.iter().zip(probed) {
            match found {
                Ok(true) => encrypted.push(path.clone()),
                Ok(false) => {}
                Err(e) => unreadable.push(match cfg.relative(path) {
                    Some(rel) => e.with_path(&rel),
                    None => e,
                }),
            }
        }
        let found = staleness::last_changes_with(&encrypted, ids)?;
        let mut rows = Vec::new();
        for path in &encrypted {
            let file = cfg
                .relative(path)
                .map(|rel| crate::config::rel_string(&rel))
                .unwrap_or_else(|| path.display().to_string());
            let list = found.get(path).map(Vec::as_slice).unwrap_or_default();
            let names = crate::store::shown_keys(crate::store::Format::from_path(path), list);
            for ((key, freshness), shown) in list.iter().zip(names) {
                rows.push(StaleRow {
                    file: file.clone(),
                    key: shown,
                    freshness: freshness.clone(),
                    max_age: max_age(cfg, path, key),
                });
            }
        }
        rows.sort_by_key(StaleRow::order);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let overdue = rows.iter().filter(|r| r.overdue(now) == Some(true)).count();
        // Values with a max_age whose age git cannot tell: never reported as fresh.
        // (file, key, reason code, why)
        let unknown: Vec<(String, String, &str, String)> = rows
            .iter()
            .filter(|r| r.max_age.is_some() && r.overdue(now) != Some(true))
            .filter_map(|r| {
                let (code, why) = match &r.freshness {
                    Freshness::Unknown(why) => (why.code(), why.to_string()),
                    Freshness::Uncommitted => {
                        ("uncommitted", "changed but not committed yet".to_string())
                    }
                    Freshness::Changed(_) => return None,
                };
                Some((r.file.clone(), r.key.clone(), code, why))
            })
            .collect();
        if overdue_only {
            rows.retain(|r| r.overdue(now) == Some(true));
        }
        match format {
            ListFormat::Json => {
                let values: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|r| {
                        let c = r.change();
                        let (reason, detail) = match &r.freshness {
                            Freshness::Unknown(why) => (Some(why.code()), Some(why.to_string())),
                            _ => (None, None),
                        };
                        serde_json::json!({
                            "file": r.file,
                            "key": r.key,
                            "state": r.state(),
                            "age_days": r.age_days(now),
                            "min_age_days": r.min_age_days(now),
                            "time": c.map(|c| c.time),
                            "date": c.map(|c| date(c.time, true)),
                            "commit": c.map(|c| &c.commit),
                            "author": c.map(|c| &c.author),
                            "email": c.map(|c| &c.email),
                            "summary": c.map(|c| &c.summary),
                            "reason": reason,
                            "detail": detail,
                            "max_age": r.max_age.as_ref().map(|m| &m.text),
                            "overdue": r.overdue(now),
                        })
                    })
                    .collect();
                let doc = serde_json::json!({
                    "root": crate::config::absolute(cfg.root()),
                    "now": now,
                    "values": values,
                    // Values with a max_age whose age history cannot tell: never all clear.
                    "unknown_age": unknown
                        .iter()
                        .map(|(file, key, reason, _)| serde_json::json!({"file": file, "key": key, "reason": reason}))
                        .collect::<Vec<_>>(),
                });
                println!("{}", serde_json::to_string_pretty(&doc)?);
            }
            ListFormat::Human => {
                let table: Vec<[String; 7]> = rows
                    .iter()
                    .map(|r| {
                        let (age, author, commit, when) = match &r.freshness {
                            Freshness::Changed(c) => (
                                format!("{}d", r.age_days(now).unwrap_or(0)),
                                c.author.clone(),
                                c.commit.chars().take(7).collect(),
                                date(c.time, false),
                            ),
                            Freshness::Uncommitted => {
                                ("-".into(), "-".into(), "-".into(), "uncommitted".into())
                            }
                            Freshness::Unknown(why) => (
                                match r.min_age_days(now) {
                                    Some(d) => format!(">={d}d"),
                                    None => "?".into(),
                                },
                                "-".into(),
                                "-".into(),
                                format!("unknown: {why}"),
                            ),
                        };
                        let max = match (&r.max_age, r.overdue(now)) {
                            (Some(m), Some(true)) => format!("{} OVERDUE", m.text),
                            (Some(m), _) => m.text.clone(),
                            (None, _) => "-".into(),
                        };
                        [
                            r.file.clone(),
                            r.key.clone(),
                            age,
                            max,
                            author,
                            commit,
                            when,
                        ]
                    })
                    .collect();
                if !table.is_empty() {
                    print_table(
                        &["FILE", "KEY", "AGE", "MAX AGE", "AUTHOR", "COMMIT", "DATE"],
                        &table,
                    );
                }
                // The count, where a max_age makes it mean something.
                let aged = overdue_only || rows.iter().any(|r| r.max_age.is_some());
                let known = if unknown.is_empty() {
                    ""
                } else {
                    " known to be"
                };
                match overdue {
                    _ if !aged => {}
                    0 => eprintln!("no value is{known} past its max_age"),
                    1 => eprintln!("1 value is past its max_age"),
                    n => eprintln!("{n} values are past their max_age"),
                }
                if let Some((_, _, _, why)) = unknown.first() {
                    eprintln!(
                        "secrets: warning: {} value{} with a max_age {} no known age ({why}): {} may be overdue",
                        unknown.len(),
                        if unknown.len() == 1 { "" } else { "s" },
                        if unknown.len() == 1 { "has" } else { "have" },
                        if unknown.len() == 1 { "it" } else { "they" },
                    );
                }
            }
        }
        for e in &unreadable {
            eprintln!("secrets: error: {e}");
        }
        Ok(if !unreadable.is_empty() {
            ExitCode::from(super::super::exit::INPUT)
        } else if overdue_only && overdue > 0 {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    }
}

/// One line when git would diff and merge the encrypted files as text (`secrets git
/// setup` not run, or incomplete): merges of them then always conflict.
fn git_setup_note(cfg: &Config, encrypted: &[std::path::PathBuf], g: &Global) {
    if encrypted.is_empty() {
        return;
    }
    let Ok(repo) = git2::Repository::discover(cfg.root()) else {
        return;
    };
    if let Ok(missing) = crate::workspace::gitsetup::check_files(&repo, cfg, encrypted) {
        if !missing.is_empty() {
            output::note(
                g,
                format!(
                    "secrets: note: git diffs and merges encrypted files as text here ({} thing(s) missing); run secrets git setup (secrets git setup --check lists them)",
                    missing.len()
                ),
            );
        }
    }
}
