//! `pvectl dashboard`: picks the targets as every command does (one target, or a fleet with
//! `-t a,b`, `-t @group`, `--all-targets`), and hands the library's server
//! ([`crate::dashboard::serve`]) one opener per target and its policy; the library wraps each
//! opened backend read-only for the pages (and, with `--allow-actions`, in the target's policy
//! with the audit face `dashboard` for the actions).

use std::sync::Arc;
use std::time::Duration;

use super::Config;
use super::args::{DashboardArgs, GlobalArgs, OutputFormat};
use super::output::print_error;
use crate::checks::Thresholds;
use crate::dashboard::{OpenTarget, Options, TargetSource};
use crate::error::Result;
use crate::safety::AuditLog;

/// Runs the dashboard until SIGINT/SIGTERM; returns the exit code.
pub(crate) async fn run(g: &GlobalArgs, args: &DashboardArgs) -> i32 {
    match serve(g, args).await {
        Ok(()) => crate::exit_codes::OK,
        Err(e) => {
            print_error(g.output().unwrap_or(OutputFormat::Table), &e, false);
            e.exit_code()
        }
    }
}

async fn serve(g: &GlobalArgs, args: &DashboardArgs) -> Result<()> {
    let names: Vec<Option<String>> = match crate::target::fleet(g.target.as_deref(), g.all_targets, &|k| std::env::var(k).ok())? {
        Some(f) => f.members.into_iter().map(Some).collect(),
        None => vec![g.target.clone()],
    };
    let mut targets = Vec::new();
    for name in names {
        // Validated now (unknown names, missing tokens are usage errors before serving).
        let cfg = Config::for_target(g, name.as_deref())?;
        let shown = name.clone().or_else(|| cfg.name.clone()).unwrap_or_else(|| cfg.target.url());
        let policy = cfg.policy.clone();
        let cfg = Arc::new(cfg);
        let open: OpenTarget = Arc::new(move || {
            let cfg = cfg.clone();
            Box::pin(async move { cfg.open_backend().await })
        });
        targets.push(TargetSource { name: shown, open, policy });
    }
    let timeout = g.timeout.unwrap_or(super::config::DEFAULT_READ_TIMEOUT);
    let opts = Options {
        listen: args.listen,
        token_file: args.token_file.clone(),
        refresh: Duration::from_secs(args.refresh.max(1)),
        deadline: Duration::from_secs(timeout),
        thresholds: thresholds()?,
        audit_path: AuditLog::from_env().path().map(std::path::Path::to_path_buf),
        allow_actions: args.allow_actions,
        action_timeout: Duration::from_secs(g.timeout.unwrap_or(super::config::DEFAULT_TIMEOUT)),
    };
    crate::dashboard::serve(opts, targets).await
}

/// Thresholds for the dashboard's checks: the defaults, then the config file's `[checks]`.
fn thresholds() -> Result<Thresholds> {
    let mut t = Thresholds::default();
    if let Some((table, origin)) = super::config::checks_table()? {
        t.apply_table(&table, &origin)?;
    }
    t.validate()?;
    Ok(t)
}
