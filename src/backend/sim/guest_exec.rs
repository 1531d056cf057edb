//! What runs inside a simulated guest: a tiny deterministic shell for the qemu agent's
//! `exec` and for `pct exec`, the record of every argv asked for, and files in guests.
//!
//! The shell knows `echo ARGS...`, `true`, `false`, `hostname`, `sleep N` and `sh -c
//! SCRIPT` (also `bash -c`) where SCRIPT is `;`-separated commands of that set plus `exit
//! N`; a program path is taken by its file name (`/bin/echo`). Anything else exits 127 with
//! `sh: 1: <prog>: not found` on stderr (dash's text; a simplification: without a shell,
//! qemu-ga and lxc-attach report a missing program differently). Every argv is appended to
//! [`SimState::agent_exec_log`](super::state::SimState) as given, one entry per argument,
//! so tests can assert that arguments arrived separately and unquoted.

use serde::{Deserialize, Serialize};

/// One command a guest was asked to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecRecord {
    /// The guest.
    pub vmid: u32,
    /// The argv, one entry per argument, exactly as received.
    pub argv: Vec<String>,
    /// `input-data` (agent exec), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
}

/// A process the qemu guest agent started (`guest-exec`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentExec {
    /// The guest.
    pub vmid: u32,
    /// The pid the agent returned.
    pub pid: u64,
    /// When it exits, milliseconds since the epoch; `None` = never (fault `agent_exec_hang`).
    pub end_ms: Option<u64>,
    /// Exit code.
    pub exitcode: i32,
    /// Standard output.
    pub out: String,
    /// Standard error.
    pub err: String,
}

/// A file inside a guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestFile {
    /// The guest.
    pub vmid: u32,
    /// Absolute path inside the guest.
    pub path: String,
    /// Content (bytes as stored; text in practice).
    pub content: String,
}

/// What a command did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub out: String,
    /// Standard error.
    pub err: String,
    /// How long it ran, seconds (`sleep`).
    pub seconds: u64,
}

/// Runs `argv` in a guest whose host name is `hostname`.
pub(crate) fn run(argv: &[String], hostname: &str) -> Outcome {
    let mut o = Outcome::default();
    let Some(prog) = argv.first() else { return o };
    let name = prog.rsplit('/').next().unwrap_or(prog);
    if matches!(name, "sh" | "bash" | "dash") && argv.get(1).map(String::as_str) == Some("-c") {
        let script = argv.get(2).map_or("", String::as_str);
        for part in script.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let words: Vec<String> = part.split_whitespace().map(str::to_owned).collect();
            if words[0] == "exit" {
                o.code = words.get(1).and_then(|n| n.parse().ok()).unwrap_or(0);
                return o;
            }
            let step = run_one(&words, hostname);
            o.out.push_str(&step.out);
            o.err.push_str(&step.err);
            o.seconds += step.seconds;
            o.code = step.code;
        }
        return o;
    }
    run_one(argv, hostname)
}

fn run_one(argv: &[String], hostname: &str) -> Outcome {
    let prog = argv[0].rsplit('/').next().unwrap_or(&argv[0]);
    let mut o = Outcome::default();
    match prog {
        "echo" => o.out = format!("{}\n", argv[1..].join(" ")),
        "true" => {}
        "false" => o.code = 1,
        "hostname" => o.out = format!("{hostname}\n"),
        "sleep" => o.seconds = argv.get(1).and_then(|n| n.parse().ok()).unwrap_or(0),
        _ => {
            o.code = 127;
            o.err = format!("sh: 1: {}: not found\n", argv[0]);
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_small_shell() {
        assert_eq!(run(&argv(&["echo", "a b", "c"]), "h").out, "a b c\n");
        assert_eq!(run(&argv(&["/bin/false"]), "h").code, 1);
        assert_eq!(run(&argv(&["hostname"]), "web01").out, "web01\n");
        let o = run(&argv(&["sh", "-c", "echo one; echo two  three; exit 3; echo never"]), "h");
        assert_eq!((o.code, o.out.as_str()), (3, "one\ntwo three\n"));
        let o = run(&argv(&["frob", "x"]), "h");
        assert_eq!((o.code, o.err.as_str()), (127, "sh: 1: frob: not found\n"));
        assert_eq!(run(&argv(&["sleep", "5"]), "h").seconds, 5);
    }
}
