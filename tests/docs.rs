//! Every fenced ```sh block of README.md, docs/*.md and testdata/demo/README.md is a test
//! of its own, named by its file and the line of its opening fence (`README.md:56`), so
//! the docs cannot drift from the tool. A block runs as a bash script (`set -eo
//! pipefail`) in a temp dir, with the built binary first on PATH, HOME and TMPDIR in the
//! temp dir and nothing else of the caller's environment but PATH. This file is a
//! libtest-mimic harness (`harness = false` in Cargo.toml): `cargo test --test docs`
//! prints one line per block, and filters (`cargo test --test docs README.md:`) work.
//!
//! **Where a block runs** (markers: HTML comments on the lines just above the fence,
//! invisible when the Markdown is rendered):
//! - by default, in a git repository (branch `main`, one commit) holding a copy of
//!   `testdata/demo` without its `run.sh`, `README.md` and key; the demo key (a private
//!   copy) is `SECRETS_AGE_KEY_FILE`;
//! - `<!-- doc-test: in empty-repo -->`: an empty git repository (`user.name` Alice),
//!   an empty HOME and no identity: for `secrets init` and a team from scratch;
//! - `<!-- doc-test: in source-tree -->`: a git repository laid out as this one where
//!   the block needs it: `testdata/demo` as committed, and `target/debug/secrets`, a
//!   link to the binary under test; no identity.
//!
//! **What a block is given** (more markers, any number, any order):
//! - `given PATH…`: plaintext files, untracked, their content by the extension (YAML,
//!   JSON, dotenv, INI: the keys `database.host`, `.port`, `.user`, `.password`,
//!   `.legacy_token`; anything else: a line of text with no secret in it);
//!   `given encrypted PATH…`: the same, encrypted for the demo key;
//! - `member bob`: bob (a fresh age key) joins the config and every environment, the
//!   files are re-wrapped for him (`updatekeys`) and that is committed;
//! - `commits N`: N more commits on `main`, each adding a line to `CHANGELOG.md` (for
//!   `main~50..main`);
//! - `stub NAME…`: stand-ins for programs the docs show and the tests do not have
//!   (psql, gunicorn, kubectl, docker, an editor…; the [`STUBS`] table, never `secrets`,
//!   git, sops or age). A stub logs its arguments and the *names* of the variables secrets
//!   gave it (never a value; an argument holding a value shows `${NAME}` instead) and
//!   checks what the docs promise it gets (`tests/docs/stub.py`); the block fails when a
//!   stub finds a problem, when a stub it names was never called, or when an
//!   `exec --file-env` directory a stub saw still exists after the block;
//! - placeholders (`age1…`, `ssh-ed25519 AAAA…`) are replaced by real values from the
//!   one table [`PLACEHOLDERS`] in the block's code and quoted strings (its shell comments
//!   keep them, as prose); a variable placeholder (`$NEW`) is set in its environment. A
//!   `…` left outside comments afterwards fails the block.
//!
//! **What is checked**: `<!-- doc-test: exit N -->`: the exit status (default 0).
//! `<!-- doc-test: output -->` above a fenced block that follows an sh block: that block's
//! text must equal the sh block's stdout and stderr, where `…` stands for any text within a
//! line but `*` (so a redacted secret's stars are counted). Since bash's `set -e` does not
//! stop at a failing command left of `&&`, a `&&` between commands runs as `;`: every
//! command of a block must succeed unless the block says `exit N`.
//!
//! **Skips**, each listed in `tests/docs-skipped.txt` (file and the block's first line, or
//! the skipped line), so skipping more is a visible change of that reviewed list:
//! - `<!-- doc-test: skip (why) -->`: the block is not run. Its trial is reported as
//!   `ignored (why)`, in plain `cargo test` and under `--include-ignored` (what CI runs)
//!   alike: it is not an `#[ignore]`-flagged trial, which `--include-ignored` would run
//!   and which could then only fail or claim `ok` for a block it did not run. Instead the
//!   trial always runs, checks that the skip is listed, and reports itself ignored at run
//!   time (libtest-mimic's `Completion::Ignored`), or fails when it is not listed. So
//!   nothing that was not run says `ok`. (`--ignored`, which selects flagged trials only,
//!   selects none of these.)
//! - `<!-- doc-test: skip-line N (why) -->`: the block runs with its line N (1 = the
//!   line after the fence) replaced by a comment, as for `cargo install`.
//!
//! One more trial, `docs-skipped.txt matches the skip markers`, fails on a skip missing
//! from the list and on a line of the list with no such skip; the `harness:` trials check
//! that each check above fails a block that breaks it (so a block cannot pass untested).
//!
//! `DOC_TEST_SHOW=1 cargo test --test docs -- --test-threads=1 FILTER` prints each block's
//! script as run, its output and its stubs' log.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// A value a placeholder stands for.
#[derive(Clone, Copy)]
enum Fill {
    /// bob's age recipient (a fresh key, generated per run).
    BobAge,
    /// The demo key's age recipient: you, in the demo repository.
    YourAge,
    /// bob's ssh-ed25519 public key, from `ssh-keygen` (per run).
    BobSsh,
    /// Not replaced: the block's environment gets this variable with this value.
    Env(&'static str, &'static str),
}

