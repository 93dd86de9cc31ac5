//! Organisations: the tracked list with totals, one organisation, its daily history and
//! the libraries its repositories use.

use chrono::NaiveDate;

use super::{
    json_body, org_answer, org_view, overview_summary, DayView, Ecosystem, History, Libraries,
    LibraryUse, OrgSummary, OrgView,
};
use crate::domain::{DayTotals, OpenCounts};
use crate::store::OrgDetail;
use crate::web::cache::{CachedGet, Conditional, Scope};
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::{OrgPath, Param};
use crate::web::params::DaysQuery;

/// Every tracked organisation with totals and last refresh.
#[utoipa::path(get, path = "/api/v1/orgs", tag = "organisations",
    responses((status = 200, description = "Tracked organisations, by id", body = [OrgSummary])))]
#[rocket::get("/orgs")]
pub(crate) async fn list_orgs(get: CachedGet<'_>) -> Result<Conditional, ApiError> {
    get.answer(Scope::Orgs, || async {
        let overview = get.overview().await?;
        let forges = &get.state.forges;
        json_body(
            &overview
                .iter()
                .map(|o| overview_summary(forges, o))
                .collect::<Vec<_>>(),
        )
    })
    .await
}

/// One organisation with totals, 1/7/30-day deltas and language mix.
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}", tag = "organisations",
    params(OrgPath),
    responses(
        (status = 200, description = "The organisation", body = OrgView),
        (status = 404, description = "Neither tracked nor stored", body = ErrorBody),
        (status = 422, description = "Not a valid organisation id", body = ErrorBody)))]
#[rocket::get("/orgs/<_>/<_>", rank = 2)]
pub(crate) async fn get_org(get: CachedGet<'_>, org: OrgPath) -> Result<Conditional, ApiError> {
    let org = org.0;
    org_answer(&get, &org, |detail| {
        json_body(&org_view(&get.state.forges, detail))
    })
    .await
}

/// Daily snapshots of an organisation between `from` and `to` (inclusive), oldest first.
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/history", tag = "organisations",
    params(OrgPath, DaysQuery),
    responses(
        (status = 200, description = "Daily totals", body = History),
        (status = 404, description = "Unknown organisation", body = ErrorBody),
        (status = 422, description = "A parameter is invalid", body = ErrorBody)))]
#[rocket::get("/orgs/<_>/<_>/history?<days..>")]
pub(crate) async fn history(
    get: CachedGet<'_>,
    org: OrgPath,
    days: DaysQuery<'_>,
) -> Result<Conditional, ApiError> {
    let org = org.0;
    let range = DayRange::parse(&days)?;
    let kind = get.state.forges.kind_of(&org);
    org_answer(&get, &org, |detail| {
        let days = range.of(detail).map(|d| DayView::of(kind, d)).collect();
        json_body(&History {
            org: org.to_string(),
            days,
        })
    })
    .await
}

/// The same daily totals as CSV (RFC 4180, a header row).
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/history.csv", tag = "organisations",
    params(OrgPath, DaysQuery),
    responses(
        (status = 200, description = "CSV with a header row: day, repos, stars, forks, open_issues (alone: GitLab; empty elsewhere), open_issues_and_pull_requests (GitHub, Gitea/Forgejo; empty on GitLab), watchers, archived, size_kb", content_type = "text/csv"),
        (status = 404, description = "Unknown organisation", body = ErrorBody),
        (status = 422, description = "A parameter is invalid", body = ErrorBody)))]
#[rocket::get("/orgs/<_>/<_>/history.csv?<days..>", rank = 1)]
pub(crate) async fn history_csv(
    get: CachedGet<'_>,
    org: OrgPath,
    days: DaysQuery<'_>,
) -> Result<Conditional, ApiError> {
    let org = org.0;
    let range = DayRange::parse(&days)?;
    let kind = get.state.forges.kind_of(&org);
    org_answer(&get, &org, |detail| {
        let rows = range.of(detail).map(|d| {
            let t = &d.totals;
            let open = OpenCounts::listed(kind, Some(t.open_issues));
            let count = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
            [
                d.day.to_string(),
                t.repos.to_string(),
                t.stars.to_string(),
                t.forks.to_string(),
                count(open.issues),
                count(open.both),
                t.watchers.to_string(),
                t.archived.to_string(),
                t.size_kb.to_string(),
            ]
        });
        super::csv_answer(
            &HISTORY_CSV_COLUMNS,
            rows,
            &format!("{}-{}-history.csv", org.forge(), org.login()),
        )
    })
    .await
}

