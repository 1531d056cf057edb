//! Privilege diagnosis for `doctor`: what each pvectl command group needs (the `permissions`
//! of the API schema's methods, `reference/schema/apidoc.js`) compared with what
//! `GET /access/permissions` says the caller holds, and the `pveum` line that grants what is
//! missing.

use serde::Serialize;
use serde_json::Value;

/// A command group, the privileges its API calls check, where, and the built-in roles that
/// hold them.
struct Group {
    name: &'static str,
    /// (privilege, the ACL path under which PVE checks it: `/vms/{vmid}`, `/storage/{id}`, ...).
    needs: &'static [(&'static str, &'static str)],
    roles: &'static str,
}

const GROUPS: &[Group] = &[
    Group { name: "guests (read)", needs: &[("VM.Audit", "/vms")], roles: "PVEAuditor" },
    Group { name: "power", needs: &[("VM.PowerMgmt", "/vms")], roles: "PVEVMUser" },
    Group { name: "snapshots", needs: &[("VM.Snapshot", "/vms")], roles: "PVEVMAdmin" },
    Group {
        name: "backups",
        needs: &[("VM.Backup", "/vms"), ("Datastore.AllocateSpace", "/storage")],
        roles: "PVEVMUser,PVEDatastoreUser",
    },
    Group { name: "tasks", needs: &[("Sys.Audit", "/nodes")], roles: "PVEAuditor" },
    Group { name: "storage", needs: &[("Datastore.Audit", "/storage")], roles: "PVEAuditor" },
];

/// What one command group may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct GroupAccess {
    /// The command group (`power`, `backups`, ...).
    pub group: &'static str,
    /// `ok` (everywhere), `partial` (on some objects only) or `missing`.
    pub result: &'static str,
    /// Privileges it needs.
    pub needs: Vec<&'static str>,
    /// Privileges not held on `/` (or the group's base path) with propagation.
    pub missing: Vec<&'static str>,
    /// The command that grants them cluster-wide, when something is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// Whether `tree` (`GET /access/permissions`) grants `privilege` on every object under `base`.
fn everywhere(tree: &Value, privilege: &str, base: &str) -> bool {
    let at = |path: &str, propagating: bool| {
        tree.get(path)
            .and_then(|m| m.get(privilege))
            .is_some_and(|v| !propagating || v.as_u64().unwrap_or(0) == 1 || v == &Value::Bool(true))
    };
    at("/", true) || at(base, true)
}

fn anywhere(tree: &Value, privilege: &str) -> bool {
    tree.as_object().is_some_and(|m| m.values().any(|p| p.get(privilege).is_some()))
}

/// The access of each command group for the permission tree `tree`; `fix` lines name
/// `token` (`USER@REALM!ID`), or the user placeholder when the caller is not a token.
pub fn diagnose(tree: &Value, token: Option<&str>) -> Vec<GroupAccess> {
    let who = token.map_or_else(|| "--users 'USER@REALM'".to_owned(), |t| format!("--tokens '{}'", t.replace('\'', "")));
    GROUPS
        .iter()
        .map(|g| {
            let missing: Vec<&'static str> = g.needs.iter().filter(|(p, base)| !everywhere(tree, p, base)).map(|(p, _)| *p).collect();
            let result = if missing.is_empty() {
                "ok"
            } else if missing.iter().all(|p| anywhere(tree, p)) {
                "partial"
            } else {
                "missing"
            };
            let fix = (!missing.is_empty()).then(|| format!("pveum acl modify / {who} --roles {}", g.roles));
            GroupAccess { group: g.name, result, needs: g.needs.iter().map(|(p, _)| *p).collect(), missing, fix }
        })
        .collect()
}

/// Whether the tree grants nothing at all (a privilege-separated token without ACLs).
pub fn sees_nothing(tree: &Value) -> bool {
    tree.as_object().is_none_or(|m| m.values().all(|p| p.as_object().is_none_or(serde_json::Map::is_empty)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn groups_are_ok_partial_or_missing_with_the_fixing_line() {
        let tree = json!({"/": {"Sys.Audit": 1, "VM.Audit": 1, "Datastore.Audit": 1}, "/vms/100": {"VM.PowerMgmt": 0}});
        let d = diagnose(&tree, Some("auditor@pve!ro"));
        let r: Vec<(&str, &str)> = d.iter().map(|g| (g.group, g.result)).collect();
        assert_eq!(
            r,
            [
                ("guests (read)", "ok"),
                ("power", "partial"),
                ("snapshots", "missing"),
                ("backups", "missing"),
                ("tasks", "ok"),
                ("storage", "ok")
            ]
        );
        assert_eq!(d[3].fix.as_deref(), Some("pveum acl modify / --tokens 'auditor@pve!ro' --roles PVEVMUser,PVEDatastoreUser"));
        assert!(sees_nothing(&json!({})) && !sees_nothing(&tree));
    }
}
