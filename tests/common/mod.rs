//! Helpers shared by the integration tests: isolated environments, real age keys, the
//! real binary, and the interop oracles (the `age` CLI, the real `sops` binary and the
//! npm `sops-age` decoder). A test whose oracle is missing fails (`.ci/run` installs them);
//! the tests that read `../shared/sops-fixtures` are `#[ignore]`d (see README "Tests").
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod gpg;
pub mod moto;
pub mod openbao;
pub mod repo;

/// A temporary directory with its own HOME, so the developer's keys are never read.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

/// A member's key pair written to a private file.
pub struct Key {
    pub file: PathBuf,
    pub public: String,
}

/// Puts the signals the tests send back to their default disposition in this test
/// process, so that the binaries it starts get them so too. A shell that starts `.ci/run`
/// in the background hands it SIGINT and SIGQUIT ignored, and `secrets` rightly keeps a
/// signal its caller ignored (never forwards it, never dies of it): every test that sends
/// one then failed or hung, but only in backgrounded runs.
pub fn default_signals() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for sig in [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: setting a disposition to the default installs no handler.
            unsafe {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
    });
}

impl Sandbox {
    pub fn new() -> Sandbox {
        default_signals();
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        Sandbox { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    /// A fresh age identity saved as `name.key` (mode 0600).
    pub fn key(&self, name: &str) -> Key {
        let id = age::x25519::Identity::generate();
        let public = id.to_public().to_string();
        let file = self.path(&format!("{name}.key"));
        write_private(
            &file,
            &format!("# public key: {public}\n{}\n", secret_of(&id)),
        );
        Key { file, public }
    }

    /// The `secrets` binary with an isolated environment, run in the sandbox.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::cargo_bin("secrets").unwrap();
        isolate(&mut c, self.dir.path());
        c
    }

    /// The binary as a std Command (for stdin pipes and signals).
    pub fn std_cmd(&self) -> Command {
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("secrets"));
        for (k, _) in std::env::vars() {
            if k.starts_with("SOPS_") || k.starts_with("SECRETS_") || k == "EDITOR" {
                c.env_remove(k);
            }
        }
        c.env("HOME", self.dir.path().join("home"))
            .env("XDG_CONFIG_HOME", self.dir.path().join("home/.config"))
            .current_dir(self.dir.path());
        c
    }
}

fn isolate(c: &mut assert_cmd::Command, dir: &Path) {
    for (k, _) in std::env::vars() {
        if k.starts_with("SOPS_") || k.starts_with("SECRETS_") || k == "EDITOR" || k == "VISUAL" {
            c.env_remove(k);
        }
    }
    c.env("HOME", dir.join("home"))
        .env("XDG_CONFIG_HOME", dir.join("home/.config"))
        .env("NO_COLOR", "1")
        .current_dir(dir);
}

pub fn secret_of(id: &age::x25519::Identity) -> String {
    use secrecy::ExposeSecret;
    id.to_string().expose_secret().to_string()
}

pub fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// The sops 3.11 files committed in `testdata/sops-fixtures/` (written by its `generate.sh`).
pub fn sops_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sops-fixtures")
}

/// The shared folder of files written by older sops versions (3.7.1-3.9.2). Only tests
/// marked `#[ignore = "needs ../shared/sops-fixtures …"]` call this, so reaching it without the folder (they
/// were asked for with `--include-ignored`) is a failure, never a silent pass.
pub fn shared_fixtures() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/sops-fixtures");
    assert!(
        p.is_dir(),
        "{} is missing: this test reads files written by older sops versions from it",
        p.display()
    );
    p
}

/// A fixture key copied to a private file (ssh-keygen and age want 0600; git keeps 0644).
pub fn fixture_key(sb: &Sandbox, dir: &Path, name: &str) -> PathBuf {
    let dst = sb.path(name);
    write_private(&dst, &std::fs::read_to_string(dir.join(name)).unwrap());
    dst
}

/// An external oracle program. A missing one fails the test that needs it: `.ci/run`
/// installs them all (under `.tools/`, which is also searched), and a test that passed
/// without its oracle would have tested nothing.
pub fn oracle(name: &str, found: Option<PathBuf>) -> Option<PathBuf> {
    if found.is_some() {
        return found;
    }
    panic!("{name} not found: this test needs it as an oracle; `bash .ci/run` installs it (under .tools/)");
}

