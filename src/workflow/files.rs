//! `guest file push|pull` as [`Action`]s: qemu through the guest agent (`agent/file-write`,
//! `agent/file-read`), lxc with `pct push`/`pct pull` (command backends only; their paths on
//! the node side are the node's). `pct push` exits 0 even when it failed (OPERATIONS.md fact
//! 21), so a push is checked by reading the size back inside the guest.

use async_trait::async_trait;
use base64::Engine as _;
use serde_json::{Value, json};

use crate::backend::{Backend, Method, Mutation, Params};
use crate::error::{Error, Result};
use crate::model::{GuestKind, Vmid};
use crate::workflow::action::{Action, Draft, Prepared, ReadOnly};
use crate::workflow::discover::discover;
use crate::workflow::report::{GuestState, Report};

/// PVE's limit on `agent/file-write`'s content, bytes (the schema's `maxLength`, 60 KiB).
pub const MAX_AGENT_FILE: usize = 60 * 1024;

/// What to push.
#[derive(Debug, Clone)]
pub enum PushSource {
    /// Bytes read on this machine (qemu: sent through the agent).
    Bytes(Vec<u8>),
    /// A path on the node (lxc: `pct push` reads it there).
    NodePath(String),
}

/// `guest file push`.
#[derive(Debug, Clone)]
pub struct FilePush {
    /// The guest.
    pub vmid: Vmid,
    /// The content or the node's file.
    pub source: PushSource,
    /// The path inside the guest.
    pub dst: String,
}

#[async_trait]
impl Action for FilePush {
    fn name(&self) -> String {
        "file push".into()
    }

    fn summary(&self, d: &Draft) -> String {
        d.target
            .as_ref()
            .map_or_else(|| self.name(), |g| format!("write {} inside guest {} ({})", crate::model::excerpt(&self.dst, 80), g.vmid, g.kind))
    }

    async fn prepare(&self, b: &ReadOnly<'_>) -> Result<Prepared> {
        let (guest, _) = discover(b, self.vmid, None, None).await?;
        let before = GuestState::from_status(&b.guest_status(&guest).await?);
        if before.status != "running" {
            return Err(Error::Conflict(format!("guest {} is {}: files are copied only into a running guest", self.vmid, before.status)));
        }
        let mut mutations = Vec::new();
        let size = match (&self.source, guest.kind) {
            (PushSource::Bytes(bytes), GuestKind::Qemu) => {
                if bytes.len() > MAX_AGENT_FILE {
                    return Err(Error::Usage(format!(
                        "the guest agent takes at most {MAX_AGENT_FILE} bytes a file; this one has {}",
                        bytes.len()
                    )));
                }
                let content_b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
                mutations.push(Mutation::FileWrite { guest: guest.clone(), file: self.dst.clone(), content_b64, size: bytes.len() as u64 });
                Some(bytes.len() as u64)
            }
            (PushSource::NodePath(src), GuestKind::Lxc) => {
                mutations.push(Mutation::FilePush { guest: guest.clone(), src: src.clone(), dst: self.dst.clone() });
                // `pct push` is silent even when it failed: read the size back in the same plan.
                let stat = ["stat", "-c", "%s", self.dst.as_str()].map(str::to_owned).to_vec();
                mutations.push(Mutation::Exec { guest: guest.clone(), argv: stat });
                None
            }
            (PushSource::Bytes(_), GuestKind::Lxc) | (PushSource::NodePath(_), GuestKind::Qemu) => {
                return Err(Error::Internal("push source does not fit the guest kind".into()));
            }
        };
        let mut d = Draft::new(Some(guest), Some(before), mutations);
        d.details = Some(json!({"dst": self.dst, "size": size}));
        Ok(Prepared::Changes(Box::new(d)))
    }

    async fn observe(&self, _b: &dyn Backend, _d: &Draft) -> Result<Option<GuestState>> {
        Ok(None)
    }

    fn reached(&self, _d: &Draft, _after: &GuestState) -> bool {
        true
    }

    /// Checks the file arrived whole: qemu reads it back through the agent; lxc takes the size
    /// `stat` printed inside the container (the plan's second call).
    async fn conclude(&self, b: &dyn Backend, d: &Draft, report: &mut Report, error: Option<Error>) -> Option<Error> {
        if error.is_some() {
            return error;
        }
        let Some(g) = &d.target else { return None };
        let found: Option<u64> = match &self.source {
            PushSource::Bytes(_) => {
                let params: Params = vec![("file".into(), self.dst.clone())];
                match b.raw(Method::Get, &format!("{}/agent/file-read", g.path()), &params).await {
                    Ok(v) => v.get("bytes-read").and_then(Value::as_u64),
                    Err(e) => {
                        return Some(Error::OutcomeUnknown {
                            message: "the file was sent, then reading it back failed".into(),
                            upid: None,
                            source: Some(Box::new(e)),
                        });
                    }
                }
            }
            PushSource::NodePath(_) => report.result.as_ref().and_then(|r| r["out-data"].as_str()).and_then(|s| s.trim().parse().ok()),
        };
        let expected = match &self.source {
            PushSource::Bytes(bytes) => Some(bytes.len() as u64),
            PushSource::NodePath(src) => std::fs::metadata(src).ok().map(|m| m.len()),
        };
        report.result = None;
        if let Some(Value::Object(details)) = &mut report.details {
            details.insert("size_in_guest".into(), json!(found));
        }
        match (found, expected) {
            (Some(got), Some(sent)) if got == sent => None,
            (Some(_), None) => None,
            (got, sent) => Some(Error::OutcomeUnknown {
                message: format!(
                    "the copy reported success but the guest shows {} bytes where {} were sent",
                    got.map_or("no file".into(), |n| n.to_string()),
                    sent.map_or("?".into(), |n| n.to_string())
                ),
                upid: None,
                source: None,
            }),
        }
    }
}

/// `guest file pull` of a container: `pct pull` onto the node (reads the guest; writes only
/// the node's file the user named).
#[derive(Debug, Clone)]
pub struct FilePull {
    /// The guest.
    pub vmid: Vmid,
    /// The path inside the container.
    pub src: String,
    /// The file on the node.
    pub dst: String,
}

#[async_trait]
impl Action for FilePull {
    fn name(&self) -> String {
        "file pull".into()
    }

    fn summary(&self, _d: &Draft) -> String {
        format!("copy {} out of guest {}", crate::model::excerpt(&self.src, 80), self.vmid)
    }

    async fn prepare(&self, b: &ReadOnly<'_>) -> Result<Prepared> {
        let (guest, _) = discover(b, self.vmid, None, None).await?;
        if guest.kind != GuestKind::Lxc {
            return Err(Error::Internal("pct pull is for containers".into()));
        }
        let m = Mutation::FilePull { guest: guest.clone(), src: self.src.clone(), dst: self.dst.clone() };
        Ok(Prepared::Changes(Box::new(Draft::new(Some(guest), None, vec![m]))))
    }

    async fn observe(&self, _b: &dyn Backend, _d: &Draft) -> Result<Option<GuestState>> {
        Ok(None)
    }

    fn reached(&self, _d: &Draft, _after: &GuestState) -> bool {
        true
    }
}
