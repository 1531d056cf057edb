//! Every change a backend can make, as one closed enum, so one method executes them and one
//! wrapper ([`crate::safety`]) gates them all.
//!
//! Each [`Mutation`] maps to exactly one API call (`pvesh create|set|delete`, or REST
//! `POST|PUT|DELETE`) and, where `qm`/`pct` can do it, one tool command line.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use serde_json::Value;

use super::api::{Method, Params};
use crate::model::{ExitStatus, GuestKind, GuestRef, SnapshotName, Upid};

/// A power action: PVE's `POST /nodes/{node}/{kind}/{vmid}/status/{action}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PowerAction {
    /// Start the guest.
    Start,
    /// Clean shutdown (ACPI / container init); `timeout` and `forceStop` apply.
    Shutdown,
    /// Clean reboot.
    Reboot,
    /// Hard stop, like pulling the plug.
    Stop,
    /// Hard reset (qemu only).
    Reset,
    /// Pause (qemu: `paused` run state; lxc: freeze).
    Suspend,
    /// Continue a suspended guest.
    Resume,
}

impl PowerAction {
    /// The API path segment and the `qm`/`pct` sub-command.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Shutdown => "shutdown",
            Self::Reboot => "reboot",
            Self::Stop => "stop",
            Self::Reset => "reset",
            Self::Suspend => "suspend",
            Self::Resume => "resume",
        }
    }

    /// Whether PVE has this action for `kind` (lxc has no `reset`).
    pub fn supported_for(self, kind: GuestKind) -> bool {
        !(kind == GuestKind::Lxc && self == Self::Reset)
    }

    /// The safety tier (DESIGN.md §4).
    pub fn tier(self) -> Tier {
        match self {
            Self::Start | Self::Resume => Tier::Change,
            Self::Shutdown | Self::Reboot | Self::Suspend => Tier::Disruptive,
            Self::Stop | Self::Reset => Tier::Destructive,
        }
    }
}

impl fmt::Display for PowerAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PowerAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        <Self as clap::ValueEnum>::from_str(s, false)
    }
}

/// Safety tiers, ordered by risk (DESIGN.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Lists, status, config, logs.
    Read,
    /// Start, resume, snapshot create: no gate, audited.
    Change,
    /// Shutdown, reboot, suspend: `--yes` or a typed `yes`.
    Disruptive,
    /// Stop, reset, rollback, delete, raw writes: `--yes` or a typed `yes`.
    Destructive,
}

impl Tier {
    /// Whether this tier needs a confirmation.
    pub fn is_gated(self) -> bool {
        self >= Self::Disruptive
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Read => "read",
            Self::Change => "change",
            Self::Disruptive => "disruptive",
            Self::Destructive => "destructive",
        })
    }
}

/// One change to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    /// A power action with its API parameters (e.g. `timeout`, `forceStop` for shutdown).
    Power {
        /// The guest.
        guest: GuestRef,
        /// The action.
        action: PowerAction,
        /// Extra API parameters, in order.
        params: Params,
    },
    /// `POST .../snapshot` (`qm|pct snapshot <vmid> <name>`).
    SnapshotCreate {
        /// The guest.
        guest: GuestRef,
        /// New snapshot name.
        name: SnapshotName,
        /// Description, if any (passed as one argument, whatever it holds).
        description: Option<String>,
        /// Save RAM state (qemu only).
        vmstate: bool,
    },
    /// `POST .../snapshot/{name}/rollback` (`qm|pct rollback <vmid> <name>`).
    SnapshotRollback {
        /// The guest.
        guest: GuestRef,
        /// Snapshot to return to.
        name: SnapshotName,
        /// Start the guest after the rollback.
        start: bool,
    },
    /// `DELETE .../snapshot/{name}` (`qm|pct delsnapshot <vmid> <name>`).
    SnapshotDelete {
        /// The guest.
        guest: GuestRef,
        /// Snapshot to delete.
        name: SnapshotName,
    },
    /// Any other write (`api create|set|delete`).
    Raw {
        /// `POST`, `PUT` or `DELETE`.
        method: Method,
        /// API path.
        path: String,
        /// Parameters, in order.
        params: Params,
    },
}

