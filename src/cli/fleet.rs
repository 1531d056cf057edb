//! Fleets (DESIGN.md §3): one read run on several targets at once (`-t a,b`, `-t @group`,
//! `--all-targets`), with a bound on how many run together (`--parallel N`).
//!
//! Every member runs the ordinary path (`with_backend` and `dispatch`, the same handler as for
//! one target) with its stdout captured by [`output::capturing`]: the printer hands its data
//! to a task-local buffer instead of writing it. So no handler knows about fleets. The parts
//! are printed as one JSON array of `{target, ok, data}` / `{target, ok: false, error}`, or one
//! table with a TARGET column first; the exit code is the most severe part's
//! ([`crate::exit_codes::most_severe`]). Actions are refused for now (usage error): they need
//! all plans shown and consent asked once before any member applies.

use std::sync::Arc;

use serde_json::Value;

use super::args::{GuestCmd, Noun};
use super::output::{self, Capture, Table};
use super::{Cli, Config, OutputFormat};
use crate::error::{Error, Result};
use crate::exit_codes;
use crate::target::Fleet;

/// Whether `cmd` runs on a fleet: the reads ([`Noun::is_read`]) except `check` (its own exit
/// codes and `--watch` loop) and the guest agent reads (`guest ip`, `guest agent`, `guest
/// diagnose`), which run on one target at a time for now.
fn is_fleet_read(cmd: &Noun) -> bool {
    cmd.is_read() && !matches!(cmd, Noun::Check(_) | Noun::Guest(GuestCmd::Ip { .. } | GuestCmd::Agent { .. } | GuestCmd::Diagnose { .. }))
}

/// One member's outcome.
struct Part {
    target: String,
    result: Result<()>,
    capture: Capture,
}

/// Runs `cli`'s command on every member of `fleet` and prints the parts together; returns
/// the exit code.
pub(crate) async fn run(cli: Cli, fleet: Fleet) -> i32 {
    let format = cli.global.output().unwrap_or_else(|| {
        use std::io::IsTerminal as _;
        if std::io::stdout().is_terminal() { OutputFormat::Table } else { OutputFormat::Json }
    });
    if !is_fleet_read(&cli.command) {
        let e = Error::Usage(
            "several targets (-t a,b, -t @group, --all-targets) take reads only for now (not actions, `check` or `audit`): run it on one target at a time".into(),
        );
        output::print_error(format, &e, false);
        return e.exit_code();
    }
    // Each member needs its own command value: the arguments are parsed again (they parsed
    // once already, so they parse the same way).
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let original = format!("{:?}", cli.command);
    let bound = Arc::new(tokio::sync::Semaphore::new(usize::from(cli.global.parallel.max(1))));
    let global = Arc::new(cli.global);
    let local = tokio::task::LocalSet::new();
    let parts = local
        .run_until(async {
            let mut set = tokio::task::JoinSet::new();
            let mut first = Some(cli.command);
            for (i, member) in fleet.members.iter().enumerate() {
                let command = match first.take() {
                    Some(c) => Ok(c),
                    None => <Cli as clap::Parser>::try_parse_from(&argv)
                        .map_err(|e| Error::Internal(format!("the arguments did not parse again: {e}")))
                        .and_then(|c| {
                            // A caller of `run` with arguments of its own (not the process's)
                            // would get another command here: refuse rather than run it.
                            if format!("{:?}", c.command) == original {
                                Ok(c.command)
                            } else {
                                Err(Error::Internal("a fleet runs the command of the process arguments only".into()))
                            }
                        }),
                };
                let (global, bound, member) = (Arc::clone(&global), Arc::clone(&bound), member.clone());
                set.spawn_local(async move {
                    let _permit = bound.acquire_owned().await;
                    let (result, capture) = output::capturing(Box::pin(async {
                        let cfg = Config::for_target(&global, Some(&member))?;
                        super::with_backend(&cfg, command?).await
                    }))
                    .await;
                    (i, Part { target: member, result, capture })
                });
            }
            let mut parts: Vec<(usize, Part)> = Vec::new();
            while let Some(done) = set.join_next().await {
                match done {
                    Ok(p) => parts.push(p),
                    Err(e) => parts.push((
                        usize::MAX,
                        Part {
                            target: "?".into(),
                            result: Err(Error::Internal(format!("a fleet member panicked: {e}"))),
                            capture: Capture::default(),
                        },
                    )),
                }
            }
            parts.sort_by_key(|(i, _)| *i);
            parts.into_iter().map(|(_, p)| p).collect::<Vec<_>>()
        })
        .await;
    let code = exit_codes::most_severe(parts.iter().map(|p| p.result.as_ref().map_or_else(Error::exit_code, |()| exit_codes::OK)));
    let printed = match format {
        OutputFormat::Json => print_json(&parts),
        OutputFormat::Table => print_table(&parts),
    };
    match printed {
        Ok(()) => code,
        Err(e) => {
            output::print_error(format, &e, false);
            exit_codes::most_severe([code, e.exit_code()])
        }
    }
}

/// A member's data: what it printed, as JSON.
fn data(c: &Capture) -> Value {
    match &c.value {
        Some(v) => v.clone(),
        None => serde_json::from_str(&c.text).unwrap_or_else(|_| Value::String(c.text.clone())),
    }
}

/// One element of the JSON array, fields in this order.
#[derive(serde::Serialize)]
struct Item<'a> {
    target: &'a str,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Value>,
}

fn print_json(parts: &[Part]) -> Result<()> {
    let items: Vec<Item<'_>> = parts
        .iter()
        .map(|p| match &p.result {
            Ok(()) => Item { target: &p.target, ok: true, data: Some(data(&p.capture)), error: None },
            Err(e) => Item { target: &p.target, ok: false, data: None, error: Some(output::error_value(e)) },
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&items).map_err(|e| Error::Internal(format!("failed to serialise output: {e}")))?;
    s.push('\n');
    output::emit(&s)
}

/// One table with a TARGET column first; members that printed text rather than a table
/// follow under a `# TARGET` line; errors go to stderr naming their target.
fn print_table(parts: &[Part]) -> Result<()> {
    let mut merged: Option<Table> = None;
    let mut text = String::new();
    for p in parts {
        match (&p.result, &p.capture.table) {
            (Err(e), _) => {
                let v = output::error_value(e);
                eprintln!(
                    "error: {}: {}",
                    output::escape_lines(&p.target),
                    output::escape_lines(v["message"].as_str().unwrap_or_default())
                );
            }
            (Ok(()), Some(t)) => {
                let m = merged.get_or_insert_with(|| t.prefixed("TARGET"));
                for r in &t.rows {
                    let mut row = vec![p.target.clone()];
                    row.extend(r.iter().cloned());
                    m.row(row);
                }
            }
            (Ok(()), None) => {
                text.push_str("# ");
                text.push_str(&p.target);
                text.push('\n');
                text.push_str(&p.capture.text);
            }
        }
    }
    let mut out = merged.map(|t| t.render()).unwrap_or_default();
    out.push_str(&text);
    output::emit(&out)
}
