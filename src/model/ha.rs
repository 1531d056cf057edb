//! HA manager state: `GET /cluster/ha/status/current`, the `ha-manager status` text, and
//! `GET /cluster/ha/resources`.
//!
//! The API (pve-ha-manager `src/PVE/API2/HA/Status.pm:166-365`) lists one entry per
//! `quorum`, `master`, `fencing` (pve-ha-manager ≥ 5.1, 2026), `lrm:<node>` and
//! `service:<sid>`, each with a human `status` text. `ha-manager status` prints exactly
//! `"<type> <status>"` per entry (`src/PVE/CLI/ha_manager.pm:64-67`, OPERATIONS.md fact 23):
//!
//! ```text
//! quorum OK
//! master node1 (active, Wed Nov 23 11:07:23 2016)
//! fencing armed (CRM watchdog active)
//! lrm node1 (active, watchdog active, Wed Nov 23 11:07:19 2016)
//! service vm:100 (node1, started)
//! ```
//!
//! so [`parse_ha_manager_status`] gives the same [`HaStatus`] entries, with what the text
//! holds (no epoch `timestamp`: the text has Perl `localtime()` strings, node-local time).
//! Older versions have no `fencing` line and no `watchdog …` part; a master may carry
//! ` - <disarm state>, resource mode: <mode>` or ` - <mode> load CRS` after its parentheses.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::loose;

/// One entry of the HA status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HaStatus {
    /// `quorum`, `master`, `fencing`, `lrm:<node>`, `service:<sid>`.
    pub id: String,
    /// `quorum`, `master`, `fencing`, `lrm` or `service`.
    #[serde(rename = "type")]
    pub entry_type: String,
    /// The node it is about (quorum: the answering node; fencing: the master).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub node: Option<String>,
    /// PVE's human text (`node1 (active, watchdog active, Tue Mar 24 10:00:00 2026)`).
    #[serde(default)]
    pub status: String,
    /// Quorum entry: the cluster is quorate.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_bool")]
    pub quorate: Option<bool>,
    /// Master/lrm: last update, seconds since the Unix epoch (API only).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_u64")]
    pub timestamp: Option<u64>,
    /// Service: the HA resource id (`vm:100`, `ct:101`).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub sid: Option<String>,
    /// Service: the verbose state (`started`, `stopped`, `fence`, `recovery`, `error`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub state: Option<String>,
    /// Service: the CRM's internal state.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub crm_state: Option<String>,
    /// Service: the requested state from the resource config.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub request_state: Option<String>,
    /// Service: restart attempts on the same node.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_u64")]
    pub max_restart: Option<u64>,
    /// Service: relocation attempts.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_u64")]
    pub max_relocate: Option<u64>,
    /// Service: move back to the preferred node.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_bool")]
    pub failback: Option<bool>,
    /// Fencing: `armed`, `standby`, `disarming`, `disarmed`.
    #[serde(rename = "armed-state", default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub armed_state: Option<String>,
    /// Fencing while disarmed: `freeze` or `ignore`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub resource_mode: Option<String>,
    /// Keys not interpreted above (`group`, `comment`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The parts of `<head> (<a>, <b>, ...)<tail>`.
fn parens(status: &str) -> Option<(&str, Vec<&str>, &str)> {
    let open = status.find(" (")?;
    let close = open + status[open..].find(')')?;
    let inner = &status[open + 2..close];
    Some((&status[..open], inner.split(", ").collect(), &status[close + 1..]))
}

impl HaStatus {
    /// The parts inside the parentheses of `status` (after the head).
    fn parts(&self) -> Vec<&str> {
        parens(&self.status).map(|(_, p, _)| p).unwrap_or_default()
    }

    /// Master/lrm: the state word (`active`, `idle`, `wait_for_agent_lock`, `maintenance mode`,
    /// `old timestamp - dead?`, `unable to read lrm status`).
    pub fn state_text(&self) -> Option<&str> {
        match self.entry_type.as_str() {
            "master" | "lrm" => self.parts().first().copied(),
            "service" => self.state.as_deref(),
            _ => None,
        }
    }

    /// Lrm: `active`, `standby` or `released` from `watchdog …` (pve-ha-manager ≥ 5.1).
    pub fn watchdog(&self) -> Option<&str> {
        match self.entry_type.as_str() {
            "lrm" => self.parts().into_iter().find_map(|p| p.strip_prefix("watchdog ")),
            "fencing" => parens(&self.status).and_then(|(_, p, _)| p.into_iter().find_map(|p| p.strip_prefix("CRM watchdog "))),
            _ => None,
        }
    }

    /// Master/lrm: the `localtime()` text of the last update (`Wed Nov 23 11:07:23 2016`).
    pub fn time_text(&self) -> Option<&str> {
        match self.entry_type.as_str() {
            "master" | "lrm" => self.parts().into_iter().skip(1).find(|p| !p.starts_with("watchdog ")),
            _ => None,
        }
    }

