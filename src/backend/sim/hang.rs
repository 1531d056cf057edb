//! A hanging tool (`faults.hang`, see `faults.rs`): the API path a `pve-sim` tool invocation
//! calls, the count of matching calls, and the hang itself.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::core::Sim;
use super::faults::ToolHang;
use super::tools;
use crate::model::GuestKind;

/// The API path an invocation of `command` (`pvesh`, `qm`, `pct`) with `args` calls: the
/// path `pvesh get|create|set|delete` is given, or the one a `qm`/`pct` sub-command calls on
/// `sim`'s local node; `None` for anything else (usage errors included).
pub(crate) fn tool_path(sim: &Sim, command: &str, args: &[String]) -> Option<String> {
    match command {
        "pvesh" => matches!(args.first()?.as_str(), "get" | "create" | "set" | "delete").then(|| args.get(1).cloned()).flatten(),
        "qm" => tools::api_path(sim.local_node(), GuestKind::Qemu, args),
        "pct" => tools::api_path(sim.local_node(), GuestKind::Lxc, args),
        "vzdump" | "qmrestore" => super::backup_tools::api_path(sim.local_node(), command),
        _ => None,
    }
}

/// Counts a call for `path` and returns the hang it is to suffer, if any. The state is
/// touched only when a hang's path matches, so other calls do not rewrite the state file.
pub(crate) fn take(sim: &mut Sim, path: &str) -> Option<ToolHang> {
    if !sim.state().faults.hang_matches(path) {
        return None;
    }
    sim.state_mut().faults.count_hang(path)
}

/// Hangs this process for `h.seconds`, first starting the child when `h.child` asks for one.
/// The caller holds no state-file lock meanwhile.
pub(crate) fn hang(h: &ToolHang) {
    if h.child
        && let Err(e) = spawn_child(h.seconds)
    {
        eprintln!("pve-sim: cannot start the hanging child: {e}");
    }
    std::thread::sleep(Duration::from_secs(h.seconds));
}

/// `pve-sim sleep SECONDS` as a child that inherits stdout and stderr (so a reader of the
/// tool's output sees no end of file while it lives), in the tool's process group, unlogged.
fn spawn_child(seconds: u64) -> std::io::Result<()> {
    let exe = std::env::current_exe()?;
    // Dropping the handle neither waits for nor kills the child: it outlives a killed parent.
    Command::new(exe).args(["sleep", &seconds.to_string()]).env_remove("PVE_SIM_LOG").stdin(Stdio::null()).spawn().map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sim::demo::demo_state;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn tool_paths_are_the_api_paths_called() {
        let sim = Sim::new(demo_state()).with_local_node(Some("pve2".into()));
        let path = |tool: &str, a: &[&str]| tool_path(&sim, tool, &args(a));
        assert_eq!(path("pvesh", &["get", "/cluster/resources/", "--type", "vm"]).as_deref(), Some("/cluster/resources/"));
        assert_eq!(path("pvesh", &["ls", "/nodes"]), None);
        assert_eq!(path("qm", &["status", "104", "--verbose"]).as_deref(), Some("/nodes/pve2/qemu/104/status/current"));
        assert_eq!(path("qm", &["list"]).as_deref(), Some("/nodes/pve2/qemu"));
        assert_eq!(path("pct", &["shutdown", "105", "--timeout", "30"]).as_deref(), Some("/nodes/pve2/lxc/105/status/shutdown"));
        assert_eq!(path("pct", &["config", "105"]).as_deref(), Some("/nodes/pve2/lxc/105/config"));
        assert_eq!(path("qm", &["rollback", "104", "s1"]).as_deref(), Some("/nodes/pve2/qemu/104/snapshot/s1/rollback"));
        assert_eq!(path("qm", &["delsnapshot", "104", "s1"]).as_deref(), Some("/nodes/pve2/qemu/104/snapshot/s1"));
        assert_eq!(path("qm", &["snapshot", "104", "s1"]).as_deref(), Some("/nodes/pve2/qemu/104/snapshot"));
        assert_eq!(path("qm", &["status"]), None, "a usage error calls nothing");
        assert_eq!(path("hostname", &[]), None);
    }
}
