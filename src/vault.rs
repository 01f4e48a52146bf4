//! Talking to a HashiCorp Vault or OpenBao server over its HTTP API, shared by `import
//! --from-vault` (KV) and the transit key service (`keys::service::vault_transit`): the
//! standard settings (`VAULT_ADDR`, `VAULT_TOKEN` else `~/.vault-token`, `VAULT_NAMESPACE`,
//! `VAULT_CACERT`, `VAULT_SKIP_VERIFY`), TLS over rustls, a bounded time per request, and
//! errors that name the server and the API path.
//!
//! The token travels only in the `X-Vault-Token` header: no error, `Debug` or log line
//! holds it (it is a [`SecretString`]). Response bodies are read into zeroizing buffers;
//! the strings serde_json parses from them are the listed limit of `src/design.md`.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

/// A failure talking to the server: the server and API path, never a value or the token.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("{path}: {what}")]
    Request { path: String, what: String },
    #[error("VAULT_CACERT {path}: {what}")]
    CaCert { path: String, what: String },
    #[error("{path}: {what}")]
    TokenFile { path: String, what: String },
}

/// Where the server is and how to authenticate, from the standard variables (read by
/// [`Settings::from_env`]; tests and embedders build one).
#[derive(Clone, Default)]
pub struct Settings {
    /// `VAULT_ADDR`: the server for KV imports (a transit stanza names its own).
    pub addr: Option<String>,
    /// `VAULT_TOKEN`.
    pub token: Option<SecretString>,
    /// `~/.vault-token`, read only when `token` is unset and a request is about to be made.
    pub token_file: Option<PathBuf>,
    pub namespace: Option<String>,
    pub cacert: Option<PathBuf>,
    /// `VAULT_SKIP_VERIFY`: no certificate check (as the vault CLI, for dev servers).
    pub skip_verify: bool,
}

impl std::fmt::Debug for Settings {
    /// Never the token: only whether there is one.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("addr", &self.addr)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("namespace", &self.namespace)
            .field("cacert", &self.cacert)
            .field("skip_verify", &self.skip_verify)
            .finish()
    }
}

/// The largest token file read (a Vault token is about 100 bytes).
const MAX_TOKEN_FILE: u64 = 64 << 10;

impl Settings {
    /// The standard variables, as the `vault` CLI and sops read them. Cheap: nothing is
    /// read from disk and no connection is made.
    pub fn from_env() -> Settings {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Settings {
            addr: var("VAULT_ADDR"),
            // (The process environment keeps its own copy, which we cannot wipe.)
            token: var("VAULT_TOKEN").map(SecretString::from),
            token_file: var("HOME").map(|h| PathBuf::from(h).join(".vault-token")),
            namespace: var("VAULT_NAMESPACE"),
            cacert: var("VAULT_CACERT").map(PathBuf::from),
            skip_verify: var("VAULT_SKIP_VERIFY")
                .is_some_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "0" | "false")),
        }
    }

    /// `VAULT_TOKEN`, else the trimmed contents of `~/.vault-token` when it exists.
    fn resolve_token(&self) -> Result<Option<SecretString>, VaultError> {
        if let Some(t) = &self.token {
            return Ok(Some(t.clone()));
        }
        let Some(path) = &self.token_file else {
            return Ok(None);
        };
        let err = |what: String| VaultError::TokenFile {
            path: path.display().to_string(),
            what,
        };
        match crate::fsutil::read_file_at_most(path, MAX_TOKEN_FILE) {
            Ok(Some(bytes)) => {
                let text = std::str::from_utf8(&bytes).map_err(|_| err("not UTF-8".into()))?;
                Ok(Some(SecretString::from(text.trim())).filter(|t| !t.expose_secret().is_empty()))
            }
            Ok(None) => Err(err("too large for a token file".into())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(err(e.to_string())),
        }
    }
}

/// What a path segment may not hold unescaped: a name listed by Vault (`a?b`, `c#d`, `x%2Fy`,
/// `a b`) is one segment, as the `vault` CLI sends it.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'[')
    .add(b']')
    .add(b'^')
    .add(b'|')
    .add(b'\\');

