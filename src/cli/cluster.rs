//! `pvectl cluster status|resources`: `GET /cluster/status` and `GET /cluster/resources`.

use super::Env;
use super::args::ClusterCmd;
use super::output::{Table, bytes, opt, percent, print};
use crate::error::Result;

/// Runs a `cluster` command.
///
/// # Errors
/// The backend's read errors.
pub(crate) async fn run(env: &Env<'_>, cmd: ClusterCmd) -> Result<()> {
    let (out, b) = (env.cfg.output, env.b());
    match cmd {
        ClusterCmd::Status { watch } => {
            super::watch::repeat(env, watch, || async move {
                let s = b.cluster_status().await?;
                print(out, &s, |s| {
                    let mut t = Table::new(&["TYPE", "NAME", "ID", "ONLINE", "NODES", "QUORATE", "IP"]);
                    for e in s {
                        let flag = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |n| if n > 0 { "yes".into() } else { "no".into() });
                        t.row(vec![
                            e.entry_type.clone(),
                            opt(e.name.as_deref()),
                            opt(e.id.as_deref()),
                            flag(e.online),
                            e.nodes.map_or_else(|| "-".into(), |n| n.to_string()),
                            flag(e.quorate),
                            opt(e.ip.as_deref()),
                        ]);
                    }
                    t
                })
            })
            .await
        }
        ClusterCmd::Resources { resource_type } => {
            let r = b.cluster_resources(resource_type).await?;
            print(out, &r, |r| {
                let mut t = Table::new(&["ID", "TYPE", "NODE", "STATUS", "NAME", "CPU", "MEM", "MAXMEM", "DISK", "MAXDISK"]);
                for e in r {
                    t.row(vec![
                        e.id.clone(),
                        e.resource_type.clone(),
                        opt(e.node.as_deref()),
                        opt(e.status.as_deref()),
                        opt(e.name.as_deref().or(e.storage.as_deref())),
                        percent(e.cpu),
                        bytes(e.mem),
                        bytes(e.maxmem),
                        bytes(e.disk),
                        bytes(e.maxdisk),
                    ]);
                }
                t
            })
        }
    }
}
