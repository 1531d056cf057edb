//! The typed model of a PVE cluster. No I/O: types, parsing of identifiers and PVE's loose
//! JSON, nothing else.

mod agent;
mod backup;
mod cluster;
mod config;
mod disk_size;
mod guest;
mod ha;
pub mod human;
mod ids;
mod jobs;
pub mod loose;
mod migrate;
mod migrate_log;
mod pool;
mod progress;
mod schema;
mod snapshot;
mod task;
mod text;
pub mod time;
mod upid;
mod vzdump_log;

pub use agent::{
    AgentError, AgentErrorKind, AgentExecStatus, InterfaceStatistics, IpAddress, IpFamily, LxcInterface, NetworkInterface, OsInfo,
    agent_result, lxc_interfaces, network_interfaces,
};
pub use backup::{Backup, StorageVolume, Verification};
pub use cluster::{ClusterResource, ClusterStatusEntry, CpuInfo, Node, NodeStatus, Storage, Usage, Version};
pub use config::{GuestConfig, decode_text, encode_text};
pub use disk_size::{
    ResizeRequest, SizeError, drive_size, format_pve_size, is_shrink, is_shrink_refusal, new_size, parse_pve_size, resize_failure,
};
pub use guest::{GUEST_STATUSES, Guest, GuestKind, GuestRef, GuestStatus, RawGuestFields, split_tags};
pub use ha::{HaResource, HaStatus, ha_status_line, parse_ha_manager_status};
pub use ids::{IdError, NodeName, SnapshotName, StorageId, Vmid};
pub use jobs::{BackupJob, JobSelection, NotBackedUp, PendingChange, PendingDelete, parse_next_id};
pub use migrate::{BlockingHaResource, LocalDisk, MigratePrecondition, NotAllowedNode};
pub use migrate_log::{MigrationEnding, MigrationLine, MigrationSummary, migration_line, migration_progress, parse_migration_log};
pub use pool::{Pool, is_member_answer};
pub use progress::{
    CloneDrive, CloneLog, CopyProgress, ImportedDisk, RestoreProgress, RestoreSource, clone_drive, copy_progress, imported_disk,
    parse_clone_log, restore_progress,
};
pub use snapshot::Snapshot;
pub use task::{ExitStatus, Task, TaskLogLine, TaskStatus};
pub use text::{clip, escape_control, excerpt};
pub use upid::{Upid, UpidError};
pub use vzdump_log::{
    BackupOutcome, GuestBackup, JobOutcome, SizeSource, VzdumpSummary, backup_progress, parse_vzdump_log, parse_vzdump_text,
};
