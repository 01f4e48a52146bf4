//! Why git ignores a path, as `git check-ignore -v` says it (the ignore file, the line and
//! the pattern), and the lines that would make git see it again.
//!
//! An encrypted file that git ignores is never committed, so the team never gets it:
//! `env add`, `encrypt`, `status` and `exec` say so, naming the rule. libgit2 does not say
//! by which rule, so the rule is looked up here with the `ignore` crate's matcher, one
//! ignore file at a time, in git's order:
//!
//! - git does not look inside an ignored directory, so the first directory on the way
//!   down that a rule ignores decides, before the path itself;
//! - for one path, the `.gitignore` of its own directory comes first, then those of the
//!   directories above it, then `$GIT_DIR/info/exclude`, then `core.excludesFile`; within
//!   a file the last matching line wins, and a matching `!pattern` means "not ignored".
//!
//! Whether a path is ignored is libgit2's answer; where git's config cannot change what
//! these rules say (see [`IgnoreCheck`]), a path no rule ignores is answered without it.
//!
//! A tracked file is not ignored whatever the rules say (git only ignores untracked
//! files): someone ran `git add -f`, and teammates get it.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use git2::{Index, Repository};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::Match;

/// Where a rule is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleSource {
    /// The `.gitignore` of this directory (relative to the working directory; empty for
    /// the root).
    Gitignore(PathBuf),
    /// `$GIT_DIR/info/exclude`: the clone's own rules, never committed.
    InfoExclude,
    /// `core.excludesFile` (by default `~/.config/git/ignore`): the user's own rules.
    Global,
}

/// The rule that ignores a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub source: RuleSource,
    /// The ignore file as shown to the user: relative to the working directory when it is
    /// inside it (`.gitignore`, `app/.gitignore`, `.git/info/exclude`), else absolute.
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// The line as written (`.env`, `secrets/`).
    pub pattern: String,
    /// What it ignores: the path itself, or the directory of it that git then never
    /// enters (relative to the working directory).
    pub matched: PathBuf,
}

/// A path git ignores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ignored {
    /// Relative to the working directory.
    pub path: PathBuf,
    /// `None` when libgit2 says it is ignored and no rule was found here (a rule this
    /// lookup does not read).
    pub rule: Option<Rule>,
}

/// The lines that make git see an ignored path: add them to `file` (relative to the
/// working directory), in this order, below line `below` when given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exception {
    pub file: String,
    pub below: Option<usize>,
    pub lines: Vec<String>,
}

impl Ignored {
    /// The exception that undoes the rule. Patterns are anchored (`!/.env`, not `!.env`):
    /// an unanchored one would also un-ignore `app/.env`, a plaintext file somewhere else.
    /// A `.gitignore` rule is undone in the same file, below its line (an exception must
    /// come after the rule); a rule of `info/exclude` or of the user's own excludes file,
    /// in the root `.gitignore`, which takes precedence over both and is committed.
    /// A file inside an ignored directory needs more than one line: git cannot re-include
    /// a file whose directory is excluded, so the directory is re-included, its contents
    /// ignored, and the next step down re-included, to the file.
    pub fn exception(&self) -> Option<Exception> {
        let rule = self.rule.as_ref()?;
        let (file, base, below) = match &rule.source {
            RuleSource::Gitignore(dir) => (rule.file.clone(), dir.clone(), Some(rule.line)),
            RuleSource::InfoExclude | RuleSource::Global => {
                (".gitignore".to_string(), PathBuf::new(), None)
            }
        };
        let under = |p: &Path| pattern_path(p.strip_prefix(&base).unwrap_or(p));
        let mut lines = Vec::new();
        if rule.matched == self.path {
            lines.push(format!("!/{}", under(&self.path)));
        } else {
            let mut dir = rule.matched.clone();
            lines.push(format!("!/{}/", under(&dir)));
            let rest = self.path.strip_prefix(&rule.matched).ok()?;
            for c in rest.components() {
                lines.push(format!("/{}/*", under(&dir)));
                dir.push(c);
                let tail = if dir == self.path { "" } else { "/" };
                lines.push(format!("!/{}{tail}", under(&dir)));
            }
        }
        Some(Exception { file, below, lines })
    }
}

