//! The installed git hook with real `git commit`s under controlled PATHs: which `secrets`
//! it runs (the one on PATH, else the binary that installed it, else none: blocked), and
//! that a clean commit prints nothing; `.pre-commit-hooks.yaml` through the real
//! pre-commit framework.

use super::{bin, git, git_ok, repo, write, AWS};
use std::path::{Path, PathBuf};

/// A directory holding only what a commit needs besides `secrets`: `git`, `dirname` and
/// `bash` (pre-commit's hook is `#!/usr/bin/env bash`; our hook's `#!/bin/sh` is found by
/// its absolute path). A PATH of this directory alone has no `secrets` on it, wherever the
/// developer installed one.
fn bare_path(root: &Path) -> PathBuf {
    let dir = root.join("bare-bin");
    std::fs::create_dir_all(&dir).unwrap();
    for prog in ["git", "dirname", "bash"] {
        let found = std::env::split_paths(&std::env::var_os("PATH").unwrap())
            .map(|d| d.join(prog))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("{prog} is not on PATH"));
        std::os::unix::fs::symlink(found, dir.join(prog)).unwrap();
    }
    dir
}

/// A directory with a `secrets` on it that leaves a mark, then runs the real binary.
fn marking_secrets(root: &Path, mark: &Path) -> PathBuf {
    let dir = root.join("path-bin");
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("secrets");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n: > '{}'\nexec '{}' \"$@\"\n",
            mark.display(),
            bin().display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// `git commit` with PATH set to `dirs` (and nothing of the test's own `SECRETS_BIN`).
fn commit_with_path(repo: &Path, dirs: &[&Path], args: &[&str]) -> std::process::Output {
    let path = std::env::join_paths(dirs).unwrap();
    std::process::Command::new(dirs[0].join("git"))
        .args(["commit", "-q"])
        .args(args)
        .current_dir(repo)
        .env("PATH", path)
        .env_remove("SECRETS_BIN")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env("HOME", repo)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .unwrap()
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Installs the hook with `exe` (a copy of the binary, or the binary itself).
fn install_with(exe: &Path, repo: &Path) -> String {
    let out = std::process::Command::new(exe)
        .args(["hook", "install"])
        .current_dir(repo)
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `secrets` on the PATH git gives the hook runs, not the binary that installed it (a
/// rebuild elsewhere or a teammate's clone would leave that path dangling); without one on
/// PATH, the installing binary is the fallback; with neither, the commit is blocked with
/// what to do, and `--no-verify` gets past it.
#[test]
fn hook_runs_secrets_from_path_then_the_fallback_then_blocks() {
    let d = repo();
    let tools = tempfile::tempdir().unwrap();
    let bare = bare_path(tools.path());
    let mark = tools.path().join("ran-from-path");
    let on_path = marking_secrets(tools.path(), &mark);
    // Installed by another name of the binary that is later removed: the fallback is that
    // path. A hard link beside the binary, not a copy: a copy's write descriptor, inherited
    // by a process another test forks meanwhile, would make running it fail (ETXTBSY).
    let installer = tempfile::tempdir_in(bin().parent().unwrap()).unwrap();
    let copy = installer.path().join("secrets");
    std::fs::hard_link(bin(), &copy).unwrap();
    let said = install_with(&copy, d.path());
    assert!(said.contains("not on your PATH"), "{said}");
    let hook = std::fs::read_to_string(d.path().join(".git/hooks/pre-commit")).unwrap();
    assert!(
        hook.contains(&format!("SECRETS_FALLBACK='{}'", copy.display())),
        "{hook}"
    );
    assert!(hook.contains("# Which `secrets` runs"), "{hook}");

    // 1. `secrets` on PATH: it runs, and blocks the leak.
    write(d.path(), "app.env", &format!("KEY={AWS}\n"));
    git_ok(d.path(), &["add", "app.env"]);
    let out = commit_with_path(d.path(), &[&bare, &on_path], &["-m", "leak"]);
    assert!(!out.status.success(), "not blocked: {}", text(&out));
    assert!(
        text(&out).contains("app.env:1:5: aws-access-key-id"),
        "{}",
        text(&out)
    );
    assert!(mark.exists(), "the hook did not run `secrets` from PATH");
    std::fs::remove_file(&mark).unwrap();

    // 2. Not on PATH: the fallback (the installing binary) runs and blocks.
    let out = commit_with_path(d.path(), &[&bare], &["-m", "leak"]);
    assert!(!out.status.success(), "not blocked: {}", text(&out));
    assert!(
        text(&out).contains("app.env:1:5: aws-access-key-id"),
        "{}",
        text(&out)
    );
    assert!(!mark.exists());

    // 3. Neither: blocked (fail closed), saying why and how to get past once.
    std::fs::remove_file(&copy).unwrap();
    let out = commit_with_path(d.path(), &[&bare], &["-m", "leak"]);
    assert!(!out.status.success(), "not blocked: {}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("'secrets' is not on the PATH git gives this hook")
            && said.contains(&copy.display().to_string())
            && said.contains("git commit --no-verify"),
        "{said}"
    );
    let out = commit_with_path(d.path(), &[&bare], &["--no-verify", "-m", "forced"]);
    assert!(out.status.success(), "{}", text(&out));
}

/// A clean commit prints nothing from the hook; a blocked one prints the findings and the
/// summary with what to do.
#[test]
fn hook_is_quiet_on_a_clean_commit() {
    let d = repo();
    let tools = tempfile::tempdir().unwrap();
    let bare = bare_path(tools.path());
    let said = install_with(&bin(), d.path());
    assert!(said.contains("installed"), "{said}");
    write(d.path(), "README.md", "hello\n");
    git_ok(d.path(), &["add", "README.md"]);
    let out = commit_with_path(d.path(), &[&bare], &["-m", "clean"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(text(&out), "", "a clean commit printed something");

    write(d.path(), "app.env", &format!("KEY={AWS}\n"));
    git_ok(d.path(), &["add", "app.env"]);
    let out = commit_with_path(d.path(), &[&bare], &["-m", "leak"]);
    assert!(!out.status.success());
    let said = text(&out);
    assert!(said.contains("app.env:1:5: aws-access-key-id"), "{said}");
    assert!(said.contains("1 possible secret(s) found"), "{said}");
    let log = git(d.path(), &["log", "--oneline"]);
    assert_eq!(String::from_utf8_lossy(&log.stdout).lines().count(), 1);
}

/// `.pre-commit-hooks.yaml` through the real pre-commit framework, as a user's
/// `.pre-commit-config.yaml` names it: a repository holding the manifest (a local one
/// here, at a commit, as pre-commit requires), both hook ids, `pre-commit install`, then
/// real `git commit`s. The hooks run the `secrets` on PATH (`language: system`): nothing
/// is built or downloaded.
#[test]
fn pre_commit_framework_blocks_a_leak_and_passes_a_clean_commit() {
    let Some(pre_commit) = super::common::pre_commit_bin() else {
        return;
    };
    let tools = tempfile::tempdir().unwrap();
    // The repository pre-commit clones: this checkout's manifest, committed.
    let hooks_repo = tools.path().join("secrets-hooks");
    std::fs::create_dir(&hooks_repo).unwrap();
    git_ok(&hooks_repo, &["init", "-q", "-b", "main"]);
    git_ok(&hooks_repo, &["config", "commit.gpgsign", "false"]);
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"),
        hooks_repo.join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    git_ok(&hooks_repo, &["add", ".pre-commit-hooks.yaml"]);
    git_ok(&hooks_repo, &["commit", "-q", "-m", "hooks"]);
    let rev = String::from_utf8(git(&hooks_repo, &["rev-parse", "HEAD"]).stdout).unwrap();

    let d = repo();
    write(
        d.path(),
        ".pre-commit-config.yaml",
        &format!(
            "repos:\n  - repo: {}\n    rev: {}\n    hooks:\n      - id: secrets-scan\n      - id: secrets-scan-staged\n",
            hooks_repo.display(),
            rev.trim()
        ),
    );
    git_ok(d.path(), &["add", ".pre-commit-config.yaml"]);
    // The built binary first on PATH, as `cargo install` puts it for a user.
    let mut dirs = vec![bin().parent().unwrap().to_path_buf()];
    dirs.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap()));
    let path = std::env::join_paths(dirs).unwrap();
    let home = tools.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let bare = bare_path(tools.path());
    let run_with = |path: &std::ffi::OsStr, prog: &Path, args: &[&str]| {
        let mut c = std::process::Command::new(prog);
        c.args(args)
            .current_dir(d.path())
            .env("PATH", path)
            .env("HOME", &home)
            .env("PRE_COMMIT_HOME", tools.path().join("cache"))
            .env("SOPS_AGE_KEY_FILE", tools.path().join("no-such-key"))
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
            .env_remove("SECRETS_BIN")
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE");
        c.output().unwrap()
    };
    let run = |prog: &Path, args: &[&str]| run_with(&path, prog, args);
    let git_prog = Path::new("git");
    let out = run(&pre_commit, &["install"]);
    assert!(out.status.success(), "pre-commit install: {}", text(&out));

    write(d.path(), "README.md", "hello\n");
    git_ok(d.path(), &["add", "README.md"]);
    let out = run(git_prog, &["commit", "-q", "-m", "clean"]);
    assert!(out.status.success(), "clean commit: {}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("secrets scan (leak scanner)") && said.contains("Passed"),
        "{said}"
    );

    write(d.path(), "app.env", &format!("KEY={AWS}\n"));
    git_ok(d.path(), &["add", "app.env"]);
    let out = run(git_prog, &["commit", "-q", "-m", "leak"]);
    let said = text(&out);
    assert!(!out.status.success(), "the leak was committed: {said}");
    assert!(said.contains("app.env:1:5: aws-access-key-id"), "{said}");
    assert!(said.contains("Failed"), "{said}");
    assert!(!said.contains(AWS), "the secret was printed: {said}");
    let log = git(d.path(), &["log", "--oneline"]);
    assert_eq!(String::from_utf8_lossy(&log.stdout).lines().count(), 1);

    // `pre-commit run --all-files` (CI's form) fails on the leak in the tree.
    let out = run(&pre_commit, &["run", "--all-files"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("app.env:1:5:"), "{}", text(&out));

    // The `repo: local` form docs/scan.md gives, as written there.
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scan.md"))
        .unwrap();
    let local = docs
        .split("```yaml\n")
        .filter_map(|b| b.split("```").next())
        .find(|b| b.contains("repo: local"))
        .expect("docs/scan.md has the repo: local example");
    write(d.path(), "local.yaml", local);
    let out = run(
        &pre_commit,
        &["run", "--all-files", "--config", "local.yaml"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("app.env:1:5:"), "{}", text(&out));

    // No `secrets` on PATH: the hooks fail, and so does the commit.
    let out = run_with(
        bare.as_os_str(),
        &bare.join("git"),
        &["commit", "-q", "-m", "x"],
    );
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Executable `secrets` not found"),
        "{}",
        text(&out)
    );
}
