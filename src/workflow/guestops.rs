//! Moving guests and their disks, and reaching inside them, as [`Action`]s: `guest migrate`,
//! `guest resize`, `guest move-disk`, `guest exec` (DESIGN.md §3-§4; facts in
//! reference/OPERATIONS.md §Migrate, §Resize, §Guest agent).
//!
//! Each refuses before sending what PVE would refuse: a migration the precondition read
//! (`GET .../migrate?target=`) disallows, local disks without `--with-local-disks`, a running
//! container without `--restart`; a shrinking resize, with the current size in the plan. An
//! HA-managed guest migrates through HA, and the re-check waits until HA has moved it.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::backend::lookup::resource_in;
use crate::backend::{Backend, InventoryExt, Mutation, Params, ResourceType};
use crate::error::{Error, Result};
use crate::model::{GuestKind, NodeName, StorageId, Vmid};
use crate::workflow::action::{Action, Draft, Prepared, ReadOnly};
use crate::workflow::discover::discover;
use crate::workflow::report::{GuestState, Report};

/// `guest migrate`.
#[derive(Debug, Clone)]
pub struct Migrate {
    /// The guest.
    pub vmid: Vmid,
    /// The node to move it to.
    pub target: NodeName,
    /// qemu: live migration of a running VM.
    pub online: bool,
    /// qemu: copy disks on local storage too.
    pub with_local_disks: bool,
    /// Storage for those disks on the target.
    pub target_storage: Option<StorageId>,
    /// lxc: stop, move and start a running container.
    pub restart: bool,
}

#[async_trait]
impl Action for Migrate {
    fn name(&self) -> String {
        "migrate".into()
    }

    fn summary(&self, d: &Draft) -> String {
        d.target
            .as_ref()
            .map_or_else(|| self.name(), |g| format!("migrate guest {} ({}) from {} to {}", g.vmid, g.kind, g.node, self.target))
    }

    async fn prepare(&self, b: &ReadOnly<'_>) -> Result<Prepared> {
        let (guest, listed) = discover(b, self.vmid, None, None).await?;
        if guest.node == self.target {
            let before = listed.as_ref().map_or_else(GuestState::default, GuestState::from_resource);
            return Ok(Prepared::Noop(Box::new(Report::noop(self.name(), guest, before))));
        }
        let mut before = GuestState::from_status(&b.guest_status(&guest).await?);
        if before.ha_state.is_none() {
            before.ha_state = listed.as_ref().and_then(|r| r.hastate.clone());
        }
        before.node = Some(guest.node.to_string());
        if let Some(lock) = &before.lock {
            return Err(Error::Conflict(format!("guest {} is locked ({lock})", self.vmid)));
        }
        let running = before.status == "running";
        let mut details = serde_json::Map::new();
        if before.ha_state.is_some() {
            // HA decides where an HA-managed guest runs: ask it (PVE's own GUI does the same).
            let m = Mutation::HaMigrate { guest: guest.clone(), target: self.target.clone() };
            details.insert("via".into(), json!("ha"));
            let mut d = Draft::new(Some(guest), Some(before), vec![m]);
            d.details = Some(Value::Object(details));
            return Ok(Prepared::Changes(Box::new(d)));
        }
        let mut params = Params::new();
        match guest.kind {
            GuestKind::Qemu => {
                let pre = b.migrate_precondition(&guest, Some(&self.target)).await?;
                if let Some(reason) = pre.refusal(&self.target, self.with_local_disks, self.online) {
                    return Err(Error::Conflict(reason));
                }
                if running && !self.online {
                    return Err(Error::Conflict(format!(
                        "guest {} is running: pass --online for a live migration, or shut it down first",
                        self.vmid
                    )));
                }
                details.insert("precondition".into(), serde_json::to_value(&pre).unwrap_or(Value::Null));
                if self.online {
                    params.push(("online".into(), "1".into()));
                }
                if self.with_local_disks {
                    params.push(("with-local-disks".into(), "1".into()));
                }
                if let Some(s) = &self.target_storage {
                    params.push(("targetstorage".into(), s.to_string()));
                }
            }
            GuestKind::Lxc => {
                if running && !self.restart {
                    return Err(Error::Conflict(format!(
                        "running container can only be migrated in restart mode: pass --restart (guest {})",
                        self.vmid
                    )));
                }
                if self.restart {
                    params.push(("restart".into(), "1".into()));
                }
                if let Some(s) = &self.target_storage {
                    params.push(("target-storage".into(), s.to_string()));
                }
            }
        }
        let m = Mutation::Migrate { guest: guest.clone(), target: self.target.clone(), params };
        let mut d = Draft::new(Some(guest), Some(before), vec![m]);
        d.details = Some(Value::Object(details));
        Ok(Prepared::Changes(Box::new(d)))
    }

