//! The `sops` metadata block: the data key wrapped once per master key (age recipients,
//! Vault transit, AWS KMS and PGP keys), `lastmodified`, the encrypted `mac`, the encryption rules and the
//! version.
//!
//! Master keys are held as a [`KeyGroup`]: one list per key type, as sops holds them.
//! Without `key_groups` sops writes its single group flat, at the top of the block
//! (`age:`, `hc_vault:`, `kms:`, `pgp:`), and that is the layout read and written here.
//! A file with sops `key_groups` (Shamir splitting) holds a list of the same `KeyGroup` and
//! a `shamir_threshold`, read and written back (`keys::wrap_groups` makes them).
//! GCP KMS and Azure Key Vault entries are kept as written (`foreign`).
//!
//! Every sops layout is read (≤3.9 writes empty key lists, 3.10–3.12 omits them, 3.13+
//! sorts keys); we write the 3.13 layout: keys in alphabetical order, empty lists omitted.
//! Inside a stanza the fields keep sops's struct order (`recipient`, `enc`;
//! `vault_address`, `engine_path`, `key_name`, `created_at`, `enc`; `arn`, `role`,
//! `context`, `created_at`, `enc`, `aws_profile`; `created_at`, `enc`, `fp`), as sops 3.11 writes
//! them, so a file it wrote is written back byte for byte.

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

/// One HashiCorp Vault / OpenBao transit key and the data key it wrapped (an `hc_vault`
/// entry): `enc` is the transit ciphertext (`vault:v1:…`) of the base64 of the data key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaultStanza {
    /// The server, scheme and port, no path (`https://vault.example:8200`).
    pub vault_address: String,
    /// Where the transit engine is mounted (`transit`, `secret/team/transit`).
    pub engine_path: String,
    pub key_name: String,
    /// RFC 3339, UTC, when the data key was wrapped (sops's `created_at`).
    pub created_at: String,
    pub enc: String,
}

impl VaultStanza {
    /// The key as sops names it on its command line: `ADDRESS/v1/ENGINE/keys/NAME`.
    pub fn uri(&self) -> String {
        format!(
            "{}/v1/{}/keys/{}",
            self.vault_address, self.engine_path, self.key_name
        )
    }
}

/// One AWS KMS key and the data key it wrapped (a `kms` entry): `enc` is the base64
/// `CiphertextBlob` of KMS `Encrypt` under `arn` and `context`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KmsStanza {
    /// `arn:aws:kms:REGION:ACCOUNT:key/ID` (or `alias/NAME`).
    pub arn: String,
    /// A role to assume through STS first; empty: none (sops omits it then).
    pub role: String,
    /// The encryption context, sorted by key as sops writes it; empty: none.
    pub context: std::collections::BTreeMap<String, String>,
    /// A profile of the shared AWS files; sops always writes it, empty when unset.
    pub aws_profile: String,
    /// RFC 3339, UTC, when the data key was wrapped.
    pub created_at: String,
    pub enc: String,
}

/// One PGP key and the data key it wrapped (a `pgp` entry): `enc` is the ASCII-armored
/// message gpg made for the fingerprint `fp`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PgpStanza {
    /// RFC 3339, UTC, when the data key was wrapped.
    pub created_at: String,
    pub enc: String,
    /// The key's fingerprint as given to sops (hex, spaces removed).
    pub fp: String,
}

/// The master keys one data key is wrapped for, one list per key type (a sops key group).
/// A reader needs any one of them. More key types are more lists here; Shamir key
/// groups would be a list of these.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeyGroup {
    pub age: Vec<AgeStanza>,
    pub hc_vault: Vec<VaultStanza>,
    pub kms: Vec<KmsStanza>,
    pub pgp: Vec<PgpStanza>,
    /// GCP KMS, Azure Key Vault and HuaweiCloud KMS stanzas of a sops key group, kept as
    /// written: no key here opens them, so the group counts only through its other keys
    /// (the file opens when the other groups reach the threshold), and its share cannot be
    /// wrapped again (a rewrap or rotation of such a file is refused).
    pub foreign: Branch<Sealed>,
}

