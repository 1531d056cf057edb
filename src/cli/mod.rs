//! The `pvectl` command line: clap parsing -> validated [`Config`] -> one handler per noun
//! (`cluster`, `node`, `guest`, `snapshot`, `task`, `storage`, `api`, `doctor`, `policy`, `audit`) ->
//! one printer (`output`). Actions go through `report::act`: the one place that runs the
//! engine and prints plans and reports.

mod api;
mod args;
mod audit;
mod backup;
pub mod catalog;
mod check;
mod cluster;
mod completion;
mod config;
mod dashboard;
mod diagnose;
mod doctor;
mod fleet;
mod guest;
mod inside;
mod mcp;
mod node;
mod output;
mod policy;
mod pool;
mod provision;
mod report;
mod select;
mod sim;
mod snapshot;
mod storage;
mod targets;
mod task;
mod version;
mod watch;

pub use api::parse_params as parse_api_params;
pub use api::{ApiChild, MethodUsage, ParamUsage, ls as api_ls, render_usage as render_api_usage, usage as api_usage};
pub use args::{Cli, OutputFormat};
pub use config::{Config, Target};

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

use crate::backend::{Backend, Deadlined};
use crate::error::{Error, Result};
use crate::exit_codes;
use crate::safety::{AuditLog, Guarded};
use args::Noun;

/// What a handler works with: the validated configuration and the guarded backend.
pub(crate) struct Env<'a> {
    /// The configuration.
    pub(crate) cfg: &'a Config,
    /// The backend; every change passes its policy, consent and audit.
    pub(crate) backend: &'a Guarded,
    /// In a fleet: the consent shared by all targets (plans shown together, asked once).
    pub(crate) joint: Option<&'a dyn crate::workflow::JointConsent>,
}

impl Env<'_> {
    /// The backend for reads.
    pub(crate) fn b(&self) -> &dyn Backend {
        self.backend
    }
}

/// Runs pvectl with the process arguments and returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let e = safe_suggestions(e);
            let code = if e.use_stderr() { exit_codes::USAGE } else { exit_codes::OK };
            let args: Vec<String> = std::env::args().collect();
            let json = args.windows(2).any(|w| matches!(w[0].as_str(), "-o" | "--output") && w[1] == "json")
                || args.iter().any(|a| a == "-ojson" || a == "--output=json");
            if json && e.use_stderr() {
                let text = crate::redact::redact(&e.to_string()).into_owned();
                // clap's first paragraph: the headline and, for missing arguments, their names.
                let first = text.lines().take_while(|l| !l.trim().is_empty()).map(str::trim).collect::<Vec<_>>().join(" ");
                let first = first.trim_start_matches("error: ").to_owned();
                let v = serde_json::json!({"error": {"kind": "usage", "message": first, "hint": "see `pvectl --help`", "exit_code": code}});
                eprintln!("{v}");
            } else {
                let _ = e.print();
            }
            return code;
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return exit_codes::INTERNAL;
        }
    };
    rt.block_on(run(cli))
}

/// Subcommands clap may offer as "a similar subcommand exists": the nouns and the verbs that
/// only read. A typo is never answered with a verb that changes something (`guest stp` must
/// not suggest `stop`, `snapshot rolback` not `rollback`).
const SUGGESTIBLE: &[&str] = &[
    // Nouns.
    "cluster",
    "node",
    "guest",
    "snapshot",
    "task",
    "storage",
    "api",
    "doctor",
    "check",
    "audit",
    "policy",
    "backup",
    "pool",
    "ha",
    "target",
    "config",
    "completion",
    "man",
    "version",
    "help",
    // Verbs that read.
    "list",
    "status",
    "show",
    "pending",
    "log",
    "content",
    "resources",
    "get",
    "jobs",
    "missing",
    "ip",
    "agent",
    "diagnose",
    "verify",
    "test",
    "wait",
];

/// `err` without suggestions of subcommands outside [`SUGGESTIBLE`].
fn safe_suggestions(err: clap::Error) -> clap::Error {
    use clap::CommandFactory as _;
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if err.kind() != ErrorKind::InvalidSubcommand {
        return err;
    }
    let Some(ContextValue::Strings(suggested)) = err.get(ContextKind::SuggestedSubcommand) else { return err };
    let kept: Vec<String> = suggested.iter().filter(|s| SUGGESTIBLE.contains(&s.as_str())).cloned().collect();
    if kept.len() == suggested.len() {
        return err;
    }
    let mut safe = clap::Error::new(ErrorKind::InvalidSubcommand).with_cmd(&Cli::command());
    // `Suggested` (the other tips) prints a blank line even when it holds none.
    let empty_tips =
        |k: ContextKind, v: &ContextValue| k == ContextKind::Suggested && matches!(v, ContextValue::StyledStrs(t) if t.is_empty());
    for (kind, value) in err.context().filter(|(k, v)| *k != ContextKind::SuggestedSubcommand && !empty_tips(*k, v)) {
        safe.insert(kind, value.clone());
    }
    if !kept.is_empty() {
        safe.insert(ContextKind::SuggestedSubcommand, ContextValue::Strings(kept));
    }
    safe
}

