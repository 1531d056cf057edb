//! Write routes: power actions (`POST /nodes/{node}/{kind}/{vmid}/status/{action}`) and
//! snapshots (handlers in `snapshots.rs`), each starting a worker task (`worker.rs`).
//!
//! Checks that fail the call itself, before a task starts (pvesh/qm/pct: the bare text on
//! stderr, exit 255): the privilege on `/vms/{vmid}`, the config
//! (`Configuration file 'nodes/<node>/qemu-server/<vmid>.conf' does not exist`), the config
//! lock (`VM is locked (<lock>)` / `CT is locked (<lock>)`, pve-guest-common
//! `AbstractConfig.pm` `check_lock`; skipped with `skiplock`), and another task holding the
//! guest's config file lock (`can't lock file '/var/lock/qemu-server/lock-<vmid>.conf' - got
//! timeout`, lxc `/run/lock/lxc/pve-config-<vmid>.lock`; pve-common `Tools.pm`
//! `lock_file_full`, answered at once rather than after PVE's 10 s wait). Wrong-state errors
//! of qemu guests (`VM 100 not running`, `VM 100 already running`) happen inside the worker:
//! the task starts and fails. pve-container checks a container's run state before forking
//! the worker (`API2/LXC/Status.pm`: `die "CT $vmid already running\n" if
//! PVE::LXC::check_running($vmid)` in `vm_start` and `vm_resume`, `CT $vmid not running` in
//! `vm_stop`, `vm_shutdown` and `vm_suspend`, and `VM $vmid not running` in `vm_reboot`), so
//! for lxc those fail the call. Parameter lists follow the API schema (pve-docs `apidoc.js`).
//!
//! lxc `suspend` is not a freeze: pve-container's `vzsuspend` worker runs
//! `lxc-checkpoint -n <vmid> -s -D /var/lib/vz/dump` (a CRIU dump, then stop), so afterwards
//! the container reads `stopped`; `vzresume` (`lxc-checkpoint -r --foreground`) needs it not
//! running and restores it to `running`. `status/current` has no field for either state.

use serde_json::Value;

use super::core::{Sim, req_kind};
use super::error::SimError;
use super::route::{Handler, Request, Route};
use super::snapshots as sn;
use super::state::SimGuest;
use super::task_state::{Effect, PowerTo};
use super::worker::NewTask;
use crate::backend::PowerAction;
use crate::backend::api::Method;
use crate::model::GuestKind;

/// A `POST` route.
const fn post(pattern: &'static str, params: &'static [&'static str], handler: Handler) -> Route {
    Route { method: Method::Post, pattern, params, handler }
}

/// The write routes, parameters as PVE 9.1's API schema lists them (lxc has no `reset`).
pub(crate) const WRITE_ROUTES: &[Route] = &[
    post(
        "/nodes/{node}/{kind=qemu}/{vmid}/status/start",
        &[
            "force-cpu",
            "machine",
            "migratedfrom",
            "migration_network",
            "migration_type",
            "skiplock",
            "stateuri",
            "targetstorage",
            "timeout",
        ],
        start,
    ),
    post("/nodes/{node}/{kind=qemu}/{vmid}/status/stop", &["keepActive", "migratedfrom", "overrule-shutdown", "skiplock", "timeout"], stop),
    post("/nodes/{node}/{kind=qemu}/{vmid}/status/shutdown", &["forceStop", "keepActive", "skiplock", "timeout"], shutdown),
    post("/nodes/{node}/{kind=qemu}/{vmid}/status/reboot", &["timeout"], reboot),
    post("/nodes/{node}/{kind=qemu}/{vmid}/status/reset", &["skiplock"], reset),
    post("/nodes/{node}/{kind=qemu}/{vmid}/status/suspend", &["skiplock", "statestorage", "todisk"], suspend),
    post("/nodes/{node}/{kind=qemu}/{vmid}/status/resume", &["nocheck", "skiplock"], resume),
    post("/nodes/{node}/{kind=lxc}/{vmid}/status/start", &["debug", "skiplock"], start),
    post("/nodes/{node}/{kind=lxc}/{vmid}/status/stop", &["overrule-shutdown", "skiplock"], stop),
    post("/nodes/{node}/{kind=lxc}/{vmid}/status/shutdown", &["forceStop", "timeout"], shutdown),
    post("/nodes/{node}/{kind=lxc}/{vmid}/status/reboot", &["timeout"], reboot),
    post("/nodes/{node}/{kind=lxc}/{vmid}/status/suspend", &[], suspend),
    post("/nodes/{node}/{kind=lxc}/{vmid}/status/resume", &[], resume),
    post("/nodes/{node}/{kind=qemu}/{vmid}/snapshot", &["description", "snapname", "vmstate"], sn::create),
    post("/nodes/{node}/{kind=lxc}/{vmid}/snapshot", &["description", "snapname"], sn::create),
    post("/nodes/{node}/{kind}/{vmid}/snapshot/{snapname}/rollback", &["start"], sn::rollback),
    Route { method: Method::Delete, pattern: "/nodes/{node}/{kind}/{vmid}/snapshot/{snapname}", params: &["force"], handler: sn::delete },
];

fn start(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    power(sim, req, PowerAction::Start)
}
fn stop(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    power(sim, req, PowerAction::Stop)
}
fn shutdown(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    power(sim, req, PowerAction::Shutdown)
}
fn reboot(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    power(sim, req, PowerAction::Reboot)
}
fn reset(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    power(sim, req, PowerAction::Reset)
}
fn suspend(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    power(sim, req, PowerAction::Suspend)
}
fn resume(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    power(sim, req, PowerAction::Resume)
}

/// `VM` or `CT`, as PVE's messages name a guest.
pub(crate) fn word(kind: GuestKind) -> &'static str {
    if kind == GuestKind::Qemu { "VM" } else { "CT" }
}

