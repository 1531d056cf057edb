//! The confirmation gate (DESIGN.md §4): disruptive and destructive tiers need `--yes` or a
//! typed `y`/`yes` at a terminal; without either, nothing runs (exit 3) and the plan is shown.
//! `--dry-run` shows the plan and stops for every tier.

use std::io::{BufRead, IsTerminal, Write};

use crate::backend::Tier;
use crate::error::{Error, Result};

/// What the gate decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Proceed,
    /// Print the plan and stop, successfully (`--dry-run`).
    DryRun,
}

/// Where answers come from: a terminal on stdin and stderr, or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asker {
    /// Prompt on stderr, read a line from stdin.
    Terminal,
    /// No terminal: a gated action cannot be confirmed.
    None,
}

impl Asker {
    /// `Terminal` when both stdin and stderr are terminals.
    pub fn detect() -> Self {
        if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() { Self::Terminal } else { Self::None }
    }
}

/// The consent rules of one run.
#[derive(Debug, Clone, Copy)]
pub struct Gate {
    /// `--yes`.
    pub yes: bool,
    /// `--dry-run`.
    pub dry_run: bool,
    /// How to ask.
    pub asker: Asker,
}

impl Gate {
    /// Decides for an action of `tier` described by `summary` (one line, e.g.
    /// `shutdown guest 100 (qemu) on pve1`). Called after the plan was printed where needed.
    ///
    /// # Errors
    /// `ConfirmationRequired` (exit 3) when the tier is gated and there is no `--yes` and no
    /// terminal, or the typed answer is not `y`/`yes` (EOF counts as no).
    pub fn decide(&self, tier: Tier, summary: &str) -> Result<Decision> {
        if self.dry_run {
            return Ok(Decision::DryRun);
        }
        if !tier.is_gated() || self.yes {
            return Ok(Decision::Proceed);
        }
        match self.asker {
            Asker::None => Err(Error::ConfirmationRequired(format!(
                "{summary} is {tier}: pass --yes, or run at a terminal to confirm; nothing was changed"
            ))),
            Asker::Terminal => {
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "{summary} ({tier}). Proceed? Type 'yes' to continue: ");
                let _ = err.flush();
                let mut line = String::new();
                let read = std::io::stdin().lock().read_line(&mut line).unwrap_or(0);
                if read > 0 && is_yes(&line) {
                    Ok(Decision::Proceed)
                } else {
                    let _ = writeln!(err);
                    Err(Error::ConfirmationRequired(format!("{summary} was not confirmed; nothing was changed")))
                }
            }
        }
    }
}

/// Whether a typed answer is consent: `y` or `yes`, any case, surrounding blanks ignored.
pub fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(yes: bool, dry_run: bool) -> Gate {
        Gate { yes, dry_run, asker: Asker::None }
    }

    #[test]
    fn tiers_and_flags() {
        assert_eq!(gate(false, false).decide(Tier::Change, "start").expect("ungated"), Decision::Proceed);
        assert!(matches!(gate(false, false).decide(Tier::Disruptive, "shutdown"), Err(Error::ConfirmationRequired(_))));
        assert!(matches!(gate(false, false).decide(Tier::Destructive, "stop"), Err(Error::ConfirmationRequired(_))));
        assert_eq!(gate(true, false).decide(Tier::Destructive, "stop").expect("yes"), Decision::Proceed);
        assert_eq!(gate(true, true).decide(Tier::Destructive, "stop").expect("dry"), Decision::DryRun);
        assert_eq!(gate(false, true).decide(Tier::Change, "start").expect("dry"), Decision::DryRun);
    }

    #[test]
    fn only_y_or_yes_is_consent() {
        for a in ["y\n", "yes\n", " YES ", "Y"] {
            assert!(is_yes(a), "{a:?}");
        }
        for a in ["", "\n", "no\n", "yess", "ye", "sure"] {
            assert!(!is_yes(a), "{a:?}");
        }
    }
}
