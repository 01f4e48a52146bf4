//! The config as written: a small YAML reader that keeps the line of every key and value
//! (the project's YAML store drops positions), and the `.secrets.yaml` schema read from it
//! without any meaning checked yet. [`super::Config`] validates this once.
//!
//! Everything here only looks at structure: a wrong shape (a list where a map belongs, an
//! unknown field, a duplicate key) is an error naming its line; names and keys are checked
//! by the validator.

use foldhash::HashMap;
use saphyr_parser::{Event, Parser, ScalarStyle};
use std::fmt;

/// A value with the (1-based) line it starts on.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    pub line: usize,
    pub value: T,
}

/// A YAML node; scalars stay text (the config has no numbers).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Str(String),
    List(Vec<Spanned<Value>>),
    Map(Vec<(Spanned<String>, Spanned<Value>)>),
}

impl Value {
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "nothing",
            Value::Str(_) => "a single value",
            Value::List(_) => "a list",
            Value::Map(_) => "a map",
        }
    }
}

/// A structural problem at a line (the caller adds the file name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawError {
    pub line: usize,
    pub message: String,
}

impl RawError {
    pub fn new(line: usize, message: impl Into<String>) -> Self {
        RawError {
            line,
            message: message.into(),
        }
    }
}

enum Frame {
    Map {
        line: usize,
        entries: Vec<(Spanned<String>, Spanned<Value>)>,
        key: Option<Spanned<String>>,
        /// The line of each key so far, once the map has more than [`SMALL_MAP`] keys (a
        /// search per key was quadratic in the keys; below that a scan is cheaper).
        lines: Option<HashMap<String, usize>>,
    },
    List {
        line: usize,
        items: Vec<Spanned<Value>>,
    },
}

/// Parses one YAML document into a positioned tree. Anchors, aliases, tags and several
/// documents are refused: a config is read by people, so it stays plain.
pub fn parse_yaml(text: &str) -> Result<Spanned<Value>, RawError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Spanned<Value>> = None;
    let mut docs = 0usize;
    while let Some(ev) = parser.next_event() {
        let (ev, span) = ev.map_err(|e| {
            RawError::new(
                e.marker().line(),
                format!("YAML syntax error: {}", e.info()),
            )
        })?;
        let line = span.start.line();
        let done: Option<Spanned<Value>> = match ev {
            Event::DocumentStart(_) => {
                docs += 1;
                if docs > 1 {
                    return Err(RawError::new(line, "only one YAML document is allowed"));
                }
                None
            }
            Event::Alias(_) => {
                return Err(RawError::new(line, "YAML aliases are not supported here"));
            }
            Event::Scalar(v, style, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return Err(RawError::new(
                        line,
                        "YAML anchors and tags are not supported here",
                    ));
                }
                let null = style == ScalarStyle::Plain && matches!(v.as_ref(), "" | "~" | "null");
                let value = if null {
                    Value::Null
                } else {
                    Value::Str(v.into_owned())
                };
                Some(Spanned { line, value })
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) if anchor != 0 => {
                return Err(RawError::new(line, "YAML anchors are not supported here"));
            }
            Event::MappingStart(..) | Event::SequenceStart(..)
                if stack.len() >= crate::store::limits::MAX_DEPTH =>
            {
                return Err(RawError::new(
                    line,
                    format!(
                        "nested deeper than {} levels",
                        crate::store::limits::MAX_DEPTH
                    ),
                ));
            }
            Event::MappingStart(..) => {
                stack.push(Frame::Map {
                    line,
                    entries: Vec::new(),
                    key: None,
                    lines: None,
                });
                None
            }
            Event::SequenceStart(..) => {
                stack.push(Frame::List {
                    line,
                    items: Vec::new(),
                });
                None
            }
            Event::MappingEnd | Event::SequenceEnd => match stack.pop() {
                Some(Frame::Map { line, entries, .. }) => Some(Spanned {
                    line,
                    value: Value::Map(entries),
                }),
                Some(Frame::List { line, items }) => Some(Spanned {
                    line,
                    value: Value::List(items),
                }),
                None => return Err(RawError::new(line, "unbalanced YAML structure")),
            },
            _ => None,
        };
        let Some(node) = done else { continue };
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::List { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                key,
                lines,
                ..
            }) => match key.take() {
                None => {
                    let k = match node.value {
                        Value::Str(s) => s,
                        Value::Null => String::new(),
                        _ => {
                            return Err(RawError::new(node.line, "map keys must be plain strings"))
                        }
                    };
                    if let Some(first) = first_line_of(entries, lines, &k, node.line) {
                        return Err(RawError::new(
                            node.line,
                            format!("duplicate key {k:?} (first on line {first})"),
                        ));
                    }
                    *key = Some(Spanned {
                        line: node.line,
                        value: k,
                    });
                }
                Some(k) => entries.push((k, node)),
            },
        }
    }
    Ok(root.unwrap_or(Spanned {
        line: 1,
        value: Value::Null,
    }))
}

