//! Policy decides every change, whatever path it came from (DESIGN.md §4): the protection
//! rule on raw API writes as on `guest stop`, routes instead of path text, config rules, and
//! `policy show`. Over `-t local` with the `pve-sim` tools, the call log proves what was sent.

use crate::support::{Pvectl, SimTools};

/// The logged calls that could change something: `pvesh create|set|delete` and any `qm`/`pct`
/// sub-command that is not a read.
fn mutating(tools: &SimTools) -> Vec<Vec<String>> {
    tools
        .calls()
        .into_iter()
        .filter(|c| match c.first().map(String::as_str) {
            Some("pvesh") => c.get(1).is_some_and(|v| v != "get" && v != "ls" && v != "usage"),
            Some("qm" | "pct") => c.get(1).is_some_and(|v| !["list", "status", "config", "listsnapshot", "pending"].contains(&v.as_str())),
            _ => false,
        })
        .collect()
}

fn local(tools: &SimTools, args: &[&str]) -> crate::support::Run {
    let audit = tools.dir.path().join("audit.log");
    tools.apply(Pvectl::new()).env("PVECTL_AUDIT_LOG", &audit).args(["-t", "local"]).args(args).run()
}

#[test]
fn raw_writes_on_a_protected_guest_are_refused_like_guest_stop() {
    let tools = SimTools::new();
    let cfg = local(&tools, &["guest", "config", "101", "-o", "json"]);
    assert_eq!(cfg.expect_code(0).json()["protection"], "1", "the demo protects 101");
    for args in [
        vec!["api", "create", "/nodes/pve1/qemu/101/status/stop", "--yes"],
        vec!["api", "create", "/nodes/pve1/qemu/101/snapshot/S/rollback", "--yes"],
        vec!["api", "create", "/nodes/pve1/qemu/101/status/reset", "--yes", "-o", "json"],
        vec!["guest", "stop", "101", "--yes"],
    ] {
        tools.clear_log();
        let r = local(&tools, &args);
        r.expect_code(10);
        assert!(r.stderr.contains("protection"), "{args:?}: {}", r.stderr);
        assert!(mutating(&tools).is_empty(), "{args:?} sent {:?}", mutating(&tools));
        assert!(!tools.calls().is_empty(), "the protection flag was read first");
    }
    // A change-tier action on the same guest is not destructive: allowed.
    tools.clear_log();
    local(&tools, &["api", "create", "/nodes/pve1/qemu/101/snapshot", "snapname=before", "--yes"]).expect_code(0);
    assert_eq!(mutating(&tools).len(), 1);
}

#[test]
fn paths_that_hide_their_route_are_usage_errors_and_send_nothing() {
    let tools = SimTools::new();
    for path in [
        "/nodes/pve1?x=/qemu/100/status/start",
        "/nodes/pve1/qemu/100/status%2fstop",
        "/nodes/pve1/qemu%2F100/status/stop",
        "/nodes/pve1/qemu/100/../101/status/stop",
        "/nodes/pve1//qemu/100/status/stop",
        "/nodes/pve1/qemu/100/status/bogus",
    ] {
        let r = local(&tools, &["api", "create", path, "--yes", "-o", "json"]);
        r.expect_code(2);
        let err: serde_json::Value = serde_json::from_str(r.stderr.trim()).expect("JSON error");
        assert_eq!(err["error"]["kind"], "usage", "{path}");
    }
    assert!(tools.calls().is_empty(), "nothing ran: {:?}", tools.calls());
}

#[test]
fn config_rules_refuse_with_exit_10_and_policy_show_prints_them() {
    let tools = SimTools::new();
    let cfg = tools.dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        "[policy]\nprotected_vmids = [\"100-102\"]\n\n[targets.ro]\nurl = \"local\"\n\n[targets.ro.policy]\nmax_tier = \"read\"\n",
    )
    .expect("write config");
    let run = |args: &[&str]| tools.apply(Pvectl::new()).env("PVECTL_CONFIG", &cfg).env("PVECTL_AUDIT_LOG", "off").args(args).run();
    // protected_vmids: destructive refused, change allowed.
    let r = run(&["-t", "local", "guest", "stop", "100", "--yes"]);
    r.expect_code(10);
    assert!(r.stderr.contains("protected_vmids 100-102"), "{}", r.stderr);
    assert!(mutating(&tools).is_empty());
    // A read-only target: even start is refused.
    let r = run(&["-t", "ro", "guest", "start", "103"]);
    r.expect_code(10);
    assert!(r.stderr.contains("ceiling"), "{}", r.stderr);
    assert!(mutating(&tools).is_empty());
    run(&["-t", "ro", "guest", "list"]).expect_code(0);
    let shown = run(&["-t", "ro", "policy", "show", "-o", "json"]);
    let v = shown.expect_code(0).json();
    assert_eq!(v["rules"]["max_tier"], "read");
    assert_eq!(v["rules"]["protected_vmids"][0]["first"], 100);
    assert_eq!(v["sources"].as_array().map(Vec::len), Some(2));
}

#[test]
fn consent_is_bound_to_the_plan_digest_shown() {
    let tools = SimTools::new();
    let a = local(&tools, &["guest", "stop", "100", "--dry-run", "-o", "json"]).json();
    let b = local(&tools, &["guest", "stop", "100", "--dry-run", "-o", "json"]).json();
    let digest = a["plan"]["digest"].as_str().expect("digest").to_owned();
    assert_eq!(digest.len(), 64);
    assert_eq!(digest, b["plan"]["digest"], "same state, same calls: same digest");
    local(&tools, &["guest", "shutdown", "100", "--yes"]).expect_code(0);
    let c = local(&tools, &["guest", "start", "100", "--dry-run", "-o", "json"]).json();
    assert_ne!(c["plan"]["digest"], digest.as_str());
    assert!(mutating(&tools).len() == 1, "dry runs sent nothing: {:?}", mutating(&tools));
}

#[test]
fn no_audit_no_action() {
    let tools = SimTools::new();
    // A log path under a regular file cannot be created, whoever runs the test.
    let blocker = tools.dir.path().join("not-a-dir");
    std::fs::write(&blocker, "x").expect("write");
    let r =
        tools.apply(Pvectl::new()).env("PVECTL_AUDIT_LOG", blocker.join("audit.log")).args(["-t", "local", "guest", "start", "103"]).run();
    r.expect_code(10);
    assert!(r.stderr.contains("nothing was sent"), "{}", r.stderr);
    assert!(mutating(&tools).is_empty(), "{:?}", mutating(&tools));
}
