//! Storage content and backups, from `GET /nodes/{node}/storage/{storage}/content`.
//!
//! Every key of a content item except `volid` is optional (pve-storage
//! `src/PVE/API2/Storage/Content.pm`, OPERATIONS.md fact 6): `notes` (first line only),
//! `protected` (absent, not 0, when unprotected), `encrypted` and `verification` (PBS only),
//! and since pve-storage 9.1 `approximate-size` *instead of* `size` on some storages.
//! `vmid` was a string before PVE 6.1. `content` and `subtype` are not in the declared schema
//! but real answers carry them. Keys the model does not interpret are kept in `extra`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::loose;
use super::{GuestKind, NodeName, StorageId, Vmid};

/// PBS verification state of a backup snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Verification {
    /// `ok` or `failed`.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub state: Option<String>,
    /// The verification task (a PBS UPID, whose layout differs from PVE's: kept as text).
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub upid: Option<String>,
}

/// One item of a storage's content listing, as PVE sends it (any content type).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StorageVolume {
    /// `<storage>:<volname>`.
    pub volid: String,
    /// `images`, `rootdir`, `iso`, `vztmpl`, `backup`, `snippets`, `import`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub content: Option<String>,
    /// `raw`, `qcow2`, `subvol`, `iso`, `tar.zst`, `vma.zst`, `pbs-vm`, `pbs-ct`, ...
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub format: Option<String>,
    /// Size, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_u64")]
    pub size: Option<u64>,
    /// Estimated size, bytes, sent instead of `size` by some storages (pve-storage ≥ 9.1).
    #[serde(rename = "approximate-size", default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_u64")]
    pub approximate_size: Option<u64>,
    /// Space used, bytes (thin volumes).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_u64")]
    pub used: Option<u64>,
    /// Creation time, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_u64")]
    pub ctime: Option<u64>,
    /// Owning guest (an integer since PVE 6.1, a string before; a PBS backup-id may be any
    /// text, so this stays loose here).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_u64")]
    pub vmid: Option<u64>,
    /// Backups: `qemu` or `lxc`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub subtype: Option<String>,
    /// First line of the notes.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub notes: Option<String>,
    /// Protected flag; `None` when absent (PVE leaves it out when unprotected).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_bool")]
    pub protected: Option<bool>,
    /// PBS: key fingerprint, or `1`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub encrypted: Option<String>,
    /// PBS: last verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// Images of a linked clone: the base volume it was cloned from (`local-lvm:base-9000-disk-0`).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub parent: Option<String>,
    /// Keys not interpreted above, as PVE sent them.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl StorageVolume {
    /// The content type: `content` when PVE sent it, else read from the volume name the way
    /// pve-storage lays out a directory storage (`iso/`, `template/cache/` for `vztmpl`,
    /// `backup/`, `snippets/`, `import/`; `vm-`/`base-` images, `subvol-` container disks as
    /// `rootdir`).
    pub fn content_type(&self) -> Option<&str> {
        if let Some(c) = self.content.as_deref() {
            return Some(c);
        }
        let name = self.volid.split_once(':').map_or(self.volid.as_str(), |(_, n)| n);
        let base = name.rsplit('/').next().unwrap_or(name);
        Some(if name.starts_with("iso/") {
            "iso"
        } else if name.starts_with("vztmpl/") || name.starts_with("template/cache/") {
            "vztmpl"
        } else if name.starts_with("backup/") {
            "backup"
        } else if name.starts_with("snippets/") {
            "snippets"
        } else if name.starts_with("import/") {
            "import"
        } else if base.starts_with("subvol-") || self.format.as_deref() == Some("subvol") {
            "rootdir"
        } else if base.starts_with("vm-") || base.starts_with("base-") {
            "images"
        } else {
            return None;
        })
    }

    /// Whether it is a linked clone of a base volume.
    pub fn is_linked_clone(&self) -> bool {
        self.parent.is_some()
    }

    /// The storage part of the volid (`local` of `local:backup/...`).
    pub fn storage(&self) -> Option<&str> {
        self.volid.split_once(':').map(|(s, _)| s)
    }

    /// `size`, else `approximate-size`.
    pub fn size(&self) -> Option<u64> {
        self.size.or(self.approximate_size)
    }
}

