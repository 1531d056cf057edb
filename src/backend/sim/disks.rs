//! Disk changes: resize (`PUT .../resize`, a `resize` task since PVE 8.0), qemu `move_disk`
//! (`qmmove`) and lxc `move_volume`.
//!
//! Sources: qemu-server `API2/Qemu.pm` `resize_vm` (`size` pattern `\+?\d+(\.\d+)?[KMGT]?`;
//! in the worker: `disk '<d>' does not exist`, `you can't resize a cdrom`, `shrinking disks
//! is not supported`, same size a silent no-op; `checksum mismatch (file change by other
//! user?)` for a stale `digest`) and `move_vm_disk` (`you can't move a cdrom`, `you can't
//! move to the same storage with same format`; the log of samples/qm-disk-move-log: `create
//! full clone of drive <d> (<volid>)`, mirror job `mirror-<d>` lines of a running VM,
//! `transferred … (P%)` of a stopped one); pve-container `API2/LXC.pm` `resize_vm` (`unable to
//! shrink disk size`, `disk is already at specified size`) and `move_volume` (`cannot move
//! volumes of a running container`). `Image resized.` is qemu-img's line for a stopped VM's
//! file image (samples/qm-disk-resize).

use serde_json::Value;

use super::actions::checked_guest;
use super::backups::{is_disk_key, parse_size};
use super::core::{Sim, req_kind};
use super::error::SimError;
use super::route::{Request, Route};
use super::state::{SimGuest, SimState};
use super::task_state::Effect;
use super::worker::NewTask;
use crate::backend::api::Method;
use crate::model::GuestKind;

/// The disk routes.
pub(crate) const DISK_ROUTES: &[Route] = &[
    Route {
        method: Method::Put,
        pattern: "/nodes/{node}/{kind=qemu}/{vmid}/resize",
        params: &["digest", "disk", "size", "skiplock"],
        handler: resize,
    },
    Route { method: Method::Put, pattern: "/nodes/{node}/{kind=lxc}/{vmid}/resize", params: &["digest", "disk", "size"], handler: resize },
    Route {
        method: Method::Post,
        pattern: "/nodes/{node}/{kind=qemu}/{vmid}/move_disk",
        params: &["bwlimit", "delete", "digest", "disk", "format", "storage", "target-digest", "target-disk", "target-vmid"],
        handler: move_disk,
    },
    Route {
        method: Method::Post,
        pattern: "/nodes/{node}/{kind=lxc}/{vmid}/move_volume",
        params: &["bwlimit", "delete", "digest", "storage", "target-digest", "target-vmid", "target-volume", "volume"],
        handler: move_disk,
    },
];

/// `[+]N[.N][KMGT]` → `(grow, bytes)`; `None` when it does not match PVE's pattern.
fn parse_request(size: &str) -> Option<(bool, u64)> {
    let (grow, rest) = size.strip_prefix('+').map_or((false, size), |r| (true, r));
    let (num, mul) = match rest.chars().last()? {
        'K' => (&rest[..rest.len() - 1], 1_u64 << 10),
        'M' => (&rest[..rest.len() - 1], 1 << 20),
        'G' => (&rest[..rest.len() - 1], 1 << 30),
        'T' => (&rest[..rest.len() - 1], 1 << 40),
        _ => (rest, 1),
    };
    let (int, frac) = num.split_once('.').map_or((num, None), |(i, f)| (i, Some(f)));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || frac.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let value: f64 = num.parse().ok()?;
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss, reason = "sizes well below 2^53")]
    Some((grow, (value * mul as f64) as u64))
}

/// A size as qemu-server writes it into `size=` (`format_size`: the largest exact unit).
fn format_size(bytes: u64) -> String {
    for (unit, m) in [("T", 1_u64 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)] {
        if bytes.is_multiple_of(m) && bytes >= m {
            return format!("{}{unit}", bytes / m);
        }
    }
    bytes.to_string()
}

fn size_of(value: &str) -> u64 {
    value.split(',').find_map(|p| p.strip_prefix("size=")).map_or(0, parse_size)
}

/// `value` with its `size=` set to `size`.
fn with_size(value: &str, size: &str) -> String {
    let mut parts: Vec<String> = value.split(',').filter(|p| !p.starts_with("size=")).map(str::to_owned).collect();
    parts.push(format!("size={size}"));
    parts.join(",")
}

