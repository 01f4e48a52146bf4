//! `secrets set FILE PATH [VALUE | --value-stdin | --generate]`: change one value; only
//! that value's ciphertext (plus `lastmodified` and `mac`) changes. On a dotenv file the
//! value is stored as the text that means it (quoted when needed), as a user would write it
//! in the file. [`write_value`] is the one read-modify-write of a value, which `generate`
//! (and `set --generate`, through it) uses too.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::exit::{CliError, BAD_PATH, CONFLICT, INPUT, INVALID_SET};
use super::{output, Global};
use crate::model::{KeyPath, Node, Plain, Scalar};
use zeroize::Zeroizing;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The encrypted file (create one with `secrets encrypt` or `secrets edit`).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Key path: `["a"]["b"]` or `a.b`; missing maps are created.
    #[arg(value_name = "PATH")]
    path: String,
    /// The value (prefer --value-stdin: argv is visible to other users and shell history);
    /// without it, asked for on a terminal without echo.
    #[arg(value_name = "VALUE")]
    value: Option<SecretArg>,
    /// Read the value from stdin; one trailing newline is dropped from a single-line value.
    #[arg(long, conflicts_with = "value")]
    value_stdin: bool,
    /// Parse the value as JSON (numbers, booleans, objects…) like `sops set`.
    #[arg(long)]
    json: bool,
    /// Generate a random value instead (as `secrets generate`; the options below go with it).
    #[arg(long, conflicts_with_all = ["value", "value_stdin", "json"])]
    generate: bool,
    #[command(flatten)]
    gen: super::generate::GenArgs,
    #[command(flatten)]
    pub itype: super::InputTypeArg,
    #[command(flatten)]
    pub ids: super::IdentityArg,
}

/// Parses a `--json` value with the JSON store, so that it is typed as in a JSON file
/// (an integer that fits in i64 is an int, other numbers floats) and a number that a
/// float64 would change (an integer beyond i64 it cannot hold) is refused, not rounded.
fn from_json(text: &str) -> Result<Node<Plain>, CliError> {
    let invalid = |why: &str| CliError::new(INVALID_SET, format!("--json value {why}"));
    // Sized first: no reallocation leaves a copy of the value behind.
    let mut wrapped = Zeroizing::new(String::with_capacity(text.len() + 6));
    wrapped.push_str("{\"\":");
    wrapped.push_str(text);
    wrapped.push_str("\n}");
    let (mut branches, _) = crate::store::json::parse::<Plain>(&wrapped).map_err(|e| match e {
        crate::store::StoreError::Syntax {
            line,
            column,
            message,
        } => {
            // Positions in the value itself (the wrapper adds `{"":` before it).
            let column = if line == 1 {
                column.saturating_sub(4).max(1)
            } else {
                column
            };
            let message = message.strip_prefix("\"\": ").unwrap_or(&message);
            invalid(&format!(
                "is not valid JSON (line {line}, column {column}: {message})"
            ))
        }
        other => invalid(&format!("is not valid JSON ({other})")),
    })?;
    let mut doc = branches.pop().unwrap_or_default();
    // `1, "b": 2` would read as two entries of the wrapper: one value only.
    if doc.entries().count() != 1 {
        return Err(invalid("is not valid JSON (one value expected)"));
    }
    doc.remove("")
        .ok_or_else(|| invalid("is not valid JSON (one value expected)"))
}

/// A value given on the command line: held in zeroizing memory and never shown by `Debug`
/// (`Args` derives it, for clap). clap and the process's argv still hold their copies,
/// and argv is visible to other users: `--value-stdin` is the way for real secrets.
#[derive(Clone)]
pub struct SecretArg(Zeroizing<String>);

impl From<String> for SecretArg {
    fn from(s: String) -> Self {
        SecretArg(Zeroizing::new(s))
    }
}

impl std::fmt::Debug for SecretArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The value to set, moved (never copied) from the zeroizing buffer it was read into.
fn read_value(args: &mut Args) -> anyhow::Result<Zeroizing<String>> {
    if !args.value_stdin {
        let value = args.value.take().map(|v| v.0).unwrap_or_default();
        return Ok(value);
    }
    let value = read_stdin_value()?;
    // Nothing on stdin is most often a variable that was never set (`printf %s "$NEW"`):
    // an empty value is set only when given as one.
    if value.is_empty() {
        return Err(CliError::new(
            INVALID_SET,
            format!(
                "{}: {}: nothing came on stdin",
                args.file.display(),
                args.path
            ),
        )
        .hint(format!(
            "to set an empty value, give it: secrets set {} {} ''",
            args.file.display(),
            args.path
        ))
        .into());
    }
    Ok(value)
}

