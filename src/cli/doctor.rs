//! `pvectl doctor`: reads that show whether the target works — reachable, which PVE version,
//! nodes, guests, the task API — each reported as ok, skipped (not available with this
//! backend, e.g. `--tools qm-pct`) or failed, without changing anything.

use serde::Serialize;

use super::args::OutputFormat;
use super::output::{Table, print};
use crate::backend::{Backend, GuestFilter, TaskFilter};
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
/// # Errors
/// The first failing read's error (its exit code tells what kind).
pub(crate) async fn doctor(out: OutputFormat, b: &dyn Backend) -> Result<()> {
    let mut checks = Vec::new();
    let mut first = None;
    let v = b.version().await;
    first = first.or(record(&mut checks, "version", v, |v| format!("pve-manager {}", v.version.as_deref().unwrap_or("?"))));
    let nodes = b.nodes().await;
    let node = nodes.as_ref().ok().and_then(|n| n.first()).and_then(|n| n.node.parse().ok());
    first = first.or(record(&mut checks, "nodes", nodes, |n| {
        let online = n.iter().filter(|x| x.status.as_deref() == Some("online")).count();
        format!("{} node(s), {online} online", n.len())
    }));
    let guests = b.guests(&GuestFilter::default()).await;
    first = first.or(record(&mut checks, "guests", guests, |g| {
        let running = g.iter().filter(|x| x.status == "running").count();
        format!("{} guest(s), {running} running", g.len())
    }));
    if let Some(node) = node {
        let tasks = b.tasks(&node, &TaskFilter { limit: Some(1), ..TaskFilter::default() }).await;
        first = first.or(record(&mut checks, "tasks", tasks, |_| format!("task list of {node} readable")));
    }
    let report = serde_json::json!({ "target": b.describe(), "checks": checks });
    print(out, &report, |_| {
        let mut t = Table::new(&["CHECK", "RESULT", "DETAIL"]);
        t.row(vec!["target".into(), "ok".into(), b.describe()]);
        for c in &checks {
            t.row(vec![c.check.to_owned(), c.result.to_owned(), c.detail.clone()]);
        }
        t
    })?;
    first.map_or(Ok(()), Err)
}
