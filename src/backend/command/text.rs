//! Parsers for the text that `qm` and `pct` print: guest lists and guest status.
//!
//! Pure functions from text to model types, no I/O. Each follows the format's rules in
//! `reference/FORMATS.md` rather than one sample's layout: columns are found by tokens, not
//! by fixed positions, because real captures lose leading or trailing spaces and long names
//! push columns right. Config and snapshot parsers live in [`super::text_detail`].
//!
//! Every error is [`Error::Parse`] naming the command and the 1-based line number.

use serde_json::{Map, Value};

use crate::backend::api::guest_status_from_raw;
use crate::error::{Error, Result};
use crate::model::{Guest, GuestKind, GuestRef, GuestStatus, NodeName, RawGuestFields, Vmid};

/// Bytes in the MiB that `qm list` prints memory in.
const MIB: f64 = 1_048_576.0;
/// Bytes in the GiB that `qm list` prints the boot disk in.
const GIB: f64 = 1_073_741_824.0;

/// The tokens of a line with their byte offsets, split on ASCII/Unicode white space.
pub(super) fn tokens(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &line[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &line[s..]));
    }
    out
}

/// A parse error for line `n` (1-based) of `command`'s output.
pub(super) fn line_error(command: &str, n: usize, why: impl Into<String>) -> Error {
    Error::parse(format!("{command} output line {n}"), why.into())
}

/// Whether `s` looks like a status word (`running`, `io-error`, `finish-migrate`, ...).
fn is_status_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A non-negative decimal number times `unit`, rounded to whole bytes.
fn scaled_bytes(s: &str, unit: f64) -> Option<u64> {
    let v: f64 = s.parse().ok()?;
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    let bytes = (v * unit).round();
    if bytes >= 18_446_744_073_709_551_615.0 {
        return None;
    }
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "checked finite, non-negative and below u64::MAX")]
    let b = bytes as u64;
    Some(b)
}

/// Whether a line is a list header: its first token is `VMID` in any case (one real capture
/// has `vmid`).
fn is_header(first: &str) -> bool {
    first.eq_ignore_ascii_case("vmid")
}

/// Parses `qm list` (FORMATS.md §1.1) run on `node`.
///
/// Layout: `VMID NAME STATUS MEM(MB) BOOTDISK(GB) PID`, one row per VM. VMID is the first
/// token; the tail is taken from the right (PID, BOOTDISK(GB), MEM(MB), STATUS) and NAME is
/// what remains, trimmed: it may contain a space (`VM 9000`, the default name of an unnamed
/// VM) and may be longer than its 20-character column. The header is recognised in any case
/// and skipped wherever it appears; blank lines are skipped; empty text (an empty list prints
/// nothing) gives an empty list.
///
/// Each [`Guest`] has kind qemu, `status` = the STATUS column (the QEMU run state:
/// `running`, `stopped`, `paused`, ...), `maxmem` = MEM(MB) × 1 048 576 bytes (MEM may be a
/// float), `maxdisk` = BOOTDISK(GB) × 1 073 741 824 bytes, rounded (the column has only 2
/// decimals), and `None`/`false`/empty for everything `qm list` does not show. Rows keep the
/// output's order (PVE sorts them by vmid).
///
/// # Errors
/// `Parse` naming `qm list` and the line when a row has too few columns, a bad vmid, or a
/// non-numeric MEM, BOOTDISK or PID.
pub fn parse_qm_list(text: &str, node: &NodeName) -> Result<Vec<Guest>> {
    const CMD: &str = "qm list";
    let mut guests = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let toks = tokens(line);
        let Some(&(first_at, first)) = toks.first() else { continue };
        if is_header(first) {
            continue;
        }
        let k = toks.len();
        if k < 5 {
            return Err(line_error(
                CMD,
                n,
                format!("expected VMID NAME STATUS MEM(MB) BOOTDISK(GB) PID, got {k} columns: '{}'", line.trim()),
            ));
        }
        let vmid: Vmid = first.parse().map_err(|e| line_error(CMD, n, format!("{e}")))?;
        let (status_at, status) = toks[k - 4];
        if !is_status_word(status) {
            return Err(line_error(CMD, n, format!("'{status}' is not a status")));
        }
        let maxmem =
            scaled_bytes(toks[k - 3].1, MIB).ok_or_else(|| line_error(CMD, n, format!("MEM(MB) '{}' is not a number", toks[k - 3].1)))?;
        let maxdisk = scaled_bytes(toks[k - 2].1, GIB)
            .ok_or_else(|| line_error(CMD, n, format!("BOOTDISK(GB) '{}' is not a number", toks[k - 2].1)))?;
        toks[k - 1].1.parse::<u64>().map_err(|_| line_error(CMD, n, format!("PID '{}' is not an integer", toks[k - 1].1)))?;
        let name = line[first_at + first.len()..status_at].trim();
        guests.push(Guest {
            name: (!name.is_empty()).then(|| name.to_owned()),
            maxmem: Some(maxmem),
            maxdisk: Some(maxdisk),
            ..Guest::new(vmid, node.clone(), GuestKind::Qemu, status)
        });
    }
    Ok(guests)
}

