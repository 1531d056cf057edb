//! The `qm` and `pct` faces on the node the tools run on: reads (`list`, `status`, `config`,
//! `listsnapshot`), printing what qm/pct print (FORMATS.md §1, §2) from the core's API
//! answers, and actions (`start|stop|shutdown|reboot|reset|suspend|resume <vmid>`,
//! `snapshot <vmid> <name>`, `rollback <vmid> <name>`, `delsnapshot <vmid> <name>`,
//! `clone <vmid> <newid>`, `template <vmid>`, `create <vmid>` (pct: `create <vmid>
//! <ostemplate>`), pct `restore <vmid> <archive>`, `destroy <vmid>`, `set <vmid>`), each the
//! API call of the same name run as a foreground task (`foreground.rs`); `pending <vmid>`
//! prints pve-guest-common's `format_pending` text; `unlock <vmid>` edits the config
//! directly as qm.pm/pct.pm do. `template` exits 0 even when it fails (no output handler).
//!
//! Usage errors follow pve-common's `CLIHandler`: `ERROR: ...` + `USAGE: ...` for a bad
//! command, `400 not enough arguments` / `400 too many arguments` / Getopt's
//! `Unknown option: x` + `400 unable to parse option` for bad arguments, all exit 255.

use serde_json::Value;

use super::core::Sim;
use super::foreground::{Foreground, Report, Step};
use super::pvesh_face::Output;
use super::route::check_int;
use super::snapshots::check_snapname;
use super::text;
use crate::backend::api::{Method, Params};
use crate::model::GuestKind;

/// One sub-command's arguments: positional values and `--option [value]` pairs.
struct Parsed {
    positional: Vec<String>,
    options: Vec<(String, String)>,
}

/// Splits `args`; `flags` are the boolean options (value optional), `valued` take a value.
fn parse(args: &[String], flags: &[&str], valued: &[&str]) -> Result<Parsed, String> {
    let mut p = Parsed { positional: Vec::new(), options: Vec::new() };
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        let Some(opt) = a.strip_prefix("--").or_else(|| a.strip_prefix('-')).filter(|o| !o.is_empty() && a != "-") else {
            p.positional.push(a.clone());
            continue;
        };
        let (name, inline) = opt.split_once('=').map_or((opt, None), |(n, v)| (n, Some(v.to_owned())));
        let value = if flags.contains(&name) {
            inline.or_else(|| it.next_if(|v| matches!(v.as_str(), "0" | "1")).cloned()).unwrap_or_else(|| "1".to_owned())
        } else if valued.contains(&name) || valued.contains(&"*") {
            inline.or_else(|| it.next().cloned()).ok_or_else(|| format!("Option {name} requires an argument\n"))?
        } else {
            return Err(format!("Unknown option: {name}\n"));
        };
        p.options.push((name.to_owned(), value));
    }
    Ok(p)
}

