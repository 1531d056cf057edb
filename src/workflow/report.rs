//! What a mutating command prints: the plan before acting, the report after
//! (DESIGN.md §3: `{action, target, before, task, after, changed}`).

use std::fmt::Write as _;

use serde::Serialize;

use crate::backend::{Backend, Mutation, Tier};
use crate::error::Error;
use crate::model::{ClusterResource, ExitStatus, GuestRef, GuestStatus, Upid};
use crate::safety::Facts;

/// A guest's state as read before or after an action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct GuestState {
    /// `running` or `stopped` (PVE's `status`).
    pub status: String,
    /// QEMU run state (`running`, `paused`, ...), when read from `status/current`.
    pub qmpstatus: Option<String>,
    /// Config lock, when locked.
    pub lock: Option<String>,
    /// HA state when the guest is HA-managed.
    pub ha_state: Option<String>,
    /// The node it was found on, when located by a listing (migrate's re-check).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Size of the disk an action changed, bytes (resize's re-check).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_size: Option<u64>,
    /// Storage of the disk an action moved (move-disk's re-check).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_storage: Option<String>,
    /// Whether it is a template, when read from `status/current`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<bool>,
    /// PVE's `protection` flag, when the config was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protection: Option<bool>,
    /// Snapshot names (without `current`), for snapshot actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshots: Option<Vec<String>>,
    /// The snapshot the live state derives from (`current`'s parent), for snapshot actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_parent: Option<String>,
}

impl GuestState {
    /// From a `/cluster/resources` item (no `qmpstatus` there).
    pub fn from_resource(r: &ClusterResource) -> Self {
        Self {
            node: r.node.clone(),
            status: r.status.clone().unwrap_or_else(|| "unknown".into()),
            lock: r.lock.clone(),
            ha_state: r.hastate.clone(),
            ..Self::default()
        }
    }

    /// From `status/current`.
    pub fn from_status(s: &GuestStatus) -> Self {
        Self {
            status: s.status.clone(),
            qmpstatus: s.qmpstatus.clone(),
            lock: s.lock.clone(),
            ha_state: s.ha_state.clone(),
            template: Some(s.template),
            ..Self::default()
        }
    }

    /// Whether the guest is paused or suspended (qemu `qmpstatus`, or a frozen container).
    pub fn is_suspended(&self) -> bool {
        matches!(self.qmpstatus.as_deref(), Some("paused" | "suspended" | "prelaunch"))
            || matches!(self.status.as_str(), "paused" | "frozen" | "suspended")
    }

    /// Whether `other` shows a different guest state (run state, lock, snapshots), ignoring
    /// what was read only once (protection, HA state). The QEMU run state counts only when
    /// both reads have it: a state read from the listing has none, so a stopped guest re-read
    /// from `status/current` (`qmpstatus: stopped`) is not a change.
    pub fn differs(&self, other: &Self) -> bool {
        let qmp = matches!((&self.qmpstatus, &other.qmpstatus), (Some(a), Some(b)) if a != b);
        qmp || (&self.status, &self.lock, &self.snapshots, &self.current_parent)
            != (&other.status, &other.lock, &other.snapshots, &other.current_parent)
    }

    /// Whether it runs and is not suspended.
    pub fn is_running(&self) -> bool {
        self.status == "running" && !self.is_suspended()
    }
}

/// The task part of a report.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TaskReport {
    /// The task; `None` where the tool printed none (`qm`/`pct`).
    pub upid: Option<Upid>,
    /// `running` or `stopped`.
    pub status: String,
    /// `OK`, `WARNINGS: n` or the error text; `None` while running.
    pub exitstatus: Option<String>,
    /// Number of warnings (0 unless `WARNINGS: n`).
    pub warnings: u32,
    /// The log a foreground tool printed (`qm`/`pct`/`vzdump` run the task in the
    /// foreground and print no UPID), for actions that read their task's log.
    #[serde(skip)]
    pub log: Vec<String>,
}

impl TaskReport {
    /// A finished task.
    pub fn finished(upid: Option<Upid>, exit: &ExitStatus) -> Self {
        let warnings = if let ExitStatus::Warnings(n) = exit { *n } else { 0 };
        Self { upid, status: "stopped".into(), exitstatus: Some(exit.as_text()), warnings, log: Vec::new() }
    }

    /// A task still running.
    pub fn running(upid: Option<Upid>) -> Self {
        Self { upid, status: "running".into(), exitstatus: None, warnings: 0, log: Vec::new() }
    }
}

/// What a mutating command did.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Report {
    /// `shutdown`, `snapshot create`, `api create`, ...
    pub action: String,
    /// The guest acted on (`vmid`, `node`, `kind`); `None` for raw API writes.
    pub target: Option<GuestRef>,
    /// The snapshot acted on, for snapshot actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// State read first.
    pub before: Option<GuestState>,
    /// The task, when one ran.
    pub task: Option<TaskReport>,
    /// State re-read after the task; `None` when not re-checked (`--no-wait`, failure).
    pub after: Option<GuestState>,
    /// Whether anything was changed: `true` when the task did what was asked, `false` when
    /// nothing was needed; after a failed task, whether the re-check saw a difference.
    pub changed: bool,
    /// What a raw write returned when it was not a task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// Every task, when the action ran more than one (a backup on several nodes).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<TaskReport>,
    /// What only this action knows: per-guest backup outcomes, old -> new config values, the
    /// new guest of a clone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// One call of a plan, as data.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PlannedCall {
    /// `POST`, `PUT` or `DELETE`.
    pub method: String,
    /// The API path.
    pub path: String,
    /// Parameters, in order.
    pub params: Vec<(String, String)>,
    /// The exact call the backend makes (`pvesh create ...`, `qm stop 100`, `POST /nodes/...`).
    pub rendered: String,
}

