//! `pvesh` as an [`ApiTransport`]: `pvesh <get|create|set|delete> <path> --output-format json
//! [--key value ...]`, run by a [`Runner`].
//!
//! The exit code is the verdict. stdout may carry task-log lines (foreground workers) or an
//! old `200 OK` before the JSON, so the last JSON value on stdout is the result; stderr is
//! diagnostics on success and the error text on failure (FORMATS.md §0.2, §5, §8).

use async_trait::async_trait;
use serde_json::Value;

use super::errors::classify_cli_error;
use super::runner::Runner;
use crate::backend::api::{ApiTransport, Foreground, Method, Params, check_params, check_path};
use crate::error::{Error, Result};
use crate::model::ExitStatus;

/// Runs `pvesh` on a runner.
#[derive(Debug)]
pub struct PveshTransport {
    runner: Runner,
}

impl PveshTransport {
    /// A transport over `runner`.
    pub fn new(runner: Runner) -> Self {
        Self { runner }
    }

    /// The argv after `pvesh` for one call: `<verb> <path> --output-format json --k v ...`.
    pub fn argv(method: Method, path: &str, params: &Params) -> Vec<String> {
        let mut args = Vec::with_capacity(4 + params.len() * 2);
        args.push(method.pvesh_verb().to_owned());
        args.push(path.to_owned());
        args.push("--output-format".to_owned());
        args.push("json".to_owned());
        for (k, v) in params {
            args.push(format!("--{k}"));
            args.push(v.clone());
        }
        args
    }
}

/// Extracts the result from pvesh's stdout: the last JSON value, after any task-log lines or
/// an old `200 OK`. Empty output is `null` (pvesh prints nothing for a `null` result).
///
/// Linear in the output's length: a foreground task can print a log of any size before the
/// JSON, so the value's start is found by one backward scan from the end (matching brackets,
/// skipping strings), then parsed once, instead of trying a parse from every line start.
///
/// # Errors
/// `Parse` when stdout holds text but no JSON value at the end.
pub fn last_json_value(stdout: &str) -> Result<Value> {
    let trimmed = stdout.trim_end();
    if trimmed.is_empty() {
        return Ok(Value::Null);
    }
    // Fast path: the whole output is one document (the common case for reads).
    if let Ok(v) = serde_json::from_str(trimmed) {
        return Ok(v);
    }
    // Otherwise the value ends the output and starts a line (old pvesh printed pretty JSON
    // over several lines); only whitespace may precede it on its line.
    if let Some(start) = last_value_start(trimmed.as_bytes()) {
        let line_start = trimmed[..start].rfind('\n').map_or(0, |i| i + 1);
        if trimmed[line_start..start].trim().is_empty()
            && let Ok(v) = serde_json::from_str::<Value>(&trimmed[start..])
        {
            return Ok(v);
        }
    }
    // Old pvesh printed a bare UPID string without quotes, which is taken as a string.
    let last_line = &trimmed[trimmed.rfind('\n').map_or(0, |i| i + 1)..];
    if last_line.starts_with("UPID:") && last_line.parse::<crate::model::Upid>().is_ok() {
        return Ok(Value::String(last_line.to_owned()));
    }
    Err(Error::parse("pvesh output", format!("no JSON value at the end of: {}", tail_excerpt(trimmed))))
}

/// The text of the JSON value that ends pvesh's stdout, cut out of `stdout` in place (no
/// copy): the whole output when it is one document, else the value [`last_json_value`] would
/// parse. Empty output is `null`.
///
/// # Errors
/// `Parse` when stdout holds no JSON value at its end.
pub fn last_json_text(mut stdout: String) -> Result<String> {
    let end = stdout.trim_end().len();
    stdout.truncate(end);
    if stdout.is_empty() {
        return Ok("null".to_owned());
    }
    let start = match last_value_start(stdout.as_bytes()) {
        Some(start) if stdout[..start].trim().is_empty() => 0,
        Some(start) if stdout[stdout[..start].rfind('\n').map_or(0, |i| i + 1)..start].trim().is_empty() => start,
        // Not an ending value (an old bare UPID line, garbage): the general path decides.
        _ => return last_json_value(&stdout).map(|v| v.to_string()),
    };
    stdout.drain(..start);
    Ok(stdout)
}

