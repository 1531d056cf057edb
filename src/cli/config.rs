//! Validated configuration: the raw arguments turned into a target, an output mode and
//! connection options, before any backend is opened.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use super::args::{ColorChoice, GlobalArgs, OutputFormat};
use crate::backend::Backend;
use crate::backend::command::Tools;
use crate::backend::rest::{ConfigFile, RestOptions, config_path};
use crate::error::{Error, Result};
use crate::safety::PolicyRules;

/// The default deadline of actions and waits, seconds.
pub(crate) const DEFAULT_TIMEOUT: u64 = 300;
/// The default deadline of reads, seconds.
pub(crate) const DEFAULT_READ_TIMEOUT: u64 = 60;

pub use crate::target::Target;

/// The environment as [`crate::backend::rest::resolve`] reads it.
fn process_env(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

/// The target flags of the global arguments, with `-t` replaced by `target`.
pub(crate) fn target_flags(g: &GlobalArgs, target: Option<&str>) -> crate::target::Flags {
    crate::target::Flags {
        target: target.map(str::to_owned),
        token_id: g.token_id.clone(),
        token_secret_file: g.token_secret_file.clone(),
        fingerprint: g.fingerprint,
        ca_file: g.ca_file.clone(),
        insecure: g.insecure,
        trace: g.verbose > 0 && !g.quiet,
        tools: g.tools,
        sudo: g.sudo,
        ssh_config: g.ssh_config.clone(),
        accept_new_host_key: g.accept_new_host_key,
        no_persist: g.no_persist,
        persist: Duration::from_secs(g.persist),
    }
}

/// Picks the target and, for https://, the credentials and TLS trust, from explicit inputs:
/// the global arguments, an environment lookup, and whether `pvesh` is on `PATH`
/// ([`crate::target::select`]).
///
/// # Errors
/// `Usage` for an unknown target or name, a missing or malformed token, a secret file others
/// can read.
#[cfg(test)]
pub(crate) fn select_target(
    g: &GlobalArgs,
    env: &dyn Fn(&str) -> Option<String>,
    have_pvesh: bool,
) -> Result<(Target, Option<RestOptions>)> {
    let spec = crate::target::select(&target_flags(g, g.target.as_deref()), env, have_pvesh)?;
    Ok((spec.target, spec.rest))
}

/// Everything a command needs besides its own arguments.
#[derive(Debug, Clone)]
#[expect(clippy::struct_excessive_bools, reason = "independent settings decided once from the command line")]
pub struct Config {
    /// The config-file name of the target, when it came from one.
    pub name: Option<String>,
    /// Where to act.
    pub target: Target,
    /// Which tools the command backend uses.
    pub tools: Tools,
    /// Output format, decided once.
    pub output: OutputFormat,
    /// Whether to colour stderr (errors): `--color`, else a terminal without `NO_COLOR`.
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
    /// For an https:// target: endpoint, token and TLS trust (the secret prints as `***`).
    pub rest: Option<RestOptions>,
    /// The policy rules: `[policy]` tightened by the selected target's `[targets.NAME.policy]`.
    pub policy: PolicyRules,
    /// Where the rules came from (`/path/config.toml [policy]`, ...).
    pub policy_sources: Vec<String>,
    /// Snapshot naming from the config file: `[snapshots]`, then the selected target's
    /// `[targets.NAME.snapshots]` (flags and environment go on top where they are used).
    pub naming: crate::workflow::Naming,
}

/// Reads `[policy]` and, for a named target, `[targets.NAME.policy]` from the config file.
///
/// # Errors
/// `Usage` for a malformed file or rule.
fn policy_rules(name: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> Result<(PolicyRules, Vec<String>)> {
    let Some(path) = config_path(env) else { return Ok((PolicyRules::default(), Vec::new())) };
    let home = env("HOME").map(std::path::PathBuf::from);
    let file = ConfigFile::load(&path, home.as_deref())?;
    let mut rules = PolicyRules::default();
    let mut sources = Vec::new();
    if let Some(t) = &file.policy {
        let origin = format!("{} [policy]", path.display());
        rules = PolicyRules::from_toml(t, &origin)?;
        sources.push(origin);
    }
    if let Some(name) = name
        && let Some(t) = file.target(name).and_then(|e| e.policy.as_ref())
    {
        let origin = format!("{} [targets.{name}.policy]", path.display());
        rules = rules.merged(&PolicyRules::from_toml(t, &origin)?);
        sources.push(origin);
    }
    Ok((rules, sources))
}

/// Reads `[snapshots]` and, for a named target, `[targets.NAME.snapshots]` from the config
/// file ([`crate::workflow::Naming::from_config`]).
///
/// # Errors
/// `Usage` for a malformed file, or a template or prefix that cannot name a snapshot.
fn naming(name: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> Result<crate::workflow::Naming> {
    let Some(path) = config_path(env) else { return Ok(crate::workflow::Naming::default()) };
    let home = env("HOME").map(std::path::PathBuf::from);
    let file = ConfigFile::load(&path, home.as_deref())?;
    let global = file.snapshots.as_ref().map(|t| (t, format!("config file {} [snapshots]", path.display())));
    let target = name.and_then(|n| {
        file.target(n).and_then(|e| e.snapshots.as_ref()).map(|t| (t, format!("config file {} [targets.{n}.snapshots]", path.display())))
    });
    crate::workflow::Naming::from_config(global.as_ref().map(|(t, o)| (*t, o.as_str())), target.as_ref().map(|(t, o)| (*t, o.as_str())))
}

/// The config file's `[checks]` table and where it came from, if there is one.
///
/// # Errors
/// `Usage` for a malformed file.
pub(crate) fn checks_table() -> Result<Option<(toml::Table, String)>> {
    let Some(path) = config_path(&process_env) else { return Ok(None) };
    let home = process_env("HOME").map(std::path::PathBuf::from);
    let file = ConfigFile::load(&path, home.as_deref())?;
    Ok(file.checks.map(|t| (t, format!("{} [checks]", path.display()))))
}

impl Config {
    /// Validates the global arguments.
    ///
    /// # Errors
    /// `Usage` for an unknown target, when none is given and neither a host is configured nor
    /// `pvesh` is on `PATH`, or for an https:// target without a usable token.
    pub fn from_args(g: &GlobalArgs) -> Result<Self> {
        Self::for_target(g, g.target.as_deref())
    }

    /// As [`Config::from_args`] with `-t` replaced by `target` (one member of a fleet).
    ///
    /// # Errors
    /// As [`Config::from_args`].
    pub fn for_target(g: &GlobalArgs, target: Option<&str>) -> Result<Self> {
        if let Some(t) = g.timeout.filter(|t| *t > crate::backend::MAX_TIMEOUT_SECS) {
            return Err(Error::Usage(format!(
                "--timeout {t} is longer than the {} s (one week) pvectl accepts",
                crate::backend::MAX_TIMEOUT_SECS
            )));
        }
        let spec = crate::target::select(&target_flags(g, target), &process_env, which::which("pvesh").is_ok())?;
        let (policy, policy_sources) = policy_rules(spec.name.as_deref(), &process_env)?;
        let naming = naming(spec.name.as_deref(), &process_env)?;
        let stdout_tty = std::io::stdout().is_terminal();
        let output = g.output().unwrap_or(if stdout_tty { OutputFormat::Table } else { OutputFormat::Json });
        let color = match g.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        };
        Ok(Self {
            name: spec.name,
            target: spec.target,
            tools: spec.tools,
            output,
            color,
            verbose: g.verbose,
            quiet: g.quiet,
            timeout: Duration::from_secs(g.timeout.unwrap_or(DEFAULT_TIMEOUT)),
            timeout_given: g.timeout,
            yes: g.yes,
            dry_run: g.dry_run,
            progress: std::io::stderr().is_terminal() && !g.quiet,
            sudo: spec.sudo,
            rest: spec.rest,
            policy,
            policy_sources,
            naming,
        })
    }

    /// Opens the backend for the target ([`crate::target::open`]).
    ///
    /// # Errors
    /// As [`crate::target::open`].
    pub async fn open_backend(&self) -> Result<Arc<dyn Backend>> {
        crate::target::open(&crate::target::TargetSpec {
            name: self.name.clone(),
            target: self.target.clone(),
            tools: self.tools,
            sudo: self.sudo,
            rest: self.rest.clone(),
            policy: None,
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::rest::{Endpoint, TlsTrust};
    use clap::Parser as _;

    #[test]
    fn targets_parse() {
        assert_eq!(Target::parse("sim").expect("sim"), Target::Sim);
        assert_eq!(Target::parse("local").expect("local"), Target::Local);
        assert!(matches!(Target::parse("ssh://root@127.0.0.1:22").expect("ssh"), Target::Ssh(_)));
        assert!(matches!(Target::parse("pve1"), Err(Error::Usage(_))));
        assert!(matches!(Target::parse("ssh://bad host"), Err(Error::Usage(_))));
        assert_eq!(Target::parse("https://pve1").expect("https"), Target::Https(Endpoint { host: "pve1".into(), port: 8006 }));
        assert!(matches!(Target::parse("https://pve1/x"), Err(Error::Usage(_))));
    }

    const SECRET: &str = "0b5e3a1c-1111-2222-3333-444455556666";

    fn global(flags: &[&str]) -> GlobalArgs {
        let argv = ["pvectl"].iter().chain(flags).chain(&["guest", "list"]);
        crate::cli::Cli::try_parse_from(argv).expect("parses").global
    }

    fn env_of(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
        move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    }

    fn token_env() -> Vec<(&'static str, String)> {
        vec![("PROXMOX_TOKEN_ID", "ops@pve!pvectl".into()), ("PROXMOX_TOKEN_SECRET", SECRET.into()), ("HOME", "/nonexistent".into())]
    }

    #[test]
    fn https_target_takes_token_from_env_and_verifies_by_default() {
        let (t, rest) = select_target(&global(&["-t", "https://pve1"]), &env_of(token_env()), false).expect("ok");
        assert_eq!(t, Target::Https(Endpoint { host: "pve1".into(), port: 8006 }));
        let rest = rest.expect("rest options");
        assert_eq!(rest.trust, TlsTrust::System);
        assert_eq!(rest.credentials.token_id.to_string(), "ops@pve!pvectl");
        assert!(!format!("{rest:?}").contains(SECRET));
    }

    #[test]
    fn tls_flags_choose_the_trust() {
        let fp = "AA:".repeat(31) + "AA";
        let (_, r) = select_target(&global(&["-t", "https://pve1", "--fingerprint", &fp]), &env_of(token_env()), false).expect("ok");
        assert!(matches!(r.expect("rest").trust, TlsTrust::Pinned(_)));
        let (_, r) = select_target(&global(&["-t", "https://pve1", "--insecure"]), &env_of(token_env()), false).expect("ok");
        assert_eq!(r.expect("rest").trust, TlsTrust::Insecure);
        let (_, r) = select_target(&global(&["-t", "https://pve1", "--ca-file", "/x/ca.pem"]), &env_of(token_env()), false).expect("ok");
        assert_eq!(r.expect("rest").trust, TlsTrust::CaFile("/x/ca.pem".into()));
        assert!(crate::cli::Cli::try_parse_from(["pvectl", "--insecure", "--fingerprint", &fp, "guest", "list"]).is_err());
        assert!(crate::cli::Cli::try_parse_from(["pvectl", "--fingerprint", "AA:BB", "guest", "list"]).is_err());
    }

    #[test]
    fn https_without_token_is_a_usage_error() {
        let e =
            select_target(&global(&["-t", "https://pve1"]), &env_of(vec![("HOME", "/nonexistent".into())]), true).expect_err("no token");
        assert!(matches!(&e, Error::Usage(m) if m.contains("PROXMOX_TOKEN_ID")), "{e}");
    }

    #[test]
    fn default_target_from_env_host_then_pvesh() {
        let mut env = token_env();
        env.push(("PROXMOX_HOST", "10.1.2.3".into()));
        let (t, _) = select_target(&global(&[]), &env_of(env), true).expect("ok");
        assert_eq!(t.clone(), Target::Https(Endpoint { host: "10.1.2.3".into(), port: 8006 }));
        let (t, rest) = select_target(&global(&[]), &env_of(token_env()), true).expect("ok");
        assert_eq!((t, rest.is_none()), (Target::Local, true));
        assert!(matches!(select_target(&global(&[]), &env_of(token_env()), false), Err(Error::Usage(_))));
    }

    #[test]
    fn named_target_from_config_file() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("dir");
        let secret = dir.path().join("prod.secret");
        std::fs::write(&secret, SECRET).expect("write");
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let fp = "ab:".repeat(31) + "ab";
        let cfg = dir.path().join("config.toml");
        std::fs::write(&cfg, format!("[targets.prod]\nurl = \"https://pve-prod:8443\"\ntoken_id = \"ops@pve!prod\"\ntoken_secret_file = \"prod.secret\"\nfingerprint = \"{fp}\"\n\n[targets.lab]\nurl = \"sim\"\n")).expect("write");
        let env = vec![("PVECTL_CONFIG", cfg.display().to_string()), ("HOME", "/nonexistent".into())];
        let (t, rest) = select_target(&global(&["-t", "prod"]), &env_of(env.clone()), false).expect("ok");
        assert_eq!(t, Target::Https(Endpoint { host: "pve-prod".into(), port: 8443 }));
        let rest = rest.expect("rest");
        assert_eq!(rest.credentials.secret.expose(), SECRET);
        assert_eq!(rest.trust, TlsTrust::Pinned(fp.parse().expect("fp")));
        // A flag still wins over the config file.
        let (_, rest) = select_target(&global(&["-t", "prod", "--insecure"]), &env_of(env.clone()), false).expect("ok");
        assert_eq!(rest.expect("rest").trust, TlsTrust::Insecure);
        assert_eq!(select_target(&global(&["-t", "lab"]), &env_of(env.clone()), false).expect("ok").0, Target::Sim);
        let e = select_target(&global(&["-t", "nope"]), &env_of(env), false).expect_err("unknown");
        assert!(e.to_string().contains("not in"), "{e}");
    }
}
