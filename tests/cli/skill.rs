//! SKILL.md works as written: its front matter is what `OpenClaw` reads, every command it names
//! parses, and every example (each `pvectl` line of an `sh` block) run in order against one
//! fresh simulator exits with the code it documents (`# exit N`, else 0). README's set-up
//! command parses.

use std::io::Read as _;
use std::path::Path;
use std::time::{Duration, Instant};

use clap::Parser;
use pvectl::cli::Cli;

use crate::support::{Pvectl, SimHome};

/// One runnable example of SKILL.md.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Example {
    /// 1-based line number in the document.
    line: usize,
    /// The command line as written (its trailing comment included; the shell drops it).
    command: String,
    /// The documented exit code: `# exit N`, else 0.
    exit: i32,
}

/// The examples of a document: every line starting `pvectl ` inside a fenced block whose
/// info string is `sh`, in order. A trailing comment (`  # ...`) that starts with `exit N`
/// documents exit code N; a comment that mentions `exit` otherwise is an error (an exit code
/// the harness would not see).
fn examples(doc: &str) -> Result<Vec<Example>, String> {
    let mut out = Vec::new();
    let mut fence: Option<String> = None;
    for (i, raw) in doc.lines().enumerate() {
        let line = raw.trim();
        if let Some(info) = line.strip_prefix("```") {
            fence = if fence.is_some() { None } else { Some(info.trim().to_owned()) };
            continue;
        }
        if fence.as_deref() != Some("sh") || !line.starts_with("pvectl ") {
            continue;
        }
        let comment = line.split_once("  #").map(|(_, c)| c.trim());
        let exit = match comment {
            None => 0,
            Some(c) => match c.strip_prefix("exit ") {
                Some(rest) => {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    digits.parse().map_err(|_| format!("SKILL.md line {}: `# exit` without a number: {line}", i + 1))?
                }
                None if c.contains("exit ") => {
                    return Err(format!("SKILL.md line {}: an exit code must open the comment (`# exit N ...`): {line}", i + 1));
                }
                None => 0,
            },
        };
        out.push(Example { line: i + 1, command: line.to_owned(), exit });
    }
    Ok(out)
}

/// How long one example may run before the harness kills it and reports the line.
const EXAMPLE_DEADLINE: Duration = Duration::from_secs(60);

/// Runs `doc`'s examples in order in a shell, as pasted, against one fresh simulator state
/// (its own `XDG_STATE_HOME`, no `PVE_SIM_STATE`), the audit log in a temporary file, stdin
/// null, in a scratch working directory. Stops at the first example whose exit code differs
/// from the documented one and returns a report naming its line; `Ok(n)` when all `n` agree.
fn run_examples(doc: &str) -> Result<usize, String> {
    let examples = examples(doc)?;
    let home = SimHome::new();
    let work = tempfile::tempdir().expect("work dir");
    let audit = work.path().join("audit.log");
    for ex in &examples {
        let (code, stdout, stderr) =
            run_one(&home, work.path(), &audit, &ex.command).map_err(|e| format!("SKILL.md line {}: `{}` {e}", ex.line, ex.command))?;
        if code != ex.exit {
            return Err(format!(
                "SKILL.md line {}: `{}` exited {code}, documented {}\nstdout:\n{}\nstderr:\n{}",
                ex.line,
                ex.command,
                ex.exit,
                excerpt(&stdout),
                excerpt(&stderr)
            ));
        }
    }
    Ok(examples.len())
}

/// One example under [`EXAMPLE_DEADLINE`]: `(exit code, stdout, stderr)`.
fn run_one(home: &SimHome, cwd: &Path, audit: &Path, line: &str) -> Result<(i32, String, String), String> {
    let mut child = Pvectl::shell(line)
        .state_home(home.dir.path())
        .env("PVECTL_AUDIT_LOG", audit)
        .current_dir(cwd)
        .command()
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("did not start: {e}"))?;
    // Readers on their own threads: a large output must not block the child.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| format!("cannot be waited for: {e}"))? {
            break st;
        }
        if start.elapsed() > EXAMPLE_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("did not end within {} s (killed)", EXAMPLE_DEADLINE.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Ok((status.code().unwrap_or(-1), stdout, stderr))
}

fn excerpt(s: &str) -> String {
    if s.len() <= 2000 {
        return s.to_owned();
    }
    let mut end = 2000;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn skill_md() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/SKILL.md")).expect("SKILL.md")
}

