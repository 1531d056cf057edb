//! `pvectl snapshot list|create|rollback|delete`: the list is a read; the rest are actions on
//! the engine.

use super::Env;
use super::args::{ActArgs, SnapshotCmd};
use super::guest::locate;
use super::output::{Table, opt, print, yes_no};
use super::report::act;
use crate::error::Result;
use crate::workflow::{SnapshotAction, SnapshotOp};

/// Runs a `snapshot` command.
///
/// # Errors
/// Read errors; for actions, the engine's refusals and outcomes.
pub(crate) async fn run(env: &Env<'_>, cmd: SnapshotCmd) -> Result<()> {
    let (out, b) = (env.cfg.output, env.b());
    let (a, op): (ActArgs, SnapshotOp) = match cmd {
        SnapshotCmd::List { guest, at } => {
            let r = locate(b, &guest, &at).await?;
            let s = b.snapshots(&r).await?;
            return print(out, &s, |s| {
                let mut t = Table::new(&["NAME", "PARENT", "SNAPTIME", "VMSTATE", "DESCRIPTION"]);
                for e in s {
                    t.row(vec![
                        e.name.clone(),
                        opt(e.parent.as_deref()),
                        e.snaptime.map_or_else(|| "-".into(), crate::model::time::format_utc),
                        yes_no(e.vmstate),
                        // The first line, or with `-o wide` every line.
                        if super::output::wide() {
                            e.description.lines().collect::<Vec<_>>().join(" / ")
                        } else {
                            e.description.lines().next().unwrap_or("").to_owned()
                        },
                    ]);
                }
                t
            });
        }
        SnapshotCmd::Create { act, name, description, vmstate, change, prefix, template } => {
            let name = if let Some(n) = name {
                n
            } else {
                // An empty variable (`PVECTL_SNAPSHOT_TEMPLATE=`) is no setting.
                let given = |v: Option<String>| v.filter(|v| !v.is_empty());
                env.cfg.naming.clone().overridden(given(template), given(prefix)).generate(change.as_deref(), now())?
            };
            (act, SnapshotOp::Create { name, description, vmstate })
        }
        SnapshotCmd::Rollback { act, name, start } => (act, SnapshotOp::Rollback { name, start }),
        SnapshotCmd::Delete { act, name } => (act, SnapshotOp::Delete { name }),
    };
    let action = SnapshotAction { vmid: a.vmid, node: a.at.node.clone(), kind: a.at.kind, op };
    act(env, &action, !a.no_wait, env.cfg.timeout).await
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
