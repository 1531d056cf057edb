//! Disk sizes in PVE's own units: the `size=` of a drive string and the argument of a resize.
//!
//! Both use binary units (K = 1024). A drive's `size` is written by pve-common
//! `JSONSchema::format_size` (`32G`, `4M`, `528K`, or plain bytes when no unit divides it) and
//! read by `parse_size` (`^(\d+(\.\d+)?)([KMGT])?$`). A resize argument is qemu-server's
//! `resize_vm` syntax (`src/PVE/API2/Qemu.pm`, `^(\+)?(\d+(\.\d+)?)([KMGT])?$`): a leading `+`
//! grows by that much, otherwise it is the new absolute size. PVE computes
//! `int(current + n)` (or `int(n)`), refuses a result below the current size with
//! `shrinking disks is not supported` (pve-container: `unable to shrink disk size`), and does
//! nothing when it equals the current size (OPERATIONS.md fact 18).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Why a size text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid disk size '{0}': expected [+]<number>[K|M|G|T], as PVE's resize takes it")]
pub struct SizeError(pub String);

/// Bytes of `<number>[KMGT]` (binary units, fractions allowed, truncated to whole bytes as
/// Perl's `int` does); `None` for anything else, including a sign, a blank or `KiB`.
pub fn parse_pve_size(s: &str) -> Option<u64> {
    let (num, unit) = match s.as_bytes().last()? {
        b'K' => (&s[..s.len() - 1], 1u64 << 10),
        b'M' => (&s[..s.len() - 1], 1 << 20),
        b'G' => (&s[..s.len() - 1], 1 << 30),
        b'T' => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    let (int, frac) = num.split_once('.').map_or((num, None), |(i, f)| (i, Some(f)));
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    let whole = int.parse::<u64>().ok()?.checked_mul(unit)?;
    let Some(frac) = frac else { return Some(whole) };
    // The fractional part in exact integer arithmetic: floor(0.frac * unit), up to 18 digits.
    let frac = &frac[..frac.len().min(18)];
    let scale = 10u128.pow(u32::try_from(frac.len()).ok()?);
    let part = u128::from(frac.parse::<u64>().ok()?) * u128::from(unit) / scale;
    whole.checked_add(u64::try_from(part).ok()?)
}

/// The `size=` of a drive or mount point string (`nas:100/vm-100-disk-0.qcow2,iothread=1,size=32G`),
/// in bytes; `None` when the string has no (valid) `size` option.
pub fn drive_size(drive: &str) -> Option<u64> {
    drive.split(',').skip(1).find_map(|opt| opt.strip_prefix("size=")).and_then(parse_pve_size)
}

/// PVE's text of a byte count, as `format_size` writes it into a drive string: the largest of
/// `T`, `G`, `M`, `K` that divides it, else plain bytes.
pub fn format_pve_size(bytes: u64) -> String {
    for (unit, shift) in [("T", 40), ("G", 30), ("M", 20), ("K", 10)] {
        if bytes != 0 && bytes.is_multiple_of(1u64 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// A disk resize as PVE's `size` parameter expresses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ResizeRequest {
    /// `+N`: grow by `bytes`; otherwise `bytes` is the new size.
    pub relative: bool,
    /// Bytes (units applied, fraction truncated).
    pub bytes: u64,
}

impl ResizeRequest {
    /// The size PVE would set (`int(current + n)` or `int(n)`), saturating.
    pub fn new_size(self, current: u64) -> u64 {
        new_size(current, self)
    }

    /// Whether PVE would refuse it with `shrinking disks is not supported`.
    pub fn is_shrink(self, current: u64) -> bool {
        is_shrink(current, self)
    }

    /// Whether PVE would do nothing (the new size is the current one).
    pub fn is_noop(self, current: u64) -> bool {
        new_size(current, self) == current
    }
}

impl FromStr for ResizeRequest {
    type Err = SizeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (relative, rest) = s.strip_prefix('+').map_or((false, s), |r| (true, r));
        let bytes = parse_pve_size(rest).ok_or_else(|| SizeError(s.to_owned()))?;
        Ok(Self { relative, bytes })
    }
}

impl fmt::Display for ResizeRequest {
    /// The argument PVE takes (`+1G`, `34359738368` -> `32G`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", if self.relative { "+" } else { "" }, format_pve_size(self.bytes))
    }
}

/// The size, bytes, PVE would give a disk of `current` bytes for `req`.
pub fn new_size(current: u64, req: ResizeRequest) -> u64 {
    if req.relative { current.saturating_add(req.bytes) } else { req.bytes }
}

/// Whether `req` would shrink a disk of `current` bytes (PVE refuses; only an absolute size
/// can be smaller).
pub fn is_shrink(current: u64, req: ResizeRequest) -> bool {
    new_size(current, req) < current
}

/// The resize worker's refusal in a task exit status or in the output of `qm disk resize` /
/// `pct resize` (which exit 0 even when the task failed, OPERATIONS.md fact 18): the first
/// line that is one of qemu-server's or pve-container's `resize_vm` errors.
pub fn resize_failure(text: &str) -> Option<&str> {
    text.lines().map(str::trim).find(|l| {
        *l == "shrinking disks is not supported"
            || *l == "unable to shrink disk size"
            || *l == "you can't resize a cdrom"
            || (l.starts_with("disk '") && (l.ends_with("' does not exist") || l.ends_with("' has no associated volume")))
            || l.starts_with("Could not determine current size of volume '")
            || l.starts_with("unable to resize")
    })
}

/// Whether a resize failure text is PVE refusing to shrink (qemu or container wording).
pub fn is_shrink_refusal(text: &str) -> bool {
    text.contains("shrinking disks is not supported") || text.contains("unable to shrink disk size")
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: u64 = 1 << 30;

    #[test]
    fn pve_sizes() {
        assert_eq!(parse_pve_size("32G"), Some(32 * G));
        assert_eq!(parse_pve_size("1.5G"), Some(G + G / 2));
        assert_eq!(parse_pve_size("0.1K"), Some(102));
        assert_eq!(parse_pve_size("4194304"), Some(4_194_304));
        for bad in ["", "G", "1GiB", "-1G", "1.G", ".5G", "1 G", "1g"] {
            assert_eq!(parse_pve_size(bad), None, "{bad}");
        }
        assert_eq!(drive_size("nas:100/vm-100-disk-0.qcow2,iothread=1,size=32G"), Some(32 * G));
        assert_eq!(drive_size("local-lvm:vm-100-disk-0,size=4M"), Some(4 << 20));
        assert_eq!(drive_size("size=32G"), None, "the first part is the volume, not an option");
        assert_eq!(drive_size("local:iso/x.iso,media=cdrom"), None);
        assert_eq!(format_pve_size(32 * G), "32G");
        assert_eq!(format_pve_size(1536 << 20), "1536M");
        assert_eq!(format_pve_size(1000), "1000");
    }

    #[test]
    fn resize_requests() {
        let grow: ResizeRequest = "+10G".parse().expect("valid");
        assert_eq!(grow, ResizeRequest { relative: true, bytes: 10 * G });
        assert_eq!((grow.new_size(32 * G), grow.is_shrink(32 * G)), (42 * G, false));
        let abs: ResizeRequest = "16G".parse().expect("valid");
        assert!(abs.is_shrink(32 * G));
        assert!(abs.is_noop(16 * G));
        assert_eq!(abs.to_string(), "16G");
        assert!("+".parse::<ResizeRequest>().is_err());
        assert!("++1G".parse::<ResizeRequest>().is_err());
        assert!("-1G".parse::<ResizeRequest>().is_err());
        assert_eq!(
            resize_failure("  Size of logical volume pve/x changed.\ndisk 'scsi9' does not exist\n"),
            Some("disk 'scsi9' does not exist")
        );
        assert_eq!(resize_failure("Image resized."), None);
    }
}
