//! HashiCorp Vault / OpenBao transit as a key service (issue 15, first slice), against a
//! real OpenBao dev server (`bao server -dev`, transit enabled) and the real sops 3.11:
//! our `--hc-vault-transit` files decrypt with only a Vault token, here and with `sops
//! -d`; sops's decrypt here; `updatekeys`/`rotate` keep the stanzas in step for both
//! tools; a server that is down or silent fails within the timeout, naming the key and
//! never the token, and an age identity still opens the file without any request.
//!
//! A missing `bao` or `sops` fails the test with the instruction to install it (the
//! common oracle rule: a test that passed without its oracle would have tested nothing).

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::openbao::OpenBao;
use common::*;

/// An OpenBao dev server with transit enabled and the keys `names` created.
fn transit(names: &[&str]) -> OpenBao {
    let bao = OpenBao::start();
    bao.ok(&["secrets", "enable", "transit"]);
    for n in names {
        bao.ok(&["write", "-f", &format!("transit/keys/{n}")]);
    }
    bao
}

fn key_url(bao: &OpenBao, name: &str) -> String {
    format!("{}/v1/transit/keys/{name}", bao.addr)
}

/// `secrets ARGS` in the sandbox with no Vault variables but those given and no age key
/// unless `age` names one.
fn run(sb: &Sandbox, vars: &[(&str, &str)], age: Option<&Path>, args: &[&str]) -> Output {
    let mut c = sb.std_cmd();
    for v in [
        "VAULT_ADDR",
        "VAULT_TOKEN",
        "VAULT_NAMESPACE",
        "VAULT_CACERT",
        "VAULT_SKIP_VERIFY",
    ] {
        c.env_remove(v);
    }
    c.env("NO_COLOR", "1");
    for (k, v) in vars {
        c.env(k, v);
    }
    if let Some(k) = age {
        c.env("SOPS_AGE_KEY_FILE", k);
    }
    c.args(args).output().unwrap()
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn token_vars(bao: &OpenBao) -> [(&'static str, &str); 2] {
    [
        ("VAULT_ADDR", bao.addr.as_str()),
        ("VAULT_TOKEN", bao.token.as_str()),
    ]
}

/// The real sops with only the Vault variables (no age key, a HOME of its own).
fn sops(sb: &Sandbox, bao: &OpenBao) -> Command {
    let mut c = Command::new(sops_bin().unwrap());
    c.env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_KEY")
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .env("HOME", sb.path("home"))
        .env("XDG_CONFIG_HOME", sb.path("home/.config"))
        .env("VAULT_ADDR", &bao.addr)
        .env("VAULT_TOKEN", &bao.token)
        .current_dir(sb.dir.path());
    c
}

fn sops_decrypt(sb: &Sandbox, bao: &OpenBao, file: &str) -> String {
    let out = sops(sb, bao).args(["-d", file]).output().unwrap();
    ok(out, &format!("sops -d {file}"))
}

/// The `enc` of every `hc_vault` stanza of a YAML file, in order.
fn vault_encs(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("enc: vault:"))
        .map(|s| format!("vault:{s}"))
        .collect()
}

const PLAIN: &str = "db:\n  password: hunter2\n  port: 5432\napi_token: t0k3n\n";

#[test]
fn ours_decrypts_with_only_a_vault_token_here_and_with_sops() {
    let bao = transit(&["prod"]);
    let sb = Sandbox::new();
    sb.write("a.yaml", PLAIN);
    let url = key_url(&bao, "prod");
    ok(
        run(
            &sb,
            &token_vars(&bao),
            None,
            &["encrypt", "-i", "--hc-vault-transit", &url, "a.yaml"],
        ),
        "encrypt",
    );
    let text = sb.read("a.yaml");
    // The stanza as sops writes it: its five fields in its order, no age list.
    let at = text.find("  hc_vault:\n").expect("an hc_vault list");
    let stanza: Vec<&str> = text[at..].lines().skip(1).take(5).collect();
    let fields: Vec<&str> = stanza
        .iter()
        .map(|l| l.trim_start_matches([' ', '-']).split(':').next().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "vault_address",
            "engine_path",
            "key_name",
            "created_at",
            "enc"
        ]
    );
    assert!(
        stanza[0].ends_with(&format!("vault_address: {}", bao.addr)),
        "{text}"
    );
    assert!(stanza[1].ends_with("engine_path: transit"));
    assert!(stanza[2].ends_with("key_name: prod"));
    assert_eq!(vault_encs(&text).len(), 1);
    assert!(!text.contains("age:"));
    // Here, with VAULT_TOKEN only (no age identity anywhere).
    let out = ok(
        run(&sb, &token_vars(&bao), None, &["decrypt", "a.yaml"]),
        "decrypt",
    );
    assert_eq!(out, PLAIN);
    // With the token in ~/.vault-token instead, as the vault CLI leaves it.
    write_private(&sb.path("home/.vault-token"), &format!("{}\n", bao.token));
    let out = ok(
        run(&sb, &[], None, &["decrypt", "a.yaml"]),
        "decrypt with ~/.vault-token",
    );
    assert_eq!(out, PLAIN);
    std::fs::remove_file(sb.path("home/.vault-token")).unwrap();
    // sops reads what we wrote through the same server (and checks the MAC).
    assert_eq!(
        sops_decrypt(&sb, &bao, "a.yaml").replace("    ", "  "),
        PLAIN
    );
}

