//! Power actions (`guest start|shutdown|reboot|stop|reset|suspend|resume`) as an [`Action`]:
//! read the guest first, refuse what PVE would refuse, send one `status/{action}` call,
//! re-check the run state (DESIGN.md §3-§5).

use async_trait::async_trait;

use crate::backend::{Backend, Mutation, PowerAction};
use crate::error::{Error, Result};
use crate::model::{GuestKind, NodeName, Vmid};
use crate::workflow::action::{Action, Draft, Prepared, ReadOnly};
use crate::workflow::discover::discover;
use crate::workflow::report::{GuestState, Report};

/// Options of a power action.
#[derive(Debug, Clone, Default)]
pub struct PowerOptions {
    /// Guest location when known (`--node` and `--kind` together skip discovery).
    pub node: Option<NodeName>,
    /// Guest kind when known.
    pub kind: Option<GuestKind>,
    /// `shutdown --timeout`: seconds the guest has to shut down (PVE's `timeout`).
    pub shutdown_timeout: Option<u64>,
    /// `shutdown --force-stop`: stop it when the timeout passes (PVE's `forceStop`).
    pub force_stop: bool,
}

/// Whether `state` is what `action` produces.
pub fn reached(action: PowerAction, state: &GuestState) -> bool {
    match action {
        PowerAction::Start | PowerAction::Reboot | PowerAction::Reset | PowerAction::Resume => state.is_running(),
        PowerAction::Shutdown | PowerAction::Stop => state.status == "stopped",
        PowerAction::Suspend => state.is_suspended(),
    }
}

/// One power action on one guest.
#[derive(Debug, Clone)]
pub struct Power {
    /// The guest.
    pub vmid: Vmid,
    /// The action.
    pub action: PowerAction,
    /// Its options.
    pub opts: PowerOptions,
}

impl Power {
    /// Whether `state` is what the action produces for a guest of `kind`. An lxc `suspend` is
    /// a CRIU checkpoint that stops the container (pve-container `API2/LXC/Status.pm`
    /// `vm_suspend`: `lxc-checkpoint -s`), and `resume` restores it: `status/current` then
    /// reads `stopped` and `running` — lxc has no paused state to wait for.
    fn reached_for(&self, kind: GuestKind, state: &GuestState) -> bool {
        match (kind, self.action) {
            (GuestKind::Lxc, PowerAction::Suspend) => state.status == "stopped",
            (GuestKind::Lxc, PowerAction::Resume) => state.status == "running",
            _ => reached(self.action, state),
        }
    }
}

#[async_trait]
impl Action for Power {
    fn name(&self) -> String {
        self.action.to_string()
    }

    fn summary(&self, d: &Draft) -> String {
        d.target.as_ref().map_or_else(|| self.name(), |g| format!("{} guest {} ({}) on {}", self.action, g.vmid, g.kind, g.node))
    }

    async fn prepare(&self, b: &ReadOnly<'_>) -> Result<Prepared> {
        let (vmid, action, opts) = (self.vmid, self.action, &self.opts);
        let (guest, listed) = discover(b, vmid, opts.node.as_ref(), opts.kind).await?;
        if !action.supported_for(guest.kind) {
            return Err(Error::Usage(format!("PVE has no '{action}' for {} guests (guest {vmid}); use stop and start", guest.kind)));
        }
        if (opts.shutdown_timeout.is_some() || opts.force_stop) && action != PowerAction::Shutdown {
            return Err(Error::Usage("--shutdown-timeout and --force-stop apply to shutdown only".into()));
        }
        // The listing has status, lock and HA state but not the qemu run state: a guest it
        // shows running may be paused, which start, suspend and resume must know.
        let listed_state = listed.as_ref().map(GuestState::from_resource);
        let needs_status = match &listed_state {
            None => true,
            Some(s) => {
                matches!(action, PowerAction::Suspend | PowerAction::Resume) || (action == PowerAction::Start && s.status == "running")
            }
        };
        let before = match listed_state {
            Some(s) if !needs_status => s,
            listed => {
                let mut s = GuestState::from_status(&b.guest_status(&guest).await?);
                if s.ha_state.is_none() {
                    s.ha_state = listed.and_then(|l| l.ha_state);
                }
                s
            }
        };
        if let Some(lock) = &before.lock {
            return Err(Error::Conflict(format!("guest {vmid} is locked ({lock})")));
        }
        if action == PowerAction::Start && before.is_suspended() {
            // PVE's own `status/start` refuses a running (paused) VM: one answer both ways.
            return Err(Error::Conflict(format!("guest {vmid} is paused: use `pvectl guest resume {vmid}`")));
        }
        let lxc_suspend = guest.kind == GuestKind::Lxc && action == PowerAction::Suspend;
        if !lxc_suspend && self.reached_for(guest.kind, &before) && !matches!(action, PowerAction::Reboot | PowerAction::Reset) {
            let report = Report {
                action: self.name(),
                target: Some(guest),
                snapshot: None,
                before: Some(before),
                task: None,
                after: None,
                changed: false,
                result: None,
                tasks: Vec::new(),
                details: None,
            };
            return Ok(Prepared::Noop(Box::new(report)));
        }
        let needs_running = matches!(action, PowerAction::Reboot | PowerAction::Reset | PowerAction::Suspend);
        if needs_running && before.status != "running" {
            return Err(Error::Conflict(format!("guest {vmid} is {}: {action} needs it running", before.status)));
        }
        if action == PowerAction::Resume && guest.kind == GuestKind::Qemu && !before.is_suspended() {
            return Err(Error::Conflict(format!("guest {vmid} is {}: resume needs it suspended", before.status)));
        }
        let mut params = Vec::new();
        if let Some(t) = opts.shutdown_timeout {
            params.push(("timeout".to_owned(), t.to_string()));
        }
        if opts.force_stop {
            params.push(("forceStop".to_owned(), "1".to_owned()));
        }
        let m = Mutation::Power { guest: guest.clone(), action, params };
        Ok(Prepared::Changes(Box::new(Draft {
            target: Some(guest),
            snapshot: None,
            before: Some(before),
            mutations: vec![m],
            warnings: Vec::new(),
            creates: None,
            refusal: None,
            details: None,
        })))
    }

    async fn observe(&self, b: &dyn Backend, d: &Draft) -> Result<Option<GuestState>> {
        d.read_subject(b).await
    }

    fn reached(&self, d: &Draft, after: &GuestState) -> bool {
        d.target.as_ref().is_some_and(|g| self.reached_for(g.kind, after))
    }

    fn may_lag(&self, _d: &Draft) -> bool {
        // HA-managed guests change state after the task (`Requesting HA start`); a plain
        // guest's state is final when its task ends, but re-reading costs nothing then.
        true
    }
}
