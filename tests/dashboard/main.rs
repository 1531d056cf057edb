//! Tests of `pvectl dashboard`: a real browser (Debian's headless chromium driven over
//! `WebDriver` by fantoccini) against the dashboard serving `-t sim` and a `pve-sim serve`
//! target, and the shared refresh measured in the simulators' call logs.

#[path = "../support/mod.rs"]
mod support;

mod actions;
mod browser;
mod harness;
mod listing;
mod server;
