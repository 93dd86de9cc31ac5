//! Activity and responsiveness (the CHAOSS figures): the issues, pull requests and
//! releases of an organisation's repositories as stored records, and the figures of a
//! window computed from them. The definitions live here once, for every store and page:
//!
//! - a window is `from` inclusive to `to` exclusive, in UTC days;
//! - a pull request is closed in the window when it was closed or merged in it (merged or
//!   not); the closure ratio is those over the pull requests opened in it;
//! - time to first response is measured over items created in the window that got one
//!   (median, and the 90th percentile by nearest rank); an item created in the window with
//!   no first response is waiting, and its age is counted to the window's end;
//! - time to merge is over pull requests merged in the window;
//! - contributors are the distinct authors of items created in the window, bots and
//!   unknown (deleted) authors left out; new contributors are those whose first item in
//!   the organisation falls in the window;
//! - the contributor absence factor ("bus factor") is the smallest number of authors whose
//!   merged pull requests in the window add up to more than half of those merged by known,
//!   non-bot authors.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::ForgeName;

/// A pull (merge) request or an issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    PullRequest,
    Issue,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::PullRequest => "pull_request",
            ItemKind::Issue => "issue",
        }
    }
}

impl std::str::FromStr for ItemKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pull_request" => Ok(ItemKind::PullRequest),
            "issue" => Ok(ItemKind::Issue),
            other => Err(format!("`{other}` is not an item kind")),
        }
    }
}

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    Open,
    Closed,
    Merged,
}

impl ItemState {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Open => "open",
            ItemState::Closed => "closed",
            ItemState::Merged => "merged",
        }
    }
}

impl std::str::FromStr for ItemState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "open" => Ok(ItemState::Open),
            "closed" => Ok(ItemState::Closed),
            "merged" => Ok(ItemState::Merged),
            other => Err(format!("`{other}` is not an item state")),
        }
    }
}

/// One issue or pull request, keyed by its forge and the forge's id for it (stable when
/// the item moves between repositories). It belongs to every organisation that lists its
/// repository, like the repository itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityItem {
    pub forge: ForgeName,
    /// The forge's id of the item.
    pub id: i64,
    pub repo_id: i64,
    pub number: u64,
    pub kind: ItemKind,
    /// The author's login; `None` for a deleted account (GitHub's `ghost`) or none given.
    pub author: Option<String>,
    pub author_bot: bool,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub merged_at: Option<DateTime<Utc>>,
    /// The earliest comment or review by someone neither the author nor a bot.
    pub first_response_at: Option<DateTime<Utc>>,
    pub state: ItemState,
    pub updated_at: DateTime<Utc>,
}

/// What names one item on its forge: GitLab and GitHub number pull requests and issues
/// in sequences of their own, so an id is unique only within its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemKey {
    pub kind: ItemKind,
    pub id: i64,
}

/// The distinct contributors (known, non-bot authors) of `items`, sorted: whose first items
/// a window's figures need.
pub fn authors<'a>(items: impl IntoIterator<Item = &'a ActivityItem>) -> Vec<String> {
    let found: std::collections::BTreeSet<&str> = items
        .into_iter()
        .filter_map(ActivityItem::contributor)
        .collect();
    found.into_iter().map(str::to_owned).collect()
}

impl ActivityItem {
    pub fn key(&self) -> ItemKey {
        ItemKey {
            kind: self.kind,
            id: self.id,
        }
    }

    /// A known, human author: who counts as a contributor.
    pub fn contributor(&self) -> Option<&str> {
        self.author.as_deref().filter(|_| !self.author_bot)
    }

    /// When a pull request was closed, merged or not; an issue's close.
    pub fn ended_at(&self) -> Option<DateTime<Utc>> {
        match self.kind {
            ItemKind::PullRequest => self.closed_at.or(self.merged_at),
            ItemKind::Issue => self.closed_at,
        }
    }
}

