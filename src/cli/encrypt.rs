//! `secrets encrypt [-i] FILE… [--age R,…] [--hc-vault-transit URL,…] [--kms ARN,…] [--pgp FP,…]`: encrypt plaintext
//! files sops-style. A file
//! written that git ignores is warned about, with the rule and the exception that undoes it.
//! `-` encrypts stdin (with `--input-type`) to stdout or `-o`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::exit::{CliError, ALREADY_ENCRYPTED, CONFLICT, NO_RECIPIENTS};
use super::{output, Global};
use crate::engine::{self, EncryptedFile};
use crate::keys::{recipient, KmsKey, MasterKeys, PgpKey, ServiceKeys, Services, TransitKey};
use crate::metadata::Rules;
use crate::store::Format;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files to encrypt (`-`: stdin, with --input-type).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Encrypt in place (required for several files).
    #[arg(short = 'i', long)]
    in_place: bool,
    /// Write the encrypted file here instead of stdout.
    #[arg(short, long, value_name = "OUT", conflicts_with = "in_place")]
    output: Option<PathBuf>,
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub itype: super::InputTypeArg,
    #[command(flatten)]
    pub otype: super::OutputTypeArg,
}

// Who a new file is encrypted for, and which values stay in clear.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Target {
    /// Age or ssh recipients, comma-separated (default: $SOPS_AGE_RECIPIENTS, then the config).
    #[arg(long, value_name = "R,…")]
    pub age: Option<String>,
    /// HashiCorp Vault / OpenBao transit keys, comma-separated, as sops takes them:
    /// $VAULT_ADDR/v1/ENGINE/keys/KEY (the token: $VAULT_TOKEN or ~/.vault-token).
    #[arg(long, value_name = "URL,…")]
    pub hc_vault_transit: Option<String>,
    /// AWS KMS keys (repeatable, or comma-separated), as sops takes them: ARN, or
    /// ARN+ROLE_ARN to assume the role first (credentials: the AWS chain; see
    /// docs/aws-kms.md). Default: $SOPS_KMS_ARN.
    #[arg(long, value_name = "ARN")]
    pub kms: Vec<String>,
    /// The encryption context of the --kms keys, as sops takes it: KEY:VALUE,…
    #[arg(long, value_name = "K:V,…")]
    pub encryption_context: Option<String>,
    /// The shared-files profile the --kms keys are used with (written in the file, as
    /// sops writes it).
    #[arg(long, value_name = "PROFILE")]
    pub aws_profile: Option<String>,
    /// PGP keys by fingerprint (repeatable, or comma-separated), as sops takes them; the
    /// data key is encrypted by the user's gpg (see docs/keyservices.md). Default:
    /// $SOPS_PGP_FP.
    #[arg(long, value_name = "FINGERPRINT")]
    pub pgp: Vec<String>,
    /// Leave values whose key ends with this suffix in clear (sops default: _unencrypted).
    #[arg(long, value_name = "SUFFIX")]
    pub unencrypted_suffix: Option<String>,
    /// Encrypt only values whose key ends with this suffix.
    #[arg(long, value_name = "SUFFIX")]
    pub encrypted_suffix: Option<String>,
    /// Leave values whose key matches this regex in clear.
    #[arg(long, value_name = "REGEX")]
    pub unencrypted_regex: Option<String>,
    /// Encrypt only values whose key matches this regex.
    #[arg(long, value_name = "REGEX")]
    pub encrypted_regex: Option<String>,
    /// Leave values after a comment matching this regex in clear.
    #[arg(long, value_name = "REGEX")]
    pub unencrypted_comment_regex: Option<String>,
    /// Encrypt only values after a comment matching this regex.
    #[arg(long, value_name = "REGEX")]
    pub encrypted_comment_regex: Option<String>,
    /// Compute the MAC over encrypted values only.
    #[arg(long)]
    pub mac_only_encrypted: bool,
}

