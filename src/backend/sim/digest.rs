//! Stable hex digests for the simulator's `digest` fields and made-up fingerprints.
//!
//! PVE's config `digest` is the SHA-1 of the config file; clients only compare it for
//! equality, so the simulator uses a cheap deterministic hash of the content with the same
//! shape (40 lower-case hex digits). It is not SHA-1 and must not be used for security.

use std::fmt::Write as _;

/// `len` lower-case hex digits derived from `data` (FNV-1a, one lane per 16 digits).
pub(crate) fn hex_digest(data: &[u8], len: usize) -> String {
    let mut out = String::with_capacity(len + 16);
    let mut lane: u64 = 0;
    while out.len() < len {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ lane.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for &b in data {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        let _ = write!(out, "{h:016x}");
        lane += 1;
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_stable_and_sized() {
        let a = hex_digest(b"memory: 2048", 40);
        assert_eq!(a.len(), 40);
        assert_eq!(a, hex_digest(b"memory: 2048", 40));
        assert_ne!(a, hex_digest(b"memory: 4096", 40));
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }
}
