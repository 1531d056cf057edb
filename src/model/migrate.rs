//! What PVE says before a qemu migration: `GET /nodes/{node}/qemu/{vmid}/migrate[?target=T]`.
//!
//! The answer (qemu-server `src/PVE/API2/Qemu.pm` `migrate_vm_precondition`, OPERATIONS.md
//! fact 16) has `running`, `allowed_nodes` and `not_allowed_nodes` (every other cluster node
//! is in exactly one of them; the guest's own node in neither), per not-allowed node
//! `unavailable_storages` (disabled storages, or storages restricted to other nodes),
//! `unavailable-resources` (missing resource mappings) and `blocking-ha-resources` (HA rules,
//! PVE 9) with PVE's mixed `_`/`-` keys, `local_disks` in Perl hash order, `local_resources`
//! (`usb0`, `hostpci0`, `clipboard=vnc`), `mapped-resources` (deprecated),
//! `mapped-resource-info` and `has-dbus-vmstate`. Local storage alone does not make a node
//! "not allowed": it shows in `local_disks`.
//!
//! [`MigratePrecondition::refusal`] names the reason PVE would refuse, in PVE's words and in
//! the order PVE checks: first what `migrate_vm` dies on before any task starts, then what the
//! `hamigrate` task (HA rules) or the migration task's phase 1 (`QemuMigrate.pm` `prepare`
//! and `scan_local_volumes`) dies on, which ends as `TASK ERROR: migration aborted`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::NodeName;
use super::loose;

/// An HA resource that keeps the guest off a node (PVE 9 HA rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BlockingHaResource {
    /// The blocking resource (`vm:101`, `ct:102`).
    pub sid: String,
    /// `node-affinity` or `resource-affinity`.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub cause: Option<String>,
}

/// Why a node cannot take the guest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NotAllowedNode {
    /// Storages of the guest's disks that are disabled or not available on that node, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable_storages: Vec<String>,
    /// Resource mappings with no entry for that node.
    #[serde(rename = "unavailable-resources", default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable_resources: Vec<String>,
    /// HA resources whose rules keep the guest off that node.
    #[serde(rename = "blocking-ha-resources", default, skip_serializing_if = "Vec::is_empty")]
    pub blocking_ha_resources: Vec<BlockingHaResource>,
    /// Keys not interpreted above.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One volume of the guest on non-shared storage (qemu-server `foreach_volid` attributes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[expect(clippy::struct_excessive_bools, reason = "PVE's independent attribute flags, one field each as PVE names them")]
pub struct LocalDisk {
    /// `<storage>:<volname>`, an absolute path, or `cdrom` (a host drive).
    pub volid: String,
    /// Size, bytes, when PVE knew it.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_u64")]
    pub size: Option<u64>,
    /// The config key using it (`scsi0`).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub drivename: Option<String>,
    /// A CD-ROM drive's medium.
    #[serde(default, deserialize_with = "loose::bool01")]
    pub cdrom: bool,
    /// Used by the current config; `None` when PVE did not say (older versions).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_bool")]
    pub is_attached: Option<bool>,
    /// An `unusedN` volume.
    #[serde(default, deserialize_with = "loose::bool01")]
    pub is_unused: bool,
    /// A cloud-init drive (regenerated on the target).
    #[serde(default, deserialize_with = "loose::bool01")]
    pub is_cloudinit: bool,
    /// A saved RAM state of a snapshot.
    #[serde(default, deserialize_with = "loose::bool01")]
    pub is_vmstate: bool,
    /// The TPM state volume.
    #[serde(default, deserialize_with = "loose::bool01")]
    pub is_tpmstate: bool,
    /// The drive's `replicate` flag (on unless `replicate=0`; says nothing of a replication job).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_bool")]
    pub replicate: Option<bool>,
    /// Snapshots that reference it (snapshot name -> 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referenced_in_snapshot: Option<Map<String, Value>>,
    /// Referenced by a pending change.
    #[serde(default, deserialize_with = "loose::bool01")]
    pub referenced_in_pending: bool,
    /// Keys not interpreted above (`shared`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl LocalDisk {
    /// Whether the current config uses it; where PVE did not say, whatever is not an unused
    /// volume or only a snapshot's.
    pub fn attached(&self) -> bool {
        self.is_attached.unwrap_or(!self.is_unused && !self.is_vmstate)
    }
}

