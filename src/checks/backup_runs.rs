//! Part of the `backups` set: did each backup job's last run fail?
//!
//! PVE links a job to its runs only in a node-local state file the API does not expose
//! (pve-manager `PVE/Jobs.pm`); the run itself is a `vzdump` worker task of `root@pam` on
//! each node that holds guests of the job (`PVE/Jobs/VZDump.pm` `run` calls the vzdump API
//! with the job's options), whose log opens with `INFO: starting new backup job: vzdump
//! <vmids> --<option> <value> ...` (pve-manager `PVE/VZDump.pm`; the command line from
//! pve-guest-common `PVE/VZDump/Common.pm` `command_line`: every option but `id`, `vmid`,
//! `enabled`, `job-id`, values shell-quoted), started as `root@pam` (pve-manager
//! `bin/pvescheduler` sets that user). So a job's run is the newest finished `vzdump` task of
//! `root@pam` (`GET /nodes/{node}/tasks?typefilter=vzdump`) whose first log line
//! (`GET /nodes/{node}/tasks/{upid}/log?start=0&limit=1`) selects the same guests as the job
//! (the same `vmid` list, or `--all 1` with the same `--exclude`, or the same `--pool`) to
//! the same `--storage`. A manual run with the job's exact options counts as a run of it.

use std::collections::{BTreeMap, BTreeSet};

use super::join::join_bounded;
use super::node_health::{NodeList, PARALLEL, per_node};
use super::sets::{Fut, failed};
use super::{Finding, Severity};
use crate::backend::{Backend, InventoryExt, TaskFilter};
use crate::model::{BackupJob, ExitStatus, Task};

/// How many of a node's newest finished vzdump tasks are looked at.
const RECENT: usize = 10;

/// The selection and options of one vzdump run, from its log's first line.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Run {
    vmids: BTreeSet<u32>,
    opts: BTreeMap<String, String>,
}

/// Parses `INFO: starting new backup job: vzdump 100 101 --storage nas --mode snapshot`
/// (split as a POSIX shell would: PVE quotes values with `shellquote`); `None` for any other
/// line.
pub(super) fn parse_run(line: &str) -> Option<Run> {
    let rest = line.split_once("starting new backup job: ")?.1;
    let words = shlex::split(rest)?;
    let mut it = words.into_iter().peekable();
    if it.next()? != "vzdump" {
        return None;
    }
    let mut run = Run::default();
    while let Some(w) = it.next_if(|w| !w.starts_with("--")) {
        run.vmids.insert(w.parse().ok()?);
    }
    while let Some(w) = it.next() {
        let key = w.strip_prefix("--")?.to_owned();
        let value = it.next_if(|v| !v.starts_with("--")).unwrap_or_default();
        run.opts.insert(key, value);
    }
    Some(run)
}

fn id_set(list: Option<&str>) -> BTreeSet<u32> {
    list.unwrap_or("").split([',', ';', ' ']).filter_map(|v| v.trim().parse().ok()).collect()
}

/// Whether `run` is a run of `job`: the same guest selection to the same storage.
pub(super) fn is_run_of(job: &BackupJob, run: &Run) -> bool {
    let opt = |k: &str| run.opts.get(k).map(String::as_str);
    let selection = if job.vmid.as_deref().is_some_and(|v| !v.trim().is_empty()) {
        id_set(job.vmid.as_deref()) == run.vmids
    } else if job.all {
        opt("all") == Some("1") && id_set(job.exclude.as_deref()) == id_set(opt("exclude"))
    } else if let Some(pool) = &job.pool {
        opt("pool") == Some(pool.as_str())
    } else {
        false
    };
    selection && job.storage.as_deref().is_none_or(|s| opt("storage") == Some(s))
}

/// The finding for `job`'s last run `task` on `node`.
pub(super) fn judge_run(job: &BackupJob, node: &str, task: &Task) -> Finding {
    let status = task.status.clone().unwrap_or_default();
    let upid = task.upid.to_string();
    let subject = format!("{}@{node}", crate::model::clip(&job.id, 60));
    let exit = crate::model::clip(&status, 120);
    let (severity, message) = match ExitStatus::classify(&status) {
        ExitStatus::Ok => (Severity::Ok, format!("backup job {}: last run {upid} on {node} OK", job.id)),
        ExitStatus::Warnings(_) => (Severity::Warning, format!("backup job {}: last run {upid} on {node} ended with {exit}", job.id)),
        ExitStatus::Failed(_) => (Severity::Critical, format!("backup job {}: last run {upid} on {node} failed: {exit}", job.id)),
    };
    Finding::new("backup-last-run", severity, subject, message)
}

/// The newest finished vzdump tasks of `node` with their parsed first log line.
async fn recent_runs(b: &dyn Backend, node: &crate::model::NodeName) -> crate::error::Result<Vec<(Task, Option<Run>)>> {
    let filter = TaskFilter { task_type: Some("vzdump".into()), limit: Some(50), ..TaskFilter::default() };
    let mut tasks: Vec<Task> =
        b.tasks(node, &filter).await?.into_iter().filter(|t| t.status.is_some() && t.upid.user == "root@pam").collect();
    tasks.sort_by_key(|t| std::cmp::Reverse(t.starttime));
    tasks.truncate(RECENT);
    let futs: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = Option<Run>> + Send + '_>>> = tasks
        .iter()
        .map(|t| -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<Run>> + Send + '_>> {
            Box::pin(async move { b.task_log(&t.upid, 0, 1).await.ok()?.first().and_then(|l| parse_run(&l.t)) })
        })
        .collect();
    let runs = join_bounded(futs, PARALLEL).await;
    Ok(tasks.into_iter().zip(runs).collect())
}

