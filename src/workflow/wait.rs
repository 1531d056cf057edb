//! Waiting for tasks: poll `/nodes/{node}/tasks/{upid}/status` until `stopped` or the
//! deadline, with a growing interval (0.1 s, x1.25, at most 2 s: a short task is seen done at
//! most ~0.1 s late, a long one is polled every 2 s). On a terminal a progress line
//! on stderr shows the elapsed time and the newest task-log line (indicatif); never on a pipe.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::model::{ExitStatus, TaskLogLine, TaskStatus, Upid};

/// First poll interval.
const FIRST: Duration = Duration::from_millis(100);
/// Longest poll interval.
const LONGEST: Duration = Duration::from_secs(2);
/// How many log lines a failure report carries.
pub(crate) const TAIL_LINES: usize = 10;

/// A deadline for one command: when it started and how long it may take.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Instant,
    total: Duration,
}

impl Deadline {
    /// `total` from now.
    pub fn after(total: Duration) -> Self {
        Self { at: Instant::now() + total, total }
    }

    /// Time left (zero when passed).
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Whether it has passed.
    pub fn passed(&self) -> bool {
        Instant::now() >= self.at
    }

    /// The whole allowance, seconds.
    pub fn seconds(&self) -> u64 {
        self.total.as_secs()
    }

    /// A `Timeout` error for `what`.
    pub fn timeout(&self, what: impl Into<String>, upid: Option<&Upid>) -> Error {
        Error::Timeout { what: what.into(), seconds: self.seconds(), upid: upid.map(ToString::to_string) }
    }
}

/// The growing poll interval.
#[derive(Debug)]
pub(crate) struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Self(FIRST)
    }
}

impl Backoff {
    /// Sleeps for the current interval (never past `deadline`) and grows it.
    pub(crate) async fn sleep(&mut self, deadline: &Deadline) {
        tokio::time::sleep(self.0.min(deadline.remaining())).await;
        self.0 = (self.0.mul_f64(1.25)).min(LONGEST);
    }
}

