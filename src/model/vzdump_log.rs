//! The log of a vzdump job (task log or CLI output) read into per-guest outcomes.
//!
//! Facts (OPERATIONS.md 1-5, 32; pve-manager `PVE/VZDump.pm`, `debugmsg` in
//! `PVE/VZDump/Plugin.pm`):
//! - vzdump's own lines are `INFO: `/`WARN: `/`ERROR: ` + text, every line of a multi-line
//!   message prefixed; a `warn` through the task environment prefixes only the FIRST line
//!   with `WARN: `, its continuation lines (even empty ones) follow bare;
//! - child tools print bare or with their own prefix (`  Logical volume ...`), and lines
//!   relayed from proxmox-backup-client end with 4 spaces: lines are matched trimmed;
//! - per guest: `Starting Backup of VM <id> (qemu|lxc)` ... `Finished Backup of VM <id>
//!   (HH:MM:SS)`, or `ERROR: Backup of VM <id> failed - <err>` + `INFO: Failed at <ts>`;
//! - the job summary `Backup job finished successfully|with errors` (or `ERROR: Backup job
//!   failed - <err>`) may be followed by ``INFO: notified via target `<t>` `` lines (one per
//!   target, PVE ≥ 8.1), then by the task's `TASK OK|WARNINGS: n|ERROR: <msg>` line, which an
//!   API-started task may glue to unterminated output;
//! - the per-guest log file prefixes every line with `YYYY-MM-DD HH:MM:SS `: accepted too.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::human::{parse_hms, parse_size};
use super::{ExitStatus, GuestKind, Vmid};

/// How one guest's backup ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackupOutcome {
    /// `Finished Backup of VM <id>`.
    Ok,
    /// `ERROR: Backup of VM <id> failed - ...`.
    Failed,
    /// Started, but the log ends before either line (still running, or cut).
    Incomplete,
}

/// Where [`GuestBackup::size`] was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SizeSource {
    /// `archive file size: 1.60GB`: the (compressed) archive file.
    ArchiveFile,
    /// Sum of proxmox-backup-client's `<x>.pxar: had to backup A of B` totals `B`
    /// (uncompressed container data).
    PxarTotal,
    /// QMP backup's `transferred <size> in <n> seconds`: data read this run (only the
    /// dirty part for an incremental PBS backup).
    Transferred,
}

/// One guest of a vzdump job.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct GuestBackup {
    /// Guest id.
    pub vmid: Vmid,
    /// `qemu` or `lxc`, from the `Starting Backup` line.
    pub kind: Option<GuestKind>,
    /// How it ended.
    pub status: BackupOutcome,
    /// The archive as vzdump names it: a path (`/var/lib/vz/dump/vzdump-lxc-...tar.zst`) or
    /// a PBS snapshot (`ct/101/2026-05-09T15:43:57Z`).
    pub archive: Option<String>,
    /// The archive's volid, when the job names its storage (`--storage S`): `S:backup/<file>`
    /// or `S:backup/<pbs snapshot>`.
    pub volid: Option<String>,
    /// Size, bytes (approximate: printed rounded); see `size_source`.
    pub size: Option<u64>,
    /// Which line `size` came from.
    pub size_source: Option<SizeSource>,
    /// Duration, seconds, from `Finished Backup of VM <id> (HH:MM:SS)`.
    pub duration: Option<u64>,
    /// Why it failed: the text after `Backup of VM <id> failed - ` (continued over further
    /// `ERROR:` lines, joined with `\n`).
    pub error: Option<String>,
    /// Other `ERROR:` lines while this guest was being backed up.
    pub errors: Vec<String>,
    /// Warnings, each whole (a multi-line warning joined with `\n`).
    pub warnings: Vec<String>,
}

/// How the job as a whole ended, from its summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobOutcome {
    /// `Backup job finished successfully`.
    FinishedOk,
    /// `Backup job finished with errors` (some guest failed; the task ends `job errors`).
    FinishedWithErrors,
    /// `ERROR: Backup job failed - <err>` (see `job_error`).
    Failed,
    /// No summary line (still running, or the log is cut).
    Unknown,
}

