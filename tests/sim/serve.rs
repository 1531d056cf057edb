//! `pve-sim serve` as a REST client sees it: the built binary started on port 0 (plain and
//! TLS), driven with reqwest, compared with what `pve-sim pvesh` answers for the same state.
//!
//! The demo tokens' secrets are test data (`DEMO_TOKENS`), never real credentials.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::ext::ReasonPhrase;
use pvectl::backend::sim::DEMO_TOKENS;
use reqwest::{Method, Response};
use serde_json::{Value, json};
use tokio_rustls::rustls;

use super::{BIN, Sim, log_lines};

const ROOT: usize = 0;
const READ_ONLY: usize = 1;
const EMPTY: usize = 2;

/// A running `pve-sim serve` with its own state file and call log; killed when dropped.
struct Server {
    child: Child,
    addr: String,
    fingerprint: Option<String>,
    state: PathBuf,
    dir: tempfile::TempDir,
}

impl Server {
    /// Starts the server on `127.0.0.1:0` over `state` (created from the demo when missing)
    /// and reads the printed start lines.
    fn start(tls: bool, state: Option<&Path>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = state.map_or_else(|| dir.path().join("state.json"), Path::to_path_buf);
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--state"]).arg(&state);
        if tls {
            cmd.arg("--tls");
        }
        cmd.env("PVE_SIM_LOG", dir.path().join("calls.log")).env_remove("PVE_SIM_STATE").env_remove("PVE_SIM_NODE");
        let mut child = cmd.stdout(Stdio::piped()).spawn().expect("pve-sim serve starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut fingerprint = None;
        let addr = loop {
            let line = lines.next().expect("a start line").expect("utf-8");
            match line.split_once(' ') {
                Some(("fingerprint", f)) => fingerprint = Some(f.to_owned()),
                Some(("listening", a)) => break a.to_owned(),
                _ => panic!("unexpected start line {line:?}"),
            }
        };
        Self { child, addr, fingerprint, state, dir }
    }

    fn url(&self, path: &str) -> String {
        let scheme = if self.fingerprint.is_some() { "https" } else { "http" };
        format!("{scheme}://{}/api2/json{path}", self.addr)
    }

    /// `pve-sim pvesh get <path> --output-format json` over the server's state file.
    fn pvesh(&self, path: &str, params: &[(&str, &str)]) -> Value {
        let mut args: Vec<String> = ["pvesh", "get", path, "--output-format", "json"].map(str::to_owned).into();
        args.extend(params.iter().flat_map(|(k, v)| [format!("--{k}"), (*v).to_owned()]));
        let o = Sim::new(&args.iter().map(String::as_str).collect::<Vec<_>>()).env("PVE_SIM_STATE", &self.state).run();
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).expect("pvesh json")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client; with a pin, TLS accepts exactly the certificate whose SHA-256 is `pin` and
/// records what it saw.
fn client(pin: Option<(&str, Arc<Mutex<Vec<String>>>)>) -> reqwest::Client {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // reqwest is built without a provider of its own (no aws-lc); the first test installs ring.
    let _ = rustls::crypto::CryptoProvider::install_default((*provider).clone());
    let builder = reqwest::Client::builder().timeout(Duration::from_secs(10));
    let Some((pin, seen)) = pin else { return builder.build().expect("client") };
    let verifier = Arc::new(Pinned { pin: pin.to_owned(), seen, provider: Arc::clone(&provider) });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    builder.tls_backend_preconfigured(config).build().expect("client")
}

/// SHA-256 of `der` as `AA:BB:…`, computed here independently of the server.
fn sha256(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der).as_ref().iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

#[derive(Debug)]
struct Pinned {
    pin: String,
    seen: Arc<Mutex<Vec<String>>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let fingerprint = sha256(end_entity);
        self.seen.lock().expect("lock").push(fingerprint.clone());
        if fingerprint == self.pin {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!("fingerprint {fingerprint} is not the pinned one")))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// One request with the demo token `token` (or none); returns status, reason phrase, body.
async fn call(c: &reqwest::Client, method: Method, url: &str, token: Option<usize>, form: &[(&str, &str)]) -> (u16, String, String) {
    let mut req = c.request(method, url);
    if let Some(i) = token {
        let (id, secret) = DEMO_TOKENS[i];
        req = req.header("Authorization", format!("PVEAPIToken={id}={secret}"));
    }
    if !form.is_empty() {
        let body: Vec<String> = form.iter().map(|(k, v)| format!("{k}={v}")).collect();
        req = req.header("Content-Type", "application/x-www-form-urlencoded").body(body.join("&"));
    }
    let resp = req.send().await.expect("response");
    let status = resp.status().as_u16();
    let reason = reason(&resp);
    (status, reason, resp.text().await.expect("body"))
}

fn reason(resp: &Response) -> String {
    resp.extensions()
        .get::<ReasonPhrase>()
        .map_or_else(|| resp.status().canonical_reason().unwrap_or("").to_owned(), |r| String::from_utf8_lossy(r.as_bytes()).into_owned())
}

async fn get_data(s: &Server, c: &reqwest::Client, path: &str, query: &[(&str, &str)], token: usize) -> Value {
    let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let url = if query.is_empty() { s.url(path) } else { format!("{}?{}", s.url(path), query.join("&")) };
    let resp = c.get(url).header("Authorization", auth(token)).send().await.expect("response");
    assert_eq!(resp.status().as_u16(), 200, "GET {path}: {}", reason(&resp));
    assert_eq!(resp.headers()["server"], "pve-api-daemon/3.0");
    assert_eq!(resp.headers()["content-type"], "application/json;charset=UTF-8");
    let body: Value = resp.json().await.expect("json");
    let keys: Vec<&String> = body.as_object().expect("an envelope").keys().collect();
    assert!(keys == ["data"] || keys == ["data", "total"], "GET {path}: {keys:?}");
    body["data"].clone()
}

fn auth(token: usize) -> String {
    format!("PVEAPIToken={}={}", DEMO_TOKENS[token].0, DEMO_TOKENS[token].1)
}

#[tokio::test]
async fn reads_equal_the_pvesh_face() {
    let s = Server::start(false, None);
    let c = client(None);
    let paths: &[(&str, &[(&str, &str)])] = &[
        ("/version", &[]),
        ("/cluster/status", &[]),
        ("/cluster/resources", &[]),
        ("/cluster/resources", &[("type", "vm")]),
        ("/nodes", &[]),
        ("/nodes/pve1/status", &[]),
        ("/nodes/pve1/qemu", &[]),
        ("/nodes/pve2/lxc", &[]),
        ("/nodes/pve1/qemu/100/status/current", &[]),
        ("/nodes/pve1/qemu/100/config", &[]),
        ("/nodes/pve1/lxc/102/snapshot", &[]),
        ("/nodes/pve1/storage", &[("content", "images")]),
        ("/storage", &[]),
        ("/pools", &[]),
        ("/nodes/pve2/tasks", &[("source", "all")]),
    ];
    for (path, query) in paths {
        assert_eq!(get_data(&s, &c, path, query, ROOT).await, s.pvesh(path, query), "GET {path} {query:?}");
    }
    let tasks = s.pvesh("/nodes/pve1/tasks", &[]);
    let upid = tasks[0]["upid"].as_str().expect("a task");
    let log_path = format!("/nodes/pve1/tasks/{upid}/log");
    let resp = c.get(s.url(&log_path)).header("Authorization", auth(ROOT)).send().await.expect("log");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["data"], s.pvesh(&log_path, &[]));
    assert_eq!(body["total"], json!(body["data"].as_array().expect("lines").len()), "the whole log fits one page");
}

#[tokio::test]
async fn authentication_errors_are_401_with_pveproxy_texts() {
    let s = Server::start(false, None);
    let c = client(None);
    assert_eq!(call(&c, Method::GET, &s.url("/version"), None, &[]).await, (401, "No ticket".into(), String::new()));
    for header in ["PVEAPIToken=root@pam!pvectl=wrong-secret", "PVEAPIToken=nobody@pve!x=00000000-5eed-4000-8000-000000000001"] {
        let resp = c.get(s.url("/version")).header("Authorization", header).send().await.expect("response");
        assert_eq!((resp.status().as_u16(), reason(&resp)), (401, "Authentication failed!".to_owned()), "{header}");
    }
}

#[tokio::test]
async fn permissions_are_403_with_the_acl_path_and_privilege() {
    let s = Server::start(false, None);
    let c = client(None);
    let (status, reason, body) = call(&c, Method::GET, &s.url("/nodes/pve1/qemu/100/config"), Some(EMPTY), &[]).await;
    assert_eq!((status, reason.as_str()), (403, "Permission check failed (/vms/100, VM.Audit)"));
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("json"),
        json!({"data": null, "message": "Permission check failed (/vms/100, VM.Audit)\n"})
    );
    // The power action: 403 from the route's privilege once the core has the route; until
    // the core simulates writes, pveproxy's order (handler before privileges) makes it 501.
    let start = "/nodes/pve1/qemu/100/status/start";
    let core_has_start = Sim::new(&["pvesh", "create", start]).env("PVE_SIM_STATE", &s.state).run().status.code() != Some(1);
    let (status, reason, _) = call(&c, Method::POST, &s.url(start), Some(READ_ONLY), &[]).await;
    if core_has_start {
        assert_eq!((status, reason.as_str()), (403, "Permission check failed (/vms/100, VM.PowerMgmt)"));
    } else {
        assert_eq!((status, reason.as_str()), (501, "Method 'POST /nodes/pve1/qemu/100/status/start' not implemented"));
    }
    let (status, reason, _) = call(&c, Method::GET, &s.url("/nodes/pve2/status"), Some(EMPTY), &[]).await;
    assert_eq!((status, reason.as_str()), (403, "Permission check failed (/nodes/pve2, Sys.Audit)"));
    assert_eq!(get_data(&s, &c, "/nodes/pve2/status", &[], READ_ONLY).await["uptime"], s.pvesh("/nodes/pve2/status", &[])["uptime"]);
}

