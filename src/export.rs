//! Exporting decrypted values for other tools: dotenv, JSON, YAML, POSIX shell, a
//! Kubernetes `Secret` manifest, and a directory of files for Docker secrets.
//!
//! Why one module: every format takes the same flattened variables as `secrets exec`
//! ([`crate::exec::env`]), so a value is called `DATABASE_HOST` everywhere. Output is
//! built in zeroizing buffers reserved up front (no reallocation leaves copies behind).
//! Errors name the variable and its file, never a value.

use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

use crate::exec::env::Var;

/// The export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `NAME=value` lines (bare, 'single' or "double" quoted as needed).
    Dotenv,
    /// A flat JSON object of strings.
    Json,
    /// A flat YAML map of double-quoted strings.
    Yaml,
    /// `export NAME='value'` lines for `eval "$(secrets export --format shell)"`.
    Shell,
    /// A Kubernetes `Secret` manifest (base64 `data`).
    K8s,
    /// A directory of files, one per value (0600 files in a 0700 directory).
    DockerSecretsDir,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{origin}: the value is not UTF-8 text, which {format} cannot hold (use --format k8s or docker-secrets-dir)")]
    NotUtf8 {
        origin: String,
        format: &'static str,
    },
    #[error("{origin}: the value contains a NUL byte, which {format} cannot hold")]
    Nul {
        origin: String,
        format: &'static str,
    },
    #[error("{origin}: {name:?} is not a valid {what}")]
    BadName {
        origin: String,
        name: String,
        what: &'static str,
    },
    #[error("--{flag} {value:?} is not a valid Kubernetes name ({rule})")]
    BadK8sName {
        flag: &'static str,
        value: String,
        rule: &'static str,
    },
    #[error("{origin}: the variable name is {len} bytes, too long for a file name in {} (at most 255)", dir.display())]
    NameTooLong {
        origin: String,
        len: usize,
        dir: PathBuf,
    },
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: the directory is accessible by other users; chmod 700 it or choose a new directory")]
    OpenDir { path: PathBuf },
}

fn buffer(vars: &[Var], per_value: usize) -> Zeroizing<Vec<u8>> {
    let size: usize = vars
        .iter()
        .map(|v| v.name.len() * 2 + v.value().len() * per_value + 32)
        .sum();
    Zeroizing::new(Vec::with_capacity(size + 256))
}

fn text<'a>(v: &'a Var, format: &'static str) -> Result<&'a str, ExportError> {
    let s = v.value_str().ok_or_else(|| ExportError::NotUtf8 {
        origin: v.origin(),
        format,
    })?;
    if s.contains('\0') {
        return Err(ExportError::Nul {
            origin: v.origin(),
            format,
        });
    }
    Ok(s)
}

fn bad_name(v: &Var, what: &'static str) -> ExportError {
    ExportError::BadName {
        origin: v.origin(),
        name: v.name.clone(),
        what,
    }
}

/// `NAME=value` lines. Values made only of safe characters are bare; others are single
/// quoted (literal in dotenvx, docker compose and our own dotenv store); values holding a
/// `'`, a line break or a backslash loaders could read as an escape
/// ([`single_quote_safe`]) are double quoted with `\\ \" \n \r \t` escapes.
///
/// Not literal everywhere: python-dotenv (1.2.x, `interpolate=True` by default) expands
/// `${NAME}` after unquoting in every quoting style, single quotes included, and has no
/// escape for `$`, so no output form keeps such a value intact there; docs/exec.md says
/// to load with `interpolate=False` (or use `secrets exec`).
pub fn dotenv(vars: &[Var]) -> Result<Zeroizing<Vec<u8>>, ExportError> {
    let mut out = buffer(vars, 2);
    for v in vars {
        let value = text(v, "dotenv")?;
        let name_ok = !v.name.starts_with('#')
            && !v
                .name
                .chars()
                .any(|c| c == '=' || c.is_whitespace() || c == '"' || c == '\'');
        if !name_ok {
            return Err(bad_name(v, "dotenv key"));
        }
        out.extend_from_slice(v.name.as_bytes());
        out.push(b'=');
        if value.chars().all(bare_safe) || bare_with_backslashes(value) {
            out.extend_from_slice(value.as_bytes());
        } else if single_quote_safe(value) {
            out.push(b'\'');
            out.extend_from_slice(value.as_bytes());
            out.push(b'\'');
        } else {
            out.push(b'"');
            for c in value.chars() {
                match c {
                    '\\' => out.extend_from_slice(b"\\\\"),
                    '"' => out.extend_from_slice(b"\\\""),
                    '\n' => out.extend_from_slice(b"\\n"),
                    '\r' => out.extend_from_slice(b"\\r"),
                    '\t' => out.extend_from_slice(b"\\t"),
                    c => push_char(&mut out, c),
                }
            }
            out.push(b'"');
        }
        out.push(b'\n');
    }
    Ok(out)
}

