//! `pvectl api get|create|set|delete <path> [key=value ...]`: a raw read, or a raw write on
//! the engine (its tier and guest from the API route the path matches).

use serde_json::Value;

use super::Env;
use super::args::{ApiCmd, OutputFormat};
use super::output::{Table, print};
use super::report::act;
use crate::backend::{Method, Params};
use crate::error::{Error, Result};
use crate::workflow::RawWrite;

/// Runs an `api` command.
///
/// # Errors
/// Usage errors for a malformed path or parameter; read errors; the engine's refusals and
/// outcomes for writes.
pub(crate) async fn run(env: &Env<'_>, cmd: ApiCmd) -> Result<()> {
    let (method, path, params) = match cmd {
        ApiCmd::Get { path, params } => {
            let params = parse_params(&params)?;
            let v = env.b().raw(Method::Get, &path, &params).await?;
            // JSON is the natural shape of a raw call; a table would lose structure.
            return print(OutputFormat::Json, &v, |_: &Value| Table::default());
        }
        ApiCmd::Create { path, params } => (Method::Post, path, params),
        ApiCmd::Set { path, params } => (Method::Put, path, params),
        ApiCmd::Delete { path, params } => (Method::Delete, path, params),
    };
    let params = parse_params(&params)?;
    act(env, &RawWrite { method, path, params }, true, env.cfg.timeout).await
}

/// Parses `key=value` arguments into API parameters, in order.
///
/// # Errors
/// `Usage` for an argument without `=`.
pub fn parse_params(args: &[String]) -> Result<Params> {
    args.iter()
        .map(|a| {
            a.split_once('=')
                .map(|(k, v)| (k.trim_start_matches("--").to_owned(), v.to_owned()))
                .ok_or_else(|| Error::Usage(format!("parameter '{a}' is not key=value")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_parse_in_order_and_keep_hostile_values() {
        let p = parse_params(&["type=vm".into(), "description=a=b; $(x)".into()]).expect("valid");
        assert_eq!(p, vec![("type".into(), "vm".into()), ("description".into(), "a=b; $(x)".into())]);
        assert!(parse_params(&["novalue".into()]).is_err());
    }
}