/// A vzdump log, summarised.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct VzdumpSummary {
    /// The normalised command line of `starting new backup job: vzdump <args>`.
    pub command: Option<String>,
    /// `--storage` of that command line.
    pub storage: Option<String>,
    /// Guests in log order.
    pub guests: Vec<GuestBackup>,
    /// The job's summary.
    pub job: JobOutcome,
    /// The reason of `Backup job failed - <err>`.
    pub job_error: Option<String>,
    /// Notification targets that were notified (``notified via target `<t>` ``), in order.
    pub notified: Vec<String>,
    /// Warnings outside any guest.
    pub warnings: Vec<String>,
    /// `ERROR:` lines outside any guest (other than the job failure).
    pub errors: Vec<String>,
    /// The final `TASK ...` line of a task log, when present (CLI output has none).
    pub task: Option<ExitStatus>,
}

impl VzdumpSummary {
    /// The guests whose backup failed.
    pub fn failed(&self) -> impl Iterator<Item = &GuestBackup> {
        self.guests.iter().filter(|g| g.status == BackupOutcome::Failed)
    }
}

static STAMP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} ").expect("regex is valid"));
static STARTING: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^Starting Backup of VM (\d+) \((\w+)\)$").expect("regex is valid"));
static FINISHED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^Finished Backup of VM (\d+) \((\d+:\d{2}:\d{2})\)$").expect("regex is valid"));
static FAILED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^Backup of VM (\d+) failed - (.*)$").expect("regex is valid"));
static CREATING: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^creating (.+) archive '(.*)'$").expect("regex is valid"));
static PXAR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\S+: had to backup .+? of (.+?) \(compressed ").expect("regex is valid"));
static TRANSFERRED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^transferred (\S+ \S+) in (?:\d+|<1) seconds").expect("regex is valid"));
static NOTIFIED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^notified via target `(.*)`$").expect("regex is valid"));
static TASK_END: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"TASK (OK|WARNINGS: \d+|ERROR: .*)$").expect("regex is valid"));

/// A log line's level and message.
enum Line<'a> {
    Info(&'a str),
    Warn(&'a str),
    Error(&'a str),
    Task(ExitStatus),
    Other(&'a str),
}

fn classify(raw: &str) -> Line<'_> {
    let line = raw.trim_end();
    let line = STAMP.find(line).map_or(line, |m| &line[m.end()..]);
    if let Some(m) = line.strip_prefix("INFO: ") {
        Line::Info(m)
    } else if let Some(m) = line.strip_prefix("WARN: ") {
        Line::Warn(m)
    } else if let Some(m) = line.strip_prefix("ERROR: ") {
        Line::Error(m)
    } else if let Some(s) = line.strip_prefix("TASK ").filter(|_| TASK_END.is_match(line)) {
        Line::Task(ExitStatus::classify(s.strip_prefix("ERROR: ").unwrap_or(s)))
    } else {
        Line::Other(line)
    }
}

/// Splits a `TASK ...` status glued to the end of the last line (fact 32).
fn unglue(last: &str) -> (&str, Option<ExitStatus>) {
    let t = last.trim_end();
    match TASK_END.find(t) {
        Some(m) if m.start() > 0 => {
            let s = &t[m.start() + "TASK ".len()..];
            (&t[..m.start()], Some(ExitStatus::classify(s.strip_prefix("ERROR: ").unwrap_or(s))))
        }
        _ => (last, None),
    }
}

/// The value of `--storage` in vzdump's normalised command line (single-quoted values
/// are skipped whole, so a notes template cannot fake it).
fn storage_arg(cmdline: &str) -> Option<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in cmdline.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any || !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        words.push(cur);
    }
    words.windows(2).find(|w| w[0] == "--storage").map(|w| w[1].clone())
}

