//! Round trip: what the `pve-sim` tools print (`qm`/`pct` text) is parsed back by the
//! `qm-pct` backend into the same state the simulator's API answers give, for every guest of
//! the demo cluster. The tools run in-process through `pvectl::backend::sim::cli::run`; the
//! outputs are produced by our simulator, not captured from real PVE.

use std::fmt;

use async_trait::async_trait;
use pvectl::backend::command::{CommandOutput, CommandRunner, QmPctBackend};
use pvectl::backend::sim::{SimBackend, SimEnv, SimTransport, cli, save_state};
use pvectl::backend::{ApiBackend, Backend, GuestFilter};
use pvectl::model::{GuestKind, NodeName};

/// Runs `pve-sim` faces in-process on one state file, as the tools of `node`.
#[derive(Debug)]
struct SimTools {
    env: SimEnv,
}

impl fmt::Display for SimTools {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SimTools")
    }
}

#[async_trait]
impl CommandRunner for SimTools {
    async fn run(&self, program: &str, args: &[String]) -> pvectl::Result<CommandOutput> {
        let full: Vec<String> = std::iter::once(program.to_owned()).chain(args.iter().cloned()).collect();
        let out = cli::run(&full, &self.env);
        Ok(CommandOutput { status: out.code, stdout: out.stdout.into_bytes(), stderr: out.stderr.into_bytes() })
    }
    async fn close(&self) -> pvectl::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn qm_pct_text_parses_back_into_the_api_state() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state_path = dir.path().join("state.json");
    save_state(&state_path, &pvectl::backend::sim::demo_state()).expect("write state");
    let api: SimBackend = ApiBackend::new(SimTransport::from_state(pvectl::backend::sim::load_state(&state_path).expect("load")));
    let all = api.guests(&GuestFilter::default()).await.expect("api guests");
    let nodes: Vec<NodeName> = api.nodes().await.expect("nodes").into_iter().map(|n| n.node.parse().expect("node name")).collect();
    let mut compared = 0;
    for node in &nodes {
        let env = SimEnv { state_path: Some(state_path.clone()), log_path: None, latency_ms: None, node: Some(node.to_string()) };
        let text = QmPctBackend::with_runner(SimTools { env });
        let got = text.guests(&GuestFilter::default()).await.expect("qm/pct guests");
        let want: Vec<_> = all.iter().filter(|g| g.node == *node).collect();
        assert_eq!(got.iter().map(|g| g.vmid).collect::<Vec<_>>(), want.iter().map(|g| g.vmid).collect::<Vec<_>>(), "guests of {node}");
        for (g, w) in got.iter().zip(&want) {
            let r = w.guest_ref();
            assert_eq!((g.kind, &g.node), (w.kind, &w.node));
            assert_eq!(g.name, w.name, "name of {}", w.vmid);
            if w.kind == GuestKind::Qemu {
                assert_eq!(g.maxmem, w.maxmem, "qm list MEM(MB) of {}", w.vmid);
            } else {
                assert_eq!(g.lock, w.lock, "pct list lock of {}", w.vmid);
                assert_eq!(g.status, w.status);
            }
            let (tc, ac) = (text.guest_config(&r).await.expect("qm config"), api.guest_config(&r).await.expect("api config"));
            assert_eq!(tc.entries, ac.entries, "config of {}", w.vmid);
            let (ts, as_) = (text.snapshots(&r).await.expect("listsnapshot"), api.snapshots(&r).await.expect("api snapshots"));
            assert_eq!(ts.len(), as_.len(), "snapshots of {}", w.vmid);
            for (t, a) in ts.iter().zip(&as_) {
                assert_eq!((&t.name, &t.parent), (&a.name, &a.parent), "snapshot of {}", w.vmid);
                assert_eq!(t.snaptime, a.snaptime, "snaptime of {}/{} (sim prints UTC)", w.vmid, a.name);
                let first = a.description.lines().next().unwrap_or("");
                let shown = if first.is_empty() && !a.is_current() { "" } else { first };
                assert_eq!(t.description, shown, "description line of {}/{}", w.vmid, a.name);
            }
            let (tst, ast) = (text.guest_status(&r).await.expect("status"), api.guest_status(&r).await.expect("api status"));
            assert_eq!(
                (tst.status.as_str(), tst.lock.as_deref(), tst.maxmem),
                (ast.status.as_str(), ast.lock.as_deref(), ast.maxmem),
                "status of {}",
                w.vmid
            );
            assert_eq!(tst.qmpstatus, ast.qmpstatus, "qmpstatus of {}", w.vmid);
            compared += 1;
        }
    }
    assert_eq!(compared, all.len(), "every guest compared");
}
