//! Snapshot writes through the core: create, rollback and delete semantics, the transient
//! config locks, re-parenting, and PVE's error texts.

use serde_json::Value;

use super::core::Sim;
use super::demo::demo_state;
use super::write_tests::{finish_all, get, post, task};
use crate::backend::api::Method;

fn parents(sim: &mut Sim, base: &str) -> Vec<(String, Option<String>)> {
    let list = get(sim, &format!("{base}/snapshot"), &[]);
    list.as_array()
        .expect("array")
        .iter()
        .map(|s| (s["name"].as_str().unwrap_or_default().to_owned(), s["parent"].as_str().map(str::to_owned)))
        .collect()
}

fn parent_of(sim: &mut Sim, base: &str, name: &str) -> Option<String> {
    parents(sim, base).into_iter().find(|(n, _)| n == name).and_then(|(_, p)| p)
}

#[test]
fn create_holds_the_snapshot_lock_then_becomes_current_parent() {
    let mut sim = Sim::new(demo_state());
    let base = "/nodes/pve1/qemu/100";
    let desc = "a \"b\"; $(c)\nsecond line";
    let upid =
        post(&mut sim, &format!("{base}/snapshot"), &[("snapname", "snap1"), ("description", desc), ("vmstate", "1")]).expect("starts");
    assert_eq!(task(&sim, &upid).upid.task_type, "qmsnapshot");
    assert_eq!(get(&mut sim, &format!("{base}/status/current"), &[])["lock"], "snapshot");
    let res = get(&mut sim, "/cluster/resources", &[("type", "vm")]);
    assert_eq!(res.as_array().and_then(|a| a.iter().find(|i| i["vmid"] == 100)).map(|i| i["lock"].clone()), Some(Value::from("snapshot")));
    let e = post(&mut sim, &format!("{base}/status/shutdown"), &[]).expect_err("locked");
    assert_eq!(e.cli_text(), "VM is locked (snapshot)\n");
    finish_all(&mut sim);
    assert!(get(&mut sim, &format!("{base}/status/current"), &[]).get("lock").is_none(), "released");
    let list = get(&mut sim, &format!("{base}/snapshot"), &[]);
    let snap = list.as_array().and_then(|a| a.iter().find(|s| s["name"] == "snap1")).expect("listed").clone();
    assert_eq!(
        (snap["description"].as_str(), snap["vmstate"].as_u64(), snap["parent"].as_str()),
        (Some(desc), Some(1), Some("nginx-tuned"))
    );
    assert_eq!(parent_of(&mut sim, base, "current").as_deref(), Some("snap1"));

    let upid = post(&mut sim, &format!("{base}/snapshot"), &[("snapname", "pre-upgrade")]).expect("starts");
    assert!(sim.state().guest(100).expect("100").lock.is_none(), "a worker that dies early takes no lock");
    finish_all(&mut sim);
    assert_eq!(task(&sim, &upid).exitstatus.as_deref(), Some("snapshot name 'pre-upgrade' already used"));

    let upid = post(&mut sim, "/nodes/pve1/qemu/103/snapshot", &[("snapname", "cold"), ("vmstate", "1")]).expect("starts");
    finish_all(&mut sim);
    assert_eq!(task(&sim, &upid).exitstatus.as_deref(), Some("OK"));
    assert!(!sim.state().guest(103).expect("103").snapshots[0].vmstate, "no RAM state for a stopped VM");
    let upid = post(&mut sim, "/nodes/pve1/lxc/102/snapshot", &[("snapname", "ct-snap")]).expect("starts");
    assert_eq!(task(&sim, &upid).upid.task_type, "vzsnapshot");
    assert_eq!(sim.state().guest(102).expect("102").lock.as_deref(), Some("snapshot"));
    let list = super::tools::run(&mut sim, crate::model::GuestKind::Lxc, &["list".to_owned()]).stdout;
    assert!(list.lines().any(|l| l.starts_with("102 ") && l.contains(" snapshot ")), "pct list shows the lock: {list}");
}

#[test]
fn snapshot_names_and_parameters_are_checked() {
    let mut sim = Sim::new(demo_state());
    let text = |sim: &mut Sim, path: &str, p: &[(&str, &str)]| post(sim, path, p).expect_err("refused").cli_text();
    let create = "/nodes/pve1/qemu/100/snapshot";
    assert_eq!(text(&mut sim, create, &[]), "400 Parameter verification failed.\nsnapname: property is missing and it is not optional\n");
    assert_eq!(
        text(&mut sim, create, &[("snapname", "1st")]),
        "400 Parameter verification failed.\nsnapname: invalid format - invalid configuration ID '1st'\n"
    );
    let long = "a".repeat(41);
    assert_eq!(
        text(&mut sim, create, &[("snapname", &long)]),
        "400 Parameter verification failed.\nsnapname: value may only be 40 characters long\n"
    );
    assert_eq!(text(&mut sim, create, &[("snapname", "current")]), "unable to use snapshot name 'current' (reserved name)\n");
    let e = post(&mut sim, "/nodes/pve1/lxc/102/snapshot", &[("snapname", "x1"), ("vmstate", "1")]).expect_err("no vmstate for lxc");
    assert_eq!(e.params[0].0, "vmstate");
    assert_eq!(text(&mut sim, "/nodes/pve2/lxc/106/snapshot", &[("snapname", "x1")]), "CT is locked (backup)\n");
    let upid = post(&mut sim, "/nodes/pve3/qemu/9000/snapshot", &[("snapname", "t1")]).expect("starts");
    finish_all(&mut sim);
    assert_eq!(task(&sim, &upid).exitstatus.as_deref(), Some("you can't take a snapshot if it's a template"));
}

