//! The MCP tools in one table ([`TOOLS`]): each tool's name, the CLI command it mirrors (as
//! words, so a test can check the tools against the CLI's commands), its tier, what it does,
//! and the type whose JSON Schema (schemars) is its input schema. Reads return the same JSON
//! as the CLI command's `-o json`; `plan_<action>` tools return a plan and `apply` runs one.
//!
//! The argument types live in [`super::args`].

use std::sync::Arc;

use schemars::JsonSchema;

use super::args::{
    ApplyArgs, BackupCreateArgs, BackupDeleteArgs, BackupListArgs, CheckArgs, DeleteArgs, GuestArgs, GuestListArgs, MigrateArgs, NoArgs,
    NodeArgs, NodeNameArgs, ShutdownArgs, SnapshotCreateArgs, SnapshotNameArgs, SnapshotRollbackArgs, TaskLogArgs, UpidArgs, VmidArgs,
};
use crate::backend::Tier;

/// What a tool does with the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    /// A read: answers at once, changes nothing.
    Read,
    /// The first step of an action: prepare and return the plan, send nothing.
    Plan,
    /// The second step: run a remembered plan, given consent.
    Apply,
}

/// One MCP tool.
#[derive(Debug, Clone, Copy)]
pub struct ToolSpec {
    /// The tool's name: the CLI command path joined with `_`; `plan_` before an action's.
    pub name: &'static str,
    /// The CLI command it mirrors, as words (`["guest", "stop"]`); empty for `apply`, which
    /// has no CLI command (the CLI asks for consent in the same run).
    pub command: &'static [&'static str],
    /// Its tier: `read` for reads, the action's tier under the default policy for plans
    /// (a target's policy may raise it; the plan says which); `None` for `apply` (the
    /// planned action's).
    pub tier: Option<Tier>,
    /// Read, plan or apply.
    pub kind: ToolKind,
    /// What it does (the tier is added by [`ToolSpec::description`]).
    pub about: &'static str,
    /// Its input schema (JSON Schema 2020-12 of the argument type).
    pub schema: fn() -> Arc<rmcp::model::JsonObject>,
}

impl ToolSpec {
    /// The description the client sees: the tier first, then what it does.
    pub fn description(&self) -> String {
        match (self.kind, self.tier) {
            (ToolKind::Read, _) => format!("Tier: read (changes nothing). {}", self.about),
            (ToolKind::Plan, Some(t)) => format!(
                "Tier: {t}{}. Plans only, sends nothing: {} Returns the plan and its digest; run it with `apply`.",
                if t.is_gated() { " (needs a human's approval to apply)" } else { "" },
                self.about
            ),
            _ => format!("Tier: that of the plan it applies. {}", self.about),
        }
    }
}

fn schema<T: JsonSchema + 'static>() -> Arc<rmcp::model::JsonObject> {
    rmcp::handler::server::common::schema_for_type::<T>()
}

macro_rules! tool {
    ($name:literal, [$($w:literal),*], $tier:expr, $kind:ident, $args:ty, $about:literal) => {
        ToolSpec {
            name: $name,
            command: &[$($w),*],
            tier: $tier,
            kind: ToolKind::$kind,
            about: $about,
            schema: schema::<$args>,
        }
    };
}

const R: Option<Tier> = Some(Tier::Read);
const C: Option<Tier> = Some(Tier::Change);
const D: Option<Tier> = Some(Tier::Disruptive);
const X: Option<Tier> = Some(Tier::Destructive);

