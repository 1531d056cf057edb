//! Resource pools: `GET /pools` (`[{poolid, comment?}]`; with `poolid` STILL an array, its
//! one element with `members`, PVE >= 8.2) and the legacy `GET /pools/{poolid}` (an object
//! `{comment?, members}`), as pve-manager `API2/Pool.pm` answers them
//! (samples/api-json-pool, derived/api-json-pools). Members are `/cluster/resources`-style
//! guests sorted by vmid, then `storage/<node>/<id>` entries sorted by storage id (the node
//! is the answering one unless the storage is restricted to other nodes).

use serde_json::{Map, Value, json};

use super::core::{Sim, flag};
use super::error::SimError;
use super::read_guest::resource_item;
use super::route::{Request, Route};
use super::state::SimPool;
use crate::backend::api::Method;

/// The pool routes.
pub(crate) const POOL_ROUTES: &[Route] = &[
    Route { method: Method::Get, pattern: "/pools", params: &["poolid", "type"], handler: pools },
    Route { method: Method::Get, pattern: "/pools/{poolid}", params: &["type"], handler: pool_legacy },
];

fn check_type(req: &Request<'_>) -> Result<Option<String>, SimError> {
    match req.param("type") {
        Some(t) if !["qemu", "lxc", "storage"].contains(&t) => {
            Err(SimError::param("type", format!("value '{t}' does not have a value in the enumeration 'qemu, lxc, storage'")))
        }
        t => Ok(t.map(str::to_owned)),
    }
}

/// `GET /pools [--poolid p [--type t]]`.
fn pools(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let ty = check_type(req)?;
    let Some(id) = req.param("poolid") else {
        if ty.is_some() {
            return Err(SimError::param("type", "missing property - 'poolid' is required by 'type'"));
        }
        let st = sim.state();
        let mut visible: Vec<&SimPool> = st.pools.iter().filter(|p| !sim.hidden(&format!("/pool/{}", p.poolid), "Pool.Audit")).collect();
        visible.sort_by(|a, b| a.poolid.cmp(&b.poolid));
        return Ok(Value::Array(visible.into_iter().map(|p| Value::Object(head(p))).collect()));
    };
    // The one-pool form needs what `GET /pools/{poolid}` needs (the schema: "or the pool
    // specific with {poolid}").
    sim.check_perm(&format!("/pool/{id}"), "Pool.Audit")?;
    let (pool, members) = with_members(sim, id, ty.as_deref())?;
    let mut m = head(&pool);
    m.insert("members".into(), members);
    Ok(json!([m]))
}

/// `GET /pools/{poolid}`: the deprecated object form.
fn pool_legacy(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let ty = check_type(req)?;
    let id = req.var("poolid").to_owned();
    sim.check_perm(&format!("/pool/{id}"), "Pool.Audit")?;
    let (pool, members) = with_members(sim, &id, ty.as_deref())?;
    let mut m = Map::new();
    if let Some(c) = &pool.comment {
        m.insert("comment".into(), json!(c));
    }
    m.insert("members".into(), members);
    Ok(Value::Object(m))
}

fn head(p: &SimPool) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("poolid".into(), json!(p.poolid));
    if let Some(c) = &p.comment {
        m.insert("comment".into(), json!(c));
    }
    m
}

/// The pool and its members (of `ty` only, when given).
fn with_members(sim: &Sim, id: &str, ty: Option<&str>) -> Result<(SimPool, Value), SimError> {
    let st = sim.state();
    let pool = st.pools.iter().find(|p| p.poolid == id).ok_or_else(|| SimError::die(format!("pool '{id}' does not exist")))?;
    let mut members: Vec<Value> =
        st.guests.iter().filter(|g| g.pool.as_deref() == Some(id) && ty.is_none_or(|t| t == g.kind.as_str())).map(resource_item).collect();
    if ty.is_none_or(|t| t == "storage") {
        let mut ids = pool.storage.clone();
        ids.sort();
        for s in ids.iter().filter_map(|i| st.storages.iter().find(|s| &s.id == i)) {
            let node = if s.on_node(sim.local_node()) {
                sim.local_node().to_owned()
            } else {
                s.nodes.as_ref().and_then(|n| n.first().cloned()).unwrap_or_default()
            };
            let u = s.usage.get(&node).copied().unwrap_or_default();
            members.push(json!({
                "id": format!("storage/{node}/{}", s.id), "type": "storage", "storage": s.id, "node": node,
                "status": "available", "plugintype": s.plugintype, "content": s.content.join(","), "shared": flag(s.shared),
                "disk": u.used, "maxdisk": u.total,
            }));
        }
    }
    Ok((pool.clone(), Value::Array(members)))
}
