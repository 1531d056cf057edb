//! The seeded clusters: [`demo_state`] (small, varied, for trying pvectl and for tests) and
//! [`generated_state`] (large, for benchmarks).
//!
//! Both are simulated data, not captures of a real cluster; both are deterministic (fixed
//! timestamps around 2026-01-01, no randomness), so two seeded states compare equal.

use super::access::{PVE_AUDITOR, SimAcl, SimToken};
use super::seed::{NOW, lxc, node, qemu, snapshot, storage, task};
use super::state::{SimPool, SimState, SimVolume, VersionInfo};

/// The demo cluster `demo`: nodes `pve1`, `pve2`, `pve3`; qemu guests 100, 101, 103, 104
/// (paused), 107, 108 and the template 9000; lxc guests 102, 105, 106 (locked `backup`),
/// 109, 110; pools `prod` and `lab`; storages `local` (dir, per node) and `nas` (nfs,
/// shared); snapshot trees on 100 (three levels and a branch), 102 (lxc, two levels) and
/// 109; finished tasks on every node (OK, `WARNINGS: 1`, and `VM 103 not running`) and one
/// running `vzdump` on pve2.
pub fn demo_state() -> SimState {
    let mut web = qemu(100, "pve1", "web01", 2048, 2, 32, true);
    web.tags = vec!["prod".into(), "web".into()];
    web.pool = Some("prod".into());
    web.config.push(("description".into(), "Main web server\nOwner: ops team <ops@example.com>".into()));
    // No image in the CD drive: a local ISO would keep the VM from migrating (qemu-server
    // QemuMigrate: `local cdrom image`), and the demo shows a migratable web server.
    web.config.push(("ide2".into(), "none,media=cdrom".into()));
    web.config.push(("onboot".into(), "1".into()));
    let s1 = snapshot(&web, "pre-upgrade", None, NOW - 2_592_000, "Before the Debian 13 upgrade");
    let s2 = snapshot(
        &web,
        "post-upgrade",
        Some("pre-upgrade"),
        NOW - 1_728_000,
        "After upgrade: all services checked\nsecond line is not listed",
    );
    let s3 = snapshot(&web, "nginx-tuned", Some("post-upgrade"), NOW - 864_000, "");
    let mut s4 = snapshot(&web, "php-test", Some("pre-upgrade"), NOW - 2_000_000, "Branch: PHP 8.4 trial");
    s4.vmstate = true;
    web.snapshots = vec![s1, s4, s2, s3];
    web.parent = Some("nginx-tuned".into());

    let mut db = qemu(101, "pve1", "db01", 8192, 4, 64, true);
    db.tags = vec!["db".into(), "prod".into()];
    db.pool = Some("prod".into());
    db.protection = true;
    db.hastate = Some("started".into());

    let mut dns = lxc(102, "pve1", "dns01", 512, 1, 8, true);
    dns.tags = vec!["infra".into()];
    dns.pool = Some("prod".into());
    dns.config.push(("description".into(), "DNS resolver\nzone: lab.example.org".into()));
    dns.config.push(("lxc.apparmor.profile".into(), "generated".into()));
    let d1 = snapshot(&dns, "base", None, NOW - 3_000_000, "Fresh container");
    let d2 = snapshot(&dns, "configured", Some("base"), NOW - 2_500_000, "unbound configured: forwarding to 9.9.9.9");
    dns.snapshots = vec![d1, d2];
    dns.parent = Some("configured".into());

    let build = qemu(103, "pve1", "build01", 2048, 2, 40, false);

    let mut app = qemu(104, "pve2", "app01", 4096, 2, 32, true);
    app.qmpstatus = Some("paused".into());
    app.cpu = 0.0;
    // A paused VM's agent cannot answer; the demo's way to show "agent not running".
    for (k, v) in &mut app.config {
        if k == "agent" {
            "0".clone_into(v);
        }
    }
    app.tags = vec!["web".into()];

    let mut proxy = lxc(105, "pve2", "proxy01", 1024, 2, 8, true);
    proxy.tags = vec!["prod".into(), "web".into()];
    let mut agent = lxc(106, "pve2", "backup-agent", 512, 1, 4, false);
    agent.lock = Some("backup".into());

    let mut win = qemu(107, "pve3", "win-test", 8192, 4, 80, false);
    win.tags = vec!["test".into()];
    win.pool = Some("lab".into());
    set(&mut win.config, "ostype", "win11");
    let mut mon = qemu(108, "pve3", "monitor01", 2048, 2, 20, true);
    mon.tags = vec!["infra".into(), "monitoring".into()];
    let mut ci = lxc(109, "pve3", "ci-runner", 4096, 4, 32, true);
    ci.pool = Some("lab".into());
    ci.snapshots = vec![snapshot(&ci, "clean", None, NOW - 600_000, "Clean runner image")];
    ci.parent = Some("clean".into());
    let mail = lxc(110, "pve3", "mail01", 1024, 1, 16, false);
    let mut tmpl = qemu(9000, "pve3", "debian-13-tmpl", 2048, 2, 10, false);
    tmpl.template = true;

    let mut local = storage("local", "dir", &["backup", "iso", "vztmpl"], false, &["pve1", "pve2", "pve3"], (94, 11));
    local.options.push(("path".into(), "/var/lib/vz".into()));
    let mut nas = storage("nas", "nfs", &["images", "rootdir", "backup"], true, &["pve1", "pve2", "pve3"], (3_840, 1_210));
    nas.options.push(("server".into(), "192.0.2.50".into()));
    nas.options.push(("export".into(), "/export/pve".into()));

    let mut state = SimState {
        cluster_name: "demo".into(),
        version: VersionInfo { version: "9.1.4".into(), release: "9.1".into(), repoid: "5ac30304265fbd8e".into() },
        nodes: vec![
            node("pve1", "192.0.2.11", 32, 128, 42),
            node("pve2", "192.0.2.12", 16, 64, 31),
            node("pve3", "192.0.2.13", 16, 64, 18),
        ],
        guests: vec![web, db, dns, build, app, proxy, agent, win, mon, ci, mail, tmpl],
        storages: vec![local, nas],
        pools: vec![
            SimPool { poolid: "prod".into(), comment: Some("Production services".into()), storage: vec!["nas".into()] },
            SimPool { poolid: "lab".into(), comment: None, storage: Vec::new() },
        ],
        tasks: demo_tasks(),
        faults: super::faults::Faults::default(),
        settings: super::task_state::Settings::default(),
        ha_pending: Vec::new(),
        tokens: demo_tokens(),
        volumes: Vec::new(),
        backup_jobs: vec![demo_job()],
        ..SimState::default()
    };
    state.sort_guests();
    state.volumes = demo_volumes(&state);
    state.health = super::node_health::demo_health(&["pve1", "pve2", "pve3"]);
    state
}

