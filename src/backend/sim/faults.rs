//! Injected faults (`SimState::faults`): denied privileges, task faults that make a worker
//! task fail, end with warnings, or run far longer than usual, and hanging tools.
//!
//! A task fault is matched when a task is created, by guest and (optionally) action; the
//! first match applies, and a `once` fault is consumed by that use. In a state file:
//!
//! ```json
//! "faults": {
//!   "denied": [{"path": "/vms/101", "privilege": "VM.Audit"}],
//!   "tasks": [
//!     {"vmid": 100, "action": "shutdown", "outcome": "fail", "message": "VM quit/powerdown failed - got timeout"},
//!     {"vmid": 100, "action": "start", "outcome": "warn", "count": 2, "once": true},
//!     {"vmid": 102, "outcome": "hang", "seconds": 600}
//!   ],
//!   "hang": [
//!     {"path": "/cluster/resources"},
//!     {"path": "/nodes/*/tasks/*/status", "after": 1, "child": true, "seconds": 60}
//!   ]
//! }
//! ```
//!
//! Task fault actions are the task type without its `qm`/`vz` prefix (`start`, `shutdown`,
//! `snapshot`, `clone`, `create`, `restore`, `destroy`, `template`); `vzdump` is matched per
//! guest of a backup job: `fail` makes that guest's part fail (`ERROR: Backup of VM <id>
//! failed - <message>`, the task `job errors`), `warn` logs its warnings; `hang` does not
//! apply to backup jobs.
//!
//! A tool hang (`hang`) stands in for a `pvesh`/`qm`/`pct` that never answers. It is matched
//! against the API path of each invocation of the `pve-sim` tools: the path `pvesh` is given
//! (`pvesh get /cluster/resources`), or the one a `qm`/`pct` sub-command calls
//! (`qm status 100` on pve1 is `/nodes/pve1/qemu/100/status/current`, `qm list` is
//! `/nodes/pve1/qemu`); empty segments and a trailing `/` do not count, and `*` in `path`
//! matches one segment. The first entry whose `path` matches counts the call in its `calls`
//! (saved in the state file); from the (`after` + 1)-th counted call on, the tool sleeps
//! `seconds` (default 3600) without the state-file lock, so other calls go on, and then runs
//! normally. With `child`, it first starts a child process that inherits stdout and stderr and
//! sleeps as long (a tool whose child keeps the output pipe open after the tool is killed).
//! `pve-sim serve` delays its answer to a matching request (`/api2/json` stripped) the same way.
//! Only a state file holds faults: the tools without `PVE_SIM_STATE` use the demo state, which has none.
//!
//! Slow calls (`latency_ms`) delay every answer of every face by that many milliseconds: the
//! in-process simulator, `pve-sim serve` and the tools (which also take `PVE_SIM_LATENCY_MS`).
//! The in-process simulator (`-t sim`) honours tool hangs too: a matching call sleeps
//! `seconds` before it is answered (the command's deadline ends it first).
//! `pvectl sim fault ...` writes these entries with typed arguments.
//!
//! Two conditions are plain state rather than fault entries: an offline node is a node with
//! `"online": false` (`/nodes` and `/cluster/resources` list it `offline` and its guests
//! `unknown`, `/cluster/status` gives it `online: 0`, and every read proxied to it answers
//! pveproxy's `595 No route to host`); a guest over a memory threshold is a guest whose `mem`
//! is set near its `maxmem`. So are the node-health conditions of `check`'s other modes, under
//! the state's `health` (`node_health.rs`): an expiring certificate, a failed service, pending
//! updates, a failed or worn disk, a degraded pool, a failing replication job, Ceph's
//! `HEALTH_WARN`; an old snapshot is a `snaptime` long past, and a failed run of a backup job a
//! finished `vzdump` task whose first log line carries the job's options.

use serde::{Deserialize, Serialize};

/// Injected faults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Denied privileges: a check of `privilege` on an ACL path at or below `path` fails with
    /// `403 Permission check failed (<acl path>, <privilege>)`, and list endpoints leave the
    /// object out (as PVE does for objects the caller may not see).
    pub denied: Vec<Denied>,
    /// Task faults, tried in order when a worker task starts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<TaskFault>,
    /// Tool hangs, tried in order for each invocation of the `pve-sim` tools.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hang: Vec<ToolHang>,
    /// Guests whose agent is configured but not running (`QEMU guest agent is not running`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub agent_down: Vec<u32>,
    /// Guests whose agent `exec` processes never exit.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub agent_exec_hang: Vec<u32>,
    /// Slow calls: every call of every face answers this many milliseconds late (the `pve-sim`
    /// tools' `PVE_SIM_LATENCY_MS`, when set, replaces it for them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
}

