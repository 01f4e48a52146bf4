//! sops key groups with Shamir's secret sharing, written by the real sops 3.11: the data key
//! split across groups, any `shamir_threshold` of which give it back here (age keys, and a
//! group held by PGP through the real gpg), too few failing with one line that says how
//! many; `set` keeps the groups so sops still opens the file; files we write for a
//! `.sops.yaml` rule with key groups (or a `.secrets.yaml` environment with them) open
//! with sops, and `rotate` / `updatekeys` by either tool keep the other working; removing a
//! member of a group rotates the data key. And the key types kept only as text
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

/// The real sops in the sandbox with `keys` as its only age keys and a HOME of its own.
fn sops_cmd(sb: &Sandbox, keys: &std::path::Path) -> Command {
    let mut c = Command::new(sops_bin().expect("sops"));
    c.env_remove("SOPS_AGE_KEY")
        .env("SOPS_AGE_KEY_FILE", keys)
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .env("HOME", sb.path("home"))
        .env("XDG_CONFIG_HOME", sb.path("home/.config"))
        .current_dir(sb.dir.path());
    c
}

/// The real sops in the sandbox with `key_file` as its age keys (and `ring` as GNUPGHOME).
fn sops(sb: &Sandbox, key_file: &str, ring: Option<&Keyring>, args: &[&str]) -> String {
    let mut c = sops_cmd(sb, &sb.path(key_file));
    c.args(args);
    if let Some(r) = ring {
        c.env("GNUPGHOME", r.path());
    }
    ok(c.output().unwrap(), &format!("sops {args:?}"))
}

/// `secrets ARGS` with `key_file` as the only age keys (and `ring` as GNUPGHOME).
fn secrets(sb: &Sandbox, key_file: &str, ring: Option<&Keyring>, args: &[&str]) -> Output {
    let mut c = secrets_cmd(sb, key_file);
    if let Some(r) = ring {
        c.env("GNUPGHOME", r.path());
    }
    c.args(args).output().unwrap()
}

/// The `secrets` binary in the sandbox with `key_file` as its only age keys.
fn secrets_cmd(sb: &Sandbox, key_file: &str) -> Command {
    let mut c = sb.std_cmd();
    c.env("SOPS_AGE_KEY_FILE", sb.path(key_file))
        .env("HOME", sb.path("home"))
        .env("NO_COLOR", "1");
    c
}

/// `file` written and encrypted with the pair key `k13`, the merge driver set up, and both
/// committed as the repository's first commit.
fn encrypt_and_commit(r: &common::repo::Repo, file: &str) {
    let sb = &r.ks.sb;
    sb.write(file, PLAIN);
    ok(
        secrets(sb, "k13", None, &["encrypt", "-i", file]),
        "encrypt",
    );
    ok(secrets(sb, "k13", None, &["git", "setup"]), "git setup");
    r.commit("start", 3, "alice");
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

/// A YAML file's `sops` age stanzas moved under a single `key_groups` entry (`indent` is
/// the file's indentation step), as a hand-made or other tool's file may hold them.
fn as_one_key_group(text: &str, indent: &str) -> String {
    let age = format!("{indent}age:");
    let inside = indent.repeat(2);
    let mut grouped = String::new();
    let mut in_age = false;
    for line in text.lines() {
        if line == age {
            in_age = true;
            grouped.push_str(&format!("{indent}key_groups:\n{inside}- age:\n"));
            continue;
        }
        if in_age && !line.starts_with(&inside) {
            in_age = false;
        }
        if in_age {
            // Four more: the stanzas now sit under the group's `- age:`.
            grouped.push_str("    ");
        }
        grouped.push_str(line);
        grouped.push('\n');
    }
    grouped
}

/// The ciphertexts of a YAML file, in order: each value and the MAC (`ENC[…]`), and each
/// age stanza's first armored line.
fn encs(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if l.contains("ENC[") {
            out.push(l.trim().to_string());
        } else if l.contains("-----BEGIN AGE ENCRYPTED FILE-----") {
            out.push(lines[i + 1].trim().to_string());
        }
    }
    out
}

