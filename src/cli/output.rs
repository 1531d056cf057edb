//! Rendering: data to stdout as a table or one JSON document; errors to stderr as a headline
//! with a `caused by:` chain, or as `{"error": {...}}` with `-o json`. A closed stdout (broken
//! pipe) is not an error.

use std::io::{self, Write};

use serde::Serialize;
use tabled::builder::Builder;
use tabled::settings::Style;

use super::args::OutputFormat;
use crate::error::Error;

/// How tables look, decided once per run (`-o wide`, `--sort`, `--no-headers`, `--color`)
/// and read by the one renderer, so every listing gets them without each handler passing
/// them on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TableStyle {
    /// `-o wide`: also the columns marked [`Table::wide_only`].
    pub(crate) wide: bool,
    /// `--sort FIELD`: a column name, lower case; rows ascend by it.
    pub(crate) sort: Option<String>,
    /// `--no-headers`: rows only.
    pub(crate) no_headers: bool,
    /// Colour the `STATUS` (or `SEVERITY`) column (stdout is a terminal and `NO_COLOR` unset,
    /// or `--color always`).
    pub(crate) color: bool,
}

impl TableStyle {
    /// The style the global arguments ask for; `--color auto` colours when stdout is a
    /// terminal and `NO_COLOR` is unset.
    pub(crate) fn from_args(g: &super::args::GlobalArgs) -> Self {
        use std::io::IsTerminal as _;
        let color = match g.color {
            super::args::ColorChoice::Always => true,
            super::args::ColorChoice::Never => false,
            super::args::ColorChoice::Auto => io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        };
        Self { wide: g.output_choice == Some(super::args::OutputChoice::Wide), sort: g.sort.clone(), no_headers: g.no_headers, color }
    }
}

/// The style of the current run. Process-wide: fleet members run on spawned tasks, and
/// every table of one run looks the same; each [`super::run`] sets it anew.
static STYLE: std::sync::RwLock<Option<TableStyle>> = std::sync::RwLock::new(None);

/// Sets the run's table style.
pub(crate) fn set_style(style: TableStyle) {
    *STYLE.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(style);
}

/// The run's table style (plain tables when none was set).
fn style() -> TableStyle {
    STYLE.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone().unwrap_or_default()
}

/// A table: header and rows of cells.
#[derive(Debug, Default)]
pub(crate) struct Table {
    /// Column titles.
    pub(crate) header: Vec<&'static str>,
    /// Rows, each as long as the header.
    pub(crate) rows: Vec<Vec<String>>,
    /// Columns shown only with `-o wide` (they can still be sorted by).
    wide: Vec<&'static str>,
}

impl Table {
    /// A table with these columns.
    pub(crate) fn new(header: &[&'static str]) -> Self {
        Self { header: header.to_vec(), rows: Vec::new(), wide: Vec::new() }
    }

    /// Marks columns shown only with `-o wide`; rows still carry their cells.
    #[must_use]
    pub(crate) fn wide_only(mut self, columns: &[&'static str]) -> Self {
        self.wide.extend_from_slice(columns);
        self
    }

    /// An empty table with a `first` column before this table's columns (same wide-only
    /// columns): a fleet's merged table.
    pub(crate) fn prefixed(&self, first: &'static str) -> Self {
        let mut header = vec![first];
        header.extend(&self.header);
        Self { header, rows: Vec::new(), wide: self.wide.clone() }
    }

    /// Appends a row.
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The names `--sort` accepts for this table: its column titles in lower case.
    pub(crate) fn sort_fields(&self) -> Vec<String> {
        self.header.iter().map(|h| h.to_lowercase()).collect()
    }

    /// The index of the `--sort` column.
    ///
    /// # Errors
    /// `Usage` naming the valid fields when `field` is not a column of this table.
    pub(crate) fn sort_column(&self, field: &str) -> Result<usize, Error> {
        let fields = self.sort_fields();
        fields.iter().position(|f| f.eq_ignore_ascii_case(field)).ok_or_else(|| {
            Error::Usage(format!(
                "--sort {}: not a column of this listing; valid: {}",
                crate::model::clip(&crate::model::escape_control(field), 40),
                fields.join(", ")
            ))
        })
    }

    /// Row indexes in `--sort` order (stable; unknown values first), or as they are.
    fn order(&self, sort: Option<&str>) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.rows.len()).collect();
        if let Some(col) = sort.and_then(|f| self.sort_column(f).ok()) {
            let keys: Vec<SortKey> = self.rows.iter().map(|r| SortKey::of(r.get(col).map_or("", String::as_str))).collect();
            order.sort_by(|a, b| keys[*a].cmp(&keys[*b]));
        }
        order
    }

