//! What the engine needs for one command: the guarded backend, the consent rules, the
//! deadline, whether to wait, whether to show progress, and where plans are shown.

use std::time::Duration;

use async_trait::async_trait;

use crate::backend::Backend;
use crate::error::Result;
use crate::safety::{Decision, Gate, Guarded};
use crate::workflow::report::Plan;

/// Consent asked once for a larger run than this one: a fleet, where every target makes its
/// plans, all plans are shown together and one answer covers them all (`crate::fleet`).
///
/// # Contract
/// [`JointConsent::decide`] is called at most once per part, with every plan the part wants
/// to apply; it resolves once every part of the run has either handed its plans over or
/// ended without any, with the one decision for the whole run. Consent covers exactly the
/// plans handed over: a part that comes back with more gets `ConfirmationRequired`.
#[async_trait]
pub trait JointConsent: Send + Sync {
    /// Hands this part's `plans` over (one line `summary` of them) and waits for the
    /// decision for all parts.
    ///
    /// # Errors
    /// `ConfirmationRequired` (exit 3) when consent is missing or was declined.
    async fn decide(&self, plans: Vec<Plan>, summary: String) -> Result<Decision>;
}

/// An action's surroundings for one command.
pub struct Ctx<'a> {
    /// The backend; every change passes its policy, consent and audit.
    pub backend: &'a Guarded,
    /// Consent rules (`--yes`, `--dry-run`, a terminal to ask).
    pub gate: Gate,
    /// The command's whole time allowance (`--timeout`).
    pub timeout: Duration,
    /// Wait for the task (`false` with `--no-wait`).
    pub wait: bool,
    /// Show a progress line on stderr.
    pub progress: bool,
    /// Shows a plan before the gate asks at a terminal.
    pub show_plan: &'a dyn Fn(&Plan),
    /// When this command is one part of a fleet: the consent shared by all parts, which
    /// then shows the plans and asks instead of `gate` and `show_plan`.
    pub joint: Option<&'a dyn JointConsent>,
}

impl Ctx<'_> {
    /// The backend as a plain [`Backend`].
    pub fn b(&self) -> &dyn Backend {
        self.backend
    }
}
