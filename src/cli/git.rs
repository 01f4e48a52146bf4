//! `secrets git setup | textconv | merge-driver`: git that understands encrypted files.
//! `setup` writes `.gitattributes` and git config ([`crate::workspace::gitsetup`]); git
//! runs the other two: `textconv` for `git diff`/`git log -p`
//! ([`crate::workspace::gitdiff`]) and `merge-driver` for merges, rebases and
//! cherry-picks ([`crate::workspace::gitmerge`]).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::exit::{CliError, GENERIC, INPUT};
use super::{output, Global};
use crate::engine::EncryptedFile;
use crate::workspace::{gitdiff, gitmerge, gitsetup};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Mark the config's files in .gitattributes and install the diff and merge drivers
    /// in git config (idempotent).
    Setup(SetupArgs),
    /// For git (diff.secrets.textconv): print FILE decrypted for `git diff` and `git log -p`.
    Textconv(TextconvArgs),
    /// For git (merge.secrets.driver): merge BASE, OURS and THEIRS key by key into OURS.
    MergeDriver(DriverArgs),
}

#[derive(clap::Args, Debug)]
pub struct SetupArgs {
    /// Write the drivers into your user git config (~/.gitconfig) instead of the repository's.
    #[arg(long)]
    global: bool,
    /// Only report what is missing (exit 1 when something is).
    #[arg(long)]
    check: bool,
}

#[derive(clap::Args, Debug)]
pub struct TextconvArgs {
    /// The file git hands over (a temporary copy of a blob, or the work-tree file).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    #[command(flatten)]
    pub itype: super::InputTypeArg,
    #[command(flatten)]
    pub ids: super::IdentityArg,
}

#[derive(clap::Args, Debug)]
pub struct DriverArgs {
    /// %O: the common ancestor's version (empty when there is none).
    #[arg(value_name = "BASE")]
    base: PathBuf,
    /// %A: our version; the merged file is written here.
    #[arg(value_name = "OURS")]
    ours: PathBuf,
    /// %B: their version.
    #[arg(value_name = "THEIRS")]
    theirs: PathBuf,
    /// %P: the file's path in the repository (its format, its environment).
    #[arg(value_name = "PATH")]
    name: PathBuf,
    #[command(flatten)]
    pub ids: super::IdentityArg,
}

impl Command {
    pub fn identity(&self) -> &[PathBuf] {
        match self {
            Command::Setup(_) => &[],
            Command::Textconv(a) => &a.ids.identity,
            Command::MergeDriver(a) => &a.ids.identity,
        }
    }
}

pub fn run(cmd: Command, g: &Global) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Setup(a) => setup(a, g),
        Command::Textconv(a) => textconv(a, g),
        Command::MergeDriver(a) => merge_driver(a, g),
    }
}

