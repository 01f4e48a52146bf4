//! `secrets export` end to end: real encrypted files made with the real CLI, every format
//! read back by a real consumer (a POSIX `sh` for shell output, our own dotenv store via
//! `secrets encrypt` + `secrets exec`, JSON and YAML parsers, base64 for the k8s manifest,
//! the file system for the Docker secrets directory).

use std::path::Path;
use std::process::Command;

use secrets::model::{Node, Plain};
use secrets::store::Format;

mod common;
use common::KeyedSandbox as Sandbox;

/// Values that break naive quoting: quotes, `$`, backslashes, newlines, unicode, `#`.
const TRICKY: &[(&str, &str)] = &[
    ("DATABASE_HOST", "db.internal"),
    ("DATABASE_PASSWORD", "p@ss w'rd \"$HOME\" `id` \\n #x"),
    ("MULTI", "line one\nline two"),
    ("UNICODE", "héllo ✓"),
    ("EMPTY", ""),
    ("NO", "NO"),
];

fn tricky_yaml() -> String {
    let mut s = String::from("database:\n");
    s.push_str("  host: db.internal\n");
    s.push_str("  password: \"p@ss w'rd \\\"$HOME\\\" `id` \\\\n #x\"\n");
    s.push_str("multi: \"line one\\nline two\"\n");
    s.push_str("unicode: héllo ✓\n");
    s.push_str("empty: \"\"\n");
    s.push_str("no: \"NO\"\n");
    s
}

fn expected() -> Vec<(String, String)> {
    TRICKY
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A YAML or JSON document parsed by the project's own (sops-compatible) parser.
fn parse(format: Format, bytes: &[u8]) -> Vec<secrets::model::Branch<Plain>> {
    secrets::engine::parse_plain(Path::new("out"), format, bytes)
        .unwrap()
        .0
}

fn text(node: Option<&Node<Plain>>) -> String {
    match node {
        Some(Node::Leaf(l)) => l.scalar().to_text().to_string(),
        other => panic!("not a leaf: {other:?}"),
    }
}

#[test]
fn shell_output_evaluated_by_sh() {
    let sb = Sandbox::new();
    let f = sb.encrypted("app.yaml", &tricky_yaml());
    let out = sb.ok(&["export", "-f", &f, "--format", "shell"]);
    std::fs::write(sb.path("env.sh"), &out).unwrap();
    for (name, value) in expected() {
        let script = format!("eval \"$(cat env.sh)\"; printf %s \"${name}\"");
        let got = Command::new("sh")
            .args(["-c", &script])
            .current_dir(sb.dir())
            .env_remove("HOME")
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(got.stdout).unwrap(), value, "{name}");
    }
    // Exported: a child of the evaluating shell sees them.
    let got = Command::new("sh")
        .args(["-c", ". ./env.sh; sh -c 'printf %s \"$DATABASE_HOST\"'"])
        .current_dir(sb.dir())
        .output()
        .unwrap();
    assert_eq!(got.stdout, b"db.internal");
}

#[test]
fn dotenv_round_trips_through_encrypt_and_exec() {
    let sb = Sandbox::new();
    let f = sb.encrypted("app.yaml", &tricky_yaml());
    let out = sb.ok(&["export", "-f", &f, "--format", "dotenv"]);
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.starts_with("DATABASE_HOST=db.internal\n"), "{text}");
    assert!(text.contains("\nNO=NO\n"));
    // The dotenv output is a valid dotenv file: encrypt it, run with it, same values.
    std::fs::write(sb.path("exported.env"), &out).unwrap();
    let e = sb.encrypted("exported.env", &text);
    exec_sees(&sb, &e, &expected());
}

/// Each of `values` as `exec -f file` hands it to a program.
fn exec_sees(sb: &Sandbox, file: &str, values: &[(impl AsRef<str>, impl AsRef<str>)]) {
    for (name, value) in values {
        let (name, value) = (name.as_ref(), value.as_ref());
        let got = sb.ok(&[
            "exec",
            "-f",
            file,
            "--",
            "sh",
            "-c",
            &format!("printf %s \"${name}\""),
        ]);
        assert_eq!(String::from_utf8(got).unwrap(), value, "{name}");
    }
}

