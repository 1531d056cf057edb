//! Who is calling and what they may do: the API tokens of the state ([`SimToken`], kept in
//! `SimState::tokens`), the check of a request's `Authorization` header against them
//! ([`authenticate`]), and the caller's privileges on an ACL path ([`Caller::has`]).
//!
//! In a state file (secrets are test data, never real credentials):
//!
//! ```json
//! "tokens": [
//!   {"tokenid": "root@pam!pvectl", "secret": "…", "privsep": false},
//!   {"tokenid": "auditor@pve!ro", "secret": "…", "privsep": true,
//!    "acls": [{"path": "/", "privileges": ["Sys.Audit", "VM.Audit"], "propagate": true}]}
//! ]
//! ```
//!
//! ACLs follow pve-access-control's `PVE::AccessControl::roles` (AC:src/PVE/AccessControl.pm):
//! the path is walked from `/` to the object, and at each level that has entries for the
//! token (applying there: the object's own level, or `propagate` set) those entries replace
//! what the levels above granted; the entries of one level add up. `root@pam` holds every
//! privilege. The simulator has no users of its own: a token without privilege separation
//! (`privsep: false`) has its user's rights, which are every privilege for `root@pam` and the
//! token's `acls` for any other user; a privilege-separated token has its `acls` only.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::core::Sim;
use super::error::SimError;
use super::route::Request;
use super::state::SimState;

/// Every privilege of PVE 9 (pve-access-control 5ccd07d `$privgroups` and the `Permissions`,
/// `Realm`, `User`, `Group` privileges): what `root@pam` holds on `/`.
pub(crate) const ALL_PRIVILEGES: &[&str] = &[
    "Datastore.Allocate",
    "Datastore.AllocateSpace",
    "Datastore.AllocateTemplate",
    "Datastore.Audit",
    "Group.Allocate",
    "Mapping.Audit",
    "Mapping.Modify",
    "Mapping.Use",
    "Permissions.Modify",
    "Pool.Allocate",
    "Pool.Audit",
    "Realm.Allocate",
    "Realm.AllocateUser",
    "SDN.Allocate",
    "SDN.Audit",
    "SDN.Use",
    "Sys.AccessNetwork",
    "Sys.Audit",
    "Sys.Console",
    "Sys.Incoming",
    "Sys.Modify",
    "Sys.PowerMgmt",
    "Sys.Syslog",
    "User.Modify",
    "VM.Allocate",
    "VM.Audit",
    "VM.Backup",
    "VM.Clone",
    "VM.Config.CDROM",
    "VM.Config.CPU",
    "VM.Config.Cloudinit",
    "VM.Config.Disk",
    "VM.Config.HWType",
    "VM.Config.Memory",
    "VM.Config.Network",
    "VM.Config.Options",
    "VM.Console",
    "VM.GuestAgent.Audit",
    "VM.GuestAgent.FileRead",
    "VM.GuestAgent.FileSystemMgmt",
    "VM.GuestAgent.FileWrite",
    "VM.GuestAgent.Unrestricted",
    "VM.Migrate",
    "VM.PowerMgmt",
    "VM.Replicate",
    "VM.Snapshot",
    "VM.Snapshot.Rollback",
];

/// `GET /access/permissions [path] [userid]` (pve-access-control `API2/AccessControl.pm`
/// `permissions`): a map ACL path -> privilege -> propagate flag (1 or 0) of the caller, or of
/// `userid` (a token id of the state, or `root@pam`); with `path`, only that path, with what
/// applies there. A caller without any ACL gets `{}`.
///
/// # Errors
/// `no such user` for an unknown `userid`.
pub(crate) fn permissions(sim: &mut Sim, req: &Request<'_>) -> Result<Value, SimError> {
    let who = match req.param("userid") {
        None => sim.caller().cloned().unwrap_or_else(Caller::root),
        Some("root@pam") => Caller::root(),
        Some(id) => sim
            .state()
            .tokens
            .iter()
            .find(|t| t.tokenid == id)
            .map(Caller::from_token)
            .ok_or_else(|| SimError::param("userid", format!("no such user ('{id}')")))?,
    };
    Ok(Value::Object(who.permissions(req.param("path"))))
}

