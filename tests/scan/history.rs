//! `scan --history` and `--all` over real repositories made with the real `git`: the same
//! findings whatever the thread count, every ref under `--all`, a line reported once with
//! the oldest commit that added it, a repeated blob pair in another file still reported,
//! a text file that replaces a binary one scanned, and nothing new on a non-terminal stderr.

use super::{git, git_ok, head, repo, scan, write, AWS, GHP};
use std::path::Path;
use std::process::Command as Proc;

/// Commits everything with fixed dates (`n` seconds into 2024), so commit ids, and the
/// order of ids, are the same on every run.
fn commit_at(dir: &Path, n: u32, msg: &str) -> String {
    git_ok(dir, &["add", "-A"]);
    let date = format!("@{} +0000", 1_704_067_200 + n);
    let out = Proc::new("git")
        .args(["commit", "-q", "--allow-empty", "-m", msg])
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    head(dir)
}

/// (path, line, commit) of each finding of `scan ARGS --format json`, in report order.
fn found(dir: &Path, args: &[&str]) -> Vec<(String, u64, String)> {
    let out = scan(dir)
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["commit"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// A distinct AWS access key id for each `i` (random-looking base32).
fn aws_key(i: u32) -> String {
    const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ u64::from(i + 1).wrapping_mul(0xff51_afd7_ed55_8ccd);
    let key: String = (0..16)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            B32[(x % 32) as usize] as char
        })
        .collect();
    format!("AKIA{key}")
}

/// A history of 300 commits over 30 files (more than one batch of the parallel scan),
/// with secrets added, moved, removed and merged: 1 thread and 8 give the same report,
/// byte for byte, and every secret is in it.
#[test]
fn same_findings_with_one_thread_and_many() {
    let d = repo();
    let mut n = 0;
    for i in 0..300u32 {
        let file = format!("dir{}/f{}.env", i % 5, i % 30);
        let mut text = String::new();
        for j in 0..(i % 7 + 1) {
            text.push_str(&format!("LINE_{j}=value {i}\n"));
        }
        if i % 37 == 0 {
            text.push_str(&format!("KEY={}\n", aws_key(i)));
        }
        write(d.path(), &file, &text);
        n += 1;
        commit_at(d.path(), n, &format!("c{i}"));
        if i == 150 {
            git_ok(d.path(), &["checkout", "-q", "-b", "side"]);
        }
        if i == 200 {
            git_ok(d.path(), &["checkout", "-q", "main"]);
            git_ok(d.path(), &["merge", "-q", "--no-ff", "--no-commit", "side"]);
            write(d.path(), "merged.env", &format!("T=\"{GHP}\"\n"));
            n += 1;
            commit_at(d.path(), n, "merge");
        }
    }
    let run = |threads: &str| {
        scan(d.path())
            .args(["--history", "--format", "json", "--threads", threads])
            .output()
            .unwrap()
    };
    let one = run("1");
    let many = run("8");
    assert_eq!(one.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&one.stdout),
        String::from_utf8_lossy(&many.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
    let paths: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"merged.env"), "{paths:?}");
    // A key at commits 0, 37, …, 296 (some on the side branch, merged in), and the merge's.
    assert_eq!(
        v.as_array().unwrap().len(),
        10,
        "{}",
        String::from_utf8_lossy(&one.stdout)
    );
}

