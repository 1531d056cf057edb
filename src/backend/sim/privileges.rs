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
//! | `GET /nodes/{node}/status`, `GET /nodes/{node}/rrddata` | `Sys.Audit` on `/nodes/{node}` |
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
//! | `GET`/`POST …/{vmid}/migrate` | `VM.Migrate` |
//! | `PUT …/{vmid}/resize` | `VM.Config.Disk` |
//! | `POST …/qemu/{vmid}/move_disk`, `…/lxc/{vmid}/move_volume` | `VM.Config.Disk` (the handler: `Datastore.AllocateSpace` on `/storage/{storage}`) |
//! | `GET …/qemu/{vmid}/agent/{cmd}` (reads), `POST …/agent/ping` | `VM.GuestAgent.Audit` or `VM.GuestAgent.Unrestricted` |
//! | `POST …/qemu/{vmid}/agent` (`command`) | `VM.GuestAgent.Unrestricted` |
//! | `POST …/agent/exec`, `GET …/agent/exec-status` | `VM.GuestAgent.Unrestricted` |
//! | `GET …/agent/file-read` / `POST …/agent/file-write` | `VM.GuestAgent.FileRead` / `.FileWrite`, or `VM.GuestAgent.Unrestricted` |
//! | `GET …/lxc/{vmid}/interfaces` | `VM.Audit` |
//! | `GET /pools/{poolid}` (and `GET /pools?poolid=`, in the handler) | `Pool.Audit` on `/pool/{poolid}` |
//! | `GET /cluster/ha/resources`, `GET /cluster/ha/status/current` | `Sys.Audit` on `/` |
//! | `POST /cluster/ha/resources/{sid}/migrate` | `Sys.Console` on `/` |
//! | `GET /nodes/{node}/services`, `GET /nodes/{node}/disks/list` | `Sys.Audit` on `/nodes/{node}` (disks: PVE also accepts it on `/`) |
//! | `GET /nodes/{node}/apt/update` | `Sys.Modify` on `/nodes/{node}` |
//! | `GET /nodes/{node}/disks/zfs` | `Sys.Audit` on `/` |
//! | `GET /cluster/ceph/status`, `GET /nodes/{node}/ceph/status` | `Sys.Audit` or `Datastore.Audit` on `/` |
//! | `GET /nodes/{node}/tasks/{upid}/status`, `…/log` | own task, else `Sys.Audit` on `/nodes/{node}` |
//! | `DELETE /nodes/{node}/tasks/{upid}` | own task, else `Sys.Modify` on `/nodes/{node}` |
//!
//! The agent's privileges are PVE 9's (`VM.GuestAgent.*`, as the reference schema has them);
//! PVE 8 asked `VM.Monitor` for every agent route.
//!
//! Every other route is open to any authenticated caller (`user => 'all'`): `/version`,
//! `/access/permissions` (one's own; another `userid` is not checked here), and
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
const AGENT_AUDIT: &[&str] = &["VM.GuestAgent.Audit", "VM.GuestAgent.Unrestricted"];
const AGENT_ALL: &[&str] = &["VM.GuestAgent.Unrestricted"];

