//! The read-only JSON API under `/api/v1`. Response types here are the API's contract:
//! stable field names, documented once, turned into the OpenAPI document by utoipa.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rocket::http::uri::Origin;
use rocket::http::{ContentType, Status};
use rocket::serde::json::Json;
use rocket::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Maintainer;
use super::cache::{Conditional, IfNoneMatch, Rendered};
use super::error::{ApiError, ErrorBody};
use super::repos::{self, Cursor, Order, RepoFilter, SortKey};
use super::views::{self, Delta, Freshness, LanguageMeasure};
use super::WebState;
use crate::domain::{DayTotals, OrgId, OrgOutcome, RefreshRun, RepoRecord, RunId, Totals};
use crate::store::{OrgDetail, OrgOverview};

/// Most repositories one page of `/repos` returns.
pub const MAX_LIMIT: usize = 100;

// ----- response types ------------------------------------------------------------------------

/// Totals over an organisation's live repositories on one day.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotalsView {
    pub repos: u64,
    pub stars: u64,
    pub forks: u64,
    pub open_issues: u64,
    pub watchers: u64,
    pub archived: u64,
    pub size_kb: u64,
}

impl From<&Totals> for TotalsView {
    fn from(t: &Totals) -> Self {
        TotalsView {
            repos: t.repos,
            stars: t.stars,
            forks: t.forks,
            open_issues: t.open_issues,
            watchers: t.watchers,
            archived: t.archived,
            size_kb: t.size_kb,
        }
    }
}

/// How the latest refresh of an organisation went.
#[derive(Debug, Serialize, ToSchema)]
pub struct LastRefresh {
    /// `ok`, `partial`, `failed`, `rate_limited` or `not_found`.
    pub status: String,
    pub at: DateTime<Utc>,
    pub message: Option<String>,
}

impl From<&OrgOutcome> for LastRefresh {
    fn from(o: &OrgOutcome) -> Self {
        LastRefresh {
            status: o.status.to_string(),
            at: o.finished_at,
            message: o.message.clone(),
        }
    }
}

/// A tracked organisation with its totals and last refresh.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgSummary {
    /// `FORGE:LOGIN`.
    #[schema(example = "github:rust-lang")]
    pub id: String,
    pub forge: String,
    pub login: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub html_url: Option<String>,
    /// When it was added to the tracked list (`null` for data kept after untracking).
    pub tracked_since: Option<DateTime<Utc>>,
    pub freshness: Freshness,
    pub last_refresh: Option<LastRefresh>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// The latest snapshot's day.
    pub latest_day: Option<NaiveDate>,
    pub totals: Option<TotalsView>,
}

/// Changes of the totals over 1, 7 and 30 days; `null` where history is not that deep.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deltas {
    pub d1: Option<Delta>,
    pub d7: Option<Delta>,
    pub d30: Option<Delta>,
}

/// One organisation with profile, totals, deltas and language mix.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgView {
    #[serde(flatten)]
    pub summary: OrgSummary,
    pub location: Option<String>,
    pub blog: Option<String>,
    pub followers: Option<u64>,
    pub public_repos: Option<u64>,
    pub created_at: Option<DateTime<Utc>>,
    pub is_verified: Option<bool>,
    pub deltas: Deltas,
    /// `bytes` (per-language byte counts) or `repos` (repositories by primary language).
    pub languages_measure: Option<String>,
    pub languages: BTreeMap<String, u64>,
}

/// One repository.
#[derive(Debug, Serialize, ToSchema)]
pub struct RepoView {
    /// The forge's numeric id: stable across renames.
    pub id: i64,
    pub name: String,
    pub full_name: String,
    pub description: Option<String>,
    pub html_url: Option<String>,
    pub language: Option<String>,
    pub stars: u64,
    pub forks: u64,
    pub open_issues: u64,
    pub watchers: u64,
    pub license: Option<String>,
    pub topics: Vec<String>,
    pub archived: bool,
    pub fork: bool,
    pub size_kb: u64,
    pub default_branch: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub pushed_at: Option<DateTime<Utc>>,
    /// Language → bytes, when fetched.
    pub languages: Option<BTreeMap<String, u64>>,
    /// Libraries its SBOM lists, when fetched and available.
    pub libraries: Option<u64>,
    pub first_seen: NaiveDate,
    /// The day a complete listing first missed it.
    pub gone_since: Option<NaiveDate>,
}

