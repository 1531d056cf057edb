//! Node health reads for `pvectl check`'s `check_pve`-style modes: certificates, services,
//! pending package updates, disks (SMART health, wearout), ZFS pools, replication jobs and
//! Ceph, with their state ([`SimHealth`], the state file's `health`).
//!
//! Shapes and texts from Proxmox's sources: pve-manager 14a22df `PVE/API2/Certificates.pm`
//! `info` (the files `pve-root-ca.pem`, `pve-ssl.pem`, `pveproxy-ssl.pem` that exist, each
//! pve-common `PVE::Certificate::get_certificate_info`: `filename` the base name, `subject`
//! and `issuer` as `X509_NAME_oneline`, `notbefore`/`notafter` epoch seconds),
//! `PVE/API2/Services.pm` `index` (`service`, `name`, `desc`, `state` = systemd `SubState`,
//! `active-state`, `unit-state` = `not-found` when not installed), `PVE/API2/APT.pm`
//! `list_updates` (`Package`, `Title`, `Description`, `Origin`, `Version`, `OldVersion`,
//! `Arch`, `Section`, `Priority`), `PVE/API2/Replication.pm` `status` (the job config with
//! `id`, `vmtype`, `next_sync` and the state's `last_sync`, `last_try`, `fail_count`,
//! `error`, `duration`; only jobs of guests on `{node}`), `PVE/API2/Cluster/Ceph.pm` and
//! `PVE/API2/Ceph.pm` `status` (`check_ceph_inited` dies `binary not installed:
//! /usr/bin/ceph-mon` on a node without Ceph); pve-storage 0c56bad `PVE/Diskmanage.pm`
//! `get_disks` (`health` from smartctl, `UNKNOWN` without; `wearout` percent remaining or
//! `N/A`) and `PVE/API2/Disks/ZFS.pm` `index` (`name`, `size`, `alloc`, `free`, `frag`,
//! `dedup`, `health`; `zfsutils-linux not installed` without zpool). The Ceph answer keeps
//! Ceph's `health detail` part (`health.status`, `health.checks.<CODE>.{severity, summary:
//! {message, count}}`) and abridges the rest.
//!
//! | route | answer |
//! | --- | --- |
//! | `GET /nodes/{node}/certificates/info` | `[{filename, fingerprint, subject, issuer, notbefore, notafter, san, public-key-type, public-key-bits}]` |
//! | `GET /nodes/{node}/services` | `[{service, name, desc, state, unit-state, active-state}]` sorted by `service` |
//! | `GET /nodes/{node}/apt/update` | `[{Package, Title, Description, Origin, Version, OldVersion, Arch, Section, Priority}]` |
//! | `GET /nodes/{node}/disks/list` | `[{devpath, model, serial, vendor, wwn, size, type, rpm, gpt, health, wearout, used?, osdid}]` |
//! | `GET /nodes/{node}/disks/zfs` | `[{name, size, alloc, free, frag, dedup, health}]`; `zfs: null` = `zfsutils-linux not installed` |
//! | `GET /nodes/{node}/replication` | `[{id, guest, jobnum, target, type, schedule, source, vmtype, next_sync, last_sync, last_try, fail_count, error?, duration}]` |
//! | `GET /cluster/ceph/status`, `GET /nodes/{node}/ceph/status` | `{fsid, health: {status, checks, mutes}, quorum_names, osdmap, pgmap}`; `ceph: null` = `binary not installed: /usr/bin/ceph-mon` |
//!
//! Faults are plain state in the state file's `health` (no fault entry): a certificate's
//! `notafter` near, a service with `active-state: failed`, entries in `updates`, a disk with
//! `health: FAILED` or a low `wearout`, a replication job with `fail_count` and `error`, a
//! pool with `health: DEGRADED`, `ceph` with `status: HEALTH_WARN` and a check.
//!
//! Privileges (`privileges.rs`): `Sys.Audit` on `/nodes/{node}` for services and disks (PVE
//! also accepts it on `/`), `Sys.Modify` on `/nodes/{node}` for `apt/update`, `Sys.Audit` on
//! `/` for `disks/zfs`, `Sys.Audit` or `Datastore.Audit` on `/` for Ceph; certificates are
//! open to every caller, replication lists the jobs whose guest the caller may audit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::core::Sim;
use super::error::SimError;
use super::route::{Request, Route};
use super::seed::NOW;
use crate::backend::api::Method;

