//! A value's history (`secrets log`), any past version (`--rev` on get, decrypt, exec,
//! export, check) and stdin (`-`), against real git repositories: files encrypted and
//! changed with the real binary, committed with the `git` binary at back-dated times
//! (`tests/common/repo.rs`), members removed and data keys rotated between commits.

mod common;

use std::io::Write;
use std::process::{Output, Stdio};

use common::repo::Repo;
use common::Key;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs as the member whose key file is `key`.
fn run_as(r: &Repo, key: &Key, args: &[&str]) -> Output {
    r.ks.cmd()
        .env("SOPS_AGE_KEY_FILE", &key.file)
        .args(args)
        .output()
        .unwrap()
}

/// Runs with `stdin` piped in.
fn run_with_stdin(r: &Repo, args: &[&str], stdin: &[u8]) -> Output {
    let mut child =
        r.ks.cmd()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
    // A command that fails before reading (a usage error) closes the pipe early.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

/// The rows of `log FILE KEY --format json`: (change, author, summary, path).
fn log_rows(r: &Repo, args: &[&str]) -> Vec<(String, String, String, String)> {
    let mut all = vec!["log"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&r.ks.ok(&all)).unwrap();
    v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or("-").to_string();
            (s("change"), s("author"), s("summary"), s("path"))
        })
        .collect()
}

fn row(change: &str, who: &str, summary: &str, path: &str) -> (String, String, String, String) {
    (change.into(), who.into(), summary.into(), path.into())
}

const PLAIN: &str = "db:\n    user: app-VALUE-1\n    password: pw-VALUE-2\napi: tok-VALUE-3\n";

