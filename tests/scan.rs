//! `secrets scan` and the pre-commit hook against real git repositories in temp dirs, with
//! real `git` commands. The secrets here are synthetic (random strings of the right shape);
//! this file is allowlisted in `.secrets-scan`.

mod common;
#[path = "scan/history.rs"]
mod history;
#[cfg(unix)]
#[path = "scan/hook.rs"]
mod hook;
#[cfg(unix)]
#[path = "scan/keys.rs"]
mod keys;

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::process::Command as Proc;

const AWS: &str = "AKIAUJZDEGXDNCF32EPF";
const GHP: &str = "ghp_hGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8rES";

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("secrets")
}

fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Proc::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("git runs");
    out
}

fn git_ok(dir: &Path, args: &[&str]) {
    let out = git(dir, args);
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn repo() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    git_ok(d.path(), &["init", "-q", "-b", "main"]);
    git_ok(d.path(), &["config", "commit.gpgsign", "false"]);
    d
}

fn scan(dir: &Path) -> Command {
    let mut c = Command::new(bin());
    c.current_dir(dir)
        .arg("scan")
        .env("SOPS_AGE_KEY_FILE", dir.join("no-such-key"))
        .env("HOME", dir);
    c
}

fn write(dir: &Path, name: &str, text: &str) {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(p, text).unwrap();
}

#[test]
fn working_tree_scan_finds_dotfiles_and_redacts() {
    let d = repo();
    write(d.path(), ".env", &format!("APP=1\nAWS_KEY={AWS}\n"));
    write(d.path(), "src/ok.txt", "nothing here\n");
    let out = scan(d.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(".env:2:9: aws-access-key-id"), "{stdout}");
    assert!(stdout.contains("AK************PF"), "{stdout}");
    assert!(!stdout.contains(AWS));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(AWS));
}

#[test]
fn clean_tree_exits_zero_and_traps_do_not_fire() {
    let d = repo();
    write(
        d.path(),
        "config.yaml",
        "password: ${DB_PASSWORD}\ntoken: <token>\napi_key: your-api-key-here\nid: 123e4567-e89b-12d3-a456-426614174000\n",
    );
    write(
        d.path(),
        "secrets.enc.yaml",
        "password: ENC[AES256_GCM,data:q8ZrT2vL,iv:mHFwUbbYrEqmSM9wCZ7Uw9xfQ3h8Tz1Kq8ZrT2vLx9P=,tag:gBlKv3azKgaS==,type:str]\n",
    );
    scan(d.path()).assert().code(0);
}

#[test]
fn explicit_files_are_scanned_exactly_even_if_ignored() {
    let d = repo();
    write(d.path(), ".gitignore", "local.env\n");
    write(d.path(), "local.env", &format!("K={AWS}\n"));
    write(d.path(), "other.env", &format!("K={GHP}\n"));
    // The walk skips the ignored file but finds the other.
    let out = scan(d.path()).output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("other.env") && !s.contains("local.env"), "{s}");
    // Given by name, exactly that file.
    let out = scan(d.path()).arg("local.env").output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("local.env") && !s.contains("other.env"), "{s}");
    // A missing file is an error (2), not a silent pass.
    scan(d.path()).arg("missing.env").assert().code(2);
}

#[test]
fn stdin() {
    let d = repo();
    scan(d.path())
        .arg("-")
        .write_stdin(format!("token = {GHP}\n"))
        .assert()
        .code(1)
        .stdout(predicates::str::contains("-:1:9: github-pat"));
    scan(d.path())
        .arg("-")
        .write_stdin("nothing\n")
        .assert()
        .code(0);
}

#[test]
fn staged_scans_the_index_blob_not_the_working_file() {
    let d = repo();
    scan(d.path())
        .arg("--staged")
        .assert()
        .code(0)
        .stderr(predicates::str::contains("nothing staged"));
    write(d.path(), "app.env", &format!("KEY={AWS}\n"));
    git_ok(d.path(), &["add", "app.env"]);
    // The secret is edited out of the working copy but stays staged.
    write(d.path(), "app.env", "KEY=${AWS_KEY}\n");
    scan(d.path())
        .arg("--staged")
        .assert()
        .code(1)
        .stdout(predicates::str::contains("app.env:1:5: aws-access-key-id"));
    // The working tree itself is clean now.
    scan(d.path()).arg("app.env").assert().code(0);
}

fn install_hook(dir: &Path) {
    Command::new(bin())
        .current_dir(dir)
        .args(["hook", "install"])
        .assert()
        .success();
}

#[test]
fn hook_blocks_a_real_commit_and_lets_a_clean_one_through() {
    let d = repo();
    install_hook(d.path());
    write(d.path(), "README.md", "hello\n");
    git_ok(d.path(), &["add", "README.md"]);
    git_ok(d.path(), &["commit", "-q", "-m", "clean"]);

    write(
        d.path(),
        "deploy.sh",
        &format!("export GH_TOKEN=\"{GHP}\"\n"),
    );
    git_ok(d.path(), &["add", "deploy.sh"]);
    let out = git(d.path(), &["commit", "-q", "-m", "leak"]);
    assert!(!out.status.success(), "the commit must be blocked");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("deploy.sh:1:18: github-pat"), "{all}");
    assert!(!all.contains(GHP), "the hook printed the secret");
    let log = git(d.path(), &["log", "--oneline"]);
    assert_eq!(String::from_utf8_lossy(&log.stdout).lines().count(), 1);

    // Secret removed from the working copy but still staged: still blocked.
    write(d.path(), "deploy.sh", "export GH_TOKEN=\"$TOKEN\"\n");
    assert!(!git(d.path(), &["commit", "-q", "-m", "leak"])
        .status
        .success());
    // Staged clean: the commit goes through.
    git_ok(d.path(), &["add", "deploy.sh"]);
    git_ok(d.path(), &["commit", "-q", "-m", "fixed"]);
}

