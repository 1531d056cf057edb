//! `RestTransport` as a library, against the test server.

use std::sync::Arc;

use pvectl::Error;
use pvectl::backend::rest::{Credentials, Endpoint, RestOptions, RestTransport, Secret, TlsTrust};
use pvectl::backend::{ApiTransport as _, Method, Params};
use serde_json::json;

use crate::server::{Identity, Recorded, Reply, Server, ok};

pub(crate) const SECRET: &str = "d6f9a7c4-5b1e-4e3a-9c2d-7f8e6a5b4c3d";
pub(crate) const TOKEN_ID: &str = "pvectl@pve!ops";

fn echo() -> Arc<dyn Fn(&Recorded) -> Reply + Send + Sync> {
    Arc::new(|r: &Recorded| ok(&json!({"path": r.path(), "method": r.method})))
}

fn transport(server: &Server, trust: TlsTrust) -> RestTransport {
    let endpoint = Endpoint::parse(&server.url()).expect("endpoint");
    let creds = Credentials { token_id: TOKEN_ID.parse().expect("token id"), secret: Secret::new(SECRET) };
    RestTransport::new(RestOptions::new(endpoint, creds, trust)).expect("transport")
}

fn pinned(id: &Identity) -> TlsTrust {
    TlsTrust::Pinned(id.fingerprint.parse().expect("fingerprint"))
}

fn params(p: &[(&str, &str)]) -> Params {
    p.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// Characters PVE's form decoder treats specially (`&`, `;`, `=`, `+`, `%`), shell
/// metacharacters, quotes, a newline and non-ASCII.
const HOSTILE: &str = "a;b&c=d+e %41 %zz \"q\" 'x' $(rm -rf /) `id` | > ü\nline2";

#[tokio::test]
async fn get_sends_path_token_and_query() {
    let id = Identity::self_signed();
    let server = Server::start(&id, echo());
    let t = transport(&server, pinned(&id));
    let v = t.call(Method::Get, "/cluster/resources", &params(&[("type", "vm")])).await.expect("call");
    assert_eq!(v, json!({"path": "/api2/json/cluster/resources", "method": "GET"}));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].header("authorization"), Some(format!("PVEAPIToken={TOKEN_ID}={SECRET}").as_str()));
    assert_eq!(reqs[0].query(), vec![("type".to_owned(), "vm".to_owned())]);
    assert_eq!(reqs[0].body, "");
}

