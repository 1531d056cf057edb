//! `pvectl api get|create|set|delete <path> [key=value ...]`: a raw read, or a raw write on
//! the engine (its tier and guest from the API route the path matches); and `api usage|ls
//! <path>`: what PVE's API offers at a path, answered offline from the embedded API schema
//! (`backend/api_routes.json`, from pve-docs' `apidoc.js`), as `pvesh usage` and `pvesh ls` do.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal as _;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::Env;
use super::args::{ApiCmd, ColorChoice, GlobalArgs, OutputFormat};
use super::output::{Table, emit, print, print_error};
use super::report::act;
use crate::backend::routes::{self, Route, RouteMethod};
use crate::backend::{Method, Params};
use crate::error::{Error, Result};
use crate::exit_codes;
use crate::workflow::RawWrite;

/// pvesh's verbs in the order `pvesh usage` prints them, with their HTTP methods.
const VERBS: [(&str, &str); 4] = [("get", "GET"), ("set", "PUT"), ("create", "POST"), ("delete", "DELETE")];

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
        ApiCmd::Usage { .. } | ApiCmd::Ls { .. } => return Err(Error::Internal("api usage and api ls run without a target".into())),
    };
    let params = parse_params(&params)?;
    act(env, &RawWrite { method, path, params }, true, env.cfg.timeout).await
}

/// Runs `api usage` or `api ls`, which need no target; returns the exit code after printing
/// any error. `-v` (the global `--verbose`) asks for `pvesh usage -v`'s long form.
pub(crate) fn run_offline(g: &GlobalArgs, cmd: &ApiCmd) -> i32 {
    // As `Config::from_args` decides them, without needing a target.
    let output = g.output().unwrap_or(if std::io::stdout().is_terminal() { OutputFormat::Table } else { OutputFormat::Json });
    let color = match g.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let result = match cmd {
        ApiCmd::Usage { path, command } => usage(path, command.as_deref()).and_then(|u| match output {
            OutputFormat::Json => print(output, &u, |_| Table::default()),
            OutputFormat::Table => emit(&render_usage(&u, g.verbose > 0)),
        }),
        ApiCmd::Ls { path } => ls(path).and_then(|children| print(output, &children, ls_table)),
        _ => Err(Error::Internal("only api usage and api ls run without a target".into())),
    };
    match result {
        Ok(()) => exit_codes::OK,
        Err(e) => {
            print_error(output, &e, color);
            e.exit_code()
        }
    }
}

/// One method of an API path as `api usage` describes it (`-o json`: an array of these, in
/// pvesh's order get, set, create, delete). Source: the embedded API schema.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MethodUsage {
    /// pvesh's verb: `get`, `set`, `create` or `delete`.
    pub command: String,
    /// The HTTP method: `GET`, `PUT`, `POST` or `DELETE`.
    pub method: String,
    /// The path as asked.
    pub path: String,
    /// The schema's path template it matched (`/nodes/{node}/qemu/{vmid}/status/stop`).
    pub template: String,
    /// PVE's handler name (`vm_stop`).
    pub name: String,
    /// The method's description.
    pub description: Option<String>,
    /// The parameters, sorted by name, without the path's own variables (`node`, `vmid`).
    pub parameters: Vec<ParamUsage>,
    /// The schema's `permissions` object (`{"check": ["perm", "/vms/{vmid}", ["VM.PowerMgmt"]]}`,
    /// `{"user": "all"}`, a `description`), when the method has one.
    pub permissions: Option<Value>,
}

/// One parameter of an API method, as the schema gives it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ParamUsage {
    /// Name (`timeout`).
    pub name: String,
    /// JSON type: `string`, `integer`, `number`, `boolean`, `array`, `object`.
    #[serde(rename = "type")]
    pub kind: String,
    /// pvesh's type text (`<integer> (0 - N)`, `<a | b>`, a property string's keys).
    pub typetext: String,
    /// Whether it may be left out.
    pub optional: bool,
    /// PVE's default, when it has one.
    pub default: Option<Value>,
    /// The values allowed, for an enum.
    #[serde(rename = "enum")]
    pub values: Option<Vec<Value>>,
    /// Smallest number allowed.
    pub minimum: Option<f64>,
    /// Largest number allowed.
    pub maximum: Option<f64>,
    /// Longest string allowed, characters.
    #[serde(rename = "maxLength")]
    pub max_length: Option<u64>,
    /// A regular expression the value must match.
    pub pattern: Option<String>,
    /// PVE's format name (`pve-vmid`, `pve-node`, `pve-storage-id`).
    pub format: Option<String>,
    /// Options this one requires.
    pub requires: Option<Value>,
    /// Description.
    pub description: Option<String>,
}