impl KeyGroup {
    pub fn is_empty(&self) -> bool {
        self.age.is_empty() && !self.has_service_stanzas()
    }

    /// Whether any key-service stanza (Vault transit, AWS KMS, PGP) holds the data key.
    pub fn has_service_stanzas(&self) -> bool {
        !self.hc_vault.is_empty() || !self.kms.is_empty() || !self.pgp.is_empty()
    }
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
    /// The master keys (sops's flat layout: one group, no Shamir splitting); empty in a
    /// file with `key_groups`.
    pub keys: KeyGroup,
    /// sops key groups (`key_groups`): each holds a Shamir share of the data key, and
    /// `shamir_threshold` of them give it back. Empty in the flat layout.
    pub key_groups: Vec<KeyGroup>,
    /// sops's `shamir_threshold`; 0 when absent (sops then needs every group).
    pub shamir_threshold: usize,
    pub last_modified: String,
    pub mac: String,
    pub rules: Rules,
    pub version: String,
    /// Key-service entries we cannot use yet (gcp_kms, azure_kv…), kept so a rewrite does not drop
    /// them.
    pub foreign: Branch<Sealed>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MetadataError {
    #[error("sops metadata has no `{0}` field")]
    Missing(&'static str),
    #[error("sops metadata field `{0}` is malformed")]
    Malformed(String),
    /// A key group holding a key type read only as kept text (gcp_kms, azure_kv…).
    /// Re-wrapping one key of a file with key groups: its groups are wrapped again as a
    /// whole (`EncryptedFile::wrap_for`), never stanza by stanza.
    #[error("the file uses sops key groups (Shamir secret sharing): its keys are re-wrapped group by group (secrets updatekeys / secrets rotate), not one at a time")]
    KeyGroups,
    /// Rotating a file with a stanza this tool cannot wrap a new data key for.
    #[error("the file has a {0} stanza, which this tool cannot wrap a new data key for: rotating would leave it holding the old one (sops rotate can)")]
    CannotRotate(String),
}

const FOREIGN_KEYS: &[&str] = &["gcp_kms", "azure_kv", "hckms"];

/// The order sops 3.11 writes the metadata's fields in (its `metadata` struct's), so that
/// a `set` on a sops file with several key services changes no metadata line but
/// `lastmodified` and `mac`. Fields it does not know go last, by name.
const METADATA_ORDER: &[&str] = &[
    "shamir_threshold",
    "key_groups",
    "kms",
    "gcp_kms",
    "hckms",
    "azure_kv",
    "hc_vault",
    "age",
    "lastmodified",
    "mac",
    "pgp",
    "unencrypted_suffix",
    "encrypted_suffix",
    "unencrypted_regex",
    "encrypted_regex",
    "unencrypted_comment_regex",
    "encrypted_comment_regex",
    "mac_only_encrypted",
    "version",
];

/// The order of a key group's fields (sops's `keygroup` struct).
const GROUP_ORDER: &[&str] = &[
    "pgp", "kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "age",
];

/// Where `key` goes in `order`: its index, else after every known field, by name.
fn sops_rank<'a>(order: &[&str], key: &'a str) -> (usize, &'a str) {
    (
        order.iter().position(|k| *k == key).unwrap_or(order.len()),
        key,
    )
}

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
            keys: KeyGroup::default(),
            key_groups: Vec::new(),
            shamir_threshold: 0,
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
                "age" => meta.keys.age = parse_age(value)?,
                "hc_vault" => meta.keys.hc_vault = parse_vault(value)?,
                "kms" => meta.keys.kms = parse_kms(value)?,
                "pgp" => meta.keys.pgp = parse_pgp(value)?,
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
                "key_groups" => meta.key_groups = parse_groups(value)?,
                "shamir_threshold" => meta.shamir_threshold = parse_threshold(value)?,
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
        if !meta.key_groups.is_empty() && !meta.keys.is_empty() {
            return Err(MetadataError::Malformed(
                "key_groups (beside keys outside any group)".into(),
            ));
        }
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
        let mut fields: Vec<(String, Node<Sealed>)> = Vec::new();
        if self.key_groups.is_empty() {
            fields.extend(group_fields(&self.keys));
        } else {
            let groups = self
                .key_groups
                .iter()
                .map(|g| {
                    let mut f = group_fields(g);
                    f.extend(g.foreign.entries().map(|(k, v)| (k.to_string(), v.clone())));
                    // sops writes a group's `hc_vault` and `age` even when empty.
                    for always in ["hc_vault", "age"] {
                        if !f.iter().any(|(k, _)| k == always) {
                            f.push((always.into(), Node::List(Vec::new())));
                        }
                    }
                    f.sort_by(|a, b| {
                        sops_rank(GROUP_ORDER, &a.0).cmp(&sops_rank(GROUP_ORDER, &b.0))
                    });
                    let mut b = Branch::new();
                    for (k, v) in f {
                        b.insert(k, v);
                    }
                    ListItem::Value(Node::Map(b))
                })
                .collect();
            fields.push(("key_groups".into(), Node::List(groups)));
        }
        // Also beside flat keys: sops writes a rule's threshold there, and a `set` must
        // give its file back byte for byte.
        if self.shamir_threshold > 0 {
            fields.push((
                "shamir_threshold".into(),
                Node::Leaf(Sealed(Scalar::Int(self.shamir_threshold as i64))),
            ));
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
        fields
            .sort_by(|a, b| sops_rank(METADATA_ORDER, &a.0).cmp(&sops_rank(METADATA_ORDER, &b.0)));
        let mut out = Branch::new();
        for (k, v) in fields {
            out.insert(k, v);
        }
        out
    }

