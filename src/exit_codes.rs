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

/// How severe an exit code is when several parts (guests, targets) end differently; the
/// command exits with its most severe part's code. From most to least severe:
/// 8 (outcome unknown: something was sent and needs a re-read), 7 (a task failed), 1 (a bug),
/// 9 (transport), 4 (permission), 10 (policy), 6 (conflict), 5 (not found),
/// 3 (confirmation required), 2 (usage), 0. Anything else (a signal's 128+n) ranks first.
///
/// In such a result the no-change guarantee holds per part, not for the whole: a part that
/// exits 6 sent nothing, while another part may have changed its guest (its own entry says).
pub fn severity(code: i32) -> u8 {
    match code {
        TIMEOUT => 10,
        TASK_FAILED => 9,
        INTERNAL => 8,
        TRANSPORT => 7,
        PERMISSION => 6,
        POLICY => 5,
        CONFLICT => 4,
        NOT_FOUND => 3,
        CONFIRMATION_REQUIRED => 2,
        USAGE => 1,
        OK => 0,
        _ => 11,
    }
}
