//! The library calls behind the MCP tools, run on one worker thread with its own
//! single-threaded runtime: the engine's futures need not be `Send` (the MCP service runs its
//! handlers on tasks that must be), and tool calls reach the target one at a time.
//!
//! Each job gets its own deadline ([`Deadlined`]) and its own [`Guarded`] wrapper over the one
//! backend opened for the session, as one CLI run does: policy decides, the audit log (face
//! `mcp`, the client's name) records, and whatever is still open when the job ends is recorded
//! as `unknown`.

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::actions::action;
use super::reads::read;
use super::tools::ToolSpec;
use crate::backend::{Backend, Deadlined};
use crate::checks::Thresholds;
use crate::error::{Error, Result};
use crate::safety::{Asker, AuditLog, Gate, Guarded, PolicyRules};
use crate::workflow::{Action, Ctx, Deadline, Outcome, Plan, Report, engine};

/// Slack added to a shutdown's own `timeout` for the job's deadline (PVE may stop the guest
/// after it), as for `pvectl guest shutdown --timeout`.
const SHUTDOWN_SLACK: u64 = 60;

/// What the worker needs for the whole session.
#[derive(Debug)]
pub struct Core {
    /// The target, opened once.
    pub backend: Arc<dyn Backend>,
    /// The policy rules of the target.
    pub rules: PolicyRules,
    /// The audit log, face `mcp`.
    pub audit: AuditLog,
    /// `check`'s thresholds (defaults, then the config file's `[checks]`).
    pub thresholds: Thresholds,
    /// Deadline of one read.
    pub read_timeout: Duration,
    /// Deadline of one action (`plan_*` and `apply`), unless the action says more.
    pub action_timeout: Duration,
    /// The running job's guarded backend, for [`InFlight::settle`] at an interrupt.
    pub in_flight: InFlight,
}

/// The guarded backend of the job running now, shared with the session so an interrupt can
/// record the changes it left open (as `unknown`) before the process ends.
#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<Mutex<Option<Arc<Guarded>>>>);

impl InFlight {
    fn set(&self, g: Option<Arc<Guarded>>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = g;
    }

    /// Records every change of the running job that is still open as `unknown` with `why`, and
    /// returns them.
    pub fn settle(&self, why: &str) -> Vec<crate::safety::OpenChange> {
        let g = self.0.lock().unwrap_or_else(PoisonError::into_inner).clone();
        g.map(|g| g.settle_open(why)).unwrap_or_default()
    }
}

/// One tool call for the worker.
#[derive(Debug)]
pub enum Job {
    /// A read tool.
    Read {
        /// The tool.
        tool: &'static ToolSpec,
        /// Its arguments.
        args: Value,
    },
    /// Prepare a `plan_*` tool's action and make its plan.
    Plan {
        /// The tool.
        tool: &'static ToolSpec,
        /// Its arguments.
        args: Value,
        /// The MCP client's name, for the audit log (refusals are recorded).
        client: String,
    },
    /// Prepare again and, if the digest is still `digest`, apply.
    Apply {
        /// The `plan_*` tool.
        tool: &'static ToolSpec,
        /// Its arguments.
        args: Value,
        /// The digest consent was given for.
        digest: String,
        /// The MCP client's name, for the audit log.
        client: String,
    },
    /// Close the backend and end the worker.
    Close,
}

/// What preparing found.
#[derive(Debug)]
pub enum Planned {
    /// The plan and its one-line summary (`stop guest 100 (qemu) on pve1`).
    Plan(Box<Plan>, String),
    /// Nothing to do (`changed: false`).
    Noop(Box<Report>),
}

/// How a job ended.
#[derive(Debug)]
pub enum Done {
    /// A read's JSON text, exactly as `-o json` prints it.
    Text(String),
    /// A plan.
    Planned(Planned),
    /// The action ran: its report.
    Applied(Box<Report>),
    /// The action was sent and failed (7) or its outcome is unknown (8): the report and why.
    Incomplete(Box<Report>, Error),
    /// The state changed since the plan: nothing was sent; what preparing finds now.
    Conflict(Planned),
    /// The worker closed.
    Closed,
}

type Envelope = (Job, oneshot::Sender<Result<Done>>);

/// A handle on the worker thread; clones share it.
#[derive(Debug, Clone)]
pub struct Worker {
    tx: mpsc::UnboundedSender<Envelope>,
}

impl Worker {
    /// Starts the worker thread for `core`.
    ///
    /// # Errors
    /// `Internal` when the thread or its runtime cannot be started.
    pub fn start(core: Core) -> Result<(Self, std::thread::JoinHandle<()>)> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("failed to start the MCP worker's runtime: {e}")))?;
        let (tx, mut rx) = mpsc::unbounded_channel::<Envelope>();
        let thread = std::thread::Builder::new()
            .name("pvectl-mcp".into())
            .spawn(move || {
                rt.block_on(async move {
                    while let Some((job, reply)) = rx.recv().await {
                        if matches!(job, Job::Close) {
                            let closed = core.backend.close().await;
                            let _ = reply.send(closed.map(|()| Done::Closed));
                            break;
                        }
                        let _ = reply.send(core.run(job).await);
                    }
                });
            })
            .map_err(|e| Error::Internal(format!("failed to start the MCP worker thread: {e}")))?;
        Ok((Self { tx }, thread))
    }

    /// Runs `job` on the worker and waits for its result.
    ///
    /// # Errors
    /// The job's own errors; `Internal` when the worker has ended.
    pub async fn run(&self, job: Job) -> Result<Done> {
        let (reply, answer) = oneshot::channel();
        self.tx.send((job, reply)).map_err(|_| Error::Internal("the MCP worker has ended".into()))?;
        answer.await.map_err(|_| Error::Internal("the MCP worker ended during a tool call".into()))?
    }
}

