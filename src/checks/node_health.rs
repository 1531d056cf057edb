//! The per-node `check_pve` modes: `certs` (`GET /nodes/{node}/certificates/info`),
//! `services` (`GET /nodes/{node}/services`), `updates` (`GET /nodes/{node}/apt/update`) and
//! `disks` (`GET /nodes/{node}/disks/list`), one read per online node, [`PARALLEL`] at a time.
//!
//! Field names and values as pve-manager and pve-storage report them (see
//! `backend/sim/node_health.rs` for the sources): a certificate's `notafter` (epoch seconds),
//! a service's `active-state` (systemd `ActiveState`), `state` (`SubState`) and `unit-state`
//! (`UnitFileState`, `not-found` when not installed), an update's `Package`, a disk's
//! `health` (smartctl's verdict: `PASSED`, `OK` for SAS, `FAILED!`; `UNKNOWN` without SMART)
//! and `wearout` (percent of endurance left, or `N/A`).

use serde_json::Value;

use super::join::join_bounded;
use super::sets::{Fut, failed, measured};
use super::{Finding, Severity, Thresholds};
use crate::backend::{Backend, Method, Params};
use crate::error::Error;
use crate::model::{Node, NodeName};

/// How many per-node or per-guest reads a check set makes at a time (the action engine's
/// default bound, `workflow::DEFAULT_PARALLEL`).
pub(super) const PARALLEL: usize = crate::workflow::DEFAULT_PARALLEL;

/// The node list (`GET /nodes`), read once per check run however many sets ask for it:
/// concurrent callers wait for the first read; a failed read is not kept (the next caller
/// reads again, so each set reports the failure its own way).
pub(super) struct NodeList<'a> {
    b: &'a dyn Backend,
    once: tokio::sync::OnceCell<Vec<Node>>,
}

impl<'a> NodeList<'a> {
    /// A list not read yet.
    pub(super) fn new(b: &'a dyn Backend) -> Self {
        Self { b, once: tokio::sync::OnceCell::new() }
    }

    /// The nodes, read on first use.
    ///
    /// # Errors
    /// As [`Backend::nodes`].
    pub(super) async fn get(&self) -> crate::error::Result<Vec<Node>> {
        self.once.get_or_try_init(|| self.b.nodes()).await.cloned()
    }
}

/// The message of the UNKNOWN finding for a node [`per_node`] could not check.
pub(super) const NOT_CHECKED: &str = "node offline: not checked";

/// Runs `f` for every online node, [`PARALLEL`] at a time; an offline node is an UNKNOWN
/// finding of `check` ([`NOT_CHECKED`]; the `cluster` set reports it offline, and `all`
/// drops these then).
pub(super) async fn per_node<'a>(nodes: &NodeList<'_>, check: &str, f: impl Fn(NodeName) -> Fut<'a>) -> Vec<Finding> {
    let list = match nodes.get().await {
        Ok(l) => l,
        Err(e) => return failed(check, "cluster", "node list", &e).into_iter().collect(),
    };
    let mut out = Vec::new();
    let mut futs = Vec::new();
    for n in list {
        if n.status.as_deref().is_some_and(|s| s != "online") {
            out.push(Finding::new(check, Severity::Unknown, n.node.clone(), NOT_CHECKED));
        } else if let Ok(name) = n.node.parse::<NodeName>() {
            futs.push(f(name));
        }
    }
    out.extend(join_bounded(futs, PARALLEL).await.into_iter().flatten());
    out
}

/// The reason a read failed because the feature is not there on this node (PVE `die`s
/// `binary not installed: /usr/bin/ceph-mon`, `pveceph configuration not initialized - …`,
/// `zfsutils-linux not installed`; an older PVE without the route answers 501 `Method '…'
/// not implemented` / pvesh `No 'get' handler defined for '…'`), else `None`.
pub(super) fn not_applicable(e: &Error) -> Option<String> {
    if matches!(e, Error::Transport { .. } | Error::PermissionDenied(_) | Error::Unsupported { .. }) {
        return None;
    }
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    ["not installed", "not initialized", "not enabled", "not implemented", "no 'get' handler"]
        .iter()
        .any(|m| lower.contains(m))
        .then(|| crate::model::clip(text.trim(), 160))
}

