//! `--allow-actions`: power actions and snapshot create from the guest page, on the same
//! engine as every face. `GET .../act/{action}` makes the plan (reads only) and shows its tier,
//! calls and digest with a confirm form; the form's `POST` carries the digest and the CSRF
//! token, plans again, refuses when the digest differs (the state changed since it was shown:
//! nothing is sent), and otherwise applies the plan through the target's `Guarded` backend
//! (its policy; the audit face `dashboard`), waiting for the task.

use std::ops::ControlFlow;
use std::sync::Arc;

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};

use super::state::Shared;
use super::views::{enc, guest_href, layout};
use crate::backend::PowerAction;
use crate::model::{GuestRef, SnapshotName, Vmid};
use crate::safety::{Asker, Gate, Guarded};
use crate::workflow::{Action, Ctx, Deadline, Outcome, Plan, Power, PowerOptions, SnapshotAction, SnapshotOp, engine};

/// The actions the guest page offers.
pub(crate) const POWER: [&str; 7] = ["start", "shutdown", "reboot", "stop", "reset", "suspend", "resume"];

/// A new CSRF token: 32 random bytes as hex.
pub(crate) fn new_csrf() -> String {
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 32];
    // The system's random source failing leaves no safe token: refuse every action then.
    if ring::rand::SystemRandom::new().fill(&mut b).is_err() {
        return String::new();
    }
    b.iter().fold(String::with_capacity(64), |mut out, x| {
        use std::fmt::Write as _;
        let _ = write!(out, "{x:02x}");
        out
    })
}

/// `?name=` of a snapshot create.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct PlanQuery {
    name: Option<String>,
}

/// The confirm form.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Confirm {
    digest: String,
    csrf: String,
    #[serde(default)]
    name: Option<String>,
}

fn answer(code: StatusCode, title: &str, body: &Markup) -> Response {
    (code, Html(layout(title, None, body).into_string())).into_response()
}

fn refuse(code: StatusCode, why: &str) -> Response {
    answer(code, "Action refused", &html! { p.error #refusal { (why) } p { "nothing was sent" } })
}

/// The action named in the path, on guest `r`.
fn action_for(name: &str, r: &GuestRef, snapshot: Option<&str>) -> Result<Box<dyn Action>, String> {
    if name == "snapshot" {
        let n: SnapshotName = snapshot.unwrap_or_default().parse().map_err(|e| format!("snapshot name: {e}"))?;
        return Ok(Box::new(SnapshotAction {
            vmid: r.vmid,
            node: Some(r.node.clone()),
            kind: Some(r.kind),
            op: SnapshotOp::Create { name: n, description: Some("made from pvectl dashboard".into()), vmstate: false },
        }));
    }
    let action: PowerAction = name.parse().map_err(|_| format!("unknown action '{}'", crate::model::clip(name, 40)))?;
    let opts = PowerOptions { node: Some(r.node.clone()), kind: Some(r.kind), shutdown_timeout: None, force_stop: false };
    Ok(Box::new(Power { vmid: r.vmid, action, opts }))
}

/// The target's action backend and the guest's location from the last listing.
fn resolve(s: &Shared, target: &str, vmid: &str) -> Result<(Arc<Guarded>, GuestRef), Box<Response>> {
    let refuse = |code, why| Box::new(refuse(code, why));
    let slot = s.slot(target).ok_or_else(|| refuse(StatusCode::NOT_FOUND, "no such target"))?;
    let vmid: Vmid = vmid.parse().map_err(|_| refuse(StatusCode::NOT_FOUND, "not a vmid"))?;
    let actor = slot.actor().ok_or_else(|| refuse(StatusCode::SERVICE_UNAVAILABLE, "the target is not open yet"))?;
    let snap = slot.current();
    let g = snap
        .data
        .as_ref()
        .and_then(|d| d.guests.iter().find(|g| g.vmid == vmid))
        .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "no such guest in the last guest listing"))?;
    Ok((actor, g.guest_ref()))
}

