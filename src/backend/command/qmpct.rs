//! [`QmPctBackend`]: the [`Backend`] for hosts whose sudo rules allow only `qm` and `pct`
//! (`--tools qm-pct`).
//!
//! It sees one node, the host it runs on: the node name is the first label of `hostname`,
//! asked once and cached. Guests, status, config and snapshots come from the text of
//! `qm`/`pct` (parsed by [`super::text`] and [`super::text_detail`]); everything that needs
//! the cluster API (tasks, storage, node and cluster status, raw calls) is `Unsupported`.
//! Commands go through a [`CommandRunner`], so tests can feed real captured outputs through
//! the real parsers without a PVE host.

use std::fmt;

use async_trait::async_trait;
use tokio::sync::OnceCell;

use super::errors::classify_cli_error;
use super::runner::{CommandOutput, Runner};
use super::text::{parse_pct_list, parse_qm_list, parse_status};
use super::text_detail::{parse_config, parse_listsnapshot};
use crate::backend::{Backend, GuestFilter, Method, Mutation, Params, ResourceType, Started, TaskFilter};
use crate::error::{Error, Result};
use crate::model::{
    ClusterResource, ClusterStatusEntry, ExitStatus, Guest, GuestConfig, GuestKind, GuestRef, GuestStatus, Node, NodeName, NodeStatus,
    Snapshot, Storage, Task, TaskLogLine, TaskStatus, Upid, Version,
};

/// Runs one program with its arguments on the target: what [`QmPctBackend`] needs from a
/// [`Runner`]. `Display` names the target for [`Backend::describe`] (never a secret).
#[async_trait]
pub trait CommandRunner: Send + Sync + fmt::Debug + fmt::Display {
    /// Runs `program args...`, each argument passed as one argument, and collects its exit
    /// code, stdout and stderr. A non-zero exit is not an error here.
    ///
    /// # Errors
    /// `Transport` when the program cannot be started; `Usage` for a NUL byte in an argument.
    async fn run(&self, program: &str, args: &[String]) -> Result<CommandOutput>;

    /// Ends the connection, if any. Idempotent.
    async fn close(&self) -> Result<()>;
}

#[async_trait]
impl CommandRunner for Runner {
    async fn run(&self, program: &str, args: &[String]) -> Result<CommandOutput> {
        Runner::run(self, program, args).await
    }

    async fn close(&self) -> Result<()> {
        Runner::close(self).await
    }
}

/// A [`Backend`] over `qm` and `pct` text output on one host.
///
/// Commands it runs (each argument separately): `hostname` (once), `qm list`, `pct list`,
/// `qm|pct status <vmid> --verbose`, `qm|pct config <vmid>`, `qm|pct listsnapshot <vmid>`.
#[derive(Debug)]
pub struct QmPctBackend {
    runner: Box<dyn CommandRunner>,
    node: OnceCell<NodeName>,
}

/// Why API-only operations fail in this mode; reads after "is not available".
const UNSUPPORTED: &str = "with --tools qm-pct (needs pvesh or the API)";

fn unsupported(operation: impl Into<String>) -> Error {
    Error::Unsupported { operation: operation.into(), reason: UNSUPPORTED.to_owned() }
}

impl QmPctBackend {
    /// A backend running `qm`/`pct` through `runner` (this host or SSH).
    pub fn new(runner: Runner) -> Self {
        Self::with_runner(runner)
    }

    /// A backend over any [`CommandRunner`] (e.g. canned outputs in tests).
    pub fn with_runner(runner: impl CommandRunner + 'static) -> Self {
        Self { runner: Box::new(runner), node: OnceCell::new() }
    }

    /// The name of the node this backend sees: the first label of `hostname` on the target,
    /// run once and cached (PVE names a node after its short host name).
    ///
    /// # Errors
    /// What `hostname` failing maps to ([`classify_cli_error`]); `Parse` when its output is not
    /// a valid node name.
    pub async fn node_name(&self) -> Result<NodeName> {
        self.node
            .get_or_try_init(|| async {
                let out = self.run_ok("hostname", Vec::new()).await?;
                let label = out.trim().split('.').next().unwrap_or_default();
                label.parse::<NodeName>().map_err(|e| Error::parse("hostname output", e))
            })
            .await
            .cloned()
    }

