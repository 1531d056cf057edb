//! The QEMU guest agent of running qemu guests (`/nodes/{node}/qemu/{vmid}/agent/...`).
//!
//! qemu-server `QemuServer/Agent.pm` `assert_agent_available`: no `agent` key in the
//! config is `No QEMU guest agent configured`, a stopped VM `VM <vmid> is not running`, an
//! agent that does not answer `QEMU guest agent is not running` (also `agent: 0`, which
//! adds no agent device, and fault `agent_down`), each a plain `die` (HTTP 500). Read
//! commands answer `{"result": ...}` (`API2/Qemu/Agent.pm` `register_command`); `exec`
//! answers `{pid}` and `exec-status` the agent's status with `out-data`/`err-data` already
//! base64-decoded and booleans as 0/1 (`qemu_exec_status`); `file-read` `{content,
//! bytes-read, truncated?}`; `file-write` `null`. Agent errors are `Agent error: <desc>`
//! (`check_agent_error`). The data a guest reports (interfaces, OS, file systems) is made
//! up from its config in the shapes of samples/qm-agent-network-get-interfaces,
//! samples/qm-guest-cmd; an `ostype` `win*` guest reports Windows.

use serde_json::{Value, json};

use super::core::Sim;
use super::error::SimError;
use super::guest_exec::{AgentExec, ExecRecord, GuestFile, run};
use super::route::{Request, Route};
use super::state::SimGuest;
use super::worker::now_ms;
use crate::backend::api::Method;

/// The agent routes (the `{cmd}` read route last: `exec-status` and `file-read` first).
pub(crate) const AGENT_ROUTES: &[Route] = &[
    Route { method: Method::Post, pattern: "/nodes/{node}/{kind=qemu}/{vmid}/agent/{cmd=ping}", params: &[], handler: command },
    Route { method: Method::Post, pattern: "/nodes/{node}/{kind=qemu}/{vmid}/agent", params: &["command"], handler: command },
    Route {
        method: Method::Post,
        pattern: "/nodes/{node}/{kind=qemu}/{vmid}/agent/exec",
        params: &["command", "input-data"],
        handler: exec,
    },
    Route { method: Method::Get, pattern: "/nodes/{node}/{kind=qemu}/{vmid}/agent/exec-status", params: &["pid"], handler: exec_status },
    Route {
        method: Method::Get,
        pattern: "/nodes/{node}/{kind=qemu}/{vmid}/agent/file-read",
        params: &["count", "decode", "file"],
        handler: file_read,
    },
    Route {
        method: Method::Post,
        pattern: "/nodes/{node}/{kind=qemu}/{vmid}/agent/file-write",
        params: &["content", "encode", "file"],
        handler: file_write,
    },
    Route { method: Method::Get, pattern: "/nodes/{node}/{kind=qemu}/{vmid}/agent/{cmd}", params: &[], handler: command },
];

/// The read commands answered over `GET .../agent/<cmd>`.
const GET_COMMANDS: &[&str] =
    &["get-fsinfo", "get-host-name", "get-osinfo", "get-time", "get-timezone", "get-users", "get-vcpus", "info", "network-get-interfaces"];

/// The commands of `POST .../agent` (`command` enum of `API2/Qemu/Agent.pm`) the sim answers.
const COMMANDS: &[&str] = &[
    "get-fsinfo",
    "get-host-name",
    "get-osinfo",
    "get-time",
    "get-timezone",
    "get-users",
    "get-vcpus",
    "info",
    "network-get-interfaces",
    "ping",
];

