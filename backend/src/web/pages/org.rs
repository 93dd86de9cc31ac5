//! One organisation's page: profile, KPIs with deltas, charts, and the repository table
//! (sorted, filtered and paged by the same rules as the API).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rocket::http::ContentType;
use serde_json::{json, Value};

use super::{badge, capitalised, display_name, last_refresh_text};
use crate::domain::attention::AttentionRules;
use crate::domain::feed::path_segment;
use crate::domain::history::Mover;
use crate::domain::{
    ForgeInstance, ForgeKind, Forges, OrgStatus, RepoDay, RepoRecord, StoredEvent,
};
use crate::store::EventQuery;
use crate::store::OrgDetail;
use crate::web::cache::{CachedGet, Conditional, Rendered, Scope};
use crate::web::charts::{self, thousands, Bar, Series, ShareRow, Width};
use crate::web::error::Invalid;
use crate::web::error::PageError;
use crate::web::extract::{self, bounded, OrgPath, RepoQuery, Selection};
use crate::web::insight::{self, MoversWindow, DEFAULT_WINDOW, MOVER_WINDOWS};
use crate::web::range::{self, Range};
use crate::web::repos::{self, Order, RepoFilter, SortKey};
use crate::web::views::{self, Freshness, LanguageMeasure};

/// Repositories per page of the table.
const PAGE_SIZE: usize = 50;

/// Events the "Recent changes" section lists.
const RECENT_CHANGES: usize = 12;

/// Repositories the "Needs attention" section lists; the CSV has them all.
const ATTENTION_SHOWN: usize = 15;

/// Movers (and new repositories) the page lists; the API gives more.
const MOVERS_SHOWN: usize = 10;

#[rocket::get("/orgs/<_>/<_>?<query..>")]
pub(crate) async fn org(
    get: CachedGet<'_>,
    org: OrgPath,
    query: RepoQuery<'_>,
) -> Result<Conditional, PageError> {
    let id = org.0;
    let mut table = TableParams::parse(&query)?;
    let window = extract::window("movers", query.movers, &MOVER_WINDOWS, DEFAULT_WINDOW)?;
    table.movers = window;
    get.answer(Scope::Org(id.clone()), || async {
        let detail = get.detail(&id).await?;
        let Some(detail) = detail.as_ref() else {
            return Err(super::not_tracked(&id));
        };
        let store = get.state.store.as_ref();
        let ids: Vec<i64> = table
            .page_of(detail)
            .rows
            .iter()
            .map(|r| r.listing.id)
            .collect();
        let insight = Insight {
            movers: insight::movers(store, detail, window).await?,
            sparklines: insight::sparklines(store, detail, &ids).await?,
            recent: store
                .list_events(&EventQuery {
                    org: Some(id.clone()),
                    ..EventQuery::latest(RECENT_CHANGES)
                })
                .await?,
        };
        let mut context = org_context(
            detail,
            get.state.forges.of(&id),
            &table,
            &insight,
            Utc::now(),
        );
        context["attention"] = attention_context(detail, &get.state.forges, &get.state.attention);
        let html = get.state.templates.render("org.html", "orgs", &context)?;
        Ok(Rendered::new(html, ContentType::HTML))
    })
    .await
}

/// What the page reads per repository besides the organisation's detail.
struct Insight {
    movers: MoversWindow,
    sparklines: HashMap<i64, Vec<RepoDay>>,
    recent: Vec<StoredEvent>,
}

/// One page of the repository table.
struct TablePage<'a> {
    rows: Vec<&'a RepoRecord>,
    total: usize,
    page: usize,
    pages: usize,
    start: usize,
}

/// The page's parameters, validated: the repository table's, and the charts' range and
/// the movers' window, which every link on the page keeps.
#[derive(Debug, Clone)]
struct TableParams {
    filter: RepoFilter,
    sort: SortKey,
    order: Order,
    page: usize,
    range: Range,
    movers: u32,
}

impl TableParams {
    fn parse(query: &RepoQuery<'_>) -> Result<Self, Invalid> {
        let Selection {
            filter,
            sort,
            order,
        } = query.selection()?;
        Ok(TableParams {
            filter,
            sort,
            order,
            page: bounded("page", query.page, 1, 1, None)?,
            range: Range::parse(query.range)?,
            movers: DEFAULT_WINDOW,
        })
    }

