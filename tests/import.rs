//! `secrets import` (issue 13, item 1), end to end in real git repositories: the plan on a
//! realistic Django `.env`, a dry run that writes nothing, the encrypted file read back by
//! the real `sops`, a merge into an existing file (other ciphertext unchanged, conflicts
//! refused, `--overwrite`), backup, `.gitignore`, hook and history hints, no value in any
//! output, an interrupted import, and imports from a real OpenBao dev server (KV v2 nested,
//! KV v1).
#![cfg(unix)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::openbao::OpenBao;
use common::repo::Repo;

/// A Django production `.env` as teams have them (synthetic values).
const DJANGO_ENV: &str = "\
# Django settings for production
DJANGO_SETTINGS_MODULE=mysite.settings.production
SECRET_KEY='k#8v!x2@q9z$w7m^r4p&t1n*y6b(e3u)h5j-c0f+g_s=d%a'
DEBUG=False
ALLOWED_HOSTS=mysite.com,www.mysite.com
DATABASE_URL=postgres://mysite:Zq8vR2xLp9Tw4Kd7@db.internal:5432/mysite
REDIS_URL=redis://redis.internal:6379/0
CELERY_BROKER_URL=amqp://mysite:Yx7Lq2Wd9Rk4@rabbitmq:5672/mysite
EMAIL_HOST=smtp.sendgrid.net
EMAIL_PORT=587
EMAIL_HOST_USER=apikey
EMAIL_HOST_PASSWORD=SG.hGAkWvj7FAc9QeWJKY40uv.SwMFLZDe1f8rESq8ZrT2vLx9Pw4Kd7mQ2pXk7mQ
EMAIL_USE_TLS=True
DEFAULT_FROM_EMAIL=noreply@mysite.com
AWS_ACCESS_KEY_ID=AKIAUJZDEGXDNCF32EPF
AWS_SECRET_ACCESS_KEY=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
AWS_STORAGE_BUCKET_NAME=mysite-static
AWS_S3_REGION_NAME=eu-west-1
STRIPE_SECRET_KEY=sk_live_51HGAkWvj7FAc9QeWJKY40uvSw
STRIPE_PUBLISHABLE_KEY=pk_live_51HGAkWvj7FAc9QeWJKY40uvSw
GITHUB_TOKEN=ghp_hGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8rES
JWT_SIGNING_KEY=q8ZrT2vLx9Pw4Kd7mQ2pXk7mQ2pLw9vR
SENTRY_DSN=https://examplePublicKey@o0.ingest.sentry.io/0
CSRF_TRUSTED_ORIGINS=https://mysite.com
SESSION_COOKIE_AGE=1209600
LOG_LEVEL=INFO
PORT=8000
TIME_ZONE=Europe/Paris
";

const SECRETS: &[&str] = &[
    "SECRET_KEY",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "EMAIL_HOST_PASSWORD",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "STRIPE_SECRET_KEY",
    "STRIPE_PUBLISHABLE_KEY",
    "GITHUB_TOKEN",
    "JWT_SIGNING_KEY",
    "SENTRY_DSN",
];

const PLAIN: &[&str] = &[
    "DJANGO_SETTINGS_MODULE",
    "DEBUG",
    "ALLOWED_HOSTS",
    "REDIS_URL",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_USE_TLS",
    "DEFAULT_FROM_EMAIL",
    "AWS_STORAGE_BUCKET_NAME",
    "AWS_S3_REGION_NAME",
    "CSRF_TRUSTED_ORIGINS",
    "SESSION_COOKIE_AGE",
    "LOG_LEVEL",
    "PORT",
    "TIME_ZONE",
];

/// The values of a dotenv text (as written after `=`), by key.
fn values(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// A repository with a `prod` environment (`.env.prod` and `config/prod/**`) read by the
/// sandbox's key, and `.env.production` (the plaintext to import) beside it.
fn repo() -> Repo {
    let r = Repo::new();
    r.ks.ok(&[
        "env",
        "add",
        "prod",
        "--files",
        "config/prod/**",
        ".env.prod",
        "--member",
        "alice",
    ]);
    std::fs::write(r.path(".env.production"), DJANGO_ENV).unwrap();
    r
}

fn import(r: &Repo, args: &[&str]) -> Output {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    r.ks.run(&all)
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every file under `dir` (`.git` and the sandbox's home excluded) with its bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            if rel == Path::new(".git") {
                continue;
            }
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The row of `key` in a printed plan.
fn row<'a>(plan: &'a str, key: &str) -> &'a str {
    plan.lines()
        .find(|l| l.split_whitespace().next() == Some(key))
        .unwrap_or_else(|| panic!("no row for {key} in:\n{plan}"))
}

/// Asserts that no value of the source (longer than 5 characters: `8000`, `INFO` and
/// `True` are also words of the plan) appears in `text`.
fn no_values(text: &str) {
    for (k, v) in values(DJANGO_ENV) {
        let bare = v.trim_matches('\'');
        if bare.len() > 5 {
            assert!(
                !text.contains(bare),
                "the value of {k} was printed:\n{text}"
            );
        }
    }
}

#[test]
fn the_plan_of_a_django_env_classifies_every_key() {
    let r = repo();
    let out = import(&r, &[".env.production", "--env", "prod", "--dry-run"]);
    let text = ok(&out);
    let plan = String::from_utf8_lossy(&out.stdout).into_owned();
    for k in SECRETS {
        let l = row(&plan, k);
        assert_eq!(l.split_whitespace().nth(1), Some("secret"), "{l}");
    }
    for k in PLAIN {
        let l = row(&plan, k);
        assert_eq!(l.split_whitespace().nth(1), Some("plain"), "{l}");
    }
    // Reasons name the scanner's judgement; the destination follows the environment.
    assert!(
        row(&plan, "DATABASE_URL").contains("url-password"),
        "{plan}"
    );
    assert!(row(&plan, "GITHUB_TOKEN").contains("github-pat"), "{plan}");
    assert!(row(&plan, "EMAIL_HOST_PASSWORD").contains("pass"), "{plan}");
    assert!(row(&plan, "DEBUG").contains(".env.prod (add)"), "{plan}");
    no_values(&text);
}

