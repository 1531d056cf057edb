//! Untrusted text kept as data (STYLE.md 27): a short quoted excerpt for error messages, and
//! control characters made visible for terminal tables. Names, descriptions, tool output and
//! HTTP bodies all pass through here before they reach a terminal.

use std::fmt::Write as _;

/// `s` quoted and escaped as Rust debug text (`"a\u{1b}[2J"`), cut to at most `max`
/// characters of content with `…` marking the cut: safe to print inside an error message.
pub fn excerpt(s: &str, max: usize) -> String {
    let mut cut: String = s.chars().take(max).collect();
    if cut.len() < s.len() {
        cut.push('…');
    }
    format!("{cut:?}")
}

/// At most `max` bytes of the start of `s`, cut at a character boundary and marked with `…`:
/// for PVE's texts inside error messages, whose meaning is at the start (the CLI escapes
/// control characters when it prints them).
pub fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// `s` with every control character (ESC, BEL, CR, LF, TAB, DEL, the C1 range, and the
/// bidirectional overrides that reorder a line) replaced by its `\u{..}` escape, so a table
/// cell cannot move the cursor, ring the bell or rewrite the line.
pub fn escape_control(s: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !s.chars().any(bad) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if bad(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short_and_quoted() {
        assert_eq!(excerpt("abc", 10), "\"abc\"");
        assert_eq!(excerpt("abcdef", 3), "\"abc…\"");
        assert_eq!(excerpt("a\u{1b}[2Jb", 10), "\"a\\u{1b}[2Jb\"");
    }

    #[test]
    fn clips_keep_the_start_at_a_character_boundary() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("aé", 2), "a…");
        assert_eq!(clip(&"x".repeat(1 << 20), 200).len(), 200 + '…'.len_utf8());
    }

    #[test]
    fn control_characters_are_made_visible() {
        assert_eq!(escape_control("web01"), "web01");
        assert_eq!(escape_control("a\u{1b}[31mb\u{7}\r\n"), "a\\u{1b}[31mb\\u{7}\\u{d}\\u{a}");
        assert_eq!(escape_control("x\u{202e}y\u{9b}"), "x\\u{202e}y\\u{9b}");
    }
}
