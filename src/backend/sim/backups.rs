//! Backups: `POST /nodes/{node}/vzdump`, storage content (`GET .../storage/{storage}/content`,
//! `GET`/`DELETE .../content/{volume}`), restore (the `archive` / `restore=1` form of
//! `POST /nodes/{node}/{qemu,lxc}`, dispatched here by `provision.rs`), backup jobs
//! (`GET /cluster/backup`) and `GET /cluster/backup-info/not-backed-up`.
//!
//! Texts: pve-manager `PVE/VZDump.pm` (job and per-guest lines, `job errors`),
//! `PVE/API2/VZDump.pm` (`OK` when no listed guest is local; UPID id the vmid of a single
//! guest, empty otherwise), pve-storage `API2/Storage/Content.pm` (listing, `imgdel`,
//! `Removed volume '<volid>'`), `Storage/Plugin.pm` (`cannot remove protected volume
//! '<volname>' on '<storage>'`, `disk image '<path>' does not exist`), qemu-server
//! `API2/Qemu.pm` / `QemuServer.pm` and pve-container `API2/LXC.pm` (restore).
//! A volume path takes the rest of the URL (`{volume*}`, pve-storage's
//! `fragmentDelimiter => ''`), so a volid's `/` needs no encoding.
//!
//! A guest backed up holds `lock: backup` for the whole task (PVE takes it per guest in
//! turn); an archive with the volid of an existing one (same guest, same second) replaces it.

use serde_json::{Map, Value, json};

use super::actions::word;
use super::core::{Sim, flag};
use super::error::SimError;
use super::route::{Request, Route, check_int};
use super::state::{SimGuest, SimState, SimStorage, SimVolume};
use super::task_state::{Effect, NewBackup, PowerTo};
use super::text::utc_timestamp;
use super::worker::{NewTask, now_ms, set_power};
use crate::backend::api::Method;
use crate::model::GuestKind;

const VZDUMP_PARAMS: &[&str] = &[
    "all",
    "bwlimit",
    "compress",
    "dumpdir",
    "exclude",
    "exclude-path",
    "fleecing",
    "ionice",
    "job-id",
    "lockwait",
    "mailnotification",
    "mailto",
    "maxfiles",
    "mode",
    "node",
    "notes-template",
    "notification-mode",
    "pbs-change-detection-mode",
    "performance",
    "pigz",
    "pool",
    "protected",
    "prune-backups",
    "quiet",
    "remove",
    "script",
    "stdexcludes",
    "stdout",
    "stop",
    "stopwait",
    "storage",
    "tmpdir",
    "vmid",
    "zstd",
];

/// The routes of this domain.
pub(crate) const BACKUP_ROUTES: &[Route] = &[
    Route { method: Method::Post, pattern: "/nodes/{node}/vzdump", params: VZDUMP_PARAMS, handler: vzdump },
    Route { method: Method::Get, pattern: "/nodes/{node}/storage/{storage}/content", params: &["content", "vmid"], handler: content },
    Route { method: Method::Get, pattern: "/nodes/{node}/storage/{storage}/content/{volume*}", params: &[], handler: volume_info },
    Route {
        method: Method::Put,
        pattern: "/nodes/{node}/storage/{storage}/content/{volume*}",
        params: &["notes", "protected"],
        handler: volume_update,
    },
    Route {
        method: Method::Delete,
        pattern: "/nodes/{node}/storage/{storage}/content/{volume*}",
        params: &["delay"],
        handler: volume_delete,
    },
    Route { method: Method::Get, pattern: "/cluster/backup", params: &[], handler: jobs },
    Route { method: Method::Get, pattern: "/cluster/backup-info/not-backed-up", params: &[], handler: not_backed_up },
];

/// The storage `id` as configured on `node` (`storage '<id>' does not exist`).
fn storage_on<'s>(st: &'s SimState, id: &str, node: &str) -> Result<&'s SimStorage, SimError> {
    let s = st.storages.iter().find(|s| s.id == id).ok_or_else(|| SimError::die(format!("storage '{id}' does not exist")))?;
    if !s.on_node(node) {
        return Err(SimError::die(format!("storage '{id}' is not available on node '{node}'")));
    }
    Ok(s)
}

/// Where a storage keeps files: `<path>` of a `dir` storage, `/mnt/pve/<id>` otherwise.
pub(crate) fn storage_root(s: &SimStorage) -> String {
    match s.options.iter().find(|(k, _)| k == "path") {
        Some((_, p)) if s.plugintype == "dir" => p.clone(),
        _ => format!("/mnt/pve/{}", s.id),
    }
}

/// Whether volume `v` is seen from `node` (a non-shared storage's copy lives on one node).
fn visible(v: &SimVolume, node: &str) -> bool {
    v.node.as_deref().is_none_or(|n| n == node)
}

