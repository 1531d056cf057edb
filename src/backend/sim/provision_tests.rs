//! Backups, restore, clone, template, create, delete and config writes through the core
//! (in process), and the text of the tool faces for them.

use serde_json::Value;

use super::core::Sim;
use super::demo::demo_state;
use super::faults::{FaultOutcome, TaskFault};
use super::seed_guest::GuestSeed;
use super::write_tests::{finish_all, get, params, post, task};
use crate::backend::api::Method;
use crate::model::GuestKind;

fn sim() -> Sim {
    let mut st = demo_state();
    st.settings.task_ms = 20;
    Sim::new(st)
}

fn argv(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| (*s).to_owned()).collect()
}

fn die(sim: &mut Sim, method: Method, path: &str, p: &[(&str, &str)]) -> String {
    sim.handle(method, path, &params(p)).expect_err("refused").cli_text()
}

fn backups_of(sim: &mut Sim, vmid: &str) -> Vec<Value> {
    get(sim, "/nodes/pve1/storage/nas/content", &[("content", "backup"), ("vmid", vmid)]).as_array().cloned().unwrap_or_default()
}

#[test]
fn vzdump_one_guest_logs_like_pve_and_adds_an_archive() {
    let mut sim = sim();
    let before = backups_of(&mut sim, "100").len();
    let upid = post(
        &mut sim,
        "/nodes/pve1/vzdump",
        &[
            ("vmid", "100"),
            ("storage", "nas"),
            ("compress", "zstd"),
            ("notes-template", "{{guestname}} on {{node}}/{{cluster}}"),
            ("protected", "1"),
        ],
    )
    .expect("starts");
    let t = task(&sim, &upid);
    assert_eq!((t.upid.task_type.as_str(), t.upid.id.as_str()), ("vzdump", "100"));
    assert_eq!(sim.state().guest(100).and_then(|g| g.lock.as_deref()), Some("backup"), "locked while it runs");
    finish_all(&mut sim);
    let t = task(&sim, &upid);
    assert_eq!(t.exitstatus.as_deref(), Some("OK"));
    assert!(t.log[0].starts_with("INFO: starting new backup job: vzdump 100 --storage nas --compress zstd --notes-template '{{guestname}} on {{node}}/{{cluster}}'"), "{}", t.log[0]);
    assert_eq!(t.log[1], "INFO: Starting Backup of VM 100 (qemu)");
    assert!(
        t.log
            .iter()
            .any(|l| l.starts_with("INFO: creating vzdump archive '/mnt/pve/nas/dump/vzdump-qemu-100-") && l.ends_with(".vma.zst'"))
    );
    assert!(t.log.iter().any(|l| l.starts_with("INFO: Finished Backup of VM 100 (")));
    let n = t.log.len();
    assert_eq!(t.log[n - 3..], ["INFO: Backup job finished successfully", "INFO: notified via target `mail-to-root`", "TASK OK"]);
    assert_eq!(sim.state().guest(100).and_then(|g| g.lock.clone()), None, "unlocked at the end");
    let list = backups_of(&mut sim, "100");
    assert_eq!(list.len(), before + 1);
    let new = list.iter().find(|b| b["notes"] == "web01 on pve1/demo").expect("the new archive");
    assert_eq!(
        (new["format"].as_str(), new["subtype"].as_str(), new["protected"].as_i64(), new["vmid"].as_u64()),
        (Some("vma.zst"), Some("qemu"), Some(1), Some(100))
    );
    assert!(new["volid"].as_str().is_some_and(|v| v.starts_with("nas:backup/vzdump-qemu-100-")));
}