/// The placeholders of the docs and their values. The n-th occurrence of a placeholder in
/// a block takes the n-th value (`--age age1…,age1…` is bob and you); more occurrences
/// than values is an error.
const PLACEHOLDERS: &[(&str, &[Fill])] = &[
    ("age1…", &[Fill::BobAge, Fill::YourAge]),
    ("ssh-ed25519 AAAA…", &[Fill::BobSsh]),
    ("$NEW", &[Fill::Env("NEW", "n3w-rotated-db-password")]),
];

/// The programs a `stub` marker may name, and what their stand-in checks (the kinds are
/// described in `tests/docs/stub.py`). A name with a `/` is created in the block's working
/// directory, any other in a directory on PATH right after the binary's.
const STUBS: &[(&str, &str)] = &[
    ("python", "env"),
    ("gunicorn", "env"),
    ("psql", "env"),
    ("./server", "env"),
    ("docker-entrypoint.sh", "file-env"),
    ("kubectl", "k8s-secret"),
    ("docker", "docker-run"),
    ("editor", "editor"),
];

/// Programs a stub must never stand for: the tool under test and its oracles.
const NEVER_STUBBED: &[&str] = &["secrets", "git", "sops", "age", "age-keygen", "bash", "sh"];

const STUB_BODY: &str = include_str!("docs/stub.py");

#[derive(Clone, Copy, PartialEq, Debug)]
enum Setup {
    Demo,
    EmptyRepo,
    SourceTree,
}

#[derive(Clone)]
struct Block {
    file: String,
    line: usize,
    text: String,
    /// A marker that could not be read.
    error: Option<String>,
    skip: Option<String>,
    /// (line within the block, 1-based; why)
    skip_lines: Vec<(usize, String)>,
    exit: i32,
    output: Option<String>,
    setup: Setup,
    /// (path, encrypted)
    given: Vec<(String, bool)>,
    bob: bool,
    commits: usize,
    stubs: Vec<String>,
}

impl Block {
    fn new(file: &str, line: usize, text: &str) -> Block {
        Block {
            file: file.to_string(),
            line,
            text: text.to_string(),
            error: None,
            skip: None,
            skip_lines: Vec::new(),
            exit: 0,
            output: None,
            setup: Setup::Demo,
            given: Vec::new(),
            bob: false,
            commits: 0,
            stubs: Vec::new(),
        }
    }

    fn first_line(&self) -> &str {
        self.text.lines().next().unwrap_or("").trim_end()
    }

    /// The lines this block adds to tests/docs-skipped.txt.
    fn skip_ids(&self) -> Vec<String> {
        let mut ids = Vec::new();
        if self.skip.is_some() {
            ids.push(format!("{}: {}", self.file, self.first_line()));
        }
        let lines: Vec<&str> = self.text.lines().collect();
        for (n, _) in &self.skip_lines {
            if let Some(l) = lines.get(n - 1) {
                ids.push(format!("{}: {}", self.file, l.trim_end()));
            }
        }
        ids
    }
}

fn markers(lines: &[&str], fence: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = fence;
    while i > 0 {
        i -= 1;
        let l = lines[i].trim();
        if let Some(m) = l
            .strip_prefix("<!-- doc-test:")
            .and_then(|m| m.strip_suffix("-->"))
        {
            out.push(m.trim().to_string());
        } else {
            break;
        }
    }
    out.reverse();
    out
}

