//! Master keys: age recipients (who a data key is wrapped for), identities (what we
//! decrypt with, found in a documented order and refused when other users can read them),
//! wrapping the data key into one armored age file per recipient, as sops does, and the
//! key services (`service`: Vault transit, AWS KMS, PGP through gpg) that wrap it by
//! asking a server or a program.
//!
//! Unwrapping tries the age stanzas first, with no network at all, then each key-service
//! stanza in file order ([`unwrap`]).

pub mod identity;
pub mod locked_ssh;
pub mod recipient;
pub mod service;
pub mod shamir;
pub mod wrap;

pub use identity::Identities;
pub use recipient::Recipient;
pub use service::{KmsKey, PgpKey, Services, TransitKey};

use crate::crypto::DataKey;
use crate::metadata::KeyGroup;
use service::KeyService;
use wrap::WrapError;

/// The key-service master keys a data key is wrapped for, one list per service (the
/// service lists of [`KeyGroup`], before wrapping).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceKeys {
    pub hc_vault: Vec<TransitKey>,
    pub kms: Vec<KmsKey>,
    pub pgp: Vec<PgpKey>,
}

impl ServiceKeys {
    /// The keys a group's stanzas were wrapped with, in file order.
    pub fn of(group: &KeyGroup) -> ServiceKeys {
        ServiceKeys {
            hc_vault: keys_of::<service::VaultTransit>(&group.hc_vault),
            kms: keys_of::<service::AwsKms>(&group.kms),
            pgp: keys_of::<service::Gpg>(&group.pgp),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.hc_vault.is_empty() && self.kms.is_empty() && self.pgp.is_empty()
    }

    pub fn len(&self) -> usize {
        self.hc_vault.len() + self.kms.len() + self.pgp.len()
    }

    /// Adds the keys of `other` not already here.
    pub fn union(&mut self, other: &ServiceKeys) {
        fn add<K: PartialEq + Clone>(to: &mut Vec<K>, from: &[K]) {
            for k in from {
                if !to.contains(k) {
                    to.push(k.clone());
                }
            }
        }
        add(&mut self.hc_vault, &other.hc_vault);
        add(&mut self.kms, &other.kms);
        add(&mut self.pgp, &other.pgp);
    }

    /// The keys of `wanted` not here (`added`) and those here not in `wanted`
    /// (`removed`), each named `hc_vault URL`, `kms ARN` or `pgp FINGERPRINT`.
    pub fn diff(&self, wanted: &ServiceKeys) -> (Vec<String>, Vec<String>) {
        fn one<S: KeyService>(
            have: &[S::Key],
            want: &[S::Key],
            added: &mut Vec<String>,
            removed: &mut Vec<String>,
        ) {
            added.extend(want.iter().filter(|w| !have.contains(w)).map(shown::<S>));
            removed.extend(have.iter().filter(|h| !want.contains(h)).map(shown::<S>));
        }
        let (mut added, mut removed) = (Vec::new(), Vec::new());
        one::<service::VaultTransit>(&self.hc_vault, &wanted.hc_vault, &mut added, &mut removed);
        one::<service::AwsKms>(&self.kms, &wanted.kms, &mut added, &mut removed);
        one::<service::Gpg>(&self.pgp, &wanted.pgp, &mut added, &mut removed);
        (added, removed)
    }
}

/// Whether `key` names a key-service key as [`ServiceKeys::diff`] writes it.
pub fn is_service_key(key: &str) -> bool {
    [
        <service::VaultTransit as KeyService>::KIND,
        <service::AwsKms as KeyService>::KIND,
        <service::Gpg as KeyService>::KIND,
    ]
    .iter()
    .any(|kind| key.strip_prefix(kind).is_some_and(|r| r.starts_with(' ')))
}

fn shown<S: KeyService>(key: &S::Key) -> String {
    format!("{} {key}", S::KIND)
}

fn keys_of<S: KeyService>(stanzas: &[S::Stanza]) -> Vec<S::Key> {
    stanzas.iter().map(S::key_of).collect()
}

/// Everything a data key is wrapped for: age recipients and key-service master keys
/// (the same lists as [`KeyGroup`], before wrapping), or sops key groups (`shamir`).
#[derive(Clone, Debug, Default)]
pub struct MasterKeys {
    pub age: Vec<Recipient>,
    pub services: ServiceKeys,
    /// Several key groups sharing the data key (sops `key_groups`); when set, `age` and
    /// `services` are empty.
    pub shamir: Option<Shamir>,
}

/// sops key groups: the data key split into one Shamir share per group, `threshold` of
/// which give it back; within a group any one key opens its share. Always at least two
/// groups (one group is the flat layout, as sops writes it).
#[derive(Clone, Debug)]
pub struct Shamir {
    pub groups: Vec<MasterKeys>,
    pub threshold: usize,
}

impl MasterKeys {
    pub fn age(recipients: &[Recipient]) -> MasterKeys {
        MasterKeys {
            age: recipients.to_vec(),
            ..Default::default()
        }
    }

