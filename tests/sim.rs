//! The built `pve-sim` executable as the command backend sees it: output bytes, exit codes,
//! the state file and its lock, the call log, and arguments that must stay data.
//!
//! Everything here is produced by the simulator; none of it is a real PVE sample.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

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
    let (cpu, vmid) = (text.find("\"cpu\"").expect("a cpu key"), text.find("\"vmid\"").expect("a vmid key"));
    assert!(cpu < vmid, "cpu printed before vmid");
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
    assert_eq!(
        (o.status.code(), stderr(&o).as_str()),
        (Some(255), "400 Parameter verification failed.\nupid: unable to parse worker upid\n")
    );
}

#[test]
fn qm_list_follows_the_printf_format() {
    let o = Sim::new(&["qm", "list"]).run();
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    // printf "%10s %-20s %-10s %-10s %12s %-10s\n" with the header words (FORMATS.md §1.1).
    assert_eq!(lines[0], "      VMID NAME                 STATUS     MEM(MB)    BOOTDISK(GB) PID       \n");
    assert_eq!(lines[1], "       100 web01                running    2048              32.00 2300      \n");
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
    assert_eq!(
        (o.status.code(), stderr(&o).as_str()),
        (Some(255), "Configuration file 'nodes/pve1/qemu-server/102.conf' does not exist\n")
    );
    let o = Sim::new(&["pct", "list"]).env("PVE_SIM_NODE", "pve2").run();
    assert_eq!(
        stdout(&o),
        "VMID       Status     Lock         Name                \n105        running                 proxy01             \n106        stopped    backup       backup-agent        \n"
    );
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
    let children: Vec<_> =
        (0..6).map(|i| spawn(&["pvesh", "get", &format!("/nodes/pve{}/status", i % 3 + 1), "--output-format", "json"])).collect();
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
    let o = Sim::new(&["pvesh", "create", "/nodes/pve1/qemu/100/snapshot", "--snapname", "s1", "--description", hostile])
        .env("PVE_SIM_LOG", &log)
        .run();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
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
    assert_eq!(
        log_lines(&log),
        [vec!["hostname"], vec!["pct", "status", "109"], vec!["pvesh", "get", "/version", "--output-format", "json"]]
    );
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

/// A state file from the demo with short tasks (`task_ms` 100) and the given task faults.
fn state_with(dir: &Path, faults: Value) -> PathBuf {
    let path = dir.join("state.json");
    assert_eq!(Sim::new(&["init", path.to_str().expect("utf-8 path")]).run().status.code(), Some(0));
    let mut state: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("state")).expect("json");
    state["settings"]["task_ms"] = Value::from(100);
    state["faults"]["tasks"] = faults;
    std::fs::write(&path, serde_json::to_string(&state).expect("json")).expect("write state");
    path
}

fn tool(state: &Path, log: &Path, args: &[&str]) -> Output {
    Sim::new(args).env("PVE_SIM_STATE", state).env("PVE_SIM_LOG", log).run()
}

#[test]
fn pvesh_create_runs_the_task_in_the_foreground_and_prints_the_upid_last() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (state, log) = (state_with(dir.path(), serde_json::json!([])), dir.path().join("calls.log"));
    let o = tool(&state, &log, &["pvesh", "create", "/nodes/pve1/qemu/100/status/shutdown", "--output-format", "json"]);
    assert_eq!((o.status.code(), stderr(&o).as_str()), (Some(0), ""));
    let out = stdout(&o);
    let upid: String = serde_json::from_str(out.lines().last().expect("a line")).expect("the UPID as a JSON string");
    assert!(upid.starts_with("UPID:pve1:") && upid.ends_with(":qmshutdown:100:root@pam:"), "{upid}");
    let o = tool(&state, &log, &["pvesh", "get", "/nodes/pve1/qemu/100/status/current", "--output-format", "json"]);
    let status: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!((status["status"].as_str(), status["qmpstatus"].as_str()), (Some("stopped"), Some("stopped")));
    let o = tool(&state, &log, &["pvesh", "get", &format!("/nodes/pve1/tasks/{upid}/status"), "--output-format", "json"]);
    let task: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!((task["status"].as_str(), task["exitstatus"].as_str()), (Some("stopped"), Some("OK")));
    assert_eq!(log_lines(&log).len(), 3, "one log line per invocation");
}