/// A read of `path` on one node, judged by `judge`; a feature the node lacks is an OK
/// finding saying it was skipped and why, any other failure goes through `failed`.
async fn read_node(
    b: &dyn Backend,
    check: &str,
    node: &NodeName,
    path: &str,
    what: &str,
    judge: impl FnOnce(&Value) -> Vec<Finding>,
) -> Vec<Finding> {
    match b.raw(Method::Get, &format!("/nodes/{node}/{path}"), &Params::new()).await {
        Ok(v) => judge(&v),
        Err(e) => match not_applicable(&e) {
            Some(why) => vec![Finding::new(check, Severity::Ok, node.as_str(), format!("skipped: {why}"))],
            None => failed(check, node.as_str(), what, &e).into_iter().collect(),
        },
    }
}

fn items(v: &Value) -> impl Iterator<Item = &Value> {
    v.as_array().into_iter().flatten()
}

fn text<'v>(item: &'v Value, key: &str) -> &'v str {
    item.get(key).and_then(Value::as_str).unwrap_or("")
}

fn number(item: &Value, key: &str) -> Option<f64> {
    item.get(key).and_then(crate::model::loose::value_f64)
}

/// `certs`: days each certificate of each node has left (`cert-days`, low is bad).
pub(super) async fn certs(b: &dyn Backend, nodes: &NodeList<'_>, t: &Thresholds, now: u64) -> Vec<Finding> {
    per_node(nodes, "cert-expiry", |n| -> Fut<'_> {
        Box::pin(async move {
            read_node(b, "cert-expiry", &n, "certificates/info", "certificates", |v| judge_certs(n.as_str(), v, t, now)).await
        })
    })
    .await
}

/// Judges `GET /nodes/{node}/certificates/info`: one finding per certificate with a
/// `notafter`, subject `<filename>@<node>`.
pub(super) fn judge_certs(node: &str, v: &Value, t: &Thresholds, now: u64) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in items(v) {
        let Some(notafter) = number(c, "notafter") else { continue };
        let file = crate::model::clip(text(c, "filename"), 64);
        #[expect(clippy::cast_precision_loss, reason = "epoch seconds fit f64")]
        let days = (notafter - now as f64) / 86_400.0;
        let subject = format!("{file}@{node}");
        let mut f = measured("cert-expiry", &subject, &format!("cert_days_{subject}"), "days left", days, t.get("cert-days"), "");
        if days < 0.0 {
            f.message = format!("expired {:.1} days ago", -days);
        }
        if let Some(p) = &mut f.perfdata {
            p.min = None;
        }
        out.push(f);
    }
    out
}

/// `services`: failed services of each node.
pub(super) async fn services(b: &dyn Backend, nodes: &NodeList<'_>) -> Vec<Finding> {
    per_node(nodes, "service", |n| -> Fut<'_> {
        Box::pin(async move { read_node(b, "service", &n, "services", "services", |v| judge_services(n.as_str(), v)).await })
    })
    .await
}

/// Judges `GET /nodes/{node}/services`: CRITICAL for a service whose `active-state` (or,
/// from PVE versions without it, `state`) is `failed`; one OK finding for the node otherwise.
/// An `enabled` but `inactive` service is not alerted: systemd reports a unit whose start
/// condition is unmet the same way (`corosync` on a node outside a cluster), and PVE's answer
/// does not carry the condition.
pub(super) fn judge_services(node: &str, v: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut running = 0;
    for s in items(v) {
        let id = crate::model::clip(if text(s, "service").is_empty() { text(s, "name") } else { text(s, "service") }, 64);
        let (active, sub) = (text(s, "active-state"), text(s, "state"));
        let subject = format!("{id}@{node}");
        if active == "failed" || sub == "failed" {
            out.push(Finding::new("service", Severity::Critical, subject, format!("service failed (state {})", clip_word(sub))));
        } else if active == "active" || sub == "running" {
            running += 1;
        }
    }
    if out.is_empty() {
        out.push(Finding::new("service", Severity::Ok, node, format!("{running} service(s) running, none failed")));
    }
    out
}

fn clip_word(s: &str) -> String {
    crate::model::clip(s, 32)
}

/// `updates`: pending package updates of each node (`updates`).
pub(super) async fn updates(b: &dyn Backend, nodes: &NodeList<'_>, t: &Thresholds) -> Vec<Finding> {
    per_node(nodes, "updates", |n| -> Fut<'_> {
        Box::pin(async move { read_node(b, "updates", &n, "apt/update", "package updates", |v| judge_updates(n.as_str(), v, t)).await })
    })
    .await
}

