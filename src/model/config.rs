//! Guest configuration: ordered `key: value` entries.
//!
//! Sources: `GET /nodes/{node}/{kind}/{vmid}/config` (JSON object; raw `lxc` keys as
//! `[[key, value], ...]`) and `qm config` / `pct config` text (FORMATS.md §1.3, §2.3). Keys keep
//! PVE's byte-wise order with raw `lxc.*` keys last; `digest` is kept apart; `description` is
//! stored unescaped.

use std::fmt::Write as _;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::loose;

/// A guest's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestConfig {
    /// Entries in PVE's order: sorted keys, then raw `lxc.*` keys in file order.
    pub entries: Vec<(String, String)>,
    /// The config digest, when the source gave one.
    pub digest: Option<String>,
}

impl GuestConfig {
    /// Value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Builds a config from the API JSON object. Numbers become their decimal text;
    /// the raw `lxc` array becomes `lxc.* ` entries at the end.
    pub fn from_api(obj: &serde_json::Map<String, Value>) -> Self {
        let mut entries: Vec<(String, String)> = Vec::new();
        let mut raw_lxc = Vec::new();
        let mut digest = None;
        for (k, v) in obj {
            match (k.as_str(), v) {
                ("digest", v) => digest = loose::value_string(v),
                ("lxc", Value::Array(items)) => {
                    for item in items {
                        if let Some([key, val]) = item.as_array().map(Vec::as_slice)
                            && let (Some(key), Some(val)) = (loose::value_string(key), loose::value_string(val))
                        {
                            raw_lxc.push((key, val));
                        }
                    }
                }
                (_, v) => {
                    if let Some(s) = loose::value_string(v) {
                        entries.push((k.clone(), s));
                    }
                }
            }
        }
        entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        entries.extend(raw_lxc);
        Self { entries, digest }
    }
}

impl Serialize for GuestConfig {
    /// A JSON object in entry order; `digest` included when known.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.entries.len() + usize::from(self.digest.is_some())))?;
        for (k, v) in &self.entries {
            m.serialize_entry(k, v)?;
        }
        if let Some(d) = &self.digest {
            m.serialize_entry("digest", d)?;
        }
        m.end()
    }
}

/// Decodes PVE's description escaping (`PVE::Tools::encode_text`: `%XX` of UTF-8 bytes,
/// e.g. `%0A` newline, `%3A` colon, `%25` percent). Invalid escapes are kept as they are.
pub fn decode_text(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes a description as `qm config` prints it: every byte outside
/// `[\x20-\x24\x26-\x39\x3b-\x7e]` becomes `%XX` (pve-common `PVE/Tools.pm` `encode_text`).
pub fn encode_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if matches!(c, 0x20..=0x24 | 0x26..=0x39 | 0x3b..=0x7e) {
            out.push(char::from(c));
        } else {
            let _ = write!(out, "%{c:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_escapes_round_trip() {
        let s = "line one\nhttps://x: 100% ok ü";
        let e = encode_text(s);
        assert_eq!(e, "line one%0Ahttps%3A//x%3A 100%25 ok %C3%BC");
        assert_eq!(decode_text(&e), s);
        assert_eq!(decode_text("50%"), "50%");
        assert_eq!(decode_text("%zz"), "%zz");
    }

    #[test]
    fn api_config_sorted_bytewise_with_lxc_last() {
        let v = serde_json::json!({"net2": "a", "net10": "b", "cores": 2, "digest": "abc",
            "lxc": [["lxc.cgroup2.devices.allow", "c 226:0 rwm"]]});
        let c = GuestConfig::from_api(v.as_object().expect("object"));
        let keys: Vec<_> = c.entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["cores", "net10", "net2", "lxc.cgroup2.devices.allow"]);
        assert_eq!(c.get("cores"), Some("2"));
        assert_eq!(c.digest.as_deref(), Some("abc"));
    }
}