    /// `groups` as sops stores them: flat when there is one (or none), key groups
    /// needing `threshold` of them (0: all) otherwise.
    pub fn grouped(mut groups: Vec<MasterKeys>, threshold: usize) -> MasterKeys {
        if groups.len() <= 1 {
            return groups.pop().unwrap_or_default();
        }
        let threshold = if threshold == 0 {
            groups.len()
        } else {
            threshold
        };
        MasterKeys {
            shamir: Some(Shamir { groups, threshold }),
            ..Default::default()
        }
    }

    /// A file's master keys as it names them (age recipients parsed): what rotating it
    /// for the same readers wraps the new data key for.
    pub fn of_metadata(
        md: &crate::metadata::Metadata,
    ) -> Result<MasterKeys, recipient::BadRecipient> {
        let one = |g: &KeyGroup| -> Result<MasterKeys, recipient::BadRecipient> {
            Ok(MasterKeys {
                age: g
                    .age
                    .iter()
                    .map(|s| s.recipient.parse())
                    .collect::<Result<_, _>>()?,
                services: ServiceKeys::of(g),
                shamir: None,
            })
        };
        if md.key_groups.is_empty() {
            return one(&md.keys);
        }
        let groups = md.key_groups.iter().map(one).collect::<Result<_, _>>()?;
        Ok(MasterKeys::grouped(groups, md.shamir_threshold))
    }

    pub fn is_empty(&self) -> bool {
        self.age.is_empty()
            && self.services.is_empty()
            && self.shamir.as_ref().is_none_or(|s| s.groups.is_empty())
    }

    /// How many master keys, for messages ("for 3 key(s)").
    pub fn len(&self) -> usize {
        self.age.len()
            + self.services.len()
            + self
                .shamir
                .as_ref()
                .map_or(0, |s| s.groups.iter().map(MasterKeys::len).sum())
    }

    /// Every age recipient, in every group.
    pub fn all_recipients(&self) -> Vec<Recipient> {
        let mut out = self.age.clone();
        for g in self.shamir.iter().flat_map(|s| &s.groups) {
            out.extend(g.all_recipients());
        }
        out
    }

