//! Backups, restore, clone, delete and config changes through the binary (issue 8's
//! contract): over the in-process sim with a state file, and over `-t local` with the
//! `pve-sim` tools where the call log must prove that nothing was sent.

use serde_json::{Value, json};

use crate::support::{Pvectl, Run, SimTools};

/// `pvectl -t sim` on a state file of its own.
struct Sim {
    dir: tempfile::TempDir,
}

impl Sim {
    fn new() -> Self {
        Self { dir: tempfile::tempdir().expect("temp dir") }
    }

    fn run(&self, args: &[&str]) -> Run {
        Pvectl::new().env("PVE_SIM_STATE", self.dir.path().join("state.json")).args(["-t", "sim", "-o", "json"]).args(args).run()
    }

    fn error(r: &Run) -> Value {
        serde_json::from_str(r.stderr.trim()).unwrap_or_else(|e| panic!("not one JSON error ({e}): {}", r.stderr))
    }

    /// Adds task faults to the state (seeding it first).
    fn fail_tasks(&self, faults: Value) {
        self.run(&["node", "list"]).expect_code(0);
        let path = self.dir.path().join("state.json");
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("state")).expect("JSON");
        v["faults"]["tasks"] = faults;
        std::fs::write(&path, v.to_string()).expect("write state");
    }
}

fn mutating(tools: &SimTools) -> Vec<Vec<String>> {
    tools
        .calls()
        .into_iter()
        .filter(|c| match c.first().map(String::as_str) {
            Some("pvesh") => c.get(1).is_some_and(|v| v != "get"),
            Some("qm" | "pct") => c.get(1).is_some_and(|v| !["list", "status", "config", "listsnapshot", "pending"].contains(&v.as_str())),
            Some("vzdump" | "qmrestore") => true,
            _ => false,
        })
        .collect()
}

#[test]
fn backup_then_list_then_restore_to_a_new_vmid_and_refuse_the_old_one() {
    let sim = Sim::new();
    let r = sim.run(&["backup", "create", "100", "--storage", "nas"]);
    r.expect_code(0);
    let v = r.json();
    let g = &v["details"]["guests"][0];
    assert_eq!((&g["vmid"], &g["status"]), (&json!(100), &json!("ok")), "{v}");
    let volid = g["volid"].as_str().expect("the archive's volid").to_owned();
    assert!(volid.starts_with("nas:backup/vzdump-qemu-100-"), "{volid}");
    let listed = sim.run(&["backup", "list", "--vmid", "100"]).json();
    assert_eq!(listed[0]["volid"], volid.as_str(), "newest first: {listed}");

    let r = sim.run(&["backup", "restore", &volid, "--vmid", "120", "--start"]);
    r.expect_code(0);
    assert_eq!(r.json()["after"]["status"], "running");
    assert_eq!(sim.run(&["guest", "status", "120"]).json()["status"], "running");

    let r = sim.run(&["backup", "restore", &volid]);
    r.expect_code(6);
    assert_eq!(Sim::error(&r)["error"]["message"], "unable to restore VM 100 - VM 100 already exists on node 'pve1'");
    let r = sim.run(&["backup", "restore", &volid, "--force"]);
    r.expect_code(3);
    assert_eq!(r.json()["plan"]["tier"], "destructive");
}

#[test]
fn a_backup_job_with_one_failed_guest_exits_7_naming_it_and_keeps_the_other() {
    let sim = Sim::new();
    sim.fail_tasks(json!([{"vmid": 102, "action": "vzdump", "outcome": "fail", "message": "command 'lxc-freeze' failed: exit code 1"}]));
    let r = sim.run(&["backup", "create", "100", "102", "--storage", "nas"]);
    r.expect_code(7);
    let e = Sim::error(&r);
    let m = e["error"]["message"].as_str().expect("message");
    assert!(m.contains("job errors") && m.contains("VM 102 failed - command 'lxc-freeze' failed: exit code 1"), "{m}");
    let v = r.json();
    let guests = v["details"]["guests"].as_array().expect("guests");
    let ok = guests.iter().find(|g| g["vmid"] == 100).expect("100 in the report");
    assert_eq!(ok["status"], "ok");
    let listed = sim.run(&["backup", "list", "--vmid", "100"]).json();
    assert_eq!(listed[0]["volid"], ok["volid"], "the good guest's archive is listed");
    assert!(sim.run(&["backup", "list", "--vmid", "102"]).json().as_array().expect("list").iter().all(|b| b["volid"] != Value::Null));
}

#[test]
fn clone_a_template_and_refuse_a_linked_clone_of_a_vm_before_any_call() {
    let tools = SimTools::new();
    let run =
        |args: &[&str]| tools.apply(Pvectl::new()).env("PVECTL_AUDIT_LOG", "off").args(["-t", "local", "-o", "json"]).args(args).run();
    let r = run(&["guest", "clone", "9000", "130", "--name", "web-new"]);
    r.expect_code(0);
    let s = run(&["guest", "status", "130"]).json();
    let template = run(&["guest", "status", "9000"]).json();
    assert_eq!((&s["name"], &s["lock"], &s["node"]), (&json!("web-new"), &Value::Null, &template["node"]), "{s}");
    tools.clear_log();
    let r = run(&["guest", "clone", "100", "131", "--linked"]);
    r.expect_code(6);
    assert!(mutating(&tools).is_empty(), "{:?}", mutating(&tools));
    // delete: protected 10, running 6 with PVE's words, both sending nothing; then 130 goes.
    let r = run(&["guest", "delete", "101", "--yes"]);
    r.expect_code(10);
    let r = run(&["guest", "delete", "100", "--yes"]);
    r.expect_code(6);
    assert_eq!(Sim::error(&r)["error"]["message"], "VM 100 is running - destroy failed");
    assert!(mutating(&tools).is_empty(), "{:?}", mutating(&tools));
    run(&["guest", "delete", "130", "--yes"]).expect_code(0);
    run(&["guest", "status", "130"]).expect_code(5);
}

