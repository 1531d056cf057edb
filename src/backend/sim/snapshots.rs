//! Snapshot writes: `POST .../snapshot` (create), `POST .../snapshot/{snapname}/rollback`,
//! `DELETE .../snapshot/{snapname}`, and what their tasks change when they end.
//!
//! Semantics of pve-guest-common `AbstractConfig.pm` (`snapshot_create`, `snapshot_rollback`,
//! `snapshot_delete`): while the task runs the guest carries the config lock `snapshot`,
//! `rollback` or `snapshot-delete`; a new snapshot's parent is the one `current` had and it
//! becomes `current`'s parent; a rollback copies the snapshot's config back (not the live
//! `description`, which `__snapshot_copy_config` skips) and leaves the guest stopped unless
//! RAM state was saved (qemu) or `start=1`; deleting re-parents the snapshot's children, and
//! `current` if it derived from it, to the deleted snapshot's parent. A duplicate or unknown
//! name fails inside the worker, as it does in PVE.

use serde_json::Value;

use super::actions::checked_guest;
use super::core::Sim;
use super::error::SimError;
use super::route::Request;
use super::state::{SimGuest, SimSnapshot};
use super::task_state::{Effect, PowerTo};
use super::worker::{NewTask, now_ms, set_power};
use crate::model::{GuestKind, SnapshotName};

/// Checks a snapshot name as the schema does (`pve-configid`, `maxLength` 40).
pub(crate) fn check_snapname(name: &str) -> Result<(), SimError> {
    if name.chars().count() > 40 {
        return Err(SimError::param("snapname", "value may only be 40 characters long"));
    }
    // `current` is a valid `pve-configid`; the handler refuses it as a reserved name.
    if name != "current" && name.parse::<SnapshotName>().is_err() {
        return Err(SimError::param("snapname", format!("invalid format - invalid configuration ID '{name}'")));
    }
    Ok(())
}

/// `qm` or `vz`: the task type prefix of a guest kind.
fn prefix(kind: GuestKind) -> &'static str {
    if kind == GuestKind::Qemu { "qm" } else { "vz" }
}

/// `POST /nodes/{node}/{kind}/{vmid}/snapshot --snapname N [--description D] [--vmstate 1]`:
/// a `qmsnapshot`/`vzsnapshot` task. RAM state is saved only for a running qemu guest.
pub(crate) fn create(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let name = req.param("snapname").ok_or_else(|| SimError::param("snapname", "property is missing and it is not optional"))?.to_owned();
    check_snapname(&name)?;
    let vmstate = req.bool_param("vmstate")?.unwrap_or(false);
    let description = req.param("description").unwrap_or_default().to_owned();
    let g = checked_guest(sim, req, "VM.Snapshot", false)?;
    if name == "current" {
        return Err(SimError::die("unable to use snapshot name 'current' (reserved name)"));
    }
    let error = if g.template {
        Some("you can't take a snapshot if it's a template".to_owned())
    } else if g.snapshots.iter().any(|s| s.name == name) {
        Some(format!("snapshot name '{name}' already used"))
    } else {
        None
    };
    let snapshot = SimSnapshot {
        name,
        parent: g.parent.clone(),
        snaptime: now_ms() / 1000,
        description,
        vmstate: vmstate && g.kind == GuestKind::Qemu && g.is_running(),
        config: g.config.iter().filter(|(k, _)| k != "description").cloned().collect(),
    };
    sim.start_task(NewTask {
        node: g.node.clone(),
        task_type: format!("{}snapshot", prefix(g.kind)),
        vmid: g.vmid,
        fault_actions: &["snapshot"],
        log: Vec::new(),
        error,
        effect: Effect::SnapshotCreate { vmid: g.vmid, snapshot },
        lock: Some("snapshot".to_owned()),
        holds_config_lock: false,
        id: None,
        locked: Vec::new(),
        warnings: 0,
    })
}

