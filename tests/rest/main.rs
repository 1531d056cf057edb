//! The REST transport against a local HTTPS server: the wire format (path, header, query and
//! form encoding), TLS verification (pinning, CA file, system roots, insecure) and that the
//! token is never sent on a connection whose certificate was refused; and the `pvectl`
//! binary over https:// (exit codes, the `--insecure` warning, the secret never printed); and the
//! conformance suite over REST against `pve-sim serve`.

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod conformance;
mod samples;
mod server;
mod transport;
