//! Parity: the same read and action scenarios through REST (`pve-sim serve --tls`, pinned
//! fingerprint, API token) and through pvesh over the loopback sshd, on equal starting states,
//! give identical `-o json` output, UPIDs and timestamps aside.

use std::sync::LazyLock;

use serde_json::Value;

use crate::cli::{over_ssh, runtime_dir, sshd_for};
use crate::support::{Pvectl, SimServer, SimTools};

/// Replaces what legitimately differs between two runs: UPIDs, and times taken from the clock.
fn normalise(v: &mut Value) {
    match v {
        Value::String(s) if s.starts_with("UPID:") => *s = "UPID".into(),
        // A migration log line starts with the task's start time (`2026-01-01 12:00:00 `).
        Value::String(s) if is_log_stamp(s) => s.replace_range(..19, "TIME"),
        Value::String(s) if s.contains("(duration ") => *s = s.split("(duration ").next().unwrap_or_default().to_owned(),
        // HA status entries end with Perl's `localtime()` of the read (`Tue Dec  1 16:39:36 2026`).
        Value::String(s) if LOCALTIME.is_match(s) => *s = LOCALTIME.replace_all(s, "TIME").into_owned(),
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if matches!(
                    k.as_str(),
                    "snaptime" | "starttime" | "endtime" | "uptime" | "pid" | "duration" | "duration_s" | "time" | "timestamp"
                ) && !x.is_null()
                {
                    *x = Value::from("time");
                } else {
                    normalise(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(normalise),
        _ => {}
    }
}

static LOCALTIME: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}").expect("a valid regex"));

/// `YYYY-MM-DD HH:MM:SS ` at the start.
fn is_log_stamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 19
        && b[..19].iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

/// Runs `scenario` through pvesh over the loopback sshd and through REST, each from a fresh
/// demo state, and compares each step's exit code and normalised JSON.
fn ssh_and_rest_agree(scenario: &[(&[&str], i32)]) {
    let ssh_tools = SimTools::new();
    let sshd = sshd_for(&ssh_tools, &[]);
    let rt = runtime_dir();
    let rest_dir = tempfile::tempdir().expect("temp dir");
    let server = SimServer::start(&rest_dir.path().join("state.json"), &rest_dir.path().join("calls.log"));
    let (token_id, secret_file) = SimServer::root_token(rest_dir.path());
    for (args, code) in scenario {
        let a =
            over_ssh(&sshd.ssh_target(), &sshd.config_path(), &rt).env("PVECTL_AUDIT_LOG", "off").args(*args).args(["-o", "json"]).run();
        assert_eq!(a.code, *code, "{args:?}: {}", a.stderr);
        let b = Pvectl::new()
            .env("PVECTL_AUDIT_LOG", "off")
            .args(["-t", &server.url, "--fingerprint", &server.fingerprint, "--token-id", &token_id, "--token-secret-file"])
            .arg_path(&secret_file)
            .args(*args)
            .args(["-o", "json"])
            .run();
        assert_eq!(a.code, b.code, "{args:?}: exit codes\nssh: {}\nrest: {}", a.stderr, b.stderr);
        if a.stdout.trim().is_empty() {
            assert!(b.stdout.trim().is_empty(), "{args:?}");
            continue;
        }
        let (mut ja, mut jb) = (a.json(), b.json());
        normalise(&mut ja);
        normalise(&mut jb);
        assert_eq!(ja, jb, "{args:?}: same JSON over ssh/pvesh and REST");
    }
}

/// Migrate, resize and ip from the same fresh state: the reports (nodes before and after,
/// the migration log's summary, the sizes) and the interfaces agree.
#[test]
fn migrate_resize_and_ip_agree_over_rest_and_pvesh_over_ssh() {
    ssh_and_rest_agree(&[
        (&["guest", "migrate", "103", "pve2", "--yes"], 0),
        (&["guest", "resize", "103", "scsi0", "+2G", "--yes"], 0),
        (&["guest", "resize", "103", "scsi0", "1G", "--yes"], 6),
        (&["guest", "migrate", "100", "pve3", "--yes"], 6),
        (&["guest", "ip", "100"], 0),
        (&["guest", "ip", "102"], 0),
        (&["guest", "ip", "104"], 6),
        (&["guest", "status", "103"], 0),
    ]);
}

/// Storage content, one pool and the HA status read the same over `-t sim` (in process, the
/// same state file), pvesh over sshd and REST.
#[test]
fn storage_pool_and_ha_reads_agree_over_sim_ssh_and_rest() {
    let tools = SimTools::new();
    let sshd = sshd_for(&tools, &[]);
    let rt = runtime_dir();
    let server = SimServer::start(&tools.state(), &tools.log());
    let (id, secret) = pvectl::backend::sim::DEMO_TOKENS[0];
    for args in [&["storage", "content", "local", "--content", "iso"][..], &["pool", "show", "prod"], &["ha", "status"]] {
        let ssh = over_ssh(&sshd.ssh_target(), &sshd.config_path(), &rt).args(args).args(["-o", "json"]).run();
        ssh.expect_code(0);
        let rest = Pvectl::new()
            .env("PROXMOX_TOKEN_ID", id)
            .env("PROXMOX_TOKEN_SECRET", secret)
            .args(["-t", &server.url, "--fingerprint", &server.fingerprint])
            .args(args)
            .args(["-o", "json"])
            .run();
        rest.expect_code(0);
        let sim = Pvectl::new().env("PVE_SIM_STATE", tools.state()).args(["-t", "sim"]).args(args).args(["-o", "json"]).run();
        sim.expect_code(0);
        let (mut js, mut jr, mut jm) = (ssh.json(), rest.json(), sim.json());
        for j in [&mut js, &mut jr, &mut jm] {
            normalise(j);
        }
        assert_ne!(js, Value::Array(Vec::new()), "{args:?}: something to compare");
        assert_eq!(jr, jm, "{args:?}: REST and -t sim");
        assert_eq!(jr, js, "{args:?}: REST and pvesh over ssh");
    }
}

const SCENARIO: &[&[&str]] = &[
    &["guest", "list"],
    &["guest", "status", "100"],
    &["guest", "config", "102"],
    &["snapshot", "list", "100"],
    &["node", "list"],
    &["storage", "list"],
    &["cluster", "status"],
    &["guest", "shutdown", "100", "--yes"],
    &["guest", "start", "103"],
    &["guest", "start", "103"],
    &["guest", "stop", "101", "--yes"],
    &["snapshot", "create", "102", "parity1", "--description", "a \"b\"; $(c)"],
    &["snapshot", "rollback", "102", "parity1", "--yes"],
    &["snapshot", "delete", "102", "parity1", "--yes"],
    &["guest", "status", "102"],
    &["guest", "status", "4242"],
    &["guest", "list"],
];

#[test]
fn rest_and_pvesh_over_ssh_give_identical_json() {
    let ssh_tools = SimTools::new();
    let sshd = sshd_for(&ssh_tools, &[]);
    let rt = runtime_dir();
    let rest_dir = tempfile::tempdir().expect("temp dir");
    let server = SimServer::start(&rest_dir.path().join("state.json"), &rest_dir.path().join("calls.log"));
    let (token_id, secret_file) = SimServer::root_token(rest_dir.path());
    for args in SCENARIO {
        let a =
            over_ssh(&sshd.ssh_target(), &sshd.config_path(), &rt).env("PVECTL_AUDIT_LOG", "off").args(*args).args(["-o", "json"]).run();
        let b = Pvectl::new()
            .env("PVECTL_AUDIT_LOG", "off")
            .args(["-t", &server.url, "--fingerprint", &server.fingerprint, "--token-id", &token_id, "--token-secret-file"])
            .arg_path(&secret_file)
            .args(*args)
            .args(["-o", "json"])
            .run();
        assert_eq!(a.code, b.code, "{args:?}: exit codes\nssh: {}\nrest: {}", a.stderr, b.stderr);
        if a.stdout.trim().is_empty() {
            assert!(b.stdout.trim().is_empty(), "{args:?}");
            continue;
        }
        let (mut ja, mut jb) = (a.json(), b.json());
        normalise(&mut ja);
        normalise(&mut jb);
        assert_eq!(ja, jb, "{args:?}: same JSON over ssh/pvesh and REST");
    }
}

#[test]
fn guest_list_over_https_equals_sim_and_ssh_for_the_same_state() {
    let tools = SimTools::new();
    let sshd = sshd_for(&tools, &[]);
    let rt = runtime_dir();
    let ssh = over_ssh(&sshd.ssh_target(), &sshd.config_path(), &rt).args(["guest", "list", "-o", "json"]).run();
    ssh.expect_code(0);
    // The same state file behind the REST face and the in-process simulator.
    let server = SimServer::start(&tools.state(), &tools.log());
    let (id, secret) = pvectl::backend::sim::DEMO_TOKENS[0];
    let rest = Pvectl::new()
        .env("PROXMOX_TOKEN_ID", id)
        .env("PROXMOX_TOKEN_SECRET", secret)
        .args(["-t", &server.url, "--fingerprint", &server.fingerprint, "guest", "list", "-o", "json"])
        .run();
    rest.expect_code(0);
    let sim = Pvectl::new().env("PVE_SIM_STATE", tools.state()).args(["-t", "sim", "guest", "list", "-o", "json"]).run();
    assert_eq!(rest.json(), sim.json());
    assert_eq!(rest.json(), ssh.json());
    assert!(!format!("{}{}", rest.stdout, rest.stderr).contains(secret));
}

#[test]
fn bad_token_exits_4_and_403_names_path_and_privilege_without_leaking_secrets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = SimServer::start(&dir.path().join("state.json"), &dir.path().join("calls.log"));
    let run = |id: &str, secret: &str, args: &[&str]| {
        Pvectl::new()
            .env("PROXMOX_TOKEN_ID", id)
            .env("PROXMOX_TOKEN_SECRET", secret)
            .env("PVECTL_AUDIT_LOG", dir.path().join("audit.log"))
            .args(["-t", &server.url, "--fingerprint", &server.fingerprint, "-v"])
            .args(args)
            .run()
    };
    let wrong = "11111111-2222-4333-8444-555555555555";
    let mut seen = String::new();
    // `-v` traces each call on stderr: `pvectl: Rest(<endpoint>, <token id>) GET <url> ... -> ...`.
    let traced = |stderr: &str, id: &str, method: &str, path: &str| {
        let wanted = format!("pvectl: Rest({url}, {id}) {method} {url}/api2/json{path}", url = server.url);
        assert!(stderr.lines().any(|l| l.starts_with(&wanted)), "no trace {wanted:?} in: {stderr}");
    };
    let r = run("root@pam!pvectl", wrong, &["guest", "list", "-o", "json"]);
    seen.push_str(&r.stdout);
    seen.push_str(&r.stderr);
    r.expect_code(4);
    traced(&r.stderr, "root@pam!pvectl", "GET", "/cluster/resources");
    assert!(r.stderr.contains("Authentication failed!"), "{}", r.stderr);
    let (ro, ro_secret) = pvectl::backend::sim::DEMO_TOKENS[1];
    let r = run(ro, ro_secret, &["guest", "shutdown", "100", "--yes", "-o", "json"]);
    seen.push_str(&r.stdout);
    seen.push_str(&r.stderr);
    r.expect_code(4);
    assert!(r.stderr.contains("Permission check failed (/vms/100, VM.PowerMgmt)"), "{}", r.stderr);
    traced(&r.stderr, ro, "POST", "/nodes/pve1/qemu/100/status/shutdown");
    // The auditor may read, not migrate (the precondition read needs `VM.Migrate` too), resize
    // or run commands in a guest (PVE 9's `VM.GuestAgent.Unrestricted`).
    for (args, want) in [
        (&["guest", "migrate", "103", "pve2", "--yes"][..], "(/vms/103, VM.Migrate)"),
        (&["guest", "resize", "103", "scsi0", "+1G", "--yes"], "(/vms/103, VM.Config.Disk)"),
        (&["guest", "exec", "100", "--yes", "--", "true"], "(/vms/100, VM.GuestAgent.Unrestricted)"),
    ] {
        let r = run(ro, ro_secret, args);
        seen.push_str(&r.stderr);
        r.expect_code(4);
        assert!(r.stderr.contains(&format!("Permission check failed {want}")), "{args:?}: {}", r.stderr);
    }
    let (empty, empty_secret) = pvectl::backend::sim::DEMO_TOKENS[2];
    let r = run(empty, empty_secret, &["guest", "list", "-o", "json"]);
    seen.push_str(&r.stdout);
    seen.push_str(&r.stderr);
    r.expect_code(0);
    assert_eq!(r.json(), serde_json::json!([]), "a privilege-separated token without ACLs sees nothing");
    traced(&r.stderr, empty, "GET", "/cluster/resources");
    let r = run(empty, empty_secret, &["ha", "status", "-o", "json"]);
    seen.push_str(&r.stderr);
    r.expect_code(4);
    assert!(r.stderr.contains("Permission check failed (/, Sys.Audit)"), "{}", r.stderr);
    seen.push_str(&std::fs::read_to_string(dir.path().join("audit.log")).unwrap_or_default());
    seen.push_str(&std::fs::read_to_string(dir.path().join("calls.log")).unwrap_or_default());
    assert!(!seen.contains("PVEAPIToken"), "the Authorization header leaked");
    for secret in [wrong, ro_secret, empty_secret] {
        assert!(!seen.contains(secret), "secret leaked");
    }
}