/// A path as a gitignore pattern: `/`-separated, glob characters and trailing spaces
/// escaped.
fn pattern_path(p: &Path) -> String {
    let text = slashed(p);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    if out.ends_with(' ') {
        let trimmed = out.trim_end_matches(' ').len();
        out.insert(trimmed, '\\');
    }
    out
}

/// A relative path `/`-separated.
fn slashed(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// One ignore file: its matcher and its lines (to find the line of a match).
struct Source {
    matcher: Gitignore,
    lines: Vec<String>,
    path: PathBuf,
    kind: RuleSource,
}

/// Answers "is this ignored, and by what" for paths of one repository, reading each
/// ignore file once. Where git's config sets nothing these rules do not read (no
/// `core.excludesFile`, `core.worktree`, `core.ignoreCase`, no include), the rules read
/// here decide alone, and libgit2 is started only to confirm a path they ignore (and to
/// see whether it is tracked): `exec` of a file git does not ignore, the common case,
/// then costs a few file reads instead of libgit2's start (0.2 ms). Otherwise libgit2
/// answers first, as git's config says, and the rule is looked up after.
pub struct IgnoreCheck {
    /// The directory holding `.git`, as found.
    top: PathBuf,
    /// Canonical.
    workdir: PathBuf,
    /// Whether the rules read here decide without libgit2 (see above).
    rules_decide: bool,
    /// Opened when first needed: `Some(None)` when libgit2 cannot open it.
    repo: Option<Option<Repository>>,
    /// Read when first needed.
    index: Option<Option<Index>>,
    /// The `.gitignore` of each directory looked at (relative paths), if it has one.
    dirs: HashMap<PathBuf, Option<Source>>,
    /// `info/exclude` and the user's excludes file, read when first needed.
    outer: Option<[Option<Source>; 2]>,
}

impl IgnoreCheck {
    /// The repository holding `start`; `None` outside one (or in a bare one).
    pub fn open(start: &Path) -> Option<IgnoreCheck> {
        let top = work_tree_above(start)?;
        let rules_decide = top.join(".git").is_dir() && !config_may_change_ignoring(&top);
        let (repo, workdir) = if rules_decide {
            (None, top.canonicalize().ok()?)
        } else {
            let repo = open_repo(&top)?;
            let workdir = repo.workdir()?.canonicalize().ok()?;
            (Some(Some(repo)), workdir)
        };
        Some(IgnoreCheck {
            top,
            workdir,
            rules_decide,
            repo,
            index: None,
            dirs: HashMap::new(),
            outer: None,
        })
    }

    /// The repository, opened on first use.
    fn repo(&mut self) -> Option<&Repository> {
        let top = &self.top;
        self.repo.get_or_insert_with(|| open_repo(top)).as_ref()
    }

    /// Reads `info/exclude` and the user's excludes file (`core.excludesFile`, else git's
    /// default place), in git's order, once.
    fn read_outer_sources(&mut self) {
        if self.outer.is_none() {
            let (git_dir, configured) = if self.rules_decide {
                (self.top.join(".git"), None)
            } else {
                let repo = self.repo.as_ref().and_then(Option::as_ref);
                let configured = repo
                    .and_then(|r| r.config().ok())
                    .and_then(|c| c.get_path("core.excludesFile").ok());
                let git_dir = repo.map_or_else(|| self.top.join(".git"), |r| r.path().into());
                (git_dir, configured)
            };
            let global_path = configured.or_else(default_excludes_file);
            let exclude = self.load(
                &git_dir.join("info").join("exclude"),
                RuleSource::InfoExclude,
            );
            let global = global_path.and_then(|p| self.load(&p, RuleSource::Global));
            self.outer = Some([exclude, global]);
        }
    }

    /// Whether the index has `rel` (git never ignores a tracked file).
    fn tracked(&mut self, rel: &Path) -> bool {
        let repo = self.repo.as_ref().and_then(Option::as_ref);
        let index = self
            .index
            .get_or_insert_with(|| repo.and_then(|r| r.index().ok()));
        index.as_ref().is_some_and(|i| i.get_path(rel, 0).is_some())
    }

    /// Reads one ignore file; its patterns are relative to its directory (`.gitignore`) or
    /// to the working directory (the other two).
    fn load(&self, file: &Path, kind: RuleSource) -> Option<Source> {
        let text = std::fs::read_to_string(file).ok()?;
        let root = match &kind {
            RuleSource::Gitignore(dir) => self.workdir.join(dir),
            _ => self.workdir.clone(),
        };
        let mut builder = GitignoreBuilder::new(&root);
        let mut lines = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = if i == 0 {
                line.trim_start_matches('\u{feff}')
            } else {
                line
            };
            // A line that is no valid glob is skipped, as git skips it.
            let _ = builder.add_line(Some(file.to_path_buf()), line);
            lines.push(line.to_string());
        }
        Some(Source {
            matcher: builder.build().ok()?,
            lines,
            path: file.to_path_buf(),
            kind,
        })
    }

    /// Why git ignores `path` (absolute, or relative to the current directory); `None`
    /// when it does not (or the path is outside the working directory, or tracked).
    pub fn check(&mut self, path: &Path) -> Option<Ignored> {
        let rel = self.relative(path)?;
        if rel.as_os_str().is_empty() {
            return None;
        }
        let found = if self.rules_decide {
            Some(self.rule_for(&rel)?)
        } else {
            None
        };
        if !self.repo()?.is_path_ignored(&rel).unwrap_or(false) || self.tracked(&rel) {
            return None;
        }
        let rule = found.or_else(|| self.rule_for(&rel));
        Some(Ignored { path: rel, rule })
    }

    /// The rule that ignores `rel` in git's order: the first of its directories on the way
    /// down that a rule ignores (git does not enter it), else the path's own rule.
    fn rule_for(&mut self, rel: &Path) -> Option<Rule> {
        let mut prefix = PathBuf::new();
        let parts: Vec<Component> = rel.components().collect();
        for c in &parts[..parts.len().saturating_sub(1)] {
            prefix.push(c);
            if let Some(Some(rule)) = self.decide(&prefix, true) {
                return Some(rule);
            }
        }
        let is_dir = self.workdir.join(rel).is_dir();
        self.decide(rel, is_dir).flatten()
    }

    /// The rule deciding `rel` on its own (its directories aside): `Some(Some(rule))`
    /// ignored, `Some(None)` re-included by a `!` rule, `None` no rule.
    fn decide(&mut self, rel: &Path, is_dir: bool) -> Option<Option<Rule>> {
        let mut dir = rel.parent();
        while let Some(d) = dir {
            if !self.dirs.contains_key(d) {
                let file = self.workdir.join(d).join(".gitignore");
                let source = self.load(&file, RuleSource::Gitignore(d.to_path_buf()));
                self.dirs.insert(d.to_path_buf(), source);
            }
            if let Some(Some(source)) = self.dirs.get(d) {
                if let Some(found) = judge(source, &self.workdir, rel, is_dir) {
                    return Some(found);
                }
            }
            dir = d.parent();
        }
        self.read_outer_sources();
        self.outer
            .iter()
            .flatten()
            .flatten()
            .find_map(|source| judge(source, &self.workdir, rel, is_dir))
    }

    /// `path` relative to the working directory, symlinks in the existing part resolved
    /// (as the working directory's are); `None` outside it.
    fn relative(&self, path: &Path) -> Option<PathBuf> {
        let abs = std::path::absolute(path).ok()?;
        let mut existing = abs.as_path();
        let mut rest = Vec::new();
        let canonical = loop {
            match existing.canonicalize() {
                Ok(c) => break c,
                Err(_) => {
                    rest.push(existing.file_name()?.to_os_string());
                    existing = existing.parent()?;
                }
            }
        };
        let mut full = canonical;
        for part in rest.iter().rev() {
            full.push(part);
        }
        full.strip_prefix(&self.workdir).ok().map(Path::to_path_buf)
    }
}

