//! sops's `.sops.yaml`: its `creation_rules` (`path_regex`, `age` keys as a comma-separated
//! string or a list, `key_groups` with `shamir_threshold`, and the encryption-rule fields)
//! read as an equivalent team config. Each rule becomes an environment `rule-N` matched
//! by its `path_regex` (first match wins, as in sops); each distinct age key becomes a
//! member `sops-N`; `hc_vault_transit_uri` (or a key group's `hc_vault`) becomes the
//! environment's `vault_transit` keys; `kms` (with the rule's `aws_profile`), or a key
//! group's `kms` entries (`arn`, `role`, `context`, `aws_profile`), its `kms` keys; `pgp`
//! its `pgp` keys. One key group is the rule's keys; several become the environment's
//! `key_groups`. Other key types (gcp_kms, azure_keyvault…) are ignored.

use super::raw::{
    self, RawConfig, RawEnv, RawError, RawGroup, RawMember, RawRules, Spanned, Value,
};

/// Key types of creation rules this tool cannot wrap a data key for (no local server to
/// test a client against): a file made or re-wrapped from such a rule would lack them.
const UNSUPPORTED: &[&str] = &["gcp_kms", "azure_keyvault", "hckms"];

/// Reads `.sops.yaml` text into the raw config it stands for.
pub fn to_raw(text: &str) -> Result<RawConfig, RawError> {
    let doc = raw::parse_yaml(text)?;
    let mut cfg = RawConfig::default();
    // key → member name (a map: a search per key was quadratic in the keys)
    let mut key_names: std::collections::HashMap<String, String> = Default::default();
    for (key, value) in raw::map(&doc, ".sops.yaml")? {
        if key.value != "creation_rules" {
            continue; // destination_rules, stores…: not ours
        }
        let Value::List(rules) = &value.value else {
            return Err(RawError::new(value.line, "creation_rules must be a list"));
        };
        for (i, rule) in rules.iter().enumerate() {
            let name = Spanned {
                line: rule.line,
                value: format!("rule-{}", i + 1),
            };
            let mut env = RawEnv {
                name,
                files: Vec::new(),
                path_regex: None,
                members: Vec::new(),
                vault_transit: Vec::new(),
                kms: Vec::new(),
                pgp: Vec::new(),
                rules: RawRules::default(),
                production: None,
                key_groups: Vec::new(),
                shamir_threshold: None,
                unsupported: Vec::new(),
            };
            let mut keys: Vec<Spanned<String>> = Vec::new();
            // Several key groups: each group with its age keys (named as members below).
            let mut groups: Vec<(RawGroup, Vec<Spanned<String>>)> = Vec::new();
            let mut rule_kms: Vec<Spanned<String>> = Vec::new();
            let mut rule_profile: Option<String> = None;
            for (k, v) in raw::map(rule, "a creation rule")? {
                match k.value.as_str() {
                    "path_regex" => env.path_regex = Some(raw::string(v, "path_regex")?),
                    "age" => keys.extend(age_keys(v)?),
                    "hc_vault_transit_uri" => env.vault_transit.extend(uris(v)?),
                    // ARNs, comma-separated; the rule's aws_profile applies to them.
                    "kms" => rule_kms.extend(split_list(v, "kms")?),
                    // Fingerprints, comma-separated.
                    "pgp" => env.pgp.extend(split_list(v, "pgp")?),
                    "aws_profile" => {
                        rule_profile =
                            Some(raw::string(v, "aws_profile")?.value).filter(|p| !p.is_empty())
                    }
                    "key_groups" => {
                        let Value::List(list) = &v.value else {
                            return Err(RawError::new(v.line, "key_groups must be a list"));
                        };
                        for g in list {
                            groups.push(key_group(g, &mut env.unsupported)?);
                        }
                    }
                    "shamir_threshold" => {
                        env.shamir_threshold = Some(raw::string(v, "shamir_threshold")?)
                    }
                    k if UNSUPPORTED.contains(&k) => env.unsupported.push(Spanned {
                        line: v.line,
                        value: k.to_string(),
                    }),
                    other => {
                        env.rules.take(other, v)?;
                    }
                }
            }
            // With key_groups, sops uses only them: the rule's own keys are ignored.
            if groups.is_empty() {
                env.kms.extend(rule_kms.into_iter().map(|k| Spanned {
                    line: k.line,
                    value: raw::RawKms {
                        key: k.value,
                        context: Vec::new(),
                        aws_profile: rule_profile.clone(),
                    },
                }));
            } else {
                keys.clear();
                env.vault_transit.clear();
                env.pgp.clear();
            }
            // A rule without path_regex matches every file.
            if env.path_regex.is_none() {
                env.path_regex = Some(Spanned {
                    line: rule.line,
                    value: String::new(),
                });
            }
            // A group of key types we cannot use is named in `unsupported` (creating a
            // file from the rule is refused); dropped here so the rest of the file loads.
            let before = groups.len();
            groups.retain(|(g, age)| {
                !age.is_empty()
                    || !g.vault_transit.is_empty()
                    || !g.kms.is_empty()
                    || !g.pgp.is_empty()
            });
            let dropped = groups.len() < before;
            // sops ignores a threshold without several groups; one above the groups left
            // (a GCP group dropped, whose rule cannot make files here anyway) is "all".
            let above = |t: &Spanned<String>| {
                t.value
                    .trim()
                    .parse::<usize>()
                    .is_ok_and(|v| v > groups.len())
            };
            if groups.len() <= 1 || (dropped && env.shamir_threshold.as_ref().is_some_and(above)) {
                env.shamir_threshold = None;
            }
            // One group is the flat layout, as sops writes it.
            if groups.len() == 1 {
                let (g, age) = groups.pop().expect("one group");
                keys.extend(age);
                env.vault_transit.extend(g.vault_transit);
                env.kms.extend(g.kms);
                env.pgp.extend(g.pgp);
            }
            for (mut g, age) in groups {
                add_members(&mut cfg, &mut key_names, &mut g.members, age);
                env.key_groups.push(g);
            }
            add_members(&mut cfg, &mut key_names, &mut env.members, keys);
            cfg.environments.push(env);
        }
    }
    Ok(cfg)
}

