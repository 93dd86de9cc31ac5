//! Refresh runs: what was asked, how it went, per organisation.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::OrgId;

/// A run's identifier: a UUIDv7, so ids sort by creation time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub String);

impl RunId {
    pub(crate) fn new() -> Self {
        RunId(uuid::Uuid::now_v7().to_string())
    }
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// `orgpulse refresh` on the command line.
    Cli,
    /// The cron schedule.
    Schedule,
    /// The start-up catch-up after a missed tick.
    CatchUp,
    /// `POST /api/v1/refresh`.
    Api,
}

impl Trigger {
    /// The name the API and the pages show (the same as its serialised form).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Trigger::Cli => "cli",
            Trigger::Schedule => "schedule",
            Trigger::CatchUp => "catch_up",
            Trigger::Api => "api",
        }
    }
}

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    /// Every organisation refreshed completely.
    Succeeded,
    /// Some organisations (or some of their details) did not refresh.
    Partial,
    /// No organisation refreshed.
    Failed,
    /// Stopped by shutdown before it finished.
    Interrupted,
}

impl RunStatus {
    /// Runs still going (or waiting to): what an interruption closes and retention keeps.
    pub(crate) const UNFINISHED: [RunStatus; 2] = [RunStatus::Queued, RunStatus::Running];
    /// Finished runs that stored data: what "the last successful refresh" means.
    pub(crate) const STORED_DATA: [RunStatus; 2] = [RunStatus::Succeeded, RunStatus::Partial];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }

    pub fn is_finished(self) -> bool {
        !Self::UNFINISHED.contains(&self)
    }
}

/// How one organisation fared in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgStatus {
    /// Profile, listing and every wanted detail stored.
    Ok,
    /// Profile and listing stored; some per-repo details kept their previous values.
    Partial,
    /// Nothing stored; previous data kept.
    Failed,
    /// The forge's rate limit ran out before this organisation was done; previous data kept.
    RateLimited,
    /// The forge says the organisation does not exist (any more); previous data kept.
    NotFound,
    /// The run was stopped (shutdown) before this organisation was stored; previous data kept.
    Interrupted,
}

impl OrgStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OrgStatus::Ok => "ok",
            OrgStatus::Partial => "partial",
            OrgStatus::Failed => "failed",
            OrgStatus::RateLimited => "rate_limited",
            OrgStatus::NotFound => "not_found",
            OrgStatus::Interrupted => "interrupted",
        }
    }

    /// Whether the organisation's new data was stored.
    pub(crate) fn stored(self) -> bool {
        matches!(self, OrgStatus::Ok | OrgStatus::Partial)
    }
}

impl fmt::Display for OrgStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which optional per-repo fetches a run made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOptions {
    pub languages: bool,
    pub libraries: bool,
}

/// Counters of a run, or of one organisation within it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// Upstream requests sent, retries included.
    pub requests: u64,
    /// Of those, answered `304 Not Modified`.
    pub not_modified: u64,
    /// Requests repeated after a transient failure or a rate-limit wait.
    pub retries: u64,
    pub repos_seen: u64,
    /// New or changed repositories written.
    pub repos_changed: u64,
    /// Repositories newly marked as gone upstream.
    pub repos_gone: u64,
    /// Listing entries that could not be read and were skipped.
    pub malformed_skipped: u64,
    /// Per-repo detail fetches that failed (previous values kept).
    pub details_failed: u64,
    /// GraphQL rate-limit points spent (the queries' `rateLimit.cost`).
    #[serde(default)]
    pub points: u64,
}

impl RunCounts {
    pub(crate) fn add(&mut self, other: &RunCounts) {
        self.requests += other.requests;
        self.not_modified += other.not_modified;
        self.retries += other.retries;
        self.points += other.points;
        self.repos_seen += other.repos_seen;
        self.repos_changed += other.repos_changed;
        self.repos_gone += other.repos_gone;
        self.malformed_skipped += other.malformed_skipped;
        self.details_failed += other.details_failed;
    }
}

/// One organisation's result within a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgOutcome {
    pub org: OrgId,
    pub status: OrgStatus,
    /// A one-line reason when the status is not `ok`.
    pub message: Option<String>,
    pub counts: RunCounts,
    pub finished_at: DateTime<Utc>,
}

/// A refresh run and, once finished, its outcome per organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshRun {
    pub id: RunId,
    pub trigger: Trigger,
    pub status: RunStatus,
    /// The organisations this run covers.
    pub orgs_requested: Vec<OrgId>,
    pub options: RunOptions,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcomes: Vec<OrgOutcome>,
    pub counts: RunCounts,
    /// Rate-limit budget left at the end, as the forge last reported it.
    pub rate_limit_remaining: Option<u64>,
    /// A run-wide note (why it failed or was interrupted).
    pub message: Option<String>,
    /// The webhook deliveries made after the run (added once they are done).
    #[serde(default)]
    pub deliveries: Vec<Delivery>,
}

/// One webhook POST (with its retries) of one organisation's new events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// The endpoint as it may be shown: scheme and host only (a Slack-style URL carries
    /// its secret in the path).
    pub target: String,
    pub org: OrgId,
    /// Events carried, and the first and last of them (their feed `seq`).
    pub events: u64,
    pub first_seq: i64,
    pub last_seq: i64,
    /// Tries made: 0 when it was not sent (the endpoint had just failed, or shutdown).
    pub attempts: u32,
    pub delivered: bool,
    /// The endpoint's last HTTP status, if it answered.
    pub status: Option<u16>,
    /// Why it was not delivered.
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

impl RefreshRun {
    /// A new, queued run.
    pub fn queued(
        trigger: Trigger,
        orgs: Vec<OrgId>,
        options: RunOptions,
        now: DateTime<Utc>,
    ) -> Self {
        RefreshRun {
            id: RunId::new(),
            trigger,
            status: RunStatus::Queued,
            orgs_requested: orgs,
            options,
            created_at: now,
            started_at: None,
            finished_at: None,
            outcomes: Vec::new(),
            counts: RunCounts::default(),
            rate_limit_remaining: None,
            message: None,
            deliveries: Vec::new(),
        }
    }

    /// Ends the run with `status` and a run-wide note.
    pub(crate) fn finish(
        &mut self,
        status: RunStatus,
        message: Option<String>,
        now: DateTime<Utc>,
    ) {
        self.status = status;
        self.finished_at = Some(now);
        self.message = message;
    }

    /// Closes a run that cannot finish normally (shutdown, or its instance died).
    pub(crate) fn interrupt(&mut self, message: impl Into<String>, now: DateTime<Utc>) {
        self.finish(RunStatus::Interrupted, Some(message.into()), now);
    }

    /// The final status implied by the per-organisation outcomes.
    pub(crate) fn status_from_outcomes(outcomes: &[OrgOutcome]) -> RunStatus {
        if outcomes.is_empty() || outcomes.iter().all(|o| o.status == OrgStatus::Ok) {
            RunStatus::Succeeded
        } else if outcomes.iter().any(|o| o.status.stored()) {
            RunStatus::Partial
        } else {
            RunStatus::Failed
        }
    }
}
