//! Generated snapshot names from the config file: `[snapshots]`, a target's own
//! `[targets.NAME.snapshots]`, the environment on top, and a template that cannot name a
//! snapshot refused when the file is read.

use crate::support::{Pvectl, Run};

/// The snapshot name a `snapshot create 100 --dry-run` plan shows.
fn planned_name(r: &Run) -> String {
    r.expect_code(0);
    r.json()["plan"]["snapshot"].as_str().expect("plan.snapshot").to_owned()
}

/// `prefix` followed by `digits` ASCII digits and nothing else.
fn is_dated(name: &str, prefix: &str, digits: usize) -> bool {
    name.strip_prefix(prefix).is_some_and(|rest| rest.len() == digits && rest.bytes().all(|b| b.is_ascii_digit()))
}

#[test]
fn snapshots_table_names_generated_snapshots_env_then_target_then_global() {
    let dir = tempfile::tempdir().expect("dir");
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        "[snapshots]\ntemplate = \"team-%Y%m%d\"\nchange_prefix = \"chg\"\n\n[targets.prod]\nurl = \"sim\"\n\n[targets.prod.snapshots]\ntemplate = \"prod-%Y%m%d%H%M\"\n",
    )
    .expect("write");
    let state = dir.path().join("state.json");
    let p = |target: &str| {
        Pvectl::new().env("PVECTL_CONFIG", &cfg).env("PVE_SIM_STATE", &state).args(["-t", target, "snapshot", "create", "100"])
    };
    let dry = ["--dry-run", "-o", "json"];

    let global = planned_name(&p("sim").args(dry).run());
    assert!(is_dated(&global, "team-", 8), "[snapshots] template: {global}");
    let target = planned_name(&p("prod").args(dry).run());
    assert!(is_dated(&target, "prod-", 12), "[targets.prod.snapshots] template: {target}");
    assert_eq!(planned_name(&p("prod").args(["--change", "CHG-7"]).args(dry).run()), "chg-CHG-7", "global change_prefix");
    let env = planned_name(&p("prod").env("PVECTL_SNAPSHOT_TEMPLATE", "env-%Y").args(dry).run());
    assert!(is_dated(&env, "env-", 4), "the environment wins: {env}");
    let empty = planned_name(&p("prod").env("PVECTL_SNAPSHOT_TEMPLATE", "").args(dry).run());
    assert!(is_dated(&empty, "prod-", 12), "an empty variable is no setting: {empty}");
    let flag = planned_name(&p("prod").env("PVECTL_CHANGE_PREFIX", "envchg").args(["--prefix", "flag", "--change", "1"]).args(dry).run());
    assert_eq!(flag, "flag-1", "a flag wins over the environment");

    // `target show` names the target's own naming.
    let show = Pvectl::new().env("PVECTL_CONFIG", &cfg).args(["target", "show", "prod", "-o", "json"]).run();
    show.expect_code(0);
    assert_eq!(show.json()["snapshots"]["template"], "prod-%Y%m%d%H%M");

    // The table view of the plan shows the configured name too.
    let t = p("sim").args(["--dry-run", "-o", "table"]).run();
    t.expect_code(0);
    assert!(t.stdout.starts_with("plan: snapshot create 'team-"), "{}", t.stdout);
    assert!(!state.exists() || std::fs::read_to_string(&state).is_ok_and(|s| !s.contains("\"team-")), "a dry run creates nothing");
}

#[test]
fn a_template_that_cannot_name_a_snapshot_is_a_usage_error_naming_the_key() {
    let dir = tempfile::tempdir().expect("dir");
    for (text, target, key) in [
        ("[snapshots]\ntemplate = \"nightly %Y\"\n", "sim", "[snapshots]: template"),
        (
            "[targets.lab]\nurl = \"sim\"\n[targets.lab.snapshots]\nchange_prefix = \"1chg\"\n",
            "lab",
            "[targets.lab.snapshots]: change_prefix",
        ),
    ] {
        let cfg = dir.path().join("config.toml");
        std::fs::write(&cfg, text).expect("write");
        // Checked when the file is read: before any command runs, reads included.
        for args in [&["snapshot", "create", "100", "--dry-run"][..], &["guest", "list"]] {
            let r = Pvectl::new()
                .env("PVECTL_CONFIG", &cfg)
                .env("PVE_SIM_STATE", dir.path().join("s.json"))
                .args(["-t", target])
                .args(args)
                .run();
            r.expect_code(2);
            assert!(r.stderr.contains(key), "{key}: {}", r.stderr);
        }
    }
}