/// The guest after `assert_agent_available`.
fn available(sim: &Sim, req: &Request<'_>) -> Result<SimGuest, SimError> {
    let (node, vmid) = (req.var("node"), req.var("vmid"));
    let g = vmid
        .parse()
        .ok()
        .and_then(|v| sim.state().guest(v))
        .filter(|g| g.node == node && g.kind == crate::model::GuestKind::Qemu)
        .ok_or_else(|| SimError::no_config(crate::model::GuestKind::Qemu, node, vmid))?;
    let Some(agent) = g.config_value("agent") else {
        return Err(SimError::die("No QEMU guest agent configured"));
    };
    if !g.is_running() {
        return Err(SimError::die(format!("VM {vmid} is not running")));
    }
    let first = agent.split(',').next().unwrap_or("");
    let enabled = matches!(first.strip_prefix("enabled=").unwrap_or(first), "1" | "on" | "yes" | "true");
    if !enabled || sim.state().faults.agent_down.contains(&g.vmid) {
        return Err(SimError::die("QEMU guest agent is not running"));
    }
    Ok(g.clone())
}

/// A read command (`.../agent/<cmd>` or `POST .../agent` with `command`): `{"result": ...}`.
fn command(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let cmd = if let Some(c) = req.param("command") {
        {
            if !COMMANDS.contains(&c) {
                return Err(SimError::param(
                    "command",
                    format!(
                        "value '{c}' does not have a value in the enumeration 'fsfreeze-freeze, fsfreeze-status, fsfreeze-thaw, fstrim, get-fsinfo, get-host-name, get-memory-block-info, get-memory-blocks, get-osinfo, get-time, get-timezone, get-users, get-vcpus, info, network-get-interfaces, ping, shutdown, suspend-disk, suspend-hybrid, suspend-ram'"
                    ),
                ));
            }
            c.to_owned()
        }
    } else {
        {
            let c = req.var("cmd");
            if c != "ping" && !GET_COMMANDS.contains(&c) {
                let path = format!("/nodes/{}/qemu/{}/agent/{c}", req.var("node"), req.var("vmid"));
                return Err(SimError::no_handler(Method::Get, &path));
            }
            c.to_owned()
        }
    };
    let g = available(sim, req)?;
    Ok(json!({ "result": answer(&g, &cmd) }))
}

/// What the agent of `g` answers to `cmd`.
fn answer(g: &SimGuest, cmd: &str) -> Value {
    let windows = g.config_value("ostype").is_some_and(|o| o.starts_with('w'));
    let host = g.name.clone().unwrap_or_else(|| format!("vm{}", g.vmid));
    match cmd {
        "network-get-interfaces" => interfaces(g),
        "get-osinfo" if windows => json!({
            "id": "mswindows", "kernel-release": "26100", "kernel-version": "10.0", "machine": "x86_64",
            "name": "Microsoft Windows", "pretty-name": "Windows 11 Pro", "variant": "client", "variant-id": "client",
            "version": "Microsoft Windows 11", "version-id": "11"
        }),
        "get-osinfo" => json!({
            "id": "debian", "kernel-release": "6.12.57+deb13-amd64", "kernel-version": "#1 SMP PREEMPT_DYNAMIC Debian 6.12.57-1 (2025-11-05)",
            "machine": "x86_64", "name": "Debian GNU/Linux", "pretty-name": "Debian GNU/Linux 13 (trixie)",
            "version": "13 (trixie)", "version-id": "13"
        }),
        "info" => {
            let cmds: Vec<Value> = [
                "guest-exec",
                "guest-exec-status",
                "guest-file-close",
                "guest-file-open",
                "guest-file-read",
                "guest-file-write",
                "guest-get-fsinfo",
                "guest-get-host-name",
                "guest-get-osinfo",
                "guest-get-time",
                "guest-get-users",
                "guest-info",
                "guest-network-get-interfaces",
                "guest-ping",
                "guest-shutdown",
            ]
            .iter()
            .map(|n| json!({"enabled": true, "name": n, "success-response": *n != "guest-shutdown"}))
            .collect();
            json!({"supported_commands": cmds, "version": "9.2.0"})
        }
        "get-fsinfo" => json!([{
            "name": "sda1", "mountpoint": "/", "type": "ext4", "total-bytes": g.maxdisk * 97 / 100, "used-bytes": g.maxdisk / 5,
            "disk": [{"bus-type": "scsi", "bus": 0, "target": 0, "unit": 0, "dev": "/dev/sda1", "serial": format!("0QEMU_QEMU_HARDDISK_drive-scsi0"),
                      "pci-controller": {"domain": 0, "bus": 9, "slot": 1, "function": 0}}]
        }]),
        "get-time" => json!(now_ms().saturating_mul(1_000_000)),
        "get-users" => json!([]),
        "get-host-name" => json!({ "host-name": host }),
        "get-timezone" => json!({"offset": 0, "zone": "UTC"}),
        "get-vcpus" => {
            #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a small whole number of CPUs")]
            let n = g.maxcpu as u64;
            Value::Array((0..n).map(|i| json!({"can-offline": i != 0, "logical-id": i, "online": true})).collect())
        }
        _ => json!({}),
    }
}