#[tokio::test]
async fn post_and_put_send_hostile_values_form_encoded_intact() {
    let id = Identity::self_signed();
    let server = Server::start(&id, echo());
    let t = transport(&server, pinned(&id));
    let p = params(&[("snapname", "before-upgrade"), ("description", HOSTILE)]);
    t.call(Method::Post, "/nodes/pve1/qemu/100/snapshot", &p).await.expect("post");
    t.call(Method::Put, "/nodes/pve1/qemu/100/config", &params(&[("description", HOSTILE)])).await.expect("put");
    let reqs = server.requests();
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path(), "/api2/json/nodes/pve1/qemu/100/snapshot");
    assert_eq!(reqs[0].header("content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(reqs[0].form(), vec![("snapname".to_owned(), "before-upgrade".to_owned()), ("description".to_owned(), HOSTILE.to_owned())]);
    assert_eq!(reqs[0].target, "/api2/json/nodes/pve1/qemu/100/snapshot", "no query on a POST");
    assert_eq!(reqs[1].method, "PUT");
    assert_eq!(reqs[1].form(), vec![("description".to_owned(), HOSTILE.to_owned())]);
}

#[tokio::test]
async fn delete_and_get_carry_params_in_the_query_without_a_body() {
    let id = Identity::self_signed();
    let server = Server::start(&id, echo());
    let t = transport(&server, pinned(&id));
    t.call(Method::Delete, "/nodes/pve1/qemu/100/snapshot/s1", &params(&[("force", "1"), ("note", HOSTILE)])).await.expect("delete");
    t.call(Method::Get, "/nodes/pve1/tasks", &params(&[("typefilter", HOSTILE)])).await.expect("get");
    let reqs = server.requests();
    assert_eq!(reqs[0].method, "DELETE");
    assert_eq!(reqs[0].query(), vec![("force".to_owned(), "1".to_owned()), ("note".to_owned(), HOSTILE.to_owned())]);
    // pveproxy answers `501 Unexpected content for method 'DELETE'` to a body.
    assert_eq!(reqs[0].body, "");
    assert!(reqs[0].header("content-length").is_none_or(|l| l == "0"));
    assert_eq!(reqs[1].query(), vec![("typefilter".to_owned(), HOSTILE.to_owned())]);
}

#[tokio::test]
async fn path_bytes_are_percent_encoded_and_upids_kept() {
    let id = Identity::self_signed();
    let server = Server::start(&id, echo());
    let t = transport(&server, pinned(&id));
    let upid = "UPID:pve1:000934AF:0D015579:68BF3A41:qmstart:100:root@pam!ops:";
    t.call(Method::Get, &format!("/nodes/pve1/tasks/{upid}/status"), &Params::new()).await.expect("upid path");
    t.call(Method::Get, "/nodes/pve1/storage/a b?c#d", &Params::new()).await.expect("odd path");
    let reqs = server.requests();
    assert_eq!(reqs[0].target, format!("/api2/json/nodes/pve1/tasks/{upid}/status"));
    assert_eq!(reqs[1].target, "/api2/json/nodes/pve1/storage/a%20b%3Fc%23d");
}

#[tokio::test]
async fn http_errors_are_classified_from_reason_or_message() {
    let id = Identity::self_signed();
    let server = Server::start(
        &id,
        Arc::new(|r: &Recorded| match r.path() {
            "/api2/json/denied" => (403, "Permission check failed (/vms/100, VM.PowerMgmt)".into(), r#"{"data":null}"#.into()),
            "/api2/json/noauth" => (401, "No ticket".into(), r#"{"data":null}"#.into()),
            "/api2/json/gone" => (
                500,
                "Internal Server Error".into(),
                "{\"data\":null,\"message\":\"Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist\\n\"}".into(),
            ),
            "/api2/json/locked" => (500, "VM is locked (backup)".into(), r#"{"data":null}"#.into()),
            "/api2/json/params" => (
                400,
                "Parameter verification failed.".into(),
                r#"{"data":null,"errors":{"vmid":"type check ('integer') failed - got 'abc'"}}"#.into(),
            ),
            "/api2/json/proxy" => (595, "Connection refused".into(), String::new()),
            _ => (
                501,
                format!("Method '{} {}' not implemented", r.method, r.path().trim_start_matches("/api2/json")),
                r#"{"data":null}"#.into(),
            ),
        }),
    );
    let t = transport(&server, pinned(&id));
    let cases = [
        ("/denied", 4, "Permission check failed (/vms/100, VM.PowerMgmt)"),
        ("/noauth", 4, "No ticket"),
        ("/gone", 5, "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist"),
        ("/locked", 6, "VM is locked (backup)"),
        ("/params", 2, "Parameter verification failed.\nvmid: type check ('integer') failed - got 'abc'"),
        ("/proxy", 9, "Connection refused"),
        ("/nope", 5, "Method 'GET /nope' not implemented"),
    ];
    for (path, code, text) in cases {
        let e = t.call(Method::Get, path, &Params::new()).await.expect_err(path);
        assert_eq!(e.exit_code(), code, "{path}: {e}");
        assert!(e.to_string().contains(text), "{path}: {e}");
        assert!(!format!("{e:?}").contains(SECRET));
    }
}

#[tokio::test]
async fn pin_accepts_the_right_certificate_and_refuses_another_before_any_request() {
    let id = Identity::self_signed();
    let server = Server::start(&id, echo());
    transport(&server, pinned(&id)).call(Method::Get, "/version", &Params::new()).await.expect("right pin");
    assert_eq!(server.requests().len(), 1);

    let other = Identity::self_signed();
    let server = Server::start(&id, echo());
    let e = transport(&server, pinned(&other)).call(Method::Get, "/version", &Params::new()).await.expect_err("wrong pin");
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    assert_eq!(e.exit_code(), 9);
    let chain = error_chain(&e);
    assert!(chain.contains(&id.fingerprint) && chain.contains("does not match the pinned"), "{chain}");
    assert_nothing_received(&server);
}

#[tokio::test]
async fn system_roots_refuse_a_self_signed_node_before_any_request() {
    let id = Identity::self_signed();
    let server = Server::start(&id, echo());
    let e = transport(&server, TlsTrust::System).call(Method::Get, "/version", &Params::new()).await.expect_err("untrusted");
    assert_eq!(e.exit_code(), 9, "{e:?}");
    assert_nothing_received(&server);
}

#[tokio::test]
async fn ca_file_trusts_its_certificates_only() {
    let id = Identity::ca_signed();
    let dir = tempfile::tempdir().expect("dir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, id.ca_pem.as_deref().expect("ca pem")).expect("write");
    let server = Server::start(&id, echo());
    transport(&server, TlsTrust::CaFile(ca.clone())).call(Method::Get, "/version", &Params::new()).await.expect("trusted by CA");
    // The same CA does not vouch for another node's self-signed certificate.
    let server = Server::start(&Identity::self_signed(), echo());
    let e = transport(&server, TlsTrust::CaFile(ca)).call(Method::Get, "/version", &Params::new()).await.expect_err("not by this CA");
    assert_eq!(e.exit_code(), 9);
    assert_nothing_received(&server);
}

#[tokio::test]
async fn insecure_accepts_any_certificate() {
    let server = Server::start(&Identity::self_signed(), echo());
    let v = transport(&server, TlsTrust::Insecure).call(Method::Get, "/version", &Params::new()).await.expect("insecure");
    assert_eq!(v, json!({"path": "/api2/json/version", "method": "GET"}), "the answer came through");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1, "the request reached the server");
    assert_eq!((reqs[0].method.as_str(), reqs[0].path()), ("GET", "/api2/json/version"));
    assert_eq!(reqs[0].header("authorization"), Some(format!("PVEAPIToken={TOKEN_ID}={SECRET}").as_str()));
    assert_eq!(server.failed_handshakes(), 0);
}

#[tokio::test]
async fn refused_connection_is_transport() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let endpoint = Endpoint::parse(&format!("https://127.0.0.1:{port}")).expect("endpoint");
    let creds = Credentials { token_id: TOKEN_ID.parse().expect("id"), secret: Secret::new(SECRET) };
    let t = RestTransport::new(RestOptions::new(endpoint, creds, TlsTrust::Insecure)).expect("transport");
    let e = t.call(Method::Get, "/version", &Params::new()).await.expect_err("refused");
    assert_eq!(e.exit_code(), 9);
    assert!(e.to_string().contains(&format!("https://127.0.0.1:{port}")), "{e}");
}

#[test]
fn identity_and_plans_never_show_the_secret() {
    let endpoint = Endpoint::parse("https://pve1.example.com").expect("endpoint");
    let creds = Credentials { token_id: TOKEN_ID.parse().expect("id"), secret: Secret::new(SECRET) };
    let t = RestTransport::new(RestOptions::new(endpoint, creds, TlsTrust::Insecure)).expect("transport");
    assert_eq!(t.describe(), "Rest(https://pve1.example.com:8006, pvectl@pve!ops)");
    assert_eq!(format!("{t:?}"), t.describe());
    assert_eq!(
        t.render(Method::Post, "/nodes/pve1/qemu/100/status/start", &params(&[("timeout", "30"), ("description", "a b")])),
        "POST https://pve1.example.com:8006/api2/json/nodes/pve1/qemu/100/status/start timeout=30 'description=a b'"
    );
}

pub(crate) fn error_chain(e: &Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(c) = src {
        s.push_str(" / ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// The client connected, the handshake failed, and not one plaintext byte (so no
/// `Authorization` header) reached the server.
pub(crate) fn assert_nothing_received(server: &Server) {
    // The server notes the failed handshake right after the client hangs up.
    for _ in 0..100 {
        if server.failed_handshakes() > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(server.failed_handshakes() >= 1, "the client never tried a handshake");
    assert!(server.requests().is_empty(), "requests reached the server: {:?}", server.requests());
    assert_eq!(server.plaintext(), "", "plaintext reached the server");
}
