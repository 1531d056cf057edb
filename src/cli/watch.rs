//! `--watch [SECONDS]`: a list or status read done again every SECONDS (at least 1) until
//! the run is interrupted (SIGINT ends it as any read: exit 130, nothing was sent) or
//! `--cycles N` rounds are done. At a terminal a table is redrawn in place under a
//! `Every Ns: ...` line; otherwise each round prints its whole document (JSON: one document
//! per round, a stream a JSON reader takes one by one).

use std::io::IsTerminal as _;
use std::time::Duration;

use super::Env;
use super::args::{OutputFormat, WatchArgs};
use super::output::emit;
use crate::error::Result;

/// Runs `round` once, or with `--watch` every interval.
///
/// # Errors
/// The first failing round's error: a watch stops at an error instead of redrawing over it.
pub(crate) async fn repeat<F, Fut>(env: &Env<'_>, w: WatchArgs, mut round: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let Some(secs) = w.watch else { return round().await };
    let every = Duration::from_secs(secs.max(1));
    let redraw = env.cfg.output == OutputFormat::Table && std::io::stdout().is_terminal();
    let mut done = 0u64;
    loop {
        if redraw {
            // Home, clear the screen, then the header line (watch(1)'s layout).
            let now = crate::model::time::format_utc(now());
            emit(&format!("\x1b[H\x1b[2JEvery {secs}s: {}    {now} UTC\n\n", command_line()))?;
        }
        round().await?;
        done += 1;
        if w.cycles.is_some_and(|c| done >= c) {
            return Ok(());
        }
        if !redraw && env.cfg.output == OutputFormat::Table {
            emit("\n")?;
        }
        tokio::time::sleep(every).await;
    }
}

/// The command line as typed, each word escaped (the header of a redrawn watch).
fn command_line() -> String {
    let words: Vec<String> = std::env::args().map(|a| crate::model::escape_control(&a).into_owned()).collect();
    crate::model::clip(&words.join(" "), 120)
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
