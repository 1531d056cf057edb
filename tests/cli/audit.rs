//! The audit log across processes: concurrent `pvectl` runs keep one intact chain, and
//! `pvectl audit verify` names the line a removal or an edit broke.

use std::path::Path;

use crate::support::{Pvectl, Run};

fn pvectl(log: &Path, args: &[&str]) -> Run {
    Pvectl::new().env("PVECTL_AUDIT_LOG", log).args(args).run()
}

fn rewrite(log: &Path, change: impl FnOnce(&mut Vec<String>)) {
    let mut lines: Vec<String> = std::fs::read_to_string(log).expect("read log").lines().map(str::to_owned).collect();
    change(&mut lines);
    std::fs::write(log, lines.join("\n") + "\n").expect("write log");
}

#[test]
fn concurrent_runs_keep_one_chain_and_verify_finds_tampering() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("audit/audit.log");
    let runs: Vec<_> = (0..40)
        .map(|_| {
            let log = log.clone();
            // Each `-t sim` process has its own demo cluster, where 103 is stopped: every start is sent.
            std::thread::spawn(move || {
                pvectl(&log, &["-t", "sim", "api", "create", "/nodes/pve1/qemu/103/status/start", "--yes", "-o", "json"])
            })
        })
        .collect();
    for r in runs {
        r.join().expect("runner thread").expect_code(0);
    }
    let v = pvectl(&log, &["audit", "verify", "-o", "json"]);
    v.expect_code(0);
    let v = v.json();
    assert_eq!((&v["records"], &v["intact"], &v["first_break"]), (&80.into(), &true.into(), &serde_json::Value::Null), "{v}");
    assert_eq!(v["open_intents"], serde_json::json!([]));

    // A raw write's guest comes from the API route its path matches: every record names 103.
    pvectl(&log, &["-t", "sim", "guest", "start", "103"]).expect_code(0);
    let seqs = |args: &[&str]| -> Vec<Option<u64>> {
        let show = pvectl(&log, &[&["audit", "show", "-o", "json"], args].concat()).json();
        show.as_array().expect("records").iter().map(|r| r["seq"].as_u64()).collect()
    };
    assert_eq!(seqs(&["--vmid", "103"]), (1..=82).map(Some).collect::<Vec<_>>());
    assert_eq!(seqs(&["--since", "3600", "--limit", "3"]), [Some(80), Some(81), Some(82)]);
    assert_eq!(seqs(&["--vmid", "100"]), []);
    let table = pvectl(&log, &["audit", "show", "--limit", "2", "-o", "table"]);
    table.expect_code(0);
    let last: Vec<&str> = table.stdout.lines().last().expect("a row").split_whitespace().collect();
    // SEQ, TIME (date and time), WHO, FACE, RECORD, ACTION, VMID, OUTCOME, UPID.
    assert_eq!((last[0], &last[5..9]), ("82", &["outcome", "start", "103", "ok"][..]), "{}", table.stdout);
    assert!(table.stdout.trim_start().starts_with("SEQ") && last[9].starts_with("UPID:pve1:"), "{}", table.stdout);

    let pristine = std::fs::read(&log).expect("read log");
    rewrite(&log, |l| drop(l.remove(9)));
    let r = pvectl(&log, &["audit", "verify", "-o", "json"]);
    r.expect_code(10);
    assert_eq!(r.json()["first_break"]["line"], 10);
    assert!(r.stderr.contains("line 10"), "{}", r.stderr);

    std::fs::write(&log, &pristine).expect("restore");
    rewrite(&log, |l| l[19] = l[19].replacen("api create", "api cReate", 1));
    let r = pvectl(&log, &["audit", "verify", "-o", "table"]);
    r.expect_code(10);
    assert!(r.stderr.contains("line 20") && r.stderr.contains("edited"), "{}", r.stderr);
}
