//! Policy: one function of (mutation, facts) that decides every change, inside the wrapper
//! that executes it ([`super::Guarded`]), whatever face or raw path it came from
//! (DESIGN.md §4). `Allow` runs; `Confirm` runs only with consent bound to its plan;
//! `Refuse(reason)` never runs (exit 10).
//!
//! Built-in rule: destructive actions on a guest with PVE's `protection` flag are refused.
//! Config rules (`[policy]` and `[targets.NAME.policy]` in the config file):
//!
//! ```toml
//! [policy]
//! max_tier = "disruptive"         # ceiling: nothing above this tier runs ("read" = read-only)
//! protected_vmids = ["100", "9000-9099"]
//! protected_tags = ["prod"]
//! protected_pools = ["critical"]
//! allowed_nodes = ["pve1", "pve2"]  # changes only on these nodes
//! exec_tier = "change"              # `guest exec` needs no consent here (default: destructive)
//! ```
//!
//! A protected guest (by vmid, tag or pool) refuses destructive actions, like PVE's own flag.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::backend::{Backend, Mutation, ResourceType, Tier};
use crate::error::{Error, Result};
use crate::model::{GuestRef, Vmid};

/// What policy decided for one mutation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Run it.
    Allow,
    /// Run it only with consent for its plan (`--yes`, a typed `yes`, an approval).
    Confirm,
    /// Never run it; the reason is shown (exit 10).
    Refuse(String),
}

/// A vmid or an inclusive range (`"100"`, `"9000-9099"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VmidRange {
    /// First vmid.
    pub first: u32,
    /// Last vmid (equal to `first` for one vmid).
    pub last: u32,
}

impl VmidRange {
    /// Whether `v` is in the range.
    pub fn contains(self, v: Vmid) -> bool {
        (self.first..=self.last).contains(&v.get())
    }
}

impl fmt::Display for VmidRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last { write!(f, "{}", self.first) } else { write!(f, "{}-{}", self.first, self.last) }
    }
}

impl<'de> Deserialize<'de> for VmidRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(u32),
            Text(String),
        }
        let parse = |s: &str| s.trim().parse::<Vmid>().map(Vmid::get).map_err(serde::de::Error::custom);
        match Raw::deserialize(d)? {
            Raw::Num(n) => parse(&n.to_string()).map(|v| Self { first: v, last: v }),
            Raw::Text(t) => match t.split_once('-') {
                Some((a, b)) => {
                    let (first, last) = (parse(a)?, parse(b)?);
                    if first > last {
                        return Err(serde::de::Error::custom(format!("vmid range {t} runs backwards")));
                    }
                    Ok(Self { first, last })
                }
                None => parse(&t).map(|v| Self { first: v, last: v }),
            },
        }
    }
}

/// Config rules, from `[policy]` and a target's `[targets.NAME.policy]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyRules {
    /// The highest tier allowed to run; `read` makes the target read-only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tier: Option<TierName>,
    /// Guests whose destructive actions are refused.
    pub protected_vmids: Vec<VmidRange>,
    /// Guests with one of these tags are protected.
    pub protected_tags: Vec<String>,
    /// Guests in one of these pools are protected.
    pub protected_pools: Vec<String>,
    /// When set, changes only on these nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_nodes: Option<Vec<String>>,
    /// The tier of `guest exec` on this target (destructive unless lowered: a lab where agents
    /// may run commands without a human's consent sets `"change"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec_tier: Option<TierName>,
}

/// A tier as the config file spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TierName {
    /// Reads only.
    Read,
    /// Up to `change`.
    Change,
    /// Up to `disruptive`.
    Disruptive,
    /// Everything.
    Destructive,
}

impl TierName {
    /// As a [`Tier`].
    pub fn tier(self) -> Tier {
        match self {
            Self::Read => Tier::Read,
            Self::Change => Tier::Change,
            Self::Disruptive => Tier::Disruptive,
            Self::Destructive => Tier::Destructive,
        }
    }
}

impl PolicyRules {
    /// These rules tightened by `more` (a target's own): the lower ceiling, the union of the
    /// protected sets, the intersection of allowed nodes.
    #[must_use]
    pub fn merged(mut self, more: &Self) -> Self {
        self.max_tier = match (self.max_tier, more.max_tier) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.protected_vmids.extend(more.protected_vmids.iter().copied());
        self.protected_tags.extend(more.protected_tags.iter().cloned());
        self.protected_pools.extend(more.protected_pools.iter().cloned());
        self.exec_tier = more.exec_tier.or(self.exec_tier);
        self.allowed_nodes = match (self.allowed_nodes.take(), &more.allowed_nodes) {
            (Some(a), Some(b)) => Some(a.into_iter().filter(|n| b.contains(n)).collect()),
            (a, b) => a.or_else(|| b.clone()),
        };
        self
    }

