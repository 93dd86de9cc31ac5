//! Per-repository insight: one repository's history and the movers of a window.

use super::{json_body, known, MoverView, Movers, RepoDayView, RepoHistory, RepoView};
use crate::domain::history::Mover;
use crate::web::cache::{CachedGet, Conditional, Scope};
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::{bounded, window, OrgPath};
use crate::web::insight::{self, DEFAULT_WINDOW, MAX_MOVERS, MOVER_WINDOWS};
use crate::web::params::{MoversQuery, RepoName};

/// One repository's stars, forks and open issues on each of its organisation's snapshot
/// days, oldest first; days that did not list it are gaps (`listed: false`).
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/repos/{name}/history", tag = "repositories",
    params(OrgPath, RepoName),
    responses(
        (status = 200, description = "The repository and its history", body = RepoHistory),
        (status = 404, description = "Unknown organisation or repository", body = ErrorBody)))]
#[rocket::get("/orgs/<_>/<_>/repos/<name>/history")]
pub(crate) async fn repo_history(
    get: CachedGet<'_>,
    org: OrgPath,
    name: &str,
) -> Result<Conditional, ApiError> {
    let org = org.0;
    get.answer(Scope::Org(org.clone()), || async {
        let detail = known(&get, &org).await?;
        let repo = insight::find_repo(&detail, name).ok_or_else(|| {
            ApiError::not_found(format!("{org} has no repository named `{name}`"))
        })?;
        let kind = get.state.forges.kind_of(&org);
        let days = get
            .state
            .store
            .repo_history(&org, repo.listing.id, None, None)
            .await?;
        json_body(&RepoHistory {
            org: org.to_string(),
            repo: RepoView::of(kind, repo),
            days: days.iter().map(|d| RepoDayView::of(kind, d)).collect(),
        })
    })
    .await
}

/// Repositories ranked by stars gained over the last `days` days (to the latest snapshot),
/// with the gain, the percentage and both ends; repositories new in the window are listed
/// apart, not counted as gaining all their stars.
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/movers", tag = "repositories",
    params(
        OrgPath, MoversQuery),
    responses(
        (status = 200, description = "The movers", body = Movers),
        (status = 404, description = "Unknown organisation", body = ErrorBody),
        (status = 422, description = "A parameter is invalid", body = ErrorBody)))]
#[rocket::get("/orgs/<_>/<_>/movers?<query..>")]
pub(crate) async fn movers(
    get: CachedGet<'_>,
    org: OrgPath,
    query: MoversQuery<'_>,
) -> Result<Conditional, ApiError> {
    let org = org.0;
    let days = window("days", query.days, &MOVER_WINDOWS, DEFAULT_WINDOW)?;
    let limit = bounded(
        "limit",
        query.limit.typed("limit")?,
        20,
        1,
        Some(MAX_MOVERS),
    )?;
    get.answer(Scope::Org(org.clone()), || async {
        let detail = known(&get, &org).await?;
        let w = insight::movers(get.state.store.as_ref(), &detail, days).await?;
        let by_id = insight::by_id(&detail);
        let view = |m: &Mover| {
            let repo = by_id.get(&m.repo_id);
            MoverView {
                id: m.repo_id,
                name: repo.map_or_else(|| m.repo_id.to_string(), |r| r.listing.name.clone()),
                html_url: repo.and_then(|r| r.listing.html_url.clone()),
                stars_start: m.start,
                stars_end: m.end,
                gained: m.gained(),
                percent: m.percent().map(|p| (p * 10.0).round() / 10.0),
                new: m.start.is_none(),
            }
        };
        json_body(&Movers {
            org: org.to_string(),
            days,
            since: w.since,
            until: w.until,
            complete: w.complete,
            items: w.moved.iter().take(limit).map(view).collect(),
            new: w.new.iter().take(limit).map(view).collect(),
        })
    })
    .await
}
