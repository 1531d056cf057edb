//! One API request answered by the core, in pveproxy's order (pve-manager
//! `PVE/HTTPServer.pm` `auth_handler` and `rest_handler`): authentication (401), the
//! handler (501), the route's privilege (403, `privileges.rs`), then the core (`Sim::handle`:
//! parameters 400, the handler's own errors).
//!
//! Answers (pve-http-server `Formatter/Standard.pm` and `AnyEvent.pm`, libpve-http-server-perl
//! 5.2.0 and later):
//! - success: `200 OK`, `{"data": <result>}`, plus `"total": <lines>` for a task log;
//! - an API error: the status, the message's first line as reason phrase, and
//!   `{"data": null, "message": "<message>\n"}` with `"errors": {<param>: <text>}` for a
//!   `400 Parameter verification failed.`; a missing handler is `501 Method 'GET /x' not
//!   implemented`, whose body message has no trailing newline (pveproxy's own text);
//! - `401 No ticket` / `401 Authentication failed!`: reason phrase only, empty body, as
//!   pveproxy answers a failed login for the `json` format (it also waits 3 s; not simulated).

use serde_json::{Map, Value, json};

use super::request::ApiRequest;
use crate::backend::api::{Method, Params};
use crate::backend::sim::access::authenticate;
use crate::backend::sim::core::Sim;
use crate::backend::sim::error::SimError;
use crate::backend::sim::route::{Request, match_path};

/// The body of a reply.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Body {
    /// JSON, sent as `application/json;charset=UTF-8`.
    Json(Value),
    /// Plain text without a content type (pveproxy's `error()` for requests it cannot route).
    Text(String),
    /// Nothing.
    Empty,
}

/// What goes back to the client.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Reason phrase when it is not the standard one (the error message's first line).
    pub reason: Option<String>,
    /// The body.
    pub body: Body,
}

impl Reply {
    /// A refusal before the API is reached, as pveproxy's `error()`: the text as reason
    /// phrase and as body.
    pub(crate) fn refusal(status: u16, text: &str) -> Self {
        Self { status, reason: Some(text.to_owned()), body: Body::Text(text.to_owned()) }
    }

    /// The reply for an API error.
    pub(crate) fn error(e: &SimError) -> Self {
        let status = e.http_status();
        let reason = Some(e.message.lines().next().unwrap_or("").to_owned());
        if status == 401 {
            return Self { status, reason, body: Body::Empty };
        }
        let mut m = Map::new();
        m.insert("data".into(), Value::Null);
        let newline = if status == 501 { "" } else { "\n" };
        m.insert("message".into(), json!(format!("{}{newline}", e.message)));
        if !e.params.is_empty() {
            let errors: Map<String, Value> = e.params.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            m.insert("errors".into(), Value::Object(errors));
        }
        Self { status, reason, body: Body::Json(Value::Object(m)) }
    }

    /// `200 OK` with `{"data": data}` and, when given, `"total"`.
    fn ok(data: Value, total: Option<usize>) -> Self {
        let mut m = Map::new();
        m.insert("data".into(), data);
        if let Some(t) = total {
            m.insert("total".into(), json!(t));
        }
        Self { status: 200, reason: None, body: Body::Json(Value::Object(m)) }
    }
}

/// Answers `req` on `sim` as the caller its credentials name; the caller is cleared again
/// afterwards, so a long-lived `sim` keeps no identity between requests.
pub(crate) fn answer(sim: &mut Sim, req: &ApiRequest) -> Reply {
    let caller = match authenticate(sim.state(), &req.credentials) {
        Ok(c) => c,
        Err(e) => return Reply::error(&e),
    };
    if req.format != "json" {
        return Reply::refusal(501, &format!("no formatter for uri {}, {}", req.path, req.format));
    }
    let method = match req.method.as_str() {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        other => {
            return Reply::error(&SimError { code: Some(501), ..SimError::die(format!("Method '{other} {}' not implemented", req.path)) });
        }
    };
    if !sim.has_handler(method, &req.path) {
        return Reply::error(&SimError::no_handler(method, &req.path));
    }
    sim.set_caller(Some(caller));
    // `handle` checks the route's privilege (`privileges.rs`) before anything else.
    let result = sim.handle(method, &req.path, &req.params);
    sim.set_caller(None);
    match result {
        Ok(data) => Reply::ok(data, task_log_total(sim, method, &req.path)),
        Err(e) => Reply::error(&e),
    }
}

