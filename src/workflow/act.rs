//! Act once and wait: execute a mutation within the deadline, then follow its task.
//!
//! `pvesh` and `qm`/`pct` run tasks in the foreground, so the execute call itself can outlast
//! the deadline; then the running task's UPID is looked up among the node's active tasks
//! (`GET /nodes/{node}/tasks?vmid=&source=active`) so `task wait` can resume.

use std::ops::ControlFlow;

use crate::backend::{Backend, Mutation, Started, TaskFilter};
use crate::error::{Error, Result};
use crate::model::{ExitStatus, Upid};
use crate::workflow::context::Ctx;
use crate::workflow::report::{GuestState, Outcome, Report, TaskReport};
use crate::workflow::wait::{Deadline, Progress, TAIL_LINES, check_exit, wait_task};

/// What acting gave: the task as far as it is known, and an error when it failed or the
/// deadline passed (the report is still printed with it).
#[derive(Debug)]
pub(crate) struct Acted {
    /// The task, when one ran.
    pub(crate) task: Option<TaskReport>,
    /// What a raw write returned when it was not a task.
    pub(crate) value: Option<serde_json::Value>,
    /// `TaskFailed` or `Timeout`.
    pub(crate) error: Option<Error>,
}

/// Executes `m` once and, unless told not to wait, waits for its task.
///
/// # Errors
/// A refusal before any task started (locked, missing, permission, ...): nothing changed.
pub(crate) async fn act(ctx: &Ctx<'_>, m: &Mutation, deadline: &Deadline) -> Result<Acted> {
    let Ok(started) = tokio::time::timeout(deadline.remaining(), ctx.b().execute(m)).await else {
        let upid = running_task(ctx.b(), m).await;
        let error = deadline.timeout(format!("{} to finish", m.name()), upid.as_ref());
        return Ok(Acted { task: Some(TaskReport::running(upid)), value: None, error: Some(error) });
    };
    match started? {
        Started::Task(upid) => {
            if !ctx.wait {
                return Ok(Acted { task: Some(TaskReport::running(Some(upid))), value: None, error: None });
            }
            let progress =
                Progress::new(ctx.progress, &format!("{} {}", m.name(), m.guest().map(|g| g.vmid.to_string()).unwrap_or_default()));
            match wait_task(ctx.b(), &upid, deadline, &progress).await {
                Ok(st) => {
                    let exit = st.exitstatus.clone().unwrap_or_else(|| ExitStatus::Failed("unexpected status".into()));
                    let error = check_exit(ctx.b(), &upid, &exit).await.err();
                    Ok(Acted { task: Some(TaskReport::finished(Some(upid), &exit)), value: None, error })
                }
                Err(e @ Error::Timeout { .. }) => Ok(Acted { task: Some(TaskReport::running(Some(upid))), value: None, error: Some(e) }),
                Err(e) => Err(e),
            }
        }
        Started::Finished { exit, log } => {
            let error = match &exit {
                ExitStatus::Failed(message) => {
                    let tail = log.iter().rev().take(TAIL_LINES).rev().cloned().collect();
                    Some(Error::TaskFailed { upid: String::new(), message: message.clone(), log_tail: tail })
                }
                _ => None,
            };
            Ok(Acted { task: Some(TaskReport::finished(None, &exit)), value: None, error })
        }
        Started::Value(v) => Ok(Acted { task: None, value: Some(v), error: None }),
    }
}

/// Acts on a guest and starts its report. `Break(outcome)` when the workflow ends here (the
/// task failed or timed out, or it is not waited for or still running); `Continue(report)`
/// when the caller re-checks and fills `after`.
///
/// # Errors
/// As [`act`].
pub(crate) async fn act_and_report(
    ctx: &Ctx<'_>,
    m: &Mutation,
    deadline: &Deadline,
    before: GuestState,
    snapshot: Option<String>,
) -> Result<ControlFlow<Outcome, Report>> {
    let acted = act(ctx, m, deadline).await?;
    let report = Report {
        action: m.name(),
        target: m.guest().cloned(),
        snapshot,
        before: Some(before),
        task: acted.task,
        after: None,
        changed: true,
    };
    if let Some(e) = acted.error {
        return Ok(ControlFlow::Break(Outcome::Incomplete(report, e)));
    }
    if !ctx.wait || report.task.as_ref().is_some_and(|t| t.status == "running") {
        return Ok(ControlFlow::Break(Outcome::Done(report)));
    }
    Ok(ControlFlow::Continue(report))
}

/// The newest active task of the mutation's guest, when the backend can list tasks.
async fn running_task(b: &dyn Backend, m: &Mutation) -> Option<Upid> {
    let guest = m.guest()?;
    let filter = TaskFilter { vmid: Some(guest.vmid), source: Some("active"), ..TaskFilter::default() };
    let tasks = b.tasks(&guest.node, &filter).await.ok()?;
    tasks.into_iter().filter(|t| t.endtime.is_none()).max_by_key(|t| t.starttime).map(|t| t.upid)
}
