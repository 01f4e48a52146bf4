//! HashiCorp Vault / OpenBao transit as a key service, as sops uses it (`hc_vault`
//! stanzas): the data key's base64 is sent to `POST /v1/ENGINE/encrypt/KEY`, and the
//! `vault:v1:…` ciphertext that comes back is the stanza's `enc`; `POST
//! /v1/ENGINE/decrypt/KEY` gives it back. A key is named as sops's `--hc-vault-transit`
//! names it: `https://vault.example:8200/v1/ENGINE/keys/KEY`.
//!
//! The token is `VAULT_TOKEN`, else `~/.vault-token`, and goes to the stanza's own
//! `vault_address` (as for sops: a file names its server). Since a file is text anyone
//! with write access may edit, `$SOPS_HC_VAULT_ALLOWLIST` limits the servers the token
//! is sent to, as sops 3.13 reads it: `all` (the default, as in sops), `none`, or
//! comma-separated URL prefixes. The HTTP side is [`crate::vault`].

use std::time::Duration;

use base64::Engine as _;
use zeroize::Zeroizing;

use super::{KeyService, ServiceError};
use crate::metadata::VaultStanza;
use crate::vault::{Client, Settings};

/// A transit key: the server (scheme, host, port), the engine's mount path and the key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TransitKey {
    pub address: String,
    pub engine_path: String,
    pub key_name: String,
}

/// A `--hc-vault-transit` URL that is not of the form sops takes.
#[derive(Debug, thiserror::Error)]
#[error("{url:?} is not a Vault transit key URL ({why}); the form is https://vault.example:8200/v1/ENGINE/keys/KEY")]
pub struct BadTransitUrl {
    pub url: String,
    pub why: &'static str,
}

impl TransitKey {
    /// Parses `ADDRESS/v1/ENGINE/keys/KEY` (ENGINE may have several segments).
    pub fn parse(url: &str) -> Result<TransitKey, BadTransitUrl> {
        let bad = |why| BadTransitUrl {
            url: url.to_string(),
            why,
        };
        let uri: ureq::http::Uri = url.trim().parse().map_err(|_| bad("not a URL"))?;
        let scheme = uri.scheme_str().ok_or_else(|| bad("no scheme"))?;
        if !matches!(scheme, "http" | "https") {
            return Err(bad("the scheme is neither http nor https"));
        }
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("credentials in a URL are refused"));
        }
        if uri.query().is_some() {
            return Err(bad("a query is not part of a key's URL"));
        }
        let segments: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
        let n = segments.len();
        let versioned = segments[0]
            .strip_prefix('v')
            .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()));
        if !versioned || n < 4 || segments[n - 2] != "keys" {
            return Err(bad("the path is not /v1/ENGINE/keys/KEY"));
        }
        let key = TransitKey {
            address: format!("{scheme}://{authority}"),
            engine_path: segments[1..n - 2].join("/"),
            key_name: segments[n - 1].to_string(),
        };
        key.check().map_err(bad)?;
        Ok(key)
    }

    /// The key a stanza was wrapped with.
    pub fn of(stanza: &VaultStanza) -> TransitKey {
        TransitKey {
            address: stanza.vault_address.clone(),
            engine_path: stanza.engine_path.trim_matches('/').to_string(),
            key_name: stanza.key_name.clone(),
        }
    }

    /// Whether `stanza` holds the data key wrapped with this key.
    pub fn is_of(&self, stanza: &VaultStanza) -> bool {
        self.address == stanza.vault_address
            && self.engine_path.trim_matches('/') == stanza.engine_path.trim_matches('/')
            && self.key_name == stanza.key_name
    }

    /// Path segments that would make a request go elsewhere than the key it names
    /// (`..`, a query) are refused: a stanza comes from a file, which anyone may edit.
    fn check(&self) -> Result<(), &'static str> {
        let fine = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.@+=:,".contains(&b))
        };
        if !fine(&self.key_name) {
            return Err("the key name has characters a transit key name cannot have");
        }
        if !self.engine_path.trim_matches('/').split('/').all(fine) {
            return Err("the engine path has characters a mount path cannot have");
        }
        Ok(())
    }

    fn api_path(&self, op: &str) -> String {
        format!(
            "{}/{op}/{}",
            self.engine_path.trim_matches('/'),
            self.key_name
        )
    }
}

impl std::fmt::Display for TransitKey {
    /// As sops prints it and takes it: `ADDRESS/v1/ENGINE/keys/KEY`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/v1/{}/keys/{}",
            self.address,
            self.engine_path.trim_matches('/'),
            self.key_name
        )
    }
}

/// The servers a token may be sent to (`$SOPS_HC_VAULT_ALLOWLIST`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Allowlist {
    /// Any server (unset, empty or `all`: sops's default).
    #[default]
    All,
    /// Only addresses under these prefixes (each ending in `/`); none for `none`.
    Prefixes(Vec<String>),
}

/// The variable sops 3.13 reads for [`Allowlist`].
pub const ALLOWLIST_VAR: &str = "SOPS_HC_VAULT_ALLOWLIST";

impl Allowlist {
    pub fn parse(text: &str) -> Allowlist {
        match text.trim() {
            "" | "all" => Allowlist::All,
            "none" => Allowlist::Prefixes(Vec::new()),
            list => Allowlist::Prefixes(
                list.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(|p| format!("{}/", p.trim_end_matches('/')))
                    .collect(),
            ),
        }
    }

    pub fn allows(&self, address: &str) -> bool {
        match self {
            Allowlist::All => true,
            Allowlist::Prefixes(p) => {
                let address = format!("{}/", address.trim_end_matches('/'));
                p.iter().any(|p| address.starts_with(p.as_str()))
            }
        }
    }
}

