//! Safety: tiers and confirmation ([`Gate`]), the backend wrapper every change passes through
//! ([`Guarded`]), and the audit log ([`AuditLog`]).

mod audit;
mod gate;
mod guarded;

pub use audit::AuditLog;
pub use gate::{Asker, Decision, Gate, is_yes};
pub use guarded::Guarded;
