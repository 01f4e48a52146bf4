//! # secrets: a team's secrets in git, encrypted
//!
//! (crate documentation is written in `src/design.md`, included here)
#![doc = include_str!("design.md")]

pub mod audit;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod engine;
pub mod exec;
pub mod export;
pub mod fsutil;
#[doc(hidden)]
pub mod fuzzing;
pub mod git;
pub mod hardening;
pub mod history;
pub mod hook;
pub mod import;
pub mod keys;
pub mod merge;
pub mod metadata;
pub mod model;
pub mod policy;
pub mod scan;
pub mod shellfiles;
pub mod store;
pub mod team;
pub mod tempfiles;
pub mod terminal;
pub mod vault;
pub mod workspace;
