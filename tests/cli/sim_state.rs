//! `-t sim` remembers between runs (the user's state directory), `pvectl sim reset` starts
//! over, `pvectl sim fault ...` injects what the next run sees; `PVE_SIM_STATE` still wins.

use crate::support::{Pvectl, SimHome};

fn status_of(home: &SimHome, vmid: &str) -> String {
    let r = home.pvectl().args(["-t", "sim", "-o", "json", "guest", "status", vmid]).run();
    r.expect_code(0);
    r.json()["status"].as_str().expect("status").to_owned()
}

#[test]
fn a_started_guest_is_still_running_in_the_next_run_until_sim_reset() {
    let home = SimHome::new();
    assert_eq!(status_of(&home, "103"), "stopped", "the demo's 103 is stopped");
    let r = home.pvectl().args(["-t", "sim", "-o", "json", "guest", "start", "103"]).run();
    r.expect_code(0);
    assert_eq!(r.json()["changed"], true);
    assert_eq!(status_of(&home, "103"), "running", "a second process sees the first one's change");
    assert!(home.state_file().exists(), "kept in $XDG_STATE_HOME/pvectl/sim.json");

    let dry = home.pvectl().args(["sim", "reset", "--dry-run", "-o", "json"]).run();
    dry.expect_code(0);
    assert_eq!(dry.json()["dry_run"], true);
    assert_eq!(status_of(&home, "103"), "running", "--dry-run changes nothing");
    let reset = home.pvectl().args(["sim", "reset", "-o", "json"]).run();
    reset.expect_code(0);
    assert_eq!(reset.json()["state_file"], home.state_file().display().to_string());
    assert_eq!(status_of(&home, "103"), "stopped", "reset brings back the demo");
}

#[test]
fn the_state_directory_is_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let home = SimHome::new();
    home.pvectl().args(["-t", "sim", "-o", "json", "node", "list"]).run().expect_code(0);
    let dir = home.state_file().parent().expect("dir").to_path_buf();
    assert_eq!(std::fs::metadata(&dir).expect("dir").permissions().mode() & 0o777, 0o700);
    assert_eq!(std::fs::metadata(home.state_file()).expect("file").permissions().mode() & 0o777, 0o600);
}

#[test]
fn an_injected_lock_is_seen_by_the_next_run_and_clear_removes_it() {
    let home = SimHome::new();
    let dry = home.pvectl().args(["sim", "fault", "lock", "103", "backup", "--dry-run", "-o", "json"]).run();
    dry.expect_code(0);
    assert!(dry.json()["locked"].as_array().expect("locked").iter().any(|l| l["vmid"] == 103), "shows the lock it would set");
    home.pvectl().args(["-t", "sim", "-o", "json", "guest", "start", "103"]).run().expect_code(0);
    home.pvectl().args(["sim", "fault", "lock", "100", "backup"]).run().expect_code(0);
    let r = home.pvectl().args(["-t", "sim", "-o", "json", "guest", "start", "100"]).run();
    r.expect_code(6);
    assert!(r.stderr.contains("locked (backup)"), "names the lock: {}", r.stderr);
    let shown = home.pvectl().args(["sim", "show", "-o", "json"]).run();
    shown.expect_code(0);
    assert!(shown.json()["locked"].as_array().expect("locked").iter().any(|l| l["vmid"] == 100 && l["lock"] == "backup"));

    home.pvectl().args(["sim", "fault", "clear", "lock"]).run().expect_code(0);
    home.pvectl().args(["-t", "sim", "-o", "json", "guest", "start", "100", "--yes"]).run().expect_code(0);
}

#[test]
fn failing_and_warning_tasks_are_injected_with_typed_arguments() {
    let home = SimHome::new();
    home.pvectl().args(["sim", "fault", "task-fail", "103", "--action", "start", "--message", "kvm: boom", "--once"]).run().expect_code(0);
    let r = home.pvectl().args(["-t", "sim", "-o", "json", "guest", "start", "103"]).run();
    r.expect_code(7);
    assert!(r.stderr.contains("kvm: boom"), "PVE's task error: {}", r.stderr);
    // --once: consumed by that task.
    home.pvectl().args(["sim", "fault", "task-warn", "103", "--action", "start", "--count", "2"]).run().expect_code(0);
    let r = home.pvectl().args(["-t", "sim", "-o", "json", "guest", "start", "103"]).run();
    r.expect_code(0);
    assert_eq!(r.json()["task"]["warnings"], 2, "{}", r.stdout);

    let bad = home.pvectl().args(["sim", "fault", "task-fail", "103", "--action", "strat"]).run();
    bad.expect_code(2);
    let missing = home.pvectl().args(["sim", "fault", "lock", "999", "backup"]).run();
    missing.expect_code(5);
}

