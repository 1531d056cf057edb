//! The simulated cluster's state: plain serde data, saved as JSON by the `pve-sim` tools.
//!
//! Everything the core answers is derived from this one value, so two freshly seeded states
//! compare equal and a state file round-trips. Units: sizes in bytes, times in seconds (Unix
//! epoch for timestamps), `cpu` as a fraction of `maxcpu`. Every field has a serde default so
//! state files written by an older simulator still load.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::faults::Faults;
use super::task_state::{HaPending, Settings, SimTask};
use crate::model::GuestKind;

/// The whole simulated cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimState {
    /// Cluster name (`GET /cluster/status`, entry of type `cluster`).
    pub cluster_name: String,
    /// `GET /version`.
    pub version: VersionInfo,
    /// Nodes in cluster order (node ids are positions + 1).
    pub nodes: Vec<SimNode>,
    /// Guests, kept sorted by vmid.
    pub guests: Vec<SimGuest>,
    /// Storage definitions with per-node usage.
    pub storages: Vec<SimStorage>,
    /// Resource pools; membership is each guest's `pool`.
    pub pools: Vec<SimPool>,
    /// Tasks of every node, oldest first.
    pub tasks: Vec<SimTask>,
    /// Injected faults.
    pub faults: Faults,
    /// Simulator settings (task durations, HA delay).
    pub settings: Settings,
    /// HA requests the simulated HA manager has yet to carry out, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ha_pending: Vec<HaPending>,
    /// API tokens `pve-sim serve` accepts, with their ACLs (`access.rs`; none = no REST access).
    pub tokens: Vec<super::access::SimToken>,
    /// Files on storages the simulator lists: backups and container templates.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<SimVolume>,
    /// Backup jobs (`/etc/pve/jobs.cfg` entries of type `vzdump`), each the job's options as
    /// the API lists them (`id`, `schedule`, `enabled`, `storage`, `vmid` or `all`, ...);
    /// `next-run` is computed when listed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backup_jobs: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Every command a guest was asked to run (qemu agent `exec`, `pct exec`), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub agent_exec_log: Vec<super::guest_exec::ExecRecord>,
    /// Processes the guest agents started (`exec`), for `exec-status`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub agent_execs: Vec<super::guest_exec::AgentExec>,
    /// Files inside guests (agent `file-write`, `pct push`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub guest_files: Vec<super::guest_exec::GuestFile>,
    /// What the nodes report about their own health: certificates, services, updates, disks,
    /// ZFS pools, replication jobs, Ceph (`node_health.rs`).
    pub health: super::node_health::SimHealth,
}

/// A file on a storage: a backup archive (`content` `backup`) or a container template
/// (`vztmpl`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimVolume {
    /// Volume id, `<storage>:backup/vzdump-lxc-102-2025_12_31-22_30_00.tar.zst`.
    pub volid: String,
    /// Content type: `backup`, `vztmpl`, `iso`.
    pub content: String,
    /// Format as pve-storage names it: `vma.zst`, `tar.zst`, `tzst`, `iso`, ...
    pub format: String,
    /// Size, bytes.
    pub size: u64,
    /// Creation time, seconds since the epoch.
    pub ctime: u64,
    /// Owner guest (backups).
    pub vmid: Option<u32>,
    /// `qemu` or `lxc` (backups).
    pub subtype: Option<String>,
    /// Notes (backups); the listing shows the first line.
    pub notes: Option<String>,
    /// The protected flag (backups).
    pub protected: bool,
    /// For a storage that is not shared: the node whose copy this is; `None` = every node.
    pub node: Option<String>,
    /// The guest as it was backed up (a restore brings back its config).
    pub guest: Option<Box<SimGuest>>,
}

impl SimVolume {
    /// The storage id of the volid (before the first `:`).
    pub fn storage(&self) -> &str {
        self.volid.split_once(':').map_or("", |(s, _)| s)
    }

    /// The volume name (after the first `:`).
    pub fn volname(&self) -> &str {
        self.volid.split_once(':').map_or(self.volid.as_str(), |(_, v)| v)
    }
}

/// `GET /version`: `{version, release, repoid}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VersionInfo {
    /// Full version, e.g. `9.1.4`.
    pub version: String,
    /// Release, e.g. `9.1`.
    pub release: String,
    /// pve-manager git id prefix (16 hex digits since PVE 8).
    pub repoid: String,
}

