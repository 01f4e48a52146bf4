//! sops key groups with Shamir's secret sharing, written by the real sops 3.11: the data key
//! split across groups, any `shamir_threshold` of which give it back here (age keys, and a
//! group held by PGP through the real gpg), too few failing with one line that says how
//! many; `set` keeps the groups so sops still opens the file; commands that would re-wrap
//! the data key refuse and leave the file as it was. And the key types kept only as text
//! (GCP KMS, Azure Key Vault) are named when nothing else opens a file.

mod common;

use std::process::{Command, Output};

use common::gpg::Keyring;
use common::{sops_bin, Sandbox};

const PLAIN: &str = "db:\n  password: hunter2\n  port: 5432\napi_token: t0k3n\n";

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The real sops in the sandbox with `key_file` as its age keys (and `ring` as GNUPGHOME).
fn sops(sb: &Sandbox, key_file: &str, ring: Option<&Keyring>, args: &[&str]) -> String {
    let mut c = Command::new(sops_bin().expect("sops"));
    c.env_remove("SOPS_AGE_KEY")
        .env("SOPS_AGE_KEY_FILE", sb.path(key_file))
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .env("HOME", sb.path("home"))
        .env("XDG_CONFIG_HOME", sb.path("home/.config"))
        .current_dir(sb.dir.path())
        .args(args);
    if let Some(r) = ring {
        c.env("GNUPGHOME", r.path());
    }
    ok(c.output().unwrap(), &format!("sops {args:?}"))
}

/// `secrets ARGS` with `key_file` as the only age keys (and `ring` as GNUPGHOME).
fn secrets(sb: &Sandbox, key_file: &str, ring: Option<&Keyring>, args: &[&str]) -> Output {
    let mut c = sb.std_cmd();
    c.env("SOPS_AGE_KEY_FILE", sb.path(key_file))
        .env("HOME", sb.path("home"))
        .env("NO_COLOR", "1");
    if let Some(r) = ring {
        c.env("GNUPGHOME", r.path());
    }
    c.args(args).output().unwrap()
}

/// Three members' keys, each alone in a file, and every pair in one file.
fn three_keys(sb: &Sandbox) -> [String; 3] {
    let keys = [sb.key("m1"), sb.key("m2"), sb.key("m3")];
    let text = |i: usize| std::fs::read_to_string(&keys[i].file).unwrap();
    for i in 0..3 {
        common::write_private(&sb.path(&format!("k{}", i + 1)), &text(i));
    }
    for (a, b) in [(0, 1), (1, 2), (0, 2)] {
        let pair = format!("k{}{}", a + 1, b + 1);
        common::write_private(&sb.path(&pair), &(text(a) + &text(b)));
    }
    keys.map(|k| k.public)
}

/// [`three_keys`] and a `.sops.yaml` rule that gives each its own group, any 2 needed.
fn two_of_three_groups(sb: &Sandbox) {
    let [a1, a2, a3] = three_keys(sb);
    sb.write(
        ".sops.yaml",
        &format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [{a1}]\n      - age: [{a2}]\n      - age: [{a3}]\n"
        ),
    );
}

#[test]
fn sops_key_groups_open_here_with_any_threshold_of_them_and_no_fewer() {
    let sb = Sandbox::new();
    two_of_three_groups(&sb);
    for (name, text) in [
        ("a.yaml", PLAIN),
        ("a.json", "{\"db\": {\"password\": \"hunter2\"}}\n"),
        ("a.env", "PASSWORD=hunter2\n"),
    ] {
        sb.write(name, text);
        let enc = sops(&sb, "k12", None, &["encrypt", name]);
        assert!(enc.contains("shamir_threshold"), "{enc}");
        let file = format!("g-{name}");
        sb.write(&file, &enc);
        let theirs = sops(&sb, "k12", None, &["decrypt", &file]);
        for pair in ["k12", "k23", "k13"] {
            let ours = ok(secrets(&sb, pair, None, &["decrypt", &file]), pair);
            assert_eq!(ours, theirs, "{file} with {pair}");
        }
        let out = secrets(&sb, "k1", None, &["decrypt", &file]);
        assert_eq!(out.status.code(), Some(128), "one group of the two needed");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("split across 3 key groups") && err.contains("2 are needed; 1 opened"),
            "{err}"
        );
        assert!(out.stdout.is_empty() && !err.contains("hunter2"));
    }
}

