//! Tests of the audit log: the chain, what `verify` finds, file modes, refusal to write, and
//! concurrent writers.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::audit::{AuditEntry, AuditLog, AuditOutcome, IntentId, MAX_TEXT};
use super::audit_chain::{ZERO_HASH, read_records, verify};
use crate::backend::Tier;
use crate::error::Error;

fn entry(vmid: u32) -> AuditEntry {
    AuditEntry {
        target: "Sim".into(),
        action: "stop".into(),
        tier: Tier::Destructive,
        vmid: Some(vmid),
        node: Some("pve1".into()),
        digest: Some("d1".into()),
        call: format!("POST /nodes/pve1/qemu/{vmid}/status/stop"),
    }
}

/// A log in a fresh directory below a temp dir (so the 0700 creation is exercised), with
/// `n` intent/outcome pairs: `2 n` lines.
fn log_with(n: u32) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state/pvectl/audit.log");
    let log = AuditLog::at(path.clone());
    for i in 0..n {
        let id = log.intent(&entry(100 + i)).expect("intent");
        log.outcome(id, AuditOutcome::Ok, Some("UPID:pve1:1"), None).expect("outcome");
    }
    (dir, path)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).expect("read").lines().map(str::to_owned).collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").expect("write");
}

fn broken_line(path: &Path) -> (u64, String) {
    let v = verify(path).expect("verify");
    let b = v.first_break.expect("a break");
    (b.line, b.reason)
}

#[test]
fn records_chain_from_zero_and_verify() {
    let (_d, path) = log_with(3);
    let recs = read_records(&path).expect("records");
    assert_eq!(recs.len(), 6);
    assert_eq!(recs[0]["seq"], 1);
    assert_eq!(recs[0]["prev"], ZERO_HASH);
    for w in recs.windows(2) {
        assert_eq!(w[1]["prev"], w[0]["hash"]);
        assert_eq!(w[1]["seq"].as_u64(), w[0]["seq"].as_u64().map(|s| s + 1));
    }
    let (i, o) = (&recs[0], &recs[1]);
    assert_eq!((i["record"].as_str(), o["record"].as_str()), (Some("intent"), Some("outcome")));
    assert_eq!((o["intent"].as_u64(), o["outcome"].as_str(), o["upid"].as_str()), (Some(1), Some("ok"), Some("UPID:pve1:1")));
    assert_eq!((o["vmid"].as_u64(), o["action"].as_str(), o["tier"].as_str()), (Some(100), Some("stop"), Some("destructive")));
    assert_eq!(i["call"], "POST /nodes/pve1/qemu/100/status/stop");
    assert_eq!((i["face"].as_str(), i["pid"].as_u64()), (Some("cli"), Some(u64::from(std::process::id()))));
    assert!(i["who"].as_str().is_some_and(|w| w.contains('@')), "{}", i["who"]);
    let v = verify(&path).expect("verify");
    assert!(v.intact(), "{v:?}");
    assert_eq!((v.records, v.open_intents.len()), (6, 0));
}

#[test]
fn an_edited_byte_is_found_on_its_line() {
    let (_d, path) = log_with(3);
    let mut l = lines(&path);
    l[3] = l[3].replacen("pve1", "pve2", 1);
    write_lines(&path, &l);
    let (line, reason) = broken_line(&path);
    assert_eq!(line, 4);
    assert!(reason.contains("edited"), "{reason}");
}

#[test]
fn a_deleted_line_is_found_where_it_was() {
    let (_d, path) = log_with(3);
    let mut l = lines(&path);
    l.remove(2);
    write_lines(&path, &l);
    let (line, reason) = broken_line(&path);
    assert_eq!(line, 3);
    assert!(reason.contains("seq 4 where 3"), "{reason}");
}

#[test]
fn swapped_lines_are_found() {
    let (_d, path) = log_with(3);
    let mut l = lines(&path);
    l.swap(1, 2);
    write_lines(&path, &l);
    assert_eq!(broken_line(&path).0, 2);
}

#[test]
fn a_truncated_last_line_is_found() {
    let (_d, path) = log_with(2);
    let text = std::fs::read(&path).expect("read");
    std::fs::write(&path, &text[..text.len() - 10]).expect("truncate");
    let (line, reason) = broken_line(&path);
    assert_eq!(line, 4);
    assert!(reason.contains("no newline"), "{reason}");
}