impl ActivityItem {
    /// This record with times before its creation (a forge's clock skew, an import that
    /// kept old dates) moved to its creation, so no duration is negative; and whether any
    /// was.
    pub fn in_order(mut self) -> (ActivityItem, bool) {
        let created = self.created_at;
        let mut moved = false;
        for at in [
            &mut self.closed_at,
            &mut self.merged_at,
            &mut self.first_response_at,
        ]
        .into_iter()
        .flatten()
        {
            if *at < created {
                *at = created;
                moved = true;
            }
        }
        if self.updated_at < created {
            self.updated_at = created;
            moved = true;
        }
        (self, moved)
    }

    /// This record with what an earlier sync saw and this one cannot: a first response,
    /// once seen, stays the earliest (a sync reads only the comments since its start).
    pub fn keeping(mut self, stored: Option<DateTime<Utc>>) -> ActivityItem {
        self.first_response_at = match (self.first_response_at, stored) {
            (Some(new), Some(old)) => Some(new.min(old)),
            (new, old) => new.or(old),
        };
        self
    }
}

/// Who counts as a bot: whom the forge marks as one (GitHub's `Bot` accounts, GitLab's
/// `bot: true`), a login ending in `[bot]`, or a login in `ORGPULSE_BOT_LOGINS`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BotRules {
    /// Lower-case logins.
    logins: HashSet<String>,
}

impl BotRules {
    pub fn new(logins: impl IntoIterator<Item = impl AsRef<str>>) -> BotRules {
        BotRules {
            logins: logins
                .into_iter()
                .map(|l| l.as_ref().trim().to_ascii_lowercase())
                .filter(|l| !l.is_empty())
                .collect(),
        }
    }

    /// Whether `login` is a bot; `marked` is what the forge itself says.
    pub fn is_bot(&self, login: &str, marked: bool) -> bool {
        let lower = login.to_ascii_lowercase();
        marked || lower.ends_with("[bot]") || self.logins.contains(&lower)
    }

    /// Whether a comment or review by `login` (`marked`: the forge says it is a bot) on an
    /// item by `author` can be its first response: by someone neither the author nor a bot.
    pub fn responds(&self, author: Option<&str>, login: &str, marked: bool) -> bool {
        author != Some(login) && !self.is_bot(login, marked)
    }
}

/// Whether and how organisations' activity is read (configuration).
#[derive(Debug, Clone, Default)]
pub struct ActivityOptions {
    pub enabled: bool,
    /// How far back the first sync of an organisation reads.
    pub days: u32,
    pub bots: BotRules,
}

/// A published release of a repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRecord {
    pub forge: ForgeName,
    pub repo_id: i64,
    pub tag: String,
    pub published_at: DateTime<Utc>,
}

/// The days `from` (inclusive) to `to` (exclusive), in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Window {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Window {
    /// The `days` days ending before `to`.
    pub fn ending(to: NaiveDate, days: u64) -> Window {
        Window {
            from: to
                .checked_sub_days(Days::new(days))
                .unwrap_or(NaiveDate::MIN),
            to,
        }
    }

    /// The window of the same length just before this one (for deltas).
    pub fn previous(&self) -> Window {
        let days = (self.to - self.from).num_days().max(0) as u64;
        Window::ending(self.from, days)
    }

    fn start(&self) -> DateTime<Utc> {
        self.from.and_time(chrono::NaiveTime::MIN).and_utc()
    }

    fn end(&self) -> DateTime<Utc> {
        self.to.and_time(chrono::NaiveTime::MIN).and_utc()
    }

    /// Whether `at` falls in the window.
    pub fn holds(&self, at: DateTime<Utc>) -> bool {
        self.start() <= at && at < self.end()
    }

    fn holds_opt(&self, at: Option<DateTime<Utc>>) -> bool {
        at.is_some_and(|at| self.holds(at))
    }
}