/// Where the JSON value that ends `s` starts, if `s` ends like one: for `]`/`}` the matching
/// opening bracket (brackets inside strings skipped), for `"` the string's opening quote, for
/// a number or literal the first byte after the preceding whitespace. One backward pass over
/// the value only; whether it really is JSON is for the parser to say. Works on bytes: the
/// ASCII bytes it looks for never occur inside a multi-byte UTF-8 character.
fn last_value_start(s: &[u8]) -> Option<usize> {
    // The opening quote of the string whose closing quote is at `close`: the previous quote
    // that is not escaped (preceded by an even number of backslashes).
    let opening_quote = |close: usize| -> Option<usize> {
        let mut i = close;
        while i > 0 {
            i -= 1;
            if s[i] == b'"' && s[..i].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 0 {
                return Some(i);
            }
        }
        None
    };
    let last = s.len().checked_sub(1)?;
    match s[last] {
        b'"' => opening_quote(last),
        b']' | b'}' => {
            let mut depth = 0usize;
            let mut i = last + 1;
            while i > 0 {
                i -= 1;
                match s[i] {
                    b']' | b'}' => depth += 1,
                    b'[' | b'{' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i);
                        }
                    }
                    b'"' => i = opening_quote(i)?,
                    _ => {}
                }
            }
            None
        }
        _ => Some(s.iter().rposition(u8::is_ascii_whitespace).map_or(0, |i| i + 1)),
    }
}

fn tail_excerpt(s: &str) -> String {
    let start = s.len().saturating_sub(200);
    let start = (start..s.len()).find(|i| s.is_char_boundary(*i)).unwrap_or(s.len());
    s[start..].to_owned()
}

#[async_trait]
impl ApiTransport for PveshTransport {
    fn describe(&self) -> String {
        format!("Pvesh({})", self.runner)
    }

    fn render(&self, method: Method, path: &str, params: &Params) -> String {
        let argv: Vec<String> = std::iter::once("pvesh".to_owned()).chain(Self::argv(method, path, params)).collect();
        super::render_argv(&argv)
    }

    async fn run_tool(&self, tool: &str, args: &[String]) -> Result<super::runner::CommandOutput> {
        self.runner.run(tool, args).await
    }

    async fn get_text(&self, path: &str, params: &Params) -> Result<Option<String>> {
        check_path(path)?;
        check_params(params)?;
        let out = self.runner.run("pvesh", &Self::argv(Method::Get, path, params)).await?;
        if out.status != 0 {
            return Err(classify_cli_error("pvesh", out.status, &out.stderr_text()));
        }
        let stdout = String::from_utf8(out.stdout).map_err(|e| Error::parse("pvesh output", e))?;
        Ok(Some(last_json_text(stdout)?))
    }

    async fn call(&self, method: Method, path: &str, params: &Params) -> Result<Value> {
        check_path(path)?;
        check_params(params)?;
        let out = self.runner.run("pvesh", &Self::argv(method, path, params)).await?;
        if out.status != 0 {
            return Err(classify_cli_error("pvesh", out.status, &out.stderr_text()));
        }
        last_json_value(&String::from_utf8_lossy(&out.stdout))
    }