/// A tool that hangs when invoked for a matching API path (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolHang {
    /// API path pattern, `*` matching one segment: `/nodes/*/tasks/*/status`.
    pub path: String,
    /// Matching calls that still answer before the hang begins.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub after: u32,
    /// Start a child that inherits stdout/stderr and sleeps too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub child: bool,
    /// How long the tool (and its child) sleep, seconds.
    #[serde(default = "default_hang_seconds")]
    pub seconds: u64,
    /// Matching calls counted so far.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub calls: u32,
}

/// A tool hang lasts an hour unless told otherwise: longer than any deadline under test.
const fn default_hang_seconds() -> u64 {
    3600
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "serde's skip_serializing_if passes a reference")]
const fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Whether the API path `path` matches `pattern` segment by segment (`*` = any one segment);
/// empty segments (a trailing or doubled `/`) are ignored on both sides.
fn path_matches(pattern: &str, path: &str) -> bool {
    let mut pat = pattern.split('/').filter(|s| !s.is_empty());
    let mut segs = path.split('/').filter(|s| !s.is_empty());
    loop {
        match (pat.next(), segs.next()) {
            (None, None) => return true,
            (Some(p), Some(s)) if p == "*" || p == s => {}
            _ => return false,
        }
    }
}

/// One denied `(ACL path prefix, privilege)`, e.g. `("/vms/101", "VM.Audit")`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Denied {
    /// ACL path prefix (`/vms/101`, `/nodes/pve2`, `/storage/nas`, `/`), matched per segment.
    pub path: String,
    /// Privilege name (`VM.Audit`, `Sys.Audit`, `Datastore.Audit`, ...).
    pub privilege: String,
}

/// A fault for the worker tasks of one guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFault {
    /// The guest whose tasks it hits.
    pub vmid: u32,
    /// The action it hits: `start`, `stop`, `shutdown`, `reboot`, `reset`, `suspend`,
    /// `resume`, `snapshot`, `rollback` or `delsnapshot`; absent = every action. HA-managed
    /// guests' `hastart`/`hastop` tasks match `start` and `stop`/`shutdown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// What happens to the task.
    #[serde(flatten)]
    pub outcome: FaultOutcome,
    /// Consumed by its first use.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub once: bool,
}

/// What a task fault does, tagged by `outcome`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum FaultOutcome {
    /// The task ends `TASK ERROR: <message>` (exit status = `message`); its effect is not applied.
    Fail {
        /// The error text, e.g. `VM quit/powerdown failed - got timeout`.
        message: String,
    },
    /// The task logs `count` lines `WARN: <message>` and ends `TASK WARNINGS: <count>`; its
    /// effect is applied.
    Warn {
        /// Number of warnings (at least 1 to have any effect).
        count: u32,
        /// Warning text; default `injected warning`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// The task runs for `seconds` instead of the usual duration, then ends normally.
    Hang {
        /// Task duration, seconds.
        seconds: u64,
    },
}

impl Faults {
    /// Whether `privilege` on `acl_path` is denied.
    pub fn is_denied(&self, acl_path: &str, privilege: &str) -> bool {
        self.denied.iter().any(|d| {
            d.privilege == privilege
                && (d.path == "/" || acl_path == d.path || acl_path.strip_prefix(d.path.as_str()).is_some_and(|rest| rest.starts_with('/')))
        })
    }

    /// The first task fault for `vmid` and `action` (one of `actions`, e.g. `["stop",
    /// "shutdown"]` for an HA stop); a `once` fault is removed from the list.
    pub fn take_task_fault(&mut self, vmid: u32, actions: &[&str]) -> Option<FaultOutcome> {
        if actions.is_empty() {
            return None;
        }
        let i = self.tasks.iter().position(|f| f.vmid == vmid && f.action.as_deref().is_none_or(|a| actions.contains(&a)))?;
        if self.tasks[i].once { Some(self.tasks.remove(i).outcome) } else { Some(self.tasks[i].outcome.clone()) }
    }

