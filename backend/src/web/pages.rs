//! The HTML pages: `/` (every organisation), `/orgs/<forge>/<login>` (one), `/runs`.
//! Each is drawn from one cached store summary and cached as rendered HTML.

use chrono::{DateTime, Utc};
use rocket::http::uri::Origin;
use rocket::http::{ContentType, Status};
use rocket::State;
use serde_json::{json, Value};

use super::cache::{Conditional, IfNoneMatch, Rendered};
use super::charts::{self, thousands, Bar, Series, ShareRow, Width};
use super::error::PageError;
use super::repos::{self, Order, RepoFilter, SortKey};
use super::views::{self, Freshness, LanguageMeasure};
use super::WebState;
use crate::domain::{OrgId, OrgOutcome, OrgStatus, RefreshRun};
use crate::store::{OrgDetail, OrgOverview};

/// Repositories per page of the table.
const PAGE_SIZE: usize = 50;

#[rocket::get("/")]
pub async fn overview(
    state: &State<WebState>,
    uri: &Origin<'_>,
    validators: IfNoneMatch,
) -> Result<Conditional, PageError> {
    let rendered = state
        .cache
        .rendered(state.store.as_ref(), &uri.to_string(), || async {
            let overview = state.cache.overview(state.store.as_ref()).await?;
            let html = state.templates.render(
                "index.html",
                "orgs",
                &overview_context(&overview, Utc::now()),
            )?;
            Ok::<_, PageError>(Rendered::new(html, ContentType::HTML))
        })
        .await?;
    Ok(Conditional::new(rendered, &validators))
}

#[rocket::get("/orgs/<forge>/<login>?<q>&<language>&<license>&<archived>&<sort>&<order>&<page>")]
#[expect(
    clippy::too_many_arguments,
    reason = "Rocket hands each query parameter over as an argument"
)]
pub async fn org(
    state: &State<WebState>,
    uri: &Origin<'_>,
    validators: IfNoneMatch,
    forge: &str,
    login: &str,
    q: Option<&str>,
    language: Option<&str>,
    license: Option<&str>,
    archived: Option<&str>,
    sort: Option<&str>,
    order: Option<&str>,
    page: Option<&str>,
) -> Result<Conditional, PageError> {
    let id = parse_org(forge, login)?;
    let table = TableParams::parse(q, language, license, archived, sort, order, page)?;
    let rendered = state
        .cache
        .rendered(state.store.as_ref(), &uri.to_string(), || async {
            let detail = state.cache.detail(state.store.as_ref(), &id).await?;
            let Some(detail) = detail.as_ref() else {
                return Err(PageError::new(
                    Status::NotFound,
                    format!("{id} is not tracked"),
                    format!("orgpulse has no data about {id}. Track it with `orgpulse orgs add {id}` and refresh."),
                ));
            };
            let html = state.templates.render("org.html", "orgs", &org_context(detail, &table, Utc::now()))?;
            Ok(Rendered::new(html, ContentType::HTML))
        })
        .await?;
    Ok(Conditional::new(rendered, &validators))
}

#[rocket::get("/runs")]
pub async fn runs(
    state: &State<WebState>,
    uri: &Origin<'_>,
    validators: IfNoneMatch,
) -> Result<Conditional, PageError> {
    let rendered = state
        .cache
        .rendered(state.store.as_ref(), &uri.to_string(), || async {
            let runs = state.store.list_runs(50).await?;
            let html = state.templates.render(
                "runs.html",
                "runs",
                &runs_context(&runs, state.schedule.as_ref(), Utc::now()),
            )?;
            Ok::<_, PageError>(Rendered::new(html, ContentType::HTML))
        })
        .await?;
    Ok(Conditional::new(rendered, &validators))
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![overview, org, runs]
}

