//! `check` over a fleet: JSON keeps one element per target with its report; `--format
//! nagios` is one plugin line whose state is the worst over all targets, naming the target of
//! each problem, with perfdata labels prefixed by target; `--watch` keys changes by target.

use std::path::Path;

use serde_json::Value;

use crate::fleet::Lab;

/// Edits a simulator state file in place.
fn edit(state: &Path, f: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(state).expect("state")).expect("state JSON");
    f(&mut v);
    std::fs::write(state, serde_json::to_string(&v).expect("JSON")).expect("write state");
}

/// Sets guest `vmid`'s memory use to `percent` of its maximum.
fn guest_mem(state: &Path, vmid: u64, percent: u64) {
    edit(state, |v| {
        let g = v["guests"].as_array_mut().expect("guests").iter_mut().find(|g| g["vmid"] == vmid).expect("guest");
        let max = g["maxmem"].as_u64().expect("maxmem");
        g["mem"] = (max / 100 * percent).into();
    });
}

#[test]
fn fleet_check_joins_targets_into_one_plugin_line_and_watch_keys_by_target() {
    let mut lab = Lab::new("");
    let (rest_state, ssh_state) = (lab.dir.path().join("state.json"), lab.tools.state());

    // Healthy: JSON has each target's report; Nagios is OK with both targets' perfdata.
    let r = lab.run(&["-t", "@lab", "check", "all", "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    let parts = v.as_array().expect("array");
    assert_eq!(parts.iter().map(|p| p["target"].as_str().unwrap_or("")).collect::<Vec<_>>(), ["rest", "ssh"], "{v}");
    for p in parts {
        assert_eq!((p["ok"].clone(), p["data"]["status"].clone()), (Value::Bool(true), Value::from("ok")), "{p}");
        assert!(p["data"]["findings"].as_array().is_some_and(|f| f.len() > 10), "{p}");
    }
    let r = lab.run(&["-t", "@lab", "check", "all", "--format", "nagios"]);
    r.expect_code(0);
    assert!(r.stdout.starts_with("PVE ALL OK - "), "{}", r.stdout);
    assert!(r.stdout.contains("'rest:mem_pve1'=") && r.stdout.contains("'ssh:mem_pve1'="), "{}", r.stdout);

    // pve3 offline on rest (critical), guest 100 over the memory threshold on ssh (warning):
    // one line, CRITICAL (2), each problem named with its target.
    edit(&rest_state, |v| v["nodes"][2]["online"] = false.into());
    guest_mem(&ssh_state, 100, 93);
    let r = lab.run(&["-t", "@lab", "check", "all", "--format", "nagios"]);
    r.expect_code(2);
    let first = r.stdout.lines().next().unwrap_or_default();
    assert!(first.starts_with("PVE ALL CRITICAL - ") && first.contains("rest:pve3"), "{}", r.stdout);
    assert!(r.stdout.lines().any(|l| l.starts_with("CRITICAL") && l.contains("rest:pve3") && l.contains("offline")), "{}", r.stdout);
    assert!(r.stdout.lines().any(|l| l.starts_with("WARNING") && l.contains("ssh:qemu/100")), "{}", r.stdout);
    assert!(!r.stdout.contains("ssh:pve3"), "only rest has pve3 offline: {}", r.stdout);
    // pve3 back on rest: only the ssh problem is left in `guests`, WARNING (1).
    edit(&rest_state, |v| v["nodes"][2]["online"] = true.into());
    let r = lab.run(&["-t", "@lab", "check", "guests", "--format", "nagios"]);
    r.expect_code(1);
    assert!(r.stdout.starts_with("PVE GUESTS WARNING - ssh:qemu/100: memory 93"), "{}", r.stdout);

    // --watch over the fleet: the change is keyed by its target, alerted once in 2 rounds.
    let alerts = lab.dir.path().join("alerts.jsonl");
    let script = lab.dir.path().join("alert.sh");
    std::fs::write(&script, "#!/bin/sh\ncat >> \"$1\"\necho >> \"$1\"\n").expect("script");
    let cmd = format!("sh '{}' '{}'", script.display(), alerts.display());
    let r =
        lab.run(&["-t", "@lab", "check", "guests", "--watch", "--interval", "1", "--cycles", "2", "--alert-command", &cmd, "-o", "json"]);
    r.expect_code(0);
    let text = std::fs::read_to_string(&alerts).expect("alerts");
    let got: Vec<Value> = text.lines().filter(|l| !l.is_empty()).map(|l| serde_json::from_str(l).expect("alert JSON")).collect();
    let kinds: Vec<(&str, &str)> =
        got.iter().map(|a| (a["change"].as_str().unwrap_or(""), a["finding"]["subject"].as_str().unwrap_or(""))).collect();
    assert_eq!(kinds, [("new", "ssh:qemu/100")], "{text}");

    // A target down is a problem named with its target (the checks call an unreachable
    // cluster critical); the other's warning stays in the line.
    lab.stop_rest();
    let r = lab.run(&["-t", "@lab", "check", "guests", "--format", "nagios"]);
    r.expect_code(2);
    assert!(r.stdout.lines().any(|l| l.starts_with("CRITICAL") && l.contains("rest:") && l.contains("unreachable")), "{}", r.stdout);
    assert!(r.stdout.lines().any(|l| l.starts_with("WARNING") && l.contains("ssh:qemu/100")), "{}", r.stdout);
}