/// A progress line on stderr, or nothing.
#[derive(Debug)]
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// Shown only when `enabled` (stderr is a terminal and not `--quiet`).
    pub fn new(enabled: bool, what: &str) -> Self {
        if !enabled {
            return Self(None);
        }
        let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        pb.set_style(
            ProgressStyle::with_template("{spinner} {prefix} {elapsed} {wide_msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        pb.set_prefix(what.to_owned());
        Self(Some(pb))
    }

    /// Whether it is shown.
    pub fn shown(&self) -> bool {
        self.0.is_some()
    }

    /// Shows `line` as the newest news.
    pub fn update(&self, line: &str) {
        if let Some(pb) = &self.0 {
            pb.set_message(line.to_owned());
            pb.tick();
        }
    }

    /// Redraws the line (the elapsed time), its text unchanged.
    pub fn tick(&self) {
        if let Some(pb) = &self.0 {
            pb.tick();
        }
    }

    /// The text shown now (empty when hidden or before the first line).
    pub fn text(&self) -> String {
        self.0.as_ref().map(ProgressBar::message).unwrap_or_default()
    }

    /// Removes the line.
    pub fn finish(&self) {
        if let Some(pb) = &self.0 {
            pb.finish_and_clear();
        }
    }
}

/// A progress line's text: the newest task-log line, led by its percentage when it is a
/// restore, backup or disk-copy progress line (`42% progress 42% (read ...)`).
pub(crate) fn progress_text(line: &str) -> String {
    let fraction = crate::model::restore_progress(line)
        .map(|p| p.fraction)
        .or_else(|| crate::model::backup_progress(line))
        .or_else(|| crate::model::copy_progress(line).map(|p| p.fraction));
    let line = crate::model::escape_control(line);
    match fraction {
        Some(f) => format!("{:>3.0}% {line}", f * 100.0),
        None => line.into_owned(),
    }
}

/// The lines of a task-log read past line `seen`. PVE answers a log that has no line yet
/// with one placeholder, `{n: 1, t: "no content"}` (`PVE::Tools::dump_logfile`,
/// reference/FORMATS.md): it is not a line of the task and is left out, so the task's own
/// first line (also `n: 1`) is not taken as already seen.
pub(crate) fn fresh_lines(lines: Vec<TaskLogLine>, seen: u64) -> Vec<TaskLogLine> {
    if let [only] = lines.as_slice()
        && only.n == 1
        && only.t == "no content"
    {
        return Vec::new();
    }
    lines.into_iter().filter(|l| l.n > seen).collect()
}

/// Polls a task until it stops or the deadline passes.
///
/// # Errors
/// `Timeout` (exit 8) carrying the UPID; whatever the status reads fail with.
pub async fn wait_task(b: &dyn Backend, upid: &Upid, deadline: &Deadline, progress: &Progress) -> Result<TaskStatus> {
    let mut backoff = Backoff::default();
    let mut seen = 0u64;
    loop {
        let st = b.task_status(upid).await?;
        if st.is_stopped() {
            progress.finish();
            return Ok(st);
        }
        if progress.shown() {
            let lines = fresh_lines(b.task_log(upid, seen, 500).await.unwrap_or_default(), seen);
            seen = lines.last().map_or(seen, |l| l.n);
            // The newest non-blank line; with none new, the line shown stays.
            if let Some(last) = lines.iter().rev().find(|l| !l.t.trim().is_empty()) {
                progress.update(&progress_text(&last.t));
            } else {
                progress.tick();
            }
        }
        if deadline.passed() {
            progress.finish();
            return Err(deadline.timeout(format!("task {upid}"), Some(upid)));
        }
        backoff.sleep(deadline).await;
    }
}

/// The last `n` lines of a task's log, each cut to 300 bytes (empty when it cannot be read).
pub async fn log_tail(b: &dyn Backend, upid: &Upid, n: usize) -> Vec<String> {
    let lines = b.task_log(upid, 0, 100_000).await.unwrap_or_default();
    let skip = lines.len().saturating_sub(n);
    // Each line bounded: a task log is the target's text, and it ends up in an error message.
    lines.into_iter().skip(skip).map(|l| crate::model::clip(&l.t, 300)).collect()
}

/// Turns a finished task's exit status into success or `TaskFailed` (exit 7) with the log tail.
///
/// # Errors
/// `TaskFailed` when the exit status is neither `OK` nor `WARNINGS: n`.
pub async fn check_exit(b: &dyn Backend, upid: &Upid, exit: &ExitStatus) -> Result<()> {
    match exit {
        ExitStatus::Failed(message) => {
            Err(Error::TaskFailed { upid: upid.to_string(), message: message.clone(), log_tail: log_tail(b, upid, TAIL_LINES).await })
        }
        _ => Ok(()),
    }
}

/// Streams a task's log through `print` while it runs, and returns its final status.
///
/// # Errors
/// `Timeout` when the deadline passes first; read errors.
pub async fn follow_log(
    b: &dyn Backend,
    upid: &Upid,
    deadline: &Deadline,
    mut print: impl FnMut(&str) -> Result<()>,
) -> Result<TaskStatus> {
    let mut backoff = Backoff::default();
    let mut seen = 0u64;
    loop {
        // Status first: a task seen stopped has its whole log written.
        let st = b.task_status(upid).await?;
        loop {
            // Lines are numbered from 1; only those past what was printed are new, and PVE's
            // `no content` placeholder is none: the `TASK OK|ERROR` line always comes through.
            let lines = fresh_lines(b.task_log(upid, seen, 500).await?, seen);
            let Some(last) = lines.last().map(|l| l.n) else { break };
            seen = last;
            for l in &lines {
                print(&l.t)?;
            }
        }
        if st.is_stopped() {
            return Ok(st);
        }
        if deadline.passed() {
            return Err(deadline.timeout(format!("task {upid}"), Some(upid)));
        }
        backoff.sleep(deadline).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sim::{SimBackend, SimTransport, demo_state};

    fn line(n: u64, t: &str) -> TaskLogLine {
        TaskLogLine { n, t: t.into() }
    }

    #[test]
    fn the_empty_log_placeholder_is_no_line_and_hides_no_real_first_line() {
        assert!(fresh_lines(vec![line(1, "no content")], 0).is_empty());
        // After the placeholder, the task's real first line is new.
        assert_eq!(fresh_lines(vec![line(1, "TASK OK")], 0), vec![line(1, "TASK OK")]);
        assert_eq!(fresh_lines(vec![line(1, "a"), line(2, "b"), line(3, "c")], 2), vec![line(3, "c")]);
    }

    /// `wait_task` against the demo's running vzdump (seeded running tasks never end), with a
    /// deadline already passed: one poll, then the progress text is what it showed.
    async fn progress_after_one_poll(log: Vec<String>) -> String {
        let mut st = demo_state();
        let task = st.tasks.iter_mut().find(|t| t.is_running()).expect("the demo has a running task");
        task.log = log;
        let upid = task.upid.clone();
        let b = SimBackend::new(SimTransport::from_state(st));
        let progress = Progress(Some(ProgressBar::hidden()));
        let r = wait_task(&b, &upid, &Deadline::after(Duration::ZERO), &progress).await;
        assert!(matches!(r, Err(Error::Timeout { .. })), "{r:?}");
        progress.text()
    }

    #[tokio::test]
    async fn the_progress_line_never_shows_the_placeholder() {
        assert_eq!(progress_after_one_poll(Vec::new()).await, "", "an empty log shows nothing, not `no content`");
        let shown =
            progress_after_one_poll(vec!["INFO: starting new backup job".into(), "INFO: status: 42% (1/2)".into(), String::new()]).await;
        assert_eq!(shown, "INFO: status: 42% (1/2)", "the last real line");
    }

    #[test]
    fn progress_lines_lead_with_their_percentage() {
        // A VMA restore line (reference/samples/qmrestore-log/1.txt).
        assert_eq!(
            progress_text("progress 42% (read 9074049024 bytes, duration 0 sec)"),
            " 42% progress 42% (read 9074049024 bytes, duration 0 sec)"
        );
        assert_eq!(progress_text("rescan volumes..."), "rescan volumes...");
        assert_eq!(progress_text("a\u{1b}[2Jb"), "a\\u{1b}[2Jb", "a log line cannot move the cursor");
    }
}
