//! `guest diagnose`: what an admin looks at when a guest misbehaves, gathered in one
//! concurrent round after discovery, and turned into typed findings with a cause and the next
//! commands to run. Reads only; nothing is printed here.
//!
//! Round 0 finds the guest (one guest listing). Round 1 reads together its status, its config
//! (lock, disks, agent), its recent tasks on its node (`source=all`, so the running one that
//! holds a lock is there), the node's status and the node's storages. Round 2, only where
//! round 1 asks for it, reads together the log tail of the last failed task and pings the
//! agent of a running qemu guest with `agent: 1`.

use serde::Serialize;

use super::discover;
use super::wait::log_tail;
use crate::backend::{Backend, InventoryExt, TaskFilter};
use crate::error::{Error, Result};
use crate::model::{ExitStatus, GuestConfig, GuestKind, GuestRef, GuestStatus, NodeStatus, Storage, Task, Vmid};

/// How many recent tasks of the guest are read.
const RECENT_TASKS: u64 = 20;
/// Log lines quoted from the last failed task.
const LOG_TAIL: usize = 10;
/// Storage or node memory use (fraction) from which a finding is a warning, and critical.
const USAGE_WARN: f64 = 0.85;
const USAGE_CRIT: f64 = 0.95;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[schemars(rename = "DiagnosisSeverity")]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, nothing to do.
    Info,
    /// Something needs attention soon.
    Warning,
    /// The guest cannot work or be acted on until this is resolved.
    Critical,
}

/// One thing found: what, why, and what to run next.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[schemars(rename = "DiagnosisFinding")]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// A stable short name: `locked-by-task`, `stale-lock`, `task-failed`, ...
    pub code: &'static str,
    /// What was found.
    pub message: String,
    /// Why, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Commands to run next, most useful first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub next: Vec<String>,
    /// The log tail of a failed task, when the finding is about one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<String>,
}

/// A disk of the guest and the storage it lives on.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DiskStorage {
    /// Config key (`scsi0`, `rootfs`, `mp0`, ...).
    pub disk: String,
    /// Storage id.
    pub storage: String,
    /// Whether the storage is active on the guest's node (`None`: not listed there).
    pub active: Option<bool>,
    /// Used fraction of the storage, when known.
    pub usage: Option<f64>,
}

/// Everything `guest diagnose` read, and what it concluded.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Diagnosis {
    /// Where the guest is.
    pub guest: GuestRef,
    /// Its name, when it has one.
    pub name: Option<String>,
    /// Run state (`running`, `stopped`, ...), when the status could be read.
    pub status: Option<String>,
    /// PVE's config lock, when set.
    pub lock: Option<String>,
    /// HA state, when HA-managed.
    pub ha_state: Option<String>,
    /// Disks and their storages.
    pub disks: Vec<DiskStorage>,
    /// Agent state of a qemu guest: `ok`, `not answering`, `not configured`, `not running`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The guest's recent tasks on its node, newest first.
    pub tasks: Vec<Task>,
    /// What was found, most severe first; empty when all looks well.
    pub findings: Vec<Finding>,
}

impl Diagnosis {
    /// The most severe finding's severity.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

fn finding(severity: Severity, code: &'static str, message: String) -> Finding {
    Finding { severity, code, message, cause: None, next: Vec::new(), log: Vec::new() }
}

/// A read that failed becomes a finding, not the end of the diagnosis.
fn read_failed(what: &str, e: &Error) -> Finding {
    let mut f = finding(Severity::Warning, "read-failed", format!("could not read {what}: {e}"));
    if e.exit_code() == crate::exit_codes::TRANSPORT {
        f.severity = Severity::Critical;
    }
    f
}

/// The value of a read, or a finding saying it failed.
fn keep<T>(r: Result<T>, what: &str, findings: &mut Vec<Finding>) -> Option<T> {
    r.map_err(|e| findings.push(read_failed(what, &e))).ok()
}

/// The task types that take a guest lock of this name (qemu-server and pve-container).
fn lock_task_types(lock: &str) -> &'static [&'static str] {
    match lock {
        "backup" => &["vzdump"],
        "migrate" => &["qmigrate", "vzmigrate"],
        "snapshot" => &["qmsnapshot", "vzsnapshot"],
        "snapshot-delete" => &["qmdelsnapshot", "vzdelsnapshot"],
        "rollback" => &["qmrollback", "vzrollback"],
        "clone" => &["qmclone", "vzclone"],
        "create" => &["qmcreate", "vzcreate", "qmrestore", "vzrestore"],
        "suspending" | "suspended" => &["qmsuspend"],
        _ => &[],
    }
}

