//! Fleets (DESIGN.md §3): one command run on several targets at once (`-t a,b`, `-t @group`,
//! `--all-targets`), with a bound on how many are worked on together (`--parallel N`).
//!
//! Every member runs the ordinary path (`with_backend` and `dispatch`, the same handler as for
//! one target) with its stdout captured by [`output::capturing`]: the printer hands its data
//! to a task-local buffer instead of writing it. So no handler knows about fleets. Actions
//! meet in one consent ([`crate::fleet::Joint`]): every member prepares its plans, the plans
//! of all members are shown (on stderr before one prompt) and one answer covers them all,
//! then each member applies its own. The parts are printed as one JSON array — reads
//! `{target, ok, data}`, actions `{target, guest?, ok, report|plan}`, failures with `error` —
//! or one table with a TARGET column first. The exit code is the most severe part's, and never
//! one that promises "nothing was sent" once a part sent a change
//! ([`crate::exit_codes::combined`]). `check --format nagios` joins the members' reports into
//! one plugin line ([`crate::fleet::join_reports`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value, json};

use super::args::{CheckFormat, FileCmd, GuestCmd, Noun};
use super::output::{self, Capture, Table};
use super::{Cli, Config, OutputFormat};
use crate::error::{Error, Result};
use crate::exit_codes;
use crate::fleet::{Joint, Seat, TargetReport};
use crate::safety::{Asker, Gate};
use crate::target::Fleet;
use crate::workflow::{JointConsent, Plan};

/// Why `cmd` cannot run on a fleet, if it cannot: copying files (one local path for every
/// target, and a push may read stdin once) and the guest agent reads, for now.
fn refused(cmd: &Noun) -> Option<&'static str> {
    match cmd {
        Noun::Guest(GuestCmd::File(FileCmd::Push { .. } | FileCmd::Pull { .. })) => {
            Some("`guest file push|pull` names one local path: run it on one target at a time")
        }
        Noun::Guest(GuestCmd::Ip { .. } | GuestCmd::Agent { .. } | GuestCmd::Diagnose { .. }) => {
            Some("the guest agent reads and `guest diagnose` run on one target at a time for now")
        }
        _ => None,
    }
}

/// One member of a fleet while it runs: its seat in the one consent, and whether it sent a
/// change.
pub(crate) struct Member {
    seat: Seat,
    sent: AtomicBool,
}

impl Member {
    /// The consent shared with the other members.
    pub(crate) fn joint(&self) -> &dyn JointConsent {
        &self.seat
    }

    /// Notes whether this member's backend sent a change.
    pub(crate) fn note_sent(&self, sent: bool) {
        self.sent.store(sent, Ordering::Relaxed);
    }
}

/// One member's outcome.
struct Part {
    target: String,
    result: Result<()>,
    capture: Capture,
    sent: bool,
}

impl Part {
    fn code(&self) -> i32 {
        self.result.as_ref().map_or_else(Error::exit_code, |()| exit_codes::OK)
    }
}