    /// The repositories of the page asked for (the last one when asked past the end).
    fn page_of<'a>(&self, detail: &'a OrgDetail) -> TablePage<'a> {
        let selected = repos::select(&detail.repos, &self.filter, self.sort, self.order);
        let total = selected.len();
        let pages = total.div_ceil(PAGE_SIZE).max(1);
        let page = self.page.min(pages);
        let start = (page - 1) * PAGE_SIZE;
        TablePage {
            rows: selected.into_iter().skip(start).take(PAGE_SIZE).collect(),
            total,
            page,
            pages,
            start,
        }
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
        // The default order (most stars first) stays out of the address.
        if (sort, order) != (SortKey::Stars, SortKey::Stars.natural_order()) {
            query
                .append_pair("sort", sort.as_str())
                .append_pair("order", order.as_str());
        }
        if page > 1 {
            query.append_pair("page", &page.to_string());
        }
        if let Some((k, v)) = self.range.query() {
            query.append_pair(k, v);
        }
        if self.movers != DEFAULT_WINDOW {
            query.append_pair("movers", &self.movers.to_string());
        }
        match query.finish() {
            q if q.is_empty() => base.to_owned(),
            q => format!("{base}?{q}"),
        }
    }

    /// The same page (table, range, movers) with another chart range.
    fn with_range(&self, base: &str, range: Range) -> String {
        TableParams {
            range,
            ..self.clone()
        }
        .url(base, self.sort, self.order, self.page)
    }

    /// The same page with another movers window, at the movers.
    fn with_movers(&self, base: &str, movers: u32) -> String {
        let url = TableParams {
            movers,
            ..self.clone()
        }
        .url(base, self.sort, self.order, self.page);
        format!("{url}#movers")
    }
}

/// The movers section: the window's links, the gainers and the new repositories.
/// The "Needs attention" section: the first repositories flagged, and what was judged how.
fn attention_context(detail: &OrgDetail, forges: &Forges, rules: &AttentionRules) -> Value {
    let (found, as_of) = insight::attention(detail, forges, rules);
    let base_url = format!("/orgs/{}/{}", detail.org.forge(), detail.org.login());
    let rows: Vec<Value> = found
        .flagged
        .iter()
        .take(ATTENTION_SHOWN)
        .map(|f| {
            let l = &f.repo.listing;
            json!({
                "name": l.name,
                "url": format!("{base_url}/repos/{}", path_segment(&l.name)),
                "fork": l.fork, "archived": l.archived,
                "reasons": f.reasons.iter().map(|r| json!({ "key": r.as_str(), "text": r.to_string() })).collect::<Vec<_>>(),
                "activity": l.activity_at().map(|t| t.format("%Y-%m-%d").to_string()),
                "stars": thousands(l.stars),
            })
        })
        .collect();
    let not_reported: Vec<&str> = found
        .not_reported
        .iter()
        .map(|rule| match *rule {
            "no_license" => "licences",
            "empty" => "sizes",
            other => other,
        })
        .collect();
    json!({
        "rows": rows,
        "total": found.flagged.len(),
        "more": found.flagged.len().saturating_sub(ATTENTION_SHOWN),
        "checked": found.checked,
        "exempt": found.exempt,
        "topic": rules.exempt_topic,
        "stale_days": rules.stale_days,
        "as_of": views::when(as_of),
        "not_reported": (!not_reported.is_empty()).then(|| not_reported.join(" or ")),
        "csv": format!("/api/v1{base_url}/attention.csv"),
        "json": format!("/api/v1{base_url}/attention"),
    })
}

