//! Issue 10, cases 4 and 9 and the parser limits: hostile files, one regression file per
//! case (`testdata/hostile/`, or generated here when large), run through every command
//! that parses them as real processes. Each must fail fast with one line naming the file
//! (and the line where known) and the documented exit code: never a signal (the stack
//! overflow of 30,000 levels was exit 134), never gigabytes of memory (each process runs
//! under a 4 GiB address-space limit, so a billion laughs would abort), never a hang (a
//! FIFO config; each process is killed after 60 s).
//!
//! A file is put alone in a repository whose environment `dev` holds `h/**`, and staged,
//! so that `status`, `updatekeys`, `rotate`, `scan` and `scan --staged` (the pre-commit
//! hook) meet it as a teammate's commit would bring it.

use super::common::*;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn hostile(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/hostile")
        .join(name)
}

/// A sops block (from a real encrypted file) to append to generated hostile data.
fn sops_block() -> String {
    let text = std::fs::read_to_string(hostile("list-index.yaml")).unwrap();
    let at = text.find("sops:\n").unwrap();
    text[at..].replace("    age__list_4000000000__map_enc: x\n", "")
}

/// A repository with `.secrets.yaml` (environment `dev`: `h/**`, this sandbox's key).
fn repo() -> KeyedSandbox {
    let ks = KeyedSandbox::new();
    git2::Repository::init(ks.dir()).unwrap();
    std::fs::write(
        ks.path(".secrets.yaml"),
        format!(
            "members:\n  me: {}\nenvironments:\n  dev:\n    files: [\"h/**\"]\n    members: [me]\n",
            ks.public
        ),
    )
    .unwrap();
    std::fs::create_dir_all(ks.path("h")).unwrap();
    ks
}

/// Stages everything (for `scan --staged`).
fn stage(ks: &KeyedSandbox) {
    let repo = git2::Repository::open(ks.dir()).unwrap();
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
}

/// Runs the binary with a 4 GiB address-space limit, killed after 60 s.
fn run(ks: &KeyedSandbox, args: &[&str]) -> Output {
    let mut c: Command = ks.cmd();
    c.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        c.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 4 << 30,
                rlim_max: 4 << 30,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = c.spawn().unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "secrets {args:?} hung: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().unwrap()
}

/// Asserts exit `code` (no signal) and that the first line of `stderr` (or of `stdout`
/// for `scan`, whose findings go there) names `file` and each of `words`.
fn refused(out: &Output, what: &str, code: i32, file: &str, words: &[&str]) {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(
        out.status.signal(),
        None,
        "{what}: killed by a signal: {stderr}"
    );
    assert_eq!(out.status.code(), Some(code), "{what}: {stdout}{stderr}");
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    let line = stdout
        .lines()
        .chain(stderr.lines())
        .find(|l| l.contains(file))
        .unwrap_or_else(|| panic!("{what}: {file} not named: {stdout}{stderr}"));
    for w in words {
        assert!(line.contains(w), "{what}: {w:?} not in {line:?}");
    }
}

/// Every command that parses an encrypted file, on `h/<name>` holding `bytes`: exit 2 with
/// the file named and `words` said (scan: a finding, exit 1).
fn every_command_refuses(name: &str, bytes: &[u8], words: &[&str]) {
    let ks = repo();
    let rel = format!("h/{name}");
    std::fs::write(ks.path(&rel), bytes).unwrap();
    stage(&ks);
    for args in [
        vec!["decrypt", rel.as_str()],
        vec!["exec", "-f", rel.as_str(), "--", "true"],
        vec!["exec", "--env", "dev", "--", "true"],
        vec!["status"],
        vec!["updatekeys"],
        vec!["rotate"],
    ] {
        let what = format!("{name}: {args:?}");
        refused(&run(&ks, &args), &what, 2, &rel, words);
    }
    for args in [vec!["scan"], vec!["scan", "--staged"]] {
        let what = format!("{name}: {args:?}");
        let mut words = words.to_vec();
        words.push("cannot be read as an encrypted file");
        refused(&run(&ks, &args), &what, 1, &rel, &words);
    }
}

