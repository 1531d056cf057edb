//! The page handlers. The fleet, target, tasks and checks pages and every `/live/...`
//! fragment read only the shared snapshots; the guest and task pages add a few reads of their
//! own (bounded, under the read deadline); the audit page reads the local audit log.

use std::future::Future;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};

use super::state::Shared;
use super::views::{self, GuestQuery, Live, enc, guest_href, layout, target_href, task_href};
use crate::backend::{Backend, BackupFilter, InventoryExt, TaskFilter};
use crate::model::{GuestKind, GuestRef, Upid, Vmid, time::format_utc};

type S = State<Arc<Shared>>;

fn page(m: Markup) -> Response {
    Html(m.into_string()).into_response()
}

fn not_found(what: &str) -> Response {
    let m = layout("Not found", None, &html! { p.error { (what) } p { a href="/" { "back to the fleet" } } });
    (StatusCode::NOT_FOUND, Html(m.into_string())).into_response()
}

/// `/`: one card per target.
pub(crate) async fn fleet(State(s): S) -> Response {
    let snaps = s.snapshots();
    page(layout("Fleet", Some(Live { src: "/live/fleet".into(), targets: "", content: views::fleet(&snaps) }), &html! {}))
}

/// `/live/fleet`.
pub(crate) async fn live_fleet(State(s): S) -> Response {
    page(views::fleet(&s.snapshots()))
}

/// `/t/{target}`: nodes, guests (filters and sorting in the query), storages.
pub(crate) async fn target(State(s): S, Path(target): Path<String>, Query(q): Query<GuestQuery>) -> Response {
    let Some(slot) = s.slot(&target) else { return not_found("no such target") };
    let snap = slot.current();
    let query = q.query();
    let src = if query.is_empty() { format!("/live{}", target_href(&target)) } else { format!("/live{}?{query}", target_href(&target)) };
    page(layout(&format!("Target {target}"), Some(Live { src, targets: &target, content: views::target(&snap, &q) }), &html! {}))
}

/// `/live/t/{target}`.
pub(crate) async fn live_target(State(s): S, Path(target): Path<String>, Query(q): Query<GuestQuery>) -> Response {
    let Some(slot) = s.slot(&target) else { return not_found("no such target") };
    page(views::target(&slot.current(), &q))
}

/// `/tasks`: recent and running tasks of every target, failures first.
pub(crate) async fn tasks(State(s): S) -> Response {
    page(layout("Tasks", Some(Live { src: "/live/tasks".into(), targets: "", content: views::tasks(&s.snapshots()) }), &html! {}))
}

/// `/live/tasks`.
pub(crate) async fn live_tasks(State(s): S) -> Response {
    page(views::tasks(&s.snapshots()))
}

fn history(s: &Shared) -> Vec<super::state::CheckEvent> {
    s.history.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
}

/// `/checks`: current findings by severity and their history.
pub(crate) async fn checks(State(s): S) -> Response {
    let content = views::checks(&s.snapshots(), &history(&s));
    page(layout("Checks", Some(Live { src: "/live/checks".into(), targets: "", content }), &html! {}))
}

/// `/live/checks`.
pub(crate) async fn live_checks(State(s): S) -> Response {
    page(views::checks(&s.snapshots(), &history(&s)))
}

/// One read under the deadline; its error as short, redacted text.
async fn bounded<T>(s: &Shared, f: impl Future<Output = crate::Result<T>>) -> Result<T, String> {
    match tokio::time::timeout(s.deadline, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(crate::model::clip(&crate::redact::redact(&e.to_string()), 300)),
        Err(_) => Err(format!("no answer within the {} s read deadline", s.deadline.as_secs())),
    }
}

fn err(e: &str) -> Markup {
    html! { p.error { "could not read: " (e) } }
}

/// Log lines shown per task on the guest page (the end of the log).
const TAIL: usize = 8;
/// Log lines read per task (PVE's `limit`).
const LOG_LIMIT: u64 = 500;
/// Tasks shown on the guest page.
const GUEST_TASKS: u64 = 5;

