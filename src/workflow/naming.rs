//! Generated snapshot names: a template with `%Y %m %d %H %M %S` (UTC) — default
//! `pvectl-%Y%m%d-%H%M%S` — or `<prefix>-<change>` for teams that name snapshots after change
//! tickets (`--change CHG-1234` with prefix `change` gives `change-CHG-1234`).

use crate::error::{Error, Result};
use crate::model::SnapshotName;

/// The default name template.
pub const DEFAULT_TEMPLATE: &str = "pvectl-%Y%m%d-%H%M%S";
/// The default change prefix.
pub const DEFAULT_PREFIX: &str = "change";

/// How to name a snapshot when no name is given.
#[derive(Debug, Clone)]
pub struct Naming {
    /// Template with `%Y %m %d %H %M %S` (`PVECTL_SNAPSHOT_TEMPLATE`).
    pub template: String,
    /// Prefix for `--change` (`PVECTL_CHANGE_PREFIX`).
    pub prefix: String,
}

impl Default for Naming {
    fn default() -> Self {
        Self { template: DEFAULT_TEMPLATE.into(), prefix: DEFAULT_PREFIX.into() }
    }
}

impl Naming {
    /// The name for `change` (if given) or from the template at `now` (seconds since the epoch).
    ///
    /// # Errors
    /// `Usage` when the result is not a valid snapshot name (e.g. a change id with spaces).
    pub fn generate(&self, change: Option<&str>, now: u64) -> Result<SnapshotName> {
        let name = if let Some(c) = change {
            format!("{}-{c}", self.prefix)
        } else {
            let t = crate::model::time::format_utc(now);
            let (date, time) = t.split_once(' ').unwrap_or((&t, ""));
            let d: Vec<&str> = date.split('-').collect();
            let h: Vec<&str> = time.split(':').collect();
            let part = |v: &[&str], i: usize| v.get(i).copied().unwrap_or("00").to_owned();
            self.template
                .replace("%Y", &part(&d, 0))
                .replace("%m", &part(&d, 1))
                .replace("%d", &part(&d, 2))
                .replace("%H", &part(&h, 0))
                .replace("%M", &part(&h, 1))
                .replace("%S", &part(&h, 2))
        };
        name.parse().map_err(|e: crate::model::IdError| Error::Usage(format!("generated {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_template_and_change_names() {
        let n = Naming::default();
        assert_eq!(n.generate(None, 1_785_280_098).expect("valid").as_str(), "pvectl-20260728-230818");
        assert_eq!(n.generate(Some("CHG-1234"), 0).expect("valid").as_str(), "change-CHG-1234");
        let custom = Naming { template: "nightly_%Y_%m_%d".into(), prefix: "chg".into() };
        assert_eq!(custom.generate(None, 0).expect("valid").as_str(), "nightly_1970_01_01");
        assert_eq!(custom.generate(Some("42"), 0).expect("valid").as_str(), "chg-42");
        assert!(n.generate(Some("a b"), 0).is_err());
    }
}
