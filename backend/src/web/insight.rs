//! What the pages and the API read per repository, beyond an organisation's cached detail:
//! a repository's own history, the movers over a window, and the sparklines of a page of
//! the repository table. Each reads the per-repository rows of the store (O(days) for a
//! repository, O(repositories) for a day), never every snapshot.

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveDate, Utc};

use crate::domain::activity::{absence_factor, authors, ActivityFigures, Window};
use crate::domain::attention::{Attention, AttentionRules, Signals, BUS_FACTOR_MIN_MERGED};
use crate::domain::history::{self, Mover};
use crate::domain::licenses;
use crate::domain::{ForgeKind, Forges, OrgId, RepoDay, RepoRecord};
use crate::store::{OrgDetail, Store, StoreResult};

/// Most repositories one list of movers holds.
pub(crate) const MAX_MOVERS: usize = 100;

/// The repositories of `detail` that need attention under `rules` and what its stored
/// activity says (`signals`, from [`attention_signals`]), judged as of the last stored
/// listing (so an answer cached until the next refresh stays true), and that time.
pub(crate) fn attention<'a>(
    detail: &'a OrgDetail,
    forges: &Forges,
    rules: &AttentionRules,
    signals: &Signals,
) -> (Attention<'a>, DateTime<Utc>) {
    let kind = forges.of(&detail.org).map_or(ForgeKind::GitHub, |f| f.kind);
    let as_of = as_of(detail);
    (
        crate::domain::attention::attention(&detail.repos, kind, rules, signals, as_of),
        as_of,
    )
}

/// When `detail`'s listing was stored (now, if it never was).
fn as_of(detail: &OrgDetail) -> DateTime<Utc> {
    detail
        .record
        .as_ref()
        .map_or_else(Utc::now, |r| r.fetched_at)
}

/// Days the overview's activity columns cover.
pub(crate) const OVERVIEW_ACTIVITY_DAYS: u64 = 90;

/// An organisation's activity figures over the last 90 days for the overview's columns:
/// one window's items (no first items or releases: the columns do not show them); `None`
/// when its activity was never read.
pub(crate) async fn activity_brief(
    store: &dyn Store,
    org: &OrgId,
    today: NaiveDate,
) -> StoreResult<Option<ActivityFigures>> {
    if store.activity_synced_until(org).await?.is_none() {
        return Ok(None);
    }
    let window = Window::ending(today + Days::new(1), OVERVIEW_ACTIVITY_DAYS);
    let items = store.activity_items(org, window, None).await?;
    Ok(Some(ActivityFigures::of(
        window,
        &items,
        &HashMap::new(),
        &[],
    )))
}

/// Days the bus-factor rule looks back.
const BUS_FACTOR_DAYS: u64 = 90;

/// What `detail`'s stored SBOMs and activity say for the attention rules: the packages
/// under a denied licence (when a licence is denied: one read of the libraries), and,
/// where its activity was read, three more reads — the releases, the waiting items and
/// the last 90 days' merged pull requests per author (both counted by the store).
pub(crate) async fn attention_signals(
    store: &dyn Store,
    detail: &OrgDetail,
    rules: &AttentionRules,
) -> StoreResult<Signals> {
    let org = &detail.org;
    let mut signals = Signals::default();
    if !rules.denied_licenses.is_empty() {
        let libraries = store.org_libraries(org).await?;
        signals.denied_packages = licenses::denied_by_repo(&libraries, &rules.denied_licenses)
            .into_iter()
            .map(|(repo, packages)| (repo, packages.len() as u64))
            .collect();
    }
    let as_of = as_of(detail);
    if let Some(days) = rules.vuln_days {
        signals.overdue_vulnerabilities = crate::domain::vulnerabilities::overdue(
            &store.findings(org, None).await?,
            as_of - chrono::Duration::days(i64::from(days)),
        );
    }
    if store.activity_synced_until(org).await?.is_none() {
        return Ok(signals);
    }
    for release in store.releases(org, None).await? {
        let latest = signals
            .latest_release
            .entry(release.repo_id)
            .or_insert(release.published_at);
        *latest = (*latest).max(release.published_at);
    }
    if let Some(days) = rules.response_days {
        signals.waiting = store
            .waiting_items(org, as_of - chrono::Duration::days(i64::from(days)))
            .await?;
    }
    let window = Window::ending(as_of.date_naive() + Days::new(1), BUS_FACTOR_DAYS);
    let mut merged: HashMap<i64, Vec<(String, u64)>> = HashMap::new();
    for (repo, author, n) in store.merged_by_author(org, window).await? {
        merged.entry(repo).or_default().push((author, n));
    }
    for (repo, authors) in merged {
        let total: u64 = authors.iter().map(|(_, n)| n).sum();
        if total < BUS_FACTOR_MIN_MERGED
            || absence_factor(authors.iter().map(|(_, n)| *n)) != Some(1)
        {
            continue;
        }
        if let Some((author, _)) = authors
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        {
            signals.single_author.insert(repo, author);
        }
    }
    Ok(signals)
}