    /// The stanzas kept as written that no key here can use, each named as sops names
    /// the key: `gcp_kms RESOURCE_ID`, `azure_kv VAULT_URL/keys/NAME`, `hckms KEY_ID`.
    pub fn unsupported_keys(&self) -> Vec<String> {
        let mut out = Vec::new();
        let groups = self.key_groups.iter().map(|g| &g.foreign);
        for (kind, value) in std::iter::once(&self.foreign)
            .chain(groups)
            .flat_map(Branch::entries)
        {
            let Node::List(items) = value else { continue };
            for item in items {
                let ListItem::Value(Node::Map(b)) = item else {
                    continue;
                };
                let field = |name: &str| match b.get(name) {
                    Some(Node::Leaf(Sealed(s))) => s.to_text().to_string(),
                    _ => String::new(),
                };
                let key = match kind {
                    "gcp_kms" => field("resource_id"),
                    "azure_kv" => format!("{}/keys/{}", field("vault_url"), field("name")),
                    "hckms" => field("key_id"),
                    _ => String::new(),
                };
                out.push(format!("{kind} {key}").trim_end().to_string());
            }
        }
        out
    }

    /// The age recipients the data key (or a key group's share) is wrapped for, in file
    /// order.
    pub fn recipients(&self) -> Vec<&str> {
        std::iter::once(&self.keys)
            .chain(&self.key_groups)
            .flat_map(|g| g.age.iter().map(|s| s.recipient.as_str()))
            .collect()
    }
}