#[tokio::test]
async fn a_privsep_token_without_acls_sees_empty_lists() {
    let s = Server::start(false, None);
    let c = client(None);
    for (path, query) in [
        ("/cluster/resources", &[("type", "vm")][..]),
        ("/cluster/resources", &[("type", "storage")]),
        ("/nodes/pve1/qemu", &[]),
        ("/nodes/pve2/lxc", &[]),
        ("/nodes/pve1/storage", &[]),
        ("/storage", &[]),
        ("/pools", &[]),
        ("/nodes/pve1/tasks", &[]),
    ] {
        assert_eq!(get_data(&s, &c, path, query, EMPTY).await, json!([]), "GET {path} {query:?}");
    }
    // Nodes stay listed, without their figures (pve-manager `extract_node_stats`).
    let nodes = get_data(&s, &c, "/nodes", &[], EMPTY).await;
    assert_eq!(nodes.as_array().map(Vec::len), Some(3));
    assert!(nodes[0].get("mem").is_none() && nodes[0]["status"] == "online");
    let all = get_data(&s, &c, "/cluster/resources", &[], EMPTY).await;
    assert!(all.as_array().expect("list").iter().all(|i| i["type"] == "node"), "{all}");
}

#[tokio::test]
async fn unknown_paths_are_501() {
    let s = Server::start(false, None);
    let c = client(None);
    let (status, reason, body) = call(&c, Method::GET, &s.url("/nodes/pve1/frobnicate"), Some(ROOT), &[]).await;
    assert_eq!((status, reason.as_str()), (501, "Method 'GET /nodes/pve1/frobnicate' not implemented"));
    assert_eq!(serde_json::from_str::<Value>(&body).expect("json")["message"], "Method 'GET /nodes/pve1/frobnicate' not implemented");
    let (status, _, _) = call(&c, Method::POST, &s.url("/version"), Some(ROOT), &[("a", "1")]).await;
    assert_eq!(status, 501);
}

