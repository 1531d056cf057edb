//! What a target is: its kind ([`Target`]) and everything that kind needs ([`TargetSpec`]),
//! and the inputs a spec is built from ([`Flags`]).

use std::path::PathBuf;
use std::time::Duration;

use crate::backend::command::{SshOptions, Tools};
use crate::backend::rest::{Endpoint, Fingerprint, RestOptions};
use crate::error::{Error, Result};

/// Where pvectl acts (DESIGN.md §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The built-in simulated cluster: the state file `PVE_SIM_STATE` if set, else the user's
    /// `sim.json` (remembered between runs), see [`crate::backend::sim::SimTransport::from_env_or_demo`].
    Sim,
    /// The command backend on this host.
    Local,
    /// The command backend over SSH.
    Ssh(SshOptions),
    /// The REST backend (credentials and TLS settings in [`TargetSpec::rest`]).
    Https(Endpoint),
}

impl Target {
    /// Parses `sim`, `local`, `ssh://[user@]host[:port]` or `https://host[:port]`.
    ///
    /// # Errors
    /// `Usage` for anything else (a target name is looked up by [`super::select`]).
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "sim" => Ok(Self::Sim),
            "local" => Ok(Self::Local),
            s if s.starts_with("ssh://") => Ok(Self::Ssh(SshOptions::parse_target(s)?)),
            s if s.starts_with("https://") => Ok(Self::Https(Endpoint::parse(s)?)),
            other => Err(Error::Usage(format!(
                "unknown target '{other}': expected sim, local, ssh://[user@]host[:port], https://host[:port] or a name from the config file"
            ))),
        }
    }

    /// Whether `s` would name a config-file target rather than be a target itself.
    pub fn is_name(s: &str) -> bool {
        !matches!(s, "sim" | "local") && !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    }

    /// `sim`, `local`, `ssh` or `https`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sim => "sim",
            Self::Local => "local",
            Self::Ssh(_) => "ssh",
            Self::Https(_) => "https",
        }
    }

    /// The target as a URL (`ssh://user@host:port`, `https://host:port`, `sim`, `local`).
    pub fn url(&self) -> String {
        match self {
            Self::Sim => "sim".into(),
            Self::Local => "local".into(),
            Self::Ssh(o) => {
                let user = o.user.as_deref().map(|u| format!("{u}@")).unwrap_or_default();
                let host = if o.host.contains(':') { format!("[{}]", o.host) } else { o.host.clone() };
                let port = o.port.map(|p| format!(":{p}")).unwrap_or_default();
                format!("ssh://{user}{host}{port}")
            }
            Self::Https(e) => e.to_string(),
        }
    }
}

/// A target with everything its kind needs: SSH options (user, port, sudo, persistence,
/// ssh config) inside [`Target::Ssh`], the token and TLS trust in `rest` for https.
#[derive(Debug, Clone)]
pub struct TargetSpec {
    /// The config-file name, when the target came from one.
    pub name: Option<String>,
    /// Where to act.
    pub target: Target,
    /// Which tools the command backend uses.
    pub tools: Tools,
    /// `sudo -n` for the local command backend (SSH keeps its own in its options).
    pub sudo: bool,
    /// For https: endpoint, token and TLS trust (the secret prints as `***`).
    pub rest: Option<RestOptions>,
    /// The target's own `[targets.NAME.policy]` table.
    pub policy: Option<toml::Table>,
}

/// The inputs a [`TargetSpec`] is built from besides the environment and the config file:
/// the command line's target and connection flags.
#[derive(Debug, Clone, Default)]
#[expect(clippy::struct_excessive_bools, reason = "independent command-line flags")]
pub struct Flags {
    /// `-t`: a target, or a config-file name.
    pub target: Option<String>,
    /// `--token-id`.
    pub token_id: Option<String>,
    /// `--token-secret-file`.
    pub token_secret_file: Option<PathBuf>,
    /// `--fingerprint`.
    pub fingerprint: Option<Fingerprint>,
    /// `--ca-file`.
    pub ca_file: Option<PathBuf>,
    /// `--insecure`.
    pub insecure: bool,
    /// Trace REST requests on stderr.
    pub trace: bool,
    /// `--tools` (`pvesh` is the default; a config target's `tools` then applies).
    pub tools: Tools,
    /// `--sudo`.
    pub sudo: bool,
    /// `--ssh-config`.
    pub ssh_config: Option<PathBuf>,
    /// `--accept-new-host-key`.
    pub accept_new_host_key: bool,
    /// `--no-persist`.
    pub no_persist: bool,
    /// `--persist` seconds, when no config target sets its own.
    pub persist: Duration,
}