/// Counts of one kind of event in a span.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Counts {
    pub pulls_opened: u64,
    pub pulls_closed: u64,
    pub pulls_merged: u64,
    pub issues_opened: u64,
    pub issues_closed: u64,
}

impl Counts {
    fn of<'a>(window: &Window, items: impl IntoIterator<Item = &'a ActivityItem>) -> Counts {
        let mut c = Counts::default();
        for item in items {
            let opened = u64::from(window.holds(item.created_at));
            let closed = u64::from(window.holds_opt(item.ended_at()));
            match item.kind {
                ItemKind::PullRequest => {
                    c.pulls_opened += opened;
                    c.pulls_closed += closed;
                    c.pulls_merged += u64::from(window.holds_opt(item.merged_at));
                }
                ItemKind::Issue => {
                    c.issues_opened += opened;
                    c.issues_closed += closed;
                }
            }
        }
        c
    }
}

/// How fast items created in the window were answered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Responsiveness {
    /// Items created in the window that got a first response.
    pub answered: u64,
    pub median_hours: Option<f64>,
    /// The 90th percentile, nearest rank.
    pub p90_hours: Option<f64>,
    /// Items created in the window with no first response.
    pub waiting: u64,
    /// The median age of the waiting ones at the window's end.
    pub waiting_median_age_hours: Option<f64>,
}

/// One week's counts (weeks start on Monday; the first and last may be cut by the window).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Week {
    /// The Monday the week starts on (or the window's first day).
    pub start: NaiveDate,
    #[serde(flatten)]
    pub counts: Counts,
    /// The median first response of items created that week.
    pub median_first_response_hours: Option<f64>,
}

/// An author and how many items they authored (or merged pull requests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuthorCount {
    pub login: String,
    pub items: u64,
}

/// One contributor of a window: an author of items created in it (bots and deleted
/// accounts are no contributors).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Contributor {
    pub login: String,
    pub pulls_opened: u64,
    pub issues_opened: u64,
    /// Their pull requests merged in the window (opened in it or before).
    pub pulls_merged: u64,
    /// Their first item in the organisation, over everything stored.
    pub first_item_at: Option<DateTime<Utc>>,
    /// Whether that first item falls in the window.
    pub new: bool,
}

/// The contributors of `window`, most items first, then by login.
pub fn contributors(
    window: Window,
    items: &[ActivityItem],
    first_items: &HashMap<String, DateTime<Utc>>,
) -> Vec<Contributor> {
    let mut seen = HashSet::new();
    let mut by_login: BTreeMap<&str, Contributor> = BTreeMap::new();
    let items = items
        .iter()
        .filter(|i| seen.insert((i.forge.as_str(), i.id)));
    let mut merged: HashMap<&str, u64> = HashMap::new();
    for item in items {
        let Some(login) = item.contributor() else {
            continue;
        };
        if item.kind == ItemKind::PullRequest && window.holds_opt(item.merged_at) {
            *merged.entry(login).or_default() += 1;
        }
        if !window.holds(item.created_at) {
            continue;
        }
        let first_item_at = first_items.get(login).copied();
        let c = by_login.entry(login).or_insert_with(|| Contributor {
            login: login.to_owned(),
            pulls_opened: 0,
            issues_opened: 0,
            pulls_merged: 0,
            first_item_at,
            new: first_item_at.is_some_and(|at| window.holds(at)),
        });
        match item.kind {
            ItemKind::PullRequest => c.pulls_opened += 1,
            ItemKind::Issue => c.issues_opened += 1,
        }
    }
    let mut out: Vec<Contributor> = by_login
        .into_values()
        .map(|mut c| {
            c.pulls_merged = merged.get(c.login.as_str()).copied().unwrap_or(0);
            c
        })
        .collect();
    out.sort_by(|a, b| {
        (b.pulls_opened + b.issues_opened)
            .cmp(&(a.pulls_opened + a.issues_opened))
            .then_with(|| a.login.cmp(&b.login))
    });
    out
}