    /// Parses a `[policy]` table.
    ///
    /// # Errors
    /// `Usage` naming the bad key or value.
    pub fn from_toml(table: &toml::Table, origin: &str) -> Result<Self> {
        Self::deserialize(toml::Value::Table(table.clone()))
            .map_err(|e| Error::Usage(format!("invalid policy in {origin}: {}", e.message())))
    }
}

/// What policy needs to know about a mutation's guest, read before deciding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facts {
    /// PVE's `protection` flag, when the config was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protection: Option<bool>,
    /// The guest's tags, when read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// The guest's pool, when read (`Some(None)`: in no pool).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<Option<String>>,
    /// A backup's `protected` flag, read for `backup delete`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_protected: Option<bool>,
}

/// Whether PVE's `protection` value is set, in any of the forms PVE or a tool prints it:
/// `1`, `"1"`, `1.0`, `true`, `yes`, `on`.
pub fn flag_set(value: &str) -> bool {
    crate::model::loose::truthy(value)
}

/// Reads what `rules` need to decide on `m`: the guest's config (protection, tags) for a
/// destructive mutation or tag rules, its pool from `/cluster/resources` for pool rules.
/// Nothing is read for a mutation without a guest or below the destructive tier.
///
/// # Errors
/// Read errors (a missing guest is `NotFound`, exit 5; a vmid listed twice is `Conflict`,
/// exit 6: nothing was sent).
pub async fn gather(b: &dyn Backend, rules: &PolicyRules, m: &Mutation) -> Result<Facts> {
    if let Mutation::BackupDelete { node, storage, volid, .. } = m {
        return Ok(Facts { backup_protected: Some(backup_protected(b, node, storage, volid).await?), ..Facts::default() });
    }
    let Some(guest) = m.guest() else { return Ok(Facts::default()) };
    if m.tier() < Tier::Destructive {
        return Ok(Facts::default());
    }
    let mut facts = Facts::default();
    let config = b.guest_config(&guest).await?;
    facts.protection = Some(config.get("protection").is_some_and(flag_set));
    facts.tags = Some(config.get("tags").map(crate::model::split_tags).unwrap_or_default());
    if !rules.protected_pools.is_empty() {
        let items = b.cluster_resources(Some(ResourceType::Vm)).await?;
        let pool = crate::backend::lookup::resource_in(items, guest.vmid)?.and_then(|r| r.pool);
        facts.pool = Some(pool);
    }
    Ok(facts)
}

/// A backup's `protected` flag from its storage's content listing
/// (`GET /nodes/{node}/storage/{storage}/content?content=backup`; absent means not protected).
///
/// # Errors
/// `NotFound` when the storage does not list `volid`; read errors.
async fn backup_protected(b: &dyn Backend, node: &crate::model::NodeName, storage: &crate::model::StorageId, volid: &str) -> Result<bool> {
    let params = vec![("content".to_owned(), "backup".to_owned())];
    let items = b.raw(crate::backend::Method::Get, &format!("/nodes/{node}/storage/{storage}/content"), &params).await?;
    let item = items
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["volid"].as_str() == Some(volid))
        .ok_or_else(|| Error::NotFound(format!("backup {} is not on storage {storage}", crate::model::excerpt(volid, 120))))?;
    Ok(crate::model::loose::value_bool(&item["protected"]))
}

/// The tier `m` has on a target with `rules`: its own, except `guest exec` where the target's
/// `exec_tier` says otherwise.
pub fn effective_tier(rules: &PolicyRules, m: &Mutation) -> Tier {
    match (m, rules.exec_tier) {
        (Mutation::Exec { .. }, Some(t)) => t.tier(),
        _ => m.tier(),
    }
}

/// Decides one mutation. Pure: the same inputs give the same verdict.
pub fn decide(rules: &PolicyRules, m: &Mutation, facts: &Facts) -> Verdict {
    let tier = effective_tier(rules, m);
    let what = describe(m);
    if let Some(max) = rules.max_tier.map(TierName::tier).filter(|max| tier > *max) {
        return Verdict::Refuse(format!("{what} is {tier}, above this target's policy ceiling ({max}); nothing was sent"));
    }
    let guest = m.guest();
    if let (Some(allowed), Some(g)) = (&rules.allowed_nodes, &guest)
        && !allowed.iter().any(|n| n == g.node.as_str())
    {
        return Verdict::Refuse(format!("{what}: node {} is not among the policy's allowed_nodes; nothing was sent", g.node));
    }
    if let Mutation::BackupDelete { volid, force: false, .. } = m
        && facts.backup_protected == Some(true)
    {
        return Verdict::Refuse(format!(
            "backup {} is protected: pass --force to clear the flag and delete it; nothing was sent",
            crate::model::excerpt(volid, 120)
        ));
    }
    if tier == Tier::Destructive
        && let Some(g) = &guest
        && let Some(reason) = protected(rules, g, facts, clears_protection(m))
    {
        return Verdict::Refuse(format!("{what} is destructive and guest {} {reason}; nothing was sent", g.vmid));
    }
    if tier.is_gated() { Verdict::Confirm } else { Verdict::Allow }
}

