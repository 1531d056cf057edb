//! `pvectl target list|show|test` and `pvectl config init`: the config file's targets, read
//! without a selected target (`target list --check` and `target test` reach them).

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use super::args::{ConfigCmd, GlobalArgs, OutputFormat, TargetCmd};
use super::config::target_flags;
use super::output::{self, Table, print};
use crate::backend::rest::{ConfigFile, SecretCommand, TargetEntry, config_path};
use crate::error::{Error, Result};
use crate::exit_codes;
use crate::target::{Target, TargetSpec};

/// How long `--check` and `target test` wait for one target, unless `--timeout` says.
const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

fn format_of(g: &GlobalArgs) -> OutputFormat {
    use std::io::IsTerminal as _;
    g.output().unwrap_or(if std::io::stdout().is_terminal() { OutputFormat::Table } else { OutputFormat::Json })
}

fn load() -> Result<(std::path::PathBuf, ConfigFile)> {
    let path = config_path(&env).ok_or_else(|| Error::Usage("no config file: HOME is not set (or set PVECTL_CONFIG)".into()))?;
    let home = env("HOME").map(std::path::PathBuf::from);
    let file = ConfigFile::load(&path, home.as_deref())?;
    Ok((path, file))
}

/// Runs a `target` command; returns the exit code after printing any error.
pub(crate) async fn run(g: &GlobalArgs, cmd: TargetCmd) -> i32 {
    let format = format_of(g);
    let r = match cmd {
        TargetCmd::List { check } => list(g, format, check).await,
        TargetCmd::Show { name } => show(format, &name),
        TargetCmd::Test { name } => test(g, format, &name).await,
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            output::print_error(format, &e, false);
            e.exit_code()
        }
    }
}

#[derive(Serialize)]
struct Listed {
    name: String,
    kind: String,
    url: String,
    groups: Vec<String>,
    default: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    check: Option<Value>,
}

fn groups_of(file: &ConfigFile, name: &str) -> Vec<String> {
    file.groups.iter().filter(|(_, m)| m.iter().any(|x| x == name)).map(|(g, _)| g.clone()).collect()
}

fn kind_of(e: &TargetEntry) -> String {
    e.url.as_deref().and_then(|u| Target::parse(u).ok()).map_or_else(|| "invalid".into(), |t| t.kind().into())
}

/// Reaches a target: opens it, reads the version and the nodes, closes it; the check as
/// `{reachable, version, nodes, latency_ms}` or `{reachable: false, error}`, and its exit code.
async fn check(g: &GlobalArgs, name: &str) -> (Value, i32) {
    let start = Instant::now();
    let limit = g.timeout.map_or(CHECK_TIMEOUT, Duration::from_secs);
    let r: Result<Value> = async {
        let spec: TargetSpec = crate::target::select(&target_flags(g, Some(name)), &env, which::which("pvesh").is_ok())?;
        let work = async {
            let b = crate::target::open(&spec).await?;
            let read = async { Ok::<_, Error>((b.version().await?, b.nodes().await?)) }.await;
            let closed = b.close().await;
            let (v, nodes) = read?;
            closed?;
            Ok::<_, Error>((v, nodes))
        };
        let (v, nodes) = tokio::time::timeout(limit, work)
            .await
            .map_err(|_| Error::Transport { message: format!("no answer within {} s", limit.as_secs()), source: None })??;
        let online = nodes.iter().filter(|n| n.status.as_deref() == Some("online")).count();
        Ok(json!({"reachable": true, "version": v.version, "nodes": nodes.len(), "nodes_online": online,
            "latency_ms": u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)}))
    }
    .await;
    match r {
        Ok(v) => (v, exit_codes::OK),
        Err(e) => (json!({"reachable": false, "error": output::error_value(&e)}), e.exit_code()),
    }
}

