//! `secrets git setup`, the textconv and the merge driver, and `secrets resolve`, through
//! real `git merge`, `rebase`, `cherry-pick`, `diff` and `log -p` in temporary repositories
//! (the driver installed by `secrets git setup`, pointing at the binary under test), and
//! the real `sops` 3.11 reading the results. After every step the work tree and `.git`
//! (raw files and every object, decompressed) are searched for the plaintext values.

mod common;

use common::repo::Repo;
use common::sops_bin;
use std::path::PathBuf;
use std::process::{Command, Output};

const CONFIG: &str = "environments:\n  prod:\n    files: [\"config/**\"]\n    members: [alice]\n";

/// A repository with a config naming `config/**`, `secrets git setup` run, and `files`
/// (name, plaintext) encrypted and committed on `main`.
fn setup(files: &[(&str, &str)]) -> Repo {
    let r = Repo::new();
    r.configure(CONFIG);
    for (name, plain) in files {
        let p = r.path(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, plain).unwrap();
        r.ks.ok(&["encrypt", "-i", name]);
    }
    r.ks.ok(&["git", "setup"]);
    r.commit("start", 3, "alice");
    r
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// git as the sandbox's key holder.
fn git(r: &Repo, args: &[&str]) -> Output {
    r.git_as_user(args, Some(&r.ks.key), None)
}

fn git_ok(r: &Repo, args: &[&str]) -> String {
    let out = git(r, args);
    assert!(
        out.status.success(),
        "git {args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn get(r: &Repo, file: &str, key: &str) -> String {
    text(&r.ks.ok(&["get", file, key]))
}

fn sops_decrypt(r: &Repo, file: &str) -> String {
    let out = Command::new(sops_bin().unwrap())
        .env("SOPS_AGE_KEY_FILE", &r.ks.key)
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .env("HOME", r.path("home"))
        .current_dir(r.ks.dir())
        .args(["-d", file])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sops -d {file}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// No plaintext value in the work tree or in `.git`: every file read raw, and every git
/// object (they are compressed on disk) through `git cat-file --batch-all-objects`.
fn assert_no_plaintext(r: &Repo, values: &[&str]) {
    let mut hay: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let mut todo = vec![r.ks.dir().to_path_buf()];
    while let Some(dir) = todo.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            let name = e.file_name();
            if dir == r.ks.dir() && (name == "home" || name == "key.txt") {
                continue;
            }
            let t = e.file_type().unwrap();
            if t.is_dir() {
                todo.push(p);
            } else if t.is_file() {
                hay.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    let objects = git(
        r,
        &["cat-file", "--batch-all-objects", "--batch", "--unordered"],
    );
    hay.push((PathBuf::from("git objects"), objects.stdout));
    for v in values {
        for (p, bytes) in &hay {
            assert!(
                memchr_find(bytes, v.as_bytes()).is_none(),
                "plaintext {v:?} found in {}",
                p.display()
            );
        }
    }
}

fn memchr_find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The `ENC[…]` line of `key` in a YAML file's text.
fn enc_line(file_text: &str, key: &str) -> String {
    file_text
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no line for {key}"))
        .to_string()
}

const APP: &str = "db:\n    user: admin\n    password: pw-base-1111\napi_token: tok-base-2222\nkeep: keep-base-3333\n";

/// Two branches from `start`: `feature` with `feature_change`, `main` with `main_change`.
fn branches(r: &Repo, main_change: &[(&str, &str)], feature_change: &[(&str, &str)]) {
    git_ok(r, &["checkout", "-q", "-b", "feature"]);
    for (k, v) in feature_change {
        r.set("config/app.yaml", k, v);
    }
    r.commit("feature change", 2, "bob");
    git_ok(r, &["checkout", "-q", "main"]);
    for (k, v) in main_change {
        r.set("config/app.yaml", k, v);
    }
    r.commit("main change", 1, "alice");
}

#[test]
fn setup_marks_the_files_configures_git_and_check_reports_what_is_missing() {
    let r = setup(&[("config/app.yaml", APP)]);
    let attrs = r.ks.sb.read(".gitattributes");
    assert!(
        attrs.contains("/config/** diff=secrets merge=secrets"),
        "{attrs}"
    );
    let cfg = std::fs::read_to_string(r.path(".git/config")).unwrap();
    let exe = assert_cmd::cargo::cargo_bin("secrets");
    assert!(
        cfg.contains(&format!("{} git merge-driver %O %A %B %P", exe.display())),
        "{cfg}"
    );
    assert!(cfg.contains(&format!("{} git textconv", exe.display())));
    assert!(!cfg.contains("cachetextconv"));
    // Idempotent, and the user's own lines stay.
    std::fs::write(r.path(".gitattributes"), format!("*.png binary\n{attrs}")).unwrap();
    r.ks.ok(&["git", "setup"]);
    let again = r.ks.sb.read(".gitattributes");
    assert_eq!(again, format!("*.png binary\n{attrs}"));
    assert!(r.ks.run(&["git", "setup", "--check"]).status.success());
    // A cache setting is reported and removed; a missing line is reported.
    git_ok(&r, &["config", "diff.secrets.cachetextconv", "true"]);
    std::fs::write(r.path(".gitattributes"), "*.png binary\n").unwrap();
    // Staged too: libgit2 reads attributes from the work tree and the index.
    git_ok(&r, &["add", ".gitattributes"]);
    let out = r.ks.run(&["git", "setup", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("cachetextconv"), "{err}");
    assert!(err.contains("config/app.yaml: not marked"), "{err}");
    let status = r.ks.run(&["status"]);
    assert!(
        text(&status.stderr).contains("run secrets git setup"),
        "{}",
        text(&status.stderr)
    );
    r.ks.ok(&["git", "setup"]);
    assert!(!std::fs::read_to_string(r.path(".git/config"))
        .unwrap()
        .contains("cachetextconv"));
    assert!(r.ks.run(&["git", "setup", "--check"]).status.success());
    let status = r.ks.run(&["status"]);
    assert!(!text(&status.stderr).contains("git setup"));
}

/// A file encrypted outside every environment (`encrypt --age`, the README's example) is
/// marked by its own path, so `--check` and `status` stop asking for a setup that could
/// not satisfy them (found by a user test: setup said "already marks", check said missing).
#[test]
fn setup_marks_an_encrypted_file_outside_every_environment() {
    let r = setup(&[("config/app.yaml", APP)]);
    std::fs::write(r.path("other.yaml"), "token: t\n").unwrap();
    r.ks.ok(&["encrypt", "-i", "--age", &r.ks.public, "other.yaml"]);
    let out = r.ks.run(&["git", "setup", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("other.yaml: not marked"),
        "{}",
        text(&out.stderr)
    );
    r.ks.ok(&["git", "setup"]);
    let attrs = r.ks.sb.read(".gitattributes");
    assert!(
        attrs.contains("/other.yaml diff=secrets merge=secrets\n"),
        "{attrs}"
    );
    let out = r.ks.run(&["git", "setup", "--check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&r.ks.run(&["status"]).stderr).contains("git setup"));
}

#[test]
fn different_keys_on_two_branches_merge_cleanly_and_sops_decrypts_the_result() {
    let r = setup(&[("config/app.yaml", APP)]);
    let before = r.ks.sb.read("config/app.yaml");
    branches(
        &r,
        &[("db.password", "pw-main-4444")],
        &[("api_token", "tok-feature-5555")],
    );
    let out = git(&r, &["merge", "-q", "--no-edit", "feature"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(get(&r, "config/app.yaml", "db.password"), "pw-main-4444");
    assert_eq!(get(&r, "config/app.yaml", "api_token"), "tok-feature-5555");
    let plain = sops_decrypt(&r, "config/app.yaml");
    assert!(plain.contains("pw-main-4444") && plain.contains("tok-feature-5555"));
    // An untouched value keeps its ciphertext byte for byte.
    let after = r.ks.sb.read("config/app.yaml");
    assert_eq!(enc_line(&after, "keep"), enc_line(&before, "keep"));
    assert_eq!(enc_line(&after, "user"), enc_line(&before, "user"));
    assert_no_plaintext(
        &r,
        &[
            "pw-base-1111",
            "tok-base-2222",
            "pw-main-4444",
            "tok-feature-5555",
        ],
    );
    assert!(
        !r.path(".git/secrets-merge").exists()
            || std::fs::read_dir(r.path(".git/secrets-merge"))
                .unwrap()
                .next()
                .is_none()
    );
}

/// A shell script that sets every `result:` line of the resolve text to `value`.
fn editor(r: &Repo, value: &str) -> PathBuf {
    let p = r.path("home/editor.sh");
    std::fs::write(
        &p,
        format!("#!/bin/sh\nsed -i 's/^\\( *result:\\).*/\\1 {value}/' \"$1\"\n"),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    p
}

#[test]
fn the_same_key_changed_on_both_sides_conflicts_and_resolve_finishes_it() {
    let r = setup(&[("config/app.yaml", APP)]);
    branches(
        &r,
        &[("db.password", "pw-main-4444"), ("keep", "keep-main-6666")],
        &[
            ("db.password", "pw-feature-7777"),
            ("api_token", "tok-feature-5555"),
        ],
    );
    let out = git(&r, &["merge", "--no-edit", "feature"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("db.password"), "{err}");
    // Encrypted, valid, ours's value where they conflict, the rest merged.
    assert_eq!(get(&r, "config/app.yaml", "db.password"), "pw-main-4444");
    assert_eq!(get(&r, "config/app.yaml", "api_token"), "tok-feature-5555");
    assert_eq!(get(&r, "config/app.yaml", "keep"), "keep-main-6666");
    let record: Vec<_> = std::fs::read_dir(r.path(".git/secrets-merge"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(record.len(), 1);
    let record_text = std::fs::read_to_string(record[0].path()).unwrap();
    assert!(record_text.contains("db"), "{record_text}");
    let values = [
        "pw-base-1111",
        "pw-main-4444",
        "pw-feature-7777",
        "tok-feature-5555",
        "keep-main-6666",
        "pw-edited-8888",
    ];
    assert_no_plaintext(&r, &values);

    // Saved unchanged: no decision, nothing written.
    let conflicted = r.ks.sb.read("config/app.yaml");
    let out =
        r.ks.cmd()
            .env("EDITOR", "true")
            .args(["resolve", "config/app.yaml"])
            .output()
            .unwrap();
    assert_eq!(out.status.code(), Some(200), "{}", text(&out.stderr));
    assert_eq!(r.ks.sb.read("config/app.yaml"), conflicted);
    let ed = editor(&r, "pw-edited-8888");
    let out =
        r.ks.cmd()
            .env("EDITOR", &ed)
            .args(["resolve", "config/app.yaml"])
            .output()
            .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(get(&r, "config/app.yaml", "db.password"), "pw-edited-8888");
    assert_eq!(get(&r, "config/app.yaml", "api_token"), "tok-feature-5555");
    assert!(sops_decrypt(&r, "config/app.yaml").contains("pw-edited-8888"));
    assert!(std::fs::read_dir(r.path(".git/secrets-merge"))
        .unwrap()
        .next()
        .is_none());
    git_ok(&r, &["commit", "-q", "--no-edit"]);
    assert_no_plaintext(&r, &values);
}

/// `db.password` changed to `pw-main-4444` on main and `pw-feature-7777` on feature, and
/// `git merge feature` stopped on that conflict.
fn conflicted_merge() -> Repo {
    let r = setup(&[("config/app.yaml", APP)]);
    branches(
        &r,
        &[("db.password", "pw-main-4444")],
        &[("db.password", "pw-feature-7777")],
    );
    assert!(!git(&r, &["merge", "--no-edit", "feature"]).status.success());
    r
}

#[test]
fn resolve_takes_one_side_with_ours_or_theirs() {
    let r = conflicted_merge();
    r.ks.ok(&["resolve", "--theirs", "config/app.yaml"]);
    assert_eq!(get(&r, "config/app.yaml", "db.password"), "pw-feature-7777");
    git_ok(&r, &["commit", "-q", "--no-edit"]);
    assert_no_plaintext(&r, &["pw-main-4444", "pw-feature-7777"]);
}

#[test]
fn rebase_and_cherry_pick_merge_through_the_driver() {
    let r = setup(&[("config/app.yaml", APP)]);
    branches(
        &r,
        &[("db.password", "pw-main-4444")],
        &[("api_token", "tok-feature-5555")],
    );
    // Cherry-pick feature's commit onto main.
    git_ok(&r, &["checkout", "-q", "-b", "picked", "main"]);
    git_ok(&r, &["cherry-pick", "feature"]);
    assert_eq!(get(&r, "config/app.yaml", "db.password"), "pw-main-4444");
    assert_eq!(get(&r, "config/app.yaml", "api_token"), "tok-feature-5555");
    // Rebase feature onto main.
    git_ok(&r, &["checkout", "-q", "feature"]);
    git_ok(&r, &["rebase", "-q", "main"]);
    assert_eq!(get(&r, "config/app.yaml", "db.password"), "pw-main-4444");
    assert_eq!(get(&r, "config/app.yaml", "api_token"), "tok-feature-5555");
    sops_decrypt(&r, "config/app.yaml");
    assert_no_plaintext(&r, &["pw-main-4444", "tok-feature-5555", "pw-base-1111"]);
}

#[test]
fn diff_and_log_show_values_to_a_key_holder_and_a_note_to_others() {
    let r = setup(&[("config/app.yaml", APP)]);
    r.set("config/app.yaml", "db.password", "pw-new-9999");
    let diff = git_ok(&r, &["diff"]);
    let line = |sign: char, v: &str| {
        diff.lines()
            .any(|l| l.starts_with(sign) && l.contains(&format!("password: {v}")))
    };
    assert!(
        line('-', "pw-base-1111") && line('+', "pw-new-9999"),
        "{diff}"
    );
    assert!(!diff.contains("ENC["), "{diff}");
    assert!(!diff.contains("mac:"), "{diff}");
    r.commit("change", 0, "alice");
    let log = git_ok(&r, &["log", "-p", "config/app.yaml"]);
    assert!(
        log.lines()
            .any(|l| l.starts_with('+') && l.contains("password: pw-new-9999")),
        "{log}"
    );
    assert!(log.contains("# sops: data key "), "{log}");
    // Someone without a key: the encrypted lines, a note, and git diff does not fail.
    let stranger = r.git_as_user(&["log", "-p", "config/app.yaml"], None, None);
    assert!(stranger.status.success());
    let shown = text(&stranger.stdout);
    assert!(shown.contains("# secrets: shown encrypted"), "{shown}");
    assert!(!shown.contains("pw-new-9999"));
    assert!(shown.contains("ENC[AES256_GCM"));
    // Nothing was cached in .git.
    assert!(!r.path(".git/refs/notes").join("textconv").exists());
    assert_no_plaintext(&r, &["pw-base-1111", "pw-new-9999"]);
}

#[test]
fn a_side_that_rotated_gets_a_fresh_data_key_and_still_merges() {
    let r = setup(&[("config/app.yaml", APP)]);
    let id_of = |rev: &str| -> String {
        let blob = git_ok(&r, &["show", &format!("{rev}:config/app.yaml")]);
        let tmp = r.path("home/blob_app.yaml");
        std::fs::write(&tmp, blob).unwrap();
        let shown = text(&r.ks.ok(&["git", "textconv", tmp.to_str().unwrap()]));
        shown.lines().next().unwrap().to_string()
    };
    git_ok(&r, &["checkout", "-q", "-b", "feature"]);
    r.ks.ok(&["rotate", "config/app.yaml"]);
    r.set("config/app.yaml", "api_token", "tok-feature-5555");
    r.commit("rotate", 2, "bob");
    git_ok(&r, &["checkout", "-q", "main"]);
    r.set("config/app.yaml", "db.password", "pw-main-4444");
    r.commit("main", 1, "alice");
    let (main_id, feature_id) = (id_of("main"), id_of("feature"));
    assert_ne!(main_id, feature_id);
    git_ok(&r, &["merge", "-q", "--no-edit", "feature"]);
    let merged_id = id_of("HEAD");
    assert!(merged_id.starts_with("# sops: data key "), "{merged_id}");
    assert_ne!(merged_id, main_id);
    assert_ne!(merged_id, feature_id);
    assert_eq!(get(&r, "config/app.yaml", "db.password"), "pw-main-4444");
    assert_eq!(get(&r, "config/app.yaml", "api_token"), "tok-feature-5555");
    sops_decrypt(&r, "config/app.yaml");
    assert_no_plaintext(&r, &["pw-main-4444", "tok-feature-5555"]);
}

#[test]
fn a_side_the_user_cannot_decrypt_leaves_a_plain_git_conflict() {
    let r = setup(&[("config/app.yaml", APP)]);
    let bob = r.ks.sb.key("bob");
    git_ok(&r, &["checkout", "-q", "-b", "feature"]);
    // Re-encrypted for bob alone on the feature branch.
    let plain = r.ks.ok(&["decrypt", "config/app.yaml"]);
    std::fs::write(r.path("config/app.yaml"), plain).unwrap();
    r.ks.ok(&["encrypt", "-i", "--age", &bob.public, "config/app.yaml"]);
    r.commit("bob only", 2, "bob");
    git_ok(&r, &["checkout", "-q", "main"]);
    r.set("config/app.yaml", "db.password", "pw-main-4444");
    r.commit("main", 1, "alice");
    let ours = r.ks.sb.read("config/app.yaml");
    let out = git(&r, &["merge", "--no-edit", "feature"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "config/app.yaml: cannot merge: none of your identities opens theirs's version"
        ),
        "{err}"
    );
    assert_eq!(r.ks.sb.read("config/app.yaml"), ours);
    assert_no_plaintext(&r, &["pw-main-4444", "pw-base-1111"]);
}

#[test]
fn files_written_by_sops_merge_and_stay_readable_by_sops() {
    let r = setup(&[]);
    let sops = |args: &[&str]| {
        let out = Command::new(sops_bin().unwrap())
            .env("SOPS_AGE_KEY_FILE", &r.ks.key)
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .env("HOME", r.path("home"))
            .current_dir(r.ks.dir())
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "sops {args:?}: {}", text(&out.stderr));
    };
    std::fs::create_dir_all(r.path("config")).unwrap();
    std::fs::write(r.path("config/sops.yaml"), APP).unwrap();
    sops(&["-e", "-i", "--age", &r.ks.public, "config/sops.yaml"]);
    r.commit("sops file", 3, "alice");
    git_ok(&r, &["checkout", "-q", "-b", "feature"]);
    sops(&[
        "set",
        "config/sops.yaml",
        r#"["api_token"]"#,
        r#""tok-feature-5555""#,
    ]);
    r.commit("feature", 2, "bob");
    git_ok(&r, &["checkout", "-q", "main"]);
    sops(&[
        "set",
        "config/sops.yaml",
        r#"["db"]["password"]"#,
        r#""pw-main-4444""#,
    ]);
    r.commit("main", 1, "alice");
    git_ok(&r, &["merge", "-q", "--no-edit", "feature"]);
    let plain = sops_decrypt(&r, "config/sops.yaml");
    assert!(
        plain.contains("pw-main-4444") && plain.contains("tok-feature-5555"),
        "{plain}"
    );
    assert_no_plaintext(&r, &["pw-main-4444", "tok-feature-5555", "pw-base-1111"]);
}

#[test]
fn json_dotenv_and_ini_merge_key_by_key() {
    let cases = [
        (
            "config/app.json",
            "{\n  \"a\": \"a-base-1\",\n  \"b\": \"b-base-2\",\n  \"c\": \"c-base-3\"\n}\n",
            "a",
            "b",
        ),
        (
            "config/app.env",
            "A=a-base-1\nB=b-base-2\nC=c-base-3\n",
            "A",
            "B",
        ),
        (
            "config/app.ini",
            "[s]\na = a-base-1\nb = b-base-2\nc = c-base-3\n",
            "s.a",
            "s.b",
        ),
    ];
    for (file, plain, k1, k2) in cases {
        let r = setup(&[(file, plain)]);
        git_ok(&r, &["checkout", "-q", "-b", "feature"]);
        r.set(file, k2, "theirs-value-5555");
        r.commit("feature", 2, "bob");
        git_ok(&r, &["checkout", "-q", "main"]);
        r.set(file, k1, "ours-value-4444");
        r.commit("main", 1, "alice");
        let out = git(&r, &["merge", "-q", "--no-edit", "feature"]);
        assert!(out.status.success(), "{file}: {}", text(&out.stderr));
        assert_eq!(get(&r, file, k1), "ours-value-4444", "{file}");
        assert_eq!(get(&r, file, k2), "theirs-value-5555", "{file}");
        let plain = sops_decrypt(&r, file);
        assert!(plain.contains("ours-value-4444"), "{file}: {plain}");
        assert!(plain.contains("theirs-value-5555"), "{file}: {plain}");
        // And a conflict in that format resolves.
        git_ok(&r, &["checkout", "-q", "-b", "other"]);
        r.set(file, k1, "other-value-6666");
        r.commit("other", 0, "carol");
        git_ok(&r, &["checkout", "-q", "main"]);
        r.set(file, k1, "main-again-7777");
        r.commit("main again", 0, "alice");
        assert!(!git(&r, &["merge", "--no-edit", "other"]).status.success());
        r.ks.ok(&["resolve", "--theirs", file]);
        assert_eq!(get(&r, file, k1), "other-value-6666", "{file}");
        git_ok(&r, &["commit", "-q", "--no-edit"]);
        assert_no_plaintext(
            &r,
            &[
                "a-base-1",
                "ours-value-4444",
                "theirs-value-5555",
                "other-value-6666",
                "main-again-7777",
            ],
        );
    }
}

#[test]
fn binary_files_conflict_as_a_whole() {
    let r = setup(&[]);
    std::fs::create_dir_all(r.path("config")).unwrap();
    std::fs::write(r.path("config/blob.bin"), b"bin-base-1111\x00\x01").unwrap();
    r.ks.ok(&["encrypt", "-i", "config/blob.bin"]);
    r.commit("bin", 3, "alice");
    let write = |content: &[u8]| {
        let p = r.path("config/blob.bin");
        std::fs::write(&p, content).unwrap();
        r.ks.ok(&["encrypt", "-i", "config/blob.bin"]);
    };
    git_ok(&r, &["checkout", "-q", "-b", "feature"]);
    write(b"bin-feature-2222");
    r.commit("feature", 2, "bob");
    git_ok(&r, &["checkout", "-q", "main"]);
    write(b"bin-main-3333");
    r.commit("main", 1, "alice");
    let out = git(&r, &["merge", "--no-edit", "feature"]);
    assert!(!out.status.success());
    // The editor is refused for a binary file; a side is taken as a whole.
    let ed = editor(&r, "x");
    let refused =
        r.ks.cmd()
            .env("EDITOR", &ed)
            .args(["resolve", "config/blob.bin"])
            .output()
            .unwrap();
    assert!(!refused.status.success());
    r.ks.ok(&["resolve", "--theirs", "config/blob.bin"]);
    let plain = r.ks.ok(&["decrypt", "config/blob.bin"]);
    assert_eq!(plain, b"bin-feature-2222");
    git_ok(&r, &["commit", "-q", "--no-edit"]);
    assert_no_plaintext(&r, &["bin-base-1111", "bin-feature-2222", "bin-main-3333"]);
}

#[test]
fn a_plaintext_file_the_pattern_matches_merges_as_text_and_resolve_refuses_a_clean_file() {
    let r = setup(&[("config/app.yaml", APP)]);
    std::fs::write(r.path("config/notes.txt"), "one\ntwo\nthree\n").unwrap();
    r.commit("notes", 3, "alice");
    git_ok(&r, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(r.path("config/notes.txt"), "one\ntwo\nthree\nfour\n").unwrap();
    r.commit("feature", 2, "bob");
    git_ok(&r, &["checkout", "-q", "main"]);
    std::fs::write(r.path("config/notes.txt"), "zero\none\ntwo\nthree\n").unwrap();
    r.commit("main", 1, "alice");
    git_ok(&r, &["merge", "-q", "--no-edit", "feature"]);
    assert_eq!(
        r.ks.sb.read("config/notes.txt"),
        "zero\none\ntwo\nthree\nfour\n"
    );
    // Nothing conflicts: resolve says so and writes nothing.
    let before = r.ks.sb.read("config/app.yaml");
    let out = r.ks.run(&["resolve", "config/app.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no merge conflict recorded"));
    assert_eq!(r.ks.sb.read("config/app.yaml"), before);
}

#[test]
fn setup_from_sops_yaml_lists_the_files_a_path_regex_matches_and_check_names_new_ones() {
    let r = Repo::new();
    std::fs::remove_file(r.path(".secrets.yaml")).unwrap();
    std::fs::write(
        r.path(".sops.yaml"),
        format!(
            "creation_rules:\n  - path_regex: secrets/.*\\.yaml$\n    age: {}\n",
            r.ks.public
        ),
    )
    .unwrap();
    std::fs::create_dir_all(r.path("secrets")).unwrap();
    std::fs::write(r.path("secrets/x.yaml"), "a: x-value-1111\n").unwrap();
    r.ks.ok(&["encrypt", "-i", "secrets/x.yaml"]);
    r.ks.ok(&["git", "setup"]);
    let attrs = r.ks.sb.read(".gitattributes");
    assert!(
        attrs.contains("/secrets/x.yaml diff=secrets merge=secrets"),
        "{attrs}"
    );
    std::fs::write(r.path("secrets/y.yaml"), "b: y-value-2222\n").unwrap();
    r.ks.ok(&["encrypt", "-i", "secrets/y.yaml"]);
    let out = r.ks.run(&["git", "setup", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("secrets/y.yaml: not marked"));
    r.ks.ok(&["git", "setup"]);
    assert!(r.ks.run(&["git", "setup", "--check"]).status.success());
}

/// While git merges, the work tree's config is ours's: a member theirs added keeps their
/// stanza (same data key), and one theirs removed (a rotation) is not wrapped for again.
#[test]
fn recipients_follow_the_sides_a_member_added_stays_a_member_removed_stays_out() {
    let r = setup(&[("config/app.yaml", APP)]);
    let bob = r.ks.sb.key("bob");
    let recipients = |r: &Repo| -> String { r.ks.sb.read("config/app.yaml") };
    // Theirs adds bob (re-wrap, same data key); ours changes a value.
    git_ok(&r, &["checkout", "-q", "-b", "feature"]);
    r.ks.ok(&["member", "add", "bob", &bob.public]);
    r.ks.ok(&["env", "grant", "prod", "bob"]);
    r.ks.ok(&["updatekeys"]);
    r.commit("bob joins", 2, "alice");
    git_ok(&r, &["checkout", "-q", "main"]);
    r.set("config/app.yaml", "db.password", "pw-main-4444");
    r.commit("main", 1, "alice");
    git_ok(&r, &["merge", "-q", "--no-edit", "feature"]);
    assert!(
        recipients(&r).contains(&bob.public),
        "bob's stanza was dropped"
    );
    // Theirs removes bob (rotation); ours, whose config still names him, changes a value.
    git_ok(&r, &["checkout", "-q", "-b", "offboard"]);
    r.ks.ok(&["member", "remove", "bob"]);
    r.commit("bob leaves", 1, "alice");
    git_ok(&r, &["checkout", "-q", "main"]);
    r.set("config/app.yaml", "api_token", "tok-main-5555");
    r.commit("main again", 0, "alice");
    git_ok(&r, &["merge", "-q", "--no-edit", "offboard"]);
    assert!(
        !recipients(&r).contains(&bob.public),
        "the merge wrapped the file for the removed member again"
    );
    assert_eq!(get(&r, "config/app.yaml", "api_token"), "tok-main-5555");
    assert_eq!(get(&r, "config/app.yaml", "db.password"), "pw-main-4444");
    sops_decrypt(&r, "config/app.yaml");
}

#[test]
fn setup_global_writes_the_user_config_and_the_merge_still_runs_through_it() {
    let r = Repo::new();
    r.configure(CONFIG);
    std::fs::create_dir_all(r.path("config")).unwrap();
    std::fs::write(r.path("config/app.yaml"), APP).unwrap();
    r.ks.ok(&["encrypt", "-i", "config/app.yaml"]);
    r.ks.ok(&["git", "setup", "--global"]);
    let user = std::fs::read_to_string(r.path("home/.gitconfig")).unwrap();
    assert!(user.contains("git merge-driver %O %A %B %P"), "{user}");
    assert!(!std::fs::read_to_string(r.path(".git/config"))
        .unwrap()
        .contains("secrets"));
    assert!(r.ks.run(&["git", "setup", "--check"]).status.success());
    r.commit("start", 3, "alice");
    branches(
        &r,
        &[("db.password", "pw-main-4444")],
        &[("api_token", "tok-feature-5555")],
    );
    git_ok(&r, &["merge", "-q", "--no-edit", "feature"]);
    assert_eq!(get(&r, "config/app.yaml", "api_token"), "tok-feature-5555");
    assert_eq!(get(&r, "config/app.yaml", "db.password"), "pw-main-4444");
}

/// Audit of issue 14: `git merge --abort` leaves the conflict record; a later merge that
/// does not touch the file must not let `resolve` bring back the aborted branch's values.
#[test]
fn a_record_left_by_an_aborted_merge_is_not_resolved_into_a_later_merge() {
    let r = conflicted_merge();
    git_ok(&r, &["merge", "--abort"]);
    // A later change to the file, then a merge that conflicts elsewhere only.
    r.set("config/app.yaml", "keep", "keep-later-9999");
    r.commit("later", 1, "alice");
    git_ok(&r, &["checkout", "-q", "-b", "other"]);
    std::fs::write(r.path("README"), "other\n").unwrap();
    r.commit("other readme", 1, "bob");
    git_ok(&r, &["checkout", "-q", "main"]);
    std::fs::write(r.path("README"), "main\n").unwrap();
    r.commit("main readme", 1, "alice");
    assert!(!git(&r, &["merge", "--no-edit", "other"]).status.success());
    let before = r.ks.sb.read("config/app.yaml");
    let out = r.ks.run(&["resolve", "--theirs", "config/app.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no merge conflict recorded"));
    assert_eq!(r.ks.sb.read("config/app.yaml"), before);
    assert_eq!(get(&r, "config/app.yaml", "db.password"), "pw-main-4444");
    assert_eq!(get(&r, "config/app.yaml", "keep"), "keep-later-9999");
}

/// Audit of issue 14: a side that is no longer encrypted is a conflict git leaves on that
/// file (exit <= 128), not a driver crash that abandons the whole merge (git takes an
/// exit above 128 so, and the other files of the merge were not merged either).
#[test]
fn a_side_no_longer_encrypted_conflicts_on_that_file_and_the_merge_goes_on() {
    let r = setup(&[("config/app.yaml", APP)]);
    std::fs::write(r.path("notes.txt"), "one\n").unwrap();
    r.commit("notes", 3, "alice");
    git_ok(&r, &["checkout", "-q", "-b", "feature"]);
    r.ks.ok(&["decrypt", "-i", "config/app.yaml"]);
    std::fs::write(r.path("notes.txt"), "one\ntwo\n").unwrap();
    r.commit("feature: decrypted by mistake", 2, "bob");
    git_ok(&r, &["checkout", "-q", "main"]);
    r.set("config/app.yaml", "keep", "keep-main-6666");
    r.commit("main change", 1, "alice");
    let out = git(&r, &["merge", "--no-edit", "feature"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(!err.contains("failed to execute internal merge"), "{err}");
    assert!(err.contains("not encrypted"), "{err}");
    // The merge went on: the other file is merged, this one is left conflicted, ours kept.
    assert_eq!(r.ks.sb.read("notes.txt"), "one\ntwo\n");
    let status = git_ok(&r, &["status", "--porcelain"]);
    assert!(status.contains("UU config/app.yaml"), "{status}");
    assert_eq!(get(&r, "config/app.yaml", "keep"), "keep-main-6666");
}

/// A commit made after an offboarding, cherry-picked onto a release branch cut before it:
/// the base (the picked commit's parent) has the new data key, so the release branch looks
/// like the side that rotated. The merged file must not be wrapped for the member the
/// offboarding removed (it was: for the release branch's recipients, bob among them).
#[test]
fn a_backport_after_an_offboarding_does_not_hand_the_removed_member_the_new_value() {
    let r = setup(&[("config/app.yaml", APP)]);
    let bob = r.ks.sb.key("bob");
    r.ks.ok(&["member", "add", "bob", &bob.public]);
    r.ks.ok(&["env", "grant", "prod", "bob"]);
    r.ks.ok(&["updatekeys"]);
    r.commit("bob joins", 3, "alice");
    git_ok(&r, &["branch", "release"]);
    r.ks.ok(&["member", "remove", "bob"]);
    r.commit("bob leaves", 2, "alice");
    r.set("config/app.yaml", "db.password", "pw-after-bob-8888");
    r.commit("new password", 1, "alice");
    git_ok(&r, &["checkout", "-q", "release"]);
    git_ok(&r, &["cherry-pick", "main"]);
    assert_eq!(
        get(&r, "config/app.yaml", "db.password"),
        "pw-after-bob-8888"
    );
    assert!(
        !r.ks.sb.read("config/app.yaml").contains(&bob.public),
        "the backported value was wrapped for the removed member"
    );
    sops_decrypt(&r, "config/app.yaml");
}

/// A criss-cross merge: each branch merged the other's first commit and resolved the same
/// key its own way. git merges the two merge bases first (`merge.secrets.recursive
/// binary`, written by setup, keeps that inner merge from picking a side silently), so the
/// final merge conflicts on that key as a plain-text file would.
#[test]
fn a_criss_cross_merge_conflicts_where_the_branches_resolved_a_key_differently() {
    let r = setup(&[("config/app.yaml", APP)]);
    let app = "config/app.yaml";
    git_ok(&r, &["checkout", "-q", "-b", "p"]);
    r.set(app, "api_token", "tok-p-1111");
    r.commit("p", 5, "alice");
    git_ok(&r, &["tag", "p0"]);
    git_ok(&r, &["checkout", "-q", "-b", "q", "main"]);
    r.set(app, "api_token", "tok-q-2222");
    r.commit("q", 5, "bob");
    git_ok(&r, &["tag", "q0"]);
    for (branch, other) in [("p", "q0"), ("q", "p0")] {
        git_ok(&r, &["checkout", "-q", branch]);
        assert!(!git(&r, &["merge", "--no-edit", other]).status.success());
        r.ks.ok(&["resolve", "--ours", app]);
        git_ok(&r, &["commit", "-q", "--no-edit"]);
    }
    git_ok(&r, &["checkout", "-q", "p"]);
    r.set(app, "keep", "keep-p-3333");
    r.commit("p2", 3, "alice");
    git_ok(&r, &["checkout", "-q", "q"]);
    r.set(app, "db.user", "user-q");
    r.commit("q2", 3, "bob");
    git_ok(&r, &["checkout", "-q", "p"]);
    let out = git(&r, &["merge", "--no-edit", "q"]);
    assert!(
        !out.status.success(),
        "q's resolution of api_token was dropped without a conflict: {}",
        get(&r, app, "api_token")
    );
}

/// A member who joined by `updatekeys` (the data key re-wrapped, not changed) merges a
/// branch begun before they joined: its versions are not wrapped for them, but the data
/// key their own version gives opens them (their MAC verifies).
#[test]
fn a_member_who_joined_by_updatekeys_merges_a_branch_begun_before() {
    let r = setup(&[("config/app.yaml", APP)]);
    let app = "config/app.yaml";
    git_ok(&r, &["checkout", "-q", "-b", "feature"]);
    r.set(app, "api_token", "tok-feature-5555");
    r.commit("feature", 3, "alice");
    git_ok(&r, &["checkout", "-q", "main"]);
    let carol = r.ks.sb.key("carol");
    r.ks.ok(&["member", "add", "carol", &carol.public]);
    r.ks.ok(&["env", "grant", "prod", "carol"]);
    r.ks.ok(&["updatekeys"]);
    r.commit("carol joins", 2, "alice");
    let as_carol = |args: &[&str]| {
        let out =
            r.ks.cmd()
                .env("SOPS_AGE_KEY_FILE", &carol.file)
                .args(args)
                .output()
                .unwrap();
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    as_carol(&["set", app, "keep", "keep-carol-6666"]);
    r.commit("carol's change", 1, "carol");
    let out = r.git_as_user(&["merge", "--no-edit", "feature"], Some(&carol.file), None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(as_carol(&["get", app, "api_token"]), "tok-feature-5555");
    assert_eq!(as_carol(&["get", app, "keep"]), "keep-carol-6666");
    sops_decrypt(&r, app);
}

/// `resolve` in a dotenv file shows and takes values as `get` and `set` do: a typed
/// `abc #123` is stored quoted (it was stored bare, and ` #123` became a comment), and a
/// side's quoted value is shown as what it means.
#[test]
fn resolve_in_a_dotenv_file_takes_values_as_set_does() {
    let file = "config/app.env";
    let r = setup(&[(file, "TOKEN=tok-base-1\n")]);
    git_ok(&r, &["checkout", "-q", "-b", "feature"]);
    r.set(file, "TOKEN", "theirs value");
    r.commit("feature", 2, "bob");
    git_ok(&r, &["checkout", "-q", "main"]);
    r.set(file, "TOKEN", "ours value");
    r.commit("main", 1, "alice");
    assert!(!git(&r, &["merge", "--no-edit", "feature"]).status.success());
    let shown = r.path("home/shown.yaml");
    let ed = r.path("home/show.sh");
    std::fs::write(
        &ed,
        format!(
            "#!/bin/sh\ncp \"$1\" {}\nsed -i 's/^\\( *result:\\).*/\\1 \"abc #123\"/' \"$1\"\n",
            shown.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ed, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out =
        r.ks.cmd()
            .env("EDITOR", &ed)
            .args(["resolve", file])
            .output()
            .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc = std::fs::read_to_string(&shown).unwrap();
    assert!(
        doc.contains("ours: ours value") && doc.contains("theirs: theirs value"),
        "{doc}"
    );
    assert_eq!(get(&r, file, "TOKEN"), "abc #123");
    assert!(sops_decrypt(&r, file).contains("abc #123"));
}

/// A glob with white space (`my secrets/**`) is written with `[[:space:]]`: git's diff
/// and merge go through us for those files, and `--check` is satisfied (setup warned it
/// could not name them, and `--check` failed forever).
#[test]
fn setup_quotes_a_glob_with_white_space() {
    let r = Repo::new();
    r.configure("environments:\n  prod:\n    files: [\"my secrets/**\"]\n    members: [alice]\n");
    let p = r.path("my secrets/app.yaml");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, APP).unwrap();
    r.ks.ok(&["encrypt", "-i", "my secrets/app.yaml"]);
    let out = r.ks.run(&["git", "setup"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
    let attrs = r.ks.sb.read(".gitattributes");
    assert!(
        attrs.contains("/my[[:space:]]secrets/** diff=secrets merge=secrets"),
        "{attrs}"
    );
    let attr = git_ok(
        &r,
        &["check-attr", "diff", "merge", "--", "my secrets/app.yaml"],
    );
    assert!(
        attr.contains("diff: secrets") && attr.contains("merge: secrets"),
        "{attr}"
    );
    let out = r.ks.run(&["git", "setup", "--check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// An encrypted file whose name gives no format (`app.conf` made with `encrypt
/// --input-type dotenv`) diffs and merges key by key, read by its content (the textconv
/// said "not encrypted" and the driver left conflict markers inside the ciphertext).
#[test]
fn a_file_whose_name_gives_no_format_diffs_and_merges_by_its_content() {
    let r = setup(&[]);
    let file = "config/app.conf";
    std::fs::create_dir_all(r.path("config")).unwrap();
    std::fs::write(r.path(file), "A=a-base-1\nB=b-base-2\n").unwrap();
    r.ks.ok(&["encrypt", "-i", "--input-type", "dotenv", file]);
    r.ks.ok(&["git", "setup"]);
    r.commit("conf", 3, "alice");
    git_ok(&r, &["checkout", "-q", "-b", "feature"]);
    r.set(file, "B", "theirs-value-5555");
    r.commit("feature", 2, "bob");
    git_ok(&r, &["checkout", "-q", "main"]);
    r.set(file, "A", "ours-value-4444");
    let diff = git_ok(&r, &["diff"]);
    assert!(diff.contains("+A=ours-value-4444"), "{diff}");
    r.commit("main", 1, "alice");
    let out = git(&r, &["merge", "-q", "--no-edit", "feature"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(get(&r, file, "A"), "ours-value-4444");
    assert_eq!(get(&r, file, "B"), "theirs-value-5555");
}
