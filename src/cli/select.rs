//! Power actions on one guest or several (`guest shutdown 100 web01 --tag prod --yes`): one
//! guest named by vmid keeps the single-guest path and its one report; several guests, or a
//! selector, run on [`run_many`]: all plans shown, consent asked once, at most `--parallel`
//! at a time, and one result per guest, `[{guest, node, ok, report|plan|error}]`. The exit
//! code is the most severe part's ([`crate::exit_codes::severity`]), and never one that promises
//! nothing was sent once any guest was changed ([`crate::exit_codes::combined`]).

use std::time::Duration;

use serde_json::{Value, json};

use super::Env;
use super::args::PowerArgs;
use super::output::{Table, print};
use super::report::act;
use crate::backend::{GuestFilter, PowerAction};
use crate::error::{Error, Result};
use crate::model::GuestRef;
use crate::safety::{Asker, Gate};
use crate::workflow::{Action, Ctx, GuestSelector, Outcome, Plan, Power, PowerOptions, run_many, select};

/// Runs a power action on the guests `a` names or selects.
///
/// # Errors
/// Selection errors (2, 5) before anything runs; one guest: as [`act`]; several: the most
/// severe part's error, after printing every part.
pub(crate) async fn power(env: &Env<'_>, action: PowerAction, a: PowerArgs, force_stop: bool) -> Result<()> {
    let shutdown_timeout = if action == PowerAction::Shutdown { env.cfg.timeout_given } else { None };
    let timeout = shutdown_timeout.map_or(env.cfg.timeout, |t| Duration::from_secs(t + super::guest::SHUTDOWN_SLACK));
    let sel = GuestSelector {
        guests: a.guests.clone(),
        filter: GuestFilter {
            node: a.at.node.clone(),
            kind: a.at.kind,
            status: a.status.clone(),
            tag: a.tag.clone(),
            pool: a.pool.clone(),
        },
        all: a.all,
    };
    let opts = |node, kind| PowerOptions { node, kind, shutdown_timeout, force_stop };
    if let Some(vmid) = sel.single_vmid() {
        return act(env, &Power { vmid, action, opts: opts(a.at.node.clone(), a.at.kind) }, !a.no_wait, timeout).await;
    }
    let guests = select(env.b(), &sel).await?;
    let power_of = |g: &GuestRef| Power { vmid: g.vmid, action, opts: opts(Some(g.node.clone()), Some(g.kind)) };
    if sel.is_one() {
        let g = guests.first().ok_or_else(|| Error::Internal("a named guest resolved to none".into()))?;
        return act(env, &power_of(g), !a.no_wait, timeout).await;
    }
    let actions: Vec<Power> = guests.iter().map(power_of).collect();
    let dyns: Vec<&dyn Action> = actions.iter().map(|p| p as &dyn Action).collect();
    let format = env.cfg.output;
    let show = move |p: &Plan| super::report::show_plan_on_stderr(format, p);
    let ctx = Ctx {
        backend: env.backend,
        gate: Gate { yes: env.cfg.yes, dry_run: env.cfg.dry_run, asker: Asker::detect() },
        timeout,
        wait: !a.no_wait,
        progress: false,
        show_plan: &show,
        joint: env.joint,
    };
    let results = run_many(&ctx, &dyns, usize::from(a.parallel)).await;
    let mut worst: Option<Error> = None;
    let mut codes = Vec::with_capacity(results.len());
    let mut parts = Vec::with_capacity(results.len());
    for (g, r) in guests.iter().zip(results) {
        // Whether this part sent a change: it has a report with a task or a change in it.
        let (mut part, err, sent) = match r {
            Ok(Outcome::Done(report)) => {
                let sent = report.changed || report.task.is_some();
                (json!({"ok": true, "report": report}), None, sent)
            }
            Ok(Outcome::Planned(plan)) => (json!({"ok": true, "plan": plan}), None, false),
            Ok(Outcome::Refused(plan, e)) => (json!({"ok": false, "plan": plan, "error": error_json(&e)}), Some(e), false),
            Ok(Outcome::Incomplete(report, e)) => (json!({"ok": false, "report": report, "error": error_json(&e)}), Some(e), true),
            Err(e) => (json!({"ok": false, "error": error_json(&e)}), Some(e), false),
        };
        part["guest"] = json!(g.vmid);
        part["node"] = json!(g.node);
        parts.push(part);
        codes.push((err.as_ref().map_or(crate::exit_codes::OK, Error::exit_code), sent));
        if let Some(e) = err {
            let sev = crate::exit_codes::severity(e.exit_code());
            if worst.as_ref().is_none_or(|w| crate::exit_codes::severity(w.exit_code()) < sev) {
                worst = Some(e);
            }
        }
    }
    print(format, &parts, |parts| table(parts))?;
    let code = crate::exit_codes::combined(codes);
    match worst {
        // Some guests were changed, another was refused before anything was sent for it: the
        // run as a whole must not claim that nothing was sent.
        Some(e) if code != e.exit_code() => Err(Error::OutcomeUnknown {
            message: format!("some guests were changed and at least one was not ({e}): read each entry"),
            upid: None,
            source: None,
        }),
        worst => worst.map_or(Ok(()), Err),
    }
}

fn error_json(e: &Error) -> Value {
    json!({"kind": e.kind(), "message": crate::redact::redact(&e.to_string()), "hint": e.hint(), "exit_code": e.exit_code()})
}

fn table(parts: &[Value]) -> Table {
    let mut t = Table::new(&["GUEST", "NODE", "OK", "RESULT"]);
    for p in parts {
        let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
        let result = if let Some(e) = p.get("error") {
            text(&e["message"])
        } else if let Some(r) = p.get("report") {
            let task = r["task"]["exitstatus"].as_str().map(|s| format!(", task {s}")).unwrap_or_default();
            format!("changed: {}{task}", if r["changed"] == true { "yes" } else { "no" })
        } else {
            format!("planned: {}", text(&p["plan"]["call"]))
        };
        t.row(vec![p["guest"].to_string(), text(&p["node"]), if p["ok"] == true { "yes" } else { "no" }.into(), result]);
    }
    t
}
