//! `policy::staleness` and `status --stale` against real repositories: files encrypted and
//! changed with the real binary, committed with the `git` binary at back-dated author and
//! committer times, then read through the library and the CLI.

mod common;

use common::repo::Repo;
use secrets::policy::staleness::{last_changes, Change, Freshness, UnknownReason};

/// The library's answer for one file, by key.
fn freshness(repo: &Repo, rel: &str) -> Vec<(String, Freshness)> {
    let p = repo.path(rel);
    let mut all = last_changes(std::slice::from_ref(&p)).unwrap();
    all.remove(&p).unwrap()
}

fn of<'a>(rows: &'a [(String, Freshness)], key: &str) -> &'a Freshness {
    &rows
        .iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no key {key} in {rows:?}"))
        .1
}

fn changed<'a>(rows: &'a [(String, Freshness)], key: &str) -> &'a Change {
    match of(rows, key) {
        Freshness::Changed(c) => c,
        other => panic!("{key}: {other:?}"),
    }
}

const PLAIN: &str = "db:\n    user: app-VALUE-1\n    password: pw-VALUE-2\napi: tok-VALUE-3\n";

#[test]
fn a_value_changed_100_days_ago_and_one_changed_yesterday() {
    let r = Repo::new();
    r.ks.encrypted("s.yaml", PLAIN);
    let old = r.commit("add secrets", 100, "alice");
    r.set("s.yaml", "db.password", "pw-VALUE-4");
    let new = r.commit("rotate the db password", 1, "bob");
    let rows = freshness(&r, "s.yaml");
    let keys: Vec<&str> = rows.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["db.user", "db.password", "api"]);
    assert_eq!(changed(&rows, "db.user").time, old);
    assert_eq!(changed(&rows, "api").time, old);
    let pw = changed(&rows, "db.password");
    assert_eq!(pw.time, new);
    assert_eq!(pw.author, "bob");
    assert_eq!(pw.email, "bob@example.com");
    assert_eq!(pw.summary, "rotate the db password");
    assert_eq!(pw.commit, r.git(&["rev-parse", "HEAD"]).trim());

    // The CLI: oldest first, ages in days, no value or ciphertext printed.
    let json = String::from_utf8(r.ks.ok(&["status", "--stale", "--format", "json"])).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let values = v["values"].as_array().unwrap();
    let listed: Vec<(&str, i64)> = values
        .iter()
        .map(|x| (x["key"].as_str().unwrap(), x["age_days"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [("db.user", 100), ("api", 100), ("db.password", 1)],
        "{json}"
    );
    assert_eq!(values[2]["file"], "s.yaml");
    assert_eq!(values[2]["state"], "changed");
    assert_eq!(values[2]["author"], "bob");
    assert_eq!(values[2]["commit"], pw.commit.as_str());
    let human = String::from_utf8(r.ks.ok(&["status", "--stale"])).unwrap();
    let lines: Vec<&str> = human.lines().collect();
    assert!(lines[0].starts_with("FILE"), "{human}");
    assert!(
        lines[3].starts_with("s.yaml")
            && lines[3].contains("db.password")
            && lines[3].contains(" 1d ")
            && lines[3].contains(&pw.commit[..7]),
        "{human}"
    );
    for out in [&json, &human] {
        assert!(!out.contains("VALUE") && !out.contains("ENC["), "{out}");
    }
}

#[test]
fn a_moved_or_reindented_key_keeps_its_date() {
    let r = Repo::new();
    r.ks.encrypted("s.yaml", PLAIN);
    let old = r.commit("add", 100, "alice");
    // `edit` that moves `api` to the top and swaps the two db keys, and changes nothing.
    let script = r.path("ed.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf 'api: tok-VALUE-3\\ndb:\\n    password: pw-VALUE-2\\n    user: app-VALUE-1\\n' > \"$1\"\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out =
        r.ks.cmd()
            .env("EDITOR", &script)
            .args(["edit", "s.yaml"])
            .output()
            .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(r.ks.path("s.yaml").exists());
    let text = std::fs::read_to_string(r.path("s.yaml")).unwrap();
    assert!(text.starts_with("api:"), "the edit moved the keys");
    r.commit("reorder", 50, "bob");
    // Re-indented by hand (4 spaces → 2): the same values, still a valid file.
    std::fs::write(r.path("s.yaml"), text.replace("\n    ", "\n  ")).unwrap();
    r.ks.ok(&["decrypt", "s.yaml"]);
    r.commit("reindent", 10, "carol");
    let rows = freshness(&r, "s.yaml");
    for key in ["api", "db.password", "db.user"] {
        assert_eq!(changed(&rows, key).time, old, "{key}");
    }
}

#[test]
fn a_renamed_file_keeps_its_history() {
    let r = Repo::new();
    std::fs::create_dir_all(r.path("config")).unwrap();
    r.ks.encrypted("config/old.yaml", PLAIN);
    let old = r.commit("add", 100, "alice");
    r.git(&["mv", "config/old.yaml", "config/new.yaml"]);
    r.commit("rename", 20, "bob");
    // A change after the rename is dated by its own commit.
    r.set("config/new.yaml", "api", "tok-VALUE-5");
    let later = r.commit("new api token", 5, "bob");
    let rows = freshness(&r, "config/new.yaml");
    assert_eq!(changed(&rows, "db.user").time, old);
    assert_eq!(changed(&rows, "db.password").time, old);
    assert_eq!(changed(&rows, "api").time, later);
}

#[test]
fn an_uncommitted_change_is_uncommitted() {
    let r = Repo::new();
    r.ks.encrypted("s.yaml", PLAIN);
    let old = r.commit("add", 30, "alice");
    r.set("s.yaml", "api", "tok-VALUE-6");
    r.git(&["add", "s.yaml"]); // staged is not committed
    r.set("s.yaml", "db.user", "app-VALUE-7");
    let rows = freshness(&r, "s.yaml");
    assert_eq!(of(&rows, "api"), &Freshness::Uncommitted);
    assert_eq!(of(&rows, "db.user"), &Freshness::Uncommitted);
    assert_eq!(changed(&rows, "db.password").time, old);
    // The CLI lists them last, as such.
    let human = String::from_utf8(r.ks.ok(&["status", "--stale"])).unwrap();
    let last = human.lines().last().unwrap();
    assert!(last.ends_with("uncommitted"), "{human}");
}

#[test]
fn a_shallow_clone_gives_unknown_not_fresh() {
    let r = Repo::new();
    r.ks.encrypted("s.yaml", PLAIN);
    r.commit("add", 100, "alice");
    r.set("s.yaml", "api", "tok-VALUE-8");
    r.commit("api", 50, "alice");
    r.set("s.yaml", "db.password", "pw-VALUE-9");
    let newest = r.commit("pw", 1, "alice");
    let url = format!("file://{}", r.ks.dir().display());
    for depth in ["1", "2"] {
        let clone = r.path(&format!("home/clone{depth}"));
        r.git(&[
            "clone",
            "-q",
            "--depth",
            depth,
            &url,
            clone.to_str().unwrap(),
        ]);
        let p = clone.join("s.yaml");
        let rows = last_changes(std::slice::from_ref(&p))
            .unwrap()
            .remove(&p)
            .unwrap();
        let boundary = r.git_in(&clone, &["rev-list", "--max-parents=0", "HEAD"]);
        let boundary = boundary.trim();
        let time = r.git_in(&clone, &["log", "-1", "--format=%at", boundary]);
        let shallow = Freshness::Unknown(UnknownReason::Shallow {
            boundary: boundary.to_string(),
            time: time.trim().parse().unwrap(),
        });
        assert_eq!(of(&rows, "db.user"), &shallow, "depth {depth}");
        assert_eq!(of(&rows, "api"), &shallow, "depth {depth}");
        if depth == "1" {
            // HEAD is the boundary: even the newest change cannot be told from an older one.
            assert_eq!(of(&rows, "db.password"), &shallow);
        } else {
            assert_eq!(changed(&rows, "db.password").time, newest);
        }
    }
}

#[test]
fn a_file_never_committed_is_unknown() {
    let r = Repo::new();
    r.ks.encrypted("committed.yaml", "a: x-VALUE\n");
    r.commit("add", 10, "alice");
    r.ks.encrypted("new.yaml", "b: y-VALUE\n");
    let rows = freshness(&r, "new.yaml");
    assert_eq!(
        of(&rows, "b"),
        &Freshness::Unknown(UnknownReason::NotCommitted)
    );
    let json = String::from_utf8(r.ks.ok(&["status", "--stale", "--format", "json"])).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    // Unknown first: it may be the oldest.
    assert_eq!(v["values"][0]["file"], "new.yaml", "{json}");
    assert_eq!(v["values"][0]["state"], "unknown");
    assert_eq!(v["values"][0]["reason"], "not_committed");
    assert_eq!(v["values"][0]["age_days"], serde_json::Value::Null);
    assert_eq!(v["values"][1]["file"], "committed.yaml");
    assert_eq!(v["values"][1]["age_days"], 10);

    // And a repository with no commit at all.
    let empty = Repo::new();
    empty.ks.encrypted("s.yaml", "c: z-VALUE\n");
    let rows = freshness(&empty, "s.yaml");
    assert_eq!(
        of(&rows, "c"),
        &Freshness::Unknown(UnknownReason::NoCommits)
    );
}

#[test]
fn a_merge_dates_what_it_brings_from_the_merge_and_leaves_the_rest() {
    let r = Repo::new();
    r.ks.encrypted("x.yaml", "a: a-VALUE\nb: b-VALUE\n");
    r.ks.encrypted("y.yaml", "c: c-VALUE\n");
    let start = r.commit("add", 100, "alice");
    r.git(&["checkout", "-q", "-b", "side"]);
    r.set("y.yaml", "c", "c-VALUE-2");
    r.commit("side: c", 30, "bob");
    r.git(&["checkout", "-q", "main"]);
    r.set("x.yaml", "b", "b-VALUE-2");
    let on_main = r.commit("main: b", 40, "alice");
    let t = r.git_as(
        "carol",
        20,
        &["merge", "-q", "--no-ff", "-m", "merge side", "side"],
    );
    let x = freshness(&r, "x.yaml");
    assert_eq!(changed(&x, "a").time, start);
    assert_eq!(changed(&x, "b").time, on_main);
    // The side branch's change counts from when it reached the first-parent line.
    let y = freshness(&r, "y.yaml");
    let c = changed(&y, "c");
    assert_eq!((c.time, c.author.as_str()), (t, "carol"));
    assert_eq!(c.summary, "merge side");
}

#[test]
fn errors_name_the_file_and_never_a_value() {
    let r = Repo::new();
    std::fs::write(r.path("plain.yaml"), "password: hunter2-VALUE\n").unwrap();
    let e = last_changes(&[r.path("plain.yaml")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("plain.yaml") && !e.contains("VALUE"), "{e}");
}

#[test]
fn overdue_lists_only_values_past_their_max_age_and_exits_1() {
    let r = Repo::new();
    r.configure("environments:\n  prod:\n    files: [s.yaml]\n    members: [alice]\nschema:\n  DB_PASSWORD: {max_age: 90d}\n  db.password: {max_age: 30d}\n  API: {max_age: 90d}\n");
    r.ks.encrypted("s.yaml", PLAIN);
    r.commit("add secrets", 100, "alice");
    r.set("s.yaml", "api", "tok-VALUE-5");
    r.commit("new api token", 40, "bob");
    // db.password: 100 days, past both rules; api: 40 days, within its 90.
    let out = r.ks.run(&["status", "--overdue"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("db.password") && text.contains("30d OVERDUE"),
        "{text}"
    );
    assert!(!text.contains("api") && !text.contains("db.user"), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 value is past its max_age"));
    let json = String::from_utf8(
        r.ks.run(&["status", "--overdue", "--format", "json"])
            .stdout,
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let values = v["values"].as_array().unwrap();
    assert_eq!(values.len(), 1);
    assert_eq!(values[0]["max_age"], "30d");
    assert_eq!(values[0]["overdue"], true);
    // --stale still lists every value, and exits 0.
    let out = r.ks.run(&["status", "--stale"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("db.user"));
    // Rotated: nothing overdue, exit 0.
    r.set("s.yaml", "db.password", "pw-VALUE-6");
    r.commit("rotate", 0, "alice");
    let out = r.ks.run(&["status", "--overdue"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no value is past its max_age"));
}

/// A data-key rotation re-encrypts every value; for whoever can open both versions it is
/// not a change: the values keep their age, and what was overdue before stays overdue. For
/// someone without the key, the rotation is the last change (the ciphertext rule).
#[test]
fn a_rotation_does_not_make_overdue_values_look_fresh_to_a_key_holder() {
    let r = Repo::new();
    r.configure("environments:\n  prod:\n    files: [s.yaml]\n    members: [alice]\nschema:\n  db.password: {max_age: 30d}\n");
    r.ks.encrypted("s.yaml", PLAIN);
    r.commit("add secrets", 100, "alice");
    let before = std::fs::read(r.path("s.yaml")).unwrap();
    r.ks.ok(&["rotate", "s.yaml"]);
    assert_ne!(before, std::fs::read(r.path("s.yaml")).unwrap());
    r.commit("offboarding: new data key", 0, "bob");

    let out = r.ks.run(&["status", "--overdue", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let values = v["values"].as_array().unwrap();
    assert_eq!(values.len(), 1, "{v:#}");
    assert_eq!(values[0]["key"], "db.password");
    assert_eq!(values[0]["overdue"], true);
    let out = r.ks.run(&["check", "--env", "prod"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("max_age"))
        .unwrap_or_default();
    assert!(
        line.contains("DB_PASSWORD") && line.contains("100 days ago") && line.contains("alice"),
        "{text}"
    );
    assert!(!text.contains("pw-VALUE"), "{text}");

    // Without the key (CI without secrets) only the ciphertext can be read: the rotation
    // put every value under a new data key, so whether a value changed there is unknown,
    // and it never reads as fresh.
    let rows = freshness(&r, "s.yaml");
    let head = r.git(&["rev-parse", "HEAD"]).trim().to_string();
    let reencrypted = Freshness::Unknown(UnknownReason::ReEncrypted { commit: head });
    for key in ["db.user", "db.password", "api"] {
        assert_eq!(of(&rows, key), &reencrypted, "{key}");
    }
    let keyless = |args: &[&str]| {
        r.ks.cmd()
            .env_remove("SOPS_AGE_KEY_FILE")
            .args(args)
            .output()
            .unwrap()
    };
    let out = keyless(&["check", "--env", "prod"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        text.lines().any(|l| l.starts_with("skipped")
            && l.contains("max_age")
            && l.contains("re-encrypted under a new data key")),
        "{text}"
    );
    assert_eq!(
        keyless(&["check", "--env", "prod", "--strict"])
            .status
            .code(),
        Some(1)
    );
    let out = keyless(&["status", "--overdue"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no value is known to be past its max_age")
            && err.contains(
                "1 value with a max_age has no known age (re-encrypted under a new data key at"
            )
            && err.contains("it may be overdue"),
        "{err}"
    );
    let out = keyless(&["status", "--overdue", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["values"].as_array().unwrap().len(), 0, "{v:#}");
    assert_eq!(
        v["unknown_age"],
        serde_json::json!([{"file": "s.yaml", "key": "db.password", "reason": "reencrypted"}]),
        "{v:#}"
    );
    let json = keyless(&["status", "--stale", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(
        v["values"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["reason"] == "reencrypted" && x["overdue"].is_null()),
        "{v:#}"
    );
    // A later `set` under the new data key dates that value alone, even without the key.
    r.set("s.yaml", "api", "tok-VALUE-7");
    let set_at = r.commit("api", 0, "carol");
    let rows = freshness(&r, "s.yaml");
    assert_eq!(changed(&rows, "api").time, set_at);
    assert_eq!(of(&rows, "db.user"), &reencrypted);
}

/// Audit find: a dotenv `export NAME=` line was listed as `export NAME`, though exec, get
/// and set call it NAME (and `check` showed `export NAME (NAME)`).
#[test]
fn an_exported_dotenv_key_is_named_as_exec_names_it() {
    let r = Repo::new();
    r.configure("environments:\n  prod:\n    files: [.env.prod]\n    members: [alice]\nschema:\n  REDIS_URL: {max_age: 30d}\n");
    r.ks.encrypted(".env.prod", "export REDIS_URL=redis://cache-VALUE-1\n");
    r.commit("add", 100, "alice");
    let json: serde_json::Value =
        serde_json::from_slice(&r.ks.ok(&["status", "--stale", "--format", "json"])).unwrap();
    assert_eq!(json["values"][0]["key"], "REDIS_URL", "{json:#}");
    assert_eq!(json["values"][0]["overdue"], true, "{json:#}");
    let out = r.ks.run(&["check", "--env", "prod"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains(".env.prod  REDIS_URL  max_age"), "{text}");
    assert!(!text.contains("export"), "{text}");
    // log, audit and the commands that write it name it so too (they said `export
    // REDIS_URL` and `["export REDIS_URL"]`).
    let log = String::from_utf8(r.ks.ok(&["log", ".env.prod"])).unwrap();
    assert!(log.contains("\nREDIS_URL "), "{log}");
    let log: serde_json::Value =
        serde_json::from_slice(&r.ks.ok(&["log", ".env.prod", "--format", "json"])).unwrap();
    assert_eq!(log["values"][0]["key"], "REDIS_URL", "{log:#}");
    let audit = String::from_utf8(r.ks.ok(&["audit"])).unwrap();
    assert!(audit.contains("| .env.prod | REDIS_URL |"), "{audit}");
    let stderr = |args: &[&str]| {
        let out = r.ks.run(args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let said = stderr(&["set", ".env.prod", "REDIS_URL", "redis://cache-VALUE-2"]);
    assert!(said.contains("set REDIS_URL in .env.prod"), "{said}");
    let said = stderr(&["generate", ".env.prod", "REDIS_URL", "--if-missing"]);
    assert!(
        said.contains("REDIS_URL in .env.prod already exists"),
        "{said}"
    );
    let said = stderr(&["rotate-value", ".env.prod", "REDIS_URL", "--generate"]);
    assert!(said.contains("rotated REDIS_URL in .env.prod"), "{said}");
    for text in [&log.to_string(), &audit] {
        assert!(!text.contains("export REDIS_URL"), "{text}");
    }
    let plain = String::from_utf8(r.ks.ok(&["decrypt", ".env.prod"])).unwrap();
    assert!(
        plain.starts_with("export REDIS_URL="),
        "the line keeps its export"
    );
    let said = stderr(&["unset", ".env.prod", "REDIS_URL"]);
    assert!(said.contains("removed REDIS_URL from .env.prod"), "{said}");

    // Audit of this change: where `export A=` and `A=` are both in a file, each row keeps
    // its stored name (two rows named A would look like one key twice), and a command
    // names the key as the user did.
    r.ks.encrypted(
        "both.env",
        "export A=one-VALUE\nA=two-VALUE\nB=three-VALUE\n",
    );
    let log: serde_json::Value =
        serde_json::from_slice(&r.ks.ok(&["log", "both.env", "--format", "json"])).unwrap();
    let keys: Vec<&str> = log["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["export A", "A", "B"], "{log:#}");
    let said = stderr(&["set", "both.env", "[\"export A\"]", "x-VALUE"]);
    assert!(said.contains("set [\"export A\"] in both.env"), "{said}");
}

/// Re-audit find: with only a removed member's key (it opens the versions before the
/// rotation, not the one after), the values looked fresh, dated by the offboarding.
#[test]
fn a_key_that_opens_only_the_older_version_does_not_make_values_fresh() {
    let r = Repo::new();
    let bob = common::KeyedSandbox::new();
    std::fs::write(
        r.path(".secrets.yaml"),
        format!(
            "members:\n  alice: {}\n  bob: {}\nenvironments:\n  prod:\n    files: [s.yaml]\n    members: [alice, bob]\nschema:\n  db.password: {{max_age: 30d}}\n",
            r.ks.public, bob.public
        ),
    )
    .unwrap();
    r.ks.encrypted("s.yaml", PLAIN);
    r.ks.ok(&["updatekeys", "s.yaml"]);
    r.commit("add secrets", 100, "alice");
    r.ks.ok(&["member", "remove", "bob"]);
    let removed = r.commit("remove bob", 2, "alice");
    let as_bob = |args: &[&str]| {
        r.ks.cmd()
            .env("SOPS_AGE_KEY_FILE", &bob.key)
            .args(args)
            .output()
            .unwrap()
    };
    let out = as_bob(&["status", "--stale", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for x in v["values"].as_array().unwrap() {
        assert_eq!(x["reason"], "reencrypted", "{v:#}");
        assert_ne!(x["time"], removed, "{v:#}");
    }
    let out = as_bob(&["check", "--env", "prod", "--strict"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    // alice, whose key opens both: 100 days, overdue.
    let out = r.ks.run(&["check", "--env", "prod"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("100 days ago"));
}

/// Audit find: in a blobless clone (`git clone --filter=blob:none`) the blobs of older
/// commits are not there; `check` stopped with libgit2's "object not found" (exit 2) and
/// reported no rule at all, and `status --overdue` exited 1. A version that is not fetched
/// makes the value's age unknown (`partial_clone`), and every other rule still runs.
#[test]
fn a_blobless_clone_gives_unknown_ages_and_every_other_rule_runs() {
    let r = Repo::new();
    r.configure("environments:\n  prod:\n    files: [s.yaml]\n    members: [alice]\nschema:\n  db.password: {max_age: 30d}\n  API: {min_length: 50}\n");
    r.ks.encrypted("s.yaml", PLAIN);
    r.commit("add secrets", 100, "alice");
    r.set("s.yaml", "db.user", "app-VALUE-8");
    r.commit("new user", 1, "alice");
    let clone = r.blobless_clone();

    let p = clone.join("s.yaml");
    let rows = last_changes(std::slice::from_ref(&p))
        .unwrap()
        .remove(&p)
        .unwrap();
    for key in ["db.user", "db.password", "api"] {
        match of(&rows, key) {
            Freshness::Unknown(why) => assert_eq!(why.code(), "partial_clone", "{key}"),
            other => panic!("{key}: {other:?}"),
        }
    }
    let run = |args: &[&str]| r.ks.cmd().current_dir(&clone).args(args).output().unwrap();
    let out = run(&["check", "--env", "prod"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("FAIL") && l.contains("api (API)") && l.contains("min_length")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("skipped")
            && l.contains("db.password")
            && l.contains("max_age")
            && l.contains("partial clone: blob not fetched")),
        "{text}"
    );
    let out = run(&["status", "--overdue"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("no value is known to be past its max_age")
            && err.contains("(partial clone: blob not fetched"),
        "{err}"
    );
    let out = run(&["status", "--stale", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["unknown_age"],
        serde_json::json!([{"file": "s.yaml", "key": "db.password", "reason": "partial_clone"}]),
        "{v:#}"
    );
}

/// Audit find: in a `--depth 1` clone, a value present in the boundary commit changed at
/// that commit or before, so it is at least as old as the commit; it was reported "age
/// unknown" and `check` passed even when that alone is past its max_age. Now the bound
/// counts: past max_age, it is overdue ("at least N days"); under it, the age is unknown.
#[test]
fn a_shallow_boundary_older_than_max_age_is_overdue() {
    let r = Repo::new();
    r.configure("environments:\n  prod:\n    files: [s.yaml]\n    members: [alice]\nschema:\n  db.password: {max_age: 30d}\n  API: {max_age: 200d}\n");
    r.ks.encrypted("s.yaml", PLAIN);
    r.commit("add secrets", 300, "alice");
    r.set("s.yaml", "db.user", "app-VALUE-8");
    let boundary_time = r.commit("new user", 100, "alice");
    let clone = r.path("home/shallow");
    let url = format!("file://{}", r.ks.dir().display());
    r.git(&["clone", "-q", "--depth", "1", &url, clone.to_str().unwrap()]);
    let p = clone.join("s.yaml");
    let rows = last_changes(std::slice::from_ref(&p))
        .unwrap()
        .remove(&p)
        .unwrap();
    match of(&rows, "db.password") {
        Freshness::Unknown(why @ UnknownReason::Shallow { .. }) => {
            assert_eq!(why.held_since(), Some(boundary_time))
        }
        other => panic!("{other:?}"),
    }
    let run = |args: &[&str]| r.ks.cmd().current_dir(&clone).args(args).output().unwrap();
    let out = run(&["check", "--env", "prod"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let line = |key: &str| {
        text.lines()
            .find(|l| l.contains(key) && l.contains("max_age"))
            .unwrap_or_else(|| panic!("no {key} line in {text}"))
            .to_string()
    };
    let pw = line("db.password");
    assert!(
        pw.starts_with("FAIL") && pw.contains("at least 100 days ago") && pw.contains("shallow"),
        "{text}"
    );
    // 100 days is within API's 200: its age is unknown, as before.
    let api = line("api (API)");
    assert!(
        api.starts_with("skipped") && api.contains("shallow clone"),
        "{text}"
    );

    let out = run(&["status", "--overdue"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        stdout.contains("db.password")
            && stdout.contains(">=100d")
            && stdout.contains("30d OVERDUE"),
        "{stdout}"
    );
    assert!(!stdout.contains("api"), "{stdout}");
    assert!(err.contains("1 value is past its max_age"), "{err}");
    assert!(
        err.contains("1 value with a max_age has no known age"),
        "{err}"
    );
    let out = run(&["status", "--overdue", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let values = v["values"].as_array().unwrap();
    assert_eq!(values.len(), 1, "{v:#}");
    assert_eq!(values[0]["key"], "db.password");
    assert_eq!(values[0]["state"], "unknown");
    assert_eq!(values[0]["reason"], "shallow");
    assert_eq!(values[0]["overdue"], true);
    assert_eq!(values[0]["min_age_days"], 100);
    assert_eq!(values[0]["age_days"], serde_json::Value::Null);
    assert_eq!(
        v["unknown_age"],
        serde_json::json!([{"file": "s.yaml", "key": "api", "reason": "shallow"}]),
        "{v:#}"
    );
}

/// Audit find: `GIT_AUTHOR_DATE=2031-01-01 git commit` made a value's age 0 (clamped) and
/// kept it fresh until 2031. A change is dated by the earlier of its author and committer
/// times; a commit with both later than now dates nothing: the value's age is unknown
/// (`future_date`), never fresh.
#[test]
fn a_future_author_date_does_not_make_a_value_fresh() {
    let r = Repo::new();
    r.configure("environments:\n  prod:\n    files: [s.yaml]\n    members: [alice]\nschema:\n  db.password: {max_age: 30d}\n  API: {max_age: 30d}\n");
    r.ks.encrypted("s.yaml", PLAIN);
    r.commit("add secrets", 300, "alice");
    let in_2031 = common::repo::now() + 5 * 365 * common::repo::DAY;
    let committed = common::repo::now() - 100 * common::repo::DAY;
    // The author date lies; the committer date says when it was really committed.
    r.set("s.yaml", "db.password", "pw-VALUE-8");
    r.git(&["add", "-A"]);
    r.git_at("mallory", in_2031, committed, &["commit", "-q", "-m", "pw"]);
    let rows = freshness(&r, "s.yaml");
    assert_eq!(changed(&rows, "db.password").time, committed);

    // Both dates in the future: no date to trust.
    r.set("s.yaml", "api", "tok-VALUE-9");
    r.git(&["add", "-A"]);
    r.git_at("mallory", in_2031, in_2031, &["commit", "-q", "-m", "api"]);
    let head = r.git(&["rev-parse", "HEAD"]).trim().to_string();
    let rows = freshness(&r, "s.yaml");
    assert_eq!(
        of(&rows, "api"),
        &Freshness::Unknown(UnknownReason::FutureDate { commit: head })
    );

    let out = r.ks.run(&["check", "--env", "prod"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        text.lines().any(|l| l.starts_with("FAIL")
            && l.contains("db.password")
            && l.contains("last changed 100 days ago")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("skipped")
            && l.contains("api (API)")
            && l.contains("dated in the future")),
        "{text}"
    );
    let out = r.ks.run(&["status", "--stale", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["unknown_age"],
        serde_json::json!([{"file": "s.yaml", "key": "api", "reason": "future_date"}]),
        "{v:#}"
    );
}