/// The checks before a task starts (see the module docs); returns the guest (a copy). An
/// empty `privilege` is checked by the route (`privileges.rs`), not here.
pub(crate) fn checked_guest(sim: &Sim, req: &Request<'_>, privilege: &str, skiplock: bool) -> Result<SimGuest, SimError> {
    let (node, vmid, kind) = (req.var("node"), req.var("vmid"), req_kind(req));
    if !privilege.is_empty() {
        sim.check_perm(&format!("/vms/{vmid}"), privilege)?;
    }
    let g = vmid
        .parse()
        .ok()
        .and_then(|v| sim.state().guest(v))
        .filter(|g| g.node == node && g.kind == kind)
        .ok_or_else(|| SimError::no_config(kind, node, vmid))?;
    if let Some(lock) = g.lock.as_ref().filter(|_| !skiplock) {
        return Err(SimError::die(format!("{} is locked ({lock})", word(kind))));
    }
    let busy = sim
        .state()
        .tasks
        .iter()
        .any(|t| t.upid.id == vmid && t.upid.node.as_str() == node && t.pending.as_ref().is_some_and(|p| p.holds_config_lock));
    if busy {
        let file = match kind {
            GuestKind::Qemu => format!("/var/lock/qemu-server/lock-{vmid}.conf"),
            GuestKind::Lxc => format!("/run/lock/lxc/pve-config-{vmid}.lock"),
        };
        return Err(SimError::die(format!("can't lock file '{file}' - got timeout")));
    }
    Ok(g.clone())
}

/// The fault `action` names a power action matches.
fn fault_actions(action: PowerAction) -> &'static [&'static str] {
    match action {
        PowerAction::Start => &["start"],
        PowerAction::Shutdown => &["shutdown"],
        PowerAction::Reboot => &["reboot"],
        PowerAction::Stop => &["stop"],
        PowerAction::Reset => &["reset"],
        PowerAction::Suspend => &["suspend"],
        PowerAction::Resume => &["resume"],
    }
}

