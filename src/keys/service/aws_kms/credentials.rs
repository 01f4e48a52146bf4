//! AWS credentials, found the way the AWS SDKs (and so sops) find them, as far as they
//! can be found without a network: a profile named by the key's `aws_profile` (it wins,
//! as a profile set in code does in the Go SDK), else `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, else the profile `AWS_PROFILE` (or
//! `default`) from `~/.aws/credentials` and `~/.aws/config` (`AWS_SHARED_CREDENTIALS_FILE`,
//! `AWS_CONFIG_FILE`), else the machine's: a container endpoint or the EC2 instance role
//! (`instance.rs`). A profile that gets its keys some other way (SSO, a role, a
//! `credential_process`, web identity) is refused with the way around it (docs/aws-kms.md).
//!
//! The secret key and session token are `SecretString`s: no `Debug`, error or log shows
//! them; errors name the source ("profile ci in /home/u/.aws/credentials") only.

use std::collections::BTreeMap;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::AwsEnv;

/// One set of AWS credentials and where it came from.
pub struct Credentials {
    access_key_id: String,
    secret_key: SecretString,
    session_token: Option<SecretString>,
    /// Where they came from, for errors: `environment`, `profile ci in …`, `role …`.
    pub source: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    pub fn new(id: &str, secret: &str, token: Option<&str>, source: &str) -> Credentials {
        Credentials {
            access_key_id: id.to_string(),
            secret_key: SecretString::from(secret.to_string()),
            session_token: token.map(|t| SecretString::from(t.to_string())),
            source: source.to_string(),
        }
    }

    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    pub fn secret_key(&self) -> &str {
        self.secret_key.expose_secret()
    }

    pub fn session_token(&self) -> Option<&str> {
        self.session_token.as_ref().map(|t| t.expose_secret())
    }
}

/// The credentials for a key whose entry names `profile` (or none); requests to the
/// machine's credential endpoints take at most `timeout`.
pub fn resolve(
    env: &AwsEnv,
    profile: Option<&str>,
    timeout: std::time::Duration,
) -> Result<Credentials, String> {
    if let Some(p) = profile {
        return from_profile(env, p).map_err(|e| e.text);
    }
    if let (Some(id), Some(secret)) = (
        env.get("AWS_ACCESS_KEY_ID"),
        env.get("AWS_SECRET_ACCESS_KEY"),
    ) {
        return Ok(Credentials::new(
            id,
            secret,
            env.get("AWS_SESSION_TOKEN"),
            "environment (AWS_ACCESS_KEY_ID)",
        ));
    }
    let named = env.get("AWS_PROFILE");
    match from_profile(env, named.unwrap_or("default")) {
        Ok(c) => Ok(c),
        // A profile with no keys (or no [default]) leaves it to the machine, as in the SDKs.
        Err(e) if e.keyless && !(e.missing && named.is_some()) => {
            super::instance::resolve(env, timeout)?.ok_or_else(|| {
                format!(
                    "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or \
                     AWS_PROFILE or a [default] profile in {}; no container credentials \
                     endpoint is set and no EC2 instance role answered (SSO profiles are not \
                     read: export their keys with `aws configure export-credentials --format env`)",
                    env.credentials_file().display()
                )
            })
        }
        Err(e) => Err(e.text),
    }
}

/// Why a profile gave no credentials.
struct ProfileError {
    text: String,
    /// It has no static keys and names no other way to get them (or does not exist).
    keyless: bool,
    /// It does not exist.
    missing: bool,
}

impl From<String> for ProfileError {
    fn from(text: String) -> ProfileError {
        ProfileError {
            text,
            keyless: false,
            missing: false,
        }
    }
}

/// A shared file is a few lines; a larger one is not what we think it is.
const MAX_FILE: u64 = 1 << 20;

/// One `[section]` of a shared file: its settings, the secret ones wiped on drop.
type Section = BTreeMap<String, Zeroizing<String>>;

