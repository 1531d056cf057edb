//! Command handlers: one read each, typed results printed as a table or JSON.

use serde_json::Value;

use super::args::{ApiCmd, ClusterCmd, GuestCmd, Locate, NodeCmd, Noun, SnapshotCmd, StorageCmd, TaskCmd};
use super::config::Config;
use super::output::{Table, bytes, duration, opt, percent, print};
use crate::backend::{Backend, BackendExt, GuestFilter, Method, Params};
use crate::error::{Error, Result};
use crate::model::{Guest, GuestRef, Vmid};

/// Runs one command against an open backend.
///
/// # Errors
/// Whatever the backend reports; `Usage` for malformed `key=value` parameters.
#[expect(clippy::too_many_lines, reason = "one arm per command, each a read and its table")]
pub(crate) async fn dispatch(cfg: &Config, b: &dyn Backend, cmd: Noun) -> Result<()> {
    let out = cfg.output;
    match cmd {
        Noun::Cluster(ClusterCmd::Status) => {
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
        }
        Noun::Cluster(ClusterCmd::Resources { resource_type }) => {
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
        Noun::Node(NodeCmd::List) => {
            let n = b.nodes().await?;
            print(out, &n, |n| {
                let mut t = Table::new(&["NODE", "STATUS", "CPU", "MAXCPU", "MEM", "MAXMEM", "UPTIME"]);
                for e in n {
                    t.row(vec![
                        e.node.clone(),
                        opt(e.status.as_deref()),
                        percent(e.cpu),
                        e.maxcpu.map_or_else(|| "-".into(), |c| c.to_string()),
                        bytes(e.mem),
                        bytes(e.maxmem),
                        duration(e.uptime),
                    ]);
                }
                t
            })
        }
        Noun::Node(NodeCmd::Status { node }) => {
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
        Noun::Guest(GuestCmd::List { node, kind, status }) => {
            let g = b.guests(&GuestFilter { node, kind, status }).await?;
            print(out, &g, |g| guest_table(g))
        }
        Noun::Guest(GuestCmd::Status { vmid, at }) => {
            let r = locate(b, vmid, &at).await?;
            let s = b.guest_status(&r).await?;
            print(out, &s, |s| {
                let mut t = Table::new(&["KEY", "VALUE"]);
                let kv = [
                    ("vmid", s.vmid.to_string()),
                    ("name", opt(s.name.as_deref())),
                    ("node", s.node.to_string()),
                    ("kind", s.kind.to_string()),
                    ("status", s.status.clone()),
                    ("qmpstatus", opt(s.qmpstatus.as_deref())),
                    ("cpu", percent(s.cpu)),
                    ("cpus", s.cpus.map_or_else(|| "-".into(), |c| c.to_string())),
                    ("mem", format!("{} / {}", bytes(s.mem), bytes(s.maxmem))),
                    ("disk", format!("{} / {}", bytes(s.disk), bytes(s.maxdisk))),
                    ("uptime", duration(s.uptime)),
                    ("pid", s.pid.map_or_else(|| "-".into(), |p| p.to_string())),
                    ("lock", opt(s.lock.as_deref())),
                    ("template", yes_no(s.template)),
                    ("tags", s.tags.join(";")),
                    ("ha", opt(s.ha_state.as_deref())),
                ];
                for (k, v) in kv {
                    t.row(vec![k.to_owned(), v]);
                }
                t
            })
        }
        Noun::Guest(GuestCmd::Config { vmid, at }) => {
            let r = locate(b, vmid, &at).await?;
            let c = b.guest_config(&r).await?;
            print(out, &c, |c| {
                let mut t = Table::new(&["KEY", "VALUE"]);
                for (k, v) in &c.entries {
                    t.row(vec![k.clone(), v.clone()]);
                }
                t
            })
        }
        Noun::Snapshot(SnapshotCmd::List { vmid, at }) => {
            let r = locate(b, vmid, &at).await?;
            let s = b.snapshots(&r).await?;
            print(out, &s, |s| {
                let mut t = Table::new(&["NAME", "PARENT", "SNAPTIME", "VMSTATE", "DESCRIPTION"]);
                for e in s {
                    t.row(vec![
                        e.name.clone(),
                        opt(e.parent.as_deref()),
                        e.snaptime.map_or_else(|| "-".into(), crate::model::time::format_utc),
                        yes_no(e.vmstate),
                        e.description.lines().next().unwrap_or("").to_owned(),
                    ]);
                }
                t
            })
        }
        Noun::Task(TaskCmd::List { node }) => {
            let nodes = match node {
                Some(n) => vec![n],
                None => b
                    .nodes()
                    .await?
                    .into_iter()
                    .filter(|n| n.status.as_deref() != Some("offline"))
                    .map(|n| n.node.parse().map_err(|e| Error::parse("node name", e)))
                    .collect::<Result<_>>()?,
            };
            let mut all = Vec::new();
            for n in &nodes {
                all.extend(b.tasks(n, &crate::backend::TaskFilter::default()).await?);
            }
            all.sort_by_key(|t| std::cmp::Reverse(t.starttime));
            print(out, &all, |all| {
                let mut t = Table::new(&["UPID", "TYPE", "ID", "USER", "START", "STATUS"]);
                for e in all {
                    t.row(vec![
                        e.upid.to_string(),
                        opt(e.task_type.as_deref()),
                        opt(e.id.as_deref()),
                        opt(e.user.as_deref()),
                        e.starttime.map_or_else(|| "-".into(), crate::model::time::format_utc),
                        e.status.clone().unwrap_or_else(|| "running".into()),
                    ]);
                }
                t
            })
        }
        Noun::Task(TaskCmd::Status { upid }) => {
            let s = b.task_status(&upid).await?;
            print(out, &s, |s| {
                let mut t = Table::new(&["KEY", "VALUE"]);
                t.row(vec!["upid".into(), s.upid.to_string()]);
                t.row(vec!["status".into(), s.status.clone()]);
                t.row(vec!["exitstatus".into(), s.exitstatus.as_ref().map_or_else(|| "-".into(), crate::model::ExitStatus::as_text)]);
                t.row(vec!["type".into(), opt(s.task_type.as_deref())]);
                t.row(vec!["id".into(), opt(s.id.as_deref())]);
                t.row(vec!["user".into(), opt(s.user.as_deref())]);
                t
            })
        }
        Noun::Task(TaskCmd::Log { upid, start, limit, .. }) => {
            let lines = b.task_log(&upid, start, limit).await?;
            match out {
                super::args::OutputFormat::Json => print(out, &lines, |_| Table::default()),
                super::args::OutputFormat::Table => {
                    let text: String = lines.iter().flat_map(|l| [l.t.as_str(), "\n"]).collect();
                    super::output::emit(&text)
                }
            }
        }
        Noun::Storage(StorageCmd::List { node }) => {
            let s = b.storages(node.as_ref()).await?;
            print(out, &s, |s| {
                let mut t = Table::new(&["STORAGE", "NODE", "TYPE", "CONTENT", "ACTIVE", "SHARED", "USED", "TOTAL", "AVAIL"]);
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
                    ]);
                }
                t
            })
        }
        Noun::Api(ApiCmd::Get { path, params }) => {
            let params = parse_params(&params)?;
            let v = b.raw(Method::Get, &path, &params).await?;
            // JSON is the natural shape of a raw call; a table would lose structure.
            print(super::args::OutputFormat::Json, &v, |_: &Value| Table::default())
        }
        Noun::Doctor => super::doctor::doctor(out, b).await,
        cmd => Err(Error::Internal(format!("action routed to the read handler: {cmd:?}"))),
    }
}

