//! Snapshots, as `GET /nodes/{node}/{kind}/{vmid}/snapshot` and `qm|pct listsnapshot` give them.
//!
//! The list holds one entry per snapshot plus the pseudo-entry `current` ("You are here!"),
//! whose `parent` is the snapshot the live state derives from (FORMATS.md §1.5).

use serde::{Deserialize, Serialize};

use super::loose;

/// One snapshot, or the `current` pseudo-entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Snapshot {
    /// Snapshot name; `current` for the live state.
    pub name: String,
    /// Parent snapshot name; `None` for a root.
    #[serde(default, deserialize_with = "loose::opt_string")]
    pub parent: Option<String>,
    /// Creation time, seconds since the Unix epoch; `None` for `current` (or when unset).
    #[serde(default, deserialize_with = "loose::opt_u64")]
    pub snaptime: Option<u64>,
    /// Description (full text; `qm listsnapshot` shows only its first line).
    #[serde(default, deserialize_with = "desc")]
    pub description: String,
    /// Whether RAM state was saved with it (qemu only).
    #[serde(default, deserialize_with = "loose::bool01")]
    pub vmstate: bool,
}

fn desc<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(loose::opt_string(d)?.unwrap_or_default())
}

impl Snapshot {
    /// Whether this is the `current` pseudo-entry rather than a real snapshot.
    pub fn is_current(&self) -> bool {
        self.name == "current"
    }
}