/// `(why)` after a marker's word.
fn reason(rest: &str) -> Result<String, String> {
    rest.trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .map(str::to_string)
        .ok_or_else(|| format!("a reason in parentheses, not {rest:?}"))
}

fn apply_marker(b: &mut Block, m: &str) -> Result<(), String> {
    let (word, rest) = m.split_once(' ').unwrap_or((m, ""));
    match word {
        "skip" => b.skip = Some(reason(rest)?),
        "skip-line" => {
            let (n, why) = rest.trim().split_once(' ').unwrap_or((rest, ""));
            let n: usize = n.parse().map_err(|_| format!("a line number, not {n:?}"))?;
            if n == 0 || n > b.text.lines().count() {
                return Err(format!("skip-line {n}: the block has no line {n}"));
            }
            b.skip_lines.push((n, reason(why)?));
        }
        "exit" => b.exit = rest.trim().parse().map_err(|_| format!("exit {rest:?}"))?,
        "in" => {
            b.setup = match rest.trim() {
                "empty-repo" => Setup::EmptyRepo,
                "source-tree" => Setup::SourceTree,
                other => return Err(format!("unknown setup {other:?}")),
            }
        }
        "given" => {
            let mut words = rest.split_whitespace().peekable();
            let encrypted = words.next_if_eq(&"encrypted").is_some();
            let paths: Vec<&str> = words.collect();
            if paths.is_empty() {
                return Err("given: no path".into());
            }
            b.given
                .extend(paths.iter().map(|p| (p.to_string(), encrypted)));
        }
        "member" if rest.trim() == "bob" => b.bob = true,
        "commits" => {
            b.commits = rest
                .trim()
                .parse()
                .map_err(|_| format!("commits {rest:?}"))?
        }
        "stub" => {
            for name in rest.split_whitespace() {
                if !STUBS.iter().any(|(n, _)| *n == name) {
                    return Err(format!("no stub {name:?} in the STUBS table"));
                }
                b.stubs.push(name.to_string());
            }
        }
        _ => return Err(format!("unknown doc-test marker {m:?}")),
    }
    Ok(())
}

fn blocks(root: &Path, rel: &str) -> Result<Vec<Block>, String> {
    let text = std::fs::read_to_string(root.join(rel)).map_err(|e| format!("{rel}: {e}"))?;
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<Block> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(lang) = lines[i].strip_prefix("```") else {
            i += 1;
            continue;
        };
        let start = i;
        let end = (i + 1..lines.len())
            .find(|&j| lines[j].starts_with("```"))
            .ok_or_else(|| format!("{rel}:{}: unclosed fence", start + 1))?;
        let body = lines[start + 1..end].join("\n") + "\n";
        let marks = markers(&lines, start);
        if marks.iter().any(|m| m == "output") {
            let prev = out
                .last_mut()
                .ok_or_else(|| format!("{rel}:{}: output without a block", start + 1))?;
            prev.output = Some(body);
        } else if lang.trim() == "sh" {
            let mut b = Block::new(rel, start + 1, &body);
            for m in &marks {
                if let Err(e) = apply_marker(&mut b, m) {
                    b.error = Some(e);
                }
            }
            out.push(b);
        } else if !marks.is_empty() {
            return Err(format!(
                "{rel}:{}: doc-test markers above a block that is not sh",
                start + 1
            ));
        }
        i = end + 1;
    }
    Ok(out)
}

/// `…` in `expected` matches any text within one line that has no `*`.
fn matches(expected: &str, actual: &str) -> bool {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    e.len() == a.len()
        && e.iter().zip(&a).all(|(e, a)| {
            let parts: Vec<&str> = e.split('…').collect();
            let mut rest = *a;
            for (k, p) in parts.iter().enumerate() {
                if k == 0 {
                    let Some(r) = rest.strip_prefix(p) else {
                        return false;
                    };
                    rest = r;
                } else if k == parts.len() - 1 {
                    return rest.ends_with(p) && !rest[..rest.len() - p.len()].contains('*');
                } else {
                    let Some(at) = rest.find(p) else { return false };
                    if rest[..at].contains('*') {
                        return false;
                    }
                    rest = &rest[at + p.len()..];
                }
            }
            rest.is_empty()
        })
}

