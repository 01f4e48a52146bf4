//! Interop in both directions with real sops-format files and real tools: the sops-written
//! fixtures decrypt here; files written here decrypt with the real `sops` binary (which
//! checks the MAC) and with the npm `sops-age` decoder; files `sops` writes decrypt here;
//! our wrapped data keys open with the `age` CLI.

mod common;

// Issue 9, format fidelity: one module per area, each a file under tests/interop/.
#[path = "interop/dotenv_meaning.rs"]
mod dotenv_meaning;
#[path = "interop/generated.rs"]
mod generated;
#[path = "interop/numbers_and_keys.rs"]
mod numbers_and_keys;
#[path = "interop/yaml_fidelity.rs"]
mod yaml_fidelity;
#[path = "interop/yaml_scalars.rs"]
mod yaml_scalars;

use common::*;
use serde_json::Value;
use std::process::Command;

/// Numbers compared as f64 (sops 3.9 stored ints as floats).
fn norm(v: Value) -> Value {
    match v {
        Value::Number(n) => serde_json::json!(n.as_f64().unwrap()),
        Value::Array(a) => Value::Array(a.into_iter().map(norm).collect()),
        // sops always writes an INI `DEFAULT` section, empty when unused; we leave it out.
        Value::Object(o) => Value::Object(
            o.into_iter()
                .filter(|(k, v)| !(k == "DEFAULT" && v.as_object().is_some_and(|m| m.is_empty())))
                .map(|(k, v)| (k, norm(v)))
                .collect(),
        ),
        other => other,
    }
}

fn decrypt_json(sb: &Sandbox, key: &std::path::Path, file: &std::path::Path) -> Value {
    let out = sb
        .cmd()
        .arg("decrypt")
        .arg("-I")
        .arg(key)
        .arg("--output-type")
        .arg("json")
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "decrypt {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The sops 3.11 files of `testdata/sops-fixtures/` (its `generate.sh` wrote them with the
/// real sops and committed keys): each is encrypted for two age keys and an ssh-ed25519 key,
/// each key opens each file here, and what we read is what sops read (`expected/`).
#[test]
fn sops_written_fixtures_decrypt() {
    let sb = Sandbox::new();
    let dir = sops_fixtures();
    let keys =
        ["key-age-1.txt", "key-age-2.txt", "key-ssh-ed25519"].map(|k| fixture_key(&sb, &dir, k));
    for key in &keys {
        for ext in ["yaml", "json", "env", "ini"] {
            let want: Value = serde_json::from_str(
                &std::fs::read_to_string(dir.join(format!("expected/secret.{ext}.json"))).unwrap(),
            )
            .unwrap();
            let file = dir.join(format!("secret.enc.{ext}"));
            assert_eq!(
                norm(decrypt_json(&sb, key, &file)),
                norm(want),
                "{} with {}",
                file.display(),
                key.display()
            );
        }
        let bin = sb
            .cmd()
            .args(["decrypt", "-I"])
            .arg(key)
            .args(["--input-type", "binary"])
            .arg(dir.join("blob.enc.bin"))
            .output()
            .unwrap();
        assert!(
            bin.status.success(),
            "{}",
            String::from_utf8_lossy(&bin.stderr)
        );
        assert_eq!(
            bin.stdout,
            std::fs::read(dir.join("plain/blob.bin")).unwrap()
        );
    }
    // In the file's own format, byte for byte what sops prints (comments where sops puts them).
    for (ext, key) in ["yaml", "json", "env", "ini"]
        .into_iter()
        .zip(keys.iter().cycle())
    {
        let out = sb
            .cmd()
            .args(["decrypt", "-I"])
            .arg(key)
            .arg(dir.join(format!("secret.enc.{ext}")))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{ext}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            std::fs::read_to_string(dir.join(format!("expected/secret.{ext}"))).unwrap(),
            "secret.enc.{ext}"
        );
    }
}

