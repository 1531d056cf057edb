//! The `vzdump` and `qmrestore` faces: `vzdump <vmid>... [--all] [--storage S] [--mode M]
//! [--compress C] [--notes-template T] [--protected 1] ...` and `qmrestore <archive> <vmid>
//! [--storage S] [--force] [--start] [--unique]`, each the API call (`POST
//! /nodes/{node}/vzdump`, `POST /nodes/{node}/qemu` with `archive`) on the local node, its
//! task run in the foreground: the log on stdout, no UPID, the error on stderr and exit 255
//! on an error status (pve-manager `PVE/CLI/vzdump.pm`: `exit(0)` for `OK`, `-1` if
//! `upid_status_is_error`; qemu-server `PVE/CLI/qmrestore.pm` `$upid_exit`).

use super::core::Sim;
use super::foreground::{Foreground, Report, Step};
use super::pvesh_face::Output;
use crate::backend::api::{Method, Params};

/// Boolean options of `vzdump` (value optional).
const VZDUMP_FLAGS: &[&str] = &["all", "protected", "remove", "stop", "stdexcludes", "quiet", "stdout", "pigz"];

/// Splits `args` into positionals and `(option, value)` pairs; `flags` take an optional
/// `0`/`1`, every other option a value.
fn split(args: &[String], flags: &[&str]) -> Result<(Vec<String>, Params), String> {
    let (mut pos, mut opts) = (Vec::new(), Params::new());
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        let Some(opt) = a.strip_prefix("--").or_else(|| a.strip_prefix('-')).filter(|o| !o.is_empty()) else {
            pos.push(a.clone());
            continue;
        };
        let (name, inline) = opt.split_once('=').map_or((opt, None), |(n, v)| (n, Some(v.to_owned())));
        let value = if flags.contains(&name) {
            inline.or_else(|| it.next_if(|v| matches!(v.as_str(), "0" | "1")).cloned()).unwrap_or_else(|| "1".to_owned())
        } else {
            inline.or_else(|| it.next().cloned()).ok_or_else(|| format!("Option {name} requires an argument\n"))?
        };
        opts.push((name.to_owned(), value));
    }
    Ok((pos, opts))
}

/// The API path a `vzdump`/`qmrestore` invocation calls on `node` (for tool hangs).
pub(crate) fn api_path(node: &str, tool: &str) -> Option<String> {
    match tool {
        "vzdump" => Some(format!("/nodes/{node}/vzdump")),
        "qmrestore" => Some(format!("/nodes/{node}/qemu")),
        _ => None,
    }
}

/// Starts `vzdump <args>` on `sim`'s local node.
pub(crate) fn vzdump(sim: &mut Sim, args: &[String]) -> Step {
    sim.set_cli();
    let synopsis = "vzdump {<vmid>} [OPTIONS]\n";
    let (pos, mut params) = match split(args, VZDUMP_FLAGS) {
        Ok(x) => x,
        Err(getopt) => return Step::Done(Output::fail(format!("{getopt}400 unable to parse option\n{synopsis}"), 255)),
    };
    if !pos.is_empty() {
        params.insert(0, ("vmid".to_owned(), pos.join(",")));
    }
    let node = sim.local_node().to_owned();
    run(sim, Method::Post, &format!("/nodes/{node}/vzdump"), &params)
}

/// Starts `qmrestore <archive> <vmid> <args>` on `sim`'s local node.
pub(crate) fn qmrestore(sim: &mut Sim, args: &[String]) -> Step {
    sim.set_cli();
    let synopsis = "qmrestore <archive> <vmid> [OPTIONS]\n";
    let (pos, mut params) = match split(args, &["force", "start", "unique", "live-restore"]) {
        Ok(x) => x,
        Err(getopt) => return Step::Done(Output::fail(format!("{getopt}400 unable to parse option\n{synopsis}"), 255)),
    };
    match pos.len() {
        0 | 1 => return Step::Done(Output::fail(format!("400 not enough arguments\n{synopsis}"), 255)),
        2 => {}
        _ => return Step::Done(Output::fail(format!("400 too many arguments\n{synopsis}"), 255)),
    }
    params.insert(0, ("vmid".to_owned(), pos[1].clone()));
    params.insert(0, ("archive".to_owned(), pos[0].clone()));
    let node = sim.local_node().to_owned();
    run(sim, Method::Post, &format!("/nodes/{node}/qemu"), &params)
}

/// The call, its task waited for in the foreground; `OK` (nothing to do) prints nothing.
fn run(sim: &mut Sim, method: Method, path: &str, params: &Params) -> Step {
    match sim.handle(method, path, params) {
        Ok(v) => match v.as_str().filter(|u| u.starts_with("UPID:")) {
            Some(upid) => Step::Wait(Foreground { upid: upid.to_owned(), report: Report::Tool }),
            None => Step::Done(Output::ok("")),
        },
        Err(e) => Step::Done(Output::error(&e)),
    }
}
