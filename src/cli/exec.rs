//! `secrets exec [-f FILE…] [--env ENV] [--file-env] [--prefix P] [--only KEY…]
//! [--override | --no-override] -- CMD ARGS…`: run a program with decrypted values in its
//! environment (or, with `--file-env`, in private files named by `NAME_FILE`).
//!
//! Order matters here: the program is found on `PATH`, every file is decrypted, the names
//! are checked for collisions and the environment is built — all before anything starts,
//! so a failure never leaves a half-configured program running. The file selection and
//! decryption are shared with `secrets export`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::exit::{CliError, BAD_PATH, CONFIG, GENERIC, INPUT, NO_FILE, OUTPUT, SCHEMA};
use super::{output, Global};
use crate::exec::env::{self, EnvError, EnvSet, Var};
use crate::exec::files::SecretDir;
use crate::exec::run::{self, ChildEnv, RunError, Signals};
use crate::policy::check::Finding;
use crate::store::Format;
use crate::workspace::gate::SchemaGate;

/// Exit code when the command is not found (as in a shell).
pub const NOT_FOUND: u8 = 127;
/// Exit code when the command exists but cannot be executed (as in a shell).
pub const NOT_EXECUTABLE: u8 = 126;

// Which encrypted files to read: `-f` files, an environment of the team config, or both.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Selection {
    /// Encrypted file to read (repeatable; later files override earlier ones).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Environment from the team config (.secrets.yaml); default: its default environment
    /// when no -f is given. With -f too, the environment's files come first.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Start even when the values break the schema of .secrets.yaml (they are listed as
    /// warnings). Without it, a violation stops everything before the program starts.
    #[arg(long)]
    pub no_check: bool,
    /// Read the files as they were at this git revision (a commit, tag, branch, HEAD~3);
    /// with --env, the environment's files are those of the config at that revision.
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
    #[command(flatten)]
    pub itype: super::InputTypeArg,
    #[command(flatten)]
    pub ids: super::IdentityArg,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "\
The command after -- is executed directly, never through a shell. For pipes, variables or
several commands, run a shell yourself, in single quotes so that your current shell does not
expand the variables first:
    secrets exec -- sh -c 'psql \"$DATABASE_URL\" -c \"select 1\"'")]
pub struct Args {
    #[command(flatten)]
    pub selection: Selection,
    /// Write each value to a private file on tmpfs and set NAME_FILE=path instead of NAME
    /// (the Docker secrets convention); the files are removed when the command ends.
    #[arg(long)]
    pub file_env: bool,
    /// Prefix added to every variable name.
    #[arg(long, value_name = "P", default_value = "")]
    pub prefix: String,
    /// Pass only these variables (names like DATABASE_HOST, key paths like database.host,
    /// or a parent key like database).
    #[arg(long, value_name = "KEY", num_args = 1.., value_delimiter = ',')]
    pub only: Vec<String>,
    /// Values from the files replace existing environment variables (the default, like
    /// sops exec-env).
    #[arg(long, overrides_with = "no_override")]
    pub r#override: bool,
    /// Existing environment variables win over values from the files.
    #[arg(long, overrides_with = "override")]
    pub no_override: bool,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    check_prefix(&args.prefix)?;
    let program =
        run::resolve(&args.command[0], std::env::var_os("PATH").as_deref()).map_err(run_error)?;
    let vars = load_vars(&args.selection, &args.only, &args.prefix, g)?.vars;
    let override_existing = !args.no_override;

    if args.file_env {
        return run_with_files(&program, &args.command, vars, override_existing, g);
    }
    run::check_values(&vars).map_err(run_error)?;
    let child_env = ChildEnv::build(
        std::env::vars_os(),
        vars.iter().map(|v| (v.name.as_str(), v.value())),
        override_existing,
    );
    drop(vars);
    // On Unix this replaces our process and returns only on failure.
    let status = run::replace_or_run(&program, &args.command, child_env).map_err(run_error)?;
    Ok(ExitCode::from(status.shell_code()))
}

