//! The file commands end to end with the real binary: keygen, encrypt, decrypt, get, set,
//! unset, edit (with a real editor process), minimal diffs, and every bad-input case with
//! its documented exit code, one-line message and untouched files.

mod common;
#[path = "files/first_hour.rs"]
mod first_hour;
#[path = "files/hostile.rs"]
mod hostile;
#[path = "files/install.rs"]
mod install;
#[path = "files/locking.rs"]
mod locking;
#[path = "files/memory.rs"]
mod memory;
#[path = "files/messages.rs"]
mod messages;
#[path = "files/ssh_keys.rs"]
mod ssh_keys;

use common::*;
use predicates::prelude::*;

const PLAIN: &str = "# settings\ndatabase:\n  host: db.local\n  password: hunter2 # rotate me\n  ports: [5432, 5433]\napi:\n  token: tok-123\nenabled: true\n";

fn encrypted(sb: &Sandbox, key: &Key, name: &str, text: &str) {
    sb.write(name, text);
    sb.cmd()
        .args(["encrypt", "-i", "--age", &key.public, name])
        .assert()
        .success();
}

fn changed_lines(a: &str, b: &str) -> Vec<String> {
    let (a, b): (Vec<_>, Vec<_>) = (a.lines().collect(), b.lines().collect());
    assert_eq!(a.len(), b.len(), "line count changed");
    a.iter()
        .zip(&b)
        .filter(|(x, y)| x != y)
        .map(|(x, _)| x.split(':').next().unwrap().trim().to_string())
        .collect()
}

