//! The `Backend` trait: one typed API over every way of reaching PVE.
//!
//! Implementations: [`ApiBackend`] over an [`ApiTransport`] (`pvesh` locally or over SSH, the
//! in-process simulator, and [`rest::RestTransport`] over HTTPS), and
//! [`command::QmPctBackend`] for hosts that allow only `qm`/`pct`. Conveniences built from the required methods live in [`BackendExt`].

pub mod api;
pub mod command;
mod deadline;
pub mod inventory;
pub mod lookup;
mod mutation;
mod mutation_calls;
pub mod rest;
pub mod routes;
pub mod sim;

use std::fmt;

use async_trait::async_trait;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::{
    ClusterResource, ClusterStatusEntry, Guest, GuestConfig, GuestKind, GuestRef, GuestStatus, Node, NodeName, NodeStatus, Snapshot,
    Storage, Task, TaskLogLine, TaskStatus, Upid, Version, Vmid,
};

pub use api::{ApiBackend, ApiTransport, Method, Params};
pub use deadline::{Deadlined, MAX_TIMEOUT_SECS};
pub use inventory::{BackupFilter, InventoryExt};
pub use mutation::{METADATA_KEYS, Mutation, PowerAction, Started, Tier, config_tier, ha_sid};

/// The `type` filter of `GET /cluster/resources`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ResourceType {
    /// qemu and lxc guests (`vm`).
    Vm,
    /// Nodes.
    Node,
    /// Storages per node.
    Storage,
}

impl ResourceType {
    /// The API value: `vm`, `node` or `storage`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vm => "vm",
            Self::Node => "node",
            Self::Storage => "storage",
        }
    }
}

/// Which guests `guest list` returns. Empty = all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestFilter {
    /// Only guests on this node.
    pub node: Option<NodeName>,
    /// Only this kind.
    pub kind: Option<GuestKind>,
    /// Only guests with this status (`running`, `stopped`, ...).
    pub status: Option<String>,
    /// Only guests carrying this tag.
    pub tag: Option<String>,
    /// Only guests in this pool.
    pub pool: Option<String>,
}

impl GuestFilter {
    /// Whether `g` passes the filter.
    pub fn matches(&self, g: &Guest) -> bool {
        self.node.as_ref().is_none_or(|n| *n == g.node)
            && self.kind.is_none_or(|k| k == g.kind)
            && self.status.as_ref().is_none_or(|s| *s == g.status)
            && self.tag.as_ref().is_none_or(|t| g.tags.contains(t))
            && self.pool.as_ref().is_none_or(|p| g.pool.as_ref() == Some(p))
    }
}

/// Which tasks `tasks` returns (`GET /nodes/{node}/tasks` parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Only tasks of this guest (`vmid`).
    pub vmid: Option<Vmid>,
    /// Only tasks of this type (`typefilter`, e.g. `qmshutdown`).
    pub task_type: Option<String>,
    /// `active` (running), `archive` (finished, PVE's default) or `all` (`source`).
    pub source: Option<&'static str>,
    /// At most this many (`limit`; PVE's default is 50).
    pub limit: Option<u64>,
}

impl TaskFilter {
    /// As API parameters, in a fixed order.
    pub fn params(&self) -> Params {
        let mut p = Params::new();
        if let Some(v) = self.vmid {
            p.push(("vmid".into(), v.to_string()));
        }
        if let Some(t) = &self.task_type {
            p.push(("typefilter".into(), t.clone()));
        }
        if let Some(s) = self.source {
            p.push(("source".into(), s.to_owned()));
        }
        if let Some(l) = self.limit {
            p.push(("limit".into(), l.to_string()));
        }
        p
    }
}

/// One typed API to a PVE cluster.
///
/// # Contract
/// - Every method is a read except [`Backend::execute`], the one way to change anything;
///   [`Backend::raw`] takes `GET` only. Wrappers (safety, audit) gate `execute`.
/// - Results use the model types whatever the transport: a guest listed through `pvesh`, REST
///   or `qm list` is the same [`Guest`], with `None` where the source has no value.
/// - Identifiers arrive validated (`Vmid`, `NodeName`, `Upid`); a backend never builds a shell
///   string from them: every argument is passed as one argument.
/// - Reads may be retried by callers; a backend does not retry on its own.
///
/// # Errors
/// Every method fails with [`Error`]: `NotFound` (exit 5) for a missing guest, node, task or
/// path; `PermissionDenied` (4); `Conflict` (6); `InvalidParameter` (2); `Unsupported` (2) when
/// the backend has no way to do it (e.g. tasks with `--tools qm-pct`); `Transport`/`Parse` (9)
/// when the target cannot be reached or its output is not understood.
#[async_trait]
pub trait Backend: Send + Sync + fmt::Debug {
    /// Identity for messages, never a secret: `Sim`, `Pvesh(Local)`, `Pvesh(Ssh(root@pve1:22))`.
    fn describe(&self) -> String;

