//! The limits every parser of untrusted text enforces, in one place. Files come from a
//! repository that anyone with write access can change, and every teammate's `status`,
//! `scan` and pre-commit hook parses them before any MAC is checked: a hostile file must
//! fail fast, with its line, instead of exhausting the stack or memory.

/// Nesting depth of maps and lists (serde_json's own limit, so JSON and YAML agree).
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

/// The largest list index in a flattened key (`sops_age__list_N__map_enc`): metadata lists
/// hold one entry per recipient, never thousands.
pub const MAX_FLAT_LIST_INDEX: usize = 10_000;
