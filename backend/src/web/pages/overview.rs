//! The front page: every tracked organisation, with totals and charts across them. A few
//! organisations are cards; many are one compact, sortable table, and the charts draw
//! the biggest few and "others" instead of a line or bar for each.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rocket::http::ContentType;
use serde::Serialize;

use super::overview_charts::{charts_context, Charted, OverviewCharts};
use super::overview_sort::{OrgKey, OrgSort, SortKeys};
use super::{badge, display_name, last_refresh_text, Badge};
use crate::domain::activity::ActivityFigures;
use crate::domain::vulnerabilities::SecurityState;
use crate::domain::{ForgeKind, Forges};
use crate::store::OrgOverview;
use crate::web::cache::{CachedGet, Conditional, Rendered, Scope};
use crate::web::charts::{self, thousands};
use crate::web::error::PageError;
use crate::web::insight;
use crate::web::params::OverviewQuery;
use crate::web::range::{Range, RangeLink};
use crate::web::repos::Order;
use crate::web::views::{self, Freshness};

/// Up to this many organisations are shown as cards; more as a table.
pub(crate) const CARDS_UP_TO: usize = 12;

/// Days of the table's sparkline.
const SPARK_DAYS: u64 = 30;

#[rocket::get("/?<query..>")]
pub(crate) async fn overview(
    get: CachedGet<'_>,
    query: OverviewQuery<'_>,
) -> Result<Conditional, PageError> {
    let view = View {
        range: Range::parse(query.range)?,
        sort: OrgSort::parse(query.sort, query.order)?,
    };
    get.answer(Scope::Orgs, || async {
        let overview = get.overview().await?;
        let now = Utc::now();
        let store = get.state.store.as_ref();
        let mut entries: Vec<Row> = Vec::with_capacity(overview.len());
        for o in overview.iter() {
            let brief = insight::activity_brief(store, &o.tracked.org, now.date_naive()).await?;
            let security = store.security_state(&o.tracked.org).await?;
            let scores: Vec<f64> = store
                .org_scorecards(&o.tracked.org)
                .await?
                .iter()
                .filter_map(|e| e.result.as_ref().map(|r| r.score))
                .collect();
            let scorecard = crate::domain::scorecard::median(&scores);
            entries.push(entry(
                o,
                &get.state.forges,
                brief.as_ref(),
                (security.as_ref(), scorecard),
                now,
            ));
        }
        let page = overview_page(&overview, &entries, &get.state.forges, view);
        let html = get.state.templates.render("index.html", "orgs", &page)?;
        Ok::<_, PageError>(Rendered::new(html, ContentType::HTML))
    })
    .await
}

/// What the page's address asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct View {
    range: Range,
    sort: OrgSort,
}

impl View {
    fn url(self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some((k, v)) = self.range.query() {
            query.append_pair(k, v);
        }
        if self.sort != OrgSort::default() {
            query
                .append_pair("sort", self.sort.key.as_str())
                .append_pair("order", self.sort.order.as_str());
        }
        match query.finish() {
            q if q.is_empty() => "/".to_owned(),
            q => format!("/?{q}"),
        }
    }
}

/// The open-issues column's heading: GitHub, Gitea and Forgejo count open pull requests
/// with the issues, GitLab does not; a table mixing them says both.
fn issues_header(overview: &[OrgOverview], forges: &Forges) -> &'static str {
    let mut labels = overview.iter().map(|o| {
        forges
            .of(&o.tracked.org)
            .map_or(ForgeKind::GitHub, |f| f.kind)
            .open_issues_short()
    });
    match labels.next() {
        Some(first) if labels.all(|l| l == first) => first,
        Some(_) => "Issues (+ PRs)",
        None => "Issues",
    }
}

/// One organisation's line in the table: what it shows and what it sorts by.
struct Row {
    keys: SortKeys,
    card: OrgCard,
}

/// What `index.html` shows.
#[derive(Debug, Serialize)]
struct OverviewPage<'a> {
    /// The compact table, once there are more organisations than cards.
    table: Option<OrgTable<'a>>,
    ranges: Vec<RangeLink>,
    summary: Summary,
    charts: OverviewCharts,
    /// The cards, in the tracked list's order.
    orgs: Vec<&'a OrgCard>,
}

#[derive(Debug, Serialize)]
struct OrgTable<'a> {
    rows: Vec<&'a OrgCard>,
    headers: Vec<Header>,
    spark_days: u64,
}

/// A column heading that sorts by it.
#[derive(Debug, Serialize)]
struct Header {
    label: &'static str,
    url: String,
    /// `ascending` or `descending` on the sorted column.
    sort: Option<&'static str>,
    num: bool,
}

#[derive(Debug, Serialize)]
struct Summary {
    orgs: usize,
    repos: String,
    stars: String,
}

