//! HTML built from the shared snapshots only (no remote call): the page layout and the "live"
//! fragments that `/live/...` serves and the pages embed, so a page and its live update show
//! the same markup. Every value goes through maud, which HTML-escapes it: names, tags and
//! descriptions are hostile input.

use maud::{DOCTYPE, Markup, html};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use super::state::{CheckEvent, TargetSnapshot};
use crate::checks::{Finding, Severity};
use crate::model::{Guest, Task, time::format_utc};

/// Characters escaped in one path segment or query value of a link.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'=')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\'')
    .add(b';')
    .add(b'\\');

/// `s` percent-encoded for a path segment or a query value.
pub(crate) fn enc(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// The link to a target's page.
pub(crate) fn target_href(t: &str) -> String {
    format!("/t/{}", enc(t))
}

/// The link to a guest's page.
pub(crate) fn guest_href(t: &str, vmid: impl std::fmt::Display) -> String {
    format!("/t/{}/guest/{vmid}", enc(t))
}

/// The link to a task's page.
pub(crate) fn task_href(t: &str, upid: &str) -> String {
    format!("/t/{}/task/{}", enc(t), enc(upid))
}

/// The part of a page that follows the snapshots: fetched again from `src` when one of
/// `targets` (comma-separated; empty = any) changes version.
pub(crate) struct Live<'a> {
    pub(crate) src: String,
    pub(crate) targets: &'a str,
    pub(crate) content: Markup,
}

/// Whether this process serves with `--allow-actions` (one dashboard per process), for the
/// mode shown in every page's header.
pub(crate) static ACTIONS_ALLOWED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A whole page: navigation, title, the live part, then `extra` (reads made for this view).
pub(crate) fn layout(title: &str, live: Option<Live<'_>>, extra: &Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · pvectl dashboard" }
                link rel="stylesheet" href="/static/dashboard.css";
                script src="/static/dashboard.js" defer {}
            }
            body {
                header {
                    nav {
                        a href="/" { "Fleet" }
                        a href="/tasks" { "Tasks" }
                        a href="/checks" { "Checks" }
                        a href="/audit" { "Audit" }
                    }
                    span.mode { (if ACTIONS_ALLOWED.load(std::sync::atomic::Ordering::Relaxed) { "actions allowed" } else { "read-only" }) }
                    span #conn .conn { "" }
                }
                main {
                    h1 { (title) }
                    @if let Some(l) = live {
                        div #live data-src=(l.src) data-targets=(l.targets) { (l.content) }
                    }
                    (extra)
                }
            }
        }
    }
}

/// Bytes as `1.5 GiB`.
pub(crate) fn bytes(b: Option<u64>) -> String {
    let Some(b) = b else { return "-".into() };
    #[expect(clippy::cast_precision_loss, reason = "a display value")]
    let mut v = b as f64;
    let mut unit = "B";
    for u in ["KiB", "MiB", "GiB", "TiB", "PiB"] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    if unit == "B" { format!("{b} B") } else { format!("{v:.1} {unit}") }
}

/// `used / total` as a fraction in 0..=1, when both are known.
pub(crate) fn fraction(used: Option<u64>, total: Option<u64>) -> Option<f64> {
    #[expect(clippy::cast_precision_loss, reason = "a display value")]
    match (used, total) {
        (Some(u), Some(t)) if t > 0 => Some((u as f64 / t as f64).clamp(0.0, 1.0)),
        _ => None,
    }
}

/// A usage bar (`<meter>`, no inline style: the CSP forbids it) with its percentage.
pub(crate) fn bar(f: Option<f64>) -> Markup {
    html! {
        @if let Some(f) = f {
            meter min="0" max="1" low="0.8" high="0.9" optimum="0" value=(format!("{f:.3}")) {}
            " " (format!("{:.0}%", f * 100.0))
        } @else { "-" }
    }
}

