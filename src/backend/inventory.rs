//! Typed reads of backups, backup jobs, pending changes and storage content.
//!
//! [`InventoryExt`] is built only on [`Backend::raw`] (`GET`), [`Backend::nodes`] and
//! [`Backend::storages`], so every backend and every wrapper (safety, audit) has it without
//! new trait methods. A `--tools qm-pct` backend answers `raw` with `Unsupported`, and so do
//! these reads there.

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Backend, Method, Params};
use crate::error::{Error, Result};
use crate::model::{
    AgentError, AgentErrorKind, AgentExecStatus, Backup, BackupJob, GuestKind, GuestRef, HaResource, HaStatus, LxcInterface,
    MigratePrecondition, NetworkInterface, NodeName, NotBackedUp, PendingChange, Pool, Storage, StorageId, StorageVolume, Vmid,
    agent_result, is_member_answer, lxc_interfaces, parse_next_id,
};

/// Which backups [`InventoryExt::backups`] returns. Empty = all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupFilter {
    /// Only storages as seen from this node (a shared storage included).
    pub node: Option<NodeName>,
    /// Only this storage.
    pub storage: Option<StorageId>,
    /// Only backups of this guest (passed to PVE as `vmid`, and checked again here).
    pub vmid: Option<Vmid>,
    /// Only this kind.
    pub kind: Option<GuestKind>,
}

impl BackupFilter {
    /// Whether `b` passes the vmid and kind parts of the filter.
    pub fn matches(&self, b: &Backup) -> bool {
        self.vmid.is_none_or(|v| b.vmid == Some(v)) && self.kind.is_none_or(|k| b.kind == Some(k))
    }
}

fn typed<T: DeserializeOwned>(v: Value, what: &str) -> Result<T> {
    serde_json::from_value(v).map_err(|e| Error::Parse { what: what.to_owned(), source: Some(Box::new(e)) })
}

/// The storages to list backups from: active, with `backup` content, on an online node;
/// a shared storage once (from the first node, by name, that has it).
fn backup_storages(storages: Vec<Storage>, online: &[String], filter: &BackupFilter) -> Vec<Storage> {
    let mut picked: Vec<Storage> = Vec::new();
    for s in storages {
        let wanted = s.active
            && s.content.iter().any(|c| c == "backup")
            && online.contains(&s.node)
            && filter.node.as_ref().is_none_or(|n| n.as_str() == s.node)
            && filter.storage.as_ref().is_none_or(|id| id.as_str() == s.storage);
        if wanted && !(s.shared && picked.iter().any(|p| p.shared && p.storage == s.storage)) {
            picked.push(s);
        }
    }
    picked
}

/// Refuses a qemu-only read on a container.
fn qemu_only(guest: &GuestRef, what: &str) -> Result<()> {
    if guest.kind == GuestKind::Qemu {
        Ok(())
    } else {
        Err(Error::Usage(format!("{what} exists for qemu guests only; {} is a container", guest.vmid)))
    }
}

/// An agent command name as a path segment: QGA names without `guest-` (`network-get-interfaces`).
fn agent_command(cmd: &str) -> Result<&str> {
    let ok = !cmd.is_empty() && cmd.len() <= 64 && cmd.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(cmd)
    } else {
        Err(Error::Usage(format!("invalid agent command '{}': expected a name like network-get-interfaces", crate::model::clip(cmd, 64))))
    }
}

/// PVE's agent failures as the guest's state: agent not configured, not running, or the VM
/// stopped is a conflict (exit 6); an unsupported command is `Unsupported`; others unchanged.
fn agent_failure(e: Error, cmd: &str) -> Error {
    let message = match &e {
        Error::Api(m) | Error::Conflict(m) => m.clone(),
        _ => return e,
    };
    agent_error(AgentError::classify(&message), cmd).unwrap_or(e)
}

