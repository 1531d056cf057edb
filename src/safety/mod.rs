//! Safety: policy (decides every mutation), consent and tiers, the backend wrapper every
//! change passes through ([`Guarded`]), and the tamper-evident audit log ([`AuditLog`], checked
//! by [`verify`]) (DESIGN.md §4).

mod audit;
mod audit_chain;
#[cfg(test)]
mod audit_tests;
mod gate;
mod guarded;
pub mod policy;

pub use audit::{AuditEntry, AuditLog, AuditOutcome, IntentId, MAX_TEXT, excerpt};
pub use audit_chain::{Break, Verified, ZERO_HASH, read_records, verify};
pub use gate::{Asker, Decision, Gate, is_yes};
pub use guarded::{Approval, Guarded, OpenChange};
pub use policy::{Facts, PolicyRules, Verdict};
