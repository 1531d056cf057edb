//! `pvectl pool list|show` and `pvectl ha status|resources`: reads of pools and HA.

use super::Env;
use super::args::{HaCmd, PoolCmd};
use super::output::{Table, opt, print};
use crate::backend::InventoryExt;
use crate::error::Result;

/// Runs a `pool` command.
///
/// # Errors
/// Read errors; `NotFound` for an unknown pool.
pub(crate) async fn run(env: &Env<'_>, cmd: PoolCmd) -> Result<()> {
    let (out, b) = (env.cfg.output, env.b());
    match cmd {
        PoolCmd::List => {
            let pools = b.pools().await?;
            print(out, &pools, |pools| {
                let mut t = Table::new(&["POOL", "COMMENT"]);
                for p in pools {
                    t.row(vec![p.poolid.clone(), opt(p.comment.as_deref())]);
                }
                t
            })
        }
        PoolCmd::Show { pool } => {
            let p = b.pool(&pool).await?;
            print(out, &p, |p| {
                let mut t = Table::new(&["ID", "TYPE", "NODE", "STATUS", "NAME"]);
                for m in p.members.iter().flatten() {
                    t.row(vec![
                        m.id.clone(),
                        m.resource_type.clone(),
                        opt(m.node.as_deref()),
                        opt(m.status.as_deref()),
                        opt(m.name.as_deref().or(m.storage.as_deref())),
                    ]);
                }
                t
            })
        }
    }
}

/// Runs an `ha` command.
///
/// # Errors
/// Read errors.
pub(crate) async fn run_ha(env: &Env<'_>, cmd: HaCmd) -> Result<()> {
    let (out, b) = (env.cfg.output, env.b());
    match cmd {
        HaCmd::Status => {
            let s = b.ha_status().await?;
            print(out, &s, |s| {
                let mut t = Table::new(&["ID", "TYPE", "NODE", "STATUS"]);
                for e in s {
                    let v = serde_json::to_value(e).unwrap_or_default();
                    let text = |k: &str| opt(crate::model::loose::value_string(&v[k]).as_deref());
                    t.row(vec![text("id"), text("type"), text("node"), text("status")]);
                }
                t
            })
        }
        HaCmd::Resources => {
            let r = b.ha_resources().await?;
            print(out, &r, |r| {
                let mut t = Table::new(&["SID", "TYPE", "STATE", "GROUP"]);
                for e in r {
                    let v = serde_json::to_value(e).unwrap_or_default();
                    let text = |k: &str| opt(crate::model::loose::value_string(&v[k]).as_deref());
                    t.row(vec![text("sid"), text("type"), text("state"), text("group")]);
                }
                t
            })
        }
    }
}
