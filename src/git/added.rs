//! The lines one commit adds to one file: the new blob's lines that a zero-context diff
//! against the old blob marks `+` (libgit2's xdiff, as before), or every line of a new
//! file without diffing. For a merge, only the lines new relative to every parent.
//!
//! Binary blobs are not diffed, as git and the tree scan decide it (a NUL byte in the
//! first 8000 bytes; one the commit creates or changes is handed over whole, with no
//! lines, when `worth` wants it for path checks); an old side that is binary counts as
//! empty, so a text file that replaces a binary one is scanned whole (libgit2's diff
//! skipped the pair). A blob over libgit2's diff limit (512 MiB) is skipped, as the diff
//! skipped it.

use git2::{DiffOptions, Oid, Repository};

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

/// Binary as the tree scan decides it, or too large for the diff (libgit2 treated such a
/// blob as binary).
fn is_binary(bytes: &[u8]) -> bool {
    bytes.len() > MAX_BLOB || super::is_binary(bytes)
}

/// What the blob `new` adds over each of `olds` (one per parent; `None`: the file is new
/// there). `None` when nothing is added, or when `worth` says no line that could be added
/// matters: it is asked about the part of the new content between the lines it shares
/// with an old side at its start and end ([`changed_region`]), so a large file changed in
/// a few lines is looked at there only, and not diffed when nothing there matters. A
/// binary blob is asked about whole, and handed over whole when `worth` says yes.
pub fn added(
    repo: &Repository,
    olds: &[Option<Oid>],
    new: Oid,
    worth: impl Fn(&[u8]) -> bool,
) -> Result<Option<Lines>, git2::Error> {
    let new_blob = repo.find_blob(new)?;
    let content = new_blob.content();
    // Over the diff's limit: skipped, as libgit2's diff skipped it.
    if content.is_empty() || content.len() > MAX_BLOB {
        return Ok(None);
    }
    if is_binary(content) {
        // No lines, but a binary file still gets its path checks (a PKCS#12 key store, a
        // decrypted copy), which may need all of it (a store's key bag sits past its
        // certificates): handed over whole with no line numbers, if `worth` wants it.
        return Ok(worth(content).then(|| Lines {
            numbers: Vec::new(),
            text: content.to_vec(),
            new_file: olds.iter().all(Option::is_none),
        }));
    }
    // A binary old side counts as absent.
    let mut old_blobs = Vec::with_capacity(olds.len());
    for old in olds {
        let blob = old.map(|id| repo.find_blob(id)).transpose()?;
        old_blobs.push(blob.filter(|b| !is_binary(b.content())));
    }
    // Every line a diff adds holds the text of a line of the changed region (see
    // `changed_region`); for a merge, the lines added against one parent bound the rest.
    let nothing_to_see = old_blobs.iter().any(|old| {
        let region = match old {
            Some(b) => changed_region(b.content(), content),
            None => 0..content.len(),
        };
        !worth(&content[region])
    });
    if nothing_to_see {
        return Ok(None);
    }
    let mut common: Option<Vec<u32>> = None;
    for old in &old_blobs {
        let numbers = match old {
            Some(old_blob) => diff_added(repo, old_blob, &new_blob)?,
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

/// The bytes of `new` outside the whole lines it starts and ends with in common with
/// `old` (a line with its newline: `x` at the end is not `x\n`). xdiff cuts the same
/// lines off before diffing and only ever marks, as added, lines whose text is that of a
/// line in between: a change group only slides over a line equal to one it gives up. So
/// a line that holds nothing of interest here is never an added line that does. The tail
/// is cut at its first line end, a line short of xdiff's at most, which only widens the
/// region. Linear: the common head and tail are compared once.
fn changed_region(old: &[u8], new: &[u8]) -> std::ops::Range<usize> {
    let head = common_prefix(old, new);
    let start = memchr::memrchr(b'\n', &new[..head]).map_or(0, |p| p + 1);
    let tail = common_suffix(&old[start..], &new[start..]);
    let from = new.len() - tail;
    let end = match memchr::memchr(b'\n', &new[from..]) {
        // The tail's first whole line starts after its first line end.
        Some(p) => from + p + 1,
        None => new.len(),
    };
    start..end.max(start)
}

/// Bytes `a` and `b` start with in common, compared a block at a time.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 64;
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + BLOCK <= n && a[i..i + BLOCK] == b[i..i + BLOCK] {
        i += BLOCK;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// Bytes `a` and `b` end with in common.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 64;
    let n = a.len().min(b.len());
    let (la, lb) = (a.len(), b.len());
    let mut i = 0;
    while i + BLOCK <= n && a[la - i - BLOCK..la - i] == b[lb - i - BLOCK..lb - i] {
        i += BLOCK;
    }
    while i < n && a[la - i - 1] == b[lb - i - 1] {
        i += 1;
    }
    i
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
        // A binary old side counts as empty; a binary new side has no lines to scan: it
        // comes whole for the path checks, if `worth` wants it.
        let after_binary = lines(&[Some(blob(b"\0bin"))]).unwrap();
        assert_eq!(after_binary.numbers, [1, 2, 3, 4]);
        let new_file = lines(&[None]).unwrap();
        assert!(new_file.new_file);
        let created_binary = added(&repo, &[None], blob(b"x\0y\n"), |_| true)
            .unwrap()
            .unwrap();
        assert!(created_binary.numbers.is_empty() && created_binary.new_file);
        assert_eq!(created_binary.text, b"x\0y\n");
        let changed_binary = added(&repo, &[Some(blob(b"a\n"))], blob(b"x\0y\n"), |_| true)
            .unwrap()
            .unwrap();
        assert!(changed_binary.numbers.is_empty() && !changed_binary.new_file);
        assert!(
            added(&repo, &[Some(blob(b"a\n"))], blob(b"x\0y\n"), |_| false)
                .unwrap()
                .is_none()
        );
        assert!(added(&repo, &[None], new, |_| false).unwrap().is_none());
    }

    #[test]
    fn changed_region_is_between_the_common_lines() {
        let r = |o: &[u8], n: &'static [u8]| &n[changed_region(o, n)];
        assert_eq!(r(b"a\nb\nc\n", b"a\nx\nc\n"), b"x\n");
        assert_eq!(r(b"a\nb\nc\n", b"a\nbb\nc\n"), b"bb\n");
        assert_eq!(r(b"a\n", b"a\nb\n"), b"b\n");
        assert_eq!(r(b"a\nb\n", b"a\n"), b"");
        assert_eq!(r(b"a\nb", b"a\nb\n"), b"b\n");
        assert_eq!(r(b"", b"x\ny\n"), b"x\ny\n");
    }

    /// The lines libgit2's xdiff adds when it diffs the two texts whole.
    fn xdiff_added(old: &[u8], new: &[u8]) -> Vec<u32> {
        let mut opts = DiffOptions::new();
        opts.context_lines(0).force_text(true);
        let patch = git2::Patch::from_buffers(old, None, new, None, Some(&mut opts)).unwrap();
        let mut out = Vec::new();
        for h in 0..patch.num_hunks() {
            for l in 0..patch.num_lines_in_hunk(h).unwrap() {
                let line = patch.line_in_hunk(h, l).unwrap();
                if line.origin() == '+' {
                    out.push(line.new_lineno().unwrap());
                }
            }
        }
        out
    }

    proptest::proptest! {
        /// Every line xdiff adds has the text of a line of the changed region: what the
        /// scan's `worth` does not see there, no added line holds.
        #[test]
        fn added_lines_come_from_the_changed_region(
            old in proptest::collection::vec(proptest::sample::select(
                vec!["a\n", "b\n", "}\n", "\n", "c", "key=1\n", "key=2\n"]), 0..30),
            new in proptest::collection::vec(proptest::sample::select(
                vec!["a\n", "b\n", "}\n", "\n", "c", "key=1\n", "key=2\n"]), 0..30),
        ) {
            let (old, new) = (old.concat().into_bytes(), new.concat().into_bytes());
            let region = &new[changed_region(&old, &new)];
            let region_lines: Vec<&[u8]> = region.split_inclusive(|&b| b == b'\n').collect();
            let new_lines: Vec<&[u8]> = new.split_inclusive(|&b| b == b'\n').collect();
            for n in xdiff_added(&old, &new) {
                let line = new_lines[n as usize - 1];
                proptest::prop_assert!(
                    region_lines.contains(&line),
                    "line {} {:?} outside {:?}", n, String::from_utf8_lossy(line),
                    String::from_utf8_lossy(region)
                );
            }
        }
    }
}
