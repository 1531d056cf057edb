//! Everyday ergonomics (issue 11 item 5): completion scripts, the manual page, `version`,
//! help layout, `-o wide`, `--sort`, `--no-headers`, colours, `--status` validation, hints,
//! `--watch`.

use serde_json::Value;

use crate::support::{Pvectl, Run};

/// A sim whose state lives in a temporary directory (never the user's).
struct Sim(tempfile::TempDir);

impl Sim {
    fn new() -> Self {
        Self(tempfile::tempdir().expect("temp dir"))
    }

    fn run(&self, args: &[&str]) -> Run {
        Pvectl::new().env("PVE_SIM_STATE", self.0.path().join("state.json")).args(["-t", "sim"]).args(args).run()
    }
}

/// Runs `script` with bash, the completion script at `$1`.
fn bash(script: &str, completion: &std::path::Path) -> Run {
    std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", script, "bash"])
        .arg(completion)
        .output()
        .expect("bash runs")
        .into()
}

#[test]
fn the_bash_completion_completes_nouns_and_their_verbs() {
    let r = Pvectl::new().args(["completion", "bash"]).run();
    r.expect_code(0);
    assert!(r.stdout.contains("guest") && r.stdout.contains("snapshot"), "{}", r.stdout);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("pvectl.bash");
    std::fs::write(&file, &r.stdout).expect("write the script");
    // What bash does at `pvectl gu<TAB>`: call the registered function with the words so far.
    let complete = r#"source "$1"
        complete -p pvectl
        spec=$(complete -p pvectl); fn=${spec#*-F }; fn=${fn%% *}
        COMP_WORDS=(pvectl gu); COMP_CWORD=1; COMP_LINE="pvectl gu"; COMP_POINT=${#COMP_LINE}
        "$fn" pvectl gu pvectl
        printf 'reply:%s\n' "${COMPREPLY[@]}"
        COMP_WORDS=(pvectl snapshot ro); COMP_CWORD=2; COMP_LINE="pvectl snapshot ro"; COMP_POINT=${#COMP_LINE}
        COMPREPLY=()
        "$fn" pvectl ro snapshot
        printf 'reply:%s\n' "${COMPREPLY[@]}""#;
    let b = bash(complete, &file);
    b.expect_code(0);
    assert!(b.stdout.starts_with("complete ") && b.stdout.contains(" pvectl\n"), "registered for pvectl: {}", b.stdout);
    let replies: Vec<&str> = b.stdout.lines().filter_map(|l| l.strip_prefix("reply:")).map(str::trim).collect();
    assert_eq!(replies, ["guest", "rollback"], "{}", b.stdout);
}

#[test]
fn every_shell_gets_a_script_and_an_unknown_shell_is_a_usage_error() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let r = Pvectl::new().args(["completion", shell]).run();
        r.expect_code(0);
        assert!(r.stdout.contains("snapshot"), "{shell}: {}", r.stdout);
    }
    Pvectl::new().args(["completion", "tcsh"]).run().expect_code(2);
}

#[test]
fn the_manual_page_is_roff_that_man_renders() {
    let r = Pvectl::new().args(["man"]).run();
    r.expect_code(0);
    let th = r.stdout.lines().find(|l| l.starts_with(".TH ")).unwrap_or_else(|| panic!("no .TH header: {}", r.stdout));
    assert!(th.starts_with(".TH pvectl 1 "), "{th}");
    assert!(r.stdout.contains(".SH SUBCOMMANDS") || r.stdout.contains("SUBCOMMANDS"), "{}", r.stdout);
    // man(1) itself renders it (scripts/test.sh installs man-db when missing).
    let dir = tempfile::tempdir().expect("temp dir");
    let page = dir.path().join("pvectl.1");
    std::fs::write(&page, &r.stdout).expect("write the page");
    let out = std::process::Command::new("man")
        .arg("-l")
        .arg(&page)
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        .expect("man runs (install man-db)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "man failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("SYNOPSIS") && text.contains("pvectl-guest"), "{text}");
    assert!(!text.contains(".TH"), "roff was interpreted: {text}");

    // A command's own page, with its own options and the global ones.
    let stop = Pvectl::new().args(["man", "guest", "stop"]).run();
    stop.expect_code(0);
    assert!(stop.stdout.contains(".TH pvectl-guest-stop 1 "), "{}", stop.stdout);
    assert!(stop.stdout.contains("no\\-wait") && stop.stdout.contains("target"), "{}", stop.stdout);
    let bad = Pvectl::new().args(["man", "guest", "stp"]).run();
    bad.expect_code(2);
    assert!(bad.stdout.is_empty() && bad.stderr.contains("`pvectl guest stp` is not a command"), "{}", bad.stderr);
}

#[test]
fn version_names_the_client_and_with_a_target_its_pve_version() {
    let r = Pvectl::new().args(["version", "-o", "json"]).run();
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["client"]["version"], env!("CARGO_PKG_VERSION"));
    let commit = v["client"]["commit"].as_str().expect("commit");
    // The commit the binary was built from: this checkout's HEAD, as git itself names it
    // (`unknown` only where git cannot say, e.g. a source tarball).
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match head {
        Some(full) => assert!(commit.len() >= 7 && full.starts_with(commit), "{commit} is not a prefix of HEAD {full}"),
        None => assert_eq!(commit, "unknown"),
    }
    assert!(v["client"]["target"].as_str().is_some_and(|t| t.contains("linux")), "{v}");
    assert!(v.get("server").is_none(), "no target, no server: {v}");

    let sim = Sim::new();
    let r = sim.run(&["version", "-o", "json"]);
    r.expect_code(0);
    let v: Value = r.json();
    // The sim's `GET /version` (its demo cluster's pve-manager).
    assert!(v["server"]["version"].as_str().is_some_and(|s| s.starts_with("9.")), "{v}");
    assert!(v["server"]["release"].is_string(), "{v}");
    let t = sim.run(&["version", "-o", "table"]);
    t.expect_code(0);
    assert!(t.stdout.contains("pve version") && t.stdout.contains("commit"), "{}", t.stdout);
}

