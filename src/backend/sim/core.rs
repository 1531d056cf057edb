//! The simulator core: answers `(method, path, params)` with PVE's semantics over a
//! [`SimState`].
//!
//! Tables map API paths to handlers: reads here (handlers in `read_cluster`,
//! `read_guest`, `read_task`), writes in `actions` (power actions and snapshots, which start
//! worker tasks), and one table per domain next to its handlers: `backups` (vzdump, storage
//! content, restore, jobs), `provision` (create, clone, template, destroy, nextid), `config`
//! (config writes, pending). Before a handler runs, the core finalises the tasks whose time has come
//! (`worker.rs`), refuses unknown parameters, checks path variables as PVE's schema does
//! (`vmid` an integer >= 100, `node` a known cluster node) and applies the injected faults.

use serde_json::Value;

use super::access::Caller;
use super::actions::WRITE_ROUTES;
use super::backups::BACKUP_ROUTES;
use super::config::CONFIG_ROUTES;
use super::error::SimError;
use super::provision::PROVISION_ROUTES;
use super::route::{self, Request, Route, check_int};
use super::state::{SimGuest, SimNode, SimState};
use super::{read_cluster as cl, read_guest as gu, read_task as ta};
use crate::backend::api::{Method, Params};
use crate::model::GuestKind;

/// The route table. Parameters listed per route follow PVE's API schema (pve-docs
/// `api-viewer/apidata.js`); `node`/`vmid`/`upid` come from the path.
const ROUTES: &[Route] = &[
    Route { method: Method::Get, pattern: "/version", params: &[], handler: cl::version },
    Route { method: Method::Get, pattern: "/access/permissions", params: &["path", "userid"], handler: super::access::permissions },
    Route { method: Method::Get, pattern: "/cluster/status", params: &[], handler: cl::cluster_status },
    Route { method: Method::Get, pattern: "/cluster/resources", params: &["type"], handler: cl::cluster_resources },
    Route { method: Method::Get, pattern: "/nodes", params: &[], handler: cl::nodes },
    Route { method: Method::Get, pattern: "/nodes/{node}/status", params: &[], handler: cl::node_status },
    Route { method: Method::Get, pattern: "/nodes/{node}/rrddata", params: &["timeframe", "cf"], handler: cl::node_rrddata },
    Route {
        method: Method::Get,
        pattern: "/nodes/{node}/storage",
        params: &["content", "enabled", "format", "storage", "target"],
        handler: cl::node_storage,
    },
    Route { method: Method::Get, pattern: "/storage", params: &["type"], handler: cl::storage_config },
    Route { method: Method::Get, pattern: "/nodes/{node}/{kind}", params: &["full"], handler: gu::guest_list },
    Route { method: Method::Get, pattern: "/nodes/{node}/{kind}/{vmid}/status/current", params: &[], handler: gu::status_current },
    Route { method: Method::Get, pattern: "/nodes/{node}/{kind}/{vmid}/config", params: &["current", "snapshot"], handler: gu::config },
    Route { method: Method::Get, pattern: "/nodes/{node}/{kind}/{vmid}/snapshot", params: &[], handler: gu::snapshot_list },
    Route {
        method: Method::Get,
        pattern: "/nodes/{node}/tasks",
        params: &["errors", "limit", "since", "source", "start", "statusfilter", "typefilter", "until", "userfilter", "vmid"],
        handler: ta::task_list,
    },
    Route { method: Method::Get, pattern: "/nodes/{node}/tasks/{upid}/status", params: &[], handler: ta::task_status },
    Route {
        method: Method::Get,
        pattern: "/nodes/{node}/tasks/{upid}/log",
        params: &["download", "limit", "start"],
        handler: ta::task_log,
    },
];

/// The simulated cluster: a state and the node that answers (for `local` in
/// `/cluster/status`).
#[derive(Debug, Clone)]
pub struct Sim {
    state: SimState,
    local_node: Option<String>,
    generation: u64,
    cli: bool,
    caller: Option<Caller>,
}

impl Sim {
    /// A simulator over `state`; the answering node is the first node.
    pub fn new(state: SimState) -> Self {
        Self { state, local_node: None, generation: 0, cli: false, caller: None }
    }

    /// Sets the node the simulator answers as (`PVE_SIM_NODE` for the CLI faces).
    #[must_use]
    pub fn with_local_node(mut self, node: Option<String>) -> Self {
        self.local_node = node;
        self
    }

    /// Sets who calls from now on (the REST face's authenticated token). `None`, the
    /// default, is `root@pam` on the node, as the `pvesh`/`qm`/`pct` faces run.
    pub fn set_caller(&mut self, caller: Option<Caller>) {
        self.caller = caller;
    }

