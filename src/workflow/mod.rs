//! Workflows: read first, act once, wait for the task, re-check, report (DESIGN.md §3-§5).
//! They use the guarded backend only, so every change passes the safety gate.

mod act;
mod context;
mod discover;
mod naming;
mod power;
mod raw;
mod recheck;
mod report;
mod snapshot;
mod wait;

pub use context::Ctx;
pub use discover::discover;
pub use naming::{DEFAULT_PREFIX, DEFAULT_TEMPLATE, Naming};
pub use power::{PowerOptions, power, reached};
pub use raw::api_write;
pub use report::{GuestState, Outcome, Plan, Report, TaskReport};
pub use snapshot::{SnapshotOp, VMSTATE_WARNING, snapshot};
pub use wait::{Deadline, Progress, check_exit, follow_log, log_tail, wait_task};