#[test]
fn help_shows_a_commands_own_options_before_the_global_ones() {
    for flag in ["--help", "-h"] {
        let r = Pvectl::new().args(["guest", "stop", flag]).run();
        r.expect_code(0);
        let h = &r.stdout;
        let own = h.find("--no-wait").unwrap_or_else(|| panic!("{h}"));
        let global = h.find("Global options:").unwrap_or_else(|| panic!("{h}"));
        let target = h.find("--target").unwrap_or_else(|| panic!("{h}"));
        assert!(own < global && global < target, "own options first, then the global heading: {h}");
    }
}

#[test]
fn the_examples_in_help_are_commands_that_parse() {
    use clap::Parser as _;
    let commands: [&[&str]; 7] = [
        &["guest", "list"],
        &["guest", "start"],
        &["guest", "stop"],
        &["snapshot", "create"],
        &["backup", "create"],
        &["check"],
        &["api", "get"],
    ];
    for cmd in commands {
        let r = Pvectl::new().args(cmd).args(["--help"]).run();
        r.expect_code(0);
        let examples: Vec<&str> = r.stdout.split("Examples:\n").nth(1).unwrap_or_else(|| panic!("{cmd:?}: no examples")).lines().collect();
        assert!(examples.len() >= 3, "{cmd:?}: {examples:?}");
        for e in examples {
            let words = shlex::split(e.trim()).unwrap_or_else(|| panic!("{e}"));
            assert_eq!(&words[..=cmd.len()].join(" "), &format!("pvectl {}", cmd.join(" ")), "{e}");
            if let Err(err) = pvectl::cli::Cli::try_parse_from(&words) {
                panic!("{cmd:?}: example {e:?} does not parse: {err}");
            }
        }
    }
}

