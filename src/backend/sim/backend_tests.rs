//! The in-process simulator through the typed layer: every [`Backend`] read method over
//! [`SimBackend`], asserting parsed values. This proves the simulator's JSON has the shapes
//! `ApiBackend` expects (and so, by construction, what pvesh and REST give it).

use crate::backend::{Backend, BackendExt, GuestFilter, ResourceType};
use crate::error::Error;
use crate::model::{ExitStatus, GuestKind, GuestRef, NodeName, Upid, Vmid};

use super::faults::Denied;
use super::{SimBackend, SimTransport, demo_state};

fn backend() -> SimBackend {
    SimBackend::new(SimTransport::demo())
}

fn gref(vmid: u32, node: &str, kind: GuestKind) -> GuestRef {
    GuestRef { vmid: Vmid::new(vmid).expect("vmid"), node: node.parse().expect("node"), kind }
}

fn node(n: &str) -> NodeName {
    n.parse().expect("node")
}

#[tokio::test]
async fn cluster_level_reads() {
    let b = backend();
    assert_eq!(b.describe(), "Sim");
    let v = b.version().await.expect("version");
    assert_eq!((v.version.as_deref(), v.release.as_deref()), (Some("9.1.4"), Some("9.1")));
    let cs = b.cluster_status().await.expect("cluster status");
    assert_eq!(cs[0].entry_type, "cluster");
    assert_eq!((cs[0].nodes, cs[0].quorate), (Some(3), Some(1)));
    assert_eq!(cs.iter().filter(|e| e.entry_type == "node" && e.local == Some(1)).count(), 1);
    let nodes = b.nodes().await.expect("nodes");
    assert_eq!(nodes.iter().map(|n| n.node.as_str()).collect::<Vec<_>>(), ["pve1", "pve2", "pve3"]);
    assert!(nodes.iter().all(|n| n.status.as_deref() == Some("online") && n.maxmem > Some(0)));
    let ns = b.node_status(&node("pve2")).await.expect("node status");
    assert_eq!(ns.node, "pve2");
    assert_eq!(ns.cpuinfo.cpus, Some(16));
    assert_eq!(ns.loadavg.len(), 3);
    assert!(ns.memory.total > ns.memory.used && ns.pveversion.as_deref().is_some_and(|p| p.starts_with("pve-manager/9.1.4/")));
    let all = b.cluster_resources(None).await.expect("resources");
    for t in ["qemu", "lxc", "node", "storage", "pool"] {
        assert!(all.iter().any(|r| r.resource_type == t), "{t}");
    }
    let nodes_only = b.cluster_resources(Some(ResourceType::Node)).await.expect("nodes");
    assert!(nodes_only.iter().all(|r| r.resource_type == "node") && nodes_only.len() == 3);
}

#[tokio::test]
async fn guests_and_guest_details() {
    let b = backend();
    let guests = b.guests(&GuestFilter::default()).await.expect("guests");
    assert_eq!(guests.len(), 12);
    let web = guests.iter().find(|g| g.vmid.get() == 100).expect("100");
    assert_eq!((web.name.as_deref(), web.node.as_str(), web.kind), (Some("web01"), "pve1", GuestKind::Qemu));
    assert_eq!((web.tags.clone(), web.pool.as_deref()), (vec!["prod".to_owned(), "web".to_owned()], Some("prod")));
    assert!(guests.iter().any(|g| g.template));
    assert_eq!(guests.iter().find(|g| g.vmid.get() == 106).and_then(|g| g.lock.as_deref()), Some("backup"));
    let lxc = b.guests(&GuestFilter { kind: Some(GuestKind::Lxc), ..GuestFilter::default() }).await.expect("lxc");
    assert_eq!(lxc.len(), 5);
    assert_eq!(b.locate(Vmid::new(109).expect("vmid")).await.expect("locate"), gref(109, "pve3", GuestKind::Lxc));

    let st = b.guest_status(&gref(104, "pve2", GuestKind::Qemu)).await.expect("status");
    assert_eq!((st.status.as_str(), st.qmpstatus.as_deref()), ("running", Some("paused")));
    let ha = b.guest_status(&gref(101, "pve1", GuestKind::Qemu)).await.expect("status");
    assert_eq!(ha.ha_state.as_deref(), Some("started"));
    let cfg = b.guest_config(&gref(100, "pve1", GuestKind::Qemu)).await.expect("config");
    assert_eq!(cfg.get("description"), Some("Main web server\nOwner: ops team <ops@example.com>"));
    assert_eq!(cfg.get("memory"), Some("2048"));
    assert!(cfg.digest.as_ref().is_some_and(|d| d.len() == 40));
    let ct = b.guest_config(&gref(102, "pve1", GuestKind::Lxc)).await.expect("config");
    assert_eq!(ct.entries.last().map(|(k, _)| k.as_str()), Some("lxc.apparmor.profile"));
    assert_eq!(ct.get("hostname"), Some("dns01"));

    let snaps = b.snapshots(&gref(100, "pve1", GuestKind::Qemu)).await.expect("snapshots");
    assert_eq!(snaps.len(), 5);
    let current = snaps.iter().find(|s| s.is_current()).expect("current");
    assert_eq!((current.parent.as_deref(), current.snaptime), (Some("nginx-tuned"), None));
    assert!(snaps.iter().any(|s| s.name == "php-test" && s.vmstate));
}

