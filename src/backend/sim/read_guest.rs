//! Guest reads: `/nodes/{node}/{kind}`, `.../{vmid}/status/current`, `.../{vmid}/config`,
//! `.../{vmid}/snapshot`, and the guest items of `/cluster/resources`.
//!
//! Shapes follow PVE (qemu-server `vmstatus`, pve-container `vmstatus`, `snapshot_list`;
//! samples `api-json-qemu-status-current`, `api-json-lxc-list`, `api-json-*-config`):
//! `qmpstatus` only for running qemu guests in lists, `template` only when set, `lock`,
//! `tags`, `pid` absent when unset, raw `lxc.*` keys as `"lxc": [[key, value], ...]`.

use serde_json::{Map, Value, json};

use super::core::{Sim, flag, num, req_kind};
use super::digest::hex_digest;
use super::error::SimError;
use super::route::Request;
use super::state::SimGuest;
use crate::model::GuestKind;

/// A guest as `/cluster/resources` lists it (`id` `qemu/100`, `template` 0/1, ...).
pub(crate) fn resource_item(g: &SimGuest) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(format!("{}/{}", g.kind, g.vmid)));
    m.insert("type".into(), json!(g.kind.as_str()));
    m.insert("node".into(), json!(g.node));
    m.insert("vmid".into(), json!(g.vmid));
    m.insert("name".into(), json!(g.display_name()));
    m.insert("status".into(), json!(g.status));
    m.insert("template".into(), flag(g.template));
    counters(&mut m, g);
    m.insert("maxcpu".into(), num(g.maxcpu));
    optional(&mut m, g);
    if let Some(p) = &g.pool {
        m.insert("pool".into(), json!(p));
    }
    if let Some(h) = &g.hastate {
        m.insert("hastate".into(), json!(h));
    }
    Value::Object(m)
}

/// Usage figures every guest listing carries.
fn counters(m: &mut Map<String, Value>, g: &SimGuest) {
    for (k, v) in [
        ("cpu", num(g.cpu)),
        ("mem", json!(g.mem)),
        ("maxmem", json!(g.maxmem)),
        ("disk", json!(g.disk)),
        ("maxdisk", json!(g.maxdisk)),
        ("uptime", json!(g.uptime)),
        ("netin", json!(g.netin)),
        ("netout", json!(g.netout)),
        ("diskread", json!(g.diskread)),
        ("diskwrite", json!(g.diskwrite)),
    ] {
        m.insert(k.into(), v);
    }
}

/// `tags` and `lock`, present only when set.
fn optional(m: &mut Map<String, Value>, g: &SimGuest) {
    if !g.tags.is_empty() {
        m.insert("tags".into(), json!(g.tags.join(";")));
    }
    if let Some(l) = &g.lock {
        m.insert("lock".into(), json!(l));
    }
}

/// A guest's `vmstatus` entry: the item of `/nodes/{node}/{kind}`; with `detail` the
/// `status/current` object (`qmpstatus` always for qemu, `ha`).
pub(crate) fn vmstatus(g: &SimGuest, detail: bool) -> Value {
    let mut m = Map::new();
    m.insert("vmid".into(), json!(g.vmid));
    m.insert("name".into(), json!(g.display_name()));
    m.insert("status".into(), json!(g.status));
    m.insert("cpus".into(), num(g.maxcpu));
    counters(&mut m, g);
    optional(&mut m, g);
    if g.template {
        m.insert("template".into(), json!(1));
    }
    if let Some(pid) = g.pid.filter(|_| g.is_running()) {
        m.insert("pid".into(), json!(pid));
    }
    match g.kind {
        GuestKind::Qemu => {
            if let Some(q) = g.qmpstatus.as_ref().filter(|_| g.is_running()) {
                m.insert("qmpstatus".into(), json!(q));
            } else if detail {
                m.insert("qmpstatus".into(), json!(g.status));
            }
            if detail && g.is_running() {
                m.insert("running-machine".into(), json!("pc-i440fx-10.1+pve0"));
                m.insert("running-qemu".into(), json!("10.1.2"));
            }
            if detail && g.config_value("agent").is_some_and(|a| a.starts_with('1') || a.contains("enabled=1")) {
                m.insert("agent".into(), json!(1));
            }
        }
        GuestKind::Lxc => {
            m.insert("type".into(), json!("lxc"));
            m.insert("swap".into(), json!(g.swap));
            m.insert("maxswap".into(), json!(g.maxswap));
        }
    }
    if detail {
        let ha = match &g.hastate {
            Some(state) => json!({"managed": 1, "state": state}),
            None => json!({"managed": 0}),
        };
        m.insert("ha".into(), ha);
    }
    Value::Object(m)
}

