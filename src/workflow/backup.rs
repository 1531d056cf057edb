//! Backups as [`Action`]s: `backup create` (vzdump, one task per node), `backup restore`,
//! `backup delete` (DESIGN.md §3-§4; facts in reference/OPERATIONS.md §Backup, §Restore).
//!
//! `backup create` reports each guest's outcome parsed from the task log (archive volid,
//! size, duration, PVE's reason for a failed guest); a job with a failed guest ends as PVE's
//! `job errors` (exit 7) naming the guests. A restore to a vmid in use is refused before
//! sending with PVE's own words unless `--force` (destructive) replaces the guest.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::json;

use crate::backend::inventory::{BackupFilter, InventoryExt};
use crate::backend::lookup::resource_in;
use crate::backend::{Backend, Mutation, Params, ResourceType};
use crate::error::{Error, Result};
use crate::model::{Backup, GuestKind, GuestRef, NodeName, StorageId, Upid, Vmid, parse_vzdump_log};
use crate::workflow::action::{Action, Draft, Prepared, ReadOnly};
use crate::workflow::report::{GuestState, Report};

/// What `backup create` backs up, and how.
#[derive(Debug, Clone, Default)]
pub struct BackupCreate {
    /// The guests; empty with `all`.
    pub vmids: Vec<Vmid>,
    /// Every guest of the cluster.
    pub all: bool,
    /// vzdump's options, in order: `storage`, `mode`, `compress`, `notes-template`,
    /// `protected`, `remove`.
    pub params: Params,
}

impl BackupCreate {
    fn storage(&self) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == "storage").map(|(_, v)| v.as_str())
    }
}

#[async_trait]
impl Action for BackupCreate {
    fn name(&self) -> String {
        "backup create".into()
    }

    fn summary(&self, d: &Draft) -> String {
        let n: usize = d.mutations.iter().map(|m| if let Mutation::Backup { vmids, .. } = m { vmids.len() } else { 0 }).sum();
        format!("back up {n} guest(s) in {} vzdump job(s)", d.mutations.len())
    }

    /// Finds every guest (one listing), groups them by node, and checks the storage holds
    /// backups on each of those nodes (where the backend can list storages).
    async fn prepare(&self, b: &ReadOnly<'_>) -> Result<Prepared> {
        if self.vmids.is_empty() && !self.all {
            return Err(Error::Usage("name the guests to back up, or pass --all".into()));
        }
        let items = b.cluster_resources(Some(ResourceType::Vm)).await?;
        let mut by_node: BTreeMap<NodeName, Vec<(Vmid, GuestState)>> = BTreeMap::new();
        let mut targets = Vec::new();
        let wanted: Vec<Vmid> = if self.all {
            let mut v: Vec<Vmid> =
                items.iter().filter_map(|r| r.vmid.and_then(|v| u32::try_from(v).ok()).and_then(|v| Vmid::new(v).ok())).collect();
            v.sort_unstable();
            v.dedup();
            v
        } else {
            self.vmids.clone()
        };
        for vmid in wanted {
            let r = resource_in(items.clone(), vmid)?.ok_or_else(|| Error::NotFound(format!("guest {vmid} does not exist")))?;
            let g = crate::backend::api::guest_from_resource(r.clone())?.guest_ref();
            targets.push(g.clone());
            by_node.entry(g.node.clone()).or_default().push((vmid, GuestState::from_resource(&r)));
        }
        let mut warnings = Vec::new();
        if let Some(storage) = self.storage() {
            for node in by_node.keys() {
                // `--tools qm-pct` cannot list storages: `vzdump` itself then refuses a
                // storage that is missing or holds no backups, before its task starts.
                let storages = match b.storages(Some(node)).await {
                    Err(Error::Unsupported { .. }) => break,
                    other => other?,
                };
                let ok = storages.iter().any(|s| s.storage == storage && s.content.iter().any(|c| c == "backup"));
                if !ok {
                    return Err(Error::NotFound(format!("storage {storage} does not hold backups on node {node}")));
                }
            }
        }
        for (vmid, state) in by_node.values().flatten() {
            if let Some(lock) = &state.lock {
                warnings.push(format!("guest {vmid} is locked ({lock}): PVE will fail its backup"));
            }
        }
        let mutations: Vec<Mutation> = by_node
            .iter()
            .map(|(node, gs)| Mutation::Backup {
                node: node.clone(),
                vmids: gs.iter().map(|(v, _)| *v).collect(),
                params: self.params.clone(),
            })
            .collect();
        let single = (targets.len() == 1).then(|| targets[0].clone());
        let before = single.as_ref().and_then(|_| by_node.values().flatten().next().map(|(_, s)| s.clone()));
        let mut d = Draft::new(single, before, mutations);
        d.warnings = warnings;
        Ok(Prepared::Changes(Box::new(d)))
    }

