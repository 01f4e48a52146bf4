//! Values through the zeroizing buffers end to end (issue 10, plaintext outside zeroizing
//! memory): a value larger than one read of stdin and than the emitters' first block goes
//! in through `set --value-stdin` and comes out of `get`, `decrypt` (YAML, JSON, dotenv,
//! INI) and `export` byte for byte, so the growth that wipes what it outgrows loses
//! nothing.

use super::common::*;
use std::io::Write;
use std::process::Stdio;

/// 300 KB of every kind of character the emitters escape or quote.
fn big_value() -> String {
    let unit = "pässwörd \"q\" 'a' \\ # ; ` $x \t ✓🔑 ";
    let mut v = String::new();
    while v.len() < 300_000 {
        v.push_str(unit);
    }
    v.push_str("end");
    v
}

fn set_from_stdin(ks: &KeyedSandbox, file: &str, key: &str, value: &str) {
    let mut child = ks
        .cmd()
        .args(["set", file, key, "--value-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Written in several pipe-sized pieces: the reader sees many short reads.
    let mut stdin = child.stdin.take().unwrap();
    for chunk in value.as_bytes().chunks(10_000) {
        stdin.write_all(chunk).unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "set {file}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_big_value_survives_stdin_every_emitter_and_stdout() {
    let ks = KeyedSandbox::new();
    let value = big_value();
    for (file, plain) in [
        ("s.yaml", "a: 1\n"),
        ("s.json", "{\"a\": 1}\n"),
        ("s.ini", "[s]\na = 1\n"),
    ] {
        ks.encrypted(file, plain);
        let key = if file.ends_with(".ini") {
            "s.big"
        } else {
            "big"
        };
        set_from_stdin(&ks, file, key, &value);
        assert_eq!(ks.ok(&["get", file, key]), value.as_bytes(), "{file}");
        let text = String::from_utf8(ks.ok(&["decrypt", file])).unwrap();
        // Decrypted, encrypted again from that text, decrypted again: the same value.
        std::fs::write(ks.path("again"), &text).unwrap();
        let ext = file.rsplit('.').next().unwrap();
        let again = format!("again.{ext}");
        std::fs::rename(ks.path("again"), ks.path(&again)).unwrap();
        ks.ok(&["encrypt", "-i", "--age", &ks.public, &again]);
        assert_eq!(ks.ok(&["get", &again, key]), value.as_bytes(), "{file}");
        assert_eq!(
            String::from_utf8(ks.ok(&["decrypt", &again])).unwrap(),
            text,
            "{file}"
        );
    }
    // dotenv: stored as the text that means the value, read back as the value.
    ks.encrypted("s.env", "A=1\n");
    set_from_stdin(&ks, "s.env", "BIG", &value);
    assert_eq!(ks.ok(&["get", "s.env", "BIG"]), value.as_bytes());
    let exported = ks.ok(&["export", "-f", "s.env", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&exported).unwrap();
    assert_eq!(json["BIG"], value.as_str());
}