#[test]
fn failed_and_warning_tasks_on_pvesh_and_qm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let faults = serde_json::json!([
        {"vmid": 100, "action": "shutdown", "outcome": "fail", "message": "VM quit/powerdown failed - got timeout"},
        {"vmid": 103, "action": "start", "outcome": "warn", "count": 1, "message": "no efidisk configured! Using temporary efivars disk.", "once": true}
    ]);
    let (state, log) = (state_with(dir.path(), faults), dir.path().join("calls.log"));
    let o = tool(&state, &log, &["pvesh", "create", "/nodes/pve1/qemu/100/status/shutdown", "--output-format", "json"]);
    assert_eq!(
        (o.status.code(), stderr(&o).as_str()),
        (Some(0), "VM quit/powerdown failed - got timeout\n"),
        "pvesh exits 0 after a failed task"
    );
    assert!(stdout(&o).starts_with("\"UPID:pve1:"), "{}", stdout(&o));
    let o = tool(&state, &log, &["qm", "shutdown", "100", "--timeout", "30"]);
    assert_eq!((o.status.code(), stderr(&o).as_str(), stdout(&o).as_str()), (Some(255), "VM quit/powerdown failed - got timeout\n", ""));
    let o = tool(&state, &log, &["qm", "start", "103"]);
    assert_eq!((o.status.code(), stderr(&o).as_str()), (Some(0), "Task finished with 1 warning(s)!\n"));
    assert_eq!(stdout(&o), "WARN: no efidisk configured! Using temporary efivars disk.\n");
    let o = tool(&state, &log, &["qm", "start", "103"]);
    assert_eq!((o.status.code(), stderr(&o).as_str()), (Some(255), "VM 103 already running\n"), "the once fault is gone; the worker fails");
    let o = tool(&state, &log, &["pct", "shutdown", "106"]);
    assert_eq!((o.status.code(), stderr(&o).as_str()), (Some(255), "Configuration file 'nodes/pve1/lxc/106.conf' does not exist\n"));
    let o = Sim::new(&["pct", "shutdown", "106"]).env("PVE_SIM_STATE", &state).env("PVE_SIM_NODE", "pve2").run();
    assert_eq!((o.status.code(), stderr(&o).as_str()), (Some(255), "CT is locked (backup)\n"));
    let o = tool(&state, &log, &["pvesh", "create", "/nodes/pve2/lxc/106/status/start", "--output-format", "json"]);
    assert_eq!((o.status.code(), stderr(&o).as_str(), stdout(&o).as_str()), (Some(255), "CT is locked (backup)\n", ""));
    assert_eq!(log_lines(&log).len(), 6);
}

