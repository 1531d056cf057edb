//! Progress of restores, clones and disk moves, read from their task-log lines.
//!
//! Restore (OPERATIONS.md facts 7, 9): `vma extract` prints
//! `progress N% (read X bytes, duration S sec)` over the whole archive; `pbs-restore` prints
//! `progress N% (read X bytes, zeroes = Z% (Y bytes), duration S sec)` per image; `pct restore`
//! prints no percentages, only the milestones `restoring '<volid>' now..` (extraction starts)
//! and `merging backed-up and given configuration..` (extraction done).
//!
//! Clone and disk move (fact 10): one `create full|linked clone of drive <key> (<volid>)` line
//! per drive (`... of drive (<volid>)` with an empty key on import; `mountpoint`/`mount point`
//! for containers), then for a running source the drive-mirror lines: old (PVE 5)
//! `drive-X: transferred: N bytes remaining: N bytes total: N bytes progression: P % busy: B ready: R `,
//! new `<job>: transferred 1.2 GiB of 32.0 GiB (3.75%) in 3s[, ready|, still busy]`
//! (qemu-server `QemuServer/BlockJob.pm`; job `drive-<key>` before 9.0, `mirror-<key>` after),
//! and for a stopped source `qemu-img convert`'s `transferred 1.2 GiB of 32.0 GiB (3.75%)`
//! (`QemuServer/QemuImage.pm`).

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::human::{parse_duration, parse_size};
use super::vzdump_log::ratio;

/// Which restore tool printed a progress line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RestoreSource {
    /// `vma extract` (qmrestore of a `.vma[.zst]` archive): the fraction covers the archive.
    Vma,
    /// `pbs-restore` (qmrestore from PBS): the fraction covers one disk image.
    Pbs,
    /// `pct restore` milestones: 0.0 when extraction starts, 1.0 when it is done.
    Pct,
}

/// One restore progress line.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RestoreProgress {
    /// Done, 0.0-1.0.
    pub fraction: f64,
    /// Bytes read so far.
    pub read: Option<u64>,
    /// PBS: zero bytes so far.
    pub zeroes: Option<u64>,
    /// Seconds since the start.
    pub duration: Option<u64>,
    /// The tool.
    pub source: RestoreSource,
}

static VMA: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^progress (\d+)% \(read (\d+) bytes, duration (\d+) sec\)$").expect("regex is valid"));
static PBS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^progress (\d+)% \(read (\d+) bytes, zeroes = \d+% \((\d+) bytes\), duration (\d+) sec\)$").expect("regex is valid")
});

fn percent(s: &str) -> Option<f64> {
    let p: f64 = s.parse().ok()?;
    p.is_finite().then(|| (p / 100.0).clamp(0.0, 1.0))
}

/// The progress a restore log line reports, when it is a progress line (see module docs).
pub fn restore_progress(line: &str) -> Option<RestoreProgress> {
    let line = line.trim();
    if let Some(c) = VMA.captures(line) {
        return Some(RestoreProgress {
            fraction: percent(&c[1])?,
            read: c[2].parse().ok(),
            zeroes: None,
            duration: c[3].parse().ok(),
            source: RestoreSource::Vma,
        });
    }
    if let Some(c) = PBS.captures(line) {
        return Some(RestoreProgress {
            fraction: percent(&c[1])?,
            read: c[2].parse().ok(),
            zeroes: c[3].parse().ok(),
            duration: c[4].parse().ok(),
            source: RestoreSource::Pbs,
        });
    }
    let milestone = |fraction| Some(RestoreProgress { fraction, read: None, zeroes: None, duration: None, source: RestoreSource::Pct });
    if line.starts_with("restoring '") && line.ends_with("' now..") {
        return milestone(0.0);
    }
    if line == "merging backed-up and given configuration.." {
        return milestone(1.0);
    }
    None
}

