//! The shared `(method, path, params) -> JSON -> typed` layer.
//!
//! `pvesh` mirrors the REST API path for path, so every transport that can make an API call
//! (`pvesh` over a runner, the in-process simulator, REST) implements [`ApiTransport`], and
//! [`ApiBackend`] turns those calls into model types once, for all of them.

use std::fmt;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Backend, GuestFilter, Mutation, ResourceType, Started, TaskFilter};
use crate::error::{Error, Result};
use crate::model::{
    ClusterResource, ClusterStatusEntry, Guest, GuestConfig, GuestKind, GuestRef, GuestStatus, Node, NodeName, NodeStatus, RawGuestFields,
    Snapshot, Storage, Task, TaskLogLine, TaskStatus, Upid, Version, Vmid, split_tags,
};

/// An API method; `pvesh` names them `get`, `create`, `set`, `delete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET` / `pvesh get`.
    Get,
    /// `POST` / `pvesh create`.
    Post,
    /// `PUT` / `pvesh set`.
    Put,
    /// `DELETE` / `pvesh delete`.
    Delete,
}

impl Method {
    /// The HTTP method name: `GET`, `POST`, `PUT`, `DELETE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        }
    }

    /// The `pvesh` verb.
    pub fn pvesh_verb(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Post => "create",
            Self::Put => "set",
            Self::Delete => "delete",
        }
    }

    /// Parses a `pvesh` verb (`get|create|set|delete`) or an HTTP method name.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "get" => Some(Self::Get),
            "create" | "post" => Some(Self::Post),
            "set" | "put" => Some(Self::Put),
            "delete" => Some(Self::Delete),
            _ => None,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        })
    }
}

/// API parameters in order: `(name, value)`; `pvesh` receives them as `--name value`.
pub type Params = Vec<(String, String)>;

/// `METHOD path k=v ...` for plans, each value quoted when it is not a plain word.
pub fn render_http(method: Method, path: &str, params: &Params) -> String {
    let mut s = format!("{method} {path}");
    for (k, v) in params {
        s.push(' ');
        s.push_str(&crate::backend::command::shell_quote(&format!("{k}={v}")));
    }
    s
}

/// What `pct exec` gave, as the agent's `exec-status` shape (`{exited, exitcode, out-data,
/// err-data}`): the command's exit code is data. `pct` itself failing before it ran anything
/// (exit 255 with one of PVE's error texts: the CT is not running, does not exist) is an error.
///
/// # Errors
/// The classified error when `pct` refused before running the command.
pub fn exec_output(tool: &str, out: &crate::backend::command::CommandOutput) -> Result<Started> {
    let stderr = out.stderr_text();
    if out.status == 255
        && let Some(e) = crate::backend::command::classify_known(tool, out.status, &stderr)
    {
        return Err(e);
    }
    Ok(Started::Value(serde_json::json!({
        "exited": 1,
        "exitcode": out.status,
        "out-data": String::from_utf8_lossy(&out.stdout),
        "err-data": stderr,
    })))
}

/// Checks an API path before it goes anywhere: absolute, no NUL or control characters, no
/// `..` segments. Everything else (spaces, quotes, `;`, `$(...)`) is passed as one argument
/// and left to PVE to refuse.
///
/// # Errors
/// `Usage` naming the problem.
pub fn check_path(path: &str) -> Result<()> {
    if !path.starts_with('/') {
        return Err(Error::Usage(format!("API path '{path}' must start with '/'")));
    }
    if path.chars().any(char::is_control) {
        return Err(Error::Usage("API path contains control characters".into()));
    }
    if path.split('/').any(|s| s == "..") {
        return Err(Error::Usage(format!("API path '{path}' must not contain '..'")));
    }
    Ok(())
}

/// Checks API parameters: names are `[A-Za-z0-9_-]+` (as PVE's schema), values have no NUL.
///
/// # Errors
/// `Usage` naming the bad parameter.
pub fn check_params(params: &Params) -> Result<()> {
    for (k, v) in params {
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err(Error::Usage(format!("invalid parameter name '{k}'")));
        }
        if v.contains('\0') {
            return Err(Error::Usage(format!("parameter '{k}' contains a NUL byte")));
        }
    }
    Ok(())
}

/// How a task run in the foreground ended, as the tool that ran it printed (FORMATS.md §0.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreground {
    /// `OK` or `WARNINGS: n`.
    pub exit: crate::model::ExitStatus,
    /// The task-log lines printed before the result.
    pub log: Vec<String>,
}

