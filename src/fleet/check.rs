//! One check report over a fleet: each target's findings, with the subject and the
//! performance-data label prefixed by the target (`lab:pve3`, `'lab:mem_pve1'=...`), so the
//! Nagios line names the target of each problem, its state is the worst over all targets,
//! and `check --watch` keys state changes by target. A target whose checks could not run at
//! all (not opened, a bad setting) is one UNKNOWN finding (`target-reachable`) naming it.

use crate::checks::{Finding, Report, Severity};
use crate::error::Error;

/// One target's check report, or why there is none.
#[derive(Debug)]
pub struct TargetReport {
    /// The target's name as selected (`lab`, `sim`).
    pub target: String,
    /// Its report, or the error that stopped its checks.
    pub report: Result<Report, Error>,
}

/// Joins the reports of several targets into one report of check set `set` (its status the
/// worst of all findings); targets in the order given.
pub fn join_reports(set: &str, parts: Vec<TargetReport>) -> Report {
    let mut findings = Vec::new();
    for part in parts {
        match part.report {
            Ok(r) => findings.extend(r.findings.into_iter().map(|mut f| {
                f.subject = format!("{}:{}", part.target, f.subject);
                if let Some(p) = &mut f.perfdata {
                    p.label = format!("{}:{}", part.target, p.label);
                }
                f
            })),
            Err(e) => {
                let message = format!("checks could not run: {}", crate::redact::redact(&e.to_string()));
                findings.push(Finding::new("target-reachable", Severity::Unknown, part.target, crate::model::clip(&message, 300)));
            }
        }
    }
    Report::new(set, findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Perf;

    #[test]
    fn subjects_and_labels_name_their_target_and_the_worst_state_wins() {
        let mut ok = Finding::new("node-memory", Severity::Ok, "pve1", "memory 40%");
        ok.perfdata =
            Some(Perf { label: "mem_pve1".into(), value: 40.0, uom: "%".into(), warn: None, crit: None, min: None, max: None, low: false });
        let bad = Finding::new("cluster-nodes", Severity::Critical, "pve3", "node offline");
        let joined = join_reports(
            "all",
            vec![
                TargetReport { target: "a".into(), report: Ok(Report::new("all", vec![ok])) },
                TargetReport { target: "b".into(), report: Ok(Report::new("all", vec![bad])) },
                TargetReport { target: "c".into(), report: Err(Error::Transport { message: "connection refused".into(), source: None }) },
            ],
        );
        assert_eq!(joined.status, Severity::Critical);
        let subjects: Vec<&str> = joined.findings.iter().map(|f| f.subject.as_str()).collect();
        assert_eq!(subjects, ["a:pve1", "b:pve3", "c"]);
        assert_eq!(joined.findings[0].perfdata.as_ref().map(|p| p.label.as_str()), Some("a:mem_pve1"));
        assert_eq!(joined.findings[2].severity, Severity::Unknown);
        assert!(joined.findings[2].message.contains("connection refused"));
    }
}
