//! `secrets rotate-value` (a value replaced, the previous one kept for a grace period and
//! recorded under `retiring:` in `.secrets.yaml`, reported by `check` and `status` once
//! due, removed by `--remove-expired`) and `secrets member rekey` (a member's new key:
//! files re-wrapped or rotated for it, then the config saved). Real binary, real
//! encryption; values never appear in any output.

mod common;

use common::KeyedSandbox;
use std::io::Write;
use std::process::{Output, Stdio};

const OLD: &str = "old-signing-key-Qm9yZWFsbHk";
const NEW: &str = "new-signing-key-WW91IGZvdW5k";

/// A sandbox with a config (you in `prod`, whose files are `.env.prod` and `config/**`).
fn team(schema: &str) -> KeyedSandbox {
    let ks = KeyedSandbox::new();
    std::fs::write(
        ks.path(".secrets.yaml"),
        format!(
            "# the team\nmembers:\n  me: {}\nenvironments:\n  prod:\n    files: [.env.prod, \"config/**\"]\n    members: [me]\n{schema}",
            ks.public
        ),
    )
    .unwrap();
    ks
}

fn with_stdin(ks: &KeyedSandbox, args: &[&str], input: &str) -> Output {
    let mut child = ks
        .cmd()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that refuses before reading stdin closes it: a broken pipe is fine.
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    child.wait_with_output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Asserts the output shows neither value.
fn no_value(out: &Output) -> String {
    let t = text(out);
    assert!(
        !t.contains(OLD) && !t.contains(NEW),
        "a value was printed: {t}"
    );
    t
}

fn get(ks: &KeyedSandbox, file: &str, key: &str) -> Option<String> {
    let out = ks.run(&["get", file, key]);
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap())
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The `until:` of the config's only `retiring:` entry, as Unix seconds.
fn until(ks: &KeyedSandbox) -> i64 {
    let cfg = std::fs::read_to_string(ks.path(".secrets.yaml")).unwrap();
    let line = cfg
        .lines()
        .find_map(|l| l.trim().strip_prefix("until: "))
        .unwrap_or_else(|| panic!("no until in {cfg}"));
    let t = time::OffsetDateTime::parse(
        line.trim_matches('"'),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    t.unix_timestamp()
}

#[test]
fn keep_previous_then_check_then_remove_expired() {
    let ks = team("");
    ks.encrypted(".env.prod", &format!("JWT_SIGNING_KEY={OLD}\nOTHER=x\n"));
    let before = now();
    let out = with_stdin(
        &ks,
        &[
            "rotate-value",
            ".env.prod",
            "JWT_SIGNING_KEY",
            "--value-stdin",
            "--keep-previous",
            "JWT_SIGNING_KEY_PREVIOUS",
            "--grace",
            "24h",
        ],
        &format!("{NEW}\n"),
    );
    let shown = no_value(&out);
    assert!(out.status.success(), "{shown}");
    // Both values in one file: the new one under the key, the old one beside it.
    assert_eq!(
        get(&ks, ".env.prod", "JWT_SIGNING_KEY").as_deref(),
        Some(NEW)
    );
    assert_eq!(
        get(&ks, ".env.prod", "JWT_SIGNING_KEY_PREVIOUS").as_deref(),
        Some(OLD)
    );
    assert_eq!(get(&ks, ".env.prod", "OTHER").as_deref(), Some("x"));
    // The expiry, in the config (comments kept).
    let cfg = std::fs::read_to_string(ks.path(".secrets.yaml")).unwrap();
    assert!(cfg.starts_with("# the team\n"), "{cfg}");
    assert!(
        cfg.contains("retiring:\n  - file: .env.prod\n    key: JWT_SIGNING_KEY_PREVIOUS\n"),
        "{cfg}"
    );
    let u = until(&ks);
    assert!(
        (before + 86_400..=now() + 86_400).contains(&u),
        "until {u}, now {before}"
    );

    // Before the until: nothing to report.
    let out = ks.run(&["check"]);
    let shown = no_value(&out);
    assert!(out.status.success(), "{shown}");
    assert!(!shown.contains("JWT_SIGNING_KEY_PREVIOUS"), "{shown}");
    let out = ks.run(&["status"]);
    assert!(!no_value(&out).contains("grace period"));
    // Nothing expired yet: --remove-expired keeps it.
    let out = ks.run(&["rotate-value", ".env.prod", "--remove-expired"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        get(&ks, ".env.prod", "JWT_SIGNING_KEY_PREVIOUS").as_deref(),
        Some(OLD)
    );

    // Past the until (written in the past): check fails naming it, status warns.
    let cfg = std::fs::read_to_string(ks.path(".secrets.yaml")).unwrap();
    let past = cfg
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("until:") {
                "    until: 2020-01-01T00:00:00Z".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    std::fs::write(ks.path(".secrets.yaml"), &past).unwrap();
    let out = ks.run(&["check"]);
    let shown = no_value(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    let row = shown
        .lines()
        .find(|l| l.contains("JWT_SIGNING_KEY_PREVIOUS"))
        .unwrap_or_else(|| panic!("no row: {shown}"));
    let cells: Vec<&str> = row.split_whitespace().take(5).collect();
    assert_eq!(
        cells,
        [
            "FAIL",
            "prod",
            ".env.prod",
            "JWT_SIGNING_KEY_PREVIOUS",
            "grace"
        ],
        "{shown}"
    );
    let out = ks.run(&["check", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[0]["rule"], "grace");
    assert_eq!(json[0]["key"], "JWT_SIGNING_KEY_PREVIOUS");
    let out = ks.run(&["status"]);
    let shown = no_value(&out);
    assert!(
        shown.contains(
            "secrets: warning: .env.prod: JWT_SIGNING_KEY_PREVIOUS: previous value past its grace period"
        ),
        "{shown}"
    );

    // --remove-expired: the value and its record go; the rest stays.
    let out = ks.run(&["rotate-value", ".env.prod", "--remove-expired"]);
    let shown = no_value(&out);
    assert!(out.status.success(), "{shown}");
    assert_eq!(get(&ks, ".env.prod", "JWT_SIGNING_KEY_PREVIOUS"), None);
    assert_eq!(
        get(&ks, ".env.prod", "JWT_SIGNING_KEY").as_deref(),
        Some(NEW)
    );
    let cfg = std::fs::read_to_string(ks.path(".secrets.yaml")).unwrap();
    assert!(!cfg.contains("retiring"), "{cfg}");
    assert!(ks.run(&["check"]).status.success());
}

#[test]
fn grace_comes_from_the_schema_and_the_previous_value_is_a_sibling() {
    let ks = team("schema:\n  jwt.signing_key: {grace: 2h}\n");
    std::fs::create_dir_all(ks.path("config")).unwrap();
    ks.encrypted(
        "config/app.yaml",
        &format!("jwt:\n  signing_key: {OLD}\n  issuer: us\n"),
    );
    let before = now();
    let out = with_stdin(
        &ks,
        &[
            "rotate-value",
            "config/app.yaml",
            "jwt.signing_key",
            "--value-stdin",
            "--keep-previous",
            "previous_signing_key",
        ],
        NEW,
    );
    let shown = no_value(&out);
    assert!(out.status.success(), "{shown}");
    assert_eq!(
        get(&ks, "config/app.yaml", "jwt.signing_key").as_deref(),
        Some(NEW)
    );
    assert_eq!(
        get(&ks, "config/app.yaml", "jwt.previous_signing_key").as_deref(),
        Some(OLD)
    );
    let cfg = std::fs::read_to_string(ks.path(".secrets.yaml")).unwrap();
    assert!(
        cfg.contains("  - file: config/app.yaml\n    key: jwt.previous_signing_key\n"),
        "{cfg}"
    );
    let u = until(&ks);
    assert!(
        (before + 7_200..=now() + 7_200).contains(&u),
        "until {u}, now {before}"
    );
}

/// A value given by hand (`set`, `rotate-value --value-stdin`) that breaks the schema is
/// written, with a warning naming environment, file, key and rule, never the value: the
/// next `exec` would refuse it. A generated one meets the rules and says nothing.
#[test]
fn a_value_given_by_hand_that_breaks_the_schema_is_written_with_a_warning() {
    let ks =
        team("schema:\n  JWT_SIGNING_KEY: {min_length: 40}\n  db.password: {pattern: '^pw-'}\n");
    ks.encrypted(".env.prod", &format!("JWT_SIGNING_KEY={OLD}\nOTHER=x\n"));
    std::fs::create_dir_all(ks.path("config")).unwrap();
    ks.encrypted(
        "config/app.yaml",
        "db:\n  password: pw-Qm9yZWFsbHkgbG9uZw\n",
    );

    let out = ks.run(&["set", ".env.prod", "JWT_SIGNING_KEY", NEW]);
    assert!(out.status.success(), "{}", text(&out));
    let t = no_value(&out);
    assert!(
        t.contains("warning: prod .env.prod JWT_SIGNING_KEY: min_length: shorter than 40 characters (exec and check refuse it)"),
        "{t}"
    );
    assert_eq!(
        get(&ks, ".env.prod", "JWT_SIGNING_KEY").as_deref(),
        Some(NEW)
    );
    // -q silences it; a key the schema does not name says nothing.
    let out = ks.run(&["-q", "set", ".env.prod", "JWT_SIGNING_KEY", OLD]);
    assert!(no_value(&out).is_empty(), "{}", text(&out));
    let out = ks.run(&["set", ".env.prod", "OTHER", "y"]);
    assert!(!text(&out).contains("warning"), "{}", text(&out));

    let out = with_stdin(
        &ks,
        &[
            "rotate-value",
            "config/app.yaml",
            "db.password",
            "--value-stdin",
        ],
        NEW,
    );
    assert!(out.status.success(), "{}", text(&out));
    let t = no_value(&out);
    assert!(
        t.contains("warning: prod config/app.yaml db.password (DB_PASSWORD): pattern:"),
        "{t}"
    );
    let out = ks.run(&["rotate-value", ".env.prod", "JWT_SIGNING_KEY", "--generate"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("warning"), "{}", text(&out));
}

#[test]
fn refusals_write_nothing_and_name_file_and_key() {
    let ks = team("");
    ks.encrypted(".env.prod", &format!("JWT={OLD}\nTAKEN=keep-me\n"));
    let file = std::fs::read(ks.path(".env.prod")).unwrap();
    let cfg = std::fs::read(ks.path(".secrets.yaml")).unwrap();
    let unchanged = |why: &str| {
        assert_eq!(std::fs::read(ks.path(".env.prod")).unwrap(), file, "{why}");
        assert_eq!(
            std::fs::read(ks.path(".secrets.yaml")).unwrap(),
            cfg,
            "{why}"
        );
    };
    // No --grace and no grace: in the schema.
    let out = with_stdin(
        &ks,
        &[
            "rotate-value",
            ".env.prod",
            "JWT",
            "--value-stdin",
            "--keep-previous",
            "JWT_PREVIOUS",
        ],
        NEW,
    );
    let shown = no_value(&out);
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(
        shown.contains(".env.prod: JWT:") && shown.contains("--grace"),
        "{shown}"
    );
    unchanged("no grace");
    // A bad duration, and none at all.
    for grace in ["tomorrow", "0h"] {
        let out = with_stdin(
            &ks,
            &[
                "rotate-value",
                ".env.prod",
                "JWT",
                "--value-stdin",
                "--keep-previous",
                "JWT_PREVIOUS",
                "--grace",
                grace,
            ],
            NEW,
        );
        assert_eq!(out.status.code(), Some(2), "{}", no_value(&out));
        unchanged("bad grace");
    }
    // NAME holds a value that is not a recorded previous one.
    let out = with_stdin(
        &ks,
        &[
            "rotate-value",
            ".env.prod",
            "JWT",
            "--value-stdin",
            "--keep-previous",
            "TAKEN",
            "--grace",
            "1h",
        ],
        NEW,
    );
    let shown = no_value(&out);
    assert!(!out.status.success());
    assert!(shown.contains(".env.prod: TAKEN"), "{shown}");
    unchanged("taken name");
    // A key the file does not have.
    let out = with_stdin(
        &ks,
        &["rotate-value", ".env.prod", "NOPE", "--value-stdin"],
        NEW,
    );
    assert!(!out.status.success());
    assert!(no_value(&out).contains("NOPE"));
    unchanged("missing key");
    // Without --keep-previous: a plain replacement, config untouched.
    let out = with_stdin(
        &ks,
        &["rotate-value", ".env.prod", "JWT", "--value-stdin"],
        NEW,
    );
    assert!(out.status.success(), "{}", no_value(&out));
    assert_eq!(get(&ks, ".env.prod", "JWT").as_deref(), Some(NEW));
    assert_eq!(std::fs::read(ks.path(".secrets.yaml")).unwrap(), cfg);
}

/// Audit finds: `printf %s "$NEW" | rotate-value … --value-stdin` with `$NEW` unset stored an
/// empty value; a second `--keep-previous` rotation inside the grace period dropped the
/// previous value that programs still verify with. Both are refused, nothing written.
#[test]
fn an_empty_value_or_a_second_rotation_in_the_grace_period_is_refused() {
    let ks = team("");
    ks.encrypted(".env.prod", &format!("JWT={OLD}\n"));
    let keep = [
        "rotate-value",
        ".env.prod",
        "JWT",
        "--value-stdin",
        "--keep-previous",
        "JWT_PREVIOUS",
        "--grace",
        "24h",
    ];
    let file = std::fs::read(ks.path(".env.prod")).unwrap();
    let cfg = std::fs::read(ks.path(".secrets.yaml")).unwrap();
    for args in [&keep[..], &keep[..4]] {
        let out = with_stdin(&ks, args, "");
        let shown = no_value(&out);
        assert_eq!(out.status.code(), Some(7), "{args:?}: {shown}");
        assert!(
            shown.contains(".env.prod: JWT: the new value is empty (nothing came on stdin)"),
            "{shown}"
        );
        assert_eq!(std::fs::read(ks.path(".env.prod")).unwrap(), file);
        assert_eq!(std::fs::read(ks.path(".secrets.yaml")).unwrap(), cfg);
    }
    assert_eq!(get(&ks, ".env.prod", "JWT").as_deref(), Some(OLD));

    // A first rotation keeps OLD; a second one inside the 24 h would drop it.
    let out = with_stdin(&ks, &keep, NEW);
    assert!(out.status.success(), "{}", no_value(&out));
    let file = std::fs::read(ks.path(".env.prod")).unwrap();
    let cfg = std::fs::read(ks.path(".secrets.yaml")).unwrap();
    let out = with_stdin(&ks, &keep, "third-value-Zm9vYmFy");
    let shown = no_value(&out);
    assert_eq!(out.status.code(), Some(8), "{shown}");
    assert!(
        shown.contains("JWT_PREVIOUS still holds the previous value until ")
            && shown.contains("rotate again after"),
        "{shown}"
    );
    assert_eq!(std::fs::read(ks.path(".env.prod")).unwrap(), file);
    assert_eq!(std::fs::read(ks.path(".secrets.yaml")).unwrap(), cfg);
    assert_eq!(get(&ks, ".env.prod", "JWT_PREVIOUS").as_deref(), Some(OLD));
    // Without --keep-previous (a leaked new value): replaced, OLD kept until its expiry.
    let out = with_stdin(&ks, &keep[..4], "third-value-Zm9vYmFy");
    assert!(out.status.success(), "{}", no_value(&out));
    assert_eq!(
        get(&ks, ".env.prod", "JWT").as_deref(),
        Some("third-value-Zm9vYmFy")
    );
    assert_eq!(get(&ks, ".env.prod", "JWT_PREVIOUS").as_deref(), Some(OLD));
}

/// Audit find: a command's one-line change re-emitted the whole hand-written config (flow
/// maps to block style, quotes dropped, comments re-aligned, blank lines gone). Sections a
/// command leaves alike now keep their text byte for byte.
#[test]
fn commands_change_only_the_lines_they_mean_to() {
    let schema = "\n# rules, written by hand\nschema:\n  JWT: {min_length: 8, grace: 24h}     # signing key\n  STRIPE: {pattern: \"^sk_live_\", envs: [prod]}\n";
    let ks = team(schema);
    ks.encrypted(".env.prod", &format!("JWT={OLD}\n"));
    let before = std::fs::read_to_string(ks.path(".secrets.yaml")).unwrap();
    let out = with_stdin(
        &ks,
        &[
            "rotate-value",
            ".env.prod",
            "JWT",
            "--value-stdin",
            "--keep-previous",
            "JWT_PREVIOUS",
        ],
        NEW,
    );
    assert!(out.status.success(), "{}", no_value(&out));
    let after = std::fs::read_to_string(ks.path(".secrets.yaml")).unwrap();
    let added = after
        .strip_prefix(before.as_str())
        .unwrap_or_else(|| panic!("{before}\n----\n{after}"));
    assert!(
        added.starts_with("retiring:\n  - file: .env.prod\n    key: JWT_PREVIOUS\n"),
        "{added}"
    );
    let bob = common::KeyedSandbox::new();
    let out = ks.run(&["member", "add", "bob", &bob.public]);
    assert!(out.status.success(), "{}", text(&out));
    let with_bob = std::fs::read_to_string(ks.path(".secrets.yaml")).unwrap();
    let me = format!("  me: {}\n", ks.public);
    assert_eq!(
        with_bob,
        after.replace(&me, &format!("{me}  bob: {}\n", bob.public)),
        "only bob's line"
    );
}

// ---- member rekey ----

/// me and bob read `dev`; only me reads `prod`. Returns (sandbox, bob's key file).
fn rekey_team() -> (KeyedSandbox, common::Key) {
    let ks = KeyedSandbox::new();
    let bob = ks.sb.key("bob");
    std::fs::write(
        ks.path(".secrets.yaml"),
        format!(
            "members:\n  me: {}\n  bob: {} # laptop\nenvironments:\n  dev:\n    files: [\"dev/**\"]\n    members: [me, bob]\n  prod:\n    files: [\"prod/**\"]\n    members: [me]\n",
            ks.public, bob.public
        ),
    )
    .unwrap();
    std::fs::create_dir_all(ks.path("dev")).unwrap();
    std::fs::create_dir_all(ks.path("prod")).unwrap();
    ks.encrypted("dev/app.yaml", "db:\n  password: dev-pw\n");
    ks.encrypted("prod/app.yaml", "db:\n  password: prod-pw\n");
    ks.ok(&["updatekeys"]);
    (ks, bob)
}

fn get_as(ks: &KeyedSandbox, key: &std::path::Path, file: &str) -> Option<String> {
    let out = ks
        .cmd()
        .env("SOPS_AGE_KEY_FILE", key)
        .args(["get", file, "db.password"])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap())
}

/// The encrypted values of a file (the lines holding ENC[…]).
fn ciphertexts(ks: &KeyedSandbox, file: &str) -> Vec<String> {
    std::fs::read_to_string(ks.path(file))
        .unwrap()
        .lines()
        .filter(|l| l.contains("ENC["))
        .map(str::to_string)
        .collect()
}

#[test]
fn rekey_moves_a_member_to_a_new_key() {
    let (ks, bob) = rekey_team();
    assert_eq!(
        get_as(&ks, &bob.file, "dev/app.yaml").as_deref(),
        Some("dev-pw")
    );
    let new = ks.sb.key("bob-new");
    let dev_values = ciphertexts(&ks, "dev/app.yaml");
    let prod = std::fs::read(ks.path("prod/app.yaml")).unwrap();
    let out = ks.run(&["member", "rekey", "bob", &new.public]);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        !shown.contains("dev-pw") && !shown.contains("prod-pw"),
        "{shown}"
    );
    // The old key opens nothing, the new one does; me is unaffected.
    assert_eq!(get_as(&ks, &bob.file, "dev/app.yaml"), None);
    assert_eq!(
        get_as(&ks, &new.file, "dev/app.yaml").as_deref(),
        Some("dev-pw")
    );
    assert_eq!(
        get_as(&ks, &ks.key, "dev/app.yaml").as_deref(),
        Some("dev-pw")
    );
    assert_eq!(
        get_as(&ks, &ks.key, "prod/app.yaml").as_deref(),
        Some("prod-pw")
    );
    // A re-wrap: values untouched; a file bob never read is not written.
    assert_eq!(ciphertexts(&ks, "dev/app.yaml"), dev_values);
    assert_eq!(std::fs::read(ks.path("prod/app.yaml")).unwrap(), prod);
    let cfg = std::fs::read_to_string(ks.path(".secrets.yaml")).unwrap();
    assert!(cfg.contains(&format!("  bob: {}", new.public)), "{cfg}");
    assert!(!cfg.contains(&bob.public), "{cfg}");
    // Nothing drifts afterwards.
    assert!(ks.run(&["status", "--check"]).status.success());
    // The same key again is refused.
    assert!(!ks
        .run(&["member", "rekey", "bob", &new.public])
        .status
        .success());
}

#[test]
fn rekey_rotate_changes_the_data_key_and_dry_run_writes_nothing() {
    let (ks, bob) = rekey_team();
    let new = ks.sb.key("bob-new");
    let files = ["dev/app.yaml", "prod/app.yaml", ".secrets.yaml"];
    let bytes = |ks: &KeyedSandbox| -> Vec<Vec<u8>> {
        files
            .iter()
            .map(|f| std::fs::read(ks.path(f)).unwrap())
            .collect()
    };
    let before = bytes(&ks);
    for rotate in [false, true] {
        let mut args = vec!["member", "rekey", "bob", new.public.as_str(), "--dry-run"];
        if rotate {
            args.push("--rotate");
        }
        let out = ks.run(&args);
        assert!(out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("dry run"), "{}", text(&out));
        assert_eq!(bytes(&ks), before, "--dry-run wrote something");
    }
    assert_eq!(
        get_as(&ks, &bob.file, "dev/app.yaml").as_deref(),
        Some("dev-pw")
    );

    let dev_values = ciphertexts(&ks, "dev/app.yaml");
    let out = ks.run(&["member", "rekey", "bob", &new.public, "--rotate"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("rotated    dev/app.yaml"),
        "{}",
        text(&out)
    );
    // A new data key: every value re-encrypted.
    let after = ciphertexts(&ks, "dev/app.yaml");
    assert_eq!(after.len(), dev_values.len());
    assert!(after.iter().all(|l| !dev_values.contains(l)), "{after:?}");
    assert_eq!(get_as(&ks, &bob.file, "dev/app.yaml"), None);
    assert_eq!(
        get_as(&ks, &new.file, "dev/app.yaml").as_deref(),
        Some("dev-pw")
    );
    assert_eq!(
        get_as(&ks, &ks.key, "dev/app.yaml").as_deref(),
        Some("dev-pw")
    );
    // prod is not bob's: untouched.
    assert_eq!(std::fs::read(ks.path("prod/app.yaml")).unwrap(), before[1]);
}

#[test]
fn rekey_refuses_a_private_key_without_echoing_it() {
    let (ks, _bob) = rekey_team();
    let id = age::x25519::Identity::generate();
    let secret = common::secret_of(&id);
    let cfg = std::fs::read(ks.path(".secrets.yaml")).unwrap();
    let out = ks.run(&["member", "rekey", "bob", &secret]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!text(&out).contains(&secret[20..]), "{}", text(&out));
    assert_eq!(std::fs::read(ks.path(".secrets.yaml")).unwrap(), cfg);
    // Another member's key is refused too (the config would be invalid).
    let out = ks.run(&["member", "rekey", "bob", &ks.public]);
    assert!(!out.status.success());
    assert_eq!(std::fs::read(ks.path(".secrets.yaml")).unwrap(), cfg);
}

#[test]
fn generate_makes_the_new_value_by_the_schema_and_never_shows_it() {
    let ks = team("schema:\n  JWT_SIGNING_KEY: {min_length: 40, generate: base64url, grace: 1h}\n");
    ks.encrypted(".env.prod", &format!("JWT_SIGNING_KEY={OLD}\n"));
    let out = ks.run(&[
        "rotate-value",
        ".env.prod",
        "JWT_SIGNING_KEY",
        "--generate",
        "--keep-previous",
        "JWT_SIGNING_KEY_PREVIOUS",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let shown = no_value(&out);
    let new = get(&ks, ".env.prod", "JWT_SIGNING_KEY").unwrap();
    assert!(
        !shown.contains(&new),
        "the generated value was printed: {shown}"
    );
    assert_ne!(new, OLD);
    // base64url from the schema, raised to min_length.
    assert!(new.len() >= 40, "{new}");
    assert!(
        new.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{new}"
    );
    assert_eq!(
        get(&ks, ".env.prod", "JWT_SIGNING_KEY_PREVIOUS").as_deref(),
        Some(OLD)
    );
    // --generate and --value-stdin exclude each other.
    let out = ks.run(&[
        "rotate-value",
        ".env.prod",
        "JWT_SIGNING_KEY",
        "--generate",
        "--value-stdin",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// Audit find: on a dotenv line `export B="x y"`, `--keep-previous B_PREV` wrote
/// `B_PREV="x y"` without `export`, so a shell sourcing the file no longer exported the
/// previous value to the programs it starts. The new line keeps the `export` prefix, and
/// `--remove-expired` finds it by the recorded name; real `sops` reads the file.
#[test]
fn keep_previous_keeps_the_export_prefix_of_a_dotenv_line() {
    let ks = team("");
    ks.encrypted(".env.prod", &format!("A=1\nexport B=\"x y {OLD}\"\n"));
    let out = with_stdin(
        &ks,
        &[
            "rotate-value",
            ".env.prod",
            "B",
            "--value-stdin",
            "--keep-previous",
            "B_PREV",
            "--grace",
            "1h",
        ],
        NEW,
    );
    assert!(out.status.success(), "{}", no_value(&out));
    let plain = String::from_utf8(ks.ok(&["decrypt", ".env.prod"])).unwrap();
    assert!(
        plain.contains(&format!("\nexport B_PREV=\"x y {OLD}\"\n")),
        "{plain}"
    );
    assert!(plain.contains(&format!("\nexport B={NEW}\n")), "{plain}");
    assert_eq!(
        get(&ks, ".env.prod", "B_PREV").unwrap(),
        format!("x y {OLD}")
    );
    let sops = common::sops_bin().unwrap();
    let out = std::process::Command::new(&sops)
        .args([
            "decrypt",
            "--input-type",
            "dotenv",
            "--output-type",
            "dotenv",
            ".env.prod",
        ])
        .current_dir(ks.dir())
        .env("SOPS_AGE_KEY_FILE", &ks.key)
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "sops: {out:?}");
    let by_sops = String::from_utf8(out.stdout).unwrap();
    assert!(by_sops.contains("export B_PREV="), "{by_sops}");

    // Due: --remove-expired takes the exported line out.
    let cfg = std::fs::read_to_string(ks.path(".secrets.yaml")).unwrap();
    let cfg = cfg
        .lines()
        .map(|l| match l.trim().strip_prefix("until: ") {
            Some(_) => "    until: \"2020-01-01T00:00:00Z\"".to_string(),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(ks.path(".secrets.yaml"), cfg + "\n").unwrap();
    ks.ok(&["rotate-value", ".env.prod", "--remove-expired"]);
    assert_eq!(get(&ks, ".env.prod", "B_PREV"), None);
    let plain = String::from_utf8(ks.ok(&["decrypt", ".env.prod"])).unwrap();
    assert!(!plain.contains("B_PREV"), "{plain}");
}
