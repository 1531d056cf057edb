//! [`Guarded`]: the backend wrapper every change passes through (DESIGN.md §4). Reads go
//! straight through; [`Backend::execute`]:
//!
//! 1. checks a raw write's path against PVE's API routes (a usage error otherwise);
//! 2. decides with [`policy::decide`] on the facts read for it (or carried by its approval):
//!    `Refuse` is exit 10 and recorded, `Confirm` needs an [`Approval`] that names this very
//!    mutation — consumed by its use, never a standing permission of the wrapper;
//! 3. writes the audit intent record, and sends nothing when that fails (exit 10);
//! 4. sends it, and writes the outcome record: at once when the call ended, or when the
//!    engine settles the task ([`Guarded::settle`]); whatever is still open at the end of the
//!    run (deadline, interrupt) is recorded as `unknown` ([`Guarded::settle_open`]).
//!
//! Being a [`Backend`] itself, nothing added to the trait can slip past it.

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use serde_json::Value;

use super::audit::{AuditEntry, AuditLog, AuditOutcome, IntentId};
use super::policy::{self, Facts, PolicyRules, Verdict};
use crate::backend::{Backend, GuestFilter, Method, Mutation, Params, ResourceType, Started, TaskFilter, routes};
use crate::error::{Error, Result};
use crate::model::{
    ClusterResource, ClusterStatusEntry, ExitStatus, Guest, GuestConfig, GuestRef, GuestStatus, Node, NodeName, NodeStatus, Snapshot,
    Storage, Task, TaskLogLine, TaskStatus, Upid, Version,
};

/// Consent for the mutations of one plan, bound to its digest. Each mutation may be sent once.
#[derive(Debug, Clone, PartialEq)]
pub struct Approval {
    /// The plan digest the consent was given for.
    pub digest: String,
    /// The plan's mutations, each with the policy facts read for it when the plan was made.
    pub mutations: Vec<(Mutation, Facts)>,
}

/// A change sent whose outcome is not recorded yet.
#[derive(Debug, Clone)]
pub struct OpenChange {
    /// The intent record.
    pub intent: IntentId,
    /// The mutation's name (`stop`, `api create`).
    pub action: String,
    /// The call as rendered.
    pub call: String,
    /// Its task, once known.
    pub upid: Option<Upid>,
    /// This run's own number for it: intents are all `IntentId(0)` with the audit log off,
    /// and concurrent changes (several guests at once) must not settle each other's entry.
    key: u64,
}