/// Files written by sops 3.7.1, 3.8.1 and 3.9.2 (copied from public repositories into
/// `../shared/sops-fixtures/`; they cannot be regenerated with the sops `.ci/run` installs).
#[test]
#[ignore = "needs ../shared/sops-fixtures (files of sops 3.7-3.9); .ci/run runs it when present"]
fn older_sops_written_fixtures_decrypt() {
    let sb = Sandbox::new();
    let dir = shared_fixtures();
    let key = fixture_key(&sb, &dir, "key-sops-age.txt");
    let mut want: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("secret.json")).unwrap()).unwrap();
    assert_eq!(
        norm(decrypt_json(&sb, &key, &dir.join("secret.enc.json"))),
        norm(want.clone())
    );
    want.as_object_mut().unwrap().remove("0word");
    assert_eq!(
        norm(decrypt_json(&sb, &key, &dir.join("secret.enc.yaml"))),
        norm(want)
    );

    let env = sb
        .cmd()
        .args(["decrypt", "-I"])
        .arg(&key)
        .arg(dir.join("secret.enc.env"))
        .output()
        .unwrap();
    assert!(
        env.status.success(),
        "{}",
        String::from_utf8_lossy(&env.stderr)
    );
    assert_eq!(
        String::from_utf8(env.stdout).unwrap(),
        "secret=this is a secret\nanother_secret=7\n"
    );

    let key2 = fixture_key(&sb, &dir, "key-sops.txt");
    let ini = decrypt_json(&sb, &key2, &dir.join("example.ini"));
    assert_eq!(ini["name"]["lastName"], "Smith");
    assert_eq!(ini["address"]["postalCode"], "10021-3100");
    assert_eq!(ini["not private"]["notsecret_unencrypted"], "hi there!");

    let txt = sb
        .cmd()
        .args(["decrypt", "-I"])
        .arg(&key2)
        .arg("--input-type")
        .arg("binary")
        .arg(dir.join("example.txt"))
        .output()
        .unwrap();
    assert!(
        txt.status.success(),
        "{}",
        String::from_utf8_lossy(&txt.stderr)
    );
    assert!(String::from_utf8(txt.stdout)
        .unwrap()
        .starts_with("Welcome to SOPS!\n\nSOPS is a manager"));
}

/// 3.10-3.12 omit empty key lists (the committed 3.11 files); 3.13+ sorts metadata keys,
/// which is what we write (every other test reads our files back).
#[test]
fn sops_3_11_metadata_layout_reads() {
    let sb = Sandbox::new();
    let dir = sops_fixtures();
    let text = std::fs::read_to_string(dir.join("secret.enc.yaml")).unwrap();
    assert!(text.contains("version: 3.11.0") && !text.contains(": []"));
    let key = fixture_key(&sb, &dir, "key-age-1.txt");
    let v = decrypt_json(&sb, &key, &dir.join("secret.enc.yaml"));
    assert_eq!(v["app"]["db"]["hosts"][4]["name"], "replica");
}

/// ≤3.9 writes empty key lists (the 3.8.1 file of `../shared`).
#[test]
#[ignore = "needs ../shared/sops-fixtures (files of sops 3.7-3.9); .ci/run runs it when present"]
fn older_sops_metadata_layout_reads() {
    let sb = Sandbox::new();
    let dir = shared_fixtures();
    let key = fixture_key(&sb, &dir, "key-sops-age.txt");
    let p = dir.join("secret.enc.yaml");
    assert!(std::fs::read_to_string(&p).unwrap().contains("kms: []"));
    assert_eq!(decrypt_json(&sb, &key, &p)["complex"]["array"][2], "three");
}

const PLAIN_YAML: &str = "# top comment\ndb:\n  user: admin\n  password: \"p@ss: word\"\n  port: 5432\nlist:\n  - a\n  - 2.5\nflag: true\nmulti: |\n  line1\n  line2\npublic_unencrypted: visible\n";
const PLAIN_JSON: &str = "{\n  \"db\": {\"user\": \"admin\", \"port\": 5432, \"ratio\": 0.25},\n  \"list\": [\"a\", true, null],\n  \"token\": \"x\\ny\"\n}\n";
const PLAIN_ENV: &str = "# app settings\nDB_USER=admin\nDB_PASS=s3cr3t value\n\nMULTI=\"a\\nb\"\n";
const PLAIN_INI: &str = "[db]\nuser = admin\npassword = s3cr3t\n\n[api]\ntoken = abc123\n";

fn sops(sb: &Sandbox, key: &Key) -> Option<Command> {
    let bin = sops_bin()?;
    let mut c = Command::new(bin);
    c.env("SOPS_AGE_KEY_FILE", &key.file)
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .env("HOME", sb.path("home"))
        .current_dir(sb.dir.path());
    Some(c)
}

