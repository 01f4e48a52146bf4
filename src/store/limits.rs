//! The limits every parser of untrusted text enforces, in one place. Files come from a
//! repository that anyone with write access can change, and every teammate's `status`,
//! `scan` and pre-commit hook parses them before any MAC is checked: a hostile file must
//! fail fast, with its line, instead of exhausting the stack or memory.
//!
//! Where each is checked: the sizes where bytes become a tree ([`super::parse_bytes`],
//! [`super::parse_encrypted`], the config loader) and, for files read from disk, while
//! reading (a symlink to `/dev/zero` stops at the limit); depth and aliases in the YAML
//! builder (the config's YAML reader uses the same depth); JSON depth in serde_json (its own
//! recursion limit is this same 128); list indexes in the flattened metadata of dotenv
//! and INI files. `docs/threat-model.md` lists them with their reasons.

use crate::metadata::flat::FlatLimits;

/// Nesting depth of maps and lists: serde_json's own limit (it reads 127 nested maps and
/// lists, refuses 128), which the YAML builder, the config reader and flattened metadata
/// follow (YAML reads 128, refuses 129). 30,000 levels overflowed the stack (issue 10).
pub const MAX_DEPTH: usize = 128;

/// Values that YAML aliases may add beyond those written in the text: at least this many,
/// else up to [`ALIAS_RATIO`] times the values written. go-yaml (and so sops) refuses
/// "excessive aliasing" the same way; a billion-laughs file stops here.
pub const MIN_ALIAS_BUDGET: usize = 10_000;
pub const ALIAS_RATIO: usize = 10;

/// How many values aliases may add to a document with `written` values in its text.
pub fn alias_budget(written: usize) -> usize {
    MIN_ALIAS_BUDGET.max(written.saturating_mul(ALIAS_RATIO))
}

/// Bytes of keys and values that YAML aliases may copy: at least this many, else up to
/// [`ALIAS_RATIO`] times the text's length. Counting values alone let one 100 KB value
/// aliased 9,990 times (a 224 KB file) take 1.3 GB before any MAC was checked.
pub const MIN_ALIAS_BYTES: usize = 1 << 20;

/// How many bytes aliases may copy in a text of `text_len` bytes.
pub fn alias_byte_budget(text_len: usize) -> usize {
    MIN_ALIAS_BYTES.max(text_len.saturating_mul(ALIAS_RATIO))
}

/// The largest list index in a flattened key (`sops_age__list_N__map_enc`): metadata lists
/// hold one entry per recipient, never thousands.
pub const MAX_FLAT_LIST_INDEX: usize = 10_000;

/// The bounds of flattened dotenv/INI metadata: [`MAX_FLAT_LIST_INDEX`], [`MAX_DEPTH`].
pub const FLAT: FlatLimits = FlatLimits {
    max_index: MAX_FLAT_LIST_INDEX,
    max_depth: MAX_DEPTH,
};

/// The largest plaintext file of any format (YAML, JSON, dotenv, INI, binary) that is
/// encrypted or edited: 256 MiB. The largest files these tools are meant for are
/// megabytes (the benchmarks use 10 MB); a tree costs a few times its text in memory.
pub const MAX_PLAIN_SIZE: u64 = 256 << 20;

/// The largest encrypted file read: 1 GiB. Encryption grows a file (base64, an IV and a
/// tag per value: a 256 MiB binary file becomes a 342 MiB envelope, a YAML file of short
/// values several times its size), and a file we write must read back, so writing one
/// larger than this is refused too.
pub const MAX_ENCRYPTED_SIZE: u64 = 1 << 30;

/// The largest `.secrets.yaml` or `.sops.yaml` read: 1 MiB, some 10,000 environments.
pub const MAX_CONFIG_SIZE: u64 = 1 << 20;

/// A size as a short text: `256 MiB`, `1 GiB`.
pub fn size_text(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n => format!("{n} bytes"),
    }
}