/// The transit service: how to reach and authenticate to Vault.
#[derive(Clone, Debug)]
pub struct VaultTransit {
    pub settings: Settings,
    pub allowlist: Allowlist,
    /// Per request; an error when `$SECRETS_KEYSERVICE_TIMEOUT` is not a duration (said
    /// when a request would be made, so an age-only file does not fail on it).
    pub timeout: Result<Duration, String>,
}

impl Default for VaultTransit {
    fn default() -> Self {
        VaultTransit {
            settings: Settings::default(),
            allowlist: Allowlist::All,
            timeout: Ok(super::DEFAULT_TIMEOUT),
        }
    }
}

impl VaultTransit {
    /// POSTs `body` to the key's `op` endpoint and returns `data.FIELD` of the answer.
    fn call(
        &self,
        key: &TransitKey,
        op: &str,
        body: &Zeroizing<String>,
        field: &str,
    ) -> Result<Zeroizing<String>, ServiceError> {
        let fail = |what: String| ServiceError {
            service: format!("hc_vault {key}"),
            what,
        };
        key.check().map_err(|w| fail(w.into()))?;
        if !self.allowlist.allows(&key.address) {
            return Err(fail(format!(
                "{} is not in ${ALLOWLIST_VAR}: no token is sent to it",
                key.address
            )));
        }
        let timeout = self.timeout.clone().map_err(fail)?;
        let client =
            Client::new(&self.settings, &key.address, timeout).map_err(|e| fail(e.to_string()))?;
        let answer = client
            .post(&key.api_path(op), body)
            .map_err(|e| fail(e.to_string()))?;
        // Only the field we need is kept, in zeroizing memory.
        #[derive(serde::Deserialize)]
        struct Answer {
            data: Option<serde_json::Map<String, serde_json::Value>>,
        }
        let parsed: Answer = serde_json::from_str(&answer)
            .map_err(|_| fail(format!("the {op} answer is not JSON")))?;
        match parsed.data.as_ref().and_then(|d| d.get(field)) {
            Some(serde_json::Value::String(s)) => Ok(Zeroizing::new(s.clone())),
            _ => Err(fail(format!("the {op} answer has no data.{field}"))),
        }
    }
}

impl KeyService for VaultTransit {
    type Key = TransitKey;
    type Stanza = VaultStanza;
    const KIND: &'static str = "hc_vault";

    fn key_of(stanza: &VaultStanza) -> TransitKey {
        TransitKey::of(stanza)
    }

    fn wrap(&self, key: &TransitKey, secret: &[u8]) -> Result<VaultStanza, ServiceError> {
        let mut body = Zeroizing::new(String::with_capacity(64));
        body.push_str("{\"plaintext\":\"");
        base64::engine::general_purpose::STANDARD.encode_string(secret, &mut body);
        body.push_str("\"}");
        let enc = self.call(key, "encrypt", &body, "ciphertext")?;
        Ok(VaultStanza {
            vault_address: key.address.clone(),
            engine_path: key.engine_path.trim_matches('/').to_string(),
            key_name: key.key_name.clone(),
            created_at: crate::crypto::mac::now_rfc3339(),
            enc: enc.to_string(),
        })
    }

    fn unwrap(&self, stanza: &VaultStanza) -> Result<Zeroizing<Vec<u8>>, ServiceError> {
        let key = TransitKey::of(stanza);
        let body = Zeroizing::new(serde_json::json!({ "ciphertext": stanza.enc }).to_string());
        let b64 = self.call(&key, "decrypt", &body, "plaintext")?;
        Ok(Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map_err(|_| ServiceError {
                    service: format!("hc_vault {key}"),
                    what: "the decrypted data key is not base64".into(),
                })?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_urls_sops_takes() {
        let k = TransitKey::parse("https://vault.example:8200/v1/transit/keys/prod").unwrap();
        assert_eq!(k.address, "https://vault.example:8200");
        assert_eq!(k.engine_path, "transit");
        assert_eq!(k.key_name, "prod");
        assert_eq!(
            k.to_string(),
            "https://vault.example:8200/v1/transit/keys/prod"
        );
        let k = TransitKey::parse("http://127.0.0.1:8200/v1/team/a/transit/keys/k1/").unwrap();
        assert_eq!(
            (k.engine_path.as_str(), k.key_name.as_str()),
            ("team/a/transit", "k1")
        );
        for bad in [
            "vault.example/v1/transit/keys/prod",
            "https://vault.example/transit/keys/prod",
            "https://vault.example/v1/keys/prod",
            "https://vault.example/v1/transit/prod/x",
            "https://u:p@vault.example/v1/transit/keys/prod",
            "https://vault.example/v1/transit/keys/prod?x=1",
            "https://vault.example/v1/../keys/prod",
            "ftp://vault.example/v1/transit/keys/prod",
        ] {
            assert!(TransitKey::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_allowlist_reads_as_sops_reads_it() {
        assert!(Allowlist::parse("").allows("https://evil"));
        assert!(Allowlist::parse("all").allows("https://evil"));
        assert!(!Allowlist::parse("none").allows("https://vault:8200"));
        let a = Allowlist::parse("https://vault:8200, http://127.0.0.1:8200/");
        assert!(a.allows("https://vault:8200"));
        assert!(a.allows("http://127.0.0.1:8200/"));
        assert!(!a.allows("https://vault:82000"));
        assert!(!a.allows("https://vault.evil"));
    }

    #[test]
    fn a_stanza_cannot_point_a_request_elsewhere() {
        let mut k = TransitKey::parse("https://v:8200/v1/transit/keys/prod").unwrap();
        k.key_name = "../../sys/seal".into();
        assert!(k.check().is_err());
        k.key_name = "prod?x".into();
        assert!(k.check().is_err());
    }
}
