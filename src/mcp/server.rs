//! The MCP server: lists the tools of [`super::tools::TOOLS`] and answers their calls. Reads go
//! to the worker; `plan_*` tools return a plan and remember it by digest; `apply` re-reads,
//! asks for consent as [`super::consent::needed`] says (an elicitation shown to the client's
//! human, or the `approve` argument where `[mcp] auto_approve` allows it), and runs the plan
//! only if the state still gives the same digest.
//!
//! Every failure is a tool result with `isError` and the CLI's `-o json` error document,
//! `{"error": {"kind", "message", "hint", "exit_code"}}`, sometimes with the `plan` or
//! `report` it concerns; protocol errors are left to the SDK.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, InitializeResult, ListToolsResult,
    PaginatedRequestParams, ProtocolVersion, ServerCapabilities, ServerConfig,
};
use rmcp::service::{ElicitationError, ElicitationMode, RequestContext};
use rmcp::{ErrorData, Peer, RoleServer, ServerHandler};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::args;
use super::consent::{McpSettings, Needed, needed};
use super::plans::{PlanStore, Remembered};
use super::tools::{self, ToolKind, ToolSpec};
use super::worker::{Done, Job, Planned, Worker};
use crate::error::Error;

/// How long a human has to answer an approval request.
const ASK_TIMEOUT: Duration = Duration::from_secs(600);

/// The answer form of an approval request.
#[derive(Debug, Deserialize, JsonSchema)]
struct ApprovalForm {
    /// Yes: run this plan now.
    approve: bool,
}

rmcp::elicit_safe!(ApprovalForm);

/// A failed tool call: the error and what it concerns.
#[derive(Debug)]
struct Failure {
    error: Error,
    /// `("plan", plan)` or `("report", report)`.
    with: Option<(&'static str, Value)>,
}

/// Hints for an MCP client where the error's own names the CLI's way out (`--yes`, a
/// terminal) or another cause (a lock).
fn hint(e: &Error, conflict_with_plan: bool) -> Option<&'static str> {
    match e {
        Error::ConfirmationRequired(_) => {
            Some("approve the plan when the client asks; without elicitation, see [mcp] auto_approve, or use the CLI with --yes")
        }
        Error::Conflict(_) if conflict_with_plan => Some("read the attached plan; if it is still wanted, call apply with its digest"),
        _ => e.hint(),
    }
}

/// A successful tool call's answer.
#[derive(Debug)]
enum Answer {
    /// A read's JSON text, passed on as the CLI prints it (number formats included).
    Text(String),
    /// A document of the server's own (plans, reports).
    Json(Value),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self { error, with: None }
    }
}

/// The `pvectl mcp` server of one session.
#[derive(Debug)]
pub struct PvectlMcp {
    worker: Worker,
    plans: Mutex<PlanStore>,
    settings: McpSettings,
}

impl PvectlMcp {
    /// A server running its calls on `worker` under `settings`.
    pub fn new(worker: Worker, settings: McpSettings) -> Self {
        Self { worker, plans: Mutex::new(PlanStore::default()), settings }
    }

    fn plans(&self) -> std::sync::MutexGuard<'_, PlanStore> {
        self.plans.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs one tool; the JSON result or the failure.
    async fn call(&self, tool: &'static ToolSpec, args: Value, peer: &Peer<RoleServer>) -> Result<Answer, Failure> {
        let client = client_name(peer);
        match tool.kind {
            ToolKind::Read => match self.worker.run(Job::Read { tool, args }).await? {
                Done::Text(text) => Ok(Answer::Text(text)),
                other => Err(unexpected(&other).into()),
            },
            ToolKind::Plan => match self.worker.run(Job::Plan { tool, args: args.clone(), client }).await? {
                Done::Planned(p) => Ok(Answer::Json(self.remember(tool, &args, p))),
                other => Err(unexpected(&other).into()),
            },
            ToolKind::Apply => self.apply(args, client, peer).await.map(Answer::Json),
        }
    }