/// Something that makes PVE API calls and returns the `data` of the answer.
///
/// # Contract
/// `call` returns the result as PVE gives it (without the HTTP `{"data": ...}` envelope);
/// failures are mapped to [`Error`] by the transport's one classification function.
#[async_trait]
pub trait ApiTransport: Send + Sync + fmt::Debug {
    /// Identity for messages, never a secret.
    fn describe(&self) -> String;
    /// One API call.
    async fn call(&self, method: Method, path: &str, params: &Params) -> Result<Value>;
    /// One write (`POST`, `PUT`, `DELETE`): its result and, where the transport ran PVE's
    /// worker in the foreground and can tell how it ended, that end ([`Foreground`]), so no
    /// task-status read is needed. `None` when the task may still run (REST) or the output
    /// does not say for sure: the caller then reads the task's status.
    async fn write(&self, method: Method, path: &str, params: &Params) -> Result<(Value, Option<Foreground>)>;
    /// `GET path` as the JSON text of its answer (pvesh's stdout document, a REST body's
    /// `data`), so a large answer parses straight into typed records without a `Value` tree
    /// in between; `None` where the answer exists only as a `Value` (the in-process
    /// simulator): the caller then uses [`ApiTransport::call`].
    ///
    /// # Errors
    /// As [`ApiTransport::call`].
    async fn get_text(&self, path: &str, params: &Params) -> Result<Option<String>>;
    /// How this transport makes that call, for plans: a command line or `METHOD path k=v`.
    fn render(&self, method: Method, path: &str, params: &Params) -> String;
    /// Runs a node tool for what PVE's API cannot do (`pct exec <vmid> -- argv...`), each
    /// argument passed as one: through the command backend's runner, or the simulator's
    /// tools in process. Its exit code is data, not an error.
    ///
    /// # Errors
    /// `Unsupported` where the transport has no tools (REST: PVE's API has no lxc exec);
    /// `Transport` when the tool cannot be run.
    async fn run_tool(&self, tool: &str, args: &[String]) -> Result<crate::backend::command::CommandOutput>;
    /// Closes the connection, if any. Idempotent.
    async fn close(&self) -> Result<()>;
}

/// A [`Backend`] over any [`ApiTransport`].
#[derive(Debug)]
pub struct ApiBackend<T> {
    transport: T,
}

impl<T: ApiTransport> ApiBackend<T> {
    /// Wraps a transport.
    pub fn new(transport: T) -> Self {
        Self { transport }
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    async fn get<R: DeserializeOwned>(&self, path: &str, params: &Params, what: &str) -> Result<R> {
        if let Some(text) = self.transport.get_text(path, params).await? {
            return serde_json::from_str(&text).map_err(|e| Error::parse(format!("{what} from {path}"), e));
        }
        let v = self.transport.call(Method::Get, path, params).await?;
        serde_json::from_value(v).map_err(|e| Error::parse(format!("{what} from {path}"), e))
    }
}

/// Converts a `/cluster/resources` item of type `qemu`/`lxc` into a [`Guest`].
///
/// # Errors
/// `Parse` when the item lacks a vmid or node.
pub fn guest_from_resource(r: ClusterResource) -> Result<Guest> {
    let kind: GuestKind = r.resource_type.parse().map_err(|e: String| Error::parse("guest resource", e))?;
    let vmid = r
        .vmid
        .or_else(|| r.id.rsplit('/').next().and_then(|s| s.parse().ok()))
        .ok_or_else(|| Error::parse("guest resource", format!("{} has no vmid", r.id)))?;
    let vmid = Vmid::new(u32::try_from(vmid).map_err(|e| Error::parse("vmid", e))?).map_err(|e| Error::parse("vmid", e))?;
    let node: NodeName = r
        .node
        .as_deref()
        .ok_or_else(|| Error::parse("guest resource", format!("{} has no node", r.id)))?
        .parse()
        .map_err(|e| Error::parse("node name", e))?;
    Ok(Guest {
        vmid,
        name: r.name,
        node,
        kind,
        status: r.status.unwrap_or_else(|| "unknown".into()),
        cpu: r.cpu,
        maxcpu: r.maxcpu,
        mem: r.mem,
        maxmem: r.maxmem,
        disk: r.disk,
        maxdisk: r.maxdisk,
        uptime: r.uptime,
        template: r.template,
        tags: r.tags.as_deref().map(split_tags).unwrap_or_default(),
        pool: r.pool,
        lock: r.lock,
    })
}

/// Converts a `status/current` object into a [`GuestStatus`] for `guest`.
pub fn guest_status_from_raw(guest: &GuestRef, raw: RawGuestFields) -> GuestStatus {
    let ha_state = raw.ha.as_ref().and_then(|ha| {
        let managed = ha.get("managed").is_some_and(crate::model::loose::value_bool);
        if managed { ha.get("state").and_then(crate::model::loose::value_string) } else { None }
    });
    GuestStatus {
        vmid: guest.vmid,
        node: guest.node.clone(),
        kind: guest.kind,
        name: raw.name,
        status: raw.status.unwrap_or_else(|| "unknown".into()),
        qmpstatus: raw.qmpstatus,
        cpu: raw.cpu,
        cpus: raw.cpus,
        mem: raw.mem,
        maxmem: raw.maxmem,
        disk: raw.disk,
        maxdisk: raw.maxdisk,
        uptime: raw.uptime,
        pid: raw.pid,
        lock: raw.lock,
        template: raw.template,
        tags: raw.tags.as_deref().map(split_tags).unwrap_or_default(),
        ha_state: ha_state.or(raw.hastate),
    }
}

fn storage_from_resource(r: ClusterResource) -> Option<Storage> {
    let storage = r.storage.clone().or_else(|| r.id.rsplit('/').next().map(str::to_owned))?;
    let avail = match (r.maxdisk, r.disk) {
        (Some(t), Some(u)) => Some(t.saturating_sub(u)),
        _ => None,
    };
    Some(Storage {
        storage,
        node: r.node.unwrap_or_default(),
        storage_type: r.plugintype,
        content: r.content.as_deref().map(split_content).unwrap_or_default(),
        active: r.status.as_deref() == Some("available"),
        shared: r.shared,
        total: r.maxdisk,
        used: r.disk,
        avail,
    })
}

fn split_content(s: &str) -> Vec<String> {
    s.split(',').filter(|c| !c.is_empty()).map(str::to_owned).collect()
}

fn storage_from_node_entry(node: &NodeName, v: &Value) -> Option<Storage> {
    use crate::model::loose::{value_bool, value_string, value_u64};
    Some(Storage {
        storage: value_string(v.get("storage")?)?,
        node: node.to_string(),
        storage_type: v.get("type").and_then(value_string),
        content: v.get("content").and_then(value_string).as_deref().map(split_content).unwrap_or_default(),
        active: v.get("active").is_some_and(value_bool),
        shared: v.get("shared").is_some_and(value_bool),
        total: v.get("total").and_then(value_u64),
        used: v.get("used").and_then(value_u64),
        avail: v.get("avail").and_then(value_u64),
    })
}

#[async_trait]
impl<T: ApiTransport> Backend for ApiBackend<T> {
    fn describe(&self) -> String {
        self.transport.describe()
    }

