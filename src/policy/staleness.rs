//! When each encrypted value last changed, from git history (built on a branch).
