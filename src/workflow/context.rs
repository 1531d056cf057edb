//! What every workflow needs: the guarded backend, the gate, the deadline, whether to wait,
//! whether to show progress, and where plans are shown before asking.

use std::time::Duration;

use crate::backend::{Backend, Mutation};
use crate::safety::{Decision, Gate, Guarded};
use crate::workflow::report::{GuestState, Outcome, Plan};

/// A workflow's surroundings for one command.
pub struct Ctx<'a> {
    /// The backend; every change passes its gate.
    pub backend: &'a Guarded,
    /// Consent rules.
    pub gate: Gate,
    /// The command's whole time allowance (`--timeout`).
    pub timeout: Duration,
    /// Wait for the task (`false` with `--no-wait`).
    pub wait: bool,
    /// Show a progress line on stderr.
    pub progress: bool,
    /// Shows a plan (stdout) before the gate asks or refuses.
    pub show_plan: &'a dyn Fn(&Plan),
}

impl Ctx<'_> {
    /// The backend as a plain [`Backend`] (reads).
    pub fn b(&self) -> &dyn Backend {
        self.backend
    }

    /// The plan for `m`: its name, tier, guest, the exact call and backend, and the consent it
    /// needs, with the state read first.
    pub fn plan(&self, m: &Mutation, before: Option<GuestState>, snapshot: Option<String>, warnings: Vec<String>) -> Plan {
        let tier = m.tier();
        Plan {
            action: m.name(),
            tier,
            target: m.guest().cloned(),
            snapshot,
            before,
            call: self.backend.render(m),
            via: self.backend.describe(),
            requires: tier.is_gated().then_some("--yes"),
            warnings,
        }
    }

    /// Runs the gate for `plan`: shows it when it is a dry run or consent is needed, then
    /// approves the tier on the backend. `Ok(None)` = go ahead; `Ok(Some(outcome))` = stop here
    /// with that outcome (dry run, or refused).
    pub fn consent(&self, plan: Plan, summary: &str) -> Option<Outcome> {
        if self.gate.dry_run || (plan.tier.is_gated() && !self.gate.yes) {
            (self.show_plan)(&plan);
        }
        match self.gate.decide(plan.tier, summary) {
            Ok(Decision::Proceed) => {
                self.backend.approve(plan.tier);
                None
            }
            Ok(Decision::DryRun) => Some(Outcome::Planned(plan)),
            Err(e) => Some(Outcome::Refused(plan, e)),
        }
    }
}
