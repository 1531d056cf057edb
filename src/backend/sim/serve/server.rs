//! `pve-sim serve --listen ADDR [--tls] [--state FILE]`: the simulator's REST face, an
//! HTTP/1.1 server (hyper) answering `/api2/json/...` like pveproxy (`api.rs`).
//!
//! Every request runs the core under the state file's lock, like the `pvesh`/`qm`/`pct`
//! faces (`statefile.rs`), so REST and those tools see and change one state. Without a
//! state file the server keeps the demo state in memory for its lifetime. Each request that
//! reaches the API appends `["REST", <method>, <API path>, "<k>=<v>", ...]` to `PVE_SIM_LOG`.
//! A tool hang (`faults.hang`) matching the API path delays the answer by its `seconds`
//! (without the lock; its `child` does not apply here).
//!
//! With `--tls` it makes a self-signed certificate at start (names `127.0.0.1` and
//! `localhost`, a fresh key each run, nothing written to disk). At start it prints, one per
//! line on stdout: `fingerprint <AA:BB:…>` (with `--tls`: the certificate's SHA-256 as the
//! PVE GUI shows it and clients pin it, 32 upper-case hex pairs) and `listening <ip:port>`
//! (the bound address, so port 0 picks a free port). SIGTERM or SIGINT
//! stops it: no new connections, requests under way finish (at most 5 s), exit 0.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{ServerConfig, crypto::ring};

use super::api::{Body, Reply, answer};
use super::request::{ApiRequest, Headers};
use crate::backend::sim::core::Sim;
use crate::backend::sim::demo::demo_state;
use crate::backend::sim::hang;
use crate::backend::sim::pvesh_face::Output;
use crate::backend::sim::statefile::{SimEnv, append_log, with_state};

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to bind, e.g. `127.0.0.1:8006` (port 0: any free port).
    pub listen: SocketAddr,
    /// HTTPS with a self-signed certificate made at start.
    pub tls: bool,
    /// State file (`--state` or `PVE_SIM_STATE`), call log and node, as for the other faces.
    pub env: SimEnv,
}

/// Where the state lives while serving.
enum Store {
    /// The state file, locked for each request.
    File(SimEnv),
    /// The demo state in memory, for the server's lifetime.
    Memory(Box<Mutex<Sim>>),
}

impl Store {
    fn run<R>(&self, f: impl FnOnce(&mut Sim) -> R) -> Result<R, String> {
        match self {
            Self::File(env) => with_state(env, f),
            Self::Memory(sim) => Ok(f(&mut sim.lock().unwrap_or_else(PoisonError::into_inner))),
        }
    }
}

/// What every connection shares.
struct Shared {
    store: Store,
    log: Option<PathBuf>,
}

/// Serves until SIGTERM or SIGINT, printing the start lines to `out`.
///
/// # Errors
/// A message when the address cannot be bound, the certificate cannot be made, or the
/// signal handlers cannot be installed.
pub async fn serve(options: ServeOptions, out: &mut dyn std::io::Write) -> Result<(), String> {
    let tls = if options.tls { Some(SelfSigned::generate()?) } else { None };
    let listener = TcpListener::bind(options.listen).await.map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
    let bound = listener.local_addr().map_err(|e| format!("cannot read the bound address: {e}"))?;
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).map_err(|e| format!("cannot handle SIGTERM: {e}"))?;
    if let Some(t) = &tls {
        writeln!(out, "fingerprint {}", t.fingerprint).map_err(|e| e.to_string())?;
    }
    writeln!(out, "listening {bound}").and_then(|()| out.flush()).map_err(|e| e.to_string())?;
    let store = match options.env.state_path {
        Some(_) => Store::File(options.env.clone()),
        None => Store::Memory(Box::new(Mutex::new(Sim::new(demo_state()).with_local_node(options.env.node.clone())))),
    };
    let shared = Arc::new(Shared { store, log: options.env.log_path.clone() });
    let acceptor = tls.map(|t| t.acceptor);
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    connection(stream, acceptor.clone(), Arc::clone(&shared), &graceful);
                }
            }
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(5)) => {}
    }
    Ok(())
}

/// Serves one connection in its own task (TLS handshake first when configured).
fn connection(stream: tokio::net::TcpStream, acceptor: Option<TlsAcceptor>, shared: Arc<Shared>, graceful: &GracefulShutdown) {
    // Small request/answer exchanges: do not let Nagle hold the answer back for an ACK.
    let _ = stream.set_nodelay(true);
    let watcher = graceful.watcher();
    let service = hyper::service::service_fn(move |req| respond(Arc::clone(&shared), req));
    let http = hyper::server::conn::http1::Builder::new();
    tokio::spawn(async move {
        // A failed handshake or a dropped connection concerns that client only.
        match acceptor {
            Some(acceptor) => {
                if let Ok(tls) = acceptor.accept(stream).await {
                    let _ = watcher.watch(http.serve_connection(TokioIo::new(tls), service)).await;
                }
            }
            None => {
                let _ = watcher.watch(http.serve_connection(TokioIo::new(stream), service)).await;
            }
        }
    });
}

