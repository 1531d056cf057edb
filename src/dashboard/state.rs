//! The dashboard's shared state: one [`TargetSnapshot`] per target, replaced whole by its
//! refresher; a version counter that `/events` follows; the check history of the dashboard's
//! lifetime.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Serialize;

use crate::backend::Backend;
use crate::checks::{Report, Severity};
use crate::model::{Guest, Node, Storage, Task};

/// What one refresh read from a target.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TargetData {
    /// PVE's version (`GET /version` `version`, e.g. `8.2.4`).
    pub pve_version: Option<String>,
    /// The cluster's name (`GET /cluster/status`, entry of type `cluster`); `None` on a single node.
    pub cluster: Option<String>,
    /// Whether the cluster is quorate (`quorate` of that entry); `None` on a single node.
    pub quorate: Option<bool>,
    /// `GET /nodes`.
    pub nodes: Vec<Node>,
    /// The one guest listing (`GET /cluster/resources?type=vm`), sorted by vmid.
    pub guests: Vec<Guest>,
    /// Storages of every node (`GET /cluster/resources?type=storage`).
    pub storages: Vec<Storage>,
    /// Recent tasks of every online node (`GET /nodes/{node}/tasks?limit=20&source=all`).
    pub tasks: Vec<Task>,
    /// CPU and memory of every online node over the last hour (`GET /nodes/{node}/rrddata?timeframe=hour&cf=AVERAGE`).
    pub history: Vec<NodeHistory>,
    /// The cheap check sets (`cluster`, `nodes`, `storage`) joined; `None` before they ran.
    pub checks: Option<Report>,
    /// Reads that failed while the target answered (`nodes: permission denied`), short.
    pub problems: Vec<String>,
}

/// One node's recent CPU and memory use, oldest first, one point per RRD step (a minute for
/// `timeframe=hour`); fractions in 0..=1, `None` where the RRD has no value.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeHistory {
    /// The node.
    pub node: String,
    /// CPU use (`cpu`).
    pub cpu: Vec<Option<f64>>,
    /// Memory use (`memused / memtotal`).
    pub mem: Vec<Option<f64>>,
}

impl NodeHistory {
    /// From the answer of `GET /nodes/{node}/rrddata` (an array of points with `cpu`,
    /// `memused`, `memtotal`; numbers possibly as strings).
    pub fn from_rrd(node: &str, v: &serde_json::Value) -> Self {
        let get = |p: &serde_json::Value, k: &str| p.get(k).and_then(crate::model::loose::value_f64).filter(|x| x.is_finite());
        let points = v.as_array().map(Vec::as_slice).unwrap_or_default();
        let cpu = points.iter().map(|p| get(p, "cpu").map(|c| c.clamp(0.0, 1.0))).collect();
        let mem = points
            .iter()
            .map(|p| match (get(p, "memused"), get(p, "memtotal")) {
                (Some(u), Some(t)) if t > 0.0 => Some((u / t).clamp(0.0, 1.0)),
                _ => None,
            })
            .collect();
        Self { node: node.to_owned(), cpu, mem }
    }
}

/// A target's state as the last refresh saw it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TargetSnapshot {
    /// The target's name as selected (`sim`, `lab`).
    pub target: String,
    /// Bumped whenever the data (or the error) differs from the previous refresh; 0 before the first.
    pub version: u64,
    /// How many refreshes have ended (each made one guest listing, or failed before it).
    pub refreshes: u64,
    /// When the last refresh ended, Unix seconds; `None` before the first.
    pub refreshed: Option<u64>,
    /// How long the last refresh took, milliseconds.
    pub took_ms: u64,
    /// The data of the last refresh that reached the target.
    pub data: Option<TargetData>,
    /// Why the last refresh failed (not reachable, deadline), redacted and short.
    pub error: Option<String>,
}