    /// Runs `program args`, returning stdout as text; a non-zero exit is classified from stderr.
    async fn run_ok(&self, program: &str, args: Vec<String>) -> Result<String> {
        let out = self.runner.run(program, &args).await?;
        if out.status != 0 {
            return Err(classify_cli_error(program, out.status, &out.stderr_text()));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs `<qm|pct> <verb> <vmid> [extra...]` for a guest on this node.
    async fn run_guest(&self, guest: &GuestRef, verb: &str, extra: &[&str]) -> Result<String> {
        let node = self.node_name().await?;
        if guest.node != node {
            return Err(Error::NotFound(format!(
                "guest {} is on node {}, but --tools qm-pct sees only this host ({node})",
                guest.vmid, guest.node
            )));
        }
        let mut args = vec![verb.to_owned(), guest.vmid.to_string()];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        self.run_ok(guest.kind.tool(), args).await
    }

    /// The `qm`/`pct` command line of a mutation ([`Mutation::tool_line`]).
    ///
    /// # Errors
    /// `Unsupported` for raw API writes.
    pub fn tool_argv(mutation: &Mutation) -> Result<(&'static str, Vec<String>)> {
        mutation.tool_line().ok_or_else(|| match mutation {
            Mutation::Raw { method, path, .. } => unsupported(format!("api {} {path}", method.pvesh_verb())),
            other => unsupported(other.name()),
        })
    }

    /// `qm list` or `pct list`, parsed.
    async fn list(&self, kind: GuestKind, node: &NodeName) -> Result<Vec<Guest>> {
        let text = self.run_ok(kind.tool(), vec!["list".to_owned()]).await?;
        match kind {
            GuestKind::Qemu => parse_qm_list(&text, node),
            GuestKind::Lxc => parse_pct_list(&text, node),
        }
    }

    fn node_resource(node: &NodeName) -> ClusterResource {
        ClusterResource {
            id: format!("node/{node}"),
            resource_type: "node".to_owned(),
            node: Some(node.to_string()),
            status: Some("online".to_owned()),
            ..ClusterResource::default()
        }
    }

    fn guest_resource(g: Guest) -> ClusterResource {
        ClusterResource {
            id: format!("{}/{}", g.kind, g.vmid),
            resource_type: g.kind.as_str().to_owned(),
            node: Some(g.node.to_string()),
            status: Some(g.status),
            name: g.name,
            vmid: Some(u64::from(g.vmid.get())),
            cpu: g.cpu,
            maxcpu: g.maxcpu,
            mem: g.mem,
            maxmem: g.maxmem,
            disk: g.disk,
            maxdisk: g.maxdisk,
            uptime: g.uptime,
            template: g.template,
            tags: (!g.tags.is_empty()).then(|| g.tags.join(";")),
            pool: g.pool,
            lock: g.lock,
            ..ClusterResource::default()
        }
    }
}

#[async_trait]
impl Backend for QmPctBackend {
    fn describe(&self) -> String {
        format!("QmPct({})", self.runner)
    }

    async fn version(&self) -> Result<Version> {
        Err(unsupported("version"))
    }

    async fn cluster_status(&self) -> Result<Vec<ClusterStatusEntry>> {
        Err(unsupported("cluster status"))
    }

    /// Built from this host's guests (`qm list` + `pct list`) and one `node` entry; storage
    /// needs the API, so `Some(Storage)` is `Unsupported` and `None` lists no storage.
    async fn cluster_resources(&self, filter: Option<ResourceType>) -> Result<Vec<ClusterResource>> {
        let node = self.node_name().await?;
        let mut out = Vec::new();
        match filter {
            Some(ResourceType::Storage) => return Err(unsupported("cluster resources --type storage")),
            Some(ResourceType::Node) => out.push(Self::node_resource(&node)),
            Some(ResourceType::Vm) | None => {
                let guests = self.guests(&GuestFilter::default()).await?;
                out.extend(guests.into_iter().map(Self::guest_resource));
                if filter.is_none() {
                    out.push(Self::node_resource(&node));
                }
            }
        }
        Ok(out)
    }

    async fn nodes(&self) -> Result<Vec<Node>> {
        let node = self.node_name().await?;
        Ok(vec![Node { node: node.to_string(), status: Some("online".to_owned()), ..Node::default() }])
    }

    async fn node_status(&self, _node: &NodeName) -> Result<NodeStatus> {
        Err(unsupported("node status"))
    }

    /// `qm list` and `pct list` (only the one needed when the filter names a kind; none when
    /// it names another node), filtered and sorted by vmid.
    async fn guests(&self, filter: &GuestFilter) -> Result<Vec<Guest>> {
        let node = self.node_name().await?;
        if filter.node.as_ref().is_some_and(|n| *n != node) {
            return Ok(Vec::new());
        }
        let want = |k: GuestKind| filter.kind.is_none_or(|f| f == k);
        let (vms, cts) = tokio::try_join!(
            async { if want(GuestKind::Qemu) { self.list(GuestKind::Qemu, &node).await } else { Ok(Vec::new()) } },
            async { if want(GuestKind::Lxc) { self.list(GuestKind::Lxc, &node).await } else { Ok(Vec::new()) } },
        )?;
        let mut guests: Vec<Guest> = vms.into_iter().chain(cts).filter(|g| filter.matches(g)).collect();
        guests.sort_by_key(|g| g.vmid);
        Ok(guests)
    }

    async fn guest_status(&self, guest: &GuestRef) -> Result<GuestStatus> {
        let text = self.run_guest(guest, "status", &["--verbose"]).await?;
        parse_status(&text, guest)
    }

    async fn guest_config(&self, guest: &GuestRef) -> Result<GuestConfig> {
        let text = self.run_guest(guest, "config", &[]).await?;
        parse_config(&text)
    }

    async fn snapshots(&self, guest: &GuestRef) -> Result<Vec<Snapshot>> {
        let text = self.run_guest(guest, "listsnapshot", &[]).await?;
        parse_listsnapshot(&text)
    }

    async fn tasks(&self, _node: &NodeName, _filter: &TaskFilter) -> Result<Vec<Task>> {
        Err(unsupported("task list"))
    }

    async fn task_status(&self, _upid: &Upid) -> Result<TaskStatus> {
        Err(unsupported("task status"))
    }

    async fn task_log(&self, _upid: &Upid, _start: u64, _limit: u64) -> Result<Vec<TaskLogLine>> {
        Err(unsupported("task log"))
    }

    async fn storages(&self, _node: Option<&NodeName>) -> Result<Vec<Storage>> {
        Err(unsupported("storage list"))
    }

    async fn raw(&self, method: Method, path: &str, _params: &Params) -> Result<serde_json::Value> {
        Err(unsupported(format!("api {} {path}", method.pvesh_verb())))
    }

    async fn execute(&self, mutation: &Mutation) -> Result<Started> {
        let (tool, args) = Self::tool_argv(mutation)?;
        if let Some(guest) = mutation.guest() {
            let node = self.node_name().await?;
            if guest.node != node {
                return Err(Error::NotFound(format!(
                    "guest {} is on node {}, but --tools qm-pct sees only this host ({node})",
                    guest.vmid, guest.node
                )));
            }
        }
        let out = self.runner.run(tool, &args).await?;
        match mutation {
            // `pct exec`: the command's own exit code and output are the result.
            Mutation::Exec { guest, .. } if guest.kind == crate::model::GuestKind::Lxc => crate::backend::api::exec_output(tool, &out),
            // `qm guest exec` waits for the command and prints its exec-status as JSON.
            Mutation::Exec { .. } => {
                if out.status != 0 {
                    return Err(super::classify_cli_error(tool, out.status, &out.stderr_text()));
                }
                Ok(Started::Value(super::last_json_value(&String::from_utf8_lossy(&out.stdout))?))
            }
            _ => finished_from_output(tool, &out),
        }
    }

    fn render(&self, mutation: &Mutation) -> String {
        match Self::tool_argv(mutation).and_then(|_| mutation.tool_line_shown().ok_or_else(|| unsupported(mutation.name()))) {
            Ok((tool, args)) => super::render_argv(&std::iter::once(tool.to_owned()).chain(args).collect::<Vec<_>>()),
            Err(e) => format!("(not possible: {e})"),
        }
    }

    async fn close(&self) -> Result<()> {
        self.runner.close().await
    }
}

/// How a foreground `qm`/`pct` task ended (FORMATS.md §0.2): exit 0 is success, with
/// `Task finished with n warning(s)!` on stderr for warnings; a non-zero exit whose stderr
/// classifies as a refusal (missing, locked, wrong state, permission, parameters) is an
/// error, any other is a failed task with that text.
fn finished_from_output(tool: &str, out: &CommandOutput) -> Result<Started> {
    let stderr = out.stderr_text();
    let log: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect();
    if out.status == 0 {
        let warnings = stderr.lines().find_map(|l| {
            l.trim().strip_prefix("Task finished with ").and_then(|r| r.split_whitespace().next()).and_then(|n| n.parse().ok())
        });
        let exit = warnings.map_or(ExitStatus::Ok, ExitStatus::Warnings);
        return Ok(Started::Finished { upid: None, exit, log });
    }
    match classify_cli_error(tool, out.status, &stderr) {
        Error::Api(message) => Ok(Started::Finished { upid: None, exit: ExitStatus::Failed(message), log }),
        Error::Transport { message, source } => Err(Error::Transport { message, source }),
        refusal => Err(refusal),
    }
}
