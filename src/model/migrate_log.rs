//! The log of a migration task (`qmigrate`, `vzmigrate`), summarised.
//!
//! Every line pve-guest-common's `AbstractMigrate` writes is `<%Y-%m-%d %H:%M:%S> <msg>`, an
//! error `<ts> ERROR: <msg>`, each line of a multi-line message prefixed
//! (`src/PVE/AbstractMigrate.pm:15-28`); PVE ≤ 4.4 wrote `%b %d %H:%M:%S` (`May 02 10:57:01`,
//! no year; changed 2017-04-24). Other tools' lines appear unprefixed (`bind: Cannot assign
//! requested address`, storage-plugin output), and an HA-started task begins with
//! `task started by HA resource agent` (OPERATIONS.md facts 14, 15).
//!
//! The end (`AbstractMigrate.pm:241-250`): `migration finished successfully (duration HH:MM:SS)`
//! then `TASK OK`; `ERROR: migration aborted (duration …): <err>` then
//! `TASK ERROR: migration aborted` (phases 1/2 failed: the guest is still on the source);
//! `ERROR: migration finished with problems (duration …)` then `TASK ERROR: migration problems`
//! (cleanup failed: the guest may already run on the target). The exit status is only that
//! short word; the reason is in the `ERROR:` lines.

use serde::Serialize;

use super::human::{parse_hms, parse_size};
use super::time::{is_date, is_time};

/// How a migration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MigrationEnding {
    /// `migration finished successfully`: the guest is on the target.
    Finished,
    /// `migration aborted`: the guest is still on the source.
    Aborted,
    /// `migration problems` (`finished with problems`): the guest may be on the target.
    Problems,
    /// The log does not say (still running, cut short, or another task error).
    Unknown,
}

/// One line of a migration log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct MigrationLine {
    /// The timestamp as printed (`2025-01-04 00:34:24`, or `May 02 10:57:01` on PVE ≤ 4.4),
    /// node-local time; `None` for a foreign line or a `TASK` line.
    pub time: Option<String>,
    /// An `ERROR:` line.
    pub error: bool,
    /// The message (after the timestamp and `ERROR: `).
    pub text: String,
}

/// A migration log, summarised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct MigrationSummary {
    /// Finished successfully and the task did not fail.
    pub ok: bool,
    /// How it ended.
    pub ending: MigrationEnding,
    /// The `(duration HH:MM:SS)` of the last line, seconds.
    pub duration: Option<u64>,
    /// The texts of the `ERROR:` lines, in order.
    pub errors: Vec<String>,
    /// The task's exit status from its `TASK …` line (`OK`, `migration aborted`, `WARNINGS: 1`).
    pub exitstatus: Option<String>,
    /// Started by the HA resource agent.
    pub ha: bool,
    /// The last RAM-transfer progress printed, `(transferred, total)` bytes.
    pub progress: Option<(u64, u64)>,
    /// Every non-empty line.
    pub lines: Vec<MigrationLine>,
}

impl MigrationSummary {
    /// Where the guest is after this: `Some(true)` on the source (aborted), `Some(false)` on
    /// the target (finished), `None` when it cannot be told (problems, unknown).
    pub fn on_source(&self) -> Option<bool> {
        match self.ending {
            MigrationEnding::Aborted => Some(true),
            MigrationEnding::Finished => Some(false),
            MigrationEnding::Problems | MigrationEnding::Unknown => None,
        }
    }

