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
    Backup, BackupJob, GuestKind, GuestRef, NodeName, NotBackedUp, PendingChange, Storage, StorageId, StorageVolume, Vmid, parse_next_id,
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
        if let Some(n) = &filter.node {
            if !online.iter().any(|o| o == n.as_str()) {
                return Err(Error::NotFound(format!("node '{n}' is not an online cluster node")));
            }
        }
        let storages = backup_storages(self.storages(filter.node.as_ref()).await?, &online, filter);
        if let Some(id) = &filter.storage {
            if storages.is_empty() {
                return Err(Error::NotFound(format!(
                    "storage '{id}' holds no backups on any online node (missing, inactive or no 'backup' content)"
                )));
            }
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
                _ => return Err(Error::NotFound(format!("no {path}"))),
            })
        }
        fn render(&self, m: Method, path: &str, _p: &Params) -> String {
            format!("{m} {path}")
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
