//! The `pvectl` binary over `-t https://...` against the test server acting as a one-node PVE:
//! reads and an action go through the shared workflow; TLS refusals exit 9 having sent
//! nothing; `--insecure` warns; the token secret never appears in any output, whatever path
//! (success, failure, verbose trace, dry-run plan, JSON errors).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::server::{Identity, Recorded, Reply, Responder, Server, ok};
use crate::support::{Pvectl, Run};
use crate::transport::{SECRET, TOKEN_ID, assert_nothing_received};

const UPID: &str = "UPID:pve1:000934AF:0D015579:68BF3A41:qmstart:100:pvectl@pve!ops:";

/// One node `pve1` with guest 100 (qemu), stopped until a `status/start` POST.
fn fake_pve() -> Responder {
    let running = Arc::new(Mutex::new(false));
    Arc::new(move |r: &Recorded| -> Reply {
        let mut running = running.lock().expect("lock");
        let status = if *running { "running" } else { "stopped" };
        match (r.method.as_str(), r.path().trim_start_matches("/api2/json")) {
            ("GET", "/cluster/resources") => ok(&json!([
                {"id": "qemu/100", "type": "qemu", "vmid": 100, "node": "pve1", "name": "web", "status": status, "maxmem": 2_147_483_648_u64}
            ])),
            ("GET", "/nodes/pve1/qemu/100/status/current") => {
                ok(&json!({"vmid": 100, "name": "web", "status": status, "qmpstatus": status}))
            }
            ("GET", "/nodes/pve1/qemu/100/config") => ok(&json!({"name": "web", "memory": "2048", "digest": "0123abcd"})),
            ("POST", "/nodes/pve1/qemu/100/status/start") => {
                *running = true;
                ok(&json!(UPID))
            }
            ("GET", p) if p == format!("/nodes/pve1/tasks/{UPID}/status") => {
                ok(&json!({"upid": UPID, "status": "stopped", "exitstatus": "OK", "type": "qmstart", "id": "100", "node": "pve1"}))
            }
            ("GET", "/nodes/pve1/qemu/101/status/current") => (
                500,
                "Internal Server Error".into(),
                "{\"data\":null,\"message\":\"Configuration file 'nodes/pve1/qemu-server/101.conf' does not exist\\n\"}".into(),
            ),
            ("GET", "/denied") => (403, "Permission check failed (/, Sys.Audit)".into(), r#"{"data":null}"#.into()),
            (m, p) => (501, format!("Method '{m} {p}' not implemented"), r#"{"data":null}"#.into()),
        }
    })
}

/// A home directory with the secret in a file (mode as given).
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Self {
        Self { dir: tempfile::tempdir().expect("dir") }
    }
    fn secret_file(&self, mode: u32) -> PathBuf {
        let p = self.dir.path().join(format!("secret-{mode:o}"));
        std::fs::write(&p, format!("{SECRET}\n")).expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        p
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// `pvectl -t <server> [tls...] args` with the token in the environment.
fn run(server: &Server, home: &Home, tls: &[&str], args: &[&str]) -> Run {
    Pvectl::new()
        .env("HOME", home.path())
        .env("PROXMOX_TOKEN_ID", TOKEN_ID)
        .env("PROXMOX_TOKEN_SECRET", SECRET)
        .args(["-t", &server.url()])
        .args(tls)
        .args(args)
        .run()
}

fn assert_no_secret(r: &Run) {
    assert!(!r.stdout.contains(SECRET) && !r.stderr.contains(SECRET), "secret printed:\nstdout: {}\nstderr: {}", r.stdout, r.stderr);
}

#[test]
fn reads_and_an_action_over_https() {
    let id = Identity::self_signed();
    let server = Server::start(&id, fake_pve());
    let home = Home::new();
    let pin = ["--fingerprint", id.fingerprint.as_str()];
    let r = run(&server, &home, &pin, &["-o", "json", "guest", "list"]);
    r.expect_code(0);
    assert_eq!(r.json()[0]["vmid"], 100);
    assert_eq!(r.json()[0]["node"], "pve1");
    let r = run(&server, &home, &pin, &["-o", "json", "guest", "start", "100"]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!((v["changed"].as_bool(), v["task"]["upid"].as_str()), (Some(true), Some(UPID)));
    assert_eq!(v["after"]["status"], "running");
    let posts: Vec<String> = server.requests().iter().filter(|q| q.method == "POST").map(|q| q.path().to_owned()).collect();
    assert_eq!(posts, ["/api2/json/nodes/pve1/qemu/100/status/start"]);
    for q in server.requests() {
        assert_eq!(q.header("authorization"), Some(format!("PVEAPIToken={TOKEN_ID}={SECRET}").as_str()));
    }
}

#[test]
fn wrong_fingerprint_exits_9_and_sends_nothing() {
    let server = Server::start(&Identity::self_signed(), fake_pve());
    let other = Identity::self_signed();
    let r = run(&server, &Home::new(), &["--fingerprint", &other.fingerprint.to_lowercase()], &["guest", "list"]);
    r.expect_code(9);
    assert!(r.stderr.contains("not trusted") && r.stderr.contains("does not match the pinned"), "{}", r.stderr);
    assert_no_secret(&r);
    assert_nothing_received(&server);
}

#[test]
fn unverifiable_certificate_exits_9_and_sends_nothing() {
    let server = Server::start(&Identity::self_signed(), fake_pve());
    let r = run(&server, &Home::new(), &[], &["-o", "json", "node", "list"]);
    r.expect_code(9);
    let e: serde_json::Value = serde_json::from_str(r.stderr.trim()).expect("JSON error on stderr");
    assert_eq!(e["error"]["kind"], "transport");
    assert_no_secret(&r);
    assert_nothing_received(&server);
}

#[test]
fn insecure_warns_on_every_run_even_quiet() {
    let server = Server::start(&Identity::self_signed(), fake_pve());
    for extra in [&[][..], &["-q"][..]] {
        let r = run(&server, &Home::new(), &["--insecure"], &[extra, &["-o", "json", "guest", "list"]].concat());
        r.expect_code(0);
        assert!(r.stderr.contains("warning: --insecure"), "{}", r.stderr);
    }
}

#[test]
fn secret_never_appears_on_failing_verbose_and_plan_paths() {
    let id = Identity::self_signed();
    let server = Server::start(&id, fake_pve());
    let home = Home::new();
    let pin = ["--fingerprint", id.fingerprint.as_str()];
    let cases: [(&[&str], i32); 8] = [
        (&["-v", "guest", "list"], 0),
        (&["-v", "guest", "start", "100"], 0),
        (&["-v", "-o", "json", "api", "get", "/denied"], 4),
        (&["-v", "guest", "status", "101", "--node", "pve1", "--kind", "qemu"], 5),
        (&["-v", "api", "get", "/nope"], 5),
        (&["-v", "--dry-run", "guest", "stop", "100"], 0),
        (&["-v", "-o", "json", "guest", "stop", "100"], 3),
        (&["-v", "--token-id", "bad-token-id", "guest", "list"], 2),
    ];
    for (args, code) in cases {
        let r = run(&server, &home, &pin, args);
        r.expect_code(code);
        assert_no_secret(&r);
    }
    // The verbose trace names each request; the plan names the exact call.
    let r = run(&server, &home, &pin, &["-v", "--dry-run", "guest", "stop", "100"]);
    assert!(r.stderr.contains("GET https://127.0.0.1:") && r.stderr.contains(TOKEN_ID), "{}", r.stderr);
    assert!(
        r.stdout.contains("/api2/json/nodes/pve1/qemu/100/status/stop") || r.stderr.contains("/api2/json/nodes/pve1/qemu/100/status/stop"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
}

#[test]
fn secret_file_flag_and_permission_refusal() {
    let id = Identity::self_signed();
    let server = Server::start(&id, fake_pve());
    let home = Home::new();
    let good = home.secret_file(0o600);
    let r = Pvectl::new()
        .env("HOME", home.path())
        .args(["-t", &server.url(), "--fingerprint", &id.fingerprint, "--token-id", TOKEN_ID, "--token-secret-file"])
        .arg_path(&good)
        .args(["-o", "json", "guest", "list"])
        .run();
    r.expect_code(0);
    let open = home.secret_file(0o644);
    let r = Pvectl::new()
        .env("HOME", home.path())
        .args(["-t", &server.url(), "--fingerprint", &id.fingerprint, "--token-id", TOKEN_ID, "--token-secret-file"])
        .arg_path(&open)
        .args(["guest", "list"])
        .run();
    r.expect_code(2);
    assert!(r.stderr.contains(&format!("chmod 600 {}", open.display())), "{}", r.stderr);
    assert_no_secret(&r);
}

#[test]
fn named_target_from_the_config_file() {
    let id = Identity::self_signed();
    let server = Server::start(&id, fake_pve());
    let home = Home::new();
    let secret = home.secret_file(0o600);
    let cfg_dir = home.path().join(".config/pvectl");
    std::fs::create_dir_all(&cfg_dir).expect("mkdir");
    std::fs::write(
        cfg_dir.join("config.toml"),
        format!(
            "[targets.lab]\nurl = \"{}\"\ntoken_id = \"{TOKEN_ID}\"\ntoken_secret_file = \"{}\"\nfingerprint = \"{}\"\n",
            server.url(),
            secret.display(),
            id.fingerprint
        ),
    )
    .expect("write");
    let r = Pvectl::new().env("HOME", home.path()).env_remove_xdg().args(["-t", "lab", "-o", "json", "guest", "list"]).run();
    r.expect_code(0);
    assert_eq!(r.json()[0]["vmid"], 100);
}
