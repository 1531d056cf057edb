//! The HA manager: `GET /cluster/ha/resources`, `GET /cluster/ha/status/current`, `POST
//! /cluster/ha/resources/{sid}/migrate`, the `ha-manager status|migrate` face, and the
//! migration the manager carries out later (`worker.rs` calls [`ha_migrate`]).
//!
//! An HA resource is a guest with `hastate` (`vm:<id>`/`ct:<id>`, `max_restart` and
//! `max_relocate` 1 as the GUI writes them). Status as pve-ha-manager 5.2 (PVE 9.2,
//! `API2/HA/Status.pm`): `quorum`, `master` (the first online node), `fencing` (`armed (CRM
//! watchdog active)`), one `lrm` per node (`active, watchdog active` with HA services,
//! `idle, watchdog standby` without, `old timestamp - dead?` when offline), then services
//! sorted by sid; times are Perl `localtime()` strings (UTC here). `Resources.pm` `migrate`
//! answers `{sid, requested-node}` after `resource '<sid>' is not HA managed`; the CLI
//! (`ha-manager migrate`, alias of `crm-command migrate`) prints nothing then.

use serde_json::{Value, json};

use super::core::Sim;
use super::error::SimError;
use super::migrate::Plan;
use super::pvesh_face::Output;
use super::route::{Request, Route};
use super::state::{SimGuest, SimState};
use super::task_state::{HaPending, SimTask};
use super::worker::{new_upid, now_ms};
use crate::backend::api::{Method, Params};
use crate::model::GuestKind;

/// The HA routes.
pub(crate) const HA_ROUTES: &[Route] = &[
    Route { method: Method::Get, pattern: "/cluster/ha/resources", params: &["type"], handler: resources },
    Route { method: Method::Get, pattern: "/cluster/ha/status/current", params: &[], handler: status },
    Route { method: Method::Post, pattern: "/cluster/ha/resources/{sid}/migrate", params: &["node"], handler: migrate },
];

/// `vm:<id>` or `ct:<id>`.
fn sid(g: &SimGuest) -> String {
    format!("{}:{}", if g.kind == GuestKind::Qemu { "vm" } else { "ct" }, g.vmid)
}

fn ha_guests(st: &SimState) -> Vec<&SimGuest> {
    st.guests.iter().filter(|g| g.hastate.is_some()).collect()
}

/// `GET /cluster/ha/resources [--type vm|ct]`.
fn resources(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    sim.check_perm("/", "Sys.Audit")?;
    let ty = req.param("type");
    if let Some(t) = ty.filter(|t| !["vm", "ct"].contains(t)) {
        return Err(SimError::param("type", format!("value '{t}' does not have a value in the enumeration 'ct, vm'")));
    }
    let st = sim.state();
    let digest =
        super::digest::hex_digest(format!("{:?}", ha_guests(st).iter().map(|g| (g.vmid, &g.hastate)).collect::<Vec<_>>()).as_bytes(), 40);
    let list: Vec<Value> = ha_guests(st)
        .into_iter()
        .filter(|g| ty.is_none_or(|t| sid(g).starts_with(t)))
        .map(|g| {
            json!({"sid": sid(g), "type": if g.kind == GuestKind::Qemu { "vm" } else { "ct" }, "state": g.hastate,
                   "max_restart": 1, "max_relocate": 1, "digest": digest})
        })
        .collect();
    Ok(Value::Array(list))
}

/// Perl's scalar `localtime` (`Wed Nov 23 11:07:23 2016`), in UTC.
fn localtime(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let full = crate::model::time::format_utc(secs);
    let (date, time) = full.split_once(' ').unwrap_or((&full, ""));
    let mut p = date.split('-');
    let (y, m, d) = (p.next().unwrap_or(""), p.next().unwrap_or("1"), p.next().unwrap_or("1"));
    let month = MONTHS[m.parse::<usize>().unwrap_or(1).saturating_sub(1) % 12];
    let day: u32 = d.parse().unwrap_or(1);
    let wd = DAYS[usize::try_from(secs / 86_400 % 7).unwrap_or(0)];
    format!("{wd} {month} {day:>2} {time} {y}")
}

