//! The change feed: what a refresh saw change, found by comparing an organisation's
//! stored state with the new one (no extra upstream request), and the refresh outcomes
//! worth a human's attention. Events are written with the refresh that saw them and kept
//! forever; each has a natural key, so recording the same change twice in a day (a commit
//! retried, a second refresh) keeps one.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{OrgId, OrgOutcome, OrgStatus, RepoRecord};

/// Star counts worth an event when a repository reaches them.
pub const STAR_MILESTONES: [u64; 6] = [100, 1_000, 5_000, 10_000, 50_000, 100_000];

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The organisation's first refresh: its repositories are the starting point, not news.
    Baseline,
    RepoCreated,
    /// Listed again after a complete listing had missed it.
    RepoReturned,
    /// A complete listing no longer shows it.
    RepoGone,
    /// Same id, new name within the same owner.
    RepoRenamed,
    /// Same id, new owner path (`full_name`).
    RepoTransferred,
    RepoArchived,
    RepoUnarchived,
    LicenseChanged,
    DefaultBranchChanged,
    /// The highest of [`STAR_MILESTONES`] a repository passed since the last refresh.
    StarMilestone,
    /// The forge answers for the organisation under another login.
    OrgRenamed,
    RefreshFailed,
    RateLimited,
    /// Data stored again after a failed or rate-limited refresh.
    Recovered,
    /// A release the activity sync had not seen (`to`: its tag).
    ReleasePublished,
    /// Someone whose first issue or pull request in the organisation the sync just read
    /// (`to`: the login).
    NewContributor,
    /// An advisory that now applies to a package a repository depends on (`to`: the
    /// advisory, package and severity; see [`Event::vulnerability`]).
    VulnerabilityFound,
    /// An advisory that no longer applies to a repository: the package was upgraded past
    /// it, or the repository no longer depends on it (or the advisory was withdrawn).
    VulnerabilityFixed,
}

impl EventKind {
    pub const ALL: [EventKind; 19] = [
        EventKind::Baseline,
        EventKind::RepoCreated,
        EventKind::RepoReturned,
        EventKind::RepoGone,
        EventKind::RepoRenamed,
        EventKind::RepoTransferred,
        EventKind::RepoArchived,
        EventKind::RepoUnarchived,
        EventKind::LicenseChanged,
        EventKind::DefaultBranchChanged,
        EventKind::StarMilestone,
        EventKind::OrgRenamed,
        EventKind::RefreshFailed,
        EventKind::RateLimited,
        EventKind::Recovered,
        EventKind::ReleasePublished,
        EventKind::NewContributor,
        EventKind::VulnerabilityFound,
        EventKind::VulnerabilityFixed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Baseline => "baseline",
            EventKind::RepoCreated => "repo_created",
            EventKind::RepoReturned => "repo_returned",
            EventKind::RepoGone => "repo_gone",
            EventKind::RepoRenamed => "repo_renamed",
            EventKind::RepoTransferred => "repo_transferred",
            EventKind::RepoArchived => "repo_archived",
            EventKind::RepoUnarchived => "repo_unarchived",
            EventKind::LicenseChanged => "license_changed",
            EventKind::DefaultBranchChanged => "default_branch_changed",
            EventKind::StarMilestone => "star_milestone",
            EventKind::OrgRenamed => "org_renamed",
            EventKind::RefreshFailed => "refresh_failed",
            EventKind::RateLimited => "rate_limited",
            EventKind::Recovered => "recovered",
            EventKind::ReleasePublished => "release_published",
            EventKind::NewContributor => "new_contributor",
            EventKind::VulnerabilityFound => "vulnerability_found",
            EventKind::VulnerabilityFixed => "vulnerability_fixed",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown event kind `{s}`"))
    }
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub org: OrgId,
    /// When the refresh that saw it finished its fetch.
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    /// The repository's forge id, for repository events.
    pub repo_id: Option<i64>,
    /// The repository's name when the event happened (the new one for a rename).
    pub repo: Option<String>,
    /// The value before (old name, old licence, …), where there is one.
    pub from: Option<String>,
    /// The value after (new name, new licence, the milestone, the reason of a failure, …).
    pub to: Option<String>,
}

/// An event as stored: with its place in the feed (ascending in recording order).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub seq: i64,
    pub event: Event,
}

