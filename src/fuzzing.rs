//! The properties the fuzz targets check, one function per target, shared by the cargo-fuzz
//! targets in `fuzz/` (nightly, coverage-guided) and by `tests/fuzz_replay.rs` (stable: it
//! replays every file of `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/`). Each
//! function takes arbitrary bytes and panics when its property fails; none may panic
//! otherwise. See `docs/fuzzing.md`.
//!
//! Not an API: hidden from the docs, and free to change with the targets.

use std::path::Path;
use std::sync::OnceLock;

use crate::config::Config;
use crate::crypto::value::{self, ValueCipher, IV_LEN};
use crate::crypto::DataKey;
use crate::engine::EncryptedFile;
use crate::metadata::{flat, Metadata};
use crate::model::tree::Leaf;
use crate::model::{Branch, Item, KeyPath, ListItem, Node, Plain, Scalar, Sealed};
use crate::scan::{KnownValue, KnownValues, Options, Scanner};
use crate::store::limits;
use crate::store::{self, Format, StoreError};

/// A target's property: panics when the input breaks it.
pub type Property = fn(&[u8]);

/// Every target: its name (the directory under `fuzz/corpus/` and `fuzz/regressions/`) and
/// its property.
pub const TARGETS: &[(&str, Property)] = &[
    ("parse_yaml", parse_yaml),
    ("parse_json", parse_json),
    ("parse_dotenv", parse_dotenv),
    ("parse_ini", parse_ini),
    ("parse_encrypted", parse_encrypted),
    ("parse_config", parse_config),
    ("parse_metadata", parse_metadata),
    ("enc_value", enc_value),
    ("key_path", key_path),
    ("scan", scan),
];

/// A plaintext YAML file round-trips: see [`round_trip`].
pub fn parse_yaml(data: &[u8]) {
    round_trip(Format::Yaml, data);
}

/// A plaintext JSON file round-trips: see [`round_trip`].
pub fn parse_json(data: &[u8]) {
    round_trip(Format::Json, data);
}

/// A plaintext dotenv file round-trips: see [`round_trip`].
pub fn parse_dotenv(data: &[u8]) {
    round_trip(Format::Dotenv, data);
}

/// A plaintext INI file round-trips: see [`round_trip`].
pub fn parse_ini(data: &[u8]) {
    round_trip(Format::Ini, data);
}

/// If the store parses `data` as a plaintext file, it emits the tree (or refuses with an
/// error saying why it cannot write it), and what it emits parses again to the same tree:
/// same keys, values and comments, in the same order. This is what `decrypt`, `edit` and
/// `encrypt` rely on to never change a value silently. Comments are held to what the emitter
/// promises ([`same_after_write`]: YAML's may change list level, INI's spacing), and the
/// text settles after one more write.
pub fn round_trip(format: Format, data: &[u8]) {
    let (tree, layout) = match store::parse_bytes::<Plain>(format, data) {
        Ok(v) => v,
        Err(e) => return one_line(format, &e),
    };
    let emitted = match store::emit(format, &tree, layout) {
        Ok(text) => text,
        Err(e) => return one_line(format, &e),
    };
    // Fuzz inputs are not secrets: a failure shows the emitted text.
    let text = emitted.as_str();
    let (again, layout) = match store::parse::<Plain>(format, text) {
        Ok(again) => again,
        Err(e) => panic!("{format:?}: the emitted text does not parse: {e}\n{text:?}"),
    };
    assert!(
        same_after_write(format, &tree, &again),
        "{format:?}: parse, emit, parse changed the tree at {}\nemitted: {text:?}",
        first_difference(&tree, &again)
    );
    if matches!(format, Format::Ini | Format::Yaml) {
        // Where the emitter moves or respaces comments, the text settles after one more
        // write; after that, a file does not change with every edit.
        let write = |tree: &[Branch<Plain>], layout| match store::emit(format, tree, layout) {
            Ok(text) => text,
            Err(e) => panic!("{format:?}: what was written once does not write again: {e}"),
        };
        let second = write(&again, layout);
        let (third_tree, layout) = store::parse::<Plain>(format, &second)
            .unwrap_or_else(|e| panic!("{format:?}: a second write does not parse: {e}"));
        let third = write(&third_tree, layout);
        assert_eq!(
            third.as_str(),
            second.as_str(),
            "{format:?}: the text changes with every write"
        );
    }
}

