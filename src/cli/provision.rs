//! `pvectl guest clone|template|create|delete|set|unlock|pending`: provisioning and config
//! changes on the engine (tiers in DESIGN.md §4), and the pending-changes read.
//!
//! Secrets (`--password-file`) come from a private file or stdin, never from argv; they are
//! registered for redaction and shown as `***` in plans, audit records and traces.

use std::io::Read as _;
use std::path::Path;

use serde_json::Value;

use super::Env;
use super::args::{CloneArgs, CreateArgs, GuestCmd, SetArgs};
use super::output::{Table, opt, print};
use super::report::act;
use crate::backend::rest::{Secret, read_secret_file};
use crate::backend::{InventoryExt, Params};
use crate::error::{Error, Result};
use crate::model::{GuestKind, Vmid};
use crate::workflow::{CloneGuest, CreateGuest, DeleteGuest, MakeTemplate, SetConfig, Unlock, discover};

/// Most bytes read from a key file.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// Runs a provisioning or config `guest` command.
///
/// # Errors
/// Usage errors (bad keys, unreadable files) before anything is read; the engine's refusals
/// and outcomes.
pub(crate) async fn run(env: &Env<'_>, cmd: GuestCmd) -> Result<()> {
    let timeout = env.cfg.timeout;
    match cmd {
        GuestCmd::Pending { guest } => pending(env, &guest).await,
        GuestCmd::Clone(a) => act(env, &clone_action(a), true, timeout).await,
        GuestCmd::Template { vmid } => act(env, &MakeTemplate { vmid }, true, timeout).await,
        GuestCmd::Create(a) => act(env, &create_action(*a)?, true, timeout).await,
        GuestCmd::Delete { vmid, purge, destroy_unreferenced_disks } => {
            act(env, &DeleteGuest { vmid, purge, destroy_unreferenced_disks }, true, timeout).await
        }
        GuestCmd::Set(a) => {
            let action = set_action(a)?;
            action.validate()?;
            act(env, &action, true, timeout).await
        }
        GuestCmd::Unlock { vmid } => act(env, &Unlock { vmid }, true, timeout).await,
        other => super::inside::run(env, other).await,
    }
}

fn clone_action(a: CloneArgs) -> CloneGuest {
    CloneGuest {
        vmid: Some(a.vmid),
        newid: a.newid,
        name: a.name,
        full: if a.full {
            Some(true)
        } else if a.linked {
            Some(false)
        } else {
            None
        },
        target_node: a.target_node,
        storage: a.storage,
        pool: a.pool,
        description: a.description,
    }
}

/// `guest set`: `key=value` arguments, then the typed flags, then `--delete`.
fn set_action(a: SetArgs) -> Result<SetConfig> {
    let mut set = super::api::parse_params(&a.params)?;
    let typed = [
        ("memory", a.memory.map(|v| v.to_string())),
        ("cores", a.cores.map(|v| v.to_string())),
        ("tags", a.tags),
        ("onboot", a.onboot.map(|v| v.to_string())),
        ("protection", a.protection.map(|v| v.to_string())),
        ("description", a.description),
        ("name", a.name),
    ];
    for (k, v) in typed {
        if let Some(v) = v {
            if set.iter().any(|(s, _)| s == k) {
                return Err(Error::Usage(format!("'{k}' is given twice")));
            }
            set.push((k.to_owned(), v));
        }
    }
    Ok(SetConfig { vmid: a.vmid, set, delete: a.delete.into_iter().filter(|k| !k.is_empty()).collect() })
}

/// Reads a public-key file (bounded).
fn read_keys(path: &Path) -> Result<String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_KEY_FILE).read_to_string(&mut text))
        .map_err(|e| Error::Usage(format!("cannot read the key file {}: {e}", path.display())))?;
    if text.trim().is_empty() {
        return Err(Error::Usage(format!("the key file {} is empty", path.display())));
    }
    Ok(text.trim_end().to_owned() + "\n")
}

/// Reads a password from a private file, or from stdin for `-`.
fn read_password(path: &Path) -> Result<Secret> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .take(4096)
            .read_to_string(&mut text)
            .map_err(|e| Error::Usage(format!("cannot read the password from stdin: {e}")))?;
        let pw = text.trim_end_matches(['\n', '\r']);
        if pw.is_empty() {
            return Err(Error::Usage("no password on stdin".into()));
        }
        return Ok(Secret::new(pw));
    }
    read_secret_file(path)
}

