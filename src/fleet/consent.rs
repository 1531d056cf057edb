//! One consent for a whole fleet: every target makes its plans (reads only, at most
//! `--parallel` at a time), hands them to its [`Seat`] and waits; once every target has
//! either handed its plans over or ended without any (a read, nothing to do, a refusal, a
//! target that did not answer), [`Joint`] shows all the plans (on stderr before a prompt) and
//! decides once, with the highest tier among them, for all of them. Then each target applies
//! its own plans, again at most `--parallel` at a time. Consent covers exactly the plans
//! handed over.

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::backend::Tier;
use crate::error::{Error, Result};
use crate::safety::{Asker, Decision, Gate};
use crate::workflow::{JointConsent, Plan};

/// Shows one target's plan (called for every plan before the prompt, in target order).
pub type ShowPlan = Box<dyn Fn(&str, &Plan) + Send + Sync>;

/// The decision for all parts; a refusal as its message (each part gets its own error).
type Shared = std::result::Result<Decision, String>;

/// The plans one target handed over.
struct Part {
    index: usize,
    target: String,
    plans: Vec<Plan>,
    summary: String,
}

/// The shared consent of one fleet run.
pub struct Joint {
    gate: Gate,
    show: ShowPlan,
    /// How many seats have not settled yet, and the plans of those that have.
    state: Mutex<(usize, Vec<Part>)>,
    decided: watch::Sender<Option<Shared>>,
}

impl std::fmt::Debug for Joint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Joint").field("gate", &self.gate).finish_non_exhaustive()
    }
}

impl Joint {
    /// The consent of a run over `members` targets, with the run's consent rules (`--yes`,
    /// `--dry-run`, a terminal to ask) and how to show a plan at a terminal.
    pub fn new(gate: Gate, members: usize, show: ShowPlan) -> Arc<Self> {
        Arc::new(Self { gate, show, state: Mutex::new((members, Vec::new())), decided: watch::Sender::new(None) })
    }

    /// The seat of member `index` (named `target`); it takes a place under `bound` (the
    /// `--parallel` bound shared by all seats) with [`Seat::enter`].
    pub fn seat(self: &Arc<Self>, index: usize, target: String, bound: Arc<Semaphore>) -> Seat {
        Seat { joint: Arc::clone(self), index, target, bound, settled: Mutex::new(false), permit: Mutex::new(None) }
    }

    /// One seat settled, with its plans or without; the last one decides for all.
    fn settle(&self, part: Option<Part>) {
        let parts = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(p) = part {
                state.1.push(p);
            }
            state.0 = state.0.saturating_sub(1);
            if state.0 > 0 {
                return;
            }
            std::mem::take(&mut state.1)
        };
        if !parts.is_empty() {
            let decision = self.decide_all(parts);
            self.decided.send_replace(Some(decision));
        }
    }

    /// Shows every plan where needed and asks once; the highest tier decides.
    fn decide_all(&self, mut parts: Vec<Part>) -> Shared {
        parts.sort_by_key(|p| p.index);
        let all = || parts.iter().flat_map(|p| p.plans.iter().map(|plan| (p.target.as_str(), plan)));
        let tier = all().map(|(_, p)| p.tier).max().unwrap_or(Tier::Read);
        if !self.gate.dry_run && tier.is_gated() && !self.gate.yes && self.gate.asker == Asker::Terminal {
            for (target, plan) in all() {
                (self.show)(target, plan);
            }
        }
        for (target, plan) in all() {
            for w in &plan.warnings {
                eprintln!("pvectl: warning: {target}: {w}");
            }
        }
        let summary = if let [one] = parts.as_slice() {
            format!("{} on target {}", one.summary, one.target)
        } else {
            let mut actions: Vec<&str> = all().map(|(_, p)| p.action.as_str()).collect();
            actions.dedup();
            let plans = all().count();
            format!(
                "{} ({plans} plan{}) on {} targets ({})",
                actions.join(", "),
                if plans == 1 { "" } else { "s" },
                parts.len(),
                parts.iter().map(|p| p.target.as_str()).collect::<Vec<_>>().join(", ")
            )
        };
        self.gate.decide(tier, &summary).map_err(|e| e.to_string())
    }
}

/// One target's place in a [`Joint`] consent: its [`JointConsent`] for the engine, and its
/// place under the `--parallel` bound. Dropping it (the target's run ended) settles it.
#[derive(Debug)]
pub struct Seat {
    joint: Arc<Joint>,
    index: usize,
    target: String,
    bound: Arc<Semaphore>,
    settled: Mutex<bool>,
    permit: Mutex<Option<OwnedSemaphorePermit>>,
}

