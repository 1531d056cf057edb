//! The `snapshots` check set: the age of each guest's oldest snapshot
//! (`GET /nodes/{node}/{qemu|lxc}/{vmid}/snapshot`, its `snaptime` in epoch seconds), one
//! read per guest, [`PARALLEL`] at a time; judged against `snapshot-age` (days), which is
//! off (0) unless set: then each guest's age is reported OK with its performance datum.

use super::join::join_bounded;
use super::node_health::PARALLEL;
use super::sets::{Fut, failed, measured};
use super::{Finding, Perf, Severity, Thresholds};
use crate::backend::{Backend, GuestFilter};
use crate::model::Snapshot;

/// `snapshots`: the oldest snapshot of every guest that is not a template and whose node
/// answers.
pub(super) async fn snapshots(b: &dyn Backend, t: &Thresholds, now: u64) -> Vec<Finding> {
    let list = match b.guests(&GuestFilter::default()).await {
        Ok(l) => l,
        Err(e) => return failed("snapshot-age", "cluster", "guest list", &e).into_iter().collect(),
    };
    let futs: Vec<Fut<'_>> = list
        .into_iter()
        .filter(|g| !g.template && g.status != "unknown")
        .map(|g| -> Fut<'_> {
            Box::pin(async move {
                let subject = format!("{}/{}", g.kind.as_str(), g.vmid);
                match b.snapshots(&g.guest_ref()).await {
                    Ok(s) => judge_snapshots(&subject, &s, t, now),
                    Err(e) => failed("snapshot-age", &subject, "snapshot list", &e).into_iter().collect(),
                }
            })
        })
        .collect();
    join_bounded(futs, PARALLEL).await.into_iter().flatten().collect()
}

/// Judges one guest's snapshot list (`current` and snapshots without `snaptime` left out):
/// the oldest snapshot's age in days against `snapshot-age`; no finding without snapshots.
pub(super) fn judge_snapshots(subject: &str, list: &[Snapshot], t: &Thresholds, now: u64) -> Vec<Finding> {
    let Some((name, time)) =
        list.iter().filter(|s| s.name != "current").filter_map(|s| s.snaptime.map(|t| (s.name.as_str(), t))).min_by_key(|(_, t)| *t)
    else {
        return Vec::new();
    };
    #[expect(clippy::cast_precision_loss, reason = "an age in seconds fits f64")]
    let days = now.saturating_sub(time) as f64 / 86_400.0;
    let name = crate::model::clip(name, 40);
    let label = format!("snapshot_age_{}", subject.replace('/', "_"));
    let what = format!("oldest snapshot '{name}', days");
    let limit = t.get("snapshot-age");
    if limit.warn <= 0.0 {
        let mut f = Finding::new("snapshot-age", Severity::Ok, subject, format!("{what} {days:.1} (no snapshot-age threshold set)"));
        f.value = Some(days);
        f.perfdata = Some(Perf { label, value: days, uom: String::new(), warn: None, crit: None, min: Some(0.0), max: None, low: false });
        return vec![f];
    }
    vec![measured("snapshot-age", subject, &label, &what, days, limit, "")]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(name: &str, snaptime: Option<u64>) -> Snapshot {
        Snapshot { name: name.into(), parent: None, snaptime, description: String::new(), vmstate: false }
    }

    #[test]
    fn the_oldest_snapshot_is_judged_and_the_default_is_off() {
        let now = 1_800_000_000;
        let list = [snap("current", None), snap("new", Some(now - 86_400)), snap("old", Some(now - 40 * 86_400))];
        let off = judge_snapshots("qemu/100", &list, &Thresholds::default(), now);
        assert_eq!((off[0].severity, off[0].value), (Severity::Ok, Some(40.0)));
        let mut t = Thresholds::default();
        t.apply_args(&["snapshot-age=30".into()], false).expect("valid");
        t.apply_args(&["snapshot-age=60".into()], true).expect("valid");
        let warn = judge_snapshots("qemu/100", &list, &t, now);
        assert_eq!(warn[0].severity, Severity::Warning);
        assert!(warn[0].message.starts_with("oldest snapshot 'old', days 40"), "{}", warn[0].message);
        t.apply_args(&["snapshot-age=35".into()], true).expect("valid");
        assert_eq!(judge_snapshots("qemu/100", &list, &t, now)[0].severity, Severity::Critical);
        assert!(judge_snapshots("qemu/100", &[snap("current", None)], &t, now).is_empty(), "no snapshots, no finding");
    }
}