/// Resolves where a guest lives: `--node` with `--kind` is taken as given; otherwise one
/// guest listing finds it.
async fn locate(b: &dyn Backend, vmid: Vmid, at: &Locate) -> Result<GuestRef> {
    if let (Some(node), Some(kind)) = (&at.node, at.kind) {
        return Ok(GuestRef { vmid, node: node.clone(), kind });
    }
    let r = b.locate(vmid).await?;
    if let Some(n) = at.node.as_ref().filter(|n| **n != r.node) {
        return Err(Error::NotFound(format!("guest {vmid} is on node {}, not {n}", r.node)));
    }
    if let Some(k) = at.kind.filter(|k| *k != r.kind) {
        return Err(Error::NotFound(format!("guest {vmid} is {}, not {k}", r.kind)));
    }
    Ok(r)
}

/// Parses `key=value` arguments into API parameters, in order.
///
/// # Errors
/// `Usage` for an argument without `=`.
pub fn parse_params(args: &[String]) -> Result<Params> {
    args.iter()
        .map(|a| {
            a.split_once('=')
                .map(|(k, v)| (k.trim_start_matches("--").to_owned(), v.to_owned()))
                .ok_or_else(|| Error::Usage(format!("parameter '{a}' is not key=value")))
        })
        .collect()
}

fn guest_table(g: &[Guest]) -> Table {
    let mut t =
        Table::new(&["VMID", "NAME", "NODE", "KIND", "STATUS", "CPU", "MEM", "MAXMEM", "MAXDISK", "UPTIME", "TAGS", "POOL", "LOCK"]);
    for e in g {
        let status = if e.template { format!("{} (template)", e.status) } else { e.status.clone() };
        t.row(vec![
            e.vmid.to_string(),
            opt(e.name.as_deref()),
            e.node.to_string(),
            e.kind.to_string(),
            status,
            percent(e.cpu),
            bytes(e.mem),
            bytes(e.maxmem),
            bytes(e.maxdisk),
            duration(e.uptime),
            e.tags.join(";"),
            opt(e.pool.as_deref()),
            opt(e.lock.as_deref()),
        ]);
    }
    t
}

fn yes_no(b: bool) -> String {
    if b { "yes".into() } else { "no".into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_parse_in_order_and_keep_hostile_values() {
        let p = parse_params(&["type=vm".into(), "description=a=b; $(x)".into()]).expect("valid");
        assert_eq!(p, vec![("type".into(), "vm".into()), ("description".into(), "a=b; $(x)".into())]);
        assert!(parse_params(&["novalue".into()]).is_err());
    }
}