/// The table's header cells and its rows' cells, cut where the header's columns start.
fn table(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = text.lines();
    let head = lines.next().unwrap_or_default();
    let starts: Vec<usize> =
        head.char_indices().filter(|(i, c)| *c != ' ' && (*i == 0 || head.as_bytes()[i - 1] == b' ')).map(|(i, _)| i).collect();
    let cut = |l: &str| {
        (0..starts.len())
            .map(|k| {
                let end = starts.get(k + 1).copied().unwrap_or(l.len()).min(l.len());
                l.get(starts[k].min(end)..end).unwrap_or_default().trim().to_owned()
            })
            .collect::<Vec<_>>()
    };
    (cut(head), lines.map(cut).collect())
}

#[test]
fn guest_list_wide_shows_more_columns_sorts_and_drops_headers() {
    let sim = Sim::new();
    let plain = sim.run(&["guest", "list", "-o", "table"]);
    plain.expect_code(0);
    let (header, _) = table(&plain.stdout);
    assert!(!header.contains(&"MEM%".to_owned()), "{header:?}");
    let wide = sim.run(&["guest", "list", "-o", "wide"]);
    wide.expect_code(0);
    let (header, rows) = table(&wide.stdout);
    for col in ["MEM%", "CPUS", "DISK", "NODE"] {
        assert!(header.contains(&col.to_owned()), "{col}: {header:?}");
    }
    let at = header.iter().position(|h| h == "MEM%").expect("MEM% column");
    let web = rows.iter().find(|r| r[0] == "100").expect("guest 100");
    // Guest 100 of the demo uses 1 GiB of its 2 GiB.
    assert_eq!(web[at], "50.0%", "{web:?}");

    // --sort mem: rows ascend by the memory in use, as the JSON data has it.
    let json = sim.run(&["guest", "list", "-o", "json"]).json();
    let mem_of = |vmid: &str| {
        json.as_array()
            .expect("array")
            .iter()
            .find(|g| g["vmid"].as_u64().map(|v| v.to_string()).as_deref() == Some(vmid))
            .map(|g| g["mem"].as_u64().unwrap_or(0))
            .expect("guest")
    };
    let sorted = sim.run(&["guest", "list", "-o", "table", "--sort", "mem"]);
    sorted.expect_code(0);
    let (_, rows) = table(&sorted.stdout);
    let mems: Vec<u64> = rows.iter().map(|r| mem_of(&r[0])).collect();
    assert!(mems.windows(2).all(|w| w[0] <= w[1]), "ascending mem: {mems:?}\n{}", sorted.stdout);
    assert!(mems.first() < mems.last(), "the demo has running and stopped guests: {mems:?}");

    // The JSON array is sorted too.
    let by_name = sim.run(&["guest", "list", "-o", "json", "--sort", "name"]).json();
    let names: Vec<&str> = by_name.as_array().expect("array").iter().map(|g| g["name"].as_str().unwrap_or_default()).collect();
    let mut expected = names.clone();
    expected.sort_unstable();
    assert_eq!(names, expected);

    let bare = sim.run(&["guest", "list", "-o", "table", "--no-headers"]);
    bare.expect_code(0);
    assert!(!bare.stdout.contains("VMID"), "{}", bare.stdout);
    assert_eq!(bare.stdout.lines().count(), rows.len(), "only the rows");
}

#[test]
fn an_unknown_sort_field_is_a_usage_error_naming_the_valid_ones() {
    let sim = Sim::new();
    let r = sim.run(&["guest", "list", "-o", "table", "--sort", "memory"]);
    r.expect_code(2);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(r.stderr.contains("--sort memory") && r.stderr.contains("vmid, name, node"), "{}", r.stderr);
    let j = sim.run(&["storage", "list", "-o", "json", "--sort", "nope"]);
    j.expect_code(2);
    assert!(j.stdout.is_empty(), "{}", j.stdout);
    // On a change, refused before anything is sent.
    let stop = sim.run(&["guest", "stop", "100", "--yes", "--sort", "vmid"]);
    stop.expect_code(2);
    assert_eq!(sim.run(&["guest", "status", "100", "-o", "json"]).json()["status"], "running");
}

