//! Node and kind discovery from a vmid: one `/cluster/resources --type vm` read (or `qm list`
//! + `pct list` in `qm-pct` mode); `--node` with `--kind` skips it.

use crate::backend::api::guest_from_resource;
use crate::backend::{Backend, ResourceType};
use crate::error::{Error, Result};
use crate::model::{ClusterResource, GuestKind, GuestRef, NodeName, Vmid};

/// Finds a guest. Returns its reference and the resource entry when one was read.
///
/// # Errors
/// `NotFound` (exit 5) when no guest has `vmid`, or it is not on `node` / of `kind` as given.
pub async fn discover(
    b: &dyn Backend,
    vmid: Vmid,
    node: Option<&NodeName>,
    kind: Option<GuestKind>,
) -> Result<(GuestRef, Option<ClusterResource>)> {
    if let (Some(node), Some(kind)) = (node, kind) {
        return Ok((GuestRef { vmid, node: node.clone(), kind }, None));
    }
    let items = b.cluster_resources(Some(ResourceType::Vm)).await?;
    let r = items
        .into_iter()
        .find(|r| matches!(r.resource_type.as_str(), "qemu" | "lxc") && r.vmid == Some(u64::from(vmid.get())))
        .ok_or_else(|| Error::NotFound(format!("guest {vmid} does not exist")))?;
    let found = guest_from_resource(r.clone())?.guest_ref();
    let (found_node, found_kind) = (found.node.clone(), found.kind);
    if let Some(n) = node.filter(|n| **n != found_node) {
        return Err(Error::NotFound(format!("guest {vmid} is on node {found_node}, not {n}")));
    }
    if let Some(k) = kind.filter(|k| *k != found_kind) {
        return Err(Error::NotFound(format!("guest {vmid} is {found_kind}, not {k}")));
    }
    Ok((found, Some(r)))
}
