//! The leak scanner: finds plaintext secrets before they reach a commit.
//!
//! ```text
//! fs / index / history / stdin ──source──▶ (path, bytes) ──Scanner──▶ findings ──report
//! ```
//! A [`Scanner`] runs the rule set ([`rule`], [`rules`], [`generic`]), the known values the
//! CLI decrypted ([`known`]; this module never decrypts), and the path checks (a file the
//! team config says must be encrypted but is not; a leftover decrypted copy), then drops what
//! the allowlists and the baseline accept ([`allow`]). Findings carry a redacted preview and
//! a fingerprint, never the secret.

pub mod allow;
pub mod entropy;
pub mod generic;
pub mod known;
pub mod report;
pub mod rule;
pub mod rules;
pub mod source;

use serde::Serialize;

pub use allow::{Allowlist, Baseline, BaselineEntry};
pub use known::{KnownValue, KnownValues};
pub use rule::RuleSet;

pub const UNENCRYPTED_FILE_ID: &str = "unencrypted-secret-file";
pub const DECRYPTED_COPY_ID: &str = "decrypted-copy";

/// A check on a whole file by its path and content: `Some(reason)` when the file must be
/// encrypted but is not (the CLI builds this from the team config and the engine).
pub type FilePolicy = Box<dyn Fn(&str, &[u8]) -> Option<String> + Send + Sync>;

/// One thing found. No field holds the secret.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// Path relative to the scan root, `/`-separated (`-` for stdin).
    pub path: String,
    /// 1-based line and byte column.
    pub line: usize,
    pub column: usize,
    /// 1-based column in UTF-16 code units, what SARIF's `utf16CodeUnits` means.
    #[serde(skip)]
    pub column_utf16: usize,
    pub rule: String,
    pub description: String,
    /// The secret with its middle starred (`AKIA************MPLE`); all stars for known values.
    pub preview: String,
    /// Truncated SHA-256 of the secret (for a known value: of where the value lives, never of
    /// the value), the baseline key with path and rule.
    pub fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

impl Finding {
    pub fn baseline_entry(&self) -> BaselineEntry {
        BaselineEntry {
            path: self.path.clone(),
            rule: self.rule.clone(),
            fingerprint: self.fingerprint.clone(),
        }
    }
}

/// What a scan looks for beyond the built-in rules, and what it accepts.
#[derive(Default)]
pub struct Options {
    pub allow: Allowlist,
    pub baseline: Option<Baseline>,
    pub known: Option<KnownValues>,
    pub policy: Option<FilePolicy>,
}

/// Where the bytes of a fragment sit in their file.
#[derive(Clone, Copy, Debug, Default)]
pub struct Lines<'a> {
    /// Lines before this fragment (for chunks of a large file).
    pub offset: usize,
    /// For history: the file line number of each line of the fragment.
    pub map: Option<&'a [u32]>,
}

pub struct Scanner {
    rules: RuleSet,
    opts: Options,
}

/// Bytes looked at to decide a file is binary.
const BINARY_PROBE: usize = 8000;

/// A NUL byte near the start marks a binary file (as git and ripgrep decide).
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(BINARY_PROBE)].contains(&0)
}

/// The 1-based UTF-16 column after `before`, the bytes of the line that precede a finding
/// (invalid UTF-8 counts one unit per replaced sequence).
fn utf16_column(before: &[u8]) -> usize {
    String::from_utf8_lossy(before).encode_utf16().count() + 1
}

/// Program source, where a generic value must be a quoted literal to count.
pub fn is_code_path(path: &str) -> bool {
    const EXT: &[&str] = &[
        "rs", "py", "js", "mjs", "cjs", "ts", "tsx", "jsx", "go", "java", "kt", "kts", "rb", "php",
        "c", "h", "cc", "cpp", "hpp", "cs", "swift", "scala", "m", "mm", "dart", "lua", "pl", "ex",
        "exs", "clj", "groovy", "vue", "svelte", "tcc", "hh", "hxx", "cxx", "ipp", "inl", "td",
        "wgsl", "glsl", "hlsl", "zig",
    ];
    path.rsplit_once('.')
        .is_some_and(|(_, ext)| EXT.iter().any(|e| ext.eq_ignore_ascii_case(e)))
}

/// `secrets.dec.yaml`, `app.decrypted.json`, `x.env.dec`: what `decrypt -o` leaves behind;
/// and a temp file of ours that an interrupted command left ([`crate::tempfiles`]).
pub fn is_decrypted_copy(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    crate::tempfiles::is_temp_path(path)
        || name.contains(".dec.")
        || name.contains(".decrypted.")
        || name.ends_with(".dec")
        || name.ends_with(".decrypted")
}

