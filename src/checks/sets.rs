//! The check sets: which reads each one makes (together, see `join`) and how it judges them.
//!
//! A read that fails makes an UNKNOWN finding naming what could not be read, except that a
//! transport failure of a node's own read (595 `No route to host` from pveproxy, the
//! unreachable-node answer of `pvesh`) is that node being offline: CRITICAL. A read the
//! backend does not offer (`Unsupported`, e.g. `--tools qm-pct`) is left out.

use std::future::Future;
use std::pin::Pin;
use std::time::{SystemTime, UNIX_EPOCH};

use super::join::join_all;
use super::node_health::NodeList;
use super::{Finding, Limit, Perf, Report, Severity, Thresholds};
use crate::backend::{Backend, BackupFilter, GuestFilter, InventoryExt, TaskFilter};
use crate::error::Error;
use crate::model::{ExitStatus, Guest, GuestKind, NodeName};

/// A named group of checks (`pvectl check SET`, the MCP `check` tool's `set`: lowercase names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckSet {
    /// Quorum, offline nodes, HA resources in error or fence.
    Cluster,
    /// CPU, memory, swap, root fs and load of every online node.
    Nodes,
    /// Guests expected running but not, locked guests, guest memory, silent agents.
    Guests,
    /// Storage usage and inactive storages.
    Storage,
    /// Guests without a backup job, old backups, backup jobs whose last run failed.
    Backups,
    /// Failed tasks in the last `task-hours`.
    Tasks,
    /// Days each node's certificates have left (`cert-days`).
    Certs,
    /// Failed services of every node.
    Services,
    /// Pending package updates of every node (`updates`; needs `Sys.Modify`, not in `all`).
    Updates,
    /// SMART health and SSD wearout of every node's disks (`disk-wear`).
    Disks,
    /// Replication jobs that fail (`replication-fails`).
    Replication,
    /// ZFS pool health of every node.
    Zfs,
    /// Ceph health (not applicable without Ceph).
    Ceph,
    /// Age of each guest's oldest snapshot (`snapshot-age`; one read per guest, not in `all`).
    Snapshots,
    /// Every set above but `updates` and `snapshots`.
    All,
}

impl CheckSet {
    /// The set's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cluster => "cluster",
            Self::Nodes => "nodes",
            Self::Guests => "guests",
            Self::Storage => "storage",
            Self::Backups => "backups",
            Self::Tasks => "tasks",
            Self::Certs => "certs",
            Self::Services => "services",
            Self::Updates => "updates",
            Self::Disks => "disks",
            Self::Replication => "replication",
            Self::Zfs => "zfs",
            Self::Ceph => "ceph",
            Self::Snapshots => "snapshots",
            Self::All => "all",
        }
    }
}

pub(super) type Fut<'a> = Pin<Box<dyn Future<Output = Vec<Finding>> + Send + 'a>>;