    async fn version(&self) -> Result<Version> {
        self.get("/version", &Params::new(), "version").await
    }

    async fn cluster_status(&self) -> Result<Vec<ClusterStatusEntry>> {
        self.get("/cluster/status", &Params::new(), "cluster status").await
    }

    async fn cluster_resources(&self, filter: Option<ResourceType>) -> Result<Vec<ClusterResource>> {
        let params: Params = filter.map(|t| vec![("type".to_owned(), t.as_str().to_owned())]).unwrap_or_default();
        self.get("/cluster/resources", &params, "cluster resources").await
    }

    async fn nodes(&self) -> Result<Vec<Node>> {
        let mut nodes: Vec<Node> = self.get("/nodes", &Params::new(), "node list").await?;
        nodes.sort_by(|a, b| a.node.cmp(&b.node));
        Ok(nodes)
    }

    async fn node_status(&self, node: &NodeName) -> Result<NodeStatus> {
        let mut s: NodeStatus = self.get(&format!("/nodes/{node}/status"), &Params::new(), "node status").await?;
        s.node = node.to_string();
        Ok(s)
    }

    async fn guests(&self, filter: &GuestFilter) -> Result<Vec<Guest>> {
        let items = self.cluster_resources(Some(ResourceType::Vm)).await?;
        let mut guests = Vec::with_capacity(items.len());
        for r in items {
            if matches!(r.resource_type.as_str(), "qemu" | "lxc") {
                let g = guest_from_resource(r)?;
                if filter.matches(&g) {
                    guests.push(g);
                }
            }
        }
        guests.sort_by_key(|g| g.vmid);
        Ok(guests)
    }

    async fn guest_status(&self, guest: &GuestRef) -> Result<GuestStatus> {
        let raw: RawGuestFields = self.get(&format!("{}/status/current", guest.path()), &Params::new(), "guest status").await?;
        Ok(guest_status_from_raw(guest, raw))
    }

    async fn guest_config(&self, guest: &GuestRef) -> Result<GuestConfig> {
        let v = self.transport.call(Method::Get, &format!("{}/config", guest.path()), &Params::new()).await?;
        let obj = v.as_object().ok_or_else(|| Error::parse("guest config", "expected a JSON object"))?;
        Ok(GuestConfig::from_api(obj))
    }