/// `path` with each `/`-separated segment percent-encoded.
fn url_path(path: &str) -> String {
    path.split('/')
        .map(|seg| percent_encoding::utf8_percent_encode(seg, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// An address as it may be shown: without `user:password@`.
fn without_userinfo(addr: &str) -> String {
    match addr.split_once("://") {
        Some((scheme, rest)) => {
            let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            match rest[..host_end].rfind('@') {
                Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
                None => addr.to_string(),
            }
        }
        None => addr.to_string(),
    }
}

/// Bodies larger than this are refused (a KV listing or secret; transit answers are tiny).
const MAX_BODY: u64 = 32 << 20;

/// A connection setting for one server.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    token: Option<SecretString>,
    namespace: Option<String>,
}

impl Client {
    /// A client for the server at `addr`, every request bounded by `timeout` (connect,
    /// TLS, sending and reading together). Reads the token file and the CA file, if any.
    pub fn new(settings: &Settings, addr: &str, timeout: Duration) -> Result<Client, VaultError> {
        let mut tls = ureq::tls::TlsConfig::builder().disable_verification(settings.skip_verify);
        if let Some(ca) = &settings.cacert {
            let shown = ca.display().to_string();
            let pem = std::fs::read(ca).map_err(|e| VaultError::CaCert {
                path: shown.clone(),
                what: e.to_string(),
            })?;
            let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err(VaultError::CaCert {
                    path: shown,
                    what: "no PEM certificate in it".into(),
                });
            }
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // A redirect would carry the X-Vault-Token header to wherever it points
            // (ureq drops only Authorization): answered as an error instead.
            .max_redirects(0)
            .timeout_global(Some(timeout))
            .tls_config(tls.build())
            .build();
        Ok(Client {
            agent: config.into(),
            base: addr.trim_end_matches('/').to_string(),
            token: settings.resolve_token()?,
            namespace: settings.namespace.clone(),
        })
    }

    /// The server this client talks to.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// GETs `/v1/{path}` (with `?list=true` when listing); `None` on 404.
    pub fn get(&self, path: &str, list: bool) -> Result<Option<serde_json::Value>, VaultError> {
        let shown = format!("/v1/{}", url_path(path));
        let mut req = self.agent.get(format!("{}{shown}", self.base));
        if list {
            req = req.query("list", "true");
        }
        if let Some(t) = &self.token {
            req = req.header("X-Vault-Token", t.expose_secret());
        }
        if let Some(ns) = &self.namespace {
            req = req.header("X-Vault-Namespace", ns);
        }
        let resp = req.call();
        let (status, body) = self.read(&shown, resp)?;
        if status == 404 {
            return Ok(None);
        }
        self.json(&shown, status, &body).map(Some)
    }

    /// POSTs a JSON body (a secret: it is zeroizing text) to `/v1/{path}` and returns the
    /// response body, zeroizing, for the caller to parse what it needs from.
    pub fn post(
        &self,
        path: &str,
        body: &Zeroizing<String>,
    ) -> Result<Zeroizing<String>, VaultError> {
        let shown = format!("/v1/{}", url_path(path));
        let mut req = self
            .agent
            .post(format!("{}{shown}", self.base))
            .content_type("application/json");
        if let Some(t) = &self.token {
            req = req.header("X-Vault-Token", t.expose_secret());
        }
        if let Some(ns) = &self.namespace {
            req = req.header("X-Vault-Namespace", ns);
        }
        let resp = req.send(body.as_bytes());
        let (status, text) = self.read(&shown, resp)?;
        if !(200..300).contains(&status) {
            self.json(&shown, status, &text)?;
        }
        Ok(text)
    }

    /// The status and body of a response, or why there is none.
    fn read(
        &self,
        shown: &str,
        resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<(u16, Zeroizing<String>), VaultError> {
        let err = |what: String| VaultError::Request {
            path: shown.to_string(),
            what,
        };
        let mut resp = resp.map_err(|e| {
            let shown_base = without_userinfo(&self.base);
            err(format!("cannot reach {shown_base} ({e})"))
        })?;
        let status = resp.status().as_u16();
        let body = Zeroizing::new(
            resp.body_mut()
                .with_config()
                .limit(MAX_BODY)
                .read_to_string()
                .map_err(|e| err(format!("reading the response: {e}")))?,
        );
        Ok((status, body))
    }

    /// A successful response's JSON, or the error Vault gave (its `errors` messages hold
    /// no values).
    fn json(&self, shown: &str, status: u16, body: &str) -> Result<serde_json::Value, VaultError> {
        let err = |what: String| VaultError::Request {
            path: shown.to_string(),
            what,
        };
        let json: Option<serde_json::Value> = serde_json::from_str(body).ok();
        if !(200..300).contains(&status) {
            let messages: Vec<String> = json
                .as_ref()
                .and_then(|j| j.get("errors"))
                .and_then(|e| e.as_array())
                .map(|a| {
                    // (one line: Vault's messages span several, `1 error occurred:\n\t* …`)
                    a.iter()
                        .filter_map(|m| m.as_str())
                        .map(|m| m.split_whitespace().collect::<Vec<_>>().join(" "))
                        .collect()
                })
                .unwrap_or_default();
            let hint = match (status, &self.token) {
                (401 | 403, None) => " (no token: set VAULT_TOKEN or write ~/.vault-token)",
                (401 | 403, Some(_)) => " (check VAULT_TOKEN and its policy)",
                (300..=399, _) => {
                    " (a redirect, not followed: the token would go with it; use the address it names)"
                }
                _ => "",
            };
            return Err(err(format!(
                "HTTP {status}{}{hint}",
                if messages.is_empty() {
                    String::new()
                } else {
                    format!(": {}", messages.join("; "))
                }
            )));
        }
        json.ok_or_else(|| err("the response is not JSON".into()))
    }
}
