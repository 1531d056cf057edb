//! Worker tasks that take time: starting one, and finishing those whose time has come.
//!
//! A task records its wall-clock start (the UPID's `starttime`) and planned end
//! ([`Pending::end_ms`]); it is `running` until then. Nothing runs in the background:
//! every call into the core first finalises the tasks whose end has passed and carries out
//! due HA requests ([`Sim::settle_at`]), so a task started by one `pve-sim` process ends when
//! any later process, or the in-process simulator, looks. Finalising applies the task's
//! [`Effect`], releases its config lock and appends the status line as pve-common's
//! `fork_worker` does (FORMATS.md §0.2): `TASK OK`, `TASK WARNINGS: n` or `TASK ERROR: <msg>`
//! (newlines in the message replaced by spaces).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::core::Sim;
use super::error::SimError;
use super::faults::FaultOutcome;
use super::snapshots::{apply_create, apply_delete, apply_rollback};
use super::state::{SimGuest, SimState};
use super::task_state::{Effect, HaPending, Pending, PowerTo, SimTask};
use crate::model::{GuestKind, NodeName, Upid};

/// The simulator's clock: milliseconds since the Unix epoch (0 if the system clock is
/// before 1970).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What an API handler decided before forking its worker.
pub(crate) struct NewTask {
    /// Node the task runs on.
    pub node: String,
    /// Task type (`qmstart`, `vzsnapshot`, `hastart`, ...).
    pub task_type: String,
    /// The guest (the UPID's `id`).
    pub vmid: u32,
    /// Fault actions this task matches (`["start"]`; `["stop", "shutdown"]` for `hastop`).
    pub fault_actions: &'static [&'static str],
    /// Lines the worker prints.
    pub log: Vec<String>,
    /// The error the worker dies with, found from the state at start (`VM 100 not running`).
    pub error: Option<String>,
    /// What the task changes when it ends without error.
    pub effect: Effect,
    /// Config lock held while the task runs (only taken when the worker gets that far).
    pub lock: Option<String>,
    /// Whether the guest's config file lock is held for the whole run.
    pub holds_config_lock: bool,
    /// The UPID's id when it is not the vmid (`""` for a multi-guest vzdump, `102@nas`).
    pub id: Option<String>,
    /// The guests that take `lock` (empty = `vmid`).
    pub locked: Vec<u32>,
    /// Warnings the worker logged (its `WARN:` lines are in `log`).
    pub warnings: u32,
}

/// A new UPID on `node` for `task_type`/`id` started at `at_ms` by `user`. The pid is
/// unique within the state (tasks are never removed); `pstart` is the node's uptime in clock
/// ticks (100 Hz) plus the pid, as a process started after boot would have.
pub(crate) fn new_upid(st: &SimState, node: &str, task_type: &str, id: &str, at_ms: u64, user: &str) -> Result<Upid, SimError> {
    let node_name: NodeName = node.parse().map_err(|_| SimError::no_node(node))?;
    let pid = 0x0010_0000 + u32::try_from(st.tasks.len()).unwrap_or(0xFFFF);
    let uptime = st.node(node).map_or(0, |n| n.uptime);
    let starttime = u32::try_from(at_ms / 1000).unwrap_or(u32::MAX);
    Upid::encode(&node_name, pid, uptime * 100 + u64::from(pid), starttime, task_type, id, user).map_err(|e| SimError::die(e.to_string()))
}

impl Sim {
    /// Starts a worker task now and returns its UPID as the API returns it (a JSON string).
    /// A matching task fault is applied (and consumed if `once`); the config lock is taken.
    pub(crate) fn start_task(&mut self, t: NewTask) -> Result<Value, SimError> {
        let now = now_ms();
        let foreground = self.is_cli();
        // The task belongs to whoever asked (an API token over REST), so it can read it back.
        let user = self.caller_userid().to_owned();
        let st = self.state_mut();
        let mut duration = st.settings.task_ms;
        let (mut log, mut error, mut warnings) = (t.log, t.error, t.warnings);
        let lock = if error.is_none() { t.lock } else { None };
        match st.faults.take_task_fault(t.vmid, t.fault_actions) {
            Some(FaultOutcome::Hang { seconds }) => duration = seconds.saturating_mul(1000),
            Some(FaultOutcome::Fail { message }) if error.is_none() => error = Some(message),
            Some(FaultOutcome::Warn { count, message }) if error.is_none() => {
                let text = message.unwrap_or_else(|| "injected warning".to_owned());
                log.extend((0..count).map(|_| format!("WARN: {text}")));
                warnings = count;
            }
            _ => {}
        }
        let id = t.id.unwrap_or_else(|| t.vmid.to_string());
        let upid = new_upid(st, &t.node, &t.task_type, &id, now, &user)?;
        let locked = if t.locked.is_empty() { vec![t.vmid] } else { t.locked };
        if let Some(l) = &lock {
            for v in &locked {
                if let Some(g) = st.guest_mut(*v) {
                    g.lock = Some(l.clone());
                }
            }
        }
        let pending = Pending {
            end_ms: now.saturating_add(duration),
            error,
            warnings,
            effect: t.effect,
            lock,
            holds_config_lock: t.holds_config_lock,
            foreground,
            locked,
        };
        st.tasks.push(SimTask { upid: upid.clone(), endtime: None, exitstatus: None, log, pending: Some(pending) });
        Ok(json!(upid.as_str()))
    }