/// Compares the config digest, as `PUT .../config` does.
fn check_digest(req: &Request<'_>, g: &SimGuest) -> Result<(), SimError> {
    if let Some(d) = req.param("digest")
        && d != super::read_guest::config_digest(g)
    {
        return Err(SimError::die("checksum mismatch (file change by other user?)"));
    }
    Ok(())
}

fn task(
    node: String,
    task_type: &str,
    vmid: u32,
    log: Vec<String>,
    error: Option<String>,
    effect: Effect,
    fault: &'static [&'static str],
) -> NewTask {
    NewTask {
        node,
        task_type: task_type.to_owned(),
        vmid,
        fault_actions: fault,
        log,
        error,
        effect,
        lock: None,
        holds_config_lock: true,
        id: None,
        locked: Vec::new(),
        warnings: 0,
    }
}

/// `PUT /nodes/{node}/{qemu,lxc}/{vmid}/resize`.
fn resize(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let kind = req_kind(req);
    let disk = req.param("disk").ok_or_else(|| SimError::param("disk", "property is missing and it is not optional"))?.to_owned();
    let size = req.param("size").ok_or_else(|| SimError::param("size", "property is missing and it is not optional"))?;
    let Some((grow, amount)) = parse_request(size) else {
        return Err(SimError::param("size", "value does not match the regex pattern"));
    };
    let skiplock = req.bool_param("skiplock")?.unwrap_or(false);
    let g = checked_guest(sim, req, "VM.Config.Disk", skiplock)?;
    check_digest(req, &g)?;
    let qemu = kind == GuestKind::Qemu;
    let (mut log, mut error, mut effect) = (Vec::new(), None, Effect::None);
    match g.config_value(&disk).filter(|_| is_disk_key(&disk)) {
        None => error = Some(format!("disk '{disk}' does not exist")),
        Some(v) if qemu && v.contains("media=cdrom") => error = Some("you can't resize a cdrom".to_owned()),
        Some(v) => {
            let old = size_of(v);
            let new = if grow { old + amount } else { amount };
            #[expect(clippy::comparison_chain, reason = "the worker's order of checks")]
            if new < old {
                error = Some(if qemu { "shrinking disks is not supported" } else { "unable to shrink disk size" }.to_owned());
            } else if new == old {
                if !qemu {
                    error = Some("disk is already at specified size".to_owned());
                }
            } else {
                if qemu && !g.is_running() && (v.contains(".qcow2") || v.contains(".raw")) {
                    log.push("Image resized.".to_owned());
                }
                effect = Effect::DiskChange { vmid: g.vmid, disk: disk.clone(), value: with_size(v, &format_size(new)), unused: None };
            }
        }
    }
    sim.start_task(task(g.node.clone(), "resize", g.vmid, log, error, effect, &["resize"]))
}

/// A human size as qemu-server's `render_bytes` prints it (`32.0 GiB`).
fn render(bytes: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "a size for display")]
    let mut v = bytes as f64;
    for unit in ["B", "KiB", "MiB", "GiB", "TiB"] {
        if v < 1024.0 || unit == "TiB" {
            return format!("{v:.1} {unit}");
        }
        v /= 1024.0;
    }
    unreachable!("the loop returns at TiB")
}

/// The next free disk number of `vmid` over every config value.
fn next_disk_number(g: &SimGuest) -> u32 {
    let prefix = format!("vm-{}-disk-", g.vmid);
    g.config
        .iter()
        .filter_map(|(_, v)| {
            v.split_once(&prefix).and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse::<u32>().ok())
        })
        .max()
        .map_or(0, |n| n + 1)
}

