//! The `sops` metadata block: wrapped data keys per age recipient, `lastmodified`, the
//! encrypted `mac`, the encryption rules and the version.
//!
//! Every sops layout is read (≤3.9 writes empty key lists, 3.10–3.12 omits them, 3.13+
//! sorts keys); we write the 3.13 layout: keys in alphabetical order, empty lists omitted.

pub mod flat;

use crate::model::{Branch, Item, ListItem, Node, Scalar, Sealed};

/// The sops version we write: our output follows the layout of this release.
pub const SOPS_COMPAT_VERSION: &str = "3.13.2";

/// One age recipient and the data key wrapped for it (an armored age file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgeStanza {
    pub recipient: String,
    pub enc: String,
}

/// Which values are encrypted; at most one of the four key selectors is set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    pub unencrypted_suffix: Option<String>,
    pub encrypted_suffix: Option<String>,
    pub unencrypted_regex: Option<String>,
    pub encrypted_regex: Option<String>,
    pub unencrypted_comment_regex: Option<String>,
    pub encrypted_comment_regex: Option<String>,
    pub mac_only_encrypted: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Metadata {
    pub age: Vec<AgeStanza>,
    pub last_modified: String,
    pub mac: String,
    pub rules: Rules,
    pub version: String,
    /// Key-service entries we cannot use (pgp, kms…), kept so a rewrite does not drop them.
    pub foreign: Branch<Sealed>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MetadataError {
    #[error("sops metadata has no `{0}` field")]
    Missing(&'static str),
    #[error("sops metadata field `{0}` is malformed")]
    Malformed(String),
    #[error(
        "the file uses sops key groups (Shamir secret sharing), which this tool does not support"
    )]
    KeyGroups,
}

const FOREIGN_KEYS: &[&str] = &["kms", "gcp_kms", "azure_kv", "hc_vault", "hckms", "pgp"];

fn text(node: &Node<Sealed>, field: &str) -> Result<String, MetadataError> {
    match node {
        Node::Leaf(Sealed(s)) => Ok(s.to_text().to_string()),
        _ => Err(MetadataError::Malformed(field.into())),
    }
}

fn is_empty_list(node: &Node<Sealed>) -> bool {
    match node {
        Node::List(items) => items.iter().all(|i| matches!(i, ListItem::Comment { .. })),
        Node::Leaf(Sealed(Scalar::Null)) => true,
        _ => false,
    }
}

impl Metadata {
    /// Reads metadata from its nested tree form.
    pub fn from_tree(md: &Branch<Sealed>) -> Result<Metadata, MetadataError> {
        let mut meta = Metadata {
            age: Vec::new(),
            last_modified: String::new(),
            mac: String::new(),
            rules: Rules::default(),
            version: String::new(),
            foreign: Branch::new(),
        };
        let mut seen_mac = false;
        for (key, value) in md.entries() {
            let opt = || text(value, key).map(|s| Some(s).filter(|s| !s.is_empty()));
            match key {
                "age" => meta.age = parse_age(value)?,
                "lastmodified" => meta.last_modified = text(value, key)?,
                "mac" => {
                    meta.mac = text(value, key)?;
                    seen_mac = true;
                }
                "version" => meta.version = text(value, key)?,
                "unencrypted_suffix" => meta.rules.unencrypted_suffix = opt()?,
                "encrypted_suffix" => meta.rules.encrypted_suffix = opt()?,
                "unencrypted_regex" => meta.rules.unencrypted_regex = opt()?,
                "encrypted_regex" => meta.rules.encrypted_regex = opt()?,
                "unencrypted_comment_regex" => meta.rules.unencrypted_comment_regex = opt()?,
                "encrypted_comment_regex" => meta.rules.encrypted_comment_regex = opt()?,
                "mac_only_encrypted" => {
                    meta.rules.mac_only_encrypted =
                        matches!(value, Node::Leaf(Sealed(Scalar::Bool(true))))
                            || text(value, key)?.eq_ignore_ascii_case("true")
                }
                "key_groups" if !is_empty_list(value) => return Err(MetadataError::KeyGroups),
                "shamir_threshold" | "key_groups" => {}
                k if FOREIGN_KEYS.contains(&k) && !is_empty_list(value) => {
                    // Without comments, as sops reads metadata (into Go structs): a comment
                    // alone in an entry's map was written back as the entry.
                    let mut value = value.clone();
                    value.strip_comments();
                    meta.foreign.insert(k.to_string(), value);
                }
                _ => {}
            }
        }
        // In the order `to_tree` writes them (sorted), so metadata read back is equal.
        meta.foreign.items.sort_by(|a, b| match (a, b) {
            (Item::Entry { key: a, .. }, Item::Entry { key: b, .. }) => a.cmp(b),
            _ => std::cmp::Ordering::Equal,
        });
        if meta.last_modified.is_empty() {
            return Err(MetadataError::Missing("lastmodified"));
        }
        if !seen_mac {
            return Err(MetadataError::Missing("mac"));
        }
        Ok(meta)
    }