#[test]
fn vzdump_of_several_reports_each_failure_and_job_errors() {
    let mut st = demo_state();
    st.settings.task_ms = 20;
    st.faults.tasks.push(TaskFault {
        vmid: 103,
        action: Some("vzdump".into()),
        outcome: FaultOutcome::Fail { message: "got timeout".into() },
        once: true,
    });
    st.guests.iter_mut().find(|g| g.vmid == 102).expect("102").lock = Some("snapshot".into());
    let mut sim = Sim::new(st);
    let upid = post(&mut sim, "/nodes/pve1/vzdump", &[("vmid", "100,102,103,105")]).expect("starts");
    assert_eq!(task(&sim, &upid).upid.id, "", "several guests: empty id");
    finish_all(&mut sim);
    let t = task(&sim, &upid);
    assert_eq!(t.exitstatus.as_deref(), Some("job errors"));
    assert!(t.log.contains(&"ERROR: Backup of VM 102 failed - CT is locked (snapshot)".to_owned()), "{:?}", t.log);
    assert!(t.log.contains(&"ERROR: Backup of VM 103 failed - got timeout".to_owned()));
    assert!(t.log.iter().any(|l| l.starts_with("INFO: Failed at ")));
    assert!(!t.log.iter().any(|l| l.contains("VM 105")), "105 is not on pve1");
    assert!(t.log.contains(&"INFO: Backup job finished with errors".to_owned()));
    assert_eq!(t.log.last().map(String::as_str), Some("TASK ERROR: job errors"));
    assert_eq!(sim.state().guest(102).and_then(|g| g.lock.as_deref()), Some("snapshot"), "its own lock stays");
    assert!(
        get(&mut sim, "/nodes/pve1/storage/local/content", &[("content", "backup")]).as_array().is_some_and(|a| a.len() == 1),
        "100's archive on local"
    );
    assert_eq!(sim.handle(Method::Post, "/nodes/pve3/vzdump", &params(&[("vmid", "100")])).expect("answers"), Value::from("OK"));
}

#[test]
fn content_lists_backups_and_templates_with_optional_keys_absent() {
    let mut sim = sim();
    let all = get(&mut sim, "/nodes/pve2/storage/nas/content", &[]);
    let items: Vec<&Value> = all.as_array().expect("array").iter().collect();
    assert!(items.iter().all(|i| ["backup", "images", "rootdir"].contains(&i["content"].as_str().unwrap_or_default())), "{all}");
    let disk = items.iter().find(|i| i["volid"] == "nas:100/vm-100-disk-0.qcow2").expect("100's disk is content too");
    assert_eq!((disk["content"].as_str(), disk["format"].as_str(), disk["vmid"].as_u64()), (Some("images"), Some("qcow2"), Some(100)));
    let backups: Vec<&Value> = items.iter().copied().filter(|i| i["content"] == "backup").collect();
    let b102 = backups.iter().find(|i| i["vmid"] == 102).expect("102's backup");
    assert!(b102.get("protected").is_none() && b102["notes"] == "dns01");
    let b100 = backups.iter().find(|i| i["vmid"] == 100).expect("100's backup");
    assert_eq!((b100["protected"].as_i64(), b100["notes"].as_str()), (Some(1), Some("web01 before upgrade")), "first line of notes");
    let t = get(&mut sim, "/nodes/pve3/storage/local/content", &[("content", "vztmpl")]);
    assert_eq!(t[0]["volid"], "local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst");
    assert_eq!(t[0]["format"], "tzst");
    let e = die(&mut sim, Method::Get, "/nodes/pve1/storage/nope/content", &[]);
    assert_eq!(e, "storage 'nope' does not exist\n");
}

#[test]
fn a_volid_is_the_rest_of_the_path_and_protection_fails_the_task() {
    let mut sim = sim();
    let vol = backups_of(&mut sim, "100")[0]["volid"].as_str().expect("volid").to_owned();
    let info = get(&mut sim, &format!("/nodes/pve1/storage/nas/content/{vol}"), &[]);
    assert_eq!(info["protected"], 1);
    let upid = sim.handle(Method::Delete, &format!("/nodes/pve1/storage/nas/content/{vol}"), &params(&[])).expect("a task");
    let upid = upid.as_str().expect("upid").to_owned();
    assert_eq!((task(&sim, &upid).upid.task_type.as_str(), task(&sim, &upid).upid.id.as_str()), ("imgdel", "100@nas"));
    finish_all(&mut sim);
    let volname = vol.trim_start_matches("nas:");
    assert_eq!(task(&sim, &upid).exitstatus.as_deref(), Some(format!("cannot remove protected volume '{volname}' on 'nas'").as_str()));
    let b102 = backups_of(&mut sim, "102")[0]["volid"].as_str().expect("volid").to_owned();
    let short = b102.trim_start_matches("nas:");
    let upid = sim.handle(Method::Delete, &format!("/nodes/pve1/storage/nas/content//{short}"), &params(&[])).expect("volume name form");
    finish_all(&mut sim);
    let t = task(&sim, upid.as_str().expect("upid"));
    assert_eq!(t.log, [format!("Removed volume '{b102}'"), "TASK OK".to_owned()]);
    assert!(backups_of(&mut sim, "102").is_empty());
    let e = die(&mut sim, Method::Delete, &format!("/nodes/pve1/storage/local/content/{vol}"), &[]);
    assert_eq!(e, "400 Parameter verification failed.\nvolume: storage ID mismatch (nas != local)\n");
}

