//! The conformance suite (DESIGN.md §6, STYLE.md §17): one behaviour per case, each an
//! `async fn(&Arc<dyn Backend>, &CaseEnv)`, so every backend — the in-process simulator, the
//! command backend on the `pve-sim` tools locally (`pvesh` and qm-pct), over a real sshd and
//! through a jump host, and REST against `pve-sim serve` — is held to the same answers.
//!
//! Cases seed the guests and faults they need into the simulator behind the backend
//! ([`CaseEnv::seed`], [`CaseEnv::fail_tasks`], [`CaseEnv::deny`]) with vmids of their own
//! ([`Case::vmids`]), so they run in parallel against one shared state and never depend on
//! the demo cluster's guests; afterwards they check the simulator itself for what was sent.
//! Reads and the backend's own contract go straight through [`Backend`]; pvectl's write
//! contract (reports, consent, policy, exit codes) goes through [`crate::safety::Guarded`]
//! and [`crate::workflow::engine`].
//!
//! A test binary lists the cases a backend runs with [`conformance_tests!`](crate::conformance_tests),
//! one `#[test]` each; [`check_listed`] (generated with them) fails when the list and the
//! backend's [`Caps`] disagree, so no case is skipped silently. Adding a case: write the
//! function in a topic file, add a [`Case`] row to [`CASES`] with a fresh vmid range, and add
//! its name to each backend's list whose `Caps` it applies to.
//!
//! A case panics when the backend breaks the contract: that is its result, not a bug.

#![expect(clippy::missing_panics_doc, reason = "a case reports a broken contract by panicking, as a test does")]

mod backups;
mod config;
mod drive;
mod env;
mod guestops;
mod provision;
mod reads;
mod refusals;
mod reports;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use backups::{
    backup_create_reports_each_guest, backup_create_with_failed_guest_exits_7, backup_delete_of_protected_backup_needs_force,
    restore_onto_existing_vmid_exits_6, restore_to_new_vmid_starts_it,
};
pub use config::{set_config_after_concurrent_edit_exits_6, set_config_passes_the_digest, unlock_clears_a_lock_and_is_a_noop_without};
pub use env::{Caps, CaseEnv, Fixture};
pub use guestops::{
    agent_not_running_exits_6_with_hint, exec_argv_arrives_verbatim, exec_reports_exit_code_and_output,
    failed_migration_exits_7_and_says_where, guest_ip_of_agent_vm_and_container, migrate_reports_before_and_after_nodes,
    migrate_to_disallowed_node_exits_6, move_disk_moves_the_volume, pool_and_ha_reads, resize_grows_and_refuses_a_shrink,
};
pub use provision::{
    clone_of_template_makes_unlocked_guest, create_lxc_and_qemu_keep_the_password_secret, delete_guest_protected_running_and_stopped,
    linked_clone_of_non_template_exits_6, template_refuses_running_and_converts_stopped,
};
pub use reads::{
    cluster_reads, execute_stop_and_start, lists_seeded_guests, reads_one_guest, task_reads, unknown_guest_is_not_found,
    unknown_task_is_not_found,
};
pub use refusals::{
    dry_run_sends_nothing, failed_task_exits_7, gated_action_without_consent_exits_3, locked_guest_exits_6, permission_denied_exits_4,
    protected_guest_exits_10,
};
pub use reports::{
    shutdown_and_stop_report_with_consent, snapshot_create_and_delete_report, start_of_running_guest_is_a_noop, start_reports_the_change,
};

use crate::backend::Backend;

/// A case as a plain function pointer.
pub type CaseFn = for<'a> fn(&'a Arc<dyn Backend>, &'a CaseEnv) -> Pin<Box<dyn Future<Output = ()> + 'a>>;

/// One row of [`CASES`].
pub struct Case {
    /// The function's name.
    pub name: &'static str,
    /// First of the 100 vmids the case may seed ([`CaseEnv::vmid`]).
    pub vmids: u32,
    /// Whether a backend with these capabilities can express the case at all.
    pub applies: fn(&Caps) -> bool,
    /// The case.
    pub run: CaseFn,
}

fn always(_: &Caps) -> bool {
    true
}

fn with_cluster_api(c: &Caps) -> bool {
    c.cluster_api
}

fn with_permissions(c: &Caps) -> bool {
    c.permissions
}

fn with_inventory(c: &Caps) -> bool {
    c.inventory
}

fn with_config_digest(c: &Caps) -> bool {
    c.config_digest
}

macro_rules! case {
    ($name:ident, $vmids:expr, $applies:expr) => {
        Case { name: stringify!($name), vmids: $vmids, applies: $applies, run: |b, e| Box::pin($name(b, e)) }
    };
}