/// Whether `m` only clears PVE's protection flag (`guest set <vmid> --protection 0`): the
/// documented way out of the protection rule, so the rule does not refuse it (it stays
/// destructive: consent is still needed, and config rules still apply).
fn clears_protection(m: &Mutation) -> bool {
    match m {
        Mutation::SetConfig { set, delete, .. } => {
            (!set.is_empty() || !delete.is_empty())
                && set.iter().all(|(k, v)| k == "protection" && !crate::model::loose::truthy(v))
                && delete.iter().all(|k| k == "protection")
        }
        _ => false,
    }
}

fn protected(rules: &PolicyRules, g: &GuestRef, facts: &Facts, clearing_the_flag: bool) -> Option<String> {
    if facts.protection == Some(true) && !clearing_the_flag {
        return Some("has PVE's protection flag set (clear it first: `pvectl guest set <vmid> --protection 0 --yes`)".into());
    }
    if let Some(r) = rules.protected_vmids.iter().find(|r| r.contains(g.vmid)) {
        return Some(format!("is protected by policy (protected_vmids {r})"));
    }
    if let Some(t) = facts.tags.iter().flatten().find(|t| rules.protected_tags.contains(t)) {
        return Some(format!("is protected by policy (tag {})", crate::model::excerpt(t, 40)));
    }
    if let Some(Some(p)) = &facts.pool
        && rules.protected_pools.contains(p)
    {
        return Some(format!("is protected by policy (pool {})", crate::model::excerpt(p, 40)));
    }
    None
}

