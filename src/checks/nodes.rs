//! The `nodes` check set: CPU, memory, swap, root fs and load per CPU of every online node,
//! judged on the averages of the last hour (`GET /nodes/{node}/rrddata`), or on the
//! `GET /nodes/{node}/status` sample where the RRD has none; an offline node is CRITICAL.

use std::future::Future;
use std::pin::Pin;

use super::join::join_all;
use super::sets::{failed, measured, pct};
use super::{Finding, Severity, Thresholds};
use crate::backend::{Backend, Method, Params};
use crate::model::NodeName;

pub(super) async fn nodes(b: &dyn Backend, nodes: &super::node_health::NodeList<'_>, t: &Thresholds) -> Vec<Finding> {
    let list = match nodes.get().await {
        Ok(l) => l,
        Err(e) => return failed("nodes", "cluster", "node list", &e).into_iter().collect(),
    };
    let mut out = Vec::new();
    let mut online = Vec::new();
    for n in list {
        if n.status.as_deref().is_some_and(|s| s != "online") {
            out.push(Finding::new("node-online", Severity::Critical, n.node.clone(), "node offline"));
        } else if let Ok(name) = n.node.parse::<NodeName>() {
            online.push(name);
        }
    }
    let futs: Vec<Pin<Box<dyn Future<Output = Vec<Finding>> + Send + '_>>> = online
        .into_iter()
        .map(|n| -> Pin<Box<dyn Future<Output = Vec<Finding>> + Send + '_>> {
            Box::pin(async move {
                let name = n.to_string();
                let path = format!("/nodes/{name}/rrddata");
                let params: Params = vec![("timeframe".into(), "hour".into()), ("cf".into(), "AVERAGE".into())];
                let (status, rrd) = tokio::join!(b.node_status(&n), b.raw(Method::Get, &path, &params));
                match status {
                    Ok(s) => node_findings(&name, &s, rrd.ok().as_ref().and_then(RrdAverage::of), t),
                    Err(e) => failed("node-status", &name, "node status", &e).into_iter().collect(),
                }
            })
        })
        .collect();
    out.extend(join_all(futs).await.into_iter().flatten());
    out
}

/// Averages over `GET /nodes/{node}/rrddata?timeframe=hour&cf=AVERAGE` (70 one-minute
/// points): a node is judged on the last hour, not on one sample. Points without a metric
/// (no RRD update) are left out of that metric's average.
#[derive(Debug, Default)]
struct RrdAverage {
    cpu: Option<f64>,
    mem: Option<f64>,
    swap: Option<f64>,
    rootfs: Option<f64>,
    load: Option<f64>,
}

impl RrdAverage {
    fn of(v: &serde_json::Value) -> Option<Self> {
        let points = v.as_array()?;
        let avg = |f: &dyn Fn(&serde_json::Value) -> Option<f64>| {
            let vals: Vec<f64> = points.iter().filter_map(f).filter(|x| x.is_finite()).collect();
            #[expect(clippy::cast_precision_loss, reason = "at most a few hundred points")]
            let n = vals.len() as f64;
            (!vals.is_empty()).then(|| vals.iter().sum::<f64>() / n)
        };
        let get = |p: &serde_json::Value, k: &str| p.get(k).and_then(crate::model::loose::value_f64);
        let ratio = |p: &serde_json::Value, used: &str, total: &str| match (get(p, used), get(p, total)) {
            (Some(u), Some(t)) if t > 0.0 => Some(u * 100.0 / t),
            _ => None,
        };
        let r = Self {
            cpu: avg(&|p| get(p, "cpu").map(|c| c * 100.0)),
            mem: avg(&|p| ratio(p, "memused", "memtotal")),
            swap: avg(&|p| ratio(p, "swapused", "swaptotal")),
            rootfs: avg(&|p| ratio(p, "rootused", "roottotal")),
            load: avg(&|p| get(p, "loadavg")),
        };
        r.cpu.is_some().then_some(r)
    }
}

fn node_findings(name: &str, s: &crate::model::NodeStatus, rrd: Option<RrdAverage>, t: &Thresholds) -> Vec<Finding> {
    let mut out = Vec::new();
    let rrd = rrd.unwrap_or_default();
    let avg = |v: Option<f64>, what: &str| v.map(|v| (v, format!("{what} (1h avg)")));
    if let Some((cpu, what)) = avg(rrd.cpu, "cpu").or_else(|| s.cpu.map(|c| (c * 100.0, "cpu".to_owned()))) {
        out.push(measured("node-cpu", name, &format!("cpu_{name}"), &what, cpu, t.get("cpu"), "%"));
    }
    for (check, key, what, u, a) in [
        ("node-memory", "mem", "memory", &s.memory, rrd.mem),
        ("node-swap", "swap", "swap", &s.swap, rrd.swap),
        ("node-rootfs", "rootfs", "root fs", &s.rootfs, rrd.rootfs),
    ] {
        if let Some((p, what)) = avg(a, what).or_else(|| pct(u.used, u.total).map(|p| (p, what.to_owned()))) {
            out.push(measured(check, name, &format!("{key}_{name}"), &what, p, t.get(key), "%"));
        }
    }
    let load1 = rrd.load.or_else(|| s.loadavg.first().and_then(|l| l.trim().parse::<f64>().ok()));
    if let (Some(l), Some(cpus)) = (load1, s.cpuinfo.cpus.filter(|c| *c > 0)) {
        #[expect(clippy::cast_precision_loss, reason = "a CPU count fits f64")]
        let per_cpu = l / cpus as f64;
        out.push(measured("node-load", name, &format!("load_{name}"), "load per cpu", per_cpu, t.get("load"), ""));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrd_averages_skip_points_without_a_metric() {
        let v = serde_json::json!([
            {"time": 1, "cpu": 0.5, "memused": 50, "memtotal": 100, "loadavg": 1.0},
            {"time": 2, "cpu": 0.1, "memused": 70, "memtotal": 100, "loadavg": "2.0"},
            {"time": 3, "maxcpu": 4}
        ]);
        let a = RrdAverage::of(&v).expect("has cpu");
        assert_eq!((a.cpu.map(f64::round), a.mem, a.load, a.swap), (Some(30.0), Some(60.0), Some(1.5), None));
        assert!(RrdAverage::of(&serde_json::json!([{"time": 1}])).is_none(), "a stopped RRD gives no average");
    }
}