#[test]
fn set_keeps_the_groups_for_sops_and_rotate_splits_a_new_key_sops_opens() {
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
    let stanzas = |t: &str| -> Vec<String> {
        encs(t)
            .into_iter()
            .filter(|l| !l.contains("ENC["))
            .collect()
    };
    assert_eq!(stanzas(&after), stanzas(&enc), "set keeps the stanzas");
    // And sops's metadata block line for line, its order and empty lists included
    // (`hc_vault: []`), but the two lines a set changes.
    let metadata = |t: &str| -> Vec<String> {
        t.split("\nsops:\n")
            .nth(1)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.contains("lastmodified:") && !l.contains("mac:"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        metadata(&after),
        metadata(&enc),
        "set rewrote sops's metadata"
    );
    let plain = sops(&sb, "k13", None, &["decrypt", "a.yaml"]);
    assert!(plain.contains("api_token: rotated"), "{plain}");

    // rotate: a new data key split again across the same three groups, any two of
    // which open it with sops; with the .sops.yaml and without it (the file's own groups).
    for with_config in [true, false] {
        if !with_config {
            std::fs::remove_file(sb.path(".sops.yaml")).unwrap();
        }
        let before = sb.read("a.yaml");
        ok(secrets(&sb, "k12", None, &["rotate", "a.yaml"]), "rotate");
        let rotated = sb.read("a.yaml");
        assert!(rotated.contains("shamir_threshold: 2"), "{rotated}");
        assert_eq!(rotated.matches("- recipient:").count(), 3, "{rotated}");
        assert!(
            encs(&rotated).iter().all(|e| !encs(&before).contains(e)),
            "every stanza and value new"
        );
        for pair in ["k12", "k23", "k13"] {
            let plain = sops(&sb, pair, None, &["decrypt", "a.yaml"]);
            assert!(plain.contains("api_token: rotated"), "{pair}: {plain}");
        }
        let out = sops_cmd(&sb, &sb.path("k3"))
            .args(["decrypt", "a.yaml"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "one group of the two needed");
    }
}

#[test]
fn our_key_groups_from_sops_yaml_open_with_sops_and_rotations_by_either_keep_both() {
    let sb = Sandbox::new();
    two_of_three_groups(&sb);
    sb.write("a.yaml", PLAIN);
    ok(
        secrets(&sb, "k1", None, &["encrypt", "-i", "a.yaml"]),
        "encrypt",
    );
    let ours = sb.read("a.yaml");
    assert!(
        ours.contains("key_groups:") && ours.contains("shamir_threshold: 2"),
        "{ours}"
    );
    for pair in ["k12", "k23", "k13"] {
        assert_eq!(
            sops(&sb, pair, None, &["decrypt", "a.yaml"]),
            PLAIN.replace("  ", "    "),
            "sops with {pair}"
        );
        // Ours keeps the text as it was written.
        assert_eq!(
            ok(secrets(&sb, pair, None, &["decrypt", "a.yaml"]), pair),
            PLAIN
        );
    }
    let out = secrets(&sb, "k2", None, &["decrypt", "a.yaml"]);
    assert_eq!(out.status.code(), Some(128), "one group of the two needed");

    // sops rotates ours; we still open it with any two, and rotate it back.
    sops(&sb, "k12", None, &["rotate", "-i", "a.yaml"]);
    ok(
        secrets(&sb, "k23", None, &["decrypt", "a.yaml"]),
        "after sops rotate",
    );
    ok(secrets(&sb, "k13", None, &["rotate", "a.yaml"]), "rotate");
    sops(&sb, "k23", None, &["decrypt", "a.yaml"]);

    // A fourth key joins the third group: updatekeys by us splits the same data key
    // again; sops opens it with the new key and one other group.
    let k4 = sb.key("m4");
    let [a1, a2, a3] = ["k1", "k2", "k3"].map(|f| {
        let text = sb.read(f);
        text.lines()
            .find_map(|l| l.strip_prefix("# public key: "))
            .unwrap()
            .to_string()
    });
    sb.write(
        ".sops.yaml",
        &format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [{a1}]\n      - age: [{a2}]\n      - age: [{a3}, {}]\n",
            k4.public
        ),
    );
    let out = ok(
        secrets(&sb, "k12", None, &["updatekeys", "a.yaml"]),
        "updatekeys",
    );
    assert!(out.is_empty() || !out.contains("hunter2"));
    common::write_private(
        &sb.path("k14"),
        &(sb.read("k1") + &std::fs::read_to_string(&k4.file).unwrap()),
    );
    assert_eq!(
        sops(&sb, "k14", None, &["decrypt", "a.yaml"]),
        PLAIN.replace("  ", "    ")
    );
    // Nothing left to change: a second updatekeys writes nothing.
    let before = sb.read("a.yaml");
    ok(
        secrets(&sb, "k12", None, &["updatekeys", "a.yaml"]),
        "updatekeys again",
    );
    assert_eq!(sb.read("a.yaml"), before);

    // A fifth key joins the second group, and sops's updatekeys splits the key again:
    // we open it with the new key and one other group.
    let k5 = sb.key("m5");
    sb.write(
        ".sops.yaml",
        &format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [{a1}]\n      - age: [{a2}, {}]\n      - age: [{a3}, {}]\n",
            k5.public, k4.public
        ),
    );
    sops(&sb, "k12", None, &["updatekeys", "-y", "a.yaml"]);
    assert_ne!(
        sb.read("a.yaml"),
        before,
        "sops updatekeys changed the file"
    );
    common::write_private(
        &sb.path("k35"),
        &(sb.read("k3") + &std::fs::read_to_string(&k5.file).unwrap()),
    );
    assert_eq!(
        ok(
            secrets(&sb, "k35", None, &["decrypt", "a.yaml"]),
            "the new key"
        ),
        PLAIN.replace("  ", "    ")
    );
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

/// An OpenBao dev server with transit enabled and a key `prod`; its key URL.
fn transit() -> (common::openbao::OpenBao, String) {
    let bao = common::openbao::OpenBao::start();
    bao.ok(&["secrets", "enable", "transit"]);
    bao.ok(&["write", "-f", "transit/keys/prod"]);
    let url = format!("{}/v1/transit/keys/prod", bao.addr);
    (bao, url)
}

/// `secrets ARGS` with `key_file` as the age keys and, when `bao` is given, its token.
fn with_vault(
    sb: &Sandbox,
    key_file: &str,
    bao: Option<&common::openbao::OpenBao>,
    args: &[&str],
) -> Output {
    let mut c = secrets_cmd(sb, key_file);
    c.env_remove("VAULT_TOKEN").env_remove("VAULT_ADDR");
    if let Some(b) = bao {
        c.env("VAULT_ADDR", &b.addr).env("VAULT_TOKEN", &b.token);
    }
    c.args(args).output().unwrap()
}

/// The real sops decrypting `file` with the age keys in `keys` and the Vault token.
fn sops_with_vault(
    sb: &Sandbox,
    keys: &std::path::Path,
    bao: &common::openbao::OpenBao,
    file: &str,
) -> Output {
    sops_cmd(sb, keys)
        .env("VAULT_ADDR", &bao.addr)
        .env("VAULT_TOKEN", &bao.token)
        .args(["decrypt", file])
        .output()
        .unwrap()
}

/// Issue 15: "the team config can express a group (prod needs the Vault key AND one
/// member's age key)". Our file opens only with both, here and with sops; removing a
/// member of the age group rotates the data key, split again across the same groups.
#[test]
fn a_team_environment_needing_the_vault_key_and_one_member_opens_only_with_both() {
    let (bao, url) = transit();
    let sb = Sandbox::new();
    let [a1, a2, _] = three_keys(&sb);
    sb.write(
        ".secrets.yaml",
        &format!(
            "members:\n  alice: {a1}\n  bob: {a2}\nenvironments:\n  prod:\n    files: [\"prod/**\"]\n    # the Vault key AND one member's age key\n    key_groups:\n      - members: [alice, bob]\n      - vault_transit: [{url}]\n"
        ),
    );
    sb.write("prod/app.yaml", PLAIN);
    ok(
        with_vault(&sb, "k1", Some(&bao), &["encrypt", "-i", "prod/app.yaml"]),
        "encrypt",
    );
    let enc = sb.read("prod/app.yaml");
    assert!(
        enc.contains("key_groups:") && enc.contains("shamir_threshold: 2"),
        "{enc}"
    );
    for member in ["k1", "k2"] {
        assert_eq!(
            ok(
                with_vault(&sb, member, Some(&bao), &["decrypt", "prod/app.yaml"]),
                member
            ),
            PLAIN
        );
        let theirs = sops_with_vault(&sb, &sb.path(member), &bao, "prod/app.yaml");
        assert!(theirs.status.success(), "sops with {member} and the token");
    }
    // A member without the Vault token, or the token without a member: one group short.
    let out = with_vault(&sb, "k1", None, &["decrypt", "prod/app.yaml"]);
    assert_eq!(out.status.code(), Some(128));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2 are needed; 1 opened"), "{err}");
    let out = with_vault(&sb, "k3", Some(&bao), &["decrypt", "prod/app.yaml"]);
    assert_eq!(out.status.code(), Some(128));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&bao.token));

    // `env grant` cannot guess which group: it says where to add the member.
    let out = with_vault(&sb, "k1", Some(&bao), &["env", "grant", "prod", "alice"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("key_groups"));

    // bob leaves: the data key is rotated and split again; bob's key opens nothing.
    ok(
        with_vault(&sb, "k1", Some(&bao), &["member", "remove", "bob"]),
        "member remove",
    );
    let after = sb.read("prod/app.yaml");
    assert!(
        after.contains("key_groups:") && !after.contains(&a2),
        "{after}"
    );
    assert_eq!(
        ok(
            with_vault(&sb, "k1", Some(&bao), &["decrypt", "prod/app.yaml"]),
            "alice"
        ),
        PLAIN
    );
    assert!(sops_with_vault(&sb, &sb.path("k1"), &bao, "prod/app.yaml")
        .status
        .success());
    let out = with_vault(&sb, "k2", Some(&bao), &["decrypt", "prod/app.yaml"]);
    assert_eq!(out.status.code(), Some(128), "bob no longer reads it");
    let config = sb.read(".secrets.yaml");
    assert!(
        config.contains("members: [alice]") || config.contains("- alice"),
        "{config}"
    );
}