    /// Every key-service key, in every group.
    pub fn all_services(&self) -> ServiceKeys {
        let mut out = self.services.clone();
        for g in self.shamir.iter().flat_map(|s| &s.groups) {
            out.union(&g.all_services());
        }
        out
    }
}

/// The key groups of a file wrapped for `shamir`: the data key split into one share per
/// group ([`shamir::split`], as sops splits it), each share wrapped for every key of its
/// group. Every wrap is made before anything is returned.
pub fn wrap_groups(
    key: &DataKey,
    shamir: &Shamir,
    services: &Services,
) -> Result<Vec<KeyGroup>, WrapError> {
    // A group with no key would hold a share nobody opens (sops refuses one too).
    if let Some(i) = shamir.groups.iter().position(MasterKeys::is_empty) {
        return Err(WrapError::EmptyGroup(i + 1));
    }
    let shares = shamir::split(key.bytes(), shamir.groups.len(), shamir.threshold)
        .map_err(|e| WrapError::Shamir(e.to_string()))?;
    shamir
        .groups
        .iter()
        .zip(&shares)
        .map(|(group, share)| {
            let with_age = KeyGroup {
                age: wrap::wrap_all(share, &group.age, &[])?,
                ..KeyGroup::default()
            };
            wrap_services(share, &group.services, &with_age, services)
        })
        .collect()
}

/// The most key-service stanzas one unwrap asks: each may take the whole timeout, and a
/// file (anyone may edit one) could list thousands.
pub const MAX_SERVICE_STANZAS: usize = 16;

/// The data key of a group: an age identity first (local, no network); only when none
/// opens an age stanza is each key-service stanza asked in turn (PGP through gpg, as sops
/// asks it right after age; then Vault transit, then AWS KMS; each in file order; at most [`MAX_SERVICE_STANZAS`] in all), each bounded by the
/// services' timeout. A service's client is made only for a stanza of its own. The error
/// lists the recipients, the identities tried and each service's failure.
pub fn unwrap(group: &KeyGroup, ids: &Identities) -> Result<DataKey, WrapError> {
    let secret = unwrap_secret(group, ids, 32, &mut 0)?;
    Ok(DataKey::from_slice(&secret).expect("32 bytes"))
}

/// The data key of a file with sops key groups: each group's Shamir share, unwrapped as
/// [`unwrap`] unwraps a group, until `threshold` of them (all groups when 0, as sops
/// reads it) give the key back ([`shamir::combine`]). Every group's age stanzas are tried
/// first (no network), then the key services of the groups still needed, in file order
/// and no more than needed: a group whose key the user lacks costs nothing once enough
/// others opened, and a Vault group is not asked when the user's age keys open enough.
pub fn unwrap_groups(
    groups: &[KeyGroup],
    threshold: usize,
    ids: &Identities,
) -> Result<DataKey, WrapError> {
    // Every group when absent; never fewer than the two shares a combination needs.
    let need = if threshold == 0 {
        groups.len()
    } else {
        threshold.max(2)
    };
    let share_len = 33;
    let mut opened: Vec<Option<zeroize::Zeroizing<Vec<u8>>>> = groups
        .iter()
        .map(|g| wrap::unwrap_secret(&g.age, ids, share_len).ok())
        .collect();
    // One budget of key-service requests for the whole file, not one per group.
    let mut asked = 0;
    let mut failures = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        if opened.iter().flatten().count() >= need {
            break;
        }
        if opened[i].is_some() {
            continue;
        }
        match unwrap_secret(group, ids, share_len, &mut asked) {
            Ok(share) => opened[i] = Some(share),
            Err(e) => failures.push((i + 1, e)),
        }
    }
    let shares: Vec<zeroize::Zeroizing<Vec<u8>>> =
        opened.into_iter().flatten().take(need).collect();
    if shares.len() < need.max(2) {
        return Err(WrapError::KeyGroups {
            groups: groups.len(),
            need,
            opened: shares.len(),
            failures,
        });
    }
    let parts: Vec<&[u8]> = shares.iter().map(|s| s.as_slice()).collect();
    let key = shamir::combine(&parts).map_err(|e| WrapError::Shamir(e.to_string()))?;
    DataKey::from_slice(&key)
        .ok_or_else(|| WrapError::Shamir("the shares give no 32-byte key".into()))
}

/// The `len`-byte secret a group holds: [`unwrap`]'s order, any length but `len` passed
/// over (a data key in a flat file, a Shamir share in a key group). `asked` counts the
/// key-service stanzas asked so far in this file, against [`MAX_SERVICE_STANZAS`].
fn unwrap_secret(
    group: &KeyGroup,
    ids: &Identities,
    len: usize,
    asked: &mut usize,
) -> Result<zeroize::Zeroizing<Vec<u8>>, WrapError> {
    let age_error = match wrap::unwrap_secret(&group.age, ids, len) {
        Ok(secret) => return Ok(secret),
        Err(e) => e,
    };
    if !group.has_service_stanzas() {
        return Err(age_error);
    }
    let mut tried = Asked {
        len,
        count: *asked,
        failures: Vec::new(),
    };
    let s = &ids.services;
    let key = tried
        .unwrap_with(&s.gpg, &group.pgp)
        .or_else(|| tried.unwrap_with(&s.vault, &group.hc_vault))
        .or_else(|| tried.unwrap_with(&s.kms, &group.kms));
    *asked = tried.count;
    if let Some(key) = key {
        return Ok(key);
    }
    Err(WrapError::NoMatchingIdentity {
        recipients: group.age.iter().map(|s| s.recipient.clone()).collect(),
        tried: ids.describe(),
        services: tried.failures,
    })
}