impl ParamUsage {
    fn from_schema(name: &str, p: &Value) -> Self {
        let s = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_owned);
        let kind = s("type").unwrap_or_else(|| "string".into());
        Self {
            name: name.to_owned(),
            typetext: s("typetext").unwrap_or_else(|| format!("<{kind}>")),
            kind,
            optional: p.get("optional").is_some_and(|o| o.as_u64() == Some(1) || o.as_bool() == Some(true)),
            default: p.get("default").cloned(),
            values: p.get("enum").and_then(Value::as_array).cloned(),
            minimum: p.get("minimum").and_then(Value::as_f64),
            maximum: p.get("maximum").and_then(Value::as_f64),
            max_length: p.get("maxLength").and_then(Value::as_u64),
            pattern: s("pattern"),
            format: s("format"),
            requires: p.get("requires").cloned(),
            description: s("description"),
        }
    }
}

/// The route a path names, for `api usage` and `api ls`.
///
/// # Errors
/// `Usage` (exit 2) for a path failing [`routes::check_raw_path`]; `NotFound` (exit 5) when
/// no route of the schema matches it, quoting a short excerpt of the path.
fn route_of(path: &str) -> Result<routes::Matched> {
    routes::check_raw_path(path)?;
    routes::match_path(path)
        .map_err(|_| Error::NotFound(format!("no such resource {} in PVE's API schema", crate::model::excerpt(path, 80))))
}

/// What `pvesh usage <path>` answers, from the embedded schema: the path's methods in pvesh's
/// order (get, set, create, delete), or only `command`'s.
///
/// # Errors
/// As [`route_of`]; `NotFound` when the path has no method for `command`.
pub fn usage(path: &str, command: Option<&str>) -> Result<Vec<MethodUsage>> {
    let m = route_of(path)?;
    let out: Vec<MethodUsage> = VERBS
        .iter()
        .filter(|(verb, _)| command.is_none_or(|c| c == *verb))
        .filter_map(|(verb, http)| m.route.methods.get(*http).map(|rm| method_usage(path, m.route, verb, http, rm, &m.vars)))
        .collect();
    if out.is_empty() {
        let verb = command.unwrap_or("any");
        return Err(Error::NotFound(format!("no '{verb}' handler for {} in PVE's API schema", crate::model::excerpt(path, 80))));
    }
    Ok(out)
}

fn method_usage(path: &str, route: &Route, verb: &str, http: &str, rm: &RouteMethod, vars: &BTreeMap<String, String>) -> MethodUsage {
    MethodUsage {
        command: verb.to_owned(),
        method: http.to_owned(),
        path: path.to_owned(),
        template: route.path.clone(),
        name: rm.name.clone(),
        description: rm.description.clone(),
        // As pvesh: the path's variables are fixed by the path, not options.
        parameters: rm.params.iter().filter(|(k, _)| !vars.contains_key(*k)).map(|(k, p)| ParamUsage::from_schema(k, p)).collect(),
        permissions: rm.permissions.clone(),
    }
}

/// The text of `pvesh usage`: one `USAGE: pvesh <verb> <path> <required options> [OPTIONS]`
/// line per method; `verbose` adds, as `pvesh usage -v`, the description and every option
/// (`-name  typetext   (default=x)` and its description), and the required privileges.
/// Parameters numbered from 0 (`net0`, `net1`, ...) show once as `net[n]`, as pvesh shows them.
pub fn render_usage(methods: &[MethodUsage], verbose: bool) -> String {
    let mut out = String::new();
    for m in methods {
        let mut args = String::new();
        let mut opts = String::new();
        let mut any_option = false;
        let names: Vec<&str> = m.parameters.iter().map(|p| p.name.as_str()).collect();
        let mut indexed: Vec<String> = Vec::new();
        for p in &m.parameters {
            let Some(base) = display_name(&p.name, &names, &mut indexed) else { continue };
            any_option = true;
            if verbose {
                opts.push_str(&option_text(&base, p));
            }
            if !p.optional {
                if !args.is_empty() {
                    args.push(' ');
                }
                let _ = write!(args, "--{base} <{}>", p.kind);
            }
        }
        // pvesh's own spacing: "<prefix> <args>", then " [OPTIONS]" when there are options.
        let mut line = format!("USAGE: pvesh {} {} {args}", m.command, m.path);
        if any_option {
            line.push_str(" [OPTIONS]");
        }
        out.push_str(line.trim_end());
        out.push('\n');
        if verbose {
            if let Some(d) = m.description.as_deref().filter(|d| !d.is_empty()) {
                out.push('\n');
                out.push_str(&wrap(d, "  ", "  "));
                out.push('\n');
            }
            out.push_str(&opts);
            out.push_str(&permissions_text(m.permissions.as_ref()));
        }
    }
    out
}

