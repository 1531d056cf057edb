//! The typed model of a PVE cluster. No I/O: types, parsing of identifiers and PVE's loose
//! JSON, nothing else.

mod cluster;
mod config;
mod guest;
mod ids;
pub mod loose;
mod snapshot;
mod task;
mod text;
pub mod time;
mod upid;

pub use cluster::{ClusterResource, ClusterStatusEntry, CpuInfo, Node, NodeStatus, Storage, Usage, Version};
pub use config::{GuestConfig, decode_text, encode_text};
pub use guest::{Guest, GuestKind, GuestRef, GuestStatus, RawGuestFields, split_tags};
pub use ids::{IdError, NodeName, SnapshotName, StorageId, Vmid};
pub use snapshot::Snapshot;
pub use task::{ExitStatus, Task, TaskLogLine, TaskStatus};
pub use text::{clip, escape_control, excerpt};
pub use upid::{Upid, UpidError};
