//! The dashboard in Debian's headless chromium, driven by fantoccini over chromedriver: the
//! fleet page over `-t sim` and a `pve-sim serve` target, a guest page following a start made
//! through the CLI without reload, a hostile description rendered as text, a screenshot of
//! each page under `target/dashboard-screenshots/`, and every link followed without a write.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use super::harness::{Dashboard, HOSTILE, config, http, rest_requests, seed, set_description, wait_first_refresh, write};
use crate::support::{Pvectl, SimServer};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver on a free loopback port (killed on drop).
pub(crate) struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    pub(crate) fn start() -> Self {
        assert!(Path::new(CHROMEDRIVER).exists(), "{CHROMEDRIVER} is missing: scripts/test.sh installs chromium-driver");
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
        let mut child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("chromedriver starts");
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Self { child, url: format!("http://127.0.0.1:{port}") };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("chromedriver did not listen within 10 s");
    }

    pub(crate) async fn browser(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1024"],
            }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn shots_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("dashboard-screenshots");
    std::fs::create_dir_all(&d).expect("screenshot dir");
    d
}

pub(crate) async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(shots_dir().join(format!("{name}.png")), png).expect("write screenshot");
}

/// The text of the first element matching `css`, or "" when there is none yet.
pub(crate) async fn text_of(c: &Client, css: &str) -> String {
    // A live update swaps the fragment in place: an element found just before the swap is
    // stale when its text is read. Such a read is retried (bounded), never taken as "".
    for _ in 0..50 {
        match c.find(Locator::Css(css)).await {
            Ok(e) => match e.text().await {
                Ok(t) => return t,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            Err(_) => return String::new(),
        }
    }
    panic!("{css}: the element went stale on every read");
}

/// Polls until `css`'s text is `want` (at most 30 s).
pub(crate) async fn wait_text(c: &Client, css: &str, want: &str) {
    let mut last = String::new();
    for _ in 0..300 {
        last = text_of(c, css).await;
        if last == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never showed {want:?} (last: {last:?})");
}

/// The absolute URLs of every link on the current page.
async fn links(c: &Client) -> Vec<String> {
    let v = c.execute("return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)", vec![]).await.expect("links");
    v.as_array().expect("array").iter().filter_map(|x| x.as_str().map(str::to_owned)).collect()
}

/// The guests of a state file, by vmid: status, config, pending changes and snapshots.
fn guests_of(state: &Path) -> Value {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(state).expect("state")).expect("json");
    let g: Vec<Value> = v["guests"]
        .as_array()
        .expect("guests")
        .iter()
        .map(|g| json!([g["vmid"], g["status"], g["config"], g["pending"], g["snapshots"], g["lock"], g["node"]]))
        .collect();
    Value::Array(g)
}

#[tokio::test]
async fn the_dashboard_in_chromium_follows_a_start_without_reload_escapes_and_never_writes() {
    let dir = tempfile::tempdir().expect("dir");
    let sim_state = dir.path().join("sim.json");
    let mut v = seed(&sim_state);
    set_description(&mut v, 103, HOSTILE);
    write(&sim_state, &v);
    let rest_state = dir.path().join("rest.json");
    seed(&rest_state);
    let rest_log = dir.path().join("rest.log");
    let server = SimServer::start(&rest_state, &rest_log);
    let cfg = config(dir.path(), &[("rest", &server)]);
    let audit = dir.path().join("audit.log");
    let env = |p: Pvectl| p.env("PVE_SIM_STATE", &sim_state).env("PVECTL_CONFIG", &cfg).env("PVECTL_AUDIT_LOG", &audit);
    let dash = Dashboard::start(env(Pvectl::new()).args(["dashboard", "-t", "sim,rest", "--listen", "127.0.0.1:0", "--refresh", "1"]));
    wait_first_refresh(&http(), &dash, 2).await;

    let driver = Driver::start();
    let c = driver.browser().await;
    // Fleet: a card per target, both reachable.
    c.goto(&format!("{}/", dash.url)).await.expect("fleet page");
    let cards = c.find_all(Locator::Css(".card")).await.expect("cards");
    assert_eq!(cards.len(), 2, "one card per target");
    let fleet_text = c.find(Locator::Css("main")).await.expect("main").text().await.expect("text");
    assert!(fleet_text.contains("sim") && fleet_text.contains("rest") && fleet_text.contains("quorate"), "{fleet_text}");
    assert!(!fleet_text.contains("unreachable"), "{fleet_text}");
    shot(&c, "fleet").await;

    // Follow the links: target sim, then guest 103.
    c.find(Locator::LinkText("sim")).await.expect("link to sim").click().await.expect("click");
    c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("table.guests")).await.expect("guest table");
    assert_eq!(c.find_all(Locator::Css("svg.spark.cpu polyline")).await.expect("charts").len(), 3, "a CPU chart per node from rrddata");
    shot(&c, "target").await;
    c.find(Locator::Css("tr[data-vmid='103'] a.guest")).await.expect("guest 103 link").click().await.expect("click");
    c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("#status")).await.expect("guest page");
    wait_text(&c, "#status", "stopped").await;

    // The hostile description is text: shown verbatim, no element made from it, no alert.
    let desc = text_of(&c, "#description").await;
    assert!(desc.contains(HOSTILE), "description shown as text: {desc:?}");
    assert!(
        c.find_all(Locator::Css("main img, main script, body > script")).await.expect("query").is_empty(),
        "no element from the description"
    );
    assert!(c.get_alert_text().await.is_err(), "no alert opened");
    assert!(!c.title().await.expect("title").contains("pwned"));
    shot(&c, "guest").await;

    // Start 103 through the CLI; the open page shows `running` without a reload.
    c.execute("window.pvectlMarker = 'same page'", vec![]).await.expect("mark the page");
    env(Pvectl::new()).args(["-t", "sim", "guest", "start", "103", "--yes"]).run().expect_code(0);
    wait_text(&c, "#status", "running").await;
    let marker = c.execute("return window.pvectlMarker || null", vec![]).await.expect("marker");
    assert_eq!(marker, json!("same page"), "the page was updated in place, not reloaded");
    shot(&c, "guest-running").await;

    for (path, name) in [("/tasks", "tasks"), ("/checks", "checks"), ("/audit", "audit"), ("/t/rest", "target-rest")] {
        c.goto(&format!("{}{path}", dash.url)).await.expect("page");
        shot(&c, name).await;
    }
    // The CLI's start is in the audit log the page shows, and the chain verifies.
    c.goto(&format!("{}/audit", dash.url)).await.expect("audit");
    assert!(text_of(&c, "#verify").await.starts_with("audit verify: intact"), "{}", text_of(&c, "#verify").await);
    assert!(text_of(&c, "table.audit").await.contains("start"));

    // Every link of every page, two levels deep from the fleet page: no write reaches a target.
    let before = guests_of(&sim_state);
    let rest_before = rest_requests(&rest_log).len();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<(String, u8)> = VecDeque::from([(format!("{}/", dash.url), 0)]);
    while let Some((url, depth)) = queue.pop_front() {
        if !seen.insert(url.clone()) {
            continue;
        }
        c.goto(&url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
        if depth < 2 {
            for l in links(&c).await {
                if l.starts_with(&dash.url) && !seen.contains(&l) {
                    queue.push_back((l, depth + 1));
                }
            }
        }
    }
    assert!(seen.len() > 40, "the crawl opened {} pages", seen.len());
    assert!(seen.iter().any(|u| u.contains("/task/")) && seen.iter().any(|u| u.contains("/guest/")), "task and guest pages were opened");
    let writes: Vec<Vec<String>> = rest_requests(&rest_log).into_iter().filter(|r| r.first().is_none_or(|m| m != "GET")).collect();
    assert!(writes.is_empty(), "the REST target received writes: {writes:?}");
    assert!(rest_requests(&rest_log).len() > rest_before, "the REST target was read while crawling");
    assert_eq!(guests_of(&sim_state), before, "no guest of the sim changed while crawling");
    eprintln!("dashboard browser test: opened {} pages, {} REST requests, all GET", seen.len(), rest_requests(&rest_log).len());
    c.close().await.expect("close the browser");
}
