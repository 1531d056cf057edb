//! `pvectl guest diagnose` through the binary on the in-process simulator.

use crate::support::Pvectl;

fn sim(state: &std::path::Path, args: &[&str]) -> crate::support::Run {
    Pvectl::new().env("PVE_SIM_STATE", state).args(["-t", "sim"]).args(args).run()
}

#[test]
fn a_guest_locked_by_a_running_backup_names_the_task_and_how_to_wait() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state.json");
    let r = sim(&state, &["guest", "diagnose", "106", "-o", "json"]);
    r.expect_code(0);
    let d = r.json();
    assert_eq!(d["lock"], "backup");
    let f = &d["findings"][0];
    assert_eq!(f["code"], "locked-by-task", "{d}");
    assert_eq!(f["severity"], "critical");
    let next = f["next"][0].as_str().expect("a next command");
    let upid = next.strip_prefix("pvectl task wait ").unwrap_or_else(|| panic!("a task wait: {next}"));
    assert!(upid.starts_with("UPID:pve2:") && upid.contains(":vzdump:106:"), "{upid}");
    let message = f["message"].as_str().expect("message");
    assert!(message.contains(upid) && message.contains("running on pve2"), "{message}");
    // The task named is the one holding the lock: still running.
    let status = sim(&state, &["task", "status", upid, "-o", "json"]).json();
    assert_eq!(status["status"], "running", "{status}");

    let t = sim(&state, &["guest", "diagnose", "106", "-o", "table"]);
    t.expect_code(0);
    assert!(t.stdout.contains(&format!("wait with `pvectl task wait {upid}`")), "{}", t.stdout);
}

#[test]
fn a_missing_guest_exits_5() {
    let dir = tempfile::tempdir().expect("temp dir");
    sim(&dir.path().join("state.json"), &["guest", "diagnose", "98765", "-o", "json"]).expect_code(5);
}