/// Up to this many keys a map's duplicates are found by a scan of its entries.
const SMALL_MAP: usize = 8;

/// The line of an earlier `key` in a map, recording this one; the index is built only
/// when the map outgrows [`SMALL_MAP`], so the check stays linear in the keys.
fn first_line_of(
    entries: &[(Spanned<String>, Spanned<Value>)],
    lines: &mut Option<HashMap<String, usize>>,
    key: &str,
    line: usize,
) -> Option<usize> {
    if lines.is_none() && entries.len() < SMALL_MAP {
        return entries
            .iter()
            .find(|(k, _)| k.value == key)
            .map(|(k, _)| k.line);
    }
    let index = lines.get_or_insert_with(|| {
        entries
            .iter()
            .map(|(k, _)| (k.value.clone(), k.line))
            .collect()
    });
    match index.entry(key.to_string()) {
        std::collections::hash_map::Entry::Occupied(first) => Some(*first.get()),
        std::collections::hash_map::Entry::Vacant(slot) => {
            slot.insert(line);
            None
        }
    }
}

/// One member: a name and one or more public keys as written.
#[derive(Clone, Debug, PartialEq)]
pub struct RawMember {
    pub name: Spanned<String>,
    pub keys: Vec<Spanned<String>>,
}

/// The encryption rules an environment may set (sops's creation-rule fields).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawRules {
    pub unencrypted_suffix: Option<Spanned<String>>,
    pub encrypted_suffix: Option<Spanned<String>>,
    pub unencrypted_regex: Option<Spanned<String>>,
    pub encrypted_regex: Option<Spanned<String>>,
    pub unencrypted_comment_regex: Option<Spanned<String>>,
    pub encrypted_comment_regex: Option<Spanned<String>>,
    pub mac_only_encrypted: Option<Spanned<bool>>,
}

impl RawRules {
    /// Reads a rule field; `Ok(false)` when `key` is not a rule.
    pub fn take(&mut self, key: &str, value: &Spanned<Value>) -> Result<bool, RawError> {
        let slot = match key {
            "unencrypted_suffix" => &mut self.unencrypted_suffix,
            "encrypted_suffix" => &mut self.encrypted_suffix,
            "unencrypted_regex" => &mut self.unencrypted_regex,
            "encrypted_regex" => &mut self.encrypted_regex,
            "unencrypted_comment_regex" => &mut self.unencrypted_comment_regex,
            "encrypted_comment_regex" => &mut self.encrypted_comment_regex,
            "mac_only_encrypted" => {
                self.mac_only_encrypted = Some(boolean(value, key)?);
                return Ok(true);
            }
            _ => return Ok(false),
        };
        *slot = Some(string(value, key)?);
        Ok(true)
    }
}

