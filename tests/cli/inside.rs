//! Issue 9's contract through the binary: migrate, resize, the guest agent, exec, storage
//! content, pools and HA over the in-process sim with a state file, and over `-t local` with
//! the `pve-sim` tools where the call log must prove that nothing was sent.

use serde_json::{Value, json};

use crate::support::{Pvectl, Run, SimTools};

fn error(r: &Run) -> Value {
    serde_json::from_str(r.stderr.trim()).unwrap_or_else(|e| panic!("not one JSON error ({e}): {}", r.stderr))
}

fn mutating(tools: &SimTools) -> Vec<Vec<String>> {
    tools.calls().into_iter().filter(|c| c.first().is_some_and(|t| t == "pvesh") && c.get(1).is_some_and(|v| v != "get")).collect()
}

/// Edits the tools' state file (seeding it first).
fn edit_state(tools: &SimTools, f: impl FnOnce(&mut Value)) {
    tools.apply(Pvectl::new()).args(["-t", "local", "node", "list"]).run().expect_code(0);
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(tools.state()).expect("state")).expect("JSON");
    f(&mut v);
    std::fs::write(tools.state(), v.to_string()).expect("write state");
    tools.clear_log();
}

fn local(tools: &SimTools, args: &[&str]) -> Run {
    tools.apply(Pvectl::new()).env("PVECTL_AUDIT_LOG", "off").args(["-t", "local", "-o", "json"]).args(args).run()
}

#[test]
fn migrate_online_moves_the_guest_and_reports_both_nodes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let r = Pvectl::new()
        .env("PVE_SIM_STATE", dir.path().join("s.json"))
        .args(["-t", "sim", "guest", "migrate", "100", "pve2", "--online", "--yes", "-o", "json"])
        .run();
    r.expect_code(0);
    let v = r.json();
    assert_eq!(
        (&v["before"]["node"], &v["after"]["node"], &v["task"]["exitstatus"]),
        (&json!("pve1"), &json!("pve2"), &json!("OK")),
        "{v}"
    );
}

#[test]
fn a_target_the_precondition_disallows_is_refused_with_pves_reason_and_nothing_sent() {
    let tools = SimTools::new();
    // pve3 loses the shared storage `nas` that guest 100's disk is on.
    edit_state(&tools, |v| {
        for s in v["storages"].as_array_mut().expect("storages") {
            if s["id"] == "nas" {
                // `nodes` null means every node (storage.cfg without `nodes`).
                s["nodes"] = json!(["pve1", "pve2"]);
            }
        }
    });
    let r = local(&tools, &["guest", "migrate", "100", "pve3", "--online", "--yes"]);
    r.expect_code(6);
    let m = error(&r)["error"]["message"].as_str().expect("message").to_owned();
    assert!(m.contains("storage 'nas' is not available on node 'pve3'"), "{m}");
    assert!(mutating(&tools).is_empty(), "{:?}", mutating(&tools));
    assert!(tools.calls().iter().any(|c| c.get(2).is_some_and(|p| p == "/nodes/pve1/qemu/100/migrate")), "the precondition was read");
}

#[test]
fn migration_problems_exit_7_and_say_where_the_guest_is() {
    let tools = SimTools::new();
    edit_state(&tools, |v| {
        v["faults"]["tasks"] = json!([{"vmid": 103, "action": "migrate", "outcome": "fail", "message": "migration problems"}]);
    });
    let r = local(&tools, &["guest", "migrate", "103", "pve2", "--yes"]);
    r.expect_code(7);
    let v = r.json();
    assert_eq!(v["details"]["node_now"], "pve2", "problems: the guest may already be on the target; {v}");
    let m = error(&r)["error"]["message"].as_str().expect("message").to_owned();
    assert!(m.contains("migration problems") && m.contains("is now on pve2"), "{m}");
}

#[test]
fn resize_grows_by_the_increment_and_refuses_a_shrink_before_sending() {
    let tools = SimTools::new();
    let r = local(&tools, &["guest", "resize", "100", "scsi0", "+2G", "--yes"]);
    r.expect_code(0);
    let v = r.json();
    let (before, after) = (v["details"]["size_before"].as_u64().expect("before"), v["after"]["disk_size"].as_u64().expect("re-read"));
    assert_eq!(after - before, 2 << 30, "{v}");
    assert!(v["details"]["next_steps_in_guest"].as_array().is_some_and(|s| s.len() == 3));
    tools.clear_log();
    let r = local(&tools, &["guest", "resize", "100", "scsi0", "1G", "--yes"]);
    r.expect_code(6);
    assert!(error(&r)["error"]["message"].as_str().is_some_and(|m| m.starts_with("shrinking disks is not supported")));
    assert!(mutating(&tools).is_empty(), "{:?}", mutating(&tools));
}

