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
        .any(|m| line.windows(m.len()).any(|w| w == *m))
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
        .any(|m| line.windows(m.len()).any(|w| w == *m))
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
    globs: Vec<String>,
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
                "disable" if super::is_rule_id(v) => a.disabled.push(v.to_string()),
                "disable" => return Err(err(format!("no rule {v:?} to disable"))),
                other => return Err(err(format!("unknown directive {other:?}"))),
            }
        }
        Ok(a)
    }

    /// Loads `.secrets-scan` from `root` when there is one.
    pub fn load(root: &Path) -> Result<Allowlist, AllowError> {
        let path = root.join(CONFIG_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Allowlist::default()),
            Err(error) => Err(AllowError::Io { path, error }),
        }
    }

    pub fn add_glob(&mut self, glob: &str) -> Result<(), String> {
        Glob::new(glob).map_err(|e| format!("bad glob {glob:?}: {e}"))?;
        self.globs.push(glob.to_string());
        // A directory glob also covers what is under it.
        if !glob.ends_with("/**") {
            self.globs
                .push(format!("{}/**", glob.trim_end_matches('/')));
        }
        let mut b = GlobSetBuilder::new();
        for g in &self.globs {
            if let Ok(g) = Glob::new(g) {
                b.add(g);
            }
        }
        self.paths = b.build().ok();
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