/// Runs one check set against `b`; the sets of `all` run together.
pub async fn run(b: &dyn Backend, set: CheckSet, t: &Thresholds) -> Report {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let sets: Vec<CheckSet> = match set {
        // `updates` needs `Sys.Modify` (a read-only monitoring token would make `all` UNKNOWN)
        // and `snapshots` reads every guest: both only when asked for.
        CheckSet::All => vec![
            CheckSet::Cluster,
            CheckSet::Nodes,
            CheckSet::Guests,
            CheckSet::Storage,
            CheckSet::Backups,
            CheckSet::Tasks,
            CheckSet::Certs,
            CheckSet::Services,
            CheckSet::Disks,
            CheckSet::Replication,
            CheckSet::Zfs,
            CheckSet::Ceph,
        ],
        s => vec![s],
    };
    // One `GET /nodes` for every set that needs the node list.
    let nodes = NodeList::new(b);
    let nodes = &nodes;
    let futs: Vec<Fut<'_>> = sets
        .into_iter()
        .map(|s| -> Fut<'_> {
            match s {
                CheckSet::Cluster => Box::pin(cluster(b)),
                CheckSet::Nodes => Box::pin(super::nodes::nodes(b, nodes, t)),
                CheckSet::Guests => Box::pin(guests(b, t)),
                CheckSet::Storage => Box::pin(storage(b, nodes, t)),
                CheckSet::Backups => Box::pin(async move {
                    let (mut guests, runs) = tokio::join!(backups(b, t, now), super::backup_runs::last_runs(b, nodes));
                    guests.extend(runs);
                    guests
                }),
                CheckSet::Tasks | CheckSet::All => Box::pin(tasks(b, nodes, t, now)),
                CheckSet::Certs => Box::pin(super::node_health::certs(b, nodes, t, now)),
                CheckSet::Services => Box::pin(super::node_health::services(b, nodes)),
                CheckSet::Updates => Box::pin(super::node_health::updates(b, nodes, t)),
                CheckSet::Disks => Box::pin(super::node_health::disks(b, nodes, t)),
                CheckSet::Replication => Box::pin(super::pools::replication(b, nodes, t, now)),
                CheckSet::Zfs => Box::pin(super::pools::zfs(b, nodes)),
                CheckSet::Ceph => Box::pin(super::pools::ceph(b)),
                CheckSet::Snapshots => Box::pin(super::snapshots::snapshots(b, t, now)),
            }
        })
        .collect();
    // `all` reads some things twice (an offline node in `cluster` and `nodes`): once is enough.
    let mut seen = std::collections::HashSet::new();
    let mut findings: Vec<Finding> =
        join_all(futs).await.into_iter().flatten().filter(|f| seen.insert((f.check.clone(), f.subject.clone()))).collect();
    // Nor does a node `cluster` reports offline need a "not checked" from every per-node set.
    let offline: std::collections::HashSet<String> =
        findings.iter().filter(|f| f.check == "node-online" && f.severity == Severity::Critical).map(|f| f.subject.clone()).collect();
    findings.retain(|f| !(f.message == super::node_health::NOT_CHECKED && offline.contains(&f.subject)));
    Report::new(set.name(), findings)
}

/// The finding for a read that failed: offline node, skipped, or unknown.
pub(super) fn failed(check: &str, subject: &str, what: &str, e: &Error) -> Option<Finding> {
    match e {
        Error::Unsupported { .. } => None,
        Error::Transport { .. } => Some(Finding::new(check, Severity::Critical, subject, format!("{what} unreachable: {e}"))),
        e => Some(Finding::new(check, Severity::Unknown, subject, format!("cannot read {what}: {e}"))),
    }
}

pub(super) fn pct(used: Option<u64>, total: Option<u64>) -> Option<f64> {
    match (used, total) {
        #[expect(clippy::cast_precision_loss, reason = "a percentage needs no more than f64's 52 bits")]
        (Some(u), Some(t)) if t > 0 => Some(u as f64 * 100.0 / t as f64),
        _ => None,
    }
}

/// A measured finding with performance data.
pub(super) fn measured(check: &str, subject: &str, label: &str, what: &str, value: f64, limit: Limit, uom: &str) -> Finding {
    let (severity, threshold) = limit.judge(value);
    let scale = if uom == "%" { 10.0 } else { 100.0 };
    let shown = (value * scale).round() / scale;
    let mut f = Finding::new(check, severity, subject, format!("{what} {shown}{uom}"));
    if severity != Severity::Ok {
        let cmp = if limit.low { "<=" } else { ">=" };
        f.message = format!("{what} {shown}{uom} ({cmp} {threshold}{uom})");
    }
    f.value = Some(value);
    f.threshold = Some(threshold);
    let max = (uom == "%").then_some(100.0);
    f.perfdata = Some(Perf {
        label: label.to_owned(),
        value,
        uom: uom.to_owned(),
        warn: Some(limit.warn),
        crit: Some(limit.crit),
        min: Some(0.0),
        max,
        low: limit.low,
    });
    f
}

