//! `secrets export [-f FILE…] [--env ENV] --format dotenv|json|yaml|shell|k8s|docker-secrets-dir
//! [--name N] [--namespace NS] [-o OUT/DIR]`: decrypted values for other tools, with the
//! same file selection and variable names as `secrets exec`.
//!
//! Output goes to stdout, or to `-o OUT` written atomically with mode 0600;
//! `docker-secrets-dir` needs `-o DIR`.

use std::path::PathBuf;
use std::process::ExitCode;

use super::exec::{load_vars, Selection};
use super::exit::{CliError, CONFLICT, INPUT, OUTPUT};
use super::{output, Global};
use crate::export::{self, ExportError, Format};

#[derive(clap::Args, Debug)]
#[command(after_help = "\
Formats:
    dotenv              NAME=value lines (bare, 'single' or \"double\" quoted as needed)
    json                a flat JSON object of strings
    yaml                a flat YAML map of double-quoted strings
    shell               export NAME='value' lines, for eval
    k8s                 a Kubernetes Secret manifest (base64 data)
    docker-secrets-dir  a directory of files, one per value (0600 files in a 0700 directory)

Examples:
    eval \"$(secrets export --format shell)\"                 # direnv, a shell session
    secrets export --env prod --format k8s --name app --namespace web | kubectl apply -f -
    secrets export -f secrets.yaml --format docker-secrets-dir -o ./run-secrets")]
pub struct Args {
    #[command(flatten)]
    pub selection: Selection,
    /// Output format: dotenv, json, yaml, shell, k8s, docker-secrets-dir (below).
    #[arg(long, value_enum, value_name = "FORMAT", hide_possible_values = true)]
    pub format: Format,
    /// k8s: the Secret's name (default: the environment or the first file's name).
    #[arg(long, value_name = "N")]
    pub name: Option<String>,
    /// k8s: the Secret's namespace (default: none, kubectl's current one).
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Write to this file (mode 0600), or for docker-secrets-dir into this directory.
    #[arg(short, long, value_name = "OUT/DIR")]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    if args.format != Format::K8s && (args.name.is_some() || args.namespace.is_some()) {
        return Err(CliError::new(
            CONFLICT,
            "--name and --namespace apply only to --format k8s",
        )
        .into());
    }
    if args.format == Format::DockerSecretsDir && args.output.is_none() {
        return Err(
            CliError::new(INPUT, "--format docker-secrets-dir needs -o DIR")
                .hint("e.g. secrets export --format docker-secrets-dir -o ./secrets.d")
                .into(),
        );
    }
    let loaded = load_vars(&args.selection, &[], "", g)?;
    let vars = &loaded.vars;
    let bytes = match args.format {
        Format::Dotenv => export::dotenv(vars),
        Format::Json => export::json(vars),
        Format::Yaml => export::yaml(vars),
        Format::Shell => export::shell(vars),
        Format::K8s => {
            let name = match &args.name {
                Some(n) => n.clone(),
                None => export::k8s_name(&default_name(&loaded.env, &loaded.files)),
            };
            export::k8s(vars, &name, args.namespace.as_deref())
        }
        Format::DockerSecretsDir => {
            let dir = args.output.as_deref().unwrap_or(std::path::Path::new("."));
            let n = export::docker_secrets_dir(vars, dir).map_err(export_error)?;
            output::note(g, format!("wrote {n} files to {}", dir.display()));
            return Ok(ExitCode::SUCCESS);
        }
    }
    .map_err(export_error)?;
    output::write_output(args.output.as_deref(), &bytes, true)?;
    Ok(ExitCode::SUCCESS)
}

fn default_name(env: &Option<String>, files: &[PathBuf]) -> String {
    if let Some(e) = env {
        return e.clone();
    }
    files
        .first()
        .and_then(|f| f.file_name())
        .map(|n| {
            let n = n.to_string_lossy();
            // secrets.enc.yaml → secrets
            n.split('.')
                .find(|s| !s.is_empty())
                .unwrap_or("secrets")
                .to_string()
        })
        .unwrap_or_else(|| "secrets".into())
}

fn export_error(e: ExportError) -> anyhow::Error {
    match e {
        ExportError::Io { .. } | ExportError::OpenDir { .. } => {
            CliError::new(OUTPUT, e.to_string()).into()
        }
        _ => CliError::new(INPUT, e.to_string()).into(),
    }
}
