//! The built `pve-sim` executable as the command backend sees it: output bytes, exit codes,
//! the state file and its lock, the call log, and arguments that must stay data.
//!
//! Everything here is produced by the simulator; none of it is a real PVE sample.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

#[path = "sim/serve.rs"]
mod serve;

const BIN: &str = env!("CARGO_BIN_EXE_pve-sim");

/// A `pve-sim` run with its own environment (no inherited `PVE_SIM_*`).
struct Sim {
    cmd: Command,
}

impl Sim {
    fn new(args: &[&str]) -> Self {
        Self::program(Path::new(BIN), args)
    }

    fn program(program: &Path, args: &[&str]) -> Self {
        let mut cmd = Command::new(program);
        cmd.args(args);
        for k in ["PVE_SIM_STATE", "PVE_SIM_LOG", "PVE_SIM_LATENCY_MS", "PVE_SIM_NODE"] {
            cmd.env_remove(k);
        }
        Self { cmd }
    }

    fn env(mut self, k: &str, v: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.env(k, v);
        self
    }

    fn run(mut self) -> Output {
        self.cmd.output().expect("pve-sim runs")
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8 stderr")
}

fn log_lines(log: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(log).expect("log").lines().map(|l| serde_json::from_str(l).expect("a JSON array of strings")).collect()
}

#[test]
fn pvesh_json_is_one_sorted_line() {
    let o = Sim::new(&["pvesh", "get", "/cluster/resources", "--output-format", "json", "--type", "vm"]).run();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.ends_with("]\n") && text.matches('\n').count() == 1, "one line");
    let v: Value = serde_json::from_str(&text).expect("json");
    let first = &v[0];
    assert_eq!(first["id"], "qemu/100");
    let keys: Vec<&String> = first.as_object().expect("object").keys().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "keys sorted as pvesh prints them");
    assert!(text.find("\"cpu\"") < text.find("\"vmid\""));
}

#[test]
fn pvesh_errors_and_exit_codes() {
    let o = Sim::new(&["pvesh", "get", "/nodes/pve1/qemu/999/status/current", "--output-format", "json"]).run();
    assert_eq!(o.status.code(), Some(255));
    assert_eq!(stderr(&o), "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist\n");
    assert!(o.stdout.is_empty());
    let o = Sim::new(&["pvesh", "get", "/nodes/pve1/lxc/102/status/tasks"]).run();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "No 'get' handler defined for '/nodes/pve1/lxc/102/status/tasks'\n");
    let o = Sim::new(&["pvesh", "get", "/nodes/pve1/tasks/not-a-upid/status", "--output-format", "json"]).run();
    assert_eq!((o.status.code(), stderr(&o).as_str()), (Some(255), "400 Parameter verification failed.\nupid: unable to parse worker upid\n"));
}

#[test]
fn qm_list_follows_the_printf_format() {
    let o = Sim::new(&["qm", "list"]).run();
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    // printf "%10s %-20s %-10s %-10s %12s %-10s\n" with the header words (FORMATS.md §1.1).
    assert_eq!(lines[0], "      VMID NAME                 STATUS     MEM(MB)    BOOTDISK(GB) PID       \n");
    assert_eq!(lines[1], "       100 web01                running    4096              32.00 2300      \n");
    assert_eq!(lines[3], "       103 build01              stopped    2048              40.00 0         \n");
    for l in &lines[1..] {
        let l = l.trim_end_matches('\n');
        assert_eq!(l.len(), 77, "fixed widths while names fit: {l:?}");
        assert!(l[..10].trim_start().parse::<u32>().is_ok() && l[..10].starts_with(' '), "VMID right-aligned in 10");
        assert!(l[54..66].trim_start().split_once('.').is_some_and(|(_, d)| d.len() == 2), "BOOTDISK %12.2f");
    }
    let o = Sim::new(&["qm", "list"]).env("PVE_SIM_NODE", "pve2").run();
    assert_eq!(stdout(&o).lines().nth(1), Some("       104 app01                paused     4096              32.00 2352      "));
    let o = Sim::new(&["qm", "status", "102"]).run();
    assert_eq!((o.status.code(), stderr(&o).as_str()), (Some(255), "Configuration file 'nodes/pve1/qemu-server/102.conf' does not exist\n"));
    let o = Sim::new(&["pct", "list"]).env("PVE_SIM_NODE", "pve2").run();
    assert_eq!(stdout(&o), "VMID       Status     Lock         Name                \n105        running                 proxy01             \n106        stopped    backup       backup-agent        \n");
}

