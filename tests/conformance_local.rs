//! The conformance suite against the in-process simulator and the command backend running the
//! `pve-sim` tools on this host, in both tool modes. This binary holds ONE test because it puts
//! the tools first on this process's `PATH`.

#[path = "conformance/mod.rs"]
mod conformance;
#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;

use conformance::{Caps, run_all};
use pvectl::backend::command::{PveshTransport, QmPctBackend, Runner};
use pvectl::backend::sim::SimTransport;
use pvectl::backend::{ApiBackend, Backend};

#[tokio::test(flavor = "current_thread")]
async fn every_local_backend_conforms() {
    let tools = support::SimTools::new();
    // SAFETY: the only test in this binary, and set before any backend or thread runs.
    unsafe {
        std::env::set_var("PATH", tools.path_env());
        std::env::set_var("PVE_SIM_STATE", tools.state());
        std::env::set_var("PVE_SIM_NODE", "pve1");
        std::env::set_var("PVE_SIM_LOG", tools.log());
    }
    let everything = Caps { cluster_api: true, node: None };
    let in_process: Arc<dyn Backend> = Arc::new(ApiBackend::new(SimTransport::demo()));
    run_all(in_process.as_ref(), &everything).await;
    let pvesh: Arc<dyn Backend> = Arc::new(ApiBackend::new(PveshTransport::new(Runner::Local { sudo: false })));
    run_all(pvesh.as_ref(), &everything).await;
    let qm_pct: Arc<dyn Backend> = Arc::new(QmPctBackend::new(Runner::Local { sudo: false }));
    run_all(qm_pct.as_ref(), &Caps { cluster_api: false, node: Some("pve1".parse().expect("node")) }).await;
    assert!(tools.calls().iter().any(|c| c[0] == "pvesh") && tools.calls().iter().any(|c| c[0] == "qm"));
}
