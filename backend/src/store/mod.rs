//! Storage behind one [`Store`] trait made of small traits, one per concern (health,
//! tracked organisations, organisation data, snapshots, HTTP validators, runs, the lease,
//! tokens), each documented once here. `sqlite/` is the embedded default; `mongo/` mirrors
//! it file for file and method for method. Rules about the records (how a run is
//! interrupted, which statuses count as finished, how a snapshot is rebuilt) live on the
//! domain types; the drivers only store and load.
//!
//! Writes that belong together go in one call: [`OrgStore::commit_org_refresh`] stores an
//! organisation's whole refresh (profile, changed repositories, gone-marking, libraries,
//! the day's snapshot and the HTTP validators) at once, so an organisation is always at
//! either its old or its new state.

mod activity;
pub mod mongo;
mod security;
pub mod sqlite;

pub use activity::{ActivityCommit, ActivityRead, ActivityWrite, StoredItem};
pub(crate) use security::sort_findings;
pub use security::{SecurityCommit, SecurityRead, SecurityWrite};

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[cfg(doc)]
use crate::domain::RunStatus;
use crate::domain::{
    DayTotals, Event, EventKind, HttpCacheEntry, Lease, Library, OrgId, OrgOutcome, OrgRecord,
    RefreshRun, RepoCounts, RepoDay, RepoRecord, RunId, Snapshot, StoredEvent, TokenRecord,
};

/// The error a database driver raised, kept whole (not only its text).
pub(crate) type DriverError = Box<dyn std::error::Error + Send + Sync>;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed or could not be reached. The driver's error is kept as it was
    /// raised; its text is part of this message, so it is not repeated as `source()`
    /// (error chains would print it twice).
    #[error("database error: {0}")]
    Backend(DriverError),
    /// The database is still being prepared (connecting, indexes, migrations): nothing can
    /// be read or written yet. Try again shortly.
    #[error("the database is not ready yet: {0}")]
    NotReady(String),
    /// What was to be changed does not exist.
    #[error("{0} does not exist")]
    NotFound(String),
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Unsupported(String),
}

impl StoreError {
    /// A database failure described by a message of ours rather than a driver error.
    pub fn backend(message: impl Into<String>) -> Self {
        StoreError::Backend(message.into().into())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A tracked organisation and how its last refresh went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackedOrg {
    pub org: OrgId,
    pub added_at: DateTime<Utc>,
    /// The outcome of the last refresh that covered it.
    pub last_outcome: Option<OrgOutcome>,
    /// When its data was last stored successfully.
    pub last_success_at: Option<DateTime<Utc>>,
}

/// Libraries replaced for one repository in a commit.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoLibraries {
    pub repo_id: i64,
    pub libraries: Vec<Library>,
}

/// Everything one organisation's refresh writes, in one unit.
#[derive(Debug, Clone)]
pub struct OrgCommit {
    pub record: OrgRecord,
    /// New, changed, revived and newly gone repositories (unchanged ones are left out).
    pub repos: Vec<RepoRecord>,
    /// Repositories whose libraries were fetched again: their stored list is replaced.
    pub libraries: Vec<RepoLibraries>,
    pub snapshot: Snapshot,
    /// New or changed validators for the organisation's URLs.
    pub http_cache: Vec<HttpCacheEntry>,
    /// What the refresh saw change (recorded once per natural key, see [`Event::key`]).
    pub events: Vec<Event>,
}

/// A library and how many of an organisation's live repositories use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryUsage {
    pub ecosystem: String,
    pub name: String,
    pub repos: u64,
}

impl LibraryUsage {
    /// The order every store answers [`OrgStore::library_usage`] in: most used first,
    /// then by ecosystem and name.
    pub(crate) fn sort(usage: &mut [LibraryUsage]) {
        usage.sort_by(|a, b| {
            b.repos
                .cmp(&a.repos)
                .then_with(|| a.ecosystem.cmp(&b.ecosystem))
                .then_with(|| a.name.cmp(&b.name))
        });
    }
}

