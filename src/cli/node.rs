//! `pvectl node list|status`: `GET /nodes` and `GET /nodes/{node}/status`.

use super::Env;
use super::args::NodeCmd;
use super::output::{Table, bytes, duration, opt, percent, print, ratio};
use crate::error::Result;

/// Runs a `node` command.
///
/// # Errors
/// The backend's read errors.
pub(crate) async fn run(env: &Env<'_>, cmd: NodeCmd) -> Result<()> {
    let (out, b) = (env.cfg.output, env.b());
    match cmd {
        NodeCmd::List { watch } => {
            super::watch::repeat(env, watch, || async move {
                let n = b.nodes().await?;
                print(out, &n, |n| {
                    let mut t = Table::new(&["NODE", "STATUS", "CPU", "MAXCPU", "MEM", "MAXMEM", "MEM%", "UPTIME"]).wide_only(&["MEM%"]);
                    for e in n {
                        t.row(vec![
                            e.node.clone(),
                            opt(e.status.as_deref()),
                            percent(e.cpu),
                            e.maxcpu.map_or_else(|| "-".into(), |c| c.to_string()),
                            bytes(e.mem),
                            bytes(e.maxmem),
                            percent(ratio(e.mem, e.maxmem)),
                            duration(e.uptime),
                        ]);
                    }
                    t
                })
            })
            .await
        }
        NodeCmd::Status { node } => {
            let s = b.node_status(&node).await?;
            print(out, &s, |s| {
                let mut t = Table::new(&["KEY", "VALUE"]);
                let kv = [
                    ("node", s.node.clone()),
                    ("uptime", duration(s.uptime)),
                    ("cpu", percent(s.cpu)),
                    ("cpus", s.cpuinfo.cpus.map_or_else(|| "-".into(), |c| c.to_string())),
                    ("cpu model", opt(s.cpuinfo.model.as_deref())),
                    ("loadavg", s.loadavg.join(" ")),
                    ("memory", format!("{} / {}", bytes(s.memory.used), bytes(s.memory.total))),
                    ("swap", format!("{} / {}", bytes(s.swap.used), bytes(s.swap.total))),
                    ("rootfs", format!("{} / {}", bytes(s.rootfs.used), bytes(s.rootfs.total))),
                    ("kernel", opt(s.kversion.as_deref())),
                    ("pveversion", opt(s.pveversion.as_deref())),
                ];
                for (k, v) in kv {
                    t.row(vec![k.to_owned(), v]);
                }
                t
            })
        }
    }
}
