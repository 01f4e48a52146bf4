//! `secrets log FILE [KEYPATH] [--show] [--format human|json]`: the history of a value from
//! git ([`crate::history::value_log`]): the commits, newest first, in which it was added,
//! changed or removed, with date, author and subject; renames of the file are followed.
//! Without KEYPATH, one line per key with its last change ([`crate::policy::staleness`]).
//!
//! No value is printed unless `--show`, which decrypts each version the user can still
//! open; a version encrypted for keys they never had (or no longer have) says so on its
//! own line and the rest of the log goes on. With `--show`, a change whose plaintext is the
//! same as before (a rotation re-encrypts every value) is `re-encrypted`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use zeroize::Zeroizing;

use super::exit::{CliError, BAD_PATH, INPUT};
use super::status::stale::date;
use super::status::{print_table, ListFormat};
use super::{output, Global};
use crate::crypto::DataKey;
use crate::engine::{EncryptedFile, FileError};
use crate::history::{self, ChangeKind, ValueChange};
use crate::keys::Identities;
use crate::model::{KeyPath, Node, Plain, Scalar, SecretBuf, SecretText};
use crate::policy::staleness::{self, Freshness};
use crate::store::Format;

#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
    secrets log config/prod/app.yaml database.password        # when, who, added/changed/removed
    secrets log config/prod/app.yaml database.password --show # and each version's value
    secrets log config/prod/app.yaml                          # every key's last change")]