fn agent_error(a: AgentError, cmd: &str) -> Option<Error> {
    match a.kind {
        AgentErrorKind::NotConfigured | AgentErrorKind::NotRunning | AgentErrorKind::GuestStopped => Some(Error::Conflict(a.message)),
        AgentErrorKind::Unsupported => {
            Some(Error::Unsupported { operation: format!("agent command '{cmd}'"), reason: format!("in this guest: {}", a.message) })
        }
        AgentErrorKind::Timeout | AgentErrorKind::Other => None,
    }
}

/// Typed reads over any [`Backend`] (see the module docs).
///
/// # Errors
/// As [`Backend::raw`]: `NotFound` for a missing node, storage or guest, `PermissionDenied`,
/// `Transport`/`Parse` (exit 9), and `Unsupported` on a `--tools qm-pct` backend.
#[async_trait]
pub trait InventoryExt: Backend {
    /// Backups on every online node's active storages with `backup` content, a shared storage
    /// listed once: `GET /nodes` (+ `GET /cluster/resources?type=storage`, or
    /// `GET /nodes/{node}/storage` with a node filter), then per storage
    /// `GET /nodes/{node}/storage/{storage}/content?content=backup[&vmid=N]`. Newest first
    /// (`ctime` descending, then volid).
    async fn backups(&self, filter: &BackupFilter) -> Result<Vec<Backup>> {
        let online: Vec<String> =
            self.nodes().await?.into_iter().filter(|n| n.status.as_deref().is_none_or(|s| s == "online")).map(|n| n.node).collect();
        if let Some(n) = &filter.node
            && !online.iter().any(|o| o == n.as_str())
        {
            return Err(Error::NotFound(format!("node '{n}' is not an online cluster node")));
        }
        let storages = backup_storages(self.storages(filter.node.as_ref()).await?, &online, filter);
        if let Some(id) = &filter.storage
            && storages.is_empty()
        {
            return Err(Error::NotFound(format!(
                "storage '{id}' holds no backups on any online node (missing, inactive or no 'backup' content)"
            )));
        }
        let mut out = Vec::new();
        for s in storages {
            let (Ok(node), Ok(storage)) = (s.node.parse::<NodeName>(), s.storage.parse::<StorageId>()) else {
                continue;
            };
            let mut params: Params = vec![("content".into(), "backup".into())];
            if let Some(v) = filter.vmid {
                params.push(("vmid".into(), v.to_string()));
            }
            let v = self.raw(Method::Get, &format!("/nodes/{node}/storage/{storage}/content"), &params).await?;
            let items: Vec<StorageVolume> = typed(v, "storage content")?;
            out.extend(items.into_iter().filter_map(|i| Backup::from_volume(i, &node, &storage)).filter(|b| filter.matches(b)));
        }
        out.sort_by(|a, b| b.ctime.cmp(&a.ctime).then_with(|| a.volid.cmp(&b.volid)));
        Ok(out)
    }

    /// Tasks of one node, or of every node not reported offline (`GET /nodes`, then
    /// `GET /nodes/{node}/tasks[?vmid=N]` per node), newest first: what `task list` prints.
    async fn tasks_everywhere(&self, node: Option<&NodeName>, vmid: Option<Vmid>) -> Result<Vec<crate::model::Task>> {
        let nodes = match node {
            Some(n) => vec![n.clone()],
            None => self
                .nodes()
                .await?
                .into_iter()
                .filter(|n| n.status.as_deref() != Some("offline"))
                .map(|n| n.node.parse().map_err(|e| Error::parse("node name", e)))
                .collect::<Result<_>>()?,
        };
        let filter = super::TaskFilter { vmid, ..super::TaskFilter::default() };
        let mut all = Vec::new();
        for n in &nodes {
            all.extend(self.tasks(n, &filter).await?);
        }
        all.sort_by_key(|t| std::cmp::Reverse(t.starttime));
        Ok(all)
    }

    /// `GET /cluster/backup`: the scheduled backup jobs.
    async fn backup_jobs(&self) -> Result<Vec<BackupJob>> {
        typed(self.raw(Method::Get, "/cluster/backup", &Params::new()).await?, "backup jobs")
    }

