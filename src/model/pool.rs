//! Resource pools, from every form PVE has answered in (OPERATIONS.md fact 22, pve-manager
//! `PVE/API2/Pool.pm`):
//!
//! - `GET /pools`: a list of `{poolid, comment?}` (old `pvesh get /pools` prints the same as
//!   pretty JSON after `200 OK`);
//! - `GET /pools?poolid=X[&type=…]` (PVE ≥ 8.2): STILL an array, of one element, now with
//!   `members`; a pool id may contain `/` (nested pools);
//! - legacy `GET /pools/{poolid}` (deprecated since 8.2): an object `{comment?, members}`
//!   without `poolid`.
//!
//! Members are `/cluster/resources`-style entries (`qemu/100`, `storage/<node>/<id>`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::ClusterResource;
use super::loose;

/// One pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Pool {
    /// Pool id (`prod`, or `parent/child` for a nested pool).
    #[serde(default)]
    pub poolid: String,
    /// Comment; absent when unset.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub comment: Option<String>,
    /// Guests and storages in it; `None` in a list, where PVE sends no members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<ClusterResource>>,
    /// Keys not interpreted above.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Pool {
    /// The vmids of its guest members.
    pub fn vmids(&self) -> Vec<u64> {
        self.members.iter().flatten().filter(|m| matches!(m.resource_type.as_str(), "qemu" | "lxc")).filter_map(|m| m.vmid).collect()
    }

    /// One pool from the answer of `GET /pools?poolid=X` (an array) or of the legacy
    /// `GET /pools/X` (an object without `poolid`, which is set to `poolid`). `Ok(None)`
    /// when the array holds no pool of that id.
    pub fn from_answer(poolid: &str, answer: Value) -> Result<Option<Self>, serde_json::Error> {
        match answer {
            Value::Array(items) => {
                let pools: Vec<Self> = serde_json::from_value(Value::Array(items))?;
                Ok(pools.into_iter().find(|p| p.poolid == poolid))
            }
            other => {
                let mut p: Self = serde_json::from_value(other)?;
                if p.poolid.is_empty() {
                    poolid.clone_into(&mut p.poolid);
                }
                Ok(Some(p))
            }
        }
    }
}

/// Whether an answer to `GET /pools?poolid=X` is the PVE ≥ 8.2 form: an array whose entry
/// for `X` carries `members`. An older PVE refuses the unknown parameter instead (400), and
/// a list without members means the parameter was not understood.
pub fn is_member_answer(poolid: &str, answer: &Value) -> bool {
    answer
        .as_array()
        .is_some_and(|a| a.iter().any(|p| p.get("poolid").and_then(Value::as_str) == Some(poolid) && p.get("members").is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn new_and_legacy_forms() {
        let new = json!([{"poolid": "prod", "comment": "c", "members": [
            {"id": "qemu/100", "type": "qemu", "vmid": 100, "node": "a", "status": "running"},
            {"id": "storage/a/local", "type": "storage", "storage": "local", "node": "a", "status": "available"}]}]);
        assert!(is_member_answer("prod", &new));
        let p = Pool::from_answer("prod", new).expect("parses").expect("found");
        assert_eq!((p.vmids(), p.members.as_ref().map(Vec::len)), (vec![100], Some(2)));
        let legacy = json!({"comment": "c", "members": []});
        assert!(!is_member_answer("prod", &legacy));
        let p = Pool::from_answer("prod", legacy).expect("parses").expect("found");
        assert_eq!((p.poolid.as_str(), p.members), ("prod", Some(vec![])));
        assert!(!is_member_answer("prod", &json!([{"poolid": "prod"}])));
    }
}
