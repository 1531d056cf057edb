//! Tasks: list entries, status with a classified exit status, and log lines.
//!
//! Sources: `GET /nodes/{node}/tasks`, `GET /nodes/{node}/tasks/{upid}/status`,
//! `GET /nodes/{node}/tasks/{upid}/log` (pve-manager `PVE/API2/Tasks.pm`, FORMATS.md §0.4).

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize, Serializer};

use super::Upid;
use super::loose;

/// How a finished task ended, classified from PVE's `exitstatus` text (pve-common
/// `PVE/UPID.pm`, FORMATS.md §0.2): `OK`, `WARNINGS: n`, or anything else = failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitStatus {
    /// `OK`.
    Ok,
    /// `WARNINGS: n`: a success with n warnings.
    Warnings(u32),
    /// Any other text: the error message (e.g. `VM 110 not running`).
    Failed(String),
}

static WARNINGS_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^WARNINGS: (\d+)$").expect("regex is valid"));

impl ExitStatus {
    /// Classifies an `exitstatus` string.
    pub fn classify(s: &str) -> Self {
        let s = s.trim();
        if s == "OK" {
            return Self::Ok;
        }
        if let Some(c) = WARNINGS_RE.captures(s)
            && let Ok(n) = c[1].parse()
        {
            return Self::Warnings(n);
        }
        Self::Failed(s.to_owned())
    }

    /// Whether PVE counts it as success (`OK` or `WARNINGS: n`).
    pub fn is_success(&self) -> bool {
        !matches!(self, Self::Failed(_))
    }

    /// PVE's text for it.
    pub fn as_text(&self) -> String {
        match self {
            Self::Ok => "OK".to_owned(),
            Self::Warnings(n) => format!("WARNINGS: {n}"),
            Self::Failed(m) => m.clone(),
        }
    }
}

impl Serialize for ExitStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_text())
    }
}

impl<'de> Deserialize<'de> for ExitStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::classify(&String::deserialize(d)?))
    }
}

/// One task in `GET /nodes/{node}/tasks`. Times in seconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Task {
    /// Task id.
    pub upid: Upid,
    /// Node.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub node: Option<String>,
    /// Task type (`qmstart`, `vzdump`, ...).
    #[serde(rename = "type", default, deserialize_with = "loose::opt_string")]
    pub task_type: Option<String>,
    /// Object id (usually a vmid).
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub id: Option<String>,
    /// User that started it.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub user: Option<String>,
    /// Start time.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub starttime: Option<u64>,
    /// End time, when finished.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub endtime: Option<u64>,
    /// Exit status text when finished (here PVE's `status` field is the exit status).
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub status: Option<String>,
}

/// `GET /nodes/{node}/tasks/{upid}/status`: PVE's fields `upid`, `node`, `status`,
/// `exitstatus`, `type`, `id`, `user`, `pid`, `pstart`, `starttime` (pve-manager
/// `PVE/API2/Tasks.pm` `read_task_status`, FORMATS.md §0.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TaskStatus {
    /// Task id.
    pub upid: Upid,
    /// Node the task runs on.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub node: Option<String>,
    /// `running` or `stopped`.
    pub status: String,
    /// Set only when stopped.
    #[serde(default)]
    pub exitstatus: Option<ExitStatus>,
    /// Task type.
    #[serde(rename = "type", default, deserialize_with = "loose::opt_string")]
    pub task_type: Option<String>,
    /// Object id.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub id: Option<String>,
    /// User (the owning user for token-started tasks).
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub user: Option<String>,
    /// Process id of the worker.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub pid: Option<u64>,
    /// Start of the worker process, in clock ticks since boot: with `pid`, what PVE compares
    /// to tell a running task from a stopped one.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub pstart: Option<u64>,
    /// Start time, seconds since the Unix epoch.
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub starttime: Option<u64>,
}

impl TaskStatus {
    /// Whether the task has finished.
    pub fn is_stopped(&self) -> bool {
        self.status == "stopped"
    }
}

/// One task-log line: `{n: <1-based line number>, t: <text>}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TaskLogLine {
    /// Line number, from 1.
    #[serde(deserialize_with = "line_no")]
    pub n: u64,
    /// The line, without its newline.
    #[serde(default)]
    pub t: String,
}

fn line_no<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    loose::opt_u64(d)?.ok_or_else(|| serde::de::Error::custom("task log line without n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_keeps_node_pid_and_pstart() {
        // fixtures/api-json-task-status/1.txt
        let raw = r#"{"id":"100","pid":29475,"status":"stopped","type":"qmstart","pstart":1062565,"exitstatus":"WARNINGS: 1","upid":"UPID:dahu-2:00007323:001036A5:6419CAF8:qmstart:100:root@pam:","starttime":1679411960,"user":"root@pam","node":"dahu-2"}"#;
        let t: TaskStatus = serde_json::from_str(raw).expect("parses");
        assert_eq!((t.node.as_deref(), t.pid, t.pstart, t.starttime), (Some("dahu-2"), Some(29475), Some(1_062_565), Some(1_679_411_960)));
        let back = serde_json::to_value(&t).expect("serialises");
        for k in ["node", "pid", "pstart", "starttime", "type", "id", "user", "upid", "status", "exitstatus"] {
            assert_eq!(back[k], serde_json::from_str::<serde_json::Value>(raw).expect("json")[k], "{k}");
        }
    }

    #[test]
    fn classifies_exit_status() {
        assert_eq!(ExitStatus::classify("OK"), ExitStatus::Ok);
        assert_eq!(ExitStatus::classify("WARNINGS: 3"), ExitStatus::Warnings(3));
        assert_eq!(ExitStatus::classify("VM 110 not running"), ExitStatus::Failed("VM 110 not running".into()));
        assert!(ExitStatus::classify("WARNINGS: 1").is_success());
        assert!(!ExitStatus::classify("unexpected status").is_success());
    }
}