/// Whether single quotes keep `value` as it is for every loader: no `'` or line break,
/// and no backslash a loader could take for an escape (python-dotenv and docker compose
/// read `\\` and `\'` inside single quotes as escapes: `'C:\build\'` does not parse,
/// `'\\\\server'` loses half its backslashes). Those go in double quotes, where `\\` means
/// one backslash to all of them.
fn single_quote_safe(value: &str) -> bool {
    !value.contains(['\'', '\n', '\r']) && !value.contains("\\\\") && !value.ends_with('\\')
}

/// A value ending in a backslash (`C:\\build\\`) that is otherwise bare-safe: written bare,
/// the one form python-dotenv reads it in (its quoted forms take the last `\\"` or `\\'`
/// for an escaped quote and run on into the next line), and literal to compose, dotenvx
/// and us; not when it holds `\\n`, which we and sops read as a line break.
fn bare_with_backslashes(value: &str) -> bool {
    value.ends_with('\\')
        && !value.contains("\\n")
        && value.chars().all(|c| c == '\\' || bare_safe(c))
}

fn bare_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ':' | '@' | '%' | '+' | ',')
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut b = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
}

/// A double-quoted string valid in both JSON and YAML: `\" \\ \n \r \t` and `\uXXXX` for
/// every other control or non-printable character.
fn push_quoted(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20
                || (0x7f..=0x9f).contains(&(c as u32))
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') =>
            {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => push_char(out, c),
        }
    }
    out.push(b'"');
}

/// A flat JSON object `{"NAME": "value", …}`, two-space indented, in file order.
pub fn json(vars: &[Var]) -> Result<Zeroizing<Vec<u8>>, ExportError> {
    let mut out = buffer(vars, 6);
    if vars.is_empty() {
        out.extend_from_slice(b"{}\n");
        return Ok(out);
    }
    out.extend_from_slice(b"{\n");
    for (i, v) in vars.iter().enumerate() {
        let value = text(v, "json")?;
        out.extend_from_slice(b"  ");
        push_quoted(&mut out, &v.name);
        out.extend_from_slice(b": ");
        push_quoted(&mut out, value);
        if i + 1 < vars.len() {
            out.push(b',');
        }
        out.push(b'\n');
    }
    out.extend_from_slice(b"}\n");
    Ok(out)
}

/// A flat YAML map; keys and values double quoted, so `NO`, `0123` or `true` stay strings.
pub fn yaml(vars: &[Var]) -> Result<Zeroizing<Vec<u8>>, ExportError> {
    let mut out = buffer(vars, 6);
    if vars.is_empty() {
        out.extend_from_slice(b"{}\n");
        return Ok(out);
    }
    for v in vars {
        let value = text(v, "yaml")?;
        push_quoted(&mut out, &v.name);
        out.extend_from_slice(b": ");
        push_quoted(&mut out, value);
        out.push(b'\n');
    }
    Ok(out)
}

/// `export NAME='value'` lines for a POSIX shell; a `'` inside is written `'\''`. Names
/// must be shell identifiers.
pub fn shell(vars: &[Var]) -> Result<Zeroizing<Vec<u8>>, ExportError> {
    let mut out = buffer(vars, 4);
    for v in vars {
        if !is_shell_name(&v.name) {
            return Err(bad_name(v, "shell variable name"));
        }
        if v.value().contains(&0) {
            return Err(ExportError::Nul {
                origin: v.origin(),
                format: "shell",
            });
        }
        out.extend_from_slice(b"export ");
        out.extend_from_slice(v.name.as_bytes());
        out.extend_from_slice(b"='");
        for &b in v.value() {
            if b == b'\'' {
                out.extend_from_slice(b"'\\''");
            } else {
                out.push(b);
            }
        }
        out.extend_from_slice(b"'\n");
    }
    Ok(out)
}

