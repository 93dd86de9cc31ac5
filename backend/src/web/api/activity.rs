//! Activity and responsiveness: the figures of a window for an organisation or one of
//! its repositories, with the window before it for comparison.

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{json_body, known};
use crate::domain::activity::{contributors, ActivityFigures, Contributor, ItemKind, Window};
use crate::domain::OrgId;
use crate::web::cache::{CachedGet, Conditional, Scope};
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::{OrgPath, Param};
use crate::web::insight;
use crate::web::params::{ActivityQuery, RepoName};

/// The default window, in days, ending with today.
const DEFAULT_DAYS: u64 = 90;

/// The longest window asked for.
const MAX_DAYS: i64 = 3_660;

/// The figures of a window and of the one just before it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ActivityView {
    pub org: String,
    /// The repository, for a repository's activity.
    pub repo: Option<String>,
    /// Whether the organisation's activity was ever read: `false` where its forge gives
    /// none (yet) or activity is not fetched (`ORGPULSE_FETCH_ACTIVITY`); every figure is
    /// then empty, not zero.
    pub available: bool,
    /// Where the last complete activity sync got to.
    pub synced_until: Option<chrono::DateTime<Utc>>,
    pub current: ActivityFigures,
    /// The window of the same length just before, for deltas.
    pub previous: ActivityFigures,
}

/// Activity and responsiveness of an organisation (the CHAOSS figures): pull requests and
/// issues opened, closed and merged, the closure ratio, time to first response and to
/// merge, contributors and new contributors, the contributor absence factor and releases,
/// over a window (`from` inclusive to `to` exclusive, UTC days; the last 90 days by
/// default) and per week, with the window before it.
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/activity", tag = "organisations",
    params(OrgPath, ActivityQuery),
    responses(
        (status = 200, description = "The figures", body = ActivityView),
        (status = 404, description = "Unknown organisation", body = ErrorBody),
        (status = 422, description = "A parameter is invalid", body = ErrorBody)))]
#[rocket::get("/orgs/<_>/<_>/activity?<query..>")]
pub(crate) async fn org_activity(
    get: CachedGet<'_>,
    org: OrgPath,
    query: ActivityQuery<'_>,
) -> Result<Conditional, ApiError> {
    let org = org.0;
    let window = window(&query)?;
    get.answer(Scope::Org(org.clone()), || async {
        known(&get, &org).await?;
        json_body(&figures(&get, &org, None, window).await?)
    })
    .await
}

/// The same figures for one repository of the organisation.
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/repos/{name}/activity", tag = "repositories",
    params(OrgPath, RepoName, ActivityQuery),
    responses(
        (status = 200, description = "The figures", body = ActivityView),
        (status = 404, description = "Unknown organisation or repository", body = ErrorBody),
        (status = 422, description = "A parameter is invalid", body = ErrorBody)))]
#[rocket::get("/orgs/<_>/<_>/repos/<name>/activity?<query..>")]
pub(crate) async fn repo_activity(
    get: CachedGet<'_>,
    org: OrgPath,
    name: &str,
    query: ActivityQuery<'_>,
) -> Result<Conditional, ApiError> {
    let org = org.0;
    let window = window(&query)?;
    get.answer(Scope::Org(org.clone()), || async {
        let detail = known(&get, &org).await?;
        let repo = insight::find_repo(&detail, name).ok_or_else(|| {
            ApiError::not_found(format!("{org} has no repository named `{name}`"))
        })?;
        let name = repo.listing.name.clone();
        let mut view = figures(&get, &org, Some(repo.listing.id), window).await?;
        view.repo = Some(name);
        json_body(&view)
    })
    .await
}

async fn figures(
    get: &CachedGet<'_>,
    org: &OrgId,
    repo: Option<i64>,
    window: Window,
) -> Result<ActivityView, ApiError> {
    let found = insight::activity(get.state.store.as_ref(), org, repo, window).await?;
    // Never read: the figures of no items, not figures of zero found.
    let none = |w: Window| ActivityFigures::of(w, &[], &HashMap::new(), &[]);
    Ok(ActivityView {
        org: org.to_string(),
        repo: None,
        available: found.is_some(),
        synced_until: found.as_ref().map(|f| f.synced_until),
        previous: found
            .as_ref()
            .map_or_else(|| none(window.previous()), |f| f.previous.clone()),
        current: found.map_or_else(|| none(window), |f| f.current),
    })
}

/// The window a query asks for: `from` and `to` (exclusive), each optional; the last
/// [`DEFAULT_DAYS`] days up to and including today by default.
fn window(query: &ActivityQuery<'_>) -> Result<Window, ApiError> {
    let day = |name: &str, value: Param<'_>| -> Result<Option<NaiveDate>, ApiError> {
        value
            .typed(name)?
            .get(name)?
            .map(|v| {
                v.parse::<NaiveDate>().map_err(|_| {
                    ApiError::invalid(format!("{name} must be a date like 2026-01-31, got `{v}`"))
                })
            })
            .transpose()
    };
    let (from, to) = (day("from", query.from)?, day("to", query.to)?);
    let tomorrow = Utc::now().date_naive() + Days::new(1);
    let window = match (from, to) {
        (Some(from), Some(to)) => Window { from, to },
        (Some(from), None) => Window {
            from,
            to: tomorrow.max(from.checked_add_days(Days::new(1)).unwrap_or(from)),
        },
        (None, Some(to)) => Window::ending(to, DEFAULT_DAYS),
        (None, None) => Window::ending(tomorrow, DEFAULT_DAYS),
    };
    // Every pair of days the document allows is answered: a backwards window is empty (no
    // day, no item), a longer one is cut to its last MAX_DAYS days (the answer says which).
    if window.to <= window.from {
        return Ok(Window {
            from: window.from,
            to: window.from,
        });
    }
    if (window.to - window.from).num_days() > MAX_DAYS {
        return Ok(Window::ending(window.to, MAX_DAYS as u64));
    }
    Ok(window)
}

