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
pub mod providers;
pub mod published;
pub mod report;
pub mod rule;
pub mod rules;
pub mod shapes;
pub mod source;

use serde::Serialize;

pub use allow::{Allowlist, Baseline, BaselineEntry};
pub use known::{KnownValue, KnownValues};
pub use rule::RuleSet;

/// Bytes looked at by the steps of a scan that run per match (line and column lookups,
/// regex windows, allow checks), counted in unit tests to show the work is linear in the
/// input; nothing in a release build.
#[cfg(test)]
pub(crate) mod work {
    use std::cell::Cell;
    thread_local!(static BYTES: Cell<u64> = const { Cell::new(0) });
    pub fn add(n: usize) {
        BYTES.with(|b| b.set(b.get() + n as u64));
    }
    pub fn take() -> u64 {
        BYTES.with(|b| b.replace(0))
    }
}
#[cfg(not(test))]
pub(crate) mod work {
    #[inline(always)]
    pub fn add(_: usize) {}
}

pub const UNENCRYPTED_FILE_ID: &str = "unencrypted-secret-file";
pub const DECRYPTED_COPY_ID: &str = "decrypted-copy";
pub const KEY_STORE_ID: &str = "pkcs12-file";

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
    /// The secret with its middle starred (`AK************LE`, a fixed width); all stars for known values.
    pub preview: String,
    /// Truncated SHA-256 of the secret (for a known value: of where the value lives, never of
    /// the value), the baseline key with path and rule.
    pub fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// For a known value: the encrypted file and key path it comes from, which tells the
    /// user which key leaked. Shown in the terminal; in JSON only with `--show-origin`;
    /// never in SARIF or a baseline (committed files must not map copies to keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
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

/// A PKCS#12 file (`.p12`, `.pfx`) holding a key: DER (which starts with a SEQUENCE tag)
/// with a key bag in it. Binary, so no text rule sees the key inside. A store's keys sit
/// in a part of it that is not encrypted as a whole (each key bag is encrypted on its
/// own), so their bag type is readable; certificates sit in an encrypted part. A
/// truststore, certificates only, shows no key bag and is not reported.
pub fn is_key_store(path: &str, bytes: &[u8]) -> bool {
    let lower = path.to_ascii_lowercase();
    (lower.ends_with(".p12") || lower.ends_with(".pfx"))
        && bytes.first() == Some(&0x30)
        && KEY_BAG_OIDS
            .iter()
            .any(|oid| memchr::memmem::find(bytes, oid).is_some())
}

/// The DER of the bag types that hold a key (RFC 7292 4.2): keyBag, pkcs8ShroudedKeyBag
/// and secretBag (`1.2.840.113549.1.12.10.1.{1,2,5}`), tag and length included.
const KEY_BAG_OIDS: [&[u8]; 3] = [
    b"\x06\x0b\x2a\x86\x48\x86\xf7\x0d\x01\x0c\x0a\x01\x01",
    b"\x06\x0b\x2a\x86\x48\x86\xf7\x0d\x01\x0c\x0a\x01\x02",
    b"\x06\x0b\x2a\x86\x48\x86\xf7\x0d\x01\x0c\x0a\x01\x05",
];

pub use crate::git::is_binary;

/// UTF-16 code units of `bytes` read as UTF-8, each invalid sequence counting one
/// (`String::from_utf8_lossy(bytes).encode_utf16().count()`, without the copy).
pub fn utf16_units(bytes: &[u8]) -> usize {
    bytes
        .utf8_chunks()
        .map(|c| c.valid().encode_utf16().count() + usize::from(!c.invalid().is_empty()))
        .sum()
}

/// Where the bytes handed to [`Scanner::scan_bytes`] sit, and which findings to report.
struct Place<'a> {
    lines_before: usize,
    map: Option<&'a [u32]>,
    column: usize,
    column_utf16: usize,
    report: std::ops::Range<usize>,
}

/// Where a chunk of a large file or stream sits, for [`Scanner::scan_chunk`] (see
/// [`source::scan_reader`]).
#[derive(Clone, Debug, Default)]
pub struct Chunk {
    /// Lines of the file before the chunk.
    pub lines_before: usize,
    /// Bytes, and UTF-16 code units, of the chunk's first line that lie before the chunk: not
    /// zero when a line longer than a chunk was cut.
    pub column: usize,
    pub column_utf16: usize,
    /// Where the findings this chunk reports start (offsets in the chunk); those outside are
    /// reported by the chunk before or after it, which see them with more context.
    pub report: std::ops::Range<usize>,
}

