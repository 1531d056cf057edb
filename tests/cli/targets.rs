//! `target list|show|test`, `config init` and fleets of simulated targets.

use crate::support::Pvectl;

/// A config file in a fresh directory, and a `pvectl` using it.
fn with_config(text: &str) -> (tempfile::TempDir, impl Fn() -> Pvectl + use<>) {
    let dir = tempfile::tempdir().expect("dir");
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, text).expect("write");
    (dir, move || Pvectl::new().env("PVECTL_CONFIG", &cfg))
}

const SECRET: &str = "0b5e3a1c-aaaa-bbbb-cccc-444455556666";

#[test]
fn config_init_writes_a_private_file_once() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("dir");
    let cfg = dir.path().join("sub/config.toml");
    let run = || Pvectl::new().env("PVECTL_CONFIG", &cfg).args(["config", "init", "-o", "json"]).run();
    run().expect_code(0);
    assert_eq!(std::fs::metadata(&cfg).expect("written").permissions().mode() & 0o777, 0o600);
    let r = run();
    r.expect_code(2);
    assert!(r.stderr.contains("never overwrites"), "{}", r.stderr);
    // The starting file is a working one: its `lab` target is the simulator.
    let list = Pvectl::new().env("PVECTL_CONFIG", &cfg).args(["target", "list", "-o", "json"]).run();
    list.expect_code(0);
    assert_eq!(list.json()[0]["name"], "lab");
}

#[test]
fn target_show_names_the_secret_source_never_the_secret() {
    let (_d, p) = with_config(&format!(
        "[targets.prod]\nurl = \"https://pve1\"\ntoken_id = \"ops@pve!tok\"\ntoken_secret_command = [\"printf\", \"{SECRET}\"]\n"
    ));
    let r = p().args(["target", "show", "prod", "-o", "json"]).run();
    r.expect_code(0);
    assert_eq!(r.json()["token_secret"], "command printf ...");
    assert!(!r.stdout.contains(SECRET) && !r.stderr.contains(SECRET));
    p().args(["target", "show", "nope"]).run().expect_code(2);
}

#[test]
fn target_list_check_and_test_reach_the_targets() {
    let (_d, p) = with_config(
        "[targets.a]\nurl = \"sim\"\n\n[targets.b]\nurl = \"https://127.0.0.1:1\"\ntoken_id = \"ops@pve!tok\"\ntoken_secret_env = \"B_SECRET\"\n",
    );
    let r = p().env("B_SECRET", SECRET).args(["target", "list", "--check", "-o", "json"]).run();
    r.expect_code(9);
    let v = r.json();
    assert_eq!((v[0]["name"].as_str(), v[0]["check"]["reachable"].as_bool()), (Some("a"), Some(true)));
    assert!(v[0]["check"]["version"].is_string());
    assert_eq!(v[1]["check"]["error"]["exit_code"], 9);
    p().args(["target", "test", "a", "-o", "json"]).run().expect_code(0);
}

#[test]
fn fleet_of_sims_prints_one_array_and_a_target_column() {
    let (_d, p) = with_config("[targets.a]\nurl = \"sim\"\n\n[targets.b]\nurl = \"sim\"\n\n[groups]\nboth = [\"a\", \"b\"]\n");
    let r = p().args(["-t", "@both", "node", "list", "-o", "json"]).run();
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v.as_array().map(Vec::len), Some(2));
    assert_eq!((v[0]["target"].as_str(), v[0]["ok"].as_bool()), (Some("a"), Some(true)));
    assert_eq!(v[0]["data"], v[1]["data"]);
    let t = p().args(["--all-targets", "node", "list", "-o", "table"]).run();
    t.expect_code(0);
    assert!(t.stdout.starts_with("TARGET") || t.stdout.trim_start().starts_with("TARGET"), "{}", t.stdout);
    // An unknown member is that member's usage error; the others still answer.
    let r = p().args(["-t", "a,nope", "node", "list", "-o", "json"]).run();
    r.expect_code(2);
    assert_eq!(r.json()[0]["ok"], true);
    p().args(["-t", "@none", "node", "list"]).run().expect_code(2);
    // Actions run on a fleet too (tests/e2e/fleet_actions.rs); copying files to one local
    // path does not.
    p().args(["-t", "a,b", "guest", "file", "pull", "100", "/etc/hostname", "/tmp/x"]).run().expect_code(2);
}
