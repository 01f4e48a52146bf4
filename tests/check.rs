//! The schema at work (issue 12): `secrets check` over real encrypted files in a real git
//! repository with back-dated commits, and `exec`/`export` refusing to start a real child
//! when the values break the schema. No value may reach any output.

mod common;

use common::repo::Repo;
use std::path::Path;

const WEAK_KEY: &str = "django-insecure-w3ak";
const STRONG_KEY: &str = "Zq8#mV2!pL9@xR4$tW7&kN1*cB6^hJ3(fD5)gS0-aE8_yU2+iO7=";
const STRIPE_TEST: &str = "sk_test_51Habcdefgh";
const DEV_DB: &str = "dev-db-pass-Kq7vX2pL9s";

/// A team repository: dev and prod (production: true), one member, a schema.
fn team(schema: &str) -> Repo {
    let repo = Repo::new();
    repo.configure(&format!(
        "environments:\n  dev:\n    files: [config/dev/**]\n    members: [alice]\n  prod:\n    production: true\n    files: [config/prod/**]\n    members: [alice]\nschema:\n{schema}"
    ));
    std::fs::create_dir_all(repo.path("config/dev")).unwrap();
    std::fs::create_dir_all(repo.path("config/prod")).unwrap();
    repo
}

fn write_encrypted(repo: &Repo, rel: &str, plain: &str) {
    std::fs::write(repo.path(rel), plain).unwrap();
    repo.ks.ok(&["encrypt", "-i", rel]);
}

/// Writes `plain` to `rel` encrypted for a key nobody in the repository holds.
fn write_encrypted_for_someone_else(repo: &Repo, rel: &str, plain: &str) {
    let other = common::KeyedSandbox::new();
    std::fs::write(repo.path(rel), plain).unwrap();
    repo.ks.ok(&["encrypt", "-i", "--age", &other.public, rel]);
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_no_value(text: &str, values: &[&str]) {
    for v in values {
        assert!(!text.contains(v), "a value reached the output: {text}");
    }
}

const SCHEMA: &str = "  SECRET_KEY:\n    required: true\n    min_length: 50\n    forbid: [\"django-insecure-*\"]\n  DATABASE_PASSWORD: {distinct_from: dev, max_age: 90d}\n  STRIPE_KEY: {required: true, envs: [prod]}\n";

#[test]
fn check_lists_every_violation_by_env_file_key_and_rule_and_exits_1() {
    let repo = team(SCHEMA);
    write_encrypted(
        &repo,
        "config/dev/app.yaml",
        &format!("secret_key: {WEAK_KEY}\ndatabase_password: {DEV_DB}\n"),
    );
    write_encrypted(
        &repo,
        "config/prod/app.env",
        &format!("SECRET_KEY={STRONG_KEY}\nDATABASE_PASSWORD={DEV_DB}\nSTRIPE_KEY={STRIPE_TEST}\n"),
    );
    repo.commit("secrets", 200, "bob");
    let out = repo.ks.run(&["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert_no_value(&text, &[WEAK_KEY, STRONG_KEY, STRIPE_TEST, DEV_DB]);
    assert_no_value(&stderr(&out), &[WEAK_KEY, STRONG_KEY, STRIPE_TEST, DEV_DB]);
    let list: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut got: Vec<(String, String, String, bool)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["environment"].as_str().unwrap().to_string(),
                f["key"].as_str().unwrap().to_string(),
                f["rule"].as_str().unwrap().to_string(),
                f["skipped"].as_bool().unwrap(),
            )
        })
        .collect();
    got.sort();
    let want = [
        ("dev", "DATABASE_PASSWORD", "max_age"),
        ("dev", "SECRET_KEY", "forbid"),
        ("dev", "SECRET_KEY", "min_length"),
        ("prod", "DATABASE_PASSWORD", "distinct_from"),
        ("prod", "DATABASE_PASSWORD", "max_age"),
        ("prod", "STRIPE_KEY", "production"),
    ];
    let want: Vec<(String, String, String, bool)> = want
        .iter()
        .map(|(e, k, r)| (e.to_string(), k.to_string(), r.to_string(), false))
        .collect();
    assert_eq!(got, want);
    // The max_age line names the author and the age from git.
    let human = stdout(&repo.ks.run(&["check", "--env", "prod"]));
    let line = human.lines().find(|l| l.contains("max_age")).unwrap();
    assert!(
        line.contains("by bob") && line.contains("200 days ago"),
        "{line}"
    );
    assert!(line.contains("config/prod/app.env"), "{line}");
}