#[test]
fn state_file_is_created_locked_and_shared() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.json");
    let log = dir.path().join("calls.log");
    let spawn = |args: &[&str]| {
        let mut c = Command::new(BIN);
        c.args(args).env("PVE_SIM_STATE", &state).env("PVE_SIM_LOG", &log).env("PVE_SIM_LATENCY_MS", "20").env_remove("PVE_SIM_NODE");
        c.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        c.spawn().expect("spawn")
    };
    let children: Vec<_> = (0..6).map(|i| spawn(&["pvesh", "get", &format!("/nodes/pve{}/status", i % 3 + 1), "--output-format", "json"])).collect();
    for c in children {
        let o = c.wait_with_output().expect("wait");
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        serde_json::from_slice::<Value>(&o.stdout).expect("json");
    }
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).expect("state")).expect("state json");
    assert_eq!(saved["cluster_name"], "demo");
    assert!(dir.path().join("state.json.lock").exists());
    assert_eq!(log_lines(&log).len(), 6, "one line per invocation, none interleaved");
}

#[test]
fn log_keeps_every_argument_as_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("calls.log");
    let hostile = "a b; $(x) \"q\" `y` 'z'";
    let o = Sim::new(&["pvesh", "create", "/nodes/pve1/qemu/100/snapshot", "--snapname", "s1", "--description", hostile]).env("PVE_SIM_LOG", &log).run();
    assert_eq!(o.status.code(), Some(1), "writes are not simulated yet: {}", stderr(&o));
    let o = Sim::new(&["pvesh", "get", "/nodes/pve1/qemu/100/a b"]).env("PVE_SIM_LOG", &log).run();
    assert_eq!(stderr(&o), "No 'get' handler defined for '/nodes/pve1/qemu/100/a b'\n");
    Sim::new(&["qm", "list"]).env("PVE_SIM_LOG", &log).run();
    let lines = log_lines(&log);
    assert_eq!(lines[0], ["pvesh", "create", "/nodes/pve1/qemu/100/snapshot", "--snapname", "s1", "--description", hostile]);
    assert_eq!(lines[1], ["pvesh", "get", "/nodes/pve1/qemu/100/a b"]);
    assert_eq!(lines[2], ["qm", "list"]);
}

#[cfg(unix)]
#[test]
fn dispatch_by_argv0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = |name: &str| -> PathBuf {
        let p = dir.path().join(name);
        std::os::unix::fs::symlink(BIN, &p).expect("symlink");
        p
    };
    let log = dir.path().join("calls.log");
    let o = Sim::program(&link("hostname"), &[]).env("PVE_SIM_NODE", "pve3").env("PVE_SIM_LOG", &log).run();
    assert_eq!(stdout(&o), "pve3\n");
    let o = Sim::program(&link("pct"), &["status", "109"]).env("PVE_SIM_NODE", "pve3").env("PVE_SIM_LOG", &log).run();
    assert_eq!(stdout(&o), "status: running\n");
    let o = Sim::program(&link("pvesh"), &["get", "/version", "--output-format", "json"]).env("PVE_SIM_LOG", &log).run();
    assert_eq!(stdout(&o), "{\"release\":\"9.1\",\"repoid\":\"5ac30304265fbd8e\",\"version\":\"9.1.4\"}\n");
    assert_eq!(log_lines(&log), [vec!["hostname"], vec!["pct", "status", "109"], vec!["pvesh", "get", "/version", "--output-format", "json"]]);
}

#[test]
fn init_generate_and_resources() {
    let dir = tempfile::tempdir().expect("tempdir");
    let demo = dir.path().join("demo.json");
    assert_eq!(Sim::new(&["init", demo.to_str().expect("utf-8 path")]).run().status.code(), Some(0));
    let o = Sim::new(&["qm", "listsnapshot", "100"]).env("PVE_SIM_STATE", &demo).run();
    assert!(stdout(&o).contains("\n   `-> current "), "{}", stdout(&o));
    let big = dir.path().join("big.json");
    assert_eq!(Sim::new(&["generate", "--guests", "2000", big.to_str().expect("utf-8 path")]).run().status.code(), Some(0));
    let o = Sim::new(&["pvesh", "get", "/cluster/resources", "--type", "vm", "--output-format", "json"]).env("PVE_SIM_STATE", &big).run();
    assert_eq!(serde_json::from_slice::<Value>(&o.stdout).expect("json").as_array().map(Vec::len), Some(2000));
    let o = Sim::new(&["resources", "--guests", "300"]).run();
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v.as_array().map(|a| a.iter().filter(|i| i["type"] == "qemu" || i["type"] == "lxc").count()), Some(300));
    assert_eq!(Sim::new(&["generate", "--guests", "x", "f"]).run().status.code(), Some(2));
}