pub struct Args {
    /// The encrypted file, a path in a git repository (renames in its history are
    /// followed); not `-`: history needs the file's path.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Key path (`["a"]["b"]` or `a.b`); without it, one line per key with its last change.
    #[arg(value_name = "KEYPATH")]
    key: Option<String>,
    /// With KEYPATH only: decrypt each version of that value you can still open and show
    /// it.
    #[arg(long, requires = "key")]
    show: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    format: ListFormat,
    #[command(flatten)]
    pub itype: super::InputTypeArg,
    #[command(flatten)]
    pub ids: super::IdentityArg,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    if args.file.as_os_str() == "-" {
        return Err(CliError::new(
            INPUT,
            "log needs a path in the repository, not `-` (standard input has no history)",
        )
        .hint("secrets log FILE [KEYPATH], FILE as git knows it; `git show REV:FILE | secrets decrypt -` reads one past version")
        .into());
    }
    let Some(key) = &args.key else {
        return last_changes(&args.file, args.format, g);
    };
    let kp = KeyPath::parse(key).map_err(output::path_error(&args.file))?;
    let log = history::value_log(&args.file, &kp, g.input_type, args.show)
        .map_err(output::history_error)?;
    if !log.found {
        return Err(CliError::new(
            BAD_PATH,
            format!(
                "{}: key `{kp}` is neither in the file nor in any commit of its history",
                args.file.display()
            ),
        )
        .hint(format!(
            "its keys and their last changes: secrets log {}",
            args.file.display()
        ))
        .into());
    }
    let shown = if args.show {
        let ids = output::identities(g)?;
        Some(show_values(&log.changes, &kp, g.input_type, &ids))
    } else {
        None
    };
    let mut out = SecretBuf::new();
    match args.format {
        ListFormat::Json => json(&mut out, &args.file, &kp, &log, shown.as_deref())?,
        ListFormat::Human => human(&mut out, &log.changes, shown.as_deref()),
    }
    output::write_output(None, &out, false)?;
    if args.format == ListFormat::Human && !g.quiet {
        if log.changes.iter().any(|c| c.whole_file) && shown.is_none() {
            eprintln!("*: every value of the file got a new ciphertext in that commit (a rotation, or the file rewritten); --show tells a new value from a re-encrypted one");
        }
        if let Some(end) = &log.end {
            eprintln!("secrets: note: the value was already there where history ends: {end}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What `--show` found for one version.
enum Shown {
    /// No value in this version (removed).
    Nothing,
    Value(Zeroizing<String>),
    /// Why it cannot be shown (no key for it, MAC mismatch…), without the file's name.
    Unreadable(String),
}

/// Decrypts the version after each change; a change whose plaintext equals the one
/// before it (the next, older entry) is a re-encryption.
fn show_values(
    changes: &[ValueChange],
    kp: &KeyPath,
    format: Option<Format>,
    ids: &Identities,
) -> Vec<(Shown, bool)> {
    // Versions between two re-wraps share their data key: unwrapped once per set of
    // stanzas (public text), kept in `DataKey`'s wiped box.
    let mut keys: HashMap<String, DataKey> = HashMap::new();
    let values: Vec<Shown> = changes
        .iter()
        .map(|c| match &c.text {
            None => Shown::Nothing,
            Some(text) => value_of(c, text, kp, format, ids, &mut keys),
        })
        .collect();
    let same: Vec<bool> = (0..values.len())
        .map(|i| match (changes[i].kind, &values[i], values.get(i + 1)) {
            (ChangeKind::Changed, Shown::Value(a), Some(Shown::Value(b))) => a == b,
            _ => false,
        })
        .collect();
    values.into_iter().zip(same).collect()
}

fn value_of(
    c: &ValueChange,
    text: &[u8],
    kp: &KeyPath,
    format: Option<Format>,
    ids: &Identities,
    keys: &mut HashMap<String, DataKey>,
) -> Shown {
    let path = Path::new(&c.path);
    let format = format.unwrap_or_else(|| Format::from_path(path));
    let reason = |e: FileError| match e {
        FileError::Key { error, .. } => error.to_string(),
        FileError::Crypto { error, .. } => error.to_string(),
        other => other.to_string(),
    };
    let opened = EncryptedFile::parse(path, format, text).and_then(|f| {
        let stanzas: String = f.stanzas().iter().map(|s| s.enc.as_str()).collect();
        if !keys.contains_key(&stanzas) {
            let key = f.data_key(ids).map_err(crate::workspace::name_recipients)?;
            keys.insert(stanzas.clone(), key);
        }
        f.read(&keys[&stanzas])
    });
    let opened = match opened {
        Ok(o) => o,
        Err(e) => return Shown::Unreadable(reason(e)),
    };
    let Some(doc) = opened.branches.first() else {
        return Shown::Nothing;
    };
    let stored = output::stored_path(format, doc, kp.clone());
    let Ok(node) = doc.lookup(&stored) else {
        return Shown::Nothing;
    };
    match node_text(node, format) {
        Ok(t) => Shown::Value(t),
        Err(e) => Shown::Unreadable(e),
    }
}

/// A value as text: a leaf as `get` prints it (a dotenv value as it means), a subtree as
/// JSON.
fn node_text(node: &Node<Plain>, format: Format) -> Result<Zeroizing<String>, String> {
    let bytes: Zeroizing<Vec<u8>> = match node {
        Node::Leaf(leaf) => {
            if let (Format::Dotenv, Scalar::Str(stored)) = (format, leaf.scalar()) {
                if let Ok(v) = crate::store::dotenv::value_of(stored) {
                    return Ok(v);
                }
            }
            let s = leaf.scalar();
            let mut t = SecretText::with_capacity(s.text_len());
            s.write_text(&mut t);
            t.into_zeroizing_bytes()
        }
        Node::Map(b) => crate::engine::emit_plain(
            Path::new("-"),
            Format::Json,
            std::slice::from_ref(b),
            crate::store::Layout::default_for(Format::Json),
        )
        .map_err(|e| e.to_string())?,
        Node::List(items) => crate::store::emit_list(
            Format::Json,
            items,
            crate::store::Layout::default_for(Format::Json),
        )
        .map_err(|e| e.to_string())?
        .into_zeroizing_bytes(),
    };
    let mut bytes = bytes;
    // Moved, not copied: the Vec's block becomes the String's (or is wiped in the error).
    match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(mut s) => {
            let n = s.trim_end_matches('\n').len();
            s.truncate(n);
            Ok(Zeroizing::new(s))
        }
        Err(e) => {
            drop(Zeroizing::new(e.into_bytes()));
            Err("not UTF-8 text (binary)".into())
        }
    }
}

/// The label of a change in the human table.
fn label(c: &ValueChange, same: bool) -> &'static str {
    match (c.kind, same, c.whole_file) {
        (ChangeKind::Changed, true, _) => "re-encrypted",
        (ChangeKind::Changed, false, true) => "changed*",
        (k, ..) => k.as_str(),
    }
}

/// `DATE  COMMIT  AUTHOR  CHANGE  [FILE]  SUBJECT  [VALUE]`; FILE only when a rename
/// shows; values (with `--show`) last, control characters escaped.
fn human(out: &mut SecretBuf, changes: &[ValueChange], shown: Option<&[(Shown, bool)]>) {
    let renamed = changes.windows(2).any(|w| w[0].path != w[1].path);
    let mut rows: Vec<Vec<String>> = Vec::with_capacity(changes.len() + 1);
    let mut header = vec!["DATE", "COMMIT", "AUTHOR", "CHANGE"];
    if renamed {
        header.push("FILE");
    }
    header.push("SUBJECT");
    rows.push(header.iter().map(|s| s.to_string()).collect());
    for (i, c) in changes.iter().enumerate() {
        let same = shown.is_some_and(|s| s[i].1);
        let mut row = match &c.commit {
            Some(ch) => vec![
                date(ch.time, false),
                ch.commit.chars().take(7).collect(),
                ch.author.clone(),
            ],
            None => vec!["-".into(), "uncommitted".into(), "-".into()],
        };
        row.push(label(c, same).into());
        if renamed {
            row.push(c.path.clone());
        }
        row.push(
            c.commit
                .as_ref()
                .map(|ch| ch.summary.clone())
                .unwrap_or_else(|| "(working file)".into()),
        );
        rows.push(row);
    }
    let columns = rows[0].len();
    let mut width = vec![0usize; columns];
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            width[i] = width[i].max(cell.chars().count());
        }
    }
    let mut text = SecretText::new();
    for (r, row) in rows.iter().enumerate() {
        let last = if shown.is_some() {
            columns
        } else {
            columns - 1
        };
        for (i, cell) in row.iter().enumerate() {
            text.push_str(cell);
            if i < last {
                text.push_repeated(' ', width[i] - cell.chars().count() + 2);
            }
        }
        if let Some(shown) = shown {
            match r {
                0 => text.push_str("VALUE"),
                _ => match &shown[r - 1].0 {
                    Shown::Nothing => text.push('-'),
                    Shown::Value(v) => push_escaped(&mut text, v),
                    Shown::Unreadable(why) => {
                        text.push_str("(cannot decrypt this version: ");
                        text.push_str(why);
                        text.push(')');
                    }
                },
            }
        }
        let trimmed = text.as_str().trim_end_matches(' ').len();
        text.truncate_to(trimmed);
        text.push('\n');
    }
    out.extend_from_slice(text.as_str().as_bytes());
}

