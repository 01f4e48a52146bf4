//! The lines one commit adds to one file: the new blob's lines that a zero-context diff
//! against the old blob marks `+` (libgit2's xdiff, as before), or every line of a new
//! file without diffing. For a merge, only the lines new relative to every parent.
//!
//! Binary blobs are skipped as git and the tree scan decide it (a NUL byte in the first
//! 8000 bytes); an old side that is binary counts as empty, so a text file that replaces a
//! binary one is scanned whole (libgit2's diff skipped the pair). A blob over libgit2's
//! diff limit (512 MiB) is skipped, as the diff skipped it.

use git2::{DiffOptions, Oid, Repository};

/// Bytes looked at to decide a blob is binary (git's and the tree scan's probe).
const BINARY_PROBE: usize = 8000;
/// libgit2's default `max_size` for a diff: larger blobs were treated as binary.
const MAX_BLOB: usize = 512 << 20;

/// The lines added to one file, joined (each ending in a newline), with each line's number
/// in the new file.
#[derive(Debug, PartialEq, Eq)]
pub struct Lines {
    pub numbers: Vec<u32>,
    pub text: Vec<u8>,
    /// No parent had the file.
    pub new_file: bool,
}

fn is_binary(bytes: &[u8]) -> bool {
    bytes.len() > MAX_BLOB || bytes[..bytes.len().min(BINARY_PROBE)].contains(&0)
}

/// What the blob `new` adds over each of `olds` (one per parent; `None`: the file is new
/// there). `None` when nothing is added, or when `worth` says nothing in the new content
/// could matter (then no diff is made).
pub fn added(
    repo: &Repository,
    olds: &[Option<Oid>],
    new: Oid,
    worth: impl FnOnce(&[u8]) -> bool,
) -> Result<Option<Lines>, git2::Error> {
    let new_blob = repo.find_blob(new)?;
    let content = new_blob.content();
    if content.is_empty() || is_binary(content) || !worth(content) {
        return Ok(None);
    }
    let mut common: Option<Vec<u32>> = None;
    for old in olds {
        let numbers = match old {
            Some(id) => {
                let old_blob = repo.find_blob(*id)?;
                if is_binary(old_blob.content()) {
                    all_lines(content)
                } else {
                    diff_added(repo, &old_blob, &new_blob)?
                }
            }
            None => all_lines(content),
        };
        common = Some(match common {
            None => numbers,
            Some(c) => intersect(&c, &numbers),
        });
    }
    let numbers = common.unwrap_or_default();
    if numbers.is_empty() {
        return Ok(None);
    }
    let text = pick_lines(content, &numbers);
    Ok(Some(Lines {
        numbers,
        text,
        new_file: olds.iter().all(Option::is_none),
    }))
}

/// 1..=n for a text of n lines (a last line without a newline counts).
fn all_lines(content: &[u8]) -> Vec<u32> {
    let mut n = memchr::memchr_iter(b'\n', content).count();
    if !content.is_empty() && !content.ends_with(b"\n") {
        n += 1;
    }
    (1..=n as u32).collect()
}

/// The numbers, in the new blob, of the lines a zero-context diff adds. (Cutting the
/// common head and tail off first, to spare xdiff hashing the unchanged lines, moved
/// some added lines among repeated ones: xdiff's clean-up counts lines over the whole
/// file. Whole blobs it is.)
fn diff_added(
    repo: &Repository,
    old: &git2::Blob<'_>,
    new: &git2::Blob<'_>,
) -> Result<Vec<u32>, git2::Error> {
    let mut opts = DiffOptions::new();
    // Binary was decided above, by the same rule.
    opts.context_lines(0).force_text(true);
    let mut numbers = Vec::new();
    repo.diff_blobs(
        Some(old),
        None,
        Some(new),
        None,
        Some(&mut opts),
        None,
        None,
        None,
        Some(&mut |_, _, line| {
            if let (true, Some(n)) = (line.origin() == '+', line.new_lineno()) {
                numbers.push(n);
            }
            true
        }),
    )?;
    // Hunks come in order; sorted anyway, as the intersection needs it.
    numbers.sort_unstable();
    numbers.dedup();
    Ok(numbers)
}

/// The numbers in both sorted lists.
fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// The lines numbered `numbers` (sorted, 1-based) of `content`, each ending in a newline;
/// one pass over `content`.
fn pick_lines(content: &[u8], numbers: &[u32]) -> Vec<u8> {
    let mut text = Vec::new();
    let mut want = numbers.iter().peekable();
    let mut start = 0;
    let mut line = 1u32;
    while start < content.len() {
        let Some(&&next) = want.peek() else { break };
        let end = memchr::memchr(b'\n', &content[start..]).map_or(content.len(), |p| start + p + 1);
        if line == next {
            text.extend_from_slice(&content[start..end]);
            if !text.ends_with(b"\n") {
                text.push(b'\n');
            }
            want.next();
        }
        start = end;
        line += 1;
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_picked_by_number() {
        assert_eq!(all_lines(b"a\nb\nc"), [1, 2, 3]);
        assert_eq!(all_lines(b"a\nb\n"), [1, 2]);
        assert_eq!(pick_lines(b"a\nb\nc", &[1, 3]), b"a\nc\n");
        assert_eq!(pick_lines(b"a\r\nb\n", &[1]), b"a\r\n");
        assert_eq!(intersect(&[1, 3, 5, 7], &[2, 3, 7, 9]), [3, 7]);
    }

    #[test]
    fn added_lines_against_one_parent_several_or_a_binary_one() {
        let d = tempfile::tempdir().unwrap();
        let repo = Repository::init(d.path()).unwrap();
        let blob = |t: &[u8]| repo.blob(t).unwrap();
        let new = blob(b"a\nb\nc\nd");
        let lines = |olds: &[Option<Oid>]| added(&repo, olds, new, |_| true).unwrap();
        let one = lines(&[Some(blob(b"a\nc\n"))]).unwrap();
        assert_eq!(
            (one.numbers, one.text, one.new_file),
            (vec![2, 4], b"b\nd\n".to_vec(), false)
        );
        // A merge: only what neither parent had.
        let merge = lines(&[Some(blob(b"a\nc\n")), Some(blob(b"a\nb\nc\n"))]).unwrap();
        assert_eq!(merge.numbers, [4]);
        assert!(lines(&[Some(blob(b"a\nb\n")), Some(blob(b"c\nd"))]).is_none());
        // A binary old side counts as empty; a binary new side has nothing to scan.
        let after_binary = lines(&[Some(blob(b"\0bin"))]).unwrap();
        assert_eq!(after_binary.numbers, [1, 2, 3, 4]);
        let new_file = lines(&[None]).unwrap();
        assert!(new_file.new_file);
        assert!(added(&repo, &[None], blob(b"x\0y\n"), |_| true)
            .unwrap()
            .is_none());
        assert!(added(&repo, &[None], new, |_| false).unwrap().is_none());
    }
}