    async fn observe(&self, _b: &dyn Backend, _d: &Draft) -> Result<Option<GuestState>> {
        Ok(None)
    }

    fn reached(&self, _d: &Draft, _after: &GuestState) -> bool {
        true
    }

    /// Reads each job's task log and reports every guest's outcome; a job that ended with
    /// `job errors` names the guests that failed and PVE's reason for each.
    async fn conclude(&self, b: &dyn Backend, _d: &Draft, report: &mut Report, error: Option<Error>) -> Option<Error> {
        let tasks: Vec<_> = if report.tasks.is_empty() { report.task.iter().cloned().collect() } else { report.tasks.clone() };
        let mut guests = Vec::new();
        for t in &tasks {
            let lines: Vec<String> = match &t.upid {
                Some(upid) => read_log(b, upid).await,
                None => t.log.clone(),
            };
            guests.extend(parse_vzdump_log(&lines).guests);
        }
        let failed: Vec<String> = guests
            .iter()
            .filter(|g| g.error.is_some())
            .map(|g| format!("VM {} failed - {}", g.vmid, g.error.clone().unwrap_or_default()))
            .collect();
        report.details = Some(json!({ "guests": guests }));
        match error {
            Some(Error::TaskFailed { upid, message, log_tail }) if !failed.is_empty() => {
                Some(Error::TaskFailed { upid, message: format!("{message}: {}", failed.join("; ")), log_tail })
            }
            other => other,
        }
    }
}

/// A task's whole log as lines (empty when unreadable: the report then lacks the details).
async fn read_log(b: &dyn Backend, upid: &Upid) -> Vec<String> {
    b.task_log(upid, 0, 1_000_000).await.map(|l| l.into_iter().map(|l| l.t).collect()).unwrap_or_default()
}

/// Finds a backup by volid on its storage (`<storage>:...`), as seen from the nodes that
/// have that storage.
///
/// # Errors
/// `Usage` for a volid without a storage; `NotFound` when no node lists it.
pub async fn find_backup(b: &dyn Backend, volid: &str) -> Result<Backup> {
    let storage: StorageId = volid
        .split_once(':')
        .map(|(s, _)| s)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::Usage(format!("{} is not a volid (STORAGE:backup/FILE)", crate::model::excerpt(volid, 120))))?
        .parse()?;
    let all = b.backups(&BackupFilter { storage: Some(storage.clone()), ..BackupFilter::default() }).await?;
    all.into_iter()
        .find(|bk| bk.volid == volid)
        .ok_or_else(|| Error::NotFound(format!("backup {} is not on storage {storage}", crate::model::excerpt(volid, 120))))
}

/// `backup restore`.
#[derive(Debug, Clone)]
pub struct BackupRestore {
    /// The backup's volid.
    pub volid: String,
    /// The vmid to restore to (the backed-up guest's when `None`).
    pub vmid: Option<Vmid>,
    /// Replace an existing guest.
    pub force: bool,
    /// `storage`, `start`, `unique`, in order.
    pub params: Params,
    /// Start the guest afterwards (also in `params`): the re-check waits for it to run.
    pub start: bool,
}

#[async_trait]
impl Action for BackupRestore {
    fn name(&self) -> String {
        "backup restore".into()
    }

    fn summary(&self, d: &Draft) -> String {
        let to = d.creates.as_ref().map(|g| format!(" to guest {} ({}) on {}", g.vmid, g.kind, g.node)).unwrap_or_default();
        let over = if self.force { ", replacing it" } else { "" };
        format!("restore {}{to}{over}", crate::model::excerpt(&self.volid, 120))
    }

