//! What a case gets besides the backend: the backend's capabilities, the node to seed guests
//! on, the vmids reserved for the case, and the simulator behind the backend, through which
//! the case seeds guests and faults and checks what the backend really did.

use std::any::Any;
use std::sync::Arc;

use crate::backend::sim::{Denied, FaultOutcome, GuestSeed, SimGuest, SimTask, SimTransport, SimVolume, TaskFault};
use crate::backend::{Backend, Method};
use crate::model::{GuestKind, NodeName, Vmid};

/// What a backend can express; cases branch on these, and a case a backend cannot express
/// at all is left out of its test list (see [`super::check_listed`]).
#[derive(Debug, Clone)]
#[expect(clippy::struct_excessive_bools, reason = "independent capabilities, each one a case branches on or needs")]
pub struct Caps {
    /// Cluster-wide API reads (tasks, storage, nodes' status): false for `--tools qm-pct`.
    pub cluster_api: bool,
    /// The only node it sees (qm-pct), or `None` for the whole cluster.
    pub node: Option<NodeName>,
    /// Actions return a task id (UPID): false for qm-pct, whose tools print none.
    pub upids: bool,
    /// The caller has an identity whose privileges PVE checks (an API token; the simulator's
    /// `pvesh` honours denied privileges too): false for qm-pct.
    pub permissions: bool,
    /// The typed reads over [`Backend::raw`] (`InventoryExt`: backups, pending changes, the
    /// next free vmid, storage content), and so every action that finds its backup by listing
    /// storage content (restore, backup delete): false for qm-pct, whose `raw` is unsupported.
    pub inventory: bool,
    /// Config reads carry PVE's `digest`, so `guest set` can make PVE refuse a change after
    /// someone else's edit: false for qm-pct (`qm|pct config` print no digest).
    pub config_digest: bool,
    /// Runs `pct` on the node for what PVE's API has no call for (`pct exec`, push, pull):
    /// false over REST, whose backend says `Unsupported`.
    pub node_tools: bool,
}

impl Caps {
    /// Everything: the in-process simulator, `pvesh` (local or over SSH), REST.
    pub fn api() -> Self {
        Self { cluster_api: true, node: None, upids: true, permissions: true, inventory: true, config_digest: true, node_tools: true }
    }

    /// REST (`https://`): the whole API, but no tools on the node.
    pub fn rest() -> Self {
        Self { node_tools: false, ..Self::api() }
    }

    /// `--tools qm-pct` on `node`: one node's guests, no cluster API, no UPIDs, root.
    pub fn qm_pct(node: &NodeName) -> Self {
        Self {
            cluster_api: false,
            node: Some(node.clone()),
            upids: false,
            permissions: false,
            inventory: false,
            config_digest: false,
            node_tools: true,
        }
    }
}

/// A case's surroundings: capabilities, where to seed, its vmids, and the simulator.
#[derive(Debug, Clone)]
pub struct CaseEnv {
    /// What the backend can express.
    pub caps: Caps,
    /// The node seeded guests live on (the tools' local node for qm-pct).
    pub node: NodeName,
    sim: SimTransport,
    offset: u32,
    base: u32,
}

impl CaseEnv {
    /// Cases against `sim`, the simulator behind the backend: the same in-process
    /// [`SimTransport`] (a clone shares it), or [`SimTransport::from_file`] on the state file
    /// the `pve-sim` tools or `pve-sim serve` use (changed under the same lock).
    pub fn new(caps: Caps, node: NodeName, sim: SimTransport) -> Self {
        Self { caps, node, sim, offset: 0, base: 0 }
    }

    /// The same environment with every case's vmids moved up by `offset`: backends sharing one
    /// state (the local `pvesh` and qm-pct tools read the same state file) take different
    /// offsets, a multiple of 100 000.
    #[must_use]
    pub fn with_vmid_offset(mut self, offset: u32) -> Self {
        self.offset = offset;
        self
    }

    /// This environment for the case `name` of [`super::CASES`], with its vmid range.
    ///
    /// # Panics
    /// When no case has that name.
    #[must_use]
    pub fn for_case(&self, name: &str) -> Self {
        let case = super::CASES.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no conformance case named {name}"));
        Self { base: self.offset + case.vmids, ..self.clone() }
    }

    /// The case's `i`-th vmid (`base + i`); cases sharing one state never collide.
    ///
    /// # Panics
    /// When called outside a case ([`CaseEnv::for_case`]) or `i` leaves the range of 100.
    pub fn vmid(&self, i: u32) -> Vmid {
        assert!(self.base > 0 && i < 100, "vmid {i} outside the case's range (base {})", self.base);
        Vmid::new(self.base + i).expect("case vmids are valid")
    }

    /// Runs `f` on the simulator's state (under the state file's lock where there is one).
    fn with<R>(&self, f: impl FnOnce(&mut crate::backend::sim::Sim) -> R) -> R {
        self.sim.with_sim(f).expect("the simulator's state is readable and writable")
    }

    /// Seeds a guest of `kind` on [`CaseEnv::node`] with vmid [`CaseEnv::vmid`]`(i)`, as
    /// `adjust` makes it (running, protected, locked); returns the vmid.
    ///
    /// # Panics
    /// When a guest with that vmid exists already: two cases share a range, or the base state
    /// holds it.
    pub fn seed(&self, i: u32, kind: GuestKind, adjust: impl FnOnce(GuestSeed) -> GuestSeed) -> Vmid {
        let vmid = self.vmid(i);
        let seed = adjust(GuestSeed::new(vmid.get(), kind, self.node.as_str()));
        self.with(|sim| {
            assert!(sim.state().guest(seed.vmid).is_none(), "vmid {} is taken: cases must not share vmids", seed.vmid);
            sim.seed_guest(&seed);
        });
        vmid
    }