#[test]
fn restore_refuses_an_existing_guest_and_brings_back_the_config() {
    let mut sim = sim();
    let vol = backups_of(&mut sim, "100")[0]["volid"].as_str().expect("volid").to_owned();
    let e = die(&mut sim, Method::Post, "/nodes/pve1/qemu", &[("vmid", "101"), ("archive", &vol)]);
    assert_eq!(e, "unable to restore VM 101 - VM 101 already exists on node 'pve1'\n");
    let e = die(&mut sim, Method::Post, "/nodes/pve1/qemu", &[("vmid", "102"), ("archive", &vol)]);
    assert_eq!(e, "unable to restore VM 102 - CT 102 already exists on node 'pve1'\n");
    let upid = post(&mut sim, "/nodes/pve1/qemu", &[("vmid", "150"), ("archive", &vol), ("start", "1")]).expect("starts");
    assert_eq!(task(&sim, &upid).upid.task_type, "qmrestore");
    assert_eq!(sim.state().guest(150).and_then(|g| g.lock.as_deref()), Some("create"));
    finish_all(&mut sim);
    let t = task(&sim, &upid);
    assert!(t.log[0].starts_with("restore vma archive: zstd -q -d -c /mnt/pve/nas/dump/vzdump-qemu-100-"), "{}", t.log[0]);
    assert!(t.log.contains(&"progress 100% (read 34359738368 bytes, duration 0 sec)".to_owned()));
    assert!(t.log.contains(&"new volume ID is 'nas:150/vm-150-disk-0.qcow2'".to_owned()));
    assert_eq!(t.log[t.log.len() - 3..], ["rescan volumes...", "Execute autostart", "TASK OK"]);
    let g = sim.state().guest(150).expect("restored");
    assert_eq!((g.name.as_deref(), g.lock.as_deref(), g.is_running()), (Some("web01"), None, true));
    assert!(g.config_value("scsi0").is_some_and(|d| d.starts_with("nas:150/vm-150-disk-0.qcow2")));
    // force over an existing protected guest: the worker refuses.
    let upid = post(&mut sim, "/nodes/pve1/qemu", &[("vmid", "101"), ("archive", &vol), ("force", "1")]).expect("starts");
    finish_all(&mut sim);
    let t = task(&sim, &upid);
    assert_eq!(t.exitstatus.as_deref(), Some("unable to restore VM 101 - - protection mode enabled"));
    assert!(t.log[0].starts_with("error before or during data restore"));
    assert_eq!(sim.state().guest(101).and_then(|g| g.name.as_deref()), Some("db01"));
    // lxc
    let ct = backups_of(&mut sim, "102")[0]["volid"].as_str().expect("volid").to_owned();
    let upid = post(&mut sim, "/nodes/pve1/lxc", &[("vmid", "160"), ("ostemplate", &ct), ("restore", "1")]).expect("starts");
    finish_all(&mut sim);
    let t = task(&sim, &upid);
    assert_eq!((t.upid.task_type.as_str(), t.log[0].clone()), ("vzrestore", format!("recovering backed-up configuration from '{ct}'")));
    assert!(t.log.contains(&format!("restoring '{ct}' now..")));
    assert_eq!(sim.state().guest(160).map(|g| g.kind), Some(GuestKind::Lxc));
}

