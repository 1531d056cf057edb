//! `pvectl sim show|reset|fault`: the built-in simulator's state file (the one `-t sim`
//! uses: `PVE_SIM_STATE`, else `sim.json` in the user's state directory), read and written
//! under the same lock as every `-t sim` run and the `pve-sim` tools. These commands touch
//! only that file: nothing is sent to any PVE, so there is no plan, no consent and no audit
//! record; `--dry-run` prints the state a command would leave and changes nothing.
//!
//! `fault` writes the fault entries the simulator already has (`backend/sim/faults.rs`:
//! task faults, tool hangs, denied privileges, agent down, slow calls) and two plain state
//! conditions (a guest's `lock`, a node's `online`), so a failure path can be tried from the
//! command line: `pvectl sim fault lock 100 backup` then `pvectl -t sim guest start 100`
//! exits 6 naming the lock.

use std::io::IsTerminal as _;

use clap::{Subcommand, ValueEnum};
use serde_json::{Value, json};

use super::args::{ColorChoice, GlobalArgs, OutputFormat};
use super::output::{Table, print, print_error};
use crate::backend::sim::{
    Denied, FaultOutcome, SimEnv, SimState, SimStateFile, TaskFault, ToolHang, demo_state, replace_state, sim_state_file_from_env,
    with_state,
};
use crate::error::{Error, Result};
use crate::exit_codes;
use crate::model::{GuestKind, NodeName, Vmid};

/// `sim ...`
#[derive(Debug, Subcommand)]
pub enum SimCmd {
    /// The state file `-t sim` uses, and what is injected in it: faults, locked guests,
    /// offline nodes.
    #[command(visible_alias = "status")]
    Show,
    /// Start over: replace the state with the demo cluster (running guests, snapshots,
    /// tasks and faults made since are gone). Touches only the simulator: no consent needed.
    Reset,
    /// Inject a fault that every later `-t sim` run (and the `pve-sim` tools given the same
    /// file) sees.
    #[command(subcommand)]
    Fault(SimFault),
}

/// `sim fault ...`
#[derive(Debug, Subcommand)]
pub enum SimFault {
    /// Lock a guest as PVE does while a job holds it (`lock: <LOCK>` in its config): actions
    /// on it are refused with exit 6 until `guest unlock` or `sim fault clear lock`.
    Lock {
        /// The guest.
        vmid: Vmid,
        /// PVE's lock name.
        lock: SimLock,
    },
    /// Make a guest's tasks fail: they end `TASK ERROR: <message>`, their effect not
    /// applied (pvectl exits 7).
    TaskFail {
        /// The guest.
        vmid: Vmid,
        /// Only tasks of this action (default: every action).
        #[arg(long)]
        action: Option<SimTaskAction>,
        /// The task's error text.
        #[arg(long, default_value = "injected failure")]
        message: String,
        /// Only the next matching task.
        #[arg(long)]
        once: bool,
    },
    /// Make a guest's tasks end with warnings (`TASK WARNINGS: <count>`; effect applied,
    /// pvectl exits 0 and reports them).
    TaskWarn {
        /// The guest.
        vmid: Vmid,
        /// Only tasks of this action (default: every action).
        #[arg(long)]
        action: Option<SimTaskAction>,
        /// Number of `WARN:` lines.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        count: u32,
        /// The warning text (default `injected warning`).
        #[arg(long)]
        message: Option<String>,
        /// Only the next matching task.
        #[arg(long)]
        once: bool,
    },
    /// Make a guest's tasks run SECONDS before they end normally (a slow task: `--timeout`
    /// and `--no-wait` behaviour).
    TaskSlow {
        /// The guest.
        vmid: Vmid,
        /// How long each task runs, seconds.
        seconds: u64,
        /// Only tasks of this action (default: every action).
        #[arg(long)]
        action: Option<SimTaskAction>,
        /// Only the next matching task.
        #[arg(long)]
        once: bool,
    },
    /// Take a node offline: it lists `offline`, its guests `unknown`, and every read proxied
    /// to it answers `595 No route to host` (exit 9).
    NodeOffline {
        /// The node.
        node: NodeName,
    },
    /// A qemu guest's agent is configured but not running (`QEMU guest agent is not running`).
    AgentDown {
        /// The qemu guest.
        vmid: Vmid,
    },
    /// Slow calls: every API call answers MS milliseconds late (stands in for a busy node or
    /// Perl start-up; `0` removes it).
    Latency {
        /// Delay per call, milliseconds.
        ms: u64,
    },
    /// A call to an API path does not answer for SECONDS (default an hour): `-t sim`, `pve-sim
    /// serve` and the `pve-sim` tools (`pvesh get PATH`, `qm status ...`) hang on it, so the
    /// command's deadline ends it (exit 9 for a read). `*` matches one path segment.
    Hang {
        /// API path pattern, e.g. `/cluster/resources` or `/nodes/*/tasks/*/status`.
        path: String,
        /// Matching calls that still answer before the hang begins.
        #[arg(long, default_value_t = 0)]
        after: u32,
        /// How long a hanging call sleeps, seconds.
        #[arg(long, default_value_t = 3600)]
        seconds: u64,
        /// The `pve-sim` tools also start a child that keeps their output open while it sleeps.
        #[arg(long)]
        child: bool,
    },
    /// Deny a privilege on an ACL path and below: checks fail with 403 (exit 4) and lists
    /// leave the object out (so a guest found through the listing reads as not found, exit 5;
    /// `--node N --kind K` skips the listing).
    Deny {
        /// ACL path: `/vms/101`, `/nodes/pve2`, `/storage/nas`, `/`.
        path: String,
        /// Privilege: `VM.Audit`, `VM.PowerMgmt`, `Sys.Audit`, `Datastore.Audit`, ...
        privilege: String,
    },
    /// Remove injected faults: every kind, or one.
    Clear {
        /// The kind to remove (default: all). `lock` unlocks every guest, the demo's 106 too.
        kind: Option<SimFaultKind>,
    },
}

