//! `secrets init [--name NAME] [--from-sops]`: create `.secrets.yaml` at the repository
//! root (the current directory outside git) with you as its first member. If you have no
//! identity yet, one is created at `$XDG_CONFIG_HOME/secrets/keys.txt` (else
//! `~/.config/secrets/keys.txt`), mode 0600. `--from-sops` converts `.sops.yaml`: each
//! creation rule becomes an environment `rule-N` with its `path_regex` and rules, each age
//! key a member (`sops-N`, or NAME for your own key).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::exit::{CliError, OUTPUT};
use super::output::shown;
use super::{output, Global};
use crate::config::edit::ConfigDoc;
use crate::config::{self, ConfigError, FILE_NAME, SOPS_FILE_NAME};
use crate::model::{Node, Scalar, Sealed};
use secrecy::ExposeSecret;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Your member name (default: `git config user.name`, else $USER).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Convert an existing .sops.yaml (creation_rules with age keys) into .secrets.yaml.
    #[arg(long)]
    from_sops: bool,
    #[command(flatten)]
    pub ids: super::IdentityArg,
}

/// Where a new identity goes: `$XDG_CONFIG_HOME/secrets/keys.txt`, else
/// `~/.config/secrets/keys.txt` (the first place identity discovery looks after the
/// environment variables).
fn identity_path() -> Option<PathBuf> {
    let var = |n: &str| {
        std::env::var_os(n)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("XDG_CONFIG_HOME")
        .or_else(|| var("HOME").map(|h| h.join(".config")))
        .map(|c| c.join("secrets").join("keys.txt"))
}

/// Creates an age identity file (0600, in a 0700 directory); returns its public key.
fn create_identity(path: &Path) -> anyhow::Result<String> {
    let err = |e: std::io::Error| CliError::new(OUTPUT, format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        crate::fsutil::create_private_dirs(dir).map_err(err)?;
    }
    let id = age::x25519::Identity::generate();
    let public = id.to_public().to_string();
    let text = zeroize::Zeroizing::new(format!(
        "# created: {}\n# public key: {public}\n{}\n",
        crate::crypto::mac::now_rfc3339(),
        id.to_string().expose_secret()
    ));
    crate::fsutil::atomic_write_mode(path, text.as_bytes(), Some(0o600)).map_err(err)?;
    Ok(public)
}

/// A member name from free text (`Alice Smith` → `alice-smith`).
fn name_from(text: &str) -> Option<String> {
    let mut out = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-') {
            out.push(c.to_ascii_lowercase());
        } else if c.is_whitespace() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .trim_end_matches('-')
        .chars()
        .take(64)
        .collect::<String>();
    config::valid_name(&out).then_some(out)
}

