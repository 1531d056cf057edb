//! Migration: the precondition check (`GET /nodes/{node}/qemu/{vmid}/migrate`), `POST
//! .../migrate` for qemu (`qmigrate`) and lxc (`vzmigrate`), and the request an HA-managed
//! guest's migration becomes (`hamigrate`, carried out later by the HA manager, `ha.rs`).
//!
//! Sources: qemu-server `API2/Qemu.pm` `migrate_vm_precondition` (`allowed_nodes` and
//! `not_allowed_nodes` always present; `unavailable_storages` for storages a node lacks;
//! `local_disks` from `foreach_volid` attributes, shared volumes left out) and `migrate_vm`
//! (`target: target is local node.` as a parameter error, `check_node_exists`, `check_lock`,
//! `can't migrate running VM without --online`, `check_storage_availability`, and for an
//! HA-managed VM a `hamigrate` task `Requesting HA migration for VM <id> to node <t>`);
//! `QemuMigrate.pm` (phase 1 lines `starting migration of VM <id> to node '<t>' (<ip>)`,
//! `found local disk '<volid>' (attached)`, `can't migrate local disk '<volid>': <why>`,
//! `aborting phase 1 - cleanup resources`, `copying local disk images`, `volume '<a>' is
//! '<b>' on the target`, the online lines of samples/qm-migrate-log/4.txt); pve-container
//! `API2/LXC.pm` `migrate_vm` (`can't migrate running container without --online or
//! --restart`, checked before the fork since 2016; fact 17's Migrate.pm text is only
//! reachable inside the task) and `LXC/Migrate.pm` (restart mode: `shutdown CT <id>`, `start
//! container on target node`); pve-guest-common `AbstractMigrate.pm` (`<%F %T> ` prefix,
//! ` ERROR:` for errors, `migration aborted (duration …): <err>` → `migration aborted`,
//! `migration finished with problems (duration …)` → `migration problems`, `migration
//! finished successfully (duration …)`).

use serde_json::{Map, Value, json};

use super::actions::{checked_guest, word};
use super::backups::{is_disk_key, parse_size};
use super::core::{Sim, req_kind};
use super::error::SimError;
use super::faults::FaultOutcome;
use super::route::{Request, Route};
use super::state::{SimGuest, SimState};
use super::task_state::Effect;
use super::worker::{NewTask, now_ms};
use crate::backend::api::Method;
use crate::model::GuestKind;

/// The migration routes.
pub(crate) const MIGRATE_ROUTES: &[Route] = &[
    Route { method: Method::Get, pattern: "/nodes/{node}/{kind=qemu}/{vmid}/migrate", params: &["target"], handler: precondition },
    Route {
        method: Method::Post,
        pattern: "/nodes/{node}/{kind=qemu}/{vmid}/migrate",
        params: &[
            "bwlimit",
            "force",
            "migration_network",
            "migration_type",
            "online",
            "target",
            "targetstorage",
            "with-conntrack-state",
            "with-local-disks",
        ],
        handler: migrate,
    },
    Route {
        method: Method::Post,
        pattern: "/nodes/{node}/{kind=lxc}/{vmid}/migrate",
        params: &["bwlimit", "online", "restart", "target", "target-storage", "timeout"],
        handler: migrate,
    },
];

/// A volume of a guest's config: `(key, volid, config value)`; `none` cdroms left out.
fn volumes(g: &SimGuest) -> Vec<(String, String, String)> {
    g.config
        .iter()
        .filter(|(k, _)| is_disk_key(k) || k.starts_with("unused"))
        .filter_map(|(k, v)| {
            let volid = v.split(',').next().unwrap_or("").to_owned();
            (volid.contains(':')).then(|| (k.clone(), volid, v.clone()))
        })
        .collect()
}

fn storage_of(volid: &str) -> &str {
    volid.split_once(':').map_or("", |(s, _)| s)
}