/// The health routes.
pub(crate) const HEALTH_ROUTES: &[Route] = &[
    Route { method: Method::Get, pattern: "/nodes/{node}/certificates/info", params: &[], handler: certificates },
    Route { method: Method::Get, pattern: "/nodes/{node}/services", params: &[], handler: services },
    Route { method: Method::Get, pattern: "/nodes/{node}/apt/update", params: &[], handler: updates },
    Route {
        method: Method::Get,
        pattern: "/nodes/{node}/disks/list",
        params: &["include-partitions", "skipsmart", "type"],
        handler: disks,
    },
    Route { method: Method::Get, pattern: "/nodes/{node}/disks/zfs", params: &[], handler: zfs },
    Route { method: Method::Get, pattern: "/nodes/{node}/replication", params: &["guest"], handler: replication },
    Route { method: Method::Get, pattern: "/cluster/ceph/status", params: &[], handler: ceph },
    Route { method: Method::Get, pattern: "/nodes/{node}/ceph/status", params: &[], handler: ceph },
];

/// The health state: per node, replication jobs, Ceph.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimHealth {
    /// Per node name; a node without an entry answers empty lists and has no zpool tool.
    pub nodes: BTreeMap<String, SimNodeHealth>,
    /// Replication jobs (`/etc/pve/replication.cfg` with each job's state); a node lists
    /// those whose guest lives on it.
    pub replication: Vec<SimReplication>,
    /// Ceph's status; `None` = Ceph not installed.
    pub ceph: Option<SimCeph>,
}

/// What one node reports about itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimNodeHealth {
    /// Certificates, as `certificates/info` lists them.
    pub certificates: Vec<SimCertificate>,
    /// Services, as `services` lists them.
    pub services: Vec<SimService>,
    /// Pending package updates.
    pub updates: Vec<SimUpdate>,
    /// Disks.
    pub disks: Vec<SimDisk>,
    /// ZFS pools; `None` = `zfsutils-linux` not installed.
    pub zfs: Option<Vec<SimZpool>>,
}

/// One certificate (`pve-certificate-info`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct SimCertificate {
    /// File base name (`pve-ssl.pem`).
    pub filename: String,
    /// SHA-256 fingerprint, `AA:BB:...`.
    pub fingerprint: String,
    /// Subject, `/CN=...` form.
    pub subject: String,
    /// Issuer, `/CN=...` form.
    pub issuer: String,
    /// Not valid before, seconds since the epoch.
    pub notbefore: u64,
    /// Not valid after, seconds since the epoch.
    pub notafter: u64,
    /// Subject alternative names.
    pub san: Vec<String>,
    /// `rsaEncryption`, ...
    pub public_key_type: String,
    /// Key size, bits.
    pub public_key_bits: u32,
}

/// One systemd service as pve-manager reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct SimService {
    /// Unit id (`pveproxy`).
    pub service: String,
    /// Short name (same as `service`).
    pub name: String,
    /// The unit's `Description`.
    pub desc: String,
    /// systemd `SubState` (`running`, `dead`, `failed`, ...).
    pub state: String,
    /// systemd `UnitFileState` (`enabled`, `disabled`, `not-found`, ...).
    pub unit_state: String,
    /// systemd `ActiveState` (`active`, `inactive`, `failed`, ...).
    pub active_state: String,
}

/// One pending package update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct SimUpdate {
    /// Package name.
    pub package: String,
    /// Short description.
    pub title: String,
    /// Long description.
    pub description: String,
    /// Origin of the candidate (`Proxmox`, `Debian`).
    pub origin: String,
    /// Candidate version.
    pub version: String,
    /// Installed version.
    pub old_version: String,
    /// `amd64`, `all`, ...
    pub arch: String,
    /// Section.
    pub section: String,
    /// Priority.
    pub priority: String,
}

/// One disk of `disks/list`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimDisk {
    /// `/dev/sda`.
    pub devpath: String,
    /// Model.
    pub model: String,
    /// Serial number.
    pub serial: String,
    /// Vendor.
    pub vendor: String,
    /// World wide name.
    pub wwn: String,
    /// Size, bytes.
    pub size: u64,
    /// `hdd`, `ssd`, `nvme`, `usb`, `unknown`.
    #[serde(rename = "type")]
    pub disk_type: String,
    /// Rotation speed (0 for SSDs).
    pub rpm: u64,
    /// GPT partition table (0/1).
    pub gpt: u8,
    /// SMART health: `PASSED`, `OK`, `FAILED!`, `UNKNOWN`, ...
    pub health: String,
    /// Percent of endurance remaining (a number) or `N/A`.
    pub wearout: Value,
    /// What uses it (`ZFS`, `LVM`, `partitions`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used: Option<String>,
}