#[test]
fn sops_written_transit_files_decrypt_here_and_keep_their_bytes() {
    let bao = transit(&["prod"]);
    let sb = Sandbox::new();
    let url = key_url(&bao, "prod");
    for (name, plain) in [
        ("s.yaml", PLAIN),
        ("s.json", "{\"a\": \"x\", \"n\": 2}\n"),
        ("s.env", "A=1\nB=two words\n"),
    ] {
        sb.write(name, plain);
        let out = sops(&sb, &bao)
            .args(["-e", "-i", "--hc-vault-transit", &url, name])
            .output()
            .unwrap();
        ok(out, &format!("sops -e {name}"));
        let written = sb.read(name);
        assert!(written.contains("vault:v1:"), "{written}");
        let ours = ok(run(&sb, &token_vars(&bao), None, &["decrypt", name]), name);
        assert_eq!(ours, sops_decrypt(&sb, &bao, name), "{name}");
    }
    // A value set here changes its own line, lastmodified and the MAC: the sops
    // metadata, its hc_vault stanza included, stays byte for byte.
    let before = sb.read("s.yaml");
    ok(
        run(
            &sb,
            &token_vars(&bao),
            None,
            &["set", "s.yaml", "db.password", "changed"],
        ),
        "set",
    );
    let after = sb.read("s.yaml");
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(before.lines().count(), after.lines().count());
    assert!(
        changed.iter().all(|(a, _)| {
            let a = a.trim_start();
            a.starts_with("password:") || a.starts_with("lastmodified:") || a.starts_with("mac:")
        }),
        "{changed:?}"
    );
    assert!(sops_decrypt(&sb, &bao, "s.yaml").contains("password: changed"));
}

/// A config whose `prod` environment has one member and a transit key.
/// `file` decrypts to [`PLAIN`] with sops through Vault, with us through the Vault token
/// alone, and with us through the age key `age` alone.
fn opens_every_way(sb: &Sandbox, bao: &OpenBao, age: &Path, file: &str) {
    assert_eq!(sops_decrypt(sb, bao, file).replace("    ", "  "), PLAIN);
    let v = token_vars(bao);
    assert_eq!(
        ok(run(sb, &v, None, &["decrypt", file]), "vault only"),
        PLAIN
    );
    assert_eq!(
        ok(run(sb, &[], Some(age), &["decrypt", file]), "age only"),
        PLAIN
    );
}

fn team_config(sb: &Sandbox, alice: &str, vault: &str) {
    sb.write(
        ".secrets.yaml",
        &format!(
            "members:\n  alice: {alice}\nenvironments:\n  prod:\n    files:\n      - prod/**\n    members:\n      - alice\n    vault_transit:\n      - {vault}\n"
        ),
    );
}

