//! The time range a page's charts show (`?range=30d|90d|1y|all`, kept in the URL so a
//! view can be linked to), and the key figures' changes read against it.

use chrono::{Days, NaiveDate};
use serde::Serialize;

use crate::web::charts;
use crate::web::error::Invalid;
use crate::web::extract::Param;

/// How far back the charts reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Range {
    #[default]
    Month,
    Quarter,
    Year,
    All,
}

impl Range {
    /// Every preset, in the order the pages offer them.
    pub(crate) const ALL: [Range; 4] = [Range::Month, Range::Quarter, Range::Year, Range::All];

    /// `?range=` as a page gives it; absent or blank is the default (30 days).
    pub(crate) fn parse(value: Param<'_>) -> Result<Self, Invalid> {
        let Some(v) = value.get("range")? else {
            return Ok(Range::default());
        };
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == v)
            .ok_or_else(|| {
                Invalid::param(format!("range must be one of 30d, 90d, 1y, all, got `{v}`"))
            })
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Range::Month => "30d",
            Range::Quarter => "90d",
            Range::Year => "1y",
            Range::All => "all",
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Range::Month => "30 days",
            Range::Quarter => "90 days",
            Range::Year => "1 year",
            Range::All => "All",
        }
    }

    /// The range's length in days; `None` for all of the history.
    pub(crate) fn days(self) -> Option<u64> {
        match self {
            Range::Month => Some(30),
            Range::Quarter => Some(90),
            Range::Year => Some(365),
            Range::All => None,
        }
    }

    /// The first day a chart ending on `latest` shows.
    pub(crate) fn first_day(self, latest: NaiveDate) -> Option<NaiveDate> {
        self.days()
            .and_then(|d| latest.checked_sub_days(Days::new(d)))
    }

    /// The days of `days` (ascending) inside the range ending at the last of them.
    pub(crate) fn keep<T>(self, days: &[T], day: impl Fn(&T) -> NaiveDate) -> &[T] {
        let Some(first) = days.last().and_then(|d| self.first_day(day(d))) else {
            return days;
        };
        &days[days.partition_point(|d| day(d) < first)..]
    }

    /// `?range=` for a link: nothing for the default.
    pub(crate) fn query(self) -> Option<(&'static str, &'static str)> {
        (self != Range::default()).then_some(("range", self.as_str()))
    }

    /// The presets as links, `url` building each one's address.
    pub(crate) fn links(self, url: impl Fn(Range) -> String) -> Vec<RangeLink> {
        Self::ALL
            .iter()
            .map(|r| RangeLink {
                label: r.label(),
                url: url(*r),
                current: *r == self,
            })
            .collect()
    }
}

/// One preset as a link on a page.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RangeLink {
    pub label: &'static str,
    pub url: String,
    pub current: bool,
}

/// A count's change over one window, as a key figure shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DeltaCell {
    /// "1 day", "30 days", "since 2026-01-01".
    pub label: String,
    /// "+12", or "no data yet".
    pub text: String,
    /// `up`, `down` or `none`.
    pub class: &'static str,
    pub title: String,
}

/// The change of a count over 1 day, 7 days and `range`, each against the latest day with
/// a value on or before that far back from the latest value ("all" against the first
/// one); "no data yet" where the history does not reach, never a made-up zero. `points`
/// are ascending by day; `None` is a day whose snapshot had no value.
pub(crate) fn delta_cells(points: &[(NaiveDate, Option<u64>)], range: Range) -> Vec<DeltaCell> {
    let known = || points.iter().filter_map(|(d, v)| v.map(|v| (*d, v)));
    let latest = known().next_back();
    let mut windows: Vec<(Option<u64>, String)> =
        vec![(Some(1), "1 day".into()), (Some(7), "7 days".into())];
    match range.days() {
        Some(d) => windows.push((Some(d), range.label().to_owned())),
        None => windows.push((None, String::new())),
    }
    windows
        .into_iter()
        .map(|(days, label)| {
            let base = latest.and_then(|(day, _)| match days {
                Some(n) => {
                    let target = day.checked_sub_days(Days::new(n))?;
                    known().rfind(|(d, _)| *d <= target)
                }
                None => known().next().filter(|(d, _)| *d < day),
            });
            let label = match (days, base) {
                (None, Some((since, _))) => format!("since {since}"),
                (None, None) => "all".to_owned(),
                _ => label,
            };
            match (latest, base) {
                (Some((_, now)), Some((since, then))) => {
                    let v = now as i64 - then as i64;
                    let class = match v.signum() {
                        1 => "up",
                        -1 => "down",
                        _ => "none",
                    };
                    DeltaCell {
                        label,
                        text: charts::signed(v),
                        class,
                        title: format!("change since {since}"),
                    }
                }
                _ => {
                    let title = match days {
                        Some(n) => format!("history is not {n} days deep yet"),
                        None => "one day of history so far".to_owned(),
                    };
                    DeltaCell {
                        label,
                        text: "no data yet".to_owned(),
                        class: "none",
                        title,
                    }
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn parses_the_presets_and_refuses_anything_else() {
        assert_eq!(Range::parse(Param::default()), Ok(Range::Month));
        assert_eq!(Range::parse("1y".into()), Ok(Range::Year));
        assert_eq!(Range::parse(" all ".into()), Ok(Range::All));
        let bad = Range::parse("7d".into()).expect_err("not a preset");
        assert!(bad.message.contains("`7d`"), "{}", bad.message);
        assert_eq!(Range::Month.query(), None, "the default stays out of links");
        assert_eq!(Range::Quarter.query(), Some(("range", "90d")));
    }

    #[test]
    fn keeps_the_days_inside_the_range_ending_at_the_last_day() {
        let days: Vec<NaiveDate> = [
            "2026-01-01",
            "2026-03-01",
            "2026-05-30",
            "2026-06-29",
            "2026-07-01",
        ]
        .map(day)
        .to_vec();
        assert_eq!(Range::Month.keep(&days, |d| *d), &days[3..]);
        assert_eq!(Range::Quarter.keep(&days, |d| *d), &days[2..]);
        assert_eq!(Range::Year.keep(&days, |d| *d), &days[..]);
        assert_eq!(Range::All.keep(&days, |d| *d), &days[..]);
        assert!(Range::Month.keep(&[] as &[NaiveDate], |d| *d).is_empty());
    }

    #[test]
    fn deltas_read_against_the_range_and_never_invent_zero() {
        let points = vec![
            (day("2025-12-30"), Some(100)),
            (day("2026-02-20"), None),
            (day("2026-03-01"), Some(150)),
            (day("2026-03-30"), Some(160)),
            (day("2026-03-31"), Some(170)),
        ];
        let texts = |range| -> Vec<String> {
            delta_cells(&points, range)
                .iter()
                .map(|c| format!("{}: {}", c.label, c.text))
                .collect()
        };
        assert_eq!(
            texts(Range::Month),
            ["1 day: +10", "7 days: +20", "30 days: +20"]
        );
        assert_eq!(
            texts(Range::Quarter),
            ["1 day: +10", "7 days: +20", "90 days: +70"]
        );
        assert_eq!(texts(Range::Year)[2], "1 year: no data yet");
        assert_eq!(texts(Range::All)[2], "since 2025-12-30: +70");
        let single = delta_cells(&points[..1], Range::All);
        assert_eq!(single[2].text, "no data yet");
        assert_eq!(single[0].text, "no data yet");
    }
}
