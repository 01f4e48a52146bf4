//! Reading a tree of secrets from a HashiCorp Vault or OpenBao KV engine, for `import
//! --from-vault PATH`: what the `vault`/`bao` CLIs do, over the same HTTP API, with the
//! same settings (`VAULT_ADDR`, `VAULT_TOKEN`, `VAULT_NAMESPACE`, `VAULT_CACERT`, read by
//! the CLI and handed in as [`Settings`]).
//!
//! The mount and its KV version come from `sys/internal/ui/mounts/PATH` (as the CLIs ask
//! it); KV v2 lists `MOUNT/metadata/…` and reads `MOUNT/data/…`, KV v1 lists and reads
//! `MOUNT/…`. Everything under PATH is read, depth first: the secret at PATH gives the
//! top-level keys, each secret below it a nested map named by its path (`PATH/stripe`
//! → `stripe: {…}`, `PATH/db/primary` → `db: {primary: {…}}`). A name that is both a
//! secret and a folder merges the two; a key holding a value in one and a map in the other
//! is refused, naming the path.
//!
//! The token travels only in the `X-Vault-Token` header and is never printed; errors name
//! the URL path and the status, and Vault's own error messages (which hold no values).
//! Response bodies are read into zeroizing buffers; serde_json's parsed strings are the
//! listed limit of `src/design.md` ("Secrets in memory").

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::Source;
use crate::model::{Branch, ListItem, Node, Plain, Scalar};
use crate::store::{Format, Layout};

/// A failure talking to the server, naming the URL path, never a value or the token.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("{path}: {what}")]
    Request { path: String, what: String },
    #[error("VAULT_CACERT {path}: {what}")]
    CaCert { path: String, what: String },
    #[error(
        "{path}: more than {max} secrets or {depth} levels under one path; import a narrower path"
    )]
    TooMany {
        path: String,
        max: usize,
        depth: usize,
    },
}

/// Where the server is and how to authenticate: the standard variables, read by the CLI.
#[derive(Clone, Default)]
pub struct Settings {
    pub addr: String,
    pub token: Option<SecretString>,
    pub namespace: Option<String>,
    pub cacert: Option<std::path::PathBuf>,
}

/// Bounds on one import: a path holding more is almost surely the wrong path.
const MAX_SECRETS: usize = 100_000;
const MAX_DEPTH: usize = 32;
const MAX_BODY: u64 = 32 << 20;

struct Client {
    agent: ureq::Agent,
    base: String,
    settings: Settings,
}

impl Client {
    fn new(settings: &Settings) -> Result<Client, VaultError> {
        let mut tls = ureq::tls::TlsConfig::builder();
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
            .timeout_global(Some(Duration::from_secs(30)))
            .tls_config(tls.build())
            .build();
        Ok(Client {
            agent: config.into(),
            base: settings.addr.trim_end_matches('/').to_string(),
            settings: settings.clone(),
        })
    }

