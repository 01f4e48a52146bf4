//! The format-neutral document model shared by every store and by the crypto layer.
//!
//! A document is one or more branches (YAML has several documents per file; every other
//! format has one). A branch is an ordered map whose items are entries, comments or blank
//! lines, so key order and comments survive a decrypt/edit/encrypt round trip.

pub mod path;
pub mod secret;
pub mod tree;

pub use path::{DottedMatch, KeyPath, PathSegment};
pub use secret::{SecretBuf, SecretText};
pub use tree::{Branch, Item, ListItem, Node, Plain, Scalar, Sealed};
