//! Guests coming and going: create (`POST /nodes/{node}/{qemu,lxc}`, which with `archive`
//! / `restore=1` is a restore, `backups.rs`), clone, template, destroy, and
//! `GET /cluster/nextid`.
//!
//! Texts and order of checks: qemu-server `API2/Qemu.pm` (`create_vm`: `unable to create VM
//! <id> - VM <id> already exists on node '<node>'`; `clone_vm`: `$load_and_check` runs before
//! the fork, so `VM is locked (<lock>)`, `unable to create VM <newid>: config file already
//! exists`, `parameter 'storage' not allowed for linked clones` and `Linked clone feature is
//! not supported for '<volid>' (<key>)` are direct errors; the task id is the SOURCE vmid and
//! the new VM has `lock: clone`; `template`: `you can't convert a VM to template if VM is
//! running`; `destroy_vm`: protection, HA without purge, running, then the lock, all before
//! the worker), pve-container `API2/LXC.pm` (same for CTs: `create` lock on the new CT of a
//! clone, `Linked clone feature for '<volid>' is not available`, `vztemplate` whose API call
//! returns `null`, `unable to destroy CT <id> - container is running` unless `force`), and
//! pve-manager `API2/Cluster.pm` `nextid` (a string; `vmid: VM <id> already exists`).
//! A linked clone needs a template (a volume of a non-template is no base image, so the
//! storage lacks the `clone` feature for it). A password is never stored in a config:
//! `cipassword` is kept hashed (as qemu-server does), an lxc `password` and
//! `ssh-public-keys` go into the container, not its config.

use serde_json::{Value, json};

use super::actions::{checked_guest, word};
use super::backups::{is_disk_key, rename_volid, restore, storage_root};
use super::core::{Sim, req_kind};
use super::digest::hex_digest;
use super::error::SimError;
use super::route::{Request, Route, check_int};
use super::seed::{GIB, MIB, mac};
use super::state::{SimGuest, SimState};
use super::task_state::Effect;
use super::worker::NewTask;
use crate::backend::api::Method;
use crate::model::GuestKind;

const QEMU_CREATE: &[&str] = &[
    "acpi",
    "affinity",
    "agent",
    "allow-ksm",
    "amd-sev",
    "arch",
    "archive",
    "args",
    "audio0",
    "autostart",
    "balloon",
    "bios",
    "boot",
    "bootdisk",
    "bwlimit",
    "cdrom",
    "cicustom",
    "cipassword",
    "citype",
    "ciupgrade",
    "ciuser",
    "cores",
    "cpu",
    "cpulimit",
    "cpuunits",
    "description",
    "efidisk0",
    "force",
    "freeze",
    "ha-managed",
    "hookscript",
    "hostpci[n]",
    "hotplug",
    "hugepages",
    "ide[n]",
    "import-working-storage",
    "intel-tdx",
    "ipconfig[n]",
    "ivshmem",
    "keephugepages",
    "keyboard",
    "kvm",
    "live-restore",
    "localtime",
    "lock",
    "machine",
    "memory",
    "migrate_downtime",
    "migrate_speed",
    "name",
    "nameserver",
    "net[n]",
    "numa",
    "numa[n]",
    "onboot",
    "ostype",
    "parallel[n]",
    "pool",
    "protection",
    "reboot",
    "rng0",
    "sata[n]",
    "scsi[n]",
    "scsihw",
    "searchdomain",
    "serial[n]",
    "shares",
    "smbios1",
    "smp",
    "sockets",
    "spice_enhancements",
    "sshkeys",
    "start",
    "startdate",
    "startup",
    "storage",
    "tablet",
    "tags",
    "tdf",
    "template",
    "tpmstate0",
    "unique",
    "unused[n]",
    "usb[n]",
    "vcpus",
    "vga",
    "virtio[n]",
    "virtiofs[n]",
    "vmgenid",
    "vmid",
    "vmstatestorage",
    "watchdog",
];

const LXC_CREATE: &[&str] = &[
    "arch",
    "bwlimit",
    "cmode",
    "console",
    "cores",
    "cpulimit",
    "cpuunits",
    "debug",
    "description",
    "dev[n]",
    "entrypoint",
    "env",
    "features",
    "force",
    "ha-managed",
    "hookscript",
    "hostname",
    "ignore-unpack-errors",
    "lock",
    "memory",
    "mp[n]",
    "nameserver",
    "net[n]",
    "onboot",
    "ostemplate",
    "ostype",
    "password",
    "pool",
    "protection",
    "restore",
    "rootfs",
    "searchdomain",
    "ssh-public-keys",
    "start",
    "startup",
    "storage",
    "swap",
    "tags",
    "template",
    "timezone",
    "tty",
    "unique",
    "unprivileged",
    "unused[n]",
    "vmid",
];