/// Every case, with its vmid range and the capabilities it needs.
pub const CASES: &[Case] = &[
    case!(lists_seeded_guests, 71_000, always),
    case!(reads_one_guest, 71_100, always),
    case!(unknown_guest_is_not_found, 71_200, always),
    case!(cluster_reads, 71_300, always),
    case!(task_reads, 71_400, with_cluster_api),
    case!(execute_stop_and_start, 71_500, always),
    case!(unknown_task_is_not_found, 71_600, always),
    case!(start_reports_the_change, 72_000, always),
    case!(start_of_running_guest_is_a_noop, 72_100, always),
    case!(shutdown_and_stop_report_with_consent, 72_200, always),
    case!(snapshot_create_and_delete_report, 72_300, always),
    case!(gated_action_without_consent_exits_3, 73_000, always),
    case!(dry_run_sends_nothing, 73_100, always),
    case!(protected_guest_exits_10, 73_200, always),
    case!(locked_guest_exits_6, 73_300, always),
    case!(failed_task_exits_7, 73_400, always),
    case!(permission_denied_exits_4, 73_500, with_permissions),
    case!(backup_create_reports_each_guest, 74_000, always),
    case!(backup_create_with_failed_guest_exits_7, 74_100, always),
    case!(restore_to_new_vmid_starts_it, 74_200, with_inventory),
    case!(restore_onto_existing_vmid_exits_6, 74_300, with_inventory),
    case!(backup_delete_of_protected_backup_needs_force, 74_400, with_inventory),
    case!(clone_of_template_makes_unlocked_guest, 75_000, always),
    case!(linked_clone_of_non_template_exits_6, 75_100, always),
    case!(template_refuses_running_and_converts_stopped, 75_200, always),
    case!(delete_guest_protected_running_and_stopped, 75_300, always),
    case!(create_lxc_and_qemu_keep_the_password_secret, 75_400, always),
    case!(set_config_passes_the_digest, 76_000, always),
    case!(set_config_after_concurrent_edit_exits_6, 76_100, with_config_digest),
    case!(unlock_clears_a_lock_and_is_a_noop_without, 76_200, always),
    case!(migrate_reports_before_and_after_nodes, 77_000, with_inventory),
    case!(migrate_to_disallowed_node_exits_6, 77_100, with_inventory),
    case!(failed_migration_exits_7_and_says_where, 77_200, with_inventory),
    case!(resize_grows_and_refuses_a_shrink, 77_300, always),
    case!(move_disk_moves_the_volume, 77_400, always),
    case!(guest_ip_of_agent_vm_and_container, 77_500, with_inventory),
    case!(agent_not_running_exits_6_with_hint, 77_600, always),
    case!(exec_reports_exit_code_and_output, 77_700, always),
    case!(exec_argv_arrives_verbatim, 77_800, always),
    case!(pool_and_ha_reads, 77_900, with_inventory),
];

/// Checks a backend's test list against its capabilities: every case that applies is listed,
/// and none that does not.
///
/// # Panics
/// Naming the cases missing from the list, listed wrongly, or unknown.
pub fn check_listed(listed: &[&str], caps: &Caps) {
    let unknown: Vec<_> = listed.iter().filter(|n| !CASES.iter().any(|c| c.name == **n)).collect();
    let missing: Vec<_> = CASES.iter().filter(|c| (c.applies)(caps) && !listed.contains(&c.name)).map(|c| c.name).collect();
    let wrong: Vec<_> = CASES.iter().filter(|c| !(c.applies)(caps) && listed.contains(&c.name)).map(|c| c.name).collect();
    assert!(
        unknown.is_empty() && missing.is_empty() && wrong.is_empty(),
        "conformance list vs {caps:?}: unknown {unknown:?}; applicable but not listed {missing:?}; listed but not applicable {wrong:?}"
    );
}

/// Generates one `#[tokio::test]` per listed case, each running it against a fresh
/// [`Fixture`] from `$fixture` (a fn, or with `async` an async fn), plus
/// `every_applicable_case_is_listed`, which runs [`check_listed`] against `$caps`. Invoke it
/// once per backend, inside its own module, so the tests read `<backend>::<case>`:
///
/// ```ignore
/// mod sim {
///     pvectl::conformance_tests!(fixture, pvectl::conformance::Caps::api(); [lists_seeded_guests, reads_one_guest]);
/// }
/// mod pvesh_ssh {
///     pvectl::conformance_tests!(async fixture, pvectl::conformance::Caps::api(); [lists_seeded_guests]);
/// }
/// ```
#[macro_export]
macro_rules! conformance_tests {
    (async $fixture:path, $caps:expr; [$($case:ident),+ $(,)?]) => {
        $crate::conformance_tests!(@tests ($fixture().await), $caps; [$($case),+]);
    };
    ($fixture:path, $caps:expr; [$($case:ident),+ $(,)?]) => {
        $crate::conformance_tests!(@tests ($fixture()), $caps; [$($case),+]);
    };
    (@tests ($make:expr), $caps:expr; [$($case:ident),+]) => {
        $(
            #[tokio::test(flavor = "current_thread")]
            async fn $case() {
                // Names the function, so a misspelt case does not compile.
                let _ = $crate::conformance::$case;
                $make.run(stringify!($case)).await;
            }
        )+

        #[test]
        fn every_applicable_case_is_listed() {
            $crate::conformance::check_listed(&[$(stringify!($case)),+], &$caps);
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_have_unique_names_and_vmid_ranges() {
        for (i, a) in CASES.iter().enumerate() {
            for b in &CASES[i + 1..] {
                assert_ne!(a.name, b.name);
                assert!(a.vmids.abs_diff(b.vmids) >= 100, "{} and {} overlap", a.name, b.name);
            }
            assert!(a.vmids >= 1000 && a.vmids % 100 == 0, "{}", a.name);
        }
    }
}
