//! End-to-end tests over a real OpenSSH server on 127.0.0.1 (DESIGN.md §6).
//!
//! One test binary with topic modules (STYLE.md §19). They need Debian's `openssh-server`
//! (`/usr/sbin/sshd`), which `scripts/test.sh` installs; without it they fail rather than
//! skip, so a CI run can never pass by not testing.

#[path = "../support/mod.rs"]
mod support;

mod actions;
mod cli;
mod conformance_ssh;
mod fleet;
mod fleet_actions;
mod fleet_check;
mod harness;
mod parity;
mod ssh_safety;
mod sshd;