/// One `create full|linked clone of drive <key> (<volid>)` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct CloneDrive {
    /// Drive or mount point key (`scsi0`, `rootfs`); empty for `qm disk import`.
    pub drive: String,
    /// The source volume.
    pub volid: String,
    /// Linked (copy-on-write from a template) rather than a full copy.
    pub linked: bool,
}

static CLONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^create (full|linked) clone of (?:drive|mountpoint|mount point) ?(\S*) \((.+)\)$").expect("regex is valid")
});

/// The drive a clone line announces, when it is one.
pub fn clone_drive(line: &str) -> Option<CloneDrive> {
    let c = CLONE.captures(line.trim())?;
    Some(CloneDrive { drive: c[2].to_owned(), volid: c[3].to_owned(), linked: &c[1] == "linked" })
}

/// One copy progress line of a drive mirror or `qemu-img convert`.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CopyProgress {
    /// The block job (`drive-scsi0`, `mirror-scsi0`); `None` for `qemu-img convert`.
    pub job: Option<String>,
    /// Done, 0.0-1.0 (PVE's printed percentage).
    pub fraction: f64,
    /// Bytes copied (exact in the old format, rounded in the new one).
    pub transferred: Option<u64>,
    /// Bytes in all.
    pub total: Option<u64>,
    /// Seconds since the mirror started (new format only).
    pub elapsed: Option<u64>,
    /// The mirror is ready (in sync; completion can follow).
    pub ready: bool,
}

impl CopyProgress {
    /// The drive key of the job (`scsi0` of `mirror-scsi0`/`drive-scsi0`).
    pub fn drive(&self) -> Option<&str> {
        let j = self.job.as_deref()?;
        Some(j.strip_prefix("mirror-").or_else(|| j.strip_prefix("drive-")).unwrap_or(j))
    }
}

static OLD_MIRROR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\S+): transferred: (\d+) bytes remaining: \d+ bytes total: (\d+) bytes progression: ([\d.]+) % busy: \d+ ready: (\d+)$")
        .expect("regex is valid")
});
static NEW_MIRROR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(\S+): )?transferred (\S+ \S+) of (\S+ \S+) \(([\d.]+)%\)(?: in ([\dwdhms ]+?))?(, ready|, still busy)?$")
        .expect("regex is valid")
});

/// The progress a clone or disk-move log line reports, when it is a progress line.
pub fn copy_progress(line: &str) -> Option<CopyProgress> {
    let line = line.trim();
    if let Some(c) = OLD_MIRROR.captures(line) {
        let (transferred, total) = (c[2].parse().ok(), c[3].parse().ok());
        let fraction = percent(&c[4]).or_else(|| Some(ratio(transferred?, total?)))?;
        return Some(CopyProgress { job: Some(c[1].to_owned()), fraction, transferred, total, elapsed: None, ready: &c[5] == "1" });
    }
    let c = NEW_MIRROR.captures(line)?;
    Some(CopyProgress {
        job: c.get(1).map(|m| m.as_str().to_owned()),
        fraction: percent(&c[4])?,
        transferred: parse_size(&c[2]),
        total: parse_size(&c[3]),
        elapsed: c.get(5).and_then(|m| parse_duration(m.as_str())),
        ready: c.get(6).is_some_and(|m| m.as_str() == ", ready"),
    })
}

/// A disk that `qm disk import` (or an import during create) reports done:
/// `<key>: successfully imported disk '<volid>'` (qemu-server `CLI/qm.pm`) or
/// `<key>: successfully created disk '<volid>,<options>'` for a newly allocated disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ImportedDisk {
    /// The config key it was attached as (`unused0`, `scsi1`, `efidisk0`).
    pub drive: String,
    /// The new volume.
    pub volid: String,
    /// Size, bytes, when the line carries the drive's `size=` (created disks).
    pub size: Option<u64>,
    /// Allocated empty (`successfully created disk`) rather than imported.
    pub created: bool,
}

