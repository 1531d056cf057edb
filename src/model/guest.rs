//! Guests (qemu VMs and lxc containers): list entries and detailed status.
//!
//! Sources: `GET /cluster/resources` items of type `qemu`/`lxc`, `GET /nodes/{node}/{kind}`,
//! `GET /nodes/{node}/{kind}/{vmid}/status/current`, and the `qm list`/`pct list`/`qm status`
//! text in `qm-pct` mode. Fields a source does not give are `None`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::loose;
use super::{NodeName, Vmid};

/// Every value a guest's `status` can take: PVE's `running` and `stopped` (the enum of
/// `GET /cluster/resources` and `.../status/current` in the API schema), then QEMU's run
/// states (qapi `RunState`, what `qm list` prints from `qmpstatus` for a VM that is not
/// simply running). `--status` selectors accept only these.
pub const GUEST_STATUSES: &[&str] = &[
    "running",
    "stopped",
    "paused",
    "suspended",
    "prelaunch",
    "inmigrate",
    "postmigrate",
    "finish-migrate",
    "save-vm",
    "restore-vm",
    "io-error",
    "internal-error",
    "guest-panicked",
    "shutdown",
    "watchdog",
    "debug",
    "colo",
];

/// The kind of a guest, as PVE names it in paths and in `/cluster/resources` `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GuestKind {
    /// A QEMU/KVM virtual machine (`qm`).
    Qemu,
    /// An LXC container (`pct`).
    Lxc,
}

impl GuestKind {
    /// Path segment and `type` value: `qemu` or `lxc`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Qemu => "qemu",
            Self::Lxc => "lxc",
        }
    }

    /// The node-local tool for this kind: `qm` or `pct`.
    pub fn tool(self) -> &'static str {
        match self {
            Self::Qemu => "qm",
            Self::Lxc => "pct",
        }
    }
}

impl fmt::Display for GuestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GuestKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "qemu" | "vm" | "qm" => Ok(Self::Qemu),
            "lxc" | "ct" | "pct" => Ok(Self::Lxc),
            _ => Err(format!("unknown guest kind '{s}' (expected qemu or lxc)")),
        }
    }
}

/// Where a guest lives: enough to build its API paths (`/nodes/{node}/{kind}/{vmid}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GuestRef {
    /// Guest id.
    pub vmid: Vmid,
    /// Node the guest is on.
    pub node: NodeName,
    /// qemu or lxc.
    pub kind: GuestKind,
}

impl GuestRef {
    /// `/nodes/{node}/{kind}/{vmid}`.
    pub fn path(&self) -> String {
        format!("/nodes/{}/{}/{}", self.node, self.kind, self.vmid)
    }
}

/// One guest in a list (`guest list`). Sizes in bytes, `cpu` as the fraction of `maxcpu`
/// PVE reports (0.0-1.0 per CPU share), `uptime` in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Guest {
    /// Guest id.
    pub vmid: Vmid,
    /// Name (qemu `name`, lxc `hostname`); `qm list` prints `VM <vmid>` for an unnamed VM.
    pub name: Option<String>,
    /// Node the guest is on.
    pub node: NodeName,
    /// qemu or lxc.
    pub kind: GuestKind,
    /// `running`, `stopped`, or a QEMU run state such as `paused` (from `qm list`).
    pub status: String,
    /// CPU usage as a fraction (PVE's `cpu`).
    pub cpu: Option<f64>,
    /// Number of CPUs assigned.
    pub maxcpu: Option<f64>,
    /// Memory in use, bytes.
    pub mem: Option<u64>,
    /// Memory assigned, bytes.
    pub maxmem: Option<u64>,
    /// Disk in use, bytes (PVE reports 0 for most qemu guests).
    pub disk: Option<u64>,
    /// Disk size, bytes (qemu: boot disk).
    pub maxdisk: Option<u64>,
    /// Seconds since start; 0 when stopped.
    pub uptime: Option<u64>,
    /// Whether the guest is a template.
    pub template: bool,
    /// Tags, in PVE's order (`tags` is `;`-separated in PVE).
    pub tags: Vec<String>,
    /// Resource pool, when in one.
    pub pool: Option<String>,
    /// Lock (`backup`, `snapshot`, `migrate`, ...), when locked.
    pub lock: Option<String>,
}

