//! `pvectl mcp` driven by a client this project did not write: the official MCP TypeScript
//! SDK (`@modelcontextprotocol/sdk` from npm, `tests/mcp-client/`, installed by
//! `scripts/test.sh` with `npm ci`). The client script runs a scenario against
//! `pvectl -t sim mcp` over a fresh sim state file and prints a transcript; these tests check
//! it, the state file (through the CLI) and the audit log.
//!
//! Node.js and the installed client are required: without them the tests fail, they never skip.

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::{Pvectl, SimTools};

/// What the client script calls itself in `initialize` (`clientInfo.name`).
const CLIENT_NAME: &str = "pvectl-test-client";

fn client_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp-client")
}

/// One scenario's files: the sim state, the audit log, the config file.
struct Session {
    sim: SimTools,
}

impl Session {
    /// A fresh state; the config file holds `config` (e.g. an `[mcp]` table).
    fn new(config: &str) -> Self {
        let sim = SimTools::new();
        std::fs::write(sim.dir.path().join("config.toml"), config).expect("config file");
        Self { sim }
    }

    fn audit_log(&self) -> PathBuf {
        self.sim.dir.path().join("audit.log")
    }

    fn config(&self) -> PathBuf {
        self.sim.dir.path().join("config.toml")
    }

    /// `pvectl -t sim -o json ARGS` on this state, config and audit log.
    fn pvectl(&self, args: &[&str]) -> support::Run {
        Pvectl::new()
            .env("PVE_SIM_STATE", self.sim.state())
            .env("PVECTL_AUDIT_LOG", self.audit_log())
            .env("PVECTL_CONFIG", self.config())
            .args(["-t", "sim", "-o", "json"])
            .args(args)
            .run()
    }

    /// Runs `node client.mjs SCENARIO`; its transcript.
    fn client(&self, scenario: &str) -> Value {
        let dir = client_dir();
        assert!(
            dir.join("node_modules/@modelcontextprotocol/sdk/package.json").exists(),
            "the MCP client is not installed: run `npm ci` in {} (scripts/test.sh does)",
            dir.display()
        );
        let mut cmd = Command::new("node");
        for v in ["PVECTL_TARGET", "PVE_SIM_LOG", "PVE_SIM_NODE", "PVE_SIM_LATENCY_MS", "PROXMOX_HOST", "PVE_HOST"] {
            cmd.env_remove(v);
        }
        let out = cmd
            .current_dir(&dir)
            .arg("client.mjs")
            .arg(scenario)
            .env("PVECTL_BIN", support::pvectl_bin())
            .env("PVE_SIM_STATE", self.sim.state())
            .env("PVECTL_AUDIT_LOG", self.audit_log())
            .env("PVECTL_CONFIG", self.config())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("node (Node.js 18 or later) is required for the MCP tests and could not be started: {e}"));
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "client.mjs {scenario} failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("the client printed no JSON ({e}):\n{stdout}\nstderr:\n{stderr}"))
    }

    /// The audit log's records.
    fn audit(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.audit_log()).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).expect("audit line is JSON")).collect()
    }

    fn status(&self, vmid: &str) -> String {
        let r = self.pvectl(&["guest", "status", vmid]);
        r.expect_code(0);
        r.json()["status"].as_str().expect("status").to_owned()
    }
}

/// The transcript's tool calls, in order (outside changes left out).
fn calls(t: &Value) -> Vec<&Value> {
    t["steps"].as_array().expect("steps").iter().filter(|s| s.get("tool").is_some()).collect()
}

fn error_of(step: &Value) -> (&str, i64) {
    assert_eq!(step["isError"], true, "expected an error: {step:#}");
    let e = &step["json"]["error"];
    (e["kind"].as_str().expect("kind"), e["exit_code"].as_i64().expect("exit_code"))
}

fn ok(step: &Value) -> &Value {
    assert_eq!(step["isError"], false, "expected success: {step:#}");
    &step["json"]
}

