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
    let all = all.as_array().expect("array");
    // The simulator's own state (data, not parsed by pvectl): each qemu guest's QEMU run state.
    let state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(tools.state()).expect("state")).expect("json");
    let qmpstatus = |vmid: &serde_json::Value| -> Option<String> {
        let g = state["guests"].as_array().expect("guests").iter().find(|g| &g["vmid"] == vmid).expect("in the state");
        g["qmpstatus"].as_str().map(str::to_owned)
    };
    let mut nodes: Vec<&str> = all.iter().map(|g| g["node"].as_str().expect("node")).collect();
    nodes.sort_unstable();
    nodes.dedup();
    let mut paused = 0;
    for node in nodes {
        tools.clear_log();
        let r = tools
            .apply(Pvectl::new())
            .env("PVE_SIM_NODE", node)
            .args(["-t", "local", "--tools", "qm-pct", "guest", "list", "-o", "json"])
            .run();
        r.expect_code(0);
        let got = r.json();
        let expected: Vec<_> = all.iter().filter(|g| g["node"] == node).collect();
        let got = got.as_array().expect("array");
        assert_eq!(got.len(), expected.len(), "{node}");
        for (g, e) in got.iter().zip(&expected) {
            for f in ["vmid", "node", "kind", "name"] {
                assert_eq!(g[f], e[f], "field {f}");
            }
            if g["kind"] == "qemu" {
                assert_eq!(g["maxmem"], e["maxmem"], "qm list MEM(MB) gives maxmem");
            }
            // qm list shows the QEMU run state of a running VM; /cluster/resources running/stopped.
            let want = match (g["kind"].as_str(), e["status"].as_str()) {
                (Some("qemu"), Some("running")) => qmpstatus(&e["vmid"]).expect("a running VM has a QEMU run state"),
                (_, status) => status.expect("status").to_owned(),
            };
            assert_eq!(g["status"], want.as_str(), "{g} vs {e}");
            paused += usize::from(want == "paused");
        }
        let tools_run: Vec<String> = tools.calls().iter().map(|c| c[0].clone()).collect();
        assert!(tools_run.iter().all(|t| ["qm", "pct", "hostname"].contains(&t.as_str())), "only qm/pct/hostname ran: {tools_run:?}");
    }
    assert!(paused > 0, "a paused VM was among them (the demo's 104)");
}

#[test]
fn hostile_api_arguments_arrive_as_one_argument_each() {
    let tools = SimTools::new();
    let hostile = "x y'z\";w $(touch /tmp/pvectl-pwned) `id`";
    let path = format!("/nodes/{hostile}");
    let r = tools.apply(Pvectl::new()).args(["-t", "local", "-o", "json", "api", "get", &path, &format!("description={hostile}")]).run();
    // The path reaches pvesh as one argument and comes back verbatim in its error: exit 5.
    assert_eq!(r.code, 5, "{}", r.stderr);
    let e: serde_json::Value = serde_json::from_str(&r.stderr).expect("a JSON error");
    assert_eq!((e["error"]["kind"].as_str(), e["error"]["exit_code"].as_i64()), (Some("not_found"), Some(5)), "{e}");
    assert_eq!(e["error"]["message"], format!("No 'get' handler defined for '{path}'"));
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
    assert_eq!(
        results,
        ["\"version\"=\"skipped\"", "\"nodes\"=\"ok\"", "\"guests\"=\"ok\"", "\"tasks\"=\"skipped\"", "\"permissions\"=\"skipped\""]
    );
    // No pvesh anywhere on PATH: the first check fails as a transport error.
    let empty = tempfile::tempdir().expect("temp dir");
    let r = Pvectl::new().env("PATH", empty.path()).args(["-t", "local", "doctor", "-o", "json"]).run();
    r.expect_code(9);
    assert_eq!(r.json()["checks"][0]["result"], "failed");
}

#[test]
fn unknown_upid_exits_5_on_every_backend() {
    // A well-formed UPID of a task pve1 never ran: PVE answers its status with 400 `upid: no
    // such task` and its log with one line `unable to open file - ...` (pve-manager
    // `PVE/API2/Tasks.pm`); pvectl reports both as not found.
    const UNKNOWN: &str = "UPID:pve1:00000001:00000001:00000001:qmstart:100:root@pam:";
    let tools = SimTools::new();
    let server = crate::support::SimServer::start(&tools.state(), &tools.log());
    let (token_id, secret_file) = crate::support::SimServer::root_token(tools.dir.path());
    let pvectl = |face: &str| match face {
        "sim" => Pvectl::new().env("PVE_SIM_STATE", tools.state()).args(["-t", "sim"]),
        "local pvesh" => tools.apply(Pvectl::new()).args(["-t", "local"]),
        _ => Pvectl::new()
            .args(["-t", &server.url, "--fingerprint", &server.fingerprint, "--token-id", &token_id, "--token-secret-file"])
            .arg_path(&secret_file),
    };
    for face in ["sim", "local pvesh", "rest"] {
        for verb in ["status", "log"] {
            let r = pvectl(face).args(["task", verb, UNKNOWN, "-o", "json"]).run();
            assert_eq!(r.code, 5, "{face} task {verb}: stdout {}\nstderr {}", r.stdout, r.stderr);
            let e: serde_json::Value = serde_json::from_str(r.stderr.trim()).expect("a JSON error");
            assert_eq!(e["error"]["kind"], "not_found", "{face} task {verb}");
            assert!(r.stdout.is_empty(), "{face} task {verb}: no data on stdout");
        }
    }
}