/// `backup-last-run` findings: per enabled job and node, its last run; a job without a run in
/// the recent task lists is one OK finding saying so.
pub(super) async fn last_runs(b: &dyn Backend, nodes: &NodeList<'_>) -> Vec<Finding> {
    let jobs = match b.backup_jobs().await {
        Ok(j) => j.into_iter().filter(|j| j.enabled).collect::<Vec<_>>(),
        Err(e) => return failed("backup-last-run", "cluster", "backup jobs", &e).into_iter().collect(),
    };
    if jobs.is_empty() {
        return Vec::new();
    }
    let jobs = &jobs;
    let mut out = per_node(nodes, "backup-last-run", |n| -> Fut<'_> {
        Box::pin(async move {
            let runs = match recent_runs(b, &n).await {
                Ok(r) => r,
                Err(e) => return failed("backup-last-run", n.as_str(), "vzdump tasks", &e).into_iter().collect(),
            };
            jobs.iter()
                .filter(|j| j.node.as_deref().is_none_or(|only| only == n.as_str()))
                .filter_map(|j| {
                    runs.iter().find(|(_, r)| r.as_ref().is_some_and(|r| is_run_of(j, r))).map(|(t, _)| judge_run(j, n.as_str(), t))
                })
                .collect()
        })
    })
    .await;
    for j in jobs {
        let prefix = format!("{}@", j.id);
        if !out.iter().any(|f| f.check == "backup-last-run" && f.subject.starts_with(&prefix)) {
            out.push(Finding::new(
                "backup-last-run",
                Severity::Ok,
                crate::model::clip(&j.id, 60),
                format!("backup job {}: no finished run among the last {RECENT} vzdump tasks of its nodes", j.id),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(v: serde_json::Value) -> BackupJob {
        serde_json::from_value(v).expect("a job")
    }

    #[test]
    fn runs_are_parsed_from_the_first_log_line() {
        let r = parse_run("INFO: starting new backup job: vzdump 100 101 --storage nas --notes-template '{{guestname}} x' --quiet 1")
            .expect("a run");
        assert_eq!(r.vmids, BTreeSet::from([100, 101]));
        assert_eq!(r.opts.get("notes-template").map(String::as_str), Some("{{guestname}} x"));
        assert_eq!(r.opts.get("quiet").map(String::as_str), Some("1"));
        assert!(parse_run("INFO: Starting Backup of VM 100 (qemu)").is_none());
        assert!(parse_run("INFO: starting new backup job: vzdump abc --storage x").is_none());
    }

    #[test]
    fn a_run_belongs_to_the_job_with_the_same_selection_and_storage() {
        let by_id = job(serde_json::json!({"id": "backup-a", "vmid": "100,101,102,105", "storage": "nas"}));
        let run = |l: &str| parse_run(&format!("INFO: starting new backup job: vzdump {l}")).expect("a run");
        assert!(is_run_of(&by_id, &run("100 101 102 105 --storage nas --mode snapshot --quiet 1")));
        assert!(!is_run_of(&by_id, &run("102 --storage nas --mode snapshot")), "another selection");
        assert!(!is_run_of(&by_id, &run("100 101 102 105 --storage local")), "another storage");
        let all = job(serde_json::json!({"id": "backup-b", "all": 1, "exclude": "9000", "storage": "nas"}));
        assert!(is_run_of(&all, &run("--all 1 --exclude 9000 --storage nas")));
        assert!(!is_run_of(&all, &run("--all 1 --storage nas")), "the exclusions differ");
        let pool = job(serde_json::json!({"id": "backup-c", "pool": "prod"}));
        assert!(is_run_of(&pool, &run("--pool prod --mode stop")));
    }

    #[test]
    fn the_last_run_is_judged_by_its_exit_status() {
        let j = job(serde_json::json!({"id": "backup-a", "vmid": "100"}));
        let task = |status: &str| -> Task {
            serde_json::from_value(serde_json::json!({
                "upid": "UPID:pve1:00001A40:00120000:69559DE0:vzdump::root@pam:", "type": "vzdump", "status": status
            }))
            .expect("a task")
        };
        let f = judge_run(&j, "pve1", &task("job errors"));
        assert_eq!((f.severity, f.subject.as_str()), (Severity::Critical, "backup-a@pve1"));
        assert!(f.message.contains("UPID:pve1:00001A40") && f.message.ends_with("failed: job errors"), "{}", f.message);
        assert_eq!(judge_run(&j, "pve1", &task("WARNINGS: 2")).severity, Severity::Warning);
        assert_eq!(judge_run(&j, "pve1", &task("OK")).severity, Severity::Ok);
    }
}
