//! Task reads: `/nodes/{node}/tasks`, `.../tasks/{upid}/status`, `.../tasks/{upid}/log`.
//!
//! pve-manager `PVE/API2/Tasks.pm` (FORMATS.md §0.4): the list's `status` is the exit
//! status text; `status/current` has `running|stopped` plus `exitstatus` once stopped; the
//! log is `{n, t}` lines with `start`/`limit` (default 50). A bad UPID is a 400
//! `upid: unable to parse worker upid`; an unknown task's status is 400 `upid: no such task`,
//! its log one line `unable to open file - No such file or directory` (pve-common
//! `Tools.pm` `dump_logfile`).

use serde_json::{Map, Value, json};

use super::core::Sim;
use super::error::SimError;
use super::route::Request;
use super::task_state::SimTask;
use crate::model::{ExitStatus, Upid};

/// The fields every task answer carries, from the UPID.
fn base(t: &SimTask) -> Map<String, Value> {
    let u = &t.upid;
    let mut m = Map::new();
    m.insert("upid".into(), json!(u.as_str()));
    m.insert("node".into(), json!(u.node.as_str()));
    m.insert("pid".into(), json!(u.pid));
    m.insert("pstart".into(), json!(u.pstart));
    m.insert("starttime".into(), json!(u.starttime));
    m.insert("type".into(), json!(u.task_type));
    m.insert("id".into(), json!(u.id));
    m.insert("user".into(), json!(u.user));
    m
}

/// `ok`, `warning`, `error` or `unknown` (pve-common `UPID.pm` `normalize_status_type`).
fn status_type(t: &SimTask) -> &'static str {
    match t.exitstatus.as_deref().map(ExitStatus::classify) {
        None => "unknown",
        Some(ExitStatus::Ok) => "ok",
        Some(ExitStatus::Warnings(_)) => "warning",
        Some(ExitStatus::Failed(m)) if m == "unexpected status" => "unknown",
        Some(ExitStatus::Failed(_)) => "error",
    }
}

/// `GET /nodes/{node}/tasks`: newest first; `source` `archive` (default, finished tasks),
/// `active` (running) or `all`; filters `vmid`, `typefilter`, `userfilter`, `errors`,
/// `since`, `until`, `statusfilter`; paging `start`, `limit` (default 50).
pub(crate) fn task_list(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let node = req.var("node");
    let start = req.int_param("start", 0)?.unwrap_or(0);
    let limit = req.int_param("limit", 0)?.unwrap_or(50);
    let vmid = req.int_param("vmid", 100)?;
    let since = req.int_param("since", 0)?;
    let until = req.int_param("until", 0)?;
    let errors = req.bool_param("errors")?.unwrap_or(false);
    let source = req.param("source").unwrap_or("archive");
    if !["archive", "active", "all"].contains(&source) {
        return Err(SimError::param("source", format!("value '{source}' does not have a value in the enumeration 'archive, active, all'")));
    }
    let typefilter = req.param("typefilter");
    let userfilter = req.param("userfilter").map(str::to_lowercase);
    let statusfilter: Option<Vec<&str>> = req.param("statusfilter").map(|s| s.split([',', ';', ' ']).filter(|x| !x.is_empty()).collect());

    let mut tasks: Vec<&SimTask> = sim
        .state()
        .tasks
        .iter()
        .filter(|t| t.upid.node.as_str() == node && sim.may_see_task(node, &t.upid.user))
        .filter(|t| match source {
            "active" => t.is_running(),
            "archive" => !t.is_running(),
            _ => true,
        })
        .filter(|t| vmid.is_none_or(|v| t.upid.id == v.to_string()))
        .filter(|t| typefilter.is_none_or(|f| t.upid.task_type == f))
        .filter(|t| userfilter.as_ref().is_none_or(|f| t.upid.user.to_lowercase().contains(f.as_str())))
        .filter(|t| !errors || t.exitstatus.as_deref() != Some("OK"))
        .filter(|t| since.is_none_or(|s| t.upid.starttime >= s) && until.is_none_or(|u| t.upid.starttime <= u))
        .filter(|t| statusfilter.as_ref().is_none_or(|f| f.contains(&status_type(t))))
        .collect();
    tasks.sort_by(|a, b| b.upid.starttime.cmp(&a.upid.starttime).then_with(|| b.upid.as_str().cmp(a.upid.as_str())));
    let list = tasks
        .into_iter()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|t| {
            let mut m = base(t);
            if let Some(e) = t.endtime {
                m.insert("endtime".into(), json!(e));
            }
            if let Some(s) = &t.exitstatus {
                m.insert("status".into(), json!(s));
            }
            Value::Object(m)
        })
        .collect();
    Ok(Value::Array(list))
}

/// Parses the `{upid}` path variable (400 `upid: unable to parse worker upid`).
fn req_upid(req: &Request<'_>) -> Result<Upid, SimError> {
    req.var("upid").parse().map_err(|_| SimError::param("upid", "unable to parse worker upid"))
}

/// The task of a request, if it ran on the request's node.
fn find_task<'s>(sim: &'s Sim, req: &Request<'_>, upid: &Upid) -> Option<&'s SimTask> {
    sim.state().task(upid.as_str()).filter(|t| t.upid.node.as_str() == req.var("node"))
}

/// `GET /nodes/{node}/tasks/{upid}/status`.
pub(crate) fn task_status(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let upid = req_upid(req)?;
    let t = find_task(sim, req, &upid).ok_or_else(|| SimError::param("upid", "no such task"))?;
    let mut m = base(t);
    match &t.exitstatus {
        Some(e) => {
            m.insert("status".into(), json!("stopped"));
            m.insert("exitstatus".into(), json!(e));
        }
        None => {
            m.insert("status".into(), json!("running"));
        }
    }
    Ok(Value::Object(m))
}

/// `GET /nodes/{node}/tasks/{upid}/log [--start n] [--limit n]`: lines from `start`
/// (0-based), at most `limit` (0 or absent = 50), numbered from 1.
pub(crate) fn task_log(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let upid = req_upid(req)?;
    req.bool_param("download")?;
    let start = usize::try_from(req.int_param("start", 0)?.unwrap_or(0)).unwrap_or(usize::MAX);
    let limit = match req.int_param("limit", 0)? {
        None | Some(0) => 50,
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let Some(t) = find_task(sim, req, &upid) else {
        return Ok(json!([{"n": 1, "t": "unable to open file - No such file or directory"}]));
    };
    if t.log.is_empty() {
        return Ok(json!([{"n": 1, "t": "no content"}]));
    }
    let lines = t.log.iter().enumerate().skip(start).take(limit).map(|(i, l)| json!({"n": i + 1, "t": l})).collect();
    Ok(Value::Array(lines))
}
