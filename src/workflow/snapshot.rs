//! Snapshot create / rollback / delete: read first (the snapshot list, lock, protection),
//! act once, wait, re-check that the list contains (or no longer contains) the snapshot; after
//! a rollback, report the resulting status.

use async_trait::async_trait;

use crate::backend::{Backend, Mutation};
use crate::error::{Error, Result};
use crate::model::{GuestKind, GuestRef, NodeName, Snapshot, SnapshotName, Vmid};
use crate::workflow::action::{Action, Draft, Prepared, ReadOnly};
use crate::workflow::discover::discover;
use crate::workflow::report::GuestState;

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

/// A snapshot operation on one guest.
#[derive(Debug, Clone)]
pub struct SnapshotAction {
    /// The guest.
    pub vmid: Vmid,
    /// Its node, when known.
    pub node: Option<NodeName>,
    /// Its kind, when known.
    pub kind: Option<GuestKind>,
    /// What to do.
    pub op: SnapshotOp,
}

#[async_trait]
impl Action for SnapshotAction {
    fn name(&self) -> String {
        match self.op {
            SnapshotOp::Create { .. } => "snapshot create",
            SnapshotOp::Rollback { .. } => "snapshot rollback",
            SnapshotOp::Delete { .. } => "snapshot delete",
        }
        .into()
    }

    fn summary(&self, d: &Draft) -> String {
        let on = d.target.as_ref().map(|g| format!(" of guest {} ({}) on {}", g.vmid, g.kind, g.node)).unwrap_or_default();
        format!("{} '{}'{on}", self.name(), self.op.name())
    }

    /// Reads the snapshot list and the guest's state; refuses a name already used, a missing
    /// snapshot, a locked guest, `--vmstate` on lxc.
    async fn prepare(&self, b: &ReadOnly<'_>) -> Result<Prepared> {
        let (vmid, op) = (self.vmid, &self.op);
        let (guest, listed) = discover(b, vmid, self.node.as_ref(), self.kind).await?;
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
        match (op, exists) {
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
        Ok(Prepared::Changes(Box::new(Draft {
            target: Some(guest),
            snapshot: Some(name),
            before: Some(before),
            mutations: vec![m],
            warnings,
            creates: None,
            refusal: None,
            details: None,
        })))
    }

    async fn observe(&self, b: &dyn Backend, d: &Draft) -> Result<Option<GuestState>> {
        let Some(guest) = &d.target else { return Ok(None) };
        let list = b.snapshots(guest).await?;
        let name = self.op.name().as_str();
        let has = list.iter().any(|s| !s.is_current() && s.name == name);
        let shown = match self.op {
            SnapshotOp::Create { .. } => has,
            SnapshotOp::Delete { .. } => !has,
            SnapshotOp::Rollback { .. } => false,
        };
        // A snapshot create or delete that the list shows done leaves the run state as the
        // plan read it, and its task released the lock when it ended: no status re-read. A
        // rollback changes the run state, and a failed or unfinished task may leave a lock:
        // those read the status again.
        let mut after = match (&d.before, shown) {
            (Some(before), true) => GuestState { lock: None, ..before.clone() },
            _ => GuestState::from_status(&b.guest_status(guest).await?),
        };
        after.snapshots = Some(names(&list));
        after.current_parent = current_parent(&list);
        Ok(Some(after))
    }

    fn reached(&self, _d: &Draft, after: &GuestState) -> bool {
        let name = self.op.name().as_str();
        let has = after.snapshots.as_ref().is_some_and(|l| l.iter().any(|n| n == name));
        match self.op {
            SnapshotOp::Create { .. } => has,
            SnapshotOp::Delete { .. } => !has,
            SnapshotOp::Rollback { .. } => after.current_parent.as_deref() == Some(name),
        }
    }
}
