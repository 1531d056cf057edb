//! Choosing the target: `-t`/`PVECTL_TARGET`, else a host in the environment or the
//! credentials file (REST), else the config file's `default_target`, else `local` when
//! `pvesh` is on `PATH`. A name is looked up in the config file's `[targets.NAME]`; a
//! selector of several (`a,b`, `@group`, `--all-targets`) is a [`Fleet`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::spec::{Flags, Target, TargetSpec};
use crate::backend::command::{HostKeyPolicy, Tools};
use crate::backend::rest::{
    ConfigFile, CredentialFlags, CredentialSources, RestOptions, TargetEntry, TlsTrust, config_path, credentials_path, resolve,
};
use crate::error::{Error, Result};

/// The config file, or an empty one when there is none (or no `HOME`).
fn load_config(env: &dyn Fn(&str) -> Option<String>) -> Result<(Option<PathBuf>, ConfigFile)> {
    let Some(path) = config_path(env) else { return Ok((None, ConfigFile::default())) };
    let home = env("HOME").map(PathBuf::from);
    let file = ConfigFile::load(&path, home.as_deref())?;
    Ok((Some(path), file))
}

/// Looks up `name` in the config file and parses its url.
fn named(name: &str, path: Option<&Path>, file: &ConfigFile) -> Result<(Target, TargetEntry)> {
    let path = path.ok_or_else(|| Error::Usage(format!("unknown target '{name}': no config file (HOME is not set)")))?;
    let e = file.target(name).ok_or_else(|| Error::Usage(format!("unknown target '{name}': not in {}", path.display())))?;
    let url = e.url.as_deref().ok_or_else(|| Error::Usage(format!("target '{name}' in {} has no url", path.display())))?;
    if Target::is_name(url) {
        return Err(Error::Usage(format!("target '{name}' in {}: url '{url}' must be a URL, sim or local", path.display())));
    }
    Ok((Target::parse(url)?, e.clone()))
}

fn parse_tools(name: &str, s: &str) -> Result<Tools> {
    match s {
        "pvesh" => Ok(Tools::Pvesh),
        "qm-pct" => Ok(Tools::QmPct),
        other => Err(Error::Usage(format!("target '{name}': tools = '{other}' is not pvesh or qm-pct"))),
    }
}

/// Builds the spec of the one target the flags, the environment and the config file choose.
///
/// # Errors
/// `Usage` for an unknown target or name, a missing or malformed token, a secret file others
/// can read, a secret command that fails, or no target at all (with how to choose one).
pub fn select(flags: &Flags, env: &dyn Fn(&str) -> Option<String>, have_pvesh: bool) -> Result<TargetSpec> {
    let cred_flags = CredentialFlags { token_id: flags.token_id.clone(), token_secret_file: flags.token_secret_file.clone() };
    let creds_file = credentials_path(env);
    let mut entry: Option<(String, TargetEntry)> = None;
    let mut target = match flags.target.as_deref() {
        Some(t) if Target::is_name(t) => {
            let (path, file) = load_config(env)?;
            let (target, e) = named(t, path.as_deref(), &file)?;
            entry = Some((t.to_owned(), e));
            target
        }
        Some(t) => Target::parse(t)?,
        // No -t: a host in the environment or the credentials file means REST.
        None => {
            let found = resolve(&CredentialSources { flags: &cred_flags, env, credentials_file: creds_file.as_deref(), target: None })?;
            if let Some(endpoint) = found.host {
                Target::Https(endpoint)
            } else {
                let (path, file) = load_config(env)?;
                match file.default_target.as_deref() {
                    Some(d) if Target::is_name(d) => {
                        let (target, e) = named(d, path.as_deref(), &file)?;
                        entry = Some((d.to_owned(), e));
                        target
                    }
                    Some(d) => Target::parse(d)?,
                    None if have_pvesh => Target::Local,
                    None => {
                        return Err(Error::Usage(
                            "no target: pass -t sim, -t local, -t ssh://[user@]host[:port] or -t https://host[:port] (or set PVECTL_TARGET or PROXMOX_HOST, or default_target in the config file)".into(),
                        ));
                    }
                }
            }
        }
    };
    let e = entry.as_ref().map(|(_, e)| e);
    let name = entry.as_ref().map_or("-", |(n, _)| n.as_str());
    let tools = match e.and_then(|e| e.tools.as_deref()) {
        Some(t) if flags.tools == Tools::Pvesh => parse_tools(name, t)?,
        _ => flags.tools,
    };
    let sudo = flags.sudo || e.and_then(|e| e.sudo).unwrap_or(false);
    if let Target::Ssh(o) = &mut target {
        if o.user.is_none() {
            o.user = e.and_then(|e| e.user.clone());
        }
        if o.port.is_none() {
            o.port = e.and_then(|e| e.port);
        }
        o.config_file = flags.ssh_config.clone().or_else(|| e.and_then(|e| e.ssh_config.clone()));
        o.host_keys = if flags.accept_new_host_key { HostKeyPolicy::AcceptNew } else { HostKeyPolicy::Strict };
        o.persist = match (flags.no_persist, e.and_then(|e| e.persist)) {
            (true, _) | (false, Some(0)) => None,
            (false, Some(s)) => Some(Duration::from_secs(s)),
            (false, None) => Some(flags.persist.max(Duration::from_secs(1))),
        };
        o.sudo = sudo;
    }
    let rest = match &target {
        Target::Https(endpoint) => Some(rest_options(flags, env, &cred_flags, creds_file.as_deref(), e, endpoint)?),
        _ => None,
    };
    Ok(TargetSpec { name: entry.as_ref().map(|(n, _)| n.clone()), target, tools, sudo, rest, policy: e.and_then(|e| e.policy.clone()) })
}

