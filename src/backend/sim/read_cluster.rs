//! Cluster-level reads: `/version`, `/cluster/status`, `/cluster/resources`, `/nodes`,
//! `/nodes/{node}/status`, `/nodes/{node}/storage`, `/storage`, `/pools`.
//!
//! Shapes follow PVE's answers (samples `api-json-cluster-resources`, `api-json-nodes`,
//! `api-json-node-status`, `api-json-cluster-status`, `api-json-version`): sizes in bytes,
//! `cpu` a fraction, booleans as 0/1, optional fields left out when unset.

#![expect(clippy::unnecessary_wraps, reason = "handlers share the route table's fallible signature")]

use serde_json::{Map, Value, json};

use super::core::{Sim, flag, num};
use super::error::SimError;
use super::read_guest::resource_item;
use super::route::Request;
use super::state::{SimNode, SimStorage};

/// `GET /version`: `{version, release, repoid}`.
pub(crate) fn version(sim: &mut Sim, _: &Request<'_>) -> Result<Value, SimError> {
    let v = &sim.state().version;
    Ok(json!({"version": v.version, "release": v.release, "repoid": v.repoid}))
}

/// `GET /cluster/status`: the cluster entry, then one entry per node.
pub(crate) fn cluster_status(sim: &mut Sim, _: &Request<'_>) -> Result<Value, SimError> {
    let st = sim.state();
    let local = sim.local_node();
    let mut out = vec![json!({
        "type": "cluster", "id": "cluster", "name": st.cluster_name,
        "nodes": st.nodes.len(), "quorate": flag(quorate(&st.nodes)), "version": st.nodes.len() + 1,
    })];
    for (i, n) in st.nodes.iter().enumerate() {
        out.push(json!({
            "type": "node", "id": format!("node/{}", n.name), "name": n.name, "nodeid": i + 1,
            "ip": n.ip, "online": flag(n.online), "local": flag(n.name == local), "level": "",
        }));
    }
    Ok(Value::Array(out))
}

fn quorate(nodes: &[SimNode]) -> bool {
    nodes.iter().filter(|n| n.online).count() * 2 > nodes.len()
}

/// `GET /cluster/resources [--type vm|storage|node|sdn]`.
pub(crate) fn cluster_resources(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let ty = req.param("type");
    if let Some(t) = ty
        && !["vm", "storage", "node", "sdn"].contains(&t)
    {
        return Err(SimError::param("type", format!("value '{t}' does not have a value in the enumeration 'vm, storage, node, sdn'")));
    }
    let want = |t: &str| ty.is_none() || ty == Some(t);
    let st = sim.state();
    let mut out = Vec::new();
    if want("vm") {
        // A guest on an offline node is listed with status `unknown` (pvestatd has no news).
        let offline = |node: &str| st.nodes.iter().any(|n| n.name == node && !n.online);
        out.extend(st.guests.iter().filter(|g| !sim.hidden(&format!("/vms/{}", g.vmid), "VM.Audit")).map(|g| {
            let mut item = resource_item(g);
            if offline(&g.node) {
                item["status"] = json!("unknown");
            }
            item
        }));
    }
    if want("node") {
        out.extend(st.nodes.iter().map(|n| node_item(n, true, sim.node_stats_visible(&n.name))));
    }
    if want("storage") {
        for s in st.storages.iter().filter(|s| !sim.hidden(&format!("/storage/{}", s.id), "Datastore.Audit")) {
            for n in st.nodes.iter().filter(|n| n.online && s.on_node(&n.name)) {
                if let Some(u) = s.usage.get(&n.name) {
                    out.push(json!({
                        "id": format!("storage/{}/{}", n.name, s.id), "type": "storage", "node": n.name,
                        "storage": s.id, "plugintype": s.plugintype, "content": s.content.join(","),
                        "shared": flag(s.shared), "disk": u.used, "maxdisk": u.total, "status": "available",
                    }));
                }
            }
        }
    }
    if ty.is_none() {
        let pools = st.pools.iter().filter(|p| !sim.hidden(&format!("/pool/{}", p.poolid), "Pool.Audit"));
        out.extend(pools.map(|p| json!({"id": format!("pool/{}", p.poolid), "type": "pool", "pool": p.poolid})));
    }
    Ok(Value::Array(out))
}

