//! The read tools: each calls the library as the matching CLI command's handler does and
//! returns that command's `-o json` document, to the byte.

use serde::Serialize;
use serde_json::Value;

use super::args;
use crate::backend::inventory::{BackupFilter, InventoryExt};
use crate::backend::{Backend, BackendExt, GuestFilter};
use crate::checks::Thresholds;
use crate::error::{Error, Result};
use crate::model::GuestRef;

/// Task-log lines `task_log` returns unless told (the CLI's default).
const DEFAULT_LOG_LIMIT: u64 = 500;

/// Pretty JSON, redacted, as the CLI prints `-o json`.
fn json<T: Serialize + ?Sized>(data: &T) -> Result<String> {
    let text = serde_json::to_string_pretty(data).map_err(|e| Error::Internal(format!("failed to serialise the result: {e}")))?;
    Ok(crate::redact::redact(&text).into_owned())
}

/// Where a guest lives: `node` with `kind` as given, else one listing finds it (as the CLI's
/// `--node`/`--kind`).
async fn locate(b: &dyn Backend, a: &args::GuestArgs) -> Result<GuestRef> {
    let vmid = args::vmid(a.vmid)?;
    let node = args::node(a.node.as_deref())?;
    let kind = a.kind.map(Into::into);
    if let (Some(node), Some(kind)) = (&node, kind) {
        return Ok(GuestRef { vmid, node: node.clone(), kind });
    }
    let r = b.locate(vmid).await?;
    if let Some(n) = node.filter(|n| *n != r.node) {
        return Err(Error::NotFound(format!("guest {vmid} is on node {}, not {n}", r.node)));
    }
    if let Some(k) = kind.filter(|k| *k != r.kind) {
        return Err(Error::NotFound(format!("guest {vmid} is {}, not {k}", r.kind)));
    }
    Ok(r)
}

/// Runs a read tool; the result is the matching CLI command's `-o json` document.
///
/// # Errors
/// `Usage` for bad arguments or an unknown tool; the backend's read errors.
pub async fn read(b: &dyn Backend, tool: &str, v: &Value, thresholds: &Thresholds) -> Result<String> {
    match tool {
        "guest_list" => {
            let a: args::GuestListArgs = args::args(tool, v)?;
            let filter = GuestFilter {
                node: args::node(a.node.as_deref())?,
                kind: a.kind.map(Into::into),
                status: a.status,
                tag: a.tag,
                pool: a.pool,
            };
            json(&b.guests(&filter).await?)
        }
        "guest_status" => json(&b.guest_status(&locate(b, &args::args(tool, v)?).await?).await?),
        "guest_config" => json(&b.guest_config(&locate(b, &args::args(tool, v)?).await?).await?),
        "snapshot_list" => json(&b.snapshots(&locate(b, &args::args(tool, v)?).await?).await?),
        "guest_diagnose" => {
            let a: args::VmidArgs = args::args(tool, v)?;
            json(&crate::workflow::diagnose(b, args::vmid(a.vmid)?).await?)
        }
        "task_list" => {
            let a: args::NodeArgs = args::args(tool, v)?;
            let all = crate::backend::InventoryExt::tasks_everywhere(b, args::node(a.node.as_deref())?.as_ref(), None).await?;
            json(&all)
        }
        "task_status" => {
            let a: args::UpidArgs = args::args(tool, v)?;
            json(&b.task_status(&args::upid(&a.upid)?).await?)
        }
        "task_log" => {
            let a: args::TaskLogArgs = args::args(tool, v)?;
            json(&b.task_log(&args::upid(&a.upid)?, a.start, a.limit.unwrap_or(DEFAULT_LOG_LIMIT)).await?)
        }
        "storage_list" => {
            let a: args::NodeArgs = args::args(tool, v)?;
            json(&b.storages(args::node(a.node.as_deref())?.as_ref()).await?)
        }
        "backup_list" => {
            let a: args::BackupListArgs = args::args(tool, v)?;
            let filter = BackupFilter {
                node: args::node(a.node.as_deref())?,
                storage: args::storage(a.storage.as_deref())?,
                vmid: a.vmid.map(args::vmid).transpose()?,
                kind: a.kind.map(Into::into),
            };
            json(&b.backups(&filter).await?)
        }
        "node_list" => {
            let _: args::NoArgs = args::args(tool, v)?;
            json(&b.nodes().await?)
        }
        "node_status" => {
            let a: args::NodeNameArgs = args::args(tool, v)?;
            let node = args::node(Some(&a.node))?.ok_or_else(|| Error::Usage("node_status needs a node".into()))?;
            json(&b.node_status(&node).await?)
        }
        "cluster_status" => {
            let _: args::NoArgs = args::args(tool, v)?;
            json(&b.cluster_status().await?)
        }
        "check" => {
            let a: args::CheckArgs = args::args(tool, v)?;
            let set = a.set.unwrap_or(crate::checks::CheckSet::All);
            json(&crate::checks::run(b, set, thresholds).await)
        }
        other => Err(Error::Usage(format!("{other} is not a read tool"))),
    }
}
