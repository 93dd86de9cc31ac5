//! The API's response types: stable field names, documented once, turned into the
//! OpenAPI document by utoipa; and how they are built from what the store returns.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{
    DayTotals, ForgeKind, Forges, OpenCounts, OrgId, OrgOutcome, RefreshRun, RepoDay, RepoDetails,
    RepoRecord, Totals,
};
use crate::store::{OrgDetail, OrgOverview};
use crate::web::views::{self, Delta, Freshness, LanguageMeasure};

pub(crate) use crate::domain::feed::{EventView, WebhookPayload};

/// Totals over an organisation's live repositories on one day.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TotalsView {
    pub repos: u64,
    pub stars: u64,
    pub forks: u64,
    /// Open issues alone: known on GitLab, whose listings count issues only; `null` on
    /// GitHub and Gitea/Forgejo, whose listings count issues and pull requests together.
    /// Repositories that do not report the count are left out of the sum.
    pub open_issues: Option<u64>,
    /// Open issues and pull requests together as GitHub and Gitea/Forgejo count them;
    /// `null` on GitLab, whose listings do not count merge requests.
    pub open_issues_and_pull_requests: Option<u64>,
    pub watchers: u64,
    pub archived: u64,
    pub size_kb: u64,
}

impl TotalsView {
    pub(super) fn of(kind: Option<ForgeKind>, t: &Totals) -> Self {
        let open = OpenCounts::listed(kind, Some(t.open_issues));
        TotalsView {
            repos: t.repos,
            stars: t.stars,
            forks: t.forks,
            open_issues: open.issues,
            open_issues_and_pull_requests: open.both,
            watchers: t.watchers,
            archived: t.archived,
            size_kb: t.size_kb,
        }
    }
}

/// How the latest refresh of an organisation went.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LastRefresh {
    /// `ok`, `partial`, `failed`, `rate_limited` or `not_found`.
    pub status: String,
    pub at: DateTime<Utc>,
    pub message: Option<String>,
}

impl From<&OrgOutcome> for LastRefresh {
    fn from(o: &OrgOutcome) -> Self {
        LastRefresh {
            status: o.status.to_string(),
            at: o.finished_at,
            message: o.message.clone(),
        }
    }
}

/// A tracked organisation with its totals and last refresh.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrgSummary {
    /// `FORGE:LOGIN`.
    #[schema(example = "github:rust-lang")]
    pub id: String,
    pub forge: String,
    pub login: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub html_url: Option<String>,
    /// When it was added to the tracked list (`null` for data kept after untracking).
    pub tracked_since: Option<DateTime<Utc>>,
    pub freshness: Freshness,
    pub last_refresh: Option<LastRefresh>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// The latest snapshot's day.
    pub latest_day: Option<NaiveDate>,
    pub totals: Option<TotalsView>,
}

/// Changes of the totals over 1, 7 and 30 days; `null` where history is not that deep.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Deltas {
    pub d1: Option<Delta>,
    pub d7: Option<Delta>,
    pub d30: Option<Delta>,
}

/// One organisation with profile, totals, deltas and language mix.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrgView {
    #[serde(flatten)]
    pub summary: OrgSummary,
    pub location: Option<String>,
    pub blog: Option<String>,
    pub followers: Option<u64>,
    pub public_repos: Option<u64>,
    pub created_at: Option<DateTime<Utc>>,
    pub is_verified: Option<bool>,
    pub deltas: Deltas,
    /// `bytes` (per-language byte counts) or `repos` (repositories by primary language).
    pub languages_measure: Option<String>,
    pub languages: BTreeMap<String, u64>,
}

