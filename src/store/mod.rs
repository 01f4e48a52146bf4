//! Parsing and emitting the supported file formats. A store knows nothing of keys or
//! ciphers: it turns text into ordered trees and back, and splits the `sops` metadata
//! from the data in the layout each format uses.

pub mod binary;
pub mod dotenv;
pub mod ini;
pub mod json;
pub mod limits;
pub mod template;
pub mod yaml;

use crate::model::tree::Leaf;
use crate::model::{Branch, Item, ListItem, Node, Sealed, SecretText};
use std::path::Path;

/// The file formats, chosen from the file name or `--input-type/--output-type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Yaml,
    Json,
    Dotenv,
    Ini,
    Binary,
}

impl Format {
    /// Picks the format from the extension like sops does; `.env`, `.env.prod` and
    /// `prod.env` are dotenv; anything unknown is binary.
    pub fn from_path(path: &Path) -> Format {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        if name == ".env" || name.starts_with(".env.") || ext == "env" {
            return Format::Dotenv;
        }
        match ext.as_str() {
            "yaml" | "yml" => Format::Yaml,
            "json" => Format::Json,
            "ini" => Format::Ini,
            _ => Format::Binary,
        }
    }

    /// The format of an encrypted file: from its name, except that a file sops wrote as
    /// a binary file is read as one whatever its name says. sops picks a format from the
    /// exact lower-case extension only, so `.env.prod` or `c.YAML` are binary to it: its
    /// file is a JSON object of `data` and `sops` alone, which no YAML, dotenv or INI file
    /// we or sops write looks like. (A `.json` name keeps JSON: there the two are the
    /// same shape, and read alike.)
    ///
    /// A name that gives no format (`app.conf`, `creds`, `prod.env.enc`) is read by its
    /// content: a file `encrypt --input-type dotenv` (or sops) wrote there is dotenv, and
    /// so for every command (`get`, `rotate`, `member remove`, `exec --env`), not only
    /// for the ones given `--input-type`.
    pub fn of_encrypted(path: &Path, bytes: &[u8]) -> Format {
        let named = Format::from_path(path);
        if is_binary_store(bytes) {
            return if named == Format::Json {
                named
            } else {
                Format::Binary
            };
        }
        if named == Format::Binary {
            return sniffed(bytes).unwrap_or(named);
        }
        named
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
            Format::Dotenv => "dotenv",
            Format::Ini => "ini",
            Format::Binary => "binary",
        }
    }
}

/// The format whose sops metadata `bytes` hold, judged by the line that starts it: a
/// top-level `sops:` (YAML), a `[sops]` section (INI), `sops_version=` / `sops_mac=`
/// (dotenv), a JSON object with a `"sops"` key. One pass over the lines.
fn sniffed(bytes: &[u8]) -> Option<Format> {
    if bytes.trim_ascii_start().first() == Some(&b'{') {
        return memchr::memmem::find(bytes, b"\"sops\"").map(|_| Format::Json);
    }
    bytes.split(|&b| b == b'\n').find_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b"sops:") {
            Some(Format::Yaml)
        } else if line.trim_ascii() == b"[sops]" {
            Some(Format::Ini)
        } else if line.starts_with(b"sops_version=") || line.starts_with(b"sops_mac=") {
            Some(Format::Dotenv)
        } else {
            None
        }
    })
}

/// Whether `bytes` are sops's binary-store file: a JSON object whose keys are `data` (an
/// `ENC[…]` string) and `sops`, and nothing else.
fn is_binary_store(bytes: &[u8]) -> bool {
    if bytes.trim_ascii_start().first() != Some(&b'{') {
        return false;
    }
    let Ok(serde_json::Value::Object(doc)) = serde_json::from_slice::<serde_json::Value>(bytes)
    else {
        return false;
    };
    doc.len() == 2
        && doc.get("sops").is_some_and(serde_json::Value::is_object)
        && doc
            .get("data")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|d| d.starts_with("ENC["))
}

/// Layout details read from an existing file so that re-emitting it changes as little as
/// possible (indentation width).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub indent: usize,
}

impl Layout {
    /// sops's defaults for new files.
    pub fn default_for(format: Format) -> Layout {
        match format {
            // sops indents JSON (and binary envelopes) with tabs by default.
            Format::Json | Format::Binary => Layout {
                indent: json::TAB_INDENT,
            },
            _ => Layout { indent: 4 },
        }
    }
}

/// A parse or emit failure; never carries a value, only positions and structure.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{0}")]
    Unsupported(String),
    /// Input refused by a limit of [`limits`] or a structure that cannot be rebuilt, where
    /// no line applies (a file's size, INI metadata).
    #[error("{0}")]
    Refused(String),
}