#[test]
fn every_skill_example_exits_as_documented_in_order_on_a_fresh_sim() {
    let n = run_examples(&skill_md()).unwrap_or_else(|report| panic!("{report}"));
    assert!(n >= 60, "SKILL.md runs the read and action commands, found {n} examples");
}

#[test]
fn the_example_harness_reports_a_changed_exit_code_on_its_line() {
    let doc = skill_md();
    let all = examples(&doc).expect("examples");
    // The first example that documents a non-zero exit: say it exits one more, and cut the
    // copy after it (what follows cannot change the verdict on it).
    let target = all.iter().find(|e| e.exit != 0).expect("SKILL.md documents at least one non-zero exit");
    let lines: Vec<&str> = doc.lines().collect();
    let mut copy: Vec<String> = lines[..target.line].iter().map(|l| (*l).to_owned()).collect();
    let edited = copy[target.line - 1].replace(&format!("# exit {}", target.exit), &format!("# exit {}", target.exit + 1));
    assert_ne!(edited, copy[target.line - 1], "the line carries `# exit N`");
    copy[target.line - 1] = edited;
    copy.push("```".to_owned());
    let report = run_examples(&copy.join("\n")).expect_err("a wrong documented exit code is reported");
    assert!(
        report.starts_with(&format!("SKILL.md line {}: ", target.line)) && report.contains(&format!("documented {}", target.exit + 1)),
        "the report names the line and the documented code: {report}"
    );
    // The unchanged copy passes up to and including that line.
    let mut same: Vec<&str> = lines[..target.line].to_vec();
    same.push("```");
    assert!(run_examples(&same.join("\n")).is_ok());
}

#[test]
fn exit_comments_are_parsed_strictly() {
    let doc = "```sh\npvectl -t sim node list\npvectl -t sim guest stop 100  # exit 3 (no --yes)\n```\n```text\npvectl -t x\n```\n";
    let ex = examples(doc).expect("parses");
    assert_eq!(ex.iter().map(|e| (e.line, e.exit)).collect::<Vec<_>>(), vec![(2, 0), (3, 3)], "only sh blocks run");
    assert!(examples("```sh\npvectl -t sim guest stop 100  # destructive, exit 3\n```\n").is_err(), "exit must open the comment");
    assert!(examples("```sh\npvectl -t sim guest stop 100  # exit x\n```\n").is_err());
}

#[test]
fn front_matter_is_openclaws() {
    let doc = skill_md();
    let fm = doc.strip_prefix("---\n").and_then(|d| d.split_once("\n---\n")).map(|(f, _)| f).expect("front matter between --- lines");
    let field = |k: &str| fm.lines().find_map(|l| l.strip_prefix(&format!("{k}: "))).unwrap_or_else(|| panic!("front matter has {k}"));
    assert_eq!(field("name"), "pvectl");
    assert!(field("description").starts_with("Use when"), "the description says when to use it");
    // OpenClaw reads `metadata` as a single-line JSON object.
    let meta: serde_json::Value = serde_json::from_str(field("metadata")).expect("metadata is one line of JSON");
    assert_eq!(meta["openclaw"]["requires"]["bins"], serde_json::json!(["pvectl"]));
    assert!(meta["openclaw"]["os"].as_array().is_some_and(|o| !o.is_empty() && o.iter().all(|v| v == "linux" || v == "darwin")));
}

#[test]
fn every_skill_command_parses() {
    let doc = skill_md();
    let mut n = 0;
    let mut in_code = false;
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        let l = line.trim();
        let l = l.split("  #").next().unwrap_or(l).trim();
        if in_code && l.starts_with("pvectl ") && !l.contains('<') && !l.contains('[') {
            let argv = shlex::split(l).unwrap_or_else(|| panic!("SKILL.md line is not shell words: {l}"));
            if let Err(e) = Cli::try_parse_from(&argv) {
                panic!("SKILL.md command {argv:?} does not parse: {e}");
            }
            n += 1;
        }
    }
    assert!(n >= 60, "SKILL.md names the read and action commands, found {n}");
}

#[test]
fn readme_set_up_command_parses() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
    let first = doc.lines().find(|l| l.starts_with("cargo run")).expect("README has a cargo run command");
    let after = first.split(" -- ").nth(1).expect("arguments after --");
    let argv: Vec<&str> = std::iter::once("pvectl").chain(after.split('#').next().unwrap_or("").split_whitespace()).collect();
    Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("README command {argv:?} does not parse: {e}"));
    assert!(doc.contains("scripts/test.sh"), "README names the test command");
}
