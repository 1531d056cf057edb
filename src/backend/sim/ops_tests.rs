//! Migration, disks, the guest agent, containers' interfaces and exec, pools and HA through
//! the core, in process: the answers' content, PVE's direct refusals, what a task does at its
//! end (and where a failed migration leaves the guest), the argv log.

use serde_json::{Value, json};

use super::core::Sim;
use super::demo::demo_state;
use super::faults::{FaultOutcome, TaskFault};
use super::seed_guest::GuestSeed;
use super::write_tests::{finish_all, get, params, post, task};
use crate::backend::api::Method;
use crate::model::GuestKind;

/// The error's code and text: a 400's `<param>: <message>`, else the message.
fn err(sim: &mut Sim, method: Method, path: &str, p: &[(&str, &str)]) -> (Option<u16>, String) {
    let e = sim.handle(method, path, &params(p)).expect_err(path);
    match e.params.first() {
        Some((k, m)) => (e.code, format!("{k}: {m}")),
        None => (e.code, e.message),
    }
}

fn put(sim: &mut Sim, path: &str, p: &[(&str, &str)]) -> String {
    sim.handle(Method::Put, path, &params(p)).unwrap_or_else(|e| panic!("{path}: {e}")).as_str().expect("a UPID").to_owned()
}

fn fail(sim: &mut Sim, vmid: u32, action: &str, message: &str) {
    let f = TaskFault { vmid, action: Some(action.into()), outcome: FaultOutcome::Fail { message: message.into() }, once: false };
    sim.state_mut().faults.tasks.push(f);
}

/// 103 (pve1, stopped, disk on the shared `nas`) and 7000 (pve1, stopped, disk on `here`,
/// a `dir` storage on pve1 only).
fn sim() -> Sim {
    let mut sim = Sim::new(demo_state());
    sim.seed_storage("here", "dir", &["images", "rootdir"], &["pve1"]);
    sim.seed_guest(&GuestSeed::new(7000, GuestKind::Qemu, "pve1").on_storage("here"));
    sim
}

#[test]
fn migrate_precondition_names_allowed_nodes_and_local_disks() {
    let mut sim = sim();
    let pre = get(&mut sim, "/nodes/pve1/qemu/103/migrate", &[("target", "pve2")]);
    assert_eq!((pre["running"].clone(), pre["allowed_nodes"].clone()), (json!(0), json!(["pve2", "pve3"])));
    assert_eq!((pre["not_allowed_nodes"].clone(), pre["local_disks"].clone()), (json!({}), json!([])));
    assert!(pre.get("dependent-ha-resources").is_none());
    let pre = get(&mut sim, "/nodes/pve1/qemu/7000/migrate", &[]);
    assert_eq!(pre["allowed_nodes"], json!([]));
    assert_eq!(pre["not_allowed_nodes"]["pve2"], json!({"unavailable_storages": ["here"]}));
    let disk = &pre["local_disks"][0];
    assert_eq!(
        (disk["volid"].as_str(), disk["drivename"].as_str(), disk["size"].as_u64(), disk["is_attached"].as_u64()),
        (Some("here:7000/vm-7000-disk-0.qcow2"), Some("scsi0"), Some(8 << 30), Some(1))
    );
    assert_eq!(get(&mut sim, "/nodes/pve1/qemu/101/migrate", &[])["dependent-ha-resources"], json!([]), "HA-managed");
    assert_eq!(err(&mut sim, Method::Get, "/nodes/pve1/qemu/103/migrate", &[("target", "pve9")]).1, "no such cluster node 'pve9'");
}

#[test]
fn migrate_refuses_directly_what_pve_refuses_before_the_task() {
    let mut sim = sim();
    let m = "/nodes/pve1/qemu/103/migrate";
    assert_eq!(err(&mut sim, Method::Post, m, &[("target", "pve1")]), (Some(400), "target: target is local node.".into()));
    assert_eq!(err(&mut sim, Method::Post, m, &[("target", "pve9")]).1, "no such cluster node 'pve9'");
    assert_eq!(
        err(&mut sim, Method::Post, "/nodes/pve1/qemu/100/migrate", &[("target", "pve2")]).1,
        "can't migrate running VM without --online"
    );
    assert_eq!(
        err(&mut sim, Method::Post, "/nodes/pve1/qemu/7000/migrate", &[("target", "pve2")]).1,
        "storage 'here' is not available on node 'pve2'"
    );
    assert_eq!(
        err(&mut sim, Method::Post, "/nodes/pve1/lxc/102/migrate", &[("target", "pve2")]).1,
        "can't migrate running container without --online or --restart"
    );
    sim.state_mut().guest_mut(103).expect("103").lock = Some("backup".into());
    assert_eq!(err(&mut sim, Method::Post, m, &[("target", "pve2")]).1, "VM is locked (backup)");
    assert!(sim.state().tasks.iter().all(|t| !t.upid.task_type.contains("migrate")), "no task started");
}

