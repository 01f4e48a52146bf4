//! AWS KMS as a key service, against a real local KMS (moto's server, tests/common/moto.rs):
//! the data key's round trip, the encryption context, a role assumed through STS, the
//! credential chain (a shared-credentials profile; wrong keys refused by a moto that
//! checks SigV4 signatures), a KMS that is down or silent, and interop both ways with the
//! real sops 3.11 pointed at the same moto through `AWS_ENDPOINT_URL`.

mod common;

use std::collections::BTreeMap;

use base64::Engine as _;
use common::moto::Moto;
use secrets::keys::service::aws_kms::{AwsEnv, AwsKms, KmsKey};
use secrets::model::Scalar;

const REGION: &str = "eu-west-1";

fn key(arn: &str) -> KmsKey {
    KmsKey {
        arn: arn.to_string(),
        ..KmsKey::default()
    }
}

fn context(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn data_key() -> Vec<u8> {
    secrets::crypto::DataKey::generate().bytes().to_vec()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The environment of `moto.vars()` with some variables changed or added.
fn env_with(moto: &Moto, extra: &[(&str, &str)]) -> AwsEnv {
    let mut vars: BTreeMap<String, String> = moto.vars().into_iter().collect();
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    AwsEnv::from_vars(vars)
}

#[test]
fn data_key_round_trip_with_context() {
    let moto = Moto::start();
    let kms = AwsKms::with_env(moto.env());
    let mut k = key(&moto.create_key(REGION));
    k.context = context(&[("app", "web"), ("env", "prod")]);
    let dk = data_key();
    let enc = kms.encrypt(&k, &dk).unwrap();
    assert!(
        base64::engine::general_purpose::STANDARD
            .decode(&enc)
            .is_ok(),
        "{enc}"
    );
    assert!(!enc.contains(&b64(&dk)));
    assert_eq!(*kms.decrypt(&k, &enc).unwrap(), dk);
}

#[test]
fn another_encryption_context_is_refused() {
    let moto = Moto::start();
    let kms = AwsKms::with_env(moto.env());
    let mut k = key(&moto.create_key(REGION));
    k.context = context(&[("env", "prod")]);
    let enc = kms.encrypt(&k, &data_key()).unwrap();
    for other in [context(&[("env", "dev")]), BTreeMap::new()] {
        let wrong = KmsKey {
            context: other,
            ..k.clone()
        };
        let err = kms.decrypt(&wrong, &enc).unwrap_err().to_string();
        assert!(err.contains("InvalidCiphertextException"), "{err}");
        assert!(
            err.contains(&k.arn) && err.contains("region eu-west-1"),
            "{err}"
        );
    }
}

#[test]
fn a_role_is_assumed_through_sts() {
    let moto = Moto::start();
    let mut k = key(&moto.create_key(REGION));
    k.role = Some("arn:aws:iam::123456789012:role/sops-decrypt".into());
    let dk = data_key();
    let kms = AwsKms::with_env(moto.env());
    let enc = kms.encrypt(&k, &dk).unwrap();
    assert_eq!(*kms.decrypt(&k, &enc).unwrap(), dk);

    // The role goes through STS: with STS down, KMS is not asked.
    let dead = common::openbao::DEAD_ENDPOINT.to_string();
    let kms = AwsKms::with_env(env_with(&moto, &[("AWS_ENDPOINT_URL_STS", &dead)]));
    let err = kms.decrypt(&k, &enc).unwrap_err().to_string();
    assert!(err.contains("cannot reach") && err.contains(&dead), "{err}");
}

#[test]
fn the_entry_profile_and_aws_profile_come_from_the_shared_files() {
    let moto = Moto::start();
    let arn = moto.create_key(REGION);
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials");
    let config = dir.path().join("config");
    std::fs::write(
        &creds,
        "[ci]\naws_access_key_id = AKIAPROFILECI0000000\naws_secret_access_key = ci-secret\n",
    )
    .unwrap();
    std::fs::write(
        &config,
        "[profile dev]\nregion = us-east-1\naws_access_key_id = AKIAPROFILEDEV000000\naws_secret_access_key = dev-secret\n\
         [profile sso]\nsso_session = corp\n",
    )
    .unwrap();
    let base = [
        ("AWS_ENDPOINT_URL", moto.url.as_str()),
        ("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap()),
        ("AWS_CONFIG_FILE", config.to_str().unwrap()),
    ];
    let dk = data_key();

    // The entry's aws_profile.
    let mut k = key(&arn);
    k.aws_profile = Some("ci".into());
    let kms = AwsKms::with_env(AwsEnv::from_vars(base));
    let enc = kms.encrypt(&k, &dk).unwrap();
    assert_eq!(*kms.decrypt(&k, &enc).unwrap(), dk);

    // AWS_PROFILE, from the config file.
    let mut vars = base.to_vec();
    vars.push(("AWS_PROFILE", "dev"));
    let kms = AwsKms::with_env(AwsEnv::from_vars(vars));
    assert_eq!(*kms.decrypt(&key(&arn), &enc).unwrap(), dk);

    // A profile that is not there, one that needs SSO, and no credentials at all.
    let mut vars = base.to_vec();
    vars.push(("AWS_EC2_METADATA_DISABLED", "true"));
    let kms = AwsKms::with_env(AwsEnv::from_vars(vars));
    k.aws_profile = Some("nope".into());
    let err = kms.decrypt(&k, &enc).unwrap_err().to_string();
    assert!(err.contains("\"nope\" is in neither"), "{err}");
    k.aws_profile = Some("sso".into());
    let err = kms.decrypt(&k, &enc).unwrap_err().to_string();
    assert!(err.contains("uses SSO, which is not supported"), "{err}");
    let err = kms.decrypt(&key(&arn), &enc).unwrap_err().to_string();
    assert!(err.contains("no AWS credentials"), "{err}");
    for secret in ["ci-secret", "dev-secret"] {
        assert!(!err.contains(secret));
    }
}

/// moto checks signatures (with botocore's SigV4) and IAM policies from its seventh
/// request on: the first six make a user with an access key and a policy, a role with a
/// policy, and a KMS key.
#[test]
fn signatures_are_checked_and_wrong_keys_refused() {
    let moto = Moto::start_with_auth(6);
    let out = moto.python(
        r#"
import boto3, json
iam = boto3.client("iam", endpoint_url=URL)
iam.create_user(UserName="ci")
k = iam.create_access_key(UserName="ci")["AccessKey"]
iam.put_user_policy(UserName="ci", PolicyName="kms", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["kms:*", "sts:*"], "Resource": "*"}]}))
role = iam.create_role(RoleName="decrypt", AssumeRolePolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
iam.put_role_policy(RoleName="decrypt", PolicyName="kms", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["kms:*"], "Resource": "*"}]}))
kms = boto3.client("kms", endpoint_url=URL, region_name="eu-west-1")
arn = kms.create_key()["KeyMetadata"]["Arn"]
print(k["AccessKeyId"], k["SecretAccessKey"], arn, role)
"#,
    );
    let [id, secret, arn, role]: [&str; 4] = out
        .split_whitespace()
        .collect::<Vec<_>>()
        .try_into()
        .unwrap();
    let k = key(arn);
    let dk = data_key();
    let good = AwsKms::with_env(env_with(
        &moto,
        &[("AWS_ACCESS_KEY_ID", id), ("AWS_SECRET_ACCESS_KEY", secret)],
    ));
    let enc = good.encrypt(&k, &dk).unwrap();
    assert_eq!(*good.decrypt(&k, &enc).unwrap(), dk);

    // Through the role: STS's temporary keys and session token sign the KMS call.
    let via_role = KmsKey {
        role: Some(role.to_string()),
        ..k.clone()
    };
    assert_eq!(*good.decrypt(&via_role, &enc).unwrap(), dk);

    let wrong_secret = "wrong-secret-0123456789";
    let bad = AwsKms::with_env(env_with(
        &moto,
        &[
            ("AWS_ACCESS_KEY_ID", id),
            ("AWS_SECRET_ACCESS_KEY", wrong_secret),
        ],
    ));
    let err = bad.decrypt(&k, &enc).unwrap_err().to_string();
    assert!(
        err.contains("Decrypt failed: HTTP 403: SignatureDoesNotMatch"),
        "{err}"
    );
    assert!(err.contains("credentials from environment"), "{err}");
    for leak in [wrong_secret, secret, &b64(&dk)] {
        assert!(!err.contains(leak), "{err}");
    }
}

