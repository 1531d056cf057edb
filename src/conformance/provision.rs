//! Guests coming and going through pvectl's engine: clone (of a template; a linked clone of
//! a guest that is not one is refused before any call), template (refused while running),
//! delete (protected 10, running 6 in PVE's words, stopped gone), and create of both kinds
//! with a password that never shows in the plan or the config.

use std::sync::Arc;

use super::drive::{Consent, done, engine_run, plan_then_apply};
use super::env::CaseEnv;
use crate::backend::rest::Secret;
use crate::backend::sim::GuestSeed;
use crate::backend::{Backend, BackendExt};
use crate::error::Error;
use crate::model::GuestKind;
use crate::workflow::{CloneGuest, CreateGuest, DeleteGuest, MakeTemplate, Outcome};

/// Cloning a template makes the new guest on the template's node, unlocked once the task
/// ends, with the name asked for.
pub async fn clone_of_template_makes_unlocked_guest(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let tmpl = env.seed(0, GuestKind::Qemu, GuestSeed::template);
    let new = env.vmid(1);
    let name = format!("clone{new}");
    let action = CloneGuest { vmid: Some(tmpl), newid: Some(new), name: Some(name.clone()), ..CloneGuest::default() };
    let r = done(engine_run(b, &action, Consent::None).await);
    assert!(r.changed, "{r:?}");
    assert_eq!(r.after.as_ref().map(|a| a.lock.clone()), Some(None), "unlocked: {r:?}");
    let g = b.locate(new).await.expect("the clone is found");
    assert_eq!((g.kind, &g.node), (GuestKind::Qemu, &env.node), "on the template's node");
    assert_eq!(b.guest_config(&g).await.expect("config").get("name"), Some(name.as_str()));
    let sim = env.guest(new);
    assert!(sim.lock.is_none() && !sim.template, "{sim:?}");
    assert!(env.guest(tmpl).template, "the template stays one");
}

