//! Seeding one guest into a running simulator ([`Sim::seed_guest`]): a test states the facts
//! it depends on (vmid, kind, node, run state, protection, lock) and gets a plausible guest
//! with them, instead of relying on the demo cluster's particular guests. The `pve-sim` state
//! file is seeded the same way under its lock (`SimTransport::from_file(..).with_sim(..)`).
//! A backup of a seeded guest ([`Sim::seed_backup`]) is seeded the same way.

use super::core::Sim;
use super::seed::{NOW, lxc, node, qemu};
use super::state::SimVolume;
use crate::model::GuestKind;

/// The facts of a guest to seed; everything else (config, sizes, figures) is filled in by the
/// same builders as the demo cluster's guests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestSeed {
    /// Guest id.
    pub vmid: u32,
    /// qemu or lxc.
    pub kind: GuestKind,
    /// The node it lives on (added to the cluster when missing).
    pub node: String,
    /// `running`, else `stopped`.
    pub running: bool,
    /// PVE's `protection` flag.
    pub protection: bool,
    /// A config lock (`backup`, `snapshot`, ...).
    pub lock: Option<String>,
    /// PVE's template flag (a stopped guest whose disks are base images).
    pub template: bool,
    /// The storage of its disk (`scsi0` / `rootfs`): `nas` (shared) unless given.
    pub storage: Option<String>,
    /// The resource pool it is a member of.
    pub pool: Option<String>,
    /// HA-managed with this requested state (`started`, `stopped`).
    pub ha: Option<String>,
}

impl GuestSeed {
    /// A stopped, unprotected, unlocked guest.
    pub fn new(vmid: u32, kind: GuestKind, node: &str) -> Self {
        Self {
            vmid,
            kind,
            node: node.to_owned(),
            running: false,
            protection: false,
            lock: None,
            template: false,
            storage: None,
            pool: None,
            ha: None,
        }
    }

    /// The same guest with its disk on `storage` (seed the storage with
    /// [`Sim::seed_storage`] when the demo has none of that name).
    #[must_use]
    pub fn on_storage(mut self, storage: &str) -> Self {
        self.storage = Some(storage.to_owned());
        self
    }

    /// The same guest as a member of pool `pool` (created when missing).
    #[must_use]
    pub fn in_pool(mut self, pool: &str) -> Self {
        self.pool = Some(pool.to_owned());
        self
    }

    /// The same guest HA-managed, requested state `state`.
    #[must_use]
    pub fn ha(mut self, state: &str) -> Self {
        self.ha = Some(state.to_owned());
        self
    }

    /// The same guest, running.
    #[must_use]
    pub fn running(mut self) -> Self {
        self.running = true;
        self
    }

    /// The same guest with `protection: 1`.
    #[must_use]
    pub fn protected(mut self) -> Self {
        self.protection = true;
        self
    }

    /// The same guest locked with `lock`.
    #[must_use]
    pub fn locked(mut self, lock: &str) -> Self {
        self.lock = Some(lock.to_owned());
        self
    }

    /// The same guest as a template.
    #[must_use]
    pub fn template(mut self) -> Self {
        self.template = true;
        self
    }
}

impl Sim {
    /// Adds the guest `seed` describes, replacing one with the same vmid, and its node when the
    /// cluster has none of that name. Its name is `vm<vmid>` (qemu) or `ct<vmid>` (lxc).
    pub fn seed_guest(&mut self, seed: &GuestSeed) {
        let GuestSeed { vmid, kind, node: on, running, protection, lock, template, storage, pool, ha } = seed;
        let state = self.state_mut();
        if state.node(on).is_none() {
            let ip = format!("192.0.2.{}", 100 + state.nodes.len());
            state.nodes.push(node(on, &ip, 8, 32, 10));
        }
        let mut g = match kind {
            GuestKind::Qemu => qemu(*vmid, on, &format!("vm{vmid}"), 1024, 1, 8, *running),
            GuestKind::Lxc => lxc(*vmid, on, &format!("ct{vmid}"), 512, 1, 4, *running),
        };
        g.protection = *protection;
        g.lock.clone_from(lock);
        g.template = *template;
        if let Some(sid) = storage {
            let key = if *kind == GuestKind::Qemu { "scsi0" } else { "rootfs" };
            for (k, v) in &mut g.config {
                if k == key {
                    *v = v.replacen("nas:", &format!("{sid}:"), 1);
                }
            }
        }
        if let Some(p) = pool
            && !state.pools.iter().any(|x| &x.poolid == p)
        {
            state.pools.push(super::state::SimPool { poolid: p.clone(), comment: None, storage: Vec::new() });
        }
        g.pool.clone_from(pool);
        g.hastate.clone_from(ha);
        state.guests.retain(|x| x.vmid != *vmid);
        state.guests.push(g);
        state.sort_guests();
    }