#[test]
fn qm_snapshot_keeps_a_hostile_description_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (state, log) = (state_with(dir.path(), serde_json::json!([])), dir.path().join("calls.log"));
    let desc = "a \"b\"; $(c)";
    let o = tool(&state, &log, &["qm", "snapshot", "100", "snap1", "--description", desc]);
    assert_eq!((o.status.code(), stdout(&o).as_str(), stderr(&o).as_str()), (Some(0), "", ""));
    let o = tool(&state, &log, &["pvesh", "get", "/nodes/pve1/qemu/100/snapshot", "--output-format", "json"]);
    let list: Value = serde_json::from_slice(&o.stdout).expect("json");
    let snap = list.as_array().and_then(|a| a.iter().find(|s| s["name"] == "snap1")).expect("snap1 listed");
    assert_eq!((snap["description"].as_str(), snap["parent"].as_str()), (Some(desc), Some("nginx-tuned")));
    let o = tool(&state, &log, &["qm", "rollback", "100", "pre-upgrade"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = tool(&state, &log, &["qm", "delsnapshot", "100", "snap1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = tool(&state, &log, &["qm", "listsnapshot", "100"]);
    assert!(!stdout(&o).contains("snap1") && stdout(&o).contains("`-> pre-upgrade"), "{}", stdout(&o));
    assert_eq!(log_lines(&log)[0], ["qm", "snapshot", "100", "snap1", "--description", desc]);
    assert_eq!(log_lines(&log).len(), 5);
}

/// Spawns `pve-sim <args>` on `state` with piped output, in a process group of its own (so
/// a hanging tool can be killed with its children).
#[cfg(unix)]
fn spawn_tool(state: &Path, log: &Path, args: &[&str]) -> Child {
    use std::os::unix::process::CommandExt as _;
    Command::new(BIN)
        .args(args)
        .env("PVE_SIM_STATE", state)
        .env("PVE_SIM_LOG", log)
        .env_remove("PVE_SIM_NODE")
        .env_remove("PVE_SIM_LATENCY_MS")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn")
}

/// The exit status of `child` if it ends within `limit`; `None` while it still runs.
#[cfg(unix)]
fn exits_within(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills `child`'s whole process group (it leads one, `spawn_tool`) and reaps it.
#[cfg(unix)]
fn kill_group(child: &mut Child) {
    let group = format!("-{}", child.id());
    let killed = Command::new("kill").args(["-KILL", "--", &group]).status().expect("kill runs");
    assert!(killed.success(), "kill -KILL -- {group}");
    child.wait().expect("reaped");
}

/// How many live processes are in the process group `pgid` (Linux `/proc/<pid>/stat`).
#[cfg(unix)]
fn group_members(pgid: u32) -> usize {
    let entries = std::fs::read_dir("/proc").expect("/proc");
    entries
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
        .filter(|stat| {
            // pid (comm) state ppid pgrp ...: fields after the last ')'.
            let fields: Vec<&str> = stat.rsplit_once(')').map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
            fields.first().is_some_and(|state| *state != "Z") && fields.get(2) == Some(&pgid.to_string().as_str())
        })
        .count()
}

/// Runs a tool that must answer: its output, or a failure if it does not end within 60 s
/// (a bound against a test that would block for ever, not a timing assertion).
#[cfg(unix)]
fn answering(state: &Path, log: &Path, args: &[&str]) -> Output {
    let mut child = spawn_tool(state, log, args);
    if exits_within(&mut child, Duration::from_secs(60)).is_none() {
        kill_group(&mut child);
        panic!("{args:?} did not answer");
    }
    child.wait_with_output().expect("output")
}

/// Sets `faults.hang` in the state file.
#[cfg(unix)]
fn set_hang(state: &Path, hang: Value) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(state).expect("state")).expect("json");
    v["faults"]["hang"] = hang;
    std::fs::write(state, serde_json::to_string(&v).expect("json")).expect("write state");
}

#[cfg(unix)]
#[test]
fn a_hanging_tool_does_not_return_and_holds_no_lock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (state, log) = (state_with(dir.path(), serde_json::json!([])), dir.path().join("calls.log"));
    set_hang(&state, serde_json::json!([{"path": "/cluster/resources"}, {"path": "/nodes/*/qemu/100/status/current", "seconds": 60}]));
    let mut pvesh = spawn_tool(&state, &log, &["pvesh", "get", "/cluster/resources/", "--type", "vm", "--output-format", "json"]);
    let mut qm = spawn_tool(&state, &log, &["qm", "status", "100"]);
    assert_eq!(exits_within(&mut pvesh, Duration::from_secs(1)), None, "pvesh for a matching path hangs");
    assert_eq!(qm.try_wait().expect("try_wait"), None, "qm status 100 calls a matching path and hangs");
    // Meanwhile the state file is not locked: other calls answer, and write.
    let o = answering(&state, &log, &["pvesh", "get", "/version", "--output-format", "json"]);
    assert_eq!(
        (o.status.code(), stdout(&o).as_str()),
        (Some(0), "{\"release\":\"9.1\",\"repoid\":\"5ac30304265fbd8e\",\"version\":\"9.1.4\"}\n")
    );
    let o = answering(&state, &log, &["qm", "status", "103"]);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), "status: stopped\n"));
    let o = answering(&state, &log, &["qm", "start", "103"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(pvesh.try_wait().expect("try_wait"), None, "still hanging");
    kill_group(&mut pvesh);
    kill_group(&mut qm);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).expect("state")).expect("json");
    assert_eq!((saved["faults"]["hang"][0]["calls"].as_u64(), saved["faults"]["hang"][1]["calls"].as_u64()), (Some(1), Some(1)));
    assert_eq!(log_lines(&log).len(), 5, "every invocation logged, the hanging ones too");
}

