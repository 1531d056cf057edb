//! Fleets over real transports: a config file with a `pve-sim serve` REST target and an SSH
//! target on the loopback sshd, in group `lab`; `-t @lab` reads both at once.

use serde_json::Value;

use crate::cli::{runtime_dir, sshd_for};
use crate::support::{Pvectl, SimServer, SimTools};

/// The vmids of one fleet part's `guest list` data.
fn vmids(part: &Value) -> Vec<u64> {
    part["data"].as_array().expect("guest list is an array").iter().map(|g| g["vmid"].as_u64().expect("vmid")).collect()
}

#[test]
fn group_lab_lists_guests_of_a_rest_and_an_ssh_target_and_one_down_exits_9() {
    let tools = SimTools::new();
    let sshd = sshd_for(&tools, &[]);
    let rt = runtime_dir();
    let rest_dir = tempfile::tempdir().expect("dir");
    let server = SimServer::start(&rest_dir.path().join("state.json"), &rest_dir.path().join("calls.log"));
    let (token_id, secret_file) = SimServer::root_token(rest_dir.path());
    let cfg = rest_dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[targets.rest]\nurl = \"{}\"\ntoken_id = \"{token_id}\"\ntoken_secret_file = \"{}\"\nfingerprint = \"{}\"\n\n\
             [targets.ssh]\nurl = \"{}\"\nssh_config = \"{}\"\npersist = 0\n\n[groups]\nlab = [\"rest\", \"ssh\"]\n",
            server.url,
            secret_file.display(),
            server.fingerprint,
            sshd.ssh_target(),
            sshd.config_path().display(),
        ),
    )
    .expect("write config");
    let fleet = |args: &[&str]| Pvectl::new().env("PVECTL_CONFIG", &cfg).env("PVECTL_RUNTIME_DIR", rt.path()).args(args).run();

    let r = fleet(&["-t", "@lab", "guest", "list", "-o", "json"]);
    r.expect_code(0);
    let parts = r.json();
    let parts = parts.as_array().expect("one array");
    assert_eq!(parts.iter().map(|p| p["target"].as_str().expect("target")).collect::<Vec<_>>(), ["rest", "ssh"]);
    assert!(parts.iter().all(|p| p["ok"] == true), "{parts:?}");
    // Both serve the demo cluster: the same guests, each tagged by its target.
    assert!(vmids(&parts[0]).len() >= 10);
    assert_eq!(vmids(&parts[0]), vmids(&parts[1]));
    let secret = std::fs::read_to_string(&secret_file).expect("secret");
    assert!(!format!("{}{}", r.stdout, r.stderr).contains(secret.trim()));

    // A table gets a TARGET column first.
    let t = fleet(&["-t", "@lab", "guest", "list", "-o", "table"]);
    t.expect_code(0);
    assert!(t.stdout.lines().next().is_some_and(|h| h.trim_start().starts_with("TARGET")), "{}", t.stdout);
    assert!(t.stdout.lines().any(|l| l.trim_start().starts_with("rest ")) && t.stdout.lines().any(|l| l.trim_start().starts_with("ssh ")));

    // One target down: the other's data stays, the run exits 9 (transport).
    drop(server);
    let r = fleet(&["-t", "@lab", "guest", "list", "-o", "json"]);
    r.expect_code(9);
    let parts = r.json();
    let parts = parts.as_array().expect("one array");
    assert_eq!(parts[0]["target"], "rest");
    assert_eq!(parts[0]["ok"], false);
    assert_eq!(parts[0]["error"]["exit_code"], 9, "{parts:?}");
    assert_eq!(parts[1]["ok"], true);
    assert!(vmids(&parts[1]).len() >= 10);

    // Actions over several targets are refused before anything is opened.
    fleet(&["-t", "rest,ssh", "guest", "start", "100", "--yes"]).expect_code(2);
}