fn setup(a: SetupArgs, g: &Global) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir()?;
    let config = crate::workspace::load_config(&cwd)?;
    let repo = crate::git::discover(config.root())?;
    if a.check {
        let missing = gitsetup::check(&repo, &config)?;
        for m in &missing {
            eprintln!("secrets: missing: {m}");
        }
        if missing.is_empty() {
            output::note(g, "secrets: git setup is complete");
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!("hint: run secrets git setup");
        return Ok(ExitCode::from(GENERIC));
    }
    let lines = gitsetup::attribute_lines(&config)?;
    let attrs = config.root().join(".gitattributes");
    let added = gitsetup::write_attributes(&attrs, &lines.lines)?;
    let exe = std::env::current_exe()?;
    let program = gitsetup::program(&exe, std::env::var_os("PATH").as_deref());
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let scope = match (&home, a.global) {
        (Some(h), true) => gitsetup::Scope::Global { home: h },
        (None, true) => {
            return Err(CliError::new(INPUT, "--global: $HOME is not set").into());
        }
        (_, false) => gitsetup::Scope::Repo(&repo),
    };
    let (changed, cache) = gitsetup::configure(scope, &gitsetup::entries(&program))?;
    let shown = attrs.strip_prefix(&cwd).unwrap_or(&attrs).display();
    match added.len() {
        0 => output::note(g, format!("secrets: {shown} already marks the config's files")),
        n => output::note(
            g,
            format!("secrets: {shown}: added {n} line(s); commit it so every clone diffs and merges them"),
        ),
    }
    let where_ = if a.global {
        "~/.gitconfig"
    } else {
        ".git/config"
    };
    if changed.is_empty() {
        output::note(g, format!("secrets: git config ({where_}) already set"));
    } else {
        output::note(
            g,
            format!("secrets: git config ({where_}): set {}", changed.join(", ")),
        );
    }
    output::note(
        g,
        format!(
            "secrets: git runs {} for diffs and merges (rerun setup if it moves)",
            program.display()
        ),
    );
    if cache {
        eprintln!(
            "secrets: removed diff.secrets.cachetextconv: it would store decrypted text in .git"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Always exits 0 with something to show: a failing textconv stops the whole `git diff`.
fn textconv(a: TextconvArgs, g: &Global) -> anyhow::Result<ExitCode> {
    let bytes = match EncryptedFile::read_encrypted(&a.file) {
        Ok(b) => b,
        Err(e) => {
            let note = format!("# secrets: cannot read it: {e}\n");
            output::write_output(None, note.as_bytes(), false)?;
            return Ok(ExitCode::SUCCESS);
        }
    };
    // (git runs it once per file of a diff: no passphrase prompt)
    let ids = crate::keys::Identities::discover(&g.identity)
        .map(crate::keys::Identities::without_prompts)
        .map_err(|e| e.to_string());
    let config = std::env::current_dir()
        .ok()
        .and_then(|d| gitmerge::config_at(&d));
    let text = gitdiff::textconv(
        &a.file,
        &bytes,
        g.input_type,
        ids.as_ref().map_err(Clone::clone),
        config.as_ref(),
    );
    output::write_output(None, &text, false)?;
    Ok(ExitCode::SUCCESS)
}

/// git takes a driver's exit status above 128 as a crash and abandons the whole merge,
/// every other file with it. So a failure here (a side that is not encrypted, one no
/// identity opens, a damaged file) is reported and ends with at most 128: a conflict git
/// leaves for the user, `%A` still ours's version.
fn merge_driver(a: DriverArgs, g: &Global) -> anyhow::Result<ExitCode> {
    match merge_sides(a, g) {
        Ok(code) => Ok(code),
        Err(err) => {
            super::exit::report(&err);
            Ok(ExitCode::from(super::exit::code_for(&err).clamp(1, 128)))
        }
    }
}

fn merge_sides(a: DriverArgs, g: &Global) -> anyhow::Result<ExitCode> {
    let read = |p: &Path| EncryptedFile::read_encrypted(p);
    let (base, ours, theirs) = (read(&a.base)?, read(&a.ours)?, read(&a.theirs)?);
    let parsed = gitmerge::parse(&a.name, [&base, &ours, &theirs])?;
    let Some(parsed) = parsed else {
        return text_merge(&a);
    };
    let ids = output::identities(g)?;
    let cwd = std::env::current_dir()?;
    let config = gitmerge::config_at(&cwd);
    let plan = gitmerge::plan(parsed, &ids, config.as_ref())?;
    let merged = plan.seal()?;
    merged.save_to(&a.ours)?;
    let rel = crate::config::rel_string(&a.name);
    // git runs drivers at the work tree's top; outside one (a driver run by hand) there
    // is no record to keep, and `resolve` reads git's index anyway.
    let repo = crate::git::discover(&cwd).ok();
    if plan.conflicts.is_empty() {
        if let Some(repo) = &repo {
            gitmerge::remove_record(repo.path(), &rel);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(repo) = &repo {
        let record = gitmerge::Record::new(&rel, [&base, &ours, &theirs], &plan.conflicts);
        gitmerge::write_record(repo.path(), &record)?;
    }
    let keys: Vec<String> = plan.conflicts.iter().map(gitmerge::shown).collect();
    eprintln!(
        "secrets: {rel}: changed differently on both sides: {}; ours kept there, the file stays encrypted\nhint: secrets resolve {rel} (or --ours / --theirs)",
        keys.join(", ")
    );
    Ok(ExitCode::from(GENERIC))
}

/// None of the versions is encrypted (a plaintext file the pattern matched): git's own
/// text merge, as if we were not configured.
fn text_merge(a: &DriverArgs) -> anyhow::Result<ExitCode> {
    let status = std::process::Command::new("git")
        .args(["merge-file", "-L", "ours", "-L", "base", "-L", "theirs"])
        .arg(&a.ours)
        .arg(&a.base)
        .arg(&a.theirs)
        .status()
        .map_err(|e| CliError::new(GENERIC, format!("git merge-file: {e}")))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        _ => ExitCode::from(GENERIC),
    })
}