#[tokio::test]
async fn tasks_and_storage() {
    let b = backend();
    let tasks = b.tasks(&node("pve1"), &crate::backend::TaskFilter::default()).await.expect("tasks");
    assert_eq!(tasks.len(), 3);
    assert!(tasks.windows(2).all(|w| w[0].starttime >= w[1].starttime), "newest first");
    let failed = tasks.iter().find(|t| t.status.as_deref() == Some("VM 103 not running")).expect("failed task");
    let st = b.task_status(&failed.upid).await.expect("status");
    assert!(st.is_stopped());
    assert_eq!(st.exitstatus, Some(ExitStatus::Failed("VM 103 not running".into())));
    let log = b.task_log(&failed.upid, 0, 50).await.expect("log");
    assert_eq!(log.last().map(|l| l.t.as_str()), Some("TASK ERROR: VM 103 not running"));

    let warn = b
        .tasks(&node("pve3"), &crate::backend::TaskFilter::default())
        .await
        .expect("tasks")
        .into_iter()
        .find(|t| t.status.as_deref() == Some("WARNINGS: 1"))
        .expect("warn");
    assert_eq!(b.task_status(&warn.upid).await.expect("status").exitstatus, Some(ExitStatus::Warnings(1)));
    let page = b.task_log(&warn.upid, 1, 1).await.expect("log");
    assert_eq!((page.len(), page[0].n, page[0].t.as_str()), (1, 2, "TASK WARNINGS: 1"));

    let running = demo_state().tasks.into_iter().find(super::task_state::SimTask::is_running).expect("running task");
    let st = b.task_status(&running.upid).await.expect("status");
    assert_eq!((st.status.as_str(), st.exitstatus), ("running", None));

    let unknown: Upid = "UPID:pve1:00000001:00000001:00000001:qmstart:100:root@pam:".parse().expect("upid");
    match b.task_status(&unknown).await {
        Err(Error::NotFound(m)) => assert_eq!(m, "upid: no such task"),
        other => panic!("expected no such task, got {other:?}"),
    }
    let e = b.task_log(&unknown, 0, 50).await.expect_err("log of a task the node never had");
    assert_eq!(e.exit_code(), 5, "{e}");

    let per_node = b.storages(Some(&node("pve2"))).await.expect("storage");
    assert_eq!(per_node.iter().map(|s| s.storage.as_str()).collect::<Vec<_>>(), ["local", "nas"]);
    assert!(per_node.iter().all(|s| s.active && s.total > s.used));
    let all = b.storages(None).await.expect("storage");
    assert_eq!(all.len(), 6);
    assert!(all.iter().any(|s| s.storage == "nas" && s.shared && s.storage_type.as_deref() == Some("nfs")));
}

