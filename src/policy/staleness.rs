//! When each encrypted value last changed, from git history (being built on a branch; the
//! types below are its interface).

use std::fmt;

/// A value's last change: the commit, its author and author time (unix seconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub commit: String,
    pub author: String,
    pub email: String,
    pub time: i64,
    pub summary: String,
}

/// What git can tell about a value's age.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Freshness {
    Changed(Change),
    Uncommitted,
    Unknown(UnknownReason),
}

/// Why git cannot tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownReason(pub String);

impl fmt::Display for UnknownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why the history could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StaleError(pub String);

/// Per file, per value (key path as `exec` spells it): when it last changed. (Stub until
/// the history walk lands: every value unknown.)
pub fn last_changes(
    files: &[std::path::PathBuf],
) -> Result<std::collections::BTreeMap<std::path::PathBuf, Vec<(String, Freshness)>>, StaleError> {
    let _ = files;
    Ok(Default::default())
}
