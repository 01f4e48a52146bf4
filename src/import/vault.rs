//! Reading a tree of secrets from a HashiCorp Vault or OpenBao KV engine, for `import
//! --from-vault PATH`: what the `vault`/`bao` CLIs do, over the same HTTP API, with the
//! same settings (`VAULT_ADDR`, `VAULT_TOKEN` or `~/.vault-token`, `VAULT_NAMESPACE`,
//! `VAULT_CACERT`, `VAULT_SKIP_VERIFY`: [`crate::vault::Settings`], read by the CLI and
//! handed in). The HTTP side (token, TLS, errors) is [`crate::vault`], shared with the
//! transit key service.
//!
//! The mount and its KV version come from `sys/internal/ui/mounts/PATH` (as the CLIs ask
//! it); KV v2 lists `MOUNT/metadata/…` and reads `MOUNT/data/…`, KV v1 lists and reads
//! `MOUNT/…`. Everything under PATH is read, depth first: the secret at PATH gives the
//! top-level keys, each secret below it a nested map named by its path (`PATH/stripe`
//! → `stripe: {…}`, `PATH/db/primary` → `db: {primary: {…}}`). A name that is both a
//! secret and a folder merges the two; a key holding a value in one and a map in the other
//! is refused, naming the path.
//!
//! Errors name the URL path and the status, and Vault's own error messages (which hold
//! no values), never the token.

use std::time::Duration;

use super::Source;
use crate::model::{Branch, ListItem, Node, Plain, Scalar};
use crate::store::{Format, Layout};
use crate::vault::Client;
pub use crate::vault::Settings;

/// A failure of an import from Vault, naming the URL path, never a value or the token.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The server's answer, or no answer (see [`crate::vault`]).
    #[error(transparent)]
    Api(#[from] crate::vault::VaultError),
    #[error("{path}: {what}")]
    Request { path: String, what: String },
    #[error(
        "{path}: more than {max} secrets or {depth} levels under one path; import a narrower path"
    )]
    TooMany {
        path: String,
        max: usize,
        depth: usize,
    },
}

/// Bounds on one import: a path holding more is almost surely the wrong path.
const MAX_SECRETS: usize = 100_000;
const MAX_DEPTH: usize = 32;
/// A KV tree is read with many requests: each may take this long.
const TIMEOUT: Duration = Duration::from_secs(30);

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
    let addr = settings.addr.as_deref().unwrap_or_default();
    let client = Client::new(settings, addr, TIMEOUT)?;
    let path = path.trim_matches('/');
    let mount = mount_of(&client, path)?;
    let sub = path
        .strip_prefix(mount.path.trim_end_matches('/'))
        .unwrap_or("")
        .trim_matches('/')
        .to_string();
    let mut count = 0;
    let root = read_dir(&client, &mount, &sub, true, 0, &mut count)?;
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

/// The secret at `sub` (its keys, unless `with_own_secret` is false: the listing above
/// named it as a secret too, and it is read there) merged with everything listed below it.
fn read_dir(
    client: &Client,
    mount: &Mount,
    sub: &str,
    with_own_secret: bool,
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
    let mut out = if sub.is_empty() || !with_own_secret {
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
    // (a set: a listing may hold many folders)
    let secrets: std::collections::HashSet<&str> = keys
        .iter()
        .filter(|k| !k.ends_with('/'))
        .map(String::as_str)
        .collect();
    for key in &keys {
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
            let listed_as_secret = secrets.contains(name.as_str());
            read_dir(client, mount, &child, !listed_as_secret, depth + 1, count)?
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