impl Seat {
    /// Waits for a place under the `--parallel` bound; held until the plans are handed over
    /// or the seat is dropped.
    pub async fn enter(&self) {
        let permit = Arc::clone(&self.bound).acquire_owned().await.ok();
        *self.permit.lock().unwrap_or_else(PoisonError::into_inner) = permit;
    }

    /// Marks the seat settled; `false` when it already was.
    fn mark(&self) -> bool {
        !std::mem::replace(&mut *self.settled.lock().unwrap_or_else(PoisonError::into_inner), true)
    }

    /// Frees the place under the bound.
    fn release(&self) {
        self.permit.lock().unwrap_or_else(PoisonError::into_inner).take();
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.release();
        if self.mark() {
            self.joint.settle(None);
        }
    }
}

#[async_trait]
impl JointConsent for Seat {
    async fn decide(&self, plans: Vec<Plan>, summary: String) -> Result<Decision> {
        if !self.mark() {
            return Err(Error::ConfirmationRequired(format!(
                "target {}: consent was asked once for the plans shown; this one ({summary}) was not among them, so nothing was sent for it",
                self.target
            )));
        }
        let mut decided = self.joint.decided.subscribe();
        // Waiting for the other targets must not hold a place they need to make their plans.
        self.release();
        self.joint.settle(Some(Part { index: self.index, target: self.target.clone(), plans, summary }));
        let shared = decided
            .wait_for(Option::is_some)
            .await
            .map_err(|_| Error::Internal("the fleet's consent ended without a decision".into()))?
            .clone()
            .ok_or_else(|| Error::Internal("the fleet's consent ended without a decision".into()))?;
        match shared {
            Ok(Decision::Proceed) => {
                self.enter().await;
                Ok(Decision::Proceed)
            }
            Ok(d) => Ok(d),
            Err(message) => Err(Error::ConfirmationRequired(message)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::PlannedCall;

    fn plan(action: &str, tier: Tier) -> Plan {
        Plan {
            action: action.into(),
            tier,
            target: None,
            snapshot: None,
            before: None,
            call: format!("{action} 100"),
            calls: Vec::<PlannedCall>::new(),
            via: "Sim".into(),
            requires: None,
            warnings: Vec::new(),
            details: None,
            digest: "d".into(),
            mutations: Vec::new(),
        }
    }

    fn joint(yes: bool, dry_run: bool, members: usize) -> Arc<Joint> {
        Joint::new(Gate { yes, dry_run, asker: Asker::None }, members, Box::new(|_, _| {}))
    }

    #[tokio::test]
    async fn one_decision_once_every_seat_settled_and_the_highest_tier_decides() {
        let bound = Arc::new(Semaphore::new(1));
        let run = joint(false, false, 3);
        let (a, b, c) =
            (run.seat(0, "a".into(), Arc::clone(&bound)), run.seat(1, "b".into(), Arc::clone(&bound)), run.seat(2, "c".into(), bound));
        a.enter().await;
        // `a` waits for the others while `b` (change tier) and `c` (no plans) settle.
        let (ra, rb, ()) = tokio::join!(
            a.decide(vec![plan("start", Tier::Change)], "start".into()),
            async {
                b.enter().await;
                b.decide(vec![plan("stop", Tier::Destructive)], "stop".into()).await
            },
            async {
                c.enter().await;
                drop(c);
            }
        );
        // Without --yes and no terminal, the destructive plan refuses both parts.
        for r in [ra, rb] {
            assert!(matches!(&r, Err(Error::ConfirmationRequired(msg)) if msg.contains("on 2 targets (a, b)")), "{r:?}");
        }
        // A second set of plans from a part is not covered.
        assert!(matches!(a.decide(vec![plan("start", Tier::Change)], "again".into()).await, Err(Error::ConfirmationRequired(_))));
    }

    #[tokio::test]
    async fn yes_proceeds_and_dry_run_plans_for_all() {
        for (yes, dry, want) in [(true, false, Decision::Proceed), (true, true, Decision::DryRun), (false, true, Decision::DryRun)] {
            let bound = Arc::new(Semaphore::new(1));
            let run = joint(yes, dry, 2);
            let (a, b) = (run.seat(0, "a".into(), Arc::clone(&bound)), run.seat(1, "b".into(), bound));
            // Each part applies and ends (dropping its seat), so the other gets its place back.
            let part = |s: Seat| async move {
                s.enter().await;
                s.decide(vec![plan("stop", Tier::Destructive)], "stop".into()).await
            };
            let (ra, rb) = tokio::join!(part(a), part(b));
            assert_eq!((ra.expect("a"), rb.expect("b")), (want, want));
        }
    }
}