fn ours_decrypt(sb: &Sandbox, key: &Key, file: &str, extra: &[&str]) -> Vec<u8> {
    let out = sb
        .cmd()
        .args(["decrypt", "-I"])
        .arg(&key.file)
        .args(extra)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{file}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn real_sops_decrypts_what_we_write() {
    let sb = Sandbox::new();
    let key = sb.key("alice");
    let Some(_) = sops(&sb, &key) else { return };
    for (name, text) in [
        ("a.yaml", PLAIN_YAML),
        ("a.json", PLAIN_JSON),
        ("a.env", PLAIN_ENV),
        ("a.ini", PLAIN_INI),
        ("a.bin", "binary\u{0}ish\ncontent\n"),
    ] {
        sb.write(name, text);
        sb.cmd()
            .args(["encrypt", "-i", "--age", &key.public, name])
            .assert()
            .success();
        let ours = ours_decrypt(&sb, &key, name, &["--output-type", "json"]);
        let out = sops(&sb, &key)
            .unwrap()
            .args(["decrypt", "--output-type", "json", name])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sops decrypt {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if name == "a.bin" {
            let raw = sops(&sb, &key)
                .unwrap()
                .args(["decrypt", name])
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(raw.stdout).unwrap(), text);
            continue;
        }
        let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            norm(theirs),
            norm(serde_json::from_slice(&ours).unwrap()),
            "{name}"
        );
    }
    // The value with a clear suffix stays readable in the file; the secret does not.
    let enc = sb.read("a.yaml");
    assert!(enc.contains("public_unencrypted: visible"));
    assert!(!enc.contains("admin") && !enc.contains("p@ss"));
}

