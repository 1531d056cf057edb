//! An HTTP request as pveproxy reads it (pve-http-server `src/PVE/APIServer/AnyEvent.pm`):
//! the percent-decoded path split into format (`json`) and API path, the parameters, and
//! the credentials.
//!
//! Parameters: the query string for every method; for `POST` and `PUT` also the body,
//! form-encoded (`application/x-www-form-urlencoded`) or a JSON object
//! (`application/json`), the query string winning on a repeated name (`extract_params`).
//! A body on `GET` or `DELETE` is refused with `501 Unexpected content for method 'GET'`.
//! The `ExtJS` cache breaker `_dc` is dropped.

use serde_json::Value;

use crate::backend::api::Params;
use crate::backend::sim::access::Credentials;

/// One API request, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiRequest {
    /// The HTTP method as sent (`GET`, `POST`, `PUT`, `DELETE`; others get 501).
    pub method: String,
    /// The response format of `/api2/<format>/...`; only `json` is served.
    pub format: String,
    /// The API path after `/api2/<format>`, percent-decoded (`/nodes/pve1/status`); `/` when empty.
    pub path: String,
    /// Parameters in order: body first, then query string.
    pub params: Params,
    /// What the request authenticates with.
    pub credentials: Credentials,
}

/// Why a request is refused before it reaches the API: `(HTTP status, message)`.
pub(crate) type Refusal = (u16, String);

impl ApiRequest {
    /// Reads a request from its parts: method, raw path and query, the `Authorization`,
    /// `Cookie` and `Content-Type` headers, and the body.
    ///
    /// # Errors
    /// `(501, "no such uri")` for a path outside `/api2/<format>`, `(501, "Unexpected content
    /// for method '<M>'")` for a body on `GET`/`DELETE`, `(400, <reason>)` for a JSON body that
    /// is not an object.
    pub(crate) fn parse(method: &str, raw_path: &str, query: Option<&str>, headers: &Headers<'_>, body: &[u8]) -> Result<Self, Refusal> {
        let path = percent_decode(raw_path);
        let (format, rel) = split_api_path(&path).ok_or_else(|| (501, "no such uri".to_owned()))?;
        let mut params = Params::new();
        if !body.is_empty() {
            if !matches!(method, "POST" | "PUT") {
                return Err((501, format!("Unexpected content for method '{method}'")));
            }
            let json = headers.content_type.is_some_and(|c| c.split(';').next().is_some_and(|t| t.trim() == "application/json"));
            if json {
                params.extend(json_params(body)?);
            } else {
                params.extend(form_params(&String::from_utf8_lossy(body)));
            }
        }
        params.extend(form_params(query.unwrap_or("")));
        params.retain(|(k, _)| k != "_dc");
        Ok(Self { method: method.to_owned(), format, path: rel, params, credentials: headers.credentials() })
    }

    /// The request as one `PVE_SIM_LOG` line: `["REST", <method>, <API path>, "<k>=<v>", ...]`
    /// (credentials are never logged).
    pub(crate) fn log_line(&self) -> Vec<String> {
        let head = ["REST".to_owned(), self.method.clone(), self.path.clone()];
        head.into_iter().chain(self.params.iter().map(|(k, v)| format!("{k}={v}"))).collect()
    }
}

/// The headers a request is read with.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Headers<'a> {
    /// `Authorization`.
    pub authorization: Option<&'a str>,
    /// `Cookie`.
    pub cookie: Option<&'a str>,
    /// `Content-Type`.
    pub content_type: Option<&'a str>,
}

impl Headers<'_> {
    /// The credentials, in pveproxy's order: a `PVEAuthCookie` ticket in `Cookie`, then in
    /// `Authorization`, then a `PVEAPIToken` in `Authorization`.
    fn credentials(&self) -> Credentials {
        if auth_value(self.cookie, "PVEAuthCookie").or_else(|| auth_value(self.authorization, "PVEAuthCookie")).is_some() {
            return Credentials::Ticket;
        }
        auth_value(self.authorization, "PVEAPIToken").map_or(Credentials::None, Credentials::ApiToken)
    }
}

/// Splits `/api2/<format>/<path>` like pve-http-server's `$split_abs_uri`
/// (`^/api2/+([a-z][a-z0-9]+)(/.*)?$`); the API path is `/` when absent.
fn split_api_path(path: &str) -> Option<(String, String)> {
    let rest = path.strip_prefix("/api2/")?.trim_start_matches('/');
    let (format, rel) = rest.find('/').map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    let mut chars = format.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    valid.then(|| (format.to_owned(), rel.to_owned()))
}

/// The value of `key` in a header as pve-http-server's `extract_auth_value` finds it
/// (`(?:^|\s)KEY(?:=| )([^;]*)`, percent-decoded); `None` when absent or empty.
fn auth_value(header: Option<&str>, key: &str) -> Option<String> {
    let header = header?;
    let mut from = 0;
    while let Some(i) = header[from..].find(key).map(|i| i + from) {
        let at_start = i == 0 || header[..i].ends_with(char::is_whitespace);
        let rest = &header[i + key.len()..];
        if at_start && (rest.starts_with('=') || rest.starts_with(' ')) {
            let value = rest[1..].split(';').next().unwrap_or("");
            return Some(percent_decode(value)).filter(|v| !v.is_empty());
        }
        from = i + key.len();
    }
    None
}

