//! `pvectl -t sim`: the in-process simulator through the real binary.

use crate::support::Pvectl;

fn sim(args: &[&str]) -> crate::support::Run {
    Pvectl::new().args(["-t", "sim"]).args(args).run()
}

#[test]
fn guest_list_json_has_every_field() {
    let r = sim(&["guest", "list", "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    let guests = v.as_array().expect("an array");
    let qemu = guests.iter().filter(|g| g["kind"] == "qemu").count();
    let lxc = guests.iter().filter(|g| g["kind"] == "lxc").count();
    assert!(qemu >= 6 && lxc >= 4, "demo has >= 6 qemu and >= 4 lxc guests, got {qemu}/{lxc}");
    for g in guests {
        for f in [
            "vmid", "name", "node", "kind", "status", "cpu", "maxcpu", "mem", "maxmem", "disk", "maxdisk", "uptime", "template", "tags",
            "pool", "lock",
        ] {
            assert!(g.get(f).is_some(), "field {f} missing in {g}");
        }
    }
    let nodes: std::collections::BTreeSet<_> = guests.iter().map(|g| g["node"].as_str().expect("node").to_owned()).collect();
    assert_eq!(nodes.len(), 3, "guests spread over 3 nodes: {nodes:?}");
    assert!(guests.iter().any(|g| g["template"] == true), "a template");
    assert!(guests.iter().any(|g| g["status"] == "running") && guests.iter().any(|g| g["status"] == "stopped"));
    assert!(guests.iter().any(|g| g["pool"].is_string()), "a pool");
    assert!(guests.iter().any(|g| g["tags"].as_array().is_some_and(|t| !t.is_empty())), "tags");
    let vmids: Vec<u64> = guests.iter().map(|g| g["vmid"].as_u64().expect("vmid")).collect();
    let mut sorted = vmids.clone();
    sorted.sort_unstable();
    assert_eq!(vmids, sorted, "sorted by vmid");
}

#[test]
fn guest_list_filters() {
    let v = sim(&["guest", "list", "--kind", "lxc", "--status", "running", "-o", "json"]).json();
    let g = v.as_array().expect("array");
    assert!(!g.is_empty());
    assert!(g.iter().all(|g| g["kind"] == "lxc" && g["status"] == "running"));
}

#[test]
fn table_output_has_a_header_and_a_row_per_guest() {
    let r = sim(&["guest", "list", "-o", "table"]);
    r.expect_code(0);
    let n = sim(&["guest", "list", "-o", "json"]).json().as_array().expect("array").len();
    assert!(r.stdout.lines().next().expect("header").trim_start().starts_with("VMID"));
    assert_eq!(r.stdout.lines().count(), n + 1);
}

#[test]
fn status_config_snapshots_of_a_located_guest() {
    let guests = sim(&["guest", "list", "-o", "json"]).json();
    let g = guests
        .as_array()
        .expect("array")
        .iter()
        .find(|g| g["kind"] == "qemu" && g["status"] == "running")
        .expect("a running qemu guest")
        .clone();
    let vmid = g["vmid"].to_string();
    let s = sim(&["guest", "status", &vmid, "-o", "json"]).json();
    assert_eq!(s["vmid"], g["vmid"]);
    assert_eq!(s["node"], g["node"]);
    assert_eq!(s["status"], "running");
    let c = sim(&["guest", "config", &vmid, "-o", "json"]).json();
    assert!(c.as_object().expect("object").contains_key("memory"), "{c}");
    let snaps = sim(&["snapshot", "list", &vmid, "-o", "json"]).json();
    assert!(snaps.as_array().expect("array").iter().any(|s| s["name"] == "current"));
}

#[test]
fn unknown_vmid_exits_5_and_invalid_vmid_exits_2() {
    let r = sim(&["guest", "status", "98765", "-o", "json"]);
    r.expect_code(5);
    assert!(r.stdout.is_empty());
    let e: serde_json::Value = serde_json::from_str(r.stderr.trim()).expect("JSON error on stderr");
    assert_eq!(e["error"]["kind"], "not_found");
    let r = sim(&["guest", "status", "99"]);
    r.expect_code(2);
    assert!(r.stderr.contains("vmid"), "{}", r.stderr);
}

#[test]
fn node_reads() {
    let nodes = sim(&["node", "list", "-o", "json"]).json();
    let names: Vec<&str> = nodes.as_array().expect("array").iter().map(|n| n["node"].as_str().expect("node")).collect();
    assert_eq!(names.len(), 3);
    let s = sim(&["node", "status", names[0], "-o", "json"]).json();
    assert_eq!(s["node"], names[0]);
    assert!(s["memory"]["total"].as_u64().is_some_and(|t| t > 0));
    sim(&["node", "status", "nosuchnode", "-o", "json"]).expect_code(5);
}

#[test]
fn tasks_status_and_log() {
    let tasks = sim(&["task", "list", "-o", "json"]).json();
    let tasks = tasks.as_array().expect("array");
    assert!(!tasks.is_empty());
    let upid = tasks[0]["upid"].as_str().expect("upid");
    let st = sim(&["task", "status", upid, "-o", "json"]).json();
    assert_eq!(st["upid"], upid);
    // PVE's node, pid and pstart are kept; they are the UPID's fields (hex there).
    let u: Vec<&str> = upid.split(':').collect();
    let hex = |s: &str| u64::from_str_radix(s, 16).expect("hex");
    assert_eq!((st["node"].as_str(), st["pid"].as_u64(), st["pstart"].as_u64()), (Some(u[1]), Some(hex(u[2])), Some(hex(u[3]))));
    assert_eq!(st["starttime"].as_u64(), Some(hex(u[4])));
    let table = sim(&["task", "status", upid, "-o", "table"]);
    table.expect_code(0);
    for row in ["node", "pid", "pstart"] {
        assert!(table.stdout.lines().any(|l| l.split_whitespace().next() == Some(row)), "row {row} in:\n{}", table.stdout);
    }
    assert!(table.stdout.contains(&hex(u[2]).to_string()) && table.stdout.contains(&hex(u[3]).to_string()), "{}", table.stdout);
    let log = sim(&["task", "log", upid, "-o", "json"]).json();
    let last = log.as_array().expect("array").last().expect("a line")["t"].as_str().expect("text").to_owned();
    assert!(last.starts_with("TASK "), "last log line is the task end marker: {last}");
    sim(&["task", "status", "UPID:garbage"]).expect_code(2);
}

#[test]
fn cluster_storage_and_raw_reads() {
    let cs = sim(&["cluster", "status", "-o", "json"]).json();
    assert!(cs.as_array().expect("array").iter().any(|e| e["type"] == "cluster"));
    let st = sim(&["storage", "list", "-o", "json"]).json();
    let ids: std::collections::BTreeSet<_> =
        st.as_array().expect("array").iter().map(|s| s["storage"].as_str().expect("id").to_owned()).collect();
    assert!(ids.len() >= 2, "two storages: {ids:?}");
    let raw = sim(&["api", "get", "/cluster/resources", "type=node"]).json();
    assert_eq!(raw.as_array().expect("array").len(), 3);
    sim(&["api", "get", "/no/such/path"]).expect_code(5);
}

#[test]
fn a_denied_privilege_exits_4_and_lists_leave_the_guest_out() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state.json");
    let ok = std::process::Command::new(crate::support::pve_sim_bin()).arg("init").arg(&state).status().expect("pve-sim init");
    assert!(ok.success());
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&state).expect("read")).expect("json");
    v["faults"]["denied"] = serde_json::json!([{"path": "/vms/100", "privilege": "VM.Audit"}]);
    std::fs::write(&state, v.to_string()).expect("write");
    let run = |args: &[&str]| Pvectl::new().env("PVE_SIM_STATE", &state).args(["-t", "sim"]).args(args).run();
    let r = run(&["guest", "status", "100", "--node", "pve1", "--kind", "qemu", "-o", "json"]);
    r.expect_code(4);
    let e: serde_json::Value = serde_json::from_str(r.stderr.trim()).expect("JSON error");
    assert_eq!(e["error"]["kind"], "permission_denied");
    assert!(e["error"]["message"].as_str().is_some_and(|m| m.contains("Permission check failed (/vms/100, VM.Audit)")), "{e}");
    let list = run(&["guest", "list", "-o", "json"]).json();
    assert!(list.as_array().expect("array").iter().all(|g| g["vmid"] != 100), "PVE hides what the caller may not see");
}

#[test]
fn doctor_reports_each_check() {
    let r = sim(&["doctor", "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["target"], "Sim");
    let checks: Vec<(&str, &str)> = v["checks"]
        .as_array()
        .expect("array")
        .iter()
        .map(|c| (c["check"].as_str().expect("check"), c["result"].as_str().expect("result")))
        .collect();
    assert_eq!(checks, [("version", "ok"), ("nodes", "ok"), ("guests", "ok"), ("tasks", "ok"), ("permissions", "ok")]);
    assert!(v["privileges"].as_array().expect("groups").iter().all(|g| g["result"] == "ok"), "root may do everything");
}
