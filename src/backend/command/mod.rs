//! The command backend: `pvesh`, `qm` and `pct`, run on this host or over SSH.

mod errors;
mod pvesh;
mod qmpct;
mod runner;
mod ssh;
mod ssh_channel;
mod ssh_dir;
mod ssh_master;
mod ssh_resolve;
mod text;
mod text_detail;

pub(crate) use errors::{TextClass, classify_text, clip_headline, param_error, strip_code, strip_perl_location};
pub use errors::{classify_cli_error, classify_known};
pub use pvesh::{PveshTransport, last_json_text, last_json_value};
pub use qmpct::{CommandRunner, QmPctBackend};
#[cfg(feature = "test-support")]
pub use runner::set_local_tool_env;
pub use runner::{CommandOutput, Runner, set_trace};
pub use ssh::{HostKeyPolicy, SshOptions, SshRunner};
pub use ssh_dir::{check_private_dir, control_dir};
pub use text::{parse_pct_list, parse_qm_list, parse_status};
pub use text_detail::{parse_config, parse_listsnapshot};

/// Quotes one word for display in a plan the way a POSIX shell would read it back:
/// plain words as they are, anything else in single quotes. For showing only: commands are
/// never run through a shell string.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,+%".contains(&b)) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// An argv for display, each word quoted by [`shell_quote`].
pub fn render_argv(argv: &[String]) -> String {
    argv.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
}

/// Which tools the command backend uses on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Tools {
    /// `pvesh get <path> --output-format json` (the default).
    #[default]
    Pvesh,
    /// `qm`/`pct` text output, for hosts whose sudo rules allow only those.
    QmPct,
}