/// The storage of each disk in a config: `scsi0: nas:vm-100-disk-0,size=32G` -> (`scsi0`, `nas`).
/// CD-ROMs and `none` are not disks.
pub fn disk_storages(config: &GuestConfig) -> Vec<(String, String)> {
    const PREFIXES: [&str; 9] = ["scsi", "virtio", "sata", "ide", "efidisk", "tpmstate", "mp", "unused", "nvme"];
    config
        .entries
        .iter()
        .filter(|(k, _)| {
            k == "rootfs"
                || PREFIXES.iter().any(|p| k.strip_prefix(p).is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit())))
        })
        .filter(|(_, v)| !v.split(',').any(|part| part == "media=cdrom"))
        .filter_map(|(k, v)| {
            let volume = v.split(',').next()?;
            let (storage, _) = volume.split_once(':')?;
            // A bind mount point (`/srv/data`) or a passed-through device has no storage.
            (!storage.is_empty() && !storage.contains('/')).then(|| (k.clone(), storage.to_owned()))
        })
        .collect()
}

fn fraction(used: Option<u64>, total: Option<u64>) -> Option<f64> {
    match (used, total) {
        #[expect(clippy::cast_precision_loss, reason = "a usage fraction needs no 53-bit precision")]
        (Some(u), Some(t)) if t > 0 => Some(u as f64 / t as f64),
        _ => None,
    }
}

fn usage_severity(f: f64) -> Option<Severity> {
    if f >= USAGE_CRIT {
        Some(Severity::Critical)
    } else if f >= USAGE_WARN {
        Some(Severity::Warning)
    } else {
        None
    }
}

fn agent_enabled(config: &GuestConfig) -> bool {
    config.get("agent").is_some_and(|v| v.split(',').any(|p| p == "1" || p == "enabled=1"))
}

/// Diagnoses one guest (see the module docs).
///
/// # Errors
/// Only discovery's: `NotFound` (5) for a missing guest, `Conflict` (6) for a vmid listed
/// twice, transport errors (9). Every later read that fails becomes a finding.
pub async fn diagnose(b: &dyn Backend, vmid: Vmid) -> Result<Diagnosis> {
    let (guest, resource) = discover(b, vmid, None, None).await?;
    let filter = TaskFilter { vmid: Some(vmid), source: Some("all"), limit: Some(RECENT_TASKS), ..TaskFilter::default() };
    let (status, config, tasks, node, storages) = tokio::join!(
        b.guest_status(&guest),
        b.guest_config(&guest),
        b.tasks(&guest.node, &filter),
        b.node_status(&guest.node),
        b.storages(Some(&guest.node)),
    );
    let mut findings = Vec::new();
    let status: Option<GuestStatus> = keep(status, "the guest's status", &mut findings);
    let config: Option<GuestConfig> = keep(config, "the guest's config", &mut findings);
    let tasks: Option<Vec<Task>> = keep(tasks, &format!("the tasks of node {}", guest.node), &mut findings);
    let tasks_read = tasks.is_some();
    let mut tasks = tasks.unwrap_or_default();
    let node: Option<NodeStatus> = keep(node, &format!("the status of node {}", guest.node), &mut findings);
    let storages: Vec<Storage> = keep(storages, &format!("the storages of node {}", guest.node), &mut findings).unwrap_or_default();
    tasks.sort_by_key(|t| std::cmp::Reverse(t.starttime));

    let name = status.as_ref().and_then(|s| s.name.clone()).or_else(|| resource.as_ref().and_then(|r| r.name.clone()));
    let lock = config.as_ref().and_then(|c| c.get("lock").map(str::to_owned)).or_else(|| status.as_ref().and_then(|s| s.lock.clone()));
    let run_state = status.as_ref().map(|s| s.status.clone());
    let running = run_state.as_deref() == Some("running");
    let last_failed = tasks.iter().find(|t| t.status.as_deref().is_some_and(|s| !ExitStatus::classify(s).is_success())).cloned();
    let ping = guest.kind == GuestKind::Qemu && running && config.as_ref().is_some_and(agent_enabled);

    // Round 2: what round 1 asked for, together.
    let (tail, agent) = tokio::join!(
        async {
            match &last_failed {
                Some(t) => log_tail(b, &t.upid, LOG_TAIL).await,
                None => Vec::new(),
            }
        },
        async { if ping { Some(b.agent(&guest, "ping").await) } else { None } },
    );

    lock_findings(&guest, lock.as_deref(), tasks_read.then_some(tasks.as_slice()), &mut findings);
    if let Some(t) = &last_failed {
        let exit = t.status.clone().unwrap_or_default();
        let mut f = finding(
            Severity::Warning,
            "task-failed",
            format!("the last failed task of guest {vmid} is {} ({}): {exit}", t.upid, t.task_type.as_deref().unwrap_or("task")),
        );
        f.log = tail;
        f.next = vec![format!("pvectl task log {}", t.upid)];
        findings.push(f);
    }
    if let Some(s) = &status {
        state_findings(&guest, s, config.as_ref(), &mut findings);
    }
    let agent = agent_state(&guest, config.as_ref(), running, agent, &mut findings);
    if let Some(n) = &node
        && let Some(sev) = fraction(n.memory.used, n.memory.total).and_then(usage_severity)
    {
        findings.push(finding(sev, "node-memory", format!("node {} has little free memory", guest.node)));
    }
    let disks = disk_findings(&guest, config.as_ref(), &storages, &mut findings);
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    Ok(Diagnosis {
        ha_state: status.as_ref().and_then(|s| s.ha_state.clone()),
        guest,
        name,
        status: run_state,
        lock,
        disks,
        agent,
        tasks,
        findings,
    })
}

