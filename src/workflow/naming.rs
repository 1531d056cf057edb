//! Generated snapshot names: a template with `%Y %m %d %H %M %S` (UTC) — default
//! `pvectl-%Y%m%d-%H%M%S` — or `<prefix>-<change>` for teams that name snapshots after change
//! tickets (`--change CHG-1234` with prefix `change` gives `change-CHG-1234`).
//!
//! Where the template and the prefix come from, first found wins: the flags (`--template`,
//! `--prefix`), the environment (`PVECTL_SNAPSHOT_TEMPLATE`, `PVECTL_CHANGE_PREFIX`), the
//! selected target's `[targets.NAME.snapshots]`, the config file's `[snapshots]`
//! (`template = "..."`, `change_prefix = "..."`), then the defaults. Config values are checked
//! when the file is read: one that cannot make a valid PVE snapshot name is a usage error
//! naming its key.

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::model::SnapshotName;

/// The default name template.
pub const DEFAULT_TEMPLATE: &str = "pvectl-%Y%m%d-%H%M%S";
/// The default change prefix.
pub const DEFAULT_PREFIX: &str = "change";

/// How to name a snapshot when no name is given.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// A `[snapshots]` table of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamingTable {
    template: Option<String>,
    change_prefix: Option<String>,
}

/// A config value quoted for an error message: short, control characters escaped.
fn quoted(v: &str) -> String {
    format!("{:?}", crate::model::clip(v, 60))
}

impl Naming {
    /// The naming a config file sets: the defaults, then its `[snapshots]` table (`global`),
    /// then the selected target's `[targets.NAME.snapshots]` (`target`); each table with
    /// where it came from (`/path/config.toml [snapshots]`) for error messages.
    ///
    /// # Errors
    /// `Usage` naming the table and key for an unknown key, a value that is not a string, or
    /// a template or prefix that cannot make a valid PVE snapshot name.
    pub fn from_config(global: Option<(&toml::Table, &str)>, target: Option<(&toml::Table, &str)>) -> Result<Self> {
        let mut naming = Self::default();
        for (table, origin) in [global, target].into_iter().flatten() {
            let t: NamingTable = toml::Value::Table(table.clone())
                .try_into()
                .map_err(|e: toml::de::Error| Error::Usage(format!("invalid {origin}: {}", e.message().trim())))?;
            if let Some(template) = t.template {
                let probe = Self { template: template.clone(), prefix: DEFAULT_PREFIX.into() };
                probe.generate(None, 0).map_err(|e| {
                    Error::Usage(format!("invalid {origin}: template = {} cannot make a valid snapshot name ({e})", quoted(&template)))
                })?;
                naming.template = template;
            }
            if let Some(prefix) = t.change_prefix {
                let probe = Self { template: DEFAULT_TEMPLATE.into(), prefix: prefix.clone() };
                probe.generate(Some("CHG-1"), 0).map_err(|e| {
                    Error::Usage(format!("invalid {origin}: change_prefix = {} cannot make a valid snapshot name ({e})", quoted(&prefix)))
                })?;
                naming.prefix = prefix;
            }
        }
        Ok(naming)
    }

    /// This naming with the flags' or the environment's values, where given, on top.
    #[must_use]
    pub fn overridden(self, template: Option<String>, prefix: Option<String>) -> Self {
        Self { template: template.unwrap_or(self.template), prefix: prefix.unwrap_or(self.prefix) }
    }

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

    fn table(text: &str) -> toml::Table {
        text.parse().expect("TOML")
    }

    #[test]
    fn target_over_global_over_default_and_overrides_on_top() {
        let global = table("template = \"team-%Y%m%d\"\nchange_prefix = \"chg\"");
        let target = table("template = \"prod-%Y%m%d%H%M\"");
        let n = Naming::from_config(Some((&global, "c [snapshots]")), Some((&target, "c [targets.p.snapshots]"))).expect("valid");
        assert_eq!(n, Naming { template: "prod-%Y%m%d%H%M".into(), prefix: "chg".into() });
        assert_eq!(Naming::from_config(None, None).expect("default"), Naming::default());
        let n = n.overridden(Some("env-%Y".into()), None);
        assert_eq!((n.template.as_str(), n.prefix.as_str()), ("env-%Y", "chg"));
    }

    #[test]
    fn config_values_that_cannot_name_a_snapshot_are_usage_errors_naming_the_key() {
        for (text, key) in [
            ("template = \"%Y-nightly\"", "template"),
            ("template = \"snap %Y\"", "template"),
            ("template = \"x-%Q\"", "template"),
            ("template = \"a-very-long-template-name-%Y%m%d-%H%M%S-xxxx\"", "template"),
            ("change_prefix = \"9chg\"", "change_prefix"),
            ("change_prefix = \"ch g\"", "change_prefix"),
        ] {
            let e = Naming::from_config(Some((&table(text), "/c.toml [snapshots]")), None).expect_err(text);
            assert!(matches!(&e, Error::Usage(m) if m.contains("/c.toml [snapshots]") && m.contains(key)), "{text}: {e}");
        }
        let e = Naming::from_config(Some((&table("prefix = \"x\""), "/c.toml [snapshots]")), None).expect_err("unknown key");
        assert!(e.to_string().contains("prefix"), "{e}");
    }
}