/// Line, column and allow comments of positions visited in increasing order. Each byte is
/// looked at a bounded number of times however many findings a line holds: newlines are
/// counted once, a line's allow comments are checked once, and the UTF-16 column moves on
/// from the previous finding of the line.
struct LineCursor<'a> {
    bytes: &'a [u8],
    /// The position reached, its 0-based line, where that line starts, and where the line
    /// before it starts.
    pos: usize,
    line_no: usize,
    line_start: usize,
    prev_start: Option<usize>,
    /// The line's allow comments, once looked at.
    allowed: Option<bool>,
    /// UTF-16 units of `line_start..utf16_at`; `utf16_at` is never inside a character.
    utf16_at: usize,
    utf16: usize,
}

impl<'a> LineCursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCursor {
            bytes,
            pos: 0,
            line_no: 0,
            line_start: 0,
            prev_start: None,
            allowed: None,
            utf16_at: 0,
            utf16: 0,
        }
    }

    /// Moves to `to` (not before the current position).
    fn seek(&mut self, to: usize) {
        debug_assert!(to >= self.pos, "positions come in order");
        let from = self.pos.min(to);
        work::add(to - from);
        for p in memchr::memchr_iter(b'\n', &self.bytes[from..to]) {
            self.prev_start = Some(self.line_start);
            self.line_start = from + p + 1;
            self.line_no += 1;
            self.allowed = None;
            self.utf16_at = self.line_start;
            self.utf16 = 0;
        }
        self.pos = to;
    }

    /// Does the current line, or the line before it, carry an allow comment for it?
    fn allowed(&mut self) -> bool {
        if let Some(a) = self.allowed {
            return a;
        }
        let bytes = self.bytes;
        let start = self.line_start;
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |p| start + p);
        work::add(end - start);
        let mut a = allow::inline_allowed(&bytes[start..end]);
        if let Some(prev) = self.prev_start.filter(|_| !a) {
            work::add(start - 1 - prev);
            a = allow::allows_next_line(&bytes[prev..start - 1]);
        }
        self.allowed = Some(a);
        a
    }

    /// UTF-16 units of the current line before the current position (invalid UTF-8 counts
    /// one unit per replaced sequence, as `String::from_utf8_lossy` replaces it).
    fn utf16_units(&mut self) -> usize {
        let to = self.pos;
        let mut units = self.utf16;
        let mut at = self.utf16_at;
        work::add(to - at);
        for c in self.bytes[at..to].utf8_chunks() {
            units += c.valid().encode_utf16().count();
            at += c.valid().len();
            let bad = c.invalid().len();
            if bad == 0 {
                continue;
            }
            if at + bad == to {
                // Maybe a character cut at `to`: it counts here, but the next position
                // decodes it again with what follows.
                self.utf16_at = at;
                self.utf16 = units;
                return units + 1;
            }
            units += 1;
            at += bad;
        }
        self.utf16_at = at;
        self.utf16 = units;
        units
    }
}

/// Program source, where a generic value must be a quoted literal to count.
pub fn is_code_path(path: &str) -> bool {
    const EXT: &[&str] = &[
        "rs", "py", "js", "mjs", "cjs", "ts", "tsx", "jsx", "go", "java", "kt", "kts", "rb", "php",
        "c", "h", "cc", "cpp", "hpp", "cs", "swift", "scala", "m", "mm", "dart", "lua", "pl", "ex",
        "exs", "clj", "groovy", "vue", "svelte", "tcc", "hh", "hxx", "cxx", "ipp", "inl", "td",
        "wgsl", "glsl", "hlsl", "zig",
        // HCL (Terraform): a value is a quoted string, an unquoted one an expression.
        "tf", "tfvars", "hcl",
    ];
    path.rsplit_once('.')
        .is_some_and(|(_, ext)| EXT.iter().any(|e| ext.eq_ignore_ascii_case(e)))
}

