//! Config writes: `PUT /nodes/{node}/{qemu,lxc}/{vmid}/config` (synchronous, `null`),
//! `POST /nodes/{node}/qemu/{vmid}/config` (a `qmconfig` task), with `delete`, `digest`,
//! `revert` and (qemu) `skiplock`; and `GET .../pending`.
//!
//! Semantics of qemu-server `API2/Qemu.pm` `update_vm_api` and pve-container `update_pct_config`:
//! the lock is checked unless `skiplock` (`qm unlock` is `delete=lock` with `skiplock=1`); a
//! `digest` other than the current one is refused before anything changes (pve-common
//! `Tools.pm` `assert_if_modified`: `detected modified configuration - file changed by other
//! user? Try again.`); `no options specified` without changes. The `digest` changes on every
//! write. For a running guest, keys that cannot change live go to the `[PENDING]` section
//! and apply at the next start: for qemu all but qemu-server's `$fast_plug_option` keys
//! (`name`, `description`, `onboot`, `protection`, `tags`, `lock`, ...), the cloud-init keys
//! and the hot-pluggable `net<n>`/disks (default `hotplug` `network,disk,usb`); for lxc all
//! but the options pve-container changes live (`memory`, `swap`, `cores`, `cpulimit`,
//! `cpuunits`, `net<n>`, and the same metadata). `GET .../pending` lists
//! `{key, value?, pending?, delete?}` (a `digest` item included, as
//! `config_with_pending_array` does) sorted by key.

use serde_json::{Map, Value, json};

use super::actions::checked_guest;
use super::core::{Sim, req_kind};
use super::digest::hex_digest;
use super::error::SimError;
use super::read_guest::config_digest;
use super::route::{Request, Route};
use super::seed::MIB;
use super::state::SimGuest;
use super::task_state::Effect;
use super::worker::NewTask;
use crate::backend::api::Method;
use crate::model::GuestKind;

const QEMU_KEYS: &[&str] = &[
    "acpi",
    "affinity",
    "agent",
    "allow-ksm",
    "amd-sev",
    "arch",
    "args",
    "audio0",
    "autostart",
    "balloon",
    "bios",
    "boot",
    "bootdisk",
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
    "delete",
    "description",
    "digest",
    "efidisk0",
    "force",
    "freeze",
    "hookscript",
    "hostpci[n]",
    "hotplug",
    "hugepages",
    "ide[n]",
    "intel-tdx",
    "ipconfig[n]",
    "ivshmem",
    "keephugepages",
    "keyboard",
    "kvm",
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
    "protection",
    "reboot",
    "revert",
    "rng0",
    "sata[n]",
    "scsi[n]",
    "scsihw",
    "searchdomain",
    "serial[n]",
    "shares",
    "skiplock",
    "smbios1",
    "smp",
    "sockets",
    "spice_enhancements",
    "sshkeys",
    "startdate",
    "startup",
    "tablet",
    "tags",
    "tdf",
    "template",
    "tpmstate0",
    "unused[n]",
    "usb[n]",
    "vcpus",
    "vga",
    "virtio[n]",
    "virtiofs[n]",
    "vmgenid",
    "vmstatestorage",
    "watchdog",
];

const QEMU_KEYS_ASYNC: &[&str] = &[
    "acpi",
    "affinity",
    "agent",
    "allow-ksm",
    "amd-sev",
    "arch",
    "args",
    "audio0",
    "autostart",
    "background_delay",
    "balloon",
    "bios",
    "boot",
    "bootdisk",
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
    "delete",
    "description",
    "digest",
    "efidisk0",
    "force",
    "freeze",
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
    "protection",
    "reboot",
    "revert",
    "rng0",
    "sata[n]",
    "scsi[n]",
    "scsihw",
    "searchdomain",
    "serial[n]",
    "shares",
    "skiplock",
    "smbios1",
    "smp",
    "sockets",
    "spice_enhancements",
    "sshkeys",
    "startdate",
    "startup",
    "tablet",
    "tags",
    "tdf",
    "template",
    "tpmstate0",
    "unused[n]",
    "usb[n]",
    "vcpus",
    "vga",
    "virtio[n]",
    "virtiofs[n]",
    "vmgenid",
    "vmstatestorage",
    "watchdog",
];

const LXC_KEYS: &[&str] = &[
    "arch",
    "cmode",
    "console",
    "cores",
    "cpulimit",
    "cpuunits",
    "debug",
    "delete",
    "description",
    "dev[n]",
    "digest",
    "entrypoint",
    "env",
    "features",
    "hookscript",
    "hostname",
    "lock",
    "memory",
    "mp[n]",
    "nameserver",
    "net[n]",
    "onboot",
    "ostype",
    "protection",
    "revert",
    "rootfs",
    "searchdomain",
    "startup",
    "swap",
    "tags",
    "template",
    "timezone",
    "tty",
    "unprivileged",
    "unused[n]",
];