/// The privileges of PVE's built-in `PVEAuditor` role (pve-access-control 5ccd07d,
/// `$privgroups` `audit` lists in `src/PVE/AccessControl.pm`).
pub const PVE_AUDITOR: &[&str] =
    &["Datastore.Audit", "Mapping.Audit", "Pool.Audit", "SDN.Audit", "Sys.Audit", "VM.Audit", "VM.GuestAgent.Audit"];

/// An API token: `/etc/pve/priv/token.cfg` (the secret), the token's entry in
/// `/etc/pve/user.cfg` (`privsep`) and its ACL entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimToken {
    /// Full token id `USER@REALM!TOKENNAME`, e.g. `root@pam!pvectl`.
    pub tokenid: String,
    /// The secret sent as `PVEAPIToken=<tokenid>=<secret>` (PVE makes a UUID).
    pub secret: String,
    /// Privilege separation (PVE's default when a token is created): the token has only its
    /// own `acls`. When `false`, it has its user's rights.
    #[serde(default = "yes")]
    pub privsep: bool,
    /// ACL entries of the token (or, without privsep, of its user).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acls: Vec<SimAcl>,
}

fn yes() -> bool {
    true
}

impl SimToken {
    /// A token `tokenid` with `secret`, privilege separation `privsep` and `acls`.
    pub fn new(tokenid: &str, secret: &str, privsep: bool, acls: Vec<SimAcl>) -> Self {
        Self { tokenid: tokenid.to_owned(), secret: secret.to_owned(), privsep, acls }
    }

    /// The user part of the token id (`root@pam` of `root@pam!pvectl`).
    pub fn user(&self) -> &str {
        self.tokenid.split_once('!').map_or(self.tokenid.as_str(), |(u, _)| u)
    }
}

/// One ACL entry: `privileges` granted on `path`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimAcl {
    /// ACL path: `/`, `/vms/100`, `/nodes/pve1`, `/storage/nas`, `/pool/prod`, ...
    pub path: String,
    /// Privilege names (`VM.Audit`, `VM.PowerMgmt`, ...); see [`PVE_AUDITOR`] for a role's list.
    pub privileges: Vec<String>,
    /// Whether the entry also applies below `path` (PVE's default).
    #[serde(default = "yes")]
    pub propagate: bool,
}

impl SimAcl {
    /// A propagating entry granting `privileges` on `path`.
    pub fn new(path: &str, privileges: &[&str]) -> Self {
        Self { path: path.to_owned(), privileges: privileges.iter().map(|p| (*p).to_owned()).collect(), propagate: true }
    }
}

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user id tasks are owned by: the full token id (`auditor@pve!ro`).
    pub userid: String,
    /// Every privilege everywhere (`root@pam`, or its tokens without privilege separation).
    all: bool,
    /// The ACL entries that decide otherwise.
    acls: Vec<SimAcl>,
}

impl Caller {
    /// `root@pam`: every privilege (what the `pvesh`/`qm`/`pct` faces run as).
    pub fn root() -> Self {
        Self { userid: "root@pam".to_owned(), all: true, acls: Vec::new() }
    }

    /// The caller authenticated by `token`.
    pub fn from_token(token: &SimToken) -> Self {
        Self { userid: token.tokenid.clone(), all: !token.privsep && token.user() == "root@pam", acls: token.acls.clone() }
    }

    /// Whether the caller holds `privilege` on `acl_path` (deepest applicable level wins).
    pub fn has(&self, acl_path: &str, privilege: &str) -> bool {
        if self.all {
            return true;
        }
        let mut granted: Option<Vec<&str>> = None;
        let segments: Vec<&str> = acl_path.split('/').filter(|s| !s.is_empty()).collect();
        for depth in 0..=segments.len() {
            let level = format!("/{}", segments[..depth].join("/"));
            let last = depth == segments.len();
            let here: Vec<&SimAcl> = self.acls.iter().filter(|a| normalise(&a.path) == level && (last || a.propagate)).collect();
            if !here.is_empty() {
                granted = Some(here.iter().flat_map(|a| a.privileges.iter().map(String::as_str)).collect());
            }
        }
        granted.is_some_and(|g| g.contains(&privilege))
    }

