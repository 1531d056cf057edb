//! The action engine (DESIGN.md §4-§5): for every [`Action`] alike,
//!
//! prepare (reads only) -> policy facts -> [`Plan`] with its digest -> policy verdict ->
//! consent -> apply (each call once) -> wait for the task -> re-check -> [`Report`].
//!
//! The no-change guarantee lives here: errors before a call is sent keep their own exit code
//! (2, 3, 4, 5, 6, 9, 10); once a call was sent, anything but success (0) or a failed task (7)
//! is an unknown outcome (8) carrying the UPID when known.

use std::ops::ControlFlow;

use crate::backend::{Backend, Mutation, Started, TaskFilter};
use crate::error::{Error, Result};
use crate::model::{ExitStatus, Upid};
use crate::safety::{Approval, Asker, AuditOutcome, Decision, Verdict};
use crate::workflow::action::{Action, Draft, Prepared, ReadOnly};
use crate::workflow::context::Ctx;
use crate::workflow::report::{GuestState, Outcome, Plan, Report, TaskReport};
use crate::workflow::wait::{Backoff, Deadline, Progress, TAIL_LINES, check_exit, wait_task};

/// Runs one action: prepare, plan, policy, consent, apply, wait, re-check.
///
/// # Errors
/// Everything before a call is sent (refusals, reads, consent declined is an [`Outcome`]).
/// After a call was sent, failures come back as [`Outcome::Incomplete`].
pub async fn run(ctx: &Ctx<'_>, action: &dyn Action) -> Result<Outcome> {
    let deadline = Deadline::after(ctx.timeout);
    let plan = match plan(ctx, action).await? {
        ControlFlow::Break(report) => return Ok(Outcome::Done(report)),
        ControlFlow::Continue(p) => p,
    };
    if let Some(outcome) = consent(ctx, action, &plan).await {
        return Ok(outcome);
    }
    apply(ctx, action, plan, &deadline).await
}

/// Prepares an action and makes its plan, refusing what policy refuses. `Break(report)` when
/// there is nothing to do.
///
/// # Errors
/// Read errors, refusals: `Policy` (10) and the action's own (5, 6, 2).
pub async fn plan(ctx: &Ctx<'_>, action: &dyn Action) -> Result<ControlFlow<Report, (Plan, Draft)>> {
    let draft = match action.prepare(&ReadOnly(ctx.b())).await? {
        Prepared::Noop(report) => return Ok(ControlFlow::Break(*report)),
        Prepared::Changes(d) => *d,
    };
    let mut facts = Vec::with_capacity(draft.mutations.len());
    for m in &draft.mutations {
        facts.push(ctx.backend.facts(m).await?);
    }
    let plan = Plan::new(action.name(), &draft, facts, ctx.backend);
    for (m, f) in &plan.mutations {
        if let Verdict::Refuse(reason) = ctx.backend.verdict(m, f) {
            return Err(ctx.backend.refuse(m, &plan.digest, reason));
        }
    }
    let mut draft = draft;
    if let Some(e) = draft.refusal.take() {
        return Err(e);
    }
    Ok(ControlFlow::Continue((plan, draft)))
}

/// Shows the plan where needed and asks for consent. `Some(outcome)` = stop here.
async fn consent(ctx: &Ctx<'_>, action: &dyn Action, (plan, draft): &(Plan, Draft)) -> Option<Outcome> {
    match decide(ctx, std::slice::from_ref(plan), &action.summary(draft)).await {
        Ok(Decision::Proceed) => None,
        Ok(Decision::DryRun) => Some(Outcome::Planned(plan.clone())),
        Err(e) => Some(Outcome::Refused(plan.clone(), e)),
    }
}

/// The one consent for `plans` (one action's, or several guests' at once), described by
/// `summary`: the highest tier decides whether consent is needed. The plans are shown on
/// stderr before a prompt; a dry run and a missing consent return them as the result. In a
/// fleet ([`Ctx::joint`]) the run's joint consent shows and asks instead, for all parts.
///
/// # Errors
/// `ConfirmationRequired` (exit 3): a gated tier without `--yes` and no terminal, or a
/// declined prompt.
pub async fn decide(ctx: &Ctx<'_>, plans: &[Plan], summary: &str) -> Result<Decision> {
    if let Some(joint) = ctx.joint {
        return joint.decide(plans.to_vec(), summary.to_owned()).await;
    }
    let tier = plans.iter().map(|p| p.tier).max().unwrap_or(crate::backend::Tier::Read);
    if !ctx.gate.dry_run && tier.is_gated() && !ctx.gate.yes && ctx.gate.asker == Asker::Terminal {
        for p in plans {
            (ctx.show_plan)(p);
        }
    }
    for w in plans.iter().flat_map(|p| &p.warnings) {
        eprintln!("pvectl: warning: {w}");
    }
    ctx.gate.decide(tier, summary)
}

