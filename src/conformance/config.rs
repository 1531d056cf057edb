//! Config changes through pvectl's engine: `guest set` passes the digest it read, so a
//! concurrent edit between plan and apply makes PVE refuse (exit 6); `guest unlock` clears a
//! lock and changes nothing on an unlocked guest.

use std::sync::Arc;

use super::drive::{Consent, done, engine_run, plan_then_apply};
use super::env::CaseEnv;
use crate::backend::sim::GuestSeed;
use crate::backend::{Backend, BackendExt};
use crate::error::Error;
use crate::model::GuestKind;
use crate::workflow::{Outcome, SetConfig, Unlock};

fn set_description(vmid: crate::model::Vmid, text: &str) -> SetConfig {
    SetConfig { vmid, set: vec![("description".into(), text.into())], delete: Vec::new() }
}

/// A metadata change passes the config digest read first (the plan's call carries it) and
/// is in force afterwards. Where config reads carry no digest (qm-pct), the plan passes none
/// and says so in a warning.
pub async fn set_config_passes_the_digest(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let vmid = env.seed(0, GuestKind::Qemu, |g| g);
    let g = b.locate(vmid).await.expect("locate");
    let digest = b.guest_config(&g).await.expect("config").digest;
    assert_eq!(digest.is_some(), env.caps.config_digest, "{digest:?}");
    let text = "set by the conformance suite";
    let (plan, outcome) = plan_then_apply(b, &set_description(vmid, text), |_| {}).await;
    let call = plan.calls.first().expect("one call");
    let passed = call.params.iter().find(|(k, _)| k == "digest").map(|(_, v)| v.clone());
    assert_eq!(passed, digest, "{call:?}");
    if digest.is_none() {
        assert!(plan.warnings.iter().any(|w| w.contains("without its digest")), "{:?}", plan.warnings);
    }
    assert!(call.params.iter().any(|(k, v)| k == "description" && v == text), "{call:?}");
    match outcome {
        Ok(Outcome::Done(r)) => assert!(r.changed, "{r:?}"),
        other => panic!("expected the change made, got {other:?}"),
    }
    assert_eq!(env.guest(vmid).config_value("description"), Some(text));
    assert_eq!(b.guest_config(&g).await.expect("config").get("description"), Some(text));
}

/// Someone else's edit between plan and apply changes the digest: PVE refuses the change
/// (`detected modified configuration`, exit 6), and the other edit stands. Needs a config
/// read with the digest ([`Caps::config_digest`](super::Caps)).
pub async fn set_config_after_concurrent_edit_exits_6(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let vmid = env.seed(0, GuestKind::Qemu, |g| g);
    let theirs = "edited by someone else meanwhile";
    let (_, outcome) = plan_then_apply(b, &set_description(vmid, "mine"), |_| env.edit_config(vmid, "description", theirs)).await;
    match outcome {
        Err(e @ Error::Conflict(_)) => {
            assert_eq!(e.exit_code(), 6, "{e}");
            assert!(e.to_string().contains("detected modified configuration"), "{e}");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(env.guest(vmid).config_value("description"), Some(theirs));
}

/// Unlocking a locked guest clears the lock; unlocking an unlocked one changes nothing and
/// sends nothing.
pub async fn unlock_clears_a_lock_and_is_a_noop_without(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let locked = env.seed(0, GuestKind::Qemu, |g| g.locked("backup"));
    let r = done(engine_run(b, &Unlock { vmid: locked }, Consent::Yes).await);
    assert!(r.changed, "{r:?}");
    assert_eq!(r.before.as_ref().and_then(|s| s.lock.as_deref()), Some("backup"), "{r:?}");
    assert_eq!(r.after.as_ref().map(|s| s.lock.clone()), Some(None), "{r:?}");
    assert!(env.guest(locked).lock.is_none());

    let free = env.seed(1, GuestKind::Lxc, GuestSeed::running);
    let r = done(engine_run(b, &Unlock { vmid: free }, Consent::Yes).await);
    assert!(!r.changed && r.task.is_none(), "{r:?}");
    env.assert_untouched(free, "running");
}