/// Parses `pct list` (FORMATS.md §2.1) run on `node`.
///
/// Layout: `VMID Status Lock Name`; Lock is blank when the container is not locked, and Name
/// (the hostname, white space removed by PVE) is one token, so a row is 3 tokens (vmid status
/// name) or 4 (vmid status lock name). The pre-2016 layout without the Lock column
/// (`VMID Status Name`) parses the same way. Header (any case) and blank lines are skipped;
/// empty text gives an empty list.
///
/// Each [`Guest`] has kind lxc, `status` (`running`/`stopped`), `name`, `lock` when shown, and
/// `None`/`false`/empty for everything `pct list` does not show.
///
/// # Errors
/// `Parse` naming `pct list` and the line when a row has not 3 or 4 columns or a bad vmid.
pub fn parse_pct_list(text: &str, node: &NodeName) -> Result<Vec<Guest>> {
    const CMD: &str = "pct list";
    let mut guests = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let toks: Vec<&str> = line.split_whitespace().collect();
        let Some(&first) = toks.first() else { continue };
        if is_header(first) {
            continue;
        }
        let (status, lock, name) = match toks.as_slice() {
            [_, status, name] => (*status, None, *name),
            [_, status, lock, name] => (*status, Some(*lock), *name),
            _ => {
                return Err(line_error(CMD, n, format!("expected VMID Status [Lock] Name, got {} columns: '{}'", toks.len(), line.trim())));
            }
        };
        let vmid: Vmid = first.parse().map_err(|e| line_error(CMD, n, format!("{e}")))?;
        if !is_status_word(status) {
            return Err(line_error(CMD, n, format!("'{status}' is not a status")));
        }
        guests.push(Guest {
            name: Some(name.to_owned()),
            lock: lock.map(str::to_owned),
            ..Guest::new(vmid, node.clone(), GuestKind::Lxc, status)
        });
    }
    Ok(guests)
}

/// One line of `key: value` text with its TAB depth.
struct KeyLine<'a> {
    n: usize,
    depth: usize,
    key: Option<&'a str>,
    value: &'a str,
}

