//! `pvectl backup create|list|restore|delete|jobs|missing`: vzdump backups and the jobs that
//! make them. Reads print tables with human sizes; actions run on the engine.

use serde_json::Value;

use super::Env;
use super::args::{BackupCmd, BackupMode, Compress};
use super::output::{Table, bytes, opt, print};
use super::report::act;
use crate::backend::Params;
use crate::backend::inventory::{BackupFilter, InventoryExt};
use crate::error::Result;
use crate::workflow::{BackupCreate, BackupDelete, BackupRestore};

/// Runs a `backup` command.
///
/// # Errors
/// Read errors; the engine's refusals and outcomes for create, restore and delete.
pub(crate) async fn run(env: &Env<'_>, cmd: BackupCmd) -> Result<()> {
    let (out, b, timeout) = (env.cfg.output, env.b(), env.cfg.timeout);
    match cmd {
        BackupCmd::Create { vmids, all, storage, mode, compress, notes, protected, remove, no_wait } => {
            let mut params = Params::new();
            let mut push = |k: &str, v: Option<String>| {
                if let Some(v) = v {
                    params.push((k.to_owned(), v));
                }
            };
            push("storage", storage.map(|s| s.to_string()));
            push(
                "mode",
                mode.map(|m| match m {
                    BackupMode::Snapshot => "snapshot".into(),
                    BackupMode::Suspend => "suspend".into(),
                    BackupMode::Stop => "stop".into(),
                }),
            );
            push(
                "compress",
                compress.map(|c| match c {
                    Compress::Zstd => "zstd".into(),
                    Compress::Lzo => "lzo".into(),
                    Compress::Gzip => "gzip".into(),
                    Compress::None => "0".into(),
                }),
            );
            push("notes-template", notes);
            push("protected", protected.then(|| "1".into()));
            push("remove", remove.map(|r| r.min(1).to_string()));
            act(env, &BackupCreate { vmids, all, params }, !no_wait, timeout).await
        }
        BackupCmd::List { storage, node, vmid, kind } => {
            let list = b.backups(&BackupFilter { node, storage, vmid, kind }).await?;
            print(out, &list, |list| {
                let mut t = Table::new(&["VOLID", "VMID", "KIND", "NODE", "SIZE", "CREATED", "PROTECTED", "NOTES"]);
                for e in list {
                    t.row(vec![
                        e.volid.clone(),
                        e.vmid.map_or_else(|| "-".into(), |v| v.to_string()),
                        e.kind.map_or_else(|| "-".into(), |k| k.to_string()),
                        e.node.to_string(),
                        if e.size_is_approximate() { format!("~{}", bytes(e.size())) } else { bytes(e.size()) },
                        e.ctime.map_or_else(|| "-".into(), crate::model::time::format_utc),
                        if e.is_protected() { "yes".into() } else { "no".into() },
                        opt(e.notes.as_deref()),
                    ]);
                }
                t
            })
        }
        BackupCmd::Restore { volid, vmid, force, storage, start, unique } => {
            let mut params = Params::new();
            if let Some(s) = storage {
                params.push(("storage".into(), s.to_string()));
            }
            if start {
                params.push(("start".into(), "1".into()));
            }
            if unique {
                params.push(("unique".into(), "1".into()));
            }
            act(env, &BackupRestore { volid, vmid, force, params, start }, true, timeout).await
        }
        BackupCmd::Delete { volid, force } => act(env, &BackupDelete { volid, force }, true, timeout).await,
        BackupCmd::Jobs => {
            let jobs = b.backup_jobs().await?;
            print(out, &jobs, |jobs| {
                let mut t = Table::new(&["ID", "SCHEDULE", "ENABLED", "STORAGE", "SELECTION", "NEXT RUN"]);
                for j in jobs {
                    let v = serde_json::to_value(j).unwrap_or(Value::Null);
                    let text = |k: &str| opt(crate::model::loose::value_string(&v[k]).as_deref());
                    let selection = if crate::model::loose::value_bool(&v["all"]) { "all".to_owned() } else { text("vmid") };
                    let next = v["next-run"].as_u64().map_or_else(|| "-".into(), crate::model::time::format_utc);
                    t.row(vec![text("id"), text("schedule"), text("enabled"), text("storage"), selection, next]);
                }
                t
            })
        }
        BackupCmd::Missing => {
            let missing = b.not_backed_up().await?;
            print(out, &missing, |m| {
                let mut t = Table::new(&["VMID", "KIND", "NAME"]);
                for e in m {
                    let v = serde_json::to_value(e).unwrap_or(Value::Null);
                    let text = |k: &str| opt(crate::model::loose::value_string(&v[k]).as_deref());
                    t.row(vec![text("vmid"), text("type"), text("name")]);
                }
                t
            })
        }
    }
}