/// Adds to `members` the member standing for each age key in `keys`, once each.
fn add_members(
    cfg: &mut RawConfig,
    key_names: &mut std::collections::HashMap<String, String>,
    members: &mut Vec<Spanned<String>>,
    keys: Vec<Spanned<String>>,
) {
    for k in keys {
        let member = member_for(cfg, key_names, &k);
        if !members.iter().any(|m| m.value == member) {
            members.push(Spanned {
                line: k.line,
                value: member,
            });
        }
    }
}

/// The member `sops-N` standing for an age key, added to `cfg` the first time it is seen.
fn member_for(
    cfg: &mut RawConfig,
    key_names: &mut std::collections::HashMap<String, String>,
    k: &Spanned<String>,
) -> String {
    if let Some(name) = key_names.get(&k.value) {
        return name.clone();
    }
    let name = format!("sops-{}", key_names.len() + 1);
    key_names.insert(k.value.clone(), name.clone());
    cfg.members.push(RawMember {
        name: Spanned {
            line: k.line,
            value: name.clone(),
        },
        keys: vec![k.clone()],
    });
    name
}

/// One entry of a rule's `key_groups`: its key-service keys, and its age keys apart (they
/// become members).
fn key_group(
    g: &Spanned<Value>,
    unsupported: &mut Vec<Spanned<String>>,
) -> Result<(RawGroup, Vec<Spanned<String>>), RawError> {
    let mut group = RawGroup {
        line: g.line,
        ..RawGroup::default()
    };
    let mut age = Vec::new();
    for (gk, gv) in raw::map(g, "a key group")? {
        match gk.value.as_str() {
            "age" => age.extend(age_keys(gv)?),
            "hc_vault" => group.vault_transit.extend(uris(gv)?),
            "kms" => group.kms.extend(raw::kms_entries(gv)?),
            "pgp" => group.pgp.extend(raw::strings(gv, "pgp")?),
            k if UNSUPPORTED.contains(&k) => unsupported.push(Spanned {
                line: gv.line,
                value: k.to_string(),
            }),
            // sops 3.11: groups whose keys join this one.
            "merge" => {
                let Value::List(list) = &gv.value else {
                    return Err(RawError::new(gv.line, "a key group's merge must be a list"));
                };
                for m in list {
                    let (more, more_age) = key_group(m, unsupported)?;
                    group.vault_transit.extend(more.vault_transit);
                    group.kms.extend(more.kms);
                    group.pgp.extend(more.pgp);
                    age.extend(more_age);
                }
            }
            _ => {}
        }
    }
    Ok((group, age))
}