/// Whether `s` can be a key printed by PVE (`maxmem`, `proxmox-support`, `lxc.apparmor.profile`).
pub(super) fn is_key(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Splits `key: value` (or `key:` alone); `None` when the text has no key.
pub(super) fn split_key(s: &str) -> Option<(&str, &str)> {
    let colon = s.find(':')?;
    let (key, rest) = (&s[..colon], &s[colon + 1..]);
    if !is_key(key) {
        return None;
    }
    if rest.is_empty() {
        return Some((key, ""));
    }
    rest.strip_prefix(' ').map(|v| (key, v))
}

/// Builds a JSON value from lines at depth `lines[0].depth` and their deeper children: an
/// object when every line at that depth has a key, else an array of the lines' text.
fn nest(lines: &[KeyLine<'_>]) -> Value {
    let Some(depth) = lines.iter().map(|l| l.depth).min() else { return Value::Object(Map::new()) };
    let level: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].depth == depth).collect();
    if level.iter().any(|&i| lines[i].key.is_none()) {
        return Value::Array(level.iter().map(|&i| Value::String(lines[i].value.to_owned())).collect());
    }
    let mut obj = Map::new();
    for (j, &i) in level.iter().enumerate() {
        let end = level.get(j + 1).copied().unwrap_or(lines.len());
        let children = &lines[i + 1..end];
        let key = lines[i].key.unwrap_or_default().to_owned();
        let value = if children.is_empty() { Value::String(lines[i].value.to_owned()) } else { nest(children) };
        obj.insert(key, value);
    }
    Value::Object(obj)
}