    async fn snapshots(&self, guest: &GuestRef) -> Result<Vec<Snapshot>> {
        self.get(&format!("{}/snapshot", guest.path()), &Params::new(), "snapshot list").await
    }

    async fn tasks(&self, node: &NodeName, filter: &TaskFilter) -> Result<Vec<Task>> {
        self.get(&format!("/nodes/{node}/tasks"), &filter.params(), "task list").await
    }

    async fn task_status(&self, upid: &Upid) -> Result<TaskStatus> {
        self.get(&format!("/nodes/{}/tasks/{upid}/status", upid.node), &Params::new(), "task status").await
    }

    async fn task_log(&self, upid: &Upid, start: u64, limit: u64) -> Result<Vec<TaskLogLine>> {
        let params = vec![("start".to_owned(), start.to_string()), ("limit".to_owned(), limit.to_string())];
        let lines: Vec<TaskLogLine> = self.get(&format!("/nodes/{}/tasks/{upid}/log", upid.node), &params, "task log").await?;
        // PVE answers the log of a task it never had with one line, `unable to open file - No
        // such file or directory`, and no error (pve-common `Tools.pm` `dump_logfile`): its
        // status read tells a missing task (`upid: no such task`, NotFound) from a log that
        // says so.
        if let [only] = lines.as_slice()
            && only.n == 1
            && only.t.starts_with("unable to open file - ")
        {
            self.task_status(upid).await?;
        }
        Ok(lines)
    }

    async fn storages(&self, node: Option<&NodeName>) -> Result<Vec<Storage>> {
        let mut out = if let Some(node) = node {
            let v: Vec<Value> = self.get(&format!("/nodes/{node}/storage"), &Params::new(), "storage list").await?;
            v.iter().filter_map(|e| storage_from_node_entry(node, e)).collect::<Vec<_>>()
        } else {
            let items = self.cluster_resources(Some(ResourceType::Storage)).await?;
            items.into_iter().filter(|r| r.resource_type == "storage").filter_map(storage_from_resource).collect()
        };
        out.sort_by(|a, b| (&a.node, &a.storage).cmp(&(&b.node, &b.storage)));
        Ok(out)
    }

    async fn raw(&self, method: Method, path: &str, params: &Params) -> Result<Value> {
        if method != Method::Get {
            return Err(Error::Usage(format!("{method} {path} is a write: it goes through execute (and the safety gate)")));
        }
        check_path(path)?;
        check_params(params)?;
        self.transport.call(method, path, params).await
    }

    async fn execute(&self, mutation: &Mutation) -> Result<Started> {
        if mutation.needs_tool() {
            let (tool, args) = mutation.tool_line().ok_or_else(|| Error::Internal(format!("{} has a tool line", mutation.name())))?;
            let out = self.transport.run_tool(tool, &args).await?;
            return match mutation {
                Mutation::Exec { .. } => exec_output(tool, &out),
                // `pct push`/`pull` exit 0 even when their worker failed (pve-container's CLI
                // has no output sub): the worker's error is the text on stderr, so exit 0 with
                // stderr is a failed task (exit 7), never a success.
                _ if out.status == 0 => match out.stderr_text().trim() {
                    "" => Ok(Started::Value(Value::Null)),
                    err => Ok(Started::Finished {
                        upid: None,
                        exit: crate::model::ExitStatus::Failed(crate::model::clip(err, 200)),
                        log: Vec::new(),
                    }),
                },
                _ => Err(crate::backend::command::classify_cli_error(tool, out.status, &out.stderr_text())),
            };
        }
        let (method, path, params) = mutation.api_call();
        if method == Method::Get {
            return Err(Error::Usage(format!("GET {path} is a read, not a change")));
        }
        check_path(&path)?;
        check_params(&params)?;
        let (v, foreground) = self.transport.write(method, &path, &params).await?;
        match (v.as_str().map(str::parse::<Upid>), foreground) {
            (Some(Ok(upid)), Some(Foreground { exit, log })) => Ok(Started::Finished { upid: Some(upid), exit, log }),
            (Some(Ok(upid)), None) => Ok(Started::Task(upid)),
            _ => Ok(Started::Value(v)),
        }
    }

    fn render(&self, mutation: &Mutation) -> String {
        if let (true, Some((tool, args))) = (mutation.needs_tool(), mutation.tool_line_shown()) {
            return crate::backend::command::render_argv(&std::iter::once(tool.to_owned()).chain(args).collect::<Vec<_>>());
        }
        let (method, path, params) = mutation.api_call_shown();
        self.transport.render(method, &path, &params)
    }

    async fn close(&self) -> Result<()> {
        self.transport.close().await
    }
}