/// A small line chart (SVG, presentation attributes only) of fractions in 0..=1.
pub(crate) fn spark(points: &[Option<f64>], class: &str) -> Markup {
    const W: f64 = 120.0;
    const H: f64 = 24.0;
    #[expect(clippy::cast_precision_loss, reason = "a few hundred points at most")]
    let step = if points.len() > 1 { W / (points.len() - 1) as f64 } else { W };
    #[expect(clippy::cast_precision_loss, reason = "a few hundred points at most")]
    let line: Vec<String> =
        points.iter().enumerate().filter_map(|(i, p)| p.map(|v| format!("{:.1},{:.1}", i as f64 * step, H - v * H))).collect();
    html! {
        svg class=(class) width="120" height="24" viewBox="0 0 120 24" role="img" {
            rect x="0" y="0" width="120" height="24" fill="#f4f6f8" {}
            polyline points=(line.join(" ")) fill="none" stroke="#2c6fb7" stroke-width="1.5" {}
        }
    }
}

fn time(t: Option<u64>) -> String {
    t.map_or_else(|| "-".into(), format_utc)
}

fn sev_class(s: Severity) -> &'static str {
    match s {
        Severity::Ok => "sev-ok",
        Severity::Warning => "sev-warning",
        Severity::Unknown => "sev-unknown",
        Severity::Critical => "sev-critical",
    }
}

/// The fleet's cards: one per target, a failing one marked as such.
pub(crate) fn fleet(snaps: &[std::sync::Arc<TargetSnapshot>]) -> Markup {
    html! {
        div.cards {
            @for s in snaps {
                @let failing = s.error.is_some();
                @let class = if failing { "card failing" } else if s.refreshed.is_none() { "card pending" } else { "card" };
                div class=(class) data-target=(s.target) data-refreshes=(s.refreshes) {
                    h2 { a href=(target_href(&s.target)) { (s.target) } }
                    @if let Some(e) = &s.error {
                        p.error { "unreachable: " (e) }
                    } @else if s.refreshed.is_none() {
                        p { "waiting for the first refresh" }
                    }
                    @if let Some(d) = &s.data {
                        @let online = d.nodes.iter().filter(|n| n.status.as_deref() == Some("online")).count();
                        @let running = d.guests.iter().filter(|g| g.status == "running").count();
                        dl {
                            dt { "reachable" } dd { (if failing { "no" } else { "yes" }) }
                            dt { "PVE version" } dd { (d.pve_version.as_deref().unwrap_or("-")) }
                            dt { "quorum" } dd { (match d.quorate { Some(true) => "quorate", Some(false) => "NOT quorate", None => "single node" }) }
                            dt { "nodes online" } dd.nodes { (online) " / " (d.nodes.len()) }
                            dt { "guests running" } dd.guests { (running) " / " (d.guests.len()) }
                            dt { "worst check" } dd { @if let Some(w) = s.worst() { span class=(sev_class(w)) { (w.nagios()) } } @else { "-" } }
                        }
                    }
                    p.small { "last refresh: " (time(s.refreshed)) " (" (s.took_ms) " ms)" }
                }
            }
        }
    }
}

/// Guest filters and sorting of the target page (query parameters; empty = not set).
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
pub(crate) struct GuestQuery {
    pub(crate) node: Option<String>,
    pub(crate) kind: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) tag: Option<String>,
    pub(crate) pool: Option<String>,
    /// `vmid` (default), `name`, `node`, `status`, `cpu`, `mem`.
    pub(crate) sort: Option<String>,
    /// `1` for descending.
    pub(crate) desc: Option<String>,
}

impl GuestQuery {
    fn get(v: Option<&String>) -> Option<&str> {
        v.map(String::as_str).filter(|s| !s.is_empty())
    }

    fn pairs(&self) -> Vec<(&'static str, &str)> {
        let mut out = Vec::new();
        for (k, v) in [
            ("node", &self.node),
            ("kind", &self.kind),
            ("status", &self.status),
            ("tag", &self.tag),
            ("pool", &self.pool),
            ("sort", &self.sort),
            ("desc", &self.desc),
        ] {
            if let Some(v) = Self::get(v.as_ref()) {
                out.push((k, v));
            }
        }
        out
    }

    /// As a query string (`node=pve1&sort=name`), encoded.
    pub(crate) fn query(&self) -> String {
        self.pairs().iter().map(|(k, v)| format!("{k}={}", enc(v))).collect::<Vec<_>>().join("&")
    }