fn lock_findings(guest: &GuestRef, lock: Option<&str>, tasks: Option<&[Task]>, findings: &mut Vec<Finding>) {
    let Some(lock) = lock else { return };
    let vmid = guest.vmid;
    // Without the task list, which task holds the lock (if any) is unknown: no "stale" claim.
    let Some(tasks) = tasks else {
        let mut f = finding(Severity::Critical, "locked", format!("guest {vmid} is locked ({lock})"));
        f.next = vec![format!("pvectl task list --node {} --vmid {vmid}", guest.node)];
        findings.push(f);
        return;
    };
    let running: Vec<&Task> = tasks.iter().filter(|t| t.endtime.is_none() && t.status.is_none()).collect();
    let types = lock_task_types(lock);
    let holder = running.iter().find(|t| t.task_type.as_deref().is_some_and(|ty| types.contains(&ty))).or_else(|| running.first()).copied();
    if let Some(t) = holder {
        let since = t.starttime.map(|s| format!(" since {} UTC", crate::model::time::format_utc(s))).unwrap_or_default();
        let mut f = finding(
            Severity::Critical,
            "locked-by-task",
            format!(
                "guest {vmid} is locked ({lock}) by {} task {} still running on {}{since}: wait with `pvectl task wait {}`",
                t.task_type.as_deref().unwrap_or("a"),
                t.upid,
                guest.node,
                t.upid
            ),
        );
        f.cause = Some(format!("PVE holds the '{lock}' lock while the task runs; actions on the guest are refused until it ends"));
        f.next = vec![format!("pvectl task wait {}", t.upid), format!("pvectl task log {}", t.upid)];
        findings.push(f);
    } else {
        let mut f = finding(
            Severity::Critical,
            "stale-lock",
            format!("guest {vmid} is locked ({lock}) but no task of it is running on {}", guest.node),
        );
        f.cause = Some("a leftover of an interrupted task (node crash, killed worker)".into());
        f.next = vec![format!("pvectl task list --node {} --vmid {vmid}", guest.node), format!("pvectl guest unlock {vmid}")];
        findings.push(f);
    }
}

fn state_findings(guest: &GuestRef, s: &GuestStatus, config: Option<&GuestConfig>, findings: &mut Vec<Finding>) {
    let vmid = guest.vmid;
    let onboot = config.and_then(|c| c.get("onboot")) == Some("1");
    let ha_started = s.ha_state.as_deref() == Some("started");
    if s.status != "running" && !s.template && (onboot || ha_started) {
        let why = if ha_started { "HA state is 'started'" } else { "onboot=1" };
        let mut f = finding(Severity::Warning, "not-running", format!("guest {vmid} is {} but expected running ({why})", s.status));
        f.next = vec![format!("pvectl guest start {vmid}")];
        findings.push(f);
    }
    if s.qmpstatus.as_deref().is_some_and(|q| q == "paused" || q == "suspended") && s.status == "running" {
        let mut f = finding(Severity::Warning, "paused", format!("guest {vmid} is {}", s.qmpstatus.as_deref().unwrap_or("paused")));
        f.next = vec![format!("pvectl guest resume {vmid}")];
        findings.push(f);
    }
    if let Some(ha) = s.ha_state.as_deref().filter(|h| matches!(*h, "error" | "fence" | "recovery")) {
        let mut f = finding(Severity::Critical, "ha-state", format!("HA state of guest {vmid} is '{ha}'"));
        f.next = vec!["pvectl ha status".into()];
        findings.push(f);
    }
}

