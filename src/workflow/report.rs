//! What a mutating command prints: the plan before acting, the report after
//! (DESIGN.md §3: `{action, target, before, task, after, changed}`).

use serde::Serialize;

use crate::backend::Tier;
use crate::error::Error;
use crate::model::{ClusterResource, ExitStatus, GuestRef, GuestStatus, Upid};

/// A guest's state as read before or after an action.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GuestState {
    /// `running` or `stopped` (PVE's `status`).
    pub status: String,
    /// QEMU run state (`running`, `paused`, ...), when read from `status/current`.
    pub qmpstatus: Option<String>,
    /// Config lock, when locked.
    pub lock: Option<String>,
    /// HA state when the guest is HA-managed.
    pub ha_state: Option<String>,
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
            ..Self::default()
        }
    }

    /// Whether the guest is paused or suspended (qemu `qmpstatus`, or a frozen container).
    pub fn is_suspended(&self) -> bool {
        matches!(self.qmpstatus.as_deref(), Some("paused" | "suspended" | "prelaunch"))
            || matches!(self.status.as_str(), "paused" | "frozen" | "suspended")
    }

    /// Whether it runs and is not suspended.
    pub fn is_running(&self) -> bool {
        self.status == "running" && !self.is_suspended()
    }
}

/// The task part of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskReport {
    /// The task; `None` where the tool printed none (`qm`/`pct`).
    pub upid: Option<Upid>,
    /// `running` or `stopped`.
    pub status: String,
    /// `OK`, `WARNINGS: n` or the error text; `None` while running.
    pub exitstatus: Option<String>,
    /// Number of warnings (0 unless `WARNINGS: n`).
    pub warnings: u32,
}

impl TaskReport {
    /// A finished task.
    pub fn finished(upid: Option<Upid>, exit: &ExitStatus) -> Self {
        let warnings = if let ExitStatus::Warnings(n) = exit { *n } else { 0 };
        Self { upid, status: "stopped".into(), exitstatus: Some(exit.as_text()), warnings }
    }

    /// A task still running.
    pub fn running(upid: Option<Upid>) -> Self {
        Self { upid, status: "running".into(), exitstatus: None, warnings: 0 }
    }
}

/// What a mutating command did.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// Whether anything was changed.
    pub changed: bool,
}

/// What a mutating command would do: printed for `--dry-run` and when confirmation is needed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The action.
    pub action: String,
    /// Its safety tier.
    pub tier: Tier,
    /// The guest, if any.
    pub target: Option<GuestRef>,
    /// The snapshot, for snapshot actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// State read now.
    pub before: Option<GuestState>,
    /// The exact call it would make.
    pub call: String,
    /// Through which backend (`Pvesh(Ssh(root@pve1))`).
    pub via: String,
    /// What consent it needs: `--yes` for gated tiers, else `null`.
    pub requires: Option<&'static str>,
    /// Warnings about the action (e.g. RAM state freezes the guest).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
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
    /// The task failed (exit 7) or the deadline passed (exit 8): what is known, and why.
    Incomplete(Report, Error),
}
