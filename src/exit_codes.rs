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

/// Every exit code with its kind and meaning, in order: what `pvectl schema` prints (README.md
/// and SKILL.md repeat it). The codes after which nothing was sent say so.
pub const ALL: [(i32, &str, &str); 11] = [
    (OK, "ok", "success, also when there was nothing to change"),
    (INTERNAL, "internal", "an unexpected internal error"),
    (USAGE, "usage", "bad arguments, invalid identifiers, parameters PVE rejected; nothing was sent"),
    (
        CONFIRMATION_REQUIRED,
        "confirmation_required",
        "a gated action without --yes and no terminal to ask; the plan is printed, nothing was sent",
    ),
    (PERMISSION, "permission", "authentication failed or permission denied; nothing was sent"),
    (NOT_FOUND, "not_found", "guest, node, snapshot, storage, backup, task or API path not found; nothing was sent"),
    (CONFLICT, "conflict", "guest locked, wrong state, or PVE refused before starting a task; nothing was sent"),
    (TASK_FAILED, "task_failed", "the task ran and failed"),
    (
        TIMEOUT,
        "outcome_unknown",
        "the change was sent but its outcome is not known yet (deadline, interrupt, re-read failed); the UPID is printed when known",
    ),
    (TRANSPORT, "transport", "SSH, TLS, connection, offline node (595), or unparsable output; nothing was sent"),
    (POLICY, "policy", "refused by pvectl's policy (protection, config rules, audit log not writable); nothing was sent"),
];

/// How severe an exit code is when several parts of one run (a fleet's targets, a selector's
/// guests) end differently; the run exits with the most severe part's code. Most severe first:
/// 1 (a bug) > 8 (a change's outcome unknown) > 7 (a task failed) > 9 (transport) >
/// 4 (permission) > 10 (policy) > 6 (conflict) > 5 (not found) > 3 (confirmation) >
/// 2 (usage) > 0. An interrupt (128 + n) outranks them all.
pub fn severity(code: i32) -> u8 {
    match code {
        OK => 0,
        USAGE => 1,
        CONFIRMATION_REQUIRED => 2,
        NOT_FOUND => 3,
        CONFLICT => 4,
        POLICY => 5,
        PERMISSION => 6,
        TRANSPORT => 7,
        TASK_FAILED => 8,
        TIMEOUT => 9,
        INTERNAL => 10,
        _ => 11,
    }
}

/// The most severe of `codes` ([`severity`]); 0 for none.
pub fn most_severe(codes: impl IntoIterator<Item = i32>) -> i32 {
    codes.into_iter().max_by_key(|c| severity(*c)).unwrap_or(OK)
}

/// The exit code of a run of several parts, each `(code, sent)` where `sent` says the part
/// sent a change. The most severe part's code, except that the codes that promise "nothing
/// was sent" (2, 3, 4, 5, 6, 9, 10) are never the whole run's code once any part sent a
/// change: then the run exits 8 (a change was sent and the whole outcome is partial: read each
/// part's result, do not repeat blindly). The no-change guarantee holds for the whole run.
pub fn combined(parts: impl IntoIterator<Item = (i32, bool)>) -> i32 {
    let parts: Vec<(i32, bool)> = parts.into_iter().collect();
    let code = most_severe(parts.iter().map(|(c, _)| *c));
    let any_sent = parts.iter().any(|(_, sent)| *sent);
    if any_sent && matches!(code, USAGE | CONFIRMATION_REQUIRED | PERMISSION | NOT_FOUND | CONFLICT | TRANSPORT | POLICY) {
        TIMEOUT
    } else {
        code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_follows_the_documented_order() {
        let order = [INTERNAL, TIMEOUT, TASK_FAILED, TRANSPORT, PERMISSION, POLICY, CONFLICT, NOT_FOUND, CONFIRMATION_REQUIRED, USAGE, OK];
        assert!(order.windows(2).all(|w| severity(w[0]) > severity(w[1])));
        assert_eq!(most_severe([OK, TRANSPORT, NOT_FOUND]), TRANSPORT);
        assert_eq!(most_severe([USAGE, TIMEOUT, TRANSPORT]), TIMEOUT);
        assert_eq!(most_severe([]), OK);
    }

    #[test]
    fn the_table_lists_every_code_once_and_says_which_promise_nothing_was_sent() {
        let codes: Vec<i32> = ALL.iter().map(|c| c.0).collect();
        assert_eq!(codes, (0..=10).collect::<Vec<_>>());
        for (code, _, meaning) in ALL {
            let promise = combined([(code, true)]) != code;
            assert_eq!(promise, meaning.ends_with("nothing was sent"), "{code}: {meaning}");
        }
    }

    #[test]
    fn a_run_that_sent_something_never_claims_nothing_was_sent() {
        assert_eq!(combined([(OK, true), (POLICY, false)]), TIMEOUT, "one guest stopped, one refused");
        assert_eq!(combined([(OK, false), (POLICY, false)]), POLICY, "nothing sent anywhere");
        assert_eq!(combined([(TASK_FAILED, true), (CONFLICT, false)]), TASK_FAILED);
        assert_eq!(combined([(OK, true), (OK, true)]), OK);
    }
}
