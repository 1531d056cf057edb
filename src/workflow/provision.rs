//! Provisioning as [`Action`]s: `guest clone`, `guest template`, `guest create`, `guest
//! delete` (DESIGN.md §3-§4; facts in reference/OPERATIONS.md §Clone, §Delete).
//!
//! Each reads first and refuses before sending what PVE would refuse before starting a task,
//! with PVE's own words where PVE has them: a linked clone of a guest that is not a template,
//! a vmid already in use, a running guest's delete. A clone's task (`qmclone`, id = the
//! SOURCE vmid) leaves `lock: clone` on the new guest while it runs: the re-check waits for
//! the new guest to exist unlocked.

use async_trait::async_trait;

use crate::backend::lookup::resource_in;
use crate::backend::{Backend, InventoryExt, Mutation, Params, ResourceType};
use crate::error::{Error, Result};
use crate::model::{GuestKind, GuestRef, NodeName, StorageId, Vmid};
use crate::workflow::action::{Action, Draft, Prepared, ReadOnly};
use crate::workflow::discover::discover;
use crate::workflow::report::{GuestState, Report};

/// Refuses a vmid already in use, with PVE's words (`VM|CT <vmid> already exists on node`).
async fn check_unused(b: &dyn Backend, vmid: Vmid, what: &str, kind: GuestKind) -> Result<()> {
    let items = b.cluster_resources(Some(ResourceType::Vm)).await?;
    if let Some(r) = resource_in(items, vmid)? {
        let tag = if r.resource_type == "lxc" { "CT" } else { "VM" };
        let me = if kind == GuestKind::Lxc { "CT" } else { "VM" };
        let node = r.node.unwrap_or_default();
        return Err(Error::Conflict(format!("unable to {what} {me} {vmid} - {tag} {vmid} already exists on node '{node}'")));
    }
    Ok(())
}

fn push(p: &mut Params, k: &str, v: &impl ToString) {
    p.push((k.to_owned(), v.to_string()));
}

/// `guest clone`.
#[derive(Debug, Clone, Default)]
pub struct CloneGuest {
    /// The source guest.
    pub vmid: Option<Vmid>,
    /// The new vmid (`/cluster/nextid` when `None`).
    pub newid: Option<Vmid>,
    /// The new guest's name (`hostname` for lxc).
    pub name: Option<String>,
    /// `Some(true)`: full copy; `Some(false)`: linked clone (templates only); `None`: PVE's
    /// default (linked for a template, full otherwise).
    pub full: Option<bool>,
    /// Node for the new guest (PVE's `target`).
    pub target_node: Option<NodeName>,
    /// Storage for the full copy's disks.
    pub storage: Option<StorageId>,
    /// Pool to add the new guest to.
    pub pool: Option<String>,
    /// Description of the new guest.
    pub description: Option<String>,
}

#[async_trait]
impl Action for CloneGuest {
    fn name(&self) -> String {
        "clone".into()
    }

    fn summary(&self, d: &Draft) -> String {
        let new = d.creates.as_ref().map(|g| format!(" as {} on {}", g.vmid, g.node)).unwrap_or_default();
        d.target.as_ref().map_or_else(|| self.name(), |g| format!("clone guest {} ({}){new}", g.vmid, g.kind))
    }

    async fn prepare(&self, b: &ReadOnly<'_>) -> Result<Prepared> {
        let vmid = self.vmid.ok_or_else(|| Error::Usage("clone needs the source guest".into()))?;
        let (guest, _) = discover(b, vmid, None, None).await?;
        let before = GuestState::from_status(&b.guest_status(&guest).await?);
        if let Some(lock) = &before.lock {
            return Err(Error::Conflict(format!("guest {vmid} is locked ({lock}): PVE refuses to clone it")));
        }
        let template = before.template == Some(true);
        if self.full == Some(false) && !template {
            return Err(Error::Conflict(format!(
                "a linked clone needs a template, and guest {vmid} is not one: use --full, or `pvectl guest template {vmid}` first"
            )));
        }
        let newid = match self.newid {
            Some(n) => n,
            None => b.next_id().await?,
        };
        check_unused(b, newid, "create", guest.kind).await?;
        let mut params = Params::new();
        if let Some(n) = &self.name {
            push(&mut params, if guest.kind == GuestKind::Lxc { "hostname" } else { "name" }, &n);
        }
        if let Some(full) = self.full {
            push(&mut params, "full", &u8::from(full));
        }
        if let Some(t) = &self.target_node {
            push(&mut params, "target", &t);
        }
        if let Some(s) = &self.storage {
            push(&mut params, "storage", &s);
        }
        if let Some(p) = &self.pool {
            push(&mut params, "pool", &p);
        }
        if let Some(d) = &self.description {
            push(&mut params, "description", &d);
        }
        let creates = GuestRef { vmid: newid, node: self.target_node.clone().unwrap_or_else(|| guest.node.clone()), kind: guest.kind };
        let m = Mutation::Clone { guest: guest.clone(), newid, params };
        let mut d = Draft::new(Some(guest), Some(before), vec![m]);
        d.details = Some(serde_json::json!({ "new": creates }));
        d.creates = Some(creates);
        Ok(Prepared::Changes(Box::new(d)))
    }

