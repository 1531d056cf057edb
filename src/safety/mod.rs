//! Safety: policy (decides every mutation), consent and tiers, the backend wrapper every
//! change passes through ([`Guarded`]), and the audit log ([`AuditLog`]) (DESIGN.md §4).

mod audit;
mod gate;
mod guarded;
pub mod policy;

pub use audit::{AuditEntry, AuditLog, AuditOutcome, IntentId};
pub use gate::{Asker, Decision, Gate, is_yes};
pub use guarded::{Approval, Guarded, OpenChange};
pub use policy::{Facts, PolicyRules, Verdict};