/// Parses `qm status <vmid> [--verbose]` or `pct status <vmid> [--verbose]` (FORMATS.md
/// §1.2, §2.2) for `guest`.
///
/// - Plain output is one line `status: <value>`. For qemu the value is the QEMU run state
///   (`qmpstatus`), so it goes to `qmpstatus` and `status` is derived: `stopped` and
///   `unknown` stay, every other run state (`running`, `paused`, `prelaunch`, ...) means the
///   process runs, so `running`. For lxc it is `status` itself.
/// - Verbose output is `key: value` lines in sorted order, with nested hashes (qm only: `ha`,
///   `blockstat`, `nics`, ...) as a `key:` line followed by its entries indented by one TAB
///   per level, and arrays as keyless indented lines. It is read into the same fields as the
///   API's `status/current`: name, status, qmpstatus, cpus, mem/maxmem/disk/maxdisk (bytes),
///   uptime (seconds), pid, lock, template, tags, and `ha_state` when `ha` says `managed: 1`.
///   `cpu` is never printed by the CLI, so it is `None`.
///
/// `vmid`, `node` and `kind` come from `guest`.
///
/// # Errors
/// `Parse` naming the command and the line when a top-level line is not `key: value`, or when
/// there is no `status` line.
pub fn parse_status(text: &str, guest: &GuestRef) -> Result<GuestStatus> {
    let cmd = format!("{} status", guest.kind.tool());
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let depth = raw.len() - raw.trim_start_matches('\t').len();
        let body = raw[depth..].trim_end();
        if body.trim().is_empty() {
            continue;
        }
        let (key, value) = match split_key(body) {
            Some((k, v)) => (Some(k), v),
            None => (None, body),
        };
        if depth == 0 && key.is_none() {
            return Err(line_error(&cmd, n, format!("expected 'key: value', got '{body}'")));
        }
        if lines.is_empty() && depth > 0 {
            return Err(line_error(&cmd, n, "indented line before any key"));
        }
        lines.push(KeyLine { n, depth, key, value });
    }
    let Value::Object(mut obj) = nest(&lines) else {
        return Err(line_error(&cmd, lines.first().map_or(1, |l| l.n), "expected 'key: value' lines"));
    };
    let Some(status) = obj.get("status").and_then(Value::as_str).map(str::to_owned) else {
        return Err(Error::parse(format!("{cmd} output"), "no 'status' line"));
    };
    if guest.kind == GuestKind::Qemu && obj.len() == 1 {
        let derived = if matches!(status.as_str(), "stopped" | "unknown") { status.clone() } else { "running".to_owned() };
        obj.insert("qmpstatus".to_owned(), Value::String(status));
        obj.insert("status".to_owned(), Value::String(derived));
    }
    let raw: RawGuestFields = serde_json::from_value(Value::Object(obj)).map_err(|e| Error::parse(format!("{cmd} output"), e))?;
    Ok(guest_status_from_raw(guest, raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> NodeName {
        "pve".parse().expect("valid node name")
    }

    #[test]
    fn tokens_keep_offsets() {
        assert_eq!(tokens("  a bb\tc "), vec![(2, "a"), (4, "bb"), (7, "c")]);
        assert!(tokens("   ").is_empty());
    }

    #[test]
    fn qm_list_float_mem_and_short_lines() {
        // MEM(MB) is Perl number stringification and may be a float (FORMATS.md §1.1).
        let text = "      VMID NAME                 STATUS     MEM(MB)    BOOTDISK(GB) PID       \n       100 a                    paused     1953.125          0.00 42        \n";
        let g = parse_qm_list(text, &node()).expect("parses");
        assert_eq!(g[0].maxmem, Some(2_048_000_000));
        assert_eq!(g[0].status, "paused");
        assert_eq!(g[0].maxdisk, Some(0));
        let err = parse_qm_list("       100 a running 10\n", &node()).expect_err("too short");
        assert!(err.to_string().contains("qm list output line 1"), "{err}");
        assert!(parse_qm_list("       100 a running x 1.00 0\n", &node()).is_err());
        assert!(parse_qm_list("", &node()).expect("empty").is_empty());
    }

    #[test]
    fn pct_list_lock_and_old_header() {
        let text = "VMID       Status     Lock         Name                \n101        stopped    backup       web                 \n";
        let g = parse_pct_list(text, &node()).expect("parses");
        assert_eq!(g[0].lock.as_deref(), Some("backup"));
        assert_eq!(g[0].name.as_deref(), Some("web"));
        // Before 2016-03: no Lock column (FORMATS.md §2.1).
        let old = parse_pct_list("VMID       Status     Name\n101        running    web\n", &node()).expect("parses");
        assert_eq!((old[0].status.as_str(), old[0].lock.as_deref()), ("running", None));
        assert!(parse_pct_list("101 running a b c\n", &node()).is_err());
    }

    fn qemu_ref() -> GuestRef {
        GuestRef { vmid: Vmid::new(200).expect("vmid"), node: node(), kind: GuestKind::Qemu }
    }

    #[test]
    fn plain_qm_status_is_qmpstatus() {
        let s = parse_status("status: paused\n", &qemu_ref()).expect("parses");
        assert_eq!((s.status.as_str(), s.qmpstatus.as_deref()), ("running", Some("paused")));
        let s = parse_status("status: stopped\n", &qemu_ref()).expect("parses");
        assert_eq!((s.status.as_str(), s.qmpstatus.as_deref()), ("stopped", Some("stopped")));
    }

    #[test]
    fn verbose_qm_status_with_nested_hashes() {
        // Layout built by the rules of FORMATS.md §1.2 (TAB per level, sorted keys), not a capture.
        let text = "blockstat:\n\tscsi0:\n\t\trd_bytes: 1\n\t\ttimed_stats:\ncpus: 2\nha:\n\tgroup: g1\n\tmanaged: 1\n\tstate: started\n\
                    lock: backup\nmaxmem: 2147483648\nmem: 1000\nname: web\npid: 4242\nqmpstatus: running\nstatus: running\n\
                    tags: a;b\ntemplate: 0\nuptime: 99\nvmid: 200\n";
        let s = parse_status(text, &qemu_ref()).expect("parses");
        assert_eq!(s.name.as_deref(), Some("web"));
        assert_eq!(s.status, "running");
        assert_eq!(s.qmpstatus.as_deref(), Some("running"));
        assert_eq!(s.cpus, Some(2.0));
        assert_eq!(s.maxmem, Some(2_147_483_648));
        assert_eq!(s.pid, Some(4242));
        assert_eq!(s.uptime, Some(99));
        assert_eq!(s.lock.as_deref(), Some("backup"));
        assert_eq!(s.tags, ["a", "b"]);
        assert_eq!(s.ha_state.as_deref(), Some("started"));
        assert!(!s.template);
        assert_eq!(s.cpu, None);
    }

    #[test]
    fn status_errors_name_the_line() {
        let err = parse_status("status: running\ngarbage here\n", &qemu_ref()).expect_err("bad line");
        assert!(err.to_string().contains("qm status output line 2"), "{err}");
        assert!(parse_status("name: x\n", &qemu_ref()).is_err());
    }
}
