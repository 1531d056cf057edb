//! Remote calls per workflow over `-t local` with the `pve-sim` tools, counted from
//! `PVE_SIM_LOG`, against what a careful admin types (issue 10, the performance round's
//! goal table). A figure above its goal is written down with the reason it stays (a read a
//! safety check needs), so a change that adds a call fails here.

use std::fmt::Write as _;

use crate::support::{Pvectl, SimTools};

/// (workflow, args, goal, measured today, why the difference stays).
const WORKFLOWS: &[(&str, &[&str], usize, usize, &str)] = &[
    ("guest list", &["guest", "list"], 1, 1, ""),
    ("guest status (node known)", &["guest", "status", "100", "--node", "pve1", "--kind", "qemu"], 1, 1, ""),
    ("guest shutdown", &["guest", "shutdown", "100", "--yes"], 3, 3, ""),
    ("guest start", &["guest", "start", "100"], 3, 3, ""),
    (
        "snapshot create",
        &["snapshot", "create", "100", "calls-1"],
        3,
        4,
        "the plan reads the snapshot list first: a used name is refused (6) before anything is sent",
    ),
    (
        "snapshot rollback",
        &["snapshot", "rollback", "100", "calls-1", "--yes"],
        4,
        6,
        "the snapshot list before (a missing snapshot is 5, nothing sent), the config for the policy's \
         protection rule (destructive), and after it the list and the status (a rollback changes the run state)",
    ),
    (
        "doctor",
        &["doctor"],
        2,
        5,
        "version, nodes, guests, the caller's permissions and the newest task of one node: each a check doctor reports on",
    ),
];

/// The calls one run makes.
fn count(tools: &SimTools, args: &[&str]) -> Vec<Vec<String>> {
    tools.clear_log();
    let r = tools.apply(Pvectl::new()).args(["-t", "local", "-o", "json"]).args(args).run();
    r.expect_code(0);
    tools.calls()
}

#[test]
fn calls_per_workflow_stay_at_the_measured_figures() {
    let tools = SimTools::new();
    count(&tools, &["guest", "list"]); // seeds the state file
    let mut table = String::from("workflow                    calls  goal\n");
    let mut over = Vec::new();
    for (name, args, goal, measured, why) in WORKFLOWS {
        let calls = count(&tools, args);
        let _ = writeln!(table, "{name:<28}{:>5} {goal:>5}", calls.len());
        assert_eq!(calls.len(), *measured, "{name}: {calls:?}");
        if calls.len() > *goal {
            assert!(!why.is_empty(), "{name} is over its goal without a reason");
            over.push(format!("{name}: {why}"));
        }
        // Never a task-status read after a foreground `pvesh create` that printed how it ended.
        assert!(!calls.iter().any(|c| c.get(2).is_some_and(|p| p.contains("/tasks/UPID:"))), "{name}: {calls:?}");
    }
    eprintln!("{table}{}", over.join("\n"));
}
