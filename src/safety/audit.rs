//! The audit log (DESIGN.md §4, "no audit, no action"): an **intent** record before a
//! mutation is sent, an **outcome** record after it (`ok`, `failed`, `unknown`), and a
//! **refusal** record when pvectl declines one.
//!
//! Each record is one JSON line, appended with a single `write` of the whole line (file opened
//! `O_APPEND`) while holding an exclusive `flock` on the file, so concurrent pvectl processes
//! never interleave or fork the chain. Records are hash-chained: `seq` counts from 1, `prev` is
//! the previous record's `hash` (64 zeros for the first), and
//! `hash = hex(SHA-256(prev || canonical JSON of the record without "hash"))` (see
//! [`super::audit_chain`]), so [`verify`](super::verify) finds an edited, removed or reordered
//! line. The file is created mode 0600 (its directory 0700 when missing); an existing file
//! that group or others may read or write is refused, not silently fixed.
//!
//! Free text (`target`, `call`, `message`, ...) is already rendered without secrets by the
//! callers; it is still cut to a bounded excerpt so a hostile string cannot bloat the log.
//!
//! Where: `PVECTL_AUDIT_LOG` (`off` disables the log: the only way to run without one), else
//! `$XDG_STATE_HOME/pvectl/audit.log`, else `~/.local/state/pvectl/audit.log`.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;

use super::audit_chain::{canonical_hash, last_record, lock};
use crate::backend::Tier;
use crate::error::{Error, Result};

/// Longest free-text field kept, bytes (cut at a character boundary, marked with `…`).
pub const MAX_TEXT: usize = 2048;

/// The audit log of one process face (`cli`, `mcp`, `dashboard`). Cloning shares it.
#[derive(Debug, Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dest: Dest,
    face: String,
    /// The program on the other side of the face (the MCP client's `clientInfo.name`).
    client: Option<String>,
    /// Intents written by this log and not yet closed: what their outcome records repeat.
    open: Mutex<HashMap<u64, Pending>>,
}

/// Where records go.
#[derive(Debug, Clone)]
enum Dest {
    /// `PVECTL_AUDIT_LOG=off`.
    Off,
    /// A file.
    File(PathBuf),
    /// No place could be found (no `HOME`): every write is refused.
    Nowhere(&'static str),
}

/// What an outcome record copies from its intent.
#[derive(Debug, Clone)]
struct Pending {
    target: String,
    action: String,
    tier: Tier,
    vmid: Option<u32>,
    node: Option<String>,
    digest: Option<String>,
}

/// One mutation as the audit log sees it. All text is rendered by the caller without secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// The backend's identity (`Ssh(root@pve1)`, `Sim`, ...).
    pub target: String,
    /// Short action name (`stop`, `snapshot create`, `api create`).
    pub action: String,
    /// The action's safety tier.
    pub tier: Tier,
    /// The guest acted on, if any.
    pub vmid: Option<u32>,
    /// The node acted on, if known.
    pub node: Option<String>,
    /// The digest of the plan the consent was given for, if any.
    pub digest: Option<String>,
    /// The rendered call (`POST /nodes/pve1/qemu/100/status/stop`, or a tool command line).
    pub call: String,
}

/// How a sent mutation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditOutcome {
    /// Sent and accepted (for a task: started; its UPID is recorded).
    Ok,
    /// Sent and rejected, or the task failed.
    Failed,
    /// Sent, but whether it took effect is not known (deadline, interrupt, lost connection).
    Unknown,
}

/// An intent record's `seq`, to close with [`AuditLog::outcome`]; `IntentId(0)` from a
/// disabled log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IntentId(pub u64);

/// Record kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Intent,
    Outcome,
    Refusal,
}

/// One line of the log, in the order its fields are written (the hash is over the canonical,
/// key-sorted form, so this order is only for people reading the file).
#[derive(Debug, Serialize)]
struct Line<'a> {
    seq: u64,
    time: u64,
    who: &'a str,
    pid: u32,
    face: &'a str,
    /// Written only when known (MCP), so records of other faces, and every line written
    /// before the field existed, hash and verify as before.
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<&'a str>,
    record: Kind,
    target: Option<String>,
    action: Option<String>,
    tier: Option<Tier>,
    vmid: Option<u32>,
    node: Option<String>,
    digest: Option<String>,
    call: Option<String>,
    upid: Option<String>,
    outcome: Option<AuditOutcome>,
    message: Option<String>,
    intent: Option<u64>,
    prev: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    hash: Option<String>,
}

impl AuditLog {
    fn new(dest: Dest) -> Self {
        Self { inner: Arc::new(Inner { dest, face: "cli".into(), client: None, open: Mutex::default() }) }
    }