/// One key group's stanza lists as sops writes them (empty lists left out), unsorted.
fn group_fields(k: &KeyGroup) -> Vec<(String, Node<Sealed>)> {
    let mut fields: Vec<(String, Node<Sealed>)> = Vec::new();
    push_stanzas(&mut fields, "age", &k.age, |s| {
        vec![
            ("recipient", str_leaf(&s.recipient)),
            ("enc", str_leaf(&s.enc)),
        ]
    });
    push_stanzas(&mut fields, "hc_vault", &k.hc_vault, |s| {
        vec![
            ("vault_address", str_leaf(&s.vault_address)),
            ("engine_path", str_leaf(&s.engine_path)),
            ("key_name", str_leaf(&s.key_name)),
            ("created_at", str_leaf(&s.created_at)),
            ("enc", str_leaf(&s.enc)),
        ]
    });
    // sops's struct order: role and context only when set, aws_profile always.
    push_stanzas(&mut fields, "kms", &k.kms, |s| {
        let mut f = vec![("arn", str_leaf(&s.arn))];
        if !s.role.is_empty() {
            f.push(("role", str_leaf(&s.role)));
        }
        if !s.context.is_empty() {
            let mut c = Branch::new();
            for (k, v) in &s.context {
                c.insert(k.clone(), str_leaf(v));
            }
            f.push(("context", Node::Map(c)));
        }
        f.push(("created_at", str_leaf(&s.created_at)));
        f.push(("enc", str_leaf(&s.enc)));
        f.push(("aws_profile", str_leaf(&s.aws_profile)));
        f
    });
    push_stanzas(&mut fields, "pgp", &k.pgp, |s| {
        vec![
            ("created_at", str_leaf(&s.created_at)),
            ("enc", str_leaf(&s.enc)),
            ("fp", str_leaf(&s.fp)),
        ]
    });
    fields
}

fn str_leaf(s: &str) -> Node<Sealed> {
    Node::Leaf(Sealed(Scalar::Str(s.to_string())))
}

/// Adds `name: [stanza…]` to `fields` unless the list is empty (sops 3.13 omits it),
/// each stanza's fields in the order `fields_of` gives.
fn push_stanzas<T>(
    fields: &mut Vec<(String, Node<Sealed>)>,
    name: &str,
    stanzas: &[T],
    fields_of: impl Fn(&T) -> Vec<(&'static str, Node<Sealed>)>,
) {
    if stanzas.is_empty() {
        return;
    }
    let list = stanzas
        .iter()
        .map(|s| {
            let mut b = Branch::new();
            for (k, v) in fields_of(s) {
                b.insert(k.into(), v);
            }
            ListItem::Value(Node::Map(b))
        })
        .collect();
    fields.push((name.into(), Node::List(list)));
}

/// The map entries of a stanza list (`~` or no list: none; comments skipped).
fn stanza_maps<'a>(
    value: &'a Node<Sealed>,
    name: &str,
) -> Result<Vec<&'a Branch<Sealed>>, MetadataError> {
    match value {
        Node::List(items) => Ok(items
            .iter()
            .filter_map(|item| match item {
                ListItem::Value(Node::Map(b)) => Some(b),
                _ => None,
            })
            .collect()),
        Node::Leaf(Sealed(Scalar::Null)) => Ok(Vec::new()),
        _ => Err(MetadataError::Malformed(name.into())),
    }
}

/// `hc_vault` entries: every field sops writes is required but `created_at` (sops itself
/// would refuse a file without it; kept empty here, written back as read).
fn parse_vault(value: &Node<Sealed>) -> Result<Vec<VaultStanza>, MetadataError> {
    let mut out = Vec::new();
    for b in stanza_maps(value, "hc_vault")? {
        let field = |name: &'static str| -> Result<String, MetadataError> {
            let shown = format!("hc_vault.{name}");
            match b.get(name) {
                Some(n) => text(n, &shown),
                None if name == "created_at" => Ok(String::new()),
                None => Err(MetadataError::Malformed(shown)),
            }
        };
        out.push(VaultStanza {
            vault_address: field("vault_address")?,
            engine_path: field("engine_path")?,
            key_name: field("key_name")?,
            created_at: field("created_at")?,
            enc: field("enc")?,
        });
    }
    Ok(out)
}