    /// Locates the guest wherever it is now (a failed migration may have left it on either
    /// node) and reads its state there.
    async fn observe(&self, b: &dyn Backend, _d: &Draft) -> Result<Option<GuestState>> {
        let items = b.cluster_resources(Some(ResourceType::Vm)).await?;
        let Some(r) = resource_in(items, self.vmid)? else { return Ok(None) };
        let mut state = GuestState::from_resource(&r);
        state.node.clone_from(&r.node);
        Ok(Some(state))
    }

    fn reached(&self, _d: &Draft, after: &GuestState) -> bool {
        after.node.as_deref() == Some(self.target.as_str()) && after.lock.is_none()
    }

    fn may_lag(&self, _d: &Draft) -> bool {
        true
    }

    /// Reads the migration log: a failed migration says whether the guest is still on the
    /// source (`migration aborted`) or may already run on the target (`migration problems`),
    /// and where the re-check found it.
    async fn conclude(&self, b: &dyn Backend, d: &Draft, report: &mut Report, error: Option<Error>) -> Option<Error> {
        let lines: Vec<String> = match report.task.as_ref().and_then(|t| t.upid.clone()) {
            Some(upid) => b.task_log(&upid, 0, 100_000).await.map(|l| l.into_iter().map(|l| l.t).collect()).unwrap_or_default(),
            None => report.task.as_ref().map(|t| t.log.clone()).unwrap_or_default(),
        };
        let summary = crate::model::parse_migration_log(&lines);
        let now = self.observe(b, d).await.ok().flatten().and_then(|s| s.node);
        if let Some(Value::Object(details)) = &mut report.details {
            details.insert("migration".into(), serde_json::to_value(&summary).unwrap_or(Value::Null));
            details.insert("node_now".into(), json!(now));
        }
        match error {
            Some(Error::TaskFailed { upid, message, log_tail }) => {
                let where_now = now.map_or_else(|| "could not be located".to_owned(), |n| format!("is now on {n}"));
                Some(Error::TaskFailed { upid, message: format!("{message}; guest {} {where_now}", self.vmid), log_tail })
            }
            other => other,
        }
    }
}

/// `guest resize`: grows a disk; shrinking is refused before sending.
#[derive(Debug, Clone)]
pub struct Resize {
    /// The guest.
    pub vmid: Vmid,
    /// The drive (`scsi0`, `rootfs`, `mp0`).
    pub disk: String,
    /// PVE's size argument: `40G` or `+2G`.
    pub size: String,
}

/// What the admin still has to do inside the guest after a disk grew.
const IN_GUEST_STEPS: &[&str] = &[
    "grow the partition (e.g. `growpart /dev/sda 1`, or parted `resizepart`)",
    "grow an LVM physical volume and logical volume if there is one (`pvresize /dev/sda1`, `lvextend -l +100%FREE /dev/VG/LV`)",
    "grow the filesystem (`resize2fs /dev/...` for ext4, `xfs_growfs /mountpoint` for XFS)",
];

#[async_trait]
impl Action for Resize {
    fn name(&self) -> String {
        "resize".into()
    }

    fn summary(&self, d: &Draft) -> String {
        d.target.as_ref().map_or_else(|| self.name(), |g| format!("resize {} of guest {} ({}) to {}", self.disk, g.vmid, g.kind, self.size))
    }

