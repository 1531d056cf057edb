//! Starting `pvectl dashboard` and the simulated targets it shows.

use std::fmt::Write as _;
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Pvectl, SimServer, pve_sim_bin};

/// A hostile guest description: markup that must render as text.
pub(crate) const HOSTILE: &str = "<script>alert(1)</script><img src=x onerror=\"document.title='pwned'\">";

/// Creates the demo cluster in `state` with short tasks (200 ms).
pub(crate) fn seed(state: &Path) -> Value {
    let ok = std::process::Command::new(pve_sim_bin()).arg("init").arg(state).status().expect("pve-sim init");
    assert!(ok.success());
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(state).expect("read state")).expect("state JSON");
    v["settings"]["task_ms"] = json!(200);
    write(state, &v);
    v
}

/// Writes a state file.
pub(crate) fn write(state: &Path, v: &Value) {
    std::fs::write(state, v.to_string()).expect("write state");
}

/// Sets guest `vmid`'s `description` config key in the state `v`.
pub(crate) fn set_description(v: &mut Value, vmid: u64, text: &str) {
    let g = v["guests"].as_array_mut().expect("guests").iter_mut().find(|g| g["vmid"] == json!(vmid)).expect("guest");
    let config = g["config"].as_array_mut().expect("config pairs");
    config.retain(|kv| kv[0] != "description");
    config.push(json!(["description", text]));
}

/// Adds `n` stopped qemu guests (vmids from 1000) copied from guest 103, spread over the nodes.
pub(crate) fn add_guests(v: &mut Value, n: u64) {
    let template = v["guests"].as_array().expect("guests").iter().find(|g| g["vmid"] == json!(103)).expect("guest 103").clone();
    let nodes = ["pve1", "pve2", "pve3"];
    for i in 0..n {
        let mut g = template.clone();
        g["vmid"] = json!(1000 + i);
        g["name"] = json!(format!("bulk-{i}"));
        g["node"] = json!(nodes[usize::try_from(i).expect("small") % nodes.len()]);
        v["guests"].as_array_mut().expect("guests").push(g);
    }
}

/// A config file naming the REST target `rest` (the demo's root token, pinned fingerprint),
/// and further REST targets of `extra` as `(name, server)`.
pub(crate) fn config(dir: &Path, servers: &[(&str, &SimServer)]) -> PathBuf {
    let (token_id, secret_file) = SimServer::root_token(dir);
    let mut text = String::new();
    for (name, s) in servers {
        let _ = write!(
            text,
            "[targets.{name}]\nurl = \"{}\"\ntoken_id = \"{token_id}\"\ntoken_secret_file = \"{}\"\nfingerprint = \"{}\"\n\n",
            s.url,
            secret_file.display(),
            s.fingerprint
        );
    }
    let path = dir.join("config.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// A running `pvectl dashboard` (killed on drop).
pub(crate) struct Dashboard {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
}

impl Dashboard {
    /// Starts `p` (a `pvectl dashboard ...` with `--listen 127.0.0.1:0`) and reads its address.
    pub(crate) fn start(p: Pvectl) -> Self {
        let mut cmd = p.command();
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("pvectl dashboard starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let first = lines.next().expect("the dashboard prints its address").expect("readable");
        let url = first.strip_prefix("listening ").unwrap_or_else(|| panic!("unexpected first line {first:?}")).trim().to_owned();
        // Echo the rest (the token hint) to the test's stderr.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(|l| eprintln!("dashboard: {l}")));
        Self { child, url }
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP client for the dashboard (ring as rustls' provider; no TLS is used).
pub(crate) fn http() -> reqwest::Client {
    let _ = rustls::crypto::CryptoProvider::install_default(rustls::crypto::ring::default_provider());
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client")
}

/// GETs `url` and returns status and body.
pub(crate) async fn get(c: &reqwest::Client, url: &str) -> (u16, String) {
    let r = c.get(url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = r.status().as_u16();
    (status, r.text().await.expect("body"))
}

/// Polls the fleet fragment until every target has had its first refresh (at most 60 s).
pub(crate) async fn wait_first_refresh(c: &reqwest::Client, d: &Dashboard, targets: usize) -> String {
    for _ in 0..600 {
        let (_, body) = get(c, &format!("{}/live/fleet", d.url)).await;
        if body.matches("data-target=").count() == targets && !body.contains("card pending") {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the targets were not refreshed within 60 s");
}

/// The logged REST requests of a `pve-sim serve` call log (`["REST", method, path,
/// params...]` lines; the server's own start line is not one) as `[method, path, params...]`.
pub(crate) fn rest_requests(log: &Path) -> Vec<Vec<String>> {
    crate::support::read_calls(log)
        .into_iter()
        .filter(|c| c.first().is_some_and(|x| x == "REST"))
        .map(|c| c.into_iter().skip(1).collect())
        .collect()
}
