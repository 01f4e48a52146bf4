//! `secrets audit` (issue 13) over real repositories: files encrypted and rotated with the
//! real binary (and a recipient dropped by the real `sops updatekeys`, which does not
//! rotate), committed at back-dated times with the `git` binary; the HTML report rendered
//! by a real headless Chromium. No value, ciphertext or private key may reach any format.

mod common;

use common::repo::Repo;
use common::Key;
use std::path::{Path, PathBuf};
use std::process::Command;

const A_VALUE: &str = "pw-VALUE-a1x9";
const B_VALUE: &str = "pw-VALUE-b2y8";
const C_VALUE: &str = "pw-VALUE-c3z7";
const VALUES: &[&str] = &[A_VALUE, B_VALUE, C_VALUE];

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A report in `format`, from the repository, with the sandbox's identity (alice).
fn audit(repo: &Repo, format: &str) -> String {
    String::from_utf8(repo.ks.ok(&["audit", "--format", format])).unwrap()
}

/// The same, with no identity at all: rotations judged from the ciphertext alone.
fn audit_keyless(repo: &Repo, format: &str) -> String {
    let out = repo
        .ks
        .cmd()
        .env_remove("SOPS_AGE_KEY_FILE")
        .args(["audit", "--format", format])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Nothing secret in a report: no value, no ciphertext, no stanza, no private key.
fn assert_clean(repo: &Repo, text: &str) {
    for v in VALUES {
        assert!(!text.contains(v), "a value reached the report: {text}");
    }
    for marker in [
        "ENC[",
        "AGE-SECRET-KEY",
        "BEGIN AGE ENCRYPTED",
        "AES256_GCM",
    ] {
        assert!(!text.contains(marker), "{marker} in the report: {text}");
    }
    let secret = std::fs::read_to_string(&repo.ks.key).unwrap();
    let secret = secret
        .lines()
        .find(|l| l.starts_with("AGE-SECRET"))
        .unwrap();
    assert!(!text.contains(secret));
}

fn config(repo: &Repo, members: &[(&str, &str)], envs: &str) {
    let mut text = String::from("members:\n");
    for (name, key) in members {
        text.push_str(&format!("  {name}: {key}\n"));
    }
    text.push_str("environments:\n");
    text.push_str(envs);
    std::fs::write(repo.path(".secrets.yaml"), text).unwrap();
}

fn encrypt(repo: &Repo, rel: &str, plain: &str) {
    let p = repo.path(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, plain).unwrap();
    repo.ks.ok(&["encrypt", "-i", rel]);
}

/// `sops updatekeys` for `rel` with only `recipient` (a recipient dropped without a new
/// data key, as sops does), through a temporary `.sops.yaml`.
fn sops_updatekeys(repo: &Repo, rel: &str, recipient: &str) {
    let sops = common::sops_bin().unwrap();
    let rules = repo.path(".sops.yaml");
    std::fs::write(
        &rules,
        format!("creation_rules:\n  - path_regex: .*\n    age: {recipient}\n"),
    )
    .unwrap();
    let out = Command::new(sops)
        .args(["updatekeys", "-y", rel])
        .current_dir(repo.ks.dir())
        .env("HOME", repo.path("home"))
        .env("SOPS_AGE_KEY_FILE", &repo.ks.key)
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .output()
        .unwrap();
    std::fs::remove_file(&rules).unwrap();
    assert!(out.status.success(), "sops updatekeys: {}", stderr(&out));
}

/// alice and bob read prod (three files) since 100 days; 50 days ago bob's stanza was
/// dropped from b.yaml with `sops updatekeys` (no new data key); 10 days ago `member
/// remove bob` rotated every file, and b.yaml and c.yaml were then put back as they were
/// (b: without bob's stanza, old key; c: still wrapped for bob) and committed so.
fn removed_member_repo() -> (Repo, Key) {
    let repo = Repo::new();
    let bob = repo.ks.sb.key("bob");
    let alice = repo.ks.public.clone();
    config(
        &repo,
        &[("alice", &alice), ("bob", &bob.public)],
        "  prod:\n    files: [prod/**]\n    members: [alice, bob]\n",
    );
    encrypt(&repo, "prod/a.yaml", &format!("password: {A_VALUE}\n"));
    encrypt(&repo, "prod/b.yaml", &format!("password: {B_VALUE}\n"));
    encrypt(&repo, "prod/c.yaml", &format!("password: {C_VALUE}\n"));
    repo.commit("prod secrets", 100, "alice");
    sops_updatekeys(&repo, "prod/b.yaml", &alice);
    repo.commit("b: drop bob with sops updatekeys", 50, "carol");
    repo.ks.ok(&["member", "remove", "bob"]);
    repo.git(&["checkout", "HEAD", "--", "prod/b.yaml", "prod/c.yaml"]);
    repo.commit("remove bob", 10, "alice");
    (repo, bob)
}

fn removed_files(report: &serde_json::Value) -> Vec<(String, String)> {
    let removed = report["removed"].as_array().unwrap();
    assert_eq!(removed.len(), 1, "{report:#}");
    assert_eq!(removed[0]["member"], "bob");
    assert_eq!(removed[0]["how"], "removed");
    removed[0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_removed_member_and_a_file_not_rotated_after_their_removal() {
    let (repo, _bob) = removed_member_repo();
    let head = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    for text in [audit(&repo, "json"), audit_keyless(&repo, "json")] {
        assert_clean(&repo, &text);
        let r = json(&text);
        assert_eq!(
            removed_files(&r),
            [
                ("prod/a.yaml".to_string(), "rotated".to_string()),
                ("prod/b.yaml".into(), "not_rotated".into()),
                ("prod/c.yaml".into(), "still_recipient".into()),
            ],
            "{r:#}"
        );
        let removed = &r["removed"][0];
        assert_eq!(removed["removed_in"]["commit"], head.as_str());
        assert_eq!(removed["removed_in"]["author"], "alice");
        assert_eq!(removed["removed_in"]["age_days"], 10);
        let a = &removed["files"][0];
        assert_eq!(a["rotated_in"]["commit"], head.as_str());
        // b lost bob's stanza 50 days ago, by carol's sops updatekeys, and kept its key.
        let b = &removed["files"][1];
        assert_eq!(b["dropped_in"]["author"], "carol");
        assert_eq!(b["dropped_in"]["age_days"], 50);
        assert!(b["rotated_in"].is_null());
        // c is still wrapped for bob: drift, and the matrix names him.
        let c = r["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["file"] == "prod/c.yaml")
            .unwrap();
        let bob = c["access"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["who"] == "bob (removed)")
            .unwrap_or_else(|| panic!("{c:#}"));
        assert_eq!(bob["drift"], "not_granted");
        assert_eq!(bob["in_file"], true);
    }
    // The method says how each rotation was established.
    let with_key = json(&audit(&repo, "json"));
    assert_eq!(with_key["removed"][0]["files"][0]["method"], "key");
    let keyless = json(&audit_keyless(&repo, "json"));
    assert_eq!(keyless["removed"][0]["files"][0]["method"], "ciphertext");
    // Markdown says it in words, in the removed member's table.
    let md = audit(&repo, "markdown");
    assert_clean(&repo, &md);
    // (the matrix's rows go on with `| prod |`, the data-key table's with the age)
    for row in [
        "| prod/a.yaml | rotated |",
        "| prod/b.yaml | NOT ROTATED: they can still decrypt it |",
        "| prod/c.yaml | STILL A RECIPIENT |",
    ] {
        assert!(md.lines().any(|l| l.starts_with(row)), "{row}: {md}");
    }
    assert!(md.contains("### bob (removed"), "{md}");
}

#[test]
fn drift_in_both_directions_is_marked() {
    let repo = Repo::new();
    let carol = repo.ks.sb.key("carol");
    let dave = repo.ks.sb.key("dave");
    let alice = repo.ks.public.clone();
    let stranger = repo.ks.sb.key("stranger");
    config(
        &repo,
        &[
            ("alice", &alice),
            ("carol", &carol.public),
            ("dave", &dave.public),
        ],
        "  prod:\n    files: [prod/**]\n    members: [alice, carol]\n",
    );
    // Wrapped for alice, dave (a member not granted prod) and a key no member has; not for
    // carol, whom the config grants prod.
    std::fs::create_dir_all(repo.path("prod")).unwrap();
    std::fs::write(repo.path("prod/x.yaml"), format!("k: {A_VALUE}\n")).unwrap();
    let list = format!("{alice},{},{}", dave.public, stranger.public);
    repo.ks
        .ok(&["encrypt", "-i", "--age", &list, "prod/x.yaml"]);
    repo.commit("x", 3, "alice");
    let text = audit(&repo, "json");
    assert_clean(&repo, &text);
    let r = json(&text);
    let access = r["files"][0]["access"].as_array().unwrap();
    let of = |who: &str| {
        access
            .iter()
            .find(|h| h["who"].as_str().unwrap().starts_with(who))
            .unwrap_or_else(|| panic!("{who}: {r:#}"))
    };
    assert_eq!(of("alice")["drift"], serde_json::Value::Null);
    assert_eq!(of("alice")["granted"], true);
    assert_eq!(of("carol")["drift"], "missing");
    assert_eq!(of("carol")["in_file"], false);
    assert_eq!(of("dave")["drift"], "not_granted");
    let abbreviated = &stranger.public[..8];
    assert_eq!(of(abbreviated)["drift"], "not_granted");
    assert_eq!(r["members"], serde_json::json!(["alice", "carol", "dave"]));
    // The markdown matrix: one row, a column per member and one for the stranger's key.
    let md = audit(&repo, "markdown");
    let header = md
        .lines()
        .find(|l| l.starts_with("| File | Environment | alice"))
        .unwrap_or_else(|| panic!("{md}"));
    assert!(header.contains("| carol | dave | age1"), "{header}");
    let row = md
        .lines()
        .find(|l| l.starts_with("| prod/x.yaml | prod | reads |"))
        .unwrap_or_else(|| panic!("{md}"));
    let cells: Vec<&str> = row.split(" | ").collect();
    assert_eq!(cells[3], "MISSING (granted, not in file)", "{row}");
    assert_eq!(cells[4], "EXTRA (in file, not granted)", "{row}");
    assert!(cells[5].starts_with("EXTRA"), "{row}");
}

#[test]
fn data_key_age_is_the_last_rotation_not_the_last_edit() {
    let repo = Repo::new();
    let alice = repo.ks.public.clone();
    config(
        &repo,
        &[("alice", &alice)],
        "  prod:\n    files: [prod/**]\n    members: [alice]\n",
    );
    encrypt(
        &repo,
        "prod/rotated.yaml",
        &format!("a: {A_VALUE}\nb: {B_VALUE}\n"),
    );
    encrypt(&repo, "prod/old.yaml", &format!("c: {C_VALUE}\n"));
    repo.commit("secrets", 100, "alice");
    repo.ks.ok(&["rotate", "prod/rotated.yaml"]);
    let rotated = repo.commit("rotate", 30, "bob");
    repo.set("prod/rotated.yaml", "a", "another-VALUE");
    repo.commit("change a", 5, "carol");
    repo.set("prod/old.yaml", "c", "another-VALUE-2");
    repo.commit("change c", 4, "carol");
    for (keyed, text) in [
        (true, audit(&repo, "json")),
        (false, audit_keyless(&repo, "json")),
    ] {
        assert_clean(&repo, &text);
        let r = json(&text);
        let key = |file: &str| {
            r["files"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["file"] == file)
                .unwrap()["data_key"]
                .clone()
        };
        let k = key("prod/rotated.yaml");
        assert_eq!(k["state"], "rotated", "{k:#}");
        assert_eq!(k["since"]["time"], rotated);
        assert_eq!(k["since"]["author"], "bob");
        assert_eq!(k["since"]["age_days"], 30);
        let k = key("prod/old.yaml");
        assert_eq!(k["state"], "created", "{k:#}");
        assert_eq!(k["since"]["age_days"], 100);
        // The last change of every value, by whom and when.
        let values: Vec<(String, String, i64)> = r["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    format!(
                        "{}:{}",
                        v["file"].as_str().unwrap(),
                        v["key"].as_str().unwrap()
                    ),
                    // An unknown last change (a re-encryption read without a key): its state.
                    v["last_change"]["author"]
                        .as_str()
                        .or(v["state"].as_str())
                        .unwrap()
                        .to_string(),
                    v["last_change"]["age_days"].as_i64().unwrap_or(-1),
                )
            })
            .collect();
        assert_eq!(
            values,
            [
                ("prod/old.yaml:c".to_string(), "carol".to_string(), 4),
                ("prod/rotated.yaml:a".into(), "carol".into(), 5),
                // The rotation re-encrypted b: with the key, not a change of b; without
                // one, unknown (it changed at the rotation or before), never fresh.
                if keyed {
                    ("prod/rotated.yaml:b".into(), "alice".into(), 100)
                } else {
                    ("prod/rotated.yaml:b".into(), "unknown".into(), -1)
                },
            ]
        );
    }
    // Uncommitted: a rotation in the working tree is reported as such.
    repo.ks.ok(&["rotate", "prod/old.yaml"]);
    let r = json(&audit(&repo, "json"));
    let old = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file"] == "prod/old.yaml")
        .unwrap();
    assert_eq!(old["data_key"]["state"], "uncommitted", "{old:#}");
}

/// A file committed in clear before it was encrypted, and a decrypted copy committed over
/// an encrypted file (then encrypted again): the report names the commits that hold them in
/// clear, in every format, and the data key dates from the encryption (method
/// `encrypted`). Before, the data key was "unknown: a version could not be read" and
/// nothing said the values were in history in clear.
#[test]
fn versions_committed_in_plaintext_are_named() {
    let repo = Repo::new();
    let alice = repo.ks.public.clone();
    config(
        &repo,
        &[("alice", &alice)],
        "  prod:\n    files: [prod/**]\n    members: [alice]\n",
    );
    encrypt(&repo, "prod/b.yaml", &format!("password: {B_VALUE}\n"));
    repo.commit("b", 100, "alice");
    assert!(audit(&repo, "markdown").contains(
        "## Committed in plaintext\n\nNo version of the files encrypted now was committed unencrypted"
    ));
    // c.yaml was committed holding comments alone: nothing in it to leak.
    std::fs::write(repo.path("prod/c.yaml"), "# filled in later\n").unwrap();
    std::fs::write(repo.path("prod/a.yaml"), format!("password: {A_VALUE}\n")).unwrap();
    repo.commit("a in clear", 90, "carol");
    std::fs::write(repo.path("prod/c.yaml"), format!("password: {C_VALUE}\n")).unwrap();
    repo.ks.ok(&["encrypt", "-i", "prod/c.yaml"]);
    let a_in_clear = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    repo.ks.ok(&["encrypt", "-i", "prod/a.yaml"]);
    let a_encrypted = repo.commit("encrypt a", 80, "alice");
    let plain = repo.ks.ok(&["decrypt", "prod/b.yaml"]);
    std::fs::write(repo.path("prod/b.yaml"), plain).unwrap();
    repo.commit("b decrypted by mistake", 50, "carol");
    let b_in_clear = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    repo.ks.ok(&["encrypt", "-i", "prod/b.yaml"]);
    let b_encrypted = repo.commit("encrypt b again", 40, "alice");
    for text in [audit(&repo, "json"), audit_keyless(&repo, "json")] {
        assert_clean(&repo, &text);
        let r = json(&text);
        let file = |name: &str| {
            r["files"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["file"] == name)
                .unwrap()
                .clone()
        };
        for (name, in_clear, encrypted) in [
            ("prod/a.yaml", &a_in_clear, a_encrypted),
            ("prod/b.yaml", &b_in_clear, b_encrypted),
        ] {
            let f = file(name);
            assert_eq!(f["data_key"]["state"], "created", "{f:#}");
            assert_eq!(f["data_key"]["method"], "encrypted", "{f:#}");
            assert_eq!(f["data_key"]["since"]["time"], encrypted, "{f:#}");
            let commits: Vec<&str> = f["plaintext_in"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w["commit"].as_str().unwrap())
                .collect();
            assert_eq!(commits, [in_clear.as_str()], "{f:#}");
        }
        let c = file("prod/c.yaml");
        assert_eq!(c["data_key"]["method"], "encrypted", "{c:#}");
        assert_eq!(c["plaintext_in"], serde_json::json!([]), "{c:#}");
    }
    let md = audit(&repo, "markdown");
    assert_clean(&repo, &md);
    assert!(md.contains("anyone with a clone reads the values"), "{md}");
    assert!(
        md.contains(&format!(
            "| prod/a.yaml | {} by carol ({}) |",
            &repo
                .git(&["log", "-1", "--format=%ad", "--date=short", &a_in_clear])
                .trim(),
            &a_in_clear[..7]
        )),
        "{md}"
    );
    assert!(md.contains(&format!("({}) |", &b_in_clear[..7])), "{md}");
    let html = audit(&repo, "html");
    assert_clean(&repo, &html);
    assert!(html.contains("<h2>Committed in plaintext</h2>"), "{html}");
    assert!(html.contains(&b_in_clear[..7]), "{html}");
    // `log` tells the same story: per value, the commits that decrypted and encrypted the
    // file (before: `added` at the encryption, `removed` at the decrypted copy); per file,
    // why the value's age is unknown (before: "re-encrypted under a new data key").
    let log = String::from_utf8(repo.ks.ok(&["log", "prod/b.yaml", "password"])).unwrap();
    let changes: Vec<&str> = log
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(3).unwrap())
        .collect();
    assert_eq!(changes, ["encrypted", "decrypted", "added"], "{log}");
    let log: serde_json::Value =
        serde_json::from_slice(&repo.ks.ok(&["log", "prod/a.yaml", "--format", "json"])).unwrap();
    assert_eq!(
        log["values"][0]["reason"], "encrypted_from_clear",
        "{log:#}"
    );
    assert_clean(&repo, &log.to_string());
}