/// One repository.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RepoView {
    /// The forge's numeric id: stable across renames.
    pub id: i64,
    pub name: String,
    pub full_name: String,
    pub description: Option<String>,
    pub html_url: Option<String>,
    pub language: Option<String>,
    pub stars: u64,
    pub forks: u64,
    /// Open issues alone: from GitHub's GraphQL details (with a token) or GitLab's
    /// listing; `null` where unknown (GitHub without a token and Gitea/Forgejo count
    /// issues and pull requests together; GitLab with issues off).
    pub open_issues: Option<u64>,
    /// Open pull requests alone: from GitHub's GraphQL details; `null` where unknown.
    pub open_pull_requests: Option<u64>,
    /// Open issues and pull requests together: GitHub's and Gitea/Forgejo's own count;
    /// `null` on GitLab, whose listing does not count merge requests.
    pub open_issues_and_pull_requests: Option<u64>,
    pub watchers: u64,
    pub license: Option<String>,
    pub topics: Vec<String>,
    pub archived: bool,
    pub fork: bool,
    pub size_kb: u64,
    pub default_branch: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub pushed_at: Option<DateTime<Utc>>,
    /// Language → bytes, when fetched.
    pub languages: Option<BTreeMap<String, u64>>,
    /// Libraries its SBOM lists, when fetched and available.
    pub libraries: Option<u64>,
    pub first_seen: NaiveDate,
    /// The day a complete listing first missed it.
    pub gone_since: Option<NaiveDate>,
    /// What GitHub's GraphQL API reports besides the listing (with a token); `null` where
    /// it was never asked (no token, or another forge).
    pub details: Option<DetailsView>,
    /// Its OpenSSF Scorecard result (GitHub repositories); `null` where never asked.
    pub scorecard: Option<ScorecardView>,
}

/// A repository's OpenSSF Scorecard result, as last read (at most weekly).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScorecardView {
    /// When orgpulse last asked.
    pub fetched_at: DateTime<Utc>,
    /// `false`: the Scorecard API does not score this repository (only those in its weekly
    /// list or that publish their results are).
    pub scored: bool,
    /// 0–10.
    pub score: Option<f64>,
    /// The day Scorecard ran.
    pub date: Option<NaiveDate>,
    pub commit: Option<String>,
    pub checks: Vec<ScorecardCheckView>,
}

/// One Scorecard check.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScorecardCheckView {
    pub name: String,
    /// 0–10; `null` when the check does not apply to the repository (the API's −1).
    pub score: Option<u8>,
    pub reason: Option<String>,
    pub documentation: Option<String>,
}

impl From<&crate::domain::scorecard::ScorecardEntry> for ScorecardView {
    fn from(e: &crate::domain::scorecard::ScorecardEntry) -> Self {
        let result = e.result.as_ref();
        ScorecardView {
            fetched_at: e.fetched_at,
            scored: result.is_some(),
            score: result.map(|r| r.score),
            date: result.and_then(|r| r.date),
            commit: result.and_then(|r| r.commit.clone()),
            checks: result
                .map(|r| {
                    r.checks
                        .iter()
                        .map(|c| ScorecardCheckView {
                            name: c.name.clone(),
                            score: c.score,
                            reason: c.reason.clone(),
                            documentation: c.url.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// A repository's details: the latest release and the last commit on the default branch
/// (the open issues and pull requests they count apart are the repository's
/// `open_issues` and `open_pull_requests`).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DetailsView {
    pub latest_release: Option<ReleaseView>,
    pub last_commit_at: Option<DateTime<Utc>>,
}

/// A published release.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReleaseView {
    pub tag: String,
    pub published_at: Option<DateTime<Utc>>,
}

impl From<&RepoDetails> for DetailsView {
    fn from(d: &RepoDetails) -> Self {
        DetailsView {
            latest_release: d.latest_release.as_ref().map(|r| ReleaseView {
                tag: r.tag.clone(),
                published_at: r.published_at,
            }),
            last_commit_at: d.last_commit_at,
        }
    }
}

impl RepoView {
    pub(crate) fn of(kind: Option<ForgeKind>, r: &RepoRecord) -> Self {
        let l = &r.listing;
        let open = OpenCounts::of_repo(kind, r);
        RepoView {
            id: l.id,
            name: l.name.clone(),
            full_name: l.full_name.clone(),
            description: l.description.clone(),
            html_url: l.html_url.clone(),
            language: l.language.clone(),
            stars: l.stars,
            forks: l.forks,
            open_issues: open.issues,
            open_pull_requests: open.pull_requests,
            open_issues_and_pull_requests: open.both,
            watchers: l.watchers,
            license: l.license.clone(),
            topics: l.topics.clone(),
            archived: l.archived,
            fork: l.fork,
            size_kb: l.size_kb,
            default_branch: l.default_branch.clone(),
            created_at: l.created_at,
            updated_at: l.updated_at,
            pushed_at: l.pushed_at,
            languages: r.languages.clone(),
            libraries: r.libraries,
            first_seen: r.first_seen,
            gone_since: r.gone_since,
            details: r.details.as_ref().map(Into::into),
            scorecard: None,
        }
    }
}

/// A page of repositories.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RepoPage {
    pub items: Vec<RepoView>,
    /// How many repositories match, over all pages.
    pub total: usize,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// One day of an organisation's history.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DayView {
    pub day: NaiveDate,
    pub taken_at: DateTime<Utc>,
    pub totals: TotalsView,
    /// Language → bytes (empty when per-repo languages were not fetched).
    pub languages: BTreeMap<String, u64>,
    /// Primary language → repositories.
    pub primary_languages: BTreeMap<String, u64>,
}

impl DayView {
    pub(super) fn of(kind: Option<ForgeKind>, d: &DayTotals) -> Self {
        DayView {
            day: d.day,
            taken_at: d.taken_at,
            totals: TotalsView::of(kind, &d.totals),
            languages: d.languages.clone(),
            primary_languages: d.primary_languages.clone(),
        }
    }
}

/// Daily snapshots of one organisation, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct History {
    pub org: String,
    pub days: Vec<DayView>,
}

/// A library and how many live repositories use it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LibraryUse {
    pub name: String,
    pub repos: u64,
}

/// The libraries of one ecosystem (`cargo`, `npm`, `pypi`, …), most used first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Ecosystem {
    pub ecosystem: String,
    pub libraries: Vec<LibraryUse>,
}

/// Dependencies found in an organisation's SBOMs, by ecosystem.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Libraries {
    pub org: String,
    pub ecosystems: Vec<Ecosystem>,
}

