//! The MCP tools in one table ([`TOOLS`]): each tool's name, the CLI command it mirrors (as
//! words, so a test can check the tools against the CLI's commands), its tier, what it does,
//! and the type whose JSON Schema (schemars) is its input schema. Reads return the same JSON
//! as the CLI command's `-o json`; `plan_<action>` tools return a plan and `apply` runs one.
//!
//! The argument types reject unknown fields: a misspelt option is an error, never ignored.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::backend::Tier;
use crate::error::{Error, Result};
use crate::model::{GuestKind, NodeName, StorageId, Upid, Vmid};

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
            let read = t.kind == ToolKind::Read;
            let destructive = t.tier.is_none_or(|tier| tier >= Tier::Destructive);
            let notes = rmcp::model::ToolAnnotations::new().read_only(read || t.kind == ToolKind::Plan).destructive(!read && destructive);
            rmcp::model::Tool::new(t.name, t.description(), (t.schema)()).annotate(notes)
        })
        .collect()
}

/// Parses a tool's arguments (`None` = `{}`).
///
/// # Errors
/// `Usage` naming the tool when they do not fit its schema (unknown or mistyped fields).
pub fn args<T: for<'de> Deserialize<'de>>(tool: &str, v: &serde_json::Value) -> Result<T> {
    serde_json::from_value(v.clone()).map_err(|e| Error::Usage(format!("invalid arguments for {tool}: {e}")))
}

/// The kind of a guest.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum KindArg {
    /// A qemu VM.
    Qemu,
    /// An lxc container.
    Lxc,
}

impl From<KindArg> for GuestKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Qemu => Self::Qemu,
            KindArg::Lxc => Self::Lxc,
        }
    }
}

fn parse<T: std::str::FromStr>(what: &str, s: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| Error::Usage(format!("invalid {what} {:?}: {e}", crate::model::clip(s, 80))))
}

/// `vmid` as the model's type.
pub(crate) fn vmid(v: u32) -> Result<Vmid> {
    parse("vmid", &v.to_string())
}

/// An optional node name.
pub(crate) fn node(n: Option<&str>) -> Result<Option<NodeName>> {
    n.map(|n| parse("node name", n)).transpose()
}

/// No arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// Filters of `guest_list` (all optional; given ones must all match).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuestListArgs {
    /// Only guests on this node.
    pub node: Option<String>,
    /// Only this kind.
    pub kind: Option<KindArg>,
    /// Only guests with this status (`running`, `stopped`, ...).
    pub status: Option<String>,
    /// Only guests carrying this tag.
    pub tag: Option<String>,
    /// Only guests in this pool.
    pub pool: Option<String>,
}

/// One guest, by vmid; `node` with `kind` skips the discovery read.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuestArgs {
    /// The guest's vmid (100-999999999).
    pub vmid: u32,
    /// The node it is on, when known.
    pub node: Option<String>,
    /// Its kind, when known.
    pub kind: Option<KindArg>,
}

/// One guest by vmid.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VmidArgs {
    /// The guest's vmid.
    pub vmid: u32,
}

/// `plan_guest_shutdown`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShutdownArgs {
    /// The guest's vmid.
    pub vmid: u32,
    /// The node it is on, when known.
    pub node: Option<String>,
    /// Its kind, when known.
    pub kind: Option<KindArg>,
    /// Seconds the guest has to shut down (PVE's `timeout`).
    pub timeout: Option<u64>,
    /// Stop it when the timeout passes (PVE's `forceStop`).
    #[serde(default)]
    pub force_stop: bool,
}

/// An optional node.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeArgs {
    /// Only this node.
    pub node: Option<String>,
}

/// One node.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeNameArgs {
    /// The node's name.
    pub node: String,
}

/// One task.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpidArgs {
    /// The task's UPID (`UPID:node:pid:pstart:starttime:type:id:user:`).
    pub upid: String,
}

/// `task_log`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskLogArgs {
    /// The task's UPID.
    pub upid: String,
    /// First line, 0-based (default 0).
    #[serde(default)]
    pub start: u64,
    /// Most lines (default 500).
    pub limit: Option<u64>,
}

/// Filters of `backup_list`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupListArgs {
    /// Only this storage.
    pub storage: Option<String>,
    /// Only storages seen from this node.
    pub node: Option<String>,
    /// Only backups of this guest.
    pub vmid: Option<u32>,
    /// Only this kind.
    pub kind: Option<KindArg>,
}