/// `age: "age1…,age1…"` or `age: [age1…, …]` (sops accepts both).
fn age_keys(v: &Spanned<Value>) -> Result<Vec<Spanned<String>>, RawError> {
    split_list(v, "age")
}

/// `hc_vault_transit_uri: "URL,URL"` (a key group's `hc_vault:` is a list of URLs).
fn uris(v: &Spanned<Value>) -> Result<Vec<Spanned<String>>, RawError> {
    split_list(v, "hc_vault_transit_uri")
}

/// A comma-separated string, or a list of them.
fn split_list(v: &Spanned<Value>, what: &str) -> Result<Vec<Spanned<String>>, RawError> {
    let mut out = Vec::new();
    for s in raw::strings(v, what)? {
        for part in s.value.split([',', '\n']) {
            let part = part.trim();
            if !part.is_empty() {
                out.push(Spanned {
                    line: s.line,
                    value: part.to_string(),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_creation_rules() {
        let a = age::x25519::Identity::generate().to_public().to_string();
        let b = age::x25519::Identity::generate().to_public().to_string();
        let text = format!(
            "creation_rules:\n  - path_regex: prod/.*\\.yaml$\n    age: {a},{b}\n    encrypted_regex: ^(data|password)$\n  - key_groups:\n      - age:\n          - {a}\n"
        );
        let raw = to_raw(&text).unwrap();
        assert_eq!(raw.members.len(), 2);
        assert_eq!(raw.environments.len(), 2);
        assert_eq!(raw.environments[1].members.len(), 1);
        assert!(raw.environments[0].rules.encrypted_regex.is_some());
        let cfg = super::super::Config::validate(
            std::path::Path::new("/r/.sops.yaml"),
            raw,
            super::super::Source::Sops,
        )
        .unwrap();
        assert_eq!(cfg.environment_for("prod/db.yaml".as_ref()), Some("rule-1"));
        assert_eq!(cfg.environment_for("dev/db.yaml".as_ref()), Some("rule-2"));
    }

    #[test]
    fn several_key_groups_become_the_environments_groups_with_the_threshold() {
        let [a, b, c] = [(); 3].map(|_| age::x25519::Identity::generate().to_public().to_string());
        let text = format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [{a}]\n      - age: [{b}, {a}]\n        hc_vault: [https://v:8200/v1/transit/keys/p]\n      - age: [{c}]\n"
        );
        let raw = to_raw(&text).unwrap();
        assert_eq!(
            raw.members.len(),
            3,
            "each key one member, however often named"
        );
        let env = &raw.environments[0];
        assert!(env.members.is_empty() && env.vault_transit.is_empty());
        assert_eq!(env.key_groups.len(), 3);
        assert_eq!(env.key_groups[1].members.len(), 2);
        assert_eq!(env.key_groups[1].vault_transit.len(), 1);
        let cfg = super::super::Config::validate(
            std::path::Path::new("/r/.sops.yaml"),
            raw,
            super::super::Source::Sops,
        )
        .unwrap();
        let env = cfg.environment("rule-1").unwrap();
        let keys = cfg.env_keys(env);
        let shamir = keys.shamir.expect("key groups");
        assert_eq!((shamir.groups.len(), shamir.threshold), (3, 2));
        assert_eq!(env.members.len(), 3, "every group's members hold a share");
        assert_eq!(env.services.hc_vault.len(), 1);
    }

    #[test]
    fn reads_vault_transit_keys() {
        let a = age::x25519::Identity::generate().to_public().to_string();
        let text = format!(
            "creation_rules:\n  - path_regex: prod/\n    hc_vault_transit_uri: \"https://v:8200/v1/transit/keys/p,https://v:8200/v1/t2/keys/q\"\n  - key_groups:\n      - age: [{a}]\n        hc_vault:\n          - https://v:8200/v1/transit/keys/d\n"
        );
        let raw = to_raw(&text).unwrap();
        let urls = |i: usize| -> Vec<String> {
            raw.environments[i]
                .vault_transit
                .iter()
                .map(|u| u.value.clone())
                .collect()
        };
        assert_eq!(
            urls(0),
            [
                "https://v:8200/v1/transit/keys/p",
                "https://v:8200/v1/t2/keys/q"
            ]
        );
        assert_eq!(urls(1), ["https://v:8200/v1/transit/keys/d"]);
        let cfg = super::super::Config::validate(
            std::path::Path::new("/r/.sops.yaml"),
            raw,
            super::super::Source::Sops,
        )
        .unwrap();
        let prod = cfg.environment("rule-1").unwrap();
        assert!(prod.members.is_empty());
        assert_eq!(prod.services.hc_vault[1].engine_path, "t2");
    }

    #[test]
    fn reads_kms_keys() {
        let k1 = "arn:aws:kms:eu-west-1:111122223333:key/a";
        let k2 = "arn:aws:kms:us-east-1:111122223333:alias/b";
        let role = "arn:aws:iam::111122223333:role/r";
        let text = format!(
            "creation_rules:\n  - path_regex: prod/\n    kms: \"{k1}, {k2}+{role}\"\n  - key_groups:\n      - kms:\n          - arn: {k1}\n            role: {role}\n"
        );
        let raw = to_raw(&text).unwrap();
        let cfg = super::super::Config::validate(
            std::path::Path::new("/r/.sops.yaml"),
            raw,
            super::super::Source::Sops,
        )
        .unwrap();
        let kms = &cfg.environment("rule-1").unwrap().services.kms;
        assert_eq!(kms.len(), 2);
        assert_eq!((kms[0].arn.as_str(), kms[0].role.as_deref()), (k1, None));
        assert_eq!(
            (kms[1].arn.as_str(), kms[1].role.as_deref()),
            (k2, Some(role))
        );
        let kms = &cfg.environment("rule-2").unwrap().services.kms;
        assert_eq!(
            (kms[0].arn.as_str(), kms[0].role.as_deref()),
            (k1, Some(role))
        );
        // A key group's context and aws_profile, and a rule's aws_profile, are kept.
        let text = format!(
            "creation_rules:\n  - path_regex: a/\n    aws_profile: ci\n    kms: {k1}\n  - key_groups:\n      - kms:\n          - arn: {k1}\n            context: {{app: web}}\n            aws_profile: dev\n"
        );
        let raw = to_raw(&text).unwrap();
        let cfg = super::super::Config::validate(
            std::path::Path::new("/r/.sops.yaml"),
            raw,
            super::super::Source::Sops,
        )
        .unwrap();
        let a = &cfg.environment("rule-1").unwrap().services.kms[0];
        assert_eq!(a.aws_profile.as_deref(), Some("ci"));
        let b = &cfg.environment("rule-2").unwrap().services.kms[0];
        assert_eq!(b.aws_profile.as_deref(), Some("dev"));
        assert_eq!(b.context.get("app").map(String::as_str), Some("web"));
        let bad = format!(
            "creation_rules:\n  - key_groups:\n      - kms:\n          - arn: {k1}\n            grant: x\n"
        );
        assert!(to_raw(&bad).unwrap_err().message.contains("grant"));
    }
}