#[test]
fn a_kms_that_is_down_fails_fast_naming_the_service() {
    let dead = common::openbao::DEAD_ENDPOINT.to_string();
    let secret = "never-shown-secret-key";
    let env = AwsEnv::from_vars([
        ("AWS_ENDPOINT_URL", dead.as_str()),
        ("AWS_ACCESS_KEY_ID", "AKIANEVERSHOWN000000"),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("AWS_SESSION_TOKEN", "never-shown-token"),
    ]);
    let arn = "arn:aws:kms:eu-west-1:111122223333:key/0b4a7e8c-0000-4000-8000-000000000000";
    let dk = data_key();
    let err = AwsKms::with_env(env).encrypt(&key(arn), &dk).unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(
        shown.contains(arn) && shown.contains("region eu-west-1"),
        "{shown}"
    );
    assert!(
        shown.contains("cannot reach") && shown.contains(&dead),
        "{shown}"
    );
    for leak in [secret, "never-shown-token", "AKIANEVERSHOWN", &b64(&dk)] {
        assert!(!shown.contains(leak), "{shown}");
    }
}

#[test]
fn a_silent_kms_fails_within_the_timeout() {
    // Accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let env = AwsEnv::from_vars([
        ("AWS_ENDPOINT_URL_KMS", url.as_str()),
        ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("SECRETS_KEYSERVICE_TIMEOUT", "1"),
    ]);
    let arn = "arn:aws:kms:us-east-2:111122223333:alias/prod";
    // It returns at all, from a server that never answers: the timeout ended the wait.
    let err = AwsKms::with_env(env)
        .decrypt(&key(arn), "AQICAHg=")
        .unwrap_err()
        .to_string();
    assert!(common::connections_to(&listener) >= 1, "KMS was not asked");
    assert!(err.contains(arn) && err.contains(&url), "{err}");
    drop(listener);

    let bad = AwsEnv::from_vars([("SECRETS_KEYSERVICE_TIMEOUT", "5s")]);
    let err = AwsKms::with_env(bad)
        .decrypt(&key(arn), "AQ==")
        .unwrap_err()
        .to_string();
    assert!(err.contains("SECRETS_KEYSERVICE_TIMEOUT"), "{err}");
}

/// The `enc` and `context` of the one `kms` entry of a sops YAML file.
fn kms_entry(text: &str) -> (String, BTreeMap<String, String>) {
    let enc = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("enc: "))
        .expect("an enc line")
        .to_string();
    let mut ctx = BTreeMap::new();
    let mut lines = text.lines().skip_while(|l| l.trim() != "context:").skip(1);
    for l in lines.by_ref() {
        let Some((k, v)) = l.trim().split_once(": ") else {
            break;
        };
        if !l.starts_with("            ") {
            break;
        }
        ctx.insert(k.to_string(), v.to_string());
    }
    (enc, ctx)
}

