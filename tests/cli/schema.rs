//! `pvectl schema`: one document describing every command, checked against clap (both ways),
//! against the tiers the action engine plans, and against real `-o json` outputs, which must
//! validate against the output schema it gives (with a JSON Schema validator this project did
//! not write).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::{Pvectl, Run};

fn schema_doc() -> Value {
    let r = Pvectl::new().args(["schema"]).run();
    r.expect_code(0);
    r.json()
}

fn sim(args: &[&str]) -> Run {
    Pvectl::new().args(["-t", "sim", "-o", "json"]).args(args).run()
}

/// The entry of the command at `path` in the document.
fn command<'a>(doc: &'a Value, path: &[&str]) -> &'a Value {
    doc["commands"]
        .as_array()
        .expect("commands")
        .iter()
        .find(|c| c["path"] == json!(path))
        .unwrap_or_else(|| panic!("no command {path:?} in the schema"))
}

/// A validator for the output of the command at `path`: its `output` schema with the
/// document's `$defs`.
fn validator(doc: &Value, path: &[&str]) -> jsonschema::Validator {
    let mut s = command(doc, path)["output"].clone();
    s["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    s["$defs"] = doc["$defs"].clone();
    jsonschema::validator_for(&s).unwrap_or_else(|e| panic!("the schema of {path:?} is not a valid JSON Schema: {e}"))
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance).map(|e| format!("{e} at {}", e.instance_path())).collect()
}

#[test]
fn outputs_of_eleven_commands_validate_against_the_schema() {
    let doc = schema_doc();
    let runs: [(&[&str], &[&str]); 11] = [
        (&["guest", "list"], &["guest", "list"]),
        (&["guest", "status"], &["guest", "status", "100"]),
        (&["guest", "config"], &["guest", "config", "102"]),
        (&["node", "list"], &["node", "list"]),
        (&["cluster", "status"], &["cluster", "status"]),
        (&["snapshot", "list"], &["snapshot", "list", "100"]),
        (&["task", "list"], &["task", "list"]),
        (&["storage", "list"], &["storage", "list"]),
        (&["backup", "list"], &["backup", "list"]),
        (&["check"], &["check", "all"]),
        // An action's plan (--dry-run) and its report (a start of a running guest: a report
        // with `changed: false`, nothing sent).
        (&["guest", "stop"], &["guest", "stop", "100", "--dry-run"]),
    ];
    let mut seen = BTreeSet::new();
    for (path, args) in runs {
        let r = sim(args);
        assert!(r.code == 0 || path == ["check"], "{args:?} exit {}: {}", r.code, r.stderr);
        let out = r.json();
        let errs = errors(&validator(&doc, path), &out);
        assert!(errs.is_empty(), "`pvectl {}` does not match its schema: {errs:#?}", args.join(" "));
        seen.insert(path.join(" "));
    }
    let report = sim(&["guest", "start", "100"]);
    report.expect_code(0);
    let report = report.json();
    assert_eq!(report["changed"], false, "already running: a report, nothing sent");
    assert!(errors(&validator(&doc, &["guest", "start"]), &report).is_empty(), "{report}");
    seen.insert("guest start".into());
    assert!(seen.len() >= 10, "{seen:?}");
}

#[test]
fn the_schema_rejects_documents_that_break_it() {
    let doc = schema_doc();
    let list = sim(&["guest", "list"]).json();
    let v = validator(&doc, &["guest", "list"]);
    assert!(v.is_valid(&list));
    let mut bad = list.clone();
    bad[0]["vmid"] = json!("100");
    assert!(!v.is_valid(&bad), "a vmid as a string is rejected");
    let mut bad = list.clone();
    bad[0].as_object_mut().expect("object").remove("node");
    assert!(!v.is_valid(&bad), "a guest without its node is rejected");
    assert!(!v.is_valid(&json!({"vmid": 100})), "an object is not a list");

    let plan = sim(&["guest", "stop", "100", "--dry-run"]).json();
    let v = validator(&doc, &["guest", "stop"]);
    assert!(v.is_valid(&plan));
    let mut bad = plan.clone();
    bad["plan"]["tier"] = json!("catastrophic");
    assert!(!v.is_valid(&bad), "a tier that does not exist is rejected");
    let status = sim(&["guest", "status", "100"]).json();
    let mut bad = status.clone();
    bad["maxmem"] = json!(-1);
    assert!(!validator(&doc, &["guest", "status"]).is_valid(&bad), "a negative size is rejected");
}