impl Event {
    /// A release the activity sync saw for the first time.
    pub fn release(org: &OrgId, at: DateTime<Utc>, repo_id: i64, repo: &str, tag: &str) -> Self {
        Event {
            repo_id: Some(repo_id),
            repo: Some(repo.to_owned()),
            ..Event::new(org, at, EventKind::ReleasePublished)
        }
        .change(None, Some(tag))
    }

    /// `login`'s first item in the organisation, on repository `repo`.
    pub fn new_contributor(
        org: &OrgId,
        at: DateTime<Utc>,
        repo_id: i64,
        repo: &str,
        login: &str,
    ) -> Self {
        Event {
            repo_id: Some(repo_id),
            repo: Some(repo.to_owned()),
            ..Event::new(org, at, EventKind::NewContributor)
        }
        .change(None, Some(login))
    }

    /// A finding that appeared (`found`) or went away on repository `repo` (not for a
    /// repository that is gone: that has its own event). `to` names
    /// the advisory and the package (`GHSA-… npm/lodash`), so one advisory on two packages
    /// is two events; `from` carries the version and severity.
    pub fn vulnerability(
        org: &OrgId,
        at: DateTime<Utc>,
        repo: &str,
        finding: &super::vulnerabilities::Finding,
        found: bool,
    ) -> Self {
        let kind = if found {
            EventKind::VulnerabilityFound
        } else {
            EventKind::VulnerabilityFixed
        };
        let p = &finding.package;
        let to = format!("{} in {}/{}", finding.advisory.id, p.ecosystem, p.name);
        let from = format!("{} ({})", p.version, finding.severity());
        Event {
            repo_id: Some(finding.repo_id),
            repo: Some(repo.to_owned()),
            ..Event::new(org, at, kind)
        }
        .change(Some(&from), Some(&to))
    }

    fn new(org: &OrgId, at: DateTime<Utc>, kind: EventKind) -> Self {
        Event {
            org: org.clone(),
            at,
            kind,
            repo_id: None,
            repo: None,
            from: None,
            to: None,
        }
    }

    fn of_repo(org: &OrgId, at: DateTime<Utc>, kind: EventKind, repo: &RepoRecord) -> Self {
        Event {
            repo_id: Some(repo.listing.id),
            repo: Some(repo.listing.name.clone()),
            ..Event::new(org, at, kind)
        }
    }

    fn change(mut self, from: Option<&str>, to: Option<&str>) -> Self {
        self.from = from.map(str::to_owned);
        self.to = to.map(str::to_owned);
        self
    }

    pub fn day(&self) -> NaiveDate {
        self.at.date_naive()
    }

    /// The natural key: the same change seen twice on a day is one event.
    pub fn key(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}",
            self.org,
            self.day(),
            self.kind,
            self.repo_id.map(|id| id.to_string()).unwrap_or_default(),
            self.to.as_deref().unwrap_or_default()
        )
    }

    /// One line for people: the feed, the pages, a chat message.
    pub fn summary(&self) -> String {
        let repo = self.repo.as_deref().unwrap_or("a repository");
        let from = self.from.as_deref().unwrap_or("none");
        let to = self.to.as_deref().unwrap_or("none");
        let org = &self.org;
        match self.kind {
            EventKind::Baseline => {
                format!("First refresh of {org}: {to} repositories recorded as the starting point")
            }
            EventKind::RepoCreated => format!("{repo} was created"),
            EventKind::RepoReturned => format!("{repo} is listed again"),
            EventKind::RepoGone => format!("{repo} is gone: deleted, made private or moved away"),
            EventKind::RepoRenamed => format!("{from} was renamed to {to}"),
            EventKind::RepoTransferred => format!("{repo} moved from {from} to {to}"),
            EventKind::RepoArchived => format!("{repo} was archived"),
            EventKind::RepoUnarchived => format!("{repo} was unarchived"),
            EventKind::LicenseChanged => format!("{repo} changed its licence from {from} to {to}"),
            EventKind::DefaultBranchChanged => {
                format!("{repo} changed its default branch from {from} to {to}")
            }
            EventKind::StarMilestone => format!("{repo} passed {} stars", group(to)),
            EventKind::OrgRenamed => format!("{org} was renamed upstream to {to}"),
            EventKind::RefreshFailed => format!("Refreshing {org} failed: {to}"),
            EventKind::RateLimited => format!("Refreshing {org} was rate limited: {to}"),
            EventKind::Recovered => format!("{org} refreshed again after a failed refresh"),
            EventKind::ReleasePublished => format!("{repo} published {to}"),
            EventKind::NewContributor => {
                format!("{to} opened a first issue or pull request in {org}")
            }
            EventKind::VulnerabilityFound => format!("{repo} is affected by {to} at {from}"),
            EventKind::VulnerabilityFixed => {
                format!("{repo} is no longer affected by {to}; it was at {from}")
            }
        }
    }
}