#[cfg(unix)]
#[test]
fn a_hanging_tool_after_create_leaves_a_child_holding_stdout() {
    use std::io::Read as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let (state, log) = (state_with(dir.path(), serde_json::json!([])), dir.path().join("calls.log"));
    set_hang(&state, serde_json::json!([{"path": "/nodes/*/tasks/*/status", "after": 1, "child": true, "seconds": 120}]));
    let o = answering(&state, &log, &["pvesh", "create", "/nodes/pve1/qemu/100/status/shutdown", "--output-format", "json"]);
    assert_eq!(o.status.code(), Some(0), "the create does not match: {}", stderr(&o));
    let upid: String = serde_json::from_str(stdout(&o).lines().last().expect("a line")).expect("the UPID");
    let status_path = format!("/nodes/pve1/tasks/{upid}/status");
    let o = answering(&state, &log, &["pvesh", "get", &status_path, "--output-format", "json"]);
    assert_eq!(serde_json::from_slice::<Value>(&o.stdout).expect("json")["exitstatus"], "OK", "the first status read answers (after 1)");

    let mut hung = spawn_tool(&state, &log, &["pvesh", "get", &format!("{status_path}/"), "--output-format", "json"]);
    assert_eq!(exits_within(&mut hung, Duration::from_secs(1)), None, "the second status read hangs");
    let deadline = Instant::now() + Duration::from_secs(60);
    while group_members(hung.id()) < 2 {
        assert!(Instant::now() < deadline, "the hanging tool never started its child");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Killing the tool alone leaves its child, which keeps the output pipe open.
    let mut out = hung.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = tx.send(out.read_to_end(&mut buf).map(|_| buf));
    });
    hung.kill().expect("kill the tool");
    hung.wait().expect("reaped");
    assert!(rx.recv_timeout(Duration::from_secs(1)).is_err(), "no end of file while the child lives");
    let group = format!("-{}", hung.id());
    assert!(Command::new("kill").args(["-KILL", "--", &group]).status().expect("kill runs").success(), "the child is in the group");
    let printed = rx.recv_timeout(Duration::from_secs(60)).expect("end of file once the group is gone").expect("read");
    assert!(printed.is_empty(), "a hanging tool prints nothing");
    let o = answering(&state, &log, &["pvesh", "get", "/nodes/pve1/tasks", "--output-format", "json"]);
    assert_eq!(o.status.code(), Some(0), "other paths still answer");
}