/// Applies an approved plan: grants consent for exactly its calls, sends each once, waits,
/// re-checks and reports.
///
/// # Errors
/// A refusal before any task started (PVE's own: locked, missing, permission): nothing changed.
pub async fn apply(ctx: &Ctx<'_>, action: &dyn Action, (plan, draft): (Plan, Draft), deadline: &Deadline) -> Result<Outcome> {
    ctx.backend.approve(Approval { digest: plan.digest.clone(), mutations: plan.mutations.clone() });
    let mut report = Report {
        action: plan.action.clone(),
        target: plan.target.clone(),
        snapshot: plan.snapshot.clone(),
        before: plan.before.clone(),
        task: None,
        after: None,
        changed: true,
        result: None,
        tasks: Vec::new(),
        details: plan.details.clone(),
    };
    let mut failed = None;
    for (m, _) in &plan.mutations {
        let acted = act(ctx, m, deadline).await?;
        report.tasks.extend(acted.task.iter().cloned());
        report.task = acted.task;
        report.result = acted.value.filter(|v| !v.is_null() || plan.action.starts_with("api "));
        if let Some(e) = acted.error {
            failed = Some(e);
            break;
        }
    }
    if report.tasks.len() < 2 {
        report.tasks.clear();
    }
    match failed {
        Some(e @ Error::TaskFailed { .. }) => {
            // What did the failed task leave behind? One read; unknown if it fails.
            let after = action.observe(ctx.b(), &draft).await.ok().flatten();
            report.changed = match (&report.before, &after) {
                (Some(b), Some(a)) => b.differs(a),
                _ => true,
            };
            report.after = after;
            let e = action.conclude(ctx.b(), &draft, &mut report, Some(e)).await;
            return Ok(incomplete(report, e));
        }
        Some(e) => return Ok(Outcome::Incomplete(report, e)),
        None => {}
    }
    if !ctx.wait || report.task.as_ref().is_some_and(|t| t.status == "running") {
        return Ok(Outcome::Done(report));
    }
    match recheck(ctx.b(), action, &draft, deadline).await {
        Ok(after) => {
            report.after = after;
            let e = action.conclude(ctx.b(), &draft, &mut report, None).await;
            Ok(incomplete(report, e))
        }
        Err(e) => {
            let upid = report.task.as_ref().and_then(|t| t.upid.as_ref()).map(ToString::to_string);
            Ok(Outcome::Incomplete(report, sent_but(e, "re-checking after the task", upid)))
        }
    }
}

/// `Done` without an error, else `Incomplete`.
fn incomplete(report: Report, e: Option<Error>) -> Outcome {
    match e {
        Some(e) => Outcome::Incomplete(report, e),
        None => Outcome::Done(report),
    }
}

/// Reads the state after the task until the action's target state shows (re-reading only
/// while it may lag), or the deadline passes.
async fn recheck(b: &dyn Backend, action: &dyn Action, draft: &Draft, deadline: &Deadline) -> Result<Option<GuestState>> {
    let mut backoff = Backoff::default();
    loop {
        let Some(state) = action.observe(b, draft).await? else { return Ok(None) };
        if action.reached(draft, &state) {
            return Ok(Some(state));
        }
        if !action.may_lag(draft) {
            return Err(Error::Api(format!("the task ended OK but the re-read state does not show it (now {})", state.status)));
        }
        if deadline.passed() {
            return Err(deadline.timeout(format!("the guest to reach the expected state (now {})", state.status), None));
        }
        backoff.sleep(deadline).await;
    }
}

/// Turns an error after a call was sent into an unknown outcome (exit 8), keeping a failed
/// task (7) and an unknown outcome as they are.
fn sent_but(e: Error, doing: &str, upid: Option<String>) -> Error {
    match e {
        Error::TaskFailed { .. } => e,
        Error::OutcomeUnknown { message, upid: u, source } => Error::OutcomeUnknown { message, upid: u.or(upid), source },
        Error::Timeout { what, seconds, upid: u } => {
            Error::OutcomeUnknown { message: format!("timed out after {seconds} s waiting for {what}"), upid: u.or(upid), source: None }
        }
        other => {
            Error::OutcomeUnknown { message: format!("the change was sent, then {doing} failed"), upid, source: Some(Box::new(other)) }
        }
    }
}