/// Metadata are the same when equal but for the key-service entries we keep without using
/// them (`kms`, `pgp`…), whose leaves compare as data does: a float `4.` is written `4`, as
/// go-yaml writes it, and reads back as the int ([`same_trees`]).
fn same_metadata(a: &Metadata, b: &Metadata) -> bool {
    let (mut a2, mut b2) = (a.clone(), b.clone());
    a2.foreign = Branch::new();
    b2.foreign = Branch::new();
    a2 == b2
        && same_trees(
            std::slice::from_ref(&a.foreign),
            std::slice::from_ref(&b.foreign),
        )
}

/// Whether `after`, read back from what `before` was written as, is the same tree up to
/// what the emitters change on purpose. YAML: comments around nested lists move between
/// list levels (lists add no path, so a comment decrypts the same; the emitter places them
/// as sops does, see `store::yaml::emit`), so the values must be the same and the comments
/// the same texts in the same order. INI: comments keep their places and text, not their
/// spacing (written as go-ini writes them). Elsewhere the trees must be equal.
fn same_after_write<L: Leaf>(format: Format, before: &[Branch<L>], after: &[Branch<L>]) -> bool {
    match format {
        Format::Ini => same_trees_with(before, after, false),
        Format::Yaml => {
            same_trees(&without_comments(before), &without_comments(after))
                && comment_texts(before) == comment_texts(after)
        }
        _ => same_trees(before, after),
    }
}

/// The trees without their comments.
fn without_comments<L: Leaf>(branches: &[Branch<L>]) -> Vec<Branch<L>> {
    branches
        .iter()
        .map(|b| {
            let mut node = Node::Map(b.clone());
            node.strip_comments();
            match node {
                Node::Map(b) => b,
                _ => unreachable!("a map stays a map"),
            }
        })
        .collect()
}

/// Every comment's text, in document order.
fn comment_texts<L: Leaf>(branches: &[Branch<L>]) -> Vec<Scalar> {
    fn branch<L: Leaf>(b: &Branch<L>, out: &mut Vec<Scalar>) {
        for item in &b.items {
            match item {
                Item::Entry { value, .. } => node(value, out),
                Item::Comment { text, .. } => out.push(text.scalar().clone()),
                Item::Blank => {}
            }
        }
    }
    fn node<L: Leaf>(n: &Node<L>, out: &mut Vec<Scalar>) {
        match n {
            Node::Map(b) => branch(b, out),
            Node::List(items) => {
                for item in items {
                    match item {
                        ListItem::Value(v) => node(v, out),
                        ListItem::Comment { text, .. } => out.push(text.scalar().clone()),
                    }
                }
            }
            Node::Leaf(_) => {}
        }
    }
    let mut out = Vec::new();
    for b in branches {
        branch(b, &mut out);
    }
    out
}

/// Trees are the same when they hold the same items in the same order, and the same leaves:
/// equal, or two numbers that sops prints, encrypts and hashes as the same text (a float
/// `1500` is written `1500` as go-yaml and Go's JSON write it, and reads back as an int;
/// an edit keeps the float's ciphertext, see `store::yaml::scalar::go_yaml_float`).
pub fn same_trees<L: Leaf>(a: &[Branch<L>], b: &[Branch<L>]) -> bool {
    same_trees_with(a, b, true)
}

/// [`same_trees`], where comments must have the same text when `exact_comments`, else the
/// same text but for its whitespace (INI comments: go-ini trims each line and puts one space
/// after a later line's marker).
fn same_trees_with<L: Leaf>(a: &[Branch<L>], b: &[Branch<L>], exact_comments: bool) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(a, b)| same_branch(a, b, exact_comments))
}

