//! `pvectl guest diagnose <guest>`: the library's diagnosis printed as one JSON object, or as
//! a summary and one block per finding. A read: it exits 0 whatever it finds.

use std::fmt::Write as _;

use super::Env;
use super::args::OutputFormat;
use super::output::{emit, escape_lines, opt, print};
use crate::error::Result;
use crate::model::Vmid;
use crate::workflow::{Diagnosis, diagnose};

/// Runs `guest diagnose`.
///
/// # Errors
/// Discovery's: the guest does not exist (5), the listing is unreadable (9).
pub(crate) async fn run(env: &Env<'_>, vmid: Vmid) -> Result<()> {
    let d = diagnose(env.b(), vmid).await?;
    match env.cfg.output {
        OutputFormat::Json => print(OutputFormat::Json, &d, |_| super::output::Table::default()),
        OutputFormat::Table => emit(&(escape_lines(&text(&d)) + "\n")),
    }
}

fn text(d: &Diagnosis) -> String {
    let g = &d.guest;
    let mut s = format!("guest {} {} ({}) on {}\n", g.vmid, opt(d.name.as_deref()), g.kind, g.node);
    let _ = writeln!(s, "  status: {}  lock: {}  ha: {}", opt(d.status.as_deref()), opt(d.lock.as_deref()), opt(d.ha_state.as_deref()));
    if let Some(a) = &d.agent {
        let _ = writeln!(s, "  agent:  {a}");
    }
    for disk in &d.disks {
        let active = disk.active.map_or("not on this node", |a| if a { "active" } else { "inactive" });
        let usage = disk.usage.map(|u| format!(", {:.0}% used", u * 100.0)).unwrap_or_default();
        let _ = writeln!(s, "  disk:   {} on {} ({active}{usage})", disk.disk, disk.storage);
    }
    if d.findings.is_empty() {
        s.push_str("no problems found\n");
    }
    for f in &d.findings {
        let sev = match f.severity {
            crate::workflow::Severity::Info => "INFO",
            crate::workflow::Severity::Warning => "WARNING",
            crate::workflow::Severity::Critical => "CRITICAL",
        };
        let _ = writeln!(s, "{sev} [{}] {}", f.code, f.message);
        if let Some(c) = &f.cause {
            let _ = writeln!(s, "  cause: {c}");
        }
        for l in &f.log {
            let _ = writeln!(s, "  log:   {l}");
        }
        for n in &f.next {
            let _ = writeln!(s, "  next:  {n}");
        }
    }
    s
}
