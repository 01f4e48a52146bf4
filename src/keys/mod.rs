//! Master keys: age recipients (who a data key is wrapped for), identities (what we
//! decrypt with, found in a documented order and refused when other users can read them),
//! wrapping the data key into one armored age file per recipient, as sops does, and the
//! key services (`service`: Vault transit) that wrap it over the network.
//!
//! Unwrapping tries the age stanzas first, with no network at all, then each key-service
//! stanza in file order ([`unwrap`]).

pub mod identity;
pub mod recipient;
pub mod service;
pub mod shamir;
pub mod wrap;

pub use identity::Identities;
pub use recipient::Recipient;
pub use service::{Services, TransitKey};

use crate::crypto::DataKey;
use crate::metadata::KeyGroup;
use service::KeyService;
use wrap::WrapError;

/// Everything a data key is wrapped for: age recipients and key-service master keys
/// (the same lists as [`KeyGroup`], before wrapping).
#[derive(Clone, Debug, Default)]
pub struct MasterKeys {
    pub age: Vec<Recipient>,
    pub hc_vault: Vec<TransitKey>,
}

impl MasterKeys {
    pub fn age(recipients: &[Recipient]) -> MasterKeys {
        MasterKeys {
            age: recipients.to_vec(),
            ..Default::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.age.is_empty() && self.hc_vault.is_empty()
    }

    /// How many master keys, for messages ("for 3 key(s)").
    pub fn len(&self) -> usize {
        self.age.len() + self.hc_vault.len()
    }
}

/// The most key-service stanzas one unwrap asks: each may take the whole timeout, and a
/// file (anyone may edit one) could list thousands.
pub const MAX_SERVICE_STANZAS: usize = 16;

/// The data key of a group: an age identity first (local, no network); only when none
/// opens an age stanza is each Vault stanza asked in turn, each bounded by the services'
/// timeout. The error lists the recipients, the identities tried and each service's
/// failure.
pub fn unwrap(group: &KeyGroup, ids: &Identities) -> Result<DataKey, WrapError> {
    let age_error = match wrap::unwrap(&group.age, ids) {
        Ok(key) => return Ok(key),
        Err(e) => e,
    };
    if group.hc_vault.is_empty() {
        return Err(age_error);
    }
    let mut failures = Vec::new();
    for stanza in group.hc_vault.iter().take(MAX_SERVICE_STANZAS) {
        match ids.services.vault.unwrap(stanza) {
            Ok(key) => return Ok(key),
            Err(e) => failures.push(e.to_string()),
        }
    }
    let more = group.hc_vault.len().saturating_sub(MAX_SERVICE_STANZAS);
    if more > 0 {
        failures.push(format!(
            "{more} more hc_vault stanza(s) not tried (at most {MAX_SERVICE_STANZAS} are)"
        ));
    }
    Err(WrapError::NoMatchingIdentity {
        recipients: group.age.iter().map(|s| s.recipient.clone()).collect(),
        tried: ids.describe(),
        services: failures,
    })
}

/// Wraps `key` for every Vault transit key not yet in `have` (those keep their stanza:
/// the same data key under the same key needs no new one).
pub fn wrap_services(
    key: &DataKey,
    wanted: &[TransitKey],
    have: &[crate::metadata::VaultStanza],
    services: &Services,
) -> Result<Vec<crate::metadata::VaultStanza>, WrapError> {
    let mut out = have.to_vec();
    for k in wanted {
        if out.iter().any(|s| k.is_of(s)) {
            continue;
        }
        let stanza = services
            .vault
            .wrap(k, key)
            .map_err(|e| WrapError::Service(e.to_string()))?;
        out.push(stanza);
    }
    Ok(out)
}