/// pve-common `format_size` as vzdump prints the archive size: `341MB`, `18.64GB`.
fn format_size(bytes: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "a size for display")]
    let b = bytes as f64;
    let (kb, mb) = (b / 1024.0, b / 1_048_576.0);
    if kb < 1024.0 {
        format!("{}KB", kb.trunc())
    } else if mb < 1024.0 {
        format!("{}MB", mb.trunc())
    } else if mb / 1024.0 < 1024.0 {
        format!("{:.2}GB", mb / 1024.0)
    } else {
        format!("{:.2}TB", mb / 1_048_576.0)
    }
}

/// Quotes a value of the `starting new backup job` line as Perl's `shellquote` does.
fn shell_quote(v: &str) -> String {
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.,:/@+=".contains(&b)) {
        v.to_owned()
    } else {
        format!("'{}'", v.replace('\'', "'\\''"))
    }
}

/// `{{vmid}}`, `{{guestname}}`, `{{node}}`, `{{cluster}}` expanded, `\n` a newline.
fn expand_notes(template: &str, g: &SimGuest, cluster: &str) -> String {
    template
        .replace("{{vmid}}", &g.vmid.to_string())
        .replace("{{guestname}}", &g.display_name())
        .replace("{{node}}", &g.node)
        .replace("{{cluster}}", cluster)
        .replace("\\n", "\n")
}

/// The disks of a qemu config: `(key, volid, size text)`, cdroms left out.
pub(crate) fn qemu_disks(g: &SimGuest) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = g
        .config
        .iter()
        .filter(|(k, v)| is_disk_key(k) && !v.contains("media=cdrom"))
        .map(|(k, v)| {
            let volid = v.split(',').next().unwrap_or("").to_owned();
            let size = v.split(',').find_map(|p| p.strip_prefix("size=")).unwrap_or("").to_owned();
            (k.clone(), volid, size)
        })
        .collect();
    out.sort();
    out
}

/// `scsi0`, `virtio1`, `sata0`, `ide2`, `efidisk0`, `tpmstate0`, `rootfs`, `mp0`.
pub(crate) fn is_disk_key(k: &str) -> bool {
    ["scsi", "virtio", "sata", "ide", "efidisk", "tpmstate", "mp"]
        .iter()
        .any(|p| k.strip_prefix(p).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())))
        || k == "rootfs"
}

/// `32G` → bytes (`K`, `M`, `G`, `T` suffixes; a bare number is bytes).
pub(crate) fn parse_size(s: &str) -> u64 {
    let (num, mul) = match s.chars().last() {
        Some('K') => (&s[..s.len() - 1], 1 << 10),
        Some('M') => (&s[..s.len() - 1], 1 << 20),
        Some('G') => (&s[..s.len() - 1], 1 << 30),
        Some('T') => (&s[..s.len() - 1], 1_u64 << 40),
        _ => (s, 1),
    };
    num.parse::<u64>().map_or(0, |n| n * mul)
}

