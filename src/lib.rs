//! pvectl: manage Proxmox VE clusters safely, for people and agents.
//!
//! Layers, top to bottom (DESIGN.md §1): `cli` -> `backend` (one [`backend::Backend`] trait:
//! the command backend over `pvesh`/`qm`/`pct` locally or over SSH, the REST API over HTTPS,
//! and the in-process simulator) -> [`model`] (typed records, no I/O).

pub mod backend;
pub mod checks;
pub mod cli;
#[cfg(feature = "test-support")]
pub mod conformance;
pub mod dashboard;
pub mod error;
pub mod exit_codes;
pub mod fleet;
pub mod mcp;
pub mod model;
pub mod redact;
pub mod safety;
pub mod target;
pub mod workflow;

pub use error::{Error, Result};
