//! AWS KMS as a key service, as sops uses it (`kms` stanzas: `arn`, `role`, `context`,
//! `aws_profile`, `created_at`, `enc`): the data key goes to KMS `Encrypt` under the
//! key's ARN and encryption context, and the base64 `CiphertextBlob` that comes back is
//! the stanza's `enc`; `Decrypt` with the same ARN and context gives the data key back.
//!
//! What sops does, done the same way: the region is the ARN's; the encryption context
//! is sent as written; a `role` is assumed through STS first (`sts.rs`); credentials come
//! from the key's `aws_profile`, else the standard variables and shared files
//! (`credentials.rs`), else the container endpoint or EC2 instance role (`instance.rs`). The wire is KMS's JSON protocol (`POST /`, `X-Amz-Target:
//! TrentService.Encrypt`, `application/x-amz-json-1.1`) signed with SigV4 (`sigv4.rs`)
//! over `ureq`: no AWS SDK, no async runtime.
//!
//! Endpoints: `AWS_ENDPOINT_URL_KMS` (`_STS`), then `AWS_ENDPOINT_URL`, else AWS's own
//! for the region, as the AWS SDKs read them (and sops 3.11 with them). Each request is
//! bounded by `SECRETS_KEYSERVICE_TIMEOUT` seconds (5 by default); no redirect is
//! followed. Errors name the key and region (and the endpoint when it cannot be
//! reached), never a credential or the data key; nothing is built until a stanza needs
//! it, so an age-only file never starts a client.

mod credentials;
mod instance;
mod sigv4;
mod sts;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use zeroize::{Zeroize, Zeroizing};

use credentials::Credentials;

// One timeout for every key service (see the module above).
use super::{parse_timeout, DEFAULT_TIMEOUT, TIMEOUT_VAR};

/// An answer larger than this is not KMS's or STS's.
const MAX_BODY: u64 = 1 << 20;

/// A KMS master key as a sops `kms` entry names it (`created_at` and `enc` are the
/// stanza's, not the key's).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KmsKey {
    /// `arn:aws:kms:REGION:ACCOUNT:key/ID` (or `alias/NAME`).
    pub arn: String,
    /// A role ARN to assume through STS before calling KMS.
    pub role: Option<String>,
    /// The encryption context: KMS binds the ciphertext to it, and decrypting needs the
    /// same pairs.
    pub context: BTreeMap<String, String>,
    /// A profile of the shared AWS files to take credentials from.
    pub aws_profile: Option<String>,
}

/// A `--kms` key that is not of the form sops takes.
#[derive(Debug, thiserror::Error)]
#[error("{key:?} is not an AWS KMS key ARN; the form is arn:aws:kms:REGION:ACCOUNT:key/ID (or alias/NAME), optionally +ROLE_ARN")]
pub struct BadKmsKey {
    pub key: String,
}

impl KmsKey {
    /// Parses sops's `--kms` form: `ARN`, or `ARN+ROLE_ARN` (the role assumed first).
    pub fn parse(text: &str) -> Result<KmsKey, BadKmsKey> {
        let text = text.trim();
        let bad = || BadKmsKey {
            key: text.to_string(),
        };
        let (arn, role) = match text.split_once('+') {
            Some((arn, role)) => (arn, Some(role.trim())),
            None => (text, None),
        };
        let arn = arn.trim();
        if Arn::parse(arn).is_none() || role.is_some_and(|r| !r.starts_with("arn:")) {
            return Err(bad());
        }
        Ok(KmsKey {
            arn: arn.to_string(),
            role: role.map(str::to_string),
            ..KmsKey::default()
        })
    }

    /// The key a stanza was wrapped with (empty `role` and `aws_profile`: none).
    pub fn of(stanza: &crate::metadata::KmsStanza) -> KmsKey {
        KmsKey {
            arn: stanza.arn.clone(),
            role: Some(stanza.role.clone()).filter(|r| !r.is_empty()),
            context: stanza.context.clone(),
            aws_profile: Some(stanza.aws_profile.clone()).filter(|p| !p.is_empty()),
        }
    }
}