/// `POST /nodes/{node}/vzdump`: one `vzdump` task for the listed guests on `{node}`.
#[expect(clippy::too_many_lines, reason = "one job log read top to bottom, as VZDump.pm writes it")]
fn vzdump(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let node = req.var("node").to_owned();
    let all = req.bool_param("all")?.unwrap_or(false);
    let protected = req.bool_param("protected")?.unwrap_or(false);
    for b in ["remove", "stop", "stdexcludes", "quiet", "stdout"] {
        req.bool_param(b)?;
    }
    let mode = req.param("mode").unwrap_or("snapshot");
    if !["snapshot", "suspend", "stop"].contains(&mode) {
        return Err(SimError::param("mode", format!("value '{mode}' does not have a value in the enumeration 'snapshot, suspend, stop'")));
    }
    let compress = req.param("compress").unwrap_or("0");
    let ext = match compress {
        "0" => "",
        "1" | "lzo" => ".lzo",
        "gzip" => ".gz",
        "zstd" => ".zst",
        other => {
            return Err(SimError::param(
                "compress",
                format!("value '{other}' does not have a value in the enumeration '0, 1, gzip, lzo, zstd'"),
            ));
        }
    };
    let list = match (all, req.param("vmid")) {
        (true, Some(_)) => return Err(SimError::param("all", "option conflicts with option 'vmid'")),
        (false, None) => return Err(SimError::param("vmid", "property is missing and it is not optional")),
        (true, None) => None,
        (false, Some(v)) => {
            let ids: Result<Vec<u32>, SimError> = v
                .split([',', ' ', ';'])
                .filter(|s| !s.is_empty())
                .map(|s| check_int("vmid", s, 100).map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
                .collect();
            Some(ids?)
        }
    };
    if req.param("node").is_some_and(|n| n != node) {
        return Ok(json!("OK"));
    }
    let storage_id = req.param("storage").unwrap_or("local").to_owned();
    let st = sim.state();
    let storage = storage_on(st, &storage_id, &node)?.clone();
    if !storage.content.iter().any(|c| c == "backup") {
        return Err(SimError::die(format!("storage '{storage_id}' does not support vzdump backups")));
    }
    let guests: Vec<SimGuest> =
        st.guests.iter().filter(|g| g.node == node && list.as_ref().is_none_or(|l| l.contains(&g.vmid))).cloned().collect();
    if guests.is_empty() {
        return Ok(json!("OK"));
    }
    for g in &guests {
        sim.check_perm(&format!("/vms/{}", g.vmid), "VM.Backup")?;
    }
    sim.check_perm(&format!("/storage/{storage_id}"), "Datastore.AllocateSpace")?;
    let mut args: Vec<String> = match &list {
        Some(l) => l.iter().map(ToString::to_string).collect(),
        None => vec!["--all 1".to_owned()],
    };
    for (k, v) in req.params.iter().filter(|(k, _)| k != "vmid" && k != "all") {
        args.push(format!("--{k} {}", shell_quote(v)));
    }
    let now = now_ms() / 1000;
    let stamp = utc_timestamp(now);
    let file_stamp = stamp.replace('-', "_").replace(' ', "-").replace(':', "_");
    let cluster = st.cluster_name.clone();
    let mut log = vec![format!("INFO: starting new backup job: vzdump {}", args.join(" "))];
    let (mut backups, mut locked, mut failed, mut warnings) = (Vec::new(), Vec::new(), 0, 0);
    let root = storage_root(&storage);
    for g in &guests {
        let (vmid, kind) = (g.vmid, g.kind);
        log.push(format!("INFO: Starting Backup of VM {vmid} ({kind})"));
        log.push(format!("INFO: Backup started at {stamp}"));
        let fault = sim.state_mut().faults.take_task_fault(vmid, &["vzdump"]);
        let err = match (&g.lock, fault) {
            (Some(l), _) => Some(format!("{} is locked ({l})", word(kind))),
            (None, Some(super::faults::FaultOutcome::Fail { message })) => Some(message),
            (None, Some(super::faults::FaultOutcome::Warn { count, message })) => {
                let text = message.unwrap_or_else(|| "injected warning".to_owned());
                log.extend((0..count).map(|_| format!("WARN: {text}")));
                warnings += count;
                None
            }
            _ => None,
        };
        if let Some(e) = err {
            log.push(format!("ERROR: Backup of VM {vmid} failed - {e}"));
            log.push(format!("INFO: Failed at {stamp}"));
            failed += 1;
            continue;
        }
        log.push(format!("INFO: status = {}", g.status));
        let (archive, size) = match kind {
            GuestKind::Qemu => {
                log.push(format!("INFO: VM Name: {}", g.display_name()));
                let disks = qemu_disks(g);
                for (key, volid, size) in &disks {
                    log.push(format!("INFO: include disk '{key}' '{volid}' {size}"));
                }
                ("vma", disks.iter().map(|d| parse_size(&d.2)).sum::<u64>() / 9 + 4096)
            }
            GuestKind::Lxc => {
                log.push(format!("INFO: CT Name: {}", g.display_name()));
                log.push("INFO: including mount point rootfs ('/') in backup".to_owned());
                ("tar", g.maxdisk / 7 + 10_240)
            }
        };
        log.push(format!("INFO: backup mode: {mode}"));
        log.push("INFO: ionice priority: 7".to_owned());
        let file = format!("vzdump-{kind}-{vmid}-{file_stamp}.{archive}{ext}");
        log.push(format!("INFO: creating vzdump archive '{root}/dump/{file}'"));
        log.push(format!("INFO: archive file size: {}", format_size(size)));
        let notes = req.param("notes-template").map(|t| expand_notes(t, g, &cluster)).filter(|n| !n.is_empty());
        if notes.is_some() {
            log.push("INFO: adding notes to backup".to_owned());
        }
        log.push(format!("INFO: Finished Backup of VM {vmid} (00:00:01)"));
        log.push(format!("INFO: Backup finished at {stamp}"));
        locked.push(vmid);
        backups.push(NewBackup {
            vmid,
            volid: format!("{storage_id}:backup/{file}"),
            format: format!("{archive}{ext}"),
            size,
            ctime: now,
            notes,
            protected,
            node: (!storage.shared).then(|| node.clone()),
        });
    }
    log.push(format!("INFO: Backup job finished {}", if failed > 0 { "with errors" } else { "successfully" }));
    log.push("INFO: notified via target `mail-to-root`".to_owned());
    let single = guests.len() == 1;
    sim.start_task(NewTask {
        node,
        task_type: "vzdump".to_owned(),
        vmid: guests[0].vmid,
        fault_actions: &[],
        log,
        error: (failed > 0).then(|| "job errors".to_owned()),
        effect: Effect::Vzdump { backups },
        lock: Some("backup".to_owned()),
        holds_config_lock: false,
        id: Some(if single { guests[0].vmid.to_string() } else { String::new() }),
        locked,
        warnings,
    })
}

/// The archives of a backup task join the content, each with its guest's config.
pub(crate) fn apply_vzdump(st: &mut SimState, backups: Vec<NewBackup>) {
    for b in backups {
        let guest = st.guest(b.vmid).map(|g| {
            let mut g = g.clone();
            g.snapshots.clear();
            g.parent = None;
            g.lock = None;
            g.pending.clear();
            g.pending_delete.clear();
            set_power(&mut g, PowerTo::Stopped);
            Box::new(g)
        });
        let subtype = guest.as_ref().map(|g| g.kind.as_str().to_owned());
        st.volumes.retain(|v| v.volid != b.volid || v.node != b.node);
        st.volumes.push(SimVolume {
            volid: b.volid,
            content: "backup".to_owned(),
            format: b.format,
            size: b.size,
            ctime: b.ctime,
            vmid: Some(b.vmid),
            subtype,
            notes: b.notes,
            protected: b.protected,
            node: b.node,
            guest,
        });
    }
    st.volumes.sort_by_key(|a| a.volid.to_lowercase());
}

/// A content item as `GET .../content` lists it (optional keys absent when unset).
fn content_item(v: &SimVolume) -> Value {
    let mut m = Map::new();
    m.insert("volid".into(), json!(v.volid));
    m.insert("content".into(), json!(v.content));
    m.insert("format".into(), json!(v.format));
    m.insert("size".into(), json!(v.size));
    m.insert("ctime".into(), json!(v.ctime));
    if let Some(id) = v.vmid {
        m.insert("vmid".into(), json!(id));
    }
    if let Some(s) = &v.subtype {
        m.insert("subtype".into(), json!(s));
    }
    if let Some(n) = v.notes.as_deref().and_then(|n| n.lines().next()) {
        m.insert("notes".into(), json!(n));
    }
    if v.protected {
        m.insert("protected".into(), flag(true));
    }
    Value::Object(m)
}

/// `GET /nodes/{node}/storage/{storage}/content [--content c] [--vmid n]`, sorted by volid.
fn content(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let node = req.var("node");
    let vmid = req.int_param("vmid", 100)?;
    let want = req.param("content");
    let st = sim.state();
    let s = storage_on(st, req.var("storage"), node)?;
    let disks = guest_volumes(st, &s.id, node);
    let mut list: Vec<&SimVolume> = st.volumes.iter().filter(|v| v.storage() == s.id && visible(v, node)).chain(disks.iter()).collect();
    list.retain(|v| want.is_none_or(|c| c == v.content) && vmid.is_none_or(|id| v.vmid.map(u64::from) == Some(id)));
    list.sort_by_key(|v| v.volid.to_lowercase());
    Ok(Value::Array(list.into_iter().map(content_item).collect()))
}

/// The guests' disks on `storage` as content items (pve-storage lists `images` for qemu and
/// `rootdir` for lxc volumes, owned by the guest's vmid): every drive whose value starts with
/// `<storage>:`, its `size=` in bytes, its format from the file name (`raw` for a subvolume or
/// a block device). A shared storage shows every guest's disks; a local one only its node's.
fn guest_volumes(st: &super::state::SimState, storage: &str, node: &str) -> Vec<SimVolume> {
    let shared = st.storages.iter().any(|s| s.id == storage && s.shared);
    let mut out = Vec::new();
    for g in st.guests.iter().filter(|g| shared || g.node == node) {
        for (key, value) in &g.config {
            let disk_key =
                ["scsi", "virtio", "sata", "ide", "efidisk", "tpmstate", "mp"].iter().any(|p| key.starts_with(p)) || key == "rootfs";
            let Some(rest) = value.strip_prefix(&format!("{storage}:")) else { continue };
            if !disk_key || value.contains("media=cdrom") {
                continue;
            }
            let volname = rest.split(',').next().unwrap_or_default();
            let size = value.split(',').find_map(|o| o.strip_prefix("size=")).map_or(0, pve_size);
            let format = volname.rsplit_once('.').map_or("raw", |(_, ext)| if ext == "qcow2" || ext == "vmdk" { ext } else { "raw" });
            out.push(SimVolume {
                volid: format!("{storage}:{volname}"),
                content: if g.kind == crate::model::GuestKind::Lxc { "rootdir" } else { "images" }.into(),
                format: format.into(),
                size,
                ctime: 0,
                vmid: Some(g.vmid),
                ..SimVolume::default()
            });
        }
    }
    out
}

/// A size as PVE writes it in a drive string (`32G`, `754M`, `8192K`, bytes without a unit).
fn pve_size(text: &str) -> u64 {
    let (num, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len()));
    let power = match unit {
        "K" => 1,
        "M" => 2,
        "G" => 3,
        "T" => 4,
        _ => 0,
    };
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "sizes are small positive numbers")]
    let bytes = (num.parse::<f64>().unwrap_or(0.0) * 1024f64.powi(power)) as u64;
    bytes
}