/// Request counters of a run or of one organisation in it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CountsView {
    pub requests: u64,
    /// Requests answered `304 Not Modified` (free against the rate limit).
    pub not_modified: u64,
    pub retries: u64,
    pub repos_seen: u64,
    pub repos_changed: u64,
    pub repos_gone: u64,
    pub malformed_skipped: u64,
    pub details_failed: u64,
    /// GraphQL rate-limit points spent (GitHub with a token).
    pub points: u64,
}

/// One organisation's result within a run.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrgOutcomeView {
    pub org: String,
    /// `ok`, `partial`, `failed`, `rate_limited` or `not_found`.
    pub status: String,
    pub message: Option<String>,
    pub counts: CountsView,
    pub finished_at: DateTime<Utc>,
}

/// A refresh run.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RunView {
    pub id: String,
    /// `cli`, `schedule`, `catch_up` or `api`.
    pub trigger: String,
    /// `queued`, `running`, `succeeded`, `partial`, `failed` or `interrupted`.
    pub status: String,
    pub orgs_requested: Vec<String>,
    /// Organisations finished so far.
    pub orgs_done: usize,
    pub languages_fetched: bool,
    pub libraries_fetched: bool,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub counts: CountsView,
    pub rate_limit_remaining: Option<u64>,
    pub message: Option<String>,
    pub outcomes: Vec<OrgOutcomeView>,
    /// Webhook deliveries made after the run (filled in once they are done).
    pub deliveries: Vec<DeliveryView>,
}

/// One webhook POST (with its retries) of one organisation's new events.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeliveryView {
    /// The endpoint: scheme and host only (its path may be a credential).
    pub target: String,
    pub org: String,
    pub events: u64,
    /// The first and last event carried (their `seq` in the feed).
    pub first_seq: i64,
    pub last_seq: i64,
    /// Tries made; 0 when it was not sent (the endpoint had just failed, or shutdown).
    pub attempts: u32,
    pub delivered: bool,
    /// The endpoint's last HTTP status, if it answered.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

/// A repository that needs attention, with its reasons.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AttentionItem {
    pub id: i64,
    pub name: String,
    pub html_url: Option<String>,
    /// `stale`, `no_license`, `no_description`, `empty` or `archived_with_open_issues`.
    pub reasons: Vec<String>,
    /// The reasons for people ("no activity for 400 days, no licence").
    pub summary: String,
    /// Forks are flagged as such: their upkeep may live upstream.
    pub fork: bool,
    pub archived: bool,
    pub stars: u64,
    /// Open issues alone, where known (see the repository's fields of the same names).
    pub open_issues: Option<u64>,
    /// Open issues and pull requests together, where the forge counts them so.
    pub open_issues_and_pull_requests: Option<u64>,
    /// The last push on GitHub; the last update elsewhere (no push time is reported).
    pub last_activity_at: Option<DateTime<Utc>>,
    /// Days from the last activity to `as_of`.
    pub days_inactive: Option<i64>,
}

