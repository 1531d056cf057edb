//! Path routing: a table of `(method, pattern, parameters, handler)` and a matcher.
//!
//! Patterns are API paths with `{var}` segments; `{kind}` only matches `qemu` or `lxc`, and
//! `{kind=qemu}` only `qemu` (for routes one guest kind lacks, such as `status/reset`, or
//! whose parameters differ by kind).
//! A path that matches no pattern for its method has no handler (pvesh: `No 'get' handler
//! defined for ...`, exit 1). Parameters not listed for the route are refused the way PVE's
//! schema check refuses them (`additionalProperties => 0`).

use serde_json::Value;

use super::core::Sim;
use super::error::SimError;
use crate::backend::api::{Method, Params};

/// One matched request: path variables and the call's parameters.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    /// Path variables in pattern order, e.g. `[("node", "pve1"), ("vmid", "100")]`.
    pub vars: Vec<(&'static str, String)>,
    /// The call's parameters in order.
    pub params: &'a Params,
}

impl Request<'_> {
    /// A path variable the pattern defines; empty if the pattern has none of that name.
    pub(crate) fn var(&self, name: &str) -> &str {
        self.vars.iter().find(|(k, _)| *k == name).map_or("", |(_, v)| v.as_str())
    }

    /// A parameter's value (the last one wins, as with repeated `--key`).
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// An integer parameter checked as PVE's schema checks it.
    pub(crate) fn int_param(&self, name: &str, minimum: u64) -> Result<Option<u64>, SimError> {
        let Some(v) = self.param(name) else { return Ok(None) };
        check_int(name, v, minimum).map(Some)
    }

    /// A boolean parameter (`0/1`, `true/false`, `yes/no`, `on/off`).
    pub(crate) fn bool_param(&self, name: &str) -> Result<Option<bool>, SimError> {
        let Some(v) = self.param(name) else { return Ok(None) };
        match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(Some(true)),
            "0" | "false" | "no" | "off" => Ok(Some(false)),
            _ => Err(SimError::param(name, format!("type check ('boolean') failed - got '{v}'"))),
        }
    }
}

/// Checks an integer value as pve-common's `JSONSchema` does.
pub(crate) fn check_int(name: &str, v: &str, minimum: u64) -> Result<u64, SimError> {
    let digits = v.strip_prefix('+').unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        if v.starts_with('-') && v[1..].bytes().all(|b| b.is_ascii_digit()) && v.len() > 1 {
            return Err(SimError::param(name, format!("value must have a minimum value of {minimum}")));
        }
        return Err(SimError::param(name, format!("type check ('integer') failed - got '{v}'")));
    }
    let n: u64 = digits.parse().map_err(|_| SimError::param(name, format!("type check ('integer') failed - got '{v}'")))?;
    if n < minimum {
        return Err(SimError::param(name, format!("value must have a minimum value of {minimum}")));
    }
    Ok(n)
}

/// A request handler.
pub(crate) type Handler = fn(&mut Sim, &Request<'_>) -> Result<Value, SimError>;

/// One route of the table.
pub(crate) struct Route {
    /// The method it answers.
    pub method: Method,
    /// The path pattern, e.g. `/nodes/{node}/{kind}/{vmid}/config`.
    pub pattern: &'static str,
    /// Parameters the route accepts besides its path variables.
    pub params: &'static [&'static str],
    /// The handler.
    pub handler: Handler,
}

/// Finds the route for `(method, path)` and extracts its path variables.
pub(crate) fn find<'r>(routes: &'r [Route], method: Method, path: &str) -> Option<(&'r Route, Vec<(&'static str, String)>)> {
    let segs: Vec<&str> = split(path);
    routes.iter().filter(|r| r.method == method).find_map(|r| match_pattern(r.pattern, &segs).map(|vars| (r, vars)))
}

/// The path variables of `path` if it matches `pattern` (the rules of the route table).
pub(crate) fn match_path(pattern: &'static str, path: &str) -> Option<Vec<(&'static str, String)>> {
    match_pattern(pattern, &split(path))
}

/// Splits a path into segments, ignoring a trailing `/` (`/nodes/` is `/nodes`).
fn split(path: &str) -> Vec<&str> {
    let p = path.strip_prefix('/').unwrap_or(path);
    let p = p.strip_suffix('/').unwrap_or(p);
    if p.is_empty() { Vec::new() } else { p.split('/').collect() }
}

