//! Re-checks after a task: read the guest again until it is in the expected state (HA-managed
//! guests get there asynchronously: `Requesting HA start ...` only asks the HA manager) or the
//! deadline passes.

use crate::backend::Backend;
use crate::error::Result;
use crate::model::GuestRef;
use crate::workflow::report::GuestState;
use crate::workflow::wait::{Backoff, Deadline};

/// Reads `status/current` until `done` holds for it; the first read is the re-check, more
/// follow only while the state lags (HA).
///
/// # Errors
/// `Timeout` (exit 8) when the deadline passes with the state not reached; read errors.
pub(crate) async fn recheck(
    b: &dyn Backend,
    guest: &GuestRef,
    deadline: &Deadline,
    done: impl Fn(&GuestState) -> bool,
) -> Result<GuestState> {
    let mut backoff = Backoff::default();
    loop {
        let state = GuestState::from_status(&b.guest_status(guest).await?);
        if done(&state) {
            return Ok(state);
        }
        if deadline.passed() {
            return Err(deadline.timeout(format!("guest {} to reach the expected state (now {})", guest.vmid, state.status), None));
        }
        backoff.sleep(deadline).await;
    }
}

/// PVE's `protection` flag from the guest config (`GET .../config`).
///
/// # Errors
/// Read errors.
pub(crate) async fn read_protection(b: &dyn Backend, guest: &GuestRef) -> Result<bool> {
    let config = b.guest_config(guest).await?;
    Ok(matches!(config.get("protection"), Some("1" | "true")))
}
