//! The audit log: one JSON line per executed mutation, appended to
//! `$PVECTL_AUDIT_LOG`, else `$XDG_STATE_HOME/pvectl/audit.log`, else
//! `~/.local/state/pvectl/audit.log`. A line holds the time (seconds since the epoch), the
//! target's identity, the action, the exact call and the outcome; never a secret (backends
//! render calls without credentials). Failing to write the log is reported on stderr once and
//! does not stop the action.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use crate::backend::{Mutation, Started};
use crate::error::Result;

/// Where audit lines go.
#[derive(Debug)]
pub struct AuditLog {
    path: Option<PathBuf>,
    warned: AtomicBool,
}

impl AuditLog {
    /// The log at its default place (see module docs); `PVECTL_AUDIT_LOG=off` disables it.
    pub fn from_env() -> Self {
        let path = match std::env::var_os("PVECTL_AUDIT_LOG") {
            Some(p) if p == "off" => None,
            Some(p) => Some(PathBuf::from(p)),
            None => std::env::var_os("XDG_STATE_HOME")
                .map(|d| PathBuf::from(d).join("pvectl/audit.log"))
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state/pvectl/audit.log"))),
        };
        Self { path, warned: AtomicBool::new(false) }
    }

    /// A log that records nothing.
    pub fn disabled() -> Self {
        Self { path: None, warned: AtomicBool::new(false) }
    }

    /// Appends one line for an executed mutation.
    pub fn record(&self, target: &str, mutation: &Mutation, call: &str, result: &Result<Started>) {
        let Some(path) = &self.path else { return };
        let outcome = match result {
            Ok(Started::Task(upid)) => json!({"upid": upid.as_str()}),
            Ok(Started::Finished { exit, .. }) => json!({"exitstatus": exit.as_text()}),
            Ok(Started::Value(_)) => json!({"ok": true}),
            Err(e) => json!({"error": e.to_string(), "kind": e.kind()}),
        };
        let time = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let line = json!({
            "time": time,
            "target": target,
            "action": mutation.name(),
            "tier": mutation.tier(),
            "vmid": mutation.guest().map(|g| g.vmid),
            "call": call,
            "outcome": outcome,
        });
        let write = || -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
            writeln!(f, "{line}")
        };
        if let Err(e) = write() {
            if !self.warned.swap(true, Ordering::Relaxed) {
                eprintln!("pvectl: warning: could not write the audit log {}: {e}", path.display());
            }
        }
    }
}
