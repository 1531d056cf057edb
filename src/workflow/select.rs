//! Which guests an action is for: vmids, unique names, and selectors (`--tag`, `--pool`,
//! `--node`, `--kind`, `--status`, `--all`), resolved with one guest listing.

use crate::backend::{Backend, GuestFilter};
use crate::error::{Error, Result};
use crate::model::{Guest, GuestRef, Vmid};

/// Guests named on the command line and a filter selecting more.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestSelector {
    /// Vmids or names, as typed.
    pub guests: Vec<String>,
    /// With named guests: each must pass it. Without: selects the guests passing it.
    pub filter: GuestFilter,
    /// Every guest (with the filter, every guest passing it).
    pub all: bool,
}

impl GuestSelector {
    /// Whether the filter selects anything by itself (`--all` or a filter flag).
    fn selects(&self) -> bool {
        self.all || self.filter != GuestFilter::default()
    }

    /// The one vmid when exactly one vmid is named and nothing else selects: the case the
    /// single-guest path handles without a listing.
    pub fn single_vmid(&self) -> Option<Vmid> {
        match self.guests.as_slice() {
            [one] if self.filter.tag.is_none() && self.filter.pool.is_none() && self.filter.status.is_none() && !self.all => {
                one.parse().ok()
            }
            _ => None,
        }
    }

    /// Whether exactly one guest is named and no selector flag is given (one report, not an array).
    pub fn is_one(&self) -> bool {
        self.guests.len() == 1 && self.filter.tag.is_none() && self.filter.pool.is_none() && self.filter.status.is_none() && !self.all
    }
}

/// One guest by vmid or name among `guests`.
/// One guest named by `token`, a vmid or a unique name (DESIGN §3: "a guest is named by vmid
/// or by its unique name"). A vmid is found with the backend's own lookup (one guest listing
/// at most); a name with one guest listing (`GET /cluster/resources?type=vm`). Errors: no such
/// guest or name (exit 5), an ambiguous name (exit 2, listing the candidates), a malformed
/// vmid (exit 2).
pub async fn resolve_one(b: &dyn Backend, token: &str) -> Result<GuestRef> {
    if let Ok(vmid) = token.parse::<Vmid>() {
        return crate::backend::BackendExt::locate(b, vmid).await;
    }
    check_token(token)?;
    let guests = b.guests(&GuestFilter::default()).await?;
    pick(&guests, token).map(Guest::guest_ref)
}

/// A guest token is a vmid or a name in PVE's `dns-name` format (pve-common's
/// `pve_verify_dns_name`: labels of letters, digits and inner `-`, joined by `.`; qemu's
/// `name` and lxc's `hostname` use it): anything else is a usage error before any call.
fn check_token(token: &str) -> Result<()> {
    if token.bytes().all(|c| c.is_ascii_digit()) {
        return Err(Error::Usage(format!("invalid vmid '{}': must be an integer from 100 to 999999999", crate::model::clip(token, 20))));
    }
    let label_ok =
        |l: &str| !l.is_empty() && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') && !l.starts_with('-') && !l.ends_with('-');
    if token.len() > 255 || !token.split('.').all(label_ok) {
        return Err(Error::Usage(format!(
            "invalid guest '{}': name a guest by vmid or by its name (a DNS name: letters, digits, '-', '.')",
            crate::model::clip(token, 64)
        )));
    }
    Ok(())
}

fn pick<'a>(guests: &'a [Guest], token: &str) -> Result<&'a Guest> {
    if let Ok(vmid) = token.parse::<Vmid>() {
        let mut found = guests.iter().filter(|g| g.vmid == vmid);
        return match (found.next(), found.next()) {
            (Some(g), None) => Ok(g),
            (Some(a), Some(b)) => Err(Error::Conflict(format!("guest {vmid} is listed twice: on node {} and node {}", a.node, b.node))),
            (None, _) => Err(Error::NotFound(format!("guest {vmid} does not exist"))),
        };
    }
    check_token(token)?;
    let named: Vec<&Guest> = guests.iter().filter(|g| g.name.as_deref() == Some(token)).collect();
    match named.as_slice() {
        [g] => Ok(g),
        [] => Err(Error::NotFound(format!("no guest is named '{}'", crate::model::clip(token, 64)))),
        many => {
            let list: Vec<String> = many.iter().map(|g| format!("{} ({} on {})", g.vmid, g.kind, g.node)).collect();
            Err(Error::Usage(format!(
                "the name '{}' is ambiguous: {}; name the guest by vmid",
                crate::model::clip(token, 64),
                list.join(", ")
            )))
        }
    }
}

