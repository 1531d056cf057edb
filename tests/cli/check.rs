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

// ---- check_pve's other modes: each fault in the state file makes its check fire ----

/// Seconds since the epoch now (the checks judge ages by the wall clock).
fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs()
}

/// Runs `check <set> --format nagios [extra...]`, asserts the exit code, and returns stdout.
fn nagios(sim: &Sim, set: &str, extra: &[&str], code: i32) -> String {
    let mut args = vec!["check", set, "--format", "nagios"];
    args.extend_from_slice(extra);
    let r = sim.run(&args);
    assert_eq!(r.code, code, "check {set} {extra:?}: stdout {}\nstderr {}", r.stdout, r.stderr);
    r.stdout
}

/// Whether a problem line of `out` starts with `severity` and names the check and subject.
fn has_line(out: &str, severity: &str, check: &str, subject: &str) -> bool {
    out.lines().skip(1).any(|l| l.starts_with(&format!("{severity} {check} {subject}: ")))
}

#[test]
fn the_new_modes_are_ok_on_the_demo_and_missing_ceph_is_not_applicable() {
    let sim = Sim::new();
    for set in ["certs", "services", "updates", "disks", "replication", "zfs", "ceph", "snapshots", "backups"] {
        let out = nagios(&sim, set, &[], 0);
        assert!(out.starts_with(&format!("PVE {} OK - ", set.to_uppercase())), "{out}");
    }
    let j = sim.run(&["check", "ceph", "-o", "json"]);
    j.expect_code(0);
    let f = &j.json()["findings"][0];
    assert_eq!((f["severity"].as_str(), f["subject"].as_str()), (Some("ok"), Some("ceph")));
    assert!(f["message"].as_str().is_some_and(|m| m.starts_with("not applicable: ")), "{f}");
    // Without a zpool tool a node's ZFS check is skipped, not failed.
    sim.edit(|v| v["health"]["nodes"]["pve2"]["zfs"] = Value::Null);
    let out = sim.run(&["check", "zfs", "-o", "json"]);
    out.expect_code(0);
    let skipped = out.json()["findings"].as_array().expect("findings").iter().find(|f| f["subject"] == "pve2").cloned().expect("pve2");
    assert!(skipped["message"].as_str().is_some_and(|m| m.starts_with("skipped: ")), "{skipped}");
}

#[test]
fn an_expiring_certificate_warns_then_goes_critical_also_in_all() {
    let sim = Sim::new();
    let expire_in = |days: u64| sim.edit(|v| v["health"]["nodes"]["pve2"]["certificates"][1]["notafter"] = (now() + days * 86_400).into());
    expire_in(20);
    let out = nagios(&sim, "certs", &[], 1);
    assert!(has_line(&out, "WARNING", "cert-expiry", "pve-ssl.pem@pve2"), "{out}");
    nagios(&sim, "certs", &["--warn", "cert-days=10"], 0);
    expire_in(3);
    let out = nagios(&sim, "all", &[], 2);
    assert!(has_line(&out, "CRITICAL", "cert-expiry", "pve-ssl.pem@pve2"), "{out}");
}

#[test]
fn a_failed_service_is_critical_in_services_and_all() {
    let sim = Sim::new();
    sim.edit(|v| {
        let list = v["health"]["nodes"]["pve1"]["services"].as_array_mut().expect("services");
        let s = list.iter_mut().find(|s| s["service"] == "pveproxy").expect("pveproxy");
        s["active-state"] = "failed".into();
        s["state"] = "failed".into();
    });
    let out = nagios(&sim, "services", &[], 2);
    assert!(has_line(&out, "CRITICAL", "service", "pveproxy@pve1"), "{out}");
    assert!(has_line(&nagios(&sim, "all", &[], 2), "CRITICAL", "service", "pveproxy@pve1"));
}

#[test]
fn pending_updates_warn_naming_the_node() {
    let sim = Sim::new();
    sim.edit(|v| {
        v["health"]["nodes"]["pve3"]["updates"] = serde_json::json!([
            {"Package": "pve-manager", "Title": "Proxmox VE manager", "Origin": "Proxmox", "Version": "9.1.5", "OldVersion": "9.1.4",
             "Arch": "amd64", "Section": "admin", "Priority": "optional", "Description": "d"},
            {"Package": "libc6", "Title": "GNU C Library", "Origin": "Debian", "Version": "2.41-12", "OldVersion": "2.41-11",
             "Arch": "amd64", "Section": "libs", "Priority": "optional", "Description": "d"}
        ]);
    });
    let out = nagios(&sim, "updates", &[], 1);
    assert!(has_line(&out, "WARNING", "updates", "pve3"), "{out}");
    assert!(out.contains("'updates_pve3'=2;1;50;0;"), "perfdata: {out}");
    nagios(&sim, "updates", &["--crit", "updates=2"], 2);
}