#[test]
fn clone_checks_before_the_task_and_locks_the_new_guest() {
    let mut sim = sim();
    let e = die(&mut sim, Method::Post, "/nodes/pve1/qemu/100/clone", &[("newid", "120"), ("full", "0")]);
    assert_eq!(e, "Linked clone feature is not supported for 'nas:100/vm-100-disk-0.qcow2' (scsi0)\n");
    let e = die(&mut sim, Method::Post, "/nodes/pve1/qemu/100/clone", &[("newid", "101")]);
    assert_eq!(e, "unable to create VM 101: config file already exists\n");
    sim.seed_guest(&GuestSeed::new(130, GuestKind::Qemu, "pve1").locked("backup"));
    let e = die(&mut sim, Method::Post, "/nodes/pve1/qemu/130/clone", &[("newid", "131")]);
    assert_eq!(e, "VM is locked (backup)\n");
    let upid =
        post(&mut sim, "/nodes/pve3/qemu/9000/clone", &[("newid", "9010"), ("name", "tmpl-copy")]).expect("linked clone of a template");
    let t = task(&sim, &upid);
    assert_eq!((t.upid.task_type.as_str(), t.upid.id.as_str()), ("qmclone", "9000"), "the SOURCE vmid");
    assert_eq!(sim.state().guest(9010).and_then(|g| g.lock.as_deref()), Some("clone"));
    finish_all(&mut sim);
    let t = task(&sim, &upid);
    assert_eq!(t.log, ["create linked clone of drive scsi0 (nas:9000/vm-9000-disk-0.qcow2)", "TASK OK"]);
    let g = sim.state().guest(9010).expect("clone");
    assert_eq!((g.name.as_deref(), g.lock.as_deref(), g.template), (Some("tmpl-copy"), None, false));
    let upid = post(&mut sim, "/nodes/pve1/qemu/103/clone", &[("newid", "121")]).expect("full clone");
    finish_all(&mut sim);
    assert_eq!(task(&sim, &upid).log[0], "create full clone of drive scsi0 (nas:103/vm-103-disk-0.qcow2)");
    assert_eq!(sim.state().guest(121).and_then(|g| g.name.as_deref()), Some("Copy-of-VM-build01"));
}

#[test]
fn template_create_and_destroy() {
    let mut sim = sim();
    let e = die(&mut sim, Method::Post, "/nodes/pve1/qemu/100/template", &[]);
    assert_eq!(e, "you can't convert a VM to template if VM is running\n");
    let upid = post(&mut sim, "/nodes/pve1/qemu/103/template", &[]).expect("task");
    finish_all(&mut sim);
    assert_eq!(task(&sim, &upid).upid.task_type, "qmtemplate");
    assert!(sim.state().guest(103).is_some_and(|g| g.template));
    assert_eq!(sim.handle(Method::Post, "/nodes/pve3/lxc/110/template", &params(&[])).expect("null"), Value::Null);

    let e = die(&mut sim, Method::Post, "/nodes/pve1/qemu", &[("vmid", "100")]);
    assert_eq!(e, "unable to create VM 100 - VM 100 already exists on node 'pve1'\n");
    let upid = post(
        &mut sim,
        "/nodes/pve2/qemu",
        &[
            ("vmid", "140"),
            ("name", "new"),
            ("memory", "2048"),
            ("scsi0", "nas:16"),
            ("net0", "virtio,bridge=vmbr0"),
            ("cipassword", "hunter2"),
        ],
    )
    .expect("create");
    assert_eq!(sim.state().guest(140).and_then(|g| g.lock.as_deref()), Some("create"));
    finish_all(&mut sim);
    let t = task(&sim, &upid);
    assert_eq!(t.upid.task_type, "qmcreate");
    assert!(t.log.contains(&"scsi0: successfully created disk 'nas:140/vm-140-disk-0.raw,size=16G'".to_owned()), "{:?}", t.log);
    let g = sim.state().guest(140).expect("created");
    assert!(g.config_value("net0").is_some_and(|n| n.starts_with("virtio=BC:24:11:")));
    assert!(!format!("{:?}", g.config).contains("hunter2"), "no password in plain text");
    let upid = post(
        &mut sim,
        "/nodes/pve1/lxc",
        &[
            ("vmid", "141"),
            ("ostemplate", "local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst"),
            ("hostname", "ct"),
            ("password", "secret"),
            ("rootfs", "nas:8"),
            ("start", "1"),
        ],
    )
    .expect("create");
    finish_all(&mut sim);
    assert_eq!(task(&sim, &upid).upid.task_type, "vzcreate");
    let g = sim.state().guest(141).expect("created");
    assert!(g.is_running() && !format!("{:?}", g.config).contains("secret"));

    let e = die(&mut sim, Method::Delete, "/nodes/pve1/qemu/101", &[]);
    assert_eq!(e, "can't remove VM 101 - protection mode enabled\n");
    let e = die(&mut sim, Method::Delete, "/nodes/pve1/qemu/100", &[]);
    assert_eq!(e, "VM 100 is running - destroy failed\n");
    let e = die(&mut sim, Method::Delete, "/nodes/pve1/lxc/102", &[]);
    assert_eq!(e, "unable to destroy CT 102 - container is running\n");
    let e = die(&mut sim, Method::Delete, "/nodes/pve2/lxc/106", &[]);
    assert_eq!(e, "CT is locked (backup)\n");
    sim.seed_guest(&GuestSeed::new(170, GuestKind::Qemu, "pve1"));
    sim.state_mut().guest_mut(170).expect("170").hastate = Some("stopped".into());
    let e = die(&mut sim, Method::Delete, "/nodes/pve1/qemu/170", &[]);
    assert_eq!(e, "unable to remove VM 170 - used in HA resources and purge parameter not set.\n");
    let upid = sim.handle(Method::Delete, "/nodes/pve1/qemu/170", &params(&[("purge", "1")])).expect("task");
    finish_all(&mut sim);
    let t = task(&sim, upid.as_str().expect("upid"));
    assert_eq!(t.log, ["purging VM 170 from related configurations..", "NOTE: removed VM 170 from HA resource configuration.", "TASK OK"]);
    assert!(sim.state().guest(170).is_none());
}