/// The volid a `{volume}` names on `{storage}` (pve-storage `$real_volume_id`): a full volid
/// (its storage must be `{storage}`) or a volume name.
fn real_volid(storage: &str, volume: &str) -> Result<String, SimError> {
    match volume.split_once(':') {
        Some((sid, _)) if sid != storage => Err(SimError::param("volume", format!("storage ID mismatch ({sid} != {storage})"))),
        Some(_) => Ok(volume.to_owned()),
        None => Ok(format!("{storage}:{volume}")),
    }
}

/// `GET /nodes/{node}/storage/{storage}/content/{volume}`: `{path, size, used, format, notes?, protected?}`.
fn volume_info(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let node = req.var("node");
    let volid = real_volid(req.var("storage"), req.var("volume"))?;
    let st = sim.state();
    let s = storage_on(st, req.var("storage"), node)?;
    let v = st
        .volumes
        .iter()
        .find(|v| v.volid == volid && visible(v, node))
        .ok_or_else(|| SimError::die(format!("volume_size_info on '{volid}' failed - no format")))?;
    let dir = if v.content == "vztmpl" { "template/cache" } else { "dump" };
    let file = v.volname().rsplit('/').next().unwrap_or("");
    let mut m = Map::new();
    m.insert("path".into(), json!(format!("{}/{dir}/{file}", storage_root(s))));
    m.insert("size".into(), json!(v.size));
    m.insert("used".into(), json!(v.size));
    m.insert("format".into(), json!(v.format));
    if let Some(n) = &v.notes {
        m.insert("notes".into(), json!(n));
    }
    m.insert("protected".into(), flag(v.protected));
    Ok(Value::Object(m))
}