    /// Who calls: `None` is `root@pam` on the node (the CLI faces).
    pub(crate) fn caller(&self) -> Option<&Caller> {
        self.caller.as_ref()
    }

    /// The node answering: the one set, else the first node of the state (empty if none).
    pub fn local_node(&self) -> &str {
        self.local_node.as_deref().or_else(|| self.state.nodes.first().map(|n| n.name.as_str())).unwrap_or("")
    }

    /// The state, read-only.
    pub fn state(&self) -> &SimState {
        &self.state
    }

    /// The state for a change; bumps [`Sim::generation`] so faces know to save it.
    pub fn state_mut(&mut self) -> &mut SimState {
        self.generation += 1;
        &mut self.state
    }

    /// How many times the state was handed out for a change (0 = unchanged).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Marks the caller as a CLI tool (`pvesh`, `qm`, `pct`): tasks it starts run in the
    /// foreground, and their logs get an empty line before `TASK ERROR`/`TASK WARNINGS`.
    pub fn set_cli(&mut self) {
        self.cli = true;
    }

    /// Whether the caller is a CLI tool ([`Sim::set_cli`]).
    pub fn is_cli(&self) -> bool {
        self.cli
    }

    /// Finalises the tasks whose end time has passed and carries out due HA requests (every
    /// [`Sim::handle`] does this first).
    pub fn settle(&mut self) {
        self.settle_at(super::worker::now_ms());
    }

    /// Gives the state back.
    pub fn into_state(self) -> SimState {
        self.state
    }

    /// Whether a handler exists for `(method, path)` (pvesh checks this before anything else).
    pub fn has_handler(&self, method: Method, path: &str) -> bool {
        find_route(method, path).is_some()
    }

    /// Answers one API call with the JSON PVE returns as `data`.
    ///
    /// # Errors
    /// A [`SimError`] with PVE's text: no handler for the path (`no_handler` set), a
    /// parameter error (400), a permission error (403), or a plain error such as
    /// `Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist`.
    pub fn handle(&mut self, method: Method, path: &str, params: &Params) -> Result<Value, SimError> {
        self.settle();
        let Some((route, vars)) = find_route(method, path) else {
            return Err(SimError::no_handler(method, path));
        };
        // The route's privilege first, for every face (`privileges.rs`): pveproxy checks it
        // before the parameters; for the root faces only injected denials can fail it.
        super::privileges::check_route(self, method, path)?;
        route::check_allowed(route, params)?;
        let req = Request { vars, params };
        self.check_vars(&req)?;
        (route.handler)(self, &req)
    }

