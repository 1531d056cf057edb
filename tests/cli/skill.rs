//! Every command SKILL.md and README.md name parses with the real argument parser.

use clap::Parser;
use pvectl::cli::Cli;

fn commands_in(doc: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut in_code = false;
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        let l = line.trim();
        let l = l.split("  #").next().unwrap_or(l).trim();
        if in_code && l.starts_with("pvectl ") && !l.contains('|') && !l.contains('[') && !l.contains('<') {
            out.push(words(l));
        }
    }
    out
}

/// Splits a command line into words, honouring double quotes (enough for the docs).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[test]
fn every_skill_command_parses() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/SKILL.md")).expect("SKILL.md");
    assert!(doc.starts_with("---\nname: pvectl\ndescription: "), "front matter with name and description");
    let cmds = commands_in(&doc);
    assert!(cmds.len() >= 28, "SKILL.md names the read and action commands, found {}", cmds.len());
    for c in cmds {
        if let Err(e) = Cli::try_parse_from(&c) {
            panic!("SKILL.md command {c:?} does not parse: {e}");
        }
    }
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