impl From<&RepoRecord> for RepoView {
    fn from(r: &RepoRecord) -> Self {
        let l = &r.listing;
        RepoView {
            id: l.id,
            name: l.name.clone(),
            full_name: l.full_name.clone(),
            description: l.description.clone(),
            html_url: l.html_url.clone(),
            language: l.language.clone(),
            stars: l.stars,
            forks: l.forks,
            open_issues: l.open_issues,
            watchers: l.watchers,
            license: l.license.clone(),
            topics: l.topics.clone(),
            archived: l.archived,
            fork: l.fork,
            size_kb: l.size_kb,
            default_branch: l.default_branch.clone(),
            created_at: l.created_at,
            updated_at: l.updated_at,
            pushed_at: l.pushed_at,
            languages: r.languages.clone(),
            libraries: r.libraries,
            first_seen: r.first_seen,
            gone_since: r.gone_since,
        }
    }
}

/// A page of repositories.
#[derive(Debug, Serialize, ToSchema)]
pub struct RepoPage {
    pub items: Vec<RepoView>,
    /// How many repositories match, over all pages.
    pub total: usize,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// One day of an organisation's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayView {
    pub day: NaiveDate,
    pub taken_at: DateTime<Utc>,
    pub totals: TotalsView,
    /// Language → bytes (empty when per-repo languages were not fetched).
    pub languages: BTreeMap<String, u64>,
    /// Primary language → repositories.
    pub primary_languages: BTreeMap<String, u64>,
}

impl From<&DayTotals> for DayView {
    fn from(d: &DayTotals) -> Self {
        DayView {
            day: d.day,
            taken_at: d.taken_at,
            totals: (&d.totals).into(),
            languages: d.languages.clone(),
            primary_languages: d.primary_languages.clone(),
        }
    }
}

/// Daily snapshots of one organisation, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    pub org: String,
    pub days: Vec<DayView>,
}

/// A library and how many live repositories use it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LibraryUse {
    pub name: String,
    pub repos: u64,
}

/// The libraries of one ecosystem (`cargo`, `npm`, `pypi`, …), most used first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ecosystem {
    pub ecosystem: String,
    pub libraries: Vec<LibraryUse>,
}

/// Dependencies found in an organisation's SBOMs, by ecosystem.
#[derive(Debug, Serialize, ToSchema)]
pub struct Libraries {
    pub org: String,
    pub ecosystems: Vec<Ecosystem>,
}

/// Request counters of a run or of one organisation in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountsView {
    pub requests: u64,
    /// Requests answered `304 Not Modified` (free against the rate limit).
    pub not_modified: u64,
    pub retries: u64,
    pub repos_seen: u64,
    pub repos_changed: u64,
    pub repos_gone: u64,
    pub malformed_skipped: u64,
    pub details_failed: u64,
}

/// One organisation's result within a run.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgOutcomeView {
    pub org: String,
    /// `ok`, `partial`, `failed`, `rate_limited` or `not_found`.
    pub status: String,
    pub message: Option<String>,
    pub counts: CountsView,
    pub finished_at: DateTime<Utc>,
}

/// A refresh run.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunView {
    pub id: String,
    /// `cli`, `schedule`, `catch_up` or `api`.
    pub trigger: String,
    /// `queued`, `running`, `succeeded`, `partial`, `failed` or `interrupted`.
    pub status: String,
    pub orgs_requested: Vec<String>,
    /// Organisations finished so far.
    pub orgs_done: usize,
    pub languages_fetched: bool,
    pub libraries_fetched: bool,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub counts: CountsView,
    pub rate_limit_remaining: Option<u64>,
    pub message: Option<String>,
    pub outcomes: Vec<OrgOutcomeView>,
}

fn counts(c: &crate::domain::RunCounts) -> CountsView {
    CountsView {
        requests: c.requests,
        not_modified: c.not_modified,
        retries: c.retries,
        repos_seen: c.repos_seen,
        repos_changed: c.repos_changed,
        repos_gone: c.repos_gone,
        malformed_skipped: c.malformed_skipped,
        details_failed: c.details_failed,
    }
}

