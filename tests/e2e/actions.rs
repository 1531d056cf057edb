//! Actions over the loopback sshd (issue: read first / act / re-check): the exact remote
//! calls, confirmation without and with a terminal, nothing-to-do, failing and warning tasks,
//! locks, deadlines resumed by `task wait`, and snapshot cycles in both tool modes.

use serde_json::{Value, json};

use crate::cli::{over_ssh, runtime_dir, sshd_for};
use crate::support::{Pvectl, Run, SimTools, pve_sim_bin};

/// Seeds the tools' state file with the demo cluster plus `faults` and short tasks.
fn seed(tools: &SimTools, faults: Value) {
    let ok = std::process::Command::new(pve_sim_bin()).arg("init").arg(tools.state()).status().expect("pve-sim init");
    assert!(ok.success());
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(tools.state()).expect("read state")).expect("state JSON");
    v["faults"]["tasks"] = faults;
    v["settings"]["task_ms"] = json!(200);
    v["settings"]["ha_delay_ms"] = json!(500);
    std::fs::write(tools.state(), v.to_string()).expect("write state");
}

struct Env {
    tools: SimTools,
    sshd: crate::sshd::Sshd,
    rt: tempfile::TempDir,
}

impl Env {
    fn new(faults: Value, extra: &[(&str, &str)]) -> Self {
        let tools = SimTools::new();
        seed(&tools, faults);
        let sshd = sshd_for(&tools, extra);
        Self { tools, sshd, rt: runtime_dir() }
    }

    fn pvectl(&self) -> Pvectl {
        over_ssh(&self.sshd.ssh_target(), &self.sshd.config_path(), &self.rt).env("PVECTL_AUDIT_LOG", "off")
    }

    fn run(&self, args: &[&str]) -> Run {
        self.pvectl().args(args).run()
    }

    /// The logged calls as (tool, verb, path) triples.
    fn calls(&self) -> Vec<(String, String, String)> {
        self.tools
            .calls()
            .into_iter()
            .map(|c| (c[0].clone(), c.get(1).cloned().unwrap_or_default(), c.get(2).cloned().unwrap_or_default()))
            .collect()
    }

    fn mutating_calls(&self) -> usize {
        self.tools
            .calls()
            .iter()
            .filter(|c| {
                c[0] == "pvesh" && c[1] != "get"
                    || matches!(c[0].as_str(), "qm" | "pct") && !matches!(c[1].as_str(), "list" | "status" | "config" | "listsnapshot")
            })
            .count()
    }
}