#[test]
fn keygen_writes_private_identity_and_prints_public_key() {
    let sb = Sandbox::new();
    let out = sb.cmd().args(["keygen", "-o", "k.txt"]).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("Public key: age1"), "{stderr}");
    let text = sb.read("k.txt");
    assert!(text.contains("# public key: age1") && text.contains("AGE-SECRET-KEY-1"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(sb.path("k.txt"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    // Refuses to overwrite; stdout mode prints the identity.
    sb.cmd()
        .args(["keygen", "-o", "k.txt"])
        .assert()
        .failure()
        .code(3);
    sb.cmd()
        .arg("keygen")
        .assert()
        .success()
        .stdout(predicate::str::contains("AGE-SECRET-KEY-1"));
}

#[test]
fn encrypt_decrypt_get_round_trip_keeps_comments_and_types() {
    let sb = Sandbox::new();
    let key = sb.key("a");
    encrypted(&sb, &key, "s.yaml", PLAIN);
    let enc = sb.read("s.yaml");
    for secret in ["db.local", "hunter2", "tok-123", "rotate me", "settings"] {
        assert!(
            !enc.contains(secret),
            "{secret} leaked into the encrypted file"
        );
    }
    assert!(enc.contains("type:int") && enc.contains("type:bool") && enc.contains("type:comment"));
    let out = sb
        .cmd()
        .args(["decrypt", "-I"])
        .arg(&key.file)
        .arg("s.yaml")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("# settings") && text.contains("password: hunter2 # rotate me"),
        "{text}"
    );
    sb.cmd()
        .args(["get", "-I"])
        .arg(&key.file)
        .args(["s.yaml", "database.ports.1"])
        .assert()
        .success()
        .stdout("5433");
    sb.cmd()
        .args(["get", "-I"])
        .arg(&key.file)
        .args(["s.yaml", r#"["api"]["token"]"#])
        .assert()
        .success()
        .stdout("tok-123");
    sb.cmd()
        .args(["decrypt", "-I"])
        .arg(&key.file)
        .args(["--extract", r#"["database"]["host"]"#, "s.yaml"])
        .assert()
        .success()
        .stdout("db.local");
}

#[test]
fn set_changes_only_that_value_and_unchanged_set_is_a_no_op() {
    let sb = Sandbox::new();
    let key = sb.key("a");
    encrypted(&sb, &key, "s.yaml", PLAIN);
    let before = sb.read("s.yaml");
    sb.cmd()
        .args(["set", "-I"])
        .arg(&key.file)
        .args(["s.yaml", "api.token", "tok-456"])
        .assert()
        .success();
    let after = sb.read("s.yaml");
    let mut changed = changed_lines(&before, &after);
    changed.sort();
    changed.dedup();
    assert!(
        changed
            .iter()
            .all(|k| ["token", "lastmodified", "mac"].contains(&k.as_str())),
        "{changed:?}"
    );
    assert!(changed.contains(&"token".to_string()));
    // Same value again: byte-for-byte untouched.
    sb.cmd()
        .args(["set", "-I"])
        .arg(&key.file)
        .args(["s.yaml", "api.token", "tok-456"])
        .assert()
        .success();
    assert_eq!(sb.read("s.yaml"), after);
    // --value-stdin: the value never goes through argv.
    sb.cmd()
        .args(["set", "--value-stdin", "-I"])
        .arg(&key.file)
        .args(["s.yaml", "new.nested"])
        .write_stdin("from-stdin\n")
        .assert()
        .success();
    sb.cmd()
        .args(["get", "-I"])
        .arg(&key.file)
        .args(["s.yaml", "new.nested"])
        .assert()
        .stdout("from-stdin");
    sb.cmd()
        .args(["unset", "-I"])
        .arg(&key.file)
        .args(["s.yaml", "new"])
        .assert()
        .success();
    sb.cmd()
        .args(["get", "-I"])
        .arg(&key.file)
        .args(["s.yaml", "new"])
        .assert()
        .failure()
        .code(91);
}

#[test]
fn a_value_with_newlines_survives_every_format() {
    let sb = Sandbox::new();
    let key = sb.key("a");
    for name in ["n.yaml", "n.json", "n.env", "n.ini"] {
        let text = if name.ends_with(".ini") {
            "[s]\nk = v\n"
        } else if name.ends_with(".env") {
            "K=v\n"
        } else if name.ends_with(".json") {
            "{\"k\": \"v\"}\n"
        } else {
            "k: v\n"
        };
        encrypted(&sb, &key, name, text);
        let path = if name.ends_with(".ini") {
            "s.pem"
        } else {
            "pem"
        };
        let pem = "-----BEGIN KEY-----\nabc\ndef\n-----END KEY-----\n";
        sb.cmd()
            .args(["set", "--value-stdin", "-I"])
            .arg(&key.file)
            .args([name, path])
            .write_stdin(pem)
            .assert()
            .success();
        sb.cmd()
            .args(["get", "-I"])
            .arg(&key.file)
            .args([name, path])
            .assert()
            .success()
            .stdout(pem);
    }
}

#[test]
fn edit_reencrypts_only_changed_values_with_a_real_editor() {
    let sb = Sandbox::new();
    let key = sb.key("a");
    encrypted(&sb, &key, "s.yaml", PLAIN);
    let before = sb.read("s.yaml");
    // The editor is a real child process: sed editing the temp file in place, and logging
    // where the temp file was so the test can check it is gone afterwards.
    let log = sb.path("editor.log");
    let script = sb.write(
        "ed.sh",
        &format!(
            "#!/bin/sh\necho \"$1\" > {}\nsed -i s/hunter2/hunter3/ \"$1\"\n",
            log.display()
        ),
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    sb.cmd()
        .env("EDITOR", &script)
        .args(["edit", "-I"])
        .arg(&key.file)
        .arg("s.yaml")
        .assert()
        .success();
    let after = sb.read("s.yaml");
    let mut changed = changed_lines(&before, &after);
    changed.dedup();
    assert!(
        changed
            .iter()
            .all(|k| ["password", "lastmodified", "mac"].contains(&k.as_str())),
        "{changed:?}"
    );
    sb.cmd()
        .args(["get", "-I"])
        .arg(&key.file)
        .args(["s.yaml", "database.password"])
        .assert()
        .stdout("hunter3");
    let tmp = std::fs::read_to_string(&log).unwrap();
    let tmp = std::path::Path::new(tmp.trim());
    assert!(
        !tmp.exists() && !tmp.parent().unwrap().exists(),
        "editor temp dir left behind: {}",
        tmp.display()
    );
}

/// Issue 10, case 9: the IV stash keyed values by SHA-512(path ‖ 0 ‖ type ‖ 0 ‖ value),
/// and keys and values may hold NUL: editing `a: "x:\0str\0y"` into
/// `a: {"\0str\0x": y}` encrypted the new value with the old value's IV.
#[test]
fn an_edit_whose_path_and_value_run_together_gets_a_fresh_iv() {
    let sb = Sandbox::new();
    let key = sb.key("a");
    encrypted(&sb, &key, "s.yaml", "a: \"x:\\0str\\0y\"\n");
    let iv = |text: &str| -> Vec<String> {
        text.split("iv:")
            .skip(1)
            .map(|rest| rest.split(',').next().unwrap().to_string())
            .collect()
    };
    let before = iv(&sb.read("s.yaml"));
    let script = sb.write(
        "ed.sh",
        "#!/bin/sh\nprintf 'a: {\"\\\\0str\\\\0x\": y}\\n' > \"$1\"\n",
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    sb.cmd()
        .env("EDITOR", &script)
        .args(["edit", "-I"])
        .arg(&key.file)
        .arg("s.yaml")
        .assert()
        .success();
    let text = sb.read("s.yaml");
    assert!(text.starts_with("a:\n    \"\\0str\\0x\": ENC["), "{text}");
    let after = iv(&text);
    // The first IV is the value's (the MAC's comes last).
    assert_ne!(after[0], before[0], "IV reused for a different plaintext");
}

#[test]
fn edit_without_change_exits_200_and_invalid_edit_leaves_file() {
    let sb = Sandbox::new();
    let key = sb.key("a");
    encrypted(&sb, &key, "s.yaml", PLAIN);
    let before = sb.read("s.yaml");
    sb.cmd()
        .env("EDITOR", "true")
        .args(["edit", "-I"])
        .arg(&key.file)
        .arg("s.yaml")
        .assert()
        .code(200);
    assert_eq!(sb.read("s.yaml"), before);
    let bad = sb.write("bad.sh", "#!/bin/sh\nprintf 'a: [unclosed\\n' > \"$1\"\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    sb.cmd()
        .env("EDITOR", &bad)
        .args(["edit", "-I"])
        .arg(&key.file)
        .arg("s.yaml")
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 2"));
    assert_eq!(sb.read("s.yaml"), before);
}

/// Runs a failing command and checks the exit code, a one-line error naming `names`, and
/// that no secret appears in the output.
fn fails(cmd: &mut assert_cmd::Command, code: i32, names: &[&str]) {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    let first = stderr.lines().next().unwrap_or("");
    assert!(first.starts_with("secrets: error: "), "{stderr}");
    for n in names {
        assert!(first.contains(n), "{n:?} not in {first:?}");
    }
    for secret in ["hunter2", "tok-123", "db.local"] {
        assert!(
            !stderr.contains(secret) && !String::from_utf8_lossy(&out.stdout).contains(secret),
            "secret printed: {stderr}"
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_input_gets_clear_errors_and_documented_codes() {
    let sb = Sandbox::new();
    let key = sb.key("a");
    let other = sb.key("b");
    encrypted(&sb, &key, "s.yaml", PLAIN);
    let good = sb.read("s.yaml");
    let i = |c: &mut assert_cmd::Command, k: &Key| {
        c.arg("-I").arg(&k.file);
    };

    // Missing file.
    fails(sb.cmd().args(["decrypt", "nope.yaml"]), 2, &["nope.yaml"]);
    // Malformed YAML: file and line.
    sb.write("bad.yaml", "a: 1\nb: [unclosed\nc: 3\n");
    fails(
        sb.cmd().args(["encrypt", "--age", &key.public, "bad.yaml"]),
        2,
        &["bad.yaml", "line"],
    );
    // Not encrypted / already encrypted.
    sb.write("plain.yaml", "a: hunter2\n");
    fails(
        sb.cmd().args(["decrypt", "plain.yaml"]),
        204,
        &["plain.yaml", "not encrypted"],
    );
    fails(
        sb.cmd()
            .args(["encrypt", "-i", "--age", &key.public, "s.yaml"]),
        203,
        &["s.yaml", "already encrypted"],
    );
    // Wrong key.
    let mut c = sb.cmd();
    c.arg("decrypt");
    i(&mut c, &other);
    fails(c.arg("s.yaml"), 128, &["s.yaml"]);
    // Unknown / malformed recipient.
    fails(
        sb.cmd()
            .args(["encrypt", "--age", "age1bogus", "plain.yaml"]),
        111,
        &["age1bogus"],
    );
    // Tampered value: its ciphertext changed.
    let line = good.lines().find(|l| l.contains("password:")).unwrap();
    let data_start = line.find("data:").unwrap() + 5;
    let mut t = line.to_string();
    let flip = if &t[data_start..data_start + 1] == "A" {
        "B"
    } else {
        "A"
    };
    t.replace_range(data_start..data_start + 1, flip);
    sb.write("t1.yaml", &good.replace(line, &t));
    let mut c = sb.cmd();
    c.arg("decrypt");
    i(&mut c, &key);
    fails(c.arg("t1.yaml"), 25, &["t1.yaml", "database.password"]);
    // A value moved to another key fails authentication (the key path is additional data).
    let tok_line = good.lines().find(|l| l.contains("token:")).unwrap();
    let moved = good.replace(
        tok_line,
        &format!("    token: {}", line.split_once(": ").unwrap().1),
    );
    sb.write("t2.yaml", &moved);
    let mut c = sb.cmd();
    c.arg("decrypt");
    i(&mut c, &key);
    fails(c.arg("t2.yaml"), 25, &["t2.yaml", "api.token"]);
    // A removed value: every value still decrypts, but the MAC does not match.
    let removed = good.replace(tok_line, "").replace("api:\n\n", "api: {}\n");
    sb.write("t3.yaml", &removed.replace("api:\n", "api: {}\n"));
    let mut c = sb.cmd();
    c.arg("decrypt");
    i(&mut c, &key);
    fails(c.arg("t3.yaml"), 51, &["t3.yaml", "MAC"]);
    // Group-readable key file refused, like ssh.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let open = sb.path("open.key");
        std::fs::copy(&key.file, &open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
        fails(
            sb.cmd().args(["decrypt", "-I"]).arg(&open).arg("s.yaml"),
            113,
            &["open.key", "chmod 600"],
        );
    }
    // Bad key path.
    let mut c = sb.cmd();
    c.arg("get");
    i(&mut c, &key);
    fails(c.args(["s.yaml", "[\"unterminated"]), 91, &["unterminated"]);
    // Nothing changed on disk by any failure, and no stray temp files.
    assert_eq!(sb.read("s.yaml"), good);
    let stray: Vec<_> = std::fs::read_dir(sb.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".secrets-tmp"))
        .collect();
    assert!(stray.is_empty());
}

#[test]
fn large_binary_file_round_trips() {
    // 100 MB through the binary store: encrypt and decrypt without error or truncation.
    let sb = Sandbox::new();
    let key = sb.key("a");
    let data: Vec<u8> = (0..100 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(sb.path("big.bin"), &data).unwrap();
    sb.cmd()
        .args(["encrypt", "-i", "--age", &key.public, "big.bin"])
        .assert()
        .success();
    let out = sb
        .cmd()
        .args(["decrypt", "-I"])
        .arg(&key.file)
        .arg("big.bin")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout == data, "100 MB binary round trip differs");
}

#[test]
#[cfg(unix)]
fn killed_edit_removes_the_plaintext_and_leaves_the_file() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let key = sb.key("a");
    encrypted(&sb, &key, "s.yaml", PLAIN);
    let before = sb.read("s.yaml");
    for sig in [libc::SIGHUP, libc::SIGTERM, libc::SIGINT, libc::SIGQUIT] {
        let log = sb.path(&format!("editor-{sig}.log"));
        // The editor records the temp file, then waits to be killed.
        let script = sb.write(
            &format!("slow-{sig}.sh"),
            &format!(
                "#!/bin/sh\necho \"$1\" > {}.part\nmv {0}.part {0}\nexec sleep 30\n",
                log.display()
            ),
        );
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let child = sb
            .std_cmd()
            .env("EDITOR", &script)
            .args(["edit", "-I"])
            .arg(&key.file)
            .arg("s.yaml")
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        while !log.exists() {
            assert!(start.elapsed().as_secs() < 20, "editor never started");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let tmp = std::path::PathBuf::from(std::fs::read_to_string(&log).unwrap().trim());
        assert!(tmp.exists());
        // SAFETY: kill with a pid we started.
        unsafe {
            libc::kill(child.id() as i32, sig);
        }
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(128 + sig), "signal {sig}: {stderr}");
        assert!(stderr.contains("interrupted by signal"), "{stderr}");
        assert!(
            !tmp.exists() && !tmp.parent().unwrap().exists(),
            "signal {sig}: plaintext left in {}",
            tmp.display()
        );
        assert_eq!(sb.read("s.yaml"), before);
    }
}

#[test]
fn a_file_without_values_is_refused_and_left_as_it_was() {
    let sb = Sandbox::new();
    let key = sb.key("a");
    for (name, text) in [
        ("e.yaml", ""),
        ("c.yaml", "# only a comment\n"),
        // (`---`, `{}` and `~` are documents sops encrypts: tests/interop/yaml_fidelity.rs)
        ("e.env", ""),
        ("c.env", "# nothing here\n\n"),
        ("e.ini", ""),
    ] {
        sb.write(name, text);
        fails(
            sb.cmd().args(["encrypt", "-i", "--age", &key.public, name]),
            2,
            &[name, "has no values to encrypt"],
        );
        assert_eq!(sb.read(name), text, "{name} was changed");
        fails(
            sb.cmd().args(["encrypt", "--age", &key.public, name]),
            2,
            &[name, "has no values to encrypt"],
        );
    }
}

#[test]
fn data_under_the_metadata_key_is_refused_not_encrypted_into_an_unreadable_file() {
    // Found while fixing what fuzzing found (two [sops] sections): `encrypt -i` wrote such
    // files with a second metadata block, which neither we nor sops could read again (all
    // values lost); sops refuses to encrypt them.
    let sb = Sandbox::new();
    let key = sb.key("a");
    for (name, text, what) in [
        (
            "s.yaml",
            "a: hunter2
sops: x
",
            "key \"sops\"",
        ),
        (
            "s.json",
            "{\"a\": \"hunter2\", \"sops\": {\"k\": 1}}",
            "key \"sops\"",
        ),
        (
            "s.ini",
            "[a]\nk = hunter2\n[sops]\nx = 1\n",
            "section [sops]",
        ),
        ("s.env", "A=hunter2\nsops_x=1\n", "key \"sops_x\""),
    ] {
        sb.write(name, text);
        fails(
            sb.cmd().args(["encrypt", "-i", "--age", &key.public, name]),
            2,
            &[name, what, "reserved for the sops metadata"],
        );
        assert_eq!(sb.read(name), text, "{name} was changed");
    }
    // `set` cannot add one to an encrypted file either.
    encrypted(&sb, &key, "e.yaml", PLAIN);
    let before = sb.read("e.yaml");
    fails(
        sb.cmd()
            .args(["set", "-I"])
            .arg(&key.file)
            .args(["e.yaml", "sops", "x"]),
        3,
        &["e.yaml", "key \"sops\"", "reserved for the sops metadata"],
    );
    assert_eq!(sb.read("e.yaml"), before);
    // A file with two [sops] sections (sops cannot read it) is refused, not half read.
    encrypted(&sb, &key, "e.ini", "[a]\nk = hunter2\n");
    let text = sb.read("e.ini") + "\n[sops]\nversion = 1\n";
    sb.write("e.ini", &text);
    fails(
        sb.cmd().args(["decrypt", "-I"]).arg(&key.file).arg("e.ini"),
        2,
        &["e.ini", "section [sops]"],
    );
}

#[test]
fn duplicate_yaml_keys_are_refused_naming_file_line_and_key() {
    // sops (go-yaml) refuses such a file ("mapping key already defined"): never write one.
    let sb = Sandbox::new();
    let key = sb.key("a");
    let text = "db:\n  host: db.local\n  user: app\n  host: hunter2\n";
    sb.write("dup.yaml", text);
    fails(
        sb.cmd()
            .args(["encrypt", "-i", "--age", &key.public, "dup.yaml"]),
        2,
        &["dup.yaml", "line 4", "\"host\"", "already defined"],
    );
    assert_eq!(sb.read("dup.yaml"), text);
}

#[test]
#[cfg(unix)]
fn an_open_default_identity_is_skipped_but_a_named_one_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let key = sb.key("a");
    encrypted(&sb, &key, "s.yaml", PLAIN);
    let open = |rel: &str| {
        let p = sb.write(rel, &std::fs::read_to_string(&key.file).unwrap());
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        p
    };
    // Default paths, group/world-readable: skipped with a warning and the chmod hint.
    open("home/.ssh/id_ed25519");
    open("home/.config/sops/age/keys.txt");
    let out = sb
        .cmd()
        .env("SOPS_AGE_KEY_FILE", &key.file)
        .args(["get", "s.yaml", "api.token"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(out.stdout, b"tok-123");
    for p in ["home/.ssh/id_ed25519", "home/.config/sops/age/keys.txt"] {
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with("secrets: warning: skipped")
                    && l.contains(p)
                    && l.contains("chmod 600")),
            "{stderr}"
        );
    }
    // Nothing usable left: exit 113 naming the file.
    fails(
        sb.cmd().args(["get", "s.yaml", "api.token"]),
        113,
        &["home/.config/sops/age/keys.txt", "chmod 600"],
    );
    // A file named explicitly is refused even when another identity would work.
    let named = open("named.key");
    fails(
        sb.cmd()
            .env("SOPS_AGE_KEY_FILE", &named)
            .args(["get", "-I"])
            .arg(&key.file)
            .args(["s.yaml", "api.token"]),
        113,
        &["named.key", "chmod 600"],
    );
    fails(
        sb.cmd()
            .args(["get", "-I"])
            .arg(&named)
            .args(["s.yaml", "api.token"]),
        113,
        &["named.key"],
    );
}

/// `$SOPS_AGE_KEY_FILE` naming a file that does not exist (an image's inherited variable
/// on a server that decrypts through another identity or a key service) is skipped with
/// a warning, as sops skips it; it aborted every command (113). `-I` missing still fails.
#[test]
fn a_missing_file_named_by_the_environment_is_skipped_with_a_warning() {
    let sb = Sandbox::new();
    let key = sb.key("a");
    encrypted(&sb, &key, "s.yaml", PLAIN);
    let out = sb
        .cmd()
        .env("SOPS_AGE_KEY_FILE", sb.path("no-such.key"))
        .env("SECRETS_AGE_KEY_FILE", &key.file)
        .args(["get", "s.yaml", "api.token"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(out.stdout, b"tok-123");
    assert!(
        stderr.contains("warning: $SOPS_AGE_KEY_FILE names") && stderr.contains("no-such.key"),
        "{stderr}"
    );
    let out = sb
        .cmd()
        .args(["get", "-I"])
        .arg(sb.path("no-such.key"))
        .args(["s.yaml", "api.token"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(113),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn keygen_creates_key_dirs_and_the_home_key_is_found_with_xdg_set() {
    let sb = Sandbox::new();
    // The sandbox sets XDG_CONFIG_HOME=home/.config; point it elsewhere, as some users do.
    let xdg = sb.path("xdg");
    let out = sb
        .cmd()
        .env("XDG_CONFIG_HOME", &xdg)
        .args(["keygen", "-o", "home/.config/secrets/keys.txt"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| std::fs::metadata(sb.path(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("home/.config/secrets"), 0o700);
        assert_eq!(mode("home/.config/secrets/keys.txt"), 0o600);
    }
    let public = public_key_of(&sb.path("home/.config/secrets/keys.txt"));
    sb.write("s.yaml", "a: hunter2\n");
    sb.cmd()
        .args(["encrypt", "-i", "--age", &public, "s.yaml"])
        .assert()
        .success();
    sb.cmd()
        .env("XDG_CONFIG_HOME", &xdg)
        .args(["get", "s.yaml", "a"])
        .assert()
        .success()
        .stdout("hunter2");
    // A write that fails names the file asked for, never our temp file.
    let out = sb
        .cmd()
        .env("XDG_CONFIG_HOME", &xdg)
        .args(["decrypt", "-o", "no/such/dir/out.yaml", "s.yaml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("no/such/dir/out.yaml") && !stderr.contains(".secrets-tmp"),
        "{stderr}"
    );
}

#[test]
fn dotenv_export_lines_are_found_by_their_bare_name() {
    let sb = Sandbox::new();
    let key = sb.key("a");
    encrypted(&sb, &key, "x.enc.env", "export DB_HOST=db.local\nPORT=1\n");
    let before = sb.read("x.enc.env");
    let get = |name: &str| {
        sb.cmd()
            .args(["get", "-I"])
            .arg(&key.file)
            .args(["x.enc.env", name])
            .output()
            .unwrap()
    };
    assert_eq!(get("DB_HOST").stdout, b"db.local");
    assert_eq!(get("export DB_HOST").stdout, b"db.local");
    sb.cmd()
        .args(["set", "-I"])
        .arg(&key.file)
        .args(["x.enc.env", "DB_HOST", "db2.local"])
        .assert()
        .success();
    let after = sb.read("x.enc.env");
    // The same line changed in place (key still as sops keeps it), no duplicate appended.
    assert_eq!(after.lines().count(), before.lines().count(), "{after}");
    assert_eq!(after.matches("DB_HOST=").count(), 1, "{after}");
    assert!(after.starts_with("export DB_HOST=ENC["), "{after}");
    assert_eq!(get("DB_HOST").stdout, b"db2.local");
    sb.cmd()
        .args(["unset", "-I"])
        .arg(&key.file)
        .args(["x.enc.env", "DB_HOST"])
        .assert()
        .success();
    assert!(!sb.read("x.enc.env").contains("DB_HOST"));
}

#[test]
fn key_path_errors_name_the_file() {
    let sb = Sandbox::new();
    let key = sb.key("a");
    encrypted(&sb, &key, "s.yaml", PLAIN);
    let good = sb.read("s.yaml");
    let run = |args: &[&str], names: &[&str]| {
        let mut c = sb.cmd();
        c.arg(args[0]).arg("-I").arg(&key.file).args(&args[1..]);
        fails(&mut c, 91, names);
    };
    for bad in ["DB_HOST", "[\"unterminated"] {
        let shown = bad.trim_start_matches("[\"");
        run(&["get", "s.yaml", bad], &["s.yaml", shown]);
        run(&["unset", "s.yaml", bad], &["s.yaml", shown]);
        run(&["decrypt", "--extract", bad, "s.yaml"], &["s.yaml", shown]);
    }
    run(
        &["set", "s.yaml", "[\"unterminated", "v"],
        &["s.yaml", "unterminated"],
    );
    run(
        &["set", "s.yaml", "database.ports.7", "v"],
        &["s.yaml", "ports"],
    );
    // Issue 10, case 8: `a..b` (and a leading or trailing dot) created an empty key.
    for bad in ["database..host", ".database", "database.", "a..b"] {
        run(
            &["set", "s.yaml", bad, "v"],
            &["s.yaml", bad, "empty segment"],
        );
        run(&["get", "s.yaml", bad], &["s.yaml", bad]);
    }
    assert_eq!(sb.read("s.yaml"), good);
}

#[test]
fn a_file_whose_mac_line_was_deleted_exits_52() {
    let sb = Sandbox::new();
    let key = sb.key("a");
    encrypted(&sb, &key, "s.yaml", PLAIN);
    let good = sb.read("s.yaml");
    let no_mac: String = good
        .lines()
        .filter(|l| !l.trim_start().starts_with("mac:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(no_mac, good);
    sb.write("nomac.yaml", &no_mac);
    for cmd in ["decrypt", "get"] {
        let mut c = sb.cmd();
        c.args([cmd, "-I"]).arg(&key.file).arg("nomac.yaml");
        if cmd == "get" {
            c.arg("api.token");
        }
        fails(&mut c, 52, &["nomac.yaml", "mac"]);
    }
    assert_eq!(sb.read("nomac.yaml"), no_mac);
}

#[test]
#[cfg(unix)]
fn plaintext_outputs_are_0600_even_over_an_open_file() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let key = sb.key("a");
    encrypted(&sb, &key, "s.yaml", PLAIN);
    let mode = |p: &str| std::fs::metadata(sb.path(p)).unwrap().permissions().mode() & 0o777;
    sb.write("out.yaml", "old\n");
    std::fs::set_permissions(sb.path("out.yaml"), std::fs::Permissions::from_mode(0o644)).unwrap();
    sb.cmd()
        .args(["decrypt", "-I"])
        .arg(&key.file)
        .args(["-o", "out.yaml", "s.yaml"])
        .assert()
        .success();
    assert!(sb.read("out.yaml").contains("hunter2"));
    assert_eq!(mode("out.yaml"), 0o600);
    sb.cmd()
        .args(["decrypt", "-I"])
        .arg(&key.file)
        .args(["-o", "new.yaml", "s.yaml"])
        .assert()
        .success();
    assert_eq!(mode("new.yaml"), 0o600);
    // In place: the encrypted file was 0644 (umask), the plaintext that replaces it is not.
    std::fs::set_permissions(sb.path("s.yaml"), std::fs::Permissions::from_mode(0o644)).unwrap();
    sb.cmd()
        .args(["decrypt", "-i", "-I"])
        .arg(&key.file)
        .arg("s.yaml")
        .assert()
        .success();
    assert_eq!(mode("s.yaml"), 0o600);
}

/// `-o` naming a descriptor of ours or a FIFO writes into it: `-o /dev/stdout` under
/// `> log` kept what the log held (the rename replaced the shell's target file, and
/// `| cat` failed: no such file), and a FIFO (`>(kubectl apply -f -)`) was replaced with a
/// plaintext file on disk.
#[test]
#[cfg(unix)]
fn output_to_dev_stdout_or_a_fifo_is_written_into_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let sb = Sandbox::new();
    let key = sb.key("a");
    encrypted(&sb, &key, "s.yaml", PLAIN);
    let bin = assert_cmd::cargo::cargo_bin("secrets");
    let run = |script: &str| {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("SECRETS", &bin)
            .env("KEY", &key.file)
            .current_dir(sb.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    run("(echo earlier; \"$SECRETS\" decrypt -I \"$KEY\" -o /dev/stdout s.yaml; echo later) > log.txt");
    let log = sb.read("log.txt");
    assert!(
        log.starts_with("earlier\n") && log.contains("hunter2") && log.ends_with("later\n"),
        "{log}"
    );
    let piped = run("\"$SECRETS\" decrypt -I \"$KEY\" -o /dev/stdout s.yaml | cat");
    assert!(piped.contains("hunter2"), "{piped}");
    let fifo = run("mkfifo f && (cat f > got.txt &) && \"$SECRETS\" decrypt -I \"$KEY\" -o f s.yaml && sleep 0.5 && cat got.txt");
    assert!(fifo.contains("hunter2"), "{fifo}");
    assert!(std::fs::metadata(sb.path("f"))
        .unwrap()
        .file_type()
        .is_fifo());
}

#[test]
fn encrypting_several_files_writes_none_when_one_fails() {
    let sb = Sandbox::new();
    let key = sb.key("a");
    let files = [
        ("a.yaml", "a: hunter2\n"),
        ("bad.yaml", "b: [unclosed\n"),
        ("c.yaml", "c: tok-123\n"),
    ];
    for (name, text) in files {
        sb.write(name, text);
    }
    fails(
        sb.cmd()
            .args(["encrypt", "-i", "--age", &key.public])
            .args(files.map(|(n, _)| n)),
        2,
        &["bad.yaml", "line 2"],
    );
    for (name, text) in files {
        assert_eq!(sb.read(name), text, "{name} was changed");
    }
    // Without the bad file, all are encrypted.
    sb.cmd()
        .args(["encrypt", "-i", "--age", &key.public, "a.yaml", "c.yaml"])
        .assert()
        .success();
    assert!(sb.read("a.yaml").contains("ENC[") && sb.read("c.yaml").contains("ENC["));
}

#[test]
fn a_yaml_int_too_big_for_64_bits_is_refused_not_rounded() {
    let sb = Sandbox::new();
    let key = sb.key("a");
    let text = "id: 12345678901234567890\n";
    sb.write("big.yaml", text);
    fails(
        sb.cmd()
            .args(["encrypt", "-i", "--age", &key.public, "big.yaml"]),
        2,
        &["big.yaml", "line 1", "\"id\"", "quote it"],
    );
    assert_eq!(sb.read("big.yaml"), text);
    sb.write("big.yaml", "id: \"12345678901234567890\"\n");
    sb.cmd()
        .args(["encrypt", "-i", "--age", &key.public, "big.yaml"])
        .assert()
        .success();
    sb.cmd()
        .args(["get", "-I"])
        .arg(&key.file)
        .args(["big.yaml", "id"])
        .assert()
        .stdout("12345678901234567890");
}

#[test]
fn a_list_prints_in_the_files_format() {
    let sb = Sandbox::new();
    let key = sb.key("a");
    encrypted(
        &sb,
        &key,
        "l.yaml",
        "list:\n    - x\n    - k: v\nempty: []\n",
    );
    encrypted(&sb, &key, "l.json", "{\"list\": [\"x\", {\"k\": \"v\"}]}\n");
    let out = |args: &[&str]| {
        let o = sb
            .cmd()
            .arg(args[0])
            .arg("-I")
            .arg(&key.file)
            .args(&args[1..])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    assert_eq!(out(&["get", "l.yaml", "list"]), "- x\n- k: v\n");
    assert_eq!(
        out(&["decrypt", "--extract", "[\"list\"]", "l.yaml"]),
        "- x\n- k: v\n"
    );
    assert_eq!(out(&["get", "l.yaml", "empty"]), "[]\n");
    assert_eq!(
        out(&["get", "l.json", "list"]),
        "[\n    \"x\",\n    {\n        \"k\": \"v\"\n    }\n]\n"
    );
}

/// Issue 16, item 6: `edit` of a new file starts from a template in the file's format (a
/// commented one where the format has comments); saved unchanged, no file is created
/// (exit 200, as for an unchanged edit); edited, the template's own comment lines are
/// dropped and the rest is encrypted.
#[test]
fn edit_of_a_new_file_starts_from_a_template() {
    let sb = Sandbox::new();
    let key = sb.key("a");
    let editor = |name: &str, body: &str| {
        let p = sb.write(name, &format!("#!/bin/sh\n{body}"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        p
    };
    // Each editor keeps a copy of the buffer it was given in seen.txt.
    let seen_log = sb.path("seen.txt");
    let keep = editor("keep.sh", &format!("cp \"$1\" '{}'\n", seen_log.display()));
    let change = editor(
        "change.sh",
        &format!(
            "cp \"$1\" '{}'\nsed -i 's/example_key/db_password/I; s/example value/s3cret/' \"$1\"\n",
            seen_log.display()
        ),
    );
    for (file, comment) in [
        ("new.yaml", Some("#")),
        ("new.env", Some("#")),
        ("new.ini", Some(";")),
        ("new.json", None),
    ] {
        let out = sb
            .cmd()
            .env("EDITOR", &keep)
            .args(["edit", "--age", &key.public, file])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(200), "{file}: {stderr}");
        assert!(stderr.contains("no file created"), "{file}: {stderr}");
        assert!(!sb.path(file).exists(), "{file} was created");
        let seen = std::fs::read_to_string(&seen_log).unwrap();
        assert!(
            seen.to_lowercase().contains("example_key"),
            "{file}: {seen}"
        );
        if let Some(c) = comment {
            assert!(
                seen.starts_with(&format!("{c} secrets: ")) && seen.contains("no file"),
                "{file}: {seen}"
            );
        }

        sb.cmd()
            .env("EDITOR", &change)
            .args(["edit", "--age", &key.public, file])
            .assert()
            .success();
        let text = sb.read(file);
        assert!(!text.contains("s3cret"), "{file}: plaintext on disk");
        let plain = sb
            .cmd()
            .args(["decrypt", "-I"])
            .arg(&key.file)
            .arg(file)
            .output()
            .unwrap();
        let plain = String::from_utf8_lossy(&plain.stdout);
        assert!(
            plain.to_lowercase().contains("db_password") && plain.contains("s3cret"),
            "{file}: {plain}"
        );
        assert!(
            !plain.contains("secrets:"),
            "{file}: template comments kept: {plain}"
        );
    }
}