#[test]
fn an_offline_node_and_a_hanging_call_fail_the_next_run_as_transport_errors() {
    let home = SimHome::new();
    home.pvectl().args(["sim", "fault", "node-offline", "pve3"]).run().expect_code(0);
    let r = home.pvectl().args(["-t", "sim", "-o", "json", "node", "status", "pve3"]).run();
    r.expect_code(9);
    assert!(r.stderr.contains("595"), "{}", r.stderr);
    home.pvectl().args(["sim", "fault", "clear", "node-offline"]).run().expect_code(0);
    home.pvectl().args(["-t", "sim", "-o", "json", "node", "status", "pve3"]).run().expect_code(0);

    home.pvectl().args(["sim", "fault", "hang", "/cluster/resources"]).run().expect_code(0);
    let r = home.pvectl().args(["-t", "sim", "-o", "json", "--timeout", "1", "guest", "list"]).run();
    r.expect_code(9);
    home.pvectl().args(["sim", "fault", "clear"]).run().expect_code(0);
    home.pvectl().args(["-t", "sim", "-o", "json", "guest", "list"]).run().expect_code(0);
}

#[test]
fn agent_down_and_latency_are_stored_in_the_existing_fault_fields() {
    let home = SimHome::new();
    home.pvectl().args(["sim", "fault", "agent-down", "100"]).run().expect_code(0);
    let r = home.pvectl().args(["-t", "sim", "-o", "json", "guest", "ip", "100"]).run();
    assert_ne!(r.code, 0, "agent down: {}", r.stdout);
    assert!(r.stderr.contains("QEMU guest agent is not running"), "{}", r.stderr);
    home.pvectl().args(["sim", "fault", "latency", "5"]).run().expect_code(0);
    let state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(home.state_file()).expect("state")).expect("json");
    assert_eq!(state["faults"]["agent_down"], serde_json::json!([100]));
    assert_eq!(state["faults"]["latency_ms"], 5);
    let lxc = home.pvectl().args(["sim", "fault", "agent-down", "102"]).run();
    lxc.expect_code(2);
}

#[test]
fn two_concurrent_runs_lose_no_change() {
    let home = SimHome::new();
    let spawn = |vmid: &str, name: &str| {
        home.pvectl()
            .args(["-t", "sim", "-o", "json", "snapshot", "create", vmid, name])
            .command()
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawns")
    };
    let (mut a, mut b) = (spawn("100", "from-a"), spawn("101", "from-b"));
    assert!(a.wait().expect("a").success() && b.wait().expect("b").success());
    for (vmid, name) in [("100", "from-a"), ("101", "from-b")] {
        let list = home.pvectl().args(["-t", "sim", "-o", "json", "snapshot", "list", vmid]).run();
        list.expect_code(0);
        assert!(list.json().as_array().expect("list").iter().any(|s| s["name"] == name), "{vmid} has {name}: {}", list.stdout);
    }
}

#[test]
fn pve_sim_state_wins_over_the_user_state_directory() {
    let home = SimHome::new();
    let other = tempfile::tempdir().expect("dir");
    let file = other.path().join("state.json");
    home.pvectl().env("PVE_SIM_STATE", &file).args(["-t", "sim", "-o", "json", "guest", "start", "103"]).run().expect_code(0);
    assert!(file.exists() && !home.state_file().exists(), "the named file, not the user's");
    assert_eq!(status_of(&home, "103"), "stopped", "the user's state did not change");
    let shown = home.pvectl().env("PVE_SIM_STATE", &file).args(["sim", "show", "-o", "json"]).run();
    assert_eq!(shown.json()["source"], "PVE_SIM_STATE");
}

