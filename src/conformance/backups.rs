//! Backups through pvectl's engine: `backup create` of several guests (each guest's outcome
//! and archive), a guest whose part of the job fails (exit 7 naming it), `backup restore` to a
//! new vmid and onto a used one (PVE's refusal, nothing sent), and `backup delete` of a
//! protected backup (policy, exit 10, then `--force`).
//!
//! Restore and backup delete find their backup by listing storage content
//! (`InventoryExt::backups`), which qm-pct cannot read: [`Caps::inventory`](super::Caps).

use std::sync::Arc;

use serde_json::Value;

use super::drive::{Consent, done, engine_run};
use super::env::CaseEnv;
use crate::backend::inventory::{BackupFilter, InventoryExt};
use crate::backend::sim::GuestSeed;
use crate::backend::{Backend, BackendExt};
use crate::error::Error;
use crate::model::{GuestKind, Vmid};
use crate::workflow::{BackupCreate, BackupDelete, BackupRestore, Outcome, Report};

/// The storage cases back up to: `local`, a `dir` storage on every node, not shared.
const STORAGE: &str = "local";

fn params(kv: &[(&str, &str)]) -> Vec<(String, String)> {
    kv.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// The `details.guests` entry of `vmid` in a `backup create` report.
fn guest_outcome(r: &Report, vmid: Vmid) -> Value {
    let guests = r.details.as_ref().and_then(|d| d["guests"].as_array()).unwrap_or_else(|| panic!("details.guests in {r:?}"));
    guests.iter().find(|g| g["vmid"] == vmid.get()).cloned().unwrap_or_else(|| panic!("guest {vmid} in {guests:?}"))
}

/// Asserts guest `vmid`'s part of the job ended `ok` with an archive on [`STORAGE`], which the
/// simulator holds and (where the backend reads storage content) the backend lists; returns
/// its volid.
async fn assert_backed_up(b: &Arc<dyn Backend>, env: &CaseEnv, r: &Report, vmid: Vmid, kind: GuestKind) -> String {
    let g = guest_outcome(r, vmid);
    assert_eq!(g["status"], "ok", "{g}");
    let volid = g["volid"].as_str().unwrap_or_else(|| panic!("a volid for guest {vmid}: {g}")).to_owned();
    assert!(volid.starts_with(&format!("{STORAGE}:backup/vzdump-{kind}-{vmid}-")), "{volid}");
    assert!(env.backups(vmid).iter().any(|v| v.volid == volid), "the simulator holds {volid}");
    let filter = BackupFilter { vmid: Some(vmid), ..BackupFilter::default() };
    if env.caps.inventory {
        let listed = b.backups(&filter).await.expect("backups");
        assert!(listed.iter().any(|x| x.volid == volid && x.vmid == Some(vmid) && x.kind == Some(kind)), "{volid} in {listed:?}");
    } else {
        let e = b.backups(&filter).await.expect_err("no storage content over qm-pct");
        assert_eq!(e.exit_code(), 2, "{e}");
    }
    volid
}

/// Backing up two guests of one node is one job: the report names each guest `ok` with its
/// archive's volid, and the backups are then listed with their vmid.
pub async fn backup_create_reports_each_guest(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let vm = env.seed(0, GuestKind::Qemu, GuestSeed::running);
    let ct = env.seed(1, GuestKind::Lxc, |g| g);
    let action = BackupCreate { vmids: vec![vm, ct], all: false, params: params(&[("storage", STORAGE), ("compress", "zstd")]) };
    let r = done(engine_run(b, &action, Consent::None).await);
    assert_eq!(r.action, "backup create");
    let task = r.task.as_ref().expect("the job's task");
    assert_eq!((task.exitstatus.as_deref(), task.upid.is_some()), (Some("OK"), env.caps.upids), "{r:?}");
    let a = assert_backed_up(b, env, &r, vm, GuestKind::Qemu).await;
    let c = assert_backed_up(b, env, &r, ct, GuestKind::Lxc).await;
    assert_ne!(a, c);
    assert!(env.guest(vm).is_running() && env.guest(vm).lock.is_none(), "the backup left the guest as it was");
}

/// A guest whose part of the job fails makes the job `job errors`: exit 7, the message names
/// the failed guest and PVE's reason; the other guest's archive is made and listed.
pub async fn backup_create_with_failed_guest_exits_7(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let ok = env.seed(0, GuestKind::Qemu, |g| g);
    let bad = env.seed(1, GuestKind::Qemu, |g| g);
    let reason = "injected by the conformance suite";
    env.fail_tasks(bad, "vzdump", reason);
    let action = BackupCreate { vmids: vec![ok, bad], all: false, params: params(&[("storage", STORAGE)]) };
    match engine_run(b, &action, Consent::None).await {
        Ok(Outcome::Incomplete(r, e @ Error::TaskFailed { .. })) => {
            assert_eq!(e.exit_code(), 7, "{e}");
            let text = e.to_string();
            assert!(text.contains(&format!("VM {bad} failed - {reason}")), "{text}");
            assert!(!text.contains(&format!("VM {ok} failed")), "{text}");
            let failed = guest_outcome(&r, bad);
            assert_eq!((failed["status"].as_str(), failed["error"].as_str()), (Some("failed"), Some(reason)), "{failed}");
            assert_backed_up(b, env, &r, ok, GuestKind::Qemu).await;
        }
        other => panic!("expected a failed job, got {other:?}"),
    }
    assert!(env.backups(bad).is_empty(), "no archive of the failed guest");
}

/// Restoring a backup to a new vmid with `start` makes that guest and runs it; the report's
/// re-check saw it running, unlocked.
pub async fn restore_to_new_vmid_starts_it(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let src = env.seed(0, GuestKind::Qemu, |g| g);
    let volid = env.seed_backup(src, STORAGE, false);
    let new = env.vmid(1);
    let action = BackupRestore { volid, vmid: Some(new), force: false, params: params(&[("start", "1")]), start: true };
    let r = done(engine_run(b, &action, Consent::None).await);
    assert!(r.changed, "{r:?}");
    assert_eq!(r.target.as_ref().map(|t| (t.vmid, t.kind, &t.node)), Some((new, GuestKind::Qemu, &env.node)), "{r:?}");
    let after = r.after.as_ref().expect("re-checked");
    assert!(after.is_running() && after.lock.is_none(), "{r:?}");
    let g = b.locate(new).await.expect("the restored guest is found");
    assert_eq!((g.kind, &g.node), (GuestKind::Qemu, &env.node));
    assert!(env.guest(new).is_running());
    assert!(!env.guest(src).is_running(), "the source is untouched");
}

/// Restoring onto a vmid in use without `--force` is PVE's refusal (exit 6, its words), and
/// nothing is sent.
pub async fn restore_onto_existing_vmid_exits_6(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let src = env.seed(0, GuestKind::Qemu, |g| g);
    let taken = env.seed(1, GuestKind::Qemu, |g| g);
    let volid = env.seed_backup(src, STORAGE, false);
    let action = BackupRestore { volid, vmid: Some(taken), force: false, params: Vec::new(), start: false };
    match engine_run(b, &action, Consent::Yes).await {
        Err(e @ Error::Conflict(_)) => {
            assert_eq!(e.exit_code(), 6, "{e}");
            let want = format!("unable to restore VM {taken} - VM {taken} already exists on node '{}'", env.node);
            assert!(e.to_string().contains(&want), "{e}");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    env.assert_untouched(taken, "stopped");
    env.assert_untouched(src, "stopped");
}

/// Deleting a protected backup is refused by policy (exit 10) and nothing is sent; with
/// `--force` the flag is cleared and the backup is gone.
pub async fn backup_delete_of_protected_backup_needs_force(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let ct = env.seed(0, GuestKind::Lxc, |g| g);
    let volid = env.seed_backup(ct, STORAGE, true);
    match engine_run(b, &BackupDelete { volid: volid.clone(), force: false }, Consent::Yes).await {
        Err(e @ Error::Policy(_)) => assert_eq!(e.exit_code(), 10, "{e}"),
        other => panic!("expected a policy refusal, got {other:?}"),
    }
    let kept = env.backups(ct);
    assert!(kept.len() == 1 && kept[0].protected, "still there, still protected: {kept:?}");
    let r = done(engine_run(b, &BackupDelete { volid: volid.clone(), force: true }, Consent::Yes).await);
    assert!(r.changed, "{r:?}");
    assert!(env.backups(ct).is_empty(), "gone from the simulator");
    let listed = b.backups(&BackupFilter { vmid: Some(ct), ..BackupFilter::default() }).await.expect("backups");
    assert!(!listed.iter().any(|x| x.volid == volid), "{listed:?}");
}
