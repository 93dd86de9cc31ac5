//! Known vulnerabilities: an organisation's (or one repository's) vulnerable packages
//! from its stored findings (OSV's advisories on its SBOMs' packages), as JSON and CSV,
//! with how fresh the last check is.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{json_body, known};
use crate::domain::vulnerabilities::{self, Finding, SecurityDay, SecurityState, SeverityCounts};
use crate::domain::OrgId;
use crate::store::OrgDetail;
use crate::web::cache::{CachedGet, Conditional, Scope};
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::OrgPath;
use crate::web::insight;
use crate::web::params::RepoName;

/// The columns of `vulnerabilities.csv`.
pub const VULNERABILITIES_CSV_COLUMNS: [&str; 11] = [
    "ecosystem",
    "name",
    "version",
    "advisory",
    "aliases",
    "severity",
    "score",
    "fixed",
    "repo",
    "first_seen",
    "confirmed_at",
];

/// An organisation's (or a repository's) vulnerable packages.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VulnerabilityReport {
    pub org: String,
    /// The repository, for one repository's report.
    pub repo: Option<String>,
    /// How the last check went; `null` before the first one (or with `ORGPULSE_OSV=off`).
    pub check: Option<CheckView>,
    /// Vulnerable package versions by their worst advisory's severity.
    pub counts: SeverityCounts,
    /// Worst first, then most repositories.
    pub packages: Vec<VulnerablePackageView>,
    /// The organisation's counts per day checked over the year up to its last refresh,
    /// oldest first; a day without a check has no entry (empty for one repository's
    /// report).
    pub history: Vec<SecurityDay>,
}

/// How the last check went.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CheckView {
    /// When OSV was last asked.
    pub checked_at: DateTime<Utc>,
    /// Every package's result is at least this fresh; `null` while some package has never
    /// been answered. Older than `checked_at` when OSV could not be reached since.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// Package versions asked about (with a version, in an ecosystem OSV covers).
    pub packages: u64,
    /// Packages OSV could not read (package-URLs); their earlier results are kept.
    pub unknown: Vec<String>,
    /// Packages never answered yet.
    pub unanswered: u64,
    /// Why the last check was incomplete, if it was.
    pub note: Option<String>,
}

/// A vulnerable package version.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VulnerablePackageView {
    /// The package-URL type (`npm`, `pypi`, `maven`, …).
    pub ecosystem: String,
    pub name: String,
    pub version: String,
    pub purl: String,
    /// `critical`, `high`, `medium`, `low` or `unknown`: the worst advisory's.
    pub severity: String,
    /// The version that fixes every advisory below; `null` when one has no fix.
    pub fixed: Option<String>,
    pub advisories: Vec<AdvisoryView>,
    /// Repository names, sorted.
    pub repos: Vec<String>,
    pub first_seen: DateTime<Utc>,
    pub confirmed_at: DateTime<Utc>,
}

/// One advisory on a package.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AdvisoryView {
    /// OSV's id (`GHSA-…`, `PYSEC-…`, `RUSTSEC-…`, `GO-…`).
    pub id: String,
    /// The same vulnerability elsewhere (`CVE-…`).
    pub aliases: Vec<String>,
    pub summary: Option<String>,
    pub severity: String,
    /// The CVSS base score, when the record has a vector.
    pub score: Option<f64>,
    pub vector: Option<String>,
    /// The version that fixes it for this package; `null` when none is published.
    pub fixed: Option<String>,
    /// The advisory's page on osv.dev.
    pub url: String,
}

/// The packages the organisation's repositories depend on that have known
/// vulnerabilities, from the last check of their SBOMs against OSV.
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/vulnerabilities", tag = "organisations",
    params(OrgPath),
    responses(
        (status = 200, description = "The vulnerable packages", body = VulnerabilityReport),
        (status = 404, description = "Unknown organisation", body = ErrorBody)))]
#[rocket::get("/orgs/<_>/<_>/vulnerabilities")]
pub(crate) async fn list_vulnerabilities(
    get: CachedGet<'_>,
    org: OrgPath,
) -> Result<Conditional, ApiError> {
    let org = org.0;
    get.answer(Scope::Org(org.clone()), || async {
        let detail = known(&get, &org).await?;
        json_body(&report(&get, &org, &detail, None).await?)
    })
    .await
}

/// The same for one repository.
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/repos/{name}/vulnerabilities", tag = "repositories",
    params(OrgPath, RepoName),
    responses(
        (status = 200, description = "The repository's vulnerable packages", body = VulnerabilityReport),
        (status = 404, description = "Unknown organisation or repository", body = ErrorBody)))]