/// sops 3.11 encrypts against moto; our `decrypt` unwraps the data key it wrote (which
/// then opens a value); sops decrypts the file after its `enc` is replaced by ours.
#[test]
fn interop_with_sops_both_ways() {
    let sops = common::sops_bin().expect("sops");
    let moto = Moto::start();
    let arn = moto.create_key(REGION);
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("app.yaml");
    std::fs::write(&plain, "password: hunter2\n").unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(&sops)
            .args(args)
            .envs(moto.vars())
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .env_remove("SOPS_AGE_KEY_FILE")
            .env_remove("SOPS_AGE_KEY")
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sops {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let written = run(&[
        "encrypt",
        "--kms",
        &arn,
        "--encryption-context",
        "app:web,env:prod",
        "app.yaml",
    ]);
    let (enc, ctx) = kms_entry(&written);
    assert_eq!(ctx, context(&[("app", "web"), ("env", "prod")]));

    // Ours unwraps sops's stanza; the data key opens sops's value.
    let kms = AwsKms::with_env(moto.env());
    let k = KmsKey {
        context: ctx,
        ..key(&arn)
    };
    let dk = kms.decrypt(&k, &enc).unwrap();
    let dk = secrets::crypto::DataKey::from_slice(&dk).expect("a 32-byte data key");
    let value = written
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .unwrap();
    let (opened, _) = secrets::crypto::value::decrypt(value, &dk, "password:").unwrap();
    assert!(matches!(opened, Scalar::Str(ref s) if s == "hunter2"));

    // sops unwraps ours: the same file with the stanza we wrapped.
    let ours = kms.encrypt(&k, dk.bytes()).unwrap();
    assert_ne!(ours, enc);
    std::fs::write(dir.path().join("ours.yaml"), written.replace(&enc, &ours)).unwrap();
    assert_eq!(run(&["decrypt", "ours.yaml"]), "password: hunter2\n");
}

/// A stand-in for the machine's credential endpoints (IMDS, the ECS agent): answers each
/// request by `answer(method, path, headers)` and closes the connection; keeps what it
/// was asked (method, path, headers) for the test to check.
struct FakeEndpoint {
    pub url: String,
    asked: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl FakeEndpoint {
    fn start(answer: fn(&str) -> (u16, String)) -> FakeEndpoint {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = asked.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut head = String::new();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line.to_ascii_lowercase());
                }
                let (status, body) = answer(&head);
                log.lock().unwrap().push(head);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        FakeEndpoint { url, asked }
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

const MACHINE_KEYS: &str = r#"{"Code":"Success","AccessKeyId":"ASIAMACHINE000000000","SecretAccessKey":"machine-secret","Token":"machine-token","Expiration":"2099-01-01T00:00:00Z"}"#;

/// IMDSv2 as EC2 serves it: a session token first, then the role's name and its keys.
fn imds(head: &str) -> (u16, String) {
    let token = head.contains("x-aws-ec2-metadata-token: imds-session");
    match head.lines().next().unwrap_or_default() {
        l if l.starts_with("put /latest/api/token ")
            && head.contains("x-aws-ec2-metadata-token-ttl-seconds:") =>
        {
            (200, "imds-session".into())
        }
        l if l.starts_with("get /latest/meta-data/iam/security-credentials/ ") && token => {
            (200, "web-role\n".into())
        }
        l if l.starts_with("get /latest/meta-data/iam/security-credentials/web-role ") && token => {
            (200, MACHINE_KEYS.into())
        }
        _ => (401, String::new()),
    }
}

#[test]
fn an_instance_role_is_read_through_imdsv2() {
    let moto = Moto::start();
    let arn = moto.create_key(REGION);
    let fake = FakeEndpoint::start(imds);
    let env = AwsEnv::from_vars([
        ("AWS_ENDPOINT_URL", moto.url.as_str()),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", fake.url.as_str()),
        ("HOME", "/nonexistent"),
    ]);
    let dk = data_key();
    let kms = AwsKms::with_env(env);
    let enc = kms.encrypt(&key(&arn), &dk).unwrap();
    assert_eq!(*kms.decrypt(&key(&arn), &enc).unwrap(), dk);
    let asked = fake.asked();
    assert_eq!(asked.len(), 6, "{asked:?}");
    assert!(asked[0].starts_with("put /latest/api/token "), "{asked:?}");

    // IMDSv1 only (the token refused), or nothing listening: no credentials, quickly.
    let dead = common::openbao::DEAD_ENDPOINT.to_string();
    for endpoint in [FakeEndpoint::start(|_| (403, String::new())).url, dead] {
        let env = AwsEnv::from_vars([
            ("AWS_ENDPOINT_URL", moto.url.as_str()),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint.as_str()),
            ("HOME", "/nonexistent"),
        ]);
        let err = AwsKms::with_env(env)
            .decrypt(&key(&arn), &enc)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no AWS credentials"), "{err}");
    }
}

#[test]
fn container_credentials_are_read_with_their_token() {
    let moto = Moto::start();
    let arn = moto.create_key(REGION);
    let fake = FakeEndpoint::start(|head| {
        if head.starts_with("get /creds ") && head.contains("authorization: container-auth") {
            (200, MACHINE_KEYS.into())
        } else {
            (403, String::new())
        }
    });
    let full = format!("{}/creds", fake.url);
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "container-auth\n").unwrap();
    let dk = data_key();
    for token in [
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-auth"),
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            token_file.to_str().unwrap(),
        ),
    ] {
        let kms = AwsKms::with_env(AwsEnv::from_vars([
            ("AWS_ENDPOINT_URL", moto.url.as_str()),
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", full.as_str()),
            token,
            ("HOME", "/nonexistent"),
        ]));
        let enc = kms.encrypt(&key(&arn), &dk).unwrap();
        assert_eq!(*kms.decrypt(&key(&arn), &enc).unwrap(), dk);
    }
    // A wrong token: the endpoint's refusal, no secret shown.
    let kms = AwsKms::with_env(AwsEnv::from_vars([
        ("AWS_ENDPOINT_URL", moto.url.as_str()),
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", full.as_str()),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong-auth"),
        ("HOME", "/nonexistent"),
    ]));
    let err = kms.encrypt(&key(&arn), &dk).unwrap_err().to_string();
    assert!(
        err.contains("container credentials endpoint answered HTTP 403"),
        "{err}"
    );
    assert!(!err.contains("wrong-auth"), "{err}");
    // Plain http elsewhere than this machine or the agents is refused.
    let kms = AwsKms::with_env(AwsEnv::from_vars([
        (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://creds.example/x",
        ),
        ("HOME", "/nonexistent"),
    ]));
    let err = kms.encrypt(&key(&arn), &dk).unwrap_err().to_string();
    assert!(err.contains("plain http is accepted only"), "{err}");
}

// ---------------------------------------------------------------------------------------
// The commands with `kms` stanzas (issue 15): `encrypt --kms`, decrypt through AWS
// credentials alone, `env add --kms`, `.sops.yaml`'s `kms`, updatekeys and rotate,
// offboarding, import and audit, each against moto and checked with the real sops 3.11.

use common::{sops_bin, Sandbox};
use std::path::Path;
use std::process::{Command, Output};

const PLAIN: &str = "db:\n  password: hunter2\n  port: 5432\napi_token: t0k3n\n";

/// `secrets ARGS` in the sandbox with only the AWS variables given (none of the
/// process's) and no age key unless `age` names one.
fn secrets(sb: &Sandbox, vars: &[(String, String)], age: Option<&Path>, args: &[&str]) -> Output {
    let mut c = sb.std_cmd();
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            c.env_remove(k);
        }
    }
    c.env("NO_COLOR", "1").env("HOME", sb.path("home"));
    for (k, v) in vars {
        if k != "HOME" {
            c.env(k, v);
        }
    }
    if let Some(k) = age {
        c.env("SOPS_AGE_KEY_FILE", k);
    }
    c.args(args).output().unwrap()
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The real sops with only moto's AWS variables (no age key, a HOME of its own).
fn sops_cmd(sb: &Sandbox, moto: &Moto) -> Command {
    let mut c = Command::new(sops_bin().expect("sops"));
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            c.env_remove(k);
        }
    }
    c.env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_KEY")
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .envs(moto.vars())
        .env("HOME", sb.path("home"))
        .env("XDG_CONFIG_HOME", sb.path("home/.config"))
        .current_dir(sb.dir.path());
    c
}