/// A line written `export NAME=` is named `NAME` in the plan, as exec, get and check name
/// it (the plan said `export NAME`), and is written back as it was.
#[test]
fn an_exported_line_is_named_as_exec_names_it() {
    let r = repo();
    std::fs::write(
        r.path(".env.production"),
        "export DATABASE_PASSWORD=q8Zr-T2vLx9Pw4Kd7-mN\nDEBUG=False\n",
    )
    .unwrap();
    let out = import(&r, &[".env.production", "--env", "prod", "--dry-run"]);
    ok(&out);
    let plan = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!plan.contains("export"), "{plan}");
    assert_eq!(
        row(&plan, "DATABASE_PASSWORD").split_whitespace().nth(1),
        Some("secret"),
        "{plan}"
    );
    ok(&import(&r, &[".env.production", "--env", "prod"]));
    let plain = String::from_utf8(r.ks.ok(&["decrypt", ".env.prod"])).unwrap();
    assert!(
        plain.starts_with("export DATABASE_PASSWORD="),
        "{}",
        plain.len()
    );
}

#[test]
fn a_dry_run_writes_nothing() {
    let r = repo();
    r.commit("start", 1, "alice");
    let before = tree(r.ks.dir());
    let out = import(&r, &[".env.production", "--env", "prod", "--dry-run"]);
    let text = ok(&out);
    assert!(text.contains("dry run: nothing was written"), "{text}");
    assert_eq!(tree(r.ks.dir()), before, "a dry run changed the tree");
    assert!(
        !r.path("home/.local/state/secrets").exists(),
        "a dry run made a backup"
    );
}

#[test]
fn import_writes_one_file_that_sops_decrypts_to_the_same_values() {
    let r = repo();
    let out = import(&r, &[".env.production", "--env", "prod"]);
    let text = ok(&out);
    no_values(&text);
    assert!(text.contains("every value matches the source"), "{text}");
    let enc = r.ks.sb.read(".env.prod");
    // Plain keys readable, secrets encrypted, in the one file.
    let stored = values(&enc);
    let source = values(DJANGO_ENV);
    for k in PLAIN {
        assert_eq!(stored[*k], source[*k], "{k} is not in clear");
    }
    for k in SECRETS {
        assert!(stored[*k].starts_with("ENC[AES256_GCM,"), "{k} is in clear");
    }
    assert!(enc.contains("sops_unencrypted_regex="), "{enc}");
    // The real sops honours the rule and decrypts to the source's values.
    let sops = common::sops_bin().unwrap();
    let dec = std::process::Command::new(sops)
        .args([
            "decrypt",
            "--input-type",
            "dotenv",
            "--output-type",
            "dotenv",
            ".env.prod",
        ])
        .current_dir(r.ks.dir())
        .env("SOPS_AGE_KEY_FILE", &r.ks.key)
        .output()
        .unwrap();
    assert!(
        dec.status.success(),
        "{}",
        String::from_utf8_lossy(&dec.stderr)
    );
    assert_eq!(values(&String::from_utf8_lossy(&dec.stdout)), source);
    // And so do we.
    let ours = String::from_utf8(r.ks.ok(&["decrypt", ".env.prod"])).unwrap();
    assert_eq!(values(&ours), source);
}

#[test]
fn the_source_is_backed_up_privately_ignored_and_kept() {
    let r = repo();
    let text = ok(&import(&r, &[".env.production", "--env", "prod"]));
    // Backup: 0600 in a 0700 directory, a copy of the source.
    let dir = r.path("home/.local/state/secrets/backups");
    let backups: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&backups[0]), 0o600);
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(std::fs::read_to_string(&backups[0]).unwrap(), DJANGO_ENV);
    // .gitignore: the source is ignored by git now.
    assert!(r.ks.sb.read(".gitignore").contains("/.env.production\n"));
    let check = std::process::Command::new("git")
        .args(["check-ignore", "-q", ".env.production"])
        .current_dir(r.ks.dir())
        .status()
        .unwrap();
    assert!(check.success(), "git does not ignore the source");
    // No hook here: offered, not installed.
    assert!(text.contains("secrets hook install"), "{text}");
    assert!(!r.path(".git/hooks/pre-commit").exists());
    // Without --remove-source the source stays.
    assert_eq!(r.ks.sb.read(".env.production"), DJANGO_ENV);
    // A second import changes nothing and adds no second .gitignore line.
    let again = ok(&import(
        &r,
        &[".env.production", "--env", "prod", "--no-backup"],
    ));
    assert!(again.contains("already holds every value"), "{again}");
    assert_eq!(
        r.ks.sb
            .read(".gitignore")
            .matches("/.env.production")
            .count(),
        1
    );
}

#[test]
fn a_committed_source_gets_the_git_rm_and_rotation_hints_and_remove_source_removes_it() {
    let r = repo();
    r.commit("plaintext env, as teams have it", 3, "alice");
    ok(&r.ks.run(&["hook", "install"]));
    let out = import(&r, &[".env.production", "--env", "prod", "--remove-source"]);
    let text = ok(&out);
    assert!(
        text.contains("git rm --cached -- .env.production"),
        "{text}"
    );
    assert!(text.contains("secrets scan --history"), "{text}");
    assert!(
        !text.contains("secrets hook install"),
        "hook offered although installed: {text}"
    );
    assert!(
        !r.path(".env.production").exists(),
        "--remove-source kept it"
    );
    no_values(&text);
}

