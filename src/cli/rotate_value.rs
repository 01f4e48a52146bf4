//! `secrets rotate-value FILE KEYPATH [--value-stdin] [--keep-previous NAME [--grace
//! DURATION]] [--remove-expired]`: replace one value, optionally keeping the old one beside
//! it for a grace period (a JWT library verifies with both while tokens signed with the old
//! key expire), with the expiry recorded in `.secrets.yaml` (`retiring:`) so `check` and
//! `status` report it once it is due; `--remove-expired` takes such values out again.
//!
//! The value is written through the locked read-modify-write path of `set`
//! ([`output::open_for_update`], one file save for the new and the previous value). The
//! config, when it changes, is locked from the start. Order: the expiry is recorded before
//! the file keeps the previous value (an interruption never leaves a previous value without
//! its expiry; a failed file write takes the record back), and an expired value leaves the
//! file before its record leaves the config. Values are never printed.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::exit::{CliError, BAD_PATH, CONFIG, CONFLICT, INPUT, INVALID_SET};
use super::output::{self, config_start, shown};
use super::Global;
use crate::config::edit::ConfigDoc;
use crate::config::schema::Span;
use crate::config::{Config, Retiring};
use crate::model::{KeyPath, Node, PathSegment, Plain, Scalar};
use crate::store::Format;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The encrypted file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Key path of the value to replace (`jwt.signing_key`, or a dotenv NAME); optional
    /// with --remove-expired.
    #[arg(value_name = "KEYPATH", required_unless_present = "remove_expired")]
    path: Option<String>,
    /// Read the new value from stdin (one trailing newline of a single line is dropped);
    /// without it (and without --generate), asked for on a terminal without echo.
    #[arg(long, requires = "path")]
    value_stdin: bool,
    /// Make the new value as `secrets generate` does (format from --format or the key's
    /// schema `generate:`; min_length and pattern met); it is never shown.
    #[arg(long, requires = "path", conflicts_with = "value_stdin")]
    generate: bool,
    /// With --generate: what to make (password, hex, base64, base64url, uuid, django,
    /// passphrase).
    #[arg(long, value_name = "FORMAT", requires = "generate", value_parser = super::generate::format_parser())]
    format: Option<crate::config::schema::GenFormat>,
    /// With --generate: characters, or bytes for hex and base64.
    #[arg(long, value_name = "N", requires = "generate")]
    length: Option<usize>,
    /// With --generate: words of a passphrase.
    #[arg(long, value_name = "N", requires = "generate")]
    words: Option<usize>,
    /// Keep the old value under this key, beside KEYPATH (`jwt.NAME`; in a dotenv file,
    /// NAME), until the grace period ends; recorded in .secrets.yaml under `retiring:`.
    #[arg(long, value_name = "NAME", requires = "path")]
    keep_previous: Option<String>,
    /// How long the previous value stays (`24h`, `7d`, `1d12h`); default: the key's
    /// `grace:` in the schema.
    #[arg(long, value_name = "DURATION", requires = "keep_previous")]
    grace: Option<String>,
    /// Remove the file's previous values whose grace period is over, and their records.
    #[arg(long)]
    remove_expired: bool,
    #[command(flatten)]
    pub itype: super::InputTypeArg,
    #[command(flatten)]
    pub ids: super::IdentityArg,
}

