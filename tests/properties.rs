//! Properties over generated documents, through the library API:
//! - every store emits what it parses back to the same tree (YAML, JSON, dotenv, INI);
//! - encryption round-trips, and re-encrypting unchanged values gives identical bytes while
//!   a changed value gets a fresh IV and nothing else changes;
//! - no parser panics on arbitrary bytes.

use std::path::Path;

use age::secrecy::ExposeSecret;
use proptest::prelude::*;
use secrets::engine::EncryptedFile;
use secrets::keys::identity::{Identities, Sources};
use secrets::keys::recipient::Recipient;
use secrets::metadata::Rules;
use secrets::model::{Branch, Item, ListItem, Node, Plain, Scalar};
use secrets::store::{self, Format, Layout};

fn key() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,8}"
}

/// Strings with the characters that make quoting hard: quotes, colons, hashes, newlines,
/// leading spaces and dashes, backslashes, non-ASCII.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,24}",
        "[a-z]{1,6}(: |#| #|\\n|\\t|\"|'|\\\\)[a-z ]{0,6}",
        "(- |-|\\?|&|\\*|!|%|@|`|\\{|\\[)[a-z]{0,6}",
        "\\PC{0,12}",
        Just("yes".to_string()),
        Just("null".to_string()),
        Just("0x1F".to_string()),
        Just("1e3".to_string()),
        Just("2001-12-14".to_string()),
    ]
}

fn scalar() -> impl Strategy<Value = Scalar> {
    prop_oneof![
        4 => text().prop_map(Scalar::Str),
        1 => any::<i64>().prop_map(Scalar::Int),
        1 => any::<bool>().prop_map(Scalar::Bool),
        1 => (-1.0e9f64..1.0e9).prop_map(Scalar::Float),
    ]
}

fn leaf() -> impl Strategy<Value = Node<Plain>> {
    scalar().prop_map(|s| Node::Leaf(Plain::new(s)))
}

fn unique_entries(entries: Vec<(String, Node<Plain>)>) -> Branch<Plain> {
    let mut b = Branch::new();
    for (k, v) in entries {
        if b.get(&k).is_none() {
            b.items.push(Item::Entry { key: k, value: v });
        }
    }
    b
}

/// Nested maps and lists of typed scalars (the shape YAML and JSON share).
fn tree() -> impl Strategy<Value = Branch<Plain>> {
    let node = leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec((key(), inner.clone()), 1..4)
                .prop_map(|e| Node::Map(unique_entries(e))),
            prop::collection::vec(inner, 1..4)
                .prop_map(|v| Node::List(v.into_iter().map(ListItem::Value).collect())),
        ]
    });
    prop::collection::vec((key(), node), 1..6).prop_map(unique_entries)
}

/// Flat string maps, for dotenv and INI sections.
fn flat(key: &'static str, value: &'static str) -> impl Strategy<Value = Branch<Plain>> {
    prop::collection::vec((key, value), 1..6).prop_map(|e| {
        unique_entries(
            e.into_iter()
                .map(|(k, v)| (k, Node::Leaf(Plain::new(Scalar::Str(v)))))
                .collect(),
        )
    })
}

fn round_trip(format: Format, doc: &Branch<Plain>) -> Result<(), TestCaseError> {
    let text = store::emit(
        format,
        std::slice::from_ref(doc),
        Layout::default_for(format),
    )
    .map_err(|e| TestCaseError::fail(format!("emit: {e}")))?;
    let (back, _) = store::parse::<Plain>(format, &text)
        .map_err(|e| TestCaseError::fail(format!("parse: {e}\n{}", text.as_str())))?;
    prop_assert_eq!(back.len(), 1);
    prop_assert!(
        back[0] == *doc,
        "{:?} changed through:\n{}",
        format,
        text.as_str()
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn yaml_round_trips(doc in tree()) {
        round_trip(Format::Yaml, &doc)?;
    }

    #[test]
    fn json_round_trips(doc in tree()) {
        round_trip(Format::Json, &doc)?;
    }

    /// A dotenv tree holds stored texts (the line after `=`): any value, stored as `set`
    /// stores it, reads back the same and still means that value.
    #[test]
    fn dotenv_round_trips(doc in flat("[A-Z][A-Z0-9_]{0,8}", "[ -~]{0,20}")) {
        let mut doc = doc;
        let mut values = Vec::new();
        for item in &mut doc.items {
            if let Item::Entry { value: Node::Leaf(l), .. } = item {
                let v = l.scalar().to_text().to_string();
                *l = Plain::new(Scalar::Str(store::dotenv::text_for(&v).to_string()));
                values.push(v);
            }
        }
        round_trip(Format::Dotenv, &doc)?;
        let stored = doc.entries().map(|(_, n)| match n {
            Node::Leaf(l) => store::dotenv::value_of(&l.scalar().to_text()).unwrap().to_string(),
            _ => unreachable!(),
        });
        prop_assert_eq!(stored.collect::<Vec<_>>(), values);
    }

    #[test]
    fn ini_round_trips(section in flat("[a-z][a-z0-9_]{0,8}", "[!-~]([ -~]{0,18}[!-~])?")) {
        let mut doc = Branch::new();
        doc.items.push(Item::Entry { key: "main".into(), value: Node::Map(section) });
        round_trip(Format::Ini, &doc)?;
    }

    #[test]
    fn parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        for format in [Format::Yaml, Format::Json, Format::Dotenv, Format::Ini, Format::Binary] {
            let _ = store::parse_bytes::<Plain>(format, &bytes);
            let _ = EncryptedFile::parse(Path::new("fuzz"), format, &bytes);
        }
    }

    #[test]
    fn yaml_like_text_never_panics(text in "([a-z]{0,4}(: |:|- |-|\\[|\\]|\\{|\\}|#|&a|\\*a|!!str |\\||>|'|\"|\\n|  |---\\n)){0,30}") {
        let _ = store::parse::<Plain>(Format::Yaml, &text);
    }
}

