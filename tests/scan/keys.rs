//! Real key material, made at test time by `ssh-keygen`, `openssl`, `age-keygen` and our own
//! `keygen`, must be reported by `scan`, `scan --staged` and the installed hook (issue 11:
//! every OpenSSH key was missed, because its body holds runs of `A`; a one-line PKCS#8 body
//! and a PEM inside a JSON string were missed too), and a PKCS#12 store holding a key by its
//! name and content, as gitleaks's `pkcs12-file` (in `--history` too), but not a truststore of
//! certificates only. Random base64 could not catch that.
//! A missing tool fails the test (`.ci/run` installs them): a pass without keys would
//! have tested nothing.

use super::common::{on_path, oracle};
use super::{bin, git, git_ok, install_hook, repo, scan};
use std::path::Path;
use std::process::Command;

fn run(prog: &Path, args: &[&str], dir: &Path) -> Vec<u8> {
    let out = Command::new(prog)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        prog.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The files made, with the rule each must be reported by.
fn make_keys(dir: &Path) -> Vec<(&'static str, &'static str)> {
    let ssh_keygen = oracle("ssh-keygen", on_path("ssh-keygen")).unwrap();
    let openssl = oracle("openssl", on_path("openssl")).unwrap();
    let age_keygen = oracle("age-keygen", on_path("age-keygen")).unwrap();
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    for (t, f) in [
        ("ed25519", "keys/id_ed25519"),
        ("ecdsa", "keys/id_ecdsa"),
        ("rsa", "keys/id_rsa"),
    ] {
        // The default (OpenSSH) format, no passphrase: what `ssh-keygen -t X` leaves.
        run(
            &ssh_keygen,
            &["-q", "-t", t, "-N", "", "-C", "dev@laptop", "-f", f],
            dir,
        );
    }
    // PKCS#8 ed25519: a body of one 64-character line.
    run(
        &openssl,
        &[
            "genpkey",
            "-algorithm",
            "ed25519",
            "-out",
            "keys/tls-ed25519.pem",
        ],
        dir,
    );
    let rsa = run(
        &openssl,
        &[
            "genpkey",
            "-algorithm",
            "rsa",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ],
        dir,
    );
    // A service-account style JSON: the PEM in a string, newlines as `\n` escapes; and
    // the same key under another name (a Terraform variable file).
    let pem = String::from_utf8(rsa).unwrap();
    let sa = serde_json::json!({
        "type": "service_account",
        "project_id": "demo-project",
        "private_key_id": "0f3a0c1e",
        "private_key": pem,
        "client_email": "ci@demo-project.iam.gserviceaccount.com",
    });
    std::fs::write(
        dir.join("keys/sa.json"),
        serde_json::to_string_pretty(&sa).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("keys/tls.auto.tfvars.json"),
        serde_json::to_string(&serde_json::json!({ "tls_key": pem })).unwrap(),
    )
    .unwrap();
    // The same key in a JSON string inside a JSON string (`\\n` breaks), and split over
    // Python string literals joined by juxtaposition.
    let inner = serde_json::to_string(&serde_json::json!({ "private_key": pem })).unwrap();
    std::fs::write(
        dir.join("keys/nested.json"),
        serde_json::to_string(&serde_json::json!({ "credentials": inner })).unwrap(),
    )
    .unwrap();
    let pieces: String = pem.lines().map(|l| format!("    \"{l}\\n\"\n")).collect();
    std::fs::write(dir.join("keys/tls_key.py"), format!("KEY = (\n{pieces})\n")).unwrap();
    // A PKCS#12 store (binary DER): a key and its certificate, as a TLS client uses.
    std::fs::write(dir.join("cert-key.pem"), &pem).unwrap();
    run(
        &openssl,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "cert-key.pem",
            "-out",
            "cert.pem",
            "-subj",
            "/CN=dev",
            "-days",
            "1",
        ],
        dir,
    );
    run(
        &openssl,
        &[
            "pkcs12",
            "-export",
            "-inkey",
            "cert-key.pem",
            "-in",
            "cert.pem",
            "-out",
            "keys/client.p12",
            "-passout",
            "pass:",
        ],
        dir,
    );
    // A truststore: the same certificate, no key. Not a secret, and not reported.
    run(
        &openssl,
        &[
            "pkcs12",
            "-export",
            "-nokeys",
            "-in",
            "cert.pem",
            "-out",
            TRUSTSTORE,
            "-passout",
            "pass:changeit",
        ],
        dir,
    );
    std::fs::remove_file(dir.join("cert-key.pem")).unwrap();
    std::fs::remove_file(dir.join("cert.pem")).unwrap();
    run(&age_keygen, &["-o", "keys/age.txt"], dir);
    run(&bin(), &["keygen", "-q", "-o", "keys/ours.txt"], dir);
    vec![
        ("keys/id_ed25519", "private-key"),
        ("keys/id_ecdsa", "private-key"),
        ("keys/id_rsa", "private-key"),
        ("keys/tls-ed25519.pem", "private-key"),
        ("keys/sa.json", "gcp-service-account-key"),
        ("keys/tls.auto.tfvars.json", "private-key"),
        ("keys/nested.json", "private-key"),
        ("keys/tls_key.py", "private-key"),
        ("keys/client.p12", "pkcs12-file"),
        ("keys/age.txt", "age-secret-key"),
        ("keys/ours.txt", "age-secret-key"),
    ]
}