/// `k=v&k2=v2` pairs, `+` as space and `%XX` decoded; empty pieces skipped.
fn form_params(text: &str) -> Params {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(&k.replace('+', " ")), percent_decode(&v.replace('+', " ")))
        })
        .collect()
}

/// A JSON object body as parameters: strings as they are, booleans as `1`/`0`, numbers as
/// written, anything else as its JSON text.
fn json_params(body: &[u8]) -> Result<Params, Refusal> {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return Err((400, "malformed JSON request body: expected an object".to_owned()));
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s,
                Value::Bool(b) => u8::from(b).to_string(),
                other => other.to_string(),
            };
            (k, v)
        })
        .collect())
}

/// Decodes `%XX` escapes (invalid ones stay as written; bytes that are not UTF-8 become U+FFFD).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str, query: Option<&str>, headers: &Headers<'_>) -> Result<ApiRequest, Refusal> {
        ApiRequest::parse("GET", path, query, headers, b"")
    }

    #[test]
    fn paths_and_query_parameters() {
        let r = get("/api2/json/cluster/resources", Some("type=vm&_dc=123"), &Headers::default()).expect("parses");
        assert_eq!((r.format.as_str(), r.path.as_str()), ("json", "/cluster/resources"));
        assert_eq!(r.params, vec![("type".to_owned(), "vm".to_owned())]);
        assert_eq!(r.log_line(), ["REST", "GET", "/cluster/resources", "type=vm"]);
        let r = get("/api2/json/nodes/pve1/tasks/UPID%3Apve1%3A1/log", None, &Headers::default()).expect("parses");
        assert_eq!(r.path, "/nodes/pve1/tasks/UPID:pve1:1/log");
        assert_eq!(get("/api2/json", None, &Headers::default()).expect("root").path, "/");
        assert_eq!(get("/index.html", None, &Headers::default()).expect_err("not api"), (501, "no such uri".to_owned()));
        assert_eq!(get("/api2/extjs/version", None, &Headers::default()).expect("other format").format, "extjs");
    }

    #[test]
    fn bodies_by_method_and_type() {
        let h = Headers { content_type: Some("application/x-www-form-urlencoded"), ..Headers::default() };
        let r = ApiRequest::parse("POST", "/api2/json/x", Some("b=2"), &h, b"description=a+b%26c&b=1").expect("form");
        assert_eq!(r.params, vec![("description".into(), "a b&c".into()), ("b".into(), "1".into()), ("b".into(), "2".into())]);
        let h = Headers { content_type: Some("application/json; charset=utf-8"), ..Headers::default() };
        let r = ApiRequest::parse("PUT", "/api2/json/x", None, &h, br#"{"vmstate":true,"n":3,"s":"x"}"#).expect("json");
        assert_eq!(r.params, vec![("n".into(), "3".into()), ("s".into(), "x".into()), ("vmstate".into(), "1".into())]);
        let e = ApiRequest::parse("DELETE", "/api2/json/x", None, &Headers::default(), b"force=1").expect_err("body on DELETE");
        assert_eq!(e, (501, "Unexpected content for method 'DELETE'".to_owned()));
    }

    /// A raw `+` in a form body is a space, as pve-manager decodes it: `size=+2G` reaches the
    /// resize handler as ` 2G` and fails PVE's regex; `%2B2G` (what clients send) grows.
    #[test]
    fn a_plus_in_a_form_body_is_a_space() {
        use crate::backend::api::Method;
        use crate::backend::sim::{Sim, demo_state};
        let h = Headers { content_type: Some("application/x-www-form-urlencoded"), ..Headers::default() };
        let mut sim = Sim::new(demo_state());
        let raw = ApiRequest::parse("PUT", "/api2/json/nodes/pve1/qemu/103/resize", None, &h, b"disk=scsi0&size=+2G").expect("form");
        assert_eq!(raw.params[1], ("size".to_owned(), " 2G".to_owned()));
        let e = sim.handle(Method::Put, &raw.path, &raw.params).expect_err("not PVE's size");
        assert_eq!((e.code, e.params[0].1.as_str()), (Some(400), "value does not match the regex pattern"));
        let enc = ApiRequest::parse("PUT", "/api2/json/nodes/pve1/qemu/103/resize", None, &h, b"disk=scsi0&size=%2B2G").expect("form");
        assert!(sim.handle(Method::Put, &enc.path, &enc.params).expect("grows").as_str().is_some_and(|u| u.contains(":resize:103:")));
    }

    #[test]
    fn credentials_like_pveproxy() {
        let h = |a: &'static str| Headers { authorization: Some(a), ..Headers::default() };
        let creds = |a| get("/api2/json/version", None, &h(a)).expect("parses").credentials;
        assert_eq!(creds("PVEAPIToken=root@pam!pvectl=s-1"), Credentials::ApiToken("root@pam!pvectl=s-1".into()));
        assert_eq!(creds("PVEAPIToken root@pam%21x=y"), Credentials::ApiToken("root@pam!x=y".into()));
        assert_eq!(creds("Bearer abc"), Credentials::None);
        assert_eq!(creds("XPVEAPIToken=a=b"), Credentials::None, "the key starts a word");
        let cookie = Headers { cookie: Some("PVEAuthCookie=PVE%3Aroot"), authorization: Some("PVEAPIToken=a=b"), ..Headers::default() };
        assert_eq!(get("/api2/json/version", None, &cookie).expect("parses").credentials, Credentials::Ticket);
    }
}