fn match_pattern(pattern: &'static str, segs: &[&str]) -> Option<Vec<(&'static str, String)>> {
    let pat = split(pattern);
    // `{name*}` as the last segment takes the rest of the path, empty fragments skipped and
    // the others joined with `/` (pve-common `RESTHandler` with `fragmentDelimiter => ''`,
    // how pve-storage addresses a volume id that contains `/`).
    if let Some(rest) = pat.last().and_then(|p| p.strip_prefix('{')).and_then(|p| p.strip_suffix("*}")) {
        let n = pat.len() - 1;
        if segs.len() <= n {
            return None;
        }
        let mut vars = match_pattern_exact(&pat[..n], &segs[..n])?;
        let joined = segs[n..].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join("/");
        if joined.is_empty() {
            return None;
        }
        vars.push((rest, joined));
        return Some(vars);
    }
    match_pattern_exact(&pat, segs)
}

fn match_pattern_exact(pat: &[&'static str], segs: &[&str]) -> Option<Vec<(&'static str, String)>> {
    if pat.len() != segs.len() {
        return None;
    }
    let mut vars = Vec::new();
    for (p, s) in pat.iter().zip(segs) {
        if let Some(var) = p.strip_prefix('{').and_then(|v| v.strip_suffix('}')) {
            let (name, only) = var.split_once('=').map_or((var, None), |(n, v)| (n, Some(v)));
            if s.is_empty() || (name == "kind" && *s != "qemu" && *s != "lxc") || only.is_some_and(|o| o != *s) {
                return None;
            }
            vars.push((name, (*s).to_owned()));
        } else if p != s {
            return None;
        }
    }
    Some(vars)
}

/// Whether parameter `name` is the schema's `pattern`: the same name, or for `net[n]` the
/// prefix and a number (`net0`).
fn param_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix("[n]") {
        Some(prefix) => name.strip_prefix(prefix).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
        None => pattern == name,
    }
}

/// Refuses parameters the route does not define.
pub(crate) fn check_allowed(route: &Route, params: &Params) -> Result<(), SimError> {
    let mut err: Option<SimError> = None;
    for (k, _) in params {
        if !route.params.iter().any(|p| param_matches(p, k)) {
            let msg = "property is not defined in schema and the schema does not allow additional properties";
            match &mut err {
                Some(e) => {
                    if !e.params.iter().any(|(p, _)| p == k) {
                        e.params.push((k.clone(), msg.to_owned()));
                    }
                }
                None => err = Some(SimError::param(k.clone(), msg)),
            }
        }
    }
    err.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[expect(clippy::unnecessary_wraps, reason = "the handler signature")]
    fn dummy(_: &mut Sim, _: &Request<'_>) -> Result<Value, SimError> {
        Ok(Value::Null)
    }

    const ROUTES: &[Route] = &[
        Route { method: Method::Get, pattern: "/nodes/{node}/{kind}/{vmid}/config", params: &[], handler: dummy },
        Route { method: Method::Get, pattern: "/nodes", params: &[], handler: dummy },
        Route { method: Method::Post, pattern: "/nodes/{node}/{kind=qemu}/{vmid}/status/reset", params: &[], handler: dummy },
    ];

    #[test]
    fn matches_variables_and_kind() {
        let (r, vars) = find(ROUTES, Method::Get, "/nodes/pve1/lxc/105/config").expect("route");
        assert_eq!(r.pattern, "/nodes/{node}/{kind}/{vmid}/config");
        assert_eq!(vars, vec![("node", "pve1".to_owned()), ("kind", "lxc".to_owned()), ("vmid", "105".to_owned())]);
        assert!(find(ROUTES, Method::Get, "/nodes/pve1/openvz/105/config").is_none());
        assert!(find(ROUTES, Method::Post, "/nodes").is_none());
        assert!(find(ROUTES, Method::Get, "/nodes/").is_some());
        let (_, vars) = find(ROUTES, Method::Post, "/nodes/pve1/qemu/100/status/reset").expect("qemu reset");
        assert_eq!(vars[1], ("kind", "qemu".to_owned()));
        assert!(find(ROUTES, Method::Post, "/nodes/pve1/lxc/100/status/reset").is_none(), "lxc has no reset");
    }

    #[test]
    fn integer_checks_use_pve_texts() {
        assert_eq!(check_int("limit", "12", 0).expect("int"), 12);
        let e = check_int("vmid", "abc", 100).expect_err("not an int");
        assert_eq!(e.params, vec![("vmid".to_owned(), "type check ('integer') failed - got 'abc'".to_owned())]);
        let e = check_int("vmid", "5", 100).expect_err("too small");
        assert_eq!(e.params[0].1, "value must have a minimum value of 100");
    }
}
