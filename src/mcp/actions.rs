//! The `plan_*` tools' actions: each tool's arguments made into the engine's [`Action`], as
//! the matching CLI command builds it.

use serde_json::Value;

use super::args;
use crate::backend::{Params, PowerAction};
use crate::error::{Error, Result};
use crate::workflow::{Action, BackupCreate, BackupDelete, DeleteGuest, Migrate, Power, PowerOptions, SnapshotAction, SnapshotOp, Unlock};

fn guest_opts(a: &args::GuestArgs) -> Result<PowerOptions> {
    Ok(PowerOptions { node: args::node(a.node.as_deref())?, kind: a.kind.map(Into::into), shutdown_timeout: None, force_stop: false })
}

fn snapshot(vmid: u32, node: Option<&str>, kind: Option<args::KindArg>, op: SnapshotOp) -> Result<Box<dyn Action>> {
    Ok(Box::new(SnapshotAction { vmid: args::vmid(vmid)?, node: args::node(node)?, kind: kind.map(Into::into), op }))
}

fn snapshot_name(s: &str) -> Result<crate::model::SnapshotName> {
    s.parse().map_err(|e| Error::Usage(format!("invalid snapshot name {:?}: {e}", crate::model::clip(s, 80))))
}

/// The action of a `plan_*` tool with its arguments.
///
/// # Errors
/// `Usage` for bad arguments or a tool that is not a plan.
pub fn action(tool: &str, v: &Value) -> Result<Box<dyn Action>> {
    let power = |action: PowerAction| -> Result<Box<dyn Action>> {
        let a: args::GuestArgs = args::args(tool, v)?;
        Ok(Box::new(Power { vmid: args::vmid(a.vmid)?, action, opts: guest_opts(&a)? }))
    };
    match tool {
        "plan_guest_start" => power(PowerAction::Start),
        "plan_guest_reboot" => power(PowerAction::Reboot),
        "plan_guest_stop" => power(PowerAction::Stop),
        "plan_guest_reset" => power(PowerAction::Reset),
        "plan_guest_suspend" => power(PowerAction::Suspend),
        "plan_guest_resume" => power(PowerAction::Resume),
        "plan_guest_shutdown" => {
            let a: args::ShutdownArgs = args::args(tool, v)?;
            let opts = PowerOptions {
                node: args::node(a.node.as_deref())?,
                kind: a.kind.map(Into::into),
                shutdown_timeout: a.timeout,
                force_stop: a.force_stop,
            };
            Ok(Box::new(Power { vmid: args::vmid(a.vmid)?, action: PowerAction::Shutdown, opts }))
        }
        "plan_snapshot_create" => {
            let a: args::SnapshotCreateArgs = args::args(tool, v)?;
            let op = SnapshotOp::Create { name: snapshot_name(&a.name)?, description: a.description, vmstate: a.vmstate };
            snapshot(a.vmid, a.node.as_deref(), a.kind, op)
        }
        "plan_snapshot_rollback" => {
            let a: args::SnapshotRollbackArgs = args::args(tool, v)?;
            snapshot(a.vmid, a.node.as_deref(), a.kind, SnapshotOp::Rollback { name: snapshot_name(&a.name)?, start: a.start })
        }
        "plan_snapshot_delete" => {
            let a: args::SnapshotNameArgs = args::args(tool, v)?;
            snapshot(a.vmid, a.node.as_deref(), a.kind, SnapshotOp::Delete { name: snapshot_name(&a.name)? })
        }
        "plan_backup_create" => {
            let a: args::BackupCreateArgs = args::args(tool, v)?;
            if a.vmids.is_empty() {
                return Err(Error::Usage("plan_backup_create needs at least one vmid".into()));
            }
            let vmids = a.vmids.into_iter().map(args::vmid).collect::<Result<Vec<_>>>()?;
            Ok(Box::new(BackupCreate {
                vmids,
                all: false,
                params: backup_params(a.storage.as_deref(), a.mode, a.compress, a.notes, a.protected)?,
            }))
        }
        "plan_guest_migrate" => {
            let a: args::MigrateArgs = args::args(tool, v)?;
            let target = args::node(Some(&a.target))?.ok_or_else(|| Error::Usage("plan_guest_migrate needs a target node".into()))?;
            Ok(Box::new(Migrate {
                vmid: args::vmid(a.vmid)?,
                target,
                online: a.online,
                with_local_disks: a.with_local_disks,
                target_storage: args::storage(a.target_storage.as_deref())?,
                restart: a.restart,
            }))
        }
        "plan_guest_unlock" => {
            let a: args::VmidArgs = args::args(tool, v)?;
            Ok(Box::new(Unlock { vmid: args::vmid(a.vmid)? }))
        }
        "plan_guest_delete" => {
            let a: args::DeleteArgs = args::args(tool, v)?;
            Ok(Box::new(DeleteGuest {
                vmid: args::vmid(a.vmid)?,
                purge: a.purge,
                destroy_unreferenced_disks: a.destroy_unreferenced_disks,
            }))
        }
        "plan_backup_delete" => {
            let a: args::BackupDeleteArgs = args::args(tool, v)?;
            Ok(Box::new(BackupDelete { volid: a.volid, force: a.force }))
        }
        other => Err(Error::Usage(format!("{other} is not a plan tool"))),
    }
}

/// vzdump's options in the CLI's order (`storage`, `mode`, `compress`, `notes-template`,
/// `protected`).
fn backup_params(
    storage: Option<&str>,
    mode: Option<args::BackupModeArg>,
    compress: Option<args::CompressArg>,
    notes: Option<String>,
    protected: bool,
) -> Result<Params> {
    let mut p = Params::new();
    if let Some(s) = args::storage(storage)? {
        p.push(("storage".into(), s.to_string()));
    }
    if let Some(m) = mode {
        let m = match m {
            args::BackupModeArg::Snapshot => "snapshot",
            args::BackupModeArg::Suspend => "suspend",
            args::BackupModeArg::Stop => "stop",
        };
        p.push(("mode".into(), m.into()));
    }
    if let Some(c) = compress {
        let c = match c {
            args::CompressArg::Zstd => "zstd",
            args::CompressArg::Lzo => "lzo",
            args::CompressArg::Gzip => "gzip",
            args::CompressArg::None => "0",
        };
        p.push(("compress".into(), c.into()));
    }
    if let Some(n) = notes {
        p.push(("notes-template".into(), n));
    }
    if protected {
        p.push(("protected".into(), "1".into()));
    }
    Ok(p)
}