/// `POST .../qemu/{vmid}/move_disk` and `.../lxc/{vmid}/move_volume`.
fn move_disk(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let qemu = req_kind(req) == GuestKind::Qemu;
    let key_param = if qemu { "disk" } else { "volume" };
    let disk = req.param(key_param).ok_or_else(|| SimError::param(key_param, "property is missing and it is not optional"))?.to_owned();
    let storage = req.param("storage").ok_or_else(|| SimError::param("storage", "property is missing and it is not optional"))?.to_owned();
    let delete = req.bool_param("delete")?.unwrap_or(false);
    let g = checked_guest(sim, req, "VM.Config.Disk", false)?;
    check_digest(req, &g)?;
    sim.check_perm(&format!("/storage/{storage}"), "Datastore.AllocateSpace")?;
    let st = sim.state();
    let target =
        st.storages.iter().find(|s| s.id == storage).ok_or_else(|| SimError::die(format!("storage '{storage}' does not exist")))?;
    if !qemu && g.is_running() {
        return Err(SimError::die("cannot move volumes of a running container"));
    }
    let value =
        g.config_value(&disk).filter(|_| is_disk_key(&disk)).ok_or_else(|| SimError::die(format!("disk '{disk}' does not exist")))?;
    if value.contains("media=cdrom") {
        return Err(SimError::die("you can't move a cdrom"));
    }
    let volid = value.split(',').next().unwrap_or("").to_owned();
    let old_fmt = volid.rsplit_once('.').map_or("raw", |(_, f)| f).to_owned();
    let file_based = matches!(target.plugintype.as_str(), "dir" | "nfs" | "cifs" | "glusterfs" | "btrfs");
    let fmt = req.param("format").map_or_else(|| if file_based { old_fmt.clone() } else { "raw".to_owned() }, str::to_owned);
    if volid.split_once(':').map(|(s, _)| s) == Some(storage.as_str()) && fmt == old_fmt {
        return Err(SimError::die("you can't move to the same storage with same format"));
    }
    let n = next_disk_number(&g);
    let new_volid =
        if file_based { format!("{storage}:{}/vm-{}-disk-{n}.{fmt}", g.vmid, g.vmid) } else { format!("{storage}:vm-{}-disk-{n}", g.vmid) };
    let size = size_of(value);
    let mut log = vec![format!("create full clone of drive {disk} ({volid})")];
    if qemu && g.is_running() {
        let job = format!("mirror-{disk}");
        log.push(format!("{job}: transferred 0.0 B of {} (0.00%) in 0s", render(size)));
        log.push(format!("{job}: transferred {0} of {0} (100.00%) in 1s, ready", render(size)));
        log.push("all 'mirror' jobs are ready".to_owned());
        log.push(format!("{job}: Completing block job..."));
        log.push(format!("{job}: Completed successfully."));
        log.push(format!("{job}: mirror-job finished"));
    } else {
        log.push(format!("transferred 0.0 B of {} (0.00%)", render(size)));
        log.push(format!("transferred {0} of {0} (100.00%)", render(size)));
    }
    let new_value = value.replacen(&volid, &new_volid, 1);
    let effect = Effect::DiskChange { vmid: g.vmid, disk, value: new_value, unused: (!delete).then_some(volid) };
    let task_type = if qemu { "qmmove" } else { "move_volume" };
    sim.start_task(task(g.node.clone(), task_type, g.vmid, log, None, effect, &["move"]))
}

/// Applies a [`Effect::DiskChange`]: the new value, the old volume as the next `unusedN`.
pub(crate) fn apply_disk_change(st: &mut SimState, vmid: u32, disk: &str, value: String, unused: Option<String>) {
    let Some(g) = st.guest_mut(vmid) else { return };
    let new_size = size_of(&value);
    if let Some(e) = g.config.iter_mut().find(|(k, _)| k == disk) {
        e.1 = value;
    }
    if let Some(old) = unused {
        let n = (0..256).find(|i| g.config_value(&format!("unused{i}")).is_none()).unwrap_or(0);
        g.config.push((format!("unused{n}"), old));
    }
    let boot = if g.kind == GuestKind::Lxc { disk == "rootfs" } else { g.config_value("boot").is_some_and(|b| b.contains(disk)) };
    if boot && new_size > 0 {
        g.maxdisk = new_size;
    }
    g.config_gen += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_pve_takes_and_writes_them() {
        assert_eq!(parse_request("+2G"), Some((true, 2 << 30)));
        assert_eq!(parse_request("40G"), Some((false, 40 << 30)));
        assert_eq!(parse_request("1.5G"), Some((false, 3 << 29)));
        assert_eq!(parse_request(" 2G"), None, "a form-decoded raw '+' is a space");
        assert_eq!(parse_request("2X"), None);
        assert_eq!(format_size(34 << 30), "34G");
        assert_eq!(format_size(1536 << 20), "1536M");
        assert_eq!(render(32 << 30), "32.0 GiB");
    }
}