async fn cluster(b: &dyn Backend) -> Vec<Finding> {
    let (status, ha) = tokio::join!(b.cluster_status(), b.ha_status());
    let mut out = Vec::new();
    match status {
        Ok(entries) => {
            for e in &entries {
                let name = e.name.clone().unwrap_or_default();
                if e.entry_type == "cluster" {
                    let quorate = e.quorate != Some(0);
                    let sev = if quorate { Severity::Ok } else { Severity::Critical };
                    out.push(Finding::new("cluster-quorum", sev, "cluster", if quorate { "quorate" } else { "quorum lost" }));
                } else if e.entry_type == "node" {
                    let online = e.online != Some(0);
                    let sev = if online { Severity::Ok } else { Severity::Critical };
                    out.push(Finding::new("node-online", sev, name.clone(), if online { "online" } else { "node offline" }));
                }
            }
        }
        Err(e) => out.extend(failed("cluster-status", "cluster", "cluster status", &e)),
    }
    match ha {
        Ok(entries) => {
            for s in entries.iter().filter(|s| s.entry_type == "service") {
                let state = s.state.clone().unwrap_or_default();
                if state == "error" || state == "fence" {
                    let sid = s.sid.clone().unwrap_or_else(|| s.id.clone());
                    out.push(Finding::new("ha-resource", Severity::Critical, sid, format!("HA resource in state {state}")));
                }
            }
        }
        Err(e) if !matches!(e, Error::PermissionDenied(_)) => out.extend(failed("ha-status", "cluster", "HA status", &e)),
        Err(_) => {}
    }
    out
}

fn subject(g: &Guest) -> String {
    format!("{}/{}", g.kind.as_str(), g.vmid)
}

fn agent_enabled(v: &str) -> bool {
    let first = v.split(',').next().unwrap_or("");
    first == "1" || v.split(',').any(|p| p == "enabled=1")
}

async fn guests(b: &dyn Backend, t: &Thresholds) -> Vec<Finding> {
    let all = GuestFilter::default();
    let (list, ha) = tokio::join!(b.guests(&all), b.ha_resources());
    let list = match list {
        Ok(l) => l,
        Err(e) => return failed("guests", "cluster", "guest list", &e).into_iter().collect(),
    };
    let running = running_tasks(b, &list).await;
    let ha_started: Vec<u32> = ha
        .unwrap_or_default()
        .iter()
        .filter(|r| r.state.as_deref() == Some("started"))
        .filter_map(crate::model::HaResource::vmid)
        .collect();
    let mut out = Vec::new();
    let mut futs: Vec<Fut<'_>> = Vec::new();
    for g in list.into_iter().filter(|g| !g.template) {
        let subj = subject(&g);
        if let Some(lock) = &g.lock {
            let vmid = g.vmid.to_string();
            let task = running.iter().find(|t| {
                t.node.as_deref() == Some(g.node.as_str())
                    && (t.id.as_deref() == Some(vmid.as_str()) || (lock == "backup" && t.task_type.as_deref() == Some("vzdump")))
            });
            let (severity, message) = match task {
                Some(t) => (Severity::Ok, format!("locked ({lock}) by running task {}", t.upid)),
                None => (Severity::Warning, format!("locked ({lock}) with no task running")),
            };
            out.push(Finding::new("guest-locked", severity, subj.clone(), message));
        }
        if g.status == "running"
            && let Some(p) = pct(g.mem, g.maxmem)
        {
            out.push(measured("guest-memory", &subj, &format!("mem_{}", g.vmid), "memory", p, t.get("guest-mem"), "%"));
        }
        if g.status == "unknown" {
            out.push(Finding::new("guest-status", Severity::Unknown, subj, format!("status unknown: node {} does not report", g.node)));
            continue;
        }
        let ha = ha_started.contains(&g.vmid.get());
        let wanted = g.status != "running" || g.kind == GuestKind::Qemu;
        if !wanted {
            continue;
        }
        futs.push(Box::pin(async move {
            let r = g.guest_ref();
            let cfg = match b.guest_config(&r).await {
                Ok(c) => c,
                Err(e) if g.status != "running" && ha => {
                    return vec![Finding::new(
                        "guest-expected-running",
                        Severity::Critical,
                        subj,
                        format!("HA state started but {}; config unreadable: {e}", g.status),
                    )];
                }
                Err(e) => return failed("guest-config", &subj, "guest config", &e).into_iter().collect(),
            };
            let onboot = cfg.get("onboot") == Some("1");
            if g.status != "running" {
                if onboot || ha {
                    let why = if ha { "HA state started" } else { "onboot=1" };
                    return vec![Finding::new("guest-expected-running", Severity::Critical, subj, format!("{why} but {}", g.status))];
                }
                return Vec::new();
            }
            if cfg.get("agent").is_some_and(agent_enabled)
                && let Err(e) = b.agent(&r, "ping").await
                && !matches!(e, Error::Unsupported { .. })
            {
                return vec![Finding::new("guest-agent", Severity::Warning, subj, format!("agent: 1 but the agent does not answer: {e}"))];
            }
            Vec::new()
        }));
    }
    out.extend(join_all(futs).await.into_iter().flatten());
    out
}