/// One environment as written.
#[derive(Clone, Debug, PartialEq)]
pub struct RawEnv {
    pub name: Spanned<String>,
    pub files: Vec<Spanned<String>>,
    /// A sops-style regular expression (from `.sops.yaml` imports).
    pub path_regex: Option<Spanned<String>>,
    pub members: Vec<Spanned<String>>,
    /// Vault transit key URLs (`vault_transit:`; `.sops.yaml`'s `hc_vault_transit_uri`).
    pub vault_transit: Vec<Spanned<String>>,
    /// AWS KMS keys (`kms:`; `.sops.yaml`'s `kms`).
    pub kms: Vec<Spanned<RawKms>>,
    /// PGP fingerprints (`pgp:`; `.sops.yaml`'s `pgp`).
    pub pgp: Vec<Spanned<String>>,
    pub rules: RawRules,
    /// `production: true`: the built-in forbid list applies (see `crate::config::schema`).
    pub production: Option<Spanned<bool>>,
    /// `key_groups:` (sops key groups: the data key split across them); empty: the keys
    /// above are one group.
    pub key_groups: Vec<RawGroup>,
    /// `shamir_threshold:` how many key groups give the data key back (absent: all).
    pub shamir_threshold: Option<Spanned<String>>,
    /// Key types a `.sops.yaml` rule names that this tool cannot wrap for (`gcp_kms`,
    /// `azure_keyvault`, `hckms`), with their lines.
    pub unsupported: Vec<Spanned<String>>,
}

/// One key group of an environment as written: any one of its keys opens its share.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawGroup {
    pub line: usize,
    pub members: Vec<Spanned<String>>,
    pub vault_transit: Vec<Spanned<String>>,
    pub kms: Vec<Spanned<RawKms>>,
    pub pgp: Vec<Spanned<String>>,
}

/// An unfinished revocation as written (`revoking:`, see [`super::Revoking`]).
#[derive(Clone, Debug, PartialEq)]
pub struct RawRevoking {
    pub line: usize,
    pub env: Option<Spanned<String>>,
    pub members: Vec<Spanned<String>>,
}

/// A previous value kept for a grace period, as written (`retiring:`, see
/// [`super::Retiring`]).
#[derive(Clone, Debug, PartialEq)]
pub struct RawRetiring {
    pub line: usize,
    pub file: Option<Spanned<String>>,
    pub key: Option<Spanned<String>>,
    pub until: Option<Spanned<String>>,
}

/// `.secrets.yaml` as written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawConfig {
    pub members: Vec<RawMember>,
    pub environments: Vec<RawEnv>,
    pub default: Option<Spanned<String>>,
    pub revoking: Option<RawRevoking>,
    /// The line of `retiring:` and its entries.
    pub retiring: Option<(usize, Vec<RawRetiring>)>,
    /// The `schema:` section as written; [`super::schema`] reads it.
    pub schema: Option<Spanned<Value>>,
}

pub fn string<W: fmt::Display + ?Sized>(
    v: &Spanned<Value>,
    what: &W,
) -> Result<Spanned<String>, RawError> {
    str_ref(v, what).map(|s| Spanned {
        line: v.line,
        value: s.to_string(),
    })
}

/// As [`string`], borrowing the text: for a caller that keeps a copy of its own (or none),
/// so the schema read at every `exec` does not copy each value twice.
pub fn str_ref<'a, W: fmt::Display + ?Sized>(
    v: &'a Spanned<Value>,
    what: &W,
) -> Result<&'a str, RawError> {
    match &v.value {
        Value::Str(s) => Ok(s),
        other => Err(RawError::new(
            v.line,
            format!("{what} must be a string, not {}", other.kind()),
        )),
    }
}

