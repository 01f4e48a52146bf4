//! The lines every commit of a range adds, for `scan --history`, in parallel and in a
//! deterministic order.
//!
//! Commits are taken oldest first, in batches. For each batch, worker threads (each with
//! its own `Repository`: one is not `Sync`) list the files every commit changes
//! (`treediff`); then one thread drops the (path, old blob, new blob) pairs an
//! older commit already had (a cherry-pick, a rebased branch under `--all`, a revert of a
//! revert): the lines and so the findings would be the same, and the scan reports a line
//! once, with the oldest commit that added it; then the workers diff the pairs left
//! (`added`) and hand each file's added lines to the caller's scan. Results come
//! back in job order whatever the threads did, so the output is the same with 1 thread or
//! 16.

use git2::{Oid, Repository, Sort};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::added;
use super::treediff;
use super::GitError;

/// Which commits to read.
#[derive(Clone, Copy, Debug)]
pub enum Revs<'a> {
    /// `A..B`, or every commit reachable from one revision.
    Range(&'a str),
    /// Every commit reachable from any ref (branches, tags, remote-tracking branches,
    /// notes, the stash) or HEAD: `git log --all`.
    All,
}

/// Counters a progress display reads while the scan runs.
#[derive(Debug, Default)]
pub struct Progress {
    pub total: AtomicU64,
    pub done: AtomicU64,
}

/// The added lines of one file in one commit, joined, with each line's number in the file.
pub struct Added {
    pub commit: String,
    pub path: String,
    pub text: Vec<u8>,
    pub lines: Vec<u32>,
    /// The file was created by this commit (path checks apply).
    pub new_file: bool,
}

/// Commits per batch: enough to keep the workers busy, few enough that one batch's file
/// lists stay small.
const BATCH: usize = 256;

/// Calls `scan` with the added lines of every file of every commit of `revs` and returns
/// what it returned, oldest commit first and by path within a commit, with the number of
/// commits read. For a merge, the added lines are those new relative to every parent
/// (what `git log --cc` shows): a line written while resolving it, not what it brings in
/// from one side. `worth(path, text)` is asked first, with the part of a file's new
/// content that added lines can come from (all of it for a new file, and all of a binary
/// file, which has no lines but may have path checks): when it says no line there could
/// give anything, the file is not diffed (a binary one not handed over). `threads`
/// workers (at least one) share the work.
pub fn history<T: Send>(
    repo: &Repository,
    revs: Revs<'_>,
    threads: usize,
    progress: &Progress,
    worth: impl Fn(&str, &[u8]) -> bool + Sync,
    scan: impl Fn(Added) -> Vec<T> + Sync,
) -> Result<(Vec<T>, usize), GitError> {
    // Objects are read from the local repository, as git reads them (git does not hash
    // every object it reads either); rehashing each was a third of the time.
    git2::opts::strict_hash_verification(false);
    // No object cache: trees are read again when needed (a few percent of the time), and
    // memory stays flat (libgit2's cache, per handle, took 45 MB on a 4,500-commit history).
    // Both settings are process-wide; the CLI runs one scan per process.
    git2::opts::enable_caching(false);
    // Pack files are mapped 4 MiB at a time, 16 MiB at most (libgit2's defaults: 1 GiB
    // windows, 8 GiB in all): the pages a history scan touches would otherwise all count in
    // its memory, 24 MB more on a 55 MB pack, for no measurable time.
    // SAFETY: these setters write libgit2 globals; no other thread uses libgit2 now (the
    // workers start below), and libgit2 reads them under its window lock.
    unsafe {
        git2::opts::set_mwindow_size(4 << 20)?;
        git2::opts::set_mwindow_mapped_limit(16 << 20)?;
    }
    let oids = commits(repo, revs)?;
    progress.total.store(oids.len() as u64, Ordering::Relaxed);
    // Opened bare: history is read from objects alone, and libgit2's blob diff looks up
    // the attributes of its placeholder path on every call, which in a repository with a
    // working tree means a `.gitattributes` stat and a `readlink` of every directory up
    // to the root (400,000 system calls over a 6,000-commit history).
    let bare = git2::RepositoryOpenFlags::NO_SEARCH | git2::RepositoryOpenFlags::BARE;
    let mut repos = (0..threads.max(1))
        .map(|_| Repository::open_ext(repo.path(), bare, [""; 0]))
        .collect::<Result<Vec<_>, _>>()?;
    let mut seen = Seen::default();
    let mut out = Vec::new();
    let oldest_first: Vec<Oid> = oids.iter().rev().copied().collect();
    for batch in oldest_first.chunks(BATCH) {
        let changes = par_map(&mut repos, batch, |repo, oid| commit_changes(repo, *oid));
        let mut jobs = Vec::new();
        for (oid, files) in batch.iter().zip(changes) {
            let files = files?;
            let single_parent = files.iter().all(|c| c.olds.len() == 1);
            for change in files {
                if single_parent && !seen.first_time(&change.path, change.olds[0], change.new) {
                    continue;
                }
                jobs.push((*oid, change));
            }
        }
        let found = par_map(&mut repos, &jobs, |repo, (oid, change)| {
            let worth = |content: &[u8]| worth(&change.path, content);
            let Some(lines) = added::added(repo, &change.olds, change.new, worth)? else {
                return Ok(Vec::new());
            };
            Ok::<_, git2::Error>(scan(Added {
                commit: oid.to_string(),
                path: change.path.clone(),
                text: lines.text,
                lines: lines.numbers,
                new_file: lines.new_file,
            }))
        });
        for f in found {
            out.extend(f?);
        }
        progress
            .done
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
    }
    Ok((out, oids.len()))
}

