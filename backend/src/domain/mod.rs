//! The types every layer shares: identifiers, organisation and repository records,
//! daily snapshots and refresh runs. No I/O lives here.

pub mod activity;
pub mod attention;
pub mod events;
pub mod feed;
mod forge;
pub mod history;
pub mod licenses;
mod open_counts;
mod org_id;
mod run;
pub mod scorecard;
mod secret;
mod token;
pub mod versions;
pub mod vulnerabilities;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub use events::{Event, EventKind, StoredEvent};
pub(crate) use forge::COMMON_PATH_PATTERN;
pub use forge::{ForgeInstance, ForgeKind, ForgeName, Forges};
pub use history::{DayCounts, RepoChange, RepoDay};
pub use open_counts::OpenCounts;
pub use org_id::{OrgId, OrgIdError};
pub use run::{
    Delivery, OrgOutcome, OrgStatus, RefreshRun, RunCounts, RunId, RunOptions, RunStatus, Trigger,
};
pub use secret::{AppCredentials, Secret};
pub use token::{constant_time_eq, validate_token_name, TokenRecord, TokenSecret, TOKEN_PREFIX};

/// A tidy GitHub repository record of `github:acme`, for tests.
#[cfg(test)]
pub(crate) fn test_repo(id: i64, name: &str, stars: u64) -> RepoRecord {
    RepoRecord {
        org: "github:acme".parse().expect("id"),
        listing: RepoListing {
            id,
            name: name.into(),
            full_name: format!("acme/{name}"),
            description: None,
            html_url: None,
            language: None,
            stars,
            watchers: 0,
            forks: 0,
            open_issues: Some(0),
            license: Some("MIT".into()),
            topics: vec![],
            archived: false,
            disabled: false,
            fork: false,
            size_kb: 0,
            default_branch: Some("master".into()),
            created_at: None,
            updated_at: None,
            pushed_at: None,
            visibility: None,
            node_id: None,
            open_pull_requests: None,
        },
        languages: None,
        languages_for: None,
        libraries: None,
        libraries_for: None,
        details: None,
        details_for: None,
        first_seen: "2026-01-01".parse().expect("day"),
        gone_since: None,
    }
}

/// Bytes as lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An organisation's profile as the forge reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgProfile {
    /// The forge's stable numeric id (survives renames).
    pub id: i64,
    /// The login with the forge's own capitalisation.
    pub login: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub blog: Option<String>,
    pub location: Option<String>,
    pub html_url: Option<String>,
    pub avatar_url: Option<String>,
    pub public_repos: Option<u64>,
    pub followers: Option<u64>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub is_verified: Option<bool>,
}

/// A stored organisation: its profile plus when it was last fetched successfully.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgRecord {
    pub org: OrgId,
    pub profile: OrgProfile,
    /// When the profile and repository listing were last stored.
    pub fetched_at: DateTime<Utc>,
}

/// One repository as an organisation's listing reports it: upstream facts only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepoListing {
    /// The forge's numeric id: the key, stable across renames and transfers.
    pub id: i64,
    pub name: String,
    pub full_name: String,
    pub description: Option<String>,
    pub html_url: Option<String>,
    pub language: Option<String>,
    pub stars: u64,
    pub watchers: u64,
    pub forks: u64,
    /// The forge's count of open issues (on GitHub and Gitea/Forgejo with pull requests);
    /// `None` when the listing does not say (GitLab leaves it out when issues are off or
    /// hidden from the token): unknown, never counted as zero.
    pub open_issues: Option<u64>,
    /// SPDX id when the forge knows it, else the licence's name.
    pub license: Option<String>,
    pub topics: Vec<String>,
    pub archived: bool,
    pub disabled: bool,
    pub fork: bool,
    pub size_kb: u64,
    pub default_branch: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub pushed_at: Option<DateTime<Utc>>,
    pub visibility: Option<String>,
    /// The forge's global node id (GitHub's `node_id`, old `MDEw…` or new `R_…` form): what
    /// GraphQL asks for. Opaque; absent on forges without one.
    #[serde(default)]
    pub node_id: Option<String>,
    /// Open pull requests, where the listing counts them apart as well as inside
    /// `open_issues` (Gitea/Forgejo's `open_pr_counter`); `None` elsewhere.
    #[serde(default)]
    pub open_pull_requests: Option<u64>,
}