async fn list(g: &GlobalArgs, format: OutputFormat, with_check: bool) -> Result<i32> {
    let (_, file) = load()?;
    let mut rows: Vec<Listed> = file
        .targets
        .iter()
        .map(|(name, e)| Listed {
            name: name.clone(),
            kind: kind_of(e),
            url: e.url.clone().unwrap_or_default(),
            groups: groups_of(&file, name),
            default: file.default_target.as_deref() == Some(name),
            check: None,
        })
        .collect();
    let mut code = exit_codes::OK;
    if with_check {
        // Concurrently, bounded by --parallel.
        let bound = std::sync::Arc::new(tokio::sync::Semaphore::new(usize::from(g.parallel.max(1))));
        let checks = rows.iter().map(|r| {
            let bound = std::sync::Arc::clone(&bound);
            async move {
                let _permit = bound.acquire_owned().await;
                check(g, &r.name).await
            }
        });
        let results = join_all(checks.collect()).await;
        code = exit_codes::most_severe(results.iter().map(|(_, c)| *c));
        for (r, (v, _)) in rows.iter_mut().zip(results) {
            r.check = Some(v);
        }
    }
    print(format, &rows, |rows| {
        let mut t = Table::new(if with_check {
            &["NAME", "KIND", "URL", "GROUPS", "REACHABLE", "VERSION", "LATENCY"]
        } else {
            &["NAME", "KIND", "URL", "GROUPS"]
        });
        for r in rows {
            let name = if r.default { format!("{} (default)", r.name) } else { r.name.clone() };
            let mut row = vec![name, r.kind.clone(), r.url.clone(), output::opt(Some(&r.groups.join(",")))];
            if let Some(c) = &r.check {
                row.push(output::yes_no(c["reachable"].as_bool().unwrap_or(false)));
                row.push(c["version"].as_str().map_or_else(|| c["error"]["message"].as_str().unwrap_or("-").to_owned(), str::to_owned));
                row.push(c["latency_ms"].as_u64().map_or_else(|| "-".into(), |ms| format!("{ms} ms")));
            }
            t.row(row);
        }
        t
    })?;
    Ok(code)
}

/// Polls futures together on this task (no spawning: they borrow).
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in futures.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    out.into_iter().map(|o| o.expect("every future completed")).collect()
}

/// Where a target's secret comes from, never the secret (nor a command's arguments).
fn secret_source(e: &TargetEntry) -> Option<String> {
    if let Some(p) = &e.token_secret_file {
        return Some(format!("file {}", p.display()));
    }
    if let Some(v) = &e.token_secret_env {
        return Some(format!("env {v}"));
    }
    e.token_secret_command.as_ref().map(|c| {
        let program = match c {
            SecretCommand::Line(l) => shlex::split(l).and_then(|a| a.into_iter().next()).unwrap_or_default(),
            SecretCommand::Argv(a) => a.first().cloned().unwrap_or_default(),
        };
        format!("command {program} ...")
    })
}

fn show(format: OutputFormat, name: &str) -> Result<i32> {
    let (path, file) = load()?;
    let e = file.target(name).ok_or_else(|| Error::Usage(format!("unknown target '{name}': not in {}", path.display())))?;
    let v = json!({
        "name": name,
        "kind": kind_of(e),
        "url": e.url,
        "default": file.default_target.as_deref() == Some(name),
        "groups": groups_of(&file, name),
        "user": e.user, "port": e.port, "sudo": e.sudo, "tools": e.tools, "persist": e.persist,
        "ssh_config": e.ssh_config,
        "token_id": e.token_id,
        "token_secret": secret_source(e),
        "fingerprint": e.fingerprint, "ca_file": e.ca_file,
        "policy": e.policy,
        "snapshots": e.snapshots,
    });
    print(format, &v, |v| {
        let mut t = Table::new(&["KEY", "VALUE"]);
        if let Some(o) = v.as_object() {
            for (k, x) in o.iter().filter(|(_, x)| !x.is_null()) {
                t.row(vec![k.clone(), x.as_str().map_or_else(|| x.to_string(), str::to_owned)]);
            }
        }
        t
    })?;
    Ok(exit_codes::OK)
}

async fn test(g: &GlobalArgs, format: OutputFormat, name: &str) -> Result<i32> {
    let (mut v, code) = check(g, name).await;
    v["target"] = json!(name);
    print(format, &v, |v| {
        let mut t = Table::new(&["TARGET", "REACHABLE", "VERSION", "NODES", "LATENCY", "ERROR"]);
        t.row(vec![
            name.to_owned(),
            output::yes_no(v["reachable"].as_bool().unwrap_or(false)),
            output::opt(v["version"].as_str()),
            v["nodes"].as_u64().map_or_else(|| "-".into(), |n| n.to_string()),
            v["latency_ms"].as_u64().map_or_else(|| "-".into(), |ms| format!("{ms} ms")),
            output::opt(v["error"]["message"].as_str()),
        ]);
        t
    })?;
    Ok(code)
}

