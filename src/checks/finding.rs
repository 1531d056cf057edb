//! What a check found: [`Finding`], its [`Severity`] and Nagios performance data.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered as monitoring-plugins' `max_state_alt`: OK < WARNING <
/// UNKNOWN < CRITICAL, so a check that could not look is worse than a warning but never hides
/// a critical finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "CheckSeverity")]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Within limits.
    Ok,
    /// Over the warning threshold.
    Warning,
    /// Could not be checked (a read failed).
    Unknown,
    /// Over the critical threshold, or down.
    Critical,
}

impl Severity {
    /// The Nagios plugin exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    pub fn nagios_code(self) -> i32 {
        match self {
            Self::Ok => 0,
            Self::Warning => 1,
            Self::Critical => 2,
            Self::Unknown => 3,
        }
    }

    /// `OK`, `WARNING`, `CRITICAL`, `UNKNOWN`.
    pub fn nagios(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Warning => "WARNING",
            Self::Critical => "CRITICAL",
            Self::Unknown => "UNKNOWN",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ok => "ok",
            Self::Warning => "warning",
            Self::Critical => "critical",
            Self::Unknown => "unknown",
        })
    }
}

/// One Nagios performance datum: `'label'=value[uom];warn;crit;min;max`; for a `low` datum
/// (bad when low) the thresholds print as ranges `warn:` and `crit:` (alert below them), as
/// the monitoring-plugins threshold syntax has it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "CheckPerf")]
pub struct Perf {
    /// Label (`mem_pve1`).
    pub label: String,
    /// Value.
    pub value: f64,
    /// Unit of measure (`%`, `s`, empty).
    pub uom: String,
    /// Warning threshold.
    pub warn: Option<f64>,
    /// Critical threshold.
    pub crit: Option<f64>,
    /// Minimum.
    pub min: Option<f64>,
    /// Maximum.
    pub max: Option<f64>,
    /// Low values are bad: thresholds print as `N:`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub low: bool,
}

fn num(v: Option<f64>) -> String {
    v.map(|v| format!("{}", (v * 100.0).round() / 100.0)).unwrap_or_default()
}

impl fmt::Display for Perf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label: String = self.label.chars().filter(|c| *c != '\'' && *c != '=' && !c.is_control()).collect();
        let range = |v: Option<f64>| if self.low && v.is_some() { format!("{}:", num(v)) } else { num(v) };
        write!(
            f,
            "'{label}'={}{};{};{};{};{}",
            num(Some(self.value)),
            self.uom,
            range(self.warn),
            range(self.crit),
            num(self.min),
            num(self.max)
        )
    }
}

/// One thing a check looked at and what it found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "CheckFinding")]
pub struct Finding {
    /// The check (`node-memory`, `guest-expected-running`, ...).
    pub check: String,
    /// How bad.
    pub severity: Severity,
    /// What it is about: a node (`pve1`), a guest (`qemu/100`), a storage
    /// (`local-lvm@pve1`), a task (its UPID) or `cluster`.
    pub subject: String,
    /// One line for people.
    pub message: String,
    /// The measured value, where there is one (percent, days, count).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The threshold it was measured against (the one crossed, else the warning one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Performance data for Nagios.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub perfdata: Option<Perf>,
}

impl Finding {
    /// A finding without a value.
    pub fn new(check: &str, severity: Severity, subject: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            check: check.to_owned(),
            severity,
            subject: subject.into(),
            message: message.into(),
            value: None,
            threshold: None,
            perfdata: None,
        }
    }

    /// The key `check --watch` tracks a finding by.
    pub fn key(&self) -> (String, String) {
        (self.check.clone(), self.subject.clone())
    }
}

/// The result of one check set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "CheckReport")]
pub struct Report {
    /// The check set (`cluster`, `all`, ...).
    pub set: String,
    /// The worst severity of the findings (OK when there are none).
    pub status: Severity,
    /// Everything found, problems and the OK measurements with their performance data.
    pub findings: Vec<Finding>,
}

impl Report {
    /// A report over `findings`, its status their worst severity.
    pub fn new(set: &str, findings: Vec<Finding>) -> Self {
        let status = findings.iter().map(|f| f.severity).max().unwrap_or(Severity::Ok);
        Self { set: set.to_owned(), status, findings }
    }

    /// The findings that are not OK, worst first.
    pub fn problems(&self) -> Vec<&Finding> {
        let mut p: Vec<&Finding> = self.findings.iter().filter(|f| f.severity != Severity::Ok).collect();
        p.sort_by_key(|f| std::cmp::Reverse(f.severity));
        p
    }

    /// The one-line summary: the problems, or how many checks passed.
    pub fn summary(&self) -> String {
        let p = self.problems();
        if p.is_empty() {
            return format!("{} check(s) ok", self.findings.len());
        }
        let mut s: Vec<String> = p.iter().take(5).map(|f| format!("{}: {}", f.subject, f.message)).collect();
        if p.len() > 5 {
            s.push(format!("and {} more", p.len() - 5));
        }
        s.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_the_worst_and_perfdata_reads_as_nagios() {
        let mut f = Finding::new("node-memory", Severity::Warning, "pve1", "memory 90%");
        f.perfdata = Some(Perf {
            label: "mem_pve1".into(),
            value: 90.123,
            uom: "%".into(),
            warn: Some(85.0),
            crit: Some(95.0),
            min: Some(0.0),
            max: Some(100.0),
            low: false,
        });
        let r = Report::new("nodes", vec![Finding::new("x", Severity::Ok, "pve2", "ok"), f.clone()]);
        assert_eq!(r.status, Severity::Warning);
        assert_eq!(f.perfdata.expect("set").to_string(), "'mem_pve1'=90.12%;85;95;0;100");
        assert_eq!(r.summary(), "pve1: memory 90%");
        assert!(Severity::Unknown > Severity::Warning && Severity::Critical > Severity::Unknown);
        let days = Perf {
            label: "cert_days".into(),
            value: 12.0,
            uom: String::new(),
            warn: Some(30.0),
            crit: Some(7.0),
            min: None,
            max: None,
            low: true,
        };
        assert_eq!(days.to_string(), "'cert_days'=12;30:;7:;;", "alert below the thresholds");
    }
}