/// `--file-env`: signals are blocked before the directory exists, so none can kill us
/// between writing the files and removing them; they are forwarded to the child.
fn run_with_files(
    program: &Path,
    argv: &[OsString],
    vars: Vec<Var>,
    override_existing: bool,
    g: &Global,
) -> anyhow::Result<ExitCode> {
    let signals = Signals::block();
    let mut dir = SecretDir::create()
        .map_err(|e| CliError::new(OUTPUT, format!("cannot create a private directory: {e}")))?;
    if !dir.in_ram() {
        output::note(
            g,
            format!(
                "secrets: warning: {} is not on tmpfs; values are written to disk until the command ends",
                dir.path().display()
            ),
        );
    }
    // NAME_FILE stands for NAME: a NAME already in our environment would sit beside it
    // (postgres's entrypoint refuses both; other programs read the stale NAME). The file
    // wins by default, so NAME goes; with --no-override the environment's NAME wins, and
    // that variable gets no file.
    let vars: Vec<Var> = if override_existing {
        vars
    } else {
        vars.into_iter()
            .filter(|v| std::env::var_os(&v.name).is_none())
            .collect()
    };
    let replaced: std::collections::HashSet<&str> = if override_existing {
        vars.iter().map(|v| v.name.as_str()).collect()
    } else {
        Default::default()
    };
    let base: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(k, _)| k.to_str().is_none_or(|k| !replaced.contains(k)))
        .collect();
    drop(replaced);
    let mut settings: Vec<(String, OsString)> = Vec::with_capacity(vars.len());
    for v in &vars {
        let path = dir.write(&v.name, v.value()).map_err(|e| {
            CliError::new(
                OUTPUT,
                format!("{}: cannot write its file: {e}", v.origin()),
            )
        })?;
        settings.push((format!("{}_FILE", v.name), path.into_os_string()));
    }
    drop(vars);
    let encoded: Vec<(String, Vec<u8>)> = settings
        .into_iter()
        .map(|(k, p)| (k, p.to_string_lossy().into_owned().into_bytes()))
        .collect();
    let child_env = ChildEnv::build(
        base,
        encoded.iter().map(|(k, v)| (k.as_str(), v.as_slice())),
        override_existing,
    );
    let result = run::spawn_and_wait(program, argv, child_env, &signals, true);
    let removed = dir.remove();
    let status = result.map_err(run_error)?;
    if let Err(e) = removed {
        output::note(
            g,
            format!("secrets: warning: could not remove the private directory: {e}"),
        );
    }
    Ok(ExitCode::from(status.shell_code()))
}

fn check_prefix(prefix: &str) -> anyhow::Result<()> {
    if prefix.contains(['=', '\0']) {
        return Err(CliError::new(
            INPUT,
            format!("--prefix {prefix:?}: a variable name cannot contain '=' or NUL"),
        )
        .into());
    }
    Ok(())
}

/// The exit code and hint for a failure to start the program.
fn run_error(e: RunError) -> anyhow::Error {
    let (code, hint) = match &e {
        RunError::NotFound { .. } => (
            NOT_FOUND,
            Some("check the name and $PATH; for a shell command use: secrets exec -- sh -c '…'"),
        ),
        RunError::NotExecutable { .. } => (
            NOT_EXECUTABLE,
            Some("make it executable (chmod +x) and give scripts a #! line"),
        ),
        RunError::IsDirectory { .. } => (
            NOT_EXECUTABLE,
            Some("name the program to run inside it, e.g. secrets exec -- DIR/prog"),
        ),
        RunError::NulInValue { .. } => (INPUT, Some("use --file-env to pass such values as files")),
        RunError::VarTooLong { .. } => (
            INPUT,
            Some("pass big values as files: secrets exec --file-env (sets NAME_FILE=path), or leave it out with --only"),
        ),
        RunError::TooBig { .. } => (
            NOT_EXECUTABLE,
            Some("pass the values as files: secrets exec --file-env (sets NAME_FILE=path), or select fewer with --only"),
        ),
        RunError::Interrupted(sig) => ((128 + sig) as u8, None),
        RunError::Spawn { .. } => (NOT_EXECUTABLE, None),
        RunError::Wait(_) => (GENERIC, None),
    };
    let mut err = CliError::new(code, e.to_string());
    if let Some(h) = hint {
        err = err.hint(h);
    }
    err.into()
}

/// The decrypted, flattened, selected variables and what they came from.
pub struct Loaded {
    pub vars: Vec<Var>,
    /// The environment used, when the files came from the team config.
    pub env: Option<String>,
    pub files: Vec<PathBuf>,
}

