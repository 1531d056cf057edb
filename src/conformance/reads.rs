//! Read cases, and the backend's own `execute` (the same calls on every backend; `qm`/`pct`
//! end in the foreground), each on guests it seeds.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::drive::{execute_power, follow};
use super::env::CaseEnv;
use crate::backend::sim::GuestSeed;
use crate::backend::{Backend, BackendExt, GuestFilter, Mutation, PowerAction, Started, TaskFilter};
use crate::model::{ExitStatus, GuestKind, GuestRef, NodeName};

/// Guests are listed sorted by vmid with their node, kind and status; a kind filter keeps only
/// that kind.
pub async fn lists_seeded_guests(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let vm = env.seed(0, GuestKind::Qemu, GuestSeed::running);
    let ct = env.seed(1, GuestKind::Lxc, |g| g);
    let all = b.guests(&GuestFilter::default()).await.expect("guest list");
    assert!(all.windows(2).all(|w| w[0].vmid < w[1].vmid), "sorted by vmid");
    let find = |v| all.iter().find(|g| g.vmid == v).unwrap_or_else(|| panic!("guest {v} listed"));
    let (g0, g1) = (find(vm), find(ct));
    assert_eq!((g0.kind, &g0.node, g0.status.as_str()), (GuestKind::Qemu, &env.node, "running"));
    assert_eq!((g1.kind, &g1.node, g1.status.as_str()), (GuestKind::Lxc, &env.node, "stopped"));
    if let Some(n) = &env.caps.node {
        assert!(all.iter().all(|g| g.node == *n), "only the local node's guests");
    }
    let lxc = b.guests(&GuestFilter { kind: Some(GuestKind::Lxc), ..GuestFilter::default() }).await.expect("filtered");
    assert!(lxc.iter().all(|g| g.kind == GuestKind::Lxc));
    assert!(lxc.iter().any(|g| g.vmid == ct) && !lxc.iter().any(|g| g.vmid == vm));
}

/// A located guest's status, config and snapshots agree with what was seeded.
pub async fn reads_one_guest(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let vmid = env.seed(0, GuestKind::Qemu, GuestSeed::running);
    let r = b.locate(vmid).await.expect("the seeded guest is found");
    assert_eq!((r.kind, &r.node), (GuestKind::Qemu, &env.node));
    let s = b.guest_status(&r).await.expect("status");
    assert_eq!((s.vmid, &s.node, s.kind, s.status.as_str()), (r.vmid, &r.node, r.kind, "running"));
    let c = b.guest_config(&r).await.expect("config");
    assert_eq!(c.get("name"), Some(format!("vm{vmid}").as_str()));
    assert!(c.get("memory").is_some());
    let snaps = b.snapshots(&r).await.expect("snapshots");
    assert_eq!(snaps.iter().filter(|s| s.is_current()).count(), 1, "{snaps:?}");
}

/// A vmid no guest has is `NotFound` (exit 5), on discovery and on a direct read.
pub async fn unknown_guest_is_not_found(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let vmid = env.vmid(0);
    let e = b.locate(vmid).await.expect_err("no such guest");
    assert_eq!(e.exit_code(), 5, "{e}");
    let e = b.guest_config(&GuestRef { vmid, node: env.node.clone(), kind: GuestKind::Qemu }).await.expect_err("no such config");
    assert_eq!(e.exit_code(), 5, "{e}");
}

/// A task the node never had is `NotFound` (exit 5) for its status and its log, though PVE
/// answers the log of such a task with a line, not an error (qm-pct: unsupported, exit 2).
pub async fn unknown_task_is_not_found(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let upid: crate::model::Upid =
        format!("UPID:{}:00000001:00000001:00000001:qmstart:{}:root@pam:", env.node, env.vmid(0)).parse().expect("upid");
    let want = if env.caps.cluster_api { 5 } else { 2 };
    let e = b.task_status(&upid).await.expect_err("no such task");
    assert_eq!(e.exit_code(), want, "status: {e}");
    let e = b.task_log(&upid, 0, 50).await.expect_err("no such task");
    assert_eq!(e.exit_code(), want, "log: {e}");
}

/// Nodes list the seeding node; with the cluster API, its status, storages and the cluster
/// status read too (qm-pct reports storages unsupported, exit 2).
pub async fn cluster_reads(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let nodes = b.nodes().await.expect("nodes");
    let names: BTreeSet<NodeName> = nodes.iter().map(|n| n.node.parse().expect("node name")).collect();
    assert!(names.contains(&env.node), "{names:?}");
    if !env.caps.cluster_api {
        let e = b.storages(None).await.expect_err("unsupported");
        assert_eq!(e.exit_code(), 2, "{e}");
        return;
    }
    assert!(b.node_status(&env.node).await.expect("node status").memory.total.is_some());
    let storages = b.storages(Some(&env.node)).await.expect("storages");
    assert!(!storages.is_empty());
    assert!(b.cluster_status().await.expect("cluster status").iter().any(|e| e.entry_type == "cluster"));
}

/// The task of an action is listed for its guest, ends `OK`, and its log ends `TASK OK`.
pub async fn task_reads(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let vmid = env.seed(0, GuestKind::Qemu, |g| g);
    let r = b.locate(vmid).await.expect("locate");
    // pvesh waits for the worker in the foreground and names its task; REST returns at once.
    let upid = match b.execute(&Mutation::Power { guest: r.clone(), action: PowerAction::Start, params: Vec::new() }).await.expect("start")
    {
        Started::Task(upid) => {
            assert_eq!(follow(b.as_ref(), &upid).await, ExitStatus::Ok);
            upid
        }
        Started::Finished { upid: Some(upid), exit, .. } => {
            assert_eq!(exit, ExitStatus::Ok);
            upid
        }
        other => panic!("an API backend names the task, got {other:?}"),
    };
    let tasks = b.tasks(&env.node, &TaskFilter { vmid: Some(vmid), ..TaskFilter::default() }).await.expect("tasks");
    assert!(tasks.iter().any(|t| t.upid == upid), "{upid} among {tasks:?}");
    let log = b.task_log(&upid, 0, 500).await.expect("log");
    assert_eq!(log.last().map(|l| l.t.as_str()), Some("TASK OK"), "{log:?}");
}

/// Stop then start a qemu guest and an lxc container through `execute`, following each task
/// to its end, and see the state change.
pub async fn execute_stop_and_start(b: &Arc<dyn Backend>, env: &CaseEnv) {
    for (i, kind) in [(0, GuestKind::Qemu), (1, GuestKind::Lxc)] {
        let vmid = env.seed(i, kind, GuestSeed::running);
        let r = b.locate(vmid).await.expect("locate");
        for (action, expect) in [(PowerAction::Stop, "stopped"), (PowerAction::Start, "running")] {
            assert_eq!(execute_power(b.as_ref(), &r, action).await, ExitStatus::Ok, "{action} {vmid}");
            assert_eq!(b.guest_status(&r).await.expect("status").status, expect, "after {action} {vmid}");
            assert_eq!(env.guest(vmid).status, expect, "the simulator agrees");
        }
    }
}