/// `lo` and `ens18` with the MAC of `net0`: IPv4, a global IPv6 and the EUI-64 link-local
/// address, statistics as QGA reports them.
fn interfaces(g: &SimGuest) -> Value {
    let mac = g
        .config_value("net0")
        .and_then(|n| n.split(',').next())
        .and_then(|m| m.split_once('=').map(|(_, v)| v.to_ascii_lowercase()))
        .unwrap_or_else(|| "bc:24:11:00:00:00".to_owned());
    let b: Vec<u8> = mac.split(':').filter_map(|h| u8::from_str_radix(h, 16).ok()).collect();
    let eui = if b.len() == 6 {
        format!(
            "{:x}:{:x}:{:x}:{:x}",
            u16::from(b[0] ^ 2) << 8 | u16::from(b[1]),
            u16::from(b[2]) << 8 | 0xff,
            0xfe00 | u16::from(b[3]),
            u16::from(b[4]) << 8 | u16::from(b[5])
        )
    } else {
        "1".to_owned()
    };
    let host = g.vmid % 200 + 20;
    let stats = |rx: u64, tx: u64| json!({"rx-bytes": rx, "rx-dropped": 0, "rx-errs": 0, "rx-packets": rx / 1000, "tx-bytes": tx, "tx-dropped": 0, "tx-errs": 0, "tx-packets": tx / 1000});
    json!([
        {"hardware-address": "00:00:00:00:00:00", "ip-addresses": [
            {"ip-address": "127.0.0.1", "ip-address-type": "ipv4", "prefix": 8},
            {"ip-address": "::1", "ip-address-type": "ipv6", "prefix": 128}
        ], "name": "lo", "statistics": stats(3724, 3724)},
        {"hardware-address": mac, "ip-addresses": [
            {"ip-address": format!("198.51.100.{host}"), "ip-address-type": "ipv4", "prefix": 24},
            {"ip-address": format!("2001:db8:100::{eui}"), "ip-address-type": "ipv6", "prefix": 64},
            {"ip-address": format!("fe80::{eui}"), "ip-address-type": "ipv6", "prefix": 64}
        ], "name": "ens18", "statistics": stats(g.netin, g.netout)}
    ])
}

/// `POST .../agent/exec`: `command` is a list (one parameter per item).
fn exec(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let argv: Vec<String> = req.params.iter().filter(|(k, _)| k == "command").map(|(_, v)| v.clone()).collect();
    let input = req.param("input-data").map(str::to_owned);
    if argv.is_empty() && input.is_none() {
        return Err(SimError::die("command or input-data (or both) required"));
    }
    let g = available(sim, req)?;
    let outcome = run(&argv, g.name.as_deref().unwrap_or("localhost"));
    let st = sim.state_mut();
    let pid = 1000 + st.agent_execs.len() as u64 * 7 + u64::from(g.vmid % 100);
    let end_ms = (!st.faults.agent_exec_hang.contains(&g.vmid)).then(|| now_ms() + outcome.seconds * 1000);
    st.agent_exec_log.push(ExecRecord { vmid: g.vmid, argv, input });
    st.agent_execs.push(AgentExec { vmid: g.vmid, pid, end_ms, exitcode: outcome.code, out: outcome.out, err: outcome.err });
    Ok(json!({ "pid": pid }))
}