/// The answer of `GET /nodes/{node}/qemu/{vmid}/migrate` (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MigratePrecondition {
    /// Whether the guest runs now (then only an online migration is possible).
    #[serde(default, deserialize_with = "loose::bool01")]
    pub running: bool,
    /// Nodes PVE sees no obstacle on.
    #[serde(default)]
    pub allowed_nodes: Vec<String>,
    /// Nodes that cannot take the guest, with why.
    #[serde(default)]
    pub not_allowed_nodes: Map<String, Value>,
    /// Volumes on non-shared storage, in PVE's (unordered) order.
    #[serde(default)]
    pub local_disks: Vec<LocalDisk>,
    /// Host devices and settings that tie the guest to its node (`usb0`, `hostpci0`, `clipboard=vnc`).
    #[serde(default)]
    pub local_resources: Vec<String>,
    /// Devices backed by a resource mapping (deprecated by PVE in favour of `mapped-resource-info`).
    #[serde(rename = "mapped-resources", default, skip_serializing_if = "Vec::is_empty")]
    pub mapped_resources: Vec<String>,
    /// Per mapped device: its mapping `name` and whether it supports `live-migration`.
    #[serde(rename = "mapped-resource-info", default, skip_serializing_if = "Map::is_empty")]
    pub mapped_resource_info: Map<String, Value>,
    /// Whether the node can migrate conntrack state (`with-conntrack-state`).
    #[serde(rename = "has-dbus-vmstate", default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_bool")]
    pub has_dbus_vmstate: Option<bool>,
    /// Keys not interpreted above (`dependent-ha-resources`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl MigratePrecondition {
    /// Why `node` cannot take the guest, when PVE lists it as not allowed (a malformed entry
    /// reads as empty).
    pub fn not_allowed(&self, node: &str) -> Option<NotAllowedNode> {
        self.not_allowed_nodes.get(node).map(|v| serde_json::from_value(v.clone()).unwrap_or_default())
    }

    /// Whether PVE lists `node` as a possible target.
    pub fn is_allowed(&self, node: &str) -> bool {
        self.allowed_nodes.iter().any(|n| n == node)
    }

    /// Whether a mapped device supports live migration (`mapped-resource-info.<key>.live-migration`).
    fn live_mappable(&self, key: &str) -> bool {
        self.mapped_resource_info.get(key).and_then(|i| i.get("live-migration")).is_some_and(loose::value_bool)
    }

    fn is_mapped(&self, key: &str) -> bool {
        self.mapped_resource_info.contains_key(key) || self.mapped_resources.iter().any(|m| m == key)
    }

    /// The reason PVE would refuse to migrate the guest to `target`, in PVE's words, or `None`
    /// when it would start. `with_local_disks` and `online` are the parameters of the
    /// migration (`force` is taken as unset). Checks, in PVE's order:
    ///
    /// 1. `target` is in neither list: `no such cluster node '<target>'` (PVE says
    ///    `target is local node.` when it is the guest's own node; the caller knows that one);
    /// 2. running without `online`: `can't migrate running VM without --online`;
    /// 3. an unavailable storage: `storage '<id>' is not available on node '<target>'`;
    /// 4. blocking HA resources (the `hamigrate` task): `cannot migrate resource to node ...`;
    /// 5. phase 1 of the migration task: local devices, missing or non-live mappings,
    ///    `clipboard=vnc` of a running guest, then local disks (a local CD-ROM image, an
    ///    attached disk of a running guest without `with_local_disks`, a snapshot-referenced
    ///    disk of a running guest that is not replicated).
    pub fn refusal(&self, target: &NodeName, with_local_disks: bool, online: bool) -> Option<String> {
        let t = target.as_str();
        let why = self.not_allowed(t);
        if why.is_none() && !self.is_allowed(t) {
            return Some(format!("no such cluster node '{t}'"));
        }
        let why = why.unwrap_or_default();
        if self.running && !online {
            return Some("can't migrate running VM without --online".into());
        }
        if let Some(s) = why.unavailable_storages.first() {
            return Some(format!("storage '{s}' is not available on node '{t}'"));
        }
        if !why.blocking_ha_resources.is_empty() {
            let list: Vec<String> = why
                .blocking_ha_resources
                .iter()
                .map(|b| {
                    let affinity =
                        if b.cause.as_deref() == Some("resource-affinity") { " in negative affinity with this resource" } else { "" };
                    format!("resource '{}' on target node '{t}'{affinity}", b.sid)
                })
                .collect();
            return Some(format!("cannot migrate resource to node '{t}': {}", list.join(", ")));
        }
        // From here on the migration task runs (phase 1, QemuMigrate.pm prepare).
        let local: Vec<&str> =
            self.local_resources.iter().map(String::as_str).filter(|r| *r != "clipboard=vnc" && !self.is_mapped(r)).collect();
        if !local.is_empty() {
            return Some(format!("can't migrate VM which uses local devices: {}", local.join(", ")));
        }
        if !why.unavailable_resources.is_empty() {
            return Some(format!("can't migrate to '{t}': missing mapped devices {}", why.unavailable_resources.join(", ")));
        }
        if self.running {
            let mut keys: Vec<&String> = self.mapped_resource_info.keys().filter(|k| !self.live_mappable(k)).collect();
            keys.sort();
            if !keys.is_empty() {
                let names: Vec<String> = keys
                    .iter()
                    .map(|k| {
                        let name = self.mapped_resource_info[k.as_str()].get("name").and_then(Value::as_str).unwrap_or_default();
                        format!("{k}:{name}")
                    })
                    .collect();
                return Some(format!("can't live migrate running VM which uses following mapped devices: {}", names.join(", ")));
            }
            if self.local_resources.iter().any(|r| r == "clipboard=vnc") {
                return Some(
                    "VMs with 'clipboard' set to 'vnc' are not live migratable with QEMU/machine versions older than 10.1!".into(),
                );
            }
        }
        self.disk_refusal(with_local_disks)
    }

    /// The first local-disk problem of phase 1, as the task log words it
    /// (`can't migrate local disk '<volid>': <why>`); volumes in sorted order.
    fn disk_refusal(&self, with_local_disks: bool) -> Option<String> {
        let mut disks: Vec<&LocalDisk> = self.local_disks.iter().collect();
        disks.sort_by(|a, b| a.volid.cmp(&b.volid));
        for d in disks {
            let why = if d.volid.starts_with('/') {
                Some("local file/device")
            } else if d.cdrom && d.volid == "cdrom" {
                return Some("can't migrate local cdrom drive".into());
            } else if d.cdrom && !d.is_cloudinit && !d.volid.contains("-cloudinit") {
                Some("local cdrom image")
            } else if self.running && d.referenced_in_snapshot.is_some() && d.replicate == Some(false) {
                Some("online storage migration not possible if non-replicated snapshot exists")
            } else if self.running && !with_local_disks && !d.cdrom && d.attached() {
                Some("can't live migrate attached local disks without with-local-disks option")
            } else {
                None
            };
            if let Some(why) = why {
                return Some(format!("can't migrate local disk '{}': {why}", d.volid));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(n: &str) -> NodeName {
        n.parse().expect("node")
    }

    #[test]
    fn stopped_guest_with_a_local_disk_may_go_offline() {
        let p: MigratePrecondition = serde_json::from_value(json!({
            "running": 0, "allowed_nodes": ["b"], "not_allowed_nodes": {},
            "local_disks": [{"volid": "local-lvm:vm-100-disk-0", "size": 1024, "drivename": "scsi0", "is_attached": 1, "cdrom": 0}],
            "local_resources": [], "mapped-resources": [], "mapped-resource-info": {}, "has-dbus-vmstate": 1
        }))
        .expect("parses");
        assert_eq!(p.refusal(&node("b"), false, false), None);
        assert_eq!(p.refusal(&node("x"), false, false).as_deref(), Some("no such cluster node 'x'"));
        assert_eq!(p.local_disks[0].size, Some(1024));
    }

    #[test]
    fn mapped_devices_and_ha_rules() {
        let p: MigratePrecondition = serde_json::from_value(json!({
            "running": 1, "allowed_nodes": ["b"],
            "not_allowed_nodes": {"c": {"unavailable-resources": ["gpu"]}, "d": {"blocking-ha-resources": [{"sid": "vm:101", "cause": "resource-affinity"}]}},
            "local_disks": [], "local_resources": ["hostpci0"], "mapped-resources": ["hostpci0"],
            "mapped-resource-info": {"hostpci0": {"name": "gpu", "live-migration": 0}}
        }))
        .expect("parses");
        assert_eq!(p.refusal(&node("c"), true, true).as_deref(), Some("can't migrate to 'c': missing mapped devices gpu"));
        assert_eq!(
            p.refusal(&node("d"), true, true).as_deref(),
            Some("cannot migrate resource to node 'd': resource 'vm:101' on target node 'd' in negative affinity with this resource")
        );
        assert_eq!(
            p.refusal(&node("b"), true, true).as_deref(),
            Some("can't live migrate running VM which uses following mapped devices: hostpci0:gpu")
        );
        assert_eq!(p.refusal(&node("b"), true, false).as_deref(), Some("can't migrate running VM without --online"));
    }
}