#[test]
fn migration_moves_the_guest_at_the_end_and_logs_like_pve() {
    let mut sim = sim();
    let upid = post(&mut sim, "/nodes/pve1/qemu/103/migrate", &[("target", "pve2")]).expect("starts");
    assert_eq!(task(&sim, &upid).upid.task_type, "qmigrate");
    assert_eq!(sim.state().guest(103).expect("103").lock.as_deref(), Some("migrate"));
    finish_all(&mut sim);
    let t = task(&sim, &upid);
    assert_eq!(t.exitstatus.as_deref(), Some("OK"));
    assert!(t.log[0].ends_with("starting migration of VM 103 to node 'pve2' (192.0.2.12)"), "{:?}", t.log);
    assert!(t.log.iter().any(|l| l.contains("migration finished successfully")), "{:?}", t.log);
    let g = sim.state().guest(103).expect("103");
    assert_eq!((g.node.as_str(), g.lock.as_deref()), ("pve2", None));
    // Local disks move with their storage's name (the same storage on the target).
    let upid = post(&mut sim, "/nodes/pve1/qemu/7000/migrate", &[("target", "pve2"), ("targetstorage", "nas")]).expect("starts");
    finish_all(&mut sim);
    assert_eq!(task(&sim, &upid).exitstatus.as_deref(), Some("OK"));
    assert_eq!(sim.state().guest(7000).expect("7000").config_value("scsi0").map(|v| v.starts_with("nas:7000/")), Some(true));
}

#[test]
fn failed_migrations_leave_the_guest_where_pve_does() {
    let mut sim = sim();
    sim.seed_guest(&GuestSeed::new(7001, GuestKind::Qemu, "pve1"));
    fail(&mut sim, 103, "migrate", "migration aborted");
    fail(&mut sim, 7001, "migrate", "migration problems");
    let aborted = post(&mut sim, "/nodes/pve1/qemu/103/migrate", &[("target", "pve2")]).expect("starts");
    let problems = post(&mut sim, "/nodes/pve1/qemu/7001/migrate", &[("target", "pve2")]).expect("starts");
    finish_all(&mut sim);
    let t = task(&sim, &aborted);
    assert_eq!(t.exitstatus.as_deref(), Some("migration aborted"));
    assert!(t.log.iter().any(|l| l.contains("ERROR: migration aborted (duration ")), "{:?}", t.log);
    let g = sim.state().guest(103).expect("103");
    assert_eq!((g.node.as_str(), g.lock.as_deref()), ("pve1", None), "aborted: still on the source, unlocked");
    let t = task(&sim, &problems);
    assert_eq!(t.exitstatus.as_deref(), Some("migration problems"));
    assert!(t.log.iter().any(|l| l.contains("ERROR: migration finished with problems")), "{:?}", t.log);
    assert_eq!(sim.state().guest(7001).expect("7001").node, "pve2", "problems: already on the target");
}

#[test]
fn an_ha_managed_guest_migrates_through_the_ha_manager() {
    let mut sim = sim();
    let upid = post(&mut sim, "/nodes/pve1/qemu/101/migrate", &[("target", "pve2"), ("online", "1")]).expect("starts");
    let t = task(&sim, &upid);
    assert_eq!((t.upid.task_type.as_str(), t.log[0].as_str()), ("hamigrate", "Requesting HA migration for VM 101 to node pve2"));
    assert_eq!(sim.state().guest(101).expect("101").node, "pve1", "nothing moves before the manager acts");
    finish_all(&mut sim);
    let g = sim.state().guest(101).expect("101");
    assert_eq!((g.node.as_str(), g.is_running()), ("pve2", true));
    let by_ha = sim.state().tasks.iter().find(|t| t.upid.task_type == "qmigrate" && t.upid.id == "101").expect("the manager's task");
    assert_eq!(by_ha.log[0], "task started by HA resource agent");
    let answer = sim.handle(Method::Post, "/cluster/ha/resources/vm:101/migrate", &params(&[("node", "pve3")])).expect("requested");
    assert_eq!(answer, json!({"sid": "vm:101", "requested-node": "pve3"}));
    assert_eq!(
        err(&mut sim, Method::Post, "/cluster/ha/resources/vm:103/migrate", &[("node", "pve3")]).1,
        "resource 'vm:103' is not HA managed"
    );
}