/// A node as `/nodes` (`resource == false`) or `/cluster/resources` lists it; without
/// `stats` (no `Sys.Audit` on the node) without its figures (`cpu`, `mem`, ...), as PVE's
/// `extract_node_stats` leaves them out.
fn node_item(n: &SimNode, resource: bool, stats: bool) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(format!("node/{}", n.name)));
    m.insert("type".into(), json!("node"));
    m.insert("node".into(), json!(n.name));
    m.insert("status".into(), json!(if n.online { "online" } else { "offline" }));
    m.insert("level".into(), json!(""));
    if n.online {
        if stats {
            for (k, v) in [
                ("cpu", num(n.cpu)),
                ("maxcpu", json!(n.maxcpu)),
                ("mem", json!(n.mem)),
                ("maxmem", json!(n.maxmem)),
                ("disk", json!(n.disk)),
                ("maxdisk", json!(n.maxdisk)),
                ("uptime", json!(n.uptime)),
            ] {
                m.insert(k.into(), v);
            }
        }
        if resource {
            m.insert("cgroup-mode".into(), json!(2));
        } else {
            m.insert("ssl_fingerprint".into(), json!(fingerprint(&n.name)));
        }
    }
    Value::Object(m)
}

/// A stable, made-up SHA-256-shaped certificate fingerprint for a node.
fn fingerprint(name: &str) -> String {
    let hex = super::digest::hex_digest(name.as_bytes(), 64).to_ascii_uppercase();
    hex.as_bytes().chunks(2).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(":")
}

/// `GET /nodes`.
pub(crate) fn nodes(sim: &mut Sim, _: &Request<'_>) -> Result<Value, SimError> {
    Ok(Value::Array(sim.state().nodes.iter().map(|n| node_item(n, false, sim.node_stats_visible(&n.name))).collect()))
}

/// `GET /nodes/{node}/status` (needs `Sys.Audit` on `/nodes/{node}`).
pub(crate) fn node_status(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let n = sim.req_node(req)?;
    sim.check_perm(&format!("/nodes/{}", n.name), "Sys.Audit")?;
    let mut kv = n.kversion.splitn(3, ' ');
    let (sysname, release, kver) = (kv.next().unwrap_or(""), kv.next().unwrap_or(""), kv.next().unwrap_or(""));
    Ok(json!({
        "uptime": n.uptime, "cpu": num(n.cpu), "wait": 0, "idle": 0, "loadavg": n.loadavg,
        "kversion": n.kversion, "pveversion": n.pveversion,
        "current-kernel": {"sysname": sysname, "release": release, "version": kver, "machine": "x86_64"},
        "boot-info": {"mode": "efi", "secureboot": 0},
        "memory": {"total": n.maxmem, "used": n.mem, "free": n.maxmem.saturating_sub(n.mem)},
        "swap": {"total": n.maxswap, "used": n.swap, "free": n.maxswap.saturating_sub(n.swap)},
        "rootfs": {"total": n.maxdisk, "used": n.disk, "free": n.maxdisk.saturating_sub(n.disk), "avail": n.maxdisk.saturating_sub(n.disk)},
        "ksm": {"shared": 0},
        "cpuinfo": {
            "model": n.cpu_model, "sockets": n.cpu_sockets, "cores": n.cpu_cores, "cpus": n.maxcpu,
            "mhz": "2999.998", "hvm": "1", "user_hz": 100, "flags": "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr",
        },
    }))
}