/// Checks that every scalar of `tree` is the text the YAML store reads at the same place
/// (`node`), or a number, boolean or null the store writes back as the same text: the
/// commands that edit the config write it through the store.
pub fn same_scalars<L: crate::model::tree::Leaf>(
    tree: &Spanned<Value>,
    node: &crate::model::Node<L>,
) -> Result<(), RawError> {
    use crate::model::{ListItem, Node, Scalar};
    match (&tree.value, node) {
        (Value::Map(entries), Node::Map(branch)) => {
            for ((_, value), (_, child)) in entries.iter().zip(branch.entries()) {
                same_scalars(value, child)?;
            }
        }
        (Value::List(items), Node::List(list)) => {
            let values = list.iter().filter_map(|i| match i {
                ListItem::Value(v) => Some(v),
                ListItem::Comment { .. } => None,
            });
            for (item, child) in items.iter().zip(values) {
                same_scalars(item, child)?;
            }
        }
        (Value::Str(text), Node::Leaf(leaf)) => {
            let scalar = leaf.scalar();
            let same = match scalar {
                Scalar::Str(s) | Scalar::Time(s) => s == text,
                // No config field is a fraction, and a float's text is not a fixed point
                // of the store (6.666666666666667e+42 and its 43 digits): refused.
                Scalar::Float(_) => false,
                other => *other.to_text() == *text,
            };
            if !same {
                let what = match scalar {
                    Scalar::Int(_) | Scalar::Float(_) => "a number",
                    Scalar::Bool(_) => "a boolean",
                    Scalar::Null => "null",
                    _ => "another text",
                };
                return Err(RawError::new(
                    tree.line,
                    format!(
                        "{text:?} reads as {what} in YAML and would be written back as {:?} by the commands that edit this file; put it in quotes",
                        scalar.to_text().as_str()
                    ),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// `true` or `false` (nothing counts as false).
pub fn boolean<W: fmt::Display + ?Sized>(
    v: &Spanned<Value>,
    what: &W,
) -> Result<Spanned<bool>, RawError> {
    let value = match &v.value {
        Value::Str(s) if s == "true" => true,
        Value::Str(s) if s == "false" => false,
        Value::Null => false,
        Value::Str(s) => {
            return Err(RawError::new(
                v.line,
                format!("{what} must be true or false, not {s:?}"),
            ))
        }
        other => {
            return Err(RawError::new(
                v.line,
                format!("{what} must be true or false, not {}", other.kind()),
            ))
        }
    };
    Ok(Spanned {
        line: v.line,
        value,
    })
}

/// A string or a list of strings (`files: "a/**"` and `files: [a/**, b]` both work).
/// One AWS KMS key as written: `ARN` or `ARN+ROLE` (sops's `--kms` form), or a map with
/// `arn` and optionally `role`, `context` (a map) and `aws_profile` (a sops key group's
/// form).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawKms {
    /// `ARN` or `ARN+ROLE`.
    pub key: String,
    pub context: Vec<(String, String)>,
    pub aws_profile: Option<String>,
}

/// A `kms:` value: one string, or a list of strings and `{arn, role, context,
/// aws_profile}` maps.
pub fn kms_entries(v: &Spanned<Value>) -> Result<Vec<Spanned<RawKms>>, RawError> {
    let one = |item: &Spanned<Value>| -> Result<Spanned<RawKms>, RawError> {
        let mut k = RawKms::default();
        match &item.value {
            Value::Str(s) => k.key = s.clone(),
            Value::Map(fields) => {
                let mut role = None;
                for (name, fv) in fields {
                    match name.value.as_str() {
                        "arn" => k.key = string(fv, "kms arn")?.value,
                        "role" => role = Some(string(fv, "kms role")?.value),
                        "aws_profile" => {
                            k.aws_profile = Some(string(fv, "kms aws_profile")?.value)
                                .filter(|p| !p.is_empty())
                        }
                        "context" => {
                            for (ck, cv) in map(fv, "kms context")? {
                                k.context
                                    .push((ck.value.clone(), string(cv, "a kms context value")?.value));
                            }
                        }
                        other => {
                            return Err(RawError::new(
                                name.line,
                                format!("unknown field {other:?} in a kms entry (expected arn, role, context, aws_profile)"),
                            ))
                        }
                    }
                }
                if k.key.is_empty() {
                    return Err(RawError::new(item.line, "a kms entry has no arn"));
                }
                if let Some(role) = role.filter(|r| !r.is_empty()) {
                    k.key = format!("{}+{role}", k.key);
                }
            }
            other => {
                return Err(RawError::new(
                    item.line,
                    format!("a kms entry must be an ARN or a map, not {}", other.kind()),
                ))
            }
        }
        Ok(Spanned {
            line: item.line,
            value: k,
        })
    };
    match &v.value {
        Value::Null => Ok(Vec::new()),
        Value::List(items) => items.iter().map(one).collect(),
        _ => Ok(vec![one(v)?]),
    }
}

pub fn strings<W: fmt::Display + ?Sized>(
    v: &Spanned<Value>,
    what: &W,
) -> Result<Vec<Spanned<String>>, RawError> {
    string_items(v, what)?
        .iter()
        .map(|i| string(i, what))
        .collect()
}

/// As [`strings`], borrowing the texts (see [`str_ref`]).
pub fn str_refs<'a, W: fmt::Display + ?Sized>(
    v: &'a Spanned<Value>,
    what: &W,
) -> Result<Vec<&'a str>, RawError> {
    string_items(v, what)?
        .iter()
        .map(|i| str_ref(i, what))
        .collect()
}

/// The nodes of a string or a list of strings: the one string, the items, or none.
fn string_items<'a, W: fmt::Display + ?Sized>(
    v: &'a Spanned<Value>,
    what: &W,
) -> Result<&'a [Spanned<Value>], RawError> {
    match &v.value {
        Value::Null => Ok(&[]),
        Value::Str(_) => Ok(std::slice::from_ref(v)),
        Value::List(items) => Ok(items),
        Value::Map(_) => Err(RawError::new(
            v.line,
            format!("{what} must be a string or a list of strings, not a map"),
        )),
    }
}

/// The entries of a map, in order.
pub type Entries = [(Spanned<String>, Spanned<Value>)];

pub fn map<'a, W: fmt::Display + ?Sized>(
    v: &'a Spanned<Value>,
    what: &W,
) -> Result<&'a Entries, RawError> {
    match &v.value {
        Value::Map(entries) => Ok(entries),
        Value::Null => Ok(&[]),
        other => Err(RawError::new(
            v.line,
            format!("{what} must be a map, not {}", other.kind()),
        )),
    }
}

