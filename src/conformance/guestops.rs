//! Moving guests and their disks and reaching inside them, through pvectl's engine:
//! `guest migrate` (to an allowed node, to one PVE's precondition disallows, a failed
//! migration, through HA), `guest resize` (grow, a refused shrink), `guest move-disk`,
//! `guest ip`, the agent not answering, `guest exec` (exit code and output, argv kept
//! verbatim); and the pool and HA reads.
//!
//! The migration precondition, the agent and the pool and HA reads go over
//! [`Backend::raw`](crate::backend::Backend::raw), which qm-pct does not have:
//! [`Caps::inventory`](super::Caps). A container's `exec` needs `pct` on the node, which REST
//! has not: [`Caps::node_tools`](super::Caps), checked inside the exec cases (REST must say
//! so).

use std::sync::Arc;
use std::time::Duration;

use super::drive::{Consent, done, engine_run};
use super::env::CaseEnv;
use crate::backend::sim::GuestSeed;
use crate::backend::{Backend, BackendExt, InventoryExt};
use crate::error::{Error, Result};
use crate::model::{GuestKind, Vmid};
use crate::workflow::{Exec, Migrate, MoveDisk, Outcome, Report, Resize};

const GIB: u64 = 1 << 30;

fn migrate(vmid: Vmid, env: &CaseEnv) -> Migrate {
    Migrate { vmid, target: env.other_node(), online: false, with_local_disks: false, target_storage: None, restart: false }
}

