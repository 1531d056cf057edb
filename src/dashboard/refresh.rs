//! The refresher: one task per target that reads it every `--refresh` seconds under the read
//! deadline and replaces its snapshot. It is the only code that reads a target on a timer;
//! however many pages are open, a target gets one guest listing per interval.

use std::sync::Arc;
use std::time::Instant;

use super::server::OpenTarget;
use super::state::{CheckEvent, MAX_HISTORY, Shared, TargetData, TargetSnapshot, now};
use crate::backend::{Backend, GuestFilter, TaskFilter};
use crate::checks::{CheckSet, Report, Thresholds};
use crate::error::Error;
use crate::model::NodeName;
use crate::safety::policy::TierName;
use crate::safety::{Guarded, PolicyRules};

/// Tasks read per node and refresh.
const TASKS_PER_NODE: u64 = 20;

/// The check sets a refresh runs: those that read no guest (the guest listing is read once,
/// by the refresh itself) and no per-guest state.
const SETS: [CheckSet; 3] = [CheckSet::Cluster, CheckSet::Nodes, CheckSet::Storage];

/// Runs target `idx`'s refresher forever: opens the target (again after a failure to open),
/// then reads it every interval.
pub(crate) async fn run(shared: Arc<Shared>, idx: usize, open: OpenTarget, thresholds: Thresholds) {
    let mut tick = tokio::time::interval(shared.refresh);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let slot = &shared.slots[idx];
    loop {
        tick.tick().await;
        let began = Instant::now();
        let outcome = tokio::time::timeout(shared.deadline, async {
            let backend = if let Some(b) = slot.backend() {
                b
            } else {
                let raw = open().await?;
                let audit = || crate::safety::AuditLog::from_env().with_face("dashboard");
                let ro = PolicyRules { max_tier: Some(TierName::Read), ..PolicyRules::default() };
                let b: Arc<dyn Backend> = Arc::new(Guarded::new(raw.clone(), ro, audit()));
                if shared.actions.is_some() {
                    let actor = Arc::new(Guarded::new(raw, slot.policy.clone(), audit()));
                    *slot.actor.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(actor);
                }
                *slot.backend.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(b.clone());
                b
            };
            read(backend.as_ref(), &thresholds).await
        })
        .await
        .unwrap_or_else(|_| {
            Err(Error::Transport {
                message: format!("the refresh took longer than the {} s read deadline", shared.deadline.as_secs()),
                source: None,
            })
        });
        if matches!(outcome, Err(Error::Transport { .. })) {
            // The connection may be gone (an SSH master, a TLS session): open it again next time.
            let old = slot.backend.write().unwrap_or_else(std::sync::PoisonError::into_inner).take();
            slot.actor.write().unwrap_or_else(std::sync::PoisonError::into_inner).take();
            if let Some(b) = old {
                let _ = tokio::time::timeout(shared.deadline, b.close()).await;
            }
        }
        let took_ms = u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX);
        store(&shared, idx, outcome, took_ms);
    }
}

/// Replaces target `idx`'s snapshot, bumping its version when the content changed, and
/// records check state changes.
fn store(shared: &Shared, idx: usize, outcome: crate::Result<TargetData>, took_ms: u64) {
    let slot = &shared.slots[idx];
    let old = slot.current();
    let (data, error) = match outcome {
        Ok(d) => (Some(d), None),
        Err(e) => (old.data.clone(), Some(crate::model::clip(&crate::redact::redact(&e.to_string()), 300))),
    };
    let fingerprint = |d: &Option<TargetData>, e: &Option<String>| serde_json::to_string(&(d, e)).unwrap_or_default();
    let same = old.refreshed.is_some() && fingerprint(&old.data, &old.error) == fingerprint(&data, &error);
    if error.is_none() {
        let before = old.data.as_ref().and_then(|d| d.checks.as_ref());
        if let Some(now_report) = data.as_ref().and_then(|d| d.checks.as_ref()) {
            record_changes(shared, &slot.name, before, now_report);
        }
    }
    let next = TargetSnapshot {
        target: slot.name.clone(),
        version: if same { old.version } else { old.version + 1 },
        refreshes: old.refreshes + 1,
        refreshed: Some(now()),
        took_ms,
        data,
        error,
    };
    *slot.snapshot.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(next);
    if !same {
        shared.changed.send_modify(|v| *v += 1);
    }
}