#[test]
fn a_backup_dir_inside_the_repository_must_be_ignored() {
    let r = repo();
    let out = import(
        &r,
        &[".env.production", "--env", "prod", "--backup", "backups"],
    );
    assert_eq!(
        out.status.code(),
        Some(8),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(r.ks.sb.read(".env.production"), DJANGO_ENV);
    assert!(!r.path("backups").read_dir().unwrap().any(|_| true));
}

/// Merging into an existing encrypted file: its other values keep their ciphertext byte
/// for byte; a key holding another value is a conflict (exit 12, nothing written) unless
/// `--overwrite`.
#[test]
fn merge_into_an_existing_file() {
    let r = repo();
    std::fs::create_dir_all(r.path("config/prod")).unwrap();
    std::fs::write(
        r.path("config/prod/app.env"),
        "OLD_TOKEN=Xk7mQ2pLw9vRtZq8vR2x\nKEEP_ME=hello\nDEBUG=False\n",
    )
    .unwrap();
    r.ks.ok(&["encrypt", "-i", "config/prod/app.env"]);
    let before = r.ks.sb.read("config/prod/app.env");
    let old_token_line = before
        .lines()
        .find(|l| l.starts_with("OLD_TOKEN="))
        .unwrap()
        .to_string();
    let keep_line = before
        .lines()
        .find(|l| l.starts_with("KEEP_ME="))
        .unwrap()
        .to_string();

    // No conflict: DEBUG has the same value; the rest is added.
    std::fs::write(
        r.path("new.env"),
        "API_TOKEN=hGAkWvj7FAc9QeWJKY40\nDEBUG=False\nLOG_LEVEL=INFO\n",
    )
    .unwrap();
    let text = ok(&import(
        &r,
        &["new.env", "--to", "config/prod/app.env", "--no-backup"],
    ));
    assert!(row(&text, "DEBUG").contains("(unchanged)"), "{text}");
    assert!(row(&text, "API_TOKEN").contains("(add)"), "{text}");
    let after = r.ks.sb.read("config/prod/app.env");
    assert!(
        after.contains(&old_token_line),
        "OLD_TOKEN's ciphertext changed"
    );
    assert!(after.contains(&keep_line), "KEEP_ME's ciphertext changed");
    assert!(after.contains("\nLOG_LEVEL=INFO\n"), "{after}");
    let dec = String::from_utf8(r.ks.ok(&["decrypt", "config/prod/app.env"])).unwrap();
    assert_eq!(
        values(&dec),
        values("OLD_TOKEN=Xk7mQ2pLw9vRtZq8vR2x\nKEEP_ME=hello\nDEBUG=False\nAPI_TOKEN=hGAkWvj7FAc9QeWJKY40\nLOG_LEVEL=INFO\n")
    );

    // A conflict: refused with its code, the file untouched, the key named (not its value).
    std::fs::write(
        r.path("conflict.env"),
        "KEEP_ME=changed-value-42\nNEW_ONE=x\n",
    )
    .unwrap();
    let snapshot = r.ks.sb.read("config/prod/app.env");
    let out = import(
        &r,
        &["conflict.env", "--to", "config/prod/app.env", "--no-backup"],
    );
    assert_eq!(
        out.status.code(),
        Some(12),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("KEEP_ME") && !err.contains("changed-value-42") && !err.contains("hello"),
        "{err}"
    );
    assert!(row(&String::from_utf8_lossy(&out.stdout), "KEEP_ME").contains("CONFLICT"));
    assert_eq!(r.ks.sb.read("config/prod/app.env"), snapshot);
    assert!(r.path("conflict.env").exists());

    // --overwrite replaces it; the other values keep their ciphertext.
    ok(&import(
        &r,
        &[
            "conflict.env",
            "--to",
            "config/prod/app.env",
            "--no-backup",
            "--overwrite",
        ],
    ));
    let last = r.ks.sb.read("config/prod/app.env");
    assert!(last.contains(&old_token_line));
    assert!(!last.contains(&keep_line));
    let got = r.ks.ok(&["get", "config/prod/app.env", "KEEP_ME"]);
    assert_eq!(
        String::from_utf8(got).unwrap().trim_end(),
        "changed-value-42"
    );
    // sops reads the merged file.
    let sops = common::sops_bin().unwrap();
    let dec = std::process::Command::new(sops)
        .args(["decrypt", "config/prod/app.env"])
        .current_dir(r.ks.dir())
        .env("SOPS_AGE_KEY_FILE", &r.ks.key)
        .output()
        .unwrap();
    assert!(
        dec.status.success(),
        "{}",
        String::from_utf8_lossy(&dec.stderr)
    );
}

#[test]
fn a_yaml_source_keeps_its_nesting_and_encrypt_all_and_keep_clear_decide() {
    let r = repo();
    std::fs::write(
        r.path("app.yaml"),
        "database:\n  host: db.internal\n  password: q8ZrT2vLx9Pw4Kd7!\nfeatures:\n  - a\n  - b\nlog_level: debug\n",
    )
    .unwrap();
    let text = ok(&import(
        &r,
        &[
            "app.yaml",
            "--to",
            "config/prod/app.yaml",
            "--keep-clear",
            "password",
            "--dry-run",
        ],
    ));
    assert!(row(&text, "database.password").contains("plain"), "{text}");
    let text = ok(&import(
        &r,
        &["app.yaml", "--to", "config/prod/app.yaml", "--encrypt-all"],
    ));
    assert!(row(&text, "log_level").contains("secret"), "{text}");
    let enc = r.ks.sb.read("config/prod/app.yaml");
    assert!(
        !enc.contains("db.internal") && !enc.contains("debug"),
        "{enc}"
    );
    let got =
        r.ks.ok(&["get", "config/prod/app.yaml", "database.password"]);
    assert_eq!(
        String::from_utf8(got).unwrap().trim_end(),
        "q8ZrT2vLx9Pw4Kd7!"
    );
}

#[test]
fn refusals_write_nothing() {
    let r = repo();
    let before = tree(r.ks.dir());
    // A destination outside the environment.
    let out = import(
        &r,
        &[".env.production", "--env", "prod", "--to", "elsewhere.env"],
    );
    assert_eq!(
        out.status.code(),
        Some(8),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A plaintext file where the encrypted one should be.
    std::fs::create_dir_all(r.path("config/prod")).unwrap();
    std::fs::write(r.path("config/prod/x.env"), "A=1\n").unwrap();
    let before_x = tree(r.ks.dir());
    let out = import(&r, &[".env.production", "--to", "config/prod/x.env"]);
    assert_eq!(
        out.status.code(),
        Some(204),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(tree(r.ks.dir()), before_x);
    std::fs::remove_dir_all(r.path("config")).unwrap();
    assert_eq!(tree(r.ks.dir()), before);
}

/// Whether some file under `dir` holds exactly `text`.
fn holds_copy(dir: &Path, text: &str) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            let p = e.path();
            if p.is_dir() {
                holds_copy(&p, text)
            } else {
                std::fs::read_to_string(&p).is_ok_and(|t| t == text)
            }
        })
}

