//! Warning and critical limits per measurement, with defaults, from `--warn K=V` / `--crit K=V`
//! and the config file's `[checks.warn]` / `[checks.crit]` tables.
//!
//! Keys: `cpu`, `mem`, `swap`, `rootfs` (node, percent), `load` (node 1-minute load per
//! logical CPU), `storage` (percent used), `guest-mem` (running guest, percent of its
//! `maxmem`), `backup-age` (days since a guest's newest backup; 0, the default, is off),
//! `task-hours` (the window, in hours, in which a failed task is reported; its `warn` value
//! is the window), `cert-days` (days a certificate has left: at or BELOW the limit is bad),
//! `disk-wear` (percent of an SSD's endurance used, `100 - wearout`), `updates` (pending
//! package updates of a node), `replication-fails` (consecutive failed syncs of a
//! replication job), `snapshot-age` (days since a guest's oldest snapshot; 0, the default,
//! is off).

use std::collections::BTreeMap;

use serde::Serialize;

use super::Severity;
use crate::error::{Error, Result};

/// One measurement's limits: at or over `warn` is a warning, at or over `crit` critical (at
/// or below, for a `low` limit such as the days a certificate has left).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Limit {
    /// Warning threshold.
    pub warn: f64,
    /// Critical threshold.
    pub crit: f64,
    /// Low values are bad (`cert-days`): at or below `warn` is a warning.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub low: bool,
}

impl Limit {
    /// A limit where high values are bad.
    pub const fn new(warn: f64, crit: f64) -> Self {
        Self { warn, crit, low: false }
    }

    /// The severity of `value` and the threshold it crossed (the warning one when none).
    pub fn judge(&self, value: f64) -> (Severity, f64) {
        if self.low {
            return if value <= self.crit {
                (Severity::Critical, self.crit)
            } else if value <= self.warn {
                (Severity::Warning, self.warn)
            } else {
                (Severity::Ok, self.warn)
            };
        }
        if value >= self.crit {
            (Severity::Critical, self.crit)
        } else if value >= self.warn {
            (Severity::Warning, self.warn)
        } else {
            (Severity::Ok, self.warn)
        }
    }
}

/// The keys, whether they are percentages, their defaults (warn, crit), and whether low
/// values are the bad ones.
const KEYS: &[(&str, bool, f64, f64, bool)] = &[
    ("cpu", true, 85.0, 95.0, false),
    ("mem", true, 85.0, 95.0, false),
    ("swap", true, 80.0, 95.0, false),
    ("rootfs", true, 80.0, 90.0, false),
    ("load", false, 1.5, 3.0, false),
    ("storage", true, 80.0, 90.0, false),
    ("guest-mem", true, 90.0, 98.0, false),
    // Off by default (0): the age of a backup is site policy, and the seeded demo's
    // backups carry fixed 2026-01-01 times that any later clock finds stale.
    ("backup-age", false, 0.0, 0.0, false),
    ("task-hours", false, 24.0, 24.0, false),
    ("cert-days", false, 30.0, 7.0, true),
    ("disk-wear", true, 80.0, 90.0, false),
    // Any pending update warns (check_pve's `updates` mode); 50 and more is critical.
    ("updates", false, 1.0, 50.0, false),
    ("replication-fails", false, 1.0, 3.0, false),
    // Off by default, as `backup-age`: the demo's snapshots carry fixed 2025 times.
    ("snapshot-age", false, 0.0, 0.0, false),
];

/// Every limit the checks use.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Thresholds(BTreeMap<&'static str, Limit>);

impl Default for Thresholds {
    fn default() -> Self {
        Self(KEYS.iter().map(|(k, _, w, c, low)| (*k, Limit { warn: *w, crit: *c, low: *low })).collect())
    }
}

fn key(k: &str) -> Result<(&'static str, bool)> {
    KEYS.iter().find(|(name, ..)| *name == k.trim()).map(|(n, pct, ..)| (*n, *pct)).ok_or_else(|| {
        let known: Vec<&str> = KEYS.iter().map(|k| k.0).collect();
        Error::Usage(format!("unknown threshold '{}': expected one of {}", crate::model::clip(k, 40), known.join(", ")))
    })
}

fn value(k: &str, pct: bool, v: f64) -> Result<f64> {
    if !v.is_finite() || v < 0.0 || (pct && v > 100.0) {
        let range = if pct { "0-100" } else { "a number >= 0" };
        return Err(Error::Usage(format!("threshold {k}={v} is out of range: expected {range}")));
    }
    Ok(v)
}

impl Thresholds {
    /// The limit of `key` (one of the documented keys).
    pub fn get(&self, key: &str) -> Limit {
        self.0.get(key).copied().unwrap_or(Limit::new(f64::INFINITY, f64::INFINITY))
    }

    fn set(&mut self, k: &str, v: f64, crit: bool) -> Result<()> {
        let (name, pct) = key(k)?;
        let v = value(name, pct, v)?;
        let l = self.0.entry(name).or_insert(Limit::new(v, v));
        if crit {
            l.crit = v;
        } else {
            l.warn = v;
        }
        Ok(())
    }