/// A backend that executes only what policy and consent allow, and audits it.
#[derive(Debug)]
pub struct Guarded {
    inner: Arc<dyn Backend>,
    rules: PolicyRules,
    audit: AuditLog,
    approvals: Mutex<Vec<Approval>>,
    open: Mutex<Vec<OpenChange>>,
    next_key: std::sync::atomic::AtomicU64,
    /// Whether a change reached PVE (it answered with a task or a value, or its outcome is
    /// unknown), for the no-change guarantee of runs made of several parts.
    sent: std::sync::atomic::AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Guarded {
    /// Wraps `inner` with `rules` and `audit`; nothing gated is approved.
    pub fn new(inner: Arc<dyn Backend>, rules: PolicyRules, audit: AuditLog) -> Self {
        Self {
            inner,
            rules,
            audit,
            approvals: Mutex::new(Vec::new()),
            open: Mutex::new(Vec::new()),
            next_key: 0.into(),
            sent: false.into(),
        }
    }

    /// The policy rules in force.
    pub fn rules(&self) -> &PolicyRules {
        &self.rules
    }

    /// Reads the facts policy needs for `m` (see [`policy::gather`]).
    ///
    /// # Errors
    /// Read errors.
    pub async fn facts(&self, m: &Mutation) -> Result<Facts> {
        policy::gather(self.inner.as_ref(), &self.rules, m).await
    }

    /// The tier of `m` under this target's rules ([`policy::effective_tier`]).
    pub fn effective_tier(&self, m: &Mutation) -> crate::backend::Tier {
        policy::effective_tier(&self.rules, m)
    }

    /// What policy says about `m` given `facts`, without sending anything.
    pub fn verdict(&self, m: &Mutation, facts: &Facts) -> Verdict {
        policy::decide(&self.rules, m, facts)
    }

    /// Records a refusal of `m` (plan `digest`) and returns it as the `Policy` error (exit 10).
    pub fn refuse(&self, m: &Mutation, digest: &str, reason: String) -> Error {
        if let Err(e) = self.audit.refusal(&self.entry(m, Some(digest.to_owned())), &reason) {
            eprintln!("pvectl: warning: {e}");
        }
        Error::Policy(reason)
    }

    /// Grants consent for the mutations of one plan; each can then be executed once.
    pub fn approve(&self, approval: Approval) {
        lock(&self.approvals).push(approval);
    }

    /// Takes the approved facts for `m`, when an approval names it.
    fn take_approval(&self, m: &Mutation) -> Option<(String, Facts)> {
        let mut approvals = lock(&self.approvals);
        for a in approvals.iter_mut() {
            if let Some(i) = a.mutations.iter().position(|(am, _)| am == m) {
                let (_, facts) = a.mutations.remove(i);
                return Some((a.digest.clone(), facts));
            }
        }
        None
    }

    /// Records how the task `upid` ended (after the engine waited for it).
    pub fn settle(&self, upid: &Upid, outcome: AuditOutcome, message: Option<&str>) {
        let change = {
            let mut open = lock(&self.open);
            open.iter().position(|c| c.upid.as_ref() == Some(upid)).map(|i| open.remove(i))
        };
        if let Some(c) = change {
            self.record_outcome(c.intent, outcome, Some(upid), message);
        }
    }

    /// Names the task of a change sent whose end is not known (found among the node's active
    /// tasks after the call itself timed out: a tool waiting for its worker in the foreground),
    /// so its `unknown` outcome record carries the UPID.
    pub fn note_task(&self, m: &Mutation, upid: &Upid) {
        let call = self.inner.render(m);
        if let Some(c) = lock(&self.open).iter_mut().find(|c| c.upid.is_none() && c.call == call) {
            c.upid = Some(upid.clone());
        }
    }

    /// Records every change still open as `unknown` with `why` (end of run, deadline,
    /// interrupt) and returns them, so the caller can name their UPIDs.
    pub fn settle_open(&self, why: &str) -> Vec<OpenChange> {
        let open = std::mem::take(&mut *lock(&self.open));
        for c in &open {
            self.record_outcome(c.intent, AuditOutcome::Unknown, c.upid.as_ref(), Some(why));
        }
        open
    }

    /// Whether any change reached PVE through this backend: it started a task or answered,
    /// or its outcome is unknown. A call PVE refused (locked, missing) does not count.
    pub fn sent_any(&self) -> bool {
        self.sent.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Changes sent whose outcome is not recorded yet.
    pub fn open_changes(&self) -> Vec<OpenChange> {
        lock(&self.open).clone()
    }

    fn record_outcome(&self, intent: IntentId, outcome: AuditOutcome, upid: Option<&Upid>, message: Option<&str>) {
        let upid = upid.map(ToString::to_string);
        if let Err(e) = self.audit.outcome(intent, outcome, upid.as_deref(), message) {
            // The change is already made: say so, but do not turn its result into a failure.
            eprintln!("pvectl: warning: {e}");
        }
    }

    fn entry(&self, m: &Mutation, digest: Option<String>) -> AuditEntry {
        let guest = m.guest();
        AuditEntry {
            target: self.inner.describe(),
            action: m.name(),
            tier: m.tier(),
            vmid: guest.as_ref().map(|g| g.vmid.get()),
            node: guest.map(|g| g.node.to_string()),
            digest,
            call: self.inner.render(m),
        }
    }
}

#[async_trait]
impl Backend for Guarded {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    async fn version(&self) -> Result<Version> {
        self.inner.version().await
    }
    async fn cluster_status(&self) -> Result<Vec<ClusterStatusEntry>> {
        self.inner.cluster_status().await
    }
    async fn cluster_resources(&self, filter: Option<ResourceType>) -> Result<Vec<ClusterResource>> {
        self.inner.cluster_resources(filter).await
    }
    async fn nodes(&self) -> Result<Vec<Node>> {
        self.inner.nodes().await
    }
    async fn node_status(&self, node: &NodeName) -> Result<NodeStatus> {
        self.inner.node_status(node).await
    }
    async fn guests(&self, filter: &GuestFilter) -> Result<Vec<Guest>> {
        self.inner.guests(filter).await
    }
    async fn guest_status(&self, guest: &GuestRef) -> Result<GuestStatus> {
        self.inner.guest_status(guest).await
    }
    async fn guest_config(&self, guest: &GuestRef) -> Result<GuestConfig> {
        self.inner.guest_config(guest).await
    }
    async fn snapshots(&self, guest: &GuestRef) -> Result<Vec<Snapshot>> {
        self.inner.snapshots(guest).await
    }
    async fn tasks(&self, node: &NodeName, filter: &TaskFilter) -> Result<Vec<Task>> {
        self.inner.tasks(node, filter).await
    }
    async fn task_status(&self, upid: &Upid) -> Result<TaskStatus> {
        self.inner.task_status(upid).await
    }
    async fn task_log(&self, upid: &Upid, start: u64, limit: u64) -> Result<Vec<TaskLogLine>> {
        self.inner.task_log(upid, start, limit).await
    }
    async fn storages(&self, node: Option<&NodeName>) -> Result<Vec<Storage>> {
        self.inner.storages(node).await
    }
    async fn raw(&self, method: Method, path: &str, params: &Params) -> Result<Value> {
        if method != Method::Get {
            return Err(Error::Usage(format!("{method} {path} is a write: it goes through execute (and the safety gate)")));
        }
        self.inner.raw(method, path, params).await
    }
    async fn execute(&self, m: &Mutation) -> Result<Started> {
        if let Mutation::Raw { method, path, params } = m {
            routes::classify(*method, path, params)?;
        }
        let approved = self.take_approval(m);
        let facts = match &approved {
            Some((_, facts)) => facts.clone(),
            None => self.facts(m).await?,
        };
        let digest = approved.as_ref().map(|(d, _)| d.clone());
        match self.verdict(m, &facts) {
            Verdict::Refuse(reason) => return Err(self.refuse(m, digest.as_deref().unwrap_or(""), reason)),
            Verdict::Confirm if approved.is_none() => {
                return Err(Error::ConfirmationRequired(format!(
                    "{} is {} and no consent was given for it; nothing was sent",
                    m.name(),
                    m.tier()
                )));
            }
            Verdict::Confirm | Verdict::Allow => {}
        }
        let entry = self.entry(m, digest);
        let intent = self.audit.intent(&entry)?;
        let key = self.next_key.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        lock(&self.open).push(OpenChange { intent, action: entry.action.clone(), call: entry.call.clone(), upid: None, key });
        let result = self.inner.execute(m).await;
        if matches!(&result, Ok(_) | Err(Error::OutcomeUnknown { .. } | Error::ToolKilled { .. })) {
            self.sent.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let closing = |outcome, upid: Option<&Upid>, message: Option<&str>| {
            let mut open = lock(&self.open);
            if let Some(i) = open.iter().position(|c| c.key == key) {
                open.remove(i);
            }
            drop(open);
            self.record_outcome(intent, outcome, upid, message);
        };
        match &result {
            Ok(Started::Task(upid)) => {
                // Settled by the engine once the task ends, or as unknown at the end of the run.
                if let Some(c) = lock(&self.open).iter_mut().find(|c| c.key == key) {
                    c.upid = Some(upid.clone());
                }
            }
            Ok(Started::Finished { exit: ExitStatus::Failed(msg), upid, .. }) => closing(AuditOutcome::Failed, upid.as_ref(), Some(msg)),
            Ok(Started::Finished { upid, .. }) => closing(AuditOutcome::Ok, upid.as_ref(), None),
            Ok(Started::Value(_)) => closing(AuditOutcome::Ok, None, None),
            // Sent, but how it ended is not known: stays open, recorded as unknown at the end.
            Err(Error::OutcomeUnknown { .. } | Error::ToolKilled { .. }) => {}
            Err(e) => closing(AuditOutcome::Failed, None, Some(&e.to_string())),
        }
        result
    }
    fn render(&self, mutation: &Mutation) -> String {
        self.inner.render(mutation)
    }
    async fn close(&self) -> Result<()> {
        self.inner.close().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ApiBackend;
    use crate::backend::PowerAction;
    use crate::backend::sim::{SimBackend, SimTransport};

    fn guarded() -> Guarded {
        let sim: SimBackend = ApiBackend::new(SimTransport::demo());
        Guarded::new(Arc::new(sim), PolicyRules::default(), AuditLog::disabled())
    }

    fn stop() -> Mutation {
        let guest =
            GuestRef { vmid: "100".parse().expect("vmid"), node: "pve1".parse().expect("node"), kind: crate::model::GuestKind::Qemu };
        Mutation::Power { guest, action: PowerAction::Stop, params: Vec::new() }
    }

    #[tokio::test]
    async fn unapproved_gated_mutation_never_reaches_the_backend() {
        let g = guarded();
        let e = g.execute(&stop()).await.expect_err("not approved");
        assert!(matches!(e, Error::ConfirmationRequired(_)));
        let s = g.guest_status(&stop().guest().expect("guest")).await.expect("status");
        assert_eq!(s.status, "running", "nothing happened");
    }

    #[tokio::test]
    async fn an_approval_covers_its_own_mutation_once() {
        let g = guarded();
        let Mutation::Power { guest, .. } = stop() else { unreachable!("stop() is a power mutation") };
        let other = Mutation::Power { guest, action: PowerAction::Reset, params: Vec::new() };
        g.approve(Approval { digest: "d".into(), mutations: vec![(other, Facts::default())] });
        assert!(matches!(g.execute(&stop()).await, Err(Error::ConfirmationRequired(_))), "consent for reset is not consent for stop");
        g.approve(Approval { digest: "d2".into(), mutations: vec![(stop(), Facts::default())] });
        g.execute(&stop()).await.expect("approved");
        assert!(matches!(g.execute(&stop()).await, Err(Error::ConfirmationRequired(_))), "spent");
    }

    #[tokio::test]
    async fn raw_writes_need_a_route_and_reads_stay_reads() {
        let g = guarded();
        assert!(matches!(g.raw(Method::Post, "/nodes/pve1/qemu/100/status/stop", &Vec::new()).await, Err(Error::Usage(_))));
        let sneaky = Mutation::Raw { method: Method::Post, path: "/nodes/pve1?x=/qemu/100/status/start".into(), params: Vec::new() };
        assert!(matches!(g.execute(&sneaky).await, Err(Error::Usage(_))));
    }
}
