//! The front page's charts across organisations: the biggest few one by one, the rest
//! as "others" (a row of their language mixes added up, their stars in the captions).

use std::cmp::Reverse;
use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::web::charts::{self, thousands, Bar, Series, ShareRow, Width};
use crate::web::views::LanguageMeasure;

/// Organisations drawn one by one in the bar and language charts; the rest are "others".
const TOP_BARS: usize = 10;

/// Organisations drawn as their own line in "stars over time"; the rest are one line.
const TOP_LINES: usize = 6;

#[derive(Debug, Serialize)]
pub(super) struct OverviewCharts {
    stars: String,
    languages: String,
    languages_note: &'static str,
    history: String,
    stars_note: Option<String>,
    history_note: Option<String>,
    /// Whether the language chart's last row adds up the others.
    languages_others: bool,
}

/// An organisation with a snapshot, as the charts draw it.
pub(super) struct Charted {
    pub stars: u64,
    pub name: String,
    pub url: String,
    pub measure: LanguageMeasure,
    pub mix: BTreeMap<String, u64>,
    /// Its stars on each day of the range.
    pub points: Vec<(NaiveDate, u64)>,
}

/// The charts across organisations: the biggest by stars one by one, the rest as
/// "others" (one row of their language mixes added up; their stars in the captions).
pub(super) fn charts_context(charted: &mut [Charted]) -> OverviewCharts {
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
    OverviewCharts {
        stars: charts::bars(
            "stars-by-org",
            "Stars by organisation",
            &star_bars,
            "stars",
            Width::Panel,
        ),
        languages: charts::shares(
            "language-mix",
            "Language mix by organisation",
            &language_rows,
            if bytes { "bytes" } else { "repos" },
        ),
        languages_note: if bytes {
            "Share of code bytes per language."
        } else {
            "Share of repositories by primary language (per-repository languages need a forge token)."
        },
        history: charts::lines(
            "stars-history",
            "Stars over time",
            &series,
            "stars",
            Width::Wide,
        ),
        stars_note: bars_note,
        history_note: lines_note,
        languages_others: languages_rows > TOP_BARS,
    }
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
