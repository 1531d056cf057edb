//! Fleets over real transports: a config file with a `pve-sim serve` REST target and an SSH
//! target on the loopback sshd, in group `lab`; `-t @lab` reads both at once. [`Lab`] is
//! shared with the fleet action and check tests.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::cli::{runtime_dir, sshd_for};
use crate::support::{Pvectl, Run, SimServer, SimTools, pve_sim_bin, read_calls};

/// Seeds a state file with the demo cluster and short tasks (200 ms).
pub(crate) fn seed(state: &Path) {
    let ok = std::process::Command::new(pve_sim_bin()).arg("init").arg(state).status().expect("pve-sim init");
    assert!(ok.success());
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(state).expect("read state")).expect("state JSON");
    v["settings"]["task_ms"] = json!(200);
    std::fs::write(state, v.to_string()).expect("write state");
}

/// Two targets in group `lab`: `rest` (`pve-sim serve --tls`, its own state and call log)
/// and `ssh` (the `pve-sim` tools behind the loopback sshd), each serving the demo cluster.
pub(crate) struct Lab {
    pub(crate) tools: SimTools,
    /// Keeps the SSH target running.
    _sshd: crate::sshd::Sshd,
    pub(crate) rt: tempfile::TempDir,
    pub(crate) dir: tempfile::TempDir,
    server: Option<SimServer>,
    pub(crate) cfg: PathBuf,
    pub(crate) secret: String,
}

impl Lab {
    /// Starts both targets and writes the config file; `extra` is appended to it.
    pub(crate) fn new(extra: &str) -> Self {
        let tools = SimTools::new();
        seed(&tools.state());
        let sshd = sshd_for(&tools, &[]);
        let dir = tempfile::tempdir().expect("dir");
        seed(&dir.path().join("state.json"));
        let server = SimServer::start(&dir.path().join("state.json"), &dir.path().join("calls.log"));
        let (token_id, secret_file) = SimServer::root_token(dir.path());
        let cfg = dir.path().join("config.toml");
        std::fs::write(
            &cfg,
            format!(
                "[targets.rest]\nurl = \"{}\"\ntoken_id = \"{token_id}\"\ntoken_secret_file = \"{}\"\nfingerprint = \"{}\"\n\n\
                 [targets.ssh]\nurl = \"{}\"\nssh_config = \"{}\"\npersist = 0\n\n[groups]\nlab = [\"rest\", \"ssh\"]\n{extra}",
                server.url,
                secret_file.display(),
                server.fingerprint,
                sshd.ssh_target(),
                sshd.config_path().display(),
            ),
        )
        .expect("write config");
        let secret = std::fs::read_to_string(&secret_file).expect("secret").trim().to_owned();
        Self { tools, _sshd: sshd, rt: runtime_dir(), dir, server: Some(server), cfg, secret }
    }

    /// `pvectl` with the lab's config file.
    pub(crate) fn pvectl(&self) -> Pvectl {
        Pvectl::new().env("PVECTL_CONFIG", &self.cfg).env("PVECTL_RUNTIME_DIR", self.rt.path())
    }

    /// Runs `pvectl ARGS` (stdin closed: no terminal).
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        let r = self.pvectl().args(args).run();
        assert!(!format!("{}{}", r.stdout, r.stderr).contains(&self.secret), "the token secret leaked");
        r
    }

    /// The REST target's logged requests.
    pub(crate) fn rest_calls(&self) -> Vec<Vec<String>> {
        read_calls(&self.dir.path().join("calls.log"))
    }

    /// The REST target's writes (every method but GET).
    pub(crate) fn rest_writes(&self) -> Vec<Vec<String>> {
        self.rest_calls().into_iter().filter(|c| c[0] == "REST" && c[1] != "GET").collect()
    }

    /// The SSH target's writes (`pvesh` but `get`; `qm`/`pct` but their reads).
    pub(crate) fn ssh_writes(&self) -> Vec<Vec<String>> {
        self.tools
            .calls()
            .into_iter()
            .filter(|c| {
                c[0] == "pvesh" && c[1] != "get"
                    || matches!(c[0].as_str(), "qm" | "pct") && !matches!(c[1].as_str(), "list" | "status" | "config" | "listsnapshot")
            })
            .collect()
    }

    /// Empties both call logs.
    pub(crate) fn clear_logs(&self) {
        self.tools.clear_log();
        let _ = std::fs::remove_file(self.dir.path().join("calls.log"));
    }

    /// Stops the REST target's server: it no longer answers.
    pub(crate) fn stop_rest(&mut self) {
        self.server.take();
    }
}

/// The vmids of one fleet part's `guest list` data.
fn vmids(part: &Value) -> Vec<u64> {
    part["data"].as_array().expect("guest list is an array").iter().map(|g| g["vmid"].as_u64().expect("vmid")).collect()
}

#[test]
fn group_lab_lists_guests_of_a_rest_and_an_ssh_target_and_one_down_exits_9() {
    let mut lab = Lab::new("");
    let r = lab.run(&["-t", "@lab", "guest", "list", "-o", "json"]);
    r.expect_code(0);
    let parts = r.json();
    let parts = parts.as_array().expect("one array");
    assert_eq!(parts.iter().map(|p| p["target"].as_str().expect("target")).collect::<Vec<_>>(), ["rest", "ssh"]);
    assert!(parts.iter().all(|p| p["ok"] == true), "{parts:?}");
    // Both serve the demo cluster: the same guests, each tagged by its target.
    assert!(vmids(&parts[0]).len() >= 10);
    assert_eq!(vmids(&parts[0]), vmids(&parts[1]));

    // A table gets a TARGET column first.
    let t = lab.run(&["-t", "@lab", "guest", "list", "-o", "table"]);
    t.expect_code(0);
    assert!(t.stdout.lines().next().is_some_and(|h| h.trim_start().starts_with("TARGET")), "{}", t.stdout);
    assert!(t.stdout.lines().any(|l| l.trim_start().starts_with("rest ")) && t.stdout.lines().any(|l| l.trim_start().starts_with("ssh ")));

    // One target down: the other's data stays, the run exits 9 (transport).
    lab.stop_rest();
    let r = lab.run(&["-t", "@lab", "guest", "list", "-o", "json"]);
    r.expect_code(9);
    let parts = r.json();
    let parts = parts.as_array().expect("one array");
    assert_eq!(parts[0]["target"], "rest");
    assert_eq!(parts[0]["ok"], false);
    assert_eq!(parts[0]["error"]["exit_code"], 9, "{parts:?}");
    assert_eq!(parts[1]["ok"], true);
    assert!(vmids(&parts[1]).len() >= 10);

    // Copying files names one local path: refused for a fleet before anything is opened.
    lab.run(&["-t", "rest,ssh", "guest", "file", "pull", "100", "/etc/hostname", "/tmp/x"]).expect_code(2);
}
