//! `secrets import SRC [--env E | --to FILE] [--dry-run] …`: a plaintext dotenv, YAML or
//! JSON file (or `--from-vault PATH`) becomes an environment's encrypted file. Prints the
//! plan (key, class, reason, destination; never a value), writes and verifies, then backs
//! up, ignores and (with `--remove-source`) removes the source. The work is in
//! [`crate::import`]; this page parses, prints and picks exit codes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::exit::{CliError, CONFIG, CONFLICT, IMPORT_CONFLICT, INPUT, NOT_ENCRYPTED};
use super::{output, Global};
use crate::config::{absolute, Config};
use crate::engine::{EncryptedFile, FileError};
use crate::fsutil::lock::{Lock, Seen};
use crate::import::{aftercare, dest, plan, vault, Action, Class, Options, Plan, Source};
use crate::store::Format;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The plaintext dotenv, YAML or JSON file to import.
    #[arg(
        value_name = "SRC",
        required_unless_present = "from_vault",
        conflicts_with = "from_vault"
    )]
    source: Option<PathBuf>,
    /// Import the KV secrets under this Vault/OpenBao path instead (KV v2 or v1, read
    /// recursively; $VAULT_ADDR, $VAULT_TOKEN, $VAULT_NAMESPACE, $VAULT_CACERT).
    #[arg(long, value_name = "PATH")]
    from_vault: Option<String>,
    /// The environment to import into: its file is found from its globs.
    #[arg(long, value_name = "ENV")]
    env: Option<String>,
    /// The encrypted file to write or merge into (it must belong to an environment).
    #[arg(long, value_name = "FILE")]
    to: Option<PathBuf>,
    /// Print the plan and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Encrypt every key, plain config included.
    #[arg(long)]
    encrypt_all: bool,
    /// Keep these keys in clear whatever they look like (comma-separated names).
    #[arg(long, value_name = "K,…", value_delimiter = ',')]
    keep_clear: Vec<String>,
    /// Put the backup copy of the source here (default: ~/.local/state/secrets/backups).
    #[arg(long, value_name = "DIR", conflicts_with = "no_backup")]
    backup: Option<PathBuf>,
    /// Make no backup copy of the source.
    #[arg(long)]
    no_backup: bool,
    /// Remove the source once the encrypted file is written and verified.
    #[arg(long)]
    remove_source: bool,
    /// Replace values the destination already holds with other values (else refused).
    #[arg(long)]
    overwrite: bool,
    #[command(flatten)]
    pub itype: super::InputTypeArg,
    #[command(flatten)]
    pub ids: super::IdentityArg,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    let here = std::env::current_dir()?;
    if args.encrypt_all && !args.keep_clear.is_empty() {
        return Err(CliError::new(
            CONFLICT,
            "--encrypt-all encrypts every key; --keep-clear keeps some in clear: give one of them",
        )
        .into());
    }
    let source = match (&args.source, &args.from_vault) {
        (Some(p), _) if output::is_stdin(p) => {
            let max = crate::store::limits::MAX_PLAIN_SIZE;
            let (format, bytes) = output::read_stdin_file(g, max, "plaintext files")?;
            output::note(
                g,
                "read from stdin: no backup, .gitignore or source removal applies (nothing on disk)",
            );
            Source::read_bytes(format, &bytes)?
        }
        (Some(p), _) => {
            if let Some(target) = aftercare::link_target(p).filter(|_| args.remove_source) {
                return Err(CliError::new(
                    INPUT,
                    format!(
                        "{}: a symbolic link to {}: --remove-source would remove the link and leave the plaintext; nothing written",
                        p.display(),
                        output::shown(&target).display()
                    ),
                )
                .hint("import the file it points to, or leave out --remove-source")
                .into());
            }
            Source::read_file(p, g.input_type)?
        }
        (None, Some(path)) => vault::read(&vault_settings()?, path)?,
        (None, None) => unreachable!("clap requires one"),
    };
    if source.is_empty() {
        let what = match &args.from_vault {
            Some(p) => format!("no values under {p}"),
            None => format!("no values in {}", source.name),
        };
        return Err(
            CliError::new(INPUT, format!("{what}: nothing to import, nothing written"))
                .hint("check the path or file")
                .into(),
        );
    }
    let start = args
        .to
        .as_deref()
        .and_then(|t| absolute(t).parent().map(Path::to_path_buf))
        .unwrap_or_else(|| here.clone());
    let cfg = Config::discover_typed(&start)?.ok_or_else(|| {
        CliError::new(CONFIG, "no .secrets.yaml (or .sops.yaml) here or above: import needs an environment to encrypt for")
            .hint("secrets init, then secrets env add ENV --files GLOB")
    })?;
    let (dest, env) = destination(&args, &cfg, &source)?;
    let format = Format::from_path(&dest);
    let in_place = source.file.as_ref().is_some_and(|s| same_file(s, &dest));

    // The destination's lock is held from reading it to writing it.
    let lock = Lock::acquire(&dest)?;
    let (existing, seen) = if dest.exists() && !in_place {
        let (file, seen) = match EncryptedFile::load_locked(&lock, Some(format)) {
            Ok(x) => x,
            Err(FileError::NotEncrypted { .. }) | Err(FileError::Metadata { .. }) => {
                return Err(CliError::new(
                    NOT_ENCRYPTED,
                    format!("{}: exists and is not encrypted", output::shown(&dest).display()),
                )
                .hint("import into another file (--to FILE), or encrypt it first: secrets encrypt -i FILE")
                .into())
            }
            Err(e) => return Err(e.into()),
        };
        let ids = output::identities(g)?;
        (Some(plan::open_existing(file, &ids)?), seen)
    } else if in_place {
        (None, lock.read()?.1)
    } else {
        (None, Seen::missing())
    };
    let creation = cfg.creation_rule(&dest)?;
    let plan = Plan::build(
        &source,
        &dest,
        format,
        existing.as_ref(),
        creation.as_ref().map(|c| &c.rules),
        &Options {
            encrypt_all: args.encrypt_all,
            keep_clear: args.keep_clear.clone(),
            overwrite: args.overwrite,
        },
    )?;
    let unknown: Vec<&str> = args
        .keep_clear
        .iter()
        .filter(|k| {
            !plan
                .units
                .iter()
                .any(|u| plan::unit_name(&u.path, plan.format) == k.as_str())
        })
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(CliError::new(
            CONFLICT,
            format!(
                "--keep-clear names no key of {}: {}",
                source.name,
                unknown.join(", ")
            ),
        )
        .into());
    }
    if !g.quiet || args.dry_run {
        print_plan(&plan, &env, &dest, existing.is_some(), in_place);
    }
    if !plan.conflicts().is_empty() {
        return Err(anyhow::Error::new(plan.conflict_error()).context(
            CliError::new(
                IMPORT_CONFLICT,
                format!("{}: import refused, nothing written", source.name),
            )
            .hint("--overwrite replaces them, or leave those keys out of the source"),
        ));
    }
    if args.dry_run {
        output::note(g, "dry run: nothing was written");
        return Ok(ExitCode::SUCCESS);
    }
    let keys = creation.map(|c| c.keys).unwrap_or_default();
    let sealed = plan.seal(existing.as_ref(), &keys, &crate::keys::Services::from_env())?;
    // Verified in memory; the backup comes before anything is changed.
    if let Some(src) = &source.file {
        backup_step(&args, g, src)?;
    }
    let shown_dest = output::shown(&dest);
    if plan.changes() || existing.is_none() {
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir).map_err(|error| FileError::Write {
                path: dest.clone(),
                error,
            })?;
        }
        lock.replace(&seen, &sealed.bytes)
            .map_err(crate::engine::FileError::from)?;
        // What is on disk now, decrypted and compared again.
        let written = std::fs::read(&dest)?;
        plan.verify(&written, &sealed.key, existing.as_ref().map(|e| &e.file))?;
        output::note(
            g,
            format!(
                "wrote {} ({} secret, {} plain); decrypted it and every value matches the source",
                shown_dest.display(),
                count(&plan, Class::Secret),
                count(&plan, Class::Plain)
            ),
        );
    } else {
        output::note(
            g,
            format!(
                "{}: already holds every value; not rewritten",
                shown_dest.display()
            ),
        );
    }
    drop(lock);
    if let Some(src) = &source.file {
        aftercare_steps(&args, g, src, in_place)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The destination and its environment.
fn destination(args: &Args, cfg: &Config, source: &Source) -> anyhow::Result<(PathBuf, String)> {
    if let Some(to) = &args.to {
        let abs = absolute(to);
        let env = dest::check_to(cfg, &abs, args.env.as_deref())?;
        return Ok((abs, env));
    }
    let env = match args.env.as_deref().or_else(|| cfg.default_env()) {
        Some(e) => e.to_string(),
        None => {
            return Err(CliError::new(INPUT, "no --env and no default environment")
                .hint("name one: --env ENV, or a file: --to FILE")
                .into())
        }
    };
    let nested = source.root().is_some_and(|b| {
        b.entries()
            .any(|(_, v)| !matches!(v, crate::model::Node::Leaf(_)))
    });
    let name = match &source.file {
        Some(f) => f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        None => format!(
            "{}.yaml",
            source
                .name
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("secrets")
        ),
    };
    let want = dest::Want {
        format: source.format,
        nested,
        name: &name,
    };
    Ok((dest::for_env(cfg, &env, &want)?, env))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn count(plan: &Plan, class: Class) -> usize {
    plan.units
        .iter()
        .filter(|u| u.judgement.class == class && u.action != Action::Conflict)
        .count()
}

/// The plan as a table on stdout: key, class, reason, destination and what happens there.
fn print_plan(plan: &Plan, env: &str, dest: &Path, merging: bool, in_place: bool) {
    let shown = output::shown(dest).display().to_string();
    let rows: Vec<[String; 4]> = plan
        .units
        .iter()
        .map(|u| {
            [
                plan.shown(&u.path),
                u.judgement.class.name().to_string(),
                u.judgement.reason.clone(),
                format!("{shown} ({})", u.action.name()),
            ]
        })
        .collect();
    let head = ["KEY", "CLASS", "REASON", "DESTINATION"];
    let mut w = head.map(str::len);
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |c: [&str; 4]| {
        format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            c[0],
            c[1],
            c[2],
            c[3],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2]
        )
    };
    println!("{}", line(head));
    for r in &rows {
        println!("{}", line([&r[0], &r[1], &r[2], &r[3]]));
    }
    let clear = plan
        .rules()
        .unencrypted_regex
        .as_deref()
        .unwrap_or("(none: every value encrypted)");
    println!(
        "environment {env}; {} ({}); kept in clear by unencrypted_regex: {clear}",
        shown,
        if merging {
            "merged into the existing file"
        } else if in_place {
            "encrypted in place"
        } else {
            "new file"
        },
    );
}

