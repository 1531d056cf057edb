//! Backup jobs and backup coverage, pending configuration changes, the next free vmid.
//!
//! Sources (OPERATIONS.md fact 30): `GET /cluster/backup` (pve-manager `PVE/API2/Backup.pm:183-240`:
//! job config + `id`, `schedule`, `enabled` (default 1), computed `next-run` only for
//! jobs.cfg jobs; legacy vzdump.cron jobs first, their schedule converted from
//! starttime/dow), `GET /cluster/backup-info/not-backed-up` (`API2/Cluster/BackupInfo.pm:64-141`),
//! `GET /nodes/{node}/{kind}/{vmid}/pending` (qemu-server `API2/Qemu.pm` `vm_pending`,
//! pve-guest-common `config_with_pending_array`), `GET /cluster/nextid`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::loose;
use super::{GuestKind, IdError, Vmid};

fn default_true() -> bool {
    true
}

fn enabled<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    // Present but `null`/`""` is as good as absent: PVE's default, enabled.
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) if s.is_empty() => true,
        Some(v) => loose::value_bool(&v),
    })
}

/// One scheduled backup job of `GET /cluster/backup`. Option values the model does not
/// interpret (`prune-backups`, `fleecing`, `mailto`, `bwlimit`, ...) stay in `extra` in the
/// form PVE sent them (objects for property strings PVE parsed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BackupJob {
    /// Job id (`backup-<hex>`; legacy vzdump.cron jobs get one too).
    pub id: String,
    /// Calendar event (`21:00`, `mon,tue 02:00`, `sat *-1..7 15:00`).
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub schedule: Option<String>,
    /// Whether it runs (PVE's default when absent: yes).
    #[serde(default = "default_true", deserialize_with = "enabled")]
    pub enabled: bool,
    /// Target storage.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub storage: Option<String>,
    /// Only on this node.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub node: Option<String>,
    /// Selected guests, comma-separated as PVE keeps them (`100,101`).
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub vmid: Option<String>,
    /// Every guest (minus `exclude`).
    #[serde(default, deserialize_with = "loose::bool01")]
    pub all: bool,
    /// Every guest of this pool.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub pool: Option<String>,
    /// Guests left out of `all`, comma-separated.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub exclude: Option<String>,
    /// `snapshot`, `suspend` or `stop`.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub mode: Option<String>,
    /// `0`, `1`, `gzip`, `lzo` or `zstd`.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub compress: Option<String>,
    /// Next run, seconds since the Unix epoch; absent for legacy vzdump.cron jobs and
    /// disabled jobs.
    #[serde(rename = "next-run", default, deserialize_with = "loose::opt_u64")]
    pub next_run: Option<u64>,
    /// Notes template for the archives (`{{guestname}}`).
    #[serde(rename = "notes-template", default, deserialize_with = "loose::opt_string")]
    pub notes_template: Option<String>,
    /// Free-text comment.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub comment: Option<String>,
    /// Every other key, as PVE sent it (`type`, `prune-backups`, `repeat-missed`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Which guests a [`BackupJob`] covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobSelection {
    /// These vmids.
    Guests(Vec<String>),
    /// Every guest, except these.
    All {
        /// Excluded vmids.
        exclude: Vec<String>,
    },
    /// The guests of a pool.
    Pool(String),
    /// None of the above is set.
    Unknown,
}

impl BackupJob {
    /// The guest selection, from `all`/`exclude`, `pool` or `vmid`.
    pub fn selection(&self) -> JobSelection {
        let list = |s: &Option<String>| -> Vec<String> {
            s.as_deref().unwrap_or_default().split([',', ' ', ';']).filter(|x| !x.is_empty()).map(str::to_owned).collect()
        };
        if self.all {
            JobSelection::All { exclude: list(&self.exclude) }
        } else if let Some(p) = &self.pool {
            JobSelection::Pool(p.clone())
        } else if self.vmid.is_some() {
            JobSelection::Guests(list(&self.vmid))
        } else {
            JobSelection::Unknown
        }
    }
}

/// A guest no enabled backup job covers (`GET /cluster/backup-info/not-backed-up`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NotBackedUp {
    /// Guest id.
    pub vmid: Vmid,
    /// `qemu` or `lxc` (PVE's `type`).
    #[serde(rename = "type")]
    pub kind: GuestKind,
    /// VM name or CT hostname; absent when unset.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub name: Option<String>,
}

/// A pending delete request of a configuration key (`delete` 1 or 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingDelete {
    /// `delete: 1`: the key is removed at the next (re)start or hotplug.
    Delete,
    /// `delete: 2`: a forced delete (`qm set --delete key --force`).
    Force,
}

