//! Foreground tasks of the CLI faces: `pvesh create ...`, `qm shutdown ...` and the like run
//! their worker synchronously and print its output (FORMATS.md §0.2).
//!
//! A face that started a task returns [`Step::Wait`]; the caller waits until the task's end
//! time (the `pve-sim` tools do so without holding the state-file lock), lets the core
//! finalise it, and prints with [`Foreground::finish`]: the worker's log lines on stdout (not
//! the final `TASK ...` line), then the error text on stderr for a failed task (no
//! `TASK ERROR:` prefix) or `Task finished with n warning(s)!` for warnings. `qm`/`pct`
//! (`$upid_exit`) then exit 255 on a task error and 0 otherwise, printing no UPID. `pvesh`
//! prints the UPID in its output format and exits 0 even when the task failed: in the CLI
//! environment pve-common's `fork_worker` returns the UPID whatever the task's status, and
//! pve-manager's `PVE/CLI/pvesh.pm` `call_api_method` prints that result with no status check.

use std::time::Duration;

use serde_json::Value;

use super::core::Sim;
use super::pvesh_face::{Output, render};
use super::worker::now_ms;
use crate::model::ExitStatus;

/// How a CLI face reports a foreground task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Report {
    /// `pvesh`: the UPID last, in `format` (`json`, `json-pretty`, `text`), unless `quiet`.
    Pvesh {
        /// Output format.
        format: String,
        /// `--quiet`: no UPID.
        quiet: bool,
    },
    /// `qm`/`pct`: no UPID; exit 255 on a task error.
    Tool,
    /// `qm template`/`pct template`: as `Tool`, but exit 0 whatever the task's status.
    ToolExit0,
}

/// What a face gives back.
#[derive(Debug)]
pub(crate) enum Step {
    /// Finished: print this.
    Done(Output),
    /// A task runs in the foreground: wait for it, then [`Foreground::finish`].
    Wait(Foreground),
}

/// A task a CLI face waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Foreground {
    /// The task's UPID.
    pub upid: String,
    /// How to print its end.
    pub report: Report,
}

impl Foreground {
    /// When the task ends (milliseconds since the epoch); `None` once it has ended (or for a
    /// task that never ends on its own).
    pub(crate) fn end_ms(&self, sim: &Sim) -> Option<u64> {
        sim.state().task(&self.upid).and_then(|t| t.pending.as_ref()).map(|p| p.end_ms)
    }

    /// The face's output once the task has ended (finalising it if due); `None` while it runs.
    pub(crate) fn finish(&self, sim: &mut Sim) -> Option<Output> {
        sim.settle();
        let Some(task) = sim.state().task(&self.upid) else {
            return Some(Output::fail(format!("pve-sim: task {} vanished from the state\n", self.upid), 1));
        };
        let status = task.exitstatus.clone()?;
        let mut lines: &[String] = task.log.split_last().map_or(&[], |(_, rest)| rest);
        if status != "OK" && lines.last().is_some_and(String::is_empty) {
            lines = &lines[..lines.len() - 1];
        }
        let mut out = Output::ok(lines.iter().fold(String::new(), |acc, l| acc + l + "\n"));
        match ExitStatus::classify(&status) {
            ExitStatus::Ok => {}
            ExitStatus::Warnings(n) => out.stderr = format!("Task finished with {n} warning(s)!\n"),
            ExitStatus::Failed(msg) => {
                out.stderr = format!("{msg}\n");
                if self.report == Report::Tool {
                    out.code = 255;
                }
            }
        }
        if let Report::Pvesh { format, quiet: false } = &self.report {
            out.stdout.push_str(&render(&Value::String(self.upid.clone()), format, false, false));
        }
        Some(out)
    }
}

/// Sleeps until `end_ms` (milliseconds since the epoch) has passed.
pub(crate) fn sleep_until(end_ms: u64) {
    let now = now_ms();
    if end_ms >= now {
        std::thread::sleep(Duration::from_millis(end_ms - now + 2));
    }
}

