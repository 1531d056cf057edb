//! `pvectl mcp`: a Model Context Protocol server over stdio (the official Rust SDK, `rmcp`), the
//! agents' face of the same library calls the CLI makes (DESIGN.md §1, §4).
//!
//! One tool per read and one `plan_<action>` per action ([`tools::TOOLS`]); actions take two
//! steps, plan then `apply` by digest, with consent from a human (MCP elicitation) or from the
//! config file's `[mcp] auto_approve` ([`consent`]). Policy and the audit log (face `mcp`, the
//! client's name) apply as for the CLI: every change passes the same `Guarded` backend.

mod actions;
pub mod args;
pub mod consent;
pub mod plans;
mod reads;
mod server;
pub mod tools;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use rmcp::ServiceExt as _;

pub use actions::action;
pub use consent::McpSettings;
pub use reads::read;
pub use server::PvectlMcp;

use crate::backend::Backend;
use crate::checks::Thresholds;
use crate::error::{Error, Result};
use crate::safety::{AuditLog, PolicyRules};

/// Everything a session needs besides the backend.
#[derive(Debug)]
pub struct McpOptions {
    /// The target's policy rules.
    pub rules: PolicyRules,
    /// The audit log; the server writes it as face `mcp` with the client's name.
    pub audit: AuditLog,
    /// `[mcp]` of the config file.
    pub settings: McpSettings,
    /// `check`'s thresholds.
    pub thresholds: Thresholds,
    /// Deadline of one read tool call.
    pub read_timeout: Duration,
    /// Deadline of one `plan_*` or `apply` call (the wait for the task included).
    pub action_timeout: Duration,
}

/// Serves MCP on stdin/stdout until the client closes the session, then closes the backend.
/// Nothing else may write to stdout meanwhile: diagnostics go to stderr. When `interrupted`
/// resolves first (with a signal number), the changes still open are recorded in the audit
/// log as `unknown` and the session ends at once.
///
/// # Errors
/// `Transport` when the client does not complete the handshake; `Internal` when the worker
/// cannot start or the session breaks; the backend's error on close. Interrupted: an unknown
/// outcome (8) with the UPID when a change was sent, else `Interrupted` (128 + signal).
pub async fn serve(backend: Arc<dyn Backend>, opts: McpOptions, interrupted: impl Future<Output = i32>) -> Result<()> {
    let in_flight = worker::InFlight::default();
    let core = worker::Core {
        backend,
        rules: opts.rules,
        audit: opts.audit.with_face("mcp"),
        thresholds: opts.thresholds,
        read_timeout: opts.read_timeout,
        action_timeout: opts.action_timeout,
        in_flight: in_flight.clone(),
    };
    let (worker, thread) = worker::Worker::start(core)?;
    let server = PvectlMcp::new(worker.clone(), opts.settings);
    let session = async {
        match server.serve(rmcp::transport::stdio_pipes()).await {
            Ok(running) => running.waiting().await.map(drop).map_err(|e| Error::Internal(format!("the MCP session ended abnormally: {e}"))),
            Err(e) => Err(Error::Transport { message: format!("the MCP client did not start a session: {e}"), source: None }),
        }
    };
    let session = tokio::select! {
        r = session => r,
        signal = interrupted => {
            // The worker may be inside a call: record what it sent, then end without it.
            let open = in_flight.settle(&format!("interrupted by signal {signal}"));
            return Err(match open.first() {
                Some(c) => Error::OutcomeUnknown {
                    message: format!("interrupted by signal {signal} after {} was sent", c.action),
                    upid: c.upid.as_ref().map(ToString::to_string),
                    source: None,
                },
                None => Error::Interrupted { signal },
            });
        }
    };
    let closed = worker.run(worker::Job::Close).await.map(drop);
    drop(worker);
    if thread.join().is_err() {
        return Err(Error::Internal("the MCP worker thread panicked".into()));
    }
    session.and(closed)
}
