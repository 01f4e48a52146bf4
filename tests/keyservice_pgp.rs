//! PGP as a key service through the real gpg (keys made in a private temporary GNUPGHOME,
//! tests/common/gpg.rs), with the real sops 3.11 both ways: sops-written `--pgp` files in
//! every format decrypt here with the gpg key alone; ours decrypt with sops with the gpg
//! key alone; `updatekeys` and `rotate` keep the `pgp` stanzas in step; a missing gpg
//! fails with one line that names the key and the variable to set.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::gpg::Keyring;
use common::{sops_bin, Sandbox};
use secrets::crypto::DataKey;
use secrets::keys::service::pgp::{Gpg, PgpKey};
use secrets::keys::service::KeyService;

const PLAIN: &str = "db:\n  password: hunter2\n  port: 5432\napi_token: t0k3n\n";

/// `secrets ARGS` in the sandbox with the keyring as GNUPGHOME and no age key unless `age`
/// names one.
fn secrets(sb: &Sandbox, ring: &Keyring, age: Option<&Path>, args: &[&str]) -> Output {
    let mut c = sb.std_cmd();
    c.env("NO_COLOR", "1")
        .env("HOME", sb.path("home"))
        .env("GNUPGHOME", ring.path())
        .env_remove("SOPS_PGP_FP")
        .env_remove("SOPS_GPG_EXEC");
    if let Some(k) = age {
        c.env("SOPS_AGE_KEY_FILE", k);
    }
    c.args(args).output().unwrap()
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The real sops with the keyring and no age key.
fn sops(sb: &Sandbox, ring: &Keyring, args: &[&str]) -> String {
    let out = Command::new(sops_bin().expect("sops"))
        .env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_PGP_FP")
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .env("GNUPGHOME", ring.path())
        .env("HOME", sb.path("home"))
        .env("XDG_CONFIG_HOME", sb.path("home/.config"))
        .current_dir(sb.dir.path())
        .args(args)
        .output()
        .unwrap();
    ok(out, &format!("sops {args:?}"))
}

/// The `enc` blocks of a YAML file's `pgp` stanzas (their first line after the header).
fn pgp_encs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if l.trim() == "-----BEGIN PGP MESSAGE-----" {
            let body: Vec<&str> = lines
                .by_ref()
                .take_while(|l| l.trim() != "-----END PGP MESSAGE-----")
                .map(str::trim)
                .collect();
            out.push(body.join("\n"));
        }
    }
    out
}

/// The service alone, on `ring`'s keys.
fn gpg_of(ring: &Keyring) -> Gpg {
    Gpg {
        home: Some(ring.path().to_path_buf()),
        ..Gpg::default()
    }
}

