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
}

#[test]
fn version_names_the_client_and_with_a_target_its_pve_version() {
    let r = Pvectl::new().args(["version", "-o", "json"]).run();
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["client"]["version"], env!("CARGO_PKG_VERSION"));
    let commit = v["client"]["commit"].as_str().expect("commit");
    assert!(commit == "unknown" || (commit.len() >= 4 && commit.bytes().all(|b| b.is_ascii_hexdigit())), "{commit}");
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