impl From<&RefreshRun> for RunView {
    fn from(r: &RefreshRun) -> Self {
        let trigger = serde_json::to_value(r.trigger)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        RunView {
            id: r.id.to_string(),
            trigger,
            status: r.status.as_str().to_owned(),
            orgs_requested: r.orgs_requested.iter().map(ToString::to_string).collect(),
            orgs_done: r.outcomes.len(),
            languages_fetched: r.options.languages,
            libraries_fetched: r.options.libraries,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
            counts: counts(&r.counts),
            rate_limit_remaining: r.rate_limit_remaining,
            message: r.message.clone(),
            outcomes: r
                .outcomes
                .iter()
                .map(|o| OrgOutcomeView {
                    org: o.org.to_string(),
                    status: o.status.to_string(),
                    message: o.message.clone(),
                    counts: counts(&o.counts),
                    finished_at: o.finished_at,
                })
                .collect(),
        }
    }
}

// ----- building answers ----------------------------------------------------------------------

fn summary(
    org: &OrgId,
    tracked_since: Option<DateTime<Utc>>,
    outcome: Option<&OrgOutcome>,
    success: Option<DateTime<Utc>>,
    record: Option<&crate::domain::OrgRecord>,
    history: &[DayTotals],
) -> OrgSummary {
    let profile = record.map(|r| &r.profile);
    OrgSummary {
        id: org.to_string(),
        forge: org.forge().to_string(),
        login: org.login().to_owned(),
        name: profile.and_then(|p| p.name.clone()),
        description: profile.and_then(|p| p.description.clone()),
        html_url: profile.and_then(|p| p.html_url.clone()),
        tracked_since,
        freshness: Freshness::of(outcome, success, Utc::now()),
        last_refresh: outcome.map(Into::into),
        last_success_at: success,
        latest_day: history.last().map(|d| d.day),
        totals: history.last().map(|d| (&d.totals).into()),
    }
}

fn overview_summary(o: &OrgOverview) -> OrgSummary {
    let t = &o.tracked;
    summary(
        &t.org,
        Some(t.added_at),
        t.last_outcome.as_ref(),
        t.last_success_at,
        o.record.as_ref(),
        &o.history,
    )
}

fn org_view(d: &OrgDetail) -> OrgView {
    let profile = d.record.as_ref().map(|r| &r.profile);
    let mix = d.history.last().map(views::language_mix);
    OrgView {
        summary: summary(
            &d.org,
            d.tracked_since,
            d.last_outcome.as_ref(),
            d.last_success_at,
            d.record.as_ref(),
            &d.history,
        ),
        location: profile.and_then(|p| p.location.clone()),
        blog: profile.and_then(|p| p.blog.clone()),
        followers: profile.and_then(|p| p.followers),
        public_repos: profile.and_then(|p| p.public_repos),
        created_at: profile.and_then(|p| p.created_at),
        is_verified: profile.and_then(|p| p.is_verified),
        deltas: Deltas {
            d1: views::delta(&d.history, 1),
            d7: views::delta(&d.history, 7),
            d30: views::delta(&d.history, 30),
        },
        languages_measure: mix.map(|(m, _)| {
            if m == LanguageMeasure::Bytes {
                "bytes"
            } else {
                "repos"
            }
            .to_owned()
        }),
        languages: mix.map(|(_, l)| l.clone()).unwrap_or_default(),
    }
}

fn json_body<T: Serialize>(value: &T) -> Result<Rendered, ApiError> {
    let body = serde_json::to_vec(value).map_err(|e| {
        tracing::error!(error = %e, "could not serialise an answer");
        ApiError::internal()
    })?;
    Ok(Rendered::new(body, ContentType::JSON))
}

/// Parses `{forge}/{login}`; invalid → 422 naming the problem.
pub fn parse_org(forge: &str, login: &str) -> Result<OrgId, ApiError> {
    forge
        .parse()
        .and_then(|forge| OrgId::new(forge, login))
        .map_err(|e| ApiError::invalid(e.to_string()))
}

/// Answers from one organisation's cached detail (404 when it is unknown), cached per URL
/// and conditional on `If-None-Match`.
async fn org_answer(
    state: &WebState,
    uri: &Origin<'_>,
    validators: &IfNoneMatch,
    org: &OrgId,
    answer: impl FnOnce(&OrgDetail) -> Result<Rendered, ApiError>,
) -> Result<Conditional, ApiError> {
    let rendered = state
        .cache
        .rendered(state.store.as_ref(), &uri.to_string(), || async {
            match state
                .cache
                .detail(state.store.as_ref(), org)
                .await?
                .as_ref()
            {
                Some(detail) => answer(detail),
                None => Err(ApiError::not_found(format!(
                    "{org} is not tracked and nothing is stored about it"
                ))),
            }
        })
        .await?;
    Ok(Conditional::new(rendered, validators))
}