/// `git config user.name` as seen from `cwd` (the repository's own setting wins over
/// the global one), else `$USER`.
fn default_name(cwd: &Path) -> String {
    crate::git::user_name(cwd)
        .as_deref()
        .and_then(name_from)
        .or_else(|| std::env::var("USER").ok().as_deref().and_then(name_from))
        .unwrap_or_else(|| "me".into())
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir()?;
    let root = config::git_root(&cwd).unwrap_or_else(|| cwd.clone());
    let name = match &args.name {
        Some(n) if config::valid_name(n) => n.clone(),
        Some(n) => {
            return Err(CliError::new(
                super::exit::CONFLICT,
                format!("invalid member name {n:?} (use letters, digits, '.', '_', '@', '-')"),
            )
            .into())
        }
        None => default_name(&cwd),
    };
    let sops_path = [cwd.join(SOPS_FILE_NAME), root.join(SOPS_FILE_NAME)]
        .into_iter()
        .find(|p| p.is_file());
    // A converted config sits next to the .sops.yaml: its path_regex are relative to it.
    let dir = match (&sops_path, args.from_sops) {
        (Some(p), true) => p.parent().map(Path::to_path_buf).unwrap_or(root.clone()),
        (None, true) => {
            return Err(ConfigError::NotFound { start: cwd }.into());
        }
        _ => root.clone(),
    };
    let target = dir.join(FILE_NAME);
    if target.exists() {
        return Err(
            ConfigError::command(&target, "already exists (see secrets member list)").into(),
        );
    }

    // An empty .secrets.yaml would shadow the sops rules: every file would fall in no
    // environment and updatekeys would fail them all. Refuse before writing anything.
    if let (Some(sops), false) = (&sops_path, args.from_sops) {
        return Err(CliError::new(
            super::exit::CONFIG,
            format!(
                "{}: init without --from-sops would hide these creation rules behind an empty {FILE_NAME}",
                shown(sops).display()
            ),
        )
        .hint("convert it: secrets init --from-sops (or move .sops.yaml away to start from scratch)")
        .into());
    }

    let ids = output::identities(g)?;
    // (a passphrase-protected ssh key would ask for its passphrase at every command)
    let public = match ids.ready_public_keys().into_iter().next() {
        Some(k) => k,
        None => {
            let path = identity_path().ok_or_else(|| {
                CliError::new(
                    OUTPUT,
                    "cannot tell where to create your identity: set $HOME or $XDG_CONFIG_HOME",
                )
            })?;
            let k = create_identity(&path)?;
            output::note(
                g,
                format!(
                    "created your identity {} (keep it private; back it up)",
                    path.display()
                ),
            );
            k
        }
    };

    let mut doc = ConfigDoc::new(&dir);
    if let (Some(sops), true) = (&sops_path, args.from_sops) {
        convert(&mut doc, sops, &name, &public, g)?;
    } else {
        doc.add_member(&name, &public)?;
    }
    // A config created meanwhile by another init is not overwritten.
    doc.save(&crate::fsutil::lock::Lock::acquire(&target)?)?;
    output::note(
        g,
        format!(
            "created {} with member {name} ({})",
            shown(&target).display(),
            config::abbreviate(&public)
        ),
    );
    if !args.from_sops {
        output::note(
            g,
            format!("next: secrets env add dev --files 'config/dev/**' --member {name}"),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Fills `doc` from `.sops.yaml`: members for its age keys (yours named `name`), an
/// environment per creation rule.
/// No group, for a rule whose only trouble is a key type we cannot write.
static NONE: config::raw::RawGroup = config::raw::RawGroup {
    line: 0,
    members: Vec::new(),
    vault_transit: Vec::new(),
    kms: Vec::new(),
    pgp: Vec::new(),
};

fn convert(
    doc: &mut ConfigDoc,
    sops: &Path,
    name: &str,
    public: &str,
    g: &Global,
) -> anyhow::Result<()> {
    let text = config::read_text(sops)?;
    let raw =
        config::sops::to_raw(&text).map_err(|e| ConfigError::invalid(sops, e.line, e.message))?;
    // Validate as sops would be read, so errors name lines of .sops.yaml.
    config::Config::load(sops)?;
    let str_leaf = |s: &str| Node::Leaf(Sealed(Scalar::Str(s.to_string())));
    let mut renamed: Vec<(String, String)> = Vec::new();
    let mut own_found = false;
    for m in &raw.members {
        let key = &m.keys[0].value;
        let normalized = key
            .parse::<crate::keys::Recipient>()
            .map(|r| r.to_string())
            .unwrap_or_else(|_| key.clone());
        let new_name = if normalized == public {
            own_found = true;
            name.to_string()
        } else {
            m.name.value.clone()
        };
        doc.add_member(&new_name, &normalized)?;
        renamed.push((m.name.value.clone(), new_name));
    }
    if !own_found {
        doc.add_member(name, public)?;
        output::note(
            g,
            format!("your key is in no creation rule of .sops.yaml: added you as member {name} without access (secrets env grant ENV {name})"),
        );
    }
    for env in &raw.environments {
        if let Some(g) = env
            .key_groups
            .first()
            .or(env.unsupported.first().map(|_| &NONE))
        {
            let line = if g.line > 0 { g.line } else { env.name.line };
            return Err(ConfigError::invalid(sops, line, format!("{}: key groups and GCP/Azure keys are not written into .secrets.yaml by init --from-sops: keep .sops.yaml (secrets reads it as it is), or write key_groups in .secrets.yaml by hand (docs/keyservices.md#key-groups)", env.name.value)).into());
        }
        let members: Vec<String> = env
            .members
            .iter()
            .filter_map(|m| {
                renamed
                    .iter()
                    .find(|(old, _)| *old == m.value)
                    .map(|(_, n)| n.clone())
            })
            .collect();
        let env_name = &env.name.value;
        doc.add_env(env_name, &[], &members)?;
        let regex = env
            .path_regex
            .as_ref()
            .map(|r| r.value.clone())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| ".*".into());
        doc.set_env_field(env_name, "path_regex", str_leaf(&regex))?;
        let vault: Vec<String> = env.vault_transit.iter().map(|u| u.value.clone()).collect();
        doc.set_service_keys(env_name, "vault_transit", &vault)?;
        let kms: Vec<_> = env.kms.iter().map(|u| u.value.clone()).collect();
        doc.set_kms(env_name, &kms)?;
        let pgp: Vec<String> = env.pgp.iter().map(|u| u.value.clone()).collect();
        doc.set_service_keys(env_name, "pgp", &pgp)?;
        let r = &env.rules;
        for (field, value) in [
            ("unencrypted_suffix", &r.unencrypted_suffix),
            ("encrypted_suffix", &r.encrypted_suffix),
            ("unencrypted_regex", &r.unencrypted_regex),
            ("encrypted_regex", &r.encrypted_regex),
            ("unencrypted_comment_regex", &r.unencrypted_comment_regex),
            ("encrypted_comment_regex", &r.encrypted_comment_regex),
        ] {
            if let Some(v) = value {
                doc.set_env_field(env_name, field, str_leaf(&v.value))?;
            }
        }
        if r.mac_only_encrypted.as_ref().is_some_and(|b| b.value) {
            doc.set_env_field(
                env_name,
                "mac_only_encrypted",
                Node::Leaf(Sealed(Scalar::Bool(true))),
            )?;
        }
    }
    output::note(
        g,
        format!(
            "converted {} creation rule(s) from {} (environments rule-1…; rename members with care: names are only labels)",
            raw.environments.len(),
            shown(sops).display()
        ),
    );
    Ok(())
}