#[test]
fn set_keeps_the_groups_for_sops_and_rewrapping_is_refused() {
    let sb = Sandbox::new();
    two_of_three_groups(&sb);
    sb.write("a.yaml", PLAIN);
    let enc = sops(&sb, "k12", None, &["encrypt", "a.yaml"]);
    sb.write("a.yaml", &enc);
    ok(
        secrets(&sb, "k23", None, &["set", "a.yaml", "api_token", "rotated"]),
        "set",
    );
    let after = sb.read("a.yaml");
    assert!(after.contains("key_groups:") && after.contains("shamir_threshold: 2"));
    let plain = sops(&sb, "k13", None, &["decrypt", "a.yaml"]);
    assert!(plain.contains("api_token: rotated"), "{plain}");

    // rotate would have to split a new data key again: refused, the file unchanged;
    // with the .sops.yaml (whose key_groups we cannot create from yet) and without it.
    let out = secrets(&sb, "k12", None, &["rotate", "a.yaml"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(".sops.yaml:4: several key_groups"), "{err}");
    std::fs::remove_file(sb.path(".sops.yaml")).unwrap();
    let out = secrets(&sb, "k12", None, &["rotate", "a.yaml"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("key groups") && err.contains("sops rotate"),
        "{err}"
    );
    assert_eq!(sb.read("a.yaml"), after);
}

#[test]
fn a_group_held_by_pgp_and_a_group_of_age_keys_open_together() {
    let ring = Keyring::new();
    let fp = ring.add_key("Vault stand-in <ops@example.test>");
    let sb = Sandbox::new();
    let [a1, a2, _] = three_keys(&sb);
    // "prod needs the ops key AND one member's age key".
    sb.write(
        ".sops.yaml",
        &format!(
            "creation_rules:\n  - key_groups:\n      - pgp: [{fp}]\n      - age: [{a1}, {a2}]\n"
        ),
    );
    sb.write("a.yaml", PLAIN);
    let enc = sops(&sb, "k12", Some(&ring), &["encrypt", "a.yaml"]);
    sb.write("a.yaml", &enc);
    let theirs = sops(&sb, "k12", Some(&ring), &["decrypt", "a.yaml"]);
    assert_eq!(
        ok(
            secrets(&sb, "k2", Some(&ring), &["decrypt", "a.yaml"]),
            "both"
        ),
        theirs
    );
    // Without the gpg key one group is missing (no threshold: every group is needed).
    let empty = Keyring::new();
    let out = secrets(&sb, "k12", Some(&empty), &["decrypt", "a.yaml"]);
    assert_eq!(out.status.code(), Some(128));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("2 are needed; 1 opened") && err.contains(&format!("pgp {fp}")),
        "{err}"
    );
}

#[test]
fn a_gcp_kms_or_azure_stanza_is_named_when_nothing_else_opens_the_file() {
    let sb = Sandbox::new();
    let [a1, _, _] = three_keys(&sb);
    sb.write("a.yaml", PLAIN);
    let enc = sops(&sb, "k1", None, &["encrypt", "--age", &a1, "a.yaml"]);
    let resource = "projects/p/locations/global/keyRings/r/cryptoKeys/k";
    let with_gcp = enc.replacen(
        "sops:\n",
        &format!(
            "sops:\n    gcp_kms:\n        - resource_id: {resource}\n          created_at: \"2026-01-01T00:00:00Z\"\n          enc: CiQAbc\n    azure_kv:\n        - vault_url: https://v.vault.azure.net\n          name: k\n          version: \"1\"\n          created_at: \"2026-01-01T00:00:00Z\"\n          enc: abc\n"
        ),
        1,
    );
    assert_ne!(with_gcp, enc);
    sb.write("a.yaml", &with_gcp);
    // The age key opens it; the stanzas are kept as written.
    assert_eq!(
        ok(secrets(&sb, "k1", None, &["decrypt", "a.yaml"]), "age"),
        PLAIN.replace("  ", "    ")
    );
    let out = secrets(&sb, "k2", None, &["decrypt", "a.yaml"]);
    assert_eq!(out.status.code(), Some(128));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("gcp_kms {resource}: not supported by this tool"))
            && err.contains("azure_kv https://v.vault.azure.net/keys/k: not supported"),
        "{err}"
    );
}