fn parse_day(name: &str, value: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    value
        .map(|v| {
            v.parse::<NaiveDate>().map_err(|_| {
                ApiError::invalid(format!("{name} must be a date like 2026-01-31, got `{v}`"))
            })
        })
        .transpose()
}

// ----- routes --------------------------------------------------------------------------------

/// Every tracked organisation with totals and last refresh.
#[utoipa::path(get, path = "/api/v1/orgs", tag = "organisations",
    responses((status = 200, description = "Tracked organisations, by id", body = [OrgSummary])))]
#[rocket::get("/orgs")]
pub async fn list_orgs(
    state: &State<WebState>,
    uri: &Origin<'_>,
    validators: IfNoneMatch,
) -> Result<Conditional, ApiError> {
    let rendered = state
        .cache
        .rendered(state.store.as_ref(), &uri.to_string(), || async {
            let overview = state.cache.overview(state.store.as_ref()).await?;
            json_body(&overview.iter().map(overview_summary).collect::<Vec<_>>())
        })
        .await?;
    Ok(Conditional::new(rendered, &validators))
}

/// One organisation with totals, 1/7/30-day deltas and language mix.
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}", tag = "organisations",
    params(("forge" = String, Path, description = "`github`"), ("login" = String, Path, description = "The organisation's login")),
    responses(
        (status = 200, description = "The organisation", body = OrgView),
        (status = 404, description = "Neither tracked nor stored", body = ErrorBody),
        (status = 422, description = "Not a valid organisation id", body = ErrorBody)))]
#[rocket::get("/orgs/<forge>/<login>", rank = 2)]
pub async fn get_org(
    state: &State<WebState>,
    uri: &Origin<'_>,
    validators: IfNoneMatch,
    forge: &str,
    login: &str,
) -> Result<Conditional, ApiError> {
    let org = parse_org(forge, login)?;
    org_answer(state, uri, &validators, &org, |detail| {
        json_body(&org_view(detail))
    })
    .await
}

/// An organisation's live repositories, sorted, filtered and paged by cursor.
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/repos", tag = "repositories",
    params(
        ("forge" = String, Path, description = "`github`"),
        ("login" = String, Path, description = "The organisation's login"),
        ("sort" = Option<String>, Query, description = "name, stars (default), forks, open_issues, pushed, created, language, license"),
        ("order" = Option<String>, Query, description = "asc or desc (default: desc for numbers and dates, asc for text)"),
        ("q" = Option<String>, Query, description = "Case-insensitive text in name, description or topics"),
        ("language" = Option<String>, Query, description = "Primary language, exact (case-insensitive)"),
        ("archived" = Option<bool>, Query, description = "Only archived (true) or only active (false)"),
        ("limit" = Option<usize>, Query, description = "1–100, default 30"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page")),
    responses(
        (status = 200, description = "A page of repositories", body = RepoPage),
        (status = 404, description = "Unknown organisation", body = ErrorBody),
        (status = 422, description = "A parameter is invalid", body = ErrorBody)))]