/// How long a command may take: `--timeout`, else 300 s for actions and waits, 60 s for reads;
/// `guest shutdown --timeout T` waits T + 60 s (PVE's forced stop comes after T).
fn deadline_for(cfg: &Config, cmd: &Noun) -> Duration {
    match cmd {
        Noun::Check(c) if c.watch => return Duration::from_secs(cfg.timeout_given.unwrap_or(crate::backend::MAX_TIMEOUT_SECS)),
        cmd if cmd.watch().is_some() => return Duration::from_secs(cfg.timeout_given.unwrap_or(crate::backend::MAX_TIMEOUT_SECS)),
        Noun::Guest(args::GuestCmd::Shutdown { .. }) => {
            return cfg.timeout_given.map_or(cfg.timeout, |t| Duration::from_secs(t + guest::SHUTDOWN_SLACK));
        }
        _ => {}
    }
    let acts = !cmd.is_read();
    match cfg.timeout_given {
        Some(t) => Duration::from_secs(t),
        None if acts => cfg.timeout,
        None => Duration::from_secs(config::DEFAULT_READ_TIMEOUT),
    }
}

/// `-o wide` and `--sort` shape listings: on a command that may change something they are
/// refused before it runs (a listing's `--sort` field is checked when its table is built,
/// which for a change would be after the change).
fn listing_flags_fit(cli: &Cli) -> Result<()> {
    let wide = cli.global.output_choice == Some(args::OutputChoice::Wide);
    if (wide || cli.global.sort.is_some()) && !cli.command.is_read() {
        return Err(Error::Usage("-o wide and --sort apply to reads (listings) only".into()));
    }
    Ok(())
}

/// Runs a parsed command line; returns the exit code after printing any error.
pub async fn run(cli: Cli) -> i32 {
    output::set_style(output::TableStyle::from_args(&cli.global));
    // The audit log is local: no target, no backend.
    let cli = match cli.command {
        args::Noun::Audit(cmd) => return audit::run(&cli.global, &cmd),
        args::Noun::Target(cmd) => return targets::run(&cli.global, cmd).await,
        args::Noun::Config(cmd) => return targets::config(&cli.global, &cmd),
        args::Noun::Schema => return catalog::print_schema(),
        args::Noun::Dashboard(a) => return dashboard::run(&cli.global, &a).await,
        args::Noun::Api(cmd @ (args::ApiCmd::Usage { .. } | args::ApiCmd::Ls { .. })) => return api::run_offline(&cli.global, &cmd),
        args::Noun::Sim(cmd) => return sim::run(&cli.global, &cmd),
        args::Noun::Completion { shell } => return completion::completion(shell),
        args::Noun::Man { command } => return completion::man(&command),
        args::Noun::Version if cli.global.target.is_none() => return version::local(&cli.global),
        command => Cli { command, ..cli },
    };
    if let Err(e) = listing_flags_fit(&cli) {
        output::print_error(cli.global.output().unwrap_or(OutputFormat::Table), &e, false);
        return e.exit_code();
    }
    match crate::target::fleet(cli.global.target.as_deref(), cli.global.all_targets, &|k| std::env::var(k).ok()) {
        Ok(Some(_)) if cli.command.watch().is_some() => {
            let e = Error::Usage("--watch reads one target; a fleet (-t a,b, @group, --all-targets) is read once".into());
            output::print_error(cli.global.output().unwrap_or(OutputFormat::Table), &e, false);
            return e.exit_code();
        }
        Ok(Some(members)) => return fleet::run(cli, members).await,
        Ok(None) => {}
        Err(e) => {
            output::print_error(cli.global.output().unwrap_or(OutputFormat::Table), &e, false);
            return e.exit_code();
        }
    }
    let json_errors = matches!(cli.global.output(), Some(OutputFormat::Json));
    let cfg = match Config::from_args(&cli.global) {
        Ok(c) => c,
        Err(e) => {
            output::print_error(if json_errors { OutputFormat::Json } else { OutputFormat::Table }, &e, false);
            return e.exit_code();
        }
    };
    crate::backend::command::set_trace(cfg.verbose > 0 && !cfg.quiet);
    let nagios = check::nagios_set(&cli.command);
    let result = match cli.command {
        Noun::Policy(cmd) => policy::run(&cfg, &cmd),
        Noun::Mcp => mcp::run(&cfg).await,
        command => with_backend(&cfg, command, None).await,
    };
    match result {
        Ok(()) => check::exit_code(),
        Err(e) => {
            // Errors take the output's format: JSON whenever the data would be JSON.
            output::print_error(cfg.output, &e, cfg.color);
            nagios.map_or_else(|| e.exit_code(), |set| check::unknown(set, &e))
        }
    }
}