#[test]
fn updatekeys_and_rotate_keep_the_vault_stanzas_in_step_for_sops() {
    let bao = transit(&["prod"]);
    let sb = Sandbox::new();
    let alice = sb.key("alice");
    let url = key_url(&bao, "prod");
    team_config(&sb, &alice.public, &url);
    let v = token_vars(&bao);
    // Encrypted for alice only: updatekeys adds the environment's transit key.
    sb.write("prod/app.yaml", PLAIN);
    ok(
        run(
            &sb,
            &v,
            None,
            &["encrypt", "-i", "--age", &alice.public, "prod/app.yaml"],
        ),
        "encrypt",
    );
    assert!(vault_encs(&sb.read("prod/app.yaml")).is_empty());
    // status shows the transit key as missing; after updatekeys it is in the file.
    let status = |sb: &Sandbox| {
        let out = run(sb, &v, Some(&alice.file), &["status"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(
        status(&sb).contains(&format!("missing hc_vault {url}")),
        "{}",
        status(&sb)
    );
    let out = ok(
        run(&sb, &v, Some(&alice.file), &["updatekeys"]),
        "updatekeys",
    );
    assert!(out.contains("hc_vault") || sb.read("prod/app.yaml").contains("hc_vault"));
    let text = sb.read("prod/app.yaml");
    assert_eq!(vault_encs(&text).len(), 1, "{text}");
    assert!(text.contains(&alice.public));
    let shown = status(&sb);
    assert!(
        shown.contains("alice,vault:prod") && !shown.contains("missing"),
        "{shown}"
    );
    // sops opens it through Vault alone; we do with either key alone.
    opens_every_way(&sb, &bao, &alice.file, "prod/app.yaml");
    // A second updatekeys has nothing to do.
    ok(
        run(&sb, &v, Some(&alice.file), &["updatekeys"]),
        "updatekeys again",
    );
    assert_eq!(sb.read("prod/app.yaml"), text);

    // Rotation: a new data key, wrapped again through Vault (the old stanza would open
    // nothing now).
    ok(
        run(&sb, &v, Some(&alice.file), &["rotate", "prod/app.yaml"]),
        "rotate",
    );
    let rotated = sb.read("prod/app.yaml");
    let encs = vault_encs(&rotated);
    assert_eq!(encs.len(), 1);
    assert_ne!(
        encs,
        vault_encs(&text),
        "the vault stanza was not re-wrapped"
    );
    opens_every_way(&sb, &bao, &alice.file, "prod/app.yaml");

    // A new file of the environment gets both from the config.
    sb.write("prod/new.yaml", PLAIN);
    ok(
        run(&sb, &v, None, &["encrypt", "-i", "prod/new.yaml"]),
        "encrypt from config",
    );
    let new = sb.read("prod/new.yaml");
    assert_eq!(vault_encs(&new).len(), 1);
    assert!(new.contains(&alice.public));
    assert_eq!(
        sops_decrypt(&sb, &bao, "prod/new.yaml").replace("    ", "  "),
        PLAIN
    );

    // sops rotates ours (-r): we still open it with either key.
    let out = sops(&sb, &bao)
        .args(["-r", "-i", "prod/new.yaml"])
        .output()
        .unwrap();
    ok(out, "sops -r");
    assert_ne!(vault_encs(&sb.read("prod/new.yaml")), vault_encs(&new));
    assert_eq!(
        ok(
            run(&sb, &v, None, &["decrypt", "prod/new.yaml"]),
            "after sops -r"
        )
        .replace("    ", "  "),
        PLAIN
    );
    assert_eq!(
        ok(
            run(&sb, &[], Some(&alice.file), &["decrypt", "prod/new.yaml"]),
            "age after sops -r"
        )
        .replace("    ", "  "),
        PLAIN
    );
}

#[test]
fn env_add_vault_transit_and_sops_yaml_rules_name_the_key() {
    let bao = transit(&["prod", "ci"]);
    let sb = Sandbox::new();
    let alice = sb.key("alice");
    let v = token_vars(&bao);
    let prod = key_url(&bao, "prod");
    sb.write(
        ".secrets.yaml",
        &format!("members:\n  alice: {}\nenvironments: {{}}\n", alice.public),
    );
    ok(
        run(
            &sb,
            &v,
            None,
            &[
                "env",
                "add",
                "prod",
                "--files",
                "prod/**",
                "--member",
                "alice",
                "--vault-transit",
                &prod,
            ],
        ),
        "env add",
    );
    assert!(
        sb.read(".secrets.yaml")
            .contains(&format!("vault_transit:\n      - {prod}")),
        "{}",
        sb.read(".secrets.yaml")
    );
    sb.write("prod/a.yaml", PLAIN);
    ok(
        run(&sb, &v, None, &["encrypt", "-i", "prod/a.yaml"]),
        "encrypt",
    );
    assert_eq!(vault_encs(&sb.read("prod/a.yaml")).len(), 1);
    // An import into the environment is wrapped for its transit key too.
    sb.write(
        "src.env",
        "API_KEY=sk_live_abcdefghijklmnop1234\nDEBUG=false\n",
    );
    ok(
        run(
            &sb,
            &v,
            None,
            &["import", "src.env", "--to", "prod/imported.env"],
        ),
        "import",
    );
    assert!(sb
        .read("prod/imported.env")
        .contains("sops_hc_vault__list_0__map_enc=vault:v1:"));
    assert!(ok(
        run(&sb, &v, None, &["decrypt", "prod/imported.env"]),
        "decrypt import"
    )
    .contains("API_KEY=sk_live_abcdefghijklmnop1234"));
    // A malformed URL is refused before the config is written.
    let bad = run(
        &sb,
        &v,
        None,
        &[
            "env",
            "add",
            "dev",
            "--files",
            "dev/**",
            "--member",
            "alice",
            "--vault-transit",
            "vault:8200/transit/prod",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("/v1/ENGINE/keys/KEY"));
    assert!(!sb.read(".secrets.yaml").contains("dev"));

    // .sops.yaml's hc_vault_transit_uri, as sops reads it (no team config).
    let other = Sandbox::new();
    let ci = key_url(&bao, "ci");
    other.write(
        ".sops.yaml",
        &format!("creation_rules:\n  - path_regex: \\.yaml$\n    hc_vault_transit_uri: \"{ci}\"\n"),
    );
    other.write("b.yaml", PLAIN);
    ok(
        run(&other, &v, None, &["encrypt", "-i", "b.yaml"]),
        "encrypt by .sops.yaml",
    );
    let text = other.read("b.yaml");
    assert!(text.contains("key_name: ci"), "{text}");
    assert_eq!(
        sops_decrypt(&other, &bao, "b.yaml").replace("    ", "  "),
        PLAIN
    );
}

/// A listener that accepts connections and never answers: a service that hangs.
fn silent_server() -> (std::net::TcpListener, String) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", l.local_addr().unwrap());
    (l, addr)
}

#[test]
fn a_down_or_silent_service_fails_in_time_naming_the_key_not_the_token() {
    let bao = transit(&["prod", "backup"]);
    let sb = Sandbox::new();
    let alice = sb.key("alice");
    let v = token_vars(&bao);
    let (prod, backup) = (key_url(&bao, "prod"), key_url(&bao, "backup"));
    sb.write("a.yaml", PLAIN);
    ok(
        run(
            &sb,
            &v,
            None,
            &[
                "encrypt",
                "-i",
                "--age",
                &alice.public,
                "--hc-vault-transit",
                &format!("{prod},{backup}"),
                "a.yaml",
            ],
        ),
        "encrypt",
    );
    // The first stanza's server hangs, the second answers: the first fails within the
    // timeout and the second opens the file.
    let (hang, silent) = silent_server();
    let text = sb.read("a.yaml");
    let pointed = text.replacen(
        &format!("vault_address: {}", bao.addr),
        &format!("vault_address: {silent}"),
        1,
    );
    assert_ne!(pointed, text);
    sb.write("b.yaml", &pointed);
    // Long enough for the real server's answer on a loaded machine (the timeout covers
    // every request), short enough that the hang costs little.
    let timeout = [("SECRETS_KEYSERVICE_TIMEOUT", "3")];
    let vars = [v[0], v[1], timeout[0]];
    // It returns at all: the silent server, which never answers, was given up on.
    assert_eq!(
        ok(
            run(&sb, &vars, None, &["decrypt", "b.yaml"]),
            "second stanza"
        ),
        PLAIN
    );
    assert!(
        common::connections_to(&hang) >= 1,
        "the hanging server was not asked"
    );

    // The server stopped: every stanza fails, each named, within the timeout, and the
    // token is in no output.
    let addr = bao.addr.clone();
    let token = bao.token.clone();
    drop(bao);
    let vars = [
        ("VAULT_ADDR", addr.as_str()),
        ("VAULT_TOKEN", token.as_str()),
        timeout[0],
    ];
    let out = run(&sb, &vars, None, &["decrypt", "b.yaml"]);
    assert!(!out.status.success());
    assert_eq!(out.status.code(), Some(128), "exit code for no data key");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("hc_vault {silent}/v1/transit/keys/prod")),
        "{err}"
    );
    assert!(
        err.contains(&format!("hc_vault {addr}/v1/transit/keys/backup")),
        "{err}"
    );
    assert!(!err.contains(&token) && !String::from_utf8_lossy(&out.stdout).contains(&token));
    assert!(
        common::connections_to(&hang) >= 1,
        "the silent server was not asked"
    );
    // With the age identity it opens without asking any server (age is tried first).
    assert_eq!(
        ok(
            run(&sb, &vars, Some(&alice.file), &["decrypt", "b.yaml"]),
            "age"
        ),
        PLAIN
    );
    assert_eq!(common::connections_to(&hang), 0, "a server was asked");
    // ... even when the Vault settings could not make a client at all.
    let broken = [
        ("VAULT_CACERT", "/nonexistent/ca.pem"),
        ("SECRETS_KEYSERVICE_TIMEOUT", "soon"),
    ];
    assert_eq!(
        ok(
            run(&sb, &broken, Some(&alice.file), &["decrypt", "b.yaml"]),
            "age"
        ),
        PLAIN
    );
    // Without it, the bad timeout is reported by name.
    let out = run(&sb, &broken, None, &["decrypt", "b.yaml"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("SECRETS_KEYSERVICE_TIMEOUT=\"soon\""));
}

#[test]
fn a_wrong_token_is_a_clear_error_without_the_token() {
    let bao = transit(&["prod"]);
    let sb = Sandbox::new();
    let url = key_url(&bao, "prod");
    sb.write("a.yaml", PLAIN);
    ok(
        run(
            &sb,
            &token_vars(&bao),
            None,
            &["encrypt", "-i", "--hc-vault-transit", &url, "a.yaml"],
        ),
        "encrypt",
    );
    let wrong = "hvs.wrongtoken0123456789";
    let vars = [("VAULT_ADDR", bao.addr.as_str()), ("VAULT_TOKEN", wrong)];
    for args in [
        vec!["decrypt", "a.yaml"],
        vec!["encrypt", "--hc-vault-transit", url.as_str(), "plain.yaml"],
    ] {
        sb.write("plain.yaml", PLAIN);
        let out = run(&sb, &vars, None, &args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("hc_vault {url}")), "{err}");
        assert!(
            err.contains("HTTP 403") && err.contains("VAULT_TOKEN"),
            "{err}"
        );
        assert!(!err.contains(wrong) && !err.contains(&bao.token), "{err}");
        // The hint is about the token, not about age keys.
        assert!(
            err.contains("hint: ") && !err.contains("ask a member"),
            "{err}"
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains(wrong));
    }
    // A server outside $SOPS_HC_VAULT_ALLOWLIST gets no request (and so no token).
    let vars = [
        ("VAULT_TOKEN", bao.token.as_str()),
        ("SOPS_HC_VAULT_ALLOWLIST", "https://vault.example:8200"),
    ];
    let out = run(&sb, &vars, None, &["decrypt", "a.yaml"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not in $SOPS_HC_VAULT_ALLOWLIST"));
    let vars = [
        ("VAULT_TOKEN", bao.token.as_str()),
        ("SOPS_HC_VAULT_ALLOWLIST", bao.addr.as_str()),
    ];
    assert_eq!(
        ok(run(&sb, &vars, None, &["decrypt", "a.yaml"]), "allowed"),
        PLAIN
    );
    // No token at all: said so.
    let out = run(
        &sb,
        &[("VAULT_ADDR", bao.addr.as_str())],
        None,
        &["decrypt", "a.yaml"],
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no token"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The merge driver after one side rotated: the merged file gets a fresh data key, and its
/// Vault stanza is wrapped again for it (the sides' stanzas hold their old keys), so a
/// server with only a token and `sops -d` still open the merge.
#[test]
fn a_merge_after_a_rotation_rewraps_the_vault_stanza() {
    let bao = transit(&["prod"]);
    let r = common::repo::Repo::new();
    let url = key_url(&bao, "prod");
    r.configure(&format!(
        "environments:\n  prod:\n    files: [\"config/**\"]\n    members: [alice]\n    vault_transit: [{url}]\n"
    ));
    // git runs the driver with this environment too: the age key and the Vault token.
    let main = r.rotate_on_a_branch_and_merge(PLAIN, &|c| {
        c.env("VAULT_TOKEN", &bao.token).env_remove("VAULT_ADDR");
    });
    let merged = r.ks.sb.read("config/app.yaml");
    assert_eq!(vault_encs(&merged).len(), 1);
    assert_ne!(vault_encs(&merged), vault_encs(&main));
    // Only the token: the stanza holds the merged file's data key.
    let sb = &r.ks.sb;
    let plain = ok(
        run(sb, &token_vars(&bao), None, &["decrypt", "config/app.yaml"]),
        "decrypt with the token",
    );
    assert!(plain.contains("password: pw-main") && plain.contains("api_token: tok-feature"));
    let by_sops = sops_decrypt(sb, &bao, "config/app.yaml");
    assert!(by_sops.contains("pw-main") && by_sops.contains("tok-feature"));
}

/// A server that answers every request with a redirect to `location`.
fn redirecting_server(location: String) -> (std::thread::JoinHandle<()>, String) {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", l.local_addr().unwrap());
    let h = std::thread::spawn(move || {
        if let Ok((mut s, _)) = l.accept() {
            // The whole request (headers, then Content-Length bytes), so that closing
            // after the answer does not reset a connection still sending.
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = s.read(&mut buf).unwrap_or(0);
                req.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&req).to_ascii_lowercase();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len: usize = text
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if req.len() >= end + 4 + len {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let _ = write!(
                s,
                "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (h, addr)
}

/// A redirect is not followed: the `X-Vault-Token` header would go with it to wherever it
/// points. Needs no Vault: a listener that redirects, and one that must see no request.
#[test]
fn a_redirect_is_not_followed_with_the_token() {
    let sb = Sandbox::new();
    let (elsewhere, elsewhere_addr) = silent_server();
    elsewhere.set_nonblocking(true).unwrap();
    let (h, addr) = redirecting_server(format!("{elsewhere_addr}/v1/transit/decrypt/prod"));
    sb.write(
        "a.yaml",
        &format!(
            "a: ENC[AES256_GCM,data:AA==,iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\nsops:\n  hc_vault:\n    - vault_address: {addr}\n      engine_path: transit\n      key_name: prod\n      created_at: \"2026-01-01T00:00:00Z\"\n      enc: vault:v1:AAAA\n  lastmodified: \"2026-01-01T00:00:00Z\"\n  mac: ENC[AES256_GCM,data:AA==,iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\n  version: 3.11.0\n"
        ),
    );
    let out = run(
        &sb,
        &[
            ("VAULT_TOKEN", "hvs.redirected-token"),
            ("SECRETS_KEYSERVICE_TIMEOUT", "2"),
        ],
        None,
        &["decrypt", "a.yaml"],
    );
    h.join().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("HTTP 302") && err.contains("not followed"),
        "{err}"
    );
    assert!(!err.contains("hvs.redirected-token"));
    assert!(
        elsewhere.accept().is_err(),
        "the redirect was followed (with the token)"
    );
}

/// A file listing more Vault stanzas than one unwrap asks: the rest are reported, not
/// tried (each could take the whole timeout). Port 1 on loopback refuses at once.
#[test]
fn at_most_sixteen_vault_stanzas_are_asked() {
    let sb = Sandbox::new();
    let mut text = String::from("a: ENC[AES256_GCM,data:AA==,iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\nsops:\n  hc_vault:\n");
    for i in 0..20 {
        text.push_str(&format!("    - vault_address: http://127.0.0.1:1\n      engine_path: transit\n      key_name: k{i}\n      created_at: \"2026-01-01T00:00:00Z\"\n      enc: vault:v1:AAAA\n"));
    }
    text.push_str("  lastmodified: \"2026-01-01T00:00:00Z\"\n  mac: ENC[AES256_GCM,data:AA==,iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\n  version: 3.11.0\n");
    sb.write("a.yaml", &text);
    let out = run(&sb, &[("VAULT_TOKEN", "t")], None, &["decrypt", "a.yaml"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("keys/k15:") && !err.contains("keys/k16:"),
        "{err}"
    );
    assert!(err.contains("4 more hc_vault stanza(s) not tried"), "{err}");
}
