//! `pvectl storage list|content`: storages with usage per node, and what one storage holds.

use super::Env;
use super::args::StorageCmd;
use super::output::{Table, bytes, opt, percent, print, ratio, yes_no};
use crate::backend::InventoryExt;
use crate::error::{Error, Result};
use crate::model::NodeName;

/// Runs a `storage` command.
///
/// # Errors
/// The backend's read errors.
pub(crate) async fn run(env: &Env<'_>, cmd: StorageCmd) -> Result<()> {
    let (out, b) = (env.cfg.output, env.b());
    match cmd {
        StorageCmd::List { node } => {
            let s = b.storages(node.as_ref()).await?;
            print(out, &s, |s| {
                let mut t = Table::new(&["STORAGE", "NODE", "TYPE", "CONTENT", "ACTIVE", "SHARED", "USED", "TOTAL", "AVAIL", "USED%"])
                    .wide_only(&["USED%"]);
                for e in s {
                    t.row(vec![
                        e.storage.clone(),
                        e.node.clone(),
                        opt(e.storage_type.as_deref()),
                        e.content.join(","),
                        yes_no(e.active),
                        yes_no(e.shared),
                        bytes(e.used),
                        bytes(e.total),
                        bytes(e.avail),
                        percent(ratio(e.used, e.total)),
                    ]);
                }
                t
            })
        }
        StorageCmd::Content { storage, node, content } => {
            let node = if let Some(n) = node {
                n
            } else {
                // The first node, by name, that has the storage active (a shared storage
                // shows the same content everywhere).
                let all = b.storages(None).await?;
                let mut nodes: Vec<&str> =
                    all.iter().filter(|s| s.storage == storage.as_str() && s.active).map(|s| s.node.as_str()).collect();
                nodes.sort_unstable();
                let first = nodes.first().ok_or_else(|| Error::NotFound(format!("storage {storage} is not active on any node")))?;
                first.parse::<NodeName>().map_err(|e| Error::parse("node name", e))?
            };
            let items = b.storage_content(&node, &storage, content.as_deref()).await?;
            print(out, &items, |items| {
                let mut t = Table::new(&["VOLID", "CONTENT", "FORMAT", "SIZE", "VMID", "CREATED"]);
                for v in items {
                    t.row(vec![
                        v.volid.clone(),
                        opt(v.content.as_deref()),
                        opt(v.format.as_deref()),
                        bytes(v.size()),
                        v.vmid.map_or_else(|| "-".into(), |x| x.to_string()),
                        v.ctime.map_or_else(|| "-".into(), crate::model::time::format_utc),
                    ]);
                }
                t
            })
        }
    }
}
