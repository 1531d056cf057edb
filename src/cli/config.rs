//! Validated configuration: the raw arguments turned into a target, an output mode and
//! connection options, before any backend is opened.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use super::args::{ColorChoice, GlobalArgs, OutputFormat};
use crate::backend::command::{HostKeyPolicy, PveshTransport, QmPctBackend, Runner, SshOptions, SshRunner, Tools};
use crate::backend::sim::SimTransport;
use crate::backend::{ApiBackend, Backend};
use crate::error::{Error, Result};

/// The default wait deadline, seconds.
pub(crate) const DEFAULT_TIMEOUT: u64 = 300;

/// Where pvectl acts (DESIGN.md §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The built-in simulated cluster (`PVE_SIM_STATE` if set, else the demo cluster).
    Sim,
    /// The command backend on this host.
    Local,
    /// The command backend over SSH.
    Ssh(SshOptions),
}

impl Target {
    /// Parses `sim`, `local` or `ssh://[user@]host[:port]`.
    ///
    /// # Errors
    /// `Usage` for anything else.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "sim" => Ok(Self::Sim),
            "local" => Ok(Self::Local),
            s if s.starts_with("ssh://") => Ok(Self::Ssh(SshOptions::parse_target(s)?)),
            s if s.starts_with("https://") => {
                Err(Error::Unsupported { operation: format!("target '{s}'"), reason: "yet: the REST backend is not built in this version".into() })
            }
            other => Err(Error::Usage(format!("unknown target '{other}': expected sim, local or ssh://[user@]host[:port]"))),
        }
    }
}

/// Everything a command needs besides its own arguments.
#[derive(Debug, Clone)]
#[expect(clippy::struct_excessive_bools, reason = "independent settings decided once from the command line")]
pub struct Config {
    /// Where to act.
    pub target: Target,
    /// Which tools the command backend uses.
    pub tools: Tools,
    /// Output format, decided once.
    pub output: OutputFormat,
    /// Whether to colour.
    pub color: bool,
    /// Diagnostics level: 0 normal, 1+ verbose.
    pub verbose: u8,
    /// Only errors on stderr.
    pub quiet: bool,
    /// Wait deadline (`--timeout`, default 300 s).
    pub timeout: Duration,
    /// Whether `--timeout` was given (shutdown passes it to PVE).
    pub timeout_given: Option<u64>,
    /// `--yes`.
    pub yes: bool,
    /// `--dry-run`.
    pub dry_run: bool,
    /// Show progress lines on stderr (a terminal, not `--quiet`).
    pub progress: bool,
    /// Local sudo (for `local` with `--sudo`).
    pub sudo: bool,
}

impl Config {
    /// Validates the global arguments.
    ///
    /// # Errors
    /// `Usage` for an unknown target, or when none is given and `pvesh` is not on `PATH`.
    pub fn from_args(g: &GlobalArgs) -> Result<Self> {
        let mut target = match &g.target {
            Some(t) => Target::parse(t)?,
            None if which::which("pvesh").is_ok() => Target::Local,
            None => return Err(Error::Usage("no target: pass -t sim, -t local or -t ssh://[user@]host[:port] (or set PVECTL_TARGET)".into())),
        };
        if let Target::Ssh(o) = &mut target {
            o.config_file.clone_from(&g.ssh_config);
            o.host_keys = if g.accept_new_host_key { HostKeyPolicy::AcceptNew } else { HostKeyPolicy::Strict };
            o.persist = if g.no_persist { None } else { Some(Duration::from_secs(g.persist.max(1))) };
            o.sudo = g.sudo;
        }
        let stdout_tty = std::io::stdout().is_terminal();
        let output = g.output.unwrap_or(if stdout_tty { OutputFormat::Table } else { OutputFormat::Json });
        let color = match g.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stdout_tty && std::env::var_os("NO_COLOR").is_none(),
        };
        Ok(Self {
            target,
            tools: g.tools,
            output,
            color,
            verbose: g.verbose,
            quiet: g.quiet,
            timeout: Duration::from_secs(g.timeout.unwrap_or(DEFAULT_TIMEOUT)),
            timeout_given: g.timeout,
            yes: g.yes,
            dry_run: g.dry_run,
            progress: std::io::stderr().is_terminal() && !g.quiet,
            sudo: g.sudo,
        })
    }

    /// Opens the backend for the target: one SSH session for the whole run where SSH is used.
    ///
    /// # Errors
    /// `Transport` when the SSH master cannot be started (ssh's reason included);
    /// `Usage` for `--tools qm-pct` with the simulator target.
    pub async fn open_backend(&self) -> Result<Arc<dyn Backend>> {
        let runner = match &self.target {
            Target::Sim => {
                if self.tools == Tools::QmPct {
                    return Err(Error::Usage("--tools qm-pct needs a local or ssh:// target (the in-process sim answers API calls)".into()));
                }
                return Ok(Arc::new(ApiBackend::new(SimTransport::from_env_or_demo()?)));
            }
            Target::Local => Runner::Local { sudo: self.sudo },
            Target::Ssh(opts) => Runner::Ssh(SshRunner::connect(opts.clone()).await?),
        };
        Ok(match self.tools {
            Tools::Pvesh => Arc::new(ApiBackend::new(PveshTransport::new(runner))),
            Tools::QmPct => Arc::new(QmPctBackend::new(runner)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!(Target::parse("sim").expect("sim"), Target::Sim);
        assert_eq!(Target::parse("local").expect("local"), Target::Local);
        assert!(matches!(Target::parse("ssh://root@127.0.0.1:22").expect("ssh"), Target::Ssh(_)));
        assert!(matches!(Target::parse("pve1"), Err(Error::Usage(_))));
        assert!(matches!(Target::parse("ssh://bad host"), Err(Error::Usage(_))));
    }
}