/// PVE's guest lock names (qemu-server and pve-container `lock` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimLock {
    /// vzdump is backing the guest up.
    Backup,
    /// A clone is being made.
    Clone,
    /// The guest is being created or restored.
    Create,
    /// The guest is migrating.
    Migrate,
    /// A snapshot is being rolled back.
    Rollback,
    /// A snapshot is being taken.
    Snapshot,
    /// A snapshot is being deleted.
    SnapshotDelete,
    /// The guest is suspending to disk.
    Suspending,
    /// The guest is suspended to disk.
    Suspended,
    /// A disk operation runs (lxc).
    Disk,
    /// The container's volumes are mounted on the host (lxc).
    Mounted,
}

impl SimLock {
    /// PVE's spelling.
    fn as_str(self) -> &'static str {
        match self {
            Self::Backup => "backup",
            Self::Clone => "clone",
            Self::Create => "create",
            Self::Migrate => "migrate",
            Self::Rollback => "rollback",
            Self::Snapshot => "snapshot",
            Self::SnapshotDelete => "snapshot-delete",
            Self::Suspending => "suspending",
            Self::Suspended => "suspended",
            Self::Disk => "disk",
            Self::Mounted => "mounted",
        }
    }
}

/// The actions a task fault can be limited to: the simulator's task types without their
/// `qm`/`vz` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "lower")]
pub enum SimTaskAction {
    /// `guest start` (and HA `hastart`).
    Start,
    /// `guest stop`.
    Stop,
    /// `guest shutdown`.
    Shutdown,
    /// `guest reboot`.
    Reboot,
    /// `guest reset`.
    Reset,
    /// `guest suspend`.
    Suspend,
    /// `guest resume`.
    Resume,
    /// `snapshot create`.
    Snapshot,
    /// `snapshot rollback`.
    Rollback,
    /// `snapshot delete`.
    Delsnapshot,
    /// `backup create` (per guest of the job).
    Vzdump,
    /// `backup restore`.
    Restore,
    /// `guest clone`.
    Clone,
    /// `guest create`.
    Create,
    /// `guest template`.
    Template,
    /// `guest delete`.
    Destroy,
    /// `guest migrate`.
    Migrate,
    /// `guest resize`.
    Resize,
    /// `guest move-disk`.
    Move,
}

impl SimTaskAction {
    /// The name the simulator matches.
    fn name(self) -> String {
        self.to_possible_value().map(|v| v.get_name().to_owned()).unwrap_or_default()
    }
}

/// The kinds `sim fault clear` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimFaultKind {
    /// Every guest lock.
    Lock,
    /// Every task fault (fail, warn, slow).
    Task,
    /// Every offline node comes back online.
    NodeOffline,
    /// Every agent-down entry.
    AgentDown,
    /// Slow calls.
    Latency,
    /// Tool hangs.
    Hang,
    /// Denied privileges.
    Deny,
}

/// Runs a `sim` command; returns the exit code after printing any error.
pub(crate) fn run(g: &GlobalArgs, cmd: &SimCmd) -> i32 {
    // As `Config::from_args` decides them, without needing a target.
    let output = g.output().unwrap_or(if std::io::stdout().is_terminal() { OutputFormat::Table } else { OutputFormat::Json });
    let color = match g.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    match handle(output, cmd, g.dry_run) {
        Ok(()) => exit_codes::OK,
        Err(e) => {
            print_error(output, &e, color);
            e.exit_code()
        }
    }
}

