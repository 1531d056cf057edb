//! `pvectl check`: runs a check set of [`crate::checks`] and prints it as a Nagios plugin line
//! (`--format nagios`, exit 0/1/2/3 as `check_pve` users expect: OK/WARNING/CRITICAL/UNKNOWN,
//! on purpose not pvectl's own exit codes), as JSON (`{set, status, findings}`, exit 0 whenever
//! the checks ran) or as a table. With `--watch` it checks every `--interval` seconds and
//! alerts on state changes only: the change as JSON on the stdin of `--alert-command` (run
//! without a shell, its words split as a POSIX shell would) or sent in a `POST` to `--alert-webhook`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use super::Env;
use super::args::{CheckArgs, CheckFormat, OutputFormat};
use super::output::{Table, emit, print};
use crate::backend::Backend;
use crate::checks::{Change, Finding, Report, Severity, Thresholds, changes};
use crate::error::{Error, Result};

/// The exit code a check wants instead of 0 (Nagios states); read by `cli::run`.
static EXIT: AtomicI32 = AtomicI32::new(0);

/// The exit code `check --format nagios` asked for (0 otherwise).
pub(crate) fn exit_code() -> i32 {
    EXIT.load(Ordering::Relaxed)
}

/// The check set of a `check --format nagios` command line (not `--watch`), else `None`.
pub(crate) fn nagios_set(cmd: &super::args::Noun) -> Option<crate::checks::CheckSet> {
    match cmd {
        super::args::Noun::Check(c) if c.format == Some(CheckFormat::Nagios) && !c.watch => Some(c.set),
        _ => None,
    }
}

/// A Nagios check that could not run: `PVE <SET> UNKNOWN - <error>` on stdout, exit 3.
pub(crate) fn unknown(set: crate::checks::CheckSet, e: &Error) -> i32 {
    let text = crate::redact::redact(&e.to_string()).replace(['|', '\n', '\r'], " ");
    let _ = emit(&format!("PVE {} UNKNOWN - {text}\n", set.name().to_uppercase()));
    Severity::Unknown.nagios_code()
}

/// How long one alert may take (command or webhook).
const ALERT_TIMEOUT: Duration = Duration::from_secs(30);

/// Thresholds from the defaults, the config file's `[checks]` table, then the flags.
fn thresholds(args: &CheckArgs) -> Result<Thresholds> {
    let mut t = Thresholds::default();
    if let Some((table, origin)) = super::config::checks_table()? {
        t.apply_table(&table, &origin)?;
    }
    t.apply_args(&args.warn, false)?;
    t.apply_args(&args.crit, true)?;
    t.validate()?;
    Ok(t)
}

/// The Nagios plugin output: `PVE <SET> <STATE> - <summary> | perfdata`, then one line per
/// problem (long text).
pub(crate) fn nagios(r: &Report) -> String {
    let perf: Vec<String> = r.findings.iter().filter_map(|f| f.perfdata.as_ref().map(ToString::to_string)).collect();
    let clean = |s: &str| s.replace(['|', '\n', '\r'], " ");
    let mut out = format!("PVE {} {} - {}", r.set.to_uppercase(), r.status.nagios(), clean(&r.summary()));
    if !perf.is_empty() {
        out.push_str(" | ");
        out.push_str(&perf.join(" "));
    }
    out.push('\n');
    for f in r.problems() {
        let _ = writeln!(out, "{} {} {}: {}", f.severity.nagios(), f.check, f.subject, clean(&f.message));
    }
    out
}

fn table(r: &Report) -> Table {
    let mut t = Table::new(&["SEVERITY", "CHECK", "SUBJECT", "MESSAGE"]);
    let mut rows: Vec<&Finding> = r.findings.iter().collect();
    rows.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for f in rows {
        t.row(vec![f.severity.to_string(), f.check.clone(), f.subject.clone(), f.message.clone()]);
    }
    t
}