#[test]
fn guest_ip_lists_addresses_and_a_silent_agent_is_its_own_error() {
    let sim = |args: &[&str]| Pvectl::new().args(["-t", "sim", "-o", "json"]).args(args).run();
    let v = sim(&["guest", "ip", "100"]);
    v.expect_code(0);
    let addrs: Vec<String> = v
        .json()
        .as_array()
        .expect("interfaces")
        .iter()
        .flat_map(|i| i["ip-addresses"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a["ip-address"].as_str().map(str::to_owned))
        .collect();
    assert!(addrs.contains(&"127.0.0.1".to_owned()) && addrs.iter().any(|a| a.starts_with("198.51.100.")), "{addrs:?}");
    let r = sim(&["guest", "ip", "104"]);
    r.expect_code(6);
    let e = error(&r);
    assert_eq!(e["error"]["message"], "QEMU guest agent is not running");
    assert!(e["error"]["hint"].as_str().is_some_and(|h| h.contains("qemu-guest-agent")), "{e}");
    let r = sim(&["guest", "ip", "103"]);
    r.expect_code(6);
    assert!(error(&r)["error"]["hint"].as_str().is_some_and(|h| h.contains("guest start")), "a stopped guest has its own hint");
}

#[test]
fn exec_reports_the_commands_output_and_exit_code_and_exits_0() {
    let tools = SimTools::new();
    let r = local(&tools, &["guest", "exec", "100", "--yes", "--", "sh", "-c", "echo hi; exit 3"]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!((&v["details"]["out-data"], &v["details"]["exitcode"]), (&json!("hi\n"), &json!(3)), "{v}");
    let hostile = ["printf", "%s\\n", "a'b\"c", "x; rm -rf /", "$(id)", "two\nlines"];
    let mut args = vec!["guest", "exec", "100", "--yes", "--"];
    args.extend(hostile);
    local(&tools, &args).expect_code(0);
    let state: Value = serde_json::from_str(&std::fs::read_to_string(tools.state()).expect("state")).expect("JSON");
    let last = state["agent_exec_log"].as_array().and_then(|l| l.last()).expect("recorded");
    assert_eq!(last["argv"], json!(hostile), "each argument arrived as one argv entry inside the guest");
    // Without consent it is a plan: exec is destructive.
    assert_eq!(local(&tools, &["guest", "exec", "100", "--", "true"]).expect_code(3).json()["plan"]["tier"], "destructive");
}

#[test]
fn storage_content_pools_and_ha_read_the_demo() {
    let sim = |args: &[&str]| Pvectl::new().args(["-t", "sim", "-o", "json"]).args(args).run();
    let iso = sim(&["storage", "content", "local", "--content", "iso"]).json();
    assert_eq!(iso[0]["volid"], "local:iso/debian-13.1.0-amd64-netinst.iso", "{iso}");
    let pool = sim(&["pool", "show", "prod"]).json();
    let members: Vec<&str> = pool["members"].as_array().expect("members").iter().filter_map(|m| m["id"].as_str()).collect();
    assert!(members.contains(&"qemu/100"), "{members:?}");
    let ha = sim(&["ha", "status"]).json();
    assert!(ha.as_array().expect("entries").iter().any(|e| e["type"] == "quorum"), "{ha}");
    let listed = sim(&["guest", "list", "--pool", "prod", "--tag", "web"]).json();
    assert!(
        listed
            .as_array()
            .expect("guests")
            .iter()
            .all(|g| g["pool"] == "prod" && g["tags"].as_array().is_some_and(|t| t.contains(&json!("web"))))
    );
}

#[test]
fn file_push_checks_the_size_and_pull_brings_it_back() {
    let tools = SimTools::new();
    let src = tools.dir.path().join("motd");
    std::fs::write(&src, "hello from pvectl\n").expect("write");
    let src = src.to_str().expect("utf-8").to_owned();
    // qemu: through the agent, read back through the agent.
    let r = local(&tools, &["guest", "file", "push", "100", &src, "/etc/motd", "--yes"]);
    r.expect_code(0);
    assert_eq!(r.json()["details"]["size_in_guest"], 18);
    let back = tools.dir.path().join("back");
    local(&tools, &["guest", "file", "pull", "100", "/etc/motd", back.to_str().expect("utf-8")]).expect_code(0);
    assert_eq!(std::fs::read_to_string(&back).expect("pulled"), "hello from pvectl\n");
    // lxc: `pct push`, then `stat` inside the container in the same plan.
    let r = local(&tools, &["guest", "file", "push", "102", &src, "/root/motd", "--yes"]);
    r.expect_code(0);
    assert_eq!(r.json()["details"]["size_in_guest"], 18);
    let calls = tools.calls();
    assert!(
        calls.iter().any(|c| c[..2] == ["pct", "push"])
            && calls.iter().any(|c| c.ends_with(&["stat".into(), "-c".into(), "%s".into(), "/root/motd".into()])),
        "{calls:?}"
    );
    // Without consent: exit 3, a plan, nothing pushed.
    assert_eq!(local(&tools, &["guest", "file", "push", "102", &src, "/root/other"]).expect_code(3).json()["plan"]["tier"], "destructive");
}

/// A file missing inside the guest: qemu's agent refuses the read (exit 5, nothing written);
/// `pct pull` exits 0 with its worker's error on stderr, which is a failed task (exit 7), not
/// a success.
#[test]
fn pulling_a_missing_file_is_not_found_for_qemu_and_a_failed_task_for_lxc() {
    let tools = SimTools::new();
    let dst = tools.dir.path().join("pulled");
    let dst = dst.to_str().expect("utf-8");
    let r = local(&tools, &["guest", "file", "pull", "100", "/etc/nope", dst]);
    r.expect_code(5);
    assert!(error(&r)["error"]["hint"].as_str().is_some_and(|h| h.contains("guest exec")), "{}", r.stderr);
    let r = local(&tools, &["guest", "file", "pull", "102", "/etc/nope", dst]);
    r.expect_code(7);
    assert_eq!(error(&r)["error"]["message"], "the task failed: failed to open /etc/nope: No such file or directory");
    assert!(!std::path::Path::new(dst).exists(), "nothing was written");
}