/// Judges `GET /nodes/{node}/apt/update`: the count against `updates`, the first package
/// names in the message. Security updates cannot be told apart: the API gives each update's
/// `Origin` (`Debian` for the security archive too), not its archive or label.
pub(super) fn judge_updates(node: &str, v: &Value, t: &Thresholds) -> Vec<Finding> {
    let names: Vec<String> = items(v).map(|u| crate::model::clip(text(u, "Package"), 40)).collect();
    #[expect(clippy::cast_precision_loss, reason = "a package count fits f64")]
    let count = names.len() as f64;
    let mut f = measured("updates", node, &format!("updates_{node}"), "pending updates", count, t.get("updates"), "");
    if !names.is_empty() {
        let more = if names.len() > 5 { format!(" and {} more", names.len() - 5) } else { String::new() };
        f.message = format!("{}: {}{more}", f.message, names.iter().take(5).cloned().collect::<Vec<_>>().join(", "));
    }
    vec![f]
}

/// `disks`: SMART health and SSD wearout of each node's disks.
pub(super) async fn disks(b: &dyn Backend, nodes: &NodeList<'_>, t: &Thresholds) -> Vec<Finding> {
    per_node(nodes, "disk-health", |n| -> Fut<'_> {
        Box::pin(async move { read_node(b, "disk-health", &n, "disks/list", "disk list", |v| judge_disks(n.as_str(), v, t)).await })
    })
    .await
}