/// Runs `pvectl check`.
///
/// # Errors
/// `Usage` for bad thresholds or alert options; with `--watch`, never for a failing target
/// (it backs off and alerts instead).
pub(crate) async fn run(env: &Env<'_>, args: CheckArgs) -> Result<()> {
    let t = thresholds(&args)?;
    if args.watch {
        let b = env.b();
        return watch(&args, || round(b, &args, &t)).await;
    }
    let report = crate::checks::run(env.b(), args.set, &t).await;
    match args.format {
        Some(CheckFormat::Nagios) => {
            emit(&nagios(&report))?;
            EXIT.store(report.status.nagios_code(), Ordering::Relaxed);
            Ok(())
        }
        Some(CheckFormat::Json) => print(OutputFormat::Json, &report, table),
        Some(CheckFormat::Table) => print(OutputFormat::Table, &report, table),
        None => print(env.cfg.output, &report, table),
    }
}

/// One round of `--watch`: the report, or a single UNKNOWN finding when the target does not
/// answer at all (then the caller backs off).
async fn round(b: &dyn Backend, args: &CheckArgs, t: &Thresholds) -> (Report, bool) {
    match b.version().await {
        Ok(_) => (crate::checks::run(b, args.set, t).await, true),
        Err(e) => {
            let f = Finding::new("target-reachable", Severity::Unknown, b.describe(), format!("target not answering: {e}"));
            (Report::new(args.set.name(), vec![f]), false)
        }
    }
}

/// The `--watch` loop over `round` (one target's checks, or a fleet's joined).
async fn watch<F: Future<Output = (Report, bool)>>(args: &CheckArgs, mut round: impl FnMut() -> F) -> Result<()> {
    let alert_argv = match &args.alert_command {
        Some(c) => {
            let v = shlex::split(c)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| Error::Usage("--alert-command: not a valid command line (unbalanced quotes?)".into()))?;
            Some(v)
        }
        None => None,
    };
    let client = match &args.alert_webhook {
        Some(url) => {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(Error::Usage("--alert-webhook must be an http:// or https:// URL".into()));
            }
            let tls = crate::backend::rest::client_config(&crate::backend::rest::TlsTrust::System)?;
            Some(
                reqwest::Client::builder()
                    .tls_backend_preconfigured(tls)
                    .timeout(ALERT_TIMEOUT)
                    .user_agent(concat!("pvectl/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| Error::transport("could not build the webhook client", e))?,
            )
        }
        None => None,
    };
    let interval = Duration::from_secs(args.interval.max(1));
    let mut delay = interval;
    let mut previous: Option<Report> = None;
    let mut pending: Vec<Change> = Vec::new();
    let mut cycle = 0u64;
    loop {
        cycle += 1;
        let (report, reachable) = round().await;
        let new = changes(previous.as_ref(), &report);
        for c in &new {
            let line = serde_json::to_string(c).map_err(|e| Error::Internal(format!("failed to serialise a change: {e}")))?;
            emit(&format!("{line}\n"))?;
        }
        pending.extend(new);
        let mut failed = Vec::new();
        for c in pending.drain(..) {
            if let Err(e) = alert(&c, alert_argv.as_deref(), client.as_ref(), args.alert_webhook.as_deref()).await {
                eprintln!("warning: alert for {} {} not delivered, retrying next round: {e}", c.finding.check, c.finding.subject);
                failed.push(c);
            }
        }
        let alert_failing = !failed.is_empty();
        pending = failed;
        previous = Some(report);
        // Back off while the target or the alert target fails: double the wait up to 8x.
        delay = if reachable && !alert_failing { interval } else { (delay * 2).min(interval * 8) };
        if args.cycles.is_some_and(|n| cycle >= n) {
            return Ok(());
        }
        tokio::time::sleep(delay).await;
    }
}