/// Backups on `nas` (102 from the finished demo vzdump task, an older one of 106 whose
/// backup is running now, a protected one of 100 with notes) and a container template on
/// `local` (on every node).
fn demo_volumes(state: &SimState) -> Vec<SimVolume> {
    let backup = |vmid: u32, at: u64, format: &str, size: u64, notes: Option<&str>, protected: bool| {
        let g = state.guest(vmid).expect("demo guest");
        let kind = g.kind.as_str();
        let stamp = crate::model::time::format_utc(at).replace('-', "_").replace(' ', "-").replace(':', "_");
        let mut copy = g.clone();
        copy.snapshots.clear();
        copy.parent = None;
        copy.lock = None;
        SimVolume {
            volid: format!("nas:backup/vzdump-{kind}-{vmid}-{stamp}.{format}"),
            content: "backup".into(),
            format: format.into(),
            size,
            ctime: at,
            vmid: Some(vmid),
            subtype: Some(kind.into()),
            notes: notes.map(str::to_owned),
            protected,
            node: None,
            guest: Some(Box::new(copy)),
        }
    };
    let mut v = vec![
        backup(100, NOW - 172_800, "vma.zst", 3_874_201_088, Some("web01 before upgrade\nkept for audit"), true),
        backup(102, NOW - 5_400, "tar.zst", 412_316_860, Some("dns01"), false),
        backup(106, NOW - 86_460, "tar.zst", 187_904_819, None, false),
        SimVolume {
            volid: "local:iso/debian-13.1.0-amd64-netinst.iso".into(),
            content: "iso".into(),
            format: "iso".into(),
            size: 790_626_304,
            ctime: NOW - 2_500_000,
            ..SimVolume::default()
        },
        SimVolume {
            volid: "local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst".into(),
            content: "vztmpl".into(),
            format: "tzst".into(),
            size: 129_468_416,
            ctime: NOW - 3_000_000,
            ..SimVolume::default()
        },
    ];
    v.sort_by_key(|a| a.volid.to_lowercase());
    v
}