/// An organisation's repositories that need attention.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AttentionList {
    pub org: String,
    /// When the listing judged was stored: "no activity for N days" counts to here.
    pub as_of: Option<DateTime<Utc>>,
    /// `ORGPULSE_STALE_DAYS`.
    pub stale_days: u32,
    /// `ORGPULSE_RELEASE_DAYS`: a latest release this old is `no_recent_release`; `null`
    /// when that rule is off.
    pub release_days: Option<u32>,
    /// `ORGPULSE_RESPONSE_DAYS`: open items unanswered this long are
    /// `waiting_for_response`; `null` when that rule is off.
    pub response_days: Option<u32>,
    /// `ORGPULSE_ATTENTION_EXEMPT_TOPIC`: repositories with it are left out.
    pub exempt_topic: String,
    /// Live repositories looked at, exempt ones included.
    pub checked: usize,
    /// Of those, how many carry the exempt topic.
    pub exempt: usize,
    /// Rules left out because this forge does not report what they read (`no_license`
    /// on GitLab and on Gitea/Forgejo servers that list no licences; `empty` on GitLab).
    pub not_reported: Vec<String>,
    /// Most reasons first, then most stars.
    pub items: Vec<AttentionItem>,
}

fn counts(c: &crate::domain::RunCounts) -> CountsView {
    CountsView {
        requests: c.requests,
        not_modified: c.not_modified,
        retries: c.retries,
        repos_seen: c.repos_seen,
        repos_changed: c.repos_changed,
        repos_gone: c.repos_gone,
        malformed_skipped: c.malformed_skipped,
        details_failed: c.details_failed,
        points: c.points,
    }
}

impl From<&RefreshRun> for RunView {
    fn from(r: &RefreshRun) -> Self {
        RunView {
            id: r.id.to_string(),
            trigger: r.trigger.as_str().to_owned(),
            status: r.status.as_str().to_owned(),
            orgs_requested: r.orgs_requested.iter().map(ToString::to_string).collect(),
            orgs_done: r.outcomes.len(),
            languages_fetched: r.options.languages,
            libraries_fetched: r.options.libraries,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
            counts: counts(&r.counts),
            rate_limit_remaining: r.rate_limit_remaining,
            message: r.message.clone(),
            outcomes: r
                .outcomes
                .iter()
                .map(|o| OrgOutcomeView {
                    org: o.org.to_string(),
                    status: o.status.to_string(),
                    message: o.message.clone(),
                    counts: counts(&o.counts),
                    finished_at: o.finished_at,
                })
                .collect(),
            deliveries: r
                .deliveries
                .iter()
                .map(|d| DeliveryView {
                    target: d.target.clone(),
                    org: d.org.to_string(),
                    events: d.events,
                    first_seq: d.first_seq,
                    last_seq: d.last_seq,
                    attempts: d.attempts,
                    delivered: d.delivered,
                    status: d.status,
                    error: d.error.clone(),
                    at: d.at,
                })
                .collect(),
        }
    }
}

pub(super) fn summary(
    org: &OrgId,
    tracked_since: Option<DateTime<Utc>>,
    outcome: Option<&OrgOutcome>,
    success: Option<DateTime<Utc>>,
    record: Option<&crate::domain::OrgRecord>,
    history: &[DayTotals],
    kind: Option<ForgeKind>,
) -> OrgSummary {
    let profile = record.map(|r| &r.profile);
    OrgSummary {
        id: org.to_string(),
        forge: org.forge().to_string(),
        login: org.login().to_owned(),
        name: profile.and_then(|p| p.name.clone()),
        description: profile.and_then(|p| p.description.clone()),
        html_url: profile.and_then(|p| p.html_url.clone()),
        tracked_since,
        freshness: Freshness::of(outcome, success, Utc::now()),
        last_refresh: outcome.map(Into::into),
        last_success_at: success,
        latest_day: history.last().map(|d| d.day),
        totals: history.last().map(|d| TotalsView::of(kind, &d.totals)),
    }
}

