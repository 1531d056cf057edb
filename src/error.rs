//! The one error type. Its variants mean the same for every backend; the text of each
//! describes its own layer and the cause comes from `source()`.
//!
//! `pvesh`/`qm`/`pct` failures are mapped in [`crate::backend::command::classify_cli_error`],
//! HTTP answers in [`crate::backend::rest::classify_http`]: one function each, tested against
//! the real texts in `reference/ERRORS.md`, sharing one list of what PVE's texts mean.

use crate::exit_codes;

/// A boxed cause.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Result alias for pvectl.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every failure pvectl reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: arguments, identifiers, a combination the backend cannot do.
    #[error("{0}")]
    Usage(String),
    /// PVE rejected parameters (`400 Parameter verification failed.`): each parameter's message.
    #[error("{message}{}", fmt_params(.params))]
    InvalidParameter {
        /// PVE's headline.
        message: String,
        /// `(parameter, message)` pairs.
        params: Vec<(String, String)>,
    },
    /// The operation does not exist for this backend or mode (e.g. `api get` with `--tools qm-pct`).
    #[error("{operation} is not available {reason}")]
    Unsupported {
        /// What was asked.
        operation: String,
        /// Why not, reading after "is not available".
        reason: String,
    },
    /// Authentication failed, or permission denied (`403 Permission check failed (...)`).
    #[error("{0}")]
    PermissionDenied(String),
    /// The guest, node, snapshot, storage, task or path does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The object is locked or in the wrong state (`VM is locked (backup)`).
    #[error("{0}")]
    Conflict(String),
    /// A gated action without `--yes` and without a terminal to ask (or the answer was not
    /// `yes`): nothing was changed; the plan has been printed.
    #[error("{0}")]
    ConfirmationRequired(String),
    /// A task ended with an error exit status.
    #[error("{} failed: {message}{}", task_name(.upid), fmt_tail(.log_tail))]
    TaskFailed {
        /// The task (empty when the tool printed no UPID, as `qm`/`pct`).
        upid: String,
        /// PVE's exit status text.
        message: String,
        /// The last task-log lines.
        log_tail: Vec<String>,
    },
    /// A wait passed its deadline.
    #[error("timed out after {seconds} s waiting for {what}{}", .upid.as_ref().map(|u| format!("; resume with: pvectl task wait {u}")).unwrap_or_default())]
    Timeout {
        /// What was awaited.
        what: String,
        /// The deadline, seconds.
        seconds: u64,
        /// The task still running, when known.
        upid: Option<String>,
    },
    /// Could not reach or talk to the target (SSH, process spawn, connection).
    #[error("{message}")]
    Transport {
        /// This layer's description.
        message: String,
        /// The cause.
        #[source]
        source: Option<BoxError>,
    },
    /// A tool was killed by a signal (OOM killer, an admin, a crash): exit 9. Sent as part of
    /// a mutation, the engine reports it as an unknown outcome instead (exit 8).
    #[error("{program} was killed by signal {signal}")]
    ToolKilled {
        /// The program.
        program: String,
        /// The signal number.
        signal: i32,
    },
    /// A change was sent but its outcome is not known: the deadline passed while it ran, the
    /// status could not be read, the run was interrupted, the connection died. Exit 8; the
    /// UPID, when known, lets `task wait` resume.
    #[error("{message}{}", .upid.as_ref().map_or_else(|| "; the change was sent: re-read the guest before retrying".into(), |u| format!("; the change was sent as task {u}: resume with `pvectl task wait {u}`")))]
    OutcomeUnknown {
        /// What happened, reading as a sentence fragment.
        message: String,
        /// The task, when known.
        upid: Option<String>,
        /// The cause.
        #[source]
        source: Option<BoxError>,
    },
    /// The target answered with output that could not be parsed.
    #[error("could not parse {what}")]
    Parse {
        /// What was being parsed.
        what: String,
        /// The cause.
        #[source]
        source: Option<BoxError>,
    },
    /// PVE reported an error that none of the classes above covers.
    #[error("{0}")]
    Api(String),
    /// Refused by pvectl's own policy (the `protection` rule, a config rule, a tier ceiling,
    /// an audit log that cannot be written): nothing was sent. Exit 10.
    #[error("{0}")]
    Policy(String),
    /// The run was interrupted (SIGINT, SIGTERM, SIGHUP) before any change was sent.
    #[error("interrupted by signal {signal}; nothing was sent")]
    Interrupted {
        /// The signal number.
        signal: i32,
    },
    /// A bug or an unexpected local failure.
    #[error("{0}")]
    Internal(String),
}