impl RawConfig {
    /// Reads the `.secrets.yaml` schema:
    ///
    /// ```yaml
    /// members:
    ///   alice: age1…                      # or a list of keys
    /// environments:
    ///   dev:
    ///     files: ["config/dev/**"]
    ///     members: [alice]
    ///     unencrypted_suffix: _unencrypted  # optional sops rules
    /// default: dev                        # optional
    /// revoking:                           # only while a revocation is unfinished
    ///   env: dev                          # absent for `member remove`
    ///   members: [bob]
    /// schema:                             # rules on values (see super::schema)
    ///   SECRET_KEY: {required: true, min_length: 50}
    /// retiring:                           # previous values kept by rotate-value
    ///   - file: .env.prod
    ///     key: JWT_SIGNING_KEY_PREVIOUS
    ///     until: 2026-12-07T10:00:00Z
    /// ```
    pub fn parse(text: &str) -> Result<RawConfig, RawError> {
        Self::from_tree(parse_yaml(text)?)
    }

    /// As [`Self::parse`], from the tree [`parse_yaml`] made (read once, checked twice).
    pub fn from_tree(mut doc: Spanned<Value>) -> Result<RawConfig, RawError> {
        let mut raw = RawConfig::default();
        let mut schema_at = None;
        for (at, (key, value)) in map(&doc, "the config")?.iter().enumerate() {
            match key.value.as_str() {
                "members" => {
                    for (name, keys) in map(value, "members")? {
                        raw.members.push(RawMember {
                            name: name.clone(),
                            keys: strings(keys, &format!("the key of member {:?}", name.value))?,
                        });
                    }
                }
                "environments" => {
                    for (name, body) in map(value, "environments")? {
                        raw.environments.push(parse_env(name, body)?);
                    }
                }
                "default" => raw.default = Some(string(value, "default")?),
                "revoking" => raw.revoking = Some(parse_revoking(key, value)?),
                "schema" => schema_at = Some(at),
                "retiring" => raw.retiring = Some((key.line, parse_retiring(value)?)),
                other => {
                    return Err(RawError::new(
                        key.line,
                        format!(
                            "unknown field {other:?} (expected members, environments, default, schema, retiring or revoking)"
                        ),
                    ))
                }
            }
        }
        // Moved out rather than cloned: the schema is most of a large config, and `exec`
        // reads the config on every start.
        if let (Some(at), Value::Map(entries)) = (schema_at, &mut doc.value) {
            raw.schema = Some(std::mem::replace(
                &mut entries[at].1,
                Spanned {
                    line: 0,
                    value: Value::Null,
                },
            ));
        }
        Ok(raw)
    }
}