/// One cluster node.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimNode {
    /// Node name (`pve-node` format).
    pub name: String,
    /// Whether the node is online (an offline node lists no figures).
    pub online: bool,
    /// Cluster address.
    pub ip: String,
    /// CPU usage, fraction 0.0-1.0.
    pub cpu: f64,
    /// Logical CPUs.
    pub maxcpu: u64,
    /// Memory used, bytes.
    pub mem: u64,
    /// Memory total, bytes.
    pub maxmem: u64,
    /// Swap used, bytes.
    pub swap: u64,
    /// Swap total, bytes.
    pub maxswap: u64,
    /// Root file system used, bytes.
    pub disk: u64,
    /// Root file system size, bytes.
    pub maxdisk: u64,
    /// Uptime, seconds.
    pub uptime: u64,
    /// `uname` style kernel line, e.g. `Linux 6.17.2-2-pve #1 SMP PREEMPT_DYNAMIC PMX ...`.
    pub kversion: String,
    /// `pve-manager/<version>/<repoid>`.
    pub pveversion: String,
    /// CPU model name.
    pub cpu_model: String,
    /// CPU sockets.
    pub cpu_sockets: u64,
    /// Cores per socket.
    pub cpu_cores: u64,
    /// Load averages (1, 5, 15 minutes) as PVE prints them (`"0.12"`).
    pub loadavg: Vec<String>,
}

/// One guest (qemu VM or lxc container).
///
/// `name`, `tags`, `lock` and `protection` are authoritative here and are merged into the
/// config output (`name`/`hostname`, `tags`, `lock`, `protection`); `config` holds every
/// other key in file order (raw `lxc.*` keys included, they are printed last).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimGuest {
    /// Guest id.
    pub vmid: u32,
    /// qemu or lxc.
    pub kind: GuestKind,
    /// Node the guest lives on.
    pub node: String,
    /// Name (qemu `name`, lxc `hostname`); `None` lists as `VM <vmid>` / `CT<vmid>`.
    pub name: Option<String>,
    /// `running` or `stopped`.
    pub status: String,
    /// QEMU run state when running (`running`, `paused`, ...); qemu only.
    pub qmpstatus: Option<String>,
    /// CPU usage, fraction of `maxcpu`.
    pub cpu: f64,
    /// CPUs assigned.
    pub maxcpu: f64,
    /// Memory in use, bytes.
    pub mem: u64,
    /// Memory assigned, bytes.
    pub maxmem: u64,
    /// Swap in use, bytes (lxc).
    pub swap: u64,
    /// Swap assigned, bytes (lxc).
    pub maxswap: u64,
    /// Disk in use, bytes (PVE reports 0 for most qemu guests).
    pub disk: u64,
    /// Boot/root disk size, bytes.
    pub maxdisk: u64,
    /// Seconds since start; 0 when stopped.
    pub uptime: u64,
    /// Process id while running.
    pub pid: Option<u64>,
    /// Bytes received since start.
    pub netin: u64,
    /// Bytes sent since start.
    pub netout: u64,
    /// Bytes read from disks since start.
    pub diskread: u64,
    /// Bytes written to disks since start.
    pub diskwrite: u64,
    /// Template flag.
    pub template: bool,
    /// Tags in order (PVE joins them with `;`).
    pub tags: Vec<String>,
    /// Resource pool, when a member.
    pub pool: Option<String>,
    /// Config lock (`backup`, `snapshot`, `migrate`, ...); `None` when unlocked.
    pub lock: Option<String>,
    /// The `protection` flag.
    pub protection: bool,
    /// HA state (`started`, `stopped`, ...) when HA-managed.
    pub hastate: Option<String>,
    /// Configuration in file order, without `name`/`hostname`, `tags`, `lock`,
    /// `protection`, `parent` and `digest`. `description` is stored unescaped.
    pub config: Vec<(String, String)>,
    /// Snapshots in creation order.
    pub snapshots: Vec<SimSnapshot>,
    /// The snapshot the live state derives from (`parent` of `current`).
    pub parent: Option<String>,
    /// Pending config changes (`[PENDING]` section), applied at the next start.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<(String, String)>,
    /// Pending deletions (`delete` of the `[PENDING]` section).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pending_delete: Vec<String>,
    /// Counts config writes, so the `digest` changes on every write.
    #[serde(skip_serializing_if = "is_zero")]
    pub config_gen: u64,
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "serde's skip_serializing_if passes a reference")]
const fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Default for SimGuest {
    fn default() -> Self {
        Self {
            vmid: 0,
            kind: GuestKind::Qemu,
            node: String::new(),
            name: None,
            status: "stopped".to_owned(),
            qmpstatus: None,
            cpu: 0.0,
            maxcpu: 1.0,
            mem: 0,
            maxmem: 0,
            swap: 0,
            maxswap: 0,
            disk: 0,
            maxdisk: 0,
            uptime: 0,
            pid: None,
            netin: 0,
            netout: 0,
            diskread: 0,
            diskwrite: 0,
            template: false,
            tags: Vec::new(),
            pool: None,
            lock: None,
            protection: false,
            hastate: None,
            config: Vec::new(),
            snapshots: Vec::new(),
            parent: None,
            pending: Vec::new(),
            pending_delete: Vec::new(),
            config_gen: 0,
        }
    }
}

