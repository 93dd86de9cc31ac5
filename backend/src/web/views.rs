//! What pages and the API derive from stored data: freshness, changes over days, the
//! language mix, and how times read.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use super::charts::PALETTE;
use crate::domain::{DayTotals, ForgeKind, OpenCounts, OrgId, OrgOutcome};

/// A successful refresh younger than this counts as fresh (a daily schedule plus slack).
pub(crate) const FRESH_WITHIN: Duration = Duration::hours(36);

/// How current an organisation's data is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Freshness {
    /// Refreshed successfully within the last 36 hours.
    Fresh,
    /// The last good data is older than that.
    Stale,
    /// The latest refresh failed; older data (if any) is still shown.
    Failed,
    /// Never fetched yet.
    Never,
}

impl Freshness {
    pub(crate) fn of(
        last_outcome: Option<&OrgOutcome>,
        last_success: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Self {
        match (last_outcome, last_success) {
            (Some(o), _) if !o.status.stored() => Freshness::Failed,
            (_, Some(at)) if now - at <= FRESH_WITHIN => Freshness::Fresh,
            (_, Some(_)) => Freshness::Stale,
            (_, None) => Freshness::Never,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Freshness::Fresh => "fresh",
            Freshness::Stale => "stale",
            Freshness::Failed => "failed",
            Freshness::Never => "never",
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Freshness::Fresh => "fresh",
            Freshness::Stale => "stale",
            Freshness::Failed => "last refresh failed",
            Freshness::Never => "not fetched yet",
        }
    }
}

/// Change of the totals against an earlier day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub(crate) struct Delta {
    /// The earlier snapshot's day (the latest one on or before the asked-for day).
    pub since: NaiveDate,
    pub repos: i64,
    pub stars: i64,
    pub forks: i64,
    /// The change of open issues alone, where the forge counts them alone (GitLab).
    pub open_issues: Option<i64>,
    /// The change of open issues and pull requests together (GitHub, Gitea/Forgejo).
    pub open_issues_and_pull_requests: Option<i64>,
}

/// The change over `days` ending at the latest snapshot; `None` when history does not
/// reach back that far (never a made-up zero).
pub(crate) fn delta(history: &[DayTotals], days: i64, kind: Option<ForgeKind>) -> Option<Delta> {
    let latest = history.last()?;
    let target = latest.day - Duration::days(days);
    let base = history.iter().rev().find(|d| d.day <= target)?;
    let diff = |a: u64, b: u64| a as i64 - b as i64;
    let open = OpenCounts::listed(
        kind,
        Some(diff(latest.totals.open_issues, base.totals.open_issues)),
    );
    Some(Delta {
        since: base.day,
        repos: diff(latest.totals.repos, base.totals.repos),
        stars: diff(latest.totals.stars, base.totals.stars),
        forks: diff(latest.totals.forks, base.totals.forks),
        open_issues: open.issues,
        open_issues_and_pull_requests: open.both,
    })
}

/// Which measure a language mix uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LanguageMeasure {
    /// Bytes per language (needs per-repo language requests).
    Bytes,
    /// Repositories per primary language (always known).
    Repos,
}

/// The day's language mix: bytes when known, else repositories by primary language.
pub(crate) fn language_mix(day: &DayTotals) -> (LanguageMeasure, &BTreeMap<String, u64>) {
    if day.languages.values().any(|b| *b > 0) {
        (LanguageMeasure::Bytes, &day.languages)
    } else {
        (LanguageMeasure::Repos, &day.primary_languages)
    }
}

/// The top `n` languages with their percentage and colour class; the rest as "Other".
pub(crate) fn top_languages(mix: &BTreeMap<String, u64>, n: usize) -> Vec<(String, f64, String)> {
    let total: u64 = mix.values().sum();
    if total == 0 {
        return Vec::new();
    }
    let mut sorted: Vec<(&String, &u64)> = mix.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let n = n.min(PALETTE - 1);
    let mut parts: Vec<(String, f64, String)> = sorted
        .iter()
        .take(n)
        .enumerate()
        .map(|(i, (name, v))| {
            (
                (*name).clone(),
                **v as f64 / total as f64 * 100.0,
                format!("c{i}"),
            )
        })
        .collect();
    let rest: u64 = sorted.iter().skip(n).map(|(_, v)| **v).sum();
    if rest > 0 {
        parts.push((
            "Other".into(),
            rest as f64 / total as f64 * 100.0,
            "c-other".into(),
        ));
    }
    parts
}