impl StoreError {
    pub fn syntax(line: usize, column: usize, message: impl Into<String>) -> Self {
        StoreError::Syntax {
            line,
            column,
            message: message.into(),
        }
    }
}

/// Parses file text into branches (several only for multi-document YAML).
pub fn parse<L: Leaf>(format: Format, text: &str) -> Result<(Vec<Branch<L>>, Layout), StoreError> {
    match format {
        Format::Yaml => yaml::parse(text),
        Format::Json => json::parse(text),
        Format::Dotenv => dotenv::parse(text).map(|b| (vec![b], Layout::default_for(format))),
        Format::Ini => ini::parse_plain(text).map(|b| (vec![b], Layout::default_for(format))),
        Format::Binary => Ok((
            vec![binary::parse(text.as_bytes())],
            Layout::default_for(format),
        )),
    }
}

/// Parses raw bytes of a plaintext file (at most [`limits::MAX_PLAIN_SIZE`]); only the
/// binary store accepts bytes that are not UTF-8.
pub fn parse_bytes<L: Leaf>(
    format: Format,
    bytes: &[u8],
) -> Result<(Vec<Branch<L>>, Layout), StoreError> {
    check_size(bytes.len(), limits::MAX_PLAIN_SIZE, "plaintext files")?;
    parse_any_bytes(format, bytes)
}

/// Refuses input larger than `max` bytes, saying which limit it is.
fn check_size(len: usize, max: u64, what: &str) -> Result<(), StoreError> {
    if len as u64 > max {
        return Err(StoreError::Refused(format!(
            "the file is {len} bytes, larger than {} (the limit for {what})",
            limits::size_text(max)
        )));
    }
    Ok(())
}

fn parse_any_bytes<L: Leaf>(
    format: Format,
    bytes: &[u8],
) -> Result<(Vec<Branch<L>>, Layout), StoreError> {
    if format == Format::Binary {
        return Ok((vec![binary::parse(bytes)], Layout::default_for(format)));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        StoreError::syntax(line, 0, "file is not valid UTF-8")
    })?;
    parse(format, text)
}

/// Parses an encrypted file's text (at most [`limits::MAX_ENCRYPTED_SIZE`]): as [`parse`],
/// except that dotenv and INI files are read exactly as sops reads them, without the checks
/// on plaintext (unreadable dotenv values, an INI comment at the end or a repeated key), so
/// every file sops wrote opens.
pub fn parse_encrypted<L: Leaf>(
    format: Format,
    bytes: &[u8],
) -> Result<(Vec<Branch<L>>, Layout), StoreError> {
    check_size(bytes.len(), limits::MAX_ENCRYPTED_SIZE, "encrypted files")?;
    if matches!(format, Format::Dotenv | Format::Ini) {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| StoreError::syntax(1, 0, "file is not valid UTF-8"))?;
        let branch = if format == Format::Dotenv {
            dotenv::parse_sops(text)?
        } else {
            ini::parse(text)?
        };
        return Ok((vec![branch], Layout::default_for(format)));
    }
    parse_any_bytes(format, bytes)
}

/// Emits an encrypted file's branches (sops-exact dotenv, see [`parse_encrypted`]).
pub fn emit_encrypted<L: Leaf>(
    format: Format,
    branches: &[Branch<L>],
    layout: Layout,
) -> Result<SecretText, StoreError> {
    if format == Format::Dotenv {
        return dotenv::emit_sops(single(branches)?);
    }
    emit(format, branches, layout)
}

/// Emits an encrypted file: its branches with the metadata added as [`put_metadata`] adds
/// it, without copying the branches where the format allows (YAML, JSON). Data holding a
/// key reserved for the metadata is refused ([`reserved_key`]).
pub fn emit_encrypted_with_metadata(
    format: Format,
    branches: &[Branch<Sealed>],
    md: &Branch<Sealed>,
    layout: Layout,
) -> Result<SecretText, StoreError> {
    if let Some(key) = reserved_key(format, branches) {
        return Err(reserved_key_error(format, key));
    }
    let node = || Node::Map(md.clone());
    let text = match format {
        Format::Yaml => yaml::emit_with_entry(branches, layout, Some((SOPS_KEY, &node())))?,
        Format::Json | Format::Binary => {
            json::emit_with_entry(single(branches)?, layout, Some((SOPS_KEY, &node())))?
        }
        Format::Dotenv | Format::Ini => {
            let mut branches = branches.to_vec();
            put_metadata(format, &mut branches, md);
            emit_encrypted(format, &branches, layout)?
        }
    };
    // Never write what could not be read back.
    if text.len() as u64 > limits::MAX_ENCRYPTED_SIZE {
        return Err(StoreError::Refused(format!(
            "the encrypted file would be {} bytes, larger than {} (the limit for reading \
             encrypted files back)",
            text.len(),
            limits::size_text(limits::MAX_ENCRYPTED_SIZE)
        )));
    }
    Ok(text)
}

