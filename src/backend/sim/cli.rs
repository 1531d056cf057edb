//! The `pve-sim` executable: dispatch by `argv[0]` (`pvesh`, `qm`, `pct`, `vzdump`,
//! `qmrestore`, `hostname`) or
//! `pve-sim <tool> ...`, plus `pve-sim init <file>`, `pve-sim generate --guests N <file>`,
//! `pve-sim resources --guests N`, `pve-sim serve` (the REST face, `serve/`) and
//! `pve-sim sleep SECONDS` (the child of a hanging tool, `hang.rs`).
//!
//! Each tool invocation sleeps `PVE_SIM_LATENCY_MS`, runs under the state file's lock
//! (`statefile.rs`) and every invocation appends its argv (with `argv[0]` reduced to
//! the tool name) as one JSON line to `PVE_SIM_LOG`. An action's task runs in the
//! foreground: the process sleeps until its end time without the lock, then finalises it.

use std::io::Write as _;
use std::path::Path;

use super::core::Sim;
use super::demo::{demo_state, generated_state};
use super::foreground::{Step, run_to_end, sleep_until};
use super::hang;
use super::pvesh_face::{self, Output};
use super::statefile::{SimEnv, append_log, save_state, with_state};
use super::worker::now_ms;
use super::{backup_tools, tools};
use crate::backend::api::{Method, Params};
use crate::model::GuestKind;

/// `pve-sim help`: every verb, the state file and its faults, the demo tokens, and how to
/// put the tools on `PATH` for `pvectl -t local` and `ssh://`. Kept in step with `run`.
const HELP: &str = "pve-sim: a simulated Proxmox VE cluster that speaks PVE's own tools and REST API
(simulated data, not a real cluster: nodes pve1-pve3, qemu and lxc guests, storages, snapshots,
backups, tasks, HA).

usage: pve-sim <pvesh|qm|pct|vzdump|qmrestore|ha-manager|hostname> [ARGS...]
       pve-sim init <state.json>
       pve-sim generate --guests N <state.json>
       pve-sim resources --guests N
       pve-sim serve --listen ADDR:PORT [--tls] [--state FILE]
       pve-sim sleep SECONDS
   or invoke through a link named pvesh, qm, pct, vzdump, qmrestore, ha-manager or hostname

