//! `secrets scan [PATH… | -] [--staged | --history [RANGE] | --all] [--format
//! human|json|sarif] [--write-baseline] [--baseline FILE]`: wiring only. It picks the
//! source, loads the allowlist and baseline, decrypts what the user can decrypt to hand the
//! scanner the known values (the scan library never decrypts), shows a progress line on a
//! terminal during a long scan, and maps the outcome to the exit code: 0 clean, 1 findings,
//! 2 error.

use super::exit::CliError;
use super::progress::{self, thousands};
use super::{output, Global};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::config::Config;
use crate::crypto;
use crate::engine::{self, EncryptedFile};
use crate::git::history::{Progress, Revs};
use crate::keys::Identities;
use crate::model::{Branch, Plain, Scalar, Sealed};
use crate::scan::{
    self, source, Allowlist, Baseline, BaselineEntry, Finding, KnownValue, KnownValues, Options,
    Scanner,
};
use crate::store::Format;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Human,
    Json,
    Sarif,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files or directories to scan (default: the working tree); `-` reads stdin. Files
    /// given are scanned exactly, even when .gitignore excludes them.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Scan the blobs staged in the index (what the commit will contain), not the working
    /// files.
    #[arg(long, conflicts_with_all = ["history", "all", "paths"])]
    pub staged: bool,
    /// Scan the lines added by every commit in RANGE (`A..B`, a revision; default HEAD).
    #[arg(long, value_name = "RANGE", num_args = 0..=1, default_missing_value = "HEAD",
          conflicts_with = "paths")]
    pub history: Option<String>,
    /// Scan the lines added by every commit reachable from any ref (branches, tags,
    /// remote-tracking branches, notes, the stash) or HEAD, as `git log --all` lists them;
    /// implies --history.
    #[arg(long, conflicts_with = "paths")]
    pub all: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: ReportFormat,
    /// Record the current findings as accepted (in --baseline FILE, default
    /// .secrets-baseline.json at the root) and exit 0.
    #[arg(long)]
    pub write_baseline: bool,
    /// Baseline of accepted findings (default: .secrets-baseline.json at the root, if any).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Do not decrypt the encrypted files to look for plaintext copies of their values.
    #[arg(long)]
    pub no_known: bool,
    /// With --format json: name the encrypted file and key path of a known-secret-value
    /// finding (human output always does; SARIF and baselines never do).
    #[arg(long)]
    pub show_origin: bool,
    /// Worker threads for the working-tree walk and the history scan (default: the number
    /// of CPUs).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub ids: super::IdentityArg,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    run_inner(args, g).map_err(|e| {
        if e.downcast_ref::<CliError>().is_some() {
            e
        } else if super::exit::code_for(&e) == super::exit::BUSY {
            // The baseline's lock (--write-baseline): busy, as for every other file.
            CliError::new(super::exit::BUSY, format!("scan: {e:#}"))
                .hint("retry, or wait longer: SECRETS_LOCK_TIMEOUT=SECONDS")
                .into()
        } else {
            CliError::new(super::exit::INPUT, format!("scan: {e:#}")).into()
        }
    })
}

