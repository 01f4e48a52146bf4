//! Issue 16, item 1: files git ignores (a Django repository whose `.gitignore` lists
//! `.env`). Real git: the repository is made and queried with the `git` command line,
//! whose `check-ignore -v` is the reference for the rule we report.

use super::*;

/// `git` in the team's repository, isolated from the developer's configuration (their
/// global excludes file would change what is ignored). The git command line is required:
/// without it these tests fail rather than pass untested.
fn git(t: &Team, args: &[&str]) -> Output {
    let home = t.dir.path().join("home-git");
    std::fs::create_dir_all(&home).unwrap();
    std::process::Command::new("git")
        .current_dir(t.repo())
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .args(args)
        .output()
        .expect("the git command line is required by these tests")
}

/// `git check-ignore -v PATH`: `source:line:pattern` of the rule ignoring it, or `None`
/// (with `-v`, git also prints a `!pattern` that re-includes the path).
fn check_ignore(t: &Team, path: &str) -> Option<String> {
    let out = git(t, &["check-ignore", "-v", path]);
    match out.status.code() {
        Some(0) => {
            let text = String::from_utf8(out.stdout).unwrap();
            let (rule, _) = text.trim_end().split_once('\t').unwrap();
            let pattern = rule.splitn(3, ':').nth(2).unwrap();
            (!pattern.starts_with('!')).then(|| rule.to_string())
        }
        Some(1) => None,
        _ => panic!("git check-ignore: {}", String::from_utf8_lossy(&out.stderr)),
    }
}