impl std::fmt::Display for KmsKey {
    /// As sops's `--kms` takes it (`ARN+ROLE`), then the context and profile if any.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.arn)?;
        if let Some(role) = &self.role {
            write!(f, "+{role}")?;
        }
        if !self.context.is_empty() {
            let pairs: Vec<String> = self
                .context
                .iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect();
            write!(f, " (context {})", pairs.join(","))?;
        }
        if let Some(p) = &self.aws_profile {
            write!(f, " (aws_profile {p})")?;
        }
        Ok(())
    }
}

impl super::KeyService for AwsKms {
    type Key = KmsKey;
    type Stanza = crate::metadata::KmsStanza;
    const KIND: &'static str = "kms";

    fn key_of(stanza: &Self::Stanza) -> KmsKey {
        KmsKey::of(stanza)
    }

    fn wrap(&self, key: &KmsKey, secret: &[u8]) -> Result<Self::Stanza, super::ServiceError> {
        let enc = self.encrypt(key, secret)?;
        Ok(crate::metadata::KmsStanza {
            arn: key.arn.clone(),
            role: key.role.clone().unwrap_or_default(),
            context: key.context.clone(),
            aws_profile: key.aws_profile.clone().unwrap_or_default(),
            created_at: crate::crypto::mac::now_rfc3339(),
            enc,
        })
    }

    fn unwrap(
        &self,
        stanza: &Self::Stanza,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, super::ServiceError> {
        let key = KmsKey::of(stanza);
        Ok(self.decrypt(&key, &stanza.enc)?)
    }
}

impl From<KmsError> for super::ServiceError {
    fn from(e: KmsError) -> Self {
        super::ServiceError {
            service: e.service,
            what: e.what,
        }
    }
}

/// A KMS failure: the key and region, and what went wrong; never a credential.
#[derive(Debug, thiserror::Error)]
#[error("{service}: {what}")]
pub struct KmsError {
    /// `AWS KMS arn:aws:kms:… (region eu-west-1)`.
    pub service: String,
    pub what: String,
}

/// The variables the AWS side reads, taken once (tests and embedders hand in their own:
/// the process environment is shared by every thread). Its `Debug` shows names only.
#[derive(Clone, Default)]
pub struct AwsEnv {
    vars: BTreeMap<String, Zeroizing<String>>,
}

impl std::fmt::Debug for AwsEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

impl AwsEnv {
    /// `AWS_*`, `HOME` and the timeout variable from the process environment.
    pub fn from_process() -> AwsEnv {
        Self::from_vars(
            std::env::vars()
                .filter(|(k, _)| k.starts_with("AWS_") || k == "HOME" || k == TIMEOUT_VAR),
        )
    }

    pub fn from_vars<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> AwsEnv {
        AwsEnv {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), Zeroizing::new(v.into())))
                .collect(),
        }
    }

    /// A variable's value; set but empty counts as unset, as for the AWS SDKs.
    fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn timeout(&self) -> Result<Duration, String> {
        self.get(TIMEOUT_VAR)
            .map_or(Ok(DEFAULT_TIMEOUT), parse_timeout)
    }

    /// `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, else AWS's endpoint.
    fn endpoint(&self, service: &str, arn: &Arn) -> Result<Endpoint, String> {
        let ignore = self
            .get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let var = format!("AWS_ENDPOINT_URL_{}", service.to_ascii_uppercase());
        let configured = [var.as_str(), "AWS_ENDPOINT_URL"]
            .into_iter()
            .filter(|_| !ignore)
            .find_map(|v| self.get(v).map(|url| (v, url)));
        match configured {
            Some((var, url)) => Endpoint::parse(url).map_err(|why| format!("{var}: {why}")),
            None => Endpoint::parse(&format!(
                "https://{service}.{}.{}",
                arn.region,
                arn.dns_suffix()
            )),
        }
    }
}

