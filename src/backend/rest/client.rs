//! The REST transport: PVE API calls over HTTPS with an API token.
//!
//! `(method, path, params)` becomes `METHOD https://host:8006/api2/json<path>`:
//! - `GET` and `DELETE` carry the parameters in the query string; `POST` and `PUT` as an
//!   `application/x-www-form-urlencoded` body. pveproxy refuses a body on any other method
//!   (`501 Unexpected content for method 'DELETE'`, pve-http-server `AnyEvent.pm`) and splits
//!   form data on `&` *and* `;`, so values are fully percent-encoded;
//! - the header `Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET` (no CSRF token is
//!   needed with an API token);
//! - the answer is `{"data": ...}`: `data` is returned; an error status is mapped by
//!   [`super::classify_http`].
//!
//! One pooled `reqwest::Client` (HTTP/1.1, keep-alive) serves the whole run. Nothing here
//! prints or returns the secret: [`RestTransport`]'s `Debug` shows its identity only, errors
//! carry the URL (which never holds it), and `-v` traces show `METHOD url k=v`.

use std::fmt::{self, Write as _};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::Value;

use super::credentials::{Credentials, TokenId};
use super::error::classify_http;
use super::settings::Endpoint;
use super::tls::{TlsTrust, client_config};
use crate::backend::api::{ApiTransport, Method, Params, check_params, check_path, render_http};
use crate::error::{Error, Result};

/// How long to wait for the TCP connection and TLS handshake.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default deadline of one request (PVE answers writes with a UPID at once; reads of a
/// busy node may take a while).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Everything the REST transport needs.
#[derive(Debug, Clone)]
pub struct RestOptions {
    /// `https://host:port`.
    pub endpoint: Endpoint,
    /// The API token.
    pub credentials: Credentials,
    /// Which certificates to accept.
    pub trust: TlsTrust,
    /// Deadline of one request.
    pub request_timeout: Duration,
    /// One line per request on stderr (`-v`): method, URL, parameters, status, milliseconds.
    pub trace: bool,
}

impl RestOptions {
    /// Options with the default timeout and no trace.
    pub fn new(endpoint: Endpoint, credentials: Credentials, trust: TlsTrust) -> Self {
        Self { endpoint, credentials, trust, request_timeout: REQUEST_TIMEOUT, trace: false }
    }
}

/// PVE API calls over HTTPS (see the module docs for the wire format).
pub struct RestTransport {
    client: reqwest::Client,
    endpoint: Endpoint,
    base: String,
    token_id: TokenId,
    trust: TlsTrust,
    auth: HeaderValue,
    trace: bool,
}