/// An ignore file as shown: relative to the working directory when inside it, else as
/// found. Computed only for a rule that ignores (it resolves every symlink on the way).
fn shown(file: &Path, workdir: &Path) -> String {
    match file.canonicalize() {
        Ok(c) => match c.strip_prefix(workdir) {
            Ok(rel) => slashed(rel),
            Err(_) => file.display().to_string(),
        },
        Err(_) => file.display().to_string(),
    }
}

/// One ignore file's verdict on a path (`workdir` canonical).
fn judge(source: &Source, workdir: &Path, rel: &Path, is_dir: bool) -> Option<Option<Rule>> {
    let abs = workdir.join(rel);
    match source.matcher.matched(&abs, is_dir) {
        Match::None => None,
        Match::Whitelist(_) => Some(None),
        Match::Ignore(glob) => {
            let pattern = glob.original();
            // The last line written so (the matcher reports the last matching glob).
            let line = source
                .lines
                .iter()
                .rposition(|l| trim_trailing_spaces(l) == pattern)
                .map_or(0, |i| i + 1);
            Some(Some(Rule {
                source: source.kind.clone(),
                file: shown(&source.path, workdir),
                line,
                pattern: pattern.to_string(),
                matched: rel.to_path_buf(),
            }))
        }
    }
}