/// `PUT /nodes/{node}/storage/{storage}/content/{volume}` (pve-storage `updateattributes`):
/// sets a backup's `notes` and `protected` flag, answers `null`. Access as for deleting it
/// (`check_volume_access`: `Datastore.AllocateSpace` on the storage and `VM.Backup` on its
/// guest). Only backups carry these attributes; the refusal for another volume
/// (`only backups support attribute '<a>'`) is not taken from PVE (no source text found in
/// time), nor is a missing volume failing as its size read does.
fn volume_update(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let node = req.var("node").to_owned();
    let storage_id = req.var("storage").to_owned();
    let volid = real_volid(&storage_id, req.var("volume"))?;
    let protected = req.bool_param("protected")?;
    let notes = req.param("notes").map(str::to_owned);
    let st = sim.state();
    storage_on(st, &storage_id, &node)?;
    let v = st
        .volumes
        .iter()
        .find(|v| v.volid == volid && visible(v, &node))
        .cloned()
        .ok_or_else(|| SimError::die(format!("volume_size_info on '{volid}' failed - no format")))?;
    sim.check_perm(&format!("/storage/{storage_id}"), "Datastore.AllocateSpace")?;
    if let Some(id) = v.vmid {
        sim.check_perm(&format!("/vms/{id}"), "VM.Backup")?;
    }
    if v.content != "backup" {
        let attr = if notes.is_some() { "notes" } else { "protected" };
        return Err(SimError::die(format!("only backups support attribute '{attr}'")));
    }
    let st = sim.state_mut();
    for x in st.volumes.iter_mut().filter(|x| x.volid == volid && visible(x, &node)) {
        if let Some(p) = protected {
            x.protected = p;
        }
        if let Some(n) = &notes {
            x.notes = (!n.is_empty()).then(|| n.clone());
        }
    }
    Ok(Value::Null)
}

/// `DELETE /nodes/{node}/storage/{storage}/content/{volume}`: an `imgdel` task
/// (`<vmid>@<storage>` for a guest's volume).
fn volume_delete(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let node = req.var("node").to_owned();
    req.int_param("delay", 1)?;
    let storage_id = req.var("storage").to_owned();
    let volid = real_volid(&storage_id, req.var("volume"))?;
    let st = sim.state();
    let s = storage_on(st, &storage_id, &node)?.clone();
    let found = st.volumes.iter().find(|v| v.volid == volid && visible(v, &node)).cloned();
    let owner = found.as_ref().and_then(|v| v.vmid).or_else(|| owner_of(&volid));
    let backup = volid.split_once(':').is_some_and(|(_, n)| n.starts_with("backup/"));
    match owner.filter(|_| backup) {
        Some(id) => {
            sim.check_perm(&format!("/storage/{storage_id}"), "Datastore.AllocateSpace")?;
            sim.check_perm(&format!("/vms/{id}"), "VM.Backup")?;
        }
        None => sim.check_perm(&format!("/storage/{storage_id}"), "Datastore.Allocate")?,
    }
    let volname = volid.split_once(':').map_or("", |(_, n)| n).to_owned();
    let mut log = Vec::new();
    let error = match &found {
        Some(v) if v.protected => Some(format!("cannot remove protected volume '{volname}' on '{storage_id}'")),
        Some(_) => None,
        None => {
            let file = volname.rsplit('/').next().unwrap_or("");
            log.push(format!("disk image '{}/dump/{file}' does not exist", storage_root(&s)));
            None
        }
    };
    if error.is_none() {
        log.push(format!("Removed volume '{volid}'"));
    }
    let id = owner.map_or_else(|| storage_id.clone(), |o| format!("{o}@{storage_id}"));
    sim.start_task(NewTask {
        node,
        task_type: "imgdel".to_owned(),
        vmid: owner.unwrap_or(0),
        fault_actions: &[],
        log,
        error,
        effect: Effect::VolumeDelete { volid, node: found.and_then(|v| v.node) },
        lock: None,
        holds_config_lock: false,
        id: Some(id),
        locked: Vec::new(),
        warnings: 0,
    })
}

