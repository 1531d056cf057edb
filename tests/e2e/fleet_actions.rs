//! Fleet actions over real transports (DESIGN.md §3 "Several targets or guests"): every
//! target of `@lab` (REST on `pve-sim serve`, SSH on the loopback sshd) makes its plan, all
//! plans are shown, consent is asked once, each target applies its own, and the run reports
//! one element per target with the exit code of the most severe part.

use serde_json::Value;

use crate::fleet::Lab;

/// The parts of a fleet action's output, checked to name `rest` then `ssh`.
fn parts(v: &Value) -> Vec<Value> {
    let parts = v.as_array().expect("one array").clone();
    let targets: Vec<&str> = parts.iter().map(|p| p["target"].as_str().expect("target")).collect();
    assert_eq!(targets, ["rest", "ssh"], "{v}");
    parts
}

#[test]
fn lab_actions_plan_everywhere_ask_once_and_report_per_target() {
    let mut lab = Lab::new("\n[targets.rest.policy]\nprotected_vmids = [\"103\"]\n");

    // Start (change tier) with --yes: both targets start it and report it, each audited.
    let audit = lab.dir.path().join("audit.log");
    let r = lab.pvectl().env("PVECTL_AUDIT_LOG", &audit).args(["-t", "@lab", "guest", "start", "103", "--yes", "-o", "json"]).run();
    r.expect_code(0);
    let show = lab.pvectl().env("PVECTL_AUDIT_LOG", &audit).args(["audit", "show", "-o", "json"]).run();
    show.expect_code(0);
    let records = show.json();
    let records = records.as_array().expect("records");
    let intents: Vec<&Value> = records.iter().filter(|r| r["record"] == "intent").collect();
    assert_eq!((records.len(), intents.len()), (4, 2), "an intent and an outcome per target: {records:?}");
    assert_ne!(intents[0]["target"], intents[1]["target"], "each record names its target: {intents:?}");
    lab.pvectl().env("PVECTL_AUDIT_LOG", &audit).args(["audit", "verify"]).run().expect_code(0);
    for p in parts(&r.json()) {
        assert_eq!((p["ok"].clone(), p["guest"].clone()), (Value::Bool(true), Value::from(103)), "{p}");
        assert_eq!(p["report"]["action"], "start");
        assert_eq!(p["report"]["changed"], true, "{p}");
        assert_eq!(p["report"]["after"]["status"], "running", "{p}");
    }
    let (rest_writes, ssh_writes) = (lab.rest_writes(), lab.ssh_writes());
    assert_eq!(rest_writes, [["REST", "POST", "/nodes/pve1/qemu/103/status/start"]]);
    assert_eq!(ssh_writes.len(), 1, "{ssh_writes:?}");
    assert_eq!(ssh_writes[0][..3], ["pvesh", "create", "/nodes/pve1/qemu/103/status/start"]);
    eprintln!("start on @lab: {} REST requests, {} SSH tool calls", lab.rest_calls().len(), lab.tools.calls().len());

    // Shutdown (disruptive) without --yes and without a terminal: exit 3, both plans are the
    // document on stdout, and neither target got a write.
    lab.clear_logs();
    let r = lab.run(&["-t", "@lab", "guest", "shutdown", "103", "-o", "json"]);
    r.expect_code(3);
    for p in parts(&r.json()) {
        assert_eq!(p["ok"], false, "{p}");
        assert_eq!(p["plan"]["action"], "shutdown", "{p}");
        assert_eq!(p["plan"]["tier"], "disruptive", "{p}");
        assert_eq!(p["plan"]["before"]["status"], "running", "{p}");
        assert_eq!(p["error"]["exit_code"], 3, "{p}");
    }
    assert!(r.stderr.is_empty() || !r.stderr.contains("Proceed?"), "no prompt without a terminal: {}", r.stderr);
    assert_eq!((lab.rest_writes().len(), lab.ssh_writes().len()), (0, 0), "{:?} {:?}", lab.rest_writes(), lab.ssh_writes());
    eprintln!("shutdown without --yes on @lab: {} REST requests, {} SSH tool calls", lab.rest_calls().len(), lab.tools.calls().len());

    // --dry-run: exit 0, the plans, no write.
    let r = lab.run(&["-t", "@lab", "guest", "shutdown", "103", "--dry-run", "-o", "json"]);
    r.expect_code(0);
    for p in parts(&r.json()) {
        assert_eq!((p["ok"].clone(), p["plan"]["action"].clone()), (Value::Bool(true), Value::from("shutdown")), "{p}");
        assert!(p.get("error").is_none(), "{p}");
    }
    assert_eq!((lab.rest_writes().len(), lab.ssh_writes().len()), (0, 0));
    eprintln!("both runs without consent: {} REST requests, {} SSH tool calls", lab.rest_calls().len(), lab.tools.calls().len());

    // Each target's own policy: rest protects 103 from destructive actions. Its refusal (10)
    // is its element; ssh is still planned; nothing is sent anywhere.
    let r = lab.run(&["-t", "@lab", "guest", "stop", "103", "--dry-run", "-o", "json"]);
    r.expect_code(10);
    let p = parts(&r.json());
    assert_eq!((p[0]["ok"].clone(), p[0]["error"]["exit_code"].clone()), (Value::Bool(false), Value::from(10)), "{}", p[0]);
    assert!(p[0]["error"]["message"].as_str().is_some_and(|m| m.contains("protected")), "{}", p[0]);
    assert_eq!(p[1]["plan"]["action"], "stop", "{}", p[1]);
    assert_eq!((lab.rest_writes().len(), lab.ssh_writes().len()), (0, 0));

    // One target down: the other is still applied; the array names the failure; the run exits
    // 8, not the down target's 9: a change was sent, so it must not claim nothing was.
    lab.stop_rest();
    lab.clear_logs();
    let r = lab.run(&["-t", "@lab", "guest", "shutdown", "103", "--yes", "-o", "json"]);
    r.expect_code(8);
    let p = parts(&r.json());
    assert_eq!((p[0]["ok"].clone(), p[0]["error"]["exit_code"].clone()), (Value::Bool(false), Value::from(9)), "{}", p[0]);
    assert_eq!(p[1]["ok"], true, "{}", p[1]);
    assert_eq!(p[1]["report"]["after"]["status"], "stopped", "{}", p[1]);
    assert_eq!(lab.ssh_writes().len(), 1, "{:?}", lab.ssh_writes());
    assert_eq!(lab.ssh_writes()[0][..3], ["pvesh", "create", "/nodes/pve1/qemu/103/status/shutdown"]);
    eprintln!("shutdown --yes with rest down: {} SSH tool calls", lab.tools.calls().len());
}