#[derive(Clone, Copy, PartialEq)]
enum Run {
    Code,
    Quoted,
    Comment,
}

/// A script cut into code, quoted strings (quotes included) and shell comments (`#` at
/// the start of a word, outside quotes, to the end of the line).
fn runs(script: &str) -> Vec<(Run, String)> {
    let mut out: Vec<(Run, String)> = Vec::new();
    let (mut quote, mut comment, mut escaped, mut prev) = (None, false, false, '\n');
    for c in script.chars() {
        let kind = if comment {
            comment = c != '\n';
            if comment {
                Run::Comment
            } else {
                Run::Code
            }
        } else if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if q == '"' && c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            Run::Quoted
        } else if escaped {
            escaped = false;
            Run::Code
        } else if c == '\\' {
            escaped = true;
            Run::Code
        } else if c == '\'' || c == '"' {
            quote = Some(c);
            Run::Quoted
        } else if c == '#' && prev.is_whitespace() {
            comment = true;
            Run::Comment
        } else {
            Run::Code
        };
        match out.last_mut() {
            Some((k, t)) if *k == kind => t.push(c),
            _ => out.push((kind, c.to_string())),
        }
        prev = c;
    }
    out
}

/// Keys and values generated once per run of this harness.
struct Fixtures {
    _dir: tempfile::TempDir,
    bob_age: String,
    bob_ssh: Result<String, String>,
    your_age: String,
    /// The python3 interpreter itself (not a wrapper such as pyenv's shim, which would add
    /// variables of its own to what a stub sees), for the stubs' `#!` line.
    python: Result<String, String>,
}

impl Fixtures {
    fn new(root: &Path) -> Fixtures {
        let dir = tempfile::tempdir().unwrap();
        // bob's identity is never needed by a block: only his recipient is kept.
        let bob_age = age::x25519::Identity::generate().to_public().to_string();
        let ssh = dir.path().join("bob_ed25519");
        let bob_ssh = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "bob@laptop", "-f"])
            .arg(&ssh)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("ssh-keygen: {e} (install openssh-client; .ci/run does)"))
            .and_then(|o| {
                if o.status.success() {
                    std::fs::read_to_string(ssh.with_extension("pub"))
                        .map(|s| s.trim().to_string())
                        .map_err(|e| e.to_string())
                } else {
                    Err(format!("ssh-keygen failed: {o:?}"))
                }
            });
        let demo_key = std::fs::read_to_string(root.join("testdata/demo/demo-key.txt")).unwrap();
        let your_age = demo_key
            .lines()
            .find_map(|l| l.strip_prefix("# public key: "))
            .expect("demo-key.txt has a `# public key:` line")
            .to_string();
        let python = Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .map_err(|e| format!("python3 (for the stubs): {e}"))
            .and_then(|o| match String::from_utf8_lossy(&o.stdout).trim() {
                p if o.status.success() && p.starts_with('/') => Ok(p.to_string()),
                _ => Err(format!("python3 (for the stubs) failed: {o:?}")),
            });
        Fixtures {
            python,
            _dir: dir,
            bob_age,
            bob_ssh,
            your_age,
        }
    }

    fn value(&self, f: Fill) -> Result<String, String> {
        match f {
            Fill::BobAge => Ok(self.bob_age.clone()),
            Fill::YourAge => Ok(self.your_age.clone()),
            Fill::BobSsh => self.bob_ssh.clone(),
            Fill::Env(name, _) => Err(format!("${name} is set, not replaced")),
        }
    }
}

