//! A passphrase-protected ssh key (`ssh-keygen -N …`, most developers' `~/.ssh/id_ed25519`)
//! as an identity: made by the real `ssh-keygen`, its passphrase typed on a real pty
//! (python3's `pty`), as sops asks for it.

use super::common::*;
use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};

const PASSPHRASE: &str = "correct horse battery";

/// Runs `secrets ARGS` on a pty, answering each passphrase prompt with the next of
/// `answers`; returns what the terminal showed and the exit code.
fn on_a_terminal(
    python: &std::path::Path,
    ks: &KeyedSandbox,
    args: &[&str],
    answers: &[&str],
) -> (String, i32) {
    let script = r#"
import os, pty, sys
answers = [a for a in os.environ["ANSWERS"].split("\n") if a]
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b""
while True:
    try:
        d = os.read(fd, 1024)
    except OSError:
        break
    if not d:
        break
    out += d
    if out.endswith(b": ") and b"passphrase for" in out.rsplit(b"\n", 1)[-1]:
        os.write(fd, (answers.pop(0) if answers else "").encode() + b"\n")
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode())
sys.exit(os.waitstatus_to_exitcode(st))
"#;
    let out = ks
        .python_driving(python, script)
        .args(args)
        .env("ANSWERS", answers.join("\n"))
        .output()
        .unwrap();
    // (`get` ends a value with a newline on a terminal)
    let shown = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    (
        shown.trim_end_matches('\n').to_string(),
        out.status.code().unwrap_or(-1),
    )
}

/// The command in a session of its own: no controlling terminal to ask on (CI, cron).
fn without_a_terminal(ks: &KeyedSandbox, args: &[&str]) -> Output {
    let mut c = ks.cmd();
    c.args(args).stdin(Stdio::null());
    // SAFETY: setsid is async-signal-safe; it only detaches the child from our terminal.
    unsafe {
        c.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    c.output().unwrap()
}

#[test]
fn a_passphrase_protected_ssh_key_asks_for_its_passphrase_on_the_terminal() {
    let (Some(python), Some(keygen)) = (oracle("python3", on_path("python3")), ssh_keygen_bin())
    else {
        return;
    };
    let ks = KeyedSandbox::new();
    std::fs::create_dir_all(ks.path("home/.ssh")).unwrap();
    let st = Command::new(keygen)
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            PASSPHRASE,
            "-C",
            "me@laptop",
            "-f",
        ])
        .arg(ks.path("home/.ssh/id_ed25519"))
        .status()
        .unwrap();
    assert!(st.success());
    let ssh_pub = std::fs::read_to_string(ks.path("home/.ssh/id_ed25519.pub")).unwrap();
    std::fs::write(ks.path("s.yaml"), "a: ssh-VALUE\n").unwrap();
    ks.ok(&["encrypt", "-i", "--age", ssh_pub.trim(), "s.yaml"]);
    ks.encrypted("o.yaml", "b: age-VALUE\n");

    // Asked once, on the terminal, and never echoed.
    let (shown, code) = on_a_terminal(&python, &ks, &["get", "s.yaml", "a"], &[PASSPHRASE]);
    assert_eq!(code, 0, "{shown}");
    assert_eq!(shown.matches("Enter passphrase for ").count(), 1, "{shown}");
    assert!(shown.ends_with(": \nssh-VALUE"), "{shown}");
    assert!(!shown.contains(PASSPHRASE), "{shown}");

    // A wrong passphrase: asked again, three times in all, then the error says why.
    let (shown, code) = on_a_terminal(
        &python,
        &ks,
        &["get", "s.yaml", "a"],
        &["no", "nope", "still no"],
    );
    assert_eq!(code, 128, "{shown}");
    assert_eq!(shown.matches("wrong passphrase\n").count(), 3, "{shown}");
    assert!(
        shown.contains("id_ed25519 (passphrase-protected, and the passphrase typed was wrong)"),
        "{shown}"
    );
    let (shown, code) = on_a_terminal(&python, &ks, &["get", "s.yaml", "a"], &["no", PASSPHRASE]);
    assert_eq!(code, 0, "{shown}");
    assert!(shown.ends_with("ssh-VALUE"), "{shown}");

    // The key named twice (-I and the default path) is asked for once: three tries, not six.
    let (shown, code) = on_a_terminal(
        &python,
        &ks,
        &["get", "-I", "home/.ssh/id_ed25519", "s.yaml", "a"],
        &["no", "nope", "still no", "and again"],
    );
    assert_eq!(code, 128, "{shown}");
    assert_eq!(shown.matches("Enter passphrase for ").count(), 3, "{shown}");

    // Commands that read without being asked for a value never stop at a prompt: `scan`
    // (the pre-commit hook runs it at every commit) and git's textconv (once per file).
    for args in [&["scan", "."][..], &["git", "textconv", "s.yaml"]] {
        let (shown, _) = on_a_terminal(&python, &ks, args, &[]);
        assert!(!shown.contains("Enter passphrase"), "{args:?}: {shown}");
    }

    // A file another identity opens: no prompt, no warning about the ssh key.
    let (shown, code) = on_a_terminal(&python, &ks, &["get", "o.yaml", "b"], &[]);
    assert_eq!((shown.as_str(), code), ("age-VALUE", 0));

    // No terminal: the error names the key and why, and the hint what to do.
    let out = without_a_terminal(&ks, &["get", "s.yaml", "a"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(128), "{err}");
    assert!(
        err.contains("id_ed25519 (passphrase-protected, and no terminal to ask for it)"),
        "{err}"
    );
    assert!(
        err.contains("\nhint: your ssh key is passphrase-protected"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    let out = without_a_terminal(&ks, &["get", "o.yaml", "b"]);
    assert_eq!(out.stdout, b"age-VALUE");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