    async fn prepare(&self, b: &ReadOnly<'_>) -> Result<Prepared> {
        let req = self.size.parse::<crate::model::ResizeRequest>().map_err(|e| {
            Error::Usage(format!("size {}: {e} (expected [+]N[KMGT], e.g. 40G or +2G)", crate::model::excerpt(&self.size, 40)))
        })?;
        let (guest, listed) = discover(b, self.vmid, None, None).await?;
        let config = b.guest_config(&guest).await?;
        let drive = config
            .get(&self.disk)
            .ok_or_else(|| Error::NotFound(format!("guest {} has no disk '{}'", self.vmid, crate::model::excerpt(&self.disk, 40))))?;
        let current = crate::model::drive_size(drive).ok_or_else(|| {
            Error::Usage(format!("disk '{}' of guest {} shows no size (a cdrom cannot be resized)", self.disk, self.vmid))
        })?;
        let new = req.new_size(current);
        let before = listed.as_ref().map_or_else(GuestState::default, GuestState::from_resource);
        let details = json!({"disk": self.disk, "size_before": current, "size_after": new});
        if new < current {
            return Err(Error::Conflict(format!(
                "shrinking disks is not supported: {} of guest {} is {} bytes, {} asks for {new}",
                self.disk, self.vmid, current, self.size
            )));
        }
        if new == current {
            let mut report = Report::noop(self.name(), guest, before);
            report.details = Some(details);
            return Ok(Prepared::Noop(Box::new(report)));
        }
        let m = Mutation::Resize { guest: guest.clone(), disk: self.disk.clone(), size: self.size.clone() };
        let mut d = Draft::new(Some(guest), Some(before), vec![m]);
        d.details = Some(details);
        Ok(Prepared::Changes(Box::new(d)))
    }

    async fn observe(&self, b: &dyn Backend, d: &Draft) -> Result<Option<GuestState>> {
        let Some(g) = &d.target else { return Ok(None) };
        let mut state = GuestState::from_status(&b.guest_status(g).await?);
        state.disk_size = b.guest_config(g).await?.get(&self.disk).and_then(crate::model::drive_size);
        Ok(Some(state))
    }

    fn reached(&self, d: &Draft, after: &GuestState) -> bool {
        let wanted = d.details.as_ref().and_then(|v| v["size_after"].as_u64());
        wanted.is_some() && after.disk_size == wanted
    }

    /// Lists the steps left inside the guest: PVE grows the disk, not what is on it.
    async fn conclude(&self, _b: &dyn Backend, _d: &Draft, report: &mut Report, error: Option<Error>) -> Option<Error> {
        if error.is_none()
            && let Some(Value::Object(details)) = &mut report.details
        {
            details.insert("next_steps_in_guest".into(), json!(IN_GUEST_STEPS));
        }
        error
    }
}

/// `guest move-disk`.
#[derive(Debug, Clone)]
pub struct MoveDisk {
    /// The guest.
    pub vmid: Vmid,
    /// The drive or volume key.
    pub disk: String,
    /// The target storage.
    pub storage: StorageId,
    /// Remove the source volume afterwards.
    pub delete: bool,
    /// The target format (qemu).
    pub format: Option<String>,
}

#[async_trait]
impl Action for MoveDisk {
    fn name(&self) -> String {
        "move-disk".into()
    }

    fn summary(&self, d: &Draft) -> String {
        d.target
            .as_ref()
            .map_or_else(|| self.name(), |g| format!("move {} of guest {} ({}) to storage {}", self.disk, g.vmid, g.kind, self.storage))
    }

    async fn prepare(&self, b: &ReadOnly<'_>) -> Result<Prepared> {
        let (guest, listed) = discover(b, self.vmid, None, None).await?;
        let config = b.guest_config(&guest).await?;
        let drive = config
            .get(&self.disk)
            .ok_or_else(|| Error::NotFound(format!("guest {} has no disk '{}'", self.vmid, crate::model::excerpt(&self.disk, 40))))?;
        let from = drive.split([',', ':']).next().unwrap_or_default().to_owned();
        let before = listed.as_ref().map_or_else(GuestState::default, GuestState::from_resource);
        if from == self.storage.as_str() {
            return Ok(Prepared::Noop(Box::new(Report::noop(self.name(), guest, before))));
        }
        if let Some(lock) = &before.lock {
            return Err(Error::Conflict(format!("guest {} is locked ({lock})", self.vmid)));
        }
        if guest.kind == GuestKind::Lxc && before.status == "running" {
            // pve-container refuses before any task.
            return Err(Error::Conflict("cannot move volumes of a running container".into()));
        }
        let mut params = Params::new();
        if self.delete {
            params.push(("delete".into(), "1".into()));
        }
        if let Some(f) = &self.format {
            params.push(("format".into(), f.clone()));
        }
        let m = Mutation::MoveDisk { guest: guest.clone(), disk: self.disk.clone(), storage: self.storage.clone(), params };
        let mut d = Draft::new(Some(guest), Some(before), vec![m]);
        d.details = Some(json!({"disk": self.disk, "from": from, "to": self.storage}));
        Ok(Prepared::Changes(Box::new(d)))
    }

