//! Snapshot create / rollback / delete: read first (the snapshot list, lock, protection),
//! act once, wait, re-check that the list contains (or no longer contains) the snapshot; after
//! a rollback, report the resulting status.

use std::ops::ControlFlow;

use crate::backend::{Mutation, Tier};
use crate::error::{Error, Result};
use crate::model::{GuestKind, GuestRef, NodeName, Snapshot, SnapshotName, Vmid};
use crate::workflow::act::act_and_report;
use crate::workflow::context::Ctx;
use crate::workflow::discover::discover;
use crate::workflow::recheck::read_protection;
use crate::workflow::report::{GuestState, Outcome};
use crate::workflow::wait::Deadline;

/// The warning `--vmstate` carries.
pub const VMSTATE_WARNING: &str = "--vmstate saves the guest's RAM: the guest is frozen while it is written and the storage takes heavy I/O (as much as the guest's memory)";

/// What to do with a snapshot.
#[derive(Debug, Clone)]
pub enum SnapshotOp {
    /// Create `name`.
    Create {
        /// Name (already generated when none was given).
        name: SnapshotName,
        /// Description.
        description: Option<String>,
        /// Save RAM state (qemu only).
        vmstate: bool,
    },
    /// Roll back to `name`, optionally starting the guest after.
    Rollback {
        /// Snapshot.
        name: SnapshotName,
        /// `--start`.
        start: bool,
    },
    /// Delete `name`.
    Delete {
        /// Snapshot.
        name: SnapshotName,
    },
}

impl SnapshotOp {
    fn name(&self) -> &SnapshotName {
        match self {
            Self::Create { name, .. } | Self::Rollback { name, .. } | Self::Delete { name } => name,
        }
    }

    fn mutation(&self, guest: GuestRef) -> Mutation {
        match self.clone() {
            Self::Create { name, description, vmstate } => Mutation::SnapshotCreate { guest, name, description, vmstate },
            Self::Rollback { name, start } => Mutation::SnapshotRollback { guest, name, start },
            Self::Delete { name } => Mutation::SnapshotDelete { guest, name },
        }
    }
}

fn names(list: &[Snapshot]) -> Vec<String> {
    list.iter().filter(|s| !s.is_current()).map(|s| s.name.clone()).collect()
}

fn current_parent(list: &[Snapshot]) -> Option<String> {
    list.iter().find(|s| s.is_current()).and_then(|s| s.parent.clone())
}

/// Runs a snapshot operation on guest `vmid`.
///
/// # Errors
/// `NotFound` (5) for a missing guest or snapshot; `Conflict` (6) for a name already used,
/// a locked or protected guest; `Usage` (2) for `--vmstate` on lxc. Task failures and timeouts
/// come back as [`Outcome::Incomplete`].
pub async fn snapshot(ctx: &Ctx<'_>, vmid: Vmid, node: Option<&NodeName>, kind: Option<GuestKind>, op: SnapshotOp) -> Result<Outcome> {
    let deadline = Deadline::after(ctx.timeout);
    let b = ctx.b();
    let (guest, listed) = discover(b, vmid, node, kind).await?;
    let name = op.name().to_string();
    let mut warnings = Vec::new();
    if let SnapshotOp::Create { vmstate: true, .. } = op {
        if guest.kind == GuestKind::Lxc {
            return Err(Error::Usage(format!("--vmstate is for qemu guests; {vmid} is lxc")));
        }
        warnings.push(VMSTATE_WARNING.to_owned());
    }
    let mut before = match &listed {
        Some(r) => GuestState::from_resource(r),
        None => GuestState::from_status(&b.guest_status(&guest).await?),
    };
    let list = b.snapshots(&guest).await?;
    before.snapshots = Some(names(&list));
    before.current_parent = current_parent(&list);
    let exists = list.iter().any(|s| !s.is_current() && s.name == name);
    match (&op, exists) {
        (SnapshotOp::Create { .. }, true) => return Err(Error::Conflict(format!("snapshot name '{name}' already used"))),
        (SnapshotOp::Rollback { .. } | SnapshotOp::Delete { .. }, false) => {
            return Err(Error::NotFound(format!("snapshot '{name}' does not exist on guest {vmid}")));
        }
        _ => {}
    }
    if let Some(lock) = &before.lock {
        return Err(Error::Conflict(format!("guest {vmid} is locked ({lock})")));
    }
    let m = op.mutation(guest.clone());
    if m.tier() == Tier::Destructive {
        before.protection = Some(read_protection(b, &guest).await?);
        if before.protection == Some(true) {
            return Err(Error::Conflict(format!("guest {vmid} has PVE's protection flag set: {} refused", m.name())));
        }
    }
    for w in &warnings {
        eprintln!("pvectl: warning: {w}");
    }
    let plan = ctx.plan(&m, Some(before.clone()), Some(name.clone()), warnings);
    if let Some(outcome) = ctx.consent(plan, &format!("{} '{name}' of guest {vmid} ({}) on {}", m.name(), guest.kind, guest.node)) {
        return Ok(outcome);
    }
    let mut report = match act_and_report(ctx, &m, &deadline, before, Some(name.clone())).await? {
        ControlFlow::Break(outcome) => return Ok(outcome),
        ControlFlow::Continue(report) => report,
    };
    let list = b.snapshots(&guest).await?;
    let mut after = GuestState::from_status(&b.guest_status(&guest).await?);
    after.snapshots = Some(names(&list));
    after.current_parent = current_parent(&list);
    let has = list.iter().any(|s| !s.is_current() && s.name == name);
    let ok = match op {
        SnapshotOp::Create { .. } => has,
        SnapshotOp::Delete { .. } => !has,
        SnapshotOp::Rollback { .. } => after.current_parent.as_deref() == Some(name.as_str()),
    };
    report.after = Some(after);
    if ok {
        Ok(Outcome::Done(report))
    } else {
        let e =
            Error::Api(format!("the task succeeded but the snapshot list of guest {vmid} does not show the {} of '{name}'", report.action));
        Ok(Outcome::Incomplete(report, e))
    }
}
