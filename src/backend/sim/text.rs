//! The text the `qm` and `pct` tools print, formatted from the API answers (as the real
//! tools format the results of the same API methods). Formats: FORMATS.md §1.1-§1.5,
//! §2.1-§2.4.
//!
//! Every function takes the JSON the core returns for the matching API path and returns
//! the exact stdout text. `qm listsnapshot` prints times in UTC where PVE uses the node's
//! local time zone (a simulated node's zone is UTC).

use std::fmt::Write as _;

use serde_json::Value;

use crate::model::encode_text;

fn u64_of(v: &Value, key: &str) -> u64 {
    crate::model::loose::value_u64(v.get(key).unwrap_or(&Value::Null)).unwrap_or(0)
}

fn str_of<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// A scalar as Perl prints it: strings raw, numbers in their JSON text.
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A number as Perl stringifies it (`%.15g`): `2048`, `1953.125`.
fn perl_num(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        return format!("{f:.0}");
    }
    #[expect(clippy::cast_possible_truncation, reason = "log10 of a finite f64 fits i32")]
    let int_digits = f.abs().log10().floor() as i32 + 1;
    let decimals = usize::try_from((15 - int_digits).max(0)).unwrap_or(0);
    let s = format!("{f:.decimals$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_owned() } else { s }
}

fn sorted_by_vmid(items: &Value) -> Vec<&Value> {
    let mut rows: Vec<&Value> = items.as_array().map(|a| a.iter().collect()).unwrap_or_default();
    rows.sort_by_key(|r| u64_of(r, "vmid"));
    rows
}

/// `qm list` from `GET /nodes/{node}/qemu`: `%10s %-20s %-10s %-10s %12.2f %-10s` rows
/// sorted by vmid under a header with trailing spaces; nothing at all when empty.
pub fn qm_list(items: &Value) -> String {
    let rows = sorted_by_vmid(items);
    if rows.is_empty() {
        return String::new();
    }
    let mut out = format!("{:>10} {:<20} {:<10} {:<10} {:>12} {:<10}\n", "VMID", "NAME", "STATUS", "MEM(MB)", "BOOTDISK(GB)", "PID");
    for r in rows {
        let status = str_of(r, "qmpstatus").or_else(|| str_of(r, "status")).unwrap_or("");
        #[expect(clippy::cast_precision_loss, reason = "printed with 2 decimals as PVE does")]
        let (mem, disk) = (u64_of(r, "maxmem") as f64 / 1_048_576.0, u64_of(r, "maxdisk") as f64 / 1_073_741_824.0);
        let _ = writeln!(
            out,
            "{:>10} {:<20} {:<10} {:<10} {:>12.2} {:<10}",
            u64_of(r, "vmid"),
            str_of(r, "name").unwrap_or(""),
            status,
            perl_num(mem),
            disk,
            u64_of(r, "pid"),
        );
    }
    out
}

/// `pct list` from `GET /nodes/{node}/lxc`: `%-10s %-10s %-12s %-20s` (VMID, Status, Lock,
/// Name without white space); nothing at all when empty.
pub fn pct_list(items: &Value) -> String {
    let rows = sorted_by_vmid(items);
    if rows.is_empty() {
        return String::new();
    }
    let mut out = format!("{:<10} {:<10} {:<12} {:<20}\n", "VMID", "Status", "Lock", "Name");
    for r in rows {
        let name: String = str_of(r, "name").unwrap_or("").chars().filter(|c| !c.is_whitespace()).collect();
        let _ = writeln!(
            out,
            "{:<10} {:<10} {:<12} {:<20}",
            u64_of(r, "vmid"),
            str_of(r, "status").unwrap_or(""),
            str_of(r, "lock").unwrap_or(""),
            name
        );
    }
    out
}

/// `qm status [--verbose]` from `GET .../qemu/{vmid}/status/current`: `status: <qmpstatus>`,
/// or every key sorted (without `cpu`, `relcpu`), nested values one TAB deeper per level.
pub fn qm_status(status: &Value, verbose: bool) -> String {
    if !verbose {
        return format!("status: {}\n", str_of(status, "qmpstatus").unwrap_or("unknown"));
    }
    let mut out = String::new();
    if let Some(obj) = status.as_object() {
        let mut keys: Vec<&String> = obj.keys().filter(|k| *k != "cpu" && *k != "relcpu").collect();
        keys.sort();
        for k in keys {
            print_recursive(&mut out, "", &obj[k], Some(k));
        }
    }
    out
}

