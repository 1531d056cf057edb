//! The [`Action`] trait: what one operation reads first, what it sends, and what "done" looks
//! like. The engine ([`super::engine::run`]) does the rest for every action alike: policy
//! facts, the plan and its digest, consent, apply, wait, re-check, report.
//!
//! `prepare` gets a [`ReadOnly`] view of the backend: it cannot send a change.

use async_trait::async_trait;
use serde_json::Value;

use crate::backend::{Backend, GuestFilter, Method, Mutation, Params, ResourceType, Started, TaskFilter};
use crate::error::{Error, Result};
use crate::model::{
    ClusterResource, ClusterStatusEntry, Guest, GuestConfig, GuestRef, GuestStatus, Node, NodeName, NodeStatus, Snapshot, Storage, Task,
    TaskLogLine, TaskStatus, Upid, Version,
};
use crate::workflow::report::{GuestState, Report};

/// What `prepare` found.
#[derive(Debug)]
pub enum Prepared {
    /// Nothing to do: the guest is already as asked (`changed: false`, exit 0, nothing sent).
    Noop(Box<Report>),
    /// The changes to make.
    Changes(Box<Draft>),
}

/// A plan before the engine adds policy facts, consent requirements and the digest.
#[derive(Debug)]
pub struct Draft {
    /// The guest, if any.
    pub target: Option<GuestRef>,
    /// The snapshot, for snapshot actions.
    pub snapshot: Option<String>,
    /// State read first.
    pub before: Option<GuestState>,
    /// The calls, in order (one for every action so far).
    pub mutations: Vec<Mutation>,
    /// Warnings to show with the plan.
    pub warnings: Vec<String>,
    /// The guest the action makes (a clone, a restore, a create): what the re-check reads.
    pub creates: Option<GuestRef>,
    /// What PVE would refuse before starting a task (a running guest's delete): raised after
    /// policy has decided, so pvectl's own refusals (10) come first, as PVE's own checks order
    /// protection before state; nothing is sent either way.
    pub refusal: Option<Error>,
    /// Action-specific plan data (old -> new config values), shown in the plan and report.
    pub details: Option<serde_json::Value>,
}

impl Draft {
    /// A draft of `mutations` on `target`, with the state read first.
    pub fn new(target: Option<GuestRef>, before: Option<GuestState>, mutations: Vec<Mutation>) -> Self {
        Self { target, snapshot: None, before, mutations, warnings: Vec::new(), creates: None, refusal: None, details: None }
    }

    /// The guest the re-check reads: the one the action makes, else its target.
    pub fn subject(&self) -> Option<&GuestRef> {
        self.creates.as_ref().or(self.target.as_ref())
    }

    /// The subject's state now (`GET .../status/current`); `None` without a subject.
    ///
    /// # Errors
    /// Read errors.
    pub async fn read_subject(&self, b: &dyn Backend) -> Result<Option<GuestState>> {
        match self.subject() {
            Some(g) => Ok(Some(GuestState::from_status(&b.guest_status(g).await?))),
            None => Ok(None),
        }
    }
}

/// One operation on the engine.
#[async_trait]
pub trait Action: Send + Sync {
    /// Name for plans and reports: `stop`, `snapshot create`, `api create`.
    fn name(&self) -> String;

    /// One line for the prompt: `stop guest 100 (qemu) on pve1`.
    fn summary(&self, draft: &Draft) -> String;

    /// Reads what the action needs (discovery, lock, state) and returns the changes to make, or
    /// that there is nothing to do. Refusals that need no PVE round trip happen here.
    ///
    /// # Errors
    /// `NotFound` (5), `Conflict` (6: locked, wrong state), `Usage` (2), read errors.
    async fn prepare(&self, b: &ReadOnly<'_>) -> Result<Prepared>;

    /// Reads the state after the calls (one read; the engine repeats it while
    /// [`Action::reached`] says no and the state may lag, as for HA-managed guests).
    ///
    /// # Errors
    /// Read errors.
    async fn observe(&self, b: &dyn Backend, draft: &Draft) -> Result<Option<GuestState>>;

    /// Whether `after` is what the action produces. `None` = nothing to compare (raw writes).
    fn reached(&self, draft: &Draft, after: &GuestState) -> bool;

    /// Whether the observed state can lag the task's end, so the engine re-reads until
    /// [`Action::reached`] or the deadline (HA-managed power actions, a clone's lock).
    fn may_lag(&self, _draft: &Draft) -> bool {
        false
    }

    /// After the calls (done or failed): adds what only this action knows to the report
    /// (`details`, e.g. per-guest backup outcomes from the task logs) and may sharpen the
    /// error with it (`job errors` naming the guests that failed). Reads only.
    async fn conclude(&self, _b: &dyn Backend, _draft: &Draft, _report: &mut Report, error: Option<Error>) -> Option<Error> {
        error
    }
}

/// A read-only view of a backend for `prepare`: every read passes, `execute` is refused.
#[derive(Debug)]
pub struct ReadOnly<'a>(pub &'a dyn Backend);

#[async_trait]
impl Backend for ReadOnly<'_> {
    fn describe(&self) -> String {
        self.0.describe()
    }
    async fn version(&self) -> Result<Version> {
        self.0.version().await
    }
    async fn cluster_status(&self) -> Result<Vec<ClusterStatusEntry>> {
        self.0.cluster_status().await
    }
    async fn cluster_resources(&self, filter: Option<ResourceType>) -> Result<Vec<ClusterResource>> {
        self.0.cluster_resources(filter).await
    }
    async fn nodes(&self) -> Result<Vec<Node>> {
        self.0.nodes().await
    }
    async fn node_status(&self, node: &NodeName) -> Result<NodeStatus> {
        self.0.node_status(node).await
    }
    async fn guests(&self, filter: &GuestFilter) -> Result<Vec<Guest>> {
        self.0.guests(filter).await
    }
    async fn guest_status(&self, guest: &GuestRef) -> Result<GuestStatus> {
        self.0.guest_status(guest).await
    }
    async fn guest_config(&self, guest: &GuestRef) -> Result<GuestConfig> {
        self.0.guest_config(guest).await
    }
    async fn snapshots(&self, guest: &GuestRef) -> Result<Vec<Snapshot>> {
        self.0.snapshots(guest).await
    }
    async fn tasks(&self, node: &NodeName, filter: &TaskFilter) -> Result<Vec<Task>> {
        self.0.tasks(node, filter).await
    }
    async fn task_status(&self, upid: &Upid) -> Result<TaskStatus> {
        self.0.task_status(upid).await
    }
    async fn task_log(&self, upid: &Upid, start: u64, limit: u64) -> Result<Vec<TaskLogLine>> {
        self.0.task_log(upid, start, limit).await
    }
    async fn storages(&self, node: Option<&NodeName>) -> Result<Vec<Storage>> {
        self.0.storages(node).await
    }
    async fn raw(&self, method: Method, path: &str, params: &Params) -> Result<Value> {
        self.0.raw(method, path, params).await
    }
    async fn execute(&self, mutation: &Mutation) -> Result<Started> {
        Err(Error::Internal(format!("prepare tried to send {}: plans only read", mutation.name())))
    }
    fn render(&self, mutation: &Mutation) -> String {
        self.0.render(mutation)
    }
    async fn close(&self) -> Result<()> {
        Ok(())
    }
}