/// `/t/{target}/guest/{vmid}`: the live summary, then this view's own reads: config with
/// pending changes, snapshots, recent tasks with log tails, backups, agent IPs of a running
/// qemu guest with the agent enabled.
pub(crate) async fn guest(State(s): S, Path((target, vmid)): Path<(String, String)>) -> Response {
    let Some(slot) = s.slot(&target) else { return not_found("no such target") };
    let Ok(vmid) = vmid.parse::<Vmid>() else { return not_found("not a vmid") };
    let snap = slot.current();
    let g = snap.data.as_ref().and_then(|d| d.guests.iter().find(|g| g.vmid == vmid)).cloned();
    let live = Live { src: format!("/live{}", guest_href(&target, vmid)), targets: &target, content: views::guest(&snap, g.as_ref()) };
    let title = format!("Guest {vmid} on {target}");
    let (Some(g), Some(b)) = (g, slot.backend()) else { return page(layout(&title, Some(live), &html! {})) };
    let r = g.guest_ref();
    let reads = guest_reads(&s, b.as_ref(), &target, &r, g.status == "running").await;
    let extra = html! { @if s.actions.is_some() { (super::actions::links(&target, vmid)) } (reads) };
    page(layout(&title, Some(live), &extra))
}

async fn guest_reads(s: &Shared, b: &dyn Backend, target: &str, r: &GuestRef, running: bool) -> Markup {
    let task_filter = TaskFilter { vmid: Some(r.vmid), source: Some("all"), limit: Some(GUEST_TASKS), ..TaskFilter::default() };
    let backup_filter = BackupFilter { vmid: Some(r.vmid), ..BackupFilter::default() };
    let (config, pending, snapshots, tasks, backups) = tokio::join!(
        bounded(s, b.guest_config(r)),
        bounded(s, b.pending(r)),
        bounded(s, b.snapshots(r)),
        bounded(s, b.tasks(&r.node, &task_filter)),
        bounded(s, b.backups(&backup_filter)),
    );
    let agent_on = config
        .as_ref()
        .is_ok_and(|c| c.entries.iter().any(|(k, v)| k == "agent" && (v == "1" || v.starts_with("1,") || v.contains("enabled=1"))));
    let ips = if r.kind == GuestKind::Qemu && running && agent_on { Some(bounded(s, b.network_interfaces(r)).await) } else { None };
    let mut tails = Vec::new();
    if let Ok(ts) = &tasks {
        for t in ts {
            let lines = bounded(s, b.task_log(&t.upid, 0, LOG_LIMIT)).await;
            tails.push((t.clone(), lines));
        }
    }
    let description = config.as_ref().ok().and_then(|c| c.entries.iter().find(|(k, _)| k == "description").map(|(_, v)| v.clone()));
    html! {
        @if let Some(d) = &description {
            h2 { "Description" }
            pre #description .description { (d) }
        }
        h2 { "Configuration" }
        @match (&config, &pending) {
            (Ok(cfg), pend_read) => {
                @let pend: Vec<_> = pend_read.as_ref().map(|list| list.iter().filter(|x| x.is_pending()).collect()).unwrap_or_default();
                @if let Err(e) = pend_read { (err(e)) }
                table.config {
                    thead { tr { th { "key" } th { "value" } th { "pending" } } }
                    tbody {
                        @for (k, v) in &cfg.entries {
                            @let pc = pend.iter().find(|x| &x.key == k);
                            tr class=(if pc.is_some() { "pending" } else { "" }) {
                                td { (k) }
                                td { (v) }
                                td { @if let Some(pc) = pc { @if pc.delete.is_some() { "delete" } @else { (pc.pending.as_deref().unwrap_or("")) } } }
                            }
                        }
                        @for pc in pend.iter().filter(|x| !cfg.entries.iter().any(|(k, _)| *k == x.key)) {
                            tr.pending { td { (pc.key) } td { "-" } td { (pc.pending.as_deref().unwrap_or("")) } }
                        }
                    }
                }
            }
            (Err(e), _) => { (err(e)) }
        }
        h2 { "Snapshots" }
        @match &snapshots {
            Ok(list) => {
                ul.snapshots {
                    @for sn in list {
                        li { (sn.name) @if let Some(p) = &sn.parent { " (parent " (p) ")" } " " span.small { (sn.snaptime.map(format_utc).unwrap_or_default()) " " (sn.description) } }
                    }
                }
            }
            Err(e) => { (err(e)) }
        }
        h2 { "Recent tasks" }
        @match &tasks {
            Ok(_) => {
                @for (t, lines) in &tails {
                    div.task {
                        p { a href=(task_href(target, &t.upid.to_string())) { (t.task_type.as_deref().unwrap_or("task")) } " " (t.starttime.map(format_utc).unwrap_or_default()) " " (t.status.as_deref().unwrap_or("running")) }
                        @match lines {
                            Ok(l) => { pre.log { @for line in l.iter().skip(l.len().saturating_sub(TAIL)) { (line.t) "\n" } } }
                            Err(e) => { (err(e)) }
                        }
                    }
                }
                @if tails.is_empty() { p { "no recent tasks" } }
            }
            Err(e) => { (err(e)) }
        }
        h2 { "Backups" }
        @match &backups {
            Ok(list) => {
                @if list.is_empty() { p { "no backups" } }
                ul.backups { @for bk in list { li { (bk.volid) " " span.small { (bk.ctime.map(format_utc).unwrap_or_default()) " " (views::bytes(bk.size)) " " (bk.notes.as_deref().unwrap_or("")) } } } }
            }
            Err(e) => { (err(e)) }
        }
        @if let Some(ips) = &ips {
            h2 { "Agent IPs" }
            @match ips {
                Ok(ifs) => { ul.ips { @for i in ifs { @for a in &i.ip_addresses { li { (i.name) ": " (a.ip_address) } } } } }
                Err(e) => { (err(e)) }
            }
        }
    }
}

