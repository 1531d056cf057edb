//! Rendering: data to stdout as a table or one JSON document; errors to stderr as a headline
//! with a `caused by:` chain, or as `{"error": {...}}` with `-o json`. A closed stdout (broken
//! pipe) is not an error.

use std::io::{self, Write};

use serde::Serialize;
use tabled::builder::Builder;
use tabled::settings::Style;

use super::args::OutputFormat;
use crate::error::Error;

/// A table: header and rows of cells.
#[derive(Debug, Default)]
pub(crate) struct Table {
    /// Column titles.
    pub(crate) header: Vec<&'static str>,
    /// Rows, each as long as the header.
    pub(crate) rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these columns.
    pub(crate) fn new(header: &[&'static str]) -> Self {
        Self { header: header.to_vec(), rows: Vec::new() }
    }

    /// Appends a row.
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The rendered text, columns aligned, no borders, ending in a newline. Control
    /// characters in cells are shown as `\u{..}` escapes: a guest name or description cannot
    /// move the cursor or rewrite the line.
    pub(crate) fn render(&self) -> String {
        let mut b = Builder::default();
        b.push_record(self.header.iter().map(|s| (*s).to_owned()));
        for r in &self.rows {
            b.push_record(r.iter().map(|c| crate::model::escape_control(c).into_owned()));
        }
        let mut t = b.build();
        t.with(Style::blank());
        let mut s = t.to_string().lines().map(str::trim_end).collect::<Vec<_>>().join("\n");
        s.push('\n');
        s
    }
}

/// What a command printed while its output was captured ([`capturing`]): the last data
/// [`print`] was given, as JSON and as the table it renders to, and any other text.
#[derive(Debug, Default)]
pub(crate) struct Capture {
    /// The data, as `-o json` would print it.
    pub(crate) value: Option<serde_json::Value>,
    /// The data as a table.
    pub(crate) table: Option<Table>,
    /// Text written to stdout directly (not through [`print`]).
    pub(crate) text: String,
}

tokio::task_local! {
    /// Set while a fleet member runs: stdout goes here instead.
    static CAPTURE: std::cell::RefCell<Capture>;
}

/// Runs `f` with its stdout captured: a fleet runs the same handler on every target and
/// prints their data together.
pub(crate) async fn capturing<F: Future>(f: F) -> (F::Output, Capture) {
    CAPTURE
        .scope(std::cell::RefCell::new(Capture::default()), async move {
            let out = f.await;
            (out, CAPTURE.with(std::cell::RefCell::take))
        })
        .await
}

/// Writes to stdout, treating a broken pipe as success.
///
/// # Errors
/// Other I/O errors, as `Internal`.
pub(crate) fn emit(text: &str) -> Result<(), Error> {
    if CAPTURE.try_with(|c| c.borrow_mut().text.push_str(text)).is_ok() {
        return Ok(());
    }
    let text = crate::redact::redact(text);
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Error::Internal(format!("failed to write output: {e}"))),
        _ => Ok(()),
    }
}

/// Prints `data` as JSON, or the table `table` builds from it.
///
/// # Errors
/// As [`emit`]; `Internal` if the value cannot be serialised.
pub(crate) fn print<T: Serialize + ?Sized>(format: OutputFormat, data: &T, table: impl FnOnce(&T) -> Table) -> Result<(), Error> {
    if CAPTURE.try_with(|_| ()).is_ok() {
        let value = serde_json::to_value(data).map_err(|e| Error::Internal(format!("failed to serialise output: {e}")))?;
        let table = table(data);
        CAPTURE.with(|c| {
            let mut c = c.borrow_mut();
            c.value = Some(value);
            c.table = Some(table);
        });
        return Ok(());
    }
    match format {
        OutputFormat::Json => {
            // Streamed: a 100,000-guest list is never held twice (as records and as text).
            let mut out = LineRedactor { inner: io::BufWriter::new(io::stdout().lock()), line: Vec::new() };
            let written = serde_json::to_writer_pretty(&mut out, data).map_err(io::Error::from).and_then(|()| {
                out.write_all(b"\n")?;
                out.flush()
            });
            match written {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Error::Internal(format!("failed to write output: {e}"))),
                _ => Ok(()),
            }
        }
        OutputFormat::Table => emit(&table(data).render()),
    }
}

/// A writer that passes whole lines through [`crate::redact::redact`]: JSON strings hold no
/// raw newline, so a secret never spans two lines of pretty JSON.
struct LineRedactor<W: Write> {
    inner: W,
    line: Vec<u8>,
}

impl<W: Write> LineRedactor<W> {
    fn write_line(&mut self) -> io::Result<()> {
        let text = String::from_utf8_lossy(&self.line);
        self.inner.write_all(crate::redact::redact(&text).as_bytes())?;
        self.line.clear();
        Ok(())
    }
}

impl<W: Write> Write for LineRedactor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for chunk in buf.split_inclusive(|b| *b == b'\n') {
            self.line.extend_from_slice(chunk);
            if chunk.ends_with(b"\n") {
                self.write_line()?;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.line.is_empty() {
            self.write_line()?;
        }
        self.inner.flush()
    }
}

