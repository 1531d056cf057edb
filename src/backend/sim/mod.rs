//! The simulated cluster: one core answering `(method, path, params)` with PVE's
//! semantics over a serialisable state, and its faces: in process ([`SimTransport`]), and
//! the `pve-sim` executable posing as `pvesh`, `qm`, `pct` and `hostname` ([`cli`]), and
//! `pve-sim serve`, the REST API with API tokens and their privileges ([`serve`]).
//! Reads answer from the state; writes start worker tasks that take (wall-clock) time and
//! are finalised lazily by whichever call looks next (`worker.rs`), with injected faults.

mod access;
mod actions;
#[cfg(test)]
mod backend_tests;
pub mod cli;
mod core;
mod demo;
mod digest;
mod error;
mod faults;
mod foreground;
mod hang;
mod privileges;
mod pvesh_face;
mod pvesh_format;
mod read_cluster;
mod read_guest;
mod read_task;
#[cfg(test)]
mod read_tests;
mod route;
mod seed;
mod seed_guest;
pub mod serve;
#[cfg(test)]
mod snapshot_tests;
mod snapshots;
mod state;
mod statefile;
mod task_state;
pub mod text;
mod tools;
mod transport;
mod worker;
#[cfg(test)]
mod write_tests;

pub use access::{AUTH_FAILED, Caller, Credentials, NO_TICKET, PVE_AUDITOR, SimAcl, SimToken, authenticate};
pub use core::Sim;
pub use demo::{DEMO_TOKENS, demo_state, generated_state};
pub use error::SimError;
pub use faults::{Denied, FaultOutcome, Faults, TaskFault, ToolHang};
pub use pvesh_face::Output;
pub use seed_guest::GuestSeed;
pub use state::{SimGuest, SimNode, SimPool, SimSnapshot, SimState, SimStorage, StorageUsage, VersionInfo};
pub use statefile::{SimEnv, append_log, save_state, with_state};
pub use task_state::{Effect, HaPending, Pending, PowerTo, Settings, SimTask};
pub use transport::{SimBackend, SimTransport, load_state};
