//! The server without a browser: security headers on every response, no route accepting a
//! write method, a non-loopback address refused without a token, and the token flow.

use super::harness::{Dashboard, get, http, wait_first_refresh};
use crate::support::Pvectl;

fn sim(dir: &std::path::Path) -> Pvectl {
    Pvectl::new().env("PVE_SIM_STATE", dir.join("sim.json"))
}

#[tokio::test]
async fn headers_on_every_response_and_no_route_takes_a_write_method() {
    let dir = tempfile::tempdir().expect("dir");
    let dash = Dashboard::start(sim(dir.path()).args(["dashboard", "-t", "sim", "--listen", "127.0.0.1:0", "--refresh", "1"]));
    let c = http();
    wait_first_refresh(&c, &dash, 1).await;
    for path in ["/", "/t/sim", "/t/sim/guest/100", "/tasks", "/checks", "/audit", "/static/dashboard.js", "/nope", "/t/nope"] {
        let r = c.get(format!("{}{path}", dash.url)).send().await.expect("GET");
        let h = r.headers();
        assert_eq!(
            h.get("content-security-policy").and_then(|v| v.to_str().ok()),
            Some("default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(h.get("x-frame-options").and_then(|v| v.to_str().ok()), Some("DENY"), "{path}");
        assert_eq!(h.get("x-content-type-options").and_then(|v| v.to_str().ok()), Some("nosniff"), "{path}");
        assert_eq!(h.get("referrer-policy").and_then(|v| v.to_str().ok()), Some("no-referrer"), "{path}");
        for method in [reqwest::Method::POST, reqwest::Method::PUT, reqwest::Method::DELETE, reqwest::Method::PATCH] {
            let w = c.request(method.clone(), format!("{}{path}", dash.url)).body("x=1").send().await.expect("request");
            assert!(matches!(w.status().as_u16(), 404 | 405), "{method} {path} answered {}", w.status());
        }
    }
    // DNS rebinding: another site's name for this loopback address is refused.
    let r = c.get(format!("{}/", dash.url)).header("host", "evil.example:8080").send().await.expect("GET");
    assert_eq!(r.status().as_u16(), 421);
    let (_, page) = get(&c, &format!("{}/", dash.url)).await;
    assert!(!page.contains("<script>") && !page.contains("style="), "no inline script or style: {page}");
}

#[tokio::test]
async fn beyond_loopback_a_token_file_is_required_and_the_token_opens_the_pages() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("dir");
    let r = sim(dir.path()).args(["dashboard", "-t", "sim", "--listen", "0.0.0.0:0"]).run();
    r.expect_code(2);
    assert!(r.stderr.contains("--token-file"), "{}", r.stderr);
    let token = dir.path().join("token");
    std::fs::write(&token, "a-long-random-dashboard-token\n").expect("write");
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let r = sim(dir.path()).args(["dashboard", "-t", "sim", "--listen", "127.0.0.1:0", "--token-file"]).arg_path(&token).run();
    r.expect_code(2);
    assert!(r.stderr.contains("chmod 600"), "{}", r.stderr);
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let dash =
        Dashboard::start(sim(dir.path()).args(["dashboard", "-t", "sim", "--listen", "127.0.0.1:0", "--token-file"]).arg_path(&token));
    let c = http();
    assert_eq!(get(&c, &format!("{}/", dash.url)).await.0, 401);
    assert_eq!(get(&c, &format!("{}/?token=wrong-token-of-some-length", dash.url)).await.0, 401);
    let ok = c.get(format!("{}/", dash.url)).bearer_auth("a-long-random-dashboard-token").send().await.expect("GET");
    assert_eq!(ok.status().as_u16(), 200);
    let no_redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let r = no_redirect.get(format!("{}/t/sim?token=a-long-random-dashboard-token", dash.url)).send().await.expect("GET");
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers().get("location").and_then(|v| v.to_str().ok()), Some("/t/sim"), "the token leaves the address");
    let cookie = r.headers().get("set-cookie").and_then(|v| v.to_str().ok()).expect("cookie").split(';').next().expect("pair").to_owned();
    let r = no_redirect.get(format!("{}/t/sim", dash.url)).header("cookie", cookie).send().await.expect("GET");
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test]
async fn a_check_changing_state_shows_on_the_checks_page_with_its_history() {
    let dir = tempfile::tempdir().expect("dir");
    let state = dir.path().join("sim.json");
    let mut v = super::harness::seed(&state);
    let dash = Dashboard::start(sim(dir.path()).args(["dashboard", "-t", "sim", "--listen", "127.0.0.1:0", "--refresh", "1"]));
    let c = http();
    wait_first_refresh(&c, &dash, 1).await;
    let (_, before) = get(&c, &format!("{}/live/checks", dash.url)).await;
    assert!(before.contains("no state changes yet"), "{before}");
    // Node pve3 goes offline, written under the simulator's own lock (`STATE.lock`).
    let node = v["nodes"].as_array_mut().expect("nodes").iter_mut().find(|n| n["name"] == "pve3").expect("pve3");
    node["online"] = serde_json::json!(false);
    {
        use fs4::fs_std::FileExt as _;
        let lock =
            std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(dir.path().join("sim.json.lock")).expect("lock file");
        lock.lock_exclusive().expect("lock");
        super::harness::write(&state, &v);
        drop(lock);
    }
    for _ in 0..300 {
        let (_, page) = get(&c, &format!("{}/live/checks", dash.url)).await;
        if let Some(history) = page.split("History (since the dashboard started)").nth(1)
            && history.contains("pve3")
            && history.contains("CRITICAL")
            && history.contains(">new<")
        {
            let (_, fleet) = get(&c, &format!("{}/live/fleet", dash.url)).await;
            assert!(fleet.contains("sev-critical"), "the fleet card shows the worst check: {fleet}");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the offline node never reached the checks history");
}

#[tokio::test]
async fn an_unreachable_target_is_shown_as_failing_beside_the_others() {
    let dir = tempfile::tempdir().expect("dir");
    let (token_id, secret) = crate::support::SimServer::root_token(dir.path());
    // A closed port on loopback: nothing listens on 127.0.0.1:1.
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[targets.down]\nurl = \"https://127.0.0.1:1\"\ntoken_id = \"{token_id}\"\ntoken_secret_file = \"{}\"\nfingerprint = \"{}\"\n",
            secret.display(),
            ["AA"; 32].join(":")
        ),
    )
    .expect("config");
    let dash = Dashboard::start(sim(dir.path()).env("PVECTL_CONFIG", &cfg).args([
        "dashboard",
        "-t",
        "sim,down",
        "--listen",
        "127.0.0.1:0",
        "--refresh",
        "1",
    ]));
    let c = http();
    let fleet = wait_first_refresh(&c, &dash, 2).await;
    let card = |name: &str| fleet.split(&format!("data-target=\"{name}\"")).nth(1).and_then(|c| c.split("</div>").next()).expect("card");
    assert!(fleet.contains("<div class=\"card\" data-target=\"sim\""), "sim is not failing: {fleet}");
    assert!(card("sim").contains("quorate") && card("sim").contains("7 / 12"), "{}", card("sim"));
    assert!(fleet.contains("<div class=\"card failing\" data-target=\"down\""), "down is failing: {fleet}");
    assert!(card("down").contains("unreachable: could not connect"), "{}", card("down"));
    let secret_text = std::fs::read_to_string(&secret).expect("secret");
    assert!(!fleet.contains(secret_text.trim()), "no secret in the page");
    let (status, page) = get(&c, &format!("{}/t/down", dash.url)).await;
    assert_eq!(status, 200);
    assert!(page.contains("unreachable"), "{page}");
}