/// Opens the target under the command's deadline, runs the command, records what is still
/// open as `unknown`, and closes the connection, also on SIGINT, SIGTERM or SIGHUP. A fleet
/// member passes its `member`: its seat in the fleet's one consent, and where to note whether
/// it sent a change.
async fn with_backend(cfg: &Config, command: Noun, member: Option<&fleet::Member>) -> Result<()> {
    let total = deadline_for(cfg, &command);
    if total.as_secs() > crate::backend::MAX_TIMEOUT_SECS {
        return Err(Error::Usage(format!(
            "--timeout {} is longer than the {} s pvectl accepts",
            total.as_secs(),
            crate::backend::MAX_TIMEOUT_SECS
        )));
    }
    let opened = tokio::time::timeout(total, cfg.open_backend()).await.map_err(|_| Error::Transport {
        message: format!("timed out after {} s (--timeout) connecting to the target", total.as_secs()),
        source: None,
    })??;
    let timed: Arc<dyn Backend> = Arc::new(Deadlined::new(opened, total)?);
    let backend = Guarded::new(timed, cfg.policy.clone(), AuditLog::from_env());
    let env = Env { cfg, backend: &backend, joint: member.map(fleet::Member::joint) };
    let work = dispatch(&env, command);
    let result = tokio::select! {
        r = work => r,
        signal = interrupted() => Err(interrupt_error(&backend, signal)),
    };
    let open = backend.settle_open("the run ended before the task did (deadline, --no-wait or an error)");
    let closed = backend.close().await;
    if let Some(m) = member {
        m.note_sent(backend.sent_any());
    }
    let result = match (result, open.first()) {
        // An error after a change was sent must not claim that nothing was sent.
        (Err(e), Some(c)) if !matches!(e, Error::OutcomeUnknown { .. } | Error::TaskFailed { .. } | Error::Timeout { .. }) => {
            Err(Error::OutcomeUnknown {
                message: format!("{} was sent", c.action),
                upid: c.upid.as_ref().map(ToString::to_string),
                source: Some(Box::new(e)),
            })
        }
        (r, _) => r,
    };
    result.and(closed)
}

async fn dispatch(env: &Env<'_>, command: Noun) -> Result<()> {
    match command {
        Noun::Cluster(c) => cluster::run(env, c).await,
        Noun::Node(c) => node::run(env, c).await,
        Noun::Guest(c) => guest::run(env, c).await,
        Noun::Snapshot(c) => snapshot::run(env, c).await,
        Noun::Task(c) => task::run(env, c).await,
        Noun::Storage(c) => storage::run(env, c).await,
        Noun::Api(c) => api::run(env, c).await,
        Noun::Doctor => {
            doctor::doctor(env.cfg.output, env.b(), env.cfg.rest.as_ref().map(|r| r.credentials.token_id.to_string()).as_deref()).await
        }
        Noun::Check(c) => check::run(env, c).await,
        Noun::Policy(c) => policy::run(env.cfg, &c),
        Noun::Backup(c) => backup::run(env, c).await,
        Noun::Pool(c) => pool::run(env, c).await,
        Noun::Ha(c) => pool::run_ha(env, c).await,
        Noun::Version => version::run(env).await,
        Noun::Audit(_)
        | Noun::Target(_)
        | Noun::Config(_)
        | Noun::Schema
        | Noun::Sim(_)
        | Noun::Completion { .. }
        | Noun::Man { .. }
        | Noun::Mcp
        | Noun::Dashboard(_) => Err(Error::Internal(
            "audit, target, config, schema, sim, completion, man, mcp and dashboard are handled before a backend is opened".into(),
        )),
    }
}

/// Resolves with the signal number at the first SIGINT, SIGTERM or SIGHUP.
pub(crate) async fn interrupted() -> i32 {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) =
        (signal(SignalKind::interrupt()), signal(SignalKind::terminate()), signal(SignalKind::hangup()))
    else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => libc::SIGINT,
        _ = term.recv() => libc::SIGTERM,
        _ = hup.recv() => libc::SIGHUP,
    }
}

/// The error an interrupted run ends with: an unknown outcome (8) when a change was sent,
/// else the signal's own exit (128 + n).
fn interrupt_error(backend: &Guarded, signal: i32) -> Error {
    let open = backend.settle_open(&format!("interrupted by signal {signal}"));
    match open.first() {
        Some(c) => Error::OutcomeUnknown {
            message: format!("interrupted by signal {signal} after {} was sent", c.action),
            upid: c.upid.as_ref().map(ToString::to_string),
            source: None,
        },
        None => Error::Interrupted { signal },
    }
}