#[test]
fn rollback_restores_config_and_run_state() {
    let mut sim = Sim::new(demo_state());
    let base = "/nodes/pve1/qemu/100";
    sim.state_mut().guest_mut(100).expect("100").config.push(("cores".into(), "8".into()));
    let upid = post(&mut sim, &format!("{base}/snapshot/post-upgrade/rollback"), &[]).expect("starts");
    assert_eq!(task(&sim, &upid).upid.task_type, "qmrollback");
    assert_eq!(sim.state().guest(100).expect("100").lock.as_deref(), Some("rollback"));
    finish_all(&mut sim);
    let g = sim.state().guest(100).expect("100");
    assert_eq!((g.status.as_str(), g.parent.as_deref(), g.lock.as_deref()), ("stopped", Some("post-upgrade"), None));
    assert_eq!(g.config.iter().filter(|(k, _)| k == "cores").count(), 1, "the snapshot's config is back");
    assert_eq!(g.config_value("description"), Some("Main web server\nOwner: ops team <ops@example.com>"), "the live description stays");

    post(&mut sim, &format!("{base}/snapshot/nginx-tuned/rollback"), &[("start", "1")]).expect("starts");
    finish_all(&mut sim);
    assert!(sim.state().guest(100).expect("100").is_running(), "start=1");
    post(&mut sim, &format!("{base}/status/stop"), &[]).expect("starts");
    finish_all(&mut sim);
    post(&mut sim, &format!("{base}/snapshot/php-test/rollback"), &[]).expect("starts");
    finish_all(&mut sim);
    assert!(sim.state().guest(100).expect("100").is_running(), "RAM state saved: running again");

    let upid = post(&mut sim, &format!("{base}/snapshot/nope/rollback"), &[]).expect("starts");
    finish_all(&mut sim);
    assert_eq!(task(&sim, &upid).exitstatus.as_deref(), Some("snapshot 'nope' does not exist"));

    let ct = "/nodes/pve1/lxc/102";
    let upid = post(&mut sim, &format!("{ct}/snapshot/base/rollback"), &[]).expect("starts");
    finish_all(&mut sim);
    assert_eq!(task(&sim, &upid).upid.task_type, "vzrollback");
    assert!(!sim.state().guest(102).expect("102").is_running(), "lxc: stopped unless start=1");
    post(&mut sim, &format!("{ct}/snapshot/configured/rollback"), &[("start", "1")]).expect("starts");
    finish_all(&mut sim);
    assert!(sim.state().guest(102).expect("102").is_running());
}

#[test]
fn delete_reparents_children_and_current() {
    let mut sim = Sim::new(demo_state());
    let base = "/nodes/pve1/qemu/100";
    let upid = sim.handle(Method::Delete, &format!("{base}/snapshot/post-upgrade"), &Vec::new()).expect("starts");
    let upid = upid.as_str().expect("upid").to_owned();
    assert_eq!(task(&sim, &upid).upid.task_type, "qmdelsnapshot");
    assert_eq!(get(&mut sim, &format!("{base}/status/current"), &[])["lock"], "snapshot-delete");
    finish_all(&mut sim);
    assert_eq!(parent_of(&mut sim, base, "nginx-tuned").as_deref(), Some("pre-upgrade"), "child re-parented");
    assert!(parents(&mut sim, base).iter().all(|(n, _)| n != "post-upgrade"));
    sim.handle(Method::Delete, &format!("{base}/snapshot/nginx-tuned"), &Vec::new()).expect("starts");
    finish_all(&mut sim);
    assert_eq!(parent_of(&mut sim, base, "current").as_deref(), Some("pre-upgrade"), "current re-parented");
    sim.handle(Method::Delete, &format!("{base}/snapshot/pre-upgrade"), &Vec::new()).expect("starts");
    finish_all(&mut sim);
    assert_eq!(parent_of(&mut sim, base, "php-test"), None, "a child of a root becomes a root");
    assert_eq!(parent_of(&mut sim, base, "current"), None);

    let upid = sim.handle(Method::Delete, "/nodes/pve3/lxc/109/snapshot/nope", &Vec::new()).expect("starts");
    finish_all(&mut sim);
    let t = task(&sim, upid.as_str().expect("upid"));
    assert_eq!((t.upid.task_type.as_str(), t.exitstatus.as_deref()), ("vzdelsnapshot", Some("snapshot 'nope' does not exist")));
}