    async fn observe(&self, b: &dyn Backend, d: &Draft) -> Result<Option<GuestState>> {
        let Some(g) = &d.target else { return Ok(None) };
        let mut state = GuestState::from_status(&b.guest_status(g).await?);
        state.disk_storage = b.guest_config(g).await?.get(&self.disk).and_then(|v| v.split([',', ':']).next().map(str::to_owned));
        Ok(Some(state))
    }

    fn reached(&self, _d: &Draft, after: &GuestState) -> bool {
        after.disk_storage.as_deref() == Some(self.storage.as_str()) && after.lock.is_none()
    }
}

/// `guest exec`: a command inside the guest. Destructive by default: it runs as root there.
#[derive(Debug, Clone)]
pub struct Exec {
    /// The guest.
    pub vmid: Vmid,
    /// The program and its arguments.
    pub argv: Vec<String>,
    /// How long to wait for the command (qemu: polling `exec-status`).
    pub timeout: Duration,
}

/// Most bytes of the command's stdout and stderr kept in the report, each.
pub const MAX_EXEC_OUTPUT: usize = 1 << 20;

#[async_trait]
impl Action for Exec {
    fn name(&self) -> String {
        "exec".into()
    }

    fn summary(&self, d: &Draft) -> String {
        let cmd = crate::model::excerpt(&self.argv.join(" "), 80);
        d.target.as_ref().map_or_else(|| self.name(), |g| format!("run {cmd} as root inside guest {} ({}) on {}", g.vmid, g.kind, g.node))
    }

    async fn prepare(&self, b: &ReadOnly<'_>) -> Result<Prepared> {
        if self.argv.is_empty() {
            return Err(Error::Usage("give the command after `--`".into()));
        }
        let (guest, _) = discover(b, self.vmid, None, None).await?;
        let before = GuestState::from_status(&b.guest_status(&guest).await?);
        if before.status != "running" {
            return Err(Error::Conflict(format!("guest {} is {}: a command runs only in a running guest", self.vmid, before.status)));
        }
        let m = Mutation::Exec { guest: guest.clone(), argv: self.argv.clone() };
        Ok(Prepared::Changes(Box::new(Draft::new(Some(guest), Some(before), vec![m]))))
    }

    async fn observe(&self, _b: &dyn Backend, _d: &Draft) -> Result<Option<GuestState>> {
        Ok(None)
    }

    fn reached(&self, _d: &Draft, _after: &GuestState) -> bool {
        true
    }

    /// qemu: polls `exec-status` with the pid the agent gave until the command exited (or
    /// the timeout: an unknown outcome, exit 8); lxc: `pct exec` already waited. The command's
    /// exit code, signal and output (bounded) go into the report.
    async fn conclude(&self, b: &dyn Backend, d: &Draft, report: &mut Report, error: Option<Error>) -> Option<Error> {
        if error.is_some() {
            return error;
        }
        let Some(g) = &d.target else { return None };
        let mut status = report.result.take().unwrap_or(Value::Null);
        if let Some(pid) = status.get("pid").and_then(Value::as_u64) {
            let until = tokio::time::Instant::now() + self.timeout;
            let mut pause = Duration::from_millis(100);
            loop {
                match b.exec_status(g, pid).await {
                    Ok(s) if s.exited => {
                        status = serde_json::to_value(&s).unwrap_or(Value::Null);
                        break;
                    }
                    Ok(_) if tokio::time::Instant::now() >= until => {
                        report.details = Some(json!({"pid": pid}));
                        return Some(Error::OutcomeUnknown {
                            message: format!("the command (pid {pid}) still runs after {} s", self.timeout.as_secs()),
                            upid: None,
                            source: None,
                        });
                    }
                    Ok(_) => {}
                    Err(e) => {
                        return Some(Error::OutcomeUnknown {
                            message: format!("reading the status of pid {pid} failed"),
                            upid: None,
                            source: Some(Box::new(e)),
                        });
                    }
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        }
        report.details = Some(bound_output(status));
        None
    }
}

/// The exec result with `out-data`/`err-data` cut to [`MAX_EXEC_OUTPUT`] bytes (flagged as
/// truncated).
fn bound_output(mut v: Value) -> Value {
    for (key, flag) in [("out-data", "out-truncated"), ("err-data", "err-truncated")] {
        if let Some(text) = v.get(key).and_then(Value::as_str)
            && text.len() > MAX_EXEC_OUTPUT
        {
            let cut = crate::model::clip(text, MAX_EXEC_OUTPUT);
            v[key] = json!(cut);
            v[flag] = json!(1);
        }
    }
    v
}
