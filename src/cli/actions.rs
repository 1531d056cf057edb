//! Mutating commands: power actions, snapshots, task wait/follow, raw writes. Each runs a
//! workflow over the guarded backend and prints its plan or report.

use std::fmt::Write as _;
use std::time::Duration;

use super::args::{ActArgs, ApiCmd, GuestCmd, Noun, OutputFormat, SnapshotCmd, TaskCmd};
use super::config::Config;
use super::output::{emit, print};
use crate::backend::{Method, PowerAction};
use crate::error::{Error, Result};
use crate::safety::{Asker, Gate, Guarded};
use crate::workflow::{
    Ctx, Deadline, Naming, Outcome, Plan, PowerOptions, Progress, Report, SnapshotOp, check_exit, follow_log, power, snapshot, wait_task,
};

/// Slack added to PVE's shutdown `timeout` for the wait deadline (a forced stop after it).
const SHUTDOWN_SLACK: u64 = 60;

/// Runs a mutating command (or `task wait` / `task log --follow`).
///
/// # Errors
/// The workflow's error; for task failures and timeouts the report is printed first.
pub(crate) async fn dispatch(cfg: &Config, b: &Guarded, cmd: Noun) -> Result<()> {
    let show = |p: &Plan| show_plan(cfg.output, p);
    let ctx = |wait: bool, timeout: Duration| Ctx {
        backend: b,
        gate: Gate { yes: cfg.yes, dry_run: cfg.dry_run, asker: Asker::detect() },
        timeout,
        wait,
        progress: cfg.progress,
        show_plan: &show,
    };
    match cmd {
        Noun::Guest(g) => {
            let (action, act, force_stop) = match g {
                GuestCmd::Start(a) => (PowerAction::Start, a, false),
                GuestCmd::Shutdown { act, force_stop } => (PowerAction::Shutdown, act, force_stop),
                GuestCmd::Reboot(a) => (PowerAction::Reboot, a, false),
                GuestCmd::Stop(a) => (PowerAction::Stop, a, false),
                GuestCmd::Reset(a) => (PowerAction::Reset, a, false),
                GuestCmd::Suspend(a) => (PowerAction::Suspend, a, false),
                GuestCmd::Resume(a) => (PowerAction::Resume, a, false),
                GuestCmd::List { .. } | GuestCmd::Status { .. } | GuestCmd::Config { .. } => {
                    return Err(Error::Internal("read command routed to the action handler".into()));
                }
            };
            let shutdown_timeout = if action == PowerAction::Shutdown { cfg.timeout_given } else { None };
            let timeout = shutdown_timeout.map_or(cfg.timeout, |t| Duration::from_secs(t + SHUTDOWN_SLACK));
            let opts = PowerOptions { node: act.at.node.clone(), kind: act.at.kind, shutdown_timeout, force_stop };
            finish(cfg, power(&ctx(!act.no_wait, timeout), act.vmid, action, &opts).await?)
        }
        Noun::Snapshot(s) => {
            let (act, op): (ActArgs, SnapshotOp) = match s {
                SnapshotCmd::Create { act, name, description, vmstate, change, prefix, template } => {
                    let name = match name {
                        Some(n) => n,
                        None => Naming { template, prefix }.generate(change.as_deref(), now())?,
                    };
                    (act, SnapshotOp::Create { name, description, vmstate })
                }
                SnapshotCmd::Rollback { act, name, start } => (act, SnapshotOp::Rollback { name, start }),
                SnapshotCmd::Delete { act, name } => (act, SnapshotOp::Delete { name }),
                SnapshotCmd::List { .. } => return Err(Error::Internal("read command routed to the action handler".into())),
            };
            finish(cfg, snapshot(&ctx(!act.no_wait, cfg.timeout), act.vmid, act.at.node.as_ref(), act.at.kind, op).await?)
        }
        Noun::Api(api) => {
            let (method, path, params) = match api {
                ApiCmd::Create { path, params } => (Method::Post, path, params),
                ApiCmd::Set { path, params } => (Method::Put, path, params),
                ApiCmd::Delete { path, params } => (Method::Delete, path, params),
                ApiCmd::Get { .. } => return Err(Error::Internal("read command routed to the action handler".into())),
            };
            let params = super::commands::parse_params(&params)?;
            let (outcome, value) = crate::workflow::api_write(&ctx(true, cfg.timeout), method, path, params).await?;
            if let (Outcome::Done(r), Some(v)) = (&outcome, value) {
                if r.task.is_none() {
                    // Not a task: the API's answer is the result.
                    return print(OutputFormat::Json, &v, |_| super::output::Table::default());
                }
            }
            finish(cfg, outcome)
        }
        Noun::Task(TaskCmd::Wait { upid }) => {
            let deadline = Deadline::after(cfg.timeout);
            let progress = Progress::new(cfg.progress, &format!("task {}", upid.task_type));
            let st = wait_task(b, &upid, &deadline, &progress).await?;
            print_json_or_lines(
                cfg.output,
                &st,
                &[
                    format!("upid: {}", st.upid),
                    format!("status: {}", st.status),
                    format!("exitstatus: {}", st.exitstatus.as_ref().map_or_else(|| "-".into(), crate::model::ExitStatus::as_text)),
                ],
            )?;
            match &st.exitstatus {
                Some(exit) => check_exit(b, &upid, exit).await,
                None => Ok(()),
            }
        }
        Noun::Task(TaskCmd::Log { upid, follow: true, .. }) => {
            let deadline = Deadline::after(cfg.timeout);
            let json = cfg.output == OutputFormat::Json;
            let st = follow_log(b, &upid, &deadline, |line| {
                if json { emit(&format!("{}\n", serde_json::json!({"t": line}))) } else { emit(&format!("{line}\n")) }
            })
            .await?;
            match &st.exitstatus {
                Some(exit) => check_exit(b, &upid, exit).await,
                None => Ok(()),
            }
        }
        _ => Err(Error::Internal("read command routed to the action handler".into())),
    }
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Prints a workflow's outcome and turns it into the command's result.
fn finish(cfg: &Config, outcome: Outcome) -> Result<()> {
    match outcome {
        Outcome::Done(r) => show_report(cfg.output, &r),
        Outcome::Planned(_) => Ok(()),
        Outcome::Refused(_, e) => Err(e),
        Outcome::Incomplete(r, e) => {
            show_report(cfg.output, &r)?;
            Err(e)
        }
    }
}

fn print_json_or_lines<T: serde::Serialize>(out: OutputFormat, data: &T, lines: &[String]) -> Result<()> {
    match out {
        OutputFormat::Json => print(out, data, |_| super::output::Table::default()),
        OutputFormat::Table => emit(&lines.iter().flat_map(|l| [l.as_str(), "\n"]).collect::<String>()),
    }
}

fn target_text(t: Option<&crate::model::GuestRef>) -> String {
    t.map_or_else(String::new, |g| format!(" guest {} ({}) on {}", g.vmid, g.kind, g.node))
}

fn state_text(s: Option<&crate::workflow::GuestState>) -> String {
    s.map_or_else(
        || "-".into(),
        |s| {
            let mut t = s.qmpstatus.clone().filter(|q| q != &s.status && s.status == "running").unwrap_or_else(|| s.status.clone());
            if let Some(l) = &s.lock {
                let _ = write!(t, " (locked: {l})");
            }
            if let Some(p) = &s.current_parent {
                let _ = write!(t, ", at snapshot {p}");
            }
            t
        },
    )
}

/// Prints a plan: `{"plan": {...}}` or a few lines.
fn show_plan(out: OutputFormat, p: &Plan) {
    let r = match out {
        OutputFormat::Json => print(out, &serde_json::json!({ "plan": p }), |_| super::output::Table::default()),
        OutputFormat::Table => {
            let mut s = format!(
                "plan: {}{}{} [{}]\n",
                p.action,
                p.snapshot.as_ref().map(|n| format!(" '{n}'")).unwrap_or_default(),
                target_text(p.target.as_ref()),
                p.tier
            );
            if p.before.is_some() {
                let _ = writeln!(s, "  now:   {}", state_text(p.before.as_ref()));
            }
            let _ = write!(s, "  call:  {}\n  via:   {}\n", p.call, p.via);
            if let Some(req) = p.requires {
                let _ = writeln!(s, "  needs: {req} (or a typed yes at a terminal)");
            }
            for w in &p.warnings {
                let _ = writeln!(s, "  warning: {w}");
            }
            emit(&s)
        }
    };
    if let Err(e) = r {
        eprintln!("pvectl: {e}");
    }
}

/// Prints a report: JSON, or a few lines.
fn show_report(out: OutputFormat, r: &Report) -> Result<()> {
    match out {
        OutputFormat::Json => print(out, r, |_| super::output::Table::default()),
        OutputFormat::Table => {
            let mut s = format!(
                "{}{}{}\n",
                r.action,
                r.snapshot.as_ref().map(|n| format!(" '{n}'")).unwrap_or_default(),
                target_text(r.target.as_ref())
            );
            let _ = writeln!(s, "  before:  {}", state_text(r.before.as_ref()));
            if let Some(t) = &r.task {
                let upid = t.upid.as_ref().map_or_else(|| "(no UPID: ran in the foreground)".to_owned(), ToString::to_string);
                let _ = writeln!(s, "  task:    {upid} {}", t.exitstatus.clone().unwrap_or_else(|| t.status.clone()));
            }
            let _ = write!(s, "  after:   {}\n  changed: {}\n", state_text(r.after.as_ref()), if r.changed { "yes" } else { "no" });
            emit(&s)
        }
    }
}

/// Whether `cmd` changes something or waits on a task (handled here, not by the reads).
pub(crate) fn is_action(cmd: &Noun) -> bool {
    match cmd {
        Noun::Guest(g) => !matches!(g, GuestCmd::List { .. } | GuestCmd::Status { .. } | GuestCmd::Config { .. }),
        Noun::Snapshot(s) => !matches!(s, SnapshotCmd::List { .. }),
        Noun::Api(a) => !matches!(a, ApiCmd::Get { .. }),
        Noun::Task(TaskCmd::Wait { .. } | TaskCmd::Log { follow: true, .. }) => true,
        _ => false,
    }
}
