//! The audit log's hash chain: the canonical form a record's hash covers, the lock, reading
//! the last record without reading the file, and [`verify`].
//!
//! `hash = hex(SHA-256(prev || canonical))` where `prev` is the previous record's `hash` as its
//! 64 ASCII hex digits (64 zeros for the first record) and `canonical` is the record without
//! its `hash` field as compact JSON with object keys sorted (by bytes), `serde_json`'s string
//! escaping, no whitespace. The canonical form does not depend on the order the keys are
//! written in, so a reader can recompute it from the parsed line.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// `prev` of the first record: 64 zeros.
pub const ZERO_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How long to wait for another process's lock before giving up; holders keep it for one
/// append (microseconds to a disk sync), so only a stuck process makes this run out.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// The longest last line [`last_record`] reads back, bytes: far above any record pvectl
/// writes (every free-text field is bounded), small enough to bound the work.
const MAX_LINE: u64 = 1 << 20;

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    /// Lines that parse as records (all lines when intact).
    pub records: u64,
    /// The first line breaking the chain, if any.
    pub first_break: Option<Break>,
    /// `seq` of every intent record that has no outcome record (e.g. a run killed hard), ascending.
    pub open_intents: Vec<u64>,
}

impl Verified {
    /// Whether the chain is unbroken.
    pub fn intact(&self) -> bool {
        self.first_break.is_none()
    }
}

/// Where and why the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong with it, as a sentence fragment.
    pub reason: String,
}

/// An flock held on a file, released on drop.
#[derive(Debug)]
pub(super) struct Locked<'a>(&'a File);

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // Closing the file releases it too; this only makes the release prompt.
        let _ = fs4::fs_std::FileExt::unlock(self.0);
    }
}

/// Takes an exclusive (`exclusive`) or shared flock on `file`, waiting at most [`LOCK_WAIT`].
pub(super) fn lock(file: &File, exclusive: bool) -> std::io::Result<Locked<'_>> {
    let deadline = Instant::now() + LOCK_WAIT;
    let mut pause = Duration::from_millis(1);
    loop {
        let got = if exclusive { fs4::fs_std::FileExt::try_lock_exclusive(file)? } else { fs4::fs_std::FileExt::try_lock_shared(file)? };
        if got {
            return Ok(Locked(file));
        }
        if Instant::now() >= deadline {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("another process has held its lock for {} s", LOCK_WAIT.as_secs()),
            ));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// The compact, key-sorted JSON of `v`.
pub(super) fn canonical(v: &Value) -> String {
    fn put(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    put(&m[k.as_str()], out);
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    put(x, out);
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    let mut out = String::new();
    put(v, &mut out);
    out
}

/// `hex(SHA-256(prev || canonical(record without "hash")))`.
pub(super) fn canonical_hash(prev: &str, record: &Value) -> String {
    let mut body = record.clone();
    if let Value::Object(m) = &mut body {
        m.remove("hash");
    }
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(canonical(&body).as_bytes());
    h.finalize().iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The chain's end as the next record needs it.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Tail {
    /// The last record's `seq` (0 for an empty file).
    pub(super) seq: u64,
    /// The last record's `hash` ([`ZERO_HASH`] for an empty file).
    pub(super) hash: String,
    /// The file ends in a partial line (a write cut short): the next line must start with
    /// `\n` so the partial one stays a line of its own (which `verify` reports).
    pub(super) needs_newline: bool,
}

/// Reads the last complete line of `file` from its end (a few KiB, never the whole file).
/// The error says what is wrong with that line.
pub(super) fn last_record(file: &File) -> std::result::Result<Tail, String> {
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    if len == 0 {
        return Ok(Tail { seq: 0, hash: ZERO_HASH.into(), needs_newline: false });
    }
    let mut window: u64 = 8 * 1024;
    loop {
        let start = len.saturating_sub(window);
        let mut buf = vec![0; usize::try_from(len - start).map_err(|e| e.to_string())?];
        file.read_exact_at(&mut buf, start).map_err(|e| e.to_string())?;
        let needs_newline = buf.last() != Some(&b'\n');
        // The last complete line ends at the last '\n' and starts after the one before it.
        let end = buf.iter().rposition(|&b| b == b'\n');
        let begin = end.map(|end| buf[..end].iter().rposition(|&b| b == b'\n').map(|p| p + 1));
        match (end, begin) {
            (Some(end), Some(Some(begin))) => return tail_of(&buf[begin..end], needs_newline),
            (Some(end), Some(None)) if start == 0 => return tail_of(&buf[..end], needs_newline),
            (None, _) if start == 0 => return Ok(Tail { seq: 0, hash: ZERO_HASH.into(), needs_newline }),
            _ if window >= MAX_LINE => return Err(format!("its last line is longer than {MAX_LINE} bytes")),
            _ => window *= 4,
        }
    }
}

fn tail_of(line: &[u8], needs_newline: bool) -> std::result::Result<Tail, String> {
    let v: Value = serde_json::from_slice(line).map_err(|e| format!("its last line is not a JSON record: {e}"))?;
    let (seq, hash) = seq_and_hash(&v).ok_or("its last line has no valid seq and hash")?;
    Ok(Tail { seq, hash: hash.to_owned(), needs_newline })
}

fn seq_and_hash(v: &Value) -> Option<(u64, &str)> {
    let seq = v.get("seq")?.as_u64().filter(|s| *s > 0)?;
    let hash = v.get("hash")?.as_str().filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))?;
    Some((seq, hash))
}

