//! Config changes as [`Action`]s: `guest set` and `guest unlock` (DESIGN.md §4).
//!
//! `guest set` reads the config first, shows old -> new for every key, and passes PVE's
//! config `digest`, so an edit made by someone else between plan and apply makes PVE refuse
//! (`detected modified configuration`, exit 6) instead of being overwritten. Its tier follows
//! the keys: metadata (`name`, `description`, `tags`, `onboot`, `protection=1`) is change,
//! anything else destructive. `guest unlock` clears a lock PVE left behind (`qm unlock`).

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::backend::{Backend, Mutation, Params};
use crate::error::{Error, Result};
use crate::model::Vmid;
use crate::workflow::action::{Action, Draft, Prepared, ReadOnly};
use crate::workflow::discover::discover;
use crate::workflow::report::{GuestState, Report};

/// Whether `key` is a config key PVE could have: a letter, then letters, digits, `_`, `-`
/// (`memory`, `net0`, `scsi0`, `ssh-public-keys`); at most 64 characters.
pub fn valid_key(key: &str) -> bool {
    let mut c = key.chars();
    key.len() <= 64
        && c.next().is_some_and(|f| f.is_ascii_lowercase())
        && c.all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_' || ch == '-')
}

/// `guest set <guest> key=value... [--delete key]`.
#[derive(Debug, Clone)]
pub struct SetConfig {
    /// The guest.
    pub vmid: Vmid,
    /// Keys to set, in order.
    pub set: Params,
    /// Keys to delete.
    pub delete: Vec<String>,
}

impl SetConfig {
    /// Checks the keys before anything is read.
    ///
    /// # Errors
    /// `Usage` for nothing to change, a malformed key, a key both set and deleted, or a key
    /// pvectl manages itself (`digest`, `lock`: see `guest unlock`).
    pub fn validate(&self) -> Result<()> {
        if self.set.is_empty() && self.delete.is_empty() {
            return Err(Error::Usage("nothing to change: give key=value pairs, typed flags or --delete".into()));
        }
        for k in self.set.iter().map(|(k, _)| k).chain(&self.delete) {
            if !valid_key(k) {
                return Err(Error::Usage(format!("{} is not a config key", crate::model::excerpt(k, 40))));
            }
            if matches!(k.as_str(), "digest" | "lock" | "delete" | "skiplock") {
                return Err(Error::Usage(format!(
                    "'{k}' is not set this way (the digest is passed for you; use `guest unlock` for a lock)"
                )));
            }
        }
        if let Some(k) = self.delete.iter().find(|k| self.set.iter().any(|(s, _)| s == *k)) {
            return Err(Error::Usage(format!("'{k}' is both set and deleted")));
        }
        Ok(())
    }
}

#[async_trait]
impl Action for SetConfig {
    fn name(&self) -> String {
        "set".into()
    }

    fn summary(&self, d: &Draft) -> String {
        let keys: Vec<&str> = self.set.iter().map(|(k, _)| k.as_str()).chain(self.delete.iter().map(String::as_str)).collect();
        d.target.as_ref().map_or_else(|| self.name(), |g| format!("set {} on guest {} ({}) on {}", keys.join(", "), g.vmid, g.kind, g.node))
    }