/// Parses the `{forge}/{login}` of a URL; an invalid id is a 422 that names the problem.
pub fn parse_org(forge: &str, login: &str) -> Result<OrgId, PageError> {
    forge
        .parse()
        .and_then(|forge| OrgId::new(forge, login))
        .map_err(|e| {
            PageError::new(
                Status::UnprocessableEntity,
                "Not a valid organisation",
                e.to_string(),
            )
        })
}

fn display_name(id: &OrgId, profile_name: Option<&str>) -> String {
    profile_name.map_or_else(|| id.login().to_owned(), str::to_owned)
}

fn badge(
    freshness: Freshness,
    outcome: Option<&OrgOutcome>,
    last_success: Option<DateTime<Utc>>,
) -> Value {
    let title = match (freshness, outcome, last_success) {
        (Freshness::Failed, Some(o), _) => {
            o.message.clone().unwrap_or_else(|| o.status.to_string())
        }
        (_, _, Some(at)) => format!("last good data from {}", views::when(at)),
        _ => "waiting for its first refresh".into(),
    };
    json!({ "class": freshness.as_str(), "label": freshness.label(), "title": title })
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

fn overview_context(overview: &[OrgOverview], now: DateTime<Utc>) -> Value {
    let mut orgs = Vec::new();
    let (mut repos, mut stars) = (0u64, 0u64);
    let mut star_bars = Vec::new();
    let mut language_rows = Vec::new();
    let mut series = Vec::new();
    let mut measures = Vec::new();
    for o in overview {
        let id = &o.tracked.org;
        let profile = o.record.as_ref().map(|r| &r.profile);
        let name = display_name(id, profile.and_then(|p| p.name.as_deref()));
        let (initial, color) = views::monogram(id, &name);
        let outcome = o.tracked.last_outcome.as_ref();
        let freshness = Freshness::of(outcome, o.tracked.last_success_at, now);
        let latest = o.history.last();
        let url = format!("/orgs/{}/{}", id.forge(), id.login());
        let totals = latest.map(|d| {
            repos += d.totals.repos;
            stars += d.totals.stars;
            star_bars.push(Bar {
                label: name.clone(),
                value: d.totals.stars,
                href: Some(url.clone()),
            });
            json!({
                "repos": thousands(d.totals.repos), "stars": thousands(d.totals.stars),
                "forks": thousands(d.totals.forks), "open_issues": thousands(d.totals.open_issues),
            })
        });
        let (languages, langbar) = match latest {
            Some(day) => {
                let (measure, mix) = views::language_mix(day);
                measures.push(measure);
                language_rows.push(ShareRow {
                    label: name.clone(),
                    parts: mix.iter().map(|(k, v)| (k.clone(), *v)).collect(),
                });
                let top = views::top_languages(mix, 4);
                let list: Vec<Value> = top
                    .iter()
                    .map(|(n, p, c)| json!({ "name": n, "pct": format!("{p:.0}"), "class": c }))
                    .collect();
                (list, (!top.is_empty()).then(|| charts::mini_share(&top)))
            }
            None => (Vec::new(), None),
        };
        series.push(Series {
            name: name.clone(),
            points: o
                .history
                .iter()
                .map(|d| (d.day, Some(d.totals.stars)))
                .collect(),
        });
        let problem = match (freshness, outcome) {
            (Freshness::Failed, Some(o)) => {
                let reason = o.message.as_deref().unwrap_or("the last refresh failed");
                Some(match latest {
                    Some(d) => format!(
                        "Last refresh failed: {reason}. Showing data from {}.",
                        views::when(d.taken_at)
                    ),
                    None => format!("Last refresh failed: {reason}. No data stored yet."),
                })
            }
            (Freshness::Never, _) => Some("Waiting for its first refresh.".to_string()),
            _ => None,
        };
        orgs.push(json!({
            "id": id.to_string(), "url": url, "name": name, "initial": initial, "color": color,
            "description": profile.and_then(|p| p.description.clone()),
            "badge": badge(freshness, outcome, o.tracked.last_success_at),
            "totals": totals, "languages": languages, "langbar": langbar,
            "last": last_refresh_text(outcome, now), "problem": problem,
        }));
    }
    star_bars.sort_by_key(|b| std::cmp::Reverse(b.value));
    let bytes = measures.iter().all(|m| *m == LanguageMeasure::Bytes) && !measures.is_empty();
    json!({
        "orgs": orgs,
        "summary": { "orgs": overview.len(), "repos": thousands(repos), "stars": thousands(stars) },
        "charts": {
            "stars": charts::bars("stars-by-org", "Stars by organisation", &star_bars, "stars", Width::Panel),
            "languages": charts::shares("language-mix", "Language mix by organisation", &language_rows, if bytes { "bytes" } else { "repos" }),
            "languages_note": if bytes { "Share of code bytes per language." } else { "Share of repositories by primary language (byte counts need GITHUB_TOKEN)." },
            "history": charts::lines("stars-history", "Stars over time", &series, "stars", Width::Wide),
        },
    })
}

/// The repository table's parameters, validated.
#[derive(Debug, Clone)]
struct TableParams {
    filter: RepoFilter,
    sort: SortKey,
    order: Order,
    page: usize,
}

impl TableParams {
    fn parse(
        q: Option<&str>,
        language: Option<&str>,
        license: Option<&str>,
        archived: Option<&str>,
        sort: Option<&str>,
        order: Option<&str>,
        page: Option<&str>,
    ) -> Result<Self, PageError> {
        let bad = |m: String| {
            PageError::new(
                Status::UnprocessableEntity,
                "That table view does not exist",
                m,
            )
        };
        let text = |v: Option<&str>| {
            v.map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let sort: SortKey = text(sort)
            .map(|s| s.parse())
            .transpose()
            .map_err(bad)?
            .unwrap_or(SortKey::Stars);
        let order: Order = text(order)
            .map(|s| s.parse())
            .transpose()
            .map_err(bad)?
            .unwrap_or(sort.natural_order());
        let archived = match text(archived).as_deref() {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(other) => {
                return Err(bad(format!(
                    "archived must be true or false, got `{other}`"
                )))
            }
        };
        let page = match text(page) {
            None => 1,
            Some(p) => p
                .parse::<usize>()
                .ok()
                .filter(|p| *p >= 1)
                .ok_or_else(|| bad(format!("page must be a whole number from 1, got `{p}`")))?,
        };
        Ok(TableParams {
            filter: RepoFilter {
                q: text(q),
                language: text(language),
                archived,
                license: text(license),
            },
            sort,
            order,
            page,
        })
    }

    fn url(&self, base: &str, sort: SortKey, order: Order, page: usize) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("q", &self.filter.q),
            ("language", &self.filter.language),
            ("license", &self.filter.license),
        ] {
            if let Some(v) = v {
                query.append_pair(k, v);
            }
        }
        if let Some(a) = self.filter.archived {
            query.append_pair("archived", if a { "true" } else { "false" });
        }
        query
            .append_pair("sort", sort.as_str())
            .append_pair("order", order.as_str());
        if page > 1 {
            query.append_pair("page", &page.to_string());
        }
        format!("{base}?{}", query.finish())
    }
}