#[test]
fn a_line_that_does_not_parse_is_found() {
    let (_d, path) = log_with(2);
    let mut l = lines(&path);
    l.insert(1, "not json".into());
    write_lines(&path, &l);
    let (line, reason) = broken_line(&path);
    assert_eq!(line, 2);
    assert!(reason.contains("parse"), "{reason}");
    assert!(matches!(read_records(&path), Err(Error::Parse { .. })));
}

#[test]
fn a_rehashed_edit_still_breaks_the_next_line() {
    // Someone recomputes the edited line's hash: the next record's prev no longer matches.
    let (_d, path) = log_with(2);
    let mut l = lines(&path);
    let mut v: Value = serde_json::from_str(&l[0]).expect("json");
    v["call"] = "POST /something/else".into();
    let hash = super::audit_chain::canonical_hash(ZERO_HASH, &v);
    v["hash"] = hash.into();
    l[0] = v.to_string();
    write_lines(&path, &l);
    let (line, reason) = broken_line(&path);
    assert_eq!(line, 2);
    assert!(reason.contains("prev"), "{reason}");
}

#[test]
fn an_intent_without_outcome_is_open() {
    let (_d, path) = log_with(1);
    let log = AuditLog::at(path.clone());
    let open = log.intent(&entry(101)).expect("intent");
    log.refusal(&entry(102), "guest 102 is protected").expect("refusal");
    let v = verify(&path).expect("verify");
    assert!(v.intact(), "{v:?}");
    assert_eq!((v.records, v.open_intents), (4, vec![open.0]));
    assert_eq!(open, IntentId(3));
    let recs = read_records(&path).expect("records");
    assert_eq!((recs[3]["record"].as_str(), recs[3]["message"].as_str()), (Some("refusal"), Some("guest 102 is protected")));
}

#[test]
fn file_is_0600_in_a_new_0700_directory() {
    let (_d, path) = log_with(1);
    let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().expect("dir")), 0o700);
}

#[test]
fn a_file_others_can_read_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("audit.log");
    std::fs::write(&path, "").expect("create");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let e = AuditLog::at(path.clone()).intent(&entry(100)).expect_err("refused");
    assert!(matches!(&e, Error::Policy(m) if m.contains("0644") && m.contains("nothing was sent")), "{e}");
    assert_eq!(e.exit_code(), crate::exit_codes::POLICY);
    assert_eq!(std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777, 0o644, "not chmod-ed");
    assert_eq!(std::fs::read(&path).expect("read").len(), 0);
}

#[test]
fn an_unwritable_path_is_a_policy_error() {
    // A regular file where the directory should be: fails even for root.
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("file"), "").expect("create");
    let log = AuditLog::at(dir.path().join("file/audit.log"));
    assert!(matches!(log.intent(&entry(100)), Err(Error::Policy(_))));
    assert!(matches!(log.refusal(&entry(100), "no"), Err(Error::Policy(_))));
}

#[test]
fn a_damaged_last_line_refuses_further_writes() {
    let (_d, path) = log_with(1);
    let mut l = lines(&path);
    l.push("{\"garbage\": true}".into());
    write_lines(&path, &l);
    let e = AuditLog::at(path).intent(&entry(100)).expect_err("refused");
    assert!(matches!(&e, Error::Policy(m) if m.contains("damaged")), "{e}");
}

#[test]
fn a_partial_last_line_stays_its_own_line() {
    let (_d, path) = log_with(1);
    let mut text = std::fs::read(&path).expect("read");
    text.extend_from_slice(b"{\"seq\":3,\"cut sh");
    std::fs::write(&path, &text).expect("write");
    let log = AuditLog::at(path.clone());
    assert_eq!(log.intent(&entry(100)).expect("intent"), IntentId(3), "chained to the last complete record");
    let (line, reason) = broken_line(&path);
    assert_eq!(line, 3);
    assert!(reason.contains("parse"), "{reason}");
    assert_eq!(verify(&path).expect("verify").records, 3);
}