/// One backup archive on a storage (`backup list`). Sizes in bytes, times in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Backup {
    /// `<storage>:backup/vzdump-lxc-104-2026_08_16-02_16_19.tar.zst`, or
    /// `<storage>:backup/ct/101/2026-05-09T15:43:57Z` on PBS.
    pub volid: String,
    /// The storage holding it (from the volid, else the storage that was listed).
    pub storage: StorageId,
    /// The node it was listed from (a shared storage is listed from one node).
    pub node: NodeName,
    /// The guest it belongs to; `None` when neither `vmid` nor the name says (a PBS
    /// backup-id that is not a vmid).
    pub vmid: Option<Vmid>,
    /// `qemu` or `lxc`, from `subtype`, else from the volid (`vzdump-qemu-`, `backup/vm/`).
    pub kind: Option<GuestKind>,
    /// Archive format (`vma.zst`, `tar.zst`, `pbs-vm`, ...).
    pub format: Option<String>,
    /// Exact size, bytes, when PVE sent `size`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Estimated size, bytes, when PVE sent `approximate-size` instead.
    #[serde(rename = "approximate-size", skip_serializing_if = "Option::is_none")]
    pub approximate_size: Option<u64>,
    /// Creation time, seconds since the Unix epoch (the archive name holds node-local time).
    pub ctime: Option<u64>,
    /// First line of the notes.
    pub notes: Option<String>,
    /// Protected flag; `None` = absent, which PVE means as not protected.
    pub protected: Option<bool>,
    /// PBS: encryption key fingerprint, or `1`.
    pub encrypted: Option<String>,
    /// PBS: last verification.
    pub verification: Option<Verification>,
    /// Keys of the content item not interpreted above (`content`, `subtype`, `used`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Backup {
    /// A backup from a content item listed on `node`/`storage`; `None` when the item is
    /// not a backup (`content` present and not `backup`).
    pub fn from_volume(mut v: StorageVolume, node: &NodeName, storage: &StorageId) -> Option<Self> {
        if v.content.as_deref().is_some_and(|c| c != "backup") {
            return None;
        }
        let storage = v.storage().and_then(|s| s.parse().ok()).unwrap_or_else(|| storage.clone());
        let vmid = v.vmid.and_then(|n| u32::try_from(n).ok()).and_then(|n| Vmid::new(n).ok()).or_else(|| vmid_from_volid(&v.volid));
        let kind = v.subtype.as_deref().and_then(|s| s.parse().ok()).or_else(|| kind_from_volid(&v.volid, v.format.as_deref()));
        let mut extra = std::mem::take(&mut v.extra);
        if let Some(c) = v.content.take() {
            extra.insert("content".into(), Value::String(c));
        }
        if let Some(s) = v.subtype.take() {
            extra.insert("subtype".into(), Value::String(s));
        }
        if let Some(u) = v.used {
            extra.insert("used".into(), Value::from(u));
        }
        if let Some(p) = v.parent.take() {
            extra.insert("parent".into(), Value::String(p));
        }
        Some(Self {
            volid: v.volid,
            storage,
            node: node.clone(),
            vmid,
            kind,
            format: v.format,
            size: v.size,
            approximate_size: v.approximate_size,
            ctime: v.ctime,
            notes: v.notes,
            protected: v.protected,
            encrypted: v.encrypted,
            verification: v.verification,
            extra,
        })
    }

    /// `size`, else `approximate-size` (see [`Backup::size_is_approximate`]).
    pub fn size(&self) -> Option<u64> {
        self.size.or(self.approximate_size)
    }

    /// Whether [`Backup::size`] is PVE's estimate rather than the exact size.
    pub fn size_is_approximate(&self) -> bool {
        self.size.is_none() && self.approximate_size.is_some()
    }

    /// Whether PVE protects it from pruning and removal (absent = not protected).
    pub fn is_protected(&self) -> bool {
        self.protected == Some(true)
    }
}

/// The volume name of a volid (after `<storage>:`).
fn volname(volid: &str) -> &str {
    volid.split_once(':').map_or(volid, |(_, n)| n)
}

/// `vzdump-<type>-<vmid>-...` or PBS `backup/<vm|ct>/<vmid>/<time>` -> vmid.
pub(crate) fn vmid_from_volid(volid: &str) -> Option<Vmid> {
    let name = volname(volid);
    let base = name.rsplit('/').next().unwrap_or(name);
    if let Some(rest) = base.strip_prefix("vzdump-") {
        let mut parts = rest.splitn(3, '-');
        let _kind = parts.next()?;
        return parts.next()?.parse().ok();
    }
    let mut parts = name.strip_prefix("backup/")?.split('/');
    match (parts.next(), parts.next()) {
        (Some("vm" | "ct"), Some(id)) => id.parse().ok(),
        _ => None,
    }
}