/// The routes of this domain.
pub(crate) const CONFIG_ROUTES: &[Route] = &[
    Route { method: Method::Put, pattern: "/nodes/{node}/{kind=qemu}/{vmid}/config", params: QEMU_KEYS, handler: put },
    Route { method: Method::Post, pattern: "/nodes/{node}/{kind=qemu}/{vmid}/config", params: QEMU_KEYS_ASYNC, handler: post },
    Route { method: Method::Put, pattern: "/nodes/{node}/{kind=lxc}/{vmid}/config", params: LXC_KEYS, handler: put },
    Route { method: Method::Get, pattern: "/nodes/{node}/{kind}/{vmid}/pending", params: &[], handler: pending },
];

/// Parameters that steer the write rather than set a key.
const CONTROL: &[&str] = &["delete", "digest", "revert", "skiplock", "force", "background_delay", "import-working-storage"];

/// Keys qemu-server changes on a running VM at once (`$fast_plug_option`, cloud-init keys,
/// default hotplug of network devices and disks).
fn qemu_live(key: &str) -> bool {
    const FAST: &[&str] = &[
        "description",
        "hookscript",
        "lock",
        "migrate_downtime",
        "migrate_speed",
        "name",
        "onboot",
        "protection",
        "shares",
        "startup",
        "tags",
        "vmstatestorage",
        "cicustom",
        "cipassword",
        "citype",
        "ciupgrade",
        "ciuser",
        "nameserver",
        "searchdomain",
        "sshkeys",
    ];
    FAST.contains(&key) || ["ipconfig", "net", "scsi", "virtio", "sata", "usb"].iter().any(|p| numbered(key, p))
}

/// Keys pve-container changes on a running container at once.
fn lxc_live(key: &str) -> bool {
    const LIVE: &[&str] = &[
        "description",
        "hookscript",
        "lock",
        "onboot",
        "protection",
        "startup",
        "tags",
        "memory",
        "swap",
        "cores",
        "cpulimit",
        "cpuunits",
    ];
    LIVE.contains(&key) || numbered(key, "net")
}