#[test]
fn nesting_30000_levels_deep_fails_with_its_line() {
    // Issue 10, case 4: 60 KB of `- - - … x` plus a copied sops block overflowed the
    // stack (exit 134) in decrypt, exec, scan, scan --staged, updatekeys and rotate.
    let yaml = format!("a:\n{}x\n{}", "- ".repeat(30_000), sops_block());
    every_command_refuses(
        "deep.yaml",
        yaml.as_bytes(),
        &["line 2, column", "nested deeper than 128 levels"],
    );
    let enc = "ENC[AES256_GCM,data:Cg==,iv:zedvmILgHhwVFOcOObq6GgnuDQNKIXuPIIRwSjPnd+I=,tag:ouIUXMLqWlOYKxBhfb8WgA==,type:str]";
    let json = format!(
        "{{\"t\": \"{enc}\", \"a\": {}{}, \"sops\": {{}}}}",
        "[".repeat(30_000),
        "]".repeat(30_000)
    );
    every_command_refuses(
        "deep.json",
        json.as_bytes(),
        &["line 1, column", "nested 128 levels deep"],
    );
    let ks = repo();
    let plain = format!("a:\n{}x\n", "- ".repeat(30_000));
    std::fs::write(ks.path("h/plain.yaml"), plain).unwrap();
    let out = run(&ks, &["encrypt", "-i", "h/plain.yaml"]);
    refused(
        &out,
        "encrypt",
        2,
        "h/plain.yaml",
        &["nested deeper than 128"],
    );
}

#[test]
fn a_billion_laughs_stops_at_the_alias_budget() {
    // 500 bytes of aliases and a sops block took more than 4 GB in decrypt, status and
    // scan; 320 bytes of aliases encrypted into 155 MB.
    let bytes = std::fs::read(hostile("laughs.enc.yaml")).unwrap();
    every_command_refuses("laughs.enc.yaml", &bytes, &["line 5", "excessive aliasing"]);
    let ks = repo();
    std::fs::copy(hostile("laughs.yaml"), ks.path("h/laughs.yaml")).unwrap();
    let before = std::fs::read(ks.path("h/laughs.yaml")).unwrap();
    let out = run(&ks, &["encrypt", "-i", "h/laughs.yaml"]);
    refused(&out, "encrypt", 2, "h/laughs.yaml", &["excessive aliasing"]);
    assert_eq!(std::fs::read(ks.path("h/laughs.yaml")).unwrap(), before);
}

#[test]
fn one_long_value_aliased_thousands_of_times_stops_at_the_byte_budget() {
    // Found by the audit of issue 10: the budget counted values, so one 100 KB value
    // aliased 9,990 times (a 224 KB file) took 1.3 GB, and aborted under a memory limit,
    // in scan, status, decrypt and encrypt before any MAC was checked.
    let long = "x".repeat(100_000);
    let aliases = "    - *a\n".repeat(9_990);
    let yaml = format!("a: &a {long}\nb:\n{aliases}{}", sops_block());
    every_command_refuses(
        "long-alias.yaml",
        yaml.as_bytes(),
        &["line ", "excessive aliasing"],
    );
    let ks = repo();
    let plain = format!("a: &a {long}\nb:\n{aliases}");
    std::fs::write(ks.path("h/long-alias.yaml"), &plain).unwrap();
    let out = run(&ks, &["encrypt", "-i", "h/long-alias.yaml"]);
    refused(
        &out,
        "encrypt",
        2,
        "h/long-alias.yaml",
        &["excessive aliasing"],
    );
    assert_eq!(
        std::fs::read_to_string(ks.path("h/long-alias.yaml")).unwrap(),
        plain
    );
}

