//! `pvectl check` against the in-process simulator with a state file: Nagios exit codes on
//! the demo, with an offline node and with a guest over the memory threshold; `--watch`
//! alerting once per state change.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Pvectl, Run};

struct Sim {
    dir: tempfile::TempDir,
}

impl Sim {
    /// A state file seeded from the demo (the first run writes it).
    fn new() -> Self {
        let sim = Self { dir: tempfile::tempdir().expect("temp dir") };
        sim.run(&["node", "list", "-o", "json"]).expect_code(0);
        assert!(sim.state_path().exists(), "the first run writes the state file");
        sim
    }

    fn state_path(&self) -> PathBuf {
        self.dir.path().join("state.json")
    }

    fn pvectl(&self) -> Pvectl {
        Pvectl::new().env("PVE_SIM_STATE", self.state_path()).env("PVECTL_CONFIG", self.dir.path().join("none.toml")).args(["-t", "sim"])
    }

    fn run(&self, args: &[&str]) -> Run {
        self.pvectl().args(args).run()
    }

    fn edit(&self, f: impl FnOnce(&mut Value)) {
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(self.state_path()).expect("state")).expect("state JSON");
        f(&mut v);
        std::fs::write(self.state_path(), serde_json::to_string(&v).expect("JSON")).expect("write state");
    }

    fn guest_mem(&self, vmid: u64, fraction: f64) {
        self.edit(|v| {
            let g = v["guests"].as_array_mut().expect("guests").iter_mut().find(|g| g["vmid"] == vmid).expect("guest");
            let max = g["maxmem"].as_u64().expect("maxmem");
            #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss, reason = "test figures")]
            let mem = (max as f64 * fraction) as u64;
            g["mem"] = mem.into();
        });
    }
}

#[test]
fn the_demo_is_healthy() {
    let sim = Sim::new();
    let r = sim.run(&["check", "all", "--format", "nagios"]);
    assert!(r.stdout.starts_with("PVE ALL OK - "), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("'mem_pve1'="), "perfdata: {}", r.stdout);
    r.expect_code(0);
    let j = sim.run(&["check", "all", "-o", "json"]);
    j.expect_code(0);
    let v = j.json();
    assert_eq!(v["status"], "ok");
    assert!(v["findings"].as_array().is_some_and(|f| f.len() > 10));
}

#[test]
fn an_offline_node_is_critical() {
    let sim = Sim::new();
    sim.edit(|v| v["nodes"][2]["online"] = false.into());
    let r = sim.run(&["check", "all", "--format", "nagios"]);
    r.expect_code(2);
    assert!(r.stdout.starts_with("PVE ALL CRITICAL - "), "{}", r.stdout);
    assert!(r.stdout.lines().any(|l| l.starts_with("CRITICAL") && l.contains("pve3") && l.contains("offline")), "{}", r.stdout);
    // JSON reports the same and exits 0: the check ran.
    let j = sim.run(&["check", "cluster", "-o", "json"]);
    j.expect_code(0);
    assert_eq!(j.json()["status"], "critical");
}

#[test]
fn a_guest_over_the_memory_threshold_warns_and_thresholds_are_validated() {
    let sim = Sim::new();
    sim.guest_mem(100, 0.93);
    let r = sim.run(&["check", "guests", "--format", "nagios"]);
    r.expect_code(1);
    assert!(r.stdout.starts_with("PVE GUESTS WARNING - qemu/100: memory 93"), "{}", r.stdout);
    sim.run(&["check", "guests", "--format", "nagios", "--warn", "guest-mem=95"]).expect_code(0);
    sim.run(&["check", "guests", "--format", "nagios", "--crit", "guest-mem=92"]).expect_code(2);
    let bad = sim.run(&["check", "guests", "--warn", "guest-mem=120"]);
    bad.expect_code(2);
    assert!(bad.stderr.contains("out of range"), "{}", bad.stderr);
    // As a Nagios plugin, a check that cannot run is UNKNOWN (3) with a plugin line.
    let bad = sim.run(&["check", "guests", "--format", "nagios", "--warn", "guest-mem=120"]);
    bad.expect_code(3);
    assert!(bad.stdout.starts_with("PVE GUESTS UNKNOWN - "), "{}", bad.stdout);
}

