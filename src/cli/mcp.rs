//! `pvectl mcp`: serves the Model Context Protocol on stdin/stdout ([`crate::mcp`]) for the
//! selected target, with its policy, the config file's `[mcp]` and `[checks]` tables, and the
//! audit log. Per call deadlines: `--timeout` for reads (default 60 s) and for actions
//! (default 300 s, the wait for the task included).

use std::time::Duration;

use super::config::{Config, DEFAULT_READ_TIMEOUT, checks_table};
use crate::backend::rest::{ConfigFile, config_path};
use crate::checks::Thresholds;
use crate::error::{Error, Result};
use crate::mcp::{McpOptions, McpSettings};
use crate::safety::AuditLog;

/// The config file's `[mcp]` table, validated; the defaults without a file or table.
fn settings() -> Result<McpSettings> {
    let env = |k: &str| std::env::var(k).ok();
    let Some(path) = config_path(&env) else { return Ok(McpSettings::default()) };
    let home = env("HOME").map(std::path::PathBuf::from);
    let file = ConfigFile::load(&path, home.as_deref())?;
    McpSettings::from_table(file.mcp.as_ref(), &format!("{} [mcp]", path.display()))
}

/// Runs `pvectl mcp` until the client ends the session.
///
/// # Errors
/// `Usage` for `--yes`/`--dry-run` (consent is given per plan, never for the session) or a bad
/// `[mcp]`/`[checks]` table; the target's errors when it cannot be opened; the session's.
pub(crate) async fn run(cfg: &Config) -> Result<()> {
    if cfg.yes || cfg.dry_run {
        return Err(Error::Usage(
            "pvectl mcp takes neither --yes nor --dry-run: every change is planned first and applied with consent for that plan".into(),
        ));
    }
    let settings = settings()?;
    let mut thresholds = Thresholds::default();
    if let Some((table, origin)) = checks_table()? {
        thresholds.apply_table(&table, &origin)?;
    }
    thresholds.validate()?;
    let read_timeout = Duration::from_secs(cfg.timeout_given.unwrap_or(DEFAULT_READ_TIMEOUT));
    let backend = tokio::time::timeout(read_timeout, cfg.open_backend()).await.map_err(|_| Error::Transport {
        message: format!("timed out after {} s connecting to the target", read_timeout.as_secs()),
        source: None,
    })??;
    let opts = McpOptions {
        rules: cfg.policy.clone(),
        audit: AuditLog::from_env(),
        settings,
        thresholds,
        read_timeout,
        action_timeout: cfg.timeout,
    };
    match crate::mcp::serve(backend, opts, super::interrupted()).await {
        // Interrupted: exit now, as the signal asked. Standard input may be a terminal whose
        // reader thread sits in read(2), and the runtime would wait for it on the way out.
        Err(e @ (Error::Interrupted { .. } | Error::OutcomeUnknown { .. })) => {
            super::output::print_error(cfg.output, &e, cfg.color);
            std::process::exit(e.exit_code());
        }
        r => r,
    }
}
