//! [`Guarded`]: a backend wrapper through which every change must pass. Reads go straight
//! through; [`Backend::execute`] runs only what the gate approved for this run (a tier at or
//! above the mutation's), and every execution is written to the audit log.
//!
//! Being a [`Backend`] itself, nothing added to the trait can slip past it: a new mutation is
//! a new [`Mutation`] variant, gated here by its tier.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value;

use super::audit::AuditLog;
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
        let call = self.inner.render(mutation);
        let result = self.inner.execute(mutation).await;
        self.audit.record(&self.inner.describe(), mutation, &call, &result);
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
    async fn raw_writes_are_refused() {
        let g = guarded();
        assert!(matches!(g.raw(Method::Post, "/nodes/pve1/qemu/100/status/stop", &Vec::new()).await, Err(Error::Usage(_))));
    }
}
