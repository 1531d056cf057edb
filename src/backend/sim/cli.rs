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

const USAGE: &str = "usage: pve-sim <pvesh|qm|pct|vzdump|qmrestore|ha-manager|hostname> [ARGS...]\n\
       pve-sim init <state.json>\n\
       pve-sim generate --guests N <state.json>\n\
       pve-sim resources --guests N\n\
       pve-sim serve --listen ADDR:PORT [--tls] [--state FILE]\n\
       pve-sim sleep SECONDS\n\
   or invoke through a link named pvesh, qm, pct, vzdump, qmrestore, ha-manager or hostname\n";

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
    if let Some(log) = &env.log_path {
        if let Err(e) = append_log(log, &logged) {
            return Output::fail(format!("pve-sim: {e}\n"), 1);
        }
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
            _ => Output::fail(format!("pve-sim init: expected one file name\n{USAGE}"), 2),
        },
        "generate" => match guests_arg(rest) {
            Ok((n, [file])) => write_state(file, &generated_state(n)),
            Ok(_) => Output::fail(format!("pve-sim generate: expected one file name\n{USAGE}"), 2),
            Err(e) => Output::fail(e, 2),
        },
        "resources" => match guests_arg(rest) {
            Ok((n, [])) => resources(n),
            Ok(_) => Output::fail(format!("pve-sim resources: unexpected arguments\n{USAGE}"), 2),
            Err(e) => Output::fail(e, 2),
        },
        "serve" => super::serve::run_command(rest, env),
        "sleep" => sleep_command(rest),
        "" | "help" | "--help" | "-h" => {
            Output { stdout: USAGE.to_owned(), stderr: String::new(), code: i32::from(command.is_empty()) * 2 }
        }
        other => Output::fail(format!("pve-sim: unknown tool '{other}'\n{USAGE}"), 2),
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
        _ => Output::fail(format!("pve-sim sleep: expected SECONDS\n{USAGE}"), 2),
    }
}

/// Parses a leading `--guests N` (or `--guests=N`), returning N and the remaining args.
fn guests_arg(args: &[String]) -> Result<(usize, &[String]), String> {
    let (value, rest) = match args {
        [flag, rest @ ..] if flag.starts_with("--guests=") => (flag["--guests=".len()..].to_owned(), rest),
        [flag, v, rest @ ..] if flag == "--guests" => (v.clone(), rest),
        _ => return Err(format!("pve-sim: --guests N is required\n{USAGE}")),
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
