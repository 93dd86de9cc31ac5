//! The "Security" section of an organisation's page and of a repository's: how fresh the
//! last OSV check is, vulnerable packages by severity (now and over time, gaps as gaps),
//! the worst of them with their advisories, fixed versions and repositories, and the
//! dependency licence inventory.

use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use serde::Serialize;

use crate::domain::feed::path_segment;
use crate::domain::licenses::LicenseRow;
use crate::domain::scorecard::{self, ScorecardEntry};
use crate::domain::vulnerabilities::{
    self, Finding, SecurityDay, SecurityState, Severity, SeverityCounts,
};
use crate::store::OrgDetail;
use crate::web::charts::{self, thousands, Bar, Series, Width};
use crate::web::views;

/// Vulnerable packages the section lists; the JSON and CSV have them all.
const PACKAGES_SHOWN: usize = 25;
/// Repositories named per package.
const REPOS_SHOWN: usize = 4;
/// Licences the inventory lists.
const LICENSES_SHOWN: usize = 12;

/// What the section reads.
pub(super) struct SecurityInput<'a> {
    pub detail: &'a OrgDetail,
    /// The findings shown (the organisation's, or one repository's).
    pub findings: &'a [Finding],
    pub state: Option<SecurityState>,
    /// The organisation's daily counts over the chart's days (`None`: no chart).
    pub days: Option<(Vec<SecurityDay>, NaiveDate, NaiveDate)>,
    pub licenses: Vec<LicenseRow>,
    /// The Scorecard results stored for the live repositories shown.
    pub scorecards: Vec<ScorecardEntry>,
    /// `/api/v1/orgs/{forge}/{login}` or `…/repos/{name}`.
    pub api: String,
    /// `/orgs/{forge}/{login}`, for links to repositories.
    pub base_url: String,
    pub of_repo: bool,
}

/// What the section shows.
#[derive(Debug, Clone, Serialize)]
pub(super) struct SecuritySection {
    /// `false`: never checked; `status` says why.
    checked: bool,
    status: String,
    /// The results are older than the last check (OSV was not reachable since).
    stale: bool,
    counts: Vec<Count>,
    total: String,
    chart: Option<String>,
    rows: Vec<PackageRow>,
    more: usize,
    licenses: Vec<LicenseBrief>,
    more_licenses: usize,
    json: String,
    csv: Option<String>,
    licenses_json: String,
    licenses_csv: Option<String>,
    /// `None` where no repository's Scorecard result was ever asked.
    scorecard: Option<ScorecardSection>,
    of_repo: bool,
}

/// OpenSSF Scorecard: the distribution over an organisation's repositories, or one
/// repository's checks.
#[derive(Debug, Clone, Serialize)]
struct ScorecardSection {
    scored: usize,
    not_scored: usize,
    median: Option<String>,
    chart: Option<String>,
    /// One repository's result.
    repo: Option<RepoScore>,
}

#[derive(Debug, Clone, Serialize)]
struct RepoScore {
    score: String,
    date: Option<String>,
    checks: Vec<CheckRow>,
}

#[derive(Debug, Clone, Serialize)]
struct CheckRow {
    name: String,
    /// `7/10`, or `n/a` when the check does not apply.
    score: String,
    reason: Option<String>,
    url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
struct Count {
    label: &'static str,
    key: &'static str,
    value: String,
}

#[derive(Debug, Clone, Serialize)]
struct PackageRow {
    ecosystem: String,
    name: String,
    version: String,
    severity: &'static str,
    advisories: Vec<AdvisoryLink>,
    fixed: Option<String>,
    repos: Vec<RepoLink>,
    more_repos: usize,
    first_seen: String,
}

#[derive(Debug, Clone, Serialize)]
struct AdvisoryLink {
    id: String,
    url: String,
    /// Summary, aliases and score, for the link's title.
    title: String,
}

#[derive(Debug, Clone, Serialize)]
struct RepoLink {
    name: String,
    url: String,
}

#[derive(Debug, Clone, Serialize)]
struct LicenseBrief {
    license: String,
    denied: bool,
    packages: String,
    repos: String,
}

fn label(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "Critical",
        Severity::High => "High",
        Severity::Medium => "Medium",
        Severity::Low => "Low",
        Severity::Unknown => "Unrated",
    }
}

