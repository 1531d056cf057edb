//! The exits that change nothing, or say what failed: consent missing (3), a dry run (0),
//! PVE's protection flag (10), a config lock (6), a failed task (7), a denied privilege (4).
//! Each checks the simulator afterwards: what must not be sent left no task behind.

use std::sync::Arc;

use super::drive::{Consent, power};
use super::env::CaseEnv;
use crate::backend::sim::GuestSeed;
use crate::backend::{Backend, BackendExt, Mutation, PowerAction};
use crate::error::Error;
use crate::model::GuestKind;
use crate::workflow::Outcome;

/// A gated action (stop) without `--yes` and without a terminal is refused with its plan,
/// exit 3, and nothing is sent.
pub async fn gated_action_without_consent_exits_3(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let vmid = env.seed(0, GuestKind::Qemu, GuestSeed::running);
    match power(b, vmid, PowerAction::Stop, Consent::None).await {
        Ok(Outcome::Refused(plan, e)) => {
            assert_eq!(e.exit_code(), 3, "{e}");
            assert_eq!(plan.requires, Some("--yes"));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    env.assert_untouched(vmid, "running");
}

/// `--dry-run` returns the plan (the one call it would make) and sends nothing.
pub async fn dry_run_sends_nothing(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let vmid = env.seed(0, GuestKind::Lxc, GuestSeed::running);
    match power(b, vmid, PowerAction::Stop, Consent::DryRun).await {
        Ok(Outcome::Planned(plan)) => {
            assert_eq!(plan.calls.len(), 1, "{plan:?}");
            assert!(plan.calls[0].path.ends_with(&format!("/lxc/{vmid}/status/stop")), "{plan:?}");
        }
        other => panic!("expected a plan, got {other:?}"),
    }
    env.assert_untouched(vmid, "running");
}

/// A destructive action (stop) on a guest with PVE's `protection` flag is refused by policy,
/// exit 10, even with `--yes`; nothing is sent.
pub async fn protected_guest_exits_10(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let vmid = env.seed(0, GuestKind::Qemu, |g| g.running().protected());
    match power(b, vmid, PowerAction::Stop, Consent::Yes).await {
        Err(e @ Error::Policy(_)) => assert_eq!(e.exit_code(), 10, "{e}"),
        other => panic!("expected a policy refusal, got {other:?}"),
    }
    env.assert_untouched(vmid, "running");
}

/// Starting a locked guest is a conflict, exit 6: pvectl refuses after reading the lock, and
/// the backend itself maps PVE's refusal (`VM is locked (backup)`) to the same; no task runs.
pub async fn locked_guest_exits_6(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let vmid = env.seed(0, GuestKind::Qemu, |g| g.locked("backup"));
    match power(b, vmid, PowerAction::Start, Consent::Yes).await {
        Err(e @ Error::Conflict(_)) => assert_eq!(e.exit_code(), 6, "{e}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let guest = b.locate(vmid).await.expect("locate");
    let e = b.execute(&Mutation::Power { guest, action: PowerAction::Start, params: Vec::new() }).await.expect_err("PVE refuses");
    assert_eq!(e.exit_code(), 6, "{e}");
    env.assert_untouched(vmid, "stopped");
}

/// A task that fails is exit 7 with PVE's message; the report says what the re-check saw
/// (`changed: false`, still stopped).
pub async fn failed_task_exits_7(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let vmid = env.seed(0, GuestKind::Qemu, |g| g);
    let message = "start failed: injected by the conformance suite";
    env.fail_tasks(vmid, "start", message);
    match power(b, vmid, PowerAction::Start, Consent::Yes).await {
        Ok(Outcome::Incomplete(r, e @ Error::TaskFailed { .. })) => {
            assert_eq!(e.exit_code(), 7, "{e}");
            assert!(e.to_string().contains(message), "{e}");
            let task = r.task.as_ref().expect("the task is reported");
            assert_eq!(task.exitstatus.as_deref(), Some(message), "{r:?}");
            assert!(!r.changed, "the re-check saw no change: {r:?}");
            assert_eq!(r.after.as_ref().map(|s| s.status.as_str()), Some("stopped"), "{r:?}");
        }
        other => panic!("expected a failed task, got {other:?}"),
    }
    assert_eq!(env.tasks(vmid).len(), 1, "sent once");
    assert!(!env.guest(vmid).is_running());
}

/// A denied privilege is exit 4 through pvectl and through the backend itself; no task runs.
pub async fn permission_denied_exits_4(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let vmid = env.seed(0, GuestKind::Lxc, |g| g);
    env.deny(vmid, "VM.PowerMgmt");
    match power(b, vmid, PowerAction::Start, Consent::Yes).await {
        Err(e @ Error::PermissionDenied(_)) => assert_eq!(e.exit_code(), 4, "{e}"),
        other => panic!("expected permission denied, got {other:?}"),
    }
    let guest = b.locate(vmid).await.expect("locate");
    let e = b.execute(&Mutation::Power { guest, action: PowerAction::Start, params: Vec::new() }).await.expect_err("PVE refuses");
    assert_eq!(e.exit_code(), 4, "{e}");
    env.assert_untouched(vmid, "stopped");
}