    /// PVE's reason for an abort: the text after `migration aborted (duration …): `, else the
    /// first error line.
    pub fn reason(&self) -> Option<&str> {
        self.errors
            .iter()
            .find_map(|e| e.strip_prefix("migration aborted (duration ").and_then(|r| r.split_once("): ")).map(|(_, why)| why))
            .or_else(|| self.errors.first().map(String::as_str))
    }
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Splits `<timestamp> <rest>` in either form; `None` when the line has no timestamp.
fn split_time(line: &str) -> Option<(&str, &str)> {
    let mut it = line.splitn(3, ' ');
    let (a, b, rest) = (it.next()?, it.next()?, it.next());
    if is_date(a) && is_time(b) {
        return Some((&line[..a.len() + 1 + b.len()], rest.unwrap_or("")));
    }
    // `%b %d %H:%M:%S`: `May 02 10:57:01 msg` (the day is zero-padded).
    let mut it = line.splitn(4, ' ');
    let (mon, day, time, rest) = (it.next()?, it.next()?, it.next()?, it.next());
    let day_ok = day.len() == 2 && day.bytes().all(|c| c.is_ascii_digit());
    (MONTHS.contains(&mon) && day_ok && is_time(time)).then(|| (&line[..mon.len() + day.len() + time.len() + 2], rest.unwrap_or("")))
}

/// Seconds of a `(duration HH:MM:SS)` in `text`.
fn duration_in(text: &str) -> Option<u64> {
    let rest = &text[text.find("(duration ")? + "(duration ".len()..];
    parse_hms(&rest[..rest.find(')')?])
}

/// The RAM transfer a message reports, `(transferred, total)` bytes: QEMU's
/// `migration active, transferred 1.1 GiB of 4.0 GiB VM-state, 399.1 MiB/s` (rounded IEC
/// sizes) or PVE 4.x's `migration status: active (transferred N, remaining N), total N)`.
pub fn migration_progress(text: &str) -> Option<(u64, u64)> {
    if let Some(rest) = text.strip_prefix("migration active, transferred ") {
        let (done, rest) = rest.split_once(" of ")?;
        let total = rest.split_once(" VM-state")?.0;
        return Some((parse_size(done)?, parse_size(total)?));
    }
    let rest = text.strip_prefix("migration status: active (transferred ")?;
    let (done, rest) = rest.split_once(", remaining ")?;
    let total = rest.split_once("total ")?.1.trim_end_matches(')');
    Some((done.parse().ok()?, total.parse().ok()?))
}

/// Reads one migration log line.
pub fn migration_line(line: &str) -> MigrationLine {
    let line = line.trim_end_matches(['\r', '\n']);
    match split_time(line) {
        Some((time, rest)) => {
            let (error, text) = rest.strip_prefix("ERROR: ").map_or((rest == "ERROR:", rest), |t| (true, t));
            MigrationLine { time: Some(time.to_owned()), error, text: text.to_owned() }
        }
        None => MigrationLine { time: None, error: false, text: line.to_owned() },
    }
}

/// Summarises a migration task log (lines as the task log API or `qm migrate` give them).
pub fn parse_migration_log<S: AsRef<str>>(lines: &[S]) -> MigrationSummary {
    let mut s = MigrationSummary {
        ok: false,
        ending: MigrationEnding::Unknown,
        duration: None,
        errors: Vec::new(),
        exitstatus: None,
        ha: false,
        progress: None,
        lines: Vec::new(),
    };
    for raw in lines {
        let l = migration_line(raw.as_ref());
        if l.text.trim().is_empty() {
            continue;
        }
        if l.time.is_none() {
            let t = l.text.trim();
            if t == "task started by HA resource agent" {
                s.ha = true;
            } else if t == "TASK OK" {
                s.exitstatus = Some("OK".into());
            } else if let Some(e) = t.strip_prefix("TASK ERROR: ") {
                s.exitstatus = Some(e.to_owned());
                match e {
                    "migration aborted" => s.ending = MigrationEnding::Aborted,
                    "migration problems" => s.ending = MigrationEnding::Problems,
                    _ if s.ending == MigrationEnding::Finished => s.ending = MigrationEnding::Unknown,
                    _ => {}
                }
            } else if let Some(w) = t.strip_prefix("TASK ").filter(|w| w.starts_with("WARNINGS: ")) {
                s.exitstatus = Some(w.to_owned());
            }
        } else if l.error {
            if l.text.starts_with("migration aborted") {
                s.ending = MigrationEnding::Aborted;
                s.duration = duration_in(&l.text).or(s.duration);
            } else if l.text.starts_with("migration finished with problems") {
                s.ending = MigrationEnding::Problems;
                s.duration = duration_in(&l.text).or(s.duration);
            }
            s.errors.push(l.text.clone());
        } else if let Some(p) = migration_progress(&l.text) {
            s.progress = Some(p);
        } else if l.text.starts_with("migration finished successfully") {
            s.ending = MigrationEnding::Finished;
            s.duration = duration_in(&l.text);
        }
        s.lines.push(l);
    }
    let task_ok = s.exitstatus.as_deref().is_none_or(|e| e == "OK" || e.starts_with("WARNINGS: "));
    s.ok = s.ending == MigrationEnding::Finished && task_ok;
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_and_old_timestamps() {
        let log = [
            "Jan 05 10:00:00 starting migration of VM 100 to node 'b' (10.0.0.2)",
            "Jan 05 10:00:09 ERROR: failed to clear migrate lock: x",
            "Jan 05 10:00:09 ERROR: migration finished with problems (duration 00:00:09)",
            "",
            "TASK ERROR: migration problems",
        ];
        let s = parse_migration_log(&log);
        assert_eq!((s.ok, s.ending, s.duration, s.on_source()), (false, MigrationEnding::Problems, Some(9), None));
        assert_eq!(s.lines[0].time.as_deref(), Some("Jan 05 10:00:00"));
        assert_eq!(s.errors.len(), 2);
        assert_eq!(
            migration_progress("migration active, transferred 1.1 GiB of 4.0 GiB VM-state, 399.1 MiB/s"),
            Some((1_181_116_006, 4 << 30))
        );
        assert_eq!(migration_progress("migration status: active (transferred 5, remaining 3), total 9)"), Some((5, 9)));
        let s = parse_migration_log(&["still running"]);
        assert_eq!((s.ok, s.ending, s.exitstatus), (false, MigrationEnding::Unknown, None));
    }
}