    /// The rendered text in the run's style ([`set_style`]).
    pub(crate) fn render(&self) -> String {
        self.render_with(&style())
    }

    /// The rendered text, columns aligned, no borders, ending in a newline: wide-only columns
    /// left out unless `style.wide`, rows sorted, the header left out with `no_headers`, the
    /// `STATUS` column coloured with `color`. Control characters in cells are shown as
    /// `\u{..}` escapes: a guest name or description cannot move the cursor or rewrite the
    /// line (the colour codes are added after escaping).
    pub(crate) fn render_with(&self, style: &TableStyle) -> String {
        let shown: Vec<usize> = (0..self.header.len()).filter(|i| style.wide || !self.wide.contains(&self.header[*i])).collect();
        let status = self.header.iter().position(|h| matches!(*h, "STATUS" | "SEVERITY"));
        let mut b = Builder::default();
        if !style.no_headers {
            b.push_record(shown.iter().map(|i| self.header[*i].to_owned()));
        }
        for r in self.order(style.sort.as_deref()) {
            let row = &self.rows[r];
            b.push_record(shown.iter().map(|i| {
                let cell = crate::model::escape_control(row.get(*i).map_or("", String::as_str)).into_owned();
                if style.color && Some(*i) == status { paint_status(&cell) } else { cell }
            }));
        }
        if b.count_records() == 0 {
            return String::new();
        }
        let mut t = b.build();
        t.with(Style::blank());
        let mut s = t.to_string().lines().map(str::trim_end).collect::<Vec<_>>().join("\n");
        s.push('\n');
        s
    }
}

/// A status cell in colour by its first word: green when working (`running`, `online`,
/// `OK`), yellow when held or warned (`paused`, `suspended`, `prelaunch`, `WARNINGS`,
/// `warning`), red when failed or gone (`offline`, `error`, `failed`, `unknown`,
/// `critical`), dimmed when `stopped`; else as it is.
fn paint_status(cell: &str) -> String {
    let first = cell.split([' ', ':', '(']).next().unwrap_or_default().to_ascii_lowercase();
    let code = match first.as_str() {
        "running" | "online" | "ok" | "active" | "started" => "32",
        "paused" | "suspended" | "prelaunch" | "warnings" | "warning" | "suspending" | "migrating" => "33",
        "stopped" | "disabled" | "ignored" => "2",
        "offline" | "error" | "failed" | "unknown" | "fence" | "critical" => "31",
        _ if cell.contains("error") || cell.contains("failed") => "31",
        _ => return cell.to_owned(),
    };
    format!("\x1b[{code}m{cell}\x1b[0m")
}

/// How a cell sorts: unknown (`-`, empty) first, then numbers by value (the sizes, percentages
/// and durations this module formats, read back), then text.
#[derive(Debug)]
enum SortKey {
    Missing,
    Number(f64),
    Text(String),
}