    /// Writes metadata in the sops 3.13 layout (keys sorted, empty fields omitted).
    pub fn to_tree(&self) -> Branch<Sealed> {
        let str_leaf = |s: &str| Node::Leaf(Sealed(Scalar::Str(s.to_string())));
        let mut fields: Vec<(String, Node<Sealed>)> = Vec::new();
        if !self.age.is_empty() {
            let list = self
                .age
                .iter()
                .map(|s| {
                    let mut b = Branch::new();
                    b.insert("recipient".into(), str_leaf(&s.recipient));
                    b.insert("enc".into(), str_leaf(&s.enc));
                    ListItem::Value(Node::Map(b))
                })
                .collect();
            fields.push(("age".into(), Node::List(list)));
        }
        fields.push(("lastmodified".into(), str_leaf(&self.last_modified)));
        fields.push(("mac".into(), str_leaf(&self.mac)));
        let r = &self.rules;
        for (name, value) in [
            ("unencrypted_suffix", &r.unencrypted_suffix),
            ("encrypted_suffix", &r.encrypted_suffix),
            ("unencrypted_regex", &r.unencrypted_regex),
            ("encrypted_regex", &r.encrypted_regex),
            ("unencrypted_comment_regex", &r.unencrypted_comment_regex),
            ("encrypted_comment_regex", &r.encrypted_comment_regex),
        ] {
            if let Some(v) = value {
                fields.push((name.into(), str_leaf(v)));
            }
        }
        if r.mac_only_encrypted {
            fields.push((
                "mac_only_encrypted".into(),
                Node::Leaf(Sealed(Scalar::Bool(true))),
            ));
        }
        fields.push(("version".into(), str_leaf(&self.version)));
        for (k, v) in self.foreign.entries() {
            fields.push((k.to_string(), v.clone()));
        }
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = Branch::new();
        for (k, v) in fields {
            out.insert(k, v);
        }
        out
    }

    /// The recipients the data key is wrapped for, in file order.
    pub fn recipients(&self) -> Vec<&str> {
        self.age.iter().map(|s| s.recipient.as_str()).collect()
    }
}

fn parse_age(value: &Node<Sealed>) -> Result<Vec<AgeStanza>, MetadataError> {
    let items = match value {
        Node::List(items) => items,
        Node::Leaf(Sealed(Scalar::Null)) => return Ok(Vec::new()),
        _ => return Err(MetadataError::Malformed("age".into())),
    };
    let mut out = Vec::new();
    for item in items {
        let ListItem::Value(Node::Map(b)) = item else {
            continue;
        };
        let field = |name: &str| b.get(name).map(|n| text(n, "age")).transpose();
        let recipient =
            field("recipient")?.ok_or(MetadataError::Malformed("age.recipient".into()))?;
        let enc = field("enc")?.ok_or(MetadataError::Malformed("age.enc".into()))?;
        out.push(AgeStanza { recipient, enc });
    }
    Ok(out)
}
