//! Each action's report through pvectl's engine (DESIGN.md §3): what was read before, the
//! task, the state re-read after, and whether anything changed — on guests the case seeds.

use std::sync::Arc;

use super::drive::{Consent, done, engine_run, power};
use super::env::CaseEnv;
use crate::backend::sim::GuestSeed;
use crate::backend::{Backend, PowerAction};
use crate::model::{GuestKind, SnapshotName};
use crate::workflow::{Report, SnapshotAction, SnapshotOp};

/// Asserts a report of a change that ended `OK`, from `before` to `after` (run states).
fn assert_changed(r: &Report, env: &CaseEnv, action: &str, before: &str, after: &str) {
    assert_eq!(r.action, action);
    let target = r.target.as_ref().expect("a guest action names its target");
    assert_eq!(&target.node, &env.node, "{r:?}");
    let task = r.task.as_ref().expect("the task is reported");
    assert_eq!((task.status.as_str(), task.exitstatus.as_deref()), ("stopped", Some("OK")), "{r:?}");
    assert_eq!(task.upid.is_some(), env.caps.upids, "a UPID where the backend has one: {r:?}");
    assert!(r.changed, "{r:?}");
    assert_eq!(r.before.as_ref().map(|s| s.status.as_str()), Some(before), "{r:?}");
    assert_eq!(r.after.as_ref().map(|s| s.status.as_str()), Some(after), "{r:?}");
}

/// Starting a stopped guest reports the task `OK`, `changed: true` and `after.status:
/// running`; the simulator shows it running.
pub async fn start_reports_the_change(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let vmid = env.seed(0, GuestKind::Qemu, |g| g);
    let r = done(power(b, vmid, PowerAction::Start, Consent::None).await);
    assert_changed(&r, env, "start", "stopped", "running");
    assert_eq!(r.target.as_ref().map(|t| (t.vmid, t.kind)), Some((vmid, GuestKind::Qemu)));
    assert!(env.guest(vmid).is_running());
    assert_eq!(env.tasks(vmid).len(), 1, "one call, sent once");
}

/// Starting a running guest changes nothing and sends nothing: `changed: false`, no task.
pub async fn start_of_running_guest_is_a_noop(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let vmid = env.seed(0, GuestKind::Lxc, GuestSeed::running);
    let r = done(power(b, vmid, PowerAction::Start, Consent::None).await);
    assert!(!r.changed && r.task.is_none(), "{r:?}");
    assert_eq!(r.before.as_ref().map(|s| s.status.as_str()), Some("running"));
    env.assert_untouched(vmid, "running");
}

/// With consent, shutdown (disruptive) of a qemu guest and stop (destructive) of a container
/// report the change to `stopped`.
pub async fn shutdown_and_stop_report_with_consent(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let vm = env.seed(0, GuestKind::Qemu, GuestSeed::running);
    let ct = env.seed(1, GuestKind::Lxc, GuestSeed::running);
    let r = done(power(b, vm, PowerAction::Shutdown, Consent::Yes).await);
    assert_changed(&r, env, "shutdown", "running", "stopped");
    let r = done(power(b, ct, PowerAction::Stop, Consent::Yes).await);
    assert_changed(&r, env, "stop", "running", "stopped");
    assert!(!env.guest(vm).is_running() && !env.guest(ct).is_running());
}

/// Creating a snapshot reports it among the snapshots after (not before); deleting it, with
/// consent, reports it gone. The backend lists it in between.
pub async fn snapshot_create_and_delete_report(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let vmid = env.seed(0, GuestKind::Qemu, |g| g);
    let name: SnapshotName = "conformance1".parse().expect("snapshot name");
    let action = |op| SnapshotAction { vmid, node: None, kind: None, op };
    let create = SnapshotOp::Create { name: name.clone(), description: Some("seeded by a case".into()), vmstate: false };
    let r = done(engine_run(b, &action(create), Consent::None).await);
    let has = |s: &Option<crate::workflow::GuestState>| {
        s.as_ref().and_then(|s| s.snapshots.as_ref()).map(|l| l.iter().any(|n| *n == *name.as_str()))
    };
    assert_changed(&r, env, "snapshot create", "stopped", "stopped");
    assert_eq!((r.snapshot.as_deref(), has(&r.before), has(&r.after)), (Some(name.as_str()), Some(false), Some(true)), "{r:?}");
    let guest = r.target.clone().expect("target");
    assert!(b.snapshots(&guest).await.expect("snapshots").iter().any(|s| s.name == name.as_str()));
    assert!(env.guest(vmid).snapshots.iter().any(|s| s.name == name.as_str()));

    let r = done(engine_run(b, &action(SnapshotOp::Delete { name: name.clone() }), Consent::Yes).await);
    assert_changed(&r, env, "snapshot delete", "stopped", "stopped");
    assert_eq!((has(&r.before), has(&r.after)), (Some(true), Some(false)), "{r:?}");
    assert!(env.guest(vmid).snapshots.is_empty());
}
