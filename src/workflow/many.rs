//! Several actions at once (DESIGN.md §3): every plan is made first (reads only, with bounded
//! concurrency), all plans are shown and consent is asked once for them all, then the
//! approved ones are applied with the same bound. Each part keeps its own outcome.

use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::Poll;

use tokio::sync::Semaphore;

use crate::error::{Error, Result};
use crate::safety::Decision;
use crate::workflow::action::{Action, Draft};
use crate::workflow::context::Ctx;
use crate::workflow::engine;
use crate::workflow::report::{Outcome, Plan};
use crate::workflow::wait::Deadline;

/// The default bound on actions in flight (`--parallel`).
pub const DEFAULT_PARALLEL: usize = 4;

/// A boxed future, as [`join_all`] takes them.
pub type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Polls every future to its end on this task (concurrently, without spawning, so they may
/// borrow); results in the order given. Takes [`Boxed`] futures, or any other `Unpin` ones
/// (boxed `Send` futures keep the join `Send`).
///
/// # Panics
/// Never: every future is polled until it is ready.
pub async fn join_all<F: Future + Unpin>(futs: Vec<F>) -> Vec<F::Output> {
    // Generic over the future, so a `Send` future (a check set's reads) keeps the join `Send`.
    let mut futs: Vec<Option<F>> = futs.into_iter().map(Some).collect();
    let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, result) in futs.iter_mut().zip(out.iter_mut()) {
            if let Some(f) = slot {
                match Pin::new(f).poll(cx) {
                    Poll::Ready(v) => {
                        *result = Some(v);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending { Poll::Pending } else { Poll::Ready(()) }
    })
    .await;
    out.into_iter().map(|o| o.expect("every future ran to its end")).collect()
}

/// Runs `actions`: plans all, one consent for all gated plans, applies at most `parallel` at
/// a time. One outcome per action, in the order given.
///
/// Consent covers the plans shown: with `--dry-run` each part is [`Outcome::Planned`];
/// declined or missing consent makes each planned part [`Outcome::Refused`] (exit 3) having
/// sent nothing. A part refused while planning (policy, lock, not found) does not stop the
/// others.
///
/// # Panics
/// Never in practice: the bound's semaphore is never closed, and every part gets an outcome.
pub async fn run_many(ctx: &Ctx<'_>, actions: &[&dyn Action], parallel: usize) -> Vec<Result<Outcome>> {
    let deadline = Deadline::after(ctx.timeout);
    let bound = Semaphore::new(parallel.max(1));
    let planned = join_all(
        actions
            .iter()
            .map(|a| -> Boxed<'_, _> {
                Box::pin(async {
                    let _permit = bound.acquire().await.expect("the semaphore is never closed");
                    engine::plan(ctx, *a).await
                })
            })
            .collect(),
    )
    .await;
    let mut results: Vec<Option<Result<Outcome>>> = Vec::with_capacity(actions.len());
    let mut pending: Vec<(usize, (Plan, Draft))> = Vec::new();
    for (i, p) in planned.into_iter().enumerate() {
        match p {
            Ok(ControlFlow::Break(report)) => results.push(Some(Ok(Outcome::Done(report)))),
            Ok(ControlFlow::Continue(pd)) => {
                results.push(None);
                pending.push((i, pd));
            }
            Err(e) => results.push(Some(Err(e))),
        }
    }
    if !pending.is_empty() {
        let action = pending.first().map(|(_, (p, _))| p.action.clone()).unwrap_or_default();
        let summary = format!("{action} of {} guest{}", pending.len(), if pending.len() == 1 { "" } else { "s" });
        let plans: Vec<Plan> = pending.iter().map(|(_, (p, _))| p.clone()).collect();
        match engine::decide(ctx, &plans, &summary).await {
            Ok(Decision::Proceed) => {
                let applied = join_all(
                    pending
                        .into_iter()
                        .map(|(i, pd)| -> Boxed<'_, _> {
                            let (bound, deadline) = (&bound, &deadline);
                            Box::pin(async move {
                                let _permit = bound.acquire().await.expect("the semaphore is never closed");
                                (i, engine::apply(ctx, actions[i], pd, deadline).await)
                            })
                        })
                        .collect(),
                )
                .await;
                for (i, r) in applied {
                    results[i] = Some(r);
                }
            }
            Ok(Decision::DryRun) => {
                for (i, (p, _)) in pending {
                    results[i] = Some(Ok(Outcome::Planned(p)));
                }
            }
            Err(e) => {
                let message = e.to_string();
                for (i, (p, _)) in pending {
                    results[i] = Some(Ok(Outcome::Refused(p, Error::ConfirmationRequired(message.clone()))));
                }
            }
        }
    }
    results.into_iter().map(|r| r.expect("every part has an outcome")).collect()
}
