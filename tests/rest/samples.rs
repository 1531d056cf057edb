//! Real API bodies (`fixtures/api-json-*`, each with its source in `.src.txt`) served by a
//! plain HTTPS server, read through the REST transport and the shared typed layer, and
//! checked value by value against the JSON itself. A sample that holds only the `data`
//! member (see its `.src.txt`) is served inside the `{"data": ...}` envelope, as PVE sends it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pvectl::backend::rest::{Credentials, Endpoint, RestOptions, RestTransport, Secret, TlsTrust};
use pvectl::backend::{ApiBackend, Backend, GuestFilter};
use pvectl::model::loose::{value_string, value_u64};
use pvectl::model::{GuestKind, GuestRef, NodeName, Upid, Vmid};
use rstest::rstest;
use serde_json::{Value, json};

use crate::server::{Identity, Recorded, Reply, Server};

/// The sample's body as PVE sends it (enveloped), and its `data`.
fn body_and_data(path: &Path) -> (String, Value) {
    let text = std::fs::read_to_string(path).expect("sample readable");
    let v: Value = serde_json::from_str(&text).expect("sample is JSON");
    match v.get("data") {
        Some(d) if v.as_object().is_some_and(|o| o.keys().all(|k| matches!(k.as_str(), "data" | "total" | "message" | "errors"))) => {
            (text, d.clone())
        }
        _ => (json!({ "data": v }).to_string(), v),
    }
}

/// A server answering every request with `body`, and a backend reading from it.
fn serve(body: String) -> (Server, ApiBackend<RestTransport>) {
    let id = Identity::self_signed();
    let responder: Arc<dyn Fn(&Recorded) -> Reply + Send + Sync> = Arc::new(move |_r: &Recorded| (200, "OK".to_owned(), body.clone()));
    let server = Server::start(&id, responder);
    let creds = Credentials { token_id: "pvectl@pve!samples".parse().expect("token id"), secret: Secret::new("not-a-real-secret") };
    let opts = RestOptions::new(Endpoint::parse(&server.url()).expect("url"), creds, TlsTrust::Pinned(id.fingerprint.parse().expect("fp")));
    (server, ApiBackend::new(RestTransport::new(opts).expect("client")))
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(value_string)
}

#[rstest]
#[tokio::test]
async fn cluster_resources(
    #[files("fixtures/api-json-cluster-resources/*.txt")]
    #[exclude(r"\.src\.txt$")]
    path: PathBuf,
) {
    let (body, data) = body_and_data(&path);
    let (server, b) = serve(body);
    let items = b.cluster_resources(None).await.expect("parses");
    let raw = data.as_array().expect("array");
    assert_eq!(items.len(), raw.len());
    for (i, r) in items.iter().zip(raw) {
        assert_eq!(Some(i.id.clone()), s(r, "id"));
        assert_eq!(i.maxmem, r.get("maxmem").and_then(value_u64));
    }
    let guests = b.guests(&GuestFilter::default()).await.expect("guests");
    let raw_guests: Vec<&Value> = raw.iter().filter(|r| matches!(r["type"].as_str(), Some("qemu" | "lxc"))).collect();
    assert_eq!(guests.len(), raw_guests.len());
    for g in &guests {
        let r = raw_guests.iter().find(|r| r.get("vmid").and_then(value_u64) == Some(u64::from(g.vmid.get()))).expect("same vmid");
        assert_eq!(Some(g.node.to_string()), s(r, "node"));
        assert_eq!(g.name, s(r, "name"));
        assert_eq!(Some(g.status.clone()), s(r, "status"));
    }
    assert!(server.requests().iter().all(|q| q.path() == "/api2/json/cluster/resources"));
}