#[test]
fn the_service_wraps_and_unwraps_and_the_real_gpg_reads_what_it_wrapped() {
    let ring = Keyring::new();
    let fp = ring.add_key("Alice <alice@example.test>");
    let key = PgpKey::parse(&fp).unwrap();
    let data_key = DataKey::generate();
    let stanza = gpg_of(&ring).wrap(&key, data_key.bytes()).unwrap();
    assert_eq!(stanza.fp, fp);
    assert!(stanza.enc.starts_with("-----BEGIN PGP MESSAGE-----"));
    assert!(stanza.enc.ends_with("-----END PGP MESSAGE-----"));
    assert_eq!(
        gpg_of(&ring).unwrap(&stanza).unwrap().as_slice(),
        data_key.bytes()
    );
    // gpg itself, as sops runs it, gives back the same 32 bytes.
    let mut child = Command::new("gpg")
        .arg("--homedir")
        .arg(ring.path())
        .args(["--batch", "--quiet", "-d"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stanza.enc.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.stdout, data_key.bytes());
}

#[test]
fn another_keyring_cannot_unwrap_and_the_error_names_the_key() {
    let alice = Keyring::new();
    let fp = alice.add_key("Alice <alice@example.test>");
    let key = PgpKey::parse(&fp).unwrap();
    let bob = Keyring::new();
    bob.add_key("Bob <bob@example.test>");
    let stanza = gpg_of(&alice)
        .wrap(&key, DataKey::generate().bytes())
        .unwrap();
    let err = gpg_of(&bob).unwrap(&stanza).unwrap_err().to_string();
    assert!(err.starts_with(&format!("pgp {fp}: ")), "{err}");
    assert!(!err.contains('\n'), "{err}");
    // A key the keyring does not hold cannot be wrapped to.
    let err = gpg_of(&bob)
        .wrap(&key, DataKey::generate().bytes())
        .unwrap_err();
    assert!(err.to_string().starts_with("pgp "), "{err}");
}

#[test]
fn sops_written_pgp_files_decrypt_here_with_the_gpg_key_alone() {
    let ring = Keyring::new();
    let fp = ring.add_key("Ops <ops@example.test>");
    let sb = Sandbox::new();
    for (name, text) in [
        ("a.yaml", PLAIN),
        (
            "a.json",
            "{\"db\": {\"password\": \"hunter2\"}, \"n\": 1}\n",
        ),
        ("a.env", "PASSWORD=hunter2\nPORT=5432\n"),
        ("a.ini", "[db]\npassword = hunter2\n"),
    ] {
        sb.write(name, text);
        let enc = sops(&sb, &ring, &["encrypt", "--pgp", &fp, name]);
        assert!(enc.contains(&fp), "{enc}");
        let file = format!("sops-{name}");
        sb.write(&file, &enc);
        let theirs = sops(&sb, &ring, &["decrypt", &file]);
        let ours = ok(secrets(&sb, &ring, None, &["decrypt", &file]), &file);
        assert_eq!(ours, theirs, "{name}");
    }
    // `set` keeps sops's pgp stanza byte for byte and sops still opens the file.
    let before = sb.read("sops-a.yaml");
    ok(
        secrets(
            &sb,
            &ring,
            None,
            &["set", "sops-a.yaml", "api_token", "new"],
        ),
        "set",
    );
    let after = sb.read("sops-a.yaml");
    assert_eq!(pgp_encs(&before), pgp_encs(&after));
    assert!(sops(&sb, &ring, &["decrypt", "sops-a.yaml"]).contains("api_token: new"));
}

#[test]
fn ours_with_pgp_decrypts_with_sops_and_here_with_the_gpg_key_alone() {
    let ring = Keyring::new();
    let fp = ring.add_key("Ops <ops@example.test>");
    let sb = Sandbox::new();
    let alice = sb.key("alice");
    sb.write("a.yaml", PLAIN);
    sb.write("a.env", "PASSWORD=hunter2\n");
    for file in ["a.yaml", "a.env"] {
        ok(
            secrets(
                &sb,
                &ring,
                None,
                &["encrypt", "-i", "--age", &alice.public, "--pgp", &fp, file],
            ),
            "encrypt",
        );
        let text = sb.read(file);
        assert!(!text.contains("hunter2"));
        // sops writes YAML with 4 spaces, we keep the file's 2.
        let theirs = sops(&sb, &ring, &["decrypt", file]).replace("    ", "  ");
        assert!(theirs.contains("hunter2"), "{theirs}");
        // gpg alone, and age alone with a keyring that cannot open the pgp stanza.
        assert_eq!(
            ok(secrets(&sb, &ring, None, &["decrypt", file]), file),
            theirs
        );
        let empty = Keyring::new();
        assert_eq!(
            ok(
                secrets(&sb, &empty, Some(&alice.file), &["decrypt", file]),
                file
            ),
            theirs
        );
    }
    // The stanza is laid out as sops 3.11 writes it.
    let text = sb.read("a.yaml");
    let at = text.find("pgp:").expect("a pgp list");
    let stanza = &text[at..];
    let (c, e, f) = (
        stanza.find("created_at:").unwrap(),
        stanza.find("enc: |").unwrap(),
        stanza.find(&format!("fp: {fp}")).unwrap(),
    );
    assert!(c < e && e < f, "{stanza}");
    // $SOPS_PGP_FP stands for --pgp, as for sops.
    sb.write("b.yaml", PLAIN);
    let mut c = sb.std_cmd();
    c.env("GNUPGHOME", ring.path()).env("SOPS_PGP_FP", &fp);
    ok(
        c.args(["encrypt", "-i", "b.yaml"]).output().unwrap(),
        "encrypt",
    );
    assert_eq!(pgp_encs(&sb.read("b.yaml")).len(), 1);
}

#[test]
fn updatekeys_and_rotate_keep_the_pgp_stanzas_in_step_for_sops() {
    let ring = Keyring::new();
    let fp = ring.add_key("Ops <ops@example.test>");
    let sb = Sandbox::new();
    let alice = sb.key("alice");
    sb.write(
        ".secrets.yaml",
        &format!(
            "members:\n  alice: {}\nenvironments:\n  prod:\n    files:\n      - prod/**\n    members:\n      - alice\n    pgp:\n      - {fp}\n",
            alice.public
        ),
    );
    sb.write("prod/app.yaml", PLAIN);
    ok(
        secrets(
            &sb,
            &ring,
            None,
            &["encrypt", "-i", "--age", &alice.public, "prod/app.yaml"],
        ),
        "encrypt",
    );
    assert!(pgp_encs(&sb.read("prod/app.yaml")).is_empty());
    let status = ok(
        secrets(&sb, &ring, Some(&alice.file), &["status"]),
        "status",
    );
    assert!(status.contains(&format!("missing pgp {fp}")), "{status}");

    ok(
        secrets(&sb, &ring, Some(&alice.file), &["updatekeys"]),
        "updatekeys",
    );
    let once = sb.read("prod/app.yaml");
    assert_eq!(pgp_encs(&once).len(), 1);
    assert_eq!(
        sops(&sb, &ring, &["decrypt", "prod/app.yaml"]).replace("    ", "  "),
        PLAIN
    );
    assert_eq!(
        ok(
            secrets(&sb, &ring, None, &["decrypt", "prod/app.yaml"]),
            "decrypt"
        ),
        PLAIN
    );

    // A rotation wraps the new data key for gpg again; sops and gpg alone still open it.
    ok(
        secrets(&sb, &ring, Some(&alice.file), &["rotate", "prod/app.yaml"]),
        "rotate",
    );
    let rotated = sb.read("prod/app.yaml");
    assert_eq!(pgp_encs(&rotated).len(), 1);
    assert_ne!(pgp_encs(&rotated), pgp_encs(&once));
    assert_eq!(
        sops(&sb, &ring, &["decrypt", "prod/app.yaml"]).replace("    ", "  "),
        PLAIN
    );

    // sops's own rotation of our file keeps it open here through gpg.
    sops(&sb, &ring, &["rotate", "-i", "prod/app.yaml"]);
    assert_eq!(
        ok(
            secrets(&sb, &ring, None, &["decrypt", "prod/app.yaml"]),
            "decrypt"
        )
        .replace("    ", "  "),
        PLAIN
    );
}

#[test]
fn a_sops_yaml_pgp_rule_and_env_add_pgp_give_the_stanza() {
    let ring = Keyring::new();
    let fp = ring.add_key("Ops <ops@example.test>");
    let sb = Sandbox::new();
    let alice = sb.key("alice");
    sb.write(
        ".sops.yaml",
        &format!(
            "creation_rules:\n  - path_regex: ops/\n    age: {}\n    pgp: \"{fp}\"\n",
            alice.public
        ),
    );
    sb.write("ops/a.yaml", PLAIN);
    ok(
        secrets(&sb, &ring, None, &["encrypt", "-i", "ops/a.yaml"]),
        "encrypt by .sops.yaml",
    );
    assert_eq!(pgp_encs(&sb.read("ops/a.yaml")).len(), 1);
    assert_eq!(
        sops(&sb, &ring, &["decrypt", "ops/a.yaml"]).replace("    ", "  "),
        PLAIN
    );

    let team = Sandbox::new();
    let bob = team.key("bob");
    let run = |args: &[&str]| ok(secrets(&team, &ring, Some(&bob.file), args), "secrets");
    team.write(
        ".secrets.yaml",
        &format!("members:\n  bob: {}\nenvironments: {{}}\n", bob.public),
    );
    run(&[
        "env", "add", "prod", "--files", "prod/**", "--member", "bob", "--pgp", &fp,
    ]);
    let config = team.read(".secrets.yaml");
    assert!(config.contains(&fp), "{config}");
    team.write("prod/app.yaml", PLAIN);
    run(&["encrypt", "-i", "prod/app.yaml"]);
    assert_eq!(pgp_encs(&team.read("prod/app.yaml")).len(), 1);
    assert_eq!(
        sops(&team, &ring, &["decrypt", "prod/app.yaml"]).replace("    ", "  "),
        PLAIN
    );
}

#[test]
fn without_gpg_or_its_key_the_error_is_one_line_naming_the_key() {
    let ring = Keyring::new();
    let fp = ring.add_key("Ops <ops@example.test>");
    let sb = Sandbox::new();
    sb.write("a.yaml", PLAIN);
    sops_encrypt_to(&sb, &ring, &fp, "a.yaml");

    // No gpg at all.
    let mut c = sb.std_cmd();
    c.env("GNUPGHOME", ring.path())
        .env("SOPS_GPG_EXEC", "/nonexistent/gpg");
    let out = c.args(["decrypt", "a.yaml"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("pgp {fp}")) && err.contains("SOPS_GPG_EXEC"),
        "{err}"
    );
    assert!(!err.contains("hunter2") && out.stdout.is_empty());

    // A keyring without the secret key.
    let other = Keyring::new();
    let out = secrets(&sb, &other, None, &["decrypt", "a.yaml"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("pgp {fp}")), "{err}");
    assert!(!err.contains("BEGIN PGP MESSAGE"), "{err}");
}

fn sops_encrypt_to(sb: &Sandbox, ring: &Keyring, fp: &str, file: &str) {
    let enc = sops(sb, ring, &["encrypt", "--pgp", fp, file]);
    sb.write(file, &enc);
}

/// `member remove` and `env revoke` rotate the data key of the files the member could read:
/// the new key is wrapped for the environment's PGP key too, so gpg alone (here and with
/// sops) still opens every file, and the removed member's age key opens none.
#[test]
fn member_remove_and_env_revoke_keep_the_pgp_stanza_working() {
    let ring = Keyring::new();
    let fp = ring.add_key("Ops <ops@example.test>");
    let sb = Sandbox::new();
    let alice = sb.key("alice");
    let bob = sb.key("bob");
    let carol = sb.key("carol");
    sb.write(
        ".secrets.yaml",
        &format!(
            "members:\n  alice: {}\n  bob: {}\n  carol: {}\nenvironments:\n  prod:\n    files:\n      - prod/**\n    members: [alice, bob, carol]\n    pgp:\n      - {fp}\n",
            alice.public, bob.public, carol.public
        ),
    );
    sb.write("prod/app.yaml", PLAIN);
    ok(
        secrets(
            &sb,
            &ring,
            Some(&alice.file),
            &["encrypt", "-i", "prod/app.yaml"],
        ),
        "encrypt",
    );
    let mut last = pgp_encs(&sb.read("prod/app.yaml"));
    assert_eq!(last.len(), 1);
    let opens = |key: Option<&Path>, ring: &Keyring| {
        secrets(&sb, ring, key, &["decrypt", "prod/app.yaml"])
            .status
            .success()
    };
    let empty = Keyring::new();
    for (what, args) in [
        ("member remove", vec!["member", "remove", "bob"]),
        ("env revoke", vec!["env", "revoke", "prod", "carol"]),
    ] {
        ok(secrets(&sb, &ring, Some(&alice.file), &args), what);
        let encs = pgp_encs(&sb.read("prod/app.yaml"));
        assert_eq!(encs.len(), 1, "{what}");
        assert_ne!(
            encs, last,
            "{what}: the data key was rotated, its pgp stanza too"
        );
        last = encs;
        assert_eq!(
            ok(
                secrets(&sb, &ring, None, &["decrypt", "prod/app.yaml"]),
                what
            ),
            PLAIN
        );
        assert_eq!(
            sops(&sb, &ring, &["decrypt", "prod/app.yaml"]).replace("    ", "  "),
            PLAIN
        );
    }
    assert!(opens(Some(&alice.file), &empty));
    assert!(!opens(Some(&bob.file), &empty), "bob was removed");
    assert!(!opens(Some(&carol.file), &empty), "carol was revoked");
}

/// The config names the key in lower case (`env add --pgp`, as gpg users paste it), sops
/// wrote the file's `fp:` in upper case: one reader, no drift, and `updatekeys` changes
/// nothing (it refused, as if the key were being removed).
#[test]
fn a_fingerprint_written_in_another_case_is_the_same_reader() {
    let ring = Keyring::new();
    let fp = ring.add_key("Ops <ops@example.test>");
    let sb = Sandbox::new();
    let bob = sb.key("bob");
    let run = |args: &[&str]| ok(secrets(&sb, &ring, Some(&bob.file), args), "secrets");
    sb.write(
        ".secrets.yaml",
        &format!("members:\n  bob: {}\nenvironments: {{}}\n", bob.public),
    );
    let lower = fp.to_ascii_lowercase();
    run(&[
        "env", "add", "prod", "--files", "prod/**", "--member", "bob", "--pgp", &lower,
    ]);
    sb.write("prod/app.yaml", PLAIN);
    let enc = sops(
        &sb,
        &ring,
        &[
            "encrypt",
            "--age",
            &bob.public,
            "--pgp",
            &fp.to_ascii_uppercase(),
            "prod/app.yaml",
        ],
    );
    sb.write("prod/app.yaml", &enc);
    let before = sb.read("prod/app.yaml");
    let out = run(&["updatekeys"]);
    assert!(out.contains("unchanged"), "{out}");
    assert_eq!(sb.read("prod/app.yaml"), before);
    let status = run(&["status"]);
    assert!(!status.contains("missing pgp"), "{status}");
}
