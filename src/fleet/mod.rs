//! Many targets at once (DESIGN.md §1 and §3 "Several targets or guests"): the parts of a
//! fleet run each run the ordinary single-target path; this layer adds what only a fleet
//! needs: one consent for all the plans of all targets ([`Joint`], a [`Seat`] per target
//! handed to the engine as its [`crate::workflow::JointConsent`]), the `--parallel` bound
//! shared by planning and applying, and joined check reports ([`join_reports`]).

mod check;
mod consent;

pub use check::{TargetReport, join_reports};
pub use consent::{Joint, Seat, ShowPlan};