#[test]
fn a_value_past_max_age_is_listed() {
    let repo = Repo::new();
    let alice = repo.ks.public.clone();
    config(
        &repo,
        &[("alice", &alice)],
        "  prod:\n    files: [prod/**]\n    members: [alice]\nschema:\n  API_TOKEN: {max_age: 30d}\n  DB_PASSWORD: {max_age: 90d}\n",
    );
    encrypt(
        &repo,
        "prod/app.env",
        &format!("API_TOKEN={A_VALUE}\nDB_PASSWORD={B_VALUE}\n"),
    );
    repo.commit("secrets", 60, "alice");
    let text = audit(&repo, "json");
    assert_clean(&repo, &text);
    let r = json(&text);
    let overdue = r["max_age"].as_array().unwrap();
    assert_eq!(overdue.len(), 1, "{r:#}");
    assert_eq!(overdue[0]["name"], "API_TOKEN");
    assert_eq!(overdue[0]["state"], "overdue");
    assert_eq!(overdue[0]["environment"], "prod");
    assert_eq!(overdue[0]["file"], "prod/app.env");
    assert!(
        overdue[0]["detail"].as_str().unwrap().contains("60 days"),
        "{r:#}"
    );
    let md = audit(&repo, "markdown");
    assert!(
        md.lines()
            .any(|l| l.starts_with("| prod | prod/app.env | API_TOKEN | overdue |")),
        "{md}"
    );
}

