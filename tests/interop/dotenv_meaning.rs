//! Issue 9, case 4: a dotenv file means the same whichever tool encrypted it.
//!
//! The stored text of a key is what sops stores (the line after `=`, verbatim), so
//! `decrypt` (ours and sops's) prints the lines that were encrypted and `decrypt --extract`
//! prints the same text in both tools; `get`, `exec` and `export` hand out what that text
//! means to dotenv loaders. Every test runs the real sops on the same input both ways:
//! ours→sops (sops decrypts our file) and sops→ours (we decrypt sops's file).

use super::*;

/// A file encrypted by us (`ours.env`) and the same text encrypted by sops (`theirs.env`).
struct Pair<'a> {
    sb: &'a Sandbox,
    key: Key,
}

impl<'a> Pair<'a> {
    /// Encrypts `text` with both tools; None when sops is not installed (a skip locally).
    fn new(sb: &'a Sandbox, text: &str) -> Option<Pair<'a>> {
        let key = sb.key("k");
        sops(sb, &key)?;
        let pair = Pair { sb, key };
        pair.encrypt_ours("ours.env", text);
        pair.encrypt_theirs("theirs.env", text);
        Some(pair)
    }

    fn encrypt_ours(&self, name: &str, text: &str) {
        self.sb.write(name, text);
        self.sb
            .cmd()
            .args(["encrypt", "-i", "--age", &self.key.public, name])
            .assert()
            .success();
    }

    fn encrypt_theirs(&self, name: &str, text: &str) {
        self.sb.write(name, text);
        let out = self
            .sops()
            .args(["encrypt", "-i", "--age", &self.key.public, name])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sops encrypt {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn sops(&self) -> Command {
        sops(self.sb, &self.key).unwrap()
    }

    fn sops_ok(&self, args: &[&str]) -> Vec<u8> {
        let out = self.sops().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "sops {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn ours(&self, args: &[&str]) -> std::process::Output {
        self.sb
            .cmd()
            .arg(args[0])
            .arg("-I")
            .arg(&self.key.file)
            .args(&args[1..])
            .output()
            .unwrap()
    }

    fn ours_ok(&self, args: &[&str]) -> Vec<u8> {
        let out = self.ours(args);
        assert!(
            out.status.success(),
            "secrets {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Both tools decrypt both files to `want` (sops's text, the input less blank lines).
    fn decrypts_to(&self, want: &str) {
        for file in ["ours.env", "theirs.env"] {
            let s = String::from_utf8(self.sops_ok(&["decrypt", file])).unwrap();
            assert_eq!(s, want, "sops decrypt {file}");
            let o = String::from_utf8(ours_decrypt(self.sb, &self.key, file, &[])).unwrap();
            assert_eq!(o.replace("\n\n", "\n"), want, "secrets decrypt {file}");
        }
    }

    /// For each (name, stored text, value): both tools' `--extract` give the stored text on
    /// both files, our `get` gives the value, and `export` (the `exec` flattening) too.
    fn values_are(&self, cases: &[(&str, &str, &str)]) {
        for file in ["ours.env", "theirs.env"] {
            let exported: Value =
                serde_json::from_slice(&self.ours_ok(&["export", "-f", file, "--format", "json"]))
                    .unwrap();
            for (key, stored, value) in cases {
                let path = format!("[\"{key}\"]");
                let s = self.sops_ok(&["decrypt", "--extract", &path, file]);
                assert_eq!(String::from_utf8(s).unwrap(), *stored, "sops {file} {key}");
                let o = self.ours_ok(&["decrypt", "--extract", &path, file]);
                assert_eq!(String::from_utf8(o).unwrap(), *stored, "ours {file} {key}");
                let g = self.ours_ok(&["get", file, key]);
                assert_eq!(String::from_utf8(g).unwrap(), *value, "get {file} {key}");
                let name = key.trim().trim_start_matches("export ").trim();
                assert_eq!(exported[name], **value, "export {file} {key}");
            }
        }
    }
}

/// Runs `sh` sourcing `file` and prints the named variables, one `NAME=[value]` a line.
fn sourced(sb: &Sandbox, file: &str, names: &[&str]) -> String {
    let script = names
        .iter()
        .map(|n| format!("printf '%s=[%s]\\n' {n} \"${n}\""))
        .collect::<Vec<_>>()
        .join("; ");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(". ./{file}; {script}"))
        .current_dir(sb.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The issue's case: a quoted value used to be stored unquoted by us and quoted by sops.
#[test]
fn quoted_values_mean_the_same_whichever_tool_encrypted() {
    let sb = Sandbox::new();
    let text = "# database\nDB_PASSWORD=\"p@ss word\"\nTOKEN=abc # note\nSINGLE='lit $x \\n y'\n\
                ESCAPED=\"a\\nb \\\"q\\\" \\\\ end\"\nHASH=\"abc # not a comment\"\n";
    let Some(p) = Pair::new(&sb, text) else {
        return;
    };
    p.decrypts_to(text);
    p.values_are(&[
        ("DB_PASSWORD", "\"p@ss word\"", "p@ss word"),
        ("TOKEN", "abc # note", "abc"),
        ("SINGLE", "'lit $x \n y'", "lit $x \\n y"),
        (
            "ESCAPED",
            "\"a\nb \\\"q\\\" \\\\ end\"",
            "a\nb \"q\" \\ end",
        ),
        ("HASH", "\"abc # not a comment\"", "abc # not a comment"),
    ]);
    // What sops decrypt prints for our file sources in a shell as the original does.
    let names = ["DB_PASSWORD", "TOKEN", "HASH"];
    sb.write("orig.env", text);
    let want = sourced(&sb, "orig.env", &names);
    assert!(want.contains("DB_PASSWORD=[p@ss word]"), "{want}");
    let s = p.sops_ok(&["decrypt", "ours.env"]);
    sb.write("from-sops.env", std::str::from_utf8(&s).unwrap());
    assert_eq!(sourced(&sb, "from-sops.env", &names), want);
    sb.write(
        "from-ours.env",
        std::str::from_utf8(&ours_decrypt(&sb, &p.key, "theirs.env", &[])).unwrap(),
    );
    assert_eq!(sourced(&sb, "from-ours.env", &names), want);
}

/// `export NAME=`, empty values, `=` in values, spaces around `=`, comments, blank lines
/// and a missing final newline: each line as sops keeps it.
#[test]
fn every_line_shape_round_trips_both_ways() {
    let sb = Sandbox::new();
    let text = "# top\n\nexport NAME=val\nEMPTY=\nQUOTED_EMPTY=\"\"\nEQ=a=b=c\nSP = spaced \n\n#c2\nLAST=x";
    let Some(p) = Pair::new(&sb, text) else {
        return;
    };
    // sops drops blank lines and adds the final newline; we keep the blank lines.
    p.decrypts_to(
        "# top\nexport NAME=val\nEMPTY=\nQUOTED_EMPTY=\"\"\nEQ=a=b=c\nSP = spaced \n#c2\nLAST=x\n",
    );
    assert_eq!(
        String::from_utf8(ours_decrypt(&sb, &p.key, "ours.env", &[])).unwrap(),
        format!("{text}\n")
    );
    p.values_are(&[
        ("export NAME", "val", "val"),
        ("EMPTY", "", ""),
        ("QUOTED_EMPTY", "\"\"", ""),
        ("EQ", "a=b=c", "a=b=c"),
        ("SP ", " spaced ", "spaced"),
        ("LAST", "x", "x"),
    ]);
    assert_eq!(p.ours_ok(&["get", "ours.env", "NAME"]), b"val");
    assert_eq!(p.ours_ok(&["get", "theirs.env", "SP"]), b"spaced");
}

/// A CRLF file: sops keeps each `\r` in the stored text (and in comments); so do we, and
/// decrypt gives back the CRLF lines; the values have no `\r`.
#[test]
fn crlf_lines_are_kept_as_sops_keeps_them() {
    let sb = Sandbox::new();
    // (sops refuses a CRLF blank line: "\r" holds no '='.)
    let text = "# c\r\nA=\"x y\"\r\nB=plain\r\nexport C='q'\r\n";
    let Some(p) = Pair::new(&sb, text) else {
        return;
    };
    p.decrypts_to(text);
    p.values_are(&[
        ("A", "\"x y\"\r", "x y"),
        ("B", "plain\r", "plain"),
        ("export C", "'q'\r", "q"),
    ]);
    // Our own CRLF blank lines come back as CRLF.
    let with_blank = "A=1\r\n\r\nB=2\r\n";
    p.encrypt_ours("blank.env", with_blank);
    assert_eq!(
        ours_decrypt(&sb, &p.key, "blank.env", &[]),
        with_blank.as_bytes()
    );
    assert_eq!(p.sops_ok(&["decrypt", "blank.env"]), b"A=1\r\nB=2\r\n");
}

/// A quoted value spanning lines: sops refuses it (the second line has no `=`); so do we,
/// naming the line and never the value. Written with `\n`, it works in both tools.
#[test]
fn values_spanning_lines_are_refused_like_sops_and_escaped_newlines_work() {
    let sb = Sandbox::new();
    let key = sb.key("k");
    let Some(_) = sops(&sb, &key) else { return };
    for text in ["A=\"hunter2\nhunter3\"\n", "A='hunter2\nhunter3'\n"] {
        sb.write("m.env", text);
        let out = sops(&sb, &key)
            .unwrap()
            .args(["encrypt", "--age", &key.public, "m.env"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "sops accepted {text:?}");
        let out = sb
            .cmd()
            .args(["encrypt", "--age", &key.public, "m.env"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("m.env") && err.contains("line 1"), "{err}");
        assert!(!err.contains("hunter"), "{err}");
    }
    let text = "PEM=\"-----BEGIN-----\\nabc\\n-----END-----\\n\"\n";
    let p = Pair::new(&sb, text).unwrap();
    p.decrypts_to(text);
    p.values_are(&[(
        "PEM",
        "\"-----BEGIN-----\nabc\n-----END-----\n\"",
        "-----BEGIN-----\nabc\n-----END-----\n",
    )]);
}

/// `set` stores the text that means the value: `get` gives back exactly what was set, and
/// `sops decrypt` prints a line a shell sources to it; on sops's file too.
#[test]
fn set_stores_a_line_that_means_the_value() {
    let sb = Sandbox::new();
    let text = "KEEP=\"p@ss word\"\n";
    let Some(p) = Pair::new(&sb, text) else {
        return;
    };
    for file in ["ours.env", "theirs.env"] {
        for (key, value, stored) in [
            ("PLAIN", "abc-1.2", "abc-1.2"),
            ("SPACED", "p@ss word", "'p@ss word'"),
            ("DOLLAR", "a$b `c` # d", "'a$b `c` # d'"),
            ("APOS", "it's", "\"it's\""),
            ("LINES", "l1\nl2", "\"l1\nl2\""),
        ] {
            p.ours_ok(&["set", file, key, value]);
            assert_eq!(
                p.ours_ok(&["get", file, key]),
                value.as_bytes(),
                "{file} {key}"
            );
            let path = format!("[\"{key}\"]");
            let s = p.sops_ok(&["decrypt", "--extract", &path, file]);
            assert_eq!(String::from_utf8(s).unwrap(), stored, "{file} {key}");
        }
        // A text that already means the value is kept as written: no change at all.
        let before = sb.read(file);
        p.ours_ok(&["set", file, "KEEP", "p@ss word"]);
        assert_eq!(sb.read(file), before);
        let s = p.sops_ok(&["decrypt", file]);
        sb.write("set.env", std::str::from_utf8(&s).unwrap());
        assert_eq!(
            sourced(&sb, "set.env", &["KEEP", "SPACED", "DOLLAR", "APOS"]),
            "KEEP=[p@ss word]\nSPACED=[p@ss word]\nDOLLAR=[a$b `c` # d]\nAPOS=[it's]\n"
        );
    }
}

/// A value of letters and symbols beyond ASCII is as safe unquoted as ASCII letters (for
/// sh, python-dotenv and compose): `set` stores it bare, the line `sops set` stores for the
/// same string, in our file and in sops's. Unicode spaces are trimmed by dotenv loaders, so
/// a value holding one is still quoted.
#[test]
fn set_stores_unicode_words_bare_as_sops_set_does() {
    let sb = Sandbox::new();
    let Some(p) = Pair::new(&sb, "A=x\nB=y\n") else {
        return;
    };
    for file in ["ours.env", "theirs.env"] {
        for value in ["s3t-välue", "日本語", "🔑key", "clé_ß"] {
            sb.write("o.env", &sb.read(file));
            sb.write("s.env", &sb.read(file));
            p.ours_ok(&["set", "o.env", "A", value]);
            p.sops_ok(&["set", "s.env", "[\"A\"]", &format!("{value:?}")]);
            for (args, what) in [
                (&["decrypt", "o.env"][..], "sops decrypt"),
                (
                    &["decrypt", "--extract", "[\"A\"]", "o.env"][..],
                    "sops --extract",
                ),
            ] {
                let theirs: Vec<&str> = args
                    .iter()
                    .map(|a| if *a == "o.env" { "s.env" } else { a })
                    .collect();
                assert_eq!(
                    String::from_utf8(p.sops_ok(args)).unwrap(),
                    String::from_utf8(p.sops_ok(&theirs)).unwrap(),
                    "{what} after set A {value:?} on {file}"
                );
            }
            assert_eq!(
                ours_decrypt(&sb, &p.key, "o.env", &[]),
                ours_decrypt(&sb, &p.key, "s.env", &[]),
                "{file} {value:?}"
            );
            assert_eq!(p.ours_ok(&["get", "o.env", "A"]), value.as_bytes());
        }
        for (value, stored) in [("a\u{a0}b", "'a\u{a0}b'"), ("\u{3000}x", "'\u{3000}x'")] {
            p.ours_ok(&["set", file, "B", value]);
            let s = p.sops_ok(&["decrypt", "--extract", "[\"B\"]", file]);
            assert_eq!(String::from_utf8(s).unwrap(), stored, "{file} {value:?}");
            assert_eq!(p.ours_ok(&["get", file, "B"]), value.as_bytes());
        }
    }
}

/// A line sops reads as a key but dotenv loaders as a comment (`  # note=x`): our reading
/// of sops's file keeps it (the MAC covers it), decrypt prints it back, exec skips it.
#[test]
fn indented_comment_with_equals_is_a_key_to_sops_and_no_variable() {
    let sb = Sandbox::new();
    let key = sb.key("k");
    let Some(_) = sops(&sb, &key) else { return };
    let p = Pair { sb: &sb, key };
    let text = "  # note=x\nA=1\n";
    p.encrypt_theirs("theirs.env", text);
    assert_eq!(
        ours_decrypt(&sb, &p.key, "theirs.env", &[]),
        text.as_bytes()
    );
    let exported: Value =
        serde_json::from_slice(&p.ours_ok(&["export", "-f", "theirs.env", "--format", "json"]))
            .unwrap();
    assert_eq!(exported, serde_json::json!({"A": "1"}));
    // Our `set` on it keeps the line for sops.
    p.ours_ok(&["set", "theirs.env", "A", "2"]);
    assert_eq!(p.sops_ok(&["decrypt", "theirs.env"]), b"  # note=x\nA=2\n");
}

/// A stored text no dotenv loader reads (sops accepts anything after `=`): `decrypt` and
/// `--extract` print it, `get` and `exec` fail naming the file and key, never the value.
#[test]
fn a_value_without_dotenv_meaning_fails_by_name() {
    let sb = Sandbox::new();
    let text = "BAD=\"hunter2-unclosed\nOK=1\n";
    let key = sb.key("k");
    let Some(_) = sops(&sb, &key) else { return };
    let p = Pair { sb: &sb, key };
    p.encrypt_theirs("theirs.env", text);
    assert_eq!(
        ours_decrypt(&sb, &p.key, "theirs.env", &[]),
        text.as_bytes()
    );
    for args in [
        &["get", "theirs.env", "BAD"][..],
        &["exec", "-f", "theirs.env", "--", "true"][..],
    ] {
        let out = p.ours(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("theirs.env") && err.contains("BAD"), "{err}");
        assert!(!err.contains("hunter"), "{err}");
    }
    assert_eq!(p.ours_ok(&["get", "theirs.env", "OK"]), b"1");
    // `exec --only` leaves the bad key out.
    let out = p.ours_ok(&[
        "exec",
        "-f",
        "theirs.env",
        "--only",
        "OK",
        "--",
        "printenv",
        "OK",
    ]);
    assert_eq!(out, b"1\n");
}

/// INI, the same questions: quoted values, `;` and `#` comments (own line and inline), CRLF,
/// empty values, keys before any section, backquotes and continuation lines. Both tools read
/// each file to the same values and print the same text, in both directions.
#[test]
fn ini_values_and_comments_match_sops_both_ways() {
    let sb = Sandbox::new();
    let key = sb.key("k");
    let Some(_) = sops(&sb, &key) else { return };
    let p = Pair { sb: &sb, key };
    for (i, text) in [
        "top = nosection\n; semicolon\n# hash\n[db]\ndq = \"p@ss word\"\nsq = 'single q'\n\
         inl = abc # note\ninl2 = abc ; note2\nempty =\nempty2 = \"\"\nbq = `back # tick`\n\
         eq = a=b\nhashq = \"abc # not a comment\"\nsp =    spaced   \n; before other\n[other]\nk = v\n",
        "[s]\r\nk = \"q v\"\r\n# c\r\nj = x ; inl\r\n\r\n[t]\r\nm = 1\r\n",
        "[s]\nk: colon\nq = has;semi\nt = \"\"\"tri\nple\"\"\"\nc = a\\\n  b\nm = 'it''s'\n",
        // comment lines as go-ini writes them: `; ` or the marker, a space, the line trimmed
        // (a section's comment keeps the spaces of its first line)
        "[s]\n#\tlead tab  \n#tight  \n;semi\t\nk = x #inl\n#  a  \n  ;b\nj = y\n\
         #\ttabsec  \n# two  \n;three\n[t]\nm = 1\n",
    ]
    .iter()
    .enumerate()
    {
        let (ours, theirs) = (format!("o{i}.ini"), format!("t{i}.ini"));
        p.encrypt_ours(&ours, text);
        p.encrypt_theirs(&theirs, text);
        let json = |out: Vec<u8>| norm(serde_json::from_slice::<Value>(&out).unwrap());
        let want = json(p.sops_ok(&["decrypt", "--output-type", "json", &theirs]));
        let want_text = p.sops_ok(&["decrypt", &theirs]);
        for file in [&ours, &theirs] {
            let s = json(p.sops_ok(&["decrypt", "--output-type", "json", file]));
            assert_eq!(s, want, "sops decrypt {file}");
            let o = json(ours_decrypt(&sb, &p.key, file, &["--output-type", "json"]));
            assert_eq!(o, want, "secrets decrypt {file}");
            assert_eq!(p.sops_ok(&["decrypt", file]), want_text, "sops text {file}");
            assert_eq!(
                ours_decrypt(&sb, &p.key, file, &[]),
                want_text,
                "secrets text {file}"
            );
        }
    }
}

/// What sops's INI format silently loses (a comment after the last key; the first of two
/// equal keys in a section, and its comment) is refused on encrypt, naming the line; sops
/// itself drops it, which is why.
#[test]
fn ini_plaintext_that_sops_would_lose_is_refused() {
    let sb = Sandbox::new();
    let key = sb.key("k");
    let Some(_) = sops(&sb, &key) else { return };
    let p = Pair { sb: &sb, key };
    for (text, line, lost) in [
        ("[s]\nk = v\n;debug = hunter2\n", 3, ";debug"),
        ("[s]\nk = hunter2 ; first\nk = v\n", 3, "hunter2"),
    ] {
        p.encrypt_theirs("t.ini", text);
        let s = String::from_utf8(p.sops_ok(&["decrypt", "t.ini"])).unwrap();
        assert!(
            !s.contains(lost) && !s.contains("first"),
            "sops kept it: {s}"
        );
        sb.write("o.ini", text);
        let out = sb
            .cmd()
            .args(["encrypt", "-i", "--age", &p.key.public, "o.ini"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{text:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("o.ini") && err.contains(&format!("line {line}")),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        assert_eq!(sb.read("o.ini"), text, "the file is left as it was");
    }
}

/// The `sops_…` metadata keys of a dotenv file, in file order.
fn metadata_keys(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .filter(|k| k.starts_with("sops_"))
        .map(str::to_string)
        .collect()
}

/// sops sorts a dotenv file's metadata keys (3.11 sorts the flattened names, so a stanza's
/// `enc` comes before its `recipient`): our files carry the same order, and a `set` on a
/// file sops wrote leaves its metadata lines where they were, so the diff shows only the
/// value, `lastmodified` and `mac`.
#[test]
fn metadata_lines_are_in_sops_order() {
    let sb = Sandbox::new();
    let Some(p) = Pair::new(&sb, "A=1\nB=2\n") else {
        return;
    };
    let theirs = metadata_keys(&sb.read("theirs.env"));
    assert!(theirs.len() >= 5, "{theirs:?}");
    assert_eq!(metadata_keys(&sb.read("ours.env")), theirs);
    p.ours_ok(&["set", "theirs.env", "C", "3"]);
    assert_eq!(metadata_keys(&sb.read("theirs.env")), theirs);
}
