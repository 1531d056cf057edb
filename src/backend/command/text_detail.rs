//! Parsers for `qm|pct config` and `qm|pct listsnapshot` text.
//!
//! Pure functions, no I/O; companions of the list and status parsers in [`super::text`].
//! Every error is [`Error::Parse`] naming the command and the 1-based line number.

use super::text::{line_error, split_key, tokens};
use crate::error::Result;
use crate::model::time::{is_date, is_time, parse_utc};
use crate::model::{GuestConfig, Snapshot, decode_text};

/// Parses `qm config <vmid>` or `pct config <vmid>` (FORMATS.md §1.3, §2.3).
///
/// Each line is `<key>: <value>`. Keys stay in the output's order (PVE prints them sorted
/// byte-wise), except raw `lxc.*` keys (`pct config` only), which are moved after all others
/// keeping their own order, as PVE prints them. `description` is decoded from PVE's `%XX`
/// escaping with [`decode_text`]; every other value is kept as printed (property strings such
/// as `virtio=BC:24:11:..,bridge=vmbr0` are not split). Trailing white space of a value is
/// dropped (PVE's config parser drops it too). A `digest` line, which `qm config` does not
/// print but a caller may pass, goes to [`GuestConfig::digest`]. Blank lines are skipped.
///
/// # Errors
/// `Parse` naming `qm|pct config` and the line when a line is not `key: value`.
pub fn parse_config(text: &str) -> Result<GuestConfig> {
    const CMD: &str = "qm|pct config";
    let mut entries = Vec::new();
    let mut raw_lxc = Vec::new();
    let mut digest = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        let (key, value) = split_key(line)
            .filter(|(k, _)| k.as_bytes()[0].is_ascii_alphabetic())
            .ok_or_else(|| line_error(CMD, i + 1, format!("expected 'key: value', got '{line}'")))?;
        match key {
            "digest" => digest = Some(value.to_owned()),
            "description" => entries.push((key.to_owned(), decode_text(value))),
            k if k.starts_with("lxc.") => raw_lxc.push((key.to_owned(), value.to_owned())),
            _ => entries.push((key.to_owned(), value.to_owned())),
        }
    }
    entries.extend(raw_lxc);
    Ok(GuestConfig { entries, digest })
}

/// The description column: `no-description` (what PVE prints for an empty one) becomes empty.
fn description(s: &str) -> String {
    let s = s.trim();
    if s == "no-description" { String::new() } else { s.to_owned() }
}