fn ctx<'a>(actor: &'a Guarded, timeout: std::time::Duration, show: &'a dyn Fn(&Plan)) -> Ctx<'a> {
    // The confirm form is the consent: the engine's gate is not asked again.
    Ctx {
        backend: actor,
        gate: Gate { yes: true, dry_run: false, asker: Asker::None },
        timeout,
        wait: true,
        progress: false,
        show_plan: show,
        joint: None,
    }
}

fn plan_markup(plan: &Plan, action_path: &str, csrf: &str, name: Option<&str>) -> Markup {
    html! {
        dl.summary #plan {
            dt { "action" } dd { (plan.action) }
            dt { "tier" } dd #tier { (format!("{:?}", plan.tier).to_lowercase()) }
            dt { "via" } dd { (plan.via) }
            dt { "digest" } dd #digest { (plan.digest) }
        }
        h2 { "Calls" }
        ul.calls { @for c in &plan.calls { li { code { (c.rendered) } } } }
        @for w in &plan.warnings { p.warning { (w) } }
        form #confirm method="post" action=(action_path) {
            input type="hidden" name="digest" value=(plan.digest);
            input type="hidden" name="csrf" value=(csrf);
            @if let Some(n) = name { input type="hidden" name="name" value=(n); }
            button type="submit" #confirm-button { "Confirm: " (plan.action) }
        }
    }
}

/// `GET /t/{target}/guest/{vmid}/act/{action}`: the plan and the confirm form. Reads only.
pub(crate) async fn plan_page(
    State(s): State<Arc<Shared>>,
    Path((target, vmid, action)): Path<(String, String, String)>,
    Query(q): Query<PlanQuery>,
) -> Response {
    off_thread(move || plan_inner(s, target, vmid, action, q)).await
}

async fn plan_inner(s: Arc<Shared>, target: String, vmid: String, action: String, query: PlanQuery) -> Response {
    let Some(actions) = &s.actions else { return refuse(StatusCode::NOT_FOUND, "actions are off") };
    let (actor, guest) = match resolve(&s, &target, &vmid) {
        Ok(x) => x,
        Err(resp) => return *resp,
    };
    let act = match action_for(&action, &guest, query.name.as_deref()) {
        Ok(a) => a,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &e),
    };
    let show = |_: &Plan| {};
    let engine_ctx = ctx(&actor, actions.timeout, &show);
    let title = format!("{action} guest {} on {target}", guest.vmid);
    let path = format!("{}/act/{}", guest_href(&target, guest.vmid), enc(&action));
    match tokio::time::timeout(s.deadline, engine::plan(&engine_ctx, act.as_ref())).await {
        Ok(Ok(ControlFlow::Continue((plan, _)))) => {
            answer(StatusCode::OK, &title, &plan_markup(&plan, &path, &actions.csrf, query.name.as_deref()))
        }
        Ok(Ok(ControlFlow::Break(_))) => answer(StatusCode::OK, &title, &html! { p #noop { "nothing to do: the guest is already there" } }),
        Ok(Err(e)) => refuse(StatusCode::CONFLICT, &crate::model::clip(&crate::redact::redact(&e.to_string()), 300)),
        Err(_) => refuse(StatusCode::GATEWAY_TIMEOUT, "planning took longer than the read deadline"),
    }
}

/// `POST /t/{target}/guest/{vmid}/act/{action}`: checks the CSRF token, plans again, refuses
/// a changed digest, applies.
pub(crate) async fn apply(
    State(s): State<Arc<Shared>>,
    Path((target, vmid, action)): Path<(String, String, String)>,
    Form(f): Form<Confirm>,
) -> Response {
    off_thread(move || apply_inner(s, target, vmid, action, f)).await
}

/// Runs `f`'s future on a blocking thread driven by this runtime's handle: the engine's
/// context (`Ctx`) is not `Send`, which axum's handlers must be.
async fn off_thread<F, Fut>(f: F) -> Response
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Response>,
{
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || handle.block_on(f()))
        .await
        .unwrap_or_else(|_| refuse(StatusCode::INTERNAL_SERVER_ERROR, "the action's worker failed"))
}

