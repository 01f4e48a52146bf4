//! The files one tree adds or changes relative to another, found as `git diff-tree -r`
//! finds them: a subtree whose id is the same on both sides is skipped unread, so a commit
//! costs what it changes, not the size of the repository (libgit2's tree-to-tree diff walks
//! both trees whole, which was most of `scan --history`'s time on a large tree).
//!
//! No rename detection, as before: a renamed file is a new file. Deleted files have nothing
//! to scan. A symlink is a file whose content is its target (as git diffs it); a change
//! between a symlink and a regular file is a deletion and an addition (libgit2's default
//! without `include_typechange`). Submodule commits (gitlinks) are skipped.

use git2::{Oid, Repository, Tree};
use std::cmp::Ordering;

/// One file `new` adds (`old` is `None`) or changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Changed {
    /// `/`-separated, from the root of the tree.
    pub path: String,
    pub old: Option<Oid>,
    pub new: Oid,
}

/// What a tree entry is, by its mode.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Link,
    Tree,
    Gitlink,
}

fn kind(mode: i32) -> Kind {
    match mode & 0o170000 {
        0o040000 => Kind::Tree,
        0o120000 => Kind::Link,
        0o160000 => Kind::Gitlink,
        _ => Kind::File,
    }
}

/// The files of `new` that `old` (none: the empty tree) lacks or holds with other content,
/// in no particular order. Linear in the entries of the subtrees that differ.
pub fn changed_files(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: &Tree<'_>,
) -> Result<Vec<Changed>, git2::Error> {
    let mut out = Vec::new();
    // An explicit stack: a hostile repository can nest directories deeper than a thread's
    // stack would allow recursion.
    let mut todo: Vec<(String, Option<Oid>, Oid)> = Vec::new();
    visit(String::new(), old, new, &mut todo, &mut out);
    while let Some((prefix, old_id, new_id)) = todo.pop() {
        let old_tree = old_id.map(|id| repo.find_tree(id)).transpose()?;
        let new_tree = repo.find_tree(new_id)?;
        visit(prefix, old_tree.as_ref(), &new_tree, &mut todo, &mut out);
    }
    Ok(out)
}

/// Compares one level: files go to `out`, subtrees that differ to `todo`. Both entry lists
/// are in git's order, so one pass over each pairs the entries of the same name.
fn visit(
    prefix: String,
    old: Option<&Tree<'_>>,
    new: &Tree<'_>,
    todo: &mut Vec<(String, Option<Oid>, Oid)>,
    out: &mut Vec<Changed>,
) {
    let mut before = old.into_iter().flat_map(|t| t.iter()).peekable();
    for entry in new.iter() {
        let name = entry.name_bytes();
        let (k, id) = (kind(entry.filemode()), entry.id());
        // Old entries that sort first are gone from `new`: deletions, nothing to scan.
        let mut was = None;
        while let Some(o) = before.peek() {
            let ok = kind(o.filemode());
            match git_order(o.name_bytes(), ok, name, k) {
                Ordering::Less => {
                    before.next();
                }
                Ordering::Equal => {
                    was = Some((ok, o.id()));
                    before.next();
                    break;
                }
                Ordering::Greater => break,
            }
        }
        let path = || {
            // As the previous libgit2 diff named paths (a `\\` read as a separator).
            let name = String::from_utf8_lossy(name).replace('\\', "/");
            if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            }
        };
        match k {
            Kind::Gitlink => {}
            Kind::Tree => match was {
                Some((Kind::Tree, old_id)) if old_id == id => {}
                Some((Kind::Tree, old_id)) => todo.push((path(), Some(old_id), id)),
                _ => todo.push((path(), None, id)),
            },
            Kind::File | Kind::Link => match was {
                Some((wk, old_id)) if wk == k && old_id == id => {}
                Some((wk, old_id)) if wk == k => out.push(Changed {
                    path: path(),
                    old: Some(old_id),
                    new: id,
                }),
                _ => out.push(Changed {
                    path: path(),
                    old: None,
                    new: id,
                }),
            },
        }
    }
}

/// git's order of tree entries: by name, a tree's name read as ending in `/`. A file and a
/// tree of the same name are different entries (a file that became a directory is a
/// deletion and new files).
fn git_order(a: &[u8], a_kind: Kind, b: &[u8], b_kind: Kind) -> Ordering {
    let n = a.len().min(b.len());
    a[..n].cmp(&b[..n]).then_with(|| {
        let end = |name: &[u8], k| match name.get(n) {
            Some(&c) => c,
            None if k == Kind::Tree => b'/',
            None => 0,
        };
        end(a, a_kind).cmp(&end(b, b_kind))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use git2::FileMode;

    /// A tree from `(path, content, mode)` entries, nested directories included.
    fn tree<'r>(repo: &'r Repository, files: &[(&str, &str, FileMode)]) -> Tree<'r> {
        let mut index = git2::Index::new().unwrap();
        for (path, content, mode) in files {
            let id = repo.blob(content.as_bytes()).unwrap();
            let mut e = git2::IndexEntry {
                ctime: git2::IndexTime::new(0, 0),
                mtime: git2::IndexTime::new(0, 0),
                dev: 0,
                ino: 0,
                mode: u32::from(*mode),
                uid: 0,
                gid: 0,
                file_size: 0,
                id,
                flags: 0,
                flags_extended: 0,
                path: path.as_bytes().to_vec(),
            };
            e.flags = path.len().min(0xfff) as u16;
            index.add(&e).unwrap();
        }
        let id = index.write_tree_to(repo).unwrap();
        repo.find_tree(id).unwrap()
    }

    #[test]
    fn changed_files_as_git_diff_tree_lists_them() {
        let d = tempfile::tempdir().unwrap();
        let repo = Repository::init(d.path()).unwrap();
        let f = FileMode::Blob;
        let old = tree(
            &repo,
            &[
                ("same/deep/a.txt", "a\n", f),
                ("changed/b.txt", "b\n", f),
                ("gone.txt", "x\n", f),
                ("becomes-dir", "file\n", f),
                ("becomes-link", "target\n", f),
                ("mode.sh", "echo\n", f),
                ("a.b", "dot\n", f),
            ],
        );
        let new = tree(
            &repo,
            &[
                ("same/deep/a.txt", "a\n", f),
                ("changed/b.txt", "b2\n", f),
                ("changed/new.txt", "n\n", f),
                ("becomes-dir/inner.txt", "file\n", f),
                ("becomes-link", "target\n", FileMode::Link),
                ("mode.sh", "echo\n", FileMode::BlobExecutable),
                ("a.b", "dot\n", f),
                ("a/c.txt", "c\n", f),
            ],
        );
        let mut got: Vec<(String, bool)> = changed_files(&repo, Some(&old), &new)
            .unwrap()
            .into_iter()
            .map(|c| (c.path, c.old.is_some()))
            .collect();
        got.sort();
        let want = [
            ("a/c.txt", false),
            ("becomes-dir/inner.txt", false),
            ("becomes-link", false),
            ("changed/b.txt", true),
            ("changed/new.txt", false),
        ];
        assert_eq!(got, want.map(|(p, o)| (p.to_string(), o)).to_vec());
        // Against nothing, every file is new.
        assert_eq!(changed_files(&repo, None, &new).unwrap().len(), 8);
    }
}