#[test]
fn storage_list_wide_shows_the_fraction_used_and_sorts_by_it() {
    let sim = Sim::new();
    let r = sim.run(&["storage", "list", "-o", "wide", "--sort", "used%"]);
    r.expect_code(0);
    let (header, rows) = table(&r.stdout);
    let at = header.iter().position(|h| h == "USED%").unwrap_or_else(|| panic!("{header:?}"));
    let used: Vec<f64> = rows.iter().map(|row| row[at].trim_end_matches('%').parse().expect("a percentage")).collect();
    assert!(used.windows(2).all(|w| w[0] <= w[1]), "{used:?}");
    // Checked against the JSON's used/total for one storage.
    let json = sim.run(&["storage", "list", "-o", "json"]).json();
    let s = &json.as_array().expect("array")[0];
    #[expect(clippy::cast_precision_loss, reason = "test arithmetic")]
    let pct = s["used"].as_u64().expect("used") as f64 / s["total"].as_u64().expect("total") as f64 * 100.0;
    let row = rows.iter().find(|r| r[0] == s["storage"] && r[1] == s["node"]).expect("the storage's row");
    assert_eq!(row[at], format!("{pct:.1}%"));
    let plain = sim.run(&["storage", "list", "-o", "table"]);
    assert!(!plain.stdout.contains("USED%"), "{}", plain.stdout);
}

#[test]
fn task_list_wide_shows_node_and_duration() {
    let sim = Sim::new();
    let r = sim.run(&["task", "list", "-o", "wide", "--sort", "start"]);
    r.expect_code(0);
    let (header, rows) = table(&r.stdout);
    for col in ["NODE", "END", "DURATION"] {
        assert!(header.contains(&col.to_owned()), "{col}: {header:?}");
    }
    let start = header.iter().position(|h| h == "START").expect("START");
    let starts: Vec<&str> = rows.iter().map(|r| r[start].as_str()).collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
    let json = sim.run(&["task", "list", "-o", "json"]).json();
    let t = json.as_array().expect("array").iter().find(|t| t["endtime"].is_u64()).expect("a finished task");
    let secs = t["endtime"].as_u64().expect("end") - t["starttime"].as_u64().expect("start");
    let row = rows.iter().find(|r| r[0] == t["upid"]).expect("its row");
    let dur = &row[header.iter().position(|h| h == "DURATION").expect("DURATION")];
    assert!(secs < 60, "the demo's tasks are short: {secs}");
    assert_eq!(dur, &format!("{secs}s"));
    let plain = sim.run(&["task", "list", "-o", "table"]);
    assert!(!plain.stdout.contains("DURATION"), "{}", plain.stdout);
}

#[test]
fn the_status_column_is_coloured_only_when_asked_and_never_in_json() {
    let sim = Sim::new();
    let t = sim.run(&["guest", "list", "-o", "table", "--color", "always"]);
    t.expect_code(0);
    assert!(t.stdout.contains("\u{1b}[32mrunning\u{1b}[0m"), "{}", t.stdout);
    let j = sim.run(&["guest", "list", "-o", "json", "--color", "always"]);
    j.expect_code(0);
    assert!(!j.stdout.contains('\u{1b}'), "{}", j.stdout);
    // auto: stdout is a pipe here.
    let auto = sim.run(&["guest", "list", "-o", "table"]);
    assert!(!auto.stdout.contains('\u{1b}'), "{}", auto.stdout);
    // Colour codes do not shift the columns: without them the table is the uncoloured one.
    let plain = sim.run(&["guest", "list", "-o", "table", "--color", "never"]);
    let stripped = t.stdout.replace("\u{1b}[32m", "").replace("\u{1b}[2m", "").replace("\u{1b}[0m", "");
    assert_eq!(stripped, plain.stdout);
}