/// `--all` reads every ref, as `gitleaks git` (`git log --all`) does: a secret only on a
/// branch that is not checked out, or only on a tagged commit no branch holds, is found;
/// `--history` (HEAD) does not see them.
#[test]
fn all_covers_other_branches_and_tags() {
    let d = repo();
    write(d.path(), "a.txt", "start\n");
    commit_at(d.path(), 1, "base");
    git_ok(d.path(), &["checkout", "-q", "-b", "feature/deep"]);
    write(d.path(), "branch.env", &format!("KEY={AWS}\n"));
    let on_branch = commit_at(d.path(), 2, "branch only");
    git_ok(d.path(), &["checkout", "-q", "--detach", "main"]);
    write(d.path(), "tagged.py", &format!("T = \"{GHP}\"\n"));
    let tagged = commit_at(d.path(), 3, "tag only");
    git_ok(d.path(), &["tag", "-a", "-m", "release", "v1"]);
    git_ok(d.path(), &["checkout", "-q", "main"]);
    assert!(found(d.path(), &["--history"]).is_empty());
    assert_eq!(
        found(d.path(), &["--all"]),
        [
            ("branch.env".to_string(), 1, on_branch),
            ("tagged.py".to_string(), 1, tagged)
        ]
    );
    // A symbolic ref to a ref that is gone (`origin/HEAD` after its branch was deleted)
    // names nothing and is skipped, as `git log --all` skips it.
    git_ok(
        d.path(),
        &[
            "symbolic-ref",
            "refs/remotes/origin/HEAD",
            "refs/remotes/origin/gone",
        ],
    );
    assert_eq!(found(d.path(), &["--all"]).len(), 2);
    // `--all` takes no range.
    scan(d.path())
        .args(["--all", "--history", "main~1..main"])
        .assert()
        .code(2);
}

/// `--all` reads a commit made on a detached HEAD in another worktree, from whichever
/// worktree it runs in, as `git log --all` does.
#[test]
fn all_covers_detached_heads_of_other_worktrees() {
    let d = repo();
    write(d.path(), "a.txt", "start\n");
    commit_at(d.path(), 1, "base");
    let other = tempfile::tempdir().unwrap();
    let wt = other.path().join("wt");
    git_ok(
        d.path(),
        &["worktree", "add", "-q", "--detach", wt.to_str().unwrap()],
    );
    write(&wt, "detached.env", &format!("KEY={AWS}\n"));
    let detached = commit_at(&wt, 2, "on a detached HEAD");
    let want = [("detached.env".to_string(), 1, detached)];
    assert!(found(d.path(), &["--history"]).is_empty());
    assert_eq!(found(d.path(), &["--all"]), want);
    // From the linked worktree, the main worktree's detached HEAD counts too.
    write(d.path(), "main.env", &format!("KEY={AWS}\n"));
    git_ok(d.path(), &["checkout", "-q", "--detach"]);
    let on_main = commit_at(d.path(), 3, "on the main worktree's detached HEAD");
    let from_linked = found(&wt, &["--all"]);
    assert!(
        from_linked.contains(&("main.env".to_string(), 1, on_main)),
        "{from_linked:?}"
    );
}