    /// The caller's permission tree as `GET /access/permissions` answers it: ACL path ->
    /// privilege -> propagate flag; with `path`, that path only, with what applies there.
    pub fn permissions(&self, path: Option<&str>) -> Map<String, Value> {
        let mut out = Map::new();
        if let Some(p) = path {
            let p = normalise(p);
            let privs: Map<String, Value> = if self.all {
                ALL_PRIVILEGES.iter().map(|x| ((*x).to_owned(), json!(1))).collect()
            } else {
                let own: Vec<&SimAcl> = self.acls.iter().filter(|a| normalise(&a.path) == p).collect();
                ALL_PRIVILEGES
                    .iter()
                    .filter(|x| self.has(&p, x))
                    .map(|x| {
                        let exact_only =
                            !own.is_empty() && own.iter().filter(|a| a.privileges.iter().any(|q| q == x)).all(|a| !a.propagate);
                        ((*x).to_owned(), json!(u8::from(!exact_only)))
                    })
                    .collect()
            };
            out.insert(p, Value::Object(privs));
            return out;
        }
        if self.all {
            out.insert("/".into(), Value::Object(ALL_PRIVILEGES.iter().map(|x| ((*x).to_owned(), json!(1))).collect()));
            return out;
        }
        for a in &self.acls {
            let entry = out.entry(normalise(&a.path)).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = entry {
                for p in &a.privileges {
                    let prev = m.get(p).and_then(Value::as_u64).unwrap_or(0);
                    m.insert(p.clone(), json!(prev.max(u64::from(a.propagate))));
                }
            }
        }
        out
    }

    /// Whether a task started by `task_user` (the UPID's user field) is the caller's own: a
    /// token owns only tasks it started (pve-manager `PVE/API2/Tasks.pm` `$check_task_user`).
    pub fn owns_task(&self, task_user: &str) -> bool {
        self.userid == task_user || (!self.userid.contains('!') && task_user.split_once('!').is_some_and(|(u, _)| u == self.userid))
    }
}

/// An ACL path without a trailing `/` (`/vms/100/` is `/vms/100`; `/` stays).
fn normalise(path: &str) -> String {
    let p = path.trim_end_matches('/');
    if p.is_empty() {
        "/".to_owned()
    } else if p.starts_with('/') {
        p.to_owned()
    } else {
        format!("/{p}")
    }
}

/// `401 No ticket`: a request without credentials (pve-manager `PVE/HTTPServer.pm` `auth_handler`).
pub const NO_TICKET: &str = "No ticket";
/// `401 Authentication failed!`: a bad ticket or API token (the reason goes to syslog only).
pub const AUTH_FAILED: &str = "Authentication failed!";

/// The credentials a request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Neither a ticket nor an API token.
    None,
    /// A `PVEAuthCookie` ticket: never valid here, the simulator issues no tickets.
    Ticket,
    /// The value of `PVEAPIToken`: `USER@REALM!TOKENNAME=SECRET`.
    ApiToken(String),
}