#[test]
fn resize_grows_in_a_task_and_a_shrink_fails_in_it() {
    let mut sim = sim();
    let upid = put(&mut sim, "/nodes/pve1/qemu/103/resize", &[("disk", "scsi0"), ("size", "+2G")]);
    assert_eq!(task(&sim, &upid).upid.task_type, "resize");
    finish_all(&mut sim);
    assert_eq!(task(&sim, &upid).exitstatus.as_deref(), Some("OK"));
    let disk = sim.state().guest(103).expect("103").config_value("scsi0").expect("scsi0").to_owned();
    assert!(disk.ends_with(",size=42G"), "{disk}");
    let upid = put(&mut sim, "/nodes/pve1/qemu/103/resize", &[("disk", "scsi0"), ("size", "10G")]);
    finish_all(&mut sim);
    assert_eq!(task(&sim, &upid).exitstatus.as_deref(), Some("shrinking disks is not supported"));
    assert_eq!(sim.state().guest(103).expect("103").config_value("scsi0"), Some(disk.as_str()), "unchanged");
    let upid = put(&mut sim, "/nodes/pve3/lxc/110/resize", &[("disk", "rootfs"), ("size", "16G")]);
    finish_all(&mut sim);
    assert_eq!(task(&sim, &upid).exitstatus.as_deref(), Some("disk is already at specified size"));
    let upid = put(&mut sim, "/nodes/pve1/qemu/103/resize", &[("disk", "scsi7"), ("size", "+1G")]);
    finish_all(&mut sim);
    assert_eq!(task(&sim, &upid).exitstatus.as_deref(), Some("disk 'scsi7' does not exist"));
    assert_eq!(
        err(&mut sim, Method::Put, "/nodes/pve1/qemu/103/resize", &[("disk", "scsi0"), ("size", "2X")]),
        (Some(400), "size: value does not match the regex pattern".into())
    );
}

#[test]
fn move_disk_makes_a_new_volume_and_keeps_the_old_as_unused() {
    let mut sim = sim();
    let upid = post(&mut sim, "/nodes/pve1/qemu/103/move_disk", &[("disk", "scsi0"), ("storage", "here")]).expect("starts");
    assert_eq!(task(&sim, &upid).upid.task_type, "qmmove");
    finish_all(&mut sim);
    let t = task(&sim, &upid);
    assert_eq!(t.exitstatus.as_deref(), Some("OK"));
    assert!(t.log[0].starts_with("create full clone of drive scsi0 (nas:103/vm-103-disk-0.qcow2)"), "{:?}", t.log);
    let g = sim.state().guest(103).expect("103");
    assert!(g.config_value("scsi0").is_some_and(|v| v.starts_with("here:103/vm-103-disk-")), "{:?}", g.config);
    assert_eq!(g.config_value("unused0"), Some("nas:103/vm-103-disk-0.qcow2"), "kept without delete");
    assert_eq!(
        err(&mut sim, Method::Post, "/nodes/pve1/lxc/102/move_volume", &[("volume", "rootfs"), ("storage", "here")]).1,
        "cannot move volumes of a running container"
    );
}

#[test]
fn the_agent_answers_only_when_configured_running_and_up() {
    let mut sim = sim();
    let ifs = get(&mut sim, "/nodes/pve1/qemu/100/agent/network-get-interfaces", &[]);
    assert_eq!(ifs["result"][1]["name"], "ens18");
    assert_eq!(ifs["result"][1]["ip-addresses"][0]["ip-address"], "198.51.100.120");
    let path = "/nodes/pve1/qemu/103/agent/get-osinfo";
    assert_eq!(err(&mut sim, Method::Get, path, &[]), (None, "VM 103 is not running".into()), "a plain die: HTTP 500");
    sim.state_mut().guest_mut(103).expect("103").config.retain(|(k, _)| k != "agent");
    assert_eq!(err(&mut sim, Method::Get, path, &[]).1, "No QEMU guest agent configured");
    sim.state_mut().faults.agent_down.push(100);
    assert_eq!(err(&mut sim, Method::Get, "/nodes/pve1/qemu/100/agent/info", &[]).1, "QEMU guest agent is not running");
    assert_eq!(err(&mut sim, Method::Post, "/nodes/pve1/qemu/100/agent/exec", &[("command", "true")]).1, "QEMU guest agent is not running");
    assert!(sim.state().agent_exec_log.is_empty(), "nothing ran");
}

