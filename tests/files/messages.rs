//! Issue 10, case 8 (the CLI messages) and two small robustness cases, with the real
//! binary: each failure names what the user can act on (the variable over the kernel's
//! limit, the directory that cannot be written, the user's own path, the key that dotenv
//! cannot hold), never a value and never one of our temp paths; `scan --write-baseline`
//! takes the baseline's lock and `hook install` replaces the hook in one rename.

use super::common::*;
use std::path::Path;
use std::process::{Command, Output};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The error lines of a failed command (without the `hint:` lines).
fn error_line(out: &Output) -> String {
    stderr(out)
        .lines()
        .filter(|l| !l.starts_with("hint:"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `c` as a process that cannot override file permissions: as root (CI containers), the
/// same command under `setpriv` without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH, so a
/// read-only directory is read-only to it; as root without setpriv, the test fails.
fn without_override(c: Command) -> Option<Command> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some(c);
    }
    // As root, setpriv (util-linux) is the oracle: without it the test would test nothing.
    let setpriv = oracle(
        "setpriv (root cannot be denied a read-only directory)",
        on_path("setpriv"),
    )?;
    let mut w = Command::new(setpriv);
    w.args(["--bounding-set", "-dac_override,-dac_read_search", "--"])
        .arg(c.get_program())
        .args(c.get_args());
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => w.env(k, v),
            None => w.env_remove(k),
        };
    }
    if let Some(d) = c.get_current_dir() {
        w.current_dir(d);
    }
    Some(w)
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A value over the kernel's 128 KiB cap on one `NAME=value` string: the error names the
/// variable and the cap and points at `--file-env`, before anything starts; a value just
/// under the cap still passes, and `--file-env` carries the big one.
#[test]
fn exec_names_the_variable_over_the_kernels_128_kib_cap() {
    let ks = KeyedSandbox::new();
    let big = "v".repeat(200 * 1024);
    let fits = "w".repeat(128 * 1024 - "FITS=".len() - 1);
    ks.encrypted("app.yaml", &format!("big: {big}\nfits: {fits}\nsmall: s\n"));
    let out = ks.run(&["exec", "-f", "app.yaml", "--", "true"]);
    let err = error_line(&out);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        err.contains("BIG") && err.contains("128 KiB") && err.contains("app.yaml"),
        "{err}"
    );
    assert!(!err.contains("FITS") && !err.contains("vvvv"), "{err}");
    assert!(stderr(&out).contains("--file-env"), "{}", stderr(&out));
    // Only the big one left out: the one at the cap goes through.
    let out = ks.run(&[
        "exec",
        "-f",
        "app.yaml",
        "--only",
        "fits",
        "--",
        "sh",
        "-c",
        "printf %s \"$FITS\" | wc -c",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        fits.len().to_string()
    );
    let out = ks.run(&[
        "exec",
        "-f",
        "app.yaml",
        "--file-env",
        "--",
        "sh",
        "-c",
        "wc -c < \"$BIG_FILE\"",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        big.len().to_string()
    );
}

/// Writing into a directory the user cannot write names that directory (and the file).
#[test]
fn a_read_only_directory_is_named() {
    let ks = KeyedSandbox::new();
    std::fs::create_dir(ks.path("ro")).unwrap();
    ks.encrypted("ro/s.yaml", "a: hunter2\n");
    std::fs::write(ks.path("ro/plain.yaml"), "b: 1\n").unwrap();
    let before = std::fs::read(ks.path("ro/s.yaml")).unwrap();
    set_mode(&ks.path("ro"), 0o555);
    let cases: [(&[&str], &str); 4] = [
        (&["set", "ro/s.yaml", "a", "x"], "ro/s.yaml"),
        (
            &["decrypt", "ro/s.yaml", "-o", "ro/out.yaml"],
            "ro/out.yaml",
        ),
        (
            &["encrypt", "-i", "--age", &ks.public, "ro/plain.yaml"],
            "ro/plain.yaml",
        ),
        (
            &[
                "export",
                "-f",
                "ro/s.yaml",
                "--format",
                "dotenv",
                "-o",
                "ro/x.env",
            ],
            "ro/x.env",
        ),
    ];
    for (args, file) in cases {
        let mut c = ks.cmd();
        c.args(args);
        let Some(mut c) = without_override(c) else {
            set_mode(&ks.path("ro"), 0o755);
            return;
        };
        let out = c.output().unwrap();
        let err = error_line(&out);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(
            err.contains(file) && err.contains("directory ro ") && err.contains("not writable"),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("hunter2") && !err.contains(".secrets-tmp"),
            "{err}"
        );
    }
    set_mode(&ks.path("ro"), 0o755);
    assert_eq!(std::fs::read(ks.path("ro/s.yaml")).unwrap(), before);
}

/// A variable name too long for a file name: the error names the variable and the user's
/// directory, never the private directory the files are first written to.
#[test]
fn docker_secrets_dir_names_the_users_path_for_a_long_name() {
    let ks = KeyedSandbox::new();
    let name = "K".repeat(300);
    ks.encrypted("s.yaml", &format!("{name}: v\nok: w\n"));
    let out = ks.run(&[
        "export",
        "-f",
        "s.yaml",
        "--format",
        "docker-secrets-dir",
        "-o",
        "run-secrets",
    ]);
    let err = error_line(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("s.yaml") && err.contains("255") && err.contains("run-secrets"),
        "{err}"
    );
    assert!(!err.contains(".secrets-export"), "our temp path: {err}");
    assert!(!ks.path("run-secrets").exists());
    let leftovers: Vec<_> = std::fs::read_dir(ks.dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".secrets-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// `-o` naming a directory: said so, instead of "Device or resource busy".
#[test]
fn output_that_is_a_directory_is_refused_clearly() {
    let ks = KeyedSandbox::new();
    ks.encrypted("s.yaml", "a: hunter2\n");
    std::fs::create_dir(ks.path("outdir")).unwrap();
    for args in [
        &["decrypt", "s.yaml", "-o", "."][..],
        &["decrypt", "s.yaml", "-o", "outdir"],
        &["export", "-f", "s.yaml", "--format", "dotenv", "-o", "."],
    ] {
        let out = ks.run(args);
        let err = error_line(&out);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        let dir = args.last().unwrap();
        assert!(
            err.contains(&format!("{dir}: is a directory; give a file path")),
            "{args:?}: {err}"
        );
        assert!(!err.contains("busy"), "{err}");
    }
    assert_eq!(std::fs::read_dir(ks.path("outdir")).unwrap().count(), 0);
}

/// `set f.env 'TOK=EN' …`: a dotenv key cannot hold `=`. A bad key path (exit 91) naming
/// the key up to the `=` (what follows may be the value the user meant), with the right
/// command as a hint; the file is untouched. Without a value, the same.
#[test]
fn set_key_with_equals_on_dotenv_is_a_bad_key_path() {
    let ks = KeyedSandbox::new();
    ks.encrypted("f.env", "A=1\n");
    let before = std::fs::read(ks.path("f.env")).unwrap();
    for args in [
        &["set", "f.env", "TOK=EN", "x"][..],
        &["set", "f.env", "TOK=EN"],
    ] {
        let out = ks.run(args);
        let all = stderr(&out);
        assert_eq!(out.status.code(), Some(91), "{args:?}: {all}");
        let err = error_line(&out);
        assert!(err.contains("f.env") && err.contains("\"TOK=…\""), "{err}");
        assert!(
            !all.contains("EN\"") && !all.contains("TOK=EN"),
            "echoed: {all}"
        );
        assert!(
            all.contains("hint:") && all.contains("set f.env TOK"),
            "{all}"
        );
        assert_eq!(std::fs::read(ks.path("f.env")).unwrap(), before);
    }
    let mut c = ks.cmd();
    let out = c
        .args(["set", "f.env", "TOK=EN", "--value-stdin"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(91), "{}", stderr(&out));
    // The key as two arguments works.
    ks.ok(&["set", "f.env", "TOK", "EN"]);
    assert_eq!(ks.ok(&["get", "f.env", "TOK"]), b"EN");
}

/// A key outside any section of an INI file is a key path the format cannot hold: exit 91
/// with the file and key named and a hint (it failed as an unwritable output, exit 3).
#[test]
fn set_of_a_top_level_ini_key_is_a_bad_key_path() {
    let ks = KeyedSandbox::new();
    ks.encrypted("s.ini", "[db]\npassword = p\n");
    let before = std::fs::read(ks.path("s.ini")).unwrap();
    let out = ks.run(&["set", "s.ini", "token", "t-VALUE"]);
    let all = stderr(&out);
    assert_eq!(out.status.code(), Some(91), "{all}");
    assert!(error_line(&out).contains("s.ini: key [\"token\"]"), "{all}");
    assert!(all.contains("hint: name its section"), "{all}");
    assert!(!all.contains("t-VALUE"), "{all}");
    assert_eq!(std::fs::read(ks.path("s.ini")).unwrap(), before);
    ks.ok(&["set", "s.ini", "db.token", "t-VALUE"]);
    assert_eq!(ks.ok(&["get", "s.ini", "db.token"]), b"t-VALUE");
}

/// A dotenv key on two lines: `set` and `unset` refuse it, naming the key and how often
/// (before, `set` changed the first line while loaders kept using the last, and `unset`
/// left the last in place).
#[test]
fn set_and_unset_refuse_a_dotenv_key_written_twice() {
    let ks = KeyedSandbox::new();
    ks.encrypted("f.env", "A=1-VALUE\nB=2\nA=3-VALUE\n");
    let before = std::fs::read(ks.path("f.env")).unwrap();
    for args in [&["set", "f.env", "A", "x"][..], &["unset", "f.env", "A"]] {
        let out = ks.run(args);
        let all = stderr(&out);
        assert_eq!(out.status.code(), Some(91), "{args:?}: {all}");
        assert!(
            error_line(&out).contains("f.env: key A is written 2 times"),
            "{all}"
        );
        assert!(
            all.contains("hint: keep one of them: secrets edit f.env"),
            "{all}"
        );
        assert!(!all.contains("VALUE"), "{all}");
        assert_eq!(std::fs::read(ks.path("f.env")).unwrap(), before);
    }
    ks.ok(&["set", "f.env", "B", "x"]);
}

/// `edit` of a new file settles its keys and rules before the editor opens, as sops does:
/// a conflict of flags and config is said before anything is typed (a review find: it was
/// found after the editor closed, and the typed text was lost with it).
#[test]
fn edit_of_a_new_file_refuses_conflicting_rules_before_the_editor_opens() {
    let ks = KeyedSandbox::new();
    std::fs::write(
        ks.path(".sops.yaml"),
        format!(
            "creation_rules:\n  - age: {}\n    encrypted_regex: ^a$\n",
            ks.public
        ),
    )
    .unwrap();
    let opened = ks.path("editor-ran");
    let editor = ks.path("ed.sh");
    std::fs::write(
        &editor,
        format!(
            "#!/bin/sh\ntouch {}\necho 'a: 1' > \"$1\"\n",
            opened.display()
        ),
    )
    .unwrap();
    set_mode(&editor, 0o755);
    let out = ks
        .cmd()
        .env("EDITOR", &editor)
        .args(["edit", "--unencrypted-suffix", "_u", "new.yaml"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    assert!(!opened.exists(), "the editor ran");
    assert!(!ks.path("new.yaml").exists());
}

/// `scan --write-baseline` is a read-modify-write of the baseline: it takes the file's
/// lock, so while another command holds it, it waits, then fails with 75 and writes
/// nothing.
#[test]
fn write_baseline_takes_the_baselines_lock() {
    let sb = Sandbox::new();
    sb.write(
        "a.env",
        "GITHUB_TOKEN=ghp_hGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8rES\n",
    );
    let baseline = sb.write(
        ".secrets-baseline.json",
        "{\"version\": 1, \"findings\": []}\n",
    );
    let before = std::fs::read(&baseline).unwrap();
    let holder = hold_lock(&baseline);
    let out = sb
        .std_cmd()
        .env("SECRETS_LOCK_TIMEOUT", "0.3")
        .args(["scan", "--write-baseline", "--no-known"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(75), "{err}");
    assert!(
        err.contains(".secrets-baseline.json") && err.contains("busy"),
        "{err}"
    );
    assert_eq!(std::fs::read(&baseline).unwrap(), before);
    drop(holder);
    let out = sb
        .std_cmd()
        .args(["scan", "--write-baseline", "--no-known"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read_to_string(&baseline)
        .unwrap()
        .contains("a.env"));
}

/// `hook install` replaces the hook by a rename (a commit running the hook meanwhile reads
/// the old script or the new one, never a truncated one): a new inode, mode 0755.
#[test]
fn hook_install_replaces_the_hook_atomically() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let sb = Sandbox::new();
    let git = |args: &[&str]| {
        let s = Command::new("git")
            .args(args)
            .current_dir(sb.dir.path())
            .output()
            .unwrap();
        assert!(s.status.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    sb.cmd().args(["hook", "install"]).assert().success();
    let hook = sb.path(".git/hooks/pre-commit");
    let first = std::fs::metadata(&hook).unwrap();
    // Someone made it 0644 and keeps a second name for it.
    set_mode(&hook, 0o644);
    let text = std::fs::read_to_string(&hook).unwrap();
    sb.cmd().args(["hook", "install"]).assert().success();
    let second = std::fs::metadata(&hook).unwrap();
    assert_ne!(first.ino(), second.ino(), "the hook was rewritten in place");
    assert_eq!(second.permissions().mode() & 0o777, 0o755);
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), text);
}
