//! Integration tests of the `pvectl` binary against the built-in simulator and the
//! `pve-sim` tools on this host.

#[path = "../support/mod.rs"]
mod support;

mod actions;
mod api;
mod audit;
mod calls;
mod check;
mod deadline;
mod diagnose;
mod ergo;
mod inside;
mod local;
mod ops;
mod policy;
mod roundtrip;
mod schema;
mod selectors;
mod sim;
mod sim_state;
mod skill;
mod snapshot_naming;
mod targets;