/// A PKCS#12 store of certificates only, made next to the keys.
const TRUSTSTORE: &str = "keys/truststore.p12";

fn assert_all_reported(out: &str, want: &[(&str, &str)], how: &str) {
    for (file, rule) in want {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("{file}:")) && l.contains(rule)),
            "{how}: {file} not reported as {rule}:\n{out}"
        );
    }
    assert!(
        !out.contains(TRUSTSTORE),
        "{how}: a truststore was reported:\n{out}"
    );
}

#[test]
fn real_keys_are_found_by_scan_staged_and_the_hook() {
    let d = repo();
    let want = make_keys(d.path());
    // The public halves are not secrets.
    std::fs::remove_file(d.path().join("keys/id_rsa.pub")).ok();

    let out = scan(d.path()).arg("--no-known").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_all_reported(&text, &want, "scan");
    // No body line of any key is printed.
    let body = std::fs::read_to_string(d.path().join("keys/id_ed25519")).unwrap();
    for line in body.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!text.contains(line), "scan printed key material: {line}");
    }
    let ours = std::fs::read_to_string(d.path().join("keys/ours.txt")).unwrap();
    let identity = ours
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap();
    assert!(!text.contains(identity));

    git_ok(d.path(), &["add", "keys"]);
    let out = scan(d.path()).arg("--staged").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_all_reported(&String::from_utf8_lossy(&out.stdout), &want, "--staged");

    install_hook(d.path());
    let out = git(d.path(), &["commit", "-q", "-m", "add keys"]);
    assert!(!out.status.success(), "the hook let the keys through");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_all_reported(&all, &want, "hook");

    // Committed past the hook, each is found in the history: the PKCS#12 store, a binary
    // blob that is not diffed, by its name and content where the commit creates it.
    git_ok(d.path(), &["commit", "-q", "--no-verify", "-m", "add keys"]);
    let out = scan(d.path())
        .args(["--history", "--no-known"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_all_reported(&String::from_utf8_lossy(&out.stdout), &want, "--history");
}

/// The public halves, and a key that is all placeholder, stay quiet.
#[test]
fn public_keys_and_placeholder_keys_do_not_fire() {
    let d = repo();
    let ssh_keygen = oracle("ssh-keygen", on_path("ssh-keygen")).unwrap();
    run(
        &ssh_keygen,
        &["-q", "-t", "ed25519", "-N", "", "-f", "id"],
        d.path(),
    );
    std::fs::remove_file(d.path().join("id")).unwrap();
    std::fs::write(
        d.path().join("doc.md"),
        "-----BEGIN OPENSSH PRIVATE KEY-----\n\
         AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n\
         -----END OPENSSH PRIVATE KEY-----\n\
         -----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let out = scan(d.path()).arg("--no-known").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A key store found by `--history` wherever a commit puts a key in it: a truststore that
/// a later commit replaces with a keyed store at the same path, and a store whose key bag
/// sits past a long certificate chain (openssl writes the certificates first).
#[test]
fn history_finds_a_key_store_changed_or_large() {
    let d = repo();
    let dir = d.path();
    let openssl = oracle("openssl", on_path("openssl")).unwrap();
    let req = [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "k.pem",
        "-out",
        "c.pem",
        "-subj",
        "/CN=dev",
        "-days",
        "1",
    ];
    run(&openssl, &req, dir);
    let export = |extra: &[&str], out: &str| {
        let mut args = vec![
            "pkcs12", "-export", "-in", "c.pem", "-out", out, "-passout", "pass:x",
        ];
        args.extend_from_slice(extra);
        run(&openssl, &args, dir);
    };
    export(&["-nokeys"], "store.p12");
    git_ok(dir, &["add", "store.p12"]);
    git_ok(dir, &["commit", "-q", "-m", "truststore"]);
    export(&["-inkey", "k.pem"], "store.p12");
    git_ok(dir, &["commit", "-q", "-a", "-m", "a key in the store"]);
    // A chain of 700 certificates before the key bag: about 290 KB.
    let chain = std::fs::read(dir.join("c.pem")).unwrap().repeat(700);
    std::fs::write(dir.join("chain.pem"), chain).unwrap();
    export(&["-inkey", "k.pem", "-certfile", "chain.pem"], "big.p12");
    assert!(std::fs::metadata(dir.join("big.p12")).unwrap().len() > 256 << 10);
    git_ok(dir, &["add", "big.p12"]);
    git_ok(dir, &["commit", "-q", "-m", "a large store"]);

    let out = scan(dir)
        .args(["--history", "--no-known", "--format", "json"])
        .output()
        .unwrap();
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut stores: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "pkcs12-file")
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    stores.sort();
    // Once each: the truststore's commit gives nothing, the commit adding the key does.
    assert_eq!(stores, ["big.p12", "store.p12"], "{found}");
}