/// The guest kind a backup volid or format names, if any.
pub(crate) fn kind_from_volid(volid: &str, format: Option<&str>) -> Option<GuestKind> {
    let name = volname(volid);
    let base = name.rsplit('/').next().unwrap_or(name);
    if base.starts_with("vzdump-qemu-") || name.starts_with("backup/vm/") || format == Some("pbs-vm") {
        Some(GuestKind::Qemu)
    } else if base.starts_with("vzdump-lxc-")
        || base.starts_with("vzdump-openvz-")
        || name.starts_with("backup/ct/")
        || format == Some("pbs-ct")
    {
        Some(GuestKind::Lxc)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node() -> NodeName {
        "pve1".parse().expect("node")
    }

    fn store(s: &str) -> StorageId {
        s.parse().expect("storage")
    }

    #[test]
    fn pbs_item_with_every_optional_key() {
        let v: StorageVolume = serde_json::from_value(json!({
            "volid": "pbs1:backup/vm/100/2026-05-09T15:43:57Z", "content": "backup", "format": "pbs-vm",
            "approximate-size": "1024", "ctime": 1_778_341_437, "notes": "n", "protected": 1,
            "encrypted": "aa:bb", "verification": {"state": "ok", "upid": "UPID:pbs:x"}, "owner": "root@pam"
        }))
        .expect("item");
        let b = Backup::from_volume(v, &node(), &store("other")).expect("a backup");
        assert_eq!((b.storage.as_str(), b.vmid.map(Vmid::get), b.kind), ("pbs1", Some(100), Some(GuestKind::Qemu)));
        assert_eq!((b.size(), b.size_is_approximate(), b.is_protected()), (Some(1024), true, true));
        assert_eq!(b.verification.as_ref().and_then(|v| v.state.as_deref()), Some("ok"));
        assert_eq!(b.extra.get("owner"), Some(&json!("root@pam")));
        let out = serde_json::to_value(&b).expect("serializes");
        assert_eq!(out["approximate-size"], json!(1024));
        assert!(out.get("size").is_none());
        assert_eq!(out["content"], json!("backup"));
    }

    #[test]
    fn every_content_type() {
        let item = |v: serde_json::Value| serde_json::from_value::<StorageVolume>(v).expect("item");
        let iso = item(json!({"volid": "local:iso/debian-13.2.0-amd64-netinst.iso", "format": "iso", "size": 788_529_152, "ctime": 1}));
        let tmpl = item(json!({"volid": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", "format": "tzst", "size": 1}));
        let image = item(json!({"volid": "local-lvm:vm-101-disk-0", "format": "raw", "size": 1, "used": 0, "vmid": "101",
            "parent": "base-9000-disk-0@__base__", "content": "images"}));
        let rootdir = item(json!({"volid": "local-zfs:subvol-102-disk-0", "format": "subvol", "size": 8, "vmid": 102}));
        assert_eq!(
            [&iso, &tmpl, &image, &rootdir].map(StorageVolume::content_type),
            [Some("iso"), Some("vztmpl"), Some("images"), Some("rootdir")]
        );
        assert_eq!((image.vmid, image.is_linked_clone(), image.used), (Some(101), true, Some(0)));
        assert!(image.extra.is_empty() && iso.extra.is_empty());
        assert_eq!(serde_json::to_value(&image).expect("serializes")["parent"], json!("base-9000-disk-0@__base__"));
    }

    #[test]
    fn old_item_without_subtype_or_vmid_reads_the_volid() {
        let v: StorageVolume =
            serde_json::from_value(json!({"volid": "local:backup/vzdump-qemu-9000-2026_01_24-22_49_39.vma", "format": "vma", "size": 5}))
                .expect("item");
        let b = Backup::from_volume(v, &node(), &store("local")).expect("a backup");
        assert_eq!((b.vmid.map(Vmid::get), b.kind, b.protected, b.ctime), (Some(9000), Some(GuestKind::Qemu), None, None));
        let iso: StorageVolume = serde_json::from_value(json!({"volid": "local:iso/x.iso", "content": "iso"})).expect("item");
        assert!(Backup::from_volume(iso, &node(), &store("local")).is_none());
    }
}