/// Replaces, besides what [`normalise`] does, what a backup's clock gives it: the timestamp in
/// an archive's name (`vzdump-qemu-103-2026_05_09-15_43_57.vma`), its `ctime`, and durations.
fn normalise_backup(v: &mut Value) {
    fn walk(v: &mut Value, stamp: &regex::Regex) {
        match v {
            Value::String(s) => *s = stamp.replace_all(s, "STAMP").into_owned(),
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if matches!(k.as_str(), "ctime" | "duration") && !x.is_null() {
                        *x = Value::from("time");
                    } else {
                        walk(x, stamp);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, stamp)),
            _ => {}
        }
    }
    let stamp = regex::Regex::new(r"\d{4}_\d{2}_\d{2}-\d{2}_\d{2}_\d{2}").expect("regex");
    normalise(v);
    walk(v, &stamp);
}

/// Back up a guest, restore it to a new vmid, clone it, set metadata on the clone, delete the
/// clone: the same `-o json` over pvesh through the real sshd and over REST, from the same
/// fresh state. Each side restores the archive its own backup made.
#[test]
fn backup_restore_clone_set_delete_give_identical_json_over_rest_and_pvesh() {
    let ssh_tools = SimTools::new();
    let sshd = sshd_for(&ssh_tools, &[]);
    let rt = runtime_dir();
    let rest_dir = tempfile::tempdir().expect("temp dir");
    let server = SimServer::start(&rest_dir.path().join("state.json"), &rest_dir.path().join("calls.log"));
    let (token_id, secret_file) = SimServer::root_token(rest_dir.path());
    let ssh = |args: &[&str]| {
        over_ssh(&sshd.ssh_target(), &sshd.config_path(), &rt).env("PVECTL_AUDIT_LOG", "off").args(args).args(["-o", "json"]).run()
    };
    let rest = |args: &[&str]| {
        Pvectl::new()
            .env("PVECTL_AUDIT_LOG", "off")
            .args(["-t", &server.url, "--fingerprint", &server.fingerprint, "--token-id", &token_id, "--token-secret-file"])
            .arg_path(&secret_file)
            .args(args)
            .args(["-o", "json"])
            .run()
    };
    // Runs one step on both sides (each with its own arguments) and compares; returns both JSONs.
    let step = |a_args: &[&str], b_args: &[&str]| {
        let (a, b) = (ssh(a_args), rest(b_args));
        assert_eq!((a.code, b.code), (0, 0), "{a_args:?}\nssh: {}\nrest: {}", a.stderr, b.stderr);
        let (ja, jb) = (a.json(), b.json());
        let (mut na, mut nb) = (ja.clone(), jb.clone());
        normalise_backup(&mut na);
        normalise_backup(&mut nb);
        assert_eq!(na, nb, "{a_args:?}: same JSON over ssh/pvesh and REST");
        (ja, jb)
    };
    let both = |args: &[&str]| step(args, args);
    let volid = |j: &Value| j["details"]["guests"][0]["volid"].as_str().expect("the archive's volid").to_owned();

    let (ja, jb) = both(&["backup", "create", "103", "--storage", "local"]);
    assert_eq!(ja["details"]["guests"][0]["status"], "ok", "{ja}");
    let (va, vb) = (volid(&ja), volid(&jb));
    let (ja, _) = step(&["backup", "restore", &va, "--vmid", "4100", "--start"], &["backup", "restore", &vb, "--vmid", "4100", "--start"]);
    assert_eq!(ja["after"]["status"], "running", "{ja}");
    both(&["guest", "clone", "103", "4101", "--name", "parity-clone"]);
    let (ja, _) = both(&["guest", "set", "4101", "--description", "parity: \"quoted\"; $(not run)", "--tags", "parity"]);
    assert_eq!(ja["changed"], true, "{ja}");
    let (ja, _) = both(&["guest", "delete", "4101", "--yes"]);
    assert_eq!(ja["after"]["status"], "deleted", "{ja}");
    both(&["guest", "status", "4100"]);
    both(&["backup", "list", "--vmid", "103"]);
}