#[test]
fn hook_install_chains_an_existing_hook() {
    let d = repo();
    let hooks = d.path().join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let marker = d.path().join("ran-old-hook");
    write(
        &hooks,
        "pre-commit",
        &format!("#!/bin/sh\ntouch '{}'\nexit 0\n", marker.display()),
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            hooks.join("pre-commit"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
    }
    install_hook(d.path());
    assert!(hooks.join("pre-commit.local").exists());
    // Installing again updates ours instead of chaining it to itself.
    install_hook(d.path());
    let hook = std::fs::read_to_string(hooks.join("pre-commit")).unwrap();
    assert!(hook.contains("scan --staged"));
    write(d.path(), "a.txt", "fine\n");
    git_ok(d.path(), &["add", "a.txt"]);
    git_ok(d.path(), &["commit", "-q", "-m", "ok"]);
    assert!(marker.exists(), "the previous hook did not run");
}

#[test]
fn history_finds_a_secret_added_and_later_removed() {
    let d = repo();
    write(d.path(), "a.txt", "start\n");
    git_ok(d.path(), &["add", "."]);
    git_ok(d.path(), &["commit", "-q", "-m", "one"]);
    write(d.path(), "conf/app.env", &format!("X=1\nY=2\nKEY={AWS}\n"));
    git_ok(d.path(), &["add", "."]);
    git_ok(d.path(), &["commit", "-q", "-m", "two"]);
    let added = String::from_utf8_lossy(&git(d.path(), &["rev-parse", "HEAD"]).stdout)
        .trim()
        .to_string();
    write(d.path(), "conf/app.env", "X=1\nY=2\n");
    git_ok(d.path(), &["add", "."]);
    git_ok(d.path(), &["commit", "-q", "-m", "three"]);
    // The tree is clean now.
    scan(d.path()).assert().code(0);
    let out = scan(d.path())
        .args(["--history", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &v.as_array().unwrap()[0];
    assert_eq!(f["path"], "conf/app.env");
    assert_eq!(f["line"], 3);
    assert_eq!(f["rule"], "aws-access-key-id");
    assert_eq!(f["commit"], added.as_str());
    // A range that excludes the commit finds nothing.
    scan(d.path())
        .args(["--history", &format!("{added}..HEAD")])
        .assert()
        .code(0);
}

#[test]
fn baseline_reports_only_new_leaks_and_ignores_line_moves() {
    let d = repo();
    write(d.path(), "old.env", &format!("KEY={AWS}\n"));
    scan(d.path()).arg("--write-baseline").assert().code(0);
    let text = std::fs::read_to_string(d.path().join(".secrets-baseline.json")).unwrap();
    assert!(!text.contains(AWS) && !text.contains("\"line\""));
    scan(d.path()).assert().code(0);
    // Moving the line does not churn the baseline.
    write(d.path(), "old.env", &format!("# moved\n\nKEY={AWS}\n"));
    scan(d.path()).assert().code(0);
    // A new leak is reported.
    write(d.path(), "new.env", &format!("T={GHP}\n"));
    let out = scan(d.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("new.env") && !s.contains("old.env"), "{s}");
}

#[test]
fn inline_and_config_allowlists() {
    let d = repo();
    write(d.path(), "a.env", &format!("KEY={AWS} # secrets:allow\n"));
    write(d.path(), "fixtures/b.env", &format!("KEY={AWS}\n"));
    write(d.path(), ".secrets-scan", "path: fixtures\n");
    scan(d.path()).assert().code(0);
    write(d.path(), ".secrets-scan", "path: [\n");
    scan(d.path()).assert().code(2);
}

#[test]
fn decrypted_copies_are_flagged() {
    let d = repo();
    write(d.path(), "config/secrets.dec.yaml", "db: x\n");
    scan(d.path())
        .assert()
        .code(1)
        .stdout(predicates::str::contains("decrypted-copy"));
}

#[test]
fn binary_and_invalid_utf8_do_not_break_the_scan() {
    let d = repo();
    let mut bytes = vec![0u8, 159, 146, 150];
    bytes.extend_from_slice(AWS.as_bytes());
    std::fs::write(d.path().join("blob.bin"), &bytes).unwrap();
    let mut text = b"K=".to_vec();
    text.extend_from_slice(&[0xff, 0xfe]);
    text.extend_from_slice(format!(" {AWS}\n").as_bytes());
    text.extend(std::iter::repeat_n(b'a', 3 << 20));
    std::fs::write(d.path().join("odd.txt"), &text).unwrap();
    let out = scan(d.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("odd.txt:1:") && !s.contains("blob.bin"), "{s}");
}

/// The labeled corpus: every labeled secret is found, and no trap line fires.
#[test]
fn corpus_recall_and_precision() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/scan/corpus");
    let d = tempfile::tempdir().unwrap();
    copy_dir(&src, d.path());
    let out = scan(d.path())
        .args(["--no-known", "--format", "json", "."])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found: std::collections::BTreeSet<(String, u64)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    let labels: std::collections::BTreeSet<(String, u64)> =
        std::fs::read_to_string(src.join("labels.tsv"))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| {
                let mut p = l.split('\t');
                (
                    p.next().unwrap().to_string(),
                    p.next().unwrap().parse().unwrap(),
                )
            })
            .collect();
    let tp = found.intersection(&labels).count() as f64;
    let recall = tp / labels.len() as f64;
    let precision = tp / found.len().max(1) as f64;
    let fps: Vec<_> = found.difference(&labels).collect();
    assert!(
        recall >= 0.95,
        "recall {recall}: missed {:?}",
        labels.difference(&found).collect::<Vec<_>>()
    );
    assert!(precision >= 0.99, "precision {precision}: {fps:?}");
    assert!(
        found.iter().all(|(p, _)| p.starts_with("secrets/")),
        "a trap fired: {fps:?}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Validation errors of `instance` against the JSON schema file `schema`, one a line, by
/// an independent validator run as a real process: Python's `jsonschema` package (`.ci/run`
/// installs it). Missing, the test fails: it would have checked nothing.
fn schema_errors(schema: &Path, instance: &serde_json::Value) -> String {
    const CHECK: &str = "import json, sys\ntry:\n    import jsonschema\nexcept ImportError:\n    sys.exit(3)\nschema = json.load(open(sys.argv[1]))\ncls = jsonschema.validators.validator_for(schema)\ncls.check_schema(schema)\nfor e in cls(schema).iter_errors(json.load(sys.stdin)):\n    print(e.message[:200], 'at', e.json_path)\n";
    let mut child = Proc::new("python3")
        .args(["-c", CHECK])
        .arg(schema)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 (the SARIF schema oracle) not found: `bash .ci/run` installs it");
    serde_json::to_writer(child.stdin.take().unwrap(), instance).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_ne!(
        out.status.code(),
        Some(3),
        "Python package jsonschema (the SARIF schema oracle) not installed: `bash .ci/run` installs it"
    );
    assert!(out.status.success(), "python3 jsonschema: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn sarif_validates_against_the_2_1_0_schema() {
    let d = repo();
    write(d.path(), ".env", &format!("AWS_KEY={AWS}\nT={GHP}\n"));
    let out = scan(d.path()).args(["--format", "sarif"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let schema_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/scan/sarif-schema-2.1.0.json");
    // The published schema writes run.language's pattern with a stray `]` that JavaScript
    // reads as a literal but Rust regex engines reject; use what it means.
    let text = std::fs::read_to_string(schema_path).unwrap().replace(
        "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$",
        "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$",
    );
    let schema = d.path().join("sarif-schema.json");
    std::fs::write(&schema, text).unwrap();
    let errors = schema_errors(&schema, &log);
    assert!(errors.is_empty(), "{errors}");
    // The oracle can fail: a log with a wrong version and no runs is refused.
    let bad = serde_json::json!({"version": "9", "runs": "none"});
    assert!(!schema_errors(&schema, &bad).is_empty());
    // What GitHub code scanning needs beyond the schema.
    let run = &log["runs"][0];
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(run["results"].as_array().unwrap().len(), 2);
    for r in run["results"].as_array().unwrap() {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(run["tool"]["driver"]["rules"][idx]["id"], r["ruleId"]);
        assert!(r["partialFingerprints"]["secretFingerprint/v1"].is_string());
        assert!(
            r["locations"][0]["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .unwrap()
                >= 1
        );
    }
    assert!(!String::from_utf8_lossy(&out.stdout).contains(AWS));
}

#[test]
fn peer_allow_comments_regex_allowlist_and_json_format() {
    let d = repo();
    write(
        d.path(),
        "a.py",
        &format!("K = '{AWS}'  # gitleaks:allow\nT = '{GHP}'  # pragma: allowlist secret\n"),
    );
    scan(d.path()).assert().code(0);
    write(d.path(), "b.env", &format!("K={AWS}\nT={GHP}\n"));
    // A regex allowlist accepts one secret; the other is still reported, as JSON.
    write(d.path(), ".secrets-scan", "regex: ^AKIAUJZDEG\n");
    let out = scan(d.path()).args(["--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: Vec<_> = v.as_array().unwrap().iter().map(|f| &f["rule"]).collect();
    assert_eq!(rules, ["github-pat"]);
    assert_eq!(v[0]["path"], "b.env");
    assert_eq!(v[0]["line"], 2);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(GHP));
}

#[test]
fn baseline_is_keyed_by_path_rule_and_fingerprint() {
    let d = repo();
    write(d.path(), "old.env", &format!("KEY={AWS}\n"));
    scan(d.path()).arg("--write-baseline").assert().code(0);
    // The same secret in another file is a new leak.
    write(d.path(), "copy.env", &format!("KEY={AWS}\n"));
    let out = scan(d.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("copy.env") && !s.contains("old.env"), "{s}");
    // Another secret in the baselined file is new too.
    std::fs::remove_file(d.path().join("copy.env")).unwrap();
    write(d.path(), "old.env", &format!("KEY={AWS}\nT={GHP}\n"));
    let out = scan(d.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("old.env:2:") && !s.contains("old.env:1:"), "{s}");
}

/// The hooks of `.pre-commit-hooks.yaml`, run as the pre-commit framework runs them: the
/// `entry` words, plus the file names when `pass_filenames` is true.
#[test]
fn pre_commit_framework_entries() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    let mut hooks: Vec<(String, bool)> = Vec::new();
    for line in text.lines() {
        if let Some(e) = line.trim().strip_prefix("entry: ") {
            hooks.push((e.to_string(), false));
        }
        if line.trim() == "pass_filenames: true" {
            hooks.last_mut().unwrap().1 = true;
        }
    }
    assert_eq!(hooks.len(), 2, "{hooks:?}");
    let d = repo();
    write(d.path(), "clean.txt", "nothing\n");
    write(d.path(), "leak.env", &format!("K={AWS}\n"));
    git_ok(d.path(), &["add", "clean.txt"]);
    for (entry, pass_filenames) in hooks {
        let words: Vec<&str> = entry.split_whitespace().collect();
        assert_eq!(words[0], "secrets");
        let run = |files: &[&str]| {
            let mut c = scan(d.path());
            c.args(&words[2..]);
            if pass_filenames {
                c.args(files);
            }
            c.output().unwrap()
        };
        if pass_filenames {
            // `pre-commit run --files clean.txt`: exactly that file, though leak.env exists.
            assert_eq!(run(&["clean.txt"]).status.code(), Some(0), "{entry}");
            let out = run(&["clean.txt", "leak.env"]);
            assert_eq!(out.status.code(), Some(1), "{entry}");
            assert!(String::from_utf8_lossy(&out.stdout).contains("leak.env:1:3"));
        } else {
            // The staged index holds only clean.txt.
            assert_eq!(run(&[]).status.code(), Some(0), "{entry}");
        }
    }
}

/// What only this tool can know, with a real team config and a real age key: a file of an
/// environment staged in plaintext or with a value left in clear, and plaintext copies of
/// encrypted values elsewhere in the tree (found only when the user can decrypt them).
#[test]
fn team_config_checks_and_known_values() {
    use secrecy::ExposeSecret;
    let d = repo();
    let keys = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let key = keys.path().join("key.txt");
    std::fs::write(&key, format!("{}\n", id.to_string().expose_secret())).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let with_key = |args: &[&str]| {
        let mut c = scan(d.path());
        c.env("SOPS_AGE_KEY_FILE", &key)
            .env("XDG_CONFIG_HOME", d.path().join(".config"))
            .args(args);
        c.output().unwrap()
    };
    write(
        d.path(),
        ".secrets.yaml",
        &format!(
            "members:\n  alice: {}\nenvironments:\n  dev:\n    files: [\"config/dev/**\"]\n    members: [alice]\n",
            id.to_public()
        ),
    );
    const VALUE: &str = "Zq8rT2vLx9Pw4Kd7mHfB";
    write(
        d.path(),
        "config/dev/db.yaml",
        &format!("db_pass: {VALUE}\nuser: app\n"),
    );
    git_ok(d.path(), &["add", ".secrets.yaml", "config/dev/db.yaml"]);
    // (a) Staged in plaintext.
    let out = with_key(&["--staged"]);
    assert_eq!(out.status.code(), Some(1));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("config/dev/db.yaml:1:1: unencrypted-secret-file"),
        "{s}"
    );
    // Encrypted and staged: clean.
    let enc = Command::new(bin())
        .current_dir(d.path())
        .env("SOPS_AGE_KEY_FILE", &key)
        .env("HOME", d.path())
        .env("XDG_CONFIG_HOME", d.path().join(".config"))
        .args(["encrypt", "-i", "config/dev/db.yaml"])
        .output()
        .unwrap();
    assert!(
        enc.status.success(),
        "{}",
        String::from_utf8_lossy(&enc.stderr)
    );
    let sealed = std::fs::read_to_string(d.path().join("config/dev/db.yaml")).unwrap();
    assert!(sealed.contains("ENC[") && !sealed.contains(VALUE));
    git_ok(d.path(), &["add", "config/dev/db.yaml"]);
    let out = with_key(&["--staged"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // (a) A value added in clear to the encrypted file.
    write(
        d.path(),
        "config/dev/db.yaml",
        &format!("{sealed}extra: visible-value\n"),
    );
    git_ok(d.path(), &["add", "config/dev/db.yaml"]);
    let out = with_key(&["--staged"]);
    assert_eq!(out.status.code(), Some(1));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("unencrypted-secret-file"), "{s}");
    write(d.path(), "config/dev/db.yaml", &sealed);
    git_ok(d.path(), &["add", "config/dev/db.yaml"]);
    // (b) A plaintext copy of an encrypted value, under no telling key name.
    write(
        d.path(),
        "notes/backup.txt",
        &format!("restore with {VALUE} if needed\n"),
    );
    let out = with_key(&[]);
    assert_eq!(out.status.code(), Some(1));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("notes/backup.txt:1:14: known-secret-value"),
        "{s}"
    );
    assert!(!s.contains(VALUE) && !String::from_utf8_lossy(&out.stderr).contains(VALUE));
    // Without the key the copy cannot be recognised, and nothing else fires.
    scan(d.path()).assert().code(0);
    // --no-known turns the check off.
    assert_eq!(with_key(&["--no-known"]).status.code(), Some(0));
}

#[test]
fn values_a_file_keeps_in_clear_are_not_known_secrets() {
    // Found in review of issue 13: `import` keeps settings such as DB_HOST in clear through
    // unencrypted_regex, and the hook then refused every commit holding a copy of them.
    use secrecy::ExposeSecret;
    let d = repo();
    let keys = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let key = keys.path().join("key.txt");
    std::fs::write(&key, format!("{}\n", id.to_string().expose_secret())).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    write(
        d.path(),
        ".secrets.yaml",
        &format!(
            "members:\n  alice: {}\nenvironments:\n  dev:\n    files: [\"config/dev/**\"]\n    members: [alice]\n",
            id.to_public()
        ),
    );
    const HOST: &str = "db-primary.internal.corp";
    const TOKEN: &str = "Zq8rT2vLx9Pw4Kd7mHfB";
    write(
        d.path(),
        "config/dev/app.env",
        &format!("DB_HOST={HOST}\nAPI_TOKEN={TOKEN}\n"),
    );
    let enc = Command::new(bin())
        .current_dir(d.path())
        .env("SOPS_AGE_KEY_FILE", &key)
        .env("HOME", d.path())
        .env("XDG_CONFIG_HOME", d.path().join(".config"))
        .args([
            "encrypt",
            "-i",
            "--unencrypted-regex",
            "^DB_HOST$",
            "config/dev/app.env",
        ])
        .output()
        .unwrap();
    assert!(
        enc.status.success(),
        "{}",
        String::from_utf8_lossy(&enc.stderr)
    );
    write(d.path(), "deploy/hosts.txt", &format!("primary {HOST}\n"));
    let mut c = scan(d.path());
    c.env("SOPS_AGE_KEY_FILE", &key)
        .env("XDG_CONFIG_HOME", d.path().join(".config"));
    let out = c.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // An encrypted value's copy is still found.
    write(
        d.path(),
        "deploy/hosts.txt",
        &format!("primary {HOST} token {TOKEN}\n"),
    );
    let mut c = scan(d.path());
    c.env("SOPS_AGE_KEY_FILE", &key)
        .env("XDG_CONFIG_HOME", d.path().join(".config"));
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let s = String::from_utf8_lossy(&out.stdout);
    assert_eq!(s.matches("known-secret-value").count(), 1, "{s}");
}

/// Counts the commits on HEAD.
fn commit_count(dir: &Path) -> usize {
    let log = git(dir, &["log", "--oneline"]);
    String::from_utf8_lossy(&log.stdout).lines().count()
}

/// `git commit -a`, `git commit <path>` and `git commit -i <path>` run the hook against a
/// temporary index named by GIT_INDEX_FILE; the hook must scan that one.
#[test]
fn hook_blocks_commit_all_and_commit_with_paths() {
    let d = repo();
    install_hook(d.path());
    write(d.path(), "deploy.sh", "echo hi\n");
    git_ok(d.path(), &["add", "deploy.sh"]);
    git_ok(d.path(), &["commit", "-q", "-m", "clean"]);
    write(
        d.path(),
        "deploy.sh",
        &format!("export GH_TOKEN=\"{GHP}\"\n"),
    );
    for args in [
        &["commit", "-q", "-am", "leak"][..],
        &["commit", "-q", "-m", "leak", "deploy.sh"],
        &["commit", "-q", "-m", "leak", "-i", "deploy.sh"],
    ] {
        let out = git(d.path(), args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "git {args:?} was not blocked");
        assert!(stderr.contains("deploy.sh:1:18: github-pat"), "{stderr}");
        assert_eq!(commit_count(d.path()), 1);
    }
}

/// Installed from a linked worktree, the hook goes where git runs it: the common dir.
#[test]
fn hook_installed_from_a_linked_worktree_blocks_its_commits() {
    let d = tempfile::tempdir().unwrap();
    let main = d.path().join("main");
    std::fs::create_dir(&main).unwrap();
    git_ok(&main, &["init", "-q", "-b", "main"]);
    git_ok(&main, &["config", "commit.gpgsign", "false"]);
    write(&main, "README.md", "hello\n");
    git_ok(&main, &["add", "README.md"]);
    git_ok(&main, &["commit", "-q", "-m", "clean"]);
    git_ok(&main, &["worktree", "add", "-q", "../wt"]);
    let wt = d.path().join("wt");
    install_hook(&wt);
    write(&wt, "deploy.sh", &format!("export GH_TOKEN=\"{GHP}\"\n"));
    git_ok(&wt, &["add", "deploy.sh"]);
    let out = git(&wt, &["commit", "-q", "-m", "leak"]);
    assert!(!out.status.success(), "the worktree commit must be blocked");
    assert_eq!(commit_count(&wt), 1);
}

/// Input that cannot be read fails the scan (exit 2, naming the file) after what was found
/// is reported; it never passes as "no secrets found". Mode 000 is readable by root, so the
/// root-proof case is a FIFO named explicitly (opening it would block: it is refused).
#[cfg(unix)]
#[test]
fn unreadable_input_fails_the_scan_after_reporting() {
    let d = repo();
    write(d.path(), "leak.env", &format!("KEY={AWS}\n"));
    let fifo = d.path().join("pipe.env");
    assert!(Proc::new("mkfifo").arg(&fifo).status().unwrap().success());
    let out = scan(d.path())
        .args(["leak.env", "pipe.env"])
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("pipe.env"), "{stderr}");
    assert!(!stderr.contains("no secrets found"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("leak.env:1:5: aws-access-key-id"),
        "{stdout}"
    );
    // Mode 000 is the everyday case; root reads it anyway, so check it only as a user.
    let locked = d.path().join("locked.env");
    std::fs::remove_file(&fifo).unwrap();
    write(d.path(), "locked.env", "A=1\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&locked).is_err() {
        std::fs::remove_file(d.path().join("leak.env")).unwrap();
        let out = scan(d.path()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("locked.env"), "{stderr}");
    }
}

fn head(dir: &Path) -> String {
    String::from_utf8_lossy(&git(dir, &["rev-parse", "HEAD"]).stdout)
        .trim()
        .to_string()
}

/// A secret added while resolving a merge is reported with the merge; what the merge only
/// brings in from a side branch is reported once, with the side branch's commit.
#[test]
fn history_reports_lines_a_merge_adds_and_not_its_parents_lines() {
    let d = repo();
    write(d.path(), "a.txt", "start\n");
    git_ok(d.path(), &["add", "."]);
    git_ok(d.path(), &["commit", "-q", "-m", "base"]);
    git_ok(d.path(), &["checkout", "-q", "-b", "side"]);
    write(d.path(), "side.env", &format!("KEY={AWS}\n"));
    git_ok(d.path(), &["add", "."]);
    git_ok(d.path(), &["commit", "-q", "-m", "side"]);
    let side = head(d.path());
    git_ok(d.path(), &["checkout", "-q", "main"]);
    write(d.path(), "b.txt", "main\n");
    git_ok(d.path(), &["add", "."]);
    git_ok(d.path(), &["commit", "-q", "-m", "main"]);
    git_ok(d.path(), &["merge", "-q", "--no-ff", "--no-commit", "side"]);
    write(d.path(), "a.txt", &format!("start\nT=\"{GHP}\"\n"));
    git_ok(d.path(), &["add", "."]);
    git_ok(d.path(), &["commit", "-q", "-m", "merge"]);
    let merge = head(d.path());
    let out = scan(d.path())
        .args(["--history", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: Vec<(String, u64, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["commit"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("a.txt".to_string(), 2, merge),
            ("side.env".to_string(), 1, side)
        ]
    );
}

fn baseline_paths(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join(".secrets-baseline.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_string())
        .collect()
}

/// `--write-baseline PATH…` replaces the entries of the files scanned and keeps the rest.
#[test]
fn write_baseline_with_paths_keeps_entries_of_other_files() {
    let d = repo();
    write(d.path(), "a.env", &format!("KEY={AWS}\n"));
    write(d.path(), "sub/b.env", &format!("T={GHP}\n"));
    write(d.path(), "c.env", &format!("T={GHP}\n"));
    scan(d.path()).arg("--write-baseline").assert().code(0);
    assert_eq!(baseline_paths(d.path()), ["a.env", "c.env", "sub/b.env"]);
    // a.env is fixed and rescanned alone: only its entry goes.
    write(d.path(), "a.env", "KEY=${AWS_KEY}\n");
    scan(d.path())
        .args(["--write-baseline", "a.env"])
        .assert()
        .code(0);
    assert_eq!(baseline_paths(d.path()), ["c.env", "sub/b.env"]);
    // A directory covers what is under it.
    write(d.path(), "sub/b.env", "T=none\n");
    scan(d.path())
        .args(["--write-baseline", "sub"])
        .assert()
        .code(0);
    assert_eq!(baseline_paths(d.path()), ["c.env"]);
    scan(d.path()).assert().code(0);
}

/// A large file is read in 8 MB chunks; a multi-line match (a PEM block) whose first line
/// ends a chunk is still found, and a match in the overlap of two chunks is reported once.
#[test]
fn pem_block_across_a_chunk_boundary_is_found_once() {
    const CHUNK: usize = 8 << 20;
    let d = repo();
    let begin = "-----BEGIN RSA PRIVATE KEY-----\n";
    let body = "C+1hsYgBds1ghxY5OokvQyx7eNWVQ4vnakJkS1pAWTN3lg8zV5yPU8d0FZfWe7ih\n";
    let aws = format!("KEY={AWS}\n"); // 25 bytes, in the overlap
    let filler = "filler line\n"; // 12 bytes
    let fill_lines = (CHUNK - begin.len() - aws.len() - 11) / filler.len();
    let mut text = filler.repeat(fill_lines);
    text.push_str(&"x".repeat(CHUNK - begin.len() - aws.len() - text.len() - 1));
    text.push('\n');
    text.push_str(&aws);
    text.push_str(begin); // ends exactly at the first chunk's end
    assert_eq!(text.len(), CHUNK);
    text.push_str(&body.repeat(3));
    text.push_str("-----END RSA PRIVATE KEY-----\n");
    write(d.path(), "big.txt", &text);
    let out = scan(d.path())
        .args(["big.txt", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: Vec<(u64, &str)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["line"].as_u64().unwrap(), f["rule"].as_str().unwrap()))
        .collect();
    let aws_line = fill_lines as u64 + 2;
    assert_eq!(
        got,
        [
            (aws_line, "aws-access-key-id"),
            (aws_line + 1, "private-key")
        ]
    );
}

/// A file outside the scan root is shown by its absolute path (a `file://` URI in SARIF);
/// a symlink named explicitly is shown under the name given.
#[cfg(unix)]
#[test]
fn paths_outside_the_root_and_symlinks_are_named_properly() {
    let d = repo();
    let outside = tempfile::tempdir().unwrap();
    let outside = outside.path().canonicalize().unwrap();
    write(&outside, "outside.env", &format!("KEY={AWS}\n"));
    let target = outside.join("outside.env");
    let out = scan(d.path()).arg(&target).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with(&format!("{}:1:5:", target.display())),
        "{stdout}"
    );
    let out = scan(d.path())
        .arg(&target)
        .args(["--format", "sarif"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let uri =
        &v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
    assert_eq!(uri, &format!("file://{}", target.display()));
    std::os::unix::fs::symlink(&target, d.path().join("link.env")).unwrap();
    let out = scan(d.path()).arg("link.env").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("link.env:1:5:"), "{stdout}");
}

/// With nothing staged, json and sarif still print a valid (empty) document.
#[test]
fn staged_with_nothing_staged_prints_an_empty_report() {
    let d = repo();
    let out = scan(d.path())
        .args(["--staged", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, serde_json::json!([]));
    let out = scan(d.path())
        .args(["--staged", "--format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    assert_eq!(v["runs"][0]["results"], serde_json::json!([]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing staged"));
}

/// SARIF says its columns are UTF-16 code units; the human and JSON columns are bytes.
#[test]
fn sarif_columns_are_utf16_code_units() {
    let d = repo();
    write(d.path(), "notes.env", &format!("# éééééééééé 😀 K={AWS}\n"));
    let line = format!("# éééééééééé 😀 K={AWS}");
    let before = &line[..line.find(AWS).unwrap()];
    let sarif = scan(d.path()).args(["--format", "sarif"]).output().unwrap();
    let log: serde_json::Value = serde_json::from_slice(&sarif.stdout).unwrap();
    let region = &log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startColumn"], before.encode_utf16().count() + 1);
    let json = scan(d.path()).args(["--format", "json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v[0]["column"], before.len() + 1);
}

/// Issue 10, case 5: distinct AWS key IDs (synthetic), so no two findings share a fingerprint.
const AWS_KEYS: [&str; 5] = [
    "AKIAUJZDEGXDNCF32EPF",
    "AKIAQ7M3XK2PZR5TWB4N",
    "AKIAV4NH6JQ2LXMRC7DS",
    "AKIAR2WT5KZ7PQN3MXJ6",
    "AKIAZ3LQ7TV2NW6KRXP5",
];

/// A minified bundle: one line of `len` bytes of code with each secret quoted at its byte
/// offset, then a newline.
fn one_line_bundle(len: usize, secrets: &[(usize, &str)]) -> Vec<u8> {
    let mut b = "x=1;".repeat(len / 4 + 1).into_bytes();
    b.truncate(len);
    for (at, s) in secrets {
        let q = format!("\"{s}\"");
        b[at - 1..at - 1 + q.len()].copy_from_slice(q.as_bytes());
    }
    b.push(b'\n');
    b
}

/// (line, byte column, rule) of each finding of a JSON report.
fn places(stdout: &[u8]) -> Vec<(u64, u64, String)> {
    let v: serde_json::Value = serde_json::from_slice(stdout).unwrap();
    let mut p: Vec<_> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    p.sort();
    p
}

/// The findings in `bundle.min.js` (one long line) from the working tree walk, the file
/// named, stdin and the index: all four must agree with `want`.
fn assert_found_everywhere(bundle: &[u8], want: &[(u64, u64, String)]) {
    let d = repo();
    std::fs::write(d.path().join("bundle.min.js"), bundle).unwrap();
    git_ok(d.path(), &["add", "bundle.min.js"]);
    for (how, args, stdin) in [
        ("working tree", vec![], false),
        ("named file", vec!["bundle.min.js"], false),
        ("stdin", vec!["-"], true),
        ("staged", vec!["--staged"], false),
    ] {
        let mut c = scan(d.path());
        c.args(&args).args(["--format", "json"]);
        if stdin {
            c.write_stdin(bundle.to_vec());
        }
        let out = c.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{how}: {stderr}");
        assert_eq!(places(&out.stdout), want, "{how}");
    }
}

/// A 9 MB minified bundle with an AWS key at column 8 (issue 10, case 5: exit 0 before, the
/// first 8 MiB chunk of the line was dropped because the line did not end in it).
#[test]
fn secret_near_the_start_of_a_line_longer_than_a_chunk_is_found() {
    let mut bundle = one_line_bundle(9_000_000, &[]);
    let head = format!("var a=\"{}\";", AWS_KEYS[0]);
    bundle[..head.len()].copy_from_slice(head.as_bytes());
    let want = [(1, 8, "aws-access-key-id".to_string())];
    assert_found_everywhere(&bundle, &want);
}

/// Secrets around the chunk boundary of a 9 MB line (across it, just before and after it,
/// and where consecutive chunks overlap) are each found once, with their byte columns.
#[test]
fn secrets_across_a_chunk_boundary_inside_a_long_line_are_found_once() {
    const CHUNK: usize = 8 << 20;
    let at = [
        CHUNK - 65_536 - 9,
        CHUNK - 32_768 - 9,
        CHUNK - 9,
        CHUNK + 1_000,
        8_999_000,
    ];
    let secrets: Vec<(usize, &str)> = at.iter().copied().zip(AWS_KEYS).collect();
    let bundle = one_line_bundle(9_000_000, &secrets);
    let want: Vec<_> = at
        .iter()
        .map(|&a| (1, a as u64 + 1, "aws-access-key-id".to_string()))
        .collect();
    assert_found_everywhere(&bundle, &want);
}

/// Issue 10, case 6: `.secrets-scan` is read only as a regular file of at most 1 MiB. A
/// committed symlink to `/dev/zero` (2 GB allocated before), a FIFO (a hang before) and an
/// oversized file are each one clear error naming the file, exit 2, for `--staged` and the
/// working tree alike.
#[cfg(unix)]
#[test]
fn secrets_scan_config_must_be_a_small_regular_file() {
    let d = repo();
    write(d.path(), "app.env", &format!("KEY={AWS}\n"));
    git_ok(d.path(), &["add", "app.env"]);
    let cfg = d.path().join(".secrets-scan");
    let refused = |what: &str| {
        for args in [&["--staged"][..], &[][..]] {
            let out = scan(d.path())
                .args(args)
                .timeout(std::time::Duration::from_secs(60))
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{what} {args:?}: {stderr}");
            let first = stderr.lines().next().unwrap_or_default();
            assert!(
                first.contains(".secrets-scan") && first.contains(what),
                "{what} {args:?}: {stderr}"
            );
            assert!(out.stdout.is_empty(), "{what} {args:?}");
        }
    };
    std::os::unix::fs::symlink("/dev/zero", &cfg).unwrap();
    git_ok(d.path(), &["add", ".secrets-scan"]);
    refused("symbolic link");
    std::fs::remove_file(&cfg).unwrap();
    assert!(Proc::new("mkfifo").arg(&cfg).status().unwrap().success());
    refused("not a regular file");
    std::fs::remove_file(&cfg).unwrap();
    let comments = "# a comment line of 32 bytes ..\n".repeat((1 << 20) / 32 + 1);
    write(d.path(), ".secrets-scan", &comments);
    refused("1 MiB");
    // At the limit it is read as usual.
    write(d.path(), ".secrets-scan", &comments[..1 << 20]);
    scan(d.path())
        .arg("--staged")
        .assert()
        .code(1)
        .stdout(predicates::str::contains("app.env:1:5: aws-access-key-id"));
}

/// A secret on a last line without a newline is found from the working tree and stdin
/// (before, the chunk reader kept only findings on lines that ended in the chunk, so it
/// dropped the last line of every such file: `printf %s "$TOKEN" | secrets scan -` passed).
#[test]
fn secret_on_a_last_line_without_a_newline_is_found() {
    let d = repo();
    write(d.path(), "a.env", &format!("A=1\nKEY={AWS}"));
    scan(d.path())
        .assert()
        .code(1)
        .stdout(predicates::str::contains("a.env:2:5: aws-access-key-id"));
    scan(d.path())
        .arg("-")
        .write_stdin(format!("token = {GHP}"))
        .assert()
        .code(1)
        .stdout(predicates::str::contains("-:1:9: github-pat"));
}

/// Issue 11: `known-secret-value` worked only with a `.secrets.yaml`. A file encrypted with
/// `encrypt --age` and no config (dotenv, JSON and YAML, so each format's sops metadata is
/// recognised by content), or in a `.sops.yaml` repository, must protect its values too.
#[test]
fn known_values_of_files_encrypted_without_a_team_config() {
    use secrecy::ExposeSecret;
    let keys = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let key = keys.path().join("key.txt");
    std::fs::write(&key, format!("{}\n", id.to_string().expose_secret())).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    const VALUES: [&str; 3] = [
        "Zq8rT2vLx9Pw4Kd7mHfB",
        "mK3pWq7Zr2Lx9TvB",
        "Pw4Kd7mHfBZq8rT2",
    ];
    for with_sops_yaml in [false, true] {
        let d = repo();
        if with_sops_yaml {
            write(
                d.path(),
                ".sops.yaml",
                &format!("creation_rules:\n  - age: {}\n", id.to_public()),
            );
        }
        write(
            d.path(),
            "deploy/prod.env",
            &format!("DB_PASSWORD={}\n", VALUES[0]),
        );
        write(
            d.path(),
            "deploy/api.json",
            &format!("{{\"upstream\": {{\"key\": \"{}\"}}}}\n", VALUES[1]),
        );
        write(
            d.path(),
            "deploy/app.yaml",
            &format!("smtp:\n  pass: {}\n", VALUES[2]),
        );
        let mut enc = Command::new(bin());
        enc.current_dir(d.path())
            .env("SOPS_AGE_KEY_FILE", &key)
            .env("HOME", d.path())
            .env("XDG_CONFIG_HOME", d.path().join(".config"))
            .args(["encrypt", "-q", "-i"]);
        if !with_sops_yaml {
            enc.args(["--age", &id.to_public().to_string()]);
        }
        let out = enc
            .args(["deploy/prod.env", "deploy/api.json", "deploy/app.yaml"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        write(
            d.path(),
            "notes.md",
            &format!(
                "db: {}\napi {}\nsmtp=`{}`\n",
                VALUES[0], VALUES[1], VALUES[2]
            ),
        );
        let with_key = |args: &[&str]| {
            let mut c = scan(d.path());
            c.env("SOPS_AGE_KEY_FILE", &key).args(args);
            c.output().unwrap()
        };
        let out = with_key(&[]);
        let s = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{s}");
        for line in 1..=3 {
            assert!(
                s.lines()
                    .any(|l| l.starts_with(&format!("notes.md:{line}:"))
                        && l.contains("known-secret-value")),
                "line {line} (sops.yaml: {with_sops_yaml}):\n{s}"
            );
        }
        for v in VALUES {
            assert!(!s.contains(v));
        }
        // Which key leaked: named in the terminal, in JSON only when asked, never in SARIF.
        assert!(s.contains("(value of deploy/prod.env:DB_PASSWORD)"), "{s}");
        assert!(s.contains("(value of deploy/app.yaml:smtp/pass)"), "{s}");
        let json = String::from_utf8(with_key(&["--format", "json"]).stdout).unwrap();
        assert!(!json.contains("deploy/prod.env"), "{json}");
        let json =
            String::from_utf8(with_key(&["--format", "json", "--show-origin"]).stdout).unwrap();
        assert!(
            json.contains("\"origin\": \"deploy/prod.env:DB_PASSWORD\""),
            "{json}"
        );
        let sarif = String::from_utf8(with_key(&["--format", "sarif"]).stdout).unwrap();
        assert!(!sarif.contains("deploy/"), "{sarif}");
        // The hook's path: staged.
        git_ok(d.path(), &["add", "-A"]);
        let out = with_key(&["--staged"]);
        let s = String::from_utf8_lossy(&out.stdout);
        assert!(s.contains("notes.md:1:5: known-secret-value"), "{s}");
    }
}

/// Audit of issue 11: files the real `sops` encrypted under names that give no format
/// (`--input-type` told it: `secrets.conf`, `prod.env.enc`, `app.sops`) are ours by their
/// content too; their values were unprotected.
#[test]
fn known_values_of_sops_files_whose_name_gives_no_format() {
    use secrecy::ExposeSecret;
    let sops = common::sops_bin().unwrap();
    let d = repo();
    let id = age::x25519::Identity::generate();
    let key = d.path().join("key.txt");
    std::fs::write(&key, format!("{}\n", id.to_string().expose_secret())).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let values = [
        "Lx9Pw4Kd7mHfBZq8rT2v",
        "Kd7mHfBZq8rT2vLx9Pw4",
        "HfBZq8rT2vLx9Pw4Kd7m",
    ];
    for (name, kind, plain) in [
        (
            "secrets.conf",
            "ini",
            format!("[db]\npass = {}\n", values[0]),
        ),
        ("prod.env.enc", "dotenv", format!("TOKEN={}\n", values[1])),
        ("app.sops", "yaml", format!("smtp:\n  pw: {}\n", values[2])),
    ] {
        let plain_path = d.path().join(format!("plain.{kind}"));
        std::fs::write(&plain_path, plain).unwrap();
        let out = Proc::new(&sops)
            .current_dir(d.path())
            .env("SOPS_AGE_RECIPIENTS", id.to_public().to_string())
            .args(["encrypt", "--input-type", kind, "--output-type", kind])
            .arg(&plain_path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(d.path().join(name), out.stdout).unwrap();
        std::fs::remove_file(plain_path).unwrap();
    }
    write(
        d.path(),
        "notes.md",
        &format!("{}\n{}\n{}\n", values[0], values[1], values[2]),
    );
    let out = scan(d.path())
        .env("SOPS_AGE_KEY_FILE", &key)
        .arg("notes.md")
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{s}");
    for origin in [
        "secrets.conf:db/pass",
        "prod.env.enc:TOKEN",
        "app.sops:smtp/pw",
    ] {
        assert!(
            s.contains(&format!("(value of {origin})")),
            "{origin}:\n{s}"
        );
    }
}

/// Issue 11: a file two environments' globs both claim was skipped by the must-be-encrypted
/// check (the ambiguity became "no environment"): a plaintext `prod/app.env` passed. It is
/// reported, encrypted or not; and a BEGIN line with no END no longer hides the rest.
#[test]
fn ambiguous_files_are_reported_and_unclosed_armor_hides_nothing() {
    let d = repo();
    let id = age::x25519::Identity::generate();
    write(
        d.path(),
        ".secrets.yaml",
        &format!(
            "members:\n  alice: {}\nenvironments:\n  prod:\n    files: [\"prod/**\"]\n    members: [alice]\n  local:\n    files: [\"**/*.env\"]\n    members: [alice]\n",
            id.to_public()
        ),
    );
    write(d.path(), "prod/app.env", "GREETING=hello\n");
    git_ok(d.path(), &["add", "-A"]);
    for args in [&[][..], &["--staged"][..]] {
        let out = scan(d.path()).args(args).output().unwrap();
        let s = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {s}");
        assert!(
            s.contains("prod/app.env:1:1: unencrypted-secret-file")
                && s.contains("two environments, prod")
                && s.contains("local"),
            "{args:?}: {s}"
        );
    }
    let d = repo();
    write(
        d.path(),
        "release.sh",
        &format!("# -----BEGIN PGP SIGNATURE-----\nexport AWS_ACCESS_KEY_ID={AWS}\n"),
    );
    let out = scan(d.path()).output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("release.sh:2:"), "{s}");
}