impl Guest {
    /// A guest of which only identity and status are known: every measured field `None`,
    /// not a template, no tags, pool or lock.
    pub fn new(vmid: Vmid, node: NodeName, kind: GuestKind, status: impl Into<String>) -> Self {
        Self {
            vmid,
            name: None,
            node,
            kind,
            status: status.into(),
            cpu: None,
            maxcpu: None,
            mem: None,
            maxmem: None,
            disk: None,
            maxdisk: None,
            uptime: None,
            template: false,
            tags: Vec::new(),
            pool: None,
            lock: None,
        }
    }

    /// The reference that locates this guest.
    pub fn guest_ref(&self) -> GuestRef {
        GuestRef { vmid: self.vmid, node: self.node.clone(), kind: self.kind }
    }
}

/// Splits PVE's tag string (`;`, `,` or space separated) into tags.
pub fn split_tags(s: &str) -> Vec<String> {
    s.split([';', ',', ' ']).filter(|t| !t.is_empty()).map(str::to_owned).collect()
}

/// Detailed status of one guest (`guest status`), from
/// `GET /nodes/{node}/{kind}/{vmid}/status/current` or `qm status`/`pct status --verbose`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GuestStatus {
    /// Guest id.
    pub vmid: Vmid,
    /// Node the guest is on.
    pub node: NodeName,
    /// qemu or lxc.
    pub kind: GuestKind,
    /// Name, when known.
    pub name: Option<String>,
    /// `running` or `stopped`.
    pub status: String,
    /// QEMU run state (`running`, `paused`, `prelaunch`, ...); qemu only.
    pub qmpstatus: Option<String>,
    /// CPU usage as a fraction.
    pub cpu: Option<f64>,
    /// CPUs assigned.
    pub cpus: Option<f64>,
    /// Memory in use, bytes.
    pub mem: Option<u64>,
    /// Memory assigned, bytes.
    pub maxmem: Option<u64>,
    /// Disk in use, bytes.
    pub disk: Option<u64>,
    /// Disk size, bytes.
    pub maxdisk: Option<u64>,
    /// Seconds since start.
    pub uptime: Option<u64>,
    /// Process id of the running guest.
    pub pid: Option<u64>,
    /// Lock, when locked.
    pub lock: Option<String>,
    /// Whether the guest is a template.
    pub template: bool,
    /// Tags.
    pub tags: Vec<String>,
    /// HA state (`started`, `stopped`, ...) when the guest is HA-managed.
    pub ha_state: Option<String>,
}

/// The raw shape of a guest-ish JSON object from PVE, read leniently; converted to the
/// public types above by the shared API layer.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RawGuestFields {
    /// `vmid`.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub vmid: Option<u64>,
    /// `name`.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub name: Option<String>,
    /// `node`.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub node: Option<String>,
    /// `type`.
    #[serde(default, rename = "type", deserialize_with = "loose::opt_string")]
    pub kind: Option<String>,
    /// `status`.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub status: Option<String>,
    /// `qmpstatus`.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub qmpstatus: Option<String>,
    /// `cpu`.
    #[serde(default, deserialize_with = "loose::opt_f64")]
    pub cpu: Option<f64>,
    /// `maxcpu`.
    #[serde(default, deserialize_with = "loose::opt_f64")]
    pub maxcpu: Option<f64>,
    /// `cpus`.
    #[serde(default, deserialize_with = "loose::opt_f64")]
    pub cpus: Option<f64>,
    /// `mem`.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub mem: Option<u64>,
    /// `maxmem`.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub maxmem: Option<u64>,
    /// `disk`.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub disk: Option<u64>,
    /// `maxdisk`.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub maxdisk: Option<u64>,
    /// `uptime`.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub uptime: Option<u64>,
    /// `pid`.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub pid: Option<u64>,
    /// `template`.
    #[serde(default, deserialize_with = "loose::bool01")]
    pub template: bool,
    /// `tags`.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub tags: Option<String>,
    /// `pool`.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub pool: Option<String>,
    /// `lock`.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub lock: Option<String>,
    /// `hastate` (cluster resources).
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub hastate: Option<String>,
    /// `ha` object (status/current): `{managed, state, ...}`.
    #[serde(default)]
    pub ha: Option<serde_json::Value>,
}