    /// Finalises every task whose end time is at or before `now` (milliseconds since the
    /// epoch), oldest end first, then carries out the HA requests due by `now`. Leaves the
    /// state untouched (and [`Sim::generation`] unchanged) when nothing is due.
    pub(crate) fn settle_at(&mut self, now: u64) {
        let due = |t: &SimTask| t.pending.as_ref().is_some_and(|p| p.end_ms <= now);
        if !self.state().tasks.iter().any(due) && !self.state().ha_pending.iter().any(|h| h.due_ms <= now) {
            return;
        }
        let st = self.state_mut();
        while let Some(i) = st
            .tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| due(t))
            .min_by_key(|(_, t)| t.pending.as_ref().map_or(0, |p| p.end_ms))
            .map(|(i, _)| i)
        {
            finalise(st, i);
        }
        st.ha_pending.sort_by_key(|h| h.due_ms);
        let (ready, later): (Vec<HaPending>, Vec<HaPending>) =
            std::mem::take(&mut st.ha_pending).into_iter().partition(|h| h.due_ms <= now);
        st.ha_pending = later;
        for h in ready {
            ha_act(st, &h);
        }
    }
}

/// Ends task `i`: status line, exit status, end time, lock release, effect.
fn finalise(st: &mut SimState, i: usize) {
    let task = &mut st.tasks[i];
    let Some(p) = task.pending.take() else { return };
    let status = match &p.error {
        Some(e) => e.replace('\n', " "),
        None if p.warnings > 0 => format!("WARNINGS: {}", p.warnings),
        None => "OK".to_owned(),
    };
    if let (Some(_), Effect::Restore { vmid, .. }) = (&p.error, &p.effect) {
        // qemu-server's `qmrestore` worker (`API2/Qemu.pm`), a Perl `warn`.
        task.log.push(format!(
            "error before or during data restore, some or all disks were not completely restored. VM {vmid} state is NOT cleaned up."
        ));
    }
    if p.foreground && status != "OK" {
        task.log.push(String::new());
    }
    task.log.push(if p.error.is_some() { format!("TASK ERROR: {status}") } else { format!("TASK {status}") });
    task.exitstatus = Some(status);
    task.endtime = Some((p.end_ms / 1000).max(task.upid.starttime));
    let locked: Vec<u32> = if p.locked.is_empty() { task.upid.id.parse().ok().into_iter().collect() } else { p.locked.clone() };
    if let Some(lock) = &p.lock {
        for v in locked {
            if let Some(g) = st.guest_mut(v).filter(|g| g.lock.as_ref() == Some(lock)) {
                g.lock = None;
            }
        }
    }
    if p.error.is_none() {
        apply_effect(st, p.effect, p.end_ms);
    } else {
        super::provision::apply_failure(st, &p.effect);
    }
}

