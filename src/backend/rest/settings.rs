//! Where the REST backend connects, and the config file that names targets.
//!
//! An [`Endpoint`] is `https://host[:port]` (port 8006 by default, as pveproxy listens). The
//! config file (`~/.config/pvectl/config.toml`, or `$XDG_CONFIG_HOME/pvectl/config.toml`, or
//! `PVECTL_CONFIG`) holds named targets:
//!
//! ```toml
//! [targets.prod]
//! url = "https://pve1.example.com:8006"
//! token_id = "pvectl@pve!ops"
//! token_secret_file = "~/.config/pvectl/prod.secret"   # mode 0600
//! fingerprint = "AA:BB:..."                             # or ca_file = "/etc/pvectl/pve-root-ca.pem"
//! ```
//!
//! The file holds no secret itself: a secret lives in a file of its own, checked to be private.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The port pveproxy listens on.
pub const DEFAULT_PORT: u16 = 8006;

/// `https://host:port` of a PVE node's API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Endpoint {
    /// Parses `https://host[:port][/]`; IPv6 as `https://[::1]:8006`.
    ///
    /// # Errors
    /// `Usage` for another scheme, a path, credentials in the URL, or a bad host or port.
    pub fn parse(s: &str) -> Result<Self> {
        let rest = s.strip_prefix("https://").ok_or_else(|| Error::Usage(format!("'{s}' is not an https:// URL")))?;
        Self::parse_authority(rest.strip_suffix('/').unwrap_or(rest), s)
    }

    /// As [`Endpoint::parse`], also taking a bare `host[:port]` (as `PROXMOX_HOST` often holds).
    ///
    /// # Errors
    /// As [`Endpoint::parse`].
    pub fn parse_lenient(s: &str) -> Result<Self> {
        if s.contains("://") { Self::parse(s) } else { Self::parse_authority(s.strip_suffix('/').unwrap_or(s), s) }
    }

    fn parse_authority(auth: &str, whole: &str) -> Result<Self> {
        let bad = |why: &str| Error::Usage(format!("invalid target '{whole}': {why}; expected https://host[:port]"));
        if auth.contains('/') || auth.contains('?') || auth.contains('#') {
            return Err(bad("no path is allowed (the API path /api2/json is added)"));
        }
        if auth.contains('@') {
            return Err(bad("credentials do not belong in the URL (use --token-id and --token-secret-file)"));
        }
        let (host, port) = if let Some(v6) = auth.strip_prefix('[') {
            let (h, tail) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
            h.parse::<std::net::Ipv6Addr>().map_err(|_| bad("bad IPv6 address"))?;
            (h, tail.strip_prefix(':'))
        } else {
            match auth.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (auth, None),
            }
        };
        if host.is_empty() || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:_".contains(&b)) {
            return Err(bad("bad host name"));
        }
        let port = match port {
            Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| bad("bad port"))?,
            None => DEFAULT_PORT,
        };
        Ok(Self { host: host.to_owned(), port })
    }

    /// The API base: `https://host:port/api2/json`.
    pub fn api_base(&self) -> String {
        format!("{self}/api2/json")
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "https://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "https://{}:{}", self.host, self.port)
        }
    }
}

/// One `[targets.<name>]` table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetEntry {
    /// `https://host[:port]` (or any other target: `ssh://...`, `local`, `sim`).
    pub url: Option<String>,
    /// `user@realm!tokenid`.
    pub token_id: Option<String>,
    /// A file holding the token secret, mode 0600. `~/` is expanded; a relative path is
    /// relative to the config file.
    pub token_secret_file: Option<PathBuf>,
    /// SHA-256 fingerprint of the node's certificate to pin.
    pub fingerprint: Option<String>,
    /// A PEM CA file to trust instead of the system roots.
    pub ca_file: Option<PathBuf>,
    /// This target's own policy rules (`[targets.NAME.policy]`), read by `safety::policy`.
    pub policy: Option<toml::Table>,
    /// SSH login user (when the url names none).
    pub user: Option<String>,
    /// SSH port (when the url names none).
    pub port: Option<u16>,
    /// Run remote tools through `sudo -n`.
    pub sudo: Option<bool>,
    /// `pvesh` or `qm-pct`.
    pub tools: Option<String>,
    /// Seconds an idle SSH master stays up for later runs; 0 closes it at the end of each run.
    pub persist: Option<u64>,
    /// An ssh config file to use instead of `~/.ssh/config`.
    pub ssh_config: Option<PathBuf>,
    /// The name of an environment variable holding the token secret.
    pub token_secret_env: Option<String>,
    /// A command whose stdout is the token secret (as git credential helpers do): a string
    /// split as a shell would (no shell runs it), or an array of arguments.
    pub token_secret_command: Option<SecretCommand>,
    /// This target's snapshot naming (`[targets.NAME.snapshots]`), read by `workflow::naming`.
    pub snapshots: Option<toml::Table>,
}