/// "3 hours ago", "2 days ago".
pub(crate) fn ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let d = now - then;
    let (n, unit) = if d < Duration::minutes(1) {
        return "just now".into();
    } else if d < Duration::hours(1) {
        (d.num_minutes(), "minute")
    } else if d < Duration::days(2) {
        (d.num_hours(), "hour")
    } else {
        (d.num_days(), "day")
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

pub(crate) fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A stable colour slot and initial for an organisation's monogram.
pub(crate) fn monogram(org: &OrgId, name: &str) -> (String, usize) {
    let initial = name
        .chars()
        .find(|c| c.is_alphanumeric())
        .map_or('?', |c| c.to_ascii_uppercase());
    let slot = org.login().bytes().fold(0usize, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(b as usize)
    }) % PALETTE;
    (initial.to_string(), slot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{OrgStatus, RunCounts, Totals};

    fn day(d: &str, stars: u64) -> DayTotals {
        DayTotals {
            day: d.parse().expect("date"),
            taken_at: Utc::now(),
            totals: Totals {
                stars,
                ..Totals::default()
            },
            languages: BTreeMap::new(),
            primary_languages: BTreeMap::new(),
        }
    }

    #[test]
    fn deltas_use_the_nearest_earlier_day_and_never_invent_zero() {
        let h = vec![
            day("2026-01-01", 10),
            day("2026-01-05", 15),
            day("2026-01-06", 20),
        ];
        let d1 = delta(&h, 1, None).expect("yesterday exists");
        assert_eq!((d1.stars, d1.since.to_string().as_str()), (5, "2026-01-05"));
        let d3 = delta(&h, 3, None).expect("falls back to an earlier day");
        assert_eq!(
            (d3.stars, d3.since.to_string().as_str()),
            (10, "2026-01-01")
        );
        assert!(delta(&h, 30, None).is_none(), "history is not 30 days deep");
        assert!(delta(&[], 1, None).is_none());
    }

    #[test]
    fn freshness_follows_the_last_outcome() {
        let now = Utc::now();
        let org: OrgId = "github:a".parse().expect("id");
        let outcome = |status| OrgOutcome {
            org: org.clone(),
            status,
            message: None,
            counts: RunCounts::default(),
            finished_at: now,
        };
        assert_eq!(Freshness::of(None, None, now), Freshness::Never);
        assert_eq!(
            Freshness::of(
                Some(&outcome(OrgStatus::Ok)),
                Some(now - Duration::hours(2)),
                now
            ),
            Freshness::Fresh
        );
        assert_eq!(
            Freshness::of(
                Some(&outcome(OrgStatus::Ok)),
                Some(now - Duration::days(3)),
                now
            ),
            Freshness::Stale
        );
        assert_eq!(
            Freshness::of(Some(&outcome(OrgStatus::Failed)), Some(now), now),
            Freshness::Failed
        );
        assert_eq!(
            Freshness::of(Some(&outcome(OrgStatus::Partial)), Some(now), now),
            Freshness::Fresh
        );
    }

    #[test]
    fn top_languages_fold_the_rest() {
        let mix: BTreeMap<String, u64> = [("Rust", 50), ("Go", 30), ("C", 15), ("Perl", 5)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let top = top_languages(&mix, 2);
        assert_eq!(
            top.iter().map(|t| t.0.as_str()).collect::<Vec<_>>(),
            ["Rust", "Go", "Other"]
        );
        assert!((top[2].1 - 20.0).abs() < 1e-9);
        assert_eq!(
            ago(Utc::now() - Duration::hours(3), Utc::now()),
            "3 hours ago"
        );
    }
}
