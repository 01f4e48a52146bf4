//! Lays out the passphrase word list (the EFF large list from `diceware_wordlists`) as
//! one string and a table of end offsets. The crate's `[&str; 7776]` is 7,776 pointers
//! the dynamic loader relocates, in pages it must copy, at every start of every command:
//! a quarter of the binary's relocations, for a list only `generate` reads.
//!
//! Also links GCC's unwinder into the binary on Linux with glibc (see
//! [`link_unwinder_statically`]).

use std::fmt::Write as _;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // The four words with a hyphen (drop-down, felt-tip, t-shirt, yo-yo) are left out, so
    // that a passphrase joined by `-` splits back into its words.
    let words: Vec<&str> = diceware_wordlists::EFF_LONG_WORDLIST
        .iter()
        .copied()
        .filter(|w| !w.contains('-'))
        .collect();
    let mut text = String::new();
    let mut ends = String::new();
    for w in &words {
        text.push_str(w);
        write!(ends, "{},", text.len()).unwrap();
    }
    let source = format!(
        "/// The words, one after another.\n\
         static WORD_TEXT: &str = {text:?};\n\
         /// Where each word ends in [`WORD_TEXT`].\n\
         static WORD_ENDS: [u32; {}] = [{ends}];\n",
        words.len()
    );
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("words.rs");
    std::fs::write(out, source).unwrap();
    link_unwinder_statically();
}

/// What `gcc -static-libgcc` does: the unwinder (`_Unwind_*`, for panics and backtraces)
/// from GCC's `libgcc_eh.a` instead of `libgcc_s.so`. Every start of a dynamic binary maps,
/// relocates and binds each shared library it needs; `libgcc_s` cost `exec` about 0.3 ms of
/// its 2 ms budget (docs/exec.md). rustc asks for `-lgcc_s` by name and has no flag for
/// this outside a fully static build, so a directory searched before the system's holds a
/// `libgcc_s.a` that is GCC's `libgcc_eh.a`. It is the unwinder a static build links, the
/// same code. Skipped (the shared library is used) when cross-compiling, for a static
/// build, when the compiler does not name the archive, or with `SECRETS_SHARED_LIBGCC=1`.
fn link_unwinder_statically() {
    println!("cargo:rerun-if-env-changed=SECRETS_SHARED_LIBGCC");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let native_gnu = var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && var("TARGET") == var("HOST");
    let static_build = var("CARGO_CFG_TARGET_FEATURE")
        .split(',')
        .any(|f| f == "crt-static");
    if !native_gnu || static_build || var("SECRETS_SHARED_LIBGCC") == "1" {
        return;
    }
    let compiler = std::env::var("RUSTC_LINKER").unwrap_or_else(|_| "cc".into());
    let Ok(out) = std::process::Command::new(&compiler)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
    else {
        return;
    };
    let archive = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    // A compiler that does not have the file prints its bare name back.
    if !out.status.success() || !archive.is_absolute() || !archive.is_file() {
        return;
    }
    let dir = std::path::Path::new(&var("OUT_DIR")).join("static-libgcc");
    let link = dir.join("libgcc_s.a");
    // Removed first: copying onto an earlier build's symlink would write through it.
    let _ = std::fs::remove_file(&link);
    if std::fs::create_dir_all(&dir).is_ok() && std::fs::copy(&archive, &link).is_ok() {
        println!("cargo:rustc-link-search=native={}", dir.display());
    }
}