/// Reads a value from stdin into zeroizing memory; one trailing newline of a single-line
/// value is dropped (`echo x | secrets set …`).
pub(super) fn read_stdin_value() -> anyhow::Result<Zeroizing<String>> {
    let mut bytes = output::read_stdin()?;
    // Moved out of the zeroizing buffer into one, without a copy; on error the bytes
    // come back inside the error and are wiped there.
    let mut text = match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(text) => Zeroizing::new(text),
        Err(e) => {
            drop(Zeroizing::new(e.into_bytes()));
            return Err(CliError::new(INVALID_SET, "the value on stdin is not UTF-8").into());
        }
    };
    if text.ends_with('\n') && text.matches('\n').count() == 1 {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

pub fn run(mut args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    if args.generate {
        return super::generate::generate_into(&args.file, &args.path, &args.gen, g);
    }
    if let Some(flag) = args.gen.given() {
        return Err(
            CliError::new(CONFLICT, format!("{flag} goes with --generate"))
                .hint(format!(
                    "secrets set {} {} --generate {flag} …, or secrets generate",
                    args.file.display(),
                    args.path
                ))
                .into(),
        );
    }
    let kp = preflight(&args.file, &args.path, g)?;
    let mut text = if args.value.is_none() && !args.value_stdin {
        if !std::io::stdin().is_terminal() {
            return Err(CliError::new(INPUT, "no value given")
                .hint(format!(
                    "pipe it in: printf %s \"$VALUE\" | secrets set {} {} --value-stdin",
                    args.file.display(),
                    args.path
                ))
                .into());
        }
        output::read_hidden_line(&format!("value for {} (not echoed): ", args.path))?
    } else {
        read_value(&mut args)?
    };
    let node = if args.json {
        from_json(&text)?
    } else {
        // Moved into the zeroizing leaf (`text` is left empty).
        Node::Leaf(Plain::new(Scalar::Str(std::mem::take(&mut *text))))
    };
    // Named as the user named it: on dotenv `NAME` may be stored as `export NAME`.
    let (written, _) = write_value(&args.file, kp.clone(), g, false, || Ok(node))?;
    let shown = args.file.display();
    match written {
        Written::Set => output::note(g, format!("set {} in {shown}", kp.typed())),
        Written::Unchanged | Written::Present => output::note(
            g,
            format!("{} in {shown} already has that value", kp.typed()),
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// The key path of `set FILE PATH` (and `generate`), checked before anything is read: it
/// parses, the file's format can hold it ([`check_key`]), and the file exists.
pub(super) fn preflight(file: &Path, path: &str, g: &Global) -> anyhow::Result<KeyPath> {
    let kp = KeyPath::parse(path).map_err(output::path_error(file))?;
    let format = g
        .input_type
        .unwrap_or_else(|| crate::store::Format::from_path(file));
    check_key(file, format, &kp)?;
    if std::fs::symlink_metadata(file).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
        let f = file.display();
        return Err(CliError::new(INPUT, format!("{f}: no such file"))
            .hint(format!(
                "create it with `secrets edit {f}`, or encrypt a plaintext file with `secrets encrypt -i {f}`"
            ))
            .into());
    }
    Ok(kp)
}

/// What [`write_value`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Written {
    /// The value was set and the file written.
    Set,
    /// The key already held that value: the file is as it was.
    Unchanged,
    /// The key exists and `if_missing` was asked: nothing was done.
    Present,
}

/// The one read-modify-write of a value (`set`, `generate`): takes the file's lock, reads
/// and decrypts the file, puts the node `make` gives at `kp` (on dotenv, as the text that
/// means it), re-encrypts and writes the file back under the lock when it changed. With
/// `if_missing`, a key the file already has with a value (not empty) is left as it is and
/// `make` is not called.
/// Returns the key path as stored (on dotenv, `export NAME` when written so).
pub(super) fn write_value(
    path: &Path,
    kp: KeyPath,
    g: &Global,
    if_missing: bool,
    make: impl FnOnce() -> anyhow::Result<Node<Plain>>,
) -> anyhow::Result<(Written, KeyPath)> {
    // Held until the file is written: a concurrent set/unset/edit/updatekeys/rotate waits.
    let mut update = output::open_for_update(path, g)?;
    let output::Update {
        file, key, opened, ..
    } = &mut update;
    let doc = opened.branches.first_mut().ok_or_else(|| {
        CliError::new(
            CONFLICT,
            format!("{}: the file has no document", path.display()),
        )
    })?;
    let kp = output::stored_path(file.format, doc, kp);
    output::refuse_repeated_dotenv_key(path, file.format, doc, &kp)?;
    // A key deeper than files are read would be written and never read back (JSON reads
    // 127 levels under the top one). Counted as stored: a flat `a.b.c…` key is one level.
    if kp.0.len() >= crate::store::limits::MAX_DEPTH {
        return Err(CliError::new(
            BAD_PATH,
            format!(
                "{}: a key path of {} levels; files are read to {} levels at most",
                path.display(),
                kp.0.len(),
                crate::store::limits::MAX_DEPTH - 1
            ),
        )
        .into());
    }
    // An empty value (`KEY=`, `KEY=""` left by a template) is missing, as `required`
    // counts it: on dotenv, by what the stored text means to loaders.
    let dotenv = matches!(file.format, crate::store::Format::Dotenv);
    let present = match doc.lookup(&kp) {
        Ok(Node::Leaf(leaf)) => match leaf.scalar() {
            Scalar::Str(text) if dotenv => {
                crate::store::dotenv::value_of(text).map_or(true, |v| !v.is_empty())
            }
            s => !s.is_empty_value(),
        },
        Ok(_) => true,
        Err(_) => false,
    };
    if if_missing && present {
        return Ok((Written::Present, kp));
    }
    let node = make()?;
    if matches!(file.format, crate::store::Format::Dotenv) && !matches!(node, Node::Leaf(_)) {
        return Err(CliError::new(
            INVALID_SET,
            format!("{}: dotenv files hold only flat values", path.display()),
        )
        .into());
    }
    let node = match (file.format, node) {
        (crate::store::Format::Dotenv, Node::Leaf(leaf)) => Node::Leaf(dotenv_text(doc, &kp, leaf)),
        (_, node) => node,
    };
    doc.set_path(&kp, node).map_err(output::path_error(path))?;
    let findings = crate::workspace::values::key_findings(path, file.format, &opened.branches, &kp);
    let before = file.to_bytes()?;
    file.reseal(&opened.branches, key, &opened.stash)?;
    if file.to_bytes()? == before {
        return Ok((Written::Unchanged, kp));
    }
    update.save()?;
    // Written all the same (a value may be set in steps): said now rather than by the
    // next `exec`, which refuses it.
    output::warn_schema(g, &findings);
    Ok((Written::Set, kp))
}

/// Refuses, before anything is read, a key the file's format cannot hold: a dotenv key with
/// `=`, a line break, a leading `#`. `set f.env 'TOK=EN'` most likely meant key TOK and
/// value EN, so the key is named only up to its `=` (what follows may be a value), with
/// the command that sets TOK as a hint.
fn check_key(file: &Path, format: crate::store::Format, kp: &KeyPath) -> Result<(), CliError> {
    if format == crate::store::Format::Ini && kp.0.len() < 2 {
        return Err(CliError::new(
            BAD_PATH,
            format!(
                "{}: key {}: an INI file holds keys in sections only",
                file.display(),
                kp.redacted()
            ),
        )
        .hint(format!(
            "name its section: secrets set {} SECTION.KEY VALUE",
            file.display()
        )));
    }
    if format != crate::store::Format::Dotenv {
        return Ok(());
    }
    // A dotenv file is flat: a dotted path is one name (see store::stored_path).
    let key = &kp.dotted();
    let file = file.display();
    if let Some((name, _)) = key.split_once('=') {
        return Err(CliError::new(
            BAD_PATH,
            format!(
                "{file}: key {:?}: a dotenv key cannot contain '=' (each line is KEY=VALUE)",
                format!("{name}=…")
            ),
        )
        .hint(format!(
            "give the key and the value as two arguments: secrets set {file} {name} VALUE (or --value-stdin)"
        )));
    }
    match crate::store::dotenv::key_problem(key) {
        Some(problem) => Err(CliError::new(
            BAD_PATH,
            format!("{file}: dotenv key {key:?} {problem}"),
        )),
        None => Ok(()),
    }
}

/// On a dotenv file a string is stored as the text that means it (`p@ss word` as
/// `'p@ss word'`), so `get` gives it back and `sops decrypt` prints a line that sources to
/// it; a current text that already means the value is kept, quoting and all.
fn dotenv_text(doc: &crate::model::Branch<Plain>, kp: &KeyPath, leaf: Plain) -> Plain {
    match doc.lookup(kp) {
        Ok(Node::Leaf(current)) => dotenv_text_over(Some(current), leaf),
        _ => dotenv_text_over(None, leaf),
    }
}

/// [`dotenv_text`] given the value's current leaf (`None`: a new key).
pub(super) fn dotenv_text_over(current: Option<&Plain>, leaf: Plain) -> Plain {
    use crate::store::dotenv::{text_for, value_of};
    let Scalar::Str(value) = leaf.scalar() else {
        return leaf;
    };
    if let Some(Scalar::Str(stored)) = current.map(|c| c.scalar()) {
        if value_of(stored).is_ok_and(|v| *v == *value) {
            return current.expect("matched Some").clone();
        }
    }
    // Moved out of its zeroizing buffer into the zeroizing leaf.
    Plain::new(Scalar::Str(std::mem::take(&mut *text_for(value))))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    /// The parsed command line is `Debug` (clap derive): it must not show the value.
    #[test]
    fn debug_of_the_parsed_arguments_never_shows_the_value() {
        let cli = crate::cli::Cli::try_parse_from([
            "secrets",
            "set",
            "f.yaml",
            "db.password",
            "hunter2-do-not-print",
        ])
        .unwrap();
        let shown = format!("{cli:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("db.password") && shown.contains("[redacted]"),
            "{shown}"
        );
    }
}