/// Builds `guest create`'s parameters, refusing options of the other kind.
fn create_action(a: CreateArgs) -> Result<CreateGuest> {
    let mut p = Params::new();
    let mut push = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            p.push((k.to_owned(), v));
        }
    };
    let mut secrets = Vec::new();
    let wrong = |opt: &str, kind: GuestKind| Err(Error::Usage(format!("{opt} is not an option for {kind} guests")));
    match a.kind {
        GuestKind::Lxc => {
            for (set, opt) in [
                (a.name.is_some(), "--name"),
                (a.scsi0.is_some(), "--scsi0"),
                (a.ostype.is_some(), "--ostype"),
                (a.cdrom.is_some(), "--cdrom"),
                (a.ciuser.is_some(), "--ciuser"),
                (a.sshkeys.is_some(), "--sshkeys"),
                (a.ipconfig0.is_some(), "--ipconfig0"),
            ] {
                if set {
                    return wrong(opt, a.kind);
                }
            }
            let ostemplate = a.ostemplate.ok_or_else(|| Error::Usage("an lxc guest needs --ostemplate STORAGE:vztmpl/FILE".into()))?;
            push("ostemplate", Some(ostemplate));
            push("hostname", a.hostname);
            let rootfs = match (a.rootfs, &a.storage) {
                (Some(r), Some(s)) if r.parse::<u64>().is_ok() => Some(format!("{s}:{r}")),
                (Some(r), _) if r.parse::<u64>().is_ok() => return Err(Error::Usage("--rootfs SIZE needs --storage".into())),
                (Some(r), _) => Some(r),
                (None, Some(s)) => Some(format!("{s}:8")),
                (None, None) => None,
            };
            push("rootfs", rootfs);
            push("memory", a.memory.map(|v| v.to_string()));
            push("cores", a.cores.map(|v| v.to_string()));
            push("net0", a.net0);
            push("ssh-public-keys", a.ssh_public_keys.as_deref().map(read_keys).transpose()?);
            if a.unprivileged {
                push("unprivileged", Some("1".into()));
            }
            if let Some(f) = &a.password_file {
                secrets.push(("password".to_owned(), read_password(f)?));
            }
        }
        GuestKind::Qemu => {
            for (set, opt) in [
                (a.ostemplate.is_some(), "--ostemplate"),
                (a.hostname.is_some(), "--hostname"),
                (a.rootfs.is_some(), "--rootfs"),
                (a.ssh_public_keys.is_some(), "--ssh-public-keys"),
                (a.password_file.is_some(), "--password-file"),
                (a.unprivileged, "--unprivileged"),
            ] {
                if set {
                    return wrong(opt, a.kind);
                }
            }
            push("name", a.name);
            push("memory", a.memory.map(|v| v.to_string()));
            push("cores", a.cores.map(|v| v.to_string()));
            let scsi0 = match (a.scsi0, &a.storage) {
                (Some(d), Some(s)) if d.parse::<u64>().is_ok() => Some(format!("{s}:{d}")),
                (d, _) => d,
            };
            push("scsi0", scsi0);
            push("net0", a.net0);
            push("ostype", a.ostype);
            push("ide2", a.cdrom.map(|c| format!("{c},media=cdrom")));
            push("ciuser", a.ciuser);
            // qemu-server wants `sshkeys` URI-encoded (it checks that it decodes).
            let keys = a.sshkeys.as_deref().map(read_keys).transpose()?;
            push("sshkeys", keys.map(|k| percent_encoding::utf8_percent_encode(&k, percent_encoding::NON_ALPHANUMERIC).to_string()));
            push("ipconfig0", a.ipconfig0);
        }
    }
    Ok(CreateGuest { kind: a.kind, vmid: a.vmid, node: a.node, params: p, secrets, start: a.start })
}

/// `guest pending`: `GET /nodes/{node}/{kind}/{vmid}/pending`, one row a key.
async fn pending(env: &Env<'_>, guest: &str) -> Result<()> {
    let vmid = match guest.parse::<Vmid>() {
        Ok(v) => v,
        Err(_) => crate::workflow::resolve_one(env.b(), guest).await?.vmid,
    };
    let (guest, _) = discover(env.b(), vmid, None, None).await?;
    let list = env.b().pending(&guest).await?;
    print(env.cfg.output, &list, |list| {
        let mut t = Table::new(&["KEY", "VALUE", "PENDING", "DELETE"]);
        for e in list {
            let v = serde_json::to_value(e).unwrap_or(Value::Null);
            let text = |k: &str| opt(crate::model::loose::value_string(&v[k]).as_deref());
            t.row(vec![text("key"), text("value"), text("pending"), text("delete")]);
        }
        t
    })
}
