//! Node and kind discovery from a vmid: one `/cluster/resources --type vm` read (or `qm list`
//! + `pct list` in `qm-pct` mode); `--node` with `--kind` skips it.

use crate::backend::api::guest_from_resource;
use crate::backend::lookup::resource_in;
use crate::backend::{Backend, ResourceType};
use crate::error::{Error, Result};
use crate::model::{ClusterResource, GuestKind, GuestRef, NodeName, Vmid};

/// Finds a guest. Returns its reference and the resource entry when one was read.
///
/// # Errors
/// `NotFound` (exit 5) when no guest has `vmid`, or it is not on `node` / of `kind` as given;
/// `Conflict` (exit 6) when the listing names `vmid` more than once.
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
    let r = resource_in(items, vmid)?.ok_or_else(|| Error::NotFound(format!("guest {vmid} does not exist")))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::BackendExt;
    use crate::backend::sim::{SimBackend, SimTransport, demo_state};

    /// The demo cluster with guest 100 listed a second time, on pve2.
    fn duplicated() -> SimBackend {
        let mut st = demo_state();
        let mut twin = st.guest(100).expect("demo has 100").clone();
        twin.node = "pve2".into();
        st.guests.push(twin);
        SimBackend::new(SimTransport::from_state(st))
    }

    #[tokio::test]
    async fn a_vmid_listed_twice_is_a_conflict_not_first_wins() {
        let b = duplicated();
        let vmid = Vmid::new(100).expect("vmid");
        for e in [discover(&b, vmid, None, None).await.expect_err("twice"), b.locate(vmid).await.expect_err("twice")] {
            assert_eq!(e.exit_code(), 6, "{e}");
            let m = e.to_string();
            assert!(m.contains("node pve1 (qemu)") && m.contains("node pve2 (qemu)"), "{m}");
        }
        let other = discover(&b, Vmid::new(101).expect("vmid"), None, None).await.expect("101 is listed once");
        assert_eq!(other.0.vmid.get(), 101);
    }
}