    /// The log named by the environment: `PVECTL_AUDIT_LOG=off` disables it,
    /// `PVECTL_AUDIT_LOG=<path>` names the file, else `$XDG_STATE_HOME/pvectl/audit.log`, else
    /// `$HOME/.local/state/pvectl/audit.log` (an empty variable counts as unset). With none
    /// set, every write is refused (never a silent run without a log). The face is `cli`.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        Self::new(match var("PVECTL_AUDIT_LOG") {
            Some(p) if p == "off" => Dest::Off,
            Some(p) => Dest::File(PathBuf::from(p)),
            None => var("XDG_STATE_HOME")
                .map(|d| PathBuf::from(d).join("pvectl/audit.log"))
                .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".local/state/pvectl/audit.log")))
                .map_or(Dest::Nowhere("neither PVECTL_AUDIT_LOG, XDG_STATE_HOME nor HOME is set"), Dest::File),
        })
    }

    /// The log at `path`; face `cli`.
    pub fn at(path: PathBuf) -> Self {
        Self::new(Dest::File(path))
    }

    /// A log that records nothing (`PVECTL_AUDIT_LOG=off`): intents get `IntentId(0)`.
    pub fn disabled() -> Self {
        Self::new(Dest::Off)
    }

    /// The file, when there is one.
    pub fn path(&self) -> Option<&Path> {
        match &self.inner.dest {
            Dest::File(p) => Some(p),
            Dest::Off | Dest::Nowhere(_) => None,
        }
    }

    /// The same log written as another face (`cli`, `mcp`, `dashboard`); open intents are not
    /// carried over.
    #[must_use]
    pub fn with_face(self, face: &str) -> Self {
        Self {
            inner: Arc::new(Inner {
                dest: self.inner.dest.clone(),
                face: excerpt(face),
                client: self.inner.client.clone(),
                open: Mutex::default(),
            }),
        }
    }

    /// The same log naming the program that asked for the changes (an MCP client's
    /// `clientInfo.name`, as it introduced itself: recorded, not trusted) in each record's
    /// `client` field; open intents are not carried over.
    #[must_use]
    pub fn with_client(self, client: &str) -> Self {
        Self {
            inner: Arc::new(Inner {
                dest: self.inner.dest.clone(),
                face: self.inner.face.clone(),
                client: Some(excerpt(client)),
                open: Mutex::default(),
            }),
        }
    }

    /// Writes the intent record for a mutation about to be sent; returns its id for
    /// [`AuditLog::outcome`].
    ///
    /// # Errors
    /// `Policy` (exit 10) when the record cannot be written (no place for the log, a file others
    /// can read, I/O failure, a damaged last line, the lock not obtained in time): the caller
    /// must then send nothing.
    pub fn intent(&self, e: &AuditEntry) -> Result<IntentId> {
        if matches!(self.inner.dest, Dest::Off) {
            return Ok(IntentId(0));
        }
        let mut r = self.record(Kind::Intent, Some(&pending(e)));
        r.call = Some(excerpt(&e.call));
        let seq = self.append(r).map_err(|m| Error::Policy(format!("{m}: nothing was sent (no audit, no action)")))?;
        self.open().insert(seq, pending(e));
        Ok(IntentId(seq))
    }

    /// Writes the outcome record closing `intent`, repeating the intent's target, action, tier,
    /// guest and digest (when the intent was written by this log).
    ///
    /// # Errors
    /// `Policy` when the record cannot be written; the mutation has been sent by then, so a
    /// caller reports this without changing the mutation's own result.
    pub fn outcome(&self, intent: IntentId, outcome: AuditOutcome, upid: Option<&str>, message: Option<&str>) -> Result<()> {
        if matches!(self.inner.dest, Dest::Off) || intent.0 == 0 {
            return Ok(());
        }
        let p = self.open().remove(&intent.0);
        let mut r = self.record(Kind::Outcome, p.as_ref());
        r.outcome = Some(outcome);
        r.upid = upid.map(excerpt);
        r.message = message.map(excerpt);
        r.intent = Some(intent.0);
        self.append(r).map(drop).map_err(|m| Error::Policy(format!("{m}: the outcome of record {} was not recorded", intent.0)))
    }

    /// Writes a refusal record: pvectl declined the mutation (`reason`), nothing was sent.
    ///
    /// # Errors
    /// `Policy` when the record cannot be written.
    pub fn refusal(&self, e: &AuditEntry, reason: &str) -> Result<()> {
        if matches!(self.inner.dest, Dest::Off) {
            return Ok(());
        }
        let mut r = self.record(Kind::Refusal, Some(&pending(e)));
        r.call = Some(excerpt(&e.call));
        r.message = Some(excerpt(reason));
        self.append(r).map(drop).map_err(|m| Error::Policy(format!("{m}: the refusal was not recorded")))
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Pending>> {
        // A poisoned map only loses the fields outcomes repeat; the chain is in the file.
        self.inner.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn record(&self, kind: Kind, p: Option<&Pending>) -> Line<'_> {
        Line {
            seq: 0,
            time: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            who: who(),
            pid: std::process::id(),
            face: &self.inner.face,
            client: self.inner.client.as_deref(),
            record: kind,
            target: p.map(|p| p.target.clone()),
            action: p.map(|p| p.action.clone()),
            tier: p.map(|p| p.tier),
            vmid: p.and_then(|p| p.vmid),
            node: p.and_then(|p| p.node.clone()),
            digest: p.and_then(|p| p.digest.clone()),
            call: None,
            upid: None,
            outcome: None,
            message: None,
            intent: None,
            prev: String::new(),
            hash: None,
        }
    }

    /// Appends `r` under the lock, chained to the last record; returns its `seq`. The error
    /// is a sentence naming the file.
    fn append(&self, mut r: Line<'_>) -> std::result::Result<u64, String> {
        let path = match &self.inner.dest {
            Dest::File(p) => p,
            Dest::Nowhere(why) => return Err(format!("there is no audit log ({why}; set PVECTL_AUDIT_LOG)")),
            Dest::Off => return Ok(0),
        };
        let fail = |what: &str, e: &dyn std::fmt::Display| format!("failed to {what} the audit log {}: {e}", path.display());
        let file = open_private(path)?;
        let _lock = lock(&file, true).map_err(|e| fail("lock", &e))?;
        let tail = last_record(&file)
            .map_err(|e| format!("the audit log {} is damaged at its end ({e}); check it with `pvectl audit verify`", path.display()))?;
        r.seq = tail.seq + 1;
        r.prev = tail.hash;
        let body = serde_json::to_value(&r).map_err(|e| fail("encode a record for", &e))?;
        r.hash = Some(canonical_hash(&r.prev, &body));
        let mut line = if tail.needs_newline { b"\n".to_vec() } else { Vec::new() };
        serde_json::to_writer(&mut line, &r).map_err(|e| fail("encode a record for", &e))?;
        line.push(b'\n');
        // One write of the whole line: O_APPEND puts it at the end in one piece.
        let written = (&file).write(&line).map_err(|e| fail("write", &e))?;
        if written != line.len() {
            return Err(fail("write", &format!("short write ({written} of {} bytes)", line.len())));
        }
        file.sync_data().map_err(|e| fail("sync", &e))?;
        Ok(r.seq)
    }
}