#[cfg(unix)]
#[test]
fn a_hanging_task_sleeps_without_the_state_lock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let faults = serde_json::json!([{"vmid": 100, "action": "shutdown", "outcome": "hang", "seconds": 3600}]);
    let (state, log) = (state_with(dir.path(), faults), dir.path().join("calls.log"));
    let mut child = spawn_tool(&state, &log, &["qm", "shutdown", "100"]);
    // The task shows as active once the tool has started it; the tool then waits without
    // the lock, so these reads answer (`answering` fails a read that blocks).
    let active = || {
        let o = answering(&state, &log, &["pvesh", "get", "/nodes/pve1/tasks", "--source", "active", "--output-format", "json"]);
        let v: Value = serde_json::from_slice(&o.stdout).expect("json");
        v.as_array()
            .expect("a list")
            .iter()
            .filter(|t| t["type"] == "qmshutdown")
            .filter_map(|t| t["upid"].as_str().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let upid = loop {
        if let [upid] = active().as_slice() {
            break upid.clone();
        }
        assert!(Instant::now() < deadline, "the task never showed as active");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(child.try_wait().expect("try_wait"), None, "the tool waits for its hour-long task");
    let o = answering(&state, &log, &["qm", "status", "100"]);
    assert_eq!(stdout(&o), "status: running\n", "nothing changes before the task ends");
    // End the task now, through the state file (under its lock): the waiting tool notices.
    let env = pvectl::backend::sim::SimEnv { state_path: Some(state.clone()), ..Default::default() };
    pvectl::backend::sim::with_state(&env, |sim| {
        let task = sim.state_mut().tasks.iter_mut().find(|t| t.upid.to_string() == upid).expect("the task");
        task.pending.as_mut().expect("running").end_ms = 0;
    })
    .expect("state edited");
    let Some(status) = exits_within(&mut child, Duration::from_secs(60)) else {
        kill_group(&mut child);
        panic!("the tool did not end with its task");
    };
    assert!(status.success(), "{}", stderr(&child.wait_with_output().expect("output")));
    let o = answering(&state, &log, &["qm", "status", "100"]);
    assert_eq!(stdout(&o), "status: stopped\n");
    assert!(active().is_empty());
}

#[cfg(unix)]
#[test]
fn backup_tools_by_argv0_print_the_log_and_exit_as_pve() {
    let dir = tempfile::tempdir().expect("tempdir");
    let faults = serde_json::json!([{"vmid": 103, "action": "vzdump", "outcome": "fail", "message": "got timeout", "once": true}]);
    let (state, log) = (state_with(dir.path(), faults), dir.path().join("calls.log"));
    let link = |name: &str| -> PathBuf {
        let p = dir.path().join(name);
        std::os::unix::fs::symlink(BIN, &p).expect("symlink");
        p
    };
    let (vzdump, qmrestore) = (link("vzdump"), link("qmrestore"));
    let run = |prog: &Path, args: &[&str]| Sim::program(prog, args).env("PVE_SIM_STATE", &state).env("PVE_SIM_LOG", &log).run();
    let o = run(&vzdump, &["103", "--storage", "nas", "--compress", "zstd"]);
    assert_eq!((o.status.code(), stderr(&o).as_str()), (Some(255), "job errors\n"));
    let out = stdout(&o);
    assert!(out.contains("\nERROR: Backup of VM 103 failed - got timeout\nINFO: Failed at "), "{out}");
    assert!(
        out.ends_with("INFO: Backup job finished with errors\nINFO: notified via target `mail-to-root`\n") && !out.contains("UPID"),
        "{out}"
    );
    let o = run(&vzdump, &["103", "--storage", "nas", "--compress", "zstd"]);
    assert_eq!((o.status.code(), stderr(&o).as_str()), (Some(0), ""));
    assert!(stdout(&o).contains("INFO: Finished Backup of VM 103 (00:00:01)\n"));
    let o = run(&vzdump, &["105"]);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), ""), "105 is on pve2: OK, nothing to do");
    let o = tool(
        &state,
        &log,
        &["pvesh", "get", "/nodes/pve1/storage/nas/content", "--content", "backup", "--vmid", "103", "--output-format", "json"],
    );
    let list: Value = serde_json::from_slice(&o.stdout).expect("json");
    let volid = list[0]["volid"].as_str().expect("a backup of 103").to_owned();
    let o = run(&qmrestore, &[&volid, "103"]);
    assert_eq!((o.status.code(), stderr(&o).as_str()), (Some(255), "unable to restore VM 103 - VM 103 already exists on node 'pve1'\n"));
    let o = run(&qmrestore, &[&volid, "190", "--start"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("restore vma archive: zstd -q -d -c /mnt/pve/nas/dump/vzdump-qemu-103-"), "{out}");
    assert!(out.ends_with("rescan volumes...\nExecute autostart\n"), "{out}");
    let o = tool(&state, &log, &["pvesh", "delete", &format!("/nodes/pve1/storage/nas/content/{volid}"), "--output-format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with(&format!("Removed volume '{volid}'\n\"UPID:pve1:")), "{}", stdout(&o));
    let calls = log_lines(&log);
    assert_eq!(calls[0], ["vzdump", "103", "--storage", "nas", "--compress", "zstd"]);
    assert_eq!(calls[4][0], "qmrestore");
}

#[test]
fn qm_clone_template_and_destroy_texts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (state, log) = (state_with(dir.path(), serde_json::json!([])), dir.path().join("calls.log"));
    let on3 = |args: &[&str]| Sim::new(args).env("PVE_SIM_STATE", &state).env("PVE_SIM_LOG", &log).env("PVE_SIM_NODE", "pve3").run();
    let o = on3(&["qm", "clone", "9000", "9100", "--name", "ubuntu-2404-smoke-01"]);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), "create linked clone of drive scsi0 (nas:9000/vm-9000-disk-0.qcow2)\n"));
    let o = on3(&["qm", "clone", "107", "9101", "--full", "0"]);
    assert_eq!(
        (o.status.code(), stderr(&o).as_str()),
        (Some(255), "Linked clone feature is not supported for 'nas:107/vm-107-disk-0.qcow2' (scsi0)\n")
    );
    let o = on3(&["qm", "template", "108"]);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), ""), "running: refused, yet exit 0");
    assert_eq!(stderr(&o), "you can't convert a VM to template if VM is running\n");
    let o = on3(&["qm", "template", "107"]);
    assert_eq!((o.status.code(), stdout(&o).as_str(), stderr(&o).as_str()), (Some(0), "", ""));
    let o = on3(&["qm", "destroy", "108"]);
    assert_eq!((o.status.code(), stderr(&o).as_str()), (Some(255), "VM 108 is running - destroy failed\n"));
    let o = on3(&["qm", "destroy", "9100", "--purge"]);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), "purging VM 9100 from related configurations..\n"));
    let o = on3(&["qm", "pending", "9000"]);
    assert!(stdout(&o).starts_with("cur agent: 1\n"), "{}", stdout(&o));
}