/// The name an option is shown under, or `None` when an earlier `name[n]` covers it.
fn display_name(name: &str, all: &[&str], indexed: &mut Vec<String>) -> Option<String> {
    let digits = name.trim_start_matches(|c: char| c.is_ascii_lowercase());
    let base = &name[..name.len() - digits.len()];
    if base.is_empty() || digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Some(name.to_owned());
    }
    if indexed.iter().any(|i| i == base) {
        return None;
    }
    if digits == "0" && all.contains(&format!("{base}1").as_str()) {
        indexed.push(base.to_owned());
        return Some(format!("{base}[n]"));
    }
    Some(name.to_owned())
}

/// One option of the long form: `  -name      typetext   (default=x)`, then its description
/// indented by 13, then the options it requires.
fn option_text(base: &str, p: &ParamUsage) -> String {
    const INDENT: &str = "             ";
    let default = p.default.as_ref().map(|d| format!("   (default={})", d.as_str().map_or_else(|| d.to_string(), str::to_owned)));
    let head = format!("  {:<10} {}{}", format!("-{base}"), p.typetext, default.unwrap_or_default());
    let mut s = wrap(&head, "", INDENT);
    s.push('\n');
    s.push_str(&wrap(p.description.as_deref().unwrap_or("no description available"), INDENT, INDENT));
    s.push_str("\n\n");
    if let Some(req) = &p.requires {
        let list = req.as_array().map_or_else(
            || req.as_str().map_or_else(|| req.to_string(), str::to_owned),
            |a| a.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect::<Vec<_>>().join(", "),
        );
        s.push_str(&wrap(&format!("Requires option(s): {list}"), INDENT, INDENT));
        s.push_str("\n\n");
    }
    s
}

/// The privileges a method requires, as PVE's API viewer states them: the `check` expression,
/// who may call it (`user`), and the schema's note.
fn permissions_text(perm: Option<&Value>) -> String {
    let Some(perm) = perm else { return String::new() };
    let mut s = String::from("  Required permissions:\n");
    if let Some(check) = perm.get("check") {
        s.push_str(&wrap(&format!("Check: {}", serde_json::to_string(check).unwrap_or_default()), "    ", "      "));
        s.push('\n');
    }
    match perm.get("user").and_then(Value::as_str) {
        Some("all") => s.push_str("    Accessible by all authenticated users.\n"),
        Some("world") => s.push_str("    Accessible without any authentication.\n"),
        Some(u) => {
            let _ = writeln!(s, "    User: {u}");
        }
        None => {}
    }
    if let Some(d) = perm.get("description").and_then(Value::as_str) {
        s.push_str(&wrap(d, "    ", "    "));
        s.push('\n');
    }
    s.push('\n');
    s
}

