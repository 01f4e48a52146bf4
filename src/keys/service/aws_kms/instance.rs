//! Credentials from the machine, the chain's last links, as the AWS SDKs take them on a
//! server that holds no key: the ECS/EKS container endpoint when its variables are set
//! (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, or `…_FULL_URI` with
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]`), else the EC2 instance role through IMDSv2
//! (a session token first, then the role's name and its keys), unless
//! `AWS_EC2_METADATA_DISABLED=true`. `AWS_EC2_METADATA_SERVICE_ENDPOINT` moves IMDS.
//!
//! IMDS is tried with at most 1 s per request (the SDKs' own figure), so a machine that is
//! not on EC2 learns it has no credentials quickly. Answers hold secrets: read into
//! wiped buffers, the keys taken out as borrowed strings.

use std::borrow::Cow;
use std::time::Duration;

use zeroize::{Zeroize, Zeroizing};

use super::credentials::Credentials;
use super::AwsEnv;

const IMDS: &str = "http://169.254.169.254";
const ECS: &str = "http://169.254.170.2";
const IMDS_TIMEOUT: Duration = Duration::from_secs(1);
const MAX_BODY: u64 = 64 << 10;

/// What the machine offers: `Ok(None)` when there is no container endpoint and IMDS is
/// disabled or does not answer (not on EC2).
pub fn resolve(env: &AwsEnv, timeout: Duration) -> Result<Option<Credentials>, String> {
    if let Some(url) = container_url(env)? {
        return container(env, &url, timeout).map(Some);
    }
    if env
        .get("AWS_EC2_METADATA_DISABLED")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Ok(None);
    }
    let base = env
        .get("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        .unwrap_or(IMDS)
        .trim_end_matches('/')
        .to_string();
    imds(&base, timeout.min(IMDS_TIMEOUT))
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// The container endpoint's URL, if its variables name one.
fn container_url(env: &AwsEnv) -> Result<Option<String>, String> {
    if let Some(rel) = env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        return Ok(Some(format!("{ECS}{rel}")));
    }
    let Some(full) = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") else {
        return Ok(None);
    };
    // As the SDKs: plain HTTP only to this machine or the ECS/EKS agents.
    let uri: ureq::http::Uri = full
        .parse()
        .map_err(|_| "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL".to_string())?;
    let host = uri.host().unwrap_or_default().trim_matches(['[', ']']);
    let local = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
        || host == "169.254.170.2"
        || host == "169.254.170.23"
        || host == "fd00:ec2::23";
    if uri.scheme_str() != Some("https") && !local {
        return Err(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http is accepted only to a loopback \
             or the ECS/EKS agent's address"
                .into(),
        );
    }
    Ok(Some(full.to_string()))
}

fn container(env: &AwsEnv, url: &str, timeout: Duration) -> Result<Credentials, String> {
    let token = match env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        Some(path) => Some(Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| format!("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {path}: {e}"))?
                .trim()
                .to_string(),
        )),
        None => env
            .get("AWS_CONTAINER_AUTHORIZATION_TOKEN")
            .map(|t| Zeroizing::new(t.to_string())),
    };
    let mut req = agent(timeout).get(url);
    if let Some(t) = &token {
        req = req.header("authorization", t.as_str());
    }
    let body = read(req.call(), "the container credentials endpoint")?;
    keys(&body, "container credentials endpoint")
}

/// IMDSv2: `Ok(None)` when nothing answers the token request (not on EC2).
fn imds(base: &str, timeout: Duration) -> Result<Option<Credentials>, String> {
    let agent = agent(timeout);
    let Ok(mut resp) = agent
        .put(format!("{base}/latest/api/token"))
        .header("x-aws-ec2-metadata-token-ttl-seconds", "21600")
        .send_empty()
    else {
        return Ok(None);
    };
    if resp.status().as_u16() != 200 {
        return Ok(None);
    }
    let token = Zeroizing::new(
        resp.body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_string()
            .map_err(|e| format!("reading the IMDS token: {e}"))?,
    );
    let path = format!("{base}/latest/meta-data/iam/security-credentials/");
    let get = |url: &str| {
        read(
            agent
                .get(url)
                .header("x-aws-ec2-metadata-token", token.as_str())
                .call(),
            "the instance metadata service (IMDS)",
        )
    };
    let roles = get(&path)?;
    let role = roles.lines().next().unwrap_or_default().trim().to_string();
    if role.is_empty() {
        return Err("the instance metadata service (IMDS) lists no instance role".into());
    }
    let body = get(&format!("{path}{role}"))?;
    keys(&body, &format!("instance role {role} (IMDS)")).map(Some)
}

fn read(
    resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    what: &str,
) -> Result<Zeroizing<String>, String> {
    let mut resp = resp.map_err(|e| format!("cannot reach {what} ({e})"))?;
    let status = resp.status().as_u16();
    let body = Zeroizing::new(
        resp.body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_string()
            .map_err(|e| format!("reading the answer of {what}: {e}"))?,
    );
    if status != 200 {
        return Err(format!("{what} answered HTTP {status}"));
    }
    Ok(body)
}

/// `AccessKeyId`, `SecretAccessKey` and `Token` of a JSON credentials answer (ECS and
/// IMDS answer alike), borrowed from the wiped body when they have no escapes.
fn keys(body: &str, source: &str) -> Result<Credentials, String> {
    #[derive(serde::Deserialize)]
    struct Keys<'a> {
        #[serde(rename = "AccessKeyId", borrow)]
        id: Cow<'a, str>,
        #[serde(rename = "SecretAccessKey", borrow)]
        secret: Cow<'a, str>,
        #[serde(rename = "Token", borrow)]
        token: Cow<'a, str>,
    }
    let mut k: Keys = serde_json::from_str(body)
        .map_err(|_| format!("the {source} answer lacks AccessKeyId, SecretAccessKey or Token"))?;
    let creds = Credentials::new(&k.id, &k.secret, Some(&k.token), source);
    for field in [&mut k.secret, &mut k.token] {
        if let Cow::Owned(s) = field {
            s.zeroize();
        }
    }
    Ok(creds)
}