fn delta_cells(
    history: &[crate::domain::DayTotals],
    pick: impl Fn(&views::Delta) -> i64,
) -> Vec<Value> {
    [(1, "1 day"), (7, "7 days"), (30, "30 days")]
        .into_iter()
        .map(|(days, label)| match views::delta(history, days) {
            Some(d) => {
                let v = pick(&d);
                let class = match v.signum() {
                    1 => "up",
                    -1 => "down",
                    _ => "none",
                };
                json!({ "label": label, "text": charts::signed(v), "class": class, "title": format!("change since {}", d.since) })
            }
            None => json!({ "label": label, "text": "no data yet", "class": "none", "title": format!("history is not {days} days deep yet") }),
        })
        .collect()
}

fn org_context(detail: &OrgDetail, table: &TableParams, now: DateTime<Utc>) -> Value {
    let id = &detail.org;
    let profile = detail.record.as_ref().map(|r| &r.profile);
    let name = display_name(id, profile.and_then(|p| p.name.as_deref()));
    let (initial, color) = views::monogram(id, &name);
    let outcome = detail.last_outcome.as_ref();
    let freshness = Freshness::of(outcome, detail.last_success_at, now);
    let base_url = format!("/orgs/{}/{}", id.forge(), id.login());

    let mut notices = Vec::new();
    if detail.tracked_since.is_none() {
        notices.push(json!({ "class": "info", "text": format!("{id} is no longer tracked; this is the data kept from its last refresh.") }));
    }
    match (outcome, detail.record.as_ref()) {
        (Some(o), record) if !o.status.stored() => {
            let reason = o.message.clone().unwrap_or_else(|| o.status.to_string());
            let kept = match record {
                Some(r) => format!(
                    " Showing the last good data, from {}.",
                    views::when(r.fetched_at)
                ),
                None => String::new(),
            };
            let what = if o.status == OrgStatus::NotFound {
                format!(
                    "At the last refresh ({}) the forge did not know {id}: {}.",
                    views::when(o.finished_at),
                    o.message
                        .as_deref()
                        .unwrap_or("it may have been renamed or deleted")
                )
            } else {
                format!(
                    "The last refresh ({}) failed: {reason}.",
                    views::when(o.finished_at)
                )
            };
            notices.push(json!({ "class": "bad", "text": format!("{what}{kept}") }));
        }
        (Some(o), _) if o.status == OrgStatus::Partial => {
            notices.push(json!({ "class": "", "text": format!("The last refresh was partial: {}.", o.message.as_deref().unwrap_or("some details were not fetched")) }));
        }
        _ => {}
    }
    if detail.record.is_none() {
        notices.push(json!({ "class": "info", "text": format!("{id} has not been fetched yet. It is fetched on the next refresh; run `orgpulse refresh --org {id}` to fetch it now.") }));
    }

    let live: Vec<&crate::domain::RepoRecord> = detail
        .repos
        .iter()
        .filter(|r| r.gone_since.is_none())
        .collect();
    let kpis = (!detail.history.is_empty() && detail.record.is_some()).then(|| {
        let latest = &detail.history[detail.history.len() - 1].totals;
        json!([
            { "label": "Repositories", "value": thousands(latest.repos), "deltas": delta_cells(&detail.history, |d| d.repos) },
            { "label": "Stars", "value": thousands(latest.stars), "deltas": delta_cells(&detail.history, |d| d.stars) },
            { "label": "Forks", "value": thousands(latest.forks), "deltas": delta_cells(&detail.history, |d| d.forks) },
            { "label": "Open issues", "value": thousands(latest.open_issues), "deltas": delta_cells(&detail.history, |d| d.open_issues) },
        ])
    });

    // Charts.
    let mut by_stars = live.clone();
    by_stars.sort_by(|a, b| {
        b.listing
            .stars
            .cmp(&a.listing.stars)
            .then(a.listing.id.cmp(&b.listing.id))
    });
    let top_repos: Vec<Bar> = by_stars
        .iter()
        .take(12)
        .map(|r| Bar {
            label: r.listing.name.clone(),
            value: r.listing.stars,
            href: r.listing.html_url.clone(),
        })
        .collect();
    let (language_chart, language_note) = match detail.history.last() {
        Some(day) => {
            let (measure, mix) = views::language_mix(day);
            let row = ShareRow {
                label: name.clone(),
                parts: mix.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            };
            let (unit, note) = match measure {
                LanguageMeasure::Bytes => ("bytes", "Share of code bytes per language, over all live repositories."),
                LanguageMeasure::Repos => ("repos", "Share of repositories by primary language. Byte counts per language are fetched when GITHUB_TOKEN is set."),
            };
            (
                charts::shares("languages", "Language share", &[row], unit),
                note,
            )
        }
        None => (
            charts::shares("languages", "Language share", &[], "bytes"),
            "",
        ),
    };
    let stars = Series {
        name: "Stars".into(),
        points: detail
            .history
            .iter()
            .map(|d| (d.day, Some(d.totals.stars)))
            .collect(),
    };
    let forks = Series {
        name: "Forks".into(),
        points: detail
            .history
            .iter()
            .map(|d| (d.day, Some(d.totals.forks)))
            .collect(),
    };
    let libraries: Vec<Bar> = detail
        .libraries
        .iter()
        .take(15)
        .map(|l| Bar {
            label: format!("{} ({})", l.name, l.ecosystem),
            value: l.repos,
            href: None,
        })
        .collect();
    let mut ecosystems: Vec<(String, usize)> = Vec::new();
    for l in &detail.libraries {
        match ecosystems.iter_mut().find(|(e, _)| *e == l.ecosystem) {
            Some((_, n)) => *n += 1,
            None => ecosystems.push((l.ecosystem.clone(), 1)),
        }
    }
    let libraries_note = if detail.libraries.is_empty() {
        "No dependency data yet: libraries come from each repository's dependency-graph SBOM, fetched when GITHUB_TOKEN is set.".to_string()
    } else {
        format!(
            "Repositories using each library, from dependency-graph SBOMs. Distinct libraries by ecosystem: {}.",
            ecosystems.iter().map(|(e, n)| format!("{e} {n}")).collect::<Vec<_>>().join(", ")
        )
    };

    // The table.
    let selected = repos::select(&detail.repos, &table.filter, table.sort, table.order);
    let total = selected.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page = table.page.min(pages);
    let start = (page - 1) * PAGE_SIZE;
    let rows: Vec<Value> = selected
        .iter()
        .skip(start)
        .take(PAGE_SIZE)
        .map(|r| {
            let l = &r.listing;
            json!({
                "name": l.name, "html_url": l.html_url, "description": l.description,
                "language": l.language.clone().unwrap_or_default(), "stars": thousands(l.stars),
                "forks": thousands(l.forks), "open_issues": thousands(l.open_issues),
                "pushed": l.pushed_at.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_else(|| "never".into()),
                "license": l.license.clone().unwrap_or_default(), "archived": l.archived,
            })
        })
        .collect();
    let columns = [
        ("Name", SortKey::Name, false),
        ("Language", SortKey::Language, false),
        ("Stars", SortKey::Stars, true),
        ("Forks", SortKey::Forks, true),
        ("Open issues", SortKey::OpenIssues, true),
        ("Last push", SortKey::Pushed, false),
        ("Licence", SortKey::License, false),
    ];
    let mut headers: Vec<Value> = columns
        .iter()
        .map(|(label, key, num)| {
            let active = *key == table.sort;
            let order = if active { table.order.flipped() } else { key.natural_order() };
            let sort = active.then(|| if table.order == Order::Asc { "ascending" } else { "descending" });
            json!({ "label": label, "url": table.url(&base_url, *key, order, 1), "sort": sort, "num": num })
        })
        .collect();
    headers.push(json!({ "label": "Archived", "url": null, "sort": null, "num": false }));
    let distinct = |f: &dyn Fn(&crate::domain::RepoListing) -> Option<String>| {
        let mut v: Vec<String> = live.iter().filter_map(|r| f(&r.listing)).collect();
        v.sort_by_key(|s| s.to_lowercase());
        v.dedup();
        v
    };

    json!({
        "org": {
            "id": id.to_string(), "forge": if id.forge() == crate::domain::Forge::GitHub { "GitHub" } else { id.forge().as_str() },
            "url": base_url, "name": name, "initial": initial, "color": color,
            "description": profile.and_then(|p| p.description.clone()),
            "html_url": profile.and_then(|p| p.html_url.clone()),
            "blog": profile.and_then(|p| p.blog.clone()).filter(|b| b.starts_with("http")),
            "location": profile.and_then(|p| p.location.clone()),
            "followers": profile.and_then(|p| p.followers).map(thousands),
            "created": profile.and_then(|p| p.created_at).map(|t| t.format("%Y").to_string()),
            "verified": profile.and_then(|p| p.is_verified).unwrap_or(false),
        },
        "badge": badge(freshness, outcome, detail.last_success_at),
        "last": last_refresh_text(outcome, now),
        "notices": notices,
        "kpis": kpis,
        "charts": {
            "top_repos": charts::bars("top-repos", "Top repositories by stars", &top_repos, "stars", Width::Panel),
            "languages": language_chart, "languages_note": language_note,
            "stars": charts::lines("stars", "Stars over time", &[stars], "stars", Width::Panel),
            "forks": charts::lines("forks", "Forks over time", &[forks], "forks", Width::Panel),
            "libraries": charts::bars("libraries", "Most-used libraries", &libraries, "repositories", Width::Wide),
            "libraries_note": libraries_note,
        },
        "table": {
            "rows": rows, "total": total, "from": start + 1, "to": (start + PAGE_SIZE).min(total),
            "page": page, "pages": pages,
            "prev_url": (page > 1).then(|| table.url(&base_url, table.sort, table.order, page - 1)),
            "next_url": (page < pages).then(|| table.url(&base_url, table.sort, table.order, page + 1)),
            "headers": headers, "sort": table.sort.as_str(), "order": table.order.as_str(),
            "filtered": table.filter != RepoFilter::default(),
            "filters": {
                "q": table.filter.q.clone().unwrap_or_default(),
                "language": table.filter.language.clone().unwrap_or_default(),
                "license": table.filter.license.clone().unwrap_or_default(),
                "archived": table.filter.archived.map(|a| a.to_string()).unwrap_or_default(),
            },
            "languages": distinct(&|l| l.language.clone()),
            "licenses": distinct(&|l| l.license.clone()),
        },
        "exports": {
            "csv": format!("/api/v1{base_url}/repos.csv"),
            "json": format!("/api/v1{base_url}/repos"),
        },
    })
}

