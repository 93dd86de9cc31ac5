//! The refresh history: recent runs, their outcome per organisation, and the next
//! scheduled one.

use chrono::{DateTime, Utc};
use rocket::http::ContentType;
use serde::Serialize;

use crate::domain::{Delivery, RefreshRun};
use crate::web::cache::{CachedGet, Conditional, Rendered, Scope};
use crate::web::charts::thousands;
use crate::web::error::PageError;
use crate::web::views;

#[rocket::get("/runs")]
pub(crate) async fn runs(get: CachedGet<'_>) -> Result<Conditional, PageError> {
    get.answer(Scope::Any, || async {
        let runs = get.state.store.list_runs(50).await?;
        let html = get.state.templates.render(
            "runs.html",
            "runs",
            &runs_page(&runs, get.state.schedule.as_ref(), Utc::now()),
        )?;
        Ok::<_, PageError>(Rendered::new(html, ContentType::HTML))
    })
    .await
}

/// What `runs.html` shows.
#[derive(Debug, Serialize)]
struct RunsPage {
    runs: Vec<RunRow>,
    next: Option<NextRun>,
    /// Whether any run delivered webhooks (the column shows only then).
    webhooks: bool,
    /// Whether any run spent GraphQL points (the column shows only then).
    points: bool,
}

#[derive(Debug, Serialize)]
struct RunRow {
    id: String,
    api_url: String,
    started: String,
    trigger: &'static str,
    status: &'static str,
    message: Option<String>,
    took: String,
    orgs: Vec<RunOrg>,
    requests: String,
    not_modified: String,
    changed: String,
    points: String,
    points_by_forge: String,
    deliveries: Vec<DeliveryView>,
}

/// An organisation's outcome in a run.
#[derive(Debug, Serialize)]
struct RunOrg {
    id: String,
    status: &'static str,
    title: String,
}

#[derive(Debug, Serialize)]
struct DeliveryView {
    org: String,
    target: String,
    delivered: bool,
    title: String,
}

/// The next scheduled refresh.
#[derive(Debug, Serialize)]
struct NextRun {
    at: String,
    within: String,
    schedule: String,
}

fn runs_page(
    runs: &[RefreshRun],
    schedule: Option<&crate::ingest::schedule::Schedule>,
    now: DateTime<Utc>,
) -> RunsPage {
    let rows = runs
        .iter()
        .map(|r| {
            let took = r
                .started_at
                .zip(r.finished_at)
                .map(|(s, f)| format!("{:.1}s", (f - s).num_milliseconds() as f64 / 1000.0));
            RunRow {
                id: r.id.to_string(),
                api_url: format!("/api/v1/runs/{}", r.id),
                started: views::when(r.started_at.unwrap_or(r.created_at)),
                trigger: r.trigger.as_str(),
                status: r.status.as_str(),
                message: r.message.clone(),
                took: took.unwrap_or_else(|| "–".into()),
                orgs: r
                    .outcomes
                    .iter()
                    .map(|o| RunOrg {
                        id: o.org.to_string(),
                        status: o.status.as_str(),
                        title: o.message.clone().unwrap_or_else(|| {
                            format!(
                                "{} repos, {} changed",
                                o.counts.repos_seen, o.counts.repos_changed
                            )
                        }),
                    })
                    .collect(),
                requests: thousands(r.counts.requests),
                not_modified: thousands(r.counts.not_modified),
                changed: thousands(r.counts.repos_changed),
                points: thousands(r.counts.points),
                points_by_forge: points_by_forge(r),
                deliveries: r
                    .deliveries
                    .iter()
                    .map(|d| DeliveryView {
                        org: d.org.to_string(),
                        target: d.target.clone(),
                        delivered: d.delivered,
                        title: delivery_title(d),
                    })
                    .collect(),
            }
        })
        .collect();
    let webhooks = runs.iter().any(|r| !r.deliveries.is_empty());
    // GraphQL points are spent with a GitHub token only: no column of zeros otherwise.
    let points = runs.iter().any(|r| r.counts.points > 0);
    let next = schedule.and_then(|s| {
        let at = s.next_after(now)?;
        let wait = at - now;
        let within = if wait < chrono::Duration::hours(1) {
            format!("in {} minutes", wait.num_minutes().max(1))
        } else {
            format!("in {} hours", wait.num_hours())
        };
        Some(NextRun {
            at: views::when(at),
            within,
            schedule: s.expr().to_owned(),
        })
    });
    RunsPage {
        runs: rows,
        next,
        webhooks,
        points,
    }
}

/// GraphQL points of a run per forge, for the points cell's title: `github: 23`.
fn points_by_forge(run: &RefreshRun) -> String {
    let mut by_forge: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for o in &run.outcomes {
        *by_forge.entry(o.org.forge().as_str()).or_insert(0) += o.counts.points;
    }
    by_forge
        .iter()
        .filter(|(_, p)| **p > 0)
        .map(|(forge, p)| format!("{forge}: {p}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A delivery in one line: what was sent where, and how it went.
fn delivery_title(d: &Delivery) -> String {
    let events = format!(
        "{} event{} to {}",
        d.events,
        if d.events == 1 { "" } else { "s" },
        d.target
    );
    let tries = match d.attempts {
        0 => "not sent".to_owned(),
        1 => "1 try".to_owned(),
        n => format!("{n} tries"),
    };
    match (&d.error, d.delivered) {
        (_, true) => format!("{events}: delivered ({tries})"),
        (Some(error), false) => format!("{events}: {error} ({tries})"),
        (None, false) => format!("{events}: not delivered ({tries})"),
    }
}