fn volid_for(storage: Option<&str>, archive: &str, pbs: bool, file: bool) -> Option<String> {
    let storage = storage?;
    if pbs {
        Some(format!("{storage}:backup/{archive}"))
    } else if file {
        let base = archive.rsplit('/').next().filter(|b| b.starts_with("vzdump-"))?;
        Some(format!("{storage}:backup/{base}"))
    } else {
        None
    }
}

/// What a continuation line belongs to.
#[derive(Clone, Copy)]
enum Open {
    None,
    /// A warning: index into the guest's (or job's) warnings.
    Warning,
    /// A guest failure reason.
    GuestError(usize),
    /// The job failure reason.
    JobError,
}

struct State {
    s: VzdumpSummary,
    current: Option<usize>,
    open: Open,
    /// Empty lines seen inside an open warning, kept only if more of it follows.
    blanks: usize,
}

impl State {
    fn guest(&mut self, vmid: Vmid) -> usize {
        if let Some(i) = self.current.filter(|&i| self.s.guests[i].vmid == vmid) {
            return i;
        }
        if let Some(i) = self.s.guests.iter().rposition(|g| g.vmid == vmid) {
            return i;
        }
        self.s.guests.push(new_guest(vmid, None));
        self.s.guests.len() - 1
    }

    fn warnings(&mut self) -> &mut Vec<String> {
        match self.current {
            Some(i) => &mut self.s.guests[i].warnings,
            None => &mut self.s.warnings,
        }
    }

    fn info(&mut self, m: &str) {
        self.open = Open::None;
        if let Some(c) = m.strip_prefix("starting new backup job: ") {
            let cmd = c.trim();
            self.s.storage = storage_arg(cmd);
            self.s.command = Some(cmd.to_owned());
        } else if let Some(c) = STARTING.captures(m) {
            let Ok(vmid) = c[1].parse() else { return };
            self.s.guests.push(new_guest(vmid, c[2].parse().ok()));
            self.current = Some(self.s.guests.len() - 1);
        } else if let Some(c) = FINISHED.captures(m) {
            let Ok(vmid) = c[1].parse() else { return };
            let i = self.guest(vmid);
            let g = &mut self.s.guests[i];
            g.status = BackupOutcome::Ok;
            g.duration = parse_hms(&c[2]);
        } else if m == "Backup job finished successfully" {
            self.s.job = JobOutcome::FinishedOk;
            self.current = None;
        } else if m == "Backup job finished with errors" {
            self.s.job = JobOutcome::FinishedWithErrors;
            self.current = None;
        } else if let Some(c) = NOTIFIED.captures(m) {
            self.s.notified.push(c[1].to_owned());
        } else if let Some(i) = self.current {
            self.guest_info(i, m);
        }
    }

    fn guest_info(&mut self, i: usize, m: &str) {
        let storage = self.s.storage.clone();
        let g = &mut self.s.guests[i];
        if let Some(c) = CREATING.captures(m) {
            let pbs = &c[1] == "Proxmox Backup Server";
            let archive = c[2].to_owned();
            g.volid = volid_for(storage.as_deref(), &archive, pbs, &c[1] == "vzdump");
            g.archive = Some(archive);
        } else if let Some(s) = m.strip_prefix("archive file size: ") {
            g.size = parse_size(s);
            g.size_source = g.size.map(|_| SizeSource::ArchiveFile);
        } else if let Some(c) = PXAR.captures(m) {
            if g.size_source.is_none_or(|s| s == SizeSource::PxarTotal)
                && let Some(n) = parse_size(&c[1])
            {
                g.size = Some(g.size.unwrap_or(0) + n);
                g.size_source = Some(SizeSource::PxarTotal);
            }
        } else if let Some(c) = TRANSFERRED.captures(m)
            && g.size_source.is_none()
        {
            g.size = parse_size(&c[1]);
            g.size_source = g.size.map(|_| SizeSource::Transferred);
        }
    }

