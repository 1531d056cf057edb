//! The `pvesh` face: `pvesh get|create|set|delete <path> [--output-format f] [--k v ...]`
//! over the core, printing what pvesh prints (FORMATS.md §5).
//!
//! The handler check comes before option parsing (pvesh exits 1 with
//! `No '<cmd>' handler defined for '<path>'`); other failures print the exception text and
//! exit 255. Every argument is data: values are passed to the core as given. A write that
//! starts a task runs it in the foreground (`foreground.rs`): worker output, then the UPID.

use serde_json::Value;

use super::core::Sim;
use super::error::SimError;
use super::foreground::{Foreground, Report, Step};
use super::pvesh_format::{json_pretty, text_table};
use crate::backend::api::{Method, Params};

/// What a face prints and returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Exit code.
    pub code: i32,
}

impl Output {
    /// A failure: `text` on stderr, exit `code`.
    pub fn fail(text: impl Into<String>, code: i32) -> Self {
        Self { stdout: String::new(), stderr: text.into(), code }
    }

    /// Success with `stdout`.
    pub fn ok(stdout: impl Into<String>) -> Self {
        Self { stdout: stdout.into(), stderr: String::new(), code: 0 }
    }

    /// A simulator error as the CLI prints it.
    pub fn error(e: &SimError) -> Self {
        Self::fail(e.cli_text(), e.cli_exit())
    }
}

/// Options pvesh itself takes (not passed to the API method); `true` = takes a value.
const FORMAT_OPTS: &[(&str, bool)] =
    &[("output-format", true), ("human-readable", true), ("noborder", false), ("noheader", false), ("quiet", false), ("noproxy", false)];

const USAGE: &str = "USAGE: pvesh <COMMAND> [ARGS] [OPTIONS]\n";

/// Runs `pvesh <args>` on `sim` to the end, sleeping while a foreground task runs.
#[cfg(test)]
pub(crate) fn run(sim: &mut Sim, args: &[String]) -> Output {
    let step = start(sim, args);
    super::foreground::run_to_end(sim, step)
}

/// Starts `pvesh <args>` on `sim`: the output, or the task to wait for.
pub(crate) fn start(sim: &mut Sim, args: &[String]) -> Step {
    Step::Done(match call(sim, args) {
        Ok(step) => return step,
        Err(out) => out,
    })
}

/// `pvesh <args>`; `Err` is an output printed without waiting (usage and call errors).
fn call(sim: &mut Sim, args: &[String]) -> Result<Step, Output> {
    sim.set_cli();
    let Some(cmd) = args.first() else {
        return Err(Output::fail(format!("ERROR: no command specified\n{USAGE}"), 255));
    };
    let method = match cmd.as_str() {
        "get" | "create" | "set" | "delete" => Method::parse(cmd).expect("the four pvesh verbs parse"),
        _ => return Err(Output::fail(format!("ERROR: unknown command 'pvesh {cmd}'\n{USAGE}"), 255)),
    };
    let Some(path) = args.get(1) else {
        return Err(Output::fail(format!("400 not enough arguments\npvesh {cmd} <api_path> [OPTIONS] [FORMAT_OPTIONS]\n"), 255));
    };
    if !sim.has_handler(method, path) {
        return Err(Output::error(&SimError::no_handler(method, path)));
    }
    let mut params = Params::new();
    let mut format = "text".to_owned();
    let (mut noborder, mut noheader, mut quiet) = (false, false, false);
    let mut rest = args[2..].iter().peekable();
    while let Some(arg) = rest.next() {
        let Some(opt) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')).filter(|o| !o.is_empty()) else {
            return Err(Output::fail(format!("400 too many arguments\npvesh {cmd} <api_path> [OPTIONS] [FORMAT_OPTIONS]\n"), 255));
        };
        let (name, inline) = match opt.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (opt.to_owned(), None),
        };
        let takes_value = FORMAT_OPTS.iter().find(|(n, _)| *n == name).is_none_or(|(_, v)| *v);
        let value = match inline {
            Some(v) => v,
            None if takes_value => rest.next().cloned().unwrap_or_else(|| "1".to_owned()),
            None => rest.next_if(|v| matches!(v.as_str(), "0" | "1")).cloned().unwrap_or_else(|| "1".to_owned()),
        };
        match name.as_str() {
            "output-format" => format = value,
            "noborder" => noborder = value != "0",
            "noheader" => noheader = value != "0",
            "quiet" => quiet = value != "0",
            "human-readable" | "noproxy" => {}
            _ => params.push((name, value)),
        }
    }
    if !["text", "json", "json-pretty"].contains(&format.as_str()) {
        let msg = if format == "yaml" {
            "output-format: 'yaml' is not simulated by pve-sim".to_owned()
        } else {
            format!("output-format: value '{format}' does not have a value in the enumeration 'text, json, json-pretty, yaml'")
        };
        return Err(Output::fail(format!("400 Parameter verification failed.\n{msg}\n"), 255));
    }
    let v = sim.handle(method, path, &params).map_err(|e| Output::error(&e))?;
    if let Some(upid) = v.as_str().filter(|u| method != Method::Get && sim.state().task(u).is_some_and(|t| t.pending.is_some())) {
        return Ok(Step::Wait(Foreground { upid: upid.to_owned(), report: Report::Pvesh { format, quiet } }));
    }
    Ok(Step::Done(if quiet { Output::ok("") } else { Output::ok(render(&v, &format, noborder, noheader)) }))
}

/// Prints a result in pvesh's output format; `null` prints nothing.
pub(crate) fn render(v: &Value, format: &str, noborder: bool, noheader: bool) -> String {
    if v.is_null() {
        return String::new();
    }
    match format {
        "json" => format!("{}\n", serde_json::to_string(v).expect("JSON values serialise")),
        "json-pretty" => format!("{}\n", json_pretty(v)),
        _ => text_table(v, noborder, noheader),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sim::demo::demo_state;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn json_is_one_sorted_line() {
        let mut sim = Sim::new(demo_state());
        let out = run(&mut sim, &argv(&["get", "/version", "--output-format", "json"]));
        assert_eq!(out.code, 0);
        assert_eq!(out.stdout, "{\"release\":\"9.1\",\"repoid\":\"5ac30304265fbd8e\",\"version\":\"9.1.4\"}\n");
    }

    #[test]
    fn errors_and_exit_codes() {
        let mut sim = Sim::new(demo_state());
        let out = run(&mut sim, &argv(&["get", "/nodes/pve1/qemu/999/config", "--output-format", "json"]));
        assert_eq!((out.code, out.stderr.as_str()), (255, "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist\n"));
        let out = run(&mut sim, &argv(&["get", "/no/such/path"]));
        assert_eq!((out.code, out.stderr.as_str()), (1, "No 'get' handler defined for '/no/such/path'\n"));
        let out = run(&mut sim, &argv(&["frobnicate"]));
        assert_eq!(out.code, 255);
        assert!(out.stderr.starts_with("ERROR: unknown command 'pvesh frobnicate'\nUSAGE: "));
        let out = run(&mut sim, &argv(&["get", "/cluster/resources", "--type=vm", "--output-format=json"]));
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
}