fn same_comment<L: Leaf>(a: &L, b: &L, exact: bool) -> bool {
    let squeeze = |l: &L| -> String {
        let text = l.scalar().to_text();
        text.chars().filter(|c| !c.is_whitespace()).collect()
    };
    if exact {
        a.scalar() == b.scalar()
    } else {
        squeeze(a) == squeeze(b)
    }
}

fn same_branch<L: Leaf>(a: &Branch<L>, b: &Branch<L>, exact: bool) -> bool {
    a.items.len() == b.items.len()
        && a.items.iter().zip(&b.items).all(|pair| match pair {
            (Item::Entry { key: k, value: v }, Item::Entry { key: k2, value: v2 }) => {
                k == k2 && same_node(v, v2, exact)
            }
            (
                Item::Comment { text, inline },
                Item::Comment {
                    text: t2,
                    inline: i2,
                },
            ) => inline == i2 && same_comment(text, t2, exact),
            (Item::Blank, Item::Blank) => true,
            _ => false,
        })
}

fn same_node<L: Leaf>(a: &Node<L>, b: &Node<L>, exact: bool) -> bool {
    match (a, b) {
        (Node::Map(a), Node::Map(b)) => same_branch(a, b, exact),
        (Node::List(a), Node::List(b)) => {
            a.len() == b.len()
                && a.iter().zip(b).all(|pair| match pair {
                    (ListItem::Value(v), ListItem::Value(v2)) => same_node(v, v2, exact),
                    (
                        ListItem::Comment { text, inline },
                        ListItem::Comment {
                            text: t2,
                            inline: i2,
                        },
                    ) => inline == i2 && same_comment(text, t2, exact),
                    _ => false,
                })
        }
        (Node::Leaf(a), Node::Leaf(b)) => same_leaf(a.scalar(), b.scalar()),
        _ => false,
    }
}

fn same_leaf(a: &Scalar, b: &Scalar) -> bool {
    match (a, b) {
        (Scalar::Float(f), Scalar::Int(_)) | (Scalar::Int(_), Scalar::Float(f)) => {
            f.fract() == 0.0 && a.to_bytes() == b.to_bytes()
        }
        (Scalar::Float(x), Scalar::Float(y)) => {
            x.to_bits() == y.to_bits() || x.is_nan() && y.is_nan()
        }
        _ => a == b,
    }
}

/// Where two lists of trees first differ, for a failure message (fuzz inputs are not
/// secrets, so values are shown).
pub fn first_difference<L: Leaf>(a: &[Branch<L>], b: &[Branch<L>]) -> String {
    let (a, b) = (dump(a), dump(b));
    let at = a.iter().zip(&b).position(|(x, y)| x != y);
    let at = at.unwrap_or(a.len().min(b.len()));
    let none = "(nothing)".to_string();
    format!(
        "item {at}: {} became {}",
        a.get(at).unwrap_or(&none),
        b.get(at).unwrap_or(&none)
    )
}

/// One line per item of the trees: its path and what it is.
pub fn dump<L: Leaf>(branches: &[Branch<L>]) -> Vec<String> {
    fn leaf<L: Leaf>(l: &L) -> String {
        let s = l.scalar();
        format!("{}({:?})", s.type_name(), s.to_text().as_str())
    }
    fn branch<L: Leaf>(b: &Branch<L>, path: &str, out: &mut Vec<String>) {
        for item in &b.items {
            match item {
                Item::Entry { key, value } => node(value, &format!("{path}/{key:?}"), out),
                Item::Comment { text, inline } => {
                    out.push(format!("{path}: comment {} inline {inline}", leaf(text)))
                }
                Item::Blank => out.push(format!("{path}: blank")),
            }
        }
    }
    fn node<L: Leaf>(n: &Node<L>, path: &str, out: &mut Vec<String>) {
        match n {
            Node::Map(b) => {
                out.push(format!("{path}: map"));
                branch(b, path, out);
            }
            Node::List(items) => {
                out.push(format!("{path}: list"));
                for (i, item) in items.iter().enumerate() {
                    match item {
                        ListItem::Value(v) => node(v, &format!("{path}[{i}]"), out),
                        ListItem::Comment { text, inline } => out.push(format!(
                            "{path}[{i}]: comment {} inline {inline}",
                            leaf(text)
                        )),
                    }
                }
            }
            Node::Leaf(l) => out.push(format!("{path}: {}", leaf(l))),
        }
    }
    let mut out = Vec::new();
    for (i, b) in branches.iter().enumerate() {
        out.push(format!("document {i}"));
        branch(b, "", &mut out);
    }
    out
}