/// Reads the request, answers it on a blocking thread (the state file lock blocks), and
/// turns the reply into a response.
async fn respond(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let Ok(body) = body.collect().await.map(http_body_util::Collected::to_bytes) else {
        return Ok(response(Reply::refusal(400, "cannot read the request body")));
    };
    let header = |h: &HeaderMap, name: header::HeaderName| h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (authorization, cookie, content_type) = (
        header(&parts.headers, header::AUTHORIZATION),
        header(&parts.headers, header::COOKIE),
        header(&parts.headers, header::CONTENT_TYPE),
    );
    let method = parts.method.as_str().to_owned();
    let (path, query) = (parts.uri.path().to_owned(), parts.uri.query().map(str::to_owned));
    let shared_first = Arc::clone(&shared);
    let first = tokio::task::spawn_blocking(move || {
        let headers = Headers { authorization: authorization.as_deref(), cookie: cookie.as_deref(), content_type: content_type.as_deref() };
        let req =
            ApiRequest::parse(&method, &path, query.as_deref(), &headers, &body).map_err(|(status, text)| Reply::refusal(status, &text))?;
        if let Some(log) = &shared_first.log {
            append_log(log, &req.log_line()).map_err(|e| Reply::refusal(500, &format!("pve-sim: {e}")))?;
        }
        // A tool hang (`faults.hang`) delays the answer; the core runs after it.
        let (hang, latency) = shared_first
            .store
            .run(|sim| (hang::take(sim, &req.path), sim.state().faults.latency_ms))
            .map_err(|e| Reply::refusal(500, &format!("pve-sim: {e}")))?;
        Ok((req, hang, latency))
    })
    .await
    .unwrap_or_else(|_| Err(Reply::refusal(500, "pve-sim: the request handler failed")));
    let (req, hang, latency) = match first {
        Ok(r) => r,
        Err(reply) => return Ok(response(reply)),
    };
    if let Some(h) = hang {
        // Slept on the runtime, not a blocking thread, so a stopping server drops it.
        tokio::time::sleep(Duration::from_secs(h.seconds)).await;
    }
    if let Some(ms) = latency {
        // Slow calls (`faults.latency_ms`).
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let reply = tokio::task::spawn_blocking(move || {
        shared.store.run(|sim| answer(sim, &req)).unwrap_or_else(|e| Reply::refusal(500, &format!("pve-sim: {e}")))
    })
    .await
    .unwrap_or_else(|_| Reply::refusal(500, "pve-sim: the request handler failed"));
    Ok(response(reply))
}

/// A reply as pveproxy sends it: `Server: pve-api-daemon/3.0`, no caching, the reason
/// phrase, `Connection: close` after an error, JSON as `application/json;charset=UTF-8`.
fn response(reply: Reply) -> Response<Full<Bytes>> {
    let (content_type, bytes) = match reply.body {
        Body::Json(v) => (Some("application/json;charset=UTF-8"), Bytes::from(v.to_string())),
        Body::Text(t) => (None, Bytes::from(t)),
        Body::Empty => (None, Bytes::new()),
    };
    let mut resp = Response::new(Full::new(bytes));
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::SERVER, HeaderValue::from_static("pve-api-daemon/3.0"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=0"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if let Some(ct) = content_type {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    if status.as_u16() >= 400 {
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    let custom = reply.reason.filter(|r| Some(r.as_str()) != status.canonical_reason());
    if let Some(reason) = custom.and_then(|r| hyper::ext::ReasonPhrase::try_from(r.into_bytes()).ok()) {
        resp.extensions_mut().insert(reason);
    }
    resp
}

/// A server certificate with its acceptor.
struct SelfSigned {
    /// Accepts TLS connections with the certificate (TLS 1.2 and 1.3, HTTP/1.1 by ALPN).
    acceptor: TlsAcceptor,
    /// SHA-256 of the certificate's DER, `AA:BB:…` (95 characters).
    fingerprint: String,
}

impl SelfSigned {
    /// Makes a certificate for `127.0.0.1` and `localhost` and a rustls server config (ring).
    ///
    /// # Errors
    /// A message when the key or the certificate cannot be made.
    fn generate() -> Result<Self, String> {
        let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
        let certified = rcgen::generate_simple_self_signed(names).map_err(|e| format!("cannot make a certificate: {e}"))?;
        let cert = certified.cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()));
        let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot configure TLS: {e}"))?
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)
            .map_err(|e| format!("cannot use the certificate: {e}"))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self { acceptor: TlsAcceptor::from(Arc::new(config)), fingerprint: fingerprint(&cert) })
    }
}

