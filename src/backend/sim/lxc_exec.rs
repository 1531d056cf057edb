//! Inside containers: `GET /nodes/{node}/lxc/{vmid}/interfaces` and the `pct exec`, `pct
//! push`, `pct pull` faces.
//!
//! pve-container `LXC.pm` `get_interfaces` (`ip --json a` in the CT's namespace): `[{name,
//! hwaddr, hardware-address, inet?, inet6?, ip-addresses: [{ip-address, ip-address-type
//! (inet|inet6), prefix}]}]`, `inet`/`inet6` the last address of that family as
//! `addr/prefix`; a stopped CT answers `null`. `CLI/pct.pm`: `exec` exec()s lxc-attach, so
//! its output and exit code are the command's (`container '<id>' not running!`, `missing
//! command at …/pct.pm line 246.`); `pull` on a stopped CT dies `can only pull files from a
//! running VM at …/pct.pm line 664.`, `push` `can only push files to a running CT`; their
//! workers' failures (`failed to open <path>: No such file or directory`) go to stderr with
//! exit 0 (no output sub). Files are the node's (the machine running pve-sim) and the
//! state's `guest_files`.

use serde_json::{Value, json};

use super::core::Sim;
use super::error::SimError;
use super::guest_exec::{ExecRecord, run};
use super::pvesh_face::Output;
use super::route::{Request, Route};
use super::state::SimGuest;
use crate::backend::api::Method;
use crate::model::GuestKind;

/// The container routes.
pub(crate) const LXC_ROUTES: &[Route] =
    &[Route { method: Method::Get, pattern: "/nodes/{node}/{kind=lxc}/{vmid}/interfaces", params: &[], handler: interfaces }];

/// `GET /nodes/{node}/lxc/{vmid}/interfaces`.
fn interfaces(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let g = sim.req_guest(req)?;
    if !g.is_running() {
        return Ok(Value::Null);
    }
    let mac = g
        .config_value("net0")
        .and_then(|n| n.split(',').find_map(|p| p.strip_prefix("hwaddr=")))
        .unwrap_or("BC:24:11:00:00:00")
        .to_ascii_lowercase();
    let host = g.vmid % 200 + 20;
    let ll = format!("fe80::be24:11ff:fe{}:{}", &mac[12..14], mac[15..].replace(':', ""));
    let item = |name: &str, hw: &str, v4: (&str, u8), v6: (&str, u8)| {
        json!({"name": name, "hwaddr": hw, "hardware-address": hw,
               "inet": format!("{}/{}", v4.0, v4.1), "inet6": format!("{}/{}", v6.0, v6.1),
               "ip-addresses": [
                   {"ip-address-type": "inet", "ip-address": v4.0, "prefix": v4.1},
                   {"ip-address-type": "inet6", "ip-address": v6.0, "prefix": v6.1}]})
    };
    Ok(json!([
        item("lo", "00:00:00:00:00:00", ("127.0.0.1", 8), ("::1", 128)),
        item("eth0", &mac, (&format!("198.51.100.{host}"), 24), (&ll, 64)),
    ]))
}

/// The CT `vmid` on `sim`'s node, or pct's error.
fn ct(sim: &Sim, vmid: &str) -> Result<SimGuest, Output> {
    let node = sim.local_node();
    vmid.parse()
        .ok()
        .and_then(|v| sim.state().guest(v))
        .filter(|g| g.node == node && g.kind == GuestKind::Lxc)
        .cloned()
        .ok_or_else(|| Output::error(&SimError::no_config(GuestKind::Lxc, node, vmid)))
}

/// `pct exec <vmid> [--keep-env 0|1] -- <command...>`.
pub(crate) fn exec(sim: &mut Sim, args: &[String]) -> Output {
    let Some(vmid) = args.first() else { return Output::fail("400 not enough arguments\npct exec <vmid> [<extra-args>] [OPTIONS]\n", 255) };
    let mut rest = &args[1..];
    while let Some(first) = rest.first().filter(|a| a.starts_with("--") && *a != "--") {
        let skip = if first.contains('=') { 1 } else { 2 };
        rest = rest.get(skip..).unwrap_or_default();
    }
    let command: Vec<String> = rest.strip_prefix(&["--".to_owned()][..]).unwrap_or(rest).to_vec();
    let g = match ct(sim, vmid) {
        Ok(g) => g,
        Err(o) => return o,
    };
    if !g.is_running() {
        return Output::fail(format!("container '{vmid}' not running!\n"), 255);
    }
    if command.is_empty() {
        return Output::fail("missing command at /usr/share/perl5/PVE/CLI/pct.pm line 246.\n", 255);
    }
    let o = match command.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        // `stat -c %s FILE`: the size of a file `pct push` stored (coreutils' texts).
        ["stat", "-c", "%s", path] => match sim.state().guest_files.iter().find(|f| f.vmid == g.vmid && f.path == *path) {
            Some(f) => super::guest_exec::Outcome { out: format!("{}\n", f.content.len()), ..Default::default() },
            None => super::guest_exec::Outcome {
                code: 1,
                err: format!("stat: cannot statx '{path}': No such file or directory\n"),
                ..Default::default()
            },
        },
        _ => run(&command, g.name.as_deref().unwrap_or("localhost")),
    };
    sim.state_mut().agent_exec_log.push(ExecRecord { vmid: g.vmid, argv: command, input: None });
    if o.seconds > 0 {
        std::thread::sleep(std::time::Duration::from_secs(o.seconds));
    }
    Output { stdout: o.out, stderr: o.err, code: o.code }
}

/// `pct push <vmid> <file> <destination>` / `pct pull <vmid> <path> <destination>`.
pub(crate) fn push_pull(sim: &mut Sim, pull: bool, args: &[String]) -> Output {
    let positional: Vec<&String> = {
        let mut out = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if a.starts_with("--") {
                if !a.contains('=') {
                    it.next();
                }
            } else {
                out.push(a);
            }
        }
        out
    };
    let cmd = if pull { "pull <vmid> <path> <destination>" } else { "push <vmid> <file> <destination>" };
    let [vmid, src, dst] = positional.as_slice() else {
        let what = if positional.len() < 3 { "not enough" } else { "too many" };
        return Output::fail(format!("400 {what} arguments\npct {cmd} [OPTIONS]\n"), 255);
    };
    let g = match ct(sim, vmid) {
        Ok(g) => g,
        Err(o) => return o,
    };
    if pull {
        if !g.is_running() {
            return Output::fail("can only pull files from a running VM at /usr/share/perl5/PVE/CLI/pct.pm line 664.\n", 255);
        }
        let Some(f) = sim.state().guest_files.iter().find(|f| f.vmid == g.vmid && f.path == **src) else {
            return Output { code: 0, ..Output::fail(format!("failed to open {src}: No such file or directory\n"), 0) };
        };
        if let Err(e) = std::fs::write(dst.as_str(), f.content.as_bytes()) {
            return Output::fail(format!("failed to open {dst}: {e}\n"), 0);
        }
        return Output::ok("");
    }
    if !g.is_running() {
        return Output::fail("can only push files to a running CT\n", 255);
    }
    match std::fs::read(src.as_str()) {
        Ok(bytes) => {
            super::agent::put_file(sim, g.vmid, dst, String::from_utf8_lossy(&bytes).into_owned());
            Output::ok("")
        }
        Err(_) => Output::fail(format!("failed to open {src} for reading\n"), 255),
    }
}