#[test]
fn set_passes_the_config_digest_and_shows_old_and_new() {
    let tools = SimTools::new();
    let run =
        |args: &[&str]| tools.apply(Pvectl::new()).env("PVECTL_AUDIT_LOG", "off").args(["-t", "local", "-o", "json"]).args(args).run();
    let digest = run(&["api", "get", "/nodes/pve1/qemu/100/config"]).json()["digest"].as_str().expect("digest").to_owned();
    tools.clear_log();
    let r = run(&["guest", "set", "100", "--memory", "4096", "--yes"]);
    r.expect_code(0);
    let sent = mutating(&tools);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let call = &sent[0];
    assert_eq!(&call[..3], ["pvesh", "set", "/nodes/pve1/qemu/100/config"]);
    let at = call.iter().position(|a| a == "--digest").expect("--digest passed");
    assert_eq!(call[at + 1], digest);
    let v = r.json();
    assert_eq!(v["details"]["changes"]["memory"], json!({"old": "2048", "new": "4096"}));
    // The guest runs: memory waits for its next start, and the report says so.
    assert_eq!(v["details"]["pending"]["memory"]["pending"], "4096");
    // Metadata only is tier change; memory is destructive (it needed --yes).
    assert_eq!(run(&["guest", "set", "100", "--tags", "prod;web;x", "--dry-run"]).json()["plan"]["tier"], "change");
    assert_eq!(run(&["guest", "set", "100", "--cores", "4", "--dry-run"]).json()["plan"]["tier"], "destructive");
}

#[test]
fn hostile_notes_names_and_templates_arrive_as_one_argument() {
    let tools = SimTools::new();
    let hostile = "x'; rm -rf / #$(id) `id` \"q\"";
    let run =
        |args: &[&str]| tools.apply(Pvectl::new()).env("PVECTL_AUDIT_LOG", "off").args(["-t", "local", "-o", "json"]).args(args).run();
    run(&["backup", "create", "103", "--storage", "nas", "--notes", hostile]).expect_code(0);
    run(&["guest", "clone", "9000", "140", "--name", "web-x", "--description", hostile]).expect_code(0);
    let tpl = format!("local:vztmpl/{hostile}.tar.zst");
    let r = run(&["guest", "create", "--kind", "lxc", "--node", "pve1", "--vmid", "141", "--ostemplate", &tpl, "--hostname", "ct1"]);
    assert_ne!(r.code, 0, "no such template");
    let calls = tools.calls();
    assert!(calls.iter().any(|c| c.iter().any(|a| a == hostile)), "notes and description passed verbatim: {calls:?}");
    assert!(calls.iter().any(|c| c.contains(&tpl)), "the template path passed verbatim: {calls:?}");
}

#[test]
fn unlock_shows_the_lock_it_clears_and_a_password_never_shows() {
    let sim = Sim::new();
    sim.run(&["node", "list"]).expect_code(0);
    let path = sim.dir.path().join("state.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("state")).expect("JSON");
    let g = v["guests"].as_array_mut().expect("guests").iter_mut().find(|g| g["vmid"] == 103).expect("103");
    g["lock"] = json!("backup");
    std::fs::write(&path, v.to_string()).expect("write");
    let plan = sim.run(&["guest", "unlock", "103"]);
    plan.expect_code(3);
    assert_eq!(plan.json()["plan"]["before"]["lock"], "backup");
    let r = sim.run(&["guest", "unlock", "103", "--yes"]);
    r.expect_code(0);
    assert_eq!(r.json()["after"]["lock"], Value::Null);
    assert_eq!(sim.run(&["guest", "unlock", "103"]).json()["changed"], false);

    let pw = sim.dir.path().join("pw");
    std::fs::write(&pw, "S3cret-Passw0rd!\n").expect("write");
    std::fs::set_permissions(&pw, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let args = ["guest", "create", "--kind", "lxc", "--node", "pve1", "--vmid", "150", "--ostemplate"];
    let tpl = "local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst";
    let dry = sim.run(&[&args[..], &[tpl, "--hostname", "ct150", "--password-file", pw.to_str().expect("utf-8"), "--dry-run"]].concat());
    dry.expect_code(0);
    assert!(!dry.stdout.contains("S3cret") && dry.stdout.contains("password=***"), "{}", dry.stdout);
    let made = sim.run(&[&args[..], &[tpl, "--hostname", "ct150", "--password-file", pw.to_str().expect("utf-8")]].concat());
    made.expect_code(0);
    assert!(!made.stdout.contains("S3cret") && !made.stderr.contains("S3cret"));
    assert!(!std::fs::read_to_string(&path).expect("state").contains("S3cret"), "PVE stores no password");
    assert_eq!(sim.run(&["guest", "status", "150"]).json()["status"], "stopped");
}