/// A value on one table line: newlines, tabs and other control characters as escapes.
fn push_escaped(out: &mut SecretText, v: &str) {
    for c in v.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let mut buf = [0u8; 16];
                use std::io::Write as _;
                let mut cur = std::io::Cursor::new(&mut buf[..]);
                let _ = write!(cur, "\\u{{{:x}}}", c as u32);
                let n = cur.position() as usize;
                out.push_str(std::str::from_utf8(&buf[..n]).unwrap_or(""));
            }
            c => out.push(c),
        }
    }
}

/// One change in JSON (stable field names).
#[derive(serde::Serialize)]
struct JsonChange<'a> {
    commit: Option<&'a str>,
    author: Option<&'a str>,
    email: Option<&'a str>,
    time: Option<i64>,
    date: Option<String>,
    summary: Option<&'a str>,
    change: &'static str,
    path: &'a str,
    whole_file: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    same_value: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

#[derive(serde::Serialize)]
struct JsonEnd {
    reason: &'static str,
    detail: String,
}

#[derive(serde::Serialize)]
struct JsonLog<'a> {
    file: String,
    key: String,
    changes: Vec<JsonChange<'a>>,
    history_end: Option<JsonEnd>,
}

/// `{"file", "key", "changes": [{"commit", "author", "email", "time", "date", "summary",
/// "change", "path", "whole_file", "same_value"?, "value"?, "error"?}], "history_end"}`,
/// written straight into a wiped buffer (values only with `--show`).
fn json(
    out: &mut SecretBuf,
    file: &Path,
    kp: &KeyPath,
    log: &history::ValueLog,
    shown: Option<&[(Shown, bool)]>,
) -> anyhow::Result<()> {
    let changes = log
        .changes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let s = shown.map(|s| &s[i]);
            JsonChange {
                commit: c.commit.as_ref().map(|x| x.commit.as_str()),
                author: c.commit.as_ref().map(|x| x.author.as_str()),
                email: c.commit.as_ref().map(|x| x.email.as_str()),
                time: c.commit.as_ref().map(|x| x.time),
                date: c.commit.as_ref().map(|x| date(x.time, true)),
                summary: c.commit.as_ref().map(|x| x.summary.as_str()),
                change: if s.is_some_and(|s| s.1) {
                    "re-encrypted"
                } else {
                    c.kind.as_str()
                },
                path: &c.path,
                whole_file: c.whole_file,
                same_value: s.map(|s| s.1),
                value: s.and_then(|s| match &s.0 {
                    Shown::Value(v) => Some(v.as_str()),
                    _ => None,
                }),
                error: s.and_then(|s| match &s.0 {
                    Shown::Unreadable(w) => Some(w.as_str()),
                    _ => None,
                }),
            }
        })
        .collect();
    let doc = JsonLog {
        file: file.display().to_string(),
        key: kp.to_string(),
        changes,
        history_end: log.end.as_ref().map(|e| JsonEnd {
            reason: e.code(),
            detail: e.to_string(),
        }),
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    out.push(b'\n');
    Ok(())
}