impl Target {
    /// The rules as sops settles them: each flag given wins over the creation rule's
    /// setting of the same name, `--mac-only-encrypted` or the rule's turns it on, at most
    /// one of the six selection rules in all, and with none, the default
    /// `_unencrypted` suffix (also beside `mac_only_encrypted` alone).
    fn settled_rules(&self, config: Option<&Rules>) -> anyhow::Result<Rules> {
        let none = Rules::default();
        let config = config.unwrap_or(&none);
        let pick = |flag: &Option<String>, rule: &Option<String>| {
            flag.clone()
                .filter(|s| !s.is_empty())
                .or_else(|| rule.clone().filter(|s| !s.is_empty()))
        };
        let mut rules = Rules {
            unencrypted_suffix: pick(&self.unencrypted_suffix, &config.unencrypted_suffix),
            encrypted_suffix: pick(&self.encrypted_suffix, &config.encrypted_suffix),
            unencrypted_regex: pick(&self.unencrypted_regex, &config.unencrypted_regex),
            encrypted_regex: pick(&self.encrypted_regex, &config.encrypted_regex),
            unencrypted_comment_regex: pick(
                &self.unencrypted_comment_regex,
                &config.unencrypted_comment_regex,
            ),
            encrypted_comment_regex: pick(
                &self.encrypted_comment_regex,
                &config.encrypted_comment_regex,
            ),
            mac_only_encrypted: self.mac_only_encrypted || config.mac_only_encrypted,
        };
        let selections = [
            &rules.unencrypted_suffix,
            &rules.encrypted_suffix,
            &rules.unencrypted_regex,
            &rules.encrypted_regex,
            &rules.unencrypted_comment_regex,
            &rules.encrypted_comment_regex,
        ]
        .iter()
        .filter(|r| r.is_some())
        .count();
        if selections > 1 {
            return Err(CliError::new(
                CONFLICT,
                "the flags and the creation rule together give more than one of the suffix, regex and comment-regex rules; a file takes one",
            )
            .into());
        }
        if selections == 0 {
            rules.unencrypted_suffix = Some("_unencrypted".into());
        }
        Ok(rules)
    }

    /// Master keys and rules for `path`: the key flags (`--age`, `--hc-vault-transit`,
    /// `--kms` or `$SOPS_KMS_ARN`, `--pgp` or `$SOPS_PGP_FP`), else `$SOPS_AGE_RECIPIENTS`, else the config (its environment's members
    /// and key-service keys, or the `.sops.yaml` creation rule).
    pub fn resolve(&self, path: &Path) -> anyhow::Result<(MasterKeys, Rules)> {
        let set = [
            &self.unencrypted_suffix,
            &self.encrypted_suffix,
            &self.unencrypted_regex,
            &self.encrypted_regex,
        ]
        .iter()
        .filter(|o| o.is_some())
        .count();
        if set > 1 {
            return Err(CliError::new(CONFLICT, "use only one of --unencrypted-suffix, --encrypted-suffix, --unencrypted-regex, --encrypted-regex").into());
        }
        let from_config = crate::config::creation_rule_for(path)?;
        // $SOPS_KMS_ARN stands for --kms, as sops reads it.
        let kms = match std::env::var("SOPS_KMS_ARN") {
            Ok(v) if self.kms.is_empty() && !v.trim().is_empty() => vec![v],
            _ => self.kms.clone(),
        };
        if kms.is_empty() && (self.encryption_context.is_some() || self.aws_profile.is_some()) {
            return Err(CliError::new(
                CONFLICT,
                "--encryption-context and --aws-profile apply to --kms keys: pass --kms ARN (or set $SOPS_KMS_ARN)",
            )
            .into());
        }
        // $SOPS_PGP_FP stands for --pgp, as sops reads it.
        let pgp = match std::env::var("SOPS_PGP_FP") {
            Ok(v) if self.pgp.is_empty() && !v.trim().is_empty() => vec![v],
            _ => self.pgp.clone(),
        };
        let keys = if self.age.is_some()
            || self.hc_vault_transit.is_some()
            || !kms.is_empty()
            || !pgp.is_empty()
        {
            MasterKeys {
                age: match &self.age {
                    Some(list) => recipient::parse_list(list)?,
                    None => Vec::new(),
                },
                services: ServiceKeys {
                    hc_vault: match &self.hc_vault_transit {
                        Some(list) => transit_keys(list)?,
                        None => Vec::new(),
                    },
                    kms: self.kms_keys(&kms)?,
                    pgp: pgp
                        .iter()
                        .map(|list| {
                            parse_keys(
                                list,
                                PgpKey::parse,
                                "--pgp FINGERPRINT (gpg --list-keys --with-colons shows it)",
                            )
                        })
                        .collect::<anyhow::Result<Vec<_>>>()?
                        .concat(),
                },
                shamir: None,
            }
        } else if let Some(list) = std::env::var("SOPS_AGE_RECIPIENTS")
            .ok()
            .filter(|s| !s.trim().is_empty())
        {
            MasterKeys::age(&recipient::parse_list(&list)?)
        } else if let Some(rule) = &from_config {
            rule.keys.clone()
        } else {
            MasterKeys::default()
        };
        if keys.is_empty() {
            return Err(CliError::new(NO_RECIPIENTS, format!("{}: no recipients to encrypt for", path.display()))
                .hint("pass --age age1…, or add the file to an environment: secrets env add ENV --files GLOB")
                .into());
        }
        let rules = self.settled_rules(from_config.as_ref().map(|r| &r.rules))?;
        Ok((keys, rules))
    }

