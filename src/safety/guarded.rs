//! [`Guarded`]: a backend wrapper through which every change must pass. Reads go straight
//! through; [`Backend::execute`] runs only what the gate approved for this run (a tier at or
//! above the mutation's), and every execution is written to the audit log: an intent record
//! before it is sent (if that fails, nothing is sent), an outcome record after.
//!
//! Being a [`Backend`] itself, nothing added to the trait can slip past it: a new mutation is
//! a new [`Mutation`] variant, gated here by its tier.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value;

use super::audit::{AuditEntry, AuditLog, AuditOutcome};
use crate::backend::{Backend, GuestFilter, Method, Mutation, Params, ResourceType, Started, TaskFilter, Tier};
use crate::error::{Error, Result};
use crate::model::{
    ClusterResource, ClusterStatusEntry, Guest, GuestConfig, GuestRef, GuestStatus, Node, NodeName, NodeStatus, Snapshot, Storage, Task,
    TaskLogLine, TaskStatus, Upid, Version,
};

/// A backend that executes only approved mutations, and audits them.
#[derive(Debug)]
pub struct Guarded {
    inner: Arc<dyn Backend>,
    approved: Mutex<Option<Tier>>,
    audit: AuditLog,
}

impl Guarded {
    /// Wraps `inner`; nothing gated is approved yet.
    pub fn new(inner: Arc<dyn Backend>, audit: AuditLog) -> Self {
        Self { inner, approved: Mutex::new(None), audit }
    }

    /// Records the gate's consent for mutations up to `tier` for the rest of this run.
    ///
    /// # Panics
    /// Never in practice: the approval lock is only held for an assignment.
    pub fn approve(&self, tier: Tier) {
        let mut a = self.approved.lock().expect("approval lock is never poisoned: no panics while held");
        *a = Some(a.map_or(tier, |t| t.max(tier)));
    }

    fn allowed(&self, tier: Tier) -> bool {
        !tier.is_gated() || self.approved.lock().expect("approval lock is never poisoned").is_some_and(|t| t >= tier)
    }
}

