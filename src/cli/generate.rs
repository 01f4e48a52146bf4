//! `secrets generate FILE KEYPATH [--format F] [--length N] [--words N] [--print]
//! [--if-missing]`, and `secrets set FILE KEYPATH --generate …`: a random value
//! ([`crate::policy::generate`]) written encrypted through `set`'s read-modify-write
//! ([`super::set::write_value`]). The format defaults to the key's `generate:` rule in the
//! schema of the file's environment, else a password; the value meets the rule's
//! `min_length`, `pattern` and `forbid`. It is never shown, unless `--print` writes it to
//! stdout, once, after the file is saved.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::exit::{CliError, CONFLICT, INVALID_SET};
use super::set::{self, Written};
use super::{output, Global};
use crate::config::schema::{GenFormat, KeyRule};
use crate::config::Config;
use crate::model::{KeyPath, Node, PathSegment, Plain, Scalar};
use crate::policy::generate::{self as gen, Plan};
use zeroize::Zeroizing;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The encrypted file (create one with `secrets encrypt` or `secrets edit`).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Key path: `["a"]["b"]` or `a.b`; missing maps are created.
    #[arg(value_name = "KEYPATH")]
    path: String,
    #[command(flatten)]
    gen: GenArgs,
    #[command(flatten)]
    pub itype: super::InputTypeArg,
    #[command(flatten)]
    pub ids: super::IdentityArg,
}

// The options of `generate`, also taken by `set --generate`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct GenArgs {
    /// What to generate [default: the key's `generate:` in the schema, else password].
    #[arg(long, value_name = "FORMAT", value_parser = format_parser())]
    pub format: Option<GenFormat>,
    /// Characters (password, django), or random bytes (hex, base64, base64url); raised to
    /// the schema's min_length [default: 32; django 50].
    #[arg(long, value_name = "N")]
    pub length: Option<usize>,
    /// Words of a passphrase [default: 6].
    #[arg(long, value_name = "N")]
    pub words: Option<usize>,
    /// Print the value stored to stdout, once (it is never shown otherwise).
    #[arg(long)]
    pub print: bool,
    /// When the key has a value (not empty), leave it as it is and exit 0 (for bootstrap
    /// scripts; an empty `KEY=` from a template is filled).
    #[arg(long)]
    pub if_missing: bool,
}

impl GenArgs {
    /// The first option given, as typed (for `set` without `--generate`).
    pub fn given(&self) -> Option<&'static str> {
        [
            (self.format.is_some(), "--format"),
            (self.length.is_some(), "--length"),
            (self.words.is_some(), "--words"),
            (self.print, "--print"),
            (self.if_missing, "--if-missing"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }
}

pub(super) fn format_parser() -> impl clap::builder::TypedValueParser<Value = GenFormat> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(GenFormat::NAMES)
        .map(|name: String| GenFormat::parse(&name).expect("one of NAMES"))
}

/// Below this many bits of randomness, `generate` warns.
const WEAK_BITS: f64 = 64.0;

pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    generate_into(&args.file, &args.path, &args.gen, g)
}

