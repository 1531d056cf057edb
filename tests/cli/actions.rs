//! Actions through `pvectl -t sim` on a state file: safety rules, generated snapshot names,
//! raw writes, `--no-wait`, the audit log and `task log --follow`.

use serde_json::Value;

use crate::support::{Pvectl, Run};

struct Sim {
    dir: tempfile::TempDir,
}

impl Sim {
    fn new() -> Self {
        Self { dir: tempfile::tempdir().expect("temp dir") }
    }

    fn run(&self, args: &[&str]) -> Run {
        Pvectl::new()
            .env("PVE_SIM_STATE", self.dir.path().join("state.json"))
            .env("PVECTL_AUDIT_LOG", self.dir.path().join("audit.log"))
            .args(["-t", "sim"])
            .args(args)
            .run()
    }

    /// The audit records of one kind: `intent`, `outcome` or `refusal`.
    fn records(&self, kind: &str) -> Vec<Value> {
        self.audit().into_iter().filter(|r| r["record"] == kind).collect()
    }

    fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("audit.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
            .collect()
    }
}

#[test]
fn protection_refuses_destructive_actions() {
    let sim = Sim::new();
    let cfg = sim.run(&["guest", "config", "101", "-o", "json"]).json();
    assert_eq!(cfg["protection"], "1", "the demo protects 101");
    let r = sim.run(&["guest", "stop", "101", "--yes", "-o", "json"]);
    r.expect_code(10);
    assert!(r.stderr.contains("protection"), "{}", r.stderr);
    assert!(sim.records("intent").is_empty(), "nothing executed");
    let refused = sim.records("refusal");
    assert_eq!(refused.len(), 1, "the refusal is recorded");
    assert_eq!(refused[0]["vmid"], 101);
    assert_eq!(sim.run(&["guest", "status", "101", "-o", "json"]).json()["status"], "running");
}

#[test]
fn reset_does_not_exist_for_lxc() {
    let sim = Sim::new();
    let r = sim.run(&["guest", "reset", "102", "--yes"]);
    r.expect_code(2);
    assert!(r.stderr.contains("no 'reset' for lxc"), "{}", r.stderr);
    assert!(sim.audit().is_empty());
}

#[test]
fn generated_and_change_ticket_snapshot_names() {
    let sim = Sim::new();
    let r = sim.run(&["snapshot", "create", "100", "-o", "json"]);
    r.expect_code(0);
    let name = r.json()["snapshot"].as_str().expect("name").to_owned();
    assert!(regex::Regex::new(r"^pvectl-\d{8}-\d{6}$").expect("regex").is_match(&name), "{name}");
    let r = sim.run(&["snapshot", "create", "100", "--change", "CHG-7", "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["snapshot"], "change-CHG-7");
    let r = sim.run(&["snapshot", "create", "100", "--change", "CHG-7", "-o", "json"]);
    r.expect_code(6);
    assert!(r.stderr.contains("already used"), "{}", r.stderr);
    sim.run(&["snapshot", "create", "100", "bad name"]).expect_code(2);
}

#[test]
fn vmstate_is_opt_in_and_warns() {
    let sim = Sim::new();
    let r = sim.run(&["snapshot", "create", "100", "withram", "--vmstate", "-o", "json"]);
    r.expect_code(0);
    assert!(r.stderr.contains("freeze") || r.stderr.contains("frozen"), "{}", r.stderr);
    let list = sim.run(&["snapshot", "list", "100", "-o", "json"]).json();
    assert!(list.as_array().expect("array").iter().any(|s| s["name"] == "withram" && s["vmstate"] == true));
    sim.run(&["snapshot", "create", "102", "withram", "--vmstate"]).expect_code(2);
}

#[test]
fn raw_writes_take_their_actions_tier() {
    let sim = Sim::new();
    let r = sim.run(&["api", "create", "/nodes/pve1/qemu/100/status/stop", "-o", "json"]);
    r.expect_code(3);
    assert_eq!(r.json()["plan"]["tier"], "destructive");
    let r = sim.run(&["api", "create", "/nodes/pve1/qemu/103/status/start", "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["task"]["exitstatus"], "OK");
    assert_eq!(sim.run(&["guest", "status", "103", "-o", "json"]).json()["status"], "running");
    let audit = sim.audit();
    assert_eq!(audit.len(), 2, "an intent and its outcome");
    assert_eq!((&audit[0]["record"], &audit[0]["action"], &audit[0]["tier"]), (&"intent".into(), &"api create".into(), &"change".into()));
    assert_eq!(audit[0]["call"], "POST /nodes/pve1/qemu/103/status/start");
    assert_eq!((&audit[1]["record"], &audit[1]["outcome"], &audit[1]["intent"]), (&"outcome".into(), &"ok".into(), &audit[0]["seq"]));
    assert!(audit[1]["upid"].is_string());
}

#[test]
fn no_wait_returns_the_upid_at_once_and_task_wait_finishes() {
    let sim = Sim::new();
    let r = sim.run(&["guest", "stop", "100", "--yes", "--no-wait", "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["task"]["status"], "running");
    assert!(v["after"].is_null());
    let upid = v["task"]["upid"].as_str().expect("upid").to_owned();
    let w = sim.run(&["task", "wait", &upid, "-o", "json"]);
    w.expect_code(0);
    assert_eq!(w.json()["status"], "stopped");
    let f = sim.run(&["task", "log", &upid, "--follow", "-o", "table"]);
    f.expect_code(0);
    assert_eq!(f.stdout.lines().last(), Some("TASK OK"), "{}", f.stdout);
}

#[test]
fn wrong_state_is_a_conflict() {
    let sim = Sim::new();
    sim.run(&["guest", "reboot", "103", "--yes"]).expect_code(6);
    sim.run(&["guest", "resume", "103"]).expect_code(6);
    let r = sim.run(&["guest", "resume", "100", "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["changed"], false, "a running guest is already resumed");
    let r = sim.run(&["guest", "shutdown", "103", "--yes", "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["changed"], false);
}

#[test]
fn start_of_a_paused_guest_gives_one_answer_both_ways() {
    // 104 is paused in the demo: /cluster/resources says `running`, status/current `paused`.
    let sim = Sim::new();
    for args in
        [vec!["guest", "start", "104", "-o", "json"], vec!["guest", "start", "104", "--node", "pve2", "--kind", "qemu", "-o", "json"]]
    {
        let r = sim.run(&args);
        r.expect_code(6);
        let e: Value = serde_json::from_str(r.stderr.trim()).expect("JSON error");
        assert!(e["error"]["message"].as_str().is_some_and(|m| m.contains("paused") && m.contains("resume")), "{args:?}: {e}");
    }
    assert!(sim.audit().is_empty(), "nothing sent");
}
