//! `pvectl guest migrate|resize|move-disk|ip|agent|exec`: moving guests and disks (actions),
//! and reaching inside a guest: its addresses and agent (reads), a command (an action).

use std::time::Duration;

use serde_json::Value;

use super::Env;
use super::args::{FileCmd, GuestCmd};
use super::output::{Table, opt, print};
use super::report::act;
use crate::backend::{InventoryExt, Method};
use crate::error::{Error, Result};
use crate::model::GuestKind;
use crate::workflow::{Exec, FilePull, FilePush, MAX_AGENT_FILE, Migrate, MoveDisk, PushSource, Resize, discover};

/// An address's scope for `guest ip`: `loopback`, `link-local` or `global`.
fn scope(a: &crate::model::IpAddress) -> &'static str {
    if a.is_loopback() {
        "loopback"
    } else if a.is_link_local() {
        "link-local"
    } else {
        "global"
    }
}

/// Runs a `guest` command of this family.
///
/// # Errors
/// Read errors (an agent that is not running, not configured, or a stopped guest are distinct,
/// with hints); the engine's refusals and outcomes for actions.
pub(crate) async fn run(env: &Env<'_>, cmd: GuestCmd) -> Result<()> {
    let (out, b, timeout) = (env.cfg.output, env.b(), env.cfg.timeout);
    match cmd {
        GuestCmd::Migrate { vmid, node, online, with_local_disks, target_storage, restart } => {
            act(env, &Migrate { vmid, target: node, online, with_local_disks, target_storage, restart }, true, timeout).await
        }
        GuestCmd::Resize { vmid, disk, size } => act(env, &Resize { vmid, disk, size }, true, timeout).await,
        GuestCmd::MoveDisk { vmid, disk, storage, delete, format } => {
            act(env, &MoveDisk { vmid, disk, storage, delete, format }, true, timeout).await
        }
        GuestCmd::Exec { vmid, argv } => {
            // The command gets what is left of the deadline, less a margin to report.
            let wait = timeout.saturating_sub(Duration::from_secs(2)).max(Duration::from_secs(1));
            act(env, &Exec { vmid, argv, timeout: wait }, true, timeout).await
        }
        GuestCmd::Ip { vmid } => {
            let (guest, _) = discover(b, vmid, None, None).await?;
            let interfaces = match guest.kind {
                GuestKind::Qemu => b.network_interfaces(&guest).await?,
                GuestKind::Lxc => b.lxc_interfaces(&guest).await?.iter().map(crate::model::LxcInterface::to_network_interface).collect(),
            };
            // PVE's interface shape, each address marked with its scope.
            let view: Vec<Value> = interfaces
                .iter()
                .map(|i| {
                    let addrs: Vec<Value> = i
                        .ip_addresses
                        .iter()
                        .map(|a| {
                            let mut v = serde_json::to_value(a).unwrap_or(Value::Null);
                            v["scope"] = Value::from(scope(a));
                            v
                        })
                        .collect();
                    serde_json::json!({"name": i.name, "hardware-address": i.hardware_address, "ip-addresses": addrs})
                })
                .collect();
            print(out, &view, |list| {
                let mut t = Table::new(&["INTERFACE", "MAC", "ADDRESS", "FAMILY", "SCOPE"]);
                for i in list {
                    for a in i["ip-addresses"].as_array().into_iter().flatten() {
                        let text = |v: &Value| opt(crate::model::loose::value_string(v).as_deref());
                        t.row(vec![
                            text(&i["name"]),
                            text(&i["hardware-address"]),
                            format!("{}/{}", text(&a["ip-address"]), text(&a["prefix"])),
                            text(&a["ip-address-type"]),
                            text(&a["scope"]),
                        ]);
                    }
                }
                t
            })
        }
        GuestCmd::Agent { vmid, command } => {
            let (guest, _) = discover(b, vmid, None, None).await?;
            if guest.kind != GuestKind::Qemu {
                return Err(Error::Usage(format!("guest {vmid} is lxc: the guest agent is a qemu feature")));
            }
            let v = b.agent(&guest, command.api_name()).await?;
            // The agent's answers have no one shape: JSON is the faithful rendering.
            print(super::args::OutputFormat::Json, &v, |_: &Value| Table::default())
        }
        GuestCmd::File(FileCmd::Push { vmid, src, dst }) => {
            let (guest, _) = discover(b, vmid, None, None).await?;
            let source = match guest.kind {
                GuestKind::Qemu => {
                    let mut bytes = Vec::new();
                    std::fs::File::open(&src)
                        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_AGENT_FILE as u64 + 1), &mut bytes))
                        .map_err(|e| Error::Usage(format!("cannot read {}: {e}", crate::model::excerpt(&src, 120))))?;
                    PushSource::Bytes(bytes)
                }
                GuestKind::Lxc => PushSource::NodePath(src),
            };
            act(env, &FilePush { vmid, source, dst }, true, timeout).await
        }
        GuestCmd::File(FileCmd::Pull { vmid, src, dst }) => {
            let (guest, _) = discover(b, vmid, None, None).await?;
            match guest.kind {
                GuestKind::Lxc => act(env, &FilePull { vmid, src, dst }, true, timeout).await,
                GuestKind::Qemu => qemu_pull(b, &guest, &src, &dst, out).await,
            }
        }
        GuestCmd::Diagnose { vmid } => super::diagnose::run(env, vmid).await,
        other => Err(Error::Internal(format!("not a guest-inside command: {other:?}"))),
    }
}

/// `guest file pull` of a qemu guest: `GET .../agent/file-read?file=SRC` (a large file comes
/// back `truncated`, which is an error), written to the local `dst`; prints
/// `{src, dst, bytes}`. A missing file is not found (exit 5).
async fn qemu_pull(
    b: &dyn crate::backend::Backend,
    guest: &crate::model::GuestRef,
    src: &str,
    dst: &str,
    out: super::args::OutputFormat,
) -> Result<()> {
    // qemu-server answers a missing file with `Agent error: failed to open file
    // '<path>' (mode: 'r'): No such file or directory`: not found (exit 5).
    let v = b.raw(Method::Get, &format!("{}/agent/file-read", guest.path()), &vec![("file".into(), src.to_owned())]).await.map_err(
        |e| match e {
            Error::Api(m) if m.contains("No such file or directory") => Error::NotFound(m),
            e => e,
        },
    )?;
    let content = v["content"].as_str().unwrap_or_default();
    if crate::model::loose::value_bool(&v["truncated"]) {
        return Err(Error::Api(format!("the agent returned only part of {} (truncated)", crate::model::excerpt(src, 120))));
    }
    std::fs::write(dst, content.as_bytes()).map_err(|e| Error::Usage(format!("cannot write {}: {e}", crate::model::excerpt(dst, 120))))?;
    print(out, &serde_json::json!({"src": src, "dst": dst, "bytes": content.len()}), |_: &Value| Table::default())
}