/// `total` for `GET /nodes/{node}/tasks/{upid}/log`: the log's line count (1 for an empty
/// log, which lists as `no content`), as `PVE::Tools::dump_logfile` counts.
fn task_log_total(sim: &Sim, method: Method, path: &str) -> Option<usize> {
    if method != Method::Get {
        return None;
    }
    let vars = match_path("/nodes/{node}/tasks/{upid}/log", path)?;
    let req = Request { vars, params: &Params::new() };
    sim.state().task(req.var("upid")).map(|t| t.log.len().max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sim::access::Credentials;
    use crate::backend::sim::demo::{DEMO_TOKENS, demo_state};

    fn call(method: &str, path: &str, token: Option<usize>) -> Reply {
        let credentials = token.map_or(Credentials::None, |i| Credentials::ApiToken(format!("{}={}", DEMO_TOKENS[i].0, DEMO_TOKENS[i].1)));
        let req = ApiRequest { method: method.into(), format: "json".into(), path: path.into(), params: Vec::new(), credentials };
        answer(&mut Sim::new(demo_state()), &req)
    }

    #[test]
    fn errors_carry_reason_and_message() {
        let r = call("GET", "/version", None);
        assert_eq!((r.status, r.reason.as_deref(), &r.body), (401, Some("No ticket"), &Body::Empty));
        let r = call("GET", "/no/such", Some(0));
        assert_eq!(r.reason.as_deref(), Some("Method 'GET /no/such' not implemented"));
        assert_eq!(r.body, Body::Json(json!({"data": null, "message": "Method 'GET /no/such' not implemented"})));
        let r = call("PATCH", "/version", Some(0));
        assert_eq!((r.status, r.reason.as_deref()), (501, Some("Method 'PATCH /version' not implemented")));
        let r = call("GET", "/nodes/pve1/qemu/999/config", Some(0));
        assert_eq!(r.status, 500);
        assert_eq!(
            r.body,
            Body::Json(json!({"data": null, "message": "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist\n"}))
        );
        let r = call("GET", "/nodes/pve1/tasks/bogus/status", Some(0));
        assert_eq!((r.status, r.reason.as_deref()), (400, Some("Parameter verification failed.")));
        assert_eq!(
            r.body,
            Body::Json(
                json!({"data": null, "message": "Parameter verification failed.\n", "errors": {"upid": "unable to parse worker upid"}})
            )
        );
    }

    #[test]
    fn tokens_see_what_their_privileges_allow() {
        let r = call("GET", "/nodes/pve1/qemu/100/status/current", Some(2));
        assert_eq!((r.status, r.reason.as_deref()), (403, Some("Permission check failed (/vms/100, VM.Audit)")));
        let Body::Json(v) = call("GET", "/cluster/resources", Some(2)).body else { panic!("json") };
        let types: Vec<&str> = v["data"].as_array().expect("list").iter().filter_map(|i| i["type"].as_str()).collect();
        assert_eq!(types, ["node", "node", "node"], "nodes stay listed, without figures");
        assert!(v["data"][0].get("mem").is_none());
        let Body::Json(v) = call("GET", "/cluster/resources", Some(1)).body else { panic!("json") };
        assert!(v["data"].as_array().expect("list").len() > 3 && v["data"][0].get("mem").is_some());
    }

    #[test]
    fn faults_and_task_ownership_apply_too() {
        let mut state = demo_state();
        state.faults.denied.push(crate::backend::sim::Denied { path: "/vms/101".into(), privilege: "VM.Audit".into() });
        let mut own = state.tasks[0].clone();
        own.upid = own.upid.as_str().replace(":root@pam:", ":auditor@pve!empty:").parse().expect("a upid");
        let node = own.upid.node.to_string();
        state.tasks.push(own);
        let mut sim = Sim::new(state);
        let mut get = |path: &str, token: usize| {
            let (id, secret) = DEMO_TOKENS[token];
            let credentials = Credentials::ApiToken(format!("{id}={secret}"));
            answer(
                &mut sim,
                &ApiRequest { method: "GET".into(), format: "json".into(), path: path.into(), params: Vec::new(), credentials },
            )
        };
        assert_eq!(get("/nodes/pve1/qemu/101/config", 0).reason.as_deref(), Some("Permission check failed (/vms/101, VM.Audit)"));
        let Body::Json(v) = get("/nodes/pve1/qemu", 0).body else { panic!("json") };
        assert!(v["data"].as_array().expect("list").iter().all(|g| g["vmid"] != 101), "a fault hides the guest from root too");
        let Body::Json(v) = get(&format!("/nodes/{node}/tasks"), 2).body else { panic!("json") };
        let users: Vec<&str> = v["data"].as_array().expect("list").iter().filter_map(|t| t["user"].as_str()).collect();
        assert_eq!(users, ["auditor@pve!empty"], "a token without Sys.Audit sees its own tasks only");
    }

    #[test]
    fn task_logs_carry_total() {
        let sim = Sim::new(demo_state());
        let t = sim.state().tasks.first().expect("a demo task");
        let r = call("GET", &format!("/nodes/{}/tasks/{}/log", t.upid.node, t.upid.as_str()), Some(0));
        let Body::Json(v) = r.body else { panic!("json") };
        assert_eq!(v["total"], json!(t.log.len().max(1)));
    }
}
