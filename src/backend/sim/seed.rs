//! Builders for seeded states: nodes, guests with a plausible config, storages, tasks.
//!
//! Everything is derived from the arguments (no clock, no randomness), so a seeded state is
//! the same on every run. Values are simulated, not captured from a real cluster.

use std::collections::BTreeMap;

use super::state::{SimGuest, SimNode, SimSnapshot, SimStorage, StorageUsage};
use super::task_state::SimTask;
use crate::model::{GuestKind, NodeName, Upid};

/// One MiB, bytes.
pub(crate) const MIB: u64 = 1 << 20;
/// One GiB, bytes.
pub(crate) const GIB: u64 = 1 << 30;
/// The demo's "now": 2026-01-01T00:00:00Z, seconds since the epoch.
pub(crate) const NOW: u64 = 1_767_225_600;

/// A node with `cores` logical CPUs and `mem_gib` GiB of memory, online, with a 1-minute
/// load of `load_centi` hundredths (CPU usage is a tenth of it; values stay short decimals so
/// they survive a JSON round trip exactly).
pub(crate) fn node(name: &str, ip: &str, cores: u64, mem_gib: u64, load_centi: u32) -> SimNode {
    let load = |pct: u32| format!("{}.{:02}", load_centi * pct / 10_000, load_centi * pct / 100 % 100);
    SimNode {
        name: name.to_owned(),
        online: true,
        ip: ip.to_owned(),
        cpu: f64::from(load_centi) / 1000.0,
        maxcpu: cores,
        mem: mem_gib * GIB * 3 / 8,
        maxmem: mem_gib * GIB,
        swap: 0,
        maxswap: 8 * GIB,
        disk: 11 * GIB + u64::from(name.as_bytes().last().copied().unwrap_or(0)) * MIB,
        maxdisk: 94 * GIB,
        uptime: 1_209_600 + u64::try_from(name.len()).unwrap_or(0) * 3_600,
        kversion: "Linux 6.17.2-2-pve #1 SMP PREEMPT_DYNAMIC PMX 6.17.2-2 (2025-11-26T12:33Z)".to_owned(),
        pveversion: "pve-manager/9.1.4/5ac30304265fbd8e".to_owned(),
        cpu_model: "AMD EPYC 7313P 16-Core Processor".to_owned(),
        cpu_sockets: 1,
        cpu_cores: cores / 2,
        loadavg: vec![load(100), load(80), load(60)],
    }
}

/// A stable MAC address for a guest's first NIC (`BC:24:11` is Proxmox's prefix).
pub(crate) fn mac(vmid: u32) -> String {
    let b = vmid.to_be_bytes();
    format!("BC:24:11:{:02X}:{:02X}:{:02X}", b[1] ^ 0x5A, b[2], b[3])
}