fn numbered(key: &str, prefix: &str) -> bool {
    key.strip_prefix(prefix).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Sets one config key on the guest, the fields kept outside `config` included.
fn set_key(g: &mut SimGuest, key: &str, value: &str) {
    match key {
        "name" | "hostname" => g.name = Some(value.to_owned()),
        "tags" => g.tags = value.split([';', ',', ' ']).filter(|t| !t.is_empty()).map(str::to_owned).collect(),
        "protection" => g.protection = value == "1",
        "lock" => g.lock = Some(value.to_owned()),
        "template" => g.template = value == "1",
        _ => {
            match g.config.iter_mut().find(|(k, _)| k == key) {
                Some(e) => value.clone_into(&mut e.1),
                None => g.config.push((key.to_owned(), value.to_owned())),
            }
            let n: Option<u64> = value.parse().ok();
            match (key, n) {
                ("memory", Some(mb)) => g.maxmem = mb * MIB,
                ("swap", Some(mb)) if g.kind == GuestKind::Lxc => g.maxswap = mb * MIB,
                #[expect(clippy::cast_precision_loss, reason = "a CPU count")]
                ("cores", Some(c)) => g.maxcpu = c as f64 * if g.kind == GuestKind::Qemu { socket_count(g) } else { 1.0 },
                _ => {}
            }
        }
    }
}

fn socket_count(g: &SimGuest) -> f64 {
    g.config_value("sockets").and_then(|s| s.parse().ok()).unwrap_or(1.0)
}

/// Removes one config key.
fn delete_key(g: &mut SimGuest, key: &str) {
    match key {
        "name" | "hostname" => g.name = None,
        "tags" => g.tags.clear(),
        "protection" => g.protection = false,
        "lock" => g.lock = None,
        "template" => g.template = false,
        _ => g.config.retain(|(k, _)| k != key),
    }
}

/// Applies the `[PENDING]` section (at a start).
pub(crate) fn apply_pending(g: &mut SimGuest) {
    for (k, v) in std::mem::take(&mut g.pending) {
        set_key(g, &k, &v);
    }
    for k in std::mem::take(&mut g.pending_delete) {
        delete_key(g, &k);
    }
}

/// A list parameter (`delete`, `revert`): keys separated by `,`, `;` or white space.
fn key_list(v: Option<&str>) -> Vec<String> {
    v.unwrap_or("").split([',', ';', ' ']).filter(|k| !k.is_empty()).map(str::to_owned).collect()
}

/// The write both `PUT` and `POST` do; returns the guest's node and vmid.
fn update(sim: &mut Sim, req: &Request<'_>) -> Result<(String, u32), SimError> {
    let kind = req_kind(req);
    let skiplock = req.bool_param("skiplock")?.unwrap_or(false);
    for b in ["protection", "onboot", "template", "force"] {
        req.bool_param(b)?;
    }
    for (n, min) in [("memory", 16), ("cores", 1), ("sockets", 1), ("swap", 0)] {
        req.int_param(n, min)?;
    }
    let deletes = key_list(req.param("delete"));
    let reverts = key_list(req.param("revert"));
    let sets: Vec<(String, String)> = req.params.iter().filter(|(k, _)| !CONTROL.contains(&k.as_str())).cloned().collect();
    if sets.is_empty() && deletes.is_empty() && reverts.is_empty() {
        return Err(SimError::die("no options specified"));
    }
    let g = checked_guest(sim, req, "", skiplock)?;
    if let Some(d) = req.param("digest")
        && d != config_digest(&g)
    {
        return Err(SimError::die("detected modified configuration - file changed by other user? Try again."));
    }
    let (node, vmid, running) = (g.node.clone(), g.vmid, g.is_running());
    let live = |k: &str| !running || if kind == GuestKind::Qemu { qemu_live(k) } else { lxc_live(k) };
    let st = sim.state_mut();
    let g = st.guest_mut(vmid).expect("checked above");
    for k in &reverts {
        g.pending.retain(|(p, _)| p != k);
        g.pending_delete.retain(|p| p != k);
    }
    for k in &deletes {
        if live(k) {
            delete_key(g, k);
        } else if !g.pending_delete.contains(k) {
            g.pending.retain(|(p, _)| p != k);
            g.pending_delete.push(k.clone());
        }
    }
    for (k, v) in sets {
        let v = if k == "cipassword" { format!("$5${}", hex_digest(v.as_bytes(), 43)) } else { v };
        let v = if ["protection", "onboot", "template"].contains(&k.as_str()) { bool_text(&v) } else { v };
        if live(&k) {
            set_key(g, &k, &v);
        } else {
            g.pending_delete.retain(|p| *p != k);
            match g.pending.iter_mut().find(|(p, _)| *p == k) {
                Some(e) => e.1 = v,
                None => g.pending.push((k, v)),
            }
        }
    }
    g.config_gen += 1;
    Ok((node, vmid))
}

/// `0`/`1` for a boolean given as `yes`, `true`, ...
fn bool_text(v: &str) -> String {
    if matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on") { "1" } else { "0" }.to_owned()
}

/// `PUT .../config`: the change, synchronously; `null`.
fn put(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    update(sim, req)?;
    Ok(Value::Null)
}

/// `POST /nodes/{node}/qemu/{vmid}/config`: the change in a `qmconfig` task (applied when
/// the call returns; the task only reports).
fn post(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    req.int_param("background_delay", 1)?;
    let (node, vmid) = update(sim, req)?;
    sim.start_task(NewTask {
        node,
        task_type: "qmconfig".to_owned(),
        vmid,
        fault_actions: &[],
        log: Vec::new(),
        error: None,
        effect: Effect::None,
        lock: None,
        holds_config_lock: false,
        id: None,
        locked: Vec::new(),
        warnings: 0,
    })
}

/// The item of `key`, added (`{key}`) when missing.
fn entry<'i>(items: &'i mut Vec<(String, Map<String, Value>)>, key: &str) -> &'i mut Map<String, Value> {
    let i = items.iter().position(|(k, _)| k == key).unwrap_or_else(|| {
        let mut m = Map::new();
        m.insert("key".into(), json!(key));
        items.push((key.to_owned(), m));
        items.len() - 1
    });
    &mut items[i].1
}

/// `GET /nodes/{node}/{kind}/{vmid}/pending`.
fn pending(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let g = sim.req_guest(req)?;
    let current = super::read_guest::config_json(g, None)?;
    let mut items: Vec<(String, Map<String, Value>)> = Vec::new();
    for (k, v) in current.as_object().into_iter().flatten().filter(|(_, v)| !v.is_array()) {
        let mut m = Map::new();
        m.insert("key".into(), json!(k));
        m.insert("value".into(), if k == "cipassword" { json!("**********") } else { v.clone() });
        items.push((k.clone(), m));
    }
    for (k, v) in &g.pending {
        let value = if k == "cipassword" { json!("********** ") } else { json!(v) };
        entry(&mut items, k).insert("pending".into(), value);
    }
    for k in &g.pending_delete {
        entry(&mut items, k).insert("delete".into(), json!(1));
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Value::Array(items.into_iter().map(|(_, m)| Value::Object(m)).collect()))
}

/// `qm unlock <vmid>` / `pct unlock <vmid>`: qm.pm/pct.pm remove the `lock` from the config
/// file directly (under the config lock), no API call and no lock check.
///
/// # Errors
/// `Configuration file '...' does not exist` for a guest not on `node`.
pub(crate) fn unlock(sim: &mut Sim, kind: GuestKind, node: &str, vmid: &str) -> Result<(), SimError> {
    let id: Option<u32> = vmid.parse().ok();
    let found = id.and_then(|v| sim.state().guest(v)).is_some_and(|g| g.node == node && g.kind == kind);
    if !found {
        return Err(SimError::no_config(kind, node, vmid));
    }
    if let Some(g) = id.and_then(|v| sim.state_mut().guest_mut(v)) {
        g.lock = None;
        g.config_gen += 1;
    }
    Ok(())
}