/// The commits of `revs`, newest first (topological, then by time).
fn commits(repo: &Repository, revs: Revs<'_>) -> Result<Vec<Oid>, GitError> {
    let mut walk = repo.revwalk()?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME)?;
    match revs {
        Revs::Range(r) if r.contains("..") => walk.push_range(r)?,
        Revs::Range(r) => walk.push(repo.revparse_single(r)?.peel_to_commit()?.id())?,
        Revs::All => {
            let mut any = false;
            for r in repo.references()? {
                // A ref to a tree or a blob has no commits; a ref to a missing object is an
                // error (what cannot be read is not clean).
                // A symbolic ref to no ref (`origin/HEAD` after its branch went) names
                // nothing; `git log --all` skips it too.
                let Ok(direct) = r?.resolve() else { continue };
                let obj = direct.peel(git2::ObjectType::Any)?;
                if obj.kind() == Some(git2::ObjectType::Commit) {
                    walk.push(obj.id())?;
                    any = true;
                }
            }
            for oid in detached_worktree_heads(repo) {
                walk.push(oid)?;
                any = true;
            }
            match repo.head() {
                Ok(h) => {
                    walk.push(h.peel_to_commit()?.id())?;
                }
                // An unborn branch: nothing more to read.
                Err(e) if e.code() == git2::ErrorCode::UnbornBranch && any => {}
                Err(e) if e.code() == git2::ErrorCode::UnbornBranch => return Ok(Vec::new()),
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(walk.collect::<Result<_, _>>()?)
}

/// The detached HEADs of the main worktree and of every linked one, which `git log --all`
/// lists too: a commit made on a detached HEAD in another worktree may be reachable from
/// nowhere else. (A HEAD on a branch is one of the refs already.) Read from the HEAD files
/// themselves, as git reads them, so a worktree whose directory is gone still counts.
fn detached_worktree_heads(repo: &Repository) -> Vec<Oid> {
    let common = repo.commondir();
    let mut heads = vec![common.join("HEAD")];
    if let Ok(linked) = std::fs::read_dir(common.join("worktrees")) {
        heads.extend(linked.flatten().map(|e| e.path().join("HEAD")));
    }
    heads
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .filter_map(|text| {
            // A whole id: `Oid::from_str` would also take a prefix (and `ref: …` is not one).
            let id = text.trim();
            let whole =
                (id.len() == 40 || id.len() == 64) && id.bytes().all(|b| b.is_ascii_hexdigit());
            whole.then(|| Oid::from_str(id).ok()).flatten()
        })
        .collect()
}

/// A file a commit adds or changes: its blob before, in each parent (`None`: absent
/// there), and after.
struct Change {
    path: String,
    olds: Vec<Option<Oid>>,
    new: Oid,
}

/// The files `oid` changes relative to its parent; for a merge, those it changes relative
/// to every parent; for a root commit, all of them. In path order.
fn commit_changes(repo: &Repository, oid: Oid) -> Result<Vec<Change>, git2::Error> {
    let commit = repo.find_commit(oid)?;
    let tree = commit.tree()?;
    if commit.parent_count() == 0 {
        return Ok(sorted(treediff::changed_files(repo, None, &tree)?)
            .map(|c| Change {
                path: c.path,
                olds: vec![None],
                new: c.new,
            })
            .collect());
    }
    let mut common: Option<Vec<Change>> = None;
    for parent in commit.parents() {
        let changed = treediff::changed_files(repo, Some(&parent.tree()?), &tree)?;
        common = Some(match common {
            None => sorted(changed)
                .map(|c| Change {
                    path: c.path,
                    olds: vec![c.old],
                    new: c.new,
                })
                .collect(),
            Some(mut kept) => {
                let mut here: HashMap<String, Option<Oid>> =
                    changed.into_iter().map(|c| (c.path, c.old)).collect();
                kept.retain_mut(|k| match here.remove(&k.path) {
                    Some(old) => {
                        k.olds.push(old);
                        true
                    }
                    None => false,
                });
                kept
            }
        });
        if common.as_ref().is_some_and(Vec::is_empty) {
            break;
        }
    }
    Ok(common.unwrap_or_default())
}

fn sorted(mut v: Vec<treediff::Changed>) -> impl Iterator<Item = treediff::Changed> {
    v.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    v.into_iter()
}

/// The (path, old blob, new blob) pairs already handed out; paths are numbered once.
#[derive(Default)]
struct Seen {
    paths: HashMap<String, u32>,
    pairs: HashSet<(u32, Option<Oid>, Oid)>,
}

impl Seen {
    fn first_time(&mut self, path: &str, old: Option<Oid>, new: Oid) -> bool {
        let next = self.paths.len() as u32;
        let id = match self.paths.get(path) {
            Some(&id) => id,
            None => {
                self.paths.insert(path.to_string(), next);
                next
            }
        };
        self.pairs.insert((id, old, new))
    }
}

/// `f` over `jobs` on one thread per repository handle, the results in the order of
/// `jobs` whatever thread ran which.
fn par_map<J: Sync, R: Send>(
    repos: &mut [Repository],
    jobs: &[J],
    f: impl Fn(&Repository, &J) -> R + Sync,
) -> Vec<R> {
    if repos.len() <= 1 || jobs.len() <= 1 {
        let repo = &repos[0];
        return jobs.iter().map(|j| f(repo, j)).collect();
    }
    let next = AtomicUsize::new(0);
    let mut slots: Vec<Option<R>> = (0..jobs.len()).map(|_| None).collect();
    std::thread::scope(|s| {
        let workers: Vec<_> = repos
            .iter_mut()
            .map(|repo| {
                let (next, f) = (&next, &f);
                s.spawn(move || {
                    let repo = &*repo;
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else { break };
                        done.push((i, f(repo, job)));
                    }
                    done
                })
            })
            .collect();
        for w in workers {
            let done = w.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            for (i, r) in done {
                slots[i] = Some(r);
            }
        }
    });
    slots
        .into_iter()
        .map(|r| r.expect("every job ran once"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn par_map_keeps_the_order_of_the_jobs() {
        let d = tempfile::tempdir().unwrap();
        let repo = Repository::init(d.path()).unwrap();
        let mut repos: Vec<Repository> = (0..4)
            .map(|_| Repository::open(repo.path()).unwrap())
            .collect();
        let jobs: Vec<u64> = (0..2_000).collect();
        let out = par_map(&mut repos, &jobs, |_, j| {
            // Uneven work, so the threads finish out of order.
            (0..(j % 13) * 100).fold(*j, |a, b| a ^ b) ^ (0..(j % 13) * 100).fold(0, |a, b| a ^ b)
        });
        assert_eq!(out, jobs);
    }

    #[test]
    fn a_pair_is_new_once_per_path() {
        let mut seen = Seen::default();
        let (a, b) = (
            Oid::from_bytes(&[1; 20]).unwrap(),
            Oid::from_bytes(&[2; 20]).unwrap(),
        );
        assert!(seen.first_time("x.env", Some(a), b));
        assert!(!seen.first_time("x.env", Some(a), b));
        assert!(
            seen.first_time("y.env", Some(a), b),
            "another path is another pair"
        );
        assert!(
            seen.first_time("x.env", None, b),
            "a new file is another pair"
        );
        assert!(seen.first_time("x.env", Some(b), a));
    }
}
