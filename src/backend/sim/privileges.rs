//! The privilege each API route needs before its handler runs, as PVE's API schema states
//! it (`permissions` of each method in pve-docs `api-viewer/apidata.js`, commit e5010dc,
//! copied as `reference/schema/apidoc.js`). pve-manager's `rest_handler`
//! (`PVE/HTTPServer.pm`) checks it right after finding the handler: before the request is
//! proxied to the guest's node and before the parameters are verified, so a caller without
//! the privilege gets `403` even for a guest that does not exist.
//!
//! | route | needs |
//! | --- | --- |
//! | `GET /cluster/status` | `Sys.Audit` on `/` |
//! | `GET /nodes/{node}/status` | `Sys.Audit` on `/nodes/{node}` |
//! | `GET …/{vmid}/status/current`, `…/config`, `…/snapshot` | `VM.Audit` on `/vms/{vmid}` |
//! | `POST …/{vmid}/status/{start,stop,shutdown,reboot,reset,suspend,resume}` | `VM.PowerMgmt` |
//! | `POST …/{vmid}/snapshot`, `DELETE …/snapshot/{snapname}`, `PUT …/snapshot/{snapname}/config` | `VM.Snapshot` |
//! | `POST …/snapshot/{snapname}/rollback` | `VM.Snapshot` or `VM.Snapshot.Rollback` |
//! | `GET …/snapshot/{snapname}/config` | `VM.Snapshot`, `VM.Snapshot.Rollback` or `VM.Audit` |
//! | `PUT`/`POST /nodes/{node}/qemu/{vmid}/config` | any `VM.Config.*` (8 of them) |
//! | `PUT /nodes/{node}/lxc/{vmid}/config` | any of 5 `VM.Config.*` |
//! | `GET …/{vmid}/pending` | `VM.Audit` |
//! | `POST …/{vmid}/clone` | `VM.Clone` (the handler: `VM.Allocate` on `/vms/{newid}`) |
//! | `POST …/{vmid}/template`, `DELETE /nodes/{node}/{kind}/{vmid}` | `VM.Allocate` |
//! | `GET /nodes/{node}/storage/{storage}/content` | `Datastore.Audit` or `Datastore.AllocateSpace` on `/storage/{storage}` |
//! | `GET /cluster/backup`, `GET /cluster/backup-info/not-backed-up` | `Sys.Audit` on `/` |
//! | `POST /nodes/{node}/vzdump` (handler) | `VM.Backup` on each guest, `Datastore.AllocateSpace` on the storage |
//! | `POST /nodes/{node}/{qemu,lxc}` (handler) | `VM.Allocate` on `/vms/{vmid}` (restore over an existing guest: `VM.Backup`) |
//! | `DELETE …/content/{volume}` (handler) | backup: `Datastore.AllocateSpace` + `VM.Backup` on its guest; else `Datastore.Allocate` |
//! | `GET /nodes/{node}/tasks/{upid}/status`, `…/log` | own task, else `Sys.Audit` on `/nodes/{node}` |
//! | `DELETE /nodes/{node}/tasks/{upid}` | own task, else `Sys.Modify` on `/nodes/{node}` |
//!
//! Every other route is open to any authenticated caller (`user => 'all'`): `/version`, and
//! the lists, whose handlers leave out what the caller may not audit (`Sim::hidden`:
//! `/cluster/resources`, `/nodes`, `/nodes/{node}/{qemu,lxc}`, `/nodes/{node}/storage`,
//! `/storage`, `/pools`, `/nodes/{node}/tasks`). The 403 text is pve-common's
//! `Permission check failed (<acl path>, <privilege>)`; an "any of" check names them all,
//! joined with `|` (pve-access-control `RPCEnvironment::check_any`).

use super::core::Sim;
use super::error::SimError;
use super::route::{Request, match_path};
use crate::backend::api::{Method, Params};
use crate::model::Upid;