    async fn prepare(&self, b: &ReadOnly<'_>) -> Result<Prepared> {
        let backup = find_backup(b, &self.volid).await?;
        let kind = backup.kind.ok_or_else(|| {
            Error::Usage(format!("cannot tell whether {} is a qemu or lxc backup", crate::model::excerpt(&self.volid, 120)))
        })?;
        let vmid = self.vmid.or(backup.vmid).ok_or_else(|| Error::Usage("the backup names no guest: pass --vmid".into()))?;
        let items = b.cluster_resources(Some(ResourceType::Vm)).await?;
        let existing = resource_in(items, vmid)?;
        let (node, before) = match &existing {
            Some(r) => {
                let g = crate::backend::api::guest_from_resource(r.clone())?.guest_ref();
                let (me, it) = (if kind == GuestKind::Lxc { "CT" } else { "VM" }, if g.kind == GuestKind::Lxc { "CT" } else { "VM" });
                if !self.force {
                    // PVE's own refusal before any task (qemu-server API2/Qemu.pm:1372-1375).
                    return Err(Error::Conflict(format!(
                        "unable to restore {me} {vmid} - {it} {vmid} already exists on node '{}'",
                        g.node
                    )));
                }
                if g.kind != kind {
                    return Err(Error::Conflict(format!(
                        "guest {vmid} is {}, the backup is {kind}: --force replaces only a guest of the same kind",
                        g.kind
                    )));
                }
                (g.node, Some(GuestState::from_resource(r)))
            }
            None => (backup.node.clone(), None),
        };
        let guest = GuestRef { vmid, node, kind };
        let m = Mutation::Restore {
            guest: guest.clone(),
            archive: self.volid.clone(),
            force: self.force && existing.is_some(),
            params: self.params.clone(),
        };
        let mut d = Draft::new(Some(guest.clone()), before, vec![m]);
        d.creates = Some(guest);
        d.details = Some(json!({ "backup": backup }));
        Ok(Prepared::Changes(Box::new(d)))
    }

    async fn observe(&self, b: &dyn Backend, d: &Draft) -> Result<Option<GuestState>> {
        d.read_subject(b).await
    }

    fn reached(&self, _d: &Draft, after: &GuestState) -> bool {
        after.lock.is_none() && (!self.start || after.is_running())
    }

    fn may_lag(&self, _d: &Draft) -> bool {
        true
    }
}

/// `backup delete`; a protected backup only with `force`, which clears the flag first.
#[derive(Debug, Clone)]
pub struct BackupDelete {
    /// The backup's volid.
    pub volid: String,
    /// Clear the protected flag first.
    pub force: bool,
}

#[async_trait]
impl Action for BackupDelete {
    fn name(&self) -> String {
        "backup delete".into()
    }

    fn summary(&self, _d: &Draft) -> String {
        format!("delete backup {}", crate::model::excerpt(&self.volid, 120))
    }

    async fn prepare(&self, b: &ReadOnly<'_>) -> Result<Prepared> {
        let backup = find_backup(b, &self.volid).await?;
        let (node, storage, volid) = (backup.node.clone(), backup.storage.clone(), backup.volid.clone());
        let mut mutations = Vec::new();
        if self.force && backup.is_protected() {
            mutations.push(Mutation::BackupProtect {
                node: node.clone(),
                storage: storage.clone(),
                volid: volid.clone(),
                protected: false,
            });
        }
        mutations.push(Mutation::BackupDelete { node, storage, volid, force: self.force });
        let mut d = Draft::new(None, None, mutations);
        d.details = Some(json!({ "backup": backup }));
        Ok(Prepared::Changes(Box::new(d)))
    }

    async fn observe(&self, _b: &dyn Backend, _d: &Draft) -> Result<Option<GuestState>> {
        Ok(None)
    }

    fn reached(&self, _d: &Draft, _after: &GuestState) -> bool {
        true
    }

    /// Checks the backup is gone from its storage.
    async fn conclude(&self, b: &dyn Backend, _d: &Draft, _report: &mut Report, error: Option<Error>) -> Option<Error> {
        if error.is_some() {
            return error;
        }
        match find_backup(b, &self.volid).await {
            Ok(_) => Some(Error::OutcomeUnknown {
                message: "the delete ended OK but the storage still lists the backup".into(),
                upid: None,
                source: None,
            }),
            Err(Error::NotFound(_)) => None,
            Err(e) => Some(Error::OutcomeUnknown {
                message: "the backup was deleted, then re-reading the storage failed".into(),
                upid: None,
                source: Some(Box::new(e)),
            }),
        }
    }
}
