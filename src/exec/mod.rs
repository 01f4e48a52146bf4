//! Running a program with decrypted values: the flattening rules that turn trees into
//! variable names ([`env`]), starting the program without a shell and passing signals on
//! ([`run`]), and the private tmpfs directory for `--file-env` ([`files`]).
//!
//! Why apart from the CLI: the rules are a contract (exports use the same names), and the
//! process handling is subtle enough to deserve its own small, tested modules. Nothing
//! here prints or picks exit codes.

pub mod env;
pub mod files;
pub mod run;