#[test]
fn config_writes_change_the_digest_and_refuse_a_stale_one() {
    let mut sim = sim();
    let d0 = get(&mut sim, "/nodes/pve1/qemu/103/config", &[])["digest"].as_str().expect("digest").to_owned();
    assert_eq!(
        sim.handle(Method::Put, "/nodes/pve1/qemu/103/config", &params(&[("onboot", "0"), ("digest", &d0)])).expect("ok"),
        Value::Null
    );
    let d1 = get(&mut sim, "/nodes/pve1/qemu/103/config", &[])["digest"].as_str().expect("digest").to_owned();
    assert_ne!(d0, d1);
    sim.handle(Method::Put, "/nodes/pve1/qemu/103/config", &params(&[("onboot", "0")])).expect("same value");
    let d2 = get(&mut sim, "/nodes/pve1/qemu/103/config", &[])["digest"].as_str().expect("digest").to_owned();
    assert_ne!(d1, d2, "every write changes it");
    let e = die(&mut sim, Method::Put, "/nodes/pve1/qemu/103/config", &[("name", "x"), ("digest", &d0)]);
    assert_eq!(e, "detected modified configuration - file changed by other user? Try again.\n");
    // running: memory goes pending, name applies
    sim.handle(Method::Put, "/nodes/pve1/qemu/100/config", &params(&[("memory", "8192"), ("name", "web02"), ("delete", "numa")]))
        .expect("ok");
    let p = get(&mut sim, "/nodes/pve1/qemu/100/pending", &[]);
    let item = |k: &str| p.as_array().and_then(|a| a.iter().find(|i| i["key"] == k).cloned()).expect(k);
    assert_eq!((item("memory")["value"].as_str(), item("memory")["pending"].as_str()), (Some("2048"), Some("8192")));
    assert_eq!(item("name")["value"], "web02");
    assert_eq!(item("numa")["delete"], 1);
    assert!(item("digest").get("value").is_some());
    let text = super::text::pending(&p);
    assert!(text.contains("cur memory: 2048\nnew memory: 8192\n") && text.contains("del numa: 0\n") && !text.contains("digest"), "{text}");
    sim.handle(Method::Post, "/nodes/pve1/qemu/100/status/stop", &params(&[])).expect("stop");
    finish_all(&mut sim);
    let upid = post(&mut sim, "/nodes/pve1/qemu/100/status/start", &[]).expect("start");
    finish_all(&mut sim);
    assert_eq!(task(&sim, &upid).exitstatus.as_deref(), Some("OK"));
    let g = sim.state().guest(100).expect("100");
    assert!(g.pending.is_empty() && g.config_value("memory") == Some("8192") && g.config_value("numa").is_none(), "applied at start");
}

