//! The command backend: `pvesh`, `qm` and `pct`, run on this host or over SSH.

mod errors;
mod pvesh;
mod runner;
mod ssh;
mod ssh_master;

pub use errors::classify_cli_error;
pub use pvesh::{PveshTransport, last_json_value};
pub use runner::{CommandOutput, Runner};
pub use ssh::{HostKeyPolicy, SshOptions, SshRunner, control_dir};

/// Which tools the command backend uses on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Tools {
    /// `pvesh get <path> --output-format json` (the default).
    #[default]
    Pvesh,
    /// `qm`/`pct` text output, for hosts whose sudo rules allow only those.
    QmPct,
}