#[test]
fn json_has_the_documented_shape() {
    let (repo, _bob) = removed_member_repo();
    let r = json(&audit(&repo, "json"));
    for key in [
        "generated_at",
        "head",
        "members",
        "environments",
        "files",
        "removed",
        "max_age",
        "values",
        "notes",
    ] {
        assert!(r.get(key).is_some(), "{key} missing: {r:#}");
    }
    assert_eq!(r["environments"][0]["name"], "prod");
    assert_eq!(
        r["environments"][0]["members"],
        serde_json::json!(["alice"])
    );
    assert_eq!(r["environments"][0]["files"].as_array().unwrap().len(), 3);
    let f = &r["files"][0];
    for key in [
        "file",
        "environment",
        "access",
        "data_key",
        "plaintext_in",
        "error",
    ] {
        assert!(f.get(key).is_some(), "{key}: {f:#}");
    }
    let h = &f["access"][0];
    for key in ["who", "recipients", "granted", "in_file", "drift"] {
        assert!(h.get(key).is_some(), "{key}: {h:#}");
    }
    for key in ["state", "method", "since", "reason"] {
        assert!(f["data_key"].get(key).is_some(), "{key}: {f:#}");
    }
    for key in ["commit", "author", "date", "time", "summary", "age_days"] {
        assert!(f["data_key"]["since"].get(key).is_some(), "{key}: {f:#}");
    }
    let v = &r["values"][0];
    for key in ["file", "key", "state", "last_change", "reason"] {
        assert!(v.get(key).is_some(), "{key}: {v:#}");
    }
    assert_eq!(r["notes"], serde_json::json!([]));
}