/// The block's script as it runs: placeholders filled, skipped lines commented out, `&&`
/// in code run as `;`; plus the variables that `Env` placeholders set.
fn prepare(b: &Block, fx: &Fixtures) -> Result<(String, Vec<(String, String)>), String> {
    let mut lines: Vec<String> = b.text.lines().map(str::to_string).collect();
    for (n, why) in &b.skip_lines {
        lines[n - 1] = format!("# skipped by tests/docs.rs ({why}): {}", lines[n - 1]);
    }
    let script = lines.join("\n") + "\n";
    let mut envs = Vec::new();
    let mut used = vec![0usize; PLACEHOLDERS.len()];
    let mut out = String::new();
    for (kind, mut text) in runs(&script) {
        if kind != Run::Comment {
            for (i, (ph, fills)) in PLACEHOLDERS.iter().enumerate() {
                if let [Fill::Env(name, value)] = fills {
                    if text.contains(ph) && !envs.iter().any(|(n, _)| n == name) {
                        envs.push((name.to_string(), value.to_string()));
                    }
                    continue;
                }
                while let Some(at) = text.find(ph) {
                    let fill = *fills.get(used[i]).ok_or_else(|| {
                        format!("{ph:?} occurs more often than PLACEHOLDERS has values")
                    })?;
                    used[i] += 1;
                    text.replace_range(at..at + ph.len(), &fx.value(fill)?);
                }
            }
            if text.contains('…') {
                return Err(format!("a placeholder with no value in {text:?}"));
            }
        }
        if kind == Run::Code {
            text = text.replace(" && ", " ; ");
        }
        out.push_str(&text);
    }
    Ok((out, envs))
}