/// What a route needs.
enum Need {
    /// Every privilege of the list on the ACL path (`check => ['perm', path, privs]`).
    All(&'static str, &'static [&'static str]),
    /// One privilege of the list (`check => ['perm', path, privs, any => 1]`).
    Any(&'static str, &'static [&'static str]),
    /// The caller's own task (`{upid}`), else the privilege on `/nodes/{node}`.
    OwnTaskOr(&'static str),
}

/// One row: method, path pattern (route-table syntax), need.
struct Rule(Method, &'static str, Need);

const QEMU_CONFIG: &[&str] = &[
    "VM.Config.Disk",
    "VM.Config.CDROM",
    "VM.Config.CPU",
    "VM.Config.Memory",
    "VM.Config.Network",
    "VM.Config.HWType",
    "VM.Config.Options",
    "VM.Config.Cloudinit",
];
const LXC_CONFIG: &[&str] = &["VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options"];
const SNAPSHOT: &[&str] = &["VM.Snapshot"];

const RULES: &[Rule] = &[
    Rule(Method::Get, "/cluster/status", Need::All("/", &["Sys.Audit"])),
    Rule(Method::Get, "/nodes/{node}/status", Need::All("/nodes/{node}", &["Sys.Audit"])),
    Rule(Method::Get, "/nodes/{node}/{kind}/{vmid}/status/current", Need::All("/vms/{vmid}", &["VM.Audit"])),
    Rule(Method::Get, "/nodes/{node}/{kind}/{vmid}/config", Need::All("/vms/{vmid}", &["VM.Audit"])),
    Rule(Method::Get, "/nodes/{node}/{kind}/{vmid}/snapshot", Need::All("/vms/{vmid}", &["VM.Audit"])),
    Rule(Method::Post, "/nodes/{node}/{kind}/{vmid}/status/{action}", Need::All("/vms/{vmid}", &["VM.PowerMgmt"])),
    Rule(Method::Post, "/nodes/{node}/{kind}/{vmid}/snapshot", Need::All("/vms/{vmid}", SNAPSHOT)),
    Rule(Method::Delete, "/nodes/{node}/{kind}/{vmid}/snapshot/{snapname}", Need::All("/vms/{vmid}", SNAPSHOT)),
    Rule(Method::Put, "/nodes/{node}/{kind}/{vmid}/snapshot/{snapname}/config", Need::All("/vms/{vmid}", SNAPSHOT)),
    Rule(
        Method::Post,
        "/nodes/{node}/{kind}/{vmid}/snapshot/{snapname}/rollback",
        Need::Any("/vms/{vmid}", &["VM.Snapshot", "VM.Snapshot.Rollback"]),
    ),
    Rule(
        Method::Get,
        "/nodes/{node}/{kind}/{vmid}/snapshot/{snapname}/config",
        Need::Any("/vms/{vmid}", &["VM.Snapshot", "VM.Snapshot.Rollback", "VM.Audit"]),
    ),
    Rule(Method::Put, "/nodes/{node}/qemu/{vmid}/config", Need::Any("/vms/{vmid}", QEMU_CONFIG)),
    Rule(Method::Post, "/nodes/{node}/qemu/{vmid}/config", Need::Any("/vms/{vmid}", QEMU_CONFIG)),
    Rule(Method::Put, "/nodes/{node}/lxc/{vmid}/config", Need::Any("/vms/{vmid}", LXC_CONFIG)),
    Rule(Method::Get, "/nodes/{node}/{kind}/{vmid}/pending", Need::All("/vms/{vmid}", &["VM.Audit"])),
    Rule(Method::Post, "/nodes/{node}/{kind}/{vmid}/clone", Need::All("/vms/{vmid}", &["VM.Clone"])),
    Rule(Method::Post, "/nodes/{node}/{kind}/{vmid}/template", Need::All("/vms/{vmid}", &["VM.Allocate"])),
    Rule(Method::Delete, "/nodes/{node}/{kind}/{vmid}", Need::All("/vms/{vmid}", &["VM.Allocate"])),
    Rule(
        Method::Get,
        "/nodes/{node}/storage/{storage}/content",
        Need::Any("/storage/{storage}", &["Datastore.Audit", "Datastore.AllocateSpace"]),
    ),
    Rule(Method::Get, "/cluster/backup", Need::All("/", &["Sys.Audit"])),
    Rule(Method::Get, "/cluster/backup-info/not-backed-up", Need::All("/", &["Sys.Audit"])),
    Rule(Method::Get, "/nodes/{node}/tasks/{upid}/status", Need::OwnTaskOr("Sys.Audit")),
    Rule(Method::Get, "/nodes/{node}/tasks/{upid}/log", Need::OwnTaskOr("Sys.Audit")),
    Rule(Method::Delete, "/nodes/{node}/tasks/{upid}", Need::OwnTaskOr("Sys.Modify")),
];

/// Checks the privilege `(method, path)` needs against the caller and the injected faults
/// of `sim` (see the module docs); a path no rule names needs none.
///
/// # Errors
/// `403 Permission check failed (<acl path>, <privilege>)` when it is missing.
pub(crate) fn check_route(sim: &Sim, method: Method, path: &str) -> Result<(), SimError> {
    let Some((need, vars)) = RULES.iter().filter(|r| r.0 == method).find_map(|r| match_path(r.1, path).map(|v| (&r.2, v))) else {
        return Ok(());
    };
    let req = Request { vars, params: &Params::new() };
    let acl = |template: &str| {
        template.replace("{vmid}", req.var("vmid")).replace("{node}", req.var("node")).replace("{storage}", req.var("storage"))
    };
    match need {
        Need::All(template, privs) => privs.iter().try_for_each(|p| sim.check_perm(&acl(template), p)),
        Need::Any(template, privs) => {
            let acl = acl(template);
            if privs.iter().any(|p| !sim.hidden(&acl, p)) { Ok(()) } else { Err(SimError::permission(&acl, &privs.join("|"))) }
        }
        Need::OwnTaskOr(privilege) => match req.var("upid").parse::<Upid>() {
            // A malformed UPID is the handler's 400 (`upid: unable to parse worker upid`).
            Err(_) => Ok(()),
            Ok(upid) if sim.caller_owns_task(&upid.user) => Ok(()),
            Ok(_) => sim.check_perm(&acl("/nodes/{node}"), privilege),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sim::access::{Caller, PVE_AUDITOR, SimAcl, SimToken};
    use crate::backend::sim::demo::demo_state;

    fn sim_as(privsep: bool, acls: Vec<SimAcl>) -> Sim {
        let mut sim = Sim::new(demo_state());
        sim.set_caller(Some(Caller::from_token(&SimToken::new("auditor@pve!t", "s", privsep, acls))));
        sim
    }

    #[test]
    fn reads_need_audit_and_actions_their_privilege() {
        let ro = sim_as(true, vec![SimAcl::new("/", PVE_AUDITOR)]);
        assert!(check_route(&ro, Method::Get, "/nodes/pve1/qemu/100/config").is_ok());
        assert!(check_route(&ro, Method::Get, "/cluster/resources").is_ok());
        let e = check_route(&ro, Method::Post, "/nodes/pve1/qemu/100/status/start").expect_err("no power");
        assert_eq!((e.code, e.message.as_str()), (Some(403), "Permission check failed (/vms/100, VM.PowerMgmt)"));
        let e = check_route(&ro, Method::Post, "/nodes/pve1/lxc/102/snapshot/base/rollback").expect_err("no rollback");
        assert_eq!(e.message, "Permission check failed (/vms/102, VM.Snapshot|VM.Snapshot.Rollback)");
        let e = check_route(&ro, Method::Delete, "/nodes/pve1/qemu/100/snapshot/s1").expect_err("no snapshot");
        assert_eq!(e.message, "Permission check failed (/vms/100, VM.Snapshot)");
        let rb = sim_as(true, vec![SimAcl::new("/vms/100", &["VM.Snapshot.Rollback"])]);
        assert!(check_route(&rb, Method::Post, "/nodes/pve1/qemu/100/snapshot/s1/rollback").is_ok());
    }

    #[test]
    fn no_acls_means_403_on_objects() {
        let empty = sim_as(true, Vec::new());
        let e = check_route(&empty, Method::Get, "/nodes/pve2/status").expect_err("no audit");
        assert_eq!(e.message, "Permission check failed (/nodes/pve2, Sys.Audit)");
        let e = check_route(&empty, Method::Get, "/cluster/status").expect_err("no audit");
        assert_eq!(e.message, "Permission check failed (/, Sys.Audit)");
        assert!(check_route(&empty, Method::Get, "/version").is_ok());
        assert!(check_route(&Sim::new(demo_state()), Method::Post, "/nodes/pve1/qemu/100/status/stop").is_ok(), "root");
    }

    #[test]
    fn tasks_are_open_to_their_owner() {
        let empty = sim_as(true, Vec::new());
        assert_eq!((empty.caller_userid(), Sim::new(demo_state()).caller_userid()), ("auditor@pve!t", "root@pam"));
        let own = "/nodes/pve1/tasks/UPID:pve1:00001234:00005678:6955B000:qmstart:100:auditor@pve!t:/log";
        assert!(check_route(&empty, Method::Get, own).is_ok());
        let other = "/nodes/pve1/tasks/UPID:pve1:00001234:00005678:6955B000:qmstart:100:root@pam:/status";
        assert_eq!(
            check_route(&empty, Method::Get, other).expect_err("not own").message,
            "Permission check failed (/nodes/pve1, Sys.Audit)"
        );
        assert!(check_route(&empty, Method::Get, "/nodes/pve1/tasks/garbage/status").is_ok(), "the handler's 400");
    }
}