#[async_trait]
impl Backend for Guarded {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    async fn version(&self) -> Result<Version> {
        self.inner.version().await
    }
    async fn cluster_status(&self) -> Result<Vec<ClusterStatusEntry>> {
        self.inner.cluster_status().await
    }
    async fn cluster_resources(&self, filter: Option<ResourceType>) -> Result<Vec<ClusterResource>> {
        self.inner.cluster_resources(filter).await
    }
    async fn nodes(&self) -> Result<Vec<Node>> {
        self.inner.nodes().await
    }
    async fn node_status(&self, node: &NodeName) -> Result<NodeStatus> {
        self.inner.node_status(node).await
    }
    async fn guests(&self, filter: &GuestFilter) -> Result<Vec<Guest>> {
        self.inner.guests(filter).await
    }
    async fn guest_status(&self, guest: &GuestRef) -> Result<GuestStatus> {
        self.inner.guest_status(guest).await
    }
    async fn guest_config(&self, guest: &GuestRef) -> Result<GuestConfig> {
        self.inner.guest_config(guest).await
    }
    async fn snapshots(&self, guest: &GuestRef) -> Result<Vec<Snapshot>> {
        self.inner.snapshots(guest).await
    }
    async fn tasks(&self, node: &NodeName, filter: &TaskFilter) -> Result<Vec<Task>> {
        self.inner.tasks(node, filter).await
    }
    async fn task_status(&self, upid: &Upid) -> Result<TaskStatus> {
        self.inner.task_status(upid).await
    }
    async fn task_log(&self, upid: &Upid, start: u64, limit: u64) -> Result<Vec<TaskLogLine>> {
        self.inner.task_log(upid, start, limit).await
    }
    async fn storages(&self, node: Option<&NodeName>) -> Result<Vec<Storage>> {
        self.inner.storages(node).await
    }
    async fn raw(&self, method: Method, path: &str, params: &Params) -> Result<Value> {
        if method != Method::Get {
            return Err(Error::Usage(format!("{method} {path} is a write: it goes through execute (and the safety gate)")));
        }
        self.inner.raw(method, path, params).await
    }
    async fn execute(&self, mutation: &Mutation) -> Result<Started> {
        let tier = mutation.tier();
        if !self.allowed(tier) {
            return Err(Error::ConfirmationRequired(format!("{} is {tier} and was not confirmed; nothing was changed", mutation.name())));
        }
        let entry = AuditEntry {
            target: self.inner.describe(),
            action: mutation.name(),
            tier,
            vmid: mutation.guest().map(|g| g.vmid.get()),
            node: mutation.guest().map(|g| g.node.to_string()),
            digest: None,
            call: self.inner.render(mutation),
        };
        let intent = self.audit.intent(&entry)?;
        let result = self.inner.execute(mutation).await;
        let (outcome, upid, message) = match &result {
            Ok(Started::Task(upid)) => (AuditOutcome::Ok, Some(upid.as_str()), None),
            Ok(Started::Finished { exit, .. }) if !exit.is_success() => (AuditOutcome::Failed, None, Some(exit.as_text())),
            Ok(Started::Finished { .. } | Started::Value(_)) => (AuditOutcome::Ok, None, None),
            // Cut off mid-call: it may or may not have reached PVE.
            Err(e @ (Error::Timeout { .. } | Error::Transport { .. })) => (AuditOutcome::Unknown, None, Some(e.to_string())),
            Err(e) => (AuditOutcome::Failed, None, Some(e.to_string())),
        };
        if let Err(e) = self.audit.outcome(intent, outcome, upid, message.as_deref()) {
            // The mutation was sent: its own result stands; the gap shows as an open intent.
            eprintln!("pvectl: warning: {e}");
        }
        result
    }
    fn render(&self, mutation: &Mutation) -> String {
        self.inner.render(mutation)
    }
    async fn close(&self) -> Result<()> {
        self.inner.close().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ApiBackend;
    use crate::backend::PowerAction;
    use crate::backend::sim::{SimBackend, SimTransport};

    fn guarded() -> Guarded {
        let sim: SimBackend = ApiBackend::new(SimTransport::demo());
        Guarded::new(Arc::new(sim), AuditLog::disabled())
    }

    fn stop() -> Mutation {
        let guest =
            GuestRef { vmid: "100".parse().expect("vmid"), node: "pve1".parse().expect("node"), kind: crate::model::GuestKind::Qemu };
        Mutation::Power { guest, action: PowerAction::Stop, params: Vec::new() }
    }

    #[tokio::test]
    async fn unapproved_gated_mutation_never_reaches_the_backend() {
        let g = guarded();
        let e = g.execute(&stop()).await.expect_err("not approved");
        assert!(matches!(e, Error::ConfirmationRequired(_)));
        let s = g.guest_status(stop().guest().expect("guest")).await.expect("status");
        assert_eq!(s.status, "running", "nothing happened");
        g.approve(Tier::Disruptive);
        assert!(matches!(g.execute(&stop()).await, Err(Error::ConfirmationRequired(_))), "disruptive consent does not cover destructive");
    }

    #[tokio::test]
    async fn no_audit_no_action() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("file"), "").expect("a file where the directory should be");
        let sim: SimBackend = ApiBackend::new(SimTransport::demo());
        let g = Guarded::new(Arc::new(sim), AuditLog::at(dir.path().join("file/audit.log")));
        g.approve(Tier::Destructive);
        assert!(matches!(g.execute(&stop()).await, Err(Error::Policy(_))));
        let s = g.guest_status(stop().guest().expect("guest")).await.expect("status");
        assert_eq!(s.status, "running", "nothing was sent");
    }

    #[tokio::test]
    async fn execution_is_bracketed_by_intent_and_outcome() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("audit.log");
        let sim: SimBackend = ApiBackend::new(SimTransport::demo());
        let g = Guarded::new(Arc::new(sim), AuditLog::at(path.clone()));
        g.approve(Tier::Destructive);
        let Started::Task(upid) = g.execute(&stop()).await.expect("stop") else { panic!("the sim starts a task") };
        assert!(matches!(g.execute(&stop()).await, Err(Error::Conflict(_))), "already stopped");
        let r = crate::safety::read_records(&path).expect("records");
        let fields = |i: usize, k: &str| r[i][k].as_str().map(str::to_owned);
        assert_eq!(r.len(), 4);
        assert_eq!(
            (fields(0, "record"), fields(0, "action"), r[0]["vmid"].as_u64()),
            (Some("intent".into()), Some("stop".into()), Some(100))
        );
        assert_eq!(
            (fields(1, "outcome"), fields(1, "upid"), r[1]["intent"].as_u64()),
            (Some("ok".into()), Some(upid.to_string()), Some(1))
        );
        assert_eq!((fields(3, "outcome"), r[3]["intent"].as_u64()), (Some("failed".into()), Some(3)));
        assert!(crate::safety::verify(&path).expect("verify").intact());
    }

    #[tokio::test]
    async fn raw_writes_are_refused() {
        let g = guarded();
        assert!(matches!(g.raw(Method::Post, "/nodes/pve1/qemu/100/status/stop", &Vec::new()).await, Err(Error::Usage(_))));
    }
}
