//! Power actions on several guests: vmids, names and selectors, one consent for all plans,
//! one result per guest, the most severe part's exit code.

use serde_json::Value;

use crate::support::Pvectl;

struct Sim(tempfile::TempDir);

impl Sim {
    fn new() -> Self {
        Self(tempfile::tempdir().expect("temp dir"))
    }

    fn run(&self, args: &[&str]) -> crate::support::Run {
        Pvectl::new().env("PVE_SIM_STATE", self.0.path().join("state.json")).args(["-t", "sim"]).args(args).run()
    }

    fn status(&self, vmid: &str) -> Value {
        self.run(&["guest", "status", vmid, "-o", "json"]).json()["status"].clone()
    }
}

fn parts(v: &Value) -> Vec<(u64, bool)> {
    v.as_array().expect("an array").iter().map(|p| (p["guest"].as_u64().expect("guest"), p["ok"] == true)).collect()
}

#[test]
fn several_guests_need_one_consent_and_report_each() {
    let sim = Sim::new();
    let refused = sim.run(&["guest", "shutdown", "100", "db01", "-o", "json"]);
    refused.expect_code(3);
    let v = refused.json();
    assert_eq!(parts(&v), [(100, false), (101, false)]);
    assert!(v[0]["plan"]["digest"].is_string(), "each plan is shown: {v}");
    assert_eq!(sim.status("100"), "running", "nothing was sent");

    let done = sim.run(&["guest", "shutdown", "100", "db01", "--yes", "-o", "json"]);
    done.expect_code(0);
    let v = done.json();
    assert_eq!(parts(&v), [(100, true), (101, true)]);
    assert_eq!(v[1]["report"]["action"], "shutdown");
    assert_eq!(sim.status("101"), "stopped");
}

#[test]
fn a_selector_acts_on_every_match_and_never_claims_nothing_was_sent_after_a_change() {
    let sim = Sim::new();
    // prod: 100, 101 (protected: stop is refused, exit 10) and 105. 100 and 105 were stopped,
    // so the run cannot exit 10 ("nothing was sent"): it exits 8, and each entry says what it did.
    let r = sim.run(&["guest", "stop", "--tag", "prod", "--parallel", "2", "--yes", "-o", "json"]);
    r.expect_code(8);
    let v = r.json();
    assert_eq!(parts(&v), [(100, true), (101, false), (105, true)]);
    assert_eq!(v[1]["error"]["exit_code"], 10);
    assert_eq!(sim.status("105"), "stopped");
    assert_eq!(sim.status("101"), "running");
}

#[test]
fn one_named_guest_keeps_the_single_report_and_an_ambiguous_name_lists_the_candidates() {
    let sim = Sim::new();
    let one = sim.run(&["guest", "shutdown", "web01", "--yes", "-o", "json"]);
    one.expect_code(0);
    assert_eq!(one.json()["target"]["vmid"], 100, "one report object");

    sim.run(&["guest", "set", "108", "name=web01", "--yes"]).expect_code(0);
    let amb = sim.run(&["guest", "start", "web01", "-o", "json"]);
    amb.expect_code(2);
    assert!(amb.stderr.contains("100 (qemu on pve1)") && amb.stderr.contains("108 (qemu on pve3)"), "{}", amb.stderr);
    sim.run(&["guest", "start"]).expect_code(2);
}

/// Reads name a guest as actions do: by vmid or by its unique name (DESIGN §3).
#[test]
fn reads_take_a_unique_name_as_well_as_a_vmid() {
    let sim = Sim::new();
    for args in [&["guest", "status"][..], &["guest", "config"], &["guest", "pending"], &["snapshot", "list"]] {
        let by_vmid = sim.run(&[args, &["100", "-o", "json"]].concat());
        by_vmid.expect_code(0);
        let by_name = sim.run(&[args, &["web01", "-o", "json"]].concat());
        by_name.expect_code(0);
        assert_eq!(by_name.json(), by_vmid.json(), "{args:?}: the name reads the same guest");
    }
    let missing = sim.run(&["guest", "status", "nosuchguest", "-o", "json"]);
    missing.expect_code(5);
    assert!(missing.stderr.contains("no guest is named 'nosuchguest'"), "{}", missing.stderr);
    sim.run(&["guest", "status", "web01", "--node", "pve2", "-o", "json"]).expect_code(5);
    // Not a vmid and not a DNS name: a usage error before any read, for reads and actions.
    sim.run(&["guest", "config", "web01;reboot", "-o", "json"]).expect_code(2);
    sim.run(&["guest", "start", "web01 x", "-o", "json"]).expect_code(2);

    sim.run(&["guest", "set", "108", "name=web01", "--yes"]).expect_code(0);
    let amb = sim.run(&["guest", "config", "web01", "-o", "json"]);
    amb.expect_code(2);
    assert!(amb.stderr.contains("100 (qemu on pve1)") && amb.stderr.contains("108 (qemu on pve3)"), "{}", amb.stderr);
}