/// The running tasks of the nodes that hold a locked guest.
async fn running_tasks(b: &dyn Backend, guests: &[Guest]) -> Vec<crate::model::Task> {
    let mut nodes: Vec<NodeName> = guests.iter().filter(|g| g.lock.is_some()).map(|g| g.node.clone()).collect();
    nodes.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    nodes.dedup();
    let futs: Vec<Pin<Box<dyn Future<Output = Vec<crate::model::Task>> + Send + '_>>> = nodes
        .into_iter()
        .map(|n| -> Pin<Box<dyn Future<Output = Vec<crate::model::Task>> + Send + '_>> {
            Box::pin(async move { b.tasks(&n, &TaskFilter { source: Some("active"), ..TaskFilter::default() }).await.unwrap_or_default() })
        })
        .collect();
    join_all(futs).await.into_iter().flatten().collect()
}

async fn storage(b: &dyn Backend, nodes: &NodeList<'_>, t: &Thresholds) -> Vec<Finding> {
    let (list, nodes) = tokio::join!(b.storages(None), nodes.get());
    let offline: Vec<String> =
        nodes.unwrap_or_default().into_iter().filter(|n| n.status.as_deref().is_some_and(|s| s != "online")).map(|n| n.node).collect();
    let list = match list {
        Ok(l) => l,
        Err(e) => return failed("storage", "cluster", "storage list", &e).into_iter().collect(),
    };
    let mut out = Vec::new();
    for s in list.iter().filter(|s| !offline.contains(&s.node)) {
        let subj = format!("{}@{}", s.storage, s.node);
        if !s.active {
            out.push(Finding::new("storage-active", Severity::Critical, subj, "storage inactive"));
            continue;
        }
        if let Some(p) = pct(s.used, s.total) {
            out.push(measured("storage-usage", &subj, &format!("storage_{subj}"), "used", p, t.get("storage"), "%"));
        }
    }
    out
}