    async fn write(&self, method: Method, path: &str, params: &Params) -> Result<(Value, Option<Foreground>)> {
        check_path(path)?;
        check_params(params)?;
        let out = self.runner.run("pvesh", &Self::argv(method, path, params)).await?;
        if out.status != 0 {
            return Err(classify_cli_error("pvesh", out.status, &out.stderr_text()));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let v = last_json_value(&stdout)?;
        let ended = v.as_str().is_some_and(|s| s.starts_with("UPID:")).then(|| foreground_end(&out.stderr_text())).flatten();
        Ok((v, ended.map(|exit| Foreground { exit, log: foreground_log(&stdout) })))
    }

    async fn close(&self) -> Result<()> {
        self.runner.close().await
    }
}

/// How a foreground worker ended, from pvesh's stderr (FORMATS.md §0.2): `TASK OK` prints
/// nothing, `TASK WARNINGS: n` prints `Task finished with n warning(s)!`. Anything else
/// (an error's text, or diagnostics such as a locale warning) is not taken as a verdict:
/// `None`, and the caller reads the task's status.
fn foreground_end(stderr: &str) -> Option<ExitStatus> {
    let lines: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    match lines.as_slice() {
        [] => Some(ExitStatus::Ok),
        [only] => only
            .strip_prefix("Task finished with ")
            .and_then(|r| r.strip_suffix(" warning(s)!"))
            .and_then(|n| n.parse().ok())
            .map(ExitStatus::Warnings),
        _ => None,
    }
}

/// The task-log lines pvesh printed before the result (the last line, the UPID).
fn foreground_log(stdout: &str) -> Vec<String> {
    let mut lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    lines.pop();
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::fmt::Write as _;

    #[test]
    fn argv_keeps_each_value_one_argument() {
        let a = PveshTransport::argv(Method::Post, "/nodes/pve/qemu/100/snapshot", &vec![("description".into(), "a; $(x) \"q\"".into())]);
        assert_eq!(a, ["create", "/nodes/pve/qemu/100/snapshot", "--output-format", "json", "--description", "a; $(x) \"q\""]);
    }

    #[test]
    fn a_foreground_end_is_read_only_from_what_pvesh_prints_for_it() {
        assert_eq!(foreground_end(""), Some(ExitStatus::Ok));
        assert_eq!(foreground_end("Task finished with 2 warning(s)!\n"), Some(ExitStatus::Warnings(2)));
        assert_eq!(foreground_end("VM 100 not running\n"), None, "a failure is confirmed by the task status");
        assert_eq!(foreground_end("perl: warning: Setting locale failed.\nTask finished with 1 warning(s)!\n"), None);
        assert_eq!(foreground_log("starting\nWARN: x\n\"UPID:pve:1:2:3:qmstart:100:root@pam:\"\n"), ["starting", "WARN: x"]);
    }

    #[test]
    fn takes_last_json_after_task_log() {
        let out = "generating cloud-init ISO\nstarting VM\n\"UPID:pve:000934AF:0D015579:68BF3A41:qmstart:100:root@pam:\"\n";
        assert_eq!(last_json_value(out).expect("json"), json!("UPID:pve:000934AF:0D015579:68BF3A41:qmstart:100:root@pam:"));
    }

    #[test]
    fn old_pvesh_pretty_json_after_200_ok() {
        let out = "200 OK\n[\n   {\n      \"vmid\" : 100\n   }\n]\n";
        assert_eq!(last_json_value(out).expect("json"), json!([{"vmid": 100}]));
    }

    #[test]
    fn old_pvesh_bare_upid() {
        let out = "UPID:pve:000934AF:0D015579:68BF3A41:qmstart:100:root@pam:";
        assert_eq!(last_json_value(out).expect("json"), json!(out));
    }

    /// About 200,000 lines of a foreground task's log, with the shapes that made a parse from
    /// every line start slow: runs of empty lines (the parser skips them as whitespace) and
    /// lines opening a bracket that the following lines keep open.
    fn huge_task_log() -> String {
        let mut log = String::with_capacity(8 << 20);
        for i in 0..150_000 {
            let _ = writeln!(log, "transferred {i} MiB of 150000 MiB ({}.00%)", i / 1500);
        }
        log.push_str(&"\n".repeat(25_000));
        for i in 0..25_000 {
            let _ = writeln!(log, "[{i},");
        }
        log.push_str("TASK OK\n");
        log
    }

    #[test]
    fn huge_task_log_before_the_json_is_read_in_one_pass() {
        let log = huge_task_log();
        assert!(log.lines().count() > 199_000);
        let upid = "UPID:pve:000934AF:0D015579:68BF3A41:qmstart:100:root@pam:";
        assert_eq!(last_json_value(&format!("{log}\"{upid}\"\n")).expect("json"), json!(upid));
        let pretty = format!("{log}200 OK\n[\n   {{\n      \"vmid\" : 100,\n      \"tags\" : \"a]{{\\\"\"\n   }}\n]\n");
        assert_eq!(last_json_value(&pretty).expect("json"), json!([{"vmid": 100, "tags": "a]{\""}]));
        assert_eq!(last_json_value(&format!("{log}{upid}")).expect("bare upid"), json!(upid));
        // No value at the end: every line start was once tried, each parse running to the
        // end of its run of blank lines or open brackets (quadratic; minutes in debug).
        let e = last_json_value(&format!("{log}interrupted\n")).expect_err("no JSON");
        assert!(e.to_string().starts_with("could not parse"), "{e}");
    }

    #[test]
    fn only_a_value_that_starts_its_line_counts() {
        assert_eq!(last_json_value("log\n  {\"a\": [1, \"]\"]}").expect("json"), json!({"a": [1, "]"]}));
        assert_eq!(last_json_value("log\n-1.5e3").expect("json"), json!(-1500.0));
        assert_eq!(last_json_value("log\n\"a\\\\\"").expect("json"), json!("a\\"));
        for bad in ["log\n1 2", "200 OK [1]", "log\nx\"a\"", "log\n]", "log\n\"open", "log\n{\"a\":1}}"] {
            assert!(matches!(last_json_value(bad), Err(Error::Parse { .. })), "{bad:?}");
        }
    }

    #[test]
    fn empty_is_null_and_garbage_is_parse_error() {
        assert_eq!(last_json_value("\n").expect("null"), Value::Null);
        assert!(matches!(last_json_value("not json"), Err(Error::Parse { .. })));
    }
}
