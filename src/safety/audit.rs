//! The audit log (interim: the hash-chained log replaces this file). Intent before a change
//! is sent, outcome after, refusals too; one JSON line each.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::backend::Tier;
use crate::error::{Error, Result};

/// Where audit records go.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: Option<PathBuf>,
    face: String,
}

/// What an intent or refusal record says.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// The backend's identity.
    pub target: String,
    /// The action.
    pub action: String,
    /// Its tier.
    pub tier: Tier,
    /// The guest, when any.
    pub vmid: Option<u32>,
    /// The guest's node, when any.
    pub node: Option<String>,
    /// The plan digest.
    pub digest: Option<String>,
    /// The rendered call.
    pub call: String,
}

/// How a change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOutcome {
    /// Done.
    Ok,
    /// Failed.
    Failed,
    /// Not known (deadline, interrupt).
    Unknown,
}

/// The intent record an outcome closes (its sequence number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntentId(pub u64);

impl AuditLog {
    /// From `PVECTL_AUDIT_LOG` (`off` disables).
    pub fn from_env() -> Self {
        let path = match std::env::var_os("PVECTL_AUDIT_LOG") {
            Some(p) if p == "off" => None,
            Some(p) => Some(PathBuf::from(p)),
            None => std::env::var_os("XDG_STATE_HOME")
                .map(|d| PathBuf::from(d).join("pvectl/audit.log"))
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state/pvectl/audit.log"))),
        };
        Self { path, face: "cli".into() }
    }

    /// A log at `path`.
    pub fn at(path: PathBuf) -> Self {
        Self { path: Some(path), face: "cli".into() }
    }

    /// A log that records nothing.
    pub fn disabled() -> Self {
        Self { path: None, face: "cli".into() }
    }

    /// The file, when enabled.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The same log recording `face`.
    #[must_use]
    pub fn with_face(mut self, face: &str) -> Self {
        face.clone_into(&mut self.face);
        self
    }

    fn write(&self, v: &serde_json::Value) -> Result<()> {
        let Some(path) = &self.path else { return Ok(()) };
        let w = || -> std::io::Result<()> {
            if let Some(d) = path.parent() {
                std::fs::create_dir_all(d)?;
            }
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
            f.write_all(format!("{v}\n").as_bytes())
        };
        w().map_err(|e| Error::Policy(format!("the audit log {} cannot be written ({e}); nothing was sent", path.display())))
    }

    /// Writes an intent record.
    ///
    /// # Errors
    /// `Policy` when it cannot be written.
    pub fn intent(&self, e: &AuditEntry) -> Result<IntentId> {
        self.write(&json!({"record": "intent", "face": self.face, "target": e.target, "action": e.action, "tier": e.tier, "vmid": e.vmid, "digest": e.digest, "call": e.call}))?;
        Ok(IntentId(0))
    }

    /// Writes an outcome record.
    ///
    /// # Errors
    /// `Policy` when it cannot be written.
    pub fn outcome(&self, intent: IntentId, outcome: AuditOutcome, upid: Option<&str>, message: Option<&str>) -> Result<()> {
        self.write(&json!({"record": "outcome", "intent": intent.0, "outcome": format!("{outcome:?}").to_lowercase(), "upid": upid, "message": message}))
    }

    /// Writes a refusal record.
    ///
    /// # Errors
    /// `Policy` when it cannot be written.
    pub fn refusal(&self, e: &AuditEntry, reason: &str) -> Result<()> {
        self.write(&json!({"record": "refusal", "face": self.face, "target": e.target, "action": e.action, "tier": e.tier, "vmid": e.vmid, "call": e.call, "message": reason}))
    }
}