/// Issue 13: an interrupted import leaves the source intact and no plaintext temp file.
/// Real signals at many points of a large import, and a failure half-way (the
/// destination's directory read-only).
#[test]
fn an_interrupted_import_leaves_the_source_intact_and_no_temp_file() {
    let r = repo();
    let mut big = String::from(DJANGO_ENV);
    for i in 0..40_000 {
        big.push_str(&format!(
            "SERVICE_{i}_TOKEN=hGAkWvj7FAc9QeWJ{i:08}KY40uvSw\n"
        ));
    }
    std::fs::write(r.path(".env.production"), &big).unwrap();
    let backups = r.path("home/.local/state/secrets/backups");
    for (i, delay_ms) in [0u64, 20, 60, 120, 200, 350, 500, 800].iter().enumerate() {
        for sig in [libc::SIGINT, libc::SIGTERM] {
            let _ = std::fs::remove_file(r.path(".env.prod"));
            let mut child =
                r.ks.cmd()
                    .args([
                        "import",
                        ".env.production",
                        "--env",
                        "prod",
                        "--remove-source",
                    ])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(*delay_ms));
            unsafe {
                libc::kill(child.id() as i32, sig);
            }
            let status = child.wait().unwrap();
            let finished = status.success();
            // The source is there unless the import finished (then it was verified first).
            if !finished {
                match std::fs::read_to_string(r.path(".env.production")) {
                    Ok(text) => {
                        assert_eq!(text, big, "point {i}, signal {sig}: the source changed")
                    }
                    // Killed after its last step (--remove-source, which follows the
                    // verification) but before it could exit 0: the backup holds it whole.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        assert!(
                            holds_copy(&backups, &big),
                            "point {i}, signal {sig}: source removed and no backup of it"
                        );
                        std::fs::write(r.path(".env.production"), &big).unwrap();
                    }
                    Err(e) => panic!("point {i}, signal {sig}: {e}"),
                }
            } else {
                std::fs::write(r.path(".env.production"), &big).unwrap();
            }
            // No temp file of ours anywhere we write; a destination, if any, is whole.
            for dir in [r.ks.dir().to_path_buf(), backups.clone()] {
                if let Ok(rd) = std::fs::read_dir(&dir) {
                    for e in rd {
                        let n = e.unwrap().file_name().to_string_lossy().into_owned();
                        assert!(
                            !n.starts_with(".secrets-tmp-"),
                            "point {i}: {n} left in {}",
                            dir.display()
                        );
                    }
                }
            }
            if r.path(".env.prod").exists() {
                r.ks.ok(&["get", ".env.prod", "DEBUG"]);
            }
        }
    }
    // Failures half-way. The destination cannot be written (its directory is a file):
    let _ = std::fs::remove_file(r.path(".env.prod"));
    std::fs::write(r.path("config"), "not a directory\n").unwrap();
    let out = import(
        &r,
        &[
            ".env.production",
            "--to",
            "config/prod/app.env",
            "--remove-source",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("config/prod/app.env"));
    assert_eq!(
        std::fs::read_to_string(r.path(".env.production")).unwrap(),
        big
    );
    std::fs::remove_file(r.path("config")).unwrap();
    // The backup is refused (a directory of the repository that git does not ignore):
    // nothing is written, the source stays, and no temp file.
    let out = import(
        &r,
        &[
            ".env.production",
            "--env",
            "prod",
            "--remove-source",
            "--backup",
            "plain-backups",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(8),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(r.path(".env.production")).unwrap(),
        big
    );
    assert_eq!(
        std::fs::read_dir(r.path("plain-backups")).unwrap().count(),
        0
    );
    assert!(!r.path(".env.prod").exists());
    for e in std::fs::read_dir(r.ks.dir()).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!n.starts_with(".secrets-tmp-"), "{n} left behind");
    }
}