fn parse_env(name: &Spanned<String>, body: &Spanned<Value>) -> Result<RawEnv, RawError> {
    let mut env = RawEnv {
        name: name.clone(),
        files: Vec::new(),
        path_regex: None,
        members: Vec::new(),
        vault_transit: Vec::new(),
        kms: Vec::new(),
        pgp: Vec::new(),
        rules: RawRules::default(),
        production: None,
        key_groups: Vec::new(),
        shamir_threshold: None,
        unsupported: Vec::new(),
    };
    let what = format!("environment {:?}", name.value);
    for (key, value) in map(body, &what)? {
        match key.value.as_str() {
            "files" => env.files = strings(value, "files")?,
            "members" => env.members = strings(value, "members")?,
            "path_regex" => env.path_regex = Some(string(value, "path_regex")?),
            "production" => env.production = Some(boolean(value, "production")?),
            "vault_transit" => env.vault_transit = strings(value, "vault_transit")?,
            "kms" => env.kms = kms_entries(value)?,
            "pgp" => env.pgp = strings(value, "pgp")?,
            "key_groups" => env.key_groups = key_groups(value, &what)?,
            "shamir_threshold" => env.shamir_threshold = Some(string(value, "shamir_threshold")?),
            k => {
                if !env.rules.take(k, value)? {
                    return Err(RawError::new(
                        key.line,
                        format!("unknown field {k:?} in {what} (expected files, members, vault_transit, kms, pgp, key_groups, shamir_threshold, production, path_regex, or a sops rule such as unencrypted_suffix)"),
                    ));
                }
            }
        }
    }
    Ok(env)
}

/// `key_groups:` a list of maps, each with `members`, `vault_transit`, `kms`, `pgp`.
fn key_groups(v: &Spanned<Value>, what: &str) -> Result<Vec<RawGroup>, RawError> {
    let Value::List(items) = &v.value else {
        return Err(RawError::new(
            v.line,
            format!("key_groups in {what} must be a list of groups"),
        ));
    };
    let mut out = Vec::new();
    for item in items {
        let mut group = RawGroup {
            line: item.line,
            ..RawGroup::default()
        };
        for (key, value) in map(item, "a key group")? {
            match key.value.as_str() {
                "members" => group.members = strings(value, "members")?,
                "vault_transit" => group.vault_transit = strings(value, "vault_transit")?,
                "kms" => group.kms = kms_entries(value)?,
                "pgp" => group.pgp = strings(value, "pgp")?,
                k => {
                    return Err(RawError::new(
                        key.line,
                        format!("unknown field {k:?} in a key group of {what} (expected members, vault_transit, kms or pgp)"),
                    ))
                }
            }
        }
        out.push(group);
    }
    Ok(out)
}

