//! Finding one guest by vmid in a listing (`/cluster/resources`, `qm list` + `pct list`).
//!
//! A vmid is unique in a healthy cluster, but a listing can name it twice (a config file left
//! on two nodes after a failed migration, a split-brained `pmxcfs`). Taking the first entry
//! would act on whichever node the listing happened to name first, so two entries are a
//! `Conflict` naming every place the vmid was seen: the user decides, pvectl does not guess.

use crate::error::{Error, Result};
use crate::model::{ClusterResource, Guest, Vmid};

/// The one item of `items` that `is_it` picks, `None` if there is none.
///
/// # Errors
/// `Conflict` (exit 6) when more than one item is picked; the message lists each one's
/// place as `where_is` describes it (`pve1 (qemu)`).
pub fn only_one<T>(
    items: impl IntoIterator<Item = T>,
    vmid: Vmid,
    is_it: impl Fn(&T) -> bool,
    where_is: impl Fn(&T) -> String,
) -> Result<Option<T>> {
    let mut found: Vec<T> = items.into_iter().filter(|t| is_it(t)).collect();
    if found.len() > 1 {
        let places: Vec<String> = found.iter().map(where_is).collect();
        return Err(Error::Conflict(format!(
            "guest {vmid} is listed {} times, on {}: the cluster's view is inconsistent, refusing to pick one",
            found.len(),
            places.join(" and ")
        )));
    }
    Ok(found.pop())
}

/// The guest with `vmid` in a guest listing.
///
/// # Errors
/// `Conflict` when the listing names the vmid more than once.
pub fn guest_in(guests: impl IntoIterator<Item = Guest>, vmid: Vmid) -> Result<Option<Guest>> {
    only_one(guests, vmid, |g| g.vmid == vmid, |g| format!("node {} ({})", g.node, g.kind))
}

/// The `qemu`/`lxc` entry with `vmid` in a `/cluster/resources` listing.
///
/// # Errors
/// `Conflict` when the listing names the vmid more than once.
pub fn resource_in(items: impl IntoIterator<Item = ClusterResource>, vmid: Vmid) -> Result<Option<ClusterResource>> {
    only_one(
        items,
        vmid,
        |r| matches!(r.resource_type.as_str(), "qemu" | "lxc") && r.vmid == Some(u64::from(vmid.get())),
        |r| format!("node {} ({})", r.node.as_deref().unwrap_or("?"), r.resource_type),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::GuestKind;

    fn guest(vmid: u32, node: &str, kind: GuestKind) -> Guest {
        Guest::new(Vmid::new(vmid).expect("vmid"), node.parse().expect("node"), kind, "running")
    }

    #[test]
    fn one_entry_is_found_none_is_none() {
        let list = vec![guest(100, "pve1", GuestKind::Qemu), guest(101, "pve2", GuestKind::Lxc)];
        let v = Vmid::new(101).expect("vmid");
        assert_eq!(guest_in(list.clone(), v).expect("unique").map(|g| g.node.to_string()), Some("pve2".into()));
        assert_eq!(guest_in(list, Vmid::new(999).expect("vmid")).expect("no error"), None);
    }

    #[test]
    fn a_vmid_listed_twice_is_a_conflict_naming_both_nodes() {
        let list = vec![guest(100, "pve1", GuestKind::Qemu), guest(101, "pve2", GuestKind::Lxc), guest(100, "pve3", GuestKind::Qemu)];
        let e = guest_in(list, Vmid::new(100).expect("vmid")).expect_err("duplicate");
        assert_eq!(e.exit_code(), 6, "{e}");
        let m = e.to_string();
        assert!(m.contains("node pve1 (qemu)") && m.contains("node pve3 (qemu)"), "{m}");
    }
}