impl Report {
    /// The report of an action that had nothing to do: `changed: false`, no task.
    pub fn noop(action: String, target: GuestRef, before: GuestState) -> Self {
        Self {
            action,
            target: Some(target),
            snapshot: None,
            before: Some(before),
            task: None,
            after: None,
            changed: false,
            result: None,
            tasks: Vec::new(),
            details: None,
        }
    }
}

/// What a mutating command would do: printed for `--dry-run` and when confirmation is needed;
/// its digest binds consent to exactly this plan (DESIGN.md §4).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Plan {
    /// The action.
    pub action: String,
    /// Its safety tier (the highest of its calls).
    pub tier: Tier,
    /// The guest, if any.
    pub target: Option<GuestRef>,
    /// The snapshot, for snapshot actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// State read now.
    pub before: Option<GuestState>,
    /// The first call, rendered (the whole plan for every action so far).
    pub call: String,
    /// Every call, in order.
    pub calls: Vec<PlannedCall>,
    /// Through which backend (`Pvesh(Ssh(root@pve1))`).
    pub via: String,
    /// What consent it needs: `--yes` for gated tiers, else `null`.
    pub requires: Option<&'static str>,
    /// Warnings about the action (e.g. RAM state freezes the guest).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Action-specific plan data (old -> new config values).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    /// SHA-256 (hex) over the state read first, the policy facts and the calls.
    pub digest: String,
    /// The mutations with the policy facts read for each.
    #[serde(skip)]
    pub mutations: Vec<(Mutation, Facts)>,
}

impl Plan {
    /// Builds the plan of `action` from its draft and the facts read for each mutation; the
    /// tier is the highest of its calls under the target's policy.
    pub fn new(action: String, draft: &crate::workflow::action::Draft, facts: Vec<Facts>, b: &crate::safety::Guarded) -> Self {
        let tier = draft.mutations.iter().map(|m| b.effective_tier(m)).max().unwrap_or(Tier::Read);
        let calls: Vec<PlannedCall> = draft
            .mutations
            .iter()
            .map(|m| {
                let (method, path, params) = m.api_call_shown();
                PlannedCall { method: method.as_str().to_owned(), path, params, rendered: b.render(m) }
            })
            .collect();
        let mut before = draft.before.clone();
        if let (Some(before), Some(p)) = (&mut before, facts.iter().find_map(|f| f.protection)) {
            before.protection = Some(p);
        }
        let mutations: Vec<(Mutation, Facts)> = draft.mutations.iter().cloned().zip(facts).collect();
        let digest = digest(&serde_json::json!({
            "action": action,
            "target": draft.target,
            "snapshot": draft.snapshot,
            "before": before,
            "facts": mutations.iter().map(|(_, f)| f).collect::<Vec<_>>(),
            "calls": calls.iter().map(|c| (&c.method, &c.path, &c.params)).collect::<Vec<_>>(),
            "details": draft.details,
            "via": b.describe(),
        }));
        Self {
            action,
            tier,
            target: draft.target.clone(),
            snapshot: draft.snapshot.clone(),
            before,
            call: calls.first().map(|c| c.rendered.clone()).unwrap_or_default(),
            calls,
            via: b.describe(),
            requires: tier.is_gated().then_some("--yes"),
            warnings: draft.warnings.clone(),
            details: draft.details.clone(),
            digest,
            mutations,
        }
    }
}

/// Hex SHA-256 of a JSON value's text (`serde_json` writes fields in declaration order, so the
/// same plan gives the same text).
pub fn digest(v: &serde_json::Value) -> String {
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(v.to_string().as_bytes());
    hash.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// How a workflow ended.
#[derive(Debug)]
pub enum Outcome {
    /// Done (also: nothing to change); exit 0.
    Done(Report),
    /// `--dry-run`: the plan, nothing run; exit 0.
    Planned(Plan),
    /// Not confirmed: the plan, nothing run; exit 3.
    Refused(Plan, Error),
    /// The task failed (exit 7) or its outcome is not known (exit 8): what is known, and why.
    Incomplete(Report, Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_without_qmpstatus_does_not_differ_from_a_status_read() {
        let listed = GuestState { status: "stopped".into(), ..GuestState::default() };
        let read = GuestState { status: "stopped".into(), qmpstatus: Some("stopped".into()), ..GuestState::default() };
        assert!(!listed.differs(&read) && !read.differs(&listed));
        let paused = GuestState { status: "running".into(), qmpstatus: Some("paused".into()), ..GuestState::default() };
        let running = GuestState { qmpstatus: Some("running".into()), ..paused.clone() };
        assert!(paused.differs(&running), "both read: the QEMU run state counts");
        assert!(listed.differs(&running), "the run state counts");
        let locked = GuestState { lock: Some("backup".into()), ..listed.clone() };
        assert!(listed.differs(&locked));
    }
}