/// Storages of `g`'s volumes not configured on `node`, sorted.
fn unavailable_storages(st: &SimState, g: &SimGuest, node: &str) -> Vec<String> {
    let mut out: Vec<String> = volumes(g)
        .iter()
        .map(|(_, v, _)| storage_of(v).to_owned())
        .filter(|s| st.storages.iter().find(|x| x.id == *s).is_none_or(|x| !x.on_node(node)))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Whether a volume is on a storage that is not shared.
fn is_local(st: &SimState, volid: &str) -> bool {
    st.storages.iter().find(|s| s.id == storage_of(volid)).is_some_and(|s| !s.shared)
}

/// `GET /nodes/{node}/qemu/{vmid}/migrate`.
fn precondition(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let g = checked_guest(sim, req, "VM.Migrate", false)?;
    if let Some(t) = req.param("target") {
        sim.state().node(t).ok_or_else(|| SimError::no_node(t))?;
    }
    let st = sim.state();
    let mut allowed = Vec::new();
    let mut not_allowed = Map::new();
    for n in st.nodes.iter().filter(|n| n.name != g.node) {
        let missing = unavailable_storages(st, &g, &n.name);
        if missing.is_empty() {
            allowed.push(json!(n.name));
        } else {
            not_allowed.insert(n.name.clone(), json!({ "unavailable_storages": missing }));
        }
    }
    let local_disks: Vec<Value> = volumes(&g)
        .into_iter()
        .filter(|(_, v, _)| is_local(st, v))
        .map(|(key, volid, value)| {
            let cdrom = value.contains("media=cdrom");
            let unused = key.starts_with("unused");
            let size = value.split(',').find_map(|p| p.strip_prefix("size=")).map_or(0, parse_size);
            let mut m = Map::new();
            m.insert("volid".into(), json!(volid));
            m.insert("cdrom".into(), json!(u8::from(cdrom)));
            m.insert("is_unused".into(), json!(u8::from(unused)));
            m.insert("is_attached".into(), json!(u8::from(!unused)));
            m.insert("is_cloudinit".into(), json!(0));
            m.insert("is_vmstate".into(), json!(0));
            m.insert("is_tpmstate".into(), json!(0));
            m.insert("replicate".into(), json!(u8::from(!cdrom)));
            m.insert("shared".into(), json!(0));
            m.insert("size".into(), json!(size));
            if !unused {
                m.insert("drivename".into(), json!(key));
            }
            let snaps: Map<String, Value> = g
                .snapshots
                .iter()
                .filter(|s| s.config.iter().any(|(_, v)| v.split(',').next() == Some(&volid)))
                .map(|s| (s.name.clone(), json!(1)))
                .collect();
            if !snaps.is_empty() {
                m.insert("referenced_in_snapshot".into(), Value::Object(snaps));
            }
            Value::Object(m)
        })
        .collect();
    let mut res = json!({
        "running": u8::from(g.is_running()),
        "allowed_nodes": allowed,
        "not_allowed_nodes": not_allowed,
        "local_disks": local_disks,
        "local_resources": [],
        "mapped-resources": [],
        "mapped-resource-info": {},
        "has-dbus-vmstate": 1,
    });
    if g.hastate.is_some() {
        res["dependent-ha-resources"] = json!([]);
    }
    Ok(res)
}

/// `YYYY-MM-DD HH:MM:SS` for `ms` (UTC), the line prefix of `AbstractMigrate.pm`.
fn ts(ms: u64) -> String {
    crate::model::time::format_utc(ms / 1000)
}

/// `HH:MM:SS` of a duration in milliseconds.
fn duration(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// `POST /nodes/{node}/{qemu,lxc}/{vmid}/migrate`.
fn migrate(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let kind = req_kind(req);
    let target = req.param("target").ok_or_else(|| SimError::param("target", "property is missing and it is not optional"))?.to_owned();
    let online = req.bool_param("online")?.unwrap_or(false);
    let restart = req.bool_param("restart")?.unwrap_or(false);
    let with_local = req.bool_param("with-local-disks")?.unwrap_or(false);
    for b in ["force", "with-conntrack-state"] {
        req.bool_param(b)?;
    }
    if target == req.var("node") {
        return Err(SimError::param("target", "target is local node."));
    }
    let target_node = sim.state().node(&target).ok_or_else(|| SimError::no_node(&target))?.clone();
    let g = checked_guest(sim, req, "VM.Migrate", false)?;
    let vmid = g.vmid;
    let running = g.is_running();
    if running && kind == GuestKind::Qemu && !online {
        return Err(SimError::die("can't migrate running VM without --online"));
    }
    if running && kind == GuestKind::Lxc && !online && !restart {
        return Err(SimError::die("can't migrate running container without --online or --restart"));
    }
    let storage_map = req.param("targetstorage").or_else(|| req.param("target-storage")).map(str::to_owned);
    if storage_map.is_none()
        && let Some(s) = unavailable_storages(sim.state(), &g, &target).first()
    {
        return Err(SimError::die(format!("storage '{s}' is not available on node '{target}'")));
    }
    if g.hastate.is_some() {
        return sim.start_task(NewTask {
            node: g.node.clone(),
            task_type: "hamigrate".into(),
            vmid,
            fault_actions: &[],
            log: vec![format!("Requesting HA migration for {} {vmid} to node {target}", word(kind))],
            error: None,
            effect: Effect::HaMigrate { vmid, target },
            lock: None,
            holds_config_lock: false,
            id: None,
            locked: Vec::new(),
            warnings: 0,
        });
    }
    let fault = sim.state_mut().faults.take_task_fault(vmid, &["migrate"]);
    let task_ms = sim.state().settings.task_ms;
    let plan =
        Plan { g: &g, target: &target, ip: &target_node.ip, online: online && kind == GuestKind::Qemu, restart, with_local, storage_map };
    let (log, error, volumes, on_error) = plan.run(sim.state(), target_node.online, fault.as_ref(), now_ms(), task_ms);
    sim.start_task(NewTask {
        node: g.node.clone(),
        task_type: if kind == GuestKind::Qemu { "qmigrate" } else { "vzmigrate" }.to_owned(),
        vmid,
        fault_actions: &[],
        log,
        error,
        effect: Effect::Migrate { vmid, target, volumes, on_error },
        lock: Some("migrate".into()),
        holds_config_lock: false,
        id: None,
        locked: Vec::new(),
        warnings: 0,
    })
}

/// One migration as the worker will run it.
pub(crate) struct Plan<'a> {
    /// The guest.
    pub g: &'a SimGuest,
    /// Target node.
    pub target: &'a str,
    /// Target node address.
    pub ip: &'a str,
    /// Live migration (qemu).
    pub online: bool,
    /// Restart mode (lxc).
    pub restart: bool,
    /// `with-local-disks`.
    pub with_local: bool,
    /// `targetstorage` / `target-storage` (a storage id, or `a:b` pairs).
    pub storage_map: Option<String>,
}

/// What a migration task logs and does: `(log, error, volume renames, apply on error)`.
type Outcome = (Vec<String>, Option<String>, Vec<(String, String)>, bool);

impl Plan<'_> {
    /// The log, the task error and the volume renames, decided at the start.
    pub(crate) fn run(&self, st: &SimState, target_online: bool, fault: Option<&FaultOutcome>, start_ms: u64, task_ms: u64) -> Outcome {
        let t = ts(start_ms);
        let line = |m: &str| format!("{t} {m}");
        let err = |m: &str| format!("{t} ERROR: {m}");
        let dur = duration(task_ms);
        let g = self.g;
        let (vmid, qemu) = (g.vmid, g.kind == GuestKind::Qemu);
        let abort = |mut log: Vec<String>, reason: &str| -> Outcome {
            log.push(err(&format!("migration aborted (duration {dur}): {reason}")));
            (log, Some("migration aborted".to_owned()), Vec::new(), false)
        };
        if !target_online {
            return abort(Vec::new(), "Can't connect to destination address using public key");
        }
        let mut log = Vec::new();
        if qemu {
            log.push(line(&format!("starting migration of VM {vmid} to node '{}' ({})", self.target, self.ip)));
        } else {
            if g.is_running() && self.restart {
                log.push(line(&format!("shutdown CT {vmid}")));
            }
            log.push(line(&format!("starting migration of CT {vmid} to node '{}' ({})", self.target, self.ip)));
        }
        let mut problems = Vec::new();
        let mut renames = Vec::new();
        for (key, volid, value) in volumes(g).into_iter().filter(|(_, v, _)| is_local(st, v)) {
            let cdrom = value.contains("media=cdrom");
            if cdrom {
                problems.push(format!("can't migrate local disk '{volid}': local cdrom image"));
                continue;
            }
            let how = if key.starts_with("unused") { "unused" } else { "attached" };
            if qemu && self.online && how == "attached" && !self.with_local {
                problems.push(format!(
                    "can't migrate local disk '{volid}': can't live migrate attached local disks without with-local-disks option"
                ));
            }
            if qemu {
                log.push(line(&format!("found local disk '{volid}' ({how})")));
            } else {
                log.push(line(&format!("found local volume '{volid}' (in current VM config)")));
            }
            let target_sid = self.map_storage(storage_of(&volid));
            renames.push((volid.clone(), format!("{target_sid}:{}", volid.split_once(':').map_or("", |(_, n)| n))));
        }
        if !problems.is_empty() {
            for p in &problems {
                log.push(line(p));
            }
            let reason = if qemu { "Failed to sync data - can't migrate VM - check log" } else { "can't migrate CT - check log" };
            log.push(err(reason));
            log.push(line("aborting phase 1 - cleanup resources"));
            return abort(log, reason);
        }
        match fault {
            Some(FaultOutcome::Fail { message }) if message != "migration problems" => {
                log.push(err(message));
                log.push(line("aborting phase 1 - cleanup resources"));
                return abort(log, message);
            }
            _ => {}
        }
        if !renames.is_empty() && (!qemu || !self.online) {
            if qemu {
                log.push(line("copying local disk images"));
            }
            for (a, b) in &renames {
                log.push(line(&format!("volume '{a}' is '{b}' on the target")));
            }
        }
        if qemu && self.online {
            let mem = g.maxmem;
            #[expect(clippy::cast_precision_loss, reason = "a size for display")]
            let mib = |b: u64| format!("{:.1} MiB", b as f64 / 1_048_576.0);
            log.push(line(&format!("starting VM {vmid} on remote node '{}'", self.target)));
            for (a, b) in &renames {
                log.push(line(&format!("volume '{a}' is '{b}' on the target")));
            }
            log.push(line("start remote tunnel"));
            log.push(line("ssh tunnel ver 1"));
            log.push(line(&format!("starting online/live migration on unix:/run/qemu-server/{vmid}.migrate")));
            log.push(line("set migration capabilities"));
            log.push(line("migration downtime limit: 100 ms"));
            log.push(line(&format!("migration cachesize: {}", mib(mem / 8))));
            log.push(line("set migration parameters"));
            log.push(line(&format!("start migrate command to unix:/run/qemu-server/{vmid}.migrate")));
            log.push(line(&format!("average migration speed: {}/s - downtime 42 ms", mib(g.mem.max(1) / 2))));
            log.push(line("migration status: completed"));
        }
        if !qemu {
            log.push(line("start final cleanup"));
            if g.is_running() && self.restart {
                log.push(line("start container on target node"));
            }
        }
        if let Some(FaultOutcome::Fail { .. }) = fault {
            log.push(err(&format!("migration finished with problems (duration {dur})")));
            return (log, Some("migration problems".to_owned()), renames, true);
        }
        log.push(line(&format!("migration finished successfully (duration {dur})")));
        (log, None, renames, false)
    }

    /// The target storage for `sid` under the storage map (`x` = all to x; `a:b,c:d`).
    fn map_storage(&self, sid: &str) -> String {
        let Some(map) = &self.storage_map else { return sid.to_owned() };
        let mut default = None;
        for part in map.split(',') {
            match part.split_once(':') {
                Some((a, b)) if a == sid => return b.to_owned(),
                Some(_) => {}
                None => default = Some(part.to_owned()),
            }
        }
        default.unwrap_or_else(|| sid.to_owned())
    }
}

/// Moves a migrated guest: node, volume renames, run state kept (an lxc in restart mode
/// restarts on the target).
pub(crate) fn apply_migrate(st: &mut SimState, vmid: u32, target: &str, volumes: &[(String, String)]) {
    let Some(g) = st.guest_mut(vmid) else { return };
    target.clone_into(&mut g.node);
    for (_, v) in &mut g.config {
        for (a, b) in volumes {
            if v.split(',').next() == Some(a.as_str()) {
                *v = v.replacen(a.as_str(), b, 1);
            }
        }
    }
    if g.lock.as_deref() == Some("migrate") {
        g.lock = None;
    }
}
