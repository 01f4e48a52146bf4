//! Triage of a fuzzing run's failing inputs (docs/fuzzing.md):
//! `cargo run --example fuzz_triage -- parse_yaml fuzz/artifacts/parse_yaml`
//! prints each file of the directory whose input fails the target's property, with the
//! first line of the failure and the input.

use std::panic;
use std::path::PathBuf;
use std::process::ExitCode;

use secrets::fuzzing::TARGETS;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, dir] = args.as_slice() else {
        eprintln!("usage: fuzz_triage TARGET DIR");
        return ExitCode::from(2);
    };
    let Some((_, property)) = TARGETS.iter().find(|(n, _)| n == name) else {
        let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
        eprintln!(
            "fuzz_triage: no target {name:?} (targets: {})",
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| e.ok()).map(|e| e.path()).collect(),
        Err(e) => {
            eprintln!("fuzz_triage: {dir}: {e}");
            return ExitCode::from(2);
        }
    };
    files.retain(|p| p.is_file());
    files.sort();
    panic::set_hook(Box::new(|_| {}));
    let mut failed = 0;
    for path in files {
        let Ok(data) = std::fs::read(&path) else {
            continue;
        };
        if let Err(cause) = panic::catch_unwind(|| property(&data)) {
            failed += 1;
            let msg = cause
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| cause.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            println!(
                "{}\t{}\t{:?}",
                path.display(),
                msg.lines().next().unwrap_or(""),
                String::from_utf8_lossy(&data)
            );
        }
    }
    ExitCode::from(u8::from(failed > 0))
}
