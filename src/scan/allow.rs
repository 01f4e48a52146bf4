//! Allowlisting: inline comments (`secrets:allow`, and the `gitleaks:allow` and
//! `pragma: allowlist secret` comments users already have), path globs and secret regexes
//! from `.secrets-scan`, and the baseline of accepted findings.
//!
//! The baseline is keyed by (path, rule, fingerprint of the secret), never by line number,
//! so unrelated edits that move a line do not churn it; the fingerprint is a truncated
//! SHA-256, so the baseline file holds no secret.

use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::bytes::Regex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The name of the scanner's own config file at the repository root.
pub const CONFIG_FILE: &str = ".secrets-scan";
/// The default baseline file at the repository root.
pub const BASELINE_FILE: &str = ".secrets-baseline.json";
/// The largest `.secrets-scan` read (1 MiB: some 30,000 directives).
pub const CONFIG_MAX: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum AllowError {
    #[error("{path}:{line}: {message}")]
    Config {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{path}: not a baseline file ({error})")]
    Baseline { path: PathBuf, error: String },
}

/// Does this line carry an inline allow comment?
pub fn inline_allowed(line: &[u8]) -> bool {
    const MARKERS: &[&[u8]] = &[
        b"secrets:allow",
        b"gitleaks:allow",
        b"pragma: allowlist secret",
        // detect-secrets also accepts the comment without the space.
        b"pragma:allowlist secret",
    ];
    MARKERS
        .iter()
        .any(|m| memchr::memmem::find(line, m).is_some())
}

/// Does this line allow the line after it (`pragma: allowlist nextline secret`,
/// `secrets:allow-next-line`)?
pub fn allows_next_line(line: &[u8]) -> bool {
    const MARKERS: &[&[u8]] = &[
        b"secrets:allow-next-line",
        b"pragma: allowlist nextline secret",
        b"pragma:allowlist nextline secret",
    ];
    MARKERS
        .iter()
        .any(|m| memchr::memmem::find(line, m).is_some())
}

/// A value without its trailing comment: ` # note` (a `#` after whitespace) ends the value,
/// while a `#` inside it (`a#b`, a regex `[#]`) stays.
fn strip_trailing_comment(v: &str) -> &str {
    let bytes = v.as_bytes();
    (1..bytes.len())
        .find(|&i| bytes[i] == b'#' && bytes[i - 1].is_ascii_whitespace())
        .map_or(v, |i| &v[..i])
}

/// Path globs, secret regexes and disabled rules.
#[derive(Debug, Default)]
pub struct Allowlist {
    globs: Vec<Glob>,
    paths: Option<GlobSet>,
    regexes: Vec<Regex>,
    disabled: Vec<String>,
}

impl Allowlist {
    /// Parses `.secrets-scan`: one directive a line, `#` comments:
    /// `path: GLOB` (relative to the root, `/`-separated), `regex: RE` (matched against the
    /// secret), `disable: RULE-ID`.
    pub fn parse(path: &Path, text: &str) -> Result<Allowlist, AllowError> {
        let mut a = Allowlist::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |message: String| AllowError::Config {
                path: path.to_path_buf(),
                line: i + 1,
                message,
            };
            let Some((k, v)) = line.split_once(':') else {
                return Err(err(
                    "expected `path: GLOB`, `regex: RE` or `disable: RULE`".into()
                ));
            };
            let v = strip_trailing_comment(v).trim();
            match k.trim() {
                "path" => a.add_glob(v).map_err(err)?,
                "regex" => a
                    .regexes
                    .push(Regex::new(v).map_err(|e| err(format!("bad regex: {e}")))?),
                "disable" if super::is_rule_id(v) => {
                    if !a.rule_disabled(v) {
                        a.disabled.push(v.to_string());
                    }
                }
                "disable" => return Err(err(format!("no rule {v:?} to disable"))),
                other => return Err(err(format!("unknown directive {other:?}"))),
            }
        }
        a.build_globs().map_err(|message| AllowError::File {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(a)
    }

    /// Loads `.secrets-scan` from `root` when there is one. It is read only as a regular
    /// file of at most [`CONFIG_MAX`] bytes: the file comes with the repository, and a
    /// committed symlink to `/dev/zero`, a FIFO or a huge file must not exhaust memory or
    /// hang every teammate's scan and pre-commit hook.
    pub fn load(root: &Path) -> Result<Allowlist, AllowError> {
        let path = root.join(CONFIG_FILE);
        match read_small_regular_file(&path, CONFIG_MAX)? {
            Some(text) => Self::parse(&path, &text),
            None => Ok(Allowlist::default()),
        }
    }

    /// Adds a path glob (and, for a directory, what is under it); [`Self::build_globs`]
    /// compiles them all at once.
    fn add_glob(&mut self, glob: &str) -> Result<(), String> {
        let bad = |e: globset::Error| format!("bad glob {glob:?}: {e}");
        self.globs.push(Glob::new(glob).map_err(bad)?);
        // A directory glob also covers what is under it.
        if !glob.ends_with("/**") {
            let under = format!("{}/**", glob.trim_end_matches('/'));
            self.globs.push(Glob::new(&under).map_err(bad)?);
        }
        Ok(())
    }

    /// Compiles the globs into one set, once (not once per `path:` line: 1,000 lines
    /// took 50 s that way).
    fn build_globs(&mut self) -> Result<(), String> {
        if self.globs.is_empty() {
            return Ok(());
        }
        let mut b = GlobSetBuilder::new();
        super::work::add(self.globs.len());
        for g in std::mem::take(&mut self.globs) {
            b.add(g);
        }
        let set = b
            .build()
            .map_err(|e| format!("the path globs cannot be compiled together: {e}"))?;
        self.paths = Some(set);
        Ok(())
    }

    /// Is this path (relative to the root, `/`-separated) allowlisted?
    pub fn path_allowed(&self, rel: &str) -> bool {
        self.paths.as_ref().is_some_and(|s| s.is_match(rel))
    }

    pub fn secret_allowed(&self, secret: &[u8]) -> bool {
        self.regexes.iter().any(|r| r.is_match(secret))
    }

    pub fn rule_disabled(&self, rule: &str) -> bool {
        self.disabled.iter().any(|d| d == rule)
    }
}

/// The text of a file that comes with the repository, or `None` when there is none. Only
/// a regular file is read, not followed through a symlink (which could point at
/// `/dev/zero`, a FIFO or a private file whose lines a parse error would echo), and only
/// up to `max` bytes. It is opened without blocking (a FIFO would wait for a writer) and
/// checked on the open descriptor, so it cannot be swapped between the check and the read.
pub fn read_small_regular_file(path: &Path, max: u64) -> Result<Option<String>, AllowError> {
    use std::io::Read;
    let fail = |message: String| AllowError::File {
        path: path.to_path_buf(),
        message,
    };
    let mut open = std::fs::OpenOptions::new();
    open.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = match open.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(_) if path.is_symlink() => {
            return Err(fail(
                "is a symbolic link; only a regular file is read (a link could point anywhere)"
                    .into(),
            ))
        }
        Err(error) => {
            return Err(AllowError::Io {
                path: path.to_path_buf(),
                error,
            })
        }
    };
    let io = |error| AllowError::Io {
        path: path.to_path_buf(),
        error,
    };
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(fail(format!(
            "not a regular file (a {}); only a regular file is read",
            crate::fsutil::file_kind(&meta.file_type())
        )));
    }
    let too_big = || {
        fail(format!(
            "larger than {} (the limit for this file)",
            size_text(max)
        ))
    };
    if meta.len() > max {
        return Err(too_big());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > max {
        return Err(too_big());
    }
    String::from_utf8(bytes).map(Some).map_err(|e| {
        fail(format!(
            "not UTF-8 text (byte {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// `1 MiB`, `64 KiB`, `100 bytes`.
fn size_text(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// The fingerprint of a secret: 128 bits of SHA-256 over a domain tag and the secret.
pub fn fingerprint(secret: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"secrets-scan/v1\0");
    h.update(secret);
    let d = h.finalize();
    d[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// One accepted finding.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub struct BaselineEntry {
    pub path: String,
    pub rule: String,
    pub fingerprint: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct BaselineFile {
    version: u32,
    findings: Vec<BaselineEntry>,
}

/// Findings accepted when the tool was adopted; only new ones are reported.
#[derive(Debug, Default)]
pub struct Baseline {
    entries: HashSet<BaselineEntry>,
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline, AllowError> {
        let text = std::fs::read_to_string(path).map_err(|error| AllowError::Io {
            path: path.to_path_buf(),
            error,
        })?;
        let f: BaselineFile = serde_json::from_str(&text).map_err(|e| AllowError::Baseline {
            path: path.to_path_buf(),
            error: e.to_string(),
        })?;
        Ok(Baseline {
            entries: f.findings.into_iter().collect(),
        })
    }

    pub fn contains(&self, path: &str, rule: &str, fingerprint: &str) -> bool {
        // Borrowed lookup without allocating would need a custom key; findings are few.
        self.entries.contains(&BaselineEntry {
            path: path.to_string(),
            rule: rule.to_string(),
            fingerprint: fingerprint.to_string(),
        })
    }

    /// The baseline file text for these entries, sorted, one per line-friendly JSON.
    pub fn render(entries: impl IntoIterator<Item = BaselineEntry>) -> String {
        let mut findings: Vec<BaselineEntry> = entries.into_iter().collect();
        findings.sort();
        findings.dedup();
        let f = BaselineFile {
            version: 1,
            findings,
        };
        let mut s = serde_json::to_string_pretty(&f).unwrap_or_default();
        s.push('\n');
        s
    }

    pub fn entries(&self) -> impl Iterator<Item = &BaselineEntry> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_markers() {
        assert!(inline_allowed(b"key = 'x' # secrets:allow"));
        assert!(inline_allowed(b"key = 'x' // gitleaks:allow"));
        assert!(inline_allowed(b"key = 'x'  # pragma: allowlist secret"));
        assert!(!inline_allowed(b"key = 'x'"));
        assert!(allows_next_line(b"# pragma: allowlist nextline secret"));
        assert!(inline_allowed(b"key = 'x'  # pragma:allowlist secret"));
        assert!(allows_next_line(b"# pragma:allowlist nextline secret"));
    }

    #[test]
    fn config_values_drop_trailing_comments() {
        let a = Allowlist::parse(
            Path::new(".secrets-scan"),
            "path: testdata/fixtures   # note\nregex: ^AKIAEXAMPL   # accept\ndisable: jwt # noisy\nregex: a#b\n",
        )
        .unwrap();
        assert!(a.path_allowed("testdata/fixtures/x.env"));
        assert!(a.secret_allowed(b"AKIAEXAMPLE12345"));
        assert!(a.rule_disabled("jwt"));
        assert!(a.secret_allowed(b"a#b"));
        assert_eq!(strip_trailing_comment("x\t# y"), "x\t");
        assert_eq!(strip_trailing_comment("#x"), "#x");
    }

    #[test]
    fn disabling_an_unknown_rule_is_an_error() {
        let e = Allowlist::parse(Path::new("f"), "# c\ndisable: no-such-rule\n").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("f:2:") && msg.contains("no-such-rule"),
            "{msg}"
        );
        for id in [
            "generic-secret",
            "known-secret-value",
            "decrypted-copy",
            "aws-access-key-id",
        ] {
            assert!(Allowlist::parse(Path::new("f"), &format!("disable: {id}\n")).is_ok());
        }
    }

    #[test]
    fn config_file() {
        let a = Allowlist::parse(
            Path::new(".secrets-scan"),
            "# ours\npath: testdata/scan\nregex: ^AKIA\ndisable: jwt\n",
        )
        .unwrap();
        assert!(a.path_allowed("testdata/scan/corpus/x.env"));
        assert!(!a.path_allowed("src/x.env"));
        assert!(a.secret_allowed(b"AKIAUJZDEGXDNCF32EPF"));
        assert!(a.rule_disabled("jwt"));
        let e = Allowlist::parse(Path::new("f"), "nonsense\n").unwrap_err();
        assert!(e.to_string().starts_with("f:1:"));
    }

    /// 1,000 path globs compile once, not once per line (issue 10, case 6: 50 s before).
    #[test]
    fn many_globs_compile_once() {
        let text: String = (0..1000)
            .map(|i| format!("path: dir{i}/**/*.snap\n"))
            .collect();
        super::super::work::take();
        let a = Allowlist::parse(Path::new(".secrets-scan"), &text).unwrap();
        let work = super::super::work::take();
        assert!(a.path_allowed("dir999/x/y.snap"), "{a:?}");
        assert!(a.path_allowed("dir0/y.snap"));
        assert!(!a.path_allowed("dir1000/y.snap"));
        assert!(work <= 4_000, "{work} globs compiled for 1,000 lines");
    }

    #[test]
    fn baseline_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.json");
        let fp = fingerprint(b"secret-value");
        assert_eq!(fp.len(), 32);
        let text = Baseline::render([BaselineEntry {
            path: "a.env".into(),
            rule: "generic-secret".into(),
            fingerprint: fp.clone(),
        }]);
        assert!(!text.contains("secret-value"));
        std::fs::write(&p, text).unwrap();
        let b = Baseline::load(&p).unwrap();
        assert!(b.contains("a.env", "generic-secret", &fp));
        assert!(!b.contains("b.env", "generic-secret", &fp));
    }
}