/// A tracked organisation with what the overview page shows of it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgOverview {
    pub tracked: TrackedOrg,
    pub record: Option<OrgRecord>,
    /// Daily totals, oldest first; the last one is the latest.
    pub history: Vec<DayTotals>,
}

/// Everything one organisation's page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgDetail {
    pub org: OrgId,
    /// When it was added to the tracked list; `None` for data kept after untracking.
    pub tracked_since: Option<DateTime<Utc>>,
    pub last_outcome: Option<OrgOutcome>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub record: Option<OrgRecord>,
    /// Daily totals, oldest first.
    pub history: Vec<DayTotals>,
    /// Every stored repository, gone ones included, by id.
    pub repos: Vec<RepoRecord>,
    pub libraries: Vec<LibraryUsage>,
}

/// The names of an organisation's repositories by id, for rows that carry only the id.
#[derive(Debug)]
pub struct RepoNames<'a>(std::collections::HashMap<i64, &'a str>);

impl RepoNames<'_> {
    /// The repository's name; its id where the organisation does not list it.
    pub fn of(&self, id: i64) -> String {
        self.0
            .get(&id)
            .map_or_else(|| id.to_string(), |n| (*n).to_owned())
    }
}

impl OrgDetail {
    /// Its repositories' names (gone ones included) by id.
    pub fn repo_names(&self) -> RepoNames<'_> {
        RepoNames(
            self.repos
                .iter()
                .map(|r| (r.listing.id, r.listing.name.as_str()))
                .collect(),
        )
    }

    /// Whether anything is known about an organisation: it is tracked, was refreshed, or
    /// has a stored profile. An unknown one has no detail (a 404, not an empty page).
    pub(crate) fn is_known(tracked: bool, refreshed: bool, stored: bool) -> bool {
        tracked || refreshed || stored
    }
}

/// A stored repository as one organisation lists it. A repository's data is stored once,
/// whichever organisations list it (a GitLab project belongs to its group and every
/// ancestor group); each organisation keeps its own membership and gone mark, and the day
/// the repository was first seen is kept apart from the record (later upserts must not
/// move it).
pub(crate) fn as_member(
    mut repo: RepoRecord,
    org: &OrgId,
    first_seen: &str,
    gone_since: Option<&str>,
) -> StoreResult<RepoRecord> {
    let parse = |what: &str, value: &str| {
        value
            .parse::<NaiveDate>()
            .map_err(|e| StoreError::Corrupt(format!("{what} `{value}`: {e}")))
    };
    repo.org = org.clone();
    repo.first_seen = parse("first_seen", first_seen)?;
    repo.gone_since = gone_since.map(|d| parse("gone_since", d)).transpose()?;
    Ok(repo)
}

/// What a purge of one organisation deletes besides its memberships (each store keys
/// these by the organisation): its records, keyed by the organisation alone...
pub(crate) const PURGED_ORG_RECORDS: [&str; 4] =
    ["orgs", "org_status", "activity_sync", "security_state"];
/// ...and its rows, each carrying the organisation. Repositories and what is stored per
/// repository ([`PURGED_REPO_ROWS`]) go only when no other organisation lists them (see
/// [`TrackedOrgStore::remove_tracked_org`]).
pub(crate) const PURGED_ORG_ROWS: [&str; 7] = [
    "snapshots",
    "security_findings",
    "security_days",
    "repo_days",
    "http_cache",
    "events",
    "webhook_cursors",
];

/// What is stored per repository (keyed by forge and `repo_id`), purged with a repository
/// no organisation lists any more.
pub(crate) const PURGED_REPO_ROWS: [&str; 4] =
    ["repo_libraries", "activity_items", "releases", "scorecards"];

/// What asking for a lease got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseGrant {
    /// The caller holds it now.
    Acquired,
    /// Someone else holds it, unexpired.
    Held(Lease),
}

/// Whether the database answers, and whether anything in it changed.
#[async_trait]
pub trait HealthStore {
    /// Succeeds when the database answers.
    async fn ping(&self) -> StoreResult<()>;