/// One ZFS pool of `disks/zfs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimZpool {
    /// Pool name.
    pub name: String,
    /// Size, bytes.
    pub size: u64,
    /// Allocated, bytes.
    pub alloc: u64,
    /// Free, bytes.
    pub free: u64,
    /// Fragmentation, percent.
    pub frag: u64,
    /// Dedup ratio.
    pub dedup: f64,
    /// `ONLINE`, `DEGRADED`, `FAULTED`, `OFFLINE`, `UNAVAIL`, `REMOVED`, `SUSPENDED`.
    pub health: String,
}

/// One replication job with its state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimReplication {
    /// `<guest>-<jobnum>`.
    pub id: String,
    /// The guest.
    pub guest: u32,
    /// Job number.
    pub jobnum: u32,
    /// Target node.
    pub target: String,
    /// Section type, `local`.
    #[serde(rename = "type")]
    pub job_type: String,
    /// Calendar event (`*/15`).
    pub schedule: String,
    /// Source node.
    pub source: String,
    /// Start of the last successful sync, seconds since the epoch (0 = never).
    pub last_sync: u64,
    /// Start of the last try, seconds since the epoch.
    pub last_try: u64,
    /// Failed tries since the last success.
    pub fail_count: u32,
    /// The last error, while failing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Duration of the last sync, seconds.
    pub duration: f64,
}

/// Ceph's health.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimCeph {
    /// `HEALTH_OK`, `HEALTH_WARN` or `HEALTH_ERR`.
    pub status: String,
    /// Health checks by code (`OSD_DOWN`).
    pub checks: BTreeMap<String, SimCephCheck>,
}

/// One Ceph health check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimCephCheck {
    /// `HEALTH_WARN` or `HEALTH_ERR`.
    pub severity: String,
    /// Summary message (`1 osds down`).
    pub message: String,
    /// Count of affected items.
    pub count: u64,
}

fn node_health<'a>(sim: &'a Sim, req: &Request<'_>) -> Option<&'a SimNodeHealth> {
    sim.state().health.nodes.get(req.var("node"))
}

fn to_json<T: Serialize>(v: &T) -> Result<Value, SimError> {
    serde_json::to_value(v).map_err(|e| SimError::die(format!("internal error - {e}")))
}

/// `GET /nodes/{node}/certificates/info`.
fn certificates(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    to_json(&node_health(sim, req).map(|h| h.certificates.clone()).unwrap_or_default())
}

/// `GET /nodes/{node}/services`, sorted by service id as pve-manager sorts them.
fn services(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let mut list = node_health(sim, req).map(|h| h.services.clone()).unwrap_or_default();
    list.sort_by(|a, b| a.service.cmp(&b.service));
    to_json(&list)
}

/// `GET /nodes/{node}/apt/update`.
fn updates(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    to_json(&node_health(sim, req).map(|h| h.updates.clone()).unwrap_or_default())
}

/// `GET /nodes/{node}/disks/list`: every disk (`type=unused` leaves out used ones).
fn disks(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let unused = req.param("type") == Some("unused");
    let list: Vec<SimDisk> =
        node_health(sim, req).map(|h| h.disks.iter().filter(|d| !unused || d.used.is_none()).cloned().collect()).unwrap_or_default();
    let mut v = to_json(&list)?;
    for d in v.as_array_mut().into_iter().flatten() {
        d["osdid"] = json!(-1);
    }
    Ok(v)
}

/// `GET /nodes/{node}/disks/zfs`.
fn zfs(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    match node_health(sim, req).and_then(|h| h.zfs.clone()) {
        Some(pools) => to_json(&pools),
        None => Err(SimError::die("zfsutils-linux not installed")),
    }
}

/// `GET /nodes/{node}/replication`: the jobs of the guests on `{node}` (and `guest` only).
fn replication(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let guest = req.int_param("guest", 100)?;
    let node = req.var("node");
    let st = sim.state();
    let mut out = Vec::new();
    for j in &st.health.replication {
        let Some(g) = st.guest(j.guest) else { continue };
        if g.node != node || guest.is_some_and(|v| v != u64::from(j.guest)) || sim.hidden(&format!("/vms/{}", j.guest), "VM.Audit") {
            continue;
        }
        let mut v = to_json(j)?;
        v["vmtype"] = json!(g.kind.as_str());
        // pve-guest-common `ReplicationState::job_status`: a failing job retries after 5, 10,
        // 15 minutes, then every 30; a healthy one at its schedule (here: 15 minutes on).
        let wait = if j.fail_count == 0 {
            900
        } else if j.fail_count <= 3 {
            300 * u64::from(j.fail_count)
        } else {
            1800
        };
        v["next_sync"] = json!(j.last_try + wait);
        out.push(v);
    }
    out.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    Ok(Value::Array(out))
}