/// The merge driver on a file with key groups: one side rotated (a new data key split
/// across the groups), both changed values; the merge is split again across the same
/// groups and opens only with both, here and with sops.
#[test]
fn a_merge_after_a_rotation_splits_the_key_across_the_same_groups() {
    let (bao, url) = transit();
    let r = common::repo::Repo::new();
    r.configure(&format!(
        "environments:\n  prod:\n    files: [\"config/**\"]\n    key_groups:\n      - members: [alice]\n      - vault_transit: [{url}]\n"
    ));
    let main = r.rotate_on_a_branch_and_merge(PLAIN, &|c| {
        c.env("VAULT_ADDR", &bao.addr)
            .env("VAULT_TOKEN", &bao.token);
    });
    let merged = r.ks.sb.read("config/app.yaml");
    assert!(merged.contains("key_groups:") && merged.contains("shamir_threshold: 2"));
    assert_ne!(encs(&merged), encs(&main));
    let sb = &r.ks.sb;
    let decrypt = |token: bool| {
        let mut c = sb.std_cmd();
        c.env("SOPS_AGE_KEY_FILE", &r.ks.key)
            .env_remove("VAULT_TOKEN")
            .env("VAULT_ADDR", &bao.addr);
        if token {
            c.env("VAULT_TOKEN", &bao.token);
        }
        c.args(["decrypt", "config/app.yaml"]).output().unwrap()
    };
    let plain = ok(decrypt(true), "decrypt the merge");
    assert!(plain.contains("password: pw-main") && plain.contains("api_token: tok-feature"));
    assert_eq!(
        decrypt(false).status.code(),
        Some(128),
        "the Vault group is needed"
    );
    let by_sops = ok(
        sops_with_vault(sb, &r.ks.key, &bao, "config/app.yaml"),
        "sops decrypt the merge",
    );
    assert!(by_sops.contains("pw-main") && by_sops.contains("tok-feature"));
}