/// Resolves a selection to guests, sorted by vmid, each once, with one listing.
///
/// Named guests must each pass the filter. Without names, the filter (or `--all`) selects;
/// templates are left out of such a selection (no power action applies to them).
///
/// # Errors
/// `Usage` (2) when nothing selects or a name is ambiguous (the candidates are listed);
/// `NotFound` (5) for a missing vmid or name, or a named guest the filter rejects;
/// the listing's read errors.
pub async fn select(b: &dyn Backend, sel: &GuestSelector) -> Result<Vec<GuestRef>> {
    if sel.guests.is_empty() && !sel.selects() {
        return Err(Error::Usage("name guests (vmids or names), or select them with --tag, --pool, --node, --status or --all".into()));
    }
    for token in sel.guests.iter().filter(|t| t.parse::<Vmid>().is_err()) {
        check_token(token)?;
    }
    let guests = b.guests(&GuestFilter::default()).await?;
    let mut picked: Vec<&Guest> = Vec::new();
    for token in &sel.guests {
        let g = pick(&guests, token)?;
        if !sel.filter.matches(g) {
            return Err(Error::NotFound(format!("guest {} ({} on {}) does not pass the selection", g.vmid, g.kind, g.node)));
        }
        picked.push(g);
    }
    if sel.guests.is_empty() {
        picked.extend(guests.iter().filter(|g| !g.template && sel.filter.matches(g)));
    }
    picked.sort_by_key(|g| g.vmid);
    picked.dedup_by_key(|g| g.vmid);
    Ok(picked.into_iter().map(Guest::guest_ref).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sim::{SimBackend, SimTransport, demo_state};

    fn sel(guests: &[&str], filter: GuestFilter, all: bool) -> GuestSelector {
        GuestSelector { guests: guests.iter().map(|s| (*s).to_owned()).collect(), filter, all }
    }

    fn vmids(r: &[GuestRef]) -> Vec<u32> {
        r.iter().map(|g| g.vmid.get()).collect()
    }

    #[tokio::test]
    async fn names_vmids_and_selectors_resolve_with_one_listing() {
        let b = SimBackend::new(SimTransport::from_state(demo_state()));
        assert_eq!(vmids(&select(&b, &sel(&["web01", "101", "100"], GuestFilter::default(), false)).await.expect("ok")), [100, 101]);
        let tag = GuestFilter { tag: Some("prod".into()), ..GuestFilter::default() };
        assert_eq!(vmids(&select(&b, &sel(&[], tag, false)).await.expect("ok")), [100, 101, 105]);
        let all = select(&b, &sel(&[], GuestFilter::default(), true)).await.expect("ok");
        assert!(!vmids(&all).contains(&9000), "templates are not selected");
        let e = select(&b, &sel(&[], GuestFilter::default(), false)).await.expect_err("nothing selected");
        assert_eq!(e.exit_code(), 2);
        assert_eq!(select(&b, &sel(&["nope"], GuestFilter::default(), false)).await.expect_err("missing").exit_code(), 5);
    }

    #[tokio::test]
    async fn an_ambiguous_name_is_a_usage_error_listing_the_candidates() {
        let mut st = demo_state();
        st.guests.iter_mut().find(|g| g.vmid == 108).expect("demo has 108").name = Some("web01".into());
        let b = SimBackend::new(SimTransport::from_state(st));
        let e = select(&b, &sel(&["web01"], GuestFilter::default(), false)).await.expect_err("ambiguous");
        assert_eq!(e.exit_code(), 2);
        let m = e.to_string();
        assert!(m.contains("100 (qemu on pve1)") && m.contains("108 (qemu on pve3)"), "{m}");
    }
}