#[test]
fn a_flattened_list_index_never_sizes_an_allocation() {
    // Issue 10, case 9: `sops_age__list_4000000000__map_enc=x` aborted decrypt, and
    // status, updatekeys and scan parse every file holding ENC[AES256_GCM.
    for (name, words) in [
        (
            "list-index-full.env",
            &[
                "line 3",
                "sops_age__list_4000000000__map_enc",
                "larger than 10000",
            ][..],
        ),
        (
            "list-index.ini",
            &["age__list_4000000000__map_enc", "larger than 10000"][..],
        ),
        (
            "list-gap.env",
            &["sops_age__list_9999", "no entry at index 0"][..],
        ),
    ] {
        let bytes = std::fs::read(hostile(name)).unwrap();
        every_command_refuses(name, &bytes, words);
    }
    // The bare 37-byte file holds no ENC[…] value: decrypt reads it (and refuses it); the
    // repository-wide commands do not take it for an encrypted file.
    let ks = repo();
    std::fs::copy(hostile("list-index.env"), ks.path("h/list-index.env")).unwrap();
    let out = run(&ks, &["decrypt", "h/list-index.env"]);
    refused(
        &out,
        "decrypt",
        2,
        "h/list-index.env",
        &["larger than 10000"],
    );
    // JSON and YAML keep metadata nested: the same name is only an unknown metadata field
    // there, and the files (real encrypted files, for another key) are listed as usual.
    for name in ["list-index.json", "list-index.yaml"] {
        let ks = repo();
        std::fs::copy(hostile(name), ks.path(name)).unwrap();
        let out = run(&ks, &["status"]);
        assert_eq!(out.status.code(), Some(0), "{name}: {out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains(name));
    }
}

#[test]
fn sizes_are_capped_and_devices_refused_while_reading() {
    let ks = repo();
    // Sparse: no disk space, refused from its size before a byte is read.
    let big = std::fs::File::create(ks.path("h/big.yaml")).unwrap();
    big.set_len((256 << 20) + 1).unwrap();
    let out = run(&ks, &["encrypt", "--age", &ks.public, "h/big.yaml"]);
    refused(&out, "encrypt", 2, "h/big.yaml", &["larger than 256 MiB"]);
    let big = std::fs::File::create(ks.path("h/big.json")).unwrap();
    big.set_len((1 << 30) + 1).unwrap();
    let out = run(&ks, &["decrypt", "h/big.json"]);
    refused(&out, "decrypt", 2, "h/big.json", &["larger than 1 GiB"]);
    // A committed link to /dev/zero: refused at once, not read to the limit.
    std::os::unix::fs::symlink("/dev/zero", ks.path("h/zero.yaml")).unwrap();
    for args in [
        vec!["decrypt", "h/zero.yaml"],
        vec!["encrypt", "--age", &ks.public, "h/zero.yaml"],
        vec!["exec", "-f", "h/zero.yaml", "--", "true"],
    ] {
        let out = run(&ks, &args);
        let what = format!("{args:?}");
        refused(
            &out,
            &what,
            2,
            "h/zero.yaml",
            &["not a regular file (a device)"],
        );
    }
    // A pipe is still read: `decrypt <(…)` works.
    ks.encrypted("s.yaml", "a: b\n");
    let enc = std::fs::read_to_string(ks.path("s.yaml")).unwrap();
    let out = ks
        .cmd()
        .args(["decrypt", "--input-type", "yaml", "/dev/stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(enc.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a: b\n", "{out:?}");
}

/// The config comes with the repository too: only a regular file (a link to one is
/// followed) of at most 1 MiB, nested at most 128 levels, without aliases. Exit 5, the
/// code of every config error, naming the file (and line).
#[test]
fn hostile_configs_are_refused_without_hanging() {
    let config_refused = |ks: &KeyedSandbox, name: &str, words: &[&str]| {
        for args in [vec!["status"], vec!["env", "add", "x", "--files", "x/**"]] {
            let out = run(ks, &args);
            let what = format!("{name}: {args:?}");
            refused(&out, &what, 5, name, words);
        }
    };
    for name in [".secrets.yaml", ".sops.yaml"] {
        let ks = repo();
        std::fs::remove_file(ks.path(".secrets.yaml")).unwrap();
        let path = ks.path(name);
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: a valid path string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let words: &[&str] = &["not a regular file (a FIFO)"];
        let out = run(&ks, &["status"]);
        refused(&out, &format!("{name} FIFO"), 5, name, words);
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        let out = run(&ks, &["status"]);
        refused(
            &out,
            &format!("{name} -> /dev/zero"),
            5,
            name,
            &["(a device)"],
        );
    }
    let ks = repo();
    let config = ks.path(".secrets.yaml");
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{good}#{}\n", "x".repeat(1 << 20))).unwrap();
    config_refused(&ks, ".secrets.yaml", &["larger than 1 MiB"]);
    std::fs::write(&config, format!("{good}x:\n{}y\n", "- ".repeat(30_000))).unwrap();
    config_refused(&ks, ".secrets.yaml:", &["nested deeper than 128"]);
    std::fs::write(&config, format!("{good}x: [{}]\n", "[".repeat(30_000))).unwrap();
    config_refused(&ks, ".secrets.yaml:", &[]);
    let laughs = std::fs::read_to_string(hostile("laughs.yaml")).unwrap();
    std::fs::write(&config, format!("{good}{laughs}")).unwrap();
    config_refused(&ks, ".secrets.yaml:", &["not supported"]);
    // A link to a regular file is followed.
    std::fs::write(ks.path("team.yaml"), &good).unwrap();
    std::fs::remove_file(&config).unwrap();
    std::os::unix::fs::symlink("team.yaml", &config).unwrap();
    let out = run(&ks, &["status"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}