/// `GET /cluster/ceph/status` and `GET /nodes/{node}/ceph/status`.
fn ceph(sim: &mut Sim, _: &Request<'_>) -> Result<Value, SimError> {
    let st = sim.state();
    let Some(c) = &st.health.ceph else {
        return Err(SimError::die("binary not installed: /usr/bin/ceph-mon"));
    };
    let checks: serde_json::Map<String, Value> = c
        .checks
        .iter()
        .map(|(code, k)| {
            (code.clone(), json!({"severity": k.severity, "summary": {"message": k.message, "count": k.count}, "muted": false}))
        })
        .collect();
    let names: Vec<&str> = st.nodes.iter().filter(|n| n.online).map(|n| n.name.as_str()).collect();
    Ok(json!({
        "fsid": "5ac3d1e0-0000-4000-8000-00000000ceph",
        "health": {"status": c.status, "checks": checks, "mutes": []},
        "quorum_names": names,
        "osdmap": {"num_osds": st.nodes.len() * 2, "num_up_osds": st.nodes.len() * 2, "num_in_osds": st.nodes.len() * 2},
        "pgmap": {"num_pgs": 128},
    }))
}

/// The demo's health: every node with its two certificates (valid ten years from the demo's
/// clock, so the demo stays healthy by the wall clock), PVE's services running, no pending
/// updates, two SSDs (one the ZFS `rpool` mirror's) with most of their endurance left, an
/// `ONLINE` `rpool`; no replication jobs; Ceph not installed. Simulated values.
pub(crate) fn demo_health(nodes: &[&str]) -> SimHealth {
    const TEN_YEARS: u64 = 3_650 * 86_400;
    let ca_subject = "/CN=Proxmox Virtual Environment/OU=5ac3d1e08b2f4e7a/O=PVE Cluster Manager CA";
    let mut out = SimHealth::default();
    for (i, node) in nodes.iter().enumerate() {
        let fp = |salt: &str| {
            let h = super::digest::hex_digest(format!("{node}/{salt}").as_bytes(), 64).to_uppercase();
            h.as_bytes().chunks(2).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(":")
        };
        let cert = |filename: &str, subject: String, san: Vec<String>| SimCertificate {
            filename: filename.into(),
            fingerprint: fp(filename),
            subject,
            issuer: ca_subject.into(),
            notbefore: NOW - 400 * 86_400,
            notafter: NOW - 400 * 86_400 + TEN_YEARS,
            san,
            public_key_type: "rsaEncryption".into(),
            public_key_bits: if filename == "pve-root-ca.pem" { 4096 } else { 2048 },
        };
        let certificates = vec![
            cert("pve-root-ca.pem", ca_subject.into(), Vec::new()),
            cert(
                "pve-ssl.pem",
                format!("/OU=PVE Cluster Node/O=Proxmox Virtual Environment/CN={node}.demo.example"),
                vec!["127.0.0.1".into(), "0000:0000:0000:0000:0000:0000:0000:0001".into(), "localhost".into(), (*node).to_owned()],
            ),
        ];
        let services = DEMO_SERVICES
            .iter()
            .map(|(id, desc)| SimService {
                service: (*id).into(),
                name: (*id).into(),
                desc: (*desc).into(),
                state: "running".into(),
                unit_state: "enabled".into(),
                active_state: "active".into(),
            })
            .collect();
        let disk = |n: usize, wearout: u64| SimDisk {
            devpath: format!("/dev/nvme{n}n1"),
            model: "SAMSUNG MZQL2960HCJR-00A07".into(),
            serial: format!("S64FNE0R{}{:04}", i + 1, n),
            vendor: "unknown".into(),
            wwn: format!("eui.36344630528{i}{n}0000025384500000001"),
            size: 960_197_124_096,
            disk_type: "nvme".into(),
            rpm: 0,
            gpt: 1,
            health: "PASSED".into(),
            wearout: json!(wearout),
            used: Some("ZFS".into()),
        };
        let zfs = vec![SimZpool {
            name: "rpool".into(),
            size: 952_103_075_840,
            alloc: 41_875_931_136 + i as u64 * 1_073_741_824,
            free: 910_227_144_704 - i as u64 * 1_073_741_824,
            frag: 3,
            dedup: 1.0,
            health: "ONLINE".into(),
        }];
        out.nodes.insert(
            (*node).to_owned(),
            SimNodeHealth { certificates, services, updates: Vec::new(), disks: vec![disk(0, 98), disk(1, 97)], zfs: Some(zfs) },
        );
    }
    out
}