async fn backups(b: &dyn Backend, t: &Thresholds, now: u64) -> Vec<Finding> {
    let (every, all) = (BackupFilter::default(), GuestFilter::default());
    let (missing, list, guests, ha) = tokio::join!(b.not_backed_up(), b.backups(&every), b.guests(&all), b.ha_resources());
    let mut out = Vec::new();
    let guests = match guests {
        Ok(g) => g,
        Err(e) => return failed("backups", "cluster", "guest list", &e).into_iter().collect(),
    };
    let ha: Vec<u32> = ha
        .unwrap_or_default()
        .iter()
        .filter(|r| r.state.as_deref() != Some("ignored"))
        .filter_map(crate::model::HaResource::vmid)
        .collect();
    match missing {
        Ok(m) => {
            // Which guests need a backup is site policy; the ones the cluster is told to keep
            // running (onboot=1 or HA-managed) without any backup job are a warning.
            let futs: Vec<Fut<'_>> = m
                .into_iter()
                .filter_map(|m| guests.iter().find(|g| g.vmid == m.vmid && !g.template).cloned())
                .map(|g| -> Fut<'_> {
                    let managed = ha.contains(&g.vmid.get());
                    Box::pin(async move {
                        let onboot = b.guest_config(&g.guest_ref()).await.ok().is_some_and(|c| c.get("onboot") == Some("1"));
                        if !(managed || onboot) {
                            return Vec::new();
                        }
                        let why = if managed { "HA-managed" } else { "onboot=1" };
                        vec![Finding::new("backup-job", Severity::Warning, subject(&g), format!("{why} but not in any backup job"))]
                    })
                })
                .collect();
            out.extend(join_all(futs).await.into_iter().flatten());
        }
        Err(e) => out.extend(failed("backup-job", "cluster", "guests without a backup job", &e)),
    }
    let limit = t.get("backup-age");
    if limit.warn <= 0.0 {
        return out;
    }
    let list = match list {
        Ok(l) => l,
        Err(e) => {
            out.extend(failed("backup-age", "cluster", "backups", &e));
            return out;
        }
    };
    for g in guests.iter().filter(|g| !g.template) {
        let newest = list.iter().filter(|b| b.vmid == Some(g.vmid)).filter_map(|b| b.ctime).max();
        if let Some(ctime) = newest {
            #[expect(clippy::cast_precision_loss, reason = "an age in seconds fits f64")]
            let days = now.saturating_sub(ctime) as f64 / 86_400.0;
            let subj = subject(g);
            out.push(measured("backup-age", &subj, &format!("backup_age_{}", g.vmid), "last backup days ago", days, limit, ""));
        }
    }
    out
}

async fn tasks(b: &dyn Backend, nodes: &NodeList<'_>, t: &Thresholds, now: u64) -> Vec<Finding> {
    let list = match nodes.get().await {
        Ok(l) => l,
        Err(e) => return failed("tasks", "cluster", "node list", &e).into_iter().collect(),
    };
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a validated, non-negative window in hours")]
    let since = now.saturating_sub((t.get("task-hours").warn * 3600.0) as u64);
    let online: Vec<NodeName> =
        list.into_iter().filter(|n| n.status.as_deref().is_none_or(|s| s == "online")).filter_map(|n| n.node.parse().ok()).collect();
    let futs: Vec<Fut<'_>> = online
        .into_iter()
        .map(|n| -> Fut<'_> {
            Box::pin(async move {
                let filter = TaskFilter { limit: Some(500), ..TaskFilter::default() };
                match b.tasks(&n, &filter).await {
                    Ok(ts) => ts
                        .into_iter()
                        .filter(|t| t.starttime.is_some_and(|s| s >= since))
                        .filter_map(|t| {
                            let status = t.status.clone()?;
                            matches!(ExitStatus::classify(&status), ExitStatus::Failed(_)).then(|| {
                                let what = format!("{} {}", t.task_type.clone().unwrap_or_default(), t.id.clone().unwrap_or_default());
                                Finding::new(
                                    "task-failed",
                                    Severity::Warning,
                                    t.upid.to_string(),
                                    format!("task {} on {n} failed: {status}", what.trim()),
                                )
                            })
                        })
                        .collect(),
                    Err(e) => failed("tasks", n.as_str(), "task list", &e).into_iter().collect(),
                }
            })
        })
        .collect();
    join_all(futs).await.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sim::{SimBackend, SimTransport};

    #[tokio::test]
    async fn the_demo_passes_every_set_with_the_default_thresholds() {
        let b = SimBackend::new(SimTransport::demo());
        let r = run(&b, CheckSet::All, &Thresholds::default()).await;
        assert_eq!(r.status, Severity::Ok, "{:#?}", r.problems());
        assert!(r.findings.iter().any(|f| f.check == "node-cpu" && f.message.contains("1h avg")));
    }
}
