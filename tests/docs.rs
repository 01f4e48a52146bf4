//! Every fenced ```sh block of README.md, docs/*.md and testdata/demo/README.md, run as
//! a bash script (`set -eo pipefail`) against a temp copy of the demo data (a git
//! repository, `testdata/demo`), with the built binary first on PATH, HOME in a temp dir
//! and the demo key as `SECRETS_AGE_KEY_FILE`; so the docs cannot drift from the tool.
//!
//! Markers, HTML comments on the lines just before a block (invisible when rendered):
//! - `<!-- doc-test: skip (why) -->`: not run; listed in the summary, and every skipped
//!   block must be in `tests/docs-skipped.txt` (file and first line), so skipping more
//!   is a visible change of that list.
//! - `<!-- doc-test: exit N -->`: the block must exit with N (default 0).
//! - `<!-- doc-test: output -->` before a fenced block that follows an sh block: that
//!   block's text must equal the sh block's stdout and stderr, where `…` in it stands for
//!   any text within a line but `*` (so a redacted secret's stars are counted).

use std::path::{Path, PathBuf};
use std::process::Command;

struct Block {
    file: String,
    line: usize,
    text: String,
    skip: Option<String>,
    exit: i32,
    output: Option<String>,
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
    out
}

fn blocks(root: &Path, rel: &str) -> Vec<Block> {
    let text = std::fs::read_to_string(root.join(rel)).unwrap();
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
            .unwrap_or_else(|| panic!("{rel}:{}: unclosed fence", start + 1));
        let body = lines[start + 1..end].join("\n") + "\n";
        let marks = markers(&lines, start);
        if marks.iter().any(|m| m == "output") {
            let prev = out
                .last_mut()
                .unwrap_or_else(|| panic!("{rel}:{}: output without a block", start + 1));
            prev.output = Some(body);
        } else if lang.trim() == "sh" {
            let mut b = Block {
                file: rel.to_string(),
                line: start + 1,
                text: body,
                skip: None,
                exit: 0,
                output: None,
            };
            for m in marks {
                if let Some(why) = m.strip_prefix("skip") {
                    b.skip = Some(why.trim().to_string());
                } else if let Some(n) = m.strip_prefix("exit") {
                    b.exit = n.trim().parse().unwrap();
                } else {
                    panic!("{rel}:{}: unknown doc-test marker {m:?}", start + 1);
                }
            }
            out.push(b);
        }
        i = end + 1;
    }
    out
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

fn run(root: &Path, b: &Block) -> Result<(), String> {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("repo");
    copy_dir(&root.join("testdata/demo"), &work);
    for f in ["run.sh", "README.md", "demo-key.txt"] {
        std::fs::remove_file(work.join(f)).unwrap();
    }
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let key = tmp.path().join("demo-key.txt");
    std::fs::copy(root.join("testdata/demo/demo-key.txt"), &key).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_secrets"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let git = |args: &[&str]| {
        let st = Command::new("git")
            .args(args)
            .current_dir(&work)
            .env("HOME", &home)
            .output()
            .unwrap();
        assert!(st.status.success(), "git {args:?}: {st:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    git(&[
        "-c",
        "user.name=demo",
        "-c",
        "user.email=demo@example.invalid",
        "add",
        "-A",
    ]);
    git(&[
        "-c",
        "user.name=demo",
        "-c",
        "user.email=demo@example.invalid",
        "commit",
        "-qm",
        "demo",
    ]);
    let mut c = Command::new("bash");
    c.arg("-c")
        .arg(format!("set -eo pipefail\n{}", b.text))
        .current_dir(&work)
        .env("PATH", path)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("SECRETS_AGE_KEY_FILE", &key)
        .env("GIT_AUTHOR_NAME", "demo")
        .env("GIT_AUTHOR_EMAIL", "demo@example.invalid")
        .env("GIT_COMMITTER_NAME", "demo")
        .env("GIT_COMMITTER_EMAIL", "demo@example.invalid")
        .env("NO_COLOR", "1")
        .env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_KEY")
        .env_remove("EDITOR")
        .env_remove("VISUAL")
        .stdin(std::process::Stdio::null());
    let out = c.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.code() != Some(b.exit) {
        return Err(format!(
            "exit {:?}, expected {}:\n{}\n--- output ---\n{text}",
            out.status.code(),
            b.exit,
            b.text
        ));
    }
    if let Some(expected) = &b.output {
        if !matches(expected, &text) {
            return Err(format!(
                "output differs:\n--- documented ---\n{expected}--- printed ---\n{text}"
            ));
        }
    }
    Ok(())
}

#[test]
fn every_documented_command_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
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
    let allowed = std::fs::read_to_string(root.join("tests/docs-skipped.txt")).unwrap();
    let allowed: Vec<&str> = allowed
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect();
    let (mut ran, mut skipped, mut failures) = (0, Vec::new(), Vec::new());
    for f in &files {
        for b in blocks(root, f) {
            let first = b.text.lines().next().unwrap_or("").trim_end();
            let id = format!("{}: {first}", b.file);
            if let Some(why) = &b.skip {
                if !allowed.contains(&id.as_str()) {
                    failures.push(format!(
                        "{}:{}: skipped but not in tests/docs-skipped.txt: {id}",
                        b.file, b.line
                    ));
                }
                skipped.push(format!("{id}  {why}"));
                continue;
            }
            ran += 1;
            if let Err(e) = run(root, &b) {
                failures.push(format!("{}:{}: {e}", b.file, b.line));
            }
        }
    }
    eprintln!("doc blocks: {ran} run, {} skipped:", skipped.len());
    for s in &skipped {
        eprintln!("  SKIPPED {s}");
    }
    for id in &allowed {
        assert!(
            skipped.iter().any(|s| s.starts_with(id)),
            "tests/docs-skipped.txt lists {id:?}, which is no longer skipped: remove it"
        );
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}