/// `GET /cluster/ha/status/current`.
fn status(sim: &mut Sim, _req: &Request<'_>) -> Result<Value, SimError> {
    sim.check_perm("/", "Sys.Audit")?;
    let local = sim.local_node().to_owned();
    let st = sim.state();
    let now = now_ms() / 1000;
    let mut out = vec![json!({"id": "quorum", "type": "quorum", "node": local, "status": "OK", "quorate": 1})];
    let master = st.nodes.iter().find(|n| n.online).map_or(local.clone(), |n| n.name.clone());
    out.push(json!({"id": "master", "type": "master", "node": master, "status": format!("{master} (active, {})", localtime(now)), "timestamp": now}));
    out.push(json!({"id": "fencing", "type": "fencing", "node": master, "status": "armed (CRM watchdog active)", "armed-state": "armed"}));
    let guests = ha_guests(st);
    let mut nodes: Vec<&super::state::SimNode> = st.nodes.iter().collect();
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    for n in nodes {
        let active = guests.iter().any(|g| g.node == n.name);
        let (state, wd, at) = if !n.online {
            ("old timestamp - dead?", "watchdog standby", now.saturating_sub(600))
        } else if active {
            ("active", "watchdog active", now)
        } else {
            ("idle", "watchdog standby", now)
        };
        out.push(json!({"id": format!("lrm:{}", n.name), "type": "lrm", "node": n.name,
                        "status": format!("{} ({state}, {wd}, {})", n.name, localtime(at)), "timestamp": at}));
    }
    let mut services: Vec<&SimGuest> = guests;
    services.sort_by_key(|g| sid(g));
    for g in services {
        let request = g.hastate.clone().unwrap_or_default();
        let migrating = st.ha_pending.iter().any(|h| h.vmid == g.vmid && h.migrate_to.is_some());
        let state = if migrating { "migrate".to_owned() } else { request.clone() };
        let s = sid(g);
        out.push(json!({"id": format!("service:{s}"), "type": "service", "sid": s, "node": g.node, "crm_state": state,
                        "state": state, "request_state": request, "status": format!("{s} ({}, {state})", g.node),
                        "max_restart": 1, "max_relocate": 1}));
    }
    Ok(Value::Array(out))
}

/// The guest an HA sid names (`vm:100`, `ct:102` or a bare `100`).
fn guest_of_sid<'s>(st: &'s SimState, sid_text: &str) -> Result<&'s SimGuest, SimError> {
    let (ty, id) = sid_text.split_once(':').map_or((None, sid_text), |(t, i)| (Some(t), i));
    let Ok(vmid) = id.parse::<u32>() else {
        return Err(SimError::die(format!("unable to parse service id '{sid_text}'")));
    };
    let Some(g) = st.guest(vmid) else {
        return Err(SimError::die(format!("unable to detect SID from VMID - VM/CT {vmid} does not exist")));
    };
    let full = ty.map_or_else(|| sid(g), |t| format!("{t}:{vmid}"));
    if g.hastate.is_none() || full != sid(g) {
        return Err(SimError::die(format!("resource '{full}' is not HA managed")));
    }
    Ok(g)
}

/// `POST /cluster/ha/resources/{sid}/migrate --node <n>`: queued for the HA manager.
fn migrate(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    sim.check_perm("/", "Sys.Console")?;
    let node = req.param("node").ok_or_else(|| SimError::param("node", "property is missing and it is not optional"))?.to_owned();
    if sim.state().node(&node).is_none() {
        return Err(SimError::param("node", "invalid format - value does not look like a valid node name"));
    }
    let g = guest_of_sid(sim.state(), req.var("sid"))?;
    let (vmid, s) = (g.vmid, sid(g));
    let due_ms = now_ms() + sim.state().settings.ha_delay_ms;
    sim.state_mut().ha_pending.push(HaPending { vmid, due_ms, start: true, migrate_to: Some(node.clone()) });
    Ok(json!({"sid": s, "requested-node": node}))
}

