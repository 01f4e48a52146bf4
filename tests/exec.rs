//! `secrets exec` end to end: the real binary, real encrypted files made with the real CLI
//! (`secrets keygen`, `secrets encrypt`), and real child processes whose environment,
//! exit codes, signals and files we check.
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

mod common;
use common::KeyedSandbox as Sandbox;

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The `NAME=value` lines `env` printed, as a map.
fn env_of(o: &std::process::Output) -> std::collections::HashMap<String, String> {
    stdout(o)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const YAML: &str = "\
database:
  host: db.internal
  password: s3cret pass'word \"$HOME\"
  port: 5432
servers:
  - alpha
  - beta
api-key.v2: k-123
debug: true
";

#[test]
fn child_sees_flattened_values() {
    let sb = Sandbox::new();
    let f = sb.encrypted("app.yaml", YAML);
    let out = sb
        .cmd()
        .args(["exec", "-f", &f, "--", "env"])
        .env("OUTER_VAR", "kept")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let env = env_of(&out);
    assert_eq!(env["DATABASE_HOST"], "db.internal");
    assert_eq!(env["DATABASE_PASSWORD"], "s3cret pass'word \"$HOME\"");
    assert_eq!(env["DATABASE_PORT"], "5432");
    assert_eq!(env["SERVERS_0"], "alpha");
    assert_eq!(env["SERVERS_1"], "beta");
    assert_eq!(env["API_KEY_V2"], "k-123");
    assert_eq!(env["DEBUG"], "true");
    assert_eq!(env["OUTER_VAR"], "kept");
}

#[test]
fn shell_command_gets_exact_value() {
    let sb = Sandbox::new();
    let f = sb.encrypted("app.yaml", YAML);
    let out = sb.run(&[
        "exec",
        "-f",
        &f,
        "--",
        "sh",
        "-c",
        "printf '%s|%s' \"$DATABASE_PASSWORD\" \"$1\"",
        "sh",
        "arg one",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "s3cret pass'word \"$HOME\"|arg one");
}

#[test]
fn dotenv_keys_stay_as_written_and_later_files_win() {
    let sb = Sandbox::new();
    let a = sb.encrypted(
        "a.env",
        "export lower_key=from-a\nSHARED=from-a\nA_ONLY=s3cret-a\n",
    );
    let b = sb.encrypted("b.yaml", "shared: from-b\n");
    let out = sb.run(&["exec", "-f", &a, "-f", &b, "--", "env"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let env = env_of(&out);
    assert_eq!(env["lower_key"], "from-a");
    assert_eq!(env["SHARED"], "from-b");
    assert_eq!(env["A_ONLY"], "s3cret-a");
    assert!(!env.contains_key("export lower_key"));
}

#[test]
fn override_flags() {
    let sb = Sandbox::new();
    let f = sb.encrypted("app.yaml", YAML);
    let show = |extra: &[&str]| {
        let mut args = vec!["exec", "-f", &f];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", "sh", "-c", "printf %s \"$DATABASE_HOST\""]);
        let out = sb
            .cmd()
            .args(&args)
            .env("DATABASE_HOST", "from-shell")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    assert_eq!(show(&[]), "db.internal");
    assert_eq!(show(&["--override"]), "db.internal");
    assert_eq!(show(&["--no-override"]), "from-shell");
}

/// `--file-env` with NAME already in the environment: the file wins by default, so NAME is
/// taken away (it was left beside NAME_FILE: postgres's entrypoint refuses both, other
/// programs read the stale NAME); with `--no-override` NAME wins and gets no NAME_FILE.
#[test]
fn file_env_does_not_leave_a_stale_name_beside_its_file() {
    let sb = Sandbox::new();
    let f = sb.encrypted("pg.yaml", "POSTGRES_PASSWORD: new-secret\n");
    let show = |extra: &[&str]| {
        let mut args = vec!["exec", "--file-env", "-f", &f];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[
            "--",
            "sh",
            "-c",
            "printf '%s|%s|' \"${POSTGRES_PASSWORD-unset}\" \"${POSTGRES_PASSWORD_FILE-unset}\"; [ -n \"$POSTGRES_PASSWORD_FILE\" ] && cat \"$POSTGRES_PASSWORD_FILE\"; true",
        ]);
        let out = sb
            .cmd()
            .args(&args)
            .env("POSTGRES_PASSWORD", "old")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let got = show(&[]);
    assert!(
        got.starts_with("unset|/") && got.ends_with("|new-secret"),
        "{got}"
    );
    let got = show(&["--override"]);
    assert!(
        got.starts_with("unset|/") && got.ends_with("|new-secret"),
        "{got}"
    );
    assert_eq!(show(&["--no-override"]), "old|unset|");
}

#[test]
fn prefix_and_only() {
    let sb = Sandbox::new();
    let f = sb.encrypted("app.yaml", YAML);
    let out = sb.run(&[
        "exec", "-f", &f, "--prefix", "APP_", "--only", "database", "DEBUG", "--", "env",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let env = env_of(&out);
    assert_eq!(env["APP_DATABASE_HOST"], "db.internal");
    assert_eq!(env["APP_DEBUG"], "true");
    assert!(!env.contains_key("APP_SERVERS_0"));
    assert!(!env.contains_key("DATABASE_HOST"));

    let out = sb.run(&["exec", "-f", &f, "--only", "nope", "--", "true"]);
    assert_eq!(out.status.code(), Some(91), "{}", stderr(&out));
    assert!(stderr(&out).contains("--only nope"));
}

#[test]
fn exit_codes_propagate() {
    let sb = Sandbox::new();
    let f = sb.encrypted("app.yaml", YAML);
    let out = sb.run(&["exec", "-f", &f, "--", "sh", "-c", "exit 42"]);
    assert_eq!(out.status.code(), Some(42));
    let out = sb.run(&["exec", "-f", &f, "--file-env", "--", "sh", "-c", "exit 42"]);
    assert_eq!(out.status.code(), Some(42));

    // Killed by a signal: with exec our process *is* the child, so the caller sees the
    // signal itself; when we wait for the child (--file-env) we exit 128+N like a shell.
    let out = sb.run(&["exec", "-f", &f, "--", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(out.status.signal(), Some(libc::SIGTERM));
    let out = sb.run(&[
        "exec",
        "-f",
        &f,
        "--file-env",
        "--",
        "sh",
        "-c",
        "kill -KILL $$",
    ]);
    assert_eq!(out.status.code(), Some(128 + 9));
}

/// `secrets` as a test starts it to send it signals: with the forwarded signals at their
/// default disposition. A shell starting a background job (`.ci/run &`) hands it SIGINT and
/// SIGQUIT ignored, which `exec` rightly keeps ignored and never forwards: the test that
/// expected SIGINT to arrive then timed out, on every backgrounded run.
fn signal_cmd(sb: &Sandbox) -> std::process::Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = sb.cmd();
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            for sig in [
                libc::SIGINT,
                libc::SIGQUIT,
                libc::SIGTERM,
                libc::SIGHUP,
                libc::SIGUSR1,
                libc::SIGUSR2,
            ] {
                libc::signal(sig, libc::SIG_DFL);
            }
            Ok(())
        });
    }
    cmd
}

/// Starts `secrets exec … -- CHILD` with stdout piped and waits for its "ready" line.
fn start_ready(
    sb: &Sandbox,
    args: &[&str],
) -> (std::process::Child, BufReader<std::process::ChildStdout>) {
    let mut child = signal_cmd(sb)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(line.starts_with("ready"), "got {line:?}");
    (child, out)
}

/// The pending, blocked and caught signals of `pid` and its children (from /proc), for a
/// test that timed out waiting for a signal to take effect.
fn process_tree_signals(pid: u32) -> String {
    let mut out = String::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let status = std::fs::read_to_string(format!("/proc/{p}/status")).unwrap_or_default();
        let lines: Vec<&str> = status
            .lines()
            .filter(|l| {
                l.starts_with("Name")
                    || l.starts_with("State")
                    || l.starts_with("Sig")
                    || l.starts_with("ShdPnd")
            })
            .collect();
        out.push_str(&format!("pid {p}: {}\n", lines.join("; ")));
        let children =
            std::fs::read_to_string(format!("/proc/{p}/task/{p}/children")).unwrap_or_default();
        todo.extend(
            children
                .split_whitespace()
                .filter_map(|c| c.parse::<u32>().ok()),
        );
    }
    out
}

fn wait_timeout(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > limit {
            let state = process_tree_signals(child.id());
            let _ = child.kill();
            panic!("child did not exit within {limit:?}; signal state:\n{state}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A child that reports a signal and exits 3: python, whose handlers run as soon as the
/// signal arrives (its sleep is interrupted). A shell's trap waits for a foreground command
/// and blocks signals around its forks, and the test that used one timed out now and then
/// on a loaded machine.
const TRAP: &str = r#"import os, signal, time
def got(sig, frame):
    print('got', flush=True)
    os._exit(3)
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
    if signal.getsignal(s) != signal.SIG_IGN:
        signal.signal(s, got)
print('ready', os.environ.get('DATABASE_HOST_FILE', ''), flush=True)
while True:
    time.sleep(0.05)
"#;

#[test]
fn signals_reach_the_child() {
    let sb = Sandbox::new();
    let f = sb.encrypted("app.yaml", YAML);
    for (file_env, sig) in [
        (false, libc::SIGTERM),
        (true, libc::SIGTERM),
        (true, libc::SIGINT),
        (true, libc::SIGHUP),
        (true, libc::SIGUSR1),
    ] {
        let mut args = vec!["exec", "-f", f.as_str()];
        if file_env {
            args.push("--file-env");
        }
        args.extend_from_slice(&["--", "python3", "-c", TRAP]);
        let (mut child, mut out) = start_ready(&sb, &args);
        // SAFETY: kill with a pid we started.
        unsafe {
            libc::kill(child.id() as i32, sig);
        }
        eprintln!("signal {sig}, file_env {file_env}");
        let status = wait_timeout(&mut child, Duration::from_secs(10));
        let mut rest = String::new();
        out.read_line(&mut rest).unwrap();
        assert!(
            rest.starts_with("got"),
            "signal {sig} (file_env {file_env}) not seen: {rest:?}"
        );
        assert_eq!(status.code(), Some(3), "signal {sig}, file_env {file_env}");
    }
}

#[test]
#[cfg(target_os = "linux")] // GNU stat
fn file_env_files_are_read_then_removed() {
    let sb = Sandbox::new();
    let f = sb.encrypted("app.yaml", YAML);
    let out = sb.run(&[
        "exec",
        "-f",
        &f,
        "--file-env",
        "--",
        "sh",
        "-c",
        "echo \"$DATABASE_PASSWORD_FILE\"; cat \"$DATABASE_PASSWORD_FILE\"; echo; \
         stat -c %a \"$DATABASE_PASSWORD_FILE\" \"$(dirname \"$DATABASE_PASSWORD_FILE\")\"; \
         echo \"plain:${DATABASE_PASSWORD:-unset}\"",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    let path = PathBuf::from(lines.next().unwrap());
    assert_eq!(lines.next(), Some("s3cret pass'word \"$HOME\""));
    assert_eq!(lines.next(), Some("600"));
    assert_eq!(lines.next(), Some("700"));
    assert_eq!(lines.next(), Some("plain:unset"));
    if Path::new("/dev/shm").is_dir() {
        assert!(path.starts_with("/dev/shm"), "{path:?}");
    }
    assert!(!path.exists());
    assert!(!path.parent().unwrap().exists());
}

#[test]
fn file_env_dir_removed_when_we_or_the_child_are_killed() {
    let sb = Sandbox::new();
    let f = sb.encrypted("app.yaml", YAML);
    let args = ["exec", "-f", &f, "--file-env", "--", "python3", "-c", TRAP];
    // We get SIGTERM: it is forwarded, the child exits, we clean up.
    let (mut child, path) = start_with_path(&sb, &args);
    assert!(path.exists());
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = wait_timeout(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(3));
    assert!(!path.parent().unwrap().exists(), "{path:?} left behind");

    // The child is killed outright (SIGKILL): we report 137 and clean up.
    let script = "echo ready \"$DATABASE_HOST_FILE\" $$; sleep 30";
    let args = ["exec", "-f", &f, "--file-env", "--", "sh", "-c", script];
    let (mut child, line) = start_line(&sb, &args);
    let mut parts = line.split_whitespace().skip(1);
    let path = PathBuf::from(parts.next().unwrap());
    let sh_pid: i32 = parts.next().unwrap().parse().unwrap();
    assert!(path.exists());
    unsafe {
        libc::kill(sh_pid, libc::SIGKILL);
    }
    let status = wait_timeout(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(137));
    assert!(!path.parent().unwrap().exists(), "{path:?} left behind");
}

fn start_line(sb: &Sandbox, args: &[&str]) -> (std::process::Child, String) {
    let mut child = signal_cmd(sb)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(line.starts_with("ready"), "got {line:?}");
    // Keep the pipe open in a thread so the child never gets SIGPIPE.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    (child, line.trim().to_string())
}

fn start_with_path(sb: &Sandbox, args: &[&str]) -> (std::process::Child, PathBuf) {
    let (child, line) = start_line(sb, args);
    let path = PathBuf::from(line.split_whitespace().nth(1).unwrap());
    (child, path)
}

#[test]
fn collision_is_an_error_and_nothing_runs() {
    let sb = Sandbox::new();
    let f = sb.encrypted(
        "app.yaml",
        "database:\n  host: s3cret-one\ndatabase_host: s3cret-two\n",
    );
    let out = sb.run(&["exec", "-f", &f, "--", "touch", "started"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("database.host") && err.contains("database_host"),
        "{err}"
    );
    assert!(err.contains("DATABASE_HOST"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    assert_eq!(
        err.lines().next().map(|l| l.starts_with("secrets: error:")),
        Some(true)
    );
    assert!(!sb.path("started").exists());
    // As the hint says, --only can pick one of the two keys.
    let out = sb.run(&["exec", "-f", &f, "--only", "database_host", "--", "env"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env_of(&out)["DATABASE_HOST"], "s3cret-two");
    let out = sb.run(&["exec", "-f", &f, "--only", "database.host", "--", "env"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env_of(&out)["DATABASE_HOST"], "s3cret-one");
    // A selection that keeps both still collides.
    let out = sb.run(&["exec", "-f", &f, "--only", "DATABASE_HOST", "--", "true"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn missing_or_unexecutable_command() {
    let sb = Sandbox::new();
    let f = sb.encrypted("app.yaml", YAML);
    let out = sb.run(&["exec", "-f", &f, "--", "no-such-command-4711"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(
        stderr(&out).contains("no-such-command-4711: command not found"),
        "{}",
        stderr(&out)
    );

    std::fs::write(sb.path("script.sh"), "#!/bin/sh\necho hi\n").unwrap();
    let out = sb.run(&["exec", "-f", &f, "--", "./script.sh"]);
    assert_eq!(out.status.code(), Some(126), "{}", stderr(&out));

    // A directory named as the command is found but cannot run: 126, as in a shell.
    std::fs::create_dir_all(sb.path("adir")).unwrap();
    let dir = sb.path("adir");
    for cmd in [dir.to_str().unwrap(), "./adir", "adir/"] {
        for file_env in [false, true] {
            let mut args = vec!["exec", "-f", f.as_str()];
            if file_env {
                args.push("--file-env");
            }
            args.extend_from_slice(&["--", cmd]);
            let out = sb.run(&args);
            assert_eq!(out.status.code(), Some(126), "{cmd}: {}", stderr(&out));
            assert!(
                stderr(&out).contains(&format!("{cmd}: is a directory")),
                "{}",
                stderr(&out)
            );
        }
    }

    // A missing command is reported even when no file could be decrypted.
    let out = sb.run(&["exec", "-f", "missing.yaml", "--", "no-such-command-4711"]);
    assert_eq!(out.status.code(), Some(127));
}

#[test]
fn undecryptable_file_never_starts_the_command() {
    let sb = Sandbox::new();
    let other = Sandbox::new();
    let f = sb.encrypted_for("app.yaml", YAML, &other.public);
    let out = sb.run(&["exec", "-f", &f, "--", "touch", "started"]);
    assert_eq!(out.status.code(), Some(128), "{}", stderr(&out));
    assert!(stderr(&out).contains("app.yaml"));
    assert!(!sb.path("started").exists());

    // A good file then a bad one: still nothing starts.
    let good = sb.encrypted("good.yaml", "a: s3cret\n");
    let out = sb.run(&[
        "exec",
        "-f",
        &good,
        "-f",
        &f,
        "--file-env",
        "--",
        "touch",
        "started",
    ]);
    assert_eq!(out.status.code(), Some(128));
    assert!(!sb.path("started").exists());
}

#[test]
fn no_files_and_no_config_is_a_clear_error() {
    let sb = Sandbox::new();
    let out = sb.run(&["exec", "--", "true"]);
    assert_eq!(out.status.code(), Some(100), "{}", stderr(&out));
    assert!(stderr(&out).contains("hint:"));
    let out = sb.run(&["exec", "--env", "prod", "--", "true"]);
    assert_eq!(out.status.code(), Some(100), "{}", stderr(&out));
    assert!(stderr(&out).contains("--env prod"));

    let out = sb.run(&["exec", "-f", "x.yaml"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap usage error for a missing command"
    );
}

#[test]
fn environments_from_the_team_config() {
    let sb = Sandbox::new();
    for args in [
        vec!["init", "--name", "me"],
        vec!["env", "add", "dev", "--files", "config/dev/**"],
        vec!["env", "add", "prod", "--files", "config/prod/**"],
        vec!["env", "grant", "dev", "me"],
        vec!["env", "grant", "prod", "me"],
    ] {
        let out = sb.run(&args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    std::fs::create_dir_all(sb.path("config/dev")).unwrap();
    std::fs::create_dir_all(sb.path("config/prod")).unwrap();
    // No --age: the recipients come from the config.
    for (file, text) in [
        ("config/dev/app.yaml", "db_url: s3cret-dev\n"),
        ("config/prod/app.yaml", "db_url: s3cret-prod\n"),
    ] {
        std::fs::write(sb.path(file), text).unwrap();
        let out = sb.run(&["encrypt", "-i", file]);
        assert!(out.status.success(), "encrypt {file}: {}", stderr(&out));
    }

    let out = sb.run(&["exec", "--env", "prod", "--", "env"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env_of(&out)["DB_URL"], "s3cret-prod");

    // No --env and no `default:`: the environment named dev.
    let out = sb.run(&["exec", "--", "env"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env_of(&out)["DB_URL"], "s3cret-dev");

    // An unknown environment is a config error naming it.
    let out = sb.run(&["exec", "--env", "qa", "--", "true"]);
    assert!(stderr(&out).contains("--env qa"), "{}", stderr(&out));
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn signals_ignored_by_the_caller_stay_ignored() {
    use std::os::unix::process::CommandExt;
    let sb = Sandbox::new();
    let f = sb.encrypted("app.yaml", YAML);
    let script = "kill -HUP $$; kill -INT $$; echo survived";
    for file_env in [false, true] {
        let mut args = vec!["exec", "-f", f.as_str()];
        if file_env {
            args.push("--file-env");
        }
        args.extend_from_slice(&["--", "sh", "-c", script]);
        let mut cmd = sb.cmd();
        cmd.args(&args);
        // As `nohup` and `trap "" INT` leave them: ignored before we start.
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::signal(libc::SIGHUP, libc::SIG_IGN);
                libc::signal(libc::SIGINT, libc::SIG_IGN);
                Ok(())
            });
        }
        let out = cmd.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "file_env {file_env}: {}",
            stderr(&out)
        );
        assert_eq!(stdout(&out), "survived\n", "file_env {file_env}");
    }
    // And a signal sent to us is not passed on when it was ignored.
    let mut cmd = signal_cmd(&sb);
    cmd.args(["exec", "-f", &f, "--file-env", "--", "python3", "-c", TRAP])
        .stdout(Stdio::piped());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(line.starts_with("ready"), "got {line:?}");
    // SAFETY: kill with a pid we started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGHUP);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "SIGHUP reached the child"
    );
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = wait_timeout(&mut child, Duration::from_secs(10));
    let mut rest = String::new();
    out.read_line(&mut rest).unwrap();
    assert!(rest.starts_with("got"), "{rest:?}");
    assert_eq!(status.code(), Some(3));
}

#[test]
fn environment_files_merge_in_the_order_of_their_globs() {
    let sb = Sandbox::new();
    for args in [
        vec!["init", "--name", "me"],
        vec![
            "env",
            "add",
            "dev",
            "--files",
            "config/dev/**",
            ".env.dev",
            "-m",
            "me",
        ],
        vec![
            "env",
            "add",
            "prod",
            "--files",
            ".env.prod",
            "config/prod/**",
            "-m",
            "me",
        ],
    ] {
        let out = sb.run(&args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    std::fs::create_dir_all(sb.path("config/dev")).unwrap();
    std::fs::create_dir_all(sb.path("config/prod")).unwrap();
    for (file, text) in [
        ("config/dev/app.yaml", "db_url: from-yaml\nonly_yaml: y\n"),
        ("config/dev/b.yaml", "db_url: from-b-yaml\n"),
        (".env.dev", "DB_URL=from-dotenv\n"),
        ("config/prod/app.yaml", "db_url: from-yaml\n"),
        (".env.prod", "DB_URL=from-dotenv\n"),
    ] {
        std::fs::write(sb.path(file), text).unwrap();
        let out = sb.run(&["encrypt", "-i", file]);
        assert!(out.status.success(), "encrypt {file}: {}", stderr(&out));
    }
    // dev lists config/dev/** first: .env.dev (the later glob) wins; within the first
    // glob, files go in sorted order (b.yaml after app.yaml).
    let out = sb.run(&["exec", "--env", "dev", "--", "env"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env_of(&out)["DB_URL"], "from-dotenv");
    assert_eq!(env_of(&out)["ONLY_YAML"], "y");
    // prod lists .env.prod first: the yaml file wins.
    let out = sb.run(&["exec", "--env", "prod", "--", "env"]);
    assert_eq!(env_of(&out)["DB_URL"], "from-yaml");
    // Same order for export.
    let out = sb.run(&["export", "--env", "dev", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["DB_URL"], "from-dotenv");
    // Without the dotenv file, the later file of the first glob wins.
    std::fs::remove_file(sb.path(".env.dev")).unwrap();
    let out = sb.run(&["exec", "--env", "dev", "--", "env"]);
    assert_eq!(env_of(&out)["DB_URL"], "from-b-yaml");
}