/// The owner vmid in a backup file name (`vzdump-<type>-<vmid>-...`).
fn owner_of(volid: &str) -> Option<u32> {
    let file = volid.rsplit('/').next()?;
    file.strip_prefix("vzdump-")?.split('-').nth(1)?.parse().ok()
}

/// A restore (`POST /nodes/{node}/qemu` with `archive`, or `/lxc` with `restore=1`):
/// checks before the worker, the placeholder guest with `lock: create`, a
/// `qmrestore`/`vzrestore` task.
pub(crate) fn restore(sim: &mut Sim, req: &Request<'_>, kind: GuestKind, vmid: u32, volid: &str) -> Result<Value, SimError> {
    let node = req.var("node").to_owned();
    let force = req.bool_param("force")?.unwrap_or(false);
    let start = req.bool_param("start")?.unwrap_or(false);
    req.bool_param("unique")?;
    let storage = req.param("storage").map(str::to_owned);
    let w = word(kind);
    let emsg = format!("unable to restore {w} {vmid} -");
    let st = sim.state();
    let vol = st
        .volumes
        .iter()
        .find(|v| v.volid == volid && v.content == "backup" && visible(v, &node))
        .cloned()
        .ok_or_else(|| SimError::die(format!("{emsg} volume '{volid}' does not exist")))?;
    if let Some(s) = &storage {
        storage_on(st, s, &node)?;
    }
    let existing = st.guest(vmid).cloned();
    if let Some(g) = &existing
        && (!force || g.node != node || g.kind != kind)
    {
        return Err(SimError::die(format!("{emsg} {} {vmid} already exists on node '{}'", word(g.kind), g.node)));
    }
    sim.check_perm(&format!("/vms/{vmid}"), if existing.is_some() { "VM.Backup" } else { "VM.Allocate" })?;
    let mut error = None;
    if let Some(g) = &existing {
        error = match kind {
            GuestKind::Qemu if g.protection => Some(format!("{emsg} - protection mode enabled")),
            GuestKind::Qemu if g.is_running() => Some(format!("{emsg} vm is running")),
            GuestKind::Lxc if g.protection => Some(format!("unable to restore CT {vmid} - protection mode enabled")),
            GuestKind::Lxc if g.is_running() => Some("can't overwrite running container".to_owned()),
            _ => None,
        };
    } else {
        let st = sim.state_mut();
        st.guests.push(SimGuest { vmid, kind, node: node.clone(), ..SimGuest::default() });
        st.sort_guests();
    }
    let log = if error.is_some() { Vec::new() } else { restore_log(sim.state(), &vol, kind, vmid, storage.as_deref(), start) };
    sim.start_task(NewTask {
        node,
        task_type: if kind == GuestKind::Qemu { "qmrestore" } else { "vzrestore" }.to_owned(),
        vmid,
        fault_actions: &["restore"],
        log,
        error,
        effect: Effect::Restore { vmid, volid: volid.to_owned(), storage, start },
        lock: Some("create".to_owned()),
        holds_config_lock: false,
        id: None,
        locked: vec![vmid],
        warnings: 0,
    })
}

/// C `ctime()` text: `Fri Apr 18 09:27:17 2025` (UTC).
fn ctime_text(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let ts = utc_timestamp(secs);
    let (date, time) = ts.split_once(' ').unwrap_or((&ts, ""));
    let mut parts = date.split('-');
    let (y, m, d) = (parts.next().unwrap_or(""), parts.next().unwrap_or("1"), parts.next().unwrap_or("1"));
    let month = MONTHS[m.parse::<usize>().unwrap_or(1).clamp(1, 12) - 1];
    let day: u32 = d.parse().unwrap_or(1);
    let weekday = DAYS[usize::try_from(secs / 86_400 % 7).unwrap_or(0)];
    format!("{weekday} {month} {day:>2} {time} {y}")
}