/// A gitignore line without its trailing spaces, unless escaped (`a\ `), as git reads it.
fn trim_trailing_spaces(line: &str) -> &str {
    let trimmed = line.trim_end_matches(' ');
    if trimmed.len() < line.len() && trimmed.ends_with('\\') {
        &line[..trimmed.len() + 1]
    } else {
        trimmed
    }
}

/// The repository whose `.git` is in `top`, opened there (`discover` would walk up to it
/// a second time).
fn open_repo(top: &Path) -> Option<Repository> {
    Repository::open_ext(top, git2::RepositoryOpenFlags::NO_SEARCH, [""; 0]).ok()
}

/// The nearest of `start` and the directories above it that holds a `.git`: the file a
/// worktree or submodule has, or a directory with a `HEAD` (as git, a `.git` directory
/// that is no repository is passed over). Where none does (a container, a deployed
/// release), a few `stat`s answer instead of starting libgit2, which cost `exec --env`
/// 0.2 ms there.
fn work_tree_above(start: &Path) -> Option<PathBuf> {
    let abs = std::path::absolute(start).ok()?;
    abs.ancestors()
        .find(|dir| {
            let git = dir.join(".git");
            git.is_file() || git.join("HEAD").is_file()
        })
        .map(Path::to_path_buf)
}