/// `check --watch` over a fleet: every target is opened once and checked each round (at most
/// `--parallel` at a time); their reports are joined ([`crate::fleet::join_reports`]), so a
/// change is keyed by its target (`lab:pve3`). A target that could not be opened is an
/// UNKNOWN finding each round, and the round backs off. Returns the exit code.
pub(crate) async fn watch_fleet(g: &super::args::GlobalArgs, members: &[String], args: &CheckArgs) -> i32 {
    let format = g.output.unwrap_or(OutputFormat::Json);
    let t = match thresholds(args) {
        Ok(t) => t,
        Err(e) => {
            super::output::print_error(format, &e, false);
            return e.exit_code();
        }
    };
    let bound = tokio::sync::Semaphore::new(usize::from(g.parallel.max(1)));
    let backends = crate::workflow::join_all(
        members
            .iter()
            .map(|name| -> crate::workflow::Boxed<'_, Result<Box<dyn Backend>>> { Box::pin(open_member(g, name, &bound)) })
            .collect(),
    )
    .await;
    let one_round = || {
        let futs = members
            .iter()
            .zip(&backends)
            .map(|(name, b)| -> crate::workflow::Boxed<'_, (crate::fleet::TargetReport, bool)> {
                let (bound, t) = (&bound, &t);
                Box::pin(async move {
                    let _permit = bound.acquire().await;
                    let (report, ok) = match b {
                        Ok(b) => {
                            let (r, ok) = round(b.as_ref(), args, t).await;
                            (Ok(r), ok)
                        }
                        Err(e) => (Err(Error::Transport { message: e.to_string(), source: None }), false),
                    };
                    (crate::fleet::TargetReport { target: name.clone(), report }, ok)
                })
            })
            .collect();
        async move {
            let parts = crate::workflow::join_all(futs).await;
            let reachable = parts.iter().all(|(_, ok)| *ok);
            (crate::fleet::join_reports(args.set.name(), parts.into_iter().map(|(p, _)| p).collect()), reachable)
        }
    };
    let result = tokio::select! {
        r = watch(args, one_round) => r,
        signal = super::interrupted() => Err(Error::Interrupted { signal }),
    };
    for b in backends.iter().flatten() {
        let _ = b.close().await;
    }
    match result {
        Ok(()) => exit_code(),
        Err(e) => {
            super::output::print_error(format, &e, false);
            e.exit_code()
        }
    }
}

/// Opens one fleet member for `check --watch`, under the `--parallel` bound.
async fn open_member(g: &super::args::GlobalArgs, name: &str, bound: &tokio::sync::Semaphore) -> Result<Box<dyn Backend>> {
    let _permit = bound.acquire().await;
    let cfg = super::Config::for_target(g, Some(name))?;
    let total = Duration::from_secs(cfg.timeout_given.unwrap_or(crate::backend::MAX_TIMEOUT_SECS));
    let connect = Duration::from_secs(super::config::DEFAULT_READ_TIMEOUT);
    let b = tokio::time::timeout(connect, cfg.open_backend()).await.map_err(|_| Error::Transport {
        message: format!("timed out after {} s connecting to the target", connect.as_secs()),
        source: None,
    })??;
    Ok(Box::new(crate::backend::Deadlined::new(b, total)?))
}

/// Delivers one change to the command and the webhook.
async fn alert(c: &Change, argv: Option<&[String]>, client: Option<&reqwest::Client>, url: Option<&str>) -> Result<()> {
    let body = serde_json::to_vec(c).map_err(|e| Error::Internal(format!("failed to serialise a change: {e}")))?;
    if let Some(argv) = argv {
        run_command(argv, &body).await?;
    }
    if let (Some(client), Some(url)) = (client, url) {
        let resp = client
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| Error::transport("the alert webhook did not answer", e))?;
        if !resp.status().is_success() {
            return Err(Error::Transport { message: format!("the alert webhook answered {}", resp.status()), source: None });
        }
    }
    Ok(())
}

async fn run_command(argv: &[String], stdin: &[u8]) -> Result<()> {
    use tokio::io::AsyncWriteExt;
    let (program, rest) = argv.split_first().ok_or_else(|| Error::Usage("--alert-command is empty".into()))?;
    let mut child = tokio::process::Command::new(program)
        .args(rest)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Error::transport(format!("could not start the alert command {program}"), e))?;
    let mut input = child.stdin.take().ok_or_else(|| Error::Internal("the alert command has no stdin".into()))?;
    let work = async {
        // A command that does not read its stdin is not a failure of the alert.
        let _ = input.write_all(stdin).await;
        drop(input);
        child.wait().await
    };
    let status = tokio::time::timeout(ALERT_TIMEOUT, work)
        .await
        .map_err(|_| Error::Transport {
            message: format!("the alert command {program} ran longer than {} s", ALERT_TIMEOUT.as_secs()),
            source: None,
        })?
        .map_err(|e| Error::transport("the alert command could not be waited for", e))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Transport { message: format!("the alert command {program} failed ({status})"), source: None })
    }
}
