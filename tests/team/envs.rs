//! Issue 16, items 1 and 2: files git ignores (a Django repository whose `.gitignore`
//! lists `.env`), and the commands that change environments (`env remove`, `env rename`,
//! `env set`). Real git: the repository is made and queried with the `git` command line,
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

/// The user's own excludes file where git looks when `core.excludesFile` is not set
/// (`$XDG_CONFIG_HOME/git/ignore`) ignores as well, and `env add` and `exec` name it.
#[test]
fn the_users_default_excludes_file_is_read() {
    let t = Team::new();
    django(&t);
    for home in ["home-alice", "home-git"] {
        let dir = t.dir.path().join(home).join(".config/git");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ignore"), "# mine\nlocal.env\n").unwrap();
    }
    let rule = check_ignore(&t, "local.env").expect("git ignores local.env");
    assert!(rule.ends_with("/.config/git/ignore:2:local.env"), "{rule}");
    t.write("local.env", "API_TOKEN=q8ZrT2vLx9Pw4Kd7\n");
    let (code, _, err) = run3(
        &t,
        "alice",
        &["env", "add", "local", "--files", "local.env", "-m", "alice"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("local.env is ignored by git (")
            && err.contains("home-alice/.config/git/ignore:2: local.env)"),
        "{err}"
    );
    t.ok("alice", &["encrypt", "-i", "local.env"]);
    let (code, out, err) = run3(
        &t,
        "alice",
        &["exec", "--env", "local", "--", "printenv", "API_TOKEN"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.trim(), "q8ZrT2vLx9Pw4Kd7");
    assert!(
        err.contains("home-alice/.config/git/ignore:2: local.env)"),
        "{err}"
    );
}

/// `core.excludesFile` set through an include of the user's `~/.gitconfig`: git's config
/// decides where the user's rules are, so libgit2 reads it (the check reads the ignore
/// files itself only where the config sets nothing of the kind).
#[test]
fn an_excludes_file_set_in_an_included_config_is_read() {
    let t = Team::new();
    django(&t);
    for home in ["home-alice", "home-git"] {
        let home = t.dir.path().join(home);
        std::fs::create_dir_all(&home).unwrap();
        let rules = home.join("my-ignores");
        std::fs::write(&rules, "# mine\n\nlocal.env\n").unwrap();
        std::fs::write(
            home.join("extra.gitconfig"),
            format!("[core]\n\texcludesFile = {}\n", rules.display()),
        )
        .unwrap();
        std::fs::write(
            home.join(".gitconfig"),
            "[include]\n\tpath = extra.gitconfig\n",
        )
        .unwrap();
    }
    let rule = check_ignore(&t, "local.env").expect("git ignores local.env");
    assert!(rule.ends_with("home-git/my-ignores:3:local.env"), "{rule}");
    t.write("local.env", "API_TOKEN=q8ZrT2vLx9Pw4Kd7\n");
    let (code, _, err) = run3(
        &t,
        "alice",
        &["env", "add", "local", "--files", "local.env", "-m", "alice"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("local.env is ignored by git (")
            && err.contains("home-alice/my-ignores:3: local.env)"),
        "{err}"
    );
    // Without the include, the rule is git's no more, and nobody warns.
    std::fs::remove_file(t.dir.path().join("home-alice/.gitconfig")).unwrap();
    std::fs::remove_file(t.dir.path().join("home-git/.gitconfig")).unwrap();
    assert_eq!(check_ignore(&t, "local.env"), None);
    t.ok("alice", &["encrypt", "-i", "local.env"]);
    let (code, out, err) = run3(
        &t,
        "alice",
        &["exec", "--env", "local", "--", "printenv", "API_TOKEN"],
    );
    assert_eq!((code, out.trim()), (Some(0), "q8ZrT2vLx9Pw4Kd7"), "{err}");
    assert!(!err.contains("ignored"), "{err}");
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

/// The standard team plus a file in no environment, encrypted for alice and bob.
fn team_with_stray_file() -> Team {
    let t = Team::standard();
    t.write("shared/extra.yaml", "extra: shared-extra-VALUE\n");
    t.write("shared/alice.yaml", "mine: shared-alice-VALUE\n");
    let both = format!("{},{}", t.public("alice"), t.public("bob"));
    t.ok(
        "alice",
        &["encrypt", "-i", "--age", &both, "shared/extra.yaml"],
    );
    t.ok(
        "alice",
        &[
            "encrypt",
            "-i",
            "--age",
            t.public("alice"),
            "shared/alice.yaml",
        ],
    );
    t
}

#[test]
fn env_remove_refuses_while_files_belong_to_it_unless_told_to_keep_them() {
    let t = Team::standard();
    let before = snapshot(&t);
    let (code, out, err) = run3(&t, "alice", &["env", "remove", "dev"]);
    assert_eq!(code, Some(1), "{out}{err}");
    for f in DEV {
        assert!(
            out.contains(&format!(
                "{f}: dev → no environment; stays encrypted for alice, bob"
            )),
            "{out}"
        );
    }
    assert!(
        err.contains("env remove dev: 2 encrypted file(s) would be in no environment"),
        "{err}"
    );
    assert!(err.contains("--keep-files"), "{err}");
    assert_eq!(snapshot(&t), before);
    // A dry run says the same and writes nothing.
    let out = t.ok("alice", &["env", "rm", "dev", "--keep-files", "--dry-run"]);
    assert!(out.contains(".env.dev: dev → no environment"), "{out}");
    assert_eq!(snapshot(&t), before);

    let (code, out, err) = run3(&t, "alice", &["env", "delete", "dev", "--keep-files"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(err.contains("removed environment dev"), "{err}");
    let config = t.read(".secrets.yaml");
    assert!(
        !config.contains("dev:") && config.contains("prod:"),
        "{config}"
    );
    // The files are as they were: still readable by alice and bob, by nobody else.
    for (f, b) in snapshot(&t).iter().skip(1).zip(before.iter().skip(1)) {
        assert_eq!(f, b);
    }
    assert!(t.can_decrypt("bob", DEV[0]));
    let status = t.ok("alice", &["status"]);
    assert!(
        status
            .lines()
            .any(|l| l.starts_with(".env.dev ") && l.contains(" - ")),
        "{status}"
    );

    // An environment with no files goes at once, and the default with it.
    t.ok(
        "alice",
        &[
            "env",
            "add",
            "staging",
            "--files",
            "config/staging/**",
            "-m",
            "alice",
            "--default",
        ],
    );
    assert!(t.read(".secrets.yaml").contains("default: staging"));
    let (code, _, err) = run3(&t, "alice", &["env", "remove", "staging"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("it was the default"), "{err}");
    assert!(!t.read(".secrets.yaml").contains("staging"));
    // Unknown environment: a config error.
    let (code, _, err) = run3(&t, "alice", &["env", "remove", "nope"]);
    assert_eq!(code, Some(5), "{err}");
    assert!(err.contains("unknown environment \"nope\""), "{err}");
}

#[test]
fn env_rename_keeps_files_members_comments_and_the_default() {
    let t = Team::standard();
    let config = t.read(".secrets.yaml");
    let commented = config.replace("  prod:\n", "  # production\n  prod:\n");
    // Rules naming dev follow it (audit find: the rename was refused as a broken config).
    let schema = "schema:\n  DB_PASSWORD: {distinct_from: dev}\n  DEBUG_TOKEN: {envs: [dev]}\n  API: {envs: dev}\n";
    std::fs::write(
        t.path(".secrets.yaml"),
        format!("{commented}default: dev\n{schema}"),
    )
    .unwrap();
    let before = snapshot(&t);
    let (code, out, err) = run3(&t, "alice", &["env", "mv", "dev", "development"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        err.contains("renamed environment dev to development"),
        "{err}"
    );
    let config = t.read(".secrets.yaml");
    assert!(config.contains("  development:\n    files:"), "{config}");
    assert!(config.contains("  # production\n  prod:"), "{config}");
    assert!(config.contains("default: development"), "{config}");
    assert!(!config.contains("dev:"), "{config}");
    assert!(
        config.contains("DB_PASSWORD:\n    distinct_from: development\n")
            && config.contains("DEBUG_TOKEN:\n    envs:\n      - development\n")
            && config.contains("API:\n    envs: development\n"),
        "{config}"
    );
    // Files untouched, and found under the new name.
    for (f, b) in snapshot(&t).iter().skip(1).zip(before.iter().skip(1)) {
        assert_eq!(f, b);
    }
    let out = t.ok(
        "alice",
        &[
            "exec",
            "--env",
            "development",
            "--",
            "printenv",
            "DEV_DB_PASSWORD",
        ],
    );
    assert_eq!(out.trim(), "dev-db-VALUE");
    // A name taken or invalid is refused.
    let (code, _, err) = run3(&t, "alice", &["env", "rename", "development", "prod"]);
    assert_eq!(code, Some(5), "{err}");
    assert!(err.contains("environment \"prod\" already exists"), "{err}");
    let (code, _, _) = run3(&t, "alice", &["env", "rename", "prod", "-x"]);
    assert_eq!(code, Some(2));
    let (code, _, err) = run3(&t, "alice", &["env", "rename", "prod", "a b"]);
    assert_eq!(code, Some(5), "{err}");
}

#[test]
fn env_set_moves_files_and_rewraps_or_rotates_them() {
    let t = team_with_stray_file();
    // --default only.
    t.ok("alice", &["env", "set", "prod", "--default"]);
    assert!(t.read(".secrets.yaml").contains("default: prod"));

    // A dry run lists the files that join prod and what each needs; nothing is written.
    let extra_before = t.read("shared/extra.yaml");
    let alice_before = t.read("shared/alice.yaml");
    let config_before = t.read(".secrets.yaml");
    let args = [
        "env",
        "set",
        "prod",
        "--files",
        "config/prod/**",
        "shared/**",
    ];
    let out = t.ok("alice", &[&args[..], &["--dry-run"]].concat());
    assert!(
        out.contains("shared/extra.yaml: no environment → prod; rotate: bob loses access"),
        "{out}"
    );
    assert!(
        out.contains("shared/alice.yaml: no environment → prod; re-wrap for ci"),
        "{out}"
    );
    assert!(out.contains("would rotate shared/extra.yaml"), "{out}");
    assert!(out.contains("would update shared/alice.yaml  +ci"), "{out}");
    assert!(!out.contains("config/prod/db.yaml"), "{out}");
    assert_eq!(t.read(".secrets.yaml"), config_before);
    assert_eq!(t.read("shared/extra.yaml"), extra_before);

    let run = t.run("alice", &args);
    assert!(run.status.success());
    let (out, err) = (
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
    );
    assert!(out.contains("rotated    shared/extra.yaml"), "{out}");
    assert!(out.contains("updated    shared/alice.yaml  +ci"), "{out}");
    // The summary names this command and counts the rotation apart (it said
    // "updatekeys: 2 updated").
    assert!(
        err.contains("env set: 1 updated, 1 rotated, 0 unchanged, 0 failed"),
        "{err}"
    );
    assert!(t.read(".secrets.yaml").contains("- shared/**"));
    assert!(!t.can_decrypt("bob", "shared/extra.yaml"));
    assert!(t.can_decrypt("ci", "shared/extra.yaml"));
    assert!(t.can_decrypt("ci", "shared/alice.yaml"));
    // A re-wrap keeps the values byte for byte; the rotation does not.
    assert_eq!(
        enc_lines(&t.read("shared/alice.yaml")),
        enc_lines(&alice_before)
    );
    assert!(enc_lines(&t.read("shared/extra.yaml"))
        .iter()
        .all(|l| !enc_lines(&extra_before).contains(l)));
    let status = t.ok("alice", &["status", "--check"]);
    assert!(status.contains("shared/extra.yaml"), "{status}");

    // A typo that would take every file out of dev is refused, naming them.
    let before = snapshot(&t);
    let (code, out, err) = run3(
        &t,
        "alice",
        &["env", "set", "dev", "--files", "config/dve/**"],
    );
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("config/dev/app.yaml: dev → no environment"),
        "{out}"
    );
    assert!(out.contains(".env.dev: dev → no environment"), "{out}");
    assert_eq!(snapshot(&t), before);
    // Narrowing on purpose: --keep-files leaves .env.dev as it is.
    let out = t.ok(
        "alice",
        &[
            "env",
            "set",
            "dev",
            "--files",
            "config/dev/**",
            "--keep-files",
        ],
    );
    assert!(
        out.contains(".env.dev: dev → no environment; stays encrypted for alice, bob"),
        "{out}"
    );
    assert_eq!(
        t.read(".env.dev"),
        String::from_utf8(before[2].1.clone()).unwrap()
    );
    // Neither --files nor --default: a usage error.
    let (code, _, _) = run3(&t, "alice", &["env", "set", "dev"]);
    assert_eq!(code, Some(2));
}

#[test]
fn env_set_by_someone_who_cannot_open_a_file_prints_the_command_that_finishes() {
    let t = team_with_stray_file();
    // bob (in dev) can open shared/extra.yaml, already encrypted for dev's members, but not
    // shared/alice.yaml, which dev's members must get.
    let (code, out, err) = run3(
        &t,
        "bob",
        &[
            "env",
            "set",
            "dev",
            "--files",
            "config/dev/**",
            ".env.dev",
            "shared/**",
        ],
    );
    assert_eq!(code, Some(128), "{out}{err}");
    assert!(
        out.contains("shared/extra.yaml: no environment → dev; already encrypted for its members"),
        "{out}"
    );
    assert!(err.contains("failed     shared/alice.yaml"), "{err}");
    assert!(
        err.contains("secrets updatekeys shared/alice.yaml"),
        "{err}"
    );
    // The config is saved; the file left shows as drift until alice runs the command.
    assert!(t.read(".secrets.yaml").contains("- shared/**"));
    let (code, _, _) = run3(&t, "alice", &["status", "--check"]);
    assert_eq!(code, Some(1));
    t.ok("alice", &["updatekeys", "shared/alice.yaml"]);
    t.ok("alice", &["status", "--check"]);
    assert!(t.can_decrypt("bob", "shared/alice.yaml"));
}

#[test]
fn env_commands_refuse_while_a_revocation_is_unfinished() {
    let t = Team::standard();
    let config = t.read(".secrets.yaml");
    std::fs::write(
        t.path(".secrets.yaml"),
        format!("{config}revoking:\n  env: dev\n  members: [bob]\n"),
    )
    .unwrap();
    for args in [
        &["env", "remove", "dev", "--keep-files"][..],
        &["env", "rename", "dev", "development"],
        &["env", "set", "dev", "--files", "config/dev/**"],
    ] {
        let (code, _, err) = run3(&t, "alice", args);
        assert_eq!(code, Some(5), "{args:?}: {err}");
        assert!(
            err.contains("finish it first: secrets env revoke dev bob"),
            "{err}"
        );
    }
}

#[test]
fn typos_are_not_steered_toward_destructive_commands() {
    let t = Team::standard();
    let before = snapshot(&t);
    for args in [
        &["env", "revome", "dev"][..],
        &["env", "remvoe", "dev"],
        &["env", "revok", "dev", "bob"],
        &["env", "del", "dev"],
        &["member", "remvoe", "bob"],
        &["member", "delet", "bob"],
        &["unst", "config/dev/app.yaml", "api.token"],
    ] {
        let (code, out, err) = run3(&t, "alice", args);
        assert_eq!(code, Some(2), "{args:?}: {out}{err}");
        assert!(err.contains("unrecognized subcommand"), "{args:?}: {err}");
        let tip = err.lines().find(|l| l.contains("tip:")).unwrap_or("");
        for bad in ["revoke", "remove", "'rm'", "delete", "unset"] {
            assert!(!tip.contains(bad), "{args:?} suggests {bad}: {err}");
        }
        // Nor toward a worse guess in its place (`remvoe` got 'rename', 'mv'; a user test).
        for worse in ["rename", "'mv'", "rekey"] {
            assert!(!tip.contains(worse), "{args:?} suggests {worse}: {err}");
        }
        assert!(err.contains("try '--help'"), "{err}");
    }
    // Harmless suggestions stay.
    let (_, _, err) = run3(&t, "alice", &["env", "lst"]);
    assert!(err.contains("tip:") && err.contains("'list'"), "{err}");
    assert_eq!(snapshot(&t), before);
}
