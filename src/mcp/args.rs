//! The MCP tools' argument types: their JSON Schemas (schemars) are the tools' input schemas,
//! and they reject unknown fields, so a misspelt option is an error, never ignored. Values are
//! turned into the model's validated types ([`vmid`], [`node`], ...) before anything runs.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::model::{GuestKind, NodeName, StorageId, Upid, Vmid};

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
    s.parse().map_err(|e: T::Err| {
        // The model's identifier errors already read `invalid <kind> '<value>': <reason>`.
        let m = e.to_string();
        let m = if m.starts_with("invalid ") { m } else { format!("invalid {what} {:?}: {m}", crate::model::clip(s, 80)) };
        Error::Usage(crate::model::clip(&m, 300))
    })
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

/// The check sets: the CLI's own [`crate::checks::CheckSet`], so a new set reaches the tool
/// schema by itself.
pub use crate::checks::CheckSet as CheckSetArg;

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

/// `plan_guest_migrate`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MigrateArgs {
    /// The guest's vmid.
    pub vmid: u32,
    /// The node to move it to.
    pub target: String,
    /// qemu: live-migrate a running VM.
    #[serde(default)]
    pub online: bool,
    /// qemu: also copy disks on local storage.
    #[serde(default)]
    pub with_local_disks: bool,
    /// Storage on the target for the local disks.
    pub target_storage: Option<String>,
    /// lxc: stop, move and start a running container.
    #[serde(default)]
    pub restart: bool,
}

/// `plan_guest_delete`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteArgs {
    /// The guest's vmid.
    pub vmid: u32,
    /// Also remove it from backup jobs, replication and HA (PVE's `purge`).
    #[serde(default)]
    pub purge: bool,
    /// Also destroy disks not referenced in its config (PVE's `destroy-unreferenced-disks`).
    #[serde(default)]
    pub destroy_unreferenced_disks: bool,
}

/// `plan_backup_delete`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupDeleteArgs {
    /// The backup's volid (`storage:backup/vzdump-...`), as `backup_list` gives it.
    pub volid: String,
    /// Clear the backup's protected flag first.
    #[serde(default)]
    pub force: bool,
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

    /// The `check` tool offers every set the CLI has, the check_pve-style ones included.
    #[test]
    fn the_check_tool_takes_every_cli_check_set() {
        use clap::ValueEnum as _;
        for set in crate::checks::CheckSet::value_variants() {
            let name = set.to_possible_value().expect("a name").get_name().to_owned();
            let a: CheckArgs = args("check", &serde_json::json!({ "set": name })).expect("a known set");
            assert_eq!(a.set, Some(*set), "{name}");
        }
        assert!(args::<CheckArgs>("check", &serde_json::json!({"set": "smart"})).is_err());
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