/// The hint for a refusal because of PVE's `protection` flag: a setting, not a lock.
const PROTECTION_HINT: &str = "protection is a setting of the guest, not a lock: waiting will not help; if the change is meant, clear it with `pvectl guest set <vmid> --protection 0 --yes` (`pvectl guest config <vmid>` shows it)";

/// `task UPID`, or `the task` when the tool printed no UPID (`qm`/`pct` in the foreground).
fn task_name(upid: &str) -> String {
    if upid.is_empty() { "the task".to_owned() } else { format!("task {upid}") }
}

fn fmt_tail(lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut s = String::from("\nlast task-log lines:");
    for l in lines {
        s.push_str("\n  ");
        s.push_str(l);
    }
    s
}

fn fmt_params(params: &[(String, String)]) -> String {
    params.iter().flat_map(|(k, v)| ["\n", k.as_str(), ": ", v.as_str()]).collect()
}

impl Error {
    /// A transport error with a cause.
    pub fn transport(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Transport { message: message.into(), source: Some(source.into()) }
    }

    /// A parse error with a cause.
    pub fn parse(what: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Parse { what: what.into(), source: Some(source.into()) }
    }

    /// Short machine-readable kind, used as `error.kind` in JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Usage(_) => "usage",
            Self::InvalidParameter { .. } => "invalid_parameter",
            Self::Unsupported { .. } => "unsupported",
            Self::PermissionDenied(_) => "permission_denied",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::ConfirmationRequired(_) => "confirmation_required",
            Self::TaskFailed { .. } => "task_failed",
            Self::Timeout { .. } => "timeout",
            Self::Transport { .. } => "transport",
            Self::ToolKilled { .. } => "tool_killed",
            Self::OutcomeUnknown { .. } => "outcome_unknown",
            Self::Parse { .. } => "parse",
            Self::Api(_) => "api",
            Self::Policy(_) => "policy",
            Self::Interrupted { .. } => "interrupted",
            Self::Internal(_) => "internal",
        }
    }

    /// The process exit code for this error (one exhaustive match; DESIGN.md §3).
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Usage(_) | Self::InvalidParameter { .. } | Self::Unsupported { .. } => exit_codes::USAGE,
            Self::PermissionDenied(_) => exit_codes::PERMISSION,
            Self::NotFound(_) => exit_codes::NOT_FOUND,
            Self::Conflict(_) => exit_codes::CONFLICT,
            Self::ConfirmationRequired(_) => exit_codes::CONFIRMATION_REQUIRED,
            Self::TaskFailed { .. } => exit_codes::TASK_FAILED,
            Self::Timeout { .. } | Self::OutcomeUnknown { .. } => exit_codes::TIMEOUT,
            Self::Transport { .. } | Self::Parse { .. } | Self::ToolKilled { .. } => exit_codes::TRANSPORT,
            Self::Policy(_) => exit_codes::POLICY,
            Self::Interrupted { signal } => 128 + signal,
            Self::Api(_) | Self::Internal(_) => exit_codes::INTERNAL,
        }
    }

    /// A hint for the user, where one helps.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Self::PermissionDenied(_) => Some("check the user's or token's privileges on that path (pveum acl list)"),
            Self::NotFound(m) if m.contains("in PVE's API schema") => Some("list a path's children with `pvectl api ls <path>`"),
            // The thing that is missing decides where to look (texts: reference/ERRORS.md).
            Self::NotFound(m) if m.contains("No such file or directory") => {
                Some("the path inside the guest does not exist: look with `pvectl guest exec <vmid> -- ls <dir>`")
            }
            Self::NotFound(m) if m.contains("snapshot") => Some("list the guest's snapshots with `pvectl snapshot list <vmid>`"),
            Self::NotFound(m) if m.contains("no such task") || m.contains("upid") || m.starts_with("task ") => {
                Some("list recent tasks with `pvectl task list` (a UPID names its node: the task must be on it)")
            }
            Self::NotFound(m) if m.starts_with("storage") => Some("list the storages with `pvectl storage list`"),
            Self::NotFound(m) if m.starts_with("backup") => Some("list the backups with `pvectl backup list`"),
            Self::NotFound(m) if m.starts_with("pool") => Some("list the pools with `pvectl pool list`"),
            Self::NotFound(m) if m.starts_with("node") => Some("list the nodes with `pvectl node list`"),
            Self::NotFound(_) => Some("list what exists with `pvectl guest list` or `pvectl node list`"),
            Self::Conflict(m) if m.contains("guest agent is not running") => {
                Some("the agent answers only while qemu-guest-agent runs inside the guest: install and start it there")
            }
            Self::Conflict(m) if m.contains("No QEMU guest agent configured") => {
                Some("enable the agent: `pvectl guest set <vmid> agent=1 --yes`, restart the guest, and run qemu-guest-agent inside it")
            }
            Self::Conflict(m) if m.ends_with("is not running") || m.contains("not running!") => {
                Some("start the guest first: `pvectl guest start <vmid>`")
            }
            Self::Conflict(m) if m.contains(" is listed ") => {
                Some("the cluster lists that vmid twice: check `pvectl cluster resources --type vm`")
            }
            Self::Conflict(m) if m.contains("protection") => Some(PROTECTION_HINT),
            Self::Conflict(m) if m.contains("is locked (") => Some(
                "a task or a stale lock holds the guest: `pvectl guest diagnose <vmid>` names it; `pvectl task wait <upid>` waits for the task, `pvectl guest unlock <vmid>` clears a stale lock",
            ),
            Self::Conflict(_) => {
                Some("the guest's state or lock forbids it now: check `pvectl guest status <vmid>` (a running task may still hold it)")
            }
            Self::Transport { message, .. } if message.starts_with("node(s) offline") => {
                Some("a cluster node is down or cut off: `pvectl check cluster` shows which; reads of its guests fail until it is back")
            }
            Self::Transport { .. } => Some(
                "for ssh:// check the target with `ssh` directly (host keys are checked strictly, see --accept-new-host-key); for https:// check host, port (8006) and the TLS options (--fingerprint, --ca-file)",
            ),
            Self::Unsupported { .. } => Some("use the default --tools pvesh where the host allows it"),
            Self::ConfirmationRequired(_) => Some("review the plan, then re-run with --yes (or answer yes at a terminal)"),
            Self::Timeout { .. } => Some("the task may still be running: `pvectl task wait <upid>` resumes waiting"),
            Self::OutcomeUnknown { .. } => Some("do not repeat the change blindly: `pvectl task wait <upid>` or re-read the guest"),
            Self::Policy(m) if m.contains("audit") => Some(
                "check the audit log (PVECTL_AUDIT_LOG): its directory must be writable, the file 0600; `pvectl audit verify` checks the chain",
            ),
            Self::Policy(m) if m.contains("protection flag") => Some(PROTECTION_HINT),
            Self::Policy(_) => Some("see the effective rules with `pvectl policy show`"),
            _ => None,
        }
    }
}

