//! Injected faults (`SimState::faults`): denied privileges, and task faults that make a
//! worker task fail, end with warnings, or run far longer than usual.
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
//!   ]
//! }
//! ```

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
        let i = self.tasks.iter().position(|f| f.vmid == vmid && f.action.as_deref().is_none_or(|a| actions.contains(&a)))?;
        if self.tasks[i].once { Some(self.tasks.remove(i).outcome) } else { Some(self.tasks[i].outcome.clone()) }
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
}
