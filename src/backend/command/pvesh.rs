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
use crate::backend::api::{ApiTransport, Method, Params, check_params, check_path};
use crate::error::{Error, Result};

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
    // Otherwise try each line start from the end: the JSON may span several lines (old
    // pretty output) but starts at the beginning of a line. Old pvesh printed a bare UPID
    // string without quotes, which is taken as a string.
    let starts: Vec<usize> = std::iter::once(0).chain(trimmed.match_indices('\n').map(|(i, _)| i + 1)).collect();
    for &s in starts.iter().rev() {
        let tail = &trimmed[s..];
        if let Ok(v) = serde_json::from_str::<Value>(tail) {
            return Ok(v);
        }
        if !tail.contains('\n') && tail.starts_with("UPID:") && tail.parse::<crate::model::Upid>().is_ok() {
            return Ok(Value::String(tail.to_owned()));
        }
    }
    Err(Error::parse("pvesh output", format!("no JSON value at the end of: {}", tail_excerpt(trimmed))))
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

    async fn call(&self, method: Method, path: &str, params: &Params) -> Result<Value> {
        check_path(path)?;
        check_params(params)?;
        let out = self.runner.run("pvesh", &Self::argv(method, path, params)).await?;
        if out.status != 0 {
            return Err(classify_cli_error("pvesh", out.status, &out.stderr_text()));
        }
        last_json_value(&String::from_utf8_lossy(&out.stdout))
    }

    async fn close(&self) -> Result<()> {
        self.runner.close().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn argv_keeps_each_value_one_argument() {
        let a = PveshTransport::argv(Method::Post, "/nodes/pve/qemu/100/snapshot", &vec![("description".into(), "a; $(x) \"q\"".into())]);
        assert_eq!(a, ["create", "/nodes/pve/qemu/100/snapshot", "--output-format", "json", "--description", "a; $(x) \"q\""]);
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

    #[test]
    fn empty_is_null_and_garbage_is_parse_error() {
        assert_eq!(last_json_value("\n").expect("null"), Value::Null);
        assert!(matches!(last_json_value("not json"), Err(Error::Parse { .. })));
    }
}