#[test]
fn disabled_log_writes_nothing() {
    let log = AuditLog::disabled();
    assert_eq!(log.path(), None);
    let id = log.intent(&entry(100)).expect("intent");
    assert_eq!(id, IntentId(0));
    log.outcome(id, AuditOutcome::Failed, None, Some("x")).expect("outcome");
}

#[test]
fn free_text_is_bounded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("audit.log");
    let log = AuditLog::at(path.clone()).with_face("mcp");
    let huge = "é\u{1b}[31m".repeat(10_000);
    let id = log.intent(&AuditEntry { call: huge.clone(), ..entry(100) }).expect("intent");
    log.outcome(id, AuditOutcome::Unknown, None, Some(&huge)).expect("outcome");
    let recs = read_records(&path).expect("records");
    for (r, field) in [(&recs[0], "call"), (&recs[1], "message")] {
        let s = r[field].as_str().expect("text");
        assert!(s.len() <= MAX_TEXT + '…'.len_utf8() && s.ends_with('…'), "{} bytes", s.len());
    }
    assert_eq!((recs[0]["face"].as_str(), recs[1]["outcome"].as_str()), (Some("mcp"), Some("unknown")));
    assert!(verify(&path).expect("verify").intact());
}

#[test]
fn a_missing_log_is_not_intact() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(matches!(verify(&dir.path().join("none.log")), Err(Error::NotFound(_))));
    assert!(read_records(&dir.path().join("none.log")).expect("records").is_empty());
}

#[test]
fn concurrent_writers_keep_one_chain() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("audit.log");
    let threads: Vec<_> = (0..40)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let log = AuditLog::at(path);
                let id = log.intent(&entry(100 + i)).expect("intent");
                log.outcome(id, AuditOutcome::Ok, None, None).expect("outcome");
            })
        })
        .collect();
    for t in threads {
        t.join().expect("writer thread");
    }
    for l in lines(&path) {
        serde_json::from_str::<Value>(&l).unwrap_or_else(|e| panic!("{e}: {l}"));
    }
    let v = verify(&path).expect("verify");
    assert!(v.intact(), "{v:?}");
    assert_eq!((v.records, v.open_intents.len()), (80, 0));
}

#[test]
fn a_long_last_line_is_read_back_from_the_end() {
    // Every free-text field at its bound, full of characters JSON escapes: the line is longer
    // than the first window read from the end, so the tail read has to widen it.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("audit.log");
    let log = AuditLog::at(path.clone());
    let text = "\u{1}".repeat(MAX_TEXT);
    let big = AuditEntry {
        target: text.clone(),
        action: text.clone(),
        node: Some(text.clone()),
        digest: Some(text.clone()),
        call: text.clone(),
        ..entry(100)
    };
    assert_eq!(log.intent(&big).expect("intent"), IntentId(1));
    assert!(lines(&path)[0].len() > 8 * 1024, "{} bytes", lines(&path)[0].len());
    assert_eq!(log.intent(&big).expect("intent"), IntentId(2));
    assert!(verify(&path).expect("verify").intact());
}

#[test]
fn the_client_field_is_chained_and_old_lines_without_it_still_verify() {
    let (_dir, path) = log_with(1);
    let old = lines(&path);
    assert!(old.iter().all(|l| !l.contains("\"client\"")), "cli records carry no client field");
    let log = AuditLog::at(path.clone()).with_face("mcp").with_client("inspector \u{1b}[2J");
    let id = log.intent(&entry(101)).expect("intent");
    log.outcome(id, AuditOutcome::Ok, None, None).expect("outcome");
    let recs = read_records(&path).expect("records");
    assert_eq!(recs.len(), 4);
    assert_eq!(recs[0].get("client"), None);
    for r in &recs[2..] {
        assert_eq!((r["face"].as_str(), r["client"].as_str()), (Some("mcp"), Some("inspector \u{1b}[2J")));
    }
    assert!(verify(&path).expect("verify").intact(), "old and new lines form one chain");
    // The client name is covered by the hash: changing it breaks the chain at that line.
    let mut text = lines(&path);
    text[2] = text[2].replace("inspector", "someone-else");
    std::fs::write(&path, text.join("\n") + "\n").expect("write");
    let v = verify(&path).expect("verify");
    assert_eq!(v.first_break.map(|b| b.line), Some(3));
}
