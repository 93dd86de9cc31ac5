//! The "Activity" section of an organisation's page and of a repository's: the window's
//! figures against the window before, opened against merged pull requests per week, and
//! who contributed.

use serde::Serialize;

use crate::domain::activity::ActivityFigures;
use crate::web::charts::{self, thousands, Series, Width};

/// Contributors the section names.
const CONTRIBUTORS_SHOWN: usize = 10;

/// What the section shows.
#[derive(Debug, Serialize)]
pub(super) struct ActivitySection {
    /// `false`: the organisation's activity was never read; the section says why.
    available: bool,
    /// "30 days", the window's length.
    window: String,
    from: String,
    to: String,
    figures: Vec<Figure>,
    /// Opened against merged pull requests per week.
    chart: String,
    contributors: Vec<Contributor>,
    new_contributors: Vec<String>,
    json: String,
    /// Whether it is one repository's share of the organisation's activity.
    of_repo: bool,
}

/// One figure with the same figure over the window before.
#[derive(Debug, Serialize)]
struct Figure {
    label: &'static str,
    value: String,
    before: String,
    /// What the figure means, for its title.
    title: &'static str,
}

#[derive(Debug, Serialize)]
struct Contributor {
    login: String,
    items: u64,
}

/// Hours as people read them: `40 min`, `5.5 h`, `3.2 days`; `–` when there is none.
fn duration(hours: Option<f64>) -> String {
    match hours {
        None => "–".to_owned(),
        Some(h) if h < 1.0 => format!("{:.0} min", h * 60.0),
        Some(h) if h < 48.0 => format!("{h:.1} h"),
        Some(h) => format!("{:.1} days", h / 24.0),
    }
}

fn ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "–".to_owned(), |r| format!("{:.0} %", r * 100.0))
}

fn count(n: u64) -> String {
    thousands(n)
}

/// The section for `current` and `previous` (`None`: activity never read), `api` the
/// figures' JSON address.
pub(super) fn section(
    figures: Option<(ActivityFigures, ActivityFigures)>,
    api: String,
    of_repo: bool,
) -> ActivitySection {
    let Some((now, before)) = figures else {
        return ActivitySection {
            available: false,
            window: String::new(),
            from: String::new(),
            to: String::new(),
            figures: Vec::new(),
            chart: String::new(),
            contributors: Vec::new(),
            new_contributors: Vec::new(),
            json: api,
            of_repo,
        };
    };
    let pair = |label, title, f: &dyn Fn(&ActivityFigures) -> String| Figure {
        label,
        value: f(&now),
        before: f(&before),
        title,
    };
    let figures = vec![
        pair("Pull requests opened", "created in the window", &|f| {
            count(f.counts.pulls_opened)
        }),
        pair("Pull requests merged", "merged in the window", &|f| {
            count(f.counts.pulls_merged)
        }),
        pair(
            "Closure ratio",
            "pull requests closed (merged or not) ÷ opened",
            &|f| ratio(f.closure_ratio),
        ),
        pair("Issues opened", "created in the window", &|f| {
            count(f.counts.issues_opened)
        }),
        pair("Issues closed", "closed in the window", &|f| {
            count(f.counts.issues_closed)
        }),
        pair(
            "First response, median",
            "over items created in the window that got one",
            &|f| duration(f.first_response.median_hours),
        ),
        pair("First response, 90th percentile", "nearest rank", &|f| {
            duration(f.first_response.p90_hours)
        }),
        pair(
            "Waiting for a first response",
            "created in the window, not answered",
            &|f| count(f.first_response.waiting),
        ),
        pair(
            "Time to merge, median",
            "over pull requests merged in the window",
            &|f| duration(f.merge_median_hours),
        ),
        pair(
            "Contributors",
            "authors of items created in the window, bots left out",
            &|f| count(f.contributors),
        ),
        pair(
            "New contributors",
            "whose first item falls in the window",
            &|f| count(f.new_contributors),
        ),
        pair(
            "Contributor absence factor",
            "fewest authors with more than half of the merged pull requests",
            &|f| f.bus_factor.map_or_else(|| "–".to_owned(), count),
        ),
        pair("Releases", "published in the window", &|f| {
            count(f.releases)
        }),
    ];
    // Each week at its Monday (the first may be cut by the window), so points are a week
    // apart and the lines join.
    let monday = |d: chrono::NaiveDate| {
        d - chrono::Days::new(u64::from(
            chrono::Datelike::weekday(&d).num_days_from_monday(),
        ))
    };
    let weekly = |name: &str, pick: fn(&crate::domain::activity::Week) -> u64| Series {
        name: name.to_owned(),
        points: now
            .weeks
            .iter()
            .map(|w| (monday(w.start), Some(pick(w))))
            .collect(),
    };
    let days = (now.window.to - now.window.from).num_days();
    ActivitySection {
        available: true,
        window: format!("{days} days"),
        from: now.window.from.to_string(),
        to: (now.window.to - chrono::Days::new(1)).to_string(),
        figures,
        chart: charts::lines_every(
            "activity-weekly",
            "Pull requests opened and merged per week",
            &[
                weekly("Opened", |w| w.counts.pulls_opened),
                weekly("Merged", |w| w.counts.pulls_merged),
            ],
            "pull requests",
            Width::Wide,
            7,
        ),
        contributors: now
            .top_contributors
            .iter()
            .take(CONTRIBUTORS_SHOWN)
            .map(|c| Contributor {
                login: c.login.clone(),
                items: c.items,
            })
            .collect(),
        new_contributors: now.new_contributor_logins.clone(),
        json: api,
        of_repo,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(Some(0.5)), "30 min");
        assert_eq!(duration(Some(5.25)), "5.2 h");
        assert_eq!(duration(Some(72.0)), "3.0 days");
        assert_eq!(duration(None), "–");
        assert_eq!(ratio(Some(0.756)), "76 %");
    }
}