/// `POST /nodes/{node}/{kind}/{vmid}/snapshot/{snapname}/rollback [--start 1]`: a
/// `qmrollback`/`vzrollback` task.
pub(crate) fn rollback(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let name = req.var("snapname").to_owned();
    check_snapname(&name)?;
    let start = req.bool_param("start")?.unwrap_or(false);
    let g = checked_guest(sim, req, "VM.Snapshot.Rollback", false)?;
    let error = if !g.snapshots.iter().any(|s| s.name == name) {
        Some(format!("snapshot '{name}' does not exist"))
    } else if g.template {
        Some("you can't rollback if vm is a template".to_owned())
    } else {
        None
    };
    sim.start_task(NewTask {
        node: g.node.clone(),
        task_type: format!("{}rollback", prefix(g.kind)),
        vmid: g.vmid,
        fault_actions: &["rollback"],
        log: Vec::new(),
        error,
        effect: Effect::SnapshotRollback { vmid: g.vmid, name, start },
        lock: Some("rollback".to_owned()),
        holds_config_lock: false,
        id: None,
        locked: Vec::new(),
        warnings: 0,
    })
}

/// `DELETE /nodes/{node}/{kind}/{vmid}/snapshot/{snapname} [--force 1]`: a
/// `qmdelsnapshot`/`vzdelsnapshot` task.
pub(crate) fn delete(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let name = req.var("snapname").to_owned();
    check_snapname(&name)?;
    req.bool_param("force")?;
    let g = checked_guest(sim, req, "VM.Snapshot", false)?;
    let error = (!g.snapshots.iter().any(|s| s.name == name)).then(|| format!("snapshot '{name}' does not exist"));
    sim.start_task(NewTask {
        node: g.node.clone(),
        task_type: format!("{}delsnapshot", prefix(g.kind)),
        vmid: g.vmid,
        fault_actions: &["delsnapshot"],
        log: Vec::new(),
        error,
        effect: Effect::SnapshotDelete { vmid: g.vmid, name },
        lock: Some("snapshot-delete".to_owned()),
        holds_config_lock: false,
        id: None,
        locked: Vec::new(),
        warnings: 0,
    })
}

/// A created snapshot joins the list and becomes `current`'s parent.
pub(crate) fn apply_create(g: &mut SimGuest, snapshot: SimSnapshot) {
    if g.snapshots.iter().any(|s| s.name == snapshot.name) {
        return;
    }
    g.parent = Some(snapshot.name.clone());
    g.snapshots.push(snapshot);
}

/// The guest goes back to snapshot `name`: its config (keeping the live `description`),
/// `current`'s parent, and the run state (started if RAM state was saved or `start`).
pub(crate) fn apply_rollback(g: &mut SimGuest, name: &str, start: bool) {
    let Some(snap) = g.snapshots.iter().find(|s| s.name == name) else { return };
    let running_after = start || (g.kind == GuestKind::Qemu && snap.vmstate);
    if !snap.config.is_empty() {
        let description = g.config_value("description").map(str::to_owned);
        g.config.clone_from(&snap.config);
        if let Some(d) = description {
            g.config.push(("description".to_owned(), d));
        }
    }
    g.parent = Some(name.to_owned());
    set_power(g, PowerTo::Stopped);
    if running_after {
        set_power(g, PowerTo::Started);
    }
}

/// Snapshot `name` goes; its children, and `current` if it derived from it, take its parent.
pub(crate) fn apply_delete(g: &mut SimGuest, name: &str) {
    let Some(i) = g.snapshots.iter().position(|s| s.name == name) else { return };
    let removed = g.snapshots.remove(i);
    for s in &mut g.snapshots {
        if s.parent.as_deref() == Some(name) {
            s.parent.clone_from(&removed.parent);
        }
    }
    if g.parent.as_deref() == Some(name) {
        g.parent = removed.parent;
    }
}