/// The check sets.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckSetArg {
    /// Quorum, offline nodes, HA resources in error.
    Cluster,
    /// CPU, memory, swap, root fs and load of every online node.
    Nodes,
    /// Guests expected running but not, locked guests, memory, silent agents.
    Guests,
    /// Storage usage and inactive storages.
    Storage,
    /// Guests without a backup job, old backups.
    Backups,
    /// Failed tasks.
    Tasks,
    /// Every set.
    All,
}

impl From<CheckSetArg> for crate::checks::CheckSet {
    fn from(s: CheckSetArg) -> Self {
        match s {
            CheckSetArg::Cluster => Self::Cluster,
            CheckSetArg::Nodes => Self::Nodes,
            CheckSetArg::Guests => Self::Guests,
            CheckSetArg::Storage => Self::Storage,
            CheckSetArg::Backups => Self::Backups,
            CheckSetArg::Tasks => Self::Tasks,
            CheckSetArg::All => Self::All,
        }
    }
}

/// `check`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckArgs {
    /// The check set (default `all`).
    pub set: Option<CheckSetArg>,
}

/// `plan_snapshot_create`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotCreateArgs {
    /// The guest's vmid.
    pub vmid: u32,
    /// The snapshot's name (PVE's rules: a letter, then letters, digits, `-`, `_`).
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Include the RAM state (qemu; freezes the guest while it is saved).
    #[serde(default)]
    pub vmstate: bool,
    /// The node the guest is on, when known.
    pub node: Option<String>,
    /// Its kind, when known.
    pub kind: Option<KindArg>,
}

/// `plan_snapshot_delete`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotNameArgs {
    /// The guest's vmid.
    pub vmid: u32,
    /// The snapshot's name.
    pub name: String,
    /// The node the guest is on, when known.
    pub node: Option<String>,
    /// Its kind, when known.
    pub kind: Option<KindArg>,
}

/// `plan_snapshot_rollback`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotRollbackArgs {
    /// The guest's vmid.
    pub vmid: u32,
    /// The snapshot's name.
    pub name: String,
    /// Start the guest after the rollback.
    #[serde(default)]
    pub start: bool,
    /// The node the guest is on, when known.
    pub node: Option<String>,
    /// Its kind, when known.
    pub kind: Option<KindArg>,
}

/// vzdump's modes.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BackupModeArg {
    /// Live, from a snapshot.
    Snapshot,
    /// Suspend the guest while copying.
    Suspend,
    /// Stop the guest while copying.
    Stop,
}

/// vzdump's compressors.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CompressArg {
    /// zstd.
    Zstd,
    /// lzo.
    Lzo,
    /// gzip.
    Gzip,
    /// No compression.
    None,
}

/// `plan_backup_create`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupCreateArgs {
    /// The guests' vmids (at least one).
    pub vmids: Vec<u32>,
    /// Target storage (one with `backup` content).
    pub storage: Option<String>,
    /// vzdump's mode.
    pub mode: Option<BackupModeArg>,
    /// vzdump's compressor.
    pub compress: Option<CompressArg>,
    /// Notes template (`{{guestname}}`, ...).
    pub notes: Option<String>,
    /// Protect the backup from pruning and deletion.
    #[serde(default)]
    pub protected: bool,
}

/// `apply`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyArgs {
    /// The digest of a plan returned by a plan_* tool in this session.
    pub digest: String,
    /// Consent to a disruptive or destructive plan when the client cannot ask a human
    /// (no elicitation): honoured only where `[mcp] auto_approve` allows the plan's tier.
    #[serde(default)]
    pub approve: bool,
}

/// Parses an optional storage id.
pub(crate) fn storage(s: Option<&str>) -> Result<Option<StorageId>> {
    s.map(|s| parse("storage", s)).transpose()
}

/// Parses a UPID.
pub(crate) fn upid(s: &str) -> Result<Upid> {
    parse("UPID", s)
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

    #[test]
    fn unknown_or_mistyped_arguments_are_usage_errors() {
        let ok: GuestArgs = args("guest_status", &serde_json::json!({"vmid": 100})).expect("fits");
        assert_eq!(ok.vmid, 100);
        for bad in [serde_json::json!({"vmid": 100, "force": true}), serde_json::json!({"vmid": "x"}), serde_json::json!({})] {
            assert!(matches!(args::<GuestArgs>("guest_status", &bad), Err(Error::Usage(_))), "{bad}");
        }
        assert!(matches!(vmid(5), Err(Error::Usage(_))), "vmids start at 100");
    }
}