/// An encrypted file of any format (metadata, `ENC[...]` values, the flattened metadata of
/// dotenv and INI) loads or fails with an error, never a panic; where it loads, the sealed
/// tree emits as sops would write it and reads back the same (what `set`, `updatekeys` and
/// `rotate` do to every file).
pub fn parse_encrypted(data: &[u8]) {
    for format in [
        Format::Yaml,
        Format::Json,
        Format::Dotenv,
        Format::Ini,
        Format::Binary,
    ] {
        let Ok(file) = EncryptedFile::parse(Path::new("fuzz"), format, data) else {
            continue;
        };
        let store_format = if format == Format::Binary {
            Format::Json
        } else {
            format
        };
        let md = file.metadata.to_tree();
        let Ok(emitted) =
            store::emit_encrypted_with_metadata(store_format, &file.branches, &md, file.layout)
        else {
            continue;
        };
        let text = emitted.as_str();
        let again = match EncryptedFile::parse(Path::new("fuzz"), format, text.as_bytes()) {
            Ok(again) => again,
            Err(e) => panic!("{format:?}: the emitted file does not load: {e}\n{text:?}"),
        };
        assert!(
            same_after_write(format, &file.branches, &again.branches)
                && same_metadata(&again.metadata, &file.metadata),
            "{format:?}: load, save, load changed the file at {}\nemitted: {text:?}",
            first_difference(&file.branches, &again.branches)
        );
        if format == Format::Ini {
            // The emitter respaces comments: the text settles after one more save.
            let save = |file: &EncryptedFile| {
                let md = file.metadata.to_tree();
                store::emit_encrypted_with_metadata(format, &file.branches, &md, file.layout)
                    .expect("what was saved once saves again")
            };
            let second = save(&again);
            let third = EncryptedFile::parse(Path::new("fuzz"), format, second.as_bytes())
                .expect("a second save loads");
            assert_eq!(
                save(&third).as_str(),
                second.as_str(),
                "{format:?}: the text changes with every save"
            );
        }
    }
}

/// `.secrets.yaml` and `.sops.yaml` text validates or fails with an error naming its line;
/// a valid `.secrets.yaml` stays valid when the member and env commands write it back.
pub fn parse_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = crate::config::sops::to_raw(text);
    let path = Path::new("/fuzz/.secrets.yaml");
    if Config::from_text(path, text).is_err() {
        return;
    }
    let (docs, layout) = store::yaml::parse::<Sealed>(text).expect("a valid config is YAML");
    let doc = docs.into_iter().next().unwrap_or_default();
    if let Ok(out) = store::yaml::emit(std::slice::from_ref(&doc), layout) {
        if let Err(e) = Config::from_text(path, &out) {
            panic!(
                "the config written back is invalid: {e}\n{:?}",
                out.as_str()
            );
        }
    }
}

