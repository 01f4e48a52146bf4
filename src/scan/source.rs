//! Where the bytes come from: the working tree (walked in parallel with `ignore`, dotfiles
//! such as `.env`, `.npmrc`, `.netrc` included, `.gitignore` respected), explicit files
//! (scanned exactly as given, ignored or not), and stdin. The staged index and history come
//! from [`crate::git`]. Large files are read in chunks cut at line ends, so memory stays
//! bounded whatever the input.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::{is_binary, Chunk, Finding, Scanner};

/// Files up to this size are read whole; larger ones in chunks of this size.
pub const CHUNK: usize = 8 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// Counts for the summary line and benchmarks.
#[derive(Debug, Default)]
pub struct Stats {
    pub files: AtomicU64,
    pub bytes: AtomicU64,
}

/// The outcome of a walk: findings, plus the files that could not be read (the caller
/// reports the findings, then fails: an unread file is not a clean one).
#[derive(Debug, Default)]
pub struct Walked {
    pub findings: Vec<Finding>,
    pub unreadable: Vec<String>,
}

/// A path as the scanner names it: relative to `root` when under it, `/`-separated;
/// otherwise as given (absolute for the CLI's targets).
pub fn display_path(root: &Path, path: &Path) -> String {
    let Ok(rel) = path.strip_prefix(root) else {
        return path.to_string_lossy().replace('\\', "/");
    };
    let rel = rel.strip_prefix("./").unwrap_or(rel);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Scans one file from disk, in chunks when it is large.
pub fn scan_disk_file(
    scanner: &Scanner,
    root: &Path,
    path: &Path,
    stats: &Stats,
) -> Result<Vec<Finding>, SourceError> {
    let name = display_path(root, path);
    if scanner.path_allowed(&name) {
        return Ok(Vec::new());
    }
    let err = |error| SourceError::Io {
        path: path.to_path_buf(),
        error,
    };
    let meta = std::fs::metadata(path).map_err(err)?;
    if !meta.is_file() {
        // A FIFO or device would block or never end; it is not a file we can vouch for.
        return Err(err(std::io::Error::other("not a regular file")));
    }
    let file = std::fs::File::open(path).map_err(err)?;
    scan_reader(scanner, &name, file, meta.len(), stats).map_err(err)
}

/// Bytes of each chunk's end scanned again at the start of the next, so a match cut by the
/// chunk boundary (a PEM block, a token in a long line) is seen whole; longer than any
/// rule's match.
pub const OVERLAP: usize = 64 << 10;

/// Scans a stream in chunks of about [`CHUNK`] bytes; path checks see the first chunk.
///
/// A chunk ends after its last line end, and the next one starts with the whole lines of
/// its last [`OVERLAP`] bytes; a finding that starts in those lines is left to the next
/// chunk, which sees it with what follows, so none is reported twice. When no line ends
/// in the second half of the buffer (a minified bundle: one line of megabytes), the chunk
/// is cut inside the line instead: the next one starts [`OVERLAP`] bytes before the cut
/// (on a character boundary), this chunk reports what starts in the first half of the
/// overlap and the next one the rest, so each finding is seen with at least
/// `OVERLAP / 2` bytes on either side; the next chunk's columns continue the line's.
/// Every byte is read once and scanned at most twice, and memory stays at one chunk.
/// `size_hint` is the input's size when known (0 otherwise): the buffer is allocated once.
pub fn scan_reader(
    scanner: &Scanner,
    name: &str,
    mut r: impl Read,
    size_hint: u64,
    stats: &Stats,
) -> std::io::Result<Vec<Finding>> {
    let mut out = Vec::new();
    let mut buf: Vec<u8> = Vec::with_capacity(size_hint.min(CHUNK as u64) as usize + 1);
    let mut at = Chunk::default();
    let mut carried = 0usize; // bytes at the start of `buf` already scanned (the overlap)
    let mut first = true;
    loop {
        // Fill up to CHUNK bytes (keeping what was carried over).
        let want = CHUNK.saturating_sub(buf.len()).max(1);
        let got = (&mut r).take(want as u64).read_to_end(&mut buf)?;
        let eof = got == 0 || buf.len() < CHUNK;
        if first {
            first = false;
            if is_binary(&buf) {
                return Ok(scanner.scan_path(name, &buf, None));
            }
            out.extend(scanner.scan_path(name, &buf, None));
        }
        let split = if eof {
            Split::whole(buf.len())
        } else {
            Split::of(&buf, carried)
        };
        stats
            .bytes
            .fetch_add((split.cut - carried) as u64, Ordering::Relaxed);
        at.report.end = split.report_to;
        out.extend(scanner.scan_chunk(name, &buf[..split.cut], &at));
        if eof {
            break;
        }
        // Where the next chunk starts: its line, and its column in that line.
        let gone = &buf[..split.next];
        match memchr::memrchr(b'\n', gone) {
            Some(p) => {
                at.column = gone.len() - p - 1;
                at.column_utf16 = super::utf16_units(&gone[p + 1..]);
            }
            None => {
                at.column += gone.len();
                at.column_utf16 += super::utf16_units(gone);
            }
        }
        at.lines_before += memchr::memchr_iter(b'\n', gone).count();
        at.report.start = split.report_to - split.next;
        buf.drain(..split.next);
        carried = split.cut - split.next;
    }
    stats.files.fetch_add(1, Ordering::Relaxed);
    Ok(out)
}

/// How a full buffer is cut: scanned up to `cut`, reporting findings that start before
/// `report_to`; the next chunk starts at `next` (`next <= report_to <= cut`).
#[derive(Debug, PartialEq, Eq)]
struct Split {
    cut: usize,
    next: usize,
    report_to: usize,
}

impl Split {
    fn whole(len: usize) -> Split {
        Split {
            cut: len,
            next: len,
            report_to: len,
        }
    }

    /// `buf` is full (at least [`CHUNK`] bytes), its first `carried` bytes scanned before.
    fn of(buf: &[u8], carried: usize) -> Split {
        let half = buf.len() / 2;
        let last_line_end =
            memchr::memrchr(b'\n', &buf[half.max(carried)..]).map(|p| half.max(carried) + p + 1);
        if let Some(cut) = last_line_end {
            // The first whole line within the last OVERLAP bytes before the cut.
            let from = cut - OVERLAP.min(cut);
            let next = match from {
                0 => 0,
                _ => memchr::memchr(b'\n', &buf[from - 1..cut]).map_or(cut, |p| from + p),
            };
            return Split {
                cut,
                next,
                report_to: next,
            };
        }
        // No line end in the second half: cut inside the (long) line.
        let cut = buf.len();
        let mut next = cut - OVERLAP;
        // On a character boundary, so UTF-16 columns add up across chunks.
        while next > cut - OVERLAP - 3 && (buf[next] & 0xC0) == 0x80 {
            next -= 1;
        }
        Split {
            cut,
            next,
            report_to: next + OVERLAP / 2,
        }
    }
}

/// Walks `targets` (directories are walked with ignore rules; files are scanned as given).
pub fn walk(
    scanner: &Scanner,
    root: &Path,
    targets: &[PathBuf],
    threads: usize,
    stats: &Stats,
) -> Walked {
    let results = Mutex::new(Walked::default());
    let record = |r: Result<Vec<Finding>, SourceError>| {
        let mut w = results.lock().unwrap_or_else(|e| e.into_inner());
        match r {
            Ok(f) => w.findings.extend(f),
            Err(e) => w.unreadable.push(e.to_string()),
        }
    };
    let mut dirs = Vec::new();
    for t in targets {
        if t.is_dir() {
            dirs.push(t.clone());
        } else {
            record(scan_disk_file(scanner, root, t, stats));
        }
    }
    if let Some((first, rest)) = dirs.split_first() {
        let mut b = ignore::WalkBuilder::new(first);
        for d in rest {
            b.add(d);
        }
        b.hidden(false)
            .require_git(false)
            .threads(threads)
            .filter_entry(|e| e.file_name() != ".git");
        b.build_parallel().run(|| {
            Box::new(|entry| {
                match entry {
                    Ok(e) if e.file_type().is_some_and(|t| t.is_file()) => {
                        record(scan_disk_file(scanner, root, e.path(), stats));
                    }
                    Ok(_) => {}
                    Err(e) => record(Err(SourceError::Io {
                        path: root.to_path_buf(),
                        error: std::io::Error::other(e.to_string()),
                    })),
                }
                ignore::WalkState::Continue
            })
        });
    }
    results.into_inner().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::Options;

    #[test]
    fn chunks_keep_line_numbers() {
        let s = Scanner::new(Options::default());
        let mut text = "filler line\n".repeat(CHUNK / 12 + 100);
        text.push_str("KEY=AKIAUJZDEGXDNCF32EPF\n");
        let stats = Stats::default();
        let f = scan_reader(&s, "big.txt", text.as_bytes(), 0, &stats).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].line, CHUNK / 12 + 101);
        assert_eq!(stats.bytes.load(Ordering::Relaxed), text.len() as u64);
    }

    /// Read in chunks, a text gives the findings of the same text scanned whole (lines,
    /// byte and UTF-16 columns): short lines, then a line of 2.5 chunks with multi-byte
    /// characters and secrets on and around every cut, then short lines again.
    #[test]
    fn chunked_reading_matches_a_whole_scan() {
        let keys = [
            "AKIAUJZDEGXDNCF32EPF",
            "AKIAQ7M3XK2PZR5TWB4N",
            "AKIAV4NH6JQ2LXMRC7DS",
            "AKIAR2WT5KZ7PQN3MXJ6",
            "AKIAZ3LQ7TV2NW6KRXP5",
        ];
        let mut text = String::new();
        for i in 0..100_000 {
            text.push_str(&format!("line {i} of short text\n"));
            if i % 25_000 == 7 {
                text.push_str(&format!("KEY={}\n", keys[i / 25_000]));
            }
        }
        let long_start = text.len();
        let filler = "x=\"é😀\";";
        while text.len() < long_start + CHUNK * 5 / 2 {
            text.push_str(filler);
        }
        text.push('\n');
        text.push_str(&"after\n".repeat(100_000));
        text.push_str("KEY=AKIAUJZDEGXDNCF32EPF\n");
        // Secrets on the long line every 300 KB and around each 8 MiB of the file.
        let mut bytes = text.into_bytes();
        let mut at: Vec<usize> = (long_start + 1000..long_start + CHUNK * 5 / 2 - 100)
            .step_by(300_000)
            .collect();
        for k in 1..=3 {
            for d in [70_000, 65_536, 40_000, 32_768, 100, 10, 0] {
                at.push(k * CHUNK - d);
            }
        }
        at.retain(|&a| a > long_start + 10 && a < long_start + CHUNK * 5 / 2 - 100);
        for (n, a) in at.iter().enumerate() {
            // A character boundary at or before `a`.
            let mut a = *a;
            while (bytes[a] & 0xC0) == 0x80 {
                a -= 1;
            }
            // Distinct keys: the last two characters count `n` in base 32.
            const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
            let mut key = format!("\"{}\"", keys[n % keys.len()]).into_bytes();
            key[19] = B32[n / 32 % 32];
            key[20] = B32[n % 32];
            bytes[a..a + key.len()].copy_from_slice(&key);
            // Repair a character cut at the end with ASCII.
            let mut e = a + key.len();
            while (bytes[e] & 0xC0) == 0x80 {
                bytes[e] = b'x';
                e += 1;
            }
        }
        let s = Scanner::new(Options::default());
        let key = |f: &Finding| (f.line, f.column, f.column_utf16, f.fingerprint.clone());
        let mut whole: Vec<_> = s.scan_file("t.txt", &bytes, None).iter().map(key).collect();
        let mut chunked: Vec<_> = scan_reader(&s, "t.txt", &bytes[..], 0, &Stats::default())
            .unwrap()
            .iter()
            .map(key)
            .collect();
        whole.sort();
        chunked.sort();
        assert!(whole.len() > 30, "{}", whole.len());
        assert_eq!(chunked, whole);
    }

    #[test]
    fn walk_includes_dotfiles_and_respects_gitignore() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(".env"), "KEY=AKIAUJZDEGXDNCF32EPF\n").unwrap();
        std::fs::write(d.path().join(".gitignore"), "ignored.txt\n").unwrap();
        std::fs::write(d.path().join("ignored.txt"), "KEY=AKIAUJZDEGXDNCF32EPF\n").unwrap();
        std::fs::write(d.path().join("bin.dat"), b"\0AKIAUJZDEGXDNCF32EPF").unwrap();
        let s = Scanner::new(Options::default());
        let w = walk(
            &s,
            d.path(),
            &[d.path().to_path_buf()],
            2,
            &Stats::default(),
        );
        let paths: Vec<_> = w.findings.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, [".env"]);
        // Given explicitly, an ignored file is scanned.
        let w = walk(
            &s,
            d.path(),
            &[d.path().join("ignored.txt")],
            2,
            &Stats::default(),
        );
        assert_eq!(w.findings.len(), 1);
    }
}