#[test]
fn unlock_nextid_jobs_and_not_backed_up() {
    let mut sim = sim();
    sim.seed_guest(&GuestSeed::new(130, GuestKind::Qemu, "pve1").locked("backup"));
    let e = die(&mut sim, Method::Put, "/nodes/pve1/qemu/130/config", &[("delete", "lock")]);
    assert_eq!(e, "VM is locked (backup)\n");
    sim.handle(Method::Put, "/nodes/pve1/qemu/130/config", &params(&[("delete", "lock"), ("skiplock", "1")])).expect("unlocked");
    assert_eq!(sim.state().guest(130).and_then(|g| g.lock.clone()), None);
    assert_eq!(get(&mut sim, "/cluster/nextid", &[]), Value::from("111"));
    assert_eq!(get(&mut sim, "/cluster/nextid", &[("vmid", "500")]), Value::from("500"));
    let e = die(&mut sim, Method::Get, "/cluster/nextid", &[("vmid", "100")]);
    assert_eq!(e, "400 Parameter verification failed.\nvmid: VM 100 already exists\n");
    let jobs = get(&mut sim, "/cluster/backup", &[]);
    assert!(jobs[0]["next-run"].as_u64().is_some() && jobs[0]["schedule"] == "21:00");
    let missing = get(&mut sim, "/cluster/backup-info/not-backed-up", &[]);
    let ids: Vec<u64> = missing.as_array().expect("array").iter().filter_map(|m| m["vmid"].as_u64()).collect();
    assert!(ids.contains(&103) && !ids.contains(&100) && !ids.contains(&105), "{ids:?}");
}

#[test]
fn tool_faces_print_what_the_tools_print() {
    let mut s = sim();
    let step = super::backup_tools::vzdump(&mut s, &argv(&["103", "--storage", "nas"]));
    let out = super::foreground::run_to_end(&mut s, step);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("INFO: starting new backup job: vzdump 103 --storage nas\n") && !out.stdout.contains("UPID"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.ends_with("INFO: notified via target `mail-to-root`\n"));
    s.state_mut().guest_mut(103).expect("103").lock = Some("migrate".into());
    let step = super::backup_tools::vzdump(&mut s, &argv(&["103"]));
    let out = super::foreground::run_to_end(&mut s, step);
    assert_eq!((out.code, out.stderr.as_str()), (255, "job errors\n"));
    let out = super::tools::run(&mut s, GuestKind::Qemu, &argv(&["template", "100"]));
    assert_eq!((out.code, out.stdout.as_str(), out.stderr.as_str()), (0, "", "you can't convert a VM to template if VM is running\n"));
    let out = super::tools::run(&mut s, GuestKind::Qemu, &argv(&["destroy", "101"]));
    assert_eq!((out.code, out.stderr.as_str()), (255, "can't remove VM 101 - protection mode enabled\n"));
    let out = super::tools::run(&mut s, GuestKind::Qemu, &argv(&["clone", "9000", "9001", "--name", "x"]));
    assert_eq!((out.code, out.stderr.as_str()), (255, "Configuration file 'nodes/pve1/qemu-server/9000.conf' does not exist\n"));
    let out = super::tools::run(&mut s, GuestKind::Qemu, &argv(&["set", "103", "--memory", "1024"]));
    assert_eq!((out.code, out.stderr.as_str()), (255, "VM is locked (migrate)\n"));
    let out = super::tools::run(&mut s, GuestKind::Qemu, &argv(&["unlock", "103"]));
    assert_eq!(out.code, 0);
    assert_eq!(s.state().guest(103).and_then(|g| g.lock.clone()), None);
    let out = super::tools::run(&mut s, GuestKind::Qemu, &argv(&["set", "103", "--memory", "1024", "--delete", "onboot"]));
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
    let out = super::tools::run(&mut s, GuestKind::Qemu, &argv(&["pending", "103"]));
    assert!(out.stdout.contains("cur memory: 1024\n") && out.stdout.contains("cur name: build01\n"), "{}", out.stdout);
}