/// What the ARN says about where the key lives.
struct Arn {
    partition: String,
    region: String,
}

impl Arn {
    /// `arn:PARTITION:kms:REGION:ACCOUNT:key/…` or `…:alias/…`, as sops accepts it.
    fn parse(arn: &str) -> Option<Arn> {
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some(partition), Some("kms"), Some(region), Some(account), Some(res)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let region_ok = !region.is_empty()
            && region
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let ok = partition.starts_with("aws")
            && region_ok
            && !account.is_empty()
            && account.bytes().all(|b| b.is_ascii_digit())
            && (res
                .strip_prefix("key/")
                .or_else(|| res.strip_prefix("alias/")))
            .is_some_and(|r| !r.is_empty());
        ok.then(|| Arn {
            partition: partition.to_string(),
            region: region.to_string(),
        })
    }

    fn dns_suffix(&self) -> &'static str {
        match self.partition.as_str() {
            "aws-cn" => "amazonaws.com.cn",
            _ => "amazonaws.com",
        }
    }
}

/// Where requests go: the URL, and the `Host` and path that are signed.
pub(crate) struct Endpoint {
    url: String,
    host: String,
    path: String,
}

impl Endpoint {
    fn parse(url: &str) -> Result<Endpoint, String> {
        let uri: ureq::http::Uri = url
            .trim()
            .parse()
            .map_err(|_| format!("{url:?} is not a URL"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(format!("{url:?} is neither http nor https"));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| format!("{url:?} has no host"))?;
        if authority.as_str().contains('@') {
            return Err("credentials in an endpoint URL are refused".into());
        }
        if uri.query().is_some() {
            return Err(format!("{url:?}: an endpoint has no query"));
        }
        // The Host header carries the port only when it is not the scheme's default.
        let default_port = if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        };
        let host = match authority.port_u16() {
            Some(p) if p != default_port => format!("{}:{p}", authority.host()),
            _ => authority.host().to_string(),
        };
        let path = if uri.path().is_empty() {
            "/"
        } else {
            uri.path()
        }
        .to_string();
        Ok(Endpoint {
            url: format!("{}://{}{}", uri.scheme_str().unwrap_or("https"), host, path),
            host,
            path,
        })
    }
}

/// One blocking HTTP client for a call (and the role assumption before it).
pub(crate) struct Http {
    agent: ureq::Agent,
}

impl Http {
    fn new(timeout: Duration) -> Http {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(timeout))
            .build();
        Http {
            agent: config.into(),
        }
    }

    /// POSTs a body signed for `service` in `region`: the status and the answer (wiped
    /// on drop, since it may hold a data key or credentials).
    fn post(
        &self,
        endpoint: &Endpoint,
        service: &str,
        region: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        creds: &Credentials,
    ) -> Result<(u16, Zeroizing<String>), String> {
        let now = time::OffsetDateTime::now_utc();
        let amz_date = now
            .format(time::macros::format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .map_err(|e| e.to_string())?;
        let signed = sigv4::sign(
            &sigv4::Request {
                method: "POST",
                host: &endpoint.host,
                path: &endpoint.path,
                headers,
                body,
            },
            &sigv4::Scope {
                region,
                service,
                amz_date: &amz_date,
            },
            creds,
        );
        let mut req = self
            .agent
            .post(&endpoint.url)
            .header("host", &endpoint.host);
        for (k, v) in headers.iter().copied() {
            req = req.header(k, v);
        }
        for (k, v) in &signed {
            req = req.header(*k, v);
        }
        let mut resp = req
            .send(body)
            .map_err(|e| format!("cannot reach {} ({e})", endpoint.url))?;
        let status = resp.status().as_u16();
        if (300..400).contains(&status) {
            return Err(format!(
                "{} answered a redirect (HTTP {status}), which is not followed",
                endpoint.url
            ));
        }
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_string()
            .map_err(|e| format!("reading the answer of {}: {e}", endpoint.url))?;
        Ok((status, Zeroizing::new(text)))
    }
}