/// One organisation as a card or a table row shows it.
#[derive(Debug, Serialize)]
struct OrgCard {
    id: String,
    url: String,
    name: String,
    initial: String,
    color: usize,
    /// The forge kind's label, or the instance's name when not configured.
    forge: String,
    forge_kind: Option<&'static str>,
    /// What the open count counts on this forge ("Issues + PRs", "Issues").
    issues_label: &'static str,
    description: Option<String>,
    badge: Badge,
    totals: Option<CardTotals>,
    languages: Vec<CardLanguage>,
    /// An inline SVG bar of the top languages.
    langbar: Option<String>,
    last: String,
    problem: Option<String>,
    ago: String,
    week: SignedCell,
    month: SignedCell,
    spark: String,
    /// The last 90 days' activity; `None` where it was never read.
    activity: Option<CardActivity>,
    /// Critical and high vulnerable packages at the last check; `None` where none ran.
    vulnerable: Option<CardVulnerable>,
    /// The median OpenSSF Scorecard score of its scored repositories.
    scorecard: Option<String>,
}

/// The overview table's vulnerability cell.
#[derive(Debug, Serialize)]
struct CardVulnerable {
    critical: u64,
    high: u64,
    /// Any critical or high at all (the cell is marked).
    serious: bool,
}

/// The overview table's activity cells.
#[derive(Debug, Serialize)]
struct CardActivity {
    /// Median hours to a first response ("–" when nothing was answered).
    response: String,
    /// Pull requests closed over opened ("–" when none opened).
    closure: String,
    /// The contributor absence factor ("–" when nothing was merged).
    bus_factor: String,
}

#[derive(Debug, Serialize)]
struct CardTotals {
    repos: String,
    stars: String,
    forks: String,
    open_issues: String,
}

#[derive(Debug, Serialize)]
struct CardLanguage {
    name: String,
    pct: String,
    class: String,
}

/// A change in stars: `+12` (up), `-3` (down), or `–` when history is not that deep.
#[derive(Debug, Serialize)]
struct SignedCell {
    text: String,
    class: &'static str,
    title: Option<&'static str>,
}

fn signed_cell(delta: Option<i64>) -> SignedCell {
    match delta {
        Some(v) => SignedCell {
            text: charts::signed(v),
            class: match v.signum() {
                1 => "up",
                -1 => "down",
                _ => "none",
            },
            title: None,
        },
        None => SignedCell {
            text: "–".to_owned(),
            class: "none",
            title: Some("history is not that deep yet"),
        },
    }
}

fn overview_page<'a>(
    overview: &[OrgOverview],
    entries: &'a [Row],
    forges: &Forges,
    view: View,
) -> OverviewPage<'a> {
    let range = view.range;
    // Every organisation's line starts at the same day: the range back from the latest
    // snapshot of any of them.
    let latest_day = overview
        .iter()
        .filter_map(|o| o.history.last().map(|d| d.day))
        .max();
    let first_day = latest_day.and_then(|latest| range.first_day(latest));
    let repos: u64 = entries
        .iter()
        .filter_map(|e| e.keys.totals.as_ref())
        .map(|t| t.repos)
        .sum();
    let stars: u64 = entries
        .iter()
        .filter_map(|e| e.keys.totals.as_ref())
        .map(|t| t.stars)
        .sum();
    let mut charted: Vec<Charted> = overview
        .iter()
        .zip(entries)
        .filter_map(|(o, e)| {
            let day = o.history.last()?;
            let (measure, mix) = views::language_mix(day);
            Some(Charted {
                stars: day.totals.stars,
                name: e.keys.name.clone(),
                url: format!("/orgs/{}", o.tracked.org.url_path()),
                measure,
                mix: mix.clone(),
                points: o
                    .history
                    .iter()
                    .filter(|d| first_day.is_none_or(|first| d.day >= first))
                    .map(|d| (d.day, d.totals.stars))
                    .collect(),
            })
        })
        .collect();
    // Cards in the tracked list's order; the table sorted as asked.
    let orgs: Vec<&OrgCard> = entries.iter().map(|e| &e.card).collect();
    let mut rows: Vec<&Row> = entries.iter().collect();
    rows.sort_by(|a, b| a.keys.compare(&b.keys, view.sort));
    let headers: Vec<Header> = [
        ("Organisation", OrgKey::Name, false),
        ("Repos", OrgKey::Repos, true),
        ("Stars", OrgKey::Stars, true),
        ("7 days", OrgKey::Week, true),
        ("30 days", OrgKey::Month, true),
        ("Forks", OrgKey::Forks, true),
        (issues_header(overview, forges), OrgKey::Issues, true),
        ("Response", OrgKey::Response, true),
        ("Closure", OrgKey::Closure, true),
        ("Bus factor", OrgKey::BusFactor, true),
        ("Vulns", OrgKey::Vulnerable, true),
        ("Scorecard", OrgKey::Scorecard, true),
        ("Refreshed", OrgKey::Refreshed, false),
    ]
    .into_iter()
    .map(|(label, key, num)| {
        let active = key == view.sort.key;
        let order = if active {
            view.sort.order.flipped()
        } else {
            key.natural_order()
        };
        let url = View {
            sort: OrgSort { key, order },
            ..view
        }
        .url();
        let sort = active.then(|| {
            if view.sort.order == Order::Asc {
                "ascending"
            } else {
                "descending"
            }
        });
        Header {
            label,
            url,
            sort,
            num,
        }
    })
    .collect();
    let charts = charts_context(&mut charted);
    OverviewPage {
        table: (orgs.len() > CARDS_UP_TO).then(|| OrgTable {
            rows: rows.iter().map(|r| &r.card).collect(),
            headers,
            spark_days: SPARK_DAYS,
        }),
        ranges: range.links(|r| View { range: r, ..view }.url()),
        summary: Summary {
            orgs: overview.len(),
            repos: thousands(repos),
            stars: thousands(stars),
        },
        charts,
        orgs,
    }
}

