//! `pvectl api usage|ls <path>`: PVE's API described offline from the embedded schema, as
//! `pvesh usage` and `pvesh ls` describe it.

use serde_json::Value;

use crate::support::{Pvectl, Run};

/// Runs pvectl with a target that cannot be reached: `api usage` and `api ls` must not try.
fn offline(args: &[&str]) -> Run {
    Pvectl::new().args(["-t", "ssh://root@unreachable.invalid:1"]).args(args).run()
}

fn param<'a>(method: &'a Value, name: &str) -> Option<&'a Value> {
    method["parameters"].as_array().expect("parameters").iter().find(|p| p["name"] == name)
}

#[test]
fn usage_of_a_template_path_gives_the_methods_parameters_and_privileges() {
    let r = offline(&["api", "usage", "/nodes/{node}/qemu/{vmid}/status/stop", "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    let methods = v.as_array().expect("an array of methods");
    assert_eq!(methods.len(), 1, "only POST on stop: {v}");
    let stop = &methods[0];
    assert_eq!((stop["command"].as_str(), stop["method"].as_str(), stop["name"].as_str()), (Some("create"), Some("POST"), Some("vm_stop")));
    assert_eq!(stop["template"], "/nodes/{node}/qemu/{vmid}/status/stop");
    let skiplock = param(stop, "skiplock").expect("skiplock");
    assert_eq!((skiplock["type"].as_str(), skiplock["optional"].as_bool()), (Some("boolean"), Some(true)));
    let timeout = param(stop, "timeout").expect("timeout");
    assert_eq!((timeout["type"].as_str(), timeout["minimum"].as_f64()), (Some("integer"), Some(0.0)));
    assert_eq!(timeout["typetext"], "<integer> (0 - N)");
    assert_eq!(param(stop, "keepActive").expect("keepActive")["default"], 0);
    assert!(param(stop, "node").is_none() && param(stop, "vmid").is_none(), "the path's variables are not options");
    assert_eq!(stop["permissions"]["check"], serde_json::json!(["perm", "/vms/{vmid}", ["VM.PowerMgmt"]]));
}

#[test]
fn a_concrete_path_matches_the_same_route() {
    let t = offline(&["api", "usage", "/nodes/{node}/qemu/{vmid}/status/stop", "-o", "json"]).json();
    let c = offline(&["api", "usage", "/nodes/pve1/qemu/100/status/stop", "-o", "json"]).json();
    assert_eq!(c[0]["path"], "/nodes/pve1/qemu/100/status/stop");
    assert_eq!((&c[0]["template"], &c[0]["parameters"]), (&t[0]["template"], &t[0]["parameters"]));
}

#[test]
fn the_table_form_is_pvesh_usage_and_verbose_adds_options_and_privileges() {
    let short = offline(&["api", "usage", "/nodes/pve1/qemu/100/status/stop", "-o", "table"]);
    short.expect_code(0);
    assert_eq!(short.stdout, "USAGE: pvesh create /nodes/pve1/qemu/100/status/stop  [OPTIONS]\n");
    let long = offline(&["api", "usage", "/nodes/pve1/qemu/100/status/stop", "-v", "-o", "table"]);
    long.expect_code(0);
    let out = &long.stdout;
    assert!(out.starts_with("USAGE: pvesh create /nodes/pve1/qemu/100/status/stop  [OPTIONS]\n\n  Stop virtual machine."), "{out}");
    assert!(out.contains("\n  -skiplock  <boolean>\n             Ignore locks"), "{out}");
    assert!(out.contains("\n  -timeout   <integer> (0 - N)\n"), "{out}");
    assert!(out.contains("\n  -keepActive <boolean>   (default=0)\n"), "{out}");
    assert!(out.contains("Required permissions:") && out.contains(r#"["perm","/vms/{vmid}",["VM.PowerMgmt"]]"#), "{out}");
    assert!(!short.stdout.contains("VM.PowerMgmt"), "privileges only with -v");
    // A required option is on the USAGE line, with its JSON type, as pvesh puts it.
    let create = offline(&["api", "usage", "/nodes/pve1/qemu", "--command", "create", "-o", "table"]);
    assert_eq!(create.stdout, "USAGE: pvesh create /nodes/pve1/qemu --vmid <integer> [OPTIONS]\n");
    // Numbered options show once, as pvesh shows them: `-net[n]`, never `-net1`.
    let long = offline(&["api", "usage", "/nodes/pve1/qemu", "--command", "create", "-v", "-o", "table"]).stdout;
    assert_eq!(long.matches("\n  -net[n]").count(), 1, "{long}");
    assert!(!long.contains("\n  -net1") && long.lines().all(|l| l.chars().count() < 100), "{long}");
}

#[test]
fn the_short_form_matches_a_real_pvesh_usage_capture() {
    // `pvesh usage /cluster/sdn/dns/{dns}` on PVE 9.2.4 (reference/samples/pvesh-usage/1.txt),
    // whose `get` line ends in a blank that the capture lost.
    let r = offline(&["api", "usage", "/cluster/sdn/dns/{dns}", "-o", "table"]);
    r.expect_code(0);
    assert_eq!(
        r.stdout,
        "USAGE: pvesh get /cluster/sdn/dns/{dns}\nUSAGE: pvesh set /cluster/sdn/dns/{dns}  [OPTIONS]\nUSAGE: pvesh delete /cluster/sdn/dns/{dns}  [OPTIONS]\n"
    );
}

#[test]
fn an_unknown_path_is_not_found_with_a_short_quote() {
    let long = format!("/nodes/pve1/{}", "x".repeat(500));
    for path in ["/nodes/pve1/qemu/100/status/bogus", "/no/such/route", long.as_str()] {
        let r = offline(&["api", "usage", path, "-o", "json"]);
        r.expect_code(5);
        let e: Value = serde_json::from_str(r.stderr.trim()).expect("a JSON error");
        let msg = e["error"]["message"].as_str().expect("message");
        assert!(msg.starts_with("no such resource \"/"), "{msg}");
        assert!(msg.len() < 200, "a short excerpt, not the whole path: {msg}");
        offline(&["api", "ls", path]).expect_code(5);
    }
    let r = offline(&["api", "usage", "/nodes/pve1/qemu/100/status/stop", "--command", "get"]);
    r.expect_code(5);
    assert!(r.stderr.contains("no 'get' handler"), "{}", r.stderr);
}

#[test]
fn a_malformed_path_is_a_usage_error() {
    for path in ["nodes/pve1", "/nodes/pve1/../qemu", "/nodes/pve1?x=1", "/nodes//pve1"] {
        offline(&["api", "usage", path]).expect_code(2);
        offline(&["api", "ls", path]).expect_code(2);
    }
}

#[test]
fn ls_lists_children_with_their_methods() {
    let r = offline(&["api", "ls", "/nodes/pve1/qemu/100", "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    let kids = v.as_array().expect("an array");
    let find = |n: &str| kids.iter().find(|c| c["name"] == n).unwrap_or_else(|| panic!("{n} in {v}"));
    assert_eq!(find("status")["capabilities"], "Dr---");
    assert_eq!(find("snapshot")["methods"], serde_json::json!(["GET", "POST"]));
    assert_eq!(find("config")["template"], "/nodes/{node}/qemu/{vmid}/config");
    let names: Vec<&str> = kids.iter().map(|c| c["name"].as_str().expect("name")).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    let status = offline(&["api", "ls", "/nodes/{node}/qemu/{vmid}/status", "-o", "json"]).json();
    let stop = status.as_array().expect("array").iter().find(|c| c["name"] == "stop").expect("stop");
    assert_eq!((stop["capabilities"].as_str(), &stop["methods"]), (Some("---c-"), &serde_json::json!(["POST"])));
    let top = offline(&["api", "ls", "/", "-o", "table"]);
    top.expect_code(0);
    assert!(top.stdout.lines().any(|l| l.split_whitespace().eq(["Dr---", "nodes", "GET"])), "{}", top.stdout);
}