/// A profile's static keys, the credentials file's values over the config file's.
fn from_profile(env: &AwsEnv, name: &str) -> Result<Credentials, ProfileError> {
    let creds_file = env.credentials_file();
    let config_file = env.config_file();
    let mut merged = Section::new();
    let mut found = Vec::new();
    let config_section = if name == "default" {
        "default".to_string()
    } else {
        format!("profile {name}")
    };
    if let Some(section) = read_section(&config_file, &config_section)? {
        merged.extend(section);
        found.push(config_file.display().to_string());
    }
    if let Some(section) = read_section(&creds_file, name)? {
        merged.extend(section);
        found.push(creds_file.display().to_string());
    }
    if found.is_empty() {
        return Err(ProfileError {
            text: format!(
                "AWS profile {name:?} is in neither {} nor {}",
                creds_file.display(),
                config_file.display()
            ),
            keyless: true,
            missing: true,
        });
    }
    let source = format!("profile {name} in {}", found.join(" and "));
    match (
        merged.get("aws_access_key_id"),
        merged.get("aws_secret_access_key"),
    ) {
        (Some(id), Some(secret)) => Ok(Credentials::new(
            id,
            secret,
            merged.get("aws_session_token").map(|t| t.as_str()),
            &source,
        )),
        _ => {
            let other = [
                ("sso_session", "SSO"),
                ("sso_start_url", "SSO"),
                ("role_arn", "a role to assume (role_arn)"),
                ("credential_process", "credential_process"),
                ("web_identity_token_file", "web identity"),
                ("credential_source", "credential_source"),
            ]
            .into_iter()
            .find(|(k, _)| merged.contains_key(*k))
            .map(|(_, what)| what);
            Err(match other {
                Some(what) => format!(
                    "{source} uses {what}, which is not supported; export its keys instead \
                     (`aws configure export-credentials --profile {name} --format env`)"
                )
                .into(),
                None => ProfileError {
                    text: format!("{source} has no aws_access_key_id and aws_secret_access_key"),
                    keyless: true,
                    missing: false,
                },
            })
        }
    }
}

/// The `key = value` pairs of `[section]` in an AWS shared file; `None` when the file or
/// the section does not exist. Values are never put in an error.
fn read_section(path: &std::path::Path, section: &str) -> Result<Option<Section>, String> {
    let bytes = match crate::fsutil::read_regular_at_most(path, MAX_FILE) {
        Ok(Some(bytes)) => Zeroizing::new(bytes),
        Ok(None) => return Err(format!("{}: larger than {MAX_FILE} bytes", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| format!("{}: not UTF-8", path.display()))?;
    Ok(parse_section(text, section))
}

fn parse_section(text: &str, section: &str) -> Option<Section> {
    let mut out: Option<Section> = None;
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            // `[profile  dev]` and `[ dev ]` name the same profile.
            let name: Vec<&str> = name.split_whitespace().collect();
            inside = name.join(" ") == section;
            if inside {
                out.get_or_insert_with(BTreeMap::new);
            }
            continue;
        }
        if !inside {
            continue;
        }
        // Nested settings (`s3 =` followed by indented lines) are not ours; their
        // lines hold `=` too but keys we never read.
        if let Some((k, v)) = line.split_once('=') {
            if let Some(map) = out.as_mut() {
                map.insert(
                    k.trim().to_ascii_lowercase(),
                    Zeroizing::new(v.trim().to_string()),
                );
            }
        }
    }
    out
}

impl AwsEnv {
    fn home_file(&self, var: &str, rel: &str) -> PathBuf {
        match self.get(var) {
            Some(p) => PathBuf::from(p),
            None => PathBuf::from(self.get("HOME").unwrap_or("")).join(rel),
        }
    }

    pub fn credentials_file(&self) -> PathBuf {
        self.home_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials")
    }

    pub fn config_file(&self) -> PathBuf {
        self.home_file("AWS_CONFIG_FILE", ".aws/config")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections() {
        let text = "[default]\naws_access_key_id = A\n# c\n[profile  dev]\nAWS_Secret_Access_Key=S = x\n[dev]\n";
        assert_eq!(
            *parse_section(text, "default").unwrap()["aws_access_key_id"],
            "A"
        );
        assert_eq!(
            *parse_section(text, "profile dev").unwrap()["aws_secret_access_key"],
            "S = x"
        );
        assert!(parse_section(text, "dev").unwrap().is_empty());
        assert!(parse_section(text, "prod").is_none());
    }

    /// The SDKs' order: a profile the entry names beats the environment's keys, which
    /// beat `AWS_PROFILE`.
    #[test]
    fn order() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("credentials");
        std::fs::write(
            &creds,
            "[ci]\naws_access_key_id = CI\naws_secret_access_key = s\n",
        )
        .unwrap();
        let env = AwsEnv::from_vars([
            ("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap()),
            ("AWS_CONFIG_FILE", "/nonexistent"),
            ("AWS_PROFILE", "ci"),
            ("AWS_ACCESS_KEY_ID", "ENV"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ]);
        let t = std::time::Duration::from_secs(1);
        assert_eq!(resolve(&env, Some("ci"), t).unwrap().access_key_id(), "CI");
        assert_eq!(resolve(&env, None, t).unwrap().access_key_id(), "ENV");
        let env = AwsEnv::from_vars([
            ("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap()),
            ("AWS_CONFIG_FILE", "/nonexistent"),
            ("AWS_PROFILE", "ci"),
        ]);
        let c = resolve(&env, None, t).unwrap();
        assert_eq!(c.access_key_id(), "CI");
        assert!(c.source.starts_with("profile ci in "), "{}", c.source);
    }

    #[test]
    fn debug_shows_no_secret() {
        let c = Credentials::new("AKIAEXAMPLE", "s3cr3t", Some("t0ken"), "environment");
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t") && !shown.contains("t0ken") && !shown.contains("AKIA"));
    }
}