/// Every tool of `pvectl mcp`, in the order they are listed.
pub const TOOLS: &[ToolSpec] = &[
    tool!(
        "guest_list",
        ["guest", "list"],
        R,
        Read,
        GuestListArgs,
        "Guests (qemu VMs and lxc containers) of the cluster, optionally filtered, as `pvectl guest list -o json`."
    ),
    tool!(
        "guest_status",
        ["guest", "status"],
        R,
        Read,
        GuestArgs,
        "One guest's current status (GET /nodes/{node}/{kind}/{vmid}/status/current), as `pvectl guest status -o json`."
    ),
    tool!(
        "guest_config",
        ["guest", "config"],
        R,
        Read,
        GuestArgs,
        "One guest's configuration (GET .../config), as `pvectl guest config -o json`."
    ),
    tool!(
        "guest_diagnose",
        ["guest", "diagnose"],
        R,
        Read,
        VmidArgs,
        "Why a guest is not well: status, lock, HA, disks, agent, recent failed tasks, with findings and next steps, as `pvectl guest diagnose -o json`."
    ),
    tool!("snapshot_list", ["snapshot", "list"], R, Read, GuestArgs, "A guest's snapshots, as `pvectl snapshot list -o json`."),
    tool!(
        "task_list",
        ["task", "list"],
        R,
        Read,
        NodeArgs,
        "Recent tasks of every online node (or one), newest first, as `pvectl task list -o json`."
    ),
    tool!("task_status", ["task", "status"], R, Read, UpidArgs, "One task's status by UPID, as `pvectl task status -o json`."),
    tool!("task_log", ["task", "log"], R, Read, TaskLogArgs, "Lines of one task's log by UPID, as `pvectl task log -o json`."),
    tool!(
        "storage_list",
        ["storage", "list"],
        R,
        Read,
        NodeArgs,
        "Storages with usage, per node (sizes in bytes), as `pvectl storage list -o json`."
    ),
    tool!(
        "backup_list",
        ["backup", "list"],
        R,
        Read,
        BackupListArgs,
        "vzdump backups on the backup storages, newest first, as `pvectl backup list -o json`."
    ),
    tool!("node_list", ["node", "list"], R, Read, NoArgs, "Cluster nodes with status and usage, as `pvectl node list -o json`."),
    tool!(
        "node_status",
        ["node", "status"],
        R,
        Read,
        NodeNameArgs,
        "One node's status (CPU, memory, load, versions), as `pvectl node status -o json`."
    ),
    tool!(
        "cluster_status",
        ["cluster", "status"],
        R,
        Read,
        NoArgs,
        "Cluster membership and quorum (GET /cluster/status), as `pvectl cluster status -o json`."
    ),
    tool!(
        "check",
        ["check"],
        R,
        Read,
        CheckArgs,
        "Health checks with the configured thresholds: findings with severity, as `pvectl check -o json`."
    ),
    tool!("plan_guest_start", ["guest", "start"], C, Plan, GuestArgs, "start a guest."),
    tool!("plan_guest_shutdown", ["guest", "shutdown"], D, Plan, ShutdownArgs, "shut a guest down cleanly (ACPI or the container's init)."),
    tool!("plan_guest_reboot", ["guest", "reboot"], D, Plan, GuestArgs, "reboot a guest cleanly."),
    tool!("plan_guest_stop", ["guest", "stop"], X, Plan, GuestArgs, "stop a guest at once (like pulling the plug)."),
    tool!("plan_guest_reset", ["guest", "reset"], X, Plan, GuestArgs, "reset a qemu guest (hard reboot)."),
    tool!("plan_guest_suspend", ["guest", "suspend"], D, Plan, GuestArgs, "suspend (pause) a guest."),
    tool!("plan_guest_resume", ["guest", "resume"], C, Plan, GuestArgs, "resume a suspended guest."),
    tool!("plan_guest_migrate", ["guest", "migrate"], D, Plan, MigrateArgs, "move a guest to another node of the cluster."),
    tool!(
        "plan_guest_unlock",
        ["guest", "unlock"],
        X,
        Plan,
        VmidArgs,
        "clear a guest's config lock (only when the operation that set it is known to be dead)."
    ),
    tool!("plan_guest_delete", ["guest", "delete"], X, Plan, DeleteArgs, "delete a stopped guest and its disks."),
    tool!("plan_snapshot_create", ["snapshot", "create"], C, Plan, SnapshotCreateArgs, "take a snapshot of a guest."),
    tool!(
        "plan_snapshot_rollback",
        ["snapshot", "rollback"],
        X,
        Plan,
        SnapshotRollbackArgs,
        "roll a guest back to a snapshot (its current state is lost)."
    ),
    tool!("plan_snapshot_delete", ["snapshot", "delete"], X, Plan, SnapshotNameArgs, "delete a snapshot."),
    tool!("plan_backup_create", ["backup", "create"], C, Plan, BackupCreateArgs, "back guests up with vzdump."),
    tool!("plan_backup_delete", ["backup", "delete"], X, Plan, BackupDeleteArgs, "delete a backup archive (volid)."),
    tool!(
        "apply",
        [],
        None,
        Apply,
        ApplyArgs,
        "Runs a plan made by a plan_* tool in this session, named by its digest, after reading the state again: if it changed, nothing is sent and the error (kind conflict, exit_code 6) carries the new plan. Plans of tier change run when `[mcp] auto_approve` allows (default \"change\"); disruptive and destructive plans need a human's approval, asked through the client (MCP elicitation), or `approve: true` where `[mcp] auto_approve` allows that tier. Returns the report, as the CLI command's -o json."
    ),
];