#[test]
fn log_lists_added_changed_removed_and_not_a_reformat_or_a_neighbour() {
    let r = Repo::new();
    r.ks.encrypted("s.yaml", PLAIN);
    r.commit("add secrets", 100, "alice");
    r.set("s.yaml", "db.password", "pw-VALUE-4");
    r.commit("new db password", 50, "bob");
    // A neighbour changes: not a change of db.password.
    r.set("s.yaml", "api", "tok-VALUE-5");
    r.commit("new api token", 40, "carol");
    // Re-indented by hand (db's keys by 2 spaces instead of 4): no ciphertext changes.
    let reindented =
        r.ks.sb
            .read("s.yaml")
            .replace("\n    user:", "\n  user:")
            .replace("\n    password:", "\n  password:");
    assert_ne!(reindented, r.ks.sb.read("s.yaml"));
    std::fs::write(r.path("s.yaml"), &reindented).unwrap();
    assert_eq!(r.ks.ok(&["get", "s.yaml", "db.password"]), b"pw-VALUE-4");
    r.commit("reformat", 30, "dave");
    r.ks.ok(&["unset", "s.yaml", "db.password"]);
    r.commit("drop the db password", 10, "erin");

    assert_eq!(
        log_rows(&r, &["s.yaml", "db.password"]),
        [
            row("removed", "erin", "drop the db password", "s.yaml"),
            row("changed", "bob", "new db password", "s.yaml"),
            row("added", "alice", "add secrets", "s.yaml"),
        ]
    );
    assert_eq!(
        log_rows(&r, &["s.yaml", "api"]),
        [
            row("changed", "carol", "new api token", "s.yaml"),
            row("added", "alice", "add secrets", "s.yaml"),
        ]
    );
    // The sops form of the key path works too.
    assert_eq!(log_rows(&r, &["s.yaml", r#"["db"]["user"]"#]).len(), 1);

    // Human: newest first, with date, short commit, author and subject.
    let out = r.ks.run(&["log", "s.yaml", "db.password"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let human = text(&out.stdout);
    let lines: Vec<&str> = human.lines().collect();
    assert!(
        lines[0].starts_with("DATE") && lines[0].contains("SUBJECT"),
        "{human}"
    );
    assert_eq!(lines.len(), 4, "{human}");
    let head = r.git(&["rev-parse", "--short=7", "HEAD"]);
    assert!(
        lines[1].contains(head.trim()) && lines[1].contains("removed"),
        "{human}"
    );

    // No value and no ciphertext without --show, in any form.
    let mut seen = human.clone() + &text(&out.stderr);
    seen += &text(
        &r.ks
            .ok(&["log", "s.yaml", "db.password", "--format", "json"]),
    );
    seen += &text(&r.ks.ok(&["log", "s.yaml"]));
    seen += &text(&r.ks.ok(&["log", "s.yaml", "--format", "json"]));
    for v in [
        "app-VALUE-1",
        "pw-VALUE-2",
        "tok-VALUE-3",
        "pw-VALUE-4",
        "tok-VALUE-5",
    ] {
        assert!(!seen.contains(v), "{v} printed: {seen}");
    }
    assert!(!seen.contains("ENC["), "{seen}");

    // --show: each version's value; the removal has none.
    let v: serde_json::Value = serde_json::from_slice(&r.ks.ok(&[
        "log",
        "s.yaml",
        "db.password",
        "--show",
        "--format",
        "json",
    ]))
    .unwrap();
    let values: Vec<Option<&str>> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["value"].as_str())
        .collect();
    assert_eq!(values, [None, Some("pw-VALUE-4"), Some("pw-VALUE-2")]);
    let shown = text(&r.ks.ok(&["log", "s.yaml", "db.password", "--show"]));
    assert!(
        shown.contains("pw-VALUE-4") && shown.contains("pw-VALUE-2"),
        "{shown}"
    );
}

#[test]
fn log_without_a_key_gives_each_keys_last_change() {
    let r = Repo::new();
    r.ks.encrypted("s.yaml", PLAIN);
    r.commit("add secrets", 100, "alice");
    r.set("s.yaml", "api", "tok-VALUE-5");
    r.commit("new api token", 5, "bob");
    let v: serde_json::Value =
        serde_json::from_slice(&r.ks.ok(&["log", "s.yaml", "--format", "json"])).unwrap();
    let rows: Vec<(&str, &str)> = v["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["key"].as_str().unwrap(), x["author"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rows,
        [
            ("db.user", "alice"),
            ("db.password", "alice"),
            ("api", "bob")
        ]
    );
    let human = text(&r.ks.ok(&["log", "s.yaml"]));
    assert!(human.starts_with("KEY"), "{human}");
    assert!(
        human
            .lines()
            .any(|l| l.starts_with("api") && l.contains("new api token")),
        "{human}"
    );
    // --show needs a key path.
    let out = r.ks.run(&["log", "s.yaml", "--show"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    // The exit codes of `get` for the same files (both were 1): not encrypted, no file.
    std::fs::write(r.path("plain.yaml"), "a: b\n").unwrap();
    for (file, code) in [("plain.yaml", 204), ("nosuch.yaml", 2)] {
        let out = r.ks.run(&["log", file]);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{file}: {}",
            text(&out.stderr)
        );
        assert_eq!(r.ks.run(&["get", file, "a"]).status.code(), Some(code));
    }
}

#[test]
fn log_follows_a_renamed_file() {
    let r = Repo::new();
    r.ks.encrypted("s.yaml", PLAIN);
    r.commit("add secrets", 100, "alice");
    r.set("s.yaml", "db.password", "pw-VALUE-4");
    r.commit("new db password", 50, "bob");
    std::fs::create_dir_all(r.path("config")).unwrap();
    r.git(&["mv", "s.yaml", "config/app.yaml"]);
    r.commit("move secrets", 20, "carol");
    r.set("config/app.yaml", "db.password", "pw-VALUE-6");
    r.commit("another db password", 1, "dave");
    assert_eq!(
        log_rows(&r, &["config/app.yaml", "db.password"]),
        [
            row("changed", "dave", "another db password", "config/app.yaml"),
            row("changed", "bob", "new db password", "s.yaml"),
            row("added", "alice", "add secrets", "s.yaml"),
        ]
    );
    let human = text(&r.ks.ok(&["log", "config/app.yaml", "db.password"]));
    assert!(human.lines().next().unwrap().contains("FILE"), "{human}");
    // From another directory, by a relative path.
    let out =
        r.ks.cmd()
            .current_dir(r.path("config"))
            .args(["log", "app.yaml", "db.password", "--format", "json"])
            .output()
            .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["changes"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn log_shows_an_uncommitted_change_first_and_refuses_an_unknown_key() {
    let r = Repo::new();
    r.ks.encrypted("s.yaml", PLAIN);
    r.commit("add secrets", 100, "alice");
    r.set("s.yaml", "db.password", "pw-VALUE-4");
    let v: serde_json::Value =
        serde_json::from_slice(
            &r.ks
                .ok(&["log", "s.yaml", "db.password", "--format", "json"]),
        )
        .unwrap();
    assert!(v["changes"][0]["commit"].is_null(), "{v}");
    assert_eq!(v["changes"][0]["change"], "changed");
    let out = r.ks.run(&["log", "s.yaml", "db.nothing"]);
    assert_eq!(out.status.code(), Some(91), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("s.yaml") && err.contains(r#"["db"]["nothing"]"#),
        "{err}"
    );
}

#[test]
fn log_show_says_which_versions_cannot_be_opened_and_what_a_rotation_kept() {
    let r = Repo::new();
    std::fs::write(r.path(".gitignore"), "home/\nkey.txt\n*.key\n").unwrap();
    let bob = r.ks.sb.key("bob");
    // The first version was encrypted for bob alone: alice never had its key.
    r.ks.encrypted_for(
        "s.yaml",
        "token: old-VALUE-1\nother: x-VALUE-2\n",
        &bob.public,
    );
    r.commit("add for bob", 100, "bob");
    std::fs::remove_file(r.path("s.yaml")).unwrap();
    r.ks.encrypted("s.yaml", "token: new-VALUE-3\nother: x-VALUE-2\n");
    r.commit("re-encrypt for alice", 50, "alice");
    // A rotation: every value gets a new ciphertext, same plaintext.
    r.ks.ok(&["rotate", "s.yaml"]);
    r.commit("rotate", 10, "alice");

    let plain = log_rows(&r, &["s.yaml", "token"]);
    assert_eq!(
        plain.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(),
        ["changed", "changed", "added"]
    );
    let v: serde_json::Value = serde_json::from_slice(
        &r.ks
            .ok(&["log", "s.yaml", "token", "--show", "--format", "json"]),
    )
    .unwrap();
    let c = v["changes"].as_array().unwrap();
    assert_eq!(c[0]["change"], "re-encrypted", "{v}");
    assert_eq!(c[0]["whole_file"], true);
    assert_eq!(c[0]["value"], "new-VALUE-3");
    assert_eq!(c[1]["change"], "changed");
    assert_eq!(c[1]["value"], "new-VALUE-3");
    assert!(c[2]["value"].is_null(), "{v}");
    let why = c[2]["error"].as_str().unwrap();
    assert!(why.contains("none of your identities"), "{why}");
    assert!(why.contains(&bob.public[..10]), "{why}");
    // The whole log is still printed, and exits 0.
    let out = r.ks.run(&["log", "s.yaml", "token", "--show"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let human = text(&out.stdout);
    assert!(human.contains("re-encrypted"), "{human}");
    assert!(human.contains("(cannot decrypt this version"), "{human}");
    assert!(!human.contains("old-VALUE-1"), "{human}");
    // Without --show, the rotation is marked as a change of every value.
    let out = r.ks.run(&["log", "s.yaml", "token"]);
    assert!(
        text(&out.stdout).contains("changed*"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("every value"),
        "{}",
        text(&out.stderr)
    );
}

/// A team of alice and bob on `prod`; `config/prod/app.yaml` holds `v1`, then bob is
/// removed (which rotates the file) and the value set to `v2`, then the data key is
/// rotated again. Returns the repository, bob's key, and the three commits.
fn team_history() -> (Repo, Key, [String; 3]) {
    let r = Repo::new();
    std::fs::write(r.path(".gitignore"), "home/\nkey.txt\n*.key\n").unwrap();
    let bob = r.ks.sb.key("bob");
    std::fs::write(
        r.path(".secrets.yaml"),
        format!(
            "members:\n  alice: {}\n  bob: {}\nenvironments:\n  prod:\n    files: [config/prod/**]\n    members: [alice, bob]\n",
            r.ks.public, bob.public
        ),
    )
    .unwrap();
    std::fs::create_dir_all(r.path("config/prod")).unwrap();
    std::fs::write(
        r.path("config/prod/app.yaml"),
        "db:\n    password: pw-v1-VALUE\nport: 5432\n",
    )
    .unwrap();
    r.ks.ok(&["encrypt", "-i", "config/prod/app.yaml"]);
    r.commit("prod secrets", 30, "alice");
    let first = r.git(&["rev-parse", "HEAD"]).trim().to_string();
    r.ks.ok(&["member", "remove", "bob"]);
    r.set("config/prod/app.yaml", "db.password", "pw-v2-VALUE");
    r.commit("remove bob, new password", 20, "alice");
    let second = r.git(&["rev-parse", "HEAD"]).trim().to_string();
    r.ks.ok(&["rotate", "config/prod/app.yaml"]);
    r.commit("rotate", 10, "alice");
    let third = r.git(&["rev-parse", "HEAD"]).trim().to_string();
    (r, bob, [first, second, third])
}

#[test]
fn rev_reads_a_past_version_with_a_key_that_could_read_it_then() {
    let (r, bob, [first, second, _]) = team_history();
    let f = "config/prod/app.yaml";
    // alice reads every revision.
    assert_eq!(
        r.ks.ok(&["get", f, "db.password", "--rev", &first]),
        b"pw-v1-VALUE"
    );
    assert_eq!(
        r.ks.ok(&["get", f, "db.password", "--rev", "HEAD~1"]),
        b"pw-v2-VALUE"
    );
    assert_eq!(
        r.ks.ok(&["get", f, "db.password", "--rev", "HEAD"]),
        b"pw-v2-VALUE"
    );
    assert_eq!(r.ks.ok(&["get", f, "db.password"]), b"pw-v2-VALUE");
    // bob could read the first revision, and still can with his key.
    let out = run_as(&r, &bob, &["get", f, "db.password", "--rev", "HEAD~2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(out.stdout, b"pw-v1-VALUE");
    // Not the ones after his removal: exit 128, naming the file and the revision.
    for rev in [second.as_str(), "HEAD"] {
        let out = run_as(&r, &bob, &["get", f, "db.password", "--rev", rev]);
        assert_eq!(out.status.code(), Some(128), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(
            err.contains(f) && err.contains(&rev[..4]) && err.contains("none of your identities"),
            "{err}"
        );
        assert!(err.contains("alice"), "recipients named as members: {err}");
        assert!(!err.contains("pw-v"), "{err}");
    }
    // The working file is untouched and nothing else was written.
    assert_eq!(r.git(&["status", "--porcelain"]), "");
}

#[test]
fn rev_on_decrypt_exec_export_and_check() {
    let (r, bob, [first, ..]) = team_history();
    let f = "config/prod/app.yaml";
    let old = text(&run_as(&r, &bob, &["decrypt", f, "--rev", &first]).stdout);
    assert!(old.contains("password: pw-v1-VALUE"), "{old}");
    assert!(!old.contains("sops:"), "{old}");
    let extract =
        r.ks.ok(&["decrypt", f, "--rev", "HEAD~2", "--extract", "db.password"]);
    assert_eq!(extract, b"pw-v1-VALUE");
    // decrypt -i cannot take --rev.
    let out = r.ks.run(&["decrypt", "-i", f, "--rev", "HEAD"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));

    // exec and export: by -f, and by --env (the config at that revision).
    let out = run_as(
        &r,
        &bob,
        &[
            "exec",
            "-f",
            f,
            "--rev",
            &first,
            "--",
            "sh",
            "-c",
            "printf %s \"$DB_PASSWORD\"",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(out.stdout, b"pw-v1-VALUE");
    let out = run_as(
        &r,
        &bob,
        &[
            "exec",
            "--env",
            "prod",
            "--rev",
            &first,
            "--",
            "sh",
            "-c",
            "printf %s \"$DB_PASSWORD\"",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(out.stdout, b"pw-v1-VALUE");
    let out = run_as(
        &r,
        &bob,
        &["exec", "--env", "prod", "--rev", "HEAD", "--", "true"],
    );
    assert_eq!(out.status.code(), Some(128), "{}", text(&out.stderr));
    let dotenv = text(&r.ks.ok(&[
        "export", "--env", "prod", "--rev", "HEAD~2", "--format", "dotenv",
    ]));
    assert!(dotenv.contains("DB_PASSWORD=pw-v1-VALUE"), "{dotenv}");
    let json = text(
        &r.ks
            .ok(&["export", "-f", f, "--rev", "HEAD", "--format", "json"]),
    );
    assert!(json.contains("pw-v2-VALUE"), "{json}");

    // check and exec judge a revision by the config at that revision.
    let cfg = r.ks.sb.read(".secrets.yaml");
    std::fs::write(
        r.path(".secrets.yaml"),
        format!("{cfg}schema:\n  DB_PASSWORD: {{pattern: '^pw-v2'}}\n"),
    )
    .unwrap();
    r.commit("schema: the password must be a v2 one", 5, "alice");
    r.ks.ok(&["check"]);
    r.ks.ok(&["check", "--rev", "HEAD"]);
    r.ks.ok(&["check", "--rev", &first]);
    r.ks.ok(&["exec", "--env", "prod", "--rev", &first, "--", "true"]);
    r.ks.ok(&["exec", "-f", f, "--rev", &first, "--", "true"]);
    // The first revision's value under today's schema would not pass.
    let old = r.path("config/prod/old.yaml");
    std::fs::write(old, r.git(&["show", &format!("{first}:{f}")])).unwrap();
    let out =
        r.ks.run(&["exec", "-f", "config/prod/old.yaml", "--", "true"]);
    assert_eq!(out.status.code(), Some(65), "{}", text(&out.stderr));
}

#[test]
fn check_rev_judges_the_values_of_that_revision() {
    let r = Repo::new();
    r.configure("environments:\n  prod:\n    files: [prod/**]\n    members: [alice]\nschema:\n  TOKEN: {min_length: 12}\n");
    std::fs::create_dir_all(r.path("prod")).unwrap();
    std::fs::write(r.path("prod/app.env"), "TOKEN=x1y2\n").unwrap();
    r.ks.ok(&["encrypt", "-i", "prod/app.env"]);
    r.commit("weak token", 10, "alice");
    r.set("prod/app.env", "TOKEN", "a-long-enough-token");
    r.commit("strong token", 5, "alice");
    r.ks.ok(&["check"]);
    let out = r.ks.run(&["check", "--rev", "HEAD~1"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let found = text(&out.stdout);
    assert!(
        found.contains("TOKEN") && found.contains("min_length"),
        "{found}"
    );
    assert!(!found.contains("x1y2"), "{found}");
}

#[test]
fn stdin_is_read_with_input_type_and_git_show_pipes_in() {
    // get, decrypt, exec -f and encrypt read `-`; without --input-type it is a usage error.
    let r = Repo::new();
    r.ks.encrypted("s.yaml", PLAIN);
    r.commit("add secrets", 10, "alice");
    r.set("s.yaml", "db.password", "pw-VALUE-4");
    r.commit("new password", 5, "alice");
    let enc = std::fs::read(r.path("s.yaml")).unwrap();
    let out = run_with_stdin(&r, &["decrypt", "--input-type", "yaml", "-"], &enc);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("password: pw-VALUE-4"));
    let out = run_with_stdin(
        &r,
        &["get", "--input-type", "yaml", "-", "db.password"],
        &enc,
    );
    assert_eq!(out.stdout, b"pw-VALUE-4", "{}", text(&out.stderr));
    // The pipe of the issue, through a real shell and git.
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            "git show HEAD~1:s.yaml | \"$1\" decrypt --input-type yaml -",
            "sh",
        ])
        .arg(assert_cmd::cargo::cargo_bin("secrets"))
        .current_dir(r.ks.dir())
        .env("HOME", r.path("home"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("SOPS_AGE_KEY_FILE", &r.ks.key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("password: pw-VALUE-2"),
        "{}",
        text(&out.stdout)
    );
    // Without --input-type: a usage error that says what to add.
    let out = run_with_stdin(&r, &["decrypt", "-"], &enc);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("--input-type") && err.lines().count() <= 2,
        "{err}"
    );
    // exec -f - as well.
    let out = run_with_stdin(
        &r,
        &[
            "exec",
            "--input-type",
            "yaml",
            "-f",
            "-",
            "--",
            "sh",
            "-c",
            "printf %s \"$API\"",
        ],
        &enc,
    );
    assert_eq!(out.stdout, b"tok-VALUE-3", "{}", text(&out.stderr));
    // encrypt - : stdin to stdout, and back through decrypt -.
    let out = run_with_stdin(
        &r,
        &[
            "encrypt",
            "--input-type",
            "dotenv",
            "--age",
            &r.ks.public,
            "-",
        ],
        b"TOKEN=t-VALUE-7\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("TOKEN=ENC["),
        "{}",
        text(&out.stdout)
    );
    let back = run_with_stdin(
        &r,
        &["get", "--input-type", "dotenv", "-", "TOKEN"],
        &out.stdout,
    );
    assert_eq!(back.stdout, b"t-VALUE-7", "{}", text(&back.stderr));
    let out = run_with_stdin(&r, &["encrypt", "--age", &r.ks.public, "-"], b"a: 1\n");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    // A file that is not encrypted, on stdin: named as stdin.
    let out = run_with_stdin(&r, &["decrypt", "--input-type", "yaml", "-"], b"a: 1\n");
    assert_eq!(out.status.code(), Some(204));
    assert!(
        text(&out.stderr).contains("<stdin>"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_bad_rev_or_a_file_missing_there_is_one_line_naming_it() {
    let r = Repo::new();
    r.ks.encrypted("s.yaml", PLAIN);
    r.commit("add secrets", 10, "alice");
    for (args, needle) in [
        (vec!["get", "s.yaml", "api", "--rev", "v9.9"], "v9.9"),
        (vec!["decrypt", "s.yaml", "--rev", "nope~3"], "nope~3"),
        (
            vec![
                "export", "-f", "s.yaml", "--rev", "v9.9", "--format", "json",
            ],
            "v9.9",
        ),
        (vec!["check", "--rev", "v9.9"], "v9.9"),
        (
            vec!["exec", "-f", "s.yaml", "--rev", "v9.9", "--", "true"],
            "v9.9",
        ),
    ] {
        let out = r.ks.run(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let err = text(&out.stderr);
        let first = err.lines().next().unwrap();
        assert!(
            first.starts_with("secrets: error: ") && first.contains(needle),
            "{err}"
        );
        assert!(err.lines().count() <= 2, "{err}");
    }
    let out = r.ks.run(&["get", "other.yaml", "api", "--rev", "HEAD"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("other.yaml") && err.contains("HEAD"), "{err}");
}

#[test]
fn log_in_a_shallow_clone_says_where_history_ends_instead_of_inventing_an_addition() {
    let r = Repo::new();
    r.ks.encrypted("s.yaml", PLAIN);
    r.commit("add", 100, "alice");
    r.set("s.yaml", "db.password", "pw-VALUE-9");
    r.commit("pw", 1, "bob");
    let url = format!("file://{}", r.ks.dir().display());
    let clone = r.path("home/clone");
    r.git(&["clone", "-q", "--depth", "1", &url, clone.to_str().unwrap()]);
    let out =
        r.ks.cmd()
            .current_dir(&clone)
            .args(["log", "s.yaml", "db.password", "--format", "json"])
            .output()
            .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["changes"].as_array().unwrap().len(), 0, "{v}");
    assert_eq!(v["history_end"]["reason"], "shallow", "{v}");
    let out =
        r.ks.cmd()
            .current_dir(&clone)
            .args(["log", "s.yaml", "db.password"])
            .output()
            .unwrap();
    assert!(
        text(&out.stderr).contains("shallow clone"),
        "{}",
        text(&out.stderr)
    );
    // The full history has both.
    assert_eq!(
        log_rows(&r, &["s.yaml", "db.password"]),
        [
            row("changed", "bob", "pw", "s.yaml"),
            row("added", "alice", "add", "s.yaml")
        ]
    );
}

/// `--rev` against the real sops reading the same revision from `git show` (the oracle).
#[test]
fn rev_decrypts_as_sops_decrypts_git_show_of_that_revision() {
    let r = Repo::new();
    r.ks.encrypted("s.yaml", PLAIN);
    r.commit("add", 10, "alice");
    r.set("s.yaml", "db.password", "pw-VALUE-4");
    r.commit("pw", 5, "alice");
    let sops = common::sops_bin().unwrap();
    let old = r.git(&["show", "HEAD~1:s.yaml"]);
    std::fs::write(r.path("home/old.yaml"), &old).unwrap();
    let out = std::process::Command::new(sops)
        .args(["decrypt", "home/old.yaml"])
        .current_dir(r.ks.dir())
        .env("SOPS_AGE_KEY_FILE", &r.ks.key)
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .env("HOME", r.path("home"))
        .output()
        .unwrap();
    assert!(out.status.success(), "sops: {}", text(&out.stderr));
    let ours = r.ks.ok(&["decrypt", "s.yaml", "--rev", "HEAD~1"]);
    assert_eq!(text(&ours), text(&out.stdout));
    assert!(text(&ours).contains("pw-VALUE-2"));
}

#[test]
fn log_of_stdin_says_it_needs_a_path_and_help_says_show_needs_a_key() {
    let r = Repo::new();
    r.ks.encrypted("s.yaml", PLAIN);
    r.commit("add secrets", 10, "alice");
    let blob = r.git(&["show", "HEAD:s.yaml"]);
    for args in [&["log", "-", "db.password"][..], &["log", "-"][..]] {
        let out = run_with_stdin(&r, args, blob.as_bytes());
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("needs a path in the repository"), "{err}");
        assert!(!err.contains("neither in the file"), "{err}");
    }
    let help = text(&r.ks.ok(&["log", "--help"]));
    assert!(help.contains("With KEYPATH only"), "{help}");
}

#[test]
fn log_without_a_key_does_not_count_a_rotation_as_a_change_when_it_can_decrypt() {
    let r = Repo::new();
    r.ks.encrypted("s.yaml", PLAIN);
    r.commit("add secrets", 100, "alice");
    r.set("s.yaml", "api", "tok-VALUE-5");
    r.commit("new api token", 50, "bob");
    r.ks.ok(&["rotate", "s.yaml"]);
    r.commit("rotate", 10, "carol");
    let rows = |out: &[u8]| -> Vec<(String, String)> {
        let v: serde_json::Value = serde_json::from_slice(out).unwrap();
        v["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["key"].as_str().unwrap().to_string(),
                    // An unknown last change: its reason code.
                    x["author"]
                        .as_str()
                        .or(x["reason"].as_str())
                        .unwrap()
                        .to_string(),
                )
            })
            .collect()
    };
    let owned = |a: &[(&str, &str)]| -> Vec<(String, String)> {
        a.iter()
            .map(|(k, w)| (k.to_string(), w.to_string()))
            .collect()
    };
    // With the key: each value's real last change.
    assert_eq!(
        rows(&r.ks.ok(&["log", "s.yaml", "--format", "json"])),
        owned(&[
            ("db.user", "alice"),
            ("db.password", "alice"),
            ("api", "bob")
        ])
    );
    // Without a key: history sees the rotation, not whether a value changed there: the
    // values are unknown (changed there or before), never dated by it.
    let out =
        r.ks.cmd()
            .env_remove("SOPS_AGE_KEY_FILE")
            .args(["log", "s.yaml", "--format", "json"])
            .output()
            .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        rows(&out.stdout),
        owned(&[
            ("db.user", "reencrypted"),
            ("db.password", "reencrypted"),
            ("api", "reencrypted")
        ])
    );
}

#[test]
fn log_without_a_key_dates_values_stored_in_clear() {
    let r = Repo::new();
    std::fs::write(
        r.path("s.yaml"),
        "DEBUG: 'false'\nLOG_LEVEL: info\napi: tok-VALUE-3\n",
    )
    .unwrap();
    r.ks.ok(&[
        "encrypt",
        "-i",
        "--unencrypted-regex",
        "^(DEBUG|LOG_LEVEL)$",
        "--age",
        &r.ks.public,
        "s.yaml",
    ]);
    r.commit("add", 100, "alice");
    r.set("s.yaml", "DEBUG", "true");
    r.commit("debug on", 50, "bob");
    r.set("s.yaml", "api", "tok-VALUE-4");
    r.commit("new token", 20, "carol");
    let v: serde_json::Value =
        serde_json::from_slice(&r.ks.ok(&["log", "s.yaml", "--format", "json"])).unwrap();
    let rows: Vec<(&str, &str, &str)> = v["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["key"].as_str().unwrap(),
                x["state"].as_str().unwrap(),
                x["author"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("DEBUG", "changed", "bob"),
            ("LOG_LEVEL", "changed", "alice"),
            ("api", "changed", "carol"),
        ],
        "{v:#}"
    );
}

/// In a blobless clone (`git clone --filter=blob:none`, a common CI checkout) the blobs of
/// older versions are fetched as git fetches them (`git cat-file` from the promisor
/// remote; libgit2 cannot): `log KEYPATH`, `--rev` and `audit` work (each failed with
/// libgit2's "object not found").
#[test]
fn log_rev_and_audit_work_in_a_blobless_clone() {
    let r = Repo::new();
    r.configure("environments:\n  prod:\n    files: [s.yaml]\n    members: [alice]\n");
    r.ks.encrypted("s.yaml", PLAIN);
    r.commit("add secrets", 100, "alice");
    r.set("s.yaml", "api", "tok-VALUE-6");
    r.commit("new api token", 5, "bob");
    let clone = r.blobless_clone();
    let run = |args: &[&str]| {
        let out = r.ks.cmd().current_dir(&clone).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let log = run(&["log", "s.yaml", "api"]);
    assert!(log.contains("changed") && log.contains("added"), "{log}");
    assert_eq!(
        run(&["get", "--rev", "HEAD~1", "s.yaml", "api"]),
        "tok-VALUE-3"
    );
    run(&["audit"]);
}
