//! A git repository in a sandbox, for the tests of what git history says about values
//! (`status --stale`, `check`'s max_age): commits with the `git` binary at back-dated author
//! and committer times, an isolated git configuration.

use super::KeyedSandbox;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const DAY: i64 = 86_400;

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A sandbox that is a git repository with a `.secrets.yaml` naming its key, so `status`
/// runs in it; the sandbox's HOME and key file are ignored.
pub struct Repo {
    pub ks: KeyedSandbox,
}

impl Repo {
    pub fn new() -> Repo {
        let ks = KeyedSandbox::new();
        let r = Repo { ks };
        r.git(&["init", "-q", "-b", "main", "."]);
        std::fs::write(r.path(".gitignore"), "home/\nkey.txt\n").unwrap();
        r.configure("environments: {}\n");
        r
    }

    /// Writes `.secrets.yaml`: alice (this repository's key) as its one member, then `rest`
    /// (environments, schema) as given.
    pub fn configure(&self, rest: &str) {
        std::fs::write(
            self.path(".secrets.yaml"),
            format!("members:\n  alice: {}\n{rest}", self.ks.public),
        )
        .unwrap();
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.ks.path(rel)
    }

    /// `git` in `dir` with an isolated configuration.
    pub fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=Alice",
                "-c",
                "user.email=alice@example.com",
            ])
            .args(["-c", "protocol.file.allow=always"])
            .args(args)
            .current_dir(dir)
            .env("HOME", self.path("home"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `git ARGS` with an isolated configuration, not asserting success, with
    /// `SOPS_AGE_KEY_FILE` set to `key` (none: no identity at all) so the merge driver and
    /// textconv that git runs decrypt as that user; `editor` as `$EDITOR`.
    pub fn git_as_user(
        &self,
        args: &[&str],
        key: Option<&Path>,
        editor: Option<&Path>,
    ) -> std::process::Output {
        let mut c = Command::new("git");
        c.args([
            "-c",
            "user.name=Alice",
            "-c",
            "user.email=alice@example.com",
        ])
        .args(args)
        .current_dir(self.ks.dir())
        .env("HOME", self.path("home"))
        .env("XDG_CONFIG_HOME", self.path("home/.config"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_EDITOR", "true")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE");
        for (k, _) in std::env::vars() {
            if k.starts_with("SOPS_") || k.starts_with("SECRETS_") || k == "EDITOR" {
                c.env_remove(k);
            }
        }
        if let Some(key) = key {
            c.env("SOPS_AGE_KEY_FILE", key);
        }
        if let Some(e) = editor {
            c.env("EDITOR", e);
        }
        c.output().unwrap()
    }

    /// A clone of this repository with `--filter=blob:none` (as CI checkouts make them),
    /// under `home/blobless`, checked to lack some blobs.
    pub fn blobless_clone(&self) -> PathBuf {
        self.git(&["config", "uploadpack.allowFilter", "true"]);
        let clone = self.path("home/blobless");
        let url = format!("file://{}", self.ks.dir().display());
        self.git(&[
            "clone",
            "-q",
            "--filter=blob:none",
            &url,
            clone.to_str().unwrap(),
        ]);
        let missing = self.git_in(
            &clone,
            &["rev-list", "--objects", "--missing=print", "--all"],
        );
        assert!(
            missing.lines().any(|l| l.starts_with('?')),
            "blobs were left out"
        );
        clone
    }

    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(self.ks.dir(), args)
    }

    /// Commits everything as `who`, written `days` ago; returns the commit's author time.
    pub fn commit(&self, msg: &str, days: i64, who: &str) -> i64 {
        self.git(&["add", "-A"]);
        self.git_as(who, days, &["commit", "-q", "--allow-empty", "-m", msg])
    }

    /// `git ARGS` as `who`, with author and committer dates `days` ago; returns that time.
    pub fn git_as(&self, who: &str, days: i64, args: &[&str]) -> i64 {
        let t = now() - days * DAY;
        self.git_at(who, t, t, args);
        t
    }

    /// `git ARGS` as `who`, with the author and committer times given (unix seconds): a
    /// commit whose dates disagree, or lie in the future.
    pub fn git_at(&self, who: &str, author: i64, committer: i64, args: &[&str]) {
        let out = Command::new("git")
            .args(["-c", &format!("user.name={who}")])
            .args(["-c", &format!("user.email={who}@example.com")])
            .args(args)
            .current_dir(self.ks.dir())
            .env("HOME", self.path("home"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_DATE", format!("@{author} +0000"))
            .env("GIT_COMMITTER_DATE", format!("@{committer} +0000"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn set(&self, file: &str, key: &str, value: &str) {
        self.ks.ok(&["set", file, key, value]);
    }

    /// The merge-driver scenario of the key-service tests: `config/app.yaml` holding
    /// `plain` is encrypted (for the environment the caller's `.secrets.yaml` gives it) and
    /// committed; on `feature` it is rotated and `api_token` set to `tok-feature`; on `main`
    /// `db.password` is set to `pw-main`; then `git merge feature` runs the driver. Every
    /// command, `git` included, gets the age key and what `service` adds (a Vault token, AWS
    /// variables). Returns main's file as it was before the merge.
    pub fn rotate_on_a_branch_and_merge(
        &self,
        plain: &str,
        service: &dyn Fn(&mut Command),
    ) -> String {
        let secrets = |args: &[&str]| {
            let mut c = self.ks.cmd();
            service(&mut c);
            let out = c.args(args).output().unwrap();
            assert!(
                out.status.success(),
                "secrets {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        std::fs::create_dir_all(self.path("config")).unwrap();
        std::fs::write(self.path("config/app.yaml"), plain).unwrap();
        secrets(&["encrypt", "-i", "config/app.yaml"]);
        secrets(&["git", "setup"]);
        self.commit("start", 3, "alice");
        self.git(&["checkout", "-q", "-b", "feature"]);
        secrets(&["rotate", "config/app.yaml"]);
        secrets(&["set", "config/app.yaml", "api_token", "tok-feature"]);
        self.commit("rotate", 2, "bob");
        self.git(&["checkout", "-q", "main"]);
        secrets(&["set", "config/app.yaml", "db.password", "pw-main"]);
        self.commit("main", 1, "alice");
        let main = self.ks.sb.read("config/app.yaml");
        let mut git = Command::new("git");
        git.args([
            "-c",
            "user.name=Alice",
            "-c",
            "user.email=alice@example.com",
        ])
        .args(["merge", "-q", "--no-edit", "feature"])
        .current_dir(self.ks.dir())
        .env("HOME", self.path("home"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_EDITOR", "true")
        .env("SOPS_AGE_KEY_FILE", &self.ks.key);
        service(&mut git);
        let out = git.output().unwrap();
        assert!(
            out.status.success(),
            "git merge: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        main
    }
}