impl Core {
    async fn run(&self, job: Job) -> Result<Done> {
        let (timeout, client) = match &job {
            Job::Read { .. } | Job::Close => (self.read_timeout, None),
            Job::Plan { tool, args, client } | Job::Apply { tool, args, client, .. } => {
                (action_timeout(tool, args, self.action_timeout), Some(client.as_str()))
            }
        };
        let timed: Arc<dyn Backend> = Arc::new(Deadlined::new(self.backend.clone(), timeout)?);
        let audit = client.map_or_else(|| self.audit.clone(), |c| self.audit.clone().with_client(c));
        let guarded = Arc::new(Guarded::new(timed, self.rules.clone(), audit));
        self.in_flight.set(Some(guarded.clone()));
        let guarded = guarded.as_ref();
        let result = match job {
            Job::Read { tool, args } => read(guarded, tool.name, &args, &self.thresholds).await.map(Done::Text),
            Job::Plan { tool, args, .. } => plan(guarded, tool.name, &args, timeout).await.map(Done::Planned),
            Job::Apply { tool, args, digest, .. } => apply(guarded, tool.name, &args, &digest, timeout).await,
            Job::Close => Ok(Done::Closed),
        };
        let open = guarded.settle_open("the tool call ended before the task did (deadline or an error)");
        self.in_flight.set(None);
        match (result, open.first()) {
            // An error after a change was sent must not claim that nothing was sent.
            (Err(e), Some(c)) if !matches!(e, Error::OutcomeUnknown { .. } | Error::TaskFailed { .. }) => Err(Error::OutcomeUnknown {
                message: format!("{} was sent", c.action),
                upid: c.upid.as_ref().map(ToString::to_string),
                source: Some(Box::new(e)),
            }),
            (r, _) => r,
        }
    }
}

/// An action's deadline: the session's, or a shutdown's own `timeout` plus slack.
fn action_timeout(tool: &ToolSpec, args: &Value, default: Duration) -> Duration {
    match (tool.name, args.get("timeout").and_then(Value::as_u64)) {
        ("plan_guest_shutdown", Some(t)) => Duration::from_secs(t.min(crate::backend::MAX_TIMEOUT_SECS) + SHUTDOWN_SLACK),
        _ => default,
    }
}

fn ctx<'a>(b: &'a Guarded, timeout: Duration, show: &'a dyn Fn(&Plan)) -> Ctx<'a> {
    // The gate is not used: consent is decided by the MCP server before `apply`.
    Ctx {
        backend: b,
        gate: Gate { yes: false, dry_run: true, asker: Asker::None },
        timeout,
        wait: true,
        progress: false,
        show_plan: show,
        joint: None,
    }
}

async fn prepare(b: &Guarded, action: &dyn Action, timeout: Duration) -> Result<ControlFlow<Report, (Plan, crate::workflow::Draft)>> {
    let show = |_: &Plan| {};
    engine::plan(&ctx(b, timeout, &show), action).await
}

async fn plan(b: &Guarded, tool: &str, v: &Value, timeout: Duration) -> Result<Planned> {
    let action = action(tool, v)?;
    Ok(match prepare(b, action.as_ref(), timeout).await? {
        ControlFlow::Break(report) => Planned::Noop(Box::new(report)),
        ControlFlow::Continue((plan, draft)) => {
            let summary = action.summary(&draft);
            Planned::Plan(Box::new(plan), summary)
        }
    })
}

