//! `pvectl task list|status|log|wait`: reads of PVE's task API, and following a task to its end.

use super::Env;
use super::args::{OutputFormat, TaskCmd};
use super::output::{Table, duration, emit, opt, print};
use super::report::print_json_or_lines;
use crate::error::Result;
use crate::workflow::{Deadline, Progress, check_exit, follow_log, wait_task};

/// Runs a `task` command.
///
/// # Errors
/// Read errors (an unknown UPID is `NotFound`, exit 5); `wait` and `log --follow`: the task's
/// failure (7) or the deadline (8).
pub(crate) async fn run(env: &Env<'_>, cmd: TaskCmd) -> Result<()> {
    let (out, b, cfg) = (env.cfg.output, env.b(), env.cfg);
    match cmd {
        TaskCmd::List { node, vmid, watch } => {
            let node = node.as_ref();
            super::watch::repeat(env, watch, || async move {
                print(out, &crate::backend::InventoryExt::tasks_everywhere(b, node, vmid).await?, |all| task_table(all))
            })
            .await
        }
        TaskCmd::Status { upid } => {
            let s = b.task_status(&upid).await?;
            print(out, &s, |s| {
                let mut t = Table::new(&["KEY", "VALUE"]);
                t.row(vec!["upid".into(), s.upid.to_string()]);
                t.row(vec!["status".into(), s.status.clone()]);
                t.row(vec!["exitstatus".into(), s.exitstatus.as_ref().map_or_else(|| "-".into(), crate::model::ExitStatus::as_text)]);
                t.row(vec!["type".into(), opt(s.task_type.as_deref())]);
                t.row(vec!["id".into(), opt(s.id.as_deref())]);
                t.row(vec!["user".into(), opt(s.user.as_deref())]);
                t.row(vec!["node".into(), opt(s.node.as_deref())]);
                t.row(vec!["pid".into(), s.pid.map_or_else(|| "-".into(), |p| p.to_string())]);
                t.row(vec!["pstart".into(), s.pstart.map_or_else(|| "-".into(), |p| p.to_string())]);
                t.row(vec!["start".into(), s.starttime.map_or_else(|| "-".into(), crate::model::time::format_utc)]);
                t
            })
        }
        TaskCmd::Wait { upid } => {
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
        TaskCmd::Log { upid, follow: true, .. } => {
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
        TaskCmd::Log { upid, start, limit, follow: false } => {
            let lines = b.task_log(&upid, start, limit).await?;
            match out {
                OutputFormat::Json => print(out, &lines, |_| Table::default()),
                OutputFormat::Table => {
                    let text: String = lines.iter().flat_map(|l| [l.t.as_str(), "\n"]).collect();
                    emit(&text)
                }
            }
        }
    }
}

/// Recent tasks of one node, or of every node not offline, newest first.
fn task_table(all: &[crate::model::Task]) -> Table {
    let mut t =
        Table::new(&["UPID", "NODE", "TYPE", "ID", "USER", "START", "END", "DURATION", "STATUS"]).wide_only(&["NODE", "END", "DURATION"]);
    for e in all {
        t.row(vec![
            e.upid.to_string(),
            opt(e.node.as_deref()),
            opt(e.task_type.as_deref()),
            opt(e.id.as_deref()),
            opt(e.user.as_deref()),
            e.starttime.map_or_else(|| "-".into(), crate::model::time::format_utc),
            e.endtime.map_or_else(|| "-".into(), crate::model::time::format_utc),
            duration(e.starttime.zip(e.endtime).map(|(s, end)| end.saturating_sub(s))),
            e.status.clone().unwrap_or_else(|| "running".into()),
        ]);
    }
    t
}
