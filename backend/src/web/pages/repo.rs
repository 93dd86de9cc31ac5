//! One repository's page: its counts over time (from its own history rows, gaps as gaps),
//! languages, libraries, facts, and links to the forge.

use chrono::Utc;
use rocket::http::{ContentType, Status};
use serde::Serialize;

use super::not_tracked;
use super::org_activity::ActivitySection;
use super::{capitalised, display_name, Kpi};
use crate::domain::activity::Window;
use crate::domain::feed::path_segment;
use crate::domain::{ForgeKind, Library, OpenCounts, RepoDay, RepoRecord};
use crate::web::cache::{CachedGet, Conditional, Rendered, Scope};
use crate::web::charts::{self, thousands, Series, ShareRow, Width};
use crate::web::error::PageError;
use crate::web::extract::OrgPath;
use crate::web::insight;
use crate::web::params::RangeQuery;
use crate::web::range::{self, Range, RangeLink};

#[rocket::get("/orgs/<_>/<_>/repos/<name>?<query..>")]
pub(crate) async fn repo(
    get: CachedGet<'_>,
    org: OrgPath,
    name: &str,
    query: RangeQuery<'_>,
) -> Result<Conditional, PageError> {
    let id = org.0;
    let range = Range::parse(query.range)?;
    get.answer(Scope::Org(id.clone()), || async {
        let detail = get.detail(&id).await?;
        let Some(detail) = detail.as_ref() else {
            return Err(not_tracked(&id));
        };
        let Some(repo) = insight::find_repo(detail, name) else {
            return Err(PageError::new(
                Status::NotFound,
                format!("{id} has no repository `{name}`"),
                format!(
                    "No repository of {id} is named `{name}`. It may have been renamed: the organisation's page lists every repository stored."
                ),
            ));
        };
        let store = get.state.store.as_ref();
        let history = store.repo_history(&id, repo.listing.id, None, None).await?;
        let libraries = store.list_repo_libraries(&id, repo.listing.id).await?;
        let kind = get.state.forges.of(&id).map(|f| f.kind);
        let org_name = display_name(&id, detail.record.as_ref().and_then(|r| r.profile.name.as_deref()));
        // The page's range (a year for "all") and the window before it, of this repository.
        let tomorrow = Utc::now().date_naive() + chrono::Days::new(1);
        let span = Window::ending(tomorrow, range.days().unwrap_or(365));
        let figures = insight::activity(store, &id, Some(repo.listing.id), span)
            .await?
            .map(|found| (found.current, found.previous));
        let api = format!("/api/v1/orgs/{}/repos/{}/activity", id.url_path(), path_segment(&repo.listing.name));
        let activity = super::org_activity::section(figures, api, true);
        let security = super::org::security_section(&get, detail, span, Some(repo)).await?;
        let context = RepoPage { repo, history: &history, libraries: &libraries, kind, org_name, org_url: format!("/orgs/{}", id.url_path()), org_id: id.to_string(), range }.context(activity, security);
        let html = get.state.templates.render("repo.html", "orgs", &context)?;
        Ok(Rendered::new(html, ContentType::HTML))
    })
    .await
}

struct RepoPage<'a> {
    repo: &'a RepoRecord,
    history: &'a [RepoDay],
    libraries: &'a [Library],
    kind: Option<ForgeKind>,
    org_name: String,
    org_url: String,
    org_id: String,
    range: Range,
}

/// What `repo.html` shows.
#[derive(Debug, Serialize)]
struct RepoView {
    org: OrgRef,
    repo: RepoHeader,
    notices: Vec<String>,
    kpis: Vec<Kpi>,
    charts: RepoCharts,
    issues_label: &'static str,
    /// Label and value, in order.
    facts: Vec<[String; 2]>,
    libraries: Vec<LibraryRow>,
    /// Whether its libraries were ever asked (an empty list then means none).
    libraries_known: bool,
    json: String,
    ranges: Vec<RangeLink>,
    activity: ActivitySection,
    security: super::security::SecuritySection,
}

