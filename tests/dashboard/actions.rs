//! `--allow-actions`: a start run from the guest page in chromium through its plan and confirm
//! step (one POST reaches the target, audited with the face `dashboard`), and the refusals:
//! a wrong CSRF token, and a plan whose digest changed since it was shown (nothing sent).

use fantoccini::Locator;

use super::browser::{Driver, shot, text_of, wait_text};
use super::harness::{Dashboard, config, get, http, rest_requests, seed, wait_first_refresh};
use crate::support::{Pvectl, SimServer};

/// The value of hidden input `name` in a page.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let rest = page.split(&marker).nth(1).unwrap_or_else(|| panic!("no {name} in {page}"));
    rest.split('"').next().expect("value").to_owned()
}

#[tokio::test]
async fn a_start_from_the_page_goes_through_plan_and_confirm_and_a_changed_plan_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let state = dir.path().join("rest.json");
    seed(&state);
    let log = dir.path().join("rest.log");
    let server = SimServer::start(&state, &log);
    let cfg = config(dir.path(), &[("rest", &server)]);
    let audit = dir.path().join("audit.log");
    let env = |p: Pvectl| p.env("PVECTL_CONFIG", &cfg).env("PVECTL_AUDIT_LOG", &audit);
    let dash = Dashboard::start(env(Pvectl::new()).args([
        "dashboard",
        "-t",
        "rest",
        "--allow-actions",
        "--listen",
        "127.0.0.1:0",
        "--refresh",
        "1",
    ]));
    let c = http();
    let fleet = wait_first_refresh(&c, &dash, 1).await;
    assert!(!fleet.contains("unreachable"), "{fleet}");
    let writes = || rest_requests(&log).into_iter().filter(|r| r[0] != "GET").collect::<Vec<_>>();

    // In the browser: guest 107 (stopped) -> start -> the plan -> confirm.
    let driver = Driver::start();
    let b = driver.browser().await;
    b.goto(&format!("{}/t/rest/guest/107", dash.url)).await.expect("guest page");
    wait_text(&b, "#status", "stopped").await;
    b.find(Locator::Css("a.act[href$='/act/start']")).await.expect("start link").click().await.expect("click");
    b.wait().for_element(Locator::Id("digest")).await.expect("plan page");
    assert_eq!(text_of(&b, "#tier").await, "change");
    assert_eq!(text_of(&b, "#digest").await.len(), 64, "a SHA-256 digest");
    let calls = text_of(&b, "ul.calls").await;
    assert!(calls.starts_with("POST ") && calls.ends_with("/nodes/pve3/qemu/107/status/start"), "{calls}");
    assert!(writes().is_empty(), "the plan sent nothing: {:?}", writes());
    shot(&b, "action-plan").await;
    b.find(Locator::Id("confirm-button")).await.expect("confirm").click().await.expect("click");
    wait_text(&b, "#result", "done").await;
    shot(&b, "action-done").await;
    let sent = writes();
    assert_eq!(sent.len(), 1, "one call: {sent:?}");
    assert_eq!(sent[0][..2], ["POST".to_owned(), "/nodes/pve3/qemu/107/status/start".to_owned()]);
    let records: Vec<serde_json::Value> =
        std::fs::read_to_string(&audit).expect("audit log").lines().map(|l| serde_json::from_str(l).expect("record")).collect();
    let ours: Vec<_> = records.iter().filter(|r| r["face"] == "dashboard" && r["action"] == "start" && r["vmid"] == 107).collect();
    assert_eq!(ours.iter().map(|r| r["record"].as_str().unwrap_or_default()).collect::<Vec<_>>(), ["intent", "outcome"]);
    assert_eq!(ours[1]["outcome"], "ok");
    b.close().await.expect("close");

    // Without a browser: a wrong CSRF token and a stale digest are refused, nothing sent.
    let plan_url = format!("{}/t/rest/guest/101/act/shutdown", dash.url);
    let (status, plan) = get(&c, &plan_url).await;
    assert_eq!(status, 200, "{plan}");
    let (digest, csrf) = (hidden(&plan, "digest"), hidden(&plan, "csrf"));
    let r = c.post(&plan_url).form(&[("digest", digest.as_str()), ("csrf", "forged")]).send().await.expect("POST");
    assert_eq!(r.status().as_u16(), 403);
    let r = c
        .post(&plan_url)
        .header("origin", "http://evil.example")
        .form(&[("digest", digest.as_str()), ("csrf", csrf.as_str())])
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 403, "a form from another site is refused");
    env(Pvectl::new()).args(["-t", "rest", "guest", "suspend", "101", "--yes"]).run().expect_code(0);
    let before = writes().len();
    let r = c.post(&plan_url).form(&[("digest", digest.as_str()), ("csrf", csrf.as_str())]).send().await.expect("POST");
    assert_eq!(r.status().as_u16(), 409);
    let body = r.text().await.expect("body");
    assert!(body.contains("the plan changed since it was shown"), "{body}");
    assert_eq!(writes().len(), before, "nothing sent for a stale plan");
    assert!(!writes().iter().any(|w| w[1].ends_with("/status/shutdown")), "no shutdown was sent");

    // Snapshot create: the name travels from the plan to the confirm form.
    let snap_url = format!("{}/t/rest/guest/100/act/snapshot", dash.url);
    let (status, plan) = get(&c, &format!("{snap_url}?name=from-dash")).await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(hidden(&plan, "name"), "from-dash");
    let form = [("digest", hidden(&plan, "digest")), ("csrf", hidden(&plan, "csrf")), ("name", "from-dash".to_owned())];
    let r = c.post(&snap_url).form(&form).send().await.expect("POST");
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap_or_default());
    let created: Vec<_> = writes().into_iter().filter(|w| w[1].ends_with("/qemu/100/snapshot")).collect();
    assert_eq!(created.len(), 1, "{created:?}");
    assert!(created[0].iter().any(|p| p == "snapname=from-dash"), "{created:?}");
    let (_, bad) = get(&c, &format!("{snap_url}?name=bad%20name")).await;
    assert!(bad.contains("snapshot name"), "an invalid name is refused before planning: {bad}");
}
