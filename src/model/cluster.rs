//! Cluster-level and node-level records: version, cluster status, resources, nodes, storage.
//!
//! Sources: `GET /version`, `GET /cluster/status`, `GET /cluster/resources`, `GET /nodes`,
//! `GET /nodes/{node}/status`, `GET /nodes/{node}/storage`. Sizes in bytes, times in seconds,
//! `cpu` as a fraction.

use serde::{Deserialize, Serialize};

use super::loose;

/// `GET /version`: `{version: "9.2.2", release: "9.2", repoid: "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Version {
    /// Full version, e.g. `9.2.2`.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub version: Option<String>,
    /// Release, e.g. `9.2`.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub release: Option<String>,
    /// pve-manager git id prefix.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub repoid: Option<String>,
}

/// One entry of `GET /cluster/status`: the cluster itself (`type: cluster`) or a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClusterStatusEntry {
    /// `cluster` or `node`.
    #[serde(rename = "type")]
    pub entry_type: String,
    /// Cluster or node name.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub name: Option<String>,
    /// `cluster` or `node/<name>`.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub id: Option<String>,
    /// Node: online.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub online: Option<u64>,
    /// Node: whether it is the node answering.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub local: Option<u64>,
    /// Node: corosync node id.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub nodeid: Option<u64>,
    /// Node: cluster address.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub ip: Option<String>,
    /// Cluster: number of nodes.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub nodes: Option<u64>,
    /// Cluster: quorate (1/0).
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub quorate: Option<u64>,
    /// Cluster: config version.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub version: Option<u64>,
}

/// One item of `GET /cluster/resources`; fields depend on `type`
/// (`qemu`, `lxc`, `node`, `storage`, `pool`, `sdn`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClusterResource {
    /// `qemu/100`, `node/pve1`, `storage/pve1/local`, ...
    pub id: String,
    /// Resource type.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Node, where the resource belongs to one.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub node: Option<String>,
    /// Status (`running`, `stopped`, `online`, `available`, ...).
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub status: Option<String>,
    /// Guest name.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub name: Option<String>,
    /// Guest id.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub vmid: Option<u64>,
    /// CPU usage fraction.
    #[serde(default, deserialize_with = "loose::opt_f64")]
    pub cpu: Option<f64>,
    /// CPUs.
    #[serde(default, deserialize_with = "loose::opt_f64")]
    pub maxcpu: Option<f64>,
    /// Memory used, bytes.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub mem: Option<u64>,
    /// Memory total, bytes.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub maxmem: Option<u64>,
    /// Disk used, bytes.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub disk: Option<u64>,
    /// Disk total, bytes.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub maxdisk: Option<u64>,
    /// Uptime, seconds.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub uptime: Option<u64>,
    /// Template flag (guests).
    #[serde(default, deserialize_with = "loose::bool01")]
    pub template: bool,
    /// Tags (guests), `;`-separated as PVE sends them.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub tags: Option<String>,
    /// Pool (guests, storage).
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub pool: Option<String>,
    /// Lock (guests).
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub lock: Option<String>,
    /// HA state (guests).
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub hastate: Option<String>,
    /// Storage id (storage).
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub storage: Option<String>,
    /// Storage plugin type (storage).
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub plugintype: Option<String>,
    /// Content types, comma-separated (storage).
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub content: Option<String>,
    /// Shared flag (storage).
    #[serde(default, deserialize_with = "loose::bool01")]
    pub shared: bool,
}

/// One node of `GET /nodes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Node {
    /// Node name.
    pub node: String,
    /// `online`, `offline` or `unknown`.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub status: Option<String>,
    /// CPU usage fraction.
    #[serde(default, deserialize_with = "loose::opt_f64")]
    pub cpu: Option<f64>,
    /// CPUs.
    #[serde(default, deserialize_with = "loose::opt_f64")]
    pub maxcpu: Option<f64>,
    /// Memory used, bytes.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub mem: Option<u64>,
    /// Memory total, bytes.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub maxmem: Option<u64>,
    /// Root disk used, bytes.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub disk: Option<u64>,
    /// Root disk size, bytes.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub maxdisk: Option<u64>,
    /// Uptime, seconds.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub uptime: Option<u64>,
    /// Subscription level.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub level: Option<String>,
}

/// Memory or disk usage in `GET /nodes/{node}/status`, bytes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Usage {
    /// Total, bytes.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub total: Option<u64>,
    /// Used, bytes.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub used: Option<u64>,
    /// Free, bytes.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub free: Option<u64>,
}

/// CPU description in `GET /nodes/{node}/status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CpuInfo {
    /// Model name.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub model: Option<String>,
    /// Logical CPUs.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub cpus: Option<u64>,
    /// Sockets.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub sockets: Option<u64>,
    /// Cores per socket.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub cores: Option<u64>,
}

/// `GET /nodes/{node}/status` (subset; sizes in bytes, `cpu` a fraction, `uptime` seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NodeStatus {
    /// Node name (filled in from the request).
    #[serde(default)]
    pub node: String,
    /// Uptime, seconds.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub uptime: Option<u64>,
    /// CPU usage fraction.
    #[serde(default, deserialize_with = "loose::opt_f64")]
    pub cpu: Option<f64>,
    /// I/O wait fraction.
    #[serde(default, deserialize_with = "loose::opt_f64")]
    pub wait: Option<f64>,
    /// Load averages (1, 5, 15 min), as PVE prints them.
    #[serde(default)]
    pub loadavg: Vec<String>,
    /// Memory.
    #[serde(default)]
    pub memory: Usage,
    /// Swap.
    #[serde(default)]
    pub swap: Usage,
    /// Root file system.
    #[serde(default)]
    pub rootfs: Usage,
    /// CPU model and counts.
    #[serde(default)]
    pub cpuinfo: CpuInfo,
    /// Running kernel (`uname -r` style text, or the kversion string).
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub kversion: Option<String>,
    /// `pve-manager/<version>/<repoid>`.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub pveversion: Option<String>,
}

/// A storage on a node, from `GET /nodes/{node}/storage` or `/cluster/resources` (`type: storage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Storage {
    /// Storage id.
    pub storage: String,
    /// Node the figures are from.
    pub node: String,
    /// Plugin type (`dir`, `lvmthin`, `zfspool`, `nfs`, `pbs`, ...).
    #[serde(rename = "type")]
    pub storage_type: Option<String>,
    /// Content types (`images`, `rootdir`, `iso`, `vztmpl`, `backup`, `snippets`, ...).
    pub content: Vec<String>,
    /// Whether the storage is active on the node.
    pub active: bool,
    /// Whether it is shared between nodes.
    pub shared: bool,
    /// Size, bytes.
    pub total: Option<u64>,
    /// Used, bytes.
    pub used: Option<u64>,
    /// Available, bytes.
    pub avail: Option<u64>,
}