/// qemu-server's `print_recursive_hash`: hashes sorted, arrays without keys, one TAB per level.
fn print_recursive(out: &mut String, prefix: &str, v: &Value, key: Option<&str>) {
    match v {
        Value::Object(m) => {
            if let Some(k) = key {
                let _ = writeln!(out, "{prefix}{k}:");
            }
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for k in keys {
                print_recursive(out, &format!("\t{prefix}"), &m[k], Some(k));
            }
        }
        Value::Array(items) => {
            if let Some(k) = key {
                let _ = writeln!(out, "{prefix}{k}:");
            }
            for item in items {
                print_recursive(out, &format!("\t{prefix}"), item, None);
            }
        }
        Value::Null => {}
        scalar_value => {
            let s = scalar(scalar_value);
            let _ = match key {
                Some(k) => writeln!(out, "{prefix}{k}: {s}"),
                None => writeln!(out, "{prefix}{s}"),
            };
        }
    }
}

/// `pct status [--verbose]` from `GET .../lxc/{vmid}/status/current`: `status: <status>`, or
/// the flat sorted keys without `cpu` (the API's `ha` object is not part of pct's vmstatus).
pub fn pct_status(status: &Value, verbose: bool) -> String {
    if !verbose {
        return format!("status: {}\n", str_of(status, "status").unwrap_or("unknown"));
    }
    let mut out = String::new();
    if let Some(obj) = status.as_object() {
        let mut keys: Vec<&String> = obj.keys().filter(|k| *k != "cpu" && *k != "ha").collect();
        keys.sort();
        for k in keys {
            if !obj[k].is_null() {
                let _ = writeln!(out, "{k}: {}", scalar(&obj[k]));
            }
        }
    }
    out
}

/// `qm config` / `pct config` from `GET .../config`: keys sorted byte-wise, `digest`
/// skipped, `description` escaped with `encode_text`, raw `lxc.*` entries last.
pub fn guest_config(config: &Value) -> String {
    let mut out = String::new();
    let Some(obj) = config.as_object() else { return out };
    let mut keys: Vec<&String> = obj.keys().filter(|k| *k != "digest" && *k != "lxc").collect();
    keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    for k in keys {
        let v = scalar(&obj[k]);
        let v = if k == "description" { encode_text(&v) } else { v };
        let _ = writeln!(out, "{k}: {v}");
    }
    for pair in obj.get("lxc").and_then(Value::as_array).into_iter().flatten() {
        if let Some([k, v]) = pair.as_array().map(Vec::as_slice) {
            let _ = writeln!(out, "{}: {}", scalar(k), scalar(v));
        }
    }
    out
}

/// `qm listsnapshot` / `pct listsnapshot` from `GET .../snapshot`: the tree, children one
/// space deeper than their parent, siblings by `snaptime` with `current` last.
pub fn listsnapshot(entries: &Value) -> String {
    let list: Vec<&Value> = entries.as_array().map(|a| a.iter().collect()).unwrap_or_default();
    let mut out = String::new();
    print_level(&mut out, &list, None, "`->");
    out
}

/// The parent of an entry, if that parent is in the list (else the entry is a root).
fn parent_in<'v>(list: &[&'v Value], e: &'v Value) -> Option<&'v str> {
    str_of(e, "parent").filter(|p| list.iter().any(|o| str_of(o, "name") == Some(*p)))
}

fn print_level(out: &mut String, list: &[&Value], parent: Option<&str>, prefix: &str) {
    let mut level: Vec<&Value> = list.iter().copied().filter(|e| parent_in(list, e) == parent).collect();
    level.sort_by(|a, b| {
        let key = |e: &Value| (e.get("snaptime").is_none(), u64_of(e, "snaptime"));
        key(a).cmp(&key(b)).then_with(|| str_of(a, "name").cmp(&str_of(b, "name")))
    });
    for e in level {
        let name = str_of(e, "name").unwrap_or("");
        let time = match u64_of(e, "snaptime") {
            0 => String::new(),
            t => utc_timestamp(t),
        };
        let first = str_of(e, "description").and_then(|d| d.lines().next()).filter(|l| !l.is_empty()).unwrap_or("no-description");
        let len = 30usize.saturating_sub(prefix.len());
        let _ = writeln!(out, "{prefix} {name:<len$} {time:<23} {first}");
        print_level(out, list, Some(name), &format!(" {prefix}"));
    }
}