async fn apply_inner(s: Arc<Shared>, target: String, vmid: String, action: String, form: Confirm) -> Response {
    let Some(actions) = &s.actions else { return refuse(StatusCode::NOT_FOUND, "actions are off") };
    if actions.csrf.is_empty() || !constant_eq(form.csrf.as_bytes(), actions.csrf.as_bytes()) {
        return refuse(StatusCode::FORBIDDEN, "the form's CSRF token is missing or wrong: open the plan page again");
    }
    let (actor, guest) = match resolve(&s, &target, &vmid) {
        Ok(x) => x,
        Err(resp) => return *resp,
    };
    let act = match action_for(&action, &guest, form.name.as_deref()) {
        Ok(a) => a,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &e),
    };
    let show = |_: &Plan| {};
    let engine_ctx = ctx(&actor, actions.timeout, &show);
    let deadline = Deadline::after(actions.timeout);
    let title = format!("{action} guest {} on {target}", guest.vmid);
    let planned = match tokio::time::timeout(s.deadline, engine::plan(&engine_ctx, act.as_ref())).await {
        Ok(Ok(ControlFlow::Continue(p))) => p,
        Ok(Ok(ControlFlow::Break(_))) => return refuse(StatusCode::CONFLICT, "the state changed: there is nothing to do any more"),
        Ok(Err(e)) => return refuse(StatusCode::CONFLICT, &crate::model::clip(&crate::redact::redact(&e.to_string()), 300)),
        Err(_) => return refuse(StatusCode::GATEWAY_TIMEOUT, "planning took longer than the read deadline"),
    };
    if planned.0.digest != form.digest {
        let path = format!("{}/act/{}", guest_href(&target, guest.vmid), enc(&action));
        let body = html! {
            p.error #refusal { "the plan changed since it was shown (digest " (crate::model::clip(&form.digest, 64)) "); nothing was sent. The new plan:" }
            (plan_markup(&planned.0, &path, &actions.csrf, form.name.as_deref()))
        };
        return answer(StatusCode::CONFLICT, "Action refused", &body);
    }
    let outcome = engine::apply(&engine_ctx, act.as_ref(), planned, &deadline).await;
    let back = html! { p { a href=(guest_href(&target, guest.vmid)) { "back to guest " (guest.vmid) } } };
    match outcome {
        Ok(Outcome::Done(report)) => {
            let text = serde_json::to_string_pretty(&report).unwrap_or_default();
            answer(StatusCode::OK, &title, &html! { p #result .verify.ok { "done" } pre.log { (text) } (back) })
        }
        Ok(Outcome::Incomplete(report, e)) => {
            let text = serde_json::to_string_pretty(&report).unwrap_or_default();
            answer(
                StatusCode::BAD_GATEWAY,
                &title,
                &html! { p #result .verify.broken { (crate::redact::redact(&e.to_string())) } pre.log { (text) } (back) },
            )
        }
        Ok(Outcome::Planned(_) | Outcome::Refused(..)) => refuse(StatusCode::CONFLICT, "not applied"),
        Err(e) => refuse(StatusCode::CONFLICT, &crate::model::clip(&crate::redact::redact(&e.to_string()), 300)),
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The guest page's action links (plans only; nothing happens before the confirm step).
pub(crate) fn links(target: &str, vmid: Vmid) -> Markup {
    let base = guest_href(target, vmid);
    html! {
        h2 { "Actions" }
        p.actions {
            @for a in POWER { a.act href=(format!("{base}/act/{a}")) { (a) } " " }
        }
        form.filters method="get" action=(format!("{base}/act/snapshot")) {
            label { "snapshot name " input name="name" required; }
            button type="submit" { "plan snapshot" }
        }
    }
}
