//! A tiny HTTPS/1.1 server for the REST tests: a certificate made with rcgen at test time,
//! tokio-rustls for TLS, a hand-written HTTP/1.1 loop (keep-alive, `Content-Length` bodies),
//! and a record of every TLS handshake and request it saw. It runs on its own thread with its
//! own runtime, so tests that drive the `pvectl` binary can use it too; it listens on
//! 127.0.0.1 only and stops when dropped.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A server certificate and key, with what a client needs to trust it.
pub(crate) struct Identity {
    cert: CertificateDer<'static>,
    key: Vec<u8>,
    /// SHA-256 of the certificate as `AA:BB:...`.
    pub(crate) fingerprint: String,
    /// The issuing CA as PEM, for a CA-signed identity.
    pub(crate) ca_pem: Option<String>,
}

fn fingerprint(der: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, der);
    d.as_ref().iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

impl Identity {
    /// A self-signed certificate for 127.0.0.1 and localhost, as a PVE node's own.
    pub(crate) fn self_signed() -> Self {
        let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).expect("rcgen");
        let cert = ck.cert.der().clone();
        Self { fingerprint: fingerprint(&cert), cert, key: ck.signing_key.serialize_der(), ca_pem: None }
    }

    /// A certificate for 127.0.0.1 signed by a fresh CA, as `pve-root-ca.pem` signs node certs.
    pub(crate) fn ca_signed() -> Self {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "pvectl test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().expect("key")).expect("ca");
        let leaf_key = rcgen::KeyPair::generate().expect("key");
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("params").signed_by(&leaf_key, &ca).expect("leaf");
        let cert = leaf.der().clone();
        Self { fingerprint: fingerprint(&cert), cert, key: leaf_key.serialize_der(), ca_pem: Some(ca.pem()) }
    }
}

/// One request as the server read it.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    /// `GET`, `POST`, ...
    pub(crate) method: String,
    /// The request target: path and query, as sent.
    pub(crate) target: String,
    /// Headers, names lower-cased.
    pub(crate) headers: Vec<(String, String)>,
    /// The body.
    pub(crate) body: String,
}

impl Recorded {
    /// A header's value.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The path without the query.
    pub(crate) fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// The query string decoded as pveproxy does (split on `&` and `;`, `+` is a space).
    pub(crate) fn query(&self) -> Vec<(String, String)> {
        self.target.split_once('?').map(|(_, q)| decode_form(q)).unwrap_or_default()
    }

    /// The body decoded as pveproxy decodes a form.
    pub(crate) fn form(&self) -> Vec<(String, String)> {
        decode_form(&self.body)
    }
}

/// pve-http-server's `decode_urlencoded`: pairs split on `&` or `;`, `+` -> space, `%XX`.
pub(crate) fn decode_form(s: &str) -> Vec<(String, String)> {
    s.split(['&', ';'])
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (unescape(k), unescape(v))
        })
        .collect()
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).expect("ascii");
                out.push(u8::from_str_radix(hex, 16).expect("hex"));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).expect("utf-8")
}

/// The answer to one request: status, reason phrase, JSON body.
pub(crate) type Reply = (u16, String, String);

/// Decides the answer to each request.
pub(crate) type Responder = Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>;

/// A `200 OK` with `{"data": <data>}`.
pub(crate) fn ok(data: &serde_json::Value) -> Reply {
    (200, "OK".into(), serde_json::json!({ "data": data }).to_string())
}

/// What the server saw.
#[derive(Default)]
pub(crate) struct Seen {
    /// TCP connections accepted.
    pub(crate) connections: AtomicUsize,
    /// TLS handshakes that failed (the client refused the certificate).
    pub(crate) failed_handshakes: AtomicUsize,
    /// Requests read, in order.
    pub(crate) requests: Mutex<Vec<Recorded>>,
    /// Every plaintext byte received after a handshake, for greps.
    pub(crate) plaintext: Mutex<Vec<u8>>,
}

/// A running server.
pub(crate) struct Server {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    /// What it saw.
    pub(crate) seen: Arc<Seen>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    /// Starts a server with `id` answering with `responder`.
    pub(crate) fn start(id: &Identity, responder: Responder) -> Self {
        let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![id.cert.clone()], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key.clone())))
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("addr");
        let seen = Arc::new(Seen::default());
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let seen2 = seen.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        acc = listener.accept() => {
                            let Ok((tcp, _)) = acc else { continue };
                            seen2.connections.fetch_add(1, Ordering::SeqCst);
                            let (acceptor, seen, responder) = (acceptor.clone(), seen2.clone(), responder.clone());
                            tokio::spawn(async move {
                                match acceptor.accept(tcp).await {
                                    Ok(tls) => serve(tls, &seen, &responder).await,
                                    Err(_) => { seen.failed_handshakes.fetch_add(1, Ordering::SeqCst); }
                                }
                            });
                        }
                    }
                }
            });
        });
        Self { addr, seen, stop: Some(stop) }
    }

    /// `https://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The requests so far.
    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.seen.requests.lock().expect("lock").clone()
    }

    /// Failed handshakes so far.
    pub(crate) fn failed_handshakes(&self) -> usize {
        self.seen.failed_handshakes.load(Ordering::SeqCst)
    }

    /// The plaintext received so far.
    pub(crate) fn plaintext(&self) -> String {
        String::from_utf8_lossy(&self.seen.plaintext.lock().expect("lock")).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Reads the next bytes of a connection into `buf` (and the record of everything received);
/// `false` at the end of the connection.
async fn read_more(tls: &mut tokio_rustls::server::TlsStream<tokio::net::TcpStream>, seen: &Seen, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 4096];
    match tls.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            seen.plaintext.lock().expect("lock").extend_from_slice(&chunk[..n]);
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

async fn serve(mut tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>, seen: &Seen, responder: &Responder) {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        // Headers.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            if !read_more(&mut tls, seen, &mut buf).await {
                return;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut first = lines.next().unwrap_or("").split(' ');
        let (method, target) = (first.next().unwrap_or("").to_owned(), first.next().unwrap_or("").to_owned());
        let headers: Vec<(String, String)> =
            lines.filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))).collect();
        let len: usize = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
        while buf.len() < head_end + 4 + len {
            if !read_more(&mut tls, seen, &mut buf).await {
                return;
            }
        }
        let body = String::from_utf8_lossy(&buf[head_end + 4..head_end + 4 + len]).into_owned();
        buf.drain(..head_end + 4 + len);
        let req = Recorded { method, target, headers, body };
        let (status, reason, body) = responder(&req);
        seen.requests.lock().expect("lock").push(req);
        let resp = format!(
            "HTTP/1.1 {status} {reason}\r\nServer: pve-api-daemon/3.0\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if tls.write_all(resp.as_bytes()).await.is_err() || tls.flush().await.is_err() {
            return;
        }
    }
}