/// `qm pending` / `pct pending` from `GET .../pending` (pve-guest-common `GuestHelpers.pm`
/// `format_pending`): sorted by key, `digest` skipped, `cur`/`new`/`del` lines, the
/// `description` escaped with `encode_text`.
pub fn pending(items: &Value) -> String {
    let mut rows: Vec<&Value> = items.as_array().map(|a| a.iter().collect()).unwrap_or_default();
    rows.sort_by(|a, b| str_of(a, "key").cmp(&str_of(b, "key")));
    let mut out = String::new();
    for r in rows {
        let Some(k) = str_of(r, "key").filter(|k| *k != "digest") else { continue };
        let text =
            |key: &str| r.get(key).filter(|v| !v.is_null()).map(|v| if k == "description" { encode_text(&scalar(v)) } else { scalar(v) });
        let deleted = r.get("delete").is_some_and(|d| u64_of(r, "delete") > 0 || d.as_str().is_some_and(|s| s != "0"));
        match (text("value"), text("pending")) {
            (Some(v), _) if deleted => {
                let _ = writeln!(out, "del {k}: {v}");
            }
            (Some(v), Some(p)) => {
                let _ = writeln!(out, "cur {k}: {v}\nnew {k}: {p}");
            }
            (Some(v), None) => {
                let _ = writeln!(out, "cur {k}: {v}");
            }
            (None, Some(p)) => {
                let _ = writeln!(out, "new {k}: {p}");
            }
            (None, None) => {}
        }
    }
    out
}

/// `YYYY-MM-DD HH:MM:SS` in UTC for seconds since the epoch (see [`crate::model::time`]).
pub fn utc_timestamp(secs: u64) -> String {
    crate::model::time::format_utc(secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn qm_list_matches_printf_layout() {
        let items = json!([
            {"vmid": 9000, "name": "VM 9000", "status": "stopped", "maxmem": 2_147_483_648_u64, "maxdisk": 23_836_229_632_u64},
            {"vmid": 100, "name": "vm1", "status": "running", "qmpstatus": "running", "maxmem": 2_147_483_648_u64, "maxdisk": 23_836_229_632_u64, "pid": 80720},
        ]);
        // Rows as in samples/qm-list/5.txt (its header was edited by its author; ours is qm's).
        assert_eq!(
            qm_list(&items),
            "      VMID NAME                 STATUS     MEM(MB)    BOOTDISK(GB) PID       \n\
             \x20      100 vm1                  running    2048              22.20 80720     \n\
             \x20     9000 VM 9000              stopped    2048              22.20 0         \n"
        );
        assert_eq!(qm_list(&json!([])), "");
        assert_eq!(perl_num(1953.125), "1953.125");
    }

    #[test]
    fn pct_list_pads_name() {
        let items = json!([{"vmid": 103, "name": "vaultwarden", "status": "running"}, {"vmid": 106, "name": "root ca", "status": "stopped", "lock": "backup"}]);
        assert_eq!(
            pct_list(&items),
            "VMID       Status     Lock         Name                \n\
             103        running                 vaultwarden         \n\
             106        stopped    backup       rootca              \n"
        );
    }

    #[test]
    fn snapshot_tree_like_samples() {
        // samples/qm-listsnapshot/1.txt (its time is the author's local time).
        let e = json!([
            {"name": "baseline-tiles-2026-07-28", "snaptime": 1_785_280_098, "description": "Kasm baseline 2026-07-28: 6 vCPU", "vmstate": 0},
            {"name": "current", "parent": "baseline-tiles-2026-07-28", "running": 1, "description": "You are here!"},
        ]);
        assert_eq!(
            listsnapshot(&e),
            "`-> baseline-tiles-2026-07-28   2026-07-28 23:08:18     Kasm baseline 2026-07-28: 6 vCPU\n \
             `-> current                                            You are here!\n"
        );
    }

    #[test]
    fn config_sorts_and_escapes() {
        let c = json!({"net2": "a", "net10": "b", "description": "x\ny: z", "digest": "d", "lxc": [["lxc.a", "1"]]});
        assert_eq!(guest_config(&c), "description: x%0Ay%3A z\nnet10: b\nnet2: a\nlxc.a: 1\n");
    }

    #[test]
    fn verbose_status_nests_with_tabs() {
        let s = json!({"cpu": 0.5, "ha": {"managed": 0}, "name": "web", "status": "running"});
        assert_eq!(qm_status(&s, true), "ha:\n\tmanaged: 0\nname: web\nstatus: running\n");
        assert_eq!(utc_timestamp(0), "1970-01-01 00:00:00");
        assert_eq!(utc_timestamp(1_767_225_600), "2026-01-01 00:00:00");
    }
}