/// `GET /nodes/{node}/qemu` and `/nodes/{node}/lxc`: guests of that kind on the node.
pub(crate) fn guest_list(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    req.bool_param("full")?;
    let (node, kind) = (req.var("node"), req_kind(req));
    let st = sim.state();
    let list = st
        .guests
        .iter()
        .filter(|g| g.node == node && g.kind == kind)
        .filter(|g| !sim.hidden(&format!("/vms/{}", g.vmid), "VM.Audit"))
        .map(|g| vmstatus(g, false))
        .collect();
    Ok(Value::Array(list))
}

/// `GET /nodes/{node}/{kind}/{vmid}/status/current`.
pub(crate) fn status_current(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    Ok(vmstatus(sim.req_guest(req)?, true))
}

/// `GET /nodes/{node}/{kind}/{vmid}/config [--snapshot name] [--current 1]`.
pub(crate) fn config(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    req.bool_param("current")?;
    let g = sim.req_guest(req)?;
    config_json(g, req.param("snapshot"))
}

/// A guest's config as the API returns it: every key, `digest`, raw `lxc.*` keys as the
/// `lxc` array; with `snapshot`, that snapshot's section (its `description`, `snaptime`,
/// `parent`, `vmstate`).
///
/// # Errors
/// `snapshot '<name>' does not exist`.
pub(crate) fn config_json(g: &SimGuest, snapshot: Option<&str>) -> Result<Value, SimError> {
    let mut m = Map::new();
    let mut raw = Vec::new();
    let snap = match snapshot {
        Some(name) => {
            Some(g.snapshots.iter().find(|s| s.name == name).ok_or_else(|| SimError::die(format!("snapshot '{name}' does not exist")))?)
        }
        None => None,
    };
    let entries = snap.filter(|s| !s.config.is_empty()).map_or(&g.config, |s| &s.config);
    for (k, v) in entries {
        if k.starts_with("lxc.") {
            raw.push(json!([k, v]));
        } else {
            m.insert(k.clone(), json!(v));
        }
    }
    if let Some(n) = &g.name {
        m.insert(if g.kind == GuestKind::Qemu { "name" } else { "hostname" }.into(), json!(n));
    }
    if !g.tags.is_empty() {
        m.insert("tags".into(), json!(g.tags.join(";")));
    }
    if g.protection {
        m.insert("protection".into(), json!(1));
    }
    if g.template {
        m.insert("template".into(), json!(1));
    }
    if let Some(s) = snap {
        m.insert("snaptime".into(), json!(s.snaptime));
        m.remove("description");
        if !s.description.is_empty() {
            m.insert("description".into(), json!(s.description));
        }
        if let Some(p) = &s.parent {
            m.insert("parent".into(), json!(p));
        }
        if s.vmstate {
            m.insert("vmstate".into(), json!(1));
        }
    } else {
        if let Some(l) = &g.lock {
            m.insert("lock".into(), json!(l));
        }
        if let Some(p) = &g.parent {
            m.insert("parent".into(), json!(p));
        }
    }
    if !raw.is_empty() {
        m.insert("lxc".into(), Value::Array(raw));
    }
    m.insert("digest".into(), json!(config_digest(g)));
    Ok(Value::Object(m))
}

/// The config's `digest`: changes with every write (`config_gen`) and with anything the
/// config file holds.
pub(crate) fn config_digest(g: &SimGuest) -> String {
    let file = (&g.config, &g.snapshots, &g.name, &g.tags, g.protection, g.template, &g.lock, &g.pending, &g.pending_delete);
    hex_digest(format!("{file:?}/{}", g.config_gen).as_bytes(), 40)
}

/// `GET /nodes/{node}/{kind}/{vmid}/snapshot`: one entry per snapshot plus `current`.
pub(crate) fn snapshot_list(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let g = sim.req_guest(req)?;
    let mut out: Vec<Value> = g
        .snapshots
        .iter()
        .map(|s| {
            let mut m = Map::new();
            m.insert("name".into(), json!(s.name));
            m.insert("snaptime".into(), json!(s.snaptime));
            m.insert("description".into(), json!(s.description));
            if g.kind == GuestKind::Qemu {
                m.insert("vmstate".into(), flag(s.vmstate));
            }
            if let Some(p) = &s.parent {
                m.insert("parent".into(), json!(p));
            }
            Value::Object(m)
        })
        .collect();
    let digest = config_json(g, None)?.get("digest").cloned().unwrap_or(Value::Null);
    let mut current = Map::new();
    current.insert("name".into(), json!("current"));
    current.insert("digest".into(), digest);
    current.insert("running".into(), flag(g.is_running()));
    current.insert("description".into(), json!("You are here!"));
    if let Some(p) = &g.parent {
        current.insert("parent".into(), json!(p));
    }
    out.push(Value::Object(current));
    Ok(Value::Array(out))
}