impl SortKey {
    fn rank(&self) -> u8 {
        match self {
            Self::Missing => 0,
            Self::Number(_) => 1,
            Self::Text(_) => 2,
        }
    }
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (self, other) {
            (Self::Number(a), Self::Number(b)) => a.total_cmp(b),
            (Self::Text(a), Self::Text(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SortKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for SortKey {}

impl SortKey {
    fn of(cell: &str) -> Self {
        let c = cell.trim();
        if c.is_empty() || c == "-" {
            return Self::Missing;
        }
        Self::number(c).map_or_else(|| Self::Text(c.to_lowercase()), Self::Number)
    }

    /// The inverse of [`bytes`], [`percent`] and [`duration`], and plain numbers.
    fn number(c: &str) -> Option<f64> {
        if let Ok(n) = c.parse::<f64>() {
            return Some(n);
        }
        if let Some(p) = c.strip_suffix('%') {
            return p.parse().ok();
        }
        if let Some((n, unit)) = c.split_once(' ') {
            const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
            if let (Ok(n), Some(i)) = (n.parse::<f64>(), UNITS.iter().position(|u| *u == unit)) {
                return Some(n * 1024f64.powi(i32::try_from(i).unwrap_or(0)));
            }
        }
        let mut total = 0u64;
        for part in c.split(' ') {
            let split = part.find(|ch: char| !ch.is_ascii_digit()).filter(|i| *i > 0)?;
            let (n, unit) = part.split_at(split);
            let n: u64 = n.parse().ok()?;
            total += n * match unit {
                "d" => 86_400,
                "h" => 3600,
                "m" => 60,
                "s" => 1,
                _ => return None,
            };
        }
        #[expect(clippy::cast_precision_loss, reason = "ordering only")]
        Some(total as f64)
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
/// With `--sort`, the table is built for JSON output too: the field is checked against its
/// columns, and a JSON array with one element per row is put in the table's order.
///
/// # Errors
/// As [`emit`]; `Internal` if the value cannot be serialised; `Usage` for a `--sort` field
/// that is not a column of this listing.
pub(crate) fn print<T: Serialize + ?Sized>(format: OutputFormat, data: &T, table: impl FnOnce(&T) -> Table) -> Result<(), Error> {
    let style = &style();
    if CAPTURE.try_with(|_| ()).is_ok() {
        let value = serde_json::to_value(data).map_err(|e| Error::Internal(format!("failed to serialise output: {e}")))?;
        let table = table(data);
        if let Some(f) = &style.sort {
            table.sort_column(f)?;
        }
        CAPTURE.with(|c| {
            let mut c = c.borrow_mut();
            c.value = Some(value);
            c.table = Some(table);
        });
        return Ok(());
    }
    match format {
        OutputFormat::Json if style.sort.is_some() => {
            let t = table(data);
            t.sort_column(style.sort.as_deref().unwrap_or_default())?;
            let mut value = serde_json::to_value(data).map_err(|e| Error::Internal(format!("failed to serialise output: {e}")))?;
            if let Some(items) = value.as_array_mut().filter(|a| a.len() == t.rows.len()) {
                let mut taken: Vec<Option<serde_json::Value>> = items.drain(..).map(Some).collect();
                items.extend(t.order(style.sort.as_deref()).into_iter().filter_map(|i| taken[i].take()));
            }
            write_json(&value)
        }
        OutputFormat::Json => write_json(data),
        OutputFormat::Table => {
            let t = table(data);
            if let Some(f) = &style.sort {
                t.sort_column(f)?;
            }
            emit(&t.render())
        }
    }
}

/// Writes one pretty JSON document to stdout, redacted line by line.
fn write_json<T: Serialize + ?Sized>(data: &T) -> Result<(), Error> {
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

/// `used / total` as a fraction; `None` when either is unknown or the total is 0.
pub(crate) fn ratio(used: Option<u64>, total: Option<u64>) -> Option<f64> {
    #[expect(clippy::cast_precision_loss, reason = "display only")]
    used.zip(total.filter(|t| *t > 0)).map(|(u, t)| u as f64 / t as f64)
}

/// Whether this run shows wide tables (`-o wide`): for cells that are cut short otherwise.
pub(crate) fn wide() -> bool {
    style().wide
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
    fn sort_keys_read_back_what_this_module_formats() {
        let key = |s: &str| SortKey::of(s);
        assert!(key(&bytes(Some(512 * 1024 * 1024))) < key(&bytes(Some(1024 * 1024 * 1024))));
        assert!(key(&bytes(Some(1000))) < key(&bytes(Some(2000))), "1000 B < 1.95 KiB");
        assert!(key(&percent(Some(0.09))) < key(&percent(Some(0.5))));
        assert!(key(&duration(Some(59))) < key(&duration(Some(3600))), "59s < 1h");
        assert!(key(&duration(Some(90_061))) > key(&duration(Some(3 * 3600))));
        assert!(key("9") < key("10"), "numbers by value");
        assert!(key("-") < key("0 B"), "unknown first");
        assert!(key("web01") > key("1.00 GiB"), "text after numbers");
    }

    #[test]
    fn render_hides_wide_columns_sorts_drops_headers_and_paints_status() {
        let mut t = Table::new(&["NAME", "STATUS", "MEM"]).wide_only(&["MEM"]);
        t.row(vec!["b".into(), "running".into(), "2.00 GiB".into()]);
        t.row(vec!["a".into(), "stopped".into(), "512.00 MiB".into()]);
        let plain = TableStyle::default();
        assert_eq!(t.render_with(&plain), " NAME   STATUS\n b      running\n a      stopped\n");
        let style = TableStyle { wide: true, sort: Some("MEM".into()), no_headers: true, color: true };
        let s = t.render_with(&style);
        assert_eq!(s.lines().count(), 2, "{s}");
        assert!(s.lines().next().is_some_and(|l| l.starts_with(" a ") && l.contains("\x1b[2mstopped\x1b[0m")), "{s:?}");
        assert!(t.sort_column("nope").is_err_and(|e| e.to_string().contains("valid: name, status, mem")));
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
