//! The activity page (platform key): messages accepted, quarantined and refused (by reply code)
//! per minute over the last three hours on this host, as an inline SVG chart drawn here (no
//! script, no library, no external asset), with the totals beneath.

use super::layout;
use super::session::Signed;
use super::{PageError, WebState};
use crate::activity::{ACTIVITY, Minute};
use crate::store::keys::Scope;
use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use std::collections::BTreeMap;

/// Three hours of minutes.
const MINUTES: usize = 180;

/// `GET /inbox/activity`
pub async fn page(State(_state): State<WebState>, signed: Signed) -> Result<Response, PageError> {
    if signed.session.scope != Scope::Platform {
        return Err(PageError::not_found());
    }
    let minutes = ACTIVITY.last(MINUTES);
    let mut refused: BTreeMap<u16, u64> = BTreeMap::new();
    let (mut accepted, mut quarantined) = (0u64, 0u64);
    for m in &minutes {
        accepted += u64::from(m.accepted);
        quarantined += u64::from(m.quarantined);
        for (code, n) in &m.refused {
            *refused.entry(*code).or_default() += u64::from(*n);
        }
    }
    let body = html! {
        h1 { "Activity" }
        p.muted { "Messages per minute on this host over the last three hours (each host of a cluster shows its own)." }
        div.card {
            (chart(&minutes))
            p.legend {
                span { i.accepted {} "accepted" } span { i.quarantined {} "quarantined" } span { i.refused {} "refused" }
            }
        }
        table #activity-totals {
            thead { tr { th { "outcome" } th { "messages" } } }
            tbody {
                tr { td { "accepted (250)" } td { (accepted) } }
                tr { td { "quarantined (250)" } td { (quarantined) } }
                @for (code, n) in &refused { tr { td { "refused " (code) } td { (n) } } }
            }
        }
    };
    Ok(layout::page(&signed, "Activity", body))
}

/// Stacked bars, one per minute: accepted at the bottom, then quarantined, then refused.
fn chart(minutes: &[Minute]) -> Markup {
    let (width, height, left, bottom) = (720.0_f64, 200.0_f64, 36.0_f64, 18.0_f64);
    let total = |m: &Minute| {
        u64::from(m.accepted) + u64::from(m.quarantined) + m.refused.values().map(|n| u64::from(*n)).sum::<u64>()
    };
    let peak = minutes.iter().map(total).max().unwrap_or(0).max(1) as f64;
    let bar = (width - left) / minutes.len().max(1) as f64;
    let plot = height - bottom;
    let y = |n: f64| plot - n / peak * (plot - 4.0);
    html! {
        svg.chart viewBox={ "0 0 " (width) " " (height) } role="img" aria-label="Messages per minute, last three hours" {
            text x="0" y="12" { (peak as u64) }
            text x="0" y=(plot) { "0" }
            @for (i, m) in minutes.iter().enumerate() {
                @let x = left + i as f64 * bar;
                @let refused: u64 = m.refused.values().map(|n| u64::from(*n)).sum();
                @let a = f64::from(m.accepted);
                @let q = f64::from(m.quarantined);
                @let r = refused as f64;
                @if a + q + r > 0.0 {
                    g {
                        title { (crate::time::rfc3339(m.at)) ": " (m.accepted) " accepted, " (m.quarantined) " quarantined"
                            @for (code, n) in &m.refused { ", " (n) " refused " (code) } }
                        @if a > 0.0 { rect.accepted x=(x) y=(y(a)) width=(bar.max(1.0)) height=(plot - y(a)) {} }
                        @if q > 0.0 { rect.quarantined x=(x) y=(y(a + q)) width=(bar.max(1.0)) height=(y(a) - y(a + q)) {} }
                        @if r > 0.0 { rect.refused x=(x) y=(y(a + q + r)) width=(bar.max(1.0)) height=(y(a + q) - y(a + q + r)) {} }
                    }
                }
            }
            text x=(left) y=(height - 4.0) { "3 h ago" }
            text x=(width - 30.0) y=(height - 4.0) { "now" }
        }
    }
}
