//! `pvectl completion SHELL` and `pvectl man`: a shell completion script (`clap_complete`) and
//! the manual page pvectl(1) (`clap_mangen`, roff), both generated from the same clap
//! definitions that parse the command line, written to stdout. They need no target.

use clap::CommandFactory;

use super::args::Cli;
use super::output::emit;
use crate::error::{Error, Result};
use crate::exit_codes;

/// Prints the completion script for `shell`; returns the exit code.
pub(crate) fn completion(shell: clap_complete::Shell) -> i32 {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "pvectl", &mut buf);
    finish(String::from_utf8(buf).map_err(|e| Error::Internal(format!("the completion script is not UTF-8: {e}"))))
}

/// Prints pvectl(1), or with a command path (`["guest", "stop"]`) that command's page
/// pvectl-guest-stop(1), as roff (`pvectl man | man -l -`); returns the exit code (2 for a
/// path that names no command).
pub(crate) fn man(path: &[String]) -> i32 {
    let mut cmd = Cli::command();
    // Built, so the global options are propagated into each command's page.
    cmd.build();
    let mut known = String::from("pvectl");
    for word in path {
        let Some(sub) = cmd.find_subcommand(word).cloned() else {
            let e = Error::Usage(format!(
                "`{known} {}` is not a command; see `{known} --help`",
                crate::model::clip(&crate::model::escape_control(word), 40)
            ));
            return finish(Err(e));
        };
        known = format!("{known} {}", sub.get_name());
        cmd = sub;
    }
    let mut buf = Vec::new();
    let rendered = clap_mangen::Man::new(cmd).render(&mut buf);
    finish(
        rendered
            .map_err(|e| Error::Internal(format!("failed to render the manual page: {e}")))
            .and_then(|()| String::from_utf8(buf).map_err(|e| Error::Internal(format!("the manual page is not UTF-8: {e}")))),
    )
}

fn finish(text: Result<String>) -> i32 {
    match text.and_then(|t| emit(&t)) {
        Ok(()) => exit_codes::OK,
        Err(e) => {
            super::output::print_error(super::OutputFormat::Table, &e, false);
            e.exit_code()
        }
    }
}