    /// GETs `/v1/{path}` (with `?list=true` when listing); `None` on 404.
    fn get(&self, path: &str, list: bool) -> Result<Option<serde_json::Value>, VaultError> {
        let shown = format!("/v1/{path}");
        let err = |what: String| VaultError::Request {
            path: shown.clone(),
            what,
        };
        let url = format!("{}{shown}", self.base);
        let mut req = self.agent.get(&url);
        if list {
            req = req.query("list", "true");
        }
        if let Some(t) = &self.settings.token {
            req = req.header("X-Vault-Token", t.expose_secret());
        }
        if let Some(ns) = &self.settings.namespace {
            req = req.header("X-Vault-Namespace", ns);
        }
        let mut resp = req
            .call()
            .map_err(|e| err(format!("cannot reach {} ({e})", self.base)))?;
        let status = resp.status().as_u16();
        let body = Zeroizing::new(
            resp.body_mut()
                .with_config()
                .limit(MAX_BODY)
                .read_to_string()
                .map_err(|e| err(format!("reading the response: {e}")))?,
        );
        if status == 404 {
            return Ok(None);
        }
        let json: Option<serde_json::Value> = serde_json::from_str(&body).ok();
        if !(200..300).contains(&status) {
            let messages: Vec<String> = json
                .as_ref()
                .and_then(|j| j.get("errors"))
                .and_then(|e| e.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|m| m.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let hint = match status {
                401 | 403 => " (check VAULT_TOKEN and its policy)",
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
        json.map(Some)
            .ok_or_else(|| err("the response is not JSON".into()))
    }
}

/// A KV mount: its path (`secret/`) and version.
struct Mount {
    path: String,
    v2: bool,
}

fn mount_of(client: &Client, path: &str) -> Result<Mount, VaultError> {
    let j = client
        .get(&format!("sys/internal/ui/mounts/{path}"), false)?
        .ok_or_else(|| VaultError::Request {
            path: format!("/v1/sys/internal/ui/mounts/{path}"),
            what: "no secrets engine is mounted there".into(),
        })?;
    let data = &j["data"];
    let mount = data["path"].as_str().unwrap_or_default().to_string();
    let kind = data["type"].as_str().unwrap_or_default();
    if mount.is_empty() || !(kind == "kv" || kind == "generic") {
        return Err(VaultError::Request {
            path: format!("/v1/{path}"),
            what: format!("not a KV secrets engine (type {kind:?})"),
        });
    }
    let v2 = data["options"]["version"].as_str() == Some("2");
    Ok(Mount { path: mount, v2 })
}

/// Reads every secret under `path` into one tree (a YAML-shaped [`Source`]).
pub fn read(settings: &Settings, path: &str) -> Result<Source, VaultError> {
    let client = Client::new(settings)?;
    let path = path.trim_matches('/');
    let mount = mount_of(&client, path)?;
    let sub = path
        .strip_prefix(mount.path.trim_end_matches('/'))
        .unwrap_or("")
        .trim_matches('/')
        .to_string();
    let mut count = 0;
    let root = read_dir(&client, &mount, &sub, 0, &mut count)?;
    Ok(Source {
        name: format!("vault:{path}"),
        file: None,
        format: Format::Yaml,
        branches: vec![root],
        layout: Layout::default_for(Format::Yaml),
    })
}

fn api_path(mount: &Mount, kind: &str, sub: &str) -> String {
    let m = mount.path.trim_end_matches('/');
    match (mount.v2, sub.is_empty()) {
        (true, true) => format!("{m}/{kind}"),
        (true, false) => format!("{m}/{kind}/{sub}"),
        (false, true) => m.to_string(),
        (false, false) => format!("{m}/{sub}"),
    }
}

/// The secret at `sub` (its keys) merged with everything listed below it.
fn read_dir(
    client: &Client,
    mount: &Mount,
    sub: &str,
    depth: usize,
    count: &mut usize,
) -> Result<Branch<Plain>, VaultError> {
    let too_many = || VaultError::TooMany {
        path: format!("/v1/{}", api_path(mount, "metadata", sub)),
        max: MAX_SECRETS,
        depth: MAX_DEPTH,
    };
    if depth > MAX_DEPTH {
        return Err(too_many());
    }
    let mut out = if sub.is_empty() {
        Branch::new()
    } else {
        read_secret(client, mount, sub)?.unwrap_or_default()
    };
    let listed = client.get(&api_path(mount, "metadata", sub), true)?;
    let keys: Vec<String> = listed
        .as_ref()
        .and_then(|j| j["data"]["keys"].as_array())
        .map(|a| {
            a.iter()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    for key in keys {
        *count += 1;
        if *count > MAX_SECRETS {
            return Err(too_many());
        }
        let child = if sub.is_empty() {
            key.trim_end_matches('/').to_string()
        } else {
            format!("{sub}/{}", key.trim_end_matches('/'))
        };
        let name = key.trim_end_matches('/').to_string();
        let node = if key.ends_with('/') {
            read_dir(client, mount, &child, depth + 1, count)?
        } else {
            read_secret(client, mount, &child)?.unwrap_or_default()
        };
        merge(&mut out, name, node).map_err(|what| VaultError::Request {
            path: format!("/v1/{}", api_path(mount, "data", &child)),
            what,
        })?;
    }
    Ok(out)
}

/// Adds `node` under `name`; a folder and a secret of one name merge.
fn merge(out: &mut Branch<Plain>, name: String, node: Branch<Plain>) -> Result<(), String> {
    match out.get_mut(&name) {
        None => {
            out.insert(name, Node::Map(node));
            Ok(())
        }
        Some(Node::Map(existing)) => {
            for (k, v) in node.entries() {
                if existing.get(k).is_some() {
                    return Err(format!("key {k:?} is both a value and a path"));
                }
                existing.insert(k.to_string(), v.clone());
            }
            Ok(())
        }
        Some(_) => Err(format!(
            "{name:?} is both a key of the secret above and a path"
        )),
    }
}

/// One secret's key/value data; `None` when there is no secret at `sub` (or it is deleted).
fn read_secret(
    client: &Client,
    mount: &Mount,
    sub: &str,
) -> Result<Option<Branch<Plain>>, VaultError> {
    let Some(j) = client.get(&api_path(mount, "data", sub), false)? else {
        return Ok(None);
    };
    let data = if mount.v2 {
        &j["data"]["data"]
    } else {
        &j["data"]
    };
    match data {
        serde_json::Value::Object(map) => {
            let mut b = Branch::new();
            for (k, v) in map {
                b.insert(k.clone(), to_node(v));
            }
            Ok(Some(b))
        }
        // A KV v2 secret whose latest version is deleted reads as null data.
        _ => Ok(None),
    }
}

fn to_node(v: &serde_json::Value) -> Node<Plain> {
    use serde_json::Value as V;
    match v {
        V::Null => Node::Leaf(Plain::new(Scalar::Null)),
        V::Bool(b) => Node::Leaf(Plain::new(Scalar::Bool(*b))),
        V::Number(n) => Node::Leaf(Plain::new(match n.as_i64() {
            Some(i) => Scalar::Int(i),
            None => Scalar::Float(n.as_f64().unwrap_or(0.0)),
        })),
        V::String(s) => Node::Leaf(Plain::new(Scalar::Str(s.clone()))),
        V::Array(items) => Node::List(items.iter().map(|i| ListItem::Value(to_node(i))).collect()),
        V::Object(map) => {
            let mut b = Branch::new();
            for (k, v) in map {
                b.insert(k.clone(), to_node(v));
            }
            Node::Map(b)
        }
    }
}
