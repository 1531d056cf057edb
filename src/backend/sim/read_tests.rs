//! Shapes of the core's read answers: field names and types as PVE sends them, and the
//! PVE error texts for bad input.

use serde_json::{Value, json};

use super::core::Sim;
use super::demo::demo_state;
use crate::backend::api::{Method, Params};

fn get(path: &str, params: &[(&str, &str)]) -> Result<Value, super::SimError> {
    let params: Params = params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    Sim::new(demo_state()).handle(Method::Get, path, &params)
}

fn ok(path: &str, params: &[(&str, &str)]) -> Value {
    get(path, params).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default()
}

#[test]
fn cluster_resources_items() {
    let all = ok("/cluster/resources", &[("type", "vm")]);
    let items = all.as_array().expect("array");
    assert_eq!(items.len(), 12);
    let web = &items[0];
    assert_eq!((web["id"].as_str(), web["type"].as_str(), web["vmid"].as_u64()), (Some("qemu/100"), Some("qemu"), Some(100)));
    assert_eq!((web["template"].as_u64(), web["tags"].as_str(), web["pool"].as_str()), (Some(0), Some("prod;web"), Some("prod")));
    assert!(web.get("lock").is_none(), "lock absent when unlocked");
    let tmpl = items.iter().find(|i| i["vmid"] == 9000).expect("template");
    assert_eq!(tmpl["template"], 1);
    let st = ok("/cluster/resources", &[("type", "storage")]);
    let nas = st.as_array().and_then(|a| a.iter().find(|i| i["id"] == "storage/pve2/nas")).expect("nas on pve2");
    assert_eq!((nas["plugintype"].as_str(), nas["shared"].as_u64(), nas["status"].as_str()), (Some("nfs"), Some(1), Some("available")));
    assert_eq!(nas["content"], "images,rootdir,backup");
    let e = get("/cluster/resources", &[("type", "pool")]).expect_err("pool is not a type filter in PVE 9.1");
    assert_eq!(
        e.cli_text(),
        "400 Parameter verification failed.\ntype: value 'pool' does not have a value in the enumeration 'vm, storage, node, sdn'\n"
    );
    let pools: Vec<Value> =
        ok("/cluster/resources", &[]).as_array().expect("array").iter().filter(|i| i["type"] == "pool").cloned().collect();
    assert_eq!(pools[0], json!({"id": "pool/prod", "type": "pool", "pool": "prod"}));
}

#[test]
fn guest_lists_and_status() {
    let q = ok("/nodes/pve2/qemu", &[]);
    assert_eq!(q.as_array().map(Vec::len), Some(1));
    assert_eq!(q[0]["qmpstatus"], "paused");
    let l = ok("/nodes/pve2/lxc", &[]);
    assert!(l.as_array().expect("array").iter().all(|c| c["type"] == "lxc" && c.get("maxswap").is_some()));
    let stopped = ok("/nodes/pve1/qemu/103/status/current", &[]);
    assert_eq!((stopped["status"].as_str(), stopped["qmpstatus"].as_str()), (Some("stopped"), Some("stopped")));
    assert!(stopped.get("pid").is_none());
    assert_eq!(stopped["ha"], json!({"managed": 0}));
    let ct = ok("/nodes/pve1/lxc/102/status/current", &[]);
    assert_eq!((ct["type"].as_str(), ct["cpus"].as_u64()), (Some("lxc"), Some(1)));
    assert!(ct.get("qmpstatus").is_none());
}

#[test]
fn config_and_snapshots() {
    let c = ok("/nodes/pve1/lxc/102/config", &[]);
    assert_eq!(c["lxc"], json!([["lxc.apparmor.profile", "generated"]]));
    assert_eq!(c["description"], "DNS resolver\nzone: lab.example.org");
    assert!(keys(&c).contains(&"digest"));
    let s = ok("/nodes/pve1/qemu/100/config", &[("snapshot", "php-test")]);
    assert_eq!((s["vmstate"].as_u64(), s["parent"].as_str()), (Some(1), Some("pre-upgrade")));
    let e = get("/nodes/pve1/qemu/100/config", &[("snapshot", "nope")]).expect_err("missing snapshot");
    assert_eq!(e.cli_text(), "snapshot 'nope' does not exist\n");
    let list = ok("/nodes/pve1/lxc/102/snapshot", &[]);
    let items = list.as_array().expect("array");
    let current = items.last().expect("current last");
    assert_eq!(
        (current["name"].as_str(), current["running"].as_u64(), current["description"].as_str(), current["parent"].as_str()),
        (Some("current"), Some(1), Some("You are here!"), Some("configured"))
    );
    assert!(items[0].get("vmstate").is_none(), "lxc snapshots have no vmstate");
    assert_eq!(current["digest"], c["digest"]);
}

#[test]
fn tasks_storage_pools() {
    let list = ok("/nodes/pve2/tasks", &[("source", "all")]);
    let running = list.as_array().and_then(|a| a.iter().find(|t| t.get("status").is_none())).expect("running task listed");
    assert!(running.get("endtime").is_none());
    assert_eq!(ok("/nodes/pve2/tasks", &[]).as_array().map(Vec::len), Some(2), "archive: finished only");
    assert_eq!(ok("/nodes/pve1/tasks", &[("errors", "1")]).as_array().map(Vec::len), Some(1));
    assert_eq!(ok("/nodes/pve1/tasks", &[("limit", "1"), ("start", "1")])[0]["type"], "vzdump");
    let e = get("/nodes/pve1/tasks/garbage/status", &[]).expect_err("bad upid");
    assert_eq!(e.cli_text(), "400 Parameter verification failed.\nupid: unable to parse worker upid\n");
    let log = ok("/nodes/pve1/tasks/UPID:pve1:00000001:00000001:00000001:qmstart:100:root@pam:/log", &[]);
    assert_eq!(log, json!([{"n": 1, "t": "unable to open file - No such file or directory"}]));
    let e = get("/nodes/pve1/tasks", &[("limit", "x")]).expect_err("bad limit");
    assert_eq!(e.params, vec![("limit".to_owned(), "type check ('integer') failed - got 'x'".to_owned())]);

    let ns = ok("/nodes/pve1/storage", &[("content", "images")]);
    assert_eq!(ns.as_array().map(Vec::len), Some(1));
    assert_eq!((ns[0]["storage"].as_str(), ns[0]["active"].as_u64(), ns[0]["type"].as_str()), (Some("nas"), Some(1), Some("nfs")));
    let cfg = ok("/storage", &[]);
    assert_eq!(cfg[0]["path"], "/var/lib/vz");
    assert_eq!((cfg[1]["server"].as_str(), cfg[1]["shared"].as_u64()), (Some("192.0.2.50"), Some(1)));
    assert!(cfg[0].get("shared").is_none());
    assert_eq!(ok("/pools", &[]), json!([{"poolid": "lab"}, {"poolid": "prod", "comment": "Production services"}]));
    let prod = ok("/pools", &[("poolid", "prod")]);
    let ids: Vec<&str> = prod[0]["members"].as_array().map(|m| m.iter().filter_map(|x| x["id"].as_str()).collect()).unwrap_or_default();
    assert_eq!(ids, ["qemu/100", "qemu/101", "lxc/102", "storage/pve1/nas"], "guests, then the pool's storage");
}