/// The figures of one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActivityFigures {
    pub window: Window,
    pub counts: Counts,
    /// Pull requests closed in the window over those opened in it; `None` when none opened.
    pub closure_ratio: Option<f64>,
    pub first_response: Responsiveness,
    /// Median hours from creation to merge over pull requests merged in the window.
    pub merge_median_hours: Option<f64>,
    pub contributors: u64,
    pub new_contributors: u64,
    /// Authors of items created in the window, most items first.
    pub top_contributors: Vec<AuthorCount>,
    /// Whose first item in the organisation falls in the window.
    pub new_contributor_logins: Vec<String>,
    /// `None` when no known human merged a pull request in the window.
    pub bus_factor: Option<u64>,
    pub releases: u64,
    /// Days from the latest release published before the window's end to the end.
    pub days_since_release: Option<i64>,
    pub weeks: Vec<Week>,
}

/// Hours between two instants (negative when out of order).
fn hours(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds() as f64 / 3600.0
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// The `p`-th percentile (0–100) by nearest rank: the smallest value with at least `p` %
/// of the values at or below it.
pub fn nearest_rank(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil().max(1.0) as usize;
    values.get(rank - 1).copied()
}

/// The smallest number of authors whose counts add up to more than half of the total.
pub fn absence_factor(counts: impl IntoIterator<Item = u64>) -> Option<u64> {
    let mut counts: Vec<u64> = counts.into_iter().filter(|n| *n > 0).collect();
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let mut sum = 0;
    for (i, n) in counts.iter().enumerate() {
        sum += n;
        if sum * 2 > total {
            return Some(i as u64 + 1);
        }
    }
    Some(counts.len() as u64)
}

impl ActivityFigures {
    /// The figures of `window` from `items` (every item that may touch it: created,
    /// closed or merged in it, or created in it and still waiting), `first_items` (each
    /// contributor's first item in the organisation, over everything stored) and
    /// `releases` (those published before the window's end suffice).
    pub fn of(
        window: Window,
        items: &[ActivityItem],
        first_items: &HashMap<String, DateTime<Utc>>,
        releases: &[ReleaseRecord],
    ) -> ActivityFigures {
        // One record per item, whatever the caller passed twice.
        let mut seen = HashSet::new();
        let items: Vec<&ActivityItem> = items
            .iter()
            .filter(|i| seen.insert((i.forge.as_str(), i.id)))
            .collect();
        let counts = Counts::of(&window, items.iter().copied());
        let created: Vec<&ActivityItem> = items
            .iter()
            .copied()
            .filter(|i| window.holds(i.created_at))
            .collect();

        let mut responses: Vec<f64> = created
            .iter()
            .filter_map(|i| i.first_response_at.map(|at| hours(i.created_at, at)))
            .collect();
        let mut waiting: Vec<f64> = created
            .iter()
            .filter(|i| i.first_response_at.is_none())
            .map(|i| hours(i.created_at, window.end()))
            .collect();
        let first_response = Responsiveness {
            answered: responses.len() as u64,
            median_hours: median(&mut responses),
            p90_hours: nearest_rank(&mut responses, 90.0),
            waiting: waiting.len() as u64,
            waiting_median_age_hours: median(&mut waiting),
        };

        let merged: Vec<&ActivityItem> = items
            .iter()
            .copied()
            .filter(|i| i.kind == ItemKind::PullRequest && window.holds_opt(i.merged_at))
            .collect();
        let mut merge_hours: Vec<f64> = merged
            .iter()
            .filter_map(|i| i.merged_at.map(|at| hours(i.created_at, at)))
            .collect();

        let mut by_author: BTreeMap<&str, u64> = BTreeMap::new();
        for login in created.iter().filter_map(|i| i.contributor()) {
            *by_author.entry(login).or_default() += 1;
        }
        let mut top_contributors: Vec<AuthorCount> = by_author
            .iter()
            .map(|(login, n)| AuthorCount {
                login: (*login).to_owned(),
                items: *n,
            })
            .collect();
        top_contributors.sort_by(|a, b| b.items.cmp(&a.items).then(a.login.cmp(&b.login)));
        let mut new_contributor_logins: Vec<String> = by_author
            .keys()
            .filter(|login| first_items.get(**login).is_some_and(|at| window.holds(*at)))
            .map(|login| (*login).to_owned())
            .collect();
        new_contributor_logins.sort();

        let mut merges_by_author: HashMap<&str, u64> = HashMap::new();
        for login in merged.iter().filter_map(|i| i.contributor()) {
            *merges_by_author.entry(login).or_default() += 1;
        }

        let latest_release = releases
            .iter()
            .filter(|r| r.published_at < window.end())
            .map(|r| r.published_at)
            .max();

        ActivityFigures {
            window,
            closure_ratio: (counts.pulls_opened > 0)
                .then(|| counts.pulls_closed as f64 / counts.pulls_opened as f64),
            counts,
            first_response,
            merge_median_hours: median(&mut merge_hours),
            contributors: by_author.len() as u64,
            new_contributors: new_contributor_logins.len() as u64,
            top_contributors,
            new_contributor_logins,
            bus_factor: absence_factor(merges_by_author.values().copied()),
            releases: releases
                .iter()
                .filter(|r| window.holds(r.published_at))
                .count() as u64,
            days_since_release: latest_release.map(|at| (window.end() - at).num_days()),
            weeks: weeks(&window, &items),
        }
    }
}

/// The window cut into weeks starting on Monday.
fn weeks(window: &Window, items: &[&ActivityItem]) -> Vec<Week> {
    let mut out = Vec::new();
    let mut start = window.from;
    while start < window.to {
        let monday = start - Days::new(u64::from(start.weekday().num_days_from_monday()));
        let end = (monday + Days::new(7)).min(window.to);
        let week = Window {
            from: start,
            to: end,
        };
        let mut responses: Vec<f64> = items
            .iter()
            .filter(|i| week.holds(i.created_at))
            .filter_map(|i| i.first_response_at.map(|at| hours(i.created_at, at)))
            .collect();
        out.push(Week {
            start,
            counts: Counts::of(&week, items.iter().copied()),
            median_first_response_hours: median(&mut responses),
        });
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    fn forge() -> ForgeName {
        "github".parse().expect("forge name")
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("day")
    }

    fn item(id: i64, kind: ItemKind, author: &str, created: &str) -> ActivityItem {
        ActivityItem {
            forge: forge(),
            id,
            repo_id: 1,
            number: id as u64,
            kind,
            author: Some(author.to_owned()),
            author_bot: author.ends_with("[bot]"),
            created_at: at(created),
            closed_at: None,
            merged_at: None,
            first_response_at: None,
            state: ItemState::Open,
            updated_at: at(created),
        }
    }

    #[test]
    fn bots_are_marked_named_or_listed_and_a_first_response_stays_the_earliest() {
        let rules = BotRules::new(["Weblate", " "]);
        assert!(rules.is_bot("weblate", false));
        assert!(rules.is_bot("dependabot[bot]", false));
        assert!(rules.is_bot("ci", true));
        assert!(!rules.is_bot("ann", false));
        let mut i = item(1, ItemKind::Issue, "ann", "2026-03-01T00:00:00Z");
        i.first_response_at = Some(at("2026-03-05T00:00:00Z"));
        let early = Some(at("2026-03-02T00:00:00Z"));
        assert_eq!(i.clone().keeping(early).first_response_at, early);
        assert_eq!(
            i.clone().keeping(None).first_response_at,
            Some(at("2026-03-05T00:00:00Z"))
        );
        i.first_response_at = None;
        assert_eq!(i.keeping(early).first_response_at, early);
    }

    #[test]
    fn percentiles_by_nearest_rank_and_medians_of_even_counts() {
        let mut v = vec![15.0, 20.0, 35.0, 40.0, 50.0];
        assert_eq!(nearest_rank(&mut v, 90.0), Some(50.0));
        assert_eq!(nearest_rank(&mut v, 40.0), Some(20.0));
        assert_eq!(median(&mut v), Some(35.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
        assert_eq!(nearest_rank(&mut [], 90.0), None);
    }

    #[test]
    fn the_absence_factor_is_the_fewest_authors_past_half() {
        assert_eq!(absence_factor([6, 1, 1]), Some(1));
        assert_eq!(absence_factor([3, 3]), Some(2), "exactly half is not more");
        assert_eq!(absence_factor([2, 2, 2, 1]), Some(2));
        assert_eq!(absence_factor([]), None);
    }

    #[test]
    fn a_window_s_figures_follow_the_definitions() {
        let window = Window {
            from: day("2026-03-02"),
            to: day("2026-03-16"),
        };
        let mut a = item(1, ItemKind::PullRequest, "ann", "2026-03-02T10:00:00Z");
        a.first_response_at = Some(at("2026-03-02T12:00:00Z"));
        a.merged_at = Some(at("2026-03-03T10:00:00Z"));
        a.closed_at = a.merged_at;
        let mut b = item(2, ItemKind::PullRequest, "bob", "2026-03-09T00:00:00Z");
        b.first_response_at = Some(at("2026-03-09T10:00:00Z"));
        b.closed_at = Some(at("2026-03-10T00:00:00Z"));
        let bot = item(
            3,
            ItemKind::PullRequest,
            "renovate[bot]",
            "2026-03-10T00:00:00Z",
        );
        // Opened before the window, merged in it.
        let mut old = item(4, ItemKind::PullRequest, "ann", "2026-02-01T00:00:00Z");
        old.merged_at = Some(at("2026-03-04T00:00:00Z"));
        let mut issue = item(5, ItemKind::Issue, "cid", "2026-03-15T00:00:00Z");
        issue.closed_at = Some(at("2026-03-16T00:00:00Z"));
        let ghost = ActivityItem {
            author: None,
            ..item(6, ItemKind::Issue, "x", "2026-03-05T00:00:00Z")
        };
        let items = vec![a.clone(), b, bot, old, issue, ghost, a];
        let first = HashMap::from([
            ("ann".to_owned(), at("2025-01-01T00:00:00Z")),
            ("bob".to_owned(), at("2026-03-09T00:00:00Z")),
            ("cid".to_owned(), at("2026-03-15T00:00:00Z")),
        ]);
        let releases = vec![ReleaseRecord {
            forge: forge(),
            repo_id: 1,
            tag: "v1".into(),
            published_at: at("2026-03-06T00:00:00Z"),
        }];
        let f = ActivityFigures::of(window, &items, &first, &releases);
        assert_eq!(
            f.counts,
            Counts {
                pulls_opened: 3,
                pulls_closed: 3,
                pulls_merged: 2,
                issues_opened: 2,
                issues_closed: 0,
            },
            "the duplicate counted once; the issue closed at the window's end is outside"
        );
        assert_eq!(f.closure_ratio, Some(1.0));
        assert_eq!(f.first_response.answered, 2);
        assert_eq!(f.first_response.median_hours, Some(6.0));
        assert_eq!(f.first_response.p90_hours, Some(10.0));
        assert_eq!(
            f.first_response.waiting, 3,
            "the bot's, cid's and the ghost's"
        );
        assert_eq!(f.first_response.waiting_median_age_hours, Some(24.0 * 6.0));
        assert_eq!(f.merge_median_hours, Some((24.0 + 31.0 * 24.0) / 2.0));
        assert_eq!(
            f.contributors, 3,
            "ann, bob, cid; the bot and the ghost left out"
        );
        assert_eq!(f.new_contributor_logins, ["bob", "cid"]);
        assert_eq!(f.bus_factor, Some(1), "ann merged both");
        assert_eq!((f.releases, f.days_since_release), (1, Some(10)));
        assert_eq!(f.weeks.len(), 2);
        assert_eq!(f.weeks[0].counts.pulls_merged, 2);
        assert_eq!(f.weeks[1].counts.pulls_opened, 2);
        assert_eq!(f.weeks[0].median_first_response_hours, Some(2.0));
    }

    #[test]
    fn contributors_are_the_window_s_human_authors_with_their_merges() {
        let window = Window {
            from: day("2026-03-02"),
            to: day("2026-03-16"),
        };
        let mut old = item(1, ItemKind::PullRequest, "ann", "2026-02-01T00:00:00Z");
        old.merged_at = Some(at("2026-03-04T00:00:00Z"));
        let items = vec![
            old,
            item(2, ItemKind::Issue, "ann", "2026-03-03T00:00:00Z"),
            item(3, ItemKind::PullRequest, "bob", "2026-03-05T00:00:00Z"),
            item(4, ItemKind::Issue, "bob", "2026-03-06T00:00:00Z"),
            item(
                5,
                ItemKind::PullRequest,
                "dependabot[bot]",
                "2026-03-07T00:00:00Z",
            ),
        ];
        let first = HashMap::from([
            ("ann".to_owned(), at("2026-02-01T00:00:00Z")),
            ("bob".to_owned(), at("2026-03-05T00:00:00Z")),
        ]);
        let rows = contributors(window, &items, &first);
        let view: Vec<(&str, u64, u64, u64, bool)> = rows
            .iter()
            .map(|c| {
                (
                    c.login.as_str(),
                    c.pulls_opened,
                    c.issues_opened,
                    c.pulls_merged,
                    c.new,
                )
            })
            .collect();
        assert_eq!(
            view,
            [("bob", 1, 1, 0, true), ("ann", 0, 1, 1, false)],
            "most items first; a merge of an older pull request counts; bots are left out"
        );
    }

    #[test]
    fn no_pull_requests_opened_is_no_ratio_and_the_previous_window_abuts() {
        let window = Window::ending(day("2026-03-31"), 30);
        assert_eq!(window.from, day("2026-03-01"));
        assert_eq!(window.previous().to, window.from);
        let f = ActivityFigures::of(window, &[], &HashMap::new(), &[]);
        assert_eq!(f.closure_ratio, None);
        assert_eq!(f.bus_factor, None);
        assert_eq!(f.days_since_release, None);
    }

    #[test]
    fn times_before_creation_move_to_it_and_say_so() {
        let created: DateTime<Utc> = "2026-03-10T00:00:00Z".parse().expect("time");
        let early: DateTime<Utc> = "2026-03-01T00:00:00Z".parse().expect("time");
        let item = ActivityItem {
            forge: "github".parse().expect("forge"),
            id: 1,
            repo_id: 1,
            number: 1,
            kind: ItemKind::PullRequest,
            author: Some("ann".into()),
            author_bot: false,
            created_at: created,
            closed_at: Some(early),
            merged_at: Some(early),
            first_response_at: Some(created + chrono::Duration::hours(2)),
            state: ItemState::Merged,
            updated_at: early,
        };
        let (fixed, moved) = item.clone().in_order();
        assert!(moved);
        assert_eq!(
            (fixed.closed_at, fixed.merged_at, fixed.updated_at),
            (Some(created), Some(created), created)
        );
        assert_eq!(fixed.first_response_at, item.first_response_at);
        let (same, moved) = fixed.clone().in_order();
        assert!(!moved);
        assert_eq!(same, fixed);
    }
}
