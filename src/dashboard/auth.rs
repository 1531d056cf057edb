//! Access to a dashboard listening beyond loopback: a bearer token read from `--token-file`
//! (mode 0600 or stricter), accepted as `Authorization: Bearer TOKEN`, as the cookie the
//! dashboard sets, or once as `?token=TOKEN` (answered with a redirect that sets the cookie
//! and drops the token from the address).

use std::path::Path;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The cookie holding the token after a `?token=` visit.
const COOKIE: &str = "pvectl_dashboard";

/// The shortest token accepted, characters.
const MIN_TOKEN: usize = 16;

/// The token, kept as its SHA-256 so a comparison takes the same time whatever matches.
#[derive(Clone)]
pub(crate) struct Token {
    digest: [u8; 32],
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

impl Token {
    /// Reads the token file: its first line, trimmed.
    ///
    /// # Errors
    /// `Usage` when the file cannot be read, others than its owner may read or write it, or
    /// the token is shorter than 16 characters.
    pub(crate) fn from_file(path: &Path) -> Result<Self> {
        use std::os::unix::fs::MetadataExt as _;
        let meta = std::fs::metadata(path).map_err(|e| Error::Usage(format!("--token-file {}: {e}", path.display())))?;
        if meta.mode() & 0o077 != 0 {
            return Err(Error::Usage(format!(
                "--token-file {} is readable or writable by others (mode {:o}): chmod 600 it",
                path.display(),
                meta.mode() & 0o777
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::Usage(format!("--token-file {}: {e}", path.display())))?;
        let token = text.lines().next().unwrap_or_default().trim();
        if token.chars().count() < MIN_TOKEN {
            return Err(Error::Usage(format!("--token-file {}: the token must have at least {MIN_TOKEN} characters", path.display())));
        }
        Ok(Self { digest: digest(token) })
    }

    fn matches(&self, candidate: &str) -> bool {
        // Comparing digests: no early exit reveals how much of the token was right.
        digest(candidate).iter().zip(self.digest.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }

    fn presented(headers: &HeaderMap) -> Option<&str> {
        if let Some(b) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")) {
            return Some(b.trim());
        }
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| c.trim().strip_prefix(COOKIE).and_then(|r| r.strip_prefix('=')))
    }
}

/// The `token` parameter of a query string, if present.
fn query_token(query: Option<&str>) -> Option<String> {
    let q = query?;
    q.split('&').find_map(|kv| kv.strip_prefix("token=")).map(|v| percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned())
}

/// Whether `host` (a `Host` header: name or address, maybe a port) names this machine's
/// loopback: a page from another site reaching a loopback dashboard through DNS rebinding
/// carries its own name instead.
fn loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether a write (POST) comes from the dashboard's own pages: a browser's `Sec-Fetch-Site`
/// must say `same-origin`; without it, `Origin` must be absent or name this host (under
/// `Referrer-Policy: no-referrer` a browser's form sends `Origin: null`, so the fetch
/// metadata decides where there is some).
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|o| o.strip_prefix("http://").or_else(|| o.strip_prefix("https://")).is_some_and(|h| h.eq_ignore_ascii_case(host)))
}

/// Middleware: lets a request through when it presents the token (or none is set, and it
/// names a loopback host); a write must also come from the dashboard's own origin.
pub(crate) async fn require(State(token): State<Option<Token>>, req: Request, next: Next) -> Response {
    if req.method() != axum::http::Method::GET && req.method() != axum::http::Method::HEAD && !same_origin(req.headers()) {
        return (StatusCode::FORBIDDEN, "cross-site request refused\n").into_response();
    }
    let Some(token) = token else {
        let host = req.headers().get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if !loopback_host(host) {
            return (
                StatusCode::MISDIRECTED_REQUEST,
                "this dashboard answers only to a loopback host name (127.0.0.1, localhost, [::1])\n",
            )
                .into_response();
        }
        return next.run(req).await;
    };
    if Token::presented(req.headers()).is_some_and(|t| token.matches(t)) {
        return next.run(req).await;
    }
    if let Some(t) = query_token(req.uri().query())
        && token.matches(&t)
    {
        let cookie = format!("{COOKIE}={t}; HttpOnly; SameSite=Strict; Path=/");
        let mut resp = (StatusCode::SEE_OTHER, [(header::LOCATION, req.uri().path().to_owned())]).into_response();
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().insert(header::SET_COOKIE, v);
        }
        return resp;
    }
    (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], "a token is required: open the address with ?token=TOKEN once\n")
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_file_others_can_read_is_refused_and_the_token_matches_exactly() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("dir");
        let p = dir.path().join("token");
        std::fs::write(&p, "0123456789abcdef-token\n").expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let e = Token::from_file(&p).expect_err("0644 is refused");
        assert!(e.to_string().contains("chmod 600"), "{e}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let t = Token::from_file(&p).expect("0600 is fine");
        assert!(t.matches("0123456789abcdef-token"));
        assert!(!t.matches("0123456789abcdef-toke"));
        std::fs::write(&p, "short\n").expect("write");
        assert!(Token::from_file(&p).is_err(), "a short token is refused");
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=b; pvectl_dashboard=xyz"));
        assert_eq!(Token::presented(&h), Some("xyz"));
        assert_eq!(query_token(Some("x=1&token=a%2Bb")).as_deref(), Some("a+b"));
    }

    #[test]
    fn only_loopback_host_names_and_same_origin_writes_pass() {
        for ok in ["127.0.0.1:8080", "localhost:8080", "LOCALHOST", "[::1]:8080", "127.0.0.2"] {
            assert!(loopback_host(ok), "{ok}");
        }
        for bad in ["evil.example:8080", "evil.example", "10.0.0.1:8080", "", "[::2]:80"] {
            assert!(!loopback_host(bad), "{bad}");
        }
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&h), "no Origin: not a browser's cross-site form");
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&h), "a form of our own page under no-referrer");
        h.remove("sec-fetch-site");
        assert!(!same_origin(&h), "Origin null without fetch metadata");
        h.insert(header::ORIGIN, HeaderValue::from_static("http://evil.example"));
        assert!(!same_origin(&h));
    }
}