impl Parsed {
    fn flag(&self, name: &str) -> bool {
        self.options.iter().any(|(k, v)| k == name && v != "0")
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.options.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A sub-command: synopsis after the tool name, positional count, boolean options, options
/// taking a value (the API method's parameters, as the tools take them).
type Spec = (&'static str, usize, &'static [&'static str], &'static [&'static str]);

/// The sub-commands of `qm` (`kind` qemu) or `pct` (lxc); `None` for an unknown one.
fn spec(kind: GuestKind, cmd: &str) -> Option<Spec> {
    let qemu = kind == GuestKind::Qemu;
    Some(match cmd {
        "list" => ("list  [OPTIONS]", 0, &["full"], &[]),
        "status" => ("status <vmid> [OPTIONS]", 1, &["verbose"], &[]),
        "config" => ("config <vmid> [OPTIONS]", 1, &["current"], &["snapshot"]),
        "listsnapshot" => ("listsnapshot <vmid>", 1, &[], &[]),
        "start" if qemu => (
            "start <vmid> [OPTIONS]",
            1,
            &["skiplock"],
            &["force-cpu", "machine", "migratedfrom", "migration_network", "migration_type", "stateuri", "targetstorage", "timeout"],
        ),
        "start" => ("start <vmid> [OPTIONS]", 1, &["debug", "skiplock"], &[]),
        "stop" if qemu => ("stop <vmid> [OPTIONS]", 1, &["keepActive", "overrule-shutdown", "skiplock"], &["migratedfrom", "timeout"]),
        "stop" => ("stop <vmid> [OPTIONS]", 1, &["overrule-shutdown", "skiplock"], &[]),
        "shutdown" if qemu => ("shutdown <vmid> [OPTIONS]", 1, &["forceStop", "keepActive", "skiplock"], &["timeout"]),
        "shutdown" => ("shutdown <vmid> [OPTIONS]", 1, &["forceStop"], &["timeout"]),
        "reboot" => ("reboot <vmid> [OPTIONS]", 1, &[], &["timeout"]),
        "reset" if qemu => ("reset <vmid> [OPTIONS]", 1, &["skiplock"], &[]),
        "suspend" if qemu => ("suspend <vmid> [OPTIONS]", 1, &["skiplock", "todisk"], &["statestorage"]),
        "suspend" => ("suspend <vmid>", 1, &[], &[]),
        "resume" if qemu => ("resume <vmid> [OPTIONS]", 1, &["nocheck", "skiplock"], &[]),
        "resume" => ("resume <vmid>", 1, &[], &[]),
        "snapshot" if qemu => ("snapshot <vmid> <snapname> [OPTIONS]", 2, &["vmstate"], &["description"]),
        "snapshot" => ("snapshot <vmid> <snapname> [OPTIONS]", 2, &[], &["description"]),
        "rollback" => ("rollback <vmid> <snapname> [OPTIONS]", 2, &["start"], &[]),
        "delsnapshot" => ("delsnapshot <vmid> <snapname> [OPTIONS]", 2, &["force"], &[]),
        "clone" if qemu => (
            "clone <vmid> <newid> [OPTIONS]",
            2,
            &["full"],
            &["bwlimit", "description", "format", "name", "pool", "snapname", "storage", "target"],
        ),
        "clone" => (
            "clone <vmid> <newid> [OPTIONS]",
            2,
            &["full"],
            &["bwlimit", "description", "hostname", "pool", "snapname", "storage", "target"],
        ),
        "template" if qemu => ("template <vmid> [OPTIONS]", 1, &[], &["disk"]),
        "template" => ("template <vmid>", 1, &[], &[]),
        "create" if qemu => ("create <vmid> [OPTIONS]", 1, &["start", "force", "unique", "live-restore"], &["*"]),
        "create" => ("create <vmid> <ostemplate> [OPTIONS]", 2, &["start", "force", "unique", "restore", "ignore-unpack-errors"], &["*"]),
        "restore" if !qemu => ("restore <vmid> <ostemplate> [OPTIONS]", 2, &["start", "force", "unique", "ignore-unpack-errors"], &["*"]),
        "destroy" if qemu => ("destroy <vmid> [OPTIONS]", 1, &["destroy-unreferenced-disks", "purge", "skiplock"], &[]),
        "destroy" => ("destroy <vmid> [OPTIONS]", 1, &["destroy-unreferenced-disks", "force", "purge"], &[]),
        "set" if qemu => ("set <vmid> [OPTIONS]", 1, &["skiplock", "force"], &["*"]),
        "set" => ("set <vmid> [OPTIONS]", 1, &[], &["*"]),
        "pending" => ("pending <vmid>", 1, &[], &[]),
        "unlock" => ("unlock <vmid>", 1, &[], &[]),
        _ => return None,
    })
}

/// Runs `qm <args>` (`kind` qemu) or `pct <args>` (`kind` lxc) on `sim` to the end, sleeping
/// while a foreground task runs.
#[cfg(test)]
pub(crate) fn run(sim: &mut Sim, kind: GuestKind, args: &[String]) -> Output {
    let step = start(sim, kind, args);
    super::foreground::run_to_end(sim, step)
}

/// Starts `qm <args>` (`kind` qemu) or `pct <args>` (`kind` lxc) on `sim`'s local node: the
/// output, or the task an action started (run in the foreground, no UPID printed).
pub(crate) fn start(sim: &mut Sim, kind: GuestKind, args: &[String]) -> Step {
    sim.set_cli();
    let tool = kind.tool();
    let usage = format!("USAGE: {tool} <COMMAND> [ARGS] [OPTIONS]\n");
    let Some(cmd) = args.first() else {
        return Step::Done(Output::fail(format!("ERROR: no command specified\n{usage}"), 255));
    };
    if let Some(step) = super::tools_ops::start(sim, kind, args) {
        return step;
    }
    let Some((synopsis, wanted, flags, valued)) = spec(kind, cmd) else {
        return Step::Done(Output::fail(format!("ERROR: unknown command '{tool} {cmd}'\n{usage}"), 255));
    };
    let synopsis = format!("{tool} {synopsis}\n");
    let p = match parse(&args[1..], flags, valued) {
        Ok(p) => p,
        Err(getopt) => return Step::Done(Output::fail(format!("{getopt}400 unable to parse option\n{synopsis}"), 255)),
    };
    if p.positional.len() < wanted {
        return Step::Done(Output::fail(format!("400 not enough arguments\n{synopsis}"), 255));
    }
    if p.positional.len() > wanted {
        return Step::Done(Output::fail(format!("400 too many arguments\n{synopsis}"), 255));
    }
    let node = sim.local_node().to_owned();
    if cmd == "list" {
        return Step::Done(match sim.handle(Method::Get, &format!("/nodes/{node}/{kind}"), &Params::new()) {
            Ok(v) => Output::ok(if kind == GuestKind::Qemu { text::qm_list(&v) } else { text::pct_list(&v) }),
            Err(e) => Output::error(&e),
        });
    }
    let vmid = &p.positional[0];
    if let Err(e) = check_int("vmid", vmid, 100) {
        return Step::Done(Output::fail(format!("{}\n{synopsis}", e.cli_text()), 255));
    }
    let base = format!("/nodes/{node}/{kind}/{vmid}");
    let read = match cmd.as_str() {
        "status" => sim.handle(Method::Get, &format!("{base}/status/current"), &Params::new()).map(|v| {
            if kind == GuestKind::Qemu { text::qm_status(&v, p.flag("verbose")) } else { text::pct_status(&v, p.flag("verbose")) }
        }),
        "config" => {
            let params: Params = p.value("snapshot").map(|s| vec![("snapshot".to_owned(), s.to_owned())]).unwrap_or_default();
            sim.handle(Method::Get, &format!("{base}/config"), &params).map(|v| text::guest_config(&v))
        }
        "listsnapshot" => sim.handle(Method::Get, &format!("{base}/snapshot"), &Params::new()).map(|v: Value| text::listsnapshot(&v)),
        "pending" => sim.handle(Method::Get, &format!("{base}/pending"), &Params::new()).map(|v| text::pending(&v)),
        "unlock" => super::config::unlock(sim, kind, &node, vmid).map(|()| String::new()),
        _ => return action(sim, cmd, &base, p, &synopsis),
    };
    Step::Done(match read {
        Ok(s) => Output::ok(s),
        Err(e) => Output::error(&e),
    })
}

/// The API path `qm <args>` (`kind` qemu) or `pct <args>` (lxc) calls on `node`; `None` for
/// a usage error.
pub(crate) fn api_path(node: &str, kind: GuestKind, args: &[String]) -> Option<String> {
    let cmd = args.first()?;
    let (_, wanted, flags, valued) = spec(kind, cmd)?;
    let p = parse(&args[1..], flags, valued).ok()?;
    if p.positional.len() != wanted {
        return None;
    }
    if cmd == "list" {
        return Some(format!("/nodes/{node}/{kind}"));
    }
    let base = format!("/nodes/{node}/{kind}/{}", p.positional[0]);
    Some(match cmd.as_str() {
        "status" => format!("{base}/status/current"),
        "config" | "set" | "unlock" => format!("{base}/config"),
        "listsnapshot" | "snapshot" => format!("{base}/snapshot"),
        "rollback" => format!("{base}/snapshot/{}/rollback", p.positional[1]),
        "delsnapshot" => format!("{base}/snapshot/{}", p.positional[1]),
        "clone" | "template" | "pending" => format!("{base}/{cmd}"),
        "create" | "restore" => format!("/nodes/{node}/{kind}"),
        "destroy" => base,
        power => format!("{base}/status/{power}"),
    })
}

/// An action sub-command: the API call it is (options passed as its parameters), run as a
/// foreground task.
fn action(sim: &mut Sim, cmd: &str, base: &str, p: Parsed, synopsis: &str) -> Step {
    let mut params = p.options;
    let node = sim.local_node().to_owned();
    let kind = if base.contains("/lxc/") { GuestKind::Lxc } else { GuestKind::Qemu };
    let vmid = p.positional[0].clone();
    let mut report = Report::Tool;
    let (method, path) = match cmd {
        "clone" => {
            params.insert(0, ("newid".to_owned(), p.positional[1].clone()));
            (Method::Post, format!("{base}/clone"))
        }
        "template" => {
            // qm.pm/pct.pm register `template` without an output handler: exit 0 even
            // when the conversion fails.
            report = Report::ToolExit0;
            (Method::Post, format!("{base}/template"))
        }
        "create" | "restore" => {
            params.insert(0, ("vmid".to_owned(), vmid.clone()));
            if kind == GuestKind::Lxc {
                params.insert(1, ("ostemplate".to_owned(), p.positional[1].clone()));
            }
            if cmd == "restore" {
                params.push(("restore".to_owned(), "1".to_owned()));
            }
            (Method::Post, format!("/nodes/{node}/{kind}"))
        }
        "destroy" => (Method::Delete, base.to_owned()),
        "set" => (Method::Put, format!("{base}/config")),
        "snapshot" | "rollback" | "delsnapshot" => {
            let name = &p.positional[1];
            if let Err(e) = check_snapname(name) {
                return Step::Done(Output::fail(format!("{}\n{synopsis}", e.cli_text()), 255));
            }
            match cmd {
                "snapshot" => {
                    params.insert(0, ("snapname".to_owned(), name.clone()));
                    (Method::Post, format!("{base}/snapshot"))
                }
                "rollback" => (Method::Post, format!("{base}/snapshot/{name}/rollback")),
                _ => (Method::Delete, format!("{base}/snapshot/{name}")),
            }
        }
        power => (Method::Post, format!("{base}/status/{power}")),
    };
    match sim.handle(method, &path, &params) {
        Ok(v) => match v.as_str() {
            Some(upid) => Step::Wait(Foreground { upid: upid.to_owned(), report }),
            // `pct template`: the API answers `null`, the CLI still runs the `vztemplate`
            // worker in the foreground.
            None if cmd == "template" => {
                let running =
                    sim.state().tasks.iter().rev().find(|t| t.upid.id == vmid && t.upid.task_type == "vztemplate" && t.pending.is_some());
                match running {
                    Some(t) => Step::Wait(Foreground { upid: t.upid.as_str().to_owned(), report }),
                    None => Step::Done(Output::ok("")),
                }
            }
            None => Step::Done(Output::ok("")),
        },
        Err(e) if report == Report::ToolExit0 => Step::Done(Output { code: 0, ..Output::error(&e) }),
        Err(e) => Step::Done(Output::error(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sim::demo::demo_state;

    fn run_on(node: &str, kind: GuestKind, a: &[&str]) -> Output {
        let mut sim = Sim::new(demo_state()).with_local_node(Some(node.to_owned()));
        run(&mut sim, kind, &a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn qm_on_the_local_node_only() {
        let out = run_on("pve1", GuestKind::Qemu, &["status", "100"]);
        assert_eq!((out.code, out.stdout.as_str()), (0, "status: running\n"));
        let out = run_on("pve2", GuestKind::Qemu, &["status", "100"]);
        assert_eq!((out.code, out.stderr.as_str()), (255, "Configuration file 'nodes/pve2/qemu-server/100.conf' does not exist\n"));
        let out = run_on("pve2", GuestKind::Qemu, &["status", "104"]);
        assert_eq!(out.stdout, "status: paused\n");
        let out = run_on("pve1", GuestKind::Lxc, &["status", "102", "--verbose"]);
        assert!(out.stdout.contains("\ntype: lxc\n") && !out.stdout.contains("cpu:"), "{}", out.stdout);
    }

    #[test]
    fn config_and_snapshots_of_the_demo() {
        let out = run_on("pve1", GuestKind::Qemu, &["config", "100"]);
        assert!(out.stdout.contains("description: Main web server%0AOwner%3A ops team <ops@example.com>\n"), "{}", out.stdout);
        assert!(!out.stdout.contains("digest"));
        let out = run_on("pve1", GuestKind::Lxc, &["config", "102"]);
        assert!(out.stdout.ends_with("lxc.apparmor.profile: generated\n"), "{}", out.stdout);
        let out = run_on("pve1", GuestKind::Qemu, &["listsnapshot", "100"]);
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert!(lines[0].starts_with("`-> pre-upgrade "), "{}", out.stdout);
        assert!(lines.iter().any(|l| l.starts_with("   `-> current ")), "{}", out.stdout);
    }

    #[test]
    fn usage_errors() {
        let out = run_on("pve1", GuestKind::Qemu, &["lst"]);
        assert_eq!(out.stderr, "ERROR: unknown command 'qm lst'\nUSAGE: qm <COMMAND> [ARGS] [OPTIONS]\n");
        assert_eq!(out.code, 255);
        let out = run_on("pve1", GuestKind::Qemu, &["status"]);
        assert_eq!(out.stderr, "400 not enough arguments\nqm status <vmid> [OPTIONS]\n");
        let out = run_on("pve1", GuestKind::Lxc, &["status", "102", "--bogus"]);
        assert_eq!(out.stderr, "Unknown option: bogus\n400 unable to parse option\npct status <vmid> [OPTIONS]\n");
    }
}
