//! The HTTP server: axum over HTTP/1.1 on one listener, GET routes only, the security headers
//! on every response, the token check when listening beyond loopback, `/events` as
//! server-sent events, and the static CSS/JS compiled into the binary.

use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::future::BoxFuture;

use super::auth::Token;
use super::state::{Shared, Slot, TargetSnapshot};
use crate::backend::Backend;
use crate::checks::Thresholds;
use crate::error::{Error, Result};

/// Opens one target for the dashboard; called again after a failure. The dashboard wraps
/// what it returns: in `Guarded` with the policy ceiling `read` for every read, and (with
/// `allow_actions`) in `Guarded` with the target's policy and the audit face `dashboard` for
/// the actions.
pub type OpenTarget = Arc<dyn Fn() -> BoxFuture<'static, Result<Arc<dyn Backend>>> + Send + Sync>;

/// One target to show.
pub struct TargetSource {
    /// Its name as selected (`sim`, a config name).
    pub name: String,
    /// How to open it.
    pub open: OpenTarget,
    /// Its policy (`[policy]` tightened by `[targets.NAME.policy]`), for the actions.
    pub policy: crate::safety::PolicyRules,
}

/// How to serve.
pub struct Options {
    /// Where to listen (`--listen`, default `127.0.0.1:8080`; port 0 picks a free one).
    pub listen: SocketAddr,
    /// `--token-file`: required unless `listen` is a loopback address.
    pub token_file: Option<PathBuf>,
    /// Seconds between two refreshes of a target (`--refresh`, at least 1).
    pub refresh: Duration,
    /// How long one refresh or one page's own reads may take.
    pub deadline: Duration,
    /// Check thresholds (defaults, then the config file's `[checks]`).
    pub thresholds: Thresholds,
    /// The audit log shown on `/audit`, if there is one.
    pub audit_path: Option<PathBuf>,
    /// `--allow-actions`: power actions and snapshot create on the guest page (plan, confirm,
    /// apply); without it no route accepts anything but GET.
    pub allow_actions: bool,
    /// How long an action may take, waiting for its task included.
    pub action_timeout: Duration,
}

/// The security headers of every response (no inline script, no framing, no sniffing, no referrer).
const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("content-security-policy", "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'"),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
];

async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    for (k, v) in SECURITY_HEADERS {
        h.insert(k, HeaderValue::from_static(v));
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

const CSS: &str = include_str!("assets/dashboard.css");
const JS: &str = include_str!("assets/dashboard.js");

async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS)
}

async fn js() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], JS)
}

