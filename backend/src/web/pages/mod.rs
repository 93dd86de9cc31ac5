//! The HTML pages, one file each: `/` (every organisation), `/orgs/<forge>/<login>`
//! (one), `/runs`. Each is drawn from one cached store summary and cached as rendered
//! HTML; what they share (names, freshness badges) is here.

mod changes;
mod org;
mod org_activity;
mod org_page;
mod org_table;
mod overview;
mod overview_charts;
mod overview_sort;
mod repo;
mod runs;
mod security;

use chrono::{DateTime, Utc};
use serde::Serialize;

use rocket::http::Status;

use super::views::{self, Freshness};
use crate::domain::{OrgId, OrgOutcome};
use crate::web::error::PageError;

pub(crate) fn routes() -> Vec<rocket::Route> {
    rocket::routes![
        overview::overview,
        org::org,
        repo::repo,
        runs::runs,
        changes::changes,
        changes::feed_all,
        changes::feed_org
    ]
}

/// `text` with its first letter in upper case ("last push" → "Last push").
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// The 404 page for an organisation nothing is known about.
fn not_tracked(id: &OrgId) -> PageError {
    PageError::new(
        Status::NotFound,
        format!("{id} is not tracked"),
        format!(
            "orgpulse has no data about {id}. Track it with `orgpulse orgs add {id}` and refresh."
        ),
    )
}

fn display_name(id: &OrgId, profile_name: Option<&str>) -> String {
    profile_name.map_or_else(|| id.login().to_owned(), str::to_owned)
}

/// A key figure with its changes over the page's windows (`kpis.html`).
#[derive(Debug, Serialize)]
struct Kpi {
    label: String,
    value: String,
    deltas: Vec<crate::web::range::DeltaCell>,
}

/// A freshness badge: fresh, stale, failed or not fetched yet, with why on hover.
#[derive(Debug, Clone, Serialize)]
struct Badge {
    class: &'static str,
    label: &'static str,
    title: String,
}

fn badge(
    freshness: Freshness,
    outcome: Option<&OrgOutcome>,
    last_success: Option<DateTime<Utc>>,
) -> Badge {
    let title = match (freshness, outcome, last_success) {
        (Freshness::Failed, Some(o), _) => {
            o.message.clone().unwrap_or_else(|| o.status.to_string())
        }
        (_, _, Some(at)) => format!("last good data from {}", views::when(at)),
        _ => "waiting for its first refresh".into(),
    };
    Badge {
        class: freshness.as_str(),
        label: freshness.label(),
        title,
    }
}

fn last_refresh_text(outcome: Option<&OrgOutcome>, now: DateTime<Utc>) -> String {
    match outcome {
        Some(o) => format!(
            "refreshed {} · {}",
            views::ago(o.finished_at, now),
            o.status
        ),
        None => "never refreshed".into(),
    }
}