fn movers_context(
    w: &MoversWindow,
    detail: &OrgDetail,
    base_url: &str,
    table: &TableParams,
) -> Value {
    let by_id = insight::by_id(detail);
    let row = |m: &Mover| {
        let name = by_id
            .get(&m.repo_id)
            .map_or_else(|| m.repo_id.to_string(), |r| r.listing.name.clone());
        json!({
            "name": name,
            "url": format!("{base_url}/repos/{}", path_segment(&name)),
            "start": m.start.map(thousands), "end": thousands(m.end),
            "gained": m.gained().map(charts::signed),
            "class": match m.gained().map(i64::signum) { Some(1) => "up", Some(-1) => "down", _ => "none" },
            "percent": m.percent().map(|p| format!("{p:+.1} %")),
        })
    };
    let windows: Vec<Value> = MOVER_WINDOWS
        .iter()
        .map(|d| json!({ "days": d, "url": table.with_movers(base_url, *d), "current": *d == w.days }))
        .collect();
    let (note, empty) = match (w.since, w.until) {
        (Some(since), Some(until)) if since == until => {
            (None, "Movers appear once there are two days of history.")
        }
        (Some(since), Some(until)) if !w.complete => (
            Some(format!(
                "The history is not {} days deep yet: changes from {since} to {until}.",
                w.days
            )),
            "No repository's stars moved in this window.",
        ),
        (Some(since), Some(until)) => (
            Some(format!("Changes from {since} to {until}.")),
            "No repository's stars moved in this window.",
        ),
        _ => (
            None,
            "No history yet: movers appear once there are two days of it.",
        ),
    };
    json!({
        "days": w.days, "windows": windows, "note": note, "empty": empty,
        "moved": w.moved.iter().take(MOVERS_SHOWN).map(row).collect::<Vec<_>>(),
        "more": w.moved.len().saturating_sub(MOVERS_SHOWN),
        "new": w.new.iter().take(MOVERS_SHOWN).map(row).collect::<Vec<_>>(),
        "more_new": w.new.len().saturating_sub(MOVERS_SHOWN),
        "json": format!("/api/v1{base_url}/movers?days={}", w.days),
    })
}

