//! Deadlines and the no-change guarantee (DESIGN.md §3, §5) against `pve-sim` tools that hang
//! (`faults.hang`): a hanging read ends at `--timeout` with exit 9 and nothing sent; a hang
//! after the change was sent is exit 8 with the UPID, and the audit log holds the intent and
//! an `unknown` outcome; SIGTERM during the wait records `unknown` too.
//!
//! The 5 s bounds are what the contract promises for a 3 s deadline (the tool and the child it
//! left holding stdout are killed as a group), not a speed measurement.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Pvectl, Run, SimTools};

/// Seeds the state file (one read) and sets `faults.hang`.
fn with_hang(tools: &SimTools, hang: Value) {
    with_fault(tools, "hang", hang);
}

/// Seeds the state file (one read) and sets `faults.<kind>`.
fn with_fault(tools: &SimTools, kind: &str, fault: Value) {
    tools.apply(Pvectl::new()).args(["-t", "local", "node", "list"]).run().expect_code(0);
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(tools.state()).expect("state")).expect("JSON state");
    v["faults"][kind] = fault;
    std::fs::write(tools.state(), v.to_string()).expect("write state");
    tools.clear_log();
}

fn audit_records(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log).unwrap_or_default().lines().map(|l| serde_json::from_str(l).expect("audit line is JSON")).collect()
}

fn timed(p: Pvectl) -> (Run, Duration) {
    let start = Instant::now();
    let r = p.run();
    (r, start.elapsed())
}

fn sent(tools: &SimTools) -> usize {
    tools.calls().iter().filter(|c| c[0] == "pvesh" && c[1] != "get").count()
}

#[test]
fn a_hanging_read_ends_at_the_deadline_with_exit_9_and_nothing_sent() {
    let tools = SimTools::new();
    with_hang(&tools, json!([{"path": "/cluster/resources", "child": true}]));
    for args in [vec!["guest", "list"], vec!["guest", "start", "103"]] {
        let (r, took) = timed(tools.apply(Pvectl::new()).args(["-t", "local", "--timeout", "3", "-o", "json"]).args(&args));
        r.expect_code(9);
        assert!(took < Duration::from_secs(5), "{args:?} took {took:?}");
        let e: Value = serde_json::from_str(r.stderr.trim()).expect("JSON error");
        assert!(e["error"]["message"].as_str().is_some_and(|m| m.contains("timed out after 3 s")), "{e}");
    }
    assert_eq!(sent(&tools), 0, "{:?}", tools.calls());
}

#[test]
fn a_hang_after_the_change_was_sent_is_exit_8_with_the_upid_and_an_unknown_outcome() {
    let tools = SimTools::new();
    let log = tools.dir.path().join("audit.log");
    // `pvesh create` waits for its worker in the foreground: a task that outlasts the deadline.
    with_fault(&tools, "tasks", json!([{"vmid": 103, "action": "start", "outcome": "hang", "seconds": 3600}]));
    let (r, took) = timed(tools.apply(Pvectl::new()).env("PVECTL_AUDIT_LOG", &log).args([
        "-t",
        "local",
        "--timeout",
        "3",
        "guest",
        "start",
        "103",
        "-o",
        "json",
    ]));
    r.expect_code(8);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(sent(&tools), 1, "{:?}", tools.calls());
    let upid = r.json()["task"]["upid"].as_str().expect("the report names the task").to_owned();
    assert!(upid.starts_with("UPID:pve1:"), "{upid}");
    let e: Value = serde_json::from_str(r.stderr.trim()).expect("JSON error");
    assert_eq!(e["error"]["kind"], "outcome_unknown");
    assert!(e["error"]["message"].as_str().is_some_and(|m| m.contains(&format!("pvectl task wait {upid}"))), "{e}");
    let recs = audit_records(&log);
    let kinds: Vec<&str> = recs.iter().filter_map(|r| r["record"].as_str()).collect();
    assert_eq!(kinds, ["intent", "outcome"], "{recs:?}");
    assert_eq!((&recs[1]["outcome"], &recs[1]["upid"]), (&json!("unknown"), &json!(upid)));
}