/// Opens `path` for reading under a shared lock; `None` when it does not exist.
fn open_shared(path: &Path) -> Result<Option<File>> {
    match File::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Policy(format!("failed to open the audit log {}: {e}", path.display()))),
    }
}

/// Reads every line of `path` (under a shared lock, so no append is half-seen) and hands
/// each, with its 1-based number, to `each`.
fn each_line(path: &Path, file: &File, mut each: impl FnMut(u64, &[u8])) -> Result<()> {
    let io = |e: std::io::Error| Error::Policy(format!("failed to read the audit log {}: {e}", path.display()));
    let _lock = lock(file, false).map_err(io)?;
    let mut r = BufReader::new(file);
    let mut buf = Vec::new();
    let mut n = 0;
    loop {
        buf.clear();
        if r.read_until(b'\n', &mut buf).map_err(io)? == 0 {
            return Ok(());
        }
        n += 1;
        each(n, &buf);
    }
}

/// Checks the whole chain of the log at `path`.
///
/// Reports the first line that is incomplete (no final newline: truncated), does not parse,
/// has a hash that does not match its content (edited), a `seq` other than the previous + 1
/// (a line removed, inserted or reordered), or a `prev` other than the previous record's hash.
/// A chain cut at its end (last lines removed whole) cannot be seen from the file alone.
///
/// # Errors
/// `NotFound` when there is no file (a missing log is not an intact one); `Policy` when it
/// cannot be read.
pub fn verify(path: &Path) -> Result<Verified> {
    let file = open_shared(path)?.ok_or_else(|| Error::NotFound(format!("there is no audit log at {}", path.display())))?;
    let mut out = Verified { records: 0, first_break: None, open_intents: Vec::new() };
    let mut open = std::collections::BTreeSet::new();
    let (mut expect, mut prev) = (1_u64, ZERO_HASH.to_owned());
    each_line(path, &file, |n, raw| {
        let parsed = check(raw, expect, &prev);
        if let Err(reason) = &parsed.verdict {
            out.first_break.get_or_insert_with(|| Break { line: n, reason: reason.clone() });
        }
        let Some((v, seq, hash)) = parsed.record else { return };
        out.records += 1;
        // After a break, follow the chain from what the line says, to count the rest.
        (expect, prev) = (seq + 1, hash);
        match v.get("record").and_then(Value::as_str) {
            Some("intent") => {
                open.insert(seq);
            }
            Some("outcome") => {
                if let Some(i) = v.get("intent").and_then(Value::as_u64) {
                    open.remove(&i);
                }
            }
            _ => {}
        }
    })?;
    out.open_intents = open.into_iter().collect();
    Ok(out)
}

struct Checked {
    /// The parsed record, its seq and hash, when it parses.
    record: Option<(Value, u64, String)>,
    verdict: std::result::Result<(), String>,
}

fn check(raw: &[u8], expect: u64, prev: &str) -> Checked {
    let bad = |why: String| Checked { record: None, verdict: Err(why) };
    let Some(line) = raw.strip_suffix(b"\n") else {
        return bad("the line has no newline at its end: the file was truncated or a write was cut short".into());
    };
    let v: Value = match serde_json::from_slice(line) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => return bad("the line is not a JSON object".into()),
        Err(e) => return bad(format!("the line does not parse as JSON: {e}")),
    };
    let Some((seq, hash)) = seq_and_hash(&v).map(|(s, h)| (s, h.to_owned())) else {
        return bad("the line has no valid seq and hash".into());
    };
    let line_prev = v.get("prev").and_then(Value::as_str).unwrap_or_default().to_owned();
    let verdict = if canonical_hash(&line_prev, &v) != hash {
        Err("the hash does not match the record: the line was edited".into())
    } else if seq != expect {
        Err(format!("seq {seq} where {expect} was expected: a line was removed, inserted or reordered"))
    } else if line_prev != prev {
        Err("prev is not the hash of the record before: a line was removed, inserted or reordered".into())
    } else {
        Ok(())
    };
    Checked { record: Some((v, seq, hash)), verdict }
}

/// Every record of the log at `path`, oldest first; none when the file does not exist.
///
/// # Errors
/// `Parse` naming the first line that is not a JSON object (check the log with [`verify`]);
/// `Policy` when the file cannot be read.
pub fn read_records(path: &Path) -> Result<Vec<Value>> {
    let Some(file) = open_shared(path)? else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    let mut first_bad = None;
    each_line(path, &file, |n, raw| match serde_json::from_slice::<Value>(raw) {
        Ok(v @ Value::Object(_)) => out.push(v),
        Ok(_) => {
            first_bad.get_or_insert((n, None));
        }
        Err(e) => {
            first_bad.get_or_insert((n, Some(e)));
        }
    })?;
    match first_bad {
        None => Ok(out),
        Some((n, e)) => Err(Error::Parse {
            what: format!("line {n} of the audit log {} (check it with `pvectl audit verify`)", path.display()),
            source: e.map(Into::into),
        }),
    }
}