#[test]
fn the_catalog_and_clap_name_the_same_commands() {
    let clap: BTreeSet<String> = pvectl::cli::catalog::clap_paths().iter().map(|p| p.join(" ")).collect();
    let catalog: BTreeSet<String> = pvectl::cli::catalog::catalog_paths().iter().map(|p| (*p).to_owned()).collect();
    let missing: Vec<_> = clap.difference(&catalog).collect();
    let stale: Vec<_> = catalog.difference(&clap).collect();
    assert!(missing.is_empty(), "commands of clap without a catalog entry (tier, output): {missing:?}");
    assert!(stale.is_empty(), "catalog entries naming commands clap lacks: {stale:?}");
    assert!(clap.contains("guest stop") && clap.contains("api usage") && clap.contains("schema"));

    let doc = schema_doc();
    let printed: BTreeSet<String> = doc["commands"]
        .as_array()
        .expect("commands")
        .iter()
        .map(|c| c["path"].as_array().expect("path").iter().map(|s| s.as_str().expect("segment")).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(printed, clap, "the document lists every command clap has");
    let tiers = ["read", "change", "disruptive", "destructive"];
    for c in doc["commands"].as_array().expect("commands") {
        assert!(tiers.contains(&c["tier"].as_str().expect("tier")), "{}", c["path"]);
        assert_eq!(c["mutates"], c["tier"] != "read", "a command mutates exactly when its tier is not read: {}", c["path"]);
        assert!(c["output"].is_object(), "{}", c["path"]);
    }
}

#[test]
fn the_schema_takes_arguments_options_and_exit_codes_from_the_code() {
    let doc = schema_doc();
    let stop = command(&doc, &["guest", "stop"]);
    assert_eq!((stop["tier"].as_str(), stop["mutates"].as_bool()), (Some("destructive"), Some(true)));
    let opts: Vec<&str> = stop["options"].as_array().expect("options").iter().filter_map(|o| o["long"].as_str()).collect();
    for o in ["node", "kind", "tag", "pool", "status", "all", "parallel", "no-wait"] {
        assert!(opts.contains(&o), "--{o} in {opts:?}");
    }
    let parallel = stop["options"].as_array().expect("options").iter().find(|o| o["long"] == "parallel").expect("parallel");
    assert_eq!(parallel["default"], json!(["4"]));
    assert_eq!(stop["args"][0]["value_names"], json!(["GUEST"]));
    let check = command(&doc, &["check"]);
    let set = &check["args"][0];
    assert_eq!((set["name"].as_str(), &set["default"]), (Some("set"), &json!(["all"])));
    assert!(set["possible_values"].as_array().expect("values").contains(&json!("storage")));
    let globals: Vec<&str> = doc["global_options"].as_array().expect("globals").iter().filter_map(|o| o["long"].as_str()).collect();
    assert!(globals.contains(&"target") && globals.contains(&"dry-run"), "{globals:?}");
    assert!(!opts.contains(&"target"), "global options are listed once, not per command");
    let codes: Vec<(i64, &str)> = doc["exit_codes"]
        .as_array()
        .expect("exit codes")
        .iter()
        .map(|c| (c["code"].as_i64().expect("code"), c["kind"].as_str().expect("kind")))
        .collect();
    assert_eq!(codes.iter().map(|c| c.0).collect::<Vec<_>>(), (0..=10).collect::<Vec<_>>());
    assert!(codes.contains(&(i64::from(pvectl::exit_codes::NOT_FOUND), "not_found")));
    assert!(codes.contains(&(i64::from(pvectl::exit_codes::POLICY), "policy")));
    // The schema needs no target: an unreachable one is never contacted.
    Pvectl::new().args(["-t", "ssh://root@unreachable.invalid:1", "schema"]).run().expect_code(0);
}

#[test]
fn catalog_tiers_are_the_tiers_the_engine_plans() {
    let doc = schema_doc();
    let cases: [(&[&str], &[&str]); 10] = [
        (&["guest", "start"], &["guest", "start", "103", "--dry-run"]),
        (&["guest", "stop"], &["guest", "stop", "100", "--dry-run"]),
        (&["guest", "shutdown"], &["guest", "shutdown", "100", "--dry-run"]),
        (&["guest", "suspend"], &["guest", "suspend", "100", "--dry-run"]),
        (&["guest", "migrate"], &["guest", "migrate", "103", "pve2", "--dry-run"]),
        (&["snapshot", "create"], &["snapshot", "create", "100", "s1", "--dry-run"]),
        (&["snapshot", "delete"], &["snapshot", "delete", "100", "php-test", "--dry-run"]),
        (&["backup", "create"], &["backup", "create", "100", "--dry-run"]),
        (&["guest", "delete"], &["guest", "delete", "103", "--dry-run"]),
        // `guest set` of a hardware key: the catalog gives its highest tier.
        (&["guest", "set"], &["guest", "set", "100", "--memory", "4096", "--dry-run"]),
    ];
    for (path, args) in cases {
        let r = sim(args);
        r.expect_code(0);
        let planned = r.json()["plan"]["tier"].clone();
        assert_eq!(planned, command(&doc, path)["tier"], "`pvectl {}` plans tier {planned}", args.join(" "));
    }
    // Where the tier varies, the catalog says how, and the engine stays at or below it.
    let set = command(&doc, &["guest", "set"]);
    assert!(set["tier_note"].as_str().is_some_and(|n| n.contains("description")), "{set}");
    let meta = sim(&["guest", "set", "100", "--description", "x", "--dry-run"]).json();
    assert_eq!(meta["plan"]["tier"], "change");
}

#[test]
fn the_other_outputs_of_the_demo_cluster_validate_too() {
    let doc = schema_doc();
    let tasks = sim(&["task", "list"]).json();
    let upid = tasks[0]["upid"].as_str().expect("a task in the demo").to_owned();
    let runs: Vec<(&[&str], Vec<&str>, i32)> = vec![
        (&["node", "status"], vec!["node", "status", "pve1"], 0),
        (&["cluster", "resources"], vec!["cluster", "resources"], 0),
        (&["task", "status"], vec!["task", "status", &upid], 0),
        (&["task", "log"], vec!["task", "log", &upid], 0),
        (&["storage", "content"], vec!["storage", "content", "local", "--node", "pve1"], 0),
        (&["backup", "jobs"], vec!["backup", "jobs"], 0),
        (&["backup", "missing"], vec!["backup", "missing"], 0),
        (&["pool", "list"], vec!["pool", "list"], 0),
        (&["pool", "show"], vec!["pool", "show", "prod"], 0),
        (&["ha", "status"], vec!["ha", "status"], 0),
        (&["ha", "resources"], vec!["ha", "resources"], 0),
        (&["guest", "pending"], vec!["guest", "pending", "100"], 0),
        (&["guest", "diagnose"], vec!["guest", "diagnose", "100"], 0),
        (&["guest", "ip"], vec!["guest", "ip", "100"], 0),
        (&["doctor"], vec!["doctor"], 0),
        (&["snapshot", "create"], vec!["snapshot", "create", "100", "s1", "--dry-run"], 0),
        (&["backup", "create"], vec!["backup", "create", "100", "--dry-run"], 0),
        // Several guests: one result each, a paused one refused (exit 6) with its error.
        (&["guest", "start"], vec!["guest", "start", "--tag", "web", "--dry-run"], 6),
        (&["api", "create"], vec!["api", "create", "/nodes/pve1/qemu/103/status/start", "--dry-run"], 0),
        (&["api", "usage"], vec!["api", "usage", "/nodes/{node}/qemu"], 0),
        (&["api", "ls"], vec!["api", "ls", "/nodes/{node}/qemu/{vmid}"], 0),
    ];
    for (path, args, code) in runs {
        let r = sim(&args);
        r.expect_code(code);
        let errs = errors(&validator(&doc, path), &r.json());
        assert!(errs.is_empty(), "`pvectl {}` does not match its schema: {errs:#?}", args.join(" "));
    }
}
