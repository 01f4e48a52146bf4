//! Ordered tree generic over its leaf type.
//!
//! `Branch<Sealed>` is what lives on disk (values are `ENC[...]` strings or values left in
//! clear by the encryption rules); `Branch<Plain>` holds decrypted values in zeroizing
//! memory. Stores parse and emit `Branch<Scalar>`-like trees through the [`Leaf`] trait, and
//! only code that deliberately calls `emit` on a plain tree can print plaintext.

use super::secret::SecretText;
use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// A typed scalar value, the sops data types (`str`, `int`, `float`, `bool`, `bytes`,
/// `time`, `comment`) plus null, which is never encrypted.
#[derive(Clone, PartialEq)]
pub enum Scalar {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Bytes(Vec<u8>),
    /// A `str` value whose bytes are not UTF-8 (binary files: sops stores them as `str`).
    RawStr(Vec<u8>),
    /// A timestamp kept as its RFC 3339 text (sops `type:time`).
    Time(String),
    /// The text of a comment after its `#` or `;` marker.
    Comment(String),
    Null,
}

impl Scalar {
    /// The sops type name used in `ENC[...,type:NAME]`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Scalar::Str(_) | Scalar::RawStr(_) => "str",
            Scalar::Int(_) => "int",
            Scalar::Float(_) => "float",
            Scalar::Bool(_) => "bool",
            Scalar::Bytes(_) => "bytes",
            Scalar::Time(_) => "time",
            Scalar::Comment(_) => "comment",
            Scalar::Null => "null",
        }
    }

    /// The bytes sops encrypts and feeds to the MAC for this value (Go `ToBytes`).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        match self {
            Scalar::Str(s) | Scalar::Time(s) | Scalar::Comment(s) => {
                Zeroizing::new(s.as_bytes().to_vec())
            }
            Scalar::Bool(true) => Zeroizing::new(b"True".to_vec()),
            Scalar::Bool(false) => Zeroizing::new(b"False".to_vec()),
            Scalar::Bytes(b) | Scalar::RawStr(b) => Zeroizing::new(b.clone()),
            Scalar::Int(_) | Scalar::Float(_) | Scalar::Null => {
                let mut out = SecretText::with_capacity(32);
                self.write_text(&mut out);
                out.into_zeroizing_bytes()
            }
        }
    }

    /// The value as text, for `get`, exec and exports (bools in lower case, like YAML).
    pub fn to_text(&self) -> Zeroizing<String> {
        match self {
            Scalar::Str(s) | Scalar::Time(s) | Scalar::Comment(s) => Zeroizing::new(s.clone()),
            _ => {
                let mut out = SecretText::with_capacity(self.text_len());
                self.write_text(&mut out);
                out.into_zeroizing_string()
            }
        }
    }

    /// Appends [`Scalar::to_text`] to `out` without an intermediate copy: numbers are
    /// formatted straight into it, bytes that are not UTF-8 as U+FFFD.
    pub fn write_text(&self, out: &mut SecretText) {
        use std::fmt::Write as _;
        match self {
            Scalar::Str(s) | Scalar::Time(s) | Scalar::Comment(s) => out.push_str(s),
            Scalar::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Scalar::Float(f) => write_go_float(out, *f),
            Scalar::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Scalar::Bytes(b) | Scalar::RawStr(b) => {
                for chunk in b.utf8_chunks() {
                    out.push_str(chunk.valid());
                    if !chunk.invalid().is_empty() {
                        out.push(char::REPLACEMENT_CHARACTER);
                    }
                }
            }
            Scalar::Null => {}
        }
    }

    /// As [`Scalar::write_text`], but a float as sops's `ValToString` writes it (its
    /// dotenv output and `exec-env`: `1.5E-07`, `1E+20`, `2.0`, [`write_sops_float`]).
    pub fn write_sops_text(&self, out: &mut SecretText) {
        match self {
            Scalar::Float(f) => write_sops_float(out, *f),
            other => other.write_text(out),
        }
    }

    /// A bound on the length of [`Scalar::to_text`] that is exact for strings (for sizing
    /// a buffer first).
    pub fn text_len(&self) -> usize {
        match self {
            Scalar::Str(s) | Scalar::Time(s) | Scalar::Comment(s) => s.len(),
            // U+FFFD is 3 bytes for every invalid byte at most.
            Scalar::Bytes(b) | Scalar::RawStr(b) => b.len() * 3,
            // i64: 20; f64 without exponent: up to 326 (5e-324).
            _ => 32,
        }
    }

    /// Empty strings, bytes and comments are left as they are by sops (never encrypted).
    pub fn is_empty_value(&self) -> bool {
        match self {
            Scalar::Str(s) | Scalar::Comment(s) => s.is_empty(),
            Scalar::Bytes(b) | Scalar::RawStr(b) => b.is_empty(),
            Scalar::Null => true,
            _ => false,
        }
    }

    pub fn is_comment(&self) -> bool {
        matches!(self, Scalar::Comment(_))
    }
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`: shortest round-trip digits, never an exponent.
pub fn format_go_float(f: f64) -> String {
    let mut out = SecretText::new();
    write_go_float(&mut out, f);
    out.into_public_string()
}

/// Appends [`format_go_float`] to `out`, formatted straight into it.
pub fn write_go_float(out: &mut SecretText, f: f64) {
    use std::fmt::Write as _;
    if f.is_nan() {
        out.push_str("NaN");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        // Rust's Display for f64 is shortest-round-trip without exponent, as Go's 'f', -1.
        let _ = write!(out, "{f}");
    }
}

/// sops's `ValToString` for a float, which its dotenv output and `exec-env` use: Go's
/// `strconv.FormatFloat(f, 'G', -1, 64)` (shortest digits; an exponent below -4 or from 6
/// up written `E+08`), then `.0` added when that reads as an integer: `1.5E-07`,
/// `1E+20`, `1.23456789123E+08`, `100000.0`, `2.5`.
pub fn write_sops_float(out: &mut SecretText, f: f64) {
    use std::fmt::Write as _;
    if !f.is_finite() {
        return write_go_float(out, f);
    }
    // At most 24 characters: sized, it never moves.
    let mut sci = SecretText::with_capacity(32);
    let exp = write_float_exponent(&mut sci, f, 'E');
    if !(-4..6).contains(&exp) {
        out.push_str(&sci);
        return;
    }
    let start = out.len();
    let _ = write!(out, "{f}");
    if !out[start..].contains('.') {
        out.push_str(".0");
    }
}

/// Go's `strconv.FormatFloat(f, 'e', -1, 64)`: shortest round-trip digits, then `e`, a
/// sign and at least two exponent digits (`1.5e+22`, `1e-07`). Returns the text and the
/// decimal exponent, from which the JSON and YAML printers pick Go's notation.
pub fn go_float_exponent(f: f64) -> (String, i32) {
    let mut out = SecretText::new();
    let exp = write_go_float_exponent(&mut out, f);
    (out.into_public_string(), exp)
}

/// Appends [`go_float_exponent`]'s text to `out` (through a zeroizing scratch buffer, not
/// a `String`) and returns the decimal exponent.
pub fn write_go_float_exponent(out: &mut SecretText, f: f64) -> i32 {
    write_float_exponent(out, f, 'e')
}

/// Shortest round-trip digits, then `marker`, a sign and at least two exponent digits;
/// returns the decimal exponent.
fn write_float_exponent(out: &mut SecretText, f: f64, marker: char) -> i32 {
    use std::fmt::Write as _;
    // At most 24 characters (`-1.2345678901234567e-308`): sized, it never moves.
    let mut sci = SecretText::with_capacity(32);
    let _ = write!(sci, "{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    out.push_str(mantissa);
    let _ = write!(
        out,
        "{marker}{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.unsigned_abs()
    );
    exp
}

impl Zeroize for Scalar {
    fn zeroize(&mut self) {
        match self {
            Scalar::Str(s) | Scalar::Time(s) | Scalar::Comment(s) => s.zeroize(),
            Scalar::Bytes(b) | Scalar::RawStr(b) => b.zeroize(),
            Scalar::Int(i) => i.zeroize(),
            Scalar::Float(f) => f.zeroize(),
            Scalar::Bool(b) => *b = false,
            Scalar::Null => {}
        }
    }
}

impl fmt::Debug for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Scalars may hold secrets: show only the type.
        write!(f, "Scalar::{}(..)", self.type_name())
    }
}

/// A decrypted value, wiped from memory when dropped and never shown by `Debug`.
#[derive(Clone, PartialEq)]
pub struct Plain(pub Zeroizing<Scalar>);

impl Plain {
    pub fn new(s: Scalar) -> Self {
        Plain(Zeroizing::new(s))
    }
    pub fn scalar(&self) -> &Scalar {
        &self.0
    }
}

impl fmt::Debug for Plain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Plain(<redacted {}>)", self.0.type_name())
    }
}

/// A value as stored on disk: an `ENC[...]` string, or a value the rules leave in clear.
#[derive(Clone, PartialEq, Debug)]
pub struct Sealed(pub Scalar);

/// What a store needs from a leaf to print it.
pub trait Leaf: Clone {
    fn scalar(&self) -> &Scalar;
    fn from_scalar(s: Scalar) -> Self;
}

impl Leaf for Plain {
    fn scalar(&self) -> &Scalar {
        &self.0
    }
    fn from_scalar(s: Scalar) -> Self {
        Plain::new(s)
    }
}

impl Leaf for Sealed {
    fn scalar(&self) -> &Scalar {
        &self.0
    }
    fn from_scalar(s: Scalar) -> Self {
        Sealed(s)
    }
}

/// A value in the tree.
#[derive(Clone, PartialEq, Debug)]
pub enum Node<L> {
    Map(Branch<L>),
    List(Vec<ListItem<L>>),
    Leaf(L),
}

impl<L> Node<L> {
    /// Removes every comment and blank line below this node (iteratively: a tree may be
    /// as deep as the parser limits allow).
    pub fn strip_comments(&mut self) {
        let mut todo: Vec<&mut Node<L>> = vec![self];
        while let Some(node) = todo.pop() {
            match node {
                Node::Map(b) => {
                    b.items.retain(|i| matches!(i, Item::Entry { .. }));
                    todo.extend(b.items.iter_mut().filter_map(|i| match i {
                        Item::Entry { value, .. } => Some(value),
                        _ => None,
                    }));
                }
                Node::List(items) => {
                    items.retain(|i| matches!(i, ListItem::Value(_)));
                    todo.extend(items.iter_mut().filter_map(|i| match i {
                        ListItem::Value(v) => Some(v),
                        _ => None,
                    }));
                }
                Node::Leaf(_) => {}
            }
        }
    }
}

/// One item of a map: an entry, a comment, or a blank line kept for layout (dotenv, INI).
#[derive(Clone, PartialEq, Debug)]
pub enum Item<L> {
    Entry {
        key: String,
        value: Node<L>,
    },
    /// A comment line; the leaf holds `Scalar::Comment` (or its `ENC[...]` form).
    /// `inline` comments sat at the end of the entry that follows them in the list.
    Comment {
        text: L,
        inline: bool,
    },
    Blank,
}

/// One item of a list.
#[derive(Clone, PartialEq, Debug)]
pub enum ListItem<L> {
    Value(Node<L>),
    Comment { text: L, inline: bool },
}

/// An ordered map: the unit sops calls a tree branch.
#[derive(Clone, PartialEq, Debug)]
pub struct Branch<L> {
    pub items: Vec<Item<L>>,
}

impl<L> Default for Branch<L> {
    fn default() -> Self {
        Branch { items: Vec::new() }
    }
}

impl<L> Branch<L> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, key: &str) -> Option<&Node<L>> {
        self.items.iter().find_map(|item| match item {
            Item::Entry { key: k, value } if k == key => Some(value),
            _ => None,
        })
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node<L>> {
        self.items.iter_mut().find_map(|item| match item {
            Item::Entry { key: k, value } if k == key => Some(value),
            _ => None,
        })
    }

    /// Removes an entry and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Node<L>> {
        let idx = self
            .items
            .iter()
            .position(|item| matches!(item, Item::Entry { key: k, .. } if k == key))?;
        match self.items.remove(idx) {
            Item::Entry { value, .. } => Some(value),
            _ => None,
        }
    }

    /// Sets a key, keeping its position when it exists, appending otherwise.
    pub fn insert(&mut self, key: String, value: Node<L>) {
        match self.get_mut(&key) {
            Some(slot) => *slot = value,
            None => self.items.push(Item::Entry { key, value }),
        }
    }

    pub fn entries(&self) -> impl Iterator<Item = (&str, &Node<L>)> {
        self.items.iter().filter_map(|item| match item {
            Item::Entry { key, value } => Some((key.as_str(), value)),
            _ => None,
        })
    }

    /// Maps every leaf (values and comments) through `f`, keeping the shape; `path` is the
    /// list of map keys leading to the leaf (list indices are not part of it, as in sops).
    pub fn try_map<M, E>(
        &self,
        f: &mut impl FnMut(&L, &[&str]) -> Result<M, E>,
    ) -> Result<Branch<M>, E> {
        let mut path = Vec::new();
        map_branch(self, &mut path, f)
    }
}

fn map_branch<'a, L, M, E>(
    branch: &'a Branch<L>,
    path: &mut Vec<&'a str>,
    f: &mut impl FnMut(&L, &[&str]) -> Result<M, E>,
) -> Result<Branch<M>, E> {
    let mut items = Vec::with_capacity(branch.items.len());
    for item in &branch.items {
        items.push(match item {
            Item::Entry { key, value } => {
                path.push(key.as_str());
                let value = map_node(value, path, f);
                path.pop();
                Item::Entry {
                    key: key.clone(),
                    value: value?,
                }
            }
            Item::Comment { text, inline } => Item::Comment {
                text: f(text, path)?,
                inline: *inline,
            },
            Item::Blank => Item::Blank,
        });
    }
    Ok(Branch { items })
}

fn map_node<'a, L, M, E>(
    node: &'a Node<L>,
    path: &mut Vec<&'a str>,
    f: &mut impl FnMut(&L, &[&str]) -> Result<M, E>,
) -> Result<Node<M>, E> {
    Ok(match node {
        Node::Map(b) => Node::Map(map_branch(b, path, f)?),
        Node::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(match item {
                    ListItem::Value(v) => ListItem::Value(map_node(v, path, f)?),
                    ListItem::Comment { text, inline } => ListItem::Comment {
                        text: f(text, path)?,
                        inline: *inline,
                    },
                });
            }
            Node::List(out)
        }
        Node::Leaf(l) => Node::Leaf(f(l, path)?),
    })
}

/// Converts a tree of one scalar-bearing leaf type into another without any crypto.
pub fn convert<A: Leaf, B: Leaf>(branch: &Branch<A>) -> Branch<B> {
    branch
        .try_map::<B, std::convert::Infallible>(&mut |l, _| Ok(B::from_scalar(l.scalar().clone())))
        .unwrap_or_else(|never| match never {})
}

#[cfg(test)]
mod sops_float_tests {
    use super::*;

    #[test]
    fn floats_as_sops_exec_env_prints_them() {
        let shown = |f: f64| {
            let mut out = SecretText::new();
            write_sops_float(&mut out, f);
            out.into_public_string()
        };
        for (f, want) in [
            (1.5e-7, "1.5E-07"),
            (1.0e20, "1E+20"),
            (123456789.123, "1.23456789123E+08"),
            (100000.0, "100000.0"),
            (2.5, "2.5"),
            (2.0, "2.0"),
            (0.0001, "0.0001"),
            (-0.0, "-0.0"),
            (-1234567.0, "-1.234567E+06"),
        ] {
            assert_eq!(shown(f), want, "{f}");
        }
    }
}