fn sops_decrypt(sb: &Sandbox, moto: &Moto, file: &str) -> String {
    let out = sops_cmd(sb, moto).args(["-d", file]).output().unwrap();
    ok(out, &format!("sops -d {file}"))
}

/// The lines of a YAML file's `sops.kms` list (any indentation: ours is 2, sops's 4).
fn kms_lines(text: &str) -> Vec<&str> {
    let mut lines = text.lines();
    let Some(head) = lines.by_ref().find(|l| l.trim() == "kms:") else {
        return Vec::new();
    };
    let indent = head.len() - head.trim_start().len();
    lines
        .take_while(|l| l.len() - l.trim_start().len() > indent)
        .collect()
}

/// The `enc` of every `kms` stanza of a YAML file, in order.
fn kms_encs(text: &str) -> Vec<String> {
    kms_lines(text)
        .iter()
        .filter_map(|l| l.trim().strip_prefix("enc: "))
        .map(str::to_string)
        .collect()
}

#[test]
fn ours_with_kms_decrypts_with_only_aws_credentials_here_and_with_sops() {
    let moto = Moto::start();
    let arn = moto.create_key(REGION);
    let sb = Sandbox::new();
    let v = moto.vars();
    sb.write("a.yaml", PLAIN);
    ok(
        secrets(
            &sb,
            &v,
            None,
            &[
                "encrypt",
                "-i",
                "--kms",
                &arn,
                "--encryption-context",
                "app:web,env:prod",
                "a.yaml",
            ],
        ),
        "encrypt",
    );
    let text = sb.read("a.yaml");
    // The stanza as sops 3.11 writes it: its fields in its order, no age list.
    let fields: Vec<&str> = kms_lines(&text)
        .iter()
        .map(|l| l.trim_start_matches([' ', '-']).split(':').next().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "arn",
            "context",
            "app",
            "env",
            "created_at",
            "enc",
            "aws_profile"
        ],
        "{text}"
    );
    assert!(text.contains(&format!("- arn: {arn}\n")), "{text}");
    assert!(text.contains("      aws_profile: \"\"\n"), "{text}");
    assert_eq!(kms_encs(&text).len(), 1);
    assert!(!text.contains("age:"));
    // Here, with the AWS variables only (no age identity anywhere).
    assert_eq!(
        ok(secrets(&sb, &v, None, &["decrypt", "a.yaml"]), "decrypt"),
        PLAIN
    );
    // sops reads what we wrote through the same moto (and checks the MAC).
    assert_eq!(
        sops_decrypt(&sb, &moto, "a.yaml").replace("    ", "  "),
        PLAIN
    );

    // JSON and dotenv (flattened: sops_kms__list_0__map_arn) too, with a role.
    let role = format!("{arn}+arn:aws:iam::123456789012:role/sops");
    for (name, plain) in [
        ("b.json", "{\"a\": \"x\", \"n\": 2}\n"),
        ("b.env", "A=1\nB=two words\n"),
    ] {
        sb.write(name, plain);
        ok(
            secrets(&sb, &v, None, &["encrypt", "-i", "--kms", &role, name]),
            name,
        );
        let written = sb.read(name);
        if name.ends_with(".env") {
            assert!(
                written.contains(&format!("sops_kms__list_0__map_arn={arn}\n"))
                    && written.contains(
                        "sops_kms__list_0__map_role=arn:aws:iam::123456789012:role/sops\n"
                    )
                    && written.contains("sops_kms__list_0__map_aws_profile=\n"),
                "{written}"
            );
        }
        let ours = ok(secrets(&sb, &v, None, &["decrypt", name]), name);
        let theirs = sops_decrypt(&sb, &moto, name);
        if name.ends_with(".json") {
            // The same document (sops indents with tabs, we with the input's spaces).
            let parse = |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap();
            assert_eq!(parse(&ours), parse(&theirs));
        } else {
            assert_eq!(ours, theirs, "{name}");
        }
    }
}

#[test]
fn sops_written_kms_files_decrypt_here_and_keep_their_bytes() {
    let moto = Moto::start();
    let arn = moto.create_key(REGION);
    let sb = Sandbox::new();
    let v = moto.vars();
    let role = format!("{arn}+arn:aws:iam::123456789012:role/sops");
    for (name, plain) in [
        ("s.yaml", PLAIN),
        ("s.json", "{\"a\": \"x\", \"n\": 2}\n"),
        ("s.env", "A=1\nB=two words\n"),
        ("s.ini", "[s]\na = 1\n"),
    ] {
        sb.write(name, plain);
        let out = sops_cmd(&sb, &moto)
            .args([
                "-e",
                "-i",
                "--kms",
                &role,
                "--encryption-context",
                "app:web",
                name,
            ])
            .output()
            .unwrap();
        ok(out, &format!("sops -e {name}"));
        let ours = ok(secrets(&sb, &v, None, &["decrypt", name]), name);
        assert_eq!(ours, sops_decrypt(&sb, &moto, name), "{name}");
    }
    // A value set here changes its own line, lastmodified and the MAC: the sops
    // metadata, its kms stanza included, stays byte for byte.
    let before = sb.read("s.yaml");
    ok(
        secrets(&sb, &v, None, &["set", "s.yaml", "db.password", "changed"]),
        "set",
    );
    let after = sb.read("s.yaml");
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(before.lines().count(), after.lines().count());
    assert!(
        changed.iter().all(|(a, _)| {
            let a = a.trim_start();
            a.starts_with("password:") || a.starts_with("lastmodified:") || a.starts_with("mac:")
        }),
        "{changed:?}"
    );
    assert!(sops_decrypt(&sb, &moto, "s.yaml").contains("password: changed"));
}

/// `file` decrypts to [`PLAIN`] with sops through moto, with us through the AWS
/// variables alone, and with us through the age key `age` alone.
fn opens_every_way(sb: &Sandbox, moto: &Moto, age: &Path, file: &str) {
    assert_eq!(sops_decrypt(sb, moto, file).replace("    ", "  "), PLAIN);
    let v = moto.vars();
    // A file sops rewrote keeps its 4-space indentation here.
    let ours = |out| ok(out, file).replace("    ", "  ");
    assert_eq!(ours(secrets(sb, &v, None, &["decrypt", file])), PLAIN);
    assert_eq!(ours(secrets(sb, &[], Some(age), &["decrypt", file])), PLAIN);
}

