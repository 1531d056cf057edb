//! The conformance suite (`pvectl::conformance`) over a real sshd, directly and through a
//! jump host, in both tool modes; each case is its own test, `<backend>::<case>`, with its own
//! sshd (and jump host) and state, so the tests share nothing.

use std::path::Path;
use std::sync::Arc;

use pvectl::backend::command::{HostKeyPolicy, PveshTransport, QmPctBackend, Runner, SshOptions, SshRunner};
use pvectl::backend::sim::SimTransport;
use pvectl::backend::{ApiBackend, Backend};
use pvectl::conformance::{Caps, CaseEnv, Fixture};
use pvectl::model::NodeName;

use crate::cli::{runtime_dir, sshd_for};
use crate::sshd::{Sshd, VIA_JUMP_ALIAS, client_config_with_jump};
use crate::support::SimTools;

fn node() -> NodeName {
    "pve1".parse().expect("node name")
}

fn options(host: &str, port: Option<u16>, user: Option<&str>, config: &Path) -> SshOptions {
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

/// Tool mode.
#[derive(Clone, Copy)]
enum Tools {
    Pvesh,
    QmPct,
}

/// A fresh sshd (behind a jump host with `jump`) over fresh tools, and a backend connected
/// to it in `mode`.
async fn fixture(mode: Tools, jump: bool) -> Fixture {
    let tools = SimTools::new();
    let target = sshd_for(&tools, &[("PVE_SIM_NODE", "pve1")]);
    let rt = runtime_dir();
    let (opts, hop) = if jump {
        let hop = Sshd::start_jump();
        let cfg = client_config_with_jump(&target, &hop);
        (options(VIA_JUMP_ALIAS, None, None, &cfg), Some(hop))
    } else {
        (options("127.0.0.1", Some(target.port()), Some(target.user()), &target.config_path()), None)
    };
    let runner = Runner::Ssh(SshRunner::connect_in(opts, rt.path()).await.expect("ssh connects"));
    let (backend, caps): (Arc<dyn Backend>, Caps) = match mode {
        Tools::Pvesh => (Arc::new(ApiBackend::new(PveshTransport::new(runner))), Caps::api()),
        Tools::QmPct => (Arc::new(QmPctBackend::new(runner)), Caps::qm_pct(&node())),
    };
    let env = CaseEnv::new(caps, node(), SimTransport::from_file(&tools.state()));
    // Dropped in this order after the case: the sessions' servers, then the files.
    Fixture { backend, env, keep: Box::new((hop, target, rt, tools)) }
}

/// Every case an API backend runs (`pvesh`).
macro_rules! pvesh_cases {
    ($fixture:path) => {
        pvectl::conformance_tests!(async $fixture, Caps::api(); [
            lists_seeded_guests, reads_one_guest, unknown_guest_is_not_found, unknown_task_is_not_found, cluster_reads, task_reads,
            execute_stop_and_start, start_reports_the_change, start_of_running_guest_is_a_noop,
            shutdown_and_stop_report_with_consent, snapshot_create_and_delete_report,
            gated_action_without_consent_exits_3, dry_run_sends_nothing, protected_guest_exits_10,
            locked_guest_exits_6, failed_task_exits_7, permission_denied_exits_4,
            backup_create_reports_each_guest, backup_create_with_failed_guest_exits_7, restore_to_new_vmid_starts_it,
            restore_onto_existing_vmid_exits_6, backup_delete_of_protected_backup_needs_force,
            clone_of_template_makes_unlocked_guest, linked_clone_of_non_template_exits_6,
            template_refuses_running_and_converts_stopped, delete_guest_protected_running_and_stopped,
            create_lxc_and_qemu_keep_the_password_secret, set_config_passes_the_digest,
            set_config_after_concurrent_edit_exits_6, unlock_clears_a_lock_and_is_a_noop_without,
            migrate_reports_before_and_after_nodes, migrate_to_disallowed_node_exits_6, failed_migration_exits_7_and_says_where,
            resize_grows_and_refuses_a_shrink, move_disk_moves_the_volume, guest_ip_of_agent_vm_and_container,
            agent_not_running_exits_6_with_hint, exec_reports_exit_code_and_output, exec_argv_arrives_verbatim, pool_and_ha_reads,
        ]);
    };
}

/// Every case qm-pct runs. Not listed (its `Caps` say so): `task_reads` (no cluster API to
/// list tasks, no UPIDs printed), `permission_denied_exits_4` (`qm`/`pct` run as root on
/// the node: no caller identity whose privileges PVE checks), the restore and backup delete
/// cases (they find their backup by listing storage content, an API read) and
/// `set_config_after_concurrent_edit_exits_6` (`qm|pct config` print no digest to pass), the
/// migrate, ip and pool/HA cases (the migration precondition, interfaces, pools and HA are
/// API reads).
macro_rules! qm_pct_cases {
    ($fixture:path) => {
        pvectl::conformance_tests!(async $fixture, Caps::qm_pct(&node()); [
            lists_seeded_guests, reads_one_guest, unknown_guest_is_not_found, unknown_task_is_not_found, cluster_reads,
            execute_stop_and_start, start_reports_the_change, start_of_running_guest_is_a_noop,
            shutdown_and_stop_report_with_consent, snapshot_create_and_delete_report,
            gated_action_without_consent_exits_3, dry_run_sends_nothing, protected_guest_exits_10,
            locked_guest_exits_6, failed_task_exits_7,
            backup_create_reports_each_guest, backup_create_with_failed_guest_exits_7,
            clone_of_template_makes_unlocked_guest, linked_clone_of_non_template_exits_6,
            template_refuses_running_and_converts_stopped, delete_guest_protected_running_and_stopped,
            create_lxc_and_qemu_keep_the_password_secret, set_config_passes_the_digest, unlock_clears_a_lock_and_is_a_noop_without,
            resize_grows_and_refuses_a_shrink, move_disk_moves_the_volume, agent_not_running_exits_6_with_hint,
            exec_reports_exit_code_and_output, exec_argv_arrives_verbatim,
        ]);
    };
}

/// `pvesh` over ssh to 127.0.0.1.
mod pvesh_ssh {
    use super::*;
    async fn fixture() -> Fixture {
        super::fixture(Tools::Pvesh, false).await
    }
    pvesh_cases!(fixture);
}

/// `qm`/`pct` over ssh to 127.0.0.1.
mod qm_pct_ssh {
    use super::*;
    async fn fixture() -> Fixture {
        super::fixture(Tools::QmPct, false).await
    }
    qm_pct_cases!(fixture);
}

/// `pvesh` over ssh through a jump host.
mod pvesh_jump {
    use super::*;
    async fn fixture() -> Fixture {
        super::fixture(Tools::Pvesh, true).await
    }
    pvesh_cases!(fixture);
}

/// `qm`/`pct` over ssh through a jump host.
mod qm_pct_jump {
    use super::*;
    async fn fixture() -> Fixture {
        super::fixture(Tools::QmPct, true).await
    }
    qm_pct_cases!(fixture);
}