/// `forge` is the organisation's forge, `None` when it is no longer configured.
fn org_context(
    detail: &OrgDetail,
    forge: Option<&ForgeInstance>,
    table: &TableParams,
    insight: &Insight,
    now: DateTime<Utc>,
) -> Value {
    let id = &detail.org;
    let profile = detail.record.as_ref().map(|r| &r.profile);
    let name = display_name(id, profile.and_then(|p| p.name.as_deref()));
    let (initial, color) = views::monogram(id, &name);
    let outcome = detail.last_outcome.as_ref();
    let freshness = Freshness::of(outcome, detail.last_success_at, now);
    let base_url = format!("/orgs/{}", id.url_path());
    let kind = forge.map(|f| f.kind);
    let token = forge.map_or("GITHUB_TOKEN", |f| f.token_env.as_str());

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
    let issues_label = kind.unwrap_or(ForgeKind::GitHub).open_issues_label();
    let kpis = (!detail.history.is_empty() && detail.record.is_some()).then(|| {
        let latest = &detail.history[detail.history.len() - 1].totals;
        let deltas = |pick: fn(&crate::domain::Totals) -> u64| {
            let points: Vec<_> = detail.history.iter().map(|d| (d.day, Some(pick(&d.totals)))).collect();
            range::delta_cells(&points, table.range)
        };
        json!([
            { "label": "Repositories", "value": thousands(latest.repos), "deltas": deltas(|t| t.repos) },
            { "label": "Stars", "value": thousands(latest.stars), "deltas": deltas(|t| t.stars) },
            { "label": "Forks", "value": thousands(latest.forks), "deltas": deltas(|t| t.forks) },
            { "label": issues_label, "value": thousands(latest.open_issues), "deltas": deltas(|t| t.open_issues) },
        ])
    });
    let shown = table.range.keep(&detail.history, |d| d.day);

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
                LanguageMeasure::Bytes if kind.is_some_and(|k| !k.languages_in_bytes()) => ("share", "Average share per language over the projects whose languages are known: GitLab reports each project's languages as percentages, not bytes.".to_owned()),
                LanguageMeasure::Bytes => ("bytes", "Share of code bytes per language, over all live repositories.".to_owned()),
                LanguageMeasure::Repos => ("repos", format!("Share of repositories by primary language. Languages per repository are fetched when {token} is set.")),
            };
            (
                charts::shares("languages", "Language share", &[row], unit),
                note,
            )
        }
        None => (
            charts::shares("languages", "Language share", &[], "bytes"),
            String::new(),
        ),
    };
    let stars = Series {
        name: "Stars".into(),
        points: shown
            .iter()
            .map(|d| (d.day, Some(d.totals.stars)))
            .collect(),
    };
    let forks = Series {
        name: "Forks".into(),
        points: shown
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
        match kind {
            Some(ForgeKind::Gitea | ForgeKind::Forgejo) => "Gitea and Forgejo serve no dependency data.".to_owned(),
            Some(ForgeKind::GitLab) => format!("No dependency data: GitLab serves a project's dependency list on Ultimate instances only, and to a token ({token})."),
            _ => format!("No dependency data yet: libraries come from each repository's dependency-graph SBOM, fetched when {token} is set."),
        }
    } else {
        format!(
            "Repositories using each library, from dependency-graph SBOMs. Distinct libraries by ecosystem: {}.",
            ecosystems.iter().map(|(e, n)| format!("{e} {n}")).collect::<Vec<_>>().join(", ")
        )
    };

    // The table.
    let TablePage {
        rows,
        total,
        page,
        pages,
        start,
    } = table.page_of(detail);
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| {
            let l = &r.listing;
            let spark: Vec<Option<u64>> = insight
                .sparklines
                .get(&l.id)
                .map(|days| days.iter().map(|d| d.counts.map(|c| c.stars)).collect())
                .unwrap_or_default();
            json!({
                "name": l.name, "html_url": l.html_url, "description": l.description,
                "url": format!("{base_url}/repos/{}", path_segment(&l.name)),
                "spark": charts::sparkline(&spark, &format!("Stars of {} over the last {} days", l.name, insight::SPARKLINE_DAYS)),
                "language": l.language.clone().unwrap_or_default(), "stars": thousands(l.stars),
                "forks": thousands(l.forks), "open_issues": l.open_issues.map_or_else(|| "?".to_owned(), thousands),
                "pushed": l.activity_at().map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_else(|| "never".into()),
                "license": l.license.clone().unwrap_or_default(), "archived": l.archived,
            })
        })
        .collect();
    // GitHub reports pushes; GitLab and Gitea/Forgejo only activity or updates.
    let activity_label = capitalised(kind.unwrap_or(ForgeKind::GitHub).activity_label());
    let columns = [
        ("Name", SortKey::Name, false),
        ("Language", SortKey::Language, false),
        ("Stars", SortKey::Stars, true),
        ("Forks", SortKey::Forks, true),
        (issues_label, SortKey::OpenIssues, true),
        (activity_label.as_str(), SortKey::Pushed, false),
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
    headers.insert(
        3,
        json!({ "label": "Last 30 days", "url": null, "sort": null, "num": false }),
    );
    headers.push(json!({ "label": "Archived", "url": null, "sort": null, "num": false }));
    let distinct = |f: &dyn Fn(&crate::domain::RepoListing) -> Option<String>| {
        let mut v: Vec<String> = live.iter().filter_map(|r| f(&r.listing)).collect();
        v.sort_by_key(|s| s.to_lowercase());
        v.dedup();
        v
    };

    json!({
        "org": {
            "id": id.to_string(), "forge": kind.map_or_else(|| id.forge().to_string(), |k| k.label().to_owned()),
            "forge_name": id.forge().as_str(), "forge_kind": kind.map(ForgeKind::as_str),
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
        "ranges": table.range.links(|r| table.with_range(&base_url, r)),
        "range": table.range.label(),
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
            // What the filter form keeps besides its own fields.
            "keep": table.range.query().into_iter().map(|(k, v)| (k, v.to_owned()))
                .chain((table.movers != DEFAULT_WINDOW).then(|| ("movers", table.movers.to_string())))
                .collect::<std::collections::BTreeMap<_, _>>(),
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
        "movers": movers_context(&insight.movers, detail, &base_url, table),
        "changes": {
            "days": super::changes::by_day(&insight.recent),
            "all": format!("/changes?org={}", url::form_urlencoded::byte_serialize(id.to_string().as_bytes()).collect::<String>()),
            "feed": format!("{base_url}/feed.atom"),
        },
        "badges": crate::web::badges::METRICS.iter().map(|m| json!({
            "metric": m, "url": format!("/badge/{}/{}/{m}.svg", id.forge(), id.login()),
        })).collect::<Vec<_>>(),
        "exports": {
            "csv": format!("/api/v1{base_url}/repos.csv"),
            "history_csv": format!("/api/v1{base_url}/history.csv"),
            "libraries_csv": format!("/api/v1{base_url}/libraries.csv"),
            "json": format!("/api/v1{base_url}/repos"),
        },
    })
}