/// Runs `cmd` on the state file and prints the summary of the state it leaves; with
/// `dry_run`, of the state it would leave, changing nothing.
fn handle(out: OutputFormat, cmd: &SimCmd, dry_run: bool) -> Result<()> {
    let file = sim_state_file_from_env().map_err(Error::Internal)?.ok_or_else(|| {
        Error::Usage(
            "the simulator keeps no state: none of PVE_SIM_STATE, XDG_STATE_HOME, HOME is set (each -t sim run starts from the demo)"
                .into(),
        )
    })?;
    let env = SimEnv { state_path: Some(file.path().to_path_buf()), ..SimEnv::default() };
    let state = match cmd {
        SimCmd::Reset => {
            let demo = demo_state();
            if !dry_run {
                replace_state(file.path(), &demo).map_err(Error::Internal)?;
            }
            demo
        }
        SimCmd::Show => with_state(&env, |sim| sim.state().clone()).map_err(Error::Internal)?,
        SimCmd::Fault(f) => {
            // Checked against the state and applied under one lock: no other run changes it in
            // between; saved only when it applies.
            let edit = |sim: &mut crate::backend::sim::Sim| {
                let mut st = sim.state().clone();
                apply(&mut st, f)?;
                if !dry_run {
                    sim.state_mut().clone_from(&st);
                }
                Ok::<_, Error>(st)
            };
            with_state(&env, edit).map_err(Error::Internal)??
        }
    };
    let mut doc = summary(&file, &state);
    if dry_run {
        doc["dry_run"] = Value::Bool(true);
    }
    print(out, &doc, |d| {
        let mut t = Table::new(&["KEY", "VALUE"]);
        if let Some(o) = d.as_object() {
            for (k, v) in o {
                t.row(vec![k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)]);
            }
        }
        t
    })
}

/// Applies one fault to the state; an unknown guest or node is `NotFound` (exit 5) and
/// changes nothing.
fn apply(st: &mut SimState, f: &SimFault) -> Result<()> {
    let guest = |st: &SimState, vmid: Vmid| {
        let id = vmid.get();
        st.guests.iter().position(|g| g.vmid == id).ok_or_else(|| Error::NotFound(format!("guest {id} is not in the simulator")))
    };
    let task = |vmid: Vmid, action: Option<SimTaskAction>, outcome: FaultOutcome, once: bool| TaskFault {
        vmid: vmid.get(),
        action: action.map(SimTaskAction::name),
        outcome,
        once,
    };
    match f {
        SimFault::Lock { vmid, lock } => {
            let i = guest(st, *vmid)?;
            st.guests[i].lock = Some(lock.as_str().to_owned());
        }
        SimFault::TaskFail { vmid, action, message, once } => {
            guest(st, *vmid)?;
            st.faults.tasks.push(task(*vmid, *action, FaultOutcome::Fail { message: message.clone() }, *once));
        }
        SimFault::TaskWarn { vmid, action, count, message, once } => {
            guest(st, *vmid)?;
            st.faults.tasks.push(task(*vmid, *action, FaultOutcome::Warn { count: *count, message: message.clone() }, *once));
        }
        SimFault::TaskSlow { vmid, seconds, action, once } => {
            guest(st, *vmid)?;
            st.faults.tasks.push(task(*vmid, *action, FaultOutcome::Hang { seconds: *seconds }, *once));
        }
        SimFault::NodeOffline { node } => {
            let n = st
                .nodes
                .iter_mut()
                .find(|n| n.name == node.as_str())
                .ok_or_else(|| Error::NotFound(format!("node {node} is not in the simulator")))?;
            n.online = false;
        }
        SimFault::AgentDown { vmid } => {
            let i = guest(st, *vmid)?;
            if st.guests[i].kind != GuestKind::Qemu {
                return Err(Error::Usage(format!("guest {vmid} is a container: only qemu guests have a guest agent")));
            }
            if !st.faults.agent_down.contains(&vmid.get()) {
                st.faults.agent_down.push(vmid.get());
            }
        }
        SimFault::Latency { ms } => st.faults.latency_ms = (*ms > 0).then_some(*ms),
        SimFault::Hang { path, after, seconds, child } => {
            if !path.starts_with('/') {
                return Err(Error::Usage(format!("hang path {path:?} must be an API path starting with /")));
            }
            st.faults.hang.push(ToolHang { path: path.clone(), after: *after, child: *child, seconds: *seconds, calls: 0 });
        }
        SimFault::Deny { path, privilege } => {
            if !path.starts_with('/') {
                return Err(Error::Usage(format!("ACL path {path:?} must start with /")));
            }
            st.faults.denied.push(Denied { path: path.clone(), privilege: privilege.clone() });
        }
        SimFault::Clear { kind } => clear(st, *kind),
    }
    Ok(())
}