    fn error(&mut self, m: &str) {
        if let Some(c) = FAILED.captures(m)
            && let Ok(vmid) = c[1].parse()
        {
            let i = self.guest(vmid);
            let g = &mut self.s.guests[i];
            g.status = BackupOutcome::Failed;
            g.error = Some(c[2].to_owned());
            self.current = Some(i);
            self.open = Open::GuestError(i);
            return;
        }
        if let Some(e) = m.strip_prefix("Backup job failed - ") {
            self.s.job = JobOutcome::Failed;
            self.s.job_error = Some(e.to_owned());
            self.current = None;
            self.open = Open::JobError;
            return;
        }
        match self.open {
            Open::GuestError(i) => push_line(self.s.guests[i].error.get_or_insert_default(), m),
            Open::JobError => push_line(self.s.job_error.get_or_insert_default(), m),
            Open::None | Open::Warning => {
                match self.current {
                    Some(i) => self.s.guests[i].errors.push(m.to_owned()),
                    None => self.s.errors.push(m.to_owned()),
                }
                self.open = Open::None;
            }
        }
    }

    fn other(&mut self, m: &str) {
        if !matches!(self.open, Open::Warning) {
            return;
        }
        if m.is_empty() {
            self.blanks += 1;
            return;
        }
        let blanks = std::mem::take(&mut self.blanks);
        if let Some(w) = self.warnings().last_mut() {
            w.push_str(&"\n".repeat(blanks));
            push_line(w, m);
        }
    }
}

fn push_line(s: &mut String, line: &str) {
    if !s.is_empty() {
        s.push('\n');
    }
    s.push_str(line);
}

fn new_guest(vmid: Vmid, kind: Option<GuestKind>) -> GuestBackup {
    GuestBackup {
        vmid,
        kind,
        status: BackupOutcome::Incomplete,
        archive: None,
        volid: None,
        size: None,
        size_source: None,
        duration: None,
        error: None,
        errors: Vec::new(),
        warnings: Vec::new(),
    }
}

/// Summarises a vzdump log given as lines (task-log lines, or CLI output split by line).
pub fn parse_vzdump_log<S: AsRef<str>>(lines: &[S]) -> VzdumpSummary {
    let mut st = State {
        s: VzdumpSummary {
            command: None,
            storage: None,
            guests: Vec::new(),
            job: JobOutcome::Unknown,
            job_error: None,
            notified: Vec::new(),
            warnings: Vec::new(),
            errors: Vec::new(),
            task: None,
        },
        current: None,
        open: Open::None,
        blanks: 0,
    };
    let last = lines.iter().rposition(|l| !l.as_ref().trim().is_empty());
    for (n, raw) in lines.iter().enumerate() {
        let (text, glued) = if Some(n) == last { unglue(raw.as_ref()) } else { (raw.as_ref(), None) };
        let line = classify(text);
        if !matches!(line, Line::Other(_)) {
            st.blanks = 0;
        }
        match line {
            Line::Info(m) => st.info(m),
            Line::Warn(m) => {
                st.warnings().push(m.to_owned());
                st.open = Open::Warning;
            }
            Line::Error(m) => st.error(m),
            Line::Task(t) => {
                st.s.task = Some(t);
                st.open = Open::None;
            }
            Line::Other(m) => st.other(m),
        }
        if glued.is_some() {
            st.s.task = glued;
        }
    }
    st.s
}

/// [`parse_vzdump_log`] over a whole text (CLI output, a log file).
pub fn parse_vzdump_text(text: &str) -> VzdumpSummary {
    parse_vzdump_log(&text.lines().collect::<Vec<_>>())
}

static OLD_PROGRESS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^progress (\d+)% (\d+)/(\d+) \d+$").expect("regex is valid"));
static QMP_PROGRESS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*(\d+)% \((\S+ \S+) of (\S+ \S+)\) in ").expect("regex is valid"));