#[derive(Debug, Serialize)]
struct OrgRef {
    id: String,
    name: String,
    url: String,
    forge: &'static str,
}

#[derive(Debug, Serialize)]
struct RepoHeader {
    name: String,
    full_name: String,
    description: Option<String>,
    html_url: Option<String>,
    archived: bool,
    fork: bool,
    visibility: Option<String>,
    gone_since: Option<String>,
}

#[derive(Debug, Serialize)]
struct RepoCharts {
    stars: String,
    forks: String,
    issues: String,
    languages: String,
    languages_note: &'static str,
}

#[derive(Debug, Serialize)]
struct LibraryRow {
    ecosystem: String,
    name: String,
    version: Option<String>,
    license: Option<String>,
}

impl RepoPage<'_> {
    fn context(
        &self,
        activity: ActivitySection,
        security: super::security::SecuritySection,
    ) -> RepoView {
        let r = self.repo;
        let l = &r.listing;
        let kind = self.kind.unwrap_or(ForgeKind::GitHub);
        // A day's value is absent where the repository was not listed, or the forge did
        // not say (an unknown open-issue count): a gap, never a zero.
        let points = |pick: fn(&crate::domain::DayCounts) -> Option<u64>| -> Vec<_> {
            self.history
                .iter()
                .map(|d| (d.day, d.counts.as_ref().and_then(pick)))
                .collect()
        };
        let shown = self.range.keep(self.history, |d| d.day);
        let series = |name: &str, pick: fn(&crate::domain::DayCounts) -> Option<u64>| Series {
            name: name.into(),
            points: shown
                .iter()
                .map(|d| (d.day, d.counts.as_ref().and_then(pick)))
                .collect(),
        };
        let kpi = |label: &str,
                   value: Option<u64>,
                   pick: fn(&crate::domain::DayCounts) -> Option<u64>| Kpi {
            label: label.to_owned(),
            value: value.map_or_else(|| "unknown".to_owned(), thousands),
            deltas: range::delta_cells(&points(pick), self.range),
        };
        let languages = match &r.languages {
            Some(mix) if mix.values().any(|v| *v > 0) => charts::shares(
                "languages",
                "Languages",
                &[ShareRow {
                    label: l.name.clone(),
                    parts: mix.iter().map(|(k, v)| (k.clone(), *v)).collect(),
                }],
                if kind.languages_in_bytes() {
                    "bytes"
                } else {
                    "share"
                },
            ),
            _ => String::new(),
        };
        let time = |t: Option<chrono::DateTime<Utc>>| t.map(|t| t.format("%Y-%m-%d").to_string());
        let mut notices = Vec::new();
        if let Some(gone) = r.gone_since {
            notices.push(format!(
                "Not listed by the forge since {gone}: deleted, made private or moved out of the organisation. The data below is the last seen."
            ));
        }
        if self.history.iter().any(|d| d.counts.is_none()) {
            notices.push(
                "Some days' snapshots did not list it: those days are gaps in the charts."
                    .to_owned(),
            );
        }
        let mut facts: Vec<[String; 2]> = vec![
            [
                String::from("Primary language"),
                l.language.clone().unwrap_or_else(|| "unknown".into()),
            ],
            [
                String::from("Licence"),
                l.license.clone().unwrap_or_else(|| "none".into()),
            ],
            [
                String::from("Default branch"),
                l.default_branch.clone().unwrap_or_else(|| "unknown".into()),
            ],
            [
                String::from("Created"),
                time(l.created_at).unwrap_or_else(|| "unknown".into()),
            ],
            [
                capitalised(kind.activity_label()),
                time(l.activity_at()).unwrap_or_else(|| "never".into()),
            ],
            [String::from("Size"), format!("{} KB", thousands(l.size_kb))],
            [String::from("Watchers"), thousands(l.watchers)],
            [
                String::from("Topics"),
                if l.topics.is_empty() {
                    "none".to_owned()
                } else {
                    l.topics.join(", ")
                },
            ],
            [
                String::from("First seen by orgpulse"),
                r.first_seen.to_string(),
            ],
        ];
        // Open issues and pull requests apart where they are counted apart (GitHub's
        // GraphQL with a token, Gitea/Forgejo's listing), "unknown" on GitHub without:
        // never a number that mixes the two under either word.
        let unknown = || "unknown".to_owned();
        let open = OpenCounts::of_repo(Some(kind), r);
        if kind == ForgeKind::GitHub || open.pull_requests.is_some() {
            facts.extend([
                [
                    "Open issues".into(),
                    open.issues.map_or_else(unknown, thousands),
                ],
                [
                    "Open pull requests".into(),
                    open.pull_requests.map_or_else(unknown, thousands),
                ],
            ]);
        }
        // GitHub's GraphQL details; other forges have no such details.
        if kind == ForgeKind::GitHub {
            let d = r.details.as_ref();
            facts.extend([
                [
                    "Latest release".into(),
                    d.map_or_else(unknown, |d| {
                        d.latest_release.as_ref().map_or_else(
                            || "none".to_owned(),
                            |rel| match time(rel.published_at) {
                                Some(day) => format!("{} ({day})", rel.tag),
                                None => rel.tag.clone(),
                            },
                        )
                    }),
                ],
                [
                    "Last commit".into(),
                    d.map_or_else(unknown, |d| {
                        time(d.last_commit_at).unwrap_or_else(|| "none".into())
                    }),
                ],
            ]);
        }
        let page = format!("{}/repos/{}", self.org_url, path_segment(&l.name));
        RepoView {
            org: OrgRef {
                id: self.org_id.clone(),
                name: self.org_name.clone(),
                url: self.org_url.clone(),
                forge: kind.label(),
            },
            repo: RepoHeader {
                name: l.name.clone(),
                full_name: l.full_name.clone(),
                description: l.description.clone(),
                html_url: l.html_url.clone(),
                archived: l.archived,
                fork: l.fork,
                visibility: l.visibility.clone(),
                gone_since: r.gone_since.map(|d| d.to_string()),
            },
            notices,
            kpis: vec![
                kpi("Stars", Some(l.stars), |c| Some(c.stars)),
                kpi("Forks", Some(l.forks), |c| Some(c.forks)),
                kpi(kind.open_issues_label(), l.open_issues, |c| c.open_issues),
            ],
            charts: RepoCharts {
                stars: charts::lines(
                    "repo-stars",
                    "Stars over time",
                    &[series("Stars", |c| Some(c.stars))],
                    "stars",
                    Width::Panel,
                ),
                forks: charts::lines(
                    "repo-forks",
                    "Forks over time",
                    &[series("Forks", |c| Some(c.forks))],
                    "forks",
                    Width::Panel,
                ),
                issues: charts::lines(
                    "repo-issues",
                    &format!("{} over time", kind.open_issues_label()),
                    &[series(kind.open_issues_short(), |c| c.open_issues)],
                    "open",
                    Width::Panel,
                ),
                languages,
                languages_note: if kind.languages_in_bytes() {
                    "Share of code bytes per language."
                } else {
                    "Each language's share as GitLab reports it."
                },
            },
            issues_label: kind.open_issues_label(),
            facts,
            libraries: self
                .libraries
                .iter()
                .map(|lib| LibraryRow {
                    ecosystem: lib.ecosystem.clone(),
                    name: lib.name.clone(),
                    version: lib.version.clone(),
                    license: lib.license.clone(),
                })
                .collect(),
            libraries_known: r.libraries_for.is_some() || !self.libraries.is_empty(),
            json: format!(
                "/api/v1{}/repos/{}/history",
                self.org_url,
                path_segment(&l.name)
            ),
            ranges: self.range.links(|r| match r.query() {
                Some((k, v)) => format!("{page}?{k}={v}"),
                None => page.clone(),
            }),
            activity,
            security,
        }
    }
}