    /// Whether the entry reports trouble: no quorum, a dead or drifting master/lrm, a
    /// service in `error`/`fence`/`recovery`.
    pub fn is_problem(&self) -> bool {
        match self.entry_type.as_str() {
            "quorum" => self.quorate == Some(false) || (self.quorate.is_none() && self.status != "OK"),
            "master" | "lrm" => self.state_text().is_some_and(|s| s.contains("dead") || s.contains("drift") || s.starts_with("unable")),
            "service" => matches!(self.state.as_deref(), Some("error" | "fence" | "recovery")),
            _ => false,
        }
    }
}

/// Reads one `ha-manager status` line (`<type> <status>`) into the API's entry.
pub fn ha_status_line(line: &str) -> Option<HaStatus> {
    let line = line.trim();
    let (ty, status) = line.split_once(' ')?;
    let mut e = HaStatus { entry_type: ty.to_owned(), status: status.to_owned(), ..HaStatus::default() };
    match ty {
        "quorum" => {
            e.id = "quorum".into();
            e.quorate = Some(status == "OK");
        }
        "master" => {
            e.id = "master".into();
            e.node = status.split(' ').next().map(str::to_owned);
        }
        "fencing" => {
            e.id = "fencing".into();
            let state = status.split([',', ' ']).next().unwrap_or_default();
            e.armed_state = Some(state.to_owned());
            e.resource_mode = status.split_once("resource mode: ").map(|(_, m)| m.split(' ').next().unwrap_or_default().to_owned());
        }
        "lrm" => {
            let node = status.split(' ').next()?;
            e.id = format!("lrm:{node}");
            e.node = Some(node.to_owned());
        }
        "service" => {
            let (sid, parts, _) = parens(status)?;
            e.id = format!("service:{sid}");
            e.sid = Some(sid.to_owned());
            e.node = parts.first().map(|s| (*s).to_owned());
            e.state = parts.get(1).map(|s| (*s).to_owned());
        }
        _ => {
            ty.clone_into(&mut e.id);
        }
    }
    Some(e)
}

/// Reads `ha-manager status` (stopping at `--verbose`'s `full cluster state:`).
pub fn parse_ha_manager_status(text: &str) -> Vec<HaStatus> {
    text.lines().take_while(|l| !l.starts_with("full cluster state:")).filter(|l| !l.trim().is_empty()).filter_map(ha_status_line).collect()
}

/// One HA resource of `GET /cluster/ha/resources` (config sections with `sid` and `digest`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HaResource {
    /// `vm:100`, `ct:101`.
    pub sid: String,
    /// `vm` or `ct`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub resource_type: Option<String>,
    /// Requested state: `started`, `stopped`, `enabled`, `disabled`, `ignored`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub state: Option<String>,
    /// HA group (dropped once groups became rules, PVE 9).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub group: Option<String>,
    /// Restart attempts on the same node.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_u64")]
    pub max_restart: Option<u64>,
    /// Relocation attempts.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_u64")]
    pub max_relocate: Option<u64>,
    /// Move back to the preferred node.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_bool")]
    pub failback: Option<bool>,
    /// Comment.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub comment: Option<String>,
    /// Config digest.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub digest: Option<String>,
    /// Config problems (`group: group 'x' does not exist`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Map<String, Value>>,
    /// Keys not interpreted above.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl HaResource {
    /// The vmid of the sid (`vm:100` -> 100).
    pub fn vmid(&self) -> Option<u32> {
        self.sid.split_once(':').map_or(self.sid.as_str(), |(_, id)| id).parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_lines() {
        let s = parse_ha_manager_status(
            "quorum No quorum on node 'b'!\nmaster a (old timestamp - dead?, Tue Mar 24 10:00:00 2026) - dynamic load CRS\n\
             fencing disarmed, resource mode: freeze (CRM watchdog released)\nlrm b (unable to read lrm status)\n\
             service ct:101 (b, error)\nfull cluster state:\n{}\n",
        );
        assert_eq!(s.len(), 5);
        assert!(s[0].is_problem());
        assert_eq!(
            (s[1].state_text(), s[1].time_text(), s[1].is_problem()),
            (Some("old timestamp - dead?"), Some("Tue Mar 24 10:00:00 2026"), true)
        );
        assert_eq!(
            (s[2].armed_state.as_deref(), s[2].resource_mode.as_deref(), s[2].watchdog()),
            (Some("disarmed"), Some("freeze"), Some("released"))
        );
        assert_eq!((s[3].id.as_str(), s[3].state_text(), s[3].time_text()), ("lrm:b", Some("unable to read lrm status"), None));
        assert_eq!((s[4].sid.as_deref(), s[4].node.as_deref(), s[4].is_problem()), (Some("ct:101"), Some("b"), true));
    }
}