#[test]
fn a_damaged_state_file_names_sim_reset_which_repairs_it() {
    let home = SimHome::new();
    std::fs::create_dir_all(home.state_file().parent().expect("dir")).expect("mkdir");
    std::fs::write(home.state_file(), "{ not a state").expect("write");
    let r = home.pvectl().args(["-t", "sim", "-o", "json", "node", "list"]).run();
    r.expect_code(1);
    assert!(r.stderr.contains("pvectl sim reset"), "{}", r.stderr);
    home.pvectl().args(["sim", "reset"]).run().expect_code(0);
    home.pvectl().args(["-t", "sim", "-o", "json", "node", "list"]).run().expect_code(0);
}

#[test]
fn the_test_helpers_never_touch_the_users_state_directory() {
    // HOME points at an empty directory: a run that fell back to ~/.local/state would write there.
    let fake_home = tempfile::tempdir().expect("dir");
    let r = Pvectl::new().env("HOME", fake_home.path()).args(["-t", "sim", "-o", "json", "guest", "start", "103"]).run();
    r.expect_code(0);
    assert!(!fake_home.path().join(".local").exists(), "the helper's XDG_STATE_HOME was used, not HOME");
    // And each helper run starts from the demo.
    let again = Pvectl::new().args(["-t", "sim", "-o", "json", "guest", "status", "103"]).run();
    assert_eq!(again.json()["status"], "stopped");
}

#[test]
fn slow_calls_slow_tasks_and_denials_reach_the_next_run() {
    let home = SimHome::new();
    // Slow calls: with every call 5 s late, a read with a 1 s deadline ends as a transport error.
    home.pvectl().args(["sim", "fault", "latency", "5000"]).run().expect_code(0);
    home.pvectl().args(["-t", "sim", "-o", "json", "--timeout", "1", "node", "list"]).run().expect_code(9);
    home.pvectl().args(["sim", "fault", "latency", "0"]).run().expect_code(0);
    // A slow task: the start is sent, the deadline comes first: exit 8 with the UPID to resume.
    home.pvectl().args(["sim", "fault", "task-slow", "103", "600", "--action", "start"]).run().expect_code(0);
    let r = home.pvectl().args(["-t", "sim", "-o", "json", "--timeout", "1", "guest", "start", "103"]).run();
    r.expect_code(8);
    assert!(r.stderr.contains("UPID:"), "names the UPID to resume with: {}", r.stderr);
    // A denied privilege: 403, exit 4; the listing hides the guest, so without --node/--kind it is not found.
    home.pvectl().args(["sim", "fault", "deny", "/vms/101", "VM.Audit"]).run().expect_code(0);
    home.pvectl().args(["-t", "sim", "-o", "json", "guest", "status", "101", "--node", "pve1", "--kind", "qemu"]).run().expect_code(4);
    home.pvectl().args(["-t", "sim", "-o", "json", "guest", "status", "101"]).run().expect_code(5);
    home.pvectl().args(["sim", "fault", "clear", "deny"]).run().expect_code(0);
    home.pvectl().args(["-t", "sim", "-o", "json", "guest", "status", "101"]).run().expect_code(0);
}

#[test]
fn faults_written_by_sim_fault_reach_the_pve_sim_tools_sharing_the_file() {
    // `PVE_SIM_STATE` names the tools' file: `sim fault` writes there, `-t local` (pvesh on
    // PATH = pve-sim) sees it.
    let tools = crate::support::SimTools::new();
    let with_tools = |p: Pvectl| tools.apply(p);
    with_tools(Pvectl::new()).args(["sim", "fault", "lock", "103", "migrate"]).run().expect_code(0);
    let r = with_tools(Pvectl::new()).args(["-t", "local", "-o", "json", "guest", "start", "103"]).run();
    r.expect_code(6);
    assert!(r.stderr.contains("locked (migrate)"), "{}", r.stderr);
    // Slow calls reach the tools too: every pvesh call 5 s late, a 1 s read deadline ends it.
    with_tools(Pvectl::new()).args(["sim", "fault", "latency", "5000"]).run().expect_code(0);
    with_tools(Pvectl::new()).args(["-t", "local", "-o", "json", "--timeout", "1", "node", "list"]).run().expect_code(9);
    with_tools(Pvectl::new()).args(["sim", "fault", "clear"]).run().expect_code(0);
    with_tools(Pvectl::new()).args(["-t", "local", "-o", "json", "node", "list"]).run().expect_code(0);
}