/// The private backup copy of the source (unless `--no-backup`), taken after the
/// encrypted text was verified in memory and before anything is written.
fn backup_step(args: &Args, g: &Global, src: &Path) -> anyhow::Result<()> {
    if args.no_backup {
        return Ok(());
    }
    let dir = match &args.backup {
        Some(d) => absolute(d),
        None => default_backup_dir()?,
    };
    let bytes = crate::engine::read(src)?;
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_default();
    let path = aftercare::backup(src, &bytes, &dir, &stamp).map_err(|e| {
        let code = match e {
            aftercare::AftercareError::BackupInRepo { .. } => CONFLICT,
            _ => super::exit::OUTPUT,
        };
        anyhow::Error::new(e).context(CliError::new(code, "nothing was written").hint(
            "back up outside the repository (--backup DIR), or add the directory to .gitignore",
        ))
    })?;
    output::note(g, format!("backup: {} (0600)", path.display()));
    Ok(())
}

/// After the write: `.gitignore`, the committed-source warning, the hook hint, removal.
fn aftercare_steps(args: &Args, g: &Global, src: &Path, in_place: bool) -> anyhow::Result<()> {
    let shown_src = output::shown(src).display().to_string();
    // A source that is a link: the file it points to holds the plaintext, so it is
    // ignored too.
    let target = aftercare::link_target(src);
    let to_ignore = std::iter::once(src).chain(target.as_deref());
    for path in to_ignore.filter(|_| !in_place) {
        let shown_src = output::shown(path).display().to_string();
        if let Some(added) = aftercare::ignore_source(path)? {
            output::note(
                g,
                format!(
                    "added {} to {}",
                    added.line,
                    output::shown(&added.file).display()
                ),
            );
            if added.still_seen {
                eprintln!(
                    "secrets: warning: git still does not ignore {shown_src}: another .gitignore (or .git/info/exclude) negates it; see `git check-ignore -v --no-index -- {shown_src}` and remove that `!` line"
                );
            }
        }
    }
    if let Some(rel) = aftercare::committed(src) {
        if !in_place {
            eprintln!(
                "secrets: warning: {shown_src} is committed: run `git rm --cached -- {rel}` and commit"
            );
        }
        eprintln!("secrets: warning: its values are in git history: rotate them (`secrets scan --history` finds them)");
    }
    if aftercare::hook_installed(src) == Some(false) {
        output::note(
            g,
            "hint: no leak-scanning hook in this repository: secrets hook install",
        );
    }
    if args.remove_source && !in_place {
        aftercare::remove_source(src)?;
        output::note(g, format!("removed {shown_src}"));
    } else if args.remove_source {
        output::note(
            g,
            format!(
                "--remove-source: {shown_src} was encrypted in place; it is the destination, kept"
            ),
        );
    }
    Ok(())
}

/// `$XDG_STATE_HOME/secrets/backups`, else `~/.local/state/secrets/backups`: outside any
/// repository.
fn default_backup_dir() -> anyhow::Result<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .ok_or_else(|| {
            CliError::new(CONFLICT, "no HOME to put the backup in")
                .hint("--backup DIR, or --no-backup")
        })?;
    Ok(state.join("secrets").join("backups"))
}

/// The server and token from the standard variables (`VAULT_ADDR`, `VAULT_TOKEN` or
/// `~/.vault-token`, `VAULT_NAMESPACE`, `VAULT_CACERT`, `VAULT_SKIP_VERIFY`); the token
/// never leaves a secret string.
fn vault_settings() -> anyhow::Result<vault::Settings> {
    let settings = vault::Settings::from_env();
    if settings.addr.is_none() {
        return Err(
            CliError::new(CONFLICT, "--from-vault needs VAULT_ADDR (and VAULT_TOKEN)")
                .hint("export VAULT_ADDR=https://vault.example:8200 VAULT_TOKEN=…")
                .into(),
        );
    }
    Ok(settings)
}