pub fn on_path(prog: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

pub fn sops_bin() -> Option<PathBuf> {
    oracle(
        "sops",
        std::env::var_os("SECRETS_TEST_SOPS")
            .map(PathBuf::from)
            .or_else(|| on_path("sops"))
            .or_else(|| in_tools("bin/sops")),
    )
}

/// A program `.ci/run` installed under `.tools/` of this checkout.
fn in_tools(rel: &str) -> Option<PathBuf> {
    Some(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(".tools")
            .join(rel),
    )
    .filter(|p| p.is_file())
}

/// Holds `path`'s lock (an exclusive `flock`, as `flock FILE …` or a running `secrets`
/// command would) until the file returned is dropped.
pub fn hold_lock(path: &Path) -> std::fs::File {
    use std::os::unix::io::AsRawFd;
    let holder = std::fs::File::open(path).unwrap();
    // SAFETY: flock on a descriptor we own.
    assert_eq!(unsafe { libc::flock(holder.as_raw_fd(), libc::LOCK_EX) }, 0);
    holder
}

pub fn ssh_keygen_bin() -> Option<PathBuf> {
    oracle("ssh-keygen", on_path("ssh-keygen"))
}

pub fn age_bin() -> Option<PathBuf> {
    oracle("age", on_path("age"))
}

/// The `pre-commit` framework (PyPI): on PATH, else where .ci/run installs it.
pub fn pre_commit_bin() -> Option<PathBuf> {
    oracle(
        "pre-commit",
        on_path("pre-commit").or_else(|| {
            Some(Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/pre-commit"))
                .filter(|p| p.is_file())
        }),
    )
}

/// The npm `sops-age` package directory.
pub fn sops_age_js() -> Option<PathBuf> {
    let dir = std::env::var_os("SECRETS_TEST_SOPS_AGE_JS")
        .map(PathBuf::from)
        .or_else(|| {
            Some(Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/node_modules/sops-age"))
        })
        .filter(|p| p.is_dir());
    let dir = oracle("npm sops-age", dir)?;
    oracle("node", on_path("node"))?;
    Some(dir)
}

/// A sandbox whose commands decrypt with one identity made by the real `secrets keygen`
/// (exported as `SOPS_AGE_KEY_FILE`), for tests that run commands as a single user.
pub struct KeyedSandbox {
    pub sb: Sandbox,
    pub key: PathBuf,
    pub public: String,
}

impl KeyedSandbox {
    pub fn new() -> KeyedSandbox {
        let sb = Sandbox::new();
        std::fs::create_dir_all(sb.path("home/.config")).unwrap();
        let key = sb.path("key.txt");
        let out = sb
            .std_cmd()
            .arg("keygen")
            .arg("-o")
            .arg(&key)
            .output()
            .unwrap();
        assert!(out.status.success(), "keygen: {out:?}");
        let public = public_key_of(&key);
        KeyedSandbox { sb, key, public }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.sb.path(rel)
    }

    pub fn dir(&self) -> &Path {
        self.sb.dir.path()
    }

    /// The binary as a std Command (pipes and signals), decrypting with this key.
    pub fn cmd(&self) -> Command {
        let mut c = self.sb.std_cmd();
        c.env("SOPS_AGE_KEY_FILE", &self.key).env("NO_COLOR", "1");
        c
    }

    pub fn run(&self, args: &[&str]) -> std::process::Output {
        self.cmd().args(args).output().unwrap()
    }

    /// python3 running `script` with the binary as its `argv[1]` (to drive it on a pty),
    /// in the sandbox's directory with the environment `secrets` gets here.
    pub fn python_driving(&self, python: &Path, script: &str) -> Command {
        let c = self.cmd();
        let mut py = Command::new(python);
        py.arg("-c")
            .arg(script)
            .arg(c.get_program())
            .envs(c.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
            .current_dir(self.dir());
        py
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> Vec<u8> {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "secrets {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Writes `plain` as `name` and encrypts it in place for this sandbox's key.
    pub fn encrypted(&self, name: &str, plain: &str) -> String {
        self.encrypted_for(name, plain, &self.public)
    }

    pub fn encrypted_for(&self, name: &str, plain: &str, recipient: &str) -> String {
        std::fs::write(self.path(name), plain).unwrap();
        self.ok(&["encrypt", "-i", "--age", recipient, name]);
        name.to_string()
    }
}

/// The `# public key: …` line of an age-keygen format identity file.
pub fn public_key_of(key: &Path) -> String {
    std::fs::read_to_string(key)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(str::to_string))
        .expect("public key line")
}

/// How many connections reached `listener` since it was last asked (each accepted and
/// closed): whether a command asked a server, without timing it.
pub fn connections_to(listener: &std::net::TcpListener) -> usize {
    listener.set_nonblocking(true).unwrap();
    let mut n = 0;
    while listener.accept().is_ok() {
        n += 1;
    }
    n
}
