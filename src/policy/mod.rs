//! Policy: what a team requires of its secrets' *values*, beyond keeping them encrypted.
//! Configuration guides agree on the rules (a Django `SECRET_KEY` of 50 characters, no
//! `sk_test_` key in production, production values unlike development ones, rotation every
//! 30–90 days); hosted managers enforce them with policies and cron jobs. Here they live in
//! `.secrets.yaml` beside the team, and git is the clock.
//!
//! - [`check`]: an environment's values against the schema (the section itself is
//!   [`crate::config::schema`], read with the rest of the config).
//! - [`builtin`]: the well-known weak values no production environment may hold.
//! - [`generate`]: new values for `secrets generate` and `set --generate`, from the OS's
//!   CSPRNG, in the format the schema's `generate:` names and meeting its rules.
//! - [`staleness`]: when each value last changed, from git history: a value that did not
//!   change keeps its ciphertext byte for byte, so the commits that still hold it tell its age.
//!
//! Nothing here prints, reads the process environment, or exits.

pub mod builtin;
pub mod check;
pub mod generate;
pub mod staleness;