#[test]
fn no_value_in_any_format_and_o_writes_the_file() {
    let (repo, _bob) = removed_member_repo();
    for format in ["markdown", "json", "html"] {
        assert_clean(&repo, &audit(&repo, format));
        assert_clean(&repo, &audit_keyless(&repo, format));
    }
    repo.ks
        .ok(&["audit", "--format", "html", "-o", "report.html"]);
    let html = std::fs::read_to_string(repo.path("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_clean(&repo, &html);
}

#[test]
fn outside_git_the_history_sections_say_unknown() {
    let sb = common::KeyedSandbox::new();
    std::fs::write(
        sb.path(".secrets.yaml"),
        format!(
            "members:\n  alice: {}\nenvironments:\n  dev:\n    files: [s.yaml]\n    members: [alice]\n",
            sb.public
        ),
    )
    .unwrap();
    sb.encrypted("s.yaml", &format!("k: {A_VALUE}\n"));
    let r = json(&String::from_utf8(sb.ok(&["audit", "--format", "json"])).unwrap());
    assert_eq!(r["files"][0]["data_key"]["state"], "unknown", "{r:#}");
    assert_eq!(r["values"][0]["state"], "unknown");
    assert!(r["notes"][0]
        .as_str()
        .unwrap()
        .contains("not in a git repository"));
}

/// The headless browser of the HTML test: Debian's `chromium`, which `.ci/run` installs.
fn chromium() -> PathBuf {
    common::oracle(
        "chromium",
        common::on_path("chromium").or_else(|| common::on_path("chromium-browser")),
    )
    .unwrap()
}

fn run_chromium(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .args(args)
        .env("HOME", dir)
        .output()
        .unwrap()
}

#[test]
fn html_report_renders_its_tables_in_a_real_browser() {
    let (repo, _bob) = removed_member_repo();
    repo.ks
        .ok(&["audit", "--format", "html", "-o", "report.html"]);
    let page = repo.path("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: no script, no external reference.
    for bad in [
        "<script", "src=", "href=", "http://", "https://", "@import", "url(",
    ] {
        assert!(!html.contains(bad), "{bad} in {html}");
    }
    let url = format!("file://{}", page.display());
    let work = tempfile::tempdir().unwrap();

    // The DOM as the browser built it: the tables and their rows.
    let out = run_chromium(work.path(), &["--dump-dom", &url]);
    assert!(
        out.status.success(),
        "chromium --dump-dom: {}",
        stderr(&out)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    let matrix = dom
        .split("<table id=\"matrix\">")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap_or_else(|| panic!("no matrix table in the DOM: {dom}"));
    for file in ["prod/a.yaml", "prod/b.yaml", "prod/c.yaml"] {
        assert!(matrix.contains(&format!("<td>{file}</td>")), "{matrix}");
    }
    assert_eq!(matrix.matches("<tr>").count(), 4, "{matrix}");
    let removed = dom
        .split("<table id=\"removed-bob\">")
        .nth(1)
        .unwrap_or_else(|| panic!("{dom}"));
    assert!(removed.contains("NOT ROTATED"), "{removed}");

    // A screenshot: the page is not blank, and the red of a drift or unrotated cell and
    // the green of a granted one are on it.
    let shot = work.path().join("shot.png");
    let out = run_chromium(
        work.path(),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,1200",
            "--hide-scrollbars",
            &url,
        ],
    );
    assert!(
        out.status.success(),
        "chromium --screenshot: {}",
        stderr(&out)
    );
    let decoder = png::Decoder::new(std::fs::File::open(&shot).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{:?}", info.color_type);
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(channels).collect();
    let near = |p: &[u8], c: [u8; 3]| (0..3).all(|i| p[i].abs_diff(c[i]) <= 6);
    let white = pixels.iter().filter(|p| near(p, [255, 255, 255])).count();
    let red = pixels
        .iter()
        .filter(|p| near(p, [0xf6, 0xc6, 0xc6]))
        .count();
    let green = pixels
        .iter()
        .filter(|p| near(p, [0xc8, 0xec, 0xc8]))
        .count();
    let header = pixels
        .iter()
        .filter(|p| near(p, [0xdd, 0xe3, 0xea]))
        .count();
    assert!(white < pixels.len() * 98 / 100, "the page is blank");
    assert!(red > 500, "no drift/unrotated cell on screen ({red} px)");
    assert!(green > 500, "no granted cell on screen ({green} px)");
    assert!(header > 500, "no table header on screen ({header} px)");
}

#[test]
fn a_key_removed_from_sops_yaml_in_history_is_found() {
    let repo = Repo::new();
    std::fs::remove_file(repo.path(".secrets.yaml")).unwrap();
    let bob = repo.ks.sb.key("bob");
    let rules = |keys: &str| {
        std::fs::write(
            repo.path(".sops.yaml"),
            format!("creation_rules:\n  - path_regex: prod/.*\n    age: {keys}\n"),
        )
        .unwrap();
    };
    rules(&format!("{},{}", repo.ks.public, bob.public));
    encrypt(&repo, "prod/a.yaml", &format!("password: {A_VALUE}\n"));
    encrypt(&repo, "prod/b.yaml", &format!("password: {B_VALUE}\n"));
    repo.commit("sops rules", 20, "alice");
    rules(&repo.ks.public);
    repo.ks.ok(&["rotate", "prod/a.yaml"]);
    repo.commit("drop bob from .sops.yaml, rotate a", 5, "alice");
    let text = audit_keyless(&repo, "json");
    assert_clean(&repo, &text);
    let r = json(&text);
    assert_eq!(r["notes"], serde_json::json!([]), "{r:#}");
    let removed = r["removed"].as_array().unwrap();
    assert_eq!(removed.len(), 1, "{r:#}");
    assert_eq!(removed[0]["how"], "removed");
    assert_eq!(removed[0]["removed_in"]["age_days"], 5);
    let states: Vec<(&str, &str)> = removed[0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["file"].as_str().unwrap(), f["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            ("prod/a.yaml", "rotated"),
            ("prod/b.yaml", "still_recipient")
        ]
    );
}

/// alice and bob read prod since 100 days; `member remove bob` rotated x.yaml 10 days ago;
/// 5 days ago x.yaml was put back as it was before the removal and committed.
fn reverted_repo() -> (Repo, i64) {
    let repo = Repo::new();
    let bob = repo.ks.sb.key("bob");
    let alice = repo.ks.public.clone();
    config(
        &repo,
        &[("alice", &alice), ("bob", &bob.public)],
        "  prod:\n    files: [prod/**]\n    members: [alice, bob]\n",
    );
    encrypt(
        &repo,
        "prod/x.yaml",
        &format!("a: {A_VALUE}\nb: {B_VALUE}\n"),
    );
    let created = repo.commit("prod secrets", 100, "alice");
    let before = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    repo.ks.ok(&["member", "remove", "bob"]);
    repo.commit("remove bob", 10, "alice");
    repo.git(&["checkout", &before, "--", "prod/x.yaml"]);
    repo.commit("revert x", 5, "carol");
    (repo, created)
}

#[test]
fn a_reverted_file_has_its_old_data_key_not_a_fresh_one() {
    let (repo, created) = reverted_repo();
    for text in [audit(&repo, "json"), audit_keyless(&repo, "json")] {
        assert_clean(&repo, &text);
        let r = json(&text);
        let k = &r["files"][0]["data_key"];
        assert_eq!(k["state"], "created", "{k:#}");
        assert_eq!(k["since"]["time"], created, "{k:#}");
        assert_eq!(k["since"]["age_days"], 100, "{k:#}");
        assert_eq!(
            removed_files(&r),
            [("prod/x.yaml".to_string(), "still_recipient".to_string())]
        );
    }
}

#[test]
fn offboarding_does_not_make_old_values_look_fresh() {
    let repo = Repo::new();
    let bob = repo.ks.sb.key("bob");
    let alice = repo.ks.public.clone();
    config(
        &repo,
        &[("alice", &alice), ("bob", &bob.public)],
        "  prod:\n    files: [prod/**]\n    members: [alice, bob]\n",
    );
    encrypt(
        &repo,
        "prod/x.yaml",
        &format!("a: {A_VALUE}\nb: {B_VALUE}\n"),
    );
    repo.commit("prod secrets", 100, "alice");
    repo.set("prod/x.yaml", "b", C_VALUE);
    repo.commit("change b", 40, "carol");
    repo.ks.ok(&["member", "remove", "bob"]);
    repo.commit("remove bob", 10, "alice");
    let ages = |text: &str| -> Vec<(String, i64)> {
        json(text)["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["key"].as_str().unwrap().to_string(),
                    v["last_change"]["age_days"].as_i64().unwrap_or(-1),
                )
            })
            .collect()
    };
    let text = audit(&repo, "json");
    assert_clean(&repo, &text);
    assert_eq!(ages(&text), [("a".to_string(), 100), ("b".into(), 40)]);
    // Without a key, history sees the rotation but not whether a value changed there:
    // both are unknown (not 10 days fresh), with the reason.
    let keyless = audit_keyless(&repo, "json");
    assert_eq!(ages(&keyless), [("a".to_string(), -1), ("b".into(), -1)]);
    assert!(
        json(&keyless)["values"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["reason"]
                .as_str()
                .unwrap()
                .starts_with("re-encrypted under a new data key")),
        "{keyless}"
    );
}