fn run_inner(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir()?;
    let repo = crate::git::discover_from_env(&cwd).ok();
    let root = repo
        .as_ref()
        .and_then(|r| r.workdir().map(Path::to_path_buf))
        .unwrap_or_else(|| cwd.clone());
    let root = root.canonicalize().unwrap_or(root);

    let allow = Allowlist::load(&root)?;
    let default_baseline = root.join(scan::allow::BASELINE_FILE);
    let baseline_path = args.baseline.clone().unwrap_or(default_baseline);
    let baseline = if args.write_baseline {
        None
    } else if args.baseline.is_some() || baseline_path.is_file() {
        Some(Baseline::load(&baseline_path)?)
    } else {
        None
    };
    let config = match Config::discover(&root) {
        Ok(c) => c,
        Err(e) => {
            if !g.quiet {
                eprintln!("secrets: warning: team config ignored by the scan: {e:#}");
            }
            None
        }
    };
    let known = if args.no_known {
        None
    } else {
        known_values(&root, config.as_ref(), g)
    };
    let policy = config.map(policy_for);
    let scanner = Scanner::new(Options {
        allow,
        baseline,
        known,
        policy,
    });

    let stdin_only = args.paths.len() == 1 && args.paths[0] == Path::new("-");
    let mut findings: Vec<Finding>;
    let mut unreadable = Vec::new();
    // The files this scan covers, when not the whole tree (for --write-baseline).
    let mut scope: Option<Vec<String>> = None;
    if args.staged {
        let repo = repo.ok_or_else(|| crate::git::GitError::NoRepo(cwd.clone()))?;
        // Relative to the cwd, which git sets to the worktree top for hooks.
        let index_file = std::env::var_os("GIT_INDEX_FILE")
            .filter(|p| !p.is_empty())
            .map(|p| cwd.join(p));
        let index = crate::git::commit_index(&repo, index_file.as_deref())?;
        let staged = crate::git::staged(&repo, &index)?;
        if staged.is_empty() {
            output::note(g, "secrets: nothing staged; nothing to scan");
            // A machine reader still gets a document it can parse.
            if !args.write_baseline {
                write_report(args.format, &[])?;
            }
            return Ok(ExitCode::SUCCESS);
        }
        scope = Some(staged.iter().map(|s| s.path.clone()).collect());
        findings = Vec::new();
        for s in &staged {
            findings.extend(scanner.scan_file(&s.path, &s.content, None));
        }
    } else if args.history.is_some() || args.all {
        let repo = repo.ok_or_else(|| crate::git::GitError::NoRepo(cwd.clone()))?;
        let revs = if args.all {
            // `--history --all` arrives as `HEAD`, clap's value for a bare `--history`.
            if args.history.as_deref().is_some_and(|r| r != "HEAD") {
                return Err(CliError::new(
                    super::exit::INPUT,
                    "--all scans every ref; it takes no RANGE",
                )
                .into());
            }
            Revs::All
        } else {
            Revs::Range(args.history.as_deref().unwrap_or("HEAD"))
        };
        let counts = Arc::new(Progress::default());
        let shown = Arc::clone(&counts);
        let _line = progress::Line::start(g.quiet, move || {
            format!(
                "{} of {} commits",
                thousands(shown.done.load(Ordering::Relaxed)),
                thousands(shown.total.load(Ordering::Relaxed))
            )
        });
        let scanner = &scanner;
        // A file whose new content holds no keyword and no known value gives nothing, in
        // whatever lines a commit adds: it is not diffed. A binary one has path checks only.
        let worth = |path: &str, content: &[u8]| {
            if scan::is_binary(content) {
                return scan::is_decrypted_copy(path) || scan::is_key_store(path, content);
            }
            scanner.may_find(path, content) || scan::is_decrypted_copy(path)
        };
        (findings, _) =
            crate::git::history::history(&repo, revs, threads(&args), &counts, worth, |a| {
                let mut found = Vec::new();
                // A decrypted copy where a commit creates it; a key store wherever one
                // creates or changes it (a truststore that gains a key).
                if (a.new_file && scan::is_decrypted_copy(&a.path))
                    || scan::is_key_store(&a.path, &a.text)
                {
                    found.extend(scanner.scan_path(&a.path, &a.text, Some(&a.commit)));
                }
                // A binary file comes with no lines: its path checks were all.
                if a.lines.is_empty() {
                    return found;
                }
                found.extend(scanner.scan_text(
                    &a.path,
                    &a.text,
                    scan::Lines {
                        offset: 0,
                        map: Some(&a.lines),
                    },
                    Some(&a.commit),
                ));
                found
            })?;
    } else if stdin_only {
        let stats = source::Stats::default();
        findings = source::scan_reader(&scanner, "-", std::io::stdin().lock(), 0, &stats)?;
    } else {
        if args.paths.iter().any(|p| p == Path::new("-")) {
            return Err(CliError::new(
                super::exit::INPUT,
                "`-` (stdin) cannot be combined with other paths",
            )
            .into());
        }
        let targets: Vec<PathBuf> = if args.paths.is_empty() {
            vec![root.clone()]
        } else {
            let mut t = Vec::new();
            for p in &args.paths {
                let abs = cwd.join(p);
                if !abs.exists() {
                    return Err(CliError::new(
                        super::exit::INPUT,
                        format!("{}: no such file or directory", p.display()),
                    )
                    .into());
                }
                t.push(target_path(abs));
            }
            t
        };
        if !args.paths.is_empty() {
            scope = Some(
                targets
                    .iter()
                    .map(|t| source::display_path(&root, t))
                    .collect(),
            );
        }
        let stats = Arc::new(source::Stats::default());
        let shown = Arc::clone(&stats);
        let line = progress::Line::start(g.quiet, move || {
            format!(
                "{} files, {} MB scanned",
                thousands(shown.files.load(Ordering::Relaxed)),
                thousands(shown.bytes.load(Ordering::Relaxed) >> 20)
            )
        });
        let walked = source::walk(&scanner, &root, &targets, threads(&args), &stats);
        drop(line);
        findings = walked.findings;
        unreadable = walked.unreadable;
    }
    // Stable: history findings come oldest commit first, so of the copies of one line the
    // oldest commit that added it is kept.
    findings.sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
    findings.dedup_by(|a, b| {
        a.path == b.path && a.rule == b.rule && a.fingerprint == b.fingerprint && a.line == b.line
    });
    if args.write_baseline {
        if !unreadable.is_empty() {
            return Err(incomplete(&unreadable));
        }
        // A read-modify-write of the baseline (a partial scan keeps the other files'
        // entries): under its lock, refused if another program changed it meanwhile.
        let lock = crate::fsutil::lock::Lock::acquire(&baseline_path)?;
        let seen = match lock.read() {
            Ok((_, seen)) => seen,
            Err(crate::fsutil::lock::LockError::Read { error, .. })
                if error.kind() == std::io::ErrorKind::NotFound =>
            {
                crate::fsutil::lock::Seen::missing()
            }
            Err(e) => return Err(e.into()),
        };
        let kept = kept_baseline_entries(&baseline_path, scope.as_deref())?;
        let kept_count = kept.len();
        let text = Baseline::render(
            kept.into_iter()
                .chain(findings.iter().map(Finding::baseline_entry)),
        );
        lock.replace(&seen, text.as_bytes())?;
        drop(lock);
        if !g.quiet {
            let kept_note = match kept_count {
                0 => String::new(),
                n => format!(" (kept {n} entry(ies) of files not scanned)"),
            };
            eprintln!(
                "secrets: wrote {} finding(s) to {}{kept_note}",
                findings.len(),
                baseline_path.display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }

    // Origins go to the terminal, and to JSON when asked; never into SARIF.
    let keep_origin = match args.format {
        ReportFormat::Human => true,
        ReportFormat::Json => args.show_origin,
        _ => false,
    };
    if !keep_origin {
        findings.iter_mut().for_each(|f| f.origin = None);
    }
    write_report(args.format, &findings)?;
    // With -q (the git hook) a clean scan prints nothing; findings keep their summary,
    // which says what to do about them.
    if args.format == ReportFormat::Human && unreadable.is_empty() {
        if findings.is_empty() {
            output::note(g, "secrets: no secrets found");
        } else {
            eprintln!(
                "secrets: {} possible secret(s) found; remove them, or allow with a \
                 `secrets:allow` comment, .secrets-scan, or --write-baseline",
                findings.len()
            );
        }
    }
    if !unreadable.is_empty() {
        return Err(incomplete(&unreadable));
    }
    Ok(if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Worker threads: `--threads`, else the CPUs.
fn threads(args: &Args) -> usize {
    args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    })
}

/// Prints `findings` to stdout in `format` (the human summary line is the caller's).
fn write_report(format: ReportFormat, findings: &[Finding]) -> std::io::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format {
        ReportFormat::Human => scan::report::human(&mut out, findings)?,
        ReportFormat::Json => scan::report::json(&mut out, findings)?,
        ReportFormat::Sarif => scan::report::sarif(&mut out, findings)?,
    }
    out.flush()
}

/// A target as it will be named: a directory resolved (the walk names what is under it);
/// a file keeps its own name, resolved only up to its parent, so a symlink is reported
/// under the name given rather than where it points.
fn target_path(abs: PathBuf) -> PathBuf {
    if abs.is_dir() {
        return abs.canonicalize().unwrap_or(abs);
    }
    match (abs.parent(), abs.file_name()) {
        (Some(parent), Some(name)) => parent
            .canonicalize()
            .map(|p| p.join(name))
            .unwrap_or(abs.clone()),
        _ => abs,
    }
}

/// The entries of the existing baseline that a scan of `scope` leaves alone: those of
/// files outside it (none when the scan covered everything, or there is no baseline yet).
fn kept_baseline_entries(
    baseline_path: &Path,
    scope: Option<&[String]>,
) -> anyhow::Result<Vec<BaselineEntry>> {
    let Some(scope) = scope else {
        return Ok(Vec::new());
    };
    if !baseline_path.is_file() {
        return Ok(Vec::new());
    }
    let old = Baseline::load(baseline_path)?;
    Ok(old
        .entries()
        .filter(|e| !scope.iter().any(|s| covers(s, &e.path)))
        .cloned()
        .collect())
}

/// Whether the scanned path `scanned` (a file, or a directory; `""` is the root) covers
/// the finding path `path`.
fn covers(scanned: &str, path: &str) -> bool {
    scanned.is_empty()
        || path == scanned
        || path
            .strip_prefix(scanned)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Names each file that could not be read, and fails the scan: what was not read was not
/// checked, so it must not pass as clean.
fn incomplete(unreadable: &[String]) -> anyhow::Error {
    for u in unreadable {
        eprintln!("secrets: error: {u}");
    }
    CliError::new(
        super::exit::INPUT,
        format!(
            "scan incomplete: {} file(s) could not be read",
            unreadable.len()
        ),
    )
    .into()
}

/// Decrypts every encrypted file under the root the user can open, found by its content
/// (not only the files of the team config's environments: a `.sops.yaml` repository, or a
/// file encrypted with `--age` and no config, holds values too), and returns their values.
/// Files the user cannot decrypt are skipped silently: the check covers what the user can
/// know.
fn known_values(root: &Path, config: Option<&Config>, g: &Global) -> Option<KnownValues> {
    let ids = match Identities::discover(&g.identity) {
        // (the hook runs it at every commit: no passphrase prompt)
        Ok(ids) => ids.without_prompts(),
        Err(e) => {
            // Say why: a silent skip would look like "no copies found".
            if !g.quiet {
                eprintln!(
                    "secrets: warning: plaintext copies of encrypted values not checked: {e:#}"
                );
            }
            return None;
        }
    };
    if ids.is_empty() {
        return None;
    }
    let mut values: Vec<KnownValue> = Vec::new();
    for (f, file) in crate::team::sops_files(root, config) {
        let rel = f.strip_prefix(root).unwrap_or(&f);
        let Ok(opened) = file.decrypt(&ids) else {
            continue;
        };
        for (i, (b, sealed)) in opened.branches.iter().zip(&file.branches).enumerate() {
            let origin = format!("{}#{i}", rel.to_string_lossy().replace('\\', "/"));
            let encrypted = encrypted_leaves(sealed);
            collect_plain(
                b,
                &origin,
                file.format == Format::Dotenv,
                &encrypted,
                &mut values,
            );
        }
    }
    if values.is_empty() {
        return None;
    }
    let k = KnownValues::new(&values);
    (!k.is_empty()).then_some(k)
}

/// The text values of a branch, each with its origin (`file#branch:key/path`), which
/// becomes the finding's fingerprint instead of the value. A dotenv value is what its
/// stored text means (`"p@ss word"` is `p@ss word`, the text a copy would hold).
/// Per leaf of `sealed`, in `try_map` order: whether it is stored encrypted. A value the
/// file's own rules keep in clear (`unencrypted_regex`, `_unencrypted`) is no secret: its
/// copy elsewhere is not a leak (and `import` keeps plain settings so).
fn encrypted_leaves(sealed: &Branch<Sealed>) -> Vec<bool> {
    let mut out = Vec::new();
    let _ = sealed.try_map::<(), std::convert::Infallible>(&mut |leaf, _| {
        out.push(
            matches!(&leaf.0, Scalar::Str(s) if crate::crypto::value::is_encrypted(s.as_str())),
        );
        Ok(())
    });
    out
}

fn collect_plain(
    b: &Branch<Plain>,
    file: &str,
    dotenv: bool,
    encrypted: &[bool],
    out: &mut Vec<KnownValue>,
) {
    let mut index = 0;
    let _ = b.try_map::<(), std::convert::Infallible>(&mut |leaf, path| {
        let stored_encrypted = encrypted.get(index).copied().unwrap_or(true);
        index += 1;
        if !stored_encrypted {
            return Ok(());
        }
        match leaf.scalar() {
            Scalar::Str(s) if dotenv => out.push(KnownValue {
                value: crate::store::dotenv::value_of(s)
                    .unwrap_or_else(|_| leaf.scalar().to_text()),
                origin: format!("{file}:{}", path.join("/")),
            }),
            Scalar::Str(_) | Scalar::RawStr(_) | Scalar::Bytes(_) => out.push(KnownValue {
                value: leaf.scalar().to_text(),
                origin: format!("{file}:{}", path.join("/")),
            }),
            _ => {}
        }
        Ok(())
    });
}

/// Check 3a: a file the team config puts in an environment must be sops-encrypted, with
/// no value left in clear unless the file's own rules say so.
fn policy_for(config: Config) -> scan::FilePolicy {
    Box::new(move |rel: &str, bytes: &[u8]| {
        let env = match config.classify(Path::new(rel)) {
            Ok(env) => env?.name.as_str(),
            // Two environments claim it: which readers it needs is unknown, so it can be
            // neither required to be encrypted for them nor passed; it is reported.
            Err(crate::config::ConfigError::Ambiguous {
                first,
                first_line,
                second,
                second_line,
                ..
            }) => {
                return Some(format!(
                    "File claimed by two environments, {first} (line {first_line}) and \
                     {second} (line {second_line}) of the team config; make their globs \
                     exclusive so it belongs to one"
                ))
            }
            Err(_) => return None,
        };
        let format = Format::from_path(Path::new(rel));
        match EncryptedFile::parse(Path::new(rel), format, bytes) {
            Ok(file) => {
                // A bad rule regex is the engine's error to report on decrypt, not a leak.
                let rules = crypto::CompiledRules::new(&file.metadata.rules).ok()?;
                let clear = crypto::clear_values(&file.branches, &rules);
                let first = clear.first()?;
                let more = match clear.len() {
                    1 => String::new(),
                    n => format!(" and {} more", n - 1),
                };
                Some(format!(
                    "File of environment {env} has values stored in clear ({first}{more}); \
                     fix them with secrets edit or secrets set"
                ))
            }
            // Holds sops values but cannot be parsed as an encrypted file (a syntax error,
            // a limit of store::limits): a hostile or damaged file, not plaintext.
            Err(e)
                if !matches!(e, engine::FileError::NotEncrypted { .. })
                    && memchr::memmem::find(bytes, b"ENC[AES256_GCM").is_some() =>
            {
                let e = e.to_string();
                let why = e.strip_prefix(&format!("{rel}: ")).unwrap_or(&e);
                Some(format!(
                    "File of environment {env} cannot be read as an encrypted file: {why}"
                ))
            }
            Err(_) if !engine::is_encrypted_bytes(format, bytes) => Some(format!(
                "File of environment {env} is staged in plaintext; encrypt it with secrets \
                 encrypt -i {rel}"
            )),
            Err(_) => None,
        }
    })
}