fn agent_state(
    guest: &GuestRef,
    config: Option<&GuestConfig>,
    running: bool,
    ping: Option<Result<serde_json::Value>>,
    findings: &mut Vec<Finding>,
) -> Option<String> {
    if guest.kind != GuestKind::Qemu {
        return None;
    }
    let Some(ping) = ping else {
        return Some(if config.is_some_and(agent_enabled) && !running { "not running" } else { "not configured" }.to_owned());
    };
    match ping {
        Ok(_) => Some("ok".into()),
        Err(e) => {
            let mut f = finding(Severity::Warning, "agent", format!("the guest agent of {} does not answer: {e}", guest.vmid));
            f.cause = Some("qemu-guest-agent not installed or not running inside the guest".into());
            f.next = vec![format!("pvectl guest agent {} ping", guest.vmid)];
            findings.push(f);
            Some("not answering".into())
        }
    }
}

fn disk_findings(guest: &GuestRef, config: Option<&GuestConfig>, storages: &[Storage], findings: &mut Vec<Finding>) -> Vec<DiskStorage> {
    let Some(config) = config else { return Vec::new() };
    let mut seen: Vec<String> = Vec::new();
    let mut disks = Vec::new();
    for (disk, id) in disk_storages(config) {
        let s = storages.iter().find(|s| s.storage == id);
        let usage = s.and_then(|s| fraction(s.used, s.total));
        disks.push(DiskStorage { disk, storage: id.clone(), active: s.map(|s| s.active), usage });
        if seen.contains(&id) {
            continue;
        }
        seen.push(id.clone());
        match s {
            None if !storages.is_empty() => {
                findings.push(finding(
                    Severity::Critical,
                    "storage-missing",
                    format!("storage '{id}' is not available on node {}", guest.node),
                ));
            }
            Some(s) if !s.active => {
                let mut f = finding(Severity::Critical, "storage-inactive", format!("storage '{id}' is not active on node {}", guest.node));
                f.next = vec![format!("pvectl storage list --node {}", guest.node)];
                findings.push(f);
            }
            _ => {}
        }
        if let Some(sev) = usage.and_then(usage_severity) {
            let pct = usage.unwrap_or_default() * 100.0;
            findings.push(finding(sev, "storage-full", format!("storage '{id}' is {pct:.0}% full")));
        }
    }
    disks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sim::{SimBackend, SimTransport, demo_state};

    fn vmid(n: u32) -> Vmid {
        Vmid::new(n).expect("vmid")
    }

    #[test]
    fn disks_are_volumes_not_cdroms_or_bind_mounts() {
        let c = GuestConfig {
            entries: [
                ("ide2", "none,media=cdrom"),
                ("ide0", "local:iso/x.iso,media=cdrom"),
                ("scsi0", "nas:vm-100-disk-0,size=32G"),
                ("rootfs", "local-lvm:subvol-1-disk-0,size=8G"),
                ("mp0", "/srv/data,mp=/data"),
                ("scsihw", "virtio-scsi-pci"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            digest: None,
        };
        assert_eq!(disk_storages(&c), vec![("scsi0".into(), "nas".into()), ("rootfs".into(), "local-lvm".into())]);
    }

    #[tokio::test]
    async fn a_guest_locked_by_a_running_backup_names_the_task_and_the_wait() {
        let b = SimBackend::new(SimTransport::from_state(demo_state()));
        let d = diagnose(&b, vmid(106)).await.expect("diagnose");
        assert_eq!(d.lock.as_deref(), Some("backup"));
        let f = d.findings.first().expect("a finding");
        assert_eq!((f.code, f.severity), ("locked-by-task", Severity::Critical));
        assert!(f.message.contains("vzdump") && f.message.contains("pve2"), "{}", f.message);
        assert!(f.next[0].starts_with("pvectl task wait UPID:pve2:"), "{:?}", f.next);
    }

    #[tokio::test]
    async fn a_failed_task_is_quoted_and_a_stale_lock_named() {
        let mut st = demo_state();
        st.guests.iter_mut().find(|g| g.vmid == 103).expect("demo has 103").lock = Some("migrate".into());
        let b = SimBackend::new(SimTransport::from_state(st));
        let d = diagnose(&b, vmid(103)).await.expect("diagnose");
        let codes: Vec<_> = d.findings.iter().map(|f| f.code).collect();
        assert!(codes.contains(&"stale-lock") && codes.contains(&"task-failed"), "{codes:?}");
        assert!(d.findings.iter().any(|f| f.next.iter().any(|n| n == "pvectl guest unlock 103")));
    }

    #[tokio::test]
    async fn a_healthy_guest_has_no_findings_and_its_agent_answers() {
        let b = SimBackend::new(SimTransport::from_state(demo_state()));
        let d = diagnose(&b, vmid(100)).await.expect("diagnose");
        assert!(d.findings.is_empty(), "{:?}", d.findings);
        assert_eq!(d.agent.as_deref(), Some("ok"));
        assert!(d.disks.iter().any(|x| x.active == Some(true)), "{:?}", d.disks);
    }
}