/// A linked clone (`full: false`) of a guest that is not a template is refused before any
/// call (exit 6): no task, no new guest.
pub async fn linked_clone_of_non_template_exits_6(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let src = env.seed(0, GuestKind::Qemu, |g| g);
    let new = env.vmid(1);
    let action = CloneGuest { vmid: Some(src), newid: Some(new), full: Some(false), ..CloneGuest::default() };
    match engine_run(b, &action, Consent::Yes).await {
        Err(e @ Error::Conflict(_)) => assert_eq!(e.exit_code(), 6, "{e}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    env.assert_untouched(src, "stopped");
    assert!(env.find_guest(new).is_none(), "no clone was made");
}

/// Converting a running guest into a template is refused (exit 6) and nothing is sent; a
/// stopped guest becomes a template.
pub async fn template_refuses_running_and_converts_stopped(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let running = env.seed(0, GuestKind::Qemu, GuestSeed::running);
    match engine_run(b, &MakeTemplate { vmid: running }, Consent::Yes).await {
        Err(e @ Error::Conflict(_)) => assert_eq!(e.exit_code(), 6, "{e}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    env.assert_untouched(running, "running");
    assert!(!env.guest(running).template);

    let stopped = env.seed(1, GuestKind::Qemu, |g| g);
    let r = done(engine_run(b, &MakeTemplate { vmid: stopped }, Consent::Yes).await);
    assert!(r.changed, "{r:?}");
    assert_eq!(r.after.as_ref().and_then(|a| a.template), Some(true), "{r:?}");
    assert!(env.guest(stopped).template);
    let g = b.locate(stopped).await.expect("locate");
    assert!(b.guest_status(&g).await.expect("status").template, "the backend reads it as a template");
}

/// Deleting a protected guest is refused by policy (exit 10); a running one is PVE's refusal
/// in its words (exit 6); nothing is sent for either. A stopped one is gone: re-read, it is
/// not found (exit 5).
pub async fn delete_guest_protected_running_and_stopped(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let delete = |vmid| DeleteGuest { vmid, purge: false, destroy_unreferenced_disks: false };
    let protected = env.seed(0, GuestKind::Qemu, GuestSeed::protected);
    match engine_run(b, &delete(protected), Consent::Yes).await {
        Err(e @ Error::Policy(_)) => assert_eq!(e.exit_code(), 10, "{e}"),
        other => panic!("expected a policy refusal, got {other:?}"),
    }
    env.assert_untouched(protected, "stopped");

    let running = env.seed(1, GuestKind::Qemu, GuestSeed::running);
    match engine_run(b, &delete(running), Consent::Yes).await {
        Err(e @ Error::Conflict(_)) => {
            assert_eq!(e.exit_code(), 6, "{e}");
            assert!(e.to_string().contains(&format!("VM {running} is running - destroy failed")), "{e}");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    env.assert_untouched(running, "running");

    let stopped = env.seed(2, GuestKind::Lxc, |g| g);
    let r = done(engine_run(b, &delete(stopped), Consent::Yes).await);
    assert!(r.changed, "{r:?}");
    assert_eq!(r.after.as_ref().map(|a| a.status.as_str()), Some("deleted"), "{r:?}");
    let e = b.locate(stopped).await.expect_err("gone");
    assert_eq!(e.exit_code(), 5, "{e}");
    assert!(env.find_guest(stopped).is_none());
}

/// The demo's container template on `local`.
const VZTMPL: &str = "local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst";

/// Creating a container from the demo's template and a VM with a `scsi0` disk makes both; the
/// container's password is sent but shows neither in the plan (its calls, the rendered call)
/// nor in the config the simulator stores or the backend reads.
pub async fn create_lxc_and_qemu_keep_the_password_secret(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let password = "Conformance-Secret-8c1f";
    let p = |kv: &[(&str, &str)]| kv.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>();
    let ct = env.vmid(0);
    let hostname = format!("ct{ct}-new");
    let action = CreateGuest {
        kind: GuestKind::Lxc,
        vmid: Some(ct),
        node: Some(env.node.clone()),
        params: p(&[("ostemplate", VZTMPL), ("hostname", &hostname), ("memory", "512")]),
        secrets: vec![("password".into(), Secret::new(password))],
        start: false,
    };
    let (plan, outcome) = plan_then_apply(b, &action, |_| {}).await;
    let shown = serde_json::to_string(&plan).expect("plan as JSON");
    assert!(!shown.contains(password) && !plan.call.contains(password), "the password shows in the plan: {shown}");
    assert!(plan.calls.iter().any(|c| c.params.iter().any(|(k, v)| k == "password" && v == "***")), "{shown}");
    let r = match outcome {
        Ok(Outcome::Done(r)) => r,
        other => panic!("expected a created container, got {other:?}"),
    };
    assert!(r.changed, "{r:?}");
    let g = b.locate(ct).await.expect("the container is found");
    assert_eq!((g.kind, &g.node), (GuestKind::Lxc, &env.node));
    let config = b.guest_config(&g).await.expect("config");
    assert_eq!(config.get("hostname"), Some(hostname.as_str()));
    assert!(!format!("{config:?}").contains(password), "the backend reads the password back");
    let sim = env.guest(ct);
    assert!(!format!("{sim:?}").contains(password), "the simulator stored the password: {sim:?}");

    let vm = env.vmid(1);
    let action = CreateGuest {
        kind: GuestKind::Qemu,
        vmid: Some(vm),
        node: Some(env.node.clone()),
        params: p(&[("name", &format!("vm{vm}-new")), ("memory", "1024"), ("scsi0", "nas:4")]),
        secrets: Vec::new(),
        start: false,
    };
    let r = done(engine_run(b, &action, Consent::None).await);
    assert!(r.changed && r.after.as_ref().is_some_and(|a| a.lock.is_none()), "{r:?}");
    let g = b.locate(vm).await.expect("the VM is found");
    assert_eq!((g.kind, &g.node), (GuestKind::Qemu, &env.node));
    let scsi0 = b.guest_config(&g).await.expect("config").get("scsi0").map(str::to_owned);
    assert!(scsi0.as_deref().is_some_and(|d| d.starts_with(&format!("nas:{vm}/")) && d.contains("size=4G")), "{scsi0:?}");
}