    /// A number that changes whenever anything stored changes; readers cache against it.
    async fn data_version(&self) -> StoreResult<i64>;

    /// Each organisation's change stamp: a number that moves whenever anything stored about
    /// that organisation changes (tracking it, a refresh's commit, a refresh's outcome),
    /// written after the data it stands for. Stamps are never removed. When
    /// [`data_version`](Self::data_version) moves, a reader compares the stamps with the
    /// ones it saw before and drops only what belongs to the organisations that moved.
    async fn org_stamps(&self) -> StoreResult<Vec<(OrgId, i64)>>;
}

/// The list of organisations refreshes cover.
#[async_trait]
pub trait TrackedOrgStore {
    /// Tracks `orgs` if the list was never seeded before; returns whether it seeded.
    /// Later starts leave the list alone, even when it has since been emptied.
    async fn seed_tracked_orgs(&self, orgs: &[OrgId], now: DateTime<Utc>) -> StoreResult<bool>;

    /// Starts tracking `org`; returns `false` when it was tracked already.
    async fn add_tracked_org(&self, org: &OrgId, now: DateTime<Utc>) -> StoreResult<bool>;

    /// Every tracked organisation, by id, with its last outcome.
    async fn list_tracked_orgs(&self) -> StoreResult<Vec<TrackedOrg>>;

    /// Stops tracking `org`; with `purge`, also deletes everything stored about it — but
    /// never a repository (nor its libraries) that another organisation still lists.
    /// Returns `false` when it was not tracked (a purge still runs).
    async fn remove_tracked_org(&self, org: &OrgId, purge: bool) -> StoreResult<bool>;
}

/// Organisations, their repositories and libraries: what a refresh writes and the pages
/// read.
#[async_trait]
pub trait OrgStore {
    /// Writes one organisation's refresh atomically (see [`OrgCommit`]).
    async fn commit_org_refresh(&self, commit: &OrgCommit) -> StoreResult<()>;

    /// Records how an organisation's latest refresh went (also when nothing was stored).
    async fn record_org_outcome(&self, outcome: &OrgOutcome) -> StoreResult<()>;

    /// The stored profile of `org`.
    async fn get_org(&self, org: &OrgId) -> StoreResult<Option<OrgRecord>>;

    /// Every stored repository of `org`, gone ones included, by id: the repositories its
    /// refreshes listed, each with `org`'s own gone mark (see [`as_member`]).
    async fn list_repos(&self, org: &OrgId) -> StoreResult<Vec<RepoRecord>>;

    /// The libraries of one repository, sorted.
    async fn list_repo_libraries(&self, org: &OrgId, repo_id: i64) -> StoreResult<Vec<Library>>;

    /// Libraries used by `org`'s live repositories, most used first.
    async fn library_usage(&self, org: &OrgId) -> StoreResult<Vec<LibraryUsage>>;

    /// Every library of `org`'s live repositories with the repository's id, ordered by
    /// repository, ecosystem, name and version.
    async fn org_libraries(&self, org: &OrgId) -> StoreResult<Vec<(i64, Library)>>;

    /// Every tracked organisation with its profile and daily totals, in one call.
    async fn overview(&self) -> StoreResult<Vec<OrgOverview>>;

    /// Everything stored about `org`, in one call; `None` when it is neither tracked nor
    /// stored (see [`OrgDetail::is_known`]).
    async fn org_detail(&self, org: &OrgId) -> StoreResult<Option<OrgDetail>>;
}