/// `kms` entries: `arn` and `enc` are required; `role`, `context`, `aws_profile` and
/// `created_at` may be missing (empty), as sops reads them.
fn parse_kms(value: &Node<Sealed>) -> Result<Vec<KmsStanza>, MetadataError> {
    let mut out = Vec::new();
    for b in stanza_maps(value, "kms")? {
        let field = |name: &'static str, required: bool| -> Result<String, MetadataError> {
            let shown = format!("kms.{name}");
            match b.get(name) {
                Some(Node::Leaf(Sealed(Scalar::Null))) if !required => Ok(String::new()),
                Some(n) => text(n, &shown),
                None if !required => Ok(String::new()),
                None => Err(MetadataError::Malformed(shown)),
            }
        };
        let mut context = std::collections::BTreeMap::new();
        match b.get("context") {
            None | Some(Node::Leaf(Sealed(Scalar::Null))) => {}
            Some(Node::Map(c)) => {
                for (k, v) in c.entries() {
                    let v = match v {
                        Node::Leaf(Sealed(Scalar::Null)) => String::new(),
                        v => text(v, "kms.context")?,
                    };
                    context.insert(k.to_string(), v);
                }
            }
            Some(_) => return Err(MetadataError::Malformed("kms.context".into())),
        }
        out.push(KmsStanza {
            arn: field("arn", true)?,
            role: field("role", false)?,
            context,
            aws_profile: field("aws_profile", false)?,
            created_at: field("created_at", false)?,
            enc: field("enc", true)?,
        });
    }
    Ok(out)
}

/// `key_groups`: a list of maps, each with the stanza lists of one group. A key type we
/// only keep as written (GCP, Azure) stays in its group's `foreign`.
fn parse_groups(value: &Node<Sealed>) -> Result<Vec<KeyGroup>, MetadataError> {
    let mut groups = Vec::new();
    for b in stanza_maps(value, "key_groups")? {
        let mut g = KeyGroup::default();
        for (key, v) in b.entries() {
            match key {
                "age" => g.age = parse_age(v)?,
                "hc_vault" => g.hc_vault = parse_vault(v)?,
                "kms" => g.kms = parse_kms(v)?,
                "pgp" => g.pgp = parse_pgp(v)?,
                other if FOREIGN_KEYS.contains(&other) && !is_empty_list(v) => {
                    g.foreign.insert(other.to_string(), v.clone());
                }
                _ => {}
            }
        }
        groups.push(g);
    }
    Ok(groups)
}

/// `shamir_threshold`: a number (sops writes an integer; text is read too).
fn parse_threshold(value: &Node<Sealed>) -> Result<usize, MetadataError> {
    let bad = || MetadataError::Malformed("shamir_threshold".into());
    match value {
        Node::Leaf(Sealed(Scalar::Int(n))) => usize::try_from(*n).map_err(|_| bad()),
        Node::Leaf(Sealed(Scalar::Null)) => Ok(0),
        v => text(v, "shamir_threshold")?
            .trim()
            .parse()
            .map_err(|_| bad()),
    }
}