#[test]
fn a_failed_disk_is_critical_and_low_wearout_warns() {
    let sim = Sim::new();
    sim.edit(|v| v["health"]["nodes"]["pve2"]["disks"][1]["wearout"] = 15.into());
    let out = nagios(&sim, "disks", &[], 1);
    assert!(has_line(&out, "WARNING", "disk-wear", "/dev/nvme1n1@pve2"), "{out}");
    sim.edit(|v| v["health"]["nodes"]["pve1"]["disks"][0]["health"] = "FAILED!".into());
    let out = nagios(&sim, "disks", &[], 2);
    assert!(has_line(&out, "CRITICAL", "disk-health", "/dev/nvme0n1@pve1"), "{out}");
}

#[test]
fn a_failing_replication_job_warns_then_goes_critical() {
    let sim = Sim::new();
    let fail = |count: u64| {
        sim.edit(|v| {
            v["health"]["replication"] = serde_json::json!([{
                "id": "101-0", "guest": 101, "jobnum": 0, "target": "pve2", "type": "local", "schedule": "*/15",
                "source": "pve1", "last_sync": now() - 7_200, "last_try": now() - 300, "fail_count": count, "duration": 2.5,
                "error": "command 'zfs snapshot rpool/data/vm-101-disk-0@__replicate_101-0_1767225600__' failed: exit code 1"
            }]);
        });
    };
    fail(1);
    let out = nagios(&sim, "replication", &[], 1);
    assert!(has_line(&out, "WARNING", "replication", "101-0"), "{out}");
    fail(3);
    assert!(has_line(&nagios(&sim, "replication", &[], 2), "CRITICAL", "replication", "101-0"));
    fail(0);
    nagios(&sim, "replication", &[], 0);
}

#[test]
fn a_degraded_zpool_warns_and_a_faulted_one_is_critical() {
    let sim = Sim::new();
    sim.edit(|v| v["health"]["nodes"]["pve2"]["zfs"][0]["health"] = "DEGRADED".into());
    assert!(has_line(&nagios(&sim, "zfs", &[], 1), "WARNING", "zfs-pool", "rpool@pve2"));
    sim.edit(|v| v["health"]["nodes"]["pve2"]["zfs"][0]["health"] = "FAULTED".into());
    assert!(has_line(&nagios(&sim, "all", &[], 2), "CRITICAL", "zfs-pool", "rpool@pve2"));
}

#[test]
fn ceph_health_warn_and_err() {
    let sim = Sim::new();
    let ceph = |status: &str| {
        sim.edit(|v| {
            v["health"]["ceph"] = serde_json::json!({"status": status, "checks": {
                "OSD_DOWN": {"severity": "HEALTH_WARN", "message": "1 osds down", "count": 1}
            }});
        });
    };
    ceph("HEALTH_WARN");
    let out = nagios(&sim, "ceph", &[], 1);
    assert!(has_line(&out, "WARNING", "ceph", "ceph"), "{out}");
    assert!(out.contains("OSD_DOWN"), "{out}");
    ceph("HEALTH_ERR");
    nagios(&sim, "ceph", &[], 2);
    ceph("HEALTH_OK");
    nagios(&sim, "ceph", &[], 0);
}

#[test]
fn an_old_snapshot_fires_against_the_snapshot_age_threshold() {
    let sim = Sim::new();
    sim.edit(|v| {
        for g in v["guests"].as_array_mut().expect("guests") {
            let old = g["vmid"] == 109;
            for s in g["snapshots"].as_array_mut().into_iter().flatten() {
                s["snaptime"] = (now() - if old { 40 } else { 1 } * 86_400).into();
            }
        }
    });
    nagios(&sim, "snapshots", &[], 0);
    let out = nagios(&sim, "snapshots", &["--warn", "snapshot-age=30", "--crit", "snapshot-age=60"], 1);
    assert!(has_line(&out, "WARNING", "snapshot-age", "lxc/109"), "{out}");
    assert_eq!(out.lines().count(), 2, "only 109 is old: {out}");
    let out = nagios(&sim, "snapshots", &["--warn", "snapshot-age=30", "--crit", "snapshot-age=35"], 2);
    assert!(has_line(&out, "CRITICAL", "snapshot-age", "lxc/109"), "{out}");
}

