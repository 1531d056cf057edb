//! Every change a backend can make, as one closed enum, so one method executes them and one
//! wrapper ([`crate::safety`]) gates them all.
//!
//! Each [`Mutation`] maps to exactly one API call (`pvesh create|set|delete`, or REST
//! `POST|PUT|DELETE`) and, where `qm`/`pct` can do it, one tool command line.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use serde_json::Value;

use super::api::{Method, Params};
use crate::model::{ExitStatus, GuestKind, GuestRef, NodeName, SnapshotName, StorageId, Upid, Vmid};

/// A power action: PVE's `POST /nodes/{node}/{kind}/{vmid}/status/{action}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PowerAction {
    /// Start the guest.
    Start,
    /// Clean shutdown (ACPI / container init); `timeout` and `forceStop` apply.
    Shutdown,
    /// Clean reboot.
    Reboot,
    /// Hard stop, like pulling the plug.
    Stop,
    /// Hard reset (qemu only).
    Reset,
    /// Pause (qemu: `paused` run state; lxc: freeze).
    Suspend,
    /// Continue a suspended guest.
    Resume,
}

impl PowerAction {
    /// The API path segment and the `qm`/`pct` sub-command.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Shutdown => "shutdown",
            Self::Reboot => "reboot",
            Self::Stop => "stop",
            Self::Reset => "reset",
            Self::Suspend => "suspend",
            Self::Resume => "resume",
        }
    }

    /// Whether PVE has this action for `kind` (lxc has no `reset`).
    pub fn supported_for(self, kind: GuestKind) -> bool {
        !(kind == GuestKind::Lxc && self == Self::Reset)
    }

    /// The safety tier (DESIGN.md §4).
    pub fn tier(self) -> Tier {
        match self {
            Self::Start | Self::Resume => Tier::Change,
            Self::Shutdown | Self::Reboot | Self::Suspend => Tier::Disruptive,
            Self::Stop | Self::Reset => Tier::Destructive,
        }
    }
}

impl fmt::Display for PowerAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PowerAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        <Self as clap::ValueEnum>::from_str(s, false)
    }
}

/// Safety tiers, ordered by risk (DESIGN.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Lists, status, config, logs.
    Read,
    /// Start, resume, snapshot create: no gate, audited.
    Change,
    /// Shutdown, reboot, suspend: `--yes` or a typed `yes`.
    Disruptive,
    /// Stop, reset, rollback, delete, raw writes: `--yes` or a typed `yes`.
    Destructive,
}

impl Tier {
    /// Whether this tier needs a confirmation.
    pub fn is_gated(self) -> bool {
        self >= Self::Disruptive
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Read => "read",
            Self::Change => "change",
            Self::Disruptive => "disruptive",
            Self::Destructive => "destructive",
        })
    }
}