/// `token_secret_command`: `"pass show pve/prod"` or `["pass", "show", "pve/prod"]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum SecretCommand {
    /// One string, split with shell quoting rules (`shlex`), never run by a shell.
    Line(String),
    /// The argument vector itself.
    Argv(Vec<String>),
}

impl SecretCommand {
    /// The argument vector.
    ///
    /// # Errors
    /// `Usage` when the line does not split (an unclosed quote) or is empty.
    pub fn argv(&self) -> Result<Vec<String>> {
        let argv = match self {
            Self::Line(l) => shlex::split(l).ok_or_else(|| Error::Usage("token_secret_command: unbalanced quotes".into()))?,
            Self::Argv(a) => a.clone(),
        };
        if argv.first().is_none_or(String::is_empty) {
            return Err(Error::Usage("token_secret_command is empty".into()));
        }
        Ok(argv)
    }
}

impl TargetEntry {
    /// How many secret sources the entry names (at most one is allowed).
    fn secret_sources(&self) -> usize {
        usize::from(self.token_secret_file.is_some())
            + usize::from(self.token_secret_env.is_some())
            + usize::from(self.token_secret_command.is_some())
    }

    /// The token secret from the entry's one source: the file (mode checked), the
    /// environment variable, or the command's stdout. `None` when the entry names no source.
    ///
    /// # Errors
    /// `Usage` for an unreadable or open file, an unset variable, or a command that fails.
    pub fn secret(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Option<super::Secret>> {
        if let Some(p) = &self.token_secret_file {
            return super::read_secret_file(p).map(Some);
        }
        if let Some(var) = &self.token_secret_env {
            let v = env(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
            return v
                .map(super::Secret::new)
                .map(Some)
                .ok_or_else(|| Error::Usage(format!("token_secret_env: the environment variable {var} is not set or empty")));
        }
        if let Some(c) = &self.token_secret_command {
            return super::secret_command::run(&c.argv()?).map(Some);
        }
        Ok(None)
    }
}

/// The config file: named targets.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `[targets.<name>]` tables.
    #[serde(default)]
    pub targets: BTreeMap<String, TargetEntry>,
    /// The `[policy]` table: rules for every target, read by `safety::policy`.
    #[serde(default)]
    pub policy: Option<toml::Table>,
    /// The target used when none is given.
    #[serde(default)]
    pub default_target: Option<String>,
    /// `[groups] NAME = ["a", "b"]`: fleets, selected with `-t @NAME`.
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
    /// The `[checks]` table: `[checks.warn]` / `[checks.crit]` thresholds, read by `checks`.
    #[serde(default)]
    pub checks: Option<toml::Table>,
    /// The `[snapshots]` table: `template` and `change_prefix` of generated snapshot names,
    /// read by `workflow::naming`.
    #[serde(default)]
    pub snapshots: Option<toml::Table>,
    /// The `[mcp]` table: `auto_approve`, read by `pvectl mcp` (`mcp::McpSettings`).
    #[serde(default)]
    pub mcp: Option<toml::Table>,
}

impl ConfigFile {
    /// Parses the TOML text of a config file; paths are resolved against `dir` (the file's
    /// folder) and `home` (for `~/`).
    ///
    /// # Errors
    /// `Usage` with TOML's message (line and column) for a malformed file or unknown key.
    pub fn parse(text: &str, origin: &Path, home: Option<&Path>) -> Result<Self> {
        // Not TOML's own Display: it quotes the offending line, which may hold a secret
        // pasted where it does not belong.
        let mut cfg: Self = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            Error::Usage(format!("invalid config file {} (line {line}): {}", origin.display(), e.message().trim()))
        })?;
        let dir = origin.parent().unwrap_or_else(|| Path::new("."));
        for (name, t) in &mut cfg.targets {
            for p in [&mut t.token_secret_file, &mut t.ca_file, &mut t.ssh_config].into_iter().flatten() {
                *p = resolve_path(p, dir, home);
            }
            if t.secret_sources() > 1 {
                return Err(Error::Usage(format!(
                    "invalid config file {}: [targets.{name}] names more than one of token_secret_file, token_secret_env and token_secret_command",
                    origin.display()
                )));
            }
        }
        Ok(cfg)
    }

    /// Reads the config file at `path`; a missing file is an empty config.
    ///
    /// # Errors
    /// As [`ConfigFile::parse`], or `Usage` when the file exists but cannot be read.
    pub fn load(path: &Path, home: Option<&Path>) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path, home),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(Error::Usage(format!("cannot read config file {}: {e}", path.display()))),
        }
    }

    /// The target called `name`.
    pub fn target(&self, name: &str) -> Option<&TargetEntry> {
        self.targets.get(name)
    }
}