impl Scanner {
    pub fn new(opts: Options) -> Scanner {
        Scanner {
            rules: RuleSet::builtin(),
            opts,
        }
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    pub fn path_allowed(&self, rel: &str) -> bool {
        self.opts.allow.path_allowed(rel)
    }

    /// Checks on the whole file: must-be-encrypted and leftover decrypted copies.
    pub fn scan_path(&self, path: &str, bytes: &[u8], commit: Option<&str>) -> Vec<Finding> {
        let mut out = Vec::new();
        if self.path_allowed(path) || bytes.is_empty() {
            return out;
        }
        let mut push = |rule: &str, description: String| {
            let fingerprint = allow::fingerprint(path.as_bytes());
            if self.keep(path, rule, &fingerprint, b"") {
                out.push(Finding {
                    path: path.to_string(),
                    line: 1,
                    column: 1,
                    column_utf16: 1,
                    rule: rule.to_string(),
                    description,
                    preview: "(whole file)".into(),
                    fingerprint,
                    commit: commit.map(str::to_string),
                });
            }
        };
        if crate::tempfiles::is_temp_path(path) {
            push(
                DECRYPTED_COPY_ID,
                "Temporary file of an interrupted secrets command (it may hold plaintext); \
                 delete it, or run any secrets command in its directory"
                    .into(),
            );
        } else if is_decrypted_copy(path) {
            push(
                DECRYPTED_COPY_ID,
                "Decrypted copy of an encrypted file; delete it or add it to .gitignore".into(),
            );
        } else if let Some(policy) = &self.opts.policy {
            if let Some(reason) = policy(path, bytes) {
                push(UNENCRYPTED_FILE_ID, reason);
            }
        }
        out
    }

    /// Scans a whole file's content: path checks plus text (binary files get path checks
    /// only).
    pub fn scan_file(&self, path: &str, bytes: &[u8], commit: Option<&str>) -> Vec<Finding> {
        let mut out = self.scan_path(path, bytes, commit);
        if !is_binary(bytes) {
            out.extend(self.scan_text(path, bytes, Lines::default(), commit));
        }
        out
    }

    /// Scans text (a whole file, a chunk of one, or the added lines of a diff).
    pub fn scan_text(
        &self,
        path: &str,
        bytes: &[u8],
        lines: Lines<'_>,
        commit: Option<&str>,
    ) -> Vec<Finding> {
        if self.path_allowed(path) {
            return Vec::new();
        }
        let mut cands = self.rules.find(bytes, is_code_path(path));
        if let Some(k) = &self.opts.known {
            let before = cands.len();
            k.find(bytes, &mut cands);
            if cands.len() > before {
                cands.sort_by_key(|c| c.start);
            }
        }
        let mut out = Vec::with_capacity(cands.len());
        // Walk lines once, in order of candidate start.
        let mut line_no = 0usize; // 0-based index of the line containing `pos`
        let mut line_start = 0usize;
        let mut pos = 0usize;
        for c in cands {
            if c.start < pos {
                // Candidates are sorted; equal starts are possible only after known values.
                line_no = 0;
                line_start = 0;
                pos = 0;
            }
            for (i, &b) in bytes[pos..c.start].iter().enumerate() {
                if b == b'\n' {
                    line_no += 1;
                    line_start = pos + i + 1;
                }
            }
            pos = c.start;
            let line_end = bytes[c.start..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |p| c.start + p);
            let line = &bytes[line_start..line_end];
            if allow::inline_allowed(line) {
                continue;
            }
            if line_start > 0 {
                let prev_start = bytes[..line_start - 1]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |p| p + 1);
                if allow::allows_next_line(&bytes[prev_start..line_start - 1]) {
                    continue;
                }
            }
            let secret = &bytes[c.start..c.end];
            let fingerprint = self.fingerprint(&c, secret);
            if !self.keep(path, c.rule, &fingerprint, secret) {
                continue;
            }
            let file_line = match lines.map {
                Some(map) => map.get(line_no).map_or(line_no + 1, |&n| n as usize),
                None => lines.offset + line_no + 1,
            };
            let preview = if c.rule == known::ID {
                "********".to_string()
            } else {
                entropy::redact(secret)
            };
            out.push(Finding {
                path: path.to_string(),
                line: file_line,
                column: c.start - line_start + 1,
                column_utf16: utf16_column(&bytes[line_start..c.start]),
                rule: c.rule.to_string(),
                description: self.describe(c.rule).to_string(),
                preview,
                fingerprint,
                commit: commit.map(str::to_string),
            });
        }
        out
    }

    /// A known value's fingerprint names where it lives: one of the value would let anyone
    /// with the baseline or SARIF check guesses of an encrypted value offline.
    fn fingerprint(&self, c: &rule::Candidate, secret: &[u8]) -> String {
        let known = c
            .known
            .and_then(|i| self.opts.known.as_ref()?.fingerprint(i));
        known.map_or_else(|| allow::fingerprint(secret), str::to_string)
    }

    fn keep(&self, path: &str, rule: &str, fingerprint: &str, secret: &[u8]) -> bool {
        if self.opts.allow.rule_disabled(rule) || self.opts.allow.secret_allowed(secret) {
            return false;
        }
        !self
            .opts
            .baseline
            .as_ref()
            .is_some_and(|b| b.contains(path, rule, fingerprint))
    }

    /// A rule's description by id (built-in rules and the special checks).
    pub fn describe(&self, id: &str) -> &'static str {
        describe(id)
    }
}