/// Found in review: removing the only key of a group (a sops file in no environment) wrote
/// a group nobody could open, the file lost for good. Now refused, the file unchanged.
#[test]
fn removing_the_last_key_of_a_group_is_refused_and_the_file_kept() {
    let sb = Sandbox::new();
    let [a1, a2, _] = three_keys(&sb);
    sb.write(
        ".sops.yaml",
        &format!("creation_rules:\n  - key_groups:\n      - age: [{a1}]\n      - age: [{a2}]\n"),
    );
    sb.write("other/y.yaml", PLAIN);
    let enc = sops(&sb, "k12", None, &["encrypt", "other/y.yaml"]);
    sb.write("other/y.yaml", &enc);
    sb.write(
        ".secrets.yaml",
        &format!("members:\n  alice: {a1}\n  bob: {a2}\nenvironments:\n  prod:\n    files: [\"prod/**\"]\n    members: [bob]\n"),
    );
    let out = secrets(&sb, "k12", None, &["member", "remove", "alice"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("other/y.yaml") && err.contains("key group 1 has no key left"),
        "{err}"
    );
    assert_eq!(sb.read("other/y.yaml"), enc);
    sops(&sb, "k12", None, &["decrypt", "other/y.yaml"]);
}

/// Found in review: a key taken out of one group while it stays in another kept the data
/// key, which its holder may have kept. Now a rotation is needed, as when a key leaves.
#[test]
fn a_key_leaving_one_group_needs_a_rotation() {
    let sb = Sandbox::new();
    let [a1, a2, a3] = three_keys(&sb);
    let config = |second: &str| {
        format!("members:\n  alice: {a1}\n  bob: {a2}\n  carol: {a3}\nenvironments:\n  prod:\n    files: [\"prod/**\"]\n    key_groups:\n      - members: [alice, bob]\n      - members: [{second}]\n")
    };
    sb.write(".secrets.yaml", &config("alice, carol"));
    sb.write("prod/a.yaml", PLAIN);
    ok(
        secrets(&sb, "k1", None, &["encrypt", "-i", "prod/a.yaml"]),
        "encrypt",
    );
    ok(
        secrets(&sb, "k1", None, &["decrypt", "prod/a.yaml"]),
        "alice alone",
    );
    sb.write(".secrets.yaml", &config("carol"));
    let before = sb.read("prod/a.yaml");
    let out = secrets(&sb, "k13", None, &["updatekeys", "prod/a.yaml"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("without rotating") && err.contains("key group"),
        "{err}"
    );
    assert_eq!(sb.read("prod/a.yaml"), before);
    ok(
        secrets(&sb, "k13", None, &["updatekeys", "--rotate", "prod/a.yaml"]),
        "updatekeys --rotate",
    );
    assert_eq!(
        secrets(&sb, "k1", None, &["decrypt", "prod/a.yaml"])
            .status
            .code(),
        Some(128)
    );
    ok(
        secrets(&sb, "k13", None, &["decrypt", "prod/a.yaml"]),
        "alice and carol",
    );
    sops(&sb, "k23", None, &["decrypt", "prod/a.yaml"]);
}

/// Found in review: the merge driver split a fresh key across ours's groups, handing it
/// to a member the other side removed. It now wraps for the side that rotated.
#[test]
fn a_merge_of_a_member_removal_does_not_hand_them_the_new_key() {
    let r = common::repo::Repo::new();
    let sb = &r.ks.sb;
    let [a1, a2, a3] = three_keys(sb);
    sb.write(
        ".secrets.yaml",
        &format!("members:\n  alice: {a1}\n  bob: {a2}\n  carol: {a3}\nenvironments:\n  prod:\n    files: [\"prod/**\"]\n    key_groups:\n      - members: [alice, bob]\n      - members: [carol]\n"),
    );
    encrypt_and_commit(&r, "prod/app.yaml");
    r.git(&["checkout", "-q", "-b", "offboard"]);
    ok(
        secrets(sb, "k13", None, &["member", "remove", "bob"]),
        "member remove",
    );
    r.commit("bob leaves", 2, "alice");
    r.git(&["checkout", "-q", "main"]);
    ok(
        secrets(
            sb,
            "k13",
            None,
            &["set", "prod/app.yaml", "api_token", "tok-main"],
        ),
        "set",
    );
    r.commit("main", 1, "alice");
    git_merge(sb, "offboard", &sb.path("k13"));
    let merged = ok(
        secrets(sb, "k13", None, &["decrypt", "prod/app.yaml"]),
        "alice and carol",
    );
    assert!(merged.contains("tok-main"), "{merged}");
    assert_eq!(
        secrets(sb, "k23", None, &["decrypt", "prod/app.yaml"])
            .status
            .code(),
        Some(128),
        "bob (with carol) no longer opens the merge"
    );
}

/// Found in review: sops reads one key group as the whole data key, and ignores a
/// `shamir_threshold` without several groups; so do we.
#[test]
fn one_key_group_and_a_lone_threshold_read_as_sops_reads_them() {
    let sb = Sandbox::new();
    let [a1, _, _] = three_keys(&sb);
    sb.write(
        ".sops.yaml",
        &format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [{a1}]\n"
        ),
    );
    sb.write("a.yaml", PLAIN);
    ok(
        secrets(&sb, "k1", None, &["encrypt", "-i", "a.yaml"]),
        "encrypt",
    );
    sops(&sb, "k1", None, &["decrypt", "a.yaml"]);
    // sops writes that threshold beside flat keys; a `set` here keeps it.
    sb.write("s.yaml", PLAIN);
    let by_sops = sops(&sb, "k1", None, &["encrypt", "s.yaml"]);
    assert!(by_sops.contains("shamir_threshold: 2"), "{by_sops}");
    sb.write("s.yaml", &by_sops);
    ok(
        secrets(&sb, "k1", None, &["set", "s.yaml", "api_token", "x"]),
        "set",
    );
    assert!(sb.read("s.yaml").contains("shamir_threshold: 2"));
    // A file whose metadata lists its one group under key_groups opens here too.
    let flat = sb.read("a.yaml");
    assert!(flat.contains("\nsops:\n  age:\n"), "{flat}");
    let grouped = as_one_key_group(&flat, "  ");
    assert!(
        grouped.contains("key_groups:") && !grouped.contains("\n  age:"),
        "{grouped}"
    );
    sb.write("b.yaml", &grouped);
    let theirs = sops(&sb, "k1", None, &["decrypt", "b.yaml"]);
    assert!(theirs.contains("password: hunter2"), "{theirs}");
    assert_eq!(
        ok(
            secrets(&sb, "k1", None, &["decrypt", "b.yaml"]),
            "one group"
        ),
        PLAIN
    );
}

/// Every group's age stanzas are tried before any key service: with two age groups of a
/// 2-of-3 file open, the Vault group's server gets no request at all; with one, it is
/// asked (here a server that never answers, within the timeout) and the error says so.
#[test]
fn age_groups_are_tried_before_any_key_service_group() {
    let (bao, url) = transit();
    let sb = Sandbox::new();
    let [a1, a2, _] = three_keys(&sb);
    sb.write(
        ".sops.yaml",
        &format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - hc_vault: [{url}]\n      - age: [{a1}]\n      - age: [{a2}]\n"
        ),
    );
    sb.write("a.yaml", PLAIN);
    ok(
        with_vault(&sb, "k1", Some(&bao), &["encrypt", "-i", "a.yaml"]),
        "encrypt",
    );
    // The Vault stanza now names a server that accepts and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = format!("http://{}", silent.local_addr().unwrap());
    let text = sb.read("a.yaml").replace(&bao.addr, &silent_addr);
    assert!(text.contains(&silent_addr));
    sb.write("a.yaml", &text);
    let run = |keys: &str| {
        let mut c = sb.std_cmd();
        c.env("SOPS_AGE_KEY_FILE", sb.path(keys))
            .env("HOME", sb.path("home"))
            .env("VAULT_TOKEN", "t")
            .env("SECRETS_KEYSERVICE_TIMEOUT", "0.5")
            .args(["decrypt", "a.yaml"]);
        c.output().unwrap()
    };
    assert_eq!(ok(run("k12"), "two age groups"), PLAIN);
    assert_eq!(
        common::connections_to(&silent),
        0,
        "the Vault group was not asked"
    );
    let out = run("k1");
    assert_eq!(out.status.code(), Some(128));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("key group 1") && err.contains(&silent_addr),
        "{err}"
    );
    assert!(
        common::connections_to(&silent) >= 1,
        "asked once age fell short"
    );
}