/// The demo's backup job: nightly at 21:00 to `nas`, guests 100, 101, 102 and 105.
fn demo_job() -> serde_json::Map<String, serde_json::Value> {
    let job = serde_json::json!({
        "id": "backup-5ac3d1e0-8b2f", "type": "vzdump", "schedule": "21:00", "enabled": 1,
        "storage": "nas", "mode": "snapshot", "compress": "zstd", "vmid": "100,101,102,105",
        "notes-template": "{{guestname}}", "prune-backups": {"keep-last": "3"}, "repeat-missed": 0,
        "fleecing": {"enabled": "0"}, "comment": "nightly production backup",
    });
    job.as_object().cloned().expect("an object")
}

/// The API tokens of both seeded states as `(tokenid, secret)`. TEST DATA: the secrets are
/// published here and must never be given to a real node.
/// - `root@pam!pvectl`: no privilege separation, so every privilege (root@pam's);
/// - `auditor@pve!ro`: privilege-separated, the `PVEAuditor` privileges on `/` (reads only);
/// - `auditor@pve!empty`: privilege-separated without ACLs: empty guest, storage and pool
///   lists, nodes without figures, `403` on everything else.
pub const DEMO_TOKENS: [(&str, &str); 3] = [
    ("root@pam!pvectl", "00000000-5eed-4000-8000-000000000001"),
    ("auditor@pve!ro", "00000000-5eed-4000-8000-000000000002"),
    ("auditor@pve!empty", "00000000-5eed-4000-8000-000000000003"),
];

fn demo_tokens() -> Vec<SimToken> {
    let [(root, root_secret), (ro, ro_secret), (empty, empty_secret)] = DEMO_TOKENS;
    vec![
        SimToken::new(root, root_secret, false, Vec::new()),
        SimToken::new(ro, ro_secret, true, vec![SimAcl::new("/", PVE_AUDITOR)]),
        SimToken::new(empty, empty_secret, true, Vec::new()),
    ]
}

fn set(config: &mut [(String, String)], key: &str, value: &str) {
    if let Some(e) = config.iter_mut().find(|(k, _)| k == key) {
        value.clone_into(&mut e.1);
    }
}

fn demo_tasks() -> Vec<super::task_state::SimTask> {
    let warn = "WARN: no efidisk configured! Using temporary efivars disk.";
    vec![
        task("pve1", 0x1A2B, NOW - 7_200, "qmstart", "100", 2, Some("OK"), &[]),
        task(
            "pve1",
            0x1A40,
            NOW - 5_400,
            "vzdump",
            "102",
            95,
            Some("OK"),
            &[
                "INFO: starting new backup job: vzdump 102 --storage nas --mode snapshot",
                "INFO: Starting Backup of VM 102 (lxc)",
                "INFO: status = running",
                "INFO: backup mode: snapshot",
                "INFO: Finished Backup of VM 102 (00:01:35)",
                "INFO: Backup job finished successfully",
            ],
        ),
        task("pve1", 0x1B07, NOW - 3_600, "qmshutdown", "103", 1, Some("VM 103 not running"), &[]),
        task("pve2", 0x2C10, NOW - 6_000, "vzstart", "105", 3, Some("OK"), &[]),
        task("pve2", 0x2C55, NOW - 4_000, "qmsuspend", "104", 1, Some("OK"), &[]),
        task(
            "pve2",
            0x2D01,
            NOW - 60,
            "vzdump",
            "106",
            0,
            None,
            &["INFO: starting new backup job: vzdump 106 --storage nas --mode stop", "INFO: Starting Backup of VM 106 (lxc)"],
        ),
        task("pve3", 0x3E01, NOW - 8_000, "aptupdate", "", 12, Some("OK"), &["starting apt-get update"]),
        task("pve3", 0x3E20, NOW - 2_400, "qmstart", "108", 4, Some("WARNINGS: 1"), &[warn]),
        task("pve3", 0x3E31, NOW - 1_200, "vzsnapshot", "109", 2, Some("OK"), &[]),
    ]
}