#[rocket::get(
    "/orgs/<forge>/<login>/repos?<sort>&<order>&<q>&<language>&<archived>&<limit>&<cursor>"
)]
#[expect(
    clippy::too_many_arguments,
    reason = "Rocket hands each query parameter over as an argument"
)]
pub async fn list_repos(
    state: &State<WebState>,
    uri: &Origin<'_>,
    validators: IfNoneMatch,
    forge: &str,
    login: &str,
    sort: Option<&str>,
    order: Option<&str>,
    q: Option<&str>,
    language: Option<&str>,
    archived: Option<&str>,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<Conditional, ApiError> {
    let org = parse_org(forge, login)?;
    let key: SortKey = sort
        .map(str::parse)
        .transpose()
        .map_err(ApiError::invalid)?
        .unwrap_or(SortKey::Stars);
    let order: Order = order
        .map(str::parse)
        .transpose()
        .map_err(ApiError::invalid)?
        .unwrap_or(key.natural_order());
    let archived = match archived {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "archived must be true or false, got `{other}`"
            )))
        }
    };
    let limit = match limit {
        None => 30,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "limit must be a whole number from 1 to {MAX_LIMIT}, got `{l}`"
                ))
            })?,
    };
    let cursor = cursor
        .map(Cursor::decode)
        .transpose()
        .map_err(ApiError::invalid)?;
    let non_empty = |v: Option<&str>| {
        v.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let filter = RepoFilter {
        q: non_empty(q),
        language: non_empty(language),
        archived,
        license: None,
    };
    org_answer(state, uri, &validators, &org, |detail| {
        let selected = repos::select(&detail.repos, &filter, key, order);
        let total = selected.len();
        let after: Vec<&RepoRecord> = match &cursor {
            Some(c) => selected
                .into_iter()
                .filter(|r| c.precedes(r, key, order))
                .collect(),
            None => selected,
        };
        let items: Vec<&RepoRecord> = after.iter().take(limit).copied().collect();
        let next_cursor =
            (after.len() > limit).then(|| Cursor::after(items[items.len() - 1], key).encode());
        json_body(&RepoPage {
            items: items.into_iter().map(Into::into).collect(),
            total,
            next_cursor,
        })
    })
    .await
}

/// The CSV columns, in order: a stable contract for spreadsheets and scripts.
pub const CSV_COLUMNS: [&str; 22] = [
    "id",
    "name",
    "full_name",
    "description",
    "html_url",
    "language",
    "stars",
    "forks",
    "open_issues",
    "watchers",
    "license",
    "topics",
    "archived",
    "fork",
    "size_kb",
    "default_branch",
    "created_at",
    "updated_at",
    "pushed_at",
    "libraries",
    "first_seen",
    "gone_since",
];

/// Every stored repository of an organisation (gone ones included) as RFC 4180 CSV.
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/repos.csv", tag = "repositories",
    params(("forge" = String, Path, description = "`github`"), ("login" = String, Path, description = "The organisation's login")),
    responses(
        (status = 200, description = "CSV with a header row; topics are separated by `;`", content_type = "text/csv"),
        (status = 404, description = "Unknown organisation", body = ErrorBody)))]
#[rocket::get("/orgs/<forge>/<login>/repos.csv", rank = 1)]
pub async fn repos_csv(
    state: &State<WebState>,
    uri: &Origin<'_>,
    validators: IfNoneMatch,
    forge: &str,
    login: &str,
) -> Result<Conditional, ApiError> {
    let org = parse_org(forge, login)?;
    org_answer(state, uri, &validators, &org, |detail| {
        let body = csv_of(&detail.repos).map_err(|e| {
            tracing::error!(error = %e, "could not write CSV");
            ApiError::internal()
        })?;
        let filename = format!("{}-{}-repos.csv", org.forge(), org.login());
        Ok::<_, ApiError>(
            Rendered::new(
                body,
                ContentType::new("text", "csv").with_params(("charset", "utf-8")),
            )
            .with_header(
                "Content-Disposition",
                format!("attachment; filename=\"{filename}\""),
            ),
        )
    })
    .await
}

fn csv_of(repos: &[RepoRecord]) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    out.write_record(CSV_COLUMNS)?;
    let time = |t: Option<DateTime<Utc>>| {
        t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default()
    };
    for r in repos {
        let l = &r.listing;
        out.write_record([
            l.id.to_string(),
            l.name.clone(),
            l.full_name.clone(),
            l.description.clone().unwrap_or_default(),
            l.html_url.clone().unwrap_or_default(),
            l.language.clone().unwrap_or_default(),
            l.stars.to_string(),
            l.forks.to_string(),
            l.open_issues.to_string(),
            l.watchers.to_string(),
            l.license.clone().unwrap_or_default(),
            l.topics.join(";"),
            l.archived.to_string(),
            l.fork.to_string(),
            l.size_kb.to_string(),
            l.default_branch.clone().unwrap_or_default(),
            time(l.created_at),
            time(l.updated_at),
            time(l.pushed_at),
            r.libraries.map(|n| n.to_string()).unwrap_or_default(),
            r.first_seen.to_string(),
            r.gone_since.map(|d| d.to_string()).unwrap_or_default(),
        ])?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

/// Daily snapshots of an organisation between `from` and `to` (inclusive), oldest first.
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/history", tag = "organisations",
    params(
        ("forge" = String, Path, description = "`github`"),
        ("login" = String, Path, description = "The organisation's login"),
        ("from" = Option<String>, Query, description = "First day, `YYYY-MM-DD`"),
        ("to" = Option<String>, Query, description = "Last day, `YYYY-MM-DD`")),
    responses(
        (status = 200, description = "Daily totals", body = History),
        (status = 404, description = "Unknown organisation", body = ErrorBody),
        (status = 422, description = "A parameter is invalid", body = ErrorBody)))]