/// The error the run-state check of `action` on `g` as it is gives, if any: qemu-server's
/// worker (`QemuServer.pm` `vm_start`: template first, then `already running`; the others
/// `VM <vmid> not running`), or pve-container's API call before it forks (`LXC/Status.pm`:
/// `already running` for start and resume, `not running` for the others, `VM` in the reboot
/// text); a container template is refused inside the start worker.
fn state_error(g: &SimGuest, action: PowerAction) -> Option<String> {
    let (w, vmid) = (word(g.kind), g.vmid);
    let lxc = g.kind == GuestKind::Lxc;
    match action {
        PowerAction::Start if g.template => Some(match g.kind {
            GuestKind::Qemu => "you can't start a vm if it's a template".to_owned(),
            GuestKind::Lxc => "you can't start a CT if it's a template".to_owned(),
        }),
        PowerAction::Start => g.is_running().then(|| format!("{w} {vmid} already running")),
        PowerAction::Resume if lxc => g.is_running().then(|| format!("CT {vmid} already running")),
        PowerAction::Reboot if lxc => (!g.is_running()).then(|| format!("VM {vmid} not running")),
        _ => (!g.is_running()).then(|| format!("{w} {vmid} not running")),
    }
}

/// Whether `action`'s run-state error on a `kind` guest fails the call (pve-container checks
/// before forking) rather than the task (qemu-server, and a container template's start).
fn state_error_fails_the_call(kind: GuestKind, g: &SimGuest, action: PowerAction) -> bool {
    kind == GuestKind::Lxc && !(action == PowerAction::Start && g.template)
}

/// One power action: checks, then a `qm<action>`/`vz<action>` task, or for an HA-managed
/// guest's start/stop/shutdown an `hastart`/`hastop` task that only asks the HA manager
/// (qemu-server `API2/Qemu.pm` `vm_start`: `Requesting HA start for VM <vmid>`).
fn power(sim: &mut Sim, req: &Request<'_>, action: PowerAction) -> Result<Value, SimError> {
    req.int_param("timeout", 0)?;
    for flag in ["keepActive", "overrule-shutdown", "todisk", "nocheck", "debug"] {
        req.bool_param(flag)?;
    }
    let force_stop = req.bool_param("forceStop")?.unwrap_or(false);
    let skiplock = req.bool_param("skiplock")?.unwrap_or(false);
    let g = checked_guest(sim, req, "VM.PowerMgmt", skiplock)?;
    let (kind, vmid, node) = (g.kind, g.vmid, g.node.clone());
    let error = state_error(&g, action);
    if let Some(msg) = error.as_ref().filter(|_| state_error_fails_the_call(kind, &g, action)) {
        return Err(SimError::die(msg.clone()));
    }
    // qemu-server checks the QEMU run state before forking the shutdown worker.
    if kind == GuestKind::Qemu
        && action == PowerAction::Shutdown
        && g.is_running()
        && g.qmpstatus.as_deref() == Some("paused")
        && !force_stop
    {
        return Err(SimError::die("VM is paused - cannot shutdown"));
    }
    if g.hastate.is_some() && matches!(action, PowerAction::Start | PowerAction::Stop | PowerAction::Shutdown) {
        let start = action == PowerAction::Start;
        let verb = if start { "start" } else { "stop" };
        return sim.start_task(NewTask {
            node,
            task_type: format!("ha{verb}"),
            vmid,
            fault_actions: if start { &["start"] } else { &["stop", "shutdown"] },
            log: vec![format!("Requesting HA {verb} for {} {vmid}", word(kind))],
            error: None,
            effect: Effect::HaRequest { vmid, start },
            lock: None,
            holds_config_lock: false,
            id: None,
            locked: Vec::new(),
            warnings: 0,
        });
    }
    // lxc: vzsuspend is `lxc-checkpoint -s` (dump, then stop); vzresume restores the dump
    // as a new container process.
    let to = match (action, kind) {
        (PowerAction::Start | PowerAction::Reboot, _) | (PowerAction::Resume, GuestKind::Lxc) => PowerTo::Started,
        (PowerAction::Reset | PowerAction::Resume, _) => PowerTo::Running,
        (PowerAction::Suspend, GuestKind::Qemu) => PowerTo::Paused,
        (PowerAction::Stop | PowerAction::Shutdown, _) | (PowerAction::Suspend, GuestKind::Lxc) => PowerTo::Stopped,
    };
    let prefix = if kind == GuestKind::Qemu { "qm" } else { "vz" };
    sim.start_task(NewTask {
        node,
        task_type: format!("{prefix}{action}"),
        vmid,
        fault_actions: fault_actions(action),
        log: Vec::new(),
        error,
        effect: Effect::Power { vmid, to },
        lock: None,
        holds_config_lock: true,
        id: None,
        locked: Vec::new(),
        warnings: 0,
    })
}