    /// The result of a `plan_*` tool, remembering the plan by its digest.
    fn remember(&self, tool: &'static ToolSpec, args: &Value, planned: Planned) -> Value {
        match planned {
            Planned::Noop(report) => json!({"plan": null, "report": *report}),
            Planned::Plan(plan, summary) => {
                self.plans().insert(&plan.digest, Remembered { tool: tool.name, args: args.clone(), tier: plan.tier });
                let approval = match needed(plan.tier, self.settings, false, false) {
                    Needed::Nobody => json!({"needed": false, "how": "call apply with this digest"}),
                    _ => json!({
                        "needed": true,
                        "how": format!(
                            "call apply with this digest: a {} plan runs only after a human approves it in the client (MCP elicitation), \
                             or with approve: true where [mcp] auto_approve allows {} (now \"{}\")",
                            plan.tier, plan.tier, self.settings.auto_approve
                        ),
                    }),
                };
                json!({"plan": *plan, "summary": summary, "approval": approval})
            }
        }
    }

    async fn apply(&self, args: Value, client: String, peer: &Peer<RoleServer>) -> Result<Value, Failure> {
        let a: args::ApplyArgs = args::args("apply", &args)?;
        let Some(r) = self.plans().get(&a.digest) else {
            return Err(Error::NotFound(format!(
                "no plan with digest {:?} in this session (plans are kept per session, the newest {}); make one with a plan_* tool",
                crate::model::clip(&a.digest, 80),
                super::plans::MAX_PLANS
            ))
            .into());
        };
        let tool = tools::find(r.tool).ok_or_else(|| Error::Internal(format!("remembered tool {} is unknown", r.tool)))?;
        // Read again before asking anyone: a human approves what is true now.
        let (tier, summary) = match self.worker.run(Job::Plan { tool, args: r.args.clone(), client: client.clone() }).await? {
            Done::Planned(Planned::Plan(p, summary)) if p.digest == a.digest => (p.tier, summary),
            Done::Planned(fresh) => return Err(self.conflict(&a.digest, tool, &r.args, fresh)),
            other => return Err(unexpected(&other).into()),
        };
        let elicitation = peer.supported_elicitation_modes().contains(&ElicitationMode::Form);
        match needed(tier, self.settings, elicitation, a.approve) {
            Needed::Nobody | Needed::Approved => {}
            Needed::Refused(why) => return Err(Error::ConfirmationRequired(format!("{summary}: {why}")).into()),
            Needed::AskHuman => ask(peer, &summary, tier, &a.digest).await?,
        }
        match self.worker.run(Job::Apply { tool, args: r.args.clone(), digest: a.digest.clone(), client }).await? {
            Done::Applied(report) => {
                self.plans().remove(&a.digest);
                Ok(json!(*report))
            }
            Done::Incomplete(report, error) => {
                self.plans().remove(&a.digest);
                Err(Failure { error, with: Some(("report", json!(*report))) })
            }
            Done::Conflict(fresh) => Err(self.conflict(&a.digest, tool, &r.args, fresh)),
            other => Err(unexpected(&other).into()),
        }
    }

    /// The state changed since plan `old`: forget it, remember the new plan, and say so.
    fn conflict(&self, old: &str, tool: &'static ToolSpec, args: &Value, fresh: Planned) -> Failure {
        self.plans().remove(old);
        let short = &old[..old.len().min(12)];
        match fresh {
            Planned::Plan(p, _) => {
                let message = format!(
                    "the state changed since plan {short}: nothing was sent; the new plan (digest {}) is attached, apply it if it is still wanted",
                    p.digest
                );
                let plan = self.remember(tool, args, Planned::Plan(p, String::new()));
                Failure { error: Error::Conflict(message), with: Some(("plan", plan["plan"].clone())) }
            }
            Planned::Noop(report) => Failure {
                error: Error::Conflict(format!("the state changed since plan {short}: there is nothing to do now; nothing was sent")),
                with: Some(("report", json!(*report))),
            },
        }
    }
}