    /// This query with `key` set to `value` (sorting keeps the filters and vice versa).
    fn with(&self, key: &str, value: &str) -> String {
        let mut p: Vec<(&str, &str)> = self.pairs().into_iter().filter(|(k, _)| *k != key).collect();
        p.push((key, value));
        p.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect::<Vec<_>>().join("&")
    }

    fn matches(&self, g: &Guest) -> bool {
        Self::get(self.node.as_ref()).is_none_or(|n| g.node.as_str() == n)
            && Self::get(self.kind.as_ref()).is_none_or(|k| g.kind.as_str() == k)
            && Self::get(self.status.as_ref()).is_none_or(|s| g.status == s)
            && Self::get(self.tag.as_ref()).is_none_or(|t| g.tags.iter().any(|x| x == t))
            && Self::get(self.pool.as_ref()).is_none_or(|p| g.pool.as_deref() == Some(p))
    }

    fn sorted<'a>(&self, mut g: Vec<&'a Guest>) -> Vec<&'a Guest> {
        let f = |x: Option<f64>| x.unwrap_or(-1.0);
        match Self::get(self.sort.as_ref()) {
            Some("name") => g.sort_by(|a, b| a.name.cmp(&b.name)),
            Some("node") => g.sort_by(|a, b| a.node.as_str().cmp(b.node.as_str()).then(a.vmid.cmp(&b.vmid))),
            Some("status") => g.sort_by(|a, b| a.status.cmp(&b.status).then(a.vmid.cmp(&b.vmid))),
            Some("cpu") => g.sort_by(|a, b| f(a.cpu).total_cmp(&f(b.cpu))),
            Some("mem") => g.sort_by_key(|x| x.mem.unwrap_or(0)),
            _ => g.sort_by_key(|x| x.vmid),
        }
        if Self::get(self.desc.as_ref()) == Some("1") {
            g.reverse();
        }
        g
    }
}