/// Imports from a real OpenBao dev server: a KV v2 tree (nested paths become nested keys)
/// and a KV v1 mount, filled with `bao kv put` as a user would.
#[test]
fn import_from_openbao_kv2_nested_and_kv1() {
    let bao = OpenBao::start();
    bao.ok(&[
        "kv",
        "put",
        "secret/myapp/prod",
        "DB_PASSWORD=Zq8vR2xLp9Tw4Kd7",
        "LOG_LEVEL=info",
    ]);
    bao.ok(&[
        "kv",
        "put",
        "secret/myapp/prod/stripe",
        "secret_key=sk_live_51HGAkWvj7FAc9QeWJKY40uvSw",
        "mode=live",
    ]);
    bao.ok(&[
        "kv",
        "put",
        "secret/myapp/prod/db/replica",
        "password=Yx7Lq2Wd9Rk4Tz3",
        "port=5432",
    ]);
    bao.ok(&["kv", "put", "secret/myapp/dev", "DB_PASSWORD=not-for-prod"]);
    bao.ok(&["secrets", "enable", "-path=kv1", "-version=1", "kv"]);
    bao.ok(&[
        "kv",
        "put",
        "kv1/legacy",
        "API_TOKEN=hGAkWvj7FAc9QeWJKY40uvSw",
        "REGION=eu-west-1",
    ]);

    let r = repo();
    let run = |args: &[&str]| {
        let mut c = r.ks.cmd();
        c.arg("import")
            .args(args)
            .env("VAULT_ADDR", &bao.addr)
            .env("VAULT_TOKEN", &bao.token);
        c.output().unwrap()
    };
    let out = run(&[
        "--from-vault",
        "secret/myapp/prod",
        "--to",
        "config/prod/app.yaml",
    ]);
    let text = ok(&out);
    assert!(!text.contains(&bao.token), "the token was printed");
    assert!(
        !text.contains("Zq8vR2xLp9Tw4Kd7") && !text.contains("sk_live_"),
        "{text}"
    );
    assert!(row(&text, "DB_PASSWORD").contains("secret"), "{text}");
    assert!(row(&text, "LOG_LEVEL").contains("plain"), "{text}");
    assert!(row(&text, "stripe.secret_key").contains("secret"), "{text}");
    assert!(
        row(&text, "db.replica.password").contains("secret"),
        "{text}"
    );
    let get = |k: &str| {
        String::from_utf8(r.ks.ok(&["get", "config/prod/app.yaml", k]))
            .unwrap()
            .trim_end()
            .to_string()
    };
    assert_eq!(get("DB_PASSWORD"), "Zq8vR2xLp9Tw4Kd7");
    assert_eq!(
        get("stripe.secret_key"),
        "sk_live_51HGAkWvj7FAc9QeWJKY40uvSw"
    );
    assert_eq!(get("db.replica.password"), "Yx7Lq2Wd9Rk4Tz3");
    assert_eq!(get("db.replica.port"), "5432");
    let enc = r.ks.sb.read("config/prod/app.yaml");
    assert!(enc.contains("LOG_LEVEL: info"), "{enc}");
    // dev is a sibling, not under the path.
    assert!(!enc.contains("not-for-prod"));

    // KV v1.
    let text = ok(&run(&[
        "--from-vault",
        "kv1/legacy",
        "--to",
        "config/prod/legacy.yaml",
        "--dry-run",
    ]));
    assert!(row(&text, "API_TOKEN").contains("secret"), "{text}");
    assert!(row(&text, "REGION").contains("plain"), "{text}");
    ok(&run(&[
        "--from-vault",
        "kv1",
        "--to",
        "config/prod/legacy.yaml",
    ]));
    let got = String::from_utf8(r.ks.ok(&["get", "config/prod/legacy.yaml", "legacy.API_TOKEN"]))
        .unwrap();
    assert_eq!(got.trim_end(), "hGAkWvj7FAc9QeWJKY40uvSw");

    // A bad token: the server's refusal, with the URL path; the token never printed.
    let mut c = r.ks.cmd();
    c.args([
        "import",
        "--from-vault",
        "secret/myapp/prod",
        "--to",
        "config/prod/x.yaml",
    ])
    .env("VAULT_ADDR", &bao.addr)
    .env("VAULT_TOKEN", "s.wrong-token-123456");
    let out = c.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(69),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/v1/") && !err.contains("wrong-token"),
        "{err}"
    );
    assert!(!r.path("config/prod/x.yaml").exists());
}

/// Names Vault lists are URL path segments: `a?b`, `c#d`, `pct%2Fx` and `sp ace` are read
/// as themselves (they were read as `a`, as nothing, as `pct/x`, or refused); a name that is
/// both a secret and a folder merges the two; and errors are one line without the address's
/// password.
#[test]
fn import_from_openbao_escapes_names_and_merges_a_secret_with_its_folder() {
    let bao = OpenBao::start();
    for (path, kv) in [
        ("secret/t/a", "token=value-of-a"),
        ("secret/t/a?b", "token=value-of-a-q-b"),
        ("secret/t/c#d", "token=value-of-c-hash-d"),
        ("secret/t/pct/x", "token=value-of-pct-slash-x"),
        ("secret/t/pct%2Fx", "token=value-of-pct-2f-x"),
        ("secret/t/sp ace", "token=value-of-sp-ace"),
        ("secret/t/db", "host=primary"),
        ("secret/t/db/replica", "password=Yx7Lq2Wd9Rk4Tz3"),
    ] {
        bao.ok(&["kv", "put", path, kv]);
    }
    let r = repo();
    let run = |addr: &str, token: &str| {
        let mut c = r.ks.cmd();
        c.args([
            "import",
            "--from-vault",
            "secret/t",
            "--to",
            "config/prod/t.yaml",
        ])
        .env("VAULT_ADDR", addr)
        .env("VAULT_TOKEN", token);
        c.output().unwrap()
    };
    ok(&run(&bao.addr, &bao.token));
    let tree: serde_json::Value = serde_json::from_slice(&r.ks.ok(&[
        "decrypt",
        "--output-type",
        "json",
        "config/prod/t.yaml",
    ]))
    .unwrap();
    assert_eq!(tree["a"]["token"], "value-of-a");
    assert_eq!(tree["a?b"]["token"], "value-of-a-q-b");
    assert_eq!(tree["c#d"]["token"], "value-of-c-hash-d");
    assert_eq!(tree["pct"]["x"]["token"], "value-of-pct-slash-x");
    assert_eq!(tree["pct%2Fx"]["token"], "value-of-pct-2f-x");
    assert_eq!(tree["sp ace"]["token"], "value-of-sp-ace");
    assert_eq!(tree["db"]["host"], "primary");
    assert_eq!(tree["db"]["replica"]["password"], "Yx7Lq2Wd9Rk4Tz3");

    // The server's refusal (several lines in Vault's body) is one line.
    let out = run(&bao.addr, "s.wrong-token-123456");
    assert_eq!(out.status.code(), Some(69));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    // An address with a password in it: not shown.
    let out = run("http://user:pa55w0rd@127.0.0.1:1", &bao.token);
    assert_eq!(out.status.code(), Some(69));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("pa55w0rd") && err.contains("127.0.0.1:1"),
        "{err}"
    );
}

