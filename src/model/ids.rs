//! Identifier types validated at the edge: `Vmid`, `NodeName`, `SnapshotName`, `StorageId`.
//!
//! Each follows the PVE JSON-schema format of the same name (pve-common
//! `PVE/JSONSchema.pm`: `pve-vmid`, `pve-node`, `pve-configid`, `pve-storage-id`), so bad
//! input is refused before anything runs, locally or remotely.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an identifier was refused; the text reads after "invalid `<kind>`".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} '{value}': {reason}")]
pub struct IdError {
    /// Which identifier type refused it (`vmid`, `node name`, ...).
    pub kind: &'static str,
    /// The rejected input, as given.
    pub value: String,
    /// What the format requires.
    pub reason: &'static str,
}

/// A guest id (`pve-vmid`): an integer from 100 to 999 999 999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Vmid(u32);

impl Vmid {
    /// Smallest vmid PVE accepts.
    pub const MIN: u32 = 100;
    /// Largest vmid PVE accepts.
    pub const MAX: u32 = 999_999_999;

    /// Builds a vmid from a number.
    ///
    /// # Errors
    /// [`IdError`] when `n` is outside `100..=999_999_999`.
    pub fn new(n: u32) -> Result<Self, IdError> {
        if (Self::MIN..=Self::MAX).contains(&n) {
            Ok(Self(n))
        } else {
            Err(IdError { kind: "vmid", value: n.to_string(), reason: "must be an integer from 100 to 999999999" })
        }
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl FromStr for Vmid {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || IdError { kind: "vmid", value: s.to_owned(), reason: "must be an integer from 100 to 999999999" };
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: u32 = s.parse().map_err(|_| bad())?;
        Self::new(n).map_err(|_| bad())
    }
}

impl fmt::Display for Vmid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Vmid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de> Deserialize<'de> for Vmid {
    /// Accepts a number or a numeric string (PVE sends both).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        let s = super::loose::value_string(&v).ok_or_else(|| serde::de::Error::custom("vmid: expected a number"))?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $check:expr, $reason:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let check: fn(&str) -> bool = $check;
                if check(s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(IdError { kind: $kind, value: s.to_owned(), reason: $reason })
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

fn alnum_dash_inner(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

string_id!(
    /// A cluster node name (`pve-node`): letters, digits and inner `-`, at most 63 characters.
    NodeName,
    "node name",
    |s| s.len() <= 63 && alnum_dash_inner(s),
    "a node name is letters, digits and inner '-', at most 63 characters"
);

string_id!(
    /// A snapshot name (`pve-configid`, max 40): starts with a letter, then letters, digits,
    /// `_` or `-`; at least 2 characters. `current` is refused: it names the live state.
    SnapshotName,
    "snapshot name",
    |s| {
        let b = s.as_bytes();
        (2..=40).contains(&b.len())
            && b[0].is_ascii_alphabetic()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
            && s != "current"
    },
    "a snapshot name starts with a letter, then 1-39 letters, digits, '_' or '-', and is not 'current'"
);

string_id!(
    /// A storage id (`pve-storage-id`): starts with a letter, then letters, digits, `-`, `_`, `.`,
    /// ends with a letter or digit.
    StorageId,
    "storage id",
    |s| {
        let b = s.as_bytes();
        b.len() >= 2
            && b[0].is_ascii_alphabetic()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    },
    "a storage id starts with a letter and holds letters, digits, '-', '_' or '.'"
);

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("100", true)]
    #[case("999999999", true)]
    #[case("99", false)]
    #[case("1000000000", false)]
    #[case("10a", false)]
    #[case("+100", false)]
    #[case("", false)]
    #[case("100; rm -rf /", false)]
    fn vmid_validation(#[case] s: &str, #[case] ok: bool) {
        assert_eq!(s.parse::<Vmid>().is_ok(), ok, "{s}");
    }

    #[rstest]
    #[case("pve1", true)]
    #[case("node-b", true)]
    #[case("-a", false)]
    #[case("a b", false)]
    #[case("$(id)", false)]
    #[case("a;b", false)]
    fn node_validation(#[case] s: &str, #[case] ok: bool) {
        assert_eq!(s.parse::<NodeName>().is_ok(), ok, "{s}");
    }

    #[rstest]
    #[case("before-upgrade", true)]
    #[case("pvectl-20261121-101500", true)]
    #[case("a", false)]
    #[case("1abc", false)]
    #[case("current", false)]
    #[case("with space", false)]
    #[case("x'quote", false)]
    fn snapshot_validation(#[case] s: &str, #[case] ok: bool) {
        assert_eq!(s.parse::<SnapshotName>().is_ok(), ok, "{s}");
    }

    #[test]
    fn vmid_deserializes_from_string_or_number() {
        let a: Vmid = serde_json::from_str("\"106\"").expect("string vmid");
        let b: Vmid = serde_json::from_str("106").expect("number vmid");
        assert_eq!(a, b);
        assert!(serde_json::from_str::<Vmid>("5").is_err());
    }
}