/// One change to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    /// A power action with its API parameters (e.g. `timeout`, `forceStop` for shutdown).
    Power {
        /// The guest.
        guest: GuestRef,
        /// The action.
        action: PowerAction,
        /// Extra API parameters, in order.
        params: Params,
    },
    /// `POST .../snapshot` (`qm|pct snapshot <vmid> <name>`).
    SnapshotCreate {
        /// The guest.
        guest: GuestRef,
        /// New snapshot name.
        name: SnapshotName,
        /// Description, if any (passed as one argument, whatever it holds).
        description: Option<String>,
        /// Save RAM state (qemu only).
        vmstate: bool,
    },
    /// `POST .../snapshot/{name}/rollback` (`qm|pct rollback <vmid> <name>`).
    SnapshotRollback {
        /// The guest.
        guest: GuestRef,
        /// Snapshot to return to.
        name: SnapshotName,
        /// Start the guest after the rollback.
        start: bool,
    },
    /// `DELETE .../snapshot/{name}` (`qm|pct delsnapshot <vmid> <name>`).
    SnapshotDelete {
        /// The guest.
        guest: GuestRef,
        /// Snapshot to delete.
        name: SnapshotName,
    },
    /// One backup job on one node: `POST /nodes/{node}/vzdump` with `vmid=<list>`
    /// (`vzdump <vmid>... --opts`); one task for all its guests.
    Backup {
        /// The node whose guests it backs up.
        node: NodeName,
        /// The guests, all on `node`.
        vmids: Vec<Vmid>,
        /// `storage`, `mode`, `compress`, `notes-template`, `protected`, `remove`, in order.
        params: Params,
    },
    /// A restore: `POST /nodes/{node}/qemu` with `archive=<volid>`, or `POST /nodes/{node}/lxc`
    /// with `ostemplate=<volid>` and `restore=1` (`qmrestore <volid> <vmid>`,
    /// `pct restore <vmid> <volid>`).
    Restore {
        /// The guest it creates or replaces (node, kind of the backup, vmid).
        guest: GuestRef,
        /// The backup's volid.
        archive: String,
        /// Replace an existing guest (PVE's `force=1`): destructive.
        force: bool,
        /// `storage`, `start`, `unique`, in order.
        params: Params,
    },
    /// `PUT /nodes/{node}/storage/{storage}/content/{volume}` with `protected=0|1`.
    BackupProtect {
        /// A node that sees the storage.
        node: NodeName,
        /// The storage.
        storage: StorageId,
        /// The backup's volid.
        volid: String,
        /// The new flag.
        protected: bool,
    },
    /// `DELETE /nodes/{node}/storage/{storage}/content/{volume}`.
    BackupDelete {
        /// A node that sees the storage.
        node: NodeName,
        /// The storage.
        storage: StorageId,
        /// The backup's volid.
        volid: String,
        /// The plan clears the backup's `protected` flag first (`backup delete --force`);
        /// without it policy refuses a protected backup.
        force: bool,
    },
    /// `POST .../clone` with `newid` (`qm|pct clone <vmid> <newid>`).
    Clone {
        /// The source guest.
        guest: GuestRef,
        /// The new vmid.
        newid: Vmid,
        /// `name`/`hostname`, `full`, `target`, `storage`, `pool`, `description`, in order.
        params: Params,
    },
    /// `POST .../template` (`qm|pct template <vmid>`): irreversible.
    Template {
        /// The guest.
        guest: GuestRef,
    },
    /// `POST /nodes/{node}/{kind}` with `vmid` (`qm create <vmid>`, `pct create <vmid> <ostemplate>`).
    Create {
        /// The new guest.
        guest: GuestRef,
        /// Its parameters, in order (for lxc, `ostemplate` among them).
        params: Params,
        /// Parameters holding secrets (`password`): sent, never shown in plans, audit or traces.
        secrets: Vec<(String, crate::backend::rest::Secret)>,
    },
    /// `DELETE /nodes/{node}/{kind}/{vmid}` (`qm|pct destroy <vmid>`).
    Delete {
        /// The guest.
        guest: GuestRef,
        /// `purge`, `destroy-unreferenced-disks`, in order.
        params: Params,
    },
    /// `PUT .../config` (`qm|pct set <vmid> --key value ... [--delete k,...] [--digest D]`).
    SetConfig {
        /// The guest.
        guest: GuestRef,
        /// Keys to set, in order.
        set: Params,
        /// Keys to delete.
        delete: Vec<String>,
        /// PVE's config digest read first: a concurrent edit makes PVE refuse.
        digest: Option<String>,
    },
    /// Clears a guest's lock: `PUT .../config` with `delete=lock` and `skiplock=1`
    /// (`qm|pct unlock <vmid>`).
    Unlock {
        /// The guest.
        guest: GuestRef,
    },
    /// `POST .../migrate` with `target` (`qm|pct migrate <vmid> <target>`).
    Migrate {
        /// The guest, on its current node.
        guest: GuestRef,
        /// The node to move it to.
        target: NodeName,
        /// qemu: `online`, `with-local-disks`, `targetstorage`; lxc: `restart`, `timeout`,
        /// `target-storage`, in order.
        params: Params,
    },
    /// An HA-managed guest's migration request: `POST /cluster/ha/resources/{sid}/migrate`
    /// with `node` (`ha-manager migrate <sid> <node>`); the HA manager moves it later.
    HaMigrate {
        /// The guest.
        guest: GuestRef,
        /// The node to move it to.
        target: NodeName,
    },
    /// `PUT .../resize` with `disk` and `size` (`[+]N[KMGT]`) (`qm disk resize`, `pct resize`).
    Resize {
        /// The guest.
        guest: GuestRef,
        /// The drive (`scsi0`, `rootfs`, `mp0`).
        disk: String,
        /// PVE's size argument: absolute, or relative with a leading `+`.
        size: String,
    },
    /// qemu `POST .../move_disk` (`disk`, `storage`), lxc `POST .../move_volume` (`volume`,
    /// `storage`) (`qm disk move`, `pct move-volume`).
    MoveDisk {
        /// The guest.
        guest: GuestRef,
        /// The drive or volume key.
        disk: String,
        /// The target storage.
        storage: StorageId,
        /// `delete`, `format`, in order.
        params: Params,
    },
    /// A command inside the guest: qemu `POST .../agent/exec` with `command` once per argv
    /// entry (the answer is a pid to poll); lxc `pct exec <vmid> -- argv...` (command backend
    /// only: PVE's API has no lxc exec).
    Exec {
        /// The guest.
        guest: GuestRef,
        /// The program and its arguments, each passed as one argument.
        argv: Vec<String>,
    },
    /// Writes a file inside a qemu guest: `POST .../agent/file-write` with `content` base64
    /// and `encode=0` (PVE's limit: 60 KiB).
    FileWrite {
        /// The guest.
        guest: GuestRef,
        /// The path inside the guest.
        file: String,
        /// The bytes, base64-encoded.
        content_b64: String,
        /// How many bytes they are.
        size: u64,
    },
    /// Copies a file of the node into a container: `pct push <vmid> <src> <dst>` (command
    /// backend only; `src` is a path on the node).
    FilePush {
        /// The guest.
        guest: GuestRef,
        /// The file on the node.
        src: String,
        /// The path inside the container.
        dst: String,
    },
    /// Copies a file out of a container onto the node: `pct pull <vmid> <src> <dst>`.
    FilePull {
        /// The guest.
        guest: GuestRef,
        /// The path inside the container.
        src: String,
        /// The file on the node.
        dst: String,
    },
    /// Any other write (`api create|set|delete`).
    Raw {
        /// `POST`, `PUT` or `DELETE`.
        method: Method,
        /// API path.
        path: String,
        /// Parameters, in order.
        params: Params,
    },
}

