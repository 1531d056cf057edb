//! The action engine (DESIGN.md §4-§5): an [`Action`] reads first and returns its changes;
//! [`engine::run`] makes the plan and its digest, asks policy and consent, sends each call
//! once, waits for the task, re-checks and reports. Every operation is one `Action`.

mod action;
mod backup;
mod config;
mod context;
mod diagnose;
mod discover;
pub mod engine;
mod files;
mod guestops;
mod many;
mod naming;
mod power;
mod provision;
mod raw;
mod report;
mod select;
mod snapshot;
mod wait;

pub use action::{Action, Draft, Prepared, ReadOnly};
pub use backup::{BackupCreate, BackupDelete, BackupRestore, find_backup};
pub use config::{SetConfig, Unlock, valid_key};
pub use context::{Ctx, JointConsent};
pub use diagnose::{Diagnosis, DiskStorage, Finding, Severity, diagnose, disk_storages};
pub use discover::discover;
pub use files::{FilePull, FilePush, MAX_AGENT_FILE, PushSource};
pub use guestops::{Exec, MAX_EXEC_OUTPUT, Migrate, MoveDisk, Resize};
pub use many::{Boxed, DEFAULT_PARALLEL, join_all, run_many};
pub use naming::{DEFAULT_PREFIX, DEFAULT_TEMPLATE, Naming};
pub use power::{Power, PowerOptions, reached};
pub use provision::{CloneGuest, CreateGuest, DeleteGuest, MakeTemplate};
pub use raw::RawWrite;
pub use report::{GuestState, Outcome, Plan, PlannedCall, Report, TaskReport, digest};
pub use select::{GuestSelector, resolve_one, select};
pub use snapshot::{SnapshotAction, SnapshotOp, VMSTATE_WARNING};
pub use wait::{Deadline, Progress, check_exit, follow_log, log_tail, wait_task};