/// One organisation as a card or a table row shows it.
fn entry(
    o: &OrgOverview,
    forges: &Forges,
    activity: Option<&ActivityFigures>,
    (security, scorecard): (Option<&SecurityState>, Option<f64>),
    now: DateTime<Utc>,
) -> Row {
    let id = &o.tracked.org;
    let profile = o.record.as_ref().map(|r| &r.profile);
    let name = display_name(id, profile.and_then(|p| p.name.as_deref()));
    let (initial, color) = views::monogram(id, &name);
    let outcome = o.tracked.last_outcome.as_ref();
    let freshness = Freshness::of(outcome, o.tracked.last_success_at, now);
    let latest = o.history.last();
    let forge = forges.of(id);
    let totals = latest.map(|d| CardTotals {
        repos: thousands(d.totals.repos),
        stars: thousands(d.totals.stars),
        forks: thousands(d.totals.forks),
        open_issues: thousands(d.totals.open_issues),
    });
    let (languages, langbar) = match latest {
        Some(day) => {
            let (_, mix) = views::language_mix(day);
            let top = views::top_languages(mix, 4);
            let list: Vec<CardLanguage> = top
                .iter()
                .map(|(n, p, c)| CardLanguage {
                    name: n.to_string(),
                    pct: format!("{p:.0}"),
                    class: c.to_string(),
                })
                .collect();
            (list, (!top.is_empty()).then(|| charts::mini_share(&top)))
        }
        None => (Vec::new(), None),
    };
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
    let week = views::delta(&o.history, 7, None).map(|d| d.stars);
    let month = views::delta(&o.history, 30, None).map(|d| d.stars);
    let spark: Vec<Option<u64>> = match latest {
        Some(day) => {
            let from = day.day - chrono::Days::new(SPARK_DAYS - 1);
            let by_day: BTreeMap<NaiveDate, u64> = o
                .history
                .iter()
                .filter(|d| d.day >= from)
                .map(|d| (d.day, d.totals.stars))
                .collect();
            from.iter_days()
                .take(SPARK_DAYS as usize)
                .map(|d| by_day.get(&d).copied())
                .collect()
        }
        None => Vec::new(),
    };
    let card = OrgCard {
        id: id.to_string(),
        url: format!("/orgs/{}", id.url_path()),
        name: name.clone(),
        initial,
        color,
        forge: forge.map_or_else(|| id.forge().to_string(), |f| f.kind.label().to_owned()),
        forge_kind: forge.map(|f| f.kind.as_str()),
        issues_label: forge
            .map_or(ForgeKind::GitHub, |f| f.kind)
            .open_issues_short(),
        description: profile.and_then(|p| p.description.clone()),
        badge: badge(freshness, outcome, o.tracked.last_success_at),
        totals,
        languages,
        langbar,
        last: last_refresh_text(outcome, now),
        problem,
        ago: outcome.map_or_else(|| "never".to_owned(), |o| views::ago(o.finished_at, now)),
        week: signed_cell(week),
        month: signed_cell(month),
        spark: charts::sparkline(
            &spark,
            &format!("Stars of {name} over the last {SPARK_DAYS} days"),
        ),
        activity: activity.map(|a| CardActivity {
            response: a
                .first_response
                .median_hours
                .map_or_else(|| "–".to_owned(), |h| format!("{h:.1} h")),
            closure: a
                .closure_ratio
                .map_or_else(|| "–".to_owned(), |r| format!("{r:.2}")),
            bus_factor: a
                .bus_factor
                .map_or_else(|| "–".to_owned(), |b| b.to_string()),
        }),
        vulnerable: security.filter(|s| s.packages > 0).map(|s| CardVulnerable {
            critical: s.counts.critical,
            high: s.counts.high,
            serious: s.counts.critical + s.counts.high > 0,
        }),
        scorecard: scorecard.map(|m| format!("{m:.1}")),
    };
    let keys = SortKeys {
        name,
        totals: latest.map(|d| d.totals.clone()),
        week,
        month,
        refreshed: o.tracked.last_success_at,
        response_minutes: activity
            .and_then(|a| a.first_response.median_hours)
            .map(|h| (h * 60.0).round().max(0.0) as u64),
        closure_permille: activity
            .and_then(|a| a.closure_ratio)
            .map(|r| (r * 1000.0).round().max(0.0) as u64),
        bus_factor: activity.and_then(|a| a.bus_factor),
        serious: security.map(|s| (s.counts.critical, s.counts.high)),
        scorecard_tenths: scorecard.map(|m| (m * 10.0).round().max(0.0) as u64),
    };
    Row { keys, card }
}