/// A target's nodes, guests (filtered and sorted by `q`) and storages.
pub(crate) fn target(s: &TargetSnapshot, q: &GuestQuery) -> Markup {
    let t = &s.target;
    let Some(d) = &s.data else {
        return html! { @if let Some(e) = &s.error { p.error { "unreachable: " (e) } } @else { p { "waiting for the first refresh" } } };
    };
    let guests = q.sorted(d.guests.iter().filter(|g| q.matches(g)).collect());
    let sort_link = |col: &str| {
        let desc = if GuestQuery::get(q.sort.as_ref()) == Some(col) && GuestQuery::get(q.desc.as_ref()) != Some("1") { "1" } else { "0" };
        let mut query = q.with("sort", col);
        query = format!("{query}&desc={desc}");
        format!("{}?{query}", target_href(t))
    };
    html! {
        @if let Some(e) = &s.error { p.error { "the last refresh failed: " (e) " (showing the one before)" } }
        @for p in &d.problems { p.warning { (p) } }
        h2 { "Nodes" }
        table.nodes {
            thead { tr { th { "node" } th { "status" } th { "CPU" } th { "memory" } th { "root disk" } th { "uptime" } th { "CPU, last hour" } th { "memory, last hour" } } }
            tbody {
                @for n in &d.nodes {
                    tr data-node=(n.node) {
                        td { a href=(format!("{}?node={}", target_href(t), enc(&n.node))) { (n.node) } }
                        td { (n.status.as_deref().unwrap_or("-")) }
                        td { (bar(n.cpu.map(|c| c.clamp(0.0, 1.0)))) }
                        td { (bar(fraction(n.mem, n.maxmem))) " " (bytes(n.mem)) " / " (bytes(n.maxmem)) }
                        td { (bar(fraction(n.disk, n.maxdisk))) }
                        td { (n.uptime.map_or_else(|| "-".into(), |u| format!("{} h", u / 3600))) }
                        @let hist = d.history.iter().find(|x| x.node == n.node);
                        td { @if let Some(x) = hist { (spark(&x.cpu, "spark cpu")) } @else { "-" } }
                        td { @if let Some(x) = hist { (spark(&x.mem, "spark mem")) } @else { "-" } }
                    }
                }
            }
        }
        h2 { "Guests" }
        form.filters method="get" action=(target_href(t)) {
            @for (k, label) in [("node", "node"), ("kind", "kind"), ("status", "status"), ("tag", "tag"), ("pool", "pool")] {
                label { (label) " " input name=(k) value=(GuestQuery::get(match k { "node" => q.node.as_ref(), "kind" => q.kind.as_ref(), "status" => q.status.as_ref(), "tag" => q.tag.as_ref(), _ => q.pool.as_ref() }).unwrap_or("")); }
            }
            button type="submit" { "filter" }
            " " a href=(target_href(t)) { "clear" }
        }
        p.small { (guests.len()) " of " (d.guests.len()) " guests" }
        table.guests {
            thead { tr {
                th { a href=(sort_link("vmid")) { "vmid" } }
                th { a href=(sort_link("name")) { "name" } }
                th { a href=(sort_link("node")) { "node" } }
                th { "kind" }
                th { a href=(sort_link("status")) { "status" } }
                th { a href=(sort_link("cpu")) { "CPU" } }
                th { a href=(sort_link("mem")) { "memory" } }
                th { "tags" } th { "pool" } th { "lock" }
            } }
            tbody {
                @for g in &guests {
                    tr data-vmid=(g.vmid) {
                        td { a.guest href=(guest_href(t, g.vmid)) { (g.vmid) } }
                        td { (g.name.as_deref().unwrap_or("-")) }
                        td { (g.node) }
                        td { (g.kind) }
                        td class=(format!("status {}", if g.status == "running" { "running" } else { "other" })) { (g.status) @if g.template { " (template)" } }
                        td { (g.cpu.map_or_else(|| "-".into(), |c| format!("{:.0}%", c * 100.0))) }
                        td { (bytes(g.mem)) " / " (bytes(g.maxmem)) }
                        td { @for tag in &g.tags { a.tag href=(format!("{}?tag={}", target_href(t), enc(tag))) { (tag) } " " } }
                        td { @if let Some(p) = &g.pool { a href=(format!("{}?pool={}", target_href(t), enc(p))) { (p) } } @else { "-" } }
                        td { (g.lock.as_deref().unwrap_or("-")) }
                    }
                }
            }
        }
        h2 { "Storages" }
        table.storages {
            thead { tr { th { "storage" } th { "node" } th { "type" } th { "content" } th { "usage" } th { "used / total" } } }
            tbody {
                @for st in &d.storages {
                    tr {
                        td { (st.storage) } td { (st.node) } td { (st.storage_type.as_deref().unwrap_or("-")) }
                        td { (st.content.join(",")) }
                        td { @if st.active { (bar(fraction(st.used, st.total))) } @else { "inactive" } }
                        td { (bytes(st.used)) " / " (bytes(st.total)) }
                    }
                }
            }
        }
        p.small { "last refresh: " (time(s.refreshed)) }
    }
}

/// A guest's state as the last guest listing saw it.
pub(crate) fn guest(s: &TargetSnapshot, g: Option<&Guest>) -> Markup {
    html! {
        @if let Some(e) = &s.error { p.error { "the last refresh failed: " (e) } }
        @if let Some(g) = g {
            dl.summary {
                dt { "status" } dd #status class=(format!("status {}", if g.status == "running" { "running" } else { "other" })) { (g.status) }
                dt { "name" } dd { (g.name.as_deref().unwrap_or("-")) }
                dt { "node" } dd { a href=(format!("{}?node={}", target_href(&s.target), enc(g.node.as_str()))) { (g.node) } }
                dt { "kind" } dd { (g.kind) }
                dt { "CPU" } dd { (g.cpu.map_or_else(|| "-".into(), |c| format!("{:.0}%", c * 100.0))) }
                dt { "memory" } dd { (bar(fraction(g.mem, g.maxmem))) " " (bytes(g.mem)) " / " (bytes(g.maxmem)) }
                dt { "uptime" } dd { (g.uptime.map_or_else(|| "-".into(), |u| format!("{u} s"))) }
                dt { "tags" } dd { (g.tags.join(";")) }
                dt { "pool" } dd { (g.pool.as_deref().unwrap_or("-")) }
                dt { "lock" } dd { (g.lock.as_deref().unwrap_or("-")) }
            }
            p.small { "as of the refresh at " (time(s.refreshed)) }
        } @else {
            p.error { "no such guest in the last guest listing" }
        }
    }
}