    /// Seeds a storage `id` (type `dir`, not shared, content `images` and `rootdir`) present
    /// on `nodes` only; a second call with the same id changes nothing.
    pub fn seed_storage(&self, id: &str, nodes: &[&str]) {
        self.with(|sim| sim.seed_storage(id, "dir", &["images", "rootdir"], nodes));
    }

    /// Makes the agent of guest `vmid` stop answering (configured, guest running).
    pub fn agent_down(&self, vmid: Vmid) {
        self.with(|sim| sim.state_mut().faults.agent_down.push(vmid.get()));
    }

    /// Every argv the guest `vmid` was asked to run (agent exec, `pct exec`), oldest first.
    pub fn exec_log(&self, vmid: Vmid) -> Vec<Vec<String>> {
        self.with(|sim| sim.state().agent_exec_log.iter().filter(|r| r.vmid == vmid.get()).map(|r| r.argv.clone()).collect())
    }

    /// A cluster node other than [`CaseEnv::node`] (the first in name order).
    ///
    /// # Panics
    /// When the cluster has one node only.
    pub fn other_node(&self) -> NodeName {
        self.with(|sim| sim.state().nodes.iter().map(|n| n.name.clone()).find(|n| n != self.node.as_str()))
            .expect("a second node")
            .parse()
            .expect("node names are valid")
    }

    /// Seeds a backup of the seeded guest `vmid` on `storage` ([`Sim::seed_backup`]); returns
    /// its volid.
    ///
    /// [`Sim::seed_backup`]: crate::backend::sim::Sim::seed_backup
    pub fn seed_backup(&self, vmid: Vmid, storage: &str, protected: bool) -> String {
        self.with(|sim| sim.seed_backup(vmid.get(), storage, protected))
    }

    /// The backups the simulator holds of guest `vmid` (not through the backend under test).
    pub fn backups(&self, vmid: Vmid) -> Vec<SimVolume> {
        self.with(|sim| sim.state().volumes.iter().filter(|v| v.content == "backup" && v.vmid == Some(vmid.get())).cloned().collect())
    }

    /// Changes guest `vmid`'s config behind the backend's back, as another admin would
    /// (`PUT .../config` on the simulator itself): its digest changes.
    ///
    /// # Panics
    /// When the simulator refuses.
    pub fn edit_config(&self, vmid: Vmid, key: &str, value: &str) {
        let g = self.guest(vmid);
        let path = format!("/nodes/{}/{}/{vmid}/config", g.node, g.kind);
        let params = vec![(key.to_owned(), value.to_owned())];
        self.with(|sim| sim.handle(Method::Put, &path, &params)).unwrap_or_else(|e| panic!("edit {path}: {e:?}"));
    }

    /// The guest as the simulator holds it, if there is one.
    pub fn find_guest(&self, vmid: Vmid) -> Option<SimGuest> {
        self.with(|sim| sim.state().guest(vmid.get()).cloned())
    }

    /// Makes every `action` task of guest `vmid` fail with `message`.
    pub fn fail_tasks(&self, vmid: Vmid, action: &str, message: &str) {
        let fault = TaskFault {
            vmid: vmid.get(),
            action: Some(action.to_owned()),
            outcome: FaultOutcome::Fail { message: message.to_owned() },
            once: false,
        };
        self.with(|sim| sim.state_mut().faults.tasks.push(fault));
    }

    /// Denies `privilege` on `/vms/<vmid>` to every caller.
    pub fn deny(&self, vmid: Vmid, privilege: &str) {
        let denied = Denied { path: format!("/vms/{vmid}"), privilege: privilege.to_owned() };
        self.with(|sim| sim.state_mut().faults.denied.push(denied));
    }

    /// The guest as the simulator holds it (not through the backend under test).
    ///
    /// # Panics
    /// When there is no such guest.
    pub fn guest(&self, vmid: Vmid) -> SimGuest {
        self.find_guest(vmid).unwrap_or_else(|| panic!("guest {vmid} is in the simulator"))
    }

    /// The tasks the simulator ran for guest `vmid`: none means nothing was sent for it.
    pub fn tasks(&self, vmid: Vmid) -> Vec<SimTask> {
        let id = vmid.to_string();
        self.with(|sim| sim.state().tasks.iter().filter(|t| t.upid.id == id).cloned().collect())
    }

    /// Asserts that nothing reached the simulator for guest `vmid`: no task, and the run state
    /// is still `status`.
    ///
    /// # Panics
    /// When something did.
    pub fn assert_untouched(&self, vmid: Vmid, status: &str) {
        let tasks = self.tasks(vmid);
        assert!(tasks.is_empty(), "nothing may be sent for guest {vmid}, yet it has tasks: {tasks:?}");
        assert_eq!(self.guest(vmid).status, status, "guest {vmid} changed");
    }
}

/// One backend set up for one case: the backend, its environment, and whatever must live as
/// long as they do (temporary directories, an sshd, a server).
pub struct Fixture {
    /// The backend under test.
    pub backend: Arc<dyn Backend>,
    /// Its environment.
    pub env: CaseEnv,
    /// Dropped after the case.
    pub keep: Box<dyn Any>,
}

impl Fixture {
    /// Runs the case `name` ([`super::CASES`]) against this backend, then closes it.
    ///
    /// # Panics
    /// When the case fails, or there is no such case, or closing fails.
    pub async fn run(self, name: &str) {
        let case = super::CASES.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no conformance case named {name}"));
        let env = self.env.for_case(name);
        (case.run)(&self.backend, &env).await;
        self.backend.close().await.expect("the backend closes");
        drop(self.keep);
    }
}
