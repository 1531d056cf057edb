//! The storage-health `check_pve` modes: `zfs` (`GET /nodes/{node}/disks/zfs`: each pool's
//! `health`), `ceph` (`GET /cluster/ceph/status`: Ceph's `health.status` and
//! `health.checks`) and `replication` (`GET /nodes/{node}/replication`: each job's
//! `fail_count`, `error` and `last_sync`, pve-manager `PVE/API2/Replication.pm` `status`).
//!
//! A node without zpool (`zfsutils-linux not installed`) and a cluster without Ceph (`binary
//! not installed: /usr/bin/ceph-mon`, `pveceph configuration not initialized - …`) are
//! reported as skipped / not applicable (OK), never as a failure. `/cluster/ceph/status` is
//! answered by the node pvectl talks to (no proxying): a cluster whose Ceph nodes are not
//! the one asked reads as not applicable.

use serde_json::Value;

use super::node_health::{NodeList, not_applicable, per_node};
use super::sets::{Fut, failed, measured};
use super::{Finding, Severity, Thresholds};
use crate::backend::{Backend, Method, Params};

fn text<'v>(item: &'v Value, key: &str) -> &'v str {
    item.get(key).and_then(Value::as_str).unwrap_or("")
}

fn clip(s: &str) -> String {
    crate::model::clip(s, 120)
}

/// `zfs`: the health of every node's ZFS pools.
pub(super) async fn zfs(b: &dyn Backend, nodes: &NodeList<'_>) -> Vec<Finding> {
    per_node(nodes, "zfs-pool", |n| -> Fut<'_> {
        Box::pin(async move {
            match b.raw(Method::Get, &format!("/nodes/{n}/disks/zfs"), &Params::new()).await {
                Ok(v) => judge_zpools(n.as_str(), &v),
                Err(e) => match not_applicable(&e) {
                    Some(why) => vec![Finding::new("zfs-pool", Severity::Ok, n.as_str(), format!("skipped: {why}"))],
                    None => failed("zfs-pool", n.as_str(), "ZFS pools", &e).into_iter().collect(),
                },
            }
        })
    })
    .await
}

/// Judges `GET /nodes/{node}/disks/zfs`: `ONLINE` is fine, `DEGRADED` (redundancy lost, data
/// still there) a WARNING, anything else (`FAULTED`, `OFFLINE`, `UNAVAIL`, `REMOVED`,
/// `SUSPENDED`) CRITICAL. Subject `<pool>@<node>`.
pub(super) fn judge_zpools(node: &str, v: &Value) -> Vec<Finding> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let health = text(p, "health");
            let severity = match health {
                "ONLINE" => Severity::Ok,
                "DEGRADED" => Severity::Warning,
                _ => Severity::Critical,
            };
            let subject = format!("{}@{node}", crate::model::clip(text(p, "name"), 64));
            Finding::new("zfs-pool", severity, subject, format!("pool {}", clip(if health.is_empty() { "health unknown" } else { health })))
        })
        .collect()
}

/// `ceph`: the cluster's Ceph health, one read.
pub(super) async fn ceph(b: &dyn Backend) -> Vec<Finding> {
    match b.raw(Method::Get, "/cluster/ceph/status", &Params::new()).await {
        Ok(v) => vec![judge_ceph(&v)],
        Err(e) => match not_applicable(&e) {
            Some(why) => vec![Finding::new("ceph", Severity::Ok, "ceph", format!("not applicable: {why}"))],
            None => failed("ceph", "ceph", "Ceph status", &e).into_iter().collect(),
        },
    }
}

/// Judges `GET /cluster/ceph/status`: `health.status` `HEALTH_OK` / `HEALTH_WARN` /
/// `HEALTH_ERR` as OK / WARNING / CRITICAL (anything else UNKNOWN), the message naming each
/// health check's code and summary.
pub(super) fn judge_ceph(v: &Value) -> Finding {
    let health = v.get("health");
    let status = health.and_then(|h| h.get("status")).and_then(Value::as_str).unwrap_or("");
    let severity = match status {
        "HEALTH_OK" => Severity::Ok,
        "HEALTH_WARN" => Severity::Warning,
        "HEALTH_ERR" => Severity::Critical,
        _ => Severity::Unknown,
    };
    let checks: Vec<String> = health
        .and_then(|h| h.get("checks"))
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .take(5)
        .map(|(code, c)| {
            let msg = c.get("summary").and_then(|s| s.get("message")).and_then(Value::as_str).unwrap_or("");
            format!("{} {}", crate::model::clip(code, 40), clip(msg))
        })
        .collect();
    let mut message = if status.is_empty() { "no health status in the answer".to_owned() } else { clip(status) };
    if !checks.is_empty() {
        message = format!("{message}: {}", checks.join("; "));
    }
    Finding::new("ceph", severity, "ceph", message)
}