/// The routes of this domain.
pub(crate) const PROVISION_ROUTES: &[Route] = &[
    Route { method: Method::Post, pattern: "/nodes/{node}/{kind=qemu}", params: QEMU_CREATE, handler: create },
    Route { method: Method::Post, pattern: "/nodes/{node}/{kind=lxc}", params: LXC_CREATE, handler: create },
    Route {
        method: Method::Post,
        pattern: "/nodes/{node}/{kind=qemu}/{vmid}/clone",
        params: &["bwlimit", "description", "format", "full", "name", "newid", "pool", "snapname", "storage", "target"],
        handler: clone,
    },
    Route {
        method: Method::Post,
        pattern: "/nodes/{node}/{kind=lxc}/{vmid}/clone",
        params: &["bwlimit", "description", "full", "hostname", "newid", "pool", "snapname", "storage", "target"],
        handler: clone,
    },
    Route { method: Method::Post, pattern: "/nodes/{node}/{kind=qemu}/{vmid}/template", params: &["disk"], handler: template },
    Route { method: Method::Post, pattern: "/nodes/{node}/{kind=lxc}/{vmid}/template", params: &[], handler: template },
    Route {
        method: Method::Delete,
        pattern: "/nodes/{node}/{kind=qemu}/{vmid}",
        params: &["destroy-unreferenced-disks", "purge", "skiplock"],
        handler: destroy,
    },
    Route {
        method: Method::Delete,
        pattern: "/nodes/{node}/{kind=lxc}/{vmid}",
        params: &["destroy-unreferenced-disks", "force", "purge"],
        handler: destroy,
    },
    Route { method: Method::Get, pattern: "/cluster/nextid", params: &["vmid"], handler: nextid },
];

/// `qm` or `vz`.
fn prefix(kind: GuestKind) -> &'static str {
    if kind == GuestKind::Qemu { "qm" } else { "vz" }
}

/// The required `vmid` parameter.
fn vmid_param(req: &Request<'_>, name: &str) -> Result<u32, SimError> {
    let v = req.int_param(name, 100)?.ok_or_else(|| SimError::param(name, "property is missing and it is not optional"))?;
    u32::try_from(v).map_err(|_| SimError::param(name, "value must have a maximum value of 999999999"))
}