/// Emits branches as file text, into a [`SecretText`]: for a plain tree the text is
/// plaintext, written once into memory that is wiped on every reallocation and on drop.
pub fn emit<L: Leaf>(
    format: Format,
    branches: &[Branch<L>],
    layout: Layout,
) -> Result<SecretText, StoreError> {
    match format {
        Format::Yaml => yaml::emit(branches, layout),
        Format::Json => json::emit(single(branches)?, layout),
        Format::Dotenv => dotenv::emit(single(branches)?),
        Format::Ini => ini::emit(single(branches)?),
        Format::Binary => json::emit(single(branches)?, layout),
    }
}

/// A list alone, for printing an extracted list: YAML or JSON (the formats that hold one).
pub fn emit_list<L: Leaf>(
    format: Format,
    items: &[ListItem<L>],
    layout: Layout,
) -> Result<SecretText, StoreError> {
    match format {
        Format::Yaml => Ok(yaml::emit_list_document(items, layout)),
        Format::Json => json::emit_list(items, layout),
        _ => Err(StoreError::Unsupported(
            "only YAML and JSON can print a list".into(),
        )),
    }
}

fn single<L>(branches: &[Branch<L>]) -> Result<&Branch<L>, StoreError> {
    match branches {
        [one] => Ok(one),
        _ => Err(StoreError::Unsupported(
            "only YAML files can hold several documents".into(),
        )),
    }
}

/// The metadata key sops uses.
pub const SOPS_KEY: &str = "sops";

/// The key path as stored in `doc`: on dotenv, `NAME` finds a line written `export NAME=…`
/// (whose key is "export NAME"), and a dotted path that names no node finds keys written
/// with dots in them (`spring.datasource.password:` flat, as `exec` and `check` name it),
/// so get/set/unset/generate/log do not miss it or add a nested copy; a new key goes under
/// the deepest parent the path names ([`crate::model::Branch::match_dotted`]).
pub fn stored_path<L>(
    format: Format,
    doc: &crate::model::Branch<L>,
    kp: crate::model::KeyPath,
) -> crate::model::KeyPath {
    use crate::model::{DottedMatch, KeyPath, PathSegment};
    match format {
        // A dotenv file is flat: `C.D` is the line `C.D=…` (or `export C.D=…`).
        Format::Dotenv => {
            let name = kp.dotted();
            let written = dotenv::key_as_written(doc, &name).to_string();
            KeyPath(vec![PathSegment::Key(written)])
        }
        _ if kp.0.len() > 1 && doc.lookup(&kp).is_err() => match doc.match_dotted(&kp) {
            // A new key under a parent written with dots (`m.map.new` under a flat `m.map:`
            // map, `hosts.list.2` on a flat list, an INI `[spring.datasource]` section)
            // goes there; under nested parents the path is the one typed.
            DottedMatch::Found(found) | DottedMatch::Under(found) => found,
            DottedMatch::Nothing => kp,
        },
        _ => kp,
    }
}

/// A key as the commands show it: in a dotenv file the variable name (a line written
/// `export NAME=` is NAME, as exec, get and set name it), elsewhere the key as stored.
pub fn shown_key(format: Format, key: &str) -> &str {
    match format {
        Format::Dotenv => dotenv::env_name(key),
        _ => key,
    }
}

/// The keys of one file's rows (stored key first, as a last-change list has them) as the
/// commands list them ([`shown_key`]), except that a key whose shown name another key of
/// the file also has (`export A=` beside `A=`) keeps its stored form, so two rows never
/// look like one key.
pub fn shown_keys<T>(format: Format, rows: &[(String, T)]) -> Vec<String> {
    let keys = || rows.iter().map(|(k, _)| k.as_str());
    let mut count: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for k in keys() {
        *count.entry(shown_key(format, k)).or_default() += 1;
    }
    keys()
        .map(|k| {
            let shown = shown_key(format, k);
            if count[shown] > 1 { k } else { shown }.to_string()
        })
        .collect()
}