fn pending(e: &AuditEntry) -> Pending {
    Pending {
        target: excerpt(&e.target),
        action: excerpt(&e.action),
        tier: e.tier,
        vmid: e.vmid,
        node: e.node.as_deref().map(excerpt),
        digest: e.digest.as_deref().map(excerpt),
    }
}

/// Opens (creating) the log for reading and appending: the file mode 0600, its directory
/// created mode 0700 when missing. An existing file that group or others can access is
/// refused rather than changed: someone may already have read or altered it.
fn open_private(path: &Path) -> std::result::Result<File, String> {
    let shown = path.display();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("failed to create the directory {} of the audit log: {e}", dir.display()))?;
    }
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("failed to open the audit log {shown}: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("failed to read the audit log {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("the audit log {shown} is not a regular file"));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!("the audit log {shown} has mode {mode:04o}: group or others can access it; check it, then `chmod 600` it"));
    }
    Ok(file)
}

/// At most [`MAX_TEXT`] bytes of `s`, cut at a character boundary and marked with `…`.
pub fn excerpt(s: &str) -> String {
    if s.len() <= MAX_TEXT {
        return s.to_owned();
    }
    let mut end = MAX_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// `user@host` of this process, computed once: the user from `USER`/`LOGNAME`, else the
/// numeric uid; the host from `/etc/hostname`, else the kernel's (`uname -n`).
fn who() -> &'static str {
    static WHO: OnceLock<String> = OnceLock::new();
    WHO.get_or_init(|| {
        let user = ["USER", "LOGNAME"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
            .or_else(|| std::fs::metadata("/proc/self").ok().map(|m| m.uid().to_string()))
            .unwrap_or_else(|| "?".into());
        let host = ["/etc/hostname", "/proc/sys/kernel/hostname"]
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()))
            .or_else(|| {
                let out = std::process::Command::new("uname").arg("-n").output().ok()?;
                Some(String::from_utf8_lossy(&out.stdout).trim().to_owned()).filter(|s| !s.is_empty())
            })
            .unwrap_or_else(|| "?".into());
        excerpt(&format!("{user}@{host}"))
    })
}
