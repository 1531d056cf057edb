//! The one place that runs an action for the CLI and the one place that prints what it did:
//! the plan (on stderr while asking at a terminal; on stdout as the data for `--dry-run` and
//! when consent is missing, exit 3) and the report.

use std::fmt::Write as _;
use std::time::Duration;

use super::Env;
use super::args::OutputFormat;
use super::output::{emit, print};
use crate::error::Result;
use crate::safety::{Asker, Gate};
use crate::workflow::{Action, Ctx, Outcome, Plan, Report, engine};

/// Runs `action` on the engine with this command's consent rules and prints the outcome.
///
/// # Errors
/// The engine's refusals (nothing sent), or the outcome's error after printing the report:
/// a failed task (7), an unknown outcome (8).
pub(crate) async fn act(env: &Env<'_>, action: &dyn Action, wait: bool, timeout: Duration) -> Result<()> {
    let format = env.cfg.output;
    let show = move |p: &Plan| show_plan(format, p, true);
    let ctx = Ctx {
        backend: env.backend,
        gate: Gate { yes: env.cfg.yes, dry_run: env.cfg.dry_run, asker: Asker::detect() },
        timeout,
        wait,
        progress: env.cfg.progress,
        show_plan: &show,
        joint: env.joint,
    };
    finish(env.cfg.output, engine::run(&ctx, action).await?)
}

/// Prints a workflow's outcome and turns it into the command's result.
pub(crate) fn finish(out: OutputFormat, outcome: Outcome) -> Result<()> {
    match outcome {
        Outcome::Done(r) => show_report(out, &r),
        Outcome::Planned(p) => {
            show_plan(out, &p, false);
            Ok(())
        }
        Outcome::Refused(p, e) => {
            // Asked at a terminal, the plan is already on stderr.
            if Asker::detect() == Asker::None {
                show_plan(out, &p, false);
            }
            Err(e)
        }
        Outcome::Incomplete(r, e) => {
            show_report(out, &r)?;
            Err(e)
        }
    }
}

pub(crate) fn print_json_or_lines<T: serde::Serialize>(out: OutputFormat, data: &T, lines: &[String]) -> Result<()> {
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

/// Prints a plan on stderr (before asking at a terminal).
pub(crate) fn show_plan_on_stderr(out: OutputFormat, p: &Plan) {
    show_plan(out, p, true);
}

/// Prints a plan: `{"plan": {...}}` or a few lines; on stderr while asking at a terminal (so
/// stdout holds one JSON document), else on stdout.
fn show_plan(out: OutputFormat, p: &Plan, to_stderr: bool) {
    let write = |text: &str| {
        if to_stderr {
            eprint!("{}", crate::redact::redact(text));
            Ok(())
        } else {
            emit(text)
        }
    };
    let r = match out {
        OutputFormat::Json => match serde_json::to_string_pretty(&serde_json::json!({ "plan": p })) {
            Ok(s) => write(&format!("{s}\n")),
            Err(e) => Err(crate::error::Error::Internal(format!("failed to serialise the plan: {e}"))),
        },
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
            let _ = writeln!(s, "  digest: {}", p.digest);
            for w in &p.warnings {
                let _ = writeln!(s, "  warning: {w}");
            }
            write(&(super::output::escape_lines(&s) + "\n"))
        }
    };
    if let Err(e) = r {
        eprintln!("pvectl: {e}");
    }
}

/// Prints a report: JSON, or a few lines.
fn show_report(out: OutputFormat, r: &Report) -> Result<()> {
    match out {
        OutputFormat::Json => match (&r.task, &r.result) {
            // A raw write that is not a task: PVE's answer is the result.
            (None, Some(v)) if r.action.starts_with("api ") => print(out, v, |_| super::output::Table::default()),
            _ => print(out, r, |_| super::output::Table::default()),
        },
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
            emit(&(super::output::escape_lines(&s) + "\n"))
        }
    }
}
