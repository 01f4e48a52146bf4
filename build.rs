//! Lays out the passphrase word list (the EFF large list from `diceware_wordlists`) as
//! one string and a table of end offsets. The crate's `[&str; 7776]` is 7,776 pointers
//! the dynamic loader relocates, in pages it must copy, at every start of every command:
//! a quarter of the binary's relocations, for a list only `generate` reads.

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
}