#[tokio::test]
async fn tls_serves_the_certificate_whose_fingerprint_it_printed() {
    let s = Server::start(true, None);
    let printed = s.fingerprint.clone().expect("--tls prints a fingerprint");
    assert_eq!(printed.len(), 95, "32 upper-case hex pairs: {printed}");
    assert!(printed.chars().all(|ch| ch == ':' || ch.is_ascii_digit() || ch.is_ascii_uppercase()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let c = client(Some((&printed, Arc::clone(&seen))));
    assert_eq!(get_data(&s, &c, "/version", &[], ROOT).await, s.pvesh("/version", &[]));
    assert_eq!(seen.lock().expect("lock").first(), Some(&printed), "SHA-256 of the served certificate");
    let wrong_seen = Arc::new(Mutex::new(Vec::new()));
    let wrong = client(Some(("00:11", Arc::clone(&wrong_seen))));
    let e = wrong.get(s.url("/version")).send().await.expect_err("another pin is refused");
    // Refused by the pin check on the served certificate, not by anything before it.
    assert_eq!(*wrong_seen.lock().expect("lock"), std::slice::from_ref(&printed), "the handshake reached the certificate");
    let mut chain = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        chain = format!("{chain}: {cause}");
        source = cause.source();
    }
    assert!(chain.contains(&format!("fingerprint {printed} is not the pinned one")), "{chain}");
}

#[tokio::test]
async fn requests_are_logged_and_the_state_file_is_shared() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.json");
    assert_eq!(Sim::new(&["init", state.to_str().expect("utf-8")]).run().status.code(), Some(0));
    let s = Server::start(false, Some(&state));
    let c = client(None);
    get_data(&s, &c, "/cluster/resources", &[("type", "vm")], ROOT).await;
    let log = s.dir.path().join("calls.log");
    let state_arg = state.to_str().expect("utf-8");
    assert_eq!(
        log_lines(&log),
        [vec!["pve-sim", "serve", "--listen", "127.0.0.1:0", "--state", state_arg], vec!["REST", "GET", "/cluster/resources", "type=vm"]],
        "the invocation, as for every pve-sim run, then one line per request"
    );
    // The server loads the file for each request, under the lock the pvesh face takes.
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&state).expect("state")).expect("json");
    v["cluster_name"] = json!("renamed");
    v["tokens"].as_array_mut().expect("tokens").push(json!({
        "tokenid": "ops@pve!vm100", "secret": "s-100", "acls": [{"path": "/vms/100", "privileges": ["VM.Audit"]}]
    }));
    std::fs::write(&state, v.to_string()).expect("write state");
    let status = get_data(&s, &c, "/cluster/status", &[], ROOT).await;
    assert_eq!(status[0]["name"], "renamed");
    let resp =
        c.get(s.url("/cluster/resources?type=vm")).header("Authorization", "PVEAPIToken=ops@pve!vm100=s-100").send().await.expect("r");
    let list: Value = resp.json().await.expect("json");
    assert_eq!(list["data"].as_array().map(|l| l.iter().map(|g| g["vmid"].clone()).collect::<Vec<_>>()), Some(vec![json!(100)]));
    // A state file from before tokens existed still loads; it has no REST access.
    v.as_object_mut().expect("object").remove("tokens");
    std::fs::write(&state, v.to_string()).expect("write state");
    assert_eq!(s.pvesh("/version", &[])["version"], "9.1.4");
    let (status, reason, _) = call(&c, Method::GET, &s.url("/version"), Some(ROOT), &[]).await;
    assert_eq!((status, reason.as_str()), (401, "Authentication failed!"));
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let mut s = Server::start(true, None);
    let pid = s.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs").success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = s.child.try_wait().expect("wait") {
            break st;
        }
        assert!(Instant::now() < deadline, "still running 10 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn a_hang_fault_delays_the_matching_answer_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.json");
    assert_eq!(Sim::new(&["init", state.to_str().expect("utf-8")]).run().status.code(), Some(0));
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&state).expect("state")).expect("json");
    v["faults"]["hang"] = json!([{"path": "/nodes/*/status"}]);
    std::fs::write(&state, v.to_string()).expect("write state");
    let s = Server::start(false, Some(&state));
    let c = client(None);
    let hanging = tokio::spawn({
        let (c, url) = (c.clone(), s.url("/nodes/pve1/status"));
        async move { c.get(url).header("Authorization", auth(ROOT)).send().await.map(|r| r.status().as_u16()) }
    });
    // Once the server has counted the request (saved in the state file), it does not answer.
    let calls = || -> Value {
        serde_json::from_str::<Value>(&std::fs::read_to_string(&state).expect("state")).expect("json")["faults"]["hang"][0]["calls"].clone()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while calls() != 1 {
        assert!(Instant::now() < deadline, "the request never reached the server");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!hanging.is_finished(), "a matching request gets no answer");
    // The server and the state file are free meanwhile.
    assert_eq!(get_data(&s, &c, "/version", &[], ROOT).await, s.pvesh("/version", &[]));
    assert!(!hanging.is_finished(), "still no answer");
    hanging.abort();
    assert_eq!(calls(), 1, "the other request did not count");
}
