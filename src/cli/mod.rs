//! The `pvectl` command line: clap parsing -> validated [`Config`] -> handlers -> output.

mod actions;
mod args;
mod audit;
mod commands;
mod config;
mod doctor;
mod output;

pub use args::{Cli, OutputFormat};
pub use commands::parse_params as parse_api_params;
pub use config::{Config, Target};

use clap::Parser;

use crate::backend::Backend as _;

use crate::exit_codes;

/// Runs pvectl with the process arguments and returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { exit_codes::USAGE } else { exit_codes::OK };
            let _ = e.print();
            return code;
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return exit_codes::INTERNAL;
        }
    };
    rt.block_on(run(cli))
}

/// Runs a parsed command line; returns the exit code after printing any error.
pub async fn run(cli: Cli) -> i32 {
    // The audit log is local: no target, no backend.
    let cli = match cli.command {
        args::Noun::Audit(cmd) => return audit::run(&cli.global, &cmd),
        command => Cli { command, ..cli },
    };
    let json_errors = matches!(cli.global.output, Some(OutputFormat::Json));
    let cfg = match Config::from_args(&cli.global) {
        Ok(c) => c,
        Err(e) => {
            output::print_error(if json_errors { OutputFormat::Json } else { OutputFormat::Table }, &e, false);
            return e.exit_code();
        }
    };
    crate::backend::command::set_trace(cfg.verbose > 0 && !cfg.quiet);
    let result = async {
        let backend = crate::safety::Guarded::new(cfg.open_backend().await?, crate::safety::AuditLog::from_env());
        let r = if actions::is_action(&cli.command) {
            actions::dispatch(&cfg, &backend, cli.command).await
        } else {
            commands::dispatch(&cfg, &backend, cli.command).await
        };
        let closed = backend.close().await;
        r.and(closed)
    }
    .await;
    match result {
        Ok(()) => exit_codes::OK,
        Err(e) => {
            // Errors take the output's format: JSON whenever the data would be JSON.
            output::print_error(cfg.output, &e, cfg.color);
            e.exit_code()
        }
    }
}