/// The commented starting file `config init` writes.
const STARTER: &str = r#"# pvectl configuration (DESIGN.md §2). This file holds no secret itself: a token secret
# comes from a file of its own (mode 0600), an environment variable, or a command.

# The target used when -t/PVECTL_TARGET is not given.
# default_target = "lab"

# The simulated cluster, for trying things out.
[targets.lab]
url = "sim"

# A node over SSH (pvesh on the node; ~/.ssh/config is honoured: ProxyJump, IdentityFile).
# [targets.pve1]
# url = "ssh://pve1.example.com"
# user = "root"
# port = 22
# sudo = false          # run pvesh through `sudo -n`
# tools = "pvesh"       # or "qm-pct" where sudo allows only qm/pct
# persist = 60          # seconds an idle SSH master stays up; 0 closes it after each run
# ssh_config = "~/.ssh/config"

# A cluster over the REST API with an API token: one secret source of three.
# [targets.prod]
# url = "https://pve-prod.example.com:8006"
# token_id = "pvectl@pve!ops"
# token_secret_file = "~/.config/pvectl/prod.secret"      # mode 0600
# token_secret_env = "PVE_PROD_SECRET"
# token_secret_command = ["pass", "show", "pve/prod"]     # stdout is the secret
# fingerprint = "AA:BB:..."                              # or ca_file = "/etc/pvectl/pve-root-ca.pem"
# [targets.prod.policy]
# max_tier = "change"

# Fleets: `pvectl -t @all guest list`.
# [groups]
# all = ["lab", "pve1", "prod"]

# Rules for every target.
# [policy]
# protected_tags = ["prod"]

# Names of snapshots made without one (`snapshot create 100`): a template with %Y %m %d %H %M %S
# (UTC), and the prefix of `--change CHG-1234` names. A target may set its own in
# [targets.NAME.snapshots]; PVECTL_SNAPSHOT_TEMPLATE and PVECTL_CHANGE_PREFIX win over both.
# [snapshots]
# template = "pvectl-%Y%m%d-%H%M%S"
# change_prefix = "change"
"#;

/// Runs a `config` command; returns the exit code after printing any error.
pub(crate) fn config(g: &GlobalArgs, cmd: &ConfigCmd) -> i32 {
    let format = format_of(g);
    let ConfigCmd::Init = cmd;
    match init() {
        Ok(path) => match print(format, &json!({"written": path}), |_| {
            let mut t = Table::new(&["WRITTEN"]);
            t.row(vec![path.display().to_string()]);
            t
        }) {
            Ok(()) => exit_codes::OK,
            Err(e) => {
                output::print_error(format, &e, false);
                e.exit_code()
            }
        },
        Err(e) => {
            output::print_error(format, &e, false);
            e.exit_code()
        }
    }
}

fn init() -> Result<std::path::PathBuf> {
    use std::io::Write as _;
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    let path = config_path(&env).ok_or_else(|| Error::Usage("no config path: HOME is not set (or set PVECTL_CONFIG)".into()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::Usage(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Usage(format!("{} exists: config init never overwrites (edit it, or move it away first)", path.display()))
        } else {
            Error::Usage(format!("cannot write {}: {e}", path.display()))
        }
    })?;
    f.write_all(STARTER.as_bytes()).map_err(|e| Error::Usage(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_file_parses() {
        let cfg = ConfigFile::parse(STARTER, std::path::Path::new("/x/config.toml"), None).expect("parses");
        assert!(cfg.target("lab").is_some());
        // The commented [snapshots] example, uncommented, is valid and names the defaults.
        let snapshots: String = STARTER
            .split("# [snapshots]\n")
            .nth(1)
            .expect("a [snapshots] example")
            .lines()
            .map(|l| l.trim_start_matches("# "))
            .collect::<Vec<_>>()
            .join("\n");
        let table: toml::Table = snapshots.parse().expect("TOML");
        let naming = crate::workflow::Naming::from_config(Some((&table, "starter [snapshots]")), None).expect("valid");
        assert_eq!(naming, crate::workflow::Naming::default());
    }
}