/// A python with python-dotenv (the loader Django and Flask projects use): the pinned one
/// `.ci/run` installs under `.tools/pydotenv`, else a `python3` that has it. Missing, the
/// test fails (an oracle that cannot run is not a pass).
fn python_dotenv() -> std::path::PathBuf {
    let pinned = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/pydotenv/bin/python");
    if pinned.is_file() {
        return pinned;
    }
    let has = Command::new("python3")
        .args(["-c", "import dotenv"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        has,
        "python-dotenv not found: `bash .ci/run` installs it under .tools/pydotenv"
    );
    "python3".into()
}

/// The dotenv output read by python-dotenv (`interpolate=False`, as docs/exec.md says)
/// gives every value back: backslashes included (`'C:\build\'` did not parse and
/// `'\\server'` lost half its backslashes, inside single quotes).
#[test]
fn dotenv_output_is_read_back_by_python_dotenv() {
    let sb = Sandbox::new();
    let values: &[(&str, &str)] = &[
        ("WIN_DIR", "C:\\build\\"),
        ("UNC", "\\\\server\\share"),
        ("DB_URL", "postgres://u:p w@h/db"),
        ("MIXED", "a\\b c"),
        ("QUOTES", "it's \"x\" \\ y"),
        ("MULTI", "one\ntwo"),
        ("DOLLAR", "a $HOME ${HOME} b"),
    ];
    let json = serde_json::Value::Object(
        values
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
            .collect(),
    );
    let f = sb.encrypted("app.json", &json.to_string());
    let out = sb.ok(&["export", "-f", &f, "--format", "dotenv"]);
    std::fs::write(sb.path("out.env"), &out).unwrap();
    let read = Command::new(python_dotenv())
        .args([
            "-c",
            "import dotenv, json, sys; print(json.dumps(dotenv.dotenv_values(sys.argv[1], interpolate=False)))",
            "out.env",
        ])
        .current_dir(sb.dir())
        .output()
        .unwrap();
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&read.stdout).unwrap();
    for (k, v) in values {
        assert_eq!(got[*k], *v, "{k}: {}", String::from_utf8_lossy(&out));
    }
    // And by us: the file encrypted, each value as exec hands it out.
    let e = sb.encrypted("exported.env", &String::from_utf8(out).unwrap());
    exec_sees(&sb, &e, values);
}