/// Dependencies found in the organisation's SBOMs, by ecosystem.
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/libraries", tag = "organisations",
    params(OrgPath),
    responses(
        (status = 200, description = "Libraries by ecosystem, most used first", body = Libraries),
        (status = 404, description = "Unknown organisation", body = ErrorBody)))]
#[rocket::get("/orgs/<_>/<_>/libraries")]
pub(crate) async fn libraries(get: CachedGet<'_>, org: OrgPath) -> Result<Conditional, ApiError> {
    let org = org.0;
    org_answer(&get, &org, |detail| {
        let mut ecosystems: Vec<Ecosystem> = Vec::new();
        for l in &detail.libraries {
            let entry = LibraryUse {
                name: l.name.clone(),
                repos: l.repos,
            };
            match ecosystems.iter_mut().find(|e| e.ecosystem == l.ecosystem) {
                Some(e) => e.libraries.push(entry),
                None => ecosystems.push(Ecosystem {
                    ecosystem: l.ecosystem.clone(),
                    libraries: vec![entry],
                }),
            }
        }
        json_body(&Libraries {
            org: org.to_string(),
            ecosystems,
        })
    })
    .await
}

/// Every library and how many repositories use it, as CSV (RFC 4180, a header row), most
/// used first.
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/libraries.csv", tag = "organisations",
    params(OrgPath),
    responses(
        (status = 200, description = "CSV with a header row: ecosystem, name, repos", content_type = "text/csv"),
        (status = 404, description = "Unknown organisation", body = ErrorBody)))]
#[rocket::get("/orgs/<_>/<_>/libraries.csv", rank = 1)]
pub(crate) async fn libraries_csv(
    get: CachedGet<'_>,
    org: OrgPath,
) -> Result<Conditional, ApiError> {
    let org = org.0;
    org_answer(&get, &org, |detail| {
        let rows = detail
            .libraries
            .iter()
            .map(|l| [l.ecosystem.clone(), l.name.clone(), l.repos.to_string()]);
        super::csv_answer(
            &LIBRARIES_CSV_COLUMNS,
            rows,
            &format!("{}-{}-libraries.csv", org.forge(), org.login()),
        )
    })
    .await
}

/// The columns of `history.csv`.
pub(crate) const HISTORY_CSV_COLUMNS: [&str; 9] = [
    "day",
    "repos",
    "stars",
    "forks",
    "open_issues",
    "open_issues_and_pull_requests",
    "watchers",
    "archived",
    "size_kb",
];

/// The columns of `libraries.csv`.
pub(crate) const LIBRARIES_CSV_COLUMNS: [&str; 3] = ["ecosystem", "name", "repos"];

/// The days a history answer covers: `from` and `to`, both optional and inclusive. A
/// range whose `from` is after its `to` is empty: it covers no day, and answers no rows
/// (every such pair is valid by the OpenAPI document, so it is not an error).
struct DayRange {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

impl DayRange {
    fn parse(days: &DaysQuery<'_>) -> Result<Self, ApiError> {
        let (from, to) = (parse_day("from", days.from)?, parse_day("to", days.to)?);
        Ok(DayRange { from, to })
    }

    fn of<'a>(&self, detail: &'a OrgDetail) -> impl Iterator<Item = &'a DayTotals> + use<'a, '_> {
        detail
            .history
            .iter()
            .filter(|d| self.from.is_none_or(|f| d.day >= f) && self.to.is_none_or(|t| d.day <= t))
    }
}

/// A `YYYY-MM-DD` day; absent or blank is `None`.
fn parse_day(name: &str, value: Param<'_>) -> Result<Option<NaiveDate>, ApiError> {
    value
        .typed(name)?
        .get(name)?
        .map(|v| {
            v.parse::<NaiveDate>().map_err(|_| {
                ApiError::invalid(format!("{name} must be a date like 2026-01-31, got `{v}`"))
            })
        })
        .transpose()
}