#[rocket::get("/orgs/<_>/<_>/repos/<name>/vulnerabilities")]
pub(crate) async fn repo_vulnerabilities(
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
        let id = repo.listing.id;
        json_body(&report(&get, &org, &detail, Some(id)).await?)
    })
    .await
}

/// One row per package, advisory and repository, as CSV (RFC 4180, a header row).
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/vulnerabilities.csv", tag = "organisations",
    params(OrgPath),
    responses(
        (status = 200, description = "CSV with a header row: ecosystem, name, version, advisory, aliases, severity, score, fixed, repo, first_seen, confirmed_at", content_type = "text/csv"),
        (status = 404, description = "Unknown organisation", body = ErrorBody)))]
#[rocket::get("/orgs/<_>/<_>/vulnerabilities.csv", rank = 1)]
pub(crate) async fn vulnerabilities_csv(
    get: CachedGet<'_>,
    org: OrgPath,
) -> Result<Conditional, ApiError> {
    let org = org.0;
    get.answer(Scope::Org(org.clone()), || async {
        let detail = known(&get, &org).await?;
        let findings = get.state.store.findings(&org, None).await?;
        let names = detail.repo_names();
        let rows = findings.iter().map(|f| {
            [
                f.package.ecosystem.clone(),
                f.package.name.clone(),
                f.package.version.clone(),
                f.advisory.id.clone(),
                f.advisory.aliases.join(" "),
                f.severity().to_string(),
                f.advisory
                    .rating
                    .score
                    .map(|s| format!("{s:.1}"))
                    .unwrap_or_default(),
                f.fixed.clone().unwrap_or_default(),
                names.of(f.repo_id),
                f.first_seen.to_rfc3339(),
                f.confirmed_at.to_rfc3339(),
            ]
        });
        super::csv_answer(
            &VULNERABILITIES_CSV_COLUMNS,
            rows,
            &format!("{}-{}-vulnerabilities.csv", org.forge(), org.login()),
        )
    })
    .await
}

async fn report(
    get: &CachedGet<'_>,
    org: &OrgId,
    detail: &OrgDetail,
    repo_id: Option<i64>,
) -> Result<VulnerabilityReport, ApiError> {
    let findings = get.state.store.findings(org, repo_id).await?;
    let state = get.state.store.security_state(org).await?;
    // The year up to the organisation's data (or its last check, if later), as its other
    // figures are.
    let today = detail
        .record
        .as_ref()
        .map(|r| r.fetched_at)
        .max(state.as_ref().map(|s| s.checked_at))
        .unwrap_or_else(Utc::now)
        .date_naive();
    let mut report = view(org, detail, repo_id, &findings, state);
    if repo_id.is_none() {
        let from = today - chrono::Days::new(365);
        report.history = get.state.store.security_days(org, from, today).await?;
    }
    Ok(report)
}

/// The report of `findings` (an organisation's, or one repository's).
pub(crate) fn view(
    org: &OrgId,
    detail: &OrgDetail,
    repo_id: Option<i64>,
    findings: &[Finding],
    state: Option<SecurityState>,
) -> VulnerabilityReport {
    let names = detail.repo_names();
    let packages = vulnerabilities::by_package(findings)
        .into_iter()
        .map(|p| {
            let mut repos: Vec<String> = p.repos.iter().map(|id| names.of(*id)).collect();
            repos.sort();
            VulnerablePackageView {
                purl: p.package.purl(),
                ecosystem: p.package.ecosystem,
                name: p.package.name,
                version: p.package.version,
                severity: p.severity.to_string(),
                fixed: p.fixed,
                advisories: p
                    .advisories
                    .into_iter()
                    .map(|(a, fixed)| AdvisoryView {
                        url: format!("https://osv.dev/vulnerability/{}", a.id),
                        id: a.id,
                        aliases: a.aliases,
                        summary: a.summary,
                        severity: a.rating.severity.to_string(),
                        score: a.rating.score,
                        vector: a.rating.vector,
                        fixed,
                    })
                    .collect(),
                repos,
                first_seen: p.first_seen,
                confirmed_at: p.confirmed_at,
            }
        })
        .collect();
    VulnerabilityReport {
        org: org.to_string(),
        repo: repo_id.map(|id| names.of(id)),
        check: state.map(|s| CheckView {
            checked_at: s.checked_at,
            confirmed_at: s.confirmed_at,
            packages: s.packages,
            unknown: s.unknown.iter().map(|p| p.purl()).collect(),
            unanswered: s.unanswered,
            note: s.note,
        }),
        counts: SeverityCounts::of(findings),
        packages,
        history: Vec::new(),
    }
}