/// Checks credentials like pveproxy (`PVE::AccessControl::verify_token`): the API token
/// value is split at its last `=` into token id and secret, which must match a token of
/// `state`.
///
/// # Errors
/// A 401 [`SimError`]: [`NO_TICKET`] without credentials, [`AUTH_FAILED`] for a ticket, an
/// unknown token or a wrong secret.
pub fn authenticate(state: &SimState, credentials: &Credentials) -> Result<Caller, SimError> {
    let failed = || SimError { code: Some(401), ..SimError::die(AUTH_FAILED) };
    match credentials {
        Credentials::None => Err(SimError { code: Some(401), ..SimError::die(NO_TICKET) }),
        Credentials::Ticket => Err(failed()),
        Credentials::ApiToken(value) => {
            let (tokenid, secret) = value.rsplit_once('=').ok_or_else(failed)?;
            state.tokens.iter().find(|t| t.tokenid == tokenid && t.secret == secret).map(Caller::from_token).ok_or_else(failed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(privsep: bool, acls: Vec<SimAcl>) -> Caller {
        Caller::from_token(&SimToken::new("alice@pve!t", "s", privsep, acls))
    }

    #[test]
    fn deepest_level_wins_and_propagate_limits_entries() {
        let c = token(true, vec![SimAcl::new("/", PVE_AUDITOR), SimAcl::new("/vms/100", &["VM.PowerMgmt"])]);
        assert!(c.has("/vms/101", "VM.Audit"));
        assert!(c.has("/vms/100", "VM.PowerMgmt"));
        assert!(!c.has("/vms/100", "VM.Audit"), "the /vms/100 entry replaces what / granted");
        assert!(!c.has("/vms/101", "VM.PowerMgmt"));
        let exact = token(true, vec![SimAcl { propagate: false, ..SimAcl::new("/vms", &["VM.Audit"]) }]);
        assert!(exact.has("/vms", "VM.Audit") && !exact.has("/vms/100", "VM.Audit"));
        assert!(!token(true, Vec::new()).has("/", "Sys.Audit"));
    }

    #[test]
    fn root_tokens_without_privsep_have_everything() {
        let root = Caller::from_token(&SimToken::new("root@pam!x", "s", false, Vec::new()));
        assert!(root.has("/vms/100", "VM.Snapshot.Rollback"));
        let sep = Caller::from_token(&SimToken::new("root@pam!x", "s", true, Vec::new()));
        assert!(!sep.has("/vms/100", "VM.Audit"));
        assert!(!token(false, Vec::new()).has("/", "Sys.Audit"), "another user's rights are its acls");
    }

    #[test]
    fn permissions_list_acls_with_their_propagate_flag() {
        let c =
            token(true, vec![SimAcl::new("/", &["Sys.Audit"]), SimAcl { propagate: false, ..SimAcl::new("/vms/100", &["VM.PowerMgmt"]) }]);
        let p = Value::Object(c.permissions(None));
        assert_eq!(p, json!({"/": {"Sys.Audit": 1}, "/vms/100": {"VM.PowerMgmt": 0}}));
        assert_eq!(Value::Object(c.permissions(Some("/vms/100"))), json!({"/vms/100": {"VM.PowerMgmt": 0}}));
        assert!(token(true, Vec::new()).permissions(None).is_empty());
        assert_eq!(Caller::root().permissions(None)["/"]["VM.Audit"], 1);
    }

    #[test]
    fn task_ownership() {
        let t = token(true, Vec::new());
        assert!(t.owns_task("alice@pve!t"));
        assert!(!t.owns_task("alice@pve"), "a token sees only its own tasks");
        assert!(Caller::root().owns_task("root@pam!pvectl"), "a user sees its tokens' tasks");
    }

    #[test]
    fn tokens_are_checked_like_pveproxy() {
        let mut state = SimState::default();
        state.tokens.push(SimToken::new("root@pam!pvectl", "s-1", false, Vec::new()));
        let ok = authenticate(&state, &Credentials::ApiToken("root@pam!pvectl=s-1".into())).expect("valid");
        assert_eq!(ok.userid, "root@pam!pvectl");
        state.tokens[0].secret = "a=b".into();
        let e = authenticate(&state, &Credentials::ApiToken("root@pam!pvectl=a=b".into())).expect_err("split at the last =");
        assert_eq!(e.message, AUTH_FAILED, "as PVE's greedy /^(.*)=(.*)$/ splits");
        let e = authenticate(&state, &Credentials::None).expect_err("none");
        assert_eq!((e.code, e.message.as_str()), (Some(401), NO_TICKET));
        let e = authenticate(&state, &Credentials::ApiToken("root@pam!pvectl=wrong".into())).expect_err("bad secret");
        assert_eq!((e.code, e.message.as_str()), (Some(401), AUTH_FAILED));
        assert_eq!(authenticate(&state, &Credentials::ApiToken("nosecret".into())).expect_err("no =").message, AUTH_FAILED);
        assert_eq!(authenticate(&state, &Credentials::Ticket).expect_err("ticket").message, AUTH_FAILED);
    }
}