/// A dotfiles repository kept bare (`git --git-dir=~/.dotfiles --work-tree=~`) is read
/// through `$GIT_DIR` and `$GIT_WORK_TREE`, as git reads it: `--history` finds a key
/// committed and removed since, and `--staged` a staged one. Without them the home
/// directory is no repository, and the scan says so.
#[test]
fn git_dir_and_work_tree_name_the_repository_as_they_do_for_git() {
    let top = tempfile::tempdir().unwrap();
    let (dot, home) = (top.path().join("dot.git"), top.path().join("home"));
    std::fs::create_dir(&home).unwrap();
    git_ok(top.path(), &["init", "-q", "--bare", "dot.git"]);
    let dotfiles = |args: &[&str]| {
        let mut all = vec!["--git-dir", dot.to_str().unwrap(), "--work-tree"];
        all.push(home.to_str().unwrap());
        all.extend_from_slice(args);
        git_ok(&home, &all);
    };
    dotfiles(&["config", "commit.gpgsign", "false"]);
    write(&home, ".aws_notes", &format!("KEY={AWS}\n"));
    dotfiles(&["add", ".aws_notes"]);
    dotfiles(&["commit", "-qm", "k"]);
    let added = git(&dot, &["rev-parse", "HEAD"]);
    let added = String::from_utf8(added.stdout).unwrap().trim().to_string();
    dotfiles(&["rm", "-q", ".aws_notes"]);
    dotfiles(&["commit", "-qm", "rm"]);
    let with_env = |args: &[&str]| {
        let out = scan(&home)
            .env("GIT_DIR", &dot)
            .env("GIT_WORK_TREE", &home)
            .args(args)
            .args(["--format", "json"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let f = &v.as_array().unwrap()[0];
        (
            f["path"].as_str().unwrap().to_string(),
            f["commit"].as_str().map(str::to_string),
        )
    };
    assert_eq!(
        with_env(&["--history"]),
        (".aws_notes".to_string(), Some(added))
    );
    write(&home, ".netrc", &format!("KEY={AWS}\n"));
    dotfiles(&["add", ".netrc"]);
    assert_eq!(with_env(&["--staged"]).0, ".netrc");
    // From a directory below the work tree, or outside it, the root is the work tree:
    // its baseline is written and read there (libgit2 alone leaves a bare repository
    // without one).
    let sub = home.join("sub");
    std::fs::create_dir(&sub).unwrap();
    for dir in [&sub, top.path()] {
        let out = scan(dir)
            .env("GIT_DIR", &dot)
            .env("GIT_WORK_TREE", &home)
            .args(["--staged", "--format", "json"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v[0]["path"], ".netrc", "from {dir:?}");
    }
    scan(&sub)
        .env("GIT_DIR", &dot)
        .env("GIT_WORK_TREE", &home)
        .args(["--staged", "--write-baseline"])
        .assert()
        .success();
    assert!(home.join(".secrets-baseline.json").is_file());
    assert!(!sub.join(".secrets-baseline.json").exists());
    scan(&sub)
        .env("GIT_DIR", &dot)
        .env("GIT_WORK_TREE", &home)
        .args(["--staged"])
        .assert()
        .code(0);
    scan(&home)
        .env_remove("GIT_DIR")
        .args(["--history"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not inside a git repository"));
}

/// A line added, reverted and added again is one finding, with the oldest commit (the
/// second addition repeats the first's blob pair and is not diffed again); the same
/// content added to another file is found there too.
#[test]
fn a_repeated_blob_pair_is_reported_once_and_other_files_still_are() {
    let d = repo();
    write(d.path(), "app.env", "A=1\n");
    commit_at(d.path(), 1, "base");
    write(d.path(), "app.env", &format!("A=1\nKEY={AWS}\n"));
    // Named so that the later addition's id sorts before this one's (`15ba…` < `dd9e…`):
    // the report keeps the oldest commit, not the smallest id.
    let first = commit_at(d.path(), 2, "add2");
    write(d.path(), "app.env", "A=1\n");
    commit_at(d.path(), 3, "revert");
    write(d.path(), "app.env", &format!("A=1\nKEY={AWS}\n"));
    commit_at(d.path(), 4, "revert the revert");
    // The same two blobs under another name.
    write(d.path(), "copy.env", "A=1\n");
    commit_at(d.path(), 5, "copy base");
    write(d.path(), "copy.env", &format!("A=1\nKEY={AWS}\n"));
    let copy = commit_at(d.path(), 6, "copy");
    for threads in ["1", "4"] {
        assert_eq!(
            found(d.path(), &["--history", "--threads", threads]),
            [
                ("app.env".to_string(), 2, first.clone()),
                ("copy.env".to_string(), 2, copy.clone())
            ]
        );
    }
}

/// A text file that replaces a binary one (a NUL byte in its first 8000 bytes) is scanned
/// whole: libgit2's diff called the pair binary and skipped it.
#[test]
fn text_replacing_a_binary_file_is_scanned() {
    let d = repo();
    std::fs::write(d.path().join("data.cfg"), b"\x00\x01binary\n").unwrap();
    commit_at(d.path(), 1, "binary");
    write(d.path(), "data.cfg", &format!("user=x\nKEY={AWS}\n"));
    let text = commit_at(d.path(), 2, "text");
    assert_eq!(
        found(d.path(), &["--history"]),
        [("data.cfg".to_string(), 2, text)]
    );
}

/// Without a terminal on stderr there is no progress line: `--format json` over a history
/// prints nothing on stderr at all.
#[test]
fn no_progress_output_without_a_terminal() {
    let d = repo();
    for i in 0..20 {
        write(d.path(), "f.env", &format!("N={i}\nKEY={AWS}\n"));
        commit_at(d.path(), i + 1, "c");
    }
    let out = scan(d.path())
        .args(["--all", "--no-known", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}