/// C, C++ and Objective-C, where `'…'` of several characters is a multi-character
/// constant (an `int`), not a string. (In Java, Go, Rust or C# it does not compile, so a
/// file holding one is not really in that language and its quotes are read as strings.)
pub fn has_char_quotes(path: &str) -> bool {
    const EXT: &[&str] = &[
        "c", "h", "cc", "cpp", "hpp", "m", "mm", "tcc", "hh", "hxx", "cxx", "ipp", "inl",
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

    /// Whether [`Self::scan_text`] could find anything in `bytes` or in any of its lines
    /// joined (the lines a commit adds to a file): every finding starts at a rule's keyword
    /// or a known value, and neither holds a newline, so one in the joined lines is in
    /// `bytes`. A history scan skips diffing a file where this is false of the part of its
    /// new content that added lines can come from. The whole-file path checks are the
    /// caller's.
    pub fn may_find(&self, path: &str, bytes: &[u8]) -> bool {
        !self.path_allowed(path)
            && (self.rules.may_match(bytes)
                || self.opts.known.as_ref().is_some_and(|k| k.may_occur(bytes)))
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
                    origin: None,
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
        if is_key_store(path, bytes) {
            push(KEY_STORE_ID, describe(KEY_STORE_ID).into());
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

    /// Scans text (a whole file, or the added lines of a diff).
    pub fn scan_text(
        &self,
        path: &str,
        bytes: &[u8],
        lines: Lines<'_>,
        commit: Option<&str>,
    ) -> Vec<Finding> {
        let at = Place {
            lines_before: lines.offset,
            map: lines.map,
            column: 0,
            column_utf16: 0,
            report: 0..bytes.len(),
        };
        self.scan_bytes(path, bytes, &at, commit)
    }

    /// Scans one chunk of a large file or stream (see [`Chunk`]).
    pub fn scan_chunk(&self, path: &str, bytes: &[u8], chunk: &Chunk) -> Vec<Finding> {
        let at = Place {
            lines_before: chunk.lines_before,
            map: None,
            column: chunk.column,
            column_utf16: chunk.column_utf16,
            report: chunk.report.clone(),
        };
        self.scan_bytes(path, bytes, &at, None)
    }

    /// The findings in `bytes`. Every step after the rules is linear in `bytes`: candidates
    /// come sorted, and one [`LineCursor`] walks forward to each, so a finding's line,
    /// columns and allow comments never cost a rescan of its line.
    fn scan_bytes(
        &self,
        path: &str,
        bytes: &[u8],
        at: &Place<'_>,
        commit: Option<&str>,
    ) -> Vec<Finding> {
        if self.path_allowed(path) {
            return Vec::new();
        }
        let mut cands = self
            .rules
            .find_in(bytes, is_code_path(path), has_char_quotes(path));
        if let Some(k) = &self.opts.known {
            let before = cands.len();
            k.find(bytes, &mut cands);
            if cands.len() > before {
                cands.sort_by_key(|c| c.start);
            }
        }
        let mut out = Vec::with_capacity(cands.len());
        let mut cursor = LineCursor::new(bytes);
        for c in cands {
            if !at.report.contains(&c.start) {
                continue;
            }
            cursor.seek(c.start);
            if cursor.allowed() {
                continue;
            }
            let secret = &bytes[c.start..c.end];
            let fingerprint = self.fingerprint(&c, secret);
            if !self.keep(path, c.rule, &fingerprint, secret) {
                continue;
            }
            let line_no = cursor.line_no;
            let file_line = match at.map {
                Some(map) => map.get(line_no).map_or(line_no + 1, |&n| n as usize),
                None => at.lines_before + line_no + 1,
            };
            // The first line may continue a line that began before these bytes.
            let (before, before_utf16) = match line_no {
                0 => (at.column, at.column_utf16),
                _ => (0, 0),
            };
            let preview = if c.rule == known::ID {
                "********".to_string()
            } else {
                entropy::redact(secret)
            };
            out.push(Finding {
                path: path.to_string(),
                line: file_line,
                column: before + c.start - cursor.line_start + 1,
                column_utf16: before_utf16 + cursor.utf16_units() + 1,
                rule: c.rule.to_string(),
                description: self.describe(c.rule).to_string(),
                preview,
                fingerprint,
                commit: commit.map(str::to_string),
                origin: c
                    .known
                    .and_then(|i| self.opts.known.as_ref()?.origin(i))
                    .map(str::to_string),
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
        KEY_STORE_ID => "PKCS#12 store holding a private key",
        _ => rules::all()
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
    let mut v: Vec<_> = rules::all().map(|r| (r.id, r.description)).collect();
    for id in [
        generic::ID,
        generic::K8S_ID,
        known::ID,
        UNENCRYPTED_FILE_ID,
        DECRYPTED_COPY_ID,
        KEY_STORE_ID,
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
        assert_eq!(f[0].preview, "AK************PF");
        let json = serde_json::to_string(&f).unwrap();
        assert!(!json.contains("AKIAUJZDEGXDNCF32EPF"));
    }

    #[test]
    fn makefile_immediate_assignments() {
        // GNU make's `::=` and `:::=` assign like `:=`; `::` alone is a path, not one.
        for op in ["::=", ":::="] {
            let f = scan(&format!(
                "heroku_TOKEN {op} \"ce230a7d-fb82-1dff-5cb9-504555792e06\"\n"
            ));
            assert_eq!(f.len(), 1, "{op}");
            assert_eq!(f[0].rule, "heroku-api-key");
        }
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
        assert_eq!(
            f[0].origin.as_deref(),
            Some("secrets/prod.yaml:db/password")
        );
    }

    #[test]
    fn path_checks() {
        let s = Scanner::new(Options::default());
        let f = s.scan_file("conf/secrets.dec.yaml", b"a: b\n", None);
        assert_eq!(f[0].rule, DECRYPTED_COPY_ID);
        assert!(s.scan_file("conf/secrets.yaml", b"a: b\n", None).is_empty());
        // A PKCS#12 store by its name, DER start and a key bag; a text file so named, and a
        // store with no key bag (a truststore), are not one.
        let mut store = b"\x30\x82\x0a\x01\x02\x01\x03\x30\x0f".to_vec();
        let truststore = s.scan_file("certs/ca.p12", &store, None);
        assert!(truststore.is_empty(), "{truststore:?}");
        store.extend_from_slice(KEY_BAG_OIDS[1]);
        let f = s.scan_file("certs/client.PFX", &store, None);
        assert_eq!(f[0].rule, KEY_STORE_ID);
        assert!(s
            .scan_file("notes.p12", b"see the p12 docs\n", None)
            .is_empty());
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

    /// A one-line JSON object of `n` pairs: every 8th a random-looking token under a
    /// `token` key, every 4th an inline image (a `;base64,` block); issue 10, case 5.
    fn one_line_json(n: usize) -> String {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        const B62: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut s = String::from("{");
        for i in 0..n {
            if i > 0 {
                s.push_str(", ");
            }
            if i % 8 == 0 {
                let v: String = (0..32)
                    .map(|_| B62[(rnd() % 62) as usize] as char)
                    .collect();
                s.push_str(&format!("\"api_token_{i}\": \"{v}\""));
            } else if i % 4 == 2 {
                s.push_str(&format!(
                    "\"img_{i}\": \"data:image/png;base64,iVBORw0KGgo{i}\""
                ));
            } else {
                s.push_str(&format!("\"name_{i}\": \"value number {i}\""));
            }
        }
        s.push_str("}\n");
        s
    }

    /// The per-match steps (line and column of a finding, allow comments, regex windows,
    /// encrypted blocks) look at a bounded number of bytes each: four times the line, four
    /// times the work, not sixteen (issue 10, case 5: a 1 MB line took 73 s).
    #[test]
    fn work_is_linear_on_a_long_line() {
        let s = Scanner::new(Options::default());
        type Make = fn(usize) -> String;
        let inputs: [(&str, Make); 3] = [
            ("json", one_line_json),
            ("keys", |n| "secret.".repeat(n * 4) + "\n"),
            ("tokens", |n| {
                (0..n)
                    .map(|i| {
                        let h = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32;
                        format!("t=\"ghp_hGAkWvj7FAc9QeWJKY40uvSwMFLZ{h:08x}\";")
                    })
                    .collect::<String>()
                    + "\n"
            }),
        ];
        for (name, make) in inputs {
            let (small, large) = (make(2_000), make(8_000));
            work::take();
            let f_small = s.scan_file("v.json", small.as_bytes(), None);
            let w_small = work::take();
            let f_large = s.scan_file("v.json", large.as_bytes(), None);
            let w_large = work::take();
            assert!(
                f_large.len() >= 4 * f_small.len() * 9 / 10,
                "{name}: {} then {} findings",
                f_small.len(),
                f_large.len()
            );
            assert!(
                w_large <= 5 * w_small.max(1),
                "{name}: {w_small} bytes of work for {} bytes, {w_large} for {}",
                small.len(),
                large.len()
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2000)) {
            let s = Scanner::new(Options::default());
            let _ = s.scan_file("x.env", &bytes, None);
            let _ = s.scan_text("x.rs", &bytes, Lines::default(), None);
        }

        /// The cursor's line, columns and UTF-16 units at increasing positions are those of
        /// a rescan from the line start, whatever the bytes (cut or invalid UTF-8).
        #[test]
        fn line_cursor_matches_a_rescan(
            bytes in proptest::collection::vec(proptest::sample::select(
                vec![b'a', b'\n', 0xC3, 0xA9, 0xF0, 0x9F, 0x98, 0x80, 0xFF, 0xE2]), 0..200),
            mut stops in proptest::collection::vec(0usize..200, 0..20),
        ) {
            stops.iter_mut().for_each(|p| *p = (*p).min(bytes.len()));
            stops.sort();
            let mut c = LineCursor::new(&bytes);
            for p in stops {
                c.seek(p);
                let line_start = bytes[..p].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                let line_no = bytes[..p].iter().filter(|&&b| b == b'\n').count();
                let want = String::from_utf8_lossy(&bytes[line_start..p]).encode_utf16().count();
                proptest::prop_assert_eq!((c.line_no, c.line_start), (line_no, line_start));
                proptest::prop_assert_eq!(c.utf16_units(), want);
                proptest::prop_assert_eq!(utf16_units(&bytes[line_start..p]), want);
            }
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