/// The `sops` metadata block, read from YAML text (a whole document, or its `sops` entry):
/// reading never panics, and what reads writes back the same, nested and in the flattened
/// form of dotenv and INI files.
pub fn parse_metadata(data: &[u8]) {
    let Ok((docs, _)) = store::parse_bytes::<Sealed>(Format::Yaml, data) else {
        return;
    };
    for doc in &docs {
        let md = match doc.get(store::SOPS_KEY) {
            Some(Node::Map(md)) => md,
            _ => doc,
        };
        let _ = flat::unflatten(md, true, limits::FLAT);
        let _ = flat::unflatten(md, false, limits::FLAT);
        let Ok(meta) = Metadata::from_tree(md) else {
            continue;
        };
        let tree = meta.to_tree();
        assert_eq!(
            Metadata::from_tree(&tree).as_ref(),
            Ok(&meta),
            "metadata changed when written and read back"
        );
        // dotenv's flattened form escapes a newline as `\n` and, as in sops, nothing else:
        // a value that holds a backslash is ambiguous there (no real metadata holds one).
        let backslash = holds_backslash(&Node::Map(tree.clone()));
        // Nor has an empty list or map inside a kept key-service entry (`kms: {x: []}`) a
        // flattened form: it has no keys to flatten to, in sops as here.
        if holds_empty_container(&Node::Map(meta.foreign.clone())) {
            continue;
        }
        for escape in [true, false] {
            if escape && backslash {
                continue;
            }
            let unflat = flat::unflatten(&flat::flatten(&tree, escape), escape, limits::FLAT)
                .expect("metadata we wrote is within the limits");
            assert_eq!(
                Metadata::from_tree(&unflat).as_ref(),
                Ok(&meta),
                "metadata changed through its flattened form (escape {escape})"
            );
        }
    }
}

/// Whether an empty list or map is anywhere below the top of the tree.
fn holds_empty_container<L: Leaf>(node: &Node<L>) -> bool {
    let empty = |n: &Node<L>| match n {
        Node::Map(b) => b.entries().next().is_none(),
        Node::List(items) => !items.iter().any(|i| matches!(i, ListItem::Value(_))),
        Node::Leaf(_) => false,
    };
    match node {
        Node::Map(b) => b
            .entries()
            .any(|(_, v)| empty(v) || holds_empty_container(v)),
        Node::List(items) => items.iter().any(|i| match i {
            ListItem::Value(v) => empty(v) || holds_empty_container(v),
            ListItem::Comment { .. } => false,
        }),
        Node::Leaf(_) => false,
    }
}

/// Whether any value of the tree holds a backslash.
fn holds_backslash<L: Leaf>(node: &Node<L>) -> bool {
    match node {
        Node::Map(b) => b.entries().any(|(_, v)| holds_backslash(v)),
        Node::List(items) => items.iter().any(|i| match i {
            ListItem::Value(v) => holds_backslash(v),
            ListItem::Comment { .. } => false,
        }),
        Node::Leaf(l) => l.scalar().to_text().contains('\\'),
    }
}