#[test]
fn agent_exec_runs_then_reports_through_exec_status() {
    let mut sim = sim();
    let argv = ["sh", "-c", "echo hi; exit 3"];
    let p: Vec<(&str, &str)> = argv.iter().map(|a| ("command", *a)).collect();
    let started = sim.handle(Method::Post, "/nodes/pve1/qemu/100/agent/exec", &params(&p)).expect("starts");
    let pid = started["pid"].as_u64().expect("a pid").to_string();
    sim.settle_at(u64::MAX);
    let st = super::agent::status_json(sim.state().agent_execs.last().expect("the process"), u64::MAX);
    assert_eq!(st, json!({"exited": 1, "exitcode": 3, "out-data": "hi\n"}));
    let status = get(&mut sim, "/nodes/pve1/qemu/100/agent/exec-status", &[("pid", &pid)]);
    assert_eq!(status["exited"], 1, "a command without sleep ends at once");
    assert_eq!(status["exitcode"], 3);
    assert_eq!(sim.state().agent_exec_log.last().map(|r| (r.vmid, r.argv.clone())), Some((100, argv.map(str::to_owned).to_vec())));
    assert_eq!(
        err(&mut sim, Method::Get, "/nodes/pve1/qemu/100/agent/exec-status", &[("pid", "1")]).1,
        "Agent error: Invalid parameter 'pid'"
    );
    sim.state_mut().faults.agent_exec_hang.push(100);
    let started = sim.handle(Method::Post, "/nodes/pve1/qemu/100/agent/exec", &params(&[("command", "true")])).expect("starts");
    let pid = started["pid"].as_u64().expect("a pid").to_string();
    assert_eq!(get(&mut sim, "/nodes/pve1/qemu/100/agent/exec-status", &[("pid", &pid)]), json!({"exited": 0}), "hangs");
}

#[test]
fn containers_report_interfaces_and_run_pct_exec() {
    let mut sim = sim();
    let ifs = get(&mut sim, "/nodes/pve1/lxc/102/interfaces", &[]);
    assert_eq!((ifs[1]["name"].as_str(), ifs[1]["inet"].as_str()), (Some("eth0"), Some("198.51.100.122/24")));
    assert_eq!(ifs[1]["ip-addresses"][0]["ip-address-type"], "inet");
    assert_eq!(get(&mut sim, "/nodes/pve3/lxc/110/interfaces", &[]), Value::Null, "stopped");
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>();
    let o = super::lxc_exec::exec(&mut sim, &args(&["102", "--", "sh", "-c", "echo hi; exit 3"]));
    assert_eq!((o.stdout.as_str(), o.code), ("hi\n", 3));
    assert_eq!(sim.state().agent_exec_log.last().map(|r| r.argv.len()), Some(3));
    let o = super::lxc_exec::exec(&mut sim, &args(&["109", "--", "true"]));
    assert_eq!(o.code, 255, "not on this node: {o:?}");
}

#[test]
fn pools_in_their_three_forms() {
    let mut sim = sim();
    assert_eq!(get(&mut sim, "/pools", &[]), json!([{"poolid": "lab"}, {"poolid": "prod", "comment": "Production services"}]));
    let one = get(&mut sim, "/pools", &[("poolid", "prod")]);
    assert_eq!(one.as_array().map(Vec::len), Some(1), "still an array");
    let ids = |v: &Value| v.as_array().map(|m| m.iter().filter_map(|x| x["id"].as_str().map(str::to_owned)).collect::<Vec<_>>());
    assert_eq!(ids(&one[0]["members"]).expect("members"), ["qemu/100", "qemu/101", "lxc/102", "storage/pve1/nas"]);
    let lxc = get(&mut sim, "/pools", &[("poolid", "prod"), ("type", "lxc")]);
    assert_eq!(ids(&lxc[0]["members"]).expect("members"), ["lxc/102"]);
    let legacy = get(&mut sim, "/pools/prod", &[]);
    assert_eq!((legacy["comment"].as_str(), legacy.get("poolid")), (Some("Production services"), None));
    assert_eq!(legacy["members"], one[0]["members"]);
    assert_eq!(err(&mut sim, Method::Get, "/pools", &[("type", "lxc")]).1, "type: missing property - 'poolid' is required by 'type'");
    assert_eq!(err(&mut sim, Method::Get, "/pools/nope", &[]).1, "pool 'nope' does not exist");
}

#[test]
fn ha_status_and_resources() {
    let mut sim = sim();
    let res = get(&mut sim, "/cluster/ha/resources", &[]);
    assert_eq!(res[0]["sid"], "vm:101");
    assert_eq!((res[0]["state"].as_str(), res[0]["max_restart"].as_u64()), (Some("started"), Some(1)));
    assert_eq!(get(&mut sim, "/cluster/ha/resources", &[("type", "ct")]), json!([]));
    let st = get(&mut sim, "/cluster/ha/status/current", &[]);
    let ids: Vec<&str> = st.as_array().expect("a list").iter().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(ids, ["quorum", "master", "fencing", "lrm:pve1", "lrm:pve2", "lrm:pve3", "service:vm:101"]);
    let svc = st.as_array().and_then(|a| a.last()).expect("the service");
    assert_eq!((svc["node"].as_str(), svc["state"].as_str()), (Some("pve1"), Some("started")));
}
