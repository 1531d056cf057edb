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

/// Middleware: lets a request through when no token is set or it presents the token.
pub(crate) async fn require(State(token): State<Option<Token>>, req: Request, next: Next) -> Response {
    let Some(token) = token else { return next.run(req).await };
    if Token::presented(req.headers()).is_some_and(|t| token.matches(t)) {
        return next.run(req).await;
    }
    if let Some(t) = query_token(req.uri().query()) {
        if token.matches(&t) {
            let cookie = format!("{COOKIE}={t}; HttpOnly; SameSite=Strict; Path=/");
            let mut resp = (StatusCode::SEE_OTHER, [(header::LOCATION, req.uri().path().to_owned())]).into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            return resp;
        }
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
}
