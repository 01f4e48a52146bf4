//! `secrets check [--env ENV | --all] [--format human|json] [--strict]`: every rule of the
//! schema (`.secrets.yaml`'s `schema:`) over the environments' values, for CI. One line per
//! violation naming environment, file, key and rule, never the value; checks that need a
//! key the user lacks, or a history git does not have (shallow clone), are listed as
//! skipped. Exit 0 clean, 1 violations (or skipped checks with `--strict`), 2 error.

use std::collections::HashMap;
use std::process::ExitCode;

use super::exit::{CliError, CONFIG};
use super::status::ListFormat;
use super::{output, Global};
use crate::policy::check::{self, EnvValues, Finding};
use crate::workspace::values::{self, EnvFiles};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Check one environment (and read the ones its distinct_from rules name).
    #[arg(long, value_name = "ENV", conflicts_with = "all")]
    env: Option<String>,
    /// Check every environment (the default).
    #[arg(long)]
    all: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    format: ListFormat,
    /// Exit 1 when a check was skipped too (no key for a file, age unknown).
    #[arg(long)]
    strict: bool,
    /// Check the values as they were at this git revision (the config, the files and
    /// their values there; max_age from that revision's history).
    #[arg(long, value_name = "REV")]
    rev: Option<String>,
    #[command(flatten)]
    pub ids: super::IdentityArg,
}

/// `check`'s own exit codes, for CI: 0 clean, 1 violations, 2 for any error (a config or
/// file that does not load, a file that fails its MAC), whatever code the error has elsewhere.
pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    check(args, g).map_err(|e| {
        let mut err = CliError::new(CHECK_ERROR, format!("{e:#}"));
        if let Some(h) = super::exit::hint_for(&e) {
            err = err.hint(h);
        }
        err.into()
    })
}

/// Exit code of `check` for an error.
const CHECK_ERROR: u8 = 2;

fn check(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir()?;
    let snap = output::snapshot(&cwd, args.rev.as_deref())?;
    let cfg = match &snap {
        None => crate::workspace::load_config(&cwd)?,
        Some(s) => {
            let now = crate::config::find_config(&cwd);
            s.config(now.as_deref()).map_err(|e| {
                match e.downcast::<crate::history::HistoryError>() {
                    Ok(h) => output::history_error(h),
                    Err(e) => e.context(format!("the config at {}", s.label())),
                }
            })?
        }
    };
    let names: Vec<String> = match &args.env {
        Some(e) if cfg.environment(e).is_none() => {
            return Err(
                CliError::new(CONFIG, format!("--env {e}: no such environment"))
                    .hint(format!(
                        "known environments: {}",
                        cfg.env_names().join(", ")
                    ))
                    .into(),
            )
        }
        Some(e) => vec![e.clone()],
        None => cfg.env_names().iter().map(|s| s.to_string()).collect(),
    };
    let ids = output::identities(g)?;
    // The environments checked, and those their distinct_from rules compare with.
    let mut wanted: Vec<String> = names.clone();
    for rule in &cfg.schema().rules {
        if let Some(d) = &rule.distinct_from {
            if !wanted.contains(d) {
                wanted.push(d.clone());
            }
        }
    }
    let mut loaded: HashMap<String, EnvFiles> = HashMap::new();
    for name in &wanted {
        let files = match &snap {
            None => values::load_env(&cfg, name, &ids)?,
            Some(s) => values::load_env_at(&cfg, name, &ids, s).map_err(|e| {
                match e.downcast::<crate::history::HistoryError>() {
                    Ok(h) => output::at_rev(h, s),
                    Err(e) => e.context(format!("at {}", s.label())),
                }
            })?,
        };
        loaded.insert(name.clone(), files);
    }
    let ages = ages(&cfg, &names, &loaded, snap.as_ref(), &ids)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let views: HashMap<String, EnvValues> = loaded
        .iter()
        .map(|(name, files)| {
            let production = cfg.environment(name).is_some_and(|e| e.production);
            let view = EnvValues {
                name,
                production,
                subjects: &files.subjects,
            };
            (name.clone(), view)
        })
        .collect();
    let mut findings: Vec<Finding> = Vec::new();
    for name in &names {
        let env = &views[name];
        findings.extend(check::check_values(cfg.schema(), env, true));
        findings.extend(check::check_distinct(cfg.schema(), env, &views));
        let root = cfg.root().to_path_buf();
        let age_of =
            |s: &check::Subject| ages.get(&(root.join(&*s.file), s.key.to_string())).cloned();
        findings.extend(check::check_ages(cfg.schema(), env, &age_of, now));
    }
    // Previous values kept by rotate-value past their grace period.
    findings.extend(check::check_retiring(&cfg, args.env.as_deref(), now));
    let violations = findings.iter().filter(|f| !f.skipped).count();
    let skipped = findings.len() - violations;
    print(&findings, args.format);
    if !g.quiet {
        eprintln!(
            "secrets check: {} environment(s), {violations} violation(s), {skipped} check(s) skipped",
            names.len()
        );
    }
    let failed = violations > 0 || (args.strict && skipped > 0);
    Ok(ExitCode::from(u8::from(failed)))
}

type Ages = HashMap<(std::path::PathBuf, String), crate::policy::staleness::Freshness>;

/// When each value of the checked environments last changed, read once for all their
/// files, and only when a rule has a max_age. A commit that re-encrypted a value `ids`
/// open on both sides with the same plaintext (a rotation, an offboarding, a sops edit)
/// does not count as its change.
fn ages(
    cfg: &crate::config::Config,
    names: &[String],
    loaded: &HashMap<String, EnvFiles>,
    snap: Option<&crate::history::Snapshot>,
    ids: &crate::keys::identity::Identities,
) -> anyhow::Result<Ages> {
    let needed = cfg.schema().rules.iter().any(|r| r.max_age.is_some());
    if !needed {
        return Ok(Ages::new());
    }
    let files: Vec<std::path::PathBuf> = names
        .iter()
        .flat_map(|n| loaded[n].files.iter().cloned())
        .collect();
    let mut out = Ages::new();
    let found = match snap {
        None => crate::policy::staleness::last_changes_with(&files, Some(ids))?,
        Some(s) => s.last_changes(&files).map_err(|e| output::at_rev(e, s))?,
    };
    for (file, values) in found {
        let abs = crate::config::absolute(&file);
        for (key, fresh) in values {
            out.insert((abs.clone(), key), fresh);
        }
    }
    Ok(out)
}

fn print(findings: &[Finding], format: ListFormat) {
    match format {
        ListFormat::Json => {
            let list: Vec<serde_json::Value> = findings
                .iter()
                .map(|f| {
                    serde_json::json!({
                        "environment": f.env,
                        "file": f.file,
                        "key": f.key,
                        "path": f.path.as_deref().unwrap_or(&f.key),
                        "rule": f.rule.as_str(),
                        "message": f.detail,
                        "skipped": f.skipped,
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&list).expect("JSON of strings")
            );
        }
        ListFormat::Human => {
            if findings.is_empty() {
                return;
            }
            let rows: Vec<[String; 6]> = findings
                .iter()
                .map(|f| {
                    [
                        if f.skipped { "skipped" } else { "FAIL" }.to_string(),
                        f.env.clone(),
                        f.file.clone().unwrap_or_else(|| "-".into()),
                        f.shown_key(),
                        f.rule.as_str().to_string(),
                        f.detail.clone(),
                    ]
                })
                .collect();
            super::status::print_table(&["RESULT", "ENV", "FILE", "KEY", "RULE", "WHY"], &rows);
        }
    }
}