struct Keys {
    ids: Identities,
    recipient: Recipient,
}

fn keys() -> Keys {
    let id = age::x25519::Identity::generate();
    let recipient = id.to_public().to_string().parse().unwrap();
    let ids = Identities::load(&Sources {
        inline: Some(id.to_string().expose_secret().into()),
        ..Sources::default()
    })
    .unwrap();
    Keys { ids, recipient }
}

/// The `ENC[...]` strings of a file's text, in order, without the metadata block.
fn values(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let body = text.split("\nsops:").next().unwrap_or_default();
    body.lines()
        .filter_map(|l| l.find("ENC[").map(|i| l[i..].to_string()))
        .collect()
}

fn iv_of(enc: &str) -> &str {
    enc.split(",iv:").nth(1).unwrap().split(',').next().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn stable_ciphertext_and_fresh_iv_on_change(
        rest in tree(),
        first in text().prop_filter("sops leaves empty values in clear", |t| !t.is_empty()),
        new_value in text().prop_filter("non-empty", |t| !t.is_empty()),
    ) {
        prop_assume!(first != new_value);
        // The value that changes comes first ("first-key" cannot collide with generated keys).
        let mut doc = rest;
        doc.items.insert(0, Item::Entry {
            key: "first-key".into(),
            value: Node::Leaf(Plain::new(Scalar::Str(first))),
        });
        let k = keys();
        let path = Path::new("doc.yaml");
        let layout = Layout::default_for(Format::Yaml);
        let file = EncryptedFile::create(
            path, Format::Yaml, layout, std::slice::from_ref(&doc),
            std::slice::from_ref(&k.recipient), Rules::default(),
        ).unwrap();
        let before = file.to_bytes().unwrap();

        // Decrypts to what went in.
        let reread = EncryptedFile::parse(path, Format::Yaml, &before).unwrap();
        let opened = reread.decrypt(&k.ids).unwrap();
        prop_assert!(opened.branches[0] == doc);

        // Unchanged values: byte-identical file (same IVs, same lastmodified and MAC).
        let key = reread.data_key(&k.ids).unwrap();
        let mut again = reread;
        again.reseal(&opened.branches, &key, &opened.stash).unwrap();
        prop_assert_eq!(again.to_bytes().unwrap(), before.clone());

        // Change the first value: only it gets a new ciphertext, with a fresh IV.
        let mut changed = opened.branches.clone();
        changed[0].items[0] = Item::Entry {
            key: "first-key".into(),
            value: Node::Leaf(Plain::new(Scalar::Str(new_value))),
        };
        again.reseal(&changed, &key, &opened.stash).unwrap();
        let after = again.to_bytes().unwrap();
        let (old_values, new_values) = (values(&before), values(&after));
        prop_assert_eq!(old_values.len(), new_values.len());
        prop_assert_ne!(iv_of(&old_values[0]), iv_of(&new_values[0]));
        prop_assert_eq!(&old_values[1..], &new_values[1..]);
        let back = EncryptedFile::parse(path, Format::Yaml, &after).unwrap().decrypt(&k.ids).unwrap();
        prop_assert!(back.branches == changed);
    }
}

#[test]
fn fresh_encryptions_of_one_value_never_share_an_iv() {
    let k = keys();
    let mut doc = Branch::new();
    doc.items.push(Item::Entry {
        key: "password".into(),
        value: Node::Leaf(Plain::new(Scalar::Str("same".into()))),
    });
    let mut ivs = std::collections::HashSet::new();
    for _ in 0..50 {
        let f = EncryptedFile::create(
            Path::new("a.yaml"),
            Format::Yaml,
            Layout::default_for(Format::Yaml),
            std::slice::from_ref(&doc),
            std::slice::from_ref(&k.recipient),
            Rules::default(),
        )
        .unwrap();
        let v = values(&f.to_bytes().unwrap());
        assert!(ivs.insert(iv_of(&v[0]).to_string()));
    }
}