/// Runs `cli`'s command on every member of `fleet` and prints the parts together; returns
/// the exit code.
pub(crate) async fn run(cli: Cli, fleet: Fleet) -> i32 {
    let format = cli.global.output().unwrap_or_else(|| {
        use std::io::IsTerminal as _;
        if std::io::stdout().is_terminal() { OutputFormat::Table } else { OutputFormat::Json }
    });
    if let Some(why) = refused(&cli.command) {
        let e = Error::Usage(format!("several targets (-t a,b, -t @group, --all-targets): {why}"));
        output::print_error(format, &e, false);
        return e.exit_code();
    }
    if let Noun::Check(c) = &cli.command
        && c.watch
    {
        return super::check::watch_fleet(&cli.global, &fleet.members, c).await;
    }
    let nagios = super::check::nagios_set(&cli.command);
    let acts = !cli.command.is_read();
    let parts = run_parts(cli, &fleet, format).await;
    if let Some(set) = nagios {
        return print_nagios(set, parts);
    }
    let code = exit_codes::combined(parts.iter().map(|p| (p.code(), p.sent)));
    let printed = match format {
        OutputFormat::Json if acts => print_items(&action_items(&parts)),
        OutputFormat::Json => print_items(&read_items(&parts)),
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

/// Runs the command on every member, at most `--parallel` at a time, all meeting in one
/// consent; the parts in the order of the members.
async fn run_parts(cli: Cli, fleet: &Fleet, format: OutputFormat) -> Vec<Part> {
    // Each member needs its own command value: the arguments are parsed again (they parsed
    // once already, so they parse the same way).
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let original = format!("{:?}", cli.command);
    let bound = Arc::new(tokio::sync::Semaphore::new(usize::from(cli.global.parallel.max(1))));
    let gate = Gate { yes: cli.global.yes, dry_run: cli.global.dry_run, asker: Asker::detect() };
    let show = move |target: &str, p: &Plan| {
        eprintln!("target {}:", output::escape_lines(target));
        super::report::show_plan_on_stderr(format, p);
    };
    let joint = Joint::new(gate, fleet.members.len(), Box::new(show));
    let global = Arc::new(cli.global);
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            let mut tasks = tokio::task::JoinSet::new();
            let mut first = Some(cli.command);
            for (i, name) in fleet.members.iter().enumerate() {
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
                let member = Member { seat: joint.seat(i, name.clone(), Arc::clone(&bound)), sent: AtomicBool::new(false) };
                let (global, name) = (Arc::clone(&global), name.clone());
                tasks.spawn_local(async move {
                    member.seat.enter().await;
                    let (result, capture) = output::capturing(Box::pin(async {
                        let mut cfg = Config::for_target(&global, Some(&name))?;
                        // Progress lines of several targets would interleave.
                        cfg.progress = false;
                        super::with_backend(&cfg, for_member(command?), Some(&member)).await
                    }))
                    .await;
                    let sent = member.sent.load(Ordering::Relaxed);
                    // Settles this member's seat: the others need not wait for its plans.
                    drop(member);
                    (i, Part { target: name, result, capture, sent })
                });
            }
            let mut parts: Vec<(usize, Part)> = Vec::new();
            while let Some(done) = tasks.join_next().await {
                match done {
                    Ok(p) => parts.push(p),
                    Err(e) => parts.push((
                        usize::MAX,
                        Part {
                            target: "?".into(),
                            result: Err(Error::Internal(format!("a fleet member panicked: {e}"))),
                            capture: Capture::default(),
                            sent: false,
                        },
                    )),
                }
            }
            parts.sort_by_key(|(i, _)| *i);
            parts.into_iter().map(|(_, p)| p).collect()
        })
        .await
}

/// A member's command: `check --format nagios` reports as JSON, joined into one plugin line.
fn for_member(command: Noun) -> Noun {
    match command {
        Noun::Check(mut c) if c.format == Some(CheckFormat::Nagios) => {
            c.format = Some(CheckFormat::Json);
            Noun::Check(c)
        }
        other => other,
    }
}

/// Joins the members' check reports into one Nagios plugin line; returns its exit code.
fn print_nagios(set: crate::checks::CheckSet, parts: Vec<Part>) -> i32 {
    let reports = parts
        .into_iter()
        .map(|p| {
            let report = p.result.and_then(|()| {
                serde_json::from_value::<crate::checks::Report>(data(&p.capture))
                    .map_err(|e| Error::Internal(format!("a member's check report did not read back: {e}")))
            });
            TargetReport { target: p.target, report }
        })
        .collect();
    let joined = crate::fleet::join_reports(set.name(), reports);
    match output::emit(&super::check::nagios(&joined)) {
        Ok(()) => joined.status.nagios_code(),
        Err(e) => super::check::unknown(set, &e),
    }
}

/// A member's data: what it printed, as JSON.
fn data(c: &Capture) -> Value {
    match &c.value {
        Some(v) => v.clone(),
        None => serde_json::from_str(&c.text).unwrap_or_else(|_| Value::String(c.text.clone())),
    }
}