impl From<crate::model::IdError> for Error {
    fn from(e: crate::model::IdError) -> Self {
        Self::Usage(e.to_string())
    }
}

impl From<crate::model::UpidError> for Error {
    fn from(e: crate::model::UpidError) -> Self {
        Self::Usage(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn hints_fit_the_cause() {
        // PVE's texts (reference/ERRORS.md; qemu-server's `check_protection`).
        let protected = Error::Conflict("can't remove VM 101 - protection mode enabled".into()).hint().expect("a hint");
        assert!(protected.contains("not a lock") && !protected.contains("task wait"), "{protected}");
        let locked = Error::Conflict("VM is locked (backup)".into()).hint().expect("a hint");
        assert!(locked.contains("task wait") && locked.contains("unlock"), "{locked}");
        let snap = Error::NotFound("snapshot 'pre' does not exist".into()).hint().expect("a hint");
        assert!(snap.contains("pvectl snapshot list"), "{snap}");
        let task = Error::NotFound("upid: no such task".into()).hint().expect("a hint");
        assert!(task.contains("pvectl task list"), "{task}");
        let policy = Error::Policy("stop is destructive and guest 101 has PVE's protection flag set".into()).hint().expect("a hint");
        assert!(policy.contains("not a lock") && policy.contains("--protection 0"), "{policy}");
    }
}