/// "10000" → "10,000" (other text unchanged).
fn group(n: &str) -> String {
    let Ok(v) = n.parse::<u64>() else {
        return n.to_owned();
    };
    let digits = v.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The changes between `stored` (the repositories before, by id) and `records` (every
/// repository after the refresh, gone ones included), seen at `at`. With `first` (nothing
/// was stored about the organisation), only a baseline event.
pub fn changes(
    org: &OrgId,
    at: DateTime<Utc>,
    stored: &HashMap<i64, RepoRecord>,
    records: &[RepoRecord],
    first: bool,
) -> Vec<Event> {
    if first {
        let live = records.iter().filter(|r| r.gone_since.is_none()).count();
        return vec![Event::new(org, at, EventKind::Baseline).change(None, Some(&live.to_string()))];
    }
    let mut events = Vec::new();
    for now in records {
        let (l, id) = (&now.listing, now.listing.id);
        let Some(before) = stored.get(&id) else {
            if now.gone_since.is_none() {
                events.push(Event::of_repo(org, at, EventKind::RepoCreated, now));
            }
            continue;
        };
        let b = &before.listing;
        match (before.gone_since, now.gone_since) {
            (None, Some(_)) => {
                events.push(Event::of_repo(org, at, EventKind::RepoGone, now));
                continue;
            }
            (Some(_), None) => events.push(Event::of_repo(org, at, EventKind::RepoReturned, now)),
            (Some(_), Some(_)) => continue,
            (None, None) => {}
        }
        let owner = |full: &str| full.rsplit_once('/').map(|(o, _)| o.to_owned());
        if owner(&b.full_name) != owner(&l.full_name) && !b.full_name.is_empty() {
            events.push(
                Event::of_repo(org, at, EventKind::RepoTransferred, now)
                    .change(Some(&b.full_name), Some(&l.full_name)),
            );
        } else if b.name != l.name {
            events.push(
                Event::of_repo(org, at, EventKind::RepoRenamed, now)
                    .change(Some(&b.name), Some(&l.name)),
            );
        }
        if b.archived != l.archived {
            let kind = if l.archived {
                EventKind::RepoArchived
            } else {
                EventKind::RepoUnarchived
            };
            events.push(Event::of_repo(org, at, kind, now));
        }
        if b.license != l.license {
            events.push(
                Event::of_repo(org, at, EventKind::LicenseChanged, now)
                    .change(b.license.as_deref(), l.license.as_deref()),
            );
        }
        if b.default_branch != l.default_branch
            && b.default_branch.is_some()
            && l.default_branch.is_some()
        {
            events.push(
                Event::of_repo(org, at, EventKind::DefaultBranchChanged, now)
                    .change(b.default_branch.as_deref(), l.default_branch.as_deref()),
            );
        }
        if let Some(m) = STAR_MILESTONES
            .iter()
            .rev()
            .find(|m| b.stars < **m && l.stars >= **m)
        {
            events.push(
                Event::of_repo(org, at, EventKind::StarMilestone, now)
                    .change(None, Some(&m.to_string())),
            );
        }
    }
    events.sort_by_key(|e| (e.repo.clone(), e.kind.as_str()));
    events
}

/// The forge now calls the organisation `now` where the stored profile said `before`.
pub fn renamed(org: &OrgId, at: DateTime<Utc>, before: &str, now: &str) -> Option<Event> {
    (!now.eq_ignore_ascii_case(before))
        .then(|| Event::new(org, at, EventKind::OrgRenamed).change(Some(before), Some(now)))
}

/// What an organisation's outcome says worth recording, given the outcome before it:
/// the first failure or rate limit after stored data (not every day of a long outage), and
/// the recovery after one.
pub fn outcome(previous: Option<&OrgOutcome>, now: &OrgOutcome) -> Option<Event> {
    let failing = |s: OrgStatus| {
        matches!(
            s,
            OrgStatus::Failed | OrgStatus::RateLimited | OrgStatus::NotFound
        )
    };
    let was = previous.map(|p| p.status);
    let reason = now.message.as_deref().unwrap_or(now.status.as_str());
    let event = |kind| Event::new(&now.org, now.finished_at, kind);
    match now.status {
        s if failing(s) && was != Some(s) => Some(
            event(if s == OrgStatus::RateLimited {
                EventKind::RateLimited
            } else {
                EventKind::RefreshFailed
            })
            .change(None, Some(reason)),
        ),
        s if s.stored() && was.is_some_and(failing) => Some(event(EventKind::Recovered)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RunCounts;

    use crate::domain::test_repo as repo;

    #[test]
    fn a_refresh_records_what_changed_and_a_first_refresh_only_a_baseline() {
        let org: OrgId = "github:acme".parse().expect("id");
        let at = "2026-03-02T03:00:00Z".parse().expect("time");
        let before = [
            repo(1, "old", 90),
            repo(2, "b", 999),
            repo(3, "c", 10),
            repo(4, "d", 5),
        ];
        let stored: HashMap<i64, RepoRecord> =
            before.iter().map(|r| (r.listing.id, r.clone())).collect();
        let mut renamed = repo(1, "new", 120);
        renamed.listing.archived = true;
        let mut b = repo(2, "b", 60_000);
        b.listing.license = None;
        b.listing.default_branch = Some("main".into());
        let mut gone = repo(3, "c", 10);
        gone.gone_since = Some("2026-03-02".parse().expect("day"));
        let mut moved = repo(4, "d", 5);
        moved.listing.full_name = "acme/libs/d".into();
        let after = [renamed, b, gone, moved, repo(5, "fresh", 3)];
        let got: Vec<(EventKind, Option<String>, Option<String>)> =
            changes(&org, at, &stored, &after, false)
                .into_iter()
                .map(|e| (e.kind, e.from, e.to))
                .collect();
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            got,
            [
                (EventKind::DefaultBranchChanged, s("master"), s("main")),
                (EventKind::LicenseChanged, s("MIT"), None),
                (EventKind::StarMilestone, None, s("50000")),
                (EventKind::RepoGone, None, None),
                (EventKind::RepoTransferred, s("acme/d"), s("acme/libs/d")),
                (EventKind::RepoCreated, None, None),
                (EventKind::RepoArchived, None, None),
                (EventKind::RepoRenamed, s("old"), s("new")),
                (EventKind::StarMilestone, None, s("100")),
            ]
        );
        let first = changes(&org, at, &HashMap::new(), &after, true);
        assert_eq!(first.len(), 1);
        assert_eq!(
            first[0].summary(),
            "First refresh of github:acme: 4 repositories recorded as the starting point"
        );
        assert!(
            changes(&org, at, &stored, &before, false).is_empty(),
            "nothing changed, nothing recorded"
        );
    }

    #[test]
    fn outcomes_record_the_first_failure_and_the_recovery() {
        let org: OrgId = "github:acme".parse().expect("id");
        let o = |status, message: Option<&str>| OrgOutcome {
            org: org.clone(),
            status,
            message: message.map(str::to_owned),
            counts: RunCounts::default(),
            finished_at: "2026-03-02T03:00:00Z".parse().expect("time"),
        };
        let ok = o(OrgStatus::Ok, None);
        let failed = o(OrgStatus::Failed, Some("HTTP 502"));
        let limited = o(OrgStatus::RateLimited, Some("budget spent"));
        assert_eq!(
            outcome(Some(&ok), &failed).map(|e| e.kind),
            Some(EventKind::RefreshFailed)
        );
        assert_eq!(
            outcome(Some(&ok), &failed).map(|e| e.summary()),
            Some("Refreshing github:acme failed: HTTP 502".into())
        );
        assert_eq!(
            outcome(Some(&failed), &failed),
            None,
            "a long outage is one event"
        );
        assert_eq!(
            outcome(Some(&failed), &limited).map(|e| e.kind),
            Some(EventKind::RateLimited)
        );
        assert_eq!(
            outcome(Some(&limited), &ok).map(|e| e.kind),
            Some(EventKind::Recovered)
        );
        assert_eq!(outcome(Some(&ok), &ok), None);
        assert_eq!(outcome(None, &ok), None);
    }
}