impl TargetSnapshot {
    /// The worst check severity, `Unknown` for an unreachable target, `None` before any check ran.
    pub fn worst(&self) -> Option<Severity> {
        if self.error.is_some() {
            return Some(Severity::Unknown);
        }
        self.data.as_ref().and_then(|d| d.checks.as_ref()).map(|r| r.status)
    }
}

/// A check finding changing state, as seen between two refreshes.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CheckEvent {
    /// Unix seconds.
    pub(crate) time: u64,
    pub(crate) target: String,
    /// `new`, `changed` or `resolved`.
    pub(crate) change: &'static str,
    pub(crate) previous: Severity,
    pub(crate) severity: Severity,
    pub(crate) check: String,
    pub(crate) subject: String,
    pub(crate) message: String,
}

/// The most check events kept (the oldest go first).
pub(crate) const MAX_HISTORY: usize = 1000;

/// One target's seat in the shared state.
pub(crate) struct Slot {
    pub(crate) name: String,
    pub(crate) snapshot: RwLock<Arc<TargetSnapshot>>,
    /// The opened (read-only) backend, for the bounded per-page reads; `None` until opened.
    pub(crate) backend: RwLock<Option<Arc<dyn Backend>>>,
    /// With `--allow-actions`: the backend the actions go through (the target's policy, the
    /// audit face `dashboard`); `None` until opened or without the flag.
    pub(crate) actor: RwLock<Option<Arc<crate::safety::Guarded>>>,
    /// The target's policy.
    pub(crate) policy: crate::safety::PolicyRules,
}

/// What `--allow-actions` adds.
pub(crate) struct Actions {
    /// The token every action form carries (hex, 32 random bytes), made at start.
    pub(crate) csrf: String,
    /// How long an action may take.
    pub(crate) timeout: Duration,
}

/// Everything the handlers and refreshers share.
pub(crate) struct Shared {
    pub(crate) slots: Vec<Slot>,
    /// Sum of all snapshot versions; `/events` wakes on every change.
    pub(crate) changed: tokio::sync::watch::Sender<u64>,
    pub(crate) history: Mutex<Vec<CheckEvent>>,
    pub(crate) refresh: Duration,
    pub(crate) deadline: Duration,
    pub(crate) audit_path: Option<PathBuf>,
    /// `Some` with `--allow-actions`.
    pub(crate) actions: Option<Actions>,
}

impl Shared {
    /// The slot of target `name`.
    pub(crate) fn slot(&self, name: &str) -> Option<&Slot> {
        self.slots.iter().find(|s| s.name == name)
    }

    /// A copy of every target's current snapshot, in the order of the targets.
    pub(crate) fn snapshots(&self) -> Vec<Arc<TargetSnapshot>> {
        self.slots.iter().map(Slot::current).collect()
    }
}

impl Slot {
    /// The current snapshot.
    pub(crate) fn current(&self) -> Arc<TargetSnapshot> {
        self.snapshot.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The action backend, if actions are allowed and the target is open.
    pub(crate) fn actor(&self) -> Option<Arc<crate::safety::Guarded>> {
        self.actor.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The opened backend, if any.
    pub(crate) fn backend(&self) -> Option<Arc<dyn Backend>> {
        self.backend.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

/// Unix seconds now.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrd_points_become_fractions_and_missing_values_stay_missing() {
        // PVE writes numbers as numbers or strings, and leaves keys out where the RRD has no value.
        let v = serde_json::json!([
            {"time": 1, "cpu": 0.25, "memused": 2.0e9, "memtotal": 8.0e9},
            {"time": 2, "cpu": "0.5", "memused": "4000000000", "memtotal": "8000000000"},
            {"time": 3},
        ]);
        let h = NodeHistory::from_rrd("pve1", &v);
        assert_eq!(h.cpu, [Some(0.25), Some(0.5), None]);
        assert_eq!(h.mem, [Some(0.25), Some(0.5), None]);
        assert!(NodeHistory::from_rrd("pve1", &serde_json::json!({"not": "a list"})).cpu.is_empty());
    }
}