/// A POSIX shell variable name: a letter or `_`, then letters, digits and `_`.
pub fn is_shell_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A Kubernetes `Secret` (type Opaque) with every value base64-encoded under `data`.
/// `name` must be a DNS subdomain and `namespace` a DNS label (see [`k8s_name`]).
pub fn k8s(
    vars: &[Var],
    name: &str,
    namespace: Option<&str>,
) -> Result<Zeroizing<Vec<u8>>, ExportError> {
    use base64::Engine;
    check_k8s_name("name", name, 253, true)?;
    if let Some(ns) = namespace {
        check_k8s_name("namespace", ns, 63, false)?;
    }
    let mut out = buffer(vars, 2);
    out.extend_from_slice(b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: ");
    out.extend_from_slice(name.as_bytes());
    out.push(b'\n');
    if let Some(ns) = namespace {
        out.extend_from_slice(b"  namespace: ");
        out.extend_from_slice(ns.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"type: Opaque\n");
    if vars.is_empty() {
        out.extend_from_slice(b"data: {}\n");
        return Ok(out);
    }
    out.extend_from_slice(b"data:\n");
    let engine = base64::engine::general_purpose::STANDARD;
    for v in vars {
        let key_ok = !v.name.is_empty()
            && v.name.len() <= 253
            && v.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !key_ok {
            return Err(bad_name(v, "Kubernetes Secret key ([-._a-zA-Z0-9]+)"));
        }
        out.extend_from_slice(b"  \"");
        out.extend_from_slice(v.name.as_bytes());
        out.extend_from_slice(b"\": \"");
        let mut encoded = Zeroizing::new(vec![0u8; v.value().len().div_ceil(3) * 4 + 4]);
        let n = engine
            .encode_slice(v.value(), &mut encoded[..])
            .unwrap_or_default();
        out.extend_from_slice(&encoded[..n]);
        out.extend_from_slice(b"\"\n");
    }
    Ok(out)
}

fn check_k8s_name(
    flag: &'static str,
    value: &str,
    max: usize,
    dots: bool,
) -> Result<(), ExportError> {
    let rule = if dots {
        "lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters"
    } else {
        "lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"
    };
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let ok = !value.is_empty()
        && value.len() <= max
        && value.starts_with(alnum)
        && value.ends_with(alnum)
        && value
            .chars()
            .all(|c| alnum(c) || c == '-' || (dots && c == '.'));
    if ok {
        Ok(())
    } else {
        Err(ExportError::BadK8sName {
            flag,
            value: value.to_string(),
            rule,
        })
    }
}

/// A Kubernetes name made from free text (an environment or file name): lower case,
/// other characters as `-`, trimmed; `secrets` when nothing is left.
pub fn k8s_name(from: &str) -> String {
    let mapped: String = from
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let trimmed: String = mapped.trim_matches('-').chars().take(253).collect();
    let trimmed = trimmed.trim_end_matches('-');
    if trimmed.is_empty() {
        "secrets".into()
    } else {
        trimmed.to_string()
    }
}

/// The file that marks a directory as written by [`docker_secrets_dir`], so a later
/// export may replace it. Hidden, and no variable may have its name.
pub const EXPORT_MARKER: &str = ".secrets-export";

/// The longest file name most file systems take (Linux `NAME_MAX`), in bytes.
const NAME_MAX: usize = 255;

/// Writes one file per value into the directory `dir`, replacing what a previous export
/// left there: the files go to a fresh private directory next to `dir`, which then takes
/// its place in one rename ([`crate::fsutil::replace_dir`]), so a value no longer
/// exported does not linger and a failure leaves the old directory as it was. `dir` may
/// be missing, empty, or a previous export (it holds [`EXPORT_MARKER`]); any other
/// directory is refused, as is one open to other users. The directory is 0700, files
/// 0600, named after the variable, holding the exact value bytes (no trailing newline).
/// Returns the number of value files.
pub fn docker_secrets_dir(vars: &[Var], dir: &Path) -> Result<usize, ExportError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| ExportError::Io { path, error }
    };
    let refuse = |why: &str| ExportError::Io {
        path: dir.to_path_buf(),
        error: std::io::Error::new(std::io::ErrorKind::AlreadyExists, why.to_string()),
    };
    for v in vars {
        let ok = !v.name.is_empty()
            && v.name != "."
            && v.name != ".."
            && v.name != EXPORT_MARKER
            && !v.name.contains(['/', '\\', '\0']);
        if !ok {
            return Err(bad_name(v, "file name"));
        }
        if v.name.len() > NAME_MAX {
            return Err(ExportError::NameTooLong {
                origin: v.origin(),
                len: v.name.len(),
                dir: dir.to_path_buf(),
            });
        }
    }
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(refuse("is a symbolic link; name the directory itself"));
        }
        Ok(meta) if !meta.is_dir() => return Err(refuse("exists and is not a directory")),
        Ok(meta) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                if meta.permissions().mode() & 0o077 != 0 {
                    return Err(ExportError::OpenDir {
                        path: dir.to_path_buf(),
                    });
                }
            }
            #[cfg(not(unix))]
            let _ = meta;
            let mut entries = std::fs::read_dir(dir).map_err(io(dir))?;
            let empty = entries.next().is_none();
            if !empty && !dir.join(EXPORT_MARKER).is_file() {
                return Err(refuse(
                    "is not empty and was not written by secrets export; choose a new or empty directory",
                ));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(dir)(e)),
    }
    // The fresh directory sits next to `dir` so the swap is a rename on one file system.
    let parent = crate::fsutil::parent_dir(dir);
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    // Removed on every error path; disowned once it has taken `dir`'s place.
    // Exactly 0700; removed by a catchable signal too (crate::tempfiles).
    let fresh = crate::fsutil::private_tempdir_in(&parent, crate::tempfiles::EXPORT_PREFIX)
        .map_err(|e| io(dir)(crate::fsutil::unwritable_dir(&parent, e)))?;
    let marker = b"written by secrets export; the next export replaces this directory\n";
    let files = vars
        .iter()
        .map(|v| (v.name.as_str(), v.value()))
        .chain([(EXPORT_MARKER, &marker[..])]);
    for (name, value) in files {
        let path = fresh.path().join(name);
        // Named as the user will find it: our temp directory means nothing to them.
        crate::fsutil::atomic_write_private(&path, value).map_err(io(&dir.join(name)))?;
    }
    crate::fsutil::replace_dir(fresh.path(), dir).map_err(io(dir))?;
    // `fresh` is now `dir` (or was consumed by the swap): do not delete it on drop.
    let _ = fresh.keep();
    Ok(vars.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str, value: &[u8]) -> Var {
        Var::new(
            name.into(),
            name.to_lowercase(),
            "f.yaml".into(),
            Zeroizing::new(value.to_vec()),
        )
    }

    fn s(b: Zeroizing<Vec<u8>>) -> String {
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[test]
    fn dotenv_quoting() {
        let vars = [
            var("A", b"plain-1.2/x"),
            var("B", b"has space $HOME"),
            var("C", b"it's\nmulti"),
            var("D", b""),
        ];
        assert_eq!(
            s(dotenv(&vars).unwrap()),
            "A=plain-1.2/x\nB='has space $HOME'\nC=\"it's\\nmulti\"\nD=\n"
        );
    }

    #[test]
    fn json_and_yaml_parse_back() {
        let vars = [var("A", b"q\"uo\\te\n\x01"), var("NO", b"0123")];
        let j: serde_json::Value = serde_json::from_slice(&json(&vars).unwrap()).unwrap();
        assert_eq!(j["A"], "q\"uo\\te\n\u{1}");
        assert_eq!(j["NO"], "0123");
        assert_eq!(
            s(yaml(&vars).unwrap()).lines().nth(1),
            Some("\"NO\": \"0123\"")
        );
    }

    #[test]
    fn shell_quotes_and_names() {
        assert_eq!(
            s(shell(&[var("A", b"it's $x")]).unwrap()),
            "export A='it'\\''s $x'\n"
        );
        assert!(shell(&[var("1A", b"x")]).is_err());
        assert!(shell(&[var("A.B", b"x")]).is_err());
    }

    #[test]
    fn k8s_manifest() {
        let out = s(k8s(&[var("A", b"hello")], "app-prod", Some("web")).unwrap());
        assert!(out.contains("  name: app-prod\n  namespace: web\n"));
        assert!(out.contains("  \"A\": \"aGVsbG8=\"\n"));
        assert!(k8s(&[], "Bad_Name", None).is_err());
        assert!(k8s(&[], "ok", Some("a.b")).is_err());
        assert_eq!(k8s_name("Prod EU"), "prod-eu");
        assert_eq!(k8s_name("__"), "secrets");
    }

    #[test]
    fn errors_do_not_show_values() {
        let e = json(&[var("A", &[0xff, 0xfe])]).unwrap_err().to_string();
        assert!(e.contains("f.yaml: a"), "{e}");
    }
}