#[test]
fn lab_selector_and_snapshot_actions_run_per_target() {
    let lab = Lab::new("");
    // A selector on every target: one element per guest and target, one consent.
    let r = lab.run(&["-t", "@lab", "guest", "shutdown", "100", "101", "--dry-run", "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    let items = v.as_array().expect("array");
    let seen: Vec<(String, u64)> =
        items.iter().map(|p| (p["target"].as_str().expect("target").to_owned(), p["guest"].as_u64().expect("guest"))).collect();
    assert_eq!(seen, [("rest".into(), 100), ("rest".into(), 101), ("ssh".into(), 100), ("ssh".into(), 101)], "{v}");
    assert!(items.iter().all(|p| p["ok"] == true && p["plan"]["action"] == "shutdown"), "{v}");
    assert_eq!((lab.rest_writes().len(), lab.ssh_writes().len()), (0, 0));

    // snapshot create (change tier) on both, one target at a time (`--parallel 1`: a target
    // waiting for the others' plans gives its place up), then delete (destructive) needs the
    // one consent.
    let r = lab.run(&["-t", "@lab", "--parallel", "1", "snapshot", "create", "100", "fleet1", "-o", "json"]);
    r.expect_code(0);
    for p in parts(&r.json()) {
        assert_eq!((p["ok"].clone(), p["report"]["action"].clone()), (Value::Bool(true), Value::from("snapshot create")), "{p}");
    }
    assert_eq!(lab.rest_writes().len(), 1, "{:?}", lab.rest_writes());
    lab.clear_logs();
    lab.run(&["-t", "@lab", "--parallel", "1", "snapshot", "delete", "100", "fleet1", "-o", "json"]).expect_code(3);
    assert_eq!((lab.rest_writes().len(), lab.ssh_writes().len()), (0, 0));
    let r = lab.run(&["-t", "@lab", "--parallel", "1", "snapshot", "rollback", "100", "fleet1", "--yes", "-o", "json"]);
    r.expect_code(0);
    assert!(parts(&r.json()).iter().all(|p| p["ok"] == true && p["report"]["action"] == "snapshot rollback"), "{}", r.stdout);
    let r = lab.run(&["-t", "@lab", "snapshot", "delete", "100", "fleet1", "--yes", "-o", "json"]);
    r.expect_code(0);
    assert!(parts(&r.json()).iter().all(|p| p["ok"] == true), "{}", r.stdout);
    assert_eq!(lab.rest_writes().len(), 2, "rollback and delete: {:?}", lab.rest_writes());
    assert_eq!(lab.ssh_writes().len(), 2, "rollback and delete: {:?}", lab.ssh_writes());

    // backup create (change tier) on both targets.
    lab.clear_logs();
    let r = lab.run(&["-t", "@lab", "backup", "create", "101", "-o", "json"]);
    r.expect_code(0);
    assert!(parts(&r.json()).iter().all(|p| p["ok"] == true && p["report"]["changed"] == true), "{}", r.stdout);
    assert_eq!(lab.rest_writes().iter().filter(|c| c[2].ends_with("/vzdump")).count(), 1, "{:?}", lab.rest_writes());
    assert_eq!(lab.ssh_writes().len(), 1, "{:?}", lab.ssh_writes());
}

#[test]
fn at_a_terminal_all_plans_are_shown_before_one_prompt() {
    let lab = Lab::new("");
    // `script` gives pvectl a pty; the answer is typed at once and waits in the terminal's
    // input until the one prompt reads it.
    let cmdline = format!("{} -t @lab -o json guest shutdown 100", crate::support::pvectl_bin());
    let mut child = std::process::Command::new("script")
        .args(["-qefc", &cmdline, "/dev/null"])
        .env("PVECTL_CONFIG", &lab.cfg)
        .env("PVECTL_RUNTIME_DIR", lab.rt.path())
        .env("PVECTL_AUDIT_LOG", "off")
        .env_remove("PVECTL_TARGET")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script runs");
    let mut stdin = child.stdin.take().expect("stdin");
    std::io::Write::write_all(&mut stdin, b"yes\n").expect("type yes");
    let out = child.wait_with_output().expect("script ends");
    drop(stdin);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "exit {:?}: {text}", out.status);
    assert_eq!(text.matches("Type 'yes' to continue").count(), 1, "one prompt: {text}");
    let prompt = text.find("Type 'yes'").expect("prompt");
    let (rest, ssh) = (text.find("target rest:").expect("rest's plan"), text.find("target ssh:").expect("ssh's plan"));
    assert!(rest < ssh && ssh < prompt, "both plans before the prompt: {text}");
    assert!(text.contains("on 2 targets (rest, ssh)"), "{text}");
    assert_eq!(text.matches("\"changed\": true").count(), 2, "{text}");
    assert_eq!((lab.rest_writes().len(), lab.ssh_writes().len()), (1, 1));
}