/// `VAULT_CACERT`: a dev server with TLS, trusted through its own CA.
#[test]
fn import_from_openbao_over_tls_with_vault_cacert() {
    let bao = OpenBao::start_tls();
    bao.ok(&[
        "kv",
        "put",
        "secret/tls",
        "API_TOKEN=hGAkWvj7FAc9QeWJKY40uvSw",
    ]);
    let r = repo();
    let mut c = r.ks.cmd();
    c.args([
        "import",
        "--from-vault",
        "secret/tls",
        "--to",
        "config/prod/tls.yaml",
    ])
    .env("VAULT_ADDR", &bao.addr)
    .env("VAULT_TOKEN", &bao.token)
    .env("VAULT_CACERT", bao.ca.as_ref().unwrap());
    ok(&c.output().unwrap());
    // Without the CA the server is not trusted.
    let mut c = r.ks.cmd();
    c.args([
        "import",
        "--from-vault",
        "secret/tls",
        "--to",
        "config/prod/tls2.yaml",
    ])
    .env("VAULT_ADDR", &bao.addr)
    .env("VAULT_TOKEN", &bao.token);
    let out = c.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(69),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The plaintext already where the environment's file belongs (`.env.prod`): imported in
/// place, after a backup; not added to `.gitignore` (it is the file to commit now).
#[test]
fn a_source_at_the_destination_is_imported_in_place() {
    let r = repo();
    std::fs::write(r.path(".env.prod"), DJANGO_ENV).unwrap();
    let text = ok(&import(&r, &[".env.prod", "--env", "prod"]));
    assert!(text.contains("backup: "), "{text}");
    let enc = r.ks.sb.read(".env.prod");
    assert!(values(&enc)["GITHUB_TOKEN"].starts_with("ENC["), "{enc}");
    assert_eq!(values(&enc)["LOG_LEVEL"], "INFO");
    assert!(!r.ks.sb.read(".gitignore").contains(".env.prod"));
    let dec = String::from_utf8(r.ks.ok(&["decrypt", ".env.prod"])).unwrap();
    assert_eq!(values(&dec), values(DJANGO_ENV));
}

/// Review of issue 13: values the scanner filters as noise (weak or example passwords,
/// example hosts, bad checksums) are real in an import; each of them was marked plain.
#[test]
fn secrets_the_scanner_calls_noise_are_secret_in_an_import() {
    let r = repo();
    let env = "\
DATABASE_URL=postgres://app:hunter2@db.internal:5432/app
PG_LOCAL=postgres://user:password@localhost/db
PG_MAIN=postgres://app:Zq8vR2xLp9Tw4Kd7@hostname:5432/app
MONGO=mongodb://admin:changeme@mongo:27017
CACHE=redis://:rpw@r:6379
CONNECTION_STRING=Server=db;Database=app;User Id=app;Password=Pa55w0rd;
ODBC=Driver={x};Server=db;Uid=app;Pwd=s3cr3t;
TWILIO_AUTH=4f1c2a9e3b4d4e5f8a7b9c0d1e2f3a4b
APP_SIGNING=9c0d1e2f3a4b4f1c2a9e3b4d4e5f8a7b
SENDGRID=SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG
GITHUB_PAT=ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa123456
NPM_AUTH=npm_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa123456
SENTRY_DSN=https://0123456789abcdef0123456789abcdef@o0.ingest.sentry.io/1
AUTH=Basic dXNlcjpwYXNzd29yZA==
HMAC_SALT=abc
COOKIE_SALT=xyz
BEARER=Bearer abcdefgh12345678
NPM=npm_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa123456
GH=ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa123456
SG=SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG
HEX=4f1c2a9e3b4d4e5f8a7b9c0d1e2f3a4b
MY_CREDENTIALS=x
GCP_PRIVATE=x
LOG_LEVEL=INFO
AUTHOR=Jane
";
    std::fs::write(r.path(".env.production"), env).unwrap();
    let out = import(&r, &[".env.production", "--env", "prod", "--dry-run"]);
    ok(&out);
    let plan = String::from_utf8_lossy(&out.stdout).into_owned();
    for (k, _) in values(env) {
        let l = row(&plan, &k);
        let want = if k == "LOG_LEVEL" || k == "AUTHOR" {
            "plain"
        } else {
            "secret"
        };
        assert_eq!(l.split_whitespace().nth(1), Some(want), "{l}");
    }
    for v in ["hunter2", "changeme", "Pa55w0rd", "rpw@"] {
        assert!(!plan.contains(v), "a value was printed:\n{plan}");
    }
}

/// Review of issue 13: a re-import rebuilds one set of plain names (the regex does not
/// nest and grow), and a key once plain whose value is now secret gets encrypted (it
/// failed verification, exit 70, before).
#[test]
fn a_reimport_keeps_one_plain_set_and_a_key_once_plain_can_become_secret() {
    let r = repo();
    std::fs::write(r.path("a.env"), "LOG_LEVEL=INFO\nMODE=demo\nPORT=1\n").unwrap();
    ok(&import(&r, &["a.env", "--env", "prod", "--no-backup"]));
    std::fs::write(
        r.path("a.env"),
        "LOG_LEVEL=INFO\nMODE=demo\nPORT=1\nHOST=x\n",
    )
    .unwrap();
    ok(&import(&r, &["a.env", "--env", "prod", "--no-backup"]));
    let regex = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("sops_unencrypted_regex="))
            .unwrap()
            .to_string()
    };
    let enc = r.ks.sb.read(".env.prod");
    assert_eq!(
        regex(&enc),
        "sops_unencrypted_regex=_unencrypted$|^(?:HOST|LOG_LEVEL|MODE|PORT)$",
        "{enc}"
    );
    // MODE now holds a connection URL with a password: secret.
    std::fs::write(r.path("a.env"), "MODE=postgres://u:hunter2@db/app\n").unwrap();
    let out = import(
        &r,
        &["a.env", "--env", "prod", "--no-backup", "--overwrite"],
    );
    let text = ok(&out);
    assert!(row(&text, "MODE").contains("now encrypted"), "{text}");
    let enc = r.ks.sb.read(".env.prod");
    assert!(values(&enc)["MODE"].starts_with("ENC["), "{enc}");
    assert_eq!(values(&enc)["LOG_LEVEL"], "INFO");
    assert_eq!(
        regex(&enc),
        "sops_unencrypted_regex=_unencrypted$|^(?:HOST|LOG_LEVEL|PORT)$"
    );
}

/// Review of issue 13: an empty source writes nothing and exits 2.
#[test]
fn an_empty_source_or_vault_path_is_refused() {
    let r = repo();
    std::fs::write(r.path("empty.env"), "# nothing\n").unwrap();
    let before = tree(r.ks.dir());
    let out = import(&r, &["empty.env", "--env", "prod"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no values in empty.env"),
        "{out:?}"
    );
    assert_eq!(tree(r.ks.dir()), before);
    let bao = OpenBao::start();
    let out =
        r.ks.cmd()
            .args(["import", "--from-vault", "secret/nothere", "--env", "prod"])
            .env("VAULT_ADDR", &bao.addr)
            .env("VAULT_TOKEN", &bao.token)
            .output()
            .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no values under secret/nothere"),
        "{out:?}"
    );
    assert_eq!(tree(r.ks.dir()), before);
}