async fn apply(b: &Guarded, tool: &str, v: &Value, digest: &str, timeout: Duration) -> Result<Done> {
    let deadline = Deadline::after(timeout);
    let action = action(tool, v)?;
    let planned = match prepare(b, action.as_ref(), timeout).await? {
        ControlFlow::Break(report) => return Ok(Done::Conflict(Planned::Noop(Box::new(report)))),
        ControlFlow::Continue((plan, draft)) if plan.digest != digest => {
            let summary = action.summary(&draft);
            return Ok(Done::Conflict(Planned::Plan(Box::new(plan), summary)));
        }
        ControlFlow::Continue(planned) => planned,
    };
    let show = |_: &Plan| {};
    match engine::apply(&ctx(b, timeout, &show), action.as_ref(), planned, &deadline).await? {
        Outcome::Done(r) => Ok(Done::Applied(Box::new(r))),
        Outcome::Incomplete(r, e) => Ok(Done::Incomplete(Box::new(r), e)),
        Outcome::Planned(_) | Outcome::Refused(..) => Err(Error::Internal("the engine's apply asked for consent again".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ApiBackend;
    use crate::backend::GuestFilter;
    use crate::backend::sim::{SimBackend, SimTransport};
    use crate::mcp::args;
    use crate::mcp::tools::{TOOLS, ToolKind};
    use crate::model::GuestRef;

    fn sim() -> Guarded {
        let sim: SimBackend = ApiBackend::new(SimTransport::demo());
        Guarded::new(Arc::new(sim), PolicyRules::default(), AuditLog::disabled())
    }

    /// Minimal arguments each tool accepts on the demo cluster.
    fn sample(name: &str) -> Value {
        match name {
            "guest_list" | "node_list" | "cluster_status" | "check" | "task_list" | "storage_list" | "backup_list" => serde_json::json!({}),
            "node_status" => serde_json::json!({"node": "pve1"}),
            "task_status" | "task_log" => serde_json::json!({"upid": "UPID:pve1:00001234:00005678:65000000:qmstart:100:root@pam:"}),
            "plan_snapshot_create" | "plan_snapshot_rollback" | "plan_snapshot_delete" => serde_json::json!({"vmid": 100, "name": "s1"}),
            "plan_backup_create" => serde_json::json!({"vmids": [100]}),
            "plan_guest_migrate" => serde_json::json!({"vmid": 100, "target": "pve2"}),
            "plan_backup_delete" => serde_json::json!({"volid": "local:backup/vzdump-qemu-100-2026_01_01-00_00_00.vma.zst"}),
            _ => serde_json::json!({"vmid": 100}),
        }
    }

    #[tokio::test]
    async fn every_tool_in_the_table_is_served() {
        let b = sim();
        for t in TOOLS {
            let v = sample(t.name);
            match t.kind {
                ToolKind::Read => match read(&b, t.name, &v, &Thresholds::default()).await {
                    // A made-up UPID may not exist; the tool is still served.
                    Ok(_) | Err(Error::NotFound(_)) => {}
                    Err(e) => panic!("{}: {e}", t.name),
                },
                ToolKind::Plan => {
                    action(t.name, &v).unwrap_or_else(|e| panic!("{}: {e}", t.name));
                }
                ToolKind::Apply => assert!(action(t.name, &v).is_err()),
            }
        }
    }

    #[tokio::test]
    async fn guest_list_is_the_cli_document() {
        let b = sim();
        let text = read(&b, "guest_list", &serde_json::json!({"kind": "qemu"}), &Thresholds::default()).await.expect("list");
        let guests = b.guests(&GuestFilter { kind: Some(crate::model::GuestKind::Qemu), ..GuestFilter::default() }).await.expect("guests");
        assert_eq!(text, serde_json::to_string_pretty(&guests).expect("json"));
        assert!(!guests.is_empty());
    }

    #[tokio::test]
    async fn policy_refuses_at_plan_time_as_for_the_cli() {
        let rules: PolicyRules = toml::from_str("protected_vmids = [100]").expect("rules");
        let sim: SimBackend = ApiBackend::new(SimTransport::demo());
        let b = Guarded::new(Arc::new(sim), rules, AuditLog::disabled());
        let e = plan(&b, "plan_guest_stop", &serde_json::json!({"vmid": 100}), Duration::from_secs(30)).await.expect_err("refused");
        assert_eq!((e.kind(), e.exit_code()), ("policy", crate::exit_codes::POLICY), "{e}");
        let e = apply(&b, "plan_guest_stop", &serde_json::json!({"vmid": 100}), "any", Duration::from_secs(30)).await.expect_err("refused");
        assert_eq!(e.exit_code(), crate::exit_codes::POLICY);
    }

    #[tokio::test]
    async fn a_plan_sends_nothing_and_apply_refuses_a_stale_digest() {
        let b = sim();
        let t = Duration::from_secs(30);
        let Planned::Plan(p, summary) = plan(&b, "plan_guest_stop", &serde_json::json!({"vmid": 100}), t).await.expect("plan") else {
            panic!("100 runs in the demo: a plan is expected")
        };
        assert_eq!(p.tier, crate::backend::Tier::Destructive);
        assert!(summary.contains("100"), "{summary}");
        let r = GuestRef { vmid: args::vmid(100).expect("vmid"), node: "pve1".parse().expect("node"), kind: crate::model::GuestKind::Qemu };
        assert_eq!(b.guest_status(&r).await.expect("status").status, "running");
        let stale = apply(&b, "plan_guest_stop", &serde_json::json!({"vmid": 100}), "0000", t).await.expect("apply");
        assert!(matches!(stale, Done::Conflict(Planned::Plan(ref fresh, _)) if fresh.digest == p.digest), "{stale:?}");
        assert_eq!(b.guest_status(&r).await.expect("status").status, "running", "nothing sent");
        let done = apply(&b, "plan_guest_stop", &serde_json::json!({"vmid": 100}), &p.digest, t).await.expect("apply");
        assert!(matches!(done, Done::Applied(ref r) if r.changed), "{done:?}");
        assert_eq!(b.guest_status(&r).await.expect("status").status, "stopped");
    }
}
