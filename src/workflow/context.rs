//! What the engine needs for one command: the guarded backend, the consent rules, the
//! deadline, whether to wait, whether to show progress, and where plans are shown.

use std::time::Duration;

use crate::backend::Backend;
use crate::safety::{Gate, Guarded};
use crate::workflow::report::Plan;

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
}

impl Ctx<'_> {
    /// The backend as a plain [`Backend`].
    pub fn b(&self) -> &dyn Backend {
        self.backend
    }
}