/// `pgp` entries: `fp` and `enc` are required, `created_at` may be missing (empty).
fn parse_pgp(value: &Node<Sealed>) -> Result<Vec<PgpStanza>, MetadataError> {
    let mut out = Vec::new();
    for b in stanza_maps(value, "pgp")? {
        let field = |name: &'static str, required: bool| -> Result<String, MetadataError> {
            let shown = format!("pgp.{name}");
            match b.get(name) {
                Some(n) => text(n, &shown),
                None if !required => Ok(String::new()),
                None => Err(MetadataError::Malformed(shown)),
            }
        };
        out.push(PgpStanza {
            created_at: field("created_at", false)?,
            enc: field("enc", true)?,
            fp: field("fp", true)?,
        });
    }
    Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(s: &str) -> Node<Sealed> {
        Node::Leaf(Sealed(Scalar::Str(s.into())))
    }

    fn map(fields: Vec<(&str, Node<Sealed>)>) -> Node<Sealed> {
        let mut b = Branch::new();
        for (k, v) in fields {
            b.insert(k.into(), v);
        }
        Node::Map(b)
    }

    fn tree(kms: Vec<Node<Sealed>>) -> Branch<Sealed> {
        let Node::Map(b) = map(vec![
            (
                "kms",
                Node::List(kms.into_iter().map(ListItem::Value).collect()),
            ),
            ("lastmodified", leaf("2026-12-06T16:31:39Z")),
            ("mac", leaf("ENC[x]")),
            ("version", leaf("3.11.0")),
        ]) else {
            unreachable!()
        };
        b
    }

    #[test]
    fn key_groups_read_and_write_back_in_sops_order() {
        let list =
            |items: Vec<Node<Sealed>>| Node::List(items.into_iter().map(ListItem::Value).collect());
        let age = |r: &str| map(vec![("recipient", leaf(r)), ("enc", leaf("E"))]);
        // As sops 3.11 writes them: threshold first, an empty hc_vault list in each group.
        let Node::Map(md) = map(vec![
            ("shamir_threshold", Node::Leaf(Sealed(Scalar::Int(2)))),
            (
                "key_groups",
                list(vec![
                    map(vec![
                        ("hc_vault", list(vec![])),
                        ("age", list(vec![age("age1a")])),
                    ]),
                    map(vec![
                        ("hc_vault", list(vec![])),
                        (
                            "pgp",
                            list(vec![map(vec![("enc", leaf("P")), ("fp", leaf("AB"))])]),
                        ),
                    ]),
                ]),
            ),
            ("lastmodified", leaf("2026-12-06T16:31:39Z")),
            ("mac", leaf("ENC[x]")),
            ("version", leaf("3.11.0")),
        ]) else {
            unreachable!()
        };
        let meta = Metadata::from_tree(&md).unwrap();
        assert_eq!(meta.shamir_threshold, 2);
        assert_eq!(meta.key_groups.len(), 2);
        assert_eq!(meta.key_groups[0].age[0].recipient, "age1a");
        assert_eq!(meta.key_groups[1].pgp[0].fp, "AB");
        assert!(meta.keys.is_empty());
        assert_eq!(meta.recipients(), ["age1a"]);
        let back = meta.to_tree();
        let keys: Vec<&str> = back.entries().map(|(k, _)| k).collect();
        // In sops's order (its struct's), as it wrote them: a `set` changes no other line.
        assert_eq!(
            keys,
            [
                "shamir_threshold",
                "key_groups",
                "lastmodified",
                "mac",
                "version"
            ]
        );
        let Some(Node::List(groups)) = back.get("key_groups") else {
            panic!("no key_groups")
        };
        let group_keys: Vec<Vec<&str>> = groups
            .iter()
            .map(|g| match g {
                ListItem::Value(Node::Map(b)) => b.entries().map(|(k, _)| k).collect(),
                _ => panic!("not a map"),
            })
            .collect();
        assert_eq!(
            group_keys,
            [vec!["hc_vault", "age"], vec!["pgp", "hc_vault", "age"]]
        );
        assert_eq!(Metadata::from_tree(&back).unwrap(), meta);

        // Keys beside the groups: refused.
        let mut gcp = md.clone();
        gcp.insert(
            "key_groups".into(),
            list(vec![map(vec![(
                "gcp_kms",
                list(vec![map(vec![("resource_id", leaf("r"))])]),
            )])]),
        );
        // (a GCP key in a group is kept as written, and named as one we cannot use)
        let with_gcp = Metadata::from_tree(&gcp).unwrap();
        assert_eq!(with_gcp.unsupported_keys(), ["gcp_kms r"]);
        assert_eq!(Metadata::from_tree(&with_gcp.to_tree()).unwrap(), with_gcp);
        let mut both = md.clone();
        both.insert("age".into(), list(vec![age("age1b")]));
        assert!(Metadata::from_tree(&both).is_err());
    }

    /// A flat file with several key services: sops's order (kms, hc_vault, age, …, pgp),
    /// which `set` moved to alphabetical (hc_vault before kms): a diff on every set.
    #[test]
    fn flat_keys_are_written_in_sops_order() {
        let list =
            |items: Vec<Node<Sealed>>| Node::List(items.into_iter().map(ListItem::Value).collect());
        let stanza = |f: &[(&'static str, &'static str)]| {
            map(f.iter().map(|(k, v)| (*k, leaf(v))).collect())
        };
        let Node::Map(md) = map(vec![
            (
                "kms",
                list(vec![stanza(&[
                    ("arn", "arn:aws:kms:eu-west-1:1:key/k"),
                    ("enc", "K"),
                ])]),
            ),
            (
                "hc_vault",
                list(vec![stanza(&[
                    ("vault_address", "http://v"),
                    ("engine_path", "transit"),
                    ("key_name", "k"),
                    ("enc", "V"),
                ])]),
            ),
            (
                "age",
                list(vec![stanza(&[("recipient", "age1a"), ("enc", "E")])]),
            ),
            ("lastmodified", leaf("2026-12-06T16:31:39Z")),
            ("mac", leaf("ENC[x]")),
            ("pgp", list(vec![stanza(&[("enc", "P"), ("fp", "AB")])])),
            ("unencrypted_suffix", leaf("_unencrypted")),
            ("version", leaf("3.11.0")),
        ]) else {
            unreachable!()
        };
        let back = Metadata::from_tree(&md).unwrap().to_tree();
        let keys: Vec<&str> = back.entries().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "kms",
                "hc_vault",
                "age",
                "lastmodified",
                "mac",
                "pgp",
                "unencrypted_suffix",
                "version"
            ]
        );
    }

    #[test]
    fn kms_stanzas_read_and_write_as_sops_writes_them() {
        // As sops 3.11 writes one: role and context when set, aws_profile always.
        let written = map(vec![
            ("arn", leaf("arn:aws:kms:eu-west-1:1:key/k")),
            ("role", leaf("arn:aws:iam::1:role/r")),
            (
                "context",
                map(vec![("app", leaf("web")), ("env", leaf("prod"))]),
            ),
            ("created_at", leaf("2026-12-06T16:31:39Z")),
            ("enc", leaf("AQID")),
            ("aws_profile", leaf("")),
        ]);
        let md = Metadata::from_tree(&tree(vec![written.clone()])).unwrap();
        let k = &md.keys.kms[0];
        assert_eq!(k.role, "arn:aws:iam::1:role/r");
        assert_eq!(k.context.get("env").map(String::as_str), Some("prod"));
        assert!(
            md.foreign.entries().next().is_none(),
            "kms is no longer foreign"
        );
        // Written back field for field, in the same order.
        let back = md.to_tree();
        let Some(Node::List(items)) = back.get("kms") else {
            panic!("no kms list")
        };
        assert_eq!(items[0], ListItem::Value(written));
        // Only arn and enc are required; a null context value reads as empty.
        let minimal = map(vec![
            ("arn", leaf("arn:aws:kms:eu-west-1:1:key/k")),
            (
                "context",
                map(vec![("a", Node::Leaf(Sealed(Scalar::Null)))]),
            ),
            ("enc", leaf("AQID")),
        ]);
        let md = Metadata::from_tree(&tree(vec![minimal])).unwrap();
        let k = &md.keys.kms[0];
        assert_eq!((k.role.as_str(), k.aws_profile.as_str()), ("", ""));
        assert_eq!(k.context.get("a").map(String::as_str), Some(""));
        let no_enc = map(vec![("arn", leaf("arn:aws:kms:eu-west-1:1:key/k"))]);
        assert_eq!(
            Metadata::from_tree(&tree(vec![no_enc])),
            Err(MetadataError::Malformed("kms.enc".into()))
        );
    }
}