/// `ENC[AES256_GCM,...]` text parses or fails, and decrypts or fails, never panics. Then the
/// input read as a value (its first byte picks the type, the rest is the value and its key
/// path) encrypts to text that [`value::is_encrypted`] recognises and decrypts to the same
/// value under the same path, and to nothing under another path.
pub fn enc_value(data: &[u8]) {
    static KEY: OnceLock<DataKey> = OnceLock::new();
    let key = KEY.get_or_init(|| DataKey::from_slice(&[7; 32]).expect("32 bytes"));
    let cipher = ValueCipher::new(key);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = value::is_encrypted(text);
        let _ = value::parse(text);
        let _ = cipher.decrypt(text, "a:");
    }
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let (aad, plain) = rest.split_at(rest.len().min(usize::from(kind >> 4)));
    let Ok(aad) = std::str::from_utf8(aad) else {
        return;
    };
    let scalar = match kind % 8 {
        0 => match std::str::from_utf8(plain) {
            Ok(s) => Scalar::Str(s.to_string()),
            Err(_) => Scalar::RawStr(plain.to_vec()),
        },
        1 => Scalar::Bytes(plain.to_vec()),
        2 => Scalar::Int(i64::from_le_bytes(padded(plain))),
        3 => Scalar::Float(f64::from_le_bytes(padded(plain))),
        4 => Scalar::Bool(plain.first().is_some_and(|b| b & 1 == 1)),
        5 => Scalar::Comment(String::from_utf8_lossy(plain).into_owned()),
        6 => Scalar::Time(String::from_utf8_lossy(plain).into_owned()),
        _ => Scalar::Str(String::from_utf8_lossy(plain).into_owned()),
    };
    let iv = [kind; IV_LEN];
    let text = cipher.encrypt(&scalar, aad, &iv);
    assert!(value::is_encrypted(&text), "not recognised: {text}");
    let (back, back_iv) = match cipher.decrypt(&text, aad) {
        Ok(v) => v,
        Err(e) => panic!("a value we encrypted does not decrypt: {e}"),
    };
    assert_eq!(back_iv, iv);
    let same = match (&scalar, &back) {
        // Floats travel as Go's shortest text: NaN stays NaN, every other value is exact.
        (Scalar::Float(a), Scalar::Float(b)) => {
            a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan()
        }
        (a, b) => a == b,
    };
    assert!(
        same,
        "{} value changed through encryption",
        scalar.type_name()
    );
    let other = format!("{aad}x");
    assert!(
        cipher.decrypt(&text, &other).is_err(),
        "a value decrypted under another key path"
    );
}

fn padded(bytes: &[u8]) -> [u8; 8] {
    let mut out = [0u8; 8];
    let n = bytes.len().min(8);
    out[..n].copy_from_slice(&bytes[..n]);
    out
}

/// Key paths as users type them parse or fail, never panic.
pub fn key_path(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = KeyPath::parse(text);
    }
}

/// The scanner on one buffer of arbitrary bytes, as a text file and as program source, with
/// known values: no panic, candidates in order and within the buffer, and every finding's
/// line and column inside the buffer.
pub fn scan(data: &[u8]) {
    static SCANNER: OnceLock<Scanner> = OnceLock::new();
    let scanner = SCANNER.get_or_init(|| {
        let known = ["hunter2-fuzz-known", "s3cr3t-v4lue-0123"]
            .iter()
            .map(|v| KnownValue {
                value: zeroize::Zeroizing::new(v.to_string()),
                origin: "fuzz.yaml:key".into(),
            })
            .collect::<Vec<_>>();
        Scanner::new(Options {
            known: Some(KnownValues::new(&known)),
            ..Options::default()
        })
    });
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(memchr::memchr_iter(b'\n', data).map(|p| p + 1))
        .collect();
    for (path, code) in [("fuzz.txt", false), ("fuzz.rs", true)] {
        let cands = scanner.rules().find(data, code);
        let mut last = 0;
        for c in &cands {
            assert!(
                c.start <= c.end && c.end <= data.len(),
                "{}: candidate {}..{} outside {} bytes",
                c.rule,
                c.start,
                c.end,
                data.len()
            );
            assert!(c.start >= last, "{}: candidates out of order", c.rule);
            last = c.start;
        }
        for f in scanner.scan_file(path, data, None) {
            assert!(
                f.line >= 1 && f.line <= line_starts.len(),
                "{}: line {} of {}",
                f.rule,
                f.line,
                line_starts.len()
            );
            let start = line_starts[f.line - 1];
            let end = line_starts.get(f.line).map_or(data.len(), |n| n - 1);
            assert!(
                f.column >= 1 && start + f.column - 1 <= end,
                "{}: column {} past the end of line {} ({} bytes)",
                f.rule,
                f.column,
                f.line,
                end - start
            );
            assert!(f.column_utf16 >= 1 && f.column_utf16 <= f.column);
        }
    }
}

/// Errors are one line (the CLI prints them after the file name).
fn one_line(format: Format, e: &StoreError) {
    let msg = e.to_string();
    assert!(
        !msg.contains('\n'),
        "{format:?}: error on several lines: {msg:?}"
    );
}
