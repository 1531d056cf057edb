//! Maps a failed HTTP answer of pveproxy (status, reason phrase, body) to [`Error`].
//!
//! One function, tested against the texts of `reference/ERRORS.md` §3 and §8 and FORMATS.md
//! §6. PVE puts the error text in the reason phrase (`HTTP/1.1 403 Permission check failed
//! (/vms/100, VM.PowerMgmt)`) with a body of `{"data":null}`; since libpve-http-server-perl
//! 5.2.0 (PVE 8.4+) the body also carries `"message": "<text>\n"`. Both are read: `message`
//! first, the reason phrase otherwise. What a text means is decided by the keyword lists
//! shared with the command backend ([`crate::backend::command::classify_text`]).

use serde_json::Value;

use crate::backend::command::{TextClass, classify_text, clip_headline, param_error, strip_code, strip_perl_location};
use crate::error::Error;

/// Classifies a non-2xx answer.
///
/// - 401 -> `PermissionDenied` (`No ticket`, `Authentication failed!`, ...), 403 likewise;
/// - 400 with `errors: {param: msg}` -> `InvalidParameter` with each parameter (sorted by name:
///   PVE sends them in hash order), or `NotFound` when each says its object is missing
///   (`upid: no such task`);
/// - 595/596 (pveproxy could not reach the node it proxies to) -> `Transport`;
/// - 501 (`Method 'GET /x' not implemented`, an unknown path) and 404 -> `NotFound`;
/// - otherwise by the text: not found, locked/wrong state -> `NotFound`/`Conflict`, else `Api`.
pub fn classify_http(status: u16, reason: &str, body: &[u8]) -> Error {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let body_message = json.as_ref().and_then(|v| v.get("message")).and_then(Value::as_str).map(str::trim).filter(|m| !m.is_empty());
    let text = body_message.unwrap_or_else(|| reason.trim());
    let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let headline = clip_headline(&strip_code(&strip_perl_location(first)));
    let message = if headline.is_empty() { format!("HTTP {status} without a message") } else { headline.clone() };

    let params: Vec<(String, String)> = json
        .as_ref()
        .and_then(|v| v.get("errors"))
        .and_then(Value::as_object)
        .map(|o| {
            let mut p: Vec<(String, String)> = o
                .iter()
                .map(|(k, v)| (k.clone(), strip_perl_location(v.as_str().map_or_else(|| v.to_string(), str::to_owned).trim())))
                .collect();
            p.sort();
            p
        })
        .unwrap_or_default();

    match status {
        401 | 403 => Error::PermissionDenied(message),
        400 if !params.is_empty() => param_error(&message, params),
        595 | 596 => {
            Error::Transport { message: format!("the node could not reach another cluster node (HTTP {status}): {message}"), source: None }
        }
        404 | 501 => Error::NotFound(message),
        _ => match classify_text(&headline) {
            Some(c @ (TextClass::NotFound | TextClass::Conflict | TextClass::PermissionDenied)) => c.error(message),
            None if status == 400 => Error::InvalidParameter { message, params },
            None => Error::Api(message),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const NULL: &[u8] = br#"{"data":null}"#;

    // Pre-5.2.0 servers: the text only in the reason phrase (FORMATS.md §6, ERRORS.md §3).
    #[rstest]
    #[case(401, "No ticket", "permission_denied")]
    #[case(401, "Authentication failed!", "permission_denied")]
    #[case(401, "authentication failure", "permission_denied")]
    #[case(401, "Permission denied - invalid csrf token", "permission_denied")]
    #[case(403, "Permission check failed (/vms/100, VM.PowerMgmt)", "permission_denied")]
    #[case(403, "Permission check failed (pool 'x' does not exist)", "permission_denied")]
    #[case(500, "VM 100 not running", "conflict")]
    #[case(500, "VM is locked (backup)", "conflict")]
    #[case(500, "can't lock file '/var/lock/qemu-server/lock-110.conf' - got timeout", "conflict")]
    #[case(500, "Configuration file 'nodes/pve1/qemu-server/105.conf' does not exist", "not_found")]
    #[case(500, "no such VM ('999')", "not_found")]
    #[case(500, "unable to find configuration file for VM 100 on node 'pve2'", "not_found")]
    #[case(501, "Method 'GET /x' not implemented", "not_found")]
    #[case(500, "no such file '/cluster/resources'", "api")]
    #[case(500, "VM quit/powerdown failed - got timeout", "api")]
    #[case(595, "Connection refused", "transport")]
    #[case(596, "No route to host", "transport")]
    fn reason_phrase_only(#[case] status: u16, #[case] reason: &str, #[case] kind: &str) {
        let e = classify_http(status, reason, NULL);
        assert_eq!(e.kind(), kind, "{status} {reason}: {e}");
    }

    #[test]
    fn permission_message_names_path_and_privilege() {
        let e = classify_http(403, "Permission check failed (/vms/100, VM.PowerMgmt)", NULL);
        assert_eq!(e.exit_code(), 4);
        assert_eq!(e.to_string(), "Permission check failed (/vms/100, VM.PowerMgmt)");
    }

    #[test]
    fn body_message_wins_and_loses_its_newline() {
        // ERRORS.md §8 (PVE 8.4+/9.x): the reason phrase may be generic, the body exact.
        let body = br#"{"data":null,"message":"Configuration file 'nodes/um890/qemu-server/113.conf' does not exist\n"}"#;
        let e = classify_http(500, "Internal Server Error", body);
        assert_eq!(e.kind(), "not_found");
        assert_eq!(e.to_string(), "Configuration file 'nodes/um890/qemu-server/113.conf' does not exist");
        assert_eq!(e.exit_code(), 5);
    }

    #[test]
    fn perl_location_is_dropped() {
        let body = br#"{"data":null,"message":"CT is locked (snapshot-delete) at /usr/share/perl5/PVE/AbstractConfig.pm line 340.\n"}"#;
        let e = classify_http(500, "CT is locked (snapshot-delete)", body);
        assert_eq!(e.to_string(), "CT is locked (snapshot-delete)");
        assert_eq!(e.exit_code(), 6);
    }

    #[test]
    fn parameter_errors_keep_each_parameter() {
        // ERRORS.md §8: status `400 Parameter verification failed.`, `errors` object.
        let body = br#"{"data":null,"errors":{"vmid":"type check ('integer') failed - got 'abc'","node":"invalid format - value does not look like a valid node name\n"}}"#;
        match classify_http(400, "Parameter verification failed.", body) {
            Error::InvalidParameter { message, params } => {
                assert_eq!(message, "Parameter verification failed.");
                assert_eq!(
                    params,
                    vec![
                        ("node".to_owned(), "invalid format - value does not look like a valid node name".to_owned()),
                        ("vmid".to_owned(), "type check ('integer') failed - got 'abc'".to_owned()),
                    ]
                );
            }
            other => panic!("expected InvalidParameter, got {other:?}"),
        }
    }

    #[test]
    fn unknown_task_is_not_found() {
        // PM:PVE/API2/Tasks.pm read_task_status: raise_param_exc({ upid => "no such task" }).
        let e = classify_http(400, "Parameter verification failed.", br#"{"data":null,"errors":{"upid":"no such task"}}"#);
        assert_eq!((e.kind(), e.exit_code(), e.to_string().as_str()), ("not_found", 5, "upid: no such task"));
    }

    #[test]
    fn a_huge_body_or_reason_gives_a_short_message() {
        let mib = 1 << 20;
        let long = format!("VM is locked (backup) {}", "x".repeat(mib));
        let body = serde_json::to_vec(&serde_json::json!({"data": null, "message": format!("{long}\n")})).expect("json");
        let errors: serde_json::Map<String, Value> =
            (0..mib / 200).map(|i| (format!("p{i:05}{}", "n".repeat(60)), Value::from("v".repeat(140)))).collect();
        let params = serde_json::to_vec(&serde_json::json!({"data": null, "errors": errors})).expect("json");
        for (status, reason, body) in [
            (500, "Internal Server Error", body.as_slice()),
            (500, long.as_str(), NULL),
            (400, "Parameter verification failed.", params.as_slice()),
        ] {
            assert!(body.len() >= mib || reason.len() >= mib);
            let e = classify_http(status, reason, body);
            let m = e.to_string();
            assert!(m.len() < 1024, "{} bytes: {}", m.len(), &m[..200]);
        }
        let e = classify_http(500, "Internal Server Error", &body);
        assert_eq!(e.kind(), "conflict");
        assert!(e.to_string().starts_with("VM is locked (backup) xxx"));
    }

    #[test]
    fn plain_400_is_a_usage_error() {
        assert_eq!(classify_http(400, "Parameter verification failed.", NULL).exit_code(), 2);
    }

    #[test]
    fn non_json_body_and_empty_reason() {
        let e = classify_http(502, "", b"<html>Bad Gateway</html>");
        assert_eq!(e.kind(), "api");
        assert_eq!(e.to_string(), "HTTP 502 without a message");
        assert_eq!(classify_http(404, "Not Found", b"").kind(), "not_found");
    }
}