#[rocket::get("/orgs/<forge>/<login>/history?<from>&<to>")]
pub async fn history(
    state: &State<WebState>,
    uri: &Origin<'_>,
    validators: IfNoneMatch,
    forge: &str,
    login: &str,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Conditional, ApiError> {
    let org = parse_org(forge, login)?;
    let (from, to) = (parse_day("from", from)?, parse_day("to", to)?);
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(ApiError::invalid(format!("from ({f}) is after to ({t})")));
        }
    }
    org_answer(state, uri, &validators, &org, |detail| {
        let days = detail
            .history
            .iter()
            .filter(|d| from.is_none_or(|f| d.day >= f) && to.is_none_or(|t| d.day <= t))
            .map(Into::into)
            .collect();
        json_body(&History {
            org: org.to_string(),
            days,
        })
    })
    .await
}

/// Dependencies found in the organisation's SBOMs, by ecosystem.
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/libraries", tag = "organisations",
    params(("forge" = String, Path, description = "`github`"), ("login" = String, Path, description = "The organisation's login")),
    responses(
        (status = 200, description = "Libraries by ecosystem, most used first", body = Libraries),
        (status = 404, description = "Unknown organisation", body = ErrorBody)))]
#[rocket::get("/orgs/<forge>/<login>/libraries")]
pub async fn libraries(
    state: &State<WebState>,
    uri: &Origin<'_>,
    validators: IfNoneMatch,
    forge: &str,
    login: &str,
) -> Result<Conditional, ApiError> {
    let org = parse_org(forge, login)?;
    org_answer(state, uri, &validators, &org, |detail| {
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

/// Refresh runs with the schedule and its next planned run.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunList {
    /// The cron expression (with seconds, UTC); `null` when this server does not schedule.
    pub schedule: Option<String>,
    pub next_scheduled_at: Option<DateTime<Utc>>,
    /// Newest first.
    pub runs: Vec<RunView>,
}

/// Refresh runs, newest first, and when the next scheduled one is due.
#[utoipa::path(get, path = "/api/v1/runs", tag = "runs",
    params(("limit" = Option<usize>, Query, description = "1–200, default 50")),
    responses((status = 200, description = "Runs, newest first", body = RunList), (status = 422, description = "Invalid limit", body = ErrorBody)))]
#[rocket::get("/runs?<limit>")]
pub async fn list_runs(
    state: &State<WebState>,
    uri: &Origin<'_>,
    validators: IfNoneMatch,
    limit: Option<&str>,
) -> Result<Conditional, ApiError> {
    let limit = match limit {
        None => 50,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=200).contains(l))
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "limit must be a whole number from 1 to 200, got `{l}`"
                ))
            })?,
    };
    let rendered = state
        .cache
        .rendered(state.store.as_ref(), &uri.to_string(), || async {
            let runs = state.store.list_runs(limit).await?;
            json_body(&RunList {
                schedule: state.schedule.as_ref().map(|s| s.expr().to_owned()),
                next_scheduled_at: state
                    .schedule
                    .as_ref()
                    .and_then(|s| s.next_after(Utc::now())),
                runs: runs.iter().map(RunView::from).collect(),
            })
        })
        .await?;
    Ok(Conditional::new(rendered, &validators))
}

/// One run with its per-organisation outcome and progress.
#[utoipa::path(get, path = "/api/v1/runs/{id}", tag = "runs",
    params(("id" = String, Path, description = "The run's id")),
    responses((status = 200, description = "The run", body = RunView), (status = 404, description = "No such run", body = ErrorBody)))]
#[rocket::get("/runs/<id>")]
pub async fn get_run(
    state: &State<WebState>,
    id: &str,
) -> Result<rocket::serde::json::Json<RunView>, ApiError> {
    // Not cached: clients poll this while a run is going.
    match state.store.get_run(&RunId(id.to_owned())).await? {
        Some(run) => Ok(rocket::serde::json::Json((&run).into())),
        None => Err(ApiError::not_found(format!("there is no run {id}"))),
    }
}