impl SimGuest {
    /// Whether the guest runs (`status` is `running`, whatever the QEMU run state).
    pub fn is_running(&self) -> bool {
        self.status == "running"
    }

    /// The name PVE lists: the configured one, else `VM <vmid>` (qemu) or `CT<vmid>` (lxc).
    pub fn display_name(&self) -> String {
        match (&self.name, self.kind) {
            (Some(n), _) => n.clone(),
            (None, GuestKind::Qemu) => format!("VM {}", self.vmid),
            (None, GuestKind::Lxc) => format!("CT{}", self.vmid),
        }
    }

    /// The config file path PVE names in errors: `nodes/<node>/qemu-server/<vmid>.conf` or
    /// `nodes/<node>/lxc/<vmid>.conf`.
    pub fn config_path(kind: GuestKind, node: &str, vmid: &str) -> String {
        let dir = match kind {
            GuestKind::Qemu => "qemu-server",
            GuestKind::Lxc => "lxc",
        };
        format!("nodes/{node}/{dir}/{vmid}.conf")
    }

    /// A config value by key, from the ordered list.
    pub fn config_value(&self, key: &str) -> Option<&str> {
        self.config.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// One snapshot of a guest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimSnapshot {
    /// Snapshot name.
    pub name: String,
    /// Parent snapshot; `None` for a root.
    pub parent: Option<String>,
    /// Creation time, seconds since the Unix epoch.
    pub snaptime: u64,
    /// Description, unescaped (may span lines).
    pub description: String,
    /// Whether RAM state was saved (qemu only).
    pub vmstate: bool,
    /// The guest's config at snapshot time (same rules as [`SimGuest::config`]); empty when
    /// not recorded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<(String, String)>,
}

/// A storage definition (`/etc/pve/storage.cfg` entry) with usage per node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimStorage {
    /// Storage id.
    pub id: String,
    /// Plugin type: `dir`, `nfs`, `lvmthin`, `zfspool`, ...
    pub plugintype: String,
    /// Content types in order (`images`, `rootdir`, `iso`, `vztmpl`, `backup`, ...).
    pub content: Vec<String>,
    /// Shared between nodes.
    pub shared: bool,
    /// Nodes the storage is restricted to; `None` = every node.
    pub nodes: Option<Vec<String>>,
    /// Type-specific options in order (`path`, `server`, `export`, ...).
    pub options: Vec<(String, String)>,
    /// Usage per node name.
    pub usage: BTreeMap<String, StorageUsage>,
}

impl SimStorage {
    /// Whether the storage is configured on `node`.
    pub fn on_node(&self, node: &str) -> bool {
        self.nodes.as_ref().is_none_or(|ns| ns.iter().any(|n| n == node))
    }
}

/// Usage of a storage on one node, bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageUsage {
    /// Size, bytes.
    pub total: u64,
    /// Used, bytes.
    pub used: u64,
    /// Available, bytes (not always `total - used`: file systems reserve blocks).
    pub avail: u64,
}

/// A resource pool.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimPool {
    /// Pool id.
    pub poolid: String,
    /// Comment, when set.
    pub comment: Option<String>,
    /// Storages that are members of the pool.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub storage: Vec<String>,
}

impl SimState {
    /// The node named `name`.
    pub fn node(&self, name: &str) -> Option<&SimNode> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The guest with `vmid`, wherever it lives.
    pub fn guest(&self, vmid: u32) -> Option<&SimGuest> {
        self.guests.binary_search_by_key(&vmid, |g| g.vmid).ok().map(|i| &self.guests[i])
    }

    /// The guest with `vmid`, mutable.
    pub fn guest_mut(&mut self, vmid: u32) -> Option<&mut SimGuest> {
        self.guests.binary_search_by_key(&vmid, |g| g.vmid).ok().map(|i| &mut self.guests[i])
    }

    /// Restores the vmid order of `guests` (call after pushing guests).
    pub fn sort_guests(&mut self) {
        self.guests.sort_by_key(|g| g.vmid);
    }

    /// The task whose UPID text is `upid`.
    pub fn task(&self, upid: &str) -> Option<&SimTask> {
        self.tasks.iter().find(|t| t.upid.as_str() == upid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unnamed_guests_get_pve_default_names() {
        let vm = SimGuest { vmid: 9000, ..SimGuest::default() };
        assert_eq!(vm.display_name(), "VM 9000");
        let ct = SimGuest { vmid: 120, kind: GuestKind::Lxc, ..SimGuest::default() };
        assert_eq!(ct.display_name(), "CT120");
        assert_eq!(SimGuest::config_path(GuestKind::Lxc, "pve1", "120"), "nodes/pve1/lxc/120.conf");
    }
}