impl Mutation {
    /// The API call this mutation is: `(method, path, params)`.
    pub fn api_call(&self) -> (Method, String, Params) {
        match self {
            Self::Power { guest, action, params } => (Method::Post, format!("{}/status/{action}", guest.path()), params.clone()),
            Self::SnapshotCreate { guest, name, description, vmstate } => {
                let mut p = vec![("snapname".to_owned(), name.to_string())];
                if let Some(d) = description {
                    p.push(("description".to_owned(), d.clone()));
                }
                if *vmstate {
                    p.push(("vmstate".to_owned(), "1".to_owned()));
                }
                (Method::Post, format!("{}/snapshot", guest.path()), p)
            }
            Self::SnapshotRollback { guest, name, start } => {
                let p = if *start { vec![("start".to_owned(), "1".to_owned())] } else { Vec::new() };
                (Method::Post, format!("{}/snapshot/{name}/rollback", guest.path()), p)
            }
            Self::SnapshotDelete { guest, name } => (Method::Delete, format!("{}/snapshot/{name}", guest.path()), Vec::new()),
            Self::Raw { method, path, params } => (*method, path.clone(), params.clone()),
        }
    }

    /// The `qm`/`pct` command line of this mutation: `(tool, args)`; API parameters become
    /// `--key value` options, as the tools take them (`qm shutdown 100 --timeout 60`).
    /// `None` for what only the API can do (raw writes).
    pub fn tool_line(&self) -> Option<(&'static str, Vec<String>)> {
        let opts = |params: &Params| params.iter().flat_map(|(k, v)| [format!("--{k}"), v.clone()]).collect::<Vec<_>>();
        let (guest, args) = match self {
            Self::Power { guest, action, params } => {
                let mut a = vec![action.as_str().to_owned(), guest.vmid.to_string()];
                a.extend(opts(params));
                (guest, a)
            }
            Self::SnapshotCreate { guest, name, description, vmstate } => {
                let mut a = vec!["snapshot".to_owned(), guest.vmid.to_string(), name.to_string()];
                if let Some(d) = description {
                    a.extend(["--description".to_owned(), d.clone()]);
                }
                if *vmstate {
                    a.extend(["--vmstate".to_owned(), "1".to_owned()]);
                }
                (guest, a)
            }
            Self::SnapshotRollback { guest, name, start } => {
                let mut a = vec!["rollback".to_owned(), guest.vmid.to_string(), name.to_string()];
                if *start {
                    a.extend(["--start".to_owned(), "1".to_owned()]);
                }
                (guest, a)
            }
            Self::SnapshotDelete { guest, name } => (guest, vec!["delsnapshot".to_owned(), guest.vmid.to_string(), name.to_string()]),
            Self::Raw { .. } => return None,
        };
        Some((guest.kind.tool(), args))
    }

    /// The safety tier.
    pub fn tier(&self) -> Tier {
        match self {
            Self::Power { action, .. } => action.tier(),
            Self::SnapshotCreate { .. } => Tier::Change,
            Self::SnapshotRollback { .. } | Self::SnapshotDelete { .. } => Tier::Destructive,
            // A path no route matches is refused before it is sent (`Guarded`); rated at the top.
            Self::Raw { method, path, params } => super::routes::classify(*method, path, params).map_or(Tier::Destructive, |c| c.tier),
        }
    }

    /// The guest it acts on, if any; for a raw write, the guest of the API route it matches.
    pub fn guest(&self) -> Option<GuestRef> {
        match self {
            Self::Power { guest, .. }
            | Self::SnapshotCreate { guest, .. }
            | Self::SnapshotRollback { guest, .. }
            | Self::SnapshotDelete { guest, .. } => Some(guest.clone()),
            Self::Raw { method, path, params } => super::routes::classify(*method, path, params).ok().and_then(|c| c.guest),
        }
    }

    /// Short name for reports: `shutdown`, `snapshot create`, `api create`, ...
    pub fn name(&self) -> String {
        match self {
            Self::Power { action, .. } => action.to_string(),
            Self::SnapshotCreate { .. } => "snapshot create".into(),
            Self::SnapshotRollback { .. } => "snapshot rollback".into(),
            Self::SnapshotDelete { .. } => "snapshot delete".into(),
            Self::Raw { method, .. } => format!("api {}", method.pvesh_verb()),
        }
    }
}

/// What executing a mutation gave back.
#[derive(Debug, Clone, PartialEq)]
pub enum Started {
    /// A PVE task was started (API, pvesh); wait on its UPID.
    Task(Upid),
    /// The task already ran in the foreground and ended (`qm`/`pct`, which print no UPID):
    /// its exit status and the output it printed.
    Finished {
        /// `OK`, `WARNINGS: n` or the error text.
        exit: ExitStatus,
        /// Task-log lines printed on stdout.
        log: Vec<String>,
    },
    /// A write that is not a task (e.g. `api set` returning `null`): the result.
    Value(Value),
}
