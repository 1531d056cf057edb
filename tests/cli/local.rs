//! `pvectl -t local` with the `pve-sim` tools first on `PATH`: the command backend in both
//! modes, the number of tool invocations, and hostile input.

use crate::support::{Pvectl, SimTools};

#[test]
fn local_pvesh_matches_in_process_sim_with_one_call() {
    let tools = SimTools::new();
    let local = tools.apply(Pvectl::new()).args(["-t", "local", "guest", "list", "-o", "json"]).run();
    local.expect_code(0);
    assert_eq!(tools.calls(), vec![vec!["pvesh", "get", "/cluster/resources", "--output-format", "json", "--type", "vm"]]);
    // The same state through the in-process simulator.
    let sim = Pvectl::new().env("PVE_SIM_STATE", tools.state()).args(["-t", "sim", "guest", "list", "-o", "json"]).run();
    sim.expect_code(0);
    assert_eq!(local.json(), sim.json());
}

#[test]
fn local_qm_pct_mode_reads_the_same_guests_of_its_node() {
    let tools = SimTools::new();
    let all = tools.apply(Pvectl::new()).args(["-t", "local", "guest", "list", "-o", "json"]).run().json();
    let node = all[0]["node"].as_str().expect("node").to_owned();
    tools.clear_log();
    let r = tools
        .apply(Pvectl::new())
        .env("PVE_SIM_NODE", &node)
        .args(["-t", "local", "--tools", "qm-pct", "guest", "list", "-o", "json"])
        .run();
    r.expect_code(0);
    let got = r.json();
    let expected: Vec<_> = all.as_array().expect("array").iter().filter(|g| g["node"] == node.as_str()).collect();
    let got = got.as_array().expect("array");
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        for f in ["vmid", "node", "kind"] {
            assert_eq!(g[f], e[f], "field {f}");
        }
        if g["kind"] == "qemu" {
            assert_eq!(g["maxmem"], e["maxmem"], "qm list MEM(MB) gives maxmem");
        }
        assert_eq!(g["name"], e["name"]);
        // qm list shows the QEMU run state; /cluster/resources running/stopped.
        assert!(g["status"] == e["status"] || e["status"] == "running", "{g} vs {e}");
    }
    let tools_run: Vec<String> = tools.calls().iter().map(|c| c[0].clone()).collect();
    assert!(tools_run.iter().all(|t| ["qm", "pct", "hostname"].contains(&t.as_str())), "only qm/pct/hostname ran: {tools_run:?}");
}

#[test]
fn hostile_api_arguments_arrive_as_one_argument_each() {
    let tools = SimTools::new();
    let hostile = "x y'z\";w $(touch /tmp/pvectl-pwned) `id`";
    let path = format!("/nodes/{hostile}");
    let r = tools.apply(Pvectl::new()).args(["-t", "local", "api", "get", &path, &format!("description={hostile}")]).run();
    assert_ne!(r.code, 0, "no such path");
    let calls = tools.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0], vec!["pvesh", "get", &path, "--output-format", "json", "--description", hostile]);
    assert!(!std::path::Path::new("/tmp/pvectl-pwned").exists());
}

#[test]
fn invalid_identifiers_run_nothing() {
    let tools = SimTools::new();
    for args in [
        vec!["guest", "status", "100; reboot"],
        vec!["node", "status", "pve1$(id)"],
        vec!["task", "status", "UPID:x y"],
        vec!["api", "get", "relative/path"],
        vec!["api", "get", "/nodes", "bad key=v"],
    ] {
        let r = tools.apply(Pvectl::new()).args(["-t", "local"]).args(&args).run();
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
    }
    assert!(tools.calls().is_empty(), "nothing ran: {:?}", tools.calls());
}

#[test]
fn unknown_vmid_exits_5_over_pvesh() {
    let tools = SimTools::new();
    let r = tools.apply(Pvectl::new()).args(["-t", "local", "guest", "config", "4242", "-o", "json"]).run();
    r.expect_code(5);
    let r = tools.apply(Pvectl::new()).args(["-t", "local", "guest", "config", "4242", "--node", "pve1", "--kind", "qemu"]).run();
    r.expect_code(5);
    assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
}

#[test]
fn doctor_skips_what_qm_pct_cannot_do_and_fails_without_the_tools() {
    let tools = SimTools::new();
    let r = tools.apply(Pvectl::new()).env("PVE_SIM_NODE", "pve1").args(["-t", "local", "--tools", "qm-pct", "doctor", "-o", "json"]).run();
    r.expect_code(0);
    let results: Vec<String> =
        r.json()["checks"].as_array().expect("array").iter().map(|c| format!("{}={}", c["check"], c["result"])).collect();
    assert_eq!(results, ["\"version\"=\"skipped\"", "\"nodes\"=\"ok\"", "\"guests\"=\"ok\"", "\"tasks\"=\"skipped\""]);
    // No pvesh anywhere on PATH: the first check fails as a transport error.
    let empty = tempfile::tempdir().expect("temp dir");
    let r = Pvectl::new().env("PATH", empty.path()).args(["-t", "local", "doctor", "-o", "json"]).run();
    r.expect_code(9);
    assert_eq!(r.json()["checks"][0]["result"], "failed");
}
