//! The conformance suite (`pvectl::conformance`) against the in-process simulator, and the
//! command backend running the `pve-sim` tools on this host in both tool modes; each case is
//! its own test, named `<backend>::<case>`.
//!
//! The tools' environment (`PATH` with the tools first, `PVE_SIM_STATE`, `PVE_SIM_NODE`) is
//! handed to the local runner once for the whole process (`set_local_tool_env`), never through
//! this process's own environment, so the tests run in parallel without racing on it; they
//! share one state file and keep apart by their vmids.

#[path = "support/mod.rs"]
mod support;

use std::sync::{Arc, LazyLock};

use pvectl::backend::command::{PveshTransport, QmPctBackend, Runner, set_local_tool_env};
use pvectl::backend::sim::SimTransport;
use pvectl::backend::{ApiBackend, Backend};
use pvectl::conformance::{Caps, CaseEnv, Fixture};
use pvectl::model::NodeName;

/// The node the tools run on, where cases seed their guests.
fn node() -> NodeName {
    "pve1".parse().expect("node name")
}

/// The tools and their state, shared by every test of this binary and kept to its end (in
/// Cargo's temporary directory for integration tests, which `cargo clean` removes).
static TOOLS: LazyLock<support::SimTools> = LazyLock::new(|| {
    let tools = support::SimTools::new_in(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")));
    set_local_tool_env(&[
        ("PATH".into(), tools.path_env().into()),
        ("PVE_SIM_STATE".into(), tools.state().into()),
        ("PVE_SIM_NODE".into(), "pve1".into()),
    ])
    .expect("set once");
    tools
});

/// The fixture of one local tool mode; the two modes share the state file, so each has its
/// own vmid offset.
fn local(backend: Arc<dyn Backend>, caps: Caps, vmid_offset: u32) -> Fixture {
    let env = CaseEnv::new(caps, node(), SimTransport::from_file(&TOOLS.state())).with_vmid_offset(vmid_offset);
    Fixture { backend, env, keep: Box::new(()) }
}

/// The full case list of an API backend.
macro_rules! api_cases {
    ($fixture:path) => {
        pvectl::conformance_tests!($fixture, pvectl::conformance::Caps::api(); [
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

/// The in-process simulator, a fresh demo cluster per test.
mod sim {
    use super::*;

    fn fixture() -> Fixture {
        let sim = SimTransport::demo();
        let backend: Arc<dyn Backend> = Arc::new(ApiBackend::new(sim.clone()));
        Fixture { backend, env: CaseEnv::new(Caps::api(), node(), sim), keep: Box::new(()) }
    }

    api_cases!(fixture);
}

/// `pvesh` on this host.
mod pvesh {
    use super::*;

    fn fixture() -> Fixture {
        local(Arc::new(ApiBackend::new(PveshTransport::new(Runner::Local { sudo: false }))), Caps::api(), 0)
    }

    api_cases!(fixture);
}

/// `qm`/`pct` on this host. Not listed (their `Caps` say so): `task_reads`, because qm-pct has
/// no cluster API to list tasks and its tools print no UPID; `permission_denied_exits_4`,
/// because `qm`/`pct` run as root on the node with no caller identity whose privileges PVE
/// checks; `restore_to_new_vmid_starts_it`, `restore_onto_existing_vmid_exits_6` and
/// `backup_delete_of_protected_backup_needs_force`, because restore and backup delete find
/// their backup by listing storage content, an API read qm-pct does not have;
/// `set_config_after_concurrent_edit_exits_6`, because `qm|pct config` print no digest to pass;
/// the three migrate cases, `guest_ip_of_agent_vm_and_container` and `pool_and_ha_reads`,
/// because the migration precondition, the agent's and containers' interfaces, pools and HA
/// are API reads (`Backend::raw`), which qm-pct does not have.
mod qm_pct {
    use super::*;

    fn fixture() -> Fixture {
        local(Arc::new(QmPctBackend::new(Runner::Local { sudo: false })), Caps::qm_pct(&node()), 100_000)
    }

    pvectl::conformance_tests!(fixture, Caps::qm_pct(&node()); [
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
}