#[test]
fn a_client_lists_reads_plans_is_refused_approves_and_meets_a_conflict() {
    let s = Session::new("");
    // The CLI's document, read first (the state file is seeded by this read).
    let cli_list = s.pvectl(&["guest", "list"]);
    cli_list.expect_code(0);
    let t = s.client("elicit");

    assert_eq!(t["server"]["name"], "pvectl");
    let tools = t["tools"].as_array().expect("tools");
    let names: Vec<&str> = tools.iter().map(|x| x["name"].as_str().expect("name")).collect();
    for want in ["guest_list", "guest_status", "plan_guest_stop", "plan_snapshot_create", "apply"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    for tool in tools {
        assert!(tool["description"].as_str().expect("description").starts_with("Tier: "), "{tool}");
    }
    let c = calls(&t);
    let [list, plan, refused, status_after_refusal, applied, status_after_apply, snap_plan, conflict, reapplied, snapshots] = c[..] else {
        panic!("unexpected steps: {:#}", t["steps"])
    };

    // Reads are the CLI's -o json documents.
    ok(list);
    assert_eq!(list["text"].as_str(), Some(cli_list.stdout.trim_end()), "guest_list is `guest list -o json`, to the byte");
    assert!(ok(list).as_array().expect("guests").iter().any(|g| g["vmid"] == 100 && g["status"] == "running"));

    // The plan: destructive, a digest, approval needed; nothing sent.
    let p = &ok(plan)["plan"];
    assert_eq!(p["tier"], "destructive");
    assert_eq!(p["before"]["status"], "running");
    let digest = p["digest"].as_str().expect("digest");
    assert!(digest.len() == 64 && digest.chars().all(|ch| ch.is_ascii_hexdigit()), "{digest}");
    assert_eq!(ok(plan)["approval"]["needed"], true);
    // The server's own documents come as structuredContent too; a read's array only as text.
    assert_eq!((plan["structured"].as_bool(), list["structured"].as_bool()), (Some(true), None));

    // The human declines: refused, nothing sent.
    assert_eq!(error_of(refused), ("confirmation_required", 3));
    assert_eq!(refused["asked"], 1, "the refusal came from the human's answer");
    let question = t["asked"][0]["message"].as_str().expect("question");
    assert!(question.contains("stop guest 100") && question.contains("destructive") && question.contains(digest), "{question}");
    assert_eq!(ok(status_after_refusal)["status"], "running", "nothing was sent");

    // The human accepts: stopped.
    let report = ok(applied);
    assert_eq!((report["action"].as_str(), report["changed"].as_bool()), (Some("stop"), Some(true)), "{report:#}");
    assert_eq!(report["after"]["status"], "stopped");
    assert_eq!(ok(status_after_apply)["status"], "stopped");

    // A second plan, the guest started outside, then apply: a conflict carrying the new plan.
    let snap = &ok(snap_plan)["plan"];
    assert_eq!((snap["tier"].as_str(), ok(snap_plan)["approval"]["needed"].as_bool()), (Some("change"), Some(false)));
    let outside = t["steps"].as_array().expect("steps").iter().find(|x| x.get("outside").is_some()).expect("outside change");
    assert_eq!(outside["code"], 0, "{outside}");
    assert_eq!(error_of(conflict), ("conflict", 6));
    let fresh = &conflict["json"]["plan"];
    assert_ne!(fresh["digest"], snap["digest"]);
    assert_eq!((snap["before"]["status"].as_str(), fresh["before"]["status"].as_str()), (Some("stopped"), Some("running")));
    // The new plan is tier change: applied without asking anyone.
    assert_eq!(ok(reapplied)["action"], "snapshot create");
    assert_eq!(reapplied["asked"], 2, "no approval asked for a change-tier plan");
    assert!(ok(snapshots).as_array().expect("snapshots").iter().any(|x| x["name"] == "mcp_test"));
    assert_eq!(s.status("100"), "running");

    // The audit log: the MCP changes with face mcp and the client's name, the outside one as cli.
    let records = s.audit();
    let mcp: Vec<&Value> = records.iter().filter(|r| r["face"] == "mcp").collect();
    assert!(mcp.iter().all(|r| r["client"] == CLIENT_NAME), "{mcp:#?}");
    let intents: Vec<(&str, &str)> = mcp
        .iter()
        .filter(|r| r["record"] == "intent")
        .map(|r| (r["action"].as_str().expect("action"), r["digest"].as_str().expect("digest")))
        .collect();
    assert_eq!(intents, [("stop", digest), ("snapshot create", fresh["digest"].as_str().expect("digest"))]);
    assert!(records.iter().any(|r| r["face"] == "cli" && r["action"] == "start" && r.get("client").is_none()));
    let verify = Pvectl::new().env("PVECTL_AUDIT_LOG", s.audit_log()).args(["-o", "json", "audit", "verify"]).run();
    verify.expect_code(0);
}

#[test]
fn approve_true_stands_for_a_human_only_where_auto_approve_allows_the_tier() {
    let s = Session::new("[mcp]\nauto_approve = \"destructive\"\n");
    let t = s.client("approve");
    let c = calls(&t);
    let [_list, plan, refused, still_running, applied, stopped] = c[..] else { panic!("unexpected steps: {:#}", t["steps"]) };
    assert_eq!(ok(plan)["plan"]["tier"], "destructive");
    assert_eq!(error_of(refused), ("confirmation_required", 3), "no approve, no elicitation: refused");
    assert_eq!(ok(still_running)["status"], "running");
    assert_eq!(ok(applied)["changed"], true);
    assert_eq!(ok(stopped)["status"], "stopped");
    assert_eq!(s.status("100"), "stopped");
    let records = s.audit();
    let intents: Vec<&Value> = records.iter().filter(|r| r["record"] == "intent").collect();
    assert_eq!(intents.len(), 1);
    assert_eq!((intents[0]["face"].as_str(), intents[0]["client"].as_str()), (Some("mcp"), Some(CLIENT_NAME)));
}

#[test]
fn approve_true_is_not_consent_under_the_default_auto_approve() {
    let s = Session::new("");
    let t = s.client("no-consent");
    let c = calls(&t);
    let [_list, _plan, refused, status] = c[..] else { panic!("unexpected steps: {:#}", t["steps"]) };
    assert_eq!(error_of(refused), ("confirmation_required", 3));
    let message = refused["json"]["error"]["message"].as_str().expect("message");
    assert!(message.contains("auto_approve"), "{message}");
    assert_eq!(ok(status)["status"], "running");
    assert_eq!(s.status("100"), "running");
    assert!(s.audit().iter().all(|r| r["record"] != "intent"), "nothing was sent");
}

#[test]
fn the_session_refuses_yes_dry_run_and_a_bad_mcp_table_before_serving() {
    let s = Session::new("");
    for flag in ["--yes", "--dry-run"] {
        let r = s.pvectl(&[flag, "mcp"]);
        r.expect_code(2);
        assert!(r.stderr.contains("consent"), "{}", r.stderr);
        assert!(r.stdout.is_empty(), "no MCP message was written: {}", r.stdout);
    }
    let bad = Session::new("[mcp]\nauto_approve = \"everything\"\n");
    let r = bad.pvectl(&["mcp"]);
    r.expect_code(2);
    assert!(r.stderr.contains("auto_approve"), "{}", r.stderr);
}

#[test]
fn sigterm_during_apply_records_unknown_and_exits_8() {
    use std::io::{BufRead as _, Write as _};
    let s = Session::new("");
    // A start whose task never ends (the sim's `hang` fault), so the signal comes mid-apply.
    s.pvectl(&["node", "list"]).expect_code(0);
    let mut state: Value = serde_json::from_str(&std::fs::read_to_string(s.sim.state()).expect("state")).expect("JSON state");
    state["faults"]["tasks"] = serde_json::json!([{"vmid": 103, "action": "start", "outcome": "hang", "seconds": 3600}]);
    std::fs::write(s.sim.state(), state.to_string()).expect("write state");
    let mut child = Pvectl::new()
        .env("PVE_SIM_STATE", s.sim.state())
        .env("PVECTL_AUDIT_LOG", s.audit_log())
        .env("PVECTL_CONFIG", s.config())
        .args(["-t", "sim", "mcp"])
        .command()
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("pvectl mcp starts");
    let mut input = child.stdin.take().expect("stdin");
    let mut output = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut send = |v: Value| writeln!(input, "{v}").and_then(|()| input.flush()).expect("send");
    let mut answer = |id: u64| -> Value {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(output.read_line(&mut line).expect("read") > 0, "the server closed stdout");
            let v: Value = serde_json::from_str(&line).expect("a JSON-RPC message");
            if v["id"] == id {
                return v;
            }
        }
    };
    let params = serde_json::json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}});
    send(serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}));
    answer(1);
    send(serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    let call = |id: u64, name: &str, arguments: Value| serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": arguments}});
    send(call(2, "plan_guest_start", serde_json::json!({"vmid": 103})));
    let planned = answer(2);
    let text = planned["result"]["content"][0]["text"].as_str().expect("text");
    let digest = serde_json::from_str::<Value>(text).expect("plan JSON")["plan"]["digest"].as_str().expect("digest").to_owned();
    send(call(3, "apply", serde_json::json!({"digest": digest})));
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    // Sent: the sim holds its task, running (the intent record and the open change come first).
    let started = || {
        let state: Value = serde_json::from_str(&std::fs::read_to_string(s.sim.state()).unwrap_or_default()).unwrap_or_default();
        state["tasks"]
            .as_array()
            .is_some_and(|ts| ts.iter().any(|t| t["upid"].as_str().is_some_and(|u| u.contains(":qmstart:103:")) && t["endtime"].is_null()))
    };
    while !started() {
        assert!(std::time::Instant::now() < until, "the start was never sent: {:?}", s.audit());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(i32::try_from(child.id()).expect("pid"), libc::SIGTERM);
    }
    let out = child.wait_with_output().expect("pvectl ends");
    assert_eq!(out.status.code(), Some(8), "{}", String::from_utf8_lossy(&out.stderr));
    let recs = s.audit();
    assert_eq!(recs.iter().filter_map(|r| r["record"].as_str()).collect::<Vec<_>>(), ["intent", "outcome"]);
    assert_eq!((recs[1]["outcome"].as_str(), recs[1]["client"].as_str()), (Some("unknown"), Some("raw")));
    assert!(recs[1]["message"].as_str().is_some_and(|m| m.contains("signal 15")), "{}", recs[1]);
}
