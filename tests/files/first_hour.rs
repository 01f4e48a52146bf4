//! Issue 16, item 6 (help and errors), with the real binary: options shown only by the
//! commands they apply to and still accepted before the subcommand, every positional
//! argument described, one help layout, `set` without a value (a prompt without echo on
//! a terminal, else a hint), and the `hint:` lines of `set` on a missing file and of a
//! key path in the wrong case.

use super::common::*;
use std::process::Output;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn help(sb: &Sandbox, cmd: &[&str]) -> String {
    let out = sb.cmd().args(cmd).arg("--help").output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

const COMMANDS: &[&[&str]] = &[
    &["keygen"],
    &["init"],
    &["encrypt"],
    &["decrypt"],
    &["edit"],
    &["get"],
    &["set"],
    &["unset"],
    &["member", "add"],
    &["member", "remove"],
    &["member", "list"],
    &["env", "add"],
    &["env", "grant"],
    &["env", "revoke"],
    &["env", "list"],
    &["updatekeys"],
    &["rotate"],
    &["status"],
    &["exec"],
    &["export"],
    &["scan"],
    &["import"],
    &["hook", "install"],
    &["completions"],
];

#[test]
fn help_shows_options_where_they_apply_and_describes_every_argument() {
    let sb = Sandbox::new();
    for cmd in COMMANDS {
        let text = help(&sb, cmd);
        let name = cmd.join(" ");
        let has = |opt: &str| text.contains(opt);
        let decrypts = !matches!(
            name.as_str(),
            "keygen"
                | "encrypt"
                | "member add"
                | "member list"
                | "env add"
                | "env grant"
                | "env list"
                | "hook install"
                | "completions"
        );
        assert_eq!(has("--identity <FILE>"), decrypts, "{name}: -I\n{text}");
        let reads = matches!(
            name.as_str(),
            "encrypt" | "decrypt" | "edit" | "get" | "set" | "unset" | "exec" | "export" | "import"
        );
        assert_eq!(has("--input-type"), reads, "{name}: --input-type\n{text}");
        let writes = matches!(name.as_str(), "encrypt" | "decrypt" | "get");
        assert_eq!(
            has("--output-type"),
            writes,
            "{name}: --output-type\n{text}"
        );
        // Every positional argument has a description: `  <FILE>  The …`.
        for line in text.lines().skip_while(|l| *l != "Arguments:").skip(1) {
            if line.is_empty() {
                break;
            }
            if !line.starts_with("  <") && !line.starts_with("  [") {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            assert!(
                words.len() > 1,
                "{name}: undescribed argument {line:?}\n{text}"
            );
        }
        // The help opens with the command's own description, as `secrets --help` (or
        // its group's help) lists it, not with the description of an option group.
        let (group, leaf) = cmd.split_at(cmd.len() - 1);
        let listing = help(&sb, group);
        let listed = listing
            .lines()
            .find_map(|l| l.trim_start().strip_prefix(leaf[0])?.strip_prefix("  "))
            .unwrap_or_else(|| panic!("{name} not listed:\n{listing}"));
        let opening: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
        let listed: Vec<&str> = listed.split_whitespace().collect();
        assert_eq!(
            opening[..3],
            listed[..3],
            "{name}: its help opens with another description\n{text}"
        );
        // One layout: no blank line between options (clap's long layout, which export's
        // per-format descriptions switched on, separates every option by one).
        let lines: Vec<&str> = text.lines().collect();
        let start = lines.iter().position(|l| *l == "Options:").unwrap();
        let end = lines.iter().position(|l| l.contains("-h, --help")).unwrap();
        assert!(
            lines[start..end].iter().all(|l| !l.is_empty()),
            "{name}: long layout\n{text}"
        );
    }
}

#[test]
fn format_options_before_the_subcommand_still_work() {
    let ks = KeyedSandbox::new();
    ks.encrypted("s.json", "{\"a\": \"x\"}\n");
    std::fs::copy(ks.path("s.json"), ks.path("s.data")).unwrap();
    let before = ks.ok(&[
        "--input-type",
        "json",
        "decrypt",
        "--output-type",
        "yaml",
        "s.data",
    ]);
    let after = ks.ok(&[
        "decrypt",
        "--input-type",
        "json",
        "--output-type",
        "yaml",
        "s.data",
    ]);
    assert_eq!(String::from_utf8(before.clone()).unwrap(), "a: x\n");
    assert_eq!(before, after);
    let top = ks.ok(&[
        "--output-type",
        "yaml",
        "decrypt",
        "--input-type",
        "json",
        "s.data",
    ]);
    assert_eq!(top, after);
    // -I before the subcommand, as a sops user would have scripted it.
    let out = ks
        .sb
        .std_cmd()
        .arg("-I")
        .arg(&ks.key)
        .args(["get", "s.json", "a"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, b"x");
}

#[test]
fn set_without_a_value_hints_value_stdin_and_a_missing_file_hints_encrypt() {
    let ks = KeyedSandbox::new();
    ks.encrypted("s.yaml", "a: x\n");
    let out = ks
        .cmd()
        .args(["set", "s.yaml", "a"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "secrets: error: no value given\nhint: pipe it in: printf %s \"$VALUE\" | secrets set s.yaml a --value-stdin\n"
    );
    let out = ks.run(&["set", "missing.yaml", "a", "b"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "secrets: error: missing.yaml: no such file\nhint: create it with `secrets edit missing.yaml`, or encrypt a plaintext file with `secrets encrypt -i missing.yaml`\n"
    );
    assert!(!ks.path("missing.yaml").exists());
    // Nothing on stdin (`printf %s "$NEW"` with NEW never set) sets nothing; an empty
    // value given as one is set.
    let before = std::fs::read(ks.path("s.yaml")).unwrap();
    let out = ks
        .cmd()
        .args(["set", "s.yaml", "a", "--value-stdin"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "secrets: error: s.yaml: a: nothing came on stdin\nhint: to set an empty value, give it: secrets set s.yaml a ''\n"
    );
    assert_eq!(std::fs::read(ks.path("s.yaml")).unwrap(), before);
    let out = ks.run(&["set", "s.yaml", "a", ""]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(ks.run(&["get", "s.yaml", "a"]).stdout, b"");
}

#[test]
fn a_key_in_the_wrong_case_lists_close_names_never_values() {
    let ks = KeyedSandbox::new();
    ks.encrypted(
        ".env",
        "SECRET_KEY=v-one-VALUE\nSECRET_KEYS=v-two-VALUE\nDEBUG=1\n",
    );
    ks.encrypted(
        "s.yaml",
        "database:\n  password: p-VALUE\n  host: h-VALUE\n",
    );
    // The case is named only where it is what differs.
    const CASE: &str = "key names are case-sensitive; ";
    for (file, path, hint) in [
        (
            ".env",
            "secret_key",
            format!("{CASE}did you mean SECRET_KEY, SECRET_KEYS?"),
        ),
        (
            "s.yaml",
            "Database.password",
            format!("{CASE}did you mean database.password?"),
        ),
        (
            "s.yaml",
            "Database.pasword",
            "did you mean database.password?".to_string(),
        ),
        (
            "s.yaml",
            "database.pasword",
            "did you mean database.password?".to_string(),
        ),
    ] {
        for cmd in ["get", "unset"] {
            let out = ks.run(&[cmd, file, path]);
            let text = stderr(&out);
            assert_eq!(out.status.code(), Some(91), "{text}");
            assert!(
                text.contains(&format!("\nhint: {hint}\n")),
                "{cmd} {file}: {text}"
            );
            assert!(!text.contains("VALUE"), "{text}");
        }
    }
    // Nothing close: no hint.
    let out = ks.run(&["get", "s.yaml", "nothing.here"]);
    assert_eq!(out.status.code(), Some(91));
    assert!(!stderr(&out).contains("hint:"), "{}", stderr(&out));
}

#[test]
fn a_path_past_a_value_or_a_list_says_where_it_stops() {
    let ks = KeyedSandbox::new();
    ks.encrypted(
        "s.yaml",
        "token: t-VALUE
hosts:
  - h-VALUE
",
    );
    for (path, hint) in [
        ("token.id", "token is a value, not a map"),
        ("hosts.2", "hosts is a list of 1 item, numbered from 0"),
        (
            "hosts.primary",
            "hosts is a list: its items are numbered from 0",
        ),
    ] {
        for cmd in ["get", "unset"] {
            let out = ks.run(&[cmd, "s.yaml", path]);
            let text = stderr(&out);
            assert_eq!(out.status.code(), Some(91), "{text}");
            assert!(
                text.ends_with(&format!("\nhint: {hint}\n")),
                "{cmd} {path}: {text}"
            );
            assert!(!text.contains("VALUE"), "{text}");
        }
    }
}

/// Runs a python3 `script` that drives the binary (its `argv[1]`) on a pty, with the
/// sandbox's environment as `secrets` gets it, in the sandbox's directory.
fn run_pty_script(python: &std::path::Path, script: &str, ks: &KeyedSandbox) -> Output {
    ks.python_driving(python, script)
        .env_remove("SECRETS_AGE_KEY_FILE")
        .output()
        .unwrap()
}

/// On a terminal, `set FILE KEY` asks for the value without echoing it. Needs a pty:
/// python3's `pty` module drives one (a missing python3 fails the test, as any oracle).
#[test]
fn set_without_a_value_prompts_without_echo_on_a_terminal() {
    let Some(python) = oracle("python3", on_path("python3")) else {
        return;
    };
    let ks = KeyedSandbox::new();
    ks.encrypted("s.yaml", "a: x\n");
    let script = r#"
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "set", "s.yaml", "a"])
out = b""
while b"(not echoed): " not in out:
    out += os.read(fd, 1024)
os.write(fd, b"typed-VALUE\n")
while True:
    try:
        d = os.read(fd, 1024)
    except OSError:
        break
    if not d:
        break
    out += d
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode())
sys.exit(os.waitstatus_to_exitcode(st))
"#;
    let out = run_pty_script(&python, script, &ks);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}{}", stderr(&out));
    assert!(shown.starts_with("value for a (not echoed): "), "{shown}");
    assert!(!shown.contains("typed-VALUE"), "echoed: {shown}");
    assert_eq!(ks.ok(&["get", "s.yaml", "a"]), b"typed-VALUE");
}

/// Ctrl-C at `set`'s hidden prompt ends the command by SIGINT and leaves the terminal's echo
/// on, as it was (before the fix, the shell was left without echo). A real pty: python3's
/// `pty.openpty`, the child in its own session with the pty as its controlling terminal,
/// so the line discipline turns the typed ^C into SIGINT.
#[test]
fn ctrl_c_at_the_hidden_prompt_restores_echo() {
    let Some(python) = oracle("python3", on_path("python3")) else {
        return;
    };
    let ks = KeyedSandbox::new();
    ks.encrypted("s.yaml", "a: x\n");
    let script = r#"
import fcntl, os, pty, sys, termios
master, slave = pty.openpty()
pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.execv(sys.argv[1], [sys.argv[1], "set", "s.yaml", "a"])
out = b""
while b"(not echoed): " not in out:
    out += os.read(master, 1024)
echo_at_prompt = termios.tcgetattr(slave)[3] & termios.ECHO
os.write(master, b"\x03")
_, st = os.waitpid(pid, 0)
echo_after = termios.tcgetattr(slave)[3] & termios.ECHO
print(f"at-prompt={bool(echo_at_prompt)} after={bool(echo_after)} status={os.waitstatus_to_exitcode(st)}")
"#;
    let out = run_pty_script(&python, script, &ks);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}{}", stderr(&out));
    // Echo was off while the prompt waited (the test can tell), on again after ^C, and the
    // command died of SIGINT (exit status -2 in Python's terms).
    assert_eq!(
        shown.trim(),
        "at-prompt=False after=True status=-2",
        "{shown}"
    );
    assert_eq!(ks.ok(&["get", "s.yaml", "a"]), b"x");
}

/// A closed stdout ends a command as it ends other Unix tools (SIGPIPE), never with a
/// panic, exit 101 (audit of issue 10: `secrets status | head -1`). The pipe's read end is
/// closed before the command starts, so its first write fails.
#[test]
fn a_closed_stdout_is_sigpipe_not_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    let ks = KeyedSandbox::new();
    ks.encrypted("s.yaml", "a: x\n");
    for args in [
        &["completions", "bash"][..],
        &["man"],
        &["decrypt", "s.yaml"],
        &["get", "s.yaml", "a"],
        &["--help"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = ks
            .cmd()
            .args(args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(
            out.status.signal() == Some(libc::SIGPIPE) || out.status.code() == Some(0),
            "{args:?}: {:?} {err}",
            out.status
        );
    }
}

/// The README's first command runs `testdata/demo/run.sh` (the debug build): the demo
/// finishes, with the real sops round trip (sops is an oracle here) and the scanner
/// catching what it plants.
#[test]
fn the_demo_script_runs_end_to_end() {
    let sops = sops_bin().expect("sops");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("bash")
        .arg(root.join("testdata/demo/run.sh"))
        .env("SECRETS_BIN", assert_cmd::cargo::cargo_bin("secrets"))
        .env(
            "PATH",
            format!(
                "{}:{}",
                sops.parent().unwrap().display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}{}", stderr(&out));
    for step in [
        "the real sops decrypts what we wrote",
        "scan exit code: 1",
        "demo finished: every step worked",
    ] {
        assert!(shown.contains(step), "{step}: {shown}");
    }
}

/// Mistakes a newcomer makes get messages that point the right way (found by a user
/// test): a public key given as the identity is named as one (it was "chmod 600", then "no
/// valid identity"); a mistyped import source is "no such file" (it was "not binary");
/// `exec` in a config with no environment says to add one (it listed "()"); `updatekeys`
/// of a missing file does not suggest restoring a tampered file.
#[test]
fn a_newcomers_mistakes_get_messages_that_point_the_right_way() {
    let ks = KeyedSandbox::new();
    std::fs::write(ks.path("me.pub"), format!("{}\n", ks.public)).unwrap();
    let out = ks.run(&["get", "-I", "me.pub", "x.yaml", "a"]);
    assert_eq!(out.status.code(), Some(113), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("me.pub holds a public key, not an identity"),
        "{}",
        stderr(&out)
    );
    let out = ks.run(&["status"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("\nhint: start one at the repository's root: secrets init\n"),
        "{}",
        stderr(&out)
    );
    ks.ok(&["init", "--name", "me"]);
    let out = ks.run(&["import", ".evn", "--env", "dev"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(".evn: No such file"),
        "{}",
        stderr(&out)
    );
    let out = ks.run(&["exec", "--", "true"]);
    assert!(
        stderr(&out).contains("hint: the config has no environment yet: secrets env add"),
        "{}",
        stderr(&out)
    );
    let out = ks.run(&["updatekeys", "nosuch.yaml"]);
    assert!(!out.status.success());
    assert!(!stderr(&out).contains("tampered"), "{}", stderr(&out));
    // An environment with no file yet: the hint names its globs, not `env add` again.
    ks.ok(&["env", "add", "dev", "--files", ".env.dev", "--member", "me"]);
    let out = ks.run(&["exec", "--env", "dev", "--", "true"]);
    assert!(
        stderr(&out).contains("hint: encrypt a file its globs name (.env.dev): secrets encrypt -i FILE, or secrets import .env --env dev"),
        "{}",
        stderr(&out)
    );
    // An import refused for a conflict names the way through (the hint was lost).
    std::fs::write(ks.path(".env"), "API_TOKEN=one-VALUE\n").unwrap();
    ks.ok(&["import", ".env", "--env", "dev"]);
    std::fs::write(ks.path(".env"), "API_TOKEN=two-VALUE\n").unwrap();
    let out = ks.run(&["import", ".env", "--env", "dev"]);
    assert_eq!(out.status.code(), Some(12), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("\nhint: --overwrite replaces them"),
        "{}",
        stderr(&out)
    );
}
