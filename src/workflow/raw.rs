//! Raw writes (`api create|set|delete <path> [key=value ...]`): through the same gate as the
//! actions, tiered by path (an action's path takes its tier; anything else is destructive), and
//! reported like an action when PVE answers with a UPID.

use crate::backend::{Method, Mutation, Params};
use crate::error::Result;
use crate::workflow::act::act;
use crate::workflow::context::Ctx;
use crate::workflow::report::{Outcome, Report};
use crate::workflow::wait::Deadline;

/// Runs one raw write.
///
/// # Errors
/// Refusals before anything changed (bad path or parameters, permission, missing object).
pub async fn api_write(ctx: &Ctx<'_>, method: Method, path: String, params: Params) -> Result<(Outcome, Option<serde_json::Value>)> {
    let deadline = Deadline::after(ctx.timeout);
    let m = Mutation::Raw { method, path, params };
    let plan = ctx.plan(&m, None, None, Vec::new());
    if let Some(outcome) = ctx.consent(plan, &m.name()) {
        return Ok((outcome, None));
    }
    let acted = act(ctx, &m, &deadline).await?;
    let report = Report { action: m.name(), target: None, snapshot: None, before: None, task: acted.task, after: None, changed: true };
    Ok(match acted.error {
        Some(e) => (Outcome::Incomplete(report, e), acted.value),
        None => (Outcome::Done(report), acted.value),
    })
}