#[test]
fn sigterm_while_waiting_records_unknown_and_exits_8() {
    let tools = SimTools::new();
    let log = tools.dir.path().join("audit.log");
    with_fault(&tools, "tasks", json!([{"vmid": 103, "action": "start", "outcome": "hang", "seconds": 3600}]));
    let child = tools
        .apply(Pvectl::new())
        .env("PVECTL_AUDIT_LOG", &log)
        .args(["-t", "local", "--timeout", "120", "guest", "start", "103", "-o", "json"])
        .command()
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("pvectl starts");
    // Wait (bounded) until the change was sent: `pvesh create` waits for the task.
    let until = Instant::now() + Duration::from_secs(60);
    while sent(&tools) == 0 {
        assert!(Instant::now() < until, "the change was never sent: {:?}", tools.calls());
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(i32::try_from(child.id()).expect("pid"), libc::SIGTERM);
    }
    let out = child.wait_with_output().expect("pvectl ends");
    assert_eq!(out.status.code(), Some(8), "{}", String::from_utf8_lossy(&out.stderr));
    let recs = audit_records(&log);
    assert_eq!(recs.iter().filter_map(|r| r["record"].as_str()).collect::<Vec<_>>(), ["intent", "outcome"]);
    assert_eq!(recs[1]["outcome"], "unknown");
    assert!(recs[1]["message"].as_str().is_some_and(|m| m.contains("signal 15")), "{}", recs[1]);
}

#[test]
fn an_lxc_suspend_ends_with_its_task() {
    // pve-container's suspend is a CRIU checkpoint that stops the container: the re-check
    // waits for `stopped`, not for a paused state lxc does not have.
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |args: &[&str]| {
        Pvectl::new().env("PVE_SIM_STATE", dir.path().join("state.json")).args(["-t", "sim", "--timeout", "30"]).args(args).run()
    };
    let r = run(&["guest", "suspend", "102", "--yes", "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!((&v["task"]["exitstatus"], &v["after"]["status"], &v["changed"]), (&json!("OK"), &json!("stopped"), &json!(true)), "{v}");
    let r = run(&["guest", "resume", "102", "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["after"]["status"], "running");
}

#[test]
fn secrets_put_where_they_do_not_belong_never_print() {
    const SECRET: &str = "0b5e3a1c-dead-beef-3333-444455556666";
    for args in [
        vec!["-t".to_owned(), "https://127.0.0.1:1".to_owned(), "--token-id".to_owned(), format!("u@pam!t={SECRET}")],
        vec!["-t".to_owned(), format!("https://root:{SECRET}@127.0.0.1:1"), "--token-id".to_owned(), "u@pam!t".to_owned()],
    ] {
        for out in ["json", "table"] {
            let r = Pvectl::new()
                .env("PROXMOX_TOKEN_SECRET", "another-secret-value")
                .args(&args)
                .args(["-o", out, "-v", "guest", "list"])
                .run();
            assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
            assert!(!r.stdout.contains(SECRET) && !r.stderr.contains(SECRET), "{args:?} leaked: {}{}", r.stdout, r.stderr);
            assert!(r.stderr.contains("***"), "the message still shows where: {}", r.stderr);
        }
    }
}

#[test]
fn timeouts_that_overflow_and_bad_flags_are_json_usage_errors() {
    for args in [
        vec!["--timeout", "18446744073709551615", "guest", "shutdown", "100", "--yes"],
        vec!["--timeout", "99999999999", "guest", "list"],
        vec!["guest", "bogus"],
        vec!["guest", "list", "--bogus"],
    ] {
        let r = Pvectl::new().env("PVE_SIM_STATE", "/nonexistent/never-written").args(["-t", "sim", "-o", "json"]).args(&args).run();
        r.expect_code(2);
        let e: Value = serde_json::from_str(r.stderr.trim()).unwrap_or_else(|e| panic!("{args:?}: not one JSON error ({e}): {}", r.stderr));
        assert_eq!((&e["error"]["kind"], &e["error"]["exit_code"]), (&json!("usage"), &json!(2)), "{args:?}");
        assert!(r.stdout.is_empty());
    }
}

#[test]
fn tables_escape_control_characters_and_json_stays_exact() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state.json");
    let run = |args: &[&str]| Pvectl::new().env("PVE_SIM_STATE", &state).args(["-t", "sim"]).args(args).run();
    run(&["node", "list"]).expect_code(0);
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&state).expect("state")).expect("JSON");
    let hostile = "web\u{1b}[2J\u{7}\rpwned";
    let guests = v["guests"].as_array_mut().expect("guests array in the sim state");
    guests[0]["name"] = json!(hostile);
    std::fs::write(&state, v.to_string()).expect("write");
    let table = run(&["guest", "list", "-o", "table"]);
    table.expect_code(0);
    assert!(!table.stdout.contains('\u{1b}') && !table.stdout.contains('\u{7}') && !table.stdout.contains('\r'), "{:?}", table.stdout);
    assert!(table.stdout.contains("web\\u{1b}[2J\\u{7}\\u{d}pwned"), "{}", table.stdout);
    let json = run(&["guest", "list", "-o", "json"]).json();
    assert!(json.as_array().expect("list").iter().any(|g| g["name"] == hostile), "JSON keeps the exact name");
}
