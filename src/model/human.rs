//! Sizes and durations as PVE's task logs print them, read back into bytes and seconds.
//!
//! Two size conventions occur, both 1024-based:
//! - vzdump's own `format_size` (pve-manager `PVE/VZDump.pm:225-244`, the `archive file size:`
//!   line): `<int>KB`, `<int>MB` (truncated), `<x.xx>GB`, `<x.xx>TB`, no space, powers of 1024
//!   despite the SI-looking unit names;
//! - pve-common `PVE::Format::render_bytes` (`src/PVE/Format.pm:66-80`, QMP backup progress,
//!   drive-mirror, `qemu-img convert` progress): `<x.x> B|KiB|MiB|GiB|TiB|PiB`, one space;
//!   proxmox-backup-client prints the same IEC units (`535.214 MiB`).
//!
//! A printed size is rounded, so the bytes read back are approximate (within the printed
//! precision). rsync's `9.35M` (1000-based with one `-h`) is not accepted: the unit letter
//! alone does not say which base it is.
//!
//! Durations: vzdump's `format_time` (`HH:MM:SS`, hours not wrapped at 24; VZDump.pm:246-255)
//! and `render_duration` (`1w 2d 3h 4m 5s`, `0s`; Format.pm:32-58).

/// Bytes of a human-readable size: `1.60GB`, `189MB`, `4.9 GiB`, `628.00 MiB`, `0.0 B`,
/// `131072 bytes`. Units are 1024-based (see module docs); `None` for anything else.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    if num.is_empty() || num.starts_with('.') {
        return None;
    }
    let value: f64 = num.parse().ok()?;
    let power = match unit.trim_start() {
        "" | "B" | "bytes" | "byte" => 0,
        "KB" | "KiB" => 1,
        "MB" | "MiB" => 2,
        "GB" | "GiB" => 3,
        "TB" | "TiB" => 4,
        "PB" | "PiB" => 5,
        _ => return None,
    };
    let bytes = (value * 1024_f64.powi(power)).round();
    if !(0.0..=1.8e19).contains(&bytes) {
        return None;
    }
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "checked finite, non-negative and below u64::MAX")]
    let b = bytes as u64;
    Some(b)
}

/// Seconds of vzdump's `HH:MM:SS` (`00:00:22`, `123:04:05`).
pub fn parse_hms(s: &str) -> Option<u64> {
    let mut parts = s.trim().split(':');
    let (h, m, sec) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || [h, m, sec].iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let (h, m, sec): (u64, u64, u64) = (h.parse().ok()?, m.parse().ok()?, sec.parse().ok()?);
    if m >= 60 || sec >= 60 {
        return None;
    }
    Some(h * 3600 + m * 60 + sec)
}

/// Seconds of `render_duration`'s `1w 2d 3h 4m 5s` (any subset, in that order; `0s`).
pub fn parse_duration(s: &str) -> Option<u64> {
    let mut total = 0u64;
    let mut seen = false;
    for part in s.split_whitespace() {
        let unit_at = part.find(|c: char| !c.is_ascii_digit())?;
        let (n, unit) = part.split_at(unit_at);
        let n: u64 = n.parse().ok()?;
        let mult = match unit {
            "w" => 7 * 86_400,
            "d" => 86_400,
            "h" => 3600,
            "m" => 60,
            "s" => 1,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(mult)?)?;
        seen = true;
    }
    seen.then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("189MB", Some(189 * 1_048_576))]
    #[case("1.60GB", Some(1_717_986_918))]
    #[case("18.64GB", Some(20_014_547_599))]
    #[case("512KB", Some(524_288))]
    #[case("4.9 GiB", Some(5_261_334_938))]
    #[case("628.00 MiB", Some(658_505_728))]
    #[case("0.0 B", Some(0))]
    #[case("131072 bytes", Some(131_072))]
    #[case("535.214 MiB", Some(561_212_555))]
    #[case("9.35M", None)]
    #[case("GB", None)]
    #[case("1.2.3 GB", None)]
    #[case("", None)]
    fn sizes(#[case] s: &str, #[case] bytes: Option<u64>) {
        assert_eq!(parse_size(s), bytes, "{s}");
    }

    #[rstest]
    #[case("00:00:22", Some(22))]
    #[case("00:01:04", Some(64))]
    #[case("26:00:01", Some(93_601))]
    #[case("00:61:00", None)]
    #[case("1:2", None)]
    fn hms(#[case] s: &str, #[case] secs: Option<u64>) {
        assert_eq!(parse_hms(s), secs, "{s}");
    }

    #[rstest]
    #[case("0s", Some(0))]
    #[case("7m 45s", Some(465))]
    #[case("1w 2d 3h", Some(788_400))]
    #[case("3 s", None)]
    #[case("", None)]
    fn durations(#[case] s: &str, #[case] secs: Option<u64>) {
        assert_eq!(parse_duration(s), secs, "{s}");
    }
}