/// `replication`: every replication job of every node.
pub(super) async fn replication(b: &dyn Backend, nodes: &NodeList<'_>, t: &Thresholds, now: u64) -> Vec<Finding> {
    per_node(nodes, "replication", |n| -> Fut<'_> {
        Box::pin(async move {
            match b.raw(Method::Get, &format!("/nodes/{n}/replication"), &Params::new()).await {
                Ok(v) => judge_replication(n.as_str(), &v, t, now),
                Err(e) => match not_applicable(&e) {
                    Some(why) => vec![Finding::new("replication", Severity::Ok, n.as_str(), format!("skipped: {why}"))],
                    None => failed("replication", n.as_str(), "replication jobs", &e).into_iter().collect(),
                },
            }
        })
    })
    .await
}

/// Judges `GET /nodes/{node}/replication`: each enabled job's `fail_count` against
/// `replication-fails`, the message naming the guest, source and target, the `error` and how
/// long ago the last successful sync (`last_sync`, 0 = never) started. Subject: the job id
/// (`<guest>-<jobnum>`).
pub(super) fn judge_replication(node: &str, v: &Value, t: &Thresholds, now: u64) -> Vec<Finding> {
    let mut out = Vec::new();
    for j in v.as_array().into_iter().flatten() {
        let disabled = j.get("disable").is_some_and(|d| d.as_u64() == Some(1) || d.as_bool() == Some(true) || d.as_str() == Some("1"));
        if disabled {
            continue;
        }
        let num = |k: &str| j.get(k).and_then(crate::model::loose::value_f64);
        let id = crate::model::clip(text(j, "id"), 40);
        let fails = num("fail_count").unwrap_or(0.0);
        let target = crate::model::clip(text(j, "target"), 64);
        let mut f = measured("replication", &id, &format!("replication_fails_{id}"), "failed syncs", fails, t.get("replication-fails"), "");
        #[expect(clippy::cast_precision_loss, reason = "epoch seconds fit f64")]
        let last = match num("last_sync") {
            Some(s) if s > 0.0 => format!("last sync {:.0} min ago", ((now as f64 - s) / 60.0).max(0.0)),
            _ => "never synced".to_owned(),
        };
        let error = text(j, "error");
        let error = if error.is_empty() { String::new() } else { format!(": {}", clip(error.trim())) };
        f.message = format!("{} ({node} -> {target}, {last}){error}", f.message);
        out.push(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pool_health_maps_to_severity() {
        let v =
            json!([{"name": "rpool", "health": "ONLINE"}, {"name": "tank", "health": "DEGRADED"}, {"name": "old", "health": "FAULTED"}]);
        let got: Vec<(String, Severity)> = judge_zpools("pve2", &v).into_iter().map(|f| (f.subject, f.severity)).collect();
        assert_eq!(
            got,
            [("rpool@pve2".into(), Severity::Ok), ("tank@pve2".into(), Severity::Warning), ("old@pve2".into(), Severity::Critical)]
        );
        assert!(judge_zpools("pve2", &json!([])).is_empty(), "no pools, nothing to judge");
    }

    #[test]
    fn ceph_health_status_and_checks() {
        assert_eq!(judge_ceph(&json!({"health": {"status": "HEALTH_OK", "checks": {}}})).severity, Severity::Ok);
        let warn = judge_ceph(
            &json!({"health": {"status": "HEALTH_WARN", "checks": {"OSD_DOWN": {"severity": "HEALTH_WARN", "summary": {"message": "1 osds down", "count": 1}}}}}),
        );
        assert_eq!((warn.severity, warn.message.as_str()), (Severity::Warning, "HEALTH_WARN: OSD_DOWN 1 osds down"));
        assert_eq!(judge_ceph(&json!({"health": {"status": "HEALTH_ERR"}})).severity, Severity::Critical);
        assert_eq!(judge_ceph(&json!({})).severity, Severity::Unknown);
    }

    #[test]
    fn replication_failures_count_against_the_thresholds() {
        let t = Thresholds::default();
        let now = 1_800_000_000_u64;
        let v = json!([
            {"id": "100-0", "guest": 100, "target": "pve2", "fail_count": 0, "last_sync": now - 600},
            {"id": "101-0", "guest": 101, "target": "pve3", "fail_count": 1, "last_sync": now - 3_600, "error": "command 'zfs snapshot' failed"},
            {"id": "102-0", "guest": 102, "target": "pve3", "fail_count": 4, "last_sync": 0, "error": "no route"},
            {"id": "103-0", "guest": 103, "target": "pve3", "fail_count": 9, "disable": 1}
        ]);
        let f = judge_replication("pve1", &v, &t, now);
        let got: Vec<(&str, Severity)> = f.iter().map(|f| (f.subject.as_str(), f.severity)).collect();
        assert_eq!(
            got,
            [("100-0", Severity::Ok), ("101-0", Severity::Warning), ("102-0", Severity::Critical)],
            "a disabled job is left out"
        );
        assert!(f[1].message.contains("pve1 -> pve3, last sync 60 min ago): command 'zfs snapshot' failed"), "{}", f[1].message);
        assert!(f[2].message.contains("never synced"), "{}", f[2].message);
    }
}