/// The token (flags, env, credentials file, then the config target's one secret source) and
/// the TLS trust (flags, then the config target, else the system roots) of an https target.
fn rest_options(
    flags: &Flags,
    env: &dyn Fn(&str) -> Option<String>,
    cred_flags: &CredentialFlags,
    creds_file: Option<&Path>,
    entry: Option<&TargetEntry>,
    endpoint: &crate::backend::rest::Endpoint,
) -> Result<RestOptions> {
    let found = resolve(&CredentialSources { flags: cred_flags, env, credentials_file: creds_file, target: entry })?;
    let credentials = found.credentials.ok_or_else(|| {
        Error::Usage(format!(
            "no API token for {endpoint}: pass --token-id and --token-secret-file, or set PROXMOX_TOKEN_ID and PROXMOX_TOKEN_SECRET (see README: REST)"
        ))
    })?;
    let trust = if flags.insecure {
        TlsTrust::Insecure
    } else if let Some(fp) = flags.fingerprint {
        TlsTrust::Pinned(fp)
    } else if let Some(ca) = &flags.ca_file {
        TlsTrust::CaFile(ca.clone())
    } else if let Some(fp) = entry.and_then(|e| e.fingerprint.as_deref()) {
        TlsTrust::Pinned(fp.parse()?)
    } else if let Some(ca) = entry.and_then(|e| e.ca_file.clone()) {
        TlsTrust::CaFile(ca)
    } else {
        TlsTrust::System
    };
    let mut opts = RestOptions::new(endpoint.clone(), credentials, trust);
    opts.trace = flags.trace;
    Ok(opts)
}

/// Several targets selected at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fleet {
    /// The members in the order given (a group's order; duplicates removed): config names
    /// or targets (`sim`, `https://...`).
    pub members: Vec<String>,
}