/// The previous value to keep: under which key, until when.
struct Keep {
    /// The key path beside the value's.
    path: KeyPath,
    /// As recorded in `retiring:`.
    typed: String,
    until_text: String,
    grace: Span,
    /// Whether `retiring:` already records a previous value under it (which may then be
    /// replaced; any other value there is not overwritten).
    recorded: bool,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    let file_shown = args.file.display().to_string();
    let format = g
        .input_type
        .unwrap_or_else(|| Format::from_path(&args.file));
    let kp = match &args.path {
        Some(p) => Some(KeyPath::parse(p).map_err(output::path_error(&args.file))?),
        None => None,
    };
    if std::fs::symlink_metadata(&args.file)
        .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
    {
        let err = CliError::new(INPUT, format!("{file_shown}: no such file"));
        return Err(if args.remove_expired {
            err.hint("renamed? run it on the new path, after changing the record's file: in .secrets.yaml (secrets check names the record)")
        } else {
            err
        }
        .into());
    }
    // The config is changed (and so locked, before it is read) only to record or drop a
    // previous value.
    let locked = if args.keep_previous.is_some() || args.remove_expired {
        let start = config_start(std::slice::from_ref(&args.file))?;
        if crate::config::find_config(&start).is_none() {
            return Err(CliError::new(
                CONFIG,
                format!(
                    "{file_shown}: --keep-previous and --remove-expired record the expiry in .secrets.yaml, and there is none"
                ),
            )
            .hint("create one with secrets init")
            .into());
        }
        Some(crate::workspace::lock_config(&start)?)
    } else {
        None
    };
    let cfg = locked.as_ref().map(|(_, c)| c);
    let rel = match cfg {
        Some(cfg) => Some(relative(cfg, &args.file)?),
        None => None,
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // Everything about the previous value is settled before the value is asked for.
    let keep = match (&args.keep_previous, &kp, cfg, &rel) {
        (Some(name), Some(kp), Some(cfg), Some(rel)) => Some(plan_keep(
            &args,
            name,
            kp,
            format,
            cfg,
            rel,
            now,
            &file_shown,
        )?),
        _ => None,
    };
    let mut text = match &kp {
        Some(kp) if args.value_stdin => Some(super::set::read_stdin_value()?),
        Some(kp) if args.generate => {
            let opts = super::generate::GenArgs {
                format: args.format,
                length: args.length,
                words: args.words,
                ..Default::default()
            };
            Some(super::generate::draw_for(&args.file, kp, &opts, g)?)
        }
        Some(kp) => {
            if !std::io::stdin().is_terminal() {
                return Err(CliError::new(INPUT, "no value given")
                    .hint(format!(
                        "pipe it in: printf %s \"$VALUE\" | secrets rotate-value {file_shown} {} --value-stdin",
                        kp.typed()
                    ))
                    .into());
            }
            Some(output::read_hidden_line(&format!(
                "new value for {} (not echoed): ",
                kp.typed()
            ))?)
        }
        None => None,
    };
    // An empty value is never a rotation: most often a variable that was not set
    // (`printf %s "$NEW" | …`), which would replace the secret with nothing.
    if let (Some(kp), Some(t)) = (&kp, &text) {
        if t.is_empty() {
            let how = if args.value_stdin {
                "nothing came on stdin"
            } else {
                "nothing was typed"
            };
            return Err(CliError::new(
                INVALID_SET,
                format!(
                    "{file_shown}: {}: the new value is empty ({how})",
                    kp.typed()
                ),
            )
            .hint("to remove a value, use secrets unset")
            .into());
        }
    }
    // Held until the file is written, as set holds it.
    let mut update = output::open_for_update(&args.file, g)?;
    let output::Update {
        file, key, opened, ..
    } = &mut update;
    let doc = opened.branches.first_mut().ok_or_else(|| {
        CliError::new(CONFLICT, format!("{file_shown}: the file has no document"))
    })?;
    // 1. Expired previous values of this file leave it.
    // Each with whether the file still held it.
    let mut expired: Vec<(&Retiring, bool)> = Vec::new();
    if args.remove_expired {
        let (cfg, rel) = (cfg.expect("locked above"), rel.as_deref().unwrap_or(""));
        for r in cfg.retiring() {
            if r.file != rel || !r.expired(now) {
                continue;
            }
            let rkp = KeyPath::parse(&r.key).map_err(output::path_error(&args.file))?;
            let rkp = output::stored_path(file.format, doc, rkp);
            match doc.unset_path(&rkp) {
                // Already gone (removed by hand): only the record is left to drop.
                Ok(_) => expired.push((r, true)),
                Err(crate::model::path::PathError::NotFound(_)) => expired.push((r, false)),
                Err(e) => return Err(output::path_error(&args.file)(e)),
            }
        }
    }
    // 2. The new value, and the old one under its new key.
    let mut rotated: Option<KeyPath> = None;
    // Named as the user named it: on dotenv `NAME` may be stored as `export NAME`.
    let asked = kp.as_ref().map(KeyPath::typed);
    if let (Some(kp), Some(text)) = (kp, text.as_mut()) {
        let kp = output::stored_path(file.format, doc, kp);
        let old = match doc.lookup(&kp) {
            Ok(Node::Leaf(l)) => l.clone(),
            Ok(other) => {
                return Err(CliError::new(
                    INVALID_SET,
                    format!(
                        "{file_shown}: {} is a {}, not a value",
                        kp.typed(),
                        if matches!(other, Node::Map(_)) {
                            "map"
                        } else {
                            "list"
                        }
                    ),
                )
                .into())
            }
            Err(e) => return Err(output::not_found_hint(&args.file, file.format, doc, e)),
        };
        // Moved into the zeroizing leaf (`text` is left empty).
        let new = Plain::new(Scalar::Str(std::mem::take(&mut **text)));
        let new = if file.format == Format::Dotenv {
            super::set::dotenv_text_over(Some(&old), new)
        } else {
            new
        };
        if new.scalar() == old.scalar() {
            return Err(CliError::new(
                INVALID_SET,
                format!(
                    "{file_shown}: {}: the new value is the one it replaces",
                    kp.typed()
                ),
            )
            .into());
        }
        if let Some(keep) = &keep {
            let stored = kept_path(file.format, doc, &kp, &keep.path);
            if doc.lookup(&stored).is_ok() && !keep.recorded {
                return Err(CliError::new(
                    CONFLICT,
                    format!(
                        "{file_shown}: {} already holds a value that is not a previous one recorded under retiring:; nothing written",
                        keep.typed
                    ),
                )
                .hint("choose another --keep-previous name (or remove that key first: secrets unset)")
                .into());
            }
            doc.set_path(&stored, Node::Leaf(old))
                .map_err(output::path_error(&args.file))?;
        }
        doc.set_path(&kp, Node::Leaf(new))
            .map_err(output::path_error(&args.file))?;
        rotated = Some(kp);
    }
    drop(text);
    let findings = rotated.as_ref().map_or_else(Vec::new, |kp| {
        crate::workspace::values::key_findings(&args.file, file.format, &opened.branches, kp)
    });
    file.reseal(&opened.branches, key, &opened.stash)?;
    // 3. The record first, then the file, then the records of the removed values.
    let mut cdoc = match cfg {
        Some(cfg) => Some(ConfigDoc::load(cfg.path())?),
        None => None,
    };
    let lock = locked.as_ref().map(|(l, _)| l);
    let mut recorded: Option<Option<Retiring>> = None;
    if let (Some(keep), Some(cdoc), Some(lock), Some(rel), Some(cfg)) =
        (&keep, cdoc.as_mut(), lock, &rel, cfg)
    {
        let before = cfg
            .retiring()
            .iter()
            .find(|r| &r.file == rel && r.key == keep.typed)
            .cloned();
        cdoc.add_retiring(rel, &keep.typed, &keep.until_text);
        cdoc.save(lock)?;
        recorded = Some(before);
    }
    if let Err(e) = update.save() {
        // The previous value was not kept: take its record back (as it was).
        if let (Some(before), Some(keep), Some(cdoc), Some(lock), Some(rel)) =
            (recorded, &keep, cdoc.as_mut(), lock, &rel)
        {
            cdoc.remove_retiring(rel, &keep.typed);
            if let Some(b) = before {
                cdoc.add_retiring(rel, &b.key, &b.until_text);
            }
            let _ = cdoc.save(lock);
        }
        return Err(e.into());
    }
    if let (Some(_), Some(asked), false) = (&rotated, &asked, g.quiet) {
        output::note(g, format!("rotated {asked} in {file_shown}"));
    }
    output::warn_schema(g, &findings);
    if let (Some(keep), Some(cfg)) = (&keep, cfg) {
        output::note(
            g,
            format!(
                "kept the previous value as {} until {} (grace {}; recorded in {} under retiring:)\nnext: commit both files; then, after {}: secrets rotate-value {file_shown} --remove-expired",
                keep.typed,
                keep.until_text,
                keep.grace.text,
                shown(cfg.path()).display(),
                keep.until_text,
            ),
        );
    }
    if !expired.is_empty() {
        let (cdoc, lock, rel) = (
            cdoc.as_mut().expect("loaded with the config"),
            lock.expect("locked above"),
            rel.as_deref().unwrap_or(""),
        );
        for (r, _) in &expired {
            cdoc.remove_retiring(rel, &r.key);
        }
        cdoc.save(lock)?;
        for (r, held) in &expired {
            let said = if *held {
                format!(
                    "removed {} from {file_shown} (its grace period ended {})",
                    r.key, r.until_text
                )
            } else {
                format!(
                    "dropped the record of {} ({file_shown} no longer had it)",
                    r.key
                )
            };
            output::note(g, said);
        }
    } else if args.remove_expired && rotated.is_none() {
        output::note(
            g,
            format!("{file_shown}: no previous value is due for removal"),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The file's path relative to the config's directory, as `retiring:` records it.
fn relative(cfg: &Config, file: &Path) -> anyhow::Result<String> {
    let abs = std::env::current_dir()?.join(file);
    cfg.relative(&abs)
        .map(|rel| crate::config::rel_string(&rel))
        .ok_or_else(|| {
            CliError::new(
                CONFIG,
                format!(
                    "{}: not under the directory of {}",
                    file.display(),
                    shown(cfg.path()).display()
                ),
            )
            .into()
        })
}

/// Where the previous value goes in `doc`: beside the value's key as stored (`stored`), so
/// a key written with dots in it (`spring.datasource.password:` flat) keeps its previous
/// value flat beside it (`spring.datasource.old_password`), which the recorded dotted path
/// finds again.
fn kept_path(
    format: Format,
    doc: &crate::model::Branch<Plain>,
    stored: &KeyPath,
    keep: &KeyPath,
) -> KeyPath {
    let found = output::stored_path(format, doc, keep.clone());
    if doc.lookup(&found).is_ok() {
        return found;
    }
    if format == Format::Dotenv {
        return exported_like(stored, keep).unwrap_or(found);
    }
    let (Some((PathSegment::Key(key), parent)), Some(PathSegment::Key(name))) =
        (stored.0.split_last(), keep.0.last())
    else {
        return found;
    };
    let Some(dot) = key.rfind('.') else {
        return found;
    };
    let mut segs = parent.to_vec();
    segs.push(PathSegment::Key(format!("{}{name}", &key[..=dot])));
    KeyPath(segs)
}

/// A new dotenv key NAME beside a line written `export KEY=…`: `export NAME`, so a shell
/// that sources the file exports the previous value as it does the value (the prefix kept
/// as written, tab included). `None` when KEY has no prefix.
fn exported_like(stored: &KeyPath, keep: &KeyPath) -> Option<KeyPath> {
    let ([PathSegment::Key(key)], [PathSegment::Key(name)]) =
        (stored.0.as_slice(), keep.0.as_slice())
    else {
        return None;
    };
    let prefix = key.strip_suffix(crate::store::dotenv::env_name(key))?;
    (!prefix.is_empty()).then(|| KeyPath(vec![PathSegment::Key(format!("{prefix}{name}"))]))
}

/// Where the previous value goes and until when: the sibling key NAME, for `--grace` or
/// the schema's `grace:` for the key. Refused: a NAME that is a path or the key itself, a
/// NAME holding a value that is not a previous one recorded in `retiring:`, no grace.
#[allow(clippy::too_many_arguments)]
fn plan_keep(
    args: &Args,
    name: &str,
    kp: &KeyPath,
    format: Format,
    cfg: &Config,
    rel: &str,
    now: i64,
    file_shown: &str,
) -> anyhow::Result<Keep> {
    let what = || format!("{file_shown}: --keep-previous {name:?}");
    let Some((PathSegment::Key(last), parent)) = kp.0.split_last() else {
        return Err(CliError::new(
            BAD_PATH,
            format!(
                "{file_shown}: {}: --keep-previous needs a key, not a list item",
                kp.typed()
            ),
        )
        .into());
    };
    let bad_name = name.is_empty()
        || name.contains(['.', '[', ']', '"', '\'', '\n', '='])
        || (format == Format::Dotenv && crate::store::dotenv::key_problem(name).is_some());
    if bad_name {
        return Err(CliError::new(
            BAD_PATH,
            format!(
                "{}: a key name beside {} (no dots, brackets or '=')",
                what(),
                kp.typed()
            ),
        )
        .into());
    }
    let bare = |k: &str| crate::store::dotenv::env_name(k).to_string();
    if bare(last) == name {
        return Err(CliError::new(BAD_PATH, format!("{}: that is the key itself", what())).into());
    }
    // A dotenv file is flat: NAME is the line NAME=, whatever dots the key holds.
    let mut segs = if format == Format::Dotenv {
        Vec::new()
    } else {
        parent.to_vec()
    };
    segs.push(PathSegment::Key(name.to_string()));
    let typed_kp = KeyPath(segs);
    let typed = typed_kp.typed();
    // The rule for the key: by its variable name (what exec exports) or its key path.
    let var = if format == Format::Dotenv {
        bare(last)
    } else {
        kp.0.iter()
            .map(|s| match s {
                PathSegment::Key(k) => crate::exec::env::segment(k),
                PathSegment::Index(i) => i.to_string(),
            })
            .collect::<Vec<_>>()
            .join("_")
    };
    let env = cfg.environment_for(Path::new(rel));
    let grace = match &args.grace {
        Some(t) => Span::parse(t).filter(|s| s.seconds > 0).ok_or_else(|| {
            CliError::new(
                INPUT,
                format!("--grace {t:?}: not a duration longer than 0 (such as 24h, 7d, 1d12h)"),
            )
        })?,
        // Every rule naming the key applies: the shortest grace.
        None => cfg
            .schema()
            .rules_for(env, &var, &kp.typed())
            .filter_map(|r| r.grace.clone())
            .min_by_key(|g| g.seconds)
            .ok_or_else(|| {
                CliError::new(
                    INPUT,
                    format!(
                        "{file_shown}: {}: how long should the previous value stay? Give --grace DURATION (the schema has no grace: for {var})",
                        kp.typed()
                    ),
                )
                .hint(format!(
                    "secrets rotate-value {file_shown} {} --keep-previous {name} --grace 24h, or `grace: 24h` under schema: {var} in .secrets.yaml",
                    kp.typed()
                ))
            })?,
    };
    let until = i64::try_from(grace.seconds)
        .ok()
        .and_then(|s| now.checked_add(s))
        .ok_or_else(|| CliError::new(INPUT, format!("--grace {}: too long", grace.text)))?;
    let until_text = crate::config::format_time(until)
        .ok_or_else(|| CliError::new(INPUT, format!("--grace {}: too long", grace.text)))?;
    // A value already under NAME is overwritten only when it is itself a previous value,
    // and only once its grace period is over: before that, programs still verify with it.
    let record = cfg
        .retiring()
        .iter()
        .find(|r| r.file == rel && r.key == typed);
    if let Some(r) = record.filter(|r| !r.expired(now)) {
        return Err(CliError::new(
            CONFLICT,
            format!(
                "{}: {typed} still holds the previous value until {} (its grace period); rotating again now would drop it, and what it signed would stop verifying early",
                what(),
                r.until_text
            ),
        )
        .hint(format!(
            "rotate again after {}, or now without --keep-previous (then {typed} keeps the older value until its expiry)",
            r.until_text
        ))
        .into());
    }
    let recorded = record.is_some();
    Ok(Keep {
        path: typed_kp,
        typed,
        until_text,
        grace,
        recorded,
    })
}