#[test]
fn shutdown_with_yes_reads_acts_and_rechecks_nothing_else() {
    let env = Env::new(json!([]), &[]);
    let r = env.run(&["guest", "shutdown", "100", "--yes", "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["action"], "shutdown");
    assert_eq!(v["target"], json!({"vmid": 100, "node": "pve1", "kind": "qemu"}));
    assert_eq!(v["before"]["status"], "running");
    assert_eq!(v["task"]["exitstatus"], "OK");
    assert_eq!(v["after"]["status"], "stopped");
    assert_eq!(v["changed"], true);
    let upid = v["task"]["upid"].as_str().expect("upid");
    let calls = env.calls();
    let expect_get = |c: &(String, String, String), path: &str| c.0 == "pvesh" && c.1 == "get" && c.2 == path;
    assert!(expect_get(&calls[0], "/cluster/resources"), "discovery first: {calls:?}");
    assert_eq!(calls[1], ("pvesh".into(), "create".into(), "/nodes/pve1/qemu/100/status/shutdown".into()), "{calls:?}");
    // pvesh waited for the worker in the foreground and said how it ended: no task-status read.
    assert!(upid.starts_with("UPID:pve1:"), "{upid}");
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert!(expect_get(&calls[2], "/nodes/pve1/qemu/100/status/current"), "{calls:?}");
}

#[test]
fn without_yes_and_without_a_terminal_exits_3_with_the_plan_and_changes_nothing() {
    let env = Env::new(json!([]), &[]);
    let r = env.run(&["guest", "shutdown", "100", "-o", "json"]);
    r.expect_code(3);
    let plan = r.json();
    assert_eq!(plan["plan"]["action"], "shutdown");
    assert_eq!(plan["plan"]["tier"], "disruptive");
    assert_eq!(plan["plan"]["before"]["status"], "running");
    assert_eq!(plan["plan"]["call"], "pvesh create /nodes/pve1/qemu/100/status/shutdown --output-format json");
    assert_eq!(env.mutating_calls(), 0, "{:?}", env.tools.calls());
    let e: Value = serde_json::from_str(r.stderr.trim()).expect("JSON error");
    assert_eq!(e["error"]["kind"], "confirmation_required");
    // --dry-run: the same plan, exit 0, still nothing changed.
    let d = env.run(&["guest", "stop", "100", "--dry-run", "-o", "json"]);
    d.expect_code(0);
    assert_eq!(d.json()["plan"]["tier"], "destructive");
    assert_eq!(env.mutating_calls(), 0);
}

#[test]
fn at_a_terminal_the_prompt_appears_and_yes_proceeds() {
    let env = Env::new(json!([]), &[]);
    // `script` gives pvectl a pty for stdin/stdout/stderr; "yes" is typed into it.
    let cmdline = format!(
        "{} -t {} --ssh-config {} -o json guest shutdown 100",
        crate::support::pvectl_bin(),
        env.sshd.ssh_target(),
        env.sshd.config_path().display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qefc", &cmdline, "/dev/null"])
        .env("PVECTL_RUNTIME_DIR", env.rt.path())
        .env("PVECTL_AUDIT_LOG", "off")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script runs");
    let mut stdin = child.stdin.take().expect("stdin");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    std::io::Write::write_all(&mut stdin, b"yes\n").expect("type yes");
    let out = child.wait_with_output().expect("script ends");
    drop(stdin);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "exit {:?}: {text}", out.status);
    assert!(text.contains("Type 'yes' to continue"), "the prompt appeared: {text}");
    assert!(text.contains("\"changed\": true"), "{text}");
    assert_eq!(env.mutating_calls(), 1);
}

#[test]
fn start_on_a_running_guest_changes_nothing() {
    let env = Env::new(json!([]), &[]);
    let r = env.run(&["guest", "start", "100", "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["changed"], false);
    assert!(r.json()["task"].is_null());
    assert_eq!(env.mutating_calls(), 0);
    // The listing cannot tell running from paused (qemu's run state is only in status/current),
    // and a paused guest must not be reported as started: discovery, then one status read.
    let calls = env.tools.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[1][2], "/nodes/pve1/qemu/100/status/current");
}

#[test]
fn failing_task_exits_7_with_pves_message() {
    let env =
        Env::new(json!([{"vmid": 100, "action": "shutdown", "outcome": "fail", "message": "VM quit/powerdown failed - got timeout"}]), &[]);
    let r = env.run(&["guest", "shutdown", "100", "--yes", "-o", "json"]);
    r.expect_code(7);
    assert_eq!(r.json()["task"]["exitstatus"], "VM quit/powerdown failed - got timeout");
    let e: Value = serde_json::from_str(r.stderr.trim()).expect("JSON error");
    assert_eq!(e["error"]["kind"], "task_failed");
    assert!(
        e["error"]["message"].as_str().is_some_and(|m| m.contains("VM quit/powerdown failed - got timeout") && m.contains("TASK ERROR")),
        "{e}"
    );
}

#[test]
fn warnings_exit_0_and_report_the_count() {
    let env = Env::new(
        json!([{"vmid": 103, "action": "start", "outcome": "warn", "count": 2, "message": "no efidisk configured! Using temporary efivars disk."}]),
        &[],
    );
    let r = env.run(&["guest", "start", "103", "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["task"]["exitstatus"], "WARNINGS: 2");
    assert_eq!(v["task"]["warnings"], 2);
    assert_eq!(v["after"]["status"], "running");
}

#[test]
fn a_locked_guest_exits_6_naming_the_lock() {
    let env = Env::new(json!([]), &[]);
    let r = env.run(&["guest", "start", "106", "-o", "json"]);
    r.expect_code(6);
    assert!(r.stderr.contains("locked (backup)"), "{}", r.stderr);
    assert_eq!(env.mutating_calls(), 0);
}

#[test]
fn past_the_deadline_exits_8_with_the_upid_and_task_wait_completes_it() {
    let env = Env::new(json!([{"vmid": 100, "action": "stop", "outcome": "hang", "seconds": 5}]), &[]);
    // --timeout is the wait deadline (for shutdown it is PVE's shutdown timeout instead);
    // 2 s is well short of the 5 s task, which pvesh runs in the foreground.
    let started = std::time::Instant::now();
    let r = env.run(&["--timeout", "2", "guest", "stop", "100", "--yes", "-o", "json"]);
    r.expect_code(8);
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "gave up at the deadline, not at the task's end");
    let upid = r.json()["task"]["upid"].as_str().expect("UPID printed").to_owned();
    assert!(r.stderr.contains(&format!("pvectl task wait {upid}")), "{}", r.stderr);
    let w = env.run(&["--timeout", "30", "task", "wait", &upid, "-o", "json"]);
    w.expect_code(0);
    assert_eq!(w.json()["exitstatus"], "OK");
    let s = env.run(&["guest", "status", "100", "-o", "json"]);
    assert_eq!(s.json()["status"], "stopped");
}

fn snapshot_cycle(env: &Env, vmid: &str, tools: &[&str]) {
    let hostile = "pre-upgrade: \"quoted\"; $(touch /tmp/pvectl-snap-pwned) `id`";
    let run = |args: &[&str]| env.pvectl().args(tools).args(args).run();
    let c = run(&["snapshot", "create", vmid, "cycle1", "--description", hostile, "-o", "json"]);
    c.expect_code(0);
    assert_eq!(c.json()["changed"], true);
    assert!(c.json()["after"]["snapshots"].as_array().expect("list").iter().any(|s| s == "cycle1"));
    let l = run(&["snapshot", "list", vmid, "-o", "json"]).json();
    let snap = l.as_array().expect("array").iter().find(|s| s["name"] == "cycle1").expect("listed").clone();
    if tools.is_empty() {
        assert_eq!(snap["description"], hostile, "description arrives intact");
    } else {
        assert_eq!(snap["description"], hostile.lines().next().unwrap_or(""), "qm listsnapshot shows the first line");
    }
    assert!(!std::path::Path::new("/tmp/pvectl-snap-pwned").exists());
    let r = run(&["snapshot", "rollback", vmid, "cycle1", "--yes", "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["after"]["current_parent"], "cycle1");
    assert!(r.json()["after"]["status"].is_string(), "the resulting status is reported");
    let d = run(&["snapshot", "delete", vmid, "cycle1", "--yes", "-o", "json"]);
    d.expect_code(0);
    assert!(!d.json()["after"]["snapshots"].as_array().expect("list").iter().any(|s| s == "cycle1"));
    run(&["snapshot", "delete", vmid, "cycle1", "--yes"]).expect_code(5);
}

#[test]
fn snapshot_cycle_qemu_and_lxc_over_pvesh() {
    let env = Env::new(json!([]), &[]);
    snapshot_cycle(&env, "100", &[]);
    snapshot_cycle(&env, "102", &[]);
    // The description went through pvesh as one argument.
    let creates: Vec<Vec<String>> = env.tools.calls().into_iter().filter(|c| c[1] == "create" && c[2].ends_with("/snapshot")).collect();
    assert_eq!(creates.len(), 2);
    assert!(creates[0].iter().any(|a| a.starts_with("pre-upgrade: \"quoted\"; $(")), "{creates:?}");
}

#[test]
fn snapshot_cycle_qemu_and_lxc_over_qm_pct() {
    let env = Env::new(json!([]), &[("PVE_SIM_NODE", "pve1")]);
    snapshot_cycle(&env, "100", &["--tools", "qm-pct"]);
    snapshot_cycle(&env, "102", &["--tools", "qm-pct"]);
    let tools: std::collections::BTreeSet<String> = env.tools.calls().into_iter().map(|c| c[0].clone()).collect();
    assert!(tools.iter().all(|t| ["qm", "pct", "hostname"].contains(&t.as_str())), "{tools:?}");
    let snaps: Vec<Vec<String>> = env.tools.calls().into_iter().filter(|c| c.get(1).is_some_and(|v| v == "snapshot")).collect();
    assert_eq!(snaps.len(), 2);
    assert_eq!(snaps[1][..4], ["pct".to_owned(), "snapshot".into(), "102".into(), "cycle1".into()]);
}