static IMPORTED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\S+): successfully (imported|created) disk '([^']+)'$").expect("regex is valid"));

/// The disk an import or create log line reports done, when it is one.
pub fn imported_disk(line: &str) -> Option<ImportedDisk> {
    let c = IMPORTED.captures(line.trim())?;
    let drive_string = &c[3];
    Some(ImportedDisk {
        drive: c[1].to_owned(),
        volid: drive_string.split(',').next().unwrap_or_default().to_owned(),
        size: super::disk_size::drive_size(drive_string),
        created: &c[2] == "created",
    })
}

/// A clone or disk-move log, summarised.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CloneLog {
    /// Drives in the order they were cloned.
    pub drives: Vec<CloneDrive>,
    /// The latest progress of each copy job (or of `qemu-img convert`), in first-seen order.
    pub copies: Vec<CopyProgress>,
    /// Whether `all mirroring jobs are ready` / `all 'mirror' jobs are ready` was printed.
    pub all_ready: bool,
}

impl CloneLog {
    /// The fraction of the drive being copied now (the last progress line's job), if any
    /// copy progress was printed. A linked clone prints none.
    pub fn current(&self) -> Option<&CopyProgress> {
        self.copies.last()
    }
}

/// Reads the drives and the copy progress out of a clone or disk-move log.
pub fn parse_clone_log<S: AsRef<str>>(lines: &[S]) -> CloneLog {
    let mut log = CloneLog { drives: Vec::new(), copies: Vec::new(), all_ready: false };
    for l in lines {
        let l = l.as_ref();
        if let Some(d) = clone_drive(l) {
            log.drives.push(d);
        } else if let Some(p) = copy_progress(l) {
            match log.copies.iter().position(|q| q.job == p.job) {
                // A new `qemu-img convert` (no job id) starts after each drive line.
                Some(i) if p.job.is_some() || p.fraction >= log.copies[i].fraction => {
                    let q = log.copies.remove(i);
                    log.copies.push(CopyProgress { ready: p.ready || q.ready, ..p });
                }
                _ => log.copies.push(p),
            }
        } else {
            let t = l.trim();
            if t == "all mirroring jobs are ready" || (t.starts_with("all '") && t.ends_with("' jobs are ready")) {
                log.all_ready = true;
            }
        }
    }
    log
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_lines() {
        let p = restore_progress("progress 42% (read 864223232 bytes, duration 3 sec)").expect("vma");
        assert_eq!((p.fraction, p.read, p.source), (0.42, Some(864_223_232), RestoreSource::Vma));
        let p = restore_progress("progress 1% (read 130023424 bytes, zeroes = 45% (58720256 bytes), duration 0 sec)").expect("pbs");
        assert_eq!((p.zeroes, p.source), (Some(58_720_256), RestoreSource::Pbs));
        assert_eq!(restore_progress("merging backed-up and given configuration..").map(|p| p.fraction), Some(1.0));
        assert!(restore_progress("total bytes read 21604859904, sparse bytes 21249482752 (98.4%)").is_none());
    }

    #[test]
    fn copy_lines() {
        let p = copy_progress("transferred 1.2 GiB of 32.0 GiB (3.75%)").expect("qemu-img");
        assert_eq!((p.job, p.fraction, p.elapsed), (None, 0.0375, None));
        let p = copy_progress("mirror-scsi0: transferred 32.0 GiB of 32.0 GiB (100.00%) in 1h 7m 50s, still busy").expect("new");
        assert_eq!((p.drive(), p.elapsed, p.ready), (Some("scsi0"), Some(4070), false));
        assert_eq!(clone_drive("create full clone of drive (local:import/x.ova/disk.vmdk)").map(|d| d.drive), Some(String::new()));
        assert_eq!(clone_drive("create linked clone of mount point mp0 (local-zfs:basevol-900-disk-1)").map(|d| d.linked), Some(true));
    }
}