/// Picks the files, decrypts each (all of them before anything else happens), flattens
/// each keeping what `--only` names, merges them (later files win), checks that every
/// `--only` entry matched, and applies `--prefix`.
pub fn load_vars(
    sel: &Selection,
    only: &[String],
    prefix: &str,
    g: &Global,
) -> anyhow::Result<Loaded> {
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::new(INPUT, format!("current directory: {e}")))?;
    let snap = output::snapshot(&cwd, sel.rev.as_deref())?;
    let Picked {
        files,
        mut parsed,
        env: env_name,
        config,
    } = select_files(sel, snap.as_ref())?;
    if files.iter().filter(|f| output::is_stdin(f)).count() > 1 {
        return Err(CliError::new(INPUT, "-f -: stdin can be read once").into());
    }
    if env_name.is_some() && snap.is_none() {
        // Found although git ignores them: say so, the team does not have them.
        let here = std::env::current_dir()?;
        output::warn_ignored(g, &crate::workspace::ignored::ignored(&here, &files));
    }
    let ids = output::identities(g)?;
    let mut set = EnvSet::default();
    let config = match config {
        Some(c) => Some(c),
        // -f alone: the config above the first file (none is fine; a broken one is an error).
        None => crate::config::Config::discover_to_read(
            &files
                .first()
                .map_or_else(|| PathBuf::from("."), |f| crate::fsutil::parent_dir(f)),
        )?,
    };
    let mut gate = SchemaGate::new(config, env_name.clone(), only.is_empty());
    for (i, path) in files.iter().enumerate() {
        // The walk that found an environment's file parsed it as `load` would, unless
        // --input-type names another format.
        let (file, _key, opened) = match parsed.get_mut(i).and_then(Option::take) {
            Some(file) if g.input_type.is_none() => output::open_loaded(file, None, &ids)?,
            _ => output::open_with(path, g, snap.as_ref(), &ids)?,
        };
        let dotenv = file.format == Format::Dotenv;
        let name = path.display().to_string();
        // --only first, so it can leave out one of two keys that collide.
        let vars =
            env::flatten_selected(&opened.branches, dotenv, &name, only).map_err(env_error)?;
        gate.add_file(path, &name);
        set.merge(vars);
    }
    refuse_broken(&gate, &gate.violations(set.vars()), sel.no_check, g)?;
    let vars = set.select(only, prefix).map_err(env_error)?;
    Ok(Loaded {
        vars,
        env: env_name,
        files,
    })
}

/// Prints the gate's violations; an error (exit 65) unless `--no-check`.
fn refuse_broken(
    gate: &SchemaGate,
    broken: &[Finding],
    no_check: bool,
    g: &Global,
) -> anyhow::Result<()> {
    if broken.is_empty() {
        return Ok(());
    }
    let label = if no_check { "warning" } else { "error" };
    for f in broken {
        eprintln!("secrets: {label}: {}", output::finding_line(f));
    }
    if no_check {
        output::note(g, "secrets: warning: --no-check: going on anyway");
        return Ok(());
    }
    Err(CliError::new(
        SCHEMA,
        format!(
            "{} value(s) break the schema of environment {}: nothing was started or written",
            broken.len(),
            gate.env_names().join(", ")
        ),
    )
    .hint({
        // The first value with a file, by the key path generate and set take.
        let at = broken
            .iter()
            .find_map(|f| Some(format!("{} {}", f.file.as_deref()?, f.path.as_deref().unwrap_or(&f.key))))
            .unwrap_or_else(|| "FILE KEYPATH".to_string());
        // A random value fixes a secret the app makes, never one a provider issues (an
        // API key): generating over it passes the check and breaks the app.
        format!(
            "fix them (secrets check lists them): a secret your app makes, secrets generate {at}; one a provider issues (an API key), the right value from them with secrets set {at}; or go on anyway with --no-check"
        )
    })
    .into())
}

fn env_error(e: EnvError) -> anyhow::Error {
    match e {
        EnvError::UnknownOnly(_) => CliError::new(BAD_PATH, e.to_string()).into(),
        EnvError::Collision { .. } => CliError::new(INPUT, e.to_string())
            .hint("rename one of the keys, or narrow the selection with --only")
            .into(),
        EnvError::BadName { .. } | EnvError::BadValue { .. } => {
            CliError::new(INPUT, e.to_string()).into()
        }
    }
}