/// What sending one call gave.
#[derive(Debug)]
struct Acted {
    task: Option<TaskReport>,
    value: Option<serde_json::Value>,
    /// `TaskFailed` (7) or `OutcomeUnknown` (8).
    error: Option<Error>,
}

/// Sends `m` once and, unless told not to wait, waits for its task.
///
/// `pvesh` and `qm`/`pct` run tasks in the foreground, so the call itself can outlast the
/// deadline; then the running task's UPID is looked up among the node's active tasks
/// (`GET /nodes/{node}/tasks?vmid=&source=active`) so `task wait` can resume.
async fn act(ctx: &Ctx<'_>, m: &Mutation, deadline: &Deadline) -> Result<Acted> {
    let b = ctx.b();
    let sent = match tokio::time::timeout(deadline.remaining(), b.execute(m)).await {
        Ok(Ok(started)) => started,
        Ok(Err(e @ (Error::OutcomeUnknown { .. } | Error::ToolKilled { .. }))) => return Ok(unknown(ctx, m, e).await),
        Ok(Err(e)) => return Err(e),
        Err(_) => return Ok(unknown(ctx, m, deadline.timeout(format!("{} to be sent", m.name()), None)).await),
    };
    match sent {
        Started::Task(upid) => {
            if !ctx.wait {
                return Ok(Acted { task: Some(TaskReport::running(Some(upid))), value: None, error: None });
            }
            let what = format!("{} {}", m.name(), m.guest().map(|g| g.vmid.to_string()).unwrap_or_default());
            let progress = Progress::new(ctx.progress, &what);
            match wait_task(b, &upid, deadline, &progress).await {
                Ok(st) => {
                    let exit = st.exitstatus.clone().unwrap_or_else(|| ExitStatus::Failed("stopped without an exit status".into()));
                    let error = check_exit(b, &upid, &exit).await.err();
                    let (outcome, message) = match &exit {
                        ExitStatus::Failed(msg) => (AuditOutcome::Failed, Some(msg.as_str())),
                        _ => (AuditOutcome::Ok, None),
                    };
                    ctx.backend.settle(&upid, outcome, message);
                    Ok(Acted { task: Some(TaskReport::finished(Some(upid), &exit)), value: None, error })
                }
                Err(e) => {
                    progress.finish();
                    let error = sent_but(e, "reading the task's status", Some(upid.to_string()));
                    Ok(Acted { task: Some(TaskReport::running(Some(upid))), value: None, error: Some(error) })
                }
            }
        }
        Started::Finished { upid, exit, log } => {
            let error = match &exit {
                ExitStatus::Failed(message) => {
                    let tail = log.iter().rev().take(TAIL_LINES).rev().map(|l| crate::model::clip(l, 300)).collect();
                    Some(Error::TaskFailed {
                        upid: upid.as_ref().map(ToString::to_string).unwrap_or_default(),
                        message: message.clone(),
                        log_tail: tail,
                    })
                }
                _ => None,
            };
            let mut task = TaskReport::finished(upid, &exit);
            task.log = log;
            Ok(Acted { task: Some(task), value: None, error })
        }
        Started::Value(v) => Ok(Acted { task: None, value: Some(v), error: None }),
    }
}

/// The call may have been sent and its end is not known: find its task if possible.
async fn unknown(ctx: &Ctx<'_>, m: &Mutation, e: Error) -> Acted {
    let upid = running_task(ctx.b(), m).await;
    if let Some(u) = &upid {
        ctx.backend.note_task(m, u);
    }
    let error = sent_but(e, "sending it", upid.as_ref().map(ToString::to_string));
    Acted { task: Some(TaskReport::running(upid)), value: None, error: Some(error) }
}

/// The newest active task of the mutation's guest, when the backend can list tasks.
async fn running_task(b: &dyn Backend, m: &Mutation) -> Option<Upid> {
    let guest = m.guest()?;
    let filter = TaskFilter { vmid: Some(guest.vmid), source: Some("active"), ..TaskFilter::default() };
    let tasks = b.tasks(&guest.node, &filter).await.ok()?;
    tasks.into_iter().filter(|t| t.endtime.is_none()).max_by_key(|t| t.starttime).map(|t| t.upid)
}
