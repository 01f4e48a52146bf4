//! Issue 9, cases 5, 8 and part of 9: numbers mean the same to sops and to us (the MAC
//! input of a value kept in clear is byte-identical, and no value changes silently), an
//! empty JSON object encrypts, `--extract` prints a number as sops does, and an ssh
//! recipient keeps its comment so that neither tool's `updatekeys` undoes the other's.

use super::*;

/// What we do with a number: keep it exactly, or refuse the file (naming file and key).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Want {
    Ok,
    Refuse,
}

/// One number edge: its text, what we must do with it in clear and encrypted, and how
/// both tools print it after decrypting our file (the same number: never rounded to
/// another one, never turned into `.inf`).
struct Case {
    text: &'static str,
    clear: Want,
    encrypted: Want,
    shown: &'static str,
}

const fn ok(text: &'static str) -> Case {
    shown(text, text)
}

/// Kept, and printed as Go prints that number.
const fn shown(text: &'static str, shown: &'static str) -> Case {
    Case {
        text,
        clear: Want::Ok,
        encrypted: Want::Ok,
        shown,
    }
}

const fn refused(text: &'static str) -> Case {
    Case {
        text,
        clear: Want::Refuse,
        encrypted: Want::Refuse,
        shown: text,
    }
}

/// An integer that sops (before 3.13.2) reads from JSON as a float64 that cannot hold
/// it: refused in clear (sops would hash and print the rounded number), exact encrypted
/// (sops decrypts `type:int` exactly).
const fn json_clear_refused(text: &'static str) -> Case {
    Case {
        text,
        clear: Want::Refuse,
        encrypted: Want::Ok,
        shown: text,
    }
}

const JSON_CASES: &[Case] = &[
    ok("9007199254740991"),
    ok("9007199254740992"),
    json_clear_refused("9007199254740993"),
    ok("9007199254740994"),
    ok("-9007199254740992"),
    json_clear_refused("-9007199254740993"),
    json_clear_refused("9223372036854775807"),
    json_clear_refused("-9223372036854775808"),
    // Beyond i64: a float64 either way; refused where it would change the number.
    refused("9223372036854775808"),
    refused("18446744073709551616"),
    refused("-9223372036854775809"),
    refused("123456789012345678901234567890"),
    ok("18446744073709552000"),
    shown("100000000000000000000000", "1e+23"),
    refused("1e400"),
    refused("-1e400"),
    // A float literal means the nearest float64, for sops and every JSON reader.
    shown("1e-400", "0"),
    ok("0.1"),
    shown("1e+06", "1000000"),
    shown("1.0", "1"),
    shown("-0.0", "-0"),
    ok("-0"),
    ok("5e-324"),
    shown("4.9e-324", "5e-324"),
    shown("1.7976931348623157e308", "1.7976931348623157e+308"),
    shown("1e300", "1e+300"),
    shown("1E21", "1e+21"),
    shown("1e20", "100000000000000000000"),
    ok("1e-7"),
    ok("1.5e+22"),
    shown("2.5E-5", "0.000025"),
];

const YAML_CASES: &[Case] = &[
    ok("9007199254740993"),
    ok("9223372036854775807"),
    ok("-9223372036854775808"),
    refused("9223372036854775808"),
    refused("18446744073709551616"),
    refused("-9223372036854775809"),
    refused("123456789012345678901234567890"),
    // go-yaml: a float that overflows (strconv.ParseFloat's ErrRange) stays a string.
    ok("1e400"),
    ok("-1e400"),
    ok("+1e400"),
    ok(".5e400"),
    ok("1_0e400"),
    shown("1e-400", "0"),
    ok("0.1"),
    ok("1e+06"),
    shown("1.0", "1"),
    ok("-0.0"),
    shown("-0", "0"),
    ok("5e-324"),
    shown("1.7976931348623157e308", "1.7976931348623157e+308"),
    shown("1e300", "1e+300"),
    shown("1E21", "1e+21"),
    shown("1e20", "1e+20"),
    shown("1e-7", "1e-07"),
    ok("1.5e+22"),
    shown("0x1F", "31"),
    shown("0o17", "15"),
    shown("012", "10"),
    shown("1_000", "1000"),
    ok(".inf"),
    shown("-.Inf", "-.inf"),
    ok(".nan"),
];