/// The fraction (0.0-1.0) done of a vzdump progress line, when it is one: the template/VMA
/// form `INFO: progress 42% <read>/<total> <zeros>` (read/total) or the QMP/PBS form
/// `INFO:  24% (4.9 GiB of 20.0 GiB) in 13s, read: ..., write: ...` (fact 4).
pub fn backup_progress(line: &str) -> Option<f64> {
    let m = line.trim_end().strip_prefix("INFO: ")?;
    if let Some(c) = OLD_PROGRESS.captures(m) {
        let (read, total): (u64, u64) = (c[2].parse().ok()?, c[3].parse().ok()?);
        return Some(if total == 0 { 1.0 } else { ratio(read, total) });
    }
    let c = QMP_PROGRESS.captures(m)?;
    let pct: u32 = c[1].parse().ok()?;
    Some((f64::from(pct) / 100.0).min(1.0))
}

/// `a / b` as a fraction capped at 1.
pub(crate) fn ratio(a: u64, b: u64) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "a progress fraction needs no more than f64's 52 bits")]
    let f = a as f64 / b as f64;
    f.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_warning_error_continuation_and_glued_task() {
        let log = [
            "INFO: starting new backup job: vzdump 100 101 --notes-template 'x --storage fake' --storage nfs1",
            "INFO: Starting Backup of VM 100 (qemu)",
            "WARN: first line",
            "second line",
            "",
            "third line",
            "",
            "INFO: creating vzdump archive '/mnt/pve/nfs1/dump/vzdump-qemu-100-2026_01_01-00_00_00.vma.zst'",
            "INFO: archive file size: 189MB",
            "INFO: Finished Backup of VM 100 (00:01:02)",
            "INFO: Starting Backup of VM 101 (lxc)",
            "ERROR: some earlier problem",
            "ERROR: Backup of VM 101 failed - line one",
            "ERROR: line two",
            "INFO: Failed at 2026-01-01 00:01:05",
            "INFO: Backup job finished with errors",
            "INFO: notified via target `a`",
            "INFO: notified via target `b`",
            "unterminated outputTASK ERROR: job errors",
        ];
        let s = parse_vzdump_log(&log);
        assert_eq!(s.storage.as_deref(), Some("nfs1"));
        let g = &s.guests[0];
        assert_eq!(g.warnings, ["first line\nsecond line\n\nthird line"]);
        assert_eq!(g.volid.as_deref(), Some("nfs1:backup/vzdump-qemu-100-2026_01_01-00_00_00.vma.zst"));
        assert_eq!((g.status, g.size, g.duration), (BackupOutcome::Ok, Some(189 * 1_048_576), Some(62)));
        let f = &s.guests[1];
        assert_eq!((f.status, f.error.as_deref()), (BackupOutcome::Failed, Some("line one\nline two")));
        assert_eq!(f.errors, ["some earlier problem"]);
        assert_eq!((s.job, s.notified.clone()), (JobOutcome::FinishedWithErrors, vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(s.task, Some(ExitStatus::Failed("job errors".into())));
    }

    #[test]
    fn job_failure_and_cut_log() {
        let s = parse_vzdump_text("INFO: Starting Backup of VM 100 (qemu)\nERROR: Backup job failed - can't acquire lock\n");
        assert_eq!((s.job, s.job_error.as_deref()), (JobOutcome::Failed, Some("can't acquire lock")));
        assert_eq!(s.guests[0].status, BackupOutcome::Incomplete);
    }

    #[test]
    fn progress_lines() {
        assert_eq!(backup_progress("INFO: progress 0% 0/2361393152 0"), Some(0.0));
        assert_eq!(backup_progress("INFO:  24% (4.9 GiB of 20.0 GiB) in 13s, read: 1 MiB/s, write: 1 MiB/s"), Some(0.24));
        assert_eq!(backup_progress("INFO: 100% (628.0 MiB of 628.0 MiB) in 3s, read: 209.3 MiB/s, write: 209.3 MiB/s"), Some(1.0));
        assert_eq!(backup_progress("INFO: status = running"), None);
    }
}