/// Runs and returns (exit code, stdout, stderr).
fn run3(t: &Team, who: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = t.run(who, args);
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The quoted lines of a hint (`add '!/.env' to .gitignore …`).
fn quoted(hint: &str) -> Vec<String> {
    hint.split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// Inserts lines into a file after line `after` (1-based).
fn insert_after(t: &Team, rel: &str, after: usize, lines: &[String]) {
    let text = t.read(rel);
    let mut all: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        all.insert(after + i, l);
    }
    t.write(rel, &format!("{}\n", all.join("\n")));
}

/// A Django project as `django-admin startproject` leaves it, with Python's usual
/// `.gitignore` and a plaintext `.env`.
fn django(t: &Team) {
    t.write("manage.py", "#!/usr/bin/env python\nimport os, sys\n");
    t.write(
        "mysite/settings.py",
        "import environ\nenv = environ.Env()\nSECRET_KEY = env('SECRET_KEY')\n",
    );
    t.write("mysite/__pycache__/settings.cpython-312.pyc", "\0binary");
    t.write("mysite/urls.pyc", "\0binary");
    t.write(".gitignore", "*.pyc\n__pycache__/\n.env\n");
    t.write(
        ".env",
        "SECRET_KEY=django-insecure-VALUE\nDATABASE_URL=postgres://app:pw-VALUE@db/app\n",
    );
    let out = git(t, &["add", "manage.py", "mysite", ".gitignore"]);
    assert!(out.status.success(), "{out:?}");
    t.ok("alice", &["init", "--name", "alice"]);
}

#[test]
fn a_git_ignored_env_file_is_found_and_its_rule_explained() {
    let t = Team::new();
    django(&t);
    assert_eq!(
        check_ignore(&t, ".env").as_deref(),
        Some(".gitignore:3:.env")
    );

    // env add names the rule, and the exception that undoes it.
    let (code, _, err) = run3(
        &t,
        "alice",
        &["env", "add", "dev", "--files", ".env", "-m", "alice"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("warning: .env is ignored by git (.gitignore:3: .env)")
            && err.contains("teammates will not get it"),
        "{err}"
    );
    let hint = err.lines().find(|l| l.starts_with("hint:")).unwrap();
    assert!(hint.contains("to .gitignore below line 3"), "{hint}");
    assert_eq!(quoted(hint), vec!["!/.env"], "{hint}");

    // So does encrypt.
    let (code, _, err) = run3(&t, "alice", &["encrypt", "-i", ".env"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("warning: .env is ignored by git (.gitignore:3: .env)"),
        "{err}"
    );

    // status lists it, with the rule; exec finds it.
    let status = t.ok("alice", &["status"]);
    let row = status
        .lines()
        .find(|l| l.starts_with(".env "))
        .unwrap_or_else(|| panic!("no .env row:\n{status}"));
    assert!(row.contains(" dev ") && row.contains(" ok "), "{row}");
    assert!(
        status.contains(".env: ignored by git (.gitignore:3: .env) — teammates will not get it"),
        "{status}"
    );
    assert!(!status.contains(".pyc"), "{status}");
    let json: serde_json::Value =
        serde_json::from_str(&t.ok("alice", &["status", "--format", "json"])).unwrap();
    let ignored = &json["files"][0]["ignored"];
    assert_eq!(ignored["file"], ".gitignore", "{json}");
    assert_eq!(ignored["line"], 3);
    assert_eq!(ignored["pattern"], ".env");
    assert_eq!(ignored["exception"][0], "!/.env");
    let (code, out, err) = run3(&t, "alice", &["exec", "--", "printenv", "SECRET_KEY"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.trim(), "django-insecure-VALUE");
    assert!(
        err.contains(".env is ignored by git (.gitignore:3: .env)"),
        "{err}"
    );

    // The exception offered works: git stops ignoring .env (and only that .env), and
    // nothing warns any more.
    insert_after(&t, ".gitignore", 3, &quoted(hint));
    assert_eq!(check_ignore(&t, ".env"), None);
    t.write("app/.env", "PLAIN=1\n");
    assert_eq!(
        check_ignore(&t, "app/.env").as_deref(),
        Some(".gitignore:3:.env")
    );
    let status = git(&t, &["status", "--porcelain", "--untracked-files=all"]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("?? .env\n"));
    let (_, out, err) = run3(&t, "alice", &["status"]);
    assert!(
        !out.contains("ignored by git") && !err.contains("ignored"),
        "{out}{err}"
    );
    // Committed with `git add -f` instead: tracked files are not ignored either.
    t.write(".gitignore", "*.pyc\n__pycache__/\n.env\n");
    assert!(check_ignore(&t, ".env").is_some());
    assert!(git(&t, &["add", "-f", ".env"]).status.success());
    let (_, out, _) = run3(&t, "alice", &["status"]);
    assert!(out.lines().any(|l| l.starts_with(".env ")), "{out}");
    assert!(!out.contains("ignored by git"), "{out}");
}

#[test]
fn ignored_files_are_found_where_globs_name_them_and_offboarding_rotates_them() {
    let t = Team::new();
    t.ok("alice", &["init", "--name", "alice"]);
    t.ok("alice", &["member", "add", "bob", t.public("bob")]);
    t.write(
        ".gitignore",
        "node_modules/\n# local overrides\n*.local.yaml\nsecrets/\n",
    );
    t.ok(
        "alice",
        &[
            "env",
            "add",
            "ops",
            "--files",
            "secrets/**",
            "-m",
            "alice",
            "-m",
            "bob",
        ],
    );
    t.ok(
        "alice",
        &[
            "env",
            "add",
            "dev",
            "--files",
            "config/*.yaml",
            "**/.env",
            "-m",
            "alice",
        ],
    );
    t.write("secrets/db.yaml", "password: ops-db-VALUE\n");
    t.write("config/app.local.yaml", "token: local-VALUE\n");
    t.write("config/app.yaml", "url: http://x\n");
    t.write("node_modules/pkg/.env", "NPM_TOKEN=npm-VALUE\n");
    let (code, _, err) = run3(
        &t,
        "alice",
        &[
            "encrypt",
            "-i",
            "secrets/db.yaml",
            "config/app.local.yaml",
            "config/app.yaml",
            "node_modules/pkg/.env",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    // The directory rule: git cannot re-include a file below an ignored directory, so the
    // exception is three lines.
    assert_eq!(
        check_ignore(&t, "secrets/db.yaml").as_deref(),
        Some(".gitignore:4:secrets/")
    );
    assert!(
        err.contains("secrets/db.yaml is ignored by git (.gitignore:4: secrets/, which ignores its directory secrets)"),
        "{err}"
    );
    let hints: Vec<&str> = err.lines().filter(|l| l.starts_with("hint:")).collect();
    let dir_hint = hints.iter().find(|h| h.contains("'!/secrets/'")).unwrap();
    assert_eq!(
        quoted(dir_hint),
        vec!["!/secrets/", "/secrets/*", "!/secrets/db.yaml"],
        "{dir_hint}"
    );
    assert!(dir_hint.contains("below line 4"), "{dir_hint}");

    let status = t.ok("alice", &["status"]);
    let files: Vec<&str> = status
        .lines()
        .skip(2)
        .take_while(|l| !l.is_empty() && !l.contains(": ignored by git"))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    // A `**` glob does not reach into an ignored directory: node_modules is not walked.
    assert_eq!(
        files,
        vec![
            "config/app.local.yaml",
            "config/app.yaml",
            "secrets/db.yaml"
        ],
        "{status}"
    );
    assert!(
        status.contains("config/app.local.yaml: ignored by git (.gitignore:3: *.local.yaml)"),
        "{status}"
    );
    assert!(status.contains("secrets/db.yaml: ignored by git (.gitignore:4: secrets/"));

    // Offboarding rotates the ignored file too: bob's copy of its data key opens nothing.
    let old_key = EncryptedFile::load(&t.path("secrets/db.yaml"), None)
        .unwrap()
        .data_key(&t.ids("bob"))
        .unwrap();
    let out = t.ok("alice", &["env", "revoke", "ops", "bob"]);
    assert!(out.contains("secrets/db.yaml\n    password"), "{out}");
    assert!(!t.can_decrypt("bob", "secrets/db.yaml"));
    let new = EncryptedFile::load(&t.path("secrets/db.yaml"), None).unwrap();
    assert!(new.open(&old_key).is_err());

    // The three lines, below line 4, make git see the file.
    insert_after(&t, ".gitignore", 4, &quoted(dir_hint));
    assert_eq!(check_ignore(&t, "secrets/db.yaml"), None);
    let status = t.ok("alice", &["status"]);
    assert!(!status.contains("secrets/db.yaml: ignored"), "{status}");
}