/// Where git looks for the user's own excludes when `core.excludesFile` is not set:
/// `$XDG_CONFIG_HOME/git/ignore`, or `~/.config/git/ignore` when that variable is unset or
/// empty. (The `ignore` crate's lookup re-reads git's config files and compiles a regex to
/// find the setting libgit2 has already read: 1.3 M instructions, a quarter of `exec`.)
fn default_excludes_file() -> Option<PathBuf> {
    let non_empty = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    let config = non_empty("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("git").join("ignore"))
}

/// Whether git's config may change what is ignored beyond what [`IgnoreCheck`] reads
/// itself: a file that names `core.excludesFile`, `core.worktree`, `core.ignoreCase` or an
/// include (which could set them), in any of the config files git reads, or config given
/// in the environment. A word in a comment counts too: in doubt, libgit2 decides.
fn config_may_change_ignoring(top: &Path) -> bool {
    let set = |name| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if set("GIT_CONFIG_COUNT") || set("GIT_CONFIG_PARAMETERS") {
        return true;
    }
    let mut files = vec![top.join(".git").join("config")];
    match std::env::var_os("GIT_CONFIG_GLOBAL") {
        Some(global) => files.push(global.into()),
        None => {
            files.extend(default_excludes_file().map(|f| f.with_file_name("config")));
            files.extend(std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".gitconfig")));
        }
    }
    if !git_bool_env("GIT_CONFIG_NOSYSTEM") {
        files.push(
            std::env::var_os("GIT_CONFIG_SYSTEM")
                .map_or_else(|| PathBuf::from("/etc/gitconfig"), PathBuf::from),
        );
    }
    const WORDS: [&[u8]; 4] = [b"excludesfile", b"worktree", b"ignorecase", b"include"];
    files.iter().any(|f| match std::fs::read(f) {
        Ok(text) => {
            let text = text.to_ascii_lowercase();
            WORDS
                .iter()
                .any(|w| memchr::memmem::find(&text, w).is_some())
        }
        // Unreadable but there: git would fail on it; let libgit2 say what it makes of it.
        Err(e) => e.kind() != std::io::ErrorKind::NotFound,
    })
}

/// A boolean environment variable as git reads it (`1`, `true`, `yes`, `on`).
fn git_bool_env(name: &str) -> bool {
    std::env::var(name)
        .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignored(path: &str, matched: &str, source: RuleSource, line: usize) -> Ignored {
        Ignored {
            path: PathBuf::from(path),
            rule: Some(Rule {
                file: match &source {
                    RuleSource::Gitignore(d) if d.as_os_str().is_empty() => ".gitignore".into(),
                    RuleSource::Gitignore(d) => format!("{}/.gitignore", d.display()),
                    _ => ".git/info/exclude".into(),
                },
                source,
                line,
                pattern: "x".into(),
                matched: PathBuf::from(matched),
            }),
        }
    }

    #[test]
    fn exceptions_are_anchored_and_go_below_the_rule() {
        let root = RuleSource::Gitignore(PathBuf::new());
        let e = ignored(".env", ".env", root.clone(), 3)
            .exception()
            .unwrap();
        assert_eq!((e.file.as_str(), e.below), (".gitignore", Some(3)));
        assert_eq!(e.lines, vec!["!/.env"]);
        // Relative to the .gitignore that holds the rule.
        let app = RuleSource::Gitignore(PathBuf::from("app"));
        let e = ignored("app/conf/.env", "app/conf/.env", app, 1)
            .exception()
            .unwrap();
        assert_eq!(
            (e.file.as_str(), e.lines[0].as_str()),
            ("app/.gitignore", "!/conf/.env")
        );
        // info/exclude: the root .gitignore overrides it.
        let e = ignored("a/b.yaml", "a/b.yaml", RuleSource::InfoExclude, 7)
            .exception()
            .unwrap();
        assert_eq!((e.file.as_str(), e.below), (".gitignore", None));
        assert_eq!(e.lines, vec!["!/a/b.yaml"]);
        // Below an ignored directory: one step down at a time.
        let e = ignored("build/cfg/x[1].env", "build", root, 2)
            .exception()
            .unwrap();
        assert_eq!(
            e.lines,
            vec![
                "!/build/",
                "/build/*",
                "!/build/cfg/",
                "/build/cfg/*",
                "!/build/cfg/x\\[1].env"
            ]
        );
    }

    #[test]
    fn trailing_spaces() {
        assert_eq!(trim_trailing_spaces(".env  "), ".env");
        assert_eq!(trim_trailing_spaces("a\\  "), "a\\ ");
    }
}
