//! Safety: tiers and confirmation ([`Gate`]), the backend wrapper every change passes through
//! ([`Guarded`]), and the tamper-evident audit log ([`AuditLog`], checked by [`verify`]).

mod audit;
mod audit_chain;
#[cfg(test)]
mod audit_tests;
mod gate;
mod guarded;

pub use audit::{AuditEntry, AuditLog, AuditOutcome, IntentId, MAX_TEXT, excerpt};
pub use audit_chain::{Break, Verified, ZERO_HASH, read_records, verify};
pub use gate::{Asker, Decision, Gate, is_yes};
pub use guarded::Guarded;
