//! Exit codes of the `pvectl` binary, in one place (DESIGN.md §3). README.md and SKILL.md
//! repeat this table; `tests/cli` checks the codes the binary actually returns.

/// Success, also when there was nothing to change.
pub const OK: i32 = 0;
/// An unexpected internal error.
pub const INTERNAL: i32 = 1;
/// A usage error: bad arguments, invalid identifiers, parameters PVE rejected.
pub const USAGE: i32 = 2;
/// Confirmation required and no terminal to ask; nothing was changed.
pub const CONFIRMATION_REQUIRED: i32 = 3;
/// Authentication failed or permission denied.
pub const PERMISSION: i32 = 4;
/// Not found: guest, node, snapshot, storage, task.
pub const NOT_FOUND: i32 = 5;
/// Conflict: locked guest, wrong state, PVE refused before starting a task.
pub const CONFLICT: i32 = 6;
/// The task ran and failed.
pub const TASK_FAILED: i32 = 7;
/// The change was sent but its outcome is not known (deadline, interrupt, re-read failed);
/// the UPID, when known, is printed.
pub const TIMEOUT: i32 = 8;
/// Transport error: SSH, TLS, connection, or unparsable output.
pub const TRANSPORT: i32 = 9;
/// Refused by pvectl's policy (protection rule, config rules, audit log not writable).
pub const POLICY: i32 = 10;