    /// `--kms ARN[+ROLE]` (each may be a comma-separated list, as sops takes it) with
    /// `--encryption-context` and `--aws-profile` applied to each.
    fn kms_keys(&self, lists: &[String]) -> anyhow::Result<Vec<KmsKey>> {
        let context = match &self.encryption_context {
            Some(text) => encryption_context(text)?,
            None => Default::default(),
        };
        let mut keys = Vec::new();
        for list in lists {
            for mut k in parse_keys(
                list,
                KmsKey::parse,
                "--kms arn:aws:kms:REGION:ACCOUNT:key/ID",
            )? {
                k.context = context.clone();
                k.aws_profile = self.aws_profile.clone().filter(|p| !p.is_empty());
                keys.push(k);
            }
        }
        Ok(keys)
    }
}

/// `--encryption-context KEY:VALUE,…` as sops reads it (the first `:` splits a pair); `env
/// add` reads its flag with it too.
pub(super) fn encryption_context(
    text: &str,
) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    text.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| match pair.split_once(':') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => Err(CliError::new(
                NO_RECIPIENTS,
                format!("--encryption-context: {pair:?} is not KEY:VALUE"),
            )
            .into()),
        })
        .collect()
}

/// `--hc-vault-transit URL,…` (empty parts skipped, as sops skips them).
fn transit_keys(list: &str) -> anyhow::Result<Vec<TransitKey>> {
    parse_keys(
        list,
        TransitKey::parse,
        "--hc-vault-transit https://vault.example:8200/v1/transit/keys/NAME",
    )
}

/// The parts of comma-separated lists, trimmed (empty parts skipped, as sops skips them).
pub(super) fn comma_separated(lists: &[String]) -> Vec<String> {
    lists
        .iter()
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string)
        .collect()
}

/// A comma-separated list of key-service keys.
fn parse_keys<K, E: std::fmt::Display>(
    list: &str,
    parse: impl Fn(&str) -> Result<K, E>,
    hint: &'static str,
) -> anyhow::Result<Vec<K>> {
    comma_separated(&[list.to_string()])
        .iter()
        .map(|u| {
            parse(u).map_err(|e| {
                CliError::new(NO_RECIPIENTS, e.to_string())
                    .hint(hint)
                    .into()
            })
        })
        .collect()
}