/// KMS through the AWS variables of one environment. `Default` is the process's, read
/// only when a call is made: a command that unwraps no `kms` stanza never copies an AWS
/// credential into its memory.
#[derive(Clone, Debug, Default)]
pub struct AwsKms {
    /// `None`: the process environment, read at each call.
    env: Option<AwsEnv>,
}

/// Wraps `data_key` with `key` (the process environment's credentials): the base64
/// `CiphertextBlob`, as sops stores it in `enc`.
pub fn encrypt(key: &KmsKey, data_key: &[u8]) -> Result<String, KmsError> {
    AwsKms::from_env().encrypt(key, data_key)
}

/// The data key that `enc` wraps under `key`.
pub fn decrypt(key: &KmsKey, enc: &str) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    AwsKms::from_env().decrypt(key, enc)
}

impl AwsKms {
    /// The process environment's settings. Free: nothing is read or connected until a
    /// call is made.
    pub fn from_env() -> AwsKms {
        AwsKms { env: None }
    }

    pub fn with_env(env: AwsEnv) -> AwsKms {
        AwsKms { env: Some(env) }
    }

    fn env(&self) -> Cow<'_, AwsEnv> {
        match &self.env {
            Some(env) => Cow::Borrowed(env),
            None => Cow::Owned(AwsEnv::from_process()),
        }
    }

    pub fn encrypt(&self, key: &KmsKey, data_key: &[u8]) -> Result<String, KmsError> {
        let mut body = Zeroizing::new(String::with_capacity(256 + data_key.len() * 2));
        body.push_str("{\"KeyId\":");
        body.push_str(&json_string(&key.arn));
        body.push_str(",\"Plaintext\":\"");
        base64::engine::general_purpose::STANDARD.encode_string(data_key, &mut body);
        body.push('"');
        push_context(&mut body, &key.context);
        body.push('}');
        let answer = self.call(key, "Encrypt", &body)?;
        #[derive(serde::Deserialize)]
        struct Out {
            #[serde(rename = "CiphertextBlob")]
            blob: String,
        }
        serde_json::from_str::<Out>(&answer)
            .map(|o| o.blob)
            .map_err(|_| error(key, "the Encrypt answer holds no CiphertextBlob".into()))
    }

    pub fn decrypt(&self, key: &KmsKey, enc: &str) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        let enc = enc.trim();
        if base64::engine::general_purpose::STANDARD
            .decode(enc)
            .is_err()
        {
            return Err(error(key, "the stanza's enc is not base64".into()));
        }
        let mut body = String::from("{\"KeyId\":");
        body.push_str(&json_string(&key.arn));
        body.push_str(",\"CiphertextBlob\":");
        body.push_str(&json_string(enc));
        push_context(&mut body, &key.context);
        body.push('}');
        let answer = self.call(key, "Decrypt", &body)?;
        // Borrowed from the wiped answer when it has no escapes (base64 never needs one).
        #[derive(serde::Deserialize)]
        struct Out<'a> {
            #[serde(rename = "Plaintext", borrow)]
            plaintext: Cow<'a, str>,
        }
        let mut out: Out = serde_json::from_str(&answer)
            .map_err(|_| error(key, "the Decrypt answer holds no Plaintext".into()))?;
        let mut plain = Zeroizing::new(Vec::with_capacity(out.plaintext.len()));
        let decoded = base64::engine::general_purpose::STANDARD
            .decode_vec(out.plaintext.as_bytes(), &mut plain);
        if let Cow::Owned(s) = &mut out.plaintext {
            s.zeroize();
        }
        decoded.map_err(|_| error(key, "the Decrypt answer's Plaintext is not base64".into()))?;
        Ok(plain)
    }

    /// One KMS action for `key`: its credentials (the role assumed if it names one),
    /// the signed request, and the answer's JSON text, or KMS's error.
    fn call(&self, key: &KmsKey, action: &str, body: &str) -> Result<Zeroizing<String>, KmsError> {
        let arn = Arn::parse(&key.arn).ok_or_else(|| KmsError {
            service: format!("AWS KMS {}", key.arn),
            what: "not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID or alias/NAME)".into(),
        })?;
        let fail = |what: String| error_in(key, &arn, what);
        let env = self.env();
        let timeout = env.timeout().map_err(fail)?;
        let http = Http::new(timeout);
        let profile = key.aws_profile.as_deref().filter(|p| !p.is_empty());
        let mut creds = credentials::resolve(&env, profile, timeout).map_err(fail)?;
        if let Some(role) = key.role.as_deref().filter(|r| !r.is_empty()) {
            let sts = env.endpoint("sts", &arn).map_err(fail)?;
            creds = sts::assume_role(&http, &sts, &arn.region, role, &creds).map_err(fail)?;
        }
        let endpoint = env.endpoint("kms", &arn).map_err(fail)?;
        self.send(&http, &endpoint, &arn.region, action, body, &creds)
            .map_err(fail)
    }

    fn send(
        &self,
        http: &Http,
        endpoint: &Endpoint,
        region: &str,
        action: &str,
        body: &str,
        creds: &Credentials,
    ) -> Result<Zeroizing<String>, String> {
        let target = format!("TrentService.{action}");
        let (status, answer) = http.post(
            endpoint,
            "kms",
            region,
            &[
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-target", &target),
            ],
            body.as_bytes(),
            creds,
        )?;
        if (200..300).contains(&status) {
            return Ok(answer);
        }
        Err(format!(
            "{action} failed: HTTP {status}{} (credentials from {})",
            kms_error(&answer),
            creds.source
        ))
    }

    /// Any KMS action in `region` with the default credentials (no profile, no role):
    /// what the tests use to create keys on a local KMS.
    #[doc(hidden)]
    pub fn raw_call(
        &self,
        region: &str,
        action: &str,
        body: &str,
    ) -> Result<serde_json::Value, String> {
        let arn = Arn {
            partition: "aws".into(),
            region: region.into(),
        };
        let env = self.env();
        let timeout = env.timeout()?;
        let http = Http::new(timeout);
        let creds = credentials::resolve(&env, None, timeout)?;
        let endpoint = env.endpoint("kms", &arn)?;
        let answer = self.send(&http, &endpoint, region, action, body, &creds)?;
        serde_json::from_str(&answer).map_err(|e| e.to_string())
    }
}

