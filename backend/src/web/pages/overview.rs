//! The front page: every tracked organisation, with totals and charts across them.

use chrono::{DateTime, Utc};
use rocket::http::ContentType;
use serde_json::{json, Value};

use super::{badge, display_name, last_refresh_text};
use crate::domain::{ForgeKind, Forges};
use crate::store::OrgOverview;
use crate::web::cache::{CachedGet, Conditional, Rendered, Scope};
use crate::web::charts::{self, thousands, Bar, Series, ShareRow, Width};
use crate::web::error::PageError;
use crate::web::extract::Param;
use crate::web::range::Range;
use crate::web::views::{self, Freshness, LanguageMeasure};

#[rocket::get("/?<range>")]
pub(crate) async fn overview(
    get: CachedGet<'_>,
    range: Param<'_>,
) -> Result<Conditional, PageError> {
    let range = Range::parse(range)?;
    get.answer(Scope::Orgs, || async {
        let overview = get.overview().await?;
        let html = get.state.templates.render(
            "index.html",
            "orgs",
            &overview_context(&overview, &get.state.forges, range, Utc::now()),
        )?;
        Ok::<_, PageError>(Rendered::new(html, ContentType::HTML))
    })
    .await
}

fn overview_context(
    overview: &[OrgOverview],
    forges: &Forges,
    range: Range,
    now: DateTime<Utc>,
) -> Value {
    // Every organisation's line starts at the same day: the range back from the latest
    // snapshot of any of them.
    let first_day = overview
        .iter()
        .filter_map(|o| o.history.last().map(|d| d.day))
        .max()
        .and_then(|latest| range.first_day(latest));
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
        let url = format!("/orgs/{}", id.url_path());
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
                .filter(|d| first_day.is_none_or(|first| d.day >= first))
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
            "id": id.to_string(), "url": url,
            "forge": forges.of(id).map_or_else(|| id.forge().to_string(), |f| f.kind.label().to_owned()),
            "forge_kind": forges.of(id).map(|f| f.kind.as_str()), "name": name,
            "issues_label": forges.of(id).map_or(ForgeKind::GitHub, |f| f.kind).open_issues_short(), "initial": initial, "color": color,
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
        "ranges": range.links(|r| match r.query() {
            Some((k, v)) => format!("/?{k}={v}"),
            None => "/".to_owned(),
        }),
        "summary": { "orgs": overview.len(), "repos": thousands(repos), "stars": thousands(stars) },
        "charts": {
            "stars": charts::bars("stars-by-org", "Stars by organisation", &star_bars, "stars", Width::Panel),
            "languages": charts::shares("language-mix", "Language mix by organisation", &language_rows, if bytes { "bytes" } else { "repos" }),
            "languages_note": if bytes { "Share of code bytes per language." } else { "Share of repositories by primary language (per-repository languages need a forge token)." },
            "history": charts::lines("stars-history", "Stars over time", &series, "stars", Width::Wide),
        },
    })
}