/// `POST /nodes/{node}/{qemu,lxc}`: a create, or a restore with `archive` (qemu) /
/// `restore=1` (lxc).
#[expect(clippy::too_many_lines, reason = "the checks and the config of both kinds in create_vm's order")]
fn create(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let kind = req_kind(req);
    let vmid = vmid_param(req, "vmid")?;
    if kind == GuestKind::Qemu {
        if let Some(archive) = req.param("archive") {
            return restore(sim, req, kind, vmid, archive);
        }
    } else if req.bool_param("restore")?.unwrap_or(false) {
        let archive = req.param("ostemplate").ok_or_else(|| SimError::param("ostemplate", "property is missing and it is not optional"))?;
        return restore(sim, req, kind, vmid, archive);
    }
    let node = req.var("node").to_owned();
    let start = req.bool_param("start")?.unwrap_or(false);
    for b in ["unprivileged", "protection", "onboot", "template", "force", "unique"] {
        req.bool_param(b)?;
    }
    let memory = req.int_param("memory", 16)?.unwrap_or(512);
    let cores = req.int_param("cores", 1)?.unwrap_or(1);
    let sockets = req.int_param("sockets", 1)?.unwrap_or(1);
    sim.check_perm(&format!("/vms/{vmid}"), "VM.Allocate")?;
    let st = sim.state();
    if let Some(g) = st.guest(vmid) {
        return Err(SimError::die(format!(
            "unable to create {} {vmid} - {} {vmid} already exists on node '{}'",
            word(kind),
            word(g.kind),
            g.node
        )));
    }
    if let Some(p) = req.param("pool").filter(|p| !st.pools.iter().any(|x| x.poolid == *p)) {
        return Err(SimError::die(format!("pool '{p}' does not exist")));
    }
    let mut g = SimGuest {
        vmid,
        kind,
        node: node.clone(),
        maxmem: memory * MIB,
        maxcpu: f64::from(u32::try_from(cores * sockets).unwrap_or(1)),
        pool: req.param("pool").map(str::to_owned),
        ..SimGuest::default()
    };
    let mut log = Vec::new();
    let (skip, name_key): (&[&str], &str) = match kind {
        GuestKind::Qemu => (&["vmid", "start", "pool", "storage", "force", "unique", "name", "tags", "protection", "cdrom"], "name"),
        GuestKind::Lxc => (
            &[
                "vmid",
                "start",
                "pool",
                "storage",
                "force",
                "unique",
                "hostname",
                "tags",
                "protection",
                "password",
                "ssh-public-keys",
                "ostemplate",
            ],
            "hostname",
        ),
    };
    g.name = req.param(name_key).map(str::to_owned);
    g.tags = req.param("tags").map(|t| t.split([';', ',', ' ']).filter(|x| !x.is_empty()).map(str::to_owned).collect()).unwrap_or_default();
    g.protection = req.bool_param("protection")?.unwrap_or(false);
    if kind == GuestKind::Lxc {
        let tmpl = req.param("ostemplate").ok_or_else(|| SimError::param("ostemplate", "property is missing and it is not optional"))?;
        let vol = st
            .volumes
            .iter()
            .find(|v| v.volid == tmpl && v.content == "vztmpl" && v.node.as_deref().is_none_or(|n| n == node))
            .ok_or_else(|| SimError::die(format!("unable to create CT {vmid} - volume '{tmpl}' does not exist")))?;
        let root = st.storages.iter().find(|s| s.id == vol.storage()).map_or_else(|| "/var/lib/vz".to_owned(), storage_root);
        log.push(format!("extracting archive '{root}/template/cache/{}'", vol.volname().trim_start_matches("vztmpl/")));
        log.push(format!("Total bytes read: {} ({}MiB, 256MiB/s)", vol.size * 3, vol.size * 3 / MIB));
        log.push("Detected container architecture: amd64".to_owned());
        let rootfs = req.param("rootfs").map_or_else(|| format!("{}:4", req.param("storage").unwrap_or("local")), str::to_owned);
        let (store, size) = rootfs.split_once(':').unwrap_or(("local", "4"));
        let gib: u64 = size.split(',').next().and_then(|s| s.parse().ok()).unwrap_or(4);
        g.config.push(("arch".into(), "amd64".into()));
        g.config.push(("cores".into(), cores.to_string()));
        g.config.push(("memory".into(), memory.to_string()));
        g.config.push(("ostype".into(), if tmpl.contains("ubuntu") { "ubuntu" } else { "debian" }.into()));
        g.config.push(("rootfs".into(), format!("{store}:{vmid}/vm-{vmid}-disk-0.raw,size={gib}G")));
        g.config.push(("swap".into(), req.param("swap").unwrap_or("512").into()));
        g.maxswap = req.param("swap").and_then(|s| s.parse().ok()).unwrap_or(512) * MIB;
        g.maxdisk = gib * GIB;
    }
    for (k, v) in req.params.iter().filter(|(k, _)| !skip.contains(&k.as_str())) {
        if kind == GuestKind::Lxc && ["cores", "memory", "rootfs", "swap"].contains(&k.as_str()) {
            continue;
        }
        let value = match k.as_str() {
            k if k.starts_with("net") => add_mac(kind, v, vmid),
            "cipassword" => format!("$5${}", hex_digest(v.as_bytes(), 43)),
            k if kind == GuestKind::Qemu && is_disk_key(k) && !v.contains("media=cdrom") && !v.contains('/') => {
                let (store, size) = v.split_once(':').unwrap_or(("local", v));
                let gib: u64 = size.split(',').next().and_then(|s| s.parse().ok()).unwrap_or(0);
                let n = g.config.iter().filter(|(k, _)| is_disk_key(k)).count();
                let volid = format!("{store}:{vmid}/vm-{vmid}-disk-{n}.raw");
                let root = st.storages.iter().find(|s| s.id == store).map_or_else(|| format!("/mnt/pve/{store}"), storage_root);
                log.push(format!("Formatting '{root}/images/{vmid}/vm-{vmid}-disk-{n}.raw', fmt=raw size={}", gib * GIB));
                log.push(format!("{k}: successfully created disk '{volid},size={gib}G'"));
                g.maxdisk = g.maxdisk.max(gib * GIB);
                format!("{volid},size={gib}G")
            }
            _ => v.clone(),
        };
        g.config.push((k.clone(), value));
    }
    if let Some(iso) = req.param("cdrom") {
        g.config.push(("ide2".into(), format!("{iso},media=cdrom")));
    }
    if kind == GuestKind::Qemu {
        g.config.push(("smbios1".into(), format!("uuid={}", uuid_of(vmid))));
        g.config.push(("vmgenid".into(), uuid_of(vmid + 1)));
    }
    g.config.sort_by(|a, b| a.0.cmp(&b.0));
    let st = sim.state_mut();
    st.guests.push(g);
    st.sort_guests();
    sim.start_task(NewTask {
        node,
        task_type: format!("{}create", prefix(kind)),
        vmid,
        fault_actions: &["create"],
        log,
        error: None,
        effect: Effect::Provision { vmid, start },
        lock: Some("create".to_owned()),
        holds_config_lock: false,
        id: None,
        locked: vec![vmid],
        warnings: 0,
    })
}