    /// Whether any tool hang matches the API path `path` (nothing is counted).
    pub fn hang_matches(&self, path: &str) -> bool {
        self.hang.iter().any(|h| path_matches(&h.path, path))
    }

    /// Counts a call for the API path `path` in the first matching tool hang, and returns
    /// that hang when this call is to hang (its `after` earlier calls have been counted).
    pub fn count_hang(&mut self, path: &str) -> Option<ToolHang> {
        let h = self.hang.iter_mut().find(|h| path_matches(&h.path, path))?;
        let earlier = h.calls;
        h.calls = h.calls.saturating_add(1);
        (earlier >= h.after).then(|| h.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denied_matches_per_segment() {
        let f = Faults { denied: vec![Denied { path: "/vms/101".into(), privilege: "VM.Audit".into() }], ..Faults::default() };
        assert!(f.is_denied("/vms/101", "VM.Audit"));
        assert!(!f.is_denied("/vms/1010", "VM.Audit"));
        assert!(!f.is_denied("/vms/101", "VM.PowerMgmt"));
        let all = Faults { denied: vec![Denied { path: "/".into(), privilege: "Sys.Audit".into() }], ..Faults::default() };
        assert!(all.is_denied("/nodes/pve1", "Sys.Audit"));
    }

    #[test]
    fn task_faults_have_a_flat_json_shape() {
        let json = r#"{"tasks": [
            {"vmid": 100, "action": "shutdown", "outcome": "fail", "message": "boom"},
            {"vmid": 100, "action": "start", "outcome": "warn", "count": 2, "once": true},
            {"vmid": 102, "outcome": "hang", "seconds": 600}
        ]}"#;
        let mut f: Faults = serde_json::from_str(json).expect("faults parse");
        assert_eq!(f.tasks[0].outcome, FaultOutcome::Fail { message: "boom".into() });
        assert_eq!(f.tasks[2].action, None);
        let back: Faults = serde_json::from_str(&serde_json::to_string(&f).expect("serialises")).expect("parses back");
        assert_eq!(back, f);
        assert_eq!(f.take_task_fault(100, &["start"]), Some(FaultOutcome::Warn { count: 2, message: None }));
        assert_eq!(f.take_task_fault(100, &["start"]), None, "a once fault is consumed");
        assert_eq!(f.take_task_fault(100, &["stop", "shutdown"]).map(|o| matches!(o, FaultOutcome::Fail { .. })), Some(true));
        assert_eq!(f.take_task_fault(100, &["shutdown"]), f.take_task_fault(100, &["shutdown"]), "a lasting fault stays");
        assert_eq!(f.take_task_fault(102, &["snapshot"]), Some(FaultOutcome::Hang { seconds: 600 }), "no action = every action");
    }

    #[test]
    fn tool_hangs_match_per_segment_and_count_calls() {
        let json = r#"{"hang": [
            {"path": "/cluster/resources"},
            {"path": "/nodes/*/tasks/*/status", "after": 1, "child": true}
        ]}"#;
        let mut f: Faults = serde_json::from_str(json).expect("faults parse");
        assert_eq!((f.hang[0].seconds, f.hang[0].after, f.hang[0].child), (3600, 0, false), "defaults");
        assert!(f.hang_matches("/cluster/resources/") && f.hang_matches("//cluster/resources"));
        assert!(!f.hang_matches("/cluster/resources/x") && !f.hang_matches("/cluster") && !f.hang_matches("/cluster/resourcesx"));
        assert!(f.hang_matches("/nodes/pve1/tasks/UPID:pve1:1:2:3:qmstart:100:root@pam:/status"));
        assert!(!f.hang_matches("/nodes/pve1/tasks/x/log") && !f.hang_matches("/nodes/pve1/tasks/status"));

        let status = "/nodes/pve2/tasks/UPID:x/status";
        assert_eq!(f.count_hang(status), None, "the first call answers (after 1)");
        assert_eq!(f.count_hang(status).map(|h| (h.child, h.calls)), Some((true, 2)), "the second hangs");
        assert!(f.count_hang(status).is_some(), "and so does every later one");
        assert_eq!(f.count_hang("/cluster/resources").map(|h| h.calls), Some(1), "after 0: the first call hangs");
        assert_eq!(f.count_hang("/version"), None);
        let back: Faults = serde_json::from_str(&serde_json::to_string(&f).expect("serialises")).expect("parses back");
        assert_eq!(back.hang[1].calls, 3, "the count is saved with the state");
    }
}
