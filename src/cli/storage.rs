//! `pvectl storage list`: storages with usage, per node.

use super::Env;
use super::args::StorageCmd;
use super::output::{Table, bytes, opt, print, yes_no};
use crate::error::Result;

/// Runs a `storage` command.
///
/// # Errors
/// The backend's read errors.
pub(crate) async fn run(env: &Env<'_>, cmd: StorageCmd) -> Result<()> {
    let (out, b) = (env.cfg.output, env.b());
    match cmd {
        StorageCmd::List { node } => {
            let s = b.storages(node.as_ref()).await?;
            print(out, &s, |s| {
                let mut t = Table::new(&["STORAGE", "NODE", "TYPE", "CONTENT", "ACTIVE", "SHARED", "USED", "TOTAL", "AVAIL"]);
                for e in s {
                    t.row(vec![
                        e.storage.clone(),
                        e.node.clone(),
                        opt(e.storage_type.as_deref()),
                        e.content.join(","),
                        yes_no(e.active),
                        yes_no(e.shared),
                        bytes(e.used),
                        bytes(e.total),
                        bytes(e.avail),
                    ]);
                }
                t
            })
        }
    }
}