/// A network device with a MAC address (`BC:24:11:...`), as PVE adds one.
fn add_mac(kind: GuestKind, v: &str, vmid: u32) -> String {
    match kind {
        GuestKind::Qemu => match v.split_once(',') {
            _ if v.split(',').next().is_some_and(|m| m.contains('=')) => v.to_owned(),
            Some((model, rest)) => format!("{model}={},{rest}", mac(vmid)),
            None => format!("{v}={}", mac(vmid)),
        },
        GuestKind::Lxc if v.contains("hwaddr=") => v.to_owned(),
        GuestKind::Lxc => format!("{v},hwaddr={}", mac(vmid)),
    }
}

/// A UUID-shaped id.
fn uuid_of(seed: u32) -> String {
    let h = hex_digest(format!("uuid/{seed}").as_bytes(), 32);
    format!("{}-{}-4{}-a{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
}

/// `POST /nodes/{node}/{kind}/{vmid}/clone --newid N`: `qmclone`/`vzclone` task of the
/// SOURCE vmid; the new guest exists with its lock from the start.
#[expect(clippy::too_many_lines, reason = "the early checks in clone_vm's order, then the new config")]
fn clone(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let kind = req_kind(req);
    let newid = vmid_param(req, "newid")?;
    let full_param = req.bool_param("full")?;
    let src = checked_guest(sim, req, "VM.Clone", false)?;
    sim.check_perm(&format!("/vms/{newid}"), "VM.Allocate")?;
    let st = sim.state();
    let target = req.param("target").filter(|t| *t != src.node).map(str::to_owned);
    if let Some(t) = &target
        && st.node(t).is_none()
    {
        return Err(SimError::die(format!("no such cluster node '{t}'")));
    }
    if let Some(p) = req.param("pool").filter(|p| !st.pools.iter().any(|x| x.poolid == *p)) {
        return Err(SimError::die(format!("pool '{p}' does not exist")));
    }
    let storage = req.param("storage");
    if let Some(s) = storage
        && !st.storages.iter().any(|x| x.id == s)
    {
        return Err(SimError::die(format!("storage '{s}' does not exist")));
    }
    let snapname = req.param("snapname");
    if let Some(s) = snapname.filter(|s| !src.snapshots.iter().any(|x| x.name == *s)) {
        return Err(SimError::die(format!("snapshot '{s}' does not exist")));
    }
    let full = full_param.unwrap_or(!src.template);
    if storage.is_some() && !full {
        return Err(SimError::die("parameter 'storage' not allowed for linked clones"));
    }
    if kind == GuestKind::Lxc && full && src.is_running() && snapname.is_none() {
        return Err(SimError::die("Full clone of a running container is only possible from a snapshot"));
    }
    if let Some(t) = &target {
        let local = src.config.iter().filter(|(k, v)| is_disk_key(k) && !v.contains("media=cdrom")).any(|(_, v)| {
            let sid = storage.unwrap_or_else(|| v.split(':').next().unwrap_or(""));
            st.storages.iter().find(|s| s.id == sid).is_some_and(|s| !s.shared)
        });
        if local {
            return Err(SimError::die(format!("can't clone {} to node '{t}' ({} uses local storage)", word(kind), word(kind))));
        }
    }
    if st.guest(newid).is_some() {
        return Err(SimError::die(match kind {
            GuestKind::Qemu => format!("unable to create VM {newid}: config file already exists"),
            GuestKind::Lxc => format!("unable to create CT {newid} - CT {newid} already exists on node '{}'", src.node),
        }));
    }
    let mut disks: Vec<(String, String)> =
        src.config.iter().filter(|(k, v)| is_disk_key(k) && !v.contains("media=cdrom")).map(|(k, v)| (k.clone(), v.clone())).collect();
    disks.sort();
    let mut log = Vec::new();
    for (key, value) in &disks {
        let volid = value.split(',').next().unwrap_or("").to_owned();
        let cloudinit = volid.contains("cloudinit");
        let linked = !full && !cloudinit;
        if linked && !src.template {
            return Err(SimError::die(match kind {
                GuestKind::Qemu => format!("Linked clone feature is not supported for '{volid}' ({key})"),
                GuestKind::Lxc => format!("Linked clone feature for '{volid}' is not available"),
            }));
        }
        let mode = if linked { "linked" } else { "full" };
        log.push(match kind {
            GuestKind::Qemu => format!("create {mode} clone of drive {key} ({volid})"),
            GuestKind::Lxc if linked => format!("create linked clone of mount point {key} ({volid})"),
            GuestKind::Lxc => format!("create full clone of mountpoint {key} ({volid})"),
        });
    }
    let mut g = src.clone();
    g.vmid = newid;
    g.node = target.unwrap_or_else(|| src.node.clone());
    g.template = false;
    g.snapshots.clear();
    g.parent = None;
    g.hastate = None;
    g.pending.clear();
    g.pending_delete.clear();
    g.config_gen = 0;
    g.pool = req.param("pool").map(str::to_owned);
    super::worker::set_power(&mut g, super::task_state::PowerTo::Stopped);
    let from = src.display_name();
    g.name = Some(match kind {
        GuestKind::Qemu => req.param("name").map_or_else(|| format!("Copy-of-VM-{from}"), str::to_owned),
        GuestKind::Lxc => req.param("hostname").map_or_else(|| from.clone(), str::to_owned),
    });
    g.config.retain(|(k, _)| !k.starts_with("unused"));
    for (k, v) in &mut g.config {
        if is_disk_key(k) && !v.contains("media=cdrom") {
            *v = rename_volid(v, src.vmid, newid, storage);
        } else if k.starts_with("net") {
            *v = v.replace(&mac(src.vmid), &mac(newid));
        } else if k == "smbios1" {
            *v = format!("uuid={}", uuid_of(newid));
        }
    }
    if let Some(d) = req.param("description") {
        g.config.retain(|(k, _)| k != "description");
        g.config.push(("description".into(), d.to_owned()));
    }
    let st = sim.state_mut();
    st.guests.push(g);
    st.sort_guests();
    sim.start_task(NewTask {
        node: src.node.clone(),
        task_type: format!("{}clone", prefix(kind)),
        vmid: src.vmid,
        fault_actions: &["clone"],
        log,
        error: None,
        effect: Effect::Provision { vmid: newid, start: false },
        lock: Some(if kind == GuestKind::Qemu { "clone" } else { "create" }.to_owned()),
        holds_config_lock: false,
        id: None,
        locked: vec![newid],
        warnings: 0,
    })
}

/// `POST /nodes/{node}/{kind}/{vmid}/template`: a `qmtemplate`/`vztemplate` task; the lxc
/// call answers `null`.
fn template(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let g = checked_guest(sim, req, "VM.Allocate", false)?;
    let (kind, vmid) = (g.kind, g.vmid);
    let refusal = match kind {
        GuestKind::Qemu if g.template && req.param("disk").is_none() => Some("you can't convert a template to a template"),
        GuestKind::Qemu if g.is_running() => Some("you can't convert a VM to template if VM is running"),
        GuestKind::Lxc if !g.snapshots.is_empty() => Some("unable to create template, because CT contains snapshots"),
        GuestKind::Lxc if g.template => Some("you can't convert a template to a template"),
        GuestKind::Lxc if g.is_running() => Some("you can't convert a CT to template if the CT is running"),
        _ => None,
    };
    if let Some(r) = refusal {
        return Err(SimError::die(r));
    }
    let upid = sim.start_task(NewTask {
        node: g.node.clone(),
        task_type: format!("{}template", prefix(kind)),
        vmid,
        fault_actions: &["template"],
        log: Vec::new(),
        error: None,
        effect: Effect::Template { vmid },
        lock: None,
        holds_config_lock: true,
        id: None,
        locked: Vec::new(),
        warnings: 0,
    })?;
    Ok(if kind == GuestKind::Qemu { upid } else { Value::Null })
}

/// `DELETE /nodes/{node}/{kind}/{vmid} [--purge] [--force]`: the early checks, then a
/// `qmdestroy`/`vzdestroy` task.
fn destroy(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let kind = req_kind(req);
    let purge = req.bool_param("purge")?.unwrap_or(false);
    let force = req.bool_param("force")?.unwrap_or(false);
    let skiplock = req.bool_param("skiplock")?.unwrap_or(false);
    req.bool_param("destroy-unreferenced-disks")?;
    // The lock is checked last (after protection, HA and the run state), so look first.
    let g = checked_guest(sim, req, "VM.Allocate", true)?;
    let (w, vmid) = (word(kind), g.vmid);
    if g.protection {
        return Err(SimError::die(format!("can't remove {w} {vmid} - protection mode enabled")));
    }
    if g.hastate.is_some() && !purge {
        return Err(SimError::die(format!("unable to remove {w} {vmid} - used in HA resources and purge parameter not set.")));
    }
    if g.is_running() && !(kind == GuestKind::Lxc && force) {
        return Err(SimError::die(match kind {
            GuestKind::Qemu => format!("VM {vmid} is running - destroy failed"),
            GuestKind::Lxc => format!("unable to destroy CT {vmid} - container is running"),
        }));
    }
    if let Some(l) = g.lock.as_ref().filter(|_| !skiplock) {
        return Err(SimError::die(format!("{w} is locked ({l})")));
    }
    let mut log = Vec::new();
    if purge {
        log.push(format!("purging {w} {vmid} from related configurations.."));
        if g.hastate.is_some() {
            log.push(format!("NOTE: removed {w} {vmid} from HA resource configuration."));
        }
    }
    sim.start_task(NewTask {
        node: g.node.clone(),
        task_type: format!("{}destroy", prefix(kind)),
        vmid,
        fault_actions: &["destroy"],
        log,
        error: None,
        effect: Effect::Destroy { vmid, purge },
        lock: None,
        holds_config_lock: true,
        id: None,
        locked: Vec::new(),
        warnings: 0,
    })
}

/// A destroy's effect: the guest goes; `purge` also takes it out of backup jobs' lists.
pub(crate) fn apply_destroy(st: &mut SimState, vmid: u32, purge: bool) {
    st.guests.retain(|g| g.vmid != vmid);
    if purge {
        for j in &mut st.backup_jobs {
            if let Some(list) = j.get("vmid").and_then(Value::as_str) {
                let kept: Vec<&str> = list.split(',').filter(|v| v.trim() != vmid.to_string()).collect();
                let kept = kept.join(",");
                j.insert("vmid".into(), json!(kept));
            }
        }
    }
}

/// What a failed task leaves: a clone's or create's new guest is removed (qemu-server
/// unlinks the config); a backup job keeps the archives of the guests that succeeded.
pub(crate) fn apply_failure(st: &mut SimState, effect: &Effect) {
    match effect {
        Effect::Provision { vmid, .. } => st.guests.retain(|g| g.vmid != *vmid),
        Effect::Vzdump { backups } => super::backups::apply_vzdump(st, backups.clone()),
        Effect::Migrate { vmid, target, volumes, on_error: true } => super::migrate::apply_migrate(st, *vmid, target, volumes),
        _ => {}
    }
}

/// `GET /cluster/nextid [--vmid N]`: the first free vmid from 100, as a string (Perl
/// returns the hash key); a given free `vmid` is echoed, a used one is a parameter error.
fn nextid(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let st = sim.state();
    if let Some(v) = req.param("vmid") {
        let id = check_int("vmid", v, 100)?;
        if st.guests.iter().any(|g| u64::from(g.vmid) == id) {
            return Err(SimError::param("vmid", format!("VM {id} already exists")));
        }
        return Ok(json!(v));
    }
    let mut id = 100;
    while st.guest(id).is_some() {
        id += 1;
    }
    Ok(json!(id.to_string()))
}