fn plain(ext: &str, v: &str) -> String {
    if ext == "json" {
        format!("{{\n\t\"num\": {v},\n\t\"password\": \"x\"\n}}\n")
    } else {
        format!("num: {v}\npassword: x\n")
    }
}

/// Runs a command; (success, stdout, stderr).
fn run(mut c: Command) -> (bool, String, String) {
    let out = c.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ours(sb: &Sandbox, key: &Key, args: &[&str]) -> (bool, String, String) {
    let mut c = sb.std_cmd();
    c.env("SOPS_AGE_KEY_FILE", &key.file).args(args);
    run(c)
}

fn theirs(sb: &Sandbox, key: &Key, args: &[&str]) -> (bool, String, String) {
    let mut c = sops(sb, key).unwrap();
    c.args(args);
    run(c)
}

/// The `num` value of a decrypted document, as text.
fn n_of(ext: &str, text: &str) -> String {
    let line = text
        .lines()
        .find(|l| {
            l.trim_start()
                .starts_with(if ext == "json" { "\"num\"" } else { "num:" })
        })
        .unwrap_or("");
    let v = line.split_once(':').map_or("", |(_, v)| v);
    v.trim().trim_end_matches(',').to_string()
}

/// The same decrypted text from both tools; the one difference we keep: a YAML float
/// `-0.0` prints as `-0.0` (sops prints `-0`, which reads back as the int 0).
fn same(ext: &str, case: &str, sops_out: &str, our_out: &str) -> bool {
    sops_out == our_out
        || (ext == "yaml"
            && case == "-0.0"
            && n_of(ext, sops_out) == "-0"
            && n_of(ext, our_out) == "-0.0"
            && sops_out.replace("num: -0", "num: -0.0") == our_out)
}

/// Both tools, both directions, every number edge: encrypting with one tool and
/// decrypting with the other gives the same text, the MAC verifies in both, and a number
/// that sops would change (or that a float64 cannot hold) is refused by us with an error
/// naming the file and the key, never the value.
fn number_edges(ext: &str, cases: &[Case]) {
    let sb = Sandbox::new();
    let key = sb.key("n");
    let Some(_) = sops(&sb, &key) else { return };
    let mut problems = Vec::new();
    for case in cases {
        for clear in [true, false] {
            let want = if clear { case.clear } else { case.encrypted };
            let label = format!(
                "{ext} {} {}",
                case.text,
                if clear { "clear" } else { "encrypted" }
            );
            let text = plain(ext, case.text);
            let mut rules: Vec<&str> = vec!["--age", &key.public];
            if clear {
                rules.extend(["--encrypted-regex", "^password$"]);
            }
            // Ours -> sops.
            let ours_name = format!("o.{ext}");
            sb.write(&ours_name, &text);
            let mut args = vec!["encrypt", "-i"];
            args.extend(&rules);
            args.push(&ours_name);
            let (ok, _, err) = ours(&sb, &key, &args);
            match (want, ok) {
                (Want::Refuse, true) => problems.push(format!("{label}: we encrypted it")),
                (Want::Refuse, false) => {
                    let digits = case.text.trim_start_matches(['-', '+']);
                    if !err.contains(&ours_name) || !err.contains("\"num\"") || err.contains(digits)
                    {
                        problems.push(format!("{label}: unclear refusal: {err}"));
                    }
                }
                (Want::Ok, false) => problems.push(format!("{label}: we refused: {err}")),
                (Want::Ok, true) => {
                    let (sok, sout, serr) = theirs(&sb, &key, &["decrypt", &ours_name]);
                    let (ook, oout, oerr) = ours(&sb, &key, &["decrypt", &ours_name]);
                    if !sok {
                        problems.push(format!("{label}: sops cannot read ours: {serr}"));
                    } else if !ook {
                        problems.push(format!("{label}: we cannot read ours: {oerr}"));
                    } else if n_of(ext, &oout) != case.shown {
                        problems.push(format!("{label}: we print {:?}", n_of(ext, &oout)));
                    } else if !same(ext, case.text, &sout, &oout) {
                        problems.push(format!(
                            "{label}: ours, decrypted: sops {sout:?} us {oout:?}"
                        ));
                    }
                }
            }
            // Sops -> ours.
            let theirs_name = format!("s.{ext}");
            sb.write(&theirs_name, &text);
            let mut args = vec!["encrypt", "-i"];
            args.extend(&rules);
            args.push(&theirs_name);
            let (sok, _, _) = theirs(&sb, &key, &args);
            if !sok {
                if want == Want::Ok {
                    problems.push(format!("{label}: sops refuses what we accept"));
                }
                continue;
            }
            let (sok, sout, serr) = theirs(&sb, &key, &["decrypt", &theirs_name]);
            let (ook, oout, oerr) = ours(&sb, &key, &["decrypt", &theirs_name]);
            if !sok {
                // sops 3.11 writes YAML `-0.0` in clear as `-0` (an int) with the MAC of
                // the float: it cannot read its own file, nor can we.
                if !(case.text == "-0.0" && ext == "yaml" && clear) {
                    problems.push(format!("{label}: sops cannot read its own file: {serr}"));
                }
                continue;
            }
            if !ook {
                problems.push(format!("{label}: we cannot read sops's file: {oerr}"));
            } else if !same(ext, case.text, &sout, &oout) {
                problems.push(format!(
                    "{label}: sops's, decrypted: sops {sout:?} us {oout:?}"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn json_numbers_mean_the_same_to_sops_and_to_us() {
    number_edges("json", JSON_CASES);
}

#[test]
fn yaml_numbers_mean_the_same_to_sops_and_to_us() {
    number_edges("yaml", YAML_CASES);
}

/// `set` cannot put an integer in clear that sops would read rounded, and the file is
/// left as it was.
#[test]
fn set_refuses_a_json_integer_sops_would_round_in_clear() {
    let sb = Sandbox::new();
    let key = sb.key("n");
    sb.write("s.json", "{\n\t\"id\": 1,\n\t\"password\": \"x\"\n}\n");
    let (ok, _, err) = ours(
        &sb,
        &key,
        &[
            "encrypt",
            "-i",
            "--age",
            &key.public,
            "--encrypted-regex",
            "^password$",
            "s.json",
        ],
    );
    assert!(ok, "{err}");
    let before = sb.read("s.json");
    let (ok, _, err) = ours(
        &sb,
        &key,
        &["set", "--json", "s.json", "id", "9007199254740993"],
    );
    assert!(!ok && err.contains("s.json") && err.contains("id"), "{err}");
    assert!(!err.contains("9007199254740993"), "{err}");
    assert_eq!(sb.read("s.json"), before);
    // Encrypted, the same integer is exact for both tools.
    let (ok, _, err) = ours(
        &sb,
        &key,
        &["set", "--json", "s.json", "password", "9007199254740993"],
    );
    assert!(ok, "{err}");
    if sops(&sb, &key).is_some() {
        let (ok, out, err) = theirs(
            &sb,
            &key,
            &["decrypt", "--extract", "[\"password\"]", "s.json"],
        );
        assert!(ok, "{err}");
        assert_eq!(out, "9007199254740993");
    }
}

/// sops encrypts `{}`; so do we, and each tool reads the other's.
#[test]
fn an_empty_json_object_encrypts_like_sops() {
    let sb = Sandbox::new();
    let key = sb.key("e");
    let Some(_) = sops(&sb, &key) else { return };
    sb.write("ours.json", "{}\n");
    sb.write("theirs.json", "{}\n");
    let (ok, _, err) = ours(
        &sb,
        &key,
        &["encrypt", "-i", "--age", &key.public, "ours.json"],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = theirs(
        &sb,
        &key,
        &["encrypt", "-i", "--age", &key.public, "theirs.json"],
    );
    assert!(ok, "{err}");
    for name in ["ours.json", "theirs.json"] {
        let (sok, sout, serr) = theirs(&sb, &key, &["decrypt", name]);
        let (ook, oout, oerr) = ours(&sb, &key, &["decrypt", name]);
        assert!(sok && ook, "{name}: sops {serr} us {oerr}");
        assert_eq!(oout, sout, "{name}");
        assert_eq!(oout, "{}\n", "{name}");
    }
}

/// JSON keys and strings are escaped as sops (Go's encoding/json) escapes them: `<`, `>`,
/// `&`, U+2028 and U+2029 as `\u003c` …, control characters as `\b`, `\f`, `\u0001`. Both
/// tools decrypt both files to the same text, and our `set` on sops's file leaves every
/// other line as sops wrote it, clear values included (it rewrote each clear value holding
/// one of these characters).
#[test]
fn json_strings_are_escaped_as_sops_escapes_them() {
    let sb = Sandbox::new();
    let key = sb.key("j");
    let Some(_) = sops(&sb, &key) else { return };
    let text = "{\n\t\"a<b>&c\": \"x<y>&z\",\n\
                \t\"ctl\": \"\\u0001\\b\\f\\n\\r\\t\\u001f\\u007f\",\n\
                \t\"ls\": \"\\u2028\\u2029 ünï 🔑 \\/\",\n\
                \t\"password\": \"p\",\n\
                \t\"url_unencrypted\": {\n\t\t\"q\": \"http://x/?a=1&b=<2>\",\n\
                \t\t\"k&\": [\"<\", \">\"]\n\t}\n}\n";
    sb.write("ours.json", text);
    sb.write("theirs.json", text);
    let (ok, _, err) = ours(
        &sb,
        &key,
        &["encrypt", "-i", "--age", &key.public, "ours.json"],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = theirs(
        &sb,
        &key,
        &["encrypt", "-i", "--age", &key.public, "theirs.json"],
    );
    assert!(ok, "{err}");
    let (ok, want, err) = theirs(&sb, &key, &["decrypt", "theirs.json"]);
    assert!(ok, "{err}");
    assert!(
        want.contains(r#""a\u003cb\u003e\u0026c": "x\u003cy\u003e\u0026z""#)
            && want.contains(r#""\u0001\b\f\n\r\t\u001f"#)
            && want.contains(r#""\u2028\u2029 ünï 🔑 /""#),
        "sops 3.11 escapes differently now: {want}"
    );
    for name in ["ours.json", "theirs.json"] {
        let (sok, sout, serr) = theirs(&sb, &key, &["decrypt", name]);
        let (ook, oout, oerr) = ours(&sb, &key, &["decrypt", name]);
        assert!(sok && ook, "{name}: sops {serr} us {oerr}");
        assert_eq!(sout, want, "sops decrypt {name}");
        assert_eq!(oout, want, "secrets decrypt {name}");
    }
    // `set` on sops's file: the lines that change are those `sops set` changes.
    let before = sb.read("theirs.json");
    sb.write("s1.json", &before);
    sb.write("s2.json", &before);
    let (ok, _, err) = ours(&sb, &key, &["set", "s1.json", "password", "q&"]);
    assert!(ok, "{err}");
    let (ok, _, err) = theirs(&sb, &key, &["set", "s2.json", "[\"password\"]", "\"q&\""]);
    assert!(ok, "{err}");
    // (the data lines: the `sops` metadata's key order is a documented layout choice)
    let data = |t: &str| -> Vec<String> {
        t.lines()
            .take_while(|l| l.trim_start() != "\"sops\": {")
            .map(String::from)
            .collect()
    };
    let changed = |name: &str| -> Vec<usize> {
        let (a, b) = (data(&before), data(&sb.read(name)));
        assert_eq!(a.len(), b.len(), "{name}");
        (a.iter().zip(&b).enumerate())
            .filter(|(_, (x, y))| x != y)
            .map(|(i, _)| i + 1)
            .collect()
    };
    assert_eq!(
        changed("s1.json"),
        changed("s2.json"),
        "lines changed by set"
    );
    let (ok, d1, err) = theirs(&sb, &key, &["decrypt", "s1.json"]);
    assert!(ok, "{err}");
    let (ok, d2, err) = theirs(&sb, &key, &["decrypt", "s2.json"]);
    assert!(ok, "{err}");
    assert_eq!(d1, d2);
}

/// `decrypt --extract` of a number prints what sops prints, byte for byte (YAML: go-yaml's
/// text and a newline; JSON: Go's json text), and `get` prints the same number text.
#[test]
fn extract_prints_numbers_as_sops_does() {
    let sb = Sandbox::new();
    let key = sb.key("x");
    let Some(_) = sops(&sb, &key) else { return };
    sb.write(
        "x.yaml",
        "g: 1e+06\nh: 1e21\nk: 1e-7\nl: 0.5\ni: 7\nj: 1.0\nb: true\ns: text\nz: -0.0\n",
    );
    sb.write(
        "x.json",
        "{\n\t\"g\": 1e+06,\n\t\"h\": 1e21,\n\t\"k\": 1e-7,\n\t\"l\": 0.5,\n\t\"i\": 7,\n\t\"b\": true,\n\t\"s\": \"text\"\n}\n",
    );
    for (name, keys) in [
        ("x.yaml", &["g", "h", "k", "l", "i", "j", "b", "s"][..]),
        ("x.json", &["g", "h", "k", "l", "i", "b", "s"][..]),
    ] {
        let (ok, _, err) = theirs(&sb, &key, &["encrypt", "-i", "--age", &key.public, name]);
        assert!(ok, "{err}");
        for k in keys {
            let path = format!("[\"{k}\"]");
            let (sok, sout, serr) = theirs(&sb, &key, &["decrypt", "--extract", &path, name]);
            let (ook, oout, oerr) = ours(&sb, &key, &["decrypt", "--extract", &path, name]);
            assert!(sok && ook, "{name} {k}: sops {serr} us {oerr}");
            assert_eq!(oout, sout, "{name} {k}: --extract");
            let (gok, gout, gerr) = ours(&sb, &key, &["get", name, k]);
            assert!(gok, "{gerr}");
            assert_eq!(gout, sout.trim_end_matches('\n'), "{name} {k}: get");
        }
    }
}

/// go-yaml decodes `!!binary` to its bytes: sops stores and prints `hello`, not the base64
/// text. Needs the tag resolution in src/store/yaml/scalar.rs (see the report of this
/// branch); ignored until then.
#[test]
fn yaml_binary_tag_decodes_like_sops() {
    let sb = Sandbox::new();
    let key = sb.key("b");
    let Some(_) = sops(&sb, &key) else { return };
    sb.write("p.yaml", "a: !!binary aGVsbG8=\nb: x\n");
    let (ok, _, err) = ours(
        &sb,
        &key,
        &["encrypt", "--age", &key.public, "-o", "o.yaml", "p.yaml"],
    );
    // (sops writes to --output, we to -o)
    assert!(ok, "{err}");
    let (ok, _, err) = theirs(
        &sb,
        &key,
        &[
            "encrypt",
            "--age",
            &key.public,
            "--output",
            "s.yaml",
            "p.yaml",
        ],
    );
    assert!(ok, "{err}");
    for name in ["o.yaml", "s.yaml"] {
        let (sok, sout, serr) = theirs(&sb, &key, &["decrypt", name]);
        let (ook, oout, oerr) = ours(&sb, &key, &["decrypt", name]);
        assert!(sok && ook, "{name}: sops {serr} us {oerr}");
        assert_eq!(oout, sout, "{name}");
        assert_eq!(oout, "a: hello\nb: x\n", "{name}");
    }
}

/// An ssh recipient is stored as configured, comment included (as sops stores it), and a
/// recipient is the same recipient whatever its comment: after either tool's
/// `updatekeys`, the other's changes nothing, byte for byte.
#[test]
fn ssh_recipient_comments_survive_updatekeys_in_both_tools() {
    let sb = Sandbox::new();
    let age_key = sb.key("alice");
    let Some(_) = sops(&sb, &age_key) else { return };
    let Some(keygen) = oracle("ssh-keygen", on_path("ssh-keygen")) else {
        return;
    };
    let st = Command::new(keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
        .arg(sb.path("id_ed25519"))
        .status()
        .unwrap();
    assert!(st.success());
    let ssh_pub = sb.read("id_ed25519.pub").trim().to_string();
    assert!(ssh_pub.ends_with(" test"), "{ssh_pub}");
    let bare = ssh_pub.trim_end_matches(" test").to_string();
    let rules = |extra: &str| {
        format!(
            "creation_rules:\n  - path_regex: .*\n    age: \"{},{ssh_pub}{extra}\"\n",
            age_key.public
        )
    };
    sb.write(".sops.yaml", &rules(""));
    let stored = format!("recipient: {ssh_pub}\n");

    // sops writes; our updatekeys changes nothing.
    sb.write("s.yaml", "pw: hunter2\n");
    let (ok, _, err) = theirs(&sb, &age_key, &["encrypt", "-i", "s.yaml"]);
    assert!(ok, "{err}");
    let before = sb.read("s.yaml");
    assert!(before.contains(&stored), "{before}");
    let (ok, _, err) = ours(&sb, &age_key, &["updatekeys", "s.yaml"]);
    assert!(ok, "{err}");
    assert_eq!(
        sb.read("s.yaml"),
        before,
        "our updatekeys rewrote sops's file"
    );

    // We write (the comment kept); sops's updatekeys and ours change nothing.
    sb.write("o.yaml", "pw: hunter2\n");
    let (ok, _, err) = ours(&sb, &age_key, &["encrypt", "-i", "o.yaml"]);
    assert!(ok, "{err}");
    let before = sb.read("o.yaml");
    assert!(before.contains(&stored), "{before}");
    let (ok, _, err) = theirs(&sb, &age_key, &["updatekeys", "-y", "o.yaml"]);
    assert!(ok, "{err}");
    assert_eq!(
        sb.read("o.yaml"),
        before,
        "sops updatekeys rewrote our file"
    );
    let (ok, _, err) = ours(&sb, &age_key, &["updatekeys", "o.yaml"]);
    assert!(ok, "{err}");
    assert_eq!(sb.read("o.yaml"), before);

    // A stanza stored without the comment is the same recipient: not rewrapped by us.
    sb.write("b.yaml", "pw: hunter2\n");
    let recipients = format!("{},{bare}", age_key.public);
    let (ok, _, err) = ours(
        &sb,
        &age_key,
        &["encrypt", "-i", "--age", &recipients, "b.yaml"],
    );
    assert!(ok, "{err}");
    let before = sb.read("b.yaml");
    assert!(before.contains(&format!("recipient: {bare}\n")), "{before}");
    let (ok, _, err) = ours(&sb, &age_key, &["updatekeys", "b.yaml"]);
    assert!(ok, "{err}");
    assert_eq!(sb.read("b.yaml"), before);
    // (sops compares whole strings: it re-adds the comment once; then both are quiet.)
    let (ok, _, err) = theirs(&sb, &age_key, &["updatekeys", "-y", "b.yaml"]);
    assert!(ok, "{err}");
    let after_sops = sb.read("b.yaml");
    assert!(after_sops.contains(&stored), "{after_sops}");
    let (ok, _, err) = ours(&sb, &age_key, &["updatekeys", "b.yaml"]);
    assert!(ok, "{err}");
    assert_eq!(sb.read("b.yaml"), after_sops);

    // A new member: we add their stanza and keep the ssh one byte for byte (comment
    // included); sops then finds nothing to change.
    let carol = sb.key("carol");
    sb.write(".sops.yaml", &rules(&format!(",{}", carol.public)));
    let before = sb.read("s.yaml");
    let (ok, _, err) = ours(&sb, &age_key, &["updatekeys", "s.yaml"]);
    assert!(ok, "{err}");
    let after = sb.read("s.yaml");
    assert!(
        after.contains(&stored) && after.contains(&carol.public),
        "{after}"
    );
    let ssh_stanza = |t: &str| {
        let i = t.find(&stored).unwrap();
        t[i..].lines().take(3).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(ssh_stanza(&after), ssh_stanza(&before));
    let (ok, _, err) = theirs(&sb, &age_key, &["updatekeys", "-y", "s.yaml"]);
    assert!(ok, "{err}");
    assert_eq!(
        sb.read("s.yaml"),
        after,
        "sops updatekeys rewrote our update"
    );
    // And the ssh identity alone still opens it.
    let mut c = sb.std_cmd();
    c.args(["decrypt", "-I", "id_ed25519", "s.yaml"]);
    let (ok, out, err) = run(c);
    assert!(ok && out == "pw: hunter2\n", "{err}");
}

/// The encryption rules settle as sops settles them: `--mac-only-encrypted` alone keeps
/// the default `_unencrypted` suffix (before, the suffix was dropped: `b_unencrypted` was
/// encrypted, no suffix stored, and sops refused the file for its MAC); a flag and the
/// creation rule's other settings combine; two selection rules in all are refused. Each
/// file is checked by the real sops and against the one sops writes from the same input.
#[test]
fn encryption_rules_settle_as_sops_settles_them() {
    let sb = Sandbox::new();
    let key = sb.key("r");
    let Some(_) = sops(&sb, &key) else { return };
    let plain = "a: 1\nb_unencrypted: 2\ndata: 3\n";
    let stored = |file: &str, name: &str| {
        let text = sb.read(file);
        let clear = text.lines().any(|l| l == format!("{name}: 2"));
        let suffix = text.contains("unencrypted_suffix: _unencrypted");
        (clear, suffix)
    };
    let mac_rule = format!(
        "creation_rules:\n  - age: {}\n    mac_only_encrypted: true\n",
        key.public
    );
    for (rules_file, flags) in [
        ("", &["--mac-only-encrypted"][..]),
        (mac_rule.as_str(), &[][..]),
        (mac_rule.as_str(), &["--encrypted-regex", "^(a|data)$"][..]),
    ] {
        if rules_file.is_empty() {
            let _ = std::fs::remove_file(sb.path(".sops.yaml"));
        } else {
            sb.write(".sops.yaml", rules_file);
        }
        let mut args = vec!["encrypt", "--age", &key.public];
        args.extend_from_slice(flags);
        sb.write("in.yaml", plain);
        let (ok, out, err) = ours(&sb, &key, &[&args[..], &["in.yaml"]].concat());
        assert!(ok, "{flags:?}: {err}");
        sb.write("ours.yaml", &out);
        // (sops takes --mac-only-encrypted before the command, as a global flag)
        let (global, local): (Vec<&str>, Vec<&str>) =
            flags.iter().partition(|f| **f == "--mac-only-encrypted");
        let their_args = [
            &global[..],
            &["encrypt", "--age", &key.public],
            &local[..],
            &["in.yaml"],
        ]
        .concat();
        let (ok, out, err) = theirs(&sb, &key, &their_args);
        assert!(ok, "{flags:?}: {err}");
        sb.write("theirs.yaml", &out);
        assert_eq!(
            stored("ours.yaml", "b_unencrypted"),
            stored("theirs.yaml", "b_unencrypted"),
            "{rules_file} {flags:?}: ours\n{}\ntheirs\n{}",
            sb.read("ours.yaml"),
            sb.read("theirs.yaml")
        );
        // (sops 3.11 stores no mac_only_encrypted for its global flag given to
        // `encrypt`; from the creation rule it does)
        assert!(sb.read("ours.yaml").contains("mac_only_encrypted: true"));
        let (ok, out, err) = theirs(&sb, &key, &["decrypt", "ours.yaml"]);
        assert!(ok, "{rules_file} {flags:?}: sops: {err}");
        assert_eq!(out, plain);
    }
    // A flag's selection rule beside the creation rule's: refused by both.
    sb.write("in.yaml", plain);
    sb.write(
        ".sops.yaml",
        &format!(
            "creation_rules:\n  - age: {}\n    encrypted_regex: ^a$\n",
            key.public
        ),
    );
    let args = [
        "encrypt",
        "--age",
        &key.public,
        "--unencrypted-suffix",
        "_x",
        "in.yaml",
    ];
    let (ok, _, err) = ours(&sb, &key, &args);
    assert!(!ok && err.contains("more than one"), "{err}");
    let (ok, _, _) = theirs(&sb, &key, &args);
    assert!(!ok, "sops refuses it too");
}

/// Bytes that are not UTF-8 (a YAML `!!binary` value, a binary file's `data`) come out of
/// `decrypt --extract` and `get` as they are, as sops prints them; before, each bad byte
/// became U+FFFD.
#[test]
fn bytes_that_are_not_utf8_are_extracted_as_they_are() {
    let sb = Sandbox::new();
    let key = sb.key("b");
    let raw = |mut c: Command| {
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let ours_raw = |args: &[&str]| {
        let mut c = sb.std_cmd();
        c.env("SOPS_AGE_KEY_FILE", &key.file).args(args);
        raw(c)
    };
    sb.write("b.yaml", "k: !!binary //4A\n");
    let (ok, out, err) = ours(&sb, &key, &["encrypt", "--age", &key.public, "b.yaml"]);
    assert!(ok, "{err}");
    sb.write("sb.yaml", &out);
    let expected = vec![0xff, 0xfe, 0x00];
    assert_eq!(
        ours_raw(&["decrypt", "--extract", "[\"k\"]", "sb.yaml"]),
        expected
    );
    assert_eq!(ours_raw(&["get", "sb.yaml", "k"]), expected);
    let bytes: Vec<u8> = (0..=255u8).rev().collect();
    std::fs::write(sb.path("r.bin"), &bytes).unwrap();
    let enc = ours_raw(&["encrypt", "--age", &key.public, "r.bin"]);
    std::fs::write(sb.path("e.bin"), enc).unwrap();
    assert_eq!(ours_raw(&["get", "e.bin", "data"]), bytes);
    if let Some(mut c) = sops(&sb, &key) {
        c.args(["decrypt", "--extract", "[\"k\"]", "sb.yaml"]);
        assert_eq!(raw(c), expected, "sops prints the same bytes");
    }
}

/// sops picks a format from the exact lower-case extension only: `.env.production` and
/// `c.YAML` are binary files to it. Such a file written by sops is read as the binary file
/// it is, whatever its name says to us (before: a dotenv syntax error, and `data: |` plus
/// the raw text for the YAML name).
#[test]
fn a_sops_binary_file_under_another_formats_name_is_read_as_binary() {
    let sb = Sandbox::new();
    let key = sb.key("x");
    let Some(_) = sops(&sb, &key) else { return };
    for (name, plain) in [
        (".env.production", "DB_PASS=hunter2\n"),
        ("c.YAML", "a: 1\n"),
        ("prod.Env", "A=1\n"),
    ] {
        sb.write(name, plain);
        let (ok, out, err) = theirs(&sb, &key, &["encrypt", "--age", &key.public, name]);
        assert!(ok, "{name}: {err}");
        assert!(
            out.trim_start().starts_with('{'),
            "{name}: sops wrote it as binary"
        );
        sb.write(name, &out);
        let (ok, out, err) = ours(&sb, &key, &["decrypt", name]);
        assert!(ok, "{name}: {err}");
        assert_eq!(out, plain, "{name}");
        let (ok, out, err) = ours(&sb, &key, &["get", name, "data"]);
        assert!(ok, "{name}: {err}");
        assert_eq!(out, plain, "{name}");
    }
}
