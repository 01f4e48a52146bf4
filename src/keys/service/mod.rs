//! Key services: master keys held outside the file's age keys (HashiCorp Vault / OpenBao
//! transit, AWS KMS; PGP through the user's `gpg`), which wrap and unwrap the data key by
//! asking a server or a program instead of with a private key on disk. One file per service, each
//! behind [`KeyService`]; [`Services`] holds their settings, read from the environment
//! without touching the network: a client is made only when a stanza needs one, so an
//! age-only file never starts one.
//!
//! Every request is bounded by one timeout ([`DEFAULT_TIMEOUT`], or
//! `$SECRETS_KEYSERVICE_TIMEOUT` seconds): a service that is down or slow fails within it
//! and the next stanza is tried. Errors name the service and the key (address, engine,
//! key name; ARN and region), never a token or credential.

pub mod aws_kms;
pub mod pgp;
pub mod vault_transit;

use std::time::Duration;

use zeroize::Zeroizing;

pub use aws_kms::{AwsKms, KmsKey};
pub use pgp::{Gpg, PgpKey};
pub use vault_transit::{TransitKey, VaultTransit};

/// How long one request to a key service may take (connect, TLS, send, answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The variable that overrides [`DEFAULT_TIMEOUT`], in seconds (`0.5`, `10`).
pub const TIMEOUT_VAR: &str = "SECRETS_KEYSERVICE_TIMEOUT";

/// One key service: its credentials and settings, the master keys it holds (`Key`) and
/// what a file stores for each (`Stanza`).
pub trait KeyService {
    /// A master key; `Display` is how messages and `status` name it (after [`Self::KIND`]).
    type Key: Clone + PartialEq + std::fmt::Display;
    type Stanza: Clone;
    /// The stanza list's name in sops metadata (`hc_vault`, `kms`).
    const KIND: &'static str;
    /// The master key a stanza was wrapped with.
    fn key_of(stanza: &Self::Stanza) -> Self::Key;
    /// Wraps `secret` with `key` (the data key, or in a file with key groups that group's
    /// Shamir share): the stanza to store in the file.
    fn wrap(&self, key: &Self::Key, secret: &[u8]) -> Result<Self::Stanza, ServiceError>;
    /// The secret a stanza holds, asking the service to unwrap it: the data key, or in a
    /// file with key groups that group's Shamir share (the caller checks its length).
    fn unwrap(&self, stanza: &Self::Stanza) -> Result<Zeroizing<Vec<u8>>, ServiceError>;
}

/// One key service's failure: the key as the user knows it (`hc_vault
/// https://vault:8200/v1/transit/keys/prod`) and what went wrong, never a credential.
#[derive(Debug, thiserror::Error)]
#[error("{service}: {what}")]
pub struct ServiceError {
    pub service: String,
    pub what: String,
}

/// The configured key services. `Default` is none configured: no token, the default
/// timeout (what tests and embedders start from).
#[derive(Clone, Debug, Default)]
pub struct Services {
    pub vault: VaultTransit,
    pub kms: AwsKms,
    pub gpg: Gpg,
}

impl Services {
    /// Every service's settings from the standard variables. Cheap: no file is read and
    /// no connection made until a stanza is wrapped or unwrapped.
    pub fn from_env() -> Services {
        let timeout = std::env::var(TIMEOUT_VAR)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| parse_timeout(&v));
        Services {
            vault: VaultTransit {
                settings: crate::vault::Settings::from_env(),
                allowlist: vault_transit::Allowlist::parse(
                    &std::env::var(vault_transit::ALLOWLIST_VAR).unwrap_or_default(),
                ),
                timeout: timeout.clone().unwrap_or(Ok(DEFAULT_TIMEOUT)),
            },
            kms: AwsKms::from_env(),
            gpg: Gpg::from_env(timeout),
        }
    }
}

/// A timeout in seconds: a positive decimal number of at most a day.
pub(super) fn parse_timeout(text: &str) -> Result<Duration, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            format!("{TIMEOUT_VAR}={text:?} is not a number of seconds (such as 5 or 0.5)")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_positive_seconds() {
        assert_eq!(parse_timeout("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_timeout(" 0.5 "), Ok(Duration::from_millis(500)));
        for bad in ["0", "-1", "5s", "inf", "NaN", "100000"] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
    }
}
