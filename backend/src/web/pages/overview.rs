//! The front page: every tracked organisation, with totals and charts across them. A few
//! organisations are cards; many are one compact, sortable table, and the charts draw
//! the biggest few and "others" instead of a line or bar for each.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rocket::http::ContentType;
use serde_json::{json, Value};

use super::{badge, display_name, last_refresh_text};
use crate::domain::{ForgeKind, Forges};
use crate::store::OrgOverview;
use crate::web::cache::{CachedGet, Conditional, Rendered, Scope};
use crate::web::charts::{self, thousands, Bar, Series, ShareRow, Width};
use crate::web::error::Invalid;
use crate::web::error::PageError;
use crate::web::extract::Param;
use crate::web::range::Range;
use crate::web::repos::Order;
use crate::web::views::{self, Freshness, LanguageMeasure};

/// Up to this many organisations are shown as cards; more as a table.
pub(crate) const CARDS_UP_TO: usize = 12;

/// Organisations drawn one by one in the bar and language charts; the rest are "others".
const TOP_BARS: usize = 10;

/// Organisations drawn as their own line in "stars over time"; the rest are one line.
const TOP_LINES: usize = 6;

/// Days of the table's sparkline.
const SPARK_DAYS: u64 = 30;

#[rocket::get("/?<range>&<sort>&<order>")]
pub(crate) async fn overview(
    get: CachedGet<'_>,
    range: Param<'_>,
    sort: Param<'_>,
    order: Param<'_>,
) -> Result<Conditional, PageError> {
    let view = View {
        range: Range::parse(range)?,
        sort: OrgSort::parse(sort, order)?,
    };
    get.answer(Scope::Orgs, || async {
        let overview = get.overview().await?;
        let html = get.state.templates.render(
            "index.html",
            "orgs",
            &overview_context(&overview, &get.state.forges, view, Utc::now()),
        )?;
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

/// A column the organisations table sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OrgKey {
    Name,
    Repos,
    Stars,
    Week,
    Month,
    Forks,
    Issues,
    Refreshed,
}

impl OrgKey {
    const ALL: [OrgKey; 8] = [
        OrgKey::Name,
        OrgKey::Repos,
        OrgKey::Stars,
        OrgKey::Week,
        OrgKey::Month,
        OrgKey::Forks,
        OrgKey::Issues,
        OrgKey::Refreshed,
    ];

    fn as_str(self) -> &'static str {
        match self {
            OrgKey::Name => "name",
            OrgKey::Repos => "repos",
            OrgKey::Stars => "stars",
            OrgKey::Week => "stars_7d",
            OrgKey::Month => "stars_30d",
            OrgKey::Forks => "forks",
            OrgKey::Issues => "open_issues",
            OrgKey::Refreshed => "refreshed",
        }
    }

    /// Names A→Z, numbers and dates biggest or newest first.
    fn natural_order(self) -> Order {
        if self == OrgKey::Name {
            Order::Asc
        } else {
            Order::Desc
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OrgSort {
    key: OrgKey,
    order: Order,
}

impl Default for OrgSort {
    fn default() -> Self {
        OrgSort {
            key: OrgKey::Stars,
            order: Order::Desc,
        }
    }
}

impl OrgSort {
    fn parse(sort: Param<'_>, order: Param<'_>) -> Result<Self, Invalid> {
        let key = match sort.get("sort")? {
            None => OrgSort::default().key,
            Some(s) => OrgKey::ALL
                .into_iter()
                .find(|k| k.as_str() == s)
                .ok_or_else(|| {
                    let names: Vec<&str> = OrgKey::ALL.iter().map(|k| k.as_str()).collect();
                    Invalid::param(format!(
                        "sort must be one of {}, got `{s}`",
                        names.join(", ")
                    ))
                })?,
        };
        let order = match order.get("order")? {
            None => key.natural_order(),
            Some(o) => o.parse().map_err(Invalid::param)?,
        };
        Ok(OrgSort { key, order })
    }
}

/// One organisation's line in the table, with what it sorts by.
struct Row {
    name: String,
    totals: Option<crate::domain::Totals>,
    week: Option<i64>,
    month: Option<i64>,
    refreshed: Option<DateTime<Utc>>,
    json: Value,
}

impl Row {
    /// Orders by the key, missing values last whichever the order, then by name.
    fn compare(&self, other: &Row, sort: OrgSort) -> std::cmp::Ordering {
        fn by<T: Ord>(a: Option<T>, b: Option<T>, order: Order) -> std::cmp::Ordering {
            match (a, b) {
                (Some(a), Some(b)) if order == Order::Asc => a.cmp(&b),
                (Some(a), Some(b)) => b.cmp(&a),
                (a, b) => b.is_some().cmp(&a.is_some()),
            }
        }
        let total = |r: &Row, f: fn(&crate::domain::Totals) -> u64| r.totals.as_ref().map(f);
        let name = || self.name.to_lowercase().cmp(&other.name.to_lowercase());
        let primary = match sort.key {
            OrgKey::Name if sort.order == Order::Asc => name(),
            OrgKey::Name => name().reverse(),
            OrgKey::Repos => by(
                total(self, |t| t.repos),
                total(other, |t| t.repos),
                sort.order,
            ),
            OrgKey::Stars => by(
                total(self, |t| t.stars),
                total(other, |t| t.stars),
                sort.order,
            ),
            OrgKey::Forks => by(
                total(self, |t| t.forks),
                total(other, |t| t.forks),
                sort.order,
            ),
            OrgKey::Issues => by(
                total(self, |t| t.open_issues),
                total(other, |t| t.open_issues),
                sort.order,
            ),
            OrgKey::Week => by(self.week, other.week, sort.order),
            OrgKey::Month => by(self.month, other.month, sort.order),
            OrgKey::Refreshed => by(self.refreshed, other.refreshed, sort.order),
        };
        primary.then_with(name)
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

fn signed_cell(delta: Option<i64>) -> Value {
    match delta {
        Some(v) => json!({
            "text": charts::signed(v),
            "class": match v.signum() { 1 => "up", -1 => "down", _ => "none" },
        }),
        None => json!({ "text": "–", "class": "none", "title": "history is not that deep yet" }),
    }
}

fn overview_context(
    overview: &[OrgOverview],
    forges: &Forges,
    view: View,
    now: DateTime<Utc>,
) -> Value {
    let range = view.range;
    // Every organisation's line starts at the same day: the range back from the latest
    // snapshot of any of them.
    let latest_day = overview
        .iter()
        .filter_map(|o| o.history.last().map(|d| d.day))
        .max();
    let first_day = latest_day.and_then(|latest| range.first_day(latest));
    let entries: Vec<Row> = overview.iter().map(|o| entry(o, forges, now)).collect();
    let repos: u64 = entries
        .iter()
        .filter_map(|e| e.totals.as_ref())
        .map(|t| t.repos)
        .sum();
    let stars: u64 = entries
        .iter()
        .filter_map(|e| e.totals.as_ref())
        .map(|t| t.stars)
        .sum();
    let mut charted: Vec<Charted> = overview
        .iter()
        .zip(&entries)
        .filter_map(|(o, e)| {
            let day = o.history.last()?;
            let (measure, mix) = views::language_mix(day);
            Some(Charted {
                stars: day.totals.stars,
                name: e.name.clone(),
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
    let orgs: Vec<&Value> = entries.iter().map(|e| &e.json).collect();
    let mut rows: Vec<&Row> = entries.iter().collect();
    rows.sort_by(|a, b| a.compare(b, view.sort));
    let headers: Vec<Value> = [
        ("Organisation", OrgKey::Name, false),
        ("Repos", OrgKey::Repos, true),
        ("Stars", OrgKey::Stars, true),
        ("7 days", OrgKey::Week, true),
        ("30 days", OrgKey::Month, true),
        ("Forks", OrgKey::Forks, true),
        (issues_header(overview, forges), OrgKey::Issues, true),
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
        json!({ "label": label, "url": url, "sort": sort, "num": num })
    })
    .collect();
    let charts = charts_context(&mut charted);
    json!({
        "table": (orgs.len() > CARDS_UP_TO).then(|| json!({
            "rows": rows.iter().map(|r| &r.json).collect::<Vec<_>>(),
            "headers": headers,
            "spark_days": SPARK_DAYS,
        })),
        "ranges": range.links(|r| View { range: r, ..view }.url()),
        "summary": { "orgs": overview.len(), "repos": thousands(repos), "stars": thousands(stars) },
        "charts": charts,
        "orgs": orgs,
    })
}

/// One organisation as a card or a table row shows it.
fn entry(o: &OrgOverview, forges: &Forges, now: DateTime<Utc>) -> Row {
    let id = &o.tracked.org;
    let profile = o.record.as_ref().map(|r| &r.profile);
    let name = display_name(id, profile.and_then(|p| p.name.as_deref()));
    let (initial, color) = views::monogram(id, &name);
    let outcome = o.tracked.last_outcome.as_ref();
    let freshness = Freshness::of(outcome, o.tracked.last_success_at, now);
    let latest = o.history.last();
    let forge = forges.of(id);
    let totals = latest.map(|d| {
        json!({
            "repos": thousands(d.totals.repos), "stars": thousands(d.totals.stars),
            "forks": thousands(d.totals.forks), "open_issues": thousands(d.totals.open_issues),
        })
    });
    let (languages, langbar) = match latest {
        Some(day) => {
            let (_, mix) = views::language_mix(day);
            let top = views::top_languages(mix, 4);
            let list: Vec<Value> = top
                .iter()
                .map(|(n, p, c)| json!({ "name": n, "pct": format!("{p:.0}"), "class": c }))
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
    let json = json!({
        "id": id.to_string(), "url": format!("/orgs/{}", id.url_path()), "name": name,
        "initial": initial, "color": color,
        "forge": forge.map_or_else(|| id.forge().to_string(), |f| f.kind.label().to_owned()),
        "forge_kind": forge.map(|f| f.kind.as_str()),
        "issues_label": forge.map_or(ForgeKind::GitHub, |f| f.kind).open_issues_short(),
        "description": profile.and_then(|p| p.description.clone()),
        "badge": badge(freshness, outcome, o.tracked.last_success_at),
        "totals": totals, "languages": languages, "langbar": langbar,
        "last": last_refresh_text(outcome, now), "problem": problem,
        "ago": outcome.map_or_else(|| "never".to_owned(), |o| views::ago(o.finished_at, now)),
        "week": signed_cell(week), "month": signed_cell(month),
        "spark": charts::sparkline(&spark, &format!("Stars of {name} over the last {SPARK_DAYS} days")),
    });
    Row {
        name,
        totals: latest.map(|d| d.totals.clone()),
        week,
        month,
        refreshed: o.tracked.last_success_at,
        json,
    }
}

/// An organisation with a snapshot, as the charts draw it.
struct Charted {
    stars: u64,
    name: String,
    url: String,
    measure: LanguageMeasure,
    mix: BTreeMap<String, u64>,
    /// Its stars on each day of the range.
    points: Vec<(NaiveDate, u64)>,
}

/// The charts across organisations: the biggest by stars one by one, the rest as
/// "others" (one row of their language mixes added up; their stars in the captions).
fn charts_context(charted: &mut [Charted]) -> Value {
    charted.sort_by_key(|c| (Reverse(c.stars), c.name.to_lowercase()));
    let others = |from: usize| {
        let n = charted.len().saturating_sub(from);
        (n > 0).then(|| {
            format!(
                "{n} other {}",
                if n == 1 {
                    "organisation"
                } else {
                    "organisations"
                }
            )
        })
    };
    let star_bars: Vec<Bar> = charted
        .iter()
        .take(TOP_BARS)
        .map(|c| Bar {
            label: c.name.clone(),
            value: c.stars,
            href: Some(c.url.clone()),
        })
        .collect();
    let bytes = !charted.is_empty() && charted.iter().all(|c| c.measure == LanguageMeasure::Bytes);
    let mut language_rows: Vec<ShareRow> = charted
        .iter()
        .take(TOP_BARS)
        .map(|c| ShareRow {
            label: c.name.clone(),
            parts: c.mix.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        })
        .collect();
    // Mixes in one measure add up; with bytes for some and repositories for others
    // the chart reads each row as shares, so each organisation counts by its own.
    if let Some(label) = others(TOP_BARS) {
        let mut sum: BTreeMap<String, f64> = BTreeMap::new();
        for c in &charted[TOP_BARS..] {
            let total: u64 = c.mix.values().sum();
            for (k, v) in &c.mix {
                let part = if bytes {
                    *v as f64
                } else {
                    *v as f64 / total.max(1) as f64 * 1e6
                };
                *sum.entry(k.clone()).or_default() += part;
            }
        }
        language_rows.push(ShareRow {
            label,
            parts: sum
                .into_iter()
                .map(|(k, v)| (k, v.round() as u64))
                .collect(),
        });
    }
    let series: Vec<Series> = charted
        .iter()
        .take(TOP_LINES)
        .map(|c| Series {
            name: c.name.clone(),
            points: c.points.iter().map(|(d, v)| (*d, Some(*v))).collect(),
        })
        .collect();
    // What is not drawn one by one, said in words: drawn on the same axis, the sum of
    // fifty organisations would flatten every other bar and line.
    let all: u64 = charted.iter().map(|c| c.stars).sum();
    let share = |n: u64| n as f64 / all.max(1) as f64 * 100.0;
    let rest = |from: usize| {
        let rest = charted.get(from..).unwrap_or_default();
        let stars: u64 = rest.iter().map(|c| c.stars).sum();
        (rest.len(), stars)
    };
    let bars_note = match rest(TOP_BARS) {
        (0, _) => None,
        (n, stars) => Some(format!(
            "The {TOP_BARS} biggest of {}; the other {n} have {} stars together ({:.0} % of all).",
            charted.len(),
            thousands(stars),
            share(stars)
        )),
    };
    let lines_note = match rest(TOP_LINES) {
        (0, _) => None,
        (n, stars) => {
            let known: Vec<(NaiveDate, u64)> = summed(&charted[TOP_LINES..])
                .into_iter()
                .filter_map(|(d, v)| v.map(|v| (d, v)))
                .collect();
            let moved = match (known.first(), known.last()) {
                (Some((from, a)), Some((to, b))) if from < to => {
                    format!(", {} since {from}", charts::signed(*b as i64 - *a as i64))
                }
                _ => String::new(),
            };
            Some(format!(
                "The {TOP_LINES} biggest by stars have a line each; the other {n} have {} stars together{moved}.",
                thousands(stars)
            ))
        }
    };
    let languages_rows = language_rows.len();
    json!({
        "stars": charts::bars("stars-by-org", "Stars by organisation", &star_bars, "stars", Width::Panel),
        "languages": charts::shares("language-mix", "Language mix by organisation", &language_rows, if bytes { "bytes" } else { "repos" }),
        "languages_note": if bytes { "Share of code bytes per language." } else { "Share of repositories by primary language (per-repository languages need a forge token)." },
        "history": charts::lines("stars-history", "Stars over time", &series, "stars", Width::Wide),
        "stars_note": bars_note,
        "history_note": lines_note,
        "languages_others": languages_rows > TOP_BARS,
    })
}

/// The stars of several organisations added up per day; a day one of them has no
/// snapshot for, inside the span of its history, is a gap rather than a dip.
fn summed(orgs: &[Charted]) -> Vec<(NaiveDate, Option<u64>)> {
    let mut days: BTreeMap<NaiveDate, u64> = BTreeMap::new();
    for c in orgs {
        for (d, v) in &c.points {
            *days.entry(*d).or_default() += v;
        }
    }
    days.into_iter()
        .map(|(day, total)| {
            let complete = orgs.iter().all(|c| {
                let inside = matches!((c.points.first(), c.points.last()), (Some(f), Some(l)) if f.0 <= day && day <= l.0);
                !inside || c.points.binary_search_by_key(&day, |p| p.0).is_ok()
            });
            (day, complete.then_some(total))
        })
        .collect()
}