fn parse_revoking(key: &Spanned<String>, body: &Spanned<Value>) -> Result<RawRevoking, RawError> {
    let mut r = RawRevoking {
        line: key.line,
        env: None,
        members: Vec::new(),
    };
    for (k, value) in map(body, "revoking")? {
        match k.value.as_str() {
            "env" => r.env = Some(string(value, "revoking env")?),
            "members" => r.members = strings(value, "revoking members")?,
            other => {
                return Err(RawError::new(
                    k.line,
                    format!("unknown field {other:?} in revoking (expected env or members)"),
                ))
            }
        }
    }
    Ok(r)
}

fn parse_retiring(body: &Spanned<Value>) -> Result<Vec<RawRetiring>, RawError> {
    let items: &[Spanned<Value>] = match &body.value {
        Value::Null => &[],
        Value::List(items) => items,
        other => {
            return Err(RawError::new(
                body.line,
                format!("retiring must be a list, not {}", other.kind()),
            ))
        }
    };
    let mut out = Vec::new();
    for item in items {
        let mut r = RawRetiring {
            line: item.line,
            file: None,
            key: None,
            until: None,
        };
        for (k, value) in map(item, "a retiring entry")? {
            match k.value.as_str() {
                "file" => r.file = Some(string(value, "retiring file")?),
                "key" => r.key = Some(string(value, "retiring key")?),
                "until" => r.until = Some(string(value, "retiring until")?),
                other => {
                    return Err(RawError::new(
                        k.line,
                        format!(
                        "unknown field {other:?} in a retiring entry (expected file, key or until)"
                    ),
                    ))
                }
            }
        }
        out.push(r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_kept() {
        let text = "# team\nmembers:\n  alice: age1x\n  bob: [k1, k2]\nenvironments:\n  dev:\n    files: [\"a/**\"]\n    members:\n      - alice\n";
        let raw = RawConfig::parse(text).unwrap();
        assert_eq!(raw.members[0].name.line, 3);
        assert_eq!(raw.members[1].keys[1].value, "k2");
        assert_eq!(raw.environments[0].name.line, 6);
        assert_eq!(raw.environments[0].files[0].line, 7);
        assert_eq!(raw.environments[0].members[0].line, 9);
    }

    #[test]
    fn duplicate_keys_name_both_lines() {
        let err = RawConfig::parse("members:\n  a: k\n  a: j\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("line 2"), "{}", err.message);
    }

    #[test]
    fn duplicate_keys_found_in_small_and_large_maps() {
        // Small maps are scanned, large ones indexed: a duplicate on either side of the
        // switch, early or late, names the first line.
        for n in [2, SMALL_MAP - 1, SMALL_MAP, SMALL_MAP + 1, 40] {
            for dup in [0, n / 2, n - 1] {
                let mut text = String::from("members:\n");
                for i in 0..n {
                    text.push_str(&format!("  m{i}: k\n"));
                }
                text.push_str(&format!("  m{dup}: j\n"));
                let err = parse_yaml(&text).unwrap_err();
                assert_eq!(err.line, n + 2, "n={n} dup={dup}");
                assert!(
                    err.message.contains(&format!("first on line {}", dup + 2)),
                    "n={n} dup={dup}: {}",
                    err.message
                );
            }
            let mut text = String::from("members:\n");
            for i in 0..n {
                text.push_str(&format!("  m{i}: k\n"));
            }
            assert!(parse_yaml(&text).is_ok(), "n={n}");
        }
    }

    #[test]
    fn unknown_fields_and_shapes() {
        assert_eq!(RawConfig::parse("member: {}\n").unwrap_err().line, 1);
        assert_eq!(
            RawConfig::parse("environments:\n  dev:\n    fils: []\n")
                .unwrap_err()
                .line,
            3
        );
        assert!(RawConfig::parse("members: [a]\n").is_err());
        assert!(RawConfig::parse("a: &x 1\nb: *x\n").is_err());
        assert_eq!(RawConfig::parse("").unwrap(), RawConfig::default());
    }

    #[test]
    fn never_panics_on_garbage() {
        for t in ["{", "]", "members:\n  - : :", "\t", "a: 'b", "? a\n: b"] {
            let _ = RawConfig::parse(t);
        }
    }
}