const RULES: &[Rule] = &[
    Rule(Method::Get, "/cluster/status", Need::All("/", &["Sys.Audit"])),
    Rule(Method::Get, "/nodes/{node}/status", Need::All("/nodes/{node}", &["Sys.Audit"])),
    Rule(Method::Get, "/nodes/{node}/rrddata", Need::All("/nodes/{node}", &["Sys.Audit"])),
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
    Rule(Method::Get, "/nodes/{node}/{kind}/{vmid}/migrate", Need::All("/vms/{vmid}", &["VM.Migrate"])),
    Rule(Method::Post, "/nodes/{node}/{kind}/{vmid}/migrate", Need::All("/vms/{vmid}", &["VM.Migrate"])),
    Rule(Method::Put, "/nodes/{node}/{kind}/{vmid}/resize", Need::All("/vms/{vmid}", &["VM.Config.Disk"])),
    Rule(Method::Post, "/nodes/{node}/qemu/{vmid}/move_disk", Need::All("/vms/{vmid}", &["VM.Config.Disk"])),
    Rule(Method::Post, "/nodes/{node}/lxc/{vmid}/move_volume", Need::All("/vms/{vmid}", &["VM.Config.Disk"])),
    // The agent: the specific routes before `agent/{cmd}`.
    Rule(Method::Post, "/nodes/{node}/qemu/{vmid}/agent/exec", Need::All("/vms/{vmid}", AGENT_ALL)),
    Rule(Method::Get, "/nodes/{node}/qemu/{vmid}/agent/exec-status", Need::All("/vms/{vmid}", AGENT_ALL)),
    Rule(
        Method::Get,
        "/nodes/{node}/qemu/{vmid}/agent/file-read",
        Need::Any("/vms/{vmid}", &["VM.GuestAgent.FileRead", "VM.GuestAgent.Unrestricted"]),
    ),
    Rule(
        Method::Post,
        "/nodes/{node}/qemu/{vmid}/agent/file-write",
        Need::Any("/vms/{vmid}", &["VM.GuestAgent.FileWrite", "VM.GuestAgent.Unrestricted"]),
    ),
    Rule(Method::Post, "/nodes/{node}/qemu/{vmid}/agent/ping", Need::Any("/vms/{vmid}", AGENT_AUDIT)),
    Rule(Method::Post, "/nodes/{node}/qemu/{vmid}/agent", Need::Any("/vms/{vmid}", AGENT_ALL)),
    Rule(Method::Get, "/nodes/{node}/qemu/{vmid}/agent/{cmd}", Need::Any("/vms/{vmid}", AGENT_AUDIT)),
    Rule(Method::Get, "/nodes/{node}/lxc/{vmid}/interfaces", Need::All("/vms/{vmid}", &["VM.Audit"])),
    Rule(Method::Get, "/pools/{poolid}", Need::All("/pool/{poolid}", &["Pool.Audit"])),
    Rule(Method::Get, "/cluster/ha/resources", Need::All("/", &["Sys.Audit"])),
    Rule(Method::Get, "/cluster/ha/status/current", Need::All("/", &["Sys.Audit"])),
    Rule(Method::Post, "/cluster/ha/resources/{sid}/migrate", Need::All("/", &["Sys.Console"])),
    Rule(Method::Get, "/cluster/backup", Need::All("/", &["Sys.Audit"])),
    Rule(Method::Get, "/cluster/backup-info/not-backed-up", Need::All("/", &["Sys.Audit"])),
    Rule(Method::Get, "/nodes/{node}/services", Need::All("/nodes/{node}", &["Sys.Audit"])),
    Rule(Method::Get, "/nodes/{node}/apt/update", Need::All("/nodes/{node}", &["Sys.Modify"])),
    Rule(Method::Get, "/nodes/{node}/disks/list", Need::All("/nodes/{node}", &["Sys.Audit"])),
    Rule(Method::Get, "/nodes/{node}/disks/zfs", Need::All("/", &["Sys.Audit"])),
    Rule(Method::Get, "/cluster/ceph/status", Need::Any("/", &["Sys.Audit", "Datastore.Audit"])),
    Rule(Method::Get, "/nodes/{node}/ceph/status", Need::Any("/", &["Sys.Audit", "Datastore.Audit"])),
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
        template
            .replace("{vmid}", req.var("vmid"))
            .replace("{node}", req.var("node"))
            .replace("{storage}", req.var("storage"))
            .replace("{poolid}", req.var("poolid"))
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

    /// The routes of migration, disks, the agent, container interfaces, pools and HA: a
    /// token with only PVE's `PVEAuditor` role on `/` gets the schema's 403 for each write
    /// (and exec), through `Sim::handle` as every face calls it, before the handler runs.
    #[test]
    fn new_routes_need_their_privileges() {
        let mut ro = sim_as(true, vec![SimAcl::new("/", PVE_AUDITOR)]);
        let p = |kv: &[(&str, &str)]| -> Params { kv.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect() };
        let denied = [
            (Method::Get, "/nodes/pve1/qemu/100/migrate", p(&[]), "/vms/100, VM.Migrate"),
            (Method::Post, "/nodes/pve1/qemu/100/migrate", p(&[("target", "pve2")]), "/vms/100, VM.Migrate"),
            (Method::Post, "/nodes/pve1/lxc/102/migrate", p(&[("target", "pve2")]), "/vms/102, VM.Migrate"),
            (Method::Put, "/nodes/pve1/qemu/100/resize", p(&[("disk", "scsi0"), ("size", "+1G")]), "/vms/100, VM.Config.Disk"),
            (Method::Put, "/nodes/pve1/lxc/102/resize", p(&[("disk", "rootfs"), ("size", "+1G")]), "/vms/102, VM.Config.Disk"),
            (Method::Post, "/nodes/pve1/qemu/100/move_disk", p(&[("disk", "scsi0"), ("storage", "nas")]), "/vms/100, VM.Config.Disk"),
            (Method::Post, "/nodes/pve1/lxc/102/move_volume", p(&[("volume", "rootfs"), ("storage", "nas")]), "/vms/102, VM.Config.Disk"),
            (Method::Post, "/nodes/pve1/qemu/100/agent/exec", p(&[("command", "true")]), "/vms/100, VM.GuestAgent.Unrestricted"),
            (Method::Get, "/nodes/pve1/qemu/100/agent/exec-status", p(&[("pid", "1")]), "/vms/100, VM.GuestAgent.Unrestricted"),
            (Method::Post, "/nodes/pve1/qemu/100/agent", p(&[("command", "ping")]), "/vms/100, VM.GuestAgent.Unrestricted"),
            (
                Method::Get,
                "/nodes/pve1/qemu/100/agent/file-read",
                p(&[("file", "/etc/hostname")]),
                "/vms/100, VM.GuestAgent.FileRead|VM.GuestAgent.Unrestricted",
            ),
            (Method::Post, "/cluster/ha/resources/vm:100/migrate", p(&[("node", "pve2")]), "/, Sys.Console"),
        ];
        for (method, path, params, want) in denied {
            let e = ro.handle(method, path, &params).expect_err(path);
            assert_eq!((e.code, e.message.as_str()), (Some(403), format!("Permission check failed ({want})").as_str()), "{path}");
        }
        // The auditor's role holds the read privileges these routes need.
        assert!(check_route(&ro, Method::Get, "/nodes/pve1/qemu/100/agent/network-get-interfaces").is_ok());
        assert!(check_route(&ro, Method::Post, "/nodes/pve1/qemu/100/agent/ping").is_ok());
        assert!(check_route(&ro, Method::Get, "/cluster/ha/status/current").is_ok());
        assert!(check_route(&ro, Method::Get, "/pools/prod").is_ok());

        let mut empty = sim_as(true, Vec::new());
        let reads = [
            ("/nodes/pve1/qemu/100/agent/network-get-interfaces", p(&[]), "/vms/100, VM.GuestAgent.Audit|VM.GuestAgent.Unrestricted"),
            ("/nodes/pve1/lxc/102/interfaces", p(&[]), "/vms/102, VM.Audit"),
            ("/pools/prod", p(&[]), "/pool/prod, Pool.Audit"),
            ("/pools", p(&[("poolid", "prod")]), "/pool/prod, Pool.Audit"),
            ("/cluster/ha/status/current", p(&[]), "/, Sys.Audit"),
            ("/cluster/ha/resources", p(&[]), "/, Sys.Audit"),
        ];
        for (path, params, want) in reads {
            let e = empty.handle(Method::Get, path, &params).expect_err(path);
            assert_eq!((e.code, e.message.as_str()), (Some(403), format!("Permission check failed ({want})").as_str()), "{path}");
        }
        assert_eq!(empty.handle(Method::Get, "/pools", &Params::new()).expect("the list is open"), serde_json::json!([]), "filtered");

        let unrestricted = sim_as(true, vec![SimAcl::new("/vms/100", &["VM.GuestAgent.Unrestricted"])]);
        assert!(check_route(&unrestricted, Method::Post, "/nodes/pve1/qemu/100/agent/exec").is_ok());
        assert!(check_route(&unrestricted, Method::Get, "/nodes/pve1/qemu/100/agent/get-osinfo").is_ok(), "any of the two");
    }

    /// An injected denial reaches the root faces (pvesh, qm) too, through the same table.
    #[test]
    fn injected_denials_apply_to_root_callers() {
        let mut sim = Sim::new(demo_state());
        sim.state_mut()
            .faults
            .denied
            .push(crate::backend::sim::Denied { path: "/vms/100".into(), privilege: "VM.GuestAgent.Unrestricted".into() });
        let params: Params = vec![("command".into(), "true".into())];
        let e = sim.handle(Method::Post, "/nodes/pve1/qemu/100/agent/exec", &params).expect_err("denied");
        assert_eq!(e.message, "Permission check failed (/vms/100, VM.GuestAgent.Unrestricted)");
    }
}