#[test]
fn a_status_typo_is_a_usage_error_and_nothing_is_sent() {
    let sim = Sim::new();
    let r = sim.run(&["guest", "list", "--status", "runing", "-o", "json"]);
    r.expect_code(2);
    assert!(r.stderr.contains("runing"), "{}", r.stderr);
    let stop = sim.run(&["guest", "stop", "--status", "runnin", "--yes", "-o", "json"]);
    stop.expect_code(2);
    assert_eq!(sim.run(&["guest", "status", "100", "-o", "json"]).json()["status"], "running");
    // PVE's values are accepted, QEMU's run states among them.
    let paused = sim.run(&["guest", "list", "--status", "paused", "-o", "json"]);
    paused.expect_code(0);
    assert_eq!(paused.json(), serde_json::json!([]));
    let running = sim.run(&["guest", "list", "--status", "running", "-o", "json"]);
    running.expect_code(0);
    assert!(running.json().as_array().is_some_and(|a| !a.is_empty() && a.iter().all(|g| g["status"] == "running")));
}

#[test]
fn task_log_follow_ends_with_the_task_line_and_never_prints_the_placeholder() {
    let sim = Sim::new();
    let started = sim.run(&["guest", "start", "103", "--no-wait", "--yes", "-o", "json"]);
    started.expect_code(0);
    let upid = started.json()["task"]["upid"].as_str().expect("a UPID").to_owned();
    // The task's log is empty until it ends (PVE lists it as `no content`), then `TASK OK`.
    let r = sim.run(&["task", "log", &upid, "--follow", "-o", "table"]);
    r.expect_code(0);
    assert!(!r.stdout.contains("no content"), "{}", r.stdout);
    assert_eq!(r.stdout.lines().last(), Some("TASK OK"), "{}", r.stdout);
    let j = sim.run(&["task", "log", &upid, "--follow", "-o", "json"]);
    j.expect_code(0);
    let last: Value = serde_json::from_str(j.stdout.lines().last().expect("a line")).expect("one JSON line per log line");
    assert_eq!(last["t"], "TASK OK");
}