fn describe(m: &Mutation) -> String {
    match m {
        Mutation::Raw { method, path, .. } => format!("{method} {}", crate::model::excerpt(path, 80)),
        _ => m.name(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Method, PowerAction};
    use crate::model::GuestKind;

    fn guest(v: u32) -> GuestRef {
        GuestRef { vmid: v.to_string().parse().expect("vmid"), node: "pve1".parse().expect("node"), kind: GuestKind::Qemu }
    }

    fn power(v: u32, action: PowerAction) -> Mutation {
        Mutation::Power { guest: guest(v), action, params: Vec::new() }
    }

    fn protected_facts() -> Facts {
        Facts { protection: Some(true), ..Facts::default() }
    }

    #[test]
    fn protection_flag_in_every_form() {
        for v in ["1", "1.0", "true", "TRUE", " 1 ", "yes", "on"] {
            assert!(flag_set(v), "{v}");
        }
        for v in ["0", "0.0", "false", "", "no"] {
            assert!(!flag_set(v), "{v}");
        }
    }

    #[test]
    fn destructive_on_a_protected_guest_is_refused_whatever_the_path() {
        let rules = PolicyRules::default();
        assert!(matches!(decide(&rules, &power(101, PowerAction::Stop), &protected_facts()), Verdict::Refuse(_)));
        let raw = Mutation::Raw { method: Method::Post, path: "/nodes/pve1/qemu/101/status/stop".into(), params: Vec::new() };
        assert!(matches!(decide(&rules, &raw, &protected_facts()), Verdict::Refuse(_)));
        let rb = Mutation::Raw { method: Method::Post, path: "/nodes/pve1/qemu/101/snapshot/s1/rollback".into(), params: Vec::new() };
        assert!(matches!(decide(&rules, &rb, &protected_facts()), Verdict::Refuse(_)));
        assert_eq!(decide(&rules, &power(101, PowerAction::Start), &protected_facts()), Verdict::Allow, "start is not destructive");
        assert_eq!(decide(&rules, &power(101, PowerAction::Shutdown), &protected_facts()), Verdict::Confirm);
        assert_eq!(decide(&rules, &power(101, PowerAction::Stop), &Facts::default()), Verdict::Confirm);
    }

    #[test]
    fn clearing_the_protection_flag_is_the_way_out_of_the_rule() {
        let g = guest(101);
        let set = |kv: &[(&str, &str)]| Mutation::SetConfig {
            guest: g.clone(),
            set: kv.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            delete: Vec::new(),
            digest: None,
        };
        let rules = PolicyRules::default();
        assert_eq!(decide(&rules, &set(&[("protection", "0")]), &protected_facts()), Verdict::Confirm);
        assert!(matches!(decide(&rules, &set(&[("protection", "0"), ("memory", "1")]), &protected_facts()), Verdict::Refuse(_)));
        assert!(matches!(decide(&rules, &set(&[("memory", "1")]), &protected_facts()), Verdict::Refuse(_)));
        let by_config = PolicyRules { protected_vmids: vec![VmidRange { first: 101, last: 101 }], ..PolicyRules::default() };
        assert!(
            matches!(decide(&by_config, &set(&[("protection", "0")]), &Facts::default()), Verdict::Refuse(_)),
            "config rules still apply"
        );
    }

    #[test]
    fn a_protected_backup_is_deleted_only_with_force() {
        let del = |force| Mutation::BackupDelete {
            node: "pve1".parse().expect("node"),
            storage: "nas".parse().expect("storage"),
            volid: "nas:backup/vzdump-qemu-100-2025_12_30-00_00_00.vma.zst".into(),
            force,
        };
        let protected = Facts { backup_protected: Some(true), ..Facts::default() };
        let rules = PolicyRules::default();
        assert!(matches!(decide(&rules, &del(false), &protected), Verdict::Refuse(r) if r.contains("--force")));
        assert_eq!(decide(&rules, &del(true), &protected), Verdict::Confirm);
        assert_eq!(decide(&rules, &del(false), &Facts { backup_protected: Some(false), ..Facts::default() }), Verdict::Confirm);
    }

    #[test]
    fn a_target_may_lower_the_tier_of_exec() {
        let exec = Mutation::Exec { guest: guest(150), argv: vec!["true".into()] };
        assert_eq!(decide(&PolicyRules::default(), &exec, &Facts::default()), Verdict::Confirm);
        let lab = PolicyRules { exec_tier: Some(TierName::Change), ..PolicyRules::default() };
        assert_eq!(decide(&lab, &exec, &Facts::default()), Verdict::Allow);
        assert_eq!(effective_tier(&lab, &power(150, PowerAction::Stop)), Tier::Destructive, "only exec");
    }

    #[test]
    fn config_rules() {
        let rules: PolicyRules = toml::from_str(
            "max_tier = \"disruptive\"\nprotected_vmids = [\"100\", \"9000-9099\", 700]\nprotected_tags = [\"prod\"]\nallowed_nodes = [\"pve1\"]",
        )
        .expect("valid");
        assert!(matches!(decide(&rules, &power(150, PowerAction::Stop), &Facts::default()), Verdict::Refuse(r) if r.contains("ceiling")));
        let open = PolicyRules { max_tier: None, ..rules.clone() };
        assert!(matches!(decide(&open, &power(9050, PowerAction::Stop), &Facts::default()), Verdict::Refuse(r) if r.contains("9000-9099")));
        let tagged = Facts { tags: Some(vec!["prod".into()]), ..Facts::default() };
        assert!(matches!(decide(&open, &power(150, PowerAction::Reset), &tagged), Verdict::Refuse(r) if r.contains("prod")));
        let elsewhere = Mutation::Power {
            guest: GuestRef { node: "pve2".parse().expect("node"), ..guest(150) },
            action: PowerAction::Start,
            params: Vec::new(),
        };
        assert!(matches!(decide(&open, &elsewhere, &Facts::default()), Verdict::Refuse(r) if r.contains("allowed_nodes")));
        let read_only = PolicyRules { max_tier: Some(TierName::Read), ..PolicyRules::default() };
        assert!(matches!(decide(&read_only, &power(150, PowerAction::Start), &Facts::default()), Verdict::Refuse(_)));
        assert!(toml::from_str::<PolicyRules>("protected_vmids = [\"200-100\"]").is_err());
        assert!(toml::from_str::<PolicyRules>("max_tier = \"all\"").is_err());
    }

    #[test]
    fn target_rules_tighten_global_ones() {
        let global = PolicyRules {
            max_tier: Some(TierName::Destructive),
            allowed_nodes: Some(vec!["a".into(), "b".into()]),
            ..PolicyRules::default()
        };
        let target =
            PolicyRules { max_tier: Some(TierName::Read), allowed_nodes: Some(vec!["b".into(), "c".into()]), ..PolicyRules::default() };
        let m = global.merged(&target);
        assert_eq!(m.max_tier, Some(TierName::Read));
        assert_eq!(m.allowed_nodes, Some(vec!["b".to_owned()]));
    }
}
