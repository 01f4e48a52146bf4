//! The fuzz targets' properties on stable: every file of `fuzz/corpus/<target>/` (the
//! minimized corpus) and `fuzz/regressions/<target>/` (every input that ever failed) is
//! run through the same function of `secrets::fuzzing` that the cargo-fuzz target calls.
//! A failure names the target and the file. See docs/fuzzing.md.

use std::panic;
use std::path::{Path, PathBuf};

use secrets::fuzzing::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

#[test]
fn every_corpus_and_regression_input_passes() {
    // The properties report by panicking; keep the output to the summary below.
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();
    let mut total_bytes = 0u64;
    for (name, property) in TARGETS {
        let corpus = files(&fuzz_dir().join("corpus").join(name));
        assert!(
            !corpus.is_empty(),
            "fuzz/corpus/{name}/ is empty: every target keeps a seed corpus"
        );
        let regressions = files(&fuzz_dir().join("regressions").join(name));
        for path in corpus.iter().chain(&regressions) {
            let data = std::fs::read(path).unwrap();
            total_bytes += data.len() as u64;
            if let Err(cause) = panic::catch_unwind(|| property(&data)) {
                let msg = cause
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| cause.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                let rel = path.strip_prefix(fuzz_dir()).unwrap_or(path);
                failures.push(format!("{name}: fuzz/{}: {msg}", rel.display()));
            }
        }
    }
    panic::set_hook(hook);
    assert!(
        failures.is_empty(),
        "{} inputs fail their property:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        total_bytes < 2 << 20,
        "the fuzz corpus holds {total_bytes} bytes: minimize it (docs/fuzzing.md)"
    );
}

#[test]
fn every_target_has_a_cargo_fuzz_binary() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for (name, _) in TARGETS {
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has no [[bin]] {name}"
        );
        let src = std::fs::read_to_string(fuzz_dir().join(format!("fuzz_targets/{name}.rs")))
            .unwrap_or_default();
        assert!(
            src.contains(&format!("secrets::fuzzing::{name}(")),
            "fuzz/fuzz_targets/{name}.rs does not call secrets::fuzzing::{name}"
        );
    }
}