/// Whether a member printed anything.
fn printed(c: &Capture) -> bool {
    c.value.is_some() || !c.text.is_empty()
}

/// One element of the array: `target` first, then the other fields.
#[derive(serde::Serialize)]
struct Item {
    target: String,
    #[serde(flatten)]
    fields: Map<String, Value>,
}

fn item(target: &str, fields: Map<String, Value>) -> Item {
    Item { target: target.to_owned(), fields }
}

/// Reads: `{target, ok, data}` or `{target, ok: false, error}`.
fn read_items(parts: &[Part]) -> Vec<Item> {
    parts
        .iter()
        .map(|p| match &p.result {
            Ok(()) => item(&p.target, json!({"ok": true, "data": data(&p.capture)}).as_object().cloned().unwrap_or_default()),
            Err(e) => item(&p.target, json!({"ok": false, "error": output::error_value(e)}).as_object().cloned().unwrap_or_default()),
        })
        .collect()
}

/// Actions: one element per guest acted on, `{target, guest?, ok, report|plan, error?}`. A
/// member that acted on several guests (a selector) printed `[{guest, node, ok, ...}]`: each
/// becomes an element with the target added; a member's error that is not one guest's own
/// (the target did not answer, a selector matched nothing) is an element of its own.
fn action_items(parts: &[Part]) -> Vec<Item> {
    let mut out = Vec::new();
    for p in parts {
        let printed_value = printed(&p.capture).then(|| data(&p.capture));
        if let Some(Value::Array(guests)) = &printed_value
            && guests.iter().all(|g| g.get("guest").is_some() && g.get("ok").is_some())
        {
            for g in guests {
                out.push(item(&p.target, g.as_object().cloned().unwrap_or_default()));
            }
            // The member's error is the worst of its guests', already in their elements.
            continue;
        }
        let mut m = Map::new();
        let guest = printed_value.as_ref().and_then(|v| v.pointer("/plan/target/vmid").or_else(|| v.pointer("/target/vmid")).cloned());
        if let Some(g) = guest {
            m.insert("guest".into(), g);
        }
        m.insert("ok".into(), json!(p.result.is_ok()));
        match printed_value {
            Some(Value::Object(mut v)) if v.contains_key("plan") && v.len() == 1 => {
                m.insert("plan".into(), v.remove("plan").unwrap_or_default());
            }
            Some(v) => {
                m.insert("report".into(), v);
            }
            None => {}
        }
        if let Err(e) = &p.result {
            m.insert("error".into(), output::error_value(e));
        }
        out.push(item(&p.target, m));
    }
    out
}

fn print_items(items: &[Item]) -> Result<()> {
    let mut s = serde_json::to_string_pretty(items).map_err(|e| Error::Internal(format!("failed to serialise output: {e}")))?;
    s.push('\n');
    output::emit(&s)
}

/// One table with a TARGET column first; members that printed text rather than a table
/// follow under a `# TARGET` line; errors go to stderr naming their target.
fn print_table(parts: &[Part]) -> Result<()> {
    let mut merged: Option<Table> = None;
    let mut text = String::new();
    for p in parts {
        if let Err(e) = &p.result {
            let v = output::error_value(e);
            eprintln!("error: {}: {}", output::escape_lines(&p.target), output::escape_lines(v["message"].as_str().unwrap_or_default()));
        }
        match &p.capture.table {
            Some(t) => {
                let m = merged.get_or_insert_with(|| t.prefixed("TARGET"));
                for r in &t.rows {
                    let mut row = vec![p.target.clone()];
                    row.extend(r.iter().cloned());
                    m.row(row);
                }
            }
            None if !p.capture.text.is_empty() => {
                text.push_str("# ");
                text.push_str(&output::escape_lines(&p.target));
                text.push('\n');
                text.push_str(&p.capture.text);
            }
            None => {}
        }
    }
    let mut out = merged.map(|t| t.render()).unwrap_or_default();
    out.push_str(&text);
    output::emit(&out)
}