    /// Adds a storage `id` of `plugintype` (not shared) holding `content`, configured on
    /// `nodes` only (PVE's `nodes` option), unless one of that id exists already.
    pub fn seed_storage(&mut self, id: &str, plugintype: &str, content: &[&str], nodes: &[&str]) {
        let state = self.state_mut();
        if state.storages.iter().any(|s| s.id == id) {
            return;
        }
        let mut s = super::seed::storage(id, plugintype, content, false, nodes, (100, 10));
        s.nodes = Some(nodes.iter().map(|n| (*n).to_owned()).collect());
        state.storages.push(s);
        state.storages.sort_by(|a, b| a.id.cmp(&b.id));
    }

    /// Adds a backup of guest `vmid` as it is now to `storage`, made at the demo's fixed time
    /// (`vzdump-<kind>-<vmid>-2026_01_01-00_00_00.<vma|tar>.zst`), `protected` as asked; on a
    /// storage that is not shared, the copy of the guest's node. Returns its volid.
    ///
    /// # Panics
    /// When there is no such guest or storage.
    pub fn seed_backup(&mut self, vmid: u32, storage: &str, protected: bool) -> String {
        let state = self.state_mut();
        let g = state.guest(vmid).unwrap_or_else(|| panic!("seed guest {vmid} before its backup")).clone();
        let shared = state.storages.iter().find(|s| s.id == storage).unwrap_or_else(|| panic!("no storage {storage}")).shared;
        let stamp = crate::model::time::format_utc(NOW).replace('-', "_").replace(' ', "-").replace(':', "_");
        let format = if g.kind == GuestKind::Qemu { "vma.zst" } else { "tar.zst" };
        let volid = format!("{storage}:backup/vzdump-{}-{vmid}-{stamp}.{format}", g.kind.as_str());
        let mut copy = g.clone();
        copy.snapshots.clear();
        copy.parent = None;
        copy.lock = None;
        "stopped".clone_into(&mut copy.status);
        copy.qmpstatus = None;
        state.volumes.retain(|v| v.volid != volid);
        state.volumes.push(SimVolume {
            volid: volid.clone(),
            content: "backup".into(),
            format: format.into(),
            size: g.maxdisk / 9 + 4096,
            ctime: NOW,
            vmid: Some(vmid),
            subtype: Some(g.kind.as_str().into()),
            notes: None,
            protected,
            node: (!shared).then(|| g.node.clone()),
            guest: Some(Box::new(copy)),
        });
        state.volumes.sort_by_key(|a| a.volid.to_lowercase());
        volid
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::api::{Method, Params};
    use crate::backend::sim::demo_state;

    #[test]
    fn a_seeded_guest_reads_back_with_its_facts() {
        let mut sim = Sim::new(demo_state());
        sim.seed_guest(&GuestSeed::new(7001, GuestKind::Lxc, "pve9").running().protected().locked("backup"));
        let g = sim.state().guest(7001).expect("seeded");
        assert_eq!(
            (g.kind, g.node.as_str(), g.is_running(), g.protection, g.lock.as_deref()),
            (GuestKind::Lxc, "pve9", true, true, Some("backup"))
        );
        assert!(sim.state().node("pve9").is_some(), "the missing node was added");
        let cfg = sim.handle(Method::Get, "/nodes/pve9/lxc/7001/config", &Params::new()).expect("config");
        assert_eq!((cfg["lock"].as_str(), cfg["hostname"].as_str()), (Some("backup"), Some("ct7001")));
        sim.seed_guest(&GuestSeed::new(7001, GuestKind::Qemu, "pve1"));
        assert_eq!(sim.state().guests.iter().filter(|g| g.vmid == 7001).count(), 1, "replaced, not doubled");
        assert!(sim.state().guests.windows(2).all(|w| w[0].vmid < w[1].vmid));
    }
}
