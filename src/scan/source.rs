//! Where the bytes come from: the working tree (walked in parallel with `ignore`, dotfiles
//! such as `.env`, `.npmrc`, `.netrc` included, `.gitignore` respected), explicit files
//! (scanned exactly as given, ignored or not), and stdin. The staged index and history come
//! from [`crate::git`]. Large files are read in chunks cut at line ends, so memory stays
//! bounded whatever the input.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::{is_binary, Finding, Lines, Scanner};

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
    scan_reader(scanner, &name, file, stats).map_err(err)
}

/// Bytes of each chunk's end scanned again at the start of the next, so a multi-line
/// match (a PEM block) cut by the chunk boundary is seen whole; longer than any rule's match.
pub const OVERLAP: usize = 64 << 10;

/// Scans a stream in line-aligned chunks; path checks see the first chunk. Consecutive
/// chunks overlap by up to [`OVERLAP`] bytes (whole lines); a finding that starts in the
/// overlap is left to the next chunk, which sees it with what follows, so none is reported
/// twice.
pub fn scan_reader(
    scanner: &Scanner,
    name: &str,
    mut r: impl Read,
    stats: &Stats,
) -> std::io::Result<Vec<Finding>> {
    let mut out = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut line_offset = 0usize;
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
        let cut = chunk_end(&buf, carried, eof);
        stats
            .bytes
            .fetch_add((cut - carried) as u64, Ordering::Relaxed);
        let next = if eof { cut } else { overlap_start(&buf, cut) };
        let lines_before_next = line_offset + count_lines(&buf[..next]);
        let found = scanner.scan_text(
            name,
            &buf[..cut],
            Lines {
                offset: line_offset,
                map: None,
            },
            None,
        );
        out.extend(found.into_iter().filter(|f| f.line <= lines_before_next));
        line_offset = lines_before_next;
        buf.drain(..next);
        carried = cut - next;
        if eof && buf.is_empty() {
            break;
        }
    }
    stats.files.fetch_add(1, Ordering::Relaxed);
    Ok(out)
}

/// Where this chunk's scan ends: after its last newline past the carried overlap (the
/// whole buffer at the end of input, or when a line is longer than the buffer).
fn chunk_end(buf: &[u8], carried: usize, eof: bool) -> usize {
    if eof {
        return buf.len();
    }
    match buf.iter().rposition(|&b| b == b'\n') {
        Some(p) if p + 1 > carried => p + 1,
        _ => buf.len(),
    }
}

/// The start of the first whole line within the last [`OVERLAP`] bytes before `cut`
/// (`cut` itself when there is none: no overlap).
fn overlap_start(buf: &[u8], cut: usize) -> usize {
    let from = cut.saturating_sub(OVERLAP);
    if from == 0 {
        return 0;
    }
    buf[from - 1..cut]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(cut, |p| from + p)
}

fn count_lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
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
        let f = scan_reader(&s, "big.txt", text.as_bytes(), &stats).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].line, CHUNK / 12 + 101);
        assert_eq!(stats.bytes.load(Ordering::Relaxed), text.len() as u64);
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