/// A stable UUID-shaped id for `smbios1`/`vmgenid`.
fn uuid(vmid: u32, salt: u32) -> String {
    let h = super::digest::hex_digest(format!("{vmid}/{salt}").as_bytes(), 32);
    format!("{}-{}-4{}-a{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
}

/// Fills the runtime figures of a running guest from its vmid.
fn run(g: &mut SimGuest, running: bool) {
    if !running {
        return;
    }
    let v = u64::from(g.vmid);
    "running".clone_into(&mut g.status);
    g.cpu = f64::from(g.vmid % 17 * 5 + 10) / 1000.0;
    g.mem = g.maxmem / 2 + v * 4096;
    g.uptime = 86_400 + v * 97;
    g.pid = Some(1_000 + v * 13);
    g.netin = v * 1_048_123;
    g.netout = v * 523_987;
    g.diskread = v * 2_097_152;
    g.diskwrite = v * 1_048_576;
    if g.kind == GuestKind::Qemu {
        g.qmpstatus = Some("running".to_owned());
    }
}

/// A qemu VM on `node` with `mem_mib` MiB, `cores` cores and a `disk_gib` GiB disk on `store`.
pub(crate) fn qemu(vmid: u32, node: &str, name: &str, mem_mib: u64, cores: u32, disk_gib: u64, running: bool) -> SimGuest {
    let store = "nas";
    let mut g = SimGuest {
        vmid,
        kind: GuestKind::Qemu,
        node: node.to_owned(),
        name: Some(name.to_owned()),
        maxcpu: f64::from(cores),
        maxmem: mem_mib * MIB,
        maxdisk: disk_gib * GIB,
        config: [
            ("agent", "1".to_owned()),
            ("boot", "order=scsi0;net0".to_owned()),
            ("cores", cores.to_string()),
            ("cpu", "x86-64-v2-AES".to_owned()),
            ("memory", mem_mib.to_string()),
            ("meta", format!("creation-qemu=10.1.2,ctime={}", NOW - 9_000_000 + u64::from(vmid) * 1_000)),
            ("net0", format!("virtio={},bridge=vmbr0,firewall=1", mac(vmid))),
            ("numa", "0".to_owned()),
            ("ostype", "l26".to_owned()),
            ("scsi0", format!("{store}:{vmid}/vm-{vmid}-disk-0.qcow2,iothread=1,size={disk_gib}G")),
            ("scsihw", "virtio-scsi-single".to_owned()),
            ("smbios1", format!("uuid={}", uuid(vmid, 1))),
            ("sockets", "1".to_owned()),
            ("vmgenid", uuid(vmid, 2)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
        ..SimGuest::default()
    };
    run(&mut g, running);
    g
}

/// An lxc container on `node` with `mem_mib` MiB memory, 512 MiB swap and a `disk_gib` GiB rootfs.
pub(crate) fn lxc(vmid: u32, node: &str, hostname: &str, mem_mib: u64, cores: u32, disk_gib: u64, running: bool) -> SimGuest {
    let mut g = SimGuest {
        vmid,
        kind: GuestKind::Lxc,
        node: node.to_owned(),
        name: Some(hostname.to_owned()),
        maxcpu: f64::from(cores),
        maxmem: mem_mib * MIB,
        maxswap: 512 * MIB,
        maxdisk: disk_gib * GIB,
        config: [
            ("arch", "amd64".to_owned()),
            ("cores", cores.to_string()),
            ("features", "nesting=1".to_owned()),
            ("memory", mem_mib.to_string()),
            ("net0", format!("name=eth0,bridge=vmbr0,hwaddr={},ip=dhcp,type=veth", mac(vmid))),
            ("ostype", "debian".to_owned()),
            ("rootfs", format!("nas:{vmid}/vm-{vmid}-disk-0.raw,size={disk_gib}G")),
            ("swap", "512".to_owned()),
            ("unprivileged", "1".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
        ..SimGuest::default()
    };
    if running {
        g.disk = g.maxdisk / 4 + u64::from(vmid) * MIB;
    }
    run(&mut g, running);
    g
}

/// A snapshot of `g` taken at `snaptime` with the guest's current config.
pub(crate) fn snapshot(g: &SimGuest, name: &str, parent: Option<&str>, snaptime: u64, description: &str) -> SimSnapshot {
    SimSnapshot {
        name: name.to_owned(),
        parent: parent.map(str::to_owned),
        snaptime,
        description: description.to_owned(),
        vmstate: false,
        config: g.config.iter().filter(|(k, _)| k != "description").cloned().collect(),
    }
}

/// A storage present on `nodes` with the same `(total, used)` GiB figures everywhere
/// (shared) or scaled per node (local).
pub(crate) fn storage(id: &str, plugintype: &str, content: &[&str], shared: bool, nodes: &[&str], gib: (u64, u64)) -> SimStorage {
    let usage: BTreeMap<String, StorageUsage> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let used = if shared { gib.1 * GIB } else { (gib.1 + i as u64 * 7) * GIB };
            let total = gib.0 * GIB;
            (n.to_string(), StorageUsage { total, used, avail: total.saturating_sub(used) })
        })
        .collect();
    SimStorage {
        id: id.to_owned(),
        plugintype: plugintype.to_owned(),
        content: content.iter().map(|c| (*c).to_owned()).collect(),
        shared,
        nodes: None,
        options: Vec::new(),
        usage,
    }
}

/// A task started at `start` by root@pam; `exit` `None` = still running. The log's status
/// line (`TASK OK`, `TASK WARNINGS: n`, `TASK ERROR: ...`) is appended from `exit`.
#[expect(clippy::too_many_arguments, reason = "a seeding helper, read as one table row per task")]
pub(crate) fn task(node: &str, pid: u32, start: u64, ty: &str, id: &str, secs: u64, exit: Option<&str>, log: &[&str]) -> SimTask {
    let node: NodeName = node.parse().expect("seeded node names are valid");
    let start32 = u32::try_from(start).expect("seeded timestamps fit 32 bits");
    let pstart = 0x0012_0000 + u64::from(pid) * 3;
    let upid = Upid::encode(&node, pid, pstart, start32, ty, id, "root@pam").expect("seeded UPID fields are valid");
    let mut lines: Vec<String> = log.iter().map(|l| (*l).to_owned()).collect();
    match exit {
        Some("OK") => lines.push("TASK OK".to_owned()),
        Some(w) if w.starts_with("WARNINGS: ") => lines.push(format!("TASK {w}")),
        Some(err) => lines.push(format!("TASK ERROR: {err}")),
        None => {}
    }
    SimTask { upid, endtime: exit.map(|_| start + secs), exitstatus: exit.map(str::to_owned), log: lines, pending: None }
}