#[test]
fn json_and_yaml() {
    let sb = Sandbox::new();
    let f = sb.encrypted("app.yaml", &tricky_yaml());
    let out = sb.ok(&["export", "-f", &f, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let obj = v.as_object().unwrap();
    assert_eq!(obj.len(), TRICKY.len());
    for (name, value) in expected() {
        assert_eq!(obj[&name], value.as_str(), "{name}");
    }
    let keys: Vec<_> = obj.keys().cloned().collect();
    assert_eq!(keys[0], "DATABASE_HOST", "file order kept");

    let out = sb.ok(&["export", "-f", &f, "--format", "yaml"]);
    let docs = parse(Format::Yaml, &out);
    for (name, value) in expected() {
        assert_eq!(text(docs[0].get(&name)), value, "{name}");
    }
    // `NO` stays the string "NO", not a YAML 1.1 boolean.
    assert!(String::from_utf8(out).unwrap().contains("\"NO\": \"NO\""));

    // -o writes a private file.
    sb.ok(&["export", "-f", &f, "--format", "json", "-o", "out.json"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(sb.path("out.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn k8s_manifest() {
    use base64::Engine;
    let sb = Sandbox::new();
    let f = sb.encrypted("app.yaml", &tricky_yaml());
    let out = sb.ok(&[
        "export",
        "-f",
        &f,
        "--format",
        "k8s",
        "--name",
        "web-app",
        "--namespace",
        "prod",
    ]);
    let docs = parse(Format::Yaml, &out);
    let doc = &docs[0];
    assert_eq!(text(doc.get("apiVersion")), "v1");
    assert_eq!(text(doc.get("kind")), "Secret");
    assert_eq!(text(doc.get("type")), "Opaque");
    let Some(Node::Map(meta)) = doc.get("metadata") else {
        panic!("metadata")
    };
    assert_eq!(text(meta.get("name")), "web-app");
    assert_eq!(text(meta.get("namespace")), "prod");
    let Some(Node::Map(data)) = doc.get("data") else {
        panic!("data")
    };
    for (name, value) in expected() {
        let b64 = text(data.get(&name));
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), value, "{name}");
    }

    // Default name from the file; no namespace line.
    let out = String::from_utf8(sb.ok(&["export", "-f", &f, "--format", "k8s"])).unwrap();
    assert!(
        out.contains("  name: app\n") && !out.contains("namespace"),
        "{out}"
    );

    // Invalid names are refused; --name only with k8s.
    let bad = sb.run(&["export", "-f", &f, "--format", "k8s", "--name", "Web_App"]);
    assert_eq!(bad.status.code(), Some(2));
    let bad = sb.run(&["export", "-f", &f, "--format", "json", "--name", "x"]);
    assert_eq!(bad.status.code(), Some(8));
}

#[cfg(unix)]
#[test]
fn docker_secrets_dir() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let f = sb.encrypted("app.yaml", &tricky_yaml());
    sb.ok(&[
        "export",
        "-f",
        &f,
        "--format",
        "docker-secrets-dir",
        "-o",
        "run/secrets",
    ]);
    let dir = sb.path("run/secrets");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut want: Vec<String> = TRICKY.iter().map(|(k, _)| k.to_string()).collect();
    want.push(".secrets-export".into());
    want.sort();
    assert_eq!(names, want);
    for (name, value) in expected() {
        let p = dir.join(&name);
        assert_eq!(mode(&p), 0o600, "{name}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), value, "{name}");
    }

    // Needs -o; refuses a directory others can read.
    let out = sb.run(&["export", "-f", &f, "--format", "docker-secrets-dir"]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::create_dir(sb.path("open")).unwrap();
    std::fs::set_permissions(sb.path("open"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = sb.run(&[
        "export",
        "-f",
        &f,
        "--format",
        "docker-secrets-dir",
        "-o",
        "open",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(std::fs::read_dir(sb.path("open")).unwrap().count(), 0);
}

#[cfg(unix)]
#[test]
fn docker_secrets_dir_export_replaces_the_previous_one() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let old = sb.encrypted(
        "old.yaml",
        "gone: old-VALUE
kept: one
",
    );
    let new = sb.encrypted(
        "new.yaml",
        "kept: two
added: three
",
    );
    let export = |f: &str, dir: &str| {
        sb.run(&[
            "export",
            "-f",
            f,
            "--format",
            "docker-secrets-dir",
            "-o",
            dir,
        ])
    };
    let listing = |dir: &str| {
        let mut names: Vec<String> = std::fs::read_dir(sb.path(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert!(export(&old, "run/secrets").status.success());
    assert!(export(&new, "run/secrets").status.success());
    // A value no longer exported is gone; nothing is left beside the directory.
    assert_eq!(listing("run/secrets"), [".secrets-export", "ADDED", "KEPT"]);
    assert_eq!(sb.sb.read("run/secrets/KEPT"), "two");
    assert_eq!(listing("run"), ["secrets"]);
    let mode = std::fs::metadata(sb.path("run/secrets"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);

    // An empty directory is fine; a directory with other files is refused, untouched.
    std::fs::create_dir(sb.path("empty")).unwrap();
    std::fs::set_permissions(sb.path("empty"), std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(export(&new, "empty").status.success());
    assert_eq!(listing("empty"), [".secrets-export", "ADDED", "KEPT"]);
    std::fs::create_dir(sb.path("mine")).unwrap();
    std::fs::set_permissions(sb.path("mine"), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(sb.path("mine/keys.txt"), "precious").unwrap();
    let out = export(&new, "mine");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("mine: is not empty and was not written by secrets export"),
        "{err}"
    );
    assert_eq!(listing("mine"), ["keys.txt"]);
    // No temporary directory is left behind by the refusal.
    assert!(listing(".")
        .iter()
        .all(|n| !n.starts_with(".secrets-export-")));
}

#[test]
fn selection_and_errors_like_exec() {
    let sb = Sandbox::new();
    let a = sb.encrypted("a.yaml", "shared: from-a\nonly_a: x\n");
    let b = sb.encrypted("b.env", "SHARED=from-b\n");
    let out = sb.ok(&["export", "-f", &a, "-f", &b, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["SHARED"], "from-b");
    assert_eq!(v["ONLY_A"], "x");

    let c = sb.encrypted("c.yaml", "a: {b: s3cret}\na_b: s3cret2\n");
    let out = sb.run(&["export", "-f", &c, "--format", "dotenv"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("a.b") && err.contains("a_b") && !err.contains("s3cret"),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    let out = sb.run(&["export", "--format", "dotenv"]);
    assert_eq!(out.status.code(), Some(100));
}
