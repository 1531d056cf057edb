//! The conformance suite (STYLE.md §17): one behaviour per function, each taking
//! `&dyn Backend` and the backend's capabilities, so every backend — the in-process sim, the
//! command backend on the `pve-sim` tools locally (pvesh and qm-pct), over a real sshd, through
//! a jump host, and REST — is held to the same answers. The states behind them are the
//! simulator's demo cluster (produced by our simulator, not captured from PVE).
//! Included by several test binaries with `#[path]`.

#![allow(dead_code, reason = "each test binary runs the functions its backends support")]

use pvectl::backend::{Backend, BackendExt, GuestFilter, Mutation, PowerAction, Started, TaskFilter};
use pvectl::model::{ExitStatus, GuestKind, GuestRef, NodeName, Upid, Vmid};

/// What a backend can do.
#[derive(Debug, Clone)]
pub(crate) struct Caps {
    /// Cluster-wide API reads (tasks, storage, nodes' status): false for `--tools qm-pct`.
    pub(crate) cluster_api: bool,
    /// The only node it sees (qm-pct), or `None` for the whole cluster.
    pub(crate) node: Option<NodeName>,
}

fn vmid(n: u32) -> Vmid {
    Vmid::new(n).expect("valid vmid")
}

/// Guests are listed sorted by vmid with node and kind, and include qemu and lxc.
pub(crate) async fn lists_guests(b: &dyn Backend, caps: &Caps) {
    let g = b.guests(&GuestFilter::default()).await.expect("guest list");
    assert!(!g.is_empty());
    assert!(g.windows(2).all(|w| w[0].vmid < w[1].vmid), "sorted by vmid");
    assert!(g.iter().any(|x| x.kind == GuestKind::Qemu) && g.iter().any(|x| x.kind == GuestKind::Lxc));
    if let Some(n) = &caps.node {
        assert!(g.iter().all(|x| x.node == *n));
    } else {
        let nodes: std::collections::BTreeSet<_> = g.iter().map(|x| x.node.clone()).collect();
        assert_eq!(nodes.len(), 3);
    }
    let lxc = b.guests(&GuestFilter { kind: Some(GuestKind::Lxc), ..GuestFilter::default() }).await.expect("filtered");
    assert!(!lxc.is_empty() && lxc.iter().all(|x| x.kind == GuestKind::Lxc));
}

/// A located guest's status, config and snapshots agree with its listing.
pub(crate) async fn reads_one_guest(b: &dyn Backend, _caps: &Caps) {
    let r = b.locate(vmid(100)).await.expect("guest 100 exists on every backend's node");
    assert_eq!(r.kind, GuestKind::Qemu);
    let s = b.guest_status(&r).await.expect("status");
    assert_eq!((s.vmid, &s.node, s.kind), (r.vmid, &r.node, r.kind));
    assert_eq!(s.status, "running");
    let c = b.guest_config(&r).await.expect("config");
    assert!(c.get("memory").is_some() && c.get("name").is_some());
    let snaps = b.snapshots(&r).await.expect("snapshots");
    assert_eq!(snaps.iter().filter(|s| s.is_current()).count(), 1);
}

/// A vmid no guest has is `NotFound` (exit 5), on discovery and on a direct read.
pub(crate) async fn unknown_guest_is_not_found(b: &dyn Backend, caps: &Caps) {
    let e = b.locate(vmid(4242)).await.expect_err("no such guest");
    assert_eq!(e.exit_code(), 5, "{e}");
    let node = caps.node.clone().unwrap_or_else(|| "pve1".parse().expect("node"));
    let e = b.guest_config(&GuestRef { vmid: vmid(4242), node, kind: GuestKind::Qemu }).await.expect_err("no such config");
    assert_eq!(e.exit_code(), 5, "{e}");
}

/// Nodes, storages and tasks (API backends only; qm-pct reports them unsupported, exit 2).
pub(crate) async fn cluster_reads(b: &dyn Backend, caps: &Caps) {
    if !caps.cluster_api {
        let e = b.storages(None).await.expect_err("unsupported");
        assert_eq!(e.exit_code(), 2);
        return;
    }
    let nodes = b.nodes().await.expect("nodes");
    assert_eq!(nodes.len(), 3);
    let n: NodeName = nodes[0].node.parse().expect("node name");
    assert!(b.node_status(&n).await.expect("node status").memory.total.is_some());
    assert!(b.storages(None).await.expect("storages").len() >= 2);
    let tasks = b.tasks(&n, &TaskFilter::default()).await.expect("tasks");
    let t = tasks.first().expect("the demo has finished tasks");
    let st = b.task_status(&t.upid).await.expect("task status");
    assert!(st.is_stopped());
    let log = b.task_log(&t.upid, 0, 500).await.expect("log");
    assert!(log.last().is_some_and(|l| l.t.starts_with("TASK ")), "{log:?}");
    assert!(b.cluster_status().await.expect("cluster status").iter().any(|e| e.entry_type == "cluster"));
}

/// A task the node never had is `NotFound` (exit 5) for its status and its log, though PVE
/// answers the log of such a task with a line, not an error (qm-pct: unsupported, exit 2).
pub(crate) async fn unknown_task_is_not_found(b: &dyn Backend, caps: &Caps) {
    let upid: Upid = "UPID:pve1:00000001:00000001:00000001:qmstart:100:root@pam:".parse().expect("upid");
    let want = if caps.cluster_api { 5 } else { 2 };
    let e = b.task_status(&upid).await.expect_err("no such task");
    assert_eq!(e.exit_code(), want, "status: {e}");
    let e = b.task_log(&upid, 0, 50).await.expect_err("no such task");
    assert_eq!(e.exit_code(), want, "log: {e}");
}

/// Stop then start guest 100 through `execute`, following the task to its end, and see the
/// state change; the same calls on every backend (qm/pct end in the foreground).
pub(crate) async fn stop_and_start(b: &dyn Backend, _caps: &Caps) {
    let r = b.locate(vmid(100)).await.expect("locate");
    for (action, expect) in [(PowerAction::Stop, "stopped"), (PowerAction::Start, "running")] {
        let started = b.execute(&Mutation::Power { guest: r.clone(), action, params: Vec::new() }).await.expect("execute");
        match started {
            Started::Task(upid) => {
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
                loop {
                    let st = b.task_status(&upid).await.expect("task status");
                    if st.is_stopped() {
                        assert_eq!(st.exitstatus, Some(ExitStatus::Ok));
                        break;
                    }
                    assert!(std::time::Instant::now() < deadline, "task did not end");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
            Started::Finished { exit, .. } => assert_eq!(exit, ExitStatus::Ok),
            Started::Value(v) => panic!("a power action returns a task, got {v}"),
        }
        assert_eq!(b.guest_status(&r).await.expect("status").status, expect, "after {action}");
    }
}

/// Runs every function of the suite against `b`.
pub(crate) async fn run_all(b: &dyn Backend, caps: &Caps) {
    lists_guests(b, caps).await;
    reads_one_guest(b, caps).await;
    unknown_guest_is_not_found(b, caps).await;
    unknown_task_is_not_found(b, caps).await;
    cluster_reads(b, caps).await;
    stop_and_start(b, caps).await;
}