#[test]
fn a_failed_run_of_a_backup_job_is_critical_naming_job_node_and_upid() {
    let sim = Sim::new();
    let start = now() - 3_600;
    let upid = format!("UPID:pve1:00005A00:00130000:{start:08X}:vzdump::root@pam:");
    let task = serde_json::json!({
        "upid": upid, "endtime": start + 300, "exitstatus": "job errors",
        "log": [
            "INFO: starting new backup job: vzdump 100 101 102 105 --mode snapshot --notes-template '{{guestname}}' --compress zstd --storage nas --quiet 1",
            "INFO: Starting Backup of VM 100 (qemu)",
            "ERROR: Backup of VM 101 failed - VM is locked (snapshot)",
            "INFO: Backup job finished with errors",
            "TASK ERROR: job errors"
        ]
    });
    sim.edit(|v| v["tasks"].as_array_mut().expect("tasks").push(task));
    let out = nagios(&sim, "backups", &[], 2);
    assert!(has_line(&out, "CRITICAL", "backup-last-run", "backup-5ac3d1e0-8b2f@pve1"), "{out}");
    let line = out.lines().find(|l| l.contains("backup-last-run")).expect("the line");
    assert!(line.contains(&upid) && line.contains("job errors"), "{line}");
    // A manual backup of other guests is not a run of the job.
    sim.edit(|v| {
        let tasks = v["tasks"].as_array_mut().expect("tasks");
        let t = tasks.last_mut().expect("the task");
        t["log"][0] = "INFO: starting new backup job: vzdump 101 --storage nas --mode snapshot".into();
    });
    nagios(&sim, "backups", &[], 0);
}

#[test]
fn updates_need_sys_modify_so_a_read_only_token_gets_unknown_but_all_stays_ok() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = crate::support::SimServer::start(&dir.path().join("state.json"), &dir.path().join("sim.log"));
    let (id, secret) = token_file(dir.path(), 1);
    let run = |set: &str| {
        Pvectl::new()
            .env("PVECTL_CONFIG", dir.path().join("none.toml"))
            .args(["-t", &server.url, "--fingerprint", &server.fingerprint, "--token-id", &id, "--token-secret-file"])
            .arg_path(&secret)
            .args(["check", set, "--format", "nagios"])
            .run()
    };
    let r = run("updates");
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(has_line(&r.stdout, "UNKNOWN", "updates", "pve1") && r.stdout.contains("Sys.Modify"), "{}", r.stdout);
    let r = run("all");
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

#[test]
fn the_new_modes_read_through_pvesh_too() {
    let tools = crate::support::SimTools::new();
    let run = |args: &[&str]| {
        tools.apply(Pvectl::new()).env("PVECTL_CONFIG", tools.dir.path().join("none.toml")).args(["-t", "local"]).args(args).run()
    };
    let r = run(&["check", "all", "--format", "nagios"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // pvesh's `die` for a node without Ceph is "not applicable" as over REST.
    let r = run(&["check", "ceph", "-o", "json"]);
    r.expect_code(0);
    assert!(
        r.json()["findings"][0]["message"].as_str().is_some_and(|m| m.starts_with("not applicable: binary not installed")),
        "{}",
        r.stdout
    );
    let r = run(&["check", "certs", "--format", "nagios"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("'cert_days_pve-ssl.pem@pve3'="), "{}", r.stdout);
    // One `/nodes` read serves every set of a run: `all` reads it as often as `backups` alone
    // (whose backup listing reads it once more itself), not once per set.
    let node_reads = |set: &str| {
        tools.clear_log();
        run(&["check", set, "--format", "nagios"]).expect_code(0);
        tools.calls().iter().filter(|c| c.get(2).map(String::as_str) == Some("/nodes")).count()
    };
    assert_eq!(node_reads("certs"), 1);
    assert_eq!(node_reads("all"), node_reads("backups"));
}

#[test]
fn an_offline_node_is_unknown_to_a_mode_alone_and_reported_once_in_all() {
    let sim = Sim::new();
    sim.edit(|v| v["nodes"][2]["online"] = false.into());
    let out = nagios(&sim, "certs", &[], 3);
    assert!(has_line(&out, "UNKNOWN", "cert-expiry", "pve3"), "{out}");
    let out = nagios(&sim, "all", &[], 2);
    assert!(!out.contains("not checked"), "the cluster set names pve3 offline, no per-mode noise: {out}");
}