/// Parses `qm listsnapshot <vmid>` or `pct listsnapshot <vmid>` (FORMATS.md §1.5, §2.4, §8).
///
/// Tree format (PVE ≥ 5): one line per entry, `` `-> `` after the indentation, then the name,
/// an optional `YYYY-MM-DD HH:MM:SS` and the description's first line (`no-description` when
/// empty, read back as empty). The depth is the number of leading spaces (1, 2 or 4 per level
/// depending on the version); an entry's parent is the nearest line above with fewer leading
/// spaces. The `current` pseudo-entry ("You are here!") is included, without a time.
///
/// `snaptime` is the printed time read **as UTC**, in seconds since the Unix epoch. The CLI
/// prints the node's local time, so the value is exact only when the node's time zone is UTC;
/// otherwise it is off by the node's UTC offset (use the API for exact times). `vmstate` is
/// not shown by the CLI and is always `false`; `description` holds only the first line.
///
/// Flat format (PVE ≤ 4.x, before ~2017): `name parent description` per line, `no-parent`
/// for a root, no time and no `current` entry. The format is chosen by whether any line
/// carries the `` `-> `` marker. Entries keep the output's order; blank lines are skipped.
///
/// # Errors
/// `Parse` naming `qm|pct listsnapshot` and the line when a tree line lacks the marker or a
/// name, or a flat line lacks a parent column.
pub fn parse_listsnapshot(text: &str) -> Result<Vec<Snapshot>> {
    const CMD: &str = "qm|pct listsnapshot";
    let tree = text.lines().any(|l| l.trim_start().starts_with("`->"));
    let mut out = Vec::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        if !tree {
            let toks = tokens(line);
            let [(_, name), (parent_at, parent), ..] = toks.as_slice() else {
                return Err(line_error(CMD, n, format!("expected 'name parent description', got '{line}'")));
            };
            out.push(Snapshot {
                name: (*name).to_owned(),
                parent: (*parent != "no-parent").then(|| (*parent).to_owned()),
                snaptime: None,
                description: description(&line[parent_at + parent.len()..]),
                vmstate: false,
            });
            continue;
        }
        let depth = line.len() - line.trim_start_matches(' ').len();
        let Some(rest) = line[depth..].strip_prefix("`->") else {
            return Err(line_error(CMD, n, format!("expected '`-> name', got '{line}'")));
        };
        let toks = tokens(rest);
        let Some(&(name_at, name)) = toks.first() else {
            return Err(line_error(CMD, n, "no snapshot name after '`->'"));
        };
        let (snaptime, desc_at) = match toks.get(1..3) {
            Some(&[(_, date), (time_at, time)]) if is_date(date) && is_time(time) => {
                let t = parse_utc(date, time).ok_or_else(|| line_error(CMD, n, format!("'{date} {time}' is not a valid time")))?;
                (Some(t), time_at + time.len())
            }
            _ => (None, name_at + name.len()),
        };
        while stack.last().is_some_and(|(d, _)| *d >= depth) {
            stack.pop();
        }
        let parent = stack.last().map(|(_, p)| p.clone());
        stack.push((depth, name.to_owned()));
        out.push(Snapshot { name: name.to_owned(), parent, snaptime, description: description(&rest[desc_at..]), vmstate: false });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_of_known_dates() {
        assert_eq!(parse_utc("1970-01-01", "00:00:00"), Some(0));
        assert_eq!(parse_utc("2000-03-01", "00:00:00"), Some(951_868_800));
        assert_eq!(parse_utc("2026-07-28", "23:08:18"), Some(1_785_280_098));
        assert_eq!(parse_utc("2026-13-01", "00:00:00"), None);
        assert_eq!(parse_utc("1969-12-31", "23:59:59"), None);
    }

    #[test]
    fn config_moves_raw_lxc_last_and_decodes_description() {
        let c = parse_config("arch: amd64\nlxc.apparmor.profile: unconfined\ndescription: a%0Ab%3A c\nswap: 512  \n").expect("parses");
        let keys: Vec<_> = c.entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["arch", "description", "swap", "lxc.apparmor.profile"]);
        assert_eq!(c.get("description"), Some("a\nb: c"));
        assert_eq!(c.get("swap"), Some("512"));
        let err = parse_config("cores: 2\nnot a config line\n").expect_err("bad line");
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn nested_tree_with_old_four_space_indent() {
        // Built by the rules of FORMATS.md §1.5 (2017-2020 layout: 4 spaces per level).
        let text = "`-> a                          2020-01-01 00:00:00     first\n    `-> b                      2020-01-02 00:00:00     no-description\n        `-> current                                    You are here!\n    `-> c                      2020-01-03 00:00:00     third\n";
        let s = parse_listsnapshot(text).expect("parses");
        let rel: Vec<_> = s.iter().map(|e| (e.name.as_str(), e.parent.as_deref())).collect();
        assert_eq!(rel, [("a", None), ("b", Some("a")), ("current", Some("b")), ("c", Some("a"))]);
        assert_eq!(s[1].description, "");
        assert_eq!(s[0].snaptime, Some(1_577_836_800));
        assert_eq!(s[2].snaptime, None);
    }

    #[test]
    fn flat_pre_2017_format() {
        let s =
            parse_listsnapshot("first                no-parent            initial install\nsecond               first                \n")
                .expect("parses");
        assert_eq!((s[0].parent.as_deref(), s[0].description.as_str()), (None, "initial install"));
        assert_eq!((s[1].parent.as_deref(), s[1].description.as_str()), (Some("first"), ""));
        assert!(parse_listsnapshot("lonely\n").is_err());
    }
}