// ----- routes that change things (bearer token) ----------------------------------------------

/// Largest request body accepted.
const BODY_LIMIT: rocket::data::ByteUnit = rocket::data::ByteUnit::Kibibyte(16);

/// Reads a JSON body; `None` for an empty one.
async fn json_request(body: rocket::Data<'_>) -> Result<Option<serde_json::Value>, ApiError> {
    let text = body.open(BODY_LIMIT).into_string().await.map_err(|e| {
        ApiError::new(
            Status::BadRequest,
            "bad_request",
            format!("the body could not be read: {e}"),
        )
    })?;
    if !text.is_complete() {
        return Err(ApiError::new(
            Status::PayloadTooLarge,
            "too_large",
            format!("the body is larger than {BODY_LIMIT}"),
        ));
    }
    if text.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(&text).map(Some).map_err(|e| {
        ApiError::new(
            Status::BadRequest,
            "malformed_json",
            format!("the body is not valid JSON: {e}"),
        )
    })
}

/// `{"id":"github:foo"}`.
#[derive(Debug, serde::Deserialize, ToSchema)]
pub struct TrackRequest {
    /// `FORGE:LOGIN`.
    #[schema(example = "github:rust-lang")]
    pub id: String,
}

/// A tracked-list change.
#[derive(Debug, Serialize, ToSchema)]
pub struct Tracking {
    pub id: String,
    pub tracked: bool,
    /// `true` when this request changed the list.
    pub changed: bool,
    /// Whether stored data was deleted (removal with `purge=true`).
    pub purged: bool,
}

/// Starts tracking an organisation; it is fetched on the next refresh.
#[utoipa::path(post, path = "/api/v1/orgs", tag = "organisations", request_body = TrackRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Now tracked", body = Tracking),
        (status = 200, description = "Was already tracked", body = Tracking),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 413, description = "Body larger than 16 KiB", body = ErrorBody),
        (status = 422, description = "Not a valid organisation id", body = ErrorBody)))]
#[rocket::post("/orgs", data = "<body>")]
pub async fn track_org(
    state: &State<WebState>,
    _who: Maintainer,
    body: rocket::Data<'_>,
) -> Result<(Status, Json<Tracking>), ApiError> {
    let value = json_request(body)
        .await?
        .ok_or_else(|| ApiError::invalid("send {\"id\":\"FORGE:LOGIN\"}"))?;
    let request: TrackRequest = serde_json::from_value(value)
        .map_err(|e| ApiError::invalid(format!("send {{\"id\":\"FORGE:LOGIN\"}}: {e}")))?;
    let org: OrgId = request
        .id
        .parse()
        .map_err(|e: crate::domain::OrgIdError| ApiError::invalid(e.to_string()))?;
    let added = state.store.add_tracked_org(&org, Utc::now()).await?;
    let status = if added { Status::Created } else { Status::Ok };
    Ok((
        status,
        Json(Tracking {
            id: org.to_string(),
            tracked: true,
            changed: added,
            purged: false,
        }),
    ))
}

/// Stops tracking an organisation; its data is kept unless `purge=true`.
#[utoipa::path(delete, path = "/api/v1/orgs/{forge}/{login}", tag = "organisations",
    params(
        ("forge" = String, Path, description = "`github`"),
        ("login" = String, Path, description = "The organisation's login"),
        ("purge" = Option<bool>, Query, description = "Also delete everything stored about it")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "No longer tracked", body = Tracking),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 404, description = "Not tracked (and nothing purged)", body = ErrorBody),
        (status = 422, description = "Invalid id or parameter", body = ErrorBody)))]
#[rocket::delete("/orgs/<forge>/<login>?<purge>")]
pub async fn untrack_org(
    state: &State<WebState>,
    _who: Maintainer,
    forge: &str,
    login: &str,
    purge: Option<&str>,
) -> Result<Json<Tracking>, ApiError> {
    let org = parse_org(forge, login)?;
    let purge = match purge {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "purge must be true or false, got `{other}`"
            )))
        }
    };
    let removed = state.store.remove_tracked_org(&org, purge).await?;
    if !removed && !purge {
        return Err(ApiError::not_found(format!("{org} is not tracked")));
    }
    Ok(Json(Tracking {
        id: org.to_string(),
        tracked: false,
        changed: removed,
        purged: purge,
    }))
}