    /// `GET /cluster/backup-info/not-backed-up`: guests no job covers, sorted by vmid.
    async fn not_backed_up(&self) -> Result<Vec<NotBackedUp>> {
        let mut v: Vec<NotBackedUp> =
            typed(self.raw(Method::Get, "/cluster/backup-info/not-backed-up", &Params::new()).await?, "guests not backed up")?;
        v.sort_by_key(|g| g.vmid);
        Ok(v)
    }

    /// `GET /nodes/{node}/{kind}/{vmid}/pending`: every config key with its current and
    /// pending value or pending delete.
    async fn pending(&self, guest: &GuestRef) -> Result<Vec<PendingChange>> {
        typed(self.raw(Method::Get, &format!("{}/pending", guest.path()), &Params::new()).await?, "pending changes")
    }

    /// `GET /cluster/nextid`: the next free vmid.
    async fn next_id(&self) -> Result<Vmid> {
        let v = self.raw(Method::Get, "/cluster/nextid", &Params::new()).await?;
        parse_next_id(&v).map_err(|e| Error::Parse { what: "next free vmid".into(), source: Some(Box::new(e)) })
    }

    /// `GET /nodes/{node}/storage/{storage}/content[?content=C]`: volumes of one storage,
    /// in PVE's order.
    async fn storage_content(&self, node: &NodeName, storage: &StorageId, content: Option<&str>) -> Result<Vec<StorageVolume>> {
        let mut params = Params::new();
        if let Some(c) = content {
            params.push(("content".into(), c.to_owned()));
        }
        typed(self.raw(Method::Get, &format!("/nodes/{node}/storage/{storage}/content"), &params).await?, "storage content")
    }

    /// `GET /nodes/{node}/qemu/{vmid}/migrate?target={target}`: what PVE says about migrating
    /// the VM (qemu only; containers have no such endpoint).
    async fn migrate_precondition(&self, guest: &GuestRef, target: Option<&NodeName>) -> Result<MigratePrecondition> {
        qemu_only(guest, "a migration precondition")?;
        let mut params = Params::new();
        if let Some(t) = target {
            params.push(("target".into(), t.to_string()));
        }
        typed(self.raw(Method::Get, &format!("{}/migrate", guest.path()), &params).await?, "migration precondition")
    }

    /// `GET /nodes/{node}/qemu/{vmid}/agent/{cmd}` (`cmd` without `guest-`, e.g. `get-osinfo`):
    /// the QGA `result`. A QGA error object, `QEMU guest agent is not running`, `No QEMU guest
    /// agent configured` and `VM <vmid> is not running` become `Conflict`; an unsupported
    /// command `Unsupported`.
    async fn agent(&self, guest: &GuestRef, cmd: &str) -> Result<Value> {
        qemu_only(guest, "the guest agent")?;
        let cmd = agent_command(cmd)?;
        let v = self.raw(Method::Get, &format!("{}/agent/{cmd}", guest.path()), &Params::new()).await.map_err(|e| agent_failure(e, cmd))?;
        agent_result(v).map_err(|a| {
            let message = a.message.clone();
            agent_error(a, cmd).unwrap_or(Error::Api(format!("agent command '{cmd}' failed: {message}")))
        })
    }

    /// `GET /nodes/{node}/qemu/{vmid}/agent/network-get-interfaces`: the guest's interfaces
    /// as its agent reports them.
    async fn network_interfaces(&self, guest: &GuestRef) -> Result<Vec<NetworkInterface>> {
        typed(self.agent(guest, "network-get-interfaces").await?, "guest network interfaces")
    }

    /// `GET /nodes/{node}/lxc/{vmid}/interfaces`: a running container's interfaces (none when
    /// it is stopped: PVE answers `null`).
    async fn lxc_interfaces(&self, guest: &GuestRef) -> Result<Vec<LxcInterface>> {
        if guest.kind != GuestKind::Lxc {
            return Err(Error::Usage(format!("{} is a qemu guest: its interfaces come from the guest agent", guest.vmid)));
        }
        let v = self.raw(Method::Get, &format!("{}/interfaces", guest.path()), &Params::new()).await?;
        lxc_interfaces(v).map_err(|e| Error::Parse { what: "container interfaces".into(), source: Some(Box::new(e)) })
    }

