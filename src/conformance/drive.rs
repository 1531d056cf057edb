//! Driving the backend for the cases: pvectl's engine over a [`Guarded`] wrapper (no policy
//! rules, no audit log, no terminal), and the backend's own `execute` followed to the task's
//! end.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::backend::{Backend, Mutation, PowerAction, Started};
use crate::error::Result;
use crate::model::{ExitStatus, GuestRef, Upid, Vmid};
use crate::safety::{Asker, AuditLog, Gate, Guarded, PolicyRules};
use crate::workflow::{Action, Ctx, Deadline, Outcome, Plan, Power, PowerOptions, engine};

/// Deadline of one engine run or one followed task: far above the simulator's task time.
const DEADLINE: Duration = Duration::from_secs(30);

/// Consent as the CLI would give it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Consent {
    /// `--yes`.
    Yes,
    /// Neither `--yes` nor a terminal to ask.
    None,
    /// `--dry-run`.
    DryRun,
}

/// Runs `action` through the engine, as `pvectl` does with `consent`.
pub(crate) async fn engine_run(b: &Arc<dyn Backend>, action: &dyn Action, consent: Consent) -> Result<Outcome> {
    let guarded = Guarded::new(Arc::clone(b), PolicyRules::default(), AuditLog::disabled());
    let gate = Gate { yes: matches!(consent, Consent::Yes), dry_run: matches!(consent, Consent::DryRun), asker: Asker::None };
    let ctx = Ctx { backend: &guarded, gate, timeout: DEADLINE, wait: true, progress: false, show_plan: &|_| {}, joint: None };
    engine::run(&ctx, action).await
}

/// `pvectl guest <action> <vmid>` through the engine.
pub(crate) async fn power(b: &Arc<dyn Backend>, vmid: Vmid, action: PowerAction, consent: Consent) -> Result<Outcome> {
    engine_run(b, &Power { vmid, action, opts: PowerOptions::default() }, consent).await
}

/// The report of a finished action.
///
/// # Panics
/// On any other outcome.
pub(crate) fn done(outcome: Result<Outcome>) -> crate::workflow::Report {
    match outcome {
        Ok(Outcome::Done(report)) => report,
        other => panic!("expected a finished action, got {other:?}"),
    }
}

/// Sends `action` on `guest` through `Backend::execute` and follows its task to the end;
/// returns the task's exit status.
///
/// # Panics
/// When the call fails, the task outlasts the deadline, or a value comes back.
pub(crate) async fn execute_power(b: &dyn Backend, guest: &GuestRef, action: PowerAction) -> ExitStatus {
    let m = Mutation::Power { guest: guest.clone(), action, params: Vec::new() };
    match b.execute(&m).await.unwrap_or_else(|e| panic!("{action} {}: {e}", guest.vmid)) {
        Started::Task(upid) => follow(b, &upid).await,
        Started::Finished { exit, .. } => exit,
        Started::Value(v) => panic!("a power action returns a task, got {v}"),
    }
}

/// Follows the task `upid` to its end and returns its exit status.
///
/// # Panics
/// When its status cannot be read or it outlasts the deadline.
pub(crate) async fn follow(b: &dyn Backend, upid: &Upid) -> ExitStatus {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let st = b.task_status(upid).await.expect("task status");
        if st.is_stopped() {
            return st.exitstatus.expect("a stopped task has an exit status");
        }
        assert!(Instant::now() < deadline, "task {upid} did not end");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `action` as `pvectl` does with `--yes`, in its two halves: [`engine::plan`], then
/// `between` (seeing the plan; e.g. someone else's edit), then [`engine::apply`] of that plan.
///
/// # Panics
/// When the plan is refused or has nothing to do.
pub(crate) async fn plan_then_apply(b: &Arc<dyn Backend>, action: &dyn Action, between: impl FnOnce(&Plan)) -> (Plan, Result<Outcome>) {
    let guarded = Guarded::new(Arc::clone(b), PolicyRules::default(), AuditLog::disabled());
    let gate = Gate { yes: true, dry_run: false, asker: Asker::None };
    let ctx = Ctx { backend: &guarded, gate, timeout: DEADLINE, wait: true, progress: false, show_plan: &|_| {}, joint: None };
    let (plan, draft) = match engine::plan(&ctx, action).await {
        Ok(ControlFlow::Continue(p)) => p,
        Ok(ControlFlow::Break(r)) => panic!("expected changes to plan, got nothing to do: {r:?}"),
        Err(e) => panic!("expected a plan, got {e}"),
    };
    between(&plan);
    let shown = plan.clone();
    (shown, engine::apply(&ctx, action, (plan, draft), &Deadline::after(DEADLINE)).await)
}