fn record_changes(shared: &Shared, target: &str, before: Option<&Report>, now_report: &Report) {
    let changes = crate::checks::changes(before, now_report);
    if changes.is_empty() {
        return;
    }
    let mut h = shared.history.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let t = now();
    for c in changes {
        h.push(CheckEvent {
            time: t,
            target: target.to_owned(),
            change: c.change,
            previous: c.previous,
            severity: c.finding.severity,
            check: c.finding.check,
            subject: c.finding.subject,
            message: c.finding.message,
        });
    }
    let excess = h.len().saturating_sub(MAX_HISTORY);
    h.drain(..excess);
}

/// One refresh: `GET /version` (its failure fails the refresh: the target is unreachable),
/// then the cluster status, the one guest listing, nodes, storages, recent tasks per online
/// node and the cheap check sets; a failure of those is noted in `problems`.
async fn read(b: &dyn Backend, thresholds: &Thresholds) -> crate::Result<TargetData> {
    let version = b.version().await?;
    let mut d = TargetData { pve_version: version.version, ..TargetData::default() };
    let mut problem = |what: &str, e: &Error| {
        d.problems.push(crate::model::clip(&format!("{what}: {}", crate::redact::redact(&e.to_string())), 200));
    };
    let status = b.cluster_status().await;
    let guests = b.guests(&GuestFilter::default()).await;
    let nodes = b.nodes().await;
    let storages = b.storages(None).await;
    match status {
        Ok(entries) => {
            if let Some(c) = entries.iter().find(|e| e.entry_type == "cluster") {
                d.cluster.clone_from(&c.name);
                d.quorate = c.quorate.map(|q| q == 1);
            }
        }
        Err(e) => problem("cluster status", &e),
    }
    match guests {
        Ok(g) => d.guests = g,
        Err(e) => problem("guests", &e),
    }
    match storages {
        Ok(s) => d.storages = s,
        Err(e) => problem("storages", &e),
    }
    match nodes {
        Ok(n) => d.nodes = n,
        Err(e) => problem("nodes", &e),
    }
    let filter = TaskFilter { source: Some("all"), limit: Some(TASKS_PER_NODE), ..TaskFilter::default() };
    let online: Vec<NodeName> =
        d.nodes.iter().filter(|n| n.status.as_deref() == Some("online")).filter_map(|n| n.node.parse().ok()).collect();
    let mut tasks = Vec::new();
    let mut task_errors = Vec::new();
    for node in &online {
        match b.tasks(node, &filter).await {
            Ok(t) => tasks.extend(t),
            Err(e) => task_errors.push((node.to_string(), e)),
        }
    }
    for (node, e) in task_errors {
        problem(&format!("tasks of {node}"), &e);
    }
    tasks.sort_by_key(|t| std::cmp::Reverse(t.starttime));
    let rrd_params: crate::backend::Params = vec![("timeframe".into(), "hour".into()), ("cf".into(), "AVERAGE".into())];
    let mut rrd_errors = Vec::new();
    for node in &online {
        match b.raw(crate::backend::Method::Get, &format!("/nodes/{node}/rrddata"), &rrd_params).await {
            Ok(v) => d.history.push(super::state::NodeHistory::from_rrd(node.as_str(), &v)),
            Err(e) => rrd_errors.push((node.to_string(), e)),
        }
    }
    for (node, e) in rrd_errors {
        problem(&format!("rrddata of {node}"), &e);
    }
    d.tasks = tasks;
    let mut findings = Vec::new();
    for set in SETS {
        findings.extend(crate::checks::run(b, set, thresholds).await.findings);
    }
    d.checks = Some(Report::new("dashboard", findings));
    Ok(d)
}