/// `GET .../agent/exec-status?pid=N`.
fn exec_status(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let pid = req.int_param("pid", 0)?.ok_or_else(|| SimError::param("pid", "property is missing and it is not optional"))?;
    let g = available(sim, req)?;
    let Some(p) = sim.state().agent_execs.iter().find(|p| p.vmid == g.vmid && p.pid == pid) else {
        // qemu-ga `guest-exec-status` of an unknown pid (qga/commands.c: `Invalid parameter 'pid'`).
        return Err(SimError::die("Agent error: Invalid parameter 'pid'"));
    };
    Ok(status_json(p, now_ms()))
}

/// The exec-status object of `p` at `now`.
pub(crate) fn status_json(p: &AgentExec, now: u64) -> Value {
    if p.end_ms.is_none_or(|e| e > now) {
        return json!({"exited": 0});
    }
    let mut m = serde_json::Map::new();
    m.insert("exited".into(), json!(1));
    m.insert("exitcode".into(), json!(p.exitcode));
    if !p.out.is_empty() {
        m.insert("out-data".into(), json!(p.out));
    }
    if !p.err.is_empty() {
        m.insert("err-data".into(), json!(p.err));
    }
    Value::Object(m)
}

/// `GET .../agent/file-read?file=`.
fn file_read(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let file = req.param("file").ok_or_else(|| SimError::param("file", "property is missing and it is not optional"))?;
    req.bool_param("decode")?;
    let count = req.int_param("count", 1)?;
    let g = available(sim, req)?;
    let Some(f) = sim.state().guest_files.iter().find(|f| f.vmid == g.vmid && f.path == file) else {
        // qemu-ga `guest-file-open` (qga/commands-posix.c, error_setg_errno).
        return Err(SimError::die(format!("Agent error: failed to open file '{file}' (mode: 'r'): No such file or directory")));
    };
    let bytes = f.content.as_bytes();
    let n = count.map_or(bytes.len(), |c| usize::try_from(c).unwrap_or(usize::MAX).min(bytes.len()));
    let mut m = serde_json::Map::new();
    m.insert("content".into(), json!(String::from_utf8_lossy(&bytes[..n])));
    m.insert("bytes-read".into(), json!(n));
    if n < bytes.len() {
        m.insert("truncated".into(), json!(1));
    }
    Ok(Value::Object(m))
}

/// `POST .../agent/file-write` (`encode=0`: `content` is base64 already).
fn file_write(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let file = req.param("file").ok_or_else(|| SimError::param("file", "property is missing and it is not optional"))?.to_owned();
    let content = req.param("content").ok_or_else(|| SimError::param("content", "property is missing and it is not optional"))?;
    let encode = req.bool_param("encode")?.unwrap_or(true);
    let g = available(sim, req)?;
    let content = if encode {
        content.to_owned()
    } else {
        let raw = base64_decode(content.trim())
            .ok_or_else(|| SimError::die("Agent error: Guest agent command failed, error was 'invalid base64 data'"))?;
        String::from_utf8_lossy(&raw).into_owned()
    };
    put_file(sim, g.vmid, &file, content);
    Ok(Value::Null)
}

/// Stores a file inside guest `vmid`, replacing one at the same path.
pub(crate) fn put_file(sim: &mut Sim, vmid: u32, path: &str, content: String) {
    let st = sim.state_mut();
    st.guest_files.retain(|f| !(f.vmid == vmid && f.path == path));
    st.guest_files.push(GuestFile { vmid, path: path.to_owned(), content });
}

/// Standard base64 (padding optional, as QEMU's agent takes it); `None` when not base64.
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD_NO_PAD.decode(s.trim_end_matches('=')).ok()
}