/// The error of an outcome that is not a finished action (a refusal or a failed end).
fn failure(outcome: Result<Outcome>) -> (Option<Report>, Error) {
    match outcome {
        Err(e) | Ok(Outcome::Refused(_, e)) => (None, e),
        Ok(Outcome::Incomplete(r, e)) => (Some(r), e),
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// Migrating a stopped VM to a node the precondition allows: the report names the node
/// before and after, the task ended OK and the simulator holds the guest there; an HA-managed
/// guest goes through HA and ends up there too.
pub async fn migrate_reports_before_and_after_nodes(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let vmid = env.seed(0, GuestKind::Qemu, |g| g);
    let target = env.other_node();
    let r = done(engine_run(b, &migrate(vmid, env), Consent::Yes).await);
    assert!(r.changed, "{r:?}");
    assert_eq!(r.before.as_ref().and_then(|s| s.node.as_deref()), Some(env.node.as_str()), "{r:?}");
    assert_eq!(r.after.as_ref().and_then(|s| s.node.as_deref()), Some(target.as_str()), "{r:?}");
    assert_eq!(r.task.as_ref().and_then(|t| t.exitstatus.as_deref()), Some("OK"), "{r:?}");
    assert_eq!(env.guest(vmid).node, target.as_str());
    assert!(b.locate(vmid).await.expect("located").node == target, "the backend finds it on the target");

    let ha = env.seed(1, GuestKind::Qemu, |g| g.running().ha("started"));
    let r = done(engine_run(b, &Migrate { online: true, ..migrate(ha, env) }, Consent::Yes).await);
    assert_eq!(r.details.as_ref().map(|d| d["via"].clone()), Some(serde_json::json!("ha")), "{r:?}");
    assert_eq!(r.after.as_ref().and_then(|s| s.node.as_deref()), Some(target.as_str()), "{r:?}");
    assert_eq!(env.guest(ha).node, target.as_str());
    assert!(env.guest(ha).is_running(), "HA migrated it live");
}

/// A VM whose disk is on a storage the target node lacks: PVE's precondition disallows the
/// target, so pvectl refuses with PVE's reason, exit 6, and sends nothing.
pub async fn migrate_to_disallowed_node_exits_6(b: &Arc<dyn Backend>, env: &CaseEnv) {
    env.seed_storage("onlyhere", &[env.node.as_str()]);
    let vmid = env.seed(0, GuestKind::Qemu, |g| g.on_storage("onlyhere"));
    let target = env.other_node();
    let (_, e) = failure(engine_run(b, &migrate(vmid, env), Consent::Yes).await);
    assert!(matches!(e, Error::Conflict(_)), "{e:?}");
    assert_eq!(e.exit_code(), 6, "{e}");
    assert!(e.to_string().contains(&format!("storage 'onlyhere' is not available on node '{target}'")), "{e}");
    env.assert_untouched(vmid, "stopped");
    assert_eq!(env.guest(vmid).node, env.node.as_str());
}

/// A migration that fails: `migration problems` (the guest moved, the task failed) is exit 7
/// and the error and report say the guest is on the target now; `migration aborted` leaves
/// it on the source, and says so.
pub async fn failed_migration_exits_7_and_says_where(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let target = env.other_node();
    for (i, fault, now_on) in [(0, "migration problems", target.as_str()), (1, "migration aborted", env.node.as_str())] {
        let vmid = env.seed(i, GuestKind::Qemu, |g| g);
        env.fail_tasks(vmid, "migrate", fault);
        let (r, e) = failure(engine_run(b, &migrate(vmid, env), Consent::Yes).await);
        assert!(matches!(e, Error::TaskFailed { .. }), "{fault}: {e:?}");
        assert_eq!(e.exit_code(), 7, "{e}");
        let text = e.to_string();
        assert!(text.contains(fault) && text.contains(&format!("guest {vmid} is now on {now_on}")), "{text}");
        let r = r.expect("a report of the failed task");
        assert_eq!(r.details.as_ref().map(|d| d["node_now"].clone()), Some(serde_json::json!(now_on)), "{r:?}");
        assert_eq!(env.guest(vmid).node, now_on, "{fault}");
        assert_eq!(env.tasks(vmid).len(), 1, "sent once");
    }
}

/// `resize +2G` grows the disk by 2 GiB: the report's re-check read the new size; a size
/// below the current one is refused before sending (exit 6), nothing sent.
pub async fn resize_grows_and_refuses_a_shrink(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let vmid = env.seed(0, GuestKind::Qemu, |g| g);
    let before = 8 * GIB;
    let r = done(engine_run(b, &Resize { vmid, disk: "scsi0".into(), size: "+2G".into() }, Consent::Yes).await);
    assert!(r.changed, "{r:?}");
    let details = r.details.clone().expect("details");
    assert_eq!((details["size_before"].as_u64(), details["size_after"].as_u64()), (Some(before), Some(before + 2 * GIB)), "{r:?}");
    assert_eq!(r.after.as_ref().and_then(|s| s.disk_size), Some(before + 2 * GIB), "{r:?}");
    let disk = env.guest(vmid).config_value("scsi0").map(str::to_owned).unwrap_or_default();
    assert!(disk.contains("size=10G"), "{disk}");

    let small = env.seed(1, GuestKind::Lxc, |g| g);
    let (_, e) = failure(engine_run(b, &Resize { vmid: small, disk: "rootfs".into(), size: "1G".into() }, Consent::Yes).await);
    assert!(matches!(e, Error::Conflict(_)), "{e:?}");
    assert_eq!(e.exit_code(), 6, "{e}");
    assert!(e.to_string().contains("shrinking disks is not supported"), "{e}");
    env.assert_untouched(small, "stopped");
}

/// `move-disk` moves a stopped VM's disk to another storage: the re-check reads the new
/// storage, the simulator's config points there.
pub async fn move_disk_moves_the_volume(b: &Arc<dyn Backend>, env: &CaseEnv) {
    env.seed_storage("movehere", &[env.node.as_str()]);
    let vmid = env.seed(0, GuestKind::Qemu, |g| g);
    let action = MoveDisk { vmid, disk: "scsi0".into(), storage: "movehere".parse().expect("storage id"), delete: true, format: None };
    let r = done(engine_run(b, &action, Consent::Yes).await);
    assert!(r.changed, "{r:?}");
    assert_eq!(r.after.as_ref().and_then(|s| s.disk_storage.as_deref()), Some("movehere"), "{r:?}");
    let disk = env.guest(vmid).config_value("scsi0").map(str::to_owned).unwrap_or_default();
    assert!(disk.starts_with(&format!("movehere:{vmid}/vm-{vmid}-disk-")), "{disk}");
    assert!(!env.guest(vmid).config.iter().any(|(k, _)| k.starts_with("unused")), "deleted, not kept as unused");
}

/// `guest ip`: a running VM's interfaces from its agent, a running container's from PVE.
pub async fn guest_ip_of_agent_vm_and_container(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let vm = env.seed(0, GuestKind::Qemu, GuestSeed::running);
    let ct = env.seed(1, GuestKind::Lxc, GuestSeed::running);
    let g = b.locate(vm).await.expect("locate");
    let ifs = b.network_interfaces(&g).await.expect("the agent answers");
    let ens = ifs.iter().find(|i| i.name == "ens18").unwrap_or_else(|| panic!("ens18 in {ifs:?}"));
    let host = vm.get() % 200 + 20;
    assert!(ens.ip_addresses.iter().any(|a| a.ip_address == format!("198.51.100.{host}")), "{ens:?}");
    let g = b.locate(ct).await.expect("locate");
    let ifs = b.lxc_interfaces(&g).await.expect("interfaces");
    let eth = ifs.iter().find(|i| i.name == "eth0").unwrap_or_else(|| panic!("eth0 in {ifs:?}"));
    let host = ct.get() % 200 + 20;
    let v4 = eth.to_network_interface();
    assert!(v4.ip_addresses.iter().any(|a| a.ip_address == format!("198.51.100.{host}")), "{eth:?}");
}

/// The agent configured but not answering: reads and `exec` are a conflict, exit 6, with
/// the hint to start qemu-guest-agent in the guest; nothing runs.
pub async fn agent_not_running_exits_6_with_hint(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let vmid = env.seed(0, GuestKind::Qemu, GuestSeed::running);
    env.agent_down(vmid);
    let hint = "qemu-guest-agent";
    if env.caps.inventory {
        let g = b.locate(vmid).await.expect("locate");
        let e = b.network_interfaces(&g).await.expect_err("no agent");
        assert_eq!(e.exit_code(), 6, "{e}");
        assert!(e.to_string().contains("QEMU guest agent is not running"), "{e}");
        assert!(e.hint().is_some_and(|h| h.contains(hint)), "{e:?}");
    }
    let action = Exec { vmid, argv: vec!["true".into()], timeout: Duration::from_secs(10) };
    let (_, e) = failure(engine_run(b, &action, Consent::Yes).await);
    assert_eq!(e.exit_code(), 6, "{e:?}");
    assert!(e.to_string().contains("QEMU guest agent is not running"), "{e}");
    assert!(e.hint().is_some_and(|h| h.contains(hint)), "{e:?}");
    assert!(env.exec_log(vmid).is_empty(), "nothing ran");
}

/// `exec -- sh -c 'echo hi; exit 3'`: the report carries the command's exit code and output,
/// in a VM (agent) and, where `pct` runs on the node, in a container; over REST a
/// container's exec is `Unsupported` and says why.
pub async fn exec_reports_exit_code_and_output(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let argv: Vec<String> = ["sh", "-c", "echo hi; exit 3"].map(str::to_owned).to_vec();
    let vm = env.seed(0, GuestKind::Qemu, GuestSeed::running);
    let ct = env.seed(1, GuestKind::Lxc, GuestSeed::running);
    for vmid in [vm, ct] {
        let action = Exec { vmid, argv: argv.clone(), timeout: Duration::from_secs(20) };
        if vmid == ct && !env.caps.node_tools {
            let (_, e) = failure(engine_run(b, &action, Consent::Yes).await);
            assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
            assert!(e.to_string().contains("pct exec") && format!("{e:?}").contains("over https://"), "{e:?}");
            assert!(env.exec_log(ct).is_empty());
            continue;
        }
        let r = done(engine_run(b, &action, Consent::Yes).await);
        let d = r.details.clone().unwrap_or_else(|| panic!("details in {r:?}"));
        assert_eq!((d["exitcode"].as_i64(), d["out-data"].as_str()), (Some(3), Some("hi\n")), "{vmid}: {d}");
        assert_eq!(env.exec_log(vmid), vec![argv.clone()], "{vmid}");
    }
}

/// Arguments with quotes, `;`, `$(...)`, backticks, spaces and newlines reach the guest as
/// separate, unchanged argv entries (no shell on the way re-splits or expands them).
pub async fn exec_argv_arrives_verbatim(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let argv: Vec<String> = [
        "echo",
        "it's \"quoted\"",
        "a; rm -rf /tmp/x",
        "$(id) `id` ${HOME}",
        "two\nlines",
        "  spaced  ",
        "*",
        "--",
        "-n",
        "back\\slash",
        "",
    ]
    .map(str::to_owned)
    .to_vec();
    let vm = env.seed(0, GuestKind::Qemu, GuestSeed::running);
    let ct = env.seed(1, GuestKind::Lxc, GuestSeed::running);
    let guests: &[Vmid] = if env.caps.node_tools { &[vm, ct] } else { &[vm] };
    for vmid in guests {
        let r = done(engine_run(b, &Exec { vmid: *vmid, argv: argv.clone(), timeout: Duration::from_secs(20) }, Consent::Yes).await);
        assert_eq!(r.details.as_ref().and_then(|d| d["exitcode"].as_i64()), Some(0), "{r:?}");
        assert_eq!(env.exec_log(*vmid), vec![argv.clone()], "guest {vmid} got the argv unchanged");
    }
}

/// Pools (the list, one pool with its members) and HA (resources, the manager's status)
/// show a seeded HA-managed guest in a seeded pool.
pub async fn pool_and_ha_reads(b: &Arc<dyn Backend>, env: &CaseEnv) {
    let pool = format!("cf{}", env.vmid(0));
    let vmid = env.seed(0, GuestKind::Qemu, |g| g.running().in_pool(&pool).ha("started"));
    let pools = b.pools().await.expect("pools");
    assert!(pools.iter().any(|p| p.poolid == pool), "{pools:?}");
    let one = b.pool(&pool).await.expect("the pool");
    let members = one.members.unwrap_or_default();
    assert!(members.iter().any(|m| m.vmid == Some(u64::from(vmid.get()))), "{members:?}");
    let sid = format!("vm:{vmid}");
    let res = b.ha_resources().await.expect("ha resources");
    let mine = res.iter().find(|r| r.sid == sid).unwrap_or_else(|| panic!("{sid} in {res:?}"));
    assert_eq!(mine.state.as_deref(), Some("started"));
    let status = b.ha_status().await.expect("ha status");
    let svc = status.iter().find(|s| s.id == format!("service:{sid}")).unwrap_or_else(|| panic!("service:{sid} in {status:?}"));
    assert_eq!(svc.node.as_deref(), Some(env.node.as_str()), "{svc:?}");
    assert!(status.iter().any(|s| s.entry_type == "quorum"), "{status:?}");
}