#[test]
fn updatekeys_and_rotate_keep_the_kms_stanzas_in_step_for_sops() {
    let moto = Moto::start();
    let arn = moto.create_key(REGION);
    let sb = Sandbox::new();
    let alice = sb.key("alice");
    let v = moto.vars();
    sb.write(
        ".secrets.yaml",
        &format!(
            "members:\n  alice: {}\nenvironments:\n  prod:\n    files:\n      - prod/**\n    members:\n      - alice\n    kms:\n      - {arn}\n",
            alice.public
        ),
    );
    sb.write("prod/app.yaml", PLAIN);
    ok(
        secrets(
            &sb,
            &v,
            None,
            &["encrypt", "-i", "--age", &alice.public, "prod/app.yaml"],
        ),
        "encrypt",
    );
    assert!(kms_encs(&sb.read("prod/app.yaml")).is_empty());
    let status = |sb: &Sandbox| {
        let out = secrets(sb, &v, Some(&alice.file), &["status"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(
        status(&sb).contains(&format!("missing kms {arn}")),
        "{}",
        status(&sb)
    );
    ok(
        secrets(&sb, &v, Some(&alice.file), &["updatekeys"]),
        "updatekeys",
    );
    let text = sb.read("prod/app.yaml");
    assert_eq!(kms_encs(&text).len(), 1, "{text}");
    assert!(text.contains(&alice.public));
    let shown = status(&sb);
    assert!(
        shown.contains("alice,kms:key/") && !shown.contains("missing"),
        "{shown}"
    );
    opens_every_way(&sb, &moto, &alice.file, "prod/app.yaml");
    // A second updatekeys has nothing to do.
    ok(
        secrets(&sb, &v, Some(&alice.file), &["updatekeys"]),
        "updatekeys again",
    );
    assert_eq!(sb.read("prod/app.yaml"), text);

    // Rotation: a new data key, wrapped again through KMS.
    ok(
        secrets(&sb, &v, Some(&alice.file), &["rotate", "prod/app.yaml"]),
        "rotate",
    );
    let rotated = sb.read("prod/app.yaml");
    assert_eq!(kms_encs(&rotated).len(), 1);
    assert_ne!(
        kms_encs(&rotated),
        kms_encs(&text),
        "the kms stanza was not re-wrapped"
    );
    opens_every_way(&sb, &moto, &alice.file, "prod/app.yaml");

    // The key dropped from the environment: updatekeys refuses to drop it silently,
    // --rotate (as for a member) drops it with a new data key.
    sb.write(
        ".secrets.yaml",
        &format!(
            "members:\n  alice: {}\nenvironments:\n  prod:\n    files:\n      - prod/**\n    members:\n      - alice\n",
            alice.public
        ),
    );
    assert!(
        status(&sb).contains(&format!("kms {arn}")),
        "{}",
        status(&sb)
    );
    let out = secrets(&sb, &v, Some(&alice.file), &["updatekeys"]);
    assert!(!out.status.success(), "dropped a kms key without --rotate");
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("kms {arn}")));
    assert_eq!(sb.read("prod/app.yaml"), rotated);
    ok(
        secrets(&sb, &v, Some(&alice.file), &["updatekeys", "--rotate"]),
        "updatekeys --rotate",
    );
    let dropped = sb.read("prod/app.yaml");
    assert!(
        kms_encs(&dropped).is_empty() && !dropped.contains("kms:"),
        "{dropped}"
    );
    assert_eq!(
        ok(
            secrets(&sb, &[], Some(&alice.file), &["decrypt", "prod/app.yaml"]),
            "age"
        ),
        PLAIN
    );

    // A new file of a kms environment gets both from the config; sops rotates it (-r)
    // and we still open it with either key.
    sb.write(
        ".secrets.yaml",
        &format!(
            "members:\n  alice: {}\nenvironments:\n  prod:\n    files:\n      - prod/**\n    members:\n      - alice\n    kms:\n      - {arn}\n",
            alice.public
        ),
    );
    sb.write("prod/new.yaml", PLAIN);
    ok(
        secrets(&sb, &v, None, &["encrypt", "-i", "prod/new.yaml"]),
        "encrypt from config",
    );
    let new = sb.read("prod/new.yaml");
    assert_eq!(kms_encs(&new).len(), 1);
    assert!(new.contains(&alice.public));
    let out = sops_cmd(&sb, &moto)
        .args(["-r", "-i", "prod/new.yaml"])
        .output()
        .unwrap();
    ok(out, "sops -r");
    assert_ne!(kms_encs(&sb.read("prod/new.yaml")), kms_encs(&new));
    opens_every_way(&sb, &moto, &alice.file, "prod/new.yaml");
    // sops's updatekeys on ours, after the rule changes: we open what it leaves.
    sb.write(
        ".sops.yaml",
        &format!(
            "creation_rules:\n  - path_regex: prod/\n    kms: \"{arn}\"\n    age: {}\n",
            alice.public
        ),
    );
    let out = sops_cmd(&sb, &moto)
        .args(["updatekeys", "-y", "prod/new.yaml"])
        .output()
        .unwrap();
    ok(out, "sops updatekeys");
    opens_every_way(&sb, &moto, &alice.file, "prod/new.yaml");
}

#[test]
fn env_add_kms_and_sops_yaml_kms_rules_name_the_key() {
    let moto = Moto::start();
    let arn = moto.create_key(REGION);
    let sb = Sandbox::new();
    let alice = sb.key("alice");
    let v = moto.vars();
    sb.write(
        ".secrets.yaml",
        &format!("members:\n  alice: {}\nenvironments: {{}}\n", alice.public),
    );
    ok(
        secrets(
            &sb,
            &v,
            None,
            &[
                "env", "add", "prod", "--files", "prod/**", "--member", "alice", "--kms", &arn,
            ],
        ),
        "env add",
    );
    assert!(
        sb.read(".secrets.yaml")
            .contains(&format!("kms:\n      - {arn}")),
        "{}",
        sb.read(".secrets.yaml")
    );
    sb.write("prod/a.yaml", PLAIN);
    ok(
        secrets(&sb, &v, None, &["encrypt", "-i", "prod/a.yaml"]),
        "encrypt",
    );
    assert_eq!(kms_encs(&sb.read("prod/a.yaml")).len(), 1);
    assert_eq!(
        sops_decrypt(&sb, &moto, "prod/a.yaml").replace("    ", "  "),
        PLAIN
    );
    // A malformed ARN is refused before the config is written.
    let bad = secrets(
        &sb,
        &v,
        None,
        &[
            "env", "add", "dev", "--files", "dev/**", "--member", "alice", "--kms", "key/nope",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("arn:aws:kms:REGION"));
    assert!(!sb.read(".secrets.yaml").contains("dev"));

    // .sops.yaml's kms (a comma-separated string, as sops reads it; no team config).
    let other = Sandbox::new();
    other.write(
        ".sops.yaml",
        &format!("creation_rules:\n  - path_regex: \\.yaml$\n    kms: \"{arn}\"\n"),
    );
    other.write("b.yaml", PLAIN);
    ok(
        secrets(&other, &v, None, &["encrypt", "-i", "b.yaml"]),
        "encrypt by .sops.yaml",
    );
    let text = other.read("b.yaml");
    assert!(text.contains(&format!("- arn: {arn}")), "{text}");
    assert_eq!(
        sops_decrypt(&other, &moto, "b.yaml").replace("    ", "  "),
        PLAIN
    );

    // $SOPS_KMS_ARN stands for --kms, as for sops; a context needs a KMS key.
    let mut with_env = v.clone();
    with_env.push(("SOPS_KMS_ARN".into(), arn.clone()));
    other.write("d.yaml", PLAIN);
    ok(
        secrets(
            &other,
            &with_env,
            None,
            &["encrypt", "-i", "--encryption-context", "a:b", "d.yaml"],
        ),
        "encrypt with $SOPS_KMS_ARN",
    );
    assert_eq!(kms_encs(&other.read("d.yaml")).len(), 1);
    assert_eq!(
        sops_decrypt(&other, &moto, "d.yaml").replace("    ", "  "),
        PLAIN
    );
    other.write("e.yaml", PLAIN);
    let out = secrets(
        &other,
        &v,
        None,
        &["encrypt", "-i", "--encryption-context", "a:b", "e.yaml"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("apply to --kms keys"));

    // A key group's kms entry with a context (sops's map form), in .sops.yaml and in
    // .secrets.yaml: the file is wrapped under that context, which sops then needs.
    for (config, text) in [
        (
            ".sops.yaml",
            format!("creation_rules:\n  - key_groups:\n      - kms:\n          - arn: {arn}\n            context:\n              app: web\n"),
        ),
        (
            ".secrets.yaml",
            format!("members: {{}}\nenvironments:\n  prod:\n    files: ['*.yaml']\n    kms:\n      - arn: {arn}\n        context:\n          app: web\n"),
        ),
    ] {
        let sb = Sandbox::new();
        sb.write(config, &text);
        sb.write("c.yaml", PLAIN);
        ok(secrets(&sb, &v, None, &["encrypt", "-i", "c.yaml"]), config);
        let written = sb.read("c.yaml");
        assert!(
            kms_lines(&written).iter().any(|l| l.trim() == "app: web"),
            "{config}: {written}"
        );
        assert_eq!(sops_decrypt(&sb, &moto, "c.yaml").replace("    ", "  "), PLAIN);
        assert_eq!(ok(secrets(&sb, &v, None, &["decrypt", "c.yaml"]), config), PLAIN);
    }
}

#[test]
fn an_age_only_file_asks_no_kms_and_a_dead_kms_fails_in_time() {
    let moto = Moto::start();
    let arn = moto.create_key(REGION);
    let sb = Sandbox::new();
    let alice = sb.key("alice");
    let v = moto.vars();
    sb.write("age.yaml", PLAIN);
    ok(
        secrets(
            &sb,
            &v,
            None,
            &["encrypt", "-i", "--age", &alice.public, "age.yaml"],
        ),
        "encrypt age",
    );
    sb.write("both.yaml", PLAIN);
    ok(
        secrets(
            &sb,
            &v,
            None,
            &[
                "encrypt",
                "-i",
                "--age",
                &alice.public,
                "--kms",
                &arn,
                "both.yaml",
            ],
        ),
        "encrypt both",
    );
    sb.write("kms.yaml", PLAIN);
    ok(
        secrets(&sb, &v, None, &["encrypt", "-i", "--kms", &arn, "kms.yaml"]),
        "encrypt kms",
    );

    // Every AWS request would go to a port nobody listens on, or to one that never
    // answers: an age key opens the age-only file and the one with both without any.
    let dead = common::openbao::DEAD_ENDPOINT.to_string();
    let (silent, hang) = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a = format!("http://{}", l.local_addr().unwrap());
        (l, a)
    };
    let secret = common::moto::ANY_SECRET;
    for endpoint in [&dead, &hang] {
        let vars: Vec<(String, String)> = vec![
            ("AWS_ENDPOINT_URL".into(), endpoint.clone()),
            ("AWS_ACCESS_KEY_ID".into(), common::moto::ANY_KEY_ID.into()),
            ("AWS_SECRET_ACCESS_KEY".into(), secret.into()),
            ("SECRETS_KEYSERVICE_TIMEOUT".into(), "1".into()),
        ];
        for file in ["age.yaml", "both.yaml"] {
            assert_eq!(
                ok(
                    secrets(&sb, &vars, Some(&alice.file), &["decrypt", file]),
                    file
                ),
                PLAIN
            );
            assert_eq!(common::connections_to(&silent), 0, "{file} asked KMS");
        }
        // Without an age key the kms stanza is asked: it fails within the timeout, one
        // line naming the service and key, no credential in it.
        let out = secrets(&sb, &vars, None, &["decrypt", "kms.yaml"]);
        assert!(!out.status.success());
        assert_eq!(out.status.code(), Some(128), "exit code for no data key");
        if endpoint == &hang {
            assert!(common::connections_to(&silent) >= 1, "KMS was not asked");
        }
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err
            .lines()
            .find(|l| l.contains("AWS KMS"))
            .unwrap_or_else(|| panic!("no line names AWS KMS: {err}"));
        assert!(
            line.contains(&arn) && line.contains("region eu-west-1"),
            "{err}"
        );
        assert!(!err.contains(secret), "{err}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains(secret));
    }
}

/// A rotation on one branch, a change on the other: the merge driver's new data key is
/// wrapped through KMS again (the sides' kms stanzas hold their old keys), so a server
/// with only AWS credentials and `sops -d` open the merge.
#[test]
fn a_merge_after_a_rotation_rewraps_the_kms_stanza() {
    let moto = Moto::start();
    let arn = moto.create_key(REGION);
    let aws: Vec<(String, String)> = moto
        .vars()
        .into_iter()
        .filter(|(k, _)| k != "HOME")
        .collect();
    let r = common::repo::Repo::new();
    r.configure(&format!(
        "environments:\n  prod:\n    files: [\"config/**\"]\n    members: [alice]\n    kms: [{arn}]\n"
    ));
    // git runs the driver with this environment too: the age key and the AWS variables.
    let main = r.rotate_on_a_branch_and_merge(PLAIN, &|c| {
        c.envs(aws.clone());
    });
    let merged = r.ks.sb.read("config/app.yaml");
    assert_eq!(kms_encs(&merged).len(), 1);
    assert_ne!(kms_encs(&merged), kms_encs(&main));
    // Only AWS credentials: the stanza holds the merged file's data key.
    let sb = &r.ks.sb;
    let plain = ok(
        secrets(sb, &moto.vars(), None, &["decrypt", "config/app.yaml"]),
        "decrypt through KMS",
    );
    assert!(plain.contains("password: pw-main") && plain.contains("api_token: tok-feature"));
    let by_sops = sops_decrypt(sb, &moto, "config/app.yaml");
    assert!(by_sops.contains("pw-main") && by_sops.contains("tok-feature"));
}

/// A shared-credentials file with the profile `ci` (moto takes any keys): the profile an
/// `--aws-profile ci` entry is used with, here and by sops.
fn ci_profile(sb: &Sandbox) -> String {
    let path = sb.write(
        "aws-credentials",
        "[ci]\naws_access_key_id = AKIAPROFILECI0000000\naws_secret_access_key = ci-secret\n",
    );
    path.display().to_string()
}

/// `env add --kms ARN --encryption-context K:V,… --aws-profile NAME` writes the
/// environment's `kms:` entry in its map form; a file of that environment is wrapped
/// under that context and profile, so sops (and we) decrypt it through KMS alone, and
/// another context does not. Either flag without `--kms` is a usage error (exit 8) that
/// writes nothing.
#[test]
fn env_add_kms_with_an_encryption_context_and_a_profile() {
    let moto = Moto::start();
    let arn = moto.create_key(REGION);
    let sb = Sandbox::new();
    let alice = sb.key("alice");
    let creds = ci_profile(&sb);
    let mut v = moto.vars();
    v.push(("AWS_SHARED_CREDENTIALS_FILE".into(), creds.clone()));
    sb.write(
        ".secrets.yaml",
        &format!("members:\n  alice: {}\nenvironments: {{}}\n", alice.public),
    );
    ok(
        secrets(
            &sb,
            &v,
            None,
            &[
                "env",
                "add",
                "prod",
                "--files",
                "prod/**",
                "--member",
                "alice",
                "--kms",
                &arn,
                "--encryption-context",
                "app:web,env:prod",
                "--aws-profile",
                "ci",
            ],
        ),
        "env add",
    );
    let config = sb.read(".secrets.yaml");
    assert!(
        config.contains(&format!(
            "    kms:\n      - arn: {arn}\n        context:\n          app: web\n          env: prod\n        aws_profile: ci\n"
        )),
        "{config}"
    );

    sb.write("prod/a.yaml", PLAIN);
    ok(
        secrets(&sb, &v, None, &["encrypt", "-i", "prod/a.yaml"]),
        "encrypt",
    );
    let text = sb.read("prod/a.yaml");
    let lines: Vec<&str> = kms_lines(&text).iter().map(|l| l.trim()).collect();
    for line in ["app: web", "env: prod", "aws_profile: ci"] {
        assert!(lines.contains(&line), "{line}: {text}");
    }
    assert_eq!(kms_encs(&text).len(), 1);
    // Through KMS alone (no age key), here and with sops.
    assert_eq!(
        ok(
            secrets(&sb, &v, None, &["decrypt", "prod/a.yaml"]),
            "decrypt"
        ),
        PLAIN
    );
    let out = sops_cmd(&sb, &moto)
        .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
        .args(["-d", "prod/a.yaml"])
        .output()
        .unwrap();
    assert_eq!(ok(out, "sops -d").replace("    ", "  "), PLAIN);
    // KMS binds the data key to the context: the same stanza under another one opens
    // nothing (the MAC does not cover the metadata; KMS refuses).
    sb.write("prod/b.yaml", &text.replace("env: prod", "env: dev"));
    let out = secrets(&sb, &v, None, &["decrypt", "prod/b.yaml"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("InvalidCiphertextException"), "{err}");
    assert!(!err.contains("ci-secret"), "{err}");

    // Without --kms: refused with the usage code encrypt gives, nothing written.
    for flags in [
        &["--encryption-context", "app:web"][..],
        &["--aws-profile", "ci"][..],
    ] {
        let mut args = vec![
            "env", "add", "dev", "--files", "dev/**", "--member", "alice",
        ];
        args.extend_from_slice(flags);
        let out = secrets(&sb, &v, None, &args);
        assert_eq!(out.status.code(), Some(8), "{flags:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("apply to --kms keys"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(sb.read(".secrets.yaml"), config, "{flags:?}");
    }
    // A context that is not KEY:VALUE is refused as encrypt refuses it.
    let out = secrets(
        &sb,
        &v,
        None,
        &[
            "env",
            "add",
            "dev",
            "--files",
            "dev/**",
            "--kms",
            &arn,
            "--encryption-context",
            "app",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not KEY:VALUE"));
    assert_eq!(sb.read(".secrets.yaml"), config);
}

/// `audit` lists each file's key-service keys beside its environment's: a file wrapped
/// with the environment's KMS key reads, one without it is `missing` it, one wrapped with
/// another KMS key has that key `not_granted`; the JSON, Markdown and HTML say so, with
/// the keys named as `status` names them (`kms ARN`).
#[test]
fn audit_shows_kms_keys_granted_and_in_files_with_drift() {
    let moto = Moto::start();
    let granted = moto.create_key(REGION);
    let other = moto.create_key(REGION);
    let sb = Sandbox::new();
    let alice = sb.key("alice");
    let v = moto.vars();
    sb.write(
        ".secrets.yaml",
        &format!(
            "members:\n  alice: {}\nenvironments:\n  prod:\n    files: [prod/**]\n    members: [alice]\n    kms: [{granted}]\n",
            alice.public
        ),
    );
    for (file, args) in [
        ("prod/wrapped.yaml", vec![]),
        ("prod/lacking.yaml", vec!["--age", &alice.public]),
        (
            "prod/extra.yaml",
            vec!["--age", &alice.public, "--kms", &granted, "--kms", &other],
        ),
    ] {
        sb.write(file, PLAIN);
        let mut all = vec!["encrypt", "-i"];
        all.extend(args);
        all.push(file);
        ok(secrets(&sb, &v, None, &all), file);
    }
    let audit = |format: &str| {
        ok(
            secrets(&sb, &v, Some(&alice.file), &["audit", "--format", format]),
            format,
        )
    };
    let r: serde_json::Value = serde_json::from_str(&audit("json")).unwrap();
    let (g, o) = (format!("kms {granted}"), format!("kms {other}"));
    assert_eq!(r["environments"][0]["services"], serde_json::json!([g]));
    let services = |file: &str| {
        r["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["file"] == file)
            .unwrap_or_else(|| panic!("{file}: {r:#}"))["services"]
            .clone()
    };
    let entry = |key: &str, granted: bool, in_file: bool, drift: Option<&str>| serde_json::json!({"key": key, "granted": granted, "in_file": in_file, "drift": drift});
    assert_eq!(
        services("prod/wrapped.yaml"),
        serde_json::json!([entry(&g, true, true, None)])
    );
    assert_eq!(
        services("prod/lacking.yaml"),
        serde_json::json!([entry(&g, true, false, Some("missing"))])
    );
    assert_eq!(
        services("prod/extra.yaml"),
        serde_json::json!([
            entry(&g, true, true, None),
            entry(&o, false, true, Some("not_granted"))
        ])
    );

    // Markdown: a key-service matrix, a column per key; HTML: the same table.
    let md = audit("markdown");
    let header = format!("| File | Environment | {g} | {o} |");
    assert!(md.lines().any(|l| l == header), "{header}: {md}");
    for row in [
        "| prod/extra.yaml | prod | reads | EXTRA (in file, not granted) |".to_string(),
        "| prod/lacking.yaml | prod | MISSING (granted, not in file) |  |".to_string(),
        "| prod/wrapped.yaml | prod | reads |  |".to_string(),
    ] {
        assert!(md.lines().any(|l| l == row), "{row}: {md}");
    }
    let html = audit("html");
    let table = html
        .split("<table id=\"services\">")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap_or_else(|| panic!("no services table: {html}"));
    assert!(table.contains(&format!("<th>{g}</th>")), "{table}");
    assert!(table.contains("<td class=\"drift\">MISSING (granted, not in file)</td>"));
    assert!(table.contains("<td class=\"drift\">EXTRA (in file, not granted)</td>"));
    // No ciphertext: the stanzas' enc is not in any format.
    let enc = &kms_encs(&sb.read("prod/wrapped.yaml"))[0];
    for text in [&md, &html] {
        assert!(!text.contains(enc.as_str()) && !text.contains("ENC["));
    }
}

/// `member remove` and `env revoke` on an environment with a KMS key rotate the data key
/// and wrap the new one through KMS again: AWS credentials alone (here and with sops)
/// still open the file, and the removed members' age keys open nothing.
#[test]
fn member_remove_and_env_revoke_keep_the_kms_stanza_working() {
    let moto = Moto::start();
    let arn = moto.create_key(REGION);
    let sb = Sandbox::new();
    let alice = sb.key("alice");
    let bob = sb.key("bob");
    let carol = sb.key("carol");
    let v = moto.vars();
    sb.write(
        ".secrets.yaml",
        &format!(
            "members:\n  alice: {}\n  bob: {}\n  carol: {}\nenvironments:\n  prod:\n    files:\n      - prod/**\n    members: [alice, bob, carol]\n    kms:\n      - {arn}\n",
            alice.public, bob.public, carol.public
        ),
    );
    sb.write("prod/app.yaml", PLAIN);
    ok(
        secrets(&sb, &v, None, &["encrypt", "-i", "prod/app.yaml"]),
        "encrypt",
    );
    let mut last = kms_encs(&sb.read("prod/app.yaml"));
    assert_eq!(last.len(), 1);
    for (what, args) in [
        ("member remove", vec!["member", "remove", "bob"]),
        ("env revoke", vec!["env", "revoke", "prod", "carol"]),
    ] {
        ok(secrets(&sb, &v, Some(&alice.file), &args), what);
        let encs = kms_encs(&sb.read("prod/app.yaml"));
        assert_eq!(encs.len(), 1, "{what}");
        assert_ne!(
            encs, last,
            "{what}: the data key was rotated, its kms stanza too"
        );
        last = encs;
        assert_eq!(
            ok(secrets(&sb, &v, None, &["decrypt", "prod/app.yaml"]), what),
            PLAIN
        );
        assert_eq!(
            sops_decrypt(&sb, &moto, "prod/app.yaml").replace("    ", "  "),
            PLAIN
        );
    }
    // An age key alone, no AWS credentials (and no instance role to look for).
    let no_aws = [("AWS_EC2_METADATA_DISABLED".to_string(), "true".to_string())];
    let decrypt_as = |key: &Path| {
        secrets(&sb, &no_aws, Some(key), &["decrypt", "prod/app.yaml"])
            .status
            .code()
    };
    assert_eq!(decrypt_as(&alice.file), Some(0));
    // 128: no key opens the data key.
    assert_eq!(decrypt_as(&bob.file), Some(128), "bob was removed");
    assert_eq!(decrypt_as(&carol.file), Some(128), "carol was revoked");
}

/// `import` of a .env into an environment with a KMS key writes a file wrapped through
/// KMS too: AWS credentials alone open it, here and with sops.
#[test]
fn import_into_a_kms_environment_decrypts_through_kms_alone() {
    let moto = Moto::start();
    let arn = moto.create_key(REGION);
    let sb = Sandbox::new();
    let alice = sb.key("alice");
    let v = moto.vars();
    sb.write(
        ".secrets.yaml",
        &format!(
            "members:\n  alice: {}\nenvironments:\n  prod:\n    files: [prod/**]\n    members: [alice]\n    kms: [{arn}]\n",
            alice.public
        ),
    );
    let source = "DATABASE_PASSWORD=Vq8#zL2!pR7@kM4x\nSTRIPE_SECRET_KEY=sk_live_51HxQ2eKz8Jd7Yb3nT6wPq\nPORT=8080\n";
    sb.write("import.env", source);
    ok(
        secrets(
            &sb,
            &v,
            None,
            &[
                "import",
                "import.env",
                "--env",
                "prod",
                "--to",
                "prod/app.env",
                "--no-backup",
            ],
        ),
        "import",
    );
    let text = sb.read("prod/app.env");
    assert!(
        text.contains(&format!("sops_kms__list_0__map_arn={arn}\n")),
        "{text}"
    );
    assert!(!text.contains("Vq8#zL2") && !text.contains("sk_live_51"));
    let by_kms = ok(
        secrets(&sb, &v, None, &["decrypt", "prod/app.env"]),
        "decrypt through KMS",
    );
    assert_eq!(by_kms, source);
    assert_eq!(sops_decrypt(&sb, &moto, "prod/app.env"), source);
    assert_eq!(
        ok(
            secrets(&sb, &[], Some(&alice.file), &["decrypt", "prod/app.env"]),
            "age"
        ),
        source
    );
}