/// Runs a step to its end on one simulator held throughout (no state file to unlock):
/// sleeps until the task's end, then prints.
pub(crate) fn run_to_end(sim: &mut Sim, step: Step) -> Output {
    let fg = match step {
        Step::Done(out) => return out,
        Step::Wait(fg) => fg,
    };
    loop {
        if let Some(out) = fg.finish(sim) {
            return out;
        }
        match fg.end_ms(sim) {
            Some(end) => sleep_until(end),
            None => return Output::fail(format!("pve-sim: task {} does not end\n", fg.upid), 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::demo::demo_state;
    use super::super::faults::{FaultOutcome, TaskFault};
    use super::super::{pvesh_face, tools};
    use super::*;
    use crate::model::GuestKind;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    /// The demo with 20 ms tasks and, optionally, a fault on guest 100's `action`.
    fn sim(fault: Option<(&str, FaultOutcome)>) -> Sim {
        let mut state = demo_state();
        state.settings.task_ms = 20;
        if let Some((action, outcome)) = fault {
            state.faults.tasks.push(TaskFault { vmid: 100, action: Some(action.into()), outcome, once: false });
        }
        Sim::new(state)
    }

    #[test]
    fn pvesh_prints_worker_output_then_the_upid_and_exits_0() {
        let mut s = sim(Some(("shutdown", FaultOutcome::Fail { message: "VM quit/powerdown failed - got timeout".into() })));
        let out = pvesh_face::run(&mut s, &argv(&["create", "/nodes/pve1/qemu/100/status/shutdown", "--output-format", "json"]));
        assert_eq!((out.code, out.stderr.as_str()), (0, "VM quit/powerdown failed - got timeout\n"));
        let upid: String = serde_json::from_str(out.stdout.trim_end()).expect("a JSON string");
        assert!(upid.starts_with("UPID:pve1:") && upid.contains(":qmshutdown:100:root@pam:"), "{upid}");
        let t = s.state().task(&upid).expect("task");
        assert_eq!(t.log, ["", "TASK ERROR: VM quit/powerdown failed - got timeout"], "foreground log");

        let out = pvesh_face::run(&mut s, &argv(&["create", "/nodes/pve1/qemu/101/status/stop"]));
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!((out.code, lines[0]), (0, "Requesting HA stop for VM 101"));
        assert!(lines[1].starts_with("UPID:pve1:") && lines.len() == 2, "text format: the bare UPID: {}", out.stdout);
        let out = pvesh_face::run(&mut s, &argv(&["create", "/nodes/pve1/qemu/103/status/start", "--quiet"]));
        assert_eq!((out.code, out.stdout.as_str(), out.stderr.as_str()), (0, "", ""));
    }

    #[test]
    fn qm_and_pct_exit_like_upid_exit() {
        let mut s = sim(Some((
            "start",
            FaultOutcome::Warn { count: 1, message: Some("no efidisk configured! Using temporary efivars disk.".into()) },
        )));
        let out = tools::run(&mut s, GuestKind::Qemu, &argv(&["stop", "100"]));
        assert_eq!((out.code, out.stdout.as_str(), out.stderr.as_str()), (0, "", ""));
        let out = tools::run(&mut s, GuestKind::Qemu, &argv(&["start", "100"]));
        assert_eq!(out.stdout, "WARN: no efidisk configured! Using temporary efivars disk.\n");
        assert_eq!((out.code, out.stderr.as_str()), (0, "Task finished with 1 warning(s)!\n"));
        let out = tools::run(&mut s, GuestKind::Qemu, &argv(&["start", "100"]));
        assert_eq!((out.code, out.stderr.as_str()), (255, "VM 100 already running\n"), "a failed task exits 255");
        let out = tools::run(&mut s, GuestKind::Qemu, &argv(&["shutdown", "100", "--timeout", "30", "--forceStop", "1"]));
        assert_eq!(out.code, 0, "{}", out.stderr);
        let out = tools::run(&mut s, GuestKind::Lxc, &argv(&["snapshot", "102", "snap1", "--description", "a \"b\"; $(c)"]));
        assert_eq!(out.code, 0, "{}", out.stderr);
        let snap = s.state().guest(102).and_then(|g| g.snapshots.iter().find(|x| x.name == "snap1")).expect("created");
        assert_eq!(snap.description, "a \"b\"; $(c)");
        let out = tools::run(&mut s, GuestKind::Lxc, &argv(&["snapshot", "102", "snap1", "--vmstate", "1"]));
        assert_eq!(
            (out.code, out.stderr.as_str()),
            (255, "Unknown option: vmstate\n400 unable to parse option\npct snapshot <vmid> <snapname> [OPTIONS]\n")
        );
        let out = tools::run(&mut s, GuestKind::Lxc, &argv(&["rollback", "102", "9bad"]));
        assert!(out.stderr.starts_with("400 Parameter verification failed.\nsnapname: invalid format"), "{}", out.stderr);
        let out = tools::run(&mut s, GuestKind::Lxc, &argv(&["delsnapshot", "102", "nope"]));
        assert_eq!((out.code, out.stderr.as_str()), (255, "snapshot 'nope' does not exist\n"));
        let out = tools::run(&mut s, GuestKind::Lxc, &argv(&["reset", "102"]));
        assert!(out.stderr.starts_with("ERROR: unknown command 'pct reset'\n"), "{}", out.stderr);
        let out = tools::run(&mut s, GuestKind::Qemu, &argv(&["start", "104"]));
        assert_eq!((out.code, out.stderr.as_str()), (255, "Configuration file 'nodes/pve1/qemu-server/104.conf' does not exist\n"));
    }
}
