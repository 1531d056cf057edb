//! `pvectl doctor`: reads that show whether the target works — reachable, which PVE version,
//! nodes (all online?), guests, the task API, and what the caller may do — each reported as
//! ok, skipped (not available with this backend, e.g. `--tools qm-pct`) or failed, without
//! changing anything. The reads run together. It fails (non-zero exit) when a read fails
//! (that error's code), when a node is offline (9, as a 595 is), or when the caller sees
//! nothing: a privilege-separated token without ACLs (4). For each command group it lists
//! the privileges held or missing and the `pveum acl modify` line that grants them.

use serde::Serialize;
use serde_json::Value;

use super::args::OutputFormat;
use super::output::{Table, print};
use crate::backend::{Backend, GuestFilter, Method, Params, TaskFilter};
use crate::checks::{GroupAccess, diagnose, sees_nothing};
use crate::error::{Error, Result};

/// One check's result.
#[derive(Debug, Serialize)]
struct Outcome {
    /// What was checked.
    check: &'static str,
    /// `ok`, `skipped` or `failed`.
    result: &'static str,
    /// What was found, or why it failed.
    detail: String,
}

fn record<T>(checks: &mut Vec<Outcome>, check: &'static str, r: Result<T>, detail: impl FnOnce(&T) -> String) -> Option<Error> {
    match r {
        Ok(v) => {
            checks.push(Outcome { check, result: "ok", detail: detail(&v) });
            None
        }
        Err(e @ Error::Unsupported { .. }) => {
            checks.push(Outcome { check, result: "skipped", detail: e.to_string() });
            None
        }
        Err(e) => {
            checks.push(Outcome { check, result: "failed", detail: e.to_string() });
            Some(e)
        }
    }
}

/// Runs the checks and prints them; fails with the first failed check's error.
///
/// `token` is the API token id (`USER@REALM!ID`) of a REST target, for the `pveum` lines.
///
/// # Errors
/// The first failing read's error (its exit code tells what kind); `Transport` for an
/// offline node; `PermissionDenied` when the caller sees nothing.
pub(crate) async fn doctor(out: OutputFormat, b: &dyn Backend, token: Option<&str>) -> Result<()> {
    let mut checks = Vec::new();
    let mut first = None;
    let (every_guest, no_params) = (GuestFilter::default(), Params::new());
    let (v, nodes, guests, perms) =
        tokio::join!(b.version(), b.nodes(), b.guests(&every_guest), b.raw(Method::Get, "/access/permissions", &no_params));
    first = first.or(record(&mut checks, "version", v, |v| format!("pve-manager {}", v.version.as_deref().unwrap_or("?"))));
    let online: Vec<String> = nodes
        .as_ref()
        .map(|n| n.iter().filter(|x| x.status.as_deref().is_none_or(|s| s == "online")).map(|x| x.node.clone()).collect())
        .unwrap_or_default();
    let offline: Vec<String> = nodes
        .as_ref()
        .map(|n| n.iter().filter(|x| x.status.as_deref().is_some_and(|s| s != "online")).map(|x| x.node.clone()).collect())
        .unwrap_or_default();
    let node_count = nodes.as_ref().map_or(0, Vec::len);
    let guest_count = guests.as_ref().map_or(0, Vec::len);
    let node = online.first().and_then(|n| n.parse().ok());
    first = first.or(record(&mut checks, "nodes", nodes, |n| format!("{} node(s), {} online", n.len(), online.len())));
    if !offline.is_empty() {
        if let Some(c) = checks.last_mut() {
            c.result = "failed";
            c.detail = format!("{node_count} node(s), {} online; offline: {}", online.len(), offline.join(", "));
        }
        first = first.or(Some(Error::Transport { message: format!("node(s) offline: {}", offline.join(", ")), source: None }));
    }
    first = first.or(record(&mut checks, "guests", guests, |g| {
        let running = g.iter().filter(|x| x.status == "running").count();
        format!("{} guest(s), {running} running", g.len())
    }));
    if let Some(node) = node {
        let tasks = b.tasks(&node, &TaskFilter { limit: Some(1), ..TaskFilter::default() }).await;
        first = first.or(record(&mut checks, "tasks", tasks, |_| format!("task list of {node} readable")));
    }
    let mut privileges: Vec<GroupAccess> = Vec::new();
    let tree: Option<Value> = match perms {
        Ok(t) => Some(t),
        Err(e @ Error::Unsupported { .. }) => {
            checks.push(Outcome { check: "permissions", result: "skipped", detail: e.to_string() });
            None
        }
        Err(e) => {
            // Not fatal: an older PVE or a proxy may refuse it; the reads above tell the rest.
            checks.push(Outcome { check: "permissions", result: "skipped", detail: format!("cannot read /access/permissions: {e}") });
            None
        }
    };
    if let Some(tree) = tree {
        privileges = diagnose(&tree, token);
        let who = token.map_or_else(|| "the caller".to_owned(), |t| format!("token {t}"));
        if sees_nothing(&tree) {
            let what = if token.is_some_and(|t| t.contains('!')) {
                format!("{who} is a privilege-separated token without ACLs: it sees nothing")
            } else {
                format!("{who} holds no privilege: it sees nothing")
            };
            checks.push(Outcome { check: "permissions", result: "failed", detail: what.clone() });
            let fix = privileges.first().and_then(|g| g.fix.clone()).unwrap_or_default();
            first = first.or(Some(Error::PermissionDenied(format!("{what}; grant read access with: {fix}"))));
        } else {
            let missing: Vec<&str> = privileges.iter().filter(|g| g.result != "ok").map(|g| g.group).collect();
            let detail = if missing.is_empty() {
                "every command group allowed".to_owned()
            } else {
                format!("not allowed everywhere: {}", missing.join(", "))
            };
            checks.push(Outcome { check: "permissions", result: "ok", detail });
        }
    } else if node_count == 0 && guest_count == 0 && first.is_none() {
        first = Some(Error::PermissionDenied("the caller sees no node and no guest: check its ACLs (pveum acl list)".into()));
    }
    let report = serde_json::json!({ "target": b.describe(), "checks": checks, "privileges": privileges });
    print(out, &report, |_| {
        let mut t = Table::new(&["CHECK", "RESULT", "DETAIL"]);
        t.row(vec!["target".into(), "ok".into(), b.describe()]);
        for c in &checks {
            t.row(vec![c.check.to_owned(), c.result.to_owned(), c.detail.clone()]);
        }
        for g in &privileges {
            let detail = match &g.fix {
                Some(fix) => format!("missing {}: {fix}", g.missing.join(", ")),
                None => g.needs.join(", "),
            };
            t.row(vec![format!("access: {}", g.group), g.result.to_owned(), detail]);
        }
        t
    })?;
    first.map_or(Ok(()), Err)
}
