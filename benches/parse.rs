//! Parse time of a large `/cluster/resources` document (`scripts/bench.sh` part b).
//!
//! Reads the document from the file named by `PVECTL_BENCH_RESOURCES` (made by
//! `pve-sim resources --guests 10000`), then times, over several rounds, the whole read path
//! after the transport: JSON text -> `serde_json::Value` -> typed `Guest`s through the shared
//! API layer, and as a baseline the JSON text -> `Value` step alone. Prints medians in
//! milliseconds and their ratio. Not a test.

use std::time::Instant;

use async_trait::async_trait;
use pvectl::backend::{ApiBackend, ApiTransport, Backend, GuestFilter, Method, Params};
use serde_json::Value;

#[derive(Debug)]
struct Fixed(String);

#[async_trait]
impl ApiTransport for Fixed {
    fn describe(&self) -> String {
        "Fixed".into()
    }
    async fn call(&self, _m: Method, _p: &str, _q: &Params) -> pvectl::Result<Value> {
        serde_json::from_str(&self.0).map_err(|e| pvectl::Error::parse("bench document", e))
    }
    async fn close(&self) -> pvectl::Result<()> {
        Ok(())
    }
}

fn main() {
    let path = std::env::var("PVECTL_BENCH_RESOURCES").expect("PVECTL_BENCH_RESOURCES names the document");
    let doc = std::fs::read_to_string(&path).expect("document readable");
    let rounds: usize = std::env::var("PVECTL_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(15);
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let backend = ApiBackend::new(Fixed(doc.clone()));
    let mut times = Vec::with_capacity(rounds);
    let mut n = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        let guests = rt.block_on(backend.guests(&GuestFilter::default())).expect("parses");
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        n = guests.len();
    }
    times.sort_by(f64::total_cmp);
    // Baseline in the same run: the JSON text to an untyped `Value` only.
    let mut base = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        let v: Value = serde_json::from_str(&doc).expect("valid JSON");
        std::hint::black_box(&v);
        base.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    base.sort_by(f64::total_cmp);
    let (med, bmed) = (times[times.len() / 2], base[base.len() / 2]);
    println!(
        "parse_guests={n} bytes={} typed_median_ms={med:.2} typed_min_ms={:.2} value_only_median_ms={bmed:.2} typed_over_value={:.2}",
        doc.len(),
        times[0],
        med / bmed
    );
}