/// Without KEYPATH: every key of the file with its last change.
fn last_changes(file: &Path, format: ListFormat, g: &Global) -> anyhow::Result<ExitCode> {
    // With an identity, a re-encryption (same plaintext) is not a change.
    let ids = output::identities(g).ok();
    let mut all =
        staleness::last_changes_with(&[file.to_path_buf()], ids.as_ref()).map_err(|e| match e {
            // The file's own error, for its exit code (no such file 2, not encrypted 204).
            staleness::StaleError::Load(f) => anyhow::Error::from(f),
            other => other.into(),
        })?;
    let rows = all.remove(file).unwrap_or_default();
    let shown = crate::store::shown_keys(crate::store::Format::from_path(file), &rows);
    let rows: Vec<(String, Freshness)> = shown
        .into_iter()
        .zip(rows.into_iter().map(|(_, f)| f))
        .collect();
    match format {
        ListFormat::Json => {
            let values: Vec<serde_json::Value> = rows
                .iter()
                .map(|(key, f)| {
                    let c = match f {
                        Freshness::Changed(c) => Some(c),
                        _ => None,
                    };
                    let (reason, detail) = match f {
                        Freshness::Unknown(why) => (Some(why.code()), Some(why.to_string())),
                        _ => (None, None),
                    };
                    serde_json::json!({
                        "key": key,
                        "state": match f {
                            Freshness::Changed(_) => "changed",
                            Freshness::Uncommitted => "uncommitted",
                            Freshness::Unknown(_) => "unknown",
                        },
                        "commit": c.map(|c| &c.commit),
                        "author": c.map(|c| &c.author),
                        "email": c.map(|c| &c.email),
                        "time": c.map(|c| c.time),
                        "date": c.map(|c| date(c.time, true)),
                        "summary": c.map(|c| &c.summary),
                        "reason": reason,
                        "detail": detail,
                    })
                })
                .collect();
            let doc = serde_json::json!({ "file": file.display().to_string(), "values": values });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        ListFormat::Human => {
            let table: Vec<[String; 5]> = rows
                .iter()
                .map(|(key, f)| match f {
                    Freshness::Changed(c) => [
                        key.clone(),
                        date(c.time, false),
                        c.commit.chars().take(7).collect(),
                        c.author.clone(),
                        c.summary.clone(),
                    ],
                    Freshness::Uncommitted => [
                        key.clone(),
                        "-".into(),
                        "uncommitted".into(),
                        "-".into(),
                        "(working file)".into(),
                    ],
                    Freshness::Unknown(why) => [
                        key.clone(),
                        "-".into(),
                        "-".into(),
                        "-".into(),
                        format!("unknown: {why}"),
                    ],
                })
                .collect();
            print_table(&["KEY", "DATE", "COMMIT", "AUTHOR", "SUBJECT"], &table);
        }
    }
    Ok(ExitCode::SUCCESS)
}
