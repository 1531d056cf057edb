//! Task-related state: [`SimTask`] (a worker task, finished or running), what a running task
//! does when it ends ([`Pending`], [`Effect`]), the HA manager's queue ([`HaPending`]) and
//! the simulator's [`Settings`].
//!
//! Times of running tasks are wall-clock milliseconds since the Unix epoch, so a task started
//! by one `pve-sim` process ends when any later process looks (see `worker.rs`).

use serde::{Deserialize, Serialize};

use super::state::SimSnapshot;
use crate::model::Upid;

/// A worker task. Node, pid, pstart, start time, type, id and user come from the UPID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimTask {
    /// The task id.
    pub upid: Upid,
    /// End time (seconds since the epoch); `None` while running.
    #[serde(default)]
    pub endtime: Option<u64>,
    /// Exit status (`OK`, `WARNINGS: n`, or the error text); `None` while running.
    #[serde(default)]
    pub exitstatus: Option<String>,
    /// Log lines without newlines; a finished task's last line is `TASK OK`,
    /// `TASK WARNINGS: n` or `TASK ERROR: <text>`.
    #[serde(default)]
    pub log: Vec<String>,
    /// For a task the simulator runs: how and when it ends. `None` for finished tasks and for
    /// seeded running tasks (which never end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
}

impl SimTask {
    /// Whether the task is still running.
    pub fn is_running(&self) -> bool {
        self.exitstatus.is_none()
    }
}

/// How a running task ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// When it ends: milliseconds since the Unix epoch.
    pub end_ms: u64,
    /// The error the worker dies with (`TASK ERROR: <error>`); `None` = success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Warnings logged (`TASK WARNINGS: n` when no error).
    #[serde(default)]
    pub warnings: u32,
    /// The change made when the task ends without error.
    pub effect: Effect,
    /// A config lock (`snapshot`, `rollback`, `snapshot-delete`) the task holds on its guest
    /// while it runs, released at the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock: Option<String>,
    /// Whether the guest's config file lock is held for the whole run (power actions; not
    /// HA requests): another action on the guest meanwhile fails with `can't lock file`.
    #[serde(default)]
    pub holds_config_lock: bool,
    /// Started by a CLI tool (pvesh, qm, pct), whose foreground worker writes an empty line
    /// before `TASK ERROR`/`TASK WARNINGS` (pve-common `RESTEnvironment.pm` `$tee_worker`:
    /// `print $taskfh "\n$readbuf"`); an API-started worker writes the status line directly.
    #[serde(default)]
    pub foreground: bool,
    /// The guests whose `lock` is released at the end; empty = the UPID's guest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locked: Vec<u32>,
}

/// A guest's run state after a power action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerTo {
    /// A fresh start (start, reboot): running, new pid, uptime from zero.
    Started,
    /// Running again in the same process (resume, reset): QEMU run state `running`.
    Running,
    /// Paused (qemu `suspend`: `qmpstatus` `paused`, `status` still `running`).
    Paused,
    /// Stopped (stop, shutdown): no pid, no usage figures.
    Stopped,
}

/// The change a task makes when it ends without error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Effect {
    /// No change.
    None,
    /// A power action's run state.
    Power {
        /// The guest.
        vmid: u32,
        /// The state it ends in.
        to: PowerTo,
    },
    /// An HA request (`hastart`/`hastop`): the HA manager acts after `ha_delay_ms`.
    HaRequest {
        /// The guest.
        vmid: u32,
        /// `true` = `started`, `false` = `stopped`.
        start: bool,
    },
    /// A new snapshot (taken at task start) becomes the parent of `current`.
    SnapshotCreate {
        /// The guest.
        vmid: u32,
        /// The snapshot, its `parent` the one `current` had.
        snapshot: SimSnapshot,
    },
    /// Back to a snapshot's config; run state per `start` and the snapshot's `vmstate`.
    SnapshotRollback {
        /// The guest.
        vmid: u32,
        /// Snapshot name.
        name: String,
        /// Start the guest afterwards.
        start: bool,
    },
    /// A snapshot removed; its children (and `current`) re-parented to its parent.
    SnapshotDelete {
        /// The guest.
        vmid: u32,
        /// Snapshot name.
        name: String,
    },
    /// A backup job: the archives of the guests that succeeded join the storage content
    /// (with the guest's config as it is when the task ends).
    Vzdump {
        /// The archives.
        backups: Vec<NewBackup>,
    },
    /// A restore: the guest takes the backup's config (disks moved to `storage`).
    Restore {
        /// The guest.
        vmid: u32,
        /// The backup volume.
        volid: String,
        /// Target storage for the disks.
        storage: Option<String>,
        /// Start afterwards.
        start: bool,
    },
    /// A clone or create: the new guest (made at task start) is kept; a failed task removes it.
    Provision {
        /// The new guest.
        vmid: u32,
        /// Start afterwards.
        start: bool,
    },
    /// The guest becomes a template.
    Template {
        /// The guest.
        vmid: u32,
    },
    /// The guest goes; with `purge` also from pools, HA and backup jobs.
    Destroy {
        /// The guest.
        vmid: u32,
        /// `purge`.
        purge: bool,
    },
    /// A migration: the guest moves to `target`, its volumes renamed per `volumes`.
    Migrate {
        /// The guest.
        vmid: u32,
        /// The target node.
        target: String,
        /// `(old volid, new volid)` of volumes copied to another storage.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        volumes: Vec<(String, String)>,
        /// Applied even when the task fails (`migration problems`: the guest already moved).
        #[serde(default)]
        on_error: bool,
    },
    /// An HA migration request: the HA manager migrates after `ha_delay_ms`.
    HaMigrate {
        /// The guest.
        vmid: u32,
        /// The requested node.
        target: String,
    },
    /// A disk's config value changes (resize: new `size=`; move: new volid, the old one
    /// kept as `unusedN` unless deleted).
    DiskChange {
        /// The guest.
        vmid: u32,
        /// Config key (`scsi0`, `rootfs`, `mp0`).
        disk: String,
        /// The new config value.
        value: String,
        /// A volume to keep as the next free `unusedN`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unused: Option<String>,
    },
    /// A storage volume goes.
    VolumeDelete {
        /// The volume id.
        volid: String,
        /// Node of a non-shared storage's copy.
        node: Option<String>,
    },
}

/// An archive a backup task adds when it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewBackup {
    /// The guest.
    pub vmid: u32,
    /// Volume id.
    pub volid: String,
    /// `vma.zst`, `tar.zst`, ...
    pub format: String,
    /// Size, bytes.
    pub size: u64,
    /// Creation time (the task's start).
    pub ctime: u64,
    /// Notes from `notes-template`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// `protected`.
    #[serde(default)]
    pub protected: bool,
    /// Node of a non-shared storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// An HA request not yet carried out: at `due_ms` the guest is started or stopped (by a
/// `qmstart`/`qmshutdown` (`vzstart`/`vzshutdown`) task "started by HA resource agent").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HaPending {
    /// The guest.
    pub vmid: u32,
    /// When the HA manager acts, milliseconds since the Unix epoch.
    pub due_ms: u64,
    /// `true` = start, `false` = stop.
    pub start: bool,
    /// A migration to this node instead of a start/stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrate_to: Option<String>,
}

/// Simulator settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// How long a worker task runs, milliseconds (default 300).
    pub task_ms: u64,
    /// How long after an `hastart`/`hastop` task the HA manager changes the guest's state,
    /// milliseconds (default 1000).
    pub ha_delay_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self { task_ms: 300, ha_delay_ms: 1000 }
    }
}