/// Every file is parsed and encrypted in memory first; nothing is written unless all of
/// them succeed, so a bad file in a list leaves every file as it was. With `-i`, every
/// file's lock is taken first (in one order, see [`crate::fsutil::lock::acquire_all`]) and
/// held until all are written; a file named twice is encrypted once. A symbolic link is
/// written through: its target is encrypted, the link stays.
pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    if args.files.len() > 1 && !args.in_place {
        return Err(CliError::new(CONFLICT, "several files need -i (encrypt in place)").into());
    }
    if args.in_place && args.files.iter().any(|f| output::is_stdin(f)) {
        return Err(CliError::new(CONFLICT, "-i cannot replace stdin (-)").into());
    }
    // The config's lock first (the order every command takes them in), held until the
    // files are written: an `env revoke` or `member remove` holds it to its end, so a file
    // is not encrypted by the config as it was for a member being taken out meanwhile
    // (the revocation, having listed its files before this one existed, would miss it).
    // (A config named as a file to encrypt is locked as one: not twice.)
    let same = |a: &Path, b: &Path| {
        std::fs::canonicalize(a)
            .ok()
            .is_some_and(|a| std::fs::canonicalize(b).ok() == Some(a))
    };
    let configs: Vec<PathBuf> = if args.in_place {
        args.files
            .iter()
            .filter_map(|f| crate::config::find_config(f))
            .filter(|c| !args.files.iter().any(|f| same(f, c)))
            .collect()
    } else {
        Vec::new()
    };
    let configs: Vec<&Path> = configs.iter().map(PathBuf::as_path).collect();
    let _config_locks = crate::fsutil::lock::acquire_all(&configs)?;
    let locks = if args.in_place {
        let paths: Vec<&Path> = args.files.iter().map(PathBuf::as_path).collect();
        crate::fsutil::lock::acquire_all(&paths)?
    } else {
        Vec::new()
    };
    let mut ready = Vec::with_capacity(args.files.len());
    for (i, path) in args.files.iter().enumerate() {
        let (bytes, lock) = match locks.get(i) {
            None if output::is_stdin(path) => {
                let max = crate::store::limits::MAX_PLAIN_SIZE;
                (output::read_stdin_file(g, max, "plaintext files")?.1, None)
            }
            None => (engine::read(path)?, None),
            // Named before: encrypted once.
            Some(None) => continue,
            Some(Some(lock)) => {
                let (bytes, seen) = engine::read_locked(lock)?;
                (bytes, Some((lock, seen)))
            }
        };
        let named = if output::is_stdin(path) {
            Path::new(output::STDIN_NAME)
        } else {
            path.as_path()
        };
        let (text, recipients) = encrypt_one(named, bytes, &args.target, g)?;
        ready.push((path, text, recipients, lock));
    }
    let mut written: Vec<PathBuf> = Vec::new();
    for (path, text, recipients, lock) in ready {
        if let Some((lock, seen)) = lock {
            written.push(path.clone());
            lock.replace(&seen, &text)
                .map_err(engine::FileError::from)?;
            output::note(
                g,
                format!(
                    "encrypted {} for {} recipient(s)",
                    path.display(),
                    recipients
                ),
            );
        } else {
            output::write_output(args.output.as_deref(), &text, false)?;
            written.extend(args.output.clone());
        }
    }
    // An encrypted file git ignores is one the team never gets.
    let here = std::env::current_dir()?;
    output::warn_ignored(g, &crate::workspace::ignored::ignored(&here, &written));
    Ok(ExitCode::SUCCESS)
}

/// Parses and encrypts one file's bytes in memory: the encrypted text and the number of
/// recipients.
fn encrypt_one(
    path: &Path,
    bytes: zeroize::Zeroizing<Vec<u8>>,
    target: &Target,
    g: &Global,
) -> anyhow::Result<(Vec<u8>, usize)> {
    let format = g.input_type.unwrap_or_else(|| Format::from_path(path));
    let out_format = g.output_type.unwrap_or(format);
    let (plain, layout) = match engine::parse_for_encryption(path, format, &bytes) {
        Err(engine::FileError::AlreadyEncrypted { .. }) => {
            return Err(CliError::new(
                ALREADY_ENCRYPTED,
                format!("{}: already encrypted", path.display()),
            )
            .hint("use secrets edit FILE, or secrets updatekeys FILE to change recipients")
            .into())
        }
        parsed => parsed?,
    };
    drop(bytes);
    let (keys, rules) = target.resolve(path)?;
    let layout = if out_format == format {
        layout
    } else {
        crate::store::Layout::default_for(out_format)
    };
    // The key services are asked only when the file names a key of theirs.
    let services = Services::from_env();
    let file =
        EncryptedFile::create_for(path, out_format, layout, &plain, &keys, rules, &services)?;
    // The input and the plaintext tree are not needed once the output exists.
    drop(plain);
    Ok((file.to_bytes()?, keys.len()))
}