/// `: Type: message` from a KMS error answer: JSON (`__type` may carry a namespace
/// before `#`), or the XML that a signature or authorization failure may come as.
fn kms_error(answer: &str) -> String {
    let (kind, message) = match serde_json::from_str::<serde_json::Value>(answer) {
        Ok(v) => {
            let kind = v["__type"].as_str().unwrap_or_default();
            let message = v["message"].as_str().or_else(|| v["Message"].as_str());
            (
                kind.rsplit('#').next().unwrap_or(kind).to_string(),
                message.unwrap_or_default().to_string(),
            )
        }
        Err(_) => (
            sts::tag(answer, "Code").map_or(String::new(), |c| c.to_string()),
            sts::tag(answer, "Message").map_or(String::new(), |m| m.to_string()),
        ),
    };
    match (kind.is_empty(), message.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!(": {kind}"),
        (true, false) => format!(": {message}"),
        (false, false) => format!(": {kind}: {message}"),
    }
}

fn json_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// `,"EncryptionContext":{…}` when there is one.
fn push_context(body: &mut String, context: &BTreeMap<String, String>) {
    if context.is_empty() {
        return;
    }
    body.push_str(",\"EncryptionContext\":");
    body.push_str(&serde_json::to_string(context).unwrap_or_else(|_| "{}".into()));
}