/// `GET /nodes/{node}/rrddata --timeframe hour|day|week|month|year|decade [--cf AVERAGE|MAX]`:
/// 70 points at the timeframe's resolution (PVE's RRD steps: 1 min, 30 min, 3 h, 12 h,
/// 1 week, ~10 weeks), ending at the current step. The simulator keeps no history: every point
/// carries the node's current figures (`cpu`, `maxcpu`, `memused`, `memtotal`, `swapused`,
/// `swaptotal`, `rootused`, `roottotal`, `loadavg`, `iowait`, `netin`, `netout`).
pub(crate) fn node_rrddata(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let n = sim.req_node(req)?;
    sim.check_perm(&format!("/nodes/{}", n.name), "Sys.Audit")?;
    let step: u64 = match req.param("timeframe") {
        Some("hour") => 60,
        Some("day") => 1_800,
        Some("week") => 10_800,
        Some("month") => 43_200,
        Some("year") => 604_800,
        Some("decade") => 6_048_000,
        Some(other) => {
            return Err(SimError::param(
                "timeframe",
                format!("value '{other}' does not have a value in the enumeration 'hour, day, week, month, year, decade'"),
            ));
        }
        None => return Err(SimError::param("timeframe", "property is missing and it is not optional")),
    };
    if let Some(cf) = req.param("cf").filter(|c| *c != "AVERAGE" && *c != "MAX") {
        return Err(SimError::param("cf", format!("value '{cf}' does not have a value in the enumeration 'AVERAGE, MAX'")));
    }
    let now = super::worker::now_ms() / 1000;
    let end = now - now % step;
    let load: f64 = n.loadavg.first().and_then(|l| l.parse().ok()).unwrap_or(0.0);
    let points = (0..70u64).rev().map(|i| {
        let time = end - i * step;
        json!({
            "time": time, "cpu": num(n.cpu), "maxcpu": n.maxcpu, "memused": n.mem, "memtotal": n.maxmem,
            "swapused": n.swap, "swaptotal": n.maxswap, "rootused": n.disk, "roottotal": n.maxdisk,
            "loadavg": num(load), "iowait": 0, "netin": 0, "netout": 0,
        })
    });
    Ok(Value::Array(points.collect()))
}

/// `GET /nodes/{node}/storage [--content c] [--storage id] [--enabled 1]`.
pub(crate) fn node_storage(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let node = sim.req_node(req)?.name.clone();
    req.bool_param("enabled")?;
    req.bool_param("format")?;
    let content = req.param("content");
    let only = req.param("storage");
    let st = sim.state();
    let list = st
        .storages
        .iter()
        .filter(|s| s.on_node(&node) && only.is_none_or(|o| o == s.id))
        .filter(|s| content.is_none_or(|c| c.split(',').all(|c| s.content.iter().any(|x| x == c))))
        .filter(|s| !sim.hidden(&format!("/storage/{}", s.id), "Datastore.Audit"))
        .map(|s| node_storage_item(s, &node))
        .collect();
    Ok(Value::Array(list))
}

fn node_storage_item(s: &SimStorage, node: &str) -> Value {
    let u = s.usage.get(node).copied().unwrap_or_default();
    #[expect(clippy::cast_precision_loss, reason = "a ratio for display")]
    let frac = if u.total == 0 { 0.0 } else { u.used as f64 / u.total as f64 };
    json!({
        "storage": s.id, "type": s.plugintype, "content": s.content.join(","), "shared": flag(s.shared),
        "active": 1, "enabled": 1, "total": u.total, "used": u.used, "avail": u.avail, "used_fraction": num(frac),
    })
}

/// `GET /storage [--type t]`: the storage configuration.
pub(crate) fn storage_config(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let ty = req.param("type");
    let st = sim.state();
    let list = st
        .storages
        .iter()
        .filter(|s| ty.is_none_or(|t| t == s.plugintype))
        .filter(|s| !sim.hidden(&format!("/storage/{}", s.id), "Datastore.Audit"))
        .map(|s| {
            let mut m = Map::new();
            m.insert("storage".into(), json!(s.id));
            m.insert("type".into(), json!(s.plugintype));
            m.insert("content".into(), json!(s.content.join(",")));
            if s.shared {
                m.insert("shared".into(), json!(1));
            }
            if let Some(nodes) = &s.nodes {
                m.insert("nodes".into(), json!(nodes.join(",")));
            }
            for (k, v) in &s.options {
                m.insert(k.clone(), json!(v));
            }
            m.insert("digest".into(), json!(super::digest::hex_digest(format!("{s:?}").as_bytes(), 40)));
            Value::Object(m)
        })
        .collect();
    Ok(Value::Array(list))
}