    /// `GET /version`.
    async fn version(&self) -> Result<Version>;

    /// `GET /cluster/status`: the cluster entry and one entry per node.
    async fn cluster_status(&self) -> Result<Vec<ClusterStatusEntry>>;

    /// `GET /cluster/resources [--type vm|node|storage]`.
    async fn cluster_resources(&self, filter: Option<ResourceType>) -> Result<Vec<ClusterResource>>;

    /// `GET /nodes`.
    async fn nodes(&self) -> Result<Vec<Node>>;

    /// `GET /nodes/{node}/status`.
    async fn node_status(&self, node: &NodeName) -> Result<NodeStatus>;

    /// All guests passing `filter`, cluster-wide, sorted by vmid. Over the API this is one
    /// `GET /cluster/resources --type vm` whatever the cluster size.
    async fn guests(&self, filter: &GuestFilter) -> Result<Vec<Guest>>;

    /// `GET /nodes/{node}/{kind}/{vmid}/status/current`.
    async fn guest_status(&self, guest: &GuestRef) -> Result<GuestStatus>;

    /// `GET /nodes/{node}/{kind}/{vmid}/config` (pending values applied, as `qm config`).
    async fn guest_config(&self, guest: &GuestRef) -> Result<GuestConfig>;

    /// `GET /nodes/{node}/{kind}/{vmid}/snapshot`, including the `current` pseudo-entry.
    async fn snapshots(&self, guest: &GuestRef) -> Result<Vec<Snapshot>>;

    /// `GET /nodes/{node}/tasks`: recent tasks of one node, filtered.
    async fn tasks(&self, node: &NodeName, filter: &TaskFilter) -> Result<Vec<Task>>;

    /// `GET /nodes/{node}/tasks/{upid}/status`; the node comes from the UPID.
    async fn task_status(&self, upid: &Upid) -> Result<TaskStatus>;

    /// `GET /nodes/{node}/tasks/{upid}/log?start=&limit=`: lines from `start` (0-based), at most `limit`.
    async fn task_log(&self, upid: &Upid, start: u64, limit: u64) -> Result<Vec<TaskLogLine>>;

    /// Storages with usage: of one node (`GET /nodes/{node}/storage`) or of every node
    /// (`GET /cluster/resources --type storage`).
    async fn storages(&self, node: Option<&NodeName>) -> Result<Vec<Storage>>;

    /// Any API read: `GET path` with `params` -> JSON (`pvesh get`). Other methods are
    /// refused with `Usage`: writes go through [`Backend::execute`].
    async fn raw(&self, method: Method, path: &str, params: &Params) -> Result<Value>;

    /// Makes one change: the API call of `mutation` (or its `qm`/`pct` command line).
    /// Returns the task it started, or, where the tool ran it in the foreground, how it ended.
    ///
    /// # Errors
    /// As the reads; a refusal before any task starts (locked, wrong state, missing) is an
    /// error, a task that starts and fails is not (its exit status tells).
    async fn execute(&self, mutation: &Mutation) -> Result<Started>;

    /// The exact call [`Backend::execute`] would make for `mutation`, for plans and
    /// `--dry-run`: `pvesh create /nodes/pve1/qemu/100/status/shutdown --output-format json`,
    /// `qm shutdown 100`, `POST /nodes/...`. Never contains a secret.
    fn render(&self, mutation: &Mutation) -> String;

    /// Ends the connection explicitly (an SSH session without a persistent master is closed;
    /// a persistent master is left for the next run). Idempotent.
    async fn close(&self) -> Result<()>;
}

/// Conveniences built only from [`Backend`]'s required methods.
#[async_trait]
pub trait BackendExt: Backend {
    /// Finds where a guest lives from one guest listing (`/cluster/resources` over the API).
    ///
    /// # Errors
    /// `NotFound` when no guest has that vmid; `Conflict` when the listing names it twice.
    async fn locate(&self, vmid: Vmid) -> Result<GuestRef> {
        let guests = self.guests(&GuestFilter::default()).await?;
        lookup::guest_in(guests, vmid)?.map(|g| g.guest_ref()).ok_or_else(|| Error::NotFound(format!("guest {vmid} does not exist")))
    }
}

impl<T: Backend + ?Sized> BackendExt for T {}