/// A `.sops.yaml` rule naming GCP KMS or Azure keys: a file made here would silently
/// lack them, so `encrypt` refuses, naming the line; a file holding such a stanza is not
/// rotated (the stanza would keep the old data key), and stays as it was.
#[test]
fn gcp_and_azure_keys_are_never_left_out_or_left_behind() {
    let sb = Sandbox::new();
    let [a1, a2, _] = three_keys(&sb);
    let resource = "projects/p/locations/global/keyRings/r/cryptoKeys/k";
    for rule in [
        format!("  - age: {a1}\n    gcp_kms: {resource}\n"),
        format!("  - key_groups:\n      - age: [{a1}]\n      - age: [{a2}]\n        azure_keyvault: https://v.vault.azure.net/keys/k/1\n"),
    ] {
        sb.write(".sops.yaml", &format!("creation_rules:\n{rule}"));
        sb.write("a.yaml", PLAIN);
        let out = secrets(&sb, "k12", None, &["encrypt", "-i", "a.yaml"]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(".sops.yaml:") && err.contains("keys are not supported by this tool"),
            "{err}"
        );
        assert_eq!(sb.read("a.yaml"), PLAIN, "nothing written");
    }
    std::fs::remove_file(sb.path(".sops.yaml")).unwrap();
    let enc = sops(&sb, "k1", None, &["encrypt", "--age", &a1, "a.yaml"]);
    let with_gcp = enc.replacen(
        "sops:\n",
        &format!("sops:\n    gcp_kms:\n        - resource_id: {resource}\n          created_at: \"2026-01-01T00:00:00Z\"\n          enc: CiQAbc\n"),
        1,
    );
    sb.write("a.yaml", &with_gcp);
    let out = secrets(&sb, "k1", None, &["rotate", "a.yaml"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("gcp_kms") && err.contains("sops rotate"),
        "{err}"
    );
    assert_eq!(sb.read("a.yaml"), with_gcp);
}

/// Second review: `member rekey` re-wraps for the config as it stands, so a reader taken
/// out of the config by hand left without a rotation. A re-wrap may now only swap the
/// member's old key for the new one; anything else is refused, the file unchanged.
#[test]
fn member_rekey_takes_nobody_else_out_without_a_rotation() {
    let sb = Sandbox::new();
    let [a1, a2, a3] = three_keys(&sb);
    let config = |first: &str| {
        format!("members:\n  alice: {a1}\n  bob: {a2}\n  carol: {a3}\nenvironments:\n  prod:\n    files: [\"prod/**\"]\n    key_groups:\n      - members: [{first}]\n      - members: [carol]\n")
    };
    sb.write(".secrets.yaml", &config("alice, bob"));
    sb.write("prod/a.yaml", PLAIN);
    ok(
        secrets(&sb, "k13", None, &["encrypt", "-i", "prod/a.yaml"]),
        "encrypt",
    );
    sb.write(".secrets.yaml", &config("alice"));
    let before = sb.read("prod/a.yaml");
    let alice2 = sb.key("alice2");
    let out = secrets(
        &sb,
        "k13",
        None,
        &["member", "rekey", "alice", &alice2.public],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bob"), "{err}");
    assert_eq!(sb.read("prod/a.yaml"), before);
    // With bob back in the config, the rekey swaps alice's key and nothing else.
    sb.write(".secrets.yaml", &config("alice, bob"));
    ok(
        secrets(
            &sb,
            "k13",
            None,
            &["member", "rekey", "alice", &alice2.public],
        ),
        "rekey",
    );
    common::write_private(
        &sb.path("k2new3"),
        &(std::fs::read_to_string(&alice2.file).unwrap() + &sb.read("k3")),
    );
    assert_eq!(
        ok(
            secrets(&sb, "k2new3", None, &["decrypt", "prod/a.yaml"]),
            "new key"
        ),
        PLAIN
    );
    ok(
        secrets(&sb, "k23", None, &["decrypt", "prod/a.yaml"]),
        "bob still reads",
    );
}

/// Second review: a file whose metadata holds one key group (read as flat) in no
/// environment kept a removed member's stanza while reporting a rotation.
#[test]
fn a_single_group_file_loses_a_removed_member() {
    let sb = Sandbox::new();
    let [a1, a2, _] = three_keys(&sb);
    sb.write("other/a.yaml", PLAIN);
    let enc = sops(
        &sb,
        "k1",
        None,
        &["encrypt", "--age", &format!("{a1},{a2}"), "other/a.yaml"],
    );
    // The same stanzas moved under one key_groups entry.
    let grouped = as_one_key_group(&enc, "    ");
    assert!(grouped.contains("key_groups:"), "{grouped}");
    sb.write("other/a.yaml", &grouped);
    ok(
        secrets(&sb, "k2", None, &["decrypt", "other/a.yaml"]),
        "bob reads it",
    );
    sb.write(
        ".secrets.yaml",
        &format!("members:\n  alice: {a1}\n  bob: {a2}\nenvironments:\n  prod:\n    files: [\"prod/**\"]\n    members: [alice]\n"),
    );
    ok(
        secrets(&sb, "k1", None, &["member", "remove", "bob"]),
        "member remove",
    );
    assert_eq!(
        secrets(&sb, "k2", None, &["decrypt", "other/a.yaml"])
            .status
            .code(),
        Some(128)
    );
    ok(
        secrets(&sb, "k1", None, &["decrypt", "other/a.yaml"]),
        "alice reads it",
    );
}

/// Second review: `.sops.yaml` rules read as sops reads them (a rule's own keys ignored
/// beside its key_groups; a threshold of 0 is every group; a group of GCP keys alone does
/// not stop the rest of the config); `status` shows a file whose grouping differs from its
/// environment's as drift; `init --from-sops` refuses what it cannot write.
#[test]
fn sops_yaml_rules_status_drift_and_init_from_sops_with_groups() {
    let sb = Sandbox::new();
    let [a1, a2, a3] = three_keys(&sb);
    let dave = sb.key("dave");
    sb.write(
        ".sops.yaml",
        &format!(
            "creation_rules:\n  - path_regex: ^a\\.yaml$\n    age: {}\n    shamir_threshold: 0\n    key_groups:\n      - age: [{a1}]\n      - age: [{a2}]\n  - path_regex: ^g\\.yaml$\n    key_groups:\n      - age: [{a3}]\n      - gcp_kms:\n          - resource_id: projects/p/locations/global/keyRings/r/cryptoKeys/k\n",
            dave.public
        ),
    );
    sb.write("a.yaml", PLAIN);
    ok(
        secrets(&sb, "k12", None, &["encrypt", "-i", "a.yaml"]),
        "encrypt",
    );
    let ours = sb.read("a.yaml");
    assert!(
        !ours.contains(&dave.public),
        "the rule's own key is ignored, as sops ignores it"
    );
    assert!(ours.contains("key_groups:"), "{ours}");
    let status = ok(
        secrets(&sb, "k12", None, &["status"]),
        "status with a GCP group",
    );
    assert!(status.contains("a.yaml"), "{status}");
    sb.write("g.yaml", PLAIN);
    let out = secrets(&sb, "k3", None, &["encrypt", "-i", "g.yaml"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("gcp_kms keys are not supported"));
    let out = secrets(
        &sb,
        "k12",
        None,
        &["init", "--from-sops", "--name", "sops-1"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("init --from-sops"));

    // A flat file in an environment that wants groups: drift, until updatekeys --rotate.
    std::fs::remove_file(sb.path(".sops.yaml")).unwrap();
    sb.write(
        ".secrets.yaml",
        &format!("members:\n  alice: {a1}\n  carol: {a3}\nenvironments:\n  prod:\n    files: [\"prod/**\"]\n    members: [alice, carol]\n"),
    );
    sb.write("prod/b.yaml", PLAIN);
    ok(
        secrets(&sb, "k13", None, &["encrypt", "-i", "prod/b.yaml"]),
        "encrypt flat",
    );
    sb.write(
        ".secrets.yaml",
        &format!("members:\n  alice: {a1}\n  carol: {a3}\nenvironments:\n  prod:\n    files: [\"prod/**\"]\n    key_groups:\n      - members: [alice]\n      - members: [carol]\n"),
    );
    let out = secrets(&sb, "k13", None, &["status", "--format", "json"]);
    let json = String::from_utf8_lossy(&out.stdout);
    assert!(
        json.contains("the config's key groups") && json.contains("\"drift\": true"),
        "{json}"
    );
}

/// Third review: `member rekey` finished a removal made by hand in the config (the old key
/// dropped where the new one did not take its place), flat or in a group. Now the old key
/// may go only where the new key replaces it; anything else is refused before any file is
/// written.
#[test]
fn member_rekey_does_not_finish_a_removal_made_by_hand() {
    let sb = Sandbox::new();
    let [a1, a2, a3] = three_keys(&sb);
    let head = format!("members:\n  alice: {a1}\n  bob: {a2}\n  carol: {a3}\nenvironments:\n");
    // Flat: prod was [alice, bob], alice taken out by hand.
    sb.write(
        ".secrets.yaml",
        &format!("{head}  prod:\n    files: [\"prod/**\"]\n    members: [alice, bob]\n  dev:\n    files: [\"dev/**\"]\n    key_groups:\n      - members: [alice, bob]\n      - members: [alice, carol]\n"),
    );
    for f in ["prod/a.yaml", "dev/a.yaml"] {
        sb.write(f, PLAIN);
        ok(secrets(&sb, "k12", None, &["encrypt", "-i", f]), "encrypt");
    }
    sb.write(
        ".secrets.yaml",
        &format!("{head}  prod:\n    files: [\"prod/**\"]\n    members: [bob]\n  dev:\n    files: [\"dev/**\"]\n    key_groups:\n      - members: [alice, bob]\n      - members: [alice, carol]\n"),
    );
    let (prod, dev) = (sb.read("prod/a.yaml"), sb.read("dev/a.yaml"));
    let alice2 = sb.key("alice2");
    let out = secrets(
        &sb,
        "k12",
        None,
        &["member", "rekey", "alice", &alice2.public],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("prod/a.yaml"));
    assert_eq!(sb.read("prod/a.yaml"), prod, "refused");
    assert_eq!(
        sb.read("dev/a.yaml"),
        dev,
        "nothing written when one file is refused"
    );

    // Grouped: alice moved out of the first group by hand.
    sb.write(
        ".secrets.yaml",
        &format!("{head}  prod:\n    files: [\"prod/**\"]\n    members: [alice, bob]\n  dev:\n    files: [\"dev/**\"]\n    key_groups:\n      - members: [bob]\n      - members: [alice, carol]\n"),
    );
    let out = secrets(
        &sb,
        "k12",
        None,
        &["member", "rekey", "alice", &alice2.public],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("dev/a.yaml") && err.contains("key group"),
        "{err}"
    );
    assert_eq!((sb.read("prod/a.yaml"), sb.read("dev/a.yaml")), (prod, dev));
}

/// Third review: `env set` moving a grouped file into a flat environment kept the old
/// environment's key service, which then alone opened the file; and the merge driver gave
/// a key service one side had removed (and rotated away) the fresh data key.
#[test]
fn moves_and_merges_drop_a_key_service_the_config_no_longer_names() {
    let (bao, url) = transit();
    let sb = Sandbox::new();
    let [a1, a2, _] = three_keys(&sb);
    sb.write(
        ".secrets.yaml",
        &format!("members:\n  alice: {a1}\n  bob: {a2}\nenvironments:\n  prod:\n    files: [\"prod/**\"]\n    key_groups:\n      - members: [alice]\n      - vault_transit: [{url}]\n  dev:\n    files: [\"dev/**\"]\n    members: [alice, bob]\n"),
    );
    sb.write("prod/a.yaml", PLAIN);
    ok(
        with_vault(&sb, "k1", Some(&bao), &["encrypt", "-i", "prod/a.yaml"]),
        "encrypt",
    );
    // Out of prod (left as it is), then into dev.
    let set = |args: &[&str]| {
        ok(
            with_vault(&sb, "k1", Some(&bao), args),
            &format!("{args:?}"),
        )
    };
    set(&[
        "env",
        "set",
        "prod",
        "--files",
        "prod/other/**",
        "--keep-files",
    ]);
    set(&["env", "set", "dev", "--files", "dev/**", "prod/a.yaml"]);
    let moved = sb.read("prod/a.yaml");
    assert!(
        !moved.contains("hc_vault") && !moved.contains("key_groups"),
        "{moved}"
    );
    ok(
        with_vault(&sb, "k2", None, &["decrypt", "prod/a.yaml"]),
        "bob reads it in dev",
    );
    // The merge driver: one branch drops the Vault key from a flat environment and
    // rotates; the other changes a value. The merge holds no Vault stanza.
    let r = common::repo::Repo::new();
    let flat = |with_vault: bool| {
        let vault = if with_vault {
            format!("    vault_transit: [{url}]\n")
        } else {
            String::new()
        };
        format!(
            "members:\n  alice: {}\nenvironments:\n  prod:\n    files: [\"config/**\"]\n    members: [alice]\n{vault}",
            r.ks.public
        )
    };
    std::fs::write(r.path(".secrets.yaml"), flat(true)).unwrap();
    let run = |args: &[&str]| {
        let mut c = r.ks.sb.std_cmd();
        c.env("SOPS_AGE_KEY_FILE", &r.ks.key)
            .env("VAULT_ADDR", &bao.addr)
            .env("VAULT_TOKEN", &bao.token)
            .args(args);
        ok(c.output().unwrap(), &format!("{args:?}"))
    };
    std::fs::create_dir_all(r.path("config")).unwrap();
    std::fs::write(r.path("config/app.yaml"), PLAIN).unwrap();
    run(&["encrypt", "-i", "config/app.yaml"]);
    run(&["git", "setup"]);
    assert!(r.ks.sb.read("config/app.yaml").contains("hc_vault"));
    r.commit("start", 3, "alice");
    r.git(&["checkout", "-q", "-b", "no-vault"]);
    std::fs::write(r.path(".secrets.yaml"), flat(false)).unwrap();
    run(&["updatekeys", "--rotate"]);
    assert!(!r.ks.sb.read("config/app.yaml").contains("hc_vault"));
    r.commit("vault key dropped", 2, "alice");
    r.git(&["checkout", "-q", "main"]);
    run(&["set", "config/app.yaml", "api_token", "tok-main"]);
    r.commit("main", 1, "alice");
    git_merge(&r.ks.sb, "no-vault", &r.ks.key);
    let merged = r.ks.sb.read("config/app.yaml");
    assert!(!merged.contains("hc_vault"), "{merged}");
    assert!(run(&["decrypt", "config/app.yaml"]).contains("tok-main"));
}

/// `git merge BRANCH` in the sandbox, the merge driver reading `key_file`; must succeed.
#[allow(dead_code)]
fn git_merge(sb: &Sandbox, branch: &str, key_file: &std::path::Path) {
    let out = Command::new("git")
        .args(["-c", "user.name=A", "-c", "user.email=a@example.com"])
        .args(["merge", "-q", "--no-edit", branch])
        .current_dir(sb.dir.path())
        .env("HOME", sb.path("home"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_EDITOR", "true")
        .env("SOPS_AGE_KEY_FILE", key_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git merge: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Fourth review: a file both branches added (no base) kept ours's data key for everyone
/// either side named, so a member one branch removed read a secret made after they left;
/// and a grouped file merged with a branch that rekeyed a member kept ours's groups, locking
/// the new key out.
#[test]
fn merges_without_a_base_or_with_a_rekey_give_each_key_what_the_config_says() {
    let r = common::repo::Repo::new();
    let sb = &r.ks.sb;
    let [a1, a2, a3] = three_keys(sb);
    // Key files stay out of the commits (a checkout would take them away).
    sb.write(
        ".gitignore",
        "home/\nkey.txt\nk1*\nk2*\nk3\n*.key\nnew13\nall\n",
    );
    sb.write(
        ".secrets.yaml",
        &format!("members:\n  alice: {a1}\n  bob: {a2}\n  carol: {a3}\nenvironments:\n  prod:\n    files: [\"config/**\"]\n    members: [alice, bob]\n  groups:\n    files: [\"grouped/**\"]\n    key_groups:\n      - members: [alice]\n      - members: [carol]\n"),
    );
    encrypt_and_commit(&r, "grouped/app.yaml");

    // Both branches add config/new.yaml; one also removes bob.
    r.git(&["checkout", "-q", "-b", "side"]);
    ok(
        secrets(sb, "k13", None, &["member", "remove", "bob"]),
        "member remove bob",
    );
    sb.write("config/new.yaml", "db_password: after-bob-left\n");
    ok(
        secrets(sb, "k13", None, &["encrypt", "-i", "config/new.yaml"]),
        "encrypt new",
    );
    r.commit("bob leaves, a new file", 2, "alice");
    r.git(&["checkout", "-q", "main"]);
    sb.write("config/new.yaml", "api_url: https://example.test\n");
    ok(
        secrets(sb, "k13", None, &["encrypt", "-i", "config/new.yaml"]),
        "encrypt on main",
    );
    r.commit("main adds it too", 2, "alice");
    git_merge(sb, "side", &sb.path("k13"));
    ok(
        secrets(sb, "k13", None, &["decrypt", "config/new.yaml"]),
        "alice reads the merge",
    );
    assert_eq!(
        secrets(sb, "k23", None, &["decrypt", "config/new.yaml"])
            .status
            .code(),
        Some(128),
        "bob reads nothing merged after he left"
    );

    // A branch rekeys alice; main changes the grouped file: the merge takes the new groups.
    r.git(&["checkout", "-q", "-b", "rekey"]);
    let alice2 = sb.key("alice2");
    ok(
        secrets(
            sb,
            "k13",
            None,
            &["member", "rekey", "alice", &alice2.public],
        ),
        "member rekey",
    );
    r.commit("alice rekeyed", 1, "alice");
    r.git(&["checkout", "-q", "main"]);
    ok(
        secrets(
            sb,
            "k13",
            None,
            &["set", "grouped/app.yaml", "api_token", "tok-main"],
        ),
        "set",
    );
    r.commit("main", 1, "alice");
    common::write_private(
        &sb.path("new13"),
        &(std::fs::read_to_string(&alice2.file).unwrap() + &sb.read("k3")),
    );
    common::write_private(&sb.path("all"), &(sb.read("k13") + &sb.read("new13")));
    git_merge(sb, "rekey", &sb.path("all"));
    let plain = ok(
        secrets(sb, "new13", None, &["decrypt", "grouped/app.yaml"]),
        "new key",
    );
    assert!(plain.contains("tok-main"), "{plain}");
}

/// A GCP KMS key in a sops key group (a GCP team's file): kept as written, the group
/// counted through its other keys, so two age groups still open the file, `set` keeps the
/// stanza for sops, and a rotation, which would leave it holding a share of nothing, is
/// refused naming it. The file was refused outright (exit 2), though sops opens it.
#[test]
fn a_gcp_key_in_a_group_is_kept_and_the_other_groups_open_the_file() {
    let sb = Sandbox::new();
    two_of_three_groups(&sb);
    sb.write("a.yaml", PLAIN);
    let enc = sops(&sb, "k12", None, &["encrypt", "a.yaml"]);
    // The third group gets a GCP key beside its age key, as sops writes one.
    let groups: Vec<&str> = enc.split("\n        - ").collect();
    assert_eq!(groups.len(), 4, "{enc}");
    let gcp = "gcp_kms:\n            - resource_id: projects/p/locations/global/keyRings/r/cryptoKeys/k\n              created_at: \"2026-01-01T00:00:00Z\"\n              enc: CiQAbcdef\n          ";
    let with_gcp = format!(
        "{}\n        - {}\n        - {}\n        - {gcp}{}",
        groups[0], groups[1], groups[2], groups[3]
    );
    sb.write("a.yaml", &with_gcp);
    assert!(sops(&sb, "k12", None, &["decrypt", "a.yaml"]).contains("hunter2"));
    let got = ok(
        secrets(&sb, "k12", None, &["get", "a.yaml", "db.password"]),
        "get",
    );
    assert_eq!(got, "hunter2");
    ok(
        secrets(
            &sb,
            "k13",
            None,
            &["set", "a.yaml", "api_token", "kept-gcp"],
        ),
        "set",
    );
    let after = sb.read("a.yaml");
    assert!(after.contains(gcp.trim_end()), "{after}");
    assert!(sops(&sb, "k23", None, &["decrypt", "a.yaml"]).contains("kept-gcp"));
    let out = secrets(&sb, "k12", None, &["rotate", "a.yaml"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("gcp_kms"), "{err}");
    assert_eq!(sb.read("a.yaml"), after);
}