impl RepoListing {
    /// A marker that moves whenever anything the per-repository details report may have
    /// changed: a push, any update, or the listing's open-issue count (issues and pull
    /// requests opening or closing). Details are asked again only when it moves.
    pub fn details_marker(&self) -> String {
        let at = |t: Option<DateTime<Utc>>| {
            t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default()
        };
        format!(
            "{}|{}|{}",
            at(self.pushed_at),
            at(self.updated_at),
            self.open_issues
                .map_or_else(|| "?".to_owned(), |n| n.to_string())
        )
    }

    /// A marker that moves whenever the repository's content may have changed: the last
    /// push, or the last update for repositories that were never pushed to. Per-repo
    /// details (languages, libraries) are refetched only when it moves.
    pub fn activity_marker(&self) -> Option<String> {
        self.activity_at()
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    }

    /// The time the marker stands for: the last push on GitHub; on GitLab (last
    /// activity) and Gitea/Forgejo (last update), which report no pushes, the update time.
    pub fn activity_at(&self) -> Option<DateTime<Utc>> {
        self.pushed_at.or(self.updated_at)
    }
}

/// A stored repository: the upstream listing plus what orgpulse derived and remembers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepoRecord {
    pub org: OrgId,
    #[serde(flatten)]
    pub listing: RepoListing,
    /// Language → bytes; `None` until languages were fetched once.
    pub languages: Option<BTreeMap<String, u64>>,
    /// The activity marker the stored languages belong to.
    pub languages_for: Option<String>,
    /// How many libraries the last SBOM listed; `None` when never fetched or not available.
    pub libraries: Option<u64>,
    /// The activity marker the stored libraries belong to.
    pub libraries_for: Option<String>,
    /// What GraphQL reports besides languages; `None` until asked once (and on forges or
    /// runs without it).
    #[serde(default)]
    pub details: Option<RepoDetails>,
    /// The [`RepoListing::details_marker`] the stored details belong to.
    #[serde(default)]
    pub details_for: Option<String>,
    /// UTC day this repository was first stored.
    pub first_seen: NaiveDate,
    /// UTC day a complete listing first missed it; cleared when it shows up again.
    pub gone_since: Option<NaiveDate>,
}

/// A repository's details from a forge's batched API (GitHub GraphQL), beyond the listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoDetails {
    /// Open issues alone (the REST listing's count mixes in pull requests).
    pub open_issues: u64,
    pub open_pull_requests: u64,
    pub latest_release: Option<Release>,
    /// When the last commit on the default branch was made.
    pub last_commit_at: Option<DateTime<Utc>>,
    /// The licence's SPDX id, when GitHub recognises one.
    pub license: Option<String>,
    pub topics: Vec<String>,
}

/// A published release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub tag: String,
    pub published_at: Option<DateTime<Utc>>,
}

/// A library one repository depends on, from its SBOM.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Library {
    /// The package-URL type: `cargo`, `npm`, `pypi`, `maven`, `golang`, `githubactions`, …
    pub ecosystem: String,
    /// Namespace and name as the purl gives them (`@scope/pkg`, `org.slf4j/slf4j-api`).
    pub name: String,
    pub version: Option<String>,
    pub license: Option<String>,
}

/// Counts of one repository on a snapshot day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoCounts {
    pub id: i64,
    pub stars: u64,
    pub forks: u64,
    /// `None` where the listing did not say (see [`RepoListing::open_issues`]).
    pub open_issues: Option<u64>,
}

/// Totals over an organisation's live (not gone) repositories.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub repos: u64,
    pub stars: u64,
    pub forks: u64,
    pub open_issues: u64,
    pub watchers: u64,
    pub archived: u64,
    pub size_kb: u64,
}