fn error(key: &KmsKey, what: String) -> KmsError {
    match Arn::parse(&key.arn) {
        Some(arn) => error_in(key, &arn, what),
        None => KmsError {
            service: format!("AWS KMS {}", key.arn),
            what,
        },
    }
}

fn error_in(key: &KmsKey, arn: &Arn, what: String) -> KmsError {
    KmsError {
        service: format!("AWS KMS {} (region {})", key.arn, arn.region),
        what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns() {
        let a = Arn::parse("arn:aws:kms:eu-west-1:111122223333:key/1234abcd").unwrap();
        assert_eq!(a.region, "eu-west-1");
        assert_eq!(a.dns_suffix(), "amazonaws.com");
        let a = Arn::parse("arn:aws-cn:kms:cn-north-1:111122223333:alias/prod").unwrap();
        assert_eq!(a.dns_suffix(), "amazonaws.com.cn");
        for bad in [
            "",
            "arn:aws:kms:eu-west-1:111122223333:key/",
            "arn:aws:s3:eu-west-1:111122223333:key/x",
            "arn:aws:kms::111122223333:key/x",
            "arn:aws:kms:eu-west-1:acct:key/x",
            "arn:aws:kms:eu-west-1:111122223333:secret/x",
        ] {
            assert!(Arn::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn keys_as_sops_takes_them() {
        let arn = "arn:aws:kms:eu-west-1:111122223333:key/k";
        let k = KmsKey::parse(arn).unwrap();
        assert_eq!((k.arn.as_str(), k.role.as_deref()), (arn, None));
        let k = KmsKey::parse(&format!(" {arn}+arn:aws:iam::111122223333:role/r ")).unwrap();
        assert_eq!(k.role.as_deref(), Some("arn:aws:iam::111122223333:role/r"));
        assert_eq!(
            k.to_string(),
            format!("{arn}+arn:aws:iam::111122223333:role/r")
        );
        for bad in [
            "",
            "key/k",
            &format!("{arn}+role"),
            "arn:aws:kms:eu-west-1:x:key/k",
        ] {
            assert!(KmsKey::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn endpoints() {
        let arn = Arn::parse("arn:aws:kms:eu-west-1:111122223333:key/k").unwrap();
        let env = AwsEnv::default();
        let e = env.endpoint("kms", &arn).unwrap();
        assert_eq!(e.url, "https://kms.eu-west-1.amazonaws.com/");
        assert_eq!(e.host, "kms.eu-west-1.amazonaws.com");
        let env = AwsEnv::from_vars([
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
            ("AWS_ENDPOINT_URL_STS", "https://sts.local:443/base"),
        ]);
        assert_eq!(env.endpoint("kms", &arn).unwrap().host, "127.0.0.1:4566");
        let sts = env.endpoint("sts", &arn).unwrap();
        assert_eq!(
            (sts.host.as_str(), sts.path.as_str()),
            ("sts.local", "/base")
        );
        let env = AwsEnv::from_vars([("AWS_ENDPOINT_URL_KMS", "http://u:p@h")]);
        let err = env.endpoint("kms", &arn).err().unwrap();
        assert!(
            err.starts_with("AWS_ENDPOINT_URL_KMS") && !err.contains("u:p"),
            "{err}"
        );
    }

    #[test]
    fn kms_errors() {
        assert_eq!(
            kms_error(r#"{"__type":"com.amazonaws.kms#InvalidCiphertextException","message":"m"}"#),
            ": InvalidCiphertextException: m"
        );
        assert_eq!(kms_error("<html>"), "");
        assert_eq!(
            kms_error("<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>m</Message></Error></ErrorResponse>"),
            ": SignatureDoesNotMatch: m"
        );
    }

    #[test]
    fn env_debug_shows_names_only() {
        let env = AwsEnv::from_vars([("AWS_SECRET_ACCESS_KEY", "s3cr3t")]);
        let shown = format!("{:?}", AwsKms::with_env(env));
        assert!(shown.contains("AWS_SECRET_ACCESS_KEY") && !shown.contains("s3cr3t"));
    }
}