#[test]
fn watch_alerts_once_per_state_change() {
    let sim = Sim::new();
    sim.guest_mem(100, 0.93);
    let alerts = sim.dir.path().join("alerts.jsonl");
    let script = sim.dir.path().join("alert.sh");
    std::fs::write(&script, "#!/bin/sh\ncat >> \"$1\"\necho >> \"$1\"\n").expect("script");
    let cmd = format!("sh '{}' '{}'", script.display(), alerts.display());
    let child = sim
        .pvectl()
        .args(["check", "guests", "--watch", "--interval", "2", "--cycles", "3", "--alert-command", &cmd, "-o", "json"])
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn pvectl");
    let lines = |p: &PathBuf| std::fs::read_to_string(p).unwrap_or_default().lines().filter(|l| !l.is_empty()).count();
    let start = Instant::now();
    while lines(&alerts) < 1 {
        assert!(start.elapsed() < Duration::from_secs(30), "no first alert");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Resolve the problem before the second round.
    sim.guest_mem(100, 0.5);
    let out = child.wait_with_output().expect("pvectl ends after 3 cycles");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&alerts).expect("alerts");
    let got: Vec<Value> = text.lines().filter(|l| !l.is_empty()).map(|l| serde_json::from_str(l).expect("alert JSON")).collect();
    let kinds: Vec<(&str, &str)> =
        got.iter().map(|a| (a["change"].as_str().unwrap_or(""), a["finding"]["subject"].as_str().unwrap_or(""))).collect();
    assert_eq!(kinds, vec![("new", "qemu/100"), ("resolved", "qemu/100")], "{text}");
    assert_eq!(got[0]["finding"]["severity"], "warning");
    assert_eq!(got[1]["previous"], "warning");
}

/// `doctor` over REST with a demo token: `(id, secret file)`.
fn token_file(dir: &std::path::Path, which: usize) -> (String, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let (id, secret) = pvectl::backend::sim::DEMO_TOKENS[which];
    let path = dir.join(format!("token{which}.secret"));
    std::fs::write(&path, secret).expect("write secret");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
    (id.to_owned(), path)
}

#[test]
fn doctor_names_a_privsep_token_without_acls_and_the_pveum_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = crate::support::SimServer::start(&dir.path().join("state.json"), &dir.path().join("sim.log"));
    let doctor = |which: usize| {
        let (id, secret) = token_file(dir.path(), which);
        Pvectl::new()
            .args(["-t", &server.url, "--fingerprint", &server.fingerprint, "--token-id", &id, "--token-secret-file"])
            .arg_path(&secret)
            .args(["doctor", "-o", "table"])
            .run()
    };
    // auditor@pve!empty: privilege separation, no ACL.
    let r = doctor(2);
    assert_eq!(r.code, 4, "permission denied; stdout {}\nstderr {}", r.stdout, r.stderr);
    assert!(r.stdout.contains("privilege-separated token without ACLs"), "{}", r.stdout);
    assert!(r.stdout.contains("pveum acl modify / --tokens 'auditor@pve!empty' --roles PVEAuditor"), "{}", r.stdout);
    // auditor@pve!ro: reads work, changes are missing with the line that grants them.
    let r = doctor(1);
    r.expect_code(0);
    assert!(r.stdout.contains("pveum acl modify / --tokens 'auditor@pve!ro' --roles PVEVMUser"), "{}", r.stdout);
    // root's token: every group allowed.
    let r = doctor(0);
    r.expect_code(0);
    assert!(r.stdout.contains("every command group allowed"), "{}", r.stdout);
}

/// A one-thread HTTP server answering each request with the next status of `statuses`;
/// returns its URL and the bodies it received.
fn webhook(statuses: Vec<u16>) -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for status in statuses {
            let Ok((stream, _)) = listener.accept() else { return };
            let mut reader = BufReader::new(stream);
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let _ = tx.send(String::from_utf8_lossy(&body).into_owned());
            let mut stream = reader.into_inner();
            let _ = write!(stream, "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, rx)
}

#[test]
fn watch_posts_changes_to_a_webhook_and_retries_a_failed_delivery() {
    let sim = Sim::new();
    sim.guest_mem(100, 0.93);
    let (url, bodies) = webhook(vec![500, 200]);
    let r = sim.run(&["check", "guests", "--watch", "--interval", "1", "--cycles", "2", "--alert-webhook", &url, "-o", "json"]);
    r.expect_code(0);
    assert!(r.stderr.contains("not delivered, retrying"), "{}", r.stderr);
    let got: Vec<Value> = bodies.try_iter().map(|b| serde_json::from_str(&b).expect("JSON body")).collect();
    assert_eq!(got.len(), 2, "refused once, delivered on the next round: {got:?}");
    assert!(got.iter().all(|c| c["change"] == "new" && c["finding"]["subject"] == "qemu/100"));
    // stdout has the change once, as one JSON line.
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.stdout);
}
