//! Timestamps as PVE's CLI prints them: `YYYY-MM-DD HH:MM:SS` (`strftime("%F %H:%M:%S")`).
//!
//! The conversion is UTC both ways: the real `qm listsnapshot` prints the node's local time,
//! so a parsed `snaptime` is exact only when the node's time zone is UTC. Calendar arithmetic
//! follows Howard Hinnant's `days_from_civil` / `civil_from_days` algorithms (proleptic
//! Gregorian calendar).

/// Seconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS` in UTC.
pub fn format_utc(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}", rem / 3_600, rem % 3_600 / 60, rem % 60)
}

/// Whether `s` is `YYYY-MM-DD`.
pub fn is_date(s: &str) -> bool {
    s.len() == 10 && s.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() })
}

/// Whether `s` is `HH:MM:SS`.
pub fn is_time(s: &str) -> bool {
    s.len() == 8 && s.bytes().enumerate().all(|(i, b)| if i == 2 || i == 5 { b == b':' } else { b.is_ascii_digit() })
}

/// `YYYY-MM-DD` and `HH:MM:SS` read as UTC, in seconds since the Unix epoch; `None` when
/// either is malformed, a field is out of range, or the time is before 1970.
pub fn parse_utc(date: &str, time: &str) -> Option<u64> {
    if !is_date(date) || !is_time(time) {
        return None;
    }
    let num = |s: &str| s.parse::<i64>().ok();
    let (y, mo, d) = (num(&date[0..4])?, num(&date[5..7])?, num(&date[8..10])?);
    let (h, mi, s) = (num(&time[0..2])?, num(&time[3..5])?, num(&time[6..8])?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = if yy >= 0 { yy } else { yy - 399 } / 400;
    let yoe = yy - era * 400;
    let doy = (153 * ((mo + 9) % 12) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    u64::try_from(days * 86_400 + h * 3_600 + mi * 60 + s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ways() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00");
        assert_eq!(format_utc(1_785_280_098), "2026-07-28 23:08:18");
        assert_eq!(parse_utc("2026-07-28", "23:08:18"), Some(1_785_280_098));
        assert_eq!(parse_utc("2000-02-29", "12:00:00").map(format_utc).as_deref(), Some("2000-02-29 12:00:00"));
        assert_eq!(parse_utc("1969-12-31", "23:59:59"), None);
        assert_eq!(parse_utc("2026-13-01", "00:00:00"), None);
        assert_eq!(parse_utc("2026-1-01", "00:00:00"), None);
    }
}
