//! Who may consent to an MCP plan (DESIGN.md §4), decided from the plan's tier, the config
//! file's `[mcp] auto_approve` (the highest tier that needs no human, default `change`), what
//! the client can do (MCP elicitation: a question shown to its human), and the `apply` tool's
//! `approve` argument. The decision only says who must agree; the consent itself is the
//! engine's `Approval` for the plan's digest, granted when the plan is applied.

use crate::backend::Tier;
use crate::error::{Error, Result};

/// `[mcp]` of the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct McpSettings {
    /// `auto_approve`: plans up to this tier need no human (`read` or `change`); a gated tier
    /// here (`disruptive`, `destructive`) lets an `approve: true` argument stand for the human's
    /// approval when the client cannot ask one. Default `change`.
    pub auto_approve: Tier,
}

impl Default for McpSettings {
    fn default() -> Self {
        Self { auto_approve: Tier::Change }
    }
}

impl McpSettings {
    /// Reads the `[mcp]` table (`origin` names it in errors); no table gives the defaults.
    ///
    /// # Errors
    /// `Usage` for an unknown key or an `auto_approve` that is not a tier name.
    pub fn from_table(table: Option<&toml::Table>, origin: &str) -> Result<Self> {
        let mut s = Self::default();
        let Some(t) = table else { return Ok(s) };
        for (k, v) in t {
            match (k.as_str(), v.as_str()) {
                ("auto_approve", Some(name)) => {
                    s.auto_approve = match name {
                        "read" => Tier::Read,
                        "change" => Tier::Change,
                        "disruptive" => Tier::Disruptive,
                        "destructive" => Tier::Destructive,
                        other => {
                            return Err(Error::Usage(format!(
                                "{origin}: auto_approve = {:?} is not a tier (read, change, disruptive, destructive)",
                                crate::model::clip(other, 40)
                            )));
                        }
                    };
                }
                ("auto_approve", None) => return Err(Error::Usage(format!("{origin}: auto_approve must be a tier name (a string)"))),
                (other, _) => {
                    return Err(Error::Usage(format!("{origin}: unknown key {:?} (known: auto_approve)", crate::model::clip(other, 40))));
                }
            }
        }
        Ok(s)
    }
}

/// Who must agree before a plan runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Needed {
    /// Nobody: the tier is at most `change` and `auto_approve` allows it.
    Nobody,
    /// Ask the client's human (elicitation) and run only on an explicit yes.
    AskHuman,
    /// The caller's `approve: true` suffices (`auto_approve` allows this tier).
    Approved,
    /// Refused, nothing is sent: the reason.
    Refused(String),
}

/// Decides for a plan of `tier`: ungated tiers up to `auto_approve` run; anything else asks the
/// human when the client can show a question (`elicitation`), else takes `approve: true` only
/// where `auto_approve` reaches the tier.
pub fn needed(tier: Tier, s: McpSettings, elicitation: bool, approve: bool) -> Needed {
    if !tier.is_gated() && tier <= s.auto_approve {
        return Needed::Nobody;
    }
    if elicitation {
        return Needed::AskHuman;
    }
    if approve && tier <= s.auto_approve {
        return Needed::Approved;
    }
    let why = if approve {
        format!("approve: true is not enough for a {tier} plan here: [mcp] auto_approve = \"{}\"", s.auto_approve)
    } else {
        format!("a {tier} plan needs approval")
    };
    Needed::Refused(format!(
        "{why}, and this client cannot ask its human (it did not declare MCP elicitation); nothing was sent. \
         Run it with the CLI (`--yes`) or from a client that supports elicitation"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: Tier) -> McpSettings {
        McpSettings { auto_approve: t }
    }

    #[test]
    fn change_runs_gated_tiers_need_a_human_or_an_allowed_approve() {
        let def = McpSettings::default();
        assert_eq!(needed(Tier::Change, def, false, false), Needed::Nobody);
        assert!(matches!(needed(Tier::Change, s(Tier::Read), false, true), Needed::Refused(_)), "read: even change needs a human");
        assert_eq!(needed(Tier::Change, s(Tier::Read), true, false), Needed::AskHuman);
        for t in [Tier::Disruptive, Tier::Destructive] {
            assert_eq!(needed(t, def, true, true), Needed::AskHuman, "elicitation first, also with approve");
            assert!(matches!(needed(t, def, false, true), Needed::Refused(_)), "approve alone is not enough under change");
            assert!(matches!(needed(t, def, false, false), Needed::Refused(_)));
            assert!(matches!(needed(t, s(Tier::Destructive), false, false), Needed::Refused(_)), "never without approve");
            assert_eq!(needed(t, s(Tier::Destructive), false, true), Needed::Approved);
        }
        assert!(matches!(needed(Tier::Destructive, s(Tier::Disruptive), false, true), Needed::Refused(_)));
        assert_eq!(needed(Tier::Disruptive, s(Tier::Disruptive), false, true), Needed::Approved);
    }

    #[test]
    fn the_table_is_validated() {
        let t = |s: &str| toml::from_str::<toml::Table>(s).expect("toml");
        assert_eq!(McpSettings::from_table(None, "x").expect("none"), McpSettings::default());
        let d = McpSettings::from_table(Some(&t("auto_approve = \"destructive\"")), "x").expect("ok");
        assert_eq!(d.auto_approve, Tier::Destructive);
        for bad in ["auto_approve = \"all\"", "auto_approve = 3", "autoapprove = \"change\""] {
            assert!(matches!(McpSettings::from_table(Some(&t(bad)), "x"), Err(Error::Usage(_))), "{bad}");
        }
    }
}