/// The tool named `name`.
pub fn find(name: &str) -> Option<&'static ToolSpec> {
    TOOLS.iter().find(|t| t.name == name)
}

/// The tools as MCP lists them.
pub fn listed() -> Vec<rmcp::model::Tool> {
    TOOLS
        .iter()
        .map(|t| {
            // Reads and plans change nothing; only `apply` may, and what it applies may destroy.
            let applies = t.kind == ToolKind::Apply;
            let notes = rmcp::model::ToolAnnotations::new().read_only(!applies).destructive(applies);
            rmcp::model::Tool::new(t.name, t.description(), (t.schema)()).annotate(notes)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_command_path_and_say_their_tier() {
        for t in TOOLS {
            let path = t.command.join("_");
            let expected = match t.kind {
                ToolKind::Read => path,
                ToolKind::Plan => format!("plan_{path}"),
                ToolKind::Apply => "apply".into(),
            };
            assert_eq!(t.name, expected);
            let d = t.description();
            assert!(d.starts_with("Tier: "), "{d}");
            if let Some(tier) = t.tier {
                assert!(d.starts_with(&format!("Tier: {tier}")), "{d}");
            }
            assert_eq!(find(t.name).map(|f| f.name), Some(t.name), "names are unique");
            let schema = (t.schema)();
            assert_eq!(schema.get("type").and_then(|v| v.as_str()), Some("object"), "{}", t.name);
        }
        assert_eq!(TOOLS.iter().filter(|t| t.name == "guest_list").count(), 1);
    }

    #[test]
    fn every_command_path_is_a_cli_command() {
        use clap::CommandFactory as _;
        let cli = crate::cli::Cli::command();
        for t in TOOLS.iter().filter(|t| !t.command.is_empty()) {
            let mut cmd = &cli;
            for w in t.command {
                cmd = cmd.find_subcommand(w).unwrap_or_else(|| panic!("{}: `pvectl {}` is not a command", t.name, t.command.join(" ")));
            }
        }
    }

    /// The tools, the CLI's command catalog (`pvectl schema`) and clap cannot drift: every
    /// tool mirrors a catalogued command of the same tier, and a plan tool's command mutates.
    #[test]
    fn every_tool_matches_its_catalog_entry_and_tier() {
        let catalog = crate::cli::catalog::catalog();
        for t in TOOLS.iter().filter(|t| !t.command.is_empty()) {
            let entry = catalog
                .iter()
                .find(|c| c.path.iter().map(String::as_str).eq(t.command.iter().copied()))
                .unwrap_or_else(|| panic!("{}: `pvectl {}` has no catalog entry", t.name, t.command.join(" ")));
            assert_eq!(Some(entry.tier), t.tier, "{}: tier of the tool and of `pvectl schema` differ", t.name);
            assert_eq!(entry.mutates, matches!(t.kind, ToolKind::Plan), "{}: plan tools are exactly the mutating commands", t.name);
        }
    }
}