fn runs_context(
    runs: &[RefreshRun],
    schedule: Option<&crate::ingest::schedule::Schedule>,
    now: DateTime<Utc>,
) -> Value {
    let rows: Vec<Value> = runs
        .iter()
        .map(|r| {
            let took = r.started_at.zip(r.finished_at).map(|(s, f)| format!("{:.1}s", (f - s).num_milliseconds() as f64 / 1000.0));
            json!({
                "id": r.id.to_string(), "api_url": format!("/api/v1/runs/{}", r.id),
                "started": views::when(r.started_at.unwrap_or(r.created_at)),
                "trigger": format!("{:?}", r.trigger).to_lowercase(), "status": r.status.as_str(),
                "message": r.message, "took": took.unwrap_or_else(|| "–".into()),
                "orgs": r.outcomes.iter().map(|o| json!({
                    "id": o.org.to_string(), "status": o.status.as_str(),
                    "title": o.message.clone().unwrap_or_else(|| format!("{} repos, {} changed", o.counts.repos_seen, o.counts.repos_changed)),
                })).collect::<Vec<_>>(),
                "requests": thousands(r.counts.requests), "not_modified": thousands(r.counts.not_modified),
                "changed": thousands(r.counts.repos_changed),
            })
        })
        .collect();
    let next = schedule.and_then(|s| {
        let at = s.next_after(now)?;
        let wait = at - now;
        let within = if wait < chrono::Duration::hours(1) {
            format!("in {} minutes", wait.num_minutes().max(1))
        } else {
            format!("in {} hours", wait.num_hours())
        };
        Some(json!({ "at": views::when(at), "within": within, "schedule": s.expr() }))
    });
    json!({ "runs": rows, "next": next })
}