/// PVE's services with their unit descriptions (as `systemctl show` reports them).
const DEMO_SERVICES: &[(&str, &str)] = &[
    ("chrony", "chrony, an NTP client/server"),
    ("corosync", "Corosync Cluster Engine"),
    ("cron", "Regular background program processing daemon"),
    ("lxcfs", "FUSE filesystem for LXC"),
    ("postfix", "Postfix Mail Transport Agent (instance -)"),
    ("pve-cluster", "The Proxmox VE cluster filesystem"),
    ("pve-firewall", "Proxmox VE firewall"),
    ("pve-ha-crm", "PVE Cluster HA Resource Manager Daemon"),
    ("pve-ha-lrm", "PVE Local HA Resource Manager Daemon"),
    ("pve-lxc-syscalld", "Proxmox VE LXC Syscall Daemon"),
    ("pvedaemon", "PVE API Daemon"),
    ("pvefw-logger", "Proxmox VE firewall logger"),
    ("pveproxy", "PVE API Proxy Server"),
    ("pvescheduler", "Proxmox VE scheduler"),
    ("pvestatd", "PVE Status Daemon"),
    ("qmeventd", "PVE Qemu Event Daemon"),
    ("spiceproxy", "PVE SPICE Proxy Server"),
    ("sshd", "OpenBSD Secure Shell server"),
    ("syslog", "System Logging Service"),
    ("systemd-journald", "Journal Service"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::api::Params;
    use crate::backend::sim::demo::demo_state;

    fn get(sim: &mut Sim, path: &str) -> Result<Value, SimError> {
        sim.handle(Method::Get, path, &Params::new())
    }

    #[test]
    fn the_demo_answers_every_route_and_missing_features_die_as_pve_does() {
        let mut sim = Sim::new(demo_state());
        let certs = get(&mut sim, "/nodes/pve2/certificates/info").expect("certs");
        assert_eq!(certs[1]["filename"], "pve-ssl.pem");
        assert!(certs[1]["notafter"].as_u64().is_some_and(|t| t > NOW));
        let svc = get(&mut sim, "/nodes/pve1/services").expect("services");
        assert!(svc.as_array().is_some_and(|l| l.iter().all(|s| s["active-state"] == "active" && s["unit-state"] == "enabled")));
        assert_eq!(get(&mut sim, "/nodes/pve1/apt/update").expect("updates"), json!([]));
        let disks = get(&mut sim, "/nodes/pve3/disks/list").expect("disks");
        assert_eq!(
            (disks[0]["health"].as_str(), disks[0]["wearout"].as_u64(), disks[0]["osdid"].as_i64()),
            (Some("PASSED"), Some(98), Some(-1))
        );
        assert_eq!(get(&mut sim, "/nodes/pve1/disks/zfs").expect("zfs")[0]["health"], "ONLINE");
        assert_eq!(get(&mut sim, "/nodes/pve1/replication").expect("replication"), json!([]));
        let e = get(&mut sim, "/cluster/ceph/status").expect_err("no ceph");
        assert_eq!(e.message, "binary not installed: /usr/bin/ceph-mon");
        sim.state_mut().health.nodes.get_mut("pve1").expect("pve1").zfs = None;
        assert_eq!(get(&mut sim, "/nodes/pve1/disks/zfs").expect_err("no zpool").message, "zfsutils-linux not installed");
    }

    #[test]
    fn replication_lists_the_jobs_of_the_nodes_guests_with_their_state() {
        let mut sim = Sim::new(demo_state());
        sim.state_mut().health.replication.push(SimReplication {
            id: "101-0".into(),
            guest: 101,
            target: "pve2".into(),
            job_type: "local".into(),
            source: "pve1".into(),
            last_try: NOW,
            fail_count: 2,
            error: Some("command 'zfs snapshot' failed".into()),
            ..SimReplication::default()
        });
        let on_pve1 = get(&mut sim, "/nodes/pve1/replication").expect("list");
        assert_eq!((on_pve1[0]["fail_count"].as_u64(), on_pve1[0]["vmtype"].as_str()), (Some(2), Some("qemu")));
        assert_eq!(on_pve1[0]["next_sync"].as_u64(), Some(NOW + 600));
        assert_eq!(get(&mut sim, "/nodes/pve2/replication").expect("list"), json!([]), "101 lives on pve1");
    }
}