/// The contributors of a window.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ContributorList {
    pub org: String,
    pub window: Window,
    /// Whether the organisation's activity was ever read (see the activity figures).
    pub available: bool,
    /// Most items first, then by login.
    pub items: Vec<Contributor>,
}

/// The people who contributed in a window (authors of items created in it; bots and
/// deleted accounts are not), with their pull requests and issues opened, their pull
/// requests merged in the window, their first item in the organisation and whether they
/// are new.
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/contributors", tag = "organisations",
    params(OrgPath, ActivityQuery),
    responses(
        (status = 200, description = "The contributors", body = ContributorList),
        (status = 404, description = "Unknown organisation", body = ErrorBody),
        (status = 422, description = "A parameter is invalid", body = ErrorBody)))]
#[rocket::get("/orgs/<_>/<_>/contributors?<query..>")]
pub(crate) async fn list_contributors(
    get: CachedGet<'_>,
    org: OrgPath,
    query: ActivityQuery<'_>,
) -> Result<Conditional, ApiError> {
    let org = org.0;
    let window = window(&query)?;
    get.answer(Scope::Org(org.clone()), || async {
        known(&get, &org).await?;
        let store = &get.state.store;
        let available = store.activity_synced_until(&org).await?.is_some();
        let items = store.activity_items(&org, window, None).await?;
        let first = store
            .first_items(&org, &crate::domain::activity::authors(&items))
            .await?;
        json_body(&ContributorList {
            org: org.to_string(),
            window,
            available,
            items: contributors(window, &items, &first),
        })
    })
    .await
}

/// The columns of `pulls.csv` and `issues.csv`.
pub const ITEM_CSV_COLUMNS: [&str; 12] = [
    "id",
    "repo",
    "number",
    "author",
    "author_bot",
    "state",
    "created_at",
    "closed_at",
    "merged_at",
    "first_response_at",
    "first_response_hours",
    "updated_at",
];

/// The organisation's pull requests that touch the window (created, closed or merged in
/// it), one row each, as RFC 4180 CSV.
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/pulls.csv", tag = "organisations",
    params(OrgPath, ActivityQuery),
    responses(
        (status = 200, description = "CSV with a header row: id, repo, number, author (empty: a deleted account), author_bot, state (open, closed, merged), created_at, closed_at, merged_at, first_response_at, first_response_hours, updated_at", content_type = "text/csv"),
        (status = 404, description = "Unknown organisation", body = ErrorBody),
        (status = 422, description = "A parameter is invalid", body = ErrorBody)))]
#[rocket::get("/orgs/<_>/<_>/pulls.csv?<query..>", rank = 1)]
pub(crate) async fn pulls_csv(
    get: CachedGet<'_>,
    org: OrgPath,
    query: ActivityQuery<'_>,
) -> Result<Conditional, ApiError> {
    items_csv(get, org.0, &query, ItemKind::PullRequest).await
}

/// The organisation's issues that touch the window, one row each, as RFC 4180 CSV (the
/// same columns; `merged_at` is always empty).
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/issues.csv", tag = "organisations",
    params(OrgPath, ActivityQuery),
    responses(
        (status = 200, description = "CSV with a header row, as pulls.csv", content_type = "text/csv"),
        (status = 404, description = "Unknown organisation", body = ErrorBody),
        (status = 422, description = "A parameter is invalid", body = ErrorBody)))]
#[rocket::get("/orgs/<_>/<_>/issues.csv?<query..>", rank = 1)]
pub(crate) async fn issues_csv(
    get: CachedGet<'_>,
    org: OrgPath,
    query: ActivityQuery<'_>,
) -> Result<Conditional, ApiError> {
    items_csv(get, org.0, &query, ItemKind::Issue).await
}

async fn items_csv(
    get: CachedGet<'_>,
    org: OrgId,
    query: &ActivityQuery<'_>,
    kind: ItemKind,
) -> Result<Conditional, ApiError> {
    let window = window(query)?;
    get.answer(Scope::Org(org.clone()), || async {
        let detail = known(&get, &org).await?;
        let names = detail.repo_names();
        let items = get.state.store.activity_items(&org, window, None).await?;
        let time = |t: Option<DateTime<Utc>>| {
            t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
                .unwrap_or_default()
        };
        let rows = items.iter().filter(|i| i.kind == kind).map(|i| {
            [
                i.id.to_string(),
                names.of(i.repo_id),
                i.number.to_string(),
                i.author.clone().unwrap_or_default(),
                i.author_bot.to_string(),
                i.state.as_str().to_owned(),
                time(Some(i.created_at)),
                time(i.closed_at),
                time(i.merged_at),
                time(i.first_response_at),
                i.first_response_at
                    .map(|at| format!("{:.2}", (at - i.created_at).num_seconds() as f64 / 3600.0))
                    .unwrap_or_default(),
                time(Some(i.updated_at)),
            ]
        });
        let name = match kind {
            ItemKind::PullRequest => "pulls",
            ItemKind::Issue => "issues",
        };
        super::csv_answer(
            &ITEM_CSV_COLUMNS,
            rows,
            &format!("{}-{}-{name}.csv", org.forge(), org.login()),
        )
    })
    .await
}