/// The files [`select_files`] picks, and where they come from.
struct Picked {
    files: Vec<PathBuf>,
    /// The first files parsed already, by the walk that found them (see
    /// [`crate::team::env_files_parsed`]); `None` where they are to be read.
    parsed: Vec<Option<crate::engine::EncryptedFile>>,
    /// The environment, when the files came from the team config.
    env: Option<String>,
    config: Option<crate::config::Config>,
}

/// The files to read: the environment's (named, or the config's default when no `-f`),
/// then the `-f` files.
/// At a revision (`--rev`), the environment's files are those the config *at that
/// revision* puts in it, in that revision's tree (files move, globs change); `-f` files
/// are read there too.
fn select_files(
    sel: &Selection,
    snap: Option<&crate::history::Snapshot>,
) -> anyhow::Result<Picked> {
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::new(INPUT, format!("current directory: {e}")))?;
    if sel.env.is_none() && !sel.files.is_empty() {
        // At a revision, the schema is that revision's (when it had a config).
        let config = snap.and_then(|s| s.config(crate::config::find_config(&cwd).as_deref()).ok());
        return Ok(Picked {
            files: sel.files.clone(),
            parsed: Vec::new(),
            env: None,
            config,
        });
    }
    let config = match snap {
        None => crate::config::Config::discover_to_read(&cwd)?,
        Some(s) => Some(
            s.config(crate::config::find_config(&cwd).as_deref())
                .map_err(|e| match e.downcast::<crate::history::HistoryError>() {
                    Ok(h) => output::history_error(h),
                    Err(e) => e.context(format!("the config at {}", s.label())),
                })?,
        ),
    };
    let Some(config) = config else {
        let msg = match &sel.env {
            Some(e) => format!("--env {e}: no team config (.secrets.yaml) found here or above"),
            None => "no files given and no team config (.secrets.yaml) found".to_string(),
        };
        return Err(CliError::new(NO_FILE, msg)
            .hint("pass -f FILE (repeatable), or create a config with secrets init and secrets env add")
            .into());
    };
    let name =
        match &sel.env {
            Some(e) => e.clone(),
            None => match config.default_env() {
                Some(d) => d.to_string(),
                None => return Err(CliError::new(
                    NO_FILE,
                    "no -f FILE, no --env ENV, and the team config names no default environment",
                )
                .hint(match config.env_names() {
                    names if names.is_empty() => "the config has no environment yet: secrets env add ENV --files GLOB --member NAME".to_string(),
                    names => format!("pick one with --env ({})", names.join(", ")),
                })
                .into()),
            },
        };
    if !config.env_names().iter().any(|n| *n == name) {
        return Err(CliError::new(
            CONFIG,
            format!("--env {name}: no such environment in the team config"),
        )
        .hint(format!(
            "known environments: {}",
            config.env_names().join(", ")
        ))
        .into());
    }
    let (mut files, parsed) = match snap {
        None => crate::team::env_files_parsed(&config, &name)?
            .into_iter()
            .unzip(),
        Some(s) => (
            s.env_files(&config, &name)
                .map_err(|e| output::at_rev(e, s))?,
            Vec::new(),
        ),
    };
    if files.is_empty() && sel.files.is_empty() {
        return Err(CliError::new(
            NO_FILE,
            match snap {
                None => format!("environment {name}: no encrypted files match its globs"),
                Some(s) => format!(
                    "environment {name}: no encrypted files match its globs at {}",
                    s.label()
                ),
            },
        )
        .hint({
            let globs = config
                .environment(&name)
                .map(|e| e.globs.join(", "))
                .filter(|g| !g.is_empty())
                .map(|g| format!(" ({g})"))
                .unwrap_or_default();
            format!(
                "encrypt a file its globs name{globs}: secrets encrypt -i FILE, or secrets import .env --env {name}; or pass -f FILE"
            )
        })
        .into());
    }
    files.extend(sel.files.iter().cloned());
    Ok(Picked {
        files,
        parsed,
        env: Some(name),
        config: Some(config),
    })
}