/// A disk volid of guest `old` as guest `new`'s (on `storage` when given).
pub(crate) fn rename_volid(volid: &str, old: u32, new: u32, storage: Option<&str>) -> String {
    let renamed = volid
        .replace(&format!(":{old}/"), &format!(":{new}/"))
        .replace(&format!("base-{old}-"), &format!("vm-{new}-"))
        .replace(&format!("-{old}-"), &format!("-{new}-"))
        .replace(&format!("/{old}/"), &format!("/{new}/"));
    match (storage, renamed.split_once(':')) {
        (Some(s), Some((_, rest))) => format!("{s}:{rest}"),
        _ => renamed,
    }
}

/// The worker output of a restore (samples `qmrestore-log/1.txt`, `pct-restore-log/1.txt`).
fn restore_log(st: &SimState, vol: &SimVolume, kind: GuestKind, vmid: u32, storage: Option<&str>, start: bool) -> Vec<String> {
    let mut log = Vec::new();
    let store = st.storages.iter().find(|s| s.id == vol.storage());
    let file =
        format!("{}/dump/{}", store.map_or_else(|| "/var/lib/vz".to_owned(), storage_root), vol.volname().trim_start_matches("backup/"));
    let Some(g) = vol.guest.as_deref() else { return log };
    match kind {
        GuestKind::Qemu => {
            let tmp = format!("/var/tmp/vzdumptmp{}", 1_000_000 + u64::from(vmid) * 13);
            let extract = format!("vma extract -v -r {tmp}.fifo");
            let cmd = match vol.format.split_once('.') {
                Some((_, "zst")) => format!("zstd -q -d -c {file} | {extract} - {tmp}"),
                Some((_, "gz")) => format!("zcat {file} | {extract} - {tmp}"),
                Some((_, "lzo")) => format!("lzop -d -c {file} | {extract} - {tmp}"),
                _ => format!("{extract} {file} {tmp}"),
            };
            log.push(format!("restore vma archive: {cmd}"));
            log.push(format!("CFG: size: {} name: qemu-server.conf", 200 + g.config.len() * 30));
            let disks = qemu_disks(g);
            for (i, (key, _, size)) in disks.iter().enumerate() {
                log.push(format!("DEV: dev_id={} size: {} devname: drive-{key}", i + 1, parse_size(size)));
            }
            log.push(format!("CTIME: {}", ctime_text(vol.ctime)));
            let mut total = 0;
            for (key, volid, size) in &disks {
                let new = rename_volid(volid, g.vmid, vmid, storage);
                log.push(format!("new volume ID is '{new}'"));
                let path = match new.split_once(':') {
                    Some((s, name)) => {
                        let root = st.storages.iter().find(|x| x.id == s).map_or_else(|| format!("/mnt/pve/{s}"), storage_root);
                        format!("{root}/images/{name}")
                    }
                    None => new.clone(),
                };
                log.push(format!("map 'drive-{key}' to '{path}' (write zeros = 0)"));
                total += parse_size(size);
            }
            for pct in 1..=100_u64 {
                let read = (total * pct / 100).div_ceil(65_536) * 65_536;
                log.push(format!("progress {pct}% (read {} bytes, duration 0 sec)", read.min(total)));
            }
            let sparse = total / 10 * 9;
            #[expect(clippy::cast_precision_loss, reason = "a percentage for display")]
            let ratio = if total == 0 { 0.0 } else { sparse as f64 * 100.0 / total as f64 };
            log.push(format!("total bytes read {total}, sparse bytes {sparse} ({ratio:.1}%)"));
            log.push("space reduction due to 4K zero blocks 0.412%".to_owned());
            log.push("rescan volumes...".to_owned());
            if g.template {
                log.push("Convert to template.".to_owned());
            }
        }
        GuestKind::Lxc => {
            log.push(format!("recovering backed-up configuration from '{}'", vol.volid));
            log.push(format!("restoring '{}' now..", vol.volid));
            log.push(format!("extracting archive '{file}'"));
            log.push(format!("Total bytes read: {} ({}MiB, 512MiB/s)", g.maxdisk / 4, g.maxdisk / 4 / 1_048_576));
            log.push("merging backed-up and given configuration..".to_owned());
        }
    }
    if start {
        log.push("Execute autostart".to_owned());
    }
    log
}

/// A restore task's effect: guest `vmid` (on its node) takes the backup's config.
pub(crate) fn apply_restore(st: &mut SimState, vmid: u32, volid: &str, storage: Option<&str>, start: bool) {
    let Some(backup) = st.volumes.iter().find(|v| v.volid == volid).and_then(|v| v.guest.clone()) else { return };
    let Some(g) = st.guest_mut(vmid) else { return };
    let node = g.node.clone();
    let next_gen = g.config_gen + 1;
    let mut new = *backup;
    let old = new.vmid;
    new.vmid = vmid;
    new.node = node;
    new.lock = None;
    new.hastate = None;
    new.config_gen = next_gen;
    for (k, v) in &mut new.config {
        if is_disk_key(k) && !v.contains("media=cdrom") {
            *v = rename_volid(v, old, vmid, storage);
        }
    }
    set_power(&mut new, PowerTo::Stopped);
    if start && !new.template {
        set_power(&mut new, PowerTo::Started);
    }
    *g = new;
}

