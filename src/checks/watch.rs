//! `check --watch`: what changed between two reports. An alert is a change only: a new
//! problem, a changed severity, or a problem resolved; OK findings that stay OK are quiet.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Finding, Report, Severity};

/// One state change of a finding.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Change {
    /// `new`, `changed` or `resolved`.
    pub change: &'static str,
    /// The severity before (`ok` for a new problem).
    pub previous: Severity,
    /// The finding now (for `resolved`, the last one seen, with severity `ok`).
    pub finding: Finding,
}

/// The changes from `before` (None: the first round, everything not OK is new) to `now`.
pub fn changes(before: Option<&Report>, now: &Report) -> Vec<Change> {
    let old: BTreeMap<(String, String), &Finding> =
        before.map(|r| r.findings.iter().filter(|f| f.severity != Severity::Ok).map(|f| (f.key(), f)).collect()).unwrap_or_default();
    let cur: BTreeMap<(String, String), &Finding> =
        now.findings.iter().filter(|f| f.severity != Severity::Ok).map(|f| (f.key(), f)).collect();
    let mut out = Vec::new();
    for (k, f) in &cur {
        match old.get(k) {
            None => out.push(Change { change: "new", previous: Severity::Ok, finding: (*f).clone() }),
            Some(o) if o.severity != f.severity => out.push(Change { change: "changed", previous: o.severity, finding: (*f).clone() }),
            Some(_) => {}
        }
    }
    for (k, o) in &old {
        if !cur.contains_key(k) {
            let mut f = now.findings.iter().find(|f| f.key() == *k).cloned().unwrap_or_else(|| (*o).clone());
            f.severity = Severity::Ok;
            out.push(Change { change: "resolved", previous: o.severity, finding: f });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(items: &[(&str, Severity)]) -> Report {
        Report::new("x", items.iter().map(|(s, sev)| Finding::new("c", *sev, *s, "m")).collect())
    }

    #[test]
    fn only_state_changes_alert() {
        let a = report(&[("pve1", Severity::Ok), ("pve2", Severity::Warning)]);
        assert_eq!(changes(None, &a).len(), 1);
        assert!(changes(Some(&a), &a).is_empty());
        let b = report(&[("pve1", Severity::Critical), ("pve2", Severity::Ok)]);
        let c = changes(Some(&a), &b);
        let kinds: Vec<(&str, &str)> = c.iter().map(|c| (c.change, c.finding.subject.as_str())).collect();
        assert_eq!(kinds, vec![("new", "pve1"), ("resolved", "pve2")]);
        let d = report(&[("pve1", Severity::Warning)]);
        assert_eq!(changes(Some(&b), &d)[0].change, "changed");
    }
}