/// The SHA-256 fingerprint of a DER certificate as `AA:BB:…`.
fn fingerprint(der: &[u8]) -> String {
    let digest = ::ring::digest::digest(&::ring::digest::SHA256, der);
    digest.as_ref().iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// Usage of `pve-sim serve`.
pub const SERVE_USAGE: &str = "pve-sim serve --listen ADDR:PORT [--tls] [--state FILE]";

/// `pve-sim serve --help`.
const SERVE_HELP: &str = "pve-sim serve: the simulated cluster's REST API, as pveproxy answers it
(`/api2/json/...`, the {\"data\": ...} envelope, PVE's HTTP errors; simulated data).

usage: pve-sim serve --listen ADDR:PORT [--tls] [--state FILE]

  --listen ADDR:PORT  where to listen (port 0 picks a free one); prints `listening ADDR:PORT`
  --tls               HTTPS with a fresh self-signed certificate; prints `fingerprint AA:BB:...`
                      first, to pin with pvectl --fingerprint
  --state FILE        the state file (else PVE_SIM_STATE, else the demo in memory, not kept),
                      shared under its lock with the pve-sim tools and pvectl -t sim
  --help, -h          this text

Authentication: `Authorization: PVEAPIToken=USER@REALM!ID=SECRET` with a demo token
(simulated secrets, never use them elsewhere):
  root@pam!pvectl     00000000-5eed-4000-8000-000000000001   every privilege
  auditor@pve!ro      00000000-5eed-4000-8000-000000000002   PVEAuditor on /
  auditor@pve!empty   00000000-5eed-4000-8000-000000000003   no ACL (sees empty lists)
(without one: 401 No ticket). PVE_SIM_LOG=FILE logs each request; the state's faults
(pvectl sim fault ...) apply: hangs and latency delay answers, denials answer 403, an
offline node 595.

Example:
  pve-sim serve --listen 127.0.0.1:8006 --tls --state ~/.local/state/pvectl/sim.json
  printf 00000000-5eed-4000-8000-000000000001 > tok && chmod 600 tok
  pvectl -t https://127.0.0.1:8006 --fingerprint AA:BB:... --token-id 'root@pam!pvectl' \\
    --token-secret-file tok guest list
";

/// `pve-sim serve ARGS`: parses `--listen ADDR` (required), `--tls` and `--state FILE`
/// (else `PVE_SIM_STATE`), then serves on a single-threaded runtime until stopped. Returns
/// what is left to print: nothing on a clean stop (exit 0); a usage error (exit 2); a
/// failure to start (exit 1).
pub fn run_command(args: &[String], env: &SimEnv) -> Output {
    let mut env = env.clone();
    let (mut listen, mut tls) = (None, false);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (name, inline) = arg.split_once('=').map_or((arg.as_str(), None), |(n, v)| (n, Some(v.to_owned())));
        match name {
            "--help" | "-h" if inline.is_none() => return Output::ok(SERVE_HELP),
            "--tls" if inline.is_none() => tls = true,
            "--listen" | "--state" => {
                let Some(value) = inline.or_else(|| it.next().cloned()) else {
                    return Output::fail(format!("pve-sim serve: {name} needs a value\nusage: {SERVE_USAGE}\n"), 2);
                };
                if name == "--state" {
                    env.state_path = Some(PathBuf::from(value));
                } else {
                    match value.parse::<SocketAddr>() {
                        Ok(a) => listen = Some(a),
                        Err(_) => return Output::fail(format!("pve-sim serve: '{value}' is not an address like 127.0.0.1:8006\n"), 2),
                    }
                }
            }
            _ => return Output::fail(format!("pve-sim serve: unexpected argument '{arg}'\nusage: {SERVE_USAGE}\n"), 2),
        }
    }
    let Some(listen) = listen else {
        return Output::fail(format!("pve-sim serve: --listen is required\nusage: {SERVE_USAGE}\n"), 2);
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return Output::fail(format!("pve-sim serve: cannot start the runtime: {e}\n"), 1),
    };
    let options = ServeOptions { listen, tls, env };
    match runtime.block_on(serve(options, &mut std::io::stdout())) {
        Ok(()) => Output::ok(""),
        Err(e) => Output::fail(format!("pve-sim serve: {e}\n"), 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_look_like_the_gui() {
        assert_eq!(fingerprint(b"").len(), 95);
        assert!(fingerprint(b"").starts_with("E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24"), "SHA-256 of nothing");
        let a = SelfSigned::generate().expect("generates");
        let b = SelfSigned::generate().expect("generates");
        assert_ne!(a.fingerprint, b.fingerprint, "a fresh key each start");
    }
}