/// Next run of a job schedule `[<dow>[,<dow>...]] HH:MM` after `now` (UTC); `None` for a
/// schedule the simulator does not model.
fn next_run(schedule: &str, now: u64) -> Option<u64> {
    const DOW: [&str; 7] = ["thu", "fri", "sat", "sun", "mon", "tue", "wed"];
    let (days, time) = match schedule.rsplit_once(' ') {
        Some((d, t)) => (Some(d), t),
        None => (None, schedule),
    };
    let (h, m) = time.split_once(':')?;
    let secs_of_day = h.parse::<u64>().ok()?.checked_mul(3600)? + m.parse::<u64>().ok()? * 60;
    let allowed: Vec<usize> = match days {
        None => (0..7).collect(),
        Some(d) => d.split(',').filter_map(|x| DOW.iter().position(|n| *n == x)).collect(),
    };
    (0..8)
        .map(|i| (now / 86_400 + i) * 86_400 + secs_of_day)
        .find(|&t| t > now && allowed.contains(&usize::try_from(t / 86_400 % 7).unwrap_or(7)))
}

/// `GET /cluster/backup`: the jobs with `next-run` (needs `Sys.Audit` on `/`).
fn jobs(sim: &mut Sim, _: &Request<'_>) -> Result<Value, SimError> {
    sim.check_perm("/", "Sys.Audit")?;
    let now = now_ms() / 1000;
    let list = sim
        .state()
        .backup_jobs
        .iter()
        .map(|j| {
            let mut j = j.clone();
            j.entry("type").or_insert_with(|| json!("vzdump"));
            j.entry("enabled").or_insert_with(|| json!(1));
            if let Some(t) = j.get("schedule").and_then(Value::as_str).and_then(|s| next_run(s, now)) {
                j.insert("next-run".into(), json!(t));
            }
            Value::Object(j)
        })
        .collect();
    Ok(Value::Array(list))
}

/// `GET /cluster/backup-info/not-backed-up`: guests no job covers (`all`, with its `node`
/// and `exclude`; `vmid` lists; `pool`).
fn not_backed_up(sim: &mut Sim, _: &Request<'_>) -> Result<Value, SimError> {
    sim.check_perm("/", "Sys.Audit")?;
    let st = sim.state();
    let text = |j: &Map<String, Value>, k: &str| j.get(k).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned));
    let ids = |s: Option<String>| -> Vec<u32> { s.unwrap_or_default().split([',', ' ', ';']).filter_map(|x| x.parse().ok()).collect() };
    let covered = |g: &SimGuest| {
        st.backup_jobs.iter().any(|j| {
            let all = text(j, "all").is_some_and(|a| a == "1");
            let on_node = text(j, "node").is_none_or(|n| n == g.node);
            (all && on_node && !ids(text(j, "exclude")).contains(&g.vmid))
                || ids(text(j, "vmid")).contains(&g.vmid)
                || text(j, "pool").is_some_and(|p| g.pool.as_deref() == Some(p.as_str()))
        })
    };
    let list = st
        .guests
        .iter()
        .filter(|g| !covered(g) && !sim.hidden(&format!("/vms/{}", g.vmid), "VM.Audit"))
        .map(|g| {
            let mut m = Map::new();
            m.insert("vmid".into(), json!(g.vmid));
            m.insert("type".into(), json!(g.kind.as_str()));
            if let Some(n) = &g.name {
                m.insert("name".into(), json!(n));
            }
            Value::Object(m)
        })
        .collect();
    Ok(Value::Array(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_names_and_schedules() {
        assert_eq!(format_size(357_564_416), "341MB");
        assert_eq!(format_size(20_014_547_353), "18.64GB");
        assert_eq!(ctime_text(1_744_968_437), "Fri Apr 18 09:27:17 2025");
        assert_eq!(ctime_text(1_767_225_600), "Thu Jan  1 00:00:00 2026");
        assert_eq!(rename_volid("nas:100/vm-100-disk-0.qcow2,size=32G", 100, 205, None), "nas:205/vm-205-disk-0.qcow2,size=32G");
        assert_eq!(rename_volid("local-lvm:base-9000-disk-0", 9000, 9010, Some("nas")), "nas:vm-9010-disk-0");
        assert_eq!(next_run("21:00", 1_767_225_600), Some(1_767_225_600 + 21 * 3600));
        assert_eq!(next_run("sat 02:00", 1_767_225_600), Some(1_767_225_600 + 2 * 86_400 + 2 * 3600));
        assert_eq!(shell_quote("{{guestname}}"), "'{{guestname}}'");
        assert_eq!(owner_of("nas:backup/vzdump-qemu-100-2026_01_01-00_00_00.vma.zst"), Some(100));
    }
}