    async fn prepare(&self, b: &ReadOnly<'_>) -> Result<Prepared> {
        self.validate()?;
        let (guest, listed) = discover(b, self.vmid, None, None).await?;
        let config = b.guest_config(&guest).await?;
        let mut changes = serde_json::Map::new();
        let mut set = Params::new();
        // An lxc guest's name is its `hostname`.
        let wanted: Params = self
            .set
            .iter()
            .map(|(k, v)| {
                if k == "name" && guest.kind == crate::model::GuestKind::Lxc {
                    ("hostname".to_owned(), v.clone())
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect();
        for (k, v) in &wanted {
            let old = config.get(k);
            if old != Some(v.as_str()) {
                changes.insert(k.clone(), json!({"old": old, "new": v}));
                set.push((k.clone(), v.clone()));
            }
        }
        let delete: Vec<String> = self.delete.iter().filter(|k| config.get(k).is_some()).cloned().collect();
        for k in &delete {
            changes.insert(k.clone(), json!({"old": config.get(k), "new": Value::Null}));
        }
        let before = listed.as_ref().map_or_else(GuestState::default, GuestState::from_resource);
        if set.is_empty() && delete.is_empty() {
            let mut report = Report::noop(self.name(), guest, before);
            report.details = Some(json!({"changes": {}}));
            return Ok(Prepared::Noop(Box::new(report)));
        }
        if let Some(lock) = &before.lock {
            return Err(Error::Conflict(format!("guest {} is locked ({lock})", self.vmid)));
        }
        let m = Mutation::SetConfig { guest: guest.clone(), set, delete, digest: config.digest.clone() };
        let mut d = Draft::new(Some(guest), Some(before), vec![m]);
        if config.digest.is_none() {
            // `qm|pct config` print no digest (FORMATS.md §1.3): nothing to pass.
            d.warnings.push(format!(
                "the config of guest {} was read without its digest: an edit made by someone else before this one is sent would be overwritten",
                self.vmid
            ));
        }
        d.details = Some(json!({"changes": changes, "digest": config.digest}));
        Ok(Prepared::Changes(Box::new(d)))
    }

    async fn observe(&self, _b: &dyn Backend, _d: &Draft) -> Result<Option<GuestState>> {
        Ok(None)
    }

    fn reached(&self, _d: &Draft, _after: &GuestState) -> bool {
        true
    }

    /// Reads the config and the pending changes after the write: what is now in force, and
    /// what waits for a restart (a running qemu guest's non-hotpluggable keys).
    async fn conclude(&self, b: &dyn Backend, d: &Draft, report: &mut Report, error: Option<Error>) -> Option<Error> {
        let Some(g) = &d.target else { return error };
        if let Ok(config) = b.guest_config(g).await {
            let now: serde_json::Map<String, Value> =
                self.set.iter().map(|(k, _)| k).chain(&self.delete).map(|k| (k.clone(), json!(config.get(k)))).collect();
            if let Some(Value::Object(details)) = &mut report.details {
                details.insert("now".into(), Value::Object(now));
                details.remove("digest");
            }
        }
        // A running guest takes some keys only at its next start: say which.
        if let Ok(pending) = crate::backend::InventoryExt::pending(b, g).await {
            let waiting: serde_json::Map<String, Value> = pending
                .iter()
                .filter(|p| p.is_pending())
                .map(|p| (p.key.clone(), serde_json::to_value(p).unwrap_or(Value::Null)))
                .collect();
            if let (Some(Value::Object(details)), false) = (&mut report.details, waiting.is_empty()) {
                details.insert("pending".into(), Value::Object(waiting));
            }
        }
        error
    }
}

/// `guest unlock`: clears the lock PVE left on a guest (`backup`, `clone`, `migrate`, ...).
/// Destructive: the lock may still guard a running operation.
#[derive(Debug, Clone)]
pub struct Unlock {
    /// The guest.
    pub vmid: Vmid,
}

#[async_trait]
impl Action for Unlock {
    fn name(&self) -> String {
        "unlock".into()
    }

    fn summary(&self, d: &Draft) -> String {
        let lock = d.before.as_ref().and_then(|s| s.lock.clone()).unwrap_or_default();
        d.target.as_ref().map_or_else(|| self.name(), |g| format!("clear the '{lock}' lock of guest {} ({}) on {}", g.vmid, g.kind, g.node))
    }

    async fn prepare(&self, b: &ReadOnly<'_>) -> Result<Prepared> {
        let (guest, _) = discover(b, self.vmid, None, None).await?;
        let before = GuestState::from_status(&b.guest_status(&guest).await?);
        if before.lock.is_none() {
            return Ok(Prepared::Noop(Box::new(Report::noop(self.name(), guest, before))));
        }
        let warnings = vec![format!(
            "the '{}' lock may still guard a running operation: check `pvectl task list --node {}` first",
            before.lock.clone().unwrap_or_default(),
            guest.node
        )];
        let mut d = Draft::new(Some(guest.clone()), Some(before), vec![Mutation::Unlock { guest: guest.clone() }]);
        d.warnings = warnings;
        Ok(Prepared::Changes(Box::new(d)))
    }

    async fn observe(&self, b: &dyn Backend, d: &Draft) -> Result<Option<GuestState>> {
        d.read_subject(b).await
    }

    fn reached(&self, _d: &Draft, after: &GuestState) -> bool {
        after.lock.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Tier, config_tier};

    #[test]
    fn keys_are_checked_before_anything_runs() {
        assert!(valid_key("memory") && valid_key("net0") && valid_key("ssh-public-keys"));
        for bad in ["", "0net", "Memory", "a b", "x;y", "--delete"] {
            assert!(!valid_key(bad), "{bad}");
        }
        let s = |set: &[(&str, &str)], delete: &[&str]| SetConfig {
            vmid: Vmid::new(100).expect("vmid"),
            set: set.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            delete: delete.iter().map(|k| (*k).to_owned()).collect(),
        };
        assert!(s(&[], &[]).validate().is_err());
        assert!(s(&[("digest", "x")], &[]).validate().is_err());
        assert!(s(&[("memory", "1")], &["memory"]).validate().is_err());
        assert!(s(&[("memory", "4096")], &["tags"]).validate().is_ok());
    }

    #[tokio::test]
    async fn an_edit_between_plan_and_apply_is_refused_by_pve_not_overwritten() {
        use std::ops::ControlFlow;
        use std::sync::Arc;

        use crate::backend::sim::{SimBackend, SimTransport};
        use crate::backend::{Backend as _, Mutation};
        use crate::safety::{Asker, AuditLog, Gate, Guarded, PolicyRules};
        use crate::workflow::{Ctx, Deadline, engine};

        let sim: Arc<SimBackend> = Arc::new(SimBackend::new(SimTransport::demo()));
        let guarded = Guarded::new(sim.clone(), PolicyRules::default(), AuditLog::disabled());
        let ctx = Ctx {
            backend: &guarded,
            gate: Gate { yes: true, dry_run: false, asker: Asker::None },
            timeout: std::time::Duration::from_secs(30),
            wait: true,
            progress: false,
            show_plan: &|_| {},
            joint: None,
        };
        let action = SetConfig { vmid: Vmid::new(100).expect("vmid"), set: vec![("cores".into(), "4".into())], delete: Vec::new() };
        let ControlFlow::Continue(planned) = engine::plan(&ctx, &action).await.expect("plan") else { panic!("a change is planned") };
        // Someone else edits the config after the plan was made (no digest: it just writes).
        let guest = planned.1.target.clone().expect("target");
        let other = Mutation::SetConfig {
            guest: guest.clone(),
            set: vec![("name".into(), "web-renamed".into())],
            delete: Vec::new(),
            digest: None,
        };
        sim.execute(&other).await.expect("the other edit");
        let e = engine::apply(&ctx, &action, planned, &Deadline::after(ctx.timeout)).await.expect_err("refused by PVE");
        assert_eq!(e.exit_code(), 6, "{e}");
        assert!(e.to_string().contains("detected modified configuration"), "{e}");
        let config = sim.guest_config(&guest).await.expect("config");
        assert_eq!((config.get("cores"), config.get("name")), (Some("2"), Some("web-renamed")), "nothing overwritten");
    }

    #[test]
    fn the_tier_follows_the_keys() {
        let p = |kv: &[(&str, &str)]| kv.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>();
        assert_eq!(config_tier(&p(&[("name", "web"), ("tags", "a;b"), ("onboot", "1")]), &[]), Tier::Change);
        assert_eq!(config_tier(&p(&[("protection", "1")]), &[]), Tier::Change);
        assert_eq!(config_tier(&p(&[("protection", "0")]), &[]), Tier::Destructive);
        assert_eq!(config_tier(&p(&[("memory", "4096")]), &[]), Tier::Destructive);
        assert_eq!(config_tier(&[], &["description".to_owned()]), Tier::Change);
        assert_eq!(config_tier(&[], &["protection".to_owned()]), Tier::Destructive);
    }
}