/// The text faces of the new tools: `qm guest cmd` prints the agent's `result` as canonical
/// pretty JSON (3-space indent, sorted keys), `pct exec` exits with the command's code,
/// `ha-manager status` one line per entry, `qm migrate` the task log, `qm disk resize` only
/// the storage's output and exit 0 even when the task fails (the error on stderr).
#[test]
fn guest_agent_exec_ha_migrate_and_resize_texts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (state, log) = (state_with(dir.path(), serde_json::json!([])), dir.path().join("calls.log"));
    let on =
        |node: &str, args: &[&str]| Sim::new(args).env("PVE_SIM_STATE", &state).env("PVE_SIM_LOG", &log).env("PVE_SIM_NODE", node).run();
    let o = on("pve1", &["qm", "guest", "cmd", "100", "get-host-name"]);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), "{\n   \"host-name\" : \"web01\"\n}\n"));
    let o = on("pve3", &["qm", "guest", "exec", "108", "--", "sh", "-c", "echo hi; exit 3"]);
    assert_eq!(
        (o.status.code(), stdout(&o).as_str()),
        (Some(0), "{\n   \"exitcode\" : 3,\n   \"exited\" : 1,\n   \"out-data\" : \"hi\\n\"\n}\n")
    );
    let o = on("pve1", &["pct", "exec", "102", "--", "sh", "-c", "echo hi; exit 3"]);
    assert_eq!((o.status.code(), stdout(&o).as_str(), stderr(&o).as_str()), (Some(3), "hi\n", ""));
    let o = on("pve1", &["ha-manager", "status"]);
    let lines: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    assert_eq!((o.status.code(), lines[0].as_str(), lines[2].as_str()), (Some(0), "quorum OK", "fencing armed (CRM watchdog active)"));
    assert!(lines[1].starts_with("master pve1 (active, ") && lines[3].starts_with("lrm pve1 (active, watchdog active, "), "{lines:?}");
    assert_eq!(lines.last().map(String::as_str), Some("service vm:101 (pve1, started)"));
    let o = on("pve1", &["qm", "migrate", "103", "pve2"]);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(lines[0].ends_with(" starting migration of VM 103 to node 'pve2' (192.0.2.12)"), "{out}");
    assert!(lines.last().is_some_and(|l| l.contains(" migration finished successfully (duration 00:00:")), "{out}");
    let o = on("pve1", &["qm", "migrate", "100", "pve2"]);
    assert_eq!((o.status.code(), stderr(&o).as_str()), (Some(255), "can't migrate running VM without --online\n"));
    let o = on("pve3", &["qm", "disk", "resize", "107", "scsi0", "1G"]);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), ""), "a failed resize task still exits 0");
    assert_eq!(stderr(&o), "shrinking disks is not supported\n");
    let o = on("pve3", &["qm", "disk", "resize", "107", "scsi0", "+2G"]);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), "Image resized.\n"), "the storage's output only");
    let o = on("pve3", &["qm", "config", "107"]);
    assert!(stdout(&o).contains("scsi0: nas:107/vm-107-disk-0.qcow2,iothread=1,size=82G\n"), "{}", stdout(&o));
    let calls = log_lines(&log);
    assert!(calls.iter().any(|c| c == &["pct", "exec", "102", "--", "sh", "-c", "echo hi; exit 3"]), "{calls:?}");
    assert!(calls.iter().any(|c| c == &["qm", "guest", "exec", "108", "--", "sh", "-c", "echo hi; exit 3"]), "{calls:?}");
}
