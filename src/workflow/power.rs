//! Power actions (`guest start|shutdown|reboot|stop|reset|suspend|resume`): read first, act
//! once, wait for the task, re-check (DESIGN.md §3-§5).

use std::ops::ControlFlow;

use crate::backend::{Mutation, PowerAction, Tier};
use crate::error::{Error, Result};
use crate::model::{GuestKind, NodeName, Vmid};
use crate::workflow::act::act_and_report;
use crate::workflow::context::Ctx;
use crate::workflow::discover::discover;
use crate::workflow::recheck::{read_protection, recheck};
use crate::workflow::report::{GuestState, Outcome, Report};
use crate::workflow::wait::Deadline;

/// Options of a power action.
#[derive(Debug, Clone, Default)]
pub struct PowerOptions {
    /// Guest location when known (`--node` and `--kind` together skip discovery).
    pub node: Option<NodeName>,
    /// Guest kind when known.
    pub kind: Option<GuestKind>,
    /// `shutdown --timeout`: seconds the guest has to shut down (PVE's `timeout`).
    pub shutdown_timeout: Option<u64>,
    /// `shutdown --force-stop`: stop it when the timeout passes (PVE's `forceStop`).
    pub force_stop: bool,
}

/// Whether `state` is what `action` produces.
pub fn reached(action: PowerAction, state: &GuestState) -> bool {
    match action {
        PowerAction::Start | PowerAction::Reboot | PowerAction::Reset | PowerAction::Resume => state.is_running(),
        PowerAction::Shutdown | PowerAction::Stop => state.status == "stopped",
        PowerAction::Suspend => state.is_suspended(),
    }
}

/// Runs one power action on guest `vmid`.
///
/// # Errors
/// `NotFound` (5) for a missing guest; `Usage` (2) for an action the kind lacks; `Conflict`
/// (6) when locked, in the wrong state, or protected (destructive tier); read/refusal errors.
/// Task failures and timeouts come back as [`Outcome::Incomplete`].
pub async fn power(ctx: &Ctx<'_>, vmid: Vmid, action: PowerAction, opts: &PowerOptions) -> Result<Outcome> {
    let deadline = Deadline::after(ctx.timeout);
    let b = ctx.b();
    let (guest, listed) = discover(b, vmid, opts.node.as_ref(), opts.kind).await?;
    if !action.supported_for(guest.kind) {
        return Err(Error::Usage(format!("PVE has no '{action}' for {} guests (guest {vmid}); use stop and start", guest.kind)));
    }
    if (opts.shutdown_timeout.is_some() || opts.force_stop) && action != PowerAction::Shutdown {
        return Err(Error::Usage("--shutdown-timeout and --force-stop apply to shutdown only".into()));
    }
    // Read first: the listing has status, lock and HA state; paused vs running needs
    // status/current, and so does a guest located without a listing.
    let mut before = match &listed {
        Some(r) if !matches!(action, PowerAction::Suspend | PowerAction::Resume) => GuestState::from_resource(r),
        _ => GuestState::from_status(&b.guest_status(&guest).await?),
    };
    if let Some(lock) = &before.lock {
        return Err(Error::Conflict(format!("guest {vmid} is locked ({lock})")));
    }
    if reached(action, &before) && !matches!(action, PowerAction::Reboot | PowerAction::Reset) {
        let report = Report {
            action: action.to_string(),
            target: Some(guest),
            snapshot: None,
            before: Some(before),
            task: None,
            after: None,
            changed: false,
        };
        return Ok(Outcome::Done(report));
    }
    let needs_running = matches!(action, PowerAction::Reboot | PowerAction::Reset | PowerAction::Suspend);
    if needs_running && before.status != "running" {
        return Err(Error::Conflict(format!("guest {vmid} is {}: {action} needs it running", before.status)));
    }
    if action == PowerAction::Resume && !before.is_suspended() {
        return Err(Error::Conflict(format!("guest {vmid} is {}: resume needs it suspended", before.status)));
    }
    if action == PowerAction::Start && before.is_suspended() {
        return Err(Error::Conflict(format!("guest {vmid} is suspended: use resume")));
    }
    if action.tier() == Tier::Destructive {
        before.protection = Some(read_protection(b, &guest).await?);
        if before.protection == Some(true) {
            return Err(Error::Conflict(format!(
                "guest {vmid} has PVE's protection flag set: {action} refused (clear `protection` first)"
            )));
        }
    }
    let mut params = Vec::new();
    if let Some(t) = opts.shutdown_timeout {
        params.push(("timeout".to_owned(), t.to_string()));
    }
    if opts.force_stop {
        params.push(("forceStop".to_owned(), "1".to_owned()));
    }
    let m = Mutation::Power { guest: guest.clone(), action, params };
    let plan = ctx.plan(&m, Some(before.clone()), None, Vec::new());
    if let Some(outcome) = ctx.consent(plan, &format!("{action} guest {vmid} ({}) on {}", guest.kind, guest.node)) {
        return Ok(outcome);
    }
    let mut report = match act_and_report(ctx, &m, &deadline, before, None).await? {
        ControlFlow::Break(outcome) => return Ok(outcome),
        ControlFlow::Continue(report) => report,
    };
    match recheck(b, &guest, &deadline, |s| reached(action, s)).await {
        Ok(after) => {
            report.after = Some(after);
            Ok(Outcome::Done(report))
        }
        Err(e) => Ok(Outcome::Incomplete(report, e)),
    }
}
