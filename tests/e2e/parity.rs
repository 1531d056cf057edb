//! Parity: the same read and action scenarios through REST (`pve-sim serve --tls`, pinned
//! fingerprint, API token) and through pvesh over the loopback sshd, on equal starting states,
//! give identical `-o json` output, UPIDs and timestamps aside. Also the conformance suite over
//! REST.

use pvectl::backend::rest::{Credentials, Endpoint, RestOptions, RestTransport, Secret, TlsTrust};
use pvectl::backend::ApiBackend;
use serde_json::Value;

use crate::cli::{over_ssh, runtime_dir, sshd_for};
use crate::conformance::{Caps, run_all};
use crate::support::{Pvectl, SimServer, SimTools};

/// Replaces what legitimately differs between two runs: UPIDs, and times taken from the clock.
fn normalise(v: &mut Value) {
    match v {
        Value::String(s) if s.starts_with("UPID:") => *s = "UPID".into(),
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if matches!(k.as_str(), "snaptime" | "starttime" | "endtime" | "uptime" | "pid") && !x.is_null() {
                    *x = Value::from("time");
                } else {
                    normalise(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(normalise),
        _ => {}
    }
}

const SCENARIO: &[&[&str]] = &[
    &["guest", "list"],
    &["guest", "status", "100"],
    &["guest", "config", "102"],
    &["snapshot", "list", "100"],
    &["node", "list"],
    &["storage", "list"],
    &["cluster", "status"],
    &["guest", "shutdown", "100", "--yes"],
    &["guest", "start", "103"],
    &["guest", "start", "103"],
    &["guest", "stop", "101", "--yes"],
    &["snapshot", "create", "102", "parity1", "--description", "a \"b\"; $(c)"],
    &["snapshot", "rollback", "102", "parity1", "--yes"],
    &["snapshot", "delete", "102", "parity1", "--yes"],
    &["guest", "status", "102"],
    &["guest", "status", "4242"],
    &["guest", "list"],
];

#[test]
fn rest_and_pvesh_over_ssh_give_identical_json() {
    let ssh_tools = SimTools::new();
    let sshd = sshd_for(&ssh_tools, &[]);
    let rt = runtime_dir();
    let rest_dir = tempfile::tempdir().expect("temp dir");
    let server = SimServer::start(&rest_dir.path().join("state.json"), &rest_dir.path().join("calls.log"));
    let (token_id, secret_file) = SimServer::root_token(rest_dir.path());
    for args in SCENARIO {
        let a = over_ssh(&sshd.ssh_target(), &sshd.config_path(), &rt).env("PVECTL_AUDIT_LOG", "off").args(*args).args(["-o", "json"]).run();
        let b = Pvectl::new()
            .env("PVECTL_AUDIT_LOG", "off")
            .args(["-t", &server.url, "--fingerprint", &server.fingerprint, "--token-id", &token_id, "--token-secret-file"])
            .arg_path(&secret_file)
            .args(*args)
            .args(["-o", "json"])
            .run();
        assert_eq!(a.code, b.code, "{args:?}: exit codes\nssh: {}\nrest: {}", a.stderr, b.stderr);
        if a.stdout.trim().is_empty() {
            assert!(b.stdout.trim().is_empty(), "{args:?}");
            continue;
        }
        let (mut ja, mut jb) = (a.json(), b.json());
        normalise(&mut ja);
        normalise(&mut jb);
        assert_eq!(ja, jb, "{args:?}: same JSON over ssh/pvesh and REST");
    }
}

#[tokio::test]
async fn rest_conforms() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = SimServer::start(&dir.path().join("state.json"), &dir.path().join("calls.log"));
    let (id, secret) = pvectl::backend::sim::DEMO_TOKENS[0];
    let creds = Credentials { token_id: id.parse().expect("token id"), secret: Secret::new(secret) };
    let opts = RestOptions::new(Endpoint::parse(&server.url).expect("url"), creds, TlsTrust::Pinned(server.fingerprint.parse().expect("fingerprint")));
    let b = ApiBackend::new(RestTransport::new(opts).expect("client"));
    run_all(&b, &Caps { cluster_api: true, node: None }).await;
}