fn task_class(t: &Task) -> &'static str {
    match (t.endtime, t.status.as_deref()) {
        (None, _) => "running",
        (Some(_), Some("OK")) => "ok",
        (Some(_), Some(s)) if s.starts_with("WARNINGS") => "warning",
        _ => "failed",
    }
}

/// Recent and running tasks of every target: failures first, then running, then the rest,
/// newest first within each.
pub(crate) fn tasks(snaps: &[std::sync::Arc<TargetSnapshot>]) -> Markup {
    let rank = |t: &Task| match task_class(t) {
        "failed" => 0,
        "running" => 1,
        "warning" => 2,
        _ => 3,
    };
    let mut all: Vec<(&str, &Task)> =
        snaps.iter().flat_map(|s| s.data.iter().flat_map(|d| d.tasks.iter().map(|t| (s.target.as_str(), t)))).collect();
    all.sort_by(|a, b| rank(a.1).cmp(&rank(b.1)).then(b.1.starttime.cmp(&a.1.starttime)));
    html! {
        table.tasks {
            thead { tr { th { "target" } th { "state" } th { "type" } th { "id" } th { "node" } th { "user" } th { "started" } th { "status" } th { "log" } } }
            tbody {
                @for (target, t) in &all {
                    tr class=(task_class(t)) {
                        td { (target) }
                        td { (task_class(t)) }
                        td { (t.task_type.as_deref().unwrap_or("-")) }
                        td { (t.id.as_deref().unwrap_or("-")) }
                        td { (t.node.as_deref().unwrap_or("-")) }
                        td { (t.user.as_deref().unwrap_or("-")) }
                        td { (time(t.starttime)) }
                        td { (t.status.as_deref().unwrap_or("running")) }
                        td { a href=(task_href(target, &t.upid.to_string())) { "log" } }
                    }
                }
            }
        }
        @if all.is_empty() { p { "no tasks in the last refresh" } }
    }
}

/// Current findings by severity, then the history of state changes since the dashboard started.
pub(crate) fn checks(snaps: &[std::sync::Arc<TargetSnapshot>], history: &[CheckEvent]) -> Markup {
    let mut current: Vec<(&str, &Finding)> = snaps
        .iter()
        .flat_map(|s| s.data.iter().flat_map(|d| d.checks.iter().flat_map(|r| r.findings.iter().map(|f| (s.target.as_str(), f)))))
        .collect();
    current.sort_by(|a, b| b.1.severity.cmp(&a.1.severity).then(a.0.cmp(b.0)));
    html! {
        h2 { "Current findings" }
        @for s in snaps { @if let Some(e) = &s.error { p.error { (s.target) ": UNKNOWN, checks could not run: " (e) } } }
        table.findings {
            thead { tr { th { "severity" } th { "target" } th { "check" } th { "subject" } th { "message" } } }
            tbody {
                @for (t, f) in &current {
                    tr class=(sev_class(f.severity)) { td { (f.severity.nagios()) } td { (t) } td { (f.check) } td { (f.subject) } td { (f.message) } }
                }
            }
        }
        h2 { "History (since the dashboard started)" }
        @if history.is_empty() { p { "no state changes yet" } }
        table.history {
            thead { tr { th { "time" } th { "target" } th { "change" } th { "from" } th { "to" } th { "check" } th { "subject" } th { "message" } } }
            tbody {
                @for e in history.iter().rev() {
                    tr class=(sev_class(e.severity)) {
                        td { (format_utc(e.time)) } td { (e.target) } td { (e.change) } td { (e.previous.nagios()) } td { (e.severity.nagios()) }
                        td { (e.check) } td { (e.subject) } td { (e.message) }
                    }
                }
            }
        }
    }
}