/// `/live/t/{target}/guest/{vmid}`.
pub(crate) async fn live_guest(State(s): S, Path((target, vmid)): Path<(String, String)>) -> Response {
    let Some(slot) = s.slot(&target) else { return not_found("no such target") };
    let Ok(vmid) = vmid.parse::<Vmid>() else { return not_found("not a vmid") };
    let snap = slot.current();
    let g = snap.data.as_ref().and_then(|d| d.guests.iter().find(|g| g.vmid == vmid));
    page(views::guest(&snap, g))
}

/// `/t/{target}/task/{upid}`: the task's status and log (the first 500 lines).
pub(crate) async fn task(State(s): S, Path((target, upid)): Path<(String, String)>) -> Response {
    let Some(slot) = s.slot(&target) else { return not_found("no such target") };
    let Ok(upid) = upid.parse::<Upid>() else { return not_found("not a UPID") };
    let Some(b) = slot.backend() else { return not_found("the target is not open yet") };
    let (status, log) = tokio::join!(bounded(&s, b.task_status(&upid)), bounded(&s, b.task_log(&upid, 0, LOG_LIMIT)));
    let extra = html! {
        p { a href=(target_href(&target)) { "target " (target) } }
        @match &status {
            Ok(st) => {
                dl.summary {
                    dt { "UPID" } dd { (upid.to_string()) }
                    dt { "type" } dd { (st.task_type.as_deref().unwrap_or("-")) }
                    dt { "status" } dd { (st.status) }
                    dt { "exit status" } dd { (match &st.exitstatus { None => "-".to_owned(), Some(crate::model::ExitStatus::Ok) => "OK".to_owned(), Some(crate::model::ExitStatus::Warnings(n)) => format!("WARNINGS: {n}"), Some(crate::model::ExitStatus::Failed(m)) => m.clone() }) }
                }
            }
            Err(e) => { (err(e)) }
        }
        @match &log {
            Ok(lines) => { pre.log { @for l in lines { (l.t) "\n" } } }
            Err(e) => { (err(e)) }
        }
    };
    page(layout("Task", None, &extra))
}