impl Mutation {
    /// Whether it runs as a node tool rather than an API call (PVE's API cannot do it):
    /// `pct exec`, `pct push`, `pct pull`. Over REST these are Unsupported.
    pub fn needs_tool(&self) -> bool {
        match self {
            Self::Exec { guest, .. } => guest.kind == GuestKind::Lxc,
            Self::FilePush { .. } | Self::FilePull { .. } => true,
            _ => false,
        }
    }

    /// The safety tier.
    pub fn tier(&self) -> Tier {
        match self {
            Self::Power { action, .. } => action.tier(),
            Self::SnapshotCreate { .. } | Self::Backup { .. } | Self::Clone { .. } | Self::Create { .. } => Tier::Change,
            Self::Migrate { .. } | Self::HaMigrate { .. } => Tier::Disruptive,
            Self::Restore { force, .. } => {
                if *force {
                    Tier::Destructive
                } else {
                    Tier::Change
                }
            }
            Self::BackupProtect { protected, .. } => {
                if *protected {
                    Tier::Change
                } else {
                    Tier::Destructive
                }
            }
            Self::SnapshotRollback { .. }
            | Self::SnapshotDelete { .. }
            | Self::BackupDelete { .. }
            | Self::Template { .. }
            | Self::Delete { .. }
            | Self::Unlock { .. }
            | Self::Resize { .. }
            | Self::MoveDisk { .. }
            | Self::Exec { .. }
            | Self::FileWrite { .. }
            | Self::FilePush { .. } => Tier::Destructive,
            // Reads the guest's file; writes only on the node, as the user asked.
            Self::FilePull { .. } => Tier::Read,
            Self::SetConfig { set, delete, .. } => config_tier(set, delete),
            // A path no route matches is refused before it is sent (`Guarded`); rated at the top.
            Self::Raw { method, path, params } => super::routes::classify(*method, path, params).map_or(Tier::Destructive, |c| c.tier),
        }
    }

