//! The conformance suite over a real sshd, directly and through a jump host, in both tool modes.

use pvectl::backend::command::{HostKeyPolicy, PveshTransport, QmPctBackend, Runner, SshOptions, SshRunner};
use pvectl::backend::{ApiBackend, Backend};

use crate::cli::{runtime_dir, sshd_for};
use crate::conformance::{Caps, run_all};
use crate::sshd::{Sshd, VIA_JUMP_ALIAS, client_config_with_jump};
use crate::support::SimTools;

fn options(host: &str, port: Option<u16>, user: Option<&str>, config: &std::path::Path) -> SshOptions {
    SshOptions {
        user: user.map(str::to_owned),
        host: host.to_owned(),
        port,
        config_file: Some(config.to_path_buf()),
        host_keys: HostKeyPolicy::Strict,
        persist: None,
        connect_timeout: std::time::Duration::from_secs(5),
        sudo: false,
    }
}

async fn both_modes(opts: SshOptions, rt: &std::path::Path) {
    let pvesh: Box<dyn Backend> =
        Box::new(ApiBackend::new(PveshTransport::new(Runner::Ssh(SshRunner::connect_in(opts.clone(), rt).await.expect("ssh")))));
    run_all(pvesh.as_ref(), &Caps { cluster_api: true, node: None }).await;
    pvesh.close().await.expect("close");
    let qm: Box<dyn Backend> = Box::new(QmPctBackend::new(Runner::Ssh(SshRunner::connect_in(opts, rt).await.expect("ssh"))));
    run_all(qm.as_ref(), &Caps { cluster_api: false, node: Some("pve1".parse().expect("node")) }).await;
    qm.close().await.expect("close");
}

#[tokio::test]
async fn conforms_over_ssh() {
    let tools = SimTools::new();
    let sshd = sshd_for(&tools, &[("PVE_SIM_NODE", "pve1")]);
    let rt = runtime_dir();
    both_modes(options("127.0.0.1", Some(sshd.port()), Some(sshd.user()), &sshd.config_path()), rt.path()).await;
}

#[tokio::test]
async fn conforms_through_a_jump_host() {
    let tools = SimTools::new();
    let target = sshd_for(&tools, &[("PVE_SIM_NODE", "pve1")]);
    let jump = Sshd::start_jump();
    let cfg = client_config_with_jump(&target, &jump);
    let rt = runtime_dir();
    both_modes(options(VIA_JUMP_ALIAS, None, None, &cfg), rt.path()).await;
}