/// Plaintext for `given PATH`, by its extension.
fn given_text(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    if name.ends_with(".yaml") || name.ends_with(".yml") {
        "# given by tests/docs.rs\ndatabase:\n  host: db.internal\n  port: 5432\n  user: app\n  password: correct-horse-battery-staple\n  legacy_token: old-token-to-remove\n"
    } else if name.ends_with(".json") {
        "{\n    \"database\": {\n        \"host\": \"db.internal\",\n        \"port\": 5432,\n        \"user\": \"app\",\n        \"password\": \"correct-horse-battery-staple\",\n        \"legacy_token\": \"old-token-to-remove\"\n    }\n}\n"
    } else if name.ends_with(".env") || name.starts_with(".env") {
        "# given by tests/docs.rs\nDATABASE_HOST=db.internal\nDATABASE_PORT=5432\nDATABASE_USER=app\nDATABASE_PASSWORD=correct-horse-battery-staple\nDATABASE_LEGACY_TOKEN=old-token-to-remove\n"
    } else if name.ends_with(".ini") {
        "; given by tests/docs.rs\n[database]\nhost = db.internal\nport = 5432\nuser = app\npassword = correct-horse-battery-staple\nlegacy_token = old-token-to-remove\n"
    } else {
        "a file of your own, given by tests/docs.rs; nothing secret in it\n"
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Everything a block runs in.
struct Sandbox {
    _tmp: tempfile::TempDir,
    work: PathBuf,
    log: PathBuf,
    env: Vec<(String, String)>,
}

impl Sandbox {
    /// A bash script run in the work dir with the block's environment; Err on failure.
    fn sh(&self, what: &str, script: &str) -> Result<(), String> {
        let out = self.command(script).output().map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "setup ({what}) failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn command(&self, script: &str) -> Command {
        let mut c = Command::new("bash");
        c.arg("-c")
            .arg(format!("set -eo pipefail\n{script}"))
            .current_dir(&self.work)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        c
    }
}

fn sandbox(
    root: &Path,
    b: &Block,
    fx: &Fixtures,
    extra_env: &[(String, String)],
) -> Result<Sandbox, String> {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let tmpdir = tmp.path().join("tmp");
    let bin = tmp.path().join("bin");
    for d in [&home, &tmpdir, &bin] {
        std::fs::create_dir_all(d).unwrap();
    }
    let work = match b.setup {
        Setup::SourceTree => tmp.path().join("src"),
        _ => tmp.path().join("repo"),
    };
    let secrets = PathBuf::from(env!("CARGO_BIN_EXE_secrets"));
    let path = format!(
        "{}:{}:{}",
        secrets.parent().unwrap().display(),
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let log = tmp.path().join("stub-log.jsonl");
    let mut env: Vec<(String, String)> = vec![
        ("PATH".into(), path),
        ("HOME".into(), home.display().to_string()),
        (
            "XDG_CONFIG_HOME".into(),
            home.join(".config").display().to_string(),
        ),
        ("TMPDIR".into(), tmpdir.display().to_string()),
        ("USER".into(), "you".into()),
        ("LOGNAME".into(), "you".into()),
        ("SHELL".into(), "/bin/bash".into()),
        ("LANG".into(), "C.UTF-8".into()),
        ("NO_COLOR".into(), "1".into()),
        ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
        ("SOPS_DISABLE_VERSION_CHECK".into(), "1".into()),
        ("DOC_TEST_STUB_LOG".into(), log.display().to_string()),
    ];
    if b.setup == Setup::Demo {
        let key = tmp.path().join("demo-key.txt");
        write_private(
            &key,
            &std::fs::read_to_string(root.join("testdata/demo/demo-key.txt")).unwrap(),
        );
        env.push(("SECRETS_AGE_KEY_FILE".into(), key.display().to_string()));
    }
    for name in &b.stubs {
        let kind = STUBS.iter().find(|(n, _)| n == name).unwrap().1;
        let python = fx.python.clone()?;
        let text = format!("#!{python}\nNAME = {name:?}\nKIND = {kind:?}\n{STUB_BODY}");
        if name.contains('/') {
            std::fs::create_dir_all(&work).unwrap();
            write_executable(&work.join(name), &text);
        } else {
            write_executable(&bin.join(name), &text);
        }
        if name == "editor" {
            env.push(("EDITOR".into(), bin.join(name).display().to_string()));
        }
    }
    env.extend(extra_env.iter().cloned());
    let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    let base = names.join(":");
    env.push(("DOC_TEST_BASE_ENV".into(), base));
    let sb = Sandbox {
        work: work.clone(),
        log,
        env,
        _tmp: tmp,
    };

    std::fs::create_dir_all(&work).unwrap();
    let (user, email) = match b.setup {
        Setup::EmptyRepo => ("Alice", "alice@example.invalid"),
        _ => ("Demo", "demo@example.invalid"),
    };
    match b.setup {
        Setup::Demo => {
            copy_dir(&root.join("testdata/demo"), &work);
            for f in ["run.sh", "README.md", "demo-key.txt"] {
                std::fs::remove_file(work.join(f)).unwrap();
            }
        }
        Setup::SourceTree => copy_dir(&root.join("testdata/demo"), &work.join("testdata/demo")),
        Setup::EmptyRepo => {}
    }
    let commit = if b.setup == Setup::EmptyRepo {
        ""
    } else {
        "git add -A\ngit commit -qm demo\n"
    };
    sb.sh(
        "git init",
        &format!(
            "git init -q -b main\ngit config user.name {user}\ngit config user.email {email}\n{commit}"
        ),
    )?;
    if b.setup == Setup::SourceTree {
        std::fs::create_dir_all(work.join("target/debug")).unwrap();
        std::os::unix::fs::symlink(&secrets, work.join("target/debug/secrets")).unwrap();
    }
    if b.bob {
        sb.sh(
            "member bob",
            &format!(
                "secrets -q member add bob {}\nsecrets -q env grant dev bob\nsecrets -q env grant prod bob\nsecrets -q updatekeys\ngit commit -qam 'grant bob'\n",
                fx.bob_age
            ),
        )?;
    }
    if b.commits > 0 {
        sb.sh(
            "commits",
            &format!(
                r#"for i in $(seq 1 {n}); do
  printf 'commit refs/heads/main\ncommitter Demo <demo@example.invalid> %d +0000\ndata <<EOM\nchange %d\nEOM\n' $((1700000000 + i)) "$i"
  if [ "$i" = 1 ]; then echo 'from refs/heads/main^0'; fi
  printf 'M 100644 inline CHANGELOG.md\ndata <<EOM\n'
  for j in $(seq 1 "$i"); do printf -- '- change %d\n' "$j"; done
  printf 'EOM\n\n'
done | git fast-import --quiet
git reset -q --hard
"#,
                n = b.commits
            ),
        )?;
    }
    for (path, encrypted) in &b.given {
        let p = work.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, given_text(path)).unwrap();
        if *encrypted {
            sb.sh(
                "given encrypted",
                &format!("secrets -q encrypt -i '{path}' --age {}", fx.your_age),
            )?;
        }
    }
    Ok(sb)
}

fn run(root: &Path, b: &Block, fx: &Fixtures) -> Result<(), String> {
    if let Some(e) = &b.error {
        return Err(e.clone());
    }
    let (script, envs) = prepare(b, fx)?;
    let sb = sandbox(root, b, fx, &envs)?;
    let out = sb.command(&script).output().map_err(|e| e.to_string())?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.code() != Some(b.exit) {
        return Err(format!(
            "exit {:?}, expected {}:\n{script}\n--- output ---\n{text}",
            out.status.code(),
            b.exit,
        ));
    }
    if std::env::var_os("DOC_TEST_SHOW").is_some() {
        eprintln!(
            "==== {}:{}\n{script}---- output\n{text}---- stub log\n{}",
            b.file,
            b.line,
            std::fs::read_to_string(&sb.log).unwrap_or_default()
        );
    }
    if let Some(expected) = &b.output {
        if !matches(expected, &text) {
            return Err(format!(
                "output differs:\n--- documented ---\n{expected}--- printed ---\n{text}"
            ));
        }
    }
    check_stubs(b, &sb)
}

/// Every stub the block names was called; `exec --file-env` directories are gone.
fn check_stubs(b: &Block, sb: &Sandbox) -> Result<(), String> {
    if b.stubs.is_empty() {
        return Ok(());
    }
    let log = std::fs::read_to_string(&sb.log).unwrap_or_default();
    let calls: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).map_err(|e| format!("stub log: {e}: {l}")))
        .collect::<Result<_, _>>()?;
    for name in &b.stubs {
        if !calls.iter().any(|c| c["stub"] == name.as_str()) {
            return Err(format!(
                "the stub {name} was never called; stub log:\n{log}"
            ));
        }
    }
    for c in &calls {
        for d in c["dirs"].as_array().into_iter().flatten() {
            let d = d.as_str().unwrap_or("");
            if Path::new(d).exists() {
                return Err(format!(
                    "{d}, the --file-env directory {} saw, still exists after the block",
                    c["stub"]
                ));
            }
        }
    }
    Ok(())
}

