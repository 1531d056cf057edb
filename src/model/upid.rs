//! Unique process ids of PVE tasks.
//!
//! Layout (pve-common `src/PVE/UPID.pm`, FORMATS.md §0.3):
//! `UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:` with `pid` and `starttime`
//! as 8 hex digits, `pstart` as 8 or 9 hex digits (9 after ~497 days of uptime), `id`
//! possibly empty, `user` possibly an API token `user@realm!token`, and a trailing colon.
//! Encoding writes upper-case hex; decoding accepts either case.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::NodeName;

static UPID_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^UPID:([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$",
    )
    .expect("UPID regex is valid")
});

/// A parsed UPID. `Display` prints the text it was parsed from, byte for byte, because PVE
/// looks the task up by that exact string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Upid {
    text: String,
    /// Node the task runs on.
    pub node: NodeName,
    /// Worker process id.
    pub pid: u32,
    /// Process start time in clock ticks since boot.
    pub pstart: u64,
    /// Task start, seconds since the Unix epoch.
    pub starttime: u64,
    /// Task type, e.g. `qmstart`, `vzdump`.
    pub task_type: String,
    /// Task object id (usually a vmid); may be empty.
    pub id: String,
    /// User (or `user@realm!token`) that started the task.
    pub user: String,
}

/// A string that is not a UPID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unable to parse worker upid '{0}'")]
pub struct UpidError(pub String);

impl Upid {
    /// Builds a UPID from its fields, encoding it as PVE does (upper-case hex, 8 digits, 9 for
    /// a `pstart` above `0xFFFFFFFF`).
    ///
    /// # Errors
    /// [`UpidError`] when `task_type`, `id` or `user` contain `:`, `/` or white space, or
    /// `task_type`/`user` are empty.
    pub fn encode(
        node: &NodeName,
        pid: u32,
        pstart: u64,
        starttime: u32,
        task_type: &str,
        id: &str,
        user: &str,
    ) -> Result<Self, UpidError> {
        let text = format!("UPID:{node}:{pid:08X}:{pstart:08X}:{starttime:08X}:{task_type}:{id}:{user}:");
        text.parse()
    }

    /// The UPID text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for Upid {
    type Err = UpidError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || UpidError(s.to_owned());
        let c = UPID_RE.captures(s).ok_or_else(bad)?;
        let hex = |i: usize| u64::from_str_radix(&c[i], 16).map_err(|_| bad());
        Ok(Self {
            text: s.to_owned(),
            node: c[1].parse().map_err(|_| bad())?,
            pid: u32::try_from(hex(2)?).map_err(|_| bad())?,
            pstart: hex(3)?,
            starttime: hex(4)?,
            task_type: c[5].to_owned(),
            id: c[6].to_owned(),
            user: c[7].to_owned(),
        })
    }
}

impl fmt::Display for Upid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Upid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Upid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    // Upstream test vectors: pve-common test/upid-test.pl (FORMATS.md §0.3).
    #[rstest]
    #[case("UPID:example-node:0000C346:165A0CE4:68D7279C:aptupdate::root@pam:", "aptupdate", "", "root@pam", 0x165A_0CE4)]
    #[case("UPID:example-node:000934AF:0D015579:68BF3A41:hastart:100:root@pam:", "hastart", "100", "root@pam", 0x0D01_5579)]
    #[case(
        "UPID:example-node:000934AF:0D015579:68BF3A41:vzdump:100:91a1da29-a47d-11f0-84e0-fafbfc944d00@pam!some-token:",
        "vzdump",
        "100",
        "91a1da29-a47d-11f0-84e0-fafbfc944d00@pam!some-token",
        0x0D01_5579
    )]
    #[case("UPID:example-node:000934AF:FFFFFFFFF:68BF3A41:hastart:100:root@pam:", "hastart", "100", "root@pam", 0xF_FFFF_FFFF)]
    #[case("UPID:pve:000934af:0d015579:68bf3a41:qmstart:100:root@pam:", "qmstart", "100", "root@pam", 0x0D01_5579)]
    fn parses_upstream_vectors(#[case] s: &str, #[case] ty: &str, #[case] id: &str, #[case] user: &str, #[case] pstart: u64) {
        let u: Upid = s.parse().expect("valid upid");
        assert_eq!(u.task_type, ty);
        assert_eq!(u.id, id);
        assert_eq!(u.user, user);
        assert_eq!(u.pstart, pstart);
        assert_eq!(u.to_string(), s, "prints what it parsed");
    }

    #[rstest]
    #[case("invalid garbage")]
    #[case("UPID:example-node:000934AF:0D015579:68BF3A41:ha start:100:root@pam:")]
    #[case("UPID:example-node:000934AF:0D015579:68BF3A41:hastart:100:root@pam")]
    #[case("UPID:example-node:934AF:0D015579:68BF3A41:hastart:100:root@pam:")]
    fn rejects_malformed(#[case] s: &str) {
        assert!(s.parse::<Upid>().is_err(), "{s}");
    }

    #[test]
    fn encode_uses_upper_hex_and_nine_digit_pstart() {
        let node: NodeName = "pve1".parse().expect("node");
        let u = Upid::encode(&node, 0xab, 0x1_0000_0000, 0x68bf_3a41, "qmstart", "100", "root@pam").expect("encodes");
        assert_eq!(u.as_str(), "UPID:pve1:000000AB:100000000:68BF3A41:qmstart:100:root@pam:");
        assert_eq!(u.starttime, 0x68bf_3a41);
    }
}