/// Judges `GET /nodes/{node}/disks/list`: `health` `PASSED`/`OK` is fine, `UNKNOWN` or
/// `SMART Disabled` is reported as not known (OK: nothing to alert on), anything else
/// (`FAILED!`) is CRITICAL; a numeric `wearout` (percent left) is measured as `disk-wear`
/// (percent used), `N/A` (not an SSD) is not.
pub(super) fn judge_disks(node: &str, v: &Value, t: &Thresholds) -> Vec<Finding> {
    let mut out = Vec::new();
    for d in items(v) {
        let dev = crate::model::clip(text(d, "devpath"), 64);
        let subject = format!("{dev}@{node}");
        let health = text(d, "health").trim();
        let upper = health.to_ascii_uppercase();
        let (severity, message) = match upper.as_str() {
            "PASSED" | "OK" => (Severity::Ok, format!("SMART health {health}")),
            "" | "UNKNOWN" | "SMART DISABLED" => {
                (Severity::Ok, format!("SMART health not known ({})", if health.is_empty() { "none" } else { health }))
            }
            _ => (Severity::Critical, format!("SMART health {}", clip_word(health))),
        };
        out.push(Finding::new("disk-health", severity, subject.clone(), message));
        if let Some(left) = d.get("wearout").and_then(|w| if w.is_number() { w.as_f64() } else { None }) {
            let used = (100.0 - left).clamp(0.0, 100.0);
            out.push(measured("disk-wear", &subject, &format!("wear_{subject}"), "endurance used", used, t.get("disk-wear"), "%"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn certificates_warn_and_go_critical_as_their_end_nears() {
        let t = Thresholds::default();
        let v = json!([
            {"filename": "pve-root-ca.pem", "notafter": NOW + 3_000 * 86_400},
            {"filename": "pve-ssl.pem", "notafter": NOW + 20 * 86_400},
            {"filename": "pveproxy-ssl.pem", "notafter": NOW - 2 * 86_400},
            {"filename": "odd.pem"}
        ]);
        let f = judge_certs("pve1", &v, &t, NOW);
        let got: Vec<(&str, Severity)> = f.iter().map(|f| (f.subject.as_str(), f.severity)).collect();
        assert_eq!(
            got,
            [
                ("pve-root-ca.pem@pve1", Severity::Ok),
                ("pve-ssl.pem@pve1", Severity::Warning),
                ("pveproxy-ssl.pem@pve1", Severity::Critical)
            ]
        );
        assert!(f[2].message.starts_with("expired 2.0 days ago"), "{}", f[2].message);
        assert_eq!(f[1].perfdata.as_ref().map(ToString::to_string).as_deref(), Some("'cert_days_pve-ssl.pem@pve1'=20;30:;7:;;"));
    }

    #[test]
    fn a_failed_service_is_critical_the_rest_is_one_ok() {
        let svc = |name: &str, active: &str, sub: &str, unit: &str| json!({"service": name, "name": name, "desc": "d", "active-state": active, "state": sub, "unit-state": unit});
        let v = json!([
            svc("pveproxy", "failed", "failed", "enabled"),
            svc("pvestatd", "inactive", "dead", "enabled"),
            svc("systemd-timesyncd", "inactive", "dead", "not-found"),
            svc("ksmtuned", "inactive", "dead", "disabled"),
            svc("cron", "active", "running", "enabled"),
        ]);
        let got: Vec<(String, Severity)> = judge_services("pve2", &v).into_iter().map(|f| (f.subject, f.severity)).collect();
        // Enabled but inactive is not alerted (an unmet start condition looks the same).
        assert_eq!(got, [("pveproxy@pve2".to_owned(), Severity::Critical)]);
        // PVE without `active-state`: the sub state alone.
        let old = json!([{"service": "corosync", "state": "failed"}]);
        assert_eq!(judge_services("pve1", &old)[0].severity, Severity::Critical);
        let ok = judge_services("pve1", &json!([svc("cron", "active", "running", "enabled")]));
        assert_eq!((ok.len(), ok[0].severity, ok[0].subject.as_str()), (1, Severity::Ok, "pve1"));
    }

    #[test]
    fn updates_are_counted_against_the_thresholds() {
        let t = Thresholds::default();
        let none = judge_updates("pve3", &json!([]), &t);
        assert_eq!((none[0].severity, none[0].value), (Severity::Ok, Some(0.0)));
        let some =
            judge_updates("pve3", &json!([{"Package": "pve-manager", "Origin": "Proxmox"}, {"Package": "libc6", "Origin": "Debian"}]), &t);
        assert_eq!(some[0].severity, Severity::Warning);
        assert!(some[0].message.ends_with("pve-manager, libc6"), "{}", some[0].message);
        let many: Vec<Value> = (0..50).map(|i| json!({"Package": format!("p{i}")})).collect();
        assert_eq!(judge_updates("pve3", &Value::Array(many), &t)[0].severity, Severity::Critical);
    }

    #[test]
    fn smart_failures_are_critical_and_wearout_is_judged_as_endurance_used() {
        let t = Thresholds::default();
        let v = json!([
            {"devpath": "/dev/sda", "health": "PASSED", "wearout": 97},
            {"devpath": "/dev/sdb", "health": "FAILED!", "wearout": "N/A"},
            {"devpath": "/dev/sdc", "health": "UNKNOWN", "wearout": "N/A"},
            {"devpath": "/dev/nvme0n1", "health": "PASSED", "wearout": 15},
            {"devpath": "/dev/nvme1n1", "health": "OK", "wearout": 5}
        ]);
        let got: Vec<(String, String, Severity)> =
            judge_disks("pve1", &v, &t).into_iter().map(|f| (f.check, f.subject, f.severity)).collect();
        let sev = |check: &str, dev: &str| got.iter().find(|g| g.0 == check && g.1 == format!("{dev}@pve1")).map(|g| g.2);
        assert_eq!(sev("disk-health", "/dev/sda"), Some(Severity::Ok));
        assert_eq!(sev("disk-wear", "/dev/sda"), Some(Severity::Ok));
        assert_eq!(sev("disk-health", "/dev/sdb"), Some(Severity::Critical));
        assert_eq!(sev("disk-wear", "/dev/sdb"), None, "N/A is not measured");
        assert_eq!(sev("disk-health", "/dev/sdc"), Some(Severity::Ok), "no SMART is nothing to alert on");
        assert_eq!(sev("disk-wear", "/dev/nvme0n1"), Some(Severity::Warning), "85% used");
        assert_eq!(sev("disk-wear", "/dev/nvme1n1"), Some(Severity::Critical), "95% used");
    }

    #[test]
    fn missing_features_are_not_applicable_other_errors_are_not() {
        assert!(not_applicable(&Error::Api("binary not installed: /usr/bin/ceph-mon".into())).is_some());
        assert!(not_applicable(&Error::Api("zfsutils-linux not installed".into())).is_some());
        // What the REST and the pvesh backends make of a route an older PVE lacks.
        assert!(not_applicable(&Error::NotFound("Method 'GET /nodes/pve1/disks/zfs' not implemented".into())).is_some());
        assert!(not_applicable(&Error::NotFound("No 'get' handler defined for '/nodes/pve1/disks/zfs'".into())).is_some());
        assert!(not_applicable(&Error::NotFound("no such cluster node 'pve9'".into())).is_none());
        assert!(not_applicable(&Error::Api("unable to open file".into())).is_none());
        assert!(not_applicable(&Error::PermissionDenied("Permission check failed (/, Sys.Audit)".into())).is_none());
    }
}