/// A large cluster for benchmarks: `guests` guests (every fourth an lxc container, two
/// thirds running, vmids from 100) over `max(3, guests / 500)` nodes (at most 64), the
/// same two storages as the demo, one finished task per node.
///
/// # Panics
/// When `guests` exceeds `u32::MAX` (vmids are 32-bit).
pub fn generated_state(guests: usize) -> SimState {
    let node_count = (guests / 500).clamp(3, 64);
    let names: Vec<String> = (1..=node_count).map(|i| format!("pve{i}")).collect();
    let nodes = names.iter().enumerate().map(|(i, n)| node(n, &format!("10.0.{}.{}", i / 250, i % 250 + 1), 64, 512, 150)).collect();
    let mut list = Vec::with_capacity(guests);
    for i in 0..guests {
        let vmid = 100 + u32::try_from(i).expect("guest count fits u32");
        let node = &names[i % node_count];
        let running = i % 3 != 0;
        let mut g = if i % 4 == 3 {
            lxc(vmid, node, &format!("ct-{vmid}"), 1024, 1, 8, running)
        } else {
            qemu(vmid, node, &format!("vm-{vmid}"), 2048, 2, 32, running)
        };
        if i % 5 == 0 {
            g.tags = vec!["bench".into(), format!("group{}", i % 7)];
        }
        if i % 10 == 0 {
            g.pool = Some("bench".into());
        }
        list.push(g);
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let tasks = names
        .iter()
        .enumerate()
        .map(|(i, n)| task(n, 0x4000 + u32::try_from(i).expect("node count fits u32"), NOW - 600, "aptupdate", "", 9, Some("OK"), &[]))
        .collect();
    SimState {
        cluster_name: "bench".into(),
        version: VersionInfo { version: "9.1.4".into(), release: "9.1".into(), repoid: "5ac30304265fbd8e".into() },
        nodes,
        guests: list,
        storages: vec![
            storage("local", "dir", &["backup", "iso", "vztmpl"], false, &refs, (94, 11)),
            storage("nas", "nfs", &["images", "rootdir", "backup"], true, &refs, (100 * 1024, 40 * 1024)),
        ],
        pools: vec![SimPool { poolid: "bench".into(), comment: None, storage: Vec::new() }],
        tasks,
        faults: super::faults::Faults::default(),
        settings: super::task_state::Settings::default(),
        ha_pending: Vec::new(),
        tokens: demo_tokens(),
        volumes: Vec::new(),
        backup_jobs: Vec::new(),
        ..SimState::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::GuestKind;

    #[test]
    fn demo_has_the_promised_variety() {
        let s = demo_state();
        assert_eq!(s, demo_state(), "deterministic");
        assert_eq!(s.nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(), ["pve1", "pve2", "pve3"]);
        let qemu = s.guests.iter().filter(|g| g.kind == GuestKind::Qemu).count();
        let lxc = s.guests.iter().filter(|g| g.kind == GuestKind::Lxc).count();
        assert!(qemu >= 6 && lxc >= 4, "{qemu} qemu, {lxc} lxc");
        assert!(s.guests.iter().any(|g| g.template));
        assert!(s.guests.iter().any(super::super::state::SimGuest::is_running) && s.guests.iter().any(|g| !g.is_running()));
        assert!(s.guests.iter().any(|g| g.pool.as_deref() == Some("prod")));
        assert!(s.guests.iter().any(|g| !g.tags.is_empty()));
        assert!(s.guests.iter().any(|g| g.kind == GuestKind::Lxc && !g.snapshots.is_empty()));
        let web = s.guest(100).expect("100");
        assert!(web.snapshots.iter().any(|sn| sn.parent.as_deref() == Some("post-upgrade")), "3-level tree");
        assert_eq!(s.storages.len(), 2);
        assert!(s.storages.iter().any(|st| st.shared) && s.storages.iter().any(|st| !st.shared));
        for n in &s.nodes {
            assert!(s.tasks.iter().any(|t| t.upid.node.as_str() == n.name), "tasks on {}", n.name);
        }
        let exits: Vec<_> = s.tasks.iter().filter_map(|t| t.exitstatus.as_deref()).collect();
        assert!(exits.contains(&"OK") && exits.contains(&"WARNINGS: 1") && exits.contains(&"VM 103 not running"));
        assert!(s.guests.windows(2).all(|w| w[0].vmid < w[1].vmid), "sorted by vmid");
    }

    #[test]
    fn generated_state_scales() {
        let s = generated_state(10_000);
        assert_eq!(s.guests.len(), 10_000);
        assert_eq!(s.nodes.len(), 20);
        assert_eq!(s, generated_state(10_000));
    }
}