/// The HA manager migrates `vmid` to `target` (at `due_ms`): a finished `qmigrate` /
/// `vzmigrate` task on the source node, started by the HA resource agent (lxc: restart mode).
pub(crate) fn ha_migrate(st: &mut SimState, vmid: u32, target: &str, due_ms: u64) {
    let Some(g) = st.guest(vmid).cloned() else { return };
    if g.node == target {
        return;
    }
    let Some(ip) = st.node(target).map(|n| n.ip.clone()) else { return };
    let plan = Plan { g: &g, target, ip: &ip, online: g.is_running(), restart: true, with_local: true, storage_map: None };
    let (mut log, error, volumes, _) = plan.run(st, true, None, due_ms, 1000);
    log.insert(0, "task started by HA resource agent".to_owned());
    let task_type = if g.kind == GuestKind::Qemu { "qmigrate" } else { "vzmigrate" };
    if let Ok(upid) = new_upid(st, &g.node, task_type, &vmid.to_string(), due_ms, "root@pam") {
        let status = error.clone().unwrap_or_else(|| "OK".to_owned());
        log.push(if error.is_some() { format!("TASK ERROR: {status}") } else { "TASK OK".to_owned() });
        let endtime = Some((due_ms / 1000 + 1).max(upid.starttime));
        st.tasks.push(SimTask { upid, endtime, exitstatus: Some(status), log, pending: None });
    }
    if error.is_none() {
        super::migrate::apply_migrate(st, vmid, target, &volumes);
    }
}

/// `ha-manager <args>`: `status`, `migrate <sid> <node>` (`crm-command migrate`).
pub(crate) fn tool(sim: &mut Sim, args: &[String]) -> Output {
    sim.set_cli();
    let usage = "USAGE: ha-manager <COMMAND> [ARGS] [OPTIONS]\n";
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let rest = match args.as_slice() {
        ["crm-command", "migrate", rest @ ..] | ["migrate", rest @ ..] => rest,
        ["status", rest @ ..] => {
            if !rest.is_empty() && rest != ["--verbose", "0"] {
                return Output::fail("400 too many arguments\nha-manager status  [OPTIONS]\n", 255);
            }
            return match sim.handle(Method::Get, "/cluster/ha/status/current", &Params::new()) {
                Ok(v) => Output::ok(v.as_array().into_iter().flatten().fold(String::new(), |acc, e| {
                    acc + &format!("{} {}\n", e["type"].as_str().unwrap_or(""), e["status"].as_str().unwrap_or(""))
                })),
                Err(e) => Output::error(&e),
            };
        }
        [] => return Output::fail(format!("ERROR: no command specified\n{usage}"), 255),
        [cmd, ..] => return Output::fail(format!("ERROR: unknown command 'ha-manager {cmd}'\n{usage}"), 255),
    };
    let synopsis = "ha-manager migrate <sid> <node>\n";
    match rest {
        [sid_text, node] => {
            let params: Params = vec![("node".to_owned(), (*node).to_owned())];
            match sim.handle(Method::Post, &format!("/cluster/ha/resources/{sid_text}/migrate"), &params) {
                Ok(_) => Output::ok(""),
                Err(e) => Output::error(&e),
            }
        }
        [_] | [] => Output::fail(format!("400 not enough arguments\n{synopsis}"), 255),
        _ => Output::fail(format!("400 too many arguments\n{synopsis}"), 255),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perl_localtime() {
        assert_eq!(localtime(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(localtime(1_767_225_600), "Thu Jan  1 00:00:00 2026");
    }
}