/// The windows movers are ranked over, in days.
pub(crate) const MOVER_WINDOWS: [u32; 4] = [1, 7, 30, 90];

/// The window movers use unless told.
pub(crate) const DEFAULT_WINDOW: u32 = 7;

/// Days a sparkline of the repository table covers.
pub(crate) const SPARKLINE_DAYS: u64 = 30;

/// The movers of one window.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MoversWindow {
    pub days: u32,
    /// The snapshot the window is read from (the latest on or before `days` before
    /// `until`, or the first one when the history is not that deep); `None` without history.
    pub since: Option<NaiveDate>,
    /// The latest snapshot.
    pub until: Option<NaiveDate>,
    /// Whether the history reaches back the whole window.
    pub complete: bool,
    /// Repositories listed at both ends whose stars moved, most gained first.
    pub moved: Vec<Mover>,
    /// Repositories listed at the end but not at the start, most stars first.
    pub new: Vec<Mover>,
}

/// `detail`'s movers over the `days` before its latest snapshot.
pub(crate) async fn movers(
    store: &dyn Store,
    detail: &OrgDetail,
    days: u32,
) -> StoreResult<MoversWindow> {
    let mut window = MoversWindow {
        days,
        since: None,
        until: None,
        complete: false,
        moved: Vec::new(),
        new: Vec::new(),
    };
    let (Some(first), Some(last)) = (detail.history.first(), detail.history.last()) else {
        return Ok(window);
    };
    let target = last.day - Days::new(u64::from(days));
    let base = detail.history.iter().rev().find(|d| d.day <= target);
    let since = base.map_or(first.day, |b| b.day);
    window.until = Some(last.day);
    window.since = Some(since);
    window.complete = base.is_some();
    if since == last.day {
        return Ok(window);
    }
    let start = store.repo_counts_on(&detail.org, since).await?;
    let end = store.repo_counts_on(&detail.org, last.day).await?;
    (window.moved, window.new) = history::movers(&start, &end);
    Ok(window)
}

/// `detail`'s repositories by id (gone ones included), to name what the store returns by id.
pub(crate) fn by_id(detail: &OrgDetail) -> HashMap<i64, &RepoRecord> {
    detail.repos.iter().map(|r| (r.listing.id, r)).collect()
}

/// The repository of `detail` a URL names: by exact name, live ones first, then by name
/// in any case (forges treat names case-insensitively).
pub(crate) fn find_repo<'a>(detail: &'a OrgDetail, name: &str) -> Option<&'a RepoRecord> {
    let live_first = |exact: bool| {
        let matches = move |r: &&RepoRecord| {
            if exact {
                r.listing.name == name
            } else {
                r.listing.name.eq_ignore_ascii_case(name)
            }
        };
        detail
            .repos
            .iter()
            .filter(matches)
            .min_by_key(|r| r.gone_since.is_some())
    };
    live_first(true).or_else(|| live_first(false))
}

/// The stars of each of `ids` over the last [`SPARKLINE_DAYS`] days of `detail`'s history.
pub(crate) async fn sparklines(
    store: &dyn Store,
    detail: &OrgDetail,
    ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<RepoDay>>> {
    let mut lines = HashMap::with_capacity(ids.len());
    let Some(last) = detail.history.last() else {
        return Ok(lines);
    };
    let from = last.day - Days::new(SPARKLINE_DAYS - 1);
    for id in ids {
        let days = store
            .repo_history(&detail.org, *id, Some(from), Some(last.day))
            .await?;
        lines.insert(*id, days);
    }
    Ok(lines)
}

/// A window's activity figures and those of the window just before it (for deltas).
pub(crate) struct ActivityWindows {
    /// Where the organisation's last complete activity sync got to.
    pub synced_until: DateTime<Utc>,
    pub current: ActivityFigures,
    pub previous: ActivityFigures,
}

/// The activity figures of `window` for `org` (of one repository with `repo`), and of the
/// window before; `None` when the organisation's activity was never read.
pub(crate) async fn activity(
    store: &dyn Store,
    org: &OrgId,
    repo: Option<i64>,
    window: Window,
) -> StoreResult<Option<ActivityWindows>> {
    let Some(synced_until) = store.activity_synced_until(org).await? else {
        return Ok(None);
    };
    let releases = store.releases(org, repo).await?;
    let before = window.previous();
    let items = store.activity_items(org, window, repo).await?;
    let earlier = store.activity_items(org, before, repo).await?;
    let first = store
        .first_items(org, &authors(items.iter().chain(&earlier)))
        .await?;
    let current = ActivityFigures::of(window, &items, &first, &releases);
    let previous = ActivityFigures::of(before, &earlier, &first, &releases);
    Ok(Some(ActivityWindows {
        synced_until,
        current,
        previous,
    }))
}