    /// `GET /nodes/{node}/qemu/{vmid}/agent/exec-status?pid={pid}`: the state of a command
    /// started with `agent/exec` (output already decoded by PVE).
    async fn exec_status(&self, guest: &GuestRef, pid: u64) -> Result<AgentExecStatus> {
        qemu_only(guest, "guest exec")?;
        let params: Params = vec![("pid".into(), pid.to_string())];
        let v = self
            .raw(Method::Get, &format!("{}/agent/exec-status", guest.path()), &params)
            .await
            .map_err(|e| agent_failure(e, "exec-status"))?;
        typed(v, "guest exec status")
    }

    /// `GET /pools`: every pool the caller may audit (`poolid`, `comment`; no members).
    async fn pools(&self) -> Result<Vec<Pool>> {
        typed(self.raw(Method::Get, "/pools", &Params::new()).await?, "pools")
    }

    /// One pool with its members: `GET /pools?poolid={poolid}` (PVE ≥ 8.2, an array of one),
    /// falling back to the legacy `GET /pools/{poolid}` (an object) when the node answers the
    /// old way. Decided by the answer, not the version: an older PVE refuses the `poolid`
    /// parameter (400, `InvalidParameter`), and an answer without that pool's `members`
    /// means the parameter was not understood.
    async fn pool(&self, poolid: &str) -> Result<Pool> {
        if poolid.is_empty() || poolid.bytes().any(|b| b.is_ascii_control() || matches!(b, b'?' | b'#' | b'%' | b' ')) {
            return Err(Error::Usage(format!("invalid pool id '{}'", crate::model::clip(poolid, 64))));
        }
        let params: Params = vec![("poolid".into(), poolid.to_owned())];
        let answer = match self.raw(Method::Get, "/pools", &params).await {
            Ok(v) if is_member_answer(poolid, &v) => v,
            Ok(_) | Err(Error::InvalidParameter { .. }) => self.raw(Method::Get, &format!("/pools/{poolid}"), &Params::new()).await?,
            Err(e) => return Err(e),
        };
        Pool::from_answer(poolid, answer)
            .map_err(|e| Error::Parse { what: "pool".into(), source: Some(Box::new(e)) })?
            .ok_or_else(|| Error::NotFound(format!("pool '{poolid}' does not exist")))
    }

    /// `GET /cluster/ha/status/current`: quorum, master, fencing, one `lrm` per node and one
    /// entry per HA resource.
    async fn ha_status(&self) -> Result<Vec<HaStatus>> {
        typed(self.raw(Method::Get, "/cluster/ha/status/current", &Params::new()).await?, "HA status")
    }

    /// `GET /cluster/ha/resources`: the HA resources' configuration.
    async fn ha_resources(&self) -> Result<Vec<HaResource>> {
        typed(self.raw(Method::Get, "/cluster/ha/resources", &Params::new()).await?, "HA resources")
    }
}