/// Asks the client's human to approve; `Ok` only on an explicit yes.
async fn ask(peer: &Peer<RoleServer>, summary: &str, tier: crate::backend::Tier, digest: &str) -> Result<(), Failure> {
    let question = format!("pvectl: apply {summary}? Tier: {tier}. Plan digest: {digest}. Approve only if this is intended.");
    let no = |why: &str| Failure::from(Error::ConfirmationRequired(format!("{summary} was not approved ({why}); nothing was sent")));
    match peer.elicit_with_timeout::<ApprovalForm>(crate::redact::redact(&question).into_owned(), Some(ASK_TIMEOUT)).await {
        Ok(Some(ApprovalForm { approve: true })) => Ok(()),
        Ok(_) => Err(no("the answer was approve: false")),
        Err(ElicitationError::UserDeclined) => Err(no("declined")),
        Err(ElicitationError::UserCancelled) => Err(no("cancelled")),
        Err(e) => Err(no(&format!("the approval request failed: {}", crate::model::clip(&e.to_string(), 200)))),
    }
}

fn unexpected(d: &Done) -> Error {
    Error::Internal(format!("the MCP worker answered out of turn: {}", crate::model::clip(&format!("{d:?}"), 200)))
}

/// The client's name from `initialize` (`clientInfo.name`), bounded; `unknown` before it.
fn client_name(peer: &Peer<RoleServer>) -> String {
    peer.peer_info().map_or_else(|| "unknown".into(), |i| crate::model::clip(&i.client_info.name, 100))
}

/// A tool result: the JSON text (a read's text as it is), or the error document.
fn result(r: Result<Answer, Failure>) -> CallToolResult {
    match r {
        Ok(Answer::Text(text)) => CallToolResult::success(vec![ContentBlock::text(text)]),
        Ok(Answer::Json(v)) => structured(CallToolResult::success(vec![ContentBlock::text(pretty(&v))])),
        Err(Failure { error, with }) => {
            let with_plan = with.as_ref().is_some_and(|(k, _)| *k == "plan");
            let mut doc = json!({"error": {
                "kind": error.kind(),
                "message": message(&error),
                "hint": hint(&error, with_plan),
                "exit_code": error.exit_code(),
            }});
            if let Some((k, v)) = with {
                doc[k] = v;
            }
            structured(CallToolResult::error(vec![ContentBlock::text(pretty(&doc))]))
        }
    }
}

/// Adds the server's own object documents as `structuredContent` too, parsed back from the
/// (redacted) text so both say the same.
fn structured(mut r: CallToolResult) -> CallToolResult {
    if let Some(ContentBlock::Text(t)) = r.content.first() {
        r.structured_content = serde_json::from_str::<Value>(&t.text).ok().filter(Value::is_object);
    }
    r
}

/// The headline and its causes, as the CLI's JSON errors give them.
fn message(e: &Error) -> String {
    let mut m = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        m.push_str(": ");
        m.push_str(&s.to_string());
        src = s.source();
    }
    m
}

fn pretty(v: &Value) -> String {
    let text = serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"failed to serialise the result: {e}\"}}"));
    crate::redact::redact(&text).into_owned()
}

impl ServerHandler for PvectlMcp {
    fn get_info(&self) -> ServerConfig {
        InitializeResult::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("pvectl", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "pvectl manages a Proxmox VE cluster safely. Reads answer at once. Changes take two steps: a plan_* tool \
                 returns the plan (tier, calls, state read first, digest) and sends nothing; apply with that digest runs it \
                 only if the state is unchanged (else a conflict with the new plan) and with consent: disruptive and \
                 destructive plans need a human's approval. Errors carry kind and exit_code as the CLI's.",
            )
    }

    /// Versions up to 2025-11-25: later ones forbid the server's requests that ask a human
    /// for approval (elicitation).
    fn supported_protocol_versions(&self) -> std::borrow::Cow<'static, [ProtocolVersion]> {
        std::borrow::Cow::Borrowed(ProtocolVersion::known_up_to(&ProtocolVersion::V_2025_11_25))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools::listed()))
    }

    async fn call_tool(&self, request: CallToolRequestParams, context: RequestContext<RoleServer>) -> Result<CallToolResponse, ErrorData> {
        let args = Value::Object(request.arguments.unwrap_or_default());
        let r = match tools::find(&request.name) {
            Some(tool) => self.call(tool, args, &context.peer).await,
            None => {
                Err(Error::Usage(format!("no tool named {:?}; list them with tools/list", crate::model::clip(&request.name, 80))).into())
            }
        };
        Ok(result(r).into())
    }
}