/// Wraps `text` at 76 columns as Perl's `Text::Wrap` (which pvesh uses) does: `first`
/// before the first line, `rest` before the others, breaking at the last blank that fits (a
/// word longer than a line stays whole); the spacing inside a line is kept.
fn wrap(text: &str, first: &str, rest: &str) -> String {
    const COLUMNS: usize = 75;
    let mut lines: Vec<String> = Vec::new();
    for (i, para) in text.split('\n').enumerate() {
        let mut prefix = if i == 0 { first } else { rest };
        let mut left: Vec<char> = para.trim_end().chars().collect();
        loop {
            let room = COLUMNS.saturating_sub(prefix.chars().count()).max(1);
            if left.len() <= room {
                lines.push(format!("{prefix}{}", left.iter().collect::<String>()));
                break;
            }
            let cut = left[..=room].iter().rposition(|c| c.is_whitespace()).or_else(|| left.iter().position(|c| c.is_whitespace()));
            let Some(cut) = cut.filter(|c| *c > 0) else {
                lines.push(format!("{prefix}{}", left.iter().collect::<String>()));
                break;
            };
            lines.push(format!("{prefix}{}", left[..cut].iter().collect::<String>().trim_end()));
            let skip = left[cut..].iter().take_while(|c| c.is_whitespace()).count();
            left.drain(..cut + skip);
            prefix = rest;
        }
    }
    lines.join("\n")
}

/// One child of an API path, as `api ls` lists it (`-o json`: an array of these, by name).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ApiChild {
    /// The child's path segment (`status`, or a variable such as `{vmid}`).
    pub name: String,
    /// The child's path template.
    pub template: String,
    /// pvesh's capability letters: `D` (its GET lists children) or `-`, then `r` (GET), `w`
    /// (PUT), `c` (POST), `d` (DELETE), each or `-`: `Dr-c-`.
    pub capabilities: String,
    /// The HTTP methods it supports.
    pub methods: Vec<String>,
}

/// The children of `path` in the embedded schema, sorted by name.
///
/// # Errors
/// As [`route_of`].
pub fn ls(path: &str) -> Result<Vec<ApiChild>> {
    routes::check_raw_path(path)?;
    // The schema has no route for `/` itself; its children are the top-level routes.
    let prefix = if path == "/" { String::from("/") } else { format!("{}/", route_of(path)?.route.path) };
    let mut out: Vec<ApiChild> = routes::routes()
        .iter()
        .filter_map(|r| r.path.strip_prefix(&prefix).filter(|rest| !rest.is_empty() && !rest.contains('/')).map(|name| (name, r)))
        .map(|(name, r)| {
            let has = |m: &str| r.methods.contains_key(m);
            let flag = |m: &str, c: char| if has(m) { c } else { '-' };
            let dir = if r.methods.get("GET").is_some_and(|g| g.child_link) { 'D' } else { '-' };
            ApiChild {
                name: name.to_owned(),
                template: r.path.clone(),
                capabilities: [dir, flag("GET", 'r'), flag("PUT", 'w'), flag("POST", 'c'), flag("DELETE", 'd')].iter().collect(),
                methods: VERBS.iter().filter(|(_, h)| has(h)).map(|(_, h)| (*h).to_owned()).collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn ls_table(children: &Vec<ApiChild>) -> Table {
    let mut t = Table::new(&["CAPS", "NAME", "METHODS"]);
    for c in children {
        t.row(vec![c.capabilities.clone(), c.name.clone(), c.methods.join(",")]);
    }
    t
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
    fn text_wraps_as_pvesh_wraps_it() {
        let w = wrap(&"word ".repeat(30), "  ", "    ");
        assert!(w.lines().all(|l| l.chars().count() <= 75), "{w}");
        assert!(w.starts_with("  word") && w.lines().skip(1).all(|l| l.starts_with("    word")), "{w}");
        let long = "x".repeat(100);
        assert_eq!(wrap(&long, "", "  "), long, "a word longer than a line stays whole");
        assert_eq!(wrap("  -a         <boolean>", "", "  "), "  -a         <boolean>", "spacing inside a line is kept");
        assert_eq!(wrap("one\ntwo", "> ", ">> "), "> one\n>> two");
    }

    #[test]
    fn numbered_options_show_once() {
        let all = ["net0", "net1", "net2", "scsi0", "x1"];
        let mut seen = Vec::new();
        let shown: Vec<Option<String>> = all.iter().map(|n| display_name(n, &all, &mut seen)).collect();
        assert_eq!(shown, [Some("net[n]".into()), None, None, Some("scsi0".into()), Some("x1".into())]);
    }

    #[test]
    fn params_parse_in_order_and_keep_hostile_values() {
        let p = parse_params(&["type=vm".into(), "description=a=b; $(x)".into()]).expect("valid");
        assert_eq!(p, vec![("type".into(), "vm".into()), ("description".into(), "a=b; $(x)".into())]);
        assert!(parse_params(&["novalue".into()]).is_err());
    }
}
