//! The `qm`/`pct` sub-commands of migration, disks, the guest agent and container exec
//! (route list in `mod.rs`): `qm|pct migrate`, `qm disk resize|resize`, `pct resize` (exit 0
//! whatever the task's end: qemu-server `CLI/qm.pm` and pve-container `CLI/pct.pm` register
//! them without an output sub), `qm disk move|move-disk|move_disk`, `pct
//! move-volume|move_volume`, `qm guest cmd|exec|exec-status` (`$print_agent_result`: the
//! `result` as canonical pretty JSON, nothing for an empty object), `pct exec|push|pull`.

use serde_json::{Value, json};

use super::core::Sim;
use super::foreground::{Foreground, Report, Step};
use super::pvesh_face::Output;
use super::pvesh_format::json_pretty;
use super::worker::now_ms;
use crate::backend::api::{Method, Params};
use crate::model::GuestKind;

/// Positional arguments and `--name [value]` options (`flags` take no value).
fn split(args: &[String], flags: &[&str]) -> (Vec<String>, Params) {
    let (mut pos, mut opts) = (Vec::new(), Params::new());
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        match a.strip_prefix("--").or_else(|| a.strip_prefix('-').filter(|o| !o.is_empty())) {
            Some(o) => {
                let (n, v) = o.split_once('=').map_or((o, None), |(n, v)| (n, Some(v.to_owned())));
                let v = v.unwrap_or_else(|| {
                    if flags.contains(&n) {
                        it.next_if(|x| matches!(x.as_str(), "0" | "1")).cloned().unwrap_or_else(|| "1".to_owned())
                    } else {
                        it.next().cloned().unwrap_or_default()
                    }
                });
                opts.push((n.to_owned(), v));
            }
            None => pos.push(a.clone()),
        }
    }
    (pos, opts)
}