    /// Checks `node` and `vmid` path variables as PVE's schema and proxy do.
    fn check_vars(&self, req: &Request<'_>) -> Result<(), SimError> {
        for (name, value) in &req.vars {
            match *name {
                "vmid" => {
                    check_int("vmid", value, 100)?;
                }
                "node" => {
                    if value.parse::<crate::model::NodeName>().is_err() {
                        return Err(SimError::param("node", "invalid format - value does not look like a valid node name"));
                    }
                    let node = self.state.node(value).ok_or_else(|| SimError::no_node(value))?;
                    if !node.online {
                        // pveproxy's answer for a node it cannot reach (PVE::APIServer::AnyEvent
                        // `proxy_request`): HTTP 595, reason `No route to host`.
                        return Err(SimError::offline_node());
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Fails with `403 Permission check failed (<acl>, <privilege>)` when a fault denies it
    /// or the caller lacks it.
    pub(crate) fn check_perm(&self, acl_path: &str, privilege: &str) -> Result<(), SimError> {
        if self.hidden(acl_path, privilege) { Err(SimError::permission(acl_path, privilege)) } else { Ok(()) }
    }

    /// Whether a fault or the caller's missing privilege hides the object at `acl_path` from
    /// lists needing `privilege`.
    pub(crate) fn hidden(&self, acl_path: &str, privilege: &str) -> bool {
        self.state.faults.is_denied(acl_path, privilege) || self.caller.as_ref().is_some_and(|c| !c.has(acl_path, privilege))
    }

    /// Whether the caller may see a node's figures (`Sys.Audit` on `/nodes/{node}`).
    pub(crate) fn node_stats_visible(&self, node: &str) -> bool {
        !self.hidden(&format!("/nodes/{node}"), "Sys.Audit")
    }

    /// The caller's user id as a UPID names it: the token id over REST (`root@pam!pvectl`),
    /// `root@pam` for the `pvesh`/`qm`/`pct` faces. Tasks a write starts belong to it.
    pub fn caller_userid(&self) -> &str {
        self.caller.as_ref().map_or("root@pam", |c| c.userid.as_str())
    }

    /// Whether the task started by `task_user` is the caller's own (always, for `root@pam`).
    pub(crate) fn caller_owns_task(&self, task_user: &str) -> bool {
        self.caller.as_ref().is_none_or(|c| c.owns_task(task_user))
    }

    /// Whether the caller may see a task of `node` started by `task_user`: its own, or any
    /// with `Sys.Audit` on `/nodes/{node}` (pve-manager `PVE/API2/Tasks.pm`).
    pub(crate) fn may_see_task(&self, node: &str, task_user: &str) -> bool {
        self.caller_owns_task(task_user) || !self.hidden(&format!("/nodes/{node}"), "Sys.Audit")
    }

    /// The node of a request's `{node}` variable (checked to exist by `handle`).
    pub(crate) fn req_node(&self, req: &Request<'_>) -> Result<&SimNode, SimError> {
        let name = req.var("node");
        self.state.node(name).ok_or_else(|| SimError::no_node(name))
    }

    /// The guest of a request's `{node}/{kind}/{vmid}`, after `VM.Audit` on `/vms/{vmid}`.
    /// A guest of the other kind or on another node does not exist there, as in PVE.
    pub(crate) fn req_guest(&self, req: &Request<'_>) -> Result<&SimGuest, SimError> {
        let (node, vmid) = (req.var("node"), req.var("vmid"));
        let kind = req_kind(req);
        self.check_perm(&format!("/vms/{vmid}"), "VM.Audit")?;
        vmid.parse()
            .ok()
            .and_then(|v| self.state.guest(v))
            .filter(|g| g.node == node && g.kind == kind)
            .ok_or_else(|| SimError::no_config(kind, node, vmid))
    }
}

/// The route for `(method, path)` in the read or the write table, with its path variables.
fn find_route(method: Method, path: &str) -> Option<(&'static Route, Vec<(&'static str, String)>)> {
    [
        ROUTES,
        WRITE_ROUTES,
        BACKUP_ROUTES,
        PROVISION_ROUTES,
        CONFIG_ROUTES,
        super::migrate::MIGRATE_ROUTES,
        super::disks::DISK_ROUTES,
        super::agent::AGENT_ROUTES,
        super::lxc_exec::LXC_ROUTES,
        super::pools::POOL_ROUTES,
        super::ha::HA_ROUTES,
        super::node_health::HEALTH_ROUTES,
    ]
    .into_iter()
    .find_map(|table| route::find(table, method, path))
}

/// The `{kind}` of a request (the router only lets `qemu` and `lxc` through).
pub(crate) fn req_kind(req: &Request<'_>) -> GuestKind {
    if req.var("kind") == "lxc" { GuestKind::Lxc } else { GuestKind::Qemu }
}

/// A JSON number for a float: an integer when it has no fraction (PVE prints `"maxcpu":2`).
pub(crate) fn num(f: f64) -> Value {
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "checked: whole, non-negative and below 2^53")]
    if f.fract() == 0.0 && (0.0..9_007_199_254_740_992.0).contains(&f) {
        Value::from(f as u64)
    } else {
        serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

/// PVE's 0/1 boolean.
pub(crate) fn flag(b: bool) -> Value {
    Value::from(u8::from(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sim::demo::demo_state;

    #[test]
    fn unknown_path_has_no_handler_and_bad_params_are_refused() {
        let mut sim = Sim::new(demo_state());
        let e = sim.handle(Method::Get, "/nodes/pve1/qemu/100/status/tasks", &Params::new()).expect_err("no handler");
        assert_eq!(e.cli_exit(), 1);
        let e = sim.handle(Method::Post, "/version", &Params::new()).expect_err("no write handler yet");
        assert_eq!(e.cli_text(), "No 'create' handler defined for '/version'\n");
        let e = sim.handle(Method::Get, "/version", &vec![("bogus".into(), "1".into())]).expect_err("unknown param");
        assert_eq!(e.code, Some(400));
        assert_eq!(e.params[0].0, "bogus");
        let e = sim.handle(Method::Get, "/nodes/nope/status", &Params::new()).expect_err("unknown node");
        assert_eq!(e.cli_text(), "no such cluster node 'nope'\n");
        let e = sim.handle(Method::Get, "/nodes/pve1/qemu/abc/config", &Params::new()).expect_err("bad vmid");
        assert_eq!(e.cli_text(), "400 Parameter verification failed.\nvmid: type check ('integer') failed - got 'abc'\n");
    }

    #[test]
    fn numbers_print_like_pve() {
        assert_eq!(num(2.0).to_string(), "2");
        assert_eq!(num(0.25).to_string(), "0.25");
    }
}
