//! The conformance suite (`pvectl::conformance`) over REST against `pve-sim serve --tls`
//! (pinned fingerprint, the demo's full-privilege API token); each case is its own test,
//! `rest::<case>`, with its own server and state file.

use std::sync::Arc;

use pvectl::backend::rest::{Credentials, Endpoint, RestOptions, RestTransport, Secret, TlsTrust};
use pvectl::backend::sim::SimTransport;
use pvectl::backend::{ApiBackend, Backend};
use pvectl::conformance::{Caps, CaseEnv, Fixture};

use crate::support::SimServer;

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let (state, log) = (dir.path().join("state.json"), dir.path().join("calls.log"));
    let server = SimServer::start(&state, &log);
    let (id, secret) = pvectl::backend::sim::DEMO_TOKENS[0];
    let creds = Credentials { token_id: id.parse().expect("token id"), secret: Secret::new(secret) };
    let opts = RestOptions::new(
        Endpoint::parse(&server.url).expect("url"),
        creds,
        TlsTrust::Pinned(server.fingerprint.parse().expect("fingerprint")),
    );
    let backend: Arc<dyn Backend> = Arc::new(ApiBackend::new(RestTransport::new(opts).expect("client")));
    // The server created the state file before it printed its address; seeding shares its lock.
    let env = CaseEnv::new(Caps::rest(), "pve1".parse().expect("node"), SimTransport::from_file(&state));
    Fixture { backend, env, keep: Box::new((server, dir)) }
}

/// REST runs every case: the token is a caller identity whose privileges the server checks.
/// It has no `pct` on the node (`Caps::rest`): the exec cases check that a container's exec
/// says `Unsupported` there.
mod rest {
    use super::*;

    pvectl::conformance_tests!(fixture, Caps::rest(); [
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
}
