//! Power actions, tasks over time, faults and HA through the core: state changes at task
//! end, PVE's error texts before and inside the worker, lazy finalisation, task lists.

use serde_json::Value;

use super::core::Sim;
use super::demo::demo_state;
use super::error::SimError;
use super::faults::{FaultOutcome, TaskFault};
use super::state::SimState;
use super::task_state::SimTask;
use crate::backend::api::{Method, Params};

pub(super) fn params(p: &[(&str, &str)]) -> Params {
    p.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

pub(super) fn post(sim: &mut Sim, path: &str, p: &[(&str, &str)]) -> Result<String, SimError> {
    sim.handle(Method::Post, path, &params(p)).map(|v| v.as_str().expect("a write answers a UPID").to_owned())
}

pub(super) fn get(sim: &mut Sim, path: &str, p: &[(&str, &str)]) -> Value {
    sim.handle(Method::Get, path, &params(p)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub(super) fn task<'s>(sim: &'s Sim, upid: &str) -> &'s SimTask {
    sim.state().task(upid).expect("the task exists")
}

/// Finalises every task and HA request, whatever the clock says.
pub(super) fn finish_all(sim: &mut Sim) {
    sim.settle_at(u64::MAX);
}

fn end_ms(sim: &Sim, upid: &str) -> u64 {
    task(sim, upid).pending.as_ref().expect("running").end_ms
}

fn with_fault(vmid: u32, action: &str, outcome: FaultOutcome, once: bool) -> Sim {
    let mut state: SimState = demo_state();
    state.faults.tasks.push(TaskFault { vmid, action: Some(action.to_owned()), outcome, once });
    Sim::new(state)
}

#[test]
fn power_actions_apply_their_effect_when_the_task_ends() {
    let mut sim = Sim::new(demo_state());
    let upid = post(&mut sim, "/nodes/pve1/qemu/100/status/shutdown", &[("timeout", "60"), ("forceStop", "1")]).expect("starts");
    let t = task(&sim, &upid);
    assert_eq!(
        (t.upid.task_type.as_str(), t.upid.id.as_str(), t.upid.user.as_str(), t.upid.node.as_str()),
        ("qmshutdown", "100", "root@pam", "pve1")
    );
    assert!(t.is_running() && t.endtime.is_none());
    assert!(sim.state().guest(100).expect("100").is_running(), "nothing changes before the end");
    finish_all(&mut sim);
    let (t, g) = (task(&sim, &upid), sim.state().guest(100).expect("100"));
    assert_eq!((t.exitstatus.as_deref(), t.log.clone()), (Some("OK"), vec!["TASK OK".to_owned()]));
    assert!(t.endtime.is_some_and(|e| e >= t.upid.starttime));
    assert_eq!((g.status.as_str(), g.mem, g.uptime, g.pid, g.qmpstatus.as_deref()), ("stopped", 0, 0, None, None));

    let upid = post(&mut sim, "/nodes/pve1/qemu/100/status/start", &[]).expect("starts");
    finish_all(&mut sim);
    let g = sim.state().guest(100).expect("100");
    assert_eq!(
        (task(&sim, &upid).upid.task_type.as_str(), g.status.as_str(), g.qmpstatus.as_deref()),
        ("qmstart", "running", Some("running"))
    );
    assert!(g.pid.is_some() && g.uptime > 0 && g.mem > 0);
    post(&mut sim, "/nodes/pve1/qemu/100/status/suspend", &[]).expect("starts");
    finish_all(&mut sim);
    let g = sim.state().guest(100).expect("100");
    assert_eq!((g.status.as_str(), g.qmpstatus.as_deref()), ("running", Some("paused")));
    for action in ["resume", "reset", "reboot"] {
        let upid = post(&mut sim, &format!("/nodes/pve1/qemu/100/status/{action}"), &[]).expect("starts");
        finish_all(&mut sim);
        assert_eq!(task(&sim, &upid).exitstatus.as_deref(), Some("OK"), "{action}");
        assert_eq!(sim.state().guest(100).expect("100").qmpstatus.as_deref(), Some("running"), "{action}");
    }

    // lxc suspend is `lxc-checkpoint -s`: dumped, then stopped; resume restores it.
    let upid = post(&mut sim, "/nodes/pve1/lxc/102/status/suspend", &[]).expect("starts");
    assert!(sim.state().guest(102).expect("102").is_running(), "nothing changes before the end");
    finish_all(&mut sim);
    assert_eq!((task(&sim, &upid).upid.task_type.as_str(), task(&sim, &upid).exitstatus.as_deref()), ("vzsuspend", Some("OK")));
    let status = get(&mut sim, "/nodes/pve1/lxc/102/status/current", &[]);
    assert_eq!((status["status"].as_str(), status.get("qmpstatus"), status["pid"].as_u64()), (Some("stopped"), None, None), "{status}");
    let upid = post(&mut sim, "/nodes/pve1/lxc/102/status/resume", &[]).expect("starts");
    finish_all(&mut sim);
    assert_eq!((task(&sim, &upid).upid.task_type.as_str(), task(&sim, &upid).exitstatus.as_deref()), ("vzresume", Some("OK")));
    assert_eq!(get(&mut sim, "/nodes/pve1/lxc/102/status/current", &[])["status"], "running");
    post(&mut sim, "/nodes/pve1/lxc/102/status/stop", &[]).expect("starts");
    finish_all(&mut sim);
    let ct = sim.state().guest(102).expect("102");
    assert_eq!((ct.status.as_str(), ct.disk, ct.pid), ("stopped", 0, None));
}

#[test]
fn lxc_run_state_errors_fail_the_call() {
    let mut sim = Sim::new(demo_state());
    let cases = [
        ("/nodes/pve1/lxc/102/status/start", "CT 102 already running"),
        ("/nodes/pve1/lxc/102/status/resume", "CT 102 already running"),
        ("/nodes/pve3/lxc/110/status/suspend", "CT 110 not running"),
        ("/nodes/pve3/lxc/110/status/shutdown", "CT 110 not running"),
        ("/nodes/pve3/lxc/110/status/stop", "CT 110 not running"),
        ("/nodes/pve3/lxc/110/status/reboot", "VM 110 not running"),
    ];
    let tasks = sim.state().tasks.len();
    for (path, msg) in cases {
        let e = post(&mut sim, path, &[]).expect_err(path);
        assert_eq!((e.cli_text(), e.http_status()), (format!("{msg}\n"), 500), "{path}");
    }
    assert_eq!(sim.state().tasks.len(), tasks, "no task started");
}

#[test]
fn state_errors_fail_inside_the_task() {
    let mut sim = Sim::new(demo_state());
    let cases = [
        ("/nodes/pve1/qemu/100/status/start", "VM 100 already running"),
        ("/nodes/pve1/qemu/103/status/shutdown", "VM 103 not running"),
        ("/nodes/pve1/qemu/103/status/stop", "VM 103 not running"),
        ("/nodes/pve1/qemu/103/status/reset", "VM 103 not running"),
        ("/nodes/pve3/qemu/9000/status/start", "you can't start a vm if it's a template"),
    ];
    for (path, msg) in cases {
        let upid = post(&mut sim, path, &[]).unwrap_or_else(|e| panic!("{path}: the task starts, got {e}"));
        finish_all(&mut sim);
        let t = task(&sim, &upid);
        assert_eq!(t.exitstatus.as_deref(), Some(msg), "{path}");
        assert_eq!(t.log.last().map(String::as_str), Some(format!("TASK ERROR: {msg}").as_str()));
    }
    assert!(sim.state().guest(100).expect("100").is_running() && !sim.state().guest(103).expect("103").is_running());
}

#[test]
fn refusals_before_a_task_starts() {
    let mut state = demo_state();
    state.guest_mut(100).expect("100").lock = Some("backup".into());
    let mut sim = Sim::new(state);
    let text = |r: Result<String, SimError>| r.expect_err("refused").cli_text();
    assert_eq!(text(post(&mut sim, "/nodes/pve1/qemu/100/status/shutdown", &[])), "VM is locked (backup)\n");
    assert_eq!(text(post(&mut sim, "/nodes/pve2/lxc/106/status/start", &[])), "CT is locked (backup)\n");
    assert_eq!(
        text(post(&mut sim, "/nodes/pve2/qemu/100/status/start", &[])),
        "Configuration file 'nodes/pve2/qemu-server/100.conf' does not exist\n"
    );
    assert_eq!(text(post(&mut sim, "/nodes/pve2/qemu/104/status/shutdown", &[])), "VM is paused - cannot shutdown\n");
    post(&mut sim, "/nodes/pve2/qemu/104/status/shutdown", &[("forceStop", "1")]).expect("forced shutdown of a paused VM");
    post(&mut sim, "/nodes/pve1/qemu/100/status/stop", &[("skiplock", "1")]).expect("skiplock");
    assert_eq!(
        text(post(&mut sim, "/nodes/pve1/qemu/100/status/start", &[("skiplock", "1")])),
        "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout\n"
    );
    post(&mut sim, "/nodes/pve1/lxc/102/status/reboot", &[]).expect("starts");
    assert_eq!(
        text(post(&mut sim, "/nodes/pve1/lxc/102/status/stop", &[])),
        "can't lock file '/run/lock/lxc/pve-config-102.lock' - got timeout\n"
    );
    let e = sim.handle(Method::Post, "/nodes/pve1/lxc/102/status/reset", &Params::new()).expect_err("no reset for lxc");
    assert_eq!(e.cli_text(), "No 'create' handler defined for '/nodes/pve1/lxc/102/status/reset'\n");
    let e = post(&mut sim, "/nodes/pve1/qemu/103/status/shutdown", &[("timeout", "soon")]).expect_err("bad timeout");
    assert_eq!(e.params, vec![("timeout".to_owned(), "type check ('integer') failed - got 'soon'".to_owned())]);
    finish_all(&mut sim);
    post(&mut sim, "/nodes/pve1/lxc/102/status/stop", &[]).expect("the lock is free once the task ended");
}

#[test]
fn tasks_finish_lazily_once_due() {
    let mut state = demo_state();
    // An hour: the task cannot end by itself while the test runs; the test moves its end.
    state.settings.task_ms = 3_600_000;
    let mut sim = Sim::new(state);
    let upid = post(&mut sim, "/nodes/pve1/qemu/100/status/shutdown", &[]).expect("starts");
    let st = get(&mut sim, &format!("/nodes/pve1/tasks/{upid}/status"), &[]);
    assert_eq!((st["status"].as_str(), st.get("exitstatus")), (Some("running"), None));
    assert_eq!(get(&mut sim, "/nodes/pve1/qemu/100/status/current", &[])["status"], "running");
    let generation = sim.generation();
    get(&mut sim, "/version", &[]);
    assert_eq!(sim.generation(), generation, "nothing due: the state is not touched");
    sim.state_mut().tasks.iter_mut().find(|t| t.upid.to_string() == upid).and_then(|t| t.pending.as_mut()).expect("running").end_ms = 0;
    let st = get(&mut sim, &format!("/nodes/pve1/tasks/{upid}/status"), &[]);
    assert_eq!((st["status"].as_str(), st["exitstatus"].as_str()), (Some("stopped"), Some("OK")));
    assert_eq!(get(&mut sim, "/nodes/pve1/qemu/100/status/current", &[])["status"], "stopped");
}

#[test]
fn fault_outcomes() {
    let mut sim = with_fault(100, "shutdown", FaultOutcome::Fail { message: "VM quit/powerdown failed - got timeout".into() }, false);
    let upid = post(&mut sim, "/nodes/pve1/qemu/100/status/shutdown", &[]).expect("starts");
    finish_all(&mut sim);
    let t = task(&sim, &upid);
    assert_eq!(t.exitstatus.as_deref(), Some("VM quit/powerdown failed - got timeout"));
    assert_eq!(t.log.last().map(String::as_str), Some("TASK ERROR: VM quit/powerdown failed - got timeout"));
    assert!(sim.state().guest(100).expect("100").is_running(), "a failed task changes nothing");
    assert_eq!(sim.state().faults.tasks.len(), 1, "a lasting fault stays");

    let mut sim = with_fault(103, "start", FaultOutcome::Warn { count: 2, message: Some("no efidisk configured!".into()) }, true);
    let upid = post(&mut sim, "/nodes/pve1/qemu/103/status/start", &[]).expect("starts");
    assert!(sim.state().faults.tasks.is_empty(), "a once fault is consumed");
    finish_all(&mut sim);
    let t = task(&sim, &upid);
    assert_eq!(t.exitstatus.as_deref(), Some("WARNINGS: 2"));
    assert_eq!(t.log, ["WARN: no efidisk configured!", "WARN: no efidisk configured!", "TASK WARNINGS: 2"]);
    assert!(sim.state().guest(103).expect("103").is_running(), "warnings still apply the effect");
    let upid = post(&mut sim, "/nodes/pve1/qemu/103/status/stop", &[]).expect("starts");
    finish_all(&mut sim);
    assert_eq!(task(&sim, &upid).exitstatus.as_deref(), Some("OK"));

    let mut sim = with_fault(103, "start", FaultOutcome::Warn { count: 1, message: None }, false);
    sim.set_cli();
    let upid = post(&mut sim, "/nodes/pve1/qemu/103/status/start", &[]).expect("starts");
    finish_all(&mut sim);
    assert_eq!(task(&sim, &upid).log, ["WARN: injected warning", "", "TASK WARNINGS: 1"], "a CLI worker's log has the empty line");

    let mut sim = with_fault(100, "reboot", FaultOutcome::Hang { seconds: 3600 }, false);
    let upid = post(&mut sim, "/nodes/pve1/qemu/100/status/reboot", &[]).expect("starts");
    let end = end_ms(&sim, &upid);
    assert!(end >= task(&sim, &upid).upid.starttime * 1000 + 3_599_000, "runs an hour");
    sim.settle_at(end - 1);
    assert!(task(&sim, &upid).is_running(), "still running well past a client's deadline");
    sim.settle_at(end);
    assert_eq!(task(&sim, &upid).exitstatus.as_deref(), Some("OK"), "then ends normally");
}

#[test]
fn ha_managed_guests_change_state_later() {
    let mut sim = Sim::new(demo_state());
    let upid = post(&mut sim, "/nodes/pve1/qemu/101/status/shutdown", &[]).expect("starts");
    let end = end_ms(&sim, &upid);
    sim.settle_at(end);
    let t = task(&sim, &upid);
    assert_eq!((t.upid.task_type.as_str(), t.exitstatus.as_deref()), ("hastop", Some("OK")));
    assert_eq!(t.log, ["Requesting HA stop for VM 101", "TASK OK"]);
    let g = sim.state().guest(101).expect("101");
    assert!(g.is_running(), "the HA manager has not acted yet");
    assert_eq!(g.hastate.as_deref(), Some("stopped"));
    post(&mut sim, "/nodes/pve1/qemu/101/status/reboot", &[]).expect("an HA request holds no config lock");
    sim.settle_at(end + 999);
    assert!(sim.state().guest(101).expect("101").is_running(), "rebooted, HA stop still pending");
    sim.settle_at(end + 1000);
    assert!(!sim.state().guest(101).expect("101").is_running(), "stopped after the HA delay");
    let lrm = sim.state().tasks.iter().rev().find(|t| t.upid.task_type == "qmshutdown" && t.upid.id == "101").expect("the HA agent's task");
    assert_eq!(lrm.log[0], "task started by HA resource agent");
    let upid = post(&mut sim, "/nodes/pve1/qemu/101/status/start", &[]).expect("starts");
    finish_all(&mut sim);
    assert_eq!(task(&sim, &upid).log[0], "Requesting HA start for VM 101");
    assert!(sim.state().guest(101).expect("101").is_running());
}

#[test]
fn task_list_filters_and_running_tasks() {
    let mut sim = Sim::new(demo_state());
    let upid = post(&mut sim, "/nodes/pve1/qemu/100/status/shutdown", &[]).expect("starts");
    let active = get(&mut sim, "/nodes/pve1/tasks", &[("source", "active")]);
    let active = active.as_array().expect("array");
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["upid"], upid.as_str());
    assert!(active[0].get("endtime").is_none() && active[0].get("status").is_none());
    let archive = get(&mut sim, "/nodes/pve1/tasks", &[]);
    assert!(archive.as_array().expect("array").iter().all(|t| t["upid"] != upid.as_str()), "archive = finished only");
    assert_eq!(get(&mut sim, "/nodes/pve1/tasks", &[("source", "all")]).as_array().map(Vec::len), Some(4));
    let by_vm = get(&mut sim, "/nodes/pve1/tasks", &[("source", "all"), ("vmid", "100"), ("typefilter", "qmshutdown")]);
    assert_eq!(by_vm.as_array().map(Vec::len), Some(1));
    let page = get(&mut sim, "/nodes/pve1/tasks", &[("source", "all"), ("start", "1"), ("limit", "2")]);
    assert_eq!(page.as_array().map(Vec::len), Some(2));
    assert_ne!(page[0]["upid"], upid.as_str(), "the newest is skipped");
}