/// The section for `input`.
pub(super) fn section(input: SecurityInput<'_>) -> SecuritySection {
    let names = input.detail.repo_names();
    let (checked, status, stale) = match &input.state {
        None => (
            false,
            "Not checked yet. After each refresh the packages of the stored SBOMs (GitHub's dependency graph) are checked against the OSV vulnerability database; ORGPULSE_OSV turns that on or off.".to_owned(),
            false,
        ),
        Some(s) if s.packages == 0 => (
            false,
            "Nothing to check: the stored SBOMs list no package versions in an ecosystem OSV covers (dependency data comes from GitHub's dependency graph).".to_owned(),
            false,
        ),
        Some(s) => {
            let asked = format!(
                "{} package versions{} checked against OSV on {}",
                thousands(s.packages),
                if input.of_repo { " of the organisation" } else { "" },
                views::when(s.checked_at)
            );
            let fresh = match s.confirmed_at {
                Some(at) if at >= s.checked_at => ".".to_owned(),
                Some(at) => format!(
                    "; OSV could not answer for all of them then, so some results are those last confirmed on {}.",
                    views::when(at)
                ),
                None => format!(
                    "; {} have not been answered yet.",
                    thousands(s.unanswered)
                ),
            };
            let unknown = if s.unknown.is_empty() {
                String::new()
            } else {
                format!(
                    " OSV cannot read {} of them ({}).",
                    s.unknown.len(),
                    s.unknown
                        .iter()
                        .take(3)
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let stale = s.confirmed_at.is_none_or(|at| at < s.checked_at);
            (true, format!("{asked}{fresh}{unknown}"), stale)
        }
    };
    let counts = SeverityCounts::of(input.findings);
    let packages = vulnerabilities::by_package(input.findings);
    let more = packages.len().saturating_sub(PACKAGES_SHOWN);
    let rows = packages
        .into_iter()
        .take(PACKAGES_SHOWN)
        .map(|p| {
            let mut repos: Vec<RepoLink> = p
                .repos
                .iter()
                .map(|id| {
                    let name = names.of(*id);
                    RepoLink {
                        url: format!("{}/repos/{}", input.base_url, path_segment(&name)),
                        name,
                    }
                })
                .collect();
            repos.sort_by(|a, b| a.name.cmp(&b.name));
            let more_repos = repos.len().saturating_sub(REPOS_SHOWN);
            repos.truncate(REPOS_SHOWN);
            PackageRow {
                ecosystem: p.package.ecosystem.clone(),
                name: p.package.name.clone(),
                version: p.package.version.clone(),
                severity: p.severity.as_str(),
                advisories: p
                    .advisories
                    .iter()
                    .map(|(a, _)| AdvisoryLink {
                        url: format!("https://osv.dev/vulnerability/{}", a.id),
                        title: [
                            a.summary.clone(),
                            (!a.aliases.is_empty()).then(|| a.aliases.join(", ")),
                            Some(match a.rating.score {
                                Some(score) => format!("{} ({score:.1})", a.rating.severity),
                                None => a.rating.severity.to_string(),
                            }),
                        ]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" — "),
                        id: a.id.clone(),
                    })
                    .collect(),
                fixed: p.fixed,
                repos,
                more_repos,
                first_seen: p.first_seen.format("%Y-%m-%d").to_string(),
            }
        })
        .collect();
    let chart = input.days.map(|(days, from, to)| {
        let by_day: HashMap<NaiveDate, SeverityCounts> =
            days.iter().map(|d| (d.day, d.counts)).collect();
        let mut dates = Vec::new();
        let mut day = from;
        while day <= to {
            dates.push(day);
            day = day + Days::new(1);
        }
        let series: Vec<Series> = [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
        ]
        .into_iter()
        .map(|severity| Series {
            name: label(severity).to_owned(),
            points: dates
                .iter()
                .map(|d| (*d, by_day.get(d).map(|c| c.get(severity))))
                .collect(),
        })
        .collect();
        charts::lines(
            "vulnerabilities",
            "Vulnerable packages by severity",
            &series,
            "packages",
            Width::Wide,
        )
    });
    let more_licenses = input.licenses.len().saturating_sub(LICENSES_SHOWN);
    let licenses = input
        .licenses
        .iter()
        .take(LICENSES_SHOWN)
        .map(|row| LicenseBrief {
            license: row.license.clone(),
            denied: row.denied,
            packages: thousands(row.packages.len() as u64),
            repos: thousands(row.repos().len() as u64),
        })
        .collect();
    let scorecard = (!input.scorecards.is_empty()).then(|| {
        let scores: Vec<f64> = input
            .scorecards
            .iter()
            .filter_map(|e| e.result.as_ref().map(|r| r.score))
            .collect();
        let bands = scorecard::bands(&scores);
        let bars: Vec<Bar> = scorecard::BANDS
            .iter()
            .zip(bands)
            .map(|(label, value)| Bar {
                label: (*label).to_owned(),
                value,
                href: None,
            })
            .collect();
        ScorecardSection {
            scored: scores.len(),
            not_scored: input.scorecards.len() - scores.len(),
            median: scorecard::median(&scores).map(|m| format!("{m:.1}")),
            chart: (!input.of_repo && !scores.is_empty()).then(|| {
                charts::bars(
                    "scorecard",
                    "Repositories by Scorecard score",
                    &bars,
                    "repositories",
                    Width::Panel,
                )
            }),
            repo: input
                .of_repo
                .then(|| input.scorecards.first())
                .flatten()
                .and_then(|e| e.result.as_ref())
                .map(|r| RepoScore {
                    score: format!("{:.1}", r.score),
                    date: r.date.map(|d| d.format("%Y-%m-%d").to_string()),
                    checks: r
                        .checks
                        .iter()
                        .map(|c| CheckRow {
                            name: c.name.clone(),
                            score: c
                                .score
                                .map_or_else(|| "n/a".to_owned(), |s| format!("{s}/10")),
                            reason: c.reason.clone(),
                            url: c.url.clone(),
                        })
                        .collect(),
                }),
        }
    });
    SecuritySection {
        scorecard,
        checked,
        status,
        stale,
        counts: Severity::ALL
            .into_iter()
            .map(|s| Count {
                label: label(s),
                key: s.as_str(),
                value: thousands(counts.get(s)),
            })
            .collect(),
        total: thousands(counts.total()),
        chart,
        rows,
        more,
        licenses,
        more_licenses,
        json: format!("{}/vulnerabilities", input.api),
        csv: (!input.of_repo).then(|| format!("{}/vulnerabilities.csv", input.api)),
        licenses_json: format!("{}/licenses", input.api),
        licenses_csv: (!input.of_repo).then(|| format!("{}/licenses.csv", input.api)),
        of_repo: input.of_repo,
    }
}
