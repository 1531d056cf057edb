//! `pvectl guest ...`: the guest list, one guest's status and config (reads), and the power
//! actions (`start|shutdown|reboot|stop|reset|suspend|resume`) on the engine.

use super::Env;
use super::args::{GuestCmd, Locate};
use super::output::{Table, bytes, duration, opt, percent, print, ratio, yes_no};
use crate::backend::{Backend, GuestFilter, PowerAction};
use crate::error::{Error, Result};
use crate::model::{Guest, GuestRef, Vmid};

/// Slack added to PVE's shutdown `timeout` for the wait deadline (a forced stop after it).
pub(crate) const SHUTDOWN_SLACK: u64 = 60;

/// Runs a `guest` command.
///
/// # Errors
/// Read errors; for actions, the engine's refusals and outcomes (see [`act`]).
pub(crate) async fn run(env: &Env<'_>, cmd: GuestCmd) -> Result<()> {
    let (out, b) = (env.cfg.output, env.b());
    let (action, a, force_stop) = match cmd {
        GuestCmd::List { node, kind, status, tag, pool, watch } => {
            let filter = &GuestFilter { node, kind, status, tag, pool };
            return super::watch::repeat(env, watch, || async move {
                let g = b.guests(filter).await?;
                print(out, &g, |g| guest_table(g))
            })
            .await;
        }
        GuestCmd::Status { guest, at, watch } => {
            let r = &locate(b, &guest, &at).await?;
            return super::watch::repeat(env, watch, || async move { print_status(out, &b.guest_status(r).await?) }).await;
        }
        GuestCmd::Config { guest, at } => {
            let r = locate(b, &guest, &at).await?;
            let c = b.guest_config(&r).await?;
            return print(out, &c, |c| {
                let mut t = Table::new(&["KEY", "VALUE"]);
                for (k, v) in &c.entries {
                    t.row(vec![k.clone(), v.clone()]);
                }
                t
            });
        }
        GuestCmd::Start(a) => (PowerAction::Start, a, false),
        GuestCmd::Shutdown { act, force_stop } => (PowerAction::Shutdown, act, force_stop),
        GuestCmd::Reboot(a) => (PowerAction::Reboot, a, false),
        GuestCmd::Stop(a) => (PowerAction::Stop, a, false),
        GuestCmd::Reset(a) => (PowerAction::Reset, a, false),
        GuestCmd::Suspend(a) => (PowerAction::Suspend, a, false),
        GuestCmd::Resume(a) => (PowerAction::Resume, a, false),
        other => return super::provision::run(env, other).await,
    };
    super::select::power(env, action, a, force_stop).await
}

/// Prints one guest's status as `{...}` or KEY/VALUE rows.
fn print_status(out: super::args::OutputFormat, s: &crate::model::GuestStatus) -> Result<()> {
    print(out, s, |s| {
        let mut t = Table::new(&["KEY", "VALUE"]);
        let kv = [
            ("vmid", s.vmid.to_string()),
            ("name", opt(s.name.as_deref())),
            ("node", s.node.to_string()),
            ("kind", s.kind.to_string()),
            ("status", s.status.clone()),
            ("qmpstatus", opt(s.qmpstatus.as_deref())),
            ("cpu", percent(s.cpu)),
            ("cpus", s.cpus.map_or_else(|| "-".into(), |c| c.to_string())),
            ("mem", format!("{} / {}", bytes(s.mem), bytes(s.maxmem))),
            ("disk", format!("{} / {}", bytes(s.disk), bytes(s.maxdisk))),
            ("uptime", duration(s.uptime)),
            ("pid", s.pid.map_or_else(|| "-".into(), |p| p.to_string())),
            ("lock", opt(s.lock.as_deref())),
            ("template", yes_no(s.template)),
            ("tags", s.tags.join(";")),
            ("ha", opt(s.ha_state.as_deref())),
        ];
        for (k, v) in kv {
            t.row(vec![k.to_owned(), v]);
        }
        t
    })
}

/// Resolves where a guest lives, named by vmid or unique name: a vmid with `--node` and
/// `--kind` is taken as given; otherwise one guest listing finds it
/// ([`crate::workflow::resolve_one`]).
pub(crate) async fn locate(b: &dyn Backend, guest: &str, at: &Locate) -> Result<GuestRef> {
    if let (Ok(vmid), Some(node), Some(kind)) = (guest.parse::<Vmid>(), &at.node, at.kind) {
        return Ok(GuestRef { vmid, node: node.clone(), kind });
    }
    let r = crate::workflow::resolve_one(b, guest).await?;
    if let Some(n) = at.node.as_ref().filter(|n| **n != r.node) {
        return Err(Error::NotFound(format!("guest {} is on node {}, not {n}", r.vmid, r.node)));
    }
    if let Some(k) = at.kind.filter(|k| *k != r.kind) {
        return Err(Error::NotFound(format!("guest {} is {}, not {k}", r.vmid, r.kind)));
    }
    Ok(r)
}

fn guest_table(g: &[Guest]) -> Table {
    let mut t = Table::new(&[
        "VMID", "NAME", "NODE", "KIND", "STATUS", "CPU", "CPUS", "MEM", "MAXMEM", "MEM%", "DISK", "MAXDISK", "UPTIME", "TAGS", "POOL",
        "LOCK",
    ])
    .wide_only(&["CPUS", "MEM%", "DISK"]);
    for e in g {
        let status = if e.template { format!("{} (template)", e.status) } else { e.status.clone() };
        t.row(vec![
            e.vmid.to_string(),
            opt(e.name.as_deref()),
            e.node.to_string(),
            e.kind.to_string(),
            status,
            percent(e.cpu),
            e.maxcpu.map_or_else(|| "-".into(), |c| c.to_string()),
            bytes(e.mem),
            bytes(e.maxmem),
            percent(ratio(e.mem, e.maxmem)),
            bytes(e.disk),
            bytes(e.maxdisk),
            duration(e.uptime),
            e.tags.join(";"),
            opt(e.pool.as_deref()),
            opt(e.lock.as_deref()),
        ]);
    }
    t
}