/// `{"orgs":["github:x"]}`, or no body for every tracked organisation.
#[derive(Debug, serde::Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub orgs: Option<Vec<String>>,
}

/// An accepted refresh.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefreshAccepted {
    pub id: String,
    /// `queued` or `running` (or already finished, when joined late).
    pub status: String,
    /// `true` when a refresh was already running and this request joined it.
    pub coalesced: bool,
}

/// The 202 answer, with `Location` pointing at the run.
#[derive(Debug, rocket::Responder)]
#[response(status = 202)]
pub struct Accepted {
    body: Json<RefreshAccepted>,
    location: rocket::http::Header<'static>,
}

/// Starts a refresh (of the listed organisations, or every tracked one), or joins the one
/// already running in any instance.
#[utoipa::path(post, path = "/api/v1/refresh", tag = "runs",
    request_body(content = Option<RefreshRequest>, description = "Optional: which organisations"),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Started or joined; poll the run at `Location`", body = RefreshAccepted,
            headers(("Location" = String, description = "/api/v1/runs/{id}"))),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 422, description = "An invalid organisation id", body = ErrorBody),
        (status = 503, description = "Shutting down, or the database is not answering", body = ErrorBody)))]
#[rocket::post("/refresh", data = "<body>")]
pub async fn refresh(
    state: &State<WebState>,
    who: Maintainer,
    body: rocket::Data<'_>,
) -> Result<Accepted, ApiError> {
    let orgs = match json_request(body).await? {
        None => None,
        Some(value) => {
            let request: RefreshRequest = serde_json::from_value(value).map_err(|e| {
                ApiError::invalid(format!(
                    "send {{\"orgs\":[\"FORGE:LOGIN\", …]}} or no body: {e}"
                ))
            })?;
            request
                .orgs
                .map(|ids| {
                    ids.iter()
                        .map(|id| {
                            id.parse::<OrgId>()
                                .map_err(|e| ApiError::invalid(e.to_string()))
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?
        }
    };
    let Some(refresher) = state.refresher.clone() else {
        return Err(ApiError::unavailable("this server does not run refreshes"));
    };
    let requested = refresher
        .request_refresh(crate::domain::Trigger::Api, orgs)
        .await
        .map_err(|e| {
            // The chain names internals (database, lease); it goes to the log only.
            tracing::error!(error = format!("{e:#}"), "refresh could not start");
            ApiError::unavailable("the refresh could not start; the server's log says why")
        })?;
    tracing::info!(run = %requested.run.id, token = %who.token, coalesced = requested.coalesced, "refresh requested");
    let id = requested.run.id.to_string();
    Ok(Accepted {
        location: rocket::http::Header::new("Location", format!("/api/v1/runs/{id}")),
        body: Json(RefreshAccepted {
            id,
            status: requested.run.status.as_str().to_owned(),
            coalesced: requested.coalesced,
        }),
    })
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![
        list_orgs,
        get_org,
        list_repos,
        repos_csv,
        history,
        libraries,
        list_runs,
        get_run,
        track_org,
        untrack_org,
        refresh
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let repo: RepoRecord = serde_json::from_value(serde_json::json!({
            "org": "github:a", "id": 1, "name": "x", "full_name": "a/x",
            "description": "says \"hi\", then\nleaves", "html_url": null, "language": null,
            "stars": 1, "watchers": 0, "forks": 0, "open_issues": 0, "license": null,
            "topics": ["a", "b"], "archived": false, "disabled": false, "fork": false, "size_kb": 0,
            "default_branch": null, "created_at": null, "updated_at": null, "pushed_at": null,
            "visibility": null, "languages": null, "languages_for": null, "libraries": null,
            "libraries_for": null, "first_seen": "2026-01-01", "gone_since": null
        }))
        .expect("record");
        let text = String::from_utf8(csv_of(&[repo]).expect("csv")).expect("utf-8");
        assert!(text.starts_with("id,name,full_name,description,"));
        assert!(text.contains("\"says \"\"hi\"\", then\nleaves\""), "{text}");
        assert!(text.contains(",a;b,"));
        assert!(text.ends_with("\r\n"));
    }
}