/// A rule's description by id.
pub fn describe(id: &str) -> &'static str {
    match id {
        generic::ID => "Secret assigned to a password/secret/token/key name",
        generic::K8S_ID => "Value in a Kubernetes Secret's data",
        known::ID => "Plaintext copy of a value from an encrypted file",
        UNENCRYPTED_FILE_ID => "File that must be encrypted is in plaintext",
        DECRYPTED_COPY_ID => "Leftover decrypted copy of an encrypted file",
        _ => rules::BUILTIN
            .iter()
            .find(|r| r.id == id)
            .map_or("Secret", |r| r.description),
    }
}

/// Is this the id of a rule a scan can report (what `disable:` may name)?
pub fn is_rule_id(id: &str) -> bool {
    all_rules().iter().any(|(r, _)| *r == id)
}

/// Every rule id with its description (for SARIF's rule table and `--list-rules`).
pub fn all_rules() -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<_> = rules::BUILTIN
        .iter()
        .map(|r| (r.id, r.description))
        .collect();
    for id in [
        generic::ID,
        generic::K8S_ID,
        known::ID,
        UNENCRYPTED_FILE_ID,
        DECRYPTED_COPY_ID,
    ] {
        v.push((id, describe(id)));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> Vec<Finding> {
        Scanner::new(Options::default()).scan_file("f.env", text.as_bytes(), None)
    }

    #[test]
    fn finding_fields_and_redaction() {
        let f = scan("A=1\nKEY=AKIAUJZDEGXDNCF32EPF\n");
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].line, f[0].column), (2, 5));
        assert_eq!(f[0].rule, "aws-access-key-id");
        assert_eq!(f[0].preview, "AKIA************2EPF");
        let json = serde_json::to_string(&f).unwrap();
        assert!(!json.contains("AKIAUJZDEGXDNCF32EPF"));
    }

    #[test]
    fn inline_allow_and_baseline() {
        assert!(scan("KEY=AKIAUJZDEGXDNCF32EPF # secrets:allow\n").is_empty());
        assert!(scan("# pragma: allowlist nextline secret\nKEY=AKIAUJZDEGXDNCF32EPF\n").is_empty());
        let f = scan("KEY=AKIAUJZDEGXDNCF32EPF\n");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.json");
        std::fs::write(&p, Baseline::render(f.iter().map(Finding::baseline_entry))).unwrap();
        let s = Scanner::new(Options {
            baseline: Some(Baseline::load(&p).unwrap()),
            ..Options::default()
        });
        // A moved line keeps its baseline entry.
        assert!(s
            .scan_file("f.env", b"\n\nKEY=AKIAUJZDEGXDNCF32EPF\n", None)
            .is_empty());
        assert_eq!(
            s.scan_file("g.env", b"KEY=AKIAUJZDEGXDNCF32EPF\n", None)
                .len(),
            1
        );
    }

    #[test]
    fn known_value_findings_are_fingerprinted_by_origin() {
        let known = KnownValues::new(&[KnownValue {
            value: zeroize::Zeroizing::new("q8ZrT2vLx9Pw".to_string()),
            origin: "secrets/prod.yaml#0:db/password".to_string(),
        }]);
        let s = Scanner::new(Options {
            known: Some(known),
            ..Options::default()
        });
        let f = s.scan_file("notes.txt", b"pw q8ZrT2vLx9Pw\n", None);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, known::ID);
        assert_ne!(f[0].fingerprint, allow::fingerprint(b"q8ZrT2vLx9Pw"));
        assert_eq!(f[0].preview, "********");
    }

    #[test]
    fn path_checks() {
        let s = Scanner::new(Options::default());
        let f = s.scan_file("conf/secrets.dec.yaml", b"a: b\n", None);
        assert_eq!(f[0].rule, DECRYPTED_COPY_ID);
        assert!(s.scan_file("conf/secrets.yaml", b"a: b\n", None).is_empty());
    }

    #[test]
    fn history_line_map() {
        let s = Scanner::new(Options::default());
        let map = [7u32, 42];
        let f = s.scan_text(
            "x",
            b"a=1\nKEY=AKIAUJZDEGXDNCF32EPF\n",
            Lines {
                offset: 0,
                map: Some(&map),
            },
            Some("abc"),
        );
        assert_eq!(f[0].line, 42);
        assert_eq!(f[0].commit.as_deref(), Some("abc"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2000)) {
            let s = Scanner::new(Options::default());
            let _ = s.scan_file("x.env", &bytes, None);
            let _ = s.scan_text("x.rs", &bytes, Lines::default(), None);
        }

        #[test]
        fn never_panics_on_keyword_soup(parts in proptest::collection::vec(
            proptest::sample::select(vec!["password", "=", ":", "\"", "'", "\n", " ", "AKIA",
                "-----BEGIN PRIVATE KEY-----", "kind: Secret", "data:", "  x: ", "q8ZrT2vLx9Pw",
                "://", "@", "$ANSIBLE_VAULT;", ";base64,", "machine", "é", "\\"]), 0..60)) {
            let s = Scanner::new(Options::default());
            let text = parts.concat();
            let _ = s.scan_file("x.yaml", text.as_bytes(), None);
        }
    }
}