/// `/events`: one `versions` event at once and after every snapshot change, its data
/// `{"TARGET": version, ...}`. Reads only the shared state.
async fn events(State(shared): State<Arc<Shared>>) -> Sse<impl futures_util::Stream<Item = std::result::Result<Event, Infallible>>> {
    let rx = shared.changed.subscribe();
    let stream = futures_util::stream::unfold((shared, rx, true), |(shared, mut rx, first)| async move {
        if !first && rx.changed().await.is_err() {
            return None;
        }
        rx.borrow_and_update();
        let versions: serde_json::Map<String, serde_json::Value> =
            shared.snapshots().iter().map(|s| (s.target.clone(), serde_json::Value::from(s.version))).collect();
        let event = Event::default().event("versions").data(serde_json::Value::Object(versions).to_string());
        Some((Ok(event), (shared, rx, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// The router: GET routes only (no handler for any other method exists).
pub(crate) fn router(shared: Arc<Shared>, token: Option<Token>) -> Router {
    use super::pages;
    let mut r = Router::new();
    if shared.actions.is_some() {
        // The only routes taking POST, and only with --allow-actions.
        r = r.route("/t/{target}/guest/{vmid}/act/{action}", get(super::actions::plan_page).post(super::actions::apply));
    }
    r.route("/", get(pages::fleet))
        .route("/t/{target}", get(pages::target))
        .route("/t/{target}/guest/{vmid}", get(pages::guest))
        .route("/t/{target}/task/{upid}", get(pages::task))
        .route("/tasks", get(pages::tasks))
        .route("/checks", get(pages::checks))
        .route("/audit", get(pages::audit))
        .route("/live/fleet", get(pages::live_fleet))
        .route("/live/t/{target}", get(pages::live_target))
        .route("/live/t/{target}/guest/{vmid}", get(pages::live_guest))
        .route("/live/tasks", get(pages::live_tasks))
        .route("/live/checks", get(pages::live_checks))
        .route("/events", get(events))
        .route("/static/dashboard.css", get(css))
        .route("/static/dashboard.js", get(js))
        .with_state(shared)
        .layer(middleware::from_fn_with_state(token, super::auth::require))
        .layer(middleware::from_fn(security_headers))
}

/// Resolves at the first SIGINT or SIGTERM (never, if the handlers cannot be installed).
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
}

/// Serves the dashboard until SIGINT/SIGTERM: binds, prints `listening http://ADDR` on stdout
/// (and, beyond loopback, that a token is required), starts one refresher per target.
///
/// # Errors
/// `Usage` for a non-loopback address without `--token-file`, a bad token file, or no target;
/// `Transport` when the address cannot be bound.
pub async fn serve(opts: Options, targets: Vec<TargetSource>) -> Result<()> {
    if targets.is_empty() {
        return Err(Error::Usage("the dashboard needs at least one target".into()));
    }
    let token = match (&opts.token_file, opts.listen.ip().is_loopback()) {
        (Some(p), _) => Some(Token::from_file(p)?),
        (None, true) => None,
        (None, false) => {
            return Err(Error::Usage(format!(
                "--listen {} is not a loopback address: pass --token-file with a secret token (mode 0600) so only its holders can look",
                opts.listen
            )));
        }
    };
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| Error::Transport { message: format!("cannot listen on {}: {e}", opts.listen), source: None })?;
    let addr = listener.local_addr().map_err(|e| Error::Internal(format!("no local address: {e}")))?;
    let (changed, _) = tokio::sync::watch::channel(0u64);
    let shared = Arc::new(Shared {
        slots: targets
            .iter()
            .map(|t| Slot {
                name: t.name.clone(),
                snapshot: RwLock::new(Arc::new(TargetSnapshot { target: t.name.clone(), ..TargetSnapshot::default() })),
                backend: RwLock::new(None),
                actor: RwLock::new(None),
                policy: t.policy.clone(),
            })
            .collect(),
        changed,
        history: Mutex::new(Vec::new()),
        refresh: opts.refresh,
        deadline: opts.deadline,
        audit_path: opts.audit_path.clone(),
        actions: opts.allow_actions.then(|| super::state::Actions { csrf: super::actions::new_csrf(), timeout: opts.action_timeout }),
    });
    let mut refreshers = Vec::new();
    for (i, t) in targets.into_iter().enumerate() {
        refreshers.push(tokio::spawn(super::refresh::run(shared.clone(), i, t.open, opts.thresholds.clone())));
    }
    // A closed stdout (the starter stopped reading) must not stop the server.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "listening http://{addr}");
    if token.is_some() {
        let _ = writeln!(out, "a token is required: open http://{addr}/?token=TOKEN once (the token from --token-file)");
    }
    let _ = out.flush();
    super::views::ACTIONS_ALLOWED.store(opts.allow_actions, std::sync::atomic::Ordering::Relaxed);
    let mode = if opts.allow_actions { "actions allowed (plan, confirm, apply; audit face dashboard)" } else { "read-only" };
    eprintln!("pvectl dashboard: {mode}; refreshing every {} s; Ctrl-C stops", opts.refresh.as_secs());
    let app = router(shared.clone(), token);
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async {
            stop_signal().await;
        })
        .await
        .map_err(|e| Error::Transport { message: format!("the dashboard server failed: {e}"), source: None });
    for r in refreshers {
        r.abort();
    }
    for s in &shared.slots {
        if let Some(b) = s.backend() {
            let _ = b.close().await;
        }
    }
    result
}