#[tokio::test]
async fn errors_classify_like_the_cli() {
    let b = backend();
    let e = b.guest_status(&gref(100, "pve2", GuestKind::Qemu)).await.expect_err("wrong node");
    assert_eq!((e.kind(), e.to_string().as_str()), ("not_found", "Configuration file 'nodes/pve2/qemu-server/100.conf' does not exist"));
    let e = b.guest_config(&gref(100, "pve1", GuestKind::Lxc)).await.expect_err("wrong kind");
    assert_eq!(e.to_string(), "Configuration file 'nodes/pve1/lxc/100.conf' does not exist");
    let e = b.node_status(&node("nope")).await.expect_err("unknown node");
    assert_eq!(e.kind(), "not_found");
    let e = b.raw(crate::backend::Method::Get, "/nodes/pve1/bogus", &Vec::new()).await.expect_err("no handler");
    assert_eq!(e.kind(), "not_found");

    let mut state = demo_state();
    state.faults.denied.push(Denied { path: "/vms/101".into(), privilege: "VM.Audit".into() });
    let b = SimBackend::new(SimTransport::from_state(state));
    let e = b.guest_status(&gref(101, "pve1", GuestKind::Qemu)).await.expect_err("denied");
    assert_eq!((e.kind(), e.to_string().as_str()), ("permission_denied", "Permission check failed (/vms/101, VM.Audit)"));
    let guests = b.guests(&GuestFilter::default()).await.expect("guests");
    assert!(guests.iter().all(|g| g.vmid.get() != 101), "a denied guest is left out of lists");
}

#[tokio::test]
async fn a_saved_state_loads_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    super::save_state(&path, &demo_state()).expect("save");
    let state = super::load_state(&path).expect("load");
    assert_eq!(state, demo_state());
    let b = SimBackend::new(SimTransport::from_state(state));
    assert_eq!(b.guests(&GuestFilter::default()).await.expect("guests").len(), 12);
    assert!(super::load_state(&dir.path().join("missing.json")).is_err());
}

/// Ends every running task now, as if its time had come (the test controls task ends
/// instead of racing the wall clock).
fn end_running_tasks(t: &SimTransport) {
    t.with_sim(|sim| {
        for task in &mut sim.state_mut().tasks {
            if let Some(p) = task.pending.as_mut() {
                p.end_ms = 0;
            }
        }
    })
    .expect("in memory");
}

#[tokio::test]
async fn mutations_start_tasks_that_end_when_due() {
    let mut state = demo_state();
    // An hour: no task ends by itself while the test runs.
    state.settings.task_ms = 3_600_000;
    let t = SimTransport::from_state(state);
    let b = SimBackend::new(t.clone());
    let guest = gref(100, "pve1", GuestKind::Qemu);
    let m = crate::backend::Mutation::Power {
        guest: guest.clone(),
        action: crate::backend::PowerAction::Shutdown,
        params: vec![("timeout".into(), "60".into())],
    };
    let crate::backend::Started::Task(upid) = b.execute(&m).await.expect("starts") else { panic!("a UPID comes back at once") };
    assert_eq!((upid.task_type.as_str(), upid.id.as_str()), ("qmshutdown", "100"));
    let st = b.task_status(&upid).await.expect("status");
    assert_eq!((st.status.as_str(), st.exitstatus), ("running", None));
    assert_eq!(b.guest_status(&guest).await.expect("status").status, "running", "nothing changes before the end");
    end_running_tasks(&t);
    let st = b.task_status(&upid).await.expect("status");
    assert_eq!((st.status.as_str(), st.exitstatus), ("stopped", Some(ExitStatus::Ok)));
    assert_eq!(b.guest_status(&guest).await.expect("status").status, "stopped");
    let name = "snap1".parse().expect("name");
    let m = crate::backend::Mutation::SnapshotCreate { guest: guest.clone(), name, description: Some("x".into()), vmstate: false };
    b.execute(&m).await.expect("starts");
    let e = b
        .execute(&crate::backend::Mutation::Power { guest, action: crate::backend::PowerAction::Start, params: Vec::new() })
        .await
        .expect_err("locked");
    assert_eq!((e.kind(), e.to_string().as_str()), ("conflict", "VM is locked (snapshot)"));
}