/// The key-service stanzas asked so far in one unwrap, and why each failed; `len` is the
/// length of the secret wanted.
struct Asked {
    len: usize,
    count: usize,
    failures: Vec<String>,
}

impl Asked {
    fn unwrap_with<S: KeyService>(
        &mut self,
        service: &S,
        stanzas: &[S::Stanza],
    ) -> Option<zeroize::Zeroizing<Vec<u8>>> {
        let room = MAX_SERVICE_STANZAS.saturating_sub(self.count);
        for stanza in stanzas.iter().take(room) {
            self.count += 1;
            match service.unwrap(stanza) {
                Ok(secret) if secret.len() == self.len => return Some(secret),
                Ok(secret) => self.failures.push(format!(
                    "{} {}: the decrypted data key is {} bytes, not {}",
                    S::KIND,
                    S::key_of(stanza),
                    secret.len(),
                    self.len
                )),
                Err(e) => self.failures.push(e.to_string()),
            }
        }
        let more = stanzas.len().saturating_sub(room);
        if more > 0 {
            self.failures.push(format!(
                "{more} more {} stanza(s) not tried (at most {MAX_SERVICE_STANZAS} key-service stanzas are)",
                S::KIND
            ));
        }
        None
    }
}

/// `group` with `secret` (the data key or a Shamir share) wrapped for every key-service
/// key in `wanted` it lacks (its
/// stanzas stay: the same data key under the same key needs no new one). Every wrap is
/// made before anything is returned: a service that fails changes nothing.
pub fn wrap_services(
    secret: &[u8],
    wanted: &ServiceKeys,
    group: &KeyGroup,
    services: &Services,
) -> Result<KeyGroup, WrapError> {
    Ok(KeyGroup {
        age: group.age.clone(),
        hc_vault: wrap_with(&services.vault, secret, &wanted.hc_vault, &group.hc_vault)?,
        kms: wrap_with(&services.kms, secret, &wanted.kms, &group.kms)?,
        pgp: wrap_with(&services.gpg, secret, &wanted.pgp, &group.pgp)?,
        foreign: Default::default(),
    })
}

fn wrap_with<S: KeyService>(
    service: &S,
    secret: &[u8],
    wanted: &[S::Key],
    have: &[S::Stanza],
) -> Result<Vec<S::Stanza>, WrapError> {
    let mut out = have.to_vec();
    for k in wanted {
        if out.iter().any(|s| S::key_of(s) == *k) {
            continue;
        }
        let stanza = service
            .wrap(k, secret)
            .map_err(|e| WrapError::Service(e.to_string()))?;
        out.push(stanza);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_keys_differ_by_kind_and_are_named_by_it() {
        let t = TransitKey::parse("https://v:8200/v1/transit/keys/prod").unwrap();
        let k = KmsKey::parse("arn:aws:kms:eu-west-1:111122223333:key/k").unwrap();
        let with_context = KmsKey {
            context: [("env".to_string(), "prod".to_string())].into(),
            ..k.clone()
        };
        let p = PgpKey::parse("0A3C6965452221901F1333EED5AA2A5741526D93").unwrap();
        let have = ServiceKeys {
            hc_vault: vec![t.clone()],
            kms: vec![k.clone()],
            pgp: Vec::new(),
        };
        let want = ServiceKeys {
            hc_vault: vec![t],
            kms: vec![with_context.clone()],
            pgp: vec![p],
        };
        let (added, removed) = have.diff(&want);
        assert_eq!(
            added,
            [
                "kms arn:aws:kms:eu-west-1:111122223333:key/k (context env:prod)",
                "pgp 0A3C6965452221901F1333EED5AA2A5741526D93"
            ]
        );
        assert_eq!(removed, ["kms arn:aws:kms:eu-west-1:111122223333:key/k"]);
        assert!(added.iter().chain(&removed).all(|k| is_service_key(k)));
        assert!(is_service_key(
            "hc_vault https://v:8200/v1/transit/keys/prod"
        ));
        assert!(!is_service_key("kmsage1abc") && !is_service_key("age1abc"));
        let mut both = have.clone();
        both.union(&want);
        assert_eq!(
            (both.hc_vault.len(), both.kms.len(), both.pgp.len()),
            (1, 2, 1)
        );
    }
}