/// The fleet a selector names: `a,b`, `@group` (also inside a list: `@lab,prod`), or every
/// config target with `all` (which wins over a selector, so a `PVECTL_TARGET` set as the usual
/// target does not get in its way). `None` when the selector names one target.
///
/// # Errors
/// `Usage` for an unknown group or an empty selection.
pub fn fleet(selector: Option<&str>, all: bool, env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Fleet>> {
    let many = selector.is_some_and(|s| s.contains(',') || s.starts_with('@'));
    if !all && !many {
        return Ok(None);
    }
    let (path, file) = load_config(env)?;
    let origin = path.map_or_else(|| "the config file".to_owned(), |p| p.display().to_string());
    let mut members: Vec<String> = Vec::new();
    let mut push = |m: &str| {
        if !members.iter().any(|x| x == m) {
            members.push(m.to_owned());
        }
    };
    if all {
        for k in file.targets.keys() {
            push(k);
        }
    } else {
        for part in selector.unwrap_or_default().split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if let Some(g) = part.strip_prefix('@') {
                let names = file.groups.get(g).ok_or_else(|| Error::Usage(format!("unknown group '@{g}': no [groups] {g} in {origin}")))?;
                for n in names {
                    push(n);
                }
            } else {
                push(part);
            }
        }
    }
    if members.is_empty() {
        return Err(Error::Usage(format!("the selection names no target (see [targets] and [groups] in {origin})")));
    }
    Ok(Some(Fleet { members }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
        move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    }

    fn config(text: &str) -> (tempfile::TempDir, Vec<(&'static str, String)>) {
        let dir = tempfile::tempdir().expect("dir");
        let cfg = dir.path().join("config.toml");
        std::fs::write(&cfg, text).expect("write");
        let env = vec![("PVECTL_CONFIG", cfg.display().to_string()), ("HOME", "/nonexistent".into())];
        (dir, env)
    }

    #[test]
    fn ssh_entries_fill_what_the_url_leaves_out() {
        let (_d, env) = config(
            "[targets.a]\nurl = \"ssh://pve1\"\nuser = \"ops\"\nport = 2222\nsudo = true\ntools = \"qm-pct\"\npersist = 0\nssh_config = \"/x/ssh_config\"\n",
        );
        let spec = select(&Flags { target: Some("a".into()), ..Flags::default() }, &env_of(env), false).expect("ok");
        let Target::Ssh(o) = &spec.target else { panic!("ssh: {spec:?}") };
        assert_eq!((o.user.as_deref(), o.port, o.sudo, o.persist), (Some("ops"), Some(2222), true, None));
        assert_eq!(o.config_file.as_deref(), Some(Path::new("/x/ssh_config")));
        assert_eq!(spec.tools, Tools::QmPct);
        assert_eq!(spec.target.url(), "ssh://ops@pve1:2222");
    }

    #[test]
    fn secret_from_env_or_command_and_only_one_source() {
        let (_d, env) = config(
            "[targets.e]\nurl = \"https://pve1\"\ntoken_id = \"a@pve!tok\"\ntoken_secret_env = \"MY_SECRET\"\n\n[targets.c]\nurl = \"https://pve2\"\ntoken_id = \"a@pve!tok\"\ntoken_secret_command = [\"printf\", \"from-cmd\"]\n\n[targets.l]\nurl = \"https://pve3\"\ntoken_id = \"a@pve!tok\"\ntoken_secret_command = \"printf 'from line'\"\n",
        );
        let mut env = env;
        env.push(("MY_SECRET", "from-env".into()));
        let get = |t: &str| select(&Flags { target: Some(t.into()), ..Flags::default() }, &env_of(env.clone()), false);
        assert_eq!(get("e").expect("e").rest.expect("rest").credentials.secret.expose(), "from-env");
        assert_eq!(get("c").expect("c").rest.expect("rest").credentials.secret.expose(), "from-cmd");
        assert_eq!(get("l").expect("l").rest.expect("rest").credentials.secret.expose(), "from line");
        let (_d2, env2) = config("[targets.x]\nurl = \"https://p\"\ntoken_secret_env = \"A\"\ntoken_secret_file = \"/s\"\n");
        let e = select(&Flags { target: Some("x".into()), ..Flags::default() }, &env_of(env2), false).expect_err("two sources");
        assert!(e.to_string().contains("more than one"), "{e}");
    }

    #[test]
    fn default_target_and_groups() {
        let (_d, env) = config(
            "default_target = \"lab\"\n\n[targets.lab]\nurl = \"sim\"\n\n[targets.b]\nurl = \"sim\"\n\n[groups]\nall = [\"lab\", \"b\"]\n",
        );
        let spec = select(&Flags::default(), &env_of(env.clone()), false).expect("default");
        assert_eq!((spec.name.as_deref(), spec.target), (Some("lab"), Target::Sim));
        let f = fleet(Some("@all,sim,lab"), false, &env_of(env.clone())).expect("ok").expect("fleet");
        assert_eq!(f.members, ["lab", "b", "sim"]);
        assert_eq!(fleet(Some("lab"), false, &env_of(env.clone())).expect("ok"), None);
        assert_eq!(fleet(None, true, &env_of(env.clone())).expect("ok").expect("all").members, ["b", "lab"]);
        assert_eq!(fleet(Some("lab"), true, &env_of(env.clone())).expect("ok").expect("all").members, ["b", "lab"]);
        assert!(matches!(fleet(Some("@nope"), false, &env_of(env)), Err(Error::Usage(_))));
    }
}
