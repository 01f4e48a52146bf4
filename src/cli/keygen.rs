//! `secrets keygen [-o FILE]`: a new age X25519 identity in age-keygen's format.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use super::exit::{CliError, OUTPUT};
use super::Global;
use secrecy::ExposeSecret;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write the identity to FILE (mode 0600; missing directories are created 0700) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print the public key of an existing identity FILE instead (age-keygen -y).
    #[arg(short = 'y', value_name = "FILE", conflicts_with = "output")]
    public_of: Option<PathBuf>,
    /// Overwrite an existing output file.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<ExitCode> {
    if let Some(file) = args.public_of {
        let ids = crate::keys::Identities::load(&crate::keys::identity::Sources {
            required_files: vec![file],
            ..Default::default()
        })?;
        for pk in ids.public_keys() {
            println!("{pk}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let id = age::x25519::Identity::generate();
    let public = id.to_public().to_string();
    let created = crate::crypto::mac::now_rfc3339();
    let text = zeroize::Zeroizing::new(format!(
        "# created: {created}\n# public key: {public}\n{}\n",
        id.to_string().expose_secret()
    ));
    match &args.output {
        Some(path) => {
            let exists = || {
                CliError::new(OUTPUT, format!("{}: already exists", path.display()))
                    .hint("choose another file, or pass --force to overwrite it")
            };
            if path.exists() && !args.force {
                return Err(exists().into());
            }
            let cannot =
                |e: std::io::Error| CliError::new(OUTPUT, format!("{}: {e}", path.display()));
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                crate::fsutil::create_private_dirs(dir).map_err(cannot)?;
            }
            if args.force {
                crate::fsutil::atomic_write_private(path, text.as_bytes()).map_err(cannot)?;
            } else {
                // Never over a file that appeared since the check above.
                crate::fsutil::create_new_private(path, text.as_bytes()).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::AlreadyExists {
                        exists()
                    } else {
                        cannot(e)
                    }
                })?;
            }
            if !g.quiet {
                eprintln!("Public key: {public}");
            }
        }
        None => {
            print!("{}", text.as_str());
            if !std::io::stdout().is_terminal() && !g.quiet {
                eprintln!("Public key: {public}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