/// Applies a finished task's effect.
fn apply_effect(st: &mut SimState, effect: Effect, end_ms: u64) {
    let ha_delay = st.settings.ha_delay_ms;
    match effect {
        Effect::None => {}
        Effect::Power { vmid, to } => {
            if let Some(g) = st.guest_mut(vmid) {
                set_power(g, to);
            }
        }
        Effect::HaRequest { vmid, start } => {
            if let Some(g) = st.guest_mut(vmid) {
                g.hastate = Some(if start { "started" } else { "stopped" }.to_owned());
            }
            st.ha_pending.push(HaPending { vmid, due_ms: end_ms.saturating_add(ha_delay), start, migrate_to: None });
        }
        Effect::SnapshotCreate { vmid, snapshot } => {
            if let Some(g) = st.guest_mut(vmid) {
                apply_create(g, snapshot);
            }
        }
        Effect::SnapshotRollback { vmid, name, start } => {
            if let Some(g) = st.guest_mut(vmid) {
                apply_rollback(g, &name, start);
            }
        }
        Effect::SnapshotDelete { vmid, name } => {
            if let Some(g) = st.guest_mut(vmid) {
                apply_delete(g, &name);
            }
        }
        Effect::Vzdump { backups } => super::backups::apply_vzdump(st, backups),
        Effect::VolumeDelete { volid, node } => st.volumes.retain(|v| v.volid != volid || v.node != node),
        Effect::Restore { vmid, volid, storage, start } => super::backups::apply_restore(st, vmid, &volid, storage.as_deref(), start),
        Effect::Provision { vmid, start } => {
            if let Some(g) = st.guest_mut(vmid).filter(|_| start) {
                set_power(g, PowerTo::Started);
            }
        }
        Effect::Template { vmid } => {
            if let Some(g) = st.guest_mut(vmid) {
                g.template = true;
            }
        }
        Effect::Destroy { vmid, purge } => super::provision::apply_destroy(st, vmid, purge),
        Effect::Migrate { vmid, target, volumes, .. } => super::migrate::apply_migrate(st, vmid, &target, &volumes),
        Effect::HaMigrate { vmid, target } => {
            st.ha_pending.push(HaPending { vmid, due_ms: end_ms.saturating_add(ha_delay), start: true, migrate_to: Some(target) });
        }
        Effect::DiskChange { vmid, disk, value, unused } => super::disks::apply_disk_change(st, vmid, &disk, value, unused),
    }
}

/// The HA manager carries out a request: the local resource manager starts or shuts the
/// guest down in a task of its own, logged `task started by HA resource agent` (pve-common
/// `fork_worker` for rpcenv type `ha`).
fn ha_act(st: &mut SimState, h: &HaPending) {
    if let Some(target) = &h.migrate_to {
        super::ha::ha_migrate(st, h.vmid, target, h.due_ms);
        return;
    }
    let Some(g) = st.guest_mut(h.vmid) else { return };
    if h.start == g.is_running() {
        return;
    }
    set_power(g, if h.start { PowerTo::Started } else { PowerTo::Stopped });
    let (node, kind) = (g.node.clone(), g.kind);
    let task_type = match (kind, h.start) {
        (GuestKind::Qemu, true) => "qmstart",
        (GuestKind::Qemu, false) => "qmshutdown",
        (GuestKind::Lxc, true) => "vzstart",
        (GuestKind::Lxc, false) => "vzshutdown",
    };
    if let Ok(upid) = new_upid(st, &node, task_type, &h.vmid.to_string(), h.due_ms, "root@pam") {
        let log = vec!["task started by HA resource agent".to_owned(), "TASK OK".to_owned()];
        let endtime = Some((h.due_ms / 1000).max(upid.starttime));
        st.tasks.push(SimTask { upid, endtime, exitstatus: Some("OK".to_owned()), log, pending: None });
    }
}

/// Sets a guest's run state and the figures that go with it.
pub(crate) fn set_power(g: &mut SimGuest, to: PowerTo) {
    let qemu = g.kind == GuestKind::Qemu;
    match to {
        PowerTo::Started => {
            super::config::apply_pending(g);
            "running".clone_into(&mut g.status);
            g.qmpstatus = qemu.then(|| "running".to_owned());
            g.pid = Some(g.pid.map_or(100_000 + u64::from(g.vmid) * 7, |p| p + 17));
            g.uptime = 1;
            g.cpu = 0.05;
            g.mem = g.maxmem / 4;
            if !qemu {
                g.disk = g.maxdisk / 4;
            }
        }
        PowerTo::Running => {
            "running".clone_into(&mut g.status);
            g.qmpstatus = qemu.then(|| "running".to_owned());
        }
        PowerTo::Paused => {
            // qemu: the QEMU run state is `paused` while `status` stays `running`. (lxc
            // `suspend` stops the container instead, `actions.rs`; a container frozen by
            // other means keeps its monitor socket and still reads `running`, pve-container
            // `LXC.pm` `vmstatus` / `list_active_containers`.)
            if qemu {
                g.qmpstatus = Some("paused".to_owned());
            }
            g.cpu = 0.0;
        }
        PowerTo::Stopped => {
            "stopped".clone_into(&mut g.status);
            g.qmpstatus = None;
            g.pid = None;
            (g.cpu, g.mem, g.swap, g.uptime) = (0.0, 0, 0, 0);
            (g.netin, g.netout, g.diskread, g.diskwrite) = (0, 0, 0, 0);
            if !qemu {
                g.disk = 0;
            }
        }
    }
}