#[test]
fn a_clean_environment_exits_0_and_fixing_a_value_clears_it() {
    let repo = team(SCHEMA);
    write_encrypted(
        &repo,
        "config/prod/app.env",
        &format!("SECRET_KEY={WEAK_KEY}\nDATABASE_PASSWORD=prod-only-pass-9f8e7d\nSTRIPE_KEY=sk_live_abc123\n"),
    );
    repo.commit("prod", 10, "alice");
    let out = repo.ks.run(&["check", "--env", "prod"]);
    assert_eq!(out.status.code(), Some(1));
    repo.ks
        .ok(&["set", "config/prod/app.env", "SECRET_KEY", STRONG_KEY]);
    repo.ks.ok(&[
        "set",
        "config/prod/app.env",
        "DATABASE_PASSWORD",
        "prod-pass-2b3c4d",
    ]);
    let out = repo.ks.run(&["check", "--env", "prod"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    // An uncommitted change has no age git can tell: skipped, and --strict fails on it.
    assert!(stdout(&out).contains("skipped"), "{}", stdout(&out));
    let out = repo.ks.run(&["check", "--env", "prod", "--strict"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn files_nobody_here_can_open_are_skipped_not_passed() {
    let repo = team("  SECRET_KEY: {required: true, min_length: 50}\n");
    write_encrypted_for_someone_else(
        &repo,
        "config/prod/app.env",
        &format!("SECRET_KEY={WEAK_KEY}\n"),
    );
    let out = repo.ks.run(&["check", "--env", "prod"]);
    // Presence is known from the clear key names: not a required violation.
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("skipped") && text.contains("min_length"),
        "{text}"
    );
    assert!(!text.contains("required"), "{text}");
}

/// Found by an audit: an empty `required` value passed `check` for a user who cannot
/// decrypt the file, while a key holder got exit 1. An empty value is stored in clear, so
/// it fails for everyone; the other value of the file stays skipped.
#[test]
fn an_empty_required_value_fails_without_the_key_too() {
    let repo = team("  SECRET_KEY: {required: true, min_length: 50}\n  API_TOKEN: {required: true, min_length: 20}\n");
    write_encrypted_for_someone_else(
        &repo,
        "config/prod/app.env",
        &format!("SECRET_KEY=\nAPI_TOKEN={STRONG_KEY}\n"),
    );
    let out = repo.ks.run(&["check", "--env", "prod"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let fails: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert!(
        fails
            .iter()
            .any(|l| l.contains("SECRET_KEY") && l.contains("required")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("skipped") && l.contains("API_TOKEN") && l.contains("min_length")),
        "{text}"
    );
    assert!(!fails.iter().any(|l| l.contains("API_TOKEN")), "{text}");
    assert_no_value(&text, &[STRONG_KEY]);
}

#[test]
fn schema_mistakes_are_config_errors_with_their_line() {
    let repo = team("  SECRET_KEY:\n    min_lenght: 50\n");
    // `check` exits 2 for any error (CI tells errors from violations); other commands 5.
    let out = repo.ks.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(".secrets.yaml:13:") && err.contains("min_lenght"),
        "{err}"
    );
    let out = repo.ks.run(&["status"]);
    assert_eq!(out.status.code(), Some(5));
    let err = stderr(&out);
    assert!(
        err.contains(".secrets.yaml:13:") && err.contains("min_lenght"),
        "{err}"
    );
}

/// A child that would leave a mark if it ever started.
/// Audit find: a nested value was named by its variable name alone (`DJANGO_SECRET_KEY`),
/// and `secrets generate FILE DJANGO_SECRET_KEY`, as the hint read, added a new top-level
/// key and left the weak one. The key path is named beside the name, in JSON too, and the
/// hint's command fixes the value.
#[test]
fn a_nested_value_is_named_by_its_key_path_and_the_hint_fixes_it() {
    let repo = team("  DJANGO_SECRET_KEY: {min_length: 50, generate: django}\n");
    write_encrypted(
        &repo,
        "config/prod/app.yaml",
        &format!("django:\n  secret_key: {WEAK_KEY}\n"),
    );
    let out = repo.ks.run(&["check", "--env", "prod"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("config/prod/app.yaml  django.secret_key (DJANGO_SECRET_KEY)  min_length"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_slice(
        &repo
            .ks
            .run(&["check", "--env", "prod", "--format", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(json[0]["key"], "DJANGO_SECRET_KEY", "{json}");
    assert_eq!(json[0]["path"], "django.secret_key", "{json}");
    let out = repo.ks.run(&["exec", "--env", "prod", "--", "true"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(65), "{err}");
    let hint = err.lines().find(|l| l.starts_with("hint:")).unwrap();
    assert!(
        hint.contains(
            "a secret your app makes, secrets generate config/prod/app.yaml django.secret_key;"
        ),
        "{hint}"
    );
    // Not a random value over a key a provider issues (found by a user test: a Stripe key).
    assert!(
        hint.contains("one a provider issues (an API key), the right value from them with secrets set config/prod/app.yaml django.secret_key"),
        "{hint}"
    );
    assert_no_value(&format!("{text}{err}{json}"), &[WEAK_KEY]);
    repo.ks
        .ok(&["generate", "config/prod/app.yaml", "django.secret_key"]);
    let out = repo.ks.run(&["check", "--env", "prod"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let plain = String::from_utf8(repo.ks.ok(&["decrypt", "config/prod/app.yaml"])).unwrap();
    assert_eq!(plain.matches("secret_key").count(), 1, "no second key");
}

/// A key written flat with dots in it (`spring.datasource.password:`, as Spring reads a
/// YAML file) is named `spring.datasource.password` by `check` and `exec`, as a nested one
/// would be; the hint's command, and `get`/`set`/`unset` given that path, must find the flat
/// key and not add a nested copy beside it (they did: the dotted path was always read as
/// nested maps).
#[test]
fn a_key_written_with_dots_is_the_one_its_dotted_path_names() {
    let repo = team("  spring.datasource.password: {min_length: 50, generate: base64}\n");
    write_encrypted(
        &repo,
        "config/prod/app.yaml",
        &format!(
            "spring.datasource.password: {WEAK_KEY}\nspring:\n  profiles: prod\n  mail.password: short\n"
        ),
    );
    let out = repo.ks.run(&["exec", "--env", "prod", "--", "true"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(65), "{err}");
    let hint = err.lines().find(|l| l.starts_with("hint:")).unwrap();
    assert!(
        hint.contains("secrets generate config/prod/app.yaml spring.datasource.password"),
        "{hint}"
    );
    assert_eq!(
        repo.ks
            .ok(&["get", "config/prod/app.yaml", "spring.datasource.password"]),
        WEAK_KEY.as_bytes()
    );
    repo.ks.ok(&[
        "generate",
        "config/prod/app.yaml",
        "spring.datasource.password",
    ]);
    let out = repo.ks.run(&["check", "--env", "prod"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // A dotted key inside a nested map, and one set where none is yet (nested, as before).
    repo.ks.ok(&[
        "set",
        "config/prod/app.yaml",
        "spring.mail.password",
        "q8Zr-mail-T2vLx9Pw",
    ]);
    let plain = String::from_utf8(repo.ks.ok(&["decrypt", "config/prod/app.yaml"])).unwrap();
    assert_eq!(
        plain.matches("password").count(),
        2,
        "no second key: {}",
        plain.len()
    );
    assert!(
        plain.contains("\n  profiles: prod\n  mail.password: "),
        "kept its place"
    );
    // `log` follows the flat key; `rotate-value --keep-previous` keeps the old value flat
    // beside it, where the recorded dotted path finds it again.
    let log = String::from_utf8(repo.ks.ok(&[
        "log",
        "config/prod/app.yaml",
        "spring.datasource.password",
    ]))
    .unwrap();
    assert_eq!(log.lines().count(), 2, "{log}");
    repo.ks.ok(&[
        "rotate-value",
        "config/prod/app.yaml",
        "spring.datasource.password",
        "--generate",
        "--keep-previous",
        "old_password",
        "--grace",
        "24h",
    ]);
    let plain = String::from_utf8(repo.ks.ok(&["decrypt", "config/prod/app.yaml"])).unwrap();
    assert!(
        plain.contains("\nspring.datasource.old_password: "),
        "kept beside it"
    );
    repo.ks.ok(&[
        "get",
        "config/prod/app.yaml",
        "spring.datasource.old_password",
    ]);
    repo.ks.ok(&[
        "unset",
        "config/prod/app.yaml",
        "spring.datasource.old_password",
    ]);
    repo.ks.ok(&[
        "unset",
        "config/prod/app.yaml",
        "spring.datasource.password",
    ]);
    repo.ks.ok(&[
        "set",
        "config/prod/app.yaml",
        "spring.datasource.url",
        "jdbc:postgresql://db/app",
    ]);
    let plain = String::from_utf8(repo.ks.ok(&["decrypt", "config/prod/app.yaml"])).unwrap();
    assert!(
        !plain.contains("spring.datasource.password"),
        "unset the flat key"
    );
    assert!(
        plain.contains("  datasource:\n    url: "),
        "a new key is nested"
    );
}

/// A new key under a parent written with dots goes into that parent (a flat `m.map:` map,
/// a flat `hosts.list:` list, an INI `[spring.datasource]` section), and a dotenv file,
/// being flat, reads `C.D` as the line `export C.D=`. Before: a nested copy beside the
/// flat parent, exit 3 on the INI file, and "not found" on the dotenv line.
#[test]
fn a_new_key_goes_under_its_parent_written_with_dots() {
    let repo = team("");
    write_encrypted(
        &repo,
        "config/prod/a.yaml",
        "m.map:\n  inner: v\nhosts.list:\n  - h0\n  - h1\nflat.value: v0\n",
    );
    write_encrypted(
        &repo,
        "config/prod/c.ini",
        "[spring.datasource]\npassword = x\n",
    );
    write_encrypted(&repo, "config/prod/c.env", "export C.D=x\nE=1\n");
    let ks = &repo.ks;
    ks.ok(&["set", "config/prod/a.yaml", "m.map.newkey", "n1"]);
    ks.ok(&["set", "config/prod/a.yaml", "hosts.list.2", "h2"]);
    let plain = String::from_utf8(ks.ok(&["decrypt", "config/prod/a.yaml"])).unwrap();
    assert_eq!(
        plain,
        "m.map:\n  inner: v\n  newkey: n1\nhosts.list:\n  - h0\n  - h1\n  - h2\nflat.value: v0\n"
    );
    ks.ok(&["set", "config/prod/c.ini", "spring.datasource.user", "u"]);
    let plain = String::from_utf8(ks.ok(&["decrypt", "config/prod/c.ini"])).unwrap();
    assert!(
        plain.starts_with("[spring.datasource]\npassword"),
        "{plain}"
    );
    assert_eq!(
        ks.ok(&["get", "config/prod/c.ini", "spring.datasource.user"]),
        b"u"
    );
    assert_eq!(ks.ok(&["get", "config/prod/c.env", "C.D"]), b"x");
    ks.ok(&["set", "config/prod/c.env", "C.D", "y"]);
    let plain = String::from_utf8(ks.ok(&["decrypt", "config/prod/c.env"])).unwrap();
    assert_eq!(plain, "export C.D=y\nE=1\n");
    // The dotenv key checks hold for a dotted name: a value typed into it is not echoed.
    let out = ks.run(&["set", "config/prod/c.env", "DB.PASSWORD=hunter2-VALUE", "v"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(91), "{err}");
    assert!(
        err.contains("DB.PASSWORD=…") && !err.contains("hunter2"),
        "{err}"
    );
    // --keep-previous names a dotenv line of its own, whatever dots the key holds.
    let out = ks.run(&[
        "rotate-value",
        "config/prod/c.env",
        "C.D",
        "--generate",
        "--keep-previous",
        "E",
        "--grace",
        "1h",
    ]);
    assert_eq!(
        out.status.code(),
        Some(8),
        "E holds a value: {}",
        stderr(&out)
    );
    ks.ok(&[
        "rotate-value",
        "config/prod/c.env",
        "C.D",
        "--generate",
        "--keep-previous",
        "OLD_CD",
        "--grace",
        "1h",
    ]);
    assert_eq!(ks.ok(&["get", "config/prod/c.env", "OLD_CD"]), b"y");
    // Under a value written with dots there is no place for a key: refused, where a
    // nested copy beside it was added.
    for path in ["m.map.inner.x", "flat.value.x"] {
        let out = ks.run(&["set", "config/prod/a.yaml", path, "v"]);
        assert_eq!(out.status.code(), Some(91), "{path}: {}", stderr(&out));
    }
    let plain = String::from_utf8(ks.ok(&["decrypt", "config/prod/a.yaml"])).unwrap();
    assert!(plain.ends_with("\nflat.value: v0\n"), "{plain}");
    // A key path deeper than files are read is refused before anything is written.
    let deep: Vec<String> = (0..128).map(|i| format!("k{i}")).collect();
    let out = ks.run(&["set", "config/prod/a.yaml", &deep.join("."), "v"]);
    assert_eq!(out.status.code(), Some(91), "{}", stderr(&out));
    assert!(stderr(&out).contains("128 levels"), "{}", stderr(&out));
    // ...counted as stored: on dotenv such a path is one flat name.
    ks.ok(&["set", "config/prod/c.env", &deep.join("."), "v"]);
    // A path that does not parse never shows what was typed after an `=`.
    let out = ks.run(&["set", "config/prod/c.env", "TOK=s3cret-VALUE.", "v"]);
    assert_eq!(out.status.code(), Some(91), "{}", stderr(&out));
    assert!(!stderr(&out).contains("s3cret"), "{}", stderr(&out));
}

fn marker_child(dir: &Path) -> Vec<String> {
    vec![
        "sh".into(),
        "-c".into(),
        format!("touch {}/started", dir.display()),
    ]
}

#[test]
fn exec_and_export_refuse_to_start_on_a_violation() {
    let repo = team(SCHEMA);
    write_encrypted(
        &repo,
        "config/prod/app.env",
        &format!(
            "SECRET_KEY={WEAK_KEY}\nDATABASE_PASSWORD=prod-pass-1a2b3c\nSTRIPE_KEY=sk_live_x\n"
        ),
    );
    let child = marker_child(repo.ks.dir());
    let mut args = vec!["exec", "--env", "prod", "--"];
    args.extend(child.iter().map(String::as_str));
    let out = repo.ks.run(&args);
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    assert!(!repo.path("started").exists(), "the child started");
    let err = stderr(&out);
    assert!(
        err.contains("SECRET_KEY") && err.contains("min_length"),
        "{err}"
    );
    assert_no_value(&err, &[WEAK_KEY]);
    // -f on a file of the environment is checked too (without `required`).
    let mut args = vec!["exec", "-f", "config/prod/app.env", "--"];
    args.extend(child.iter().map(String::as_str));
    assert_eq!(repo.ks.run(&args).status.code(), Some(65));
    assert!(!repo.path("started").exists(), "the child started");
    // export writes nothing.
    let out = repo
        .ks
        .run(&["export", "--env", "prod", "--format", "dotenv"]);
    assert_eq!(out.status.code(), Some(65));
    assert!(out.stdout.is_empty());
    // --no-check starts it, with warnings.
    let mut args = vec!["exec", "--env", "prod", "--no-check", "--"];
    args.extend(child.iter().map(String::as_str));
    let out = repo.ks.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(repo.path("started").exists());
    assert!(stderr(&out).contains("warning"), "{}", stderr(&out));
}

#[test]
fn exec_starts_when_the_values_meet_the_schema() {
    let repo = team(SCHEMA);
    write_encrypted(
        &repo,
        "config/prod/app.env",
        &format!(
            "SECRET_KEY={STRONG_KEY}\nDATABASE_PASSWORD=prod-pass-1a2b3c\nSTRIPE_KEY=sk_live_x\n"
        ),
    );
    let child = marker_child(repo.ks.dir());
    let mut args = vec!["exec", "--env", "prod", "--"];
    args.extend(child.iter().map(String::as_str));
    let out = repo.ks.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(repo.path("started").exists());
}

#[test]
fn an_override_file_is_judged_by_the_rules_of_the_values_it_replaces() {
    // Found in review: a weak value in a -f file outside every environment (or in another
    // one) overrode prod's strong value and reached the child unchecked.
    let repo = team(SCHEMA);
    write_encrypted(
        &repo,
        "config/prod/app.env",
        &format!(
            "SECRET_KEY={STRONG_KEY}\nDATABASE_PASSWORD=prod-pass-1a2b3c\nSTRIPE_KEY=sk_live_x\n"
        ),
    );
    std::fs::write(
        repo.path("override.env"),
        format!("SECRET_KEY={WEAK_KEY}\n"),
    )
    .unwrap();
    repo.ks.ok(&[
        "encrypt",
        "-i",
        "--age",
        &repo.ks.public.clone(),
        "override.env",
    ]);
    write_encrypted(
        &repo,
        "config/dev/weak.env",
        &format!("SECRET_KEY={WEAK_KEY}\n"),
    );
    let child = marker_child(repo.ks.dir());
    for extra in [
        vec!["--env", "prod", "-f", "override.env"],
        vec!["-f", "config/prod/app.env", "-f", "override.env"],
        vec!["--env", "prod", "-f", "config/dev/weak.env"],
    ] {
        let mut args = vec!["exec"];
        args.extend(&extra);
        args.push("--");
        args.extend(child.iter().map(String::as_str));
        let out = repo.ks.run(&args);
        assert_eq!(out.status.code(), Some(65), "{extra:?}: {}", stderr(&out));
        assert!(
            !repo.path("started").exists(),
            "{extra:?}: the child started"
        );
        assert_no_value(&stderr(&out), &[WEAK_KEY, STRONG_KEY]);
    }
    // The other way round, the strong value wins and the child starts.
    let mut args = vec![
        "exec",
        "-f",
        "override.env",
        "-f",
        "config/prod/app.env",
        "--",
    ];
    args.extend(child.iter().map(String::as_str));
    let out = repo.ks.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_broken_schema_stops_exec_with_f_instead_of_turning_the_check_off() {
    let repo = team(SCHEMA);
    write_encrypted(
        &repo,
        "config/prod/app.env",
        &format!("SECRET_KEY={WEAK_KEY}\n"),
    );
    let config = std::fs::read_to_string(repo.path(".secrets.yaml")).unwrap();
    std::fs::write(
        repo.path(".secrets.yaml"),
        config.replace("min_length", "min_lenght"),
    )
    .unwrap();
    let child = marker_child(repo.ks.dir());
    let mut args = vec!["exec", "-f", "config/prod/app.env", "--"];
    args.extend(child.iter().map(String::as_str));
    let out = repo.ks.run(&args);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("min_lenght"), "{}", stderr(&out));
    assert!(!repo.path("started").exists(), "the child started");
    let out = repo
        .ks
        .run(&["export", "-f", "config/prod/app.env", "--format", "dotenv"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
}

/// Audit find: `pattern: "^\\w{32,}$"` was a config error ("compiled regex exceeds size
/// limit of 1048576 bytes"): Unicode `\w` repeated 32 times is over 1 MiB of NFA, so
/// `exec` exited 5 on an ordinary token pattern. The limit is now the regex crate's own
/// (10 MiB); a pattern still too big names the ASCII forms in its error.
#[test]
fn an_ordinary_unicode_word_pattern_compiles_and_a_huge_one_says_how_to_shrink_it() {
    let repo =
        team("  API_TOKEN: {pattern: \"^\\\\w{32,}$\"}\n  OTHER: {pattern: \"^\\\\w{64}$\"}\n");
    write_encrypted(
        &repo,
        "config/prod/app.env",
        "API_TOKEN=tok_0123456789abcdefghijklmnopqrstuvwxyz\n",
    );
    let child = marker_child(repo.ks.dir());
    let mut args = vec!["exec", "--env", "prod", "--"];
    args.extend(child.iter().map(String::as_str));
    let out = repo.ks.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(repo.path("started").exists());
    // A short token breaks the pattern: a violation, not a config error.
    write_encrypted(&repo, "config/prod/app.env", "API_TOKEN=tok_short\n");
    let out = repo.ks.run(&args);
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));

    let config = std::fs::read_to_string(repo.path(".secrets.yaml")).unwrap();
    std::fs::write(repo.path(".secrets.yaml"), config.replace("{64}", "{1000}")).unwrap();
    let out = repo.ks.run(&args);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    let line = err.lines().find(|l| l.contains("pattern")).unwrap_or("");
    assert!(
        line.contains(".secrets.yaml")
            && line.contains("OTHER")
            && line.contains("(?-u:\\w)")
            && line.contains("[A-Za-z0-9_]"),
        "{err}"
    );
}

/// Audit find: a value that is not UTF-8 (a binary file's `data`: a DER key) was read as
/// empty: 65 bytes failed `required` ("empty") and `min_length`, `exec` refused to start
/// (65), and the hint proposed `generate`, which would overwrite the key. Lengths now count
/// its bytes, and rules on text (`pattern`) are skipped for it, saying why.
#[test]
fn a_binary_value_is_not_empty_and_its_length_is_in_bytes() {
    let repo =
        team("  DATA: {required: true, min_length: 64, pattern: \"^x\", forbid: [changeme]}\n");
    let mut der = vec![0x30, 0x82, 0xff, 0xfe];
    der.extend((0..61u8).map(|i| i.wrapping_mul(37) | 0x80));
    assert!(std::str::from_utf8(&der).is_err() && der.len() == 65);
    std::fs::write(repo.path("config/prod/tls.key"), &der).unwrap();
    repo.ks.ok(&["encrypt", "-i", "config/prod/tls.key"]);
    assert_eq!(repo.ks.ok(&["decrypt", "config/prod/tls.key"]), der);

    let out = repo.ks.run(&["check", "--env", "prod"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(
        !text.contains("empty") && !text.contains("min_length"),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("skipped")
            && l.contains("data (DATA)")
            && l.contains("pattern")
            && l.contains("not UTF-8 text")),
        "{text}"
    );
    let child = marker_child(repo.ks.dir());
    let mut args = vec!["exec", "--env", "prod", "--"];
    args.extend(child.iter().map(String::as_str));
    let out = repo.ks.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(repo.path("started").exists());

    // Too short in bytes is a violation in bytes.
    let config = std::fs::read_to_string(repo.path(".secrets.yaml")).unwrap();
    std::fs::write(
        repo.path(".secrets.yaml"),
        config.replace("min_length: 64", "min_length: 66"),
    )
    .unwrap();
    let out = repo.ks.run(&["check", "--env", "prod"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("FAIL")
            && l.contains("min_length")
            && l.contains("shorter than 66 bytes")),
        "{text}"
    );
    assert!(!text.contains("empty"), "{text}");
}