    async fn observe(&self, b: &dyn Backend, d: &Draft) -> Result<Option<GuestState>> {
        d.read_subject(b).await
    }

    fn reached(&self, _d: &Draft, after: &GuestState) -> bool {
        after.lock.is_none()
    }

    fn may_lag(&self, _d: &Draft) -> bool {
        true
    }
}

/// `guest template`: irreversible, so destructive; refused on a running guest.
#[derive(Debug, Clone)]
pub struct MakeTemplate {
    /// The guest.
    pub vmid: Vmid,
}

#[async_trait]
impl Action for MakeTemplate {
    fn name(&self) -> String {
        "template".into()
    }

    fn summary(&self, d: &Draft) -> String {
        d.target.as_ref().map_or_else(|| self.name(), |g| format!("convert guest {} ({}) on {} into a template", g.vmid, g.kind, g.node))
    }

    async fn prepare(&self, b: &ReadOnly<'_>) -> Result<Prepared> {
        let (guest, _) = discover(b, self.vmid, None, None).await?;
        let before = GuestState::from_status(&b.guest_status(&guest).await?);
        if before.template == Some(true) {
            let report = Report::noop(self.name(), guest, before);
            return Ok(Prepared::Noop(Box::new(report)));
        }
        if let Some(lock) = &before.lock {
            return Err(Error::Conflict(format!("guest {} is locked ({lock})", self.vmid)));
        }
        let mut d = Draft::new(Some(guest.clone()), Some(before.clone()), vec![Mutation::Template { guest }]);
        if before.status == "running" {
            d.refusal = Some(Error::Conflict(format!("guest {} is running: shut it down before converting it into a template", self.vmid)));
        }
        Ok(Prepared::Changes(Box::new(d)))
    }

    async fn observe(&self, b: &dyn Backend, d: &Draft) -> Result<Option<GuestState>> {
        d.read_subject(b).await
    }

    fn reached(&self, _d: &Draft, after: &GuestState) -> bool {
        after.template == Some(true) && after.lock.is_none()
    }

    fn may_lag(&self, _d: &Draft) -> bool {
        true
    }
}

/// `guest delete`: destructive. pvectl's policy refuses a protected guest (10) first; then
/// what PVE refuses before any task, in PVE's words (exit 6): a running guest, an HA-managed
/// one without `--purge`, a locked one.
#[derive(Debug, Clone)]
pub struct DeleteGuest {
    /// The guest.
    pub vmid: Vmid,
    /// Also remove it from backup jobs, replication and HA (PVE's `purge`).
    pub purge: bool,
    /// Also destroy disks not referenced in its config (PVE's `destroy-unreferenced-disks`).
    pub destroy_unreferenced_disks: bool,
}

#[async_trait]
impl Action for DeleteGuest {
    fn name(&self) -> String {
        "delete".into()
    }

    fn summary(&self, d: &Draft) -> String {
        d.target.as_ref().map_or_else(|| self.name(), |g| format!("delete guest {} ({}) on {} and its disks", g.vmid, g.kind, g.node))
    }