/// Prints an error on stderr: `error: <headline>`, then `  caused by: <source>` lines and a
/// hint (`error:` in red, the rest dimmed, when `color`); with `-o json`, one line
/// `{"error": {"kind", "message", "hint", "exit_code"}}`, never coloured.
pub(crate) fn print_error(format: OutputFormat, err: &Error, color: bool) {
    let paint = |code: &str, text: &str| if color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() };
    let mut chain = Vec::new();
    let mut src = std::error::Error::source(err);
    while let Some(s) = src {
        chain.push(s.to_string());
        src = s.source();
    }
    let mut stderr = io::stderr().lock();
    let chain: Vec<String> = chain.iter().map(|c| crate::redact::redact(c).into_owned()).collect();
    let headline = crate::redact::redact(&err.to_string()).into_owned();
    match format {
        OutputFormat::Json => {
            let mut message = headline.clone();
            for c in &chain {
                message.push_str(": ");
                message.push_str(c);
            }
            let v =
                serde_json::json!({"error": {"kind": err.kind(), "message": message, "hint": err.hint(), "exit_code": err.exit_code()}});
            let _ = writeln!(stderr, "{v}");
        }
        OutputFormat::Table => {
            let _ = writeln!(stderr, "{} {}", paint("1;31", "error:"), escape_lines(&headline));
            for c in &chain {
                let _ = writeln!(stderr, "  {} {}", paint("2", "caused by:"), escape_lines(c));
            }
            if let Some(h) = err.hint() {
                let _ = writeln!(stderr, "  {}", paint("2", &format!("hint: {h}")));
            }
        }
    }
}

/// `{"kind", "message", "exit_code"}` of an error: the headline and its causes, redacted.
pub(crate) fn error_value(err: &Error) -> serde_json::Value {
    let mut message = err.to_string();
    let mut src = std::error::Error::source(err);
    while let Some(s) = src {
        message.push_str(": ");
        message.push_str(&s.to_string());
        src = s.source();
    }
    let message = crate::redact::redact(&message).into_owned();
    serde_json::json!({"kind": err.kind(), "message": message, "exit_code": err.exit_code()})
}

/// Each line of `s` with its control characters escaped; the line breaks kept.
pub(crate) fn escape_lines(s: &str) -> String {
    s.lines().map(crate::model::escape_control).collect::<Vec<_>>().join("\n")
}

/// Bytes as a human size with binary units (`1.50 GiB`); `-` when unknown.
pub(crate) fn bytes(v: Option<u64>) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let Some(v) = v else { return "-".into() };
    #[expect(clippy::cast_precision_loss, reason = "display only")]
    let mut f = v as f64;
    let mut i = 0;
    while f >= 1024.0 && i + 1 < UNITS.len() {
        f /= 1024.0;
        i += 1;
    }
    if i == 0 { format!("{v} B") } else { format!("{f:.2} {}", UNITS[i]) }
}

/// A fraction as a percentage (`12.5%`); `-` when unknown.
pub(crate) fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |f| format!("{:.1}%", f * 100.0))
}

/// Seconds as `3d 4h 5m` (largest three units); `-` when unknown.
pub(crate) fn duration(v: Option<u64>) -> String {
    let Some(s) = v else { return "-".into() };
    if s == 0 {
        return "0s".into();
    }
    let parts = [(s / 86_400, "d"), (s / 3600 % 24, "h"), (s / 60 % 60, "m"), (s % 60, "s")];
    parts.iter().filter(|(n, _)| *n > 0).take(3).map(|(n, u)| format!("{n}{u}")).collect::<Vec<_>>().join(" ")
}

/// `yes` or `no`.
pub(crate) fn yes_no(b: bool) -> String {
    if b { "yes".into() } else { "no".into() }
}

/// An optional text or `-`.
pub(crate) fn opt(v: Option<&str>) -> String {
    v.filter(|s| !s.is_empty()).unwrap_or("-").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(bytes(Some(512)), "512 B");
        assert_eq!(bytes(Some(2 * 1024 * 1024 * 1024)), "2.00 GiB");
        assert_eq!(bytes(None), "-");
        assert_eq!(percent(Some(0.125)), "12.5%");
        assert_eq!(duration(Some(90_061)), "1d 1h 1m");
        assert_eq!(duration(Some(59)), "59s");
    }

    #[test]
    fn streamed_json_is_redacted_line_by_line_even_across_writes() {
        crate::redact::register("streamed-secret-4711");
        let mut out = LineRedactor { inner: Vec::new(), line: Vec::new() };
        out.write_all(b"{\n  \"a\": \"x streamed-se").expect("write");
        out.write_all(b"cret-4711 y\"\n}").expect("write");
        out.flush().expect("flush");
        assert_eq!(String::from_utf8(out.inner).expect("utf-8"), "{\n  \"a\": \"x *** y\"\n}");
    }

    #[test]
    fn table_aligns_without_trailing_space() {
        let mut t = Table::new(&["VMID", "NAME"]);
        t.row(vec!["100".into(), "web".into()]);
        t.row(vec!["1000".into(), "x".into()]);
        let s = t.render();
        assert!(s.lines().all(|l| !l.ends_with(' ')), "{s:?}");
        assert_eq!(s.lines().count(), 3);
    }
}