/// The first top-level key of the data that only the metadata may use: `sops` (an INI
/// section `[sops]`), or in dotenv any key starting with `sops_`. Such a file would carry
/// two metadata blocks, or data read back as metadata: sops refuses to encrypt it, and
/// cannot read it.
pub fn reserved_key<L>(format: Format, branches: &[Branch<L>]) -> Option<&str> {
    branches
        .iter()
        .flat_map(|b| b.entries())
        .map(|(k, _)| k)
        .find(|k| match format {
            Format::Dotenv => k.starts_with("sops_"),
            _ => *k == SOPS_KEY,
        })
}

/// The error for a [`reserved_key`] in the data.
pub fn reserved_key_error(format: Format, key: &str) -> StoreError {
    let what = match format {
        Format::Dotenv => format!("key {key:?}: keys starting with sops_ are"),
        Format::Ini => format!("section [{key}]: it is"),
        _ => format!("key {key:?}: it is"),
    };
    StoreError::Unsupported(format!(
        "{what} reserved for the sops metadata; rename it (sops refuses it too)"
    ))
}

/// Removes the `sops` metadata from parsed encrypted branches and returns it as a nested
/// tree, undoing the flattening of dotenv (`sops_age__list_0__map_enc`) and INI (`[sops]`).
/// `Ok(None)`: there is none. Flattened metadata is checked against [`limits::FLAT`] (list
/// indexes, depth), an error naming the key (and, in dotenv, its line).
pub fn take_metadata(
    format: Format,
    branches: &mut [Branch<Sealed>],
) -> Result<Option<Branch<Sealed>>, StoreError> {
    match format {
        Format::Dotenv => {
            let Some(first) = branches.first_mut() else {
                return Ok(None);
            };
            let mut flat = Branch::new();
            // Each dotenv item is one line: the line of each metadata entry, for errors.
            let mut lines = Vec::new();
            let mut line = 0;
            first.items.retain(|item| {
                line += 1;
                match item {
                    Item::Entry { key, value } if key.starts_with("sops_") => {
                        flat.items.push(Item::Entry {
                            key: key["sops_".len()..].to_string(),
                            value: value.clone(),
                        });
                        lines.push(line);
                        false
                    }
                    _ => true,
                }
            });
            if flat.items.is_empty() {
                return Ok(None);
            }
            // The dotenv store already turned `\n` back into newlines for every value.
            crate::metadata::flat::unflatten(&flat, false, limits::FLAT)
                .map(Some)
                .map_err(|e| {
                    let key = format!("sops_{}", e.key);
                    let message = format!("sops metadata key {key:?}: {}", e.problem);
                    StoreError::syntax(lines[e.entry], 1, message)
                })
        }
        Format::Ini => match branches.first_mut().and_then(|b| b.remove(SOPS_KEY)) {
            Some(Node::Map(flat)) => crate::metadata::flat::unflatten(&flat, true, limits::FLAT)
                .map(Some)
                .map_err(|e| {
                    StoreError::Refused(format!("[sops] section, key {:?}: {}", e.key, e.problem))
                }),
            _ => Ok(None),
        },
        _ => {
            let mut found = None;
            for (i, branch) in branches.iter_mut().enumerate() {
                if let Some(Node::Map(md)) = branch.remove(SOPS_KEY) {
                    if i == 0 {
                        found = Some(md);
                    }
                }
            }
            Ok(found)
        }
    }
}

/// Adds metadata to every branch in the layout of the format (the inverse of
/// [`take_metadata`]).
pub fn put_metadata(format: Format, branches: &mut [Branch<Sealed>], md: &Branch<Sealed>) {
    match format {
        Format::Dotenv => {
            let flat = crate::metadata::flat::flatten(md, false);
            if let Some(first) = branches.first_mut() {
                for (key, value) in flat.entries() {
                    first.items.push(Item::Entry {
                        key: format!("sops_{key}"),
                        value: value.clone(),
                    });
                }
            }
        }
        Format::Ini => {
            let flat = crate::metadata::flat::flatten(md, true);
            if let Some(first) = branches.first_mut() {
                first.items.push(Item::Entry {
                    key: SOPS_KEY.into(),
                    value: Node::Map(flat),
                });
            }
        }
        _ => {
            for branch in branches.iter_mut() {
                branch.items.push(Item::Entry {
                    key: SOPS_KEY.into(),
                    value: Node::Map(md.clone()),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_path() {
        for (p, f) in [
            ("a.yaml", Format::Yaml),
            ("a.YML", Format::Yaml),
            ("a.json", Format::Json),
            (".env", Format::Dotenv),
            (".env.prod", Format::Dotenv),
            ("prod.env", Format::Dotenv),
            ("x.ini", Format::Ini),
            ("x.bin", Format::Binary),
            ("Makefile", Format::Binary),
        ] {
            assert_eq!(Format::from_path(Path::new(p)), f, "{p}");
        }
    }
}