fn resolve_path(p: &Path, dir: &Path, home: Option<&Path>) -> PathBuf {
    match (p.strip_prefix("~"), home) {
        (Ok(rest), Some(h)) => h.join(rest),
        _ if p.is_relative() => dir.join(p),
        _ => p.to_owned(),
    }
}

/// Where the config file is: `PVECTL_CONFIG`, else `$XDG_CONFIG_HOME/pvectl/config.toml`,
/// else `~/.config/pvectl/config.toml`.
pub fn config_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(p) = env("PVECTL_CONFIG").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    if let Some(x) = env("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return Some(Path::new(&x).join("pvectl/config.toml"));
    }
    env("HOME").filter(|v| !v.is_empty()).map(|h| Path::new(&h).join(".config/pvectl/config.toml"))
}

/// `~/.proxmox-credentials`.
pub fn credentials_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("HOME").filter(|v| !v.is_empty()).map(|h| Path::new(&h).join(".proxmox-credentials"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        assert_eq!(Endpoint::parse("https://pve1").expect("ok"), Endpoint { host: "pve1".into(), port: 8006 });
        assert_eq!(Endpoint::parse("https://10.0.0.5:443/").expect("ok").to_string(), "https://10.0.0.5:443");
        assert_eq!(Endpoint::parse("https://[::1]:8007").expect("ok").to_string(), "https://[::1]:8007");
        assert_eq!(Endpoint::parse("https://[fe80::1]").expect("ok").port, 8006);
        assert_eq!(Endpoint::parse_lenient("pve.example.com:8443").expect("ok").to_string(), "https://pve.example.com:8443");
        for bad in [
            "http://pve1",
            "https://",
            "https://pve1:0",
            "https://pve1:x",
            "https://pve1/api2/json",
            "https://u:p@pve1",
            "https://[::1",
            "https://a b",
        ] {
            assert!(matches!(Endpoint::parse(bad), Err(Error::Usage(_))), "{bad}");
        }
        assert_eq!(Endpoint::parse("https://pve1").expect("ok").api_base(), "https://pve1:8006/api2/json");
    }

    #[test]
    fn config_file_parses_and_resolves_paths() {
        let text = "[targets.prod]\nurl = \"https://pve1:8006\"\ntoken_id = \"a@pve!t1\"\ntoken_secret_file = \"~/s/prod.secret\"\nca_file = \"ca.pem\"\n\n[targets.lab]\nurl = \"https://lab\"\nfingerprint = \"AB:CD\"\n";
        let cfg = ConfigFile::parse(text, Path::new("/etc/pvectl/config.toml"), Some(Path::new("/home/u"))).expect("parses");
        let prod = cfg.target("prod").expect("prod");
        assert_eq!(prod.token_secret_file.as_deref(), Some(Path::new("/home/u/s/prod.secret")));
        assert_eq!(prod.ca_file.as_deref(), Some(Path::new("/etc/pvectl/ca.pem")));
        assert_eq!(cfg.target("lab").expect("lab").fingerprint.as_deref(), Some("AB:CD"));
        assert!(cfg.target("nope").is_none());
    }

    #[test]
    fn config_file_refuses_unknown_keys_and_inline_secrets() {
        let e = ConfigFile::parse("[targets.x]\ntoken_secret = \"s3cr3t-value\"\n", Path::new("c.toml"), None).expect_err("unknown key");
        assert!(matches!(e, Error::Usage(_)));
        assert!(e.to_string().contains("line 2"), "{e}");
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
    }

    #[test]
    fn paths_follow_env() {
        let env = |k: &str| match k {
            "HOME" => Some("/home/u".to_owned()),
            "XDG_CONFIG_HOME" => Some("/xdg".to_owned()),
            _ => None,
        };
        assert_eq!(config_path(&env), Some(PathBuf::from("/xdg/pvectl/config.toml")));
        assert_eq!(credentials_path(&env), Some(PathBuf::from("/home/u/.proxmox-credentials")));
        let env2 = |k: &str| (k == "HOME").then(|| "/h".to_owned());
        assert_eq!(config_path(&env2), Some(PathBuf::from("/h/.config/pvectl/config.toml")));
    }
}
