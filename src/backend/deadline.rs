//! [`Deadlined`]: a backend wrapper that runs every call under the command's deadline
//! (DESIGN.md §5). A read that outlives it fails as `Transport` (exit 9: nothing was sent); an
//! `execute` that outlives it fails as `OutcomeUnknown` (exit 8: the change may have been sent).
//! Dropping the inner future is what stops the work: a local tool's process group is killed
//! ([`super::command::Runner`]), an SSH channel closed, an HTTP request abandoned.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use tokio::time::Instant;

use crate::backend::{Backend, GuestFilter, Method, Mutation, Params, ResourceType, Started, TaskFilter};
use crate::error::{Error, Result};
use crate::model::{
    ClusterResource, ClusterStatusEntry, Guest, GuestConfig, GuestRef, GuestStatus, Node, NodeName, NodeStatus, Snapshot, Storage, Task,
    TaskLogLine, TaskStatus, Upid, Version,
};

/// Longest deadline accepted (`--timeout`): one week, in seconds. Larger values are usage
/// errors rather than an overflowing clock.
pub const MAX_TIMEOUT_SECS: u64 = 7 * 24 * 3600;

/// How long reads may still run after an `execute` timed out: enough to look up the UPID of
/// the task it started (so `task wait` can resume), short enough to keep the promise of an
/// answer soon after the deadline.
const POST_MORTEM: Duration = Duration::from_millis(1500);

/// A backend whose calls all end by one instant.
#[derive(Debug)]
pub struct Deadlined<B: ?Sized> {
    at: Instant,
    total: Duration,
    /// Set when an `execute` ran out of time: reads may run until then.
    grace: std::sync::Mutex<Option<Instant>>,
    inner: std::sync::Arc<B>,
}

impl<B: Backend + ?Sized> Deadlined<B> {
    /// Wraps `inner`; every call must end within `total` from now.
    ///
    /// # Errors
    /// `Usage` when `total` is longer than [`MAX_TIMEOUT_SECS`].
    pub fn new(inner: std::sync::Arc<B>, total: Duration) -> Result<Self> {
        if total.as_secs() > MAX_TIMEOUT_SECS {
            return Err(Error::Usage(format!(
                "--timeout {} is longer than the {MAX_TIMEOUT_SECS} s (one week) pvectl accepts",
                total.as_secs()
            )));
        }
        Ok(Self { at: Instant::now() + total, total, grace: std::sync::Mutex::new(None), inner })
    }

    /// The instant every call must end by.
    pub fn at(&self) -> Instant {
        self.at
    }

    fn read_until(&self) -> Instant {
        let grace = *self.grace.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        grace.map_or(self.at, |g| g.max(self.at))
    }

    async fn read<T>(&self, what: impl FnOnce() -> String, f: impl Future<Output = Result<T>>) -> Result<T> {
        match tokio::time::timeout_at(self.read_until(), f).await {
            Ok(r) => r,
            Err(_) => Err(Error::Transport {
                message: format!("timed out after {} s (--timeout) reading {}; nothing was changed", self.total.as_secs(), what()),
                source: None,
            }),
        }
    }
}

#[async_trait]
impl<B: Backend + ?Sized> Backend for Deadlined<B> {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    async fn version(&self) -> Result<Version> {
        self.read(|| "GET /version".into(), self.inner.version()).await
    }
    async fn cluster_status(&self) -> Result<Vec<ClusterStatusEntry>> {
        self.read(|| "GET /cluster/status".into(), self.inner.cluster_status()).await
    }
    async fn cluster_resources(&self, filter: Option<ResourceType>) -> Result<Vec<ClusterResource>> {
        self.read(|| "GET /cluster/resources".into(), self.inner.cluster_resources(filter)).await
    }
    async fn nodes(&self) -> Result<Vec<Node>> {
        self.read(|| "GET /nodes".into(), self.inner.nodes()).await
    }
    async fn node_status(&self, node: &NodeName) -> Result<NodeStatus> {
        self.read(|| format!("GET /nodes/{node}/status"), self.inner.node_status(node)).await
    }
    async fn guests(&self, filter: &GuestFilter) -> Result<Vec<Guest>> {
        self.read(|| "the guest list".into(), self.inner.guests(filter)).await
    }
    async fn guest_status(&self, guest: &GuestRef) -> Result<GuestStatus> {
        self.read(|| format!("GET {}/status/current", guest.path()), self.inner.guest_status(guest)).await
    }
    async fn guest_config(&self, guest: &GuestRef) -> Result<GuestConfig> {
        self.read(|| format!("GET {}/config", guest.path()), self.inner.guest_config(guest)).await
    }
    async fn snapshots(&self, guest: &GuestRef) -> Result<Vec<Snapshot>> {
        self.read(|| format!("GET {}/snapshot", guest.path()), self.inner.snapshots(guest)).await
    }
    async fn tasks(&self, node: &NodeName, filter: &TaskFilter) -> Result<Vec<Task>> {
        self.read(|| format!("GET /nodes/{node}/tasks"), self.inner.tasks(node, filter)).await
    }
    async fn task_status(&self, upid: &Upid) -> Result<TaskStatus> {
        self.read(|| format!("the status of task {upid}"), self.inner.task_status(upid)).await
    }
    async fn task_log(&self, upid: &Upid, start: u64, limit: u64) -> Result<Vec<TaskLogLine>> {
        self.read(|| format!("the log of task {upid}"), self.inner.task_log(upid, start, limit)).await
    }
    async fn storages(&self, node: Option<&NodeName>) -> Result<Vec<Storage>> {
        self.read(|| "the storage list".into(), self.inner.storages(node)).await
    }
    async fn raw(&self, method: Method, path: &str, params: &Params) -> Result<Value> {
        self.read(|| format!("{method} {path}"), self.inner.raw(method, path, params)).await
    }
    async fn execute(&self, mutation: &Mutation) -> Result<Started> {
        if let Ok(r) = tokio::time::timeout_at(self.at, self.inner.execute(mutation)).await {
            r
        } else {
            {
                *self.grace.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now() + POST_MORTEM);
                Err(Error::OutcomeUnknown {
                    message: format!("timed out after {} s (--timeout) while {} was being sent", self.total.as_secs(), mutation.name()),
                    upid: None,
                    source: None,
                })
            }
        }
    }
    fn render(&self, mutation: &Mutation) -> String {
        self.inner.render(mutation)
    }
    async fn close(&self) -> Result<()> {
        // Closing gets a short grace of its own: a private master must be told to exit even
        // when the command's deadline has passed.
        tokio::time::timeout(Duration::from_secs(5), self.inner.close())
            .await
            .unwrap_or_else(|_| Err(Error::Transport { message: "timed out closing the connection".into(), source: None }))
    }
}