    /// Applies `K=V` items (each may hold several, comma-separated) to the warning (`crit`
    /// false) or critical limits.
    ///
    /// # Errors
    /// `Usage` for an unknown key, a value that is not a number or out of range.
    pub fn apply_args(&mut self, items: &[String], crit: bool) -> Result<()> {
        for item in items.iter().flat_map(|i| i.split(',')).filter(|i| !i.trim().is_empty()) {
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| Error::Usage(format!("threshold '{}' is not KEY=VALUE (e.g. mem=85)", crate::model::clip(item, 40))))?;
            let v: f64 = v
                .trim()
                .trim_end_matches('%')
                .parse()
                .map_err(|_| Error::Usage(format!("threshold {}: '{}' is not a number", k.trim(), crate::model::clip(v, 40))))?;
            self.set(k, v, crit)?;
        }
        Ok(())
    }

    /// Applies a config file's `[checks]` table: `warn` and `crit` sub-tables of `key = number`.
    ///
    /// # Errors
    /// `Usage` naming `origin` for an unknown key or a value that is not a number in range.
    pub fn apply_table(&mut self, t: &toml::Table, origin: &str) -> Result<()> {
        for (side, v) in t {
            let crit = match side.as_str() {
                "warn" => false,
                "crit" => true,
                other => return Err(Error::Usage(format!("{origin}: unknown key '{other}': expected [checks.warn] or [checks.crit]"))),
            };
            let table = v.as_table().ok_or_else(|| Error::Usage(format!("{origin}: '{side}' must be a table of key = number")))?;
            for (k, v) in table {
                let n = v
                    .as_float()
                    .or_else(|| v.as_integer().and_then(|i| i32::try_from(i).ok()).map(f64::from))
                    .ok_or_else(|| Error::Usage(format!("{origin}: {side}.{k} must be a number")))?;
                self.set(k, n, crit).map_err(|e| Error::Usage(format!("{origin}: {e}")))?;
            }
        }
        Ok(())
    }

    /// Checks that no warning limit is above its critical one.
    ///
    /// # Errors
    /// `Usage` naming the key.
    pub fn validate(&self) -> Result<()> {
        for (k, l) in &self.0 {
            if l.low && l.warn < l.crit {
                return Err(Error::Usage(format!("threshold {k}: warning {} is below critical {}", l.warn, l.crit)));
            }
            if !l.low && l.warn > l.crit && *k != "task-hours" {
                return Err(Error::Usage(format!("threshold {k}: warning {} is above critical {}", l.warn, l.crit)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_table_override_defaults_and_bad_input_is_refused() {
        let mut t = Thresholds::default();
        assert_eq!(t.get("mem"), Limit::new(85.0, 95.0));
        t.apply_args(&["mem=70,cpu=50".into()], false).expect("valid");
        t.apply_args(&["mem=80%".into()], true).expect("valid");
        assert_eq!(t.get("mem"), Limit::new(70.0, 80.0));
        assert_eq!(t.get("cpu"), Limit::new(50.0, 95.0));
        let table: toml::Table = toml::from_str("[warn]\nstorage = 60\n[crit]\nload = 2.5").expect("toml");
        t.apply_table(&table, "cfg [checks]").expect("valid");
        assert_eq!((t.get("storage"), t.get("load")), (Limit::new(60.0, 90.0), Limit::new(1.5, 2.5)));
        assert!(t.validate().is_ok());
        for bad in ["memory=80", "mem=abc", "mem=120", "mem"] {
            assert!(Thresholds::default().apply_args(&[bad.into()], false).is_err(), "{bad}");
        }
        let mut t = Thresholds::default();
        t.apply_args(&["mem=99".into()], false).expect("in range");
        assert!(t.validate().is_err(), "warn above crit");
        assert_eq!(Limit::new(85.0, 95.0).judge(90.0), (Severity::Warning, 85.0));
    }

    #[test]
    fn certificate_days_are_bad_when_low_and_validated_the_other_way() {
        let t = Thresholds::default();
        let days = t.get("cert-days");
        assert_eq!(
            (days.judge(400.0).0, days.judge(30.0).0, days.judge(7.0).0, days.judge(-2.0).0),
            (Severity::Ok, Severity::Warning, Severity::Critical, Severity::Critical)
        );
        assert!(t.validate().is_ok());
        let mut t = Thresholds::default();
        t.apply_args(&["cert-days=5".into()], false).expect("in range");
        assert!(t.validate().is_err(), "a warning below the critical days never fires first");
        let mut t = Thresholds::default();
        t.apply_args(&["cert-days=60".into()], false).expect("in range");
        t.apply_args(&["cert-days=14".into()], true).expect("in range");
        assert_eq!(t.get("cert-days").judge(20.0), (Severity::Warning, 60.0));
        assert!(Thresholds::default().apply_args(&["disk-wear=101".into()], false).is_err(), "a percentage");
    }
}