/// Filters of the audit page (query parameters; empty = not set).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct AuditQuery {
    target: Option<String>,
    vmid: Option<String>,
    action: Option<String>,
    face: Option<String>,
    outcome: Option<String>,
}

/// The most records the audit page shows (the newest).
const AUDIT_ROWS: usize = 500;

/// `/audit`: `audit verify`'s result, then the records (newest first) passing the filters.
pub(crate) async fn audit(State(s): S, Query(q): Query<AuditQuery>) -> Response {
    let Some(path) = s.audit_path.clone() else {
        return page(layout("Audit", None, &html! { p.warning { "there is no audit log (PVECTL_AUDIT_LOG is off, or no HOME)" } }));
    };
    let read = tokio::task::spawn_blocking(move || (crate::safety::verify(&path), crate::safety::read_records(&path), path)).await;
    let Ok((verified, records, path)) = read else { return not_found("the audit log could not be read") };
    let want = |field: &str, v: &Option<String>, r: &serde_json::Value| {
        v.as_deref().filter(|x| !x.is_empty()).is_none_or(|x| {
            let got = &r[field];
            got.as_str().map_or_else(|| got.as_u64().is_some_and(|n| x.parse() == Ok(n)), |s| s == x)
        })
    };
    let rows: Vec<serde_json::Value> = records
        .as_ref()
        .map(|rs| {
            rs.iter()
                .rev()
                .filter(|r| {
                    want("target", &q.target, r)
                        && want("vmid", &q.vmid, r)
                        && want("action", &q.action, r)
                        && want("face", &q.face, r)
                        && want("outcome", &q.outcome, r)
                })
                .take(AUDIT_ROWS)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let cell = |v: &serde_json::Value| match v {
        serde_json::Value::Null => "-".to_owned(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let extra = html! {
        @match &verified {
            Ok(v) if v.intact() => { p #verify .verify.ok { "audit verify: intact, " (v.records) " records" @if !v.open_intents.is_empty() { ", open intents (no outcome): " (format!("{:?}", v.open_intents)) } } }
            Ok(v) => { p #verify .verify.broken { "audit verify: BROKEN at line " (v.first_break.as_ref().map_or(0, |b| b.line)) ": " (v.first_break.as_ref().map_or("", |b| b.reason.as_str())) } }
            Err(e) => { p #verify .verify.broken { "audit verify failed: " (crate::model::clip(&e.to_string(), 300)) } }
        }
        p.small { "log: " (path.display().to_string()) }
        form.filters method="get" action="/audit" {
            @for (k, v) in [("target", &q.target), ("vmid", &q.vmid), ("action", &q.action), ("face", &q.face), ("outcome", &q.outcome)] {
                label { (k) " " input name=(k) value=(v.as_deref().unwrap_or("")); }
            }
            button type="submit" { "filter" } " " a href="/audit" { "clear" }
        }
        @if let Err(e) = &records { (err(&crate::model::clip(&e.to_string(), 300))) }
        table.audit {
            thead { tr { th { "seq" } th { "time" } th { "who" } th { "face" } th { "record" } th { "target" } th { "action" } th { "tier" } th { "vmid" } th { "outcome" } th { "upid" } th { "message" } } }
            tbody {
                @for r in &rows {
                    tr {
                        td { (cell(&r["seq"])) }
                        td { (r["time"].as_u64().map_or_else(|| cell(&r["time"]), format_utc)) }
                        td { (cell(&r["who"])) }
                        td { a href=(format!("/audit?face={}", enc(&cell(&r["face"])))) { (cell(&r["face"])) } }
                        td { (cell(&r["record"])) }
                        td { (cell(&r["target"])) }
                        td { (cell(&r["action"])) }
                        td { (cell(&r["tier"])) }
                        td { (cell(&r["vmid"])) }
                        td { (cell(&r["outcome"])) }
                        td { (cell(&r["upid"])) }
                        td { (cell(&r["message"])) }
                    }
                }
            }
        }
    };
    page(layout("Audit", None, &extra))
}