impl fmt::Debug for RestTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl RestTransport {
    /// Builds the client; no connection is made until the first call.
    ///
    /// # Errors
    /// `Usage` for an unreadable CA file or a secret that cannot go in a header;
    /// `Transport` when no system CA can be loaded or the client cannot be built.
    pub fn new(opts: RestOptions) -> Result<Self> {
        let tls = client_config(&opts.trust)?;
        let trust = opts.trust.clone();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .http1_only()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(opts.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("pvectl/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::transport("could not build the HTTPS client", e))?;
        let mut auth = HeaderValue::from_str(&opts.credentials.authorization())
            .map_err(|_| Error::Usage("the API token secret holds characters that cannot go in an HTTP header".into()))?;
        auth.set_sensitive(true);
        Ok(Self {
            client,
            base: opts.endpoint.api_base(),
            endpoint: opts.endpoint,
            token_id: opts.credentials.token_id,
            trust,
            auth,
            trace: opts.trace,
        })
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The full URL of an API path, each path byte outside `A-Za-z0-9-._~/:@!` percent-encoded
    /// (pveproxy decodes the path once).
    pub fn url(&self, path: &str) -> String {
        let mut url = String::with_capacity(self.base.len() + path.len());
        url.push_str(&self.base);
        for b in path.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~/:@!".contains(&b) {
                url.push(char::from(b));
            } else {
                let _ = write!(url, "%{b:02X}");
            }
        }
        url
    }

    fn transport_error(&self, method: Method, path: &str, e: reqwest::Error) -> Error {
        let mut chain = String::new();
        let mut src: Option<&dyn std::error::Error> = Some(&e);
        while let Some(c) = src {
            chain.push_str(&c.to_string());
            src = c.source();
        }
        let message = if e.is_timeout() {
            format!("{method} {path} on {} timed out", self.endpoint)
        } else if chain.contains("invalid peer certificate") {
            format!("the TLS certificate of {} is not trusted (checked against: {}); nothing was sent", self.endpoint, self.trust)
        } else if e.is_connect() {
            format!("could not connect to {} (TCP or TLS)", self.endpoint)
        } else {
            format!("{method} {path} on {} failed", self.endpoint)
        };
        // reqwest's own text repeats the URL; the cause below it says what happened.
        Error::transport(message, e.without_url())
    }

    /// One call's body after the status check (and the `-v` trace line).
    async fn answer(&self, method: Method, path: &str, params: &Params) -> Result<Vec<u8>> {
        check_path(path)?;
        check_params(params)?;
        let start = Instant::now();
        let out = self.send(method, path, params).await;
        if self.trace {
            let result = out.as_ref().map_or_else(|e| format!("error: {e}"), |(s, r, _)| format!("{s} {r}"));
            eprintln!(
                "pvectl: {} {} -> {result} in {} ms",
                self.describe(),
                self.render(method, path, params),
                start.elapsed().as_millis()
            );
        }
        let (status, reason, body) = out?;
        if !(200..300).contains(&status) {
            return Err(classify_http(status, &reason, &body));
        }
        Ok(body)
    }

    async fn send(&self, method: Method, path: &str, params: &Params) -> Result<(u16, String, Vec<u8>)> {
        let url = self.url(path);
        let req = match method {
            Method::Get => self.client.get(&url).query(params),
            Method::Delete => self.client.delete(&url).query(params),
            Method::Post => self.client.post(&url).form(params),
            Method::Put => self.client.put(&url).form(params),
        };
        let resp = req.header(AUTHORIZATION, self.auth.clone()).send().await.map_err(|e| self.transport_error(method, path, e))?;
        let status = resp.status();
        let reason = resp
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
            .or_else(|| status.canonical_reason().map(str::to_owned))
            .unwrap_or_default();
        let body = resp.bytes().await.map_err(|e| self.transport_error(method, path, e))?;
        Ok((status.as_u16(), reason, body.to_vec()))
    }
}

#[async_trait]
impl ApiTransport for RestTransport {
    fn describe(&self) -> String {
        format!("Rest({}, {})", self.endpoint, self.token_id)
    }

    fn render(&self, method: Method, path: &str, params: &Params) -> String {
        render_http(method, &format!("{}{path}", self.base), params)
    }

    async fn run_tool(&self, tool: &str, args: &[String]) -> Result<crate::backend::command::CommandOutput> {
        let what = std::iter::once(tool).chain(args.iter().take(2).map(String::as_str)).collect::<Vec<_>>().join(" ");
        Err(Error::Unsupported {
            operation: what,
            reason: "over https://: PVE's API has no such call (lxc exec, push and pull need `pct` on the node: use -t local or ssh://)"
                .into(),
        })
    }

    async fn write(&self, method: Method, path: &str, params: &Params) -> Result<(Value, Option<crate::backend::api::Foreground>)> {
        // The task runs on after the answer: its end is the task status's to tell.
        Ok((self.call(method, path, params).await?, None))
    }

    async fn call(&self, method: Method, path: &str, params: &Params) -> Result<Value> {
        let body = self.answer(method, path, params).await?;
        let v: Value = serde_json::from_slice(&body).map_err(|e| Error::parse(format!("the answer to {method} {path}"), e))?;
        match v {
            Value::Object(mut o) => Ok(o.remove("data").unwrap_or(Value::Null)),
            _ => Err(Error::parse(format!("the answer to {method} {path}"), "expected a JSON object with `data`")),
        }
    }

    async fn get_text(&self, path: &str, params: &Params) -> Result<Option<String>> {
        #[derive(serde::Deserialize)]
        struct Envelope<'a> {
            #[serde(borrow)]
            data: Option<&'a serde_json::value::RawValue>,
        }
        let body = self.answer(Method::Get, path, params).await?;
        let env: Envelope<'_> = serde_json::from_slice(&body).map_err(|e| Error::parse(format!("the answer to GET {path}"), e))?;
        Ok(Some(env.data.map_or_else(|| "null".to_owned(), |d| d.get().to_owned())))
    }

    async fn close(&self) -> Result<()> {
        Ok(())
    }
}