/// The non-empty, non-comment lines of tests/docs-skipped.txt.
fn skip_list(root: &Path) -> Vec<String> {
    std::fs::read_to_string(root.join("tests/docs-skipped.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// The harness's own checks: each of these blocks must FAIL, or the harness could report
/// `ok` for a block whose command failed or whose stub was never reached.
fn self_tests(root: &'static Path, fx: &Arc<Fixtures>) -> Vec<Trial> {
    let stub = |text: &str, stubs: &[&str]| {
        let mut b = Block::new("self-test", 0, text);
        b.stubs = stubs.iter().map(|s| s.to_string()).collect();
        b
    };
    let mut output = Block::new("self-test", 0, "echo printed\n");
    output.output = Some("documented\n".into());
    // (what, the block, a part of the error it must fail with)
    let cases: Vec<(&str, Block, &str)> = vec![
        (
            "a command failing left of && fails the block",
            stub("false && true\n", &[]),
            "exit Some(1), expected 0",
        ),
        (
            "a wrong exit status fails the block",
            stub("exit 3\n", &[]),
            "exit Some(3), expected 0",
        ),
        (
            "output unlike the documented output fails the block",
            output,
            "output differs",
        ),
        (
            "a placeholder with no value fails the block",
            stub("echo 'x…'\n", &[]),
            "a placeholder with no value",
        ),
        (
            "a placeholder used more often than it has values fails the block",
            stub("echo age1… age1… age1…\n", &[]),
            "occurs more often",
        ),
        (
            "a stub the block never calls fails it",
            stub("true\n", &["psql"]),
            "the stub psql was never called",
        ),
        (
            "an exec stub started without secrets fails the block",
            stub("psql\n", &["psql"]),
            "no variable from secrets in its environment",
        ),
        (
            "the kubectl stub refuses what is not a Secret",
            stub("echo 'kind: ConfigMap' | kubectl apply -f -\n", &["kubectl"]),
            "stdin: kind is 'ConfigMap', not Secret",
        ),
        (
            "the docker stub refuses a _FILE that is not in the mounted directory",
            stub(
                "mkdir -p d && docker run -v \"$PWD/d:/run/s\" -e A_FILE=/run/s/A img\n",
                &["docker"],
            ),
            "/d/A does not exist",
        ),
        (
            "a --file-env directory left behind fails the block",
            stub(
                "d=$(mktemp -d) && printf x > \"$d/A\" && chmod 600 \"$d/A\"\nA_FILE=$d/A docker-entrypoint.sh\n",
                &["docker-entrypoint.sh"],
            ),
            "still exists after the block",
        ),
    ];
    let mut trials: Vec<Trial> = cases
        .into_iter()
        .map(|(name, b, why)| {
            let fx = fx.clone();
            Trial::test(format!("harness: {name}"), move || {
                match run(root, &b, &fx) {
                    Err(e) if e.contains(why) => Ok(()),
                    Err(e) => Err(format!("failed, but not with {why:?}: {e}").into()),
                    Ok(()) => Err("the block passed".into()),
                }
            })
        })
        .collect();
    let fx = fx.clone();
    trials.push(Trial::test(
        "harness: placeholders are filled in code and quotes, not in comments",
        move || {
            let b = Block::new(
                "self-test",
                0,
                "x age1…,age1… \"$NEW\"  # age1…\ny 'ssh-ed25519 AAAA…' && z $NEW\n",
            );
            let (script, envs) = prepare(&b, &fx)?;
            let want = format!(
                "x {},{} \"$NEW\"  # age1…\ny '{}' ; z $NEW\n",
                fx.bob_age,
                fx.your_age,
                fx.bob_ssh.clone()?
            );
            if script != want
                || envs != [("NEW".to_string(), "n3w-rotated-db-password".to_string())]
            {
                return Err(format!("prepared {script:?} {envs:?}, expected {want:?}").into());
            }
            Ok(())
        },
    ));
    trials
}

fn main() {
    let args = Arguments::from_args();
    let root: &'static Path = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, _) in STUBS {
        let base = name.rsplit('/').next().unwrap();
        assert!(
            !NEVER_STUBBED.contains(&base),
            "STUBS must not stand for {base}"
        );
    }
    let mut files = vec![
        "README.md".to_string(),
        "testdata/demo/README.md".to_string(),
    ];
    let mut docs: Vec<String> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| format!("docs/{}", e.unwrap().file_name().to_string_lossy()))
        .filter(|f| f.ends_with(".md"))
        .collect();
    docs.sort();
    files.extend(docs);

    let fx = Arc::new(Fixtures::new(root));
    let listed = Arc::new(skip_list(root));
    let mut trials = Vec::new();
    let mut all: Vec<Block> = Vec::new();
    let mut parse_errors = Vec::new();
    for f in &files {
        match blocks(root, f) {
            Ok(bs) => all.extend(bs),
            Err(e) => parse_errors.push(e),
        }
    }
    for b in &all {
        let name = format!("{}:{}", b.file, b.line);
        let b = b.clone();
        if let Some(why) = b.skip.clone() {
            let listed = listed.clone();
            trials.push(Trial::ignorable_test(name, move || {
                let id = format!("{}: {}", b.file, b.first_line());
                if listed.contains(&id) {
                    Ok(Completion::ignored_with(why))
                } else {
                    Err(format!("skipped ({why}) but not in tests/docs-skipped.txt: {id}").into())
                }
            }));
        } else {
            let fx = fx.clone();
            trials.push(Trial::test(name, move || {
                run(root, &b, &fx).map_err(Failed::from)
            }));
        }
    }
    trials.extend(self_tests(root, &fx));
    let skips: Vec<String> = all.iter().flat_map(Block::skip_ids).collect();
    let listed2 = listed.clone();
    trials.push(Trial::test(
        "docs-skipped.txt matches the skip markers",
        move || {
            let mut problems = parse_errors;
            for s in &skips {
                if !listed2.contains(s) {
                    problems.push(format!("skipped but not in tests/docs-skipped.txt: {s}"));
                }
            }
            for l in listed2.iter() {
                if !skips.contains(l) {
                    problems.push(format!(
                        "tests/docs-skipped.txt lists {l:?}, which is not skipped: remove it"
                    ));
                }
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(problems.join("\n").into())
            }
        },
    ));
    let conclusion = libtest_mimic::run(&args, trials);
    // The fixtures' temp dir is removed before exiting (exit() skips destructors).
    drop(fx);
    conclusion.exit();
}