/// Review of issue 13: `-` reads stdin with --input-type (and says the file steps do not
/// apply); without it, the error of other commands.
#[test]
fn import_reads_stdin() {
    use std::io::Write;
    let r = repo();
    let run = |args: &[&str]| {
        let mut c = r.ks.cmd();
        c.arg("import")
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        // A run refused before it reads stdin (no --input-type) may exit before this
        // write, which then fails with a broken pipe: the exit status is what is checked.
        let _ = child
            .stdin
            .take()
            .unwrap()
            .write_all(b"A_TOKEN=x\nLOG_LEVEL=INFO\n");
        child.wait_with_output().unwrap()
    };
    let out = run(&["-", "--input-type", "dotenv", "--env", "prod", "--dry-run"]);
    let text = ok(&out);
    assert_eq!(
        row(&text, "A_TOKEN").split_whitespace().nth(1),
        Some("secret")
    );
    assert!(
        text.contains("no backup, .gitignore or source removal"),
        "{text}"
    );
    let out = run(&["-", "--input-type", "dotenv", "--env", "prod"]);
    ok(&out);
    let dec = String::from_utf8(r.ks.ok(&["decrypt", ".env.prod"])).unwrap();
    assert_eq!(values(&dec)["A_TOKEN"], "x");
    let out = run(&["-", "--env", "prod", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--input-type"));
}

/// Review of issue 13, nits: an unknown --keep-clear key, --keep-clear with
/// --encrypt-all, and a --to in another environment are conflicting options (8); an
/// in-place import says so, and why --remove-source keeps the file.
#[test]
fn option_conflicts_and_in_place_wording() {
    let r = repo();
    let code = |args: &[&str]| import(&r, args).status.code();
    assert_eq!(
        code(&[
            ".env.production",
            "--env",
            "prod",
            "--dry-run",
            "--keep-clear",
            "NOPE"
        ]),
        Some(8)
    );
    let out = import(
        &r,
        &[
            ".env.production",
            "--env",
            "prod",
            "--dry-run",
            "--keep-clear",
            "NOPE",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOPE"));
    assert_eq!(
        code(&[
            ".env.production",
            "--env",
            "prod",
            "--dry-run",
            "--keep-clear",
            "DEBUG",
            "--encrypt-all"
        ]),
        Some(8)
    );
    assert_eq!(
        code(&[".env.production", "--to", "elsewhere.env", "--dry-run"]),
        Some(8)
    );
    r.ks.ok(&[
        "env", "add", "dev", "--files", ".env.dev", "--member", "alice",
    ]);
    assert_eq!(
        code(&[
            ".env.production",
            "--env",
            "dev",
            "--to",
            ".env.prod",
            "--dry-run"
        ]),
        Some(8)
    );
    std::fs::write(r.path(".env.prod"), DJANGO_ENV).unwrap();
    let out = import(
        &r,
        &[
            ".env.prod",
            "--env",
            "prod",
            "--no-backup",
            "--remove-source",
        ],
    );
    let text = ok(&out);
    assert!(text.contains("encrypted in place"), "{text}");
    assert!(!text.contains("new file"), "{text}");
    assert!(text.contains("--remove-source"), "{text}");
    assert!(r.path(".env.prod").exists());
}

/// Review of issue 13: when a deeper `.gitignore` negates the line added for the source,
/// git still sees it: a warning says so and what to do.
#[test]
fn a_negated_gitignore_is_reported() {
    let r = repo();
    std::fs::create_dir_all(r.path("sub")).unwrap();
    std::fs::write(r.path("sub/.gitignore"), "!.env.staging\n").unwrap();
    std::fs::write(r.path("sub/.env.staging"), "A_TOKEN=x\nLOG_LEVEL=INFO\n").unwrap();
    let text = ok(&import(
        &r,
        &["sub/.env.staging", "--env", "prod", "--no-backup"],
    ));
    assert!(text.contains("added /sub/.env.staging"), "{text}");
    assert!(text.contains("git still does not ignore"), "{text}");
    assert!(text.contains("git check-ignore"), "{text}");
    // Without the negation: no warning.
    let r = repo();
    std::fs::write(r.path(".env.staging"), "A_TOKEN=x\n").unwrap();
    let text = ok(&import(
        &r,
        &[".env.staging", "--env", "prod", "--no-backup"],
    ));
    assert!(!text.contains("still does not ignore"), "{text}");
}

/// A dotenv line's key is the variable it sets: into YAML, `export DB_PASSWORD=` and
/// `API_TOKEN = ` become `DB_PASSWORD` and `API_TOKEN` (they became `export DB_PASSWORD`
/// and `API_TOKEN `); into a dotenv file holding `export API_TOKEN=`, a source's
/// `API_TOKEN=` is that key (a second line was added, and exec refused the file); a
/// variable set twice is refused, naming the source.
#[test]
fn dotenv_keys_are_the_variables_they_set() {
    let r = repo();
    std::fs::write(
        r.path("src.env"),
        "export DB_PASSWORD=s3cret-db-1111\nAPI_TOKEN = t0ken-2222\n",
    )
    .unwrap();
    ok(&import(
        &r,
        &["src.env", "--to", "config/prod/app.yaml", "--no-backup"],
    ));
    let get = |f: &str, k: &str| String::from_utf8(r.ks.ok(&["get", f, k])).unwrap();
    assert_eq!(get("config/prod/app.yaml", "DB_PASSWORD"), "s3cret-db-1111");
    assert_eq!(get("config/prod/app.yaml", "API_TOKEN"), "t0ken-2222");

    std::fs::write(r.path("a.env"), "export API_TOKEN=old-token-3333\n").unwrap();
    ok(&import(
        &r,
        &["a.env", "--to", "config/prod/app.env", "--no-backup"],
    ));
    std::fs::write(r.path("b.env"), "API_TOKEN=new-token-4444\n").unwrap();
    let out = import(&r, &["b.env", "--to", "config/prod/app.env", "--no-backup"]);
    assert_eq!(out.status.code(), Some(12), "{}", ok_or_err(&out));
    ok(&import(
        &r,
        &[
            "b.env",
            "--to",
            "config/prod/app.env",
            "--no-backup",
            "--overwrite",
        ],
    ));
    assert_eq!(get("config/prod/app.env", "API_TOKEN"), "new-token-4444");
    let plain = String::from_utf8(r.ks.ok(&["decrypt", "config/prod/app.env"])).unwrap();
    assert_eq!(plain.matches("API_TOKEN").count(), 1, "{plain}");
    assert!(plain.contains("export API_TOKEN="), "{plain}");

    std::fs::write(r.path("dup.env"), "export A_TOKEN=x1\nA_TOKEN=y2\n").unwrap();
    let out = import(
        &r,
        &["dup.env", "--to", "config/prod/dup.yaml", "--no-backup"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("dup.env") && err.contains("A_TOKEN"), "{err}");
    assert!(!r.path("config/prod/dup.yaml").exists());
    // So in JSON (the error named the destination, never written, at a generated line).
    std::fs::write(
        r.path("dup.json"),
        "{\"db\": {\"A_TOKEN\": \"x\", \"A_TOKEN\": \"y\"}}\n",
    )
    .unwrap();
    let out = import(
        &r,
        &["dup.json", "--to", "config/prod/dup.yaml", "--no-backup"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("dup.json") && err.contains("db.A_TOKEN"),
        "{err}"
    );
    assert!(!r.path("config/prod/dup.yaml").exists());
}

fn ok_or_err(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The `.gitignore` line names the source literally: `prod[1].env` was written as a
/// character class (the source stayed visible to git) and `prod*.env` as a wildcard (it
/// ignored `prod-notes.env` too).
#[test]
fn the_gitignore_line_names_the_source_literally() {
    let r = repo();
    for name in ["prod[1].env", "prod*.env"] {
        std::fs::write(r.path(name), "API_TOKEN=t0ken-5555\n").unwrap();
        ok(&import(
            &r,
            &[
                name,
                "--to",
                "config/prod/app.env",
                "--no-backup",
                "--overwrite",
            ],
        ));
        let ignored = r.git(&["check-ignore", "--no-index", "--", name]);
        assert_eq!(ignored.trim(), name);
    }
    std::fs::write(r.path("prod-notes.env"), "notes\n").unwrap();
    let out = std::process::Command::new("git")
        .args(["check-ignore", "-q", "--no-index", "--", "prod-notes.env"])
        .current_dir(r.ks.dir())
        .status()
        .unwrap();
    assert_eq!(out.code(), Some(1), "an unrelated file is ignored");
}

/// A source that is a symbolic link: `--remove-source` is refused before anything is
/// written (it removed the link and left the plaintext, unignored, to be staged); without
/// it, the file the link points to is ignored too.
#[test]
fn a_linked_source_is_not_half_removed_and_its_target_is_ignored() {
    let r = repo();
    std::fs::create_dir_all(r.path("shared")).unwrap();
    std::fs::write(r.path("shared/real.env"), "API_TOKEN=t0ken-6666\n").unwrap();
    std::os::unix::fs::symlink("shared/real.env", r.path(".env")).unwrap();
    let out = import(
        &r,
        &[".env", "--to", "config/prod/app.env", "--remove-source"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("symbolic link") && err.contains("shared/real.env"),
        "{err}"
    );
    assert!(!r.path("config/prod/app.env").exists());
    assert!(r.path(".env").exists());
    ok(&import(
        &r,
        &[".env", "--to", "config/prod/app.env", "--no-backup"],
    ));
    for name in [".env", "shared/real.env"] {
        let ignored = r.git(&["check-ignore", "--no-index", "--", name]);
        assert_eq!(ignored.trim(), name);
    }
}

/// A quoted dotenv value over several lines (a PEM key, as python-dotenv, docker compose
/// and dotenvx load it) was refused ("a value cannot span lines"). The key is a real one
/// from `openssl`; the imported value is that file's text, to us and to the real sops.
#[test]
fn a_multi_line_quoted_value_is_imported_as_loaders_read_it() {
    let r = repo();
    let pem_path = r.path("home/key.pem");
    std::fs::create_dir_all(pem_path.parent().unwrap()).unwrap();
    let made = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&pem_path)
        .status()
        .unwrap();
    assert!(made.success());
    let pem = std::fs::read_to_string(&pem_path).unwrap();
    let pem = pem.trim_end();
    std::fs::write(
        r.path("src.env"),
        format!("A=1\nTLS_KEY=\"{pem}\"\nLITERAL='two\nlines'\nB=2\n"),
    )
    .unwrap();
    for dest in ["config/prod/app.yaml", "config/prod/app.env"] {
        ok(&import(&r, &["src.env", "--to", dest, "--no-backup"]));
        let get = |k: &str| String::from_utf8(r.ks.ok(&["get", dest, k])).unwrap();
        assert_eq!(get("TLS_KEY"), pem, "{dest}");
        assert_eq!(get("LITERAL"), "two\nlines", "{dest}");
        assert_eq!(get("B"), "2", "{dest}");
        let sops = std::process::Command::new(common::sops_bin().unwrap())
            .args(["decrypt", "--extract", "[\"TLS_KEY\"]", dest])
            .env("SOPS_AGE_KEY_FILE", &r.ks.key)
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .current_dir(r.ks.dir())
            .output()
            .unwrap();
        assert!(
            sops.status.success(),
            "{}",
            String::from_utf8_lossy(&sops.stderr)
        );
        let seen = String::from_utf8(sops.stdout).unwrap();
        if dest.ends_with(".yaml") {
            assert_eq!(seen, pem, "sops reads another value from {dest}");
        } else {
            // sops's dotenv store turns `\n` into line breaks and keeps the quotes.
            assert_eq!(seen, format!("\"{pem}\""), "{dest}");
        }
    }
}
