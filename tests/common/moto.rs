//! A real local AWS KMS (and STS, IAM) for the key-service tests: moto's server
//! (`moto_server`, PyPI `moto[server]`) on a free loopback port, waited for until it
//! answers, and always killed on drop (also when the test panics). `.ci/run` installs it
//! under `.tools/bin`; a missing one fails the test with that instruction, as every
//! missing oracle does.
//!
//! moto accepts any credentials unless told otherwise: `start_with_auth` makes it check
//! signatures and IAM policies after the first few requests (its
//! `INITIAL_NO_AUTH_ACTION_COUNT`), which the tests spend creating a user and a key.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use secrets::keys::service::aws_kms::{AwsEnv, AwsKms};

/// `moto_server`: on PATH, else under `.tools/bin`.
pub fn moto_bin() -> PathBuf {
    super::on_path("moto_server")
        .or_else(|| {
            Some(Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/moto_server"))
                .filter(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!("moto_server not found: the AWS KMS tests need it (PyPI moto[server]); `bash .ci/run` installs it under .tools/bin")
        })
}

/// The Python that runs moto (boto3 is one of moto's own dependencies): the interpreter
/// named by `moto_server`'s first line, else `python3`.
pub fn moto_python() -> PathBuf {
    let bin = std::fs::canonicalize(moto_bin()).unwrap();
    let first = std::fs::read_to_string(&bin)
        .ok()
        .and_then(|t| t.lines().next().map(str::to_string))
        .unwrap_or_default();
    first
        .strip_prefix("#!")
        .map(str::trim)
        .filter(|p| p.contains("python") && !p.contains(' ') && Path::new(p).is_file())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"))
}

pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    dir: tempfile::TempDir,
}

/// The credentials every test hands moto when it does not check them.
pub const ANY_KEY_ID: &str = "AKIAMOTOTESTKEY00000";
pub const ANY_SECRET: &str = "moto-test-secret-not-checked";

impl Moto {
    /// A server that accepts any credentials (moto's default).
    pub fn start() -> Moto {
        Self::launch(None)
    }

    /// A server that checks signatures and IAM policies from its `free`+1-th request on.
    pub fn start_with_auth(free: u32) -> Moto {
        Self::launch(Some(free))
    }

    fn launch(auth_after: Option<u32>) -> Moto {
        let bin = moto_bin();
        let mut last = String::new();
        // A port taken between picking and binding: try another.
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let port = super::openbao::free_port();
            let mut cmd = Command::new(&bin);
            cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("HOME", dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(
                    std::fs::File::create(dir.path().join("server.err")).unwrap(),
                ));
            for (k, _) in std::env::vars() {
                if k.starts_with("AWS_") {
                    cmd.env_remove(k);
                }
            }
            if let Some(n) = auth_after {
                cmd.env("INITIAL_NO_AUTH_ACTION_COUNT", n.to_string());
            }
            let child = cmd.spawn().expect("start moto_server");
            let mut server = Moto {
                child,
                url: format!("http://127.0.0.1:{port}"),
                dir,
            };
            if server.wait_ready() {
                return server;
            }
            last =
                std::fs::read_to_string(server.dir.path().join("server.err")).unwrap_or_default();
        }
        panic!("moto_server did not become ready: {last}");
    }

    /// Polls moto's own API until it answers (or the server exits, or 60 s pass).
    fn wait_ready(&mut self) -> bool {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(2)))
            .build()
            .into();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if agent
                .get(format!("{}/moto-api/data.json", self.url))
                .call()
                .is_ok()
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// The AWS variables of a client of this server: its endpoint and static keys.
    pub fn vars(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL".into(), self.url.clone()),
            ("AWS_ACCESS_KEY_ID".into(), ANY_KEY_ID.into()),
            ("AWS_SECRET_ACCESS_KEY".into(), ANY_SECRET.into()),
            (
                "HOME".into(),
                self.dir.path().join("home").display().to_string(),
            ),
        ]
    }

    pub fn env(&self) -> AwsEnv {
        AwsEnv::from_vars(self.vars())
    }

    /// A new symmetric KMS key in `region` (CreateKey through our own client): its ARN.
    pub fn create_key(&self, region: &str) -> String {
        let out = AwsKms::with_env(self.env())
            .raw_call(region, "CreateKey", "{}")
            .unwrap_or_else(|e| panic!("CreateKey: {e}"));
        out["KeyMetadata"]["Arn"].as_str().unwrap().to_string()
    }

    /// Runs a Python snippet with boto3 against this server (`URL` is its address).
    pub fn python(&self, code: &str) -> String {
        let out = Command::new(moto_python())
            .arg("-c")
            .arg(format!("URL = {:?}\n{code}", self.url))
            .env("AWS_ACCESS_KEY_ID", ANY_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", ANY_SECRET)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("HOME", self.dir.path())
            .output()
            .expect("run moto's python");
        assert!(
            out.status.success(),
            "python with boto3: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
