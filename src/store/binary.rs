//! The binary store: any file encrypted as one value.
//!
//! Like sops, a plaintext file becomes a tree with a single `data` entry holding the whole
//! file, and the encrypted file is JSON (`{"data": "ENC[...]", "sops": {...}}`), read and
//! written by the JSON store. This module covers only the plaintext side. sops takes the
//! bytes as a Go string whatever they are and encrypts them as `type:str`; we do the same,
//! holding bytes that are not UTF-8 as `Scalar::RawStr` so nothing is lost and sops can still
//! decrypt the file (it refuses a binary file whose `data` is not a string).

use crate::model::tree::Leaf;
use crate::model::{Branch, Item, Node, Scalar};

/// The single key sops uses for a binary file's content.
pub const DATA_KEY: &str = "data";

/// Wraps a plaintext file's bytes as `{ data: <whole file> }`.
pub fn parse<L: Leaf>(bytes: &[u8]) -> Branch<L> {
    let scalar = match std::str::from_utf8(bytes) {
        Ok(text) => Scalar::Str(text.to_string()),
        Err(_) => Scalar::RawStr(bytes.to_vec()),
    };
    Branch {
        items: vec![Item::Entry {
            key: DATA_KEY.to_string(),
            value: Node::Leaf(L::from_scalar(scalar)),
        }],
    }
}

/// The original file bytes of a decrypted binary tree: its `data` entry, when that is a
/// string (UTF-8 or not) or bytes; `None` for any other shape, which sops refuses too.
pub fn plain_bytes<L: Leaf>(branch: &Branch<L>) -> Option<Vec<u8>> {
    match branch.get(DATA_KEY)? {
        Node::Leaf(l) => match l.scalar() {
            Scalar::Str(s) => Some(s.as_bytes().to_vec()),
            Scalar::Bytes(b) | Scalar::RawStr(b) => Some(b.clone()),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Sealed;
    use crate::store::{json, Layout};
    use proptest::prelude::*;

    #[test]
    fn utf8_is_a_string_and_other_bytes_a_raw_string() {
        let t = parse::<Sealed>(b"hello\n");
        assert!(
            matches!(t.get("data"), Some(Node::Leaf(Sealed(Scalar::Str(s)))) if s == "hello\n")
        );
        let raw = [0xff, 0x00, 0xfe, b'\n'];
        let t = parse::<Sealed>(&raw);
        assert!(matches!(
            t.get("data"),
            Some(Node::Leaf(Sealed(Scalar::RawStr(_))))
        ));
        assert_eq!(plain_bytes(&t).unwrap(), raw);
    }

    #[test]
    fn other_shapes_give_none() {
        assert_eq!(plain_bytes::<Sealed>(&Branch::new()), None);
        let mut t = Branch::new();
        t.insert("data".into(), Node::Leaf(Sealed(Scalar::Int(1))));
        assert_eq!(plain_bytes(&t), None);
        t.insert("data".into(), Node::Map(Branch::new()));
        assert_eq!(plain_bytes(&t), None);
    }

    #[test]
    fn sops_3_11_binary_fixture_round_trips() {
        let text = include_str!("../../testdata/sops-fixtures/blob.enc.bin");
        let (branches, layout) = json::parse::<Sealed>(text).unwrap();
        assert!(plain_bytes(&branches[0])
            .unwrap()
            .starts_with(b"ENC[AES256_GCM,"));
        assert_eq!(json::emit(&branches[0], layout).unwrap().as_str(), text);
    }

    #[test]
    #[ignore = "needs ../shared/sops-fixtures (files of sops 3.7-3.9); .ci/run runs it when present"]
    fn sops_binary_fixture_is_json_with_a_data_key() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/sops-fixtures/example.txt"
        );
        let text =
            std::fs::read_to_string(path).expect("../shared/sops-fixtures (older sops files)");
        let (branches, layout) = json::parse::<Sealed>(&text).unwrap();
        let data = plain_bytes(&branches[0]).unwrap();
        assert!(data.starts_with(b"ENC[AES256_GCM,"));
        assert_eq!(
            json::parse::<Sealed>(&json::emit(&branches[0], layout).unwrap())
                .unwrap()
                .0,
            branches
        );
    }

    #[test]
    fn empty_file_round_trips() {
        let t = parse::<Sealed>(b"");
        assert_eq!(plain_bytes(&t).unwrap(), b"");
        let out = json::emit(&t, Layout { indent: 4 }).unwrap();
        assert_eq!(out, "{\n    \"data\": \"\"\n}\n");
    }

    proptest! {
        #[test]
        fn any_bytes_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let t = parse::<Sealed>(&bytes);
            prop_assert_eq!(plain_bytes(&t).unwrap(), bytes);
        }
    }
}