Verbs:
  pvesh get|create|set|delete PATH [--key value ...] [--output-format json|json-pretty|text]
                       the API path for path, as pvesh prints it (a task's log before its UPID)
  qm    list|status|config|pending|listsnapshot|start|stop|shutdown|reboot|reset|suspend|resume|
        snapshot|rollback|delsnapshot|clone|template|create|destroy|set|unlock|migrate|
        disk resize|disk move|guest cmd|guest exec|guest exec-status ...   (qemu guests)
  pct   the same for lxc guests, plus exec, push, pull, resize, move-volume, restore
  vzdump VMID... [OPTIONS]          a backup job (one task)
  qmrestore ARCHIVE VMID [OPTIONS]  restore a qemu backup
  ha-manager status|migrate SID NODE
  hostname             the node the tools run on (PVE_SIM_NODE, default pve1)
  init FILE            write the demo cluster's state to FILE
  generate --guests N FILE   write a generated cluster of N guests (benchmarks)
  resources --guests N       print /cluster/resources of a generated cluster, one JSON line
  serve                the REST API on ADDR:PORT (see pve-sim serve --help)
  sleep SECONDS        internal: the child a hanging tool starts
  help, --help, -h     this text

Environment:
  PVE_SIM_STATE=FILE   the state (JSON), file-locked for every call and created from the demo
                       on first use; without it each call starts from the demo and keeps nothing.
                       pvectl -t sim uses the same file when PVE_SIM_STATE is set, else its own
                       ~/.local/state/pvectl/sim.json ($XDG_STATE_HOME/pvectl/sim.json): point
                       PVE_SIM_STATE there to share one cluster between the tools and -t sim.
  PVE_SIM_LOG=FILE     append every invocation's argv as one JSON array line
  PVE_SIM_LATENCY_MS=N sleep N ms per tool call (else the state's faults.latency_ms)
  PVE_SIM_NODE=NODE    the node qm, pct and hostname run on (default: the first node)

Faults live in the state file (`faults`: tasks that fail, warn or run long, tool hangs, denied
privileges, agent down, latency_ms; a guest's `lock`; a node's `online`); write them with
`pvectl sim fault ...` (pvectl sim fault --help), start over with `pvectl sim reset` or
`pve-sim init FILE`.

Demo API tokens (for serve; simulated secrets, never use them elsewhere):
  root@pam!pvectl     00000000-5eed-4000-8000-000000000001   every privilege
  auditor@pve!ro      00000000-5eed-4000-8000-000000000002   PVEAuditor on /
  auditor@pve!empty   00000000-5eed-4000-8000-000000000003   no ACL (sees empty lists)

The tools on PATH, for pvectl -t local (and -t ssh:// with the directory first on the
remote session's PATH):
  mkdir -p ~/pve-sim/bin && for t in pvesh qm pct vzdump qmrestore ha-manager hostname; do
    ln -sf \"$(command -v pve-sim)\" ~/pve-sim/bin/$t; done
  export PATH=~/pve-sim/bin:$PATH PVE_SIM_STATE=~/pve-sim/state.json
  pvectl -t local guest list
";

/// The usage lines, printed after a usage error.
const SYNOPSIS: &str = "usage: pve-sim <pvesh|qm|pct|vzdump|qmrestore|ha-manager|hostname> [ARGS...]
       pve-sim init <state.json>
       pve-sim generate --guests N <state.json>
       pve-sim resources --guests N
       pve-sim serve --listen ADDR:PORT [--tls] [--state FILE]
       pve-sim sleep SECONDS
   or invoke through a link named pvesh, qm, pct, vzdump, qmrestore, ha-manager or hostname
see pve-sim --help
";

/// Runs the process: reads argv and the environment, prints, returns the exit code.
pub fn main_from_env() -> i32 {
    let argv: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    let out = run(&argv, &SimEnv::from_env());
    // A closed pipe is not an error worth reporting (STYLE.md 15).
    let _ = std::io::stdout().lock().write_all(out.stdout.as_bytes());
    let _ = std::io::stderr().lock().write_all(out.stderr.as_bytes());
    out.code
}

/// The tool an `argv[0]` names: its file name without directories.
fn tool_name(argv0: &str) -> &str {
    Path::new(argv0).file_name().and_then(|n| n.to_str()).unwrap_or(argv0)
}

/// Runs one invocation with `argv` (`argv[0]` included) in `env`.
pub fn run(argv: &[String], env: &SimEnv) -> Output {
    let argv0 = tool_name(argv.first().map_or("pve-sim", String::as_str));
    let (command, rest) = if matches!(argv0, "pvesh" | "qm" | "pct" | "hostname" | "vzdump" | "qmrestore" | "ha-manager") {
        (argv0.to_owned(), argv.get(1..).unwrap_or_default())
    } else {
        (argv.get(1).cloned().unwrap_or_default(), argv.get(2..).unwrap_or_default())
    };
    let logged: Vec<String> = if matches!(command.as_str(), "pvesh" | "qm" | "pct" | "hostname" | "vzdump" | "qmrestore" | "ha-manager") {
        std::iter::once(command.clone()).chain(rest.iter().cloned()).collect()
    } else {
        std::iter::once("pve-sim".to_owned()).chain(argv.iter().skip(1).cloned()).collect()
    };
    if let Some(log) = &env.log_path
        && let Err(e) = append_log(log, &logged)
    {
        return Output::fail(format!("pve-sim: {e}\n"), 1);
    }
    match command.as_str() {
        "pvesh" | "qm" | "pct" | "hostname" | "vzdump" | "qmrestore" | "ha-manager" => {
            if let Some(ms) = env.latency_ms {
                std::thread::sleep(std::time::Duration::from_millis(ms));
            }
            run_tool(env, &command, rest)
        }
        "init" => match rest {
            [file] => write_state(file, &demo_state()),
            _ => Output::fail(format!("pve-sim init: expected one file name\n{SYNOPSIS}"), 2),
        },
        "generate" => match guests_arg(rest) {
            Ok((n, [file])) => write_state(file, &generated_state(n)),
            Ok(_) => Output::fail(format!("pve-sim generate: expected one file name\n{SYNOPSIS}"), 2),
            Err(e) => Output::fail(e, 2),
        },
        "resources" => match guests_arg(rest) {
            Ok((n, [])) => resources(n),
            Ok(_) => Output::fail(format!("pve-sim resources: unexpected arguments\n{SYNOPSIS}"), 2),
            Err(e) => Output::fail(e, 2),
        },
        "serve" => super::serve::run_command(rest, env),
        "sleep" => sleep_command(rest),
        "" | "help" | "--help" | "-h" => {
            if command.is_empty() {
                Output::fail(SYNOPSIS, 2)
            } else {
                Output::ok(HELP)
            }
        }
        other => Output::fail(format!("pve-sim: unknown tool '{other}'\n{SYNOPSIS}"), 2),
    }
}

/// One tool invocation: the face runs under the state-file lock; a task it started in the
/// foreground is waited for without the lock (so other invocations proceed meanwhile), then
/// finalised and printed under the lock again. A tool hang (`faults.hang`) is counted under
/// the lock before the face runs, and slept out without it.
fn run_tool(env: &SimEnv, command: &str, rest: &[String]) -> Output {
    let face = |sim: &mut Sim| match command {
        "pvesh" => pvesh_face::start(sim, rest),
        "qm" => tools::start(sim, GuestKind::Qemu, rest),
        "pct" => tools::start(sim, GuestKind::Lxc, rest),
        "vzdump" => backup_tools::vzdump(sim, rest),
        "qmrestore" => backup_tools::qmrestore(sim, rest),
        "ha-manager" => Step::Done(super::ha::tool(sim, rest)),
        _ => Step::Done(Output::ok(format!("{}\n", sim.local_node()))),
    };
    let fail = |e: String| Output::fail(format!("pve-sim: {e}\n"), 1);
    if env.state_path.is_none() {
        // The demo state lives in this process only (and has no faults): wait holding it.
        let mut sim = Sim::new(demo_state()).with_local_node(env.node.clone());
        let step = face(&mut sim);
        return run_to_end(&mut sim, step);
    }
    let first = |sim: &mut Sim| {
        // The state's slow calls, unless PVE_SIM_LATENCY_MS already slowed this one.
        let latency = sim.state().faults.latency_ms.filter(|_| env.latency_ms.is_none());
        match hang::tool_path(sim, command, rest).and_then(|path| hang::take(sim, &path)) {
            Some(h) => (latency, Err(h)),
            None => (latency, Ok(face(sim))),
        }
    };
    let first = with_state(env, first).map(|(latency, step)| {
        if let Some(ms) = latency {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        step
    });
    let step = match first {
        Ok(Ok(step)) => step,
        Ok(Err(h)) => {
            hang::hang(&h);
            match with_state(env, face) {
                Ok(step) => step,
                Err(e) => return fail(e),
            }
        }
        Err(e) => return fail(e),
    };
    let fg = match step {
        Step::Done(out) => return out,
        Step::Wait(fg) => fg,
    };
    loop {
        match with_state(env, |sim| fg.finish(sim).ok_or_else(|| fg.end_ms(sim))) {
            Ok(Ok(out)) => return out,
            // Looks again at least every `RECHECK_MS`: the end time in the state file may be
            // moved (a test ending a hanging task), and the tool then ends with it.
            Ok(Err(Some(end))) => sleep_until(end.min(now_ms() + RECHECK_MS)),
            Ok(Err(None)) => return fail(format!("task {} does not end", fg.upid)),
            Err(e) => return fail(e),
        }
    }
}

/// How long a tool waiting for its foreground task sleeps before reading the state again, ms.
const RECHECK_MS: u64 = 200;

/// `pve-sim sleep SECONDS`: the child a tool hang with `child` starts (`hang.rs`).
fn sleep_command(args: &[String]) -> Output {
    match args {
        [s] => match s.parse() {
            Ok(seconds) => {
                std::thread::sleep(std::time::Duration::from_secs(seconds));
                Output::ok("")
            }
            Err(_) => Output::fail(format!("pve-sim sleep: '{s}' is not a number of seconds\n"), 2),
        },
        _ => Output::fail(format!("pve-sim sleep: expected SECONDS\n{SYNOPSIS}"), 2),
    }
}

/// Parses a leading `--guests N` (or `--guests=N`), returning N and the remaining args.
fn guests_arg(args: &[String]) -> Result<(usize, &[String]), String> {
    let (value, rest) = match args {
        [flag, rest @ ..] if flag.starts_with("--guests=") => (flag["--guests=".len()..].to_owned(), rest),
        [flag, v, rest @ ..] if flag == "--guests" => (v.clone(), rest),
        _ => return Err(format!("pve-sim: --guests N is required\n{SYNOPSIS}")),
    };
    let n = value.parse().map_err(|_| format!("pve-sim: --guests needs a number, got '{value}'\n"))?;
    Ok((n, rest))
}

fn write_state(file: &str, state: &super::state::SimState) -> Output {
    match save_state(Path::new(file), state) {
        Ok(()) => Output::ok(""),
        Err(e) => Output::fail(format!("pve-sim: {e}\n"), 1),
    }
}

/// `pve-sim resources --guests N`: `/cluster/resources` of a generated cluster as one JSON line.
fn resources(guests: usize) -> Output {
    let mut sim = Sim::new(generated_state(guests));
    match sim.handle(Method::Get, "/cluster/resources", &Params::new()) {
        Ok(v) => Output::ok(format!("{}\n", serde_json::to_string(&v).expect("JSON values serialise"))),
        Err(e) => Output::error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn help_documents_every_verb_the_demo_tokens_and_the_path_set_up() {
        let env = SimEnv::default();
        let help = run(&argv(&["pve-sim", "--help"]), &env);
        assert_eq!(help.code, 0);
        for verb in
            ["pvesh", "qm", "pct", "vzdump", "qmrestore", "ha-manager", "hostname", "init", "generate", "resources", "serve", "sleep"]
        {
            assert!(help.stdout.contains(&format!("\n  {verb} ")), "pve-sim --help documents `{verb}` as a verb line");
        }
        let serve = run(&argv(&["pve-sim", "serve", "--help"]), &env);
        assert_eq!(serve.code, 0, "{}", serve.stderr);
        for (id, secret) in crate::backend::sim::DEMO_TOKENS {
            assert!(help.stdout.contains(id) && help.stdout.contains(secret), "pve-sim --help names {id}");
            assert!(serve.stdout.contains(id) && serve.stdout.contains(secret), "pve-sim serve --help names {id}");
        }
        assert!(help.stdout.contains("ln -sf") && help.stdout.contains("pvectl -t local"), "how to put the tools on PATH");
        for flag in ["--listen", "--tls", "--state"] {
            assert!(serve.stdout.contains(&format!("\n  {flag} ")), "serve --help documents {flag}");
        }
        let bad = run(&argv(&["pve-sim"]), &env);
        assert_eq!((bad.code, bad.stderr.starts_with("usage: ")), (2, true), "no verb: the short usage, exit 2");
    }

    #[test]
    fn dispatches_by_argv0_and_subcommand() {
        let env = SimEnv::default();
        assert_eq!(run(&argv(&["/usr/bin/hostname"]), &env).stdout, "pve1\n");
        let env2 = SimEnv { node: Some("pve3".into()), ..SimEnv::default() };
        assert_eq!(run(&argv(&["pve-sim", "hostname"]), &env2).stdout, "pve3\n");
        let out = run(&argv(&["/opt/x/qm", "list"]), &env);
        assert!(out.stdout.starts_with("      VMID NAME "), "{}", out.stdout);
        assert_eq!(run(&argv(&["pve-sim", "bogus"]), &env).code, 2);
        let out = run(&argv(&["pve-sim", "resources", "--guests", "7"]), &env);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
        assert_eq!(v.as_array().map(|a| a.iter().filter(|i| i["type"] == "qemu" || i["type"] == "lxc").count()), Some(7));
    }
}