impl<T: Backend + ?Sized> InventoryExt for T {}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::json;

    use super::*;
    use crate::backend::{ApiBackend, ApiTransport};

    /// Answers GETs from a table and records the calls.
    #[derive(Debug, Default)]
    struct Table {
        calls: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl ApiTransport for Table {
        fn describe(&self) -> String {
            "Table".into()
        }
        async fn write(&self, method: Method, path: &str, params: &Params) -> Result<(Value, Option<crate::backend::api::Foreground>)> {
            // The task runs on after the answer: its end is the task status's to tell.
            Ok((self.call(method, path, params).await?, None))
        }

        async fn call(&self, _m: Method, path: &str, params: &Params) -> Result<Value> {
            let q: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            self.calls.lock().expect("not poisoned").push(format!("{path}?{}", q.join("&")));
            let item = |volid: &str, ctime: u64| json!({"volid": volid, "content": "backup", "format": "vma.zst", "size": 1, "ctime": ctime, "vmid": 100, "subtype": "qemu"});
            Ok(match path {
                "/nodes" => {
                    json!([{"node": "a", "status": "online"}, {"node": "b", "status": "online"}, {"node": "c", "status": "offline"}])
                }
                "/cluster/resources" => json!([
                    {"id": "storage/a/nfs", "type": "storage", "node": "a", "storage": "nfs", "status": "available", "content": "backup,iso", "shared": 1},
                    {"id": "storage/b/nfs", "type": "storage", "node": "b", "storage": "nfs", "status": "available", "content": "backup,iso", "shared": 1},
                    {"id": "storage/a/local", "type": "storage", "node": "a", "storage": "local", "status": "available", "content": "backup", "shared": 0},
                    {"id": "storage/b/local", "type": "storage", "node": "b", "storage": "local", "status": "available", "content": "backup", "shared": 0},
                    {"id": "storage/b/lvm", "type": "storage", "node": "b", "storage": "lvm", "status": "available", "content": "images", "shared": 0},
                    {"id": "storage/c/local", "type": "storage", "node": "c", "storage": "local", "status": "unknown", "content": "backup", "shared": 0}
                ]),
                "/nodes/a/storage/nfs/content" => json!([item("nfs:backup/vzdump-qemu-100-2026_01_01-00_00_00.vma.zst", 10)]),
                "/nodes/a/storage/local/content" => json!([item("local:backup/vzdump-qemu-100-2026_01_03-00_00_00.vma.zst", 30)]),
                "/nodes/b/storage/local/content" => json!([item("local:backup/vzdump-qemu-100-2026_01_02-00_00_00.vma.zst", 20)]),
                "/cluster/nextid" => json!("104"),
                "/pools" if q.iter().any(|p| p == "poolid=new") => {
                    json!([{"poolid": "new", "members": [{"id": "qemu/100", "type": "qemu", "vmid": 100}]}])
                }
                "/pools" if q.iter().any(|p| p == "poolid=old") => {
                    return Err(Error::InvalidParameter {
                        message: "Parameter verification failed.".into(),
                        params: vec![(
                            "poolid".into(),
                            "property is not defined in schema and the schema does not allow additional properties".into(),
                        )],
                    });
                }
                "/pools/old" => json!({"comment": "legacy", "members": [{"id": "lxc/101", "type": "lxc", "vmid": "101"}]}),
                "/nodes/a/qemu/100/agent/network-get-interfaces" => {
                    json!({"result": {"error": {"desc": "this feature or command is not currently supported", "class": "Unsupported"}}})
                }
                "/nodes/a/qemu/100/agent/get-osinfo" => return Err(Error::Api("QEMU guest agent is not running".into())),
                "/nodes/a/qemu/100/agent/exec-status" => json!({"exited": 1, "exitcode": 0, "out-data": "ok\n"}),
                "/nodes/a/qemu/100/migrate" => {
                    json!({"running": 0, "allowed_nodes": ["b"], "not_allowed_nodes": {}, "local_disks": [], "local_resources": []})
                }
                "/nodes/a/lxc/101/interfaces" => Value::Null,
                _ => return Err(Error::NotFound(format!("no {path}"))),
            })
        }
        fn render(&self, m: Method, path: &str, _p: &Params) -> String {
            format!("{m} {path}")
        }
        async fn get_text(&self, _path: &str, _params: &Params) -> Result<Option<String>> {
            Ok(None)
        }
        async fn run_tool(&self, tool: &str, _args: &[String]) -> Result<crate::backend::command::CommandOutput> {
            Err(Error::Unsupported { operation: tool.to_owned(), reason: "in this test table".into() })
        }
        async fn close(&self) -> Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn backups_visit_each_shared_storage_once_newest_first() {
        let b = ApiBackend::new(Table::default());
        let all = b.backups(&BackupFilter::default()).await.expect("backups");
        assert_eq!(
            all.iter().map(|x| (x.node.as_str(), x.storage.as_str(), x.ctime)).collect::<Vec<_>>(),
            [("a", "local", Some(30)), ("b", "local", Some(20)), ("a", "nfs", Some(10))]
        );
        let calls = b.transport().calls.lock().expect("not poisoned").clone();
        assert_eq!(calls.iter().filter(|c| c.contains("/nfs/content")).count(), 1, "{calls:?}");
        assert!(!calls.iter().any(|c| c.starts_with("/nodes/c/") || c.contains("/lvm/")), "{calls:?}");
        assert!(calls.iter().all(|c| !c.contains("/content") || c.ends_with("?content=backup")), "{calls:?}");
        assert_eq!(b.next_id().await.expect("nextid").get(), 104);
        let none = b.backups(&BackupFilter { storage: Some("nope".parse().expect("id")), ..BackupFilter::default() }).await;
        assert_eq!(none.expect_err("missing storage").exit_code(), 5);
    }

    fn guest(kind: GuestKind, vmid: u32) -> GuestRef {
        GuestRef { vmid: Vmid::new(vmid).expect("vmid"), node: "a".parse().expect("node"), kind }
    }

    #[tokio::test]
    async fn pool_reads_the_new_form_and_falls_back_to_the_legacy_path() {
        let b = ApiBackend::new(Table::default());
        assert_eq!(b.pool("new").await.expect("new form").vmids(), [100]);
        let old = b.pool("old").await.expect("legacy form");
        assert_eq!((old.poolid.as_str(), old.comment.as_deref(), old.vmids()), ("old", Some("legacy"), vec![101]));
        let calls = b.transport().calls.lock().expect("not poisoned").clone();
        assert_eq!(calls, ["/pools?poolid=new", "/pools?poolid=old", "/pools/old?"]);
        assert_eq!(b.pool("a?b").await.expect_err("bad id").exit_code(), 2);
    }

    #[tokio::test]
    async fn agent_failures_and_qemu_only_reads() {
        let b = ApiBackend::new(Table::default());
        let vm = guest(GuestKind::Qemu, 100);
        let ct = guest(GuestKind::Lxc, 101);
        assert!(matches!(b.network_interfaces(&vm).await, Err(Error::Unsupported { .. })));
        assert_eq!(b.agent(&vm, "get-osinfo").await.expect_err("agent down").exit_code(), 6);
        assert_eq!(b.agent(&vm, "../x").await.expect_err("bad command").exit_code(), 2);
        assert!(b.exec_status(&vm, 7).await.expect("status").success());
        assert_eq!(b.migrate_precondition(&vm, None).await.expect("precondition").allowed_nodes, ["b"]);
        assert_eq!(b.migrate_precondition(&ct, None).await.expect_err("qemu only").exit_code(), 2);
        assert!(b.lxc_interfaces(&ct).await.expect("stopped CT").is_empty());
        let calls = b.transport().calls.lock().expect("not poisoned").clone();
        assert!(calls.contains(&"/nodes/a/qemu/100/agent/exec-status?pid=7".to_owned()), "{calls:?}");
    }

    #[tokio::test]
    async fn a_vmid_filter_is_passed_to_pve_and_an_offline_node_is_not_found() {
        let b = ApiBackend::new(Table::default());
        let f = BackupFilter { vmid: Some(Vmid::new(100).expect("vmid")), kind: Some(GuestKind::Lxc), ..BackupFilter::default() };
        assert!(b.backups(&f).await.expect("backups").is_empty(), "all three are qemu");
        let calls = b.transport().calls.lock().expect("not poisoned").clone();
        assert!(calls.iter().filter(|c| c.contains("/content")).all(|c| c.ends_with("?content=backup&vmid=100")), "{calls:?}");
        let off = BackupFilter { node: Some("c".parse().expect("node")), ..BackupFilter::default() };
        assert_eq!(b.backups(&off).await.expect_err("offline").exit_code(), 5);
    }
}