/// The daily snapshots: the history.
#[async_trait]
pub trait SnapshotStore {
    /// Daily totals of `org` between `from` and `to` inclusive, oldest first.
    async fn list_history(
        &self,
        org: &OrgId,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<DayTotals>>;

    /// Daily snapshots of `org` between `from` and `to` inclusive, oldest first.
    async fn list_snapshots(
        &self,
        org: &OrgId,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<Snapshot>>;

    /// Repository `repo_id`'s counts on each of `org`'s snapshot days between `from` and
    /// `to` inclusive, oldest first (`None` where that day's snapshot did not list it).
    /// Reads the repository's own rows and the organisation's days, never every snapshot.
    async fn repo_history(
        &self,
        org: &OrgId,
        repo_id: i64,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<RepoDay>>;

    /// Every repository `org` listed on `day` (the latest snapshot on or before it) with
    /// its counts, ordered by id: one row per repository.
    async fn repo_counts_on(&self, org: &OrgId, day: NaiveDate) -> StoreResult<Vec<RepoCounts>>;
}

/// Which events to list: every filter is optional; newest first (unless `after` is given).
#[derive(Debug, Clone, PartialEq)]
pub struct EventQuery {
    pub org: Option<OrgId>,
    pub kind: Option<EventKind>,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only events recorded before this one (its `seq`): the cursor of the next page.
    pub before: Option<i64>,
    /// Only events recorded after this one (its `seq`). A query with `after` reads forward:
    /// oldest first, so a consumer (the webhooks) can take the next `limit` and move on.
    pub after: Option<i64>,
    pub limit: usize,
}

impl EventQuery {
    /// The newest `limit` events of every organisation; narrow it with the fields.
    pub fn latest(limit: usize) -> Self {
        EventQuery {
            org: None,
            kind: None,
            since: None,
            before: None,
            after: None,
            limit,
        }
    }
}

/// The change feed. Events are kept forever (a purge of an organisation removes its own);
/// data events are written by [`OrgStore::commit_org_refresh`] with the data, outcome
/// events by [`OrgStore::record_org_outcome`] with the outcome (see `domain/events.rs`).
#[async_trait]
pub trait EventStore {
    /// Records the events not recorded yet (by [`Event::key`]); returns how many were new.
    async fn record_events(&self, events: &[Event]) -> StoreResult<u64>;

    /// The events matching `query`: newest first, or oldest first when `query.after` is set.
    async fn list_events(&self, query: &EventQuery) -> StoreResult<Vec<StoredEvent>>;
}

/// Where each webhook endpoint is in the change feed: per endpoint and organisation, the
/// `seq` of the last event it was sent (or, after a failure, the last before those it
/// still has to get). Deliveries themselves are kept on their run.
#[async_trait]
pub trait WebhookStore {
    /// The organisations `hook` (an endpoint's id) has a position for, with it.
    async fn webhook_cursors(&self, hook: &str) -> StoreResult<Vec<(OrgId, i64)>>;

    /// Moves `hook`'s position for `org` forward to `seq`; never backward.
    async fn advance_webhook_cursor(&self, hook: &str, org: &OrgId, seq: i64) -> StoreResult<()>;
}

/// The HTTP validators (ETags, Last-Modified) kept across runs; written by
/// [`OrgStore::commit_org_refresh`] with the data they stand for.
#[async_trait]
pub trait ValidatorStore {
    /// The stored validators and payloads for `org`'s URLs.
    async fn list_http_cache(&self, org: &OrgId) -> StoreResult<Vec<HttpCacheEntry>>;
}

/// Refresh runs and their outcomes.
#[async_trait]
pub trait RunStore {
    /// Stores a new run.
    async fn insert_run(&self, run: &RefreshRun) -> StoreResult<()>;

    /// Replaces a stored run with its newer state; [`StoreError::NotFound`] when there is
    /// none.
    async fn update_run(&self, run: &RefreshRun) -> StoreResult<()>;

    /// One run by id.
    async fn get_run(&self, id: &RunId) -> StoreResult<Option<RefreshRun>>;

    /// The newest runs first, at most `limit`.
    async fn list_runs(&self, limit: usize) -> StoreResult<Vec<RefreshRun>>;

    /// When the newest run that stored data ([`RunStatus::STORED_DATA`]) finished.
    async fn last_success_at(&self) -> StoreResult<Option<DateTime<Utc>>>;

    /// Closes every unfinished run except `keep` with [`RefreshRun::interrupt`]: called by
    /// the new lease holder, whose predecessor stopped without finishing them.
    async fn interrupt_unfinished_runs(
        &self,
        keep: &RunId,
        message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;

    /// Deletes finished runs created before `cutoff`; returns how many.
    async fn delete_runs_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64>;
}

/// The refresh lease: one holder at a time across every instance.
#[async_trait]
pub trait LeaseStore {
    /// Takes lease `name` for `holder` until `until` when it is free, expired or already
    /// the holder's — atomically, so two instances asking at once cannot both get it.
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        run_id: &RunId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<LeaseGrant>;

    /// Extends the holder's lease; `false` when it is no longer theirs.
    async fn renew_lease(
        &self,
        name: &str,
        holder: &str,
        until: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Gives the lease up, if the holder still has it.
    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()>;

    /// Takes lease `name` from `dead`, a holder known to have stopped, before it expires —
    /// atomically: `false` when `dead` no longer holds it (someone else took over first).
    async fn take_over_lease(
        &self,
        name: &str,
        dead: &str,
        holder: &str,
        run_id: &RunId,
        until: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

/// API tokens, kept as hashes.
#[async_trait]
pub trait TokenStore {
    /// Stores a new token; `false` when the name is taken.
    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<bool>;

    /// Every token, by name.
    async fn list_tokens(&self) -> StoreResult<Vec<TokenRecord>>;

    /// The token whose secret hashes to `hash`.
    async fn find_token(&self, hash: &str) -> StoreResult<Option<TokenRecord>>;

    /// Records that a token was used.
    async fn touch_token(&self, name: &str, now: DateTime<Utc>) -> StoreResult<()>;

    /// Deletes a token; `false` when there was none of that name.
    async fn revoke_token(&self, name: &str) -> StoreResult<bool>;
}

/// The storage every layer talks to: every concern above, from one database.
pub trait Store:
    HealthStore
    + ActivityRead
    + ActivityWrite
    + SecurityRead
    + SecurityWrite
    + TrackedOrgStore
    + OrgStore
    + SnapshotStore
    + EventStore
    + WebhookStore
    + ValidatorStore
    + RunStore
    + LeaseStore
    + TokenStore
    + Send
    + Sync
    + Debug
{
}

impl<T> Store for T where
    T: HealthStore
        + ActivityRead
        + ActivityWrite
        + SecurityRead
        + SecurityWrite
        + TrackedOrgStore
        + OrgStore
        + SnapshotStore
        + EventStore
        + WebhookStore
        + ValidatorStore
        + RunStore
        + LeaseStore
        + TokenStore
        + Send
        + Sync
        + Debug
{
}

/// The store traits, for calling their methods on a `dyn Store`.
pub mod prelude {
    pub use super::{
        ActivityRead, ActivityWrite, EventStore, HealthStore, LeaseStore, OrgStore, RunStore,
        SecurityRead, SecurityWrite, SnapshotStore, Store, TokenStore, TrackedOrgStore,
        ValidatorStore, WebhookStore,
    };
}

/// How a store is opened, besides its URL.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// Finished runs older than this may be expired by the database (MongoDB's TTL index).
    pub run_retention_days: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            run_retention_days: 30,
        }
    }
}

/// Opens the store `url` names: `sqlite://PATH` (embedded) or `mongodb://…`. A MongoDB
/// store is returned at once and gets ready in the background (see [`HealthStore::ping`]).
pub async fn open(url: &str, options: StoreOptions) -> StoreResult<Arc<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let store = sqlite::SqliteStore::open(path).await?;
        return Ok(Arc::new(store));
    }
    if url.starts_with("mongodb://") || url.starts_with("mongodb+srv://") {
        let store = mongo::MongoStore::open(url, options.run_retention_days).await?;
        return Ok(Arc::new(store));
    }

    Err(StoreError::Unsupported(format!(
        "ORGPULSE_DATABASE_URL must start with sqlite:// or mongodb://, got `{}`",
        redact_url(url)
    )))
}

/// The URL with any password replaced, for messages.
pub(crate) fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