#[test]
fn we_decrypt_what_real_sops_writes() {
    let sb = Sandbox::new();
    let key = sb.key("bob");
    let Some(_) = sops(&sb, &key) else { return };
    for (name, text) in [
        ("b.yaml", PLAIN_YAML),
        ("b.json", PLAIN_JSON),
        ("b.ini", PLAIN_INI),
    ] {
        sb.write(name, text);
        let out = sops(&sb, &key)
            .unwrap()
            .args(["encrypt", "-i", "--age", &key.public, name])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sops encrypt {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs = sops(&sb, &key)
            .unwrap()
            .args(["decrypt", "--output-type", "json", name])
            .output()
            .unwrap();
        let ours = ours_decrypt(&sb, &key, name, &["--output-type", "json"]);
        assert_eq!(
            norm(serde_json::from_slice(&theirs.stdout).unwrap()),
            norm(serde_json::from_slice(&ours).unwrap()),
            "{name}"
        );
    }
    // sops's dotenv store takes values verbatim: compare its own plaintext output.
    sb.write("b.env", "A=1\nB=two words\n");
    assert!(sops(&sb, &key)
        .unwrap()
        .args(["encrypt", "-i", "--age", &key.public, "b.env"])
        .status()
        .unwrap()
        .success());
    assert_eq!(ours_decrypt(&sb, &key, "b.env", &[]), b"A=1\nB=two words\n");
}

#[test]
fn sops_edits_keep_our_files_valid_and_we_keep_theirs() {
    // sops `set` on our file, then our `set` on the result: both verify each other's MAC.
    let sb = Sandbox::new();
    let key = sb.key("carol");
    let Some(_) = sops(&sb, &key) else { return };
    sb.write("c.yaml", "a: 1\nb: two\n");
    sb.cmd()
        .args(["encrypt", "-i", "--age", &key.public, "c.yaml"])
        .assert()
        .success();
    let st = sops(&sb, &key)
        .unwrap()
        .args(["set", "c.yaml", "[\"b\"]", "\"three\""])
        .status()
        .unwrap();
    assert!(st.success());
    sb.cmd()
        .args(["set", "-I"])
        .arg(&key.file)
        .args(["c.yaml", "a", "new"])
        .assert()
        .success();
    let out = sops(&sb, &key)
        .unwrap()
        .args(["decrypt", "c.yaml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("a: new") && text.contains("b: three"),
        "{text}"
    );
}

#[test]
fn npm_sops_age_decodes_what_we_write() {
    let sb = Sandbox::new();
    let key = sb.key("dave");
    let Some(js) = sops_age_js() else { return };
    let secret = std::fs::read_to_string(&key.file)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string();
    for (name, text) in [
        ("d.yaml", PLAIN_YAML),
        ("d.json", PLAIN_JSON),
        ("d.env", "A=1\nB=two words\n"),
    ] {
        sb.write(name, text);
        sb.cmd()
            .args(["encrypt", "-i", "--age", &key.public, name])
            .assert()
            .success();
        let script = format!(
            "const {{ decryptSops }} = require({js:?}); decryptSops({{ path: {p:?}, secretKey: process.env.K }}).then(v => console.log(JSON.stringify(v))).catch(e => {{ console.error(String(e)); process.exit(1) }});",
            js = js.to_str().unwrap(),
            p = sb.path(name).to_str().unwrap()
        );
        let out = Command::new("node")
            .arg("-e")
            .arg(&script)
            .env("K", &secret)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sops-age {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
        if name == "d.env" {
            assert_eq!(theirs["A"], "1");
            assert_eq!(theirs["B"], "two words");
            continue;
        }
        let ours: Value =
            serde_json::from_slice(&ours_decrypt(&sb, &key, name, &["--output-type", "json"]))
                .unwrap();
        assert_eq!(norm(theirs), norm(ours), "{name}");
    }
}

#[test]
fn age_cli_unwraps_our_data_key() {
    let sb = Sandbox::new();
    let key = sb.key("erin");
    let Some(age) = age_bin() else { return };
    sb.write("e.yaml", "k: v\n");
    sb.cmd()
        .args(["encrypt", "-i", "--age", &key.public, "e.yaml"])
        .assert()
        .success();
    let text = sb.read("e.yaml");
    let start = text.find("-----BEGIN AGE ENCRYPTED FILE-----").unwrap();
    let end = text.find("-----END AGE ENCRYPTED FILE-----").unwrap()
        + "-----END AGE ENCRYPTED FILE-----".len();
    let armored: String = text[start..end]
        .lines()
        .map(|l| format!("{}\n", l.trim()))
        .collect();
    let stanza = sb.write("stanza.age", &armored);
    let out = Command::new(age)
        .arg("-d")
        .arg("-i")
        .arg(&key.file)
        .arg(stanza)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), 32, "the data key is 32 raw bytes");
}

#[test]
fn ssh_ed25519_recipients_work_both_ways() {
    let sb = Sandbox::new();
    let Some(keygen) = ssh_keygen_bin() else {
        return;
    };
    let k = sb.path("id_ed25519");
    assert!(Command::new(keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
        .arg(&k)
        .status()
        .unwrap()
        .success());
    let public = std::fs::read_to_string(sb.path("id_ed25519.pub")).unwrap();
    sb.write("s.yaml", "pw: hunter2\n");
    sb.cmd()
        .args(["encrypt", "-i", "--age", public.trim(), "s.yaml"])
        .assert()
        .success();
    let out = ours_decrypt(
        &sb,
        &Key {
            file: k.clone(),
            public: String::new(),
        },
        "s.yaml",
        &[],
    );
    assert_eq!(out, b"pw: hunter2\n");
    if let Some(age) = age_bin() {
        let text = sb.read("s.yaml");
        let start = text.find("-----BEGIN").unwrap();
        let end = text.find("-----END AGE ENCRYPTED FILE-----").unwrap() + 32;
        let armored: String = text[start..end]
            .lines()
            .map(|l| format!("{}\n", l.trim()))
            .collect();
        let st = sb.write("st.age", &armored);
        let out = Command::new(age)
            .arg("-d")
            .arg("-i")
            .arg(&k)
            .arg(st)
            .output()
            .unwrap();
        assert_eq!(
            out.stdout.len(),
            32,
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Comments between blocks, after nested maps and inside lists: where sops puts each one
/// (and, for list comments, how sops stores them) both tools agree, byte for byte.
#[test]
fn comments_in_nested_blocks_and_lists_match_sops() {
    let sb = Sandbox::new();
    let key = sb.key("carol");
    let Some(_) = sops(&sb, &key) else { return };
    let plain = "\
# top
db:
    # before host
    host: x
    nested:
        # deep
        k: v
    # indented trailing
# col0 between
api:
    token: t
    list:
        - a
        # in list
        - b
    # end of api
# final
";
    for (name, writer) in [("theirs.yaml", "sops"), ("ours.yaml", "secrets")] {
        sb.write(name, plain);
        let ok = if writer == "sops" {
            sops(&sb, &key)
                .unwrap()
                .args(["encrypt", "-i", "--age", &key.public, name])
                .status()
                .unwrap()
                .success()
        } else {
            sb.cmd()
                .args(["encrypt", "-i", "--age", &key.public, name])
                .output()
                .unwrap()
                .status
                .success()
        };
        assert!(ok, "{writer} encrypt");
        let by_sops = sops(&sb, &key)
            .unwrap()
            .args(["decrypt", name])
            .output()
            .unwrap();
        assert!(by_sops.status.success(), "sops decrypt {name}");
        let by_us = ours_decrypt(&sb, &key, name, &[]);
        assert_eq!(
            String::from_utf8_lossy(&by_us),
            String::from_utf8_lossy(&by_sops.stdout),
            "{name} written by {writer}"
        );
        // sops moves a trailing comment into the deepest block before it; every comment
        // and value survives, in order.
        let trimmed = |t: &str| t.lines().map(|l| l.trim().to_string()).collect::<Vec<_>>();
        assert_eq!(
            trimmed(&String::from_utf8_lossy(&by_us)),
            trimmed(plain),
            "{name}"
        );
    }
}

#[test]
fn numbers_print_as_sops_prints_them_and_set_keeps_them() {
    // sops stores every JSON number as type:float ("7" as data 7); go prints it as 7.
    let sb = Sandbox::new();
    let key = sb.key("bob");
    let Some(_) = sops(&sb, &key) else { return };
    for (name, text) in [
        (
            "n.json",
            "{\n\t\"a\": 7,\n\t\"b\": 1.5,\n\t\"c\": 1000,\n\t\"d\": 1e+21,\n\t\"e\": 1e-7\n}\n",
        ),
        ("n.yaml", "a: 7.0\nb: 1.5\nc: 1e3\nd: 1e6\nt: x\n"),
    ] {
        sb.write(name, text);
        let out = sops(&sb, &key)
            .unwrap()
            .args(["encrypt", "-i", "--age", &key.public, name])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs = sops(&sb, &key)
            .unwrap()
            .args(["decrypt", name])
            .output()
            .unwrap()
            .stdout;
        let ours = ours_decrypt(&sb, &key, name, &[]);
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs),
            "{name}"
        );
        // Changing another value leaves the numbers' ciphertext alone (they read back as
        // ints now, but keep their stored float type), and sops still verifies the MAC.
        let before = sb.read(name);
        let (path, value) = if name.ends_with(".json") {
            ("b", "2.5")
        } else {
            ("t", "y")
        };
        sb.cmd()
            .args(["set", "-I"])
            .arg(&key.file)
            .args([name, path, value])
            .assert()
            .success();
        let after = sb.read(name);
        // The values (the sops block's own layout is another matter).
        let values = |t: &str| -> Vec<String> {
            t.lines()
                .take_while(|l| !l.starts_with("sops:") && !l.starts_with("\t\"sops\""))
                .map(str::to_string)
                .collect()
        };
        let (b, a) = (values(&before), values(&after));
        assert_eq!(a.len(), b.len(), "{name}");
        let changed: Vec<_> = b
            .iter()
            .zip(&a)
            .filter(|(x, y)| x != y)
            .map(|(x, _)| {
                x.trim()
                    .split(':')
                    .next()
                    .unwrap()
                    .trim_matches('"')
                    .to_string()
            })
            .collect();
        assert_eq!(changed, [path], "{name}");
        let check = sops(&sb, &key)
            .unwrap()
            .args(["decrypt", name])
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
}

#[test]
fn set_on_a_sops_written_yaml_changes_only_that_value() {
    let sb = Sandbox::new();
    let key = sb.key("dave");
    let other = sb.key("erin");
    let Some(_) = sops(&sb, &key) else { return };
    let plain = "\
a: 1
list:
    - x
    # a list comment
    - name: n
      nested:
          k: v
      text: |
          two
          lines
map:
    k: v
";
    sb.write("s.yaml", plain);
    sb.write("ours.yaml", plain);
    let recipients = format!("{},{}", key.public, other.public);
    let out = sops(&sb, &key)
        .unwrap()
        .args(["encrypt", "-i", "--age", &recipients, "s.yaml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = sb.read("s.yaml");
    sb.cmd()
        .args(["set", "-I"])
        .arg(&key.file)
        .args(["s.yaml", "a", "2"])
        .assert()
        .success();
    let after = sb.read("s.yaml");
    let (b, a): (Vec<_>, Vec<_>) = (before.lines().collect(), after.lines().collect());
    assert_eq!(a.len(), b.len(), "{after}");
    let changed: Vec<_> = b
        .iter()
        .zip(&a)
        .filter(|(x, y)| x != y)
        .map(|(x, _)| x.trim().split(':').next().unwrap().to_string())
        .collect();
    // (lastmodified changes unless both writes fell in the same second)
    let changed: Vec<_> = changed.iter().filter(|k| *k != "lastmodified").collect();
    assert_eq!(changed, ["a", "mac"], "{after}");
    let check = sops(&sb, &key)
        .unwrap()
        .args(["decrypt", "s.yaml"])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // Our own encryption has sops's shape line for line (values aside).
    sb.cmd()
        .args(["encrypt", "-i", "--age", &recipients, "ours.yaml"])
        .assert()
        .success();
    let shape = |t: &str| -> Vec<String> {
        t.lines()
            .take_while(|l| !l.starts_with("sops:"))
            .map(|l| match l.find("ENC[") {
                Some(i) => format!(
                    "{}ENC[…,type:{}",
                    &l[..i],
                    l.rsplit("type:").next().unwrap()
                ),
                None => l.to_string(),
            })
            .collect()
    };
    assert_eq!(shape(&sb.read("ours.yaml")), shape(&before));
}

/// Floats reach a program as sops exec-env gives them (sops's `ValToString`: Go's 'G'
/// format, `.0` on an integral value): `1.5E-07`, `1E+20`, `100000.0`, and a JSON number
/// (a float to sops) `7.0`; `decrypt --output-type dotenv` prints them so too. exec gave
/// `0.00000015` and `100000000000000000000`, matching neither sops nor `get`.
#[test]
fn floats_reach_a_program_as_sops_exec_env_gives_them() {
    let sb = Sandbox::new();
    let key = sb.key("bob");
    let Some(_) = sops(&sb, &key) else { return };
    for (name, text) in [
        (
            "n.yaml",
            "a: 7\nb: 1.5\nc: 7.0\nd: 1e20\ne: 1.5e-7\nf: 100000.0\ng: 123456789.123\n",
        ),
        (
            "n.json",
            "{\"a\": 7, \"b\": 1.5, \"d\": 1e21, \"e\": 1e-7, \"f\": 100000}\n",
        ),
    ] {
        sb.write(name, text);
        let enc = sops(&sb, &key)
            .unwrap()
            .args(["encrypt", "--age", &key.public, name])
            .output()
            .unwrap();
        assert!(
            enc.status.success(),
            "{}",
            String::from_utf8_lossy(&enc.stderr)
        );
        let file = format!("e.{name}");
        sb.write(&file, &String::from_utf8(enc.stdout).unwrap());
        let vars = |out: Vec<u8>| -> Vec<String> {
            let mut v: Vec<String> = String::from_utf8(out)
                .unwrap()
                .lines()
                .filter(|l| {
                    l.len() > 2 && l.as_bytes()[1] == b'=' && l.as_bytes()[0].is_ascii_alphabetic()
                })
                .map(|l| l.to_ascii_lowercase())
                .collect();
            v.sort();
            v
        };
        let theirs = sops(&sb, &key)
            .unwrap()
            .args(["exec-env", &file, "env"])
            .output()
            .unwrap();
        assert!(theirs.status.success());
        let ours = sb
            .cmd()
            .args(["exec", "-I"])
            .arg(&key.file)
            .args(["-f", &file, "--", "env"])
            .output()
            .unwrap();
        assert!(
            ours.status.success(),
            "{}",
            String::from_utf8_lossy(&ours.stderr)
        );
        assert_eq!(vars(ours.stdout), vars(theirs.stdout), "{name}: exec");
        let theirs = sops(&sb, &key)
            .unwrap()
            .args(["decrypt", "--output-type", "dotenv", &file])
            .output()
            .unwrap();
        let ours = ours_decrypt(&sb, &key, &file, &["--output-type", "dotenv"]);
        assert_eq!(ours, theirs.stdout, "{name}: decrypt --output-type dotenv");
    }
}