/// An organisation's state on one UTC day; a second refresh that day replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub org: OrgId,
    pub day: NaiveDate,
    pub taken_at: DateTime<Utc>,
    pub totals: Totals,
    /// Language → bytes summed over repositories whose languages are known.
    pub languages: BTreeMap<String, u64>,
    /// Primary language → number of repositories (known without per-repo requests).
    #[serde(default)]
    pub primary_languages: BTreeMap<String, u64>,
    pub repos: Vec<RepoCounts>,
}

/// A snapshot without its per-repository counts: what trend charts and KPIs read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayTotals {
    pub day: NaiveDate,
    pub taken_at: DateTime<Utc>,
    pub totals: Totals,
    pub languages: BTreeMap<String, u64>,
    #[serde(default)]
    pub primary_languages: BTreeMap<String, u64>,
}

impl Snapshot {
    /// Builds the snapshot of `repos` (gone ones are left out).
    pub fn of<'a>(
        org: &OrgId,
        taken_at: DateTime<Utc>,
        repos: impl IntoIterator<Item = &'a RepoRecord>,
    ) -> Snapshot {
        let mut totals = Totals::default();
        let mut languages = BTreeMap::new();
        let mut primary_languages = BTreeMap::new();
        let mut counts = Vec::new();
        for repo in repos.into_iter().filter(|r| r.gone_since.is_none()) {
            let l = &repo.listing;
            totals.repos += 1;
            totals.stars += l.stars;
            totals.forks += l.forks;
            // Unknown counts are left out of the sum, not counted as zero.
            totals.open_issues += l.open_issues.unwrap_or(0);
            totals.watchers += l.watchers;
            totals.archived += u64::from(l.archived);
            totals.size_kb += l.size_kb;
            if let Some(lang) = &l.language {
                *primary_languages.entry(lang.clone()).or_insert(0) += 1;
            }
            for (lang, bytes) in repo.languages.iter().flatten() {
                *languages.entry(lang.clone()).or_insert(0) += bytes;
            }
            counts.push(RepoCounts {
                id: l.id,
                stars: l.stars,
                forks: l.forks,
                open_issues: l.open_issues,
            });
        }
        counts.sort_by_key(|c| c.id);
        Snapshot {
            org: org.clone(),
            day: taken_at.date_naive(),
            taken_at,
            totals,
            languages,
            primary_languages,
            repos: counts,
        }
    }

    /// The day's totals without the per-repository counts.
    /// Puts a snapshot back together from its stored halves: the day's totals and the
    /// per-repository counts.
    pub(crate) fn from_parts(org: OrgId, day: DayTotals, repos: Vec<RepoCounts>) -> Snapshot {
        Snapshot {
            org,
            day: day.day,
            taken_at: day.taken_at,
            totals: day.totals,
            languages: day.languages,
            primary_languages: day.primary_languages,
            repos,
        }
    }

    pub(crate) fn day_totals(&self) -> DayTotals {
        DayTotals {
            day: self.day,
            taken_at: self.taken_at,
            totals: self.totals.clone(),
            languages: self.languages.clone(),
            primary_languages: self.primary_languages.clone(),
        }
    }
}

/// What a conditional request needs to remember about one URL between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpCacheEntry {
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The parsed result the validators stand for (JSON of the source's own type).
    pub payload: serde_json::Value,
    pub stored_at: DateTime<Utc>,
    /// For answers without validators (Gitea/Forgejo listings): the SHA-256 of the body
    /// the payload was decoded from; an identical body is then not decoded again.
    #[serde(default)]
    pub content_hash: Option<String>,
}

/// Who may run refreshes right now: one holder at a time across every instance sharing a
/// database, until `expires_at` unless renewed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub name: String,
    /// The instance holding it (`host-pid-random`).
    pub holder: String,
    /// The run it was taken for.
    pub run_id: Option<RunId>,
    pub expires_at: DateTime<Utc>,
}