/// Generates a value for `path` in `file` and stores it (`generate`, `set --generate`).
pub(super) fn generate_into(
    file: &Path,
    path: &str,
    opts: &GenArgs,
    g: &Global,
) -> anyhow::Result<ExitCode> {
    let kp = set::preflight(file, path, g)?;
    let shown = file.display();
    let fail = |e: gen::GenError| CliError::new(INVALID_SET, format!("{shown}: {e}"));
    // Checked before the file is read: a wrong --length is an error with or without the key.
    let (plan, rules) = plan_for(file, &kp, opts, g)?;
    let mut printed: Option<Zeroizing<String>> = None;
    // Named as the user named it: on dotenv `NAME` may be stored as `export NAME`.
    let (written, _) = set::write_value(file, kp.clone(), g, opts.if_missing, || {
        let mut value = plan.draw(&rules).map_err(fail)?;
        if opts.print {
            // Sized first: no reallocation leaves a copy behind.
            let mut line = Zeroizing::new(String::with_capacity(value.len() + 1));
            line.push_str(&value);
            line.push('\n');
            printed = Some(line);
        }
        // Moved into the zeroizing leaf.
        Ok(Node::Leaf(Plain::new(Scalar::Str(std::mem::take(
            &mut *value,
        )))))
    })?;
    match written {
        Written::Present => {
            output::note(
                g,
                format!(
                    "{} in {shown} already exists; left as it is (--if-missing)",
                    kp.typed()
                ),
            );
            return Ok(ExitCode::SUCCESS);
        }
        Written::Set | Written::Unchanged => output::note(
            g,
            format!(
                "generated a {} value for {} in {shown}",
                plan.format.name(),
                kp.typed()
            ),
        ),
    }
    if let Some(line) = printed {
        output::write_output(None, line.as_bytes(), true)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A value for `kp` in `file` as `generate` would make it, not written anywhere: for
/// `rotate-value --generate`.
pub(super) fn draw_for(
    file: &Path,
    kp: &KeyPath,
    opts: &GenArgs,
    g: &Global,
) -> anyhow::Result<Zeroizing<String>> {
    let (plan, rules) = plan_for(file, kp, opts, g)?;
    let fail = |e: gen::GenError| CliError::new(INVALID_SET, format!("{}: {e}", file.display()));
    Ok(plan.draw(&rules).map_err(fail)?)
}

/// What to make for `kp` in `file`: the format and size from `opts` over the key's schema
/// rules (returned too: a draw must meet their patterns and forbid lists).
fn plan_for(
    file: &Path,
    kp: &KeyPath,
    opts: &GenArgs,
    g: &Global,
) -> anyhow::Result<(Plan, Vec<KeyRule>)> {
    let format = g
        .input_type
        .unwrap_or_else(|| crate::store::Format::from_path(file));
    let (name, key) = names(kp, format == crate::store::Format::Dotenv);
    let rules = schema_rules(file, &name, &key)?;
    let spec = gen::resolve(
        rules.iter().find_map(|r| r.generate),
        opts.format,
        opts.length,
        opts.words,
    );
    let plan = Plan::new(&spec, &rules, &key).map_err(|e| {
        // A size option the format does not take is a conflict of options (8), as the
        // exit-code table says; a size out of range is an invalid value (7).
        let code = match e {
            gen::GenError::Conflict { .. } => CONFLICT,
            _ => INVALID_SET,
        };
        CliError::new(code, format!("{}: {e}", file.display()))
    })?;
    // Weak on purpose is allowed (a PIN, a test fixture), but said: under 64 bits a guesser
    // with a hash of it finds it.
    let bits = plan.bits();
    if bits < WEAK_BITS {
        output::note(
            g,
            format!(
                "secrets: warning: {}: a {} of this size has about {bits:.0} bits of randomness, under {WEAK_BITS}: fine behind a rate-limited login, guessable offline from a hash of it (the default size, or a larger --length or --words, is not)",
                kp.typed(),
                plan.format.name(),
            ),
        );
    }
    Ok((plan, rules))
}

/// The names a schema rule may give the key: the variable `exec` exports for it
/// (`DATABASE_PASSWORD`; on dotenv the name as written, without `export`) and its dotted
/// key path (`database.password`).
fn names(kp: &KeyPath, dotenv: bool) -> (String, String) {
    let key: Vec<String> =
        kp.0.iter()
            .map(|s| match s {
                PathSegment::Key(k) => k.clone(),
                PathSegment::Index(i) => i.to_string(),
            })
            .collect();
    let key = key.join(".");
    let name = match (dotenv, kp.0.as_slice()) {
        (true, [PathSegment::Key(k)]) => crate::store::dotenv::env_name(k).to_string(),
        _ => {
            let parts: Vec<String> =
                kp.0.iter()
                    .map(|s| match s {
                        PathSegment::Key(k) => crate::exec::env::segment(k),
                        PathSegment::Index(i) => i.to_string(),
                    })
                    .collect();
            parts.join("_")
        }
    };
    (name, key)
}

/// Every schema rule for the key in the file's environment (rules limited to some
/// environments do not apply to a file in none); none without a config.
fn schema_rules(file: &Path, name: &str, key: &str) -> anyhow::Result<Vec<KeyRule>> {
    let Some(cfg) = Config::discover(file)? else {
        return Ok(Vec::new());
    };
    let env = cfg
        .relative(file)
        .and_then(|rel| cfg.environment_for(&rel).map(str::to_string));
    Ok(cfg
        .schema()
        .rules_for(env.as_deref(), name, key)
        .cloned()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_exec_and_check_see_them() {
        let n = |p: &str, dotenv| names(&KeyPath::parse(p).unwrap(), dotenv);
        assert_eq!(
            n("database.password", false),
            ("DATABASE_PASSWORD".into(), "database.password".into())
        );
        assert_eq!(
            n("api-keys.0", false),
            ("API_KEYS_0".into(), "api-keys.0".into())
        );
        assert_eq!(
            n("export SECRET_KEY", true),
            ("SECRET_KEY".into(), "export SECRET_KEY".into())
        );
    }
}
