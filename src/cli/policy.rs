//! `pvectl policy show`: the effective rules for the selected target — the built-in
//! protection rule, `[policy]` and `[targets.NAME.policy]` merged — without contacting it.

use serde::Serialize;

use super::args::PolicyCmd;
use super::config::Config;
use super::output::{Table, print};
use crate::error::Result;
use crate::safety::PolicyRules;

#[derive(Serialize)]
struct Effective<'a> {
    /// Where the rules came from.
    sources: &'a [String],
    /// Always on.
    builtin: &'static [&'static str],
    /// The merged config rules.
    rules: &'a PolicyRules,
    /// Tiers that need consent.
    consent: &'static str,
}

/// Runs a `policy` command.
///
/// # Errors
/// Output errors only.
pub(crate) fn run(cfg: &Config, cmd: &PolicyCmd) -> Result<()> {
    let PolicyCmd::Show = cmd;
    let e = Effective {
        sources: &cfg.policy_sources,
        builtin: &["destructive actions are refused on a guest with PVE's protection flag set (exit 10)"],
        rules: &cfg.policy,
        consent: "disruptive and destructive tiers need --yes or a typed yes at a terminal (exit 3 without)",
    };
    print(cfg.output, &e, |e| {
        let mut t = Table::new(&["RULE", "VALUE"]);
        let list = |v: Vec<String>| if v.is_empty() { "-".to_owned() } else { v.join(", ") };
        t.row(vec!["sources".into(), list(e.sources.to_vec())]);
        t.row(vec!["builtin".into(), e.builtin.join("; ")]);
        t.row(vec!["consent".into(), e.consent.into()]);
        t.row(vec!["max_tier".into(), e.rules.max_tier.map_or_else(|| "destructive (none set)".into(), |t| t.tier().to_string())]);
        t.row(vec!["protected_vmids".into(), list(e.rules.protected_vmids.iter().map(ToString::to_string).collect())]);
        t.row(vec!["protected_tags".into(), list(e.rules.protected_tags.clone())]);
        t.row(vec!["protected_pools".into(), list(e.rules.protected_pools.clone())]);
        t.row(vec!["exec_tier".into(), e.rules.exec_tier.map_or_else(|| "destructive (default)".into(), |t| t.tier().to_string())]);
        t.row(vec!["allowed_nodes".into(), e.rules.allowed_nodes.clone().map_or_else(|| "any".into(), list)]);
        t
    })?;
    Ok(())
}
