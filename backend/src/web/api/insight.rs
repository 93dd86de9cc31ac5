//! Per-repository insight: one repository's history and the movers of a window.

use super::{json_body, known, MoverView, Movers, RepoDayView, RepoHistory, RepoView};
use crate::domain::history::Mover;
use crate::web::cache::{CachedGet, Conditional, Scope};
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::{bounded, org_path, window, Param};
use crate::web::insight::{self, DEFAULT_WINDOW, MOVER_WINDOWS};

/// Most movers one answer lists (of each kind).
pub(crate) const MAX_MOVERS: usize = 100;

/// One repository's stars, forks and open issues on each of its organisation's snapshot
/// days, oldest first; days that did not list it are gaps (`listed: false`).
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/repos/{name}/history", tag = "repositories",
    params(
        ("forge" = String, Path, description = "The forge instance"),
        ("login" = String, Path, description = "The organisation's login"),
        ("name" = String, Path, description = "The repository's name within the organisation, `/` written `%2F` (a GitLab project in a subgroup: `libs%2Fparser`); any case")),
    responses(
        (status = 200, description = "The repository and its history", body = RepoHistory),
        (status = 404, description = "Unknown organisation or repository", body = ErrorBody)))]
#[rocket::get("/orgs/<forge>/<login>/repos/<name>/history")]
pub(crate) async fn repo_history(
    get: CachedGet<'_>,
    forge: &str,
    login: &str,
    name: &str,
) -> Result<Conditional, ApiError> {
    let org = org_path(&get.state.forges, forge, login)?;
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
        ("forge" = String, Path, description = "The forge instance"),
        ("login" = String, Path, description = "The organisation's login"),
        ("days" = Option<u32>, Query, description = "The window: 1, 7 (default), 30 or 90 days"),
        ("limit" = Option<usize>, Query, description = "Most repositories per list, 1–100, default 20")),
    responses(
        (status = 200, description = "The movers", body = Movers),
        (status = 404, description = "Unknown organisation", body = ErrorBody),
        (status = 422, description = "A parameter is invalid", body = ErrorBody)))]
#[rocket::get("/orgs/<forge>/<login>/movers?<days>&<limit>")]
pub(crate) async fn movers(
    get: CachedGet<'_>,
    forge: &str,
    login: &str,
    days: Param<'_>,
    limit: Param<'_>,
) -> Result<Conditional, ApiError> {
    let org = org_path(&get.state.forges, forge, login)?;
    let days = window("days", days, &MOVER_WINDOWS, DEFAULT_WINDOW)?;
    let limit = bounded("limit", limit.typed("limit")?, 20, 1, Some(MAX_MOVERS))?;
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
