//! `pvectl version`: this client's version, the git commit it was built from and its target
//! triple (recorded by `build.rs`); with `-t` (or `PVECTL_TARGET`), also the target's PVE
//! version from `GET /version`.

use serde::Serialize;

use super::Env;
use super::args::{GlobalArgs, OutputFormat};
use super::output::{Table, opt, print};
use crate::error::Result;
use crate::exit_codes;
use crate::model::Version;

/// This binary: `CARGO_PKG_VERSION`, the short git commit (`unknown` when built outside a git
/// checkout) and the rustc target triple.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Client {
    /// `pvectl`.
    name: &'static str,
    /// The crate version, e.g. `0.1.0`.
    version: &'static str,
    /// `git rev-parse --short HEAD` at build time, or `unknown`.
    commit: &'static str,
    /// The target triple, e.g. `x86_64-unknown-linux-gnu`.
    target: &'static str,
}

/// What `pvectl version` prints: `{client, server?}`.
#[derive(Debug, Serialize)]
struct Versions {
    client: Client,
    /// The target's `GET /version`, when a target was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<Version>,
}

/// This binary's version facts.
pub(crate) fn client() -> Client {
    Client { name: "pvectl", version: env!("CARGO_PKG_VERSION"), commit: env!("PVECTL_GIT_COMMIT"), target: env!("PVECTL_BUILD_TARGET") }
}

fn table(v: &Versions) -> Table {
    let mut t = Table::new(&["KEY", "VALUE"]);
    t.row(vec!["version".into(), v.client.version.into()]);
    t.row(vec!["commit".into(), v.client.commit.into()]);
    t.row(vec!["target".into(), v.client.target.into()]);
    if let Some(s) = &v.server {
        t.row(vec!["pve version".into(), opt(s.version.as_deref())]);
        t.row(vec!["pve release".into(), opt(s.release.as_deref())]);
        t.row(vec!["pve repoid".into(), opt(s.repoid.as_deref())]);
    }
    t
}

/// `pvectl version` without a target: the client only; returns the exit code.
pub(crate) fn local(g: &GlobalArgs) -> i32 {
    use std::io::IsTerminal as _;
    let format = g.output().unwrap_or(if std::io::stdout().is_terminal() { OutputFormat::Table } else { OutputFormat::Json });
    match print(format, &Versions { client: client(), server: None }, table) {
        Ok(()) => exit_codes::OK,
        Err(e) => {
            super::output::print_error(format, &e, false);
            e.exit_code()
        }
    }
}

/// `pvectl -t TARGET version`: the client and the target's `GET /version`.
///
/// # Errors
/// The version read's errors.
pub(crate) async fn run(env: &Env<'_>) -> Result<()> {
    let server = env.b().version().await?;
    print(env.cfg.output, &Versions { client: client(), server: Some(server) }, table)
}
