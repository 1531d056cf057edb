//! The calls a [`Mutation`] is: its API call (`(method, path, params)`, the same for
//! `pvesh` and REST) and, where `qm`/`pct`/`vzdump`/`qmrestore`/`ha-manager` can do it, its
//! tool command line; each also as shown in plans, with secrets as `***`.

use super::api::{Method, Params};
use super::mutation::{Mutation, ha_sid};
use crate::model::{GuestKind, NodeName, StorageId};

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
            Self::Create { guest, params, secrets } => {
                let mut p = vec![("vmid".to_owned(), guest.vmid.to_string())];
                p.extend(params.iter().cloned());
                p.extend(secrets.iter().map(|(k, v)| (k.clone(), v.expose().to_owned())));
                (Method::Post, format!("/nodes/{}/{}", guest.node, guest.kind), p)
            }
            Self::FileWrite { guest, file, content_b64, .. } => (
                Method::Post,
                format!("{}/agent/file-write", guest.path()),
                vec![("file".to_owned(), file.clone()), ("content".to_owned(), content_b64.clone()), ("encode".to_owned(), "0".to_owned())],
            ),
            other => other.api_call_shown(),
        }
    }

    /// [`Mutation::api_call`] with secret parameters as `***`: what plans, audit records and
    /// traces show.
    pub fn api_call_shown(&self) -> (Method, String, Params) {
        let flag = |b: bool| if b { "1" } else { "0" }.to_owned();
        match self {
            Self::Backup { node, vmids, params } => {
                let list = vmids.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
                let mut p = vec![("vmid".to_owned(), list)];
                p.extend(params.iter().cloned());
                (Method::Post, format!("/nodes/{node}/vzdump"), p)
            }
            Self::Restore { guest, archive, force, params } => {
                let mut p = vec![("vmid".to_owned(), guest.vmid.to_string())];
                match guest.kind {
                    GuestKind::Qemu => p.push(("archive".to_owned(), archive.clone())),
                    GuestKind::Lxc => p.extend([("ostemplate".to_owned(), archive.clone()), ("restore".to_owned(), "1".to_owned())]),
                }
                if *force {
                    p.push(("force".to_owned(), "1".to_owned()));
                }
                p.extend(params.iter().cloned());
                (Method::Post, format!("/nodes/{}/{}", guest.node, guest.kind), p)
            }
            Self::BackupProtect { node, storage, volid, protected } => {
                (Method::Put, content_path(node, storage, volid), vec![("protected".to_owned(), flag(*protected))])
            }
            Self::BackupDelete { node, storage, volid, .. } => (Method::Delete, content_path(node, storage, volid), Vec::new()),
            Self::Clone { guest, newid, params } => {
                let mut p = vec![("newid".to_owned(), newid.to_string())];
                p.extend(params.iter().cloned());
                (Method::Post, format!("{}/clone", guest.path()), p)
            }
            Self::Template { guest } => (Method::Post, format!("{}/template", guest.path()), Vec::new()),
            Self::Create { guest, params, secrets } => {
                let mut p = vec![("vmid".to_owned(), guest.vmid.to_string())];
                p.extend(params.iter().cloned());
                p.extend(secrets.iter().map(|(k, _)| (k.clone(), "***".to_owned())));
                (Method::Post, format!("/nodes/{}/{}", guest.node, guest.kind), p)
            }
            Self::Delete { guest, params } => (Method::Delete, guest.path(), params.clone()),
            Self::SetConfig { guest, set, delete, digest } => {
                let mut p = set.clone();
                if !delete.is_empty() {
                    p.push(("delete".to_owned(), delete.join(",")));
                }
                if let Some(d) = digest {
                    p.push(("digest".to_owned(), d.clone()));
                }
                (Method::Put, format!("{}/config", guest.path()), p)
            }
            Self::Unlock { guest } => (
                Method::Put,
                format!("{}/config", guest.path()),
                vec![("delete".to_owned(), "lock".to_owned()), ("skiplock".to_owned(), "1".to_owned())],
            ),
            Self::Migrate { guest, target, params } => {
                let mut p = vec![("target".to_owned(), target.to_string())];
                p.extend(params.iter().cloned());
                (Method::Post, format!("{}/migrate", guest.path()), p)
            }
            Self::HaMigrate { guest, target } => {
                (Method::Post, format!("/cluster/ha/resources/{}/migrate", ha_sid(guest)), vec![("node".to_owned(), target.to_string())])
            }
            Self::Resize { guest, disk, size } => (
                Method::Put,
                format!("{}/resize", guest.path()),
                vec![("disk".to_owned(), disk.clone()), ("size".to_owned(), size.clone())],
            ),
            Self::MoveDisk { guest, disk, storage, params } => {
                let (route, key) = if guest.kind == GuestKind::Lxc { ("move_volume", "volume") } else { ("move_disk", "disk") };
                let mut p = vec![(key.to_owned(), disk.clone()), ("storage".to_owned(), storage.to_string())];
                p.extend(params.iter().cloned());
                (Method::Post, format!("{}/{route}", guest.path()), p)
            }
            Self::Exec { guest, argv } => {
                (Method::Post, format!("{}/agent/exec", guest.path()), argv.iter().map(|a| ("command".to_owned(), a.clone())).collect())
            }
            Self::FileWrite { guest, file, size, .. } => (
                Method::Post,
                format!("{}/agent/file-write", guest.path()),
                vec![
                    ("file".to_owned(), file.clone()),
                    ("content".to_owned(), format!("<{size} bytes, base64>")),
                    ("encode".to_owned(), "0".to_owned()),
                ],
            ),
            Self::FilePush { guest, src, dst } => {
                (Method::Post, format!("{}/push", guest.path()), vec![("src".to_owned(), src.clone()), ("dst".to_owned(), dst.clone())])
            }
            Self::FilePull { guest, src, dst } => {
                (Method::Post, format!("{}/pull", guest.path()), vec![("src".to_owned(), src.clone()), ("dst".to_owned(), dst.clone())])
            }
            Self::Power { .. }
            | Self::SnapshotCreate { .. }
            | Self::SnapshotRollback { .. }
            | Self::SnapshotDelete { .. }
            | Self::Raw { .. } => self.api_call(),
        }
    }

    /// The `qm`/`pct` command line of this mutation: `(tool, args)`; API parameters become
    /// `--key value` options, as the tools take them (`qm shutdown 100 --timeout 60`).
    /// `None` for what only the API can do (raw writes).
    #[expect(clippy::too_many_lines, reason = "one arm per mutation: its tool command line")]
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
            Self::Raw { .. } | Self::BackupProtect { .. } | Self::BackupDelete { .. } | Self::FileWrite { .. } => return None,
            Self::Backup { vmids, params, .. } => {
                let mut a: Vec<String> = vmids.iter().map(ToString::to_string).collect();
                a.extend(opts(params));
                return Some(("vzdump", a));
            }
            Self::Restore { guest, archive, force, params } => {
                let mut a = match guest.kind {
                    GuestKind::Qemu => vec![archive.clone(), guest.vmid.to_string()],
                    GuestKind::Lxc => vec!["restore".to_owned(), guest.vmid.to_string(), archive.clone()],
                };
                if *force {
                    a.extend(["--force".to_owned(), "1".to_owned()]);
                }
                a.extend(opts(params));
                return Some((if guest.kind == GuestKind::Qemu { "qmrestore" } else { "pct" }, a));
            }
            Self::Clone { guest, newid, params } => {
                let mut a = vec!["clone".to_owned(), guest.vmid.to_string(), newid.to_string()];
                a.extend(opts(params));
                (guest, a)
            }
            Self::Template { guest } => (guest, vec!["template".to_owned(), guest.vmid.to_string()]),
            Self::Create { guest, params, secrets } => {
                let mut a = vec!["create".to_owned(), guest.vmid.to_string()];
                let mut rest = params.clone();
                if guest.kind == GuestKind::Lxc {
                    // `pct create <vmid> <ostemplate>`: the template is positional.
                    if let Some(i) = rest.iter().position(|(k, _)| k == "ostemplate") {
                        a.push(rest.remove(i).1);
                    }
                }
                a.extend(opts(&rest));
                a.extend(secrets.iter().flat_map(|(k, v)| [format!("--{k}"), v.expose().to_owned()]));
                (guest, a)
            }
            Self::Delete { guest, params } => {
                let mut a = vec!["destroy".to_owned(), guest.vmid.to_string()];
                a.extend(opts(params));
                (guest, a)
            }
            Self::SetConfig { guest, .. } => {
                let (_, _, p) = self.api_call();
                let mut a = vec!["set".to_owned(), guest.vmid.to_string()];
                a.extend(opts(&p));
                (guest, a)
            }
            Self::Unlock { guest } => (guest, vec!["unlock".to_owned(), guest.vmid.to_string()]),
            Self::Migrate { guest, target, params } => {
                let mut a = vec!["migrate".to_owned(), guest.vmid.to_string(), target.to_string()];
                a.extend(opts(params));
                (guest, a)
            }
            Self::HaMigrate { guest, target } => {
                return Some(("ha-manager", vec!["migrate".to_owned(), ha_sid(guest), target.to_string()]));
            }
            Self::Resize { guest, disk, size } => {
                let verb: &[&str] = if guest.kind == GuestKind::Lxc { &["resize"] } else { &["disk", "resize"] };
                let mut a: Vec<String> = verb.iter().map(|s| (*s).to_owned()).collect();
                a.extend([guest.vmid.to_string(), disk.clone(), size.clone()]);
                (guest, a)
            }
            Self::MoveDisk { guest, disk, storage, params } => {
                let verb: &[&str] = if guest.kind == GuestKind::Lxc { &["move-volume"] } else { &["disk", "move"] };
                let mut a: Vec<String> = verb.iter().map(|s| (*s).to_owned()).collect();
                a.extend([guest.vmid.to_string(), disk.clone(), storage.to_string()]);
                a.extend(opts(params));
                (guest, a)
            }
            Self::FilePush { guest, src, dst } => (guest, vec!["push".to_owned(), guest.vmid.to_string(), src.clone(), dst.clone()]),
            Self::FilePull { guest, src, dst } => (guest, vec!["pull".to_owned(), guest.vmid.to_string(), src.clone(), dst.clone()]),
            Self::Exec { guest, argv } => {
                let mut a = if guest.kind == GuestKind::Lxc {
                    vec!["exec".to_owned(), guest.vmid.to_string(), "--".to_owned()]
                } else {
                    vec!["guest".to_owned(), "exec".to_owned(), guest.vmid.to_string(), "--".to_owned()]
                };
                a.extend(argv.iter().cloned());
                (guest, a)
            }
        };
        Some((guest.kind.tool(), args))
    }

    /// [`Mutation::tool_line`] with secret values as `***`, for plans and traces.
    pub fn tool_line_shown(&self) -> Option<(&'static str, Vec<String>)> {
        let (tool, mut args) = self.tool_line()?;
        if let Self::Create { secrets, .. } = self {
            for a in &mut args {
                if secrets.iter().any(|(_, v)| v.expose() == a.as_str()) {
                    "***".clone_into(a);
                }
            }
        }
        Some((tool, args))
    }
}

/// `/nodes/{node}/storage/{storage}/content/{volume}`.
fn content_path(node: &NodeName, storage: &StorageId, volid: &str) -> String {
    format!("/nodes/{node}/storage/{storage}/content/{volid}")
}
