//! `pvectl audit show|verify`: the local audit log, read without a target or a backend.
//!
//! `show` prints records (a table of SEQ TIME WHO FACE RECORD ACTION VMID OUTCOME UPID, or the
//! records as JSON); `verify` prints `{"path", "records", "intact", "first_break", "open_intents"}`
//! and fails with exit 10 naming the first broken line.

use std::io::IsTerminal as _;

use serde_json::{Value, json};

use super::args::{AuditCmd, ColorChoice, GlobalArgs, OutputFormat};
use super::output::{Table, print, print_error};
use crate::error::{Error, Result};
use crate::exit_codes;
use crate::safety::{AuditLog, read_records, verify};

/// A `--since` below this is seconds ago; from it on, a Unix time (2001-09-09).
const UNIX_TIME_FROM: u64 = 1_000_000_000;

/// Runs an `audit` command; returns the exit code after printing any error.
pub(crate) fn run(g: &GlobalArgs, cmd: &AuditCmd) -> i32 {
    // As `Config::from_args` decides them, without needing a target.
    let output = g.output().unwrap_or(if std::io::stdout().is_terminal() { OutputFormat::Table } else { OutputFormat::Json });
    let color = match g.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    match handle(output, cmd) {
        Ok(()) => exit_codes::OK,
        Err(e) => {
            print_error(output, &e, color);
            e.exit_code()
        }
    }
}

fn handle(out: OutputFormat, cmd: &AuditCmd) -> Result<()> {
    let log = AuditLog::from_env();
    let path = log.path().ok_or_else(|| {
        Error::Usage("there is no audit log: PVECTL_AUDIT_LOG is off, or none of PVECTL_AUDIT_LOG, XDG_STATE_HOME, HOME is set".into())
    })?;
    match cmd {
        &AuditCmd::Show { vmid, since, limit } => {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
            let since = since.map(|s| if s < UNIX_TIME_FROM { now.saturating_sub(s) } else { s });
            let mut recs: Vec<Value> = read_records(path)?
                .into_iter()
                .filter(|r| vmid.is_none_or(|v| r["vmid"].as_u64() == Some(u64::from(v.get()))))
                .filter(|r| since.is_none_or(|t| r["time"].as_u64().is_some_and(|x| x >= t)))
                .collect();
            if let Some(n) = limit {
                recs.drain(..recs.len().saturating_sub(n));
            }
            print(out, &recs, |recs| {
                let mut t = Table::new(&["SEQ", "TIME", "WHO", "FACE", "RECORD", "ACTION", "VMID", "OUTCOME", "UPID"]);
                for r in recs {
                    let time = r["time"].as_u64().map_or_else(|| cell(&r["time"]), crate::model::time::format_utc);
                    t.row(vec![
                        cell(&r["seq"]),
                        time,
                        cell(&r["who"]),
                        cell(&r["face"]),
                        cell(&r["record"]),
                        cell(&r["action"]),
                        cell(&r["vmid"]),
                        cell(&r["outcome"]),
                        cell(&r["upid"]),
                    ]);
                }
                t
            })
        }
        AuditCmd::Verify => {
            let v = verify(path)?;
            let doc = json!({
                "path": path.display().to_string(),
                "records": v.records,
                "intact": v.intact(),
                "first_break": v.first_break,
                "open_intents": v.open_intents,
            });
            print(out, &doc, |_| {
                let mut t = Table::new(&["KEY", "VALUE"]);
                let first_break = v.first_break.as_ref().map_or_else(|| "-".into(), |b| format!("line {}: {}", b.line, b.reason));
                let open = v.open_intents.iter().map(u64::to_string).collect::<Vec<_>>().join(" ");
                for (k, val) in [
                    ("path", path.display().to_string()),
                    ("records", v.records.to_string()),
                    ("intact", if v.intact() { "yes" } else { "no" }.into()),
                    ("first break", first_break),
                    ("open intents", if open.is_empty() { "-".into() } else { open }),
                ] {
                    t.row(vec![k.to_owned(), escape(&val)]);
                }
                t
            })?;
            match v.first_break {
                None => Ok(()),
                Some(b) => Err(Error::Policy(format!("the audit log {} is broken at line {}: {}", path.display(), b.line, b.reason))),
            }
        }
    }
}

/// A JSON value as a table cell: text as is, `-` for null, control characters escaped.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) if s.is_empty() => "-".into(),
        Value::String(s) => escape(s),
        other => escape(&other.to_string()),
    }
}

/// `s` with every control character (C0, DEL, C1: terminal escapes, newlines) as `\u{..}`.
fn escape(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { c.escape_unicode().to_string() } else { c.to_string() }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_carry_no_control_characters() {
        assert_eq!(cell(&json!("a\u{1b}[31mb\nc\u{9b}")), "a\\u{1b}[31mb\\u{a}c\\u{9b}");
        assert_eq!((cell(&Value::Null), cell(&json!(42)), cell(&json!("é"))), ("-".into(), "42".into(), "é".into()));
    }
}
