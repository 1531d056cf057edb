//! The `pvectl` binary over a real sshd whose `PATH` starts with the `pve-sim` tools: the
//! same answers as the in-process simulator, one remote invocation per read, the jump host,
//! the persistent master, both tool modes, hostile input, and the transport exit codes.

use tempfile::TempDir;

use crate::sshd::{Sshd, SshdOptions, VIA_JUMP_ALIAS, client_config_with_jump};
use crate::support::{Pvectl, Run, SimTools};

/// A loopback sshd whose sessions run the simulator tools on `tools`' state and log.
pub(crate) fn sshd_for(tools: &SimTools, extra: &[(&str, &str)]) -> Sshd {
    let mut env = vec![
        ("PATH".to_owned(), format!("{}:/usr/bin:/bin", tools.bin().display())),
        ("PVE_SIM_STATE".to_owned(), tools.state().display().to_string()),
        ("PVE_SIM_LOG".to_owned(), tools.log().display().to_string()),
    ];
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    Sshd::start(SshdOptions { env, ..SshdOptions::default() })
}

pub(crate) use crate::harness::runtime_dir;

/// `pvectl -t <target> --ssh-config <cfg>` with its own runtime dir.
pub(crate) fn over_ssh(target: &str, config: &std::path::Path, rt: &TempDir) -> Pvectl {
    Pvectl::new().env("PVECTL_RUNTIME_DIR", rt.path()).args(["-t", target, "--ssh-config"]).arg_path(config)
}

pub(crate) fn in_process(tools: &SimTools, args: &[&str]) -> Run {
    Pvectl::new().env("PVE_SIM_STATE", tools.state()).args(["-t", "sim"]).args(args).run()
}

#[test]
fn guest_list_over_ssh_equals_the_sim_with_one_remote_call() {
    let tools = SimTools::new();
    let sshd = sshd_for(&tools, &[]);
    let rt = runtime_dir();
    let r = over_ssh(&sshd.ssh_target(), &sshd.config_path(), &rt).args(["guest", "list", "-o", "json"]).run();
    r.expect_code(0);
    assert_eq!(tools.calls(), vec![vec!["pvesh", "get", "/cluster/resources", "--output-format", "json", "--type", "vm"]]);
    let sim = in_process(&tools, &["guest", "list", "-o", "json"]);
    assert_eq!(r.json(), sim.json(), "ssh and in-process sim agree on the same state");
    assert!(r.json().as_array().is_some_and(|a| a.len() >= 10));
}

#[test]
fn reads_through_a_jump_host() {
    let tools = SimTools::new();
    let target = sshd_for(&tools, &[]);
    let jump = Sshd::start_jump();
    let cfg = client_config_with_jump(&target, &jump);
    let rt = runtime_dir();
    let r = over_ssh(&format!("ssh://{VIA_JUMP_ALIAS}"), &cfg, &rt).args(["guest", "list", "-o", "json"]).run();
    r.expect_code(0);
    assert_eq!(r.json(), in_process(&tools, &["guest", "list", "-o", "json"]).json());
    assert_eq!(jump.connections(), 1, "the master holds one connection through the jump host");
    assert_eq!(tools.calls().len(), 1);
}