#[rstest]
#[tokio::test]
async fn nodes_and_node_status(
    #[files("fixtures/api-json-nodes/*.txt")]
    #[files("fixtures/api-json-node-status/*.txt")]
    #[exclude(r"\.src\.txt$")]
    path: PathBuf,
) {
    let (body, data) = body_and_data(&path);
    let (_server, b) = serve(body);
    if path.to_string_lossy().contains("api-json-nodes") {
        let nodes = b.nodes().await.expect("nodes");
        let mut want: Vec<String> = data.as_array().expect("array").iter().filter_map(|n| s(n, "node")).collect();
        want.sort();
        assert_eq!(nodes.iter().map(|n| n.node.clone()).collect::<Vec<_>>(), want);
    } else {
        let node: NodeName = "node1".parse().expect("node");
        let st = b.node_status(&node).await.expect("node status");
        assert_eq!(st.memory.total, data["memory"].get("total").and_then(value_u64));
        assert_eq!(st.uptime, data.get("uptime").and_then(value_u64));
        assert_eq!(st.pveversion, s(&data, "pveversion"));
    }
}

#[rstest]
#[tokio::test]
async fn guest_config_and_status(
    #[files("fixtures/api-json-qemu-config/*.txt")]
    #[files("fixtures/api-json-lxc-config/*.txt")]
    #[files("fixtures/api-json-qemu-status-current/*.txt")]
    #[exclude(r"\.src\.txt$")]
    path: PathBuf,
) {
    let (body, data) = body_and_data(&path);
    let (_server, b) = serve(body);
    let p = path.to_string_lossy().into_owned();
    let kind = if p.contains("lxc") { GuestKind::Lxc } else { GuestKind::Qemu };
    let guest = GuestRef { vmid: Vmid::new(100).expect("vmid"), node: "node1".parse().expect("node"), kind };
    if p.contains("status-current") {
        let st = b.guest_status(&guest).await.expect("status");
        assert_eq!(Some(st.status.clone()), s(&data, "status"));
        assert_eq!(st.maxmem, data.get("maxmem").and_then(value_u64));
        assert_eq!(st.uptime, data.get("uptime").and_then(value_u64));
    } else {
        let c = b.guest_config(&guest).await.expect("config");
        for (k, v) in data.as_object().expect("object") {
            match k.as_str() {
                "digest" => assert_eq!(c.digest, value_string(v)),
                "lxc" => {}
                _ => assert_eq!(c.get(k).map(str::to_owned), value_string(v), "{k}"),
            }
        }
    }
}

#[rstest]
#[tokio::test]
async fn version_cluster_status_and_task_log(
    #[files("fixtures/api-json-version/*.txt")]
    #[files("fixtures/api-json-cluster-status/*.txt")]
    #[files("fixtures/api-json-task-log/*.txt")]
    #[exclude(r"\.src\.txt$")]
    path: PathBuf,
) {
    let (body, data) = body_and_data(&path);
    let (_server, b) = serve(body);
    let p = path.to_string_lossy().into_owned();
    if p.contains("version") {
        let v = b.version().await.expect("version");
        assert_eq!(v.version, s(&data, "version"));
        assert_eq!(v.release, s(&data, "release"));
    } else if p.contains("cluster-status") {
        let st = b.cluster_status().await.expect("cluster status");
        let raw = data.as_array().expect("array");
        assert_eq!(st.len(), raw.len());
        for (e, r) in st.iter().zip(raw) {
            assert_eq!(Some(e.entry_type.clone()), s(r, "type"));
            assert_eq!(e.name, s(r, "name"));
        }
    } else {
        let upid: Upid = "UPID:node1:000934AF:0D015579:68BF3A41:qmstart:100:root@pam:".parse().expect("upid");
        let lines = b.task_log(&upid, 0, 50).await.expect("log");
        let raw = data.as_array().expect("array");
        assert_eq!(lines.len(), raw.len());
        for (l, r) in lines.iter().zip(raw) {
            assert_eq!(Some(l.t.clone()), s(r, "t"));
            assert_eq!(Some(l.n), r.get("n").and_then(value_u64));
        }
    }
}