/// Removes one kind of fault, or every kind.
fn clear(st: &mut SimState, kind: Option<SimFaultKind>) {
    let all = kind.is_none();
    let is = |k: SimFaultKind| all || kind == Some(k);
    if is(SimFaultKind::Lock) {
        st.guests.iter_mut().for_each(|g| g.lock = None);
    }
    if is(SimFaultKind::NodeOffline) {
        st.nodes.iter_mut().for_each(|n| n.online = true);
    }
    let f = &mut st.faults;
    if is(SimFaultKind::Task) {
        f.tasks.clear();
    }
    if is(SimFaultKind::AgentDown) {
        f.agent_down.clear();
    }
    if is(SimFaultKind::Latency) {
        f.latency_ms = None;
    }
    if is(SimFaultKind::Hang) {
        f.hang.clear();
    }
    if is(SimFaultKind::Deny) {
        f.denied.clear();
    }
}

/// What `sim show` prints: `{"state_file", "source", "locked": [{vmid, lock}],
/// "offline_nodes": [..], "faults": {denied, tasks, hang, agent_down, agent_exec_hang,
/// latency_ms}}` (the state file's own field names).
fn summary(file: &SimStateFile, st: &SimState) -> Value {
    let locked: Vec<Value> = st.guests.iter().filter_map(|g| g.lock.as_ref().map(|l| json!({"vmid": g.vmid, "lock": l}))).collect();
    let offline: Vec<&str> = st.nodes.iter().filter(|n| !n.online).map(|n| n.name.as_str()).collect();
    json!({
        "state_file": file.path().display().to_string(),
        "source": file.source(),
        "locked": locked,
        "offline_nodes": offline,
        "faults": st.faults,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vmid(n: u32) -> Vmid {
        n.to_string().parse().expect("vmid")
    }

    #[test]
    fn faults_land_in_the_existing_fields_and_clear_removes_them() {
        let mut st = demo_state();
        apply(&mut st, &SimFault::Lock { vmid: vmid(100), lock: SimLock::SnapshotDelete }).expect("lock");
        assert_eq!(st.guests.iter().find(|g| g.vmid == 100).and_then(|g| g.lock.as_deref()), Some("snapshot-delete"));
        let fail = SimFault::TaskFail { vmid: vmid(100), action: Some(SimTaskAction::Delsnapshot), message: "boom".into(), once: true };
        apply(&mut st, &fail).expect("task fault");
        assert_eq!(st.faults.take_task_fault(100, &["delsnapshot"]), Some(FaultOutcome::Fail { message: "boom".into() }));
        apply(&mut st, &SimFault::NodeOffline { node: "pve3".parse().expect("node") }).expect("offline");
        apply(&mut st, &SimFault::Latency { ms: 50 }).expect("latency");
        apply(&mut st, &SimFault::AgentDown { vmid: vmid(100) }).expect("agent");
        apply(&mut st, &SimFault::AgentDown { vmid: vmid(100) }).expect("twice is once");
        assert_eq!(st.faults.agent_down, vec![100]);
        clear(&mut st, Some(SimFaultKind::Latency));
        assert_eq!(st.faults.latency_ms, None);
        assert!(st.nodes.iter().any(|n| !n.online), "only latency cleared");
        clear(&mut st, None);
        assert!(st.nodes.iter().all(|n| n.online) && st.guests.iter().all(|g| g.lock.is_none()));
        assert_eq!(st.faults, crate::backend::sim::Faults::default());
    }

    #[test]
    fn unknown_guests_and_nodes_are_not_found_and_change_nothing() {
        let mut st = demo_state();
        let e = apply(&mut st, &SimFault::Lock { vmid: vmid(999), lock: SimLock::Backup }).expect_err("no guest 999");
        assert_eq!(e.exit_code(), exit_codes::NOT_FOUND);
        let e = apply(&mut st, &SimFault::NodeOffline { node: "pve9".parse().expect("node") }).expect_err("no node pve9");
        assert_eq!(e.exit_code(), exit_codes::NOT_FOUND);
        let e = apply(&mut st, &SimFault::AgentDown { vmid: vmid(102) }).expect_err("102 is lxc");
        assert_eq!(e.exit_code(), exit_codes::USAGE);
        assert_eq!(st, demo_state());
    }
}