    async fn prepare(&self, b: &ReadOnly<'_>) -> Result<Prepared> {
        let vmid = self.vmid;
        let (guest, listed) = discover(b, vmid, None, None).await?;
        let mut before = GuestState::from_status(&b.guest_status(&guest).await?);
        if before.ha_state.is_none() {
            before.ha_state = listed.and_then(|r| r.hastate);
        }
        let mut params = Params::new();
        if self.purge {
            push(&mut params, "purge", &1);
        }
        if self.destroy_unreferenced_disks {
            push(&mut params, "destroy-unreferenced-disks", &1);
        }
        let (vm, locked) = if guest.kind == GuestKind::Lxc { ("CT", "CT is locked") } else { ("VM", "VM is locked") };
        let refusal = if let Some(lock) = &before.lock {
            Some(format!("{locked} ({lock})"))
        } else if before.ha_state.is_some() && !self.purge {
            Some(format!("unable to remove {vm} {vmid} - used in HA resources and purge parameter not set."))
        } else if before.status == "running" {
            Some(if guest.kind == GuestKind::Lxc {
                format!("unable to destroy CT {vmid} - container is running")
            } else {
                format!("VM {vmid} is running - destroy failed")
            })
        } else {
            None
        };
        let mut d = Draft::new(Some(guest.clone()), Some(before), vec![Mutation::Delete { guest, params }]);
        d.refusal = refusal.map(Error::Conflict);
        Ok(Prepared::Changes(Box::new(d)))
    }

    async fn observe(&self, b: &dyn Backend, d: &Draft) -> Result<Option<GuestState>> {
        let Some(g) = &d.target else { return Ok(None) };
        let items = b.cluster_resources(Some(ResourceType::Vm)).await?;
        Ok(Some(match resource_in(items, g.vmid)? {
            Some(r) => GuestState::from_resource(&r),
            None => GuestState { status: "deleted".into(), ..GuestState::default() },
        }))
    }

    fn reached(&self, _d: &Draft, after: &GuestState) -> bool {
        after.status == "deleted"
    }

    fn may_lag(&self, _d: &Draft) -> bool {
        true
    }
}

/// What `guest create` makes.
#[derive(Debug, Clone)]
pub struct CreateGuest {
    /// qemu or lxc.
    pub kind: GuestKind,
    /// The vmid (`/cluster/nextid` when `None`).
    pub vmid: Option<Vmid>,
    /// The node (required when the cluster has more than one).
    pub node: Option<NodeName>,
    /// API parameters, in order (`ostemplate`, `hostname`, `memory`, `cores`, `net0`, ...),
    /// already validated by the caller.
    pub params: Params,
    /// Secret parameters (`password`), read from a file or stdin, never from argv.
    pub secrets: Vec<(String, crate::backend::rest::Secret)>,
    /// Started after creation (PVE's `start=1`).
    pub start: bool,
}

#[async_trait]
impl Action for CreateGuest {
    fn name(&self) -> String {
        "create".into()
    }

    fn summary(&self, d: &Draft) -> String {
        d.creates.as_ref().map_or_else(|| self.name(), |g| format!("create {} guest {} on {}", g.kind, g.vmid, g.node))
    }

    async fn prepare(&self, b: &ReadOnly<'_>) -> Result<Prepared> {
        let node = if let Some(n) = &self.node {
            n.clone()
        } else {
            let nodes = b.nodes().await?;
            match nodes.as_slice() {
                [only] => only.node.parse().map_err(|e| Error::parse("node name", e))?,
                _ => return Err(Error::Usage("the cluster has several nodes: pass --node".into())),
            }
        };
        let vmid = match self.vmid {
            Some(v) => v,
            None => b.next_id().await?,
        };
        check_unused(b, vmid, "create", self.kind).await?;
        let guest = GuestRef { vmid, node, kind: self.kind };
        let mut params = self.params.clone();
        if self.start {
            push(&mut params, "start", &1);
        }
        let m = Mutation::Create { guest: guest.clone(), params, secrets: self.secrets.clone() };
        let mut d = Draft::new(Some(guest.clone()), None, vec![m]);
        d.creates = Some(guest);
        Ok(Prepared::Changes(Box::new(d)))
    }

    async fn observe(&self, b: &dyn Backend, d: &Draft) -> Result<Option<GuestState>> {
        d.read_subject(b).await
    }

    fn reached(&self, _d: &Draft, after: &GuestState) -> bool {
        after.lock.is_none() && (!self.start || after.is_running())
    }

    fn may_lag(&self, _d: &Draft) -> bool {
        true
    }
}