fn need(pos: &[String], n: usize, synopsis: &str) -> Result<(), Step> {
    match pos.len().cmp(&n) {
        std::cmp::Ordering::Less => Err(Step::Done(Output::fail(format!("400 not enough arguments\n{synopsis}\n"), 255))),
        std::cmp::Ordering::Greater => Err(Step::Done(Output::fail(format!("400 too many arguments\n{synopsis}\n"), 255))),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

/// A task-starting call run in the foreground with `report`.
fn call(sim: &mut Sim, method: Method, path: &str, params: &Params, report: Report) -> Step {
    match sim.handle(method, path, params) {
        Ok(Value::String(upid)) => Step::Wait(Foreground { upid, report }),
        Ok(_) => Step::Done(Output::ok("")),
        Err(e) => Step::Done(Output::error(&e)),
    }
}

/// `qm guest` / agent printing: `$print_agent_result`.
fn agent_print(v: &Value) -> String {
    let r = v.get("result").unwrap_or(v);
    match r {
        Value::Null => String::new(),
        Value::Object(m) if m.is_empty() => String::new(),
        Value::String(s) if s.trim().is_empty() => String::new(),
        Value::String(s) => format!("{}\n", s.trim_end_matches('\n')),
        other => format!("{}\n", json_pretty(other)),
    }
}

/// Handles the sub-commands of this module; `None` for any other.
pub(crate) fn start(sim: &mut Sim, kind: GuestKind, args: &[String]) -> Option<Step> {
    let qemu = kind == GuestKind::Qemu;
    let tool = kind.tool();
    let node = sim.local_node().to_owned();
    let cmd = args.first()?.as_str();
    let (cmd, rest) = match (qemu, cmd, args.get(1).map(String::as_str)) {
        (true, "disk", Some(sub @ ("resize" | "move"))) => (if sub == "move" { "move-disk" } else { "resize" }, &args[2..]),
        (true, "guest", Some(sub @ ("cmd" | "exec" | "exec-status"))) => (sub, &args[2..]),
        (true, "move_disk" | "move-disk", _) | (false, "move_volume" | "move-volume", _) => ("move-disk", &args[1..]),
        (_, "migrate" | "resize", _) | (false, "exec" | "push" | "pull", _) => (cmd, &args[1..]),
        _ => return None,
    };
    sim.set_cli();
    let base = |vmid: &str| format!("/nodes/{node}/{kind}/{vmid}");
    Some(match cmd {
        "exec" if !qemu => Step::Done(super::lxc_exec::exec(sim, rest)),
        "push" | "pull" => Step::Done(super::lxc_exec::push_pull(sim, cmd == "pull", rest)),
        "migrate" => {
            let flags: &[&str] =
                if qemu { &["online", "with-local-disks", "force", "with-conntrack-state"] } else { &["restart", "online"] };
            let (pos, mut opts) = split(rest, flags);
            if let Err(s) = need(&pos, 2, &format!("{tool} migrate <vmid> <target> [OPTIONS]")) {
                return Some(s);
            }
            opts.insert(0, ("target".to_owned(), pos[1].clone()));
            call(sim, Method::Post, &format!("{}/migrate", base(&pos[0])), &opts, Report::Tool)
        }
        "resize" => {
            let (pos, mut opts) = split(rest, &["skiplock"]);
            let syn = if qemu { "qm disk resize <vmid> <disk> <size> [OPTIONS]" } else { "pct resize <vmid> <disk> <size> [OPTIONS]" };
            if let Err(s) = need(&pos, 3, syn) {
                return Some(s);
            }
            opts.insert(0, ("disk".to_owned(), pos[1].clone()));
            opts.insert(1, ("size".to_owned(), pos[2].clone()));
            call(sim, Method::Put, &format!("{}/resize", base(&pos[0])), &opts, Report::ToolExit0)
        }
        "move-disk" => {
            let (pos, mut opts) = split(rest, &["delete"]);
            let syn = if qemu {
                "qm disk move <vmid> <disk> [<storage>] [OPTIONS]"
            } else {
                "pct move-volume <vmid> <volume> [<storage>] [<target-vmid>] [<target-volume>] [OPTIONS]"
            };
            if let Err(s) = need(&pos, 3, syn) {
                return Some(s);
            }
            opts.insert(0, ((if qemu { "disk" } else { "volume" }).to_owned(), pos[1].clone()));
            opts.insert(1, ("storage".to_owned(), pos[2].clone()));
            let path = if qemu { format!("{}/move_disk", base(&pos[0])) } else { format!("{}/move_volume", base(&pos[0])) };
            call(sim, Method::Post, &path, &opts, Report::Tool)
        }
        "cmd" => {
            let (pos, _) = split(rest, &[]);
            if let Err(s) = need(&pos, 2, "qm guest cmd <vmid> <command>") {
                return Some(s);
            }
            let params = vec![("command".to_owned(), pos[1].clone())];
            Step::Done(match sim.handle(Method::Post, &format!("{}/agent", base(&pos[0])), &params) {
                Ok(v) => Output::ok(agent_print(&v)),
                Err(e) => Output::error(&e),
            })
        }
        "exec-status" => {
            let (pos, _) = split(rest, &[]);
            if let Err(s) = need(&pos, 2, "qm guest exec-status <vmid> <pid>") {
                return Some(s);
            }
            let params = vec![("pid".to_owned(), pos[1].clone())];
            Step::Done(match sim.handle(Method::Get, &format!("{}/agent/exec-status", base(&pos[0])), &params) {
                Ok(v) => Output::ok(agent_print(&v)),
                Err(e) => Output::error(&e),
            })
        }
        _ => Step::Done(guest_exec(sim, &base, rest)),
    })
}

/// `qm guest exec <vmid> [--timeout N] [--synchronous 0|1] [--pass-stdin 0|1] [--] <args...>`:
/// everything after `--` (or after the vmid once options end) is the argv, one item each.
#[expect(clippy::many_single_char_names, reason = "an argument scanner")]
fn guest_exec(sim: &mut Sim, base: &dyn Fn(&str) -> String, rest: &[String]) -> Output {
    let syn = "qm guest exec <vmid> [<extra-args>] [OPTIONS]";
    let Some(vmid) = rest.first() else { return Output::fail(format!("400 not enough arguments\n{syn}\n"), 255) };
    let (mut timeout, mut sync) = (None, true);
    let mut i = 1;
    while i < rest.len() {
        let a = rest[i].as_str();
        if a == "--" {
            i += 1;
            break;
        }
        let Some(o) = a.strip_prefix("--") else { break };
        let (n, v) = if let Some((n, v)) = o.split_once('=') {
            (n, v.to_owned())
        } else {
            i += 1;
            (o, rest.get(i).cloned().unwrap_or_default())
        };
        match n {
            "timeout" => timeout = v.parse::<u64>().ok(),
            "synchronous" => sync = v != "0",
            "pass-stdin" => {}
            _ => return Output::fail(format!("Unknown option: {n}\n400 unable to parse option\n{syn}\n"), 255),
        }
        i += 1;
    }
    if timeout.is_some() && !sync {
        return Output::fail(format!("400 Parameter verification failed.\nsynchronous: needs to be set for 'timeout'\n{syn}\n"), 255);
    }
    let params: Params = rest[i..].iter().map(|a| ("command".to_owned(), a.clone())).collect();
    let started = match sim.handle(Method::Post, &format!("{}/agent/exec", base(vmid)), &params) {
        Ok(v) => v,
        Err(e) => return Output::error(&e),
    };
    if !sync {
        return Output::ok(agent_print(&json!({ "result": started })));
    }
    let pid = started["pid"].as_u64().unwrap_or(0);
    let deadline = now_ms() + timeout.unwrap_or(30) * 1000;
    loop {
        let p = sim.state().agent_execs.iter().find(|p| p.pid == pid).cloned();
        let now = now_ms();
        match p.and_then(|p| p.end_ms) {
            Some(end) if end <= now => {
                let status =
                    super::agent::status_json(&sim.state().agent_execs.iter().find(|p| p.pid == pid).cloned().expect("found above"), now);
                return Output::ok(agent_print(&status));
            }
            Some(end) if end <= deadline => std::thread::sleep(std::time::Duration::from_millis(end - now + 1)),
            _ if timeout == Some(0) => std::thread::sleep(std::time::Duration::from_secs(1)),
            _ => {
                std::thread::sleep(std::time::Duration::from_millis(deadline.saturating_sub(now)));
                return Output { stderr: "timeout reached, returning pid\n".to_owned(), ..Output::ok(agent_print(&started)) };
            }
        }
    }
}