pub(super) fn overview_summary(forges: &Forges, o: &OrgOverview) -> OrgSummary {
    let t = &o.tracked;
    summary(
        &t.org,
        Some(t.added_at),
        t.last_outcome.as_ref(),
        t.last_success_at,
        o.record.as_ref(),
        &o.history,
        forges.kind_of(&t.org),
    )
}

pub(super) fn org_view(forges: &Forges, d: &OrgDetail) -> OrgView {
    let kind = forges.kind_of(&d.org);
    let profile = d.record.as_ref().map(|r| &r.profile);
    let mix = d.history.last().map(views::language_mix);
    OrgView {
        summary: summary(
            &d.org,
            d.tracked_since,
            d.last_outcome.as_ref(),
            d.last_success_at,
            d.record.as_ref(),
            &d.history,
            kind,
        ),
        location: profile.and_then(|p| p.location.clone()),
        blog: profile.and_then(|p| p.blog.clone()),
        followers: profile.and_then(|p| p.followers),
        public_repos: profile.and_then(|p| p.public_repos),
        created_at: profile.and_then(|p| p.created_at),
        is_verified: profile.and_then(|p| p.is_verified),
        deltas: Deltas {
            d1: views::delta(&d.history, 1, kind),
            d7: views::delta(&d.history, 7, kind),
            d30: views::delta(&d.history, 30, kind),
        },
        languages_measure: mix.map(|(m, _)| {
            if m == LanguageMeasure::Bytes {
                "bytes"
            } else {
                "repos"
            }
            .to_owned()
        }),
        languages: mix.map(|(_, l)| l.clone()).unwrap_or_default(),
    }
}

/// One snapshot day of a repository: its counts, or `listed: false` (all counts `null`)
/// when that day's snapshot did not list it (a gap, not a zero).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RepoDayView {
    pub day: NaiveDate,
    pub listed: bool,
    pub stars: Option<u64>,
    pub forks: Option<u64>,
    /// Open issues alone (GitLab); `null` where the forge counts pull requests with them.
    pub open_issues: Option<u64>,
    /// Open issues and pull requests together (GitHub, Gitea/Forgejo); `null` on GitLab.
    pub open_issues_and_pull_requests: Option<u64>,
}

impl RepoDayView {
    pub(super) fn of(kind: Option<ForgeKind>, d: &RepoDay) -> Self {
        let open = OpenCounts::listed(kind, d.counts.and_then(|c| c.open_issues));
        RepoDayView {
            day: d.day,
            listed: d.counts.is_some(),
            stars: d.counts.map(|c| c.stars),
            forks: d.counts.map(|c| c.forks),
            open_issues: open.issues,
            open_issues_and_pull_requests: open.both,
        }
    }
}

/// A repository's counts on each of its organisation's snapshot days, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RepoHistory {
    pub org: String,
    pub repo: RepoView,
    pub days: Vec<RepoDayView>,
}

/// A repository whose stars moved over a window.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MoverView {
    pub id: i64,
    pub name: String,
    pub html_url: Option<String>,
    /// Stars at the start of the window; `null` for a new repository.
    pub stars_start: Option<u64>,
    pub stars_end: u64,
    /// Stars gained (negative: lost); `null` for a new repository, whose stars were not
    /// gained in the window.
    pub gained: Option<i64>,
    /// The gain as a percentage of `stars_start`; `null` when new or starting from zero.
    pub percent: Option<f64>,
    /// Not listed at the start of the window.
    pub new: bool,
}

/// Repositories ranked by stars gained over a window ending at the latest snapshot.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Movers {
    pub org: String,
    /// The window asked for, in days.
    pub days: u32,
    /// The snapshot the window starts from: the latest one on or before `days` before
    /// `until`, or the first one when the history is not that deep; `null` without history.
    pub since: Option<NaiveDate>,
    /// The latest snapshot; `null` without history.
    pub until: Option<NaiveDate>,
    /// Whether the history covers the whole window.
    pub complete: bool,
    /// Repositories listed at both ends whose stars moved, most gained first.
    pub items: Vec<MoverView>,
    /// Repositories that appeared in the window, most stars first.
    pub new: Vec<MoverView>,
}

/// A page of the change feed, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventPage {
    pub items: Vec<EventView>,
    /// Pass as `cursor` for older events; `null` on the last page.
    pub next_cursor: Option<String>,
}