impl Serialize for PendingDelete {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(match self {
            Self::Delete => 1,
            Self::Force => 2,
        })
    }
}

fn pending_delete<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PendingDelete>, D::Error> {
    // 0 (or absent) means no delete request; anything above 1 PVE documents as 2 = force.
    Ok(match loose::opt_u64(d)? {
        None | Some(0) => None,
        Some(1) => Some(PendingDelete::Delete),
        Some(_) => Some(PendingDelete::Force),
    })
}

impl<'de> Deserialize<'de> for PendingDelete {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        pending_delete(d)?.ok_or_else(|| serde::de::Error::custom("pending delete: expected 1 or 2"))
    }
}

/// One key of `GET /nodes/{node}/{kind}/{vmid}/pending`: the current value, the pending
/// one, or a pending delete. Values are PVE's config strings (`cipassword` comes masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PendingChange {
    /// Configuration key (`memory`, `net0`, ...).
    pub key: String,
    /// Current value; absent for a key only pending.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub value: Option<String>,
    /// Pending value, applied at the next (re)start or hotplug.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub pending: Option<String>,
    /// Pending delete request.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "pending_delete")]
    pub delete: Option<PendingDelete>,
}

impl PendingChange {
    /// Whether anything is pending for this key (a new value or a delete).
    pub fn is_pending(&self) -> bool {
        self.pending.is_some() || self.delete.is_some()
    }
}

/// The vmid of `GET /cluster/nextid`: PVE answers a string (`"104"`) or, from some
/// transports, a number.
///
/// # Errors
/// [`IdError`] when the answer is not a valid vmid.
pub fn parse_next_id(v: &Value) -> Result<Vmid, IdError> {
    let s = loose::value_string(v).unwrap_or_else(|| v.to_string());
    s.trim().parse()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn job_defaults_and_selection() {
        let j: BackupJob = serde_json::from_value(json!({
            "id": "backup-1a2b", "type": "vzdump", "schedule": "21:00", "next-run": 1_790_000_000, "storage": "pbs",
            "mode": "snapshot", "all": 1, "exclude": "100,101", "compress": 0, "prune-backups": {"keep-last": "3"}
        }))
        .expect("job");
        assert!(j.enabled, "absent enabled is PVE's default 1");
        assert_eq!(j.compress.as_deref(), Some("0"));
        assert_eq!(j.selection(), JobSelection::All { exclude: vec!["100".into(), "101".into()] });
        assert_eq!(j.extra.get("prune-backups"), Some(&json!({"keep-last": "3"})));
        let out = serde_json::to_value(&j).expect("serializes");
        assert_eq!((out["next-run"].clone(), out["type"].clone()), (json!(1_790_000_000), json!("vzdump")));
        let legacy: BackupJob =
            serde_json::from_value(json!({"id": "x", "enabled": "0", "vmid": "100", "starttime": "02:00"})).expect("job");
        assert!(!legacy.enabled);
        assert_eq!((legacy.next_run, legacy.selection()), (None, JobSelection::Guests(vec!["100".into()])));
    }

    #[test]
    fn pending_shapes() {
        let items: Vec<PendingChange> = serde_json::from_value(json!([
            {"key": "memory", "value": 2048, "pending": "4096"},
            {"key": "net1", "value": "virtio=AA:BB:CC:DD:EE:FF,bridge=vmbr0", "delete": 1},
            {"key": "serial0", "value": "socket", "delete": 2},
            {"key": "cores", "value": "2", "delete": 0}
        ]))
        .expect("pending");
        assert_eq!(items[0].value.as_deref(), Some("2048"));
        assert_eq!(
            items.iter().map(|p| p.delete).collect::<Vec<_>>(),
            [None, Some(PendingDelete::Delete), Some(PendingDelete::Force), None]
        );
        assert_eq!(items.iter().filter(|p| p.is_pending()).count(), 3);
        assert_eq!(serde_json::to_value(&items[2]).expect("ser")["delete"], json!(2));
    }

    #[test]
    fn next_id_and_not_backed_up() {
        assert_eq!(parse_next_id(&json!("104")).map(Vmid::get), Ok(104));
        assert_eq!(parse_next_id(&json!(105)).map(Vmid::get), Ok(105));
        assert!(parse_next_id(&json!("x")).is_err());
        let n: Vec<NotBackedUp> =
            serde_json::from_value(json!([{"vmid": 100, "type": "qemu", "name": "web"}, {"vmid": "101", "type": "lxc"}])).expect("list");
        assert_eq!((n[1].vmid.get(), n[1].kind, n[1].name.as_deref()), (101, GuestKind::Lxc, None));
    }
}