#[test]
fn consecutive_runs_resume_the_persistent_master() {
    let tools = SimTools::new();
    let sshd = sshd_for(&tools, &[]);
    let rt = runtime_dir();
    for _ in 0..3 {
        over_ssh(&sshd.ssh_target(), &sshd.config_path(), &rt).args(["node", "list", "-o", "json"]).run().expect_code(0);
    }
    assert_eq!(sshd.connections(), 1, "three runs, one SSH connection");
    assert_eq!(tools.calls().len(), 3);
    let sockets = std::fs::read_dir(rt.path())
        .expect("runtime dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| std::os::unix::fs::FileTypeExt::is_socket(&t)))
        .count();
    assert_eq!(sockets, 1, "one control socket");
}

#[test]
fn no_persist_leaves_no_master_behind() {
    let tools = SimTools::new();
    let sshd = sshd_for(&tools, &[]);
    let rt = runtime_dir();
    over_ssh(&sshd.ssh_target(), &sshd.config_path(), &rt).args(["--no-persist", "node", "list", "-o", "json"]).run().expect_code(0);
    let start = std::time::Instant::now();
    while sshd.connections() > 0 && start.elapsed() < std::time::Duration::from_secs(5) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(sshd.connections(), 0, "the private master was closed");
}

#[test]
fn qm_pct_mode_over_ssh() {
    let tools = SimTools::new();
    let all = in_process(&tools, &["guest", "list", "-o", "json"]).json();
    let node = all[0]["node"].as_str().expect("node").to_owned();
    let sshd = sshd_for(&tools, &[("PVE_SIM_NODE", &node)]);
    let rt = runtime_dir();
    let r = over_ssh(&sshd.ssh_target(), &sshd.config_path(), &rt).args(["--tools", "qm-pct", "guest", "list", "-o", "json"]).run();
    r.expect_code(0);
    let got: Vec<u64> = r.json().as_array().expect("array").iter().map(|g| g["vmid"].as_u64().expect("vmid")).collect();
    let want: Vec<u64> =
        all.as_array().expect("array").iter().filter(|g| g["node"] == node.as_str()).map(|g| g["vmid"].as_u64().expect("vmid")).collect();
    assert_eq!(got, want);
    let mut programs: Vec<String> = tools.calls().into_iter().map(|c| c[0].clone()).collect();
    // `qm list` and `pct list` run concurrently on the one master: their order varies.
    programs[1..].sort();
    assert_eq!(programs, ["hostname", "pct", "qm"]);
    // Config and snapshots through qm/pct equal the API answers.
    let vmid = want[0].to_string();
    for what in [["guest", "config"], ["snapshot", "list"]] {
        let a = over_ssh(&sshd.ssh_target(), &sshd.config_path(), &rt)
            .args(["--tools", "qm-pct"])
            .args(what)
            .args([vmid.as_str(), "-o", "json"])
            .run();
        a.expect_code(0);
        let b = in_process(&tools, &[what[0], what[1], &vmid, "-o", "json"]);
        if what[0] == "guest" {
            let mut bj = b.json();
            bj.as_object_mut().expect("object").remove("digest");
            assert_eq!(a.json(), bj, "qm config equals the API config");
        } else {
            let names = |v: &serde_json::Value| v.as_array().expect("array").iter().map(|s| s["name"].clone()).collect::<Vec<_>>();
            assert_eq!(names(&a.json()), names(&b.json()));
        }
    }
}

#[test]
fn hostile_arguments_reach_the_remote_tool_intact() {
    let tools = SimTools::new();
    let sshd = sshd_for(&tools, &[]);
    let rt = runtime_dir();
    let hostile = "a b'c\";d $(touch /tmp/pvectl-e2e-cli-pwned) `id` | cat";
    let path = format!("/nodes/{hostile}");
    let r = over_ssh(&sshd.ssh_target(), &sshd.config_path(), &rt).args(["api", "get", &path, &format!("note={hostile}")]).run();
    assert_ne!(r.code, 0);
    assert_eq!(tools.calls(), vec![vec!["pvesh", "get", path.as_str(), "--output-format", "json", "--note", hostile]]);
    assert!(!std::path::Path::new("/tmp/pvectl-e2e-cli-pwned").exists());
}

#[test]
fn unknown_vmid_exits_5_over_ssh() {
    let tools = SimTools::new();
    let sshd = sshd_for(&tools, &[]);
    let rt = runtime_dir();
    let r = over_ssh(&sshd.ssh_target(), &sshd.config_path(), &rt).args(["guest", "status", "4242", "-o", "json"]).run();
    r.expect_code(5);
    let r =
        over_ssh(&sshd.ssh_target(), &sshd.config_path(), &rt).args(["guest", "status", "4242", "--node", "pve1", "--kind", "qemu"]).run();
    r.expect_code(5);
    assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
}

#[test]
fn unreachable_or_refusing_sshd_exits_9_with_ssh_reason() {
    let tools = SimTools::new();
    let sshd = sshd_for(&tools, &[]);
    let rt = runtime_dir();
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let r = over_ssh(&format!("ssh://root@127.0.0.1:{closed}"), &sshd.config_path(), &rt).args(["guest", "list", "-o", "json"]).run();
    r.expect_code(9);
    assert!(r.stderr.contains("Connection refused"), "{}", r.stderr);
    // A server whose host key is not the one in known_hosts.
    let other = sshd_for(&tools, &[]);
    let wrong = sshd.config_path();
    let target = format!("ssh://{}@127.0.0.1:{}", other.user(), other.port());
    let r = over_ssh(&target, &wrong, &rt).args(["guest", "list"]).run();
    r.expect_code(9);
    assert!(r.stderr.contains("Host key verification failed") || r.stderr.contains("No ED25519 host key is known"), "{}", r.stderr);
    assert!(tools.calls().is_empty(), "nothing ran remotely");
}

#[test]
fn a_permission_error_exits_4_over_ssh() {
    let tools = SimTools::new();
    let ok = std::process::Command::new(crate::support::pve_sim_bin()).arg("init").arg(tools.state()).status().expect("pve-sim init");
    assert!(ok.success());
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(tools.state()).expect("read")).expect("json");
    v["faults"]["denied"] = serde_json::json!([{"path": "/vms/100", "privilege": "VM.Audit"}]);
    std::fs::write(tools.state(), v.to_string()).expect("write");
    let sshd = sshd_for(&tools, &[]);
    let rt = runtime_dir();
    let r =
        over_ssh(&sshd.ssh_target(), &sshd.config_path(), &rt).args(["guest", "config", "100", "--node", "pve1", "--kind", "qemu"]).run();
    r.expect_code(4);
    assert!(r.stderr.contains("Permission check failed (/vms/100, VM.Audit)"), "{}", r.stderr);
}