    /// The guest it acts on, if any; for a raw write, the guest of the API route it matches.
    pub fn guest(&self) -> Option<GuestRef> {
        match self {
            Self::Power { guest, .. }
            | Self::SnapshotCreate { guest, .. }
            | Self::SnapshotRollback { guest, .. }
            | Self::SnapshotDelete { guest, .. }
            | Self::Restore { guest, .. }
            | Self::Clone { guest, .. }
            | Self::Template { guest }
            | Self::Create { guest, .. }
            | Self::Delete { guest, .. }
            | Self::SetConfig { guest, .. }
            | Self::Unlock { guest }
            | Self::Migrate { guest, .. }
            | Self::HaMigrate { guest, .. }
            | Self::Resize { guest, .. }
            | Self::MoveDisk { guest, .. }
            | Self::Exec { guest, .. }
            | Self::FileWrite { guest, .. }
            | Self::FilePush { guest, .. }
            | Self::FilePull { guest, .. } => Some(guest.clone()),
            Self::Backup { .. } | Self::BackupProtect { .. } | Self::BackupDelete { .. } => None,
            Self::Raw { method, path, params } => super::routes::classify(*method, path, params).ok().and_then(|c| c.guest),
        }
    }

    /// Short name for reports: `shutdown`, `snapshot create`, `api create`, ...
    pub fn name(&self) -> String {
        match self {
            Self::Power { action, .. } => action.to_string(),
            Self::SnapshotCreate { .. } => "snapshot create".into(),
            Self::SnapshotRollback { .. } => "snapshot rollback".into(),
            Self::SnapshotDelete { .. } => "snapshot delete".into(),
            Self::Raw { method, .. } => format!("api {}", method.pvesh_verb()),
            Self::Backup { .. } => "backup create".into(),
            Self::Restore { .. } => "backup restore".into(),
            Self::BackupProtect { .. } => "backup protect".into(),
            Self::BackupDelete { .. } => "backup delete".into(),
            Self::Clone { .. } => "clone".into(),
            Self::Template { .. } => "template".into(),
            Self::Create { .. } => "create".into(),
            Self::Delete { .. } => "delete".into(),
            Self::SetConfig { .. } => "set".into(),
            Self::Unlock { .. } => "unlock".into(),
            Self::Migrate { .. } | Self::HaMigrate { .. } => "migrate".into(),
            Self::Resize { .. } => "resize".into(),
            Self::MoveDisk { .. } => "move-disk".into(),
            Self::Exec { .. } => "exec".into(),
            Self::FileWrite { .. } | Self::FilePush { .. } => "file push".into(),
            Self::FilePull { .. } => "file pull".into(),
        }
    }
}

/// Config keys whose change is metadata (DESIGN.md §4: tier change): what a guest is called
/// and how it is described, tagged, started at boot. Everything else, and clearing
/// `protection`, is destructive.
pub const METADATA_KEYS: &[&str] = &["name", "description", "tags", "onboot"];

/// The tier of a config change: change when it only sets or deletes metadata keys (or sets
/// `protection=1`), destructive otherwise.
pub fn config_tier(set: &[(String, String)], delete: &[String]) -> Tier {
    let meta_set = set.iter().all(|(k, v)| METADATA_KEYS.contains(&k.as_str()) || (k == "protection" && crate::model::loose::truthy(v)));
    let meta_delete = delete.iter().all(|k| METADATA_KEYS.contains(&k.as_str()));
    if meta_set && meta_delete { Tier::Change } else { Tier::Destructive }
}

/// An HA resource id: `vm:<vmid>` or `ct:<vmid>`.
pub fn ha_sid(guest: &GuestRef) -> String {
    format!("{}:{}", if guest.kind == GuestKind::Lxc { "ct" } else { "vm" }, guest.vmid)
}

/// What executing a mutation gave back.
#[derive(Debug, Clone, PartialEq)]
pub enum Started {
    /// A PVE task was started (API, pvesh); wait on its UPID.
    Task(Upid),
    /// The task already ran in the foreground and ended (`qm`/`pct`, which print no UPID;
    /// `pvesh create`, whose stderr told how it ended): its exit status and the output it printed.
    Finished {
        /// The task's UPID where the tool printed it (`pvesh`), else `None` (`qm`/`pct`).
        upid: Option<Upid>,
        /// `OK`, `WARNINGS: n` or the error text.
        exit: ExitStatus,
        /// Task-log lines printed on stdout.
        log: Vec<String>,
    },
    /// A write that is not a task (e.g. `api set` returning `null`): the result.
    Value(Value),
}
