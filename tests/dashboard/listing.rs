//! The refresh is shared: with 200 guests on each of 2 targets and 5 viewers loading every
//! page, the targets see one guest listing per refresh, not one per page.

use super::harness::{Dashboard, add_guests, config, get, http, rest_requests, seed, wait_first_refresh, write};
use crate::support::{Pvectl, SimServer};

/// `GET /cluster/resources?type=vm` requests in a call log.
fn listings(log: &std::path::Path) -> usize {
    rest_requests(log)
        .iter()
        .filter(|r| {
            r.first().is_some_and(|m| m == "GET") && r.get(1).is_some_and(|p| p == "/cluster/resources") && r.iter().any(|x| x == "type=vm")
        })
        .count()
}

/// Each target's refresh count, from the fleet cards' `data-refreshes`.
async fn refreshes_of(c: &reqwest::Client, base: &str) -> Vec<u64> {
    let (_, fleet) = get(c, &format!("{base}/live/fleet")).await;
    fleet.split("data-refreshes=\"").skip(1).map(|s| s.split('"').next().expect("value").parse().expect("a number")).collect()
}

#[tokio::test]
async fn five_viewers_of_two_targets_with_200_guests_cause_one_listing_per_target_per_refresh() {
    let dir = tempfile::tempdir().expect("dir");
    let mut servers = Vec::new();
    for name in ["a", "b"] {
        let state = dir.path().join(format!("{name}.json"));
        let mut v = seed(&state);
        add_guests(&mut v, 200);
        write(&state, &v);
        let log = dir.path().join(format!("{name}.log"));
        servers.push((SimServer::start(&state, &log), log));
    }
    let cfg = config(dir.path(), &[("a", &servers[0].0), ("b", &servers[1].0)]);
    // One refresh interval longer than the test: the first refresh is the only one.
    let dash = Dashboard::start(Pvectl::new().env("PVECTL_CONFIG", &cfg).args([
        "dashboard",
        "-t",
        "a,b",
        "--listen",
        "127.0.0.1:0",
        "--refresh",
        "3600",
    ]));
    let c = http();
    let fleet = wait_first_refresh(&c, &dash, 2).await;
    assert_eq!(fleet.matches("guests running").count(), 2);
    assert!(fleet.contains("7 / 212"), "each target lists its 212 guests: {fleet}");

    // 5 viewers, each loading every snapshot page 10 times and holding the event stream open.
    let pages = [
        "/",
        "/t/a",
        "/t/b",
        "/t/a?sort=name&desc=1",
        "/t/b?status=running",
        "/tasks",
        "/checks",
        "/live/fleet",
        "/live/t/a",
        "/live/t/b/guest/1100",
        "/t/a/guest/1005",
    ];
    let viewers = (0..5).map(|_| {
        let (c, base) = (c.clone(), dash.url.clone());
        tokio::spawn(async move {
            let events = c.get(format!("{base}/events")).send().await.expect("events");
            assert_eq!(events.status().as_u16(), 200);
            for _ in 0..10 {
                for p in pages {
                    let (status, body) = get(&c, &format!("{base}{p}")).await;
                    assert_eq!(status, 200, "{p}: {body}");
                }
            }
            drop(events);
        })
    });
    for v in viewers.collect::<Vec<_>>() {
        v.await.expect("viewer");
    }
    // Still within the first refresh interval: one listing per target, whatever was viewed.
    let counts: Vec<usize> = servers.iter().map(|(_, log)| listings(log)).collect();
    eprintln!("dashboard listing test: guest listings per target after 5 viewers x 10 rounds x {} pages: {counts:?}", pages.len());
    assert_eq!(counts, [1, 1], "one guest listing per target for the one refresh");
    drop(dash);

    // Refreshing every second while the viewers load pages: the listings follow the refreshes.
    for (_, log) in &servers {
        std::fs::write(log, "").expect("empty the call log");
    }
    let dash = Dashboard::start(Pvectl::new().env("PVECTL_CONFIG", &cfg).args([
        "dashboard",
        "-t",
        "a,b",
        "--listen",
        "127.0.0.1:0",
        "--refresh",
        "1",
    ]));
    wait_first_refresh(&c, &dash, 2).await;
    let mut rounds = 0;
    let refreshes = loop {
        for p in pages {
            let views = (0..5).map(|_| {
                let (c, url) = (c.clone(), format!("{}{p}", dash.url));
                tokio::spawn(async move { get(&c, &url).await.0 })
            });
            for v in views.collect::<Vec<_>>() {
                assert_eq!(v.await.expect("viewer"), 200);
            }
        }
        rounds += 1;
        let r = refreshes_of(&c, &dash.url).await;
        assert_eq!(r.len(), 2);
        if rounds >= 10 && r.iter().all(|n| *n >= 3) {
            break r;
        }
        assert!(rounds < 600, "three refreshes did not happen");
    };
    drop(dash);
    let counts: Vec<usize> = servers.iter().map(|(_, log)| listings(log)).collect();
    eprintln!(
        "dashboard listing test: {rounds} rounds of 5 viewers x {} pages; refreshes {refreshes:?}, guest listings {counts:?}",
        pages.len()
    );
    for (r, l) in refreshes.iter().zip(&counts) {
        let r = usize::try_from(*r).expect("small");
        // A refresh may have listed the guests and not yet ended when the count was read.
        assert!(*l == r || *l == r + 1, "{l} guest listings for {r} refreshes");
    }
}