fn hint(r: &Run) -> String {
    let line = r.stderr.lines().find(|l| l.starts_with('{')).unwrap_or_else(|| panic!("no JSON error: {}", r.stderr));
    let v: Value = serde_json::from_str(line).expect("a JSON error");
    v["error"]["hint"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn hints_fit_the_cause_of_the_refusal() {
    let sim = Sim::new();
    // 101 carries PVE's protection flag in the demo.
    let r = sim.run(&["guest", "stop", "101", "--yes", "-o", "json"]);
    r.expect_code(10);
    let h = hint(&r);
    assert!(h.contains("not a lock") && h.contains("--protection 0"), "{h}");
    assert!(!h.contains("task wait") && !h.contains("policy show"), "no waiting for a lock: {h}");
    // 106 is locked by the demo's running backup: that hint is about the lock.
    let r = sim.run(&["snapshot", "create", "106", "snap1", "--yes", "-o", "json"]);
    r.expect_code(6);
    let h = hint(&r);
    assert!(h.contains("guest diagnose") && h.contains("task wait") && !h.contains("protection"), "{h}");
    let r = sim.run(&["snapshot", "rollback", "100", "nosuch", "--yes", "-o", "json"]);
    r.expect_code(5);
    assert!(hint(&r).contains("pvectl snapshot list <vmid>"), "{}", r.stderr);
    let r = sim.run(&["task", "status", "UPID:pve1:00000001:00000001:60000000:qmstart:100:root@pam:", "-o", "json"]);
    r.expect_code(5);
    assert!(hint(&r).contains("pvectl task list"), "{}", r.stderr);
}

#[test]
fn a_typo_is_never_answered_with_a_destructive_subcommand() {
    for (typo, verb) in
        [(["guest", "stp"], "stop"), (["snapshot", "rolback"], "rollback"), (["guest", "delet"], "delete"), (["guest", "rest"], "reset")]
    {
        let r = Pvectl::new().args(typo).args(["100"]).run();
        r.expect_code(2);
        assert!(r.stderr.contains("unrecognized subcommand"), "{}", r.stderr);
        assert!(!r.stderr.contains(&format!("'{verb}'")) && !r.stderr.contains("tip:"), "{typo:?}: {}", r.stderr);
    }
    // A read is still offered.
    let r = Pvectl::new().args(["guest", "lst"]).run();
    r.expect_code(2);
    assert!(r.stderr.contains("a similar subcommand exists: 'list'"), "{}", r.stderr);
    assert!(!r.stderr.contains("'stop'"), "{}", r.stderr);
}

/// The JSON documents of a stream, one after another.
fn documents(text: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(text).into_iter::<Value>().map(|d| d.expect("a JSON document")).collect()
}

#[test]
fn watch_prints_one_json_document_per_round_and_stops_after_the_cycles() {
    let sim = Sim::new();
    let r = sim.run(&["guest", "list", "-o", "json", "--watch", "1", "--cycles", "2"]);
    r.expect_code(0);
    let docs = documents(&r.stdout);
    assert_eq!(docs.len(), 2, "{}", r.stdout);
    assert!(docs.iter().all(|d| d.as_array().is_some_and(|a| a.iter().any(|g| g["vmid"] == 100))), "{}", r.stdout);
    assert!(!r.stdout.contains('\u{1b}'), "no redraw codes on a pipe");
    // After a guest's id, `--watch` takes its default interval.
    let s = sim.run(&["guest", "status", "100", "--watch", "--cycles", "2", "-o", "json"]);
    s.expect_code(0);
    let docs = documents(&s.stdout);
    assert_eq!(docs.len(), 2, "{}", s.stdout);
    assert!(docs.iter().all(|d| d["vmid"] == 100 && d["status"] == "running"), "{}", s.stdout);
}

#[test]
fn watch_is_never_faster_than_a_second_and_cycles_need_it() {
    let sim = Sim::new();
    sim.run(&["node", "list", "--watch", "0", "-o", "json"]).expect_code(2);
    sim.run(&["task", "list", "--cycles", "2", "-o", "json"]).expect_code(2);
    // A fleet is read once.
    let fleet = Pvectl::new()
        .env("PVE_SIM_STATE", sim.0.path().join("state.json"))
        .args(["-t", "sim,sim", "guest", "list", "--watch", "1", "-o", "json"])
        .run();
    fleet.expect_code(2);
    assert!(fleet.stderr.contains("a fleet") && fleet.stdout.is_empty(), "{}", fleet.stderr);
    let once = sim.run(&["cluster", "status", "--watch=1", "--cycles", "1", "-o", "json"]);
    once.expect_code(0);
    assert_eq!(documents(&once.stdout).len(), 1, "{}", once.stdout);
}

/// Runs `p` with its stdout on a pseudo-terminal (util-linux `script`, Essential in Debian),
/// with the environment the helper set up.
fn at_terminal(p: Pvectl) -> Run {
    let cmd = p.command();
    let mut words = vec![cmd.get_program().to_string_lossy().into_owned()];
    words.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    let line = shlex::try_join(words.iter().map(String::as_str)).expect("quotable words");
    let mut script = std::process::Command::new("script");
    script.args(["-qec", &line, "/dev/null"]).stdin(std::process::Stdio::null());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    script.output().expect("script runs").into()
}

#[test]
fn at_a_terminal_watch_redraws_and_auto_colour_follows_no_color() {
    let sim = Sim::new();
    let state = sim.0.path().join("state.json");
    let r = at_terminal(
        Pvectl::new()
            .env("PVE_SIM_STATE", &state)
            .env_remove_no_color()
            .args(["-t", "sim", "guest", "list", "--watch", "1", "--cycles", "2"]),
    );
    r.expect_code(0);
    assert_eq!(r.stdout.matches("\u{1b}[H\u{1b}[2JEvery 1s: ").count(), 2, "two redraws: {}", r.stdout);
    assert!(r.stdout.contains("\u{1b}[32mrunning"), "colour at a terminal: {}", r.stdout);
    let plain = at_terminal(Pvectl::new().env("PVE_SIM_STATE", &state).env("NO_COLOR", "1").args(["-t", "sim", "guest", "list"]));
    plain.expect_code(0);
    assert!(plain.stdout.contains("running") && !plain.stdout.contains('\u{1b}'), "NO_COLOR: {}", plain.stdout);
}
